/* The party's backend for the FSS evaluations and the ring products of the gates: the
 * CPU context, or the CUDA backend. Under cuda, a gate's keys go to the device a step at a
 * time through two page-locked slots: while the device uploads and evaluates one step
 * (keys and inputs in, outputs back into the slot), the CPU parses the next into the
 * other; the outputs reach the caller once the slot is waited for. Matrix and convolution
 * products move their operands and run at once. Both backends compute the same bits: the
 * CUDA kernels run the same per-element bodies over keys in the same layout
 * (kernels/fss/cuda.h), and the ring products are exact modulo 2^64 on both. */
#include <stdlib.h>
#include <string.h>

#include "eval_internal.h"

#ifdef FSS_HAVE_CUDA
#include "fss/cuda.h"

/* Host memory for a slot: page-locked where the driver gives it (the upload is then one
 * DMA at full speed, and queued copies return at once), 64-byte aligned heap memory when
 * none is left; *pinned says which, for host_free, which wipes it. */
static void *host_alloc(size_t bytes, int *pinned)
{
    void *p = NULL;
    if (cudaHostAlloc(&p, bytes, cudaHostAllocDefault) == cudaSuccess) {
        *pinned = 1;
        return p;
    }
    (void)cudaGetLastError(); /* no page-locked memory left: pageable memory works, slower */
    *pinned = 0;
    return aligned_alloc(64, (bytes + 63) & ~(size_t)63);
}

static void host_free(void *p, size_t bytes, int pinned)
{
    if (!p)
        return;
    fss_memzero(p, bytes);
    if (pinned)
        (void)cudaFreeHost(p);
    else
        free(p);
}

/* One step's buffers, on the host and on the device, laid out alike: parsed keys, then
 * count inputs at x_off, then out_words outputs at out_off (256-byte aligned). */
struct gpu_slot {
    unsigned char *h, *d;
    size_t h_cap, d_cap;
    int h_pinned;
    cudaEvent_t done; /* recorded after the step's download */
    int busy;         /* queued, not yet waited for */
    size_t count, out_words, x_off, out_off;
    uint64_t *out_dst; /* the caller's outputs, written when the slot is waited for */
};

/* One stream per evaluation context, the two step slots, and a grow-only device buffer
 * for the products' operands. */
struct fss_gpu {
    cudaStream_t s;
    struct gpu_slot slot[2];
    int cur; /* the slot of the step being parsed or queued */
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

/* Wipes what a device buffer holds (key material, secret) and frees it. */
static void dev_release(struct fss_gpu *g, unsigned char **buf, size_t *cap)
{
    if (*buf) {
        (void)cudaMemsetAsync(*buf, 0, *cap, g->s);
        (void)cudaStreamSynchronize(g->s);
        (void)cudaFree(*buf);
    }
    *buf = NULL;
    *cap = 0;
}

/* Grow-only device buffers: a new one only when more is needed than any time before,
 * with a quarter more for the next, slightly larger gate. */
static fss_status dev_reserve(fss_eval *ev, unsigned char **buf, size_t *cap, size_t bytes, const char *what)
{
    if (bytes <= *cap)
        return FSS_OK;
    dev_release(ev->gpu, buf, cap);
    const size_t want = bytes + bytes / 4;
    cudaError_t e = cudaMalloc((void **)buf, want);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        *buf = NULL;
        return fss_ev_fail(ev, FSS_E_NOMEM, "cuda backend: cannot allocate %zu MB of device memory for %s (%s)",
                           want >> 20, what, cudaGetErrorString(e));
    }
    *cap = want;
    return FSS_OK;
}

/* Waits for a slot's queued step and hands its outputs to the caller. */
static fss_status slot_wait(fss_eval *ev, struct gpu_slot *sl)
{
    if (!sl->busy)
        return FSS_OK;
    sl->busy = 0;
    cudaError_t e = cudaEventSynchronize(sl->done);
    if (e != cudaSuccess)
        return gpu_cuda_fail(ev, "a step's evaluation", e);
    memcpy(sl->out_dst, sl->h + sl->out_off, sl->out_words * 8);
    return FSS_OK;
}

