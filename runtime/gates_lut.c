/* Table lookups (gates.h, fss_gate_lut, _luts, _lut2): y = T[x] for an n-bit x and a public table T,
 * the building block of the transformers' non-linear functions (Sigma's GeLU, SiLU, nExp,
 * reciprocals).
 *
 * With x^ = x + r_x (n bits), the dealer gives full-domain DPF keys of the point r_x (beta
 * 1, outputs in y's ring): the parties' shares e_b of the one-hot at r_x give
 *   sum_j T[x^ - j] (e_0 + e_1)_j = T[x^ - r_x] = T[x],
 * each party's sum linear in its e_b. Adding shares of the output mask r_y and one
 * exchange reveal y^ = T[x] + r_y. One round. The keys hold two outputs a leaf (early = 2,
 * for entries of up to 62 bits: 2^n AES blocks a party and element; early = 3 above, the
 * two words of one more block of each leaf: 1.5 2^n). Two tables at one index (lut2) dot
 * the same shares e_b with each: one key and one expansion, a mask and an output each.
 *
 * y = ta[x] + tb[x] e for a wire e (lut_lin) in one round too: y = ta[x] - r_e tb[x] + e^
 * tb[x], and the dealer's keys for x' = 2 x^ in n + 1 bits have the leaf pair (1, r_e) at
 * alpha = 2 r_x (fss_dpf_keygen_pairs: a point function's keys, one level deeper). Their
 * shares e_b, dotted with t1 (t1[2 m] = ta[m], t1[2 m - 1] = -tb[m]) and with t2 (t2[2 m]
 * = tb[m], t2[2 m - 1] = 0) as a lookup of two tables at 2 x^ (fss_dpf_lut2_eval), give
 * shares of t1[2 x] + r_e t1[2 x - 1] = ta[x] - r_e tb[x] and of t2[2 x] + r_e t2[2 x - 1]
 * = tb[x]; the second times the public e^ completes y. Against a lookup of both tables and
 * a product: a round, two outputs' messages and the product's keys fewer. */
#include <string.h>

#include "eval_internal.h"
#include "fss/dpf.h"
#include "fss/gates.h"

