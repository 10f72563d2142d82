/* Inputs, outputs, local linear gates and the secret x secret products (DESIGN
 * section 2). */
#include <string.h>

#include "eval_internal.h"
#include "fss/gate_body.h"
#include "fss/gates.h"
#include "fss/gemm.h"

static fss_status tensor_like(fss_eval *ev, fss_tensor *z, const fss_tensor *a, int bits, int scale)
{
    fss_status s = fss_tensor_init(z, a->ndim, a->shape, bits, scale);
    if (s != FSS_OK)
        return fss_ev_fail(ev, s, "cannot make a tensor of %zu elements, %d bits", a->count, bits);
    return FSS_OK;
}

static int same_shape(const fss_tensor *a, const fss_tensor *b)
{
    if (a->ndim != b->ndim || a->count != b->count)
        return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i])
            return 0;
    return 1;
}

/* Weight id's mask seed under the dealer's model key: the key's AES-CTR block id. */
static fss_status weight_seed(fss_eval *ev, uint64_t id, uint8_t seed[FSS_EV_SEED_BYTES])
{
    fss_rng *r = NULL;
    fss_status s = fss_rng_new_key_at(&r, ev->wkey, id);
    if (s == FSS_OK)
        s = fss_rng_bytes(r, seed, FSS_EV_SEED_BYTES);
    fss_rng_free(r);
    return s == FSS_OK ? s : fss_ev_fail(ev, s, "dealer: cannot derive weight %llu's mask", (unsigned long long)id);
}

/* The masked weights' digest (the check that party 0's are the setup's: an accident, not
 * an attack, in the semi-honest model): per weight, the sums of v_i and of (i + 1) v_i mod
 * 2^64, folded into the running digest. Vectorized; no packing. */
static void digest_fold(fss_eval *ev, uint64_t a, uint64_t b)
{
    ev->wdigest = ((ev->wdigest ^ a) * 0x100000001b3u ^ b) * 0x100000001b3u;
}

static void digest_add(fss_eval *ev, const uint64_t *v, size_t n)
{
    uint64_t a = 0, b = 0;
#pragma omp parallel for schedule(static) num_threads(fss_ev_threads(ev, n)) reduction(+ : a, b)
    for (size_t i = 0; i < n; i++) {
        a += v[i];
        b += (uint64_t)(i + 1) * v[i];
    }
    digest_fold(ev, a, b);
}

/* The owner's values masked in one pass: own = values, v = values + r (r in v, any bits
 * above the ring's: the sum is reduced), and with digest their sum for the check. */
static void mask_own(fss_eval *ev, const uint64_t *values, size_t n, int bits, int digest, fss_tensor *x)
{
    uint64_t a = 0, b = 0;
    uint64_t *own = x->own, *v = x->v;
#pragma omp parallel for schedule(static) num_threads(fss_ev_threads(ev, n)) reduction(+ : a, b)
    for (size_t i = 0; i < n; i++) {
        const uint64_t y = fss_ring_add(values[i], v[i], bits);
        own[i] = fss_ring_reduce(values[i], bits);
        v[i] = y;
        a += y;
        b += (uint64_t)(i + 1) * y;
    }
    if (digest)
        digest_fold(ev, a, b);
}

/* Party 1's masked weights from (or, setup, to) its store. */
static fss_status weight_store(fss_eval *ev, uint64_t id, fss_tensor *x, int put)
{
    char err[256] = "";
    fss_status s = !ev->wstore.get ? FSS_E_ARG
                   : put ? ev->wstore.put(ev->wstore.self, id, x->count, x->bits, x->v, err, sizeof err)
                         : ev->wstore.get(ev->wstore.self, id, x->count, x->bits, x->v, err, sizeof err);
    if (s == FSS_OK && !put)
        digest_add(ev, x->v, x->count);
    return s == FSS_OK ? s : fss_ev_fail(ev, s, "party %d: masked weights: %s", ev->party, err[0] ? err : "no store");
}

