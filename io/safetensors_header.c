/* The safetensors header parser: exactly the JSON subset the format uses (objects,
 * strings, non-negative integers, arrays of them); everything else is refused, so a
 * malformed header cannot reach the data. */
#include "safetensors_internal.h"

#include <stdlib.h>
#include <string.h>

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
    return fss_errorf(j->err, j->err_len, FSS_E_FORMAT, "%s: malformed safetensors header: %s at byte %td of the JSON",
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
            while (i < fss_st_ntypes && strcmp(fss_st_types[i].name, d) != 0)
                i++;
            if (i == fss_st_ntypes)
                return fss_errorf(j->err, j->err_len, FSS_E_FORMAT, "%s: tensor '%s' has unknown dtype '%.32s'", j->path,
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
            return fss_errorf(j->err, j->err_len, FSS_E_FORMAT, "%s: tensor '%s' has an unexpected or repeated field '%.32s'",
                        j->path, t->name, key);
        }
        if (jeat(j, '}'))
            break;
        if (!jeat(j, ','))
            return jbad(j, "expected ',' or '}' in a tensor entry");
    }
    if (!have_dtype || !have_shape || !have_off)
        return fss_errorf(j->err, j->err_len, FSS_E_FORMAT, "%s: tensor '%s' lacks '%s'", j->path, t->name,
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
                        return fss_errorf(j->err, j->err_len, FSS_E_NOMEM, "%s: out of memory", j->path);
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
                    return fss_errorf(j->err, j->err_len, FSS_E_NOMEM, "%s: out of memory", j->path);
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

fss_status fss_st_parse_header(fss_safetensors *st, const char *hdr, size_t len, uint64_t **offs, char *err,
                               size_t err_len)
{
    json j = {hdr, hdr, hdr + len, st->path, err, err_len, st->pool, 0};
    return jheader(&j, st, offs);
}
