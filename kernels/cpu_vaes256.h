/* Internal: the CPU's AVX2 + VAES path (256-bit registers, two AES blocks an instruction) for
 * processors with VAES but no AVX-512 (Zen 3, Alder Lake and the client cores after it),
 * where the AVX-512 path of cpu_vaes.h cannot run. It covers the walks that dominate the
 * parties' and the dealer's FSS time there: the full-domain expansion of DPF trees (table
 * lookups), the DPF walk (comparisons), the DCF eval (ReLU's and the CNNs' comparisons),
 * DPF and DCF keygen (g <= 4), the random source's AES-CTR, and batched AES (what is left:
 * the lookups' 64-bit leaves, the DCF's last step, DCFs of g > 4).
 *
 * In the expansion a register holds the two children of one parent, in the order they lie
 * in the tree's array (2j, 2j + 1): one store a parent, and eight parents in flight hide the
 * AES latency; in the walks and keygen it holds two instances' nodes. This restates
 * fss_tree_eval_level and fss_tree_keygen_level of fss/tree_body.h and the DCF's bodies of
 * fss/dcf_body.h (the reference: the OpenSSL path and CUDA run them); the tests check this
 * path against the OpenSSL path bit for bit, shares and keys. */
#ifndef FSS_CPU_VAES256_H
#define FSS_CPU_VAES256_H

#include "fss/aes.h"
#include "fss/dcf.h"
#include "fss/dpf.h"

/* 1 if this processor has AVX2, AES-NI and VAES, and the OS keeps the 256-bit registers. */
int fss_vaes256_available(void);

/* AES-128 under the PRG's fixed key of n blocks, in to out (may be the same): fss_ctx_aes
 * on this path. */
void fss_vaes256_ecb(const fss_block *in, fss_block *out, size_t n);

/* AES-128-CTR keystream under key: n blocks, counter blocks block, block + 1, ... (the
 * counter big-endian in the block's last 8 bytes, as OpenSSL's CTR from that IV), into
 * out (fss_vaes_ctr's contract; block + n < 2^64). */
void fss_vaes256_ctr(const fss_aes_key *key, uint64_t block, void *out, size_t n);

/* The full trees of instances i0 .. i0 + nq - 1 of DPF keys k down to depth, each in place
 * in S[q 2^depth ..] and t[q 2^depth ..] (a byte a node), level by level with the trees'
 * parents side by side (a small tree's first levels alone would wait on AES latency), each
 * tree's level from its last parent backwards (the children of j at 2j and 2j + 1 overwrite
 * only parents already read), so that the leaves end in order. */
void fss_vaes256_dpf_expand(const fss_dpf_keys *k, size_t i0, size_t nq, int depth, fss_block *S, uint8_t *t);

/* The DPF walk of instances [i0, i0 + m) down to their leaves' depth: S[j], t[j] the node
 * instance i0 + j reaches, acc[j] its comparison bits (walk_tile in dpf.c; fss_vaes_dpf_walk's
 * contract), two instances a register, sixteen in flight through all levels. */
void fss_vaes256_dpf_walk(const fss_dpf_keys *k, size_t i0, size_t m, const uint64_t *x, fss_block *S, unsigned *t,
                          unsigned *acc);

/* The DCF eval of instances [i0, i0 + m) at x, into out[(i0 + j) g ..] (fss_vaes_dcf_eval's
 * contract), g <= FSS_VAES256_DCF_MAX_G: eight instances a group through all levels. */
#define FSS_VAES256_DCF_MAX_G 4
void fss_vaes256_dcf_eval(const fss_dcf_keys *k, size_t i0, size_t m, const uint64_t *x, uint64_t *out);

/* Keygen of instances [i0, i0 + m) of DCF keys (g <= FSS_VAES256_DCF_MAX_G), both parties
 * (fss_vaes_dcf_keygen's contract): two instances a register, a group's 8-12 registers of
 * AES in flight. */
void fss_vaes256_dcf_keygen(fss_dcf_keys *k0, fss_dcf_keys *k1, size_t i0, size_t m, const uint64_t *alpha,
                            const uint64_t *beta, const fss_block *roots);

/* DPF keygen of instances [i0, i0 + m) down to the leaves' depth, both parties
 * (fss_vaes_dpf_keygen_walk's contract: roots, scw and tcw bits into k0 and k1, the nodes
 * reached to S[j][b], t[j][b]), six instances a group, three registers of two each a party. */
void fss_vaes256_dpf_keygen_walk(fss_dpf_keys *k0, fss_dpf_keys *k1, size_t i0, size_t m, const uint64_t *alpha,
                                 const fss_block *roots, fss_block (*S)[2], unsigned (*t)[2]);

/* A lookup's dot of a tree's leaves S, t (early 0: a word a leaf, e_j = S_j.hi + (f.lo &
 * -t_j); pairs, early 2: two, fss_dpf_eval_pair's words 2j and 2j + 1) with its table,
 * before the party's sign: sum_v e_v tab[v] mod 2^64, and with tab2 (else NULL) the same
 * over tab2 into *dot2. Four outputs a register; the leaves are not stored. */
uint64_t fss_vaes256_leaf_dot(const fss_block *S, const uint8_t *t, size_t leaves, int pairs, fss_block f,
                              const uint64_t *tab, const uint64_t *tab2, uint64_t *dot2);

#endif
