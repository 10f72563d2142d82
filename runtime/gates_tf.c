/* The transformers' smooth activations (gates.h): GeLU and SiLU as Sigma builds them,
 * ReLU less a small table of the difference on a clipped, truncated |x|.
 *
 * D(x) = ReLU(x) - act(x) is even for both (GeLU: |x| Phi(-|x|); SiLU: |x| sigma(-|x|))
 * and fades fast, so with a = |x| = 2 ReLU(x) - x (local once ReLU is known):
 *   act(x) = ReLU(x) - 1{a < 2^R} D(a),
 * D read from a table of 2^I entries over [0, 2^R) (a step of 2^(R-I)) at the index
 * floor(a / 2^(R-I)), each entry D at its step's midpoint. The index is a shifted right by
 * f - (I - R) bits (a is non-negative: one f-bit DCF) and reduced to I bits (local: the
 * masked value and its mask reduce alike); 1{a < 2^R} is a DReLU of 2^I - 1 - the shifted
 * a. Six rounds: ReLU (2), the shift, the lookup, the DReLU, the select. */
#include <math.h>
#include <string.h>

#include "eval_internal.h"
#include "fss/gates.h"

typedef double (*even_fn)(double);

static double gelu_d(double a) { return a * 0.5 * erfc(a / sqrt(2.0)); } /* a Phi(-a) */
static double silu_d(double a) { return a / (1.0 + exp(a)); }           /* a sigma(-a) */

/* z = x reduced to `bits` bits (a ring change that needs no key: x^ mod 2^b = x mod 2^b
 * + r mod 2^b), scale kept. */
static fss_status reduce_bits(fss_eval *ev, const fss_tensor *x, int bits, fss_tensor *z)
{
    fss_status s = fss_tensor_init(z, x->ndim, x->shape, bits, x->scale);
    if (s != FSS_OK)
        return fss_ev_fail(ev, s, "cannot make a %d-bit tensor", bits);
    for (size_t i = 0; i < x->count; i++)
        z->v[i] = fss_ring_reduce(x->v[i], bits);
    return FSS_OK;
}

static fss_status relu_minus_even(fss_eval *ev, const char *name, const fss_tensor *x, even_fn D, int R, int I,
                                  fss_tensor *y)
{
    const int n = x->bits, f = x->scale, sh = f - (I - R);
    if (sh < 0 || n < I + 2 || R >= n - f - 1)
        return fss_ev_fail(ev, FSS_E_ARG, "%s: needs a scale of at least %d and more than %d bits (have %d, %d)", name,
                           I - R, I + 1, f, n);
    const size_t size = (size_t)1 << I;
    uint64_t *table = (uint64_t *)fss_ev_alloc(ev, size * 8);
    if (!table)
        return FSS_E_NOMEM;
    for (size_t i = 0; i < size; i++) /* the midpoint of [i, i + 1) steps of 2^(R - I) */
        table[i] = fss_ring_from_signed((int64_t)llrint(ldexp(D(ldexp((double)i + 0.5, R - I)), f)), n);
    const uint64_t top = fss_ring_mask(I); /* 2^I - 1 */
    fss_tensor r = {0}, r2 = {0}, a = {0}, t = {0}, ti = {0}, l = {0}, nt = {0}, c = {0}, b = {0}, sel = {0};
    fss_status s = fss_gate_relu(ev, x, &r);
    if (s == FSS_OK && (s = fss_gate_scale(ev, &r, 2, &r2)) == FSS_OK)
        s = fss_gate_sub(ev, &r2, x, &a); /* |x| */
    if (s == FSS_OK)
        s = fss_gate_ars_nonneg(ev, &a, sh, &t); /* floor(|x| 2^(I-R)), scale I - R */
    if (s == FSS_OK && (s = reduce_bits(ev, &t, I, &ti)) == FSS_OK)
        s = fss_gate_lut(ev, &ti, table, n, f, &l);
    if (s == FSS_OK && (s = fss_gate_scale(ev, &t, fss_ring_mask(n), &nt)) == FSS_OK) /* -t */
        s = fss_gate_add_const(ev, &nt, &top, 1, &c);                                 /* 2^I - 1 - t */
    if (s == FSS_OK)
        s = fss_gate_drelu(ev, &c, &b); /* |x| < 2^R */
    if (s == FSS_OK)
        s = fss_gate_select(ev, &b, &l, &sel);
    if (s == FSS_OK)
        s = fss_gate_sub(ev, &r, &sel, y);
    fss_tensor *all[] = {&r, &r2, &a, &t, &ti, &l, &nt, &c, &b, &sel};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        fss_tensor_free(all[i]);
    fss_free_wiped(table, size * 8);
    if (s == FSS_OK)
        y->scale = f;
    return s;
}

fss_status fss_gate_gelu(fss_eval *ev, const fss_tensor *x, fss_tensor *y)
{
    return relu_minus_even(ev, "gelu", x, gelu_d, FSS_GELU_RANGE_LOG2, FSS_GELU_INDEX_BITS, y);
}

fss_status fss_gate_silu(fss_eval *ev, const fss_tensor *x, fss_tensor *y)
{
    return relu_minus_even(ev, "silu", x, silu_d, FSS_SILU_RANGE_LOG2, FSS_SILU_INDEX_BITS, y);
}
