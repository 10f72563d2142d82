/* Distributed point functions (BGI 2016): f(x) = beta if x == alpha else 0.
 *
 * Three output kinds, chosen by fss_dpf_params.early:
 *  - early = 0: output group Z_{2^l}, 1 <= l <= 64, tree depth n, one AES block per
 *    level, the leaf's high word converted to the output;
 *  - early = 1: 1-bit output (l must be 1, beta = 1), early termination: the tree stops
 *    at depth n - 7 and a leaf block holds the 128 output bits of its subtree;
 *  - early = 2 (pairs; CPU only): output group Z_{2^l}, 1 <= l <= 62, the tree stops at
 *    depth n - 1 and a leaf block holds two outputs, x's last bit 0 in its high word and
 *    1 in its low word above the two control bits (fss_dpf_pair_word): half the blocks of
 *    a full-domain evaluation, for the table lookups. No comparison from these keys.
 *  - early = 3 (pairs of whole words; CPU only): as 2 for 1 <= l <= 64, a leaf's two
 *    outputs the two words of one more PRG block of it (fss_dpf_words_input): three
 *    quarters of the blocks of a full-domain evaluation where l > 62.
 * The same keys give a comparison (fss_dpf_cmp_eval): XOR shares of 1{x < alpha}, from
 * the control bits of the left siblings of x's path (Sigma's trick, DESIGN section 6).
 *
 * Keys for a batch of instances live in one allocation, level-major (the GPU layout):
 *   root[count], scw[depth][count], tcw_l[count], tcw_r[count], fcw[count]
 * with tcw_* bit i the control-bit correction of level i, and fcw the final
 * correction (a ring value in .lo for early = 0, the leaf correction for early = 1,
 * the two words' ring values in .lo and .hi for early = 2 and 3).
 *
 * Serialized, FSS_DPF_KEY_BYTES(n, l, early) bytes an instance, little-endian, in blocks
 * of FSS_KEY_BLOCK instances from the first one written (the last block shorter); a
 * block of b instances holds, each field for its b instances in order:
 *   root (16 each) | scw[0] (16 each) | ... | scw[depth-1] | tcw_l (ceil(depth/8) each)
 *   | tcw_r (ceil(depth/8) each) | fcw (early = 0: ceil(l/8) bytes each; early = 1:
 *   ceil(2^(n-depth)/8) each; early = 2 and 3: ceil(2l/8) each, word 0's l bits then word 1's)
 * (one instance alone: root | scw | tcw_l | tcw_r | fcw). Unused high bits of the last
 * byte of a field must be zero (the reader checks). */
#ifndef FSS_DPF_H
#define FSS_DPF_H

#include "fss/ctx.h"

#define FSS_DPF_EARLY_BITS 7 /* log2 of the 128 output bits in one leaf block */
#define FSS_DPF_FULL_MAX_BITS 24 /* full-domain evaluation limit (2^24 outputs an instance) */

#define FSS_DPF_DEPTH(n, early)                                                                       \
    ((early) == 1 ? ((n) > FSS_DPF_EARLY_BITS ? (n) - FSS_DPF_EARLY_BITS : 0) : (early) >= 2 ? (n) - 1 : (n))
#define FSS_DPF_LEAF_BITS(n, early) ((early) ? ((size_t)1 << ((n) - FSS_DPF_DEPTH(n, early))) : 1)
#define FSS_DPF_FCW_BITS(n, l, early) \
    ((early) == 1 ? FSS_DPF_LEAF_BITS(n, early) : (early) >= 2 ? 2 * (size_t)(l) : (size_t)(l))
#define FSS_DPF_KEY_BYTES(n, l, early)                                                    \
    ((size_t)16 + (size_t)16 * FSS_DPF_DEPTH(n, early) + 2 * (((size_t)FSS_DPF_DEPTH(n, early) + 7) / 8) + \
     (FSS_DPF_FCW_BITS(n, l, early) + 7) / 8)

FSS_EXTERN_C_BEGIN

typedef struct fss_dpf_params {
    int n;     /* input bits, 1..64 */
    int l;     /* output bits, 1..64 (1 when early) */
    int early; /* 1: early-terminated 1-bit variant; 2: two group outputs a leaf; 3: two whole words */
} fss_dpf_params;

typedef struct fss_dpf_keys {
    fss_dpf_params p;
    int party;     /* 0 or 1 */
    size_t count;  /* instances */
    fss_block *root;
    fss_block *scw;
    uint64_t *tcw_l, *tcw_r;
    fss_block *fcw;
    void *mem;     /* the one allocation the pointers above point into */
    size_t bytes;
    int owned;     /* mem allocated by fss_dpf_keys_alloc (host) */
} fss_dpf_keys;

FSS_NODISCARD fss_status fss_dpf_params_check(fss_dpf_params p);
/* Bytes of one allocation holding count instances, and binding pointers into mem
 * (host or device memory, at least that many bytes, 64-byte aligned). */
