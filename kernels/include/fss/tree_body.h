/* Per-element bodies of the GGM-tree walk shared by DPF and DCF (BGI 2016, Boyle et
 * al. Eurocrypt 2021), with the node layout of prg.h. One level of one instance:
 * the launcher has already computed the PRG outputs (batched through OpenSSL on the
 * CPU, the T-table body on the GPU) and passes them in. */
#ifndef FSS_TREE_BODY_H
#define FSS_TREE_BODY_H

#include "fss/prg.h"

/* Bit of x at tree level lv: level 0 reads the most significant of n bits. */
static inline FSS_HD unsigned fss_tree_level_bit(uint64_t x, int n, int lv)
{
    return (unsigned)(x >> (n - 1 - lv)) & 1u;
}

/* Party side of one level: from node (S, t) go to child c, whose raw block is
 * H = H_c(S). The child's control bit comes from the parent's u bits. */
static inline FSS_HD void fss_tree_eval_level(unsigned c, fss_block *S, unsigned *t, fss_block H,
                                              fss_block scw, unsigned tcw_c)
{
    unsigned tp = *t;
    *t = fss_node_u(*S, c) ^ (tp & tcw_c);
    *S = fss_block_xor_if(H, scw, tp);
}

/* Dealer side of one level for both parties' nodes S[b], t[b] on alpha's path, alpha's
 * bit a at this level. H[b][c] = H_c(S[b]). Writes the correction words and moves both
 * nodes to the kept child. Off the path both parties then hold equal nodes (blocks and
 * control bits), on it the control bits differ: BGI16 Fig. 1, with the raw child
 * control bits read from the parent's block. */
static inline FSS_HD void fss_tree_keygen_level(unsigned a, fss_block S[2], unsigned t[2],
                                                const fss_block H[2][2], fss_block *scw,
                                                unsigned *tcw_l, unsigned *tcw_r)
{
    unsigned keep = a & 1u, lose = keep ^ 1u;
    fss_block cw = fss_block_xor(H[0][lose], H[1][lose]);
    unsigned tl = fss_node_u(S[0], 0) ^ fss_node_u(S[1], 0) ^ keep ^ 1u;
    unsigned tr = fss_node_u(S[0], 1) ^ fss_node_u(S[1], 1) ^ keep;
    unsigned tk = keep ? tr : tl;
    for (int b = 0; b < 2; b++) {
        unsigned tb = t[b];
        t[b] = fss_node_u(S[b], keep) ^ (tb & tk);
        S[b] = fss_block_xor_if(H[b][keep], cw, tb);
    }
    *scw = cw;
    *tcw_l = tl;
    *tcw_r = tr;
}

static inline FSS_HD unsigned fss_parity64(uint64_t x)
{
#if defined(__CUDA_ARCH__)
    return (unsigned)__popcll(x) & 1u;
#else
    return (unsigned)__builtin_parityll(x);
#endif
}

#endif
