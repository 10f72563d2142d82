/* The transformers' non-linear gates (gates.h), composed of the exact gates and table
 * lookups: GeLU and SiLU, nExp, the reciprocal and softmax.
 *
 * GeLU and SiLU as Sigma builds them, ReLU less the difference on a clipped |x|, that
 * difference interpolated between table entries instead of read at a step's midpoint.
 *
 * D(x) = ReLU(x) - act(x) is even for both (GeLU: |x| Phi(-|x|); SiLU: |x| sigma(-|x|))
 * and fades fast, so with a = |x|:
 *   act(x) = ReLU(x) - 1{-2^R <= x < 2^R} D(a),
 * D over [0, 2^R) in steps of h = 2^-S (S = FSS_ACT_STEP_BITS), 2^I steps (I = R + S):
 * D(a) ~ A[t] + B[t] e / 2^sh for a = t h + e 2^-f, e in [0, 2^sh], sh = f - S. The
 * index and the step's part come from q = floor(x / 2^sh) (truncate-reduce, an sh-bit
 * DCF): t = q and e = x - q 2^sh where x >= 0, t = -1 - q and e = 2^sh - (x - q 2^sh)
 * where x < 0 (on a step's edge that is the step below with e = 2^sh: the same point).
 * With d = 1{q >= 0}, one select of x and 2 q + 1 by d (fss_gate_select2) gives r =
 * ReLU(x) and d (2 q + 1), so t = (-1 - q) + d (2 q + 1) and e = 2^sh + 2 r - x + 2^sh
 * (q - d (2 q + 1)) are local. The comparisons run in M = FSS_ACT_SMALL_BITS bits, for
 * -2^(M-1) <= q - 2^I and q + 2^I < 2^(M-1): d and the range's 1{-2^I <= q < 2^I} =
 * 1{q - 2^I >= 0} ^ 1{q + 2^I >= 0} from one comparison key evaluated at three points
 * (fss_gate_drelu_at). A + B e, tables A and B at t's low I bits, is one lookup
 * (fss_gate_lut_lin: its key's one-hot carries e's mask beside it; for tables of up to
 * 2^FSS_ACT_LIN_BITS steps, GeLU's), its shift by sh one more round, and the range's
 * select (zero-extending to x's ring) the last: six rounds. SiLU's 2^7 steps take a lookup
 * of both tables (fss_gate_lut2) and a product instead, seven rounds: lut_lin's lookup is
 * twice the size, and at 2^8 entries its CPU time (a Zen 3's generic path: 1.6 against
 * 0.9 us an element) outweighs a round and two outputs' bytes.
 * The lookup and shift run in K = max(M, f + 2) + sh bits (A + B e < 2^(f+sh)), which d
 * (2 q + 1) in max(M, f + 2) bits lifts to. Against the midpoint table of 2^(I+3) entries
 * this replaced (six rounds too): a quarter of the lookup's AES work, a quarter of the
 * error or less, and fewer keys (GPT-2: 10%). (Before lut_lin, the tables were a lookup of
 * two outputs and A + B e a product: a round more and three outputs' messages for one.)
 * (Four rounds are possible for that form, with relu_tag for the ReLU and for the clip:
 * tried twice on SmolLM2, 8 tokens on loopback. With its two- and three-payload DCFs on
 * the generic CPU path it took 0.3 s more a step; with them on VAES, no faster (16.5-18.4
 * s against 16.2-18.1, alternated), for 420 rounds fewer (3%) and 10% more keys: not worth
 * the keys until a round costs a real network's.) */
#include <math.h>
#include <string.h>

#include "eval_internal.h"
#include "fss/gates.h"

typedef double (*even_fn)(double);

static double gelu_d(double a) { return a * 0.5 * erfc(a / sqrt(2.0)); } /* a Phi(-a) */
static double silu_d(double a) { return a / (1.0 + exp(a)); }           /* a sigma(-a) */

/* z = ca a + cb b + c in `bits` bits (b may be NULL), scale 0: a linear map of the wires
 * (masks and masked values alike), the constant c added where values are not masks. */
static fss_status affine(fss_eval *ev, const fss_tensor *a, uint64_t ca, const fss_tensor *b, uint64_t cb, uint64_t c,
                         int bits, fss_tensor *z)
{
    fss_status s = fss_tensor_init(z, a->ndim, a->shape, bits, 0);
    if (s != FSS_OK)
        return fss_ev_fail(ev, s, "cannot make a %d-bit tensor", bits);
    const uint64_t cc = ev->mode == FSS_MODE_DEALER ? 0 : c;
    FSS_EV_PARALLEL_FOR(ev, a->count)
    for (size_t i = 0; i < a->count; i++)
        z->v[i] = fss_ring_reduce(ca * a->v[i] + (b ? cb * b->v[i] : 0) + cc, bits);
    return FSS_OK;
}

/* z = x reduced to `bits` bits (a ring change that needs no key: x^ mod 2^b = x mod 2^b
 * + r mod 2^b), as an integer (scale 0): a table's index. */
static fss_status reduce_bits(fss_eval *ev, const fss_tensor *x, int bits, fss_tensor *z)
{
    return affine(ev, x, 1, NULL, 0, 0, bits, z);
}

/* |x| - t 2^sh (the step's part of a = |x|, at scale sh: [0, 1]) in K = M2 + sh bits from
 * the wires' values: 2^sh + 2 r - x + 2^sh (q - d (2 q + 1)), r = ReLU(x) (linear, the
 * 2^sh where values are not masks). */
static fss_status step_part(fss_eval *ev, const fss_tensor *x, const fss_tensor *r, const fss_tensor *q2,
                            const fss_tensor *du, int sh, int K, fss_tensor *e)
{
    fss_status s = fss_tensor_init(e, x->ndim, x->shape, K, sh);
    if (s != FSS_OK)
        return fss_ev_fail(ev, s, "cannot make a %d-bit tensor", K);
    const uint64_t step = ev->mode == FSS_MODE_DEALER ? 0 : (uint64_t)1 << sh;
    FSS_EV_PARALLEL_FOR(ev, x->count)
    for (size_t i = 0; i < x->count; i++)
        e->v[i] = fss_ring_reduce(step + 2 * r->v[i] - x->v[i] + ((q2->v[i] - du->v[i]) << sh), K);
    return FSS_OK;
}

