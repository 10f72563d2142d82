/* CPU launchers of the DCF: keygen and eval, level by level over tiles of instances. */
#include "fss/dcf.h"

#include <string.h>

#include "cpu_vaes.h"
#include "cpu_vaes256.h"
#include "cpu_omp.h"
#include "fss/dcf_body.h"
#include "keyio.h"

fss_status fss_dcf_params_check(fss_dcf_params p)
{
    if (p.n < 1 || p.n > 64 || p.l < 1 || p.l > 64 || p.g < 1 || p.g > FSS_DCF_MAX_G)
        return FSS_E_ARG;
    return FSS_OK;
}

size_t fss_dcf_keys_bytes(fss_dcf_params p, size_t count)
{
    size_t bl = FSS_ALIGN64(count * 16), wl = FSS_ALIGN64(count * 8);
    return bl * (1 + (size_t)p.n) + 2 * wl + wl * ((size_t)p.n + 1) * (size_t)p.g;
}

void fss_dcf_keys_bind(fss_dcf_keys *k, fss_dcf_params p, int party, size_t count, void *mem)
{
    size_t bl = FSS_ALIGN64(count * 16), wl = FSS_ALIGN64(count * 8);
    uint8_t *m = (uint8_t *)mem;
    memset(k, 0, sizeof *k);
    k->p = p;
    k->party = party;
    k->count = count;
    k->mem = mem;
    k->bytes = fss_dcf_keys_bytes(p, count);
    k->root = (fss_block *)m;
    k->scw = (fss_block *)(m + bl);
    k->tcw_l = (uint64_t *)(m + bl * (1 + (size_t)p.n));
    k->tcw_r = (uint64_t *)(m + bl * (1 + (size_t)p.n) + wl);
    k->vcw = (uint64_t *)(m + bl * (1 + (size_t)p.n) + 2 * wl);
}

static size_t vstride(size_t count) { return fss_dcf_vcw_stride(count); }

fss_status fss_dcf_keys_alloc(fss_dcf_keys *k, fss_dcf_params p, int party, size_t count)
{
    memset(k, 0, sizeof *k);
    if (fss_dcf_params_check(p) != FSS_OK || (party != 0 && party != 1))
        return FSS_E_ARG;
    void *mem = fss_keys_mem_alloc(fss_dcf_keys_bytes(p, count));
    if (!mem)
        return FSS_E_NOMEM;
    fss_dcf_keys_bind(k, p, party, count, mem);
    k->owned = 1;
    return FSS_OK;
}

void fss_dcf_keys_free(fss_dcf_keys *k)
{
    if (k->owned)
        fss_keys_mem_free(k->mem, k->bytes);
    memset(k, 0, sizeof *k);
}

uint64_t fss_dcf_eval_aes_blocks(fss_dcf_params p)
{
    return (uint64_t)p.n * (1 + (uint64_t)fss_dcf_value_blocks(p.g)) + (uint64_t)fss_dcf_final_blocks(p.g);
}

uint64_t fss_dcf_keygen_aes_blocks(fss_dcf_params p)
{
    return 2 * ((uint64_t)p.n * (2 + (uint64_t)p.g) + (uint64_t)fss_dcf_final_blocks(p.g));
}

typedef struct keygen_arg {
    fss_dcf_keys *k0, *k1;
    const uint64_t *alpha, *beta;
    const fss_block *roots;
} keygen_arg;

