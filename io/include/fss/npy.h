/* NumPy .npy arrays: read (format versions 1.0, 2.0 and 3.0) and write (float32, int64).
 *
 * The format (numpy/lib/format.py, NEP 1): the magic "\x93NUMPY", a major and minor
 * version byte, the header length (u16 little-endian in 1.0, u32 in 2.0 and 3.0), then
 * a Python dict literal such as {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * padded with spaces and ended by '\n', then the raw array data in C order.
 *
 * Supported dtypes: '<f4', '<f8', '<i8', '<i4' and '|u1' ('<u1' too). Big-endian
 * dtypes, object arrays, structured dtypes and fortran_order True are refused with
 * FSS_E_FORMAT. The host must be little-endian (x86, ARM, every CUDA host).
 *
 * Errors: every function that can fail returns an fss_status and, when err is not
 * NULL, writes one line naming the file and what is wrong into err[0..err_len) (always
 * NUL-terminated; FSS_IO_ERR_LEN bytes are always enough not to cut it). Malformed files
 * give FSS_E_FORMAT, the operating system's refusals (open, read, write, rename)
 * FSS_E_IO, a bad argument FSS_E_ARG, a failed allocation FSS_E_NOMEM. */
#ifndef FSS_IO_NPY_H
#define FSS_IO_NPY_H

#include "fss/common.h"

#ifndef FSS_IO_ERR_LEN
#define FSS_IO_ERR_LEN 512 /* error buffer size that never truncates a message */
#endif

#define FSS_NPY_MAX_DIMS 8

typedef enum fss_npy_dtype {
    FSS_NPY_F4 = 0, /* '<f4' float32 */
    FSS_NPY_F8,     /* '<f8' float64 */
    FSS_NPY_I8,     /* '<i8' int64 */
    FSS_NPY_I4,     /* '<i4' int32 */
    FSS_NPY_U1,     /* '|u1' uint8 */
} fss_npy_dtype;

/* An array read from a file. data holds count elements of dtype, as stored in the file
 * (little-endian, C order); fss_npy_get converts one to double. The struct owns data. */
typedef struct fss_npy {
    fss_npy_dtype dtype;
    int ndim; /* 0 for a scalar */
    size_t shape[FSS_NPY_MAX_DIMS];
    size_t count; /* product of shape; 1 for a scalar */
    void *data;   /* count * fss_npy_dtype_size(dtype) bytes; NULL when count is 0 */
} fss_npy;

FSS_EXTERN_C_BEGIN

/* Bytes per element of dtype, and its descr string ("<f4", ...). */
size_t fss_npy_dtype_size(fss_npy_dtype dtype);
const char *fss_npy_dtype_str(fss_npy_dtype dtype);

/* Read the whole array at path into *a (zeroed first). Free it with fss_npy_free. The
 * data must fill the file exactly: a truncated file or trailing bytes are refused. */
FSS_NODISCARD fss_status fss_npy_read(const char *path, fss_npy *a, char *err, size_t err_len);

/* Element i (0 <= i < count, C order) converted to double. int64 values beyond 2^53
 * round to the nearest double. */
double fss_npy_get(const fss_npy *a, size_t i);

/* Wipe and release a's data (a party's private inputs) and zero a; safe on a zeroed
 * struct. */
void fss_npy_free(fss_npy *a);

/* Write a C-order float32 ('<f4') or int64 ('<i8') array of ndim dimensions (0 to
 * FSS_NPY_MAX_DIMS; shape may be NULL when ndim is 0) as a version 1.0 .npy file. The
 * data go to a temporary file beside path, which is then renamed over path with mode
 * 0600 (a party's output is private), so a failure never leaves a partial file at path. */
/* Whether an output can be written at path, checked before the work that makes it (a key
 * spent): path is not a directory or special file, and a temporary file can be created
 * beside it (then removed). FSS_E_IO with the system's reason when not. */
FSS_NODISCARD fss_status fss_npy_check_writable(const char *path, char *err, size_t err_len);
FSS_NODISCARD fss_status fss_npy_write_f32(const char *path, const float *data, int ndim,
                                           const size_t *shape, char *err, size_t err_len);
FSS_NODISCARD fss_status fss_npy_write_i64(const char *path, const int64_t *data, int ndim,
                                           const size_t *shape, char *err, size_t err_len);
/* Any other output (a statistics family's JSON): n bytes written as those arrays are, to
 * a 0600 temporary file renamed over path. */
FSS_NODISCARD fss_status fss_file_write_private(const char *path, const void *data, size_t n, char *err,
                                                size_t err_len);

FSS_EXTERN_C_END

#endif
