/* Comparison-based gates: DReLU, select, ReLU, and the exact truncations, built on the
 * DPF comparison and the DCF of kernels/. */
#include <string.h>

#include "eval_internal.h"
#include "fss/dcf.h"
#include "fss/dpf.h"
#include "fss/gate_body.h"
#include "fss/gates.h"


/* ---- DReLU --------------------------------------------------------------------------
 * With x^ = x + r: fss_msb(x) = fss_msb(x^) ^ fss_msb(r) ^ 1{x^' < r'}, ' = the low n-1 bits (the
 * borrow into bit n-1), so d = 1 ^ fss_msb(x) is one comparison of public x^' with the
 * dealer's r': a DPF comparison key at alpha = r'. The dealer adds the output mask by
 * sharing fss_msb(r) ^ r_d; one round of one bit each. x + c for a public c has the same
 * mask r, so one key gives the DReLUs of x + c_j for several c_j: the comparison at each
 * (x^ + c_j)' (fss_ev_take_at), and a bit z_j a party for each, with its own r_dj. */
static fss_status drelu_common(fss_eval *ev, const char *name, const fss_tensor *x, int k, const uint64_t *c,
                               fss_tensor *const *d)
{
    const int n = x->bits;
    if (n < 2 || k < 1 || k > FSS_DRELU_AT_MAX)
        return fss_ev_fail(ev, FSS_E_ARG, "%s: needs at least 2 bits (not %d) and 1 to %d offsets (not %d)", name, n,
                           FSS_DRELU_AT_MAX, k);
    fss_status s = FSS_OK;
    for (int j = 0; j < k && s == FSS_OK; j++)
        if ((s = fss_tensor_init(d[j], x->ndim, x->shape, 1, 0)) != FSS_OK) {
            for (int i = 0; i < j; i++)
                fss_tensor_free(d[i]);
            return fss_ev_fail(ev, s, "%s: cannot make the output", name);
        }
    const size_t cnt = x->count, nb = fss_packed_bytes(cnt, 1), kc = (size_t)k * cnt;
    const size_t words = 2 * kc > 3 * cnt ? 2 * kc : 3 * cnt;
    const fss_dpf_params p = {n - 1, 1, 1};
    const fss_prim pr = fss_prim_dpf_cmp(p);
    const size_t kb = fss_ev_deal_bytes(&pr, cnt);
    double t0 = fss_now();
    if (ev->mode == FSS_MODE_CLEAR) {
        for (int j = 0; j < k; j++)
            for (size_t i = 0; i < cnt; i++)
                d[j]->v[i] = 1u ^ fss_msb(fss_ring_add(x->v[i], c[j], n), n);
        return FSS_OK;
    }
    /* party: the points (then z_j) and the comparisons, k cnt each; dealer: alpha, z, v */
    uint64_t *tmp = (uint64_t *)fss_ev_alloc(ev, words * 8);
    uint8_t *buf = ev->mode == FSS_MODE_DEALER ? (uint8_t *)fss_ev_alloc(ev, nb) : NULL;
    if (!tmp || (ev->mode == FSS_MODE_DEALER && !buf)) {
        s = FSS_E_NOMEM;
        goto done;
    }
    if (ev->mode == FSS_MODE_DEALER) {
        /* party b's key: the comparison keys, then for each offset the packed bits z_b */
        uint64_t *alpha = tmp, *z = tmp + cnt, *v = tmp + 2 * cnt;
        for (size_t i = 0; i < cnt; i++)
            alpha[i] = fss_ring_reduce(x->v[i], n - 1);
        for (int b = 0; b < 2 && s == FSS_OK; b++)
            s = fss_ev_put_begin(ev, b, FSS_KEY_DRELU, cnt, kb + (size_t)k * nb);
        if (s == FSS_OK)
            s = fss_ev_deal(ev, &pr, cnt, alpha, NULL);
        for (int j = 0; j < k && s == FSS_OK; j++) {
            if ((s = fss_ev_random(ev, d[j]->v, cnt, 1)) != FSS_OK || (s = fss_ev_random(ev, z, cnt, 1)) != FSS_OK)
                break;
            for (int b = 0; b < 2 && s == FSS_OK; b++) {
                /* z_0 random, z_1 = z_0 ^ fss_msb(r) ^ r_d */
                for (size_t i = 0; i < cnt; i++)
                    v[i] = b ? (z[i] ^ fss_msb(x->v[i], n) ^ d[j]->v[i]) : z[i];
                fss_pack_bits(v, cnt, 1, buf);
                s = fss_ev_put_append(ev, b, buf, nb);
            }
        }
        fss_ev_deal_reconstruct(ev, kc, 1);
    } else {
        const void *zb;
        if ((s = fss_ev_open(ev, FSS_KEY_DRELU, cnt)) != FSS_OK)
            goto done;
        uint64_t *xl = tmp, *cm = tmp + kc;
        for (int j = 0; j < k; j++) {
            const uint64_t cj = c[j];
            uint64_t *xj = xl + (size_t)j * cnt;
            FSS_EV_PARALLEL_FOR(ev, cnt)
            for (size_t i = 0; i < cnt; i++)
                xj[i] = fss_ring_reduce(x->v[i] + cj, n - 1);
        }
        if ((s = fss_ev_take_at(ev, &pr, cnt, k, xl, cm)) != FSS_OK)
            goto done;
        for (int j = 0; j < k && s == FSS_OK; j++) {
            if ((s = fss_ev_read(ev, nb, &zb)) != FSS_OK)
                break;
            const uint64_t cj = c[j];
            uint64_t *zj = xl + (size_t)j * cnt, *cmj = cm + (size_t)j * cnt;
            fss_ev_unpack_bits(ev, (const uint8_t *)zb, cnt, 1, zj); /* z_b, over the points */
            FSS_EV_PARALLEL_FOR(ev, cnt)
            for (size_t i = 0; i < cnt; i++)
                cmj[i] = fss_drelu_share(cmj[i], zj[i], x->v[i] + cj, n, ev->party);
        }
        if (s != FSS_OK || (s = fss_ev_close(ev)) != FSS_OK)
            goto done;
        /* one offset (a plain DReLU): straight into its output */
        if ((s = fss_ev_reconstruct(ev, cm, kc, 1, 1, k == 1 ? d[0]->v : xl)) == FSS_OK && k > 1)
            for (int j = 0; j < k; j++)
                memcpy(d[j]->v, xl + (size_t)j * cnt, cnt * 8);
    }
done:
    if (s != FSS_OK && !ev->err[0])
        fss_ev_fail(ev, s, "%s: %s", name, fss_status_str(s));
    if (tmp)
        fss_memzero(tmp, words * 8);
    if (buf)
        fss_memzero(buf, nb);
    free(tmp);
    free(buf);
    ev->stats.seconds += fss_now() - t0;
    return s;
}

