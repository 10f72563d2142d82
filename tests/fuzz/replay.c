/* The fuzz targets' driver where libFuzzer is not used (gcc builds, ctest): runs the
 * target on every file of the seed corpus directories given, then on rounds random
 * mutations of each (bit flips, byte sets, truncations, extensions), from a seed printed
 * so that a failure can be replayed (FSS_TEST_SEED).
 *   fuzz_X [--rounds N] DIR|FILE ... */
#include <dirent.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../check.h"
#include "fuzz_common.h"

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(sz > 0 ? (size_t)sz : 1);
    *n = b && sz > 0 && fread(b, 1, (size_t)sz, f) == (size_t)sz ? (size_t)sz : 0;
    fclose(f);
    return b;
}

static size_t inputs;

static void one(fss_rng *rng, const char *path, int rounds)
{
    size_t n = 0;
    uint8_t *seed = slurp(path, &n);
    REQUIRE(seed);
    LLVMFuzzerTestOneInput(seed, n);
    inputs++;
    uint8_t *m = malloc(n + 64);
    REQUIRE(m);
    for (int r = 0; r < rounds; r++) {
        size_t len = n;
        memcpy(m, seed, n);
        const int edits = 1 + (int)(check_u64(rng) % 4);
        for (int e = 0; e < edits; e++) {
            const uint64_t v = check_u64(rng);
            switch (v % 4) {
            case 0: if (len) m[(v >> 8) % len] ^= (uint8_t)(1u << ((v >> 4) & 7)); break;
            case 1: if (len) m[(v >> 8) % len] = (uint8_t)(v >> 56); break;
            case 2: len = len ? (size_t)((v >> 8) % len) : 0; break;
            default:
                for (int k = 0; k < 8 && len < n + 64; k++)
                    m[len++] = (uint8_t)(v >> (8 * k));
            }
        }
        LLVMFuzzerTestOneInput(m, len);
        inputs++;
    }
    free(m);
    free(seed);
}

int main(int argc, char **argv)
{
    fss_rng *rng = check_init(argv[0]);
    int rounds = 300;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
            rounds = atoi(argv[++i]);
            continue;
        }
        struct stat sb;
        REQUIRE(stat(argv[i], &sb) == 0);
        if (!S_ISDIR(sb.st_mode)) {
            one(rng, argv[i], rounds);
            continue;
        }
        DIR *d = opendir(argv[i]);
        REQUIRE(d);
        for (struct dirent *e; (e = readdir(d));) {
            if (e->d_name[0] == '.')
                continue;
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", argv[i], e->d_name);
            one(rng, p, rounds);
        }
        closedir(d);
    }
    CHECK(inputs > 0, "no seed inputs found");
    printf("%zu inputs, no crash\n", inputs);
    fss_rng_free(rng);
    return check_summary();
}
