/* Internal: the CPU's AVX-512 + VAES path for the hot walks (DCF keygen and eval with g <= 4, the
 * DPF walk of eval and comparison). Eight instances run in the lanes of 512-bit
 * registers, all levels with the AES rounds inline (VAES: four blocks per instruction),
 * so blocks never make the round trip through memory and OpenSSL, and the per-level
 * arithmetic costs a few vector instructions for eight instances instead of some sixty
 * scalar ones for each.
 *
 * This restates, eight instances at once, the per-element bodies of fss/tree_body.h, fss/dcf_body.h
 * and fss/dpf_body.h; those stay the reference (the OpenSSL path and CUDA run them),
 * and the tests check this path against the OpenSSL path bit for bit. */
#ifndef FSS_CPU_VAES_H
#define FSS_CPU_VAES_H

#include "fss/aes.h"
#include "fss/dcf.h"
#include "fss/dpf.h"

/* 1 if this processor has AVX-512 (F, BW, DQ, VBMI), VAES, GFNI and BMI2 (every processor with
 * AVX-512 and VAES has the rest: Ice Lake and Zen 4 on). */
int fss_vaes_available(void);

/* AES-128 under the PRG's fixed key of n blocks, in to out (may be the same), four blocks
 * a register and eight registers in flight: fss_ctx_aes on the VAES path. */
void fss_vaes_ecb(const fss_block *in, fss_block *out, size_t n);

/* AES-128-CTR's keystream under key from counter block on, n blocks into out, the bytes of
 * OpenSSL's EVP_aes_128_ctr with that counter as its IV (block + n < 2^64): fss_rng's. */
void fss_vaes_ctr(const fss_aes_key *key, uint64_t block, void *out, size_t n);

/* DPF keygen of instances [i0, i0 + m) down to the leaves' depth, both parties at once
 * (fss_tree_keygen_level, eight instances a register): their roots (roots[2 i + b]), scw
 * and tcw bits into k0 and k1, and the nodes reached to S[j][b], t[j][b] for the final
 * correction (as fss_dpf_keygen's own loop). */
void fss_vaes_dpf_keygen_walk(fss_dpf_keys *k0, fss_dpf_keys *k1, size_t i0, size_t m, const uint64_t *alpha,
                              const fss_block *roots, fss_block (*S)[2], unsigned (*t)[2]);

/* The payload counts (g) of DCF keys the VAES path takes: 1 .. FSS_VAES_DCF_MAX_G (the
 * comparisons' 1 and ReLU's 2 and 3; more go the OpenSSL path). */
#define FSS_VAES_DCF_MAX_G 4

/* Keygen of instances [i0, i0 + m) of DCF keys (g <= FSS_VAES_DCF_MAX_G), both parties,
 * eight a register: all of both keys (fss_dcf_keygen's values as fss_dcf_keygen_level_values
 * and _final). */
void fss_vaes_dcf_keygen(fss_dcf_keys *k0, fss_dcf_keys *k1, size_t i0, size_t m, const uint64_t *alpha,
                         const uint64_t *beta, const fss_block *roots);

/* Eval of instances [i0, i0 + m) of DCF keys (g <= FSS_VAES_DCF_MAX_G); out as fss_dcf_eval. */
void fss_vaes_dcf_eval(const fss_dcf_keys *k, size_t i0, size_t m, const uint64_t *x, uint64_t *out);

/* The DPF walk of instances [i0, i0 + m) down to depth: S[j], t[j] the node reached
 * by instance i0 + j, acc[j] its comparison bits (as walk_tile in dpf.c). */
void fss_vaes_dpf_walk(const fss_dpf_keys *k, size_t i0, size_t m, const uint64_t *x, fss_block *S, unsigned *t,
                       unsigned *acc);

/* The full tree of instance i of DPF keys k down to depth, in place in S[0 .. 2^depth)
 * and t (a byte a node): level by level, 1 to 16 parents a step, each level from its last
 * node backwards (children of node j at 2j and 2j + 1 overwrite parents already read),
 * so that the leaves end in order. */
void fss_vaes_dpf_expand(const fss_dpf_keys *k, size_t i, int depth, fss_block *S, uint8_t *t);

/* Table lookups' shares (fss_dpf_lut_eval) of nq <= FSS_VAES_EXPAND_N instances idx[q] of
 * l-bit or pairs keys, their trees side by side a level at a time (the small levels' steps
 * of one tree alone wait on AES latency): out[q] = sum_v e_v tab[q][v] mod 2^64 (the
 * caller reduces), e_v instance idx[q]'s output v (early = 0: (-1)^party (S_j.hi + t_j
 * fcw.lo); pairs: leaf j's two words fss_dpf_eval_pair as outputs 2j and 2j + 1), and
 * tab[q] pointing at the table's entries for its x, reversed: table[(x - v) mod size].
 * The last level is dotted as it comes; above it, each tree's nodes in S[q] (2^(depth-1)
 * blocks, 1 at depth 0) and their control bits in tb[q] (a bit each: 2^(depth-1) / 8
 * bytes, at least 1). With tab2 (else NULL), out2[q] the same sum over tab2[q]: a second
 * table of the same index from the same leaves. */
#define FSS_VAES_EXPAND_N 4 /* the trees a caller expands at once */

/* sum_j a[j] b[j] mod 2^64, eight products a register (a lookup's dot of its one-hot
 * shares with the table, where the trees are not dotted as they come). */
uint64_t fss_vaes_dot(const uint64_t *a, const uint64_t *b, size_t n);
void fss_vaes_dpf_lut_n(const fss_dpf_keys *k, const size_t *idx, int nq, int depth, fss_block *const *S,
                        uint8_t *const *tb, const uint64_t *const *tab, const uint64_t *const *tab2, uint64_t *out,
                        uint64_t *out2);

#endif
