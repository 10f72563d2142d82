/* CPU launchers of the DPF: keygen, point eval, full-domain eval, comparison. */
#include "fss/dpf.h"

#include <string.h>

#include "cpu_vaes.h"
#include "cpu_vaes256.h"
#include "cpu_omp.h"
#include "fss/dpf_body.h"
#include "fss/gemm.h"
#include "keyio.h"

fss_status fss_dpf_params_check(fss_dpf_params p)
{
    if (p.n < 1 || p.n > 64 || p.l < 1 || p.l > 64 || p.early < 0 || p.early > 3)
        return FSS_E_ARG;
    if ((p.early == 1 && p.l != 1) || (p.early == 2 && p.l > 62))
        return FSS_E_ARG;
    return FSS_OK;
}

size_t fss_dpf_keys_bytes(fss_dpf_params p, size_t count)
{
    size_t d = (size_t)FSS_DPF_DEPTH(p.n, p.early);
    return FSS_ALIGN64(count * 16) * (2 + d) + 2 * FSS_ALIGN64(count * 8);
}

void fss_dpf_keys_bind(fss_dpf_keys *k, fss_dpf_params p, int party, size_t count, void *mem)
{
    size_t d = (size_t)FSS_DPF_DEPTH(p.n, p.early), bl = FSS_ALIGN64(count * 16), wl = FSS_ALIGN64(count * 8);
    uint8_t *m = (uint8_t *)mem;
    memset(k, 0, sizeof *k);
    k->p = p;
    k->party = party;
    k->count = count;
    k->mem = mem;
    k->bytes = fss_dpf_keys_bytes(p, count);
    k->root = (fss_block *)m;
    k->scw = (fss_block *)(m + bl);
    k->tcw_l = (uint64_t *)(m + bl * (1 + d));
    k->tcw_r = (uint64_t *)(m + bl * (1 + d) + wl);
    k->fcw = (fss_block *)(m + bl * (1 + d) + 2 * wl);
}

fss_status fss_dpf_keys_alloc(fss_dpf_keys *k, fss_dpf_params p, int party, size_t count)
{
    memset(k, 0, sizeof *k);
    if (fss_dpf_params_check(p) != FSS_OK || (party != 0 && party != 1))
        return FSS_E_ARG;
    void *mem = fss_keys_mem_alloc(fss_dpf_keys_bytes(p, count));
    if (!mem)
        return FSS_E_NOMEM;
    fss_dpf_keys_bind(k, p, party, count, mem);
    k->owned = 1;
    return FSS_OK;
}

void fss_dpf_keys_free(fss_dpf_keys *k)
{
    if (k->owned)
        fss_keys_mem_free(k->mem, k->bytes);
    memset(k, 0, sizeof *k);
}

/* (early = 3: a leaf's words block more, each party's) */
uint64_t fss_dpf_eval_aes_blocks(fss_dpf_params p) { return (uint64_t)FSS_DPF_DEPTH(p.n, p.early) + (p.early == 3); }
uint64_t fss_dpf_keygen_aes_blocks(fss_dpf_params p)
{
    return 4 * (uint64_t)FSS_DPF_DEPTH(p.n, p.early) + 2 * (uint64_t)(p.early == 3);
}

size_t fss_dpf_full_words(fss_dpf_params p)
{
    if (p.early != 1)
        return (size_t)1 << p.n;
    return p.n >= 6 ? (size_t)1 << (p.n - 6) : 1;
}

static int leaf_log(fss_dpf_params p) { return p.n - FSS_DPF_DEPTH(p.n, p.early); }

static fss_status check_keys(fss_ctx *ctx, const fss_dpf_keys *k)
{
    if (fss_dpf_params_check(k->p) != FSS_OK || (k->party != 0 && k->party != 1))
        return fss_ctx_fail(ctx, FSS_E_ARG, "dpf: bad key parameters (n=%d l=%d early=%d party=%d)",
                            k->p.n, k->p.l, k->p.early, k->party);
    return FSS_OK;
}

typedef struct keygen_arg {
    fss_dpf_keys *k0, *k1;
    const uint64_t *alpha, *beta, *beta1; /* beta1: the leaf pair's second output (fss_dpf_keygen_pairs) */
    const fss_block *roots;
} keygen_arg;

