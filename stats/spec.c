/* The statistics spec: public JSON, checked field by field (fss/stats.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "fss/stats.h"

static const char *const op_names[] = {"count",     "sum",       "mean",        "variance",         "std", "min",
                                       "max",       "histogram", "correlation", "linear_regression"};
#define NOPS (sizeof op_names / sizeof *op_names)

const char *fss_stat_op_name(fss_stat_op op) { return (size_t)op < NOPS ? op_names[op] : "?"; }

/* The fields an object may have (NULL-ended); the first it has of others is refused. */
static int only_fields(const char *name, const char *where, json_t *o, const char *const *allowed, char *err,
                       size_t err_len)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        size_t i = 0;
        while (allowed[i] && strcmp(allowed[i], k))
            i++;
        if (!allowed[i]) {
            fss_errorf(err, err_len, FSS_E_FORMAT, "%s: %s has a field \"%s\" the spec does not know", name, where, k);
            return 0;
        }
    }
    return 1;
}

/* A positive whole count of at most max. */
static int count_of(json_t *v, size_t max, size_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 1 || (uint64_t)json_integer_value(v) > max)
        return 0;
    *out = (size_t)json_integer_value(v);
    return 1;
}

static size_t column_index(const fss_stats_spec *sp, const char *n)
{
    for (size_t c = 0; c < sp->ncols; c++)
        if (!strcmp(sp->name[c], n))
            return c;
    return SIZE_MAX;
}

/* The column list (an array of distinct non-empty names) of party `owner` (-1: both). */
static fss_status add_columns(const char *name, json_t *list, int owner, fss_stats_spec *sp, char *err,
                              size_t err_len)
{
    if (!json_is_array(list))
        return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: \"columns\"%s must be an array of column names", name,
                          owner < 0 ? "" : owner ? "[\"1\"]" : "[\"0\"]");
    size_t i, local = 0;
    json_t *v;
    json_array_foreach(list, i, v) {
        const char *n = json_string_value(v);
        if (!n || !*n)
            return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: a column name must be a non-empty string", name);
        if (column_index(sp, n) != SIZE_MAX)
            return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: column \"%s\" is named twice", name, n);
        if (sp->ncols == FSS_STATS_MAX_COLUMNS)
            return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: more than %d columns", name, FSS_STATS_MAX_COLUMNS);
        if (!(sp->name[sp->ncols] = strdup(n)))
            return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
        sp->owner[sp->ncols] = owner;
        sp->local[sp->ncols++] = local++;
    }
    return FSS_OK;
}

static int needs_bounds(fss_stat_op op)
{
    return op != FSS_STAT_COUNT && op != FSS_STAT_HISTOGRAM && op != FSS_STAT_CORRELATION &&
           op != FSS_STAT_LINREG; /* their own checks */
}

/* The largest f with t 2^f <= 2^cap (t > 0 and finite); FSS_STATS_NO_FRAC when it falls
 * outside [-200, 200] (bounds too wide or too narrow: the parser refuses them). */
#define FSS_STATS_NO_FRAC 1000
static int frac_bits(double t, int cap)
{
    if (!(t > 0) || !isfinite(t))
        return FSS_STATS_NO_FRAC;
    int e;
    const double m = frexp(t, &e); /* t = m 2^e, m in [0.5, 1): ceil(log2 t) = e, or e - 1 at m = 0.5 */
    const int f = cap - (m == 0.5 ? e - 1 : e);
    return f < -200 || f > 200 ? FSS_STATS_NO_FRAC : f;
}

/* The fixed point of column c: the largest f with g h 2^f <= 2^cap, g = 1, sqrt(n) or n
 * (rows 0, 1, 2), or a refusal: n h and n max(|lo|, |hi|) finite (a sum adds n times the
 * middle back), f within [-200, 200]. */
static fss_status column_frac(const char *name, const char *where, const fss_stats_spec *sp, size_t c, int cap,
                              int rows, int *f, char *err, size_t err_len)
{
    const double h = (sp->hi[c] - sp->lo[c]) / 2, n = (double)sp->n, big = fmax(fabs(sp->lo[c]), fabs(sp->hi[c]));
    const double g = rows == 2 ? n : rows == 1 ? sqrt(n) : 1;
    *f = isfinite(n * big) ? frac_bits(g * h, cap) : FSS_STATS_NO_FRAC;
    if (*f == FSS_STATS_NO_FRAC)
        return fss_errorf(err, err_len, FSS_E_FORMAT,
                          "%s: %s: the bounds of \"%s\" ([%g, %g]) are too wide or too narrow for the fixed point with "
                          "%zu rows",
                          name, where, sp->name[c], sp->lo[c], sp->hi[c], sp->n);
    return FSS_OK;
}

