/* More DCF gates: the one-round ReLU, sign extension, and Orca's stochastic truncation,
 * with the masked-wire bookkeeping of gates_cmp.c (DESIGN sections 2 and 6). */
#include <string.h>

#include "eval_internal.h"
#include "fss/dcf.h"
#include "fss/gate_body.h"
#include "fss/gates.h"


/* Every failure message of a gate starts with the gate's name: prefix what the lower
 * layer (key stream, link, DCF) wrote, once. */
static fss_status gate_fail(fss_eval *ev, fss_status s, const char *name)
{
    char prev[sizeof ev->err];
    memcpy(prev, ev->err, sizeof prev);
    prev[sizeof prev - 1] = 0;
    size_t nl = strlen(name);
    if (strncmp(prev, name, nl) == 0 && prev[nl] == ':')
        return s;
    return fss_ev_fail(ev, s, "%s: %s", name, prev[0] ? prev : fss_status_str(s));
}

/* The end of every gate here: name the failure, wipe and free the gate's temporaries
 * (words of them), count the gate's time. */
static fss_status gate_end(fss_eval *ev, fss_status s, const char *name, uint64_t *tmp, size_t words, double t0)
{
    if (s != FSS_OK)
        gate_fail(ev, s, name);
    if (tmp)
        fss_free_wiped(tmp, words * 8);
    ev->stats.seconds += fss_now() - t0;
    return s;
}

/* Dealer: each party's key for this gate is cnt DCF keys of p (f(x) = beta if x < alpha),
 * generated and written a step of instances at a time. */
static fss_status dcf_deal(fss_eval *ev, fss_key_kind kind, fss_dcf_params p, size_t cnt, const uint64_t *alpha,
                           const uint64_t *beta)
{
    const fss_prim pr = fss_prim_dcf(p);
    const size_t kb = fss_ev_deal_bytes(&pr, cnt);
    fss_status s = FSS_OK;
    for (int b = 0; b < 2 && s == FSS_OK; b++)
        s = fss_ev_put_begin(ev, b, kind, cnt, kb);
    return s == FSS_OK ? fss_ev_deal(ev, &pr, cnt, alpha, beta) : s;
}

/* Party: its key for this gate, cnt DCF keys of p, read and evaluated at x a step at a time. */
static fss_status dcf_take_eval(fss_eval *ev, fss_key_kind kind, fss_dcf_params p, size_t cnt, const uint64_t *x,
                                uint64_t *out)
{
    const fss_prim pr = fss_prim_dcf(p);
    fss_status s = fss_ev_open(ev, kind, cnt);
    if (s == FSS_OK)
        s = fss_ev_take(ev, &pr, cnt, x, out);
    return s == FSS_OK ? fss_ev_close(ev) : s;
}

/* ---- one-round ReLU -------------------------------------------------------------------
 * LLAMA's idea (PETS 2022, the ReLU spline gate; Boyle et al., Eurocrypt 2021, splines
 * from one DCF): a DCF whose payload is the vector (1, r) scaled gives shares of both the
 * selector and the selector times the mask, so y = d (x^ - r) is linear in the shares.
 * Our selector comes from the DReLU decomposition of gates_cmp.c instead of LLAMA's
 * n-bit interval containment, which needs one (n-1)-bit DCF evaluation, not two n-bit:
 * with a = fss_msb(x^), m = fss_msb(r), c = 1{x^' < r'} (' = the low n-1 bits),
 *   d = 1{x >= 0} = (1 ^ a) ^ e,  e = m ^ c = m + (1 - 2m) c,  so d = (1 - a) + (2a - 1) e,
 *   y = d (x^ - r) = (1 - a)(x^ - r) + (2a - 1)(m x^ - m r + (1 - 2m) c (x^ - r)).
 * The DCF at alpha = r' pays beta = (1 - 2m)(1, r) (g = 2, n-bit values); the dealer
 * shares m and the two constants K_a of the public case a (with r_y folded in):
 *   K_0 = r_y - r + m r,  K_1 = r_y - m r
 * (K_1 fresh, as r_y is drawn for it: a seed a party, and r_y = K_1 + m r),
 * and party b sends [b = 0](1 - a) x^ + [K_a]_b + (2a - 1)([m]_b x^ + c0_b x^ - c1_b).
 *
 * relu_tag: the same in a c-bit comparison ring (x within +-2^(c-1), so x's low c bits
 * carry its sign): a = fss_msb(x^, c), m = fss_msb(r, c), the DCF over c - 1 bits, the
 * payload and the shares in n bits as before. A tag t (mask r_t) rides on the same d: a
 * third payload (1 - 2m) r_t and the constants K_0, K_1 of r_t (with r_yt) give d t by
 * the same formula, revealed in the same round. */
