/* The key file reader (an online party): see keyfile.c and fss/keyfile.h. */
#include "keyfile_internal.h"

#include <sys/mman.h>

/* ---- Reader ---- */

/* One half of the double buffer. The read-ahead thread owns a slot while full == 0, the
 * caller while full == 1; the flag changes under the reader's mutex. */
struct slot {
    uint8_t *buf;
    size_t cap;
    uint8_t *map; /* or the payload mapped from the file (map_len bytes from a page) */
    size_t map_len;
    const uint8_t *data; /* the payload: in buf or in map */
    fss_keyfile_alloc by; /* what made buf (alloc NULL: malloc) */
    void *(*refused)(size_t, void *); /* an allocator that returned NULL here: not asked again */
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
    atomic_int read_threads; /* threads reading a chunk's parts (fss_keyfile_reader_set_threads) */
    fss_keyfile_alloc alloc; /* for new chunk buffers (under mu) */
    struct slot slot[2];
    struct slot spare; /* the read-ahead thread's: a large buffer set aside (read_chunk) */
    uint64_t next;  /* index of the next chunk to hand out */
    int held;       /* the caller holds chunk next - 1 */
    uint64_t bytes; /* chunk header and payload bytes handed out */
};

FSS_PRINTF(3, 4) static fss_status rfail(fss_keyfile_reader *r, fss_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    r->st = fss_verrorf(r->err, sizeof r->err, st, fmt, ap);
    va_end(ap);
    return st;
}

/* A part of a chunk's payload: read in pieces (polling for close between them) and its
 * CRC computed, on a thread of its own or the read-ahead thread; mapped: in buf already,
 * its CRC alone. err: an errno, or -1 when the file ended early. */
struct read_part {
    fss_keyfile_reader *r;
    uint8_t *buf;
    uint64_t off;
    size_t n;
    uint32_t crc;
    int err, stopped, mapped;
};

static void *read_part(void *arg)
{
    struct read_part *p = arg;
    uint32_t crc = 0;
    for (size_t done = 0; done < p->n;) {
        if (atomic_load(&p->r->stop)) {
            p->stopped = 1;
            return NULL;
        }
        const size_t piece = p->n - done < READ_PIECE_BYTES ? p->n - done : READ_PIECE_BYTES;
        size_t got;
        const int e = p->mapped ? 0 : fss_kf_pread_full(p->r->fd, p->buf + done, piece, p->off + done, &got);
        if (!p->mapped && (e || got < piece)) {
            p->err = e ? e : -1;
            return NULL;
        }
        crc = fss_crc32c(crc, p->buf + done, piece);
        done += piece;
    }
    p->crc = crc;
    return NULL;
}

void fss_keyfile_reader_set_threads(fss_keyfile_reader *r, int threads)
{
    atomic_store(&r->read_threads, threads < 1                              ? 1
                                   : threads > FSS_KEYFILE_MAX_READ_THREADS ? FSS_KEYFILE_MAX_READ_THREADS
                                                                            : threads);
}

/* A chunk's mapping, if it has one, undone (the file's own pages: nothing to wipe). */
static void slot_unmap(struct slot *s)
{
    if (s->map)
        munmap(s->map, s->map_len);
    s->map = NULL;
    s->map_len = 0;
}

/* Wipes and frees a slot's buffer with what made it. */
static void slot_free(struct slot *s)
{
    slot_unmap(s);
    if (!s->buf)
        return;
    fss_memzero(s->buf, s->cap);
    if (s->by.alloc)
        s->by.free(s->buf, s->cap, s->by.self);
    else
        free(s->buf);
    s->buf = NULL;
    s->cap = 0;
}

void fss_keyfile_reader_set_alloc(fss_keyfile_reader *r, fss_keyfile_alloc a)
{
    pthread_mutex_lock(&r->mu);
    r->alloc = a.alloc && a.free ? a : (fss_keyfile_alloc){0};
    pthread_mutex_unlock(&r->mu);
}

#define SPARE_FROM ((size_t)4 << 20) /* a slot's buffer this large or larger may be set aside */

/* A payload of this many bytes or more, where no allocator was asked for (the CPU backend:
 * no page-locked buffers to fill), is mapped from the file rather than read into a buffer:
 * no copy out of the page cache (GPT-2 at 32 tokens: 5-10% faster) and no buffer to fault
 * in and wipe. The file is locked (flock) and its size checked before each mapping. What
 * the copy guarded against and the mapping does not: a process that ignores the lock and
 * cuts the file short while a party runs ends the party with SIGBUS, one that rewrites it
 * in place changes bytes after their checksum, and a disk error in a page faulted in late
 * is a SIGBUS too, not a message (the dealer writes a new file and renames it: it never
 * touches a mapped one). */
