/* CSV tables of numbers (fss/csv.h). */
#include "fss/csv.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A private buffer of n bytes grown to m (m > n): a new block, the old one wiped and freed
 * (realloc would leave the old block's bytes in freed memory). NULL, the old block kept,
 * when out of memory. */
static void *grow_wiped(void *old, size_t n, size_t m)
{
    void *p = malloc(m);
    if (p && n)
        memcpy(p, old, n);
    if (p)
        fss_free_wiped(old, n);
    return p;
}

/* Where the parser is: the text left and the file's line (from 1). */
typedef struct cursor {
    const char *p, *end;
    size_t line;
} cursor;

/* One field. Its text is s[0..n), in quotes' case with each "" standing for one quote. */
typedef struct field {
    const char *s;
    size_t n;
    int quoted, last; /* last: the record ends after it */
} field;

/* The next field at c (c->p at a field's start). 0 and a message for an open quote or text
 * after a closing one. */
static int next_field(const char *name, cursor *c, field *f, char *err, size_t err_len)
{
    f->quoted = c->p < c->end && *c->p == '"';
    if (f->quoted) {
        const size_t line = c->line;
        f->s = ++c->p;
        for (;;) {
            if (c->p == c->end) {
                fss_errorf(err, err_len, FSS_E_FORMAT, "%s: line %zu: a quoted field is never closed", name, line);
                return 0;
            }
            if (*c->p == '"' && c->p + 1 < c->end && c->p[1] == '"') {
                c->p += 2;
                continue;
            }
            if (*c->p == '"')
                break;
            c->line += *c->p++ == '\n';
        }
        f->n = (size_t)(c->p - f->s);
        c->p++; /* the closing quote */
    } else {
        f->s = c->p;
        while (c->p < c->end && *c->p != ',' && *c->p != '\n' && !(*c->p == '\r' && c->p + 1 < c->end && c->p[1] == '\n'))
            c->p++;
        f->n = (size_t)(c->p - f->s);
    }
    if (c->p < c->end && *c->p == ',') {
        c->p++;
        f->last = 0;
        return 1;
    }
    if (c->p < c->end && *c->p == '\r' && c->p + 1 < c->end && c->p[1] == '\n')
        c->p++;
    if (c->p < c->end && *c->p == '\n') {
        c->p++;
        c->line++;
    } else if (c->p < c->end) {
        fss_errorf(err, err_len, FSS_E_FORMAT, "%s: line %zu: text after a quoted field's closing quote", name,
                   c->line);
        return 0;
    }
    f->last = 1;
    return 1;
}

/* The field's text with quotes undone, into a new string. */
static char *field_text(const field *f)
{
    char *t = (char *)malloc(f->n + 1);
    size_t k = 0;
    for (size_t i = 0; t && i < f->n; i++) {
        t[k++] = f->s[i];
        i += f->quoted && f->s[i] == '"'; /* "" is one quote */
    }
    if (t)
        t[k] = 0;
    return t;
}

/* A cell as a finite decimal number: [spaces] [sign] digits [. digits] [e [sign] digits]
 * [spaces]. */
static int cell_number(const field *f, double *out)
{
    const char *s = f->s, *e = f->s + f->n;
    while (s < e && (*s == ' ' || *s == '\t'))
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    char buf[128];
    const size_t n = (size_t)(e - s);
    if (!n || n >= sizeof buf)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789+-.eE", s[i]) || !s[i])
            return 0;
    memcpy(buf, s, n);
    buf[n] = 0;
    char *end = NULL;
    errno = 0;
    const double v = strtod(buf, &end);
    if (end != buf + n || !isfinite(v) || (errno == ERANGE && fabs(v) > 1.0))
        return 0;
    *out = v;
    return 1;
}

/* Empty (or only spaces). */
static int cell_empty(const field *f)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->s[i] != ' ' && f->s[i] != '\t')
            return 0;
    return 1;
}