fss_status fss_gate_drelu(fss_eval *ev, const fss_tensor *x, fss_tensor *d)
{
    const uint64_t zero = 0;
    return drelu_common(ev, "drelu", x, 1, &zero, &d);
}

fss_status fss_gate_drelu_at(fss_eval *ev, const fss_tensor *x, int k, const uint64_t *c, fss_tensor *const *d)
{
    return drelu_common(ev, "drelu_at", x, k, c, d);
}

/* ---- select --------------------------------------------------------------------------
 * d = d^ ^ r_d = d^ + (1 - 2 d^) r_d over the integers, so with x = x^ - r_x
 *   d x = d^ x^ - d^ r_x + (1 - 2 d^)(x^ r_d - r_d r_x)
 * is linear in the dealer's r_x, r_d, r_d r_x: shares of those and of r_y (Sigma).
 * Zero extension from m bits to n: where d = 1, x lies in [0, 2^(m-1)), and over the
 * integers x = x^ - r_x + 2^m w with the wrap w = fss_msb(r_x) (1 - fss_msb(x^)) (as in
 * ars_nonneg). So the formula holds in Z_{2^n} with r_x replaced by
 * r_x - c 2^m fss_msb(r_x), c = 1 - fss_msb(x^) public: two more shares, of u = 2^m fss_msb(r_x)
 * and of r_d u. One selector over k (1 or 2) wires: each wire's shares in its own ring, one
 * message for all (select2: a wide wire and a narrow one in one round, neither widened). */