fss_status fss_ev_weights_check(fss_eval *ev)
{
    if (ev->wonce != 2 || ev->mode == FSS_MODE_CLEAR)
        return FSS_OK;
    if (ev->mode == FSS_MODE_DEALER) {
        fss_ev_deal_send(ev, 0, 8);
        return FSS_OK;
    }
    uint8_t b[8];
    if (ev->party == 0) {
        for (int i = 0; i < 8; i++)
            b[i] = (uint8_t)(ev->wdigest >> (8 * i));
        return fss_ev_exchange(ev, b, sizeof b, NULL, 0);
    }
    fss_status s = fss_ev_exchange(ev, NULL, 0, b, sizeof b);
    uint64_t theirs = 0;
    for (int i = 0; i < 8; i++)
        theirs |= (uint64_t)b[i] << (8 * i);
    if (s == FSS_OK && theirs != ev->wdigest)
        s = fss_ev_fail(ev, FSS_E_ARG, "party 0's weights are not those of the setup whose masked weights party 1 "
                                       "holds: the output would be wrong (a new weights file needs a new setup)");
    return s;
}

/* An input; wid non-NULL: party 0's weight *wid, input once (fss_gate_input_weights). */
static fss_status input(fss_eval *ev, int owner, const uint64_t *wid, int ndim, const size_t *shape, int bits,
                        int scale, const uint64_t *values, fss_tensor *x)
{
    if (owner != 0 && owner != 1)
        return fss_ev_fail(ev, FSS_E_ARG, "input: owner must be party 0 or 1, not %d", owner);
    fss_status s = fss_tensor_init(x, ndim, shape, bits, scale);
    if (s != FSS_OK)
        return fss_ev_fail(ev, s, "input: bad shape or ring (%d bits, scale %d)", bits, scale);
    const size_t n = x->count, nb = fss_packed_bytes(n, bits);
    x->input_of = 1 + owner;
    if (ev->mode == FSS_MODE_PARTY && ev->party == owner && !(x->own = (uint64_t *)fss_ev_alloc(ev, (n ? n : 1) * 8))) {
        fss_tensor_free(x);
        return FSS_E_NOMEM;
    }
    double t0 = fss_now();
    if (ev->mode == FSS_MODE_CLEAR) {
        for (size_t i = 0; i < n; i++)
            x->v[i] = fss_ring_reduce(values[i], bits);
    } else if (ev->mode == FSS_MODE_DEALER) { /* the owner's mask: a seed, expanded by AES-CTR */
        uint8_t seed[FSS_EV_SEED_BYTES];
        const int sent = !wid || ev->wonce == 1; /* an inference's weights: party 1's store */
        if ((s = wid ? weight_seed(ev, *wid, seed) : fss_ev_seed(ev, seed)) == FSS_OK && /* the setup needs no r */
            (s = wid && ev->wonce == 1 ? FSS_OK : fss_ev_expand_seed(ev, seed, x->v, n, bits)) == FSS_OK)
            s = fss_ev_put(ev, owner, FSS_KEY_INPUT_MASK, n, seed, sizeof seed); /* party 0 masks them */
        fss_memzero(seed, sizeof seed);
        if (sent)
            fss_ev_deal_send(ev, owner, nb);
        if (owner == 0 && n > ev->stats.input_max) /* party 0's largest part */
            ev->stats.input_max = n;
        if (s != FSS_OK)
            return s;
    } else if (wid && ev->wonce == 2 && ev->party != owner) {
        if ((s = weight_store(ev, *wid, x, 0)) != FSS_OK)
            return s;
    } else {
        const int wire = !wid || ev->wonce == 1; /* (an inference's weights stay with party 0) */
        uint8_t *p = wire ? (uint8_t *)fss_ev_alloc(ev, nb) : NULL;
        if (wire && !p)
            return FSS_E_NOMEM;
        if (ev->party == owner) {
            const void *key;
            /* r, its 64 bits (the sum is reduced); own = the values and v = values + r in one
             * pass, with an inference's weights their digest for the check */
            if ((s = fss_ev_get(ev, FSS_KEY_INPUT_MASK, n, FSS_EV_SEED_BYTES, &key)) == FSS_OK &&
                (s = fss_ev_expand_seed(ev, (const uint8_t *)key, x->v, n, 64)) == FSS_OK) {
                mask_own(ev, values, n, bits, !wire, x);
                if (wire) {
                    fss_ev_pack_bits(ev, x->v, n, bits, p);
                    s = fss_ev_exchange(ev, p, nb, NULL, 0);
                } /* (an inference's weights stay here: party 1 has them) */
            }
        } else if ((s = fss_ev_exchange(ev, NULL, 0, p, nb)) == FSS_OK) {
            fss_ev_unpack_bits(ev, p, n, bits, x->v);
        }
        free(p);
        if (s == FSS_OK && wid && ev->party != owner) /* the setup: party 1 keeps them */
            s = weight_store(ev, *wid, x, 1);
        if (s != FSS_OK)
            return s;
    }
    ev->stats.seconds += fss_now() - t0;
    return FSS_OK;
}

