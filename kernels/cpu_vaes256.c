#include "cpu_vaes256.h"

#include <pthread.h>
#include <string.h>

#include "fss/aes.h"
#include "fss/prg.h"
#include "fss/ring.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>

#include "cpu_avx2_mac.h"

#define V256_TARGET __attribute__((target("avx2,aes,vaes")))
#define GROUP 8 /* parents in flight: AES latency 4 cycles, two instructions a cycle */
/* aes_rounds' register barrier names eight states; children_run takes eight parents' bits
 * in one 8-byte load and stores their children's as 16 bytes (children_bits: bits_sel's
 * four rows of two parents) */
_Static_assert(GROUP == 8, "aes_rounds and children_run are written for eight registers");

static __m256i g_rk[FSS_AES_ROUNDS + 1];
static pthread_once_t g_rk_once = PTHREAD_ONCE_INIT;

/* Key k's round keys, the FIPS-197 schedule's bytes in order, in both 128-bit lanes. */
static inline __attribute__((always_inline)) V256_TARGET void rk_broadcast(const fss_aes_key *k, __m256i *rk)
{
    for (int r = 0; r <= FSS_AES_ROUNDS; r++)
        rk[r] = _mm256_broadcastsi128_si256(_mm_set_epi32((int)fss_bswap32(k->rk[4 * r + 3]),
                                                          (int)fss_bswap32(k->rk[4 * r + 2]),
                                                          (int)fss_bswap32(k->rk[4 * r + 1]),
                                                          (int)fss_bswap32(k->rk[4 * r])));
}

/* The PRG's round keys. */
static V256_TARGET void rk_init(void)
{
    fss_aes_key k;
    fss_aes_key_expand(&k, fss_prg_fixed_key);
    rk_broadcast(&k, g_rk);
}

int fss_vaes256_available(void)
{
    /* AES-NI from leaf 1 (ECX bit 25), VAES from leaf 7 (ECX bit 9); the AVX2 check includes
     * the OS's register state */
    unsigned a = 0, b = 0, c = 0, d = 0, c7 = 0;
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__get_cpuid(1, &a, &b, &c, &d) || !(c >> 25 & 1))
        return 0;
    return __get_cpuid_count(7, 0, &a, &b, &c7, &d) && (c7 >> 9 & 1);
}

/* A register barrier: the states named live in registers at this point. */
#define LIVE2(h) __asm__("" : "+x"((h)[0]), "+x"((h)[1]))
#define LIVE4(h) __asm__("" : "+x"((h)[0]), "+x"((h)[1]), "+x"((h)[2]), "+x"((h)[3]))
#define LIVE8(h) __asm__("" : "+x"((h)[0]), "+x"((h)[1]), "+x"((h)[2]), "+x"((h)[3]), "+x"((h)[4]), "+x"((h)[5]), \
                             "+x"((h)[6]), "+x"((h)[7]))

/* AES rounds 0-9 of N registers in place, N = 8, 10 or 12 (a literal; the last round is
 * the caller's). */
static inline __attribute__((always_inline)) V256_TARGET void aes_rounds_n(__m256i *h, const int N)
{
#pragma GCC unroll 12
    for (int g = 0; g < N; g++)
        h[g] = _mm256_xor_si256(h[g], g_rk[0]);
#pragma GCC unroll 9
    for (int r = 1; r < FSS_AES_ROUNDS; r++) {
        const __m256i rk = g_rk[r];
#pragma GCC unroll 12
        for (int g = 0; g < N; g++)
            h[g] = _mm256_aesenc_epi128(h[g], rk);
        /* all the states live in registers from round to round: left to itself, GCC runs one
         * state's rounds after another's (fewer registers), a chain of AES latency */
        LIVE8(h);
        if (N == 10)
            LIVE2(h + 8);
        if (N == 12)
            LIVE4(h + 8);
    }
}

/* AES rounds 0-9 of GROUP registers in place. */
static inline __attribute__((always_inline)) V256_TARGET void aes_rounds(__m256i *h) { aes_rounds_n(h, GROUP); }

V256_TARGET void fss_vaes256_ecb(const fss_block *in, fss_block *out, size_t n)
{
    pthread_once(&g_rk_once, rk_init);
    size_t i = 0;
    for (; i + 2 * GROUP <= n; i += 2 * GROUP) { /* GROUP registers of two blocks in flight */
        __m256i s[GROUP];
#pragma GCC unroll 8
        for (int g = 0; g < GROUP; g++)
            s[g] = _mm256_loadu_si256((const __m256i *)(in + i + 2 * g));
        aes_rounds(s);
#pragma GCC unroll 8
        for (int g = 0; g < GROUP; g++)
            _mm256_storeu_si256((__m256i *)(out + i + 2 * g), _mm256_aesenclast_epi128(s[g], g_rk[FSS_AES_ROUNDS]));
    }
    const __m128i *rk = (const __m128i *)g_rk; /* (a 128-bit half of each round key: the round key) */
    for (; i < n; i++) { /* the rest, a block at a time */
        __m128i s = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(in + i)), rk[0]);
        for (int r = 1; r < FSS_AES_ROUNDS; r++)
            s = _mm_aesenc_si128(s, rk[2 * r]);
        _mm_storeu_si128((__m128i *)(out + i), _mm_aesenclast_si128(s, rk[2 * FSS_AES_ROUNDS]));
    }
}

V256_TARGET void fss_vaes256_ctr(const fss_aes_key *key, uint64_t block, void *out, size_t n)
{
    uint8_t *o = (uint8_t *)out;
    __m256i rk[FSS_AES_ROUNDS + 1];
    rk_broadcast(key, rk);
    /* lane j: (0, block + j) as words; the shuffle puts the second word's bytes in reverse */
    const __m256i bswap_hi =
        _mm256_broadcastsi128_si256(_mm_set_epi8(8, 9, 10, 11, 12, 13, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1));
    const __m256i two = _mm256_set_epi64x(2, 0, 2, 0);
    __m256i ctr = _mm256_set_epi64x((long long)(block + 1), 0, (long long)block, 0);
    size_t i = 0;
    for (; i + 2 * GROUP <= n; i += 2 * GROUP) {
        __m256i h[GROUP];
#pragma GCC unroll 8
        for (int g = 0; g < GROUP; g++) {
            h[g] = _mm256_xor_si256(_mm256_shuffle_epi8(ctr, bswap_hi), rk[0]);
            ctr = _mm256_add_epi64(ctr, two);
        }
#pragma GCC unroll 9
        for (int r = 1; r < FSS_AES_ROUNDS; r++) {
#pragma GCC unroll 8
            for (int g = 0; g < GROUP; g++)
                h[g] = _mm256_aesenc_epi128(h[g], rk[r]);
            LIVE8(h);
        }
#pragma GCC unroll 8
        for (int g = 0; g < GROUP; g++)
            _mm256_storeu_si256((__m256i *)(o + 16 * (i + 2 * (size_t)g)),
                                _mm256_aesenclast_epi128(h[g], rk[FSS_AES_ROUNDS]));
    }
    for (; i < n; i += 2) { /* the rest, two blocks a register */
        __m256i st = _mm256_xor_si256(_mm256_shuffle_epi8(ctr, bswap_hi), rk[0]);
        ctr = _mm256_add_epi64(ctr, two);
        for (int r = 1; r < FSS_AES_ROUNDS; r++)
            st = _mm256_aesenc_epi128(st, rk[r]);
        st = _mm256_aesenclast_epi128(st, rk[FSS_AES_ROUNDS]);
        _mm_storeu_si128((__m128i *)(o + 16 * i), _mm256_castsi256_si128(st));
        if (i + 1 < n)
            _mm_storeu_si128((__m128i *)(o + 16 * (i + 1)), _mm256_extracti128_si256(st, 1));
    }
    fss_memzero(rk, sizeof rk);
}

