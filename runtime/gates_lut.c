/* Table lookups (gates.h, fss_gate_lut): y = T[x] for an n-bit x and a public table T,
 * the building block of the transformers' non-linear functions (Sigma's GeLU, SiLU, nExp,
 * reciprocals).
 *
 * With x^ = x + r_x (n bits), the dealer gives full-domain DPF keys of the point r_x (beta
 * 1, outputs in y's ring): the parties' shares e_b of the one-hot at r_x give
 *   sum_j T[x^ - j] (e_0 + e_1)_j = T[x^ - r_x] = T[x],
 * each party's sum linear in its e_b. Adding shares of the output mask r_y and one
 * exchange reveal y^ = T[x] + r_y. One round. The keys hold two outputs a leaf (early = 2,
 * for entries of up to 62 bits): 2^n AES blocks a party and element. */
#include <string.h>

#include "eval_internal.h"
#include "fss/dpf.h"
#include "fss/gates.h"

fss_status fss_gate_lut(fss_eval *ev, const fss_tensor *x, const uint64_t *table, int out_bits, int out_scale,
                        fss_tensor *y)
{
    const int n = x->bits;
    if (n < 1 || n > FSS_DPF_LUT_MAX_BITS || out_bits < 1 || out_bits > 64 || out_scale < 0 ||
        out_scale >= out_bits || !table)
        return fss_ev_fail(ev, FSS_E_ARG,
                           "lut: a %d-bit index (1 to %d), %d-bit entries of scale %d, and a table are needed", n,
                           FSS_DPF_LUT_MAX_BITS, out_bits, out_scale);
    fss_status s = fss_tensor_init(y, x->ndim, x->shape, out_bits, out_scale);
    if (s != FSS_OK)
        return fss_ev_fail(ev, s, "lut: cannot make the output");
    const size_t cnt = x->count, size = (size_t)1 << n;
    if (ev->mode == FSS_MODE_CLEAR) {
        for (size_t i = 0; i < cnt; i++)
            y->v[i] = fss_ring_reduce(table[x->v[i] & (size - 1)], out_bits);
        return FSS_OK;
    }
    const double t0 = fss_now();
    const fss_dpf_params p = {n, out_bits, out_bits <= 62 ? 2 : 0};
    const fss_prim pr = fss_prim_dpf_lut(p, table);
    const size_t kb = FSS_DPF_KEY_BYTES(p.n, p.l, p.early) * cnt;
    uint64_t *tmp = (uint64_t *)fss_ev_alloc(ev, 2 * cnt * 8);
    if (!tmp) {
        s = FSS_E_NOMEM;
        goto done;
    }
    if (ev->mode == FSS_MODE_DEALER) {
        /* party b's key: the DPF keys at r_x; then shares of r_y (their own chunk) */
        for (int b = 0; b < 2 && s == FSS_OK; b++)
            s = fss_ev_put_begin(ev, b, FSS_KEY_LUT, cnt, kb);
        if (s == FSS_OK)
            s = fss_ev_deal(ev, &pr, cnt, x->v, NULL);
        if (s == FSS_OK && (s = fss_ev_random(ev, y->v, cnt, out_bits)) == FSS_OK)
            s = fss_ev_shares_deal(ev, y->v, cnt, out_bits);
        fss_ev_deal_reconstruct(ev, cnt, out_bits);
    } else {
        uint64_t *mine = tmp, *ry = tmp + cnt;
        if ((s = fss_ev_open(ev, FSS_KEY_LUT, cnt)) != FSS_OK || (s = fss_ev_take(ev, &pr, cnt, x->v, mine)) != FSS_OK ||
            (s = fss_ev_close(ev)) != FSS_OK || (s = fss_ev_shares_take(ev, ry, cnt, out_bits)) != FSS_OK)
            goto done;
        FSS_EV_PARALLEL_FOR(ev, cnt)
        for (size_t i = 0; i < cnt; i++)
            mine[i] = fss_ring_add(mine[i], ry[i], out_bits);
        s = fss_ev_reconstruct(ev, mine, cnt, out_bits, 0, y->v);
    }
done:
    if (s != FSS_OK && !ev->err[0])
        fss_ev_fail(ev, s, "lut: %s", fss_status_str(s));
    if (tmp)
        fss_free_wiped(tmp, 2 * cnt * 8);
    ev->stats.seconds += fss_now() - t0;
    return s;
}
