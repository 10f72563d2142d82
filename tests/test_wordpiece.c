/* The WordPiece tokenizer (io/wordpiece.c) against all-MiniLM-L6-v2's own tokenizer: the
 * cases in tests/data/wordpiece-cases.tsv were written by tests/wordpiece_ref.py with
 * Hugging Face's `tokenizers` from the model's tokenizer.json (CJK, Greek capitals with
 * final sigma, accents, emoji, zero-width and control characters, words of 100 and 101
 * characters, special tokens in the text, texts of more than 256 tokens). Then truncation
 * at random lengths, random texts split at a space (the pieces of "A B" are A's then B's),
 * a small vocabulary of our own for the greedy longest match, and refusals.
 *
 *   test_wordpiece [VOCAB_TXT CASES_TSV]   (defaults: the committed files; give the live
 *                                           reference's output to check fresh texts)
 *   test_wordpiece --dump VOCAB_TXT CASES_TSV   prints our ids for each case, one line each
 *                                           (tests/wordpiece_unicode.py reads them) */
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "fss/wordpiece.h"
#include "token_cases.h"

#ifndef FSS_SOURCE_DIR
#error "FSS_SOURCE_DIR must name the source tree (tests/CMakeLists.txt sets it)"
#endif

#define MAXT 256
static char errbuf[512];

/* Each reference line: encode with room for MAXT, then for a random shorter room. */
static void reference_cases(const fss_wordpiece *wp, const char *path, fss_rng *r)
{
    FILE *f = fopen(path, "r");
    REQUIRE(f);
    static char line[1 << 20], text[1 << 19];
    int32_t ids[MAXT], want[MAXT], got[MAXT];
    unsigned lineno = 0, same = 0;
    size_t len, nw, want_cut;
    while (token_case(f, line, sizeof line, text, &len, want, MAXT, &nw, &want_cut)) {
        lineno++;
        size_t n = 0, cut = 0;
        fss_status s = fss_wordpiece_encode(wp, text, len, ids, MAXT, &n, &cut, errbuf, sizeof errbuf);
        size_t d = 0;
        while (d < n && d < nw && ids[d] == want[d])
            d++;
        int ok = s == FSS_OK && n == nw && d == n && cut == want_cut;
        same += ok;
        CHECK(ok, "case %u: %zu ids (reference %zu), cut %zu (%zu), first difference at %zu: %d (reference %d); %s",
              lineno, n, nw, cut, want_cut, d, d < n ? ids[d] : -1, d < nw ? want[d] : -1,
              s == FSS_OK ? "" : errbuf);
        if (!ok)
            show("text", text, len);
        /* truncation: the first m - 2 pieces, then [SEP] */
        if (!ok || nw < 3)
            continue;
        size_t m = 2 + check_u64(r) % (nw - 2);
        REQUIRE(fss_wordpiece_encode(wp, text, len, got, m, &n, &cut, errbuf, sizeof errbuf) == FSS_OK);
        CHECK(n == m && !memcmp(got, want, (m - 1) * sizeof *got) && got[m - 1] == want[nw - 1] &&
                  cut == want_cut + nw - m,
              "case %u cut to %zu tokens: %zu, cut %zu", lineno, m, n, cut);
    }
    fclose(f);
    printf("reference cases: %u of %u equal to the model's tokenizer\n", same, lineno);
    CHECK(lineno >= 40, "only %u cases in %s", lineno, path);
}

/* A random text of words from a mix of scripts, punctuation, marks and controls. */
static size_t random_text(fss_rng *r, char *t, size_t room)
{
    static const uint32_t pools[][2] = {{0x61, 0x7a}, {0x21, 0x40}, {0xc0, 0xff}, {0x300, 0x36f}, {0x391, 0x3c9},
                                        {0x410, 0x44f}, {0x4e00, 0x4fff}, {0xac00, 0xacff}, {0x1f600, 0x1f64f},
                                        {0x2000, 0x206f}, {0x1, 0x1f}, {0x5b, 0x5d}};
    size_t n = 0, chars = check_u64(r) % 80;
    for (size_t i = 0; i < chars && n + 4 < room; i++) {
        const uint32_t *p = pools[check_u64(r) % (sizeof pools / sizeof pools[0])];
        uint32_t c = p[0] + (uint32_t)(check_u64(r) % (p[1] - p[0] + 1));
        n += put_utf8(t + n, c);
    }
    return n;
}