static fss_status select_common(fss_eval *ev, const char *name, const fss_tensor *d, int k, const fss_tensor *const *x,
                                const int *nbits, fss_tensor *const *y)
{
    const size_t cnt = d->count;
    FSS_ASSERT(k >= 1 && k <= 2); /* nsh, mine, counts */
    if (d->bits != 1)
        return fss_ev_fail(ev, FSS_E_ARG, "%s: needs a 1-bit selector", name);
    size_t nsh[2], words = 0;
    for (int j = 0; j < k; j++) {
        const int m = x[j]->bits, n = nbits[j];
        if (x[j]->count != cnt)
            return fss_ev_fail(ev, FSS_E_ARG, "%s: needs a selector of the input's size", name);
        if (n < m || n > 64)
            return fss_ev_fail(ev, FSS_E_ARG, "%s: cannot extend %d bits to %d", name, m, n);
        nsh[j] = n != m ? 6 : 4;
        words += nsh[j] * cnt;
    }
    fss_status s = FSS_OK;
    for (int j = 0; j < k && s == FSS_OK; j++)
        if ((s = fss_tensor_init(y[j], x[j]->ndim, x[j]->shape, nbits[j], x[j]->scale)) != FSS_OK) {
            for (int i = 0; i < j; i++)
                fss_tensor_free(y[i]);
            return fss_ev_fail(ev, s, "%s: cannot make the output", name);
        }
    double t0 = fss_now();
    if (ev->mode == FSS_MODE_CLEAR) {
        for (int j = 0; j < k; j++)
            for (size_t i = 0; i < cnt; i++) {
                if (nbits[j] != x[j]->bits && d->v[i] && fss_msb(x[j]->v[i], x[j]->bits))
                    return fss_ev_fail(ev, FSS_E_ARG, "%s: element %zu is selected and negative", name, i);
                y[j]->v[i] = d->v[i] ? x[j]->v[i] : 0;
            }
        return FSS_OK;
    }
    uint64_t *sh = (uint64_t *)fss_ev_alloc(ev, words * 8), *mine[2];
    if (!sh)
        return FSS_E_NOMEM;
    size_t counts[2];
    /* a wire's chunk: shares of r_d, r_x, r_d r_x (and u, r_d u) in its ring, and of the
     * output mask r_y, fresh; the wires' chunks in order, one message for all */
    for (int j = 0, at = 0; j < k && s == FSS_OK; at += (int)nsh[j], j++) {
        const int m = x[j]->bits, n = nbits[j], zext = n != m;
        uint64_t *w = sh + (size_t)at * cnt;
        uint64_t *rd = w, *rx = w + cnt, *rdx = w + 2 * cnt, *ry = w + (nsh[j] - 1) * cnt;
        uint64_t *u = zext ? w + 3 * cnt : NULL, *rdu = zext ? w + 4 * cnt : NULL;
        mine[j] = rd, counts[j] = cnt;
        if (ev->mode == FSS_MODE_DEALER) {
            for (size_t i = 0; i < cnt; i++) {
                rd[i] = d->v[i];
                rx[i] = x[j]->v[i];
                rdx[i] = d->v[i] ? x[j]->v[i] : 0;
                if (zext) {
                    u[i] = fss_msb(x[j]->v[i], m) << m;
                    rdu[i] = d->v[i] ? u[i] : 0;
                }
            }
            fss_ev_mixed M;
            if ((s = fss_ev_mixed_draw(ev, &M, w, (nsh[j] - 1) * cnt, ry, cnt, n)) == FSS_OK) {
                memcpy(y[j]->v, ry, cnt * 8);
                s = fss_ev_mixed_put(ev, &M);
            }
        } else if ((s = fss_ev_mixed_take(ev, w, (nsh[j] - 1) * cnt, ry, cnt, n)) == FSS_OK) {
            const fss_tensor *xj = x[j];
            FSS_EV_PARALLEL_FOR(ev, cnt)
            for (size_t i = 0; i < cnt; i++) /* my share of y^, reusing rd */
                rd[i] = fss_select_share(d->v[i], xj->v[i], rd[i], rx[i], rdx[i], ry[i], zext ? u[i] : 0,
                                         zext ? rdu[i] : 0, m, zext, ev->party);
        }
    }
    if (s == FSS_OK && ev->mode == FSS_MODE_DEALER)
        fss_ev_deal_reconstruct_parts(ev, k, counts, nbits);
    else if (s == FSS_OK) {
        uint64_t *outs[2] = {y[0]->v, k > 1 ? y[1]->v : NULL};
        s = fss_ev_reconstruct_parts(ev, k, (const uint64_t *const *)mine, counts, nbits, 0, outs);
    }
    fss_free_wiped(sh, words * 8);
    if (s != FSS_OK && !ev->err[0])
        fss_ev_fail(ev, s, "%s: %s", name, fss_status_str(s));
    ev->stats.seconds += fss_now() - t0;
    return s;
}

fss_status fss_gate_select(fss_eval *ev, const fss_tensor *d, const fss_tensor *x, fss_tensor *y)
{
    return select_common(ev, "select", d, 1, &x, &x->bits, &y);
}

fss_status fss_gate_select_zext(fss_eval *ev, const fss_tensor *d, const fss_tensor *x, int bits, fss_tensor *y)
{
    if (bits <= x->bits)
        return fss_ev_fail(ev, FSS_E_ARG, "select_zext: %d bits is not wider than the input's %d", bits, x->bits);
    return select_common(ev, "select_zext", d, 1, &x, &bits, &y);
}

fss_status fss_gate_select2(fss_eval *ev, const fss_tensor *d, const fss_tensor *x1, const fss_tensor *x2,
                            fss_tensor *y1, fss_tensor *y2)
{
    const fss_tensor *x[2] = {x1, x2};
    const int nbits[2] = {x1->bits, x2->bits};
    fss_tensor *y[2] = {y1, y2};
    return select_common(ev, "select2", d, 2, x, nbits, y);
}

