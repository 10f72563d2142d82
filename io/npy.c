/* NumPy .npy reader and writer; the format is in fss/npy.h. */
#include "fss/npy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "fss npy: the reader and writer assume a little-endian host"
#endif

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
/* Largest header accepted from a 2.0/3.0 file: numpy itself refuses beyond 10 000 bytes
 * unless told otherwise; 1 MiB leaves room while bounding the allocation. */
#define NPY_MAX_HEADER (1u << 20)
/* numpy pads the preamble and header to a multiple of this (format.py ARRAY_ALIGN). */
#define NPY_ALIGN 64


static const struct {
    const char *descr;
    fss_npy_dtype dtype;
    size_t size;
} npy_types[] = {
    {"<f4", FSS_NPY_F4, 4}, {"<f8", FSS_NPY_F8, 8}, {"<i8", FSS_NPY_I8, 8},
    {"<i4", FSS_NPY_I4, 4}, {"|u1", FSS_NPY_U1, 1}, {"<u1", FSS_NPY_U1, 1},
};
#define NPY_NTYPES (sizeof npy_types / sizeof npy_types[0])

size_t fss_npy_dtype_size(fss_npy_dtype dtype)
{
    for (size_t i = 0; i < NPY_NTYPES; i++)
        if (npy_types[i].dtype == dtype)
            return npy_types[i].size;
    return 0;
}

const char *fss_npy_dtype_str(fss_npy_dtype dtype)
{
    for (size_t i = 0; i < NPY_NTYPES; i++)
        if (npy_types[i].dtype == dtype)
            return npy_types[i].descr;
    return "?";
}

/* ---- header dict parser ------------------------------------------------------------
 * The header is the repr() of a Python dict with exactly the keys 'descr' (a string),
 * 'fortran_order' (True or False) and 'shape' (a tuple of non-negative ints). */

typedef struct hdr_parser {
    const char *start, *p, *end;
    const char *path;
    char *err;
    size_t err_len;
} hdr_parser;

static void hp_ws(hdr_parser *h)
{
    while (h->p < h->end && (*h->p == ' ' || *h->p == '\t' || *h->p == '\n' || *h->p == '\r'))
        h->p++;
}

static int hp_eat(hdr_parser *h, char c)
{
    hp_ws(h);
    if (h->p < h->end && *h->p == c) {
        h->p++;
        return 1;
    }
    return 0;
}

static fss_status hp_bad(hdr_parser *h, const char *what)
{
    return fss_errorf(h->err, h->err_len, FSS_E_FORMAT, "%s: malformed .npy header: %s at byte %td of the header",
                h->path, what, h->p - h->start);
}

/* A quoted string without escapes; *s and *n point into the header. */
static fss_status hp_string(hdr_parser *h, const char **s, size_t *n)
{
    hp_ws(h);
    if (h->p >= h->end || (*h->p != '\'' && *h->p != '"'))
        return hp_bad(h, "expected a quoted string");
    char q = *h->p++;
    const char *start = h->p;
    while (h->p < h->end && *h->p != q) {
        if (*h->p == '\\' || *h->p == '\n')
            return hp_bad(h, "unexpected character in a string");
        h->p++;
    }
    if (h->p >= h->end)
        return hp_bad(h, "unterminated string");
    *s = start;
    *n = (size_t)(h->p - start);
    h->p++;
    return FSS_OK;
}

static int hp_word(hdr_parser *h, const char *w)
{
    size_t n = strlen(w);
    hp_ws(h);
    if ((size_t)(h->end - h->p) >= n && memcmp(h->p, w, n) == 0) {
        h->p += n;
        return 1;
    }
    return 0;
}

