/* Joint statistics of two parties' tables (the `stats` family): two hospitals, each with
 * patient data that may not leave it, learn statistics of their joined data and nothing
 * else.
 *
 * The spec is public JSON, read by the dealer and by both parties (the key files carry its
 * SHA-256, so a party runs only the spec it was given):
 *
 *   {"split": "rows", "rows": [n0, n1], "columns": ["age", "bmi"],
 *    "bounds": {"age": [0, 120], "bmi": [10, 80]},
 *    "stats": [{"op": "mean", "column": "bmi"}, {"op": "histogram", "column": "age",
 *               "edges": [0, 30, 60, 120]}],
 *    "reveal_to": [0, 1]}
 *
 *   "split": "rows": party b holds rows[b] patients, every column; "columns": both hold the
 *     same "rows": n patients in the same order (matching them is not done here), party b
 *     the columns "columns": {"0": [...], "1": [...]}.
 *   "bounds": public limits [low, high] of a column's values, needed by every statistic but
 *     count and histogram: the fixed point is chosen from them (below); a value outside is
 *     refused before any key is spent.
 *   "stats": in order, each {"op": ..., operands}: count (the rows: public in the spec),
 *     sum, mean, min, max ("column"), variance and std ("column", "ddof": 0 as numpy's
 *     default, or 1), histogram ("column", "edges": increasing, numpy.histogram's bins:
 *     [e_i, e_i+1), the last closed, values outside none), correlation ("columns": 2 to
 *     64 of them; Pearson's, the matrix numpy.corrcoef gives, but 0 where a column is
 *     constant), linear_regression ("y": a column, "x": 1 to 63 others; ordinary least
 *     squares with an intercept: "coefficients" and "intercept"; stats/regress.c has how,
 *     and the x's may not be constant or collinear).
 *   "reveal_to": the parties that receive the results.
 *
 * What is revealed. Each party sums what it can alone (its rows' sums, minimum, maximum and
 * bin counts, and its sums of squares and products about its own means: integers, exact in
 * 128 bits and rounded once) and inputs those masked; the two are combined securely (a
 * sum; for a variance the term that joins two parties' moments, Chan et al.'s
 * SS = SS_0 + SS_1 + D^2, D = sqrt(n0 n1 / n) (mean_0 - mean_1) 2^f, each party inputting
 * its half of D, one product; a one-round ReLU for a minimum or maximum) and only each
 * statistic's final integer is opened, to the parties in reveal_to: for a mean, the
 * fixed-point sum S (n is public, so S tells no more than the mean); for a variance or
 * std, Q = SS = n var 2^2f (the same); for a minimum, maximum or bin, the value itself. No
 * party's own sums, nor the other statistics' parts, are opened. In the columns split a
 * column's owner computes its statistic's integer alone and inputs that. What the results
 * say by their nature stays said: with two parties in the rows split, a receiver that
 * subtracts its own part from a sum, a histogram or a maximum learns the other party's (its
 * sum, its bins, its maximum where that is the larger); a spec reveals only statistics both
 * parties are content to have known so.
 *
 * A correlation r_ab = C / sqrt(Q_a Q_b), C the co-moment n cov 2^(fa+fb) joined the same
 * way (C_0 + C_1 + D_a D_b; in the columns split, of two parties' columns, one ring product
 * of party 0's columns by party 1's, each centred at its owner's mean), is divided out
 * securely: the sign of C, then |C|, Q_a and Q_b each as a mantissa in [1, 2) and its
 * leading one's position (fss_gate_normalize), 1/sqrt of the mantissas' product
 * (fss_gate_rsqrt_fine), and the positions' 2^(e_C - (e_a + e_b) / 2) from two small
 * tables: r at scale 2^-58, relative error at most about 5e-7 against C / sqrt(Q_a Q_b)
 * (the reciprocal square root's 3.8e-7 and the mantissas' 2^-29), 0 where |r| < 2^-29.
 * Only r is opened. Against the data's own r, each value's step moves r by at most about
 * 2^-f / sigma (as noise, far less: 8e-8 on the breast-cancer table, 1.9e-5 relative on
 * its smallest r, 1.1e-4). A correlation of k columns costs k + k(k-1)/2 normalizations (60 comparisons
 * each) and 27 rounds; in the columns split, the products of the two parties' columns send
 * each party's columns masked (8 bytes a value).
 *
 * Fixed point. A value x of a column with bounds [lo, hi] (h = (hi - lo) / 2, c = lo + h)
 * is the integer X = round((x - c) 2^f), f chosen per statistic from h and the total rows
 * n so that every integer of the walk keeps 2 bits of headroom in the signed 64-bit ring
 * (bounds that put f outside [-200, 200] are refused):
 *   sum, mean:   n h 2^f <= 2^60: the mean's error at most 2^-(f+1);
 *   variance, std, correlation: sqrt(n) h 2^f <= 2^30, so SS <= n h^2 2^2f <= 2^60: X's
 *     step is 2^-f = sqrt(n) h 2^-30 (1/51000 of the range h at 442 rows, 1/1070 at 10^6),
 *     and the variance's error from the steps at most (2 sigma + 2^-f) 2^-(f+1); and the
 *     roundings: SS's, 2^-2f / n, and D's (each party rounds its half of D: D off by up to
 *     1, D^2 by up to 2|D| + 1), up to (2 |D| + 1) 2^-2f / n, |D| <= sqrt(n) h 2^f;
 *   min, max: h 2^f <= 2^59.
 * The secure result equals the clear fixed-point walk bit for bit. */
