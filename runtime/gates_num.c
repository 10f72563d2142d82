/* Numerics on wide integers (gates.h): rearranging wires, a value's leading one and
 * mantissa, and a fine reciprocal square root. The statistics use them to divide numbers
 * whose size the data decide (a correlation's n^2 covariances, up to 2^60). */
#include <math.h>
#include <string.h>

#include "eval_internal.h"
#include "fss/gates.h"

fss_status fss_gate_gather(fss_eval *ev, const fss_tensor *x, const size_t *idx, size_t count, fss_tensor *y)
{
    const size_t shape[1] = {count};
    fss_status s = fss_tensor_init(y, 1, shape, x->bits, x->scale);
    if (s != FSS_OK)
        return fss_ev_fail(ev, s, "gather: out of memory");
    for (size_t i = 0; i < count; i++) {
        if (idx[i] != SIZE_MAX && idx[i] >= x->count) {
            fss_tensor_free(y);
            return fss_ev_fail(ev, FSS_E_ARG, "gather: index %zu of %zu is %zu, past the tensor's %zu", i, count,
                               idx[i], x->count);
        }
        /* a public 0 is 0 in every walk: mask 0, masked value 0, value 0 */
        y->v[i] = idx[i] == SIZE_MAX ? 0 : x->v[idx[i]];
    }
    return FSS_OK;
}

fss_status fss_gate_reduce(fss_eval *ev, const fss_tensor *x, int bits, fss_tensor *y)
{
    if (bits < 1 || bits > x->bits)
        return fss_ev_fail(ev, FSS_E_ARG, "reduce: %d bits from %d", bits, x->bits);
    fss_status s = fss_tensor_init(y, x->ndim, x->shape, bits, 0);
    if (s != FSS_OK)
        return fss_ev_fail(ev, s, "reduce: out of memory");
    for (size_t i = 0; i < x->count; i++)
        y->v[i] = fss_ring_reduce(x->v[i], bits);
    return FSS_OK;
}

/* A public tensor (masks 0) of count values from fn(i). */
static fss_status public_values(fss_eval *ev, size_t count, int bits, int scale, uint64_t (*fn)(size_t, const void *),
                                const void *arg, fss_tensor *y)
{
    const size_t shape[1] = {count};
    fss_status s = fss_tensor_init(y, 1, shape, bits, scale);
    if (s != FSS_OK)
        return fss_ev_fail(ev, s, "out of memory");
    for (size_t i = 0; i < count; i++)
        y->v[i] = ev->mode == FSS_MODE_DEALER ? 0 : fss_ring_reduce(fn(i, arg), bits);
    return FSS_OK;
}

typedef struct octave_arg {
    size_t count;
    int L;
    uint64_t (*table)(size_t, const void *);
    const void *arg;
} octave_arg;

/* For the one-hot's block j (count elements each): 2^(L-1-j) in the first L blocks, the
 * table's entry for octave j - L in the next L. */
static uint64_t octave_public(size_t i, const void *p)
{
    const octave_arg *a = (const octave_arg *)p;
    const size_t j = i / a->count;
    return j < (size_t)a->L ? (uint64_t)1 << (a->L - 1 - (int)j) : a->table(j - (size_t)a->L, a->arg);
}

fss_status fss_ev_octave(fss_eval *ev, const fss_tensor *x, int L, int F, uint64_t (*table)(size_t, const void *),
                         const void *arg, fss_tensor *m, fss_tensor *e)
{
    const int n = x->bits;
    const size_t N = x->count, J = (size_t)L - 1, shp[1] = {J * N}, shp2[1] = {2 * (size_t)L * N}, shn[1] = {N};
    fss_tensor th = {0}, b = {0}, oh = {0}, pub = {0}, sel = {0}, P = {0}, M = {0};
    /* b_j = 1{x >= 2^j}, j = 1 .. L - 1, from one DReLU of every x - 2^j */
    fss_status s = fss_tensor_init(&th, 1, shp, n, 0);
    for (size_t j = 1; s == FSS_OK && j <= J; j++)
        for (size_t i = 0; i < N; i++)
            th.v[(j - 1) * N + i] = ev->mode == FSS_MODE_DEALER ? x->v[i] : fss_ring_sub(x->v[i], (uint64_t)1 << j, n);
    if (s == FSS_OK)
        s = fss_gate_drelu(ev, &th, &b);
    /* the one-hot of o (o = 0 for x = 0 too), twice: o_j = b_j ^ b_(j+1), with b_0 = 1
     * (public: mask 0) and b_L = 0 */
    if (s == FSS_OK && (s = fss_tensor_init(&oh, 1, shp2, 1, 0)) == FSS_OK)
        for (size_t j = 0; j < (size_t)L; j++)
            for (size_t i = 0; i < N; i++) {
                const uint64_t lo = j ? b.v[(j - 1) * N + i] : (ev->mode == FSS_MODE_DEALER ? 0 : 1);
                const uint64_t hi = j + 1 < (size_t)L ? b.v[j * N + i] : 0;
                oh.v[j * N + i] = oh.v[((size_t)L + j) * N + i] = lo ^ hi;
            }
    const octave_arg oa = {N, L, table, arg};
    if (s == FSS_OK)
        s = public_values(ev, 2 * (size_t)L * N, n, 0, octave_public, &oa, &pub);
    if (s == FSS_OK) /* each one-hot bit times its block's constant */
        s = fss_gate_select(ev, &oh, &pub, &sel);
    if (s == FSS_OK && (s = fss_tensor_init(&P, 1, shn, n, 0)) == FSS_OK && (s = fss_tensor_init(e, 1, shn, n, 0)) == FSS_OK)
        for (size_t i = 0; i < N; i++) {
            uint64_t p = 0, q = 0;
            for (size_t j = 0; j < (size_t)L; j++) {
                p += sel.v[j * N + i];
                q += sel.v[((size_t)L + j) * N + i];
            }
            P.v[i] = fss_ring_reduce(p, n);
            e->v[i] = fss_ring_reduce(q, n);
        }
    fss_tensor X = {0};
    if (s == FSS_OK && (s = fss_tensor_view(x, 0, 1, shn, 0, &X)) == FSS_OK)
        s = fss_gate_mul(ev, &X, &P, &M); /* x 2^(L-1-o), in [2^(L-1), 2^L) */
    if (s == FSS_OK)
        s = fss_gate_ars_nonneg(ev, &M, L - 1 - F, m);
    if (s == FSS_OK)
        m->scale = F;
    fss_tensor *all[] = {&th, &b, &oh, &pub, &sel, &P, &M};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        fss_tensor_free(all[i]);
    return s;
}