static fss_status gpu_step_mem(fss_eval *ev, size_t key_bytes, size_t count, size_t out_words, void **mem)
{
    struct fss_gpu *g = ev->gpu;
    g->cur ^= 1;
    struct gpu_slot *sl = &g->slot[g->cur];
    fss_status s = slot_wait(ev, sl);
    if (s != FSS_OK)
        return s;
    sl->x_off = align256(key_bytes);
    sl->out_off = sl->x_off + align256(count * 8);
    sl->count = count;
    sl->out_words = out_words;
    const size_t total = sl->out_off + out_words * 8, want = total + total / 4; /* room for a larger step */
    if (total > sl->h_cap) {
        host_free(sl->h, sl->h_cap, sl->h_pinned);
        sl->h_cap = 0;
        if (!(sl->h = (unsigned char *)host_alloc(want, &sl->h_pinned)))
            return fss_ev_fail(ev, FSS_E_NOMEM, "cuda backend: cannot allocate %zu MB of host memory for a step",
                               want >> 20);
        sl->h_cap = want;
    }
    if ((s = dev_reserve(ev, &sl->d, &sl->d_cap, total, "a step")) != FSS_OK)
        return s;
    *mem = sl->h;
    return FSS_OK;
}

/* The current slot holds a step's parsed keys (key_bytes of them, checked against the
 * slot): queues the inputs' and keys' upload; the caller launches on *d_keys, *d_x,
 * *d_out, then gpu_step_queued. */
static fss_status gpu_step_upload(fss_eval *ev, const void *h_keys, size_t count, size_t out_words, const uint64_t *x,
                                  unsigned char **d_keys, uint64_t **d_x, uint64_t **d_out)
{
    struct fss_gpu *g = ev->gpu;
    struct gpu_slot *sl = &g->slot[g->cur];
    if (h_keys != sl->h || count != sl->count || out_words != sl->out_words)
        return fss_ev_fail(ev, FSS_E_ARG, "cuda backend: a step's keys are not in its slot");
    memcpy(sl->h + sl->x_off, x, count * 8);
    *d_keys = sl->d;
    *d_x = (uint64_t *)(sl->d + sl->x_off);
    *d_out = (uint64_t *)(sl->d + sl->out_off);
    cudaError_t e = cudaMemcpyAsync(*d_x, sl->h + sl->x_off, count * 8, cudaMemcpyHostToDevice, g->s);
    return e == cudaSuccess ? FSS_OK : gpu_cuda_fail(ev, "a step's inputs", e);
}

/* After the keys' upload and the launch: queues the outputs' download into the slot and
 * marks it busy until slot_wait hands them to out. */
static fss_status gpu_step_queued(fss_eval *ev, const char *what, fss_status uploaded, fss_status launched,
                                  uint64_t *out)
{
    struct fss_gpu *g = ev->gpu;
    struct gpu_slot *sl = &g->slot[g->cur];
    if (uploaded != FSS_OK || launched != FSS_OK) {
        gpu_drain(g);
        return fss_ev_fail(ev, uploaded != FSS_OK ? uploaded : launched, "cuda backend: %s: %s", what,
                           fss_cuda_last_error());
    }
    cudaError_t e = cudaMemcpyAsync(sl->h + sl->out_off, sl->d + sl->out_off, sl->out_words * 8,
                                    cudaMemcpyDeviceToHost, g->s);
    if (e == cudaSuccess)
        e = cudaEventRecord(sl->done, g->s);
    if (e != cudaSuccess)
        return gpu_cuda_fail(ev, what, e);
    sl->out_dst = out;
    sl->busy = 1;
    return FSS_OK;
}

