/* Joint statistics: the parties' tables, the walk and the results (fss/stats.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fss/gates.h"
#include "fss/stats.h"
#include "stats_internal.h"

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
                s = fss_errorf(err, err_len, FSS_E_FORMAT, /* the value itself stays out of the logs */
                               "%s: row %zu, column '%s': the value is outside the spec's bounds [%.17g, %.17g]", path,
                               r + 1, sp->name[c], sp->lo[c], sp->hi[c]);
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

/* ---- a party's moments (fss/stats.h): exact in 128 bits, rounded once ------------------ */

typedef __int128 i128;

/* round(num / d) for d > 0, halves away from zero */
static int64_t div_round(i128 num, int64_t d)
{
    return (int64_t)((num >= 0 ? num + d / 2 : num - d / 2) / d);
}

/* Column c of table t encoded at f: its sum S, and the sum of squares about its own mean,
 * SS = round(sum X^2 - S^2 / m) (m rows). */
static void moments(const fss_stats_spec *sp, const fss_csv *t, size_t c, int f, int64_t *S, int64_t *SS)
{
    const size_t lc = sp->local[c], k = t->cols, m = t->rows;
    int64_t s = 0;
    i128 q = 0;
    for (size_t r = 0; r < m; r++) {
        const int64_t x = (int64_t)encode(sp, c, f, t->v[r * k + lc]);
        s += x, q += (i128)x * x;
    }
    *S = s;
    *SS = div_round((i128)m * q - (i128)s * s, (int64_t)m);
}

/* Column c of table t encoded at f, one value a row (malloc'ed; wipe it), or NULL. */
static int64_t *encoded(const fss_stats_spec *sp, const fss_csv *t, size_t c, int f)
{
    const size_t lc = sp->local[c], k = t->cols, m = t->rows;
    int64_t *x = (int64_t *)malloc((m ? m : 1) * sizeof *x);
    for (size_t r = 0; x && r < m; r++)
        x[r] = (int64_t)encode(sp, c, f, t->v[r * k + lc]);
    return x;
}

/* The co-moment of two encoded columns of m rows about their own means: round(sum X_a X_b
 * - S_a S_b / m). */
static int64_t co_moment(const int64_t *xa, const int64_t *xb, size_t m)
{
    int64_t sa = 0, sb = 0;
    i128 p = 0;
    for (size_t r = 0; r < m; r++)
        sa += xa[r], sb += xb[r], p += (i128)xa[r] * xb[r];
    return div_round((i128)m * p - (i128)sa * sb, (int64_t)m);
}

/* Rows split: party b's share of D = sqrt(n0 n1 / n) (mean_0 - mean_1) 2^f, the term that
 * joins two parties' moments (Chan et al.: SS = SS_0 + SS_1 + D^2): U_b = sqrt(n_(1-b) /
 * (n n_b)) S_b, negated at party 1, so that U_0 + U_1 = D. */
static int64_t chan_share(const fss_stats_spec *sp, int b, int64_t S)
{
    const double nb = (double)sp->rows[b], no = (double)sp->rows[1 - b];
    const int64_t u = llround(sqrt(no / ((double)sp->n * nb)) * (double)S);
    return b ? -u : u;
}

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

/* Party b's input from its table t. Rows split: its rows' parts, [U of the variances |
 * sums | SS of the variances | bins | maxima | minima] (a variance's U and a sum at their
 * statistic's word, the rest nv further on; SS at nv + ns + the word). Columns split: the
 * final words of the statistics of its columns, 0 at the others'. */