fss_status fss_gate_relu(fss_eval *ev, const fss_tensor *x, fss_tensor *y)
{
    fss_tensor d = {0};
    fss_status s = fss_gate_drelu(ev, x, &d);
    if (s == FSS_OK)
        s = fss_gate_select(ev, &d, x, y);
    fss_tensor_free(&d);
    return s;
}

fss_status fss_gate_relu_ars(fss_eval *ev, const fss_tensor *x, int f, fss_tensor *y)
{
    if (f == 0)
        return fss_gate_relu(ev, x, y);
    if (f < 0 || f > x->bits - 2)
        return fss_ev_fail(ev, FSS_E_ARG, "relu_ars: shift %d out of range for %d bits", f, x->bits);
    fss_tensor t = {0}, d = {0};
    fss_status s = fss_gate_trunc_reduce(ev, x, f, &t); /* floor(x / 2^f) mod 2^(n-f): same sign */
    if (s == FSS_OK)
        s = fss_gate_drelu(ev, &t, &d);
    if (s == FSS_OK)
        s = fss_gate_select_zext(ev, &d, &t, x->bits, y);
    fss_tensor_free(&t);
    fss_tensor_free(&d);
    return s;
}

/* ---- carries by comparison (fss_eval_set_lean_shifts) ---------------------------------
 * A shift's carry c = 1{x < alpha} (x public, alpha the dealer's) from DPF comparison keys
 * (Sigma's control-bit trick: FSS_DPF_KEY_BYTES(bits, 1, 1) less the root (derived from a
 * seed, keys.c), 98 bytes at 12 bits, where a DCF with a 50-bit payload takes 278) gives
 * XOR shares. The parties reveal c^ = c ^ m under
 * the dealer's random bit m (z_0 ^ z_1 = m, one bit each way), and then
 * c = c^ + (1 - 2 c^) m is linear in the dealer's m (fss_carry_share): shares of m come
 * with the gate's other shares. A key: the comparison keys, then the packed bits z_b. */
static size_t carry_key_bytes(int bits, size_t cnt)
{
    const fss_dpf_params p = {bits, 1, 1};
    const fss_prim pr = fss_prim_dpf_cmp(p);
    return fss_ev_deal_bytes(&pr, cnt) + fss_packed_bytes(cnt, 1);
}

/* Dealer: carries of cnt instances at alpha (bits wide); m gets the mask bits. tmp: cnt
 * words of scratch. */
static fss_status carry_deal(fss_eval *ev, int bits, size_t cnt, const uint64_t *alpha, uint64_t *m, uint64_t *tmp)
{
    const fss_dpf_params p = {bits, 1, 1};
    const fss_prim pr = fss_prim_dpf_cmp(p);
    const size_t nb = fss_packed_bytes(cnt, 1);
    uint8_t *buf = (uint8_t *)fss_ev_alloc(ev, nb);
    fss_status s = buf ? fss_ev_deal(ev, &pr, cnt, alpha, NULL) : FSS_E_NOMEM;
    if (s == FSS_OK && (s = fss_ev_random(ev, m, cnt, 1)) == FSS_OK)
        s = fss_ev_random(ev, tmp, cnt, 1); /* z_0 */
    for (int b = 0; b < 2 && s == FSS_OK; b++) {
        if (b)
            for (size_t i = 0; i < cnt; i++)
                tmp[i] ^= m[i]; /* z_1 = z_0 ^ m */
        fss_pack_bits(tmp, cnt, 1, buf);
        s = fss_ev_put_append(ev, b, buf, nb);
    }
    if (buf)
        fss_free_wiped(buf, nb);
    return s;
}

/* Party: my XOR share of c^ = c ^ m for each x (out), to be revealed. */
static fss_status carry_take(fss_eval *ev, int bits, size_t cnt, const uint64_t *x, uint64_t *out, uint64_t *tmp)
{
    const fss_dpf_params p = {bits, 1, 1};
    const fss_prim pr = fss_prim_dpf_cmp(p);
    const void *zb;
    fss_status s = fss_ev_take(ev, &pr, cnt, x, out);
    if (s == FSS_OK && (s = fss_ev_read(ev, fss_packed_bytes(cnt, 1), &zb)) == FSS_OK) {
        fss_ev_unpack_bits(ev, (const uint8_t *)zb, cnt, 1, tmp);
        for (size_t i = 0; i < cnt; i++)
            out[i] ^= tmp[i];
    }
    return s;
}

