#include "cpu_vaes.h"

#include <pthread.h>
#include <string.h>

#include "fss/aes.h"
#include "fss/dcf_body.h"
#include "fss/prg.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>

#define VAES_TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vbmi,gfni,vaes,bmi2")))
#define ALWAYS_INLINE __attribute__((always_inline))
#define LANES 8

static __m512i g_rk[FSS_AES_ROUNDS + 1];
static pthread_once_t g_rk_once = PTHREAD_ONCE_INIT;

/* VAES round keys: the FIPS-197 schedule's bytes in order, in each 128-bit lane. */
static inline VAES_TARGET void rk_broadcast(const fss_aes_key *k, __m512i *rk)
{
    for (int r = 0; r <= FSS_AES_ROUNDS; r++)
        rk[r] = _mm512_broadcast_i32x4(_mm_set_epi32((int)fss_bswap32(k->rk[4 * r + 3]),
                                                     (int)fss_bswap32(k->rk[4 * r + 2]),
                                                     (int)fss_bswap32(k->rk[4 * r + 1]), (int)fss_bswap32(k->rk[4 * r])));
}

static VAES_TARGET void rk_init(void)
{
    fss_aes_key k;
    fss_aes_key_expand(&k, fss_prg_fixed_key);
    rk_broadcast(&k, g_rk);
}

int fss_vaes_available(void)
{
    /* VAES, GFNI and AVX512-VBMI (the walks' bit transposes) from CPUID leaf 7 (ECX bits 9,
     * 8, 1) directly: clang before 16 has no "vaes" for __builtin_cpu_supports; the
     * AVX-512 checks there include the OS's register state */
    unsigned a = 0, b = 0, c = 0, d = 0;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("bmi2") &&
           __get_cpuid_count(7, 0, &a, &b, &c, &d) && (c >> 9 & 1) && (c >> 8 & 1) && (c >> 1 & 1);
}

/* Lanes hold eight instances' 64-bit words (structure of arrays); AES wants blocks
 * (lo, hi) in memory order. Blocks 0-3 / 4-7 from the lo and hi words, and back. */
static inline VAES_TARGET __m512i aos_a(__m512i lo, __m512i hi)
{
    return _mm512_permutex2var_epi64(lo, _mm512_set_epi64(11, 3, 10, 2, 9, 1, 8, 0), hi);
}
static inline VAES_TARGET __m512i aos_b(__m512i lo, __m512i hi)
{
    return _mm512_permutex2var_epi64(lo, _mm512_set_epi64(15, 7, 14, 6, 13, 5, 12, 4), hi);
}
static inline VAES_TARGET __m512i soa_lo(__m512i a, __m512i b)
{
    return _mm512_permutex2var_epi64(a, _mm512_set_epi64(14, 12, 10, 8, 6, 4, 2, 0), b);
}
static inline VAES_TARGET __m512i soa_hi(__m512i a, __m512i b)
{
    return _mm512_permutex2var_epi64(a, _mm512_set_epi64(15, 13, 11, 9, 7, 5, 3, 1), b);
}

/* Blocks of m lanes from an array of fss_block (lanes past m read as zero). */
static inline VAES_TARGET void load_blocks(const fss_block *p, __mmask16 mk, __m512i *lo, __m512i *hi)
{
    __m512i a = _mm512_maskz_loadu_epi64((__mmask8)mk, p), b = _mm512_maskz_loadu_epi64((__mmask8)(mk >> 8), p + 4);
    *lo = soa_lo(a, b);
    *hi = soa_hi(a, b);
}

/* AES rounds 1-9 of nz registers of four blocks, from the states st into h (st may be h).
 * nz is a literal at every call (up to 24: DCF keygen with g = 4); the loops unroll fully so
 * that the states stay in registers (unrolled by 4 only, keygen's 8 and 12 registers went
 * through the stack: 3x slower; round 1 copying st to h first instead kept the DCF's g = 2
 * states on the stack: 15% slower). */
static inline VAES_TARGET void aes_rounds(const __m512i *st, __m512i *h, int nz)
{
#pragma GCC unroll 24
    for (int i = 0; i < nz; i++)
        h[i] = _mm512_aesenc_epi128(st[i], g_rk[1]);
#pragma GCC unroll 8
    for (int r = 2; r < FSS_AES_ROUNDS; r++) {
        __m512i rk = g_rk[r];
#pragma GCC unroll 24
        for (int i = 0; i < nz; i++)
            h[i] = _mm512_aesenc_epi128(h[i], rk);
    }
}

/* H = AES(x) xor x over nz registers (the PRG of prg.h). */
static inline VAES_TARGET void mmo(const __m512i *x, __m512i *h, int nz)
{
#pragma GCC unroll 24
    for (int i = 0; i < nz; i++)
        h[i] = _mm512_xor_si512(x[i], g_rk[0]);
    aes_rounds(h, h, nz);
#pragma GCC unroll 24
    for (int i = 0; i < nz; i++)
        h[i] = _mm512_xor_si512(_mm512_aesenclast_epi128(h[i], g_rk[FSS_AES_ROUNDS]), x[i]);
}

/* h = AES(x) ^ K ^ rk10 over nz registers from their first states st = x ^ rk0, K their
 * last round's keys (the feed-forward, a correction: what is known before the last round
 * rides in K). */
static inline VAES_TARGET void aes_k(const __m512i *st, const __m512i *K, __m512i *h, int nz)
{
    aes_rounds(st, h, nz);
#pragma GCC unroll 24
    for (int i = 0; i < nz; i++)
        h[i] = _mm512_aesenclast_epi128(h[i], K[i]);
}

/* The AES input of fss_prg_input, lane-wise: lo = S.hi ^ tweak, hi = S.hi ^ seed(S.lo). */
static inline VAES_TARGET __m512i prg_hi(__m512i slo, __m512i shi)
{
    return _mm512_xor_si512(shi, _mm512_and_si512(slo, _mm512_set1_epi64((long long)FSS_PRG_SEED_MASK_LO)));
}

static inline VAES_TARGET __m512i bit_at(__m512i v, int i)
{
    return _mm512_and_si512(_mm512_srli_epi64(v, (unsigned)i), _mm512_set1_epi64(1));
}

/* Blocks' bits b (bit p: block p's) as masks of their 64-bit lanes (a register's four
 * blocks a byte): at each block's lo lane (bit 2p), and at both its lanes (2p, 2p + 1). */
static inline ALWAYS_INLINE VAES_TARGET unsigned lo_lanes(unsigned b) { return _pdep_u32(b, 0x5555); }
static inline ALWAYS_INLINE VAES_TARGET unsigned block_lanes(unsigned b) { return lo_lanes(b) * 3u; }

/* Pair order: bit 2 i for block i of a group's first register, bit 2 i + 1 for block i of
 * its second (instance i + 4), the order unpacklo leaves the blocks' lo words in. A mask in
 * pair order at the blocks' lo lanes (bits 0-7 the first register's, 8-15 the second's). */
static inline ALWAYS_INLINE VAES_TARGET unsigned pair_lanes(unsigned b) { return (b & 0x55u) | (b & 0xaau) << 7; }
/* A mask in pair order to instance order (bit i instance i's). */
static inline ALWAYS_INLINE VAES_TARGET __mmask8 pair_unorder(unsigned b)
{
    return (__mmask8)(_pext_u32(b, 0x55) | _pext_u32(b, 0xaa) << 4);
}

/* Eight instances' 64-bit words w (lanes past mk read as zero), bit by bit: out[k] bit i is
 * bit k of the word of the instance at bit i in pair order. A byte permute gathers each byte
 * index's eight bytes in a 64-bit lane (in reverse pair order), and an affine map over
 * GF(2) transposes each lane's 8 x 8 bits (the matrix is the data, the vector each unit). */
static inline ALWAYS_INLINE VAES_TARGET void bits_by_level(const uint64_t *w, __mmask8 mk, uint8_t *out)
{
    static const uint8_t idx[64] = {
#define FSS_PAIR_BYTE(b) 8 * 7 + (b), 8 * 3 + (b), 8 * 6 + (b), 8 * 2 + (b), 8 * 5 + (b), 8 * 1 + (b), 8 * 4 + (b), (b)
        FSS_PAIR_BYTE(0), FSS_PAIR_BYTE(1), FSS_PAIR_BYTE(2), FSS_PAIR_BYTE(3),
        FSS_PAIR_BYTE(4), FSS_PAIR_BYTE(5), FSS_PAIR_BYTE(6), FSS_PAIR_BYTE(7),
#undef FSS_PAIR_BYTE
    };
    const __m512i q = _mm512_permutexvar_epi8(_mm512_loadu_si512(idx), _mm512_maskz_loadu_epi64(mk, w));
    _mm512_store_si512(out, _mm512_gf2p8affine_epi64_epi8(_mm512_set1_epi64(0x8040201008040201LL), q, 0));
}

/* Instances ahead whose keys a walk prefetches, level by level (a level's row of a large
 * batch is a stream of its own: more streams than the hardware prefetcher follows), into
 * L2 (PF_HINT): a group of eight DCF(64) instances reads 12 KB of keys, so two groups ahead
 * in L1 evicted each other before use. At batch 2^20, one thread (fss-bench, alternated):
 * DCF(64) 264-279 -> 190-201 ns, DPF(64) 156-163 -> 103-141 ns; small batches unchanged.
 * At least a step of the DPF walk (4 groups, 32 instances) ahead: at 16 it walked 4 groups
 * 1.3x slower at 2^16 than 2 (its prefetches landed within the step); 64 and 128 alike,
 * and the DCF alike at 16-128 (medians of 5, alternated). */
#ifndef PF_AHEAD
#define PF_AHEAD 64
#endif
#ifndef PF_HINT
#define PF_HINT _MM_HINT_T1
#endif

