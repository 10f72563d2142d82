/* Running a model in each walk, and the figures of its layers (fss/run.h). */
#include "fss/run.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "eval_internal.h" /* fss_now */
#include "fss/io_adapt.h"
#include "fss/weights_file.h"

/* ---- progress ----------------------------------------------------------------------- */

typedef struct layer_row {
    const char *name; /* the family's (static) layer name */
    double seconds;   /* running totals at the layer's end */
    uint64_t bytes, rounds, key_bytes;
} layer_row;

struct fss_progress {
    const char *who;
    int quiet;
    double t0;
    const fss_eval *ev;
    layer_row *rows;
    size_t n, cap;
};

fss_status fss_progress_new(fss_progress **out, const char *who, int quiet)
{
    fss_progress *pg = (fss_progress *)calloc(1, sizeof *pg);
    *out = pg;
    if (!pg)
        return FSS_E_NOMEM;
    pg->who = who;
    pg->quiet = quiet;
    pg->t0 = fss_now();
    return FSS_OK;
}

void fss_progress_watch(fss_progress *pg, const fss_eval *ev)
{
    if (!pg)
        return;
    pg->ev = ev;
    pg->t0 = fss_now();
    pg->n = 0;
}

void fss_progress_step(fss_progress *pg, size_t layer, size_t nlayers, const char *what)
{
    if (!pg)
        return;
    const double t = fss_now() - pg->t0;
    if (pg->ev && pg->n == pg->cap) { /* a row a layer, grown as the walk goes */
        size_t cap = pg->cap ? 2 * pg->cap : 64;
        layer_row *r = (layer_row *)realloc(pg->rows, cap * sizeof *r);
        if (r) {
            pg->rows = r;
            pg->cap = cap;
        }
    }
    if (pg->ev && pg->n < pg->cap) {
        const fss_eval_stats *st = fss_eval_stats_get(pg->ev);
        const int b = fss_eval_party(pg->ev);
        pg->rows[pg->n++] = (layer_row){what, t, st->bytes_sent + st->bytes_received, st->rounds,
                                        b >= 0 ? st->key_bytes[b] : st->key_bytes[0] + st->key_bytes[1]};
    }
    if (!pg->quiet)
        fprintf(stderr, "%s: layer %zu/%zu (%s) done, %.2f s\n", pg->who, layer + 1, nlayers, what, t);
}

void fss_progress_print_json(const fss_progress *pg, FILE *f)
{
    fprintf(f, ", \"per_layer\": [");
    for (size_t i = 0; pg && i < pg->n; i++) {
        const layer_row *r = &pg->rows[i], *p = i ? &pg->rows[i - 1] : NULL;
        fprintf(f, "%s{\"layer\": \"%s\", \"seconds\": %.6f, \"bytes\": %llu, \"rounds\": %llu, \"key_bytes\": %llu}",
                i ? ", " : "", r->name, r->seconds - (p ? p->seconds : 0),
                (unsigned long long)(r->bytes - (p ? p->bytes : 0)),
                (unsigned long long)(r->rounds - (p ? p->rounds : 0)),
                (unsigned long long)(r->key_bytes - (p ? p->key_bytes : 0)));
    }
    fprintf(f, "]");
}

void fss_progress_free(fss_progress *pg)
{
    if (!pg)
        return;
    free(pg->rows);
    free(pg);
}

/* The room on out's file system (out or, before it exists, its parent), in bytes; -1
 * when it cannot be told. */
double fss_deal_room(const char *out)
{
    struct statvfs sv;
    char parent[4096];
    snprintf(parent, sizeof parent, "%s", out);
    size_t n = strlen(parent);
    while (n > 1 && parent[n - 1] == '/') /* "keys/" is "keys" */
        parent[--n] = 0;
    if (statvfs(parent, &sv) == 0)
        return (double)sv.f_bavail * (double)sv.f_frsize;
    char *slash = strrchr(parent, '/');
    if (slash)
        *(slash == parent ? slash + 1 : slash) = 0;
    else
        snprintf(parent, sizeof parent, ".");
    return statvfs(parent, &sv) == 0 ? (double)sv.f_bavail * (double)sv.f_frsize : -1;
}

/* A key file (or a partial one) already in out: refused before any walk. */
int fss_deal_taken(const char *out, const char *setup, char *err, size_t len)
{
    static const char *const names[] = {"p0.bin", "p1.bin", "p0.bin.partial", "p1.bin.partial"};
    struct stat sb;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", out, names[i]);
        if (lstat(path, &sb) == 0) {
            snprintf(err, len, "%.900s exists: %s; remove it or choose another --out", path,
                     i < 2 ? "keys of another run" : "a dealer run was interrupted or is still running");
            return 1;
        }
    }
    if (setup && lstat(setup, &sb) == 0) {
        snprintf(err, len, "%.900s exists: a model key of another setup; remove it or choose another path", setup);
        return 1;
    }
    return 0;
}

