/* safetensors reader; the format is in fss/safetensors.h, the header's JSON parser in
 * safetensors_header.c. */
#include "safetensors_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ST_PREAMBLE 8        /* the u64 header length */
#define ST_CHUNK (16u << 10) /* conversion buffer: tensors are read this many bytes at a time */

const fss_st_type fss_st_types[] = {
    [FSS_ST_F32] = {"F32", 4},      [FSS_ST_F64] = {"F64", 8},         [FSS_ST_F16] = {"F16", 2},
    [FSS_ST_BF16] = {"BF16", 2},    [FSS_ST_I8] = {"I8", 1},           [FSS_ST_U8] = {"U8", 1},
    [FSS_ST_I16] = {"I16", 2},      [FSS_ST_U16] = {"U16", 2},         [FSS_ST_I32] = {"I32", 4},
    [FSS_ST_U32] = {"U32", 4},      [FSS_ST_I64] = {"I64", 8},         [FSS_ST_U64] = {"U64", 8},
    [FSS_ST_BOOL] = {"BOOL", 1},    [FSS_ST_F8_E4M3] = {"F8_E4M3", 1}, [FSS_ST_F8_E5M2] = {"F8_E5M2", 1},
};
const size_t fss_st_ntypes = sizeof fss_st_types / sizeof fss_st_types[0];

const char *fss_safetensors_dtype_str(fss_safetensors_dtype dtype)
{
    return (unsigned)dtype < fss_st_ntypes ? fss_st_types[dtype].name : "?";
}

size_t fss_safetensors_dtype_size(fss_safetensors_dtype dtype)
{
    return (unsigned)dtype < fss_st_ntypes ? fss_st_types[dtype].size : 0;
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

/* ---- open -------------------------------------------------------------------------- */

static fss_status pread_all(int fd, void *buf, size_t n, uint64_t off, const char *path, char *err, size_t err_len)
{
    unsigned char *b = buf;
    while (n) {
        ssize_t r = pread(fd, b, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return fss_errorf(err, err_len, FSS_E_IO, "%s: read failed: %s", path, strerror(errno));
        if (r == 0)
            return fss_errorf(err, err_len, FSS_E_IO, "%s: the file ended early (was it changed while open?)", path);
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
                return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: tensor '%s': the shape's element count overflows",
                            st->path, t->name);
            t->count *= t->shape[d];
        }
        uint64_t isz = fss_st_types[t->dtype].size;
        if (t->count > UINT64_MAX / isz)
            return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: tensor '%s': the byte size overflows", st->path, t->name);
        t->nbytes = t->count * isz;
        if (begin > end)
            return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: tensor '%s': data_offsets [%llu, %llu] end before they begin",
                        st->path, t->name, (unsigned long long)begin, (unsigned long long)end);
        if (end > data_len)
            return fss_errorf(err, err_len, FSS_E_FORMAT,
                        "%s: tensor '%s': data_offsets [%llu, %llu] lie outside the %llu-byte data buffer", st->path,
                        t->name, (unsigned long long)begin, (unsigned long long)end, (unsigned long long)data_len);
        if (end - begin != t->nbytes)
            return fss_errorf(err, err_len, FSS_E_FORMAT,
                        "%s: tensor '%s': data_offsets span %llu bytes but %s x %llu elements need %llu", st->path,
                        t->name, (unsigned long long)(end - begin), fss_st_types[t->dtype].name,
                        (unsigned long long)t->count, (unsigned long long)t->nbytes);
        t->offset = data_start + begin;
    }
    if (st->ntensors == 0)
        return FSS_OK;
    const fss_safetensors_tensor **order = malloc(st->ntensors * sizeof *order);
    if (!order)
        return fss_errorf(err, err_len, FSS_E_NOMEM, "%s: out of memory", st->path);
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
            fss_status s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: tensors '%s' and '%s' overlap", st->path,
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
            return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: tensor name '%s' appears twice", st->path,
                        st->tensors[i].name);
    return FSS_OK;
}

fss_status fss_safetensors_open(fss_safetensors **out, const char *path, char *err, size_t err_len)
{
    if (err && err_len)
        err[0] = '\0';
    if (!out || !path)
        return fss_errorf(err, err_len, FSS_E_ARG, "fss_safetensors_open: NULL argument");
    *out = NULL;
    fss_safetensors *st = calloc(1, sizeof *st);
    size_t plen = strlen(path);
    if (!st || !(st->path = malloc(plen + 1))) {
        free(st);
        return fss_errorf(err, err_len, FSS_E_NOMEM, "%s: out of memory", path);
    }
    memcpy(st->path, path, plen + 1);
    st->fd = -1;
    fss_status s = FSS_OK;
    char *hdr = NULL;
    uint64_t *offs = NULL;
    st->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO must not block: refused below */
    if (st->fd < 0) {
        s = fss_errorf(err, err_len, FSS_E_IO, "%s: cannot open: %s", path, strerror(errno));
        goto out;
    }
    struct stat sb;
    if (fstat(st->fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        s = fss_errorf(err, err_len, FSS_E_IO, "%s: cannot stat, or not a regular file (a pipe or a device is refused)",
                       path);
        goto out;
    }
    st->file_size = (uint64_t)sb.st_size;
    if (st->file_size < ST_PREAMBLE) {
        s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: %llu bytes is too short for a safetensors file", path,
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
        s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: header length %llu runs past the end of the file (%llu bytes)",
                 path, (unsigned long long)hlen, (unsigned long long)st->file_size);
        goto out;
    }
    if (hlen > FSS_SAFETENSORS_MAX_HEADER) {
        s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: header length %llu exceeds the limit of %u bytes", path,
                 (unsigned long long)hlen, FSS_SAFETENSORS_MAX_HEADER);
        goto out;
    }
    if (hlen < 2) {
        s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: header length %llu is too short for a JSON object", path,
                 (unsigned long long)hlen);
        goto out;
    }
    hdr = malloc(hlen);
    st->pool = malloc(hlen + 1);
    if (!hdr || !st->pool) {
        s = fss_errorf(err, err_len, FSS_E_NOMEM, "%s: out of memory for a %llu-byte header", path,
                 (unsigned long long)hlen);
        goto out;
    }
    if ((s = pread_all(st->fd, hdr, hlen, ST_PREAMBLE, path, err, err_len)) != FSS_OK)
        goto out;
    if ((s = fss_st_parse_header(st, hdr, hlen, &offs, err, err_len)) != FSS_OK)
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
        return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: no tensor named '%s' (the file holds %zu tensors)", st->path,
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