VAES_TARGET void fss_vaes_ecb(const fss_block *in, fss_block *out, size_t n)
{
    pthread_once(&g_rk_once, rk_init);
    size_t i = 0;
    for (; i + 32 <= n; i += 32) { /* eight registers of four blocks in flight */
        __m512i s[8];
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++)
            s[j] = _mm512_xor_si512(_mm512_loadu_si512((const void *)(in + i + 4 * j)), g_rk[0]);
#pragma GCC unroll 9
        for (int r = 1; r < FSS_AES_ROUNDS; r++) {
            const __m512i rk = g_rk[r];
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++)
                s[j] = _mm512_aesenc_epi128(s[j], rk);
        }
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++)
            _mm512_storeu_si512((void *)(out + i + 4 * j), _mm512_aesenclast_epi128(s[j], g_rk[FSS_AES_ROUNDS]));
    }
    for (; i < n; i += 4) { /* the rest, four blocks (eight words) a register */
        const size_t rem = n - i < 4 ? n - i : 4;
        const __mmask8 mk = (__mmask8)((1u << (2 * rem)) - 1);
        __m512i s = _mm512_xor_si512(_mm512_maskz_loadu_epi64(mk, in + i), g_rk[0]);
        for (int r = 1; r < FSS_AES_ROUNDS; r++)
            s = _mm512_aesenc_epi128(s, g_rk[r]);
        _mm512_mask_storeu_epi64(out + i, mk, _mm512_aesenclast_epi128(s, g_rk[FSS_AES_ROUNDS]));
    }
}

/* AES-128-CTR's keystream as OpenSSL's EVP_aes_128_ctr makes it (fss_rng): block i is
 * E_k(counter + i), the counter a 128-bit big-endian number whose high half stays 0 here
 * (block + n < 2^64). Eight registers of four counters in flight; each lane's counter
 * word is byte-swapped into the block's second half by one shuffle. */
VAES_TARGET void fss_vaes_ctr(const fss_aes_key *key, uint64_t block, void *out, size_t n)
{
    uint8_t *o = (uint8_t *)out;
    __m512i rk[FSS_AES_ROUNDS + 1];
    rk_broadcast(key, rk);
    /* lane j: (0, block + j) as words; the shuffle puts the second word's bytes in reverse */
    const __m512i bswap_hi =
        _mm512_broadcast_i32x4(_mm_set_epi8(8, 9, 10, 11, 12, 13, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1));
    const __m512i four = _mm512_set_epi64(4, 0, 4, 0, 4, 0, 4, 0);
    __m512i ctr = _mm512_set_epi64((long long)(block + 3), 0, (long long)(block + 2), 0, (long long)(block + 1), 0,
                                   (long long)block, 0);
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512i s[8];
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++) {
            s[j] = _mm512_xor_si512(_mm512_shuffle_epi8(ctr, bswap_hi), rk[0]);
            ctr = _mm512_add_epi64(ctr, four);
        }
#pragma GCC unroll 9
        for (int r = 1; r < FSS_AES_ROUNDS; r++) {
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++)
                s[j] = _mm512_aesenc_epi128(s[j], rk[r]);
        }
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++)
            _mm512_storeu_si512((void *)(o + 16 * (i + 4 * j)), _mm512_aesenclast_epi128(s[j], rk[FSS_AES_ROUNDS]));
    }
    for (; i < n; i += 4) { /* the rest, four blocks a register */
        const size_t rem = n - i < 4 ? n - i : 4;
        __m512i st = _mm512_xor_si512(_mm512_shuffle_epi8(ctr, bswap_hi), rk[0]);
        ctr = _mm512_add_epi64(ctr, four);
        for (int r = 1; r < FSS_AES_ROUNDS; r++)
            st = _mm512_aesenc_epi128(st, rk[r]);
        _mm512_mask_storeu_epi64((void *)(o + 16 * i), (__mmask8)((1u << (2 * rem)) - 1),
                                 _mm512_aesenclast_epi128(st, rk[FSS_AES_ROUNDS]));
    }
    fss_memzero(rk, sizeof rk);
}

VAES_TARGET uint64_t fss_vaes_dot(const uint64_t *a, const uint64_t *b, size_t n)
{
    __m512i acc[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};
    size_t j = 0;
    for (; j + 16 <= n; j += 16)
        for (int h = 0; h < 2; h++)
            acc[h] = _mm512_add_epi64(acc[h], _mm512_mullo_epi64(_mm512_loadu_si512((const void *)(a + j + 8 * h)),
                                                                 _mm512_loadu_si512((const void *)(b + j + 8 * h))));
    uint64_t s = (uint64_t)_mm512_reduce_add_epi64(_mm512_add_epi64(acc[0], acc[1]));
    for (; j < n; j++)
        s += a[j] * b[j];
    return s;
}

/* ---- keygen of both parties' trees, eight instances a register ---------------------- */

/* Both parties' roots of instances [i, i + rem): into the keys and, as lanes, (slo, shi)[b]
 * (roots[2 i + b]: party b's). */
static inline VAES_TARGET void keygen_roots(fss_block *root0, fss_block *root1, const fss_block *roots, size_t i,
                                            size_t rem, __mmask16 mk2, __m512i slo[2], __m512i shi[2])
{
    fss_block r[2][LANES];
    for (size_t j = 0; j < rem; j++) {
        r[0][j] = root0[i + j] = roots[2 * (i + j)];
        r[1][j] = root1[i + j] = roots[2 * (i + j) + 1];
    }
    load_blocks(r[0], mk2, &slo[0], &shi[0]);
    load_blocks(r[1], mk2, &slo[1], &shi[1]);
    fss_memzero(r, sizeof r);
}

/* The AES inputs of party node (slo, shi) under nt tweaks, two registers a tweak. */
static inline VAES_TARGET void keygen_inputs(__m512i slo, __m512i shi, const uint64_t *tweak, int nt, __m512i *in)
{
    const __m512i xh = prg_hi(slo, shi);
    for (int c = 0; c < nt; c++) {
        const __m512i xl = _mm512_xor_si512(shi, _mm512_set1_epi64((long long)tweak[c]));
        in[2 * c] = aos_a(xl, xh);
        in[2 * c + 1] = aos_b(xl, xh);
    }
}

/* One level of fss_tree_keygen_level in lanes: from both parties' children H[b][c] (lo and
 * hi words), the seed correction to scw0 and scw1 (rem blocks, mk2), the control-bit
 * corrections into bit lv of tcl and tcr, and both nodes moved to the kept child. */
static inline VAES_TARGET void keygen_level(__mmask8 right, __m512i keep, int lv, const __m512i Hlo[2][2],
                                            const __m512i Hhi[2][2], __m512i slo[2], __m512i shi[2], __m512i t[2],
                                            __m512i *tcl, __m512i *tcr, fss_block *scw0, fss_block *scw1,
                                            __mmask16 mk2)
{
    const __m512i one = _mm512_set1_epi64(1), zero = _mm512_setzero_si512();
    /* cw = H_lose(S0) ^ H_lose(S1) */
    const __m512i cwlo = _mm512_xor_si512(_mm512_mask_blend_epi64(right, Hlo[0][1], Hlo[0][0]),
                                          _mm512_mask_blend_epi64(right, Hlo[1][1], Hlo[1][0]));
    const __m512i cwhi = _mm512_xor_si512(_mm512_mask_blend_epi64(right, Hhi[0][1], Hhi[0][0]),
                                          _mm512_mask_blend_epi64(right, Hhi[1][1], Hhi[1][0]));
    const __m512i u0 = _mm512_xor_si512(_mm512_and_si512(slo[0], one), _mm512_and_si512(slo[1], one));
    const __m512i u1 = _mm512_xor_si512(_mm512_and_si512(_mm512_srli_epi64(slo[0], 1), one),
                                        _mm512_and_si512(_mm512_srli_epi64(slo[1], 1), one));
    const __m512i tl = _mm512_xor_si512(_mm512_xor_si512(u0, keep), one), tr = _mm512_xor_si512(u1, keep);
    const __m512i tk = _mm512_mask_blend_epi64(right, tl, tr);
    *tcl = _mm512_or_si512(*tcl, _mm512_slli_epi64(tl, (unsigned)lv));
    *tcr = _mm512_or_si512(*tcr, _mm512_slli_epi64(tr, (unsigned)lv));
    const __m512i cwa = aos_a(cwlo, cwhi), cwb = aos_b(cwlo, cwhi);
    _mm512_mask_storeu_epi64(scw0, (__mmask8)mk2, cwa);
    _mm512_mask_storeu_epi64(scw0 + 4, (__mmask8)(mk2 >> 8), cwb);
    _mm512_mask_storeu_epi64(scw1, (__mmask8)mk2, cwa);
    _mm512_mask_storeu_epi64(scw1 + 4, (__mmask8)(mk2 >> 8), cwb);
    for (int b = 0; b < 2; b++) { /* to the kept child: t' = u_keep ^ (t & tk), S' = H_keep ^ (t ? cw : 0) */
        const __m512i tm = _mm512_sub_epi64(zero, t[b]);
        const __m512i uk = _mm512_and_si512(_mm512_srlv_epi64(slo[b], keep), one);
        slo[b] = _mm512_xor_si512(_mm512_mask_blend_epi64(right, Hlo[b][0], Hlo[b][1]), _mm512_and_si512(cwlo, tm));
        shi[b] = _mm512_xor_si512(_mm512_mask_blend_epi64(right, Hhi[b][0], Hhi[b][1]), _mm512_and_si512(cwhi, tm));
        t[b] = _mm512_xor_si512(uk, _mm512_and_si512(t[b], tk));
    }
}

/* The control-bit corrections, the same in both keys. */
static inline VAES_TARGET void keygen_tcw(uint64_t *l0, uint64_t *r0, uint64_t *l1, uint64_t *r1, __mmask8 mk,
                                          __m512i tcl, __m512i tcr)
{
    _mm512_mask_storeu_epi64(l0, mk, tcl);
    _mm512_mask_storeu_epi64(r0, mk, tcr);
    _mm512_mask_storeu_epi64(l1, mk, tcl);
    _mm512_mask_storeu_epi64(r1, mk, tcr);
}

