/* Per-element bodies of the DCF (Boyle et al. 2021, Fig. 3) above the shared tree walk
 * of tree_body.h: the value part of one level and the last step. The launcher passes
 * the value blocks it computed; a node's value words are numbered w = 0, 1, 2, ... and
 * word w is half w % 2 (0 = lo) of value block w / 2. Side c's g words are c*g .. c*g+g-1,
 * so side c needs value blocks (c*g)/2 .. (c*g+g-1)/2: ceil(g/2) of them whatever c.
 * vcw points at instance i's correction of element 0 of a level; element j is at
 * vcw[j * stride] (stride = count in the level-major layout). */
#ifndef FSS_DCF_BODY_H
#define FSS_DCF_BODY_H

#include "fss/ring.h"
#include "fss/tree_body.h"

static inline FSS_HD unsigned fss_dcf_value_first_block(unsigned c, int g) { return (c * (unsigned)g) / 2u; }
static inline FSS_HD int fss_dcf_value_blocks(int g) { return (g + 1) / 2; }
/* Value blocks at the leaf: word 0 is S.hi, words 1..g-1 come from blocks 0.. */
static inline FSS_HD int fss_dcf_final_blocks(int g) { return g / 2; }

static inline FSS_HD uint64_t fss_dcf_word(const fss_block *vb, unsigned first_block, unsigned w)
{
    fss_block b = vb[w / 2u - first_block];
    return (w & 1u) ? b.hi : b.lo;
}

/* Party, one level, value part, taken before fss_tree_eval_level moves (S, t):
 * V[j] += (-1)^b (conv(v_c[j]) + t * vcw[j]). vb: this side's value blocks. The sum is
 * kept mod 2^64 and reduced mod 2^l once, in fss_dcf_eval_final: reduction commutes
 * with the additions, and the levels stay a few instructions shorter. */
static inline FSS_HD void fss_dcf_eval_level_values(unsigned party, int g, unsigned c, unsigned t,
                                                    const fss_block *vb, const uint64_t *vcw, size_t stride,
                                                    uint64_t *V)
{
    uint64_t tm = (uint64_t)0 - (uint64_t)t, sm = (uint64_t)0 - (uint64_t)party;
    unsigned f = fss_dcf_value_first_block(c, g);
    for (int j = 0; j < g; j++) {
        uint64_t v = fss_dcf_word(vb, f, c * (unsigned)g + (unsigned)j) + (vcw[(size_t)j * stride] & tm);
        V[j] += (v ^ sm) - sm;
    }
}

/* Leaf word j of node S: S.hi for j = 0, else from the leaf's value blocks fb. */
static inline FSS_HD uint64_t fss_dcf_leaf_word(fss_block S, const fss_block *fb, int j)
{
    return j == 0 ? S.hi : fss_dcf_word(fb, 0, (unsigned)j - 1u);
}

/* Party, last step: V[j] += (-1)^b (conv(leaf_j) + t * vcw_n[j]), then V reduced mod 2^l. */
static inline FSS_HD void fss_dcf_eval_final(unsigned party, int l, int g, fss_block S, unsigned t,
                                             const fss_block *fb, const uint64_t *vcw, size_t stride, uint64_t *V)
{
    uint64_t tm = (uint64_t)0 - (uint64_t)t;
    for (int j = 0; j < g; j++) {
        uint64_t v = fss_dcf_leaf_word(S, fb, j) + (vcw[(size_t)j * stride] & tm);
        V[j] = fss_ring_add(V[j], fss_ring_cneg(v, party, l), l);
    }
}

/* Dealer, one level, value part, taken before fss_tree_keygen_level moves the nodes.
 * vb[b]: all g value blocks of party b's node (both sides' words). Va: the running
 * sum of reconstructed values along alpha's path (V_alpha of the paper). beta[j] at
 * beta[j], vcw out at vcw[j * stride]. */
static inline FSS_HD void fss_dcf_keygen_level_values(int l, int g, unsigned a, const unsigned t[2],
                                                      const fss_block *vb0, const fss_block *vb1,
                                                      const uint64_t *beta, uint64_t *Va,
                                                      uint64_t *vcw, size_t stride)
{
    unsigned keep = a & 1u, lose = keep ^ 1u;
    for (int j = 0; j < g; j++) {
        unsigned wl = lose * (unsigned)g + (unsigned)j, wk = keep * (unsigned)g + (unsigned)j;
        uint64_t cw = fss_dcf_word(vb1, 0, wl) - fss_dcf_word(vb0, 0, wl) - Va[j];
        if (lose == 0) /* alpha goes right: every x on the left is below alpha */
            cw += beta[j];
        cw = fss_ring_cneg(cw, t[1], l);
        vcw[(size_t)j * stride] = cw;
        Va[j] = fss_ring_reduce(Va[j] - fss_dcf_word(vb1, 0, wk) + fss_dcf_word(vb0, 0, wk) +
                                    fss_ring_cneg(cw, t[1], l),
                                l);
    }
}

/* Dealer, last step: the correction that cancels V_alpha at alpha's leaf. */
static inline FSS_HD void fss_dcf_keygen_final(int l, int g, const fss_block S[2], const unsigned t[2],
                                               const fss_block *fb0, const fss_block *fb1, const uint64_t *Va,
                                               uint64_t *vcw, size_t stride)
{
    for (int j = 0; j < g; j++) {
        uint64_t cw = fss_dcf_leaf_word(S[1], fb1, j) - fss_dcf_leaf_word(S[0], fb0, j) - Va[j];
        vcw[(size_t)j * stride] = fss_ring_cneg(cw, t[1], l);
    }
}

#endif
