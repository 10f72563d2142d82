/* Internal: sums of 64-bit products mod 2^64 in AVX2 registers, which have no 64-bit
 * multiply: a b = lo(a) lo(b) + ((lo(a) hi(b) + hi(a) lo(b)) << 32), with the cross terms
 * summed apart and shifted once at the end ((sum x) << 32 = sum (x << 32) mod 2^64). The
 * ring's dot product (gemm.c) and the AVX2 VAES lookups' leaf dot (cpu_vaes256.c) use it.
 * Include only where x86-64 intrinsics are available (immintrin.h). */
#ifndef FSS_CPU_AVX2_MAC_H
#define FSS_CPU_AVX2_MAC_H

#include <immintrin.h>
#include <stdint.h>

/* *lo, *x += the four lanes' products a b in their two parts. */
static inline __attribute__((always_inline, target("avx2"))) void fss_avx2_mac(__m256i a, __m256i b, __m256i *lo,
                                                                               __m256i *x)
{
    *lo = _mm256_add_epi64(*lo, _mm256_mul_epu32(a, b));
    *x = _mm256_add_epi64(*x, _mm256_add_epi64(_mm256_mul_epu32(a, _mm256_srli_epi64(b, 32)),
                                               _mm256_mul_epu32(_mm256_srli_epi64(a, 32), b)));
}

/* The sum mod 2^64 of everything fss_avx2_mac accumulated in lo and x. */
static inline __attribute__((always_inline, target("avx2"))) uint64_t fss_avx2_mac_sum(__m256i lo, __m256i x)
{
    uint64_t l[4];
    _mm256_storeu_si256((__m256i *)l, _mm256_add_epi64(lo, _mm256_slli_epi64(x, 32)));
    return l[0] + l[1] + l[2] + l[3];
}

#endif
