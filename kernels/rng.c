#include "fss/rng.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/evp.h>

#include "cpu_vaes.h"
#include "cpu_vaes256.h"
#include "fss/ring.h"

/* With VAES the keystream comes from fss_vaes_ctr (AVX-512) or fss_vaes256_ctr (AVX2),
 * written in place (about 2.5x OpenSSL's AES-NI CTR with AVX-512, and no zeroing pass
 * first); without, from OpenSSL's CTR over zeros. The bytes are the same. */
struct fss_rng {
    EVP_CIPHER_CTX *evp; /* no VAES */
    fss_aes_key key;     /* VAES: the key's schedule, */
    uint64_t block;      /* the counter at the stream's start */
    uint64_t pos;        /* and the bytes taken since */
};

static pthread_once_t g_vaes_once = PTHREAD_ONCE_INIT;
static int g_vaes; /* 2: AVX-512 VAES, 1: AVX2 VAES, 0: neither */
static void vaes_init(void) { g_vaes = fss_vaes_available() ? 2 : fss_vaes256_available() ? 1 : 0; }

static void vaes_ctr(const fss_aes_key *key, uint64_t block, void *out, size_t n)
{
    (g_vaes == 2 ? fss_vaes_ctr : fss_vaes256_ctr)(key, block, out, n);
}

fss_status fss_os_random_u64(uint64_t *out)
{
    uint8_t *p = (uint8_t *)out;
    size_t got = 0;
    while (got < sizeof *out) {
        ssize_t r = getrandom(p + got, sizeof *out - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return FSS_E_CRYPTO;
        got += (size_t)r;
    }
    return FSS_OK;
}

fss_status fss_rng_new_key(fss_rng **out, const uint8_t key[16]) { return fss_rng_new_key_at(out, key, 0); }

fss_status fss_rng_new_key_at(fss_rng **out, const uint8_t key[16], uint64_t block)
{
    *out = NULL;
    uint8_t iv[16] = {0}; /* the 128-bit big-endian counter CTR mode increments */
    for (int i = 0; i < 8; i++)
        iv[15 - i] = (uint8_t)(block >> (8 * i));
    fss_rng *r = (fss_rng *)calloc(1, sizeof *r);
    if (!r)
        return FSS_E_NOMEM;
    pthread_once(&g_vaes_once, vaes_init);
    if (g_vaes) {
        fss_aes_key_expand(&r->key, key);
        r->block = block;
        *out = r;
        return FSS_OK;
    }
    r->evp = EVP_CIPHER_CTX_new();
    if (!r->evp || EVP_EncryptInit_ex(r->evp, EVP_aes_128_ctr(), NULL, key, iv) != 1) {
        fss_rng_free(r);
        return FSS_E_CRYPTO;
    }
    *out = r;
    return FSS_OK;
}

fss_status fss_rng_new_os(fss_rng **out)
{
    uint8_t key[16];
    size_t got = 0;
    while (got < sizeof key) {
        ssize_t r = getrandom(key + got, sizeof key - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return FSS_E_CRYPTO;
        got += (size_t)r;
    }
    fss_status s = fss_rng_new_key(out, key);
    fss_memzero(key, sizeof key);
    return s;
}

fss_status fss_rng_new_seeded(fss_rng **out, uint64_t seed)
{
    uint8_t key[16] = {0};
    memcpy(key, &seed, sizeof seed);
    memcpy(key + 8, "fss-test", 8); /* domain label: test streams only */
    return fss_rng_new_key(out, key);
}

void fss_rng_free(fss_rng *r)
{
    if (!r)
        return;
    EVP_CIPHER_CTX_free(r->evp); /* OpenSSL wipes the key schedule */
    fss_memzero(&r->key, sizeof r->key);
    free(r);
}

/* n bytes of the keystream from byte r->pos on: a partial block's rest, whole blocks in
 * place, a partial block's start. */
static void vaes_bytes(fss_rng *r, uint8_t *p, size_t n)
{
    if (!n)
        return;
    fss_block b;
    uint64_t at = r->block + r->pos / 16;
    const size_t off = (size_t)(r->pos % 16);
    FSS_ASSERT(at >= r->block && at + (off + n + 15) / 16 >= at); /* no carry past 2^64 blocks (rng.h) */
    r->pos += n;
    if (off) {
        const size_t take = n < 16 - off ? n : 16 - off;
        vaes_ctr(&r->key, at++, &b, 1);
        memcpy(p, (const uint8_t *)&b + off, take);
        p += take, n -= take;
    }
    vaes_ctr(&r->key, at, p, n / 16);
    if (n % 16) {
        vaes_ctr(&r->key, at + n / 16, &b, 1);
        memcpy(p + n / 16 * 16, &b, n % 16);
    }
    fss_memzero(&b, sizeof b);
}

fss_status fss_rng_bytes(fss_rng *r, void *buf, size_t n)
{
    if (!r->evp) {
        vaes_bytes(r, (uint8_t *)buf, n);
        return FSS_OK;
    }
    /* CTR keystream = encryption of zeros: zero the buffer, encrypt it in place. */
    unsigned char *p = (unsigned char *)buf;
    memset(p, 0, n);
    const size_t step = (size_t)1 << 30;
    for (size_t done = 0; done < n; done += step) {
        size_t m = n - done < step ? n - done : step;
        int outl = 0;
        if (EVP_EncryptUpdate(r->evp, p + done, &outl, p + done, (int)m) != 1 || (size_t)outl != m)
            return FSS_E_CRYPTO;
    }
    return FSS_OK;
}

fss_status fss_rng_ring(fss_rng *r, uint64_t *out, size_t count, int n)
{
    if (n < 1 || n > 64)
        return FSS_E_ARG;
    fss_status s = fss_rng_bytes(r, out, count * sizeof *out);
    if (s != FSS_OK)
        return s;
    uint64_t m = fss_ring_mask(n);
    for (size_t i = 0; n < 64 && i < count; i++)
        out[i] &= m;
    return FSS_OK;
}