static fss_status relu_tag(fss_eval *ev, const char *name, const fss_tensor *x, int c, const fss_tensor *t,
                           fss_tensor *y, fss_tensor *yt)
{
    /* payloads and shares an element: explicit K_0, m (and t's K_0), then fresh K_1 (and t's) */
    const int n = x->bits, g = t ? 3 : 2, ns = t ? 5 : 3, ne = t ? 3 : 2;
    if (n < 2 || c < 2 || c > n || !t != !yt || (t && (t->bits != n || t->count != x->count)))
        return fss_ev_fail(ev, FSS_E_ARG, "%s: needs 2 <= c <= n bits (have %d, %d), and a tag of x's count and ring "
                           "with its output, or neither", name, c, n);
    const size_t cnt = x->count;
    const int64_t lim = c < 64 ? (int64_t)1 << (c - 1) : INT64_MAX;
    for (size_t i = 0; c < n && ev->mode == FSS_MODE_CLEAR && i < cnt; i++) {
        const int64_t v = fss_ring_to_signed(x->v[i], n);
        if (v >= lim || v < -lim)
            return fss_ev_fail(ev, FSS_E_ARG, "%s: element %zu is %lld, outside the +-2^%d its %d-bit sign takes",
                               name, i, (long long)v, c - 1, c);
    }
    fss_status s = fss_tensor_init(y, x->ndim, x->shape, n, x->scale);
    if (s == FSS_OK && t)
        s = fss_tensor_init(yt, t->ndim, t->shape, n, t->scale);
    if (s != FSS_OK)
        return fss_ev_fail(ev, s, "%s: cannot make the output", name);
    const uint64_t mask = fss_ring_mask(n);
    if (ev->mode == FSS_MODE_CLEAR) {
        for (size_t i = 0; i < cnt; i++) {
            const int neg = fss_msb(x->v[i], c); /* in range: the sign of x */
            y->v[i] = neg ? 0 : x->v[i];
            if (t)
                yt->v[i] = neg ? 0 : t->v[i];
        }
        return FSS_OK;
    }
    if (cnt == 0)
        return FSS_OK;
    double t0 = fss_now();
    const fss_dcf_params p = {c - 1, n, g};
    const size_t words = (1 + (size_t)g + (size_t)ns + (t ? 2 : 1)) * cnt;
    uint64_t *tmp = (uint64_t *)fss_ev_alloc(ev, words * 8);
    if (!tmp) {
        s = FSS_E_NOMEM;
        goto done;
    }
    /* sh: K_0, K_1, m, then t's K_0, K_1; out: y's and t's shares, then masked values */
    uint64_t *lo = tmp, *pay = tmp + cnt, *sh = pay + (size_t)g * cnt, *out = sh + (size_t)ns * cnt;
    if (ev->mode == FSS_MODE_DEALER) {
        for (size_t i = 0; i < cnt; i++) {
            const uint64_t r = x->v[i], sgn = fss_msb(r, c) ? mask : 1; /* 1 - 2m */
            lo[i] = fss_ring_reduce(r, c - 1);
            pay[g * i] = sgn;
            pay[g * i + 1] = fss_ring_mul(sgn, r, n);
            if (t)
                pay[g * i + 2] = fss_ring_mul(sgn, t->v[i], n);
        }
        fss_ev_mixed M;
        if ((s = dcf_deal(ev, FSS_KEY_RELU1, p, cnt, lo, pay)) != FSS_OK ||
            (s = fss_ev_mixed_draw(ev, &M, sh, (size_t)ne * cnt, sh + (size_t)ne * cnt, (size_t)(ns - ne) * cnt, n)) !=
                FSS_OK)
            goto done;
        for (size_t i = 0; i < cnt; i++) {
            const uint64_t m = fss_msb(x->v[i], c), r = x->v[i], mr = m ? r : 0;
            y->v[i] = (sh[ne * cnt + i] + mr) & mask;
            sh[i] = (y->v[i] - r + mr) & mask;
            sh[cnt + i] = m;
            if (t) {
                const uint64_t rt = t->v[i], mrt = m ? rt : 0;
                yt->v[i] = (sh[(ne + 1) * cnt + i] + mrt) & mask;
                sh[2 * cnt + i] = (yt->v[i] - rt + mrt) & mask;
            }
        }
        s = fss_ev_mixed_put(ev, &M);
        fss_ev_deal_reconstruct(ev, (t ? 2 : 1) * cnt, n);
    } else {
        for (size_t i = 0; i < cnt; i++)
            lo[i] = fss_ring_reduce(x->v[i], c - 1);
        if ((s = dcf_take_eval(ev, FSS_KEY_RELU1, p, cnt, lo, pay)) != FSS_OK ||
            (s = fss_ev_mixed_take(ev, sh, (size_t)ne * cnt, sh + (size_t)ne * cnt, (size_t)(ns - ne) * cnt, n)) != FSS_OK)
            goto done;
        for (size_t i = 0; i < cnt; i++) { /* my shares of y^ (and yt^) */
            const uint64_t a = fss_msb(x->v[i], c), *k = sh + i;
            out[i] = fss_relu1_share_a(a, x->v[i], pay[g * i], pay[g * i + 1], k[0], k[ne * cnt], k[cnt], n, ev->party);
            if (t)
                out[cnt + i] = fss_relu1_share_a(a, t->v[i], pay[g * i], pay[g * i + 2], k[2 * cnt], k[(ne + 1) * cnt],
                                                 k[cnt], n, ev->party);
        }
        if (!t) /* y's alone: straight into it */
            s = fss_ev_reconstruct(ev, out, cnt, n, 0, y->v);
        else if ((s = fss_ev_reconstruct(ev, out, 2 * cnt, n, 0, lo)) == FSS_OK) { /* into lo, on into pay: done */
            memcpy(y->v, lo, cnt * 8);
            memcpy(yt->v, lo + cnt, cnt * 8);
        }
    }
done:
    return gate_end(ev, s, name, tmp, words, t0);
}