fss_status fss_gate_luts(fss_eval *ev, int k, const fss_tensor *const *x, const uint64_t *const *tables, int out_bits,
                         int out_scale, fss_tensor *const *y)
{
    const int n = k >= 1 && x[0] ? x[0]->bits : 0;
    int ok = k >= 1 && k <= FSS_LUTS_MAX && n >= 1 && n <= FSS_DPF_LUT_MAX_BITS && out_bits >= 1 && out_bits <= 64 &&
             out_scale >= 0 && out_scale < out_bits;
    for (int i = 0; ok && i < k; i++)
        ok = x[i] && x[i]->bits == n && tables[i] && y[i];
    if (!ok)
        return fss_ev_fail(ev, FSS_E_ARG,
                           "lut: a %d-bit index (1 to %d, one width for 1 to %d lookups), %d-bit entries of scale "
                           "%d, and a table each are needed", n, FSS_DPF_LUT_MAX_BITS, FSS_LUTS_MAX, out_bits,
                           out_scale);
    size_t cnt = 0;
    fss_status s = FSS_OK;
    for (int i = 0; i < k; i++) {
        memset(y[i], 0, sizeof *y[i]);
        cnt += x[i]->count;
    }
    for (int i = 0; s == FSS_OK && i < k; i++)
        s = fss_tensor_init(y[i], x[i]->ndim, x[i]->shape, out_bits, out_scale);
    if (s != FSS_OK) {
        for (int i = 0; i < k; i++)
            fss_tensor_free(y[i]);
        return fss_ev_fail(ev, s, "lut: cannot make the output");
    }
    const size_t size = (size_t)1 << n;
    if (ev->mode == FSS_MODE_CLEAR) {
        for (int i = 0; i < k; i++)
            for (size_t e = 0; e < x[i]->count; e++)
                y[i]->v[e] = fss_ring_reduce(tables[i][x[i]->v[e] & (size - 1)], out_bits);
        return FSS_OK;
    }
    const double t0 = fss_now();
    const fss_dpf_params p = {n, out_bits, out_bits <= 62 ? 2 : 3};
    size_t kb = 0; /* a lookup's keys after another's, each with its root seeds */
    for (int i = 0; i < k; i++) {
        const fss_prim pr = fss_prim_dpf_lut(p, tables[i]);
        kb += fss_ev_deal_bytes(&pr, x[i]->count);
    }
    /* mine; with k > 1 also the masks (or their shares) ry and all the outputs side by side,
     * where one lookup's are y's own (y's shares are taken before the output lands there) */
    const size_t words = (k == 1 ? 1 : 3) * (cnt ? cnt : 1);
    uint64_t *tmp = (uint64_t *)fss_ev_alloc(ev, words * 8);
    if (!tmp) {
        s = FSS_E_NOMEM;
        goto done;
    }
    uint64_t *mine = tmp, *ry = k == 1 ? y[0]->v : tmp + cnt, *all = k == 1 ? y[0]->v : tmp + 2 * cnt;
    if (ev->mode == FSS_MODE_DEALER) {
        /* party b's key: the DPF keys at each r_x, an index's after another's (each in its own
         * key blocks, as the parties take them); then r_y as fresh shares (a seed each) */
        const fss_prim pr = fss_prim_dpf_lut(p, tables[0]); /* the table plays no part in keys */
        for (int b = 0; b < 2 && s == FSS_OK; b++)
            s = fss_ev_put_begin(ev, b, FSS_KEY_LUT, cnt, kb);
        for (int i = 0; s == FSS_OK && i < k; i++)
            s = fss_ev_deal(ev, &pr, x[i]->count, x[i]->v, NULL);
        if (s == FSS_OK && (s = fss_ev_fresh_deal(ev, ry, cnt, out_bits)) == FSS_OK && k > 1)
            for (size_t i = 0, at = 0; i < (size_t)k; at += x[i]->count, i++)
                memcpy(y[i]->v, ry + at, x[i]->count * 8);
        fss_ev_deal_reconstruct(ev, cnt, out_bits);
    } else {
        if ((s = fss_ev_open(ev, FSS_KEY_LUT, cnt)) != FSS_OK)
            goto done;
        for (size_t i = 0, at = 0; s == FSS_OK && i < (size_t)k; at += x[i]->count, i++) { /* each with its table */
            const fss_prim pr = fss_prim_dpf_lut(p, tables[i]);
            s = fss_ev_take(ev, &pr, x[i]->count, x[i]->v, mine + at);
        }
        if (s != FSS_OK || (s = fss_ev_close(ev)) != FSS_OK || (s = fss_ev_fresh_take(ev, ry, cnt, out_bits)) != FSS_OK)
            goto done;
        FSS_EV_PARALLEL_FOR(ev, cnt)
        for (size_t i = 0; i < cnt; i++)
            mine[i] = fss_ring_add(mine[i], ry[i], out_bits);
        if ((s = fss_ev_reconstruct(ev, mine, cnt, out_bits, 0, all)) == FSS_OK && k > 1)
            for (size_t i = 0, at = 0; i < (size_t)k; at += x[i]->count, i++)
                memcpy(y[i]->v, all + at, x[i]->count * 8);
    }
done:
    if (s != FSS_OK && !ev->err[0])
        fss_ev_fail(ev, s, "lut: %s", fss_status_str(s));
    if (tmp)
        fss_free_wiped(tmp, words * 8);
    ev->stats.seconds += fss_now() - t0;
    return s;
}

fss_status fss_gate_lut(fss_eval *ev, const fss_tensor *x, const uint64_t *table, int out_bits, int out_scale,
                        fss_tensor *y)
{
    return fss_gate_luts(ev, 1, &x, &table, out_bits, out_scale, &y);
}