/* Keygen of one tile: both parties' keys of instances [i0, i0 + m). */
static fss_status keygen_tile(fss_ctx *ctx, int tid, uint8_t *sc, size_t i0, size_t m, const void *argv)
{
    const keygen_arg *a = (const keygen_arg *)argv;
    fss_dpf_keys *k0 = a->k0, *k1 = a->k1;
    const uint64_t *alpha = a->alpha, *beta = a->beta;
    const fss_block *roots = a->roots;
    const fss_dpf_params p = k0->p;
    const size_t count = k0->count, per = 4; /* blocks per instance per level: 2 parties x 2 children */
    const int depth = FSS_DPF_DEPTH(p.n, p.early), ll = leaf_log(p), vaes = fss_ctx_vaes(ctx) || fss_ctx_vaes256(ctx);
    fss_status st = FSS_OK;
    fss_block *in = (fss_block *)sc, *out = in + FSS_CPU_TILE * per;
    fss_block(*S)[2] = (fss_block(*)[2])(out + FSS_CPU_TILE * per);
    unsigned(*t)[2] = (unsigned(*)[2])(S + FSS_CPU_TILE);
    if (vaes) { /* both parties' walks, eight instances a register (AVX2: six a group) */
        (fss_ctx_vaes(ctx) ? fss_vaes_dpf_keygen_walk : fss_vaes256_dpf_keygen_walk)(k0, k1, i0, m, alpha, roots, S, t);
        fss_ctx_add_aes_blocks(ctx, tid, m * per * (uint64_t)depth);
    }
    for (size_t k = 0; k < m && !vaes; k++) {
        S[k][0] = roots[2 * (i0 + k)];
        S[k][1] = roots[2 * (i0 + k) + 1];
        t[k][0] = 0;
        t[k][1] = 1;
        k0->root[i0 + k] = S[k][0];
        k1->root[i0 + k] = S[k][1];
        k0->tcw_l[i0 + k] = k0->tcw_r[i0 + k] = 0;
    }
    for (int lv = 0; lv < depth && !vaes; lv++) {
        for (size_t k = 0; k < m; k++)
            for (unsigned b = 0; b < 2; b++)
                for (unsigned c = 0; c < 2; c++)
                    in[k * per + 2 * b + c] = fss_prg_input(S[k][b], FSS_PRG_TWEAK_CHILD(c));
        if (fss_ctx_aes(ctx, tid, in, out, m * per) != FSS_OK) {
            st = FSS_E_CRYPTO;
            goto done;
        }
        for (size_t k = 0; k < m; k++) {
            size_t i = i0 + k;
            fss_block H[2][2];
            for (unsigned j = 0; j < 4; j++)
                H[j >> 1][j & 1] = fss_prg_output(in[k * per + j], out[k * per + j]);
            unsigned b = fss_tree_level_bit(alpha[i], p.n, lv), tl, tr;
            fss_block cw;
            fss_tree_keygen_level(b, S[k], t[k], H, &cw, &tl, &tr);
            k0->scw[(size_t)lv * count + i] = k1->scw[(size_t)lv * count + i] = cw;
            k0->tcw_l[i] |= (uint64_t)tl << lv;
            k0->tcw_r[i] |= (uint64_t)tr << lv;
        }
    }
    if (p.early == 3) { /* both parties' leaves' words blocks, into out (2 of 4 a per) */
        for (size_t k = 0; k < 2 * m; k++)
            in[k] = fss_dpf_words_input(S[k / 2][k % 2]);
        if (fss_ctx_aes(ctx, tid, in, out, 2 * m) != FSS_OK) {
            st = FSS_E_CRYPTO;
            goto done;
        }
        for (size_t k = 0; k < 2 * m; k++)
            out[k] = fss_prg_output(in[k], out[k]);
    }
    for (size_t k = 0; k < m; k++) {
        size_t i = i0 + k;
        fss_block f = {0, 0};
        const unsigned a0 = (unsigned)(alpha[i] & 1);
        const uint64_t bi = p.early >= 2 ? beta[i] : 0; /* (none when early = 1) */
        const uint64_t v0 = a->beta1 ? bi : a0 ? 0 : bi, v1 = a->beta1 ? a->beta1[i] : a0 ? bi : 0;
        if (p.early == 3)
            f = fss_dpf_keygen_words(p.l, v0, v1, out + 2 * k, t[k]);
        else if (p.early == 2)
            f = fss_dpf_keygen_pair(p.l, v0, v1, S[k], t[k]);
        else if (p.early)
            f = fss_dpf_keygen_leaf(ll, (unsigned)(alpha[i] & ((1u << ll) - 1)), S[k]);
        else
            f.lo = fss_dpf_keygen_final(p.l, beta[i], S[k], t[k]);
        k0->fcw[i] = k1->fcw[i] = f;
        k1->tcw_l[i] = k0->tcw_l[i];
        k1->tcw_r[i] = k0->tcw_r[i];
    }
done:
    fss_memzero(S, m * sizeof *S);
    fss_memzero(out, 2 * m * sizeof *out); /* (early = 3: the words) */
    return st;
}

static fss_status keygen(fss_ctx *ctx, fss_dpf_params p, size_t count, const uint64_t *alpha, const uint64_t *beta,
                         const uint64_t *beta1, const fss_block *roots, fss_dpf_keys *k0, fss_dpf_keys *k1)
{
    if (fss_dpf_params_check(p) != FSS_OK)
        return fss_ctx_fail(ctx, FSS_E_ARG, "dpf keygen: bad parameters n=%d l=%d early=%d", p.n, p.l, p.early);
    if (k0->count != count || k1->count != count || memcmp(&k0->p, &p, sizeof p) || memcmp(&k1->p, &p, sizeof p) ||
        k0->party != 0 || k1->party != 1)
        return fss_ctx_fail(ctx, FSS_E_ARG, "dpf keygen: key buffers do not match the parameters");
    const keygen_arg a = {k0, k1, alpha, beta, beta1, roots};
    const fss_status st = fss_cpu_tiles(ctx, count, FSS_CPU_TILE * (2 * 4 * 16 + 2 * 16 + 2 * sizeof(unsigned)),
                                        keygen_tile, &a);
    if (st != FSS_OK)
        return fss_ctx_fail(ctx, st, "dpf keygen: %s", fss_status_str(st));
    return FSS_OK;
}

