/* The ring GEMM against the triple loop: exact modulo 2^64, overwrite and accumulate,
 * shapes around the blocking edges, one thread and two. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fss/gemm.h"
#include "fss/rng.h"

static fss_rng *rng;

static void one(fss_ctx *ctx, size_t m, size_t k, size_t n, int acc)
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
    fss_gemm_u64(ctx, m, k, n, A, B, C, acc);
    size_t bad = 0;
    for (size_t i = 0; i < m * n; i++)
        bad += C[i] != W[i];
    CHECK(bad == 0, "gemm %zux%zux%zu (accumulate %d, %d threads): %zu of %zu entries differ", m, k, n, acc,
          fss_ctx_threads(ctx), bad, m * n);
    free(A);
    free(B);
    free(C);
    free(W);
}

int main(void)
{
    rng = check_init("test_gemm");
    static const size_t shapes[][3] = {{1, 1, 1},   {1, 7, 1},     {3, 1, 5},    {5, 130, 3},   {7, 128, 257},
                                       {64, 147, 300}, {2, 300, 1030}, {33, 129, 513}, {1, 1000, 64},  {130, 70, 300}};
    for (int t = 1; t <= 2; t++) {
        fss_ctx *ctx;
        REQUIRE(fss_ctx_new(&ctx, t) == FSS_OK);
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
            for (int acc = 0; acc < 2; acc++)
                one(ctx, shapes[s][0], shapes[s][1], shapes[s][2], acc);
        fss_ctx_free(ctx);
    }
    fss_rng_free(rng);
    return check_summary();
}
