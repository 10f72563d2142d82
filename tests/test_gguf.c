/* The GGUF reader (io/gguf.c) on files written here: metadata of every value type, and
 * tensors of every type it reads, whose values the test knows from the blocks it packed
 * (random scales and quants from the run's seed), against fss_gguf_read_f32; then every
 * truncation of a valid file and a set of corrupted headers, each refused with
 * FSS_E_FORMAT and the file named, never a crash. */
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "fss/gguf.h"

static char path[64];
static char errbuf[512];

typedef struct buf {
    uint8_t b[1 << 16];
    size_t n;
} buf;

static void put(buf *o, const void *p, size_t n)
{
    REQUIRE(o->n + n <= sizeof o->b);
    memcpy(o->b + o->n, p, n);
    o->n += n;
}
static void put32(buf *o, uint32_t v) { put(o, &v, 4); }
static void put64(buf *o, uint64_t v) { put(o, &v, 8); }
static void putstr(buf *o, const char *s)
{
    put64(o, strlen(s));
    put(o, s, strlen(s));
}

/* f16 of a value exactly representable (the test's scales are k / 64, |k| < 1024) */
static uint16_t f16(float f)
{
    if (f == 0)
        return 0;
    const uint16_t sign = f < 0 ? 0x8000 : 0;
    int e;
    float m = frexpf(fabsf(f), &e); /* f = m 2^e, m in [0.5, 1) */
    return (uint16_t)(sign | (uint16_t)(e + 14) << 10 | ((uint16_t)lrintf(m * 2048) & 1023));
}

enum { NT = 6, ROW = 64 };
static const uint32_t types[NT] = {FSS_GGML_F32, FSS_GGML_F16, FSS_GGML_BF16, FSS_GGML_Q8_0, FSS_GGML_Q4_0,
                                   FSS_GGML_Q4_1};