/* ---- truncations ----------------------------------------------------------------------
 * With x^ = x + r (n bits), high parts H = v >> f and low parts L = v mod 2^f:
 *   x >> f = H(x^) - H(r) - 1{L(x^) < L(r)} + 2^(n-f) 1{x^ < r}      (x read unsigned)
 * exactly (the last term is the wrap of x + r past 2^n). Truncate-reduce works mod
 * 2^(n-f), where the last term vanishes: one f-bit DCF. The arithmetic shift is the
 * unsigned shift of x + 2^(n-1) less 2^(n-1-f): an f-bit and an n-bit DCF. */
/* The one-round shift (the formula above; y already made): its carries from DCFs. */
static fss_status trunc_one_round(fss_eval *ev, const fss_tensor *x, int f, int arith, fss_tensor *y)
{
    const int n = x->bits, m = arith ? n : n - f; /* output bits */
    const char *name = arith ? "ars" : "trunc_reduce";
    const size_t cnt = x->count;
    fss_status s = FSS_OK;
    double t0 = fss_now();
    /* The wrap term 2^(n-f) w needs w only mod 2^f: shares of w mod 2^f, shifted up by
     * n - f, are shares of 2^(n-f) w mod 2^n. So the n-bit DCF outputs f bits, not n. */
    const fss_dcf_params plo = {f, m, 1}, phi = {n, f, 1};
    const fss_prim prlo = fss_prim_dcf(plo), prhi = fss_prim_dcf(phi);
    const size_t kblo = fss_ev_deal_bytes(&prlo, cnt), kbhi = arith ? fss_ev_deal_bytes(&prhi, cnt) : 0;
    uint64_t *tmp = (uint64_t *)fss_ev_alloc(ev, 3 * cnt * 8);
    if (!tmp) {
        s = FSS_E_NOMEM;
        goto done;
    }
    if (ev->mode == FSS_MODE_DEALER) {
        /* party b's key: (arithmetic shift) the wrap DCF keys, then the low DCF keys */
        uint64_t *alo = tmp, *beta = tmp + cnt, *vals = tmp + 2 * cnt;
        for (size_t i = 0; i < cnt; i++) {
            alo[i] = fss_ring_reduce(x->v[i], f);
            beta[i] = fss_ring_mask(m); /* -1 */
        }
        for (int b = 0; b < 2 && s == FSS_OK; b++)
            s = fss_ev_put_begin(ev, b, FSS_KEY_TRUNC, cnt, kblo + kbhi);
        if (s == FSS_OK && arith) { /* in the order the party evaluates them */
            for (size_t i = 0; i < cnt; i++)
                beta[i] = 1;
            s = fss_ev_deal(ev, &prhi, cnt, x->v, beta);
            for (size_t i = 0; i < cnt; i++)
                beta[i] = fss_ring_mask(m);
        }
        if (s == FSS_OK)
            s = fss_ev_deal(ev, &prlo, cnt, alo, beta);
        /* parties share r_y - H(r), fresh; the output mask r_y from it */
        if (s == FSS_OK && (s = fss_ev_fresh_deal(ev, vals, cnt, m)) == FSS_OK)
            for (size_t i = 0; i < cnt; i++)
                y->v[i] = fss_ring_add(vals[i], x->v[i] >> f, m);
        fss_ev_deal_reconstruct(ev, cnt, m);
    } else {
        uint64_t *xs = tmp, *out = tmp + cnt, *part = tmp + 2 * cnt;
        if ((s = fss_ev_open(ev, FSS_KEY_TRUNC, cnt)) != FSS_OK)
            goto done;
        FSS_EV_PARALLEL_FOR(ev, cnt)
        for (size_t i = 0; i < cnt; i++)
            xs[i] = fss_trunc_in(x->v[i], n, arith);
        if (arith && (s = fss_ev_take(ev, &prhi, cnt, xs, part)) != FSS_OK)
            goto done;
        FSS_EV_PARALLEL_FOR(ev, cnt)
        for (size_t i = 0; i < cnt; i++) {
            out[i] = fss_trunc_pre(arith ? part[i] : 0, xs[i], n, f, arith, ev->party);
            xs[i] = fss_ring_reduce(xs[i], f); /* the low DCF's input */
        }
        if ((s = fss_ev_take(ev, &prlo, cnt, xs, part)) != FSS_OK || (s = fss_ev_close(ev)) != FSS_OK ||
            (s = fss_ev_fresh_take(ev, xs, cnt, m)) != FSS_OK) /* [r_y - H(r)]_b, over the spent inputs */
            goto done;
        FSS_EV_PARALLEL_FOR(ev, cnt)
        for (size_t i = 0; i < cnt; i++)
            out[i] = fss_trunc_share(out[i], part[i], xs[i], m);
        s = fss_ev_reconstruct(ev, out, cnt, m, 0, y->v);
    }
done:
    if (s != FSS_OK && !ev->err[0])
        fss_ev_fail(ev, s, "%s: %s", name, fss_status_str(s));
    if (tmp)
        fss_free_wiped(tmp, 3 * cnt * 8);
    ev->stats.seconds += fss_now() - t0;
    return s;
}