fss_status fss_gate_input(fss_eval *ev, int owner, int ndim, const size_t *shape, int bits, int scale,
                          const uint64_t *values, fss_tensor *x)
{
    return input(ev, owner, NULL, ndim, shape, bits, scale, values, x);
}

fss_status fss_gate_input_weights(fss_eval *ev, uint64_t id, int ndim, const size_t *shape, int bits, int scale,
                                  const uint64_t *values, fss_tensor *x)
{
    const fss_tensor *k = ev->kept_budget ? fss_ev_kept(ev, id) : NULL;
    if (k) { /* input before in this walk: a view of the kept one */
        memset(x, 0, sizeof *x);
        int same = k->ndim == ndim && k->bits == bits && k->scale == scale;
        for (int i = 0; same && i < ndim; i++)
            same = k->shape[i] == shape[i];
        if (!same || fss_tensor_view(k, 0, ndim, shape, scale, x) != FSS_OK)
            return fss_ev_fail(ev, FSS_E_ARG, "input: weight %llu input again in another shape or ring",
                               (unsigned long long)id);
        return FSS_OK;
    }
    fss_status s = input(ev, 0, ev->wonce ? &id : NULL, ndim, shape, bits, scale, values, x);
    return s == FSS_OK && ev->kept_budget ? fss_ev_keep(ev, id, x) : s;
}

fss_status fss_gate_output(fss_eval *ev, int receiver, const fss_tensor *y, uint64_t *out)
{
    if (receiver != 0 && receiver != 1)
        return fss_ev_fail(ev, FSS_E_ARG, "output: receiver must be party 0 or 1, not %d", receiver);
    const size_t n = y->count, nb = fss_packed_bytes(n, y->bits);
    fss_status s = FSS_OK;
    if (ev->mode == FSS_MODE_CLEAR) {
        memcpy(out, y->v, n * 8);
    } else if (ev->mode == FSS_MODE_DEALER) {
        uint8_t *p = (uint8_t *)fss_ev_alloc(ev, nb);
        if (!p)
            return FSS_E_NOMEM;
        fss_pack_bits(y->v, n, y->bits, p);
        s = fss_ev_put(ev, receiver, FSS_KEY_OUTPUT_MASK, n, p, nb);
        fss_free_wiped(p, nb);
    } else if (ev->party == receiver) {
        const void *key;
        if ((s = fss_ev_get(ev, FSS_KEY_OUTPUT_MASK, n, nb, &key)) == FSS_OK) {
            fss_ev_unpack_bits(ev, (const uint8_t *)key, n, y->bits, out); /* r */
            for (size_t i = 0; i < n; i++)
                out[i] = fss_ring_sub(y->v[i], out[i], y->bits);
        }
    }
    return s;
}

