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
    void *p = fss_ev_pinned_alloc(bytes, NULL);
    *pinned = p != NULL;
    /* no page-locked memory left: pageable memory works, slower */
    return p ? p : aligned_alloc(64, (bytes + 63) & ~(size_t)63);
}

static void host_free(void *p, size_t bytes, int pinned)
{
    if (!p)
        return;
    fss_memzero(p, bytes);
    if (pinned)
        fss_ev_pinned_free(p, bytes, NULL);
    else
        free(p);
}

/* One step's buffers. Host (page-locked): parsed keys when the CPU parses (none when the
 * device does), then count inputs at hx, then out_words outputs and a flag word at ho.
 * Device: the step's keys (parsed; or serialized, then parsed after them), then inputs at
 * dx, outputs and the flag at do_ (each 256-byte aligned). The flag is set by a device
 * parse that found stray bits. */
struct gpu_slot {
    unsigned char *h, *d;
    size_t h_cap, d_cap;
    int h_pinned;
    cudaEvent_t done;     /* recorded after the step's download */
    cudaEvent_t uploaded; /* recorded after a device-parse step's keys left the source's memory */
    int busy;             /* queued, not yet waited for */
    int parsed_here;      /* the device parsed this step's keys: check the flag */
    size_t count, out_words, hx, ho, dx, do_;
    uint64_t *out_dst; /* the caller's outputs, written when the slot is waited for */
};

/* One stream per evaluation context, the two step slots, and a grow-only device buffer
 * for the products' operands. */
struct fss_gpu {
    cudaStream_t s;
    struct gpu_slot slot[2];
    int cur;          /* the slot of the step being parsed or queued */
    int device_parse; /* the device parses the keys (FSS_CUDA_PARSE unset or "device") */
    int upload_open;  /* a step's keys may still be copying out of the source's memory */
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
    uint64_t flag;
    memcpy(&flag, sl->h + sl->ho + sl->out_words * 8, 8);
    if (sl->parsed_here && flag) {
        gpu_drain(ev->gpu); /* the other slot's step may still be queued: nothing stays in flight */
        ev->gpu->slot[0].busy = ev->gpu->slot[1].busy = 0;
        return fss_ev_fail(ev, FSS_E_FORMAT, "party %d's keys do not parse (stray bits: corrupted)", ev->party);
    }
    memcpy(sl->out_dst, sl->h + sl->ho, sl->out_words * 8);
    return FSS_OK;
}

/* The next slot for a step: waited for, laid out for h_key_bytes of host keys and
 * d_key_bytes of device keys, count inputs and out_words outputs, grown if need be. */
static fss_status gpu_slot_take(fss_eval *ev, size_t h_key_bytes, size_t d_key_bytes, size_t count, size_t out_words,
                                struct gpu_slot **out)
{
    struct fss_gpu *g = ev->gpu;
    g->cur ^= 1;
    struct gpu_slot *sl = &g->slot[g->cur];
    fss_status s = slot_wait(ev, sl);
    if (s != FSS_OK)
        return s;
    sl->hx = align256(h_key_bytes);
    sl->ho = sl->hx + align256(count * 8);
    sl->dx = align256(d_key_bytes);
    sl->do_ = sl->dx + align256(count * 8);
    sl->count = count;
    sl->out_words = out_words;
    sl->parsed_here = 0;
    const size_t h_total = sl->ho + out_words * 8 + 8, d_total = sl->do_ + out_words * 8 + 8;
    if (h_total > sl->h_cap) {
        const size_t want = h_total + h_total / 4; /* room for a larger step */
        host_free(sl->h, sl->h_cap, sl->h_pinned);
        sl->h_cap = 0;
        if (!(sl->h = (unsigned char *)host_alloc(want, &sl->h_pinned)))
            return fss_ev_fail(ev, FSS_E_NOMEM, "cuda backend: cannot allocate %zu MB of host memory for a step",
                               want >> 20);
        sl->h_cap = want;
    }
    if ((s = dev_reserve(ev, &sl->d, &sl->d_cap, d_total, "a step")) != FSS_OK)
        return s;
    *out = sl;
    return FSS_OK;
}

static fss_status gpu_step_mem(fss_eval *ev, size_t key_bytes, size_t count, size_t out_words, void **mem)
{
    struct gpu_slot *sl;
    fss_status s = gpu_slot_take(ev, key_bytes, key_bytes, count, out_words, &sl);
    if (s == FSS_OK)
        *mem = sl->h;
    return s;
}

/* The current slot's inputs: copied into it and queued for upload. */
static fss_status gpu_step_inputs(fss_eval *ev, struct gpu_slot *sl, const uint64_t *x)
{
    memcpy(sl->h + sl->hx, x, sl->count * 8);
    cudaError_t e = cudaMemcpyAsync(sl->d + sl->dx, sl->h + sl->hx, sl->count * 8, cudaMemcpyHostToDevice, ev->gpu->s);
    return e == cudaSuccess ? FSS_OK : gpu_cuda_fail(ev, "a step's inputs", e);
}

