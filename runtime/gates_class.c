/* A classifier's counts against private labels (gates.h): how many predictions are right,
 * or the whole confusion matrix, with no prediction, logit or label opened. */
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
