/* CUDA backend == CPU backend, bit for bit (DESIGN section 5): fss_cuda_aes equals the
 * portable AES body and OpenSSL; DPF and DCF keys generated on the GPU and the CPU from
 * the same roots are byte-identical (whole buffers, serialized form, bound arrays);
 * point, comparison and full-domain evaluations are identical; and the shares
 * reconstruct to the definition; the ring GEMM and im2col equal the CPU's (and so,
 * through test_gemm, the definitions). Exits 77 (skipped) where there is no device. */
#include <string.h>

#include "check.h"
#include "fss/aes.h"
#include "fss/ctx.h"
#include "fss/cuda.h"
#include "fss/dcf.h"
#include "fss/dpf.h"
#include "fss/gemm.h"
#include "fss/prg.h"
#include "fss/ring.h"

/* Output buffers are filled with this before each GPU call: an element the kernel
 * forgot to write shows up as a difference. */
#define POISON 0xa5
/* Full-domain evals are compared where count * words stays below this. */
#define FULL_MAX_WORDS ((size_t)1 << 22)

static fss_ctx *ctx;
static fss_rng *rng;
static cudaStream_t stream;

/* A fss_cuda_* call that must succeed. */
#define FSS_CU(call)                                                                                   \
    do {                                                                                               \
        fss_status st_ = (call);                                                                       \
        if (st_ != FSS_OK) {                                                                           \
            fprintf(stderr, "FATAL %s:%d: %s: %s: %s (seed %" PRIu64 ")\n", __FILE__, __LINE__, #call, \
                    fss_status_str(st_), fss_cuda_last_error(), check_seed);                           \
            exit(1);                                                                                   \
        }                                                                                              \
    } while (0)

/* A CUDA runtime call that must succeed. */
#define CU(call)                                                                                       \
    do {                                                                                               \
        cudaError_t e_ = (call);                                                                       \
        if (e_ != cudaSuccess) {                                                                       \
            fprintf(stderr, "FATAL %s:%d: %s: %s (seed %" PRIu64 ")\n", __FILE__, __LINE__, #call,     \
                    cudaGetErrorString(e_), check_seed);                                               \
            exit(1);                                                                                   \
        }                                                                                              \
    } while (0)

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 16);
    REQUIRE(p);
    return p;
}

static void *dev_alloc(size_t bytes)
{
    void *d = NULL;
    CU(cudaMalloc(&d, bytes ? bytes : 16));
    return d;
}

static void *dev_upload(const void *h, size_t bytes)
{
    void *d = dev_alloc(bytes);
    if (bytes)
        CU(cudaMemcpy(d, h, bytes, cudaMemcpyHostToDevice));
    return d;
}

static void dev_poison(void *d, size_t bytes)
{
    if (bytes)
        CU(cudaMemset(d, POISON, bytes));
}

/* Waits for the stream, then copies back. */
static void dev_download(void *h, const void *d, size_t bytes)
{
    CU(cudaStreamSynchronize(stream));
    if (bytes)
        CU(cudaMemcpy(h, d, bytes, cudaMemcpyDeviceToHost));
}

/* Byte-identical, or print the first difference. */
static void cmp_bytes(const char *desc, const char *what, const void *cpu, const void *gpu, size_t n)
{
    const uint8_t *a = (const uint8_t *)cpu, *b = (const uint8_t *)gpu;
    size_t i = 0;
    while (i < n && a[i] == b[i])
        i++;
    CHECK(i == n, "%s: %s: first difference at byte %zu of %zu: cpu %02x gpu %02x", desc, what, i, n,
          i < n ? a[i] : 0, i < n ? b[i] : 0);
}

static void cmp_u64(const char *desc, const char *what, const uint64_t *cpu, const uint64_t *gpu, size_t n)
{
    size_t i = 0;
    while (i < n && cpu[i] == gpu[i])
        i++;
    CHECK(i == n, "%s: %s: first difference at %zu of %zu: cpu %016llx gpu %016llx", desc, what, i, n,
          i < n ? (unsigned long long)cpu[i] : 0ull, i < n ? (unsigned long long)gpu[i] : 0ull);
}

/* Random n-bit alphas with the edges 0 and 2^n - 1 first; x at alpha, alpha +- 1, 0,
 * 2^n - 1 and at random. */
static void points(int n, size_t count, uint64_t *alpha, uint64_t *x)
{
    const uint64_t m = fss_ring_mask(n);
    REQUIRE(fss_rng_ring(rng, alpha, count, n) == FSS_OK);
    REQUIRE(fss_rng_ring(rng, x, count, n) == FSS_OK);
    if (count > 0)
        alpha[0] = 0;
    if (count > 1)
        alpha[1] = m;
    for (size_t i = 0; i < count; i++) {
        uint64_t a = alpha[i];
        switch (i % 6) {
        case 0: x[i] = a; break;
        case 1: x[i] = (a + 1) & m; break;
        case 2: x[i] = (a - 1) & m; break;
        case 3: x[i] = 0; break;
        case 4: x[i] = m; break;
        default: break; /* random */
        }
    }
}