fss_status fss_dpf_keygen(fss_ctx *ctx, fss_dpf_params p, size_t count, const uint64_t *alpha,
                          const uint64_t *beta, const fss_block *roots, fss_dpf_keys *k0, fss_dpf_keys *k1)
{
    return keygen(ctx, p, count, alpha, beta, NULL, roots, k0, k1);
}

fss_status fss_dpf_keygen_pairs(fss_ctx *ctx, fss_dpf_params p, size_t count, const uint64_t *alpha,
                                const uint64_t *beta0, const uint64_t *beta1, const fss_block *roots, fss_dpf_keys *k0,
                                fss_dpf_keys *k1)
{
    if (p.early < 2 || !beta0 || !beta1)
        return fss_ctx_fail(ctx, FSS_E_ARG, "dpf keygen: a leaf's pair of outputs needs keys of pairs (early 2 or 3, "
                                            "have %d) and both outputs", p.early);
    return keygen(ctx, p, count, alpha, beta0, beta1, roots, k0, k1);
}

/* The walk shared by point eval and comparison: one tile down to the leaf. When cmp is
 * set, acc[k] collects the comparison bits of the levels. */
static fss_status walk_tile(fss_ctx *ctx, int tid, const fss_dpf_keys *k, size_t i0, size_t m, const uint64_t *x,
                            fss_block *S, unsigned *t, unsigned *acc, fss_block *in, fss_block *out)
{
    const int n = k->p.n, depth = FSS_DPF_DEPTH(n, k->p.early);
    for (size_t j = 0; j < m; j++) {
        S[j] = k->root[i0 + j];
        t[j] = (unsigned)k->party;
        acc[j] = 0;
    }
    for (int lv = 0; lv < depth; lv++) {
        for (size_t j = 0; j < m; j++)
            in[j] = fss_prg_input(S[j], FSS_PRG_TWEAK_CHILD(fss_tree_level_bit(x[i0 + j], n, lv)));
        if (fss_ctx_aes(ctx, tid, in, out, m) != FSS_OK)
            return FSS_E_CRYPTO;
        const fss_block *scw = k->scw + (size_t)lv * k->count + i0;
        for (size_t j = 0; j < m; j++) {
            size_t i = i0 + j;
            unsigned c = fss_tree_level_bit(x[i], n, lv);
            unsigned tl = (unsigned)(k->tcw_l[i] >> lv) & 1u, tr = (unsigned)(k->tcw_r[i] >> lv) & 1u;
            acc[j] ^= fss_dpf_cmp_level_bit(c, S[j], t[j], tl);
            fss_tree_eval_level(c, &S[j], &t[j], fss_prg_output(in[j], out[j]), scw[j], c ? tr : tl);
        }
    }
    return FSS_OK;
}

typedef struct eval_arg {
    const fss_dpf_keys *k;
    const uint64_t *x;
    uint64_t *out;
    int cmp;
} eval_arg;

static fss_status eval_tile(fss_ctx *ctx, int tid, uint8_t *sc, size_t i0, size_t m, const void *argv)
{
    const eval_arg *a = (const eval_arg *)argv;
    const fss_dpf_keys *k = a->k;
    const fss_dpf_params p = k->p;
    const int ll = leaf_log(p);
    fss_block *S = (fss_block *)sc, *in = S + FSS_CPU_TILE, *ob = in + FSS_CPU_TILE;
    unsigned *t = (unsigned *)(ob + FSS_CPU_TILE), *acc = t + FSS_CPU_TILE;
    if (fss_ctx_vaes(ctx) || fss_ctx_vaes256(ctx)) { /* AES inline: the walk's blocks counted here */
        (fss_ctx_vaes(ctx) ? fss_vaes_dpf_walk : fss_vaes256_dpf_walk)(k, i0, m, a->x, S, t, acc);
        fss_ctx_add_aes_blocks(ctx, tid, m * (uint64_t)FSS_DPF_DEPTH(p.n, p.early));
    } else if (walk_tile(ctx, tid, k, i0, m, a->x, S, t, acc, in, ob) != FSS_OK) {
        return FSS_E_CRYPTO;
    }
    if (!a->cmp && p.early == 3) { /* the leaves' words blocks, in place */
        for (size_t j = 0; j < m; j++)
            in[j] = fss_dpf_words_input(S[j]);
        if (fss_ctx_aes(ctx, tid, in, ob, m) != FSS_OK)
            return FSS_E_CRYPTO;
        for (size_t j = 0; j < m; j++)
            S[j] = fss_prg_output(in[j], ob[j]);
    }
    for (size_t j = 0; j < m; j++) {
        size_t i = i0 + j;
        unsigned xl = (unsigned)(a->x[i] & ((1u << ll) - 1));
        if (a->cmp) {
            unsigned eq_or_below = p.early ? fss_dpf_cmp_leaf_bits(fss_dpf_leaf(S[j], t[j], k->fcw[i]), xl) : t[j];
            a->out[i] = acc[j] ^ eq_or_below ^ (unsigned)(k->party == 0);
        } else if (p.early == 3) {
            a->out[i] = fss_dpf_eval_words((unsigned)k->party, p.l, S[j], t[j], k->fcw[i], xl);
        } else if (p.early == 2) {
            a->out[i] = fss_dpf_eval_pair((unsigned)k->party, p.l, S[j], t[j], k->fcw[i], xl);
        } else if (p.early) {
            a->out[i] = fss_dpf_leaf_bit(fss_dpf_leaf(S[j], t[j], k->fcw[i]), xl);
        } else {
            a->out[i] = fss_dpf_eval_final((unsigned)k->party, p.l, S[j], t[j], k->fcw[i].lo);
        }
    }
    return FSS_OK;
}

