/* safetensors reader; the format is in fss/safetensors.h. The JSON parser below accepts
 * exactly the subset the format uses (objects, strings, non-negative integers, arrays
 * of them) and refuses everything else, so a malformed header cannot reach the data. */
#include "io_err.h"
#include "fss/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "fss safetensors: the reader assumes a little-endian host"
#endif

#define ST_PREAMBLE 8        /* the u64 header length */
#define ST_CHUNK (16u << 10) /* conversion buffer: tensors are read this many bytes at a time */

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


static const struct {
    const char *name;
    size_t size;
} st_types[] = {
    [FSS_ST_F32] = {"F32", 4},      [FSS_ST_F64] = {"F64", 8},         [FSS_ST_F16] = {"F16", 2},
    [FSS_ST_BF16] = {"BF16", 2},    [FSS_ST_I8] = {"I8", 1},           [FSS_ST_U8] = {"U8", 1},
    [FSS_ST_I16] = {"I16", 2},      [FSS_ST_U16] = {"U16", 2},         [FSS_ST_I32] = {"I32", 4},
    [FSS_ST_U32] = {"U32", 4},      [FSS_ST_I64] = {"I64", 8},         [FSS_ST_U64] = {"U64", 8},
    [FSS_ST_BOOL] = {"BOOL", 1},    [FSS_ST_F8_E4M3] = {"F8_E4M3", 1}, [FSS_ST_F8_E5M2] = {"F8_E5M2", 1},
};
#define ST_NTYPES (sizeof st_types / sizeof st_types[0])

const char *fss_safetensors_dtype_str(fss_safetensors_dtype dtype)
{
    return (unsigned)dtype < ST_NTYPES ? st_types[dtype].name : "?";
}

size_t fss_safetensors_dtype_size(fss_safetensors_dtype dtype)
{
    return (unsigned)dtype < ST_NTYPES ? st_types[dtype].size : 0;
}

float fss_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu, bits;
    float f;
    if (e == 0) { /* zero or subnormal: m * 2^-24, exact in float */
        f = (float)m * 5.9604644775390625e-08f;
        return sign ? -f : f;
    }
    if (e == 31)
        bits = sign | 0x7f800000u | (m << 13); /* inf or NaN, payload kept */
    else
        bits = sign | ((e + 127 - 15) << 23) | (m << 13);
    memcpy(&f, &bits, sizeof f);
    return f;
}

float fss_bf16_to_f32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* ---- JSON -------------------------------------------------------------------------- */

typedef struct json {
    const char *start, *p, *end;
    const char *path;
    char *err;
    size_t err_len;
    char *pool; /* decoded strings go here; never longer than their encoding */
    size_t pool_used;
} json;

static fss_status jbad(json *j, const char *what)
{
    return fss_io_fail(j->err, j->err_len, FSS_E_FORMAT, "%s: malformed safetensors header: %s at byte %td of the JSON",
                j->path, what, j->p - j->start);
}

