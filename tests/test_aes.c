/* AES and the PRG: the portable T-table body passes the FIPS-197 known answers and
 * equals OpenSSL (the CPU hot path) on random blocks; the MMO PRG pieces behave as
 * prg.h documents. */
#include <string.h>

#include <openssl/evp.h>

#include "check.h"
#include "cpu_vaes256.h"
#include "fss/aes.h"
#include "fss/ctx.h"
#include "fss/prg.h"

static void hex(const char *s, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        REQUIRE(sscanf(s + 2 * i, "%2x", &v) == 1);
        out[i] = (uint8_t)v;
    }
}

static fss_block block_of(const uint8_t b[16])
{
    fss_block x;
    memcpy(&x, b, 16);
    return x;
}

static void kat(const char *key, const char *pt, const char *ct)
{
    uint8_t k[16], p[16], c[16], got[16];
    hex(key, k, 16);
    hex(pt, p, 16);
    hex(ct, c, 16);
    fss_aes_key ek;
    fss_aes_key_expand(&ek, k);
    fss_block o = fss_aes_encrypt(fss_aes_tables_get(), ek.rk, block_of(p));
    memcpy(got, &o, 16);
    CHECK(memcmp(got, c, 16) == 0, "FIPS-197 vector key %s", key);
}

int main(void)
{
    fss_rng *rng = check_init("test_aes");

    /* FIPS-197 Appendix B and C.1. */
    kat("2b7e151628aed2a6abf7158809cf4f3c", "3243f6a8885a308d313198a2e0370734", "3925841d02dc09fbdc118597196a0b32");
    kat("000102030405060708090a0b0c0d0e0f", "00112233445566778899aabbccddeeff", "69c4e0d86a7b0430d8cdb78070b4c55a");

    /* Round keys: FIPS-197 A.1, the last word of the schedule of 2b7e...4f3c. */
    {
        uint8_t k[16];
        hex("2b7e151628aed2a6abf7158809cf4f3c", k, 16);
        fss_aes_key ek;
        fss_aes_key_expand(&ek, k);
        CHECK(ek.rk[43] == 0xb6630ca6u, "rk[43] = %08x", ek.rk[43]);
    }

    /* Portable body == OpenSSL through the context, fixed key, random blocks; 1, 31,
     * 32, 33 and 4099 blocks per call (boundaries of any internal batching). */
    fss_ctx *ctx;
    REQUIRE(fss_ctx_new(&ctx, 1) == FSS_OK);
    fss_aes_key fk;
    fss_aes_key_expand(&fk, fss_prg_fixed_key);
    /* te[0] replicated per bank, as the CUDA kernels lay it out (stride 32). */
    static uint32_t te0r[256 * 32];
    for (int x = 0; x < 256 * 32; x++)
        te0r[x] = fss_aes_tables_get()->te[0][x / 32];
    CHECK(fss_cpu_path_parse("vaes") == -1 && fss_cpu_path_parse("") == -1, "an unknown path name parsed");
    static const size_t sizes[] = {1, 3, 4, 5, 15, 16, 17, 31, 32, 33, 4099};
    const size_t ns = sizeof sizes / sizeof *sizes;
    for (size_t si = 0; si < 3 * ns; si++) {
        size_t n = sizes[si % ns];
        /* every CPU path of fss_ctx_aes the processor has: OpenSSL's, VAES-256, VAES-512 */
        const fss_cpu_path path = (fss_cpu_path)(si / ns);
        CHECK(fss_cpu_path_parse(fss_cpu_path_name(path)) == (int)path, "path %d's name", (int)path);
        if (!fss_cpu_path_available(path)) { /* refused, and the context keeps its path */
            const fss_cpu_path was = fss_ctx_cpu_path(ctx);
            CHECK(fss_ctx_set_cpu_path(ctx, path) == FSS_E_ARG && fss_ctx_cpu_path(ctx) == was,
                  "the %s path was not refused on a processor without it", fss_cpu_path_name(path));
            continue;
        }
        REQUIRE(fss_ctx_set_cpu_path(ctx, path) == FSS_OK);
        fss_block *in = malloc(n * 16), *out = malloc(n * 16);
        REQUIRE(in && out);
        REQUIRE(fss_rng_bytes(rng, in, n * 16) == FSS_OK);
        fss_ctx_reset_counters(ctx);
        REQUIRE(fss_ctx_aes(ctx, 0, in, out, n) == FSS_OK);
        CHECK(fss_ctx_aes_blocks(ctx) == n, "counter %llu for %zu blocks", (unsigned long long)fss_ctx_aes_blocks(ctx), n);
        size_t bad = 0;
        for (size_t i = 0; i < n; i++)
            bad += !fss_block_eq(out[i], fss_aes_encrypt(fss_aes_tables_get(), fk.rk, in[i]));
        CHECK(bad == 0, "%s path: %zu of %zu blocks differ from the portable body", fss_cpu_path_name(path), bad,
              n);
        /* The table replicated per bank, as the GPU reads it, lane by lane. */
        bad = 0;
        for (size_t i = 0; i < n; i++)
            bad += !fss_block_eq(out[i], fss_aes_encrypt_t0(te0r, 32, (unsigned)(i % 32), fk.rk, in[i]));
        CHECK(bad == 0, "bank-replicated AES: %zu of %zu blocks differ from OpenSSL", bad, n);
        /* in place */
        REQUIRE(fss_ctx_aes(ctx, 0, in, in, n) == FSS_OK);
        CHECK(memcmp(in, out, n * 16) == 0, "in-place AES differs (%zu blocks)", n);
        free(in);
        free(out);
    }

    /* Any other key too: portable body == OpenSSL EVP under a random key. */
    {
        uint8_t key[16], pt[16 * 64], ct[16 * 64];
        REQUIRE(fss_rng_bytes(rng, key, 16) == FSS_OK);
        REQUIRE(fss_rng_bytes(rng, pt, sizeof pt) == FSS_OK);
        EVP_CIPHER_CTX *e = EVP_CIPHER_CTX_new();
        int outl = 0;
        REQUIRE(e && EVP_EncryptInit_ex(e, EVP_aes_128_ecb(), NULL, key, NULL) == 1);
        EVP_CIPHER_CTX_set_padding(e, 0);
        REQUIRE(EVP_EncryptUpdate(e, ct, &outl, pt, sizeof pt) == 1 && outl == (int)sizeof pt);
        EVP_CIPHER_CTX_free(e);
        fss_aes_key ek;
        fss_aes_key_expand(&ek, key);
        for (int i = 0; i < 64; i++) {
            fss_block o = fss_aes_encrypt(fss_aes_tables_get(), ek.rk, block_of(pt + 16 * i));
            CHECK(memcmp(&o, ct + 16 * i, 16) == 0, "random key, block %d", i);
        }
    }

    /* PRG input: the two control bits never reach AES; tweaks separate outputs. */
    for (int i = 0; i < 1000; i++) {
        fss_block S;
        REQUIRE(fss_rng_bytes(rng, &S, 16) == FSS_OK);
        fss_block S2 = S;
        S2.lo ^= 3;
        CHECK(fss_block_eq(fss_prg_input(S, 0), fss_prg_input(S2, 0)), "u bits leak into the AES input");
        CHECK(!fss_block_eq(fss_prg_input(S, 0), fss_prg_input(S, 1)), "tweaks 0 and 1 collide");
        CHECK(!fss_block_eq(fss_prg_input(S, 1), fss_prg_input(S, 2)), "tweaks 1 and 2 collide");
        fss_block x = fss_prg_input(S, 5);
        CHECK(fss_block_eq(fss_prg_output(x, fss_aes_encrypt(fss_aes_tables_get(), fk.rk, x)),
                           fss_block_xor(fss_aes_encrypt(fss_aes_tables_get(), fk.rk, x), x)),
              "MMO feed-forward");
    }

    /* The RNG: a seeded stream replays; an OS-keyed one does not repeat it. */
    {
        fss_rng *a, *b, *c;
        uint8_t x[64], y[64], z[64];
        REQUIRE(fss_rng_new_seeded(&a, 42) == FSS_OK && fss_rng_new_seeded(&b, 42) == FSS_OK);
        REQUIRE(fss_rng_new_os(&c) == FSS_OK);
        REQUIRE(fss_rng_bytes(a, x, 64) == FSS_OK && fss_rng_bytes(b, y, 64) == FSS_OK && fss_rng_bytes(c, z, 64) == FSS_OK);
        CHECK(memcmp(x, y, 64) == 0, "seeded streams differ");
        CHECK(memcmp(x, z, 64) != 0, "OS-keyed stream equals a seeded one");
        uint64_t v[256];
        REQUIRE(fss_rng_ring(a, v, 256, 13) == FSS_OK);
        uint64_t orv = 0;
        for (int i = 0; i < 256; i++)
            orv |= v[i];
        CHECK(orv == 0x1fff, "fss_rng_ring(13 bits) covers bits %llx", (unsigned long long)orv);
        fss_rng_free(a);
        fss_rng_free(b);
        fss_rng_free(c);
    }

    /* The RNG's stream is OpenSSL's AES-128-CTR from the counter block on (VAES writes it
     * itself where the processor has it): random keys and blocks, taken in pieces of random
     * lengths (inside a block, across blocks, whole registers and their tails). */
    for (int trial = 0; trial < 40; trial++) {
        uint8_t key[16], iv[16] = {0};
        uint64_t block;
        REQUIRE(fss_rng_bytes(rng, key, 16) == FSS_OK && fss_rng_bytes(rng, &block, 8) == FSS_OK);
        block = trial % 4 == 0 ? 0 : trial % 4 == 1 ? (block >> 1) : block % 1000; /* (block + n < 2^64) */
        for (int i = 0; i < 8; i++)
            iv[15 - i] = (uint8_t)(block >> (8 * i));
        const size_t total = 16 * 4099 + 977;
        uint8_t *want = calloc(total, 1), *got = malloc(total);
        REQUIRE(want && got);
        EVP_CIPHER_CTX *e = EVP_CIPHER_CTX_new();
        int outl = 0;
        REQUIRE(e && EVP_EncryptInit_ex(e, EVP_aes_128_ctr(), NULL, key, iv) == 1);
        REQUIRE(EVP_EncryptUpdate(e, want, &outl, want, (int)total) == 1 && outl == (int)total);
        EVP_CIPHER_CTX_free(e);
        fss_rng *r;
        REQUIRE(fss_rng_new_key_at(&r, key, block) == FSS_OK);
        for (size_t at = 0; at < total;) {
            uint64_t pick;
            REQUIRE(fss_rng_bytes(rng, &pick, 8) == FSS_OK);
            size_t n = pick % 5 == 0 ? (size_t)(pick >> 8) % 3000 : (size_t)(pick >> 8) % 40;
            n = n < total - at ? n : total - at;
            REQUIRE(fss_rng_bytes(r, got + at, n) == FSS_OK);
            at += n;
        }
        fss_rng_free(r);
        CHECK(memcmp(got, want, total) == 0, "fss_rng's stream differs from AES-128-CTR (block %llu)",
              (unsigned long long)block);
        free(want);
        free(got);
    }

    /* The AVX2 path's CTR directly (the RNG takes AVX-512's where the processor has it):
     * random keys and first blocks, counts around its register groups (16 blocks) and odd
     * tails, against OpenSSL's CTR over zeros. */
    if (fss_vaes256_available())
        for (int trial = 0; trial < 40; trial++) {
            uint8_t key[16], iv[16] = {0};
            uint64_t block, pick;
            REQUIRE(fss_rng_bytes(rng, key, 16) == FSS_OK && fss_rng_bytes(rng, &block, 8) == FSS_OK &&
                    fss_rng_bytes(rng, &pick, 8) == FSS_OK);
            block = trial % 3 == 0 ? 0 : block >> 1; /* (block + n < 2^64) */
            static const size_t ctr_sizes[] = {1, 2, 3, 15, 16, 17, 31, 33};
            const size_t n = trial < 8 ? ctr_sizes[trial] : (size_t)(pick % 300);
            for (int i = 0; i < 8; i++)
                iv[15 - i] = (uint8_t)(block >> (8 * i));
            uint8_t *want = calloc(16 * n + 16, 1), *got = malloc(16 * n + 16);
            REQUIRE(want && got);
            memset(got, 0xa5, 16 * n + 16);
            EVP_CIPHER_CTX *e = EVP_CIPHER_CTX_new();
            int outl = 0;
            REQUIRE(e && EVP_EncryptInit_ex(e, EVP_aes_128_ctr(), NULL, key, iv) == 1);
            REQUIRE(EVP_EncryptUpdate(e, want, &outl, want, (int)(16 * n)) == 1 && outl == (int)(16 * n));
            EVP_CIPHER_CTX_free(e);
            fss_aes_key k;
            fss_aes_key_expand(&k, key);
            fss_vaes256_ctr(&k, block, got, n);
            CHECK(memcmp(got, want, 16 * n) == 0, "fss_vaes256_ctr differs from AES-128-CTR (block %llu, %zu blocks)",
                  (unsigned long long)block, n);
            size_t past = 0; /* the block after the last: untouched */
            for (size_t j = 0; j < 16; j++)
                past += got[16 * n + j] != 0xa5;
            CHECK(past == 0, "fss_vaes256_ctr wrote past its %zu blocks", n);
            free(want);
            free(got);
        }

    fss_ctx_free(ctx);
    fss_rng_free(rng);
    return check_summary();
}
