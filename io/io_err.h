/* Internal to io/: writing a failure's message into the caller's error buffer. */
#ifndef FSS_IO_ERR_H
#define FSS_IO_ERR_H

#include <stdarg.h>
#include <stdio.h>

#include "fss/common.h"

/* vsnprintf into err (when given) and return s: `return fss_io_fail(err, len, FSS_E_FORMAT, ...)`. */
static inline fss_status fss_io_fail(char *err, size_t err_len, fss_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static inline fss_status fss_io_fail(char *err, size_t err_len, fss_status s, const char *fmt, ...)
{
    if (err && err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return s;
}

#endif