static fss_status relu_minus_even(fss_eval *ev, const char *name, const fss_tensor *x, even_fn D, int R, fss_tensor *y)
{
    const int n = x->bits, f = x->scale, S = FSS_ACT_STEP_BITS, I = R + S, sh = f - S, M = FSS_ACT_SMALL_BITS;
    const int M2 = M > f + 2 ? M : f + 2, K = M2 + sh;
    if (sh < 1 || n <= K)
        return fss_ev_fail(ev, FSS_E_ARG, "%s: needs a scale above %d and more than %d bits (have %d, %d)", name, S,
                           K, f, n);
    const int64_t lim = (((int64_t)1 << (M - 1)) - ((int64_t)1 << I)) << sh; /* q +- 2^I within M bits */
    for (size_t i = 0; ev->mode == FSS_MODE_CLEAR && i < x->count; i++) {
        const int64_t v = fss_ring_to_signed(x->v[i], n);
        if (v >= lim || v <= -lim)
            return fss_ev_fail(ev, FSS_E_ARG, "%s: element %zu is %g, outside the +-%g it takes", name, i,
                               ldexp((double)v, -f), ldexp((double)lim, -f));
    }
    /* A[j] = D(j h) + 2/3 dm at scale f + sh with half of the last shift's unit, B[j] =
     * D((j + 1) h) - D(j h) at scale f: the chord, raised by its mean distance from D over
     * the step (Simpson: 2/3 of dm, D's distance from it at the midpoint), so that the
     * errors cancel on average instead of adding up over a row (the chord alone lies on
     * one side of D, concave near 0: +5e-4 on inputs of N(0, 1), which moved MiniLM's embeddings
     * more than the old table's larger but even error did). A + B e at scale f + sh lies in
     * [0, 2^(K-1)) for e in [0, 2^sh]. */
    const size_t size = (size_t)1 << I;
    uint64_t *table = (uint64_t *)fss_ev_alloc(ev, 2 * size * 8);
    if (!table)
        return FSS_E_NOMEM;
    for (size_t j = 0; j < size; j++) {
        const double d0 = D(ldexp((double)j, -S)), d1 = D(ldexp((double)j + 1, -S)),
                     dm = D(ldexp((double)j + 0.5, -S)) - (d0 + d1) / 2;
        const int64_t a = (int64_t)llrint(ldexp(d0 + 2 * dm / 3, f + sh)) + ((int64_t)1 << (sh - 1)),
                      b = (int64_t)llrint(ldexp(d1 - d0, f)), top = (int64_t)1 << (K - 1);
        FSS_ASSERT(a >= 0 && a < top && a + b * ((int64_t)1 << sh) >= 0 && a + b * ((int64_t)1 << sh) < top);
        table[j] = fss_ring_from_signed(a, K);
        table[size + j] = fss_ring_from_signed(b, K);
    }
    const uint64_t mone = ~(uint64_t)0, off[3] = {0, fss_ring_mask(M) & (0 - ((uint64_t)1 << I)), (uint64_t)1 << I};
    fss_tensor q = {0}, qm = {0}, q2 = {0}, d = {0}, g1 = {0}, g2 = {0}, b = {0}, u1 = {0}, du = {0}, ti = {0}, e = {0},
               A = {0}, B = {0}, P = {0}, Q = {0}, Dk = {0}, Dn = {0}, r = {0};
    fss_tensor *dd[3] = {&d, &g1, &g2};
    /* q = floor(x / 2^sh); d = 1{q >= 0} and b = 1{-2^I <= q < 2^I} from one comparison key
     * (each wire freed when its last use is past: 18 of them) */
    fss_status s = fss_gate_trunc_reduce(ev, x, sh, &q);
    if (s == FSS_OK && (s = reduce_bits(ev, &q, M, &qm)) == FSS_OK)
        s = reduce_bits(ev, &q, M2, &q2);
    fss_tensor_free(&q);
    if (s == FSS_OK && (s = fss_gate_drelu_at(ev, &qm, 3, off, dd)) == FSS_OK &&
        (s = fss_gate_add(ev, &g1, &g2, &b)) == FSS_OK)
        s = affine(ev, &q2, 2, NULL, 0, 1, M2, &u1); /* 2 q + 1, M2 bits */
    fss_tensor_free(&qm), fss_tensor_free(&g1), fss_tensor_free(&g2);
    if (s == FSS_OK) /* ReLU(x) and d (2 q + 1), one round */
        s = fss_gate_select2(ev, &d, x, &u1, &r, &du);
    fss_tensor_free(&u1), fss_tensor_free(&d);
    if (s == FSS_OK && (s = affine(ev, &q2, mone, &du, 1, mone, I, &ti)) == FSS_OK) /* (-1 - q) + d (2 q + 1) */
        s = step_part(ev, x, &r, &q2, &du, sh, K, &e);
    fss_tensor_free(&q2), fss_tensor_free(&du);
    if (s == FSS_OK && I <= FSS_ACT_LIN_BITS) { /* A + B e at scale f + sh (A's; B at f, e at sh) */
        s = fss_gate_lut_lin(ev, &ti, table, table + size, &e, f + sh, &Q);
    } else if (s == FSS_OK && (s = fss_gate_lut2(ev, &ti, table, table + size, K, 0, &A, &B)) == FSS_OK) {
        A.scale = f + sh; /* (the lookups' outputs are integers) */
        B.scale = f;
        if ((s = fss_gate_mul(ev, &B, &e, &P)) == FSS_OK)
            s = fss_gate_add(ev, &A, &P, &Q);
    }
    fss_tensor_free(&ti), fss_tensor_free(&e), fss_tensor_free(&A), fss_tensor_free(&B), fss_tensor_free(&P);
    if (s == FSS_OK)
        s = fss_gate_ars_nonneg(ev, &Q, sh, &Dk);
    fss_tensor_free(&Q);
    if (s == FSS_OK && (s = fss_gate_select_zext(ev, &b, &Dk, n, &Dn)) == FSS_OK)
        s = fss_gate_sub(ev, &r, &Dn, y);
    fss_tensor *all[] = {&b, &Dk, &Dn, &r};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        fss_tensor_free(all[i]);
    fss_free_wiped(table, 2 * size * 8);
    return s;
}

fss_status fss_gate_gelu(fss_eval *ev, const fss_tensor *x, fss_tensor *y)
{
    return relu_minus_even(ev, "gelu", x, gelu_d, FSS_GELU_RANGE_LOG2, y);
}

fss_status fss_gate_silu(fss_eval *ev, const fss_tensor *x, fss_tensor *y)
{
    return relu_minus_even(ev, "silu", x, silu_d, FSS_SILU_RANGE_LOG2, y);
}

/* ---- helpers -------------------------------------------------------------------------- */

/* Per row of cols elements: out[r] = sum (local: sums of masked values are the masked sum). */
static fss_status row_sums(fss_eval *ev, const fss_tensor *x, size_t cols, fss_tensor *out)
{
    const size_t rows = x->count / cols, shape[1] = {rows};
    fss_status s = fss_tensor_init(out, 1, shape, x->bits, x->scale);
    if (s != FSS_OK)
        return fss_ev_fail(ev, s, "cannot make the row sums");
    for (size_t r = 0; r < rows; r++) {
        uint64_t acc = 0;
        for (size_t c = 0; c < cols; c++)
            acc += x->v[r * cols + c];
        out->v[r] = fss_ring_reduce(acc, x->bits);
    }
    return FSS_OK;
}

/* out[r][c] = a[r] (op) x[r][c] for a row vector a: op 0 a - x, 1 a copied (x gives the
 * shape). Linear: masks and masked values alike. */
static fss_status row_broadcast(fss_eval *ev, const fss_tensor *a, const fss_tensor *x, size_t cols, int copy,
                                fss_tensor *out)
{
    fss_status s = fss_tensor_init(out, x->ndim, x->shape, x->bits, copy ? a->scale : x->scale);
    if (s != FSS_OK)
        return fss_ev_fail(ev, s, "cannot make a broadcast");
    for (size_t i = 0; i < x->count; i++)
        out->v[i] = copy ? a->v[i / cols] : fss_ring_sub(a->v[i / cols], x->v[i], x->bits);
    return FSS_OK;
}