fss_status fss_gate_relu_1round(fss_eval *ev, const fss_tensor *x, fss_tensor *y)
{
    return relu_tag(ev, "relu_1round", x, x->bits, NULL, y, NULL);
}

fss_status fss_gate_relu_tag(fss_eval *ev, const fss_tensor *x, int c, const fss_tensor *t, fss_tensor *y,
                             fss_tensor *yt)
{
    return relu_tag(ev, "relu_tag", x, c, t, y, yt);
}

/* ---- sign extension ---------------------------------------------------------------------
 * x of m bits read signed, y = x in n >= m bits. With x' = x + 2^(m-1) (mod 2^m, read
 * unsigned) sext(x) = x' - 2^(m-1) over the integers; x' has mask r and masked value
 * x'^ = x^ + 2^(m-1), and x' = x'^ - r + 2^m 1{x'^ < r}. An m-bit DCF at alpha = r gives
 * the wrap bit; it is needed mod 2^(n-m) only (shares shifted up by m), so the DCF pays
 * n - m bits. The dealer shares r_y - r, fresh (fss_ev_fresh_deal). One round. */
static fss_status sext_core(fss_eval *ev, const fss_tensor *x, int n, fss_tensor *y, const char *name)
{
    const int m = x->bits;
    if (n < m || n > 64)
        return fss_ev_fail(ev, FSS_E_ARG, "%s: cannot extend %d bits to %d", name, m, n);
    fss_status s = fss_tensor_init(y, x->ndim, x->shape, n, x->scale);
    if (s != FSS_OK)
        return fss_ev_fail(ev, s, "%s: cannot make the output", name);
    const size_t cnt = x->count;
    if (ev->mode == FSS_MODE_CLEAR) {
        for (size_t i = 0; i < cnt; i++)
            y->v[i] = fss_ring_sext(x->v[i], m, n);
        return FSS_OK;
    }
    if (n == m || cnt == 0) { /* nothing to extend: masks and masked values carry over */
        memcpy(y->v, x->v, cnt * 8);
        return FSS_OK;
    }
    double t0 = fss_now();
    const uint64_t nmask = fss_ring_mask(n);
    const fss_dcf_params p = {m, n - m, 1};
    uint64_t *tmp = (uint64_t *)fss_ev_alloc(ev, 3 * cnt * 8);
    if (!tmp) {
        s = FSS_E_NOMEM;
        goto done;
    }
    uint64_t *xs = tmp, *w = tmp + cnt, *sh = tmp + 2 * cnt;
    if (ev->mode == FSS_MODE_DEALER) {
        for (size_t i = 0; i < cnt; i++)
            w[i] = 1;
        if ((s = dcf_deal(ev, FSS_KEY_SEXT, p, cnt, x->v, w)) != FSS_OK ||
            (s = fss_ev_fresh_deal(ev, sh, cnt, n)) != FSS_OK) /* r_y - r, fresh */
            goto done;
        for (size_t i = 0; i < cnt; i++)
            y->v[i] = (sh[i] + x->v[i]) & nmask;
        fss_ev_deal_reconstruct(ev, cnt, n);
    } else {
        for (size_t i = 0; i < cnt; i++)
            xs[i] = fss_sext_in(x->v[i], m);
        if ((s = dcf_take_eval(ev, FSS_KEY_SEXT, p, cnt, xs, w)) != FSS_OK ||
            (s = fss_ev_fresh_take(ev, sh, cnt, n)) != FSS_OK)
            goto done;
        for (size_t i = 0; i < cnt; i++)
            xs[i] = fss_sext_share(w[i], sh[i], xs[i], m, n, ev->party);
        s = fss_ev_reconstruct(ev, xs, cnt, n, 0, y->v);
    }
done:
    return gate_end(ev, s, name, tmp, 3 * cnt, t0);
}