/* ---- the walks ---------------------------------------------------------------------- */

fss_status fss_deal_files(fss_model *m, const fss_deal_config *c, fss_deal_result *res, char *err, size_t err_len)
{
    memset(res, 0, sizeof *res);
    if (!c->dry && mkdir(c->dir, 0700) != 0 && errno != EEXIST)
        return fss_errorf(err, err_len, FSS_E_IO, "cannot create %s: %s", c->dir, strerror(errno));
    fss_model_key wk;
    memset(&wk, 0, sizeof wk);
    const int wonce = c->setup || c->weights_key;
    fss_status s = wonce ? fss_deal_weights(m, c, &wk, err, err_len) : FSS_OK;
    if (s != FSS_OK)
        return s;
    /* a signal from here on removes the new model key with the partial key files */
    const int key_slot = c->setup && !c->dry ? fss_keyfile_remove_on_signal_add(c->setup) : -1;
    const char *desc = fss_model_description(m);
    uint8_t run_id[FSS_KEYFILE_RUN_ID_BYTES], secret[FSS_KEYFILE_SECRET_BYTES];
    fss_keyfile_writer *w[2] = {NULL, NULL};
    fss_ctx *cpu = NULL;
    fss_rng *rng = NULL;
    fss_eval *ev = NULL;
    s = fss_ctx_new(&cpu, c->threads);
    if (s == FSS_OK)
        s = fss_rng_new_os(&rng);
    if (s == FSS_OK)
        s = fss_rng_bytes(rng, run_id, sizeof run_id);
    if (s == FSS_OK)
        s = fss_rng_bytes(rng, secret, sizeof secret);
    if (s != FSS_OK) {
        fss_errorf(err, err_len, s, "cannot set up the CPU backend or the random source: %s", fss_status_str(s));
        goto done;
    }
    for (int b = 0; b < 2; b++) {
        snprintf(res->path[b], sizeof res->path[b], "%s/p%d.bin", c->dir, b);
        s = c->dry ? fss_keyfile_create_counter(&w[b], b)
                   : fss_keyfile_create(&w[b], res->path[b], b, run_id, fss_model_fingerprint(m), secret);
        if (s == FSS_OK) { /* the description, then a NUL and the plan where the family has one */
            size_t plen = 0, dl = strlen(desc);
            const uint8_t *plan = fss_model_plan(m, &plen);
            uint8_t *chunk = plan ? (uint8_t *)malloc(dl + 1 + plen) : NULL;
            if (plan && !chunk)
                s = FSS_E_NOMEM;
            else if (plan) {
                memcpy(chunk, desc, dl + 1);
                memcpy(chunk + dl + 1, plan, plen);
                s = fss_keyfile_write_chunk(w[b], FSS_KEY_MODEL, 1, chunk, dl + 1 + plen);
            } else {
                s = fss_keyfile_write_chunk(w[b], FSS_KEY_MODEL, 1, desc, dl);
            }
            free(chunk);
        }
        if (s != FSS_OK) {
            fss_errorf(err, err_len, s, "%s",
                       s == FSS_E_NOMEM ? "out of memory" : w[b] ? fss_keyfile_writer_error(w[b]) : fss_status_str(s));
            goto done;
        }
    }
    fss_keyfile_splitter split[2] = {{.w = w[0], .piece = c->piece}, {.w = w[1], .piece = c->piece}};
    fss_key_sink sinks[2] = {fss_keyfile_sink(&split[0]), fss_keyfile_sink(&split[1])};
    if ((s = fss_eval_new_dealer(&ev, cpu, rng, sinks)) != FSS_OK) {
        fss_errorf(err, err_len, s, "cannot set up the dealer: %s", fss_status_str(s));
        goto done;
    }
    if (c->dry)
        fss_eval_set_dry(ev);
    if (wonce)
        fss_eval_set_weight_key(ev, wk.key, c->setup != NULL);
    fss_progress_watch(c->pg, ev);
    if ((s = fss_model_walk(m, ev, c->pg)) != FSS_OK) {
        const char *kf = fss_keyfile_writer_error(w[fss_keyfile_writer_error(w[0])[0] ? 0 : 1]);
        fss_errorf(err, err_len, s, "%s%s%s", fss_eval_error(ev)[0] ? fss_eval_error(ev) : fss_status_str(s),
                   kf[0] ? "\n" : "", kf);
        goto done;
    }
    res->rounds = fss_eval_stats_get(ev)->rounds;
    res->sent[0] = fss_eval_stats_get(ev)->party_sent[0];
    res->sent[1] = fss_eval_stats_get(ev)->party_sent[1];
    res->input_max = fss_eval_stats_get(ev)->input_max;
    res->kept_max = fss_eval_stats_get(ev)->kept_max;
    memcpy(res->kind_bytes, fss_eval_stats_get(ev)->kind_bytes, sizeof res->kind_bytes);
    /* Both final paths are in the signal registry from before the first rename until both
     * are done: a signal at any moment leaves neither file (unlinking one not there yet
     * does nothing). A dry run has no files: nothing of dir's is ever removed. */
    int done_slot[2] = {-1, -1};
    for (int b = 0; b < 2 && !c->dry; b++)
        done_slot[b] = fss_keyfile_remove_on_signal_add(res->path[b]);
    for (int b = 0; b < 2; b++) {
        res->bytes[b] = fss_keyfile_writer_bytes(w[b]);
        if ((s = fss_keyfile_writer_close(w[b])) != FSS_OK) {
            fss_errorf(err, err_len, s, "%s", fss_keyfile_writer_error(w[b]));
            if (b == 1 && !c->dry) /* a key file without its twin is no use: leave neither */
                unlink(res->path[0]);
            break;
        }
        w[b] = NULL;
    }
    fss_keyfile_remove_on_signal_forget(done_slot[0]);
    fss_keyfile_remove_on_signal_forget(done_slot[1]);
    if (s != FSS_OK)
        goto done;
done:
    if (s != FSS_OK && c->setup && !c->dry) /* a model key without its setup keys is no use */
        unlink(c->setup);
    fss_keyfile_remove_on_signal_forget(key_slot);
    fss_model_key_wipe(&wk);
    fss_memzero(run_id, sizeof run_id);
    fss_memzero(secret, sizeof secret);
    for (int b = 0; b < 2; b++)
        fss_keyfile_writer_abort(w[b]); /* removes what a failed run left */
    fss_eval_free(ev);
    fss_rng_free(rng);
    fss_ctx_free(cpu);
    return s;
}