static void random_splits(const fss_wordpiece *wp, fss_rng *r)
{
    static char a[1024], b[1024], ab[2050];
    static int32_t ia[4096], ib[4096], iab[4096];
    for (int it = 0; it < 500; it++) {
        size_t la = random_text(r, a, sizeof a), lb = random_text(r, b, sizeof b), na, nb, nab;
        memcpy(ab, a, la);
        ab[la] = ' ';
        memcpy(ab + la + 1, b, lb);
        REQUIRE(fss_wordpiece_encode(wp, a, la, ia, 4096, &na, NULL, errbuf, sizeof errbuf) == FSS_OK);
        REQUIRE(fss_wordpiece_encode(wp, b, lb, ib, 4096, &nb, NULL, errbuf, sizeof errbuf) == FSS_OK);
        REQUIRE(fss_wordpiece_encode(wp, ab, la + 1 + lb, iab, 4096, &nab, NULL, errbuf, sizeof errbuf) == FSS_OK);
        int ok = nab == na + nb - 2 && !memcmp(iab, ia, (na - 1) * sizeof *ia) &&
                 !memcmp(iab + na - 1, ib + 1, (nb - 1) * sizeof *ib);
        for (size_t i = 0; i < nab; i++)
            ok &= iab[i] >= 0 && (size_t)iab[i] < fss_wordpiece_vocab_size(wp);
        CHECK(ok, "iteration %d: the pieces of \"A B\" (%zu) are not A's (%zu) then B's (%zu)", it, nab, na, nb);
        if (!ok) {
            show("A", a, la);
            show("B", b, lb);
        }
    }
}

static fss_wordpiece *small_vocab(const char *dir, const char *body)
{
    char path[128];
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    FILE *f = fopen(path, "w");
    REQUIRE(f && fputs(body, f) >= 0 && fclose(f) == 0);
    fss_wordpiece *wp = NULL;
    fss_status s = fss_wordpiece_load(path, &wp, errbuf, sizeof errbuf);
    return s == FSS_OK ? wp : NULL;
}

