/* Arithmetic in the ring Z_{2^n}, 1 <= n <= 64, held in uint64_t.
 *
 * Values are kept reduced (bits n..63 zero). The signed reading of a value v is
 * v - 2^n when bit n-1 is set. All functions are per-element bodies (FSS_HD). */
#ifndef FSS_RING_H
#define FSS_RING_H

#include "fss/common.h"

#define FSS_RING_MAX_BITS 64

/* 2^n - 1; for n == 64 all ones. */
static inline FSS_HD uint64_t fss_ring_mask(int n)
{
    return n >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << n) - 1);
}

static inline FSS_HD uint64_t fss_ring_reduce(uint64_t a, int n) { return a & fss_ring_mask(n); }
static inline FSS_HD uint64_t fss_ring_add(uint64_t a, uint64_t b, int n) { return (a + b) & fss_ring_mask(n); }
static inline FSS_HD uint64_t fss_ring_sub(uint64_t a, uint64_t b, int n) { return (a - b) & fss_ring_mask(n); }
static inline FSS_HD uint64_t fss_ring_mul(uint64_t a, uint64_t b, int n) { return (a * b) & fss_ring_mask(n); }
static inline FSS_HD uint64_t fss_ring_neg(uint64_t a, int n) { return ((uint64_t)0 - a) & fss_ring_mask(n); }

/* a if sign == 0, -a if sign == 1 (branch-free: the sign is often secret-derived). */
static inline FSS_HD uint64_t fss_ring_cneg(uint64_t a, unsigned sign, int n)
{
    uint64_t m = (uint64_t)0 - (uint64_t)(sign & 1u);
    return ((a ^ m) - m) & fss_ring_mask(n);
}

/* Bit i (0 = least significant) of a. */
static inline FSS_HD unsigned fss_ring_bit(uint64_t a, int i) { return (unsigned)((a >> i) & 1u); }

/* The signed value of an n-bit ring element, as int64_t. */
static inline FSS_HD int64_t fss_ring_to_signed(uint64_t a, int n)
{
    if (n >= 64)
        return (int64_t)a;
    uint64_t sign = (uint64_t)1 << (n - 1);
    a &= fss_ring_mask(n);
    return (int64_t)((a ^ sign) - sign);
}

/* The ring element of a signed integer (reduced mod 2^n). */
static inline FSS_HD uint64_t fss_ring_from_signed(int64_t v, int n) { return (uint64_t)v & fss_ring_mask(n); }

/* Sign extension of an m-bit value to n bits (m <= n), as ring elements. */
static inline FSS_HD uint64_t fss_ring_sext(uint64_t a, int m, int n)
{
    return fss_ring_from_signed(fss_ring_to_signed(a, m), n);
}

/* Comparisons: 1 if a < b, reading both as unsigned resp. signed n-bit values. */
static inline FSS_HD unsigned fss_ring_lt_u(uint64_t a, uint64_t b, int n)
{
    return (a & fss_ring_mask(n)) < (b & fss_ring_mask(n));
}
static inline FSS_HD unsigned fss_ring_lt_s(uint64_t a, uint64_t b, int n)
{
    return fss_ring_to_signed(a, n) < fss_ring_to_signed(b, n);
}

#endif