#ifndef FSS_STATS_H
#define FSS_STATS_H

#include "fss/csv.h"
#include "fss/eval.h"

FSS_EXTERN_C_BEGIN

typedef enum fss_stat_op {
    FSS_STAT_COUNT,
    FSS_STAT_SUM,
    FSS_STAT_MEAN,
    FSS_STAT_VARIANCE,
    FSS_STAT_STD,
    FSS_STAT_MIN,
    FSS_STAT_MAX,
    FSS_STAT_HISTOGRAM,
    FSS_STAT_CORRELATION,
    FSS_STAT_LINREG, /* linear_regression */
} fss_stat_op;

#define FSS_STATS_MAX_ROWS ((size_t)1 << 28)
#define FSS_STATS_MAX_COLUMNS 4096
#define FSS_STATS_MAX_STATS 4096
#define FSS_STATS_MAX_BINS 65536
#define FSS_STATS_MAX_CORR 64 /* columns of a correlation matrix */
/* A correlation's opened words: r at this scale (fss/stats.h's fixed point). */
#define FSS_STATS_CORR_SCALE 58

typedef struct fss_stat {
    fss_stat_op op;
    size_t col;     /* its column, an index of the spec's columns (count: none, SIZE_MAX) */
    size_t nedges;  /* histogram: its edges, nedges - 1 bins */
    double *edges;
    int ddof;       /* variance, std */
    int f;          /* the fixed point's fraction bits (above) */
    size_t ncol;    /* correlation: its columns (spec indices) and each one's fraction bits;
                       linear_regression: the x's, then y */
    size_t *cols;
    int *fcol;
    size_t at;      /* where its opened words are (fss_stats_walk's words) */
} fss_stat;

typedef struct fss_stats_spec {
    int by_columns;       /* "split": 0 rows, 1 columns */
    size_t rows[2], n;    /* rows: each party's and n their sum; columns: n each */
    size_t ncols;
    char **name;          /* the columns */
    int *owner;           /* columns split: the party holding it; rows split: -1 */
    size_t *local;        /* its index among its owner's columns (rows split: itself) */
    int *bounded;         /* bounds given, then lo and hi */
    double *lo, *hi;
    size_t nstats;
    fss_stat *stat;
    int reveal[2];        /* reveal[b]: party b receives the results */
    size_t words;         /* opened words: one a statistic, a histogram's bins each (count none) */
    uint8_t digest[32];   /* SHA-256 of the spec in canonical form (sorted keys, compact) */
    void *json;           /* the parsed spec (a jansson json_t), for the results */
} fss_stats_spec;

/* The spec from JSON text (name: the file's, for messages): every field checked, unknown
 * fields refused (a misspelt "reveal_to" must not pass). FSS_E_FORMAT and one line in err. */
FSS_NODISCARD fss_status fss_stats_spec_parse(const char *name, const char *text, size_t len, fss_stats_spec *sp,
                                              char *err, size_t err_len);
FSS_NODISCARD fss_status fss_stats_spec_read(const char *path, fss_stats_spec *sp, char *err, size_t err_len);
void fss_stats_spec_free(fss_stats_spec *sp);
/* The spec's operation name ("mean") and a statistic's short description ("mean of 'bmi'"). */
const char *fss_stat_op_name(fss_stat_op op);

/* Party b's table from a CSV file: the spec's columns of b, its row count, every value
 * within its column's bounds (refused with the row and column named). */
FSS_NODISCARD fss_status fss_stats_table_read(const fss_stats_spec *sp, int b, const char *path, fss_csv *t,
                                              char *err, size_t err_len);

/* The walk, the same for the dealer, the parties and the clear run: tables[b] is party b's
 * table (PARTY: this party's only; CLEAR: both; DEALER: none). words (sp->words) receives
 * the opened integers in CLEAR mode and in a receiving party's walk. */
FSS_NODISCARD fss_status fss_stats_walk(fss_eval *ev, const fss_stats_spec *sp, const fss_csv *const tables[2],
                                        uint64_t *words);

/* Statistic i's value(s) from the opened words: one number, a histogram's counts (as
 * doubles; nedges - 1 of them), a correlation matrix (ncol x ncol, row-major), or a
 * regression's coefficients then its intercept. out holds at least
 * fss_stats_value_count(sp, i) doubles. */
size_t fss_stats_value_count(const fss_stats_spec *sp, size_t i);
void fss_stats_value(const fss_stats_spec *sp, size_t i, const uint64_t *words, double *out);
/* The results as JSON text (malloc'ed; NULL when out of memory): {"split", "rows",
 * "results": [each spec entry with "value", or "counts"]}. */
char *fss_stats_results_json(const fss_stats_spec *sp, const uint64_t *words);

FSS_EXTERN_C_END

#endif