static fss_status eval_common(fss_ctx *ctx, const fss_dpf_keys *k, const uint64_t *x, uint64_t *out, int cmp)
{
    fss_status st = check_keys(ctx, k);
    if (st != FSS_OK)
        return st;
    if (cmp && k->p.early >= 2)
        return fss_ctx_fail(ctx, FSS_E_ARG, "dpf comparison: keys of pairs (early = %d) give no comparison", k->p.early);
    const eval_arg a = {k, x, out, cmp};
    if ((st = fss_cpu_tiles(ctx, k->count, FSS_CPU_TILE * (3 * 16 + 2 * sizeof(unsigned)), eval_tile, &a)) != FSS_OK)
        return fss_ctx_fail(ctx, st, "dpf eval: %s", fss_status_str(st));
    return FSS_OK;
}

fss_status fss_dpf_eval(fss_ctx *ctx, const fss_dpf_keys *k, const uint64_t *x, uint64_t *out)
{
    return eval_common(ctx, k, x, out, 0);
}

fss_status fss_dpf_cmp_eval(fss_ctx *ctx, const fss_dpf_keys *k, const uint64_t *x, uint64_t *out)
{
    return eval_common(ctx, k, x, out, 1);
}

/* Full domain, one instance: expand the tree breadth-first in place (children of node
 * j land at 2j and 2j+1, so going backwards never overwrites an unread parent), in
 * chunks of FSS_CPU_TILE parents per OpenSSL call. */
/* Pairs of whole words (early = 3): the leaves' 2^depth words blocks in tiles through the
 * AES, then each leaf's two outputs into o. */
static fss_status words_out(fss_ctx *ctx, int tid, const fss_dpf_keys *k, size_t i, const fss_block *S,
                            const uint8_t *t, size_t leaves, fss_block *in, fss_block *ob, uint64_t *o)
{
    for (size_t j0 = 0; j0 < leaves; j0 += FSS_CPU_TILE) {
        const size_t m = leaves - j0 < FSS_CPU_TILE ? leaves - j0 : FSS_CPU_TILE;
        for (size_t j = 0; j < m; j++)
            in[j] = fss_dpf_words_input(S[j0 + j]);
        if (fss_ctx_aes(ctx, tid, in, ob, m) != FSS_OK)
            return FSS_E_CRYPTO;
        for (size_t j = 0; j < m; j++) {
            const fss_block W = fss_prg_output(in[j], ob[j]);
            for (unsigned w = 0; w < 2; w++)
                o[2 * (j0 + j) + w] = fss_dpf_eval_words((unsigned)k->party, k->p.l, W, t[j0 + j], k->fcw[i], w);
        }
    }
    fss_memzero(ob, FSS_CPU_TILE * sizeof *ob);
    return FSS_OK;
}

/* Instance i's group outputs (early 0, 2 or 3) from its 2^depth leaves S, t into o: a word
 * a leaf, two (pairs), or two from each leaf's words block through the AES (early = 3). */
static fss_status leaves_out(fss_ctx *ctx, int tid, const fss_dpf_keys *k, size_t i, const fss_block *S,
                             const uint8_t *t, size_t leaves, fss_block *in, fss_block *ob, uint64_t *o)
{
    if (k->p.early == 3)
        return words_out(ctx, tid, k, i, S, t, leaves, in, ob, o);
    if (k->p.early == 2) {
        for (size_t j = 0; j < leaves; j++)
            for (unsigned w = 0; w < 2; w++)
                o[2 * j + w] = fss_dpf_eval_pair((unsigned)k->party, k->p.l, S[j], t[j], k->fcw[i], w);
    } else {
        for (size_t j = 0; j < leaves; j++)
            o[j] = fss_dpf_eval_final((unsigned)k->party, k->p.l, S[j], t[j], k->fcw[i].lo);
    }
    return FSS_OK;
}