static void local_parts(const fss_stats_spec *sp, const groups *g, int b, const fss_csv *t, uint64_t *v)
{
    const size_t nv = g->nv, ns = g->ns;
    for (size_t i = 0; i < sp->nstats; i++) {
        const fss_stat *st = &sp->stat[i];
        const size_t c = st->col;
        if (st->op == FSS_STAT_COUNT || st->op == FSS_STAT_CORRELATION || st->op == FSS_STAT_LINREG ||
            (sp->by_columns && sp->owner[c] != b))
            continue;
        const size_t lc = sp->local[c], k = t->cols, rows = t->rows, at = sp->by_columns ? st->at : st->at + nv;
        uint64_t s1 = 0;
        int64_t hi = INT64_MIN, lo = INT64_MAX;
        switch (st->op) {
        case FSS_STAT_SUM:
        case FSS_STAT_MEAN:
            for (size_t r = 0; r < rows; r++)
                s1 += encode(sp, c, st->f, t->v[r * k + lc]);
            v[st->at] = s1;
            break;
        case FSS_STAT_VARIANCE:
        case FSS_STAT_STD: {
            int64_t S, SS;
            moments(sp, t, c, st->f, &S, &SS);
            if (sp->by_columns) {
                v[st->at] = (uint64_t)SS; /* Q = n var 2^2f */
            } else {
                v[st->at] = (uint64_t)chan_share(sp, b, S);
                v[nv + ns + st->at] = (uint64_t)SS;
            }
            break;
        }
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
        case FSS_STAT_CORRELATION:
        case FSS_STAT_LINREG:
            break;
        }
    }
}

fss_status fss_stats_open_to(fss_eval *ev, const fss_stats_spec *sp, const fss_tensor *y, size_t off, size_t count,
                            uint64_t *words, size_t at)
{
    fss_tensor piece = {0};
    fss_status s = count ? fss_tensor_view(y, off, 1, &count, 0, &piece) : FSS_OK;
    for (int b = 0; b < 2 && s == FSS_OK && count; b++)
        if (sp->reveal[b])
            s = fss_gate_output(ev, b, &piece, words ? words + at : NULL);
    return s;
}

/* The statistics but correlations: their words come first (lay_out). */
static fss_status main_walk(fss_eval *ev, const fss_stats_spec *sp, const fss_csv *const tables[2], uint64_t *words)
{
    const groups g = count_groups(sp);
    const size_t nv = g.nv, ns = g.ns, nh = g.nh, nx = g.nx, nn = g.nn;
    const size_t a = 2 * nv + ns + nh, L = sp->by_columns ? nv + ns + nh + nx + nn : a + nx + nn;
    if (!L)
        return FSS_OK; /* none, or only counts: public */
    const int clear = fss_eval_mode(ev) == FSS_MODE_CLEAR, me = fss_eval_party(ev);
    uint64_t *mine[2] = {NULL, NULL};
    fss_tensor t[2] = {{0}, {0}}, T = {0}, P = {0}, Q = {0}, D = {0}, R = {0}, M = {0}, N = {0};
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
            s = fss_stats_open_to(ev, sp, &T, 0, L, words, 0);
        goto done;
    }
    /* rows split: the additive parts summed; then Q = SS_0 + SS_1 + D^2 (D = U_0 + U_1);
     * max = m1 + relu(m0 - m1), min = m0 - relu(m0 - m1) */
    if (s == FSS_OK && a)
        s = fss_tensor_view(&t[0], 0, 1, &a, 0, &v0) == FSS_OK && fss_tensor_view(&t[1], 0, 1, &a, 0, &v1) == FSS_OK
                ? fss_gate_add(ev, &v0, &v1, &T)
                : FSS_E_ARG;
    if (s == FSS_OK && nv) {
        s = fss_tensor_view(&T, 0, 1, &nv, 0, &s1) == FSS_OK && fss_tensor_view(&T, nv + ns, 1, &nv, 0, &s2) == FSS_OK
                ? fss_gate_mul(ev, &s1, &s1, &P)
                : FSS_E_ARG;
        if (s == FSS_OK)
            s = fss_gate_add(ev, &s2, &P, &Q);
        if (s == FSS_OK)
            s = fss_stats_open_to(ev, sp, &Q, 0, nv, words, 0);
    }
    if (s == FSS_OK)
        s = fss_stats_open_to(ev, sp, &T, nv, ns, words, nv);
    if (s == FSS_OK)
        s = fss_stats_open_to(ev, sp, &T, 2 * nv + ns, nh, words, nv + ns);
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
            s = fss_stats_open_to(ev, sp, &M, 0, nx, words, nv + ns + nh);
        if (s == FSS_OK)
            s = fss_stats_open_to(ev, sp, &N, 0, nn, words, nv + ns + nh + nx);
    }
