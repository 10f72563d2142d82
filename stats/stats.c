/* Joint statistics: the parties' tables, the walk and the results (fss/stats.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fss/gates.h"
#include "fss/stats.h"

fss_status fss_stats_table_read(const fss_stats_spec *sp, int b, const char *path, fss_csv *t, char *err,
                                size_t err_len)
{
    memset(t, 0, sizeof *t);
    const char **names = (const char **)malloc((sp->ncols ? sp->ncols : 1) * sizeof *names);
    size_t *col = (size_t *)malloc((sp->ncols ? sp->ncols : 1) * sizeof *col), k = 0;
    fss_status s = names && col ? FSS_OK : fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
    for (size_t c = 0; s == FSS_OK && c < sp->ncols; c++)
        if (sp->owner[c] < 0 || sp->owner[c] == b)
            col[k] = c, names[k++] = sp->name[c]; /* in local order: add_columns numbers them so */
    if (s == FSS_OK)
        s = fss_csv_read(path, names, k, t, err, err_len);
    if (s == FSS_OK && t->rows != sp->rows[b])
        s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s has %zu rows of data; the spec says party %d holds %zu", path,
                       t->rows, b, sp->rows[b]);
    for (size_t r = 0; s == FSS_OK && r < t->rows; r++)
        for (size_t j = 0; s == FSS_OK && j < k; j++) {
            const size_t c = col[j];
            const double x = t->v[r * k + j];
            if (sp->bounded[c] && !(x >= sp->lo[c] && x <= sp->hi[c]))
                s = fss_errorf(err, err_len, FSS_E_FORMAT,
                               "%s: row %zu, column '%s': %.17g is outside the spec's bounds [%.17g, %.17g]", path,
                               r + 1, sp->name[c], x, sp->lo[c], sp->hi[c]);
        }
    if (s != FSS_OK)
        fss_csv_free(t);
    free(names);
    free(col);
    return s;
}

/* x's fixed-point integer: round((x - c) 2^f), c the middle of the bounds (fss/stats.h). */
static uint64_t encode(const fss_stats_spec *sp, size_t c, int f, double x)
{
    const double h = (sp->hi[c] - sp->lo[c]) / 2, mid = sp->lo[c] + h;
    return (uint64_t)(int64_t)llround(ldexp(x - mid, f));
}

static double middle(const fss_stats_spec *sp, size_t c) { return sp->lo[c] + (sp->hi[c] - sp->lo[c]) / 2; }

/* numpy.histogram's bin of x: [e_j, e_j+1), the last closed; -1 outside. */
static long bin_of(const double *e, size_t ne, double x)
{
    if (!(x >= e[0] && x <= e[ne - 1]))
        return -1;
    if (x == e[ne - 1])
        return (long)ne - 2;
    size_t lo = 0, hi = ne - 1; /* e[lo] <= x < e[hi] */
    while (hi - lo > 1) {
        const size_t m = lo + (hi - lo) / 2;
        *(x < e[m] ? &hi : &lo) = m;
    }
    return (long)lo;
}

/* The counts of the statistics' groups (variances, sums, bins, maxima, minima). */
typedef struct groups {
    size_t nv, ns, nh, nx, nn;
} groups;

static groups count_groups(const fss_stats_spec *sp)
{
    groups g = {0, 0, 0, 0, 0};
    for (size_t i = 0; i < sp->nstats; i++) {
        const fss_stat *st = &sp->stat[i];
        g.nv += st->op == FSS_STAT_VARIANCE || st->op == FSS_STAT_STD;
        g.ns += st->op == FSS_STAT_SUM || st->op == FSS_STAT_MEAN;
        g.nh += st->op == FSS_STAT_HISTOGRAM ? st->nedges - 1 : 0;
        g.nx += st->op == FSS_STAT_MAX;
        g.nn += st->op == FSS_STAT_MIN;
    }
    return g;
}

/* Party b's input from its table t. Rows split: its rows' parts, [S1 of the variances |
 * sums | S2 of the variances | bins | maxima | minima] (a variance's S1 and a sum at their
 * statistic's word, the rest nv further on; S2 at nv + ns + the word). Columns split: the
 * final words of the statistics of its columns, 0 at the others'. */
