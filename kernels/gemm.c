#include "fss/gemm.h"

#include <string.h>

#include "cpu_omp.h"

/* Blocked i-k-j loop: the innermost loop runs along rows of B and C (unit stride, so the
 * compiler vectorizes the 64-bit multiply-adds); a tile of C's columns and a block of K
 * keep a panel of B in cache while the tile's rows of A pass over it (B is read once a
 * row block, not once a row: 1.5-2x on convolution shapes, 2026-11-26). */
#define GEMM_BK 128
#define GEMM_BN 256
#define GEMM_BM 64

/* c[j] += a b[j]: the whole inner loop. With AVX-512DQ it runs 8 lanes of vpmullq (gcc
 * vectorizes it only at -O3 with the target enabled), else scalar. */
typedef void (*axpy_fn)(uint64_t *restrict c, const uint64_t *restrict b, uint64_t a, size_t n);

static void axpy_plain(uint64_t *restrict c, const uint64_t *restrict b, uint64_t a, size_t n)
{
    for (size_t j = 0; j < n; j++)
        c[j] += a * b[j];
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target("avx512f,avx512dq"), optimize("O3"))) static void axpy_avx512(uint64_t *restrict c,
                                                                                  const uint64_t *restrict b,
                                                                                  uint64_t a, size_t n)
{
    for (size_t j = 0; j < n; j++)
        c[j] += a * b[j];
}

static axpy_fn pick_axpy(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") ? axpy_avx512 : axpy_plain;
}
#else
static axpy_fn pick_axpy(void) { return axpy_plain; }
#endif

void fss_gemm_u64(fss_ctx *ctx, size_t m, size_t k, size_t n, const uint64_t *A, const uint64_t *B, uint64_t *C,
                  int accumulate)
{
    if (!accumulate)
        memset(C, 0, m * n * sizeof *C);
    if (!m || !k || !n)
        return;
    const axpy_fn axpy = pick_axpy();
    /* Tiles of C (GEMM_BM rows of GEMM_BN columns) across threads; in each, a panel of B
     * (GEMM_BK rows of the tile's columns) stays in cache while the tile's rows of A pass
     * over it. */
    const size_t nb = (n + GEMM_BN - 1) / GEMM_BN, mb = (m + GEMM_BM - 1) / GEMM_BM;
#pragma omp parallel for schedule(dynamic) num_threads(fss_ctx_threads(ctx)) if (m * k * n > 32768)
    for (size_t t = 0; t < nb * mb; t++) {
        const size_t j0 = (t % nb) * GEMM_BN, j1 = j0 + GEMM_BN < n ? j0 + GEMM_BN : n;
        const size_t i0 = (t / nb) * GEMM_BM, i1 = i0 + GEMM_BM < m ? i0 + GEMM_BM : m;
        for (size_t p0 = 0; p0 < k; p0 += GEMM_BK) {
            const size_t p1 = p0 + GEMM_BK < k ? p0 + GEMM_BK : k;
            for (size_t i = i0; i < i1; i++)
                for (size_t p = p0; p < p1; p++)
                    axpy(C + i * n + j0, B + p * n + j0, A[i * k + p], j1 - j0);
        }
    }
}

void fss_im2col_u64(fss_ctx *ctx, const fss_im2col_geom *g, const uint64_t *img, uint64_t *col)
{
    const size_t rows = g->c * g->kh * g->kw, cols = g->ho * g->wo;
#pragma omp parallel for schedule(static) num_threads(fss_ctx_threads(ctx)) if (rows * cols > 65536)
    for (size_t r = 0; r < rows; r++) {
        const size_t kx = r % g->kw, ky = (r / g->kw) % g->kh, ch = r / (g->kw * g->kh);
        uint64_t *out = col + r * cols;
        for (size_t oy = 0; oy < g->ho; oy++)
            for (size_t ox = 0; ox < g->wo; ox++)
                out[oy * g->wo + ox] = fss_im2col_at(g, img, ch, ky, kx, oy, ox);
    }
}