/* Each lane's PRG input without its tweak (fss_prg_input with tweak 0): (S.hi, S.hi ^ seed.lo),
 * the seed S.lo with its two control bits cleared. */
static inline __attribute__((always_inline)) V256_TARGET __m256i prg_base(__m256i S)
{
    const __m256i P = _mm256_and_si256(S, _mm256_set_epi64x(-1, ~3LL, -1, ~3LL));
    return _mm256_xor_si256(_mm256_unpackhi_epi64(P, P), _mm256_slli_si256(P, 8));
}

/* Blocks p[a] and p[b] as the two lanes of a register. */
static inline __attribute__((always_inline)) V256_TARGET __m256i load_pair(const fss_block *p, size_t a, size_t b)
{
    return _mm256_set_m128i(_mm_loadu_si128((const __m128i *)(p + b)), _mm_loadu_si128((const __m128i *)(p + a)));
}

/* A parent's two children's AES inputs (fss_prg_input), from the parent S broadcast to both
 * lanes and its seed (S.lo's two control bits cleared): x = (S.hi ^ c, S.hi ^ seed.lo) in
 * lane c = 0, 1. */
static inline __attribute__((always_inline)) V256_TARGET __m256i child_input(const fss_block *S)
{
    return _mm256_xor_si256(prg_base(_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)S))),
                            _mm256_set_epi64x(0, 1, 0, 0));
}

/* A parent's two children: their AES state h (the inputs, child_input) and their last
 * round's key K. Their blocks are H = AES(x) ^ x, corrected by cw when the parent's bit b
 * is set: what is known before the last round rides in its key. */
static inline __attribute__((always_inline)) V256_TARGET void child_pair(const fss_block *S, uint64_t b, __m256i cw,
                                                                         __m256i *h, __m256i *K)
{
    const __m256i x = child_input(S);
    *K = _mm256_xor_si256(_mm256_xor_si256(x, _mm256_and_si256(cw, _mm256_set1_epi64x(-(long long)b))),
                          g_rk[FSS_AES_ROUNDS]);
    *h = x;
}

/* The children's control bits (fss_tree_eval_level) from the parent's u bits (S.lo) and bit
 * b: the left child's in bits 0-7, the right child's in 8-15 (their bytes in order). */
static inline __attribute__((always_inline)) uint64_t child_bits(uint64_t u, uint64_t b, unsigned bl, unsigned br)
{
    return ((u & 1u) ^ (b & bl)) | ((u >> 1 & 1u) ^ (b & br)) << 8;
}

/* Children of m <= GROUP parents of a level across trees: parent g at Sp[g] with bit tp[g],
 * its tree's correction cw[g] and bits bl[g], br[g], to Sc[g] and tc[g] (two blocks, two bytes). */
static inline __attribute__((always_inline)) V256_TARGET void children(const fss_block *const *Sp,
                                                                       const uint8_t *tp, const __m256i *cw,
                                                                       const unsigned *bl, const unsigned *br,
                                                                       fss_block *const *Sc, uint8_t *const *tc,
                                                                       size_t m)
{
    __m256i h[GROUP], K[GROUP];
    uint64_t tn[GROUP];
#pragma GCC unroll 8
    for (int g = 0; g < GROUP; g++) { /* past m: parent 0 again, not stored */
        const int e = (size_t)g < m ? g : 0;
        tn[g] = child_bits(Sp[e]->lo, tp[e], bl[e], br[e]);
        child_pair(Sp[e], tp[e], cw[e], &h[g], &K[g]);
    }
    aes_rounds(h);
#pragma GCC unroll 8
    for (int g = 0; g < GROUP; g++)
        if ((size_t)g < m) {
            _mm256_storeu_si256((__m256i *)Sc[g], _mm256_aesenclast_epi128(h[g], K[g]));
            tc[g][0] = (uint8_t)tn[g];
            tc[g][1] = (uint8_t)(tn[g] >> 8);
        }
}

/* children_bits' shuffles: register r holds parents 2r (lane 0) and 2r + 1 (lane 1); byte 0
 * of each (its S.lo's low byte) goes to both of the parent's two bytes, 4r, 4r + 1 and
 * 4r + 2, 4r + 3, in its own lane (-128: a zero). */
static const int8_t bits_sel[GROUP / 2][32] = {
    {0, 0, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128,
     -128, -128, 0, 0, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128},
    {-128, -128, -128, -128, 0, 0, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128,
     -128, -128, -128, -128, -128, -128, 0, 0, -128, -128, -128, -128, -128, -128, -128, -128},
    {-128, -128, -128, -128, -128, -128, -128, -128, 0, 0, -128, -128, -128, -128, -128, -128,
     -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, 0, 0, -128, -128, -128, -128},
    {-128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, 0, 0, -128, -128,
     -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, 0, 0},
};

/* The children's control bits (child_bits) of GROUP parents in a row, S[j0 ..] with bits
 * b8 (t[j0 ..]), as the 16 bytes t[2 j0 ..] takes: the left child's then the right's of each
 * parent, in order; lr holds the level's corrections bl, br in its even and odd bytes.
 * Byte 0 of each parent's S.lo (its u bits) is moved to both of its bytes by one shuffle a
 * register of two parents; bit 0 is kept in the even bytes and bit 1, shifted down, in the
 * odd ones. */
static inline __attribute__((always_inline)) V256_TARGET __m128i children_bits(const fss_block *S, __m128i b8,
                                                                             size_t j0, __m128i lr)
{
    __m256i u = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int r = 0; r < GROUP / 2; r++) { /* parents 2r (lane 0) and 2r + 1 (lane 1) */
        const __m256i pr = _mm256_loadu_si256((const __m256i *)(S + j0 + 2 * (size_t)r));
        u = _mm256_or_si256(u, _mm256_shuffle_epi8(pr, _mm256_loadu_si256((const __m256i *)bits_sel[r])));
    }
    const __m128i w = _mm_or_si128(_mm256_castsi256_si128(u), _mm256_extracti128_si256(u, 1));
    const __m128i ub = _mm_or_si128(_mm_and_si128(w, _mm_set1_epi16(0x0001)),
                                    _mm_srli_epi16(_mm_and_si128(w, _mm_set1_epi16(0x0200)), 1));
    return _mm_xor_si128(ub, _mm_and_si128(_mm_unpacklo_epi8(b8, b8), lr));
}

/* The children of GROUP parents of one tree's level in a row, S[j0 ..] (bits t[j0 ..]), to
 * S[2 j0 ..] and t[2 j0 ..] (in place: all are read before any is written). The last
 * round's key of parent g's pair is its AES input xor k0, or xor k1 where the parent's bit
 * is set (k0 the round key, k1 that xor the level's correction in both lanes: child_pair's
 * K), chosen by a blend on the bit's byte mask, not by an index (t's bytes are 0 or 1, as
 * every writer of them leaves them: 0 - t is the mask); lr the children's bit corrections
 * (children_bits). */