/* ---- AES ---- */

static void aes_case(size_t count)
{
    fss_block *in = xmalloc(count * 16), *gpu = xmalloc(count * 16), *ossl = xmalloc(count * 16);
    REQUIRE(fss_rng_bytes(rng, in, count * 16) == FSS_OK);
    fss_block *d_in = dev_upload(in, count * 16), *d_out = dev_alloc(count * 16);
    dev_poison(d_out, count * 16);
    FSS_CU(fss_cuda_aes(d_in, d_out, count, stream));
    dev_download(gpu, d_out, count * 16);
    REQUIRE(fss_ctx_aes(ctx, 0, in, ossl, count) == FSS_OK);
    char desc[64];
    snprintf(desc, sizeof desc, "aes count=%zu", count);
    cmp_bytes(desc, "cuda vs OpenSSL", ossl, gpu, count * 16);
    fss_aes_key fk;
    fss_aes_key_expand(&fk, fss_prg_fixed_key);
    size_t m = count < 4099 ? count : 4099, bad = 0;
    for (size_t i = 0; i < m; i++)
        bad += !fss_block_eq(gpu[i], fss_aes_encrypt(fss_aes_tables_get(), fk.rk, in[i]));
    CHECK(bad == 0, "%s: %zu of %zu blocks differ from the portable body", desc, bad, m);
    CU(cudaFree(d_in));
    CU(cudaFree(d_out));
    free(in);
    free(gpu);
    free(ossl);
}

/* ---- DPF ---- */

static void dpf_cmp_keys(const char *desc, const fss_dpf_keys *c, const fss_dpf_keys *g)
{
    const size_t count = c->count, depth = (size_t)FSS_DPF_DEPTH(c->p.n, c->p.early);
    cmp_bytes(desc, "whole key buffer", c->mem, g->mem, c->bytes);
    cmp_bytes(desc, "root", c->root, g->root, count * 16);
    cmp_bytes(desc, "scw", c->scw, g->scw, depth * count * 16);
    cmp_u64(desc, "tcw_l", c->tcw_l, g->tcw_l, count);
    cmp_u64(desc, "tcw_r", c->tcw_r, g->tcw_r, count);
    cmp_bytes(desc, "fcw", c->fcw, g->fcw, count * 16);
    size_t kb = FSS_DPF_KEY_BYTES(c->p.n, c->p.l, c->p.early) * count;
    uint8_t *sc = xmalloc(kb), *sg = xmalloc(kb);
    fss_dpf_keys_write(c, 0, count, sc);
    fss_dpf_keys_write(g, 0, count, sg);
    cmp_bytes(desc, "serialized", sc, sg, kb);
    free(sc);
    free(sg);
}

/* The parse case's keys h again in the layout without roots (the runtime's): the device's
 * parse gives the same fields and leaves the roots alone; a stray bit in the last byte's
 * spare bits (where spare) is reported. Uses the case's h, count, kb, ser, d_ser, d, back,
 * d_bad, bad, what and desc. */