fss_status fss_csv_parse(const char *name, const char *text, size_t len, const char *const *names, size_t ncols,
                         fss_csv *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    cursor c = {text, text + len, 1};
    if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
        c.p += 3;
    if (c.p == c.end)
        return fss_errorf(err, err_len, FSS_E_FORMAT, "%s is empty: a table needs a header row", name);
    if (ncols > FSS_CSV_MAX_COLUMNS)
        return fss_errorf(err, err_len, FSS_E_ARG, "%s: at most %d columns are read", name, FSS_CSV_MAX_COLUMNS);
    for (size_t j = 0; j < ncols; j++)
        for (size_t i = 0; i < j; i++)
            if (!strcmp(names[i], names[j]))
                return fss_errorf(err, err_len, FSS_E_ARG, "%s: column '%s' is asked for twice", name, names[j]);
    /* the header: which field each asked-for column is */
    size_t *at = (size_t *)malloc((ncols ? ncols : 1) * sizeof *at), nfields = 0;
    if (!at)
        return fss_errorf(err, err_len, FSS_E_NOMEM, "%s: out of memory", name);
    for (size_t j = 0; j < ncols; j++)
        at[j] = SIZE_MAX;
    fss_status s = FSS_OK;
    field f = {0};
    do {
        if (!next_field(name, &c, &f, err, err_len)) {
            s = FSS_E_FORMAT;
            break;
        }
        char *h = field_text(&f);
        if (!h) {
            s = fss_errorf(err, err_len, FSS_E_NOMEM, "%s: out of memory", name);
            break;
        }
        if (memchr(f.s, 0, f.n)) {
            free(h);
            s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: header field %zu holds a NUL byte", name, nfields + 1);
            break;
        }
        for (size_t j = 0; j < ncols && s == FSS_OK; j++)
            if (!strcmp(h, names[j]) && at[j] != SIZE_MAX)
                s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: the header names column '%s' twice", name, h);
            else if (!strcmp(h, names[j]))
                at[j] = nfields;
        free(h);
        nfields++;
    } while (s == FSS_OK && !f.last);
    for (size_t j = 0; s == FSS_OK && j < ncols; j++)
        if (at[j] == SIZE_MAX)
            s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: the header has no column '%s'", name, names[j]);
    /* each field's column, or SIZE_MAX for a column not asked for */
    size_t *want = s == FSS_OK ? (size_t *)malloc(nfields * sizeof *want) : NULL;
    if (s == FSS_OK && !want)
        s = fss_errorf(err, err_len, FSS_E_NOMEM, "%s: out of memory", name);
    for (size_t i = 0; want && i < nfields; i++)
        want[i] = SIZE_MAX;
    for (size_t j = 0; want && j < ncols; j++)
        want[at[j]] = j;
    size_t cap = 0;
    while (s == FSS_OK && c.p < c.end) {
        const size_t line = c.line, row = out->rows + 1;
        if (out->rows == FSS_CSV_MAX_ROWS) {
            s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s has more than %zu rows", name, FSS_CSV_MAX_ROWS);
            break;
        }
        if (out->rows == cap) {
            const size_t ncap = cap ? 2 * cap : 256;
            double *v = ncols ? (double *)grow_wiped(out->v, cap * ncols * sizeof *v, ncap * ncols * sizeof *v) : NULL;
            if (ncols && !v) {
                s = fss_errorf(err, err_len, FSS_E_NOMEM, "%s: out of memory at row %zu", name, row);
                break;
            }
            out->v = v;
            cap = ncap;
        }
        if (*c.p == '\n' || (*c.p == '\r' && c.p + 1 < c.end && c.p[1] == '\n')) {
            s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: row %zu (line %zu) is a blank line", name, row, line);
            break;
        }
        size_t k = 0;
        do {
            if (!next_field(name, &c, &f, err, err_len)) {
                s = FSS_E_FORMAT;
            } else if (k < nfields && want[k] != SIZE_MAX) {
                const char *col = names[want[k]];
                if (cell_empty(&f))
                    s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: row %zu (line %zu), column '%s': the cell is empty",
                                   name, row, line, col);
                else if (!cell_number(&f, &out->v[out->rows * ncols + want[k]]))
                    s = fss_errorf(err, err_len, FSS_E_FORMAT,
                                   "%s: row %zu (line %zu), column '%s': '%.*s' is not a finite decimal number", name,
                                   row, line, col, f.n > 40 ? 40 : (int)f.n, f.s);
            }
            k++;
        } while (s == FSS_OK && !f.last);
        if (s == FSS_OK && k != nfields)
            s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: row %zu (line %zu) has %zu field%s; the header has %zu",
                           name, row, line, k, k == 1 ? "" : "s", nfields);
        if (s == FSS_OK)
            out->rows++;
    }
    free(want);
    free(at);
    out->cols = ncols;
    if (s != FSS_OK) { /* the row that failed was part written */
        fss_free_wiped(out->v, cap * ncols * sizeof *out->v);
        memset(out, 0, sizeof *out);
    }
    return s;
}

fss_status fss_csv_read(const char *path, const char *const *names, size_t ncols, fss_csv *out, char *err,
                        size_t err_len)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return fss_errorf(err, err_len, FSS_E_IO, "cannot open %s: %s", path, strerror(errno));
    char *text = NULL;
    size_t len = 0, cap = 0;
    fss_status s = FSS_OK;
    for (;;) {
        if (len == cap) {
            const size_t ncap = cap ? 2 * cap : 65536;
            char *t = cap < ((size_t)1 << 40) ? (char *)grow_wiped(text, cap, ncap) : NULL;
            if (!t) {
                s = fss_errorf(err, err_len, FSS_E_NOMEM, "%s: out of memory reading it", path);
                break;
            }
            text = t;
            cap = ncap;
        }
        const size_t got = fread(text + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f))
                s = fss_errorf(err, err_len, FSS_E_IO, "cannot read %s: %s", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (s == FSS_OK)
        s = fss_csv_parse(path, text, len, names, ncols, out, err, err_len);
    fss_free_wiped(text, cap); /* a party's data */
    return s;
}

void fss_csv_free(fss_csv *t)
{
    if (t->v)
        fss_free_wiped(t->v, t->rows * t->cols * sizeof *t->v);
    memset(t, 0, sizeof *t);
}