static inline __attribute__((always_inline)) V256_TARGET void children_run(fss_block *S, uint8_t *t, size_t j0,
                                                                           __m256i k0, __m256i k1, __m128i lr)
{
    __m256i h[GROUP], K[GROUP];
    const __m128i b8 = _mm_loadl_epi64((const __m128i *)(t + j0)), tn = children_bits(S, b8, j0, lr);
    const __m256i mb = _mm256_broadcastsi128_si256(_mm_sub_epi8(_mm_setzero_si128(), b8)); /* 0 or 0xff a parent */
#pragma GCC unroll 8
    for (int g = 0; g < GROUP; g++) {
        const __m256i x = child_input(S + j0 + g);
        K[g] = _mm256_xor_si256(x, _mm256_blendv_epi8(k0, k1, _mm256_shuffle_epi8(mb, _mm256_set1_epi8((char)g))));
        h[g] = x;
    }
    aes_rounds(h);
#pragma GCC unroll 8
    for (int g = 0; g < GROUP; g++)
        _mm256_storeu_si256((__m256i *)(S + 2 * (j0 + (size_t)g)), _mm256_aesenclast_epi128(h[g], K[g]));
    _mm_storeu_si128((__m128i *)(t + 2 * j0), tn);
}

V256_TARGET void fss_vaes256_dpf_expand(const fss_dpf_keys *k, size_t i0, size_t nq, int depth, fss_block *S,
                                        uint8_t *t)
{
    pthread_once(&g_rk_once, rk_init);
    for (size_t q = 0; q < nq; q++) {
        S[q << depth] = k->root[i0 + q];
        t[q << depth] = (uint8_t)k->party;
    }
    for (int lv = 0; lv < depth; lv++) {
        const size_t nodes = (size_t)1 << lv;
        const fss_block *scw = k->scw + (size_t)lv * k->count + i0;
        const fss_block *Sp[GROUP];
        fss_block *Sc[GROUP];
        uint8_t tp[GROUP], *tc[GROUP];
        __m256i cw[GROUP];
        unsigned bl[GROUP], br[GROUP];
        if (nodes < GROUP) { /* the first levels: the trees' parents side by side */
            const size_t all = nq * nodes;
            for (size_t hi = all; hi > 0;) {
                const size_t lo = hi > GROUP ? hi - GROUP : 0, m = hi - lo;
                hi = lo;
                for (size_t g = 0; g < m; g++) {
                    const size_t q = (lo + g) >> lv, j = (lo + g) & (nodes - 1), at = (q << depth) + j;
                    Sp[g] = S + at;
                    tp[g] = t[at];
                    Sc[g] = S + at + j;
                    tc[g] = t + at + j;
                    cw[g] = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)&scw[q]));
                    bl[g] = (unsigned)(k->tcw_l[i0 + q] >> lv) & 1u;
                    br[g] = (unsigned)(k->tcw_r[i0 + q] >> lv) & 1u;
                }
                children(Sp, tp, cw, bl, br, Sc, tc, m);
            }
            continue;
        }
        for (size_t q = nq; q-- > 0;) { /* a tree at a time, GROUP parents from its last */
            const __m256i k0 = g_rk[FSS_AES_ROUNDS],
                          k1 = _mm256_xor_si256(
                              k0, _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)&scw[q])));
            const int l = (int)(k->tcw_l[i0 + q] >> lv) & 1, r = (int)(k->tcw_r[i0 + q] >> lv) & 1;
            const __m128i lr = _mm_set1_epi16((short)(l | r << 8));
            for (size_t j0 = nodes; j0 > 0;) {
                j0 -= GROUP;
                children_run(S + (q << depth), t + (q << depth), j0, k0, k1, lr);
            }
        }
    }
}

/* Instances ahead whose keys a walk prefetches into L2, level by level (a level's row of a
 * large batch is a stream of its own: more streams than the hardware prefetcher follows;
 * fss_vaes_dcf_eval's PF_AHEAD). */
#ifndef PF_AHEAD
#define PF_AHEAD 64
#endif

/* Two instances' words at a and b as the lo lanes of their blocks' register: (a, 0, b, 0). */
static inline __attribute__((always_inline)) V256_TARGET __m256i lo_pair(const uint64_t *a, const uint64_t *b)
{
    return _mm256_set_m128i(_mm_loadl_epi64((const __m128i *)b), _mm_loadl_epi64((const __m128i *)a));
}

V256_TARGET void fss_vaes256_dpf_walk(const fss_dpf_keys *k, size_t i0, size_t m, const uint64_t *x, fss_block *S,
                                      unsigned *t, unsigned *acc)
{
    pthread_once(&g_rk_once, rk_init);
    const int n = k->p.n, depth = FSS_DPF_DEPTH(n, k->p.early);
    const __m256i one = _mm256_set_epi64x(0, 1, 0, 1);
    for (size_t j0 = 0; j0 < m; j0 += 2 * GROUP) { /* 2 GROUP instances: two a register */
        size_t idx[2 * GROUP];
        for (int e = 0; e < 2 * GROUP; e++) /* past m: the last instance again, not stored */
            idx[e] = i0 + (j0 + (size_t)e < m ? j0 + (size_t)e : m - 1);
        /* each register's two instances: node, bit, comparison bits, x and the bits' corrections
         * in its lo lanes (the bit in bit 0) */
        __m256i v[GROUP], tv[GROUP], av[GROUP], xv[GROUP], lw[GROUP], rw[GROUP];
        for (int g = 0; g < GROUP; g++) {
            const size_t a = idx[2 * g], b = idx[2 * g + 1];
            v[g] = load_pair(k->root, a, b);
            tv[g] = _mm256_set_epi64x(0, k->party, 0, k->party);
            av[g] = _mm256_setzero_si256();
            xv[g] = lo_pair(x + a, x + b);
            lw[g] = lo_pair(k->tcw_l + a, k->tcw_l + b);
            rw[g] = lo_pair(k->tcw_r + a, k->tcw_r + b);
        }
        for (int lv = 0; lv < depth; lv++) {
            const fss_block *scw = k->scw + (size_t)lv * k->count;
            __m256i h[GROUP], K[GROUP];
            if (idx[0] + PF_AHEAD + 2 * GROUP <= k->count)
                for (int q = 0; q < 2 * GROUP; q += 4)
                    _mm_prefetch((const char *)(scw + idx[0] + PF_AHEAD + q), _MM_HINT_T1);
#pragma GCC unroll 8
            for (int g = 0; g < GROUP; g++) {
                /* fss_tree_eval_level and fss_dpf_cmp_level_bit, lane-wise: c x's bit, u_c the
                 * node's raw bit of child c, the child's bit u_c ^ (t & tcw_c) */
                const __m256i c = _mm256_and_si256(_mm256_srli_epi64(xv[g], n - 1 - lv), one),
                              tl = _mm256_and_si256(_mm256_srli_epi64(lw[g], lv), one),
                              tr = _mm256_and_si256(_mm256_srli_epi64(rw[g], lv), one);
                const __m256i u0 = _mm256_and_si256(v[g], one), uc = _mm256_and_si256(_mm256_srlv_epi64(v[g], c), one);
                const __m256i tcw = _mm256_xor_si256(tl, _mm256_and_si256(c, _mm256_xor_si256(tl, tr)));
                av[g] = _mm256_xor_si256(av[g], _mm256_and_si256(c, _mm256_xor_si256(u0, _mm256_and_si256(tv[g], tl))));
                /* the AES input (S.hi ^ c, S.hi ^ seed.lo: prg_base), its correction when t is set */
                const __m256i xin = _mm256_xor_si256(prg_base(v[g]), c);
                const __m256i cw = load_pair(scw, idx[2 * g], idx[2 * g + 1]);
                const __m256i tm = _mm256_sub_epi64(_mm256_setzero_si256(), _mm256_unpacklo_epi64(tv[g], tv[g]));
                K[g] = _mm256_xor_si256(_mm256_xor_si256(xin, _mm256_and_si256(cw, tm)), g_rk[FSS_AES_ROUNDS]);
                h[g] = xin;
                tv[g] = _mm256_xor_si256(uc, _mm256_and_si256(tv[g], tcw));
            }
            aes_rounds(h);
#pragma GCC unroll 8
            for (int g = 0; g < GROUP; g++)
                v[g] = _mm256_aesenclast_epi128(h[g], K[g]);
        }
        for (int g = 0; g < GROUP; g++) {
            uint64_t tt[4], aa[4];
            _mm256_storeu_si256((__m256i *)tt, tv[g]);
            _mm256_storeu_si256((__m256i *)aa, av[g]);
            for (int e = 0; e < 2; e++) {
                const size_t j = j0 + 2 * (size_t)g + (size_t)e;
                if (j < m) {
                    _mm_storeu_si128((__m128i *)&S[j], e ? _mm256_extracti128_si256(v[g], 1)
                                                         : _mm256_castsi256_si128(v[g]));
                    t[j] = (unsigned)tt[2 * e];
                    acc[j] = (unsigned)aa[2 * e];
                }
            }
        }
    }
}