/* Instance i's tree expanded in place: its 2^depth leaves in S and t (a byte a leaf). */
static fss_status expand_one(fss_ctx *ctx, int tid, const fss_dpf_keys *k, size_t i, fss_block *S, uint8_t *t,
                             fss_block *in, fss_block *ob)
{
    const fss_dpf_params p = k->p;
    const int depth = FSS_DPF_DEPTH(p.n, p.early);
    if (p.early != 1 && fss_ctx_vaes(ctx)) {
        fss_vaes_dpf_expand(k, i, depth, S, t);
        fss_ctx_add_aes_blocks(ctx, tid, ((uint64_t)2 << depth) - 2); /* two children a node, as OpenSSL's path */
    } else if (fss_ctx_vaes256(ctx)) {
        fss_vaes256_dpf_expand(k, i, 1, depth, S, t);
        fss_ctx_add_aes_blocks(ctx, tid, ((uint64_t)2 << depth) - 2);
    } else {
        S[0] = k->root[i];
        t[0] = (uint8_t)k->party;
        for (int lv = 0; lv < depth; lv++) {
            size_t nodes = (size_t)1 << lv;
            fss_block cw = k->scw[(size_t)lv * k->count + i];
            unsigned tl = (unsigned)(k->tcw_l[i] >> lv) & 1u, tr = (unsigned)(k->tcw_r[i] >> lv) & 1u;
            size_t chunk = FSS_CPU_TILE / 2;
            for (size_t hi = nodes; hi > 0;) {
                size_t lo = hi > chunk ? hi - chunk : 0, m = hi - lo;
                fss_block par[FSS_CPU_TILE / 2];
                uint8_t tp[FSS_CPU_TILE / 2];
                for (size_t j = 0; j < m; j++) {
                    par[j] = S[lo + j];
                    tp[j] = t[lo + j];
                    in[2 * j] = fss_prg_input(par[j], FSS_PRG_TWEAK_CHILD(0));
                    in[2 * j + 1] = fss_prg_input(par[j], FSS_PRG_TWEAK_CHILD(1));
                }
                if (fss_ctx_aes(ctx, tid, in, ob, 2 * m) != FSS_OK)
                    return FSS_E_CRYPTO;
                for (size_t j = 0; j < m; j++)
                    for (unsigned c = 0; c < 2; c++) {
                        fss_block s = par[j];
                        unsigned tt = tp[j];
                        fss_tree_eval_level(c, &s, &tt, fss_prg_output(in[2 * j + c], ob[2 * j + c]), cw, c ? tr : tl);
                        S[2 * (lo + j) + c] = s;
                        t[2 * (lo + j) + c] = (uint8_t)tt;
                    }
                hi = lo;
            }
        }
    }
    return FSS_OK;
}

/* Instance i's full-domain shares into o (its 2^n values, or its bit vector when early). */
static fss_status full_one(fss_ctx *ctx, int tid, const fss_dpf_keys *k, size_t i, fss_block *S, uint8_t *t,
                           fss_block *in, fss_block *ob, uint64_t *o)
{
    const fss_dpf_params p = k->p;
    const int depth = FSS_DPF_DEPTH(p.n, p.early), ll = leaf_log(p);
    if (expand_one(ctx, tid, k, i, S, t, in, ob) != FSS_OK)
        return FSS_E_CRYPTO;
    size_t leaves = (size_t)1 << depth;
    if (p.early != 1)
        return leaves_out(ctx, tid, k, i, S, t, leaves, in, ob, o);
    if (ll < 7) { /* depth 0: one leaf of 2^n <= 64 outputs, one word, bits past 2^n zero */
        o[0] = fss_dpf_leaf(S[0], t[0], k->fcw[i]).lo & fss_dpf_leaf_mask(ll).lo;
    } else {
        for (size_t j = 0; j < leaves; j++) {
            fss_block lf = fss_dpf_leaf(S[j], t[j], k->fcw[i]);
            o[2 * j] = lf.lo;
            o[2 * j + 1] = lf.hi;
        }
    }
    return FSS_OK;
}

fss_status fss_dpf_eval_full(fss_ctx *ctx, const fss_dpf_keys *k, uint64_t *out)
{
    fss_status st = check_keys(ctx, k);
    if (st != FSS_OK)
        return st;
    if (k->p.n > FSS_DPF_FULL_MAX_BITS)
        return fss_ctx_fail(ctx, FSS_E_ARG, "dpf full-domain eval: n=%d above the limit %d", k->p.n,
                            FSS_DPF_FULL_MAX_BITS);
    const size_t nodes = (size_t)1 << FSS_DPF_DEPTH(k->p.n, k->p.early);
    int failed = 0;
#pragma omp parallel num_threads(fss_ctx_threads(ctx))
    {
        int tid = FSS_OMP_TID();
        uint8_t *sc = (uint8_t *)fss_ctx_scratch(ctx, tid, nodes * 17 + 2 * FSS_CPU_TILE * 16 + 64);
        if (!sc)
            FSS_SET_FAILED(failed, FSS_E_NOMEM);
#pragma omp for schedule(dynamic)
        for (size_t i = 0; i < k->count; i++) {
            if (fss_failed(&failed))
                continue;
            fss_block *in = (fss_block *)sc, *ob = in + FSS_CPU_TILE, *S = ob + FSS_CPU_TILE;
            uint8_t *t = (uint8_t *)(S + nodes);
            uint64_t *o = out + i * fss_dpf_full_words(k->p);
            if (full_one(ctx, tid, k, i, S, t, in, ob, o) != FSS_OK)
                FSS_SET_FAILED(failed, FSS_E_CRYPTO);
        }
    }
    if (failed)
        return fss_ctx_fail(ctx, (fss_status)failed, "dpf full-domain eval: %s", fss_status_str((fss_status)failed));
    return FSS_OK;
}

/* The generic path's expansion of nq instances' trees (i0 ..) at once, level by level: each
 * level's parents of all of them through the AES in tiles of FSS_CPU_TILE blocks (one call
 * per level of one small tree cost more than its AES: a lookup's trees have 2^4 to 2^7
 * leaves). Two buffers of nq 2^depth nodes (Sa, Sb; ta, tb their bits), each instance's
 * at q 2^depth; the leaves end in *S and *t. */
