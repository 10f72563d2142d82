/* DCF: reconstruct and compare with the definition beta * 1{x < alpha}, exhaustive over
 * alpha and x for small n, random and edge points for large n. */
#include <string.h>

#include "check.h"
#include "fss/dcf.h"
#include "fss/ring.h"

static fss_ctx *ctx;
static fss_rng *rng;
static int have_fast;

/* Runs count instances of p: instance i has alpha[i], beta[i*g..], evaluated at x[i]. */
static void run(fss_dcf_params p, size_t count, const uint64_t *alpha, const uint64_t *beta, const uint64_t *x)
{
    fss_dcf_keys k0, k1;
    REQUIRE(fss_dcf_keys_alloc(&k0, p, 0, count) == FSS_OK);
    REQUIRE(fss_dcf_keys_alloc(&k1, p, 1, count) == FSS_OK);
    fss_block *roots = malloc(2 * count * sizeof *roots);
    uint64_t *y0 = malloc(count * (size_t)p.g * 8), *y1 = malloc(count * (size_t)p.g * 8);
    REQUIRE(roots && y0 && y1);
    REQUIRE(fss_rng_bytes(rng, roots, 2 * count * sizeof *roots) == FSS_OK);
    fss_ctx_reset_counters(ctx);
    REQUIRE(fss_dcf_keygen(ctx, p, count, alpha, beta, roots, &k0, &k1) == FSS_OK);
    CHECK(fss_ctx_aes_blocks(ctx) == count * fss_dcf_keygen_aes_blocks(p), "keygen AES blocks %llu",
          (unsigned long long)fss_ctx_aes_blocks(ctx));
    if (have_fast) { /* the other CPU path's keygen from the same roots: the same keys, byte for byte */
        fss_dcf_keys o0, o1;
        REQUIRE(fss_dcf_keys_alloc(&o0, p, 0, count) == FSS_OK && fss_dcf_keys_alloc(&o1, p, 1, count) == FSS_OK);
        const fss_cpu_path was = fss_ctx_cpu_path(ctx);
        REQUIRE(fss_ctx_set_cpu_path(ctx, FSS_CPU_OPENSSL) == FSS_OK);
        REQUIRE(fss_dcf_keygen(ctx, p, count, alpha, beta, roots, &o0, &o1) == FSS_OK);
        REQUIRE(fss_ctx_set_cpu_path(ctx, was) == FSS_OK);
        const size_t kb = FSS_DCF_KEY_BYTES(p.n, p.l, p.g);
        uint8_t *a = malloc(count * kb), *b = malloc(count * kb);
        REQUIRE(a && b);
        for (int party = 0; party < 2; party++) {
            fss_dcf_keys_write(party ? &k1 : &k0, 0, count, a);
            fss_dcf_keys_write(party ? &o1 : &o0, 0, count, b);
            CHECK(memcmp(a, b, count * kb) == 0, "n=%d l=%d g=%d count %zu: party %d's keys differ between the CPU "
                  "paths' keygen", p.n, p.l, p.g, count, party);
        }
        free(a);
        free(b);
        fss_dcf_keys_free(&o0);
        fss_dcf_keys_free(&o1);
    }
    fss_ctx_reset_counters(ctx);
    REQUIRE(fss_dcf_eval(ctx, &k0, x, y0) == FSS_OK);
    CHECK(fss_ctx_aes_blocks(ctx) == count * fss_dcf_eval_aes_blocks(p), "eval AES blocks %llu",
          (unsigned long long)fss_ctx_aes_blocks(ctx));
    REQUIRE(fss_dcf_eval(ctx, &k1, x, y1) == FSS_OK);
    if (have_fast) { /* the other CPU path gives the same shares, bit for bit */
        uint64_t *z = malloc(count * (size_t)p.g * 8);
        REQUIRE(z);
        const fss_cpu_path was = fss_ctx_cpu_path(ctx);
        REQUIRE(fss_ctx_set_cpu_path(ctx, FSS_CPU_OPENSSL) == FSS_OK);
        REQUIRE(fss_dcf_eval(ctx, &k1, x, z) == FSS_OK);
        REQUIRE(fss_ctx_set_cpu_path(ctx, was) == FSS_OK);
        size_t bad = 0;
        for (size_t i = 0; i < count * (size_t)p.g; i++)
            bad += z[i] != y1[i];
        CHECK(bad == 0, "n=%d l=%d g=%d: %zu shares differ between the VAES and OpenSSL paths", p.n, p.l, p.g, bad);
        free(z);
    }
    for (size_t i = 0; i < count; i++) {
        unsigned lt = x[i] < alpha[i];
        for (int j = 0; j < p.g; j++) {
            uint64_t got = fss_ring_add(y0[i * p.g + j], y1[i * p.g + j], p.l);
            uint64_t want = lt ? fss_ring_reduce(beta[i * p.g + j], p.l) : 0;
            CHECK(got == want, "n=%d l=%d g=%d i=%zu alpha=%llu x=%llu j=%d: got %llu want %llu", p.n, p.l, p.g, i,
                  (unsigned long long)alpha[i], (unsigned long long)x[i], j, (unsigned long long)got,
                  (unsigned long long)want);
        }
    }
    fss_dcf_keys_free(&k0);
    fss_dcf_keys_free(&k1);
    free(roots);
    free(y0);
    free(y1);
}