static fss_status trunc_common(fss_eval *ev, const fss_tensor *x, int f, int arith, fss_tensor *y)
{
    const int n = x->bits, m = arith ? n : n - f; /* output bits */
    const char *name = arith ? "ars" : "trunc_reduce";
    if (f < 0 || f >= n)
        return fss_ev_fail(ev, FSS_E_ARG, "%s: shift %d out of range for %d bits", name, f, n);
    const int yscale = x->scale - f > 0 ? x->scale - f : 0;
    fss_status s = fss_tensor_init(y, x->ndim, x->shape, m, yscale);
    if (s != FSS_OK)
        return fss_ev_fail(ev, s, "%s: cannot make the output", name);
    const size_t cnt = x->count;
    if (ev->mode == FSS_MODE_CLEAR) {
        for (size_t i = 0; i < cnt; i++)
            y->v[i] = arith ? fss_ring_from_signed(fss_floor_shift(fss_ring_to_signed(x->v[i], n), f), n) : (x->v[i] >> f);
        return FSS_OK;
    }
    if (f == 0) { /* nothing to shift: masks and masked values carry over */
        memcpy(y->v, x->v, cnt * 8);
        return FSS_OK;
    }
    if (!fss_ev_lean(ev, cnt))
        return trunc_one_round(ev, x, f, arith, y);
    /* lean (fss_eval_set_lean_shifts): the carries by comparison, the wrap's (arithmetic
     * shift) and the low one's; their masks' shares after r_y - H(r)'s: the low carry's,
     * then the wrap's */
    double t0 = fss_now();
    const int ncar = arith ? 2 : 1, nsh = 1 + ncar;
    const size_t kb = carry_key_bytes(f, cnt) + (arith ? carry_key_bytes(n, cnt) : 0);
    const size_t words = (3 + 2 * ncar + nsh) * cnt;
    uint64_t *tmp = (uint64_t *)fss_ev_alloc(ev, words * 8);
    if (!tmp) {
        s = FSS_E_NOMEM;
        goto done;
    }
    /* xs, out, aux: cnt each; car (the carries' XOR shares) and ch (their revealed c^):
     * ncar cnt each, the wrap's first; sh: nsh cnt */
    uint64_t *xs = tmp, *out = tmp + cnt, *aux = tmp + 2 * cnt, *car = tmp + 3 * cnt, *ch = car + ncar * cnt;
    uint64_t *sh = ch + ncar * cnt;
    if (ev->mode == FSS_MODE_DEALER) {
        for (size_t i = 0; i < cnt; i++)
            xs[i] = fss_ring_reduce(x->v[i], f);
        for (int b = 0; b < 2 && s == FSS_OK; b++)
            s = fss_ev_put_begin(ev, b, FSS_KEY_TRUNC_CMP, cnt, kb);
        if (s == FSS_OK && arith) /* in the order the party evaluates them */
            s = carry_deal(ev, n, cnt, x->v, sh + 2 * cnt, aux);
        if (s == FSS_OK)
            s = carry_deal(ev, f, cnt, xs, sh + cnt, aux);
        fss_ev_deal_reconstruct(ev, ncar * cnt, 1);
        /* parties share the carries' mask bits, and r_y - H(r), fresh (the output mask r_y from it) */
        fss_ev_mixed M;
        if (s == FSS_OK && (s = fss_ev_mixed_draw(ev, &M, sh + cnt, (nsh - 1) * cnt, sh, cnt, m)) == FSS_OK) {
            for (size_t i = 0; i < cnt; i++)
                y->v[i] = fss_ring_add(sh[i], x->v[i] >> f, m);
            s = fss_ev_mixed_put(ev, &M);
        }
        fss_ev_deal_reconstruct(ev, cnt, m);
    } else {
        if ((s = fss_ev_open(ev, FSS_KEY_TRUNC_CMP, cnt)) != FSS_OK)
            goto done;
        FSS_EV_PARALLEL_FOR(ev, cnt)
        for (size_t i = 0; i < cnt; i++)
            xs[i] = fss_trunc_in(x->v[i], n, arith);
        if (arith && (s = carry_take(ev, n, cnt, xs, car, aux)) != FSS_OK)
            goto done;
        FSS_EV_PARALLEL_FOR(ev, cnt)
        for (size_t i = 0; i < cnt; i++)
            aux[i] = fss_ring_reduce(xs[i], f); /* the low carry's input */
        if ((s = carry_take(ev, f, cnt, aux, car + (ncar - 1) * cnt, out)) != FSS_OK ||
            (s = fss_ev_close(ev)) != FSS_OK || (s = fss_ev_reconstruct(ev, car, ncar * cnt, 1, 1, ch)) != FSS_OK ||
            (s = fss_ev_mixed_take(ev, sh + cnt, (nsh - 1) * cnt, sh, cnt, m)) != FSS_OK)
            goto done;
        FSS_EV_PARALLEL_FOR(ev, cnt)
        for (size_t i = 0; i < cnt; i++) {
            const uint64_t h = arith ? fss_carry_share(ch[i], sh[2 * cnt + i], ev->party) : 0;
            const uint64_t l = 0 - fss_carry_share(ch[(ncar - 1) * cnt + i], sh[cnt + i], ev->party);
            out[i] = fss_trunc_share(fss_trunc_pre(h, xs[i], n, f, arith, ev->party), l, sh[i], m);
        }
        s = fss_ev_reconstruct(ev, out, cnt, m, 0, y->v);
    }
done:
    if (s != FSS_OK && !ev->err[0])
        fss_ev_fail(ev, s, "%s: %s", name, fss_status_str(s));
    if (tmp)
        fss_free_wiped(tmp, words * 8);
    ev->stats.seconds += fss_now() - t0;
    return s;
}