/* A correlation's "columns": 2 to FSS_STATS_MAX_CORR distinct columns with bounds, each
 * encoded as a variance's (its integers' products keep 2 bits of headroom). */
static fss_status parse_corr(const char *name, const char *where, json_t *cols, fss_stats_spec *sp, fss_stat *st,
                             char *err, size_t err_len)
{
    const size_t k = json_is_array(cols) ? json_array_size(cols) : 0;
    if (k < 2 || k > FSS_STATS_MAX_CORR)
        return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: %s (correlation) needs \"columns\": 2 to %d column names",
                          name, where, FSS_STATS_MAX_CORR);
    if (!(st->cols = (size_t *)calloc(k, sizeof *st->cols)) || !(st->fcol = (int *)calloc(k, sizeof *st->fcol)))
        return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
    st->ncol = k;
    for (size_t j = 0; j < k; j++) {
        const char *cn = json_string_value(json_array_get(cols, j));
        const size_t c = cn ? column_index(sp, cn) : SIZE_MAX;
        if (c == SIZE_MAX)
            return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: %s (correlation): column %zu is not one of the spec's "
                              "columns", name, where, j + 1);
        for (size_t i = 0; i < j; i++)
            if (st->cols[i] == c)
                return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: %s (correlation) names \"%s\" twice", name, where,
                                  cn);
        if (!sp->bounded[c])
            return fss_errorf(err, err_len, FSS_E_FORMAT,
                              "%s: %s (correlation) needs the public bounds of \"%s\": add \"bounds\": {\"%s\": [low, "
                              "high]} (its values' limits: the fixed point is chosen from them)",
                              name, where, cn, cn);
        st->cols[j] = c;
        fss_status s = column_frac(name, where, sp, c, 30, 1, &st->fcol[j], err, err_len); /* as a variance's */
        if (s != FSS_OK)
            return s;
    }
    return FSS_OK;
}