static void local_parts(const fss_stats_spec *sp, const groups *g, int b, const fss_csv *t, uint64_t *v)
{
    const size_t nv = g->nv, ns = g->ns;
    for (size_t i = 0; i < sp->nstats; i++) {
        const fss_stat *st = &sp->stat[i];
        const size_t c = st->col;
        if (st->op == FSS_STAT_COUNT || (sp->by_columns && sp->owner[c] != b))
            continue;
        const size_t lc = sp->local[c], k = t->cols, rows = t->rows, at = sp->by_columns ? st->at : st->at + nv;
        uint64_t s1 = 0, s2 = 0;
        int64_t hi = INT64_MIN, lo = INT64_MAX;
        switch (st->op) {
        case FSS_STAT_SUM:
        case FSS_STAT_MEAN:
            for (size_t r = 0; r < rows; r++)
                s1 += encode(sp, c, st->f, t->v[r * k + lc]);
            v[st->at] = s1;
            break;
        case FSS_STAT_VARIANCE:
        case FSS_STAT_STD:
            for (size_t r = 0; r < rows; r++) {
                const uint64_t x = encode(sp, c, st->f, t->v[r * k + lc]);
                s1 += x, s2 += x * x;
            }
            if (sp->by_columns) {
                v[st->at] = (uint64_t)sp->n * s2 - s1 * s1; /* Q = n^2 var 2^2f, exact mod 2^64 */
            } else {
                v[st->at] = s1;
                v[nv + ns + st->at] = s2;
            }
            break;
        case FSS_STAT_HISTOGRAM:
            for (size_t j = 0; j + 1 < st->nedges; j++)
                v[at + j] = 0;
            for (size_t r = 0; r < rows; r++) {
                const long j = bin_of(st->edges, st->nedges, t->v[r * k + lc]);
                if (j >= 0)
                    v[at + (size_t)j]++;
            }
            break;
        case FSS_STAT_MAX:
        case FSS_STAT_MIN:
            for (size_t r = 0; r < rows; r++) {
                const int64_t x = (int64_t)encode(sp, c, st->f, t->v[r * k + lc]);
                hi = x > hi ? x : hi;
                lo = x < lo ? x : lo;
            }
            v[at] = (uint64_t)(st->op == FSS_STAT_MAX ? hi : lo);
            break;
        case FSS_STAT_COUNT:
            break;
        }
    }
}

/* Opens y (count words) at words + at to every receiving party. */
static fss_status open_to(fss_eval *ev, const fss_stats_spec *sp, const fss_tensor *y, size_t off, size_t count,
                          uint64_t *words)
{
    fss_tensor piece = {0};
    fss_status s = count ? fss_tensor_view(y, off, 1, &count, 0, &piece) : FSS_OK;
    for (int b = 0; b < 2 && s == FSS_OK && count; b++)
        if (sp->reveal[b])
            s = fss_gate_output(ev, b, &piece, words);
    return s;
}

fss_status fss_stats_walk(fss_eval *ev, const fss_stats_spec *sp, const fss_csv *const tables[2], uint64_t *words)
{
    const groups g = count_groups(sp);
    const size_t nv = g.nv, ns = g.ns, nh = g.nh, nx = g.nx, nn = g.nn;
    const size_t a = 2 * nv + ns + nh, L = sp->by_columns ? sp->words : a + nx + nn;
    if (!L)
        return FSS_OK; /* only counts: public */
    const int clear = fss_eval_mode(ev) == FSS_MODE_CLEAR, me = fss_eval_party(ev);
    uint64_t *mine[2] = {NULL, NULL};
    fss_tensor t[2] = {{0}, {0}}, T = {0}, P = {0}, NS2 = {0}, Q = {0}, D = {0}, R = {0}, M = {0}, N = {0};
    /* views */
    fss_tensor v0 = {0}, v1 = {0}, s1 = {0}, s2 = {0}, m0 = {0}, m1 = {0}, rx = {0}, rn = {0}, m0n = {0}, m1x = {0};
    fss_status s = FSS_OK;
    for (int b = 0; b < 2 && s == FSS_OK; b++) {
        if ((clear || me == b) && !(mine[b] = (uint64_t *)calloc(L, sizeof(uint64_t))))
            s = fss_eval_fail(ev, FSS_E_NOMEM, "stats: out of memory");
        if (mine[b])
            local_parts(sp, &g, b, tables[b], mine[b]);
        if (s == FSS_OK)
            s = fss_gate_input(ev, b, 1, &L, 64, 0, mine[b], &t[b]);
    }
    if (sp->by_columns) { /* each word is one party's, the other's is 0 */
        if (s == FSS_OK)
            s = fss_gate_add(ev, &t[0], &t[1], &T);
        if (s == FSS_OK)
            s = open_to(ev, sp, &T, 0, sp->words, words);
        goto done;
    }
    /* rows split: the additive parts summed; then Q = n S2 - S1^2; max = m1 + relu(m0 - m1),
     * min = m0 - relu(m0 - m1) */
    if (s == FSS_OK && a)
        s = fss_tensor_view(&t[0], 0, 1, &a, 0, &v0) == FSS_OK && fss_tensor_view(&t[1], 0, 1, &a, 0, &v1) == FSS_OK
                ? fss_gate_add(ev, &v0, &v1, &T)
                : FSS_E_ARG;
    if (s == FSS_OK && nv) {
        s = fss_tensor_view(&T, 0, 1, &nv, 0, &s1) == FSS_OK && fss_tensor_view(&T, nv + ns, 1, &nv, 0, &s2) == FSS_OK
                ? fss_gate_mul(ev, &s1, &s1, &P)
                : FSS_E_ARG;
        if (s == FSS_OK)
            s = fss_gate_scale(ev, &s2, (uint64_t)sp->n, &NS2);
        if (s == FSS_OK)
            s = fss_gate_sub(ev, &NS2, &P, &Q);
        if (s == FSS_OK)
            s = open_to(ev, sp, &Q, 0, nv, words);
    }
    if (s == FSS_OK)
        s = open_to(ev, sp, &T, nv, ns, words + nv);
    if (s == FSS_OK)
        s = open_to(ev, sp, &T, 2 * nv + ns, nh, words + nv + ns);
    const size_t nm = nx + nn;
    if (s == FSS_OK && nm) {
        s = fss_tensor_view(&t[0], a, 1, &nm, 0, &m0) == FSS_OK && fss_tensor_view(&t[1], a, 1, &nm, 0, &m1) == FSS_OK
                ? fss_gate_sub(ev, &m0, &m1, &D)
                : FSS_E_ARG;
        if (s == FSS_OK)
            s = fss_gate_relu_1round(ev, &D, &R);
        if (s == FSS_OK && nx)
            s = fss_tensor_view(&m1, 0, 1, &nx, 0, &m1x) == FSS_OK && fss_tensor_view(&R, 0, 1, &nx, 0, &rx) == FSS_OK
                    ? fss_gate_add(ev, &m1x, &rx, &M)
                    : FSS_E_ARG;
        if (s == FSS_OK && nn)
            s = fss_tensor_view(&m0, nx, 1, &nn, 0, &m0n) == FSS_OK &&
                        fss_tensor_view(&R, nx, 1, &nn, 0, &rn) == FSS_OK
                    ? fss_gate_sub(ev, &m0n, &rn, &N)
                    : FSS_E_ARG;
        if (s == FSS_OK)
            s = open_to(ev, sp, &M, 0, nx, words + nv + ns + nh);
        if (s == FSS_OK)
            s = open_to(ev, sp, &N, 0, nn, words + nv + ns + nh + nx);
    }
done:
    for (int b = 0; b < 2; b++) {
        if (mine[b])
            fss_free_wiped(mine[b], L * sizeof(uint64_t));
        fss_tensor_free(&t[b]);
    }
    fss_tensor_free(&T);
    fss_tensor_free(&P);
    fss_tensor_free(&NS2);
    fss_tensor_free(&Q);
    fss_tensor_free(&D);
    fss_tensor_free(&R);
    fss_tensor_free(&M);
    fss_tensor_free(&N);
    return s;
}

