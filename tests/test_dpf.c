/* DPF (group and early-terminated bit output), full-domain evaluation and the comparison
 * from DPF keys: reconstruct and compare with the definitions, exhaustively over alpha
 * and x for n <= 8, at random and edge points for larger n. */
#include <string.h>

#include "check.h"
#include "fss/dpf.h"
#include "fss/ring.h"

static fss_ctx *ctx;
static fss_rng *rng;
static int have_fast;

typedef struct pair {
    fss_dpf_keys k[2];
} pair;

/* Keys of count instances (beta1: fss_dpf_keygen_pairs's second output, else a point function). */
static fss_status keygen(fss_dpf_params p, size_t count, const uint64_t *alpha, const uint64_t *beta,
                         const uint64_t *beta1, const fss_block *roots, fss_dpf_keys *k0, fss_dpf_keys *k1)
{
    return beta1 ? fss_dpf_keygen_pairs(ctx, p, count, alpha, beta, beta1, roots, k0, k1)
                 : fss_dpf_keygen(ctx, p, count, alpha, beta, roots, k0, k1);
}

static void gen2(pair *kp, fss_dpf_params p, size_t count, const uint64_t *alpha, const uint64_t *beta,
                 const uint64_t *beta1)
{
    REQUIRE(fss_dpf_keys_alloc(&kp->k[0], p, 0, count) == FSS_OK);
    REQUIRE(fss_dpf_keys_alloc(&kp->k[1], p, 1, count) == FSS_OK);
    fss_block *roots = malloc(2 * count * sizeof *roots + 16);
    REQUIRE(roots);
    REQUIRE(fss_rng_bytes(rng, roots, 2 * count * sizeof *roots) == FSS_OK);
    fss_ctx_reset_counters(ctx);
    REQUIRE(keygen(p, count, alpha, beta, beta1, roots, &kp->k[0], &kp->k[1]) == FSS_OK);
    CHECK(fss_ctx_aes_blocks(ctx) == count * fss_dpf_keygen_aes_blocks(p), "keygen AES blocks");
    if (have_fast) { /* the other CPU path's keygen: the same keys, byte for byte */
        fss_dpf_keys o[2];
        REQUIRE(fss_dpf_keys_alloc(&o[0], p, 0, count) == FSS_OK && fss_dpf_keys_alloc(&o[1], p, 1, count) == FSS_OK);
        const fss_cpu_path was = fss_ctx_cpu_path(ctx);
        REQUIRE(fss_ctx_set_cpu_path(ctx, FSS_CPU_OPENSSL) == FSS_OK);
        REQUIRE(keygen(p, count, alpha, beta, beta1, roots, &o[0], &o[1]) == FSS_OK);
        REQUIRE(fss_ctx_set_cpu_path(ctx, was) == FSS_OK);
        const size_t kb = FSS_DPF_KEY_BYTES(p.n, p.l, p.early);
        uint8_t *a = malloc(count * kb), *b = malloc(count * kb);
        REQUIRE(a && b);
        for (int party = 0; party < 2; party++) {
            fss_dpf_keys_write(&kp->k[party], 0, count, a);
            fss_dpf_keys_write(&o[party], 0, count, b);
            CHECK(memcmp(a, b, count * kb) == 0, "n=%d l=%d early=%d count %zu: party %d's keys differ between the "
                  "CPU paths' keygen", p.n, p.l, p.early, count, party);
        }
        free(a);
        free(b);
        fss_dpf_keys_free(&o[0]);
        fss_dpf_keys_free(&o[1]);
    }
    free(roots);
}

static void gen(pair *kp, fss_dpf_params p, size_t count, const uint64_t *alpha, const uint64_t *beta)
{
    gen2(kp, p, count, alpha, beta, NULL);
}

static void drop(pair *kp)
{
    fss_dpf_keys_free(&kp->k[0]);
    fss_dpf_keys_free(&kp->k[1]);
}