static fss_status hp_shape(hdr_parser *h, fss_npy *a)
{
    if (!hp_eat(h, '('))
        return hp_bad(h, "'shape' is not a tuple");
    a->ndim = 0;
    if (hp_eat(h, ')'))
        return FSS_OK;
    for (;;) {
        hp_ws(h);
        if (h->p >= h->end || *h->p < '0' || *h->p > '9')
            return hp_bad(h, "a dimension of 'shape' is not a non-negative integer");
        uint64_t v = 0;
        while (h->p < h->end && *h->p >= '0' && *h->p <= '9') {
            unsigned d = (unsigned)(*h->p - '0');
            if (v > (SIZE_MAX - d) / 10)
                return hp_bad(h, "a dimension of 'shape' is too large");
            v = v * 10 + d;
            h->p++;
        }
        if (h->p < h->end && *h->p == 'L') /* Python 2 long literal */
            h->p++;
        if (a->ndim == FSS_NPY_MAX_DIMS)
            return fss_errorf(h->err, h->err_len, FSS_E_FORMAT, "%s: the array has more than %d dimensions",
                        h->path, FSS_NPY_MAX_DIMS);
        a->shape[a->ndim++] = (size_t)v;
        if (hp_eat(h, ')'))
            return FSS_OK;
        if (!hp_eat(h, ','))
            return hp_bad(h, "expected ',' or ')' in 'shape'");
        if (hp_eat(h, ')'))
            return FSS_OK;
    }
}

static fss_status hp_dict(hdr_parser *h, fss_npy *a)
{
    int have_descr = 0, have_fortran = 0, have_shape = 0;
    fss_status s;
    if (!hp_eat(h, '{'))
        return hp_bad(h, "the header is not a dict");
    while (!hp_eat(h, '}')) {
        const char *key;
        size_t klen;
        if ((s = hp_string(h, &key, &klen)) != FSS_OK)
            return s;
        if (!hp_eat(h, ':'))
            return hp_bad(h, "expected ':' after a key");
        if (klen == 5 && memcmp(key, "descr", 5) == 0 && !have_descr) {
            hp_ws(h);
            if (h->p < h->end && *h->p == '[')
                return fss_errorf(h->err, h->err_len, FSS_E_FORMAT,
                            "%s: structured dtypes are not supported (need one of <f4 <f8 <i8 <i4 |u1)", h->path);
            const char *d;
            size_t dlen;
            if ((s = hp_string(h, &d, &dlen)) != FSS_OK)
                return s;
            size_t i = 0;
            while (i < NPY_NTYPES && !(strlen(npy_types[i].descr) == dlen && memcmp(npy_types[i].descr, d, dlen) == 0))
                i++;
            if (i == NPY_NTYPES)
                return fss_errorf(h->err, h->err_len, FSS_E_FORMAT,
                            "%s: dtype '%.*s' is not supported (need one of <f4 <f8 <i8 <i4 |u1)", h->path,
                            (int)(dlen > 32 ? 32 : dlen), d);
            a->dtype = npy_types[i].dtype;
            have_descr = 1;
        } else if (klen == 13 && memcmp(key, "fortran_order", 13) == 0 && !have_fortran) {
            if (hp_word(h, "True"))
                return fss_errorf(h->err, h->err_len, FSS_E_FORMAT,
                            "%s: fortran_order is True; only C-order arrays are supported "
                            "(save np.ascontiguousarray(x) instead)", h->path);
            if (!hp_word(h, "False"))
                return hp_bad(h, "'fortran_order' is neither True nor False");
            have_fortran = 1;
        } else if (klen == 5 && memcmp(key, "shape", 5) == 0 && !have_shape) {
            if ((s = hp_shape(h, a)) != FSS_OK)
                return s;
            have_shape = 1;
        } else {
            return fss_errorf(h->err, h->err_len, FSS_E_FORMAT, "%s: unexpected or repeated key '%.*s' in the .npy header",
                        h->path, (int)(klen > 32 ? 32 : klen), key);
        }
        if (hp_eat(h, '}'))
            break;
        if (!hp_eat(h, ','))
            return hp_bad(h, "expected ',' or '}' after a value");
    }
    hp_ws(h);
    if (h->p != h->end)
        return hp_bad(h, "trailing characters after the dict");
    if (!have_descr || !have_fortran || !have_shape)
        return fss_errorf(h->err, h->err_len, FSS_E_FORMAT, "%s: the .npy header lacks '%s'", h->path,
                    !have_descr ? "descr" : !have_fortran ? "fortran_order" : "shape");
    return FSS_OK;
}

