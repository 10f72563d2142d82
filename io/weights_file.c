/* Model keys and masked weights files (fss/weights_file.h). */
#include "fss/weights_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fss/rng.h"
#include "keyfile_internal.h" /* the little-endian fields, CRC32C, the no-replace move */

static const char KEY_MAGIC[8] = {'F', 'S', 'S', 'W', 'K', 'E', 'Y', '1'};
static const char WTS_MAGIC[8] = {'F', 'S', 'S', 'M', 'W', 'T', 'S', '1'};
#define REC_HEAD 32
#define END_ID UINT64_MAX

static size_t packed_bytes(uint64_t count, int bits) { return (size_t)((count * (uint64_t)bits + 7) / 8); }

/* A new file at path, mode 0600, refused when path exists. */
static FILE *create_excl(const char *path, char *err, size_t len, fss_status *st)
{
    int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) {
        *st = fss_errorf(err, len, errno == EEXIST ? FSS_E_ARG : FSS_E_IO, "cannot create %s: %s%s", path,
                         strerror(errno), errno == EEXIST ? " (remove it or choose another name)" : "");
        return NULL;
    }
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        *st = fss_errorf(err, len, FSS_E_IO, "cannot open %s: %s", path, strerror(errno));
        close(fd);
    }
    return f;
}

/* magic | id | [key] | L | desc | CRC: the common head of both formats, into buf. */
static size_t head(uint8_t *buf, const char magic[8], const uint8_t *id, const uint8_t *key, const char *desc)
{
    size_t n = 0, L = strlen(desc);
    memcpy(buf, magic, 8), n = 8;
    memcpy(buf + n, id, FSS_WFILE_ID_BYTES), n += FSS_WFILE_ID_BYTES;
    if (key)
        memcpy(buf + n, key, 16), n += 16;
    put_u32(buf + n, (uint32_t)L), n += 4;
    memcpy(buf + n, desc, L), n += L;
    put_u32(buf + n, fss_crc32c(0, buf, n));
    return n + 4;
}

/* Reads and checks a head written by head(): id, key (when key) and desc. */
static fss_status read_head(FILE *f, const char *path, const char magic[8], uint8_t *id, uint8_t *key, char *desc,
                            char *err, size_t len)
{
    uint8_t buf[8 + FSS_WFILE_ID_BYTES + 16 + 4 + FSS_WFILE_DESC_MAX + 4];
    const size_t fixed = 8 + FSS_WFILE_ID_BYTES + (key ? 16 : 0) + 4;
    if (fread(buf, 1, fixed, f) != fixed || memcmp(buf, magic, 8)) {
        fss_memzero(buf, sizeof buf);
        return fss_errorf(err, len, FSS_E_FORMAT, "%s is not %s (or is truncated)", path,
                          key ? "a model key file from dealer --setup" : "a masked weights file from a setup run");
    }
    const uint32_t L = get_u32(buf + fixed - 4);
    if (L > FSS_WFILE_DESC_MAX || fread(buf + fixed, 1, L + 4, f) != L + 4 ||
        get_u32(buf + fixed + L) != fss_crc32c(0, buf, fixed + L)) {
        fss_memzero(buf, sizeof buf);
        return fss_errorf(err, len, FSS_E_FORMAT, "%s is damaged or truncated (its header does not check)", path);
    }
    memcpy(id, buf + 8, FSS_WFILE_ID_BYTES);
    if (key)
        memcpy(key, buf + 8 + FSS_WFILE_ID_BYTES, 16);
    memcpy(desc, buf + fixed, L);
    desc[L] = 0;
    fss_memzero(buf, sizeof buf);
    return FSS_OK;
}

/* ---- model keys ------------------------------------------------------------------------ */

