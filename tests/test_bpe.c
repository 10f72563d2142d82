/* The byte-level BPE tokenizer (io/bpe.c) with SmolLM2's tokenizer (transformers/
 * smollm2-tokenizer.gguf, the model file's tokenizer metadata alone) against the reference
 * (tests/bpe_ref.py: Hugging Face `tokenizers` built from the same metadata, as SmolLM2's
 * tokenizer.json): the cases of tests/data/bpe-cases.tsv (contractions, digits, special
 * tokens in the text, code, eight scripts, emoji, odd white space). Then random texts from
 * the run's seed must decode back to themselves (byte-level BPE loses nothing), truncation
 * keeps a prefix, and bad input is refused.
 *   test_bpe [TOKENIZER_GGUF CASES_TSV]   (defaults: the committed files) */
#include <string.h>

#include "check.h"
#include "fss/bpe.h"
#include "token_cases.h"

#ifndef FSS_SOURCE_DIR
#error "FSS_SOURCE_DIR must name the source tree (tests/CMakeLists.txt sets it)"
#endif

#define MAXT 4096
static char errbuf[512];

static void reference_cases(const fss_bpe *b, const char *path)
{
    FILE *f = fopen(path, "r");
    REQUIRE(f);
    static char line[1 << 20], text[1 << 19];
    static int32_t ids[MAXT], want[MAXT];
    unsigned lineno = 0, same = 0;
    size_t len, nw, wcut;
    while (token_case(f, line, sizeof line, text, &len, want, MAXT, &nw, &wcut)) {
        lineno++;
        size_t n = 0, cut = 0, d = 0;
        fss_status s = fss_bpe_encode(b, text, len, ids, MAXT, &n, &cut, errbuf, sizeof errbuf);
        while (d < n && d < nw && ids[d] == want[d])
            d++;
        const int ok = s == FSS_OK && n == nw && d == n && !cut;
        same += ok;
        CHECK(ok, "case %u: %zu ids (reference %zu), first difference at %zu: %d (reference %d) %s", lineno, n, nw, d,
              d < n ? ids[d] : -1, d < nw ? want[d] : -1, s == FSS_OK ? "" : errbuf);
        if (!ok)
            show("text", text, len);
        if (ok && n > 1) { /* room for fewer: the same prefix */
            size_t m = n / 2, k = 0, c = 0;
            static int32_t part[MAXT];
            REQUIRE(fss_bpe_encode(b, text, len, part, m, &k, &c, errbuf, sizeof errbuf) == FSS_OK);
            CHECK(k == m && c == n - m && !memcmp(part, ids, m * sizeof *ids), "case %u cut to %zu: %zu, cut %zu",
                  lineno, m, k, c);
        }
    }
    fclose(f);
    printf("reference cases: %u of %u equal to the reference\n", same, lineno);
    CHECK(lineno >= 20, "only %u cases in %s", lineno, path);
}

/* Random UTF-8 from a mix of scripts, digits, spaces and punctuation: decoded back whole. */
static void round_trips(const fss_bpe *b, fss_rng *r)
{
    static const uint32_t pools[][2] = {{0x61, 0x7a}, {0x20, 0x40}, {0x9, 0xd}, {0xc0, 0xff}, {0x391, 0x3c9},
                                        {0x410, 0x44f}, {0x4e00, 0x4fff}, {0x1f600, 0x1f64f}, {0x2000, 0x206f}};
    static char t[1024], back[8192];
    static int32_t ids[MAXT];
    for (int it = 0; it < 300; it++) {
        size_t n = 0;
        for (size_t i = 0, chars = check_u64(r) % 100; i < chars; i++) {
            const uint32_t *p = pools[check_u64(r) % (sizeof pools / sizeof pools[0])];
            const uint32_t c = p[0] + (uint32_t)(check_u64(r) % (p[1] - p[0] + 1));
            n += put_utf8(t + n, c);
        }
        size_t k = 0, m = 0;
        REQUIRE(fss_bpe_encode(b, t, n, ids, MAXT, &k, NULL, errbuf, sizeof errbuf) == FSS_OK);
        for (size_t i = 0; i < k; i++)
            m += fss_bpe_decode(b, ids[i], back + m, sizeof back - m);
        CHECK(m == n && !memcmp(back, t, n), "iteration %d: %zu bytes decode to %zu", it, n, m);
        if (m != n || memcmp(back, t, n))
            show("text", t, n);
    }
}

int main(int argc, char **argv)
{
    fss_rng *r = check_init("test_bpe");
    const char *tok = argc > 2 ? argv[1] : FSS_SOURCE_DIR "/transformers/smollm2-tokenizer.gguf";
    const char *cases = argc > 2 ? argv[2] : FSS_SOURCE_DIR "/tests/data/bpe-cases.tsv";
    fss_bpe *b = NULL;
    if (fss_bpe_load_gguf(tok, &b, errbuf, sizeof errbuf) != FSS_OK) {
        fprintf(stderr, "%s\n", errbuf);
        return 1;
    }
    CHECK(fss_bpe_vocab_size(b) == 49152, "SmolLM2's vocabulary: %zu tokens", fss_bpe_vocab_size(b));
    reference_cases(b, cases);
    round_trips(b, r);
    int32_t ids[4];
    size_t n = 9;
    for (int c = 0; c < 0x80; c++) { /* an ASCII byte alone: its own token, or nothing */
        const char t = (char)c;
        const int32_t want = fss_bpe_byte_token(b, (uint8_t)c);
        REQUIRE(fss_bpe_encode(b, &t, 1, ids, 4, &n, NULL, errbuf, sizeof errbuf) == FSS_OK);
        CHECK(want >= 0 ? n == 1 && ids[0] == want : n == 0, "byte 0x%02x: %zu ids, its token %d", c, n, want);
    }
    CHECK(fss_bpe_byte_token(b, 'a') >= 0 && fss_bpe_byte_token(b, 0xf2) < 0 && fss_bpe_byte_token(b, 0xf5) < 0,
          "SmolLM2 has a token for 'a' and none for the lead bytes 0xf2 and 0xf5");
    CHECK(fss_bpe_encode(b, "ok \xc0\xaf", 5, ids, 4, &n, NULL, errbuf, sizeof errbuf) == FSS_E_FORMAT && n == 0 &&
              strstr(errbuf, "byte 3"),
          "invalid UTF-8: %s", errbuf);
    fss_bpe *none = NULL;
    CHECK(fss_bpe_load_gguf(FSS_SOURCE_DIR "/tests/data/bpe-cases.tsv", &none, errbuf, sizeof errbuf) == FSS_E_FORMAT &&
              !none,
          "a file that is no GGUF loaded");
    fss_bpe_free(b);
    fss_rng_free(r);
    return check_summary();
}