done:
    for (int b = 0; b < 2; b++) {
        if (mine[b])
            fss_free_wiped(mine[b], L * sizeof(uint64_t));
        fss_tensor_free(&t[b]);
    }
    fss_tensor_free(&T);
    fss_tensor_free(&P);
    fss_tensor_free(&Q);
    fss_tensor_free(&D);
    fss_tensor_free(&R);
    fss_tensor_free(&M);
    fss_tensor_free(&N);
    return s;
}

/* ---- correlations ---------------------------------------------------------------------- */

#define CORR_L 61 /* |C| and Q under 2^61 (2^60 and 2 bits of headroom) */
#define CORR_P (FSS_STATS_CORR_SCALE - CORR_F) /* 2^(D/2) as 2^(CORR_P + floor(D/2)) */

/* For the 8-bit D = 2 e_C - e_a - e_b: sqrt(2) or 1 (D odd or even) at scale CORR_F, and
 * 2^(CORR_P + floor(D/2)) (0 below 1, and for D > 4, which |r| <= 1 rules out). */
static uint64_t *corr_tables(int which)
{
    uint64_t *t = (uint64_t *)malloc(256 * sizeof *t);
    for (int i = 0; t && i < 256; i++) {
        const int D = i < 128 ? i : i - 256, h = (D - (D & 1)) / 2; /* floor(D / 2) */
        t[i] = which == 0 ? (uint64_t)llrint(ldexp(D & 1 ? sqrt(2.0) : 1.0, CORR_F))
             : D <= 4 && CORR_P + h >= 0 ? (uint64_t)1 << (CORR_P + h) : 0;
    }
    return t;
}

/* The correlations of k columns (fss/stats.h), left secret: r (the upper triangle, row by
 * row, at scale 2^-FSS_STATS_CORR_SCALE), and for fss_stats' regression the mantissas and
 * leading ones of [Q_1 .. Q_k | |C| of each pair] (m at scale CORR_F, e) and each column's
 * joint sum S_j (its encoded values' sum). Slots of each party's input: its Chan share U
 * of each column, SS of each column, the co-moment of each pair, S of each column. */