fss_status fss_gate_lut2(fss_eval *ev, const fss_tensor *x, const uint64_t *ta, const uint64_t *tb, int out_bits,
                         int out_scale, fss_tensor *ya, fss_tensor *yb)
{
    const int n = x ? x->bits : 0;
    if (n < 1 || n > FSS_DPF_LUT_MAX_BITS || out_bits < 1 || out_bits > 64 || out_scale < 0 || out_scale >= out_bits ||
        !ta || !tb || !ya || !yb)
        return fss_ev_fail(ev, FSS_E_ARG, "lut2: a %d-bit index (1 to %d), %d-bit entries of scale %d, and two tables "
                                          "are needed", n, FSS_DPF_LUT_MAX_BITS, out_bits, out_scale);
    memset(ya, 0, sizeof *ya);
    memset(yb, 0, sizeof *yb);
    fss_status s = fss_tensor_init(ya, x->ndim, x->shape, out_bits, out_scale);
    if (s == FSS_OK)
        s = fss_tensor_init(yb, x->ndim, x->shape, out_bits, out_scale);
    if (s != FSS_OK) {
        fss_tensor_free(ya);
        fss_tensor_free(yb);
        return fss_ev_fail(ev, s, "lut2: cannot make the outputs");
    }
    const size_t cnt = x->count, mask = ((size_t)1 << n) - 1;
    if (ev->mode == FSS_MODE_CLEAR) {
        for (size_t e = 0; e < cnt; e++) {
            ya->v[e] = fss_ring_reduce(ta[x->v[e] & mask], out_bits);
            yb->v[e] = fss_ring_reduce(tb[x->v[e] & mask], out_bits);
        }
        return FSS_OK;
    }
    const double t0 = fss_now();
    const fss_dpf_params p = {n, out_bits, out_bits <= 62 ? 2 : 3};
    const fss_prim pr = fss_prim_dpf_lut2(p, ta, tb); /* one lookup's keys */
    const size_t kb = fss_ev_deal_bytes(&pr, cnt), words = 4 * (cnt ? cnt : 1);
    /* mine: the two shares an element side by side, then (after the message) the outputs
     * one table's after the other's; ry: the masks r_a then r_b (or their shares) */
    uint64_t *tmp = (uint64_t *)fss_ev_alloc(ev, words * 8);
    if (!tmp) {
        s = FSS_E_NOMEM;
        goto done;
    }
    uint64_t *mine = tmp, *ry = tmp + 2 * cnt;
    if (ev->mode == FSS_MODE_DEALER) {
        for (int b = 0; b < 2 && s == FSS_OK; b++)
            s = fss_ev_put_begin(ev, b, FSS_KEY_LUT, cnt, kb);
        if (s == FSS_OK && (s = fss_ev_deal(ev, &pr, cnt, x->v, NULL)) == FSS_OK &&
            (s = fss_ev_fresh_deal(ev, ry, 2 * cnt, out_bits)) == FSS_OK) {
            memcpy(ya->v, ry, cnt * 8);
            memcpy(yb->v, ry + cnt, cnt * 8);
        }
        fss_ev_deal_reconstruct(ev, 2 * cnt, out_bits);
    } else {
        if ((s = fss_ev_open(ev, FSS_KEY_LUT, cnt)) != FSS_OK || (s = fss_ev_take(ev, &pr, cnt, x->v, mine)) != FSS_OK ||
            (s = fss_ev_close(ev)) != FSS_OK || (s = fss_ev_fresh_take(ev, ry, 2 * cnt, out_bits)) != FSS_OK)
            goto done;
        FSS_EV_PARALLEL_FOR(ev, cnt)
        for (size_t i = 0; i < cnt; i++) {
            ry[i] = fss_ring_add(ry[i], mine[2 * i], out_bits);
            ry[cnt + i] = fss_ring_add(ry[cnt + i], mine[2 * i + 1], out_bits);
        }
        if ((s = fss_ev_reconstruct(ev, ry, 2 * cnt, out_bits, 0, mine)) == FSS_OK) {
            memcpy(ya->v, mine, cnt * 8);
            memcpy(yb->v, mine + cnt, cnt * 8);
        }
    }
done:
    if (s != FSS_OK && !ev->err[0])
        fss_ev_fail(ev, s, "lut2: %s", fss_status_str(s));
    if (tmp)
        fss_free_wiped(tmp, words * 8);
    ev->stats.seconds += fss_now() - t0;
    return s;
}

