/* Distributed comparison functions (Boyle et al., Eurocrypt 2021, Fig. 3):
 *   f(x) = beta if x < alpha else 0   (unsigned n-bit comparison)
 * with beta a payload vector of g elements of Z_{2^l}. Shares are additive in Z_{2^l}.
 *
 * Per level the dealer corrects the seed, the two control bits and g values; eval walks
 * one path, 1 + ceil(g/2) AES blocks a level (the child's node and the value blocks of
 * its side), plus ceil((g-1)/2) at the leaf (whose high word is its first value).
 *
 * Keys for a batch, one allocation, level-major:
 *   root[count], scw[n][count], tcw_l[count], tcw_r[count], vcw[n+1][g][stride]
 * with stride = fss_dcf_vcw_stride(count) (count rounded up to 8, so every row starts
 * 64-byte aligned); vcw level n is the final correction. Every array starts 64-byte
 * aligned within the allocation. Serialized, FSS_DCF_KEY_BYTES(n, l, g) bytes an
 * instance, little-endian, in blocks of FSS_KEY_BLOCK instances as DPF keys (fss/dpf.h):
 *   root (16 each) | scw[0] (16 each) | ... | scw[n-1] | tcw_l (ceil(n/8) each)
 *   | tcw_r (ceil(n/8) each) | vcw: each instance's (n+1)*g values of l bits packed LSB
 *   first, level-major, in ceil((n+1)gl/8) bytes */
#ifndef FSS_DCF_H
#define FSS_DCF_H

#include "fss/ctx.h"

#define FSS_DCF_KEY_BYTES(n, l, g)                                              \
    ((size_t)16 + (size_t)16 * (n) + 2 * (((size_t)(n) + 7) / 8) +             \
     (((size_t)(n) + 1) * (size_t)(g) * (size_t)(l) + 7) / 8)
#define FSS_DCF_MAX_G 64

FSS_EXTERN_C_BEGIN

typedef struct fss_dcf_params {
    int n; /* input bits, 1..64 */
    int l; /* output bits, 1..64 */
    int g; /* payload elements, 1..FSS_DCF_MAX_G */
} fss_dcf_params;

typedef struct fss_dcf_keys {
    fss_dcf_params p;
    int party;
    size_t count;
    fss_block *root;
    fss_block *scw;
    uint64_t *tcw_l, *tcw_r;
    uint64_t *vcw;
    void *mem;
    size_t bytes;
    int owned;
} fss_dcf_keys;

FSS_NODISCARD fss_status fss_dcf_params_check(fss_dcf_params p);
static inline size_t fss_dcf_vcw_stride(size_t count) { return (count + 7) & ~(size_t)7; }
size_t fss_dcf_keys_bytes(fss_dcf_params p, size_t count);
void fss_dcf_keys_bind(fss_dcf_keys *k, fss_dcf_params p, int party, size_t count, void *mem);
FSS_NODISCARD fss_status fss_dcf_keys_alloc(fss_dcf_keys *k, fss_dcf_params p, int party, size_t count);
void fss_dcf_keys_free(fss_dcf_keys *k);

/* roots[2*i + b]: party b's root seed of instance i. beta[i*g + j]: element j of
 * instance i's payload. */
FSS_NODISCARD fss_status fss_dcf_keygen(fss_ctx *ctx, fss_dcf_params p, size_t count,
                                        const uint64_t *alpha, const uint64_t *beta,
                                        const fss_block *roots, fss_dcf_keys *k0, fss_dcf_keys *k1);

/* out[i*g + j]: party's share of element j of f_i(x[i]). */
FSS_NODISCARD fss_status fss_dcf_eval(fss_ctx *ctx, const fss_dcf_keys *k, const uint64_t *x, uint64_t *out);

uint64_t fss_dcf_eval_aes_blocks(fss_dcf_params p);
uint64_t fss_dcf_keygen_aes_blocks(fss_dcf_params p);

void fss_dcf_keys_write(const fss_dcf_keys *k, size_t first, size_t count, uint8_t *out);
FSS_NODISCARD fss_status fss_dcf_keys_read(fss_dcf_keys *k, size_t first, size_t count, const uint8_t *in);
/* Without the root fields (FSS_DCF_KEY_BYTES - 16 bytes an instance), as fss/dpf.h's
 * _noroots pair: the reader leaves k->root alone. */
void fss_dcf_keys_write_noroots(const fss_dcf_keys *k, size_t first, size_t count, uint8_t *out);
FSS_NODISCARD fss_status fss_dcf_keys_read_noroots(fss_dcf_keys *k, size_t first, size_t count, const uint8_t *in);

FSS_EXTERN_C_END

#endif
