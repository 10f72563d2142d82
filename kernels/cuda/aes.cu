/* fss_cuda_aes: AES_K(in) with the PRG's fixed key, no MMO feed-forward; the GPU side
 * of the known-answer test (portable body == OpenSSL == CUDA) and of the benchmarks. */
#include "cuda_util.h"

__global__ void __launch_bounds__(FSS_CUDA_BLOCK)
    fss_cuda_aes_kernel(const fss_block *in, fss_block *out, size_t count, const fss_cuda_aes_src *d_aes)
{
    __shared__ fss_cuda_aes_state sm;
    fss_cuda_aes_stage(&sm, d_aes);
    FSS_CUDA_FOR(i, count) {
        out[i] = fss_cuda_aes_encrypt(&sm, in[i]);
    }
}

extern "C" fss_status fss_cuda_aes(const fss_block *d_in, fss_block *d_out, size_t count, cudaStream_t s)
{
    if (count == 0)
        return FSS_OK;
    if (!d_in || !d_out)
        return FSS_CUDA_FAIL(FSS_E_ARG, "aes: null buffer for %zu blocks", count);
    const fss_cuda_aes_src *d_aes;
    fss_status st = fss_cuda_aes_state_get(&d_aes);
    if (st != FSS_OK)
        return st;
    fss_cuda_aes_kernel<<<fss_cuda_grid(count), FSS_CUDA_BLOCK, 0, s>>>(d_in, d_out, count, d_aes);
    FSS_CHECK_CUDA(cudaGetLastError());
    return FSS_OK;
}
