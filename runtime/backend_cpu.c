/* The CPU backend: the FSS evaluations of the primitives' CPU launchers (batched level by
 * level, AES-NI or VAES), the ring products by the blocked GEMM and im2col. It supports
 * every operation and is the fallback for what another backend does not (backend.h). */
#include <stdlib.h>

#include "backend.h"

/* The im2col geometry of one image of a convolution. */
fss_im2col_geom fss_prod_conv_geom(const fss_prod_shape *ps)
{
    const fss_conv2d_params *cv = &ps->cv;
    return (fss_im2col_geom){cv->c, cv->h, cv->w, cv->kh, cv->kw, cv->stride, cv->pad, ps->ho, ps->wo};
}

fss_status fss_ev_prod(fss_eval *ev, const fss_prod_shape *ps, const uint64_t *A, const uint64_t *B, uint64_t *C,
                       int acc)
{
    if (ev->dry)
        return FSS_OK; /* a dry dealer's product correlation: not computed */
    const double t0 = fss_now();
    if (ps->kind == FSS_PROD_ELEMENTWISE) {
        for (size_t i = 0; i < ps->m; i++)
            C[i] = acc ? C[i] + A[i] * B[i] : A[i] * B[i];
    } else if (ps->kind == FSS_PROD_MATMUL) {
        fss_gemm_u64(ev->cpu, ps->m, ps->k, ps->n, A, B, C, acc);
    } else if (ps->kind == FSS_PROD_BATCHED) {
        const size_t mk = ps->m * ps->k, kn = ps->k * ps->n, mn = ps->m * ps->n;
        uint64_t *t = ps->trans ? (uint64_t *)fss_ev_alloc(ev, (kn ? kn : 1) * 8) : NULL;
        if (ps->trans && !t)
            return FSS_E_NOMEM;
        for (size_t b = 0; b < ps->batch; b++) {
            const uint64_t *w = B + b / ps->group * kn;
            if (t) { /* W^T of a [n][k] matrix, into [k][n] */
                for (size_t i = 0; i < ps->n; i++)
                    for (size_t j = 0; j < ps->k; j++)
                        t[j * ps->n + i] = w[i * ps->k + j];
                w = t;
            }
            fss_gemm_u64(ev->cpu, ps->m, ps->k, ps->n, A + b * mk, w, C + b * mn, acc);
        }
        if (t)
            fss_free_wiped(t, (kn ? kn : 1) * 8);
    } else { /* per image: Y [O][ho wo] = W [O][C kh kw] col [C kh kw][ho wo] */
        const fss_conv2d_params *cv = &ps->cv;
        const fss_im2col_geom g = fss_prod_conv_geom(ps);
        const size_t K = cv->c * cv->kh * cv->kw, P = ps->ho * ps->wo;
        uint64_t *col = (uint64_t *)fss_ev_alloc(ev, K * P * 8);
        if (!col)
            return FSS_E_NOMEM;
        for (size_t b = 0; b < cv->batch; b++) {
            fss_im2col_u64(ev->cpu, &g, A + b * cv->c * cv->h * cv->w, col);
            fss_gemm_u64(ev->cpu, cv->o, K, P, B, col, C + b * cv->o * P, acc);
        }
        fss_free_wiped(col, K * P * 8);
    }
    fss_ev_lap(ev, FSS_PHASE_PROD, t0);
    return FSS_OK;
}

static int cpu_supports(const fss_eval *ev, fss_op op) { return (void)ev, (void)op, 1; }
static int cpu_parses(const fss_eval *ev) { return (void)ev, 0; }

/* One buffer, grown and reused (a step is evaluated before the next is parsed); old keys
 * are left in it (they are spent) until the next step overwrites them or the context is
 * freed (wiped then). */
static fss_status cpu_step_mem(fss_eval *ev, size_t key_bytes, size_t count, size_t out_words, void **mem)
{
    (void)count, (void)out_words; /* they stay where the caller has them */
    if (!ev->keymem || key_bytes > ev->keymem_cap) {
        if (ev->keymem)
            fss_free_wiped(ev->keymem, ev->keymem_cap);
        ev->keymem = NULL;
        ev->keymem_cap = 0;
        const size_t cap = ((key_bytes ? key_bytes : 1) + 63) & ~(size_t)63; /* aligned_alloc wants a multiple */
        if (!(ev->keymem = aligned_alloc(64, cap)))
            return fss_ev_fail(ev, FSS_E_NOMEM, "party %d: cannot allocate %zu bytes for a step's keys", ev->party,
                               key_bytes);
        ev->keymem_cap = cap;
    }
    *mem = ev->keymem;
    return FSS_OK;
}

static fss_status cpu_eval(fss_eval *ev, const fss_prim_keys *k, const uint64_t *x, uint64_t *out)
{
    const fss_prim_ops *po = fss_prim_ops_of(k->pr.kind);
    fss_status s = po->eval(ev->cpu, k, x, out);
    return s == FSS_OK ? s : fss_ev_fail(ev, s, "%s eval: %s", po->name, fss_ctx_error(ev->cpu));
}

static fss_status cpu_keys_released(fss_eval *ev) { return (void)ev, FSS_OK; }
static fss_status cpu_steps_end(fss_eval *ev, fss_status s) { return (void)ev, s; }

static fss_status cpu_prod_pair(fss_eval *ev, const fss_prod_shape *ps, const uint64_t *A1, const uint64_t *B1,
                                const uint64_t *A2, const uint64_t *B2, uint64_t *C)
{
    fss_status s = fss_ev_prod(ev, ps, A1, B1, C, 1);
    return s == FSS_OK && A2 ? fss_ev_prod(ev, ps, A2, B2, C, 1) : s;
}

static fss_keyfile_alloc cpu_chunk_alloc(const fss_eval *ev) { return (void)ev, (fss_keyfile_alloc){0}; }

#define CPU_STEP ((size_t)1 << 14) /* parsed keys of a few MB: in cache */
FSS_STATIC_ASSERT(CPU_STEP % FSS_KEY_BLOCK == 0, "party steps start on key blocks");

const fss_backend_ops fss_backend_cpu_ops = {
    .id = FSS_BACKEND_CPU,
    .step = CPU_STEP,
    .supports = cpu_supports,
    .parses = cpu_parses,
    .step_mem = cpu_step_mem,
    .eval = cpu_eval,
    .keys_released = cpu_keys_released,
    .steps_end = cpu_steps_end,
    .prod_pair = cpu_prod_pair,
    .chunk_alloc = cpu_chunk_alloc,
};
