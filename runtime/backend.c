/* The party's backend for the FSS evaluations and the ring products of the gates: the
 * CPU context, or the CUDA backend (keys, inputs and outputs moved a step of 2^20
 * instances at a time, from page-locked host memory; matrix and convolution products
 * with their operands). Both compute the same bits: the CUDA kernels run the same
 * per-element bodies over keys in the same layout (kernels/fss/cuda.h), and the ring
 * products are exact modulo 2^64 on both. */
#include <stdlib.h>
#include <string.h>

#include "eval_internal.h"

#ifdef FSS_HAVE_CUDA
#include "fss/cuda.h"

/* One stream and one grow-only device buffer per evaluation context (gpu_stage). */
struct fss_gpu {
    cudaStream_t s;
    unsigned char *d_buf;
    size_t cap;
};

static size_t align256(size_t b) { return (b + 255) & ~(size_t)255; }

/* Waits for what the stream has queued (copies out of host memory the caller is about to
 * free or reuse) and clears the thread's CUDA error, on every failure path. */
static void gpu_drain(struct fss_gpu *g)
{
    (void)cudaStreamSynchronize(g->s);
    (void)cudaGetLastError();
}

static fss_status gpu_cuda_fail(fss_eval *ev, const char *what, cudaError_t e)
{
    gpu_drain(ev->gpu);
    return fss_ev_fail(ev, FSS_E_CUDA, "cuda backend: %s: %s", what, cudaGetErrorString(e));
}

/* Wipes the key material left in the buffer (secret) and frees it. */
static void gpu_release_buf(struct fss_gpu *g)
{
    if (g->d_buf) {
        (void)cudaMemsetAsync(g->d_buf, 0, g->cap, g->s);
        (void)cudaStreamSynchronize(g->s);
        (void)cudaFree(g->d_buf);
    }
    g->d_buf = NULL;
    g->cap = 0;
}

static fss_status gpu_reserve(fss_eval *ev, size_t bytes)
{
    struct fss_gpu *g = ev->gpu;
    if (bytes <= g->cap)
        return FSS_OK;
    gpu_release_buf(g);
    size_t want = bytes + bytes / 4; /* room for the next, slightly larger gate */
    cudaError_t e = cudaMalloc((void **)&g->d_buf, want);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        g->d_buf = NULL;
        return fss_ev_fail(ev, FSS_E_NOMEM, "cuda backend: cannot allocate %zu MB of device memory for one gate (%s)",
                           want >> 20, cudaGetErrorString(e));
    }
    g->cap = want;
    return FSS_OK;
}

/* Lays out one gate in the buffer (keys, then count inputs, then out_words outputs, each
 * 256-byte aligned) and queues the copy of the inputs. */
static fss_status gpu_stage(fss_eval *ev, size_t key_bytes, size_t count, size_t out_words, const uint64_t *x,
                            uint64_t **d_x, uint64_t **d_out)
{
    struct fss_gpu *g = ev->gpu;
    const size_t kb = align256(key_bytes), xb = align256(count * 8);
    fss_status s = gpu_reserve(ev, kb + xb + out_words * 8);
    if (s != FSS_OK)
        return s;
    *d_x = (uint64_t *)(g->d_buf + kb);
    *d_out = (uint64_t *)(g->d_buf + kb + xb);
    cudaError_t e = cudaMemcpyAsync(*d_x, x, count * 8, cudaMemcpyHostToDevice, g->s);
    return e == cudaSuccess ? FSS_OK : gpu_cuda_fail(ev, "gate inputs", e);
}

/* After the keys' upload and the launch: copies out_words words back and waits. */
static fss_status gpu_finish(fss_eval *ev, const char *what, fss_status uploaded, fss_status launched, uint64_t *out,
                             const uint64_t *d_out, size_t out_words)
{
    struct fss_gpu *g = ev->gpu;
    if (uploaded != FSS_OK || launched != FSS_OK) {
        gpu_drain(g);
        return fss_ev_fail(ev, uploaded != FSS_OK ? uploaded : launched, "cuda backend: %s: %s", what,
                           fss_cuda_last_error());
    }
    cudaError_t e = cudaMemcpyAsync(out, d_out, out_words * 8, cudaMemcpyDeviceToHost, g->s);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(g->s);
    return e == cudaSuccess ? FSS_OK : gpu_cuda_fail(ev, what, e);
}

static fss_status gpu_dcf_eval(fss_eval *ev, const fss_dcf_keys *k, const uint64_t *x, uint64_t *out)
{
    const size_t ow = k->count * (size_t)k->p.g;
    uint64_t *d_x, *d_out;
    fss_status s = gpu_stage(ev, fss_dcf_keys_bytes(k->p, k->count), k->count, ow, x, &d_x, &d_out);
    if (s != FSS_OK)
        return s;
    fss_dcf_keys dk;
    fss_dcf_keys_bind(&dk, k->p, k->party, k->count, ev->gpu->d_buf);
    const fss_status up = fss_cuda_dcf_keys_upload(&dk, k, ev->gpu->s);
    return gpu_finish(ev, "dcf eval", up, up == FSS_OK ? fss_cuda_dcf_eval(&dk, d_x, d_out, ev->gpu->s) : up, out,
                      d_out, ow);
}