#define NOROOTS_DEVICE_CASE(kind, spare)                                                               \
    do {                                                                                               \
        fss_##kind##_keys_write_noroots(h, 0, count, ser);                                             \
        CU(cudaMemcpy(d_ser, ser, kb - 16 * count, cudaMemcpyHostToDevice));                           \
        CU(cudaMemset(d.mem, 0, d.bytes));                                                             \
        CU(cudaMemset(d_bad, 0, sizeof bad));                                                          \
        FSS_CU(fss_cuda_##kind##_keys_parse_noroots(&d, d_ser, d_bad, stream));                        \
        FSS_CU(fss_cuda_##kind##_keys_download(&back, &d, stream));                                    \
        dev_download(&bad, d_bad, sizeof bad);                                                         \
        size_t wrote = 0;                                                                              \
        for (size_t i = 0; i < count; i++)                                                             \
            wrote += back.root[i].lo || back.root[i].hi;                                               \
        memcpy(back.root, h->root, count * 16);                                                        \
        snprintf(what, sizeof what, "%s, parsed on the device without roots", desc);                   \
        kind##_cmp_keys(what, h, &back);                                                               \
        CHECK(bad == 0 && wrote == 0, "%s: stray bits reported in clean keys (%u), or roots written (%zu)", \
              what, bad, wrote);                                                                       \
        if (count && (spare)) {                                                                        \
            ser[kb - 16 * count - 1] |= 0x80;                                                          \
            CU(cudaMemcpy(d_ser, ser, kb - 16 * count, cudaMemcpyHostToDevice));                       \
            CU(cudaMemset(d_bad, 0, sizeof bad));                                                      \
            FSS_CU(fss_cuda_##kind##_keys_parse_noroots(&d, d_ser, d_bad, stream));                    \
            dev_download(&bad, d_bad, sizeof bad);                                                     \
            CHECK(bad == 1, "%s: a stray bit went unreported", what);                                  \
        }                                                                                              \
    } while (0)

/* The device's parse of h's serialized keys gives h, with no stray bits reported; with a
 * stray bit in the last byte (the last instance's final field, where it has spare bits)
 * the parse reports it. */
static void dpf_parse_case(const char *desc, const fss_dpf_keys *h)
{
    const fss_dpf_params p = h->p;
    const size_t count = h->count, kb = FSS_DPF_KEY_BYTES(p.n, p.l, p.early) * count;
    const size_t fbits = p.early ? FSS_DPF_LEAF_BITS(p.n, 1) : (size_t)p.l;
    uint8_t *ser = xmalloc(kb);
    fss_dpf_keys_write(h, 0, count, ser);
    uint8_t *d_ser = dev_upload(ser, kb);
    unsigned *d_bad = dev_alloc(sizeof(unsigned)), bad = 7;
    fss_dpf_keys d, back;
    FSS_CU(fss_cuda_dpf_keys_alloc(&d, p, h->party, count));
    REQUIRE(fss_dpf_keys_alloc(&back, p, h->party, count) == FSS_OK);
    CU(cudaMemset(d_bad, 0, sizeof bad));
    FSS_CU(fss_cuda_dpf_keys_parse(&d, d_ser, d_bad, stream));
    FSS_CU(fss_cuda_dpf_keys_download(&back, &d, stream));
    dev_download(&bad, d_bad, sizeof bad);
    char what[192];
    snprintf(what, sizeof what, "%s, parsed on the device", desc);
    dpf_cmp_keys(what, h, &back);
    CHECK(bad == 0, "%s: stray bits reported in clean keys", what);
    if (count && fbits % 8) {
        ser[kb - 1] |= 0x80;
        CU(cudaMemcpy(d_ser, ser, kb, cudaMemcpyHostToDevice));
        CU(cudaMemset(d_bad, 0, sizeof bad));
        FSS_CU(fss_cuda_dpf_keys_parse(&d, d_ser, d_bad, stream));
        dev_download(&bad, d_bad, sizeof bad);
        CHECK(bad == 1, "%s: a stray bit went unreported", what);
    }
    NOROOTS_DEVICE_CASE(dpf, fbits % 8);
    fss_cuda_dpf_keys_free(&d);
    fss_dpf_keys_free(&back);
    CU(cudaFree(d_ser));
    CU(cudaFree(d_bad));
    free(ser);
}

/* GPU point eval (cmp = 0) or comparison (cmp = 1) of device keys d_k == host keys h_k. */
static void dpf_eval_both(const char *desc, const fss_dpf_keys *h_k, const fss_dpf_keys *d_k, const uint64_t *d_x,
                          const uint64_t *x, uint64_t *y, int cmp)
{
    const size_t count = h_k->count;
    uint64_t *d_y = dev_alloc(count * 8), *yc = xmalloc(count * 8);
    dev_poison(d_y, count * 8);
    if (cmp) {
        FSS_CU(fss_cuda_dpf_cmp_eval(d_k, d_x, d_y, stream));
        REQUIRE(fss_dpf_cmp_eval(ctx, h_k, x, yc) == FSS_OK);
    } else {
        FSS_CU(fss_cuda_dpf_eval(d_k, d_x, d_y, stream));
        REQUIRE(fss_dpf_eval(ctx, h_k, x, yc) == FSS_OK);
    }
    dev_download(y, d_y, count * 8);
    char what[64];
    snprintf(what, sizeof what, "%s party %d", cmp ? "cmp eval" : "eval", h_k->party);
    cmp_u64(desc, what, yc, y, count);
    CU(cudaFree(d_y));
    free(yc);
}

static void dpf_full_both(const char *desc, const fss_dpf_keys *h_k, const fss_dpf_keys *d_k, uint64_t *y)
{
    const size_t words = fss_dpf_full_words(h_k->p) * h_k->count;
    uint64_t *d_y = dev_alloc(words * 8), *yc = xmalloc(words * 8);
    dev_poison(d_y, words * 8);
    FSS_CU(fss_cuda_dpf_eval_full(d_k, d_y, stream));
    REQUIRE(fss_dpf_eval_full(ctx, h_k, yc) == FSS_OK);
    dev_download(y, d_y, words * 8);
    char what[64];
    snprintf(what, sizeof what, "full-domain eval party %d", h_k->party);
    cmp_u64(desc, what, yc, y, words);
    CU(cudaFree(d_y));
    free(yc);
}

static void dpf_case(fss_dpf_params p, size_t count)
{
    char desc[96];
    snprintf(desc, sizeof desc, "dpf n=%d l=%d early=%d count=%zu", p.n, p.l, p.early, count);
    uint64_t *alpha = xmalloc(count * 8), *beta = xmalloc(count * 8), *x = xmalloc(count * 8);
    fss_block *roots = xmalloc(2 * count * 16);
    points(p.n, count, alpha, x);
    REQUIRE(fss_rng_ring(rng, beta, count, p.l) == FSS_OK);
    REQUIRE(fss_rng_bytes(rng, roots, 2 * count * 16) == FSS_OK);
    const uint64_t *bp = p.early ? NULL : beta; /* early keys take no beta */

    fss_dpf_keys h[2], g[2], d[2];
    for (int b = 0; b < 2; b++) {
        REQUIRE(fss_dpf_keys_alloc(&h[b], p, b, count) == FSS_OK);
        REQUIRE(fss_dpf_keys_alloc(&g[b], p, b, count) == FSS_OK);
        FSS_CU(fss_cuda_dpf_keys_alloc(&d[b], p, b, count));
    }
    REQUIRE(fss_dpf_keygen(ctx, p, count, alpha, bp, roots, &h[0], &h[1]) == FSS_OK);
    uint64_t *d_alpha = dev_upload(alpha, count * 8), *d_beta = dev_upload(beta, count * 8);
    uint64_t *d_x = dev_upload(x, count * 8);
    fss_block *d_roots = dev_upload(roots, 2 * count * 16);
    FSS_CU(fss_cuda_dpf_keygen(p, count, d_alpha, p.early ? NULL : d_beta, d_roots, &d[0], &d[1], stream));
    for (int b = 0; b < 2; b++) {
        FSS_CU(fss_cuda_dpf_keys_download(&g[b], &d[b], stream));
        CU(cudaStreamSynchronize(stream));
        dpf_cmp_keys(desc, &h[b], &g[b]);
        /* Evaluate the CPU's keys on both sides, so an eval bug is not hidden behind
         * (or blamed on) a keygen bug; this also exercises the upload. */
        FSS_CU(fss_cuda_dpf_keys_upload(&d[b], &h[b], stream));
    }
    dpf_parse_case(desc, &h[1]);

    uint64_t *y[2] = {xmalloc(count * 8), xmalloc(count * 8)}, *c[2] = {xmalloc(count * 8), xmalloc(count * 8)};
    for (int b = 0; b < 2; b++) {
        dpf_eval_both(desc, &h[b], &d[b], d_x, x, y[b], 0);
        dpf_eval_both(desc, &h[b], &d[b], d_x, x, c[b], 1);
    }
    for (size_t i = 0; i < count; i++) {
        uint64_t want = x[i] == alpha[i] ? (p.early ? 1 : beta[i]) : 0;
        uint64_t got = p.early ? (y[0][i] ^ y[1][i]) : fss_ring_add(y[0][i], y[1][i], p.l);
        CHECK(got == want, "%s: i=%zu alpha=%llx x=%llx: reconstructs to %llx, want %llx", desc, i,
              (unsigned long long)alpha[i], (unsigned long long)x[i], (unsigned long long)got,
              (unsigned long long)want);
        unsigned lt = x[i] < alpha[i];
        CHECK((c[0][i] ^ c[1][i]) == lt, "%s: i=%zu alpha=%llx x=%llx: comparison reconstructs to %llu, want %u",
              desc, i, (unsigned long long)alpha[i], (unsigned long long)x[i],
              (unsigned long long)(c[0][i] ^ c[1][i]), lt);
    }

    const size_t words = fss_dpf_full_words(p);
    if (p.n <= 16 && count * words <= FULL_MAX_WORDS) {
        uint64_t *f[2] = {xmalloc(count * words * 8), xmalloc(count * words * 8)};
        for (int b = 0; b < 2; b++)
            dpf_full_both(desc, &h[b], &d[b], f[b]);
        /* Reconstruct every point of every instance (bits above 2^n in the single
         * word of an early n < 6 key are not outputs). */
        size_t bad = 0, dom = (size_t)1 << p.n;
        for (size_t i = 0; i < count; i++)
            for (size_t v = 0; v < dom; v++) {
                uint64_t got, want = v == alpha[i] ? (p.early ? 1 : fss_ring_reduce(beta[i], p.l)) : 0;
                if (p.early) {
                    size_t w = i * words + v / 64;
                    got = ((f[0][w] ^ f[1][w]) >> (v % 64)) & 1u;
                } else {
                    got = fss_ring_add(f[0][i * dom + v], f[1][i * dom + v], p.l);
                }
                bad += got != want;
            }
        CHECK(bad == 0, "%s: full domain: %zu points do not reconstruct", desc, bad);
        free(f[0]);
        free(f[1]);
    }

    for (int b = 0; b < 2; b++) {
        fss_dpf_keys_free(&h[b]);
        fss_dpf_keys_free(&g[b]);
        fss_cuda_dpf_keys_free(&d[b]);
        free(y[b]);
        free(c[b]);
    }
    CU(cudaFree(d_alpha));
    CU(cudaFree(d_beta));
    CU(cudaFree(d_x));
    CU(cudaFree(d_roots));
    free(alpha);
    free(beta);
    free(x);
    free(roots);
}

/* ---- DCF ---- */

static void dcf_cmp_keys(const char *desc, const fss_dcf_keys *c, const fss_dcf_keys *g)
{
    const size_t count = c->count, n = (size_t)c->p.n, gg = (size_t)c->p.g, vs = fss_dcf_vcw_stride(count);
    cmp_bytes(desc, "whole key buffer", c->mem, g->mem, c->bytes);
    cmp_bytes(desc, "root", c->root, g->root, count * 16);
    cmp_bytes(desc, "scw", c->scw, g->scw, n * count * 16);
    cmp_u64(desc, "tcw_l", c->tcw_l, g->tcw_l, count);
    cmp_u64(desc, "tcw_r", c->tcw_r, g->tcw_r, count);
    for (size_t r = 0; r < (n + 1) * gg; r++) {
        char what[64];
        snprintf(what, sizeof what, "vcw level %zu element %zu", r / gg, r % gg);
        cmp_u64(desc, what, c->vcw + r * vs, g->vcw + r * vs, count);
    }
    size_t kb = FSS_DCF_KEY_BYTES(c->p.n, c->p.l, c->p.g) * count;
    uint8_t *sc = xmalloc(kb), *sg = xmalloc(kb);
    fss_dcf_keys_write(c, 0, count, sc);
    fss_dcf_keys_write(g, 0, count, sg);
    cmp_bytes(desc, "serialized", sc, sg, kb);
    free(sc);
    free(sg);
}

static void dcf_parse_case(const char *desc, const fss_dcf_keys *h)
{
    const fss_dcf_params p = h->p;
    const size_t count = h->count, kb = FSS_DCF_KEY_BYTES(p.n, p.l, p.g) * count;
    const size_t vbits = ((size_t)p.n + 1) * (size_t)p.g * (size_t)p.l;
    uint8_t *ser = xmalloc(kb);
    fss_dcf_keys_write(h, 0, count, ser);
    uint8_t *d_ser = dev_upload(ser, kb);
    unsigned *d_bad = dev_alloc(sizeof(unsigned)), bad = 7;
    fss_dcf_keys d, back;
    FSS_CU(fss_cuda_dcf_keys_alloc(&d, p, h->party, count));
    REQUIRE(fss_dcf_keys_alloc(&back, p, h->party, count) == FSS_OK);
    CU(cudaMemset(d_bad, 0, sizeof bad));
    FSS_CU(fss_cuda_dcf_keys_parse(&d, d_ser, d_bad, stream));
    FSS_CU(fss_cuda_dcf_keys_download(&back, &d, stream));
    dev_download(&bad, d_bad, sizeof bad);
    char what[192];
    snprintf(what, sizeof what, "%s, parsed on the device", desc);
    dcf_cmp_keys(what, h, &back);
    CHECK(bad == 0, "%s: stray bits reported in clean keys", what);
    if (count && vbits % 8) {
        ser[kb - 1] |= 0x80;
        CU(cudaMemcpy(d_ser, ser, kb, cudaMemcpyHostToDevice));
        CU(cudaMemset(d_bad, 0, sizeof bad));
        FSS_CU(fss_cuda_dcf_keys_parse(&d, d_ser, d_bad, stream));
        dev_download(&bad, d_bad, sizeof bad);
        CHECK(bad == 1, "%s: a stray bit went unreported", what);
    }
    NOROOTS_DEVICE_CASE(dcf, vbits % 8);
    fss_cuda_dcf_keys_free(&d);
    fss_dcf_keys_free(&back);
    CU(cudaFree(d_ser));
    CU(cudaFree(d_bad));
    free(ser);
}

static void dcf_case(fss_dcf_params p, size_t count)
{
    char desc[96];
    snprintf(desc, sizeof desc, "dcf n=%d l=%d g=%d count=%zu", p.n, p.l, p.g, count);
    const size_t gv = count * (size_t)p.g;
    uint64_t *alpha = xmalloc(count * 8), *beta = xmalloc(gv * 8), *x = xmalloc(count * 8);
    fss_block *roots = xmalloc(2 * count * 16);
    points(p.n, count, alpha, x);
    REQUIRE(fss_rng_ring(rng, beta, gv, p.l) == FSS_OK);
    REQUIRE(fss_rng_bytes(rng, roots, 2 * count * 16) == FSS_OK);

    fss_dcf_keys h[2], g[2], d[2];
    for (int b = 0; b < 2; b++) {
        REQUIRE(fss_dcf_keys_alloc(&h[b], p, b, count) == FSS_OK);
        REQUIRE(fss_dcf_keys_alloc(&g[b], p, b, count) == FSS_OK);
        FSS_CU(fss_cuda_dcf_keys_alloc(&d[b], p, b, count));
    }
    REQUIRE(fss_dcf_keygen(ctx, p, count, alpha, beta, roots, &h[0], &h[1]) == FSS_OK);
    uint64_t *d_alpha = dev_upload(alpha, count * 8), *d_beta = dev_upload(beta, gv * 8);
    uint64_t *d_x = dev_upload(x, count * 8);
    fss_block *d_roots = dev_upload(roots, 2 * count * 16);
    FSS_CU(fss_cuda_dcf_keygen(p, count, d_alpha, d_beta, d_roots, &d[0], &d[1], stream));
    for (int b = 0; b < 2; b++) {
        FSS_CU(fss_cuda_dcf_keys_download(&g[b], &d[b], stream));
        CU(cudaStreamSynchronize(stream));
        dcf_cmp_keys(desc, &h[b], &g[b]);
        FSS_CU(fss_cuda_dcf_keys_upload(&d[b], &h[b], stream));
    }
    dcf_parse_case(desc, &h[0]);

    uint64_t *y[2] = {xmalloc(gv * 8), xmalloc(gv * 8)}, *yc = xmalloc(gv * 8);
    uint64_t *d_y = dev_alloc(gv * 8);
    for (int b = 0; b < 2; b++) {
        dev_poison(d_y, gv * 8);
        FSS_CU(fss_cuda_dcf_eval(&d[b], d_x, d_y, stream));
        REQUIRE(fss_dcf_eval(ctx, &h[b], x, yc) == FSS_OK);
        dev_download(y[b], d_y, gv * 8);
        cmp_u64(desc, b ? "eval party 1" : "eval party 0", yc, y[b], gv);
    }
    for (size_t i = 0; i < count; i++)
        for (int j = 0; j < p.g; j++) {
            size_t o = i * (size_t)p.g + (size_t)j;
            uint64_t got = fss_ring_add(y[0][o], y[1][o], p.l);
            uint64_t want = x[i] < alpha[i] ? fss_ring_reduce(beta[o], p.l) : 0;
            CHECK(got == want, "%s: i=%zu j=%d alpha=%llx x=%llx: reconstructs to %llx, want %llx", desc, i, j,
                  (unsigned long long)alpha[i], (unsigned long long)x[i], (unsigned long long)got,
                  (unsigned long long)want);
        }

    for (int b = 0; b < 2; b++) {
        fss_dcf_keys_free(&h[b]);
        fss_dcf_keys_free(&g[b]);
        fss_cuda_dcf_keys_free(&d[b]);
        free(y[b]);
    }
    free(yc);
    CU(cudaFree(d_y));
    CU(cudaFree(d_alpha));
    CU(cudaFree(d_beta));
    CU(cudaFree(d_x));
    CU(cudaFree(d_roots));
    free(alpha);
    free(beta);
    free(x);
    free(roots);
}

/* ---- beyond one grid wave (2^24 threads): GPU keygen and eval, reconstructed ---- */

static void dpf_big(void)
{
    const fss_dpf_params p = {2, 8, 0};
    const size_t count = ((size_t)1 << 24) + 3;
    uint64_t *alpha = xmalloc(count * 8), *beta = xmalloc(count * 8), *x = xmalloc(count * 8);
    uint64_t *y[2] = {xmalloc(count * 8), xmalloc(count * 8)};
    fss_block *roots = xmalloc(2 * count * 16);
    REQUIRE(fss_rng_ring(rng, alpha, count, p.n) == FSS_OK);
    REQUIRE(fss_rng_ring(rng, x, count, p.n) == FSS_OK);
    REQUIRE(fss_rng_ring(rng, beta, count, p.l) == FSS_OK);
    REQUIRE(fss_rng_bytes(rng, roots, 2 * count * 16) == FSS_OK);
    uint64_t *d_alpha = dev_upload(alpha, count * 8), *d_beta = dev_upload(beta, count * 8);
    uint64_t *d_x = dev_upload(x, count * 8), *d_y = dev_alloc(count * 8);
    fss_block *d_roots = dev_upload(roots, 2 * count * 16);
    fss_dpf_keys d[2];
    for (int b = 0; b < 2; b++)
        FSS_CU(fss_cuda_dpf_keys_alloc(&d[b], p, b, count));
    FSS_CU(fss_cuda_dpf_keygen(p, count, d_alpha, d_beta, d_roots, &d[0], &d[1], stream));
    for (int b = 0; b < 2; b++) {
        dev_poison(d_y, count * 8);
        FSS_CU(fss_cuda_dpf_eval(&d[b], d_x, d_y, stream));
        dev_download(y[b], d_y, count * 8);
    }
    size_t bad = 0, first = count;
    for (size_t i = 0; i < count; i++) {
        uint64_t want = x[i] == alpha[i] ? beta[i] : 0;
        if (fss_ring_add(y[0][i], y[1][i], p.l) != want && bad++ == 0)
            first = i;
    }
    CHECK(bad == 0, "dpf n=2 l=8 count=%zu: %zu instances do not reconstruct, first %zu", count, bad, first);
    for (int b = 0; b < 2; b++) {
        fss_cuda_dpf_keys_free(&d[b]);
        free(y[b]);
    }
    CU(cudaFree(d_alpha));
    CU(cudaFree(d_beta));
    CU(cudaFree(d_x));
    CU(cudaFree(d_y));
    CU(cudaFree(d_roots));
    free(alpha);
    free(beta);
    free(x);
    free(roots);
}

/* ---- ring products ---- */

static uint64_t *rand_words(size_t n)
{
    uint64_t *v = xmalloc(n * 8);
    REQUIRE(fss_rng_bytes(rng, v, n * 8) == FSS_OK);
    return v;
}

/* C (+)= A B on both, from the same random C. */
static void gemm_case(size_t m, size_t k, size_t n, int acc)
{
    char desc[96];
    snprintf(desc, sizeof desc, "gemm %zux%zux%zu acc %d", m, k, n, acc);
    uint64_t *A = rand_words(m * k), *B = rand_words(k * n), *C = rand_words(m * n), *G = xmalloc(m * n * 8);
    uint64_t *d_A = dev_upload(A, m * k * 8), *d_B = dev_upload(B, k * n * 8), *d_C = dev_upload(C, m * n * 8);
    FSS_CU(fss_cuda_gemm_u64(m, k, n, d_A, d_B, d_C, acc, stream));
    dev_download(G, d_C, m * n * 8);
    fss_gemm_u64(ctx, m, k, n, A, B, C, acc);
    cmp_u64(desc, "C", C, G, m * n);
    CU(cudaFree(d_A));
    CU(cudaFree(d_B));
    CU(cudaFree(d_C));
    free(A);
    free(B);
    free(C);
    free(G);
}

/* One image: im2col on both (every entry, padding included), then W col on the GPU. */
static void conv_case(fss_im2col_geom g, size_t o)
{
    g.ho = (g.h + 2 * g.pad - g.kh) / g.stride + 1;
    g.wo = (g.w + 2 * g.pad - g.kw) / g.stride + 1;
    const size_t K = g.c * g.kh * g.kw, P = g.ho * g.wo, ni = g.c * g.h * g.w;
    char desc[96];
    snprintf(desc, sizeof desc, "conv c%zu %zux%zu k%zux%zu s%zu p%zu", g.c, g.h, g.w, g.kh, g.kw, g.stride, g.pad);
    uint64_t *img = rand_words(ni), *W = rand_words(o * K), *col = xmalloc(K * P * 8), *gcol = xmalloc(K * P * 8);
    uint64_t *Y = xmalloc(o * P * 8), *GY = xmalloc(o * P * 8);
    uint64_t *d_img = dev_upload(img, ni * 8), *d_W = dev_upload(W, o * K * 8), *d_col = dev_alloc(K * P * 8);
    uint64_t *d_Y = dev_alloc(o * P * 8);
    dev_poison(d_col, K * P * 8);
    dev_poison(d_Y, o * P * 8);
    FSS_CU(fss_cuda_im2col_u64(&g, d_img, d_col, stream));
    dev_download(gcol, d_col, K * P * 8);
    fss_im2col_u64(ctx, &g, img, col);
    cmp_u64(desc, "im2col", col, gcol, K * P);
    FSS_CU(fss_cuda_gemm_u64(o, K, P, d_W, d_col, d_Y, 0, stream));
    dev_download(GY, d_Y, o * P * 8);
    fss_gemm_u64(ctx, o, K, P, W, col, Y, 0);
    cmp_u64(desc, "output", Y, GY, o * P);
    CU(cudaFree(d_img));
    CU(cudaFree(d_W));
    CU(cudaFree(d_col));
    CU(cudaFree(d_Y));
    free(img);
    free(W);
    free(col);
    free(gcol);
    free(Y);
    free(GY);
}

static void products(void)
{
    static const size_t shapes[][3] = {{1, 1, 1},    {1, 7, 1},     {3, 1, 5},      {5, 130, 3},  {7, 128, 257},
                                       {64, 16, 64}, {65, 17, 63},  {64, 147, 300}, {33, 129, 513}, {1, 1000, 64},
                                       {2, 0, 3},    {130, 70, 300}, {512, 576, 196}};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
        for (int acc = 0; acc < 2; acc++)
            gemm_case(shapes[i][0], shapes[i][1], shapes[i][2], acc);
    gemm_case(((size_t)1 << 21) + 70, 3, 2, 1); /* more row tiles than the grid's y: the kernel loops */
    gemm_case(2, 5, ((size_t)1 << 20) + 3, 0);
    /* c, h, w, kh, kw, stride, pad (ho, wo filled in) */
    static const fss_im2col_geom convs[] = {{1, 1, 1, 1, 1, 1, 0, 0, 0},  {3, 8, 8, 3, 3, 1, 1, 0, 0},
                                            {2, 9, 7, 3, 3, 2, 1, 0, 0},  {3, 224, 224, 7, 7, 2, 3, 0, 0},
                                            {64, 56, 56, 1, 1, 1, 0, 0, 0}, {2, 4, 4, 5, 5, 1, 2, 0, 0},
                                            {5, 12, 10, 2, 4, 3, 1, 0, 0}};
    for (size_t i = 0; i < sizeof convs / sizeof *convs; i++)
        conv_case(convs[i], 1 + i * 9);
}

/* Bad input is refused with FSS_E_ARG and a message, before any launch. */
static void bad_args(void)
{
    fss_dpf_params p = {8, 8, 0};
    fss_dpf_keys d;
    FSS_CU(fss_cuda_dpf_keys_alloc(&d, p, 0, 4));
    uint64_t *d_x = dev_alloc(4 * 8);
    d.party = 2;
    CHECK(fss_cuda_dpf_eval(&d, d_x, d_x, stream) == FSS_E_ARG, "party 2 accepted");
    CHECK(fss_cuda_last_error()[0] != 0, "no message for party 2");
    d.party = 0;
    fss_dpf_params bad = {8, 2, 1}; /* early needs l = 1 */
    fss_dpf_keys k1;
    CHECK(fss_cuda_dpf_keys_alloc(&k1, bad, 1, 4) == FSS_E_ARG, "early with l=2 accepted");
    fss_dcf_keys dc;
    fss_dcf_params pc = {8, 8, FSS_DCF_MAX_G + 1};
    CHECK(fss_cuda_dcf_keys_alloc(&dc, pc, 0, 4) == FSS_E_ARG, "g above the maximum accepted");
    fss_dpf_params big = {FSS_DPF_FULL_MAX_BITS + 1, 8, 0};
    fss_dpf_keys kb;
    FSS_CU(fss_cuda_dpf_keys_alloc(&kb, big, 0, 1));
    CHECK(fss_cuda_dpf_eval_full(&kb, d_x, stream) == FSS_E_ARG, "full domain above the limit accepted");
    fss_cuda_dpf_keys_free(&kb);
    CHECK(fss_cuda_gemm_u64(4, 4, 4, NULL, d_x, d_x, 0, stream) == FSS_E_ARG, "gemm with a NULL operand accepted");
    fss_im2col_geom g0 = {1, 2, 2, 1, 1, 0, 0, 2, 2};
    CHECK(fss_cuda_im2col_u64(&g0, d_x, d_x, stream) == FSS_E_ARG && fss_cuda_last_error()[0],
          "im2col with stride 0 accepted, or no message");
    fss_cuda_dpf_keys_free(&d);
    CU(cudaFree(d_x));
}

int main(void)
{
    if (fss_cuda_device_count() == 0) {
        printf("no CUDA device: skipped\n");
        return FSS_TEST_SKIP;
    }
    rng = check_init("test_cuda");
    REQUIRE(fss_ctx_new(&ctx, 0) == FSS_OK);
    CU(cudaStreamCreate(&stream));

    static const size_t aes_counts[] = {0, 1, 31, 32, 33, 4099, ((size_t)1 << 24) + 5};
    for (size_t i = 0; i < sizeof aes_counts / sizeof *aes_counts; i++)
        aes_case(aes_counts[i]);

    static const int ns[] = {1, 5, 7, 8, 16, 20, 37, 50, 63, 64};
    static const size_t counts[] = {0, 1, 31, 32, 33, 1000};
    const size_t nn = sizeof ns / sizeof *ns, nc = sizeof counts / sizeof *counts;

    static const fss_dpf_params dpf_kinds[] = {{0, 1, 0}, {0, 8, 0}, {0, 37, 0}, {0, 64, 0}, {0, 1, 1}};
    for (size_t k = 0; k < sizeof dpf_kinds / sizeof *dpf_kinds; k++)
        for (size_t i = 0; i < nn; i++)
            for (size_t c = 0; c < nc; c++) {
                fss_dpf_params p = dpf_kinds[k];
                p.n = ns[i];
                dpf_case(p, counts[c]);
            }

    static const int dcf_ls[] = {1, 16, 64};
    for (size_t li = 0; li < sizeof dcf_ls / sizeof *dcf_ls; li++)
        for (int g = 1; g <= 3; g++)
            for (size_t i = 0; i < nn; i++)
                for (size_t c = 0; c < nc; c++) {
                    fss_dcf_params p = {ns[i], dcf_ls[li], g};
                    dcf_case(p, counts[c]);
                }
    /* The payload sizes of the general kernel's edges. */
    dcf_case((fss_dcf_params){64, 64, FSS_DCF_MAX_G}, 33);
    dcf_case((fss_dcf_params){9, 13, 5}, 100);
    /* Several key blocks, the last one short: the device parse's block arithmetic. */
    dcf_case((fss_dcf_params){37, 16, 2}, 2 * FSS_KEY_BLOCK + 77);
    dcf_case((fss_dcf_params){34, 34, 1}, FSS_KEY_BLOCK + 1);
    dpf_case((fss_dpf_params){47, 1, 1}, 2 * FSS_KEY_BLOCK + 77);
    dpf_case((fss_dpf_params){20, 37, 0}, FSS_KEY_BLOCK);

    dpf_big();
    products();
    bad_args();

    CU(cudaStreamDestroy(stream));
    fss_ctx_free(ctx);
    fss_rng_free(rng);
    return check_summary();
}
