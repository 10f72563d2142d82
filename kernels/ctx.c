#include "fss/ctx.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <openssl/evp.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "cpu_omp.h"
#include "cpu_vaes.h"
#include "cpu_vaes256.h"
#include "fss/prg.h"

#define FSS_CTX_MAX_THREADS 256
#define FSS_CTX_ERR_LEN 256

typedef struct ctx_thread {
    EVP_CIPHER_CTX *evp;
    void *scratch;
    size_t scratch_bytes;
    uint64_t aes_blocks;
    char pad[64]; /* keep threads' counters on separate cache lines */
} ctx_thread;

struct fss_ctx {
    int threads;
    fss_cpu_path path;
    ctx_thread *th; /* FSS_CTX_MAX_THREADS entries, created on demand */
    char err[FSS_CTX_ERR_LEN];
};

const uint8_t fss_prg_fixed_key[16] = {0x24, 0x3f, 0x6a, 0x88, 0x85, 0xa3, 0x08, 0xd3,
                                       0x13, 0x19, 0x8a, 0x2e, 0x03, 0x70, 0x73, 0x44};

fss_status fss_ctx_fail(fss_ctx *ctx, fss_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s = fss_verrorf(ctx ? ctx->err : NULL, ctx ? sizeof ctx->err : 0, s, fmt, ap);
    va_end(ap);
    return s;
}

void fss_omp_prefer_passive(char **argv)
{
#ifdef _OPENMP
    const char *pre = getenv("LD_PRELOAD");
    if (getenv("OMP_WAIT_POLICY") || !argv || !argv[0] || (pre && strstr(pre, "vgpreload")))
        return; /* set already, or under valgrind (whose /proc/self/exe is its own) */
    if (setenv("OMP_WAIT_POLICY", "passive", 1) == 0)
        execv("/proc/self/exe", argv); /* returns only on failure: go on as we are */
#else
    (void)argv;
#endif
}

