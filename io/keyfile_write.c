/* The key file writer (the dealer): see keyfile.c and fss/keyfile.h. */
#include "keyfile_internal.h"

#include <signal.h>

/* ---- Writer ---- */

struct fss_keyfile_writer {
    int fd;
    int have_partial; /* we created the partial file and it is not renamed yet */
    int count_only;   /* fss_keyfile_create_counter: sizes only, no file */
    int signal_slot;  /* its fss_keyfile_remove_on_signal slot, or -1 */
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

/* ---- Files removed when a signal stops the process ---- */

#define SIGNAL_PATH_BYTES 4096
static char signal_paths[FSS_KEYFILE_SIGNAL_SLOTS][SIGNAL_PATH_BYTES];
static atomic_int signal_live[FSS_KEYFILE_SIGNAL_SLOTS]; /* lock-free: safe in a handler */
static pthread_mutex_t signal_lock = PTHREAD_MUTEX_INITIALIZER;

int fss_keyfile_remove_on_signal_add(const char *path)
{
    if (!path || strlen(path) >= SIGNAL_PATH_BYTES)
        return -1;
    int slot = -1;
    pthread_mutex_lock(&signal_lock);
    for (int i = 0; i < FSS_KEYFILE_SIGNAL_SLOTS && slot < 0; i++)
        if (!atomic_load_explicit(&signal_live[i], memory_order_acquire)) {
            snprintf(signal_paths[i], SIGNAL_PATH_BYTES, "%s", path);
            atomic_store_explicit(&signal_live[i], 1, memory_order_release); /* the path is whole first */
            slot = i;
        }
    pthread_mutex_unlock(&signal_lock);
    return slot;
}

void fss_keyfile_remove_on_signal_forget(int slot)
{
    if (slot >= 0 && slot < FSS_KEYFILE_SIGNAL_SLOTS)
        atomic_store_explicit(&signal_live[slot], 0, memory_order_release);
}

void fss_keyfile_remove_on_signal(void)
{
    for (int i = 0; i < FSS_KEYFILE_SIGNAL_SLOTS; i++)
        if (atomic_load_explicit(&signal_live[i], memory_order_acquire))
            unlink(signal_paths[i]);
}

/* Records the failure, removes the partial file, and makes w answer st from now on. */
FSS_PRINTF(3, 4) static fss_status wfail(fss_keyfile_writer *w, fss_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    w->st = fss_verrorf(w->err, sizeof w->err, st, fmt, ap);
    va_end(ap);
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    if (w->have_partial)
        unlink(w->partial);
    w->have_partial = 0;
    fss_keyfile_remove_on_signal_forget(w->signal_slot);
    w->signal_slot = -1;
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
    if (w->count_only)
        return FSS_OK; /* nothing is ever buffered */
    int e = fss_kf_pwrite_all(w->fd, w->buf, w->buf_len, w->flushed);
    if (e)
        return wfail_io(w, e);
    w->flushed += w->buf_len;
    w->buf_len = 0;
    return FSS_OK;
}

static fss_status put(fss_keyfile_writer *w, const uint8_t *p, size_t n)
{
    if (w->count_only) {
        w->flushed += n;
        return FSS_OK;
    }
    while (n) {
        if (w->buf_len == 0 && n >= WRITE_BUFFER_BYTES) { /* large pieces skip the copy */
            int e = fss_kf_pwrite_all(w->fd, p, n, w->flushed);
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
    if (w->count_only)
        return FSS_OK;
    if (off < w->flushed) {
        size_t k = w->flushed - off < n ? (size_t)(w->flushed - off) : n;
        int e = fss_kf_pwrite_all(w->fd, p, k, off);
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

/* A zeroed writer with no file yet, in *out (NULL when out of memory). */
static fss_status writer_new(fss_keyfile_writer **out, fss_keyfile_writer **w)
{
    if (!out)
        return FSS_E_ARG;
    *w = *out = calloc(1, sizeof **w);
    if (!*w)
        return FSS_E_NOMEM;
    (*w)->fd = -1;
    (*w)->signal_slot = -1;
    return FSS_OK;
}

fss_status fss_keyfile_create(fss_keyfile_writer **out, const char *path, int party,
                              const uint8_t run_id[FSS_KEYFILE_RUN_ID_BYTES],
                              const uint8_t fingerprint[FSS_KEYFILE_FINGERPRINT_BYTES],
                              const uint8_t secret[FSS_KEYFILE_SECRET_BYTES])
{
    fss_keyfile_writer *w = NULL;
    fss_status st = writer_new(out, &w);
    if (st != FSS_OK)
        return st;
    if (!path || !*path || !run_id || !fingerprint || !secret || (party != 0 && party != 1))
        return wfail(w, FSS_E_ARG,
                     "fss_keyfile_create: needs a path, a run id, a fingerprint, a secret and party 0 or 1");
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
    w->signal_slot = fss_keyfile_remove_on_signal_add(w->partial);
    if (fchmod(w->fd, 0600) != 0) /* whatever the umask: keys are for this user only */
        return wfail(w, FSS_E_IO, "cannot set mode 0600 on %s: %s", w->partial, strerror(errno));
    memcpy(w->header + H_MAGIC, FSS_KEYFILE_MAGIC, 8);
    put_u32(w->header + H_VERSION, FSS_KEYFILE_VERSION);
    put_u32(w->header + H_PARTY, (uint32_t)party);
    memcpy(w->header + H_RUN_ID, run_id, FSS_KEYFILE_RUN_ID_BYTES);
    memcpy(w->header + H_FINGERPRINT, fingerprint, FSS_KEYFILE_FINGERPRINT_BYTES);
    memcpy(w->header + H_SECRET, secret, FSS_KEYFILE_SECRET_BYTES);
    /* Counts and check are patched at close; until then the file cannot pass as whole. */
    return put(w, w->header, sizeof w->header);
}

fss_status fss_keyfile_create_counter(fss_keyfile_writer **out, int party)
{
    fss_keyfile_writer *w = NULL;
    fss_status st = writer_new(out, &w);
    if (st != FSS_OK)
        return st;
    w->count_only = 1;
    if (party != 0 && party != 1)
        return wfail(w, FSS_E_ARG, "fss_keyfile_create_counter: party 0 or 1");
    static const char dry[] = "(dry run)";
    if (!(w->path = malloc(sizeof dry)))
        return wfail(w, FSS_E_NOMEM, "out of memory");
    memcpy(w->path, dry, sizeof dry);
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
    FSS_ASSERT(data || w->count_only);
    if (!w->count_only)
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

int fss_kf_move_noreplace(const char *from, const char *to)
{
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
        return 0;
    int e = errno;
    if (e == EINVAL || e == ENOSYS) { /* the file system has no RENAME_NOREPLACE */
        e = link(from, to) == 0 ? 0 : errno;
        if (!e)
            unlink(from);
    }
    return e;
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
    if (w->count_only) {
        fss_keyfile_writer_abort(w); /* no file: this frees */
        return FSS_OK;
    }
    put_u64(w->header + H_CHUNKS, w->chunks);
    put_u64(w->header + H_TOTAL, w->flushed);
    put_u32(w->header + H_CHECK, fss_kf_header_check(w->header));
    int e = fss_kf_pwrite_all(w->fd, w->header, sizeof w->header, 0);
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
    if ((e = fss_kf_move_noreplace(w->partial, w->path)) != 0) {
        if (e == EEXIST)
            return wfail(w, FSS_E_ARG, "key file %s appeared while the dealer ran; remove it or choose another --out",
                         w->path);
        if (e)
            return wfail(w, FSS_E_IO, "cannot rename %s to %s: %s", w->partial, w->path, strerror(e));
    }
    w->have_partial = 0;
    fss_keyfile_remove_on_signal_forget(w->signal_slot);
    w->signal_slot = -1;
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
    fss_keyfile_remove_on_signal_forget(w->signal_slot);
    if (w->buf) {
        fss_free_wiped(w->buf, WRITE_BUFFER_BYTES);
    }
    free(w->path);
    free(w->partial);
    fss_free_wiped(w, sizeof *w);
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