fss_status fss_clear_run(fss_model *m, int threads, fss_progress *pg, int *headroom_bits, char *err, size_t err_len)
{
    fss_ctx *cpu = NULL;
    fss_eval *ev = NULL;
    fss_status s = fss_ctx_new(&cpu, threads);
    if (s == FSS_OK)
        s = fss_eval_new_clear(&ev, cpu);
    if (s != FSS_OK) {
        fss_errorf(err, err_len, s, "cannot set up the clear run: %s", fss_status_str(s));
    } else {
        fss_progress_watch(pg, ev);
        if ((s = fss_model_walk(m, ev, pg)) != FSS_OK)
            fss_errorf(err, err_len, s, "clear run failed: %s", fss_eval_error(ev)[0] ? fss_eval_error(ev)
                                                                                     : fss_status_str(s));
        *headroom_bits = fss_eval_stats_get(ev)->headroom_bits;
    }
    fss_eval_free(ev);
    fss_ctx_free(cpu);
    return s;
}

fss_status fss_party_run(fss_model *m, fss_session *s, fss_progress *pg)
{
    fss_progress_watch(pg, fss_session_eval(s));
    fss_status st = fss_model_walk(m, fss_session_eval(s), pg);
    return st == FSS_OK ? fss_session_finish(s) : st;
}

void fss_party_report(FILE *human, FILE *json, fss_model *m, fss_session *s, const fss_progress *pg, double secs,
                      double setup)
{
    const fss_eval *ev = fss_session_eval(s);
    const fss_eval_stats *st = fss_eval_stats_get(ev);
    const int party = fss_eval_party(ev);
    if (human)
        fprintf(human,
                "online: party %d: %s in %.3f s (after %.3f s of setup), sent %.3f MB, received %.3f MB, %llu rounds, "
                "keys %.2f MB\n",
                party, fss_model_description(m), secs, setup, (double)fss_session_bytes_sent(s) / 1e6,
                (double)fss_session_bytes_received(s) / 1e6, (unsigned long long)st->rounds,
                (double)fss_session_key_bytes(s) / 1e6);
    if (!json)
        return;
    fprintf(json,
            "{\"party\": %d, %s, \"seconds\": %.6f, \"setup_seconds\": %.6f, \"bytes_sent\": %llu, "
            "\"bytes_received\": %llu, \"rounds\": %llu, \"key_bytes\": %llu, \"backend\": \"%s\", \"phases\": {",
            party, fss_model_shape_json(m), secs, setup, (unsigned long long)fss_session_bytes_sent(s),
            (unsigned long long)fss_session_bytes_received(s), (unsigned long long)st->rounds,
            (unsigned long long)fss_session_key_bytes(s), fss_backend_name(fss_eval_backend(ev)));
    for (int ph = 0; ph < FSS_PHASES; ph++)
        fprintf(json, "%s\"%s\": %.6f", ph ? ", " : "", fss_phase_name((fss_phase)ph), st->phase_seconds[ph]);
    fprintf(json, "}");
    fss_progress_print_json(pg, json);
    fprintf(json, "}\n");
}
