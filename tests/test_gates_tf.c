/* The transformer gates (issue 16), each walked three times as in test_gates.c: the clear
 * walk (checked against plain C), the dealer walk into two key streams, and the two
 * parties in two threads over a socketpair; the revealed output must equal the clear walk
 * bit for bit, party 0 must receive nothing, and the rounds and key bytes must be the ones
 * gates.h documents. So far: the table lookup, exhaustive over x at small widths (every
 * index, fresh masks each run), random with the edge indices at 12 and 16 bits, entries of
 * 1 to 64 bits; the batched product of two secret tensors (plain and transposed side,
 * grouped heads, the general and the owner's product), against plain C too; GeLU and
 * SiLU, nExp, the reciprocal, softmax (plain and causal), LayerNorm, RMSNorm and rotary
 * embeddings (at public positions, and at party 1's, which must give the same bits), whose
 * clear walks must also stay within gates.h's documented error of the float function;
 * argmax, exact (the first largest). */
#include <math.h>
#include <string.h>

#include "check.h"
#include "gate_harness.h"
#include "fss/dpf.h"
#include "fss/gates.h"
#include "fss/ring.h"

typedef struct model {
    int n, out_bits;
    size_t count;
    const uint64_t *x, *table, *table2; /* table2: lut_lin's, table[x] + table2[x] e */
    const uint64_t *e;                  /* its factor, party 0's input (out_bits) */
} model;

/* x (party 1's n-bit input) -> lut (or lut_lin, with e party 0's) -> revealed to party 1 */
static fss_status walk(fss_eval *ev, const void *mdv, uint64_t *out)
{
    const model *md = (const model *)mdv;
    fss_tensor x = {0}, y = {0};
    size_t shape[1] = {md->count};
    fss_tensor e = {0};
    fss_status s = fss_gate_input(ev, 1, 1, shape, md->n, 0, md->x, &x);
    if (s == FSS_OK && md->table2)
        s = fss_gate_input(ev, 0, 1, shape, md->out_bits, 0, md->e, &e);
    if (s == FSS_OK)
        s = md->table2 ? fss_gate_lut_lin(ev, &x, md->table, md->table2, &e, 0, &y)
                       : fss_gate_lut(ev, &x, md->table, md->out_bits, 0, &y);
    if (s == FSS_OK)
        s = fss_gate_output(ev, 1, &y, out);
    fss_tensor_free(&x);
    fss_tensor_free(&y);
    fss_tensor_free(&e);
    return s;
}

static fss_ctx *ctx;
static fss_rng *rng;

static size_t packed(size_t count, int bits) { return (count * (size_t)bits + 7) / 8; }

/* The dealer's walk of md, then both parties' (outputs to got, counters in pr): how many
 * of party 1's n outputs differ from the clear walk's want. */
static size_t secure_vs_clear(harness_walk w, const void *md, const char *name, uint64_t *got[2], const uint64_t *want,
                              size_t n, party_run pr[2])
{
    fss_memkeys *keys[2];
    harness_deal(ctx, rng, w, md, name, keys, NULL);
    harness_parties(w, md, name, keys, got, pr);
    fss_memkeys_free(keys[0]);
    fss_memkeys_free(keys[1]);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += got[1][i] != want[i];
    return bad;
}

static void run_lut(const model *md)
{
    const size_t no = md->count;
    const int lin = md->table2 != NULL;
    uint64_t *want = calloc(no, 8), *got[2] = {calloc(no, 8), calloc(no, 8)};
    REQUIRE(want && got[0] && got[1]);
    fss_eval *ev;
    REQUIRE(fss_eval_new_clear(&ev, ctx) == FSS_OK);
    CHECK(walk(ev, md, want) == FSS_OK, "lut n=%d: clear walk: %s", md->n, fss_eval_error(ev));
    fss_eval_free(ev);
    size_t bad = 0;
    for (size_t i = 0; i < no; i++)
        bad += want[i] !=
               fss_ring_reduce(md->table[md->x[i]] + (lin ? md->table2[md->x[i]] * md->e[i] : 0), md->out_bits);
    CHECK(bad == 0, "lut n=%d l=%d: the clear walk is not the table at %zu of %zu", md->n, md->out_bits, bad, no);

    fss_memkeys *keys[2];
    uint64_t dealt[2];
    harness_deal(ctx, rng, walk, md, "lut", keys, dealt);
    party_run pr[2];
    harness_parties(walk, md, "lut", keys, got, pr);
    bad = 0;
    size_t first = 0, leak = 0;
    for (size_t i = 0; i < no; i++) {
        if (got[1][i] != want[i] && !bad++)
            first = i;
        leak += got[0][i] != 0;
    }
    CHECK(bad == 0, "lut%s n=%d l=%d: %zu of %zu outputs differ, first x %llu: got %llu want %llu", lin ? "_lin" : "",
          md->n, md->out_bits, bad, no, (unsigned long long)md->x[first], (unsigned long long)got[1][first],
          (unsigned long long)want[first]);
    CHECK(leak == 0, "lut: party 0 received outputs meant for party 1");
    for (int b = 0; b < 2; b++) {
        /* documented: a DPF key of pairs an element (entries up to 62 bits; above, pairs of
         * whole words; lut_lin: of pairs over n + 1 bits), fresh shares of the r_y (a
         * seed each, or, where packed they take 16 bytes or fewer, party 0 a seed and party 1
         * those); party 1 also holds its input's mask seed and the output masks, party 0 with
         * lut_lin its own input's */
        const int pairs = md->out_bits <= 62 ? 2 : 3;
        const size_t ry = b == 0 || packed(no, md->out_bits) > 16 ? 16 : packed(no, md->out_bits);
        const size_t want_bytes =
            harness_deal_bytes(FSS_DPF_KEY_BYTES(md->n + lin, md->out_bits, pairs), md->count) + ry +
            (b == 1 ? 16 + packed(md->count, md->out_bits) : 16 * (size_t)lin);
        CHECK(pr[b].stats.key_bytes[b] == want_bytes && dealt[b] == want_bytes,
              "lut n=%d l=%d: party %d key bytes read %llu, dealt %llu, documented %zu", md->n, md->out_bits, b,
              (unsigned long long)pr[b].stats.key_bytes[b], (unsigned long long)dealt[b], want_bytes);
        CHECK(pr[b].stats.rounds == 2 + (uint64_t)lin, "lut: party %d took %llu rounds, want %d (the inputs' and the "
              "lookup's)", b, (unsigned long long)pr[b].stats.rounds, 2 + lin);
    }
    fss_memkeys_free(keys[0]);
    fss_memkeys_free(keys[1]);
    free(want), free(got[0]), free(got[1]);
}