/* The DCF eval with G payload words (fss_dcf_eval's eval_tile, restated): DCF_NI instances
 * a group, two a register, through all levels; a level's AES is the node's child and the
 * value blocks of side c, 4 (1 + ceil(G / 2)) registers in flight. The value blocks' words
 * are summed as they lie, in the 64-bit lane of their block (for odd G into two sums, by
 * the side, as side 1's words start a lane later), and t's corrections beside them in lo
 * lanes; the party's sign and the reduction once, at the end (both commute with the sums). */
#define DCF_NI 8
static inline __attribute__((always_inline)) V256_TARGET void dcf_eval_gn(const fss_dcf_keys *k, size_t i0, size_t m,
                                                                          const uint64_t *x, uint64_t *out, const int G)
{
    enum { NR = DCF_NI / 2, MB = (FSS_VAES256_DCF_MAX_G + 1) / 2, MG = FSS_VAES256_DCF_MAX_G };
    const int n = k->p.n, nvb = (G + 1) / 2, fin = G / 2, odd = G & 1, NA = NR * (1 + nvb);
    const size_t count = k->count, vs = fss_dcf_vcw_stride(count);
    const __m256i zero = _mm256_setzero_si256(), one = _mm256_set_epi64x(0, 1, 0, 1);
    const __m256i rk10 = g_rk[FSS_AES_ROUNDS];
    _Alignas(32) uint64_t Sv[NR][4], tt[NR][4], Aw[2][MB][NR][4], Ww[MG][NR][4];
    fss_block fb[DCF_NI * (MG / 2) + 1];
    for (size_t j0 = 0; j0 < m; j0 += DCF_NI) {
        size_t idx[DCF_NI];
        for (int e = 0; e < DCF_NI; e++) /* past m: the last instance again, not stored */
            idx[e] = i0 + (j0 + (size_t)e < m ? j0 + (size_t)e : m - 1);
        __m256i v[NR], tv[NR], xv[NR], lw[NR], rw[NR], A[2][MB][NR], W[MG][NR];
        for (int r = 0; r < NR; r++) {
            const size_t a = idx[2 * r], b = idx[2 * r + 1];
            v[r] = load_pair(k->root, a, b);
            tv[r] = _mm256_set_epi64x(0, k->party, 0, k->party);
            xv[r] = lo_pair(x + a, x + b);
            lw[r] = lo_pair(k->tcw_l + a, k->tcw_l + b);
            rw[r] = lo_pair(k->tcw_r + a, k->tcw_r + b);
            for (int q = 0; q < 2; q++)
                for (int bk = 0; bk < MB; bk++)
                    A[q][bk][r] = zero;
            for (int j = 0; j < G; j++)
                W[j][r] = zero;
        }
        for (int lv = 0; lv < n; lv++) {
            const fss_block *scw = k->scw + (size_t)lv * count;
            const uint64_t *vcw = k->vcw + (size_t)lv * (size_t)G * vs;
            __m256i h[NR * (1 + MB)], K[NR * (1 + MB)], cm[NR];
            if (idx[0] + PF_AHEAD + DCF_NI <= count) { /* a level's row is a stream of its own */
                _mm_prefetch((const char *)(scw + idx[0] + PF_AHEAD), _MM_HINT_T1);
                _mm_prefetch((const char *)(scw + idx[0] + PF_AHEAD + 4), _MM_HINT_T1);
                for (int j = 0; j < G; j++)
                    _mm_prefetch((const char *)(vcw + (size_t)j * vs + idx[0] + PF_AHEAD), _MM_HINT_T1);
            }
#pragma GCC unroll 4
            for (int r = 0; r < NR; r++) {
                const size_t a = idx[2 * r], b = idx[2 * r + 1];
                /* fss_tree_eval_level lane-wise, as the DPF walk */
                const __m256i c = _mm256_and_si256(_mm256_srli_epi64(xv[r], n - 1 - lv), one),
                              tl = _mm256_and_si256(_mm256_srli_epi64(lw[r], lv), one),
                              tr = _mm256_and_si256(_mm256_srli_epi64(rw[r], lv), one);
                const __m256i uc = _mm256_and_si256(_mm256_srlv_epi64(v[r], c), one);
                const __m256i tcw = _mm256_xor_si256(tl, _mm256_and_si256(c, _mm256_xor_si256(tl, tr)));
                const __m256i base = prg_base(v[r]);
                const __m256i xin = _mm256_xor_si256(base, c);
                const __m256i cw = load_pair(scw, a, b);
                const __m256i tl64 = _mm256_sub_epi64(zero, tv[r]); /* t's mask in the lo lanes */
                const __m256i tm = _mm256_unpacklo_epi64(tl64, tl64);
                K[r] = _mm256_xor_si256(_mm256_xor_si256(xin, _mm256_and_si256(cw, tm)), rk10);
                h[r] = xin;
                /* the value blocks of side c: tweaks 2 + c G / 2 + bk (fss_dcf_value_first_block) */
                const __m256i ct = G / 2 == 2 ? _mm256_slli_epi64(c, 1) : G / 2 == 1 ? c : zero;
                for (int bk = 0; bk < nvb; bk++) {
                    const __m256i tw = _mm256_add_epi64(ct, _mm256_set_epi64x(0, 2 + bk, 0, 2 + bk));
                    const __m256i vin = _mm256_xor_si256(base, tw);
                    h[NR * (1 + bk) + r] = vin;
                    K[NR * (1 + bk) + r] = _mm256_xor_si256(vin, rk10);
                }
                for (int j = 0; j < G; j++) /* t * vcw[j] */
                    W[j][r] = _mm256_add_epi64(
                        W[j][r], _mm256_and_si256(lo_pair(vcw + (size_t)j * vs + a, vcw + (size_t)j * vs + b), tl64));
                const __m256i cl = _mm256_sub_epi64(zero, c);
                cm[r] = _mm256_unpacklo_epi64(cl, cl);
                tv[r] = _mm256_xor_si256(uc, _mm256_and_si256(tv[r], tcw));
            }
            aes_rounds_n(h, NA);
#pragma GCC unroll 4
            for (int r = 0; r < NR; r++) {
                v[r] = _mm256_aesenclast_epi128(h[r], K[r]);
                for (int bk = 0; bk < nvb; bk++) {
                    const __m256i H = _mm256_aesenclast_epi128(h[NR * (1 + bk) + r], K[NR * (1 + bk) + r]);
                    if (odd) {
                        A[0][bk][r] = _mm256_add_epi64(A[0][bk][r], _mm256_andnot_si256(cm[r], H));
                        A[1][bk][r] = _mm256_add_epi64(A[1][bk][r], _mm256_and_si256(cm[r], H));
                    } else {
                        A[0][bk][r] = _mm256_add_epi64(A[0][bk][r], H);
                    }
                }
            }
        }
        /* the last step (fss_dcf_eval_final): leaf word 0 is S.hi, word j > 0 word j - 1 of
         * the leaf's value blocks */
        for (int r = 0; r < NR; r++) {
            _mm256_store_si256((__m256i *)Sv[r], v[r]);
            _mm256_store_si256((__m256i *)tt[r], tv[r]);
            for (int q = 0; q <= odd; q++)
                for (int bk = 0; bk < nvb; bk++)
                    _mm256_store_si256((__m256i *)Aw[q][bk][r], A[q][bk][r]);
            for (int j = 0; j < G; j++)
                _mm256_store_si256((__m256i *)Ww[j][r], W[j][r]);
        }
        for (int e = 0; e < DCF_NI * fin; e++) {
            const int f = e / fin, r = f / 2, h2 = 2 * (f % 2);
            fb[e] = fss_prg_input((fss_block){Sv[r][h2], Sv[r][h2 + 1]}, FSS_PRG_TWEAK_VALUE((unsigned)(e % fin)));
        }
        if (fin) {
            fss_block ob[DCF_NI * (MG / 2)];
            fss_vaes256_ecb(fb, ob, (size_t)DCF_NI * (size_t)fin);
            for (int e = 0; e < DCF_NI * fin; e++)
                fb[e] = fss_prg_output(fb[e], ob[e]);
            fss_memzero(ob, sizeof ob);
        }
        const uint64_t *vcw = k->vcw + (size_t)n * (size_t)G * vs;
        for (int e = 0; e < DCF_NI && j0 + (size_t)e < m; e++) {
            const int r = e / 2, h2 = 2 * (e % 2);
            const size_t i = idx[e];
            const uint64_t tm = (uint64_t)0 - tt[r][h2];
            for (int j = 0; j < G; j++) {
                /* side 0's word j, side 1's j + (G odd): word w in block w / 2, lane w % 2 */
                const int w1 = j + odd;
                uint64_t s = Ww[j][r][h2] + Aw[0][j / 2][r][h2 + j % 2];
                if (odd)
                    s += Aw[1][w1 / 2][r][h2 + w1 % 2];
                const uint64_t leaf = j ? (j % 2 ? fb[e * fin + (j - 1) / 2].lo : fb[e * fin + (j - 1) / 2].hi)
                                        : Sv[r][h2 + 1];
                s += leaf + (vcw[(size_t)j * vs + i] & tm);
                out[i * (size_t)G + (size_t)j] = fss_ring_cneg(s, (unsigned)k->party, k->p.l);
            }
        }
    }
    fss_memzero(Sv, sizeof Sv);
    fss_memzero(tt, sizeof tt);
    fss_memzero(Aw, sizeof Aw);
    fss_memzero(Ww, sizeof Ww);
    fss_memzero(fb, sizeof fb);
}