fss_status fss_stats_corr_core(fss_eval *ev, const fss_stats_spec *sp, const size_t *cols, const int *fcol, size_t k,
                              const fss_csv *const tables[2], fss_tensor *rr, fss_tensor *m, fss_tensor *e,
                              fss_tensor *ssum)
{
    const size_t P = k * (k - 1) / 2, W = 3 * k + P, n = sp->n;
    const int clear = fss_eval_mode(ev) == FSS_MODE_CLEAR, me = fss_eval_party(ev);
    size_t *pa = (size_t *)malloc(P * sizeof *pa), *pb = (size_t *)malloc(P * sizeof *pb);
    size_t *ia = (size_t *)malloc((3 * k + 3 * P) * sizeof *ia), *ib = (size_t *)malloc((3 * k + 3 * P) * sizeof *ib);
    uint64_t *loc[2] = {NULL, NULL}, *x0 = NULL, *x1 = NULL, *tc = corr_tables(0), *tp = corr_tables(1);
    size_t own[2] = {0, 0}, pos[FSS_STATS_MAX_CORR]; /* a column's place among its owner's */
    fss_tensor t[2] = {{0}, {0}}, T = {0}, X0 = {0}, X1 = {0}, Z = {0}, cross = {0}, T2 = {0}, A = {0}, B = {0},
               prod = {0}, S2 = {0}, V = {0}, dV = {0}, sel = {0}, sel2 = {0}, absV = {0},
               ma = {0}, mb = {0}, tab = {0}, g = {0}, mc = {0}, u = {0}, ec = {0}, ea = {0}, eb = {0}, ec2 = {0},
               d1 = {0}, D = {0}, D8 = {0}, cD = {0}, pD = {0}, w = {0}, rabs = {0}, dC = {0}, rs = {0}, rs2 = {0};
    fss_status s = pa && pb && ia && ib && tc && tp ? FSS_OK : fss_eval_fail(ev, FSS_E_NOMEM, "stats: out of memory");
    for (size_t a = 0, q = 0; s == FSS_OK && a < k; a++)
        for (size_t b = a + 1; b < k; b++, q++)
            pa[q] = a, pb[q] = b;
    for (size_t j = 0; j < k; j++) {
        const int o = sp->owner[cols[j]];
        pos[j] = o < 0 ? j : own[o]++;
    }
    /* each party's moments: its rows' (rows split: with its Chan shares), its own columns'
     * and pairs' (columns split) */
    for (int b = 0; b < 2 && s == FSS_OK; b++) {
        if ((clear || me == b) && !(loc[b] = (uint64_t *)calloc(W, sizeof(uint64_t))))
            s = fss_eval_fail(ev, FSS_E_NOMEM, "stats: out of memory");
        const fss_csv *tb = tables[b];
        for (size_t j = 0; loc[b] && j < k; j++) {
            const size_t c = cols[j];
            if (sp->by_columns && sp->owner[c] != b)
                continue;
            int64_t S, SS;
            moments(sp, tb, c, fcol[j], &S, &SS);
            loc[b][j] = sp->by_columns ? 0 : (uint64_t)chan_share(sp, b, S);
            loc[b][k + j] = (uint64_t)SS;
            loc[b][2 * k + P + j] = (uint64_t)S;
        }
        /* each column of this party encoded once, for its pairs */
        int64_t *xs[FSS_STATS_MAX_CORR] = {NULL};
        for (size_t j = 0; loc[b] && s == FSS_OK && j < k; j++)
            if ((!sp->by_columns || sp->owner[cols[j]] == b) && !(xs[j] = encoded(sp, tb, cols[j], fcol[j])))
                s = fss_eval_fail(ev, FSS_E_NOMEM, "stats: out of memory");
        for (size_t q = 0; loc[b] && s == FSS_OK && q < P; q++)
            if (xs[pa[q]] && xs[pb[q]])
                loc[b][2 * k + q] = (uint64_t)co_moment(xs[pa[q]], xs[pb[q]], tb->rows);
        for (size_t j = 0; j < k; j++)
            if (xs[j])
                fss_free_wiped(xs[j], (tb->rows ? tb->rows : 1) * sizeof *xs[j]);
        if (s == FSS_OK)
            s = fss_gate_input(ev, b, 1, &W, 64, 0, loc[b], &t[b]);
    }
    if (s == FSS_OK)
        s = fss_gate_add(ev, &t[0], &t[1], &T);
    /* columns split, pairs of two parties' columns: party 0's columns (as rows) times party
     * 1's, each centred by its owner at its own mean (so the product is the co-moment), one
     * ring product */
    size_t ncross = 0;
    for (size_t q = 0; sp->by_columns && q < P; q++)
        ncross += sp->owner[cols[pa[q]]] != sp->owner[cols[pb[q]]];
    if (s == FSS_OK && ncross) {
        const size_t s0[2] = {own[0], n}, s1[2] = {n, own[1]};
        if ((clear || me == 0) && !(x0 = (uint64_t *)calloc(own[0] * n, sizeof *x0)))
            s = fss_eval_fail(ev, FSS_E_NOMEM, "stats: out of memory");
        if ((clear || me == 1) && !(x1 = (uint64_t *)calloc(n * own[1], sizeof *x1)))
            s = fss_eval_fail(ev, FSS_E_NOMEM, "stats: out of memory");
        for (size_t j = 0; s == FSS_OK && j < k; j++) {
            const size_t c = cols[j];
            const int o = sp->owner[c];
            const fss_csv *tb = tables[o];
            long double mean = 0;
            for (size_t r = 0; (o ? x1 : x0) && r < n; r++)
                mean += tb->v[r * tb->cols + sp->local[c]];
            mean /= (long double)n;
            for (size_t r = 0; (o ? x1 : x0) && r < n; r++) {
                const uint64_t x = (uint64_t)(int64_t)llroundl(
                    ldexpl((long double)tb->v[r * tb->cols + sp->local[c]] - mean, fcol[j]));
                if (o == 0)
                    x0[pos[j] * n + r] = x;
                else
                    x1[r * own[1] + pos[j]] = x;
            }
        }
        if (s == FSS_OK)
            s = fss_gate_input(ev, 0, 2, s0, 64, 0, x0, &X0);
        if (s == FSS_OK)
            s = fss_gate_input(ev, 1, 2, s1, 64, 0, x1, &X1);
        if (s == FSS_OK)
            s = fss_gate_matmul(ev, &X0, &X1, &Z);
        /* each cross pair's product into its slot, a public 0 elsewhere */
        for (size_t i = 0; s == FSS_OK && i < W; i++) {
            ia[i] = SIZE_MAX;
            if (i >= 2 * k && i < 2 * k + P) {
                const size_t q = i - 2 * k, ja = pa[q], jb = pb[q];
                const int oa = sp->owner[cols[ja]], ob = sp->owner[cols[jb]];
                if (oa != ob)
                    ia[i] = oa == 0 ? pos[ja] * own[1] + pos[jb] : pos[jb] * own[1] + pos[ja];
            }
        }
        if (s == FSS_OK && (s = fss_gate_gather(ev, &Z, ia, W, &cross)) == FSS_OK)
            s = fss_gate_add(ev, &T, &cross, &T2);
    }
    const fss_tensor *sums = ncross ? &T2 : &T;
    /* V = [Q_1 .. Q_k | C of each pair] = [SS | co-moments] + [D^2 | D_a D_b] (the moments
     * about the joint means, n var 2^2f and n cov 2^(fa+fb)) */
    for (size_t j = 0; j < k + P; j++) {
        ia[j] = j < k ? j : pa[j - k];
        ib[j] = j < k ? j : pb[j - k];
    }
    if (s == FSS_OK && (s = fss_gate_gather(ev, sums, ia, k + P, &A)) == FSS_OK &&
        (s = fss_gate_gather(ev, sums, ib, k + P, &B)) == FSS_OK)
        s = fss_gate_mul(ev, &A, &B, &prod);
    for (size_t j = 0; j < k + P; j++)
        ia[j] = j < k ? k + j : 2 * k + (j - k);
    if (s == FSS_OK && (s = fss_gate_gather(ev, sums, ia, k + P, &S2)) == FSS_OK)
        s = fss_gate_add(ev, &S2, &prod, &V);
    /* |V| (the Q are not negative; the C's signs kept), its mantissas and leading ones */
    if (s == FSS_OK && (s = fss_gate_drelu(ev, &V, &dV)) == FSS_OK && (s = fss_gate_select(ev, &dV, &V, &sel)) == FSS_OK &&
        (s = fss_gate_scale(ev, &sel, 2, &sel2)) == FSS_OK && (s = fss_gate_sub(ev, &sel2, &V, &absV)) == FSS_OK)
        s = fss_gate_normalize(ev, &absV, CORR_L, CORR_F, m, e);
    /* u = m_C / sqrt(m_a m_b) in [1/2, 2), D = 2 e_C - e_a - e_b */
    for (size_t q = 0; q < P; q++)
        ia[q] = pa[q], ib[q] = pb[q], ia[P + q] = k + q;
    if (s == FSS_OK && (s = fss_gate_gather(ev, m, ia, P, &ma)) == FSS_OK &&
        (s = fss_gate_gather(ev, m, ib, P, &mb)) == FSS_OK && (s = fss_gate_mul_shift(ev, &ma, &mb, CORR_F, &tab)) == FSS_OK) {
        tab.scale = CORR_F;
        s = fss_gate_rsqrt_fine(ev, &tab, &g);
    }
    if (s == FSS_OK && (s = fss_gate_gather(ev, m, ia + P, P, &mc)) == FSS_OK)
        s = fss_gate_mul_shift(ev, &mc, &g, CORR_F, &u);
    if (s == FSS_OK && (s = fss_gate_gather(ev, e, ia + P, P, &ec)) == FSS_OK &&
        (s = fss_gate_gather(ev, e, ia, P, &ea)) == FSS_OK && (s = fss_gate_gather(ev, e, ib, P, &eb)) == FSS_OK &&
        (s = fss_gate_scale(ev, &ec, 2, &ec2)) == FSS_OK && (s = fss_gate_sub(ev, &ec2, &ea, &d1)) == FSS_OK &&
        (s = fss_gate_sub(ev, &d1, &eb, &D)) == FSS_OK && (s = fss_gate_reduce(ev, &D, 8, &D8)) == FSS_OK &&
        (s = fss_gate_lut(ev, &D8, tc, 64, CORR_F, &cD)) == FSS_OK)
        s = fss_gate_lut(ev, &D8, tp, 64, 0, &pD);
    /* |r| = (u c_D >> F) p_D at scale F + CORR_P; its sign C's */
    if (s == FSS_OK && (s = fss_gate_mul_shift(ev, &u, &cD, CORR_F, &w)) == FSS_OK && (s = fss_gate_mul(ev, &w, &pD, &rabs)) == FSS_OK &&
        (s = fss_gate_gather(ev, &dV, ia + P, P, &dC)) == FSS_OK && (s = fss_gate_select(ev, &dC, &rabs, &rs)) == FSS_OK &&
        (s = fss_gate_scale(ev, &rs, 2, &rs2)) == FSS_OK)
        s = fss_gate_sub(ev, &rs2, &rabs, rr);
    for (size_t j = 0; j < k; j++) /* the joint sums */
        ia[j] = 2 * k + P + j;
    if (s == FSS_OK)
        s = fss_gate_gather(ev, sums, ia, k, ssum);
    for (int b = 0; b < 2; b++)
        if (loc[b])
            fss_free_wiped(loc[b], W * sizeof(uint64_t));
    if (x0)
        fss_free_wiped(x0, own[0] * n * sizeof *x0);
    if (x1)
        fss_free_wiped(x1, own[1] * n * sizeof *x1);
    fss_tensor *all[] = {&t[0], &t[1], &T, &X0, &X1, &Z, &cross, &T2, &A, &B, &prod, &S2, &V, &dV, &sel, &sel2,
                         &absV, &ma, &mb, &tab, &g, &mc, &u, &ec, &ea, &eb, &ec2, &d1, &D, &D8, &cD, &pD, &w, &rabs,
                         &dC, &rs, &rs2};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        fss_tensor_free(all[i]);
    free(pa), free(pb), free(ia), free(ib), free(tc), free(tp);
    return s;
}

