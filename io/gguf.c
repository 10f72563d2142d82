/* GGUF reader; the format and its checks are in fss/gguf.h. */
#include "fss/gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "fss gguf: the reader assumes a little-endian host"
#endif

#define GGUF_MAX_COUNT (1u << 24) /* tensors or metadata entries */
#define GGUF_MAX_NAME 1024
#define GGUF_BLOCK 32

typedef struct kv {
    const char *key;
    uint64_t klen;
    uint32_t type;
    const uint8_t *val;  /* the value (an array: its first element) */
    uint32_t etype;      /* an array's element type */
    uint64_t count;      /* an array's elements */
    const uint8_t **str; /* an array of strings: each element's length field */
} kv;

struct fss_gguf {
    char *path;
    const uint8_t *map;
    size_t size;
    const uint8_t *data; /* the data section */
    uint64_t data_size;
    kv *kvs;
    uint64_t nkv;
    fss_gguf_tensor *t;
    uint64_t nt;
};

typedef struct cur {
    const uint8_t *base, *p, *end;
    const char *path;
    char *err;
    size_t err_len;
    fss_status s;
} cur;

static int fail(cur *c, const char *what)
{
    if (c->s == FSS_OK)
        c->s = fss_errorf(c->err, c->err_len, FSS_E_FORMAT, "%s: %s (at byte %zu): not a valid GGUF file", c->path,
                          what, (size_t)(c->p - c->base));
    return 0;
}

static int take(cur *c, void *out, size_t n, const char *what)
{
    if ((size_t)(c->end - c->p) < n)
        return fail(c, what);
    memcpy(out, c->p, n);
    c->p += n;
    return 1;
}

static int str(cur *c, const char **s, uint64_t *len, uint64_t max, const char *what)
{
    if (!take(c, len, 8, what))
        return 0;
    if (*len > max || *len > (uint64_t)(c->end - c->p))
        return fail(c, what);
    *s = (const char *)c->p;
    c->p += *len;
    return 1;
}