fss_status fss_model_key_create(fss_model_key *k, const char *path, const char *desc, char *err, size_t len)
{
    memset(k, 0, sizeof *k);
    if (strlen(desc) > FSS_WFILE_DESC_MAX)
        return fss_errorf(err, len, FSS_E_ARG, "model description too long");
    fss_rng *rng = NULL;
    fss_status s = fss_rng_new_os(&rng);
    if (s == FSS_OK && (s = fss_rng_bytes(rng, k->id, sizeof k->id)) == FSS_OK)
        s = fss_rng_bytes(rng, k->key, sizeof k->key);
    fss_rng_free(rng);
    if (s != FSS_OK)
        return fss_errorf(err, len, s, "the OS random source failed");
    snprintf(k->desc, sizeof k->desc, "%s", desc);
    FILE *f = create_excl(path, err, len, &s);
    if (!f)
        return s;
    uint8_t buf[8 + FSS_WFILE_ID_BYTES + 16 + 4 + FSS_WFILE_DESC_MAX + 4];
    const size_t n = head(buf, KEY_MAGIC, k->id, k->key, desc);
    int bad = fwrite(buf, 1, n, f) != n || fflush(f) != 0 || fsync(fileno(f)) != 0;
    fss_memzero(buf, sizeof buf);
    bad |= fclose(f) != 0;
    if (bad) {
        unlink(path);
        return fss_errorf(err, len, FSS_E_IO, "cannot write %s: %s", path, strerror(errno));
    }
    return FSS_OK;
}

fss_status fss_model_key_read(fss_model_key *k, const char *path, char *err, size_t len)
{
    memset(k, 0, sizeof *k);
    FILE *f = fopen(path, "rb");
    if (!f)
        return fss_errorf(err, len, FSS_E_IO, "cannot open model key %s: %s", path, strerror(errno));
    fss_status s = read_head(f, path, KEY_MAGIC, k->id, k->key, k->desc, err, len);
    fclose(f);
    return s;
}

void fss_model_key_wipe(fss_model_key *k) { fss_memzero(k, sizeof *k); }

/* ---- masked weights files -------------------------------------------------------------- */

typedef struct wrec {
    uint64_t id, count, at; /* at: the data's offset */
    int bits;
    uint32_t crc;
} wrec;

struct fss_wfile {
    FILE *f;
    int writing, keep; /* keep: the partial file is whole, only its move failed */
    uint32_t heads;    /* writer: the CRC32C of the record headers so far */
    char *path, *partial;
    uint8_t id[FSS_WFILE_ID_BYTES];
    char desc[FSS_WFILE_DESC_MAX + 1];
    wrec *rec;
    size_t n, cap;
};

static fss_wfile *wfile_new(const char *path)
{
    fss_wfile *w = (fss_wfile *)calloc(1, sizeof *w);
    if (!w)
        return NULL;
    const size_t pl = strlen(path);
    w->path = strdup(path);
    w->partial = (char *)malloc(pl + sizeof ".partial");
    if (!w->path || !w->partial) {
        fss_wfile_close(w);
        return NULL;
    }
    snprintf(w->partial, pl + sizeof ".partial", "%s.partial", path);
    return w;
}

fss_status fss_wfile_create(fss_wfile **out, const char *path, const uint8_t id[FSS_WFILE_ID_BYTES], const char *desc,
                            char *err, size_t len)
{
    *out = NULL;
    struct stat sb;
    if (lstat(path, &sb) == 0)
        return fss_errorf(err, len, FSS_E_ARG, "%s exists: remove it or choose another name", path);
    if (strlen(desc) > FSS_WFILE_DESC_MAX)
        return fss_errorf(err, len, FSS_E_ARG, "model description too long");
    fss_wfile *w = wfile_new(path);
    if (!w)
        return fss_errorf(err, len, FSS_E_NOMEM, "out of memory");
    fss_status s = FSS_OK;
    if (!(w->f = create_excl(w->partial, err, len, &s))) {
        fss_wfile_close(w);
        return s;
    }
    w->writing = 1;
    memcpy(w->id, id, FSS_WFILE_ID_BYTES);
    uint8_t buf[8 + FSS_WFILE_ID_BYTES + 4 + FSS_WFILE_DESC_MAX + 4];
    const size_t n = head(buf, WTS_MAGIC, id, NULL, desc);
    if (fwrite(buf, 1, n, w->f) != n) {
        s = fss_errorf(err, len, FSS_E_IO, "cannot write %s: %s", w->partial, strerror(errno));
        fss_wfile_close(w);
        return s;
    }
    *out = w;
    return FSS_OK;
}