/* One entry of "stats". */
static fss_status parse_stat(const char *name, size_t i, json_t *o, fss_stats_spec *sp, fss_stat *st, char *err,
                             size_t err_len)
{
    char where[64];
    snprintf(where, sizeof where, "statistic %zu", i + 1);
    if (!json_is_object(o))
        return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: %s must be an object", name, where);
    const char *op = json_string_value(json_object_get(o, "op"));
    if (!op)
        return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: %s has no \"op\"", name, where);
    size_t k = 0;
    while (k < NOPS && strcmp(op_names[k], op))
        k++;
    if (k == NOPS)
        return fss_errorf(err, err_len, FSS_E_FORMAT,
                          "%s: %s: unknown op \"%s\" (count, sum, mean, variance, std, min, max, histogram, "
                          "correlation, linear_regression)", name, where, op);
    st->op = (fss_stat_op)k;
    st->col = SIZE_MAX;
    static const char *const plain[] = {"op", "column", NULL}, *const spread[] = {"op", "column", "ddof", NULL},
                             *const hist[] = {"op", "column", "edges", NULL}, *const corr[] = {"op", "columns", NULL},
                             *const reg[] = {"op", "y", "x", NULL};
    const char *const *allowed = st->op == FSS_STAT_HISTOGRAM                         ? hist
                               : st->op == FSS_STAT_VARIANCE || st->op == FSS_STAT_STD ? spread
                               : st->op == FSS_STAT_CORRELATION                       ? corr
                               : st->op == FSS_STAT_LINREG                            ? reg
                                                                                       : plain;
    if (!only_fields(name, where, o, allowed, err, err_len))
        return FSS_E_FORMAT;
    if (st->op == FSS_STAT_CORRELATION)
        return parse_corr(name, where, json_object_get(o, "columns"), sp, st, err, err_len);
    if (st->op == FSS_STAT_LINREG) { /* the x's then y, as a correlation's columns */
        json_t *x = json_object_get(o, "x"), *y = json_object_get(o, "y");
        if (!json_is_array(x) || !json_array_size(x) || json_array_size(x) >= FSS_STATS_MAX_CORR || !json_is_string(y))
            return fss_errorf(err, err_len, FSS_E_FORMAT,
                              "%s: %s (linear_regression) needs \"y\": a column and \"x\": 1 to %d other columns", name,
                              where, FSS_STATS_MAX_CORR - 1);
        json_t *all = json_copy(x);
        fss_status s = all && !json_array_append(all, y) ? parse_corr(name, where, all, sp, st, err, err_len)
                                                          : fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
        json_decref(all);
        return s;
    }
    json_t *col = json_object_get(o, "column");
    if (col || st->op != FSS_STAT_COUNT) {
        const char *cn = json_string_value(col);
        if (!cn)
            return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: %s (%s) needs \"column\": a column's name", name, where,
                              op);
        if ((st->col = column_index(sp, cn)) == SIZE_MAX)
            return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: %s (%s): \"%s\" is not one of the spec's columns", name,
                              where, op, cn);
        if (needs_bounds(st->op) && !sp->bounded[st->col])
            return fss_errorf(err, err_len, FSS_E_FORMAT,
                              "%s: %s (%s of \"%s\") needs the column's public bounds: add \"bounds\": {\"%s\": [low, "
                              "high]} (its values' limits: the fixed point is chosen from them)",
                              name, where, op, cn, cn);
    }
    json_t *ddof = json_object_get(o, "ddof");
    if (ddof && (!json_is_integer(ddof) || json_integer_value(ddof) < 0 || json_integer_value(ddof) > 1))
        return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: %s: \"ddof\" is 0 (numpy's default) or 1", name, where);
    st->ddof = ddof ? (int)json_integer_value(ddof) : 0;
    if ((size_t)st->ddof >= sp->n)
        return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: %s: ddof 1 needs at least 2 rows", name, where);
    if (st->op == FSS_STAT_HISTOGRAM) {
        json_t *e = json_object_get(o, "edges");
        const size_t ne = json_is_array(e) ? json_array_size(e) : 0;
        if (ne < 2 || ne > FSS_STATS_MAX_BINS + 1)
            return fss_errorf(err, err_len, FSS_E_FORMAT,
                              "%s: %s (histogram) needs \"edges\": 2 to %d increasing numbers (the bins' limits)", name,
                              where, FSS_STATS_MAX_BINS + 1);
        if (!(st->edges = (double *)malloc(ne * sizeof *st->edges)))
            return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
        st->nedges = ne;
        for (size_t j = 0; j < ne; j++) {
            json_t *v = json_array_get(e, j);
            st->edges[j] = json_number_value(v);
            if (!json_is_number(v) || !isfinite(st->edges[j]) || (j && !(st->edges[j] > st->edges[j - 1])))
                return fss_errorf(err, err_len, FSS_E_FORMAT,
                                  "%s: %s (histogram): edge %zu must be a number greater than the one before", name,
                                  where, j + 1);
        }
    }
    /* the fixed point (fss/stats.h) */
    /* n h 2^f <= 2^60 (sums); sqrt(n) h 2^f <= 2^30 (variances: n h^2 2^2f <= 2^60); h 2^f
     * <= 2^59 (extremes) */
    const int sum = st->op == FSS_STAT_SUM || st->op == FSS_STAT_MEAN;
    const int var = st->op == FSS_STAT_VARIANCE || st->op == FSS_STAT_STD;
    if (needs_bounds(st->op))
        return column_frac(name, where, sp, st->col, sum ? 60 : var ? 30 : 59, sum ? 2 : var ? 1 : 0, &st->f, err,
                           err_len);
    return FSS_OK;
}

static fss_status parse_bounds(const char *name, json_t *b, fss_stats_spec *sp, char *err, size_t err_len)
{
    if (!b)
        return FSS_OK;
    if (!json_is_object(b))
        return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: \"bounds\" must be an object: {\"column\": [low, high]}",
                          name);
    const char *k;
    json_t *v;
    json_object_foreach(b, k, v) {
        const size_t c = column_index(sp, k);
        if (c == SIZE_MAX)
            return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: \"bounds\" names \"%s\", not one of the spec's columns",
                              name, k);
        json_t *lo = json_array_get(v, 0), *hi = json_array_get(v, 1);
        sp->lo[c] = json_number_value(lo), sp->hi[c] = json_number_value(hi);
        if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_number(lo) || !json_is_number(hi) ||
            !(sp->lo[c] < sp->hi[c]) || !isfinite(sp->hi[c] - sp->lo[c]))
            return fss_errorf(err, err_len, FSS_E_FORMAT,
                              "%s: the bounds of \"%s\" must be [low, high], two finite numbers with low < high", name,
                              k);
        sp->bounded[c] = 1;
    }
    return FSS_OK;
}

