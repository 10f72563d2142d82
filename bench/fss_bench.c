/* fss-bench: keygen and eval rates of the DPF, the 1-bit DPF, the DCF and the DPF
 * comparison, next to the raw AES-128-ECB block rate they are built on, on the CPU
 * (one thread and all threads; evals on the OpenSSL path and, where the processor has
 * them, the AVX2 and AVX-512 VAES paths) and on the GPU when one is present; and the ring
 * GEMM (--prim gemm: on the CPU each path against the portable loop, on the GPU against
 * the CPU).
 *
 * Every figure is validated before it is timed (STYLE.md, after llm.c's dev/cuda):
 * the CPU batch is reconstructed from both parties' shares and compared with the
 * definition, the AES block counter is compared with the fss_*_aes_blocks formulas,
 * and GPU keys and outputs are compared with the CPU backend's on a sample.
 *
 * Timing: CLOCK_MONOTONIC (cudaEvents on the GPU); per figure one warm-up call, then
 * REPETITIONS repetitions that each call the operation until --min-time seconds have
 * passed; the median repetition is reported (the machines are shared and noisy).
 *
 * The AES limit, the denominator of "% of AES limit": the fastest of OpenSSL's
 * AES-128-ECB (128-bit AES-NI), where the processor has AVX-512 VAES this program's own
 * loop of eight independent chains of 512-bit VAES rounds (four blocks a register), and
 * where it has only AVX2 VAES the AVX2 path's ECB (fss_ctx_aes on that path: eight
 * registers of two blocks in flight, each call's blocks independent; a loop of chained
 * rounds measured 0.7 of it on Zen 3, its latency showing): what the core can encrypt,
 * which no FSS walk can beat.
 *
 * Output: a markdown table on stdout; with --json one JSON object a line on stdout
 * and the table on stderr. */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "fss/gemm.h"
#include "fss_bench.h"
#ifdef FSS_HAVE_CUDA
#include "fss/cuda.h"
#endif

#define DEFAULT_BATCH ((size_t)1 << 16)
#define QUICK_BATCH ((size_t)1 << 11)
#define DEFAULT_GPU_BATCH ((size_t)1 << 24)
#define QUICK_GPU_BATCH ((size_t)1 << 20)
#define DEFAULT_MIN_TIME 0.3
/* Raw AES figure: calls of AES_CALL_BLOCKS (16 KiB, where AES-NI pipelines fully), over
 * a per-thread buffer of AES_BUF_BLOCKS in and out (512 KiB, cache resident). */
#define AES_CALL_BLOCKS 1024
#define AES_BUF_BLOCKS (16 * AES_CALL_BLOCKS)



const char *const prim_names[P_COUNT] = {"dpf", "dpf1", "dcf", "dpfcmp", "aes", "gemm", "lut"};
static const char *const path_names[PATH_COUNT] = {"openssl", "vaes256", "vaes"};
const variant variants[NVARIANTS] = {{P_DPF, 64}, {P_DPF1, 1}, {P_DCF, 1}, {P_DCF, 64}, {P_DPFCMP, 1}, {P_LUT, 50},
                                      {P_LUT, 64}}; /* lookups of 64-bit entries: pairs of whole words */

void die(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    va_start(ap, fmt);
    fputs("fss-bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}


void *xmalloc(size_t bytes)
{
    void *p = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
    if (!p)
        die("out of memory (%zu bytes)", bytes);
    return p;
}

void gemm_operands(fss_ctx *ctx, fss_rng *rng, size_t m, size_t k, size_t n, uint64_t **A, uint64_t **B,
                   uint64_t **C, uint64_t **C2)
{
    *A = (uint64_t *)xmalloc(m * k * 8);
    *B = (uint64_t *)xmalloc(k * n * 8);
    *C = (uint64_t *)xmalloc(m * n * 8);
    *C2 = (uint64_t *)xmalloc(m * n * 8);
    OK(ctx, fss_rng_bytes(rng, *A, m * k * 8));
    OK(ctx, fss_rng_bytes(rng, *B, k * n * 8));
}

double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- command line ---------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: fss-bench [options]\n"
            "  --json            one JSON object a line on stdout (the table goes to stderr)\n"
            "  --quick           n in {20, 64}, batch 2^11 (2^20 on the GPU): a smoke run\n"
            "  --threads N       the 'all threads' count (default: every processor)\n"
            "  --no-gpu          skip the CUDA backend even when a device is present\n"
            "  --no-cpu          skip the CPU rows of the primitives (the AES rate is still measured)\n"
            "  --prim LIST       comma-separated of dpf,dpf1,dcf,dpfcmp,aes,gemm,lut (lut: only named,\n"
            "                    CPU, n <= 16: a table lookup, a full-domain expansion an instance)\n"
            "                    (default: all; gemm: the ring GEMM, on the CPU one thread a path against the\n"
            "                    portable loop, and on the GPU against the CPU)\n"
            "  --n LIST          comma-separated input bits (default 16,20,32,50,64)\n"
            "  --cpu-path LIST   CPU eval paths, of openssl,vaes256,vaes (vaes: AVX-512; default:\n"
            "                    those the processor has; keygen takes the fastest among them)\n"
            "  --batch LIST      CPU instances per call, comma-separated (default 2^16; 2^k accepted)\n"
            "  --sweep           the CPU batches 1,16,256,4096,2^16,2^20\n"
            "  --dcf-g G         payload words of the CPU DCF rows (default 1; ReLU's keys take 2\n"
            "                    and 3; the GPU rows stay at 1)\n"
            "  --gpu-batch N     GPU instances per call (default 2^24)\n"
            "  --min-time S      seconds per repetition (default 0.3)\n"
            "  --help            this text\n");
}

