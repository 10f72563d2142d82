/* A classifier's outputs (gates.h): the logistic sigmoid, and the counts against private
 * labels (how many predictions are right, or the whole confusion matrix) with no
 * prediction, logit or label opened. */
#include <math.h>
#include <string.h>

#include "eval_internal.h"
#include "fss/gates.h"

#define COUNT_BITS 32 /* the counts' ring: up to 2^31 examples */

/* ceil(log2 c), at least 1: (a - b) mod 2^k is 0 only where a = b, for a, b in [0, c) */
static int index_bits(size_t c)
{
    int k = 1;
    while (((size_t)1 << k) < c)
        k++;
    return k;
}

fss_status fss_gate_accuracy(fss_eval *ev, const fss_tensor *logits, int owner, const uint64_t *labels, int confusion,
                             fss_tensor *y)
{
    const size_t C = logits->ndim == 2 ? logits->shape[1] : 0, B = C ? logits->shape[0] : 0;
    if (C < 2 || C > 4096 || (uint64_t)B >> 31)
        return fss_ev_fail(ev, FSS_E_ARG, "accuracy: logits [batch][classes] with 2 to 4096 classes and under 2^31 rows");
    const int n = logits->bits, k = index_bits(C);
    for (size_t i = 0; labels && (ev->mode == FSS_MODE_CLEAR || ev->party == owner) && i < B; i++)
        if (labels[i] >= C)
            return fss_ev_fail(ev, FSS_E_ARG, "accuracy: label %zu is %llu, not a class (0 to %zu)", i,
                               (unsigned long long)labels[i], C - 1);
    uint64_t table[1u << 12];
    memset(table, 0, sizeof table);
    table[0] = 1; /* 1{difference = 0} */
    fss_tensor idx = {0}, lab = {0}, e = {0}, ek = {0}, hit = {0}, oh = {0};
    uint64_t *vals = NULL;
    fss_status s = fss_gate_argmax(ev, logits, &idx);
    if (s == FSS_OK && !confusion) {
        /* correct_i = 1{prediction - label = 0}, summed: one element */
        if (s == FSS_OK)
            s = fss_gate_input(ev, owner, 1, &B, n, 0, labels, &lab);
        if (s == FSS_OK && (s = fss_gate_sub(ev, &idx, &lab, &e)) == FSS_OK && (s = fss_gate_reduce(ev, &e, k, &ek)) == FSS_OK)
            s = fss_gate_lut(ev, &ek, table, COUNT_BITS, 0, &hit);
        const size_t one[1] = {1};
        if (s == FSS_OK && (s = fss_tensor_init(y, 1, one, COUNT_BITS, 0)) == FSS_OK) {
            uint64_t sum = 0; /* a sum of wires is the wire of the sum, in every walk */
            for (size_t i = 0; i < B; i++)
                sum += hit.v[i];
            y->v[0] = fss_ring_reduce(sum, COUNT_BITS);
        }
    } else if (s == FSS_OK) {
        /* the prediction's one-hot [B][C] from 1{prediction - c = 0}; the owner's labels as a
         * one-hot [C][B]; their product counts [label][prediction] */
        const size_t bc[1] = {B * C}, lb[2] = {C, B}, pb[2] = {B, C};
        if ((s = fss_tensor_init(&e, 1, bc, n, 0)) == FSS_OK)
            for (size_t i = 0; i < B; i++)
                for (size_t c = 0; c < C; c++) /* a public c moves the masked value, not the mask */
                    e.v[i * C + c] = ev->mode == FSS_MODE_DEALER ? idx.v[i] : fss_ring_sub(idx.v[i], c, n);
        if (s == FSS_OK && (s = fss_gate_reduce(ev, &e, k, &ek)) == FSS_OK)
            s = fss_gate_lut(ev, &ek, table, COUNT_BITS, 0, &hit);
        if (s == FSS_OK)
            s = fss_tensor_reshape(&hit, 2, pb);
        if (s == FSS_OK && labels && (ev->mode == FSS_MODE_CLEAR || ev->party == owner)) {
            if (!(vals = (uint64_t *)calloc(B * C, 8)))
                s = fss_ev_fail(ev, FSS_E_NOMEM, "accuracy: out of memory");
            for (size_t i = 0; s == FSS_OK && i < B; i++)
                vals[labels[i] * B + i] = 1;
        }
        if (s == FSS_OK)
            s = fss_gate_input(ev, owner, 2, lb, COUNT_BITS, 0, vals, &oh);
        if (s == FSS_OK)
            s = fss_gate_matmul(ev, &oh, &hit, y);
    }
    if (vals)
        fss_free_wiped(vals, B * C * 8);
    fss_tensor *all[] = {&idx, &lab, &e, &ek, &hit, &oh};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        fss_tensor_free(all[i]);
    return s;
}

