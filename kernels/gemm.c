#include "fss/gemm.h"

#include <stdatomic.h>
#include <string.h>

#include "cpu_omp.h"

/* Tiles of C (GEMM_BM rows of GEMM_BN columns) go to the threads; in a tile, blocks of
 * GEMM_BK of K keep a panel of B (GEMM_BK x 16 words, 16 KB) in L1 while the tile's rows
 * pass over it four at a time. The micro-kernel holds a 4 x 16 block of C in eight
 * 8-lane registers over the K block: per step of K, two loads of B, four broadcasts of
 * A and eight 64-bit multiply-adds (vpmullq with AVX-512DQ), so the multiplier, not
 * memory, sets the pace. Rows past the 4 x 16 grid take a vector loop a row, columns past
 * it a scalar one.
 * Without AVX-512, AVX2 (tile_avx2) where the processor has it, else the plain loop. */
#define GEMM_BK 256
#define GEMM_BN 256
#define GEMM_BM 64
#define GEMM_MR 4
#define GEMM_NR 16

typedef void (*tile_fn)(size_t k, size_t n, const uint64_t *A, const uint64_t *B, uint64_t *C, size_t i0, size_t i1,
                        size_t j0, size_t j1);

/* Without AVX-512 the 8-lane type is split into emulated pieces (0.55 G MAC/s where the
 * loop below runs several times faster): the portable path is a row axpy in K blocks. */
