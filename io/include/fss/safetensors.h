/* safetensors weight files (huggingface/safetensors, docs "Format").
 *
 * Layout: u64 little-endian N, then N bytes of UTF-8 JSON, then the data buffer. The
 * JSON is one object; each member but "__metadata__" is a tensor:
 *     "name": {"dtype": "F32", "shape": [16, 1, 5, 5], "data_offsets": [begin, end]}
 * with begin/end byte offsets into the data buffer (which starts right after the
 * header). "__metadata__", when present, is an object of string values.
 *
 * fss_safetensors_open reads and checks the header only: every tensor's dtype is known,
 * end - begin == product(shape) * dtype size, every range lies inside the file, no two
 * ranges overlap, names are unique. Tensor data are read later, one tensor at a time
 * (files can be larger than memory), converted to float or double: F32, F64, F16 and
 * BF16 convert; the other dtypes of the format (integers, BOOL, F8) are listed and can
 * be read raw. Assumes a little-endian host.
 *
 * Errors: every function that can fail returns an fss_status and, when err is not NULL,
 * writes one line naming the file and what is wrong into err[0..err_len) (always
 * NUL-terminated; FSS_IO_ERR_LEN bytes never cut it). FSS_E_FORMAT: the file is
 * malformed, or lacks the asked-for tensor, or the tensor's dtype cannot convert;
 * FSS_E_IO: the operating system refused an open or read; FSS_E_ARG: a destination of
 * the wrong size; FSS_E_NOMEM. */
#ifndef FSS_IO_SAFETENSORS_H
#define FSS_IO_SAFETENSORS_H

#include "fss/common.h"

#ifndef FSS_IO_ERR_LEN
#define FSS_IO_ERR_LEN 512 /* error buffer size that never truncates a message */
#endif

#define FSS_SAFETENSORS_MAX_DIMS 8
/* Largest JSON header accepted (the reference implementation's limit). */
#define FSS_SAFETENSORS_MAX_HEADER (100u << 20)

typedef enum fss_safetensors_dtype {
    FSS_ST_F32 = 0,
    FSS_ST_F64,
    FSS_ST_F16,
    FSS_ST_BF16,
    FSS_ST_I8,
    FSS_ST_U8,
    FSS_ST_I16,
    FSS_ST_U16,
    FSS_ST_I32,
    FSS_ST_U32,
    FSS_ST_I64,
    FSS_ST_U64,
    FSS_ST_BOOL,
    FSS_ST_F8_E4M3,
    FSS_ST_F8_E5M2,
} fss_safetensors_dtype;

/* One tensor's entry, owned by the open file. */
typedef struct fss_safetensors_tensor {
    const char *name;
    fss_safetensors_dtype dtype;
    int ndim; /* 0 for a scalar */
    uint64_t shape[FSS_SAFETENSORS_MAX_DIMS];
    uint64_t count;  /* product of shape */
    uint64_t offset; /* of the first byte, from the start of the file */
    uint64_t nbytes;
} fss_safetensors_tensor;

typedef struct fss_safetensors fss_safetensors; /* an open file; opaque */

FSS_EXTERN_C_BEGIN

/* The format's name for dtype ("F32", ...) and its size in bytes. */
const char *fss_safetensors_dtype_str(fss_safetensors_dtype dtype);
size_t fss_safetensors_dtype_size(fss_safetensors_dtype dtype);

/* Open path and check its header; *st is NULL on failure. Close with
 * fss_safetensors_close (NULL is fine). */
FSS_NODISCARD fss_status fss_safetensors_open(fss_safetensors **st, const char *path, char *err, size_t err_len);
void fss_safetensors_close(fss_safetensors *st);

/* The tensors, sorted by name (byte order): i in [0, count). */
size_t fss_safetensors_count(const fss_safetensors *st);
const fss_safetensors_tensor *fss_safetensors_at(const fss_safetensors *st, size_t i);

/* The tensor called name, or NULL (fss_safetensors_find); or FSS_E_FORMAT naming the
 * file and the missing tensor (fss_safetensors_get). */
const fss_safetensors_tensor *fss_safetensors_find(const fss_safetensors *st, const char *name);
FSS_NODISCARD fss_status fss_safetensors_get(const fss_safetensors *st, const char *name,
                                             const fss_safetensors_tensor **t, char *err, size_t err_len);

/* Read tensor name's count elements into dst, converted to float / double. dst_count
 * must equal the tensor's element count (FSS_E_ARG otherwise), so a shape mismatch
 * between a model and its weights cannot go unnoticed. */
FSS_NODISCARD fss_status fss_safetensors_read_f32(const fss_safetensors *st, const char *name, float *dst,
                                                  size_t dst_count, char *err, size_t err_len);
FSS_NODISCARD fss_status fss_safetensors_read_f64(const fss_safetensors *st, const char *name, double *dst,
                                                  size_t dst_count, char *err, size_t err_len);
/* The same after checking the tensor's shape is exactly shape[0..ndim) (an element count
 * that matches with another shape, a transposed matrix, is refused with FSS_E_FORMAT and
 * "FILE: tensor NAME has shape [..]; WHO takes [..]"). */
FSS_NODISCARD fss_status fss_safetensors_read_f32_shaped(const fss_safetensors *st, const char *name, float *dst,
                                                         int ndim, const size_t *shape, const char *who, char *err,
                                                         size_t err_len);
/* Elements [first, first + count) of tensor name in storage order (row-major: a range of
 * rows of a matrix), converted to float; FSS_E_ARG when they run past its end. */
FSS_NODISCARD fss_status fss_safetensors_read_f32_range(const fss_safetensors *st, const char *name, uint64_t first,
                                                        float *dst, size_t count, char *err, size_t err_len);
/* The tensor's bytes as stored; dst_bytes must equal its nbytes. */
FSS_NODISCARD fss_status fss_safetensors_read_raw(const fss_safetensors *st, const char *name, void *dst,
                                                  size_t dst_bytes, char *err, size_t err_len);

/* Metadata: the value of key, or NULL; and the entries in file order. */
const char *fss_safetensors_metadata(const fss_safetensors *st, const char *key);
size_t fss_safetensors_metadata_count(const fss_safetensors *st);
void fss_safetensors_metadata_at(const fss_safetensors *st, size_t i, const char **key, const char **value);

/* The path the file was opened with. */
const char *fss_safetensors_path(const fss_safetensors *st);

/* F16 / BF16 bits to float, exactly (every half and bfloat16 value is a float). */
float fss_f16_to_f32(uint16_t h);
float fss_bf16_to_f32(uint16_t h);

FSS_EXTERN_C_END

#endif