static fss_status gpu_dpf_cmp_eval(fss_eval *ev, const fss_dpf_keys *k, const uint64_t *x, uint64_t *out)
{
    uint64_t *d_x, *d_out;
    fss_status s = gpu_stage(ev, fss_dpf_keys_bytes(k->p, k->count), k->count, k->count, x, &d_x, &d_out);
    if (s != FSS_OK)
        return s;
    fss_dpf_keys dk;
    fss_dpf_keys_bind(&dk, k->p, k->party, k->count, ev->gpu->d_buf);
    const fss_status up = fss_cuda_dpf_keys_upload(&dk, k, ev->gpu->s);
    return gpu_finish(ev, "comparison eval", up, up == FSS_OK ? fss_cuda_dpf_cmp_eval(&dk, d_x, d_out, ev->gpu->s) : up,
                      out, d_out, k->count);
}

/* C += prod(A1, B1) + prod(A2, B2) (A2 NULL: the first only) with the operands moved to
 * the device: a GEMM launch a term, or for a convolution an im2col and a GEMM per image
 * and term. */
static fss_status gpu_prod_pair(fss_eval *ev, const fss_prod_shape *ps, const uint64_t *A1, const uint64_t *B1,
                                const uint64_t *A2, const uint64_t *B2, uint64_t *C)
{
    const fss_conv2d_params *cv = &ps->cv;
    const int conv = ps->kind == FSS_PROD_CONV;
    const size_t K = conv ? cv->c * cv->kh * cv->kw : ps->k, P = ps->ho * ps->wo;
    const size_t na = conv ? cv->batch * cv->c * cv->h * cv->w : ps->m * ps->k;
    const size_t nb = conv ? cv->o * K : ps->k * ps->n;
    const size_t nc = conv ? cv->batch * cv->o * P : ps->m * ps->n;
    const int terms = A2 ? 2 : 1;
    const size_t oa2 = align256(na * 8), ob1 = (size_t)terms * oa2, ob2 = ob1 + align256(nb * 8);
    const size_t oc = ob1 + (size_t)terms * align256(nb * 8), ocol = oc + align256(nc * 8);
    fss_status s = gpu_reserve(ev, ocol + (conv ? K * P * 8 : 0));
    if (s != FSS_OK)
        return s;
    struct fss_gpu *g = ev->gpu;
    uint64_t *d_a1 = (uint64_t *)g->d_buf, *d_a2 = (uint64_t *)(g->d_buf + oa2);
    uint64_t *d_b1 = (uint64_t *)(g->d_buf + ob1), *d_b2 = (uint64_t *)(g->d_buf + ob2);
    uint64_t *d_c = (uint64_t *)(g->d_buf + oc), *d_col = (uint64_t *)(g->d_buf + ocol);
    const struct {
        void *d;
        const uint64_t *h;
        size_t words;
    } up[5] = {{d_a1, A1, na}, {d_b1, B1, nb}, {d_c, C, nc}, {d_a2, A2, na}, {d_b2, B2, nb}};
    for (int i = 0; i < (terms == 2 ? 5 : 3); i++) {
        cudaError_t e = cudaMemcpyAsync(up[i].d, up[i].h, up[i].words * 8, cudaMemcpyHostToDevice, g->s);
        if (e != cudaSuccess)
            return gpu_cuda_fail(ev, "product operands", e);
    }
    const fss_im2col_geom geom = {cv->c, cv->h, cv->w, cv->kh, cv->kw, cv->stride, cv->pad, ps->ho, ps->wo};
    for (int t = 0; t < terms && s == FSS_OK; t++) {
        const uint64_t *d_a = t ? d_a2 : d_a1, *d_b = t ? d_b2 : d_b1;
        if (!conv) {
            s = fss_cuda_gemm_u64(ps->m, ps->k, ps->n, d_a, d_b, d_c, 1, g->s);
            continue;
        }
        for (size_t b = 0; b < cv->batch && s == FSS_OK; b++) {
            s = fss_cuda_im2col_u64(&geom, d_a + b * cv->c * cv->h * cv->w, d_col, g->s);
            if (s == FSS_OK)
                s = fss_cuda_gemm_u64(cv->o, K, P, d_b, d_col, d_c + b * cv->o * P, 1, g->s);
        }
    }
    return gpu_finish(ev, conv ? "convolution" : "matrix product", FSS_OK, s, C, d_c, nc);
}
#endif /* FSS_HAVE_CUDA */

const char *fss_backend_name(fss_backend b) { return b == FSS_BACKEND_CUDA ? "cuda" : "cpu"; }

