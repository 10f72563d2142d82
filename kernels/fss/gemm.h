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

FSS_EXTERN_C_END

#endif