/* A table of 2^bits entries fn(i) at scale f in an n-bit ring. */
static uint64_t *make_table(fss_eval *ev, int bits, double (*fn)(size_t, const void *), const void *arg, int f, int n)
{
    const size_t size = (size_t)1 << bits;
    uint64_t *t = (uint64_t *)fss_ev_alloc(ev, size * 8);
    for (size_t i = 0; t && i < size; i++)
        t[i] = fss_ring_from_signed((int64_t)llrint(ldexp(fn(i, arg), f)), n);
    return t;
}

/* ---- nExp ------------------------------------------------------------------------------
 * e^-x for x >= 0 at scale f >= 12 (Sigma): t = floor(x 2^12) clipped to 16 bits
 * (e^-16 = 1.1e-7 is 0 at any scale we use), e^-x = e^-(t_hi / 16) e^-(t_lo / 4096) with
 * t_hi, t_lo its two bytes: two 8-bit tables (one round: fss_gate_luts), one product.
 * Five rounds at f = 12, the clip a relu_tag at the end; where lean, six (the clip's DReLU
 * and a select at the end: fewer key bytes). The lean clip compares h = floor(t / 2^8)
 * (t_hi's shift, which the tables need anyway) with 256: h < 2^19, so in 20 bits, not t's
 * 28 (a comparison key of 212 bytes, not 340; the same bit, t < 2^16). */
static double exp_hi(size_t i, const void *arg) { return (void)arg, exp(-(double)i / 16.0); }
static double exp_lo(size_t i, const void *arg) { return (void)arg, exp(-(double)i / 4096.0); }

fss_status fss_gate_nexp(fss_eval *ev, const fss_tensor *x, fss_tensor *y)
{
    const int n = x->bits, f = x->scale;
    if (f < 12 || n < 2 * f + 2 || n < f + 16 || n < 28)
        return fss_ev_fail(ev, FSS_E_ARG, "nexp: needs a scale of at least 12 and max(2 f + 2, f + 16, 28) bits (have "
                                          "%d, %d)", f, n);
    uint64_t *thi = make_table(ev, 8, exp_hi, NULL, f, n), *tlo = make_table(ev, 8, exp_lo, NULL, f, n);
    const uint64_t top = 0xffff, htop = 0xff;
    fss_tensor t = {0}, h20 = {0}, nt = {0}, c = {0}, b = {0}, h = {0}, hi = {0}, lo = {0}, A = {0}, B = {0}, y0 = {0};
    fss_status s = thi && tlo ? FSS_OK : FSS_E_NOMEM;
    for (size_t i = 0; s == FSS_OK && ev->mode == FSS_MODE_CLEAR && i < x->count; i++)
        if (x->v[i] >= ((uint64_t)1 << (f + 15)))
            s = fss_ev_fail(ev, FSS_E_ARG, "nexp: element %zu is %g, outside [0, 32768) or negative", i,
                            ldexp((double)fss_ring_to_signed(x->v[i], n), -f));
    if (s == FSS_OK)
        s = fss_gate_ars_nonneg(ev, x, f - 12, &t); /* floor(x 2^12) */
    /* the clip x < 16, that is t < 2^16 (t < 2^27 for x < 2^15). Lean: 255 - h >= 0 for h =
     * floor(t / 2^8) < 2^19, a DReLU in 20 bits, a select at the end; else one relu_tag at
     * the end (2^16 - 1 - t, its sign from 28 bits) */
    const int lean = fss_ev_lean(ev, x->count);
    if (s == FSS_OK)
        s = fss_gate_trunc_reduce(ev, &t, 8, &h);
    if (s == FSS_OK && lean && (s = reduce_bits(ev, &h, 20, &h20)) == FSS_OK &&
        (s = fss_gate_scale(ev, &h20, fss_ring_mask(20), &nt)) == FSS_OK &&
        (s = fss_gate_add_const(ev, &nt, &htop, 1, &c)) == FSS_OK)
        s = fss_gate_drelu(ev, &c, &b);
    /* both tables in one round */
    if (s == FSS_OK && (s = reduce_bits(ev, &h, 8, &hi)) == FSS_OK && (s = reduce_bits(ev, &t, 8, &lo)) == FSS_OK) {
        const fss_tensor *idx[2] = {&hi, &lo};
        const uint64_t *tabs[2] = {thi, tlo};
        fss_tensor *ab[2] = {&A, &B};
        s = fss_gate_luts(ev, 2, idx, tabs, n, f, ab);
    }
    if (s == FSS_OK)
        s = fss_gate_mul_shift(ev, &A, &B, f, &y0);
    if (s == FSS_OK && lean)
        s = fss_gate_select(ev, &b, &y0, y);
    else if (s == FSS_OK && (s = fss_gate_scale(ev, &t, fss_ring_mask(n), &nt)) == FSS_OK &&
             (s = fss_gate_add_const(ev, &nt, &top, 1, &c)) == FSS_OK) {
        fss_tensor d = {0};
        s = fss_gate_relu_tag(ev, &c, 28, &y0, &d, y); /* |c| < 2^27: its sign from 28 bits */
        fss_tensor_free(&d);
    }
    fss_tensor *all[] = {&t, &h20, &nt, &c, &b, &h, &hi, &lo, &A, &B, &y0};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        fss_tensor_free(all[i]);
    free(thi);
    free(tlo);
    if (s == FSS_OK)
        y->scale = f;
    return s;
}

/* ---- reciprocal ------------------------------------------------------------------------
 * 1/x for x in [1, 2^k) at scale f: a table at the midpoints of steps of 2^-q (q = min(6,
 * 16 - k) fractional bits of x, k + q index bits: relative error at most 2^-(q+1)), then
 * one Newton step y (2 - x y), which squares the relative error. */
typedef struct recip_arg {
    int q;
} recip_arg;

static double recip_entry(size_t i, const void *arg)
{
    const int q = ((const recip_arg *)arg)->q;
    const double mid = ((double)i + 0.5) / ldexp(1.0, q);
    return mid < 1 ? 1 : 1 / mid; /* indices under 1 do not occur */
}

fss_status fss_gate_reciprocal(fss_eval *ev, const fss_tensor *x, int k, fss_tensor *y)
{
    const int n = x->bits, f = x->scale, q = 16 - k < 6 ? 16 - k : 6;
    if (k < 1 || q < 1 || f < q || n < 2 * f + k + 2)
        return fss_ev_fail(ev, FSS_E_ARG, "reciprocal: x in [1, 2^%d) at scale %d needs k <= 15, f >= %d and %d bits",
                           k, f, q, 2 * f + k + 2);
    const recip_arg arg = {q};
    uint64_t *table = make_table(ev, k + q, recip_entry, &arg, f, n);
    const uint64_t two = (uint64_t)2 << f;
    fss_tensor t = {0}, ti = {0}, y0 = {0}, e = {0}, ne = {0}, d = {0};
    fss_status s = table ? FSS_OK : FSS_E_NOMEM;
    if (s == FSS_OK && (s = fss_gate_ars_nonneg(ev, x, f - q, &t)) == FSS_OK && (s = reduce_bits(ev, &t, k + q, &ti)) == FSS_OK)
        s = fss_gate_lut(ev, &ti, table, n, f, &y0);
    if (s == FSS_OK && (s = fss_gate_mul_shift(ev, x, &y0, f, &e)) == FSS_OK && /* x y0, near 1 */
        (s = fss_gate_scale(ev, &e, fss_ring_mask(n), &ne)) == FSS_OK && (s = fss_gate_add_const(ev, &ne, &two, 1, &d)) == FSS_OK)
        s = fss_gate_mul_shift(ev, &y0, &d, f, y); /* y0 (2 - x y0) */
    fss_tensor *all[] = {&t, &ti, &y0, &e, &ne, &d};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        fss_tensor_free(all[i]);
    free(table);
    return s;
}