/* One correlation matrix: the words of its upper triangle. */
static fss_status corr_walk(fss_eval *ev, const fss_stats_spec *sp, const fss_stat *st, const fss_csv *const tables[2],
                            uint64_t *words)
{
    fss_tensor r = {0}, m = {0}, e = {0}, S = {0};
    fss_status s = fss_stats_corr_core(ev, sp, st->cols, st->fcol, st->ncol, tables, &r, &m, &e, &S);
    if (s == FSS_OK)
        s = fss_stats_open_to(ev, sp, &r, 0, r.count, words, st->at);
    fss_tensor_free(&r), fss_tensor_free(&m), fss_tensor_free(&e), fss_tensor_free(&S);
    return s;
}

fss_status fss_stats_walk(fss_eval *ev, const fss_stats_spec *sp, const fss_csv *const tables[2], uint64_t *words)
{
    fss_status s = main_walk(ev, sp, tables, words);
    for (size_t i = 0; s == FSS_OK && i < sp->nstats; i++)
        if (sp->stat[i].op == FSS_STAT_CORRELATION)
            s = corr_walk(ev, sp, &sp->stat[i], tables, words);
        else if (sp->stat[i].op == FSS_STAT_LINREG)
            s = fss_stats_regress_walk(ev, sp, &sp->stat[i], tables, words);
    return s;
}