/* Point eval and comparison of count instances at x[i]. */
static void check_points(fss_dpf_params p, size_t count, const uint64_t *alpha, const uint64_t *beta,
                         const uint64_t *x)
{
    pair kp;
    gen(&kp, p, count, alpha, beta);
    uint64_t *y[2], *c[2];
    for (int b = 0; b < 2; b++) {
        y[b] = malloc(count * 8 + 8);
        c[b] = malloc(count * 8 + 8);
        REQUIRE(y[b] && c[b]);
        fss_ctx_reset_counters(ctx);
        REQUIRE(fss_dpf_eval(ctx, &kp.k[b], x, y[b]) == FSS_OK);
        CHECK(fss_ctx_aes_blocks(ctx) == count * fss_dpf_eval_aes_blocks(p), "eval AES blocks");
        if (p.early >= 2) { /* pairs give no comparison */
            REQUIRE(fss_dpf_cmp_eval(ctx, &kp.k[b], x, c[b]) == FSS_E_ARG);
            memset(c[b], 0, count * 8 + 8);
        } else
            REQUIRE(fss_dpf_cmp_eval(ctx, &kp.k[b], x, c[b]) == FSS_OK);
        if (have_fast) { /* the other CPU path gives the same shares, bit for bit */
            uint64_t *z = malloc(count * 8 + 8), *zc = malloc(count * 8 + 8);
            REQUIRE(z && zc);
            const fss_cpu_path was = fss_ctx_cpu_path(ctx);
            REQUIRE(fss_ctx_set_cpu_path(ctx, FSS_CPU_OPENSSL) == FSS_OK);
            REQUIRE(fss_dpf_eval(ctx, &kp.k[b], x, z) == FSS_OK);
            if (p.early >= 2)
                memcpy(zc, c[b], count * 8);
            else
                REQUIRE(fss_dpf_cmp_eval(ctx, &kp.k[b], x, zc) == FSS_OK);
            REQUIRE(fss_ctx_set_cpu_path(ctx, was) == FSS_OK);
            size_t bad = 0;
            for (size_t i = 0; i < count; i++)
                bad += (z[i] != y[b][i]) + (zc[i] != c[b][i]);
            CHECK(bad == 0, "dpf n=%d l=%d early=%d party %d: %zu shares differ between the CPU paths", p.n, p.l,
                  p.early, b, bad);
            free(z);
            free(zc);
        }
    }
    int l = p.early == 1 ? 1 : p.l;
    for (size_t i = 0; i < count; i++) {
        uint64_t want = x[i] == alpha[i] ? (p.early == 1 ? 1 : fss_ring_reduce(beta[i], l)) : 0;
        uint64_t got = p.early == 1 ? (y[0][i] ^ y[1][i]) : fss_ring_add(y[0][i], y[1][i], l);
        CHECK(got == want, "dpf n=%d l=%d early=%d alpha=%llu x=%llu: got %llu want %llu", p.n, p.l, p.early,
              (unsigned long long)alpha[i], (unsigned long long)x[i], (unsigned long long)got,
              (unsigned long long)want);
        CHECK(y[0][i] <= fss_ring_mask(l) && y[1][i] <= fss_ring_mask(l), "dpf share not reduced");
        uint64_t cw = p.early >= 2 ? 0 : x[i] < alpha[i], cg = c[0][i] ^ c[1][i];
        CHECK(cg == cw && c[0][i] <= 1 && c[1][i] <= 1, "cmp n=%d early=%d alpha=%llu x=%llu: got %llu want %llu",
              p.n, p.early, (unsigned long long)alpha[i], (unsigned long long)x[i], (unsigned long long)cg,
              (unsigned long long)cw);
    }
    for (int b = 0; b < 2; b++) {
        free(y[b]);
        free(c[b]);
    }
    drop(&kp);
}