static fss_status gpu_dcf_eval(fss_eval *ev, const fss_dcf_keys *k, const uint64_t *x, uint64_t *out)
{
    unsigned char *d_keys;
    uint64_t *d_x, *d_out;
    fss_status s = gpu_step_upload(ev, k->mem, k->count, k->count * (size_t)k->p.g, x, &d_keys, &d_x, &d_out);
    if (s != FSS_OK)
        return s;
    fss_dcf_keys dk;
    fss_dcf_keys_bind(&dk, k->p, k->party, k->count, d_keys);
    const fss_status up = fss_cuda_dcf_keys_upload(&dk, k, ev->gpu->s);
    return gpu_step_queued(ev, "dcf eval", up, up == FSS_OK ? fss_cuda_dcf_eval(&dk, d_x, d_out, ev->gpu->s) : up,
                           out);
}

static fss_status gpu_dpf_cmp_eval(fss_eval *ev, const fss_dpf_keys *k, const uint64_t *x, uint64_t *out)
{
    unsigned char *d_keys;
    uint64_t *d_x, *d_out;
    fss_status s = gpu_step_upload(ev, k->mem, k->count, k->count, x, &d_keys, &d_x, &d_out);
    if (s != FSS_OK)
        return s;
    fss_dpf_keys dk;
    fss_dpf_keys_bind(&dk, k->p, k->party, k->count, d_keys);
    const fss_status up = fss_cuda_dpf_keys_upload(&dk, k, ev->gpu->s);
    return gpu_step_queued(ev, "comparison eval", up,
                           up == FSS_OK ? fss_cuda_dpf_cmp_eval(&dk, d_x, d_out, ev->gpu->s) : up, out);
}

static fss_status gpu_steps_end(fss_eval *ev, fss_status s)
{
    struct fss_gpu *g = ev->gpu;
    if (s != FSS_OK) {
        gpu_drain(g);
        g->slot[0].busy = g->slot[1].busy = 0;
        return s;
    }
    s = slot_wait(ev, &g->slot[g->cur ^ 1]); /* the older step first */
    const fss_status s2 = slot_wait(ev, &g->slot[g->cur]);
    if (s != FSS_OK)
        g->slot[0].busy = g->slot[1].busy = 0;
    return s != FSS_OK ? s : s2;
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
    struct fss_gpu *g = ev->gpu;
    fss_status s = dev_reserve(ev, &g->d_buf, &g->cap, ocol + (conv ? K * P * 8 : 0), "a product");
    if (s != FSS_OK)
        return s;
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
    const char *what = conv ? "convolution" : "matrix product";
    if (s != FSS_OK) {
        gpu_drain(g);
        return fss_ev_fail(ev, s, "cuda backend: %s: %s", what, fss_cuda_last_error());
    }
    cudaError_t e = cudaMemcpyAsync(C, d_c, nc * 8, cudaMemcpyDeviceToHost, g->s);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(g->s);
    return e == cudaSuccess ? FSS_OK : gpu_cuda_fail(ev, what, e);
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
        for (int i = 0; i < 2 && e == cudaSuccess; i++)
            e = cudaEventCreateWithFlags(&g->slot[i].done, cudaEventDisableTiming);
        if (e != cudaSuccess) {
            (void)cudaGetLastError();
            fss_ev_backend_free(ev);
            return fss_ev_fail(ev, FSS_E_CUDA, "backend cuda: cannot create an event (%s)", cudaGetErrorString(e));
        }
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
    struct fss_gpu *g = ev->gpu;
    if (g) {
        gpu_drain(g);
        for (int i = 0; i < 2; i++) {
            struct gpu_slot *sl = &g->slot[i];
            dev_release(g, &sl->d, &sl->d_cap);
            host_free(sl->h, sl->h_cap, sl->h_pinned);
            if (sl->done)
                (void)cudaEventDestroy(sl->done);
        }
        dev_release(g, &g->d_buf, &g->cap);
        (void)cudaStreamDestroy(g->s);
        free(g);
    }
#endif
    ev->gpu = NULL;
}

