/* Device key buffers: one cudaMalloc per batch, bound with the host layout functions
 * (fss_*_keys_bind), so moving a batch between host and device is one memcpy. */
#include <string.h>

#include "cuda_util.h"
#include "fss/keyparse_body.h"

/* Zeroed, so that the alignment padding equals the host's (fss_*_keys_alloc memsets)
 * and whole buffers compare byte for byte. */
static fss_status device_zalloc(void **d_mem, size_t bytes)
{
    *d_mem = NULL;
    FSS_CHECK_CUDA(cudaMalloc(d_mem, bytes ? bytes : 64));
    cudaError_t e = cudaMemset(*d_mem, 0, bytes ? bytes : 64);
    if (e != cudaSuccess) {
        (void)cudaFree(*d_mem);
        *d_mem = NULL;
        return FSS_CUDA_FAIL(FSS_E_CUDA, "cudaMemset: %s", cudaGetErrorString(e));
    }
    return FSS_OK;
}

/* Key material is secret: overwrite before handing the memory back. Errors here
 * cannot be reported (void free functions) and leave nothing to undo. */
static void device_wipe_free(void *d_mem, size_t bytes)
{
    if (!d_mem)
        return;
    (void)cudaMemset(d_mem, 0, bytes ? bytes : 64);
    (void)cudaFree(d_mem);
}

extern "C" fss_status fss_cuda_dpf_keys_alloc(fss_dpf_keys *d_k, fss_dpf_params p, int party, size_t count)
{
    memset(d_k, 0, sizeof *d_k);
    if (fss_dpf_params_check(p) != FSS_OK || (party != 0 && party != 1))
        return FSS_CUDA_FAIL(FSS_E_ARG, "dpf keys alloc: bad parameters n=%d l=%d early=%d party=%d", p.n, p.l,
                             p.early, party);
    void *d_mem;
    fss_status st = device_zalloc(&d_mem, fss_dpf_keys_bytes(p, count));
    if (st != FSS_OK)
        return st;
    fss_dpf_keys_bind(d_k, p, party, count, d_mem); /* owned stays 0: not for the host free */
    return FSS_OK;
}

extern "C" fss_status fss_cuda_dcf_keys_alloc(fss_dcf_keys *d_k, fss_dcf_params p, int party, size_t count)
{
    memset(d_k, 0, sizeof *d_k);
    if (fss_dcf_params_check(p) != FSS_OK || (party != 0 && party != 1))
        return FSS_CUDA_FAIL(FSS_E_ARG, "dcf keys alloc: bad parameters n=%d l=%d g=%d party=%d", p.n, p.l, p.g,
                             party);
    void *d_mem;
    fss_status st = device_zalloc(&d_mem, fss_dcf_keys_bytes(p, count));
    if (st != FSS_OK)
        return st;
    fss_dcf_keys_bind(d_k, p, party, count, d_mem);
    return FSS_OK;
}

extern "C" void fss_cuda_dpf_keys_free(fss_dpf_keys *d_k)
{
    device_wipe_free(d_k->mem, d_k->bytes);
    memset(d_k, 0, sizeof *d_k);
}

extern "C" void fss_cuda_dcf_keys_free(fss_dcf_keys *d_k)
{
    device_wipe_free(d_k->mem, d_k->bytes);
    memset(d_k, 0, sizeof *d_k);
}

static int dpf_same(const fss_dpf_keys *a, const fss_dpf_keys *b)
{
    return a->p.n == b->p.n && a->p.l == b->p.l && a->p.early == b->p.early && a->count == b->count &&
           a->bytes == b->bytes && (a->mem || a->bytes == 0) && (b->mem || b->bytes == 0);
}

static int dcf_same(const fss_dcf_keys *a, const fss_dcf_keys *b)
{
    return a->p.n == b->p.n && a->p.l == b->p.l && a->p.g == b->p.g && a->count == b->count &&
           a->bytes == b->bytes && (a->mem || a->bytes == 0) && (b->mem || b->bytes == 0);
}

/* The copies take the source's party along with its bytes: the destination then
 * describes exactly the keys it holds. */
static fss_status copy_mem(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s)
{
    if (bytes == 0)
        return FSS_OK;
    FSS_CHECK_CUDA(cudaMemcpyAsync(dst, src, bytes, kind, s));
    return FSS_OK;
}

extern "C" fss_status fss_cuda_dpf_keys_upload(fss_dpf_keys *d_k, const fss_dpf_keys *h_k, cudaStream_t s)
{
    if (!dpf_same(d_k, h_k))
        return FSS_CUDA_FAIL(FSS_E_ARG, "dpf keys upload: host and device keys differ in parameters or count");
    d_k->party = h_k->party;
    return copy_mem(d_k->mem, h_k->mem, h_k->bytes, cudaMemcpyHostToDevice, s);
}