/* Add and subtract act the same on masks, masked values and values. */
static fss_status add_sub(fss_eval *ev, const fss_tensor *a, const fss_tensor *b, fss_tensor *z, int sub)
{
    if (!same_shape(a, b) || a->bits != b->bits || a->scale != b->scale)
        return fss_ev_fail(ev, FSS_E_ARG, "%s: operands differ in shape, bits or scale", sub ? "sub" : "add");
    fss_status s = tensor_like(ev, z, a, a->bits, a->scale);
    if (s != FSS_OK)
        return s;
    FSS_EV_PARALLEL_FOR(ev, a->count)
    for (size_t i = 0; i < a->count; i++)
        z->v[i] = sub ? fss_ring_sub(a->v[i], b->v[i], a->bits) : fss_ring_add(a->v[i], b->v[i], a->bits);
    fss_ev_note_range(ev, z);
    return FSS_OK;
}

fss_status fss_gate_add(fss_eval *ev, const fss_tensor *a, const fss_tensor *b, fss_tensor *z)
{
    return add_sub(ev, a, b, z, 0);
}

fss_status fss_gate_sub(fss_eval *ev, const fss_tensor *a, const fss_tensor *b, fss_tensor *z)
{
    return add_sub(ev, a, b, z, 1);
}

fss_status fss_gate_scale(fss_eval *ev, const fss_tensor *a, uint64_t c, fss_tensor *z)
{
    fss_status s = tensor_like(ev, z, a, a->bits, a->scale);
    if (s != FSS_OK)
        return s;
    FSS_EV_PARALLEL_FOR(ev, a->count)
    for (size_t i = 0; i < a->count; i++) /* c (x + r) = c x + c r: the mask scales too */
        z->v[i] = fss_ring_mul(a->v[i], c, a->bits);
    return FSS_OK;
}

fss_status fss_gate_add_const(fss_eval *ev, const fss_tensor *a, const uint64_t *c, size_t nc, fss_tensor *z)
{
    if (!nc)
        return fss_ev_fail(ev, FSS_E_ARG, "add_const: no constants");
    fss_status s = tensor_like(ev, z, a, a->bits, a->scale);
    if (s != FSS_OK)
        return s;
    FSS_EV_PARALLEL_FOR(ev, a->count)
    for (size_t i = 0; i < a->count; i++) /* the dealer's mask does not move */
        z->v[i] = ev->mode == FSS_MODE_DEALER ? a->v[i] : fss_ring_add(a->v[i], c[i % nc], a->bits);
    return FSS_OK;
}

/* The product gates share one shape: with X^ = X + R_x, W^ = W + R_w public,
 *   Z_b = [b = 0] X^ W^ - X^ [R_w]_b - [R_x]_b W^ + [R_x R_w + R_z]_b
 * reconstructs to X W + R_z, for any product bilinear in (X, W): fss_ev_prod is the
 * elementwise, the matrix or the convolution product (fss_prod_shape; backend_cpu.c). */

/* W is party o's input, so o knows W (and its mask R_w). With R_x shared as [R_x]_b:
 *   X W = (X^ - [R_x]_o) W - [R_x]_o' W^ + [R_x]_o' R_w       (o' = 1 - o)
 * Party o computes (X^ - [R_x]_o) W, party o' computes -[R_x]_o' W^, and the dealer
 * shares v = [R_x]_o' R_w + R_z: one ring product a party, and no shares of R_w. v is
 * fresh (R_z is drawn for it): a seed a party, and R_z = v - [R_x]_o' R_w.
 * Where X is party o''s own input, o' knows all of R_x (X^ minus its clear X), so R_x is
 * not shared at all ([R_x]_o = 0, [R_x]_o' = R_x): the key is v alone. A model's first
 * product (party 1's data by party 0's weights) and the embedding lookup (party 1's
 * one-hot tokens by party 0's table) are of this kind. */