/* Keygen of one tile: both parties' keys of instances [i0, i0 + m). */
static fss_status keygen_tile(fss_ctx *ctx, int tid, uint8_t *sc, size_t i0, size_t m, const void *argv)
{
    const keygen_arg *a = (const keygen_arg *)argv;
    fss_dcf_keys *k0 = a->k0, *k1 = a->k1;
    const uint64_t *alpha = a->alpha, *beta = a->beta;
    const fss_block *roots = a->roots;
    const fss_dcf_params p = k0->p;
    const int g = p.g;
    const size_t per = 2 * (2 + (size_t)g); /* blocks per instance per level, both parties */
    const size_t fin = (size_t)fss_dcf_final_blocks(g), count = k0->count, vs = vstride(count);
    fss_status st = FSS_OK;
    if (g <= FSS_VAES_DCF_MAX_G && fss_ctx_vaes(ctx)) { /* both keys, eight instances a register */
        fss_vaes_dcf_keygen(k0, k1, i0, m, alpha, beta, roots);
        fss_ctx_add_aes_blocks(ctx, tid, m * fss_dcf_keygen_aes_blocks(p));
        return FSS_OK;
    }
    if (g <= FSS_VAES256_DCF_MAX_G && fss_ctx_vaes256(ctx)) { /* both keys, two instances a register */
        fss_vaes256_dcf_keygen(k0, k1, i0, m, alpha, beta, roots);
        fss_ctx_add_aes_blocks(ctx, tid, m * fss_dcf_keygen_aes_blocks(p));
        return FSS_OK;
    }
    fss_block *in = (fss_block *)sc, *out = in + FSS_CPU_TILE * per;
    fss_block(*S)[2] = (fss_block(*)[2])(out + FSS_CPU_TILE * per);
    unsigned(*t)[2] = (unsigned(*)[2])(S + FSS_CPU_TILE);
    uint64_t *Va = (uint64_t *)(t + FSS_CPU_TILE);
    memset(Va, 0, m * (size_t)g * 8);
    for (size_t k = 0; k < m; k++) {
        size_t i = i0 + k;
        S[k][0] = k0->root[i] = roots[2 * i];
        S[k][1] = k1->root[i] = roots[2 * i + 1];
        t[k][0] = 0;
        t[k][1] = 1;
        k0->tcw_l[i] = k0->tcw_r[i] = 0;
    }
    /* Per instance and party: children 0, 1, then value blocks 0 .. g-1. */
    for (int lv = 0; lv < p.n; lv++) {
        for (size_t k = 0; k < m; k++)
            for (unsigned b = 0; b < 2; b++) {
                fss_block *q = in + k * per + b * (2 + (size_t)g);
                q[0] = fss_prg_input(S[k][b], FSS_PRG_TWEAK_CHILD(0));
                q[1] = fss_prg_input(S[k][b], FSS_PRG_TWEAK_CHILD(1));
                for (int v = 0; v < g; v++)
                    q[2 + v] = fss_prg_input(S[k][b], FSS_PRG_TWEAK_VALUE(v));
            }
        if (fss_ctx_aes(ctx, tid, in, out, m * per) != FSS_OK) {
            st = FSS_E_CRYPTO;
            goto done;
        }
        for (size_t k = 0; k < m; k++) {
            size_t i = i0 + k;
            fss_block *q = out + k * per;
            for (size_t j = 0; j < per; j++)
                q[j] = fss_prg_output(in[k * per + j], q[j]);
            const fss_block H[2][2] = {{q[0], q[1]}, {q[2 + g], q[3 + g]}};
            unsigned ab = fss_tree_level_bit(alpha[i], p.n, lv), tl, tr;
            uint64_t *vcw = k0->vcw + (size_t)lv * (size_t)g * vs + i;
            fss_dcf_keygen_level_values(p.l, g, ab, t[k], q + 2, q + 4 + g, beta + i * (size_t)g, Va + k * (size_t)g,
                                        vcw, vs);
            fss_block cw;
            fss_tree_keygen_level(ab, S[k], t[k], H, &cw, &tl, &tr);
            k0->scw[(size_t)lv * count + i] = k1->scw[(size_t)lv * count + i] = cw;
            k0->tcw_l[i] |= (uint64_t)tl << lv;
            k0->tcw_r[i] |= (uint64_t)tr << lv;
        }
    }
    if (fin) {
        for (size_t k = 0; k < m; k++)
            for (unsigned b = 0; b < 2; b++)
                for (size_t v = 0; v < fin; v++)
                    in[(k * 2 + b) * fin + v] = fss_prg_input(S[k][b], FSS_PRG_TWEAK_VALUE(v));
        if (fss_ctx_aes(ctx, tid, in, out, m * 2 * fin) != FSS_OK) {
            st = FSS_E_CRYPTO;
            goto done;
        }
        for (size_t j = 0; j < m * 2 * fin; j++)
            out[j] = fss_prg_output(in[j], out[j]);
    }
    for (size_t k = 0; k < m; k++) {
        size_t i = i0 + k;
        uint64_t *vcw = k0->vcw + (size_t)p.n * (size_t)g * vs + i;
        fss_dcf_keygen_final(p.l, g, S[k], t[k], out + (k * 2) * fin, out + (k * 2 + 1) * fin,
                             Va + k * (size_t)g, vcw, vs);
        k1->tcw_l[i] = k0->tcw_l[i];
        k1->tcw_r[i] = k0->tcw_r[i];
        for (int lv = 0; lv <= p.n; lv++)
            for (int j = 0; j < g; j++) {
                size_t o = ((size_t)lv * (size_t)g + (size_t)j) * vs + i;
                k1->vcw[o] = k0->vcw[o];
            }
    }
done:
    fss_memzero(S, m * sizeof *S);
    fss_memzero(Va, m * (size_t)g * 8);
    return st;
}