/* Every alpha and every x in [0, 2^n). */
static void exhaustive(int n, int l, int g)
{
    size_t dom = (size_t)1 << n, count = dom * dom;
    uint64_t *alpha = malloc(count * 8), *x = malloc(count * 8), *beta = malloc(count * (size_t)g * 8);
    REQUIRE(alpha && x && beta);
    REQUIRE(fss_rng_ring(rng, beta, count * (size_t)g, l) == FSS_OK);
    for (size_t a = 0; a < dom; a++)
        for (size_t v = 0; v < dom; v++) {
            alpha[a * dom + v] = a;
            x[a * dom + v] = v;
        }
    fss_dcf_params p = {n, l, g};
    run(p, count, alpha, beta, x);
    free(alpha);
    free(x);
    free(beta);
}

/* Batches that end inside a register of the VAES paths (eight instances; the eval takes
 * two at a time for g <= 2, a tail of fewer one at a time: 40, 41), tiles that start past 0:
 * random alphas and inputs, a third of the inputs on alpha. */
static void tails(int n, int l, int g)
{
    static const size_t counts[] = {1, 7, 9, 15, 17, 40, 41, 513, 530, 1041};
    for (size_t c = 0; c < sizeof counts / sizeof *counts; c++) {
        const size_t count = counts[c];
        uint64_t *alpha = malloc(count * 8), *x = malloc(count * 8), *beta = malloc(count * (size_t)g * 8);
        REQUIRE(alpha && x && beta);
        REQUIRE(fss_rng_ring(rng, alpha, count, n) == FSS_OK && fss_rng_ring(rng, x, count, n) == FSS_OK);
        REQUIRE(fss_rng_ring(rng, beta, count * (size_t)g, l) == FSS_OK);
        for (size_t i = 0; i < count; i += 3)
            x[i] = alpha[i];
        fss_dcf_params p = {n, l, g};
        run(p, count, alpha, beta, x);
        free(alpha);
        free(x);
        free(beta);
    }
}

/* Random alphas; x at the edges (0, 1, alpha-1, alpha, alpha+1, 2^n-1) and at random. */
static void edges(int n, int l, int g, size_t rounds)
{
    const int per = 8;
    size_t count = rounds * per;
    uint64_t *alpha = malloc(count * 8), *x = malloc(count * 8), *beta = malloc(count * (size_t)g * 8);
    REQUIRE(alpha && x && beta);
    REQUIRE(fss_rng_ring(rng, beta, count * (size_t)g, l) == FSS_OK);
    uint64_t m = fss_ring_mask(n);
    for (size_t r = 0; r < rounds; r++) {
        uint64_t a = check_u64(rng) & m;
        if (r == 0) a = 0;
        if (r == 1) a = m;
        if (r == 2) a = 1;
        if (r == 3 && n > 1) a = (uint64_t)1 << (n - 1);
        uint64_t xs[8] = {0, 1, (a - 1) & m, a, (a + 1) & m, m, check_u64(rng) & m, check_u64(rng) & m};
        for (int e = 0; e < per; e++) {
            alpha[r * per + e] = a;
            x[r * per + e] = xs[e];
        }
    }
    fss_dcf_params p = {n, l, g};
    run(p, count, alpha, beta, x);
    free(alpha);
    free(x);
    free(beta);
}

int main(void)
{
    rng = check_init("test_dcf");
    REQUIRE(fss_ctx_new(&ctx, 0) == FSS_OK);
    have_fast = check_cpu_path(ctx);

    for (int n = 1; n <= 8; n++)
        exhaustive(n, n == 8 ? 64 : n, 1);
    static const int ls[] = {1, 2, 8, 16, 37, 50, 64};
    for (size_t i = 0; i < sizeof ls / sizeof *ls; i++)
        for (int g = 1; g <= 2; g++)
            exhaustive(5, ls[i], g);
    exhaustive(8, 1, 2);
    exhaustive(7, 37, 3);

    static const int ns[] = {16, 20, 32, 37, 50, 63, 64};
    for (size_t i = 0; i < sizeof ns / sizeof *ns; i++)
        for (size_t j = 0; j < sizeof ls / sizeof *ls; j++)
            for (int g = 1; g <= 2; g++)
                edges(ns[i], ls[j], g, 40);
    /* g = 3 and 4 (the VAES path's odd and widest payloads), 5 (past it: OpenSSL on both) */
    exhaustive(6, 64, 4);
    for (int n = 1; n <= 3; n++) /* relu_tag's smallest comparisons (c = 2: n = 1) */
        for (int g = 2; g <= 4; g++)
            exhaustive(n, n == 2 ? 16 : 64, g);
    edges(64, 64, 3, 40);
    edges(37, 50, 3, 40);
    edges(64, 64, 4, 40);
    edges(20, 16, 4, 40);
    edges(64, 64, 5, 40);
    for (int g = 1; g <= 4; g++) {
        tails(12, 50, g);
        tails(64, 1, g);
        tails(20, 64, g);
    }
    { /* one thread: many tiles run in turn on the caller's thread, not in an OpenMP region */
        fss_ctx *all = ctx;
        REQUIRE(fss_ctx_new(&ctx, 1) == FSS_OK);
        exhaustive(8, 64, 1);
        exhaustive(8, 1, 2);
        exhaustive(7, 64, 3);
        fss_ctx_free(ctx);
        ctx = all;
    }

    fss_ctx_free(ctx);
    fss_rng_free(rng);
    return check_summary();
}