const char *fss_backend_unavailable(fss_backend b)
{
    if (b == FSS_BACKEND_CPU)
        return NULL;
    if (b != FSS_BACKEND_CUDA)
        return "unknown backend";
#ifdef FSS_HAVE_CUDA
    return fss_cuda_device_count() > 0 ? NULL : "backend cuda: no CUDA device is visible on this machine";
#else
    return "backend cuda: this build has no CUDA backend (no nvcc at configure time)";
#endif
}

fss_status fss_eval_set_backend(fss_eval *ev, fss_backend b)
{
    if (b == FSS_BACKEND_CPU) {
        fss_ev_backend_free(ev);
        ev->backend = b;
        return FSS_OK;
    }
    const char *why = fss_backend_unavailable(b);
    if (why)
        return fss_ev_fail(ev, b == FSS_BACKEND_CUDA ? FSS_E_NODEV : FSS_E_ARG, "%s", why);
#ifdef FSS_HAVE_CUDA
    if (!ev->gpu) {
        struct fss_gpu *g = calloc(1, sizeof *g);
        if (!g)
            return fss_ev_fail(ev, FSS_E_NOMEM, "backend cuda: out of memory");
        cudaError_t e = cudaStreamCreateWithFlags(&g->s, cudaStreamNonBlocking);
        if (e != cudaSuccess) {
            free(g);
            (void)cudaGetLastError();
            return fss_ev_fail(ev, FSS_E_CUDA, "backend cuda: cannot create a stream (%s)", cudaGetErrorString(e));
        }
        ev->gpu = g;
        if (fss_cuda_warm_up() != FSS_OK) {
            (void)cudaGetLastError();
            fss_ev_fail(ev, FSS_E_CUDA, "backend cuda: %s", fss_cuda_last_error());
            fss_ev_backend_free(ev);
            return FSS_E_CUDA;
        }
    }
#endif
    ev->backend = b;
    return FSS_OK;
}

void fss_ev_backend_free(fss_eval *ev)
{
#ifdef FSS_HAVE_CUDA
    if (ev->gpu) {
        gpu_release_buf(ev->gpu);
        (void)cudaStreamDestroy(ev->gpu->s);
        free(ev->gpu);
    }
#endif
    ev->gpu = NULL;
}

fss_status fss_ev_dcf_eval(fss_eval *ev, const fss_dcf_keys *k, const uint64_t *x, uint64_t *out)
{
#ifdef FSS_HAVE_CUDA
    if (ev->backend == FSS_BACKEND_CUDA && k->count)
        return gpu_dcf_eval(ev, k, x, out);
#endif
    fss_status s = fss_dcf_eval(ev->cpu, k, x, out);
    return s == FSS_OK ? s : fss_ev_fail(ev, s, "dcf eval: %s", fss_ctx_error(ev->cpu));
}

fss_status fss_ev_dpf_cmp_eval(fss_eval *ev, const fss_dpf_keys *k, const uint64_t *x, uint64_t *out)
{
#ifdef FSS_HAVE_CUDA
    if (ev->backend == FSS_BACKEND_CUDA && k->count)
        return gpu_dpf_cmp_eval(ev, k, x, out);
#endif
    fss_status s = fss_dpf_cmp_eval(ev->cpu, k, x, out);
    return s == FSS_OK ? s : fss_ev_fail(ev, s, "comparison eval: %s", fss_ctx_error(ev->cpu));
}

fss_status fss_ev_prod_pair(fss_eval *ev, const fss_prod_shape *ps, const uint64_t *A1, const uint64_t *B1,
                            const uint64_t *A2, const uint64_t *B2, uint64_t *C)
{
#ifdef FSS_HAVE_CUDA
    if (ev->backend == FSS_BACKEND_CUDA && ps->kind != FSS_PROD_ELEMENTWISE)
        return gpu_prod_pair(ev, ps, A1, B1, A2, B2, C);
#endif
    fss_status s = fss_ev_prod(ev, ps, A1, B1, C, 1);
    return s == FSS_OK && A2 ? fss_ev_prod(ev, ps, A2, B2, C, 1) : s;
}

void *fss_ev_host_alloc(fss_eval *ev, size_t bytes, int *pinned)
{
    *pinned = 0;
    const size_t cap = ((bytes ? bytes : 1) + 63) & ~(size_t)63; /* aligned_alloc wants a multiple */
#ifdef FSS_HAVE_CUDA
    if (ev->backend == FSS_BACKEND_CUDA) {
        void *p = NULL;
        if (cudaHostAlloc(&p, cap, cudaHostAllocDefault) == cudaSuccess) {
            *pinned = 1;
            return p;
        }
        (void)cudaGetLastError(); /* no page-locked memory left: pageable memory works, slower */
    }
#else
    (void)ev;
#endif
    return aligned_alloc(64, cap);
}

void fss_ev_host_free(void *p, size_t bytes, int pinned)
{
    if (!p)
        return;
    fss_memzero(p, bytes);
#ifdef FSS_HAVE_CUDA
    if (pinned) {
        (void)cudaFreeHost(p);
        return;
    }
#else
    (void)pinned;
#endif
    free(p);
}
