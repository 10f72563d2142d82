/* What fss/common.h declares for every layer: wiping secrets, status names and the one
 * way a failure's message is formatted. */
#include "fss/common.h"

#include <string.h>

void fss_memzero(void *p, size_t n)
{
    if (n)
        explicit_bzero(p, n); /* glibc: a memset the compiler may not drop */
}

const char *fss_status_str(fss_status s)
{
    switch (s) {
    case FSS_OK: return "ok";
    case FSS_E_ARG: return "invalid argument";
    case FSS_E_NOMEM: return "out of memory";
    case FSS_E_CRYPTO: return "cryptographic library failure";
    case FSS_E_CUDA: return "CUDA error";
    case FSS_E_NODEV: return "no CUDA device";
    case FSS_E_FORMAT: return "malformed key data";
    case FSS_E_IO: return "I/O error";
    }
    return "unknown status";
}

void fss_free_wiped(void *p, size_t n)
{
    if (p)
        fss_memzero(p, n);
    free(p);
}

fss_status fss_verrorf(char *err, size_t err_len, fss_status s, const char *fmt, va_list ap)
{
    if (err && err_len)
        vsnprintf(err, err_len, fmt, ap);
    return s;
}

fss_status fss_errorf(char *err, size_t err_len, fss_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s = fss_verrorf(err, err_len, s, fmt, ap);
    va_end(ap);
    return s;
}
