/* Key serialization: the documented byte layout round-trips (keys read back evaluate
 * to the same shares), sizes equal the FSS_*_KEY_BYTES macros, and stray bits in
 * padding are refused as malformed; the same for the layout without roots (the
 * runtime's: the blocks less their root fields, the roots set by the caller). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "fss/dcf.h"
#include "fss/dpf.h"
#include "fss/keyparse_body.h"

static fss_ctx *ctx;
static fss_rng *rng;

/* The per-instance readers the GPU runs, over a whole batch: 1 when no instance showed
 * stray bits. */
static int dpf_parse_all(fss_dpf_keys *k, const uint8_t *in)
{
    int ok = 1;
    for (size_t i = 0; i < k->count; i++)
        ok &= fss_dpf_parse_one(k, in, i);
    return ok;
}

static int dcf_parse_all(fss_dcf_keys *k, const uint8_t *in)
{
    int ok = 1;
    for (size_t i = 0; i < k->count; i++)
        ok &= fss_dcf_parse_one(k, in, i);
    return ok;
}

/* The layout without roots, made from the full one: each block less its b root fields. */
static void strip_roots(const uint8_t *in, size_t count, size_t kb, uint8_t *out)
{
    for (size_t at = 0; at < count; at += FSS_KEY_BLOCK) {
        const size_t b = count - at < FSS_KEY_BLOCK ? count - at : FSS_KEY_BLOCK;
        memcpy(out + at * (kb - 16), in + at * kb + 16 * b, b * (kb - 16));
    }
}

/* Reads of keys without roots (writer nr, full layout buf): the layout is the full one
 * less the roots; the block reader (in two slices where there are two blocks) and the
 * per-instance one, the roots then copied in from want's, give want's fields; a stray bit
 * at byte `stray` (SIZE_MAX: none) is refused by both. The two kinds through one body. */