/* ---- batched products: X [B][m][k] (party 1's input) times W [Bw][k][n] or [Bw][n][k]
 * (party 0's input, used as it is: the owner's product; or scaled by 1 first: a wire that
 * is nobody's input, the general product), revealed to party 1 ---------------------- */
typedef struct bmm {
    size_t B, Bw, m, k, n;
    int trans, owned, bits;
    const uint64_t *x, *w;
} bmm;

static fss_status walk_bmm(fss_eval *ev, const void *mdv, uint64_t *out)
{
    const bmm *md = (const bmm *)mdv;
    fss_tensor x = {0}, w = {0}, w1 = {0}, z = {0};
    size_t xs[3] = {md->B, md->m, md->k}, ws[3] = {md->Bw, md->trans ? md->n : md->k, md->trans ? md->k : md->n};
    fss_status s = fss_gate_input(ev, 1, 3, xs, md->bits, 0, md->x, &x);
    if (s == FSS_OK)
        s = fss_gate_input(ev, 0, 3, ws, md->bits, 0, md->w, &w);
    if (s == FSS_OK && !md->owned)
        s = fss_gate_scale(ev, &w, 1, &w1);
    if (s == FSS_OK)
        s = fss_gate_matmul_batched(ev, &x, md->owned ? &w : &w1, md->trans, &z);
    if (s == FSS_OK)
        s = fss_gate_output(ev, 1, &z, out);
    fss_tensor_free(&x);
    fss_tensor_free(&w);
    fss_tensor_free(&w1);
    fss_tensor_free(&z);
    return s;
}

static void run_bmm(const bmm *md)
{
    const size_t nz = md->B * md->m * md->n, nx = md->B * md->m * md->k, nw = md->Bw * md->k * md->n;
    uint64_t *x = malloc(nx * 8), *w = malloc(nw * 8), *ref = calloc(nz, 8), *want = calloc(nz, 8);
    uint64_t *got[2] = {calloc(nz, 8), calloc(nz, 8)};
    REQUIRE(x && w && ref && want && got[0] && got[1]);
    REQUIRE(fss_rng_ring(rng, x, nx, md->bits) == FSS_OK && fss_rng_ring(rng, w, nw, md->bits) == FSS_OK);
    bmm m = *md;
    m.x = x, m.w = w;
    const size_t g = md->B / md->Bw;
    for (size_t b = 0; b < md->B; b++) /* plain C: Z[b] = X[b] W[b / g] (or its transpose) */
        for (size_t i = 0; i < md->m; i++)
            for (size_t j = 0; j < md->n; j++) {
                uint64_t acc = 0;
                for (size_t t = 0; t < md->k; t++) {
                    const uint64_t *wb = w + b / g * md->k * md->n;
                    acc += x[(b * md->m + i) * md->k + t] * (md->trans ? wb[j * md->k + t] : wb[t * md->n + j]);
                }
                ref[(b * md->m + i) * md->n + j] = fss_ring_reduce(acc, md->bits);
            }
    fss_eval *ev;
    REQUIRE(fss_eval_new_clear(&ev, ctx) == FSS_OK);
    CHECK(walk_bmm(ev, &m, want) == FSS_OK, "matmul_batched: clear walk: %s", fss_eval_error(ev));
    fss_eval_free(ev);
    CHECK(memcmp(want, ref, nz * 8) == 0, "matmul_batched B=%zu/%zu trans=%d: the clear walk is not X W", md->B,
          md->Bw, md->trans);
    party_run pr[2];
    const size_t bad = secure_vs_clear(walk_bmm, &m, "matmul_batched", got, want, nz, pr);
    size_t leak = 0;
    for (size_t i = 0; i < nz; i++)
        leak += got[0][i] != 0;
    CHECK(bad == 0, "matmul_batched B=%zu Bw=%zu %zux%zux%zu trans=%d owned=%d bits=%d: %zu of %zu differ", md->B,
          md->Bw, md->m, md->k, md->n, md->trans, md->owned, md->bits, bad, nz);
    CHECK(leak == 0, "matmul_batched: party 0 received outputs");
    for (int b = 0; b < 2; b++) /* the two inputs' rounds, then the product's */
        CHECK(pr[b].stats.rounds == 3, "matmul_batched: party %d took %llu rounds, want 3", b,
              (unsigned long long)pr[b].stats.rounds);
    free(x), free(w), free(ref), free(want), free(got[0]), free(got[1]);
}

static void bmms(void)
{
    static const bmm cases[] = {
        {1, 1, 1, 1, 1, 0, 0, 64, NULL, NULL}, {4, 4, 3, 5, 2, 0, 0, 37, NULL, NULL},
        {4, 4, 3, 5, 2, 1, 0, 37, NULL, NULL}, {6, 2, 4, 8, 4, 1, 0, 50, NULL, NULL}, /* GQA: 3 heads a group */
        {6, 3, 5, 4, 7, 0, 1, 40, NULL, NULL}, {2, 1, 16, 8, 16, 1, 1, 64, NULL, NULL},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++)
        run_bmm(&cases[c]);
    fss_eval *ev;
    REQUIRE(fss_eval_new_clear(&ev, ctx) == FSS_OK);
    fss_tensor x = {0}, w = {0}, z = {0};
    size_t xs[3] = {3, 2, 2}, ws[3] = {2, 2, 2};
    uint64_t v[12] = {0};
    REQUIRE(fss_gate_input(ev, 1, 3, xs, 16, 0, v, &x) == FSS_OK && fss_gate_input(ev, 1, 3, ws, 16, 0, v, &w) == FSS_OK);
    CHECK(fss_gate_matmul_batched(ev, &x, &w, 0, &z) == FSS_E_ARG, "3 heads over 2 key/value heads accepted");
    fss_tensor_free(&x), fss_tensor_free(&w), fss_tensor_free(&z);
    fss_eval_free(ev);
}

/* ---- GeLU and SiLU: secure == clear bit for bit, and the clear walk within the documented
 * error of the float function, on random and edge inputs ---------------------------- */
typedef struct act {
    int which; /* 0 gelu, 1 silu */
    int bits, scale;
    size_t count;
    const uint64_t *x;
} act;