#define MAP_FROM ((size_t)1 << 20)

/* Chunk payload [off, off + bytes) mapped into s (its pages faulted in now, on this
 * thread); 0 where the system refuses or the file is shorter (then it is read, and a
 * short file reported). */
static int map_payload(fss_keyfile_reader *r, struct slot *s, uint64_t off, uint64_t bytes)
{
    struct stat st;
    if (fstat(r->fd, &st) != 0 || (uint64_t)st.st_size < off + bytes)
        return 0;
    const uint64_t page = off & ~(uint64_t)4095, lead = off - page;
    void *m = mmap(NULL, (size_t)(lead + bytes), PROT_READ, MAP_SHARED | MAP_POPULATE, r->fd, (off_t)page);
    if (m == MAP_FAILED)
        return 0;
    s->map = (uint8_t *)m;
    s->map_len = (size_t)(lead + bytes);
    s->data = s->map + lead;
    return 1;
}

/* Reads chunk i, which starts at *off, into s and verifies it. Runs on the thread. */
static fss_status read_chunk(fss_keyfile_reader *r, struct slot *s, uint64_t i, uint64_t *off)
{
    const char *path = r->path;
    uint64_t total = r->info.total_bytes;
    uint8_t h[FSS_KEYFILE_CHUNK_HEADER_BYTES];
    size_t got;
    if (total - *off < sizeof h)
        return fss_errorf(s->err, ERR_BYTES, FSS_E_FORMAT,
                       "key file %s, chunk %" PRIu64 " runs past the end of the file: it is corrupted; run the "
                       "dealer again", path, i);
    int e = fss_kf_pread_full(r->fd, h, sizeof h, *off, &got);
    if (e || got < sizeof h)
        return fss_errorf(s->err, ERR_BYTES, FSS_E_IO, "reading key file %s, chunk %" PRIu64 ": %s", path, i,
                       e ? strerror(e) : "the file shrank while it was read");
    if (get_u32(h + C_HEADER_CRC) != fss_crc32c(0, h, C_HEADER_CRC) || get_u32(h + C_RESERVED) != 0)
        return fss_errorf(s->err, ERR_BYTES, FSS_E_FORMAT,
                       "key file %s, chunk %" PRIu64 " has a corrupted header (checksum): copy the file again or run "
                       "the dealer again", path, i);
    uint64_t bytes = get_u64(h + C_BYTES);
    if (bytes > FSS_KEYFILE_MAX_CHUNK_BYTES)
        return fss_errorf(s->err, ERR_BYTES, FSS_E_NOMEM,
                       "key file %s, chunk %" PRIu64 ": chunk too large (%" PRIu64 " bytes; this version reads at "
                       "most %" PRIu64 ")", path, i, bytes, FSS_KEYFILE_MAX_CHUNK_BYTES);
    *off += sizeof h;
    if (bytes > total - *off)
        return fss_errorf(s->err, ERR_BYTES, FSS_E_FORMAT,
                       "key file %s, chunk %" PRIu64 " runs past the end of the file: it is corrupted; run the "
                       "dealer again", path, i);
    if (i + 1 == r->info.chunk_count && *off + bytes != total)
        return fss_errorf(s->err, ERR_BYTES, FSS_E_FORMAT,
                       "key file %s: its last chunk ends at byte %" PRIu64 ", but the header says %" PRIu64
                       ": it is corrupted; run the dealer again", path, *off + bytes, total);
    size_t need = bytes > MIN_SLOT_BYTES ? (size_t)bytes : MIN_SLOT_BYTES;
    pthread_mutex_lock(&r->mu);
    const fss_keyfile_alloc by = r->alloc;
    pthread_mutex_unlock(&r->mu);
    slot_unmap(s); /* the last chunk's, handed back */
    const int mapped = !by.alloc && bytes >= MAP_FROM && map_payload(r, s, *off, bytes);
    /* One large buffer between the slots where one does: a small chunk sets its slot's large
     * buffer aside (the spare) and a large chunk takes it back. Slots are taken by turns, so
     * without it, where a model's largest chunks fall on both turns, each slot would keep
     * their room (resnet18-cifar: 64 MB where 34 are in use at once). */
    struct slot *sp = &r->spare;
    void *(*uses)(size_t, void *) = by.alloc != s->refused ? by.alloc : NULL; /* what this slot allocates with */
    if (sp->buf && sp->by.alloc != uses)
        slot_free(sp); /* of an allocator no longer in use */
    if (mapped) {
        /* no buffer */
    } else if ((s->cap >= SPARE_FROM && need * 4 <= s->cap && sp->cap < s->cap) || (s->cap < need && sp->cap > s->cap)) {
        const struct slot t = *s;
        s->buf = sp->buf, s->cap = sp->cap, s->by = sp->by;
        sp->buf = t.buf, sp->cap = t.cap, sp->by = t.by;
    }
    const int swap = s->by.alloc != by.alloc && by.alloc != s->refused && bytes >= PART_MIN_BYTES;
    if (!mapped && (s->cap < need || swap)) {
        /* a bigger chunk: its size in whole MiB, the old buffer (the spare's, where it was
         * larger) freed first; another allocator: the same size */
        size_t cap = s->cap < need ? (need + ((size_t)1 << 20) - 1) & ~(((size_t)1 << 20) - 1) : s->cap;
        if (cap > FSS_KEYFILE_MAX_CHUNK_BYTES)
            cap = need;
        slot_free(s); /* first: never the old and the new at once */
        fss_keyfile_alloc made = by;
        uint8_t *nb = by.alloc && by.alloc != s->refused ? (uint8_t *)by.alloc(cap, by.self) : NULL;
        if (!nb) {
            if (by.alloc)
                s->refused = by.alloc;
            made = (fss_keyfile_alloc){0};
            nb = malloc(cap);
        }
        if (!nb)
            return fss_errorf(s->err, ERR_BYTES, FSS_E_NOMEM, "out of memory reading chunk %" PRIu64 " (%" PRIu64
                           " bytes) of key file %s", i, bytes, path);
        s->buf = nb;
        s->cap = cap;
        s->by = made;
    }
    /* the payload in up to read_threads parts (of whole pages, at least PART_MIN_BYTES
     * each), read and checked apart, then their CRCs combined in order */
    const int want = atomic_load(&r->read_threads);
    size_t parts = bytes / PART_MIN_BYTES;
    parts = parts < 1 ? 1 : parts > (size_t)want ? (size_t)want : parts;
    const size_t each = (size_t)((bytes / parts + 4095) & ~(uint64_t)4095);
    struct read_part part[FSS_KEYFILE_MAX_READ_THREADS];
    pthread_t th[FSS_KEYFILE_MAX_READ_THREADS];
    int started[FSS_KEYFILE_MAX_READ_THREADS] = {0};
    for (size_t k = 0; k < parts; k++) {
        const size_t at = k * each < bytes ? k * each : (size_t)bytes;
        part[k] = (struct read_part){.r = r, .buf = mapped ? (uint8_t *)s->data + at : s->buf + at, .off = *off + at,
                                     .n = k + 1 < parts ? (each < bytes - at ? each : (size_t)bytes - at) : (size_t)bytes - at,
                                     .mapped = mapped};
        if (k && pthread_create(&th[k], NULL, read_part, &part[k]) == 0)
            started[k] = 1;
    }
    for (size_t k = 0; k < parts; k++) /* this thread's part, and any no thread could start for */
        if (!started[k])
            read_part(&part[k]);
    uint32_t crc = 0;
    int stopped = 0, err = 0;
    for (size_t k = 0; k < parts; k++) {
        if (started[k])
            pthread_join(th[k], NULL);
        stopped |= part[k].stopped;
        if (!err)
            err = part[k].err;
        crc = k ? fss_crc32c_combine(crc, part[k].crc, part[k].n) : part[k].crc;
    }
    if (stopped)
        return FSS_E_ARG; /* closing: nobody reads this status */
    if (err)
        return fss_errorf(s->err, ERR_BYTES, FSS_E_IO, "reading key file %s, chunk %" PRIu64 ": %s", path, i,
                              err > 0 ? strerror(err) : "the file shrank while it was read");
    if (crc != get_u32(h + C_PAYLOAD_CRC))
        return fss_errorf(s->err, ERR_BYTES, FSS_E_FORMAT,
                       "key file %s, chunk %" PRIu64 " is corrupted (checksum): copy the file again or run the dealer "
                       "again", path, i);
    *off += bytes;
    if (!mapped)
        s->data = s->buf;
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
        return fss_errorf(err, err_len, FSS_E_ARG, "fss_keyfile_peek_info: needs a path and an info");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fss_errorf(err, err_len, FSS_E_IO, "cannot open key file %s: %s", path, strerror(errno));
    fss_status st = fss_kf_read_header(fd, path, info, err, err_len);
    close(fd);
    return st;
}