static fss_status expand_many(fss_ctx *ctx, int tid, const fss_dpf_keys *k, size_t i0, size_t nq, fss_block *Sa,
                              uint8_t *ta, fss_block *Sb, uint8_t *tb, fss_block *in, fss_block *ob, fss_block **S,
                              uint8_t **t)
{
    const int depth = FSS_DPF_DEPTH(k->p.n, k->p.early);
    const size_t leaves = (size_t)1 << depth, chunk = FSS_CPU_TILE / 2;
    for (size_t q = 0; q < nq; q++) {
        Sa[q * leaves] = k->root[i0 + q];
        ta[q * leaves] = (uint8_t)k->party;
    }
    for (int lv = 0; lv < depth; lv++) {
        const size_t nodes = (size_t)1 << lv, all = nq * nodes;
        for (size_t p0 = 0; p0 < all; p0 += chunk) {
            const size_t m = all - p0 < chunk ? all - p0 : chunk;
            for (size_t j = 0; j < m; j++) {
                const size_t at = ((p0 + j) >> lv << depth) + ((p0 + j) & (nodes - 1));
                in[2 * j] = fss_prg_input(Sa[at], FSS_PRG_TWEAK_CHILD(0));
                in[2 * j + 1] = fss_prg_input(Sa[at], FSS_PRG_TWEAK_CHILD(1));
            }
            if (fss_ctx_aes(ctx, tid, in, ob, 2 * m) != FSS_OK)
                return FSS_E_CRYPTO;
            for (size_t j = 0; j < m; j++) {
                const size_t q = (p0 + j) >> lv, jn = (p0 + j) & (nodes - 1), at = (q << depth) + jn, i = i0 + q;
                const fss_block cw = k->scw[(size_t)lv * k->count + i];
                for (unsigned c = 0; c < 2; c++) {
                    fss_block sc = Sa[at];
                    unsigned tt = ta[at];
                    fss_tree_eval_level(c, &sc, &tt, fss_prg_output(in[2 * j + c], ob[2 * j + c]), cw,
                                        (unsigned)((c ? k->tcw_r[i] : k->tcw_l[i]) >> lv) & 1u);
                    Sb[q * leaves + 2 * jn + c] = sc;
                    tb[q * leaves + 2 * jn + c] = (uint8_t)tt;
                }
            }
        }
        fss_block *sx = Sa;
        uint8_t *tx = ta;
        Sa = Sb, ta = tb, Sb = sx, tb = tx;
    }
    *S = Sa;
    *t = ta;
    return FSS_OK;
}

/* Instances a unit of the generic lookup's expansion: up to 2^9 leaves in all (both levels'
 * nodes, 17 KB, in the L1 cache), at most 16; trees of 2^7 leaves or more one at a time
 * (full_one: as fast there, 5% faster at 2^7 than units of 4 on a Zen 3). */
static size_t lut_unit(int depth) { return depth >= 7 ? 0 : depth <= 5 ? 16 : (size_t)1 << (9 - depth); }