fss_status fss_wfile_put(fss_wfile *w, uint64_t id, uint64_t count, int bits, const uint8_t *packed, char *err,
                         size_t len)
{
    if (!w->writing || bits < 1 || bits > 64)
        return fss_errorf(err, len, FSS_E_ARG, "%s: not a file being written, or %d bits", w->path, bits);
    const size_t nb = packed_bytes(count, bits);
    uint8_t h[REC_HEAD] = {0};
    put_u64(h, id);
    put_u64(h + 8, count);
    put_u32(h + 16, (uint32_t)bits);
    put_u32(h + 20, fss_crc32c(0, packed, nb));
    put_u32(h + 24, fss_crc32c(0, h, 24));
    if (fwrite(h, 1, sizeof h, w->f) != sizeof h || fwrite(packed, 1, nb, w->f) != nb)
        return fss_errorf(err, len, FSS_E_IO, "cannot write %s: %s", w->partial, strerror(errno));
    w->heads = fss_crc32c(w->heads, h, sizeof h);
    w->n++;
    return FSS_OK;
}

fss_status fss_wfile_commit(fss_wfile *w, char *err, size_t len)
{
    uint8_t h[REC_HEAD] = {0};
    put_u64(h, END_ID);
    put_u64(h + 8, w->n);
    put_u32(h + 20, w->heads);
    put_u32(h + 24, fss_crc32c(0, h, 24));
    int bad = fwrite(h, 1, sizeof h, w->f) != sizeof h || fflush(w->f) != 0 || fsync(fileno(w->f)) != 0;
    bad |= fclose(w->f) != 0;
    w->f = NULL;
    if (bad)
        return fss_errorf(err, len, FSS_E_IO, "cannot write %s: %s", w->partial, strerror(errno));
    const int e = fss_kf_move_noreplace(w->partial, w->path);
    if (e) {
        w->keep = 1; /* the data is whole: the file stays under its partial name */
        return fss_errorf(err, len, e == EEXIST ? FSS_E_ARG : FSS_E_IO, "cannot move %s to %s: %s; the masked weights "
                          "are whole in %s", w->partial, w->path, strerror(e), w->partial);
    }
    w->writing = 0;
    fss_wfile_close(w);
    return FSS_OK;
}

