/* fss-bench on the GPU: the CUDA backend's keygen, eval and AES, validated against the
 * CPU backend on a sample (keys byte for byte, shares word for word, and the shares'
 * reconstruction against the definition), then timed with cudaEvents. Built only when
 * the fss_cuda target exists. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fss/cuda.h"
#include "fss/gemm.h"
#include "fss_bench.h"

/* GPU outputs and keys compared with the CPU at the start and the end of the batch. */
#define GPU_SAMPLE 2048

#define CUDA_OK(call)                                                                              \
    do {                                                                                           \
        cudaError_t e_ = (call);                                                                   \
        if (e_ != cudaSuccess)                                                                     \
            die("%s:%d: %s: %s", __FILE__, __LINE__, #call, cudaGetErrorString(e_));               \
    } while (0)
#define FCUDA_OK(call)                                                                             \
    do {                                                                                           \
        fss_status s_ = (call);                                                                    \
        if (s_ != FSS_OK)                                                                          \
            die("%s:%d: %s: %s (%s)", __FILE__, __LINE__, #call, fss_status_str(s_),               \
                fss_cuda_last_error());                                                            \
    } while (0)

typedef void (*gpu_fn)(void *arg, cudaStream_t s);

/* Seconds per launch, by cudaEvents: a warm-up launch, then the launch count doubled
 * until one timing takes min_time, then REPETITIONS timings of that count; the median. */
static double time_gpu(gpu_fn f, void *arg, cudaStream_t s, double min_time)
{
    cudaEvent_t e0, e1;
    CUDA_OK(cudaEventCreate(&e0));
    CUDA_OK(cudaEventCreate(&e1));
    f(arg, s);
    CUDA_OK(cudaStreamSynchronize(s));
    double per[REPETITIONS];
    long reps = 1;
    for (int r = -1; r < REPETITIONS; r++) {
        for (;;) {
            float ms = 0;
            CUDA_OK(cudaEventRecord(e0, s));
            for (long i = 0; i < reps; i++)
                f(arg, s);
            CUDA_OK(cudaEventRecord(e1, s));
            CUDA_OK(cudaEventSynchronize(e1));
            CUDA_OK(cudaEventElapsedTime(&ms, e0, e1));
            if (r >= 0) { /* a timed repetition */
                per[r] = 1e-3 * ms / (double)reps;
                break;
            }
            if (1e-3 * ms >= min_time || reps >= (1l << 20))
                break; /* the launch count is found */
            reps *= 2;
        }
    }
    CUDA_OK(cudaEventDestroy(e0));
    CUDA_OK(cudaEventDestroy(e1));
    return median(per, REPETITIONS);
}

/* Sample ranges compared with the CPU: the first and the last GPU_SAMPLE instances. */
static int sample_ranges(size_t count, size_t first[2], size_t m[2])
{
    size_t s = count < 2 * GPU_SAMPLE ? count : GPU_SAMPLE;
    first[0] = 0;
    m[0] = s;
    if (s == count)
        return 1;
    first[1] = count - s;
    m[1] = s;
    return 2;
}

static void d2h(void *dst, const void *src, size_t bytes)
{
    if (bytes)
        CUDA_OK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}

/* Instances [first, first + h->count) of device keys d into host keys h (same layout,
 * level-major with the count as the row length, so one copy per row). */
static void download_range(const batch *b, const fss_dpf_keys *dd, const fss_dcf_keys *dc, size_t first,
                           fss_dpf_keys *hd, fss_dcf_keys *hc)
{
    if (uses_dcf(b)) {
        size_t m = hc->count, c = dc->count, vsh = fss_dcf_vcw_stride(m), vsd = fss_dcf_vcw_stride(c);
        d2h(hc->root, dc->root + first, m * 16);
        for (int lv = 0; lv < b->n; lv++)
            d2h(hc->scw + (size_t)lv * m, dc->scw + (size_t)lv * c + first, m * 16);
        d2h(hc->tcw_l, dc->tcw_l + first, m * 8);
        d2h(hc->tcw_r, dc->tcw_r + first, m * 8);
        for (size_t rw = 0; rw < (size_t)(b->n + 1) * (size_t)b->cp.g; rw++)
            d2h(hc->vcw + rw * vsh, dc->vcw + rw * vsd + first, m * 8);
    } else {
        size_t m = hd->count, c = dd->count;
        int depth = FSS_DPF_DEPTH(b->n, b->dp.early);
        d2h(hd->root, dd->root + first, m * 16);
        for (int lv = 0; lv < depth; lv++)
            d2h(hd->scw + (size_t)lv * m, dd->scw + (size_t)lv * c + first, m * 16);
        d2h(hd->tcw_l, dd->tcw_l + first, m * 8);
        d2h(hd->tcw_r, dd->tcw_r + first, m * 8);
        d2h(hd->fcw, dd->fcw + first, m * 16);
    }
}

typedef struct gpu_batch {
    batch *b; /* host inputs; b->dk / b->ck are the device keys */
    uint64_t *d_alpha, *d_beta, *d_x, *d_out;
    fss_block *d_roots;
} gpu_batch;

static void gpu_keygen(void *p, cudaStream_t s)
{
    gpu_batch *g = (gpu_batch *)p;
    batch *b = g->b;
    if (uses_dcf(b))
        FCUDA_OK(fss_cuda_dcf_keygen(b->cp, b->count, g->d_alpha, g->d_beta, g->d_roots, &b->ck[0], &b->ck[1], s));
    else
        FCUDA_OK(fss_cuda_dpf_keygen(b->dp, b->count, g->d_alpha, g->d_beta, g->d_roots, &b->dk[0], &b->dk[1], s));
}

static void gpu_eval_party(gpu_batch *g, int party, cudaStream_t s)
{
    batch *b = g->b;
    switch (b->prim) {
    case P_DCF: FCUDA_OK(fss_cuda_dcf_eval(&b->ck[party], g->d_x, g->d_out, s)); break;
    case P_DPFCMP: FCUDA_OK(fss_cuda_dpf_cmp_eval(&b->dk[party], g->d_x, g->d_out, s)); break;
    default: FCUDA_OK(fss_cuda_dpf_eval(&b->dk[party], g->d_x, g->d_out, s)); break;
    }
}

static void gpu_eval(void *p, cudaStream_t s) { gpu_eval_party((gpu_batch *)p, 0, s); }

/* Validate on the sample: device keys byte-identical to CPU keys from the same roots,
 * GPU shares equal to CPU shares of those keys, and the GPU shares reconstruct. */
static void gpu_validate(gpu_batch *g, fss_ctx *ctx, cudaStream_t s)
{
    batch *b = g->b;
    size_t first[2], m[2];
    int nr = sample_ranges(b->count, first, m);
    uint64_t *gy[2];
    for (int p = 0; p < 2; p++) {
        gy[p] = (uint64_t *)xmalloc(b->count * 8);
        gpu_eval_party(g, p, s);
        CUDA_OK(cudaStreamSynchronize(s));
        for (int r = 0; r < nr; r++)
            d2h(gy[p] + first[r], g->d_out + first[r], m[r] * 8);
    }
    for (int r = 0; r < nr; r++) {
        /* A small host batch of the sample's inputs, keyed by the same roots. */
        batch h = *b;
        memset(h.dk, 0, sizeof h.dk);
        memset(h.ck, 0, sizeof h.ck);
        h.count = m[r];
        h.alpha = b->alpha + first[r];
        h.beta = b->beta + first[r];
        h.x = b->x + first[r];
        h.roots = b->roots + 2 * first[r];
        batch_alloc_keys(&h, ctx);
        OK(ctx, batch_keygen(ctx, &h));
        size_t kb = key_bytes(b);
        uint8_t *ser_c = (uint8_t *)xmalloc(m[r] * kb), *ser_g = (uint8_t *)xmalloc(m[r] * kb);
        uint64_t *cy = (uint64_t *)xmalloc(m[r] * 8);
        for (int p = 0; p < 2; p++) {
            fss_dpf_keys gd;
            fss_dcf_keys gc;
            if (uses_dcf(b)) {
                OK(ctx, fss_dcf_keys_alloc(&gc, b->cp, p, m[r]));
                download_range(b, NULL, &b->ck[p], first[r], NULL, &gc);
                fss_dcf_keys_write(&h.ck[p], 0, m[r], ser_c);
                fss_dcf_keys_write(&gc, 0, m[r], ser_g);
                fss_dcf_keys_free(&gc);
            } else {
                OK(ctx, fss_dpf_keys_alloc(&gd, b->dp, p, m[r]));
                download_range(b, &b->dk[p], NULL, first[r], &gd, NULL);
                fss_dpf_keys_write(&h.dk[p], 0, m[r], ser_c);
                fss_dpf_keys_write(&gd, 0, m[r], ser_g);
                fss_dpf_keys_free(&gd);
            }
            for (size_t j = 0; j < m[r] * kb; j++)
                if (ser_c[j] != ser_g[j])
                    die("cuda %s n=%d l=%d: party %d key of instance %zu differs from the CPU's at byte %zu "
                        "(gpu %02x, cpu %02x)",
                        prim_names[b->prim], b->n, b->l, p, first[r] + j / kb, j % kb, ser_g[j], ser_c[j]);
            OK(ctx, batch_eval(ctx, &h, p, h.x, cy));
            for (size_t j = 0; j < m[r]; j++)
                if (cy[j] != gy[p][first[r] + j])
                    die("cuda %s n=%d l=%d: party %d share of instance %zu: gpu %" PRIu64 ", cpu %" PRIu64,
                        prim_names[b->prim], b->n, b->l, p, first[r] + j, gy[p][first[r] + j], cy[j]);
        }
        check_outputs("cuda", b, first[r], m[r], gy[0] + first[r], gy[1] + first[r]);
        free(ser_c);
        free(ser_g);
        free(cy);
        for (int p = 0; p < 2; p++) {
            if (h.ck[p].mem)
                fss_dcf_keys_free(&h.ck[p]);
            if (h.dk[p].mem)
                fss_dpf_keys_free(&h.dk[p]);
        }
    }
    free(gy[0]);
    free(gy[1]);
}

/* Device bytes of one batch of count instances: both parties' keys, the inputs
 * (alpha, beta, x, two roots) and one output word. */
static size_t gpu_bytes(const batch *b, size_t count)
{
    size_t keys = uses_dcf(b) ? fss_dcf_keys_bytes(b->cp, count) : fss_dpf_keys_bytes(b->dp, count);
    return 2 * keys + count * (4 * 8 + 2 * sizeof(fss_block));
}

static void *dmalloc(size_t bytes)
{
    void *p = NULL;
    CUDA_OK(cudaMalloc(&p, bytes ? bytes : 64));
    return p;
}

static void h2d(void *dst, const void *src, size_t bytes)
{
    CUDA_OK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}

static void bench_gpu_batch(const opts *o, fss_ctx *ctx, fss_rng *rng, variant v, int n, cudaStream_t s,
                            double aes_rate)
{
    batch b;
    /* Cut the batch in halves until it fits in 90% of the free device memory. */
    batch_inputs(&b, ctx, rng, v.prim, n, v.l, 1, 1);
    size_t count = o->gpu_batch, freeb = 0, total = 0;
    CUDA_OK(cudaMemGetInfo(&freeb, &total));
    while (count > GPU_SAMPLE && (double)gpu_bytes(&b, count) > 0.9 * (double)freeb)
        count /= 2;
    batch_free(&b);
    if (count != o->gpu_batch)
        fprintf(stderr, "fss-bench: cuda %s n=%d l=%d: batch cut to %zu instances to fit device memory\n",
                prim_names[v.prim], n, v.l, count);
    batch_inputs(&b, ctx, rng, v.prim, n, v.l, 1, count);
    gpu_batch g = {&b, NULL, NULL, NULL, NULL, NULL};
    g.d_alpha = (uint64_t *)dmalloc(count * 8);
    g.d_beta = (uint64_t *)dmalloc(count * 8);
    g.d_x = (uint64_t *)dmalloc(count * 8);
    g.d_out = (uint64_t *)dmalloc(count * 8);
    g.d_roots = (fss_block *)dmalloc(2 * count * sizeof(fss_block));
    h2d(g.d_alpha, b.alpha, count * 8);
    h2d(g.d_beta, b.beta, count * 8);
    h2d(g.d_x, b.x, count * 8);
    h2d(g.d_roots, b.roots, 2 * count * sizeof(fss_block));
    for (int p = 0; p < 2; p++) {
        if (uses_dcf(&b))
            FCUDA_OK(fss_cuda_dcf_keys_alloc(&b.ck[p], b.cp, p, count));
        else
            FCUDA_OK(fss_cuda_dpf_keys_alloc(&b.dk[p], b.dp, p, count));
    }
    gpu_keygen(&g, s);
    CUDA_OK(cudaStreamSynchronize(s));
    gpu_validate(&g, ctx, s);
    /* As on the CPU: the same keys evaluated again and again, a benchmark only. */
    double kg = time_gpu(gpu_keygen, &g, s, o->min_time);
    double ev = time_gpu(gpu_eval, &g, s, o->min_time);
    const uint64_t eb = eval_blocks(&b), kb = keygen_blocks(&b);
    const char *name = prim_names[v.prim];
    row r = {name, "cuda", "keygen", NULL, 1, n, v.l, 1, count, (double)count / kg, kb, key_bytes(&b), -1};
    row e = {name, "cuda", "eval", NULL, 1, n, v.l, 1, count, (double)count / ev, eb, key_bytes(&b), -1};
    if (aes_rate > 0) {
        r.aes_frac = r.per_s * (double)kb / aes_rate;
        e.aes_frac = e.per_s * (double)eb / aes_rate;
    }
    emit_row(o, &r);
    emit_row(o, &e);
    for (int p = 0; p < 2; p++) {
        if (uses_dcf(&b))
            fss_cuda_dcf_keys_free(&b.ck[p]);
        else
            fss_cuda_dpf_keys_free(&b.dk[p]);
    }
    memset(b.ck, 0, sizeof b.ck);
    memset(b.dk, 0, sizeof b.dk);
    CUDA_OK(cudaFree(g.d_alpha));
    CUDA_OK(cudaFree(g.d_beta));
    CUDA_OK(cudaFree(g.d_x));
    CUDA_OK(cudaFree(g.d_out));
    CUDA_OK(cudaFree(g.d_roots));
    batch_free(&b);
}

typedef struct gpu_aes_arg {
    const fss_block *d_in;
    fss_block *d_out;
    size_t count;
} gpu_aes_arg;

static void gpu_aes_op(void *p, cudaStream_t s)
{
    gpu_aes_arg *a = (gpu_aes_arg *)p;
    FCUDA_OK(fss_cuda_aes(a->d_in, a->d_out, a->count, s));
}

/* fss_cuda_aes blocks per second over gpu_batch blocks, checked against OpenSSL first. */
static double bench_gpu_aes(const opts *o, fss_ctx *ctx, fss_rng *rng, cudaStream_t s)
{
    size_t count = o->gpu_batch, first[2], m[2];
    fss_block *h_in = (fss_block *)xmalloc(count * sizeof(fss_block));
    const int nr = sample_ranges(count, first, m); /* m[0] is the larger */
    fss_block *got = (fss_block *)xmalloc(m[0] * sizeof(fss_block));
    fss_block *want = (fss_block *)xmalloc(m[0] * sizeof(fss_block));
    OK(ctx, fss_rng_bytes(rng, h_in, count * sizeof(fss_block)));
    gpu_aes_arg a = {NULL, NULL, count};
    fss_block *d_in = (fss_block *)dmalloc(count * sizeof(fss_block));
    a.d_in = d_in;
    a.d_out = (fss_block *)dmalloc(count * sizeof(fss_block));
    h2d(d_in, h_in, count * sizeof(fss_block));
    gpu_aes_op(&a, s);
    CUDA_OK(cudaStreamSynchronize(s));
    for (int r = 0; r < nr; r++) {
        d2h(got, a.d_out + first[r], m[r] * sizeof(fss_block));
        OK(ctx, fss_ctx_aes(ctx, 0, h_in + first[r], want, m[r]));
        for (size_t j = 0; j < m[r]; j++)
            if (!fss_block_eq(got[j], want[j]))
                die("cuda aes: block %zu: gpu %016" PRIx64 "%016" PRIx64 ", openssl %016" PRIx64 "%016" PRIx64,
                    first[r] + j, got[j].hi, got[j].lo, want[j].hi, want[j].lo);
    }
    double sec = time_gpu(gpu_aes_op, &a, s, o->min_time);
    CUDA_OK(cudaFree(d_in));
    CUDA_OK(cudaFree(a.d_out));
    free(h_in);
    free(got);
    free(want);
    return (double)count / sec;
}

typedef struct gpu_gemm_arg {
    size_t m, k, n;
    const uint64_t *d_A, *d_B;
    uint64_t *d_C;
} gpu_gemm_arg;

static void gpu_gemm_op(void *p, cudaStream_t s)
{
    gpu_gemm_arg *a = (gpu_gemm_arg *)p;
    FCUDA_OK(fss_cuda_gemm_u64(a->m, a->k, a->n, a->d_A, a->d_B, a->d_C, 0, s));
}

/* The ring GEMM on convolution shapes of ResNet-50 (as W [o][c kh kw] x col [c kh kw][ho
 * wo]) and a square one: checked against the CPU's fss_gemm_u64 in full, then timed on
 * both; the CPU's rate on the same shape is the baseline. */
static void bench_gpu_gemm(const opts *o, fss_ctx *ctx, fss_rng *rng, cudaStream_t s)
{
    static const struct {
        const char *what;
        size_t m, k, n;
    } shapes[] = {{"conv1 7x7/2 224", 64, 147, 12544},
                  {"layer1 3x3 56", 64, 576, 3136},
                  {"layer3 1x1 14", 1024, 256, 196},
                  {"layer4 3x3 7", 512, 4608, 49},
                  {"square 1024", 1024, 1024, 1024}};
    fprintf(o->tab, "\n| gemm (mod 2^64) | m x k x n | gpu G MAC/s | cpu G MAC/s (%d threads) | gpu/cpu |\n"
                    "| --- | --- | --- | --- | --- |\n",
            fss_ctx_threads(ctx));
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        const size_t m = shapes[i].m, k = shapes[i].k, n = shapes[i].n;
        uint64_t *A, *B, *C, *G;
        gemm_operands(ctx, rng, m, k, n, &A, &B, &C, &G);
        gpu_gemm_arg a = {m, k, n, (uint64_t *)dmalloc(m * k * 8), (uint64_t *)dmalloc(k * n * 8),
                          (uint64_t *)dmalloc(m * n * 8)};
        h2d((void *)a.d_A, A, m * k * 8);
        h2d((void *)a.d_B, B, k * n * 8);
        gpu_gemm_op(&a, s);
        CUDA_OK(cudaStreamSynchronize(s));
        d2h(G, a.d_C, m * n * 8);
        double t0 = now_s();
        fss_gemm_u64(ctx, m, k, n, A, B, C, 0);
        const double cpu_s = now_s() - t0;
        for (size_t j = 0; j < m * n; j++)
            if (C[j] != G[j])
                die("cuda gemm %zux%zux%zu: entry %zu: gpu %016" PRIx64 ", cpu %016" PRIx64, m, k, n, j, G[j], C[j]);
        const double gpu_s = time_gpu(gpu_gemm_op, &a, s, o->min_time);
        const double macs = (double)m * (double)k * (double)n;
        fprintf(o->tab, "| %s | %zu x %zu x %zu | %.1f | %.2f | %.0f |\n", shapes[i].what, m, k, n, macs / gpu_s / 1e9,
                macs / cpu_s / 1e9, cpu_s / gpu_s);
        fflush(o->tab);
        if (o->json) {
            printf("{\"prim\": \"gemm\", \"backend\": \"cuda\", \"shape\": \"%s\", \"m\": %zu, \"k\": %zu, "
                   "\"n\": %zu, \"gpu_macs_per_s\": %.4g, \"cpu_macs_per_s\": %.4g, \"cpu_threads\": %d}\n",
                   shapes[i].what, m, k, n, macs / gpu_s, macs / cpu_s, fss_ctx_threads(ctx));
            fflush(stdout);
        }
        CUDA_OK(cudaFree((void *)a.d_A));
        CUDA_OK(cudaFree((void *)a.d_B));
        CUDA_OK(cudaFree(a.d_C));
        free(A);
        free(B);
        free(C);
        free(G);
    }
}

