#include "cpu_vaes256.h"

#include <pthread.h>
#include <string.h>

#include "fss/aes.h"
#include "fss/prg.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>

#include "cpu_avx2_mac.h"

#define V256_TARGET __attribute__((target("avx2,aes,vaes")))
#define GROUP 8 /* parents in flight: AES latency 4 cycles, two instructions a cycle */
/* aes_rounds' register barrier names eight states; children_run packs eight parents' bits
 * in a word and their children's in two */
_Static_assert(GROUP == 8, "aes_rounds and children_run are written for eight registers");

static __m256i g_rk[FSS_AES_ROUNDS + 1];
static pthread_once_t g_rk_once = PTHREAD_ONCE_INIT;

/* The PRG's round keys, the FIPS-197 schedule's bytes in order, in both 128-bit lanes. */
static V256_TARGET void rk_init(void)
{
    fss_aes_key k;
    fss_aes_key_expand(&k, fss_prg_fixed_key);
    for (int r = 0; r <= FSS_AES_ROUNDS; r++)
        g_rk[r] = _mm256_broadcastsi128_si256(_mm_set_epi32((int)fss_bswap32(k.rk[4 * r + 3]),
                                                            (int)fss_bswap32(k.rk[4 * r + 2]),
                                                            (int)fss_bswap32(k.rk[4 * r + 1]),
                                                            (int)fss_bswap32(k.rk[4 * r])));
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

/* AES rounds 0-9 of GROUP registers in place (the last round is the caller's). */
static inline __attribute__((always_inline)) V256_TARGET void aes_rounds(__m256i *h)
{
#pragma GCC unroll 8
    for (int g = 0; g < GROUP; g++)
        h[g] = _mm256_xor_si256(h[g], g_rk[0]);
#pragma GCC unroll 9
    for (int r = 1; r < FSS_AES_ROUNDS; r++) {
        const __m256i rk = g_rk[r];
#pragma GCC unroll 8
        for (int g = 0; g < GROUP; g++)
            h[g] = _mm256_aesenc_epi128(h[g], rk);
        /* all GROUP states live in registers from round to round: left to itself, GCC runs
         * one state's rounds after another's (fewer registers), a chain of AES latency */
        __asm__("" : "+x"(h[0]), "+x"(h[1]), "+x"(h[2]), "+x"(h[3]), "+x"(h[4]), "+x"(h[5]), "+x"(h[6]), "+x"(h[7]));
    }
}

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

/* A parent's two children: their AES state h (the inputs) and their last round's key K.
 * The parent S broadcast to both lanes, its seed (S.lo's two control bits cleared): the
 * children's AES inputs (fss_prg_input) are x = (S.hi ^ c, S.hi ^ seed.lo), c = 0, 1, and
 * their blocks H = AES(x) ^ x, corrected by cw when the parent's bit b is set: what is
 * known before the last round rides in its key. */
static inline __attribute__((always_inline)) V256_TARGET void child_pair(const fss_block *S, uint64_t b, __m256i cw,
                                                                         __m256i *h, __m256i *K)
{
    const __m256i P = _mm256_and_si256(_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)S)),
                                       _mm256_set_epi64x(-1, ~3LL, -1, ~3LL));
    const __m256i x = _mm256_xor_si256(_mm256_xor_si256(_mm256_unpackhi_epi64(P, P), _mm256_slli_si256(P, 8)),
                                       _mm256_set_epi64x(0, 1, 0, 0));
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

/* The children of GROUP parents of one tree's level in a row, S[j0 ..] (bits t[j0 ..]), to
 * S[2 j0 ..] and t[2 j0 ..] (in place: all are read before any is written); cw the level's
 * correction in both lanes, bl and br its children's control-bit corrections. */
static inline __attribute__((always_inline)) V256_TARGET void children_run(fss_block *S, uint8_t *t, size_t j0,
                                                                           __m256i cw, unsigned bl, unsigned br)
{
    __m256i h[GROUP], K[GROUP];
    uint64_t tb, tn[2] = {0, 0};
    memcpy(&tb, t + j0, 8);
#pragma GCC unroll 8
    for (int g = 0; g < GROUP; g++) {
        const uint64_t b = tb >> (8 * g) & 1u;
        tn[g / 4] |= child_bits(S[j0 + (size_t)g].lo, b, bl, br) << (16 * (g % 4));
        child_pair(S + j0 + g, b, cw, &h[g], &K[g]);
    }
    aes_rounds(h);
#pragma GCC unroll 8
    for (int g = 0; g < GROUP; g++)
        _mm256_storeu_si256((__m256i *)(S + 2 * (j0 + (size_t)g)), _mm256_aesenclast_epi128(h[g], K[g]));
    memcpy(t + 2 * j0, tn, 16);
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
            const __m256i c = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)&scw[q]));
            const unsigned l = (unsigned)(k->tcw_l[i0 + q] >> lv) & 1u, r = (unsigned)(k->tcw_r[i0 + q] >> lv) & 1u;
            for (size_t j0 = nodes; j0 > 0;) {
                j0 -= GROUP;
                children_run(S + (q << depth), t + (q << depth), j0, c, l, r);
            }
        }
    }
}