static void tile_plain(size_t k, size_t n, const uint64_t *A, const uint64_t *B, uint64_t *C, size_t i0, size_t i1,
                       size_t j0, size_t j1)
{
    for (size_t p0 = 0; p0 < k; p0 += GEMM_BK) {
        const size_t p1 = p0 + GEMM_BK < k ? p0 + GEMM_BK : k;
        for (size_t i = i0; i < i1; i++)
            for (size_t p = p0; p < p1; p++) {
                const uint64_t a = A[i * k + p];
                uint64_t *restrict c = C + i * n;
                const uint64_t *restrict b = B + p * n;
                for (size_t j = j0; j < j1; j++)
                    c[j] += a * b[j];
            }
    }
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>

#include "cpu_avx2_mac.h"

typedef uint64_t u64x8 __attribute__((vector_size(64)));

/* The columns past a tile's last full group of g, scalar. */
static void tail_columns(size_t k, size_t n, const uint64_t *A, const uint64_t *B, uint64_t *C, size_t i0, size_t i1,
                         size_t j, size_t j1, size_t p0, size_t p1)
{
    for (size_t i = i0; i < i1; i++)
        for (size_t p = p0; p < p1; p++) {
            const uint64_t a = A[i * k + p];
            for (size_t jj = j; jj < j1; jj++)
                C[i * n + jj] += a * B[p * n + jj];
        }
}

/* One tile: C[i0, i1) x [j0, j1) += A[i0, i1) x [0, k) B[0, k) x [j0, j1), row-major,
 * with the 8-lane vectors of gcc's generic vector extension (vpmullq under AVX-512DQ). */
__attribute__((target("avx512f,avx512dq"))) static void tile_avx512(size_t k, size_t n, const uint64_t *A,
                                                                    const uint64_t *B, uint64_t *C, size_t i0,
                                                                    size_t i1, size_t j0, size_t j1)
{
    for (size_t p0 = 0; p0 < k; p0 += GEMM_BK) {
        const size_t p1 = p0 + GEMM_BK < k ? p0 + GEMM_BK : k;
        size_t j = j0;
        for (; j + GEMM_NR <= j1; j += GEMM_NR) {
            size_t i = i0;
            for (; i + GEMM_MR <= i1; i += GEMM_MR) {
                u64x8 c[GEMM_MR][2];
                for (int r = 0; r < GEMM_MR; r++) {
                    __builtin_memcpy(&c[r][0], C + (i + r) * n + j, 64);
                    __builtin_memcpy(&c[r][1], C + (i + r) * n + j + 8, 64);
                }
                for (size_t p = p0; p < p1; p++) {
                    u64x8 b0, b1;
                    __builtin_memcpy(&b0, B + p * n + j, 64);
                    __builtin_memcpy(&b1, B + p * n + j + 8, 64);
                    for (int r = 0; r < GEMM_MR; r++) {
                        const uint64_t a = A[(i + r) * k + p];
                        c[r][0] += a * b0;
                        c[r][1] += a * b1;
                    }
                }
                for (int r = 0; r < GEMM_MR; r++) {
                    __builtin_memcpy(C + (i + r) * n + j, &c[r][0], 64);
                    __builtin_memcpy(C + (i + r) * n + j + 8, &c[r][1], 64);
                }
            }
            for (; i < i1; i++) { /* the rows past the last 4 */
                u64x8 c0, c1;
                __builtin_memcpy(&c0, C + i * n + j, 64);
                __builtin_memcpy(&c1, C + i * n + j + 8, 64);
                for (size_t p = p0; p < p1; p++) {
                    u64x8 b0, b1;
                    __builtin_memcpy(&b0, B + p * n + j, 64);
                    __builtin_memcpy(&b1, B + p * n + j + 8, 64);
                    const uint64_t a = A[i * k + p];
                    c0 += a * b0;
                    c1 += a * b1;
                }
                __builtin_memcpy(C + i * n + j, &c0, 64);
                __builtin_memcpy(C + i * n + j + 8, &c1, 64);
            }
        }
        if (j < j1) /* the columns past the last 16 */
            tail_columns(k, n, A, B, C, i0, i1, j, j1, p0, p1);
    }
}

/* AVX2 has no 64-bit multiply: a product is a vpmuludq and a vpmulld against B with its
 * halves swapped (cpu_avx2_mac.h), summed apart and joined once a K block. A 4 x 8 block
 * of C keeps its sixteen sums in registers (and spills, which costs less than the loads of
 * B and A that smaller blocks repeat): a step of K loads two vectors of B, swaps their
 * halves and broadcasts four words of A. On a Zen 3 without AVX-512, one thread, at
 * GPT-2's shapes: 1.3-2.2x the three-vpmuludq 4 x 4 tile it replaced (alternated in one
 * process), which ran at about 4.3 G MAC/s (bench/results/2026-12-07-gemm-avx2.md). */
__attribute__((target("avx2"))) static void tile_avx2(size_t k, size_t n, const uint64_t *A, const uint64_t *B,
                                                      uint64_t *C, size_t i0, size_t i1, size_t j0, size_t j1)
{
    enum { MR = 4, NV = 2, NR = 4 * NV }; /* (4 x 4, 3 x 8, 6 x 4, 8 x 4: slower; 5 x 8 no faster) */
    const size_t iv = i0 + (i1 - i0) / MR * MR; /* rows in blocks of MR; the rest the plain loop's, once */
    for (size_t p0 = 0; p0 < k && iv > i0; p0 += GEMM_BK) {
        const size_t p1 = p0 + GEMM_BK < k ? p0 + GEMM_BK : k;
        size_t j = j0;
        for (; j + NR <= j1; j += NR)
            for (size_t i = i0; i < iv; i += MR) {
                __m256i lo[MR][NV], x[MR][NV];
                for (int r = 0; r < MR; r++)
                    for (int v = 0; v < NV; v++)
                        lo[r][v] = x[r][v] = _mm256_setzero_si256();
                for (size_t p = p0; p < p1; p++) {
                    __m256i b[NV], bs[NV];
                    for (int v = 0; v < NV; v++) {
                        b[v] = _mm256_loadu_si256((const __m256i *)(B + p * n + j + 4 * v));
                        bs[v] = fss_avx2_swap32(b[v]);
                    }
                    for (int r = 0; r < MR; r++) {
                        const __m256i a = _mm256_set1_epi64x((long long)A[(i + r) * k + p]);
                        for (int v = 0; v < NV; v++)
                            fss_avx2_mac_sw(a, b[v], bs[v], &lo[r][v], &x[r][v]);
                    }
                }
                for (int r = 0; r < MR; r++)
                    for (int v = 0; v < NV; v++) {
                        __m256i *c = (__m256i *)(C + (i + r) * n + j + 4 * v);
                        _mm256_storeu_si256(c, _mm256_add_epi64(_mm256_loadu_si256(c),
                                                                fss_avx2_mac_join(lo[r][v], x[r][v])));
                    }
            }
        if (j < j1) /* the columns past the last NR */
            tail_columns(k, n, A, B, C, i0, iv, j, j1, p0, p1);
    }
    if (iv < i1)
        tile_plain(k, n, A, B, C, iv, i1, j0, j1);
}

/* sum_j a[j] b[j] mod 2^64 by the products above (fss_avx2_mac), four lanes a step. */
__attribute__((target("avx2"))) static uint64_t dot_avx2(const uint64_t *a, const uint64_t *b, size_t n)
{
    __m256i lo = _mm256_setzero_si256(), x = _mm256_setzero_si256();
    size_t j = 0;
    for (; j + 4 <= n; j += 4)
        fss_avx2_mac(_mm256_loadu_si256((const __m256i *)(a + j)), _mm256_loadu_si256((const __m256i *)(b + j)), &lo,
                     &x);
    uint64_t s = fss_avx2_mac_sum(lo, x);
    for (; j < n; j++)
        s += a[j] * b[j];
    return s;
}

static int have_avx512(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
}

static int have_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}