static fss_status product_owned(fss_eval *ev, const fss_prod_shape *ps, const fss_tensor *X, const fss_tensor *W,
                                fss_tensor *Z)
{
    const int bits = X->bits, o = W->input_of - 1, cross = X->input_of == 2 - o; /* X: o''s input */
    const size_t nx = X->count, nz = Z->count;
    fss_status s = FSS_OK;
    uint64_t *rx = (uint64_t *)fss_ev_alloc(ev, (nx + nz) * 8), *v = rx ? rx + nx : NULL;
    if (!rx)
        return FSS_E_NOMEM;
    if (ev->mode == FSS_MODE_DEALER) { /* one chunk: shares of R_x (none when cross) and v, fresh */
        fss_ev_mixed M;
        if ((s = fss_ev_mixed_draw(ev, &M, X->v, cross ? 0 : nx, v, nz, bits)) == FSS_OK) {
            if (cross) /* [R_x]_o' = R_x, unshared */
                memcpy(rx, X->v, nx * 8);
            else if ((s = fss_ev_mixed_share0(ev, &M, rx)) == FSS_OK && o == 0) /* rx = [R_x]_0 */
                for (size_t i = 0; i < nx; i++)
                    rx[i] = X->v[i] - rx[i]; /* [R_x]_1 */
        }
        if (s == FSS_OK) { /* R_z = v - [R_x]_o' R_w */
            memset(Z->v, 0, nz * 8);
            if ((s = fss_ev_prod(ev, ps, rx, W->v, Z->v, 1)) == FSS_OK) {
                for (size_t i = 0; i < nz; i++)
                    Z->v[i] = fss_ring_sub(v[i], Z->v[i], bits);
                s = fss_ev_mixed_put(ev, &M);
            } else {
                fss_ev_mixed_drop(&M);
            }
        } else {
            fss_ev_mixed_drop(&M); /* (draw wipes its own failures; share0's) */
        }
        fss_ev_deal_reconstruct(ev, nz, bits);
    } else if ((s = fss_ev_mixed_take(ev, cross ? NULL : rx, cross ? 0 : nx, v, nz, bits)) == FSS_OK) {
        const int mine = ev->party == o;
        if ((mine && !W->own) || (cross && !mine && !X->own)) {
            s = fss_ev_fail(ev, FSS_E_ARG, "party %d: its input lacks its clear values", ev->party);
        } else {
            if (cross) /* o: [R_x]_o = 0; o': [R_x]_o' = R_x = X^ - X */
                for (size_t i = 0; i < nx; i++)
                    rx[i] = mine ? 0 : X->v[i] - X->own[i];
            for (size_t i = 0; i < nx; i++) /* X^ - [R_x]_o, or -[R_x]_o' */
                rx[i] = fss_prod_operand(X->v[i], rx[i], mine);
            s = fss_ev_prod_pair(ev, ps, rx, mine ? W->own : W->v, NULL, NULL, v);
        }
        if (s == FSS_OK)
            s = fss_ev_reconstruct(ev, v, nz, bits, 0, Z->v);
    }
    fss_free_wiped(rx, (nx + nz) * 8);
    return s;
}