static uint64_t octave_itself(size_t o, const void *arg)
{
    (void)arg;
    return (uint64_t)o;
}

fss_status fss_gate_normalize(fss_eval *ev, const fss_tensor *x, int L, int F, fss_tensor *m, fss_tensor *e)
{
    const int n = x->bits;
    if (L < 2 || L > n - 2 || F < 1 || F > L - 1)
        return fss_ev_fail(ev, FSS_E_ARG, "normalize: values under 2^%d at scale %d in %d bits", L, F, n);
    for (size_t i = 0; ev->mode == FSS_MODE_CLEAR && i < x->count; i++)
        if (x->v[i] >> L) /* a negative one too, read as a ring element */
            return fss_ev_fail(ev, FSS_E_ARG, "normalize: element %zu is not in [0, 2^%d)", i, L);
    return fss_ev_octave(ev, x, L, F, octave_itself, NULL, m, e);
}

fss_status fss_gate_mul_shift(fss_eval *ev, const fss_tensor *a, const fss_tensor *b, int f, fss_tensor *y)
{
    fss_tensor p = {0};
    fss_status s = fss_gate_mul(ev, a, b, &p);
    if (s == FSS_OK)
        s = fss_gate_ars_nonneg(ev, &p, f, y);
    fss_tensor_free(&p);
    return s;
}

#define RSQRT_INDEX 11 /* t's 9 fractional bits over [0, 4) */

fss_status fss_gate_rsqrt_fine(fss_eval *ev, const fss_tensor *t, fss_tensor *y)
{
    const int n = t->bits, F = t->scale, q = RSQRT_INDEX - 2;
    if (F < q || F > 30 || n < 2 * F + 4)
        return fss_ev_fail(ev, FSS_E_ARG, "rsqrt_fine: scale %d (%d to 30) in %d bits (at least %d)", F, q, n, 2 * F + 4);
    for (size_t i = 0; ev->mode == FSS_MODE_CLEAR && i < t->count; i++)
        if (t->v[i] >> (F + 2))
            return fss_ev_fail(ev, FSS_E_ARG, "rsqrt_fine: element %zu is not in [0, 4)", i);
    const size_t size = (size_t)1 << RSQRT_INDEX;
    uint64_t *table = (uint64_t *)fss_ev_alloc(ev, size * 8);
    for (size_t i = 0; table && i < size; i++) /* the step's midpoint; steps under 1 do not occur (1 there) */
        table[i] = (uint64_t)llrint(ldexp(i < ((size_t)1 << q) ? 1.0 : 1.0 / sqrt(((double)i + 0.5) / ldexp(1.0, q)), F));
    fss_tensor ti = {0}, tr = {0}, y0 = {0}, a = {0}, b = {0}, nb = {0}, c = {0};
    const uint64_t three = (uint64_t)3 << F;
    fss_status s = table ? FSS_OK : FSS_E_NOMEM;
    if (s == FSS_OK && (s = fss_gate_ars_nonneg(ev, t, F - q, &ti)) == FSS_OK &&
        (s = fss_gate_reduce(ev, &ti, RSQRT_INDEX, &tr)) == FSS_OK)
        s = fss_gate_lut(ev, &tr, table, n, F, &y0);
    /* one Newton step: y0 (3 - t y0^2) / 2 */
    if (s == FSS_OK && (s = fss_gate_mul_shift(ev, &y0, &y0, F, &a)) == FSS_OK && (s = fss_gate_mul_shift(ev, t, &a, F, &b)) == FSS_OK &&
        (s = fss_gate_scale(ev, &b, fss_ring_mask(n), &nb)) == FSS_OK && (s = fss_gate_add_const(ev, &nb, &three, 1, &c)) == FSS_OK)
        s = fss_gate_mul_shift(ev, &y0, &c, F + 1, y);
    if (s == FSS_OK)
        y->scale = F;
    fss_tensor *all[] = {&ti, &tr, &y0, &a, &b, &nb, &c};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        fss_tensor_free(all[i]);
    free(table);
    return s;
}
