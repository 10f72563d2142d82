/* Internal to the CUDA backend (included by the .cu files beside it only): error recording,
 * launch geometry, and the AES tables and round keys every kernel stages in shared
 * memory. The per-element math is in the FSS_HD headers (DESIGN section 5). */
#ifndef FSS_CUDA_UTIL_H
#define FSS_CUDA_UTIL_H

#include <cuda_runtime.h>

#include "fss/aes.h"
#include "fss/common.h"
#include "fss/cuda.h"
#include "fss/dcf_body.h"
#include "fss/dpf_body.h"
#include "fss/prg.h"
#include "fss/ring.h"
#include "fss/tree_body.h"

/* Threads per block of every kernel; with ~5.2 KiB of shared AES state per block,
 * 8 resident blocks use 42 KiB of an SM's shared memory. */
#define FSS_CUDA_BLOCK 256
/* Grid cap: 65536 blocks x 256 threads = 2^24 threads per wave; kernels loop with a
 * grid stride beyond that, so the AES staging cost is paid once per block. */
#define FSS_CUDA_MAX_GRID 65536u

/* What a kernel stages into shared memory at its start: the T-tables and the PRG's
 * expanded fixed key (fss_aes_key_expand(fss_prg_fixed_key)). 16-aligned so it can be
 * copied as uint4. */
struct __align__(16) fss_cuda_aes_state {
    fss_aes_tables T;
    uint32_t rk[FSS_AES_RK_WORDS];
};
static_assert(sizeof(fss_cuda_aes_state) % 16 == 0, "AES state must be whole uint4s");

/* Record "file:line: message" as this thread's fss_cuda_last_error() and return s. */
fss_status fss_cuda_fail_at(const char *file, int line, fss_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

#define FSS_CUDA_FAIL(s, ...) fss_cuda_fail_at(__FILE__, __LINE__, (s), __VA_ARGS__)

/* Every CUDA runtime call and launch goes through this: on failure it records where
 * and why, and returns FSS_E_CUDA from the calling function. */
#define FSS_CHECK_CUDA(call)                                                                  \
    do {                                                                                      \
        cudaError_t fss_e_ = (call);                                                          \
        if (fss_e_ != cudaSuccess)                                                            \
            return fss_cuda_fail_at(__FILE__, __LINE__, FSS_E_CUDA, "%s: %s (%s)", #call,     \
                                    cudaGetErrorString(fss_e_), cudaGetErrorName(fss_e_));    \
    } while (0)

/* The device copy of the AES state for the current device, uploaded on first use
 * (thread-safe; kept for the life of the process, like fss_aes_tables_get()). */
FSS_NODISCARD fss_status fss_cuda_aes_state_get(const fss_cuda_aes_state **d_out);

/* Blocks of FSS_CUDA_BLOCK threads for n work items, capped (grid-stride kernels). */
static inline unsigned fss_cuda_grid(size_t n)
{
    size_t b = (n + FSS_CUDA_BLOCK - 1) / FSS_CUDA_BLOCK;
    return b > FSS_CUDA_MAX_GRID ? FSS_CUDA_MAX_GRID : (unsigned)b;
}

/* Kernel prologue: every thread of the block helps copy the AES state into shared
 * memory, then the block waits for it. Must be reached by all threads of the block
 * (call it before the grid-stride loop, never inside a branch). */
static __device__ __forceinline__ void fss_cuda_aes_stage(fss_cuda_aes_state *sm, const fss_cuda_aes_state *d_g)
{
    const uint4 *src = reinterpret_cast<const uint4 *>(d_g);
    uint4 *dst = reinterpret_cast<uint4 *>(sm);
    for (unsigned w = threadIdx.x; w < sizeof(fss_cuda_aes_state) / 16; w += blockDim.x)
        dst[w] = src[w];
    __syncthreads();
}

/* H = AES_K(x) xor x with x = fss_prg_input(S, tweak): one PRG output of node S. */
static __device__ __forceinline__ fss_block fss_cuda_prg(const fss_cuda_aes_state *sm, fss_block S, uint64_t tweak)
{
    fss_block x = fss_prg_input(S, tweak);
    return fss_prg_output(x, fss_aes_encrypt(&sm->T, sm->rk, x));
}

/* Grid-stride loop over [0, n) with size_t indices. */
#define FSS_CUDA_FOR(i, n)                                                                      \
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (size_t)gridDim.x * blockDim.x)

#endif
