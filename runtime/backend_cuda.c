/* The CUDA backend (backend.h): a gate's keys go to the device a step at a time through two
 * page-locked slots: while the device uploads and evaluates one step (keys and inputs in,
 * outputs back into the slot), the CPU parses the next into the other (or, by default,
 * the device parses each step's serialized keys itself, copied straight from the key
 * reader's page-locked chunks); the outputs reach the caller once the slot is waited for.
 * Matrix and convolution products move their operands and run at once; elementwise
 * products stay on the CPU. Same bits as the CPU backend: the kernels run the same
 * per-element bodies over keys in the same layout (fss/cuda.h), and the ring products are
 * exact modulo 2^64 on both. One path for every primitive: a primitive's device parse,
 * upload and evaluation are an entry of cuda_prims. */
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "fss/cuda.h"

/* Page-locked host memory (NULL when the driver has none left). */
static void *pinned_alloc(size_t bytes, void *self)
{
    (void)self;
    void *p = NULL;
    if (cudaHostAlloc(&p, bytes, cudaHostAllocDefault) == cudaSuccess)
        return p;
    (void)cudaGetLastError();
    return NULL;
}

static void pinned_free(void *p, size_t bytes, void *self)
{
    (void)self, (void)bytes;
    (void)cudaFreeHost(p);
}

/* Host memory for a slot: page-locked where the driver gives it (the upload is then one
 * DMA at full speed, and queued copies return at once), 64-byte aligned heap memory when
 * none is left; *pinned says which, for host_free, which wipes it. */
static void *host_alloc(size_t bytes, int *pinned)
{
    void *p = pinned_alloc(bytes, NULL);
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
        pinned_free(p, bytes, NULL);
    else
        free(p);
}

/* One step's buffers. Host (page-locked): parsed keys when the CPU parses (the step's
 * roots when the device does: wiped once the step is waited for), then count inputs at
 * hx, then out_words outputs and a flag word at ho.
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

static struct fss_gpu *gpu_of(const fss_eval *ev) { return (struct fss_gpu *)ev->be_state; }

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
    gpu_drain(gpu_of(ev));
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
    dev_release(gpu_of(ev), buf, cap);
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
        gpu_drain(gpu_of(ev)); /* the other slot's step may still be queued: nothing stays in flight */
        gpu_of(ev)->slot[0].busy = gpu_of(ev)->slot[1].busy = 0;
        return fss_ev_fail(ev, FSS_E_FORMAT, "party %d's keys do not parse (stray bits: corrupted)", ev->party);
    }
    memcpy(sl->out_dst, sl->h + sl->ho, sl->out_words * 8);
    if (sl->parsed_here) /* the step's roots (keys.c), uploaded */
        fss_memzero(sl->h, sl->count * sizeof(fss_block));
    return FSS_OK;
}

/* The next slot for a step: waited for, laid out for h_key_bytes of host keys and
 * d_key_bytes of device keys, count inputs and out_words outputs, grown if need be. */
static fss_status gpu_slot_take(fss_eval *ev, size_t h_key_bytes, size_t d_key_bytes, size_t count, size_t out_words,
                                struct gpu_slot **out)
{
    struct fss_gpu *g = gpu_of(ev);
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
    struct gpu_slot *sl = NULL;
    fss_status s = gpu_slot_take(ev, key_bytes, key_bytes, count, out_words, &sl);
    if (s == FSS_OK)
        *mem = sl->h;
    return s;
}

/* The current slot's inputs: copied into it and queued for upload. */
static fss_status gpu_step_inputs(fss_eval *ev, struct gpu_slot *sl, const uint64_t *x)
{
    memcpy(sl->h + sl->hx, x, sl->count * 8);
    cudaError_t e = cudaMemcpyAsync(sl->d + sl->dx, sl->h + sl->hx, sl->count * 8, cudaMemcpyHostToDevice, gpu_of(ev)->s);
    return e == cudaSuccess ? FSS_OK : gpu_cuda_fail(ev, "a step's inputs", e);
}

/* The current slot holds a step's parsed keys (checked against the slot): queues the
 * inputs' upload; the caller uploads the keys and launches, then gpu_step_queued. */
