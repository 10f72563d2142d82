/* Joint statistics as a model family (fss/family.h): the spec, each party's table, and the
 * results revealed to the parties the spec names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fss/family.h"
#include "fss/npy.h"
#include "fss/stats.h"

typedef struct stats_run {
    /* the description: from the spec (dealer, clear) or the key file (a party) */
    int by_columns;
    size_t rows[2], nstats;
    uint8_t digest[32];
    fss_stats_spec sp; /* read (sp.json set) by configure or a party's load */
    fss_csv tab[2];
    int have[2];     /* tab[b] read */
    uint64_t *words; /* the opened integers: a receiving party and the clear run */
} stats_run;

static const fss_flag stats_flags[] = {
    {"--stats", "SPEC", FSS_ROLES_ALL, FSS_ROLES_ALL,
     "the statistics' spec (JSON: the split, rows, columns, bounds, stats and reveal_to), the same file for the "
     "dealer and both parties; names the model without --model"},
    {"--table", "FILE", FSS_ROLE_PARTY0 | FSS_ROLE_PARTY1, FSS_ROLE_PARTY0 | FSS_ROLE_PARTY1,
     "this party's CSV table (a header row; the spec's columns of this party)"},
    {"--table0", "FILE", FSS_ROLE_CLEAR, FSS_ROLE_CLEAR, "party 0's table"},
    {"--table1", "FILE", FSS_ROLE_CLEAR, FSS_ROLE_CLEAR, "party 1's table"},
    {"--output", "FILE", FSS_ROLE_PARTY0 | FSS_ROLE_PARTY1 | FSS_ROLE_CLEAR, 0,
     "the results as JSON (a party in the spec's reveal_to, and the clear run)"},
    {NULL, NULL, 0, 0, NULL},
};

static int stats_knows(const char *model) { return !strcmp(model, "stats"); }

static fss_status stats_configure(void **state, const char *model, fss_role role, const fss_args *a, char *err,
                                  size_t err_len)
{
    (void)model, (void)role;
    stats_run *r = (stats_run *)calloc(1, sizeof *r);
    if (!r)
        return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
    *state = r;
    const char *spec = fss_args_get(a, "--stats");
    if (!spec)
        return fss_errorf(err, err_len, FSS_E_ARG, "the statistics need their spec: --stats SPEC.json");
    fss_status s = fss_stats_spec_read(spec, &r->sp, err, err_len);
    if (s != FSS_OK)
        return s;
    r->by_columns = r->sp.by_columns;
    r->rows[0] = r->sp.rows[0], r->rows[1] = r->sp.rows[1];
    r->nstats = r->sp.nstats;
    memcpy(r->digest, r->sp.digest, sizeof r->digest);
    return FSS_OK;
}

/* "split=rows rows=300,142 stats=7 spec=<SHA-256 of the spec, hex>" */
static fss_status stats_parse(void **state, const char *desc, char *err, size_t err_len)
{
    stats_run *r = (stats_run *)calloc(1, sizeof *r);
    if (!r)
        return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
    *state = r;
    char split[16], hex[65];
    int used = 0;
    if (sscanf(desc, "split=%15s rows=%zu,%zu stats=%zu spec=%64[0-9a-f]%n", split, &r->rows[0], &r->rows[1],
               &r->nstats, hex, &used) != 5 ||
        (size_t)used != strlen(desc) || strlen(hex) != 64 || (strcmp(split, "rows") && strcmp(split, "columns")))
        return fss_errorf(err, err_len, FSS_E_FORMAT, "the key file describes '%s', which this build does not know",
                          desc);
    r->by_columns = !strcmp(split, "columns");
    for (int i = 0; i < 32; i++) {
        unsigned v = 0;
        sscanf(hex + 2 * i, "%2x", &v);
        r->digest[i] = (uint8_t)v;
    }
    return FSS_OK;
}

static void describe(const void *state, char *out, size_t len)
{
    const stats_run *r = (const stats_run *)state;
    int k = snprintf(out, len, "split=%s rows=%zu,%zu stats=%zu spec=", r->by_columns ? "columns" : "rows",
                     r->rows[0], r->rows[1], r->nstats);
    for (int i = 0; i < 32 && k > 0 && (size_t)k + 2 < len; i++)
        k += snprintf(out + k, len - (size_t)k, "%02x", r->digest[i]);
}

static void shape_json(const void *state, char *out, size_t len)
{
    const stats_run *r = (const stats_run *)state;
    snprintf(out, len, "\"model\": \"stats\", \"split\": \"%s\", \"rows\": %zu, \"stats\": %zu",
             r->by_columns ? "columns" : "rows", r->by_columns ? r->rows[0] : r->rows[0] + r->rows[1], r->nstats);
}

