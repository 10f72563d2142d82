/* fss-bench's shared parts: options, result rows, and one benchmark batch of one
 * primitive (inputs, keys, and the definition its shares must reconstruct to), used by
 * the CPU driver (fss_bench.c) and the GPU driver (fss_bench_cuda.c). */
#ifndef FSS_BENCH_H
#define FSS_BENCH_H

#include <stdio.h>

#include "fss/ctx.h"
#include "fss/dcf.h"
#include "fss/dpf.h"
#include "fss/rng.h"

#define REPETITIONS 5 /* the median of this many timings of >= --min-time each */
#define MAX_BATCHES 8
#define MAX_NS 16

enum { P_DPF, P_DPF1, P_DCF, P_DPFCMP, P_AES, P_GEMM, P_LUT, P_COUNT };
extern const char *const prim_names[P_COUNT];

/* The measured variants: group DPF into Z_2^64, early-terminated 1-bit DPF, DCF with a
 * 1-bit and a 64-bit payload (g = 1), the comparison from early-terminated keys, and (CPU
 * only, n <= FSS_DPF_LUT_MAX_BITS, only when --prim names it) a table lookup of 50-bit
 * entries from keys of two outputs a leaf (fss_dpf_lut_eval: a full-domain expansion an
 * instance, as the transformers' tables). */
typedef struct variant {
    int prim;
    int l; /* output bits */
} variant;
#define NVARIANTS 7
extern const variant variants[NVARIANTS];

/* The CPU paths of the hot evals (fss_ctx_set_cpu_path, in its order): blocks batched
 * through OpenSSL; AVX2 with VAES rounds inline (the lookups' trees, batched AES); eight
 * instances a 512-bit register with VAES rounds inline. Keygen batches its blocks through
 * fss_ctx_aes, which follows the same switch: timed on the fastest path among them, as the
 * dealer runs. */
enum { PATH_OPENSSL, PATH_VAES256, PATH_VAES, PATH_COUNT }; /* "vaes": the AVX-512 path (its rows' name since 2026-11) */
_Static_assert((int)PATH_OPENSSL == (int)FSS_CPU_OPENSSL && (int)PATH_VAES256 == (int)FSS_CPU_VAES256 &&
                   (int)PATH_VAES == (int)FSS_CPU_VAES512,
               "the bench's paths are fss_cpu_path's, in its order");

typedef struct opts {
    int json, quick, sweep, no_gpu, no_cpu, threads;
    int dcf_g; /* the CPU DCF rows' payload words (--dcf-g; 1: the default) */
    unsigned paths; /* bit per PATH_*; 0: every path this processor has */
    double min_time;
    size_t batch, gpu_batch;  /* batch: the first of batches */
    size_t batches[MAX_BATCHES]; /* the CPU batches, swept */
    int nb;
    unsigned prims; /* bit per P_* */
    int ns[MAX_NS], nn;
    FILE *tab; /* where the human table goes */
} opts;

/* One line of output. */
typedef struct row {
    const char *prim, *backend, *op;
    const char *path; /* CPU path, NULL on the GPU */
    int threads, n, out_bits;
    int g; /* DCF payload words; > 1 shown (JSON "g", the table's prim "dcf g=G") */
    size_t count;
    double per_s;
    uint64_t aes_blocks; /* per instance (both parties for keygen) */
    size_t key_bytes;    /* serialized, one party, one instance */
    double aes_frac;     /* per_s * aes_blocks / AES blocks per second; < 0: none */
} row;

/* Monotonic seconds. */
double now_s(void);
void table_head(const opts *o);
void emit_row(const opts *o, const row *r);
/* An AES rate row: backend "cpu" (path "openssl": its ECB; "vaes": the limit loop; "vaes256": that
 * path's ECB, the limit where it is the fastest) or the GPU's. */
void emit_aes(const opts *o, const char *backend, const char *path, int threads, double blocks_per_s);
/* The median of n values (reordered). */
double median(double *v, int n);

/* One clear line on stderr, exit 1. */
void die(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2), noreturn))
#endif
    ;

/* A library call that must succeed; the context's message says why it did not. */
#define OK(ctx, call)                                                                             \
    do {                                                                                          \
        fss_status s_ = (call);                                                                   \
        if (s_ != FSS_OK)                                                                         \
            die("%s:%d: %s: %s (%s)", __FILE__, __LINE__, #call, fss_status_str(s_),              \
                (ctx) ? fss_ctx_error(ctx) : "");                                                 \
    } while (0)

void *xmalloc(size_t bytes); /* 64-byte aligned; dies when out of memory */
/* A ring GEMM's operands, m x k and k x n of random words, and two m x n outputs (left
 * as they are): the CPU table's and the GPU's against the CPU. */
void gemm_operands(fss_ctx *ctx, fss_rng *rng, size_t m, size_t k, size_t n, uint64_t **A, uint64_t **B,
                   uint64_t **C, uint64_t **C2);

/* count instances of one variant at one n: inputs on the host, keys of either kind (on
 * the host for the CPU, bound to device memory for the GPU). */
typedef struct batch {
    int prim, n, l, g; /* g: DCF payload words (1 for the DPFs) */
    size_t count;
    uint64_t *alpha, *beta, *x;
    uint64_t *table; /* P_LUT: the public table, 2^n entries */
    fss_block *roots; /* roots[2i + b]: party b's root of instance i */
    fss_dpf_params dp;
    fss_dcf_params cp;
    fss_dpf_keys dk[2];
    fss_dcf_keys ck[2];
} batch;

void batch_inputs(batch *b, fss_ctx *ctx, fss_rng *rng, int prim, int n, int l, int g, size_t count);
void batch_alloc_keys(batch *b, fss_ctx *ctx); /* host keys */
void batch_free(batch *b);                     /* inputs and host keys */
int uses_dcf(const batch *b);
uint64_t eval_blocks(const batch *b);   /* AES blocks of one eval, one party */
uint64_t keygen_blocks(const batch *b); /* AES blocks of one keygen, both parties */
size_t key_bytes(const batch *b);       /* one party's serialized key */
FSS_NODISCARD fss_status batch_keygen(fss_ctx *ctx, batch *b);
FSS_NODISCARD fss_status batch_eval(fss_ctx *ctx, const batch *b, int party, const uint64_t *x, uint64_t *out);
/* Dies unless shares y0[j], y1[j] of instances first + j, j < m, reconstruct to the
 * definition. */
void check_outputs(const char *where, const batch *b, size_t first, size_t m, const uint64_t *y0,
                   const uint64_t *y1);

#ifdef FSS_HAVE_CUDA
/* Every selected variant and n on CUDA device 0, validated against the CPU first. */
void bench_gpu(const opts *o, fss_ctx *ctx, fss_rng *rng);
#endif

#endif