static void jws(json *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static int jeat(json *j, char c)
{
    jws(j);
    if (j->p < j->end && *j->p == c) {
        j->p++;
        return 1;
    }
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int jhex4(json *j, uint32_t *u)
{
    if (j->end - j->p < 4)
        return 0;
    *u = 0;
    for (int i = 0; i < 4; i++) {
        int v = hexval(j->p[i]);
        if (v < 0)
            return 0;
        *u = *u << 4 | (uint32_t)v;
    }
    j->p += 4;
    return 1;
}

/* A JSON string, decoded into the pool; \u0000 is refused (names are C strings). */
static fss_status jstring(json *j, const char **out)
{
    jws(j);
    if (j->p >= j->end || *j->p != '"')
        return jbad(j, "expected a string");
    j->p++;
    char *o = j->pool + j->pool_used, *o0 = o;
    for (;;) {
        if (j->p >= j->end)
            return jbad(j, "unterminated string");
        unsigned char c = (unsigned char)*j->p++;
        if (c == '"')
            break;
        if (c < 0x20)
            return jbad(j, "control character in a string");
        if (c != '\\') {
            *o++ = (char)c;
            continue;
        }
        if (j->p >= j->end)
            return jbad(j, "unterminated string");
        c = (unsigned char)*j->p++;
        uint32_t u;
        switch (c) {
        case '"': *o++ = '"'; continue;
        case '\\': *o++ = '\\'; continue;
        case '/': *o++ = '/'; continue;
        case 'b': *o++ = '\b'; continue;
        case 'f': *o++ = '\f'; continue;
        case 'n': *o++ = '\n'; continue;
        case 'r': *o++ = '\r'; continue;
        case 't': *o++ = '\t'; continue;
        case 'u': break;
        default: return jbad(j, "bad escape in a string");
        }
        if (!jhex4(j, &u))
            return jbad(j, "bad \\u escape");
        if (u >= 0xd800 && u < 0xdc00) { /* a high surrogate needs its low half */
            uint32_t lo;
            if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u')
                return jbad(j, "unpaired surrogate in a \\u escape");
            j->p += 2;
            if (!jhex4(j, &lo) || lo < 0xdc00 || lo >= 0xe000)
                return jbad(j, "unpaired surrogate in a \\u escape");
            u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
        } else if (u >= 0xdc00 && u < 0xe000) {
            return jbad(j, "unpaired surrogate in a \\u escape");
        }
        if (u == 0)
            return jbad(j, "\\u0000 in a string");
        /* UTF-8: at most 3 bytes for a 6-byte escape, 4 for a 12-byte pair. */
        if (u < 0x80) {
            *o++ = (char)u;
        } else if (u < 0x800) {
            *o++ = (char)(0xc0 | u >> 6);
            *o++ = (char)(0x80 | (u & 0x3f));
        } else if (u < 0x10000) {
            *o++ = (char)(0xe0 | u >> 12);
            *o++ = (char)(0x80 | ((u >> 6) & 0x3f));
            *o++ = (char)(0x80 | (u & 0x3f));
        } else {
            *o++ = (char)(0xf0 | u >> 18);
            *o++ = (char)(0x80 | ((u >> 12) & 0x3f));
            *o++ = (char)(0x80 | ((u >> 6) & 0x3f));
            *o++ = (char)(0x80 | (u & 0x3f));
        }
    }
    *o++ = '\0';
    j->pool_used += (size_t)(o - o0);
    *out = o0;
    return FSS_OK;
}

/* A non-negative JSON integer: no sign, fraction, exponent or leading zero. */
static fss_status juint(json *j, uint64_t *v)
{
    jws(j);
    if (j->p >= j->end || *j->p < '0' || *j->p > '9')
        return jbad(j, "expected a non-negative integer");
    if (*j->p == '0' && j->end - j->p > 1 && j->p[1] >= '0' && j->p[1] <= '9')
        return jbad(j, "integer with a leading zero");
    *v = 0;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
        unsigned d = (unsigned)(*j->p - '0');
        if (*v > (UINT64_MAX - d) / 10)
            return jbad(j, "integer too large");
        *v = *v * 10 + d;
        j->p++;
    }
    if (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E'))
        return jbad(j, "expected an integer, not a fraction");
    return FSS_OK;
}

/* [a, b, ...] of at most max non-negative integers. */
static fss_status juints(json *j, uint64_t *v, int max, int *n, const char *what)
{
    fss_status s;
    if (!jeat(j, '['))
        return jbad(j, what);
    *n = 0;
    if (jeat(j, ']'))
        return FSS_OK;
    for (;;) {
        if (*n == max)
            return jbad(j, "array too long");
        if ((s = juint(j, &v[*n])) != FSS_OK)
            return s;
        (*n)++;
        if (jeat(j, ']'))
            return FSS_OK;
        if (!jeat(j, ','))
            return jbad(j, "expected ',' or ']' in an array");
    }
}

/* {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]} */
static fss_status jtensor(json *j, fss_safetensors_tensor *t, uint64_t off[2])
{
    fss_status s;
    int have_dtype = 0, have_shape = 0, have_off = 0;
    if (!jeat(j, '{'))
        return jbad(j, "a tensor entry is not an object");
    if (jeat(j, '}'))
        return jbad(j, "empty tensor entry");
    for (;;) {
        const char *key;
        if ((s = jstring(j, &key)) != FSS_OK)
            return s;
        if (!jeat(j, ':'))
            return jbad(j, "expected ':'");
        if (strcmp(key, "dtype") == 0 && !have_dtype) {
            const char *d;
            if ((s = jstring(j, &d)) != FSS_OK)
                return s;
            size_t i = 0;
            while (i < ST_NTYPES && strcmp(st_types[i].name, d) != 0)
                i++;
            if (i == ST_NTYPES)
                return fss_io_fail(j->err, j->err_len, FSS_E_FORMAT, "%s: tensor '%s' has unknown dtype '%.32s'", j->path,
                            t->name, d);
            t->dtype = (fss_safetensors_dtype)i;
            have_dtype = 1;
        } else if (strcmp(key, "shape") == 0 && !have_shape) {
            if ((s = juints(j, t->shape, FSS_SAFETENSORS_MAX_DIMS, &t->ndim, "'shape' is not an array")) != FSS_OK)
                return s;
            have_shape = 1;
        } else if (strcmp(key, "data_offsets") == 0 && !have_off) {
            int n;
            if ((s = juints(j, off, 2, &n, "'data_offsets' is not an array")) != FSS_OK)
                return s;
            if (n != 2)
                return jbad(j, "'data_offsets' does not hold two integers");
            have_off = 1;
        } else {
            return fss_io_fail(j->err, j->err_len, FSS_E_FORMAT, "%s: tensor '%s' has an unexpected or repeated field '%.32s'",
                        j->path, t->name, key);
        }
        if (jeat(j, '}'))
            break;
        if (!jeat(j, ','))
            return jbad(j, "expected ',' or '}' in a tensor entry");
    }
    if (!have_dtype || !have_shape || !have_off)
        return fss_io_fail(j->err, j->err_len, FSS_E_FORMAT, "%s: tensor '%s' lacks '%s'", j->path, t->name,
                    !have_dtype ? "dtype" : !have_shape ? "shape" : "data_offsets");
    return FSS_OK;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 1;
    size_t c = *cap ? *cap * 2 : 16;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q)
        return 0;
    *p = q;
    *cap = c;
    return 1;
}

/* The whole header: fills st->tensors (with begin/end in off) and st->meta. */
static fss_status jheader(json *j, fss_safetensors *st, uint64_t **offs)
{
    fss_status s;
    size_t tcap = 0, ocap = 0, mcap = 0;
    int have_meta = 0;
    if (!jeat(j, '{'))
        return jbad(j, "the header is not a JSON object");
    if (!jeat(j, '}')) {
        for (;;) {
            const char *key;
            if ((s = jstring(j, &key)) != FSS_OK)
                return s;
            if (!jeat(j, ':'))
                return jbad(j, "expected ':'");
            if (strcmp(key, "__metadata__") == 0) {
                if (have_meta)
                    return jbad(j, "repeated \"__metadata__\"");
                have_meta = 1;
                if (!jeat(j, '{'))
                    return jbad(j, "\"__metadata__\" is not an object");
                while (!jeat(j, '}')) {
                    if (!grow((void **)&st->meta, &mcap, 2 * st->nmeta + 2, sizeof *st->meta))
                        return fss_io_fail(j->err, j->err_len, FSS_E_NOMEM, "%s: out of memory", j->path);
                    if ((s = jstring(j, &st->meta[2 * st->nmeta])) != FSS_OK)
                        return s;
                    if (!jeat(j, ':'))
                        return jbad(j, "expected ':'");
                    jws(j);
                    if (j->p < j->end && *j->p != '"')
                        return jbad(j, "a \"__metadata__\" value is not a string");
                    if ((s = jstring(j, &st->meta[2 * st->nmeta + 1])) != FSS_OK)
                        return s;
                    st->nmeta++;
                    if (jeat(j, '}'))
                        break;
                    if (!jeat(j, ','))
                        return jbad(j, "expected ',' or '}' in \"__metadata__\"");
                }
            } else {
                if (!grow((void **)&st->tensors, &tcap, st->ntensors + 1, sizeof *st->tensors) ||
                    !grow((void **)offs, &ocap, 2 * st->ntensors + 2, sizeof **offs))
                    return fss_io_fail(j->err, j->err_len, FSS_E_NOMEM, "%s: out of memory", j->path);
                fss_safetensors_tensor *t = &st->tensors[st->ntensors];
                memset(t, 0, sizeof *t);
                t->name = key;
                if ((s = jtensor(j, t, *offs + 2 * st->ntensors)) != FSS_OK)
                    return s;
                st->ntensors++;
            }
            if (jeat(j, '}'))
                break;
            if (!jeat(j, ','))
                return jbad(j, "expected ',' or '}' after an entry");
        }
    }
    jws(j); /* writers pad the header with spaces */
    if (j->p != j->end)
        return jbad(j, "trailing characters after the JSON object");
    return FSS_OK;
}

/* ---- open -------------------------------------------------------------------------- */

static fss_status pread_all(int fd, void *buf, size_t n, uint64_t off, const char *path, char *err, size_t err_len)
{
    unsigned char *b = buf;
    while (n) {
        ssize_t r = pread(fd, b, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return fss_io_fail(err, err_len, FSS_E_IO, "%s: read failed: %s", path, strerror(errno));
        if (r == 0)
            return fss_io_fail(err, err_len, FSS_E_IO, "%s: the file ended early (was it changed while open?)", path);
        b += r;
        off += (uint64_t)r;
        n -= (size_t)r;
    }
    return FSS_OK;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const fss_safetensors_tensor *)a)->name, ((const fss_safetensors_tensor *)b)->name);
}