void bench_gpu(const opts *o, fss_ctx *ctx, fss_rng *rng)
{
    struct cudaDeviceProp prop;
    int dev = 0;
    CUDA_OK(cudaGetDevice(&dev));
    CUDA_OK(cudaGetDeviceProperties(&prop, dev));
    fprintf(o->tab, "\n- gpu: %s (device %d, %d SMs), batch %zu\n\n", prop.name, dev, prop.multiProcessorCount,
            o->gpu_batch);
    table_head(o);
    cudaStream_t s;
    CUDA_OK(cudaStreamCreate(&s));
    /* The fraction of the AES limit needs the AES figure, so it is measured always. */
    double aes_rate = bench_gpu_aes(o, ctx, rng, s);
    if (o->prims & (1u << P_AES))
        emit_aes(o, "cuda", NULL, 1, aes_rate);
    for (size_t vi = 0; vi < NVARIANTS; vi++) {
        if (!(o->prims & (1u << variants[vi].prim)) || variants[vi].prim == P_LUT) /* no lookup on the GPU yet */
            continue;
        for (int ni = 0; ni < o->nn; ni++)
            bench_gpu_batch(o, ctx, rng, variants[vi], o->ns[ni], s, aes_rate);
    }
    if (o->prims & (1u << P_GEMM))
        bench_gpu_gemm(o, ctx, rng, s);
    CUDA_OK(cudaStreamDestroy(s));
}