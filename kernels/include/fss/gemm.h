/* Ring matrix products for the secret x secret layers: exact modulo 2^64 (and so modulo
 * any 2^n, by reducing the result), on the CPU. */
#ifndef FSS_GEMM_H
#define FSS_GEMM_H

#include "fss/ctx.h"

FSS_EXTERN_C_BEGIN

/* C[m][n] (+)= A[m][k] * B[k][n] mod 2^64, row-major; accumulate = 0 overwrites C.
 * Multithreaded over the context's threads. */
void fss_gemm_u64(fss_ctx *ctx, size_t m, size_t k, size_t n, const uint64_t *A, const uint64_t *B, uint64_t *C,
                  int accumulate);
/* The same on a chosen path: FSS_GEMM_AUTO (AVX-512 where the processor has it, else
 * AVX2, as fss_gemm_u64), FSS_GEMM_PLAIN (portable C) or FSS_GEMM_AVX2 (plain without
 * it), so tests cover each. */
enum { FSS_GEMM_AUTO, FSS_GEMM_PLAIN, FSS_GEMM_AVX2 };
void fss_gemm_u64_path(fss_ctx *ctx, int path, size_t m, size_t k, size_t n, const uint64_t *A, const uint64_t *B,
                       uint64_t *C, int accumulate);

/* sum_j a[j] b[j] mod 2^64 on one thread, AVX2 where the processor has it (path as above;
 * AUTO takes AVX2 too: a lookup's dot without VAES), else plain C. */
uint64_t fss_dot_u64_path(int path, const uint64_t *a, const uint64_t *b, size_t n);

/* One image's convolution as a matrix product (Caffe's im2col): col has c kh kw rows,
 * ordered (channel, ky, kx), and ho wo columns, ordered (oy, ox); then
 * Y [o][ho wo] = W [o][c kh kw] col. The image is [c][h][w], zero padded by pad. */
typedef struct fss_im2col_geom {
    size_t c, h, w, kh, kw, stride, pad, ho, wo;
} fss_im2col_geom;

/* Entry (row (ch, ky, kx), column (oy, ox)) of the image's im2col matrix: the body both
 * launchers run (the CPU's loops give the indices, a GPU thread divides them out). */
static inline FSS_HD uint64_t fss_im2col_at(const fss_im2col_geom *g, const uint64_t *img, size_t ch, size_t ky,
                                            size_t kx, size_t oy, size_t ox)
{
    const size_t iy = oy * g->stride + ky, ix = ox * g->stride + kx; /* + pad: unsigned, no wrap */
    if (iy < g->pad || ix < g->pad || iy - g->pad >= g->h || ix - g->pad >= g->w)
        return 0;
    return img[(ch * g->h + (iy - g->pad)) * g->w + (ix - g->pad)];
}

/* col = im2col(img): (c kh kw) x (ho wo) words, multithreaded over rows. */
void fss_im2col_u64(fss_ctx *ctx, const fss_im2col_geom *g, const uint64_t *img, uint64_t *col);

FSS_EXTERN_C_END

#endif