size_t fss_dpf_keys_bytes(fss_dpf_params p, size_t count);
void fss_dpf_keys_bind(fss_dpf_keys *k, fss_dpf_params p, int party, size_t count, void *mem);
FSS_NODISCARD fss_status fss_dpf_keys_alloc(fss_dpf_keys *k, fss_dpf_params p, int party, size_t count);
/* Wipes and frees a host allocation made by fss_dpf_keys_alloc. */
void fss_dpf_keys_free(fss_dpf_keys *k);

/* Keys for count instances. roots[2*i + b] is party b's root seed of instance i
 * (draw them from fss_rng; fixed roots give identical keys on CPU and GPU). alpha and
 * beta are reduced mod 2^n and 2^l; beta is ignored (taken as 1) when early. k0, k1
 * must have been allocated for count instances of p. */
FSS_NODISCARD fss_status fss_dpf_keygen(fss_ctx *ctx, fss_dpf_params p, size_t count,
                                        const uint64_t *alpha, const uint64_t *beta,
                                        const fss_block *roots, fss_dpf_keys *k0, fss_dpf_keys *k1);
/* Keys of pairs (early = 2 or 3) whose leaf at alpha_i outputs beta0[i] at x = alpha_i
 * with its last bit cleared and beta1[i] at x = alpha_i with it set (0 everywhere else):
 * two payloads at one point of the domain's half, the keys of a point function's size. */
FSS_NODISCARD fss_status fss_dpf_keygen_pairs(fss_ctx *ctx, fss_dpf_params p, size_t count, const uint64_t *alpha,
                                              const uint64_t *beta0, const uint64_t *beta1, const fss_block *roots,
                                              fss_dpf_keys *k0, fss_dpf_keys *k1);

/* out[i] = party's share of f_i(x[i]): in Z_{2^l} (early = 0) or a bit (early = 1;
 * the two shares XOR to the output). */
FSS_NODISCARD fss_status fss_dpf_eval(fss_ctx *ctx, const fss_dpf_keys *k, const uint64_t *x, uint64_t *out);

/* Full domain: out holds, for each instance i, its shares for x = 0 .. 2^n - 1.
 * early = 0: out[i * 2^n + x] in Z_{2^l}; early = 1: a bit vector, bit x of instance
 * i is bit (x mod 64) of out[i * W + x / 64], W = max(1, 2^n / 64), and bits past 2^n
 * are zero. n <= FSS_DPF_FULL_MAX_BITS. */
FSS_NODISCARD fss_status fss_dpf_eval_full(fss_ctx *ctx, const fss_dpf_keys *k, uint64_t *out);
size_t fss_dpf_full_words(fss_dpf_params p);

/* A table lookup from full-domain keys (early = 0, 2 or 3, beta = 1 at alpha_i): out[i] =
 * this party's share, in Z_{2^l}, of table[(x[i] - alpha_i) mod 2^n] (the two parties' out
 * add to it), as sum_j table[(x[i] - j) mod 2^n] e_j over the one-hot's shares e_j. table
 * has 2^n entries; n <= FSS_DPF_LUT_MAX_BITS. 2^(n+1) AES blocks an instance (early = 2:
 * 2^n; 3: 1.5 2^n), as a full-domain
 * evaluation. */
#define FSS_DPF_LUT_MAX_BITS 16
FSS_NODISCARD fss_status fss_dpf_lut_eval(fss_ctx *ctx, const fss_dpf_keys *k, const uint64_t *x,
                                          const uint64_t *table, uint64_t *out);
/* Two tables at one index from the same keys and the same expansion: out[2 i] this
 * party's share of table[(x[i] - alpha_i) mod 2^n], out[2 i + 1] of table2's (the one-hot's
 * shares dotted twice: the AES work of one lookup). */
FSS_NODISCARD fss_status fss_dpf_lut2_eval(fss_ctx *ctx, const fss_dpf_keys *k, const uint64_t *x,
                                           const uint64_t *table, const uint64_t *table2, uint64_t *out);

/* XOR shares of 1{x[i] < alpha_i} (unsigned n-bit comparison) from DPF keys. */
FSS_NODISCARD fss_status fss_dpf_cmp_eval(fss_ctx *ctx, const fss_dpf_keys *k, const uint64_t *x, uint64_t *out);

/* AES blocks one party spends per eval (a comparison costs the same walk), and per
 * keygen (both parties' keys). */
uint64_t fss_dpf_eval_aes_blocks(fss_dpf_params p);
uint64_t fss_dpf_keygen_aes_blocks(fss_dpf_params p);

/* Serialization of instances [first, first + count) to/from the byte layout above. */
void fss_dpf_keys_write(const fss_dpf_keys *k, size_t first, size_t count, uint8_t *out);
FSS_NODISCARD fss_status fss_dpf_keys_read(fss_dpf_keys *k, size_t first, size_t count, const uint8_t *in);
/* The same layout without the root fields (FSS_DPF_KEY_BYTES - 16 bytes an instance), for
 * a caller that derives the roots itself (the runtime, from a seed a party and gate); the
 * reader leaves k->root alone. */
void fss_dpf_keys_write_noroots(const fss_dpf_keys *k, size_t first, size_t count, uint8_t *out);
FSS_NODISCARD fss_status fss_dpf_keys_read_noroots(fss_dpf_keys *k, size_t first, size_t count, const uint8_t *in);

FSS_EXTERN_C_END

#endif