static void exhaustive(int n, int l, int early)
{
    size_t dom = (size_t)1 << n, count = dom * dom;
    uint64_t *alpha = malloc(count * 8), *x = malloc(count * 8), *beta = malloc(count * 8);
    REQUIRE(alpha && x && beta);
    REQUIRE(fss_rng_ring(rng, beta, count, l) == FSS_OK);
    for (size_t a = 0; a < dom; a++)
        for (size_t v = 0; v < dom; v++) {
            alpha[a * dom + v] = a;
            x[a * dom + v] = v;
        }
    fss_dpf_params p = {n, l, early};
    check_points(p, count, alpha, beta, x);
    free(alpha);
    free(x);
    free(beta);
}

static void edges(int n, int l, int early, size_t rounds)
{
    const int per = 8;
    size_t count = rounds * per;
    uint64_t *alpha = malloc(count * 8), *x = malloc(count * 8), *beta = malloc(count * 8);
    REQUIRE(alpha && x && beta);
    REQUIRE(fss_rng_ring(rng, beta, count, l) == FSS_OK);
    uint64_t m = fss_ring_mask(n);
    for (size_t r = 0; r < rounds; r++) {
        uint64_t a = check_u64(rng) & m;
        if (r == 0) a = 0;
        if (r == 1) a = m;
        if (r == 2) a = 1;
        if (r == 3 && n > 1) a = (uint64_t)1 << (n - 1);
        if (r == 4) a = (m >> 7) << 7; /* a leaf boundary of the early variant */
        /* x shares all but the last bits with alpha: same leaf, other positions */
        uint64_t near = (a ^ (check_u64(rng) & 0x7f)) & m;
        uint64_t xs[8] = {0, (a - 1) & m, a, (a + 1) & m, m, near, (a ^ ((uint64_t)1 << (n - 1))) & m,
                          check_u64(rng) & m};
        for (int e = 0; e < per; e++) {
            alpha[r * per + e] = a;
            x[r * per + e] = xs[e];
        }
    }
    fss_dpf_params p = {n, l, early};
    check_points(p, count, alpha, beta, x);
    free(alpha);
    free(x);
    free(beta);
}

/* Batches that end inside a step of the VAES walk (32 instances at a time, four groups of
 * eight; a tail of 16 or fewer in one or two groups): partial and empty groups, a tile of
 * whole steps and a tail (40, 44, 57), tiles that start past 0. */
static void tails(int n, int l, int early)
{
    static const size_t counts[] = {1, 7, 9, 15, 17, 23, 40, 44, 57, 513, 530, 1041};
    for (size_t c = 0; c < sizeof counts / sizeof *counts; c++) {
        const size_t count = counts[c];
        uint64_t *alpha = malloc(count * 8), *x = malloc(count * 8), *beta = malloc(count * 8);
        REQUIRE(alpha && x && beta);
        REQUIRE(fss_rng_ring(rng, alpha, count, n) == FSS_OK && fss_rng_ring(rng, beta, count, l) == FSS_OK);
        REQUIRE(fss_rng_ring(rng, x, count, n) == FSS_OK);
        for (size_t i = 0; i < count; i += 3) /* a third on their point */
            x[i] = alpha[i];
        fss_dpf_params p = {n, l, early};
        check_points(p, count, alpha, beta, x);
        free(alpha);
        free(x);
        free(beta);
    }
}