void fss_stats_value(const fss_stats_spec *sp, size_t i, const uint64_t *words, double *out)
{
    const fss_stat *st = &sp->stat[i];
    const uint64_t *w = words + st->at;
    const double n = (double)sp->n;
    switch (st->op) {
    case FSS_STAT_COUNT:
        out[0] = n;
        break;
    case FSS_STAT_SUM: /* the sum of x - c, and n c */
        out[0] = ldexp((double)(int64_t)w[0], -st->f) + n * middle(sp, st->col);
        break;
    case FSS_STAT_MEAN:
        out[0] = ldexp((double)(int64_t)w[0], -st->f) / n + middle(sp, st->col);
        break;
    case FSS_STAT_VARIANCE:
    case FSS_STAT_STD:
        out[0] = ldexp((double)w[0], -2 * st->f) / (n * (n - st->ddof));
        if (st->op == FSS_STAT_STD)
            out[0] = sqrt(out[0]);
        break;
    case FSS_STAT_MIN:
    case FSS_STAT_MAX:
        out[0] = ldexp((double)(int64_t)w[0], -st->f) + middle(sp, st->col);
        break;
    case FSS_STAT_HISTOGRAM:
        for (size_t j = 0; j + 1 < st->nedges; j++)
            out[j] = (double)w[j];
        break;
    }
}

char *fss_stats_results_json(const fss_stats_spec *sp, const uint64_t *words)
{
    json_t *root = json_object(), *list = json_array(), *spec = json_object_get((json_t *)sp->json, "stats");
    size_t most = 1;
    for (size_t i = 0; i < sp->nstats; i++)
        most = sp->stat[i].nedges > most ? sp->stat[i].nedges : most;
    double *v = (double *)malloc(most * sizeof *v);
    int ok = root && list && v && !json_object_set_new(root, "split", json_string(sp->by_columns ? "columns" : "rows")) &&
             !json_object_set_new(root, "rows", json_integer((json_int_t)sp->n));
    for (size_t i = 0; ok && i < sp->nstats; i++) {
        const fss_stat *st = &sp->stat[i];
        json_t *e = json_deep_copy(json_array_get(spec, i)), *val = NULL;
        fss_stats_value(sp, i, words, v);
        if (st->op == FSS_STAT_HISTOGRAM) {
            val = json_array();
            for (size_t j = 0; val && j + 1 < st->nedges; j++)
                ok &= !json_array_append_new(val, json_integer((json_int_t)words[st->at + j]));
        } else {
            val = st->op == FSS_STAT_COUNT ? json_integer((json_int_t)sp->n) : json_real(v[0]);
        }
        ok &= e && val && !json_object_set_new(e, st->op == FSS_STAT_HISTOGRAM ? "counts" : "value", val) &&
              !json_array_append_new(list, e);
    }
    char *text = ok && !json_object_set(root, "results", list)
                     ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17))
                     : NULL;
    free(v);
    json_decref(list);
    json_decref(root);
    return text;
}