size_t fss_stats_value_count(const fss_stats_spec *sp, size_t i)
{
    const fss_stat *st = &sp->stat[i];
    return st->op == FSS_STAT_HISTOGRAM     ? st->nedges - 1
         : st->op == FSS_STAT_CORRELATION ? st->ncol * st->ncol
         : st->op == FSS_STAT_LINREG      ? st->ncol
                                          : 1;
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
        out[0] = ldexp((double)w[0], -2 * st->f) / (n - st->ddof);
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
    case FSS_STAT_LINREG: { /* beta_j = m 2^(e - F'); the intercept c_y - sum beta_j c_j + Z */
        const size_t p = st->ncol - 1;
        double icpt = middle(sp, st->cols[p]);
        for (size_t j = 0; j <= p; j++) {
            const size_t wm = j < p ? j : 2 * p, we = j < p ? p + j : 2 * p + 1;
            out[j] = ldexp((double)(int64_t)w[wm], (int)(int64_t)w[we] - CORR_F);
            if (j < p)
                icpt -= out[j] * middle(sp, st->cols[j]);
        }
        out[p] += icpt;
        break;
    }
    case FSS_STAT_CORRELATION:
        for (size_t a = 0, q = 0; a < st->ncol; a++) {
            out[a * st->ncol + a] = 1;
            for (size_t b = a + 1; b < st->ncol; b++, q++)
                out[a * st->ncol + b] = out[b * st->ncol + a] = /* clipped to [-1, 1] as numpy does */
                    fmax(-1.0, fmin(1.0, ldexp((double)(int64_t)w[q], -FSS_STATS_CORR_SCALE)));
        }
        break;
    }
}

