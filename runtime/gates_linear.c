/* Inputs, outputs, local linear gates and the secret x secret products (DESIGN
 * section 2). */
#include <string.h>

#include "eval_internal.h"
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

fss_status fss_gate_input(fss_eval *ev, int owner, int ndim, const size_t *shape, int bits, int scale,
                          const uint64_t *values, fss_tensor *x)
{
    if (owner != 0 && owner != 1)
        return fss_ev_fail(ev, FSS_E_ARG, "input: owner must be party 0 or 1, not %d", owner);
    fss_status s = fss_tensor_init(x, ndim, shape, bits, scale);
    if (s != FSS_OK)
        return fss_ev_fail(ev, s, "input: bad shape or ring (%d bits, scale %d)", bits, scale);
    const size_t n = x->count, nb = fss_packed_bytes(n, bits);
    double t0 = fss_now();
    if (ev->mode == FSS_MODE_CLEAR) {
        for (size_t i = 0; i < n; i++)
            x->v[i] = fss_ring_reduce(values[i], bits);
    } else if (ev->mode == FSS_MODE_DEALER) {
        uint8_t *p = (uint8_t *)fss_ev_alloc(ev, nb);
        if (!p || (s = fss_ev_random(ev, x->v, n, bits)) != FSS_OK) {
            free(p);
            return p ? s : FSS_E_NOMEM;
        }
        fss_pack_bits(x->v, n, bits, p);
        s = fss_ev_put(ev, owner, FSS_KEY_INPUT_MASK, n, p, nb);
        fss_memzero(p, nb);
        free(p);
        if (s != FSS_OK)
            return s;
    } else {
        uint8_t *p = (uint8_t *)fss_ev_alloc(ev, nb);
        if (!p)
            return FSS_E_NOMEM;
        if (ev->party == owner) {
            const void *key;
            if ((s = fss_ev_get(ev, FSS_KEY_INPUT_MASK, n, nb, &key)) == FSS_OK) {
                fss_unpack_bits((const uint8_t *)key, n, bits, x->v); /* r */
                for (size_t i = 0; i < n; i++)
                    x->v[i] = fss_ring_add(values[i], x->v[i], bits);
                fss_pack_bits(x->v, n, bits, p);
                s = fss_ev_exchange(ev, p, nb, NULL, 0);
            }
        } else if ((s = fss_ev_exchange(ev, NULL, 0, p, nb)) == FSS_OK) {
            fss_unpack_bits(p, n, bits, x->v);
        }
        free(p);
        if (s != FSS_OK)
            return s;
    }
    ev->stats.seconds += fss_now() - t0;
    return FSS_OK;
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
        fss_memzero(p, nb);
        free(p);
    } else if (ev->party == receiver) {
        const void *key;
        if ((s = fss_ev_get(ev, FSS_KEY_OUTPUT_MASK, n, nb, &key)) == FSS_OK) {
            fss_unpack_bits((const uint8_t *)key, n, y->bits, out); /* r */
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
    for (size_t i = 0; i < a->count; i++)
        z->v[i] = sub ? fss_ring_sub(a->v[i], b->v[i], a->bits) : fss_ring_add(a->v[i], b->v[i], a->bits);
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
    for (size_t i = 0; i < a->count; i++) /* the dealer's mask does not move */
        z->v[i] = ev->mode == FSS_MODE_DEALER ? a->v[i] : fss_ring_add(a->v[i], c[i % nc], a->bits);
    return FSS_OK;
}

/* The product gates share one shape: with X^ = X + R_x, W^ = W + R_w public,
 *   Z_b = [b = 0] X^ W^ - X^ [R_w]_b - [R_x]_b W^ + [R_x R_w + R_z]_b
 * reconstructs to X W + R_z. prod(A, B, C) is the elementwise or the matrix product. */
typedef struct prod_shape {
    size_t m, k, n; /* matrix: X m x k, W k x n; elementwise: m = k = n = count, kind 1 */
    int elementwise;
} prod_shape;

static void prod(fss_eval *ev, const prod_shape *ps, const uint64_t *A, const uint64_t *B, uint64_t *C, int acc)
{
    if (ps->elementwise) {
        for (size_t i = 0; i < ps->m; i++)
            C[i] = acc ? C[i] + A[i] * B[i] : A[i] * B[i];
    } else {
        fss_gemm_u64(ev->cpu, ps->m, ps->k, ps->n, A, B, C, acc);
    }
}

static fss_status product(fss_eval *ev, const char *name, const prod_shape *ps, const fss_tensor *X,
                          const fss_tensor *W, fss_tensor *Z)
{
    const int bits = X->bits;
    const size_t nx = X->count, nw = W->count, nz = Z->count;
    double t0 = fss_now();
    fss_status s = FSS_OK;
    if (ev->mode == FSS_MODE_CLEAR) {
        prod(ev, ps, X->v, W->v, Z->v, 0);
        for (size_t i = 0; i < nz; i++)
            Z->v[i] = fss_ring_reduce(Z->v[i], bits);
    } else if (ev->mode == FSS_MODE_DEALER) {
        /* shares of R_x | R_w | R_x R_w + R_z, in that order */
        uint64_t *vals = (uint64_t *)fss_ev_alloc(ev, (nx + nw + nz) * 8);
        if (!vals)
            return FSS_E_NOMEM;
        memcpy(vals, X->v, nx * 8);
        memcpy(vals + nx, W->v, nw * 8);
        if ((s = fss_ev_random(ev, Z->v, nz, bits)) == FSS_OK) {
            memcpy(vals + nx + nw, Z->v, nz * 8);
            prod(ev, ps, X->v, W->v, vals + nx + nw, 1);
            for (size_t i = 0; i < nz; i++)
                vals[nx + nw + i] = fss_ring_reduce(vals[nx + nw + i], bits);
            s = fss_ev_shares_deal(ev, vals, nx + nw + nz, bits);
        }
        fss_memzero(vals, (nx + nw + nz) * 8);
        free(vals);
    } else {
        uint64_t *sh = (uint64_t *)fss_ev_alloc(ev, (nx + nw + nz) * 8);
        uint64_t *tmp = (uint64_t *)fss_ev_alloc(ev, nw * 8);
        if (!sh || !tmp) {
            free(sh);
            free(tmp);
            return FSS_E_NOMEM;
        }
        if ((s = fss_ev_shares_take(ev, sh, nx + nw + nz, bits)) == FSS_OK) {
            const uint64_t *rx = sh, *rw = sh + nx;
            uint64_t *zb = sh + nx + nw; /* starts as [R_x R_w + R_z]_b */
            /* party 0: X^ (W^ - [R_w]_0); party 1: X^ (-[R_w]_1) */
            for (size_t i = 0; i < nw; i++)
                tmp[i] = (ev->party == 0 ? W->v[i] : 0) - rw[i];
            prod(ev, ps, X->v, tmp, zb, 1);
            for (size_t i = 0; i < nx; i++) /* - [R_x]_b W^ */
                sh[i] = (uint64_t)0 - rx[i];
            prod(ev, ps, sh, W->v, zb, 1);
            s = fss_ev_reconstruct(ev, zb, nz, bits, 0, Z->v);
        }
        fss_memzero(sh, (nx + nw + nz) * 8);
        free(sh);
        free(tmp);
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
    prod_shape ps = {a->count, a->count, a->count, 1};
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
    prod_shape ps = {X->shape[0], X->shape[1], W->shape[1], 0};
    return product(ev, "matmul", &ps, X, W, Z);
}