/* Where each statistic's opened words are: variances' Q, then sums, bins, maxima, minima,
 * correlations (the order fss_stats_walk opens them in). */
static void lay_out(fss_stats_spec *sp)
{
    static const fss_stat_op order[][2] = {{FSS_STAT_VARIANCE, FSS_STAT_STD}, {FSS_STAT_SUM, FSS_STAT_MEAN},
                                           {FSS_STAT_HISTOGRAM, FSS_STAT_HISTOGRAM}, {FSS_STAT_MAX, FSS_STAT_MAX},
                                           {FSS_STAT_MIN, FSS_STAT_MIN}};
    size_t at = 0;
    for (size_t g = 0; g < sizeof order / sizeof *order; g++)
        for (size_t i = 0; i < sp->nstats; i++)
            if (sp->stat[i].op == order[g][0] || sp->stat[i].op == order[g][1]) {
                sp->stat[i].at = at;
                at += sp->stat[i].op == FSS_STAT_HISTOGRAM ? sp->stat[i].nedges - 1 : 1;
            }
    for (size_t i = 0; i < sp->nstats; i++)
        if (sp->stat[i].op == FSS_STAT_CORRELATION) { /* the upper triangle, row by row */
            sp->stat[i].at = at;
            at += sp->stat[i].ncol * (sp->stat[i].ncol - 1) / 2;
        } else if (sp->stat[i].op == FSS_STAT_LINREG) { /* p mantissas, p exponents, Z's two */
            sp->stat[i].at = at;
            at += 2 * (sp->stat[i].ncol - 1) + 2;
        }
    for (size_t i = 0; i < sp->nstats; i++)
        if (sp->stat[i].op == FSS_STAT_COUNT)
            sp->stat[i].at = at; /* none of its own */
    sp->words = at;
}

static fss_status parse_root(const char *name, json_t *root, fss_stats_spec *sp, char *err, size_t err_len)
{
    static const char *const top[] = {"split", "rows", "columns", "bounds", "stats", "reveal_to", NULL};
    if (!json_is_object(root))
        return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: a spec is a JSON object", name);
    if (!only_fields(name, "the spec", root, top, err, err_len))
        return FSS_E_FORMAT;
    const char *split = json_string_value(json_object_get(root, "split"));
    if (!split || (strcmp(split, "rows") && strcmp(split, "columns")))
        return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: \"split\" must be \"rows\" or \"columns\"", name);
    sp->by_columns = !strcmp(split, "columns");
    json_t *rows = json_object_get(root, "rows");
    if (sp->by_columns ? !count_of(rows, FSS_STATS_MAX_ROWS, &sp->n)
                       : json_array_size(rows) != 2 || !count_of(json_array_get(rows, 0), FSS_STATS_MAX_ROWS, &sp->rows[0]) ||
                             !count_of(json_array_get(rows, 1), FSS_STATS_MAX_ROWS, &sp->rows[1]))
        return fss_errorf(err, err_len, FSS_E_FORMAT,
                          sp->by_columns ? "%s: \"rows\" must be the patients' count (1 to %zu), the same at both parties"
                                         : "%s: \"rows\" must be [n0, n1], each party's row count (1 to %zu)",
                          name, FSS_STATS_MAX_ROWS);
    if (sp->by_columns)
        sp->rows[0] = sp->rows[1] = sp->n;
    else if ((sp->n = sp->rows[0] + sp->rows[1]) > FSS_STATS_MAX_ROWS)
        return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: more than %zu rows in all", name, FSS_STATS_MAX_ROWS);

    const size_t cap = FSS_STATS_MAX_COLUMNS;
    sp->name = (char **)calloc(cap, sizeof *sp->name);
    sp->owner = (int *)calloc(cap, sizeof *sp->owner);
    sp->local = (size_t *)calloc(cap, sizeof *sp->local);
    sp->bounded = (int *)calloc(cap, sizeof *sp->bounded);
    sp->lo = (double *)calloc(cap, sizeof *sp->lo);
    sp->hi = (double *)calloc(cap, sizeof *sp->hi);
    if (!sp->name || !sp->owner || !sp->local || !sp->bounded || !sp->lo || !sp->hi)
        return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
    json_t *cols = json_object_get(root, "columns");
    fss_status s = FSS_OK;
    if (!sp->by_columns) {
        s = add_columns(name, cols, -1, sp, err, err_len);
    } else {
        static const char *const parties[] = {"0", "1", NULL};
        if (!json_is_object(cols) || !json_object_get(cols, "0") || !json_object_get(cols, "1"))
            return fss_errorf(err, err_len, FSS_E_FORMAT,
                              "%s: with \"split\": \"columns\", \"columns\" is {\"0\": [party 0's], \"1\": [party 1's]}",
                              name);
        if (!only_fields(name, "\"columns\"", cols, parties, err, err_len))
            return FSS_E_FORMAT;
        s = add_columns(name, json_object_get(cols, "0"), 0, sp, err, err_len);
        if (s == FSS_OK)
            s = add_columns(name, json_object_get(cols, "1"), 1, sp, err, err_len);
    }
    if (s == FSS_OK && !sp->ncols)
        s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: the spec names no columns", name);
    if (s == FSS_OK)
        s = parse_bounds(name, json_object_get(root, "bounds"), sp, err, err_len);
    if (s != FSS_OK)
        return s;

    json_t *stats = json_object_get(root, "stats");
    sp->nstats = json_is_array(stats) ? json_array_size(stats) : 0;
    if (!sp->nstats || sp->nstats > FSS_STATS_MAX_STATS)
        return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: \"stats\" must be an array of 1 to %d statistics", name,
                          FSS_STATS_MAX_STATS);
    if (!(sp->stat = (fss_stat *)calloc(sp->nstats, sizeof *sp->stat)))
        return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
    for (size_t i = 0; s == FSS_OK && i < sp->nstats; i++)
        s = parse_stat(name, i, json_array_get(stats, i), sp, &sp->stat[i], err, err_len);
    if (s != FSS_OK)
        return s;

    json_t *to = json_object_get(root, "reveal_to");
    size_t i;
    json_t *v;
    if (!json_is_array(to) || !json_array_size(to))
        return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: \"reveal_to\" must list the parties that get the results: "
                          "[0], [1] or [0, 1]", name);
    json_array_foreach(to, i, v) {
        const json_int_t b = json_is_integer(v) ? json_integer_value(v) : -1;
        if ((b != 0 && b != 1) || sp->reveal[b])
            return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: \"reveal_to\" must list parties 0 and 1, each once",
                              name);
        sp->reveal[b] = 1;
    }
    lay_out(sp);
    return FSS_OK;
}