/* The lean bound the walks set (fss_eval_set_lean_shifts): 0 none, 1 every gate, more a
 * tree's first levels (softmax's max, argmax) lean and its last ones not. */
static size_t lean_bound;

static fss_status walk_act(fss_eval *ev, const void *mdv, uint64_t *out)
{
    const act *md = (const act *)mdv;
    fss_eval_set_lean_shifts(ev, lean_bound);
    fss_tensor x = {0}, y = {0};
    size_t shape[1] = {md->count};
    fss_status s = fss_gate_input(ev, 1, 1, shape, md->bits, md->scale, md->x, &x);
    if (s == FSS_OK)
        s = md->which ? fss_gate_silu(ev, &x, &y) : fss_gate_gelu(ev, &x, &y);
    if (s == FSS_OK)
        s = fss_gate_output(ev, 1, &y, out);
    fss_tensor_free(&x);
    fss_tensor_free(&y);
    return s;
}

static double gelu_f(double x) { return 0.5 * x * erfc(-x / sqrt(2.0)); }
static double silu_f(double x) { return x / (1.0 + exp(-x)); }

/* The clear walk of md into y, and its error against the float function: the largest
 * (*worst, at x[*at]) and the mean (signed). */
static void act_clear(const act *md, uint64_t *y, double *worst, size_t *at, double *mean)
{
    fss_eval *ev;
    REQUIRE(fss_eval_new_clear(&ev, ctx) == FSS_OK);
    CHECK(walk_act(ev, md, y) == FSS_OK, "%s: clear walk: %s", md->which ? "silu" : "gelu", fss_eval_error(ev));
    fss_eval_free(ev);
    const double one = ldexp(1.0, md->scale);
    double sum = 0;
    *worst = 0, *at = 0;
    for (size_t i = 0; i < md->count; i++) {
        const double xv = (double)fss_ring_to_signed(md->x[i], md->bits) / one;
        const double e = (double)fss_ring_to_signed(y[i], md->bits) / one - (md->which ? silu_f(xv) : gelu_f(xv));
        sum += e;
        if (fabs(e) > *worst)
            *worst = fabs(e), *at = i;
    }
    *mean = sum / (double)md->count;
}

static void run_act(int which, int bits, int scale, double span)
{
    const char *name = which ? "silu" : "gelu";
    const size_t count = 2000;
    uint64_t *x = malloc(count * 8), *want = calloc(count, 8), *got[2] = {calloc(count, 8), calloc(count, 8)};
    REQUIRE(x && want && got[0] && got[1]);
    const double one = ldexp(1.0, scale);
    /* edges: 0, one step either side, the table's range and one step past it, the span */
    /* and the steps' edges, either side (an index's turn between q and -1 - q; the worst
     * interpolation at the first step's ends), a step's middle */
    const double edges[] = {0, 1 / one, -1 / one, 4, -4, 4 - 1 / one, 4 + 1 / one, 16, -16, 16 - 1 / one, span, -span,
                            0.5, -0.5, 1.7, -1.7, 0.125, -0.125, 0.125 - 1 / one, -0.125 + 1 / one, 0.125 + 1 / one,
                            -0.125 - 1 / one, 0.1875, -0.1875, 15.875, -15.875, 3.875 + 1 / one, -3.875 - 1 / one};
    const size_t ne = sizeof edges / sizeof *edges;
    for (size_t i = 0; i < count; i++) {
        double v = i < ne ? edges[i] : (double)(check_u64(rng) >> 11) / 9007199254740992.0 * 2 * span - span;
        x[i] = fss_ring_from_signed((int64_t)llrint(v * one), bits);
    }
    const act md = {which, bits, scale, count, x};
    double worst, mean;
    size_t at;
    act_clear(&md, want, &worst, &at, &mean);
    const double bound = (which ? FSS_SILU_TABLE_ERROR : FSS_GELU_TABLE_ERROR) + ldexp(1.0, -scale) +
                         ldexp(1.0, 2 - 2 * scale);
    CHECK(worst <= bound, "%s (n=%d f=%d): error %.6f at x = %.6f, documented %.5f", name, bits, scale, worst,
          (double)fss_ring_to_signed(x[at], bits) / one, bound);
    printf("%s n=%d f=%d over [-%g, %g]: max error %.6f (documented %.5f)\n", name, bits, scale, span, span, worst,
           bound);
    party_run pr[2];
    const size_t bad = secure_vs_clear(walk_act, &md, name, got, want, count, pr);
    CHECK(bad == 0, "%s (n=%d f=%d): %zu of %zu secure outputs differ from the clear walk", name, bits, scale, bad, count);
    /* the input's round, then six (gelu: its tables of up to 2^FSS_ACT_LIN_BITS steps one
     * lut_lin) or seven (silu: a lookup of two tables and a product), and the lean
     * truncations' one more each */
    const int lin = FSS_GELU_RANGE_LOG2 + FSS_ACT_STEP_BITS <= FSS_ACT_LIN_BITS && strcmp(name, "gelu") == 0;
    const uint64_t want_rounds = (lean_bound && count >= lean_bound ? 10 : 8) - (uint64_t)lin;
    for (int b = 0; b < 2; b++)
        CHECK(pr[b].stats.rounds == want_rounds, "%s (lean bound %zu): party %d took %llu rounds, want %llu", name,
              lean_bound, b, (unsigned long long)pr[b].stats.rounds, (unsigned long long)want_rounds);
    free(x), free(want), free(got[0]), free(got[1]);
}

/* The clear walk's mean error over a grid of x in the table's range: errors that cancel
 * (an even error, as the midpoint table's, or the interpolation's raised chord) rather than
 * one sign over a row of thousands (the chord alone: GeLU +1.7e-4 and SiLU +4.4e-5 here). */
static void act_bias(int which)
{
    const char *name = which ? "silu" : "gelu";
    const int bits = 50, scale = 12;
    const double range = which ? 16 : 4, one = ldexp(1.0, scale);
    const size_t count = (size_t)(2 * range * 512) + 1; /* steps of 2^-9 over [-range, range] */
    uint64_t *x = malloc(count * 8), *y = calloc(count, 8);
    REQUIRE(x && y);
    for (size_t i = 0; i < count; i++)
        x[i] = fss_ring_from_signed((int64_t)llrint((-range + (double)i / 512) * one), bits);
    const act md = {which, bits, scale, count, x};
    double worst, mean;
    size_t at;
    act_clear(&md, y, &worst, &at, &mean);
    CHECK(fabs(mean) <= FSS_ACT_MEAN_ERROR, "%s: mean error %.3g over [-%g, %g], documented %g", name, mean, range,
          range, FSS_ACT_MEAN_ERROR);
    printf("%s over [-%g, %g] in steps of 2^-9: mean error %+.3g (documented at most %g)\n", name, range, range, mean,
           FSS_ACT_MEAN_ERROR);
    free(x), free(y);
}