static void bad_arg(const char *fmt, const char *a)
{
    fputs("fss-bench: ", stderr);
    fprintf(stderr, fmt, a);
    fputs(" (see --help)\n", stderr);
    exit(2);
}

static size_t parse_size(const char *flag, const char *s)
{
    char *end;
    unsigned long long v;
    if (s[0] == '2' && s[1] == '^') {
        unsigned long long e = strtoull(s + 2, &end, 10);
        if (*end || end == s + 2 || e > 40)
            bad_arg("bad value for %s", flag);
        v = 1ull << e;
    } else {
        v = strtoull(s, &end, 10);
        if (*end || end == s)
            bad_arg("bad value for %s", flag);
    }
    if (v == 0)
        bad_arg("%s must be positive", flag);
    return (size_t)v;
}

static void parse_args(int argc, char **argv, opts *o)
{
    memset(o, 0, sizeof *o);
    o->min_time = DEFAULT_MIN_TIME;
    o->dcf_g = 1;
    o->prims = ((1u << P_COUNT) - 1) & ~(1u << P_LUT); /* the lookup only when named */
    int batch_set = 0, gpu_batch_set = 0, ns_set = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        /* Flags with a value take it as the next word or after '='. */
        const char *val = NULL, *eq = strchr(a, '=');
        char name[32];
        size_t nl = eq ? (size_t)(eq - a) : strlen(a);
        if (nl >= sizeof name)
            bad_arg("unknown option '%s'", a);
        memcpy(name, a, nl);
        name[nl] = 0;
        int takes = !strcmp(name, "--threads") || !strcmp(name, "--prim") || !strcmp(name, "--n") ||
                    !strcmp(name, "--batch") || !strcmp(name, "--dcf-g") || !strcmp(name, "--cpu-path") || !strcmp(name, "--gpu-batch") || !strcmp(name, "--min-time");
        if (takes) {
            if (eq)
                val = eq + 1;
            else if (i + 1 < argc)
                val = argv[++i];
            else
                bad_arg("%s needs a value", name);
        } else if (eq) {
            bad_arg("option '%s' takes no value", name);
        }
        if (!strcmp(name, "--json")) {
            o->json = 1;
        } else if (!strcmp(name, "--quick")) {
            o->quick = 1;
        } else if (!strcmp(name, "--sweep")) {
            o->sweep = 1;
        } else if (!strcmp(name, "--no-gpu")) {
            o->no_gpu = 1;
        } else if (!strcmp(name, "--no-cpu")) {
            o->no_cpu = 1;
        } else if (!strcmp(name, "--help") || !strcmp(name, "-h")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(name, "--threads")) {
            size_t t = parse_size(name, val);
            if (t > 1024)
                bad_arg("bad value for %s", name);
            o->threads = (int)t;
        } else if (!strcmp(name, "--batch")) {
            char list[256];
            snprintf(list, sizeof list, "%s", val);
            o->nb = 0;
            for (char *t = strtok(list, ","); t; t = strtok(NULL, ","))
                if (o->nb < MAX_BATCHES)
                    o->batches[o->nb++] = parse_size(name, t);
            batch_set = 1;
        } else if (!strcmp(name, "--dcf-g")) {
            const size_t g = parse_size(name, val);
            if (g > FSS_DCF_MAX_G)
                bad_arg("bad value for %s (1..64)", name);
            o->dcf_g = (int)g;
        } else if (!strcmp(name, "--gpu-batch")) {
            o->gpu_batch = parse_size(name, val);
            gpu_batch_set = 1;
        } else if (!strcmp(name, "--min-time")) {
            char *end;
            o->min_time = strtod(val, &end);
            if (*end || end == val || !(o->min_time >= 0) || o->min_time > 60)
                bad_arg("bad value for %s", name);
        } else if (!strcmp(name, "--prim")) {
            o->prims = 0;
            char buf[256];
            snprintf(buf, sizeof buf, "%s", val);
            for (char *sv, *t = strtok_r(buf, ",", &sv); t; t = strtok_r(NULL, ",", &sv)) {
                int p = 0;
                while (p < P_COUNT && strcmp(t, prim_names[p]))
                    p++;
                if (p == P_COUNT)
                    bad_arg("unknown primitive '%s' for --prim", t);
                o->prims |= 1u << p;
            }
            if (!o->prims)
                bad_arg("empty list for %s", name);
        } else if (!strcmp(name, "--cpu-path")) {
            o->paths = 0;
            char buf[256];
            snprintf(buf, sizeof buf, "%s", val);
            for (char *sv, *t = strtok_r(buf, ",", &sv); t; t = strtok_r(NULL, ",", &sv)) {
                int p = 0;
                while (p < PATH_COUNT && strcmp(t, path_names[p]))
                    p++;
                if (p == PATH_COUNT)
                    bad_arg("unknown path '%s' for --cpu-path", t);
                o->paths |= 1u << p;
            }
            if (!o->paths)
                bad_arg("empty list for %s", name);
        } else if (!strcmp(name, "--n")) {
            char buf[256];
            snprintf(buf, sizeof buf, "%s", val);
            o->nn = 0;
            for (char *sv, *t = strtok_r(buf, ",", &sv); t; t = strtok_r(NULL, ",", &sv)) {
                char *end;
                long v = strtol(t, &end, 10);
                if (*end || end == t || v < 1 || v > 64 || o->nn == MAX_NS)
                    bad_arg("bad input width '%s' for --n (1..64)", t);
                o->ns[o->nn++] = (int)v;
            }
            if (!o->nn)
                bad_arg("empty list for %s", name);
            ns_set = 1;
        } else {
            bad_arg("unknown option '%s'", a);
        }
    }
    if (o->sweep) {
        static const size_t sweep[] = {1, 16, 256, 4096, (size_t)1 << 16, (size_t)1 << 20};
        o->nb = 6;
        memcpy(o->batches, sweep, sizeof sweep);
    } else if (!batch_set) {
        o->nb = 1;
        o->batches[0] = o->quick ? QUICK_BATCH : DEFAULT_BATCH;
    }
    o->batch = o->batches[0];
    if (!gpu_batch_set)
        o->gpu_batch = o->quick ? QUICK_GPU_BATCH : DEFAULT_GPU_BATCH;
    if (!ns_set) {
        static const int full[] = {16, 20, 32, 50, 64}, quick[] = {20, 64};
        const int *s = o->quick ? quick : full;
        o->nn = o->quick ? 2 : 5;
        memcpy(o->ns, s, (size_t)o->nn * sizeof *s);
    }
    o->tab = o->json ? stderr : stdout;
}

