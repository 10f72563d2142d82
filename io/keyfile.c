/* Key files: the streaming writer the dealer fills and the read-ahead reader each online
 * party drains. The byte layout is documented in fss/keyfile.h.
 *
 * The reader is a double buffer in the shape of llm.c's weight loading: while the
 * caller evaluates chunk i from one slot, a thread of its own reads chunk i+1 into the
 * other and checks its CRC, so disk time hides behind compute. Every buffer that holds
 * key bytes is wiped before it is freed. */
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
#define MIN_SLOT_BYTES 64                    /* so an empty payload still has a non-NULL pointer */

/* Field offsets of the file header and the chunk header (see fss/keyfile.h). */
enum {
    H_MAGIC = 0, H_VERSION = 8, H_PARTY = 12, H_RUN_ID = 16, H_FINGERPRINT = 32, H_STATE = 64,
    H_RESERVED = 68, H_CHUNKS = 72, H_TOTAL = 80, H_CHECK = 88, H_END = 92,
    C_KIND = 0, C_RESERVED = 4, C_ELEMENTS = 8, C_BYTES = 16, C_PAYLOAD_CRC = 24, C_HEADER_CRC = 28,
};
FSS_STATIC_ASSERT(H_END <= FSS_KEYFILE_HEADER_BYTES, "file header fields overrun 128 bytes");
FSS_STATIC_ASSERT(C_HEADER_CRC + 4 == FSS_KEYFILE_CHUNK_HEADER_BYTES, "chunk header is 32 bytes");

/* ---- Shared helpers ---- */

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

__attribute__((format(printf, 4, 5))) static fss_status set_err(char *err, size_t len, fss_status st,
                                                                const char *fmt, ...)
{
    if (err && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, len, fmt, ap);
        va_end(ap);
    }
    return st;
}