static fss_status product(fss_eval *ev, const char *name, const fss_prod_shape *ps, const fss_tensor *X,
                          const fss_tensor *W, fss_tensor *Z)
{
    const int bits = X->bits;
    const size_t nx = X->count, nw = W->count, nz = Z->count;
    double t0 = fss_now();
    fss_status s = FSS_OK;
    if (ev->mode != FSS_MODE_CLEAR && (W->input_of == 1 || W->input_of == 2)) {
        s = product_owned(ev, ps, X, W, Z);
    } else if (ev->mode == FSS_MODE_CLEAR) {
        if ((s = fss_ev_prod(ev, ps, X->v, W->v, Z->v, 0)) != FSS_OK)
            return s;
        for (size_t i = 0; i < nz; i++)
            Z->v[i] = fss_ring_reduce(Z->v[i], bits);
        fss_ev_note_range(ev, Z);
    } else if (ev->mode == FSS_MODE_DEALER) {
        /* shares of R_x | R_w and of v = R_x R_w + R_z, fresh (R_z is drawn for it), one chunk;
         * R_z = v - R_x R_w */
        uint64_t *vals = (uint64_t *)fss_ev_alloc(ev, (nx + nw + nz) * 8);
        if (!vals)
            return FSS_E_NOMEM;
        memcpy(vals, X->v, nx * 8);
        memcpy(vals + nx, W->v, nw * 8);
        memset(Z->v, 0, nz * 8);
        fss_ev_mixed M;
        if ((s = fss_ev_prod(ev, ps, X->v, W->v, Z->v, 1)) == FSS_OK &&
            (s = fss_ev_mixed_draw(ev, &M, vals, nx + nw, vals + nx + nw, nz, bits)) == FSS_OK) {
            for (size_t i = 0; i < nz; i++)
                Z->v[i] = fss_ring_sub(vals[nx + nw + i], Z->v[i], bits);
            s = fss_ev_mixed_put(ev, &M);
        }
        fss_free_wiped(vals, (nx + nw + nz) * 8);
        fss_ev_deal_reconstruct(ev, nz, bits);
    } else {
        uint64_t *sh = (uint64_t *)fss_ev_alloc(ev, (nx + nw + nz) * 8);
        uint64_t *tmp = (uint64_t *)fss_ev_alloc(ev, nw * 8);
        if (!sh || !tmp) {
            free(sh);
            free(tmp);
            return FSS_E_NOMEM;
        }
        if ((s = fss_ev_mixed_take(ev, sh, nx + nw, sh + nx + nw, nz, bits)) == FSS_OK) {
            const uint64_t *rx = sh, *rw = sh + nx;
            uint64_t *zb = sh + nx + nw; /* starts as [R_x R_w + R_z]_b */
            /* party 0: X^ (W^ - [R_w]_0); party 1: X^ (-[R_w]_1) */
            for (size_t i = 0; i < nw; i++)
                tmp[i] = fss_prod_operand(W->v[i], rw[i], ev->party == 0);
            for (size_t i = 0; i < nx; i++) /* - [R_x]_b W^ */
                sh[i] = fss_prod_operand(0, rx[i], 0);
            s = fss_ev_prod_pair(ev, ps, X->v, tmp, sh, W->v, zb);
            if (s == FSS_OK)
                s = fss_ev_reconstruct(ev, zb, nz, bits, 0, Z->v);
        }
        fss_free_wiped(sh, (nx + nw + nz) * 8);
        fss_free_wiped(tmp, nw * 8);
    }
    if (s != FSS_OK && !ev->err[0])
        fss_ev_fail(ev, s, "%s: %s", name, fss_status_str(s));
    ev->stats.seconds += fss_now() - t0;
    return s;
}

fss_status fss_gate_mul(fss_eval *ev, const fss_tensor *a, const fss_tensor *b, fss_tensor *z)
{
    if (!same_shape(a, b) || a->bits != b->bits)
        return fss_ev_fail(ev, FSS_E_ARG, "mul: operands differ in shape or bits");
    if (a->scale + b->scale >= a->bits)
        return fss_ev_fail(ev, FSS_E_ARG, "mul: scale %d + %d does not fit %d bits", a->scale, b->scale, a->bits);
    fss_status s = tensor_like(ev, z, a, a->bits, a->scale + b->scale);
    if (s != FSS_OK)
        return s;
    fss_prod_shape ps = {.kind = FSS_PROD_ELEMENTWISE, .m = a->count};
    return product(ev, "mul", &ps, a, b, z);
}

fss_status fss_gate_matmul(fss_eval *ev, const fss_tensor *X, const fss_tensor *W, fss_tensor *Z)
{
    if (X->ndim != 2 || W->ndim != 2 || X->shape[1] != W->shape[0] || X->bits != W->bits)
        return fss_ev_fail(ev, FSS_E_ARG, "matmul: shapes [%zu x %zu] and [%zu x %zu] (or bits) do not fit",
                           X->shape[0], X->shape[1], W->shape[0], W->shape[1]);
    if (X->scale + W->scale >= X->bits)
        return fss_ev_fail(ev, FSS_E_ARG, "matmul: scale %d + %d does not fit %d bits", X->scale, W->scale, X->bits);
    size_t shape[2] = {X->shape[0], W->shape[1]};
    fss_status s = fss_tensor_init(Z, 2, shape, X->bits, X->scale + W->scale);
    if (s != FSS_OK)
        return fss_ev_fail(ev, s, "matmul: cannot make the %zu x %zu output", shape[0], shape[1]);
    fss_prod_shape ps = {.kind = FSS_PROD_MATMUL, .m = X->shape[0], .k = X->shape[1], .n = W->shape[1]};
    return product(ev, "matmul", &ps, X, W, Z);
}

