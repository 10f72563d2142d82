/* Internal: sums of 64-bit products mod 2^64 in AVX2 registers, which have no 64-bit
 * multiply: a b = lo(a) lo(b) + ((lo(a) hi(b) + hi(a) lo(b)) << 32) mod 2^64. The first
 * term is one vpmuludq. Both cross terms come from one vpmulld (32-bit products, low
 * halves) of a against b with its halves swapped, side by side in a lane's two dwords;
 * only their sum mod 2^32 counts, so they are summed as dwords (no carry between them)
 * and joined once at the end: (x + (x >> 32)) << 32. Two multiplies a product, not three
 * (bench/results/2026-12-07-gemm-avx2.md). The ring's GEMM and dot product (gemm.c) and
 * the AVX2 VAES lookups' leaf dot (cpu_vaes256.c) use it. Include only where x86-64
 * intrinsics are available (immintrin.h). */
#ifndef FSS_CPU_AVX2_MAC_H
#define FSS_CPU_AVX2_MAC_H

#include <immintrin.h>
#include <stdint.h>

/* *lo, *x += the four lanes' products a b in their two parts, where bs is b with each
 * lane's two 32-bit halves swapped (fss_avx2_swap32). */
static inline __attribute__((always_inline, target("avx2"))) void fss_avx2_mac_sw(__m256i a, __m256i b, __m256i bs,
                                                                                  __m256i *lo, __m256i *x)
{
    *lo = _mm256_add_epi64(*lo, _mm256_mul_epu32(a, b));
    *x = _mm256_add_epi32(*x, _mm256_mullo_epi32(a, bs));
}

/* Each 64-bit lane's two 32-bit halves swapped. */
static inline __attribute__((always_inline, target("avx2"))) __m256i fss_avx2_swap32(__m256i b)
{
    return _mm256_shuffle_epi32(b, 0xb1);
}

/* *lo, *x += the four lanes' products a b in their two parts. */
static inline __attribute__((always_inline, target("avx2"))) void fss_avx2_mac(__m256i a, __m256i b, __m256i *lo,
                                                                               __m256i *x)
{
    fss_avx2_mac_sw(a, b, fss_avx2_swap32(b), lo, x);
}

/* The four lanes' sums mod 2^64 of everything fss_avx2_mac (or fss_avx2_mac_sw) accumulated
 * in lo and x. */
static inline __attribute__((always_inline, target("avx2"))) __m256i fss_avx2_mac_join(__m256i lo, __m256i x)
{
    return _mm256_add_epi64(lo, _mm256_slli_epi64(_mm256_add_epi32(x, _mm256_srli_epi64(x, 32)), 32));
}

/* The sum mod 2^64 of everything fss_avx2_mac (or fss_avx2_mac_sw) accumulated in lo and x. */
static inline __attribute__((always_inline, target("avx2"))) uint64_t fss_avx2_mac_sum(__m256i lo, __m256i x)
{
    uint64_t l[4];
    _mm256_storeu_si256((__m256i *)l, fss_avx2_mac_join(lo, x));
    return l[0] + l[1] + l[2] + l[3];
}

#endif