/* Two instances' words (a, b) as the lo lanes of their blocks' register: (a, 0, b, 0). */
static inline __attribute__((always_inline)) V256_TARGET __m256i lo_lanes(uint64_t a, uint64_t b)
{
    return _mm256_set_epi64x(0, (long long)b, 0, (long long)a);
}

V256_TARGET void fss_vaes256_dpf_walk(const fss_dpf_keys *k, size_t i0, size_t m, const uint64_t *x, fss_block *S,
                                      unsigned *t, unsigned *acc)
{
    pthread_once(&g_rk_once, rk_init);
    const int n = k->p.n, depth = FSS_DPF_DEPTH(n, k->p.early);
    const __m256i one = lo_lanes(1, 1), seed = _mm256_set_epi64x(-1, ~3LL, -1, ~3LL);
    for (size_t j0 = 0; j0 < m; j0 += 2 * GROUP) { /* 2 GROUP instances: two a register */
        size_t idx[2 * GROUP];
        for (int e = 0; e < 2 * GROUP; e++) /* past m: the last instance again, not stored */
            idx[e] = i0 + (j0 + (size_t)e < m ? j0 + (size_t)e : m - 1);
        /* each register's two instances: node, bit, comparison bits, x and the bits' corrections
         * in its lo lanes (the bit in bit 0) */
        __m256i v[GROUP], tv[GROUP], av[GROUP], xv[GROUP], lw[GROUP], rw[GROUP];
        for (int g = 0; g < GROUP; g++) {
            const size_t a = idx[2 * g], b = idx[2 * g + 1];
            v[g] = _mm256_set_m128i(_mm_loadu_si128((const __m128i *)&k->root[b]),
                                    _mm_loadu_si128((const __m128i *)&k->root[a]));
            tv[g] = lo_lanes((uint64_t)k->party, (uint64_t)k->party);
            av[g] = _mm256_setzero_si256();
            xv[g] = lo_lanes(x[a], x[b]);
            lw[g] = lo_lanes(k->tcw_l[a], k->tcw_l[b]);
            rw[g] = lo_lanes(k->tcw_r[a], k->tcw_r[b]);
        }
        for (int lv = 0; lv < depth; lv++) {
            const fss_block *scw = k->scw + (size_t)lv * k->count;
            __m256i h[GROUP], K[GROUP];
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
                /* the AES input (S.hi ^ c, S.hi ^ seed.lo), its correction when t is set */
                const __m256i P = _mm256_and_si256(v[g], seed);
                const __m256i xin =
                    _mm256_xor_si256(_mm256_xor_si256(_mm256_unpackhi_epi64(P, P), _mm256_slli_si256(P, 8)), c);
                const __m256i cw = _mm256_set_m128i(_mm_loadu_si128((const __m128i *)&scw[idx[2 * g + 1]]),
                                                    _mm_loadu_si128((const __m128i *)&scw[idx[2 * g]]));
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

V256_TARGET uint64_t fss_vaes256_leaf_dot(const fss_block *S, const uint8_t *t, size_t leaves, int pairs, fss_block f,
                                          const uint64_t *tab, const uint64_t *tab2, uint64_t *dot2)
{
    __m256i lo = _mm256_setzero_si256(), x = _mm256_setzero_si256(), lo2 = lo, x2 = lo;
    uint64_t s = 0, s2 = 0;
    size_t j = 0;
    if (pairs) { /* a register two leaves (lo, hi)(lo, hi): outputs 2j + 1 (lo >> 2, f.hi) and 2j (hi, f.lo) */
        const __m256i sh = _mm256_set_epi64x(0, 2, 0, 2), fc = _mm256_set_epi64x((long long)f.lo, (long long)f.hi,
                                                                              (long long)f.lo, (long long)f.hi);
        for (; j + 2 <= leaves; j += 2) {
            const int tt = (t[j] | t[j + 1] << 16) * 0x101; /* bytes t_j, t_j, t_j+1, t_j+1 */
            const __m256i tm = _mm256_sub_epi64(_mm256_setzero_si256(), _mm256_cvtepu8_epi64(_mm_cvtsi32_si128(tt)));
            const __m256i e = _mm256_add_epi64(
                _mm256_srlv_epi64(_mm256_loadu_si256((const __m256i *)(S + j)), sh), _mm256_and_si256(fc, tm));
            /* the table's entries swapped within their lane pairs */
            fss_avx2_mac(e, _mm256_shuffle_epi32(_mm256_loadu_si256((const __m256i *)(tab + 2 * j)), 0x4e), &lo, &x);
            if (tab2)
                fss_avx2_mac(e, _mm256_shuffle_epi32(_mm256_loadu_si256((const __m256i *)(tab2 + 2 * j)), 0x4e), &lo2, &x2);
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

#endif