static fss_status gpu_step_upload(fss_eval *ev, const void *h_keys, size_t count, size_t out_words, const uint64_t *x,
                                  unsigned char **d_keys, uint64_t **d_x, uint64_t **d_out)
{
    struct gpu_slot *sl = &gpu_of(ev)->slot[gpu_of(ev)->cur];
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
    struct fss_gpu *g = gpu_of(ev);
    struct gpu_slot *sl = &g->slot[g->cur];
    if (uploaded != FSS_OK || launched != FSS_OK) {
        gpu_drain(g);
        return fss_ev_fail(ev, uploaded != FSS_OK ? uploaded : launched, "cuda backend: %s eval: %s", what,
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
 * parsed_bytes of parsed keys on the device. Takes a slot (its host memory first holds
 * the step's roots: count blocks, staged by the caller), zeroes the flag, queues the
 * keys' upload (and records when they have left ser), and the inputs'. */
static fss_status gpu_serial_upload(fss_eval *ev, const uint8_t *ser, size_t ser_bytes, size_t parsed_bytes,
                                    size_t count, size_t out_words, const uint64_t *x, struct gpu_slot **out)
{
    struct fss_gpu *g = gpu_of(ev);
    struct gpu_slot *sl = NULL;
    fss_status s = gpu_slot_take(ev, count * sizeof(fss_block), align256(ser_bytes) + parsed_bytes, count, out_words,
                                 &sl);
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
    struct fss_gpu *g = gpu_of(ev);
    if (!g->upload_open)
        return FSS_OK;
    g->upload_open = 0;
    cudaError_t e = cudaEventSynchronize(g->slot[g->cur].uploaded);
    return e == cudaSuccess ? FSS_OK : gpu_cuda_fail(ev, "a step's keys", e);
}

/* ---- the primitives on the device ------------------------------------------------------ */

/* A primitive's device parse, upload of host-parsed keys, and evaluation. */
typedef struct cuda_prim {
    fss_status (*parse)(const fss_prim_keys *d_k, const uint8_t *d_in, unsigned *d_bad, cudaStream_t s);
    fss_status (*upload)(fss_prim_keys *d_k, const fss_prim_keys *h_k, cudaStream_t s);
    fss_status (*eval)(const fss_prim_keys *d_k, const uint64_t *d_x, uint64_t *d_out, cudaStream_t s);
} cuda_prim;

static fss_status dcf_parse(const fss_prim_keys *d, const uint8_t *in, unsigned *bad, cudaStream_t s)
{
    return fss_cuda_dcf_keys_parse_noroots(&d->k.dcf, in, bad, s);
}
static fss_status cmp_parse(const fss_prim_keys *d, const uint8_t *in, unsigned *bad, cudaStream_t s)
{
    return fss_cuda_dpf_keys_parse_noroots(&d->k.dpf, in, bad, s);
}
static fss_status dcf_upload(fss_prim_keys *d, const fss_prim_keys *h, cudaStream_t s)
{
    return fss_cuda_dcf_keys_upload(&d->k.dcf, &h->k.dcf, s);
}
static fss_status cmp_upload(fss_prim_keys *d, const fss_prim_keys *h, cudaStream_t s)
{
    return fss_cuda_dpf_keys_upload(&d->k.dpf, &h->k.dpf, s);
}
static fss_status dcf_eval(const fss_prim_keys *d, const uint64_t *x, uint64_t *o, cudaStream_t s)
{
    return fss_cuda_dcf_eval(&d->k.dcf, x, o, s);
}
static fss_status cmp_eval(const fss_prim_keys *d, const uint64_t *x, uint64_t *o, cudaStream_t s)
{
    return fss_cuda_dpf_cmp_eval(&d->k.dpf, x, o, s);
}

static const cuda_prim cuda_prims[FSS_PRIM_KINDS] = {
    [FSS_PRIM_DCF] = {dcf_parse, dcf_upload, dcf_eval},
    [FSS_PRIM_DPF_CMP] = {cmp_parse, cmp_upload, cmp_eval},
};

/* A step from m serialized keys without roots: uploaded from the key source's memory,
 * parsed on the device (stray bits raise the slot's flag), the roots copied in from the
 * slot's host memory, and evaluated, all queued. */
static fss_status gpu_eval_serial(fss_eval *ev, const fss_prim *pr, size_t m, const uint8_t *ser,
                                  const fss_block *roots, const uint64_t *x, uint64_t *out)
{
    const fss_prim_ops *po = fss_prim_ops_of(pr->kind);
    const cuda_prim *cp = &cuda_prims[pr->kind];
    const size_t sb = po->key_bytes(pr) * m, ow = m * po->outs(pr);
    struct gpu_slot *sl = NULL;
    fss_status s = gpu_serial_upload(ev, ser, sb, po->parsed(pr, m), m, ow, x, &sl);
    if (s != FSS_OK)
        return s;
    fss_prim_keys dk;
    fss_prim_keys_bind(&dk, pr, ev->party, m, sl->d + align256(sb));
    unsigned *d_bad = (unsigned *)(sl->d + sl->do_ + ow * 8);
    const cudaStream_t st = gpu_of(ev)->s;
    fss_status parsed = cp->parse(&dk, sl->d, d_bad, st);
    if (parsed == FSS_OK) { /* the roots, through the slot's page-locked memory */
        memcpy(sl->h, roots, m * sizeof *roots);
        const cudaError_t e = cudaMemcpyAsync(po->roots(&dk), sl->h, m * sizeof *roots, cudaMemcpyHostToDevice, st);
        if (e != cudaSuccess)
            return gpu_cuda_fail(ev, "a step's roots", e);
    }
    return gpu_step_queued(ev, po->name, parsed,
                           parsed == FSS_OK ? cp->eval(&dk, (const uint64_t *)(sl->d + sl->dx),
                                                       (uint64_t *)(sl->d + sl->do_), st)
                                            : parsed,
                           out);
}

/* A step from keys the CPU parsed into the current slot: uploaded and evaluated, queued. */
static fss_status gpu_eval(fss_eval *ev, const fss_prim_keys *k, const uint64_t *x, uint64_t *out)
{
    const fss_prim_ops *po = fss_prim_ops_of(k->pr.kind);
    const cuda_prim *cp = &cuda_prims[k->pr.kind];
    unsigned char *d_keys = NULL; /* set by gpu_step_upload when it succeeds */
    uint64_t *d_x = NULL, *d_out = NULL;
    fss_status s = gpu_step_upload(ev, k->mem, k->count, k->count * po->outs(&k->pr), x, &d_keys, &d_x, &d_out);
    if (s != FSS_OK)
        return s;
    fss_prim_keys dk;
    fss_prim_keys_bind(&dk, &k->pr, ev->party, k->count, d_keys);
    const cudaStream_t st = gpu_of(ev)->s;
    const fss_status up = cp->upload(&dk, k, st);
    return gpu_step_queued(ev, po->name, up, up == FSS_OK ? cp->eval(&dk, d_x, d_out, st) : up, out);
}

static fss_status gpu_steps_end(fss_eval *ev, fss_status s)
{
    struct fss_gpu *g = gpu_of(ev);
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
    struct fss_gpu *g = gpu_of(ev);
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
    const fss_im2col_geom geom = fss_prod_conv_geom(ps);
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

/* ---- the table ------------------------------------------------------------------------ */

static void gpu_free(fss_eval *ev)
{
    struct fss_gpu *g = gpu_of(ev);
    if (!g)
        return;
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
    ev->be_state = NULL;
}

/* A stream, the slots' events, and the device's context started (fss_cuda_warm_up). */
static fss_status gpu_init(fss_eval *ev)
{
    struct fss_gpu *g = (struct fss_gpu *)calloc(1, sizeof *g);
    if (!g)
        return fss_ev_fail(ev, FSS_E_NOMEM, "backend cuda: out of memory");
    cudaError_t e = cudaStreamCreateWithFlags(&g->s, cudaStreamNonBlocking);
    if (e != cudaSuccess) {
        free(g);
        (void)cudaGetLastError();
        return fss_ev_fail(ev, FSS_E_CUDA, "backend cuda: cannot create a stream (%s)", cudaGetErrorString(e));
    }
    ev->be_state = g;
    for (int i = 0; i < 2 && e == cudaSuccess; i++)
        if ((e = cudaEventCreateWithFlags(&g->slot[i].done, cudaEventDisableTiming)) == cudaSuccess)
            e = cudaEventCreateWithFlags(&g->slot[i].uploaded, cudaEventDisableTiming);
    const char *where = getenv("FSS_CUDA_PARSE");
    g->device_parse = !where || strcmp(where, "host") != 0;
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        gpu_free(ev);
        return fss_ev_fail(ev, FSS_E_CUDA, "backend cuda: cannot create an event (%s)", cudaGetErrorString(e));
    }
    if (fss_cuda_warm_up() != FSS_OK) {
        (void)cudaGetLastError();
        fss_ev_fail(ev, FSS_E_CUDA, "backend cuda: %s", fss_cuda_last_error());
        gpu_free(ev);
        return FSS_E_CUDA;
    }
    return FSS_OK;
}

/* Everything but elementwise products (a loop the CPU does at memory speed). */
/* On the device: the DCF and comparison evaluations, matrix and convolution products. Not
 * (yet): elementwise and batched products, table lookups (no kernel of the fused
 * full-domain expansion and dot product); they run on the CPU backend. */
static int gpu_supports(const fss_eval *ev, fss_op op)
{
    return (void)ev, op == FSS_OP_PRIM_DCF || op == FSS_OP_PRIM_DPF_CMP || op == FSS_OP_PROD_MATMUL ||
                         op == FSS_OP_PROD_CONV;
}
static int gpu_parses(const fss_eval *ev) { return gpu_of(ev)->device_parse; }

/* Page-locked chunks where the device parses: steps are uploaded straight from them. */
static fss_keyfile_alloc gpu_chunk_alloc(const fss_eval *ev)
{
    if (!gpu_parses(ev))
        return (fss_keyfile_alloc){0};
    return (fss_keyfile_alloc){.alloc = pinned_alloc, .free = pinned_free, .self = NULL};
}

#define GPU_STEP ((size_t)1 << 20) /* up to a key piece (64 MiB), evaluated while the CPU goes on */
FSS_STATIC_ASSERT(GPU_STEP % FSS_KEY_BLOCK == 0, "party steps start on key blocks");

const fss_backend_ops fss_backend_cuda_ops = {
    .id = FSS_BACKEND_CUDA,
    .step = GPU_STEP,
    .init = gpu_init,
    .free = gpu_free,
    .supports = gpu_supports,
    .parses = gpu_parses,
    .step_mem = gpu_step_mem,
    .eval = gpu_eval,
    .eval_serial = gpu_eval_serial,
    .keys_released = gpu_keys_released,
    .steps_end = gpu_steps_end,
    .prod_pair = gpu_prod_pair,
    .chunk_alloc = gpu_chunk_alloc,
};
