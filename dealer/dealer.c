/* dealer: writes the two parties' one-time key files for one inference of a model.
 *
 *   dealer --model lenet [--batch B] --out DIR
 *
 * It never sees weights or inputs: it walks the model in DEALER mode, drawing every mask
 * from the OS CSPRNG, and streams each party's keys to DIR/p0.bin and DIR/p1.bin. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fss/cnn.h"
#include "fss/io_adapt.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: dealer --model NAME [--batch B] --out DIR\n"
               "  --model NAME   one of: %s\n"
               "  --batch B      images per inference (default 1)\n"
               "  --out DIR      where p0.bin and p1.bin go (created if missing; the files must not exist)\n"
               "  --quiet        no progress lines\n"
               "  --piece-bytes N  store a gate's keys in chunks of at most N bytes (default 64 MiB;\n"
               "                 small values are for tests of the piece handling)\n",
               fss_cnn_names());
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void progress(void *arg, size_t layer, size_t nlayers, const char *what)
{
    double t0 = *(double *)arg;
    fprintf(stderr, "dealer: layer %zu/%zu (%s) done, %.2f s\n", layer + 1, nlayers, what, now_s() - t0);
}

int main(int argc, char **argv)
{
    fss_omp_prefer_passive(argv);
    const char *model = NULL, *out = NULL;
    long batch = 1;
    int quiet = 0;
    size_t piece = 0; /* 0: FSS_KEYFILE_PIECE_BYTES */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--model") && i + 1 < argc) {
            model = argv[++i];
        } else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
            out = argv[++i];
        } else if (!strcmp(argv[i], "--batch") && i + 1 < argc) {
            char *end;
            batch = strtol(argv[++i], &end, 10);
            if (*end || batch < 1 || batch > 1000000) {
                fprintf(stderr, "dealer: --batch needs a positive integer, not '%s'\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--quiet")) {
            quiet = 1;
        } else if (!strcmp(argv[i], "--piece-bytes") && i + 1 < argc) {
            char *end;
            unsigned long long v = strtoull(argv[++i], &end, 10);
            if (*end || v < 1 || v > FSS_KEYFILE_MAX_CHUNK_BYTES) {
                fprintf(stderr, "dealer: --piece-bytes needs 1 to %llu, not '%s'\n",
                        (unsigned long long)FSS_KEYFILE_MAX_CHUNK_BYTES, argv[i]);
                return 2;
            }
            piece = (size_t)v;
        } else {
            fprintf(stderr, "dealer: unknown or incomplete option '%s' (see --help)\n", argv[i]);
            return 2;
        }
    }
    if (!model || !out) {
        fprintf(stderr, "dealer: --model and --out are required (see --help)\n");
        return 2;
    }
    const fss_cnn_model *m = fss_cnn_find(model);
    if (!m) {
        fprintf(stderr, "dealer: no model '%s'; models: %s\n", model, fss_cnn_names());
        return 2;
    }
    if (mkdir(out, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "dealer: cannot create %s: %s\n", out, strerror(errno));
        return 1;
    }

    int rc = 1;
    double t0 = now_s();
    char path[2][4096], desc[256];
    uint8_t run_id[FSS_KEYFILE_RUN_ID_BYTES], fp[FSS_KEYFILE_FINGERPRINT_BYTES];
    fss_keyfile_writer *w[2] = {NULL, NULL};
    fss_ctx *cpu = NULL;
    fss_rng *rng = NULL;
    fss_eval *ev = NULL;
    fss_status s = fss_ctx_new(&cpu, 0);
    if (s == FSS_OK)
        s = fss_rng_new_os(&rng);
    if (s == FSS_OK)
        s = fss_rng_bytes(rng, run_id, sizeof run_id);
    if (s != FSS_OK) {
        fprintf(stderr, "dealer: cannot set up the CPU backend or the random source: %s\n", fss_status_str(s));
        goto done;
    }
    fss_cnn_describe(m, (size_t)batch, desc, sizeof desc);
    fss_cnn_fingerprint(m, (size_t)batch, fp);
    for (int b = 0; b < 2; b++) {
        snprintf(path[b], sizeof path[b], "%s/p%d.bin", out, b);
        s = fss_keyfile_create(&w[b], path[b], b, run_id, fp);
        if (s == FSS_OK)
            s = fss_keyfile_write_chunk(w[b], FSS_KEY_MODEL, 1, desc, strlen(desc));
        if (s != FSS_OK) {
            fprintf(stderr, "dealer: %s\n", w[b] ? fss_keyfile_writer_error(w[b]) : fss_status_str(s));
            goto done;
        }
    }
    fss_keyfile_splitter split[2] = {{.w = w[0], .piece = piece}, {.w = w[1], .piece = piece}};
    fss_key_sink sinks[2] = {fss_keyfile_sink(&split[0]), fss_keyfile_sink(&split[1])};
    if ((s = fss_eval_new_dealer(&ev, cpu, rng, sinks)) != FSS_OK ||
        (s = fss_cnn_walk(ev, m, (size_t)batch, NULL, NULL, NULL, quiet ? NULL : progress, &t0)) != FSS_OK) {
        fprintf(stderr, "dealer: %s\n", ev && fss_eval_error(ev)[0] ? fss_eval_error(ev) : fss_status_str(s));
        for (int b = 0; b < 2; b++)
            if (fss_keyfile_writer_error(w[b])[0])
                fprintf(stderr, "dealer: %s\n", fss_keyfile_writer_error(w[b]));
        goto done;
    }
    uint64_t bytes[2];
    for (int b = 0; b < 2; b++) {
        bytes[b] = fss_keyfile_writer_bytes(w[b]);
        s = fss_keyfile_writer_close(w[b]);
        if (s != FSS_OK) {
            fprintf(stderr, "dealer: %s\n", fss_keyfile_writer_error(w[b]));
            if (b == 1) /* a key file without its twin is no use: leave neither */
                unlink(path[0]);
            goto done;
        }
        w[b] = NULL;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    fprintf(stderr, "dealer: %s: wrote %s (%.2f MB) and %s (%.2f MB) in %.2f s, peak memory %.0f MB\n", desc, path[0],
            (double)bytes[0] / 1e6, path[1], (double)bytes[1] / 1e6, now_s() - t0, (double)ru.ru_maxrss / 1024.0);
    rc = 0;
done:
    for (int b = 0; b < 2; b++)
        fss_keyfile_writer_abort(w[b]); /* removes what a failed run left */
    fss_eval_free(ev);
    fss_rng_free(rng);
    fss_ctx_free(cpu);
    return rc;
}
