/* CRC32C with runtime dispatch. The portable path is slicing-by-8 (Kounavis and Berry,
 * "A Systematic Approach to Building High Performance Software-Based CRC Generators",
 * ISCC 2005); the SSE4.2 path feeds eight bytes per crc32 instruction, in three
 * independent streams on long inputs (about 20 GB/s a core: a party checks every key byte). */
#include "crc32c.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define FSS_CRC32C_X86 1
#include <nmmintrin.h>
#else
#define FSS_CRC32C_X86 0
#endif

#define CRC32C_POLY 0x82F63B78u /* Castagnoli, bit-reflected */

static uint32_t crc_table[8][256];
static int crc_sse42;
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

#if FSS_CRC32C_X86
static void shift_init(void);
#endif

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (CRC32C_POLY & (0u - (c & 1u)));
        crc_table[0][i] = c;
    }
    for (int t = 1; t < 8; t++)
        for (int i = 0; i < 256; i++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
#if FSS_CRC32C_X86
    __builtin_cpu_init();
    crc_sse42 = __builtin_cpu_supports("sse4.2") ? 1 : 0;
    if (crc_sse42)
        shift_init();
#endif
}

int fss_crc32c_have_sse42(void)
{
    pthread_once(&crc_once, crc_init);
    return crc_sse42;
}

uint32_t fss_crc32c_portable(uint32_t crc, const void *data, size_t n)
{
    pthread_once(&crc_once, crc_init);
    const uint8_t *p = data;
    uint32_t c = ~crc;
    while (n && ((uintptr_t)p & 7)) {
        c = (c >> 8) ^ crc_table[0][(c ^ *p++) & 0xff];
        n--;
    }
    while (n >= 8) {
        /* Byte-wise loads keep this endian-independent. */
        uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        c = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^ crc_table[5][(lo >> 16) & 0xff] ^
            crc_table[4][lo >> 24] ^ crc_table[3][p[4]] ^ crc_table[2][p[5]] ^ crc_table[1][p[6]] ^
            crc_table[0][p[7]];
        p += 8;
        n -= 8;
    }
    while (n--)
        c = (c >> 8) ^ crc_table[0][(c ^ *p++) & 0xff];
    return ~c;
}

#if FSS_CRC32C_X86
/* Three streams: the crc32 instruction takes 3 cycles and issues one a cycle, so one
 * dependent chain runs at a third of its rate. A run of 3 x CRC_LANE bytes is three
 * independent CRCs (the last two from state 0), joined by the CRC's linearity:
 * state(s, A B) = shift(state(s, A), |B|) ^ state(0, B), where shift(v, L) is the state
 * after L zero bytes from v, a linear map on 32 bits kept as four byte tables. */
#define CRC_LANE 8192
static uint32_t crc_shift[4][256]; /* shift(v, CRC_LANE), by the bytes of v */

__attribute__((target("sse4.2"))) static uint32_t shift_slow(uint32_t v)
{
    uint64_t c = v;
    for (int i = 0; i < CRC_LANE / 8; i++)
        c = _mm_crc32_u64(c, 0);
    return (uint32_t)c;
}

static void shift_init(void)
{
    uint32_t basis[32];
    for (int b = 0; b < 32; b++)
        basis[b] = shift_slow(1u << b);
    for (int k = 0; k < 4; k++)
        for (int v = 0; v < 256; v++) {
            uint32_t r = 0;
            for (int b = 0; b < 8; b++)
                if (v >> b & 1)
                    r ^= basis[8 * k + b];
            crc_shift[k][v] = r;
        }
}

static inline uint32_t shift_lane(uint32_t v)
{
    return crc_shift[0][v & 0xff] ^ crc_shift[1][v >> 8 & 0xff] ^ crc_shift[2][v >> 16 & 0xff] ^ crc_shift[3][v >> 24];
}

__attribute__((target("sse4.2"))) uint32_t fss_crc32c_sse42(uint32_t crc, const void *data, size_t n)
{
    pthread_once(&crc_once, crc_init);
    const uint8_t *p = data;
    uint64_t c = (uint32_t)~crc;
    while (n && ((uintptr_t)p & 7)) {
        c = _mm_crc32_u8((uint32_t)c, *p++);
        n--;
    }
    while (n >= 3 * CRC_LANE) {
        uint64_t c1 = 0, c2 = 0;
        for (size_t i = 0; i < CRC_LANE; i += 8) {
            uint64_t v0, v1, v2;
            memcpy(&v0, p + i, 8);
            memcpy(&v1, p + CRC_LANE + i, 8);
            memcpy(&v2, p + 2 * CRC_LANE + i, 8);
            c = _mm_crc32_u64(c, v0);
            c1 = _mm_crc32_u64(c1, v1);
            c2 = _mm_crc32_u64(c2, v2);
        }
        c = shift_lane(shift_lane((uint32_t)c) ^ (uint32_t)c1) ^ (uint32_t)c2;
        p += 3 * CRC_LANE;
        n -= 3 * CRC_LANE;
    }
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
        p += 8;
        n -= 8;
    }
    while (n--)
        c = _mm_crc32_u8((uint32_t)c, *p++);
    return ~(uint32_t)c;
}
#else
uint32_t fss_crc32c_sse42(uint32_t crc, const void *data, size_t n)
{
    return fss_crc32c_portable(crc, data, n);
}
#endif

uint32_t fss_crc32c(uint32_t crc, const void *data, size_t n)
{
    pthread_once(&crc_once, crc_init);
    return crc_sse42 ? fss_crc32c_sse42(crc, data, n) : fss_crc32c_portable(crc, data, n);
}

/* GF(2) 32 x 32 matrices as 32 columns: mat times vec, and the square of mat. */
static uint32_t gf2_times(const uint32_t *mat, uint32_t vec)
{
    uint32_t sum = 0;
    for (; vec; vec >>= 1, mat++)
        if (vec & 1)
            sum ^= *mat;
    return sum;
}

static void gf2_square(uint32_t *sq, const uint32_t *mat)
{
    for (int n = 0; n < 32; n++)
        sq[n] = gf2_times(mat, mat[n]);
}

uint32_t fss_crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b)
{
    if (len_b == 0)
        return crc_a;
    uint32_t even[32], odd[32]; /* the maps of 2^k zero bits, alternately */
    odd[0] = CRC32C_POLY;       /* one zero bit: shift right, folding in the polynomial */
    for (int n = 1; n < 32; n++)
        odd[n] = 1u << (n - 1);
    gf2_square(even, odd); /* two bits */
    gf2_square(odd, even); /* four bits */
    for (;;) { /* then a byte, two, four, ...: apply those whose bit is set in len_b */
        gf2_square(even, odd);
        if (len_b & 1)
            crc_a = gf2_times(even, crc_a);
        if (!(len_b >>= 1))
            break;
        gf2_square(odd, even);
        if (len_b & 1)
            crc_a = gf2_times(odd, crc_a);
        if (!(len_b >>= 1))
            break;
    }
    return crc_a ^ crc_b;
}