fss_status fss_gate_sext(fss_eval *ev, const fss_tensor *x, int bits_out, fss_tensor *y)
{
    return sext_core(ev, x, bits_out, y, "sext");
}

/* ---- stochastic truncation (Orca, IEEE S&P 2024) ----------------------------------------
 * Orca's StochasticTruncate is a stochastic truncate-reduce to n - f bits followed by a
 * sign extension back to n bits. The dealer draws t uniform in [0, 2^f); x + t has mask
 * r - t and the same masked value x^, so the exact truncate-reduce of x + t (one f-bit
 * DCF, as trunc_reduce in gates_cmp.c) is
 *   z = floor((x + t) / 2^f) mod 2^(n-f)
 *     = H(x^) - H(r - t) - 1{L(x^) < L(r - t)}                    (H = >> f, L = mod 2^f),
 * i.e. floor(x / 2^f) plus 1 exactly when (x mod 2^f) + t >= 2^f: with probability
 * (x mod 2^f) / 2^f, never when 2^f divides x. Sign extension (above) then reads z as a
 * signed (n-f)-bit value, which is exact while floor((x + t) / 2^f) < 2^(n-f-1), i.e. for
 * x <= 2^(n-1) - 2^f. Two rounds (z^ is revealed in between). */
fss_status fss_gate_trunc_stochastic(fss_eval *ev, const fss_tensor *x, int f, fss_tensor *y)
{
    static const char name[] = "trunc_stochastic";
    const int n = x->bits, m = n - f;
    if (f < 0 || f >= n)
        return fss_ev_fail(ev, FSS_E_ARG, "%s: shift %d out of range for %d bits", name, f, n);
    const int yscale = x->scale - f > 0 ? x->scale - f : 0;
    const size_t cnt = x->count;
    fss_status s;
    if (ev->mode == FSS_MODE_CLEAR || f == 0 || cnt == 0) {
        if ((s = fss_tensor_init(y, x->ndim, x->shape, n, yscale)) != FSS_OK)
            return fss_ev_fail(ev, s, "%s: cannot make the output", name);
        for (size_t i = 0; i < cnt; i++) /* the clear walk is the exact floor; f = 0 copies */
            y->v[i] = ev->mode == FSS_MODE_CLEAR
                          ? fss_ring_from_signed(fss_floor_shift(fss_ring_to_signed(x->v[i], n), f), n)
                          : x->v[i];
        return FSS_OK;
    }
    fss_tensor z = {0};
    if ((s = fss_tensor_init(&z, x->ndim, x->shape, m, yscale)) != FSS_OK)
        return fss_ev_fail(ev, s, "%s: cannot make the truncated wire", name);
    double t0 = fss_now();
    const uint64_t fmask = fss_ring_mask(f), zmask = fss_ring_mask(m);
    const fss_dcf_params p = {f, m, 1};
    uint64_t *tmp = (uint64_t *)fss_ev_alloc(ev, 3 * cnt * 8);
    if (!tmp) {
        s = FSS_E_NOMEM;
        goto done;
    }
    uint64_t *lo = tmp, *c = tmp + cnt, *sh = tmp + 2 * cnt;
    if (ev->mode == FSS_MODE_DEALER) {
        uint64_t *t = sh; /* the rounding offsets, overwritten by the shares below */
        if ((s = fss_ev_random(ev, t, cnt, f)) != FSS_OK)
            goto done;
        for (size_t i = 0; i < cnt; i++) {
            uint64_t rt = fss_ring_sub(x->v[i], t[i], n); /* the mask of x + t */
            lo[i] = rt & fmask;
            c[i] = zmask; /* beta = -1 */
            sh[i] = rt >> f;
        }
        if ((s = dcf_deal(ev, FSS_KEY_TRUNC_STOCH, p, cnt, lo, c)) != FSS_OK ||
            (s = fss_ev_fresh_deal(ev, c, cnt, m)) != FSS_OK) /* r_z - H(r - t), fresh */
            goto done;
        for (size_t i = 0; i < cnt; i++)
            z.v[i] = (c[i] + sh[i]) & zmask;
        fss_ev_deal_reconstruct(ev, cnt, m);
    } else {
        for (size_t i = 0; i < cnt; i++)
            lo[i] = x->v[i] & fmask;
        if ((s = dcf_take_eval(ev, FSS_KEY_TRUNC_STOCH, p, cnt, lo, c)) != FSS_OK ||
            (s = fss_ev_fresh_take(ev, sh, cnt, m)) != FSS_OK)
            goto done;
        for (size_t i = 0; i < cnt; i++)
            lo[i] = fss_trunc_stoch_share(c[i], sh[i], x->v[i], f, m, ev->party);
        s = fss_ev_reconstruct(ev, lo, cnt, m, 0, z.v);
    }
done:
    s = gate_end(ev, s, name, tmp, 3 * cnt, t0);
    if (s == FSS_OK)
        s = sext_core(ev, &z, n, y, name);
    fss_tensor_free(&z);
    return s;
}