/* Full domain: every output equals the point evaluation and the definition. */
static void full(int n, int l, int early, size_t count)
{
    fss_dpf_params p = {n, l, early};
    uint64_t *alpha = malloc(count * 8), *beta = malloc(count * 8);
    REQUIRE(alpha && beta);
    REQUIRE(fss_rng_ring(rng, alpha, count, n) == FSS_OK);
    REQUIRE(fss_rng_ring(rng, beta, count, l) == FSS_OK);
    alpha[0] = 0;
    if (count > 1)
        alpha[1] = fss_ring_mask(n);
    pair kp;
    gen(&kp, p, count, alpha, beta);
    size_t W = fss_dpf_full_words(p), dom = (size_t)1 << n;
    uint64_t *f[2];
    for (int b = 0; b < 2; b++) {
        f[b] = malloc(count * W * 8);
        REQUIRE(f[b]);
        REQUIRE(fss_dpf_eval_full(ctx, &kp.k[b], f[b]) == FSS_OK);
        if (have_fast) { /* the other CPU path expands the same tree, share for share */
            uint64_t *z = malloc(count * W * 8);
            REQUIRE(z);
            const fss_cpu_path was = fss_ctx_cpu_path(ctx);
            REQUIRE(fss_ctx_set_cpu_path(ctx, FSS_CPU_OPENSSL) == FSS_OK);
            REQUIRE(fss_dpf_eval_full(ctx, &kp.k[b], z) == FSS_OK);
            REQUIRE(fss_ctx_set_cpu_path(ctx, was) == FSS_OK);
            CHECK(memcmp(z, f[b], count * W * 8) == 0, "full domain n=%d l=%d early=%d party %d: the CPU paths differ",
                  n, l, early, b);
            free(z);
        }
    }
    /* point evals of instance i at every x: repeat keys' instance via per-x batches */
    uint64_t *x = malloc(dom * 8), *y = malloc(dom * 8);
    REQUIRE(x && y);
    for (size_t v = 0; v < dom; v++)
        x[v] = v;
    size_t bad = 0, badpt = 0;
    if (early == 1 && n < 6) /* one word per instance; its bits past 2^n must be zero */
        for (size_t i = 0; i < count; i++)
            CHECK((f[0][i] >> dom) == 0 && (f[1][i] >> dom) == 0, "full domain n=%d: bits past 2^n set", n);
    for (size_t i = 0; i < count; i++) {
        for (size_t v = 0; v < dom; v++) {
            uint64_t s0, s1, got;
            if (early == 1) {
                s0 = (f[0][i * W + v / 64] >> (v % 64)) & 1;
                s1 = (f[1][i * W + v / 64] >> (v % 64)) & 1;
                got = s0 ^ s1;
            } else {
                s0 = f[0][i * W + v];
                s1 = f[1][i * W + v];
                got = fss_ring_add(s0, s1, l);
            }
            uint64_t want = v == alpha[i] ? (early == 1 ? 1 : beta[i]) : 0;
            bad += got != want;
        }
        /* party 1's point evals of this instance agree with its full-domain row */
        fss_dpf_keys one;
        REQUIRE(fss_dpf_keys_alloc(&one, p, 1, dom) == FSS_OK);
        size_t kb = FSS_DPF_KEY_BYTES(n, l, early);
        uint8_t *ser = malloc(kb);
        REQUIRE(ser);
        fss_dpf_keys_write(&kp.k[1], i, 1, ser); /* instance i alone, read into every slot */
        for (size_t v = 0; v < dom; v++)
            REQUIRE(fss_dpf_keys_read(&one, v, 1, ser) == FSS_OK);
        REQUIRE(fss_dpf_eval(ctx, &one, x, y) == FSS_OK);
        for (size_t v = 0; v < dom; v++) {
            uint64_t fv = early == 1 ? (f[1][i * W + v / 64] >> (v % 64)) & 1 : f[1][i * W + v];
            badpt += fv != y[v];
        }
        free(ser);
        fss_dpf_keys_free(&one);
    }
    CHECK(bad == 0, "full domain n=%d l=%d early=%d: %zu wrong outputs", n, l, early, bad);
    CHECK(badpt == 0, "full domain n=%d l=%d early=%d: %zu outputs differ from point eval", n, l, early, badpt);
    free(x);
    free(y);
    free(f[0]);
    free(f[1]);
    free(alpha);
    free(beta);
    drop(&kp);
}