/* ---- softmax ---------------------------------------------------------------------------
 * Over the last axis: the row's max by a tree of max(a, b) = b + ReLU(a - b) (a round a
 * level by fss_gate_relu_tag; two, a DReLU and a select, where the level is lean), then
 * nExp(max - x), the row's sum (at least 1: the max's own term), its reciprocal, and the
 * product. Inputs lie within +-4096, so every difference the max compares lies within
 * +-8192 = 2^13 and its sign comes from a DReLU in f + 14 bits (f + 15 before 2026-12-07,
 * when the max compared the causal mask's -8192 too). With causal, column c of
 * row r (r counted within the last two axes) takes part only when c <= r (and, with a
 * window, r - c < window): the gates run on those entries alone, packed row after row,
 * and the others' outputs are the public 0 (a wire with mask 0). Until 2026-12-07 they
 * took part as the public value -8192, which nExp's clip sends to exactly 0: the same
 * output, for about half the causal softmax's keys and work. A row with no such column
 * (more rows than columns, under a window) still takes all of them as -8192: uniform. */
static fss_status softmax(fss_eval *ev, const fss_tensor *x, int causal, size_t window, int shift, fss_tensor *y);

fss_status fss_gate_softmax(fss_eval *ev, const fss_tensor *x, int causal, fss_tensor *y)
{
    return softmax(ev, x, causal, 0, 0, y);
}

fss_status fss_gate_softmax_local(fss_eval *ev, const fss_tensor *x, size_t window, fss_tensor *y)
{
    if (!window)
        return fss_ev_fail(ev, FSS_E_ARG, "softmax: a local window of at least one column");
    return softmax(ev, x, 1, window, 0, y);
}

fss_status fss_gate_softmax_shifted(fss_eval *ev, const fss_tensor *x, int shift, size_t window, fss_tensor *y)
{
    if (shift < 1 || shift >= x->scale || x->bits < x->scale + 16) /* (the shift's range holds -8192 too) */
        return fss_ev_fail(ev, FSS_E_ARG, "softmax: a shift of 1 to the scale less 1 (%d), not %d, and %d bits (have "
                                          "%d)", x->scale - 1, shift, x->scale + 16, x->bits);
    return softmax(ev, x, 1, window, shift, y);
}

/* Row i's entries that take part: its columns [lo[i], lo[i] + len[i]), packed at off[i]
 * (all of them where there is no causal mask); w[i] the max tree's width. */
typedef struct sm_rows {
    size_t *off, *lo, *len, *w;
    size_t total;
} sm_rows;

static fss_status sm_rows_make(fss_eval *ev, size_t nrows, size_t rows, size_t cols, int causal, size_t window,
                               sm_rows *R)
{
    R->off = (size_t *)fss_ev_alloc(ev, 4 * (nrows ? nrows : 1) * sizeof *R->off);
    if (!R->off)
        return FSS_E_NOMEM;
    R->lo = R->off + nrows, R->len = R->lo + nrows, R->w = R->len + nrows;
    R->total = 0;
    for (size_t i = 0; i < nrows; i++) {
        const size_t r = i % rows;
        size_t lo = 0, hi = cols - 1;
        if (causal) {
            hi = r < cols - 1 ? r : cols - 1;
            lo = window && r + 1 > window ? r + 1 - window : 0;
        }
        if (lo > hi) /* none: all of them, as -8192 (sm_gather) */
            lo = 0, hi = cols - 1;
        R->off[i] = R->total, R->lo[i] = lo, R->len[i] = R->w[i] = hi - lo + 1;
        R->total += R->len[i];
    }
    return FSS_OK;
}

/* Whether column c of row r takes part. */
static int sm_kept(size_t r, size_t c, int causal, size_t window)
{
    return !causal || (c <= r && (!window || r - c < window));
}

/* x's entries that take part, packed (a row of none: the public -8192 for each column). */
static void sm_gather(const fss_eval *ev, const fss_tensor *x, size_t rows, size_t cols, int causal, size_t window,
                      const sm_rows *R, size_t nrows, uint64_t *out)
{
    const uint64_t low = ev->mode == FSS_MODE_DEALER ? 0 : fss_ring_from_signed(-((int64_t)1 << (x->scale + 13)), x->bits);
    for (size_t i = 0; i < nrows; i++) {
        const size_t r = i % rows;
        for (size_t j = 0; j < R->len[i]; j++) {
            const size_t c = R->lo[i] + j;
            out[R->off[i] + j] = sm_kept(r, c, causal, window) ? x->v[i * cols + c] : low;
        }
    }
}

