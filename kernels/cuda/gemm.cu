/* The ring products on the GPU: C (+)= A B modulo 2^64 (64-bit integer multiply-adds,
 * exact; the ring's reduction to 2^n comes after, as on the CPU) and the im2col of one
 * image, whose entries come from the body the CPU runs (fss_im2col_at). */
#include "cuda_util.h"
#include "fss/gemm.h"

/* A block computes a GEMM_TM x GEMM_TN tile of C with 256 threads, each a 4 x 4 grid of
 * entries strided by 16 (so a warp reads 16 consecutive B entries and 2 A entries of the
 * shared tiles: no bank conflicts); K advances GEMM_TK at a time through shared tiles. */
#define GEMM_TM 64
#define GEMM_TN 64
#define GEMM_TK 16
#define GEMM_THREADS 256
/* Row tiles beyond this loop inside the kernel (gridDim.y is capped at 65535). */
#define GEMM_MAX_GRID_Y 32768u

__global__ void __launch_bounds__(GEMM_THREADS) gemm_u64_kernel(size_t m, size_t k, size_t n, const uint64_t *A,
                                                                const uint64_t *B, uint64_t *C, int accumulate)
{
    __shared__ uint64_t As[GEMM_TK][GEMM_TM + 1]; /* A's tile, transposed; +1 spreads the stores over banks */
    __shared__ uint64_t Bs[GEMM_TK][GEMM_TN];
    const unsigned tx = threadIdx.x % 16, ty = threadIdx.x / 16;
    const size_t j0 = (size_t)blockIdx.x * GEMM_TN;
    const size_t row_tiles = (m + GEMM_TM - 1) / GEMM_TM;
    for (size_t rt = blockIdx.y; rt < row_tiles; rt += gridDim.y) {
        const size_t i0 = rt * GEMM_TM;
        uint64_t acc[4][4];
        for (int a = 0; a < 4; a++)
            for (int b = 0; b < 4; b++)
                acc[a][b] = 0;
        for (size_t p0 = 0; p0 < k; p0 += GEMM_TK) {
            for (unsigned e = threadIdx.x; e < GEMM_TM * GEMM_TK; e += GEMM_THREADS) {
                const unsigned r = e / GEMM_TK, q = e % GEMM_TK; /* consecutive threads along a row of A */
                const size_t gi = i0 + r, gp = p0 + q;
                As[q][r] = gi < m && gp < k ? A[gi * k + gp] : 0;
            }
            for (unsigned e = threadIdx.x; e < GEMM_TK * GEMM_TN; e += GEMM_THREADS) {
                const unsigned q = e / GEMM_TN, c = e % GEMM_TN;
                const size_t gp = p0 + q, gj = j0 + c;
                Bs[q][c] = gp < k && gj < n ? B[gp * n + gj] : 0;
            }
            __syncthreads();
#pragma unroll
            for (unsigned q = 0; q < GEMM_TK; q++) {
                uint64_t av[4], bv[4];
                for (int a = 0; a < 4; a++)
                    av[a] = As[q][ty + 16 * a];
                for (int b = 0; b < 4; b++)
                    bv[b] = Bs[q][tx + 16 * b];
                for (int a = 0; a < 4; a++)
                    for (int b = 0; b < 4; b++)
                        acc[a][b] += av[a] * bv[b];
            }
            __syncthreads();
        }
        for (int a = 0; a < 4; a++) {
            const size_t gi = i0 + ty + 16 * a;
            if (gi >= m)
                continue;
            for (int b = 0; b < 4; b++) {
                const size_t gj = j0 + tx + 16 * b;
                if (gj < n)
                    C[gi * n + gj] = accumulate ? C[gi * n + gj] + acc[a][b] : acc[a][b];
            }
        }
    }
}

extern "C" fss_status fss_cuda_gemm_u64(size_t m, size_t k, size_t n, const uint64_t *d_A, const uint64_t *d_B,
                                        uint64_t *d_C, int accumulate, cudaStream_t s)
{
    if (!m || !n)
        return FSS_OK;
    if (!d_C || (k && (!d_A || !d_B)))
        return FSS_CUDA_FAIL(FSS_E_ARG, "gemm %zu x %zu x %zu: a NULL operand", m, k, n);
    const size_t col_tiles = (n + GEMM_TN - 1) / GEMM_TN, row_tiles = (m + GEMM_TM - 1) / GEMM_TM;
    if (col_tiles > 0x7fffffffu)
        return FSS_CUDA_FAIL(FSS_E_ARG, "gemm: %zu columns is above the grid's limit", n);
    const dim3 grid((unsigned)col_tiles, row_tiles < GEMM_MAX_GRID_Y ? (unsigned)row_tiles : GEMM_MAX_GRID_Y);
    gemm_u64_kernel<<<grid, GEMM_THREADS, 0, s>>>(m, k, n, d_A, d_B, d_C, accumulate);
    FSS_CHECK_CUDA(cudaGetLastError());
    return FSS_OK;
}

__global__ void im2col_u64_kernel(fss_im2col_geom g, const uint64_t *img, uint64_t *col, size_t total)
{
    const size_t cols = g.ho * g.wo;
    FSS_CUDA_FOR(i, total) {
        const size_t r = i / cols, q = i % cols;
        col[i] = fss_im2col_at(&g, img, r / (g.kw * g.kh), (r / g.kw) % g.kh, r % g.kw, q / g.wo, q % g.wo);
    }
}

extern "C" fss_status fss_cuda_im2col_u64(const fss_im2col_geom *g, const uint64_t *d_img, uint64_t *d_col,
                                          cudaStream_t s)
{
    if (!g)
        return FSS_CUDA_FAIL(FSS_E_ARG, "im2col: no geometry");
    const size_t total = g->c * g->kh * g->kw * g->ho * g->wo;
    if (!total)
        return FSS_OK;
    if (!d_img || !d_col || !g->stride)
        return FSS_CUDA_FAIL(FSS_E_ARG, "im2col: a NULL operand or a zero stride");
    im2col_u64_kernel<<<fss_cuda_grid(total), FSS_CUDA_BLOCK, 0, s>>>(*g, d_img, d_col, total);
    FSS_CHECK_CUDA(cudaGetLastError());
    return FSS_OK;
}
