/* online: one party of a secure inference, or the clear fixed-point run.
 *
 *   online --party 0 --keys DIR/p0.bin --peer HOST:PORT [--weights FILE]
 *   online --party 1 --keys DIR/p1.bin --peer HOST:PORT --input FILE --output FILE
 *   online --clear --model NAME [--weights FILE] --input FILE --output FILE
 *
 * Party 0 (the model owner) listens on HOST:PORT, party 1 (the data owner) connects.
 * Inputs are .npy float32 [batch][c][h][w]; the output is .npy float32 logits
 * [batch][classes], written by party 1 only and only when the run succeeded. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fss/cnn.h"
#include "fss/io_adapt.h"
#include "fss/npy.h"
#include "fss/ring.h"
#include "fss/rng.h"
#include "fss/safetensors.h"

/* Weights when none are given: random ones of the right shape from this seed, the same
 * in a secure and a clear run, so that the two can be compared. */
#define DEFAULT_WEIGHT_SEED 1

typedef struct opts {
    int party, clear, json, quiet, threads;
    double timeout;
    size_t first; /* use only the first images of --input (0: all) */
    const char *keys, *peer, *weights, *input, *output, *model, *backend, *labels;
} opts;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: online --party 0 --keys FILE --peer HOST:PORT [--weights FILE]\n"
            "       online --party 1 --keys FILE --peer HOST:PORT --input FILE --output FILE\n"
            "       online --clear --model NAME [--weights FILE] --input FILE --output FILE\n"
            "  --party B        0: the model owner (listens); 1: the data owner (connects)\n"
            "  --keys FILE      this party's key file from the dealer (used once)\n"
            "  --peer HOST:PORT party 0 listens there, party 1 connects there\n"
            "  --weights FILE   safetensors weights (party 0, --clear); default: random (seed %d)\n"
            "  --input FILE     .npy float32 [batch][c][h][w] (party 1, --clear); 'random': uniform\n"
            "                   images from a fixed seed (with --clear, give --first N)\n"
            "  --output FILE    .npy float32 logits [batch][classes] (party 1, --clear)\n"
            "  --first N        use only the first N images of --input\n"
            "  --labels FILE    .npy integer labels: print predictions and accuracy (party 1, --clear)\n"
            "  --clear          the clear fixed-point run of --model, for checking\n"
            "  --model NAME     with --clear: one of %s\n"
            "  --backend B      cpu (default) or cuda: where the gates' FSS evaluations and\n"
            "                   matrix and convolution products run (the rest stays on the CPU)\n"
            "  --threads N      CPU threads (default: all), and as many reading keys\n"
            "  --timeout S      seconds to wait for the peer to connect or answer (default 120)\n"
            "  --json           one line of figures on stdout at the end; seconds count from\n"
            "                   the connection (backend up) to the output, setup_seconds before;\n"
            "                   phases: seconds reading keys, parsing them, in FSS evaluations,\n"
            "                   in ring products and exchanging with the peer\n"
            "  --quiet          no progress lines\n",
            DEFAULT_WEIGHT_SEED, fss_cnn_names());
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int parse(int argc, char **argv, opts *o)
{
    memset(o, 0, sizeof *o);
    o->party = -1;
    o->backend = "cpu";
    o->timeout = 120.0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **val = NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "--clear")) {
            o->clear = 1;
        } else if (!strcmp(a, "--json")) {
            o->json = 1;
        } else if (!strcmp(a, "--quiet")) {
            o->quiet = 1;
        } else if (!strcmp(a, "--party") && i + 1 < argc) {
            const char *v = argv[++i];
            if (strcmp(v, "0") && strcmp(v, "1")) {
                fprintf(stderr, "online: --party is 0 or 1, not '%s'\n", v);
                return 2;
            }
            o->party = v[0] - '0';
        } else if (!strcmp(a, "--threads") && i + 1 < argc) {
            o->threads = atoi(argv[++i]);
        } else if (!strcmp(a, "--first") && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 1) {
                fprintf(stderr, "online: --first needs a positive integer, not '%s'\n", argv[i]);
                return 2;
            }
            o->first = (size_t)v;
        } else if (!strcmp(a, "--timeout") && i + 1 < argc) {
            o->timeout = atof(argv[++i]);
            if (o->timeout <= 0) {
                fprintf(stderr, "online: --timeout needs a positive number of seconds\n");
                return 2;
            }
        } else if (!strcmp(a, "--keys")) {
            val = &o->keys;
        } else if (!strcmp(a, "--peer")) {
            val = &o->peer;
        } else if (!strcmp(a, "--weights")) {
            val = &o->weights;
        } else if (!strcmp(a, "--input")) {
            val = &o->input;
        } else if (!strcmp(a, "--output")) {
            val = &o->output;
        } else if (!strcmp(a, "--model")) {
            val = &o->model;
        } else if (!strcmp(a, "--backend")) {
            val = &o->backend;
        } else if (!strcmp(a, "--labels")) {
            val = &o->labels;
        } else {
            fprintf(stderr, "online: unknown option '%s' (see --help)\n", a);
            return 2;
        }
        if (val) {
            if (i + 1 >= argc) {
                fprintf(stderr, "online: %s needs a value (see --help)\n", a);
                return 2;
            }
            *val = argv[++i];
        }
    }
    if (strcmp(o->backend, "cpu") && strcmp(o->backend, "cuda")) {
        fprintf(stderr, "online: unknown backend '%s': cpu or cuda (see --help)\n", o->backend);
        return 2;
    }
    const char *why = !strcmp(o->backend, "cuda") && !o->clear ? fss_backend_unavailable(FSS_BACKEND_CUDA) : NULL;
    if (why) {
        fprintf(stderr, "online: %s\n", why);
        return 2;
    }
    if (o->clear) {
        if (!o->model || !o->input || !o->output) {
            fprintf(stderr, "online: --clear needs --model, --input and --output (see --help)\n");
            return 2;
        }
        return 0;
    }
    if (o->party < 0 || !o->keys || !o->peer) {
        fprintf(stderr, "online: --party, --keys and --peer are required (or --clear; see --help)\n");
        return 2;
    }
    if (o->party == 1 && (!o->input || !o->output)) {
        fprintf(stderr, "online: party 1 needs --input and --output\n");
        return 2;
    }
    if (o->party == 0 && (o->input || o->output)) {
        fprintf(stderr, "online: party 0 holds the weights; --input and --output belong to party 1\n");
        return 2;
    }
    if (o->party == 0 && (o->labels || o->first)) {
        fprintf(stderr, "online: --labels and --first belong to party 1\n");
        return 2;
    }
    if (o->party == 1 && o->weights) {
        fprintf(stderr, "online: party 1 holds the data; --weights belongs to party 0\n");
        return 2;
    }
    return 0;
}