/* A file: metadata, then NT tensors [2][ROW] (one of each type) with want[] their values. */
static size_t make(buf *o, fss_rng *r, float want[NT][2 * ROW])
{
    o->n = 0;
    put(o, "GGUF", 4);
    put32(o, 3);
    put64(o, NT);
    put64(o, 6); /* metadata */
    putstr(o, "general.architecture"), put32(o, FSS_GGUF_STRING), putstr(o, "llama");
    putstr(o, "llama.block_count"), put32(o, FSS_GGUF_U32), put32(o, 30);
    putstr(o, "llama.rope.freq_base"), put32(o, FSS_GGUF_F32), put(o, &(float){100000.0f}, 4);
    putstr(o, "neg"), put32(o, FSS_GGUF_I32), put32(o, (uint32_t)-5);
    putstr(o, "tokenizer.ggml.tokens"), put32(o, FSS_GGUF_ARRAY), put32(o, FSS_GGUF_STRING), put64(o, 3);
    putstr(o, "a"), putstr(o, ""), putstr(o, "\xc4\xa0the");
    putstr(o, "tokenizer.ggml.token_type"), put32(o, FSS_GGUF_ARRAY), put32(o, FSS_GGUF_I32), put64(o, 3);
    put32(o, 1), put32(o, (uint32_t)-2), put32(o, 3);
    uint8_t data[NT][2 * ROW * 4];
    size_t bytes[NT];
    for (int k = 0; k < NT; k++) {
        uint8_t *d = data[k];
        size_t n = 0;
        for (int blk = 0; blk < 2 * ROW / 32; blk++) {
            const float sc = (float)(int)(check_u64(r) % 255 + 1) / 64, mn = (float)(int)(check_u64(r) % 511 - 255) / 64;
            const uint16_t hs = f16(sc), hm = f16(mn);
            float *w = want[k] + blk * 32;
            switch (types[k]) {
            case FSS_GGML_F32:
            case FSS_GGML_F16:
            case FSS_GGML_BF16:
                for (int j = 0; j < 32; j++) {
                    w[j] = types[k] == FSS_GGML_BF16 ? (float)(int)(check_u64(r) % 511 - 255) / 8 /* 8 bits: exact */
                                                      : (float)(int)(check_u64(r) % 2001 - 1000) / 8; /* 11 */
                    if (types[k] == FSS_GGML_F32) {
                        memcpy(d + n, &w[j], 4), n += 4;
                    } else if (types[k] == FSS_GGML_F16) {
                        const uint16_t h = f16(w[j]);
                        memcpy(d + n, &h, 2), n += 2;
                    } else {
                        uint32_t u;
                        memcpy(&u, &w[j], 4);
                        const uint16_t h = (uint16_t)(u >> 16);
                        memcpy(d + n, &h, 2), n += 2;
                    }
                }
                break;
            case FSS_GGML_Q8_0:
                memcpy(d + n, &hs, 2), n += 2;
                for (int j = 0; j < 32; j++) {
                    const int8_t q = (int8_t)(check_u64(r) % 256 - 128);
                    d[n++] = (uint8_t)q;
                    w[j] = (float)q * sc;
                }
                break;
            default: { /* Q4_0, Q4_1 */
                const int q41 = types[k] == FSS_GGML_Q4_1;
                memcpy(d + n, &hs, 2), n += 2;
                if (q41)
                    memcpy(d + n, &hm, 2), n += 2;
                for (int j = 0; j < 16; j++) {
                    const uint8_t lo = (uint8_t)(check_u64(r) % 16), hi = (uint8_t)(check_u64(r) % 16);
                    d[n++] = (uint8_t)(lo | hi << 4);
                    w[j] = q41 ? lo * sc + mn : (lo - 8) * sc;
                    w[j + 16] = q41 ? hi * sc + mn : (hi - 8) * sc;
                }
            }
            }
        }
        bytes[k] = n;
    }
    uint64_t off = 0;
    for (int k = 0; k < NT; k++) {
        char name[32];
        snprintf(name, sizeof name, "t%d.weight", k);
        putstr(o, name), put32(o, 2), put64(o, ROW), put64(o, 2), put32(o, types[k]), put64(o, off);
        off += (bytes[k] + 31) / 32 * 32;
    }
    while (o->n % 32)
        o->b[o->n++] = 0;
    for (int k = 0; k < NT; k++) { /* the last without padding: any cut of the file cuts it */
        put(o, data[k], bytes[k]);
        while (k + 1 < NT && o->n % 32)
            o->b[o->n++] = 0;
    }
    return o->n;
}

static void write_file(const uint8_t *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    REQUIRE(f && fwrite(b, 1, n, f) == n && fclose(f) == 0);
}