/* ---- read -------------------------------------------------------------------------- */

static uint32_t le16(const unsigned char *b) { return (uint32_t)b[0] | (uint32_t)b[1] << 8; }
static uint32_t le32(const unsigned char *b) { return le16(b) | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24; }

static fss_status read_exact(FILE *f, void *buf, size_t n, const char *path, const char *what, char *err,
                             size_t err_len)
{
    if (n && fread(buf, 1, n, f) != n) {
        if (ferror(f))
            return fss_errorf(err, err_len, FSS_E_IO, "%s: cannot read the %s: %s", path, what, strerror(errno));
        return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: file ends inside the %s", path, what);
    }
    return FSS_OK;
}

fss_status fss_npy_read(const char *path, fss_npy *a, char *err, size_t err_len)
{
    if (err && err_len)
        err[0] = '\0';
    if (!a || !path)
        return fss_errorf(err, err_len, FSS_E_ARG, "fss_npy_read: NULL argument");
    memset(a, 0, sizeof *a);

    /* O_NONBLOCK: a FIFO must not block the open; it is refused below (regular files
     * read the same with it) */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (!f) {
        fss_status e = fss_errorf(err, err_len, FSS_E_IO, "%s: cannot open: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return e;
    }
    fss_status s = FSS_OK;
    char *hdr = NULL;
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        s = fss_errorf(err, err_len, FSS_E_IO, "%s: cannot stat: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        s = fss_errorf(err, err_len, FSS_E_IO, "%s: not a regular file (a pipe or a device is refused)", path);
        goto out;
    }
    uint64_t fsize = (uint64_t)st.st_size;

    unsigned char pre[12];
    if ((s = read_exact(f, pre, 8, path, "preamble", err, err_len)) != FSS_OK)
        goto out;
    if (memcmp(pre, NPY_MAGIC, NPY_MAGIC_LEN) != 0) {
        s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: not a .npy file (bad magic)", path);
        goto out;
    }
    unsigned major = pre[6], minor = pre[7];
    uint64_t hlen, pre_len;
    if (major == 1 && minor == 0) {
        if ((s = read_exact(f, pre + 8, 2, path, "preamble", err, err_len)) != FSS_OK)
            goto out;
        hlen = le16(pre + 8);
        pre_len = 10;
    } else if ((major == 2 || major == 3) && minor == 0) {
        if ((s = read_exact(f, pre + 8, 4, path, "preamble", err, err_len)) != FSS_OK)
            goto out;
        hlen = le32(pre + 8);
        pre_len = 12;
    } else {
        s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: .npy format version %u.%u is not supported (1.0, 2.0, 3.0 are)",
                 path, major, minor);
        goto out;
    }
    if (hlen > NPY_MAX_HEADER || fsize < pre_len + hlen) {
        s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: header length %llu runs past the end of the file (%llu bytes)",
                 path, (unsigned long long)hlen, (unsigned long long)fsize);
        goto out;
    }
    hdr = malloc(hlen + 1);
    if (!hdr) {
        s = fss_errorf(err, err_len, FSS_E_NOMEM, "%s: out of memory for the header", path);
        goto out;
    }
    if ((s = read_exact(f, hdr, hlen, path, "header", err, err_len)) != FSS_OK)
        goto out;
    hdr[hlen] = '\0';
    hdr_parser h = {hdr, hdr, hdr + hlen, path, err, err_len};
    if ((s = hp_dict(&h, a)) != FSS_OK)
        goto out;

    size_t isz = fss_npy_dtype_size(a->dtype);
    size_t count = 1;
    for (int i = 0; i < a->ndim; i++) {
        if (a->shape[i] && count > SIZE_MAX / a->shape[i]) {
            s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: the shape's element count overflows", path);
            goto out;
        }
        count *= a->shape[i];
    }
    if (count > SIZE_MAX / isz) {
        s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: the array's byte size overflows", path);
        goto out;
    }
    uint64_t nbytes = (uint64_t)count * isz, have = fsize - pre_len - hlen; /* >= 0, checked above */
    if (have != nbytes) {
        s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: the shape needs %llu data bytes but the file holds %llu (%s)", path,
                 (unsigned long long)nbytes, (unsigned long long)have, have < nbytes ? "truncated" : "trailing bytes");
        goto out;
    }
    a->count = count;
    if (nbytes) {
        a->data = malloc(nbytes);
        if (!a->data) {
            s = fss_errorf(err, err_len, FSS_E_NOMEM, "%s: out of memory for %llu data bytes", path,
                     (unsigned long long)nbytes);
            goto out;
        }
        if ((s = read_exact(f, a->data, nbytes, path, "data", err, err_len)) != FSS_OK)
            goto out;
    }