fss_status fss_gate_matmul_batched(fss_eval *ev, const fss_tensor *X, const fss_tensor *W, int trans, fss_tensor *Z)
{
    const size_t B = X->ndim == 3 ? X->shape[0] : 0, Bw = W->ndim == 3 ? W->shape[0] : 0;
    const size_t m = B ? X->shape[1] : 0, k = B ? X->shape[2] : 0;
    const size_t wk = Bw ? W->shape[trans ? 2 : 1] : 0, n = Bw ? W->shape[trans ? 1 : 2] : 0;
    if (!B || !Bw || B % Bw || k != wk || X->bits != W->bits)
        return fss_ev_fail(ev, FSS_E_ARG,
                           "matmul_batched: [%zu][%zu][%zu] times %s[%zu][%zu][%zu] do not fit (or bits differ)", B, m,
                           k, trans ? "transposed " : "", Bw, Bw ? W->shape[1] : 0, Bw ? W->shape[2] : 0);
    if (X->scale + W->scale >= X->bits)
        return fss_ev_fail(ev, FSS_E_ARG, "matmul_batched: scale %d + %d does not fit %d bits", X->scale, W->scale,
                           X->bits);
    size_t shape[3] = {B, m, n};
    fss_status s = fss_tensor_init(Z, 3, shape, X->bits, X->scale + W->scale);
    if (s != FSS_OK)
        return fss_ev_fail(ev, s, "matmul_batched: cannot make the output");
    fss_prod_shape ps = {.kind = FSS_PROD_BATCHED, .m = m, .k = k, .n = n, .batch = B, .group = B / Bw,
                         .trans = trans};
    return product(ev, "matmul_batched", &ps, X, W, Z);
}

fss_status fss_gate_conv2d(fss_eval *ev, const fss_tensor *X, const fss_tensor *W, const fss_conv2d_params *cv,
                           fss_tensor *Y)
{
    if (X->ndim != 4 || W->ndim != 4 || X->shape[0] != cv->batch || X->shape[1] != cv->c || X->shape[2] != cv->h ||
        X->shape[3] != cv->w || W->shape[0] != cv->o || W->shape[1] != cv->c || W->shape[2] != cv->kh ||
        W->shape[3] != cv->kw || X->bits != W->bits || !cv->stride || cv->h + 2 * cv->pad < cv->kh ||
        cv->w + 2 * cv->pad < cv->kw)
        return fss_ev_fail(ev, FSS_E_ARG, "conv2d: input, weights and parameters do not fit");
    if (X->scale + W->scale >= X->bits)
        return fss_ev_fail(ev, FSS_E_ARG, "conv2d: scale %d + %d does not fit %d bits", X->scale, W->scale, X->bits);
    fss_prod_shape ps = {.kind = FSS_PROD_CONV, .cv = *cv};
    ps.ho = (cv->h + 2 * cv->pad - cv->kh) / cv->stride + 1;
    ps.wo = (cv->w + 2 * cv->pad - cv->kw) / cv->stride + 1;
    size_t shape[4] = {cv->batch, cv->o, ps.ho, ps.wo};
    fss_status s = fss_tensor_init(Y, 4, shape, X->bits, X->scale + W->scale);
    if (s != FSS_OK)
        return fss_ev_fail(ev, s, "conv2d: cannot make the output");
    return product(ev, "conv2d", &ps, X, W, Y);
}
