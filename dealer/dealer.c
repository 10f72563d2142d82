/* dealer: writes the two parties' one-time key files for one run of a model.
 *
 *   dealer --model NAME [family options] --out DIR [--weights-key KEY]
 *   dealer --model NAME [family options] --dry-run [--json]
 *   dealer --model NAME --setup KEY --out DIR    (weights input once: a model key, and the
 *                                                 setup run's key files)
 *
 * It never sees weights or inputs: it walks the model in DEALER mode, drawing every mask
 * from the OS CSPRNG, and streams each party's keys to DIR/p0.bin and DIR/p1.bin. Which
 * models exist and which options they take is the registry's (fss/family.h). A dry run
 * (the same walk with a dry dealer, fss_eval_set_dry) gives the sizes, rounds and bytes
 * without writing; every run makes one first, to say what it will write and to refuse
 * when the disk lacks the room. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fss/io_adapt.h"
#include "fss/keyfile.h"
#include "fss/run.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: dealer --model NAME [options of its family] (--out DIR | --dry-run [--json])\n"
            "  --model NAME     one of: %s\n"
            "  --out DIR        where p0.bin and p1.bin go (created if missing; the files must not exist)\n"
            "  --dry-run        write nothing: the key bytes, rounds, bytes exchanged and peak memory\n"
            "  --json           with --dry-run: one JSON object on stdout\n"
            "  --setup KEY      weights input once: a new model key at KEY (the dealer's secret: keep it\n"
            "                   apart from --out) and the key files of the setup run, where party 0\n"
            "                   sends its masked weights once\n"
            "  --weights-key F  an inference's keys under model key F: no weights in the keys or on\n"
            "                   the wire (party 1 gives the setup run's --masked-weights)\n"
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

static double peak_rss(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss * 1024.0;
}

/* The dry run's figures: one line for people, or one JSON object. The dealer's peak is
 * this walk's, measured. A party holds the walk's wires as the dealer does, and on top,
 * while party 0 inputs its largest part, four words a value (the values read, their ring
 * copy, the masked copy, the message) and a key piece being read and parsed, and party 0's
 * clear copy of the weights the walk keeps (the dealer keeps their masks): an estimate,
 * said so (against measured peaks: 1.1-1.3 times bert-tiny's and gpt2's). */
