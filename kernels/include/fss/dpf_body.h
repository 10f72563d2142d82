/* Per-element bodies of the DPF's last step (eval and keygen) and of the comparison;
 * the levels above are fss_tree_*_level. Shared by the CPU and CUDA launchers. */
#ifndef FSS_DPF_BODY_H
#define FSS_DPF_BODY_H

#include "fss/ring.h"
#include "fss/tree_body.h"

/* Mask of the bits of a leaf block that are outputs (2^leaf_log bits, leaf_log <= 7). */
static inline FSS_HD fss_block fss_dpf_leaf_mask(int leaf_log)
{
    fss_block m;
    if (leaf_log >= 7) {
        m.lo = m.hi = ~(uint64_t)0;
    } else if (leaf_log == 6) {
        m.lo = ~(uint64_t)0;
        m.hi = 0;
    } else {
        m.lo = ((uint64_t)1 << (1u << leaf_log)) - 1;
        m.hi = 0;
    }
    return m;
}

/* Group output (early = 0): party's share (-1)^b (conv(S) + t * fcw), conv(S) = S.hi. */
static inline FSS_HD uint64_t fss_dpf_eval_final(unsigned party, int l, fss_block S, unsigned t, uint64_t fcw)
{
    uint64_t v = S.hi + (fcw & ((uint64_t)0 - (uint64_t)t));
    return fss_ring_cneg(v, party, l);
}

/* Bit output (early = 1): the leaf block S xor t * fcw, then bit xl of it. */
static inline FSS_HD fss_block fss_dpf_leaf(fss_block S, unsigned t, fss_block fcw)
{
    return fss_block_xor_if(S, fcw, t);
}
static inline FSS_HD unsigned fss_dpf_leaf_bit(fss_block leaf, unsigned xl)
{
    return (unsigned)((xl < 64 ? leaf.lo >> xl : leaf.hi >> (xl - 64)) & 1u);
}

/* Dealer's final correction, group output: shares reconstruct to beta on alpha. */
static inline FSS_HD uint64_t fss_dpf_keygen_final(int l, uint64_t beta, const fss_block S[2], const unsigned t[2])
{
    uint64_t v = beta - S[0].hi + S[1].hi;
    return fss_ring_cneg(v, t[1], l);
}

/* Pairs (early = 2): word w of a leaf block at depth n - 1, the output of x's last bit
 * w: the high word, or the low word above the two children's control bits (unused at a
 * leaf), 62 pseudorandom bits. */
static inline FSS_HD uint64_t fss_dpf_pair_word(fss_block S, unsigned w) { return w ? S.lo >> 2 : S.hi; }
static inline FSS_HD uint64_t fss_dpf_eval_pair(unsigned party, int l, fss_block S, unsigned t, fss_block fcw,
                                                unsigned w)
{
    uint64_t v = fss_dpf_pair_word(S, w) + ((w ? fcw.hi : fcw.lo) & ((uint64_t)0 - (uint64_t)t));
    return fss_ring_cneg(v, party, l);
}
/* Pairs' two corrections as stored: one 2l-bit number, word 0 in the low l bits (l <= 62),
 * and back. */
static inline FSS_HD fss_block fss_dpf_pair_pack(int l, fss_block f)
{
    fss_block o;
    o.lo = f.lo | f.hi << l;
    o.hi = f.hi >> (64 - l);
    return o;
}
static inline FSS_HD fss_block fss_dpf_pair_unpack(int l, fss_block f)
{
    const uint64_t m = ((uint64_t)1 << l) - 1;
    fss_block o;
    o.lo = f.lo & m;
    o.hi = (f.lo >> l | f.hi << (64 - l)) & m;
    return o;
}

/* Pairs of whole words (early = 3): the AES input of a leaf's words block W = H_2(S), whose
 * high word is the output of x's last bit 0 and low word of 1, all 64 bits each. */
static inline FSS_HD fss_block fss_dpf_words_input(fss_block S) { return fss_prg_input(S, FSS_PRG_TWEAK_VALUE(0)); }
static inline FSS_HD uint64_t fss_dpf_eval_words(unsigned party, int l, fss_block W, unsigned t, fss_block fcw,
                                                 unsigned w)
{
    uint64_t v = (w ? W.lo : W.hi) + ((w ? fcw.hi : fcw.lo) & ((uint64_t)0 - (uint64_t)t));
    return fss_ring_cneg(v, party, l);
}
/* Dealer's final corrections from both parties' words blocks W (early = 3): alpha's leaf
 * outputs v0 at last bit 0 and v1 at 1 (a point function: beta on alpha's last bit, 0 on
 * the other; fss_dpf_keygen_pairs: any two). */
static inline FSS_HD fss_block fss_dpf_keygen_words(int l, uint64_t v0, uint64_t v1, const fss_block W[2],
                                                    const unsigned t[2])
{
    fss_block f;
    f.lo = fss_ring_cneg(v0 - W[0].hi + W[1].hi, t[1], l);
    f.hi = fss_ring_cneg(v1 - W[0].lo + W[1].lo, t[1], l);
    return f;
}

/* Dealer's final corrections of both words (early = 2), the leaf's outputs v0 and v1 as above. */
static inline FSS_HD fss_block fss_dpf_keygen_pair(int l, uint64_t v0, uint64_t v1, const fss_block S[2],
                                                   const unsigned t[2])
{
    fss_block f;
    f.lo = fss_ring_cneg(v0 - fss_dpf_pair_word(S[0], 0) + fss_dpf_pair_word(S[1], 0), t[1], l);
    f.hi = fss_ring_cneg(v1 - fss_dpf_pair_word(S[0], 1) + fss_dpf_pair_word(S[1], 1), t[1], l);
    return f;
}

/* Dealer's final correction, bit output: leaves XOR to the unit vector at al. */
static inline FSS_HD fss_block fss_dpf_keygen_leaf(int leaf_log, unsigned al, const fss_block S[2])
{
    fss_block e;
    e.lo = al < 64 ? (uint64_t)1 << al : 0;
    e.hi = al < 64 ? 0 : (uint64_t)1 << (al - 64);
    fss_block m = fss_dpf_leaf_mask(leaf_log);
    fss_block c = fss_block_xor(fss_block_xor(S[0], S[1]), e);
    c.lo &= m.lo;
    c.hi &= m.hi;
    return c;
}

/* Comparison, one level: before stepping to child c, add the control bit of the left
 * child when x goes right (its subtree holds the values below x with this prefix). */
static inline FSS_HD unsigned fss_dpf_cmp_level_bit(unsigned c, fss_block S, unsigned t, unsigned tcw_l)
{
    return c & (fss_node_u(S, 0) ^ (t & tcw_l));
}

/* Comparison, leaf: parity of the leaf bits at positions <= xl (is alpha <= x within
 * this leaf). */
static inline FSS_HD unsigned fss_dpf_cmp_leaf_bits(fss_block leaf, unsigned xl)
{
    /* 2 << 63 wraps to 0 in unsigned arithmetic, so (2 << 63) - 1 is all ones. */
    uint64_t mlo = xl < 64 ? ((uint64_t)2 << xl) - 1 : ~(uint64_t)0;
    uint64_t mhi = xl < 64 ? 0 : ((uint64_t)2 << (xl - 64)) - 1;
    return fss_parity64((leaf.lo & mlo) ^ (leaf.hi & mhi));
}

#endif
