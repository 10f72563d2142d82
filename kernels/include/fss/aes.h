/* Portable AES-128 encryption, T-table form, as a per-element body.
 *
 * fss_aes_encrypt_t0 is the body: one table, read with a stride so that the CUDA kernels
 * can keep a copy per shared-memory bank (kernels/cuda/cuda_util.h); fss_aes_encrypt
 * reads the plain table. The known-answer test checks both against FIPS-197 and OpenSSL.
 * The CPU hot path uses neither: it batches blocks into OpenSSL's AES-NI/VAES code (prg.h). */
#ifndef FSS_AES_H
#define FSS_AES_H

#include "fss/common.h"

#define FSS_AES_ROUNDS 10
#define FSS_AES_RK_WORDS 44 /* 4 * (rounds + 1) 32-bit round-key words */

/* Encryption tables: te[j][x] is the round-function column for byte x in position j
 * (te[0] = (2s, s, s, 3s) big-endian, te[j] = te[0] rotated right 8j bits; the body
 * reads te[0] alone); sbox for the key schedule. */
typedef struct fss_aes_tables {
    uint32_t te[4][256];
    uint32_t sbox[256];
} fss_aes_tables;

/* Expanded key: round-key words in FIPS-197 order (big-endian word of 4 key bytes). */
typedef struct fss_aes_key {
    uint32_t rk[FSS_AES_RK_WORDS];
} fss_aes_key;

FSS_EXTERN_C_BEGIN
/* The tables, computed once from the GF(2^8) definition (thread-safe, never freed). */
const fss_aes_tables *fss_aes_tables_get(void);
/* FIPS-197 key expansion of a 16-byte key. */
void fss_aes_key_expand(fss_aes_key *k, const uint8_t key[16]);
FSS_EXTERN_C_END

static inline FSS_HD uint32_t fss_bswap32(uint32_t x)
{
#if defined(__CUDA_ARCH__)
    return __byte_perm(x, 0, 0x0123);
#else
    return (x >> 24) | ((x >> 8) & 0xff00u) | ((x << 8) & 0xff0000u) | (x << 24);
#endif
}

static inline FSS_HD uint32_t fss_ror32(uint32_t v, unsigned r)
{
#if defined(__CUDA_ARCH__)
    return __funnelshift_r(v, v, r);
#else
    return r ? (v >> r) | (v << (32 - r)) : v;
#endif
}

/* The same encryption from te[0] alone: te[j][x] is te[0][x] rotated right 8j bits, and
 * the S-box byte is bits 8..15 of te[0][x] (its column is (2s, s, s, 3s)). Entry x is
 * read at te0[x * stride + lane]: stride 1 and lane 0 for a plain 256-word table; on the
 * GPU a table replicated once per shared-memory bank (stride 32, lane = thread's lane),
 * so the 32 lanes of a warp never collide on a bank whatever their indices. */
static inline FSS_HD fss_block fss_aes_encrypt_t0(const uint32_t *te0, unsigned stride, unsigned lane,
                                                  const uint32_t *rk, fss_block in)
{
#define FSS_T0_(x) te0[(x) * stride + lane]
    uint32_t s0 = fss_bswap32((uint32_t)in.lo) ^ rk[0];
    uint32_t s1 = fss_bswap32((uint32_t)(in.lo >> 32)) ^ rk[1];
    uint32_t s2 = fss_bswap32((uint32_t)in.hi) ^ rk[2];
    uint32_t s3 = fss_bswap32((uint32_t)(in.hi >> 32)) ^ rk[3];
    uint32_t t0, t1, t2, t3;
    for (int r = 1; r < FSS_AES_ROUNDS; r++) {
        const uint32_t *k = rk + 4 * r;
        t0 = FSS_T0_(s0 >> 24) ^ fss_ror32(FSS_T0_((s1 >> 16) & 0xff), 8) ^
             fss_ror32(FSS_T0_((s2 >> 8) & 0xff), 16) ^ fss_ror32(FSS_T0_(s3 & 0xff), 24) ^ k[0];
        t1 = FSS_T0_(s1 >> 24) ^ fss_ror32(FSS_T0_((s2 >> 16) & 0xff), 8) ^
             fss_ror32(FSS_T0_((s3 >> 8) & 0xff), 16) ^ fss_ror32(FSS_T0_(s0 & 0xff), 24) ^ k[1];
        t2 = FSS_T0_(s2 >> 24) ^ fss_ror32(FSS_T0_((s3 >> 16) & 0xff), 8) ^
             fss_ror32(FSS_T0_((s0 >> 8) & 0xff), 16) ^ fss_ror32(FSS_T0_(s1 & 0xff), 24) ^ k[2];
        t3 = FSS_T0_(s3 >> 24) ^ fss_ror32(FSS_T0_((s0 >> 16) & 0xff), 8) ^
             fss_ror32(FSS_T0_((s1 >> 8) & 0xff), 16) ^ fss_ror32(FSS_T0_(s2 & 0xff), 24) ^ k[3];
        s0 = t0;
        s1 = t1;
        s2 = t2;
        s3 = t3;
    }
    const uint32_t *k = rk + 4 * FSS_AES_ROUNDS;
    /* Last round: S-box bytes (bits 8..15 and 16..23 of te0) moved into place. */
#define FSS_SUB_(a, b, c, d)                                                                    \
    (((FSS_T0_(a) << 16) & 0xff000000u) | (FSS_T0_(b) & 0x00ff0000u) | (FSS_T0_(c) & 0x0000ff00u) | \
     ((FSS_T0_(d) >> 8) & 0xffu))
    uint32_t o0 = FSS_SUB_(s0 >> 24, (s1 >> 16) & 0xff, (s2 >> 8) & 0xff, s3 & 0xff) ^ k[0];
    uint32_t o1 = FSS_SUB_(s1 >> 24, (s2 >> 16) & 0xff, (s3 >> 8) & 0xff, s0 & 0xff) ^ k[1];
    uint32_t o2 = FSS_SUB_(s2 >> 24, (s3 >> 16) & 0xff, (s0 >> 8) & 0xff, s1 & 0xff) ^ k[2];
    uint32_t o3 = FSS_SUB_(s3 >> 24, (s0 >> 16) & 0xff, (s1 >> 8) & 0xff, s2 & 0xff) ^ k[3];
#undef FSS_SUB_
#undef FSS_T0_
    fss_block out;
    out.lo = (uint64_t)fss_bswap32(o0) | ((uint64_t)fss_bswap32(o1) << 32);
    out.hi = (uint64_t)fss_bswap32(o2) | ((uint64_t)fss_bswap32(o3) << 32);
    return out;
}

/* AES-128 encryption of one block with the tables of fss_aes_tables_get(). Block byte
 * order as fss_block (little-endian halves), so the bytes fed to AES are exactly the
 * bytes of the block in memory. */
static inline FSS_HD fss_block fss_aes_encrypt(const fss_aes_tables *T, const uint32_t *rk, fss_block in)
{
    return fss_aes_encrypt_t0(T->te[0], 1, 0, rk, in);
}

#endif