fss_status fss_ev_step_mem(fss_eval *ev, size_t key_bytes, size_t count, size_t out_words, void **mem)
{
    *mem = NULL;
#ifdef FSS_HAVE_CUDA
    if (ev->backend == FSS_BACKEND_CUDA) {
        const double t0 = fss_now();
        fss_status s = gpu_step_mem(ev, key_bytes, count, out_words, mem);
        fss_ev_lap(ev, FSS_PHASE_FSS, t0);
        return s;
    }
#else
    (void)count;
    (void)out_words;
#endif
    /* Grow-only: old keys are left in it (they are spent) until the next step overwrites
     * them or the context is freed (wiped then). */
    if (!ev->keymem || key_bytes > ev->keymem_cap) {
        if (ev->keymem)
            fss_memzero(ev->keymem, ev->keymem_cap);
        free(ev->keymem);
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

fss_status fss_ev_steps_end(fss_eval *ev, fss_status s)
{
#ifdef FSS_HAVE_CUDA
    if (ev->backend == FSS_BACKEND_CUDA && ev->gpu) {
        const double t0 = fss_now();
        s = gpu_steps_end(ev, s);
        fss_ev_lap(ev, FSS_PHASE_FSS, t0);
    }
#else
    (void)ev;
#endif
    return s;
}

fss_status fss_ev_dcf_eval(fss_eval *ev, const fss_dcf_keys *k, const uint64_t *x, uint64_t *out)
{
    const double t0 = fss_now();
    fss_status s;
#ifdef FSS_HAVE_CUDA
    if (ev->backend == FSS_BACKEND_CUDA && k->count) {
        s = gpu_dcf_eval(ev, k, x, out);
        fss_ev_lap(ev, FSS_PHASE_FSS, t0);
        return s;
    }
#endif
    if ((s = fss_dcf_eval(ev->cpu, k, x, out)) != FSS_OK)
        s = fss_ev_fail(ev, s, "dcf eval: %s", fss_ctx_error(ev->cpu));
    fss_ev_lap(ev, FSS_PHASE_FSS, t0);
    return s;
}

fss_status fss_ev_dpf_cmp_eval(fss_eval *ev, const fss_dpf_keys *k, const uint64_t *x, uint64_t *out)
{
    const double t0 = fss_now();
    fss_status s;
#ifdef FSS_HAVE_CUDA
    if (ev->backend == FSS_BACKEND_CUDA && k->count) {
        s = gpu_dpf_cmp_eval(ev, k, x, out);
        fss_ev_lap(ev, FSS_PHASE_FSS, t0);
        return s;
    }
#endif
    if ((s = fss_dpf_cmp_eval(ev->cpu, k, x, out)) != FSS_OK)
        s = fss_ev_fail(ev, s, "comparison eval: %s", fss_ctx_error(ev->cpu));
    fss_ev_lap(ev, FSS_PHASE_FSS, t0);
    return s;
}

fss_status fss_ev_prod_pair(fss_eval *ev, const fss_prod_shape *ps, const uint64_t *A1, const uint64_t *B1,
                            const uint64_t *A2, const uint64_t *B2, uint64_t *C)
{
#ifdef FSS_HAVE_CUDA
    if (ev->backend == FSS_BACKEND_CUDA && ps->kind != FSS_PROD_ELEMENTWISE) {
        const double t0 = fss_now();
        fss_status s = gpu_prod_pair(ev, ps, A1, B1, A2, B2, C);
        fss_ev_lap(ev, FSS_PHASE_PROD, t0);
        return s;
    }
#endif
    fss_status s = fss_ev_prod(ev, ps, A1, B1, C, 1); /* timed inside */
    return s == FSS_OK && A2 ? fss_ev_prod(ev, ps, A2, B2, C, 1) : s;
}