static fss_status stats_load(void *state, fss_role role, const fss_args *a, char *err, size_t err_len)
{
    stats_run *r = (stats_run *)state;
    if (role == FSS_ROLE_DEALER)
        return FSS_OK;
    fss_status s = FSS_OK;
    const char *spec = fss_args_get(a, "--stats");
    if (!r->sp.json) { /* a party: its own copy of the spec, which must be the one dealt */
        if ((s = fss_stats_spec_read(spec, &r->sp, err, err_len)) != FSS_OK)
            return s;
        if (memcmp(r->sp.digest, r->digest, sizeof r->digest))
            return fss_errorf(err, err_len, FSS_E_ARG,
                              "the spec %s is not the one these keys were dealt for (their SHA-256 differ): give the "
                              "spec the dealer was given", spec);
    }
    const fss_stats_spec *sp = &r->sp;
    const int clear = role == FSS_ROLE_CLEAR, b = role == FSS_ROLE_PARTY1;
    for (int p = 0; p < 2 && s == FSS_OK; p++)
        if (clear || p == b)
            if ((s = fss_stats_table_read(sp, p, fss_args_get(a, clear ? (p ? "--table1" : "--table0") : "--table"),
                                          &r->tab[p], err, err_len)) == FSS_OK)
                r->have[p] = 1;
    const char *out = fss_args_get(a, "--output");
    if (s != FSS_OK)
        return s;
    if (clear || sp->reveal[b]) {
        if (!out)
            return fss_errorf(err, err_len, FSS_E_ARG, "%s receives the results: give --output FILE.json",
                              clear ? "the clear run" : b ? "party 1" : "party 0");
        if ((s = fss_npy_check_writable(out, err, err_len)) != FSS_OK)
            return s;
    } else if (out) {
        return fss_errorf(err, err_len, FSS_E_ARG,
                          "the spec reveals the results to party %d only: party %d receives nothing, drop --output",
                          1 - b, b);
    }
    if (!(r->words = (uint64_t *)calloc(sp->words ? sp->words : 1, sizeof(uint64_t))))
        return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
    return FSS_OK;
}

static fss_status stats_walk(void *state, fss_eval *ev, fss_progress *pg)
{
    stats_run *r = (stats_run *)state;
    const fss_csv *tabs[2] = {r->have[0] ? &r->tab[0] : NULL, r->have[1] ? &r->tab[1] : NULL};
    fss_status s = fss_stats_walk(ev, &r->sp, tabs, r->words);
    if (s == FSS_OK)
        fss_progress_step(pg, 0, 1, "statistics");
    return s;
}

static fss_status stats_save(void *state, fss_role role, const fss_args *a, char *err, size_t err_len)
{
    stats_run *r = (stats_run *)state;
    const fss_stats_spec *sp = &r->sp;
    if (!(role == FSS_ROLE_CLEAR || (role == FSS_ROLE_PARTY0 && sp->reveal[0]) ||
          (role == FSS_ROLE_PARTY1 && sp->reveal[1])))
        return FSS_OK;
    char *text = fss_stats_results_json(sp, r->words);
    if (!text)
        return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory writing the results");
    const size_t n = strlen(text);
    const size_t nv = FSS_STATS_MAX_BINS + FSS_STATS_MAX_CORR * FSS_STATS_MAX_CORR;
    double *v = (double *)malloc(nv * sizeof *v);
    fss_status s = v ? fss_file_write_private(fss_args_get(a, "--output"), text, n, err, err_len)
                     : fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
    if (s == FSS_OK) /* for people: a line a statistic */
        for (size_t i = 0; i < sp->nstats; i++) {
            const fss_stat *st = &sp->stat[i];
            fss_stats_value(sp, i, r->words, v);
            fprintf(stderr, "stats: %s%s%s%s", fss_stat_op_name(st->op), st->col == SIZE_MAX ? "" : " of '",
                    st->col == SIZE_MAX ? "" : sp->name[st->col], st->col == SIZE_MAX ? "" : "'");
            if (st->op == FSS_STAT_LINREG) {
                fprintf(stderr, ": intercept %.8g", v[st->ncol - 1]);
                for (size_t j = 0; j + 1 < st->ncol; j++)
                    fprintf(stderr, ", %s %.8g", sp->name[st->cols[j]], v[j]);
                fprintf(stderr, "\n");
            } else if (st->op == FSS_STAT_CORRELATION) {
                for (size_t i0 = 0; i0 < st->ncol; i0++)
                    for (size_t i1 = i0 + 1; i1 < st->ncol; i1++)
                        fprintf(stderr, "%s %s~%s %.6f", i0 + i1 == 1 ? ":" : ",", sp->name[st->cols[i0]],
                                sp->name[st->cols[i1]], v[i0 * st->ncol + i1]);
                fprintf(stderr, "\n");
            } else if (st->op == FSS_STAT_HISTOGRAM) {
                fprintf(stderr, ":");
                for (size_t j = 0; j + 1 < st->nedges && j < 16; j++)
                    fprintf(stderr, " %.0f", v[j]);
                fprintf(stderr, "%s\n", st->nedges > 17 ? " ..." : "");
            } else {
                fprintf(stderr, " = %.10g\n", v[0]);
            }
        }
    fss_free_wiped(text, n + 1);
    fss_free_wiped(v, nv * sizeof *v);
    return s;
}

static void stats_free(void *state)
{
    stats_run *r = (stats_run *)state;
    if (!r)
        return;
    fss_csv_free(&r->tab[0]);
    fss_csv_free(&r->tab[1]);
    if (r->words)
        fss_free_wiped(r->words, (r->sp.words ? r->sp.words : 1) * sizeof(uint64_t));
    fss_stats_spec_free(&r->sp);
    free(r);
}

const fss_family fss_family_stats = {
    .name = "stats",
    .version = 4, /* 2: fresh shares (a seed each party) of the products', selects', lookups', shifts'
                   * and one-round ReLUs' output masks; 3: FSS keys without their roots (a seed a
                   * party and gate, runtime/keys.c), explicit shares balanced between the parties;
                   * 4: lookups of 64-bit entries from pairs of whole words (DPF early = 3) */
    .models = "stats (--stats SPEC names it)",
    .selector = "--stats",
    .flags = stats_flags,
    .knows = stats_knows,
    .configure = stats_configure,
    .parse = stats_parse,
    .describe = describe,
    .shape_json = shape_json,
    .load = stats_load,
    .walk = stats_walk,
    .save = stats_save,
    .free = stats_free,
};