/* ---- nExp, reciprocal, softmax: secure == clear, and the clear walk within the documented
 * error of the float function ------------------------------------------------------- */
enum { F_NEXP, F_RECIP, F_SOFTMAX, F_SOFTMAX_CAUSAL, F_SOFTMAX_LOCAL, F_SHIFTED_CAUSAL, F_SHIFTED_LOCAL };
#define LOCAL_WINDOW 3 /* F_SOFTMAX_LOCAL's */
typedef struct fn_model {
    int which, bits, scale, k; /* k: the reciprocal's range 2^k */
    size_t rows, cols;         /* softmax: rows x cols; else count = rows */
    const uint64_t *x; /* the shifted softmaxes: x 2^scale plus low bits, at scale 2 scale */
} fn_model;

static fss_status walk_fn(fss_eval *ev, const void *mdv, uint64_t *out)
{
    const fn_model *md = (const fn_model *)mdv;
    fss_eval_set_lean_shifts(ev, lean_bound);
    fss_tensor x = {0}, y = {0};
    const int sm = md->which >= F_SOFTMAX;
    size_t shape[2] = {md->rows, md->cols};
    const int shifted = md->which >= F_SHIFTED_CAUSAL;
    fss_status s = fss_gate_input(ev, 1, sm ? 2 : 1, shape, md->bits, md->scale * (1 + shifted), md->x, &x);
    if (s == FSS_OK)
        s = md->which == F_NEXP ? fss_gate_nexp(ev, &x, &y)
          : md->which == F_RECIP ? fss_gate_reciprocal(ev, &x, md->k, &y)
          : shifted ? fss_gate_softmax_shifted(ev, &x, md->scale, md->which == F_SHIFTED_LOCAL ? LOCAL_WINDOW : 0, &y)
                 : md->which == F_SOFTMAX_LOCAL ? fss_gate_softmax_local(ev, &x, LOCAL_WINDOW, &y)
                                                : fss_gate_softmax(ev, &x, md->which == F_SOFTMAX_CAUSAL, &y);
    if (s == FSS_OK)
        s = fss_gate_output(ev, 1, &y, out);
    fss_tensor_free(&x);
    fss_tensor_free(&y);
    return s;
}

static void run_fn(int which, int bits, int scale, int k, size_t rows, size_t cols, double bound)
{
    static const char *const names[] = {"nexp", "reciprocal", "softmax", "softmax (causal)", "softmax (local 3)",
                                        "softmax (causal, shifted)", "softmax (local 3, shifted)"};
    const char *name = names[which];
    const int sm = which >= F_SOFTMAX;
    const size_t count = sm ? rows * cols : rows;
    const double one = ldexp(1.0, scale);
    uint64_t *x = malloc(count * 8), *want = calloc(count, 8), *got[2] = {calloc(count, 8), calloc(count, 8)};
    double *xv = malloc(count * 8);
    REQUIRE(x && want && got[0] && got[1] && xv);
    for (size_t i = 0; i < count; i++) {
        const double u = (double)(check_u64(rng) >> 11) / 9007199254740992.0;
        double v = which == F_NEXP ? u * 20 : which == F_RECIP ? fmin(1 + u * (ldexp(1.0, k) - 1), ldexp(1.0, k) - 1 / one)
                                                               : u * 16 - 8;
        if (which == F_NEXP && i < 6) /* edges: 0, the clip at 16 either side, a step */
            v = (double[]){0, 16 - 1 / one, 16, 16 + 1 / one, 1 / one, 15.5}[i];
        if (which == F_SOFTMAX && k == 1) /* the worst row: one 0, the rest just above nExp's floor */
            v = i % cols == 0 ? 0 : -7.95;
        if (which == F_RECIP && i < 4)
            v = (double[]){1, ldexp(1.0, k) - 1 / one, 1 + 1 / one, k > 1 ? 2 : 1.5}[i];
        x[i] = fss_ring_from_signed((int64_t)llrint(v * one), bits);
        xv[i] = (double)fss_ring_to_signed(x[i], bits) / one;
    }
    uint64_t *x2 = malloc(count * 8); /* the shifted ones' input: x 2^scale and random low bits */
    REQUIRE(x2);
    for (size_t i = 0; i < count; i++)
        x2[i] = fss_ring_reduce((x[i] << scale) + (check_u64(rng) & (((uint64_t)1 << scale) - 1)), bits);
    const fn_model md = {which, bits, scale, k, rows, cols, which >= F_SHIFTED_CAUSAL ? x2 : x};
    fss_eval *ev;
    REQUIRE(fss_eval_new_clear(&ev, ctx) == FSS_OK);
    CHECK(walk_fn(ev, &md, want) == FSS_OK, "%s: clear walk: %s", name, fss_eval_error(ev));
    if (which >= F_SHIFTED_CAUSAL) { /* bit for bit the shift first, then the softmax */
        const fn_model un = {which == F_SHIFTED_LOCAL ? F_SOFTMAX_LOCAL : F_SOFTMAX_CAUSAL, bits, scale, k, rows, cols, x};
        uint64_t *plain = calloc(count, 8);
        REQUIRE(plain);
        CHECK(walk_fn(ev, &un, plain) == FSS_OK && memcmp(plain, want, count * 8) == 0,
              "%s: the clear walk differs from the shift and then the softmax", name);
        free(plain);
    }
    fss_eval_free(ev);
    double worst = 0;
    for (size_t i = 0; i < count; i++) {
        double ref;
        if (which == F_NEXP) {
            ref = exp(-xv[i]);
        } else if (which == F_RECIP) {
            ref = 1 / xv[i];
        } else {
            const size_t r = i / cols, c = i % cols, row = r % rows;
            double mx = -1e300, sum = 0;
#define KEPT(j) (which == F_SOFTMAX || ((j) <= row && ((which != F_SOFTMAX_LOCAL && which != F_SHIFTED_LOCAL) || \
                                                   row - (j) < LOCAL_WINDOW)))
            for (size_t j = 0; j < cols; j++)
                if (KEPT(j))
                    mx = fmax(mx, xv[r * cols + j]);
            for (size_t j = 0; j < cols; j++)
                if (KEPT(j))
                    sum += exp(xv[r * cols + j] - mx);
            ref = KEPT(c) ? exp(xv[i] - mx) / sum : sum == 0 ? 1.0 / (double)cols : 0; /* none: uniform */