static void valid(const buf *o, float want[NT][2 * ROW])
{
    write_file(o->b, o->n);
    fss_gguf *g = NULL;
    REQUIRE(fss_gguf_open(path, &g, errbuf, sizeof errbuf) == FSS_OK);
    uint64_t u;
    double d;
    int64_t v;
    const char *s;
    uint64_t len;
    fss_gguf_vtype ty;
    CHECK(fss_gguf_get_u64(g, "llama.block_count", &u) && u == 30, "block_count");
    CHECK(fss_gguf_get_f64(g, "llama.rope.freq_base", &d) && d == 100000.0, "freq_base");
    CHECK(!fss_gguf_get_u64(g, "neg", &u) && fss_gguf_get_f64(g, "neg", &d) && d == -5, "a negative i32");
    CHECK(fss_gguf_get_str(g, "general.architecture", &s, &len) && len == 5 && !memcmp(s, "llama", 5), "string");
    CHECK(fss_gguf_get_array(g, "tokenizer.ggml.tokens", &ty, &u) && ty == FSS_GGUF_STRING && u == 3, "array");
    CHECK(fss_gguf_array_str(g, "tokenizer.ggml.tokens", 2, &s, &len) && len == 5 && !memcmp(s, "\xc4\xa0the", 5) &&
              fss_gguf_array_str(g, "tokenizer.ggml.tokens", 1, &s, &len) && len == 0 &&
              !fss_gguf_array_str(g, "tokenizer.ggml.tokens", 3, &s, &len),
          "array of strings");
    CHECK(fss_gguf_array_int(g, "tokenizer.ggml.token_type", 1, &v) && v == -2, "array of i32");
    CHECK(!fss_gguf_get_u64(g, "missing", &u) && !fss_gguf_find(g, "missing"), "a missing key");
    CHECK(fss_gguf_tensor_count(g) == NT, "tensors");
    for (int k = 0; k < NT; k++) {
        char name[32];
        snprintf(name, sizeof name, "t%d.weight", k);
        const fss_gguf_tensor *t = fss_gguf_find(g, name);
        REQUIRE(t && t->ne[0] == ROW && t->ne[1] == 2 && t->count == 2 * ROW && t->type == types[k]);
        float got[2 * ROW];
        REQUIRE(fss_gguf_read_f32(g, t, 0, 2 * ROW, got, errbuf, sizeof errbuf) == FSS_OK);
        int bad = -1;
        for (int i = 0; i < 2 * ROW && bad < 0; i++)
            bad = got[i] == want[k][i] ? -1 : i;
        CHECK(bad < 0, "type %u: element %d is %g, packed %g", types[k], bad, bad < 0 ? 0 : got[bad],
              bad < 0 ? 0 : want[k][bad]);
        REQUIRE(fss_gguf_read_f32(g, t, ROW, 32, got, errbuf, sizeof errbuf) == FSS_OK); /* the second row's block */
        CHECK(!memcmp(got, want[k] + ROW, 32 * sizeof *got), "type %u: a read from element %d", types[k], ROW);
        CHECK(types[k] <= FSS_GGML_F16 || types[k] == FSS_GGML_BF16 ||
                  fss_gguf_read_f32(g, t, 1, 32, got, errbuf, sizeof errbuf) == FSS_E_ARG,
              "type %u: a read off the block boundary", types[k]);
    }
    fss_gguf_close(g);
}

static void refused(const char *what, const uint8_t *b, size_t n)
{
    write_file(b, n);
    fss_gguf *g = NULL;
    fss_status s = fss_gguf_open(path, &g, errbuf, sizeof errbuf);
    CHECK(s == FSS_E_FORMAT && !g && strstr(errbuf, path), "%s: status %d, %s", what, (int)s, errbuf);
    if (g)
        fss_gguf_close(g);
}

int main(void)
{
    fss_rng *r = check_init("test_gguf");
    snprintf(path, sizeof path, "/tmp/fss-gguf-%d", (int)getpid());
    static buf o;
    static float want[NT][2 * ROW];
    make(&o, r, want);
    valid(&o, want);
    for (size_t cut = 0; cut < o.n; cut += cut < 600 ? 1 : 97) {
        fss_gguf *g = NULL;
        write_file(o.b, cut);
        fss_status s = fss_gguf_open(path, &g, errbuf, sizeof errbuf);
        CHECK(s == FSS_E_FORMAT && !g, "a file cut at byte %zu of %zu: status %d", cut, o.n, (int)s);
        if (g)
            fss_gguf_close(g);
    }
    static uint8_t c[sizeof o.b];
    struct { const char *what; size_t at; uint8_t v; } bad[] = {
        {"a wrong magic", 0, 'X'},          {"version 1", 4, 1},
        {"2^40 tensors", 8 + 5, 1},         {"a string key longer than the file", 24 + 5, 0x7f},
        {"an unknown value type", 24 + 8 + 20, 99},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memcpy(c, o.b, o.n);
        c[bad[i].at] = bad[i].v;
        refused(bad[i].what, c, o.n);
    }
    unlink(path);
    fss_rng_free(r);
    return check_summary();
}
