/* The tests' tiny harness: CHECK prints the failing expression, file, line and the run's
 * seed; check_summary prints "N passed, N failed" and gives the exit code. Asserts
 * hold in every build type. */
#ifndef FSS_TEST_CHECK_H
#define FSS_TEST_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "fss/ctx.h"
#include "fss/rng.h"

#define FSS_TEST_SKIP 77 /* ctest SKIP_RETURN_CODE */

static unsigned long check_passed, check_failed;
static uint64_t check_seed;

#define CHECK(cond, ...)                                                                  \
    do {                                                                                  \
        if (cond) {                                                                       \
            check_passed++;                                                               \
        } else {                                                                          \
            if (check_failed++ < 20) {                                                    \
                fprintf(stderr, "FAIL %s:%d: %s (seed %" PRIu64 "): ", __FILE__, __LINE__, #cond, \
                        check_seed);                                                      \
                fprintf(stderr, __VA_ARGS__);                                             \
                fputc('\n', stderr);                                                      \
            }                                                                             \
        }                                                                                 \
    } while (0)

/* Must succeed or the test cannot go on. */
#define REQUIRE(cond)                                                                     \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "FATAL %s:%d: %s (seed %" PRIu64 ")\n", __FILE__, __LINE__, #cond, check_seed); \
            exit(1);                                                                      \
        }                                                                                 \
    } while (0)

/* The run's seed: FSS_TEST_SEED from the environment to replay, else fresh from the OS. */
static inline fss_rng *check_init(const char *name)
{
    const char *env = getenv("FSS_TEST_SEED");
    if (env && *env) {
        check_seed = strtoull(env, NULL, 0);
    } else {
        REQUIRE(fss_os_random_u64(&check_seed) == FSS_OK);
    }
    printf("%s: seed %" PRIu64 " (replay with FSS_TEST_SEED=%" PRIu64 ")\n", name, check_seed, check_seed);
    fss_rng *r = NULL;
    REQUIRE(fss_rng_new_seeded(&r, check_seed) == FSS_OK);
    return r;
}

static inline uint64_t check_u64(fss_rng *r)
{
    uint64_t v;
    REQUIRE(fss_rng_bytes(r, &v, sizeof v) == FSS_OK);
    return v;
}

/* The CPU path under test: FSS_TEST_CPU_PATH from the environment (openssl, vaes256,
 * vaes512: ctest runs a test again on a path the context would not take by default), else
 * the context's own; exits with FSS_TEST_SKIP where the processor lacks that path or takes
 * it by default (the plain run tests it). Prints the path; returns 1 when it is not
 * OpenSSL's (then the tests compare it with OpenSSL's path, share by share and key by key). */
static inline int check_cpu_path(fss_ctx *ctx)
{
    const char *env = getenv("FSS_TEST_CPU_PATH");
    if (env && *env) {
        const int p = fss_cpu_path_parse(env);
        REQUIRE(p >= 0);
        if (!fss_cpu_path_available((fss_cpu_path)p) || (fss_cpu_path)p == fss_ctx_cpu_path(ctx)) {
            printf("CPU path %s: %s, skipped\n", env,
                   fss_cpu_path_available((fss_cpu_path)p) ? "the default here (the plain run tests it)"
                                                           : "not on this processor");
            exit(FSS_TEST_SKIP);
        }
        REQUIRE(fss_ctx_set_cpu_path(ctx, (fss_cpu_path)p) == FSS_OK);
    }
    const fss_cpu_path p = fss_ctx_cpu_path(ctx);
    printf("CPU path: %s%s\n", fss_cpu_path_name(p), p != FSS_CPU_OPENSSL ? " (compared with openssl's)" : "");
    return p != FSS_CPU_OPENSSL;
}

static inline int check_summary(void)
{
    printf("%lu passed, %lu failed\n", check_passed, check_failed);
    return check_failed ? 1 : 0;
}

#endif
