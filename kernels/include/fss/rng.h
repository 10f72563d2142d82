/* Randomness for masks and key seeds: AES-128-CTR keyed from the OS CSPRNG
 * (getrandom). A seeded variant exists for tests and benchmarks only, so a failing
 * run can be replayed from the seed it printed. */
#ifndef FSS_RNG_H
#define FSS_RNG_H

#include "fss/common.h"

FSS_EXTERN_C_BEGIN

typedef struct fss_rng fss_rng;

/* A generator keyed by 16 bytes from getrandom(2). */
FSS_NODISCARD fss_status fss_rng_new_os(fss_rng **out);
/* A generator keyed by a 16-byte secret (a seed carried in a key file: both holders
 * of the seed expand the same stream). */
FSS_NODISCARD fss_status fss_rng_new_key(fss_rng **out, const uint8_t key[16]);
/* The same stream as fss_rng_new_key's from its block-th 16-byte block on (the counter
 * starts at block): threads expand parts of one stream apart. */
FSS_NODISCARD fss_status fss_rng_new_key_at(fss_rng **out, const uint8_t key[16], uint64_t block);
/* A deterministic generator for tests: the same seed gives the same stream. */
FSS_NODISCARD fss_status fss_rng_new_seeded(fss_rng **out, uint64_t seed);
void fss_rng_free(fss_rng *r);

/* The stream's next n bytes. A stream's counter stays below 2^64 blocks (block + all that
 * is taken: the high half of AES-CTR's 128-bit counter never moves; the VAES path asserts). */
FSS_NODISCARD fss_status fss_rng_bytes(fss_rng *r, void *buf, size_t n);
/* Uniform n-bit values (1 <= n <= 64), count of them. */
FSS_NODISCARD fss_status fss_rng_ring(fss_rng *r, uint64_t *out, size_t count, int n);
/* A random word's top 53 bits as a double in [0, 1), exactly (the random weights, images
 * and embeddings of the benchmarks; through int64: one conversion instruction). */
static inline double fss_rng_unit(uint64_t r) { return (double)(int64_t)(r >> 11) / 9007199254740992.0; }
/* A 64-bit value from the OS CSPRNG, for seeding test runs. */
FSS_NODISCARD fss_status fss_os_random_u64(uint64_t *out);

FSS_EXTERN_C_END

#endif