/* Where a party's time, traffic and keys go, layer by layer (for --json and progress). */
typedef struct layer_stats {
    double t0, seconds[FSS_CNN_MAX_LAYERS];
    uint64_t bytes[FSS_CNN_MAX_LAYERS], rounds[FSS_CNN_MAX_LAYERS], key_bytes[FSS_CNN_MAX_LAYERS];
    const fss_eval *ev;
    const fss_keyfile_reader *r;
    int quiet;
} layer_stats;

static void progress(void *arg, size_t layer, size_t nlayers, const char *what)
{
    layer_stats *ls = (layer_stats *)arg;
    const double t = now_s() - ls->t0;
    if (layer < FSS_CNN_MAX_LAYERS && ls->ev) {
        const fss_eval_stats *st = fss_eval_stats_get(ls->ev);
        ls->seconds[layer] = t;
        ls->bytes[layer] = st->bytes_sent + st->bytes_received;
        ls->rounds[layer] = st->rounds;
        ls->key_bytes[layer] = ls->r ? fss_keyfile_reader_bytes(ls->r) : 0;
    }
    if (!ls->quiet)
        fprintf(stderr, "online: layer %zu/%zu (%s) done, %.2f s\n", layer + 1, nlayers, what, t);
}

/* ,"layers": [...] with each layer's own share (differences of the running totals). */
static void print_layers(const fss_cnn_model *m, const layer_stats *ls)
{
    printf(", \"layers\": [");
    for (size_t i = 0; i < m->nlayers && i < FSS_CNN_MAX_LAYERS; i++) {
        const double dt = ls->seconds[i] - (i ? ls->seconds[i - 1] : 0);
        printf("%s{\"layer\": \"%s\", \"seconds\": %.6f, \"bytes\": %llu, \"rounds\": %llu, \"key_bytes\": %llu}",
               i ? ", " : "", m->layers[i].name, dt, (unsigned long long)(ls->bytes[i] - (i ? ls->bytes[i - 1] : 0)),
               (unsigned long long)(ls->rounds[i] - (i ? ls->rounds[i - 1] : 0)),
               (unsigned long long)(ls->key_bytes[i] - (i ? ls->key_bytes[i - 1] : 0)));
    }
    printf("]");
}