fss_status fss_gate_lut_lin(fss_eval *ev, const fss_tensor *x, const uint64_t *ta, const uint64_t *tb,
                            const fss_tensor *e, int out_scale, fss_tensor *y)
{
    const int n = x ? x->bits : 0, l = e ? e->bits : 0;
    if (n < 1 || n + 1 > FSS_DPF_LUT_MAX_BITS || l < 1 || l > 64 || out_scale < 0 || out_scale >= l || !ta || !tb ||
        !y || e->count != x->count)
        return fss_ev_fail(ev, FSS_E_ARG, "lut_lin: a %d-bit index (1 to %d), a %d-bit factor of its count, "
                                          "scale %d, and two tables are needed", n, FSS_DPF_LUT_MAX_BITS - 1, l,
                                          out_scale);
    memset(y, 0, sizeof *y);
    fss_status s = fss_tensor_init(y, x->ndim, x->shape, l, out_scale);
    if (s != FSS_OK)
        return fss_ev_fail(ev, s, "lut_lin: cannot make the output");
    const size_t cnt = x->count, half = (size_t)1 << n, size = 2 * half;
    if (ev->mode == FSS_MODE_CLEAR) {
        for (size_t i = 0; i < cnt; i++)
            y->v[i] = fss_ring_reduce(ta[x->v[i] & (half - 1)] + tb[x->v[i] & (half - 1)] * e->v[i], l);
        return FSS_OK;
    }
    const double t0 = fss_now();
    /* the (n+1)-bit tables: t1[2 m] = ta[m], t1[2 m + 1] = -tb[m + 1]; t2[2 m] = tb[m],
     * t2[2 m + 1] = 0; then per element the index 2 x^ (alpha 2 r_x), the keys of 5 words
     * (tables, index, mine and the masks' shares) */
    const size_t words = 2 * size + 4 * (cnt ? cnt : 1);
    uint64_t *tmp = (uint64_t *)fss_ev_alloc(ev, words * 8);
    if (!tmp) {
        s = FSS_E_NOMEM;
        goto done;
    }
    uint64_t *t1 = tmp, *t2 = tmp + size, *idx = t2 + size, *mine = idx + cnt, *ry = mine + 2 * cnt;
    for (size_t m = 0; ev->mode != FSS_MODE_DEALER && m < half; m++) { /* (the parties' alone: not in keys) */
        t1[2 * m] = fss_ring_reduce(ta[m], l);
        t1[2 * m + 1] = fss_ring_neg(tb[(m + 1) & (half - 1)], l);
        t2[2 * m] = fss_ring_reduce(tb[m], l);
        t2[2 * m + 1] = 0;
    }
    for (size_t i = 0; i < cnt; i++)
        idx[i] = (x->v[i] & (half - 1)) << 1;
    const fss_dpf_params p = {n + 1, l, l <= 62 ? 2 : 3}; /* pairs of whole words above 62 bits */
    const fss_prim pr = fss_prim_dpf_lut_lin(p, t1, t2);
    const size_t kb = fss_ev_deal_bytes(&pr, cnt);
    if (ev->mode == FSS_MODE_DEALER) {
        for (int b = 0; b < 2 && s == FSS_OK; b++)
            s = fss_ev_put_begin(ev, b, FSS_KEY_LUT, cnt, kb);
        if (s == FSS_OK && (s = fss_ev_deal(ev, &pr, cnt, idx, e->v)) == FSS_OK)
            s = fss_ev_fresh_deal(ev, y->v, cnt, l);
        fss_ev_deal_reconstruct(ev, cnt, l);
    } else {
        if ((s = fss_ev_open(ev, FSS_KEY_LUT, cnt)) != FSS_OK || (s = fss_ev_take(ev, &pr, cnt, idx, mine)) != FSS_OK ||
            (s = fss_ev_close(ev)) != FSS_OK || (s = fss_ev_fresh_take(ev, ry, cnt, l)) != FSS_OK)
            goto done;
        FSS_EV_PARALLEL_FOR(ev, cnt) /* ta[x] - r_e tb[x] + e^ tb[x] + r_y */
        for (size_t i = 0; i < cnt; i++)
            ry[i] = fss_ring_reduce(ry[i] + mine[2 * i] + e->v[i] * mine[2 * i + 1], l);
        s = fss_ev_reconstruct(ev, ry, cnt, l, 0, y->v);
    }
done:
    if (s != FSS_OK && !ev->err[0])
        fss_ev_fail(ev, s, "lut_lin: %s", fss_status_str(s));
    if (tmp)
        fss_free_wiped(tmp, words * 8);
    ev->stats.seconds += fss_now() - t0;
    return s;
}