VAES_TARGET void fss_vaes_dpf_keygen_walk(fss_dpf_keys *k0, fss_dpf_keys *k1, size_t i0, size_t m, const uint64_t *alpha,
                                          const fss_block *roots, fss_block (*S)[2], unsigned (*t_out)[2])
{
    pthread_once(&g_rk_once, rk_init);
    static const uint64_t tweaks[2] = {FSS_PRG_TWEAK_CHILD(0), FSS_PRG_TWEAK_CHILD(1)};
    const int n = k0->p.n, depth = FSS_DPF_DEPTH(n, k0->p.early);
    const size_t count = k0->count;
    const __m512i one = _mm512_set1_epi64(1), zero = _mm512_setzero_si512();
    for (size_t j0 = 0; j0 < m; j0 += LANES) {
        const size_t i = i0 + j0, rem = m - j0 < LANES ? m - j0 : LANES;
        const __mmask8 mk = (__mmask8)((1u << rem) - 1);
        const __mmask16 mk2 = (__mmask16)((1u << (2 * rem)) - 1);
        __m512i slo[2], shi[2], t[2] = {zero, one}, tcl = zero, tcr = zero;
        keygen_roots(k0->root, k1->root, roots, i, rem, mk2, slo, shi);
        const __m512i av = _mm512_maskz_loadu_epi64(mk, alpha + i);
        for (int lv = 0; lv < depth; lv++) {
            const __m512i keep = bit_at(av, n - 1 - lv);
            const __mmask8 right = _mm512_test_epi64_mask(keep, keep); /* alpha goes right: keep 1 */
            __m512i in[8], h[8]; /* party b: child 0, child 1, two registers each */
            keygen_inputs(slo[0], shi[0], tweaks, 2, in);
            keygen_inputs(slo[1], shi[1], tweaks, 2, in + 4);
            mmo(in, h, 8);
            __m512i Hlo[2][2], Hhi[2][2];
            for (int b = 0; b < 2; b++)
                for (int c = 0; c < 2; c++) {
                    Hlo[b][c] = soa_lo(h[4 * b + 2 * c], h[4 * b + 2 * c + 1]);
                    Hhi[b][c] = soa_hi(h[4 * b + 2 * c], h[4 * b + 2 * c + 1]);
                }
            keygen_level(right, keep, lv, Hlo, Hhi, slo, shi, t, &tcl, &tcr, k0->scw + (size_t)lv * count + i,
                         k1->scw + (size_t)lv * count + i, mk2);
        }
        keygen_tcw(k0->tcw_l + i, k0->tcw_r + i, k1->tcw_l + i, k1->tcw_r + i, mk, tcl, tcr);
        fss_block n0[LANES], n1[LANES];
        _mm512_storeu_si512((void *)n0, aos_a(slo[0], shi[0]));
        _mm512_storeu_si512((void *)(n0 + 4), aos_b(slo[0], shi[0]));
        _mm512_storeu_si512((void *)n1, aos_a(slo[1], shi[1]));
        _mm512_storeu_si512((void *)(n1 + 4), aos_b(slo[1], shi[1]));
        uint64_t tt0[LANES], tt1[LANES];
        _mm512_storeu_si512((void *)tt0, t[0]);
        _mm512_storeu_si512((void *)tt1, t[1]);
        for (size_t j = 0; j < rem; j++) {
            S[j0 + j][0] = n0[j], S[j0 + j][1] = n1[j];
            t_out[j0 + j][0] = (unsigned)tt0[j], t_out[j0 + j][1] = (unsigned)tt1[j];
        }
        fss_memzero(n0, sizeof n0), fss_memzero(n1, sizeof n1);
    }
}

/* ---- DCF keygen and eval, g = 1 .. FSS_VAES_DCF_MAX_G payload words ------------------
 * fss/dcf_body.h's layout: word w of a node is half w % 2 of value block w / 2; side c's
 * words are c g .. c g + g - 1 (g = 1: one value block holds both sides' words). G is a
 * literal in each instantiation, so the word picks below fold to register choices. */

/* Word w of a node's value blocks (lo and hi words of blocks 0, 1, ...), lane-wise. */
static inline VAES_TARGET __m512i value_word(const __m512i *Vlo, const __m512i *Vhi, int w)
{
    return (w & 1) ? Vhi[w / 2] : Vlo[w / 2];
}

/* Lanes' payload words j of instances [i, i + rem) from a [count][G] array, as G registers. */
static inline VAES_TARGET void load_words(const uint64_t *p, size_t rem, const int G, __m512i *v)
{
    if (G == 1) {
        v[0] = _mm512_maskz_loadu_epi64((__mmask8)((1u << rem) - 1), p);
        return;
    }
    uint64_t w[FSS_VAES_DCF_MAX_G][LANES] = {{0}};
    for (size_t l = 0; l < rem; l++)
        for (int j = 0; j < G; j++)
            w[j][l] = p[l * (size_t)G + (size_t)j];
    for (int j = 0; j < G; j++)
        v[j] = _mm512_loadu_si512((const void *)w[j]);
    fss_memzero(w, sizeof w);
}

static inline __attribute__((always_inline)) VAES_TARGET void
dcf_keygen_gn(fss_dcf_keys *k0, fss_dcf_keys *k1, size_t i0, size_t m, const uint64_t *alpha, const uint64_t *beta,
              const fss_block *roots, const int G)
{
    pthread_once(&g_rk_once, rk_init);
    uint64_t tweaks[2 + FSS_VAES_DCF_MAX_G] = {FSS_PRG_TWEAK_CHILD(0), FSS_PRG_TWEAK_CHILD(1)};
    for (int v = 0; v < G; v++) /* both sides' 2 G words: G value blocks */
        tweaks[2 + v] = FSS_PRG_TWEAK_VALUE(v);
    const int n = k0->p.n, fin = fss_dcf_final_blocks(G);
    const size_t count = k0->count, vs = fss_dcf_vcw_stride(count);
    const __m512i one = _mm512_set1_epi64(1), zero = _mm512_setzero_si512();
    const __m512i lmask = _mm512_set1_epi64((long long)(k0->p.l >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << k0->p.l) - 1)));
    for (size_t j0 = 0; j0 < m; j0 += LANES) {
        const size_t i = i0 + j0, rem = m - j0 < LANES ? m - j0 : LANES;
        const __mmask8 mk = (__mmask8)((1u << rem) - 1);
        const __mmask16 mk2 = (__mmask16)((1u << (2 * rem)) - 1);
        __m512i slo[2], shi[2], t[2] = {zero, one}, tcl = zero, tcr = zero, Va[FSS_VAES_DCF_MAX_G], bv[FSS_VAES_DCF_MAX_G];
        keygen_roots(k0->root, k1->root, roots, i, rem, mk2, slo, shi);
        const __m512i av = _mm512_maskz_loadu_epi64(mk, alpha + i);
        load_words(beta + i * (size_t)G, rem, G, bv);
        for (int j = 0; j < G; j++)
            Va[j] = zero;
        for (int lv = 0; lv < n; lv++) {
            const __m512i keep = bit_at(av, n - 1 - lv);
            const __mmask8 right = _mm512_test_epi64_mask(keep, keep);
            enum { NR = 2 * 2 * (2 + FSS_VAES_DCF_MAX_G) };
            __m512i in[NR], h[NR]; /* party b: children 0, 1, value blocks 0 .. G-1, two registers each */
            const int per = 2 * (2 + G);
            keygen_inputs(slo[0], shi[0], tweaks, 2 + G, in);
            keygen_inputs(slo[1], shi[1], tweaks, 2 + G, in + per);
            mmo(in, h, 2 * per);
            __m512i Hlo[2][2], Hhi[2][2], Vlo[2][FSS_VAES_DCF_MAX_G], Vhi[2][FSS_VAES_DCF_MAX_G];
            for (int b = 0; b < 2; b++) {
                for (int c = 0; c < 2; c++) {
                    Hlo[b][c] = soa_lo(h[per * b + 2 * c], h[per * b + 2 * c + 1]);
                    Hhi[b][c] = soa_hi(h[per * b + 2 * c], h[per * b + 2 * c + 1]);
                }
                for (int v = 0; v < G; v++) {
                    Vlo[b][v] = soa_lo(h[per * b + 4 + 2 * v], h[per * b + 5 + 2 * v]);
                    Vhi[b][v] = soa_hi(h[per * b + 4 + 2 * v], h[per * b + 5 + 2 * v]);
                }
            }
            /* values (fss_dcf_keygen_level_values): the lost side's word j is word j where alpha
             * goes right, G + j where it goes left; the kept side's the other */
            const __m512i m1 = _mm512_sub_epi64(zero, t[1]);
            for (int j = 0; j < G; j++) {
                const __m512i w0l = _mm512_mask_blend_epi64(right, value_word(Vlo[0], Vhi[0], G + j), value_word(Vlo[0], Vhi[0], j));
                const __m512i w1l = _mm512_mask_blend_epi64(right, value_word(Vlo[1], Vhi[1], G + j), value_word(Vlo[1], Vhi[1], j));
                const __m512i w0k = _mm512_mask_blend_epi64(right, value_word(Vlo[0], Vhi[0], j), value_word(Vlo[0], Vhi[0], G + j));
                const __m512i w1k = _mm512_mask_blend_epi64(right, value_word(Vlo[1], Vhi[1], j), value_word(Vlo[1], Vhi[1], G + j));
                __m512i vcw = _mm512_sub_epi64(_mm512_sub_epi64(w1l, w0l), Va[j]);
                vcw = _mm512_mask_add_epi64(vcw, right, vcw, bv[j]); /* alpha goes right: the left is below it */
                vcw = _mm512_and_si512(_mm512_sub_epi64(_mm512_xor_si512(vcw, m1), m1), lmask);
                const __m512i back = _mm512_sub_epi64(_mm512_xor_si512(vcw, m1), m1);
                Va[j] = _mm512_and_si512(_mm512_add_epi64(_mm512_add_epi64(_mm512_sub_epi64(Va[j], w1k), w0k), back), lmask);
                const size_t o = ((size_t)lv * (size_t)G + (size_t)j) * vs + i;
                _mm512_mask_storeu_epi64(k0->vcw + o, mk, vcw);
                _mm512_mask_storeu_epi64(k1->vcw + o, mk, vcw);
            }
            keygen_level(right, keep, lv, Hlo, Hhi, slo, shi, t, &tcl, &tcr, k0->scw + (size_t)lv * count + i,
                         k1->scw + (size_t)lv * count + i, mk2);
        }
        /* the last correction (fss_dcf_keygen_final): leaf word 0 is S.hi, word j > 0 word j - 1
         * of the leaf's value blocks */
        __m512i Flo[2][FSS_VAES_DCF_MAX_G / 2 + 1], Fhi[2][FSS_VAES_DCF_MAX_G / 2 + 1];
        if (fin) {
            enum { NF = 2 * 2 * (FSS_VAES_DCF_MAX_G / 2) };
            __m512i in[NF], h[NF];
            keygen_inputs(slo[0], shi[0], tweaks + 2, fin, in);
            keygen_inputs(slo[1], shi[1], tweaks + 2, fin, in + 2 * fin);
            mmo(in, h, 4 * fin);
            for (int b = 0; b < 2; b++)
                for (int v = 0; v < fin; v++) {
                    Flo[b][v] = soa_lo(h[2 * fin * b + 2 * v], h[2 * fin * b + 2 * v + 1]);
                    Fhi[b][v] = soa_hi(h[2 * fin * b + 2 * v], h[2 * fin * b + 2 * v + 1]);
                }
        }
        const __m512i m1 = _mm512_sub_epi64(zero, t[1]);
        for (int j = 0; j < G; j++) {
            const __m512i l0 = j ? value_word(Flo[0], Fhi[0], j - 1) : shi[0], l1 = j ? value_word(Flo[1], Fhi[1], j - 1) : shi[1];
            const __m512i d = _mm512_sub_epi64(_mm512_sub_epi64(l1, l0), Va[j]);
            const __m512i fcw = _mm512_and_si512(_mm512_sub_epi64(_mm512_xor_si512(d, m1), m1), lmask);
            const size_t o = ((size_t)n * (size_t)G + (size_t)j) * vs + i;
            _mm512_mask_storeu_epi64(k0->vcw + o, mk, fcw);
            _mm512_mask_storeu_epi64(k1->vcw + o, mk, fcw);
        }
        keygen_tcw(k0->tcw_l + i, k0->tcw_r + i, k1->tcw_l + i, k1->tcw_r + i, mk, tcl, tcr);
    }
}