#undef KEPT
        }
        worst = fmax(worst, fabs((double)fss_ring_to_signed(want[i], bits) / one - ref));
    }
    CHECK(worst <= bound, "%s (n=%d f=%d k=%d %zux%zu): error %.6f, documented %.6f", name, bits, scale, k, rows,
          cols, worst, bound);
    printf("%s n=%d f=%d k=%d %zux%zu: max error %.6f (documented %.6f)\n", name, bits, scale, k, rows, cols, worst,
           bound);
    party_run pr[2];
    const size_t bad = secure_vs_clear(walk_fn, &md, name, got, want, count, pr);
    CHECK(bad == 0, "%s (n=%d f=%d): %zu of %zu secure outputs differ from the clear walk", name, bits, scale, bad, count);
    free(x), free(x2), free(xv), free(want), free(got[0]), free(got[1]);
}

/* ---- rotary and argmax ------------------------------------------------------------------ */
typedef struct ra {
    int which; /* 0 rotary, 1 argmax, 2 rotary at party 1's positions (heads 1: row p at pos0 + p) */
    int bits, scale;
    size_t heads, seq, d, pos0;
    const uint64_t *x;
} ra;

static fss_status walk_ra(fss_eval *ev, const void *mdv, uint64_t *out)
{
    const ra *md = (const ra *)mdv;
    fss_eval_set_lean_shifts(ev, lean_bound);
    fss_tensor x = {0}, y = {0};
    size_t shape[3] = {md->heads, md->seq, md->d};
    fss_status s = fss_gate_input(ev, 1, 3, shape, md->bits, md->scale, md->x, &x);
    if (s == FSS_OK && md->which == 2) { /* x as [seq][d], party 1's cos and sin [seq][d] */
        const size_t xs[2] = {md->seq, md->d};
        uint64_t *cs = fss_eval_mode(ev) == FSS_MODE_DEALER ? NULL : malloc(md->seq * md->d * 8);
        fss_tensor c = {0};
        for (size_t p = 0; cs && p < md->seq; p++)
            fss_rotary_cos_sin(md->pos0 + p, md->d, 10000.0, md->scale, md->bits, cs + p * md->d);
        if ((s = fss_tensor_reshape(&x, 2, xs)) == FSS_OK &&
            (s = fss_gate_input(ev, 1, 2, xs, md->bits, md->scale, cs, &c)) == FSS_OK)
            s = fss_gate_rotary_at(ev, &x, &c, &y);
        free(cs);
        fss_tensor_free(&c);
    } else if (s == FSS_OK) {
        s = md->which ? fss_gate_argmax(ev, &x, &y) : fss_gate_rotary(ev, &x, md->pos0, 10000.0, &y);
    }
    if (s == FSS_OK)
        s = fss_gate_output(ev, 1, &y, out);
    fss_tensor_free(&x);
    fss_tensor_free(&y);
    return s;
}

static void run_ra(int which, int bits, int scale, size_t heads, size_t seq, size_t d, size_t pos0)
{
    const char *name = which == 1 ? "argmax" : which ? "rotary_at" : "rotary";
    const size_t count = heads * seq * d, outs = which == 1 ? heads * seq : count;
    const double one = ldexp(1.0, scale);
    uint64_t *x = malloc(count * 8), *want = calloc(outs, 8), *got[2] = {calloc(outs, 8), calloc(outs, 8)};
    REQUIRE(x && want && got[0] && got[1]);
    for (size_t i = 0; i < count; i++) { /* [-8, 8); argmax: a few ties on purpose */
        const double u = (double)(check_u64(rng) >> 11) / 9007199254740992.0;
        x[i] = fss_ring_from_signed((int64_t)llrint((which && i % 5 == 0 ? 3.0 : u * 16 - 8) * one), bits);
    }
    const ra md = {which, bits, scale, heads, seq, d, pos0, x}, pub = {0, bits, scale, heads, seq, d, pos0, x};
    fss_eval *ev;
    REQUIRE(fss_eval_new_clear(&ev, ctx) == FSS_OK);
    CHECK(walk_ra(ev, &md, want) == FSS_OK, "%s: clear walk: %s", name, fss_eval_error(ev));
    fss_eval_free(ev);
    if (which == 2) { /* the bits of the public positions' rotary */
        REQUIRE(heads == 1);
        REQUIRE(fss_eval_new_clear(&ev, ctx) == FSS_OK);
        CHECK(walk_ra(ev, &pub, got[0]) == FSS_OK, "rotary: clear walk: %s", fss_eval_error(ev));
        fss_eval_free(ev);
        CHECK(!memcmp(got[0], want, outs * 8), "rotary_at (d=%zu pos0=%zu): not fss_gate_rotary's bits", d, pos0);
    }
    double worst = 0, bound = 0;
    size_t wrong = 0;
    for (size_t o = 0; o < outs; o++) {
        if (which == 1) { /* the first largest */
            size_t best = 0;
            for (size_t j = 1; j < d; j++)
                if (fss_ring_to_signed(x[o * d + j], bits) > fss_ring_to_signed(x[o * d + best], bits))
                    best = j;
            wrong += want[o] != best;
            continue;
        }
        const size_t i = o % d, p = o / d % seq, h = d / 2, j = i % h, other = i < h ? o + h : o - h;
        const double a = (double)(pos0 + p) * pow(10000.0, -2.0 * (double)j / (double)d);
        const double xi = (double)fss_ring_to_signed(x[o], bits) / one, xo = (double)fss_ring_to_signed(x[other], bits) / one;
        const double ref = xi * cos(a) + (i < h ? -xo : xo) * sin(a);
        worst = fmax(worst, fabs((double)fss_ring_to_signed(want[o], bits) / one - ref));
        bound = fmax(bound, (fabs(xi) + fabs(xo)) * ldexp(1.0, -scale - 1) + 1 / one);
    }
    if (which == 1)
        CHECK(wrong == 0, "argmax %zux%zux%zu: %zu of %zu indices are not the first largest", heads, seq, d, wrong, outs);
    else
        CHECK(worst <= bound, "rotary (f=%d d=%zu pos0=%zu): error %.6f over the documented %.6f", scale, d, pos0, worst,
              bound);
    party_run pr[2];
    const size_t bad = secure_vs_clear(walk_ra, &md, name, got, want, outs, pr);
    CHECK(bad == 0, "%s: %zu of %zu secure outputs differ from the clear walk", name, bad, outs);
    free(x), free(want), free(got[0]), free(got[1]);
}