static void report_dry(const fss_model *m, const fss_deal_result *r, size_t piece, int json)
{
    const double dealer = peak_rss(),
                 party = dealer + 32.0 * (double)r->input_max + 8.0 * (double)r->kept_max + (double)piece;
    if (json) {
        printf("{%s, \"description\": \"%s\", \"key_bytes\": [%llu, %llu], \"rounds\": %llu, \"bytes_sent\": [%llu, "
               "%llu], \"bytes_exchanged\": %llu, \"peak_bytes\": %.0f, \"peak_bytes_dealer\": %.0f, "
               "\"peak_bytes_party_estimate\": %.0f, \"key_bytes_by_kind\": {",
               fss_model_shape_json(m), fss_model_description(m), (unsigned long long)r->bytes[0],
               (unsigned long long)r->bytes[1], (unsigned long long)r->rounds, (unsigned long long)r->sent[0],
               (unsigned long long)r->sent[1], (unsigned long long)(r->sent[0] + r->sent[1]),
               party > dealer ? party : dealer, dealer, party);
        for (uint32_t k = 0, first = 1; k < FSS_KEY_KINDS; k++)
            if (r->kind_bytes[0][k] || r->kind_bytes[1][k]) {
                printf("%s\"%s\": [%llu, %llu]", first ? "" : ", ", fss_key_kind_name(k),
                       (unsigned long long)r->kind_bytes[0][k], (unsigned long long)r->kind_bytes[1][k]);
                first = 0;
            }
        printf("}}\n");
        return;
    }
    printf("%s: keys %.2f MB (party 0) and %.2f MB (party 1); the run: %llu rounds, %.2f MB sent by party 0 and "
           "%.2f MB by party 1; peak memory %.0f MB (this dry walk; a dealer adds its key generation's buffers), "
           "about %.0f MB a party\n",
           fss_model_description(m), (double)r->bytes[0] / 1e6, (double)r->bytes[1] / 1e6,
           (unsigned long long)r->rounds, (double)r->sent[0] / 1e6, (double)r->sent[1] / 1e6, dealer / 1e6,
           party / 1e6);
    printf("keys by kind, MB (party 0 / party 1):");
    for (uint32_t k = 0; k < FSS_KEY_KINDS; k++)
        if (r->kind_bytes[0][k] || r->kind_bytes[1][k])
            printf(" %s %.2f/%.2f", fss_key_kind_name(k), (double)r->kind_bytes[0][k] / 1e6,
                   (double)r->kind_bytes[1][k] / 1e6);
    printf("\n");
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

/* From the real walk on (the dry walk has no files): a stop removes the partial files. */
static void catch_stops(void)
{
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
}

int main(int argc, char **argv)
{
    fss_omp_prefer_passive(argv);
    fss_tune_malloc();
    const char *model = NULL, *out = NULL;
    int quiet = 0, dry = 0, json = 0;
    const char *wkey = NULL, *setup = NULL;
    size_t piece = 0, threads = 0; /* 0: FSS_KEYFILE_PIECE_BYTES; all threads */
    fss_args fa = {0};
    char err[1024];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        const int own = !strcmp(a, "--model") || !strcmp(a, "--out") || !strcmp(a, "--piece-bytes") ||
                        !strcmp(a, "--threads") || !strcmp(a, "--weights-key") || !strcmp(a, "--setup");
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--quiet")) {
            quiet = 1;
        } else if (!strcmp(a, "--dry-run")) {
            dry = 1;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (own && !v) {
            fprintf(stderr, "dealer: %s needs a value (see --help)\n", a);
            return 2;
        } else if (!strcmp(a, "--model")) {
            model = argv[++i];
        } else if (!strcmp(a, "--out")) {
            out = argv[++i];
        } else if (!strcmp(a, "--weights-key") || !strcmp(a, "--setup")) {
            *(a[2] == 'w' ? &wkey : &setup) = argv[++i];
        } else if (!strcmp(a, "--piece-bytes") || !strcmp(a, "--threads")) {
            const size_t hi = a[2] == 'p' ? FSS_KEYFILE_MAX_CHUNK_BYTES : 4096;
            if (!fss_parse_count(argv[++i], hi, a[2] == 'p' ? &piece : &threads)) {
                fprintf(stderr, "dealer: %s needs a whole number from 1 to %zu, not '%s'\n", a, hi, argv[i]);
                return 2;
            }
        } else if (fss_args_take(&fa, argc, argv, &i, err, sizeof err) != FSS_OK) {
            fprintf(stderr, "dealer: %s\n", err);
            return 2;
        } else {
            i--; /* fss_args_take moved past the flag and its value */
        }
    }
    if (!model) /* a family's own flag may name the model (--stats) */
        model = fss_family_selected(&fa);
    if (!model || (!out && !dry) || (json && !dry) || (setup && wkey)) {
        fprintf(stderr, "dealer: %s (see --help)\n", json && !dry ? "--json goes with --dry-run"
                                                      : setup && wkey ? "--setup makes a model key: drop --weights-key"
                                                                      : "--model and --out (or --dry-run) are required");
        return 2;
    }
    fss_model *m = NULL;
    static const uint8_t no_id[16]; /* the setup's id comes with its model key */
    if (fss_model_configure(&m, model, FSS_ROLE_DEALER, &fa, err, sizeof err) != FSS_OK ||
        (setup && fss_model_set_weights_once(m, FSS_WEIGHTS_SETUP, no_id, err, sizeof err) != FSS_OK) ||
        fss_model_check_args(m, FSS_ROLE_DEALER, &fa, err, sizeof err) != FSS_OK) {
        fprintf(stderr, "dealer: %s\n", err);
        fss_model_free(m);
        return 2;
    }

    double t0 = now_s();
    fss_progress *pg = NULL;
    fss_deal_result res;
    fss_status s = !dry && fss_deal_taken(out, setup, err, sizeof err) ? FSS_E_ARG
                                                                       : fss_progress_new(&pg, "dealer", quiet || !dry);
    fss_deal_config c = {.dir = out ? out : ".", .piece = piece, .threads = (int)threads, .pg = pg, .dry = 1,
                         .setup = setup, .weights_key = wkey};
    if (s == FSS_OK)
        s = fss_deal_files(m, &c, &res, err, sizeof err); /* the dry run every run starts with */
    else if (s == FSS_E_NOMEM)
        snprintf(err, sizeof err, "out of memory");
    if (s == FSS_OK && dry) {
        report_dry(m, &res, piece ? piece : FSS_KEYFILE_PIECE_BYTES, json);
    } else if (s == FSS_OK) {
        const double need = (double)res.bytes[0] + (double)res.bytes[1], free_bytes = fss_deal_room(out);
        if (!quiet)
            fprintf(stderr, "dealer: writing %.2f MB (party 0) and %.2f MB (party 1) to %s\n",
                    (double)res.bytes[0] / 1e6, (double)res.bytes[1] / 1e6, out);
        if (free_bytes >= 0 && free_bytes < need) {
            s = FSS_E_IO;
            snprintf(err, sizeof err, "%s has %.2f MB free and the keys take %.2f MB: free space or choose another --out",
                     out, free_bytes / 1e6, need / 1e6);
        } else {
            fss_progress_free(pg);
            pg = NULL;
            catch_stops();
            t0 = now_s(); /* the time of the real walk */
            if ((s = fss_progress_new(&pg, "dealer", quiet)) == FSS_OK) {
                c.pg = pg, c.dry = 0;
                s = fss_deal_files(m, &c, &res, err, sizeof err);
            }
        }
    }
    if (s == FSS_OK && !dry) {
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
