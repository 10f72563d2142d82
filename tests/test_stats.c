/* Joint statistics (stats/): the CSV reader and the spec's checks on good and bad input,
 * then random specs and tables walked three times (clear, dealer, two parties over a
 * socketpair): the parties' opened words must equal the clear walk's bit for bit, at each
 * receiving party, and the clear walk's values must be within the fixed point's documented
 * error of the exact statistics (long double), histograms exact. Tables come with edge
 * values: the bounds themselves, a constant column, a party with one row, ties, values
 * on histogram edges. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "gate_harness.h"
#include "fss/csv.h"
#include "fss/gates.h"
#include "fss/ring.h"
#include "fss/stats.h"

static fss_rng *rng;
static fss_ctx *ctx;

static double uniform(void) { return (double)(check_u64(rng) >> 11) / 9007199254740992.0; }
static size_t below(size_t n) { return (size_t)(check_u64(rng) % n); }

/* ---- CSV ---------------------------------------------------------------------------- */

static void csv_cases(void)
{
    char err[256];
    fss_csv t;
    const char *const ab[] = {"a", "b"};
    /* a quoted header name with a quote in it */
    const char *const q[] = {"say \"hi\", twice"};
    static const char quoted[] = "x,\"say \"\"hi\"\", twice\"\n1,2\n";
    fss_status sq = fss_csv_parse("quoted", quoted, sizeof quoted - 1, q, 1, &t, err, sizeof err);
    CHECK(sq == FSS_OK && t.rows == 1 && t.v[0] == 2, "a quoted header: %s", sq == FSS_OK ? "wrong value" : err);
    fss_csv_free(&t);
    /* quotes, commas and line breaks in skipped fields, CRLF, a BOM, no final line break */
    const char good[] = "\xef\xbb\xbfid,\"a\",note,b\r\n1,2.5,\"x, \"\"y\"\"\nz\",-3e2\r\n2, 7 ,,\"1.25\"";
    fss_status s = fss_csv_parse("good", good, sizeof good - 1, ab, 2, &t, err, sizeof err);
    CHECK(s == FSS_OK, "a good table refused: %s", err);
    if (s == FSS_OK) {
        CHECK(t.rows == 2 && t.cols == 2, "%zu rows, %zu columns", t.rows, t.cols);
        CHECK(t.v[0] == 2.5 && t.v[1] == -300 && t.v[2] == 7 && t.v[3] == 1.25, "values %g %g %g %g", t.v[0], t.v[1],
              t.v[2], t.v[3]);
        fss_csv_free(&t);
    }
    static const struct {
        const char *text, *says;
    } bad[] = {
        {"a,b\n1,\n", "row 1 (line 2), column 'b': the cell is empty"},
        {"a,b\n1,2\n3,nan\n", "row 2 (line 3), column 'b': 'nan' is not a finite"},
        {"a,b\n1,inf\n", "'inf' is not a finite"},
        {"a,b\n1,0x10\n", "'0x10' is not a finite"},
        {"a,b\n1,1e999\n", "'1e999' is not a finite"},
        {"a,b\n1,NA\n", "'NA' is not a finite"},
        {"a,b\n1,2,3\n", "row 1 (line 2) has 3 fields; the header has 2"},
        {"a,b\n1\n", "row 1 (line 2) has 1 field; the header has 2"},
        {"a,b\n1,\"2\n", "a quoted field is never closed"},
        {"a,b\n1,\"2\"x\n", "text after a quoted field's closing quote"},
        {"a,b,a\n1,2,3\n", "names column 'a' twice"},
        {"a,c\n1,2\n", "the header has no column 'b'"},
        {"", "is empty"},
        {"a,b\n1,2\n\n", "row 2 (line 3) is a blank line"},
        {"a,b\n1,2\r\n\r\n3,4\n", "row 2 (line 3) is a blank line"},
    };
    const char *const twice[] = {"a", "a"};
    s = fss_csv_parse("t.csv", "a,b\n1,2\n", 8, twice, 2, &t, err, sizeof err);
    CHECK(s == FSS_E_ARG && strstr(err, "column 'a' is asked for twice"), "names asked twice: %d '%s'", (int)s, err);
    static const char nul[] = "a\0x,b\n1,2\n";
    s = fss_csv_parse("t.csv", nul, sizeof nul - 1, ab, 2, &t, err, sizeof err);
    CHECK(s == FSS_E_FORMAT && strstr(err, "header field 1 holds a NUL byte"), "a NUL in a name: %d '%s'", (int)s, err);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = 0;
        s = fss_csv_parse("t.csv", bad[i].text, strlen(bad[i].text), ab, 2, &t, err, sizeof err);
        CHECK(s == FSS_E_FORMAT && strstr(err, bad[i].says), "case %zu: status %d, '%s' (want '%s')", i, (int)s, err,
              bad[i].says);
        CHECK(!t.v && !t.rows, "case %zu: a refused table keeps values", i);
    }
}

/* ---- the spec ------------------------------------------------------------------------ */