/* ---- LayerNorm and RMSNorm --------------------------------------------------------------- */
typedef struct nm {
    int rms, bits, scale;
    size_t rows, d;
    const uint64_t *x, *gb; /* gb: gamma then beta */
} nm;

static fss_status walk_nm(fss_eval *ev, const void *mdv, uint64_t *out)
{
    const nm *md = (const nm *)mdv;
    fss_tensor x = {0}, g = {0}, b = {0}, y = {0};
    size_t shape[2] = {md->rows, md->d}, ws[1] = {md->d};
    fss_status s = fss_gate_input(ev, 1, 2, shape, md->bits, md->scale, md->x, &x);
    if (s == FSS_OK)
        s = fss_gate_input(ev, 0, 1, ws, md->bits, md->scale, md->gb, &g);
    if (s == FSS_OK)
        s = fss_gate_input(ev, 0, 1, ws, md->bits, md->scale, md->gb ? md->gb + md->d : NULL, &b);
    if (s == FSS_OK)
        s = md->rms ? fss_gate_rmsnorm(ev, &x, &g, 1e-5, &y) : fss_gate_layernorm(ev, &x, &g, &b, 1e-5, &y);
    if (s == FSS_OK)
        s = fss_gate_output(ev, 1, &y, out);
    fss_tensor_free(&x), fss_tensor_free(&g), fss_tensor_free(&b), fss_tensor_free(&y);
    return s;
}

static double unit(void) { return (double)(check_u64(rng) >> 11) / 9007199254740992.0; }

static void run_nm(int rms, int bits, int scale, size_t rows, size_t d)
{
    const char *name = rms ? "rmsnorm" : "layernorm";
    const size_t count = rows * d;
    const double one = ldexp(1.0, scale);
    uint64_t *x = malloc(count * 8), *gb = malloc(2 * d * 8), *want = calloc(count, 8);
    uint64_t *got[2] = {calloc(count, 8), calloc(count, 8)};
    double *xv = malloc(count * 8), *gv = malloc(2 * d * 8);
    REQUIRE(x && gb && want && got[0] && got[1] && xv && gv);
    for (size_t r = 0; r < rows; r++) { /* rows of various means and spreads 0.05 to 16 (sigma 0.029 to 9.2) */
        const double mean = rms ? 0 : unit() * 8 - 4, spread = 0.05 * pow(320.0, unit());
        for (size_t i = 0; i < d; i++) {
            x[r * d + i] = fss_ring_from_signed((int64_t)llrint((mean + (unit() * 2 - 1) * spread) * one), bits);
            xv[r * d + i] = (double)fss_ring_to_signed(x[r * d + i], bits) / one;
        }
    }
    for (size_t i = 0; i < 2 * d; i++) {
        gb[i] = fss_ring_from_signed((int64_t)llrint((unit() * 4 - 2) * one), bits);
        gv[i] = (double)fss_ring_to_signed(gb[i], bits) / one;
    }
    const nm md = {rms, bits, scale, rows, d, x, gb};
    fss_eval *ev;
    REQUIRE(fss_eval_new_clear(&ev, ctx) == FSS_OK);
    CHECK(walk_nm(ev, &md, want) == FSS_OK, "%s: clear walk: %s", name, fss_eval_error(ev));
    fss_eval_free(ev);
    double worst = 0;
    for (size_t r = 0; r < rows; r++) {
        double mean = 0, var = 0;
        for (size_t i = 0; i < d; i++)
            mean += xv[r * d + i] / (double)d;
        for (size_t i = 0; i < d; i++) {
            const double c = rms ? xv[r * d + i] : xv[r * d + i] - mean;
            var += c * c / (double)d;
        }
        for (size_t i = 0; i < d; i++) {
            const double c = rms ? xv[r * d + i] : xv[r * d + i] - mean;
            const double ref = c / sqrt(var + 1e-5) * gv[i] + (rms ? 0 : gv[d + i]);
            worst = fmax(worst, fabs((double)fss_ring_to_signed(want[r * d + i], bits) / one - ref));
        }
    }
    CHECK(worst <= FSS_NORM_MAX_ERROR, "%s (n=%d f=%d %zux%zu): error %.6f, documented %.4f", name, bits, scale, rows,
          d, worst, FSS_NORM_MAX_ERROR);
    printf("%s n=%d f=%d %zux%zu: max error %.6f (documented %.4f)\n", name, bits, scale, rows, d, worst,
           FSS_NORM_MAX_ERROR);
    party_run pr[2];
    const size_t bad = secure_vs_clear(walk_nm, &md, name, got, want, count, pr);
    CHECK(bad == 0, "%s: %zu of %zu secure outputs differ from the clear walk", name, bad, count);
    free(x), free(gb), free(want), free(got[0]), free(got[1]), free(xv), free(gv);
}

/* LayerNorm's ranges: a variance of 2^K or more (K = 22 at d = 8 in 50 bits), a mean too
 * large for the ring: the clear walk refuses them with a message (the secure walk would be
 * silently wrong). */
static void norm_refusals(void)
{
    static const struct {
        size_t d;
        double a, b; /* alternating values */
        const char *want;
    } cases[] = {{8, 2100, -2100, "variance (or mean square) is"}, {4096, 600, 600, "mean 600 is too large"}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        const size_t d = cases[c].d;
        uint64_t *x = malloc(d * 8), *gb = malloc(2 * d * 8);
        REQUIRE(x && gb);
        for (size_t i = 0; i < d; i++) {
            x[i] = fss_ring_from_signed((int64_t)llrint((i % 2 ? cases[c].a : cases[c].b) * 4096), 50);
            gb[i] = 4096, gb[d + i] = 0;
        }
        const nm md = {0, 50, 12, 1, d, x, gb};
        uint64_t *out = calloc(d, 8);
        fss_eval *ev;
        REQUIRE(out && fss_eval_new_clear(&ev, ctx) == FSS_OK);
        CHECK(walk_nm(ev, &md, out) == FSS_E_ARG && strstr(fss_eval_error(ev), cases[c].want),
              "layernorm out of its range was not refused: '%s'", fss_eval_error(ev));
        fss_eval_free(ev);
        free(x), free(gb), free(out);
    }
}