out:
    free(hdr);
    fclose(f);
    if (s != FSS_OK)
        fss_npy_free(a);
    return s;
}

double fss_npy_get(const fss_npy *a, size_t i)
{
    FSS_ASSERT(a && i < a->count);
    switch (a->dtype) {
    case FSS_NPY_F4: return ((const float *)a->data)[i];
    case FSS_NPY_F8: return ((const double *)a->data)[i];
    case FSS_NPY_I8: return (double)((const int64_t *)a->data)[i];
    case FSS_NPY_I4: return ((const int32_t *)a->data)[i];
    case FSS_NPY_U1: return ((const uint8_t *)a->data)[i];
    }
    FSS_ASSERT(0 && "unknown npy dtype");
    return 0;
}

void fss_npy_free(fss_npy *a)
{
    if (!a)
        return;
    if (a->data) /* a party's images or outputs: private */
        fss_free_wiped(a->data, a->count * fss_npy_dtype_size(a->dtype));
    memset(a, 0, sizeof *a);
}

/* ---- write ------------------------------------------------------------------------- */

/* a then b into a temporary file beside path, mode 0600 (a party's output is private),
 * renamed over path: a failure never leaves a partial file at path. */
static fss_status write_private(const char *path, const void *a, size_t na, const void *b, size_t nb, char *err,
                                size_t err_len)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp)
        return fss_errorf(err, err_len, FSS_E_NOMEM, "%s: out of memory", path);
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp.XXXXXX", 12);
    fss_status s = FSS_OK;
    int fd = mkstemp(tmp);
    if (fd < 0) {
        s = fss_errorf(err, err_len, FSS_E_IO, "%s: cannot create a temporary file beside it: %s", path, strerror(errno));
        free(tmp);
        return s;
    }
    FILE *f = NULL;
    if (fchmod(fd, 0600) != 0 || !(f = fdopen(fd, "wb"))) { /* a party's output is private */
        s = fss_errorf(err, err_len, FSS_E_IO, "%s: cannot prepare %s: %s", path, tmp, strerror(errno));
        close(fd);
        goto fail_tmp;
    }
    if ((na && fwrite(a, 1, na, f) != na) || (nb && fwrite(b, 1, nb, f) != nb) || fflush(f) != 0 ||
        fsync(fileno(f)) != 0) {
        s = fss_errorf(err, err_len, FSS_E_IO, "%s: cannot write %s: %s", path, tmp, strerror(errno));
        fclose(f);
        goto fail_tmp;
    }
    if (fclose(f) != 0) {
        s = fss_errorf(err, err_len, FSS_E_IO, "%s: cannot close %s: %s", path, tmp, strerror(errno));
        goto fail_tmp;
    }
    if (rename(tmp, path) != 0) {
        s = fss_errorf(err, err_len, FSS_E_IO, "%s: cannot rename %s into place: %s", path, tmp, strerror(errno));
        goto fail_tmp;
    }
    free(tmp);
    return FSS_OK;