/* out[i g + j] from table j (g = 2 with table2, else 1) */
static fss_status lut_eval(fss_ctx *ctx, const fss_dpf_keys *k, const uint64_t *x, const uint64_t *table,
                           const uint64_t *table2, uint64_t *out)
{
    fss_status st = check_keys(ctx, k);
    if (st != FSS_OK)
        return st;
    if (k->p.early == 1 || k->p.n > FSS_DPF_LUT_MAX_BITS || !table)
        return fss_ctx_fail(ctx, FSS_E_ARG, "dpf table lookup: needs l-bit keys of n <= %d and a table",
                            FSS_DPF_LUT_MAX_BITS);
    const size_t size = (size_t)1 << k->p.n, mask = size - 1, g = table2 ? 2 : 1;
    const uint64_t lmask = k->p.l == 64 ? ~(uint64_t)0 : ((uint64_t)1 << k->p.l) - 1;
    const int vaes = fss_ctx_vaes(ctx);
    /* the tables backwards, twice over, for the dots: table[(x - j) mod size] = rev[size -
     * 1 - x + j] for every j, one forward run (table2's after table's) */
    uint64_t *rev = (uint64_t *)malloc(2 * g * size * 8), *rev2 = rev && table2 ? rev + 2 * size : NULL;
    if (!rev)
        return fss_ctx_fail(ctx, FSS_E_NOMEM, "dpf table lookup: out of memory");
    for (size_t j = 0; j < 2 * size; j++) {
        rev[j] = table[size - 1 - (j & mask)];
        if (rev2)
            rev2[j] = table2[size - 1 - (j & mask)];
    }
    int failed = 0;
    /* VAES: FSS_VAES_EXPAND_N trees at a time, side by side (fss_vaes_dpf_lut_n); pairs of
     * whole words at n = 1 (the root a leaf): the tree, its words block, then the dot */
    const int fused = vaes && (k->p.early != 3 || k->p.n > 1), depth = FSS_DPF_DEPTH(k->p.n, k->p.early);
    /* AVX2 VAES: the leaves of a word or a pair each dotted with the table as they lie */
    const int dotted = fss_ctx_vaes256(ctx) && (k->p.early == 0 || k->p.early == 2);
    const size_t leaves = (size_t)1 << depth, many = fused ? 0 : lut_unit(depth),
                 unit = fused ? FSS_VAES_EXPAND_N : many ? many : 1, units = (k->count + unit - 1) / unit;
#pragma omp parallel num_threads(fss_ctx_threads(ctx))
    {
        int tid = FSS_OMP_TID();
        /* the trees' nodes above their last level and their bits (at most 2^(n-1) blocks and
         * 2^(n-4) + 1 bytes each); else the AES tiles, two levels of the unit's trees (their
         * blocks, then their bits) and an instance's 2^n shares (one tree: S, e, t in their room) */
        const size_t scb = fused ? unit * (size * 8 + size / 16 + 1) + 64
                                 : 2 * FSS_CPU_TILE * 16 + 2 * unit * leaves * 17 + size * 8 + 64;
        uint8_t *sc = (uint8_t *)fss_ctx_scratch(ctx, tid, scb);
        if (!sc)
            FSS_SET_FAILED(failed, FSS_E_NOMEM);
#pragma omp for schedule(dynamic)
        for (size_t u = 0; u < units; u++) {
            if (fss_failed(&failed))
                continue;
            if (fused) { /* the last level dotted with the table as it comes, in vector registers */
                const size_t i0 = u * unit, nq = k->count - i0 < unit ? k->count - i0 : unit;
                const size_t half = depth ? (size_t)1 << (depth - 1) : 1; /* the last level's parents */
                size_t idx[FSS_VAES_EXPAND_N];
                fss_block *Sq[FSS_VAES_EXPAND_N];
                uint8_t *tq[FSS_VAES_EXPAND_N];
                const uint64_t *tabq[FSS_VAES_EXPAND_N], *tabq2[FSS_VAES_EXPAND_N];
                uint64_t o[FSS_VAES_EXPAND_N], o2[FSS_VAES_EXPAND_N];
                for (size_t q = 0; q < nq; q++) {
                    idx[q] = i0 + q;
                    Sq[q] = (fss_block *)sc + q * half;
                    tq[q] = (uint8_t *)((fss_block *)sc + unit * half) + q * (half / 8 + 1);
                    tabq[q] = rev + (size - 1 - (size_t)(x[i0 + q] & mask));
                    tabq2[q] = rev2 ? rev2 + (size - 1 - (size_t)(x[i0 + q] & mask)) : NULL;
                }
                fss_vaes_dpf_lut_n(k, idx, (int)nq, depth, Sq, tq, tabq, rev2 ? tabq2 : NULL, o, o2);
                fss_ctx_add_aes_blocks(ctx, tid, nq * (((uint64_t)2 << depth) - 2 + (k->p.early == 3 ? (uint64_t)1 << depth : 0)));
                for (size_t q = 0; q < nq; q++) {
                    out[(i0 + q) * g] = o[q] & lmask;
                    if (rev2)
                        out[(i0 + q) * g + 1] = o2[q] & lmask;
                }
                continue;
            }
            const size_t i0 = u * unit, nq = k->count - i0 < unit ? k->count - i0 : unit;
            fss_block *in = (fss_block *)sc, *ob = in + FSS_CPU_TILE, *Sa = ob + FSS_CPU_TILE, *Sb = Sa + unit * leaves;
            uint8_t *ta = (uint8_t *)(Sb + unit * leaves), *tb = ta + unit * leaves, *t;
            uint64_t *e = (uint64_t *)(((uintptr_t)(tb + unit * leaves) + 7) & ~(uintptr_t)7);
            fss_block *S = Sa;
            t = ta;
            if (!many) { /* one deep tree, expanded in place (S; its bits t and outputs e past it) */
                e = (uint64_t *)(Sa + size);
                t = (uint8_t *)(e + size);
                if (expand_one(ctx, tid, k, i0, Sa, t, in, ob) != FSS_OK) {
                    FSS_SET_FAILED(failed, FSS_E_CRYPTO);
                    continue;
                }
            } else if (fss_ctx_vaes256(ctx)) { /* in place, the unit's trees side by side */
                fss_vaes256_dpf_expand(k, i0, nq, depth, Sa, ta);
                fss_ctx_add_aes_blocks(ctx, tid, nq * (((uint64_t)2 << depth) - 2));
            } else if (expand_many(ctx, tid, k, i0, nq, Sa, ta, Sb, tb, in, ob, &S, &t) != FSS_OK) {
                FSS_SET_FAILED(failed, FSS_E_CRYPTO);
                continue;
            }
            for (size_t q = 0; q < nq; q++) { /* (fss_ctx_aes counts the blocks) */
                const size_t i = i0 + q;
                const fss_block *Si = S + q * leaves;
                const uint8_t *ti = t + q * leaves;
                /* sum_j T[x - j] e_j: the shares of the one-hot at alpha pick T[x - alpha] */
                const size_t xi = (size_t)(x[i] & mask);
                const uint64_t *tab = rev + (size - 1 - xi), *tab2 = rev2 ? rev2 + (size - 1 - xi) : NULL;
                if (dotted) { /* the leaves dotted as they lie, the party's sign after */
                    uint64_t d2 = 0;
                    const uint64_t d = fss_vaes256_leaf_dot(Si, ti, leaves, k->p.early == 2, k->fcw[i], tab, tab2, &d2);
                    out[i * g] = fss_ring_cneg(d, (unsigned)k->party, k->p.l);
                    if (tab2)
                        out[i * g + 1] = fss_ring_cneg(d2, (unsigned)k->party, k->p.l);
                    continue;
                }
                if (leaves_out(ctx, tid, k, i, Si, ti, leaves, in, ob, e) != FSS_OK) {
                    FSS_SET_FAILED(failed, FSS_E_CRYPTO);
                    break;
                }
                for (size_t tj = 0; tj < g; tj++) {
                    const uint64_t *tv = tj ? tab2 : tab;
                    const uint64_t acc =
                        vaes ? fss_vaes_dot(tv, e, size) : fss_dot_u64_path(FSS_GEMM_AUTO, tv, e, size);
                    out[i * g + tj] = acc & lmask;
                }
            }
        }
        if (sc) /* the AES blocks, nodes, bits and shares, once a thread */
            fss_memzero(sc, scb);
    }
    free(rev);
    if (failed)
        return fss_ctx_fail(ctx, (fss_status)failed, "dpf table lookup: %s", fss_status_str((fss_status)failed));
    return FSS_OK;
}