/* ---- output ---------------------------------------------------------------------- */

void table_head(const opts *o)
{
    fprintf(o->tab, "| prim | backend | path | threads | n | out_bits | op | count | per_s | ns_per_op "
                    "| aes_blocks | key_bytes | %% of AES limit |\n");
    fprintf(o->tab, "| --- | --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    fflush(o->tab);
}

void emit_row(const opts *o, const row *r)
{
    double ns = 1e9 / r->per_s;
    char frac[32] = "-";
    if (r->aes_frac >= 0)
        snprintf(frac, sizeof frac, "%.1f%%", 100 * r->aes_frac);
    char prim[32];
    snprintf(prim, sizeof prim, r->g > 1 ? "%s g=%d" : "%s", r->prim, r->g);
    fprintf(o->tab, "| %s | %s | %s | %d | %d | %d | %s | %zu | %.0f | %.1f | %" PRIu64 " | %zu | %s |\n", prim,
            r->backend, r->path ? r->path : "-", r->threads, r->n, r->out_bits, r->op, r->count, r->per_s, ns,
            r->aes_blocks, r->key_bytes, frac);
    fflush(o->tab);
    if (o->json) {
        printf("{\"prim\": \"%s\", \"backend\": \"%s\", \"threads\": %d, \"n\": %d, \"out_bits\": %d, \"op\": \"%s\", "
               "\"count\": %zu, \"per_s\": %.1f, \"ns_per_op\": %.3f, \"aes_blocks\": %" PRIu64 ", \"key_bytes\": %zu",
               r->prim, r->backend, r->threads, r->n, r->out_bits, r->op, r->count, r->per_s, ns, r->aes_blocks,
               r->key_bytes);
        if (r->path)
            printf(", \"path\": \"%s\"", r->path);
        if (r->g > 1)
            printf(", \"g\": %d", r->g);
        if (r->aes_frac >= 0)
            printf(", \"aes_frac\": %.4f", r->aes_frac);
        printf("}\n");
        fflush(stdout);
    }
}

void emit_aes(const opts *o, const char *backend, const char *path, int threads, double blocks_per_s)
{
    fprintf(o->tab, "| aes | %s | %s | %d | - | 128 | ecb | - | %.0f | %.3f | 1 | - | - |\n", backend,
            path ? path : "-", threads, blocks_per_s, 1e9 / blocks_per_s);
    fflush(o->tab);
    if (o->json) {
        printf("{\"prim\": \"aes\", \"backend\": \"%s\", \"threads\": %d, \"blocks_per_s\": %.1f, "
               "\"ns_per_op\": %.4f",
               backend, threads, blocks_per_s, 1e9 / blocks_per_s);
        if (path)
            printf(", \"path\": \"%s\"", path);
        printf("}\n");
        fflush(stdout);
    }
}

double median(double *v, int n)
{
    for (int i = 1; i < n; i++) /* insertion sort: n is small */
        for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
            const double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void cpu_model(char *out, size_t len)
{
    snprintf(out, len, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10))
            continue;
        char *c = strchr(line, ':');
        if (!c)
            continue;
        c += 1 + (c[1] == ' ');
        c[strcspn(c, "\n")] = 0;
        snprintf(out, len, "%s", c);
        break;
    }
    fclose(f);
}