extern "C" fss_status fss_cuda_dpf_keys_download(fss_dpf_keys *h_k, const fss_dpf_keys *d_k, cudaStream_t s)
{
    if (!dpf_same(d_k, h_k))
        return FSS_CUDA_FAIL(FSS_E_ARG, "dpf keys download: host and device keys differ in parameters or count");
    h_k->party = d_k->party;
    return copy_mem(h_k->mem, d_k->mem, d_k->bytes, cudaMemcpyDeviceToHost, s);
}

extern "C" fss_status fss_cuda_dcf_keys_upload(fss_dcf_keys *d_k, const fss_dcf_keys *h_k, cudaStream_t s)
{
    if (!dcf_same(d_k, h_k))
        return FSS_CUDA_FAIL(FSS_E_ARG, "dcf keys upload: host and device keys differ in parameters or count");
    d_k->party = h_k->party;
    return copy_mem(d_k->mem, h_k->mem, h_k->bytes, cudaMemcpyHostToDevice, s);
}

extern "C" fss_status fss_cuda_dcf_keys_download(fss_dcf_keys *h_k, const fss_dcf_keys *d_k, cudaStream_t s)
{
    if (!dcf_same(d_k, h_k))
        return FSS_CUDA_FAIL(FSS_E_ARG, "dcf keys download: host and device keys differ in parameters or count");
    h_k->party = d_k->party;
    return copy_mem(h_k->mem, d_k->mem, d_k->bytes, cudaMemcpyDeviceToHost, s);
}

/* One instance a thread; a thread that saw stray bits reports once. */
__global__ void __launch_bounds__(FSS_CUDA_BLOCK)
    fss_cuda_dpf_parse_kernel(fss_dpf_keys k, const uint8_t *in, int roots, unsigned *bad)
{
    unsigned stray = 0;
    FSS_CUDA_FOR(i, k.count)
    stray |= !fss_dpf_parse_one_r(&k, in, i, roots);
    if (stray)
        atomicOr(bad, 1u);
}

__global__ void __launch_bounds__(FSS_CUDA_BLOCK)
    fss_cuda_dcf_parse_kernel(fss_dcf_keys k, const uint8_t *in, int roots, unsigned *bad)
{
    unsigned stray = 0;
    FSS_CUDA_FOR(i, k.count)
    stray |= !fss_dcf_parse_one_r(&k, in, i, roots);
    if (stray)
        atomicOr(bad, 1u);
}

static fss_status dpf_parse(const fss_dpf_keys *d_k, const uint8_t *d_in, int roots, unsigned *d_bad,
                            cudaStream_t s)
{
    if (fss_dpf_params_check(d_k->p) != FSS_OK)
        return FSS_CUDA_FAIL(FSS_E_ARG, "dpf keys parse: bad parameters");
    if (d_k->count == 0)
        return FSS_OK;
    if (!d_k->mem || !d_in || !d_bad)
        return FSS_CUDA_FAIL(FSS_E_ARG, "dpf keys parse: null buffer");
    fss_cuda_dpf_parse_kernel<<<fss_cuda_grid(d_k->count), FSS_CUDA_BLOCK, 0, s>>>(*d_k, d_in, roots, d_bad);
    FSS_CHECK_CUDA(cudaGetLastError());
    return FSS_OK;
}

static fss_status dcf_parse(const fss_dcf_keys *d_k, const uint8_t *d_in, int roots, unsigned *d_bad,
                            cudaStream_t s)
{
    if (fss_dcf_params_check(d_k->p) != FSS_OK)
        return FSS_CUDA_FAIL(FSS_E_ARG, "dcf keys parse: bad parameters");
    if (d_k->count == 0)
        return FSS_OK;
    if (!d_k->mem || !d_in || !d_bad)
        return FSS_CUDA_FAIL(FSS_E_ARG, "dcf keys parse: null buffer");
    fss_cuda_dcf_parse_kernel<<<fss_cuda_grid(d_k->count), FSS_CUDA_BLOCK, 0, s>>>(*d_k, d_in, roots, d_bad);
    FSS_CHECK_CUDA(cudaGetLastError());
    return FSS_OK;
}

extern "C" fss_status fss_cuda_dpf_keys_parse(const fss_dpf_keys *d_k, const uint8_t *d_in, unsigned *d_bad,
                                              cudaStream_t s)
{
    return dpf_parse(d_k, d_in, 1, d_bad, s);
}

extern "C" fss_status fss_cuda_dpf_keys_parse_noroots(const fss_dpf_keys *d_k, const uint8_t *d_in,
                                                      unsigned *d_bad, cudaStream_t s)
{
    return dpf_parse(d_k, d_in, 0, d_bad, s);
}

extern "C" fss_status fss_cuda_dcf_keys_parse(const fss_dcf_keys *d_k, const uint8_t *d_in, unsigned *d_bad,
                                              cudaStream_t s)
{
    return dcf_parse(d_k, d_in, 1, d_bad, s);
}

extern "C" fss_status fss_cuda_dcf_keys_parse_noroots(const fss_dcf_keys *d_k, const uint8_t *d_in,
                                                      unsigned *d_bad, cudaStream_t s)
{
    return dcf_parse(d_k, d_in, 0, d_bad, s);
}