/* ---- The DPF walk's and DCF eval's shared steps: a group of LANES instances, its nodes as
 * they lie in memory (two registers of four blocks) between levels, its bits (x's, the
 * corrections', the nodes' control bits) as masks in pair order, a bit an instance (x's and
 * the corrections' transposed once a group, node_bits). Between one level's
 * AES and the next's lie only an in-lane move and a ternary op (node_prg); the seed
 * correction and the PRG's feed-forward ride in the last round's key (node_key). The nodes
 * used to be held in lanes (SoA): two permutes each way a level on that path (5 cycles
 * each on this core, AES 4 a round), which left batches of 16 or fewer waiting on it:
 * DPF(64) at 16 97 -> 79-83 ns, at 1 1186 -> 940; the DCF's g = 3 8% faster; larger
 * batches, AES-bound, alike (fss-bench, one thread, alternated). */

/* Group g of a step from j0 (of m; a group past m has no lanes: its loads read zeros): its
 * first instance, lane masks (words, blocks), roots as they lie (two registers of four
 * blocks, held as S ^ rh) and control bits. */
static inline ALWAYS_INLINE VAES_TARGET void node_start(const fss_block *root, unsigned party, size_t i0, size_t j0,
                                                        size_t m, int g, __m512i rh, size_t *ig, __mmask8 *mk,
                                                        __mmask16 *mk2, __m512i *s, __mmask8 *t)
{
    const size_t jg = j0 + (size_t)g * LANES, rem = jg >= m ? 0 : m - jg < LANES ? m - jg : LANES;
    *ig = i0 + (jg < m ? jg : 0);
    *mk = (__mmask8)((1u << rem) - 1);
    *mk2 = (__mmask16)((1u << (2 * rem)) - 1);
    s[0] = _mm512_xor_si512(_mm512_maskz_loadu_epi64((__mmask8)*mk2, root + *ig), rh);
    s[1] = _mm512_xor_si512(_mm512_maskz_loadu_epi64((__mmask8)(*mk2 >> 8), root + *ig + 4), rh);
    *t = party ? 0xff : 0;
}

/* The constants of the nodes' form between levels: a node S held as S ^ rh, rh = (0,
 * rk0.hi) in each block, so that its child's first AES state (PRG input ^ rk0) is one
 * in-lane move and one ternary op from it (node_prg); kk folds rk0, rk10 and rh into the
 * last round's key (node_key); tw0 and tw1 hold rk0.lo ^ rk0.hi ^ c in the lo lanes. */
typedef struct node_consts {
    __m512i rh, kk, kv, tw0, tw1, cm;
} node_consts;

static inline ALWAYS_INLINE VAES_TARGET node_consts node_consts_make(void)
{
    node_consts c;
    c.rh = _mm512_maskz_mov_epi64(0xaa, g_rk[0]);
    c.kv = _mm512_xor_si512(g_rk[0], g_rk[FSS_AES_ROUNDS]); /* a value block's: not a node */
    c.kk = _mm512_xor_si512(c.kv, c.rh);
    c.tw0 = _mm512_maskz_mov_epi64(0x55, _mm512_xor_si512(g_rk[0], _mm512_bsrli_epi128(g_rk[0], 8)));
    c.tw1 = _mm512_xor_si512(c.tw0, _mm512_maskz_set1_epi64(0x55, 1));
    c.cm = _mm512_mask_set1_epi64(_mm512_set1_epi64(-1), 0xaa, (long long)FSS_PRG_SEED_MASK_LO);
    return c;
}

/* The first AES state of four nodes s (held as S ^ rh) with tweaks tw (rk0.lo ^ rk0.hi ^
 * tweak in the lo lanes): lo = S.hi ^ tweak ^ rk0.lo, hi = S.hi ^ (S.lo & mask) ^ rk0.hi
 * (fss_prg_input ^ rk0): two in-lane moves side by side, then one ternary op, the whole
 * path from one level's AES to the next's. */
static inline ALWAYS_INLINE VAES_TARGET __m512i node_prg(__m512i s, __m512i tw, __m512i cm)
{
    return _mm512_ternarylogic_epi64(_mm512_unpackhi_epi64(s, s), _mm512_unpacklo_epi64(tw, s), cm, 0x78);
}

/* A group's bits that its walk reads a level at a time, transposed at its start (pair
 * order, bits_by_level): x's, and the control bits' corrections of the left and right
 * children (tcw_l, tcw_r). */
typedef struct node_bits {
    _Alignas(64) uint8_t x[64], l[64], r[64];
} node_bits;

static inline ALWAYS_INLINE VAES_TARGET void node_bits_load(const uint64_t *x, const uint64_t *tcw_l,
                                                            const uint64_t *tcw_r, size_t ig, __mmask8 mk,
                                                            node_bits *b)
{
    bits_by_level(x + ig, mk, b->x);
    bits_by_level(tcw_l + ig, mk, b->l);
    bits_by_level(tcw_r + ig, mk, b->r);
}

/* Level lv of a group (n input bits), in pair order: the child's first AES states in
 * in[0], in[1] (x's bit the tweak); the control bits *t to the child's, t' = u_c(S) ^ (t &
 * tcw_c), the parents' in *tp and the left child's in *tleft (the DPF comparison's);
 * returns the instances where x goes right. */
static inline ALWAYS_INLINE VAES_TARGET unsigned node_level(const node_bits *b, int n, int lv, const __m512i *s,
                                                            const node_consts *c, __m512i *in, __mmask8 *t,
                                                            unsigned *tp, unsigned *tleft)
{
    const unsigned r = b->x[n - 1 - lv], tl = b->l[lv], tr = b->r[lv], e = pair_lanes(r);
    for (int hb = 0; hb < 2; hb++)
        in[hb] = node_prg(s[hb], _mm512_mask_blend_epi64((__mmask8)(e >> (8 * hb)), c->tw0, c->tw1), c->cm);
    const __m512i lo = _mm512_unpacklo_epi64(s[0], s[1]); /* S.lo (unchanged by rh), pair order */
    const unsigned b0 = _mm512_test_epi64_mask(lo, _mm512_set1_epi64(1));
    const unsigned b1 = _mm512_test_epi64_mask(lo, _mm512_set1_epi64(2));
    *tp = *t;
    *tleft = b0 ^ (*tp & tl);
    *t = (__mmask8)(((b0 & ~r) | (b1 & r)) ^ (*tp & ((tl & ~r) | (tr & r))));
    return r;
}

/* The last round's keys of a group's child at level lv: rk10 ^ x ^ (t ? scw : 0) ^ rh on
 * the first state in = x ^ rk0 (kk = rk0 ^ rk10 ^ rh), so that the last round leaves the
 * child corrected, as held (S' ^ rh); the level's keys of a later group prefetched (each
 * level is a stream). */
static inline ALWAYS_INLINE VAES_TARGET void node_key(const fss_block *scw, size_t count, int lv, size_t ig,
                                                      __mmask16 mk2, unsigned tp, const __m512i *in, __m512i kk,
                                                      __m512i *K)
{
    const fss_block *cw = scw + (size_t)lv * count + ig;
    const unsigned d = pair_lanes(tp) * 3u & mk2; /* the parents' bits (pair order) at their blocks' lanes */
    const __m512i c0 = _mm512_maskz_loadu_epi64((__mmask8)d, cw);
    const __m512i c1 = _mm512_maskz_loadu_epi64((__mmask8)(d >> 8), cw + 4);
    K[0] = _mm512_ternarylogic_epi64(kk, in[0], c0, 0x96);
    K[1] = _mm512_ternarylogic_epi64(kk, in[1], c1, 0x96);
    if (ig + PF_AHEAD < count) {
        _mm_prefetch((const char *)(cw + PF_AHEAD), PF_HINT);
        _mm_prefetch((const char *)(cw + PF_AHEAD + 4), PF_HINT);
    }
}

/* Groups of LANES instances the DCF eval interleaves, by payload words: 2 (1 + value
 * blocks) AES registers a group. */
#ifndef DCF_GRP1
#define DCF_GRP1 2
#endif
#define DCF_GRP(G) ((G) <= 2 ? DCF_GRP1 : 1)
#define DCF_GRP_MAX (DCF_GRP1 > 1 ? DCF_GRP1 : 1)

/* As the DPF walk (the shared steps above), a value block's feed-forward in its last
 * round's key too (kv). For g <= 2 a side's value words are
 * summed as they lie too (AOSV): word j in the 64-bit lane (lo or hi) of its block that
 * side c names, the other lane left, so that a block's two lanes sum to the instance's word
 * at the end; for more words, in lanes. The corrections' part (t ? vcw) in lanes a word an
 * instance; the party's sign once, at the end. g = 1, 2: two groups in flight. */