static tile_fn pick_tile(int path)
{
    if (path == FSS_GEMM_AVX2)
        return have_avx2() ? tile_avx2 : tile_plain;
    return have_avx512() ? tile_avx512 : have_avx2() ? tile_avx2 : tile_plain;
}
#else
static tile_fn pick_tile(int path) { return (void)path, tile_plain; }
#endif

uint64_t fss_dot_u64_path(int path, const uint64_t *a, const uint64_t *b, size_t n)
{
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
    static _Atomic int avx2 = -1; /* the processor's answer, kept (lookups call from many threads) */
    int have = atomic_load_explicit(&avx2, memory_order_relaxed);
    if (have < 0)
        atomic_store_explicit(&avx2, have = have_avx2(), memory_order_relaxed);
    if (path != FSS_GEMM_PLAIN && have)
        return dot_avx2(a, b, n);
#else
    (void)path;
#endif
    uint64_t s = 0;
    for (size_t j = 0; j < n; j++)
        s += a[j] * b[j];
    return s;
}

void fss_gemm_u64(fss_ctx *ctx, size_t m, size_t k, size_t n, const uint64_t *A, const uint64_t *B, uint64_t *C,
                  int accumulate)
{
    fss_gemm_u64_path(ctx, FSS_GEMM_AUTO, m, k, n, A, B, C, accumulate);
}

void fss_gemm_u64_path(fss_ctx *ctx, int path, size_t m, size_t k, size_t n, const uint64_t *A, const uint64_t *B,
                       uint64_t *C, int accumulate)
{
    if (!accumulate)
        memset(C, 0, m * n * sizeof *C);
    if (!m || !k || !n)
        return;
    const tile_fn tile = path == FSS_GEMM_PLAIN ? tile_plain : pick_tile(path);
    const size_t nb = (n + GEMM_BN - 1) / GEMM_BN, mb = (m + GEMM_BM - 1) / GEMM_BM;
#pragma omp parallel for schedule(dynamic) num_threads(fss_ctx_threads(ctx)) if (m * k * n > 32768)
    for (size_t t = 0; t < nb * mb; t++) {
        const size_t j0 = (t % nb) * GEMM_BN, j1 = j0 + GEMM_BN < n ? j0 + GEMM_BN : n;
        const size_t i0 = (t / nb) * GEMM_BM, i1 = i0 + GEMM_BM < m ? i0 + GEMM_BM : m;
        tile(k, n, A, B, C, i0, i1, j0, j1);
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