/* ---- the shift of a value known to lie in [0, 2^(n-1)) (a ReLU's output) -------------
 * Then the wrap 1{x^ < r} of the formula above is fss_msb(r) (1 - fss_msb(x^)): x + r passes 2^n
 * only when fss_msb(r) = 1, and then exactly when fss_msb(x^) = 0. That is public fss_msb(x^) times the
 * dealer's bit, so shares of 2^(n-f) fss_msb(r) replace the n-bit DCF of the signed shift:
 * one f-bit DCF in all (Sigma's truncation of a value with a known sign). */
fss_status fss_gate_ars_nonneg(fss_eval *ev, const fss_tensor *x, int f, fss_tensor *y)
{
    const int n = x->bits;
    if (f < 0 || f >= n)
        return fss_ev_fail(ev, FSS_E_ARG, "ars_nonneg: shift %d out of range for %d bits", f, n);
    fss_status s = fss_tensor_init(y, x->ndim, x->shape, n, x->scale - f > 0 ? x->scale - f : 0);
    if (s != FSS_OK)
        return fss_ev_fail(ev, s, "ars_nonneg: cannot make the output");
    const size_t cnt = x->count;
    if (ev->mode == FSS_MODE_CLEAR) {
        for (size_t i = 0; i < cnt; i++) {
            if (fss_msb(x->v[i], n))
                return fss_ev_fail(ev, FSS_E_ARG, "ars_nonneg: element %zu is negative: the model walk "
                                                  "called the non-negative shift on a signed value", i);
            y->v[i] = x->v[i] >> f;
        }
        return FSS_OK;
    }
    if (f == 0) {
        memcpy(y->v, x->v, cnt * 8);
        return FSS_OK;
    }
    double t0 = fss_now();
    const fss_dcf_params p = {f, n, 1};
    const fss_prim pr = fss_prim_dcf(p);
    const int lean = fss_ev_lean(ev, cnt), nsh = lean ? 3 : 2; /* shares an element: r_y - H(r), the wrap, m */
    const size_t kb = lean ? carry_key_bytes(f, cnt) : fss_ev_deal_bytes(&pr, cnt);
    const size_t words = (lean ? 5 : 3) * cnt;
    uint64_t *tmp = (uint64_t *)fss_ev_alloc(ev, words * 8);
    if (!tmp)
        return FSS_E_NOMEM;
    /* lo: cnt; sh: nsh cnt; aux: the lean path's mask bits and c^ (cnt), or, one round, the
     * DCF's payload and output where sh's first values go after them */
    uint64_t *lo = tmp, *aux = tmp + cnt, *sh = lean ? tmp + 2 * cnt : tmp + cnt;
    if (ev->mode == FSS_MODE_DEALER) {
        for (size_t i = 0; i < cnt; i++)
            lo[i] = fss_ring_reduce(x->v[i], f);
        for (int b = 0; b < 2 && s == FSS_OK; b++)
            s = fss_ev_put_begin(ev, b, lean ? FSS_KEY_TRUNC_CMP : FSS_KEY_TRUNC_NONNEG, cnt, kb);
        if (s == FSS_OK && lean) /* the carry 1{L(x^) < L(r)}, its mask bits to sh[2 cnt..] */
            s = carry_deal(ev, f, cnt, lo, sh + 2 * cnt, aux);
        else if (s == FSS_OK) {
            for (size_t i = 0; i < cnt; i++)
                aux[i] = fss_ring_mask(n); /* -1: shares of -1{L(x^) < L(r)} */
            s = fss_ev_deal(ev, &pr, cnt, lo, aux);
        }
        /* shares of 2^(n-f) fss_msb(r) (and of m), and of r_y - H(r), fresh (the output mask r_y from it) */
        fss_ev_mixed M;
        if (s == FSS_OK && (s = fss_ev_mixed_draw(ev, &M, sh + cnt, (nsh - 1) * cnt, sh, cnt, n)) == FSS_OK) {
            for (size_t i = 0; i < cnt; i++) {
                y->v[i] = fss_ring_add(sh[i], x->v[i] >> f, n);
                sh[cnt + i] = fss_msb(x->v[i], n) << (n - f);
            }
            if (lean)
                fss_ev_deal_reconstruct(ev, cnt, 1);
            s = fss_ev_mixed_put(ev, &M);
        }
        fss_ev_deal_reconstruct(ev, cnt, n);
    } else {
        if ((s = fss_ev_open(ev, lean ? FSS_KEY_TRUNC_CMP : FSS_KEY_TRUNC_NONNEG, cnt)) == FSS_OK) {
            for (size_t i = 0; i < cnt; i++)
                lo[i] = fss_ring_reduce(x->v[i], f);
            s = lean ? carry_take(ev, f, cnt, lo, sh, aux) : fss_ev_take(ev, &pr, cnt, lo, sh);
            if (s == FSS_OK)
                s = fss_ev_close(ev);
        }
        if (s == FSS_OK && lean) /* c^ to aux */
            s = fss_ev_reconstruct(ev, sh, cnt, 1, 1, aux);
        if (s == FSS_OK) { /* (one round: the DCF's share of the low carry, negated, to lo) */
            if (!lean)
                memcpy(lo, sh, cnt * 8);
            s = fss_ev_mixed_take(ev, sh + cnt, (nsh - 1) * cnt, sh, cnt, n);
        }
        if (s == FSS_OK) {
            FSS_EV_PARALLEL_FOR(ev, cnt)
            for (size_t i = 0; i < cnt; i++) {
                const uint64_t part = lean ? 0 - fss_carry_share(aux[i], sh[2 * cnt + i], ev->party) : lo[i];
                lo[i] = fss_ars_nonneg_share(part, x->v[i], sh[i], sh[cnt + i], n, f, ev->party);
            }
            s = fss_ev_reconstruct(ev, lo, cnt, n, 0, y->v);
        }
    }
    if (s != FSS_OK && !ev->err[0])
        fss_ev_fail(ev, s, "ars_nonneg: %s", fss_status_str(s));
    fss_free_wiped(tmp, words * 8);
    ev->stats.seconds += fss_now() - t0;
    return s;
}