/* Table lookups: the two parties' shares add to table[x - alpha] at every x (all of them
 * for small n, random and edge x above), for random tables of l-bit entries; two tables at
 * once (fss_dpf_lut2_eval) give each table's shares as one lookup does, on both paths. */
static void lut(int n, int l, int early, size_t count)
{
    const fss_dpf_params p = {n, l, early};
    const size_t dom = (size_t)1 << n, xs = dom <= 256 ? dom : 64;
    uint64_t *alpha = malloc(count * 8), *one = malloc(count * 8), *table = malloc(dom * 8), *table2 = malloc(dom * 8);
    REQUIRE(alpha && one && table && table2);
    REQUIRE(fss_rng_ring(rng, alpha, count, n) == FSS_OK && fss_rng_ring(rng, table, dom, l) == FSS_OK &&
            fss_rng_ring(rng, table2, dom, l) == FSS_OK);
    alpha[0] = 0;
    alpha[count - 1] = fss_ring_mask(n);
    for (size_t i = 0; i < count; i++)
        one[i] = 1;
    pair kp;
    gen(&kp, p, count, alpha, one);
    uint64_t *x = malloc(count * 8), *y[2] = {malloc(count * 8), malloc(count * 8)}, *z = malloc(count * 8);
    uint64_t *w = malloc(2 * count * 8), *w2 = malloc(2 * count * 8);
    REQUIRE(x && y[0] && y[1] && z && w && w2);
    size_t bad = 0, apart = 0, two = 0;
    for (size_t v = 0; v < xs; v++) {
        for (size_t i = 0; i < count; i++)
            x[i] = xs == dom ? v : v < 4 ? (alpha[i] + v - 1) & fss_ring_mask(n) : check_u64(rng) & fss_ring_mask(n);
        const fss_cpu_path was = fss_ctx_cpu_path(ctx);
        for (int b = 0; b < 2; b++) {
            fss_ctx_reset_counters(ctx);
            REQUIRE(fss_dpf_lut_eval(ctx, &kp.k[b], x, table, y[b]) == FSS_OK);
            { /* a tree's nodes but the root, and a words block a leaf for pairs of whole words */
                const int d = FSS_DPF_DEPTH(n, early);
                const uint64_t per = ((uint64_t)2 << d) - 2 + (early == 3 ? (uint64_t)1 << d : 0);
                CHECK(fss_ctx_aes_blocks(ctx) == count * per, "lookup n=%d early=%d: %llu AES blocks, not %llu", n,
                      early, (unsigned long long)fss_ctx_aes_blocks(ctx), (unsigned long long)(count * per));
            }
            if (have_fast) { /* each party's shares on the other CPU path too, share by share */
                REQUIRE(fss_ctx_set_cpu_path(ctx, FSS_CPU_OPENSSL) == FSS_OK);
                REQUIRE(fss_dpf_lut_eval(ctx, &kp.k[b], x, table, z) == FSS_OK);
                REQUIRE(fss_ctx_set_cpu_path(ctx, was) == FSS_OK);
                for (size_t i = 0; i < count; i++)
                    apart += z[i] != y[b][i];
            }
            /* two tables: table's shares as above, table2's as its own lookup's; both paths */
            REQUIRE(fss_dpf_lut2_eval(ctx, &kp.k[b], x, table, table2, w) == FSS_OK);
            REQUIRE(fss_dpf_lut_eval(ctx, &kp.k[b], x, table2, z) == FSS_OK);
            for (size_t i = 0; i < count; i++)
                two += (w[2 * i] != y[b][i]) + (w[2 * i + 1] != z[i]);
            if (have_fast) {
                REQUIRE(fss_ctx_set_cpu_path(ctx, FSS_CPU_OPENSSL) == FSS_OK);
                REQUIRE(fss_dpf_lut2_eval(ctx, &kp.k[b], x, table, table2, w2) == FSS_OK);
                REQUIRE(fss_ctx_set_cpu_path(ctx, was) == FSS_OK);
                for (size_t i = 0; i < 2 * count; i++)
                    apart += w2[i] != w[i];
            }
        }
        for (size_t i = 0; i < count; i++)
            bad += fss_ring_add(y[0][i], y[1][i], l) != table[(x[i] - alpha[i]) & fss_ring_mask(n)];
    }
    CHECK(bad == 0, "table lookup n=%d l=%d early=%d: %zu wrong of %zu", n, l, early, bad, xs * count);
    CHECK(apart == 0, "table lookup n=%d l=%d early=%d: %zu shares differ between the CPU paths", n, l, early, apart);
    CHECK(two == 0, "two tables n=%d l=%d early=%d: %zu shares differ from the single lookups'", n, l, early, two);
    fss_dpf_keys bits;
    const fss_dpf_params pe = {n, 1, 1};
    REQUIRE(fss_dpf_keys_alloc(&bits, pe, 0, 1) == FSS_OK);
    CHECK(fss_dpf_lut_eval(ctx, &bits, x, table, y[0]) == FSS_E_ARG, "table lookup on early keys accepted");
    fss_dpf_keys_free(&bits);
    free(x), free(y[0]), free(y[1]), free(z), free(w), free(w2), free(alpha), free(one), free(table), free(table2);
    drop(&kp);
}

