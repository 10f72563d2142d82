/* Per-instance readers of serialized DPF and DCF keys (the block layouts of fss/dpf.h
 * and fss/dcf.h) into the level-major layout of a bound key batch. The GPU parses a
 * step's keys with them, one instance a thread, straight from the bytes of the key
 * file; the CPU's block readers (fss_dpf_keys_read, fss_dcf_keys_read) copy whole runs
 * and must give the same fields (tests/test_keys.c compares them). */
#ifndef FSS_KEYPARSE_BODY_H
#define FSS_KEYPARSE_BODY_H

#include "fss/dcf.h"
#include "fss/dpf.h"
#include "fss/dpf_body.h"

/* nbytes (at most 8) little-endian bytes; any alignment. */
static inline FSS_HD uint64_t fss_ser_le(const uint8_t *p, size_t nbytes)
{
    uint64_t v = 0;
    for (size_t j = 0; j < nbytes; j++)
        v |= (uint64_t)p[j] << (8 * j);
    return v;
}

static inline FSS_HD fss_block fss_ser_block(const uint8_t *p)
{
    fss_block b;
    b.lo = fss_ser_le(p, 8);
    b.hi = fss_ser_le(p + 8, 8);
    return b;
}

/* Instance i of count serialized at kb bytes each from in (blocks counted from instance
 * 0): the start of its block, the block's size *b and i's place *j in it. */
static inline FSS_HD const uint8_t *fss_ser_block_of(const uint8_t *in, size_t i, size_t count, size_t kb, size_t *b,
                                                    size_t *j)
{
    const size_t first = i / FSS_KEY_BLOCK * FSS_KEY_BLOCK;
    *b = count - first < FSS_KEY_BLOCK ? count - first : FSS_KEY_BLOCK;
    *j = i - first;
    return in + first * kb;
}

/* The tree part of instance i (place j of a block of b at blk) into the arrays of a
 * batch of count; 0 when a control-bit mask has bits at or past depth. With roots 0 the
 * block has no root fields (the _noroots layout) and root[i] is left alone. */
static inline FSS_HD int fss_tree_parse_one(const uint8_t *blk, size_t b, size_t j, int depth, size_t i, size_t count,
                                            int roots, fss_block *root, fss_block *scw, uint64_t *tcw_l,
                                            uint64_t *tcw_r)
{
    const size_t mb = ((size_t)depth + 7) / 8, r0 = roots ? 1 : 0;
    if (roots)
        root[i] = fss_ser_block(blk + j * 16);
    for (int lv = 0; lv < depth; lv++)
        scw[(size_t)lv * count + i] = fss_ser_block(blk + b * 16 * (r0 + (size_t)lv) + j * 16);
    const uint8_t *t = blk + b * 16 * (r0 + (size_t)depth);
    const uint64_t l = fss_ser_le(t + j * mb, mb), r = fss_ser_le(t + (b + j) * mb, mb);
    tcw_l[i] = l;
    tcw_r[i] = r;
    const uint64_t stray = depth >= 64 ? 0 : ~(((uint64_t)1 << depth) - 1);
    return ((l | r) & stray) == 0;
}

/* Bits past `bits` in the last byte of a field must be zero. */
static inline FSS_HD int fss_ser_tail_clean(const uint8_t *p, size_t bits)
{
    return (bits & 7) == 0 || (p[bits >> 3] >> (bits & 7)) == 0;
}

/* Instance i of the batch k (bound, count instances) from in, the batch's serialized
 * keys (roots 0: the _noroots layout, k->root left alone); 0 when stray bits show
 * corruption. */
static inline FSS_HD int fss_dpf_parse_one_r(const fss_dpf_keys *k, const uint8_t *in, size_t i, int roots)
{
    const fss_dpf_params p = k->p;
    const int depth = FSS_DPF_DEPTH(p.n, p.early);
    const size_t rb = roots ? 16 : 0, kb = FSS_DPF_KEY_BYTES(p.n, p.l, p.early) - 16 + rb;
    const size_t tb = rb + 16 * (size_t)depth + 2 * (((size_t)depth + 7) / 8);
    const size_t fbits = FSS_DPF_FCW_BITS(p.n, p.l, p.early), fb = (fbits + 7) / 8;
    size_t b, j;
    const uint8_t *blk = fss_ser_block_of(in, i, k->count, kb, &b, &j);
    int ok = fss_tree_parse_one(blk, b, j, depth, i, k->count, roots, k->root, k->scw, k->tcw_l, k->tcw_r);
    const uint8_t *f = blk + b * tb + j * fb;
    fss_block c;
    c.lo = fss_ser_le(f, fb < 8 ? fb : 8);
    c.hi = fb > 8 ? fss_ser_le(f + 8, fb - 8) : 0;
    k->fcw[i] = p.early >= 2 && p.l < 64 ? fss_dpf_pair_unpack(p.l, c) : c;
    return ok && fss_ser_tail_clean(f, fbits);
}

static inline FSS_HD int fss_dpf_parse_one(const fss_dpf_keys *k, const uint8_t *in, size_t i)
{
    return fss_dpf_parse_one_r(k, in, i, 1);
}

static inline FSS_HD int fss_dcf_parse_one_r(const fss_dcf_keys *k, const uint8_t *in, size_t i, int roots)
{
    const fss_dcf_params p = k->p;
    const size_t rb = roots ? 16 : 0, kb = FSS_DCF_KEY_BYTES(p.n, p.l, p.g) - 16 + rb;
    const size_t tb = rb + 16 * (size_t)p.n + 2 * (((size_t)p.n + 7) / 8), vb = kb - tb;
    const size_t nv = ((size_t)p.n + 1) * (size_t)p.g, vs = (k->count + 7) & ~(size_t)7; /* fss_dcf_vcw_stride */
    const uint64_t mask = p.l >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << p.l) - 1);
    size_t b, j;
    const uint8_t *blk = fss_ser_block_of(in, i, k->count, kb, &b, &j);
    const int ok = fss_tree_parse_one(blk, b, j, p.n, i, k->count, roots, k->root, k->scw, k->tcw_l, k->tcw_r);
    const uint8_t *v = blk + b * tb + j * vb;
    size_t bit = 0;
    for (size_t q = 0; q < nv; q++, bit += (size_t)p.l) { /* l bits at bit: at most 9 bytes */
        const size_t at = bit >> 3, sh = bit & 7, nbytes = (sh + (size_t)p.l + 7) / 8;
        uint64_t val = fss_ser_le(v + at, nbytes < 8 ? nbytes : 8) >> sh;
        if (nbytes > 8) /* then sh > 0 */
            val |= (uint64_t)v[at + 8] << (64 - sh);
        k->vcw[q * vs + i] = val & mask;
    }
    return ok && fss_ser_tail_clean(v, nv * (size_t)p.l);
}

static inline FSS_HD int fss_dcf_parse_one(const fss_dcf_keys *k, const uint8_t *in, size_t i)
{
    return fss_dcf_parse_one_r(k, in, i, 1);
}

#endif