static size_t vsize(uint32_t t)
{
    static const size_t sz[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return t < sizeof sz / sizeof sz[0] ? sz[t] : 0;
}

static int value(cur *c, kv *e)
{
    e->val = c->p;
    if (e->type == FSS_GGUF_STRING) {
        const char *s;
        uint64_t n;
        return str(c, &s, &n, UINT64_MAX, "a string value");
    }
    if (e->type != FSS_GGUF_ARRAY) {
        const size_t n = vsize(e->type);
        if (!n || (size_t)(c->end - c->p) < n)
            return fail(c, n ? "a value past the end" : "an unknown value type");
        c->p += n;
        return 1;
    }
    if (!take(c, &e->etype, 4, "an array's type") || !take(c, &e->count, 8, "an array's count"))
        return 0;
    e->val = c->p;
    if (e->etype == FSS_GGUF_STRING) {
        if (e->count > (uint64_t)(c->end - c->p) / 8 || !(e->str = (const uint8_t **)malloc((e->count ? e->count : 1) * sizeof *e->str)))
            return fail(c, "an array of strings longer than the file");
        for (uint64_t i = 0; i < e->count; i++) {
            const char *s;
            uint64_t n;
            e->str[i] = c->p;
            if (!str(c, &s, &n, UINT64_MAX, "an array's string"))
                return 0;
        }
        return 1;
    }
    const size_t n = vsize(e->etype);
    if (!n)
        return fail(c, "an array of arrays or of an unknown type");
    if (e->count > (uint64_t)(c->end - c->p) / n)
        return fail(c, "an array longer than the file");
    c->p += e->count * n;
    return 1;
}

static const kv *find_kv(const fss_gguf *g, const char *key)
{
    const size_t n = strlen(key);
    for (uint64_t i = 0; i < g->nkv; i++)
        if (g->kvs[i].klen == n && !memcmp(g->kvs[i].key, key, n))
            return &g->kvs[i];
    return NULL;
}

static int int_of(uint32_t t, const uint8_t *p, int64_t *v, uint64_t *u, int *neg)
{
    *neg = 0;
    switch (t) {
    case FSS_GGUF_U8: *u = *p; break;
    case FSS_GGUF_I8: *v = (int8_t)*p; break;
    case FSS_GGUF_U16: { uint16_t x; memcpy(&x, p, 2); *u = x; break; }
    case FSS_GGUF_I16: { int16_t x; memcpy(&x, p, 2); *v = x; break; }
    case FSS_GGUF_U32: { uint32_t x; memcpy(&x, p, 4); *u = x; break; }
    case FSS_GGUF_I32: { int32_t x; memcpy(&x, p, 4); *v = x; break; }
    case FSS_GGUF_U64: memcpy(u, p, 8); break;
    case FSS_GGUF_I64: memcpy(v, p, 8); break;
    case FSS_GGUF_BOOL: *u = *p != 0; break;
    default: return 0;
    }
    if (t == FSS_GGUF_I8 || t == FSS_GGUF_I16 || t == FSS_GGUF_I32 || t == FSS_GGUF_I64) {
        *neg = *v < 0;
        *u = (uint64_t)*v;
    } else {
        *v = (int64_t)*u;
    }
    return 1;
}

int fss_gguf_get_u64(const fss_gguf *g, const char *key, uint64_t *v)
{
    const kv *e = find_kv(g, key);
    int64_t s;
    int neg;
    return e && int_of(e->type, e->val, &s, v, &neg) && !neg;
}

int fss_gguf_get_f64(const fss_gguf *g, const char *key, double *v)
{
    const kv *e = find_kv(g, key);
    if (!e)
        return 0;
    if (e->type == FSS_GGUF_F32) {
        float f;
        memcpy(&f, e->val, 4);
        *v = f;
        return 1;
    }
    if (e->type == FSS_GGUF_F64) {
        memcpy(v, e->val, 8);
        return 1;
    }
    int64_t s;
    uint64_t u;
    int neg;
    if (!int_of(e->type, e->val, &s, &u, &neg))
        return 0;
    *v = neg ? (double)s : (double)u;
    return 1;
}

int fss_gguf_get_str(const fss_gguf *g, const char *key, const char **s, uint64_t *len)
{
    const kv *e = find_kv(g, key);
    if (!e || e->type != FSS_GGUF_STRING)
        return 0;
    memcpy(len, e->val, 8);
    *s = (const char *)e->val + 8;
    return 1;
}

int fss_gguf_get_array(const fss_gguf *g, const char *key, fss_gguf_vtype *type, uint64_t *count)
{
    const kv *e = find_kv(g, key);
    if (!e || e->type != FSS_GGUF_ARRAY)
        return 0;
    *type = (fss_gguf_vtype)e->etype, *count = e->count;
    return 1;
}

int fss_gguf_array_str(const fss_gguf *g, const char *key, uint64_t i, const char **s, uint64_t *len)
{
    const kv *e = find_kv(g, key);
    if (!e || e->type != FSS_GGUF_ARRAY || e->etype != FSS_GGUF_STRING || i >= e->count)
        return 0;
    memcpy(len, e->str[i], 8);
    *s = (const char *)e->str[i] + 8;
    return 1;
}

int fss_gguf_array_int(const fss_gguf *g, const char *key, uint64_t i, int64_t *v)
{
    const kv *e = find_kv(g, key);
    uint64_t u;
    int neg;
    return e && e->type == FSS_GGUF_ARRAY && i < e->count && int_of(e->etype, e->val + i * vsize(e->etype), v, &u, &neg);
}

/* Bytes of n elements of ggml type t (n a multiple of its block), 0: unknown type. */
static uint64_t type_bytes(uint32_t t, uint64_t n)
{
    switch (t) {
    case FSS_GGML_F32: return 4 * n;
    case FSS_GGML_F16:
    case FSS_GGML_BF16: return 2 * n;
    case FSS_GGML_Q8_0: return n / GGUF_BLOCK * 34;
    case FSS_GGML_Q4_0: return n / GGUF_BLOCK * 18;
    case FSS_GGML_Q4_1: return n / GGUF_BLOCK * 20;
    default: return 0;
    }
}

static int quantized(uint32_t t) { return t == FSS_GGML_Q8_0 || t == FSS_GGML_Q4_0 || t == FSS_GGML_Q4_1; }

static int tensors(cur *c, fss_gguf *g)
{
    for (uint64_t i = 0; i < g->nt; i++) {
        fss_gguf_tensor *t = &g->t[i];
        const char *name;
        uint64_t len;
        uint32_t nd;
        if (!str(c, &name, &len, GGUF_MAX_NAME, "a tensor's name") || !take(c, &nd, 4, "a tensor's dimensions"))
            return 0;
        char *copy = (char *)malloc(len + 1);
        if (!copy)
            return fail(c, "out of memory for a tensor's name");
        memcpy(copy, name, len);
        copy[len] = '\0';
        t->name = copy;
        if (nd < 1 || nd > 4 || strlen(copy) != len)
            return fail(c, nd < 1 || nd > 4 ? "a tensor of 0 or more than 4 dimensions" : "a NUL in a tensor's name");
        t->ndim = (int)nd, t->count = 1;
        for (uint32_t k = 0; k < nd; k++) {
            if (!take(c, &t->ne[k], 8, "a tensor's dimension"))
                return 0;
            if (!t->ne[k] || t->ne[k] > ((uint64_t)1 << 60) / t->count) /* (4 bytes each: under 2^62) */
                return fail(c, "a tensor dimension of 0 or too many elements");
            t->count *= t->ne[k];
        }
        for (int k = (int)nd; k < 4; k++)
            t->ne[k] = 1;
        if (!take(c, &t->type, 4, "a tensor's type") || !take(c, &t->offset, 8, "a tensor's offset"))
            return 0;
        if (quantized(t->type) && t->ne[0] % GGUF_BLOCK)
            return fail(c, "a quantized tensor whose rows are not whole blocks of 32");
        t->bytes = type_bytes(t->type, t->count);
        for (uint64_t j = 0; j < i; j++)
            if (!strcmp(g->t[j].name, copy))
                return fail(c, "two tensors of one name");
    }
    return 1;
}

fss_status fss_gguf_open(const char *path, fss_gguf **out, char *err, size_t err_len)
{
    *out = NULL;
    fss_gguf *g = (fss_gguf *)calloc(1, sizeof *g);
    if (!g || !(g->path = strdup(path))) {
        free(g);
        return fss_errorf(err, err_len, FSS_E_NOMEM, "%s: out of memory", path);
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        fss_status s = fss_errorf(err, err_len, FSS_E_IO, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        fss_gguf_close(g);
        return s;
    }
    g->size = (size_t)st.st_size;
    void *m = g->size ? mmap(NULL, g->size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
    close(fd);
    if (m == MAP_FAILED) {
        fss_status s = g->size ? fss_errorf(err, err_len, FSS_E_IO, "%s: cannot map it: %s", path, strerror(errno))
                               : fss_errorf(err, err_len, FSS_E_FORMAT, "%s: empty: not a GGUF file", path);
        fss_gguf_close(g);
        return s;
    }
    g->map = (const uint8_t *)m;
    cur c = {g->map, g->map, g->map + g->size, path, err, err_len, FSS_OK};
    char magic[4];
    uint32_t version = 0;
    if (take(&c, magic, 4, "the magic") && memcmp(magic, "GGUF", 4))
        fail(&c, "no GGUF magic");
    if (c.s == FSS_OK && take(&c, &version, 4, "the version") && version != 2 && version != 3)
        fail(&c, "a version other than 2 or 3");
    if (c.s == FSS_OK && take(&c, &g->nt, 8, "the tensor count") && take(&c, &g->nkv, 8, "the metadata count") &&
        (g->nt > GGUF_MAX_COUNT || g->nkv > GGUF_MAX_COUNT || g->nkv > g->size / 13 || g->nt > g->size / 32))
        fail(&c, "more tensors or metadata entries than the file holds (or than 2^24)"); /* 13, 32: their least bytes */
    if (c.s == FSS_OK && (!(g->kvs = (kv *)calloc(g->nkv + 1, sizeof *g->kvs)) ||
                          !(g->t = (fss_gguf_tensor *)calloc(g->nt + 1, sizeof *g->t))))
        fail(&c, "out of memory for the tables");
    for (uint64_t i = 0; c.s == FSS_OK && i < g->nkv; i++) {
        kv *e = &g->kvs[i];
        if (str(&c, &e->key, &e->klen, GGUF_MAX_NAME, "a metadata key") && take(&c, &e->type, 4, "a metadata type"))
            value(&c, e);
    }
    if (c.s == FSS_OK)
        tensors(&c, g);
    uint64_t align = 32;
    if (c.s == FSS_OK && find_kv(g, "general.alignment") &&
        (!fss_gguf_get_u64(g, "general.alignment", &align) || !align || align > 65536 || (align & (align - 1))))
        fail(&c, "a general.alignment that is not a power of two up to 65536");
    if (c.s == FSS_OK) {
        const uint64_t at = (uint64_t)(c.p - g->map), start = (at + align - 1) / align * align;
        if (start > g->size && g->nt) /* (a file of metadata alone may end unpadded) */
            fail(&c, "no data section");
        else if (start > g->size)
            g->data = g->map + g->size, g->data_size = 0;
        else
            g->data = g->map + start, g->data_size = g->size - start;
    }
    for (uint64_t i = 0; c.s == FSS_OK && i < g->nt; i++) {
        const fss_gguf_tensor *t = &g->t[i];
        if (t->offset % align || t->offset > g->data_size || t->bytes > g->data_size - t->offset) {
            c.p = g->data;
            fail(&c, "a tensor's data outside the file or off its alignment");
        }
    }
    if (c.s != FSS_OK) {
        fss_gguf_close(g);
        return c.s;
    }
    *out = g;
    return FSS_OK;
}

void fss_gguf_close(fss_gguf *g)
{
    if (!g)
        return;
    for (uint64_t i = 0; g->kvs && i < g->nkv; i++)
        free(g->kvs[i].str);
    for (uint64_t i = 0; g->t && i < g->nt; i++)
        free((char *)g->t[i].name);
    free(g->kvs);
    free(g->t);
    if (g->map)
        munmap((void *)g->map, g->size);
    free(g->path);
    free(g);
}

const char *fss_gguf_path(const fss_gguf *g) { return g->path; }
size_t fss_gguf_tensor_count(const fss_gguf *g) { return (size_t)g->nt; }
const fss_gguf_tensor *fss_gguf_tensor_at(const fss_gguf *g, size_t i) { return i < g->nt ? &g->t[i] : NULL; }

const fss_gguf_tensor *fss_gguf_find(const fss_gguf *g, const char *name)
{
    for (uint64_t i = 0; i < g->nt; i++)
        if (!strcmp(g->t[i].name, name))
            return &g->t[i];
    return NULL;
}

static float half(uint16_t h)
{
    const int e = h >> 10 & 31, m = h & 1023;
    const float v = e == 0 ? ldexpf((float)m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexpf((float)(m | 1024), e - 25);
    return h >> 15 ? -v : v;
}

static float bf16(uint16_t b)
{
    const uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

fss_status fss_gguf_read_f32(const fss_gguf *g, const fss_gguf_tensor *t, uint64_t first, uint64_t n, float *out,
                             char *err, size_t err_len)
{
    if (!t->bytes)
        return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: tensor %s is of ggml type %u, which this reader does not read",
                          g->path, t->name, t->type);
    if (first > t->count || n > t->count - first || (quantized(t->type) && (first % GGUF_BLOCK || n % GGUF_BLOCK)))
        return fss_errorf(err, err_len, FSS_E_ARG, "%s: elements [%llu, +%llu) of %s (%llu elements%s)", g->path,
                          (unsigned long long)first, (unsigned long long)n, t->name, (unsigned long long)t->count,
                          quantized(t->type) ? ", whole blocks of 32" : "");
    const uint8_t *p = g->data + t->offset + type_bytes(t->type, first);
    for (uint64_t i = 0; i < n;) {
        uint16_t h, h2;
        switch (t->type) {
        case FSS_GGML_F32: memcpy(&out[i], p + 4 * i, 4); i++; break;
        case FSS_GGML_F16: memcpy(&h, p + 2 * i, 2); out[i++] = half(h); break;
        case FSS_GGML_BF16: memcpy(&h, p + 2 * i, 2); out[i++] = bf16(h); break;
        case FSS_GGML_Q8_0: {
            const uint8_t *b = p + i / GGUF_BLOCK * 34;
            memcpy(&h, b, 2);
            for (int j = 0; j < GGUF_BLOCK; j++)
                out[i + (uint64_t)j] = (float)(int8_t)b[2 + j] * half(h);
            i += GGUF_BLOCK;
            break;
        }
        default: { /* Q4_0, Q4_1 */
            const int q41 = t->type == FSS_GGML_Q4_1;
            const uint8_t *b = p + i / GGUF_BLOCK * (q41 ? 20 : 18), *q = b + (q41 ? 4 : 2);
            memcpy(&h, b, 2);
            memcpy(&h2, b + 2, 2);
            const float d = half(h), m = q41 ? half(h2) : -8 * d;
            for (int j = 0; j < 16; j++) {
                out[i + (uint64_t)j] = (float)(q[j] & 15) * d + m;
                out[i + (uint64_t)j + 16] = (float)(q[j] >> 4) * d + m;
            }
            i += GGUF_BLOCK;
            break;
        }
        }
    }
    return FSS_OK;
}