#define DCF_EVAL_G(G)                                                                                                  \
    static __attribute__((noinline)) V256_TARGET void dcf_eval_g##G(const fss_dcf_keys *k, size_t i0, size_t m,       \
                                                                   const uint64_t *x, uint64_t *out)                  \
    {                                                                                                                  \
        dcf_eval_gn(k, i0, m, x, out, G);                                                                              \
    }
DCF_EVAL_G(1)
DCF_EVAL_G(2)
DCF_EVAL_G(3)
DCF_EVAL_G(4)
#undef DCF_EVAL_G

void fss_vaes256_dcf_eval(const fss_dcf_keys *k, size_t i0, size_t m, const uint64_t *x, uint64_t *out)
{
    pthread_once(&g_rk_once, rk_init);
    switch (k->p.g) {
    case 1: dcf_eval_g1(k, i0, m, x, out); break;
    case 2: dcf_eval_g2(k, i0, m, x, out); break;
    case 3: dcf_eval_g3(k, i0, m, x, out); break;
    case 4: dcf_eval_g4(k, i0, m, x, out); break;
    default: FSS_ASSERT(!"AVX2 VAES DCF eval: g beyond FSS_VAES256_DCF_MAX_G");
    }
}

/* ---- keygen of both parties' trees (DPF, and DCF with G payload words), two instances a
 * register: fss_tree_keygen_level and fss_dcf_keygen_level_values restated lane-wise, as
 * the eval (an instance's block in a 128-bit lane, its bits and words in the lane's lo
 * 64 bits). Pairs of instances a group by G, so that a level's AES keeps 8-12 registers
 * in flight: both parties' two children and G value blocks (both sides' 2 G words). */
#define KG_NP(G) ((G) == 0 ? 3 : (G) == 1 ? 2 : 1)

/* The lo 64 bits of each lane of v to p[a] and p[b]. */
static inline __attribute__((always_inline)) V256_TARGET void store_lo_pair(uint64_t *p, size_t a, size_t b,
                                                                            __m256i v)
{
    _mm_storel_epi64((__m128i *)(p + a), _mm256_castsi256_si128(v));
    _mm_storel_epi64((__m128i *)(p + b), _mm256_extracti128_si256(v, 1));
}

/* The two lanes of v to p[a] and p[b] (load_pair's inverse). */
static inline __attribute__((always_inline)) V256_TARGET void store_pair(fss_block *p, size_t a, size_t b, __m256i v)
{
    _mm_storeu_si128((__m128i *)(p + a), _mm256_castsi256_si128(v));
    _mm_storeu_si128((__m128i *)(p + b), _mm256_extracti128_si256(v, 1));
}

/* Word w of a pair's value blocks V (both sides' words, block w / 2, lane w % 2) in the lo
 * 64 bits of each lane. */
static inline __attribute__((always_inline)) V256_TARGET __m256i word_lo(const __m256i *V, int w)
{
    return w % 2 ? _mm256_bsrli_epi128(V[w / 2], 8) : V[w / 2];
}

/* The trees' keys of one party: where keygen writes them. */
typedef struct kg_tree {
    fss_block *root, *scw;
    uint64_t *tcw_l, *tcw_r;
} kg_tree;

/* Both parties' keys of instances [i0, i0 + m), `levels` levels of an n-bit alpha: roots,
 * scw and tcw bits into T[0], T[1]; for G > 0 the DCF's value corrections into vcw[b]
 * (rows of stride vs) and its last row; for G = 0 the nodes reached into S[j][b], t[j][b]. */