/* The current slot holds a step's parsed keys (checked against the slot): queues the
 * inputs' upload; the caller uploads the keys and launches, then gpu_step_queued. */
static fss_status gpu_step_upload(fss_eval *ev, const void *h_keys, size_t count, size_t out_words, const uint64_t *x,
                                  unsigned char **d_keys, uint64_t **d_x, uint64_t **d_out)
{
    struct gpu_slot *sl = &ev->gpu->slot[ev->gpu->cur];
    if (h_keys != sl->h || count != sl->count || out_words != sl->out_words)
        return fss_ev_fail(ev, FSS_E_ARG, "cuda backend: a step's keys are not in its slot");
    *d_keys = sl->d;
    *d_x = (uint64_t *)(sl->d + sl->dx);
    *d_out = (uint64_t *)(sl->d + sl->do_);
    return gpu_step_inputs(ev, sl, x);
}

/* After the keys' upload and the launch: queues the download of the outputs and the
 * flag into the slot and marks it busy until slot_wait hands them to out. */
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
    cudaError_t e = cudaMemcpyAsync(sl->h + sl->ho, sl->d + sl->do_, sl->out_words * 8 + 8, cudaMemcpyDeviceToHost,
                                    g->s);
    if (e == cudaSuccess)
        e = cudaEventRecord(sl->done, g->s);
    if (e != cudaSuccess)
        return gpu_cuda_fail(ev, what, e);
    sl->out_dst = out;
    sl->busy = 1;
    return FSS_OK;
}

/* A device-parse step: m serialized keys (ser_bytes at ser, in the source's memory) and
 * parsed_bytes of parsed keys on the device. Takes a slot, zeroes the flag, queues the
 * keys' upload (and records when they have left ser), and the inputs'. */
static fss_status gpu_serial_upload(fss_eval *ev, const uint8_t *ser, size_t ser_bytes, size_t parsed_bytes,
                                    size_t count, size_t out_words, const uint64_t *x, struct gpu_slot **out)
{
    struct fss_gpu *g = ev->gpu;
    struct gpu_slot *sl;
    fss_status s = gpu_slot_take(ev, 0, align256(ser_bytes) + parsed_bytes, count, out_words, &sl);
    if (s != FSS_OK)
        return s;
    sl->parsed_here = 1;
    cudaError_t e = cudaMemsetAsync(sl->d + sl->do_ + out_words * 8, 0, 8, g->s);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(sl->d, ser, ser_bytes, cudaMemcpyHostToDevice, g->s);
    if (e == cudaSuccess)
        e = cudaEventRecord(sl->uploaded, g->s);
    if (e != cudaSuccess)
        return gpu_cuda_fail(ev, "a step's keys", e);
    g->upload_open = 1;
    *out = sl;
    return gpu_step_inputs(ev, sl, x);
}

/* Before the source is read again: the last step's keys have left its memory. */
static fss_status gpu_keys_released(fss_eval *ev)
{
    struct fss_gpu *g = ev->gpu;
    if (!g->upload_open)
        return FSS_OK;
    g->upload_open = 0;
    cudaError_t e = cudaEventSynchronize(g->slot[g->cur].uploaded);
    return e == cudaSuccess ? FSS_OK : gpu_cuda_fail(ev, "a step's keys", e);
}

static fss_status gpu_dcf_eval_serial(fss_eval *ev, fss_dcf_params p, size_t m, const uint8_t *ser, const uint64_t *x,
                                      uint64_t *out)
{
    const size_t sb = FSS_DCF_KEY_BYTES(p.n, p.l, p.g) * m, ow = m * (size_t)p.g;
    struct gpu_slot *sl;
    fss_status s = gpu_serial_upload(ev, ser, sb, fss_dcf_keys_bytes(p, m), m, ow, x, &sl);
    if (s != FSS_OK)
        return s;
    fss_dcf_keys dk;
    fss_dcf_keys_bind(&dk, p, ev->party, m, sl->d + align256(sb));
    unsigned *d_bad = (unsigned *)(sl->d + sl->do_ + ow * 8);
    const fss_status parsed = fss_cuda_dcf_keys_parse(&dk, sl->d, d_bad, ev->gpu->s);
    return gpu_step_queued(ev, "dcf eval", parsed,
                           parsed == FSS_OK ? fss_cuda_dcf_eval(&dk, (const uint64_t *)(sl->d + sl->dx),
                                                                (uint64_t *)(sl->d + sl->do_), ev->gpu->s)
                                            : parsed,
                           out);
}

