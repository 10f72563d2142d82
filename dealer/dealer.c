/* dealer: writes the two parties' one-time key files for one run of a model.
 *
 *   dealer --model NAME [family options] --out DIR
 *
 * It never sees weights or inputs: it walks the model in DEALER mode, drawing every mask
 * from the OS CSPRNG, and streams each party's keys to DIR/p0.bin and DIR/p1.bin. Which
 * models exist and which options they take is the registry's (fss/family.h). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "fss/io_adapt.h"
#include "fss/keyfile.h"
#include "fss/run.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: dealer --model NAME [options of its family] --out DIR\n"
            "  --model NAME     one of: %s\n"
            "  --out DIR        where p0.bin and p1.bin go (created if missing; the files must not exist)\n"
            "  --threads N      CPU threads (default: all)\n"
            "  --quiet          no progress lines\n"
            "  --piece-bytes N  store a gate's keys in chunks of at most N bytes (default 64 MiB;\n"
            "                   small values are for tests of the piece handling)\n",
            fss_family_models());
    fss_family_usage(f, FSS_ROLE_DEALER);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A whole number from lo to hi, all digits. */
static int parse_num(const char *flag, const char *v, unsigned long long lo, unsigned long long hi,
                     unsigned long long *out)
{
    char *end = NULL;
    unsigned long long n = v[0] >= '0' && v[0] <= '9' ? strtoull(v, &end, 10) : 0;
    if (!end || *end || n < lo || n > hi) {
        fprintf(stderr, "dealer: %s needs a whole number from %llu to %llu, not '%s'\n", flag, lo, hi, v);
        return 0;
    }
    *out = n;
    return 1;
}

/* SIGINT, SIGTERM, SIGHUP: remove the partial key files (and a finished one whose twin is
 * not), say so, and die of the signal as usual. */
static void on_signal(int sig)
{
    static const char msg[] = "\ndealer: stopped: its partial key files are removed\n";
    fss_keyfile_remove_on_signal();
    ssize_t k = write(2, msg, sizeof msg - 1);
    (void)k;
    signal(sig, SIG_DFL);
    raise(sig);
}

int main(int argc, char **argv)
{
    fss_omp_prefer_passive(argv);
    const char *model = NULL, *out = NULL;
    int quiet = 0;
    unsigned long long piece = 0, threads = 0; /* 0: FSS_KEYFILE_PIECE_BYTES; all threads */
    fss_args fa = {0};
    char err[1024];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        const int own = !strcmp(a, "--model") || !strcmp(a, "--out") || !strcmp(a, "--piece-bytes") ||
                        !strcmp(a, "--threads");
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--quiet")) {
            quiet = 1;
        } else if (own && !v) {
            fprintf(stderr, "dealer: %s needs a value (see --help)\n", a);
            return 2;
        } else if (!strcmp(a, "--model")) {
            model = argv[++i];
        } else if (!strcmp(a, "--out")) {
            out = argv[++i];
        } else if (!strcmp(a, "--piece-bytes")) {
            if (!parse_num(a, argv[++i], 1, FSS_KEYFILE_MAX_CHUNK_BYTES, &piece))
                return 2;
        } else if (!strcmp(a, "--threads")) {
            if (!parse_num(a, argv[++i], 1, 4096, &threads))
                return 2;
        } else if (fss_args_take(&fa, argc, argv, &i, err, sizeof err) != FSS_OK) {
            fprintf(stderr, "dealer: %s\n", err);
            return 2;
        } else {
            i--; /* fss_args_take moved past the flag and its value */
        }
    }
    if (!model || !out) {
        fprintf(stderr, "dealer: --model and --out are required (see --help)\n");
        return 2;
    }
    fss_model *m = NULL;
    if (fss_model_configure(&m, model, FSS_ROLE_DEALER, &fa, err, sizeof err) != FSS_OK ||
        fss_model_check_args(m, FSS_ROLE_DEALER, &fa, err, sizeof err) != FSS_OK) {
        fprintf(stderr, "dealer: %s\n", err);
        fss_model_free(m);
        return 2;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    static const int stops[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < sizeof stops / sizeof *stops; i++) {
        struct sigaction old;
        if (sigaction(stops[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN) /* nohup's SIGHUP stays ignored */
            sigaction(stops[i], &sa, NULL);
    }
    const double t0 = now_s();
    fss_progress *pg = NULL;
    fss_deal_result res;
    fss_status s = fss_progress_new(&pg, "dealer", quiet);
    const fss_deal_config c = {.dir = out, .piece = (size_t)piece, .threads = (int)threads, .pg = pg};
    if (s == FSS_OK)
        s = fss_deal_files(m, &c, &res, err, sizeof err);
    else
        snprintf(err, sizeof err, "out of memory");
    if (s == FSS_OK) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        fprintf(stderr, "dealer: %s: wrote %s (%.2f MB) and %s (%.2f MB) in %.2f s, peak memory %.0f MB\n",
                fss_model_description(m), res.path[0], (double)res.bytes[0] / 1e6, res.path[1],
                (double)res.bytes[1] / 1e6, now_s() - t0, (double)ru.ru_maxrss / 1024.0);
    } else {
        /* one line a cause (the gate's, the key file's) */
        for (char *line = strtok(err, "\n"); line; line = strtok(NULL, "\n"))
            fprintf(stderr, "dealer: %s\n", line);
    }
    fss_progress_free(pg);
    fss_model_free(m);
    return s == FSS_OK ? 0 : 1;
}