static inline __attribute__((always_inline)) V256_TARGET void
keygen_gn(const kg_tree *T, size_t count, int n, int levels, size_t i0, size_t m, const uint64_t *alpha,
          const fss_block *roots, const int G, uint64_t *const *vcwp, size_t vs, int l, const uint64_t *beta,
          fss_block (*S)[2], unsigned (*to)[2])
{
    enum { MG = FSS_VAES256_DCF_MAX_G, MP = 3 };
    const int NP = KG_NP(G), NI = 2 * NP, per = 2 * (2 + G), NA = NP * per, fin = G / 2;
    const __m256i zero = _mm256_setzero_si256(), one = _mm256_set_epi64x(0, 1, 0, 1);
    const __m256i rk10 = g_rk[FSS_AES_ROUNDS];
    const __m256i lmask = _mm256_set1_epi64x((long long)fss_ring_mask(l));
    for (size_t j0 = 0; j0 < m; j0 += (size_t)NI) {
        size_t idx[2 * MP];
        for (int e = 0; e < NI; e++) /* past m: the last instance again (the same keys written twice) */
            idx[e] = i0 + (j0 + (size_t)e < m ? j0 + (size_t)e : m - 1);
        __m256i Sv[MP][2], tv[MP][2], av[MP], tcl[MP], tcr[MP], Va[MP][MG], bv[MP][MG];
        for (int p = 0; p < NP; p++) {
            const size_t a = idx[2 * p], b = idx[2 * p + 1];
            for (int q = 0; q < 2; q++) {
                Sv[p][q] = load_pair(roots + q, 2 * a, 2 * b);
                store_pair(T[q].root, a, b, Sv[p][q]);
            }
            tv[p][0] = zero;
            tv[p][1] = one;
            av[p] = lo_pair(alpha + a, alpha + b);
            tcl[p] = tcr[p] = zero;
            for (int j = 0; j < G; j++) {
                Va[p][j] = zero;
                bv[p][j] = lo_pair(beta + a * (size_t)G + (size_t)j, beta + b * (size_t)G + (size_t)j);
            }
        }
        for (int lv = 0; lv < levels; lv++) {
            __m256i h[3 * 2 * (2 + MG)], K[3 * 2 * (2 + MG)]; /* [q][party][pair]: q < 2 children, then values */
            for (int p = 0; p < NP; p++)
                for (int b = 0; b < 2; b++) {
                    const __m256i base = prg_base(Sv[p][b]);
                    for (int q = 0; q < 2 + G; q++) {
                        const long long tw = q < 2 ? (long long)FSS_PRG_TWEAK_CHILD((unsigned)q)
                                                   : (long long)FSS_PRG_TWEAK_VALUE((unsigned)(q - 2));
                        const int r = (q * 2 + b) * NP + p;
                        h[r] = _mm256_xor_si256(base, _mm256_set_epi64x(0, tw, 0, tw));
                        K[r] = _mm256_xor_si256(h[r], rk10);
                    }
                }
            aes_rounds_n(h, NA);
            for (int r = 0; r < NA; r++)
                h[r] = _mm256_aesenclast_epi128(h[r], K[r]);
            const size_t row = (size_t)lv * count;
            for (int p = 0; p < NP; p++) {
                const size_t a = idx[2 * p], b = idx[2 * p + 1];
                const __m256i *H0 = h + p, *H1 = h + NP + p; /* party b's block q at [2 NP q] */
                const __m256i kb = _mm256_and_si256(_mm256_srli_epi64(av[p], n - 1 - lv), one); /* keep */
                const __m256i kl = _mm256_sub_epi64(zero, kb), km = _mm256_unpacklo_epi64(kl, kl);
                if (G) { /* the values (fss_dcf_keygen_level_values), t the parents' */
                    const __m256i m1 = _mm256_sub_epi64(zero, tv[p][1]);
                    __m256i V0[MG], V1[MG];
                    for (int v = 0; v < G; v++) {
                        V0[v] = H0[2 * NP * (2 + v)];
                        V1[v] = H1[2 * NP * (2 + v)];
                    }
                    for (int j = 0; j < G; j++) { /* lost side's word j where alpha goes right, G + j where left */
                        const __m256i w0l = _mm256_blendv_epi8(word_lo(V0, G + j), word_lo(V0, j), kl);
                        const __m256i w1l = _mm256_blendv_epi8(word_lo(V1, G + j), word_lo(V1, j), kl);
                        const __m256i w0k = _mm256_blendv_epi8(word_lo(V0, j), word_lo(V0, G + j), kl);
                        const __m256i w1k = _mm256_blendv_epi8(word_lo(V1, j), word_lo(V1, G + j), kl);
                        __m256i cw = _mm256_sub_epi64(_mm256_sub_epi64(w1l, w0l), Va[p][j]);
                        cw = _mm256_add_epi64(cw, _mm256_and_si256(bv[p][j], kl));
                        cw = _mm256_and_si256(_mm256_sub_epi64(_mm256_xor_si256(cw, m1), m1), lmask);
                        const __m256i back = _mm256_sub_epi64(_mm256_xor_si256(cw, m1), m1);
                        Va[p][j] = _mm256_and_si256(_mm256_add_epi64(_mm256_add_epi64(_mm256_sub_epi64(Va[p][j], w1k),
                                                                                      w0k), back), lmask);
                        const size_t o = ((size_t)lv * (size_t)G + (size_t)j) * vs;
                        store_lo_pair(vcwp[0] + o, a, b, cw);
                        store_lo_pair(vcwp[1] + o, a, b, cw);
                    }
                }
                /* the tree (fss_tree_keygen_level): cw = H_lose(S0) ^ H_lose(S1) */
                const __m256i X0 = _mm256_xor_si256(H0[0], H1[0]), X1 = _mm256_xor_si256(H0[2 * NP], H1[2 * NP]);
                const __m256i cw = _mm256_blendv_epi8(X1, X0, km);
                store_pair(T[0].scw + row, a, b, cw);
                store_pair(T[1].scw + row, a, b, cw);
                const __m256i ux = _mm256_xor_si256(Sv[p][0], Sv[p][1]);
                const __m256i tl = _mm256_xor_si256(_mm256_and_si256(ux, one), _mm256_xor_si256(kb, one));
                const __m256i tr = _mm256_xor_si256(_mm256_and_si256(_mm256_srli_epi64(ux, 1), one), kb);
                const __m256i tk = _mm256_xor_si256(tl, _mm256_and_si256(kl, _mm256_xor_si256(tl, tr)));
                tcl[p] = _mm256_or_si256(tcl[p], _mm256_slli_epi64(tl, lv));
                tcr[p] = _mm256_or_si256(tcr[p], _mm256_slli_epi64(tr, lv));
                /* to the kept child: t' = u_keep ^ (t & tk), S' = H_keep ^ (t ? cw : 0) */
                for (int b2 = 0; b2 < 2; b2++) {
                    const __m256i *Hb = b2 ? H1 : H0;
                    const __m256i tl64 = _mm256_sub_epi64(zero, tv[p][b2]), tm = _mm256_unpacklo_epi64(tl64, tl64);
                    const __m256i uk = _mm256_and_si256(_mm256_srlv_epi64(Sv[p][b2], kb), one);
                    Sv[p][b2] = _mm256_xor_si256(_mm256_blendv_epi8(Hb[0], Hb[2 * NP], km), _mm256_and_si256(cw, tm));
                    tv[p][b2] = _mm256_xor_si256(uk, _mm256_and_si256(tv[p][b2], tk));
                }
            }
        }
        for (int p = 0; p < NP; p++) {
            const size_t a = idx[2 * p], b = idx[2 * p + 1];
            for (int q = 0; q < 2; q++) {
                store_lo_pair(T[q].tcw_l, a, b, tcl[p]);
                store_lo_pair(T[q].tcw_r, a, b, tcr[p]);
            }
        }
        if (!G) { /* the nodes reached, for the DPF's last correction */
            for (int e = 0; e < NI && j0 + (size_t)e < m; e++) {
                uint64_t w[2][4], tt[2][4];
                for (int b = 0; b < 2; b++) {
                    _mm256_storeu_si256((__m256i *)w[b], Sv[e / 2][b]);
                    _mm256_storeu_si256((__m256i *)tt[b], tv[e / 2][b]);
                    S[j0 + (size_t)e][b] = (fss_block){w[b][2 * (e % 2)], w[b][2 * (e % 2) + 1]};
                    to[j0 + (size_t)e][b] = (unsigned)tt[b][2 * (e % 2)];
                }
                fss_memzero(w, sizeof w);
                fss_memzero(tt, sizeof tt);
            }
            continue;
        }
        /* the DCF's last correction (fss_dcf_keygen_final): leaf word 0 is S.hi, word j > 0
         * word j - 1 of the leaf's value blocks */
        fss_block fb[2 * MP * (MG / 2) + 1], ob[2 * MP * (MG / 2) + 1];
        uint64_t Sw[MP][2][4], Vw[MP][MG][4], t1[MP][4];
        for (int p = 0; p < NP; p++) {
            for (int b = 0; b < 2; b++)
                _mm256_storeu_si256((__m256i *)Sw[p][b], Sv[p][b]);
            for (int j = 0; j < G; j++)
                _mm256_storeu_si256((__m256i *)Vw[p][j], Va[p][j]);
            _mm256_storeu_si256((__m256i *)t1[p], tv[p][1]);
        }
        for (int e = 0; e < NI; e++) /* instance e, party b, leaf block v at (e 2 + b) fin + v */
            for (int b = 0; b < 2; b++)
                for (int v = 0; v < fin; v++) {
                    const uint64_t *w = Sw[e / 2][b] + 2 * (e % 2);
                    fb[(e * 2 + b) * fin + v] =
                        fss_prg_input((fss_block){w[0], w[1]}, FSS_PRG_TWEAK_VALUE((unsigned)v));
                }
        if (fin) {
            fss_vaes256_ecb(fb, ob, (size_t)(NI * 2 * fin));
            for (int q = 0; q < NI * 2 * fin; q++)
                fb[q] = fss_prg_output(fb[q], ob[q]);
        }
        for (int e = 0; e < NI && j0 + (size_t)e < m; e++) {
            const int p = e / 2, h2 = 2 * (e % 2);
            for (int j = 0; j < G; j++) {
                uint64_t lw[2];
                for (int b = 0; b < 2; b++) {
                    const fss_block *f = fb + (e * 2 + b) * fin + (j - 1) / 2;
                    lw[b] = j ? (j % 2 ? f->lo : f->hi) : Sw[p][b][h2 + 1];
                }
                const uint64_t d = lw[1] - lw[0] - Vw[p][j][h2];
                const uint64_t fcw = fss_ring_cneg(d, (unsigned)t1[p][h2], l);
                vcwp[0][((size_t)levels * (size_t)G + (size_t)j) * vs + idx[e]] = fcw;
                vcwp[1][((size_t)levels * (size_t)G + (size_t)j) * vs + idx[e]] = fcw;
            }
        }
        fss_memzero(fb, sizeof fb);
        fss_memzero(ob, sizeof ob);
        fss_memzero(Sw, sizeof Sw);
        fss_memzero(Vw, sizeof Vw);
        fss_memzero(t1, sizeof t1);
    }
}

