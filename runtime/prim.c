/* The FSS primitives' table (prim.h): the DCF, the DPF comparison and the DPF table lookup. Each entry is the
 * kernels' typed functions behind the one signature the key path calls. */
#include "prim.h"

#include <stdlib.h>
#include <string.h>

/* Each operation for the DCF (dcf_) and the comparison (cmp_), side by side. */
static size_t dcf_key_bytes(const fss_prim *p) { return FSS_DCF_KEY_BYTES(p->dcf.n, p->dcf.l, p->dcf.g) - 16; }
static size_t cmp_key_bytes(const fss_prim *p) { return FSS_DPF_KEY_BYTES(p->dpf.n, p->dpf.l, p->dpf.early) - 16; }
static size_t dcf_outs(const fss_prim *p) { return (size_t)p->dcf.g; }
static size_t cmp_outs(const fss_prim *p) { return (void)p, 1; }
static size_t dcf_parsed(const fss_prim *p, size_t m) { return fss_dcf_keys_bytes(p->dcf, m); }
static size_t cmp_parsed(const fss_prim *p, size_t m) { return fss_dpf_keys_bytes(p->dpf, m); }
static void dcf_bind(fss_prim_keys *k, int b, void *mem) { fss_dcf_keys_bind(&k->k.dcf, k->pr.dcf, b, k->count, mem); }
static void cmp_bind(fss_prim_keys *k, int b, void *mem) { fss_dpf_keys_bind(&k->k.dpf, k->pr.dpf, b, k->count, mem); }
static fss_block *dcf_roots(fss_prim_keys *k) { return k->k.dcf.root; }
static fss_block *cmp_roots(fss_prim_keys *k) { return k->k.dpf.root; }

static fss_status dcf_gen(fss_ctx *c, size_t m, const uint64_t *a, const uint64_t *beta, const fss_block *r,
                          fss_prim_keys *k0, fss_prim_keys *k1)
{
    return fss_dcf_keygen(c, k0->pr.dcf, m, a, beta, r, &k0->k.dcf, &k1->k.dcf);
}
static fss_status cmp_gen(fss_ctx *c, size_t m, const uint64_t *a, const uint64_t *beta, const fss_block *r,
                          fss_prim_keys *k0, fss_prim_keys *k1)
{
    return fss_dpf_keygen(c, k0->pr.dpf, m, a, beta, r, &k0->k.dpf, &k1->k.dpf);
}

static void dcf_write(const fss_prim_keys *k, size_t first, size_t m, uint8_t *o)
{
    fss_dcf_keys_write_noroots(&k->k.dcf, first, m, o);
}
static void cmp_write(const fss_prim_keys *k, size_t first, size_t m, uint8_t *o)
{
    fss_dpf_keys_write_noroots(&k->k.dpf, first, m, o);
}
static fss_status dcf_read(fss_prim_keys *k, size_t first, size_t m, const uint8_t *in)
{
    return fss_dcf_keys_read_noroots(&k->k.dcf, first, m, in);
}
static fss_status cmp_read(fss_prim_keys *k, size_t first, size_t m, const uint8_t *in)
{
    return fss_dpf_keys_read_noroots(&k->k.dpf, first, m, in);
}
static fss_status dcf_eval(fss_ctx *c, const fss_prim_keys *k, const uint64_t *x, uint64_t *o)
{
    return fss_dcf_eval(c, &k->k.dcf, x, o);
}
static fss_status cmp_eval(fss_ctx *c, const fss_prim_keys *k, const uint64_t *x, uint64_t *o)
{
    return fss_dpf_cmp_eval(c, &k->k.dpf, x, o);
}

/* The table lookup shares the DPF's keys and serialization (cmp_*); its keys are
 * l-bit group outputs (early 0, or 2: two a leaf) with beta 1 (pairs: the leaf pair (1,
 * beta)), and its evaluation the fused full-domain dot product. */
static fss_status lut_gen(fss_ctx *c, size_t m, const uint64_t *a, const uint64_t *beta, const fss_block *r,
                          fss_prim_keys *k0, fss_prim_keys *k1)
{
    const int pairs = k0->pr.pairs;
    uint64_t *one = beta && !pairs ? NULL : (uint64_t *)malloc((m ? m : 1) * 8);
    if (!one && (!beta || pairs))
        return FSS_E_NOMEM;
    for (size_t i = 0; one && i < m; i++)
        one[i] = 1;
    fss_status s = pairs ? fss_dpf_keygen_pairs(c, k0->pr.dpf, m, a, one, beta, r, &k0->k.dpf, &k1->k.dpf)
                         : fss_dpf_keygen(c, k0->pr.dpf, m, a, beta ? beta : one, r, &k0->k.dpf, &k1->k.dpf);
    free(one);
    return s;
}
static size_t lut_outs(const fss_prim *p) { return p->lut2 ? 2 : 1; }
static fss_status lut_eval(fss_ctx *c, const fss_prim_keys *k, const uint64_t *x, uint64_t *o)
{
    return k->pr.lut2 ? fss_dpf_lut2_eval(c, &k->k.dpf, x, k->pr.lut, k->pr.lut2, o)
                      : fss_dpf_lut_eval(c, &k->k.dpf, x, k->pr.lut, o);
}

static const fss_prim_ops g_prims[FSS_PRIM_KINDS] = {
    [FSS_PRIM_DCF] = {"DCF", dcf_key_bytes, dcf_outs, dcf_parsed, dcf_bind, dcf_roots, dcf_gen, dcf_write, dcf_read,
                      dcf_eval},
    [FSS_PRIM_DPF_CMP] = {"comparison", cmp_key_bytes, cmp_outs, cmp_parsed, cmp_bind, cmp_roots, cmp_gen, cmp_write,
                          cmp_read, cmp_eval},
    [FSS_PRIM_DPF_LUT] = {"table lookup", cmp_key_bytes, lut_outs, cmp_parsed, cmp_bind, cmp_roots, lut_gen, cmp_write,
                          cmp_read, lut_eval},
};

const fss_prim_ops *fss_prim_ops_of(fss_prim_kind kind)
{
    FSS_ASSERT((unsigned)kind < FSS_PRIM_KINDS);
    return &g_prims[kind];
}

void fss_prim_keys_bind(fss_prim_keys *k, const fss_prim *pr, int party, size_t count, void *mem)
{
    memset(k, 0, sizeof *k);
    k->pr = *pr;
    k->count = count;
    k->mem = mem;
    fss_prim_ops_of(pr->kind)->bind(k, party, mem);
}

fss_status fss_prim_keys_alloc(fss_prim_keys *k, const fss_prim *pr, int party, size_t count)
{
    const size_t bytes = (fss_prim_ops_of(pr->kind)->parsed(pr, count) + 63) & ~(size_t)63;
    void *mem = aligned_alloc(64, bytes ? bytes : 64);
    if (!mem)
        return FSS_E_NOMEM;
    memset(mem, 0, bytes ? bytes : 64); /* as the kernels' own allocation: no stale bytes in padding */
    fss_prim_keys_bind(k, pr, party, count, mem);
    k->owned = bytes ? bytes : 64;
    return FSS_OK;
}

void fss_prim_keys_free(fss_prim_keys *k)
{
    if (k->owned)
        fss_free_wiped(k->mem, k->owned);
    memset(k, 0, sizeof *k);
}
