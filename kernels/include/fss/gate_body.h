/* The gates' per-element protocol arithmetic on a party's side (runtime/gates_*.c, where
 * each formula is derived): one body, which the CPU backend's loops run and which a
 * device kernel can run one element per thread (DESIGN section 5). Inputs are public
 * masked values (x^, d^), the party's shares of dealer values and its FSS outputs;
 * outputs are the party's share of the gate's masked output, to be reconstructed. n-bit
 * results are reduced where the formula's derivation reduces them; shares that go
 * straight to the wire are packed at the ring's width, which drops the high bits. */
#ifndef FSS_GATE_BODY_H
#define FSS_GATE_BODY_H

#include "fss/ring.h"

/* msb of an n-bit value. */
static inline FSS_HD uint64_t fss_msb(uint64_t v, int n) { return (v >> (n - 1)) & 1u; }

/* floor(v / 2^f) for a signed v, without relying on >> of negative values (the clear
 * walk's exact shift). */
static inline FSS_HD int64_t fss_floor_shift(int64_t v, int f)
{
    return v >= 0 ? (int64_t)((uint64_t)v >> f) : -(int64_t)(((uint64_t)(-(v + 1))) >> f) - 1;
}

/* A reconstructed value from the peer's share and mine: XOR-shared bits or additive. */
static inline FSS_HD uint64_t fss_share_join(uint64_t theirs, uint64_t mine, int n, int xor_shared)
{
    return xor_shared ? theirs ^ mine : fss_ring_add(theirs, mine, n);
}

/* A product's operand: the owner's value less its share (party "mine"), or minus its share. */
static inline FSS_HD uint64_t fss_prod_operand(uint64_t own, uint64_t share, int mine)
{
    return (mine ? own : 0) - share;
}

/* DReLU: my XOR share of d^ = 1{x >= 0} + r_d from the comparison's share c of
 * 1{x^' < r'} and the dealer's bit z_b; party 0 adds the public 1 ^ msb(x^). */
static inline FSS_HD uint64_t fss_drelu_share(uint64_t c, uint64_t z, uint64_t xh, int n, int party)
{
    return c ^ z ^ (party == 0 ? 1u ^ fss_msb(xh, n) : 0u);
}

/* Select (and select with zero extension from m bits): my share of y^ = d x + r_y from
 * d^, x^ and my shares of r_d, r_x, r_d r_x, r_y (and, zext, of u = 2^m msb(r_x) and
 * r_d u), unreduced. */
static inline FSS_HD uint64_t fss_select_share(uint64_t dh, uint64_t xh, uint64_t rd, uint64_t rx, uint64_t rdx,
                                               uint64_t ry, uint64_t u, uint64_t rdu, int m, int zext, int party)
{
    if (zext && !fss_msb(xh, m)) { /* the wrap of x^ - r_x past 2^m */
        rx -= u;
        rdx -= rdu;
    }
    uint64_t v = ry - dh * rx + (1 - 2 * dh) * (xh * rd - rdx);
    return party == 0 ? v + dh * xh : v;
}

/* A carry c = 1{x < alpha} from its masked bit c^ = c ^ m (revealed) and my share of the
 * dealer's mask bit m: c = c^ + (1 - 2 c^) m over the integers, so my share is linear in
 * m's; party 0 adds the public c^ (the lean shifts, runtime/gates_cmp.c). */
static inline FSS_HD uint64_t fss_carry_share(uint64_t ch, uint64_t m, int party)
{
    return (party == 0 ? ch : 0) + (1 - 2 * ch) * m;
}

/* Truncations of x^ by f (n bits in, m out): the shifted input (x^ + 2^(n-1) for the
 * arithmetic shift), and my share before the low DCF's output and the dealer's share are
 * added: the wrap DCF's output hi (arithmetic shift only) moved up by n - f, and party 0's
 * public high part. */
static inline FSS_HD uint64_t fss_trunc_in(uint64_t xh, int n, int arith)
{
    return fss_ring_add(xh, arith ? (uint64_t)1 << (n - 1) : 0, n);
}
static inline FSS_HD uint64_t fss_trunc_pre(uint64_t hi, uint64_t xs, int n, int f, int arith, int party)
{
    const uint64_t half = arith ? (uint64_t)1 << (n - 1) : 0;
    uint64_t v = arith ? hi << (n - f) : 0;
    return party == 0 ? v + (xs >> f) - (half >> f) : v;
}
/* ... and then y's share: pre + lo + [r_y - H(r)], reduced to m bits. */
static inline FSS_HD uint64_t fss_trunc_share(uint64_t pre, uint64_t lo, uint64_t sh, int m)
{
    return fss_ring_reduce(pre + lo + sh, m);
}

/* The shift of a non-negative x by f: the low DCF's output, party 0's x^ >> f, the share
 * of r_y - H(r), and the share of 2^(n-f) msb(r) where msb(x^) = 0. */
static inline FSS_HD uint64_t fss_ars_nonneg_share(uint64_t lo, uint64_t xh, uint64_t sh_ry, uint64_t sh_wrap, int n,
                                                   int f, int party)
{
    const uint64_t v = lo + (party == 0 ? xh >> f : 0);
    return fss_ring_reduce(v + sh_ry + (fss_msb(xh, n) ? 0 : sh_wrap), n);
}

/* One-round ReLU: d (v^ - r_v) for d = 1{x >= 0} with a the public msb of x's masked
 * value (in its comparison ring), from the DCF's outputs c0, c1 (payload (1 - 2m)(1,
 * r_v)) and my shares of K_0, K_1 and m (v = x itself, or relu_tag's tag t). */
static inline FSS_HD uint64_t fss_relu1_share_a(uint64_t a, uint64_t vh, uint64_t c0, uint64_t c1, uint64_t k0,
                                                uint64_t k1, uint64_t mr, int n, int party)
{
    const uint64_t u = mr * vh + c0 * vh - c1;
    uint64_t v = a ? k1 + u : k0 - u;
    if (party == 0 && !a)
        v += vh;
    return fss_ring_reduce(v, n);
}

/* The same for v = x compared in its whole ring: a = msb(x^). */
static inline FSS_HD uint64_t fss_relu1_share(uint64_t xh, uint64_t c0, uint64_t c1, uint64_t k0, uint64_t k1,
                                              uint64_t mr, int n, int party)
{
    return fss_relu1_share_a(fss_msb(xh, n), xh, c0, c1, k0, k1, mr, n, party);
}

/* Sign extension from m to n bits: the shifted input x^ + 2^(m-1), and my share from the
 * DCF's wrap bit w (moved up by m), the share of r_y - r, and party 0's x'^ - 2^(m-1). */
static inline FSS_HD uint64_t fss_sext_in(uint64_t xh, int m) { return fss_ring_add(xh, (uint64_t)1 << (m - 1), m); }
static inline FSS_HD uint64_t fss_sext_share(uint64_t w, uint64_t sh, uint64_t xs, int m, int n, int party)
{
    uint64_t v = sh + (w << m);
    if (party == 0)
        v += xs - ((uint64_t)1 << (m - 1));
    return fss_ring_reduce(v, n);
}

/* Stochastic truncate-reduce to m bits: the DCF's output c, the share of r_z - H(r - t)
 * and party 0's x^ >> f. */
static inline FSS_HD uint64_t fss_trunc_stoch_share(uint64_t c, uint64_t sh, uint64_t xh, int f, int m, int party)
{
    return fss_ring_reduce(sh + c + (party == 0 ? xh >> f : 0), m);
}

#endif
