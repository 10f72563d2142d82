/* AES-128 tables and key schedule for the portable body in fss/aes.h. */
#include "fss/aes.h"

#include <pthread.h>
#include <string.h>

static fss_aes_tables g_tables;
static pthread_once_t g_tables_once = PTHREAD_ONCE_INIT;

static uint8_t gf_mul(uint8_t a, uint8_t b)
{
    uint8_t p = 0;
    while (b) {
        if (b & 1)
            p ^= a;
        a = (uint8_t)((a << 1) ^ ((a & 0x80) ? 0x1b : 0));
        b >>= 1;
    }
    return p;
}

static uint8_t rotl8(uint8_t x, int r) { return (uint8_t)((x << r) | (x >> (8 - r))); }
static uint32_t rotr32(uint32_t x, int r) { return r ? (x >> r) | (x << (32 - r)) : x; }

/* S-box from its definition (FIPS-197 section 5.1.1): inverse in GF(2^8), then the
 * affine map. Computing it avoids 1 KiB of transcribed constants; the known-answer
 * test proves the result. */
static void tables_compute(void)
{
    uint8_t sbox[256];
    for (int x = 0; x < 256; x++) {
        uint8_t inv = 0;
        for (int y = 1; y < 256 && x; y++)
            if (gf_mul((uint8_t)x, (uint8_t)y) == 1) {
                inv = (uint8_t)y;
                break;
            }
        sbox[x] = (uint8_t)(inv ^ rotl8(inv, 1) ^ rotl8(inv, 2) ^ rotl8(inv, 3) ^ rotl8(inv, 4) ^ 0x63);
    }
    for (int x = 0; x < 256; x++) {
        uint8_t s = sbox[x];
        uint32_t w = ((uint32_t)gf_mul(s, 2) << 24) | ((uint32_t)s << 16) | ((uint32_t)s << 8) |
                     (uint32_t)gf_mul(s, 3);
        for (int j = 0; j < 4; j++)
            g_tables.te[j][x] = rotr32(w, 8 * j);
        g_tables.sbox[x] = s;
    }
}

const fss_aes_tables *fss_aes_tables_get(void)
{
    pthread_once(&g_tables_once, tables_compute);
    return &g_tables;
}

void fss_aes_key_expand(fss_aes_key *k, const uint8_t key[16])
{
    const fss_aes_tables *T = fss_aes_tables_get();
    uint32_t *w = k->rk;
    for (int i = 0; i < 4; i++)
        w[i] = ((uint32_t)key[4 * i] << 24) | ((uint32_t)key[4 * i + 1] << 16) |
               ((uint32_t)key[4 * i + 2] << 8) | key[4 * i + 3];
    uint32_t rcon = 0x01;
    for (int i = 4; i < FSS_AES_RK_WORDS; i++) {
        uint32_t t = w[i - 1];
        if (i % 4 == 0) {
            t = (t << 8) | (t >> 24);
            t = (T->sbox[t >> 24] << 24) | (T->sbox[(t >> 16) & 0xff] << 16) |
                (T->sbox[(t >> 8) & 0xff] << 8) | T->sbox[t & 0xff];
            t ^= rcon << 24;
            rcon = gf_mul((uint8_t)rcon, 2);
        }
        w[i] = w[i - 4] ^ t;
    }
}
