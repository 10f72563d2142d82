/* online: one party of a secure run, or the clear fixed-point run.
 *
 *   online --party 0 --keys DIR/p0.bin --peer HOST:PORT [options of the model's family]
 *   online --party 1 --keys DIR/p1.bin --peer HOST:PORT [options of the model's family]
 *   online --clear --model NAME [options of its family]
 *
 * Party 0 (the model owner) listens on HOST:PORT, party 1 (the data owner) connects. The
 * key file says which model it is for; the family's options (weights, inputs, outputs)
 * are read and checked before the key file is spent, and outputs are written only when
 * the run succeeded. Models, families and their options come from the registry
 * (fss/family.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fss/run.h"

typedef struct opts {
    int party, clear, json, quiet, threads;
    double timeout;
    const char *keys, *peer, *model, *backend, *state_dir, *tls_cert, *tls_key, *tls_ca, *masked;
    fss_args fa; /* the family's options */
} opts;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: online --party 0|1 --keys FILE --peer HOST:PORT [options of the model's family]\n"
            "       online --clear --model NAME [options of its family]\n"
            "  --party B        0: the model owner (listens); 1: the data owner (connects)\n"
            "  --keys FILE      this party's key file from the dealer (used once)\n"
            "  --peer HOST:PORT party 0 listens there, party 1 connects there\n"
            "  --clear          the clear fixed-point run of --model, for checking\n"
            "  --model NAME     with --clear: one of %s\n"
            "  --backend B      cpu (default) or cuda: where the gates' FSS evaluations and\n"
            "                   matrix and convolution products run (the rest stays on the CPU)\n"
            "  --threads N      CPU threads (default: all), and as many reading keys\n"
            "  --timeout S      seconds to wait for the peer to connect or answer (default 120)\n"
            "  --state-dir DIR  where this machine's ledger of spent runs lives (default\n"
            "                   $XDG_STATE_HOME/fsskit or ~/.local/state/fsskit): a copy of a\n"
            "                   used key file is refused\n"
            "  --tls-cert FILE, --tls-key FILE, --tls-ca FILE\n"
            "                   host identity on top of the run's secret: this party's\n"
            "                   certificate and key (PEM), and the CA the peer's must chain to\n"
            "                   (party 0's must name the host in --peer)\n"
            "  --masked-weights FILE  party 1, weights input once (dealer --setup): the setup run\n"
            "                   writes FILE, each inference reads it (party 0 keeps none)\n"
            "  --json           one line of figures on stdout at the end; seconds count from\n"
            "                   the connection (backend up) to the output, setup_seconds before;\n"
            "                   phases: seconds reading keys, parsing them, in FSS evaluations,\n"
            "                   in ring products and exchanging with the peer (--clear: the\n"
            "                   run's shape and the ring's headroom)\n"
            "  --quiet          no progress lines\n",
            fss_family_models());
    fss_family_usage(f, FSS_ROLE_PARTY0 | FSS_ROLE_PARTY1 | FSS_ROLE_CLEAR);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int bad(const char *fmt, const char *v)
{
    fprintf(stderr, "online: ");
    fprintf(stderr, fmt, v);
    fprintf(stderr, "\n");
    return 2;
}

