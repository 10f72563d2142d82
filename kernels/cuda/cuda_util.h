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

/* Threads per block of every kernel. */
#define FSS_CUDA_BLOCK 256
/* Grid cap: 8192 blocks x 256 threads = 2^21 threads, about ten waves of an H100/H200;
 * kernels loop with a grid stride beyond that, so each block's AES staging (32 KiB of
 * shared stores) is spread over several elements a thread. */
#define FSS_CUDA_MAX_GRID 8192u
/* Copies of the AES table in shared memory: 32 puts one copy in every bank, and lane l
 * reads copy l, so a warp's 32 random lookups never collide on a bank (a single copy
 * serialises them about 3.5-fold). 1 builds the single-copy variant, for comparison. */
#ifndef FSS_CUDA_AES_COPIES
#define FSS_CUDA_AES_COPIES 32
#endif
/* The device copy of the AES data in global memory: te[0] (the other three tables and
 * the S-box are rotations and bytes of it, see fss_aes_encrypt_t0) and the PRG's
 * expanded fixed key (fss_aes_key_expand(fss_prg_fixed_key)). */
struct __align__(16) fss_cuda_aes_src {
    uint32_t te0[256];
    uint32_t rk[FSS_AES_RK_WORDS];
};
/* What a kernel stages into shared memory at its start: te[0] replicated, entry x of
 * copy c at te0[x * FSS_CUDA_AES_COPIES + c] (33 KiB with 32 copies), and the round keys. */
struct __align__(16) fss_cuda_aes_state {
    uint32_t te0[256 * FSS_CUDA_AES_COPIES];
    uint32_t rk[FSS_AES_RK_WORDS];
};

/* Record "file:line: message" as this thread's fss_cuda_last_error() and return s. */
fss_status fss_cuda_fail_at(const char *file, int line, fss_status s, const char *fmt, ...) FSS_PRINTF(4, 5);

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
FSS_NODISCARD fss_status fss_cuda_aes_state_get(const fss_cuda_aes_src **d_out);

/* Blocks of FSS_CUDA_BLOCK threads for n work items, capped (grid-stride kernels). */
static inline unsigned fss_cuda_grid(size_t n)
{
    size_t b = (n + FSS_CUDA_BLOCK - 1) / FSS_CUDA_BLOCK;
    return b > FSS_CUDA_MAX_GRID ? FSS_CUDA_MAX_GRID : (unsigned)b;
}

/* Kernel prologue: every thread of the block helps build the shared AES state (all
 * lanes of a warp read the same global word, one broadcast load), then the block waits
 * for it. Must be reached by all threads of the block (call it before the grid-stride
 * loop, never inside a branch). */
static __device__ __forceinline__ void fss_cuda_aes_stage(fss_cuda_aes_state *sm, const fss_cuda_aes_src *d_g)
{
    for (unsigned w = threadIdx.x; w < 256 * FSS_CUDA_AES_COPIES; w += blockDim.x)
        sm->te0[w] = d_g->te0[w / FSS_CUDA_AES_COPIES];
    for (unsigned w = threadIdx.x; w < FSS_AES_RK_WORDS; w += blockDim.x)
        sm->rk[w] = d_g->rk[w];
    __syncthreads();
}

/* AES_K(x) from the staged state: this thread's lane reads its own copy of the table. */
static __device__ __forceinline__ fss_block fss_cuda_aes_encrypt(const fss_cuda_aes_state *sm, fss_block x)
{
    return fss_aes_encrypt_t0(sm->te0, FSS_CUDA_AES_COPIES, threadIdx.x % FSS_CUDA_AES_COPIES, sm->rk, x);
}

/* H = AES_K(x) xor x with x = fss_prg_input(S, tweak): one PRG output of node S. */
static __device__ __forceinline__ fss_block fss_cuda_prg(const fss_cuda_aes_state *sm, fss_block S, uint64_t tweak)
{
    fss_block x = fss_prg_input(S, tweak);
    return fss_prg_output(x, fss_cuda_aes_encrypt(sm, x));
}

/* Grid-stride loop over [0, n) with size_t indices. */
#define FSS_CUDA_FOR(i, n)                                                                      \
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (size_t)gridDim.x * blockDim.x)

#endif