static inline __attribute__((always_inline)) VAES_TARGET void
dcf_eval_gn(const fss_dcf_keys *k, size_t i0, size_t m, const uint64_t *x, uint64_t *out, const int G, const int NG)
{
    const int n = k->p.n, nvb = fss_dcf_value_blocks(G), fin = fss_dcf_final_blocks(G);
    const int AOSV = G <= 2; /* value words summed as they lie (else in lanes: four words' three sums each spilled) */
    const size_t count = k->count, vs = fss_dcf_vcw_stride(count);
    const __m512i zero = _mm512_setzero_si512();
    const __m512i sm = _mm512_set1_epi64(-(long long)k->party);
    const __m512i lmask = _mm512_set1_epi64((long long)(k->p.l >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << k->p.l) - 1)));
    /* value block v's first AES state from the child's (both the PRG input ^ rk0; the
     * child's lo = S.hi ^ c ^ rk0.lo): its lo word xored with tw0[v] on side 0, with
     * tw0[v] ^ tw01[v] on side 1 (lo lanes only) */
    __m512i tw0[(FSS_VAES_DCF_MAX_G + 1) / 2], tw01[(FSS_VAES_DCF_MAX_G + 1) / 2];
    for (int v = 0; v < nvb; v++) {
        const uint64_t a = FSS_PRG_TWEAK_VALUE(fss_dcf_value_first_block(0, G) + (unsigned)v);
        const uint64_t b = FSS_PRG_TWEAK_VALUE(fss_dcf_value_first_block(1, G) + (unsigned)v) ^ 1u;
        tw0[v] = _mm512_broadcast_i32x4(_mm_set_epi64x(0, (long long)a));
        tw01[v] = _mm512_broadcast_i32x4(_mm_set_epi64x(0, (long long)(a ^ b)));
    }
    const node_consts nc = node_consts_make();
    enum { MG = FSS_VAES_DCF_MAX_G, NB = 2 * (1 + (FSS_VAES_DCF_MAX_G + 1) / 2) };
    for (size_t j0 = 0; j0 < m; j0 += (size_t)NG * LANES) {
        __m512i s[2 * DCF_GRP_MAX], Va[DCF_GRP_MAX][MG], Vb[DCF_GRP_MAX][MG], Vs[DCF_GRP_MAX][MG];
        __mmask8 mk[DCF_GRP_MAX], t[DCF_GRP_MAX];
        __mmask16 mk2[DCF_GRP_MAX];
        size_t ig[DCF_GRP_MAX];
        node_bits nb[DCF_GRP_MAX];
        for (int g = 0; g < NG; g++) {
            node_start(k->root, (unsigned)k->party, i0, j0, m, g, nc.rh, &ig[g], &mk[g], &mk2[g], s + 2 * g, &t[g]);
            node_bits_load(x, k->tcw_l, k->tcw_r, ig[g], mk[g], &nb[g]);
            for (int j = 0; j < G; j++)
                Va[g][j] = Vb[g][j] = Vs[g][j] = zero;
        }
        for (int lv = 0; lv < n; lv++) {
            __m512i in[DCF_GRP_MAX * NB], K[DCF_GRP_MAX * NB], h[DCF_GRP_MAX * NB];
            __mmask8 tp[DCF_GRP_MAX], rt[DCF_GRP_MAX];
            unsigned ev[DCF_GRP_MAX]; /* x's bits at the blocks' lo lanes (pair_lanes: register 0's, then 1's) */
            const int per = 2 * (1 + nvb); /* a group's AES registers: the child's two, each value block's two */
            for (int g = 0; g < NG; g++) {
                __m512i *ing = in + per * g;
                unsigned tpp, tleft;
                const unsigned r = node_level(&nb[g], n, lv, s + 2 * g, &nc, ing, &t[g], &tpp, &tleft);
                ev[g] = pair_lanes(r);
                for (int v = 0; v < nvb; v++) /* side c's value blocks */
                    for (int hb = 0; hb < 2; hb++)
                        ing[2 + 2 * v + hb] = _mm512_mask_xor_epi64(_mm512_xor_si512(ing[hb], tw0[v]),
                                                                    (__mmask8)(ev[g] >> (8 * hb)),
                                                                    _mm512_xor_si512(ing[hb], tw0[v]), tw01[v]);
                rt[g] = pair_unorder(r); /* the value words' lanes are in instance order */
                tp[g] = pair_unorder(tpp);
                node_key(k->scw, count, lv, ig[g], mk2[g], tpp, ing, nc.kk, K + per * g); /* tree */
                for (int v = 2; v < per; v++)
                    K[per * g + v] = _mm512_xor_si512(nc.kv, ing[v]);
                for (int j = 0; j < G && ig[g] + PF_AHEAD < count; j++) /* and the value words' streams */
                    _mm_prefetch((const char *)(k->vcw + ((size_t)lv * (size_t)G + (size_t)j) * vs + ig[g] + PF_AHEAD),
                                 PF_HINT);
            }
            aes_k(in, K, h, NG * per);
            for (int g = 0; g < NG; g++) {
                const __m512i *hg = h + per * g;
                /* values: V[j] += word c G + j + t * vcw[j] */
                __m512i Vlo[(FSS_VAES_DCF_MAX_G + 1) / 2], Vhi[(FSS_VAES_DCF_MAX_G + 1) / 2];
                for (int v = 0; !AOSV && v < nvb; v++) {
                    Vlo[v] = soa_lo(hg[2 + 2 * v], hg[3 + 2 * v]);
                    Vhi[v] = soa_hi(hg[2 + 2 * v], hg[3 + 2 * v]);
                }
                for (int j = 0; j < G; j++) {
                    const int q0 = j, q1 = G % 2 + j; /* the word's place in side 0's and side 1's blocks */
                    for (int hb = 0; AOSV && hb < 2; hb++) {
                        const unsigned e0 = ev[g] ^ 0x5555u, e1 = ev[g]; /* x goes left, right */
                        const __mmask8 s0 = (__mmask8)((q0 % 2 ? e0 << 1 : e0) >> (8 * hb));
                        const __mmask8 s1 = (__mmask8)((q1 % 2 ? e1 << 1 : e1) >> (8 * hb));
                        __m512i *V = hb ? &Vb[g][j] : &Va[g][j];
                        if (q0 / 2 == q1 / 2) {
                            *V = _mm512_mask_add_epi64(*V, (__mmask8)(s0 | s1), *V, hg[2 + 2 * (q0 / 2) + hb]);
                        } else {
                            *V = _mm512_mask_add_epi64(*V, s0, *V, hg[2 + 2 * (q0 / 2) + hb]);
                            *V = _mm512_mask_add_epi64(*V, s1, *V, hg[2 + 2 * (q1 / 2) + hb]);
                        }
                    }
                    if (!AOSV)
                        Vs[g][j] = _mm512_add_epi64(
                            Vs[g][j], _mm512_mask_blend_epi64(rt[g], value_word(Vlo, Vhi, q0), value_word(Vlo, Vhi, q1)));
                    const __m512i vcw =
                        _mm512_maskz_loadu_epi64(mk[g], k->vcw + ((size_t)lv * (size_t)G + (size_t)j) * vs + ig[g]);
                    Vs[g][j] = _mm512_mask_add_epi64(Vs[g][j], tp[g], Vs[g][j], vcw);
                }
                s[2 * g] = hg[0];
                s[2 * g + 1] = hg[1];
            }
        }
        for (int g = 0; g < NG; g++) {
            const size_t jg = j0 + (size_t)g * LANES;
            if (jg >= m)
                break;
            /* last step: (-1)^b (V[j] + leaf word j + t * vcw_n[j]), reduced mod 2^l; leaf word
             * 0 is S.hi, word j > 0 word j - 1 of the leaf's value blocks */
            __m512i Flo[FSS_VAES_DCF_MAX_G / 2 + 1], Fhi[FSS_VAES_DCF_MAX_G / 2 + 1];
            if (fin) {
                enum { NF = 2 * (FSS_VAES_DCF_MAX_G / 2) };
                __m512i fi[NF], fk[NF], fh[NF];
                for (int v = 0; v < fin; v++) {
                    const __m512i tw =
                        _mm512_xor_si512(nc.tw0, _mm512_maskz_set1_epi64(0x55, (long long)FSS_PRG_TWEAK_VALUE(v)));
                    for (int hb = 0; hb < 2; hb++) {
                        fi[2 * v + hb] = node_prg(s[2 * g + hb], tw, nc.cm);
                        fk[2 * v + hb] = _mm512_xor_si512(nc.kv, fi[2 * v + hb]);
                    }
                }
                aes_k(fi, fk, fh, 2 * fin);
                for (int v = 0; v < fin; v++) {
                    Flo[v] = soa_lo(fh[2 * v], fh[2 * v + 1]);
                    Fhi[v] = soa_hi(fh[2 * v], fh[2 * v + 1]);
                }
            }
            __m512i o[FSS_VAES_DCF_MAX_G];
            const __m512i shi = soa_hi(_mm512_xor_si512(s[2 * g], nc.rh), _mm512_xor_si512(s[2 * g + 1], nc.rh));
            for (int j = 0; j < G; j++) {
                const __m512i w = j ? value_word(Flo, Fhi, j - 1) : shi;
                const __m512i vcw =
                    _mm512_maskz_loadu_epi64(mk[g], k->vcw + ((size_t)n * (size_t)G + (size_t)j) * vs + ig[g]);
                __m512i v = _mm512_add_epi64(Vs[g][j], w);
                if (AOSV)
                    v = _mm512_add_epi64(v, _mm512_add_epi64(soa_lo(Va[g][j], Vb[g][j]), soa_hi(Va[g][j], Vb[g][j])));
                v = _mm512_mask_add_epi64(v, pair_unorder(t[g]), v, vcw);
                o[j] = _mm512_and_si512(_mm512_sub_epi64(_mm512_xor_si512(v, sm), sm), lmask);
            }
            const size_t i = ig[g], rem = m - jg < LANES ? m - jg : LANES;
            if (G == 1) { /* out is [count][G] */
                _mm512_mask_storeu_epi64(out + i, mk[g], o[0]);
            } else {
                uint64_t ow[FSS_VAES_DCF_MAX_G][LANES];
                for (int j = 0; j < G; j++)
                    _mm512_storeu_si512((void *)ow[j], o[j]);
                for (size_t l = 0; l < rem; l++)
                    for (int j = 0; j < G; j++)
                        out[(i + l) * (size_t)G + (size_t)j] = ow[j][l];
                fss_memzero(ow, sizeof ow);
            }
        }
    }
}