fss_status fss_dcf_keygen(fss_ctx *ctx, fss_dcf_params p, size_t count, const uint64_t *alpha,
                          const uint64_t *beta, const fss_block *roots, fss_dcf_keys *k0, fss_dcf_keys *k1)
{
    if (fss_dcf_params_check(p) != FSS_OK)
        return fss_ctx_fail(ctx, FSS_E_ARG, "dcf keygen: bad parameters n=%d l=%d g=%d", p.n, p.l, p.g);
    if (k0->count != count || k1->count != count || memcmp(&k0->p, &p, sizeof p) || memcmp(&k1->p, &p, sizeof p) ||
        k0->party != 0 || k1->party != 1)
        return fss_ctx_fail(ctx, FSS_E_ARG, "dcf keygen: key buffers do not match the parameters");
    const size_t per = 2 * (2 + (size_t)p.g);
    const keygen_arg a = {k0, k1, alpha, beta, roots};
    const fss_status st = fss_cpu_tiles(
        ctx, count, FSS_CPU_TILE * (2 * per * 16 + 2 * 16 + 2 * sizeof(unsigned) + (size_t)p.g * 8), keygen_tile, &a);
    if (st != FSS_OK)
        return fss_ctx_fail(ctx, st, "dcf keygen: %s", fss_status_str(st));
    return FSS_OK;
}

/* The AES inputs of one level of one instance: its node's child c, then the value
 * blocks of side c. */
static inline __attribute__((always_inline)) void build_level(fss_block *q, fss_block S, unsigned c, const int g)
{
    unsigned f = fss_dcf_value_first_block(c, g);
    q[0] = fss_prg_input(S, FSS_PRG_TWEAK_CHILD(c));
    for (int v = 0; v < fss_dcf_value_blocks(g); v++)
        q[1 + v] = fss_prg_input(S, FSS_PRG_TWEAK_VALUE(f + (unsigned)v));
}

/* One tile of eval. Always inlined with g a literal 1 for the common case, so the
 * value loops and word lookups of dcf_body.h fold away. */
static inline __attribute__((always_inline)) int eval_tile(fss_ctx *ctx, int tid, const fss_dcf_keys *k, const int g,
                                                           size_t i0, size_t m, const uint64_t *restrict x,
                                                           uint64_t *restrict out, uint8_t *sc)
{
    const int n = k->p.n, l = k->p.l;
    const unsigned party = (unsigned)k->party;
    const size_t nvb = (size_t)fss_dcf_value_blocks(g), per = 1 + nvb, fin = (size_t)fss_dcf_final_blocks(g);
    const size_t count = k->count, vs = vstride(count);
    fss_block *restrict in = (fss_block *)sc, *restrict ob = in + FSS_CPU_TILE * per;
    fss_block *restrict S = ob + FSS_CPU_TILE * per;
    unsigned *restrict t = (unsigned *)(S + FSS_CPU_TILE);
    uint64_t *restrict V = (uint64_t *)(t + FSS_CPU_TILE);
    const uint64_t *restrict tcl = k->tcw_l + i0, *restrict tcr = k->tcw_r + i0;
    const uint64_t *restrict xs = x + i0;
    memset(V, 0, m * (size_t)g * 8);
    for (size_t j = 0; j < m; j++) {
        S[j] = k->root[i0 + j];
        t[j] = party;
    }
    for (size_t j = 0; j < m; j++)
        build_level(in + j * per, S[j], fss_tree_level_bit(xs[j], n, 0), g);
    for (int lv = 0; lv < n; lv++) {
        if (fss_ctx_aes(ctx, tid, in, ob, m * per) != FSS_OK)
            return 0;
        const fss_block *restrict scw = k->scw + (size_t)lv * count + i0;
        const uint64_t *restrict vcw = k->vcw + (size_t)lv * (size_t)g * vs + i0;
        const int next = lv + 1 < n;
        /* One pass a level: finish level lv of instance j and build its inputs of
         * level lv + 1 while its node is in registers. */
        for (size_t j = 0; j < m; j++) {
            unsigned c = fss_tree_level_bit(xs[j], n, lv);
            /* PRG outputs into locals, not back into ob: reading 8-byte halves of a
             * 16-byte store just made defeats store-to-load forwarding. */
            fss_block vb[(FSS_DCF_MAX_G + 1) / 2];
            for (size_t v = 0; v < nvb; v++)
                vb[v] = fss_prg_output(in[j * per + 1 + v], ob[j * per + 1 + v]);
            fss_dcf_eval_level_values(party, g, c, t[j], vb, vcw + j, vs, V + j * (size_t)g);
            unsigned tc = (unsigned)((c ? tcr[j] : tcl[j]) >> lv) & 1u;
            fss_block Sj = S[j];
            unsigned tj = t[j];
            fss_tree_eval_level(c, &Sj, &tj, fss_prg_output(in[j * per], ob[j * per]), scw[j], tc);
            S[j] = Sj;
            t[j] = tj;
            if (next)
                build_level(in + j * per, Sj, fss_tree_level_bit(xs[j], n, lv + 1), g);
        }
    }
    if (fin) {
        for (size_t j = 0; j < m; j++)
            for (size_t v = 0; v < fin; v++)
                in[j * fin + v] = fss_prg_input(S[j], FSS_PRG_TWEAK_VALUE(v));
        if (fss_ctx_aes(ctx, tid, in, ob, m * fin) != FSS_OK)
            return 0;
        for (size_t j = 0; j < m * fin; j++)
            ob[j] = fss_prg_output(in[j], ob[j]);
    }
    const uint64_t *restrict vcw = k->vcw + (size_t)n * (size_t)g * vs + i0;
    for (size_t j = 0; j < m; j++) {
        fss_dcf_eval_final(party, l, g, S[j], t[j], ob + j * fin, vcw + j, vs, V + j * (size_t)g);
        memcpy(out + (i0 + j) * (size_t)g, V + j * (size_t)g, (size_t)g * 8);
    }
    return 1;
}