static fss_status softmax(fss_eval *ev, const fss_tensor *x, int causal, size_t window, int shift, fss_tensor *y)
{
    const int n = x->bits, f = x->scale - shift;
    const size_t cols = x->ndim ? x->shape[x->ndim - 1] : 0, rows = x->ndim >= 2 ? x->shape[x->ndim - 2] : 1;
    if (!cols || cols >= ((size_t)1 << 15) || n < 2 * f + 17)
        return fss_ev_fail(ev, FSS_E_ARG, "softmax: rows of 1 to 2^15 - 1 and %d bits needed (have %zu, %d)", 2 * f + 17,
                           cols, n);
    int k = 1;
    while (((size_t)1 << k) <= cols)
        k++; /* the sum lies in [1, cols] < 2^k */
    const size_t nrows = x->count / cols;
    sm_rows R = {0};
    fss_tensor cur = {0}, in = {0}, m = {0}, d = {0}, e = {0}, sum = {0}, r = {0}, rb = {0}, yp = {0};
    fss_status s = sm_rows_make(ev, nrows, rows, cols, causal, window, &R);
    const size_t ps[1] = {R.total}, rs[1] = {nrows};
    if (s == FSS_OK && (s = fss_tensor_init(&in, 1, ps, n, x->scale)) == FSS_OK)
        sm_gather(ev, x, rows, cols, causal, window, &R, nrows, in.v);
    if (s == FSS_OK && shift) { /* floor(x / 2^shift), of the entries that take part */
        fss_tensor t = {0};
        if ((s = fss_gate_ars_bounded(ev, &in, shift, &t)) == FSS_OK) {
            fss_tensor_free(&in);
            in = t;
        }
    }
    for (size_t i = 0; s == FSS_OK && ev->mode == FSS_MODE_CLEAR && i < nrows; i++)
        for (size_t j = 0; s == FSS_OK && j < R.len[i]; j++) {
            const int64_t v = fss_ring_to_signed(in.v[R.off[i] + j], n);
            if (sm_kept(i % rows, R.lo[i] + j, causal, window) &&
                (v >= ((int64_t)1 << (f + 12)) || v <= -((int64_t)1 << (f + 12))))
                s = fss_ev_fail(ev, FSS_E_ARG, "softmax: element %zu is %g, outside the +-4096 it takes",
                                i * cols + R.lo[i] + j, ldexp((double)v, -f));
        }
    if (s == FSS_OK && (s = fss_tensor_init(&cur, 1, ps, n, f)) == FSS_OK)
        memcpy(cur.v, in.v, R.total * 8);
    /* the max, a tree over each row: pairs (2i, 2i + 1) of its width, an odd one carried */
    for (;;) {
        size_t pairs = 0;
        for (size_t i = 0; s == FSS_OK && i < nrows; i++)
            pairs += R.w[i] / 2;
        if (s != FSS_OK || !pairs)
            break;
        const size_t shp[1] = {pairs};
        fss_tensor a = {0}, b = {0}, dif = {0}, rl = {0};
        if ((s = fss_tensor_init(&a, 1, shp, n, f)) == FSS_OK && (s = fss_tensor_init(&b, 1, shp, n, f)) == FSS_OK)
            for (size_t i = 0, at = 0; i < nrows; at += R.w[i] / 2, i++)
                for (size_t j = 0; j < R.w[i] / 2; j++) {
                    a.v[at + j] = cur.v[R.off[i] + 2 * j];
                    b.v[at + j] = cur.v[R.off[i] + 2 * j + 1];
                }
        /* ReLU(a - b), its sign from a - b's low f + 14 bits (|a - b| < 2^13): in one round,
         * or where lean, a small DReLU and the select at full width (half the key bytes) */
        fss_tensor dm = {0}, dd = {0};
        if (s == FSS_OK && (s = fss_gate_sub(ev, &a, &b, &dif)) == FSS_OK && !fss_ev_lean(ev, dif.count))
            s = fss_gate_relu_tag(ev, &dif, f + 14, NULL, &rl, NULL);
        else if (s == FSS_OK && (s = reduce_bits(ev, &dif, f + 14, &dm)) == FSS_OK &&
                 (s = fss_gate_drelu(ev, &dm, &dd)) == FSS_OK)
            s = fss_gate_select(ev, &dd, &dif, &rl);
        fss_tensor_free(&dm), fss_tensor_free(&dd);
        for (size_t i = 0, at = 0; s == FSS_OK && i < nrows; i++) { /* max(a, b) = b + ReLU(a - b), the odd one */
            const size_t w = R.w[i], half = w / 2;
            for (size_t j = 0; j < half; j++)
                cur.v[R.off[i] + j] = fss_ring_add(b.v[at + j], rl.v[at + j], n);
            if (w % 2)
                cur.v[R.off[i] + half] = cur.v[R.off[i] + w - 1];
            R.w[i] = w - half;
            at += half;
        }
        fss_tensor_free(&a), fss_tensor_free(&b), fss_tensor_free(&dif), fss_tensor_free(&rl);
    }
    /* nExp(max - x) >= 0, the row's sum (local: sums of masked values are the masked sum),
     * its reciprocal and the products */
    if (s == FSS_OK && (s = fss_tensor_init(&m, 1, rs, n, f)) == FSS_OK &&
        (s = fss_tensor_init(&d, 1, ps, n, f)) == FSS_OK) {
        for (size_t i = 0; i < nrows; i++) {
            m.v[i] = cur.v[R.off[i]];
            for (size_t j = 0; j < R.len[i]; j++)
                d.v[R.off[i] + j] = fss_ring_sub(m.v[i], in.v[R.off[i] + j], n);
        }
    }
    if (s == FSS_OK && (s = fss_gate_nexp(ev, &d, &e)) == FSS_OK &&
        (s = fss_tensor_init(&sum, 1, rs, e.bits, e.scale)) == FSS_OK)
        for (size_t i = 0; i < nrows; i++) {
            uint64_t acc = 0;
            for (size_t j = 0; j < R.len[i]; j++)
                acc += e.v[R.off[i] + j];
            sum.v[i] = fss_ring_reduce(acc, e.bits);
        }
    if (s == FSS_OK && (s = fss_gate_reciprocal(ev, &sum, k, &r)) == FSS_OK &&
        (s = fss_tensor_init(&rb, 1, ps, r.bits, r.scale)) == FSS_OK) {
        for (size_t i = 0; i < nrows; i++)
            for (size_t j = 0; j < R.len[i]; j++)
                rb.v[R.off[i] + j] = r.v[i];
    }
    if (s == FSS_OK && (s = fss_gate_mul_shift(ev, &e, &rb, f, &yp)) == FSS_OK) {
        if ((s = fss_tensor_init(y, x->ndim, x->shape, yp.bits, yp.scale)) != FSS_OK)
            s = fss_ev_fail(ev, s, "softmax: cannot make the output");
        for (size_t i = 0; s == FSS_OK && i < nrows; i++) /* the rest: 0 */
            memcpy(y->v + i * cols + R.lo[i], yp.v + R.off[i], R.len[i] * 8);
    }
    fss_tensor *all[] = {&cur, &in, &m, &d, &e, &sum, &r, &rb, &yp};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        fss_tensor_free(all[i]);
    free(R.off);
    return s;
}

/* ---- rotary position embedding ---------------------------------------------------------
 * Hugging Face's layout (rotate_half): for a head of d values at position p,
 *   y_i = x_i cos(p w_i) - x_{i+d/2} sin(p w_i)        (i < d/2)
 *   y_i = x_i cos(p w_i) + x_{i-d/2} sin(p w_i)        (i >= d/2),   w_i = base^(-2 (i mod d/2) / d)
 * linear in x with public coefficients at scale f: local products, then one arithmetic
 * shift back to x's scale. */
void fss_rotary_cos_sin(size_t pos, size_t d, double base, int f, int n, uint64_t *cs)
{
    for (size_t i = 0; i < d / 2; i++) { /* at scale f, ring elements */
        const double a = (double)pos * pow(base, -2.0 * (double)i / (double)d);
        cs[i] = fss_ring_from_signed((int64_t)llrint(ldexp(cos(a), f)), n);
        cs[d / 2 + i] = fss_ring_from_signed((int64_t)llrint(ldexp(sin(a), f)), n);
    }
}