V256_TARGET void fss_vaes256_dpf_keygen_walk(fss_dpf_keys *k0, fss_dpf_keys *k1, size_t i0, size_t m,
                                             const uint64_t *alpha, const fss_block *roots, fss_block (*S)[2],
                                             unsigned (*t)[2])
{
    pthread_once(&g_rk_once, rk_init);
    const kg_tree T[2] = {{k0->root, k0->scw, k0->tcw_l, k0->tcw_r}, {k1->root, k1->scw, k1->tcw_l, k1->tcw_r}};
    keygen_gn(T, k0->count, k0->p.n, FSS_DPF_DEPTH(k0->p.n, k0->p.early), i0, m, alpha, roots, 0, NULL, 0, 64, NULL,
              S, t);
}

#define DCF_KEYGEN_G(G)                                                                                                \
    static __attribute__((noinline)) V256_TARGET void dcf_keygen_g##G(fss_dcf_keys *k0, fss_dcf_keys *k1, size_t i0,  \
                                                                     size_t m, const uint64_t *alpha,                 \
                                                                     const uint64_t *beta, const fss_block *roots)    \
    {                                                                                                                  \
        const kg_tree T[2] = {{k0->root, k0->scw, k0->tcw_l, k0->tcw_r}, {k1->root, k1->scw, k1->tcw_l, k1->tcw_r}};  \
        uint64_t *const vcw[2] = {k0->vcw, k1->vcw};                                                                   \
        keygen_gn(T, k0->count, k0->p.n, k0->p.n, i0, m, alpha, roots, G, vcw, fss_dcf_vcw_stride(k0->count),        \
                  k0->p.l, beta, NULL, NULL);                                                                          \
    }
DCF_KEYGEN_G(1)
DCF_KEYGEN_G(2)
DCF_KEYGEN_G(3)
DCF_KEYGEN_G(4)
#undef DCF_KEYGEN_G

void fss_vaes256_dcf_keygen(fss_dcf_keys *k0, fss_dcf_keys *k1, size_t i0, size_t m, const uint64_t *alpha,
                            const uint64_t *beta, const fss_block *roots)
{
    pthread_once(&g_rk_once, rk_init);
    switch (k0->p.g) {
    case 1: dcf_keygen_g1(k0, k1, i0, m, alpha, beta, roots); break;
    case 2: dcf_keygen_g2(k0, k1, i0, m, alpha, beta, roots); break;
    case 3: dcf_keygen_g3(k0, k1, i0, m, alpha, beta, roots); break;
    case 4: dcf_keygen_g4(k0, k1, i0, m, alpha, beta, roots); break;
    default: FSS_ASSERT(!"AVX2 VAES DCF keygen: g beyond FSS_VAES256_DCF_MAX_G");
    }
}

/* Two leaves' words at S (lanes: leaf j's lo >> 2 and hi, leaf j + 1's), each plus its part
 * of fc (f.hi, f.lo twice) where its leaf's mask in tm is set. */
static inline __attribute__((always_inline)) V256_TARGET __m256i pair_words(const fss_block *S, __m256i tm, __m256i fc)
{
    return _mm256_add_epi64(_mm256_srlv_epi64(_mm256_loadu_si256((const __m256i *)S), _mm256_set_epi64x(0, 2, 0, 2)),
                            _mm256_and_si256(fc, tm));
}

/* *lo, *x += two leaves' words e (lanes: leaf j's lo >> 2 and hi, leaf j + 1's) times the
 * table's four entries at tab: swapped within their lane pairs (0x4e; outputs 2j + 1, 2j),
 * and for the cross terms their halves too (0x1b: fss_avx2_mac_sw). */