static int parse(int argc, char **argv, opts *o)
{
    memset(o, 0, sizeof *o);
    o->party = -1;
    o->backend = "cpu";
    o->timeout = 120.0;
    char err[512];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int *on = !strcmp(a, "--clear") ? &o->clear : !strcmp(a, "--json") ? &o->json
                : !strcmp(a, "--quiet")  ? &o->quiet : NULL;
        const char **str = !strcmp(a, "--keys") ? &o->keys : !strcmp(a, "--peer") ? &o->peer
                         : !strcmp(a, "--model") ? &o->model : !strcmp(a, "--backend") ? &o->backend
                         : !strcmp(a, "--state-dir") ? &o->state_dir : !strcmp(a, "--tls-cert") ? &o->tls_cert
                         : !strcmp(a, "--tls-key") ? &o->tls_key : !strcmp(a, "--tls-ca") ? &o->tls_ca
                         : !strcmp(a, "--masked-weights") ? &o->masked : NULL;
        const int number = !strcmp(a, "--party") || !strcmp(a, "--threads") || !strcmp(a, "--timeout");
        char *end = NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        } else if (on) {
            *on = 1;
        } else if ((str || number) && !v) {
            return bad("%s needs a value (see --help)", a);
        } else if (str) {
            *str = argv[++i];
        } else if (!strcmp(a, "--party")) {
            if (strcmp(v, "0") && strcmp(v, "1"))
                return bad("--party is 0 or 1, not '%s'", v);
            o->party = v[0] - '0';
            i++;
        } else if (!strcmp(a, "--threads")) {
            long t = v[0] >= '0' && v[0] <= '9' ? strtol(v, &end, 10) : 0;
            if (!end || *end || t < 1 || t > 4096)
                return bad("--threads needs a whole number from 1 to 4096, not '%s'", v);
            o->threads = (int)t;
            i++;
        } else if (!strcmp(a, "--timeout")) {
            o->timeout = strtod(v, &end);
            if (*end || !(o->timeout > 0 && o->timeout < 1e9)) /* refuses nan too */
                return bad("--timeout needs a positive number of seconds, not '%s'", v);
            i++;
        } else if (fss_args_take(&o->fa, argc, argv, &i, err, sizeof err) != FSS_OK) {
            return bad("%s", err);
        } else {
            i--; /* fss_args_take moved past the flag and its value */
        }
    }
    if (strcmp(o->backend, "cpu") && strcmp(o->backend, "cuda"))
        return bad("unknown backend '%s': cpu or cuda (see --help)", o->backend);
    const char *why = !strcmp(o->backend, "cuda") && !o->clear ? fss_backend_unavailable(FSS_BACKEND_CUDA) : NULL;
    if (why)
        return bad("%s", why);
    if (o->clear && !o->model) /* a family's own flag may name the model (--stats) */
        o->model = fss_family_selected(&o->fa);
    if (o->clear) {
        if (!o->model)
            return bad("%s", "--clear needs --model (see --help)");
        if (o->party >= 0 || o->keys || o->peer || o->state_dir || o->tls_cert || o->tls_key || o->tls_ca || o->masked)
            return bad("%s", "--clear runs without keys or a peer: drop --party, --keys, --peer, --state-dir, "
                             "--masked-weights and --tls-*");
        return 0;
    }
    if (o->party < 0 || !o->keys || !o->peer)
        return bad("%s", "--party, --keys and --peer are required (or --clear; see --help)");
    if (o->model)
        return bad("%s", "a party's key file names its model: drop --model");
    return 0;
}

/* Each line of a (possibly multi-line) message, prefixed. */
static void say(const char *msg)
{
    for (const char *p = msg; *p;) {
        const size_t n = strcspn(p, "\n");
        fprintf(stderr, "online: %.*s\n", (int)n, p);
        p += n + (p[n] == '\n');
    }
}