/* Images of model m from an .npy file: float32 [batch][c][h][w]. */
/* Random images in [0, 1) from a fixed seed, for benchmarks of models without data. */
#define RANDOM_INPUT_SEED 2

static int random_images(size_t n, const fss_cnn_model *m, float **out, size_t *batch)
{
    size_t count = n * m->c * m->h * m->w;
    float *v = (float *)malloc(count * sizeof(float));
    uint64_t *u = (uint64_t *)malloc(count * 8);
    fss_rng *r = NULL;
    int rc = (v && u && fss_rng_new_seeded(&r, RANDOM_INPUT_SEED) == FSS_OK && fss_rng_bytes(r, u, count * 8) == FSS_OK) ? 0 : 1;
    for (size_t i = 0; !rc && i < count; i++)
        v[i] = (float)((double)(u[i] >> 11) / 9007199254740992.0);
    fss_rng_free(r);
    free(u);
    if (rc) {
        free(v);
        fprintf(stderr, "online: cannot make random images\n");
        return 1;
    }
    *out = v;
    *batch = n;
    return 0;
}

static int load_images(const char *path, size_t first, const fss_cnn_model *m, float **out, size_t *batch)
{
    char err[FSS_IO_ERR_LEN];
    fss_npy a;
    if (!strcmp(path, "random")) {
        if (!first) {
            fprintf(stderr, "online: --input random needs --first N (the number of images)\n");
            return 2;
        }
        return random_images(first, m, out, batch);
    }
    if (fss_npy_read(path, &a, err, sizeof err) != FSS_OK) {
        fprintf(stderr, "online: %s\n", err);
        return 2;
    }
    if (a.ndim != 4 || a.shape[1] != m->c || a.shape[2] != m->h || a.shape[3] != m->w || !a.shape[0]) {
        fprintf(stderr, "online: %s holds a %d-d array; model %s takes [batch][%zu][%zu][%zu]\n", path, a.ndim, m->name,
                m->c, m->h, m->w);
        fss_npy_free(&a);
        return 2;
    }
    float *v = (float *)malloc(a.count * sizeof(float));
    if (!v) {
        fss_npy_free(&a);
        fprintf(stderr, "online: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < a.count; i++) {
        v[i] = (float)fss_npy_get(&a, i);
        if (!isfinite(v[i])) {
            fprintf(stderr, "online: %s: element %zu (image %zu) is not a finite number\n", path, i,
                    i / (a.count / a.shape[0]));
            free(v);
            fss_npy_free(&a);
            return 2;
        }
    }
    *batch = a.shape[0];
    if (first) {
        if (first > a.shape[0]) {
            fprintf(stderr, "online: --first %zu, but %s holds %zu images\n", first, path, a.shape[0]);
            free(v);
            fss_npy_free(&a);
            return 2;
        }
        *batch = first;
    }
    *out = v;
    fss_npy_free(&a);
    return 0;
}

/* Predicted class of each image (the largest logit), and the accuracy against labels. */
static int report_labels(const char *path, const fss_cnn_model *m, size_t batch, const uint64_t *logits)
{
    char err[FSS_IO_ERR_LEN];
    fss_npy a;
    if (fss_npy_read(path, &a, err, sizeof err) != FSS_OK) {
        fprintf(stderr, "online: %s\n", err);
        return 2;
    }
    if (a.count < batch) {
        fprintf(stderr, "online: %s holds %zu labels for %zu images\n", path, a.count, batch);
        fss_npy_free(&a);
        return 2;
    }
    size_t right = 0;
    printf("predicted:");
    for (size_t i = 0; i < batch; i++) {
        size_t best = 0;
        for (size_t c = 1; c < m->classes; c++)
            if (fss_ring_to_signed(logits[i * m->classes + c], m->bits) >
                fss_ring_to_signed(logits[i * m->classes + best], m->bits))
                best = c;
        right += (double)best == fss_npy_get(&a, i);
        printf(" %zu", best);
    }
    printf("\naccuracy: %zu of %zu = %.2f%%\n", right, batch, 100.0 * (double)right / (double)batch);
    fss_npy_free(&a);
    return 0;
}

static int load_weights(const char *path, const fss_cnn_model *m, fss_cnn_weights *w)
{
    char err[FSS_IO_ERR_LEN] = "";
    if (!path)
        return fss_cnn_weights_random(m, DEFAULT_WEIGHT_SEED, w) == FSS_OK ? 0 : 1;
    if (fss_cnn_weights_load(m, path, w, err, sizeof err) != FSS_OK) {
        fprintf(stderr, "online: %s\n", err);
        return 2;
    }
    return 0;
}

static int write_logits(const char *path, const fss_cnn_model *m, size_t batch, const uint64_t *logits)
{
    char err[FSS_IO_ERR_LEN];
    size_t n = batch * m->classes, shape[2] = {batch, m->classes};
    float *f = (float *)malloc(n * sizeof(float));
    if (!f)
        return 1;
    for (size_t i = 0; i < n; i++)
        f[i] = (float)fss_fixed_to_float(logits[i], m->scale, m->bits);
    fss_status s = fss_npy_write_f32(path, f, 2, shape, err, sizeof err);
    free(f);
    if (s != FSS_OK) {
        fprintf(stderr, "online: %s\n", err);
        return 1;
    }
    return 0;
}

static int run_clear(const opts *o)
{
    const fss_cnn_model *m = fss_cnn_find(o->model);
    if (!m) {
        fprintf(stderr, "online: no model '%s'; models: %s\n", o->model, fss_cnn_names());
        return 2;
    }
    float *images = NULL;
    size_t batch = 0;
    fss_cnn_weights w;
    memset(&w, 0, sizeof w);
    int rc = load_images(o->input, o->first, m, &images, &batch);
    if (!rc)
        rc = load_weights(o->weights, m, &w);
    uint64_t *logits = rc ? NULL : (uint64_t *)calloc(batch * m->classes, 8);
    fss_ctx *cpu = NULL;
    fss_eval *ev = NULL;
    if (!rc && (!logits || fss_ctx_new(&cpu, o->threads) != FSS_OK || fss_eval_new_clear(&ev, cpu) != FSS_OK ||
                fss_cnn_walk(ev, m, batch, &w, images, logits, NULL, NULL) != FSS_OK)) {
        fprintf(stderr, "online: clear run failed: %s\n", ev ? fss_eval_error(ev) : "setup");
        rc = 1;
    }
    if (!rc) {
        /* The secure run equals this one bit for bit, wrapped or not: say how close the
         * products and sums came to the ring's limit. */
        const int head = fss_eval_stats_get(ev)->headroom_bits;
        if (head <= 1)
            fprintf(stderr,
                    "online: warning: a product or sum came within %d bit%s of the %d-bit ring's limit and may "
                    "have wrapped: these weights or inputs need a model with fewer fractional bits\n",
                    head < 0 ? 0 : head, head == 1 ? "" : "s", m->bits);
        else if (!o->quiet)
            fprintf(stderr, "online: clear run: the largest product or sum left %d bits of headroom in the %d-bit ring\n",
                    head, m->bits);
        rc = write_logits(o->output, m, batch, logits);
    }
    if (!rc && o->labels)
        rc = report_labels(o->labels, m, batch, logits);
    fss_eval_free(ev);
    fss_ctx_free(cpu);
    fss_cnn_weights_free(&w);
    free(images);
    free(logits);
    return rc;
}

/* "model=NAME batch=B" from the key file's first chunk, checked against its fingerprint. */
static int read_model(fss_keyfile_reader *r, const fss_keyfile_info *info, const fss_cnn_model **m, size_t *batch)
{
    fss_keyfile_chunk c;
    char err[320];
    if (fss_keyfile_next(r, FSS_KEY_MODEL, 1, &c) != FSS_OK) {
        fprintf(stderr, "online: %s\n", fss_keyfile_reader_error(r));
        return 1;
    }
    if (fss_cnn_parse_description((const char *)c.data, (size_t)c.payload_bytes, info->fingerprint, m, batch, err,
                                  sizeof err) != FSS_OK) {
        fprintf(stderr, "online: %s\n", err);
        return 1;
    }
    return 0;
}

static int run_party(const opts *o)
{
    const char *colon = strrchr(o->peer, ':');
    int port = colon ? atoi(colon + 1) : 0;
    if (!colon || port <= 0 || port > 65535) {
        fprintf(stderr, "online: --peer is HOST:PORT, not '%s'\n", o->peer);
        return 2;
    }
    char host[256];
    snprintf(host, sizeof host, "%.*s", (int)(colon - o->peer), o->peer);

    int rc = 1;
    /* The clock starts once both parties are connected and the backend is up (a CUDA
     * context takes a few hundred ms to start); what came before is the setup time. */
    const double t_start = now_s();
    double t0 = t_start;
    fss_keyfile_info info;
    fss_keyfile_reader *r = NULL;
    fss_keyfile_joiner join = {0};
    fss_peer *peer = NULL;
    fss_ctx *cpu = NULL;
    fss_eval *ev = NULL;
    const fss_cnn_model *m = NULL;
    size_t batch = 0, in_batch = 0;
    float *images = NULL;
    uint64_t *logits = NULL;
    fss_cnn_weights w;
    memset(&w, 0, sizeof w);

    /* the files are checked before the key file is opened (and so used up) */
    {
        char err[FSS_IO_ERR_LEN];
        fss_keyfile_info peek;
        fss_npy a;
        fss_safetensors *st = NULL;
        if (fss_keyfile_peek_info(o->keys, &peek, err, sizeof err) != FSS_OK ||
            (o->party == 1 && strcmp(o->input, "random") && fss_npy_read(o->input, &a, err, sizeof err) != FSS_OK) ||
            (o->party == 0 && o->weights && fss_safetensors_open(&st, o->weights, err, sizeof err) != FSS_OK)) {
            fprintf(stderr, "online: %s\n", err);
            return 2;
        }
        if (o->party == 1 && strcmp(o->input, "random"))
            fss_npy_free(&a);
        fss_safetensors_close(st);
    }
    if (fss_keyfile_open(&r, o->keys, o->party, &info) != FSS_OK) {
        fprintf(stderr, "online: %s\n", r ? fss_keyfile_reader_error(r) : "out of memory");
        goto done;
    }
    if (read_model(r, &info, &m, &batch))
        goto done;
    if (o->party == 1) {
        if ((rc = load_images(o->input, o->first ? o->first : batch, m, &images, &in_batch)) != 0)
            goto done;
        rc = 1;
        if (in_batch != batch) {
            fprintf(stderr, "online: %s holds %zu images; these keys are for batches of %zu\n", o->input, in_batch, batch);
            goto done;
        }
        if (!(logits = (uint64_t *)calloc(batch * m->classes, 8)))
            goto done;
    } else if ((rc = load_weights(o->weights, m, &w)) != 0) {
        goto done;
    }
    rc = 1;
    fss_status s = o->party == 0 ? fss_peer_listen(&peer, host, port, o->timeout)
                                 : fss_peer_connect(&peer, host, port, o->timeout);
    if (s != FSS_OK || fss_peer_set_timeout(peer, o->timeout) != FSS_OK) {
        fprintf(stderr, "online: %s\n", fss_peer_error(peer));
        goto done;
    }
    fss_peer_hello mine = {.version = FSS_PEER_PROTOCOL_VERSION, .party = (uint32_t)o->party}, theirs;
    memcpy(mine.run_id, info.run_id, sizeof mine.run_id);
    memcpy(mine.fingerprint, info.fingerprint, sizeof mine.fingerprint);
    if (fss_peer_handshake(peer, &mine, &theirs) != FSS_OK) {
        fprintf(stderr, "online: %s\n", fss_peer_error(peer));
        goto done;
    }
    join.r = r;
    if (fss_ctx_new(&cpu, o->threads) != FSS_OK ||
        fss_eval_new_party(&ev, cpu, o->party, fss_keyfile_source(&join), fss_peer_link(peer)) != FSS_OK) {
        fprintf(stderr, "online: cannot set up the CPU backend\n");
        goto done;
    }
    fss_keyfile_reader_set_threads(r, fss_ctx_threads(cpu)); /* reading keys keeps pace with using them */
    if (!strcmp(o->backend, "cuda") && fss_eval_set_backend(ev, FSS_BACKEND_CUDA) != FSS_OK) {
        fprintf(stderr, "online: %s\n", fss_eval_error(ev));
        goto done;
    }
    fss_keyfile_reader_set_alloc(r, fss_eval_chunk_alloc(ev)); /* page-locked chunks under cuda */
    t0 = now_s();
    static layer_stats ls; /* ~6 KB: off the stack */
    memset(&ls, 0, sizeof ls);
    ls.t0 = t0;
    ls.ev = ev;
    ls.r = r;
    ls.quiet = o->quiet;
    s = fss_cnn_walk(ev, m, batch, o->party == 0 ? &w : NULL, images, logits, progress, &ls);
    if (s != FSS_OK) {
        fprintf(stderr, "online: %s\n", fss_eval_error(ev));
        if (fss_keyfile_reader_error(r)[0])
            fprintf(stderr, "online: %s\n", fss_keyfile_reader_error(r));
        if (fss_peer_error(peer)[0])
            fprintf(stderr, "online: %s\n", fss_peer_error(peer));
        goto done;
    }
    if (fss_keyfile_reader_finish(r) != FSS_OK) {
        fprintf(stderr, "online: %s\n", fss_keyfile_reader_error(r));
        goto done;
    }
    if (o->party == 1 && (write_logits(o->output, m, batch, logits) ||
                          (o->labels && report_labels(o->labels, m, batch, logits))))
        goto done;
    {
        const fss_eval_stats *st = fss_eval_stats_get(ev);
        double secs = now_s() - t0;
        uint64_t kb = fss_keyfile_reader_bytes(r);
        if (!o->quiet)
            fprintf(stderr,
                    "online: party %d: %s batch %zu in %.3f s (after %.3f s of setup), sent %.3f MB, received %.3f MB, "
                    "%llu rounds, keys %.2f MB\n",
                    o->party, m->name, batch, secs, t0 - t_start, (double)fss_peer_bytes_sent(peer) / 1e6,
                    (double)fss_peer_bytes_received(peer) / 1e6, (unsigned long long)st->rounds, (double)kb / 1e6);
        if (o->json) {
            printf("{\"party\": %d, \"model\": \"%s\", \"batch\": %zu, \"seconds\": %.6f, \"setup_seconds\": %.6f, "
                   "\"bytes_sent\": %llu, \"bytes_received\": %llu, \"rounds\": %llu, \"key_bytes\": %llu, "
                   "\"backend\": \"%s\"",
                   o->party, m->name, batch, secs, t0 - t_start, (unsigned long long)fss_peer_bytes_sent(peer),
                   (unsigned long long)fss_peer_bytes_received(peer), (unsigned long long)st->rounds,
                   (unsigned long long)kb, o->backend);
            printf(", \"phases\": {");
            for (int ph = 0; ph < FSS_PHASES; ph++)
                printf("%s\"%s\": %.6f", ph ? ", " : "", fss_phase_name((fss_phase)ph), st->phase_seconds[ph]);
            printf("}");
            print_layers(m, &ls);
            printf("}\n");
        }
    }
    rc = 0;
done:
    fss_eval_free(ev);
    fss_ctx_free(cpu);
    fss_peer_close(peer);
    fss_keyfile_joiner_free(&join);
    fss_keyfile_reader_close(r);
    fss_cnn_weights_free(&w);
    free(images);
    free(logits);
    return rc;
}

int main(int argc, char **argv)
{
    fss_omp_prefer_passive(argv);
    opts o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc;
    return o.clear ? run_clear(&o) : run_party(&o);
}