fss_status fss_gate_rotary(fss_eval *ev, const fss_tensor *x, size_t pos0, double base, fss_tensor *y)
{
    const int n = x->bits, f = x->scale;
    const size_t d = x->ndim >= 2 ? x->shape[x->ndim - 1] : 0, seq = d ? x->shape[x->ndim - 2] : 0;
    if (!d || d % 2 || !(base > 1) || f < 1 || n < 2 * f + 2)
        return fss_ev_fail(ev, FSS_E_ARG, "rotary: needs [..][seq][d] with an even d, a base above 1, f >= 1 and "
                                          "2 f + 2 bits");
    const size_t h = d / 2;
    fss_tensor t = {0};
    fss_status s = fss_tensor_init(&t, x->ndim, x->shape, n, 2 * f);
    if (s != FSS_OK)
        return fss_ev_fail(ev, s, "rotary: cannot make a tensor");
    uint64_t *cs = (uint64_t *)fss_ev_alloc(ev, seq * d * 8);
    if (!cs) {
        fss_tensor_free(&t);
        return FSS_E_NOMEM;
    }
    for (size_t p = 0; p < seq; p++)
        fss_rotary_cos_sin(pos0 + p, d, base, f, n, cs + p * d);
    for (size_t e = 0; e < x->count; e++) {
        const size_t i = e % d, p = e / d % seq, j = i % h, other = i < h ? e + h : e - h;
        const uint64_t c = cs[p * d + j], sn = cs[p * d + h + j];
        const uint64_t rot = i < h ? 0 - x->v[other] : x->v[other];
        t.v[e] = fss_ring_reduce(x->v[e] * c + rot * sn, n);
    }
    free(cs);
    s = fss_gate_ars_bounded(ev, &t, f, y);
    fss_tensor_free(&t);
    return s;
}

/* The same at positions that are a party's secret: cs [R][dh] are wires of cos then sin
 * (fss_rotary_cos_sin's values, at x's scale), row r's for each head of x's row r. The
 * products that fss_gate_rotary makes locally become secret ones, x and its rotated copy
 * times cs broadcast in one fss_gate_mul, then the same shift: the same bits. */
fss_status fss_gate_rotary_at(fss_eval *ev, const fss_tensor *x, const fss_tensor *cs, fss_tensor *y)
{
    const int n = x->bits, f = x->scale;
    const size_t R = x->ndim == 2 ? x->shape[0] : 0, dh = cs->ndim == 2 ? cs->shape[1] : 0;
    if (!R || !dh || dh % 2 || cs->shape[0] != R || x->shape[1] % dh || cs->bits != n || cs->scale != f || f < 1 ||
        n < 2 * f + 2)
        return fss_ev_fail(ev, FSS_E_ARG, "rotary_at: needs x [R][heads dh], cos and sin [R][dh] (dh even) at x's "
                                          "ring and scale f >= 1, and 2 f + 2 bits");
    const size_t h = dh / 2, cnt = x->count, cols = x->shape[1], shp[1] = {2 * cnt};
    fss_tensor a = {0}, c = {0}, p = {0}, t = {0};
    fss_status s = fss_tensor_init(&a, 1, shp, n, f);
    if (s == FSS_OK)
        s = fss_tensor_init(&c, 1, shp, n, f);
    if (s == FSS_OK)
        s = fss_tensor_init(&t, x->ndim, x->shape, n, 2 * f);
    if (s != FSS_OK) {
        fss_ev_fail(ev, s, "rotary_at: cannot make a tensor");
        goto done;
    }
    for (size_t e = 0; e < cnt; e++) { /* wires: x, x rotated (a negation is local), cos, sin */
        const size_t r = e / cols, i = e % dh, j = i % h;
        a.v[e] = x->v[e];
        a.v[cnt + e] = i < h ? fss_ring_reduce(0 - x->v[e + h], n) : x->v[e - h];
        c.v[e] = cs->v[r * dh + j];
        c.v[cnt + e] = cs->v[r * dh + h + j];
    }
    if ((s = fss_gate_mul(ev, &a, &c, &p)) == FSS_OK) {
        for (size_t e = 0; e < cnt; e++)
            t.v[e] = fss_ring_add(p.v[e], p.v[cnt + e], n);
        s = fss_gate_ars_bounded(ev, &t, f, y);
    }
done:
    fss_tensor_free(&a), fss_tensor_free(&c), fss_tensor_free(&p), fss_tensor_free(&t);
    return s;
}

/* ---- argmax ----------------------------------------------------------------------------
 * Over the last axis, a tree: at each level, pairs (a, b) with indices (ia, ib) give
 * d = 1{a - b >= 0}, then max = b + d (a - b) and index = ib + d (ia - ib), both from one
 * relu_tag of a - b tagged with ia - ib: a round a level, its sign from the low c = min(n,
 * f + 26) bits (values within +-2^(c-2): +-2^24 at x's scale where the ring is wider; the
 * clear walk refuses others). A lean level (fss_eval_
 * set_lean_shifts) takes two rounds for fewer key bytes: d by a DReLU, then one select of
 * the stacked differences. Indices start as public values (masks 0). */
/* An argmax level's lean form: d = DReLU(dif), then one select of [dif; did] by [d; d]
 * gives d dif and d did. */
static fss_status lean_pair(fss_eval *ev, const fss_tensor *dif, const fss_tensor *did, fss_tensor *rv,
                            fss_tensor *ri)
{
    const size_t m = dif->count, two[1] = {2 * m};
    fss_tensor d = {0}, dd = {0}, st = {0}, sel = {0};
    fss_status s = fss_tensor_init(&st, 1, two, dif->bits, 0);
    if (s == FSS_OK) {
        memcpy(st.v, dif->v, m * 8);
        memcpy(st.v + m, did->v, m * 8);
    }
    if (s == FSS_OK && (s = fss_gate_drelu(ev, dif, &d)) == FSS_OK && (s = fss_tensor_init(&dd, 1, two, 1, 0)) == FSS_OK) {
        memcpy(dd.v, d.v, m * 8); /* the same bit (and mask) for the value and the index */
        memcpy(dd.v + m, d.v, m * 8);
        s = fss_gate_select(ev, &dd, &st, &sel);
    }
    if (s == FSS_OK && (s = fss_tensor_init(rv, 1, dif->shape, dif->bits, dif->scale)) == FSS_OK &&
        (s = fss_tensor_init(ri, 1, dif->shape, dif->bits, 0)) == FSS_OK) {
        memcpy(rv->v, sel.v, m * 8);
        memcpy(ri->v, sel.v + m, m * 8);
    }
    fss_tensor_free(&d), fss_tensor_free(&dd), fss_tensor_free(&st), fss_tensor_free(&sel);
    return s;
}