static void header(const opts *o, int argc, char **argv, int all_threads)
{
    char cpu[256], date[64];
    cpu_model(cpu, sizeof cpu);
    time_t t = time(NULL);
    struct tm tmv;
    gmtime_r(&t, &tmv);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", &tmv);
    int procs = 1;
#ifdef _OPENMP
    procs = omp_get_num_procs();
#endif
    FILE *f = o->tab;
    fprintf(f, "# fss-bench\n\n");
    fprintf(f, "- date: %s\n", date);
    fprintf(f, "- cpu: %s, %d processors (all threads = %d)\n", cpu, procs, all_threads);
    fprintf(f, "- openssl: %s\n", OpenSSL_version(OPENSSL_VERSION));
    fprintf(f, "- AVX-512 VAES path: %s; AVX2 VAES path: %s\n",
            fss_cpu_path_available(FSS_CPU_VAES512) ? "available" : "not on this processor",
            fss_cpu_path_available(FSS_CPU_VAES256) ? "available" : "not on this processor");
#if defined(__clang__)
    fprintf(f, "- compiler: clang %s\n", __clang_version__);
#elif defined(__GNUC__)
    fprintf(f, "- compiler: gcc %s\n", __VERSION__);
#endif
    fprintf(f, "- command:");
    for (int i = 0; i < argc; i++)
        fprintf(f, " %s", argv[i]);
    fprintf(f, "\n- batch");
    for (int i = 0; i < o->nb; i++)
        fprintf(f, "%s %zu", i ? "," : "", o->batches[i]);
    fprintf(f, " (cpu), %zu (gpu); the median of %d repetitions of >= %.3g s each\n", o->gpu_batch, REPETITIONS,
            o->min_time);
    fprintf(f, "- per_s: instances per second (keygen: key pairs; eval: one party); aes_blocks per instance; "
               "key_bytes: one party's serialized key; %% of AES limit: per_s * aes_blocks / AES blocks per second "
               "of the same backend and thread count in this run\n\n");
}

/* ---- timing ---------------------------------------------------------------------- */

typedef void (*op_fn)(void *arg);

/* Seconds per call of op: a warm-up call, then REPETITIONS repetitions each calling op
 * until min_time has passed; the median repetition. *calls counts every call made. */
static double time_cpu(op_fn op, void *arg, double min_time, uint64_t *calls)
{
    op(arg);
    *calls = 1;
    double per[REPETITIONS];
    for (int r = 0; r < REPETITIONS; r++) {
        uint64_t c = 0;
        double t0 = now_s(), el;
        do {
            op(arg);
            c++;
            el = now_s() - t0;
        } while (el < min_time);
        *calls += c;
        per[r] = el / (double)c;
    }
    return median(per, REPETITIONS);
}

static void check_blocks(const char *what, uint64_t measured, uint64_t calls, uint64_t count, uint64_t per)
{
    if (measured != calls * count * per)
        die("%s: the AES counter says %" PRIu64 " blocks for %" PRIu64 " calls of %" PRIu64
            " instances, the formula %" PRIu64 " an instance (%.3f measured)",
            what, measured, calls, count, per, (double)measured / (double)(calls * count));
}

/* ---- raw AES on the CPU ---------------------------------------------------------- */

typedef struct aes_arg {
    fss_ctx *ctx;
    int threads;
    fss_block **in, **out; /* per thread */
} aes_arg;