/* Three lookups in one round (fss_gate_luts): groups of unequal counts across the key
 * blocks, each with its own table, party 1's indices cut from one input. */
#define LUTS_K 3
static const size_t luts_counts[LUTS_K] = {2500, 1, 4100};
typedef struct luts_model {
    int n;
    const uint64_t *x, *tables[LUTS_K];
} luts_model;

static fss_status walk_luts(fss_eval *ev, const void *mdv, uint64_t *out)
{
    const luts_model *md = (const luts_model *)mdv;
    size_t total = 0, at = 0;
    for (int i = 0; i < LUTS_K; i++)
        total += luts_counts[i];
    fss_tensor x = {0}, xs[LUTS_K] = {{0}}, ys[LUTS_K] = {{0}};
    const fss_tensor *xp[LUTS_K];
    fss_tensor *yp[LUTS_K];
    fss_status s = fss_gate_input(ev, 1, 1, &total, md->n, 0, md->x, &x);
    for (int i = 0; s == FSS_OK && i < LUTS_K; i++) {
        s = fss_tensor_view_next(&x, &at, 1, &luts_counts[i], 0, &xs[i]);
        xp[i] = &xs[i], yp[i] = &ys[i];
    }
    if (s == FSS_OK)
        s = fss_gate_luts(ev, LUTS_K, xp, md->tables, 40, 0, yp);
    for (int i = 0, o = 0; s == FSS_OK && i < LUTS_K; o += (int)luts_counts[i], i++)
        s = fss_gate_output(ev, 1, &ys[i], out ? out + o : NULL);
    for (int i = 0; i < LUTS_K; i++)
        fss_tensor_free(&xs[i]), fss_tensor_free(&ys[i]);
    fss_tensor_free(&x);
    return s;
}

static void run_luts(void)
{
    const int n = 10;
    const size_t size = (size_t)1 << n, total = luts_counts[0] + luts_counts[1] + luts_counts[2];
    uint64_t *x = malloc(total * 8), *tab = malloc(LUTS_K * size * 8), *want = calloc(total, 8),
             *got[2] = {calloc(total, 8), calloc(total, 8)};
    REQUIRE(x && tab && want && got[0] && got[1]);
    REQUIRE(fss_rng_ring(rng, x, total, n) == FSS_OK && fss_rng_ring(rng, tab, LUTS_K * size, 40) == FSS_OK);
    const luts_model md = {n, x, {tab, tab + size, tab + 2 * size}};
    size_t bad = 0;
    for (size_t e = 0, g = 0, o = 0; e < total; e++) { /* the clear walk against the tables */
        while (e >= o + luts_counts[g])
            o += luts_counts[g++];
        want[e] = md.tables[g][x[e]];
    }
    fss_eval *ev;
    uint64_t *clear = calloc(total, 8);
    REQUIRE(clear && fss_eval_new_clear(&ev, ctx) == FSS_OK);
    CHECK(walk_luts(ev, &md, clear) == FSS_OK, "luts: clear walk: %s", fss_eval_error(ev));
    fss_eval_free(ev);
    for (size_t e = 0; e < total; e++)
        bad += clear[e] != want[e];
    CHECK(bad == 0, "luts: the clear walk is not each group's table at %zu of %zu", bad, total);
    harness_piece = 12345; /* keys read in pieces that end inside key blocks */
    party_run pr[2];
    CHECK(secure_vs_clear(walk_luts, &md, "luts", got, want, total, pr) == 0, "luts: secure differs from the tables");
    harness_piece = 0;
    for (int b = 0; b < 2; b++)
        CHECK(pr[b].stats.rounds == 2, "luts: party %d took %llu rounds, want 2 (the input's, one for all three)", b,
              (unsigned long long)pr[b].stats.rounds);
    free(x), free(tab), free(want), free(clear), free(got[0]), free(got[1]);
}

static void luts(void)
{
    run_luts();
    static const struct {
        int n, l;
    } cases[] = {{1, 1}, {2, 64}, {4, 7}, {6, 37}, {8, 16}, {8, 64}, {12, 50}, {16, 37}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        const int n = cases[c].n, l = cases[c].l;
        const size_t size = (size_t)1 << n, count = n <= 8 ? size : 300;
        uint64_t *table = malloc(size * 8), *x = malloc(count * 8);
        REQUIRE(table && x);
        REQUIRE(fss_rng_ring(rng, table, size, l) == FSS_OK && fss_rng_ring(rng, x, count, n) == FSS_OK);
        if (n <= 8) { /* every index */
            for (size_t i = 0; i < count; i++)
                x[i] = i;
        } else { /* the edges first */
            x[0] = 0, x[1] = 1, x[2] = size - 1, x[3] = size / 2, x[4] = size / 2 - 1;
        }
        model md = {n, l, count, x, table, NULL, NULL};
        run_lut(&md);
        if (n < FSS_DPF_LUT_MAX_BITS) { /* table[x] + table2[x] e, from one key */
            uint64_t *table2 = malloc(size * 8), *e = malloc(count * 8);
            REQUIRE(table2 && e && fss_rng_ring(rng, table2, size, l) == FSS_OK &&
                    fss_rng_ring(rng, e, count, l) == FSS_OK);
            e[0] = 0, e[1 % count] = 1, e[(count - 1)] = fss_ring_mask(l); /* and the edges */
            md.table2 = table2;
            md.e = e;
            run_lut(&md);
            free(table2), free(e);
        }
        free(table);
        free(x);
    }
    /* misuse: an index wider than the limit */
    fss_eval *ev;
    REQUIRE(fss_eval_new_clear(&ev, ctx) == FSS_OK);
    fss_tensor x = {0}, y = {0};
    size_t shape[1] = {2};
    uint64_t v[2] = {0, 1}, t[2] = {5, 6};
    REQUIRE(fss_gate_input(ev, 1, 1, shape, FSS_DPF_LUT_MAX_BITS + 1, 0, v, &x) == FSS_OK);
    CHECK(fss_gate_lut(ev, &x, t, 8, 0, &y) == FSS_E_ARG && strstr(fss_eval_error(ev), "index"),
          "a %d-bit lookup was accepted: %s", FSS_DPF_LUT_MAX_BITS + 1, fss_eval_error(ev));
    fss_tensor_free(&x);
    fss_tensor_free(&y);
    /* GeLU's range: |x| < 1024 - 4, SiLU's 1024 - 16 (their comparisons run in 14 bits); the
     * clear walk says so */
    uint64_t big[2] = {0, fss_ring_from_signed(-((int64_t)1020 << 12), 50)};
    REQUIRE(fss_gate_input(ev, 1, 1, shape, 50, 12, big, &x) == FSS_OK);
    CHECK(fss_gate_gelu(ev, &x, &y) == FSS_E_ARG &&
              strstr(fss_eval_error(ev), "element 1 is -1020, outside the +-1020"),
          "gelu of -1020 accepted: %s", fss_eval_error(ev));
    fss_tensor_free(&x);
    fss_tensor_free(&y);
    big[0] = fss_ring_from_signed((int64_t)1008 << 12, 50);
    big[1] = fss_ring_from_signed(-((int64_t)1008 << 12) + 1, 50);
    REQUIRE(fss_gate_input(ev, 1, 1, shape, 50, 12, big, &x) == FSS_OK);
    CHECK(fss_gate_silu(ev, &x, &y) == FSS_E_ARG && strstr(fss_eval_error(ev), "element 0 is 1008, outside the +-1008"),
          "silu of 1008 accepted: %s", fss_eval_error(ev));
    fss_tensor_free(&x);
    fss_tensor_free(&y);
    fss_eval_free(ev);
}

