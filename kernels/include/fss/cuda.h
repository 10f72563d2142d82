/* The CUDA backend's C API. Keys on the device use exactly the host layout
 * (fss_*_keys_bind over a cudaMalloc'd buffer), so moving keys is one memcpy. Every
 * pointer argument named d_* is device memory; launches go on the given stream and
 * return once queued (errors of the launch itself are checked). Same bits as the CPU
 * backend: keys generated from the same roots are byte-identical, evaluations equal. */
#ifndef FSS_CUDA_H
#define FSS_CUDA_H

#include <cuda_runtime_api.h>

#include "fss/dcf.h"
#include "fss/dpf.h"
#include "fss/gemm.h"

FSS_EXTERN_C_BEGIN

/* Number of usable CUDA devices; 0 when there is none or the driver is missing. */
int fss_cuda_device_count(void);
/* Starts the current device's context and uploads the AES state the kernels read (a few
 * hundred ms a first launch would otherwise take), so a timed run need not. */
FSS_NODISCARD fss_status fss_cuda_warm_up(void);
/* Text of the last error a fss_cuda_* call returned on this thread. */
const char *fss_cuda_last_error(void);

/* Device key buffers (cudaMalloc + bind) and transfers of a whole batch. */
FSS_NODISCARD fss_status fss_cuda_dpf_keys_alloc(fss_dpf_keys *d_k, fss_dpf_params p, int party, size_t count);
FSS_NODISCARD fss_status fss_cuda_dcf_keys_alloc(fss_dcf_keys *d_k, fss_dcf_params p, int party, size_t count);
void fss_cuda_dpf_keys_free(fss_dpf_keys *d_k);
void fss_cuda_dcf_keys_free(fss_dcf_keys *d_k);
/* Copies of keys->mem between host and device keys of the same parameters and count. */
FSS_NODISCARD fss_status fss_cuda_dpf_keys_upload(fss_dpf_keys *d_k, const fss_dpf_keys *h_k, cudaStream_t s);
FSS_NODISCARD fss_status fss_cuda_dpf_keys_download(fss_dpf_keys *h_k, const fss_dpf_keys *d_k, cudaStream_t s);
FSS_NODISCARD fss_status fss_cuda_dcf_keys_upload(fss_dcf_keys *d_k, const fss_dcf_keys *h_k, cudaStream_t s);
FSS_NODISCARD fss_status fss_cuda_dcf_keys_download(fss_dcf_keys *h_k, const fss_dcf_keys *d_k, cudaStream_t s);
/* Parse d_k->count serialized keys at d_in (device memory, the layout of fss/dpf.h or
 * fss/dcf.h, blocks from instance 0) into the bound device batch d_k, one instance a
 * thread (fss/keyparse_body.h). Stray bits (corruption) OR 1 into *d_bad, which the
 * caller zeroes first and reads back after. */
FSS_NODISCARD fss_status fss_cuda_dpf_keys_parse(const fss_dpf_keys *d_k, const uint8_t *d_in, unsigned *d_bad,
                                                 cudaStream_t s);
FSS_NODISCARD fss_status fss_cuda_dcf_keys_parse(const fss_dcf_keys *d_k, const uint8_t *d_in, unsigned *d_bad,
                                                 cudaStream_t s);
/* The same from the layout without roots (fss_*_keys_write_noroots): d_k->root is left
 * alone, for the caller to fill. */
FSS_NODISCARD fss_status fss_cuda_dpf_keys_parse_noroots(const fss_dpf_keys *d_k, const uint8_t *d_in, unsigned *d_bad,
                                                         cudaStream_t s);
FSS_NODISCARD fss_status fss_cuda_dcf_keys_parse_noroots(const fss_dcf_keys *d_k, const uint8_t *d_in, unsigned *d_bad,
                                                         cudaStream_t s);

/* out[i] = AES_K(in[i]) with the PRG's fixed key (the T-table body of fss/aes.h). */
FSS_NODISCARD fss_status fss_cuda_aes(const fss_block *d_in, fss_block *d_out, size_t count, cudaStream_t s);

/* Same contracts as the CPU functions of the same name in fss/dpf.h and fss/dcf.h, with
 * keys (d_k*) bound to device memory and all arrays on the device. */
FSS_NODISCARD fss_status fss_cuda_dpf_keygen(fss_dpf_params p, size_t count, const uint64_t *d_alpha,
                                             const uint64_t *d_beta, const fss_block *d_roots, fss_dpf_keys *d_k0,
                                             fss_dpf_keys *d_k1, cudaStream_t s);
FSS_NODISCARD fss_status fss_cuda_dpf_eval(const fss_dpf_keys *d_k, const uint64_t *d_x, uint64_t *d_out, cudaStream_t s);
FSS_NODISCARD fss_status fss_cuda_dpf_eval_full(const fss_dpf_keys *d_k, uint64_t *d_out, cudaStream_t s);
FSS_NODISCARD fss_status fss_cuda_dpf_cmp_eval(const fss_dpf_keys *d_k, const uint64_t *d_x, uint64_t *d_out,
                                               cudaStream_t s);
FSS_NODISCARD fss_status fss_cuda_dcf_keygen(fss_dcf_params p, size_t count, const uint64_t *d_alpha,
                                             const uint64_t *d_beta, const fss_block *d_roots, fss_dcf_keys *d_k0,
                                             fss_dcf_keys *d_k1, cudaStream_t s);
FSS_NODISCARD fss_status fss_cuda_dcf_eval(const fss_dcf_keys *d_k, const uint64_t *d_x, uint64_t *d_out, cudaStream_t s);

/* Ring products, as fss_gemm_u64 and fss_im2col_u64 (fss/gemm.h), same bits. */
FSS_NODISCARD fss_status fss_cuda_gemm_u64(size_t m, size_t k, size_t n, const uint64_t *d_A, const uint64_t *d_B,
                                           uint64_t *d_C, int accumulate, cudaStream_t s);
FSS_NODISCARD fss_status fss_cuda_im2col_u64(const fss_im2col_geom *g, const uint64_t *d_img, uint64_t *d_col,
                                             cudaStream_t s);

FSS_EXTERN_C_END

#endif