static void expect(const fss_wordpiece *wp, const char *text, const char *want)
{
    int32_t ids[256];
    size_t n;
    char got[512] = "";
    REQUIRE(fss_wordpiece_encode(wp, text, strlen(text), ids, 256, &n, NULL, errbuf, sizeof errbuf) == FSS_OK);
    for (size_t i = 1; i + 1 < n; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", i > 1 ? " " : "", fss_wordpiece_token(wp, ids[i]));
    CHECK(!strcmp(got, want), "\"%s\" -> \"%s\", not \"%s\"", text, got, want);
}

static void own_vocab(void)
{
    char dir[] = "/tmp/fss-wordpiece-XXXXXX";
    REQUIRE(mkdtemp(dir));
    fss_wordpiece *wp = small_vocab(dir, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nun\nunaff\n##aff\n##able\n##a\na\n"
                                         "play\n##ing\n##s\n,\n!\nσοφος\ncafe\ni\n");
    REQUIRE(wp);
    CHECK(fss_wordpiece_vocab_size(wp) == 19 && fss_wordpiece_id(wp, "##able") == 8, "vocabulary ids");
    expect(wp, "unaffable", "unaff ##able");       /* the longest first piece, not un ##aff */
    expect(wp, "Playing, PLAYS!", "play ##ing , play ##s !");
    expect(wp, "unplayable", "[UNK]");              /* one part without a piece: the whole word */
    expect(wp, "ΣΟΦΟΣ", "[UNK]"); /* a final capital sigma is σ, and σοφοσ is not in */
    expect(wp, "ΣΟΦΟς", "σοφος");
    expect(wp, "CAFÉ café", "cafe cafe");
    expect(wp, "İ", "i");
    expect(wp, "a[MASK]a [SEP]", "a [MASK] a [SEP]");
    char w[203];
    memset(w, 'a', 101);
    w[100] = '\0';
    char want[400] = "a";
    for (int i = 1; i < 100; i++)
        strcat(want, " ##a");
    expect(wp, w, want); /* 100 characters: pieces */
    w[100] = 'a', w[101] = '\0';
    expect(wp, w, "[UNK]"); /* 101: [UNK] */
    fss_wordpiece_free(wp);
    CHECK(!small_vocab(dir, "[PAD]\n[UNK]\n[SEP]\n"), "a vocabulary without [CLS] loaded");
    CHECK(strstr(errbuf, "[CLS]") != NULL, "the refusal names the token: %s", errbuf);
    char path[128];
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    unlink(path);
    rmdir(dir);
    fss_wordpiece *none = NULL;
    CHECK(fss_wordpiece_load(path, &none, errbuf, sizeof errbuf) == FSS_E_IO && !none, "a missing file loaded");
}

static void refusals(const fss_wordpiece *wp)
{
    static const char *bad[] = {"ok \xc0\xaf", "\x80", "ab\xe4\xb8", "\xed\xa0\x80", "\xf4\x90\x80\x80"};
    static const size_t at[] = {3, 0, 2, 0, 0};
    int32_t ids[8];
    size_t n = 99;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fss_status s = fss_wordpiece_encode(wp, bad[i], strlen(bad[i]), ids, 8, &n, NULL, errbuf, sizeof errbuf);
        char where[32];
        snprintf(where, sizeof where, "byte %zu", at[i]);
        CHECK(s == FSS_E_FORMAT && n == 0 && strstr(errbuf, where), "invalid UTF-8 %zu: %d, %s", i, (int)s, errbuf);
    }
    CHECK(fss_wordpiece_encode(wp, "a", 1, ids, 1, &n, NULL, errbuf, sizeof errbuf) == FSS_E_ARG, "room for one token");
}

/* --dump: our ids for each case's text, nothing checked. */
static int dump(const char *vocab, const char *cases)
{
    fss_wordpiece *wp = NULL;
    FILE *f = fopen(cases, "r");
    if (!f || fss_wordpiece_load(vocab, &wp, errbuf, sizeof errbuf) != FSS_OK) {
        fprintf(stderr, "%s\n", f ? errbuf : cases);
        return 1;
    }
    static char line[1 << 20], text[1 << 19];
    static int32_t ids[1 << 16];
    while (fgets(line, sizeof line, f)) {
        char *tab = strchr(line, '\t');
        REQUIRE(tab);
        size_t len = unhex(line, (size_t)(tab - line), text), n = 0;
        REQUIRE(fss_wordpiece_encode(wp, text, len, ids, 1 << 16, &n, NULL, errbuf, sizeof errbuf) == FSS_OK);
        for (size_t i = 0; i < n; i++)
            printf(i ? " %d" : "%d", ids[i]);
        putchar('\n');
    }
    fclose(f);
    fss_wordpiece_free(wp);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "--dump"))
        return dump(argv[2], argv[3]);
    fss_rng *r = check_init("test_wordpiece");
    const char *vocab = argc > 2 ? argv[1] : FSS_SOURCE_DIR "/transformers/minilm-vocab.txt";
    const char *cases = argc > 2 ? argv[2] : FSS_SOURCE_DIR "/tests/data/wordpiece-cases.tsv";
    fss_wordpiece *wp = NULL;
    if (fss_wordpiece_load(vocab, &wp, errbuf, sizeof errbuf) != FSS_OK) {
        fprintf(stderr, "%s\n", errbuf);
        return 1;
    }
    CHECK(fss_wordpiece_vocab_size(wp) == 30522, "MiniLM's vocabulary: %zu tokens", fss_wordpiece_vocab_size(wp));
    reference_cases(wp, cases, r);
    random_splits(wp, r);
    refusals(wp);
    own_vocab();
    fss_wordpiece_free(wp);
    fss_rng_free(r);
    return check_summary();
}