/* Keys of a leaf pair (fss_dpf_keygen_pairs): the shares add to beta0 at alpha with its
 * last bit cleared, beta1 with it set, 0 elsewhere, over the full domain; and a lookup of
 * two tables from them gives table[x - a] beta0 + table[x - a - 1] beta1 (a = alpha & ~1),
 * on both CPU paths. */
static void leaf_pairs(int n, int l, int early, size_t count)
{
    const fss_dpf_params p = {n, l, early};
    const size_t dom = (size_t)1 << n, W = fss_dpf_full_words(p);
    const uint64_t mn = fss_ring_mask(n);
    uint64_t *alpha = malloc(count * 8), *b0 = malloc(count * 8), *b1 = malloc(count * 8), *t1 = malloc(dom * 8),
             *t2 = malloc(dom * 8), *f[2] = {malloc(count * W * 8), malloc(count * W * 8)}, *x = malloc(count * 8),
             *w[2] = {malloc(2 * count * 8), malloc(2 * count * 8)}, *z = malloc(2 * count * 8);
    REQUIRE(alpha && b0 && b1 && t1 && t2 && f[0] && f[1] && x && w[0] && w[1] && z);
    REQUIRE(fss_rng_ring(rng, alpha, count, n) == FSS_OK && fss_rng_ring(rng, b0, count, l) == FSS_OK &&
            fss_rng_ring(rng, b1, count, l) == FSS_OK && fss_rng_ring(rng, t1, dom, l) == FSS_OK &&
            fss_rng_ring(rng, t2, dom, l) == FSS_OK);
    alpha[0] = 0, alpha[count - 1] = mn, b1[0] = 0, b0[count - 1] = fss_ring_mask(l);
    pair kp;
    gen2(&kp, p, count, alpha, b0, b1);
    size_t bad = 0, badl = 0, apart = 0;
    for (int b = 0; b < 2; b++)
        REQUIRE(fss_dpf_eval_full(ctx, &kp.k[b], f[b]) == FSS_OK);
    for (size_t i = 0; i < count; i++)
        for (size_t v = 0; v < dom; v++) {
            const uint64_t want = (v | 1) != (alpha[i] | 1) ? 0 : v & 1 ? b1[i] : b0[i];
            bad += fss_ring_add(f[0][i * W + v], f[1][i * W + v], l) != want;
        }
    const size_t xs = dom <= 64 ? dom : 64;
    for (size_t v = 0; v < xs; v++) {
        for (size_t i = 0; i < count; i++)
            x[i] = xs == dom ? v : v < 4 ? (alpha[i] + v - 1) & mn : check_u64(rng) & mn;
        const fss_cpu_path was = fss_ctx_cpu_path(ctx);
        for (int b = 0; b < 2; b++) {
            REQUIRE(fss_dpf_lut2_eval(ctx, &kp.k[b], x, t1, t2, w[b]) == FSS_OK);
            if (have_fast) {
                REQUIRE(fss_ctx_set_cpu_path(ctx, FSS_CPU_OPENSSL) == FSS_OK);
                REQUIRE(fss_dpf_lut2_eval(ctx, &kp.k[b], x, t1, t2, z) == FSS_OK);
                REQUIRE(fss_ctx_set_cpu_path(ctx, was) == FSS_OK);
                for (size_t i = 0; i < 2 * count; i++)
                    apart += z[i] != w[b][i];
            }
        }
        for (size_t i = 0; i < count; i++) {
            const uint64_t a = alpha[i] & ~(uint64_t)1, j0 = (x[i] - a) & mn, j1 = (x[i] - a - 1) & mn;
            badl += fss_ring_add(w[0][2 * i], w[1][2 * i], l) != fss_ring_reduce(t1[j0] * b0[i] + t1[j1] * b1[i], l);
            badl += fss_ring_add(w[0][2 * i + 1], w[1][2 * i + 1], l) !=
                    fss_ring_reduce(t2[j0] * b0[i] + t2[j1] * b1[i], l);
        }
    }
    CHECK(bad == 0, "leaf pairs n=%d l=%d early=%d: %zu of the full domain's outputs wrong", n, l, early, bad);
    CHECK(badl == 0, "leaf pairs n=%d l=%d early=%d: %zu lookups wrong", n, l, early, badl);
    CHECK(apart == 0, "leaf pairs n=%d l=%d early=%d: %zu shares differ between the CPU paths", n, l, early, apart);
    drop(&kp);
    free(alpha), free(b0), free(b1), free(t1), free(t2), free(f[0]), free(f[1]), free(x), free(w[0]), free(w[1]);
    free(z);
}