/* Two instantiations: the compiler would merge `g == 1 ? f(1) : f(g)` into f(g). */
static __attribute__((noinline)) int eval_tile_g1(fss_ctx *ctx, int tid, const fss_dcf_keys *k, size_t i0, size_t m,
                                                  const uint64_t *x, uint64_t *out, uint8_t *sc)
{
    return eval_tile(ctx, tid, k, 1, i0, m, x, out, sc);
}

static __attribute__((noinline)) int eval_tile_any(fss_ctx *ctx, int tid, const fss_dcf_keys *k, size_t i0, size_t m,
                                                   const uint64_t *x, uint64_t *out, uint8_t *sc)
{
    return eval_tile(ctx, tid, k, k->p.g, i0, m, x, out, sc);
}

typedef struct eval_arg {
    const fss_dcf_keys *k;
    const uint64_t *x;
    uint64_t *out;
} eval_arg;

static fss_status eval_tile_fn(fss_ctx *ctx, int tid, uint8_t *sc, size_t i0, size_t m, const void *argv)
{
    const eval_arg *a = (const eval_arg *)argv;
    const fss_dcf_keys *k = a->k;
    if (k->p.g <= FSS_VAES_DCF_MAX_G && fss_ctx_vaes(ctx)) {
        fss_vaes_dcf_eval(k, i0, m, a->x, a->out);
        fss_ctx_add_aes_blocks(ctx, tid, m * fss_dcf_eval_aes_blocks(k->p));
        return FSS_OK;
    }
    if (k->p.g <= FSS_VAES256_DCF_MAX_G && fss_ctx_vaes256(ctx)) {
        fss_vaes256_dcf_eval(k, i0, m, a->x, a->out);
        fss_ctx_add_aes_blocks(ctx, tid, m * fss_dcf_eval_aes_blocks(k->p));
        return FSS_OK;
    }
    const int ok = k->p.g == 1 ? eval_tile_g1(ctx, tid, k, i0, m, a->x, a->out, sc)
                               : eval_tile_any(ctx, tid, k, i0, m, a->x, a->out, sc);
    return ok ? FSS_OK : FSS_E_CRYPTO;
}

fss_status fss_dcf_eval(fss_ctx *ctx, const fss_dcf_keys *k, const uint64_t *x, uint64_t *out)
{
    const fss_dcf_params p = k->p;
    if (fss_dcf_params_check(p) != FSS_OK || (k->party != 0 && k->party != 1))
        return fss_ctx_fail(ctx, FSS_E_ARG, "dcf eval: bad key parameters (n=%d l=%d g=%d party=%d)", p.n, p.l,
                            p.g, k->party);
    const size_t per = 1 + (size_t)fss_dcf_value_blocks(p.g);
    const fss_status st = fss_cpu_tiles(ctx, k->count, FSS_CPU_TILE * (2 * per * 16 + 16 + sizeof(unsigned) + (size_t)p.g * 8),
                                        eval_tile_fn, &(const eval_arg){k, x, out});
    if (st != FSS_OK)
        return fss_ctx_fail(ctx, st, "dcf eval: %s", fss_status_str(st));
    return FSS_OK;
}

