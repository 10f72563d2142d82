/* The ring GEMM against the triple loop: exact modulo 2^64, overwrite and accumulate,
 * shapes around the blocking edges, one thread and two. im2col then GEMM against the
 * convolution's definition (strides, paddings, kernels wider than the image's padding). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fss/gemm.h"
#include "fss/rng.h"

static fss_rng *rng;

static void one(fss_ctx *ctx, int path, size_t m, size_t k, size_t n, int acc)
{
    uint64_t *A = malloc((m * k + 1) * 8), *B = malloc((k * n + 1) * 8), *C = malloc((m * n + 1) * 8),
             *W = malloc((m * n + 1) * 8);
    REQUIRE(A && B && C && W);
    REQUIRE(fss_rng_bytes(rng, A, m * k * 8) == FSS_OK && fss_rng_bytes(rng, B, k * n * 8) == FSS_OK &&
            fss_rng_bytes(rng, C, m * n * 8) == FSS_OK);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            uint64_t s = acc ? C[i * n + j] : 0;
            for (size_t p = 0; p < k; p++)
                s += A[i * k + p] * B[p * n + j];
            W[i * n + j] = s;
        }
    fss_gemm_u64_path(ctx, path, m, k, n, A, B, C, acc);
    size_t bad = 0;
    for (size_t i = 0; i < m * n; i++)
        bad += C[i] != W[i];
    CHECK(bad == 0, "gemm %zux%zux%zu (%s path, accumulate %d, %d threads): %zu of %zu entries differ", m, k, n,
          path == FSS_GEMM_PLAIN ? "plain" : path == FSS_GEMM_AVX2 ? "avx2" : "auto", acc, fss_ctx_threads(ctx), bad,
          m * n);
    free(A);
    free(B);
    free(C);
    free(W);
}

/* Y[o][oy][ox] = sum over (c, ky, kx) inside the image of W[o][c][ky][kx] img[c][iy][ix],
 * iy = oy stride + ky - pad. */
static void conv_case(fss_ctx *ctx, fss_im2col_geom g, size_t o)
{
    g.ho = (g.h + 2 * g.pad - g.kh) / g.stride + 1;
    g.wo = (g.w + 2 * g.pad - g.kw) / g.stride + 1;
    const size_t K = g.c * g.kh * g.kw, P = g.ho * g.wo, ni = g.c * g.h * g.w;
    uint64_t *img = malloc(ni * 8), *W = malloc(o * K * 8), *col = malloc(K * P * 8), *Y = malloc(o * P * 8),
             *want = malloc(o * P * 8);
    REQUIRE(img && W && col && Y && want);
    REQUIRE(fss_rng_bytes(rng, img, ni * 8) == FSS_OK && fss_rng_bytes(rng, W, o * K * 8) == FSS_OK);
    for (size_t oc = 0; oc < o; oc++)
        for (size_t oy = 0; oy < g.ho; oy++)
            for (size_t ox = 0; ox < g.wo; ox++) {
                uint64_t s = 0;
                for (size_t c = 0; c < g.c; c++)
                    for (size_t ky = 0; ky < g.kh; ky++)
                        for (size_t kx = 0; kx < g.kw; kx++) {
                            long iy = (long)(oy * g.stride + ky) - (long)g.pad;
                            long ix = (long)(ox * g.stride + kx) - (long)g.pad;
                            if (iy >= 0 && iy < (long)g.h && ix >= 0 && ix < (long)g.w)
                                s += W[((oc * g.c + c) * g.kh + ky) * g.kw + kx] *
                                     img[(c * g.h + (size_t)iy) * g.w + (size_t)ix];
                        }
                want[(oc * g.ho + oy) * g.wo + ox] = s;
            }
    fss_im2col_u64(ctx, &g, img, col);
    fss_gemm_u64(ctx, o, K, P, W, col, Y, 0);
    size_t bad = 0;
    for (size_t i = 0; i < o * P; i++)
        bad += Y[i] != want[i];
    CHECK(bad == 0, "conv c%zu %zux%zu k%zux%zu stride %zu pad %zu -> %zu: %zu of %zu outputs differ", g.c, g.h, g.w,
          g.kh, g.kw, g.stride, g.pad, o, bad, o * P);
    free(img);
    free(W);
    free(col);
    free(Y);
    free(want);
}

/* The dot product on each path against the loop, at lengths around its four lanes. */
static void dots(void)
{
    size_t bad = 0;
    uint64_t a[70], b[70];
    REQUIRE(fss_rng_bytes(rng, a, sizeof a) == FSS_OK && fss_rng_bytes(rng, b, sizeof b) == FSS_OK);
    a[0] = b[1] = ~(uint64_t)0; /* and the largest words */
    for (size_t n = 0; n <= 70; n++) {
        uint64_t want = 0;
        for (size_t j = 0; j < n; j++)
            want += a[j] * b[j];
        for (int path = FSS_GEMM_AUTO; path <= FSS_GEMM_AVX2; path++)
            bad += fss_dot_u64_path(path, a, b, n) != want;
    }
    CHECK(bad == 0, "dot: %zu of %d sums differ", bad, 71 * 3);
}

int main(void)
{
    rng = check_init("test_gemm");
    dots();
    static const size_t shapes[][3] = {{1, 1, 1},   {1, 7, 1},     {3, 1, 5},    {5, 130, 3},   {7, 128, 257},
                                       {64, 147, 300}, {2, 300, 1030}, {33, 129, 513}, {1, 1000, 64},  {130, 70, 300},
                                       {4, 600, 16}, {9, 513, 47}};
    for (int t = 1; t <= 2; t++) {
        fss_ctx *ctx;
        REQUIRE(fss_ctx_new(&ctx, t) == FSS_OK);
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
            for (int acc = 0; acc < 2; acc++)
                for (int path = FSS_GEMM_AUTO; path <= FSS_GEMM_AVX2; path++) /* (AVX2: plain without it) */
                    one(ctx, path, shapes[s][0], shapes[s][1], shapes[s][2], acc);
        /* c, h, w, kh, kw, stride, pad */
        static const fss_im2col_geom convs[] = {{1, 1, 1, 1, 1, 1, 0, 0, 0},   {3, 8, 8, 3, 3, 1, 1, 0, 0},
                                                {2, 9, 7, 3, 3, 2, 1, 0, 0},   {3, 20, 20, 7, 7, 2, 3, 0, 0},
                                                {4, 5, 6, 1, 1, 2, 0, 0, 0},   {2, 4, 4, 5, 5, 1, 2, 0, 0},
                                                {1, 3, 3, 5, 3, 1, 2, 0, 0},   {5, 12, 10, 2, 4, 3, 1, 0, 0}};
        for (size_t c = 0; c < sizeof convs / sizeof *convs; c++)
            conv_case(ctx, convs[c], 1 + c % 5);
        fss_ctx_free(ctx);
    }
    fss_rng_free(rng);
    return check_summary();
}