static fss_status gpu_dpf_cmp_eval_serial(fss_eval *ev, fss_dpf_params p, size_t m, const uint8_t *ser,
                                          const uint64_t *x, uint64_t *out)
{
    const size_t sb = FSS_DPF_KEY_BYTES(p.n, p.l, p.early) * m;
    struct gpu_slot *sl;
    fss_status s = gpu_serial_upload(ev, ser, sb, fss_dpf_keys_bytes(p, m), m, m, x, &sl);
    if (s != FSS_OK)
        return s;
    fss_dpf_keys dk;
    fss_dpf_keys_bind(&dk, p, ev->party, m, sl->d + align256(sb));
    unsigned *d_bad = (unsigned *)(sl->d + sl->do_ + m * 8);
    const fss_status parsed = fss_cuda_dpf_keys_parse(&dk, sl->d, d_bad, ev->gpu->s);
    return gpu_step_queued(ev, "comparison eval", parsed,
                           parsed == FSS_OK ? fss_cuda_dpf_cmp_eval(&dk, (const uint64_t *)(sl->d + sl->dx),
                                                                    (uint64_t *)(sl->d + sl->do_), ev->gpu->s)
                                            : parsed,
                           out);
}

static fss_status gpu_dcf_eval(fss_eval *ev, const fss_dcf_keys *k, const uint64_t *x, uint64_t *out)
{
    unsigned char *d_keys = NULL; /* set by gpu_step_upload when it succeeds */
    uint64_t *d_x = NULL, *d_out = NULL;
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
    unsigned char *d_keys = NULL; /* set by gpu_step_upload when it succeeds */
    uint64_t *d_x = NULL, *d_out = NULL;
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
    g->upload_open = 0; /* waited for below, with everything else */
    if (s != FSS_OK) {
        gpu_drain(g);
        g->slot[0].busy = g->slot[1].busy = 0;
        return s;
    }
    s = slot_wait(ev, &g->slot[g->cur ^ 1]); /* the older step first */
    const fss_status s2 = slot_wait(ev, &g->slot[g->cur]);
    if (s != FSS_OK || s2 != FSS_OK) { /* a step's keys did not parse: nothing may stay queued */
        gpu_drain(g);
        g->slot[0].busy = g->slot[1].busy = 0;
    }
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
            if ((e = cudaEventCreateWithFlags(&g->slot[i].done, cudaEventDisableTiming)) == cudaSuccess)
                e = cudaEventCreateWithFlags(&g->slot[i].uploaded, cudaEventDisableTiming);
        const char *where = getenv("FSS_CUDA_PARSE");
        g->device_parse = !where || strcmp(where, "host") != 0;
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
            if (sl->uploaded)
                (void)cudaEventDestroy(sl->uploaded);
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
            fss_free_wiped(ev->keymem, ev->keymem_cap);
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

int fss_ev_device_parse(const fss_eval *ev)
{
#ifdef FSS_HAVE_CUDA
    return ev->backend == FSS_BACKEND_CUDA && ev->gpu && ev->gpu->device_parse;
#else
    (void)ev;
    return 0;
#endif
}

fss_status fss_ev_keys_released(fss_eval *ev)
{
#ifdef FSS_HAVE_CUDA
    if (fss_ev_device_parse(ev)) {
        const double t0 = fss_now();
        fss_status s = gpu_keys_released(ev);
        fss_ev_lap(ev, FSS_PHASE_FSS, t0);
        return s;
    }
#else
    (void)ev;
#endif
    return FSS_OK;
}

fss_status fss_ev_dcf_eval_serial(fss_eval *ev, fss_dcf_params p, size_t m, const uint8_t *ser, const uint64_t *x,
                                  uint64_t *out)
{
#ifdef FSS_HAVE_CUDA
    if (fss_ev_device_parse(ev) && m) {
        const double t0 = fss_now();
        fss_status s = gpu_dcf_eval_serial(ev, p, m, ser, x, out);
        fss_ev_lap(ev, FSS_PHASE_FSS, t0);
        return s;
    }
#else
    (void)p, (void)m, (void)ser, (void)x, (void)out;
#endif
    return fss_ev_fail(ev, FSS_E_ARG, "dcf eval: keys parsed on the device without a device");
}

fss_status fss_ev_dpf_cmp_eval_serial(fss_eval *ev, fss_dpf_params p, size_t m, const uint8_t *ser,
                                      const uint64_t *x, uint64_t *out)
{
#ifdef FSS_HAVE_CUDA
    if (fss_ev_device_parse(ev) && m) {
        const double t0 = fss_now();
        fss_status s = gpu_dpf_cmp_eval_serial(ev, p, m, ser, x, out);
        fss_ev_lap(ev, FSS_PHASE_FSS, t0);
        return s;
    }
#else
    (void)p, (void)m, (void)ser, (void)x, (void)out;
#endif
    return fss_ev_fail(ev, FSS_E_ARG, "comparison eval: keys parsed on the device without a device");
}

void *fss_ev_pinned_alloc(size_t bytes, void *self)
{
    (void)self;
#ifdef FSS_HAVE_CUDA
    void *p = NULL;
    if (cudaHostAlloc(&p, bytes, cudaHostAllocDefault) == cudaSuccess)
        return p;
    (void)cudaGetLastError();
#else
    (void)bytes;
#endif
    return NULL;
}

void fss_ev_pinned_free(void *p, size_t bytes, void *self)
{
    (void)self, (void)bytes;
#ifdef FSS_HAVE_CUDA
    (void)cudaFreeHost(p);
#else
    (void)p;
#endif
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