void fss_tune_malloc(void)
{
#ifdef __GLIBC__
    /* Buffers of a few hundred MB come and go a part at a time: glibc would map each anew
     * (a page fault and a zeroed page a 4 KiB) and unmap it at free. Keep them in the heap
     * for the next one instead (the peak a little higher: 14-18% in bench/results). glibc
     * before 2.35 refuses a threshold above 32 MiB: then 32 MiB; and without either, leave
     * the trim alone (setting it alone would pin the threshold at 128 KiB). */
    if (mallopt(M_MMAP_THRESHOLD, 512 << 20) || mallopt(M_MMAP_THRESHOLD, 32 << 20))
        (void)mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

static int max_threads(void)
{
#ifdef _OPENMP
    return omp_get_num_procs();
#else
    return 1;
#endif
}

fss_status fss_ctx_set_threads(fss_ctx *ctx, int threads)
{
    if (threads <= 0)
        threads = max_threads();
    if (threads > FSS_CTX_MAX_THREADS)
        return fss_ctx_fail(ctx, FSS_E_ARG, "threads %d above the limit %d", threads,
                            FSS_CTX_MAX_THREADS);
#ifndef _OPENMP
    threads = 1;
#endif
    for (int i = 0; i < threads; i++) {
        if (ctx->th[i].evp)
            continue;
        EVP_CIPHER_CTX *e = EVP_CIPHER_CTX_new();
        if (!e || EVP_EncryptInit_ex(e, EVP_aes_128_ecb(), NULL, fss_prg_fixed_key, NULL) != 1) {
            EVP_CIPHER_CTX_free(e);
            return fss_ctx_fail(ctx, FSS_E_CRYPTO, "cannot set up OpenSSL AES-128-ECB");
        }
        EVP_CIPHER_CTX_set_padding(e, 0);
        ctx->th[i].evp = e;
    }
    ctx->threads = threads;
    return FSS_OK;
}

fss_status fss_ctx_new(fss_ctx **out, int threads)
{
    *out = NULL;
    fss_ctx *ctx = (fss_ctx *)calloc(1, sizeof *ctx);
    if (!ctx)
        return FSS_E_NOMEM;
    ctx->th = (ctx_thread *)calloc(FSS_CTX_MAX_THREADS, sizeof *ctx->th);
    if (!ctx->th) {
        free(ctx);
        return FSS_E_NOMEM;
    }
    ctx->path = fss_cpu_path_available(FSS_CPU_VAES512)   ? FSS_CPU_VAES512
                : fss_cpu_path_available(FSS_CPU_VAES256) ? FSS_CPU_VAES256
                                                          : FSS_CPU_OPENSSL;
    fss_status s = fss_ctx_set_threads(ctx, threads);
    if (s != FSS_OK) {
        fss_ctx_free(ctx);
        return s;
    }
    *out = ctx;
    return FSS_OK;
}

void fss_ctx_free(fss_ctx *ctx)
{
    if (!ctx)
        return;
    for (int i = 0; i < FSS_CTX_MAX_THREADS; i++) {
        EVP_CIPHER_CTX_free(ctx->th[i].evp);
        if (ctx->th[i].scratch) {
            fss_memzero(ctx->th[i].scratch, ctx->th[i].scratch_bytes);
            free(ctx->th[i].scratch);
        }
    }
    free(ctx->th);
    free(ctx);
}

int fss_ctx_threads(const fss_ctx *ctx) { return ctx->threads; }

int fss_cpu_path_available(fss_cpu_path path)
{
    switch (path) {
    case FSS_CPU_OPENSSL:
        return 1;
    case FSS_CPU_VAES256:
        return fss_vaes256_available();
    case FSS_CPU_VAES512:
        return fss_vaes_available();
    }
    return 0;
}

static const char *const path_names[] = {"openssl", "vaes256", "vaes512"};

const char *fss_cpu_path_name(fss_cpu_path path)
{
    return (unsigned)path < sizeof path_names / sizeof *path_names ? path_names[path] : "?";
}

int fss_cpu_path_parse(const char *name)
{
    for (int i = 0; i < (int)(sizeof path_names / sizeof *path_names); i++)
        if (!strcmp(name, path_names[i]))
            return i;
    return -1;
}

fss_status fss_ctx_set_cpu_path(fss_ctx *ctx, fss_cpu_path path)
{
    if (!fss_cpu_path_available(path))
        return fss_ctx_fail(ctx, FSS_E_ARG, "this processor cannot take the CPU path %s (%s)", fss_cpu_path_name(path),
                            path == FSS_CPU_VAES512 ? "it needs AVX-512 with VBMI, VAES and GFNI"
                                                    : "it needs AVX2, AES-NI and VAES");
    ctx->path = path;
    return FSS_OK;
}

fss_cpu_path fss_ctx_cpu_path(const fss_ctx *ctx) { return ctx->path; }
int fss_ctx_vaes(const fss_ctx *ctx) { return ctx->path == FSS_CPU_VAES512; }
int fss_ctx_vaes256(const fss_ctx *ctx) { return ctx->path == FSS_CPU_VAES256; }

void fss_ctx_add_aes_blocks(fss_ctx *ctx, int tid, uint64_t n)
{
    FSS_ASSERT(tid >= 0 && tid < ctx->threads);
    ctx->th[tid].aes_blocks += n;
}
const char *fss_ctx_error(const fss_ctx *ctx) { return ctx->err; }

uint64_t fss_ctx_aes_blocks(const fss_ctx *ctx)
{
    uint64_t s = 0;
    for (int i = 0; i < FSS_CTX_MAX_THREADS; i++)
        s += ctx->th[i].aes_blocks;
    return s;
}

void fss_ctx_reset_counters(fss_ctx *ctx)
{
    for (int i = 0; i < FSS_CTX_MAX_THREADS; i++)
        ctx->th[i].aes_blocks = 0;
}

fss_status fss_ctx_aes(fss_ctx *ctx, int tid, const fss_block *in, fss_block *out, size_t nblocks)
{
    FSS_ASSERT(tid >= 0 && tid < ctx->threads);
    ctx_thread *t = &ctx->th[tid];
    /* twice OpenSSL's 128-bit AES-NI rate (what the fast paths' walks leave: DCFs of g > 4, leaves' words) */
    if (ctx->path != FSS_CPU_OPENSSL) {
        if (ctx->path == FSS_CPU_VAES512)
            fss_vaes_ecb(in, out, nblocks);
        else
            fss_vaes256_ecb(in, out, nblocks);
        t->aes_blocks += nblocks;
        return FSS_OK;
    }
    /* EVP takes an int length: feed at most 2^26 blocks (1 GiB) per call. */
    const size_t step = (size_t)1 << 26;
    for (size_t done = 0; done < nblocks; done += step) {
        size_t m = nblocks - done < step ? nblocks - done : step;
        int outl = 0;
        if (EVP_EncryptUpdate(t->evp, (unsigned char *)(out + done), &outl,
                              (const unsigned char *)(in + done), (int)(m * 16)) != 1 ||
            (size_t)outl != m * 16)
            return FSS_E_CRYPTO; /* no message: may run on many threads at once */
    }
    t->aes_blocks += nblocks;
    return FSS_OK;
}

fss_status fss_cpu_tiles(fss_ctx *ctx, size_t count, size_t scratch, fss_tile_fn fn, const void *arg)
{
    const size_t nt = fss_ntiles(count);
    if (nt < 2 || ctx->threads < 2) {
        uint8_t *sc = (uint8_t *)fss_ctx_scratch(ctx, 0, scratch);
        if (!sc)
            return FSS_E_NOMEM;
        fss_status s = FSS_OK;
        for (size_t ti = 0; s == FSS_OK && ti < nt; ti++) {
            const size_t i0 = ti * FSS_CPU_TILE;
            s = fn(ctx, 0, sc, i0, count - i0 < FSS_CPU_TILE ? count - i0 : FSS_CPU_TILE, arg);
        }
        return s;
    }
    int failed = 0;
#pragma omp parallel num_threads(ctx->threads)
    {
        const int tid = FSS_OMP_TID();
        uint8_t *sc = (uint8_t *)fss_ctx_scratch(ctx, tid, scratch);
        if (!sc)
            FSS_SET_FAILED(failed, FSS_E_NOMEM);
#pragma omp for schedule(static)
        for (size_t ti = 0; ti < nt; ti++) {
            if (fss_failed(&failed))
                continue;
            const size_t i0 = ti * FSS_CPU_TILE;
            const fss_status s = fn(ctx, tid, sc, i0, count - i0 < FSS_CPU_TILE ? count - i0 : FSS_CPU_TILE, arg);
            if (s != FSS_OK)
                FSS_SET_FAILED(failed, s);
        }
    }
    return (fss_status)failed;
}

void *fss_ctx_scratch(fss_ctx *ctx, int tid, size_t bytes)
{
    FSS_ASSERT(tid >= 0 && tid < ctx->threads);
    ctx_thread *t = &ctx->th[tid];
    if (t->scratch_bytes >= bytes)
        return t->scratch;
    if (t->scratch) {
        fss_free_wiped(t->scratch, t->scratch_bytes);
    }
    size_t rounded = (bytes + 63) & ~(size_t)63;
    t->scratch = aligned_alloc(64, rounded);
    t->scratch_bytes = t->scratch ? rounded : 0;
    return t->scratch;
}