#define NOROOTS_CASE(kind, keys_t, k, want, q, buf, count, kb, stray, what)                             \
    do {                                                                                              \
        const size_t kn_ = (kb) - 16, half_ = (count) > FSS_KEY_BLOCK ? FSS_KEY_BLOCK : (count);      \
        uint8_t *nr_ = malloc(kn_ * (count) + 1), *ex_ = malloc(kn_ * (count) + 1);                   \
        REQUIRE(nr_ && ex_);                                                                          \
        memset(nr_, 0xa5, kn_ * (count) + 1);                                                         \
        fss_##kind##_keys_write_noroots(k, 0, count, nr_);                                            \
        strip_roots(buf, count, kb, ex_);                                                             \
        CHECK(nr_[kn_ * (count)] == 0xa5 && memcmp(nr_, ex_, kn_ * (count)) == 0,                     \
              "%s: the layout without roots is not the full one less its roots", what);               \
        keys_t r3_;                                                                                   \
        REQUIRE(fss_##kind##_keys_alloc(&r3_, (want)->p, (want)->party, count) == FSS_OK);           \
        CHECK(fss_##kind##_keys_read_noroots(&r3_, 0, half_, nr_) == FSS_OK &&                        \
                  (half_ == (count) ||                                                                \
                   fss_##kind##_keys_read_noroots(&r3_, half_, (count) - half_, nr_ + half_ * kn_) == \
                       FSS_OK),                                                                       \
              "%s: keys without roots do not read", what);                                            \
        int untouched_ = 1;                                                                           \
        for (size_t i_ = 0; i_ < (count); i_++)                                                       \
            untouched_ &= r3_.root[i_].lo == 0 && r3_.root[i_].hi == 0;                              \
        memcpy(r3_.root, (want)->root, (count) * 16);                                                 \
        CHECK(untouched_ && memcmp(r3_.mem, (want)->mem, (want)->bytes) == 0,                         \
              "%s: the block reader without roots gives other fields (or wrote the roots)", what);    \
        memset((q)->mem, 0, (q)->bytes);                                                              \
        int ok_ = 1;                                                                                  \
        for (size_t i_ = 0; i_ < (count); i_++)                                                       \
            ok_ &= fss_##kind##_parse_one_r(q, nr_, i_, 0);                                           \
        for (size_t i_ = 0; i_ < (count); i_++)                                                       \
            untouched_ &= (q)->root[i_].lo == 0 && (q)->root[i_].hi == 0;                            \
        memcpy((q)->root, (want)->root, (count) * 16);                                                \
        CHECK(ok_ && untouched_ && memcmp((q)->mem, (want)->mem, (want)->bytes) == 0,                 \
              "%s: the per-instance parse without roots gives other fields", what);                   \
        if ((stray) != SIZE_MAX) {                                                                    \
            nr_[stray] |= 0x80;                                                                       \
            CHECK(fss_##kind##_keys_read_noroots(&r3_, 0, count, nr_) == FSS_E_FORMAT,                \
                  "%s: stray bit taken", what);                                                       \
            ok_ = 1;                                                                                  \
            for (size_t i_ = 0; i_ < (count); i_++)                                                   \
                ok_ &= fss_##kind##_parse_one_r(q, nr_, i_, 0);                                       \
            CHECK(!ok_, "%s: the per-instance parse took a stray bit", what);                         \
        }                                                                                             \
        fss_##kind##_keys_free(&r3_);                                                                 \
        free(nr_);                                                                                    \
        free(ex_);                                                                                    \
    } while (0)

/* Keys written and read back in slices from unaligned first instances (cut at count / 3 and
 * 2 count / 3 + 1, and at 5 and count - 3: a slice over more than one serialized block where
 * count > FSS_KEY_BLOCK) give the keys read whole; each slice's bytes, parsed instance by
 * instance as a batch of its own (keyparse_body.h: its blocks count from the slice's first
 * instance), evaluate on the slice's inputs x to the whole keys' outputs y (w words an
 * instance); no write passes its slice's bytes. */
#define SLICES_CASE(kind, keys_t, k, whole, kb, count, x, y, w, what)                                             \
    do {                                                                                                          \
        const size_t n_ = (count), c2_ = 2 * n_ / 3 + 1 < n_ ? 2 * n_ / 3 + 1 : n_;                              \
        const size_t cuts_[2][4] = {{0, n_ / 3, c2_, n_}, {0, n_ > 8 ? 5 : 0, n_ > 8 ? n_ - 3 : n_, n_}};         \
        uint8_t *sb_ = malloc((kb) * n_ + 1);                                                                     \
        uint64_t *ys_ = malloc(n_ * (w) * 8 + 8);                                                                 \
        REQUIRE(sb_ && ys_);                                                                                      \
        for (int v_ = 0; v_ < 2; v_++) {                                                                          \
            keys_t s_;                                                                                            \
            REQUIRE(fss_##kind##_keys_alloc(&s_, (k)->p, (k)->party, n_) == FSS_OK);                              \
            int ok_ = 1, same_ = 1;                                                                               \
            for (int c_ = 0; c_ < 3; c_++) {                                                                      \
                const size_t f_ = cuts_[v_][c_], m_ = cuts_[v_][c_ + 1] - f_;                                     \
                sb_[(kb) * m_] = 0xa5;                                                                            \
                fss_##kind##_keys_write(k, f_, m_, sb_);                                                          \
                ok_ &= sb_[(kb) * m_] == 0xa5;                                                                    \
                ok_ &= fss_##kind##_keys_read(&s_, f_, m_, sb_) == FSS_OK;                                        \
                if (!m_)                                                                                          \
                    continue;                                                                                     \
                keys_t p_;                                                                                        \
                REQUIRE(fss_##kind##_keys_alloc(&p_, (k)->p, (k)->party, m_) == FSS_OK);                          \
                for (size_t i_ = 0; i_ < m_; i_++)                                                                \
                    ok_ &= fss_##kind##_parse_one_r(&p_, sb_, i_, 1);                                             \
                REQUIRE(fss_##kind##_eval(ctx, &p_, (x) + f_, ys_) == FSS_OK);                                    \
                same_ &= memcmp(ys_, (y) + f_ * (w), m_ * (w) * 8) == 0;                                          \
                fss_##kind##_keys_free(&p_);                                                                      \
            }                                                                                                     \
            CHECK(ok_ && same_ && memcmp(s_.mem, (whole)->mem, (whole)->bytes) == 0,                              \
                  "%s: keys written and read in slices (cut at %zu, %zu) differ (read %d, parsed alone %d)", what, \
                  cuts_[v_][1], cuts_[v_][2], ok_, same_);                                                        \
            fss_##kind##_keys_free(&s_);                                                                          \
        }                                                                                                         \
        free(sb_);                                                                                                \
        free(ys_);                                                                                                \
    } while (0)

static void dpf_case(fss_dpf_params p, size_t count)
{
    fss_dpf_keys k0, k1, r1;
    uint64_t *alpha = malloc(count * 8 + 8), *beta = malloc(count * 8 + 8), *x = malloc(count * 8 + 8);
    uint64_t *y = malloc(count * 8 + 8), *z = malloc(count * 8 + 8);
    fss_block *roots = malloc(count * 32 + 32);
    REQUIRE(alpha && beta && x && y && z && roots);
    REQUIRE(fss_rng_ring(rng, alpha, count, p.n) == FSS_OK && fss_rng_ring(rng, beta, count, p.l) == FSS_OK);
    REQUIRE(fss_rng_ring(rng, x, count, p.n) == FSS_OK && fss_rng_bytes(rng, roots, count * 32) == FSS_OK);
    for (size_t i = 0; i < count; i += 2)
        x[i] = alpha[i];
    REQUIRE(fss_dpf_keys_alloc(&k0, p, 0, count) == FSS_OK && fss_dpf_keys_alloc(&k1, p, 1, count) == FSS_OK);
    REQUIRE(fss_dpf_keygen(ctx, p, count, alpha, beta, roots, &k0, &k1) == FSS_OK);
    size_t kb = FSS_DPF_KEY_BYTES(p.n, p.l, p.early);
    uint8_t *buf = malloc(kb * count + 1);
    REQUIRE(buf);
    memset(buf, 0xa5, kb * count + 1);
    fss_dpf_keys_write(&k1, 0, count, buf);
    CHECK(buf[kb * count] == 0xa5, "dpf write overran %zu bytes", kb * count);
    REQUIRE(fss_dpf_keys_alloc(&r1, p, 1, count) == FSS_OK);
    CHECK(fss_dpf_keys_read(&r1, 0, count, buf) == FSS_OK, "dpf read n=%d l=%d early=%d", p.n, p.l, p.early);
    REQUIRE(fss_dpf_eval(ctx, &k1, x, y) == FSS_OK && fss_dpf_eval(ctx, &r1, x, z) == FSS_OK);
    CHECK(memcmp(y, z, count * 8) == 0, "dpf read-back evaluates differently n=%d", p.n);
    fss_dpf_keys q; /* the per-instance reader gives the block reader's fields */
    REQUIRE(fss_dpf_keys_alloc(&q, p, 1, count) == FSS_OK);
    CHECK(dpf_parse_all(&q, buf) && memcmp(q.mem, r1.mem, r1.bytes) == 0,
          "dpf per-instance parse differs from the block reader n=%d l=%d early=%d count=%zu", p.n, p.l, p.early, count);
    /* rewrite gives the same bytes */
    uint8_t *buf2 = malloc(kb * count);
    REQUIRE(buf2);
    fss_dpf_keys_write(&r1, 0, count, buf2);
    CHECK(memcmp(buf, buf2, kb * count) == 0, "dpf rewrite differs");
    SLICES_CASE(dpf, fss_dpf_keys, &k1, &r1, kb, count, x, y, 1, "dpf");
    /* a stray bit past the tcw masks (depth not a multiple of 8) or in the fcw tail, in
     * one instance written alone (the per-instance layout) and in the last instance of
     * the first block */
    int depth = FSS_DPF_DEPTH(p.n, p.early);
    const size_t mb = ((size_t)depth + 7) / 8, fb = kb - (16 + 16 * (size_t)depth + 2 * mb);
    const size_t b = count < FSS_KEY_BLOCK ? count : FSS_KEY_BLOCK, j = b - 1;
    if (count) {
        fss_dpf_keys_write(&k1, 0, 1, buf2);
        CHECK(fss_dpf_keys_read(&r1, 0, 1, buf2) == FSS_OK, "one instance written alone does not read n=%d", p.n);
    }
    if (count && depth % 8) {
        fss_dpf_keys_write(&k1, 0, 1, buf2);
        buf2[16 + 16 * (size_t)depth + mb - 1] |= 0x80;
        CHECK(fss_dpf_keys_read(&r1, 0, 1, buf2) == FSS_E_FORMAT, "stray tcw bit accepted n=%d", p.n);
        memcpy(buf2, buf, kb * count); /* tcw_l of instance j of the first block */
        buf2[b * (16 + 16 * (size_t)depth) + j * mb + mb - 1] |= 0x80;
        CHECK(fss_dpf_keys_read(&r1, 0, count, buf2) == FSS_E_FORMAT, "stray tcw bit in a block accepted n=%d", p.n);
        CHECK(!dpf_parse_all(&q, buf2), "per-instance parse took a stray tcw bit n=%d", p.n);
    }
    if (count && !p.early && p.l % 8) {
        fss_dpf_keys_write(&k1, 0, 1, buf2);
        buf2[kb - 1] |= 0x80;
        CHECK(fss_dpf_keys_read(&r1, 0, 1, buf2) == FSS_E_FORMAT, "stray fcw bit accepted l=%d", p.l);
        memcpy(buf2, buf, kb * count); /* fcw of instance j of the first block */
        buf2[b * (kb - fb) + j * fb + fb - 1] |= 0x80;
        CHECK(fss_dpf_keys_read(&r1, 0, count, buf2) == FSS_E_FORMAT, "stray fcw bit in a block accepted l=%d", p.l);
        CHECK(!dpf_parse_all(&q, buf2), "per-instance parse took a stray fcw bit l=%d", p.l);
    }
    /* a read of the blocks from the second on, as a party's slices read them */
    if (count > FSS_KEY_BLOCK) {
        fss_dpf_keys r2;
        REQUIRE(fss_dpf_keys_alloc(&r2, p, 1, count) == FSS_OK);
        CHECK(fss_dpf_keys_read(&r2, 0, FSS_KEY_BLOCK, buf) == FSS_OK &&
                  fss_dpf_keys_read(&r2, FSS_KEY_BLOCK, count - FSS_KEY_BLOCK, buf + FSS_KEY_BLOCK * kb) == FSS_OK,
              "dpf read in slices failed n=%d", p.n);
        REQUIRE(fss_dpf_eval(ctx, &r2, x, z) == FSS_OK);
        CHECK(memcmp(y, z, count * 8) == 0, "dpf read in slices evaluates differently n=%d", p.n);
        fss_dpf_keys_free(&r2);
    }
    CHECK(fss_dpf_keys_read(&r1, count, 1, buf) == FSS_E_ARG, "read past the batch accepted");
    if (count) { /* without roots: a stray tcw bit of the first block's last instance */
        char what[64];
        snprintf(what, sizeof what, "dpf n=%d l=%d early=%d count=%zu", p.n, p.l, p.early, count);
        const size_t stray = depth % 8 ? b * 16 * (size_t)depth + j * mb + mb - 1 : SIZE_MAX;
        CHECK(fss_dpf_keys_read(&r1, 0, count, buf) == FSS_OK, "%s: reread", what); /* after the stray bits */
        NOROOTS_CASE(dpf, fss_dpf_keys, &k1, &r1, &q, buf, count, kb, stray, what);
    }
    free(buf);
    free(buf2);
    fss_dpf_keys_free(&q);
    fss_dpf_keys_free(&k0);
    fss_dpf_keys_free(&k1);
    fss_dpf_keys_free(&r1);
    free(alpha);
    free(beta);
    free(x);
    free(y);
    free(z);
    free(roots);
}

static void dcf_case(fss_dcf_params p, size_t count)
{
    fss_dcf_keys k0, k1, r0;
    size_t g = (size_t)p.g;
    uint64_t *alpha = malloc(count * 8), *beta = malloc(count * g * 8), *x = malloc(count * 8);
    uint64_t *y = malloc(count * g * 8), *z = malloc(count * g * 8);
    fss_block *roots = malloc(count * 32);
    REQUIRE(alpha && beta && x && y && z && roots);
    REQUIRE(fss_rng_ring(rng, alpha, count, p.n) == FSS_OK && fss_rng_ring(rng, beta, count * g, p.l) == FSS_OK);
    REQUIRE(fss_rng_ring(rng, x, count, p.n) == FSS_OK && fss_rng_bytes(rng, roots, count * 32) == FSS_OK);
    REQUIRE(fss_dcf_keys_alloc(&k0, p, 0, count) == FSS_OK && fss_dcf_keys_alloc(&k1, p, 1, count) == FSS_OK);
    REQUIRE(fss_dcf_keygen(ctx, p, count, alpha, beta, roots, &k0, &k1) == FSS_OK);
    size_t kb = FSS_DCF_KEY_BYTES(p.n, p.l, p.g);
    uint8_t *buf = malloc(kb * count + 1), *buf2 = malloc(kb * count);
    REQUIRE(buf && buf2);
    memset(buf, 0xa5, kb * count + 1);
    fss_dcf_keys_write(&k0, 0, count, buf);
    CHECK(buf[kb * count] == 0xa5, "dcf write overran");
    REQUIRE(fss_dcf_keys_alloc(&r0, p, 0, count) == FSS_OK);
    CHECK(fss_dcf_keys_read(&r0, 0, count, buf) == FSS_OK, "dcf read n=%d l=%d g=%d", p.n, p.l, p.g);
    REQUIRE(fss_dcf_eval(ctx, &k0, x, y) == FSS_OK && fss_dcf_eval(ctx, &r0, x, z) == FSS_OK);
    CHECK(memcmp(y, z, count * g * 8) == 0, "dcf read-back evaluates differently n=%d l=%d g=%d", p.n, p.l, p.g);
    fss_dcf_keys q; /* the per-instance reader gives the block reader's fields */
    REQUIRE(fss_dcf_keys_alloc(&q, p, 0, count) == FSS_OK);
    CHECK(dcf_parse_all(&q, buf) && memcmp(q.mem, r0.mem, r0.bytes) == 0,
          "dcf per-instance parse differs from the block reader n=%d l=%d g=%d count=%zu", p.n, p.l, p.g, count);
    fss_dcf_keys_write(&r0, 0, count, buf2);
    CHECK(memcmp(buf, buf2, kb * count) == 0, "dcf rewrite differs");
    SLICES_CASE(dcf, fss_dcf_keys, &k0, &r0, kb, count, x, y, g, "dcf");
    size_t vbits = ((size_t)p.n + 1) * g * (size_t)p.l;
    const size_t b = count < FSS_KEY_BLOCK ? count : FSS_KEY_BLOCK;
    if (count) {
        fss_dcf_keys_write(&k0, 0, 1, buf2);
        CHECK(fss_dcf_keys_read(&r0, 0, 1, buf2) == FSS_OK, "one instance written alone does not read n=%d", p.n);
    }
    if (count && vbits % 8) {
        fss_dcf_keys_write(&k0, 0, 1, buf2);
        buf2[kb - 1] |= 0x80;
        CHECK(fss_dcf_keys_read(&r0, 0, 1, buf2) == FSS_E_FORMAT, "stray vcw bit accepted n=%d l=%d", p.n, p.l);
        memcpy(buf2, buf, kb * count); /* the values of the first block's last instance */
        buf2[b * kb - 1] |= 0x80;
        CHECK(fss_dcf_keys_read(&r0, 0, count, buf2) == FSS_E_FORMAT, "stray vcw bit in a block accepted n=%d l=%d",
              p.n, p.l);
        CHECK(!dcf_parse_all(&q, buf2), "per-instance parse took a stray vcw bit n=%d l=%d", p.n, p.l);
    }
    if (count) { /* without roots: a stray value bit of the first block's last instance */
        char what[64];
        snprintf(what, sizeof what, "dcf n=%d l=%d g=%d count=%zu", p.n, p.l, p.g, count);
        const size_t stray = vbits % 8 ? b * (kb - 16) - 1 : SIZE_MAX;
        CHECK(fss_dcf_keys_read(&r0, 0, count, buf) == FSS_OK, "%s: reread", what); /* after the stray bits */
        NOROOTS_CASE(dcf, fss_dcf_keys, &k0, &r0, &q, buf, count, kb, stray, what);
    }
    if (count > FSS_KEY_BLOCK) { /* the blocks from the second on, as a party's slices read them */
        fss_dcf_keys r2;
        REQUIRE(fss_dcf_keys_alloc(&r2, p, 0, count) == FSS_OK);
        CHECK(fss_dcf_keys_read(&r2, 0, FSS_KEY_BLOCK, buf) == FSS_OK &&
                  fss_dcf_keys_read(&r2, FSS_KEY_BLOCK, count - FSS_KEY_BLOCK, buf + FSS_KEY_BLOCK * kb) == FSS_OK,
              "dcf read in slices failed n=%d", p.n);
        REQUIRE(fss_dcf_eval(ctx, &r2, x, z) == FSS_OK);
        CHECK(memcmp(y, z, count * g * 8) == 0, "dcf read in slices evaluates differently n=%d", p.n);
        fss_dcf_keys_free(&r2);
    }
    free(buf);
    free(buf2);
    fss_dcf_keys_free(&q);
    fss_dcf_keys_free(&k0);
    fss_dcf_keys_free(&k1);
    fss_dcf_keys_free(&r0);
    free(alpha);
    free(beta);
    free(x);
    free(y);
    free(z);
    free(roots);
}

int main(void)
{
    rng = check_init("test_keys");
    REQUIRE(fss_ctx_new(&ctx, 0) == FSS_OK);

    /* sizes of the documented layout */
    CHECK(FSS_DCF_KEY_BYTES(64, 1, 1) == 16 + 64 * 16 + 16 + 9, "DCF(64,1,1) bytes %zu", FSS_DCF_KEY_BYTES(64, 1, 1));
    CHECK(FSS_DPF_KEY_BYTES(64, 1, 1) == 16 + 57 * 16 + 16 + 16, "DPF1(64) bytes %zu", FSS_DPF_KEY_BYTES(64, 1, 1));
    CHECK(FSS_DPF_KEY_BYTES(5, 1, 1) == 16 + 0 + 0 + 4, "DPF1(5) bytes %zu", FSS_DPF_KEY_BYTES(5, 1, 1));
    CHECK(FSS_DPF_KEY_BYTES(20, 37, 0) == 16 + 20 * 16 + 6 + 5, "DPF(20,37) bytes %zu", FSS_DPF_KEY_BYTES(20, 37, 0));

    static const size_t counts[] = {1, 31, 32, 33, 600};
    static const int ns[] = {1, 7, 8, 9, 20, 63, 64};
    for (size_t c = 0; c < sizeof counts / sizeof *counts; c++)
        for (size_t i = 0; i < sizeof ns / sizeof *ns; i++) {
            dpf_case((fss_dpf_params){ns[i], 1, 1}, counts[c]);
            dpf_case((fss_dpf_params){ns[i], 37, 0}, counts[c]);
            dpf_case((fss_dpf_params){ns[i], 64, 0}, counts[c]);
            dpf_case((fss_dpf_params){ns[i], ns[i] == 1 ? 62 : 13 + ns[i] % 3 * 24, 2}, counts[c]); /* pairs */
            dcf_case((fss_dcf_params){ns[i], 1, 1}, counts[c]);
            dcf_case((fss_dcf_params){ns[i], 13, 3}, counts[c]);
            dcf_case((fss_dcf_params){ns[i], 64, 2}, counts[c]);
        }

    /* more than one serialized block (FSS_KEY_BLOCK instances), the last one short */
    const size_t multi = 2 * FSS_KEY_BLOCK + 5;
    dpf_case((fss_dpf_params){20, 1, 1}, multi);
    dpf_case((fss_dpf_params){9, 37, 0}, multi);
    dpf_case((fss_dpf_params){9, 37, 2}, multi);
    dcf_case((fss_dcf_params){20, 13, 3}, multi);
    dcf_case((fss_dcf_params){63, 1, 1}, multi);

    /* bad parameters are refused with FSS_E_ARG, not a crash */
    fss_dcf_keys bad;
    CHECK(fss_dcf_keys_alloc(&bad, (fss_dcf_params){0, 1, 1}, 0, 1) == FSS_E_ARG, "n = 0 accepted");
    CHECK(fss_dcf_keys_alloc(&bad, (fss_dcf_params){65, 1, 1}, 0, 1) == FSS_E_ARG, "n = 65 accepted");
    CHECK(fss_dcf_keys_alloc(&bad, (fss_dcf_params){8, 0, 1}, 0, 1) == FSS_E_ARG, "l = 0 accepted");
    CHECK(fss_dcf_keys_alloc(&bad, (fss_dcf_params){8, 8, 0}, 0, 1) == FSS_E_ARG, "g = 0 accepted");
    CHECK(fss_dcf_keys_alloc(&bad, (fss_dcf_params){8, 8, 1}, 2, 1) == FSS_E_ARG, "party 2 accepted");
    fss_dpf_keys badp;
    CHECK(fss_dpf_keys_alloc(&badp, (fss_dpf_params){8, 2, 1}, 0, 1) == FSS_E_ARG, "early with l = 2 accepted");
    CHECK(fss_dpf_keys_alloc(&badp, (fss_dpf_params){8, 65, 0}, 0, 1) == FSS_E_ARG, "l = 65 accepted");

    fss_ctx_free(ctx);
    fss_rng_free(rng);
    return check_summary();
}