static int by_offset(const void *a, const void *b)
{
    const fss_safetensors_tensor *x = *(const fss_safetensors_tensor *const *)a;
    const fss_safetensors_tensor *y = *(const fss_safetensors_tensor *const *)b;
    if (x->offset != y->offset)
        return x->offset < y->offset ? -1 : 1;
    return (x->nbytes > y->nbytes) - (x->nbytes < y->nbytes);
}

/* Sizes, ranges, overlaps and duplicate names. */
static fss_status check_tensors(fss_safetensors *st, const uint64_t *offs, uint64_t data_start, char *err,
                                size_t err_len)
{
    uint64_t data_len = st->file_size - data_start;
    for (size_t i = 0; i < st->ntensors; i++) {
        fss_safetensors_tensor *t = &st->tensors[i];
        uint64_t begin = offs[2 * i], end = offs[2 * i + 1];
        t->count = 1;
        for (int d = 0; d < t->ndim; d++) {
            if (t->shape[d] && t->count > UINT64_MAX / t->shape[d])
                return fss_io_fail(err, err_len, FSS_E_FORMAT, "%s: tensor '%s': the shape's element count overflows",
                            st->path, t->name);
            t->count *= t->shape[d];
        }
        uint64_t isz = st_types[t->dtype].size;
        if (t->count > UINT64_MAX / isz)
            return fss_io_fail(err, err_len, FSS_E_FORMAT, "%s: tensor '%s': the byte size overflows", st->path, t->name);
        t->nbytes = t->count * isz;
        if (begin > end)
            return fss_io_fail(err, err_len, FSS_E_FORMAT, "%s: tensor '%s': data_offsets [%llu, %llu] end before they begin",
                        st->path, t->name, (unsigned long long)begin, (unsigned long long)end);
        if (end > data_len)
            return fss_io_fail(err, err_len, FSS_E_FORMAT,
                        "%s: tensor '%s': data_offsets [%llu, %llu] lie outside the %llu-byte data buffer", st->path,
                        t->name, (unsigned long long)begin, (unsigned long long)end, (unsigned long long)data_len);
        if (end - begin != t->nbytes)
            return fss_io_fail(err, err_len, FSS_E_FORMAT,
                        "%s: tensor '%s': data_offsets span %llu bytes but %s x %llu elements need %llu", st->path,
                        t->name, (unsigned long long)(end - begin), st_types[t->dtype].name,
                        (unsigned long long)t->count, (unsigned long long)t->nbytes);
        t->offset = data_start + begin;
    }
    if (st->ntensors == 0)
        return FSS_OK;
    const fss_safetensors_tensor **order = malloc(st->ntensors * sizeof *order);
    if (!order)
        return fss_io_fail(err, err_len, FSS_E_NOMEM, "%s: out of memory", st->path);
    for (size_t i = 0; i < st->ntensors; i++)
        order[i] = &st->tensors[i];
    qsort(order, st->ntensors, sizeof *order, by_offset);
    uint64_t reach = 0; /* end of the furthest nonempty range so far */
    const fss_safetensors_tensor *reacher = NULL;
    for (size_t i = 0; i < st->ntensors; i++) {
        const fss_safetensors_tensor *t = order[i];
        if (t->nbytes == 0)
            continue;
        if (reacher && t->offset < reach) {
            fss_status s = fss_io_fail(err, err_len, FSS_E_FORMAT, "%s: tensors '%s' and '%s' overlap", st->path,
                                reacher->name, t->name);
            free(order);
            return s;
        }
        reach = t->offset + t->nbytes;
        reacher = t;
    }
    free(order);
    qsort(st->tensors, st->ntensors, sizeof *st->tensors, by_name);
    for (size_t i = 1; i < st->ntensors; i++)
        if (strcmp(st->tensors[i - 1].name, st->tensors[i].name) == 0)
            return fss_io_fail(err, err_len, FSS_E_FORMAT, "%s: tensor name '%s' appears twice", st->path,
                        st->tensors[i].name);
    return FSS_OK;
}

