/* Internal to io/: what the safetensors reader (safetensors.c) and its JSON header
 * parser (safetensors_header.c) share. The format is in fss/safetensors.h. */
#ifndef FSS_SAFETENSORS_INTERNAL_H
#define FSS_SAFETENSORS_INTERNAL_H

#include "fss/safetensors.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "fss safetensors: the reader assumes a little-endian host"
#endif

struct fss_safetensors {
    int fd;
    char *path;
    uint64_t file_size;
    char *pool; /* decoded JSON strings, NUL-terminated, back to back */
    fss_safetensors_tensor *tensors;
    size_t ntensors;
    const char **meta; /* key, value, key, value, ... */
    size_t nmeta;
};

/* The dtypes' names in the header and their element sizes, indexed by fss_safetensors_dtype. */
typedef struct fss_st_type {
    const char *name;
    size_t size;
} fss_st_type;
extern const fss_st_type fss_st_types[];
extern const size_t fss_st_ntypes;

/* Parses the JSON header hdr[0, len) of st->path: fills st->tensors and st->meta, with
 * strings decoded into st->pool (len + 1 bytes), and *offs (malloc'd) with each tensor's
 * begin and end data offsets, two words a tensor. On failure err says where and why. */
FSS_NODISCARD fss_status fss_st_parse_header(fss_safetensors *st, const char *hdr, size_t len, uint64_t **offs,
                                             char *err, size_t err_len);

#endif