fss_status fss_dpf_lut_eval(fss_ctx *ctx, const fss_dpf_keys *k, const uint64_t *x, const uint64_t *table,
                            uint64_t *out)
{
    return lut_eval(ctx, k, x, table, NULL, out);
}

fss_status fss_dpf_lut2_eval(fss_ctx *ctx, const fss_dpf_keys *k, const uint64_t *x, const uint64_t *table,
                             const uint64_t *table2, uint64_t *out)
{
    if (!table2)
        return fss_ctx_fail(ctx, FSS_E_ARG, "dpf table lookup: a second table is needed");
    return lut_eval(ctx, k, x, table, table2, out);
}

static size_t fcw_bytes(fss_dpf_params p) { return (FSS_DPF_FCW_BITS(p.n, p.l, p.early) + 7) / 8; }

/* early = 2 and 3 store their two l-bit words as one 2l-bit number (fss_dpf_pair_pack;
 * l = 64: the block as it is). */
static fss_block fcw_pack(fss_dpf_params p, fss_block f)
{
    return p.early >= 2 && p.l < 64 ? fss_dpf_pair_pack(p.l, f) : f;
}
static fss_block fcw_unpack(fss_dpf_params p, fss_block f)
{
    return p.early >= 2 && p.l < 64 ? fss_dpf_pair_unpack(p.l, f) : f;
}

/* The block layout, with the roots (roots 1) or without (0: 16 bytes an instance fewer). */
static void keys_write(const fss_dpf_keys *k, size_t first, size_t count, uint8_t *out, int roots)
{
    const fss_dpf_params p = k->p;
    const int depth = FSS_DPF_DEPTH(p.n, p.early);
    const size_t kb = FSS_DPF_KEY_BYTES(p.n, p.l, p.early) - (roots ? 0 : 16), fb = fcw_bytes(p);
    for (size_t at = 0; at < count; at += FSS_KEY_BLOCK) {
        const size_t b = count - at < FSS_KEY_BLOCK ? count - at : FSS_KEY_BLOCK;
        uint8_t *o = out + at * kb;
        o += fss_tree_block_write(o, first + at, b, k->count, depth, roots ? k->root : NULL, k->scw, k->tcw_l,
                                  k->tcw_r);
        for (size_t j = 0; j < b; j++, o += fb) {
            uint8_t f[16];
            put_block(f, fcw_pack(p, k->fcw[first + at + j]));
            memcpy(o, f, fb);
        }
        FSS_ASSERT(o == out + (at + b) * kb);
    }
}

static fss_status keys_read(fss_dpf_keys *k, size_t first, size_t count, const uint8_t *in, int roots)
{
    const fss_dpf_params p = k->p;
    if (first > k->count || count > k->count - first)
        return FSS_E_ARG;
    const int depth = FSS_DPF_DEPTH(p.n, p.early);
    const size_t kb = FSS_DPF_KEY_BYTES(p.n, p.l, p.early) - (roots ? 0 : 16), fb = fcw_bytes(p);
    const size_t fbits = FSS_DPF_FCW_BITS(p.n, p.l, p.early);
    for (size_t at = 0; at < count; at += FSS_KEY_BLOCK) {
        const size_t b = count - at < FSS_KEY_BLOCK ? count - at : FSS_KEY_BLOCK;
        const uint8_t *r = in + at * kb;
        if (!fss_tree_block_read(r, first + at, b, k->count, depth, roots ? k->root : NULL, k->scw, k->tcw_l,
                                 k->tcw_r))
            return FSS_E_FORMAT;
        r += b * (fss_tree_key_bytes(depth) - (roots ? 0 : 16));
        for (size_t j = 0; j < b; j++, r += fb) {
            if (!fss_ser_tail_clean(r, fbits))
                return FSS_E_FORMAT;
            uint8_t f[16] = {0};
            memcpy(f, r, fb);
            k->fcw[first + at + j] = fcw_unpack(p, get_block(f));
        }
    }
    return FSS_OK;
}

void fss_dpf_keys_write(const fss_dpf_keys *k, size_t first, size_t count, uint8_t *out)
{
    keys_write(k, first, count, out, 1);
}

fss_status fss_dpf_keys_read(fss_dpf_keys *k, size_t first, size_t count, const uint8_t *in)
{
    return keys_read(k, first, count, in, 1);
}

void fss_dpf_keys_write_noroots(const fss_dpf_keys *k, size_t first, size_t count, uint8_t *out)
{
    keys_write(k, first, count, out, 0);
}

fss_status fss_dpf_keys_read_noroots(fss_dpf_keys *k, size_t first, size_t count, const uint8_t *in)
{
    return keys_read(k, first, count, in, 0);
}