char *fss_stats_results_json(const fss_stats_spec *sp, const uint64_t *words)
{
    json_t *root = json_object(), *list = json_array(), *spec = json_object_get((json_t *)sp->json, "stats");
    size_t most = 1;
    for (size_t i = 0; i < sp->nstats; i++)
        most = fss_stats_value_count(sp, i) > most ? fss_stats_value_count(sp, i) : most;
    double *v = (double *)malloc(most * sizeof *v);
    int ok = root && list && v && !json_object_set_new(root, "split", json_string(sp->by_columns ? "columns" : "rows")) &&
             !json_object_set_new(root, "rows", json_integer((json_int_t)sp->n));
    for (size_t i = 0; ok && i < sp->nstats; i++) {
        const fss_stat *st = &sp->stat[i];
        json_t *e = json_deep_copy(json_array_get(spec, i)), *val = NULL;
        if (!e) {
            ok = 0;
            break;
        }
        fss_stats_value(sp, i, words, v);
        if (st->op == FSS_STAT_HISTOGRAM) {
            val = json_array();
            for (size_t j = 0; val && j + 1 < st->nedges; j++)
                ok &= !json_array_append_new(val, json_integer((json_int_t)words[st->at + j]));
        } else if (st->op == FSS_STAT_LINREG) {
            val = json_array();
            for (size_t j = 0; val && j + 1 < st->ncol; j++)
                ok &= !json_array_append_new(val, json_real(v[j]));
            ok &= !json_object_set_new(e, "intercept", json_real(v[st->ncol - 1]));
        } else if (st->op == FSS_STAT_CORRELATION) {
            val = json_array();
            for (size_t a = 0; val && a < st->ncol; a++) {
                json_t *row = json_array();
                for (size_t b = 0; row && b < st->ncol; b++)
                    ok &= !json_array_append_new(row, json_real(v[a * st->ncol + b]));
                ok &= row && !json_array_append_new(val, row);
            }
        } else {
            val = st->op == FSS_STAT_COUNT ? json_integer((json_int_t)sp->n) : json_real(v[0]);
        }
        const char *key = st->op == FSS_STAT_HISTOGRAM     ? "counts"
                        : st->op == FSS_STAT_CORRELATION ? "matrix"
                        : st->op == FSS_STAT_LINREG      ? "coefficients"
                                                         : "value";
        ok &= val && !json_object_set_new(e, key, val); /* takes val, even when it fails */
        ok &= !json_array_append_new(list, e);          /* takes e */
    }
    char *text = ok && !json_object_set(root, "results", list)
                     ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17))
                     : NULL;
    fss_free_wiped(v, most * sizeof *v); /* the receiver's results */
    json_decref(list);
    json_decref(root);
    return text;
}
