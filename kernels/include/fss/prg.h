/* The tree PRG shared by DPF and DCF: fixed-key AES-128 in Matyas-Meyer-Oseas form.
 *
 *   H_j(S) = AES_K(x) xor x,   x = sigma(seed(S)) xor j,   sigma(hi, lo) = (hi xor lo, hi)
 *
 * K is one public constant, expanded once. H(s) = pi(sigma(s)) xor sigma(s) is the
 * circular-correlation-robust hash of Guo et al. (S&P 2020); distinct outputs of one node
 * come from distinct tweaks j (H_j(S) = H(seed(S) xor sigma^-1(j)), as sigma is linear).
 * DESIGN.md section 6 names one AES key per output; a single key with tweaks is
 * equivalent in the ideal-permutation model and lets the CPU push every block of a
 * level through one OpenSSL call, whichever side each instance takes.
 *
 * Node layout. A tree node is one 128-bit block S. Bits 0 and 1 of S.lo are the raw
 * control bits u_L, u_R of its two children; seed(S) is S with those two bits cleared
 * (126 bits) and is the only part fed to AES. So a walk down one path costs one AES
 * block per level, yet knows the control bits of both children, which the comparison
 * from a DPF needs at every level (Sigma, PETS 2024, section 3). A leaf node's whole
 * block is pseudorandom and is used as its output value (no extra AES).
 *
 * Tweaks: child c in {0, 1} is H_c; a node's k-th value block is H_{2+k} (a DPF leaf's
 * two words, early = 3: its H_2). */
#ifndef FSS_PRG_H
#define FSS_PRG_H

#include "fss/common.h"

#define FSS_PRG_TWEAK_CHILD(c) ((uint64_t)(c))
#define FSS_PRG_TWEAK_VALUE(k) ((uint64_t)2 + (uint64_t)(k))
#define FSS_PRG_SEED_MASK_LO (~(uint64_t)3)

FSS_EXTERN_C_BEGIN
/* The fixed public AES key (hex digits of pi: nothing up the sleeve). */
extern const uint8_t fss_prg_fixed_key[16];
FSS_EXTERN_C_END

/* Raw control bit of child c stored in node S. */
static inline FSS_HD unsigned fss_node_u(fss_block S, unsigned c) { return (unsigned)(S.lo >> c) & 1u; }

/* The AES input x for output j of node S. */
static inline FSS_HD fss_block fss_prg_input(fss_block S, uint64_t tweak)
{
    uint64_t lo = S.lo & FSS_PRG_SEED_MASK_LO;
    fss_block x;
    x.hi = S.hi ^ lo;
    x.lo = S.hi ^ tweak;
    return x;
}

/* MMO feed-forward: H = AES(x) xor x. */
static inline FSS_HD fss_block fss_prg_output(fss_block x, fss_block aes_x) { return fss_block_xor(aes_x, x); }

#endif