fss_status fss_gate_argmax(fss_eval *ev, const fss_tensor *x, fss_tensor *idx)
{
    const int n = x->bits;
    const size_t cols = x->ndim ? x->shape[x->ndim - 1] : 0, rows = cols ? x->count / cols : 0;
    if (!cols || n < 3)
        return fss_ev_fail(ev, FSS_E_ARG, "argmax: needs a last axis and 3 bits");
    const int c = n < x->scale + 26 ? n : x->scale + 26; /* the levels' sign bits: differences within 2^(c-1) */
    for (size_t i = 0; ev->mode == FSS_MODE_CLEAR && i < x->count; i++) { /* no difference wraps either */
        const int64_t e = fss_ring_to_signed(x->v[i], n), lim = (int64_t)1 << (c - 2);
        if (e >= lim || e <= -lim)
            return fss_ev_fail(ev, FSS_E_ARG, "argmax: element %zu is %g, outside the +-%g it takes", i,
                               ldexp((double)e, -x->scale), ldexp((double)lim, -x->scale));
    }
    fss_tensor v = {0}, ix = {0};
    size_t flat[1] = {x->count};
    fss_status s = fss_tensor_init(&v, 1, flat, n, x->scale);
    if (s == FSS_OK && (s = fss_tensor_init(&ix, 1, flat, n, 0)) == FSS_OK) {
        memcpy(v.v, x->v, x->count * 8);
        for (size_t e = 0; e < x->count; e++)
            ix.v[e] = ev->mode == FSS_MODE_DEALER ? 0 : e % cols; /* public: mask 0 */
    }
    size_t width = cols;
    while (s == FSS_OK && width > 1) {
        const size_t half = width / 2, m = rows * half, one[1] = {m};
        fss_tensor dif = {0}, did = {0}, rv = {0}, ri = {0};
        if ((s = fss_tensor_init(&dif, 1, one, n, x->scale)) == FSS_OK && (s = fss_tensor_init(&did, 1, one, n, 0)) == FSS_OK) {
            for (size_t r = 0; r < rows; r++)
                for (size_t i = 0; i < half; i++) {
                    const size_t a = r * cols + 2 * i, b = a + 1, o = r * half + i;
                    dif.v[o] = fss_ring_sub(v.v[a], v.v[b], n);
                    did.v[o] = fss_ring_sub(ix.v[a], ix.v[b], n);
                }
        }
        if (s == FSS_OK && !fss_ev_lean(ev, m))
            s = fss_gate_relu_tag(ev, &dif, c, &did, &rv, &ri);
        else if (s == FSS_OK)
            s = lean_pair(ev, &dif, &did, &rv, &ri);
        if (s == FSS_OK)
            for (size_t r = 0; r < rows; r++) {
                for (size_t i = 0; i < half; i++) {
                    const size_t b = r * cols + 2 * i + 1, o = r * half + i, to = r * cols + i;
                    const uint64_t vb = v.v[b], ib = ix.v[b];
                    v.v[to] = fss_ring_add(vb, rv.v[o], n);
                    ix.v[to] = fss_ring_add(ib, ri.v[o], n);
                }
                if (width % 2) { /* the odd one moves up unchanged */
                    v.v[r * cols + half] = v.v[r * cols + width - 1];
                    ix.v[r * cols + half] = ix.v[r * cols + width - 1];
                }
            }
        fss_tensor_free(&dif), fss_tensor_free(&did), fss_tensor_free(&rv), fss_tensor_free(&ri);
        width -= half;
    }
    if (s == FSS_OK) {
        const int nd = x->ndim > 1 ? x->ndim - 1 : 1;
        size_t shp[4] = {rows, 0, 0, 0};
        for (int i = 0; i + 1 < x->ndim; i++)
            shp[i] = x->shape[i];
        if ((s = fss_tensor_init(idx, nd, shp, n, 0)) == FSS_OK)
            for (size_t r = 0; r < rows; r++)
                idx->v[r] = ix.v[r * cols];
    }
    fss_tensor_free(&v);
    fss_tensor_free(&ix);
    return s;
}

/* ---- LayerNorm and RMSNorm -------------------------------------------------------------
 * Both scale a row by 1/sqrt(v) (v its variance, or mean square, plus eps) without a
 * secret shift. The squares stay at scale 2f (a row of spread 0.05 keeps its variance's
 * digits) and their sum is divided by 2^p >= d only: W = sum / 2^p = v d / 2^p, the public
 * factor sqrt(d / 2^p) going into the constants below. With W an integer at scale 2f in
 * [1, 2^L), L = 2f + K,
 *   - its octave o (2^o <= V < 2^(o+1)) as a one-hot from one DReLU of V - 2^j for all j
 *     (a thermometer; neighbours XOR to the one-hot);
 *   - by selects of public constants: P = 2^(L-1-o) and o 2^10;
 *   - the mantissa M = V P in [2^(L-1), 2^L) (an integer product); its 10 bits below the
 *     leading one and o index one table of 2^16 entries (L < 64 octaves of 2^10): the
 *     row's factor S g(m), S = 2^f sqrt(d / 2^p) 2^(-o/2) and g(m) = 1/sqrt(m), m in [1, 2)
 *     at the midpoints of its steps, at scale NORM_F;
 *   - then 1/sqrt(v) = S g(m), applied to the row as c (S g). */
static int ceil_log2(size_t d)
{
    int p = 0;
    while (((size_t)1 << p) < d)
        p++;
    return p;
}

#define NORM_F 20      /* the row factor S g's scale */
#define NORM_MANT 10   /* mantissa bits of the table's index */

/* The variance's range: v < 2^K, as much as the sum of d squares at scale 2f leaves in the
 * ring (K >= 12 where n >= 2 f + 26 and d <= 8192), at most 30. */
static int norm_k(int n, int f, size_t d)
{
    const int k = n - 1 - 2 * f - ceil_log2(d);
    return k < 30 ? k : 30;
}

/* The octave o's place in the table's index: o 2^NORM_MANT (the mantissa's 2^NORM_MANT
 * adds one more block: octave o's entries are block o + 1's). */
static uint64_t octave_block(size_t o, const void *p) { return (void)p, (uint64_t)o << NORM_MANT; }

static fss_status scale_by_rsqrt(fss_eval *ev, const fss_tensor *c, const fss_tensor *v, size_t d, fss_tensor *y)
{
    const int n = c->bits, f = c->scale, NORM_K = norm_k(n, f, d), L = 2 * f + NORM_K, I = 16;
    const double fold = sqrt((double)d / ldexp(1.0, ceil_log2(d)));
    const size_t rows = v->count, size = (size_t)1 << I, blocks = size >> NORM_MANT;
    if ((size_t)L >= blocks) /* n - 1 - ceil log2 d bounds L: under 64 blocks */
        return fss_ev_fail(ev, FSS_E_ARG, "norm: %d octaves do not fit a %d-bit table", L, I);
    for (size_t r = 0; ev->mode == FSS_MODE_CLEAR && r < rows; r++)
        if (v->v[r] >> L) /* also a negative one, as a ring element */
            return fss_ev_fail(ev, FSS_E_ARG, "norm: row %zu's variance (or mean square) is %g, not under 2^%d", r,
                               ldexp((double)fss_ring_to_signed(v->v[r], n), -2 * f) * ldexp(1.0, ceil_log2(d)) / (double)d,
                               NORM_K);
    fss_tensor e = {0}, t = {0}, ti = {0}, gb = {0}, Sb = {0}, cs = {0};
    uint64_t *table = NULL;
    /* the mantissa t = V 2^(L-1-o) shifted to NORM_MANT bits below its leading one, and o 2^NORM_MANT */
    fss_status s = fss_ev_octave(ev, v, L, NORM_MANT, octave_block, NULL, &t, &e);
    if (s == FSS_OK && (s = fss_tensor_init(&ti, 1, v->shape, I, 0)) == FSS_OK)
        for (size_t r = 0; r < rows; r++) /* (o + 1) 2^NORM_MANT + the mantissa's bits: wires add */
            ti.v[r] = fss_ring_reduce(e.v[r] + t.v[r], I);
    if (s == FSS_OK && !(table = (uint64_t *)fss_ev_alloc(ev, size * 8)))
        s = FSS_E_NOMEM;
    /* block o + 1, entry j: S g = 2^f fold 2^(-o/2) / sqrt(1 + (j + 1/2) / 2^NORM_MANT) at scale
     * NORM_F: 1/sqrt(v) for V in octave o, its mantissa in step j (W at scale 2f: the 2^f);
     * a block's factor and a step's 1/sqrt once each (the table is made at every norm) */
    const size_t steps = (size_t)1 << NORM_MANT;
    double g[(size_t)1 << NORM_MANT];
    for (size_t j = 0; j < steps; j++)
        g[j] = 1 / sqrt(1 + ((double)j + 0.5) / (double)steps);
    for (size_t b = 0; s == FSS_OK && b < blocks; b++) {
        const double S = b == 0 || b > (size_t)L ? 0 : ldexp(fold * pow(2.0, -(double)(b - 1) / 2), f + NORM_F);
        for (size_t j = 0; j < steps; j++)
            table[b * steps + j] = fss_ring_from_signed((int64_t)llrint(S * g[j]), n);
    }
    /* the row's factor S g from one table, then c (S g): one product and one shift an element */
    if (s == FSS_OK && (s = fss_gate_lut(ev, &ti, table, n, NORM_F, &gb)) == FSS_OK &&
        (s = row_broadcast(ev, &gb, c, d, 1, &Sb)) == FSS_OK && (s = fss_gate_mul(ev, c, &Sb, &cs)) == FSS_OK)
        s = fss_gate_ars_bounded(ev, &cs, NORM_F, y);
    fss_tensor *all[] = {&e, &t, &ti, &gb, &Sb, &cs};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        fss_tensor_free(all[i]);
    free(table);
    return s;
}