/* ---- sigmoid ---------------------------------------------------------------------------
 * With d = 1{x >= 0}, a = |x| and g(a) = 1 - sigma(a) = sigma(-a) (falling from 1/2 to 0):
 * sigma(x) = g + d (1 - 2 g). g from a table of 2^12 entries over [0, 16) (steps of 2^-8,
 * each at its step's midpoint), 0 from 16 on (g(16) = 1.1e-7). */
#define SIG_RANGE_LOG2 4
#define SIG_INDEX 12

fss_status fss_gate_sigmoid(fss_eval *ev, const fss_tensor *x, fss_tensor *y)
{
    const int n = x->bits, f = x->scale, step = SIG_INDEX - SIG_RANGE_LOG2; /* fractional bits of the index */
    if (f < step || n < f + SIG_RANGE_LOG2 + 2)
        return fss_ev_fail(ev, FSS_E_ARG, "sigmoid: scale %d (at least %d) in %d bits (at least %d)", f, step, n,
                           f + SIG_RANGE_LOG2 + 2);
    const size_t N = x->count, one[1] = {N};
    uint64_t *table = (uint64_t *)fss_ev_alloc(ev, ((size_t)1 << SIG_INDEX) * 8);
    for (size_t i = 0; table && i < ((size_t)1 << SIG_INDEX); i++)
        table[i] = (uint64_t)llrint(ldexp(1.0 / (1.0 + exp(ldexp((double)i + 0.5, -step))), f));
    const uint64_t lim = ((uint64_t)1 << (f + SIG_RANGE_LOG2)) - 1, onef = (uint64_t)1 << f;
    fss_tensor X = {0}, d = {0}, sx = {0}, sx2 = {0}, a = {0}, na = {0}, r = {0}, e = {0}, q = {0}, qi = {0}, gt = {0},
               g = {0}, g2 = {0}, ng2 = {0}, h = {0}, dh = {0};
    fss_status s = table ? FSS_OK : FSS_E_NOMEM;
    /* a = |x| = 2 d x - x */
    if (s == FSS_OK && (s = fss_tensor_view(x, 0, 1, one, f, &X)) == FSS_OK && (s = fss_gate_drelu(ev, &X, &d)) == FSS_OK &&
        (s = fss_gate_select(ev, &d, &X, &sx)) == FSS_OK && (s = fss_gate_scale(ev, &sx, 2, &sx2)) == FSS_OK)
        s = fss_gate_sub(ev, &sx2, &X, &a);
    /* e = 1{a < 16}: a DReLU of 16 2^f - 1 - a */
    if (s == FSS_OK && (s = fss_gate_scale(ev, &a, fss_ring_mask(n), &na)) == FSS_OK &&
        (s = fss_gate_add_const(ev, &na, &lim, 1, &r)) == FSS_OK)
        s = fss_gate_drelu(ev, &r, &e);
    /* g = e table[a's step] */
    /* (an unsigned floor: |x| of the ring's most negative x is 2^(n-1), read unsigned) */
    if (s == FSS_OK && (s = fss_gate_trunc_reduce(ev, &a, f - step, &q)) == FSS_OK &&
        (s = fss_gate_reduce(ev, &q, SIG_INDEX, &qi)) == FSS_OK && (s = fss_gate_lut(ev, &qi, table, n, f, &gt)) == FSS_OK)
        s = fss_gate_select(ev, &e, &gt, &g);
    /* y = g + d (1 - 2 g) */
    if (s == FSS_OK && (s = fss_gate_scale(ev, &g, 2, &g2)) == FSS_OK &&
        (s = fss_gate_scale(ev, &g2, fss_ring_mask(n), &ng2)) == FSS_OK &&
        (s = fss_gate_add_const(ev, &ng2, &onef, 1, &h)) == FSS_OK && (s = fss_gate_select(ev, &d, &h, &dh)) == FSS_OK)
        s = fss_gate_add(ev, &g, &dh, y);
    if (s == FSS_OK) {
        y->scale = f;
        s = fss_tensor_reshape(y, x->ndim, x->shape);
    }
    fss_tensor *all[] = {&d, &sx, &sx2, &a, &na, &r, &e, &q, &qi, &gt, &g, &g2, &ng2, &h, &dh};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        fss_tensor_free(all[i]);
    free(table);
    return s;
}
