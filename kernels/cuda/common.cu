/* CUDA backend plumbing: the per-thread error message, the device count, and the
 * per-device copy of the AES state that kernels stage into shared memory. */
#include <pthread.h>
#include <stdarg.h>
#include <string.h>

#include "cuda_util.h"
#include "fss/prg.h"

#define FSS_CUDA_ERR_BYTES 512
#define FSS_CUDA_MAX_DEVICES 64

static thread_local char g_err[FSS_CUDA_ERR_BYTES];

fss_status fss_cuda_fail_at(const char *file, int line, fss_status s, const char *fmt, ...)
{
    int off = snprintf(g_err, sizeof g_err, "%s:%d: ", file, line);
    if (off < 0 || (size_t)off >= sizeof g_err)
        off = 0;
    va_list ap;
    va_start(ap, fmt);
    s = fss_verrorf(g_err + off, sizeof g_err - (size_t)off, s, fmt, ap);
    va_end(ap);
    return s;
}

extern "C" const char *fss_cuda_last_error(void) { return g_err; }

extern "C" int fss_cuda_device_count(void)
{
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        (void)cudaGetLastError(); /* clear it: "no device" is an answer, not an error */
        return 0;
    }
    return n;
}

static pthread_mutex_t g_aes_lock = PTHREAD_MUTEX_INITIALIZER;
static fss_cuda_aes_src *g_d_aes[FSS_CUDA_MAX_DEVICES];

/* Uploads te[0] and the round keys to the current device once. The synchronous
 * cudaMemcpy happens on the first call per device only. */
fss_status fss_cuda_aes_state_get(const fss_cuda_aes_src **d_out)
{
    int dev = 0;
    *d_out = NULL;
    FSS_CHECK_CUDA(cudaGetDevice(&dev));
    if (dev < 0 || dev >= FSS_CUDA_MAX_DEVICES)
        return FSS_CUDA_FAIL(FSS_E_CUDA, "device %d above the supported %d devices", dev, FSS_CUDA_MAX_DEVICES);
    pthread_mutex_lock(&g_aes_lock);
    if (!g_d_aes[dev]) {
        fss_cuda_aes_src h;
        fss_aes_key ek;
        memcpy(h.te0, fss_aes_tables_get()->te[0], sizeof h.te0);
        fss_aes_key_expand(&ek, fss_prg_fixed_key);
        memcpy(h.rk, ek.rk, sizeof h.rk);
        fss_cuda_aes_src *d = NULL;
        cudaError_t e = cudaMalloc((void **)&d, sizeof *d);
        if (e == cudaSuccess) {
            e = cudaMemcpy(d, &h, sizeof h, cudaMemcpyHostToDevice);
            if (e != cudaSuccess)
                (void)cudaFree(d);
        }
        if (e != cudaSuccess) {
            pthread_mutex_unlock(&g_aes_lock);
            (void)cudaGetLastError(); /* reported here: not a later launch's error */
            return FSS_CUDA_FAIL(FSS_E_CUDA, "uploading the AES tables: %s", cudaGetErrorString(e));
        }
        g_d_aes[dev] = d;
    }
    *d_out = g_d_aes[dev];
    pthread_mutex_unlock(&g_aes_lock);
    return FSS_OK;
}

/* With lazy module loading, each kernel's first launch still loads its module; the
 * context's start, the larger cost, is what this takes off the clock. */
extern "C" fss_status fss_cuda_warm_up(void)
{
    FSS_CHECK_CUDA(cudaFree(0)); /* creates the context */
    const fss_cuda_aes_src *d = NULL;
    return fss_cuda_aes_state_get(&d);
}