/* Read elements [first, first + count) of tensor name in ST_CHUNK pieces and convert each
 * (to float if f32, else double); whole: count must be the tensor's. */
static fss_status read_convert(const fss_safetensors *st, const char *name, uint64_t first, void *dst,
                               size_t dst_count, int f32, int whole, char *err, size_t err_len)
{
    const fss_safetensors_tensor *t;
    fss_status s = fss_safetensors_get(st, name, &t, err, err_len);
    if (s != FSS_OK)
        return s;
    if (t->dtype != FSS_ST_F32 && t->dtype != FSS_ST_F64 && t->dtype != FSS_ST_F16 && t->dtype != FSS_ST_BF16)
        return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: tensor '%s' has dtype %s, which does not convert to float",
                    st->path, name, fss_st_types[t->dtype].name);
    if (whole ? (uint64_t)dst_count != t->count : first > t->count || (uint64_t)dst_count > t->count - first)
        return fss_errorf(err, err_len, FSS_E_ARG, "%s: tensor '%s' has %llu elements, the destination %zu%s", st->path,
                          name, (unsigned long long)t->count, dst_count, whole ? "" : " from an offset");
    unsigned char buf[ST_CHUNK];
    size_t isz = fss_st_types[t->dtype].size, per = ST_CHUNK / isz;
    const uint64_t base = t->offset + first * isz;
    for (uint64_t i = 0; i < dst_count; i += per) {
        size_t n = (size_t)(dst_count - i < per ? dst_count - i : per);
        if ((s = pread_all(st->fd, buf, n * isz, base + i * isz, st->path, err, err_len)) != FSS_OK)
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
    return read_convert(st, name, 0, dst, dst_count, 1, 1, err, err_len);
}

fss_status fss_safetensors_read_f32_range(const fss_safetensors *st, const char *name, uint64_t first, float *dst,
                                          size_t count, char *err, size_t err_len)
{
    return read_convert(st, name, first, dst, count, 1, 0, err, err_len);
}

fss_status fss_safetensors_read_f32_shaped(const fss_safetensors *st, const char *name, float *dst, int ndim,
                                           const size_t *shape, const char *who, char *err, size_t err_len)
{
    const fss_safetensors_tensor *t = NULL;
    fss_status s = fss_safetensors_get(st, name, &t, err, err_len);
    if (s != FSS_OK)
        return s;
    int same = t->ndim == ndim;
    for (int d = 0; same && d < ndim; d++)
        same = t->shape[d] == shape[d];
    if (!same) {
        char got[160] = "", want[160] = "";
        for (int d = 0, a = 0, b = 0; d < FSS_SAFETENSORS_MAX_DIMS; d++) {
            if (d < t->ndim && a >= 0 && (size_t)a < sizeof got)
                a += snprintf(got + a, sizeof got - (size_t)a, "%s%llu", d ? ", " : "", (unsigned long long)t->shape[d]);
            if (d < ndim && b >= 0 && (size_t)b < sizeof want)
                b += snprintf(want + b, sizeof want - (size_t)b, "%s%zu", d ? ", " : "", shape[d]);
        }
        return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: tensor %s has shape [%s]; %s takes [%s]", st->path, name, got,
                          who, want);
    }
    return fss_safetensors_read_f32(st, name, dst, (size_t)t->count, err, err_len);
}

fss_status fss_safetensors_read_f64(const fss_safetensors *st, const char *name, double *dst, size_t dst_count,
                                    char *err, size_t err_len)
{
    return read_convert(st, name, 0, dst, dst_count, 0, 1, err, err_len);
}

fss_status fss_safetensors_read_raw(const fss_safetensors *st, const char *name, void *dst, size_t dst_bytes,
                                    char *err, size_t err_len)
{
    const fss_safetensors_tensor *t;
    fss_status s = fss_safetensors_get(st, name, &t, err, err_len);
    if (s != FSS_OK)
        return s;
    if ((uint64_t)dst_bytes != t->nbytes)
        return fss_errorf(err, err_len, FSS_E_ARG, "%s: tensor '%s' has %llu bytes, the destination %zu", st->path, name,
                    (unsigned long long)t->nbytes, dst_bytes);
    return pread_all(st->fd, dst, dst_bytes, t->offset, st->path, err, err_len);
}
