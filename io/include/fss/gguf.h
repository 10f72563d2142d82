/* GGUF model files (llama.cpp's format, versions 2 and 3): read only.
 *
 * The layout: the magic "GGUF", a u32 version, u64 tensor and metadata counts, the
 * metadata (key: a u64-length string, a u32 value type, the value: a number, a bool, a
 * string, or an array of one of those), the tensor table (name, dimension count <= 4, the
 * dimensions with the fastest first, the ggml type, the data's offset), then the data from
 * the next multiple of general.alignment (default 32), each tensor at its offset.
 *
 * Tensor types read (fss_gguf_read_f32 dequantizes them): F32, F16, BF16, Q8_0 (blocks of
 * 32: an f16 scale and 32 int8), Q4_0 (an f16 scale d and 16 bytes of 4-bit q: (q - 8) d)
 * and Q4_1 (d and an f16 minimum m: q d + m); in a Q4 block element j < 16 is the low
 * nibble of byte j, element j + 16 the high one. Other types open (their tables list
 * them) and are refused when read.
 *
 * Every length, count and offset is checked against the file before use: a malformed or
 * truncated file is refused with FSS_E_FORMAT and one line naming the file and what is
 * wrong (as fss/npy.h); the file is mapped read-only and never written. */
#ifndef FSS_IO_GGUF_H
#define FSS_IO_GGUF_H

#include <stdint.h>

#include "fss/common.h"

typedef enum fss_gguf_vtype {
    FSS_GGUF_U8 = 0, FSS_GGUF_I8, FSS_GGUF_U16, FSS_GGUF_I16, FSS_GGUF_U32, FSS_GGUF_I32, FSS_GGUF_F32,
    FSS_GGUF_BOOL, FSS_GGUF_STRING, FSS_GGUF_ARRAY, FSS_GGUF_U64, FSS_GGUF_I64, FSS_GGUF_F64
} fss_gguf_vtype;

/* ggml tensor types read here (others keep their number) */
#define FSS_GGML_F32 0
#define FSS_GGML_F16 1
#define FSS_GGML_Q4_0 2
#define FSS_GGML_Q4_1 3
#define FSS_GGML_Q8_0 8
#define FSS_GGML_BF16 30

typedef struct fss_gguf fss_gguf;

typedef struct fss_gguf_tensor {
    const char *name; /* NUL-terminated copy */
    int ndim;
    uint64_t ne[4];   /* dimensions, fastest first (a [rows][cols] matrix: ne[0] cols, ne[1] rows) */
    uint64_t count;   /* elements */
    uint32_t type;    /* ggml type */
    uint64_t offset;  /* from the data section's start */
    uint64_t bytes;   /* 0 for a type this reader does not know */
} fss_gguf_tensor;

FSS_EXTERN_C_BEGIN

FSS_NODISCARD fss_status fss_gguf_open(const char *path, fss_gguf **g, char *err, size_t err_len);
void fss_gguf_close(fss_gguf *g);
const char *fss_gguf_path(const fss_gguf *g);

size_t fss_gguf_tensor_count(const fss_gguf *g);
const fss_gguf_tensor *fss_gguf_tensor_at(const fss_gguf *g, size_t i);
const fss_gguf_tensor *fss_gguf_find(const fss_gguf *g, const char *name);

/* Metadata by key. Numbers: any integer type into u64 (negative refused) or any number
 * into double; 1 when found and of a fitting type, else 0. */
int fss_gguf_get_u64(const fss_gguf *g, const char *key, uint64_t *v);
int fss_gguf_get_f64(const fss_gguf *g, const char *key, double *v);
/* A string (not NUL-terminated: len bytes at *s), or an array's element type and count. */
int fss_gguf_get_str(const fss_gguf *g, const char *key, const char **s, uint64_t *len);
int fss_gguf_get_array(const fss_gguf *g, const char *key, fss_gguf_vtype *type, uint64_t *count);
/* Element i of an array of strings (len bytes at *s), or of integers (into int64). */
int fss_gguf_array_str(const fss_gguf *g, const char *key, uint64_t i, const char **s, uint64_t *len);
int fss_gguf_array_int(const fss_gguf *g, const char *key, uint64_t i, int64_t *v);

/* Elements [first, first + n) of t (in its order, fastest dimension first) as float; a
 * quantized type needs first and n on its block boundaries (32 elements). */
FSS_NODISCARD fss_status fss_gguf_read_f32(const fss_gguf *g, const fss_gguf_tensor *t, uint64_t first, uint64_t n,
                                           float *out, char *err, size_t err_len);

FSS_EXTERN_C_END

#endif