static void spec_cases(void)
{
    char err[512];
    fss_stats_spec sp;
    static const char good[] =
        "{\"split\": \"rows\", \"rows\": [2, 3], \"columns\": [\"x\", \"y\"], \"bounds\": {\"x\": [-1, 1]},"
        " \"stats\": [{\"op\": \"mean\", \"column\": \"x\"}, {\"op\": \"histogram\", \"column\": \"y\", \"edges\": [0, 1, 2]},"
        " {\"op\": \"count\"}], \"reveal_to\": [1]}";
    fss_status s = fss_stats_spec_parse("good", good, sizeof good - 1, &sp, err, sizeof err);
    CHECK(s == FSS_OK, "a good spec refused: %s", err);
    if (s == FSS_OK) {
        CHECK(sp.n == 5 && sp.ncols == 2 && sp.nstats == 3 && sp.words == 3 && !sp.reveal[0] && sp.reveal[1],
              "n %zu, %zu columns, %zu statistics, %zu words", sp.n, sp.ncols, sp.nstats, sp.words);
        /* the same spec in another layout has the same digest; another spec another */
        fss_stats_spec b, c;
        static const char same[] =
            "{\"reveal_to\":[1],\"stats\":[{\"column\":\"x\",\"op\":\"mean\"},{\"op\":\"histogram\",\"edges\":[0,1,2],"
            "\"column\":\"y\"},{\"op\":\"count\"}],\"bounds\":{\"x\":[-1,1]},\"columns\":[\"x\",\"y\"],\"rows\":[2,3],"
            "\"split\":\"rows\"}";
        REQUIRE(fss_stats_spec_parse("same", same, sizeof same - 1, &b, err, sizeof err) == FSS_OK);
        CHECK(!memcmp(sp.digest, b.digest, 32), "a spec's digest depends on its layout");
        static const char diff[] =
            "{\"split\": \"rows\", \"rows\": [2, 3], \"columns\": [\"x\", \"y\"], \"bounds\": {\"x\": [-1, 1]},"
            " \"stats\": [{\"op\": \"mean\", \"column\": \"x\"}, {\"op\": \"histogram\", \"column\": \"y\", \"edges\": [0, 1, 2]},"
            " {\"op\": \"count\"}], \"reveal_to\": [0, 1]}";
        REQUIRE(fss_stats_spec_parse("diff", diff, sizeof diff - 1, &c, err, sizeof err) == FSS_OK);
        CHECK(memcmp(sp.digest, c.digest, 32), "two specs with one digest");
        fss_stats_spec_free(&c);
        CHECK(fss_stats_spec_parse("cut", good, sizeof good - 3, &c, err, sizeof err) == FSS_E_FORMAT &&
                  strstr(err, "cut: line 1, column"),
              "cut JSON: '%s'", err);
        fss_stats_spec_free(&b);
        fss_stats_spec_free(&c);
        fss_stats_spec_free(&sp);
    }
    static const struct {
        const char *text, *says;
    } bad[] = {
        {"{\"split\": \"rows\", \"rows\": [2, 3], \"columns\": [\"x\"], \"stats\": [{\"op\": \"count\"}], "
         "\"reveal_to\": [0], \"reveal_too\": [1]}",
         "field \"reveal_too\" the spec does not know"},
        {"{\"split\": \"diag\"}", "\"split\" must be"},
        {"{\"split\": \"rows\", \"rows\": 5}", "\"rows\" must be [n0, n1]"},
        {"{\"split\": \"columns\", \"rows\": [1, 2]}", "\"rows\" must be the patients' count"},
        {"{\"split\": \"rows\", \"rows\": [0, 3]}", "\"rows\" must be [n0, n1]"},
        {"{\"split\": \"rows\", \"rows\": [2, 3], \"columns\": [\"x\", \"x\"]}", "column \"x\" is named twice"},
        {"{\"split\": \"columns\", \"rows\": 3, \"columns\": {\"0\": [\"x\"], \"1\": [\"x\"]}}", "named twice"},
        {"{\"split\": \"columns\", \"rows\": 3, \"columns\": [\"x\"]}", "\"columns\" is {\"0\""},
        {"{\"split\": \"rows\", \"rows\": [2, 3], \"columns\": [\"x\"], \"stats\": [{\"op\": \"mean\", \"column\": "
         "\"x\"}], \"reveal_to\": [0]}",
         "needs the column's public bounds"},
        {"{\"split\": \"rows\", \"rows\": [2, 3], \"columns\": [\"x\"], \"bounds\": {\"x\": [1, 1]}}", "low < high"},
        {"{\"split\": \"rows\", \"rows\": [2, 3], \"columns\": [\"x\"], \"bounds\": {\"z\": [0, 1]}}",
         "\"bounds\" names \"z\""},
        {"{\"split\": \"rows\", \"rows\": [2, 3], \"columns\": [\"x\"], \"stats\": [{\"op\": \"histogram\", \"column\": "
         "\"x\", \"edges\": [0, 2, 1]}], \"reveal_to\": [0]}",
         "edge 3 must be a number greater"},
        {"{\"split\": \"rows\", \"rows\": [2, 3], \"columns\": [\"x\"], \"stats\": [{\"op\": \"median\", \"column\": "
         "\"x\"}], \"reveal_to\": [0]}",
         "unknown op \"median\""},
        {"{\"split\": \"rows\", \"rows\": [2, 3], \"columns\": [\"x\"], \"stats\": [{\"op\": \"linear_regression\"}], "
         "\"reveal_to\": [0]}",
         "needs \"y\": a column and \"x\": 1 to 63"},
        {"{\"split\": \"rows\", \"rows\": [2, 3], \"columns\": [\"x\", \"y\"], \"bounds\": {\"x\": [0, 1], \"y\": [0, 1]}, "
         "\"stats\": [{\"op\": \"linear_regression\", \"y\": \"y\", \"x\": [\"y\"]}], \"reveal_to\": [0]}",
         "names \"y\" twice"},
        {"{\"split\": \"rows\", \"rows\": [2, 3], \"columns\": [\"x\", \"y\"], \"bounds\": {\"x\": [0, 1]}, \"stats\": "
         "[{\"op\": \"correlation\", \"columns\": [\"x\", \"y\"]}], \"reveal_to\": [0]}",
         "needs the public bounds of \"y\""},
        {"{\"split\": \"rows\", \"rows\": [2, 3], \"columns\": [\"x\", \"y\"], \"bounds\": {\"x\": [0, 1]}, \"stats\": "
         "[{\"op\": \"correlation\", \"columns\": [\"x\", \"x\"]}], \"reveal_to\": [0]}",
         "names \"x\" twice"},
        {"{\"split\": \"rows\", \"rows\": [2, 3], \"columns\": [\"x\"], \"bounds\": {\"x\": [0, 1]}, \"stats\": "
         "[{\"op\": \"correlation\", \"columns\": [\"x\"]}], \"reveal_to\": [0]}",
         "needs \"columns\": 2 to 64"},
        {"{\"split\": \"rows\", \"rows\": [2, 3], \"columns\": [\"x\"], \"stats\": [{\"op\": \"count\", \"edges\": "
         "[1]}], \"reveal_to\": [0]}",
         "statistic 1 has a field \"edges\""},
        {"{\"split\": \"rows\", \"rows\": [2, 3], \"columns\": [\"x\"], \"stats\": [{\"op\": \"count\"}], "
         "\"reveal_to\": [0, 0]}",
         "each once"},
        {"{\"split\": \"rows\", \"rows\": [2, 3], \"columns\": [\"x\"], \"stats\": [{\"op\": \"count\"}], "
         "\"reveal_to\": []}",
         "\"reveal_to\" must list"},
        {"{\"split\": \"rows\", \"split\": \"rows\"}", "duplicate"},
        {"{\"split\": \"rows\", \"rows\": [2, 3], \"columns\": [\"x\"], \"bounds\": {\"x\": [0, 1]}, \"stats\": "
         "[{\"op\": \"std\", \"column\": \"x\", \"ddof\": 2}], \"reveal_to\": [0]}",
         "\"ddof\" is 0"},
        {"[1, 2]", "a spec is a JSON object"},
        {"{\"split\": \"rows\", \"rows\": [2, 3], \"columns\": [\"x\"], \"bounds\": {\"x\": [-1e300, 1e300]}, \"stats\": "
         "[{\"op\": \"sum\", \"column\": \"x\"}], \"reveal_to\": [0]}",
         "too wide or too narrow"},
        {"{\"split\": \"rows\", \"rows\": [2, 3], \"columns\": [\"x\"], \"bounds\": {\"x\": [0, 1e-80]}, \"stats\": "
         "[{\"op\": \"min\", \"column\": \"x\"}], \"reveal_to\": [0]}",
         "too wide or too narrow"},
        {"{\"split\": \"rows\", \"rows\": [2, 3], \"columns\": [\"x\", \"y\"], \"bounds\": {\"x\": [0, 1e90], \"y\": [0, 1]}, "
         "\"stats\": [{\"op\": \"correlation\", \"columns\": [\"y\", \"x\"]}], \"reveal_to\": [0]}",
         "the bounds of \"x\""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = 0;
        s = fss_stats_spec_parse("s.json", bad[i].text, strlen(bad[i].text), &sp, err, sizeof err);
        CHECK(s == FSS_E_FORMAT && strstr(err, bad[i].says), "spec case %zu: status %d, '%s' (want '%s')", i, (int)s,
              err, bad[i].says);
    }
}

/* ---- random specs and tables through the three walks ----------------------------------- */

typedef struct model {
    const fss_stats_spec *sp;
    const fss_csv *tab[2];
} model;

static fss_status walk(fss_eval *ev, const void *p, uint64_t *out)
{
    const model *md = (const model *)p;
    const int b = fss_eval_party(ev), clear = fss_eval_mode(ev) == FSS_MODE_CLEAR;
    const fss_csv *tabs[2] = {clear || b == 0 ? md->tab[0] : NULL, clear || b == 1 ? md->tab[1] : NULL};
    uint64_t scratch = 0;
    return fss_stats_walk(ev, md->sp, tabs, out ? out : &scratch);
}

/* A variance's opened word, Q = n var 2^2f of the encoded values: in the rows split the
 * parties' sums of squares about their own means, rounded, and the term that joins them
 * (Chan et al.), D^2 with D = sqrt(n0 n1 / n) (mean_0 - mean_1) 2^f as the two parties round
 * their halves; in the columns split the one party's, rounded. */
static int64_t round_div(__int128 num, int64_t d) { return (int64_t)((num >= 0 ? num + d / 2 : num - d / 2) / d); }

static uint64_t spread_word(const double *x, size_t n, size_t n0, double mid, int f)
{
    int64_t S[2] = {0, 0}, SS[2] = {0, 0}, U[2] = {0, 0};
    for (int b = 0; b < 2; b++) {
        const size_t from = b ? n0 : 0, to = b ? n : n0, m = to - from;
        if (!m)
            continue;
        __int128 q = 0;
        for (size_t r = from; r < to; r++) {
            const int64_t X = (int64_t)llround(ldexp(x[r] - mid, f));
            S[b] += X, q += (__int128)X * X;
        }
        SS[b] = round_div((__int128)m * q - (__int128)S[b] * S[b], (int64_t)m);
        if (n0 < n)
            U[b] = llround(sqrt((double)(b ? n0 : n - n0) / ((double)n * (double)m)) * (double)S[b]);
    }
    const int64_t D = U[0] - U[1];
    return (uint64_t)SS[0] + (uint64_t)SS[1] + (uint64_t)D * (uint64_t)D;
}

/* A number of a column's range: mostly uniform, sometimes a bound, the middle (0 in fixed
 * point) or a repeated value. */
static double draw(double lo, double hi, double again)
{
    const size_t k = below(9);
    return k == 0 ? lo : k == 1 ? hi : k == 2 ? again : k == 3 ? lo + (hi - lo) / 2 : lo + (hi - lo) * uniform();
}

/* A random spec (JSON text) and its tables: ncols columns, every statistic of each, a
 * histogram whose edges include values that occur. */
static void random_case(int trial)
{
    const int by_columns = (int)below(2);
    const size_t rows0 = below(4) ? 1 + below(60) : 1, rows1 = 1 + below(60), ncols = 1 + below(4);
    const size_t n = by_columns ? rows0 : rows0 + rows1;
    char spec[16384];
    double lo[4], hi[4], *cols[4];
    int owner[4];
    size_t at = 0;
    at += (size_t)snprintf(spec + at, sizeof spec - at, "{\"split\": \"%s\", ", by_columns ? "columns" : "rows");
    if (by_columns)
        at += (size_t)snprintf(spec + at, sizeof spec - at, "\"rows\": %zu, ", n);
    else
        at += (size_t)snprintf(spec + at, sizeof spec - at, "\"rows\": [%zu, %zu], ", rows0, rows1);
    for (size_t c = 0; c < ncols; c++) {
        const double scale = pow(10.0, (double)below(13) - 6.0);
        lo[c] = -scale * (double)below(1000);
        hi[c] = lo[c] + scale * (double)(1 + below(2000));
        owner[c] = by_columns ? (c == 0 ? 0 : c == 1 ? 1 : (int)below(2)) : -1;
        REQUIRE((cols[c] = (double *)malloc(n * sizeof(double))) != NULL);
        const double again = lo[c] + (hi[c] - lo[c]) * uniform();
        const int constant = below(6) == 0;
        for (size_t r = 0; r < n; r++)
            cols[c][r] = constant ? again : draw(lo[c], hi[c], again);
    }
    if (by_columns) {
        at += (size_t)snprintf(spec + at, sizeof spec - at, "\"columns\": {");
        for (int b = 0; b < 2; b++) {
            at += (size_t)snprintf(spec + at, sizeof spec - at, "%s\"%d\": [", b ? ", " : "", b);
            int first = 1;
            for (size_t c = 0; c < ncols; c++)
                if (owner[c] == b)
                    at += (size_t)snprintf(spec + at, sizeof spec - at, "%s\"c%zu\"", first ? "" : ", ", c), first = 0;
            at += (size_t)snprintf(spec + at, sizeof spec - at, "]");
        }
        at += (size_t)snprintf(spec + at, sizeof spec - at, "}, ");
    } else {
        at += (size_t)snprintf(spec + at, sizeof spec - at, "\"columns\": [");
        for (size_t c = 0; c < ncols; c++)
            at += (size_t)snprintf(spec + at, sizeof spec - at, "%s\"c%zu\"", c ? ", " : "", c);
        at += (size_t)snprintf(spec + at, sizeof spec - at, "], ");
    }
    at += (size_t)snprintf(spec + at, sizeof spec - at, "\"bounds\": {");
    for (size_t c = 0; c < ncols; c++)
        at += (size_t)snprintf(spec + at, sizeof spec - at, "%s\"c%zu\": [%.17g, %.17g]", c ? ", " : "", c, lo[c],
                               hi[c]);
    at += (size_t)snprintf(spec + at, sizeof spec - at, "}, \"stats\": [{\"op\": \"count\"}");
    static const char *const ops[] = {"sum", "mean", "variance", "std", "min", "max"};
    for (size_t c = 0; c < ncols; c++) {
        for (size_t k = 0; k < 6; k++)
            at += (size_t)snprintf(spec + at, sizeof spec - at, ", {\"op\": \"%s\", \"column\": \"c%zu\"%s}", ops[k], c,
                                   (k == 2 || k == 3) && n > 1 && below(2) ? ", \"ddof\": 1" : "");
        /* edges: the bounds, a value that occurs, and a point inside */
        double e[4] = {lo[c], lo[c] + (hi[c] - lo[c]) * uniform(), cols[c][below(n)], hi[c]};
        for (int i = 1; i < 4; i++) /* sort */
            for (int j = i; j > 0 && e[j] < e[j - 1]; j--) {
                const double t = e[j];
                e[j] = e[j - 1], e[j - 1] = t;
            }
        at += (size_t)snprintf(spec + at, sizeof spec - at, ", {\"op\": \"histogram\", \"column\": \"c%zu\", \"edges\": [%.17g",
                               c, e[0]);
        for (int i = 1; i < 4; i++)
            if (e[i] > e[i - 1])
                at += (size_t)snprintf(spec + at, sizeof spec - at, ", %.17g", e[i]);
            else
                e[i] = e[i - 1];
        at += (size_t)snprintf(spec + at, sizeof spec - at, "]}");
    }
    if (ncols >= 2) { /* a correlation of every column, in a random order */
        size_t perm[4] = {0, 1, 2, 3};
        for (size_t i = ncols - 1; i > 0; i--) {
            const size_t j = below(i + 1), t = perm[i];
            perm[i] = perm[j], perm[j] = t;
        }
        at += (size_t)snprintf(spec + at, sizeof spec - at, ", {\"op\": \"correlation\", \"columns\": [");
        for (size_t i = 0; i < ncols; i++)
            at += (size_t)snprintf(spec + at, sizeof spec - at, "%s\"c%zu\"", i ? ", " : "", perm[i]);
        at += (size_t)snprintf(spec + at, sizeof spec - at, "]}");
    }
    /* a regression of the last column on the others, where it is well posed: no constant
     * column, rows enough */
    int regress = ncols >= 2 && n >= 8 * ncols;
    for (size_t c = 0; regress && c < ncols; c++) {
        int same = 1;
        for (size_t r = 1; r < n && same; r++)
            same = cols[c][r] == cols[c][0];
        regress = !same;
    }
    if (regress) {
        at += (size_t)snprintf(spec + at, sizeof spec - at, ", {\"op\": \"linear_regression\", \"y\": \"c%zu\", \"x\": [",
                               ncols - 1);
        for (size_t c = 0; c + 1 < ncols; c++)
            at += (size_t)snprintf(spec + at, sizeof spec - at, "%s\"c%zu\"", c ? ", " : "", c);
        at += (size_t)snprintf(spec + at, sizeof spec - at, "]}");
    }
    const int reveal = (int)below(3); /* 0: [0], 1: [1], 2: both */
    at += (size_t)snprintf(spec + at, sizeof spec - at, "], \"reveal_to\": %s}",
                           reveal == 0 ? "[0]" : reveal == 1 ? "[1]" : "[0, 1]");
    REQUIRE(at < sizeof spec);

    char err[512];
    fss_stats_spec sp;
    fss_status s = fss_stats_spec_parse("random", spec, at, &sp, err, sizeof err);
    CHECK(s == FSS_OK, "trial %d: a random spec refused: %s\n%s", trial, err, spec);
    if (s != FSS_OK)
        goto out;
    /* the tables: party b's rows (rows split) or columns (columns split), as the CSV reader
     * gives them */
    fss_csv tab[2] = {{0}, {0}};
    size_t mine[4]; /* the spec's index of column c<j> is j's: the columns split lists party 0's first */
    for (size_t j = 0; j < ncols; j++)
        mine[j] = (size_t)atoi(sp.name[j] + 1);
    for (int b = 0; b < 2; b++) {
        size_t k = 0;
        for (size_t j = 0; j < ncols; j++)
            k += sp.owner[j] < 0 || sp.owner[j] == b;
        tab[b].rows = sp.rows[b];
        tab[b].cols = k;
        REQUIRE((tab[b].v = (double *)calloc(sp.rows[b] * (k ? k : 1), sizeof(double))) != NULL);
        for (size_t r = 0; r < sp.rows[b]; r++)
            for (size_t j = 0; j < ncols; j++)
                if (sp.owner[j] < 0 || sp.owner[j] == b)
                    tab[b].v[r * k + sp.local[j]] = cols[mine[j]][by_columns || b == 0 ? r : rows0 + r];
    }
    model md = {&sp, {&tab[0], &tab[1]}};
    const size_t W = sp.words ? sp.words : 1;
    uint64_t *want = (uint64_t *)calloc(W, 8), *got[2] = {(uint64_t *)calloc(W, 8), (uint64_t *)calloc(W, 8)};
    REQUIRE(want && got[0] && got[1]);
    fss_eval *ev = NULL;
    REQUIRE(fss_eval_new_clear(&ev, ctx) == FSS_OK);
    s = walk(ev, &md, want);
    CHECK(s == FSS_OK, "trial %d: the clear walk failed: %s", trial, fss_eval_error(ev));
    fss_eval_free(ev);

    /* the clear values against the exact statistics */
    double v[16];
    for (size_t i = 0; i < sp.nstats; i++) {
        const fss_stat *st = &sp.stat[i];
        fss_stats_value(&sp, i, want, v);
        if (st->op == FSS_STAT_COUNT) {
            CHECK(v[0] == (double)n, "trial %d: count %g of %zu", trial, v[0], n);
            continue;
        }
        if (st->op == FSS_STAT_LINREG) { /* against the normal equations in long double */
            const size_t p = st->ncol - 1;
            long double mean[4] = {0}, A[4][5] = {{0}};
            size_t cc[4];
            for (size_t j = 0; j <= p; j++) {
                cc[j] = mine[st->cols[j]];
                for (size_t r = 0; r < n; r++)
                    mean[j] += cols[cc[j]][r];
                mean[j] /= (long double)n;
            }
            for (size_t a = 0; a < p; a++) /* [cov(x_a, x_b) | cov(x_a, y)] */
                for (size_t b = 0; b <= p; b++)
                    for (size_t r = 0; r < n; r++)
                        A[a][b] += (cols[cc[a]][r] - mean[a]) * (cols[cc[b]][r] - mean[b]);
            for (size_t a = 0; a < p; a++)
                for (size_t i2 = a + 1; i2 < p; i2++) {
                    const long double q = A[i2][a] / A[a][a];
                    for (size_t b = a; b <= p; b++)
                        A[i2][b] -= q * A[a][b];
                }
            long double beta[4] = {0}, icpt = mean[p], norm = 0, diff = 0;
            for (size_t a = p; a-- > 0;) {
                long double t = A[a][p];
                for (size_t b = a + 1; b < p; b++)
                    t -= A[a][b] * beta[b];
                beta[a] = t / A[a][a];
            }
            for (size_t a = 0; a < p; a++)
                icpt -= beta[a] * mean[a];
            for (size_t j = 0; j <= p; j++) {
                const long double want_j = j < p ? beta[j] : icpt;
                norm += want_j * want_j, diff += (v[j] - want_j) * (v[j] - want_j);
            }
            CHECK(sqrtl(diff) <= 1e-3 * sqrtl(norm), "trial %d: regression of c%zu on %zu columns (n %zu): error %.3Lg of %.3Lg",
                  trial, cc[p], p, n, sqrtl(diff), sqrtl(norm));
            continue;
        }
        if (st->op == FSS_STAT_CORRELATION) { /* against the data's own r (long double) */
            const size_t k = st->ncol;
            for (size_t i0 = 0; i0 < k; i0++)
                for (size_t i1 = i0 + 1; i1 < k; i1++) {
                    const size_t ca = mine[st->cols[i0]], cb = mine[st->cols[i1]];
                    long double ma = 0, mb = 0, saa = 0, sbb = 0, sab = 0;
                    for (size_t r = 0; r < n; r++)
                        ma += cols[ca][r], mb += cols[cb][r];
                    ma /= (long double)n, mb /= (long double)n;
                    for (size_t r = 0; r < n; r++) {
                        const long double da = cols[ca][r] - ma, db = cols[cb][r] - mb;
                        saa += da * da, sbb += db * db, sab += da * db;
                    }
                    const double sa = sqrt((double)(saa / n)), sb = sqrt((double)(sbb / n));
                    const double r = saa > 0 && sbb > 0 ? (double)(sab / sqrtl(saa * sbb)) : 0.0, rv = v[i0 * k + i1];
                    /* the rsqrt's relative error, the steps' (each value moved by at most 2^-(f+1) moves r
                     * by at most about 2^-f / sigma), the smallest r the tables give */
                    const double tol = 6e-7 * fabs(r) + 2 * (ldexp(1.0, -st->fcol[i0]) / sa + ldexp(1.0, -st->fcol[i1]) / sb) +
                                       ldexp(1.0, -28);
                    CHECK((sa > 0 && sb > 0 ? fabs(rv - r) <= tol : rv == 0) && rv == v[i1 * k + i0] &&
                              v[i0 * k + i0] == 1,
                          "trial %d: correlation of c%zu and c%zu (n %zu): %.17g, want %.17g (error %.3g > %.3g)",
                          trial, ca, cb, n, rv, r, fabs(rv - r), tol);
                }
            continue;
        }
        const size_t c = mine[st->col];
        const double *x = cols[c];
        /* the opened integers, from the encoding in fss/stats.h */
        const double mid = lo[c] + (hi[c] - lo[c]) / 2;
        uint64_t s1 = 0, s2 = 0, w = 0;
        int64_t xmax = INT64_MIN, xmin = INT64_MAX;
        for (size_t r = 0; r < n && st->op != FSS_STAT_HISTOGRAM; r++) {
            const int64_t X = (int64_t)llround(ldexp(x[r] - mid, st->f));
            s1 += (uint64_t)X, s2 += (uint64_t)X * (uint64_t)X;
            xmax = X > xmax ? X : xmax, xmin = X < xmin ? X : xmin;
        }
        w = st->op == FSS_STAT_SUM || st->op == FSS_STAT_MEAN ? s1
          : st->op == FSS_STAT_MIN                           ? (uint64_t)xmin
          : st->op == FSS_STAT_MAX                           ? (uint64_t)xmax
                                                             : spread_word(x, n, by_columns ? n : rows0, mid, st->f);
        (void)s2;
        CHECK(st->op == FSS_STAT_HISTOGRAM || want[st->at] == w, "trial %d: %s of c%zu: opens %llu, want %llu", trial,
              fss_stat_op_name(st->op), c, (unsigned long long)want[st->at], (unsigned long long)w);
        long double sum = 0, sq = 0, mx = x[0], mn = x[0];
        for (size_t r = 0; r < n; r++)
            sum += x[r], mx = x[r] > mx ? x[r] : mx, mn = x[r] < mn ? x[r] : mn;
        const long double mean = sum / (long double)n;
        for (size_t r = 0; r < n; r++)
            sq += ((long double)x[r] - mean) * ((long double)x[r] - mean);
        const double step = ldexp(1.0, -st->f - 1), h = (hi[c] - lo[c]) / 2, tiny = 4e-15 * (h + fabs(lo[c] + h));
        const double var = (double)(sq / (long double)(n - (size_t)st->ddof)), sigma = sqrt((double)(sq / n));
        double want_v = 0, tol = 0;
        switch (st->op) {
        case FSS_STAT_SUM: want_v = (double)sum, tol = (double)n * (step + tiny); break;
        case FSS_STAT_MEAN: want_v = (double)mean, tol = step + tiny; break;
        case FSS_STAT_VARIANCE:
        case FSS_STAT_STD:
            want_v = var;
            /* in units of 2^-2f, over n - ddof: each value's rounding (|e| <= 2^-(f+1)) moves the spread by
             * 2 sum (x - m) e + sum e^2 <= n sigma 2^-f + n 2^-2f / 4; each half's rounded spread by 1/2; where
             * the rows are split, the rounded D (|D| <= sqrt(n) (sigma 2^f + 1/2) over the rounded values, off by
             * at most 1) by 2 |D| + 1 */
            tol = ((n + (by_columns ? 0 : 2 * sqrt((double)n))) * (sigma + step) * 2 * step +
                   ((double)n / 4 + 1 + (by_columns ? 0 : 1)) * 4 * step * step) /
                      (double)(n - (size_t)st->ddof) +
                  1e-12 * var + 8 * tiny * tiny;
            if (st->op == FSS_STAT_STD) /* |sqrt(a) - sqrt(b)| <= sqrt(|a - b|) */
                want_v = sqrt(var), tol = sqrt(tol) + 1e-12 * want_v;
            break;
        case FSS_STAT_MIN: want_v = (double)mn, tol = step + tiny; break;
        case FSS_STAT_MAX: want_v = (double)mx, tol = step + tiny; break;
        case FSS_STAT_HISTOGRAM:
            for (size_t j = 0; j + 1 < st->nedges; j++) {
                size_t k = 0;
                for (size_t r = 0; r < n; r++)
                    k += x[r] >= st->edges[j] &&
                         (x[r] < st->edges[j + 1] || (j + 2 == st->nedges && x[r] == st->edges[j + 1]));
                CHECK(v[j] == (double)k, "trial %d: histogram of c%zu, bin %zu: %g, want %zu", trial, c, j, v[j], k);
            }
            continue;
        case FSS_STAT_COUNT:
        case FSS_STAT_CORRELATION:
        case FSS_STAT_LINREG: break;
        }
        CHECK(fabs(v[0] - want_v) <= tol, "trial %d: %s of c%zu (f %d, n %zu): %.17g, want %.17g (error %.3g > %.3g)",
              trial, fss_stat_op_name(st->op), c, st->f, n, v[0], want_v, fabs(v[0] - want_v), tol);
    }

    /* the secure run: each receiving party's words equal the clear walk's */
    fss_memkeys *keys[2];
    harness_deal(ctx, rng, walk, &md, "stats", keys, NULL);
    party_run pr[2];
    harness_parties(walk, &md, "stats", keys, got, pr);
    for (int b = 0; b < 2; b++) {
        const int receives = reveal == 2 || reveal == b;
        size_t diff = SIZE_MAX;
        for (size_t i = 0; i < sp.words && diff == SIZE_MAX; i++)
            if (got[b][i] != (receives ? want[i] : 0))
                diff = i;
        CHECK(diff == SIZE_MAX, "trial %d (%s split): party %d%s: word %zu is %llu, want %llu", trial,
              by_columns ? "columns" : "rows", b, receives ? "" : " (receives nothing)", diff,
              (unsigned long long)got[b][diff], (unsigned long long)(receives ? want[diff] : 0));
    }
    fss_memkeys_free(keys[0]);
    fss_memkeys_free(keys[1]);
    free(want);
    free(got[0]);
    free(got[1]);
    fss_csv_free(&tab[0]);
    fss_csv_free(&tab[1]);
    fss_stats_spec_free(&sp);
out:
    for (size_t c = 0; c < ncols; c++)
        free(cols[c]);
}

/* ---- the numeric gates the correlations use ---------------------------------------- */

typedef struct num_model {
    size_t count;
    const uint64_t *x, *t; /* normalize's integers, rsqrt_fine's values (party 1's) */
} num_model;

#define NUM_L 61
#define NUM_F 29

/* out: [m | e | y] */
static fss_status num_walk(fss_eval *ev, const void *p, uint64_t *out)
{
    const num_model *md = (const num_model *)p;
    fss_tensor x = {0}, t = {0}, m = {0}, e = {0}, y = {0};
    fss_status s = fss_gate_input(ev, 1, 1, &md->count, 64, 0, md->x, &x);
    if (s == FSS_OK)
        s = fss_gate_input(ev, 1, 1, &md->count, 64, NUM_F, md->t, &t);
    if (s == FSS_OK)
        s = fss_gate_normalize(ev, &x, NUM_L, NUM_F, &m, &e);
    if (s == FSS_OK)
        s = fss_gate_rsqrt_fine(ev, &t, &y);
    for (int k = 0; k < 3 && s == FSS_OK; k++)
        s = fss_gate_output(ev, 1, k == 0 ? &m : k == 1 ? &e : &y, out ? out + (size_t)k * md->count : NULL);
    fss_tensor_free(&x), fss_tensor_free(&t), fss_tensor_free(&m), fss_tensor_free(&e), fss_tensor_free(&y);
    return s;
}

static void numeric_gates(void)
{
    const size_t N = 300;
    uint64_t x[300], t[300], want[900], got1[900], got0[900];
    for (size_t i = 0; i < N; i++) {
        const int bits = (int)below(NUM_L + 1); /* a random length, and the edges around it */
        const uint64_t top = bits ? (uint64_t)1 << (bits - 1) : 0;
        x[i] = i % 5 == 0 ? top : i % 5 == 1 ? (top ? 2 * top - 1 : 0) : top | (check_u64(rng) & (top ? top - 1 : 0));
        /* t in [1, 4): the ends, the table's steps' edges, random */
        const uint64_t one = (uint64_t)1 << NUM_F;
        t[i] = i == 0 ? one : i == 1 ? 4 * one - 1 : i % 7 == 0 ? one + (below(3 << 9) << (NUM_F - 9)) : one + below(3 * one);
    }
    const num_model md = {N, x, t};
    fss_eval *ev = NULL;
    REQUIRE(fss_eval_new_clear(&ev, ctx) == FSS_OK);
    fss_status s = num_walk(ev, &md, want);
    CHECK(s == FSS_OK, "numerics: the clear walk failed: %s", fss_eval_error(ev));
    fss_eval_free(ev);
    for (size_t i = 0; i < N; i++) {
        int o = 0;
        while (o < 63 && (x[i] >> (o + 1)))
            o++;
        const uint64_t m = x[i] ? (o >= NUM_F ? x[i] >> (o - NUM_F) : x[i] << (NUM_F - o)) : 0;
        CHECK(want[i] == m && want[N + i] == (uint64_t)o, "normalize(%llu): m %llu e %llu, want %llu and %d",
              (unsigned long long)x[i], (unsigned long long)want[i], (unsigned long long)want[N + i],
              (unsigned long long)m, o);
        const double tv = ldexp((double)t[i], -NUM_F), y = ldexp((double)want[2 * N + i], -NUM_F),
                     exact = 1 / sqrt(tv);
        CHECK(fabs(y - exact) <= FSS_RSQRT_FINE_ERROR(NUM_F) * exact, "rsqrt_fine(%.17g): %.17g, want %.17g (%.3g)",
              tv, y, exact, fabs(y - exact) / exact);
    }
    fss_memkeys *keys[2];
    harness_deal(ctx, rng, num_walk, &md, "numerics", keys, NULL);
    party_run pr[2];
    uint64_t *got[2] = {got0, got1};
    harness_parties(num_walk, &md, "numerics", keys, got, pr);
    CHECK(!memcmp(got1, want, sizeof want), "numerics: the secure run differs from the clear walk");
    fss_memkeys_free(keys[0]);
    fss_memkeys_free(keys[1]);
}

/* ---- a classifier's counts ----------------------------------------------------------- */

typedef struct acc_model {
    size_t B, C;
    int confusion, bits;
    const uint64_t *logits, *labels; /* party 0's logits (as a model's wires), party 1's labels */
} acc_model;

static fss_status acc_walk(fss_eval *ev, const void *p, uint64_t *out)
{
    const acc_model *md = (const acc_model *)p;
    const size_t shape[2] = {md->B, md->C};
    fss_tensor x = {0}, y = {0};
    fss_status s = fss_gate_input(ev, 0, 2, shape, md->bits, 12, md->logits, &x);
    if (s == FSS_OK)
        s = fss_gate_accuracy(ev, &x, 1, md->labels, md->confusion, &y);
    if (s == FSS_OK)
        s = fss_gate_output(ev, 1, &y, out);
    fss_tensor_free(&x), fss_tensor_free(&y);
    return s;
}

static void accuracy_cases(void)
{
    static const size_t classes[] = {2, 3, 10, 17};
    for (size_t t = 0; t < 8; t++) {
        const size_t C = classes[t % 4], B = 1 + below(40);
        const int confusion = (int)(t / 4), bits = t % 2 ? 40 : 64;
        uint64_t *lg = (uint64_t *)calloc(B * C, 8), *lab = (uint64_t *)calloc(B, 8);
        uint64_t *want = (uint64_t *)calloc(C * C, 8), *got[2] = {(uint64_t *)calloc(C * C, 8), (uint64_t *)calloc(C * C, 8)};
        REQUIRE(lg && lab && want && got[0] && got[1]);
        uint64_t expect[17 * 17] = {0}; /* [label][prediction], from plain C */
        for (size_t i = 0; i < B; i++) {
            for (size_t c = 0; c < C; c++) /* small values: ties happen; negative ones too */
                lg[i * C + c] = fss_ring_reduce((uint64_t)((int64_t)below(9) - 4) << 12, bits);
            lab[i] = below(C);
            size_t best = 0;
            for (size_t c = 1; c < C; c++)
                if (fss_ring_to_signed(lg[i * C + c], bits) > fss_ring_to_signed(lg[i * C + best], bits))
                    best = c;
            expect[lab[i] * C + best]++;
        }
        uint64_t right = 0;
        for (size_t c = 0; c < C; c++)
            right += expect[c * C + c];
        const acc_model md = {B, C, confusion, bits, lg, lab};
        fss_eval *ev = NULL;
        REQUIRE(fss_eval_new_clear(&ev, ctx) == FSS_OK);
        fss_status s = acc_walk(ev, &md, want);
        CHECK(s == FSS_OK, "accuracy: the clear walk failed: %s", fss_eval_error(ev));
        fss_eval_free(ev);
        if (confusion)
            CHECK(!memcmp(want, expect, C * C * 8), "accuracy: %zu classes, %zu rows: the confusion matrix differs", C, B);
        else
            CHECK(want[0] == right, "accuracy: %zu classes, %zu rows: %llu right, want %llu", C, B,
                  (unsigned long long)want[0], (unsigned long long)right);
        fss_memkeys *keys[2];
        harness_deal(ctx, rng, acc_walk, &md, "accuracy", keys, NULL);
        party_run pr[2];
        harness_parties(acc_walk, &md, "accuracy", keys, got, pr);
        CHECK(!memcmp(got[1], want, (confusion ? C * C : 1) * 8), "accuracy: %zu classes: the secure counts differ", C);
        fss_memkeys_free(keys[0]);
        fss_memkeys_free(keys[1]);
        free(lg), free(lab), free(want), free(got[0]), free(got[1]);
    }
}

/* ---- the sigmoid ---------------------------------------------------------------------- */

typedef struct sig_model {
    size_t count;
    int bits, f;
    const uint64_t *x;
} sig_model;

static fss_status sig_walk(fss_eval *ev, const void *p, uint64_t *out)
{
    const sig_model *md = (const sig_model *)p;
    fss_tensor x = {0}, y = {0};
    fss_status s = fss_gate_input(ev, 1, 1, &md->count, md->bits, md->f, md->x, &x);
    if (s == FSS_OK)
        s = fss_gate_sigmoid(ev, &x, &y);
    if (s == FSS_OK)
        s = fss_gate_output(ev, 1, &y, out);
    fss_tensor_free(&x), fss_tensor_free(&y);
    return s;
}

static void sigmoid_cases(void)
{
    static const int shapes[][2] = {{64, 16}, {40, 12}, {24, 8}};
    for (size_t t = 0; t < 3; t++) {
        const int n = shapes[t][0], f = shapes[t][1];
        const size_t N = 400;
        uint64_t x[400], want[400], got0[400], got1[400];
        const double big = ldexp(1.0, n - 2 - f);
        for (size_t i = 0; i < N; i++) { /* edges, then random over [-20, 20] and the ring's range */
            static const double edge[] = {0, 16, -16, 15.999, -15.999, 1e-9, -1e-9, 0.5, -0.5};
            const double v = i < 9 ? edge[i] : i % 10 == 0 ? (2 * uniform() - 1) * big : 40 * uniform() - 20;
            x[i] = fss_ring_from_signed((int64_t)llround(ldexp(v, f)), n);
        }
        x[9] = (uint64_t)1 << (n - 1);                     /* the most negative value */
        x[10] = fss_ring_reduce(((uint64_t)1 << (n - 1)) - 1, n); /* the most positive */
        x[11] = fss_ring_reduce(((uint64_t)1 << (n - 1)) + 1, n);
        const sig_model md = {N, n, f, x};
        fss_eval *ev = NULL;
        REQUIRE(fss_eval_new_clear(&ev, ctx) == FSS_OK);
        fss_status s = sig_walk(ev, &md, want);
        CHECK(s == FSS_OK, "sigmoid: the clear walk failed: %s", fss_eval_error(ev));
        fss_eval_free(ev);
        double worst = 0;
        for (size_t i = 0; i < N; i++) {
            const double xv = ldexp((double)fss_ring_to_signed(x[i], n), -f), yv = ldexp((double)fss_ring_to_signed(want[i], n), -f);
            const double e = fabs(yv - 1 / (1 + exp(-xv)));
            worst = e > worst ? e : worst;
            CHECK(e <= FSS_SIGMOID_MAX_ERROR(f), "sigmoid(%.17g) at %d bits, scale %d: %.17g (error %.3g)", xv, n, f, yv, e);
        }
        fss_memkeys *keys[2];
        harness_deal(ctx, rng, sig_walk, &md, "sigmoid", keys, NULL);
        party_run pr[2];
        uint64_t *got[2] = {got0, got1};
        harness_parties(sig_walk, &md, "sigmoid", keys, got, pr);
        CHECK(!memcmp(got1, want, N * 8), "sigmoid: the secure run differs from the clear walk");
        fss_memkeys_free(keys[0]);
        fss_memkeys_free(keys[1]);
        printf("sigmoid at %d bits, scale %d: largest error %.3g (bound %.3g)\n", n, f, worst, FSS_SIGMOID_MAX_ERROR(f));
    }
}

int main(void)
{
    rng = check_init("test_stats");
    REQUIRE(fss_ctx_new(&ctx, 1) == FSS_OK);
    csv_cases();
    spec_cases();
    numeric_gates();
    accuracy_cases();
    sigmoid_cases();
    for (int trial = 0; trial < 40; trial++)
        random_case(trial);
    fss_rng_free(rng);
    fss_ctx_free(ctx);
    return check_summary();
}