/* The file is expected_party's and fresh: what fss_keyfile_open and the peek refuse. */
static fss_status check_party_fresh(const fss_keyfile_info *info, const char *path, int expected_party, char *err,
                                    size_t len)
{
    if (info->party != expected_party)
        return fss_errorf(err, len, FSS_E_FORMAT,
                          "key file %s is party %d's, but this is party %d: pass this party's key file", path,
                          info->party, expected_party);
    if (info->state != 0) {
        char id[2 * FSS_KEYFILE_RUN_ID_BYTES + 1];
        fss_kf_hex(id, info->run_id);
        return fss_errorf(err, len, FSS_E_FORMAT,
                          "key file %s was already used (run id %s): keys are one-time; run the dealer again", path,
                          id);
    }
    return FSS_OK;
}

fss_status fss_keyfile_peek_first(const char *path, int expected_party, uint32_t kind, void *buf, size_t cap,
                                  size_t *len, fss_keyfile_info *info, char *err, size_t err_len)
{
    fss_keyfile_info own;
    info = info ? info : &own;
    if (!path || !buf || !len)
        return fss_errorf(err, err_len, FSS_E_ARG, "fss_keyfile_peek_first: needs a path, a buffer and a length");
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO must not block: read_header refuses it */
    if (fd < 0)
        return fss_errorf(err, err_len, FSS_E_IO, "cannot open key file %s: %s%s", path, strerror(errno),
                          errno == ENOENT ? ": run the dealer, or check the path" : "");
    fss_status st = fss_kf_read_header(fd, path, info, err, err_len);
    if (st == FSS_OK)
        st = check_party_fresh(info, path, expected_party, err, err_len);
    uint8_t h[FSS_KEYFILE_CHUNK_HEADER_BYTES];
    size_t got = 0;
    if (st == FSS_OK && (info->chunk_count == 0 || fss_kf_pread_full(fd, h, sizeof h, FSS_KEYFILE_HEADER_BYTES, &got) ||
                         got < sizeof h || get_u32(h + C_HEADER_CRC) != fss_crc32c(0, h, C_HEADER_CRC)))
        st = fss_errorf(err, err_len, FSS_E_FORMAT,
                        "key file %s has no readable first chunk: it is corrupted; run the dealer again", path);
    const uint64_t bytes = st == FSS_OK ? get_u64(h + C_BYTES) : 0;
    if (st == FSS_OK && (get_u32(h + C_KIND) != kind || bytes > cap ||
                         bytes > info->total_bytes - FSS_KEYFILE_HEADER_BYTES - sizeof h))
        st = fss_errorf(err, err_len, FSS_E_FORMAT,
                        "key file %s does not begin with a run description (kind %" PRIu32 ", %" PRIu64
                        " bytes): it was written by another program or is corrupted", path, get_u32(h + C_KIND),
                        bytes);
    if (st == FSS_OK &&
        (fss_kf_pread_full(fd, buf, (size_t)bytes, FSS_KEYFILE_HEADER_BYTES + sizeof h, &got) || got < bytes ||
         fss_crc32c(0, buf, (size_t)bytes) != get_u32(h + C_PAYLOAD_CRC)))
        st = fss_errorf(err, err_len, FSS_E_FORMAT,
                        "key file %s, chunk 0 is corrupted (checksum): copy the file again or run the dealer again",
                        path);
    close(fd);
    *len = (size_t)bytes;
    if (info == &own || st != FSS_OK)
        fss_memzero(info->secret, sizeof info->secret);
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
    atomic_store(&r->read_threads, 1);
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
    fss_status st = fss_kf_read_header(r->fd, path, &r->info, r->err, sizeof r->err);
    if (st)
        return r->st = st; /* read_header wrote the message */
    if (info_out)
        *info_out = r->info;
    if ((st = check_party_fresh(&r->info, path, expected_party, r->err, sizeof r->err)) != FSS_OK)
        return r->st = st;
    uint8_t used[4];
    put_u32(used, 1);
    int e = fss_kf_pwrite_all(r->fd, used, sizeof used, H_STATE);
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
    out->data = s->data;
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
    for (int k = 0; k < 2; k++)
        slot_free(&r->slot[k]);
    slot_free(&r->spare);
    if (r->fd >= 0)
        close(r->fd); /* releases the lock */
    free(r->path);
    fss_free_wiped(r, sizeof *r);
}

const char *fss_keyfile_reader_error(const fss_keyfile_reader *r)
{
    return r ? r->err : "out of memory";
}