fss_status fss_wfile_open(fss_wfile **out, const char *path, char *err, size_t len)
{
    *out = NULL;
    fss_wfile *r = wfile_new(path);
    if (!r)
        return fss_errorf(err, len, FSS_E_NOMEM, "out of memory");
    fss_status s = FSS_OK;
    if (!(r->f = fopen(path, "rb"))) {
        s = fss_errorf(err, len, FSS_E_IO, "cannot open masked weights %s: %s", path, strerror(errno));
    } else if ((s = read_head(r->f, path, WTS_MAGIC, r->id, NULL, r->desc, err, len)) == FSS_OK) {
        struct stat sb;
        const off_t end = fstat(fileno(r->f), &sb) == 0 ? sb.st_size : -1;
        off_t at = ftello(r->f);
        uint8_t h[REC_HEAD];
        uint32_t heads = 0;
        int ended = 0;
        if (end < 0 || at < 0)
            s = fss_errorf(err, len, FSS_E_IO, "cannot read %s: %s", path, strerror(errno));
        while (s == FSS_OK && at < end && !ended) { /* the index: each record's header, checked */
            if (r->n == r->cap) {
                size_t cap = r->cap ? 2 * r->cap : 64;
                wrec *nr = (wrec *)realloc(r->rec, cap * sizeof *nr);
                if (!nr) {
                    s = fss_errorf(err, len, FSS_E_NOMEM, "out of memory");
                    break;
                }
                r->rec = nr, r->cap = cap;
            }
            wrec *e = &r->rec[r->n];
            if (fseeko(r->f, at, SEEK_SET) != 0 || fread(h, 1, sizeof h, r->f) != sizeof h ||
                get_u32(h + 24) != fss_crc32c(0, h, 24)) {
                s = fss_errorf(err, len, FSS_E_FORMAT, "%s: record %zu is damaged or truncated", path, r->n);
                break;
            }
            e->id = get_u64(h), e->count = get_u64(h + 8), e->bits = (int)get_u32(h + 16), e->crc = get_u32(h + 20);
            e->at = (uint64_t)at + REC_HEAD;
            if (e->id == END_ID) { /* the end: the count and the headers' CRC, and nothing after */
                if (e->count != r->n || e->crc != heads || e->at != (uint64_t)end)
                    s = fss_errorf(err, len, FSS_E_FORMAT, "%s: its end record does not match its %zu records", path,
                                   r->n);
                ended = 1;
                break;
            }
            for (size_t i = 0; i < r->n && s == FSS_OK; i++)
                if (r->rec[i].id == e->id)
                    s = fss_errorf(err, len, FSS_E_FORMAT, "%s: weight %llu appears twice", path,
                                   (unsigned long long)e->id);
            heads = fss_crc32c(heads, h, sizeof h);
            if (e->bits < 1 || e->bits > 64 || e->count > ((uint64_t)1 << 40) ||
                e->at + packed_bytes(e->count, e->bits) > (uint64_t)end) {
                s = fss_errorf(err, len, FSS_E_FORMAT, "%s: record %zu (weight %llu) is truncated", path, r->n,
                               (unsigned long long)e->id);
                break;
            }
            at = (off_t)(e->at + packed_bytes(e->count, e->bits));
            r->n += s == FSS_OK;
        }
        if (s == FSS_OK && !ended)
            s = fss_errorf(err, len, FSS_E_FORMAT, "%s is truncated (it ends after %zu records without its end record: "
                           "was its setup run interrupted?)", path, r->n);
    }
    if (s != FSS_OK) {
        fss_wfile_close(r);
        return s;
    }
    *out = r;
    return FSS_OK;
}

const uint8_t *fss_wfile_id(const fss_wfile *r) { return r->id; }
const char *fss_wfile_desc(const fss_wfile *r) { return r->desc; }

fss_status fss_wfile_get(fss_wfile *r, uint64_t id, uint64_t count, int bits, uint8_t *packed, char *err, size_t len)
{
    const wrec *e = NULL;
    for (size_t i = 0; i < r->n && !e; i++)
        if (r->rec[i].id == id)
            e = &r->rec[i];
    if (!e)
        return fss_errorf(err, len, FSS_E_FORMAT, "%s has no weight %llu: was its setup run for this model (and as "
                                                  "many layers)?", r->path, (unsigned long long)id);
    if (e->count != count || e->bits != bits)
        return fss_errorf(err, len, FSS_E_FORMAT, "%s: weight %llu has %llu values of %d bits, the run wants %llu of %d",
                          r->path, (unsigned long long)id, (unsigned long long)e->count, e->bits,
                          (unsigned long long)count, bits);
    const size_t nb = packed_bytes(count, bits);
    if (fseeko(r->f, (off_t)e->at, SEEK_SET) != 0 || fread(packed, 1, nb, r->f) != nb)
        return fss_errorf(err, len, FSS_E_IO, "cannot read %s: %s", r->path, strerror(errno));
    if (fss_crc32c(0, packed, nb) != e->crc)
        return fss_errorf(err, len, FSS_E_FORMAT, "%s: weight %llu's data is damaged (its checksum differs)", r->path,
                          (unsigned long long)id);
    return FSS_OK;
}

void fss_wfile_close(fss_wfile *f)
{
    if (!f)
        return;
    if (f->f)
        fclose(f->f);
    if (f->writing && !f->keep && f->partial)
        unlink(f->partial);
    free(f->rec);
    free(f->path);
    free(f->partial);
    free(f);
}