/* Row means: the sum times k = round(2^(p+E) / d), p = ceil(log2 d) (k has E significant
 * bits whatever d: a relative error under 2^-E), shifted right by p + E: one round. */
static fss_status row_means(fss_eval *ev, const fss_tensor *x, size_t d, int E, fss_tensor *m)
{
    fss_tensor sum = {0}, sc = {0};
    const int p = ceil_log2(d);
    fss_status s = row_sums(ev, x, d, &sum);
    const uint64_t k = (uint64_t)llrint(ldexp(1.0, p + E) / (double)d);
    for (size_t r = 0; s == FSS_OK && ev->mode == FSS_MODE_CLEAR && r < sum.count; r++) {
        const int64_t v = fss_ring_to_signed(sum.v[r], x->bits);
        if ((v < 0 ? (uint64_t)-v : (uint64_t)v) >= ((uint64_t)1 << (x->bits - 2)) / k) /* sum k under 2^(n-2) */
            s = fss_ev_fail(ev, FSS_E_ARG, "norm: row %zu's mean %g is too large for a %d-bit ring", r,
                            ldexp((double)v, -x->scale) / (double)d, x->bits);
    }
    if (s == FSS_OK && (s = fss_gate_scale(ev, &sum, k, &sc)) == FSS_OK) {
        sc.scale = x->scale + p + E;
        s = fss_gate_ars(ev, &sc, p + E, m);
    }
    fss_tensor_free(&sum);
    fss_tensor_free(&sc);
    return s;
}

/* y = (x - mean) / sqrt(var + eps) gamma + beta (layernorm) or x / sqrt(mean(x^2) + eps)
 * gamma (rms), over the last axis; gamma, beta [d] secret wires. */
static fss_status norm(fss_eval *ev, const char *name, const fss_tensor *x, const fss_tensor *gamma,
                       const fss_tensor *beta, double eps, int rms, fss_tensor *y)
{
    const int n = x->bits, f = x->scale;
    const size_t d = x->ndim ? x->shape[x->ndim - 1] : 0;
    if (!d || f < 8 || n < 2 * f + 26 || norm_k(n, f, d) < 12 || !gamma || gamma->count != d ||
        (!rms && (!beta || beta->count != d)) || gamma->scale != f || (beta && beta->scale != f))
        return fss_ev_fail(ev, FSS_E_ARG, "%s: needs [..][d] at scale f >= 8 in %d bits (and n - 1 - 2f - ceil log2 d "
                           ">= 12), gamma%s of d values at scale f", name, 2 * f + 26, rms ? "" : " and beta");
    /* W = sum((x - mean)^2) / 2^p at scale 2f, eps as eps d / 2^p there (at least 1: W >= 1) */
    const int p = ceil_log2(d);
    const uint64_t e = (uint64_t)llrint(fmax(1.0, ldexp(eps * (double)d, 2 * f - p)));
    fss_tensor mu = {0}, c = {0}, sq = {0}, sum = {0}, var = {0}, ve = {0}, z = {0}, gb = {0}, zg = {0}, zg2 = {0},
               bb = {0};
    fss_status s = FSS_OK;
    const fss_tensor *cen = x;
    if (!rms) { /* c = x - mean */
        if ((s = row_means(ev, x, d, 16, &mu)) == FSS_OK && (s = row_broadcast(ev, &mu, x, d, 0, &c)) == FSS_OK)
            s = fss_gate_scale(ev, &c, fss_ring_mask(n), &z); /* mean - x -> x - mean */
        if (s == FSS_OK) {
            fss_tensor_free(&c);
            c = z;
            memset(&z, 0, sizeof z);
            cen = &c;
        }
    }
    if (s == FSS_OK && (s = fss_gate_mul(ev, cen, cen, &sq)) == FSS_OK && (s = row_sums(ev, &sq, d, &sum)) == FSS_OK) {
        sum.scale = 2 * f + p;
        s = fss_gate_ars(ev, &sum, p, &var);
    }
    if (s == FSS_OK && (s = fss_gate_add_const(ev, &var, &e, 1, &ve)) == FSS_OK)
        s = scale_by_rsqrt(ev, cen, &ve, d, &z);
    /* gamma, then beta, broadcast over the rows */
    if (s == FSS_OK && (s = fss_tensor_init(&gb, z.ndim, z.shape, n, f)) == FSS_OK)
        for (size_t i = 0; i < z.count; i++)
            gb.v[i] = gamma->v[i % d];
    if (s == FSS_OK && (s = fss_gate_mul(ev, &z, &gb, &zg)) == FSS_OK)
        s = fss_gate_ars_bounded(ev, &zg, f, rms ? y : &zg2);
    if (s == FSS_OK && !rms && (s = fss_tensor_init(&bb, z.ndim, z.shape, n, f)) == FSS_OK) {
        for (size_t i = 0; i < z.count; i++)
            bb.v[i] = beta->v[i % d];
        s = fss_gate_add(ev, &zg2, &bb, y);
    }
    fss_tensor *all[] = {&mu, &c, &sq, &sum, &var, &ve, &z, &gb, &zg, &zg2, &bb};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        fss_tensor_free(all[i]);
    if (s == FSS_OK && (s = fss_tensor_reshape(y, x->ndim, x->shape)) != FSS_OK)
        fss_ev_fail(ev, s, "%s: cannot shape the output", name);
    return s;
}

fss_status fss_gate_layernorm(fss_eval *ev, const fss_tensor *x, const fss_tensor *gamma, const fss_tensor *beta,
                              double eps, fss_tensor *y)
{
    return norm(ev, "layernorm", x, gamma, beta, eps, 0, y);
}

fss_status fss_gate_rmsnorm(fss_eval *ev, const fss_tensor *x, const fss_tensor *gamma, double eps, fss_tensor *y)
{
    return norm(ev, "rmsnorm", x, gamma, NULL, eps, 1, y);
}