fss_status fss_stats_spec_parse(const char *name, const char *text, size_t len, fss_stats_spec *sp, char *err,
                                size_t err_len)
{
    memset(sp, 0, sizeof *sp);
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: line %d, column %d: %s", name, je.line, je.column, je.text);
    sp->json = root;
    fss_status s = parse_root(name, root, sp, err, err_len);
    char *canon = s == FSS_OK ? json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17)) : NULL;
    unsigned int n = 32;
    if (s == FSS_OK && (!canon || EVP_Digest(canon, strlen(canon), sp->digest, &n, EVP_sha256(), NULL) != 1))
        s = fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
    free(canon);
    if (s != FSS_OK)
        fss_stats_spec_free(sp);
    return s;
}

fss_status fss_stats_spec_read(const char *path, fss_stats_spec *sp, char *err, size_t err_len)
{
    memset(sp, 0, sizeof *sp);
    FILE *f = fopen(path, "rb");
    if (!f)
        return fss_errorf(err, err_len, FSS_E_IO, "cannot open the spec %s: %s", path, strerror(errno));
    const size_t cap = (size_t)1 << 20;
    char *buf = (char *)malloc(cap + 1);
    const size_t n = buf ? fread(buf, 1, cap + 1, f) : 0;
    const int bad = ferror(f);
    fclose(f);
    fss_status s = !buf ? fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory")
                 : bad  ? fss_errorf(err, err_len, FSS_E_IO, "cannot read the spec %s", path)
                 : n > cap ? fss_errorf(err, err_len, FSS_E_FORMAT, "%s: a spec is at most %zu bytes", path, cap)
                           : fss_stats_spec_parse(path, buf, n, sp, err, err_len);
    free(buf);
    return s;
}

void fss_stats_spec_free(fss_stats_spec *sp)
{
    for (size_t c = 0; sp->name && c < sp->ncols; c++)
        free(sp->name[c]);
    for (size_t i = 0; sp->stat && i < sp->nstats; i++) {
        free(sp->stat[i].edges);
        free(sp->stat[i].cols);
        free(sp->stat[i].fcol);
    }
    free(sp->name);
    free(sp->owner);
    free(sp->local);
    free(sp->bounded);
    free(sp->lo);
    free(sp->hi);
    free(sp->stat);
    json_decref((json_t *)sp->json);
    memset(sp, 0, sizeof *sp);
}