int main(void)
{
    rng = check_init("test_dpf");
    REQUIRE(fss_ctx_new(&ctx, 0) == FSS_OK);
    have_fast = check_cpu_path(ctx);
    static const int ls[] = {1, 2, 8, 16, 37, 50, 64};

    for (int n = 1; n <= 8; n++) {
        exhaustive(n, 1, 1);
        exhaustive(n, n == 8 ? 64 : n, 0);
        exhaustive(n, n == 8 ? 62 : n + 3, 2); /* pairs */
    }
    for (size_t j = 0; j < sizeof ls / sizeof *ls; j++)
        exhaustive(6, ls[j], 0);

    static const int ns[] = {9, 16, 20, 32, 37, 50, 63, 64};
    for (size_t i = 0; i < sizeof ns / sizeof *ns; i++) {
        edges(ns[i], 1, 1, 200);
        for (size_t j = 0; j < sizeof ls / sizeof *ls; j++) {
            edges(ns[i], ls[j], 0, 40);
            edges(ns[i], ls[j], 3, 40);
            if (ls[j] <= 62)
                edges(ns[i], ls[j], 2, 40);
        }
    }

    tails(12, 1, 1);
    tails(64, 1, 1);
    tails(64, 64, 0);
    tails(20, 37, 2);
    tails(20, 64, 3);
    tails(9, 13, 3);
    { /* one thread: many tiles run in turn on the caller's thread, not in an OpenMP region */
        fss_ctx *all = ctx;
        REQUIRE(fss_ctx_new(&ctx, 1) == FSS_OK);
        REQUIRE(fss_ctx_set_cpu_path(ctx, fss_ctx_cpu_path(all)) == FSS_OK); /* the path under test */
        exhaustive(8, 1, 1);
        exhaustive(8, 64, 0);
        exhaustive(8, 62, 2);
        exhaustive(8, 64, 3);
        fss_ctx_free(ctx);
        ctx = all;
    }

    static const int fn[] = {1, 2, 3, 4, 5, 6, 7, 8, 12, 16}; /* 2-5: the VAES trees' levels of 1 to 8 nodes */
    for (size_t i = 0; i < sizeof fn / sizeof *fn; i++) {
        full(fn[i], 1, 1, 3);
        full(fn[i], fn[i] == 16 ? 64 : 13, 0, 3);
        full(fn[i], fn[i] == 16 ? 62 : fn[i] == 12 ? 50 : 13, 2, 3); /* pairs: through a key file's bytes too */
        full(fn[i], fn[i] >= 12 ? 64 : 13 + fn[i], 3, 3);
    }
    /* 3-5: the VAES lookups' last levels of 2 to 8 parents */
    static const int lut_n[] = {1, 2, 3, 4, 5, 6, 7, 8, 12, 16}, lut_l[] = {1, 13, 37, 62, 64};
    for (size_t i = 0; i < sizeof lut_n / sizeof *lut_n; i++)
        for (size_t j = 0; j < sizeof lut_l / sizeof *lut_l; j++)
            for (int early = 0; early <= 3; early++)
                if (early == 0 || early == 3 || (early == 2 && lut_l[j] <= 62))
                    lut(lut_n[i], lut_l[j], early, lut_n[i] >= 12 ? 3 : 9 + 24 * (j == 1)); /* 33: two units */
    for (int n = 1; n <= 12; n += n < 6 ? 1 : 3) { /* 1-6 (the VAES lookups' last levels), 9, 12 */
        leaf_pairs(n, n == 9 ? 62 : 23, 2, n < 6 ? 17 : 5); /* 17: past a unit of 16 trees */
        leaf_pairs(n, n == 9 ? 64 : 40, 3, 5);
    }
    { /* a leaf pair needs keys of pairs */
        pair kp;
        const fss_dpf_params p0 = {6, 13, 0};
        uint64_t a = 5, v = 1;
        fss_block roots[2] = {{1, 2}, {3, 4}};
        REQUIRE(fss_dpf_keys_alloc(&kp.k[0], p0, 0, 1) == FSS_OK && fss_dpf_keys_alloc(&kp.k[1], p0, 1, 1) == FSS_OK);
        CHECK(fss_dpf_keygen_pairs(ctx, p0, 1, &a, &v, &v, roots, &kp.k[0], &kp.k[1]) == FSS_E_ARG,
              "a leaf pair from keys of single outputs accepted");
        drop(&kp);
    }
    { /* pairs: no comparison, no l above 62 */
        fss_dpf_keys k2;
        const fss_dpf_params p2 = {8, 13, 2}, p63 = {8, 63, 2};
        uint64_t x0 = 0, y0 = 0;
        REQUIRE(fss_dpf_keys_alloc(&k2, p2, 0, 1) == FSS_OK);
        CHECK(fss_dpf_cmp_eval(ctx, &k2, &x0, &y0) == FSS_E_ARG, "a comparison from keys of pairs accepted");
        fss_dpf_keys_free(&k2);
        CHECK(fss_dpf_params_check(p63) == FSS_E_ARG, "pairs of 63-bit outputs accepted");
        const fss_dpf_params w64 = {8, 64, 3}, w4 = {8, 64, 4};
        CHECK(fss_dpf_params_check(w64) == FSS_OK && fss_dpf_params_check(w4) == FSS_E_ARG,
              "pairs of whole words (early 3) refused, or an early 4 accepted");
        REQUIRE(fss_dpf_keys_alloc(&k2, w64, 0, 1) == FSS_OK);
        CHECK(fss_dpf_cmp_eval(ctx, &k2, &x0, &y0) == FSS_E_ARG, "a comparison from keys of whole-word pairs accepted");
        fss_dpf_keys_free(&k2);
    }

    fss_ctx_free(ctx);
    fss_rng_free(rng);
    return check_summary();
}