/* One instantiation a payload count: G a literal in each. */
#define DCF_GN(G)                                                                                                      \
    static __attribute__((noinline)) VAES_TARGET void dcf_keygen_g##G(fss_dcf_keys *k0, fss_dcf_keys *k1, size_t i0,  \
                                                                     size_t m, const uint64_t *alpha,                 \
                                                                     const uint64_t *beta, const fss_block *roots)    \
    {                                                                                                                  \
        dcf_keygen_gn(k0, k1, i0, m, alpha, beta, roots, G);                                                           \
    }                                                                                                                  \
    static __attribute__((noinline)) VAES_TARGET void dcf_eval_g##G(const fss_dcf_keys *k, size_t i0, size_t m,       \
                                                                   const uint64_t *x, uint64_t *out)                  \
    { /* the bulk DCF_GRP(G) groups at a time, a tail of fewer one at a time */                                        \
        pthread_once(&g_rk_once, rk_init);                                                                             \
        const size_t step = (size_t)DCF_GRP(G) * LANES, bulk = m / step * step;                                       \
        if (bulk)                                                                                                      \
            dcf_eval_gn(k, i0, bulk, x, out, G, DCF_GRP(G));                                                           \
        if (m > bulk)                                                                                                  \
            dcf_eval_gn(k, i0 + bulk, m - bulk, x, out, G, 1);                                                         \
    }
DCF_GN(1)
DCF_GN(2)
DCF_GN(3)
DCF_GN(4)
#undef DCF_GN

void fss_vaes_dcf_keygen(fss_dcf_keys *k0, fss_dcf_keys *k1, size_t i0, size_t m, const uint64_t *alpha,
                         const uint64_t *beta, const fss_block *roots)
{
    switch (k0->p.g) {
    case 1: dcf_keygen_g1(k0, k1, i0, m, alpha, beta, roots); break;
    case 2: dcf_keygen_g2(k0, k1, i0, m, alpha, beta, roots); break;
    case 3: dcf_keygen_g3(k0, k1, i0, m, alpha, beta, roots); break;
    case 4: dcf_keygen_g4(k0, k1, i0, m, alpha, beta, roots); break;
    default: FSS_ASSERT(!"VAES DCF keygen: g beyond FSS_VAES_DCF_MAX_G");
    }
}

void fss_vaes_dcf_eval(const fss_dcf_keys *k, size_t i0, size_t m, const uint64_t *x, uint64_t *out)
{
    switch (k->p.g) {
    case 1: dcf_eval_g1(k, i0, m, x, out); break;
    case 2: dcf_eval_g2(k, i0, m, x, out); break;
    case 3: dcf_eval_g3(k, i0, m, x, out); break;
    case 4: dcf_eval_g4(k, i0, m, x, out); break;
    default: FSS_ASSERT(!"VAES DCF eval: g beyond FSS_VAES_DCF_MAX_G");
    }
}

/* Groups of LANES instances a DPF walk interleaves: each level's AES then has 2 WALK_G
 * independent registers in flight (one group's two alone leave the AES unit waiting on
 * its latency; two groups' four still did: DPF(64) 92-94 -> 80 ns at batch 256, 112-115
 * -> 93-100 at 2^16 and 124-132 -> 93-97 at 2^20 with four, medians of 5, alternated;
 * four fit in registers now that x's and the corrections' bits are read at each level
 * from L1 and the bits are masks, where before they spilled). Loops over the groups have this constant count, so that their state stays
 * in registers: a tile's last group past m runs on zero lanes (idle AES, nothing stored)
 * rather than making the count a variable, which measured 30% slower. The group loops
 * carry an unroll pragma: without it GCC kept the nodes on the stack (256: 80 -> 96 ns). */
#ifndef WALK_G
#define WALK_G 4
#endif

static inline __attribute__((always_inline)) VAES_TARGET void dpf_walk_ng(const fss_dpf_keys *k, size_t i0, size_t m,
                                                                         const uint64_t *x, fss_block *S,
                                                                         unsigned *t_out, unsigned *acc_out, const int NG)
{
    const int n = k->p.n, depth = FSS_DPF_DEPTH(n, k->p.early);
    const size_t count = k->count;
    const node_consts nc = node_consts_make();
    for (size_t j0 = 0; j0 < m; j0 += (size_t)NG * LANES) {
        enum { W = WALK_G > 2 ? WALK_G : 2 }; /* the tail's instantiations take up to two */
        __m512i s[2 * W];
        __mmask8 mk[W], t[W], acc[W];
        __mmask16 mk2[W];
        size_t ig[W];
        node_bits nb[W];
#pragma GCC unroll 4
        for (int g = 0; g < NG; g++) {
            node_start(k->root, (unsigned)k->party, i0, j0, m, g, nc.rh, &ig[g], &mk[g], &mk2[g], s + 2 * g, &t[g]);
            node_bits_load(x, k->tcw_l, k->tcw_r, ig[g], mk[g], &nb[g]);
            acc[g] = 0;
        }
        for (int lv = 0; lv < depth; lv++) {
            __m512i in[2 * W], K[2 * W];
#pragma GCC unroll 4
            for (int g = 0; g < NG; g++) {
                unsigned tp, tleft;
                const unsigned r = node_level(&nb[g], n, lv, s + 2 * g, &nc, in + 2 * g, &t[g], &tp, &tleft);
                acc[g] = (__mmask8)(acc[g] ^ (r & tleft)); /* comparison: when x goes right, the left child's bit */
                node_key(k->scw, count, lv, ig[g], mk2[g], tp, in + 2 * g, nc.kk, K + 2 * g);
            }
            aes_k(in, K, s, 2 * NG);
        }
#pragma GCC unroll 4
        for (int g = 0; g < NG; g++) {
            const size_t jg = j0 + (size_t)g * LANES;
            if (jg >= m)
                continue;
            _mm512_mask_storeu_epi64(S + jg, (__mmask8)mk2[g], _mm512_xor_si512(s[2 * g], nc.rh));
            _mm512_mask_storeu_epi64(S + jg + 4, (__mmask8)(mk2[g] >> 8), _mm512_xor_si512(s[2 * g + 1], nc.rh));
            for (size_t p = 0; p < LANES && jg + p < m; p++) {
                const unsigned at = p < 4 ? 2 * (unsigned)p : 2 * (unsigned)p - 7; /* pair order */
                t_out[jg + p] = (unsigned)t[g] >> at & 1u;
                acc_out[jg + p] = (unsigned)acc[g] >> at & 1u;
            }
        }
    }
}

/* One instantiation a group count: the bulk four at a time, a tail of 16 or fewer in one or
 * two (a batch of 16 walked as four groups measured 1.7x slower: half its AES on idle lanes). */
static __attribute__((noinline)) VAES_TARGET void dpf_walk_g1(const fss_dpf_keys *k, size_t i0, size_t m,
                                                              const uint64_t *x, fss_block *S, unsigned *t, unsigned *acc)
{
    dpf_walk_ng(k, i0, m, x, S, t, acc, 1);
}
static __attribute__((noinline)) VAES_TARGET void dpf_walk_g2(const fss_dpf_keys *k, size_t i0, size_t m,
                                                              const uint64_t *x, fss_block *S, unsigned *t, unsigned *acc)
{
    dpf_walk_ng(k, i0, m, x, S, t, acc, 2);
}
static __attribute__((noinline)) VAES_TARGET void dpf_walk_gw(const fss_dpf_keys *k, size_t i0, size_t m,
                                                              const uint64_t *x, fss_block *S, unsigned *t, unsigned *acc)
{
    dpf_walk_ng(k, i0, m, x, S, t, acc, WALK_G);
}

VAES_TARGET void fss_vaes_dpf_walk(const fss_dpf_keys *k, size_t i0, size_t m, const uint64_t *x, fss_block *S,
                                   unsigned *t_out, unsigned *acc_out)
{
    pthread_once(&g_rk_once, rk_init);
    const size_t bulk = m / (WALK_G * LANES) * (WALK_G * LANES), rest = m - bulk;
    if (bulk)
        dpf_walk_gw(k, i0, bulk, x, S, t_out, acc_out);
    if (rest > 2 * LANES)
        dpf_walk_gw(k, i0 + bulk, rest, x, S + bulk, t_out + bulk, acc_out + bulk);
    else if (rest > LANES)
        dpf_walk_g2(k, i0 + bulk, rest, x, S + bulk, t_out + bulk, acc_out + bulk);
    else if (rest)
        dpf_walk_g1(k, i0 + bulk, rest, x, S + bulk, t_out + bulk, acc_out + bulk);
}

/* ---- Full-domain trees (table lookups): children in order ---------------------------------
 * An AES register holds the two children of two parents in the order they lie in memory
 * (children 0 and 1 of parent j, then of parent j + 1): its input is each of the two
 * parents in two blocks, held as S ^ rh as the walks hold their nodes (node_consts),
 * so that the children's first AES states are one node_prg away; the seed correction and
 * the PRG's feed-forward ride in the last round's key (rh too, but on the tree's last level,
 * whose nodes leave as they are); the children are stored, or dotted with the table, as
 * they come out of the AES. A node's control bit lives in a bit array (bit j of tb is node
 * j's). Before, a register held four parents, its children left through a permute a
 * register and the last level's table entries came through two more: lookups 0.80-0.90x
 * the time at every size from 6 to 16 bits (8 bits 353 -> 298 ns, 12 bits 5.1 -> 4.1 us at
 * 4096, 0.58 and 0.68 of the VAES limit; five alternated runs). */

/* AES registers a step (two parents each): 8 on levels of 16 nodes or more, fewer above,
 * one at the root (AES on absent parents is work lost: at the root, lanes 4-7 of its one
 * register are the children of a zero block, neither stored nor dotted). */
#define EXP_AMAX 8
#define EXP_A_OF(lv) ((lv) >= 4 ? 8 : (lv) == 3 ? 4 : (lv) == 2 ? 2 : 1)

/* Bits [j, j + m) of the bit array tb, (j & 7) + m <= 16, by one load of the bytes that
 * hold them, of a fixed size (a variable-size copy was a byte loop into a word on the
 * stack, read whole: a failed store forward a step, lookups 1.2x slower). */
static inline unsigned tb_bits(const uint8_t *tb, size_t j, size_t m)
{
    unsigned w = tb[j / 8];
    if ((j & 7) + m > 8) {
        uint16_t w2;
        memcpy(&w2, tb + j / 8, 2);
        w = w2;
    }
    return (w >> (j & 7)) & ((1u << m) - 1);
}

