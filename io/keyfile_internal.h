/* Internal to io/: what the key file's writer (keyfile_write.c), reader (keyfile_read.c)
 * and shared helpers (keyfile.c) have in common. The byte layout is documented in
 * fss/keyfile.h. */
#ifndef FSS_KEYFILE_INTERNAL_H
#define FSS_KEYFILE_INTERNAL_H

#include "fss/keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"

#define ERR_BYTES 1024
#define WRITE_BUFFER_BYTES ((size_t)1 << 20) /* the writer's buffer: few large writes */
#define READ_PIECE_BYTES ((size_t)8 << 20)   /* the reader polls for close this often */
#define PART_MIN_BYTES ((size_t)4 << 20)     /* a chunk is read in parts of at least this */
#define MIN_SLOT_BYTES 64                    /* so an empty payload still has a non-NULL pointer */

/* Field offsets of the file header and the chunk header (see fss/keyfile.h). */
enum {
    H_MAGIC = 0, H_VERSION = 8, H_PARTY = 12, H_RUN_ID = 16, H_FINGERPRINT = 32, H_STATE = 64,
    H_RESERVED = 68, H_CHUNKS = 72, H_TOTAL = 80, H_CHECK = 88, H_SECRET = 92, H_END = 124,
    C_KIND = 0, C_RESERVED = 4, C_ELEMENTS = 8, C_BYTES = 16, C_PAYLOAD_CRC = 24, C_HEADER_CRC = 28,
};
FSS_STATIC_ASSERT(H_END <= FSS_KEYFILE_HEADER_BYTES, "file header fields overrun 128 bytes");
FSS_STATIC_ASSERT(H_END - H_SECRET == FSS_KEYFILE_SECRET_BYTES, "the secret fills 92..123");
FSS_STATIC_ASSERT(C_HEADER_CRC + 4 == FSS_KEYFILE_CHUNK_HEADER_BYTES, "chunk header is 32 bytes");

static inline void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

/* 0, or the errno of the failure. */
int fss_kf_pwrite_all(int fd, const void *p, size_t n, uint64_t off);
int fss_kf_pread_full(int fd, void *p, size_t n, uint64_t off, size_t *got);
void fss_kf_hex(char out[2 * FSS_KEYFILE_RUN_ID_BYTES + 1], const uint8_t *b);
/* from moved to to without replacing a file there (a link, then an unlink of from, where
 * the file system has no RENAME_NOREPLACE): 0, or the errno (EEXIST: to exists). */
int fss_kf_move_noreplace(const char *from, const char *to);
uint32_t fss_kf_header_check(const uint8_t h[FSS_KEYFILE_HEADER_BYTES]);
fss_status fss_kf_read_header(int fd, const char *path, fss_keyfile_info *info, char *err, size_t len);

#endif