/* The block layout, with the roots (roots 1) or without (0: 16 bytes an instance fewer). */
static void keys_write(const fss_dcf_keys *k, size_t first, size_t count, uint8_t *out, int roots)
{
    const fss_dcf_params p = k->p;
    const size_t kb = FSS_DCF_KEY_BYTES(p.n, p.l, p.g) - (roots ? 0 : 16), vs = vstride(k->count);
    const size_t nv = ((size_t)p.n + 1) * (size_t)p.g, vb = kb - (fss_tree_key_bytes(p.n) - (roots ? 0 : 16));
    for (size_t at = 0; at < count; at += FSS_KEY_BLOCK) {
        const size_t b = count - at < FSS_KEY_BLOCK ? count - at : FSS_KEY_BLOCK;
        uint8_t *o = out + at * kb;
        o += fss_tree_block_write(o, first + at, b, k->count, p.n, roots ? k->root : NULL, k->scw, k->tcw_l,
                                  k->tcw_r);
        memset(o, 0, b * vb);
        for (size_t j = 0; j < b; j++, o += vb) {
            bitbuf bb = {o, NULL, 0};
            for (size_t v = 0; v < nv; v++)
                bitbuf_put(&bb, k->vcw[v * vs + first + at + j], p.l);
            FSS_ASSERT((bb.bit + 7) / 8 == vb);
        }
        FSS_ASSERT(o == out + (at + b) * kb);
    }
}

static fss_status keys_read(fss_dcf_keys *k, size_t first, size_t count, const uint8_t *in, int roots)
{
    const fss_dcf_params p = k->p;
    if (first > k->count || count > k->count - first)
        return FSS_E_ARG;
    const size_t kb = FSS_DCF_KEY_BYTES(p.n, p.l, p.g) - (roots ? 0 : 16), vs = vstride(k->count);
    const size_t nv = ((size_t)p.n + 1) * (size_t)p.g, tb = fss_tree_key_bytes(p.n) - (roots ? 0 : 16), vb = kb - tb;
    /* The value words, a tile of instances at a time when they fit the buffer (g = 1),
     * so each vcw row is written contiguously. */
    enum { MAXV = 65 };
    uint64_t tile[FSS_KEYS_READ_TILE * MAXV];
    const size_t tw = nv <= MAXV ? FSS_KEYS_READ_TILE : 1;
    for (size_t at = 0; at < count; at += FSS_KEY_BLOCK) {
        const size_t b = count - at < FSS_KEY_BLOCK ? count - at : FSS_KEY_BLOCK, f0 = first + at;
        const uint8_t *blk = in + at * kb;
        if (!fss_tree_block_read(blk, f0, b, k->count, p.n, roots ? k->root : NULL, k->scw, k->tcw_l, k->tcw_r))
            return FSS_E_FORMAT;
        const uint8_t *vals = blk + b * tb;
        for (size_t t = 0; t < b; t += tw) {
            const size_t tn = b - t < tw ? b - t : tw;
            for (size_t j = 0; j < tn; j++) {
                const uint8_t *r = vals + (t + j) * vb;
                if (!fss_ser_tail_clean(r, nv * (size_t)p.l))
                    return FSS_E_FORMAT;
                if (tw == 1) {
                    bitbuf bb = {NULL, r, 0};
                    for (size_t v = 0; v < nv; v++)
                        k->vcw[v * vs + f0 + t] = bitbuf_get(&bb, p.l);
                } else {
                    bits_read_run(r, nv, p.l, tile + j * nv);
                }
            }
            if (tw > 1)
                for (size_t v = 0; v < nv; v++)
                    for (size_t j = 0; j < tn; j++)
                        k->vcw[v * vs + f0 + t + j] = tile[j * nv + v];
        }
    }
    return FSS_OK;
}

void fss_dcf_keys_write(const fss_dcf_keys *k, size_t first, size_t count, uint8_t *out)
{
    keys_write(k, first, count, out, 1);
}

fss_status fss_dcf_keys_read(fss_dcf_keys *k, size_t first, size_t count, const uint8_t *in)
{
    return keys_read(k, first, count, in, 1);
}

void fss_dcf_keys_write_noroots(const fss_dcf_keys *k, size_t first, size_t count, uint8_t *out)
{
    keys_write(k, first, count, out, 0);
}

fss_status fss_dcf_keys_read_noroots(fss_dcf_keys *k, size_t first, size_t count, const uint8_t *in)
{
    return keys_read(k, first, count, in, 0);
}