/* Blocks per second of one parallel region in which every thread sweeps its own
 * buffers, 16 KiB a call, until min_time has passed. One region for the whole time, not
 * a fork per call: on a shared machine a fork's barrier waits for the slowest thread,
 * which measures the scheduler rather than AES. *blocks counts the blocks. */
static double aes_region(aes_arg *a, double min_time, uint64_t *blocks)
{
    uint64_t total = 0;
    int failed = 0;
    const double t0 = now_s();
#pragma omp parallel num_threads(a->threads) reduction(+ : total) reduction(| : failed)
    {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        do {
            for (size_t b = 0; b < AES_BUF_BLOCKS; b += AES_CALL_BLOCKS)
                failed |= fss_ctx_aes(a->ctx, tid, a->in[tid] + b, a->out[tid] + b, AES_CALL_BLOCKS) != FSS_OK;
            total += AES_BUF_BLOCKS;
        } while (now_s() - t0 < min_time);
    }
    const double el = now_s() - t0;
    if (failed)
        die("fss_ctx_aes failed");
    *blocks += total;
    return (double)total / el;
}

/* AES blocks per second with the context's current thread count, each thread on its own
 * buffers under its own tid: a warm-up region, then the median of REPETITIONS. */
static double bench_cpu_aes(const opts *o, fss_ctx *ctx, fss_rng *rng)
{
    aes_arg a = {ctx, fss_ctx_threads(ctx), NULL, NULL};
    a.in = (fss_block **)calloc((size_t)a.threads, sizeof *a.in);
    a.out = (fss_block **)calloc((size_t)a.threads, sizeof *a.out);
    if (!a.in || !a.out)
        die("out of memory");
    for (int t = 0; t < a.threads; t++) {
        a.in[t] = (fss_block *)xmalloc(AES_BUF_BLOCKS * sizeof(fss_block));
        a.out[t] = (fss_block *)xmalloc(AES_BUF_BLOCKS * sizeof(fss_block));
        OK(ctx, fss_rng_bytes(rng, a.in[t], AES_BUF_BLOCKS * sizeof(fss_block)));
    }
    uint64_t blocks = 0;
    fss_ctx_reset_counters(ctx);
    aes_region(&a, 0, &blocks);
    double rates[REPETITIONS];
    for (int r = 0; r < REPETITIONS; r++)
        rates[r] = aes_region(&a, o->min_time, &blocks);
    const double best = median(rates, REPETITIONS);
    check_blocks("aes", fss_ctx_aes_blocks(ctx), 1, blocks, 1);
    for (int t = 0; t < a.threads; t++) {
        free(a.in[t]);
        free(a.out[t]);
    }
    free(a.in);
    free(a.out);
    return best;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_VAES_LOOP 1
/* AES-128 blocks this thread encrypts in about `seconds`: eight independent chains of
 * 512-bit VAES rounds (four blocks a register, ten rounds a block); *sink keeps the
 * result alive. Only on a processor with AVX-512 VAES. */
__attribute__((target("avx512f,vaes"))) static uint64_t vaes_loop(double seconds, uint64_t *sink)
{
    __m512i rk[11], s[8];
    for (int r = 0; r < 11; r++)
        rk[r] = _mm512_set1_epi64((long long)(0x0123456789abcdefull * (uint64_t)(r + 1)));
    for (int i = 0; i < 8; i++)
        s[i] = _mm512_set1_epi64(i);
    uint64_t blocks = 0;
    const double t0 = now_s();
    do {
        for (int it = 0; it < 4096; it++) {
            for (int i = 0; i < 8; i++)
                s[i] = _mm512_xor_si512(s[i], rk[0]);
            for (int r = 1; r < 10; r++)
                for (int i = 0; i < 8; i++)
                    s[i] = _mm512_aesenc_epi128(s[i], rk[r]);
            for (int i = 0; i < 8; i++)
                s[i] = _mm512_aesenclast_epi128(s[i], rk[10]);
        }
        blocks += 4096 * 8 * 4;
    } while (now_s() - t0 < seconds);
    __m512i x = s[0];
    for (int i = 1; i < 8; i++)
        x = _mm512_xor_si512(x, s[i]);
    uint64_t lanes[8];
    _mm512_storeu_si512((void *)lanes, x);
    for (int i = 0; i < 8; i++)
        *sink ^= lanes[i];
    return blocks;
}

/* The VAES limit with threads threads, each running the loop in one region: the median of
 * REPETITIONS after a warm-up. */
static double bench_vaes_limit(const opts *o, int threads)
{
    double rates[REPETITIONS];
    uint64_t sink = 0;
    for (int r = -1; r < REPETITIONS; r++) {
        uint64_t total = 0;
        const double t0 = now_s();
#pragma omp parallel num_threads(threads) reduction(+ : total) reduction(^ : sink)
        total += vaes_loop(r < 0 ? 0.05 : o->min_time, &sink);
        if (r >= 0)
            rates[r] = (double)total / (now_s() - t0);
    }
    if (sink == 0x5555) /* (practically never): keeps the loop's result */
        fprintf(stderr, ".");
    return median(rates, REPETITIONS);
}
#endif

typedef struct op_arg {
    fss_ctx *ctx;
    batch *b;
    uint64_t *out;
} op_arg;

static void keygen_op(void *p)
{
    op_arg *a = (op_arg *)p;
    OK(a->ctx, batch_keygen(a->ctx, a->b));
}

static void eval_op(void *p)
{
    op_arg *a = (op_arg *)p;
    OK(a->ctx, batch_eval(a->ctx, a->b, 0, a->b->x, a->out));
}

/* One variant at one n on the CPU, for each thread count and eval path: validate, then
 * time. The keys are generated once and evaluated again and again: a benchmark only,
 * as real FSS keys are one-time (a key pair must never see two inputs). Keygen is
 * timed into the same buffers from the same roots, so it rewrites the keys unchanged;
 * the evals validated afterwards are of those keys, and the timed evals must reproduce
 * the validated shares. Every path must give the same shares as the first. On the VAES
 * path the library credits the AES counter from the same formula it is checked against
 * (fss_ctx_add_aes_blocks), so there the counter check only guards the bookkeeping. */
static void bench_cpu_batch(const opts *o, fss_ctx *ctx, fss_rng *rng, variant v, int n, size_t count0,
                            const int *tcounts, int ntc, const double *aes_rate)
{
    batch b;
    batch_inputs(&b, ctx, rng, v.prim, n, v.l, o->dcf_g, count0);
    batch_alloc_keys(&b, ctx);
    const size_t count = b.count;
    const size_t words = count * (size_t)b.g;
    uint64_t *y0 = (uint64_t *)xmalloc(words * 8), *y1 = (uint64_t *)xmalloc(words * 8),
             *yt = (uint64_t *)xmalloc(words * 8), *yref = (uint64_t *)xmalloc(words * 8);
    const uint64_t eb = eval_blocks(&b), kb = keygen_blocks(&b);
    const char *name = prim_names[v.prim];
    op_arg a = {ctx, &b, yt};
    for (int ti = 0; ti < ntc; ti++) {
        OK(ctx, fss_ctx_set_threads(ctx, tcounts[ti]));
        /* keygen on the path the dealer takes: the fastest */
        int kpath = PATH_COUNT - 1;
        while (!(o->paths & (1u << kpath)))
            kpath--;
        OK(ctx, fss_ctx_set_cpu_path(ctx, (fss_cpu_path)kpath));
        uint64_t calls;
        fss_ctx_reset_counters(ctx);
        OK(ctx, batch_keygen(ctx, &b));
        check_blocks("keygen", fss_ctx_aes_blocks(ctx), 1, count, kb);
        fss_ctx_reset_counters(ctx);
        double s = time_cpu(keygen_op, &a, o->min_time, &calls);
        check_blocks("keygen", fss_ctx_aes_blocks(ctx), calls, count, kb);
        row r = {name, "cpu", "keygen", path_names[kpath], tcounts[ti], n, v.l, b.g, count,
                 (double)count / s, kb, key_bytes(&b), -1};
        r.aes_frac = r.per_s * (double)kb / aes_rate[ti];
        int first = 1;
        for (int path = 0; path < PATH_COUNT; path++) {
            if (!(o->paths & (1u << path)))
                continue;
            OK(ctx, fss_ctx_set_cpu_path(ctx, (fss_cpu_path)path));
            /* Validate. */
            fss_ctx_reset_counters(ctx);
            OK(ctx, batch_eval(ctx, &b, 0, b.x, y0));
            check_blocks("eval", fss_ctx_aes_blocks(ctx), 1, count, eb);
            OK(ctx, batch_eval(ctx, &b, 1, b.x, y1));
            check_outputs(path_names[path], &b, 0, count, y0, y1);
            if (first)
                memcpy(yref, y0, words * 8);
            else if (memcmp(yref, y0, words * 8))
                die("%s n=%d l=%d: the %s path's shares differ from the first path's", name, n, v.l,
                    path_names[path]);
            if (first)
                emit_row(o, &r); /* keygen: its keys are now validated */
            first = 0;
            /* Time. */
            fss_ctx_reset_counters(ctx);
            s = time_cpu(eval_op, &a, o->min_time, &calls);
            check_blocks("eval", fss_ctx_aes_blocks(ctx), calls, count, eb);
            if (memcmp(yt, y0, words * 8))
                die("%s n=%d l=%d: the timed evaluations differ from the validated ones", name, n, v.l);
            row e = {name, "cpu", "eval", path_names[path], tcounts[ti], n, v.l, b.g, count, (double)count / s, eb,
                     key_bytes(&b), -1};
            e.aes_frac = e.per_s * (double)eb / aes_rate[ti];
            emit_row(o, &e);
        }
    }
    free(y0);
    free(y1);
    free(yt);
    free(yref);
    batch_free(&b);
}

/* ---- the ring GEMM on the CPU ------------------------------------------------------ */

typedef struct gemm_arg {
    fss_ctx *ctx;
    int path;
    size_t m, k, n;
    const uint64_t *A, *B;
    uint64_t *C;
} gemm_arg;

static void gemm_op(void *p)
{
    gemm_arg *a = (gemm_arg *)p;
    fss_gemm_u64_path(a->ctx, a->path, a->m, a->k, a->n, a->A, a->B, a->C, 0);
}

/* The processor's default GEMM path (fss_gemm_u64_path's FSS_GEMM_AUTO), for the rows'
 * labels; "avx2" only where the processor has AVX2. */
static const char *gemm_auto_path(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq"))
        return "avx512";
    if (__builtin_cpu_supports("avx2"))
        return "avx2";
#endif
    return "plain";
}

/* The ring GEMM (mod 2^64) on one thread at the transformers' and a CNN's shapes (--quick:
 * BERT-tiny's only), on the portable loop (the baseline of the same run, and the
 * reference: test_gemm checks it against the triple loop), the AVX2 tile where the
 * processor has AVX2, and the default path: each path's product checked against the
 * portable loop's in full, then timed (each call also zeroes C, 1/k of its work). */
static void bench_cpu_gemm(const opts *o, fss_ctx *ctx, fss_rng *rng)
{
    static const struct {
        const char *what;
        size_t m, k, n;
    } shapes[] = {{"bert-tiny mlp up, 128", 128, 128, 512},   {"gpt2 qkv, 128 tokens", 128, 768, 2304},
                  {"gpt2 mlp up, 128", 128, 768, 3072},       {"gpt2 mlp down, 128", 128, 3072, 768},
                  {"gpt2 attn out, 32", 32, 768, 768},        {"resnet-50 layer1 3x3", 64, 576, 3136}};
    const char *const auto_path = gemm_auto_path();
    char auto_name[32];
    snprintf(auto_name, sizeof auto_name, "auto (%s)", auto_path);
    const struct {
        const char *name;
        int path;
    } paths[] = {{"plain", FSS_GEMM_PLAIN}, {"avx2", FSS_GEMM_AVX2}, {auto_name, FSS_GEMM_AUTO}};
    const int threads = fss_ctx_threads(ctx);
    OK(ctx, fss_ctx_set_threads(ctx, 1));
    fprintf(o->tab, "\n| gemm (mod 2^64), 1 thread | m x k x n | path | G MAC/s | x plain |\n"
                    "| --- | --- | --- | ---: | ---: |\n");
    for (size_t i = 0; i < (o->quick ? 1 : sizeof shapes / sizeof *shapes); i++) {
        const size_t m = shapes[i].m, k = shapes[i].k, n = shapes[i].n;
        uint64_t *A, *B, *C, *W;
        gemm_operands(ctx, rng, m, k, n, &A, &B, &C, &W);
        fss_gemm_u64_path(ctx, FSS_GEMM_PLAIN, m, k, n, A, B, W, 0);
        const double macs = (double)m * (double)k * (double)n;
        double plain = 0;
        for (size_t pi = 0; pi < sizeof paths / sizeof *paths; pi++) {
            if (paths[pi].path == FSS_GEMM_AVX2 && !strcmp(auto_path, "plain"))
                continue; /* (no AVX2: the plain loop again) */
            gemm_arg a = {ctx, paths[pi].path, m, k, n, A, B, C};
            gemm_op(&a);
            if (memcmp(C, W, m * n * 8))
                die("gemm %zux%zux%zu: the %s path's product differs from the portable loop's", m, k, n,
                    paths[pi].name);
            uint64_t calls;
            const double rate = macs / time_cpu(gemm_op, &a, o->min_time, &calls);
            if (!pi)
                plain = rate;
            fprintf(o->tab, "| %s | %zu x %zu x %zu | %s | %.2f | %.2f |\n", shapes[i].what, m, k, n,
                    paths[pi].name, rate / 1e9, rate / plain);
            fflush(o->tab);
            if (o->json) {
                const int dflt = paths[pi].path == FSS_GEMM_AUTO;
                printf("{\"prim\": \"gemm\", \"backend\": \"cpu\", \"path\": \"%s\", \"tile\": \"%s\", "
                       "\"shape\": \"%s\", \"m\": %zu, \"k\": %zu, \"n\": %zu, \"threads\": 1, "
                       "\"macs_per_s\": %.4g, \"vs_plain\": %.4g}\n",
                       dflt ? "auto" : paths[pi].name, dflt ? auto_path : paths[pi].name, shapes[i].what, m, k, n,
                       rate, rate / plain);
                fflush(stdout);
            }
        }
        free(A);
        free(B);
        free(C);
        free(W);
    }
    OK(ctx, fss_ctx_set_threads(ctx, threads));
}

/* ---- main ---------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    opts o;
    parse_args(argc, argv, &o);
    fss_ctx *ctx = NULL;
    fss_rng *rng = NULL;
    OK(ctx, fss_ctx_new(&ctx, o.threads)); /* 0: every processor */
    OK(ctx, fss_rng_new_os(&rng));
    const int all = fss_ctx_threads(ctx);
    const int tcounts[2] = {1, all}, ntc = all > 1 ? 2 : 1;
    /* The context starts on the fastest path the processor has. */
    const fss_cpu_path best = fss_ctx_cpu_path(ctx);
    const int have_vaes = best == FSS_CPU_VAES512;
    if (!o.paths)
        for (int p = 0; p < PATH_COUNT; p++)
            o.paths |= fss_cpu_path_available((fss_cpu_path)p) ? 1u << p : 0;
    for (int p = 0; p < PATH_COUNT; p++)
        if ((o.paths & (1u << p)) && !fss_cpu_path_available((fss_cpu_path)p))
            die("--cpu-path %s: this processor has not what it needs (%s)", path_names[p],
                p == PATH_VAES ? "AVX-512 with VBMI, VAES and GFNI" : "AVX2, AES-NI and VAES");

    header(&o, argc, argv, all);
    table_head(&o);
    /* The AES limit of each thread count is the denominator of "% of AES limit", so it is
     * measured even when aes is not among --prim (and then not printed). */
    double aes_rate[2];
    for (int ti = 0; ti < ntc; ti++) {
        OK(ctx, fss_ctx_set_threads(ctx, tcounts[ti]));
        OK(ctx, fss_ctx_set_cpu_path(ctx, FSS_CPU_OPENSSL)); /* OpenSSL's ECB (fss_ctx_aes follows the path) */
        aes_rate[ti] = bench_cpu_aes(&o, ctx, rng);
        OK(ctx, fss_ctx_set_cpu_path(ctx, best));
        if (o.prims & (1u << P_AES))
            emit_aes(&o, "cpu", "openssl", tcounts[ti], aes_rate[ti]);
        if (best == FSS_CPU_VAES256) {
            const double v = bench_cpu_aes(&o, ctx, rng);
            if (o.prims & (1u << P_AES))
                emit_aes(&o, "cpu", path_names[PATH_VAES256], tcounts[ti], v);
            aes_rate[ti] = v > aes_rate[ti] ? v : aes_rate[ti];
        }
#ifdef HAVE_VAES_LOOP
        if (have_vaes) {
            const double v = bench_vaes_limit(&o, tcounts[ti]);
            if (o.prims & (1u << P_AES))
                emit_aes(&o, "cpu", "vaes", tcounts[ti], v);
            aes_rate[ti] = v > aes_rate[ti] ? v : aes_rate[ti];
        }
#endif
    }
    for (size_t vi = 0; vi < NVARIANTS && !o.no_cpu; vi++) {
        if (!(o.prims & (1u << variants[vi].prim)))
            continue;
        for (int ni = 0; ni < o.nn; ni++)
            for (int bi = 0; bi < o.nb && (variants[vi].prim != P_LUT || o.ns[ni] <= FSS_DPF_LUT_MAX_BITS); bi++)
                bench_cpu_batch(&o, ctx, rng, variants[vi], o.ns[ni], o.batches[bi], tcounts, ntc, aes_rate);
    }

    if ((o.prims & (1u << P_GEMM)) && !o.no_cpu)
        bench_cpu_gemm(&o, ctx, rng);

    if (!o.no_gpu) {
#ifdef FSS_HAVE_CUDA
        if (fss_cuda_device_count() > 0) {
            OK(ctx, fss_ctx_set_threads(ctx, all));
            OK(ctx, fss_ctx_set_cpu_path(ctx, best));
            bench_gpu(&o, ctx, rng);
        } else {
            fprintf(stderr, "fss-bench: no CUDA device; GPU rows skipped\n");
        }
#else
        fprintf(stderr, "fss-bench: built without the CUDA backend; GPU rows skipped\n");
#endif
    }
    fss_rng_free(rng);
    fss_ctx_free(ctx);
    return 0;
}