fss_status fss_gate_trunc_reduce(fss_eval *ev, const fss_tensor *x, int f, fss_tensor *y)
{
    return trunc_common(ev, x, f, 0, y);
}

fss_status fss_gate_ars(fss_eval *ev, const fss_tensor *x, int f, fss_tensor *y)
{
    return trunc_common(ev, x, f, 1, y);
}

/* ---- the shift of a value known to lie in (-2^(n-2), 2^(n-2)) --------------------------
 * x + 2^(n-2) then lies in [0, 2^(n-1)): the non-negative shift applies (one f-bit DCF,
 * not ars's f-bit and n-bit DCFs), and floor((x + 2^(n-2)) / 2^f) - 2^(n-2-f) = floor(x /
 * 2^f) exactly. The offsets are public: no key. */
fss_status fss_gate_ars_bounded(fss_eval *ev, const fss_tensor *x, int f, fss_tensor *y)
{
    const int n = x->bits;
    if (f < 0 || f > n - 3)
        return fss_ev_fail(ev, FSS_E_ARG, "ars_bounded: shift %d out of range for %d bits", f, n);
    if (ev->mode == FSS_MODE_CLEAR)
        for (size_t i = 0; i < x->count; i++) {
            const int64_t v = fss_ring_to_signed(x->v[i], n);
            if (v >= ((int64_t)1 << (n - 2)) || v < -((int64_t)1 << (n - 2)))
                return fss_ev_fail(ev, FSS_E_ARG,
                                   "ars_bounded: element %zu is %lld, outside the +-2^%d it needs: the model needs "
                                   "a wider ring or a smaller scale", i, (long long)v, n - 2);
        }
    const uint64_t up = (uint64_t)1 << (n - 2), down = fss_ring_from_signed(-((int64_t)1 << (n - 2 - f)), n);
    fss_tensor a = {0}, b = {0};
    fss_status s = fss_gate_add_const(ev, x, &up, 1, &a);
    if (s == FSS_OK)
        s = fss_gate_ars_nonneg(ev, &a, f, &b);
    if (s == FSS_OK)
        s = fss_gate_add_const(ev, &b, &down, 1, y);
    fss_tensor_free(&a);
    fss_tensor_free(&b);
    return s;
}