/* A level's constants for instance i's tree: the tweaks (child 0, 1, 0, 1 in a register's
 * blocks), the mask of the seed's bits, the children's control bits' places (bit c of the
 * parent's lo word for child c), the last round's key parts without and with the seed
 * correction (held: the children held as S ^ rh), and the bits' corrections, child 0's
 * and 1's in turn (4 bits). */
typedef struct exp_level {
    __m512i tw, cm, cu, k, kc;
    unsigned tcm;
} exp_level;

static inline ALWAYS_INLINE VAES_TARGET exp_level exp_level_make(const fss_dpf_keys *k, size_t i, int lv, int held)
{
    const node_consts nc = node_consts_make();
    const fss_block cw = k->scw[(size_t)lv * k->count + i];
    exp_level e;
    e.tw = _mm512_xor_si512(nc.tw0, _mm512_maskz_set1_epi64(0x44, 1));
    e.cm = nc.cm;
    e.cu = _mm512_set_epi64(0, 2, 0, 1, 0, 2, 0, 1);
    e.k = held ? nc.kk : nc.kv;
    e.kc = _mm512_xor_si512(e.k, _mm512_broadcast_i32x4(_mm_set_epi64x((long long)cw.hi, (long long)cw.lo)));
    e.tcm = (unsigned)(((k->tcw_l[i] >> lv) & 1u) | ((k->tcw_r[i] >> lv) & 1u) << 1) * 5u;
    return e;
}

/* Parents [j0, j0 + np) of S (held; np = 2 A, or 1 at the root; tp their control bits) to
 * their children's first AES states st[a] and last round's keys K[a], register a for
 * children 4 a .. 4 a + 3 of the step's (when np = 1, 2 and 3 of a zero block); returns the
 * children's control bits, bit 4 a + b child 4 a + b's. */
static inline ALWAYS_INLINE VAES_TARGET uint32_t step_inputs(const fss_block *S, size_t j0, size_t np, unsigned tp,
                                                             const exp_level *e, __m512i *st, __m512i *K, const int A)
{
    uint32_t cb = 0;
#pragma GCC unroll 8
    for (int a = 0; a < A; a++) { /* each parent in two blocks: one load, one 128-bit-lane shuffle */
        const fss_block *p = S + j0 + 2 * (size_t)a;
        const __m512i y = _mm512_castsi256_si512(np > 1 ? _mm256_loadu_si256((const __m256i *)p)
                                                        : _mm256_zextsi128_si256(_mm_loadu_si128((const __m128i *)p)));
        const __m512i x = _mm512_shuffle_i64x2(y, y, 0x50);
        st[a] = node_prg(x, e->tw, e->cm);
        const unsigned ta = tp >> (2 * a) & 3u; /* the two parents' bits */
        const __mmask8 td = (__mmask8)((ta & 1u ? 0x0fu : 0u) | (ta & 2u ? 0xf0u : 0u));
        K[a] = _mm512_xor_si512(st[a], _mm512_mask_blend_epi64(td, e->k, e->kc));
        const unsigned u = _pext_u32(_mm512_test_epi64_mask(x, e->cu), 0x55); /* before their correction */
        cb |= (u ^ (((ta & 1u) * 3u | (ta & 2u) * 6u) & e->tcm)) << (4 * a);
    }
    return cb;
}

/* As step_inputs, then the AES: h[a] the children (children 4 a .. 4 a + 3 of the step's). */
static inline ALWAYS_INLINE VAES_TARGET uint32_t step_children(const fss_block *S, size_t j0, size_t np, unsigned tp,
                                                               const exp_level *e, __m512i *h, const int A)
{
    __m512i st[EXP_AMAX], K[EXP_AMAX];
    const uint32_t cb = step_inputs(S, j0, np, tp, e, st, K, A);
    aes_k(st, K, h, A);
    return cb;
}

/* A step's children h (A registers, the step's first child at child c0 of the level; np
 * parents) to S and their bits to tb. */
static inline ALWAYS_INLINE VAES_TARGET void step_store(fss_block *S, uint8_t *tb, size_t c0, size_t np, uint32_t cb,
                                                        const __m512i *h, const int A)
{
#pragma GCC unroll 8
    for (int a = 0; a < A; a++)
        _mm512_mask_storeu_epi64(S + c0 + 4 * (size_t)a, np > 1 ? 0xff : 0x0f, h[a]);
    if (A >= 2) /* np = 2 A: 4 A bits from bit c0, a multiple of 8, in one store */
        memcpy(tb + c0 / 8, &cb, (size_t)A / 2);
    else
        tb[0] = (uint8_t)(cb & ((1u << (2 * np)) - 1));
}

/* Level lv of instance i's tree: its 2^lv nodes in S (held) and tb to their children, in
 * place, from the last node backwards (children of node j at 2j and 2j + 1 overwrite
 * parents already read; bits likewise), 2 A parents a step; the children held if held. */
static inline ALWAYS_INLINE VAES_TARGET void expand_level_a(const fss_dpf_keys *k, size_t i, int lv, int held,
                                                            fss_block *S, uint8_t *tb, const int A)
{
    const exp_level e = exp_level_make(k, i, lv, held);
    for (size_t top = (size_t)1 << lv; top > 0;) {
        const size_t np = top < 2 * (size_t)A ? top : 2 * (size_t)A, j0 = top - np;
        top = j0;
        __m512i h[EXP_AMAX];
        const uint32_t cb = step_children(S, j0, np, tb_bits(tb, j0, np), &e, h, A);
        step_store(S, tb, 2 * j0, np, cb, h, A);
    }
}

/* Level lv < 4 (one step a tree, A registers) of T trees side by side, held, in one pass
 * of the AES (T A registers in flight where one tree's level has A). */
static inline ALWAYS_INLINE VAES_TARGET void expand_top(const fss_dpf_keys *k, const size_t *idx, int lv,
                                                        fss_block *const *S, uint8_t *const *tb, const int A,
                                                        const int T)
{
    __m512i st[EXP_AMAX], K[EXP_AMAX], h[EXP_AMAX];
    uint32_t cb[FSS_VAES_EXPAND_N];
    const size_t np = (size_t)1 << lv;
#pragma GCC unroll 4
    for (int q = 0; q < T; q++) {
        const exp_level e = exp_level_make(k, idx[q], lv, 1);
        cb[q] = step_inputs(S[q], 0, np, tb_bits(tb[q], 0, np), &e, st + q * A, K + q * A, A);
    }
    aes_k(st, K, h, T * A);
#pragma GCC unroll 4
    for (int q = 0; q < T; q++)
        step_store(S[q], tb[q], 0, np, cb[q], h + q * A, A);
}

static VAES_TARGET void expand_level(const fss_dpf_keys *k, size_t i, int lv, int held, fss_block *S, uint8_t *tb)
{
    switch (EXP_A_OF(lv)) {
    case 8: expand_level_a(k, i, lv, held, S, tb, 8); break;
    case 4: expand_level_a(k, i, lv, held, S, tb, 4); break;
    case 2: expand_level_a(k, i, lv, held, S, tb, 2); break;
    default: expand_level_a(k, i, lv, held, S, tb, 1); break;
    }
}

/* A root as the trees hold their nodes above the leaves (S ^ rh). */
static inline VAES_TARGET fss_block held_root(fss_block r)
{
    fss_block h;
    _mm_storeu_si128((__m128i *)&h, _mm_xor_si128(_mm_loadu_si128((const __m128i *)&r),
                                                  _mm512_castsi512_si128(node_consts_make().rh)));
    return h;
}

VAES_TARGET void fss_vaes_dpf_expand(const fss_dpf_keys *k, size_t i, int depth, fss_block *S, uint8_t *t)
{
    pthread_once(&g_rk_once, rk_init);
    S[0] = depth ? held_root(k->root[i]) : k->root[i];
    t[0] = (uint8_t)k->party; /* t holds the bits until the last level, then a byte a leaf */
    for (int lv = 0; lv < depth; lv++)
        expand_level(k, i, lv, lv + 1 < depth, S, t);
    for (size_t j = (size_t)1 << depth; j-- > 0;) /* backwards: byte j is past bit j's byte */
        t[j] = (uint8_t)(t[j / 8] >> (j & 7) & 1u);
}

/* A register's table entries for its leaves L.. (nl of them): pairs, the entries swapped
 * within their lane pairs; else one a leaf, spread to the hi lanes (last_level_dot_a). */
static inline ALWAYS_INLINE VAES_TARGET __m512i table_lanes(const uint64_t *tab, size_t L, unsigned nl, int pairs,
                                                             __m512i spread)
{
    return pairs ? _mm512_shuffle_epi32(_mm512_maskz_loadu_epi64((__mmask8)((1u << (2 * nl)) - 1), tab + 2 * L),
                                        _MM_PERM_BADC)
                 : _mm512_maskz_permutexvar_epi64(0xaa, spread,
                                                  _mm512_maskz_loadu_epi64((__mmask8)((1u << nl) - 1), tab + L));
}

/* The lanes' sum mod 2^64 (not _mm512_reduce_add_epi64: its fallback adds signed, overflowing). */
static inline ALWAYS_INLINE VAES_TARGET uint64_t lanes_sum(__m512i acc)
{
    uint64_t lanes[LANES], sum = 0;
    _mm512_storeu_si512(lanes, acc);
    for (int j = 0; j < LANES; j++)
        sum += lanes[j];
    return sum;
}

/* The last level of instance i's tree from its 2^lv parents in S (held) and tb, its
 * children's outputs dotted with tab (and tab2, unless NULL: *dot2) as they come (no leaf
 * is stored): sum_v e_v tab[v] mod 2^64, e_v before the party's sign (fss_vaes_dpf_lut_n). */