int main(void)
{
    rng = check_init("test_gates_tf");
    REQUIRE(fss_ctx_new(&ctx, 1) == FSS_OK);
    luts();
    bmms();
    run_fn(F_NEXP, 37, 12, 0, 3000, 1, 4.9e-4);
    run_fn(F_NEXP, 50, 16, 0, 1000, 1, 2.8e-4);
    for (int k = 1; k <= 11; k += 5)
        run_fn(F_RECIP, 40, 12, k, 2000, 1, 1.6e-3);
    static const size_t widths[] = {1, 3, 7, 64, 128};
    run_fn(F_SOFTMAX, 45, 12, 1, 2, 128, FSS_SOFTMAX_MAX_ERROR(128)); /* k = 1 marks the worst rows */
    for (size_t w = 0; w < sizeof widths / sizeof *widths; w++) {
        run_fn(F_SOFTMAX, 45, 12, 0, 6, widths[w], FSS_SOFTMAX_MAX_ERROR(widths[w]));
        run_fn(F_SOFTMAX_CAUSAL, 45, 12, 0, widths[w], widths[w], FSS_SOFTMAX_MAX_ERROR(widths[w]));
        run_fn(F_SOFTMAX_LOCAL, 45, 12, 0, widths[w], widths[w], FSS_SOFTMAX_MAX_ERROR(LOCAL_WINDOW));
    }
    /* not square: fewer rows than columns; more, so that the window's last rows take no
     * column (uniform) */
    run_fn(F_SOFTMAX_CAUSAL, 45, 12, 0, 5, 9, FSS_SOFTMAX_MAX_ERROR(9));
    run_fn(F_SOFTMAX_LOCAL, 45, 12, 0, 5, 9, FSS_SOFTMAX_MAX_ERROR(LOCAL_WINDOW));
    run_fn(F_SOFTMAX_CAUSAL, 45, 12, 0, 9, 4, FSS_SOFTMAX_MAX_ERROR(4));
    run_fn(F_SOFTMAX_LOCAL, 45, 12, 0, 9, 4, FSS_SOFTMAX_MAX_ERROR(4));
    /* the scores' shift inside: the same outputs as the shift first */
    run_fn(F_SHIFTED_CAUSAL, 45, 12, 0, 64, 64, FSS_SOFTMAX_MAX_ERROR(64));
    run_fn(F_SHIFTED_LOCAL, 45, 12, 0, 9, 4, FSS_SOFTMAX_MAX_ERROR(4));
    run_fn(F_SHIFTED_CAUSAL, 45, 12, 0, 5, 9, FSS_SOFTMAX_MAX_ERROR(9));
    norm_refusals();
    for (int rms = 0; rms < 2; rms++) {
        run_nm(rms, 50, 12, 8, 8);
        run_nm(rms, 50, 12, 6, 64);
        run_nm(rms, 52, 12, 4, 768);
    }
    run_ra(0, 40, 12, 3, 5, 8, 0);
    run_ra(0, 50, 12, 2, 4, 64, 1000);
    run_ra(2, 50, 12, 1, 3, 64, 17);
    run_ra(2, 64, 12, 1, 2, 8, 8190);
    run_ra(1, 40, 12, 2, 3, 1, 0);
    run_ra(1, 40, 12, 2, 3, 7, 0);
    run_ra(1, 45, 12, 1, 4, 1000, 0);
    /* lean trees: every level a DReLU and a select, or the first levels so and the last
     * ones in a round (relu_tag) */
    static const size_t bounds[2] = {1, 300};
    for (int b = 0; b < 2; b++) {
        lean_bound = bounds[b];
        run_fn(F_SOFTMAX, 45, 12, 0, 6, 128, FSS_SOFTMAX_MAX_ERROR(128));
        run_fn(F_SOFTMAX_CAUSAL, 45, 12, 0, 64, 64, FSS_SOFTMAX_MAX_ERROR(64));
        run_ra(1, 45, 12, 1, 4, 1000, 0);
        run_ra(1, 64, 12, 2, 3, 333, 0);
    }
    for (int which = 0; which < 2; which++) {
        lean_bound = 0; /* six rounds (gelu) or seven (silu) */
        act_bias(which);
        run_act(which, 40, 12, 24);
        run_act(which, 64, 32, 24); /* K = 63: the lookups' keys pairs of whole words */
        run_act(which, 50, 12, which ? 1007.9 : 1019.9); /* the range's edges */
        run_act(which, 37, 8, 6);
        lean_bound = 1; /* eight or nine: the two truncations lean */
        run_act(which, 50, 12, which ? 1007.9 : 1019.9);
        run_act(which, 37, 8, 6);
    }
    lean_bound = 0;
    fss_ctx_free(ctx);
    fss_rng_free(rng);
    return check_summary();
}