static int run_clear(const opts *o)
{
    char err[1024];
    fss_model *m = NULL;
    fss_progress *pg = NULL;
    int head = 64, rc = 2;
    if (fss_model_configure(&m, o->model, FSS_ROLE_CLEAR, &o->fa, err, sizeof err) != FSS_OK ||
        fss_model_check_args(m, FSS_ROLE_CLEAR, &o->fa, err, sizeof err) != FSS_OK ||
        fss_model_load(m, FSS_ROLE_CLEAR, &o->fa, err, sizeof err) != FSS_OK)
        goto done;
    rc = 1;
    if (fss_progress_new(&pg, "online", 1) != FSS_OK ||
        fss_clear_run(m, o->threads, pg, &head, err, sizeof err) != FSS_OK)
        goto done;
    /* The secure run equals this one bit for bit, wrapped or not: say how close the
     * products and sums came to the ring's limit. */
    if (head <= 1)
        fprintf(stderr,
                "online: warning: a product or sum came within %d bit%s of the ring's limit and may have wrapped: "
                "these weights or inputs need a model with fewer fractional bits\n",
                head < 0 ? 0 : head, head == 1 ? "" : "s");
    else if (!o->quiet)
        fprintf(stderr, "online: clear run: the largest product or sum left %d bits of headroom in the ring\n", head);
    if (fss_model_save(m, FSS_ROLE_CLEAR, &o->fa, err, sizeof err) == FSS_OK)
        rc = 0;
    if (!rc && o->json) /* the run's shape (a text's: the sequence it took), and the headroom */
        printf("{\"clear\": true, %s, \"headroom_bits\": %d}\n", fss_model_shape_json(m), head);
done:
    if (rc)
        say(pg || rc == 2 ? err : "out of memory");
    fss_progress_free(pg);
    fss_model_free(m);
    return rc;
}

static int run_party(const opts *o)
{
    const fss_role role = fss_role_of_party(o->party);
    const double t_start = now_s();
    char err[1024];
    fss_model *m = NULL;
    fss_session *s = NULL;
    fss_progress *pg = NULL;
    fss_party_weights *pw = NULL;
    int rc = 2;
    /* everything that can be checked before the key file is spent */
    if (fss_model_from_keyfile(&m, o->keys, o->party, err, sizeof err) != FSS_OK ||
        fss_model_check_args(m, role, &o->fa, err, sizeof err) != FSS_OK ||
        fss_model_load(m, role, &o->fa, err, sizeof err) != FSS_OK ||
        fss_party_weights_open(&pw, m, o->party, o->masked, err, sizeof err) != FSS_OK) {
        say(err);
        goto done;
    }
    rc = 1;
    const fss_session_config c = {.party = o->party, .keys = o->keys, .peer = o->peer, .timeout = o->timeout,
                                  .threads = o->threads,
                                  .backend = strcmp(o->backend, "cuda") ? FSS_BACKEND_CPU : FSS_BACKEND_CUDA,
                                  .description = fss_model_description(m), .state_dir = o->state_dir,
                                  .tls_cert = o->tls_cert, .tls_key = o->tls_key, .tls_ca = o->tls_ca};
    /* the clock starts once both parties are connected and the backend is up (a CUDA
     * context takes a few hundred ms to start): what came before is the setup time */
    double t0 = 0;
    if (fss_progress_new(&pg, "online", o->quiet) != FSS_OK || fss_session_open(&s, &c) != FSS_OK) {
        say(fss_session_error(s));
        goto done;
    }
    t0 = now_s();
    fss_party_weights_use(pw, fss_session_eval(s));
    if (fss_party_run(m, s, pg) != FSS_OK) {
        say(fss_session_error(s));
        fss_session_conclude(s, 0); /* tells the peer, if it still listens */
        goto done;
    }
    if (fss_model_save(m, role, &o->fa, err, sizeof err) != FSS_OK ||
        fss_party_weights_commit(pw, err, sizeof err) != FSS_OK) {
        say(err);
        fss_session_conclude(s, 0);
        goto done;
    }
    if (fss_session_conclude(s, 1) != FSS_OK) { /* both exit non-zero when either failed */
        say(fss_session_error(s));
        goto done;
    }
    fss_party_report(o->quiet ? NULL : stderr, o->json ? stdout : NULL, m, s, pg, now_s() - t0, t0 - t_start);
    rc = 0;
done:
    fss_party_weights_close(pw);
    fss_session_close(s);
    fss_progress_free(pg);
    fss_model_free(m);
    return rc;
}

int main(int argc, char **argv)
{
    fss_omp_prefer_passive(argv);
    fss_tune_malloc();
    opts o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc;
    return o.clear ? run_clear(&o) : run_party(&o);
}