/* 0, or the errno of the failure. */
static int pwrite_all(int fd, const void *p, size_t n, uint64_t off)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t k = pwrite(fd, b, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return k < 0 ? errno : EIO;
        b += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

/* Reads up to n bytes; *got < n only at the end of the file. 0, or the errno. */
static int pread_full(int fd, void *p, size_t n, uint64_t off, size_t *got)
{
    uint8_t *b = p;
    *got = 0;
    while (*got < n) {
        ssize_t k = pread(fd, b + *got, n - *got, (off_t)(off + *got));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return errno;
        if (k == 0)
            break;
        *got += (size_t)k;
    }
    return 0;
}

static void hex(char out[2 * FSS_KEYFILE_RUN_ID_BYTES + 1], const uint8_t *b)
{
    for (int i = 0; i < FSS_KEYFILE_RUN_ID_BYTES; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static uint32_t header_check(const uint8_t h[FSS_KEYFILE_HEADER_BYTES])
{
    uint8_t t[H_CHECK];
    memcpy(t, h, H_CHECK);
    put_u32(t + H_STATE, 0); /* so marking the file used leaves the check intact */
    return fss_crc32c(0, t, H_CHECK);
}

/* Reads and checks the file header of the open file fd; fills info. */
static fss_status read_header(int fd, const char *path, fss_keyfile_info *info, char *err, size_t len)
{
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        return set_err(err, len, FSS_E_IO, "cannot stat key file %s: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return set_err(err, len, FSS_E_ARG, "%s is not a regular file: pass the key file the dealer wrote", path);
    uint8_t h[FSS_KEYFILE_HEADER_BYTES];
    size_t got;
    int e = pread_full(fd, h, sizeof h, 0, &got);
    if (e)
        return set_err(err, len, FSS_E_IO, "cannot read key file %s: %s", path, strerror(e));
    if (got >= 8 && memcmp(h + H_MAGIC, FSS_KEYFILE_MAGIC, 8) != 0)
        return set_err(err, len, FSS_E_FORMAT, "%s is not an fsskit key file (bad magic): pass the file the dealer wrote",
                       path);
    if (got < sizeof h)
        return set_err(err, len, FSS_E_FORMAT,
                       "key file %s is truncated: %zu bytes, less than its %d-byte header: copy it again or run "
                       "the dealer again", path, got, FSS_KEYFILE_HEADER_BYTES);
    uint32_t version = get_u32(h + H_VERSION);
    if (version != FSS_KEYFILE_VERSION)
        return set_err(err, len, FSS_E_FORMAT,
                       "key file %s has format version %" PRIu32 ", but this build reads version %u: run this "
                       "build's dealer again", path, version, FSS_KEYFILE_VERSION);
    if (get_u32(h + H_CHECK) != header_check(h))
        return set_err(err, len, FSS_E_FORMAT,
                       "key file %s has a corrupted header (checksum): copy it again or run the dealer again", path);
    int zero = get_u32(h + H_RESERVED) == 0;
    for (int i = H_END; i < FSS_KEYFILE_HEADER_BYTES; i++)
        zero &= h[i] == 0;
    uint32_t party = get_u32(h + H_PARTY);
    if (!zero || party > 1)
        return set_err(err, len, FSS_E_FORMAT,
                       "key file %s has a malformed header (party %" PRIu32 ", reserved bytes): run the dealer again",
                       path, party);
    info->version = version;
    info->party = (int)party;
    memcpy(info->run_id, h + H_RUN_ID, FSS_KEYFILE_RUN_ID_BYTES);
    memcpy(info->fingerprint, h + H_FINGERPRINT, FSS_KEYFILE_FINGERPRINT_BYTES);
    info->state = get_u32(h + H_STATE);
    info->chunk_count = get_u64(h + H_CHUNKS);
    info->total_bytes = get_u64(h + H_TOTAL);
    uint64_t size = (uint64_t)sb.st_size;
    if (size < info->total_bytes)
        return set_err(err, len, FSS_E_FORMAT,
                       "key file %s is truncated: %" PRIu64 " of %" PRIu64 " bytes: copy it again or run the dealer "
                       "again", path, size, info->total_bytes);
    if (size > info->total_bytes)
        return set_err(err, len, FSS_E_FORMAT,
                       "key file %s has %" PRIu64 " bytes, but its header says %" PRIu64 ": it was damaged or "
                       "appended to; run the dealer again", path, size, info->total_bytes);
    uint64_t body = info->total_bytes - FSS_KEYFILE_HEADER_BYTES; /* total >= size >= 128 here */
    if (info->chunk_count > body / FSS_KEYFILE_CHUNK_HEADER_BYTES || (info->chunk_count == 0 && body != 0))
        return set_err(err, len, FSS_E_FORMAT,
                       "key file %s claims %" PRIu64 " chunks in %" PRIu64 " bytes: it is corrupted; run the dealer "
                       "again", path, info->chunk_count, info->total_bytes);
    return FSS_OK;
}

/* ---- Writer ---- */

struct fss_keyfile_writer {
    int fd;
    int have_partial; /* we created the partial file and it is not renamed yet */
    char *path, *partial;
    uint8_t header[FSS_KEYFILE_HEADER_BYTES];
    uint8_t *buf;     /* bytes [flushed, flushed + buf_len) of the file */
    size_t buf_len;
    uint64_t flushed;
    uint64_t chunks;
    int in_chunk;
    uint32_t kind;
    uint64_t elements, chunk_at, expect, got;
    uint32_t crc;
    fss_status st;
    char err[ERR_BYTES];
};

/* Records the failure, removes the partial file, and makes w answer st from now on. */
__attribute__((format(printf, 3, 4))) static fss_status wfail(fss_keyfile_writer *w, fss_status st,
                                                              const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->err, sizeof w->err, fmt, ap);
    va_end(ap);
    w->st = st;
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    if (w->have_partial)
        unlink(w->partial);
    w->have_partial = 0;
    return st;
}

static fss_status wfail_io(fss_keyfile_writer *w, int e)
{
    return wfail(w, FSS_E_IO, "writing key file %s failed: %s; %s", w->partial, strerror(e),
                 e == ENOSPC || e == EDQUOT ? "free disk space or choose another --out"
                                            : "check the disk and run the dealer again");
}

static fss_status flush(fss_keyfile_writer *w)
{
    int e = pwrite_all(w->fd, w->buf, w->buf_len, w->flushed);
    if (e)
        return wfail_io(w, e);
    w->flushed += w->buf_len;
    w->buf_len = 0;
    return FSS_OK;
}

static fss_status put(fss_keyfile_writer *w, const uint8_t *p, size_t n)
{
    while (n) {
        if (w->buf_len == 0 && n >= WRITE_BUFFER_BYTES) { /* large pieces skip the copy */
            int e = pwrite_all(w->fd, p, n, w->flushed);
            if (e)
                return wfail_io(w, e);
            w->flushed += n;
            return FSS_OK;
        }
        size_t take = WRITE_BUFFER_BYTES - w->buf_len;
        take = take < n ? take : n;
        memcpy(w->buf + w->buf_len, p, take);
        w->buf_len += take;
        p += take;
        n -= take;
        if (w->buf_len == WRITE_BUFFER_BYTES) {
            fss_status st = flush(w);
            if (st)
                return st;
        }
    }
    return FSS_OK;
}

/* Overwrites bytes [off, off + n) already put: the part still buffered in the buffer,
 * the part flushed in the file. */
static fss_status patch(fss_keyfile_writer *w, uint64_t off, const uint8_t *p, size_t n)
{
    if (off < w->flushed) {
        size_t k = w->flushed - off < n ? (size_t)(w->flushed - off) : n;
        int e = pwrite_all(w->fd, p, k, off);
        if (e)
            return wfail_io(w, e);
        off += k;
        p += k;
        n -= k;
    }
    if (n)
        memcpy(w->buf + (off - w->flushed), p, n);
    return FSS_OK;
}

fss_status fss_keyfile_create(fss_keyfile_writer **out, const char *path, int party,
                              const uint8_t run_id[FSS_KEYFILE_RUN_ID_BYTES],
                              const uint8_t fingerprint[FSS_KEYFILE_FINGERPRINT_BYTES])
{
    if (!out)
        return FSS_E_ARG;
    fss_keyfile_writer *w = calloc(1, sizeof *w);
    *out = w;
    if (!w)
        return FSS_E_NOMEM;
    w->fd = -1;
    if (!path || !*path || !run_id || !fingerprint || (party != 0 && party != 1))
        return wfail(w, FSS_E_ARG, "fss_keyfile_create: needs a path, a run id, a fingerprint and party 0 or 1");
    size_t pl = strlen(path);
    w->path = malloc(pl + 1);
    w->partial = malloc(pl + sizeof ".partial");
    w->buf = malloc(WRITE_BUFFER_BYTES);
    if (!w->path || !w->partial || !w->buf)
        return wfail(w, FSS_E_NOMEM, "out of memory creating key file %s", path);
    memcpy(w->path, path, pl + 1);
    snprintf(w->partial, pl + sizeof ".partial", "%s.partial", path);
    struct stat sb;
    if (lstat(path, &sb) == 0)
        return wfail(w, FSS_E_ARG, "key file %s exists; remove it or choose another --out", path);
    if (errno != ENOENT)
        return wfail(w, FSS_E_IO, "cannot create key file %s: %s", path, strerror(errno));
    w->fd = open(w->partial, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (w->fd < 0 && errno == EEXIST)
        return wfail(w, FSS_E_ARG,
                     "%s exists: a dealer run was interrupted or is still running; remove it or choose another --out",
                     w->partial);
    if (w->fd < 0)
        return wfail(w, FSS_E_IO, "cannot create key file %s: %s", w->partial, strerror(errno));
    w->have_partial = 1;
    if (fchmod(w->fd, 0600) != 0) /* whatever the umask: keys are for this user only */
        return wfail(w, FSS_E_IO, "cannot set mode 0600 on %s: %s", w->partial, strerror(errno));
    memcpy(w->header + H_MAGIC, FSS_KEYFILE_MAGIC, 8);
    put_u32(w->header + H_VERSION, FSS_KEYFILE_VERSION);
    put_u32(w->header + H_PARTY, (uint32_t)party);
    memcpy(w->header + H_RUN_ID, run_id, FSS_KEYFILE_RUN_ID_BYTES);
    memcpy(w->header + H_FINGERPRINT, fingerprint, FSS_KEYFILE_FINGERPRINT_BYTES);
    /* Counts and check are patched at close; until then the file cannot pass as whole. */
    return put(w, w->header, sizeof w->header);
}

fss_status fss_keyfile_begin_chunk(fss_keyfile_writer *w, uint32_t kind, uint64_t elements, uint64_t payload_bytes)
{
    FSS_ASSERT(w);
    if (w->st)
        return w->st;
    if (w->in_chunk)
        return wfail(w, FSS_E_ARG, "key file %s: chunk %" PRIu64 " was begun and not ended", w->path, w->chunks);
    if (payload_bytes > FSS_KEYFILE_MAX_CHUNK_BYTES)
        return wfail(w, FSS_E_ARG,
                     "key file %s: chunk %" PRIu64 " of %" PRIu64 " bytes is over this version's limit of %" PRIu64
                     " bytes: split the gate's keys into several chunks", w->path, w->chunks, payload_bytes,
                     FSS_KEYFILE_MAX_CHUNK_BYTES);
    w->in_chunk = 1;
    w->kind = kind;
    w->elements = elements;
    w->expect = payload_bytes;
    w->got = 0;
    w->crc = 0;
    w->chunk_at = w->flushed + w->buf_len;
    static const uint8_t placeholder[FSS_KEYFILE_CHUNK_HEADER_BYTES];
    return put(w, placeholder, sizeof placeholder);
}

fss_status fss_keyfile_append(fss_keyfile_writer *w, const void *data, size_t n)
{
    FSS_ASSERT(w);
    if (w->st)
        return w->st;
    if (!w->in_chunk)
        return wfail(w, FSS_E_ARG, "key file %s: append outside a chunk: call fss_keyfile_begin_chunk first", w->path);
    if (n > w->expect - w->got)
        return wfail(w, FSS_E_ARG,
                     "key file %s, chunk %" PRIu64 ": %" PRIu64 " bytes appended, more than the %" PRIu64 " declared",
                     w->path, w->chunks, w->got + (uint64_t)n, w->expect);
    if (n == 0)
        return FSS_OK;
    FSS_ASSERT(data);
    w->crc = fss_crc32c(w->crc, data, n);
    w->got += n;
    return put(w, data, n);
}

fss_status fss_keyfile_end_chunk(fss_keyfile_writer *w)
{
    FSS_ASSERT(w);
    if (w->st)
        return w->st;
    if (!w->in_chunk)
        return wfail(w, FSS_E_ARG, "key file %s: end_chunk without begin_chunk", w->path);
    if (w->got != w->expect)
        return wfail(w, FSS_E_ARG,
                     "key file %s, chunk %" PRIu64 ": %" PRIu64 " of the %" PRIu64 " declared payload bytes appended",
                     w->path, w->chunks, w->got, w->expect);
    uint8_t h[FSS_KEYFILE_CHUNK_HEADER_BYTES];
    put_u32(h + C_KIND, w->kind);
    put_u32(h + C_RESERVED, 0);
    put_u64(h + C_ELEMENTS, w->elements);
    put_u64(h + C_BYTES, w->expect);
    put_u32(h + C_PAYLOAD_CRC, w->crc);
    put_u32(h + C_HEADER_CRC, fss_crc32c(0, h, C_HEADER_CRC));
    fss_status st = patch(w, w->chunk_at, h, sizeof h);
    if (st)
        return st;
    w->in_chunk = 0;
    w->chunks++;
    return FSS_OK;
}

fss_status fss_keyfile_write_chunk(fss_keyfile_writer *w, uint32_t kind, uint64_t elements, const void *data, size_t n)
{
    fss_status st = fss_keyfile_begin_chunk(w, kind, elements, n);
    if (!st)
        st = fss_keyfile_append(w, data, n);
    if (!st)
        st = fss_keyfile_end_chunk(w);
    return st;
}

/* So the rename survives a crash too. Best effort: some file systems refuse fsync on
 * a directory, and the file itself is already synced. */
static void sync_parent(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return;
    int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    free(copy);
}

fss_status fss_keyfile_writer_close(fss_keyfile_writer *w)
{
    FSS_ASSERT(w);
    if (w->st)
        return w->st;
    if (w->in_chunk)
        return wfail(w, FSS_E_ARG, "key file %s: chunk %" PRIu64 " was begun and not ended", w->path, w->chunks);
    fss_status st = flush(w);
    if (st)
        return st;
    put_u64(w->header + H_CHUNKS, w->chunks);
    put_u64(w->header + H_TOTAL, w->flushed);
    put_u32(w->header + H_CHECK, header_check(w->header));
    int e = pwrite_all(w->fd, w->header, sizeof w->header, 0);
    if (e)
        return wfail_io(w, e);
    if (fsync(w->fd) != 0)
        return wfail_io(w, errno);
    if (close(w->fd) != 0) {
        w->fd = -1;
        return wfail_io(w, errno);
    }
    w->fd = -1;
    /* No-replace rename: a file that appeared at path meanwhile is never overwritten. */
    if (renameat2(AT_FDCWD, w->partial, AT_FDCWD, w->path, RENAME_NOREPLACE) != 0) {
        e = errno;
        if (e == EINVAL || e == ENOSYS) { /* the file system has no RENAME_NOREPLACE */
            e = link(w->partial, w->path) == 0 ? 0 : errno;
            if (!e)
                unlink(w->partial);
        }
        if (e == EEXIST)
            return wfail(w, FSS_E_ARG, "key file %s appeared while the dealer ran; remove it or choose another --out",
                         w->path);
        if (e)
            return wfail(w, FSS_E_IO, "cannot rename %s to %s: %s", w->partial, w->path, strerror(e));
    }
    w->have_partial = 0;
    sync_parent(w->path);
    fss_keyfile_writer_abort(w); /* nothing is left to remove: this frees */
    return FSS_OK;
}

void fss_keyfile_writer_abort(fss_keyfile_writer *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    if (w->have_partial)
        unlink(w->partial);
    if (w->buf) {
        fss_memzero(w->buf, WRITE_BUFFER_BYTES);
        free(w->buf);
    }
    free(w->path);
    free(w->partial);
    fss_memzero(w, sizeof *w);
    free(w);
}

const char *fss_keyfile_writer_error(const fss_keyfile_writer *w)
{
    return w ? w->err : "out of memory";
}

uint64_t fss_keyfile_writer_bytes(const fss_keyfile_writer *w)
{
    return w->flushed + w->buf_len;
}

uint64_t fss_keyfile_writer_chunks(const fss_keyfile_writer *w)
{
    return w->chunks;
}

/* ---- Reader ---- */

/* One half of the double buffer. The read-ahead thread owns a slot while full == 0, the
 * caller while full == 1; the flag changes under the reader's mutex. */
struct slot {
    uint8_t *buf;
    size_t cap;
    uint32_t kind;
    uint64_t elements, bytes;
    int full;
    fss_status st;
    char err[ERR_BYTES];
};

struct fss_keyfile_reader {
    int fd;
    char *path;
    fss_keyfile_info info;
    fss_status st;
    char err[ERR_BYTES];
    int sync_ready, thread_live;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    atomic_int stop;
    struct slot slot[2];
    uint64_t next;  /* index of the next chunk to hand out */
    int held;       /* the caller holds chunk next - 1 */
    uint64_t bytes; /* chunk header and payload bytes handed out */
};

__attribute__((format(printf, 3, 4))) static fss_status rfail(fss_keyfile_reader *r, fss_status st,
                                                              const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    r->st = st;
    return st;
}

/* Reads chunk i, which starts at *off, into s and verifies it. Runs on the thread. */
static fss_status read_chunk(fss_keyfile_reader *r, struct slot *s, uint64_t i, uint64_t *off)
{
    const char *path = r->path;
    uint64_t total = r->info.total_bytes;
    uint8_t h[FSS_KEYFILE_CHUNK_HEADER_BYTES];
    size_t got;
    if (total - *off < sizeof h)
        return set_err(s->err, ERR_BYTES, FSS_E_FORMAT,
                       "key file %s, chunk %" PRIu64 " runs past the end of the file: it is corrupted; run the "
                       "dealer again", path, i);
    int e = pread_full(r->fd, h, sizeof h, *off, &got);
    if (e || got < sizeof h)
        return set_err(s->err, ERR_BYTES, FSS_E_IO, "reading key file %s, chunk %" PRIu64 ": %s", path, i,
                       e ? strerror(e) : "the file shrank while it was read");
    if (get_u32(h + C_HEADER_CRC) != fss_crc32c(0, h, C_HEADER_CRC) || get_u32(h + C_RESERVED) != 0)
        return set_err(s->err, ERR_BYTES, FSS_E_FORMAT,
                       "key file %s, chunk %" PRIu64 " has a corrupted header (checksum): copy the file again or run "
                       "the dealer again", path, i);
    uint64_t bytes = get_u64(h + C_BYTES);
    if (bytes > FSS_KEYFILE_MAX_CHUNK_BYTES)
        return set_err(s->err, ERR_BYTES, FSS_E_NOMEM,
                       "key file %s, chunk %" PRIu64 ": chunk too large (%" PRIu64 " bytes; this version reads at "
                       "most %" PRIu64 ")", path, i, bytes, FSS_KEYFILE_MAX_CHUNK_BYTES);
    *off += sizeof h;
    if (bytes > total - *off)
        return set_err(s->err, ERR_BYTES, FSS_E_FORMAT,
                       "key file %s, chunk %" PRIu64 " runs past the end of the file: it is corrupted; run the "
                       "dealer again", path, i);
    if (i + 1 == r->info.chunk_count && *off + bytes != total)
        return set_err(s->err, ERR_BYTES, FSS_E_FORMAT,
                       "key file %s: its last chunk ends at byte %" PRIu64 ", but the header says %" PRIu64
                       ": it is corrupted; run the dealer again", path, *off + bytes, total);
    size_t need = bytes > MIN_SLOT_BYTES ? (size_t)bytes : MIN_SLOT_BYTES;
    if (s->cap < need) {
        size_t cap = s->cap * 2 > need ? s->cap * 2 : need; /* few regrows as chunks grow */
        if (cap > FSS_KEYFILE_MAX_CHUNK_BYTES)
            cap = need;
        uint8_t *nb = malloc(cap);
        if (!nb)
            return set_err(s->err, ERR_BYTES, FSS_E_NOMEM, "out of memory reading chunk %" PRIu64 " (%" PRIu64
                           " bytes) of key file %s", i, bytes, path);
        if (s->buf)
            fss_memzero(s->buf, s->cap);
        free(s->buf);
        s->buf = nb;
        s->cap = cap;
    }
    uint32_t crc = 0;
    for (uint64_t done = 0; done < bytes;) {
        if (atomic_load(&r->stop))
            return FSS_E_ARG; /* closing: nobody reads this status */
        size_t piece = bytes - done < READ_PIECE_BYTES ? (size_t)(bytes - done) : READ_PIECE_BYTES;
        e = pread_full(r->fd, s->buf + done, piece, *off + done, &got);
        if (e || got < piece)
            return set_err(s->err, ERR_BYTES, FSS_E_IO, "reading key file %s, chunk %" PRIu64 ": %s", path, i,
                           e ? strerror(e) : "the file shrank while it was read");
        crc = fss_crc32c(crc, s->buf + done, piece);
        done += piece;
    }
    if (crc != get_u32(h + C_PAYLOAD_CRC))
        return set_err(s->err, ERR_BYTES, FSS_E_FORMAT,
                       "key file %s, chunk %" PRIu64 " is corrupted (checksum): copy the file again or run the dealer "
                       "again", path, i);
    *off += bytes;
    s->kind = get_u32(h + C_KIND);
    s->elements = get_u64(h + C_ELEMENTS);
    s->bytes = bytes;
    return FSS_OK;
}

static void *read_ahead(void *arg)
{
    fss_keyfile_reader *r = arg;
    uint64_t off = FSS_KEYFILE_HEADER_BYTES;
    for (uint64_t i = 0; i < r->info.chunk_count; i++) {
        struct slot *s = &r->slot[i & 1];
        pthread_mutex_lock(&r->mu);
        while (s->full && !atomic_load(&r->stop))
            pthread_cond_wait(&r->cv, &r->mu);
        pthread_mutex_unlock(&r->mu);
        if (atomic_load(&r->stop))
            break;
        fss_status st = read_chunk(r, s, i, &off);
        pthread_mutex_lock(&r->mu);
        s->st = st;
        s->full = 1;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
        if (st)
            break;
    }
    return NULL;
}

fss_status fss_keyfile_peek_info(const char *path, fss_keyfile_info *info, char *err, size_t err_len)
{
    if (!path || !info)
        return set_err(err, err_len, FSS_E_ARG, "fss_keyfile_peek_info: needs a path and an info");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return set_err(err, err_len, FSS_E_IO, "cannot open key file %s: %s", path, strerror(errno));
    fss_status st = read_header(fd, path, info, err, err_len);
    close(fd);
    return st;
}

fss_status fss_keyfile_open(fss_keyfile_reader **out, const char *path, int expected_party,
                            fss_keyfile_info *info_out)
{
    if (!out)
        return FSS_E_ARG;
    fss_keyfile_reader *r = calloc(1, sizeof *r);
    *out = r;
    if (!r)
        return FSS_E_NOMEM;
    r->fd = -1;
    if (pthread_mutex_init(&r->mu, NULL) != 0)
        return rfail(r, FSS_E_NOMEM, "cannot create a mutex for the key reader");
    if (pthread_cond_init(&r->cv, NULL) != 0) {
        pthread_mutex_destroy(&r->mu);
        return rfail(r, FSS_E_NOMEM, "cannot create a condition variable for the key reader");
    }
    r->sync_ready = 1;
    if (!path || !*path || (expected_party != 0 && expected_party != 1))
        return rfail(r, FSS_E_ARG, "fss_keyfile_open: needs a path and party 0 or 1");
    r->path = strdup(path);
    if (!r->path)
        return rfail(r, FSS_E_NOMEM, "out of memory opening key file %s", path);
    /* Read-write: the reader marks the file used before handing out any key. */
    r->fd = open(path, O_RDWR | O_CLOEXEC);
    if (r->fd < 0)
        return rfail(r, FSS_E_IO, "cannot open key file %s for reading and writing: %s%s", path, strerror(errno),
                     errno == ENOENT ? ": run the dealer, or check the path" : " (the reader marks the file used)");
    /* A lock, so two processes cannot both find the file fresh. */
    if (flock(r->fd, LOCK_EX | LOCK_NB) != 0)
        return rfail(r, errno == EWOULDBLOCK ? FSS_E_FORMAT : FSS_E_IO,
                     "key file %s is open in another process (%s): keys are one-time; run the dealer again for "
                     "another run", path, strerror(errno));
    fss_status st = read_header(r->fd, path, &r->info, r->err, sizeof r->err);
    if (st)
        return r->st = st; /* read_header wrote the message */
    if (info_out)
        *info_out = r->info;
    if (r->info.party != expected_party)
        return rfail(r, FSS_E_FORMAT, "key file %s is party %d's, but this is party %d: pass this party's key file",
                     path, r->info.party, expected_party);
    if (r->info.state != 0) {
        char id[2 * FSS_KEYFILE_RUN_ID_BYTES + 1];
        hex(id, r->info.run_id);
        return rfail(r, FSS_E_FORMAT,
                     "key file %s was already used (run id %s): keys are one-time; run the dealer again", path, id);
    }
    uint8_t used[4];
    put_u32(used, 1);
    int e = pwrite_all(r->fd, used, sizeof used, H_STATE);
    if (e || fdatasync(r->fd) != 0)
        return rfail(r, FSS_E_IO, "cannot mark key file %s used: %s: keys are one-time, so it will not be read",
                     path, strerror(e ? e : errno));
    e = pthread_create(&r->thread, NULL, read_ahead, r);
    if (e)
        return rfail(r, FSS_E_NOMEM, "cannot start the key read-ahead thread: %s", strerror(e));
    r->thread_live = 1;
    return FSS_OK;
}

fss_status fss_keyfile_next(fss_keyfile_reader *r, uint32_t kind, uint64_t elements, fss_keyfile_chunk *out)
{
    FSS_ASSERT(r && out);
    if (r->st)
        return r->st;
    if (r->next == r->info.chunk_count)
        return rfail(r, FSS_E_FORMAT,
                     "key file %s has no chunk %" PRIu64 " (it holds %" PRIu64 "): the key file does not match this "
                     "model/run", r->path, r->next, r->info.chunk_count);
    struct slot *s = &r->slot[r->next & 1];
    pthread_mutex_lock(&r->mu);
    if (r->held) { /* give the previous chunk's slot back to the thread */
        r->slot[(r->next - 1) & 1].full = 0;
        r->held = 0;
        pthread_cond_broadcast(&r->cv);
    }
    while (!s->full)
        pthread_cond_wait(&r->cv, &r->mu);
    pthread_mutex_unlock(&r->mu);
    if (s->st)
        return rfail(r, s->st, "%s", s->err);
    r->held = 1;
    if ((s->kind != kind && s->kind != (kind | FSS_KEYFILE_KIND_PIECE)) || s->elements != elements)
        return rfail(r, FSS_E_FORMAT,
                     "key file %s, chunk %" PRIu64 ": expected kind %" PRIu32 " with %" PRIu64 " elements, found %"
                     PRIu32 " with %" PRIu64 ": the key file does not match this model/run", r->path, r->next, kind,
                     elements, s->kind, s->elements);
    out->index = r->next;
    out->kind = s->kind;
    out->elements = s->elements;
    out->payload_bytes = s->bytes;
    out->data = s->buf;
    r->next++;
    r->bytes += FSS_KEYFILE_CHUNK_HEADER_BYTES + s->bytes;
    return FSS_OK;
}

uint64_t fss_keyfile_remaining(const fss_keyfile_reader *r)
{
    return r->info.chunk_count - r->next;
}

fss_status fss_keyfile_reader_finish(fss_keyfile_reader *r)
{
    FSS_ASSERT(r);
    if (r->st)
        return r->st;
    uint64_t left = fss_keyfile_remaining(r);
    if (left)
        return rfail(r, FSS_E_FORMAT, "key file %s has %" PRIu64 " unread chunks: it belongs to a different model",
                     r->path, left);
    return FSS_OK;
}

uint64_t fss_keyfile_reader_bytes(const fss_keyfile_reader *r)
{
    return r->bytes;
}

void fss_keyfile_reader_close(fss_keyfile_reader *r)
{
    if (!r)
        return;
    if (r->thread_live) {
        pthread_mutex_lock(&r->mu);
        atomic_store(&r->stop, 1);
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
        pthread_join(r->thread, NULL);
    }
    if (r->sync_ready) {
        pthread_cond_destroy(&r->cv);
        pthread_mutex_destroy(&r->mu);
    }
    for (int k = 0; k < 2; k++) {
        if (r->slot[k].buf)
            fss_memzero(r->slot[k].buf, r->slot[k].cap);
        free(r->slot[k].buf);
    }
    if (r->fd >= 0)
        close(r->fd); /* releases the lock */
    free(r->path);
    fss_memzero(r, sizeof *r);
    free(r);
}

const char *fss_keyfile_reader_error(const fss_keyfile_reader *r)
{
    return r ? r->err : "out of memory";
}
