/* Shared definitions for every fsskit translation unit: C11 host code and CUDA C++.
 *
 * FSS_HD marks a per-element body that the CPU launcher loops and the CUDA launcher
 * runs one element per thread (DESIGN section 5). Everything in a header marked
 * FSS_HD is written in the subset of C11 that nvcc's C++ also accepts. */
#ifndef FSS_COMMON_H
#define FSS_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef __CUDACC__
/* Not __forceinline__: that carries its own `inline`, a duplicate beside the `static
 * inline` every body is declared with, which nvcc rejects. */
#define FSS_HD __host__ __device__ __attribute__((always_inline))
#else
#define FSS_HD
#endif

#ifdef __cplusplus
#define FSS_EXTERN_C_BEGIN extern "C" {
#define FSS_EXTERN_C_END }
#define FSS_STATIC_ASSERT(c, m) static_assert(c, m)
#else
#define FSS_EXTERN_C_BEGIN
#define FSS_EXTERN_C_END
#define FSS_STATIC_ASSERT(c, m) _Static_assert(c, m)
#endif

/* Serialized DPF and DCF keys come in blocks of this many instances, level-major within
 * a block (fss/dpf.h, fss/dcf.h): a reader copies each level's correction words as one
 * run. Blocks count from the first instance a write or read starts at. */
#define FSS_KEY_BLOCK 2048

#if defined(__GNUC__) || defined(__clang__)
#define FSS_NODISCARD __attribute__((warn_unused_result))
#else
#define FSS_NODISCARD
#endif

/* Status codes: 0 is success, errors are negative. Library functions return them and
 * never exit(); the mains turn them into one line on stderr and a nonzero exit. */
typedef enum fss_status {
    FSS_OK = 0,
    FSS_E_ARG = -1,     /* an argument is out of range (bit width, count, party) */
    FSS_E_NOMEM = -2,   /* an allocation failed */
    FSS_E_CRYPTO = -3,  /* OpenSSL or the OS random source failed */
    FSS_E_CUDA = -4,    /* a CUDA call or launch failed */
    FSS_E_NODEV = -5,   /* no CUDA device present */
    FSS_E_FORMAT = -6,  /* a serialized key does not parse */
    FSS_E_IO = -7,      /* the operating system refused a read, write or open */
} fss_status;

FSS_EXTERN_C_BEGIN
const char *fss_status_str(fss_status s);
FSS_EXTERN_C_END

/* Asserts stay on in every build type: a broken invariant in crypto code must stop
 * the program, not run on. For impossible states only, never for bad input. */
#define FSS_ASSERT(cond)                                                              \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                  \
        }                                                                             \
    } while (0)

/* A 128-bit block: an AES block, a PRG seed, a tree node. Byte i of the block is byte
 * i of lo for i < 8 and byte i-8 of hi otherwise (little-endian, as on x86 and GPUs). */
typedef struct fss_block {
    uint64_t lo, hi;
} fss_block;
FSS_STATIC_ASSERT(sizeof(fss_block) == 16, "fss_block must be 16 bytes");

static inline FSS_HD fss_block fss_block_xor(fss_block a, fss_block b)
{
    fss_block r;
    r.lo = a.lo ^ b.lo;
    r.hi = a.hi ^ b.hi;
    return r;
}

/* a if bit == 0, a xor b if bit == 1, without a branch on the (secret) bit. */
static inline FSS_HD fss_block fss_block_xor_if(fss_block a, fss_block b, unsigned bit)
{
    uint64_t m = (uint64_t)0 - (uint64_t)(bit & 1u);
    fss_block r;
    r.lo = a.lo ^ (b.lo & m);
    r.hi = a.hi ^ (b.hi & m);
    return r;
}

static inline FSS_HD int fss_block_eq(fss_block a, fss_block b)
{
    return ((a.lo ^ b.lo) | (a.hi ^ b.hi)) == 0;
}

#if defined(__GNUC__) || defined(__clang__)
#define FSS_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define FSS_PRINTF(fmt, args)
#endif

FSS_EXTERN_C_BEGIN
/* Wipe a secret buffer in a way the compiler may not drop; and wipe then free one of n
 * bytes from malloc (NULL is a no-op). */
void fss_memzero(void *p, size_t n);
void fss_free_wiped(void *p, size_t n);
/* A failure's one-line message, formatted into err (err_len bytes; nothing when err is
 * NULL), returning s: `return fss_errorf(err, len, FSS_E_FORMAT, "...", ...)`. The one
 * formatting helper of every layer's error paths. */
fss_status fss_errorf(char *err, size_t err_len, fss_status s, const char *fmt, ...) FSS_PRINTF(4, 5);
fss_status fss_verrorf(char *err, size_t err_len, fss_status s, const char *fmt, va_list ap);
FSS_EXTERN_C_END

#endif