static inline __attribute__((always_inline)) V256_TARGET void pair_mac(__m256i e, const uint64_t *tab, __m256i *lo,
                                                                       __m256i *x)
{
    const __m256i tv = _mm256_loadu_si256((const __m256i *)tab);
    fss_avx2_mac_sw(e, _mm256_shuffle_epi32(tv, 0x4e), _mm256_shuffle_epi32(tv, 0x1b), lo, x);
}

V256_TARGET uint64_t fss_vaes256_leaf_dot(const fss_block *S, const uint8_t *t, size_t leaves, int pairs, fss_block f,
                                          const uint64_t *tab, const uint64_t *tab2, uint64_t *dot2)
{
    __m256i lo = _mm256_setzero_si256(), x = _mm256_setzero_si256(), lo2 = lo, x2 = lo;
    uint64_t s = 0, s2 = 0;
    size_t j = 0;
    if (pairs) { /* a register two leaves (lo, hi)(lo, hi): outputs 2j + 1 (lo >> 2, f.hi) and 2j (hi, f.lo) */
        const __m256i fc = _mm256_set_epi64x((long long)f.lo, (long long)f.hi, (long long)f.lo, (long long)f.hi);
        for (; j + 16 <= leaves; j += 16) { /* sixteen leaves' bits a load, their masks (0 - t) a shuffle each */
            const __m256i mb = _mm256_broadcastsi128_si256(
                _mm_sub_epi8(_mm_setzero_si128(), _mm_loadu_si128((const __m128i *)(t + j))));
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++) {
                const size_t jj = j + 2 * (size_t)i;
                const __m256i tm = _mm256_shuffle_epi8( /* t_jj's mask in lanes 0, 1; t_jj+1's in 2, 3 */
                    mb, _mm256_set_m128i(_mm_set1_epi8((char)(2 * i + 1)), _mm_set1_epi8((char)(2 * i))));
                const __m256i e = pair_words(S + jj, tm, fc);
                pair_mac(e, tab + 2 * jj, &lo, &x);
                if (tab2)
                    pair_mac(e, tab2 + 2 * jj, &lo2, &x2);
            }
        }
        for (; j + 2 <= leaves; j += 2) { /* the rest (fewer than sixteen leaves) */
            const int tt = (t[j] | t[j + 1] << 16) * 0x101; /* bytes t_j, t_j, t_j+1, t_j+1 */
            const __m256i tm = _mm256_sub_epi64(_mm256_setzero_si256(), _mm256_cvtepu8_epi64(_mm_cvtsi32_si128(tt)));
            const __m256i e = pair_words(S + j, tm, fc);
            pair_mac(e, tab + 2 * j, &lo, &x);
            if (tab2)
                pair_mac(e, tab2 + 2 * j, &lo2, &x2);
        }
        for (; j < leaves; j++) {
            const uint64_t m = (uint64_t)0 - t[j], e0 = S[j].hi + (f.lo & m), e1 = (S[j].lo >> 2) + (f.hi & m);
            s += e0 * tab[2 * j] + e1 * tab[2 * j + 1];
            if (tab2)
                s2 += e0 * tab2[2 * j] + e1 * tab2[2 * j + 1];
        }
    } else { /* a word a leaf, its hi: four leaves a register */
        const __m256i fc = _mm256_set1_epi64x((long long)f.lo);
        for (; j + 4 <= leaves; j += 4) {
            uint32_t tt;
            memcpy(&tt, t + j, 4);
            const __m256i m =
                _mm256_sub_epi64(_mm256_setzero_si256(), _mm256_cvtepu8_epi64(_mm_cvtsi32_si128((int)tt)));
            const __m256i hi = _mm256_permute4x64_epi64(
                _mm256_unpackhi_epi64(_mm256_loadu_si256((const __m256i *)(S + j)),
                                      _mm256_loadu_si256((const __m256i *)(S + j + 2))),
                0xd8); /* (hi_j, hi_j+2, hi_j+1, hi_j+3) in order */
            const __m256i e = _mm256_add_epi64(hi, _mm256_and_si256(fc, m));
            fss_avx2_mac(e, _mm256_loadu_si256((const __m256i *)(tab + j)), &lo, &x);
            if (tab2)
                fss_avx2_mac(e, _mm256_loadu_si256((const __m256i *)(tab2 + j)), &lo2, &x2);
        }
        for (; j < leaves; j++) {
            const uint64_t e = S[j].hi + (f.lo & ((uint64_t)0 - t[j]));
            s += e * tab[j];
            if (tab2)
                s2 += e * tab2[j];
        }
    }
    if (tab2)
        *dot2 = s2 + fss_avx2_mac_sum(lo2, x2);
    return s + fss_avx2_mac_sum(lo, x);
}

#else /* not x86-64 with GCC or clang: never available, never called */

int fss_vaes256_available(void) { return 0; }

void fss_vaes256_ecb(const fss_block *in, fss_block *out, size_t n)
{
    (void)in, (void)out, (void)n;
    FSS_ASSERT(!"VAES-256 path called where it is not built");
}
void fss_vaes256_dpf_walk(const fss_dpf_keys *k, size_t i0, size_t m, const uint64_t *x, fss_block *S, unsigned *t,
                          unsigned *acc)
{
    (void)k, (void)i0, (void)m, (void)x, (void)S, (void)t, (void)acc;
    FSS_ASSERT(!"VAES-256 path called where it is not built");
}
uint64_t fss_vaes256_leaf_dot(const fss_block *S, const uint8_t *t, size_t leaves, int pairs, fss_block f,
                              const uint64_t *tab, const uint64_t *tab2, uint64_t *dot2)
{
    (void)S, (void)t, (void)leaves, (void)pairs, (void)f, (void)tab, (void)tab2, (void)dot2;
    FSS_ASSERT(!"VAES-256 path called where it is not built");
    return 0;
}
void fss_vaes256_dpf_expand(const fss_dpf_keys *k, size_t i0, size_t nq, int depth, fss_block *S, uint8_t *t)
{
    (void)k, (void)i0, (void)nq, (void)depth, (void)S, (void)t;
    FSS_ASSERT(!"VAES-256 path called where it is not built");
}
void fss_vaes256_dcf_eval(const fss_dcf_keys *k, size_t i0, size_t m, const uint64_t *x, uint64_t *out)
{
    (void)k, (void)i0, (void)m, (void)x, (void)out;
    FSS_ASSERT(!"VAES-256 path called where it is not built");
}
void fss_vaes256_ctr(const fss_aes_key *key, uint64_t block, void *out, size_t n)
{
    (void)key, (void)block, (void)out, (void)n;
    FSS_ASSERT(!"VAES-256 path called where it is not built");
}
void fss_vaes256_dcf_keygen(fss_dcf_keys *k0, fss_dcf_keys *k1, size_t i0, size_t m, const uint64_t *alpha,
                            const uint64_t *beta, const fss_block *roots)
{
    (void)k0, (void)k1, (void)i0, (void)m, (void)alpha, (void)beta, (void)roots;
    FSS_ASSERT(!"VAES-256 path called where it is not built");
}
void fss_vaes256_dpf_keygen_walk(fss_dpf_keys *k0, fss_dpf_keys *k1, size_t i0, size_t m, const uint64_t *alpha,
                                 const fss_block *roots, fss_block (*S)[2], unsigned (*t)[2])
{
    (void)k0, (void)k1, (void)i0, (void)m, (void)alpha, (void)roots, (void)S, (void)t;
    FSS_ASSERT(!"VAES-256 path called where it is not built");
}

#endif