fss_status fss_safetensors_open(fss_safetensors **out, const char *path, char *err, size_t err_len)
{
    if (err && err_len)
        err[0] = '\0';
    if (!out || !path)
        return fss_io_fail(err, err_len, FSS_E_ARG, "fss_safetensors_open: NULL argument");
    *out = NULL;
    fss_safetensors *st = calloc(1, sizeof *st);
    size_t plen = strlen(path);
    if (!st || !(st->path = malloc(plen + 1))) {
        free(st);
        return fss_io_fail(err, err_len, FSS_E_NOMEM, "%s: out of memory", path);
    }
    memcpy(st->path, path, plen + 1);
    st->fd = -1;
    fss_status s = FSS_OK;
    char *hdr = NULL;
    uint64_t *offs = NULL;
    st->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (st->fd < 0) {
        s = fss_io_fail(err, err_len, FSS_E_IO, "%s: cannot open: %s", path, strerror(errno));
        goto out;
    }
    struct stat sb;
    if (fstat(st->fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        s = fss_io_fail(err, err_len, FSS_E_IO, "%s: cannot stat, or not a regular file", path);
        goto out;
    }
    st->file_size = (uint64_t)sb.st_size;
    if (st->file_size < ST_PREAMBLE) {
        s = fss_io_fail(err, err_len, FSS_E_FORMAT, "%s: %llu bytes is too short for a safetensors file", path,
                 (unsigned long long)st->file_size);
        goto out;
    }
    unsigned char pre[ST_PREAMBLE];
    if ((s = pread_all(st->fd, pre, sizeof pre, 0, path, err, err_len)) != FSS_OK)
        goto out;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | pre[i];
    if (hlen > st->file_size - ST_PREAMBLE) {
        s = fss_io_fail(err, err_len, FSS_E_FORMAT, "%s: header length %llu runs past the end of the file (%llu bytes)",
                 path, (unsigned long long)hlen, (unsigned long long)st->file_size);
        goto out;
    }
    if (hlen > FSS_SAFETENSORS_MAX_HEADER) {
        s = fss_io_fail(err, err_len, FSS_E_FORMAT, "%s: header length %llu exceeds the limit of %u bytes", path,
                 (unsigned long long)hlen, FSS_SAFETENSORS_MAX_HEADER);
        goto out;
    }
    if (hlen < 2) {
        s = fss_io_fail(err, err_len, FSS_E_FORMAT, "%s: header length %llu is too short for a JSON object", path,
                 (unsigned long long)hlen);
        goto out;
    }
    hdr = malloc(hlen);
    st->pool = malloc(hlen + 1);
    if (!hdr || !st->pool) {
        s = fss_io_fail(err, err_len, FSS_E_NOMEM, "%s: out of memory for a %llu-byte header", path,
                 (unsigned long long)hlen);
        goto out;
    }
    if ((s = pread_all(st->fd, hdr, hlen, ST_PREAMBLE, path, err, err_len)) != FSS_OK)
        goto out;
    json j = {hdr, hdr, hdr + hlen, path, err, err_len, st->pool, 0};
    if ((s = jheader(&j, st, &offs)) != FSS_OK)
        goto out;
    s = check_tensors(st, offs, ST_PREAMBLE + hlen, err, err_len);
out:
    free(hdr);
    free(offs);
    if (s != FSS_OK) {
        fss_safetensors_close(st);
        return s;
    }
    *out = st;
    return FSS_OK;
}

void fss_safetensors_close(fss_safetensors *st)
{
    if (!st)
        return;
    if (st->fd >= 0)
        close(st->fd);
    free(st->path);
    free(st->pool);
    free(st->tensors);
    free(st->meta);
    free(st);
}

/* ---- lookups ----------------------------------------------------------------------- */

size_t fss_safetensors_count(const fss_safetensors *st) { return st->ntensors; }

const fss_safetensors_tensor *fss_safetensors_at(const fss_safetensors *st, size_t i)
{
    return i < st->ntensors ? &st->tensors[i] : NULL;
}

const fss_safetensors_tensor *fss_safetensors_find(const fss_safetensors *st, const char *name)
{
    fss_safetensors_tensor key;
    memset(&key, 0, sizeof key);
    key.name = name;
    if (!st->ntensors)
        return NULL;
    return bsearch(&key, st->tensors, st->ntensors, sizeof *st->tensors, by_name);
}

fss_status fss_safetensors_get(const fss_safetensors *st, const char *name, const fss_safetensors_tensor **t,
                               char *err, size_t err_len)
{
    *t = fss_safetensors_find(st, name);
    if (!*t)
        return fss_io_fail(err, err_len, FSS_E_FORMAT, "%s: no tensor named '%s' (the file holds %zu tensors)", st->path,
                    name, st->ntensors);
    return FSS_OK;
}

const char *fss_safetensors_metadata(const fss_safetensors *st, const char *key)
{
    for (size_t i = 0; i < st->nmeta; i++)
        if (strcmp(st->meta[2 * i], key) == 0)
            return st->meta[2 * i + 1];
    return NULL;
}

size_t fss_safetensors_metadata_count(const fss_safetensors *st) { return st->nmeta; }

void fss_safetensors_metadata_at(const fss_safetensors *st, size_t i, const char **key, const char **value)
{
    FSS_ASSERT(i < st->nmeta);
    *key = st->meta[2 * i];
    *value = st->meta[2 * i + 1];
}

const char *fss_safetensors_path(const fss_safetensors *st) { return st->path; }

/* ---- data -------------------------------------------------------------------------- */

static double elem_f64(fss_safetensors_dtype dt, const unsigned char *b)
{
    switch (dt) {
    case FSS_ST_F32: {
        float f;
        memcpy(&f, b, sizeof f);
        return f;
    }
    case FSS_ST_F64: {
        double d;
        memcpy(&d, b, sizeof d);
        return d;
    }
    case FSS_ST_F16: return fss_f16_to_f32((uint16_t)(b[0] | b[1] << 8));
    case FSS_ST_BF16: return fss_bf16_to_f32((uint16_t)(b[0] | b[1] << 8));
    default: FSS_ASSERT(0 && "dtype without a float conversion"); return 0;
    }
}

/* Read t in ST_CHUNK pieces and convert each element (to float if f32, else double). */
static fss_status read_convert(const fss_safetensors *st, const char *name, void *dst, size_t dst_count, int f32,
                               char *err, size_t err_len)
{
    const fss_safetensors_tensor *t;
    fss_status s = fss_safetensors_get(st, name, &t, err, err_len);
    if (s != FSS_OK)
        return s;
    if (t->dtype != FSS_ST_F32 && t->dtype != FSS_ST_F64 && t->dtype != FSS_ST_F16 && t->dtype != FSS_ST_BF16)
        return fss_io_fail(err, err_len, FSS_E_FORMAT, "%s: tensor '%s' has dtype %s, which does not convert to float",
                    st->path, name, st_types[t->dtype].name);
    if ((uint64_t)dst_count != t->count)
        return fss_io_fail(err, err_len, FSS_E_ARG, "%s: tensor '%s' has %llu elements, the destination %zu", st->path, name,
                    (unsigned long long)t->count, dst_count);
    unsigned char buf[ST_CHUNK];
    size_t isz = st_types[t->dtype].size, per = ST_CHUNK / isz;
    for (uint64_t i = 0; i < t->count; i += per) {
        size_t n = (size_t)(t->count - i < per ? t->count - i : per);
        if ((s = pread_all(st->fd, buf, n * isz, t->offset + i * isz, st->path, err, err_len)) != FSS_OK)
            return s;
        for (size_t k = 0; k < n; k++) {
            double v = elem_f64(t->dtype, buf + k * isz);
            if (f32)
                ((float *)dst)[i + k] = (float)v;
            else
                ((double *)dst)[i + k] = v;
        }
    }
    return FSS_OK;
}

fss_status fss_safetensors_read_f32(const fss_safetensors *st, const char *name, float *dst, size_t dst_count,
                                    char *err, size_t err_len)
{
    return read_convert(st, name, dst, dst_count, 1, err, err_len);
}

fss_status fss_safetensors_read_f64(const fss_safetensors *st, const char *name, double *dst, size_t dst_count,
                                    char *err, size_t err_len)
{
    return read_convert(st, name, dst, dst_count, 0, err, err_len);
}

fss_status fss_safetensors_read_raw(const fss_safetensors *st, const char *name, void *dst, size_t dst_bytes,
                                    char *err, size_t err_len)
{
    const fss_safetensors_tensor *t;
    fss_status s = fss_safetensors_get(st, name, &t, err, err_len);
    if (s != FSS_OK)
        return s;
    if ((uint64_t)dst_bytes != t->nbytes)
        return fss_io_fail(err, err_len, FSS_E_ARG, "%s: tensor '%s' has %llu bytes, the destination %zu", st->path, name,
                    (unsigned long long)t->nbytes, dst_bytes);
    return pread_all(st->fd, dst, dst_bytes, t->offset, st->path, err, err_len);
}