fail_tmp:
    unlink(tmp);
    free(tmp);
    return s;
}

static fss_status npy_write(const char *path, const void *data, fss_npy_dtype dtype, int ndim,
                            const size_t *shape, char *err, size_t err_len)
{
    if (err && err_len)
        err[0] = '\0';
    if (!path || ndim < 0 || ndim > FSS_NPY_MAX_DIMS || (ndim > 0 && !shape))
        return fss_errorf(err, err_len, FSS_E_ARG, "%s: fss_npy_write: bad ndim %d or NULL argument",
                    path ? path : "(null)", ndim);
    size_t isz = fss_npy_dtype_size(dtype), count = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] && count > SIZE_MAX / shape[i])
            return fss_errorf(err, err_len, FSS_E_ARG, "%s: fss_npy_write: the element count overflows", path);
        count *= shape[i];
    }
    if (count > SIZE_MAX / isz || (count && !data))
        return fss_errorf(err, err_len, FSS_E_ARG, "%s: fss_npy_write: too large or NULL data", path);

    /* {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with spaces and
     * a final '\n' so that preamble + header is a multiple of NPY_ALIGN, as numpy does. */
    char hdr[512];
    int n = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (", fss_npy_dtype_str(dtype));
    for (int i = 0; i < ndim; i++)
        n += snprintf(hdr + n, sizeof hdr - (size_t)n, "%s%zu", i ? ", " : "", shape[i]);
    n += snprintf(hdr + n, sizeof hdr - (size_t)n, "%s), }", ndim == 1 ? "," : "");
    FSS_ASSERT(n > 0 && (size_t)n < sizeof hdr - NPY_ALIGN);
    size_t total = 10 + (size_t)n + 1;
    size_t pad = (NPY_ALIGN - total % NPY_ALIGN) % NPY_ALIGN;
    memset(hdr + n, ' ', pad);
    hdr[(size_t)n + pad] = '\n';
    size_t hlen = (size_t)n + pad + 1;
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff),
                             (unsigned char)(hlen >> 8)};

    unsigned char head[10 + sizeof hdr];
    memcpy(head, pre, sizeof pre);
    memcpy(head + sizeof pre, hdr, hlen);
    return write_private(path, head, sizeof pre + hlen, data, count * isz, err, err_len);
}

fss_status fss_file_write_private(const char *path, const void *data, size_t n, char *err, size_t err_len)
{
    return write_private(path, data, n, NULL, 0, err, err_len);
}

fss_status fss_npy_check_writable(const char *path, char *err, size_t err_len)
{
    struct stat sb;
    if (!path || !*path)
        return fss_errorf(err, err_len, FSS_E_ARG, "an output needs a file name");
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
        return fss_errorf(err, err_len, FSS_E_ARG, "%s is not a regular file: give a file name for the output", path);
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp)
        return fss_errorf(err, err_len, FSS_E_NOMEM, "%s: out of memory", path);
    snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    fss_status s = FSS_OK;
    if (fd < 0)
        s = fss_errorf(err, err_len, FSS_E_IO, "cannot write the output %s: %s", path, strerror(errno));
    else
        close(fd), unlink(tmp);
    free(tmp);
    return s;
}

fss_status fss_npy_write_f32(const char *path, const float *data, int ndim, const size_t *shape, char *err,
                             size_t err_len)
{
    return npy_write(path, data, FSS_NPY_F4, ndim, shape, err, err_len);
}

fss_status fss_npy_write_i64(const char *path, const int64_t *data, int ndim, const size_t *shape, char *err,
                             size_t err_len)
{
    return npy_write(path, data, FSS_NPY_I8, ndim, shape, err, err_len);
}