static inline ALWAYS_INLINE VAES_TARGET uint64_t last_level_dot_a(const fss_dpf_keys *k, size_t i, int lv,
                                                                    const fss_block *S, const uint8_t *tb,
                                                                    const uint64_t *tab, const uint64_t *tab2,
                                                                    uint64_t *dot2, const int A, const int two)
{
    const exp_level e = exp_level_make(k, i, lv, 0);
    const int words = k->p.early == 3, pairs = k->p.early == 2 || words;
    const fss_block f = k->fcw[i];
    /* pairs: a leaf's lane pair (lo, hi) gives outputs 2L + 1 (lo >> 2, fcw.hi) and 2L
     * (hi, fcw.lo): the table's entries swapped within its lane pairs; else one output a
     * leaf from its hi word, the table's entries spread to the hi lanes */
    const __m512i fp = pairs ? _mm512_broadcast_i32x4(_mm_set_epi64x((long long)f.lo, (long long)f.hi))
                             : _mm512_broadcast_i32x4(_mm_set_epi64x((long long)f.lo, 0));
    const __m512i sh = k->p.early == 2 ? _mm512_set_epi64(0, 2, 0, 2, 0, 2, 0, 2) : _mm512_setzero_si512();
    const __m512i spread = _mm512_set_epi64(3, 3, 2, 2, 1, 1, 0, 0);
    __m512i acc = _mm512_setzero_si512(), acc2 = _mm512_setzero_si512();
    for (size_t top = (size_t)1 << lv; top > 0;) {
        const size_t np = top < 2 * (size_t)A ? top : 2 * (size_t)A, j0 = top - np;
        top = j0;
        __m512i h[EXP_AMAX];
        const uint32_t cb = step_children(S, j0, np, tb_bits(tb, j0, np), &e, h, A);
        if (words) { /* pairs of whole words: each leaf's words block H_2(S) (fss_dpf_words_input), in place */
            const __m512i odd = _mm512_set_epi64(-1, 0, -1, 0, -1, 0, -1, 0),
                          seed = _mm512_set_epi64(~3LL, -1, ~3LL, -1, ~3LL, -1, ~3LL, -1),
                          tw = _mm512_set_epi64(0, 2, 0, 2, 0, 2, 0, 2);
            __m512i x[EXP_AMAX];
#pragma GCC unroll 8
            for (int a = 0; a < A; a++) { /* (S.hi ^ 2, S.hi ^ (S.lo & ~3)) */
                const __m512i sw = _mm512_shuffle_epi32(h[a], _MM_PERM_BADC);
                x[a] = _mm512_xor_si512(_mm512_xor_si512(_mm512_and_si512(h[a], odd), _mm512_and_si512(sw, seed)), tw);
                h[a] = _mm512_xor_si512(x[a], g_rk[0]);
            }
#pragma GCC unroll 9
            for (int r = 1; r < FSS_AES_ROUNDS; r++)
#pragma GCC unroll 8
                for (int a = 0; a < A; a++)
                    h[a] = _mm512_aesenc_epi128(h[a], g_rk[r]);
#pragma GCC unroll 8
            for (int a = 0; a < A; a++)
                h[a] = _mm512_xor_si512(_mm512_aesenclast_epi128(h[a], g_rk[FSS_AES_ROUNDS]), x[a]);
        }
#pragma GCC unroll 8
        for (int a = 0; a < A; a++) {
            const size_t L = 2 * j0 + 4 * (size_t)a; /* the register's first leaf */
            const unsigned nl = np > 1 ? 4 : 2;      /* its leaves (at the root, two: the rest a zero block's) */
            const __m512i t = table_lanes(tab, L, nl, pairs, spread);
            const __mmask8 tm = (__mmask8)block_lanes(cb >> (4 * a) & 0xfu);
            __m512i v = _mm512_srlv_epi64(h[a], sh);
            v = _mm512_mask_add_epi64(v, tm, v, fp);
            acc = _mm512_add_epi64(acc, _mm512_mullo_epi64(v, t));
            if (two) /* a constant: single lookups compile without it */
                acc2 = _mm512_add_epi64(acc2, _mm512_mullo_epi64(v, table_lanes(tab2, L, nl, pairs, spread)));
        }
    }
    if (two)
        *dot2 = lanes_sum(acc2);
    return lanes_sum(acc);
}

static VAES_TARGET uint64_t last_level_dot(const fss_dpf_keys *k, size_t i, int lv, const fss_block *S,
                                           const uint8_t *tb, const uint64_t *tab, const uint64_t *tab2,
                                           uint64_t *dot2)
{
    if (tab2)
        switch (EXP_A_OF(lv)) {
        case 8: return last_level_dot_a(k, i, lv, S, tb, tab, tab2, dot2, 8, 1);
        case 4: return last_level_dot_a(k, i, lv, S, tb, tab, tab2, dot2, 4, 1);
        case 2: return last_level_dot_a(k, i, lv, S, tb, tab, tab2, dot2, 2, 1);
        default: return last_level_dot_a(k, i, lv, S, tb, tab, tab2, dot2, 1, 1);
        }
    switch (EXP_A_OF(lv)) {
    case 8: return last_level_dot_a(k, i, lv, S, tb, tab, NULL, NULL, 8, 0);
    case 4: return last_level_dot_a(k, i, lv, S, tb, tab, NULL, NULL, 4, 0);
    case 2: return last_level_dot_a(k, i, lv, S, tb, tab, NULL, NULL, 2, 0);
    default: return last_level_dot_a(k, i, lv, S, tb, tab, NULL, NULL, 1, 0);
    }
}

VAES_TARGET void fss_vaes_dpf_lut_n(const fss_dpf_keys *k, const size_t *idx, int nq, int depth,
                                    fss_block *const *S, uint8_t *const *tb, const uint64_t *const *tab,
                                    const uint64_t *const *tab2, uint64_t *out, uint64_t *out2)
{
    pthread_once(&g_rk_once, rk_init);
    const uint64_t sign = k->party ? ~(uint64_t)0 : 0;
    for (int q = 0; q < nq; q++) {
        S[q][0] = depth ? held_root(k->root[idx[q]]) : k->root[idx[q]];
        tb[q][0] = (uint8_t)k->party;
    }
    FSS_ASSERT(depth > 0 || k->p.early == 2); /* (pairs of whole words at n = 1: dpf.c's other path) */
    if (depth == 0) { /* n = 1, pairs: the root is the leaf */
        for (int q = 0; q < nq; q++) {
            const fss_block r = S[q][0], f = k->fcw[idx[q]];
            const uint64_t e0 = r.hi + (f.lo & (0 - (uint64_t)k->party)), e1 = (r.lo >> 2) + (f.hi & (0 - (uint64_t)k->party));
            out[q] = ((e0 * tab[q][0] + e1 * tab[q][1]) ^ sign) - sign;
            if (tab2)
                out2[q] = ((e0 * tab2[q][0] + e1 * tab2[q][1]) ^ sign) - sign;
        }
        return;
    }
    int lv = 0;
    if (nq == FSS_VAES_EXPAND_N) /* the levels of up to 8 nodes: the trees' in one AES pass */
        for (; lv + 1 < depth && lv < 4; lv++)
            switch (lv) {
            case 0: expand_top(k, idx, 0, S, tb, 1, 4); break;
            case 1: expand_top(k, idx, 1, S, tb, 1, 4); break;
            case 2: expand_top(k, idx, 2, S, tb, 2, 4); break;
            default:
                expand_top(k, idx, 3, S, tb, 4, 2);
                expand_top(k, idx + 2, 3, S + 2, tb + 2, 4, 2);
                break;
            }
    for (; lv + 1 < depth; lv++)
        for (int q = 0; q < nq; q++) /* the trees side by side: one's level hides another's latency */
            expand_level(k, idx[q], lv, 1, S[q], tb[q]);
    for (int q = 0; q < nq; q++) {
        uint64_t d2 = 0;
        out[q] = (last_level_dot(k, idx[q], depth - 1, S[q], tb[q], tab[q], tab2 ? tab2[q] : NULL, &d2) ^ sign) - sign;
        if (tab2)
            out2[q] = (d2 ^ sign) - sign;
    }
}

#else /* not x86-64 with GCC: the OpenSSL path only */

int fss_vaes_available(void) { return 0; }
void fss_vaes_ecb(const fss_block *in, fss_block *out, size_t n)
{
    (void)in, (void)out, (void)n;
    FSS_ASSERT(!"VAES path called where it is not built");
}
void fss_vaes_ctr(const fss_aes_key *key, uint64_t block, void *out, size_t n)
{
    (void)key, (void)block, (void)out, (void)n;
    FSS_ASSERT(!"VAES path called where it is not built");
}
uint64_t fss_vaes_dot(const uint64_t *a, const uint64_t *b, size_t n)
{
    (void)a, (void)b, (void)n;
    FSS_ASSERT(!"VAES path called where it is not built");
    return 0;
}
void fss_vaes_dpf_keygen_walk(fss_dpf_keys *k0, fss_dpf_keys *k1, size_t i0, size_t m, const uint64_t *alpha,
                              const fss_block *roots, fss_block (*S)[2], unsigned (*t)[2])
{
    (void)k0, (void)k1, (void)i0, (void)m, (void)alpha, (void)roots, (void)S, (void)t;
    FSS_ASSERT(!"VAES path called where it is not built");
}
void fss_vaes_dcf_keygen(fss_dcf_keys *k0, fss_dcf_keys *k1, size_t i0, size_t m, const uint64_t *alpha,
                         const uint64_t *beta, const fss_block *roots)
{
    (void)k0, (void)k1, (void)i0, (void)m, (void)alpha, (void)beta, (void)roots;
    FSS_ASSERT(!"VAES path called where it is not built");
}
void fss_vaes_dcf_eval(const fss_dcf_keys *k, size_t i0, size_t m, const uint64_t *x, uint64_t *out)
{
    (void)k, (void)i0, (void)m, (void)x, (void)out;
    FSS_ASSERT(!"VAES path called where it is not built");
}
void fss_vaes_dpf_walk(const fss_dpf_keys *k, size_t i0, size_t m, const uint64_t *x, fss_block *S, unsigned *t,
                       unsigned *acc)
{
    (void)k, (void)i0, (void)m, (void)x, (void)S, (void)t, (void)acc;
    FSS_ASSERT(!"VAES path called where it is not built");
}
void fss_vaes_dpf_expand(const fss_dpf_keys *k, size_t i, int depth, fss_block *S, uint8_t *t)
{
    (void)k, (void)i, (void)depth, (void)S, (void)t;
    FSS_ASSERT(!"VAES path called where it is not built");
}
void fss_vaes_dpf_lut_n(const fss_dpf_keys *k, const size_t *idx, int nq, int depth, fss_block *const *S,
                        uint8_t *const *tb, const uint64_t *const *tab, const uint64_t *const *tab2, uint64_t *out,
                        uint64_t *out2)
{
    (void)k, (void)idx, (void)nq, (void)depth, (void)S, (void)tb, (void)tab, (void)tab2, (void)out, (void)out2;
    FSS_ASSERT(!"VAES path called where it is not built");
}

#endif
