/* fss-bench: one batch of one primitive, its inputs and keys, and the definitions its
 * reconstructed shares are checked against. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "fss_bench.h"


int uses_dcf(const batch *b) { return b->prim == P_DCF; }

static uint64_t mask_bits(int bits) { return bits >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << bits) - 1; }

/* Inputs of count instances: random alpha and nonzero beta (so the checks are never
 * vacuous); x at alpha, alpha + 1, alpha - 1 and at random, in turn. */
void batch_inputs(batch *b, fss_ctx *ctx, fss_rng *rng, int prim, int n, int l, int g, size_t count)
{
    memset(b, 0, sizeof *b);
    b->prim = prim;
    b->n = n;
    b->l = l;
    b->g = prim == P_DCF ? g : 1;
    b->count = count;
    b->dp.n = n;
    b->dp.l = l;
    b->dp.early = prim == P_LUT ? (l <= 62 ? 2 : 3) : prim == P_DPF1 || prim == P_DPFCMP; /* lookups: as gates_lut.c */
    b->cp.n = n;
    b->cp.l = l;
    b->cp.g = b->g;
    b->alpha = (uint64_t *)xmalloc(count * 8);
    b->beta = (uint64_t *)xmalloc(count * (size_t)b->g * 8);
    b->x = (uint64_t *)xmalloc(count * 8);
    b->roots = (fss_block *)xmalloc(2 * count * sizeof(fss_block));
    OK(ctx, fss_rng_ring(rng, b->alpha, count, n));
    OK(ctx, fss_rng_ring(rng, b->beta, count * (size_t)b->g, l));
    OK(ctx, fss_rng_ring(rng, b->x, count, n));
    OK(ctx, fss_rng_bytes(rng, b->roots, 2 * count * sizeof(fss_block)));
    uint64_t m = mask_bits(n);
    for (size_t i = 0; i < count * (size_t)b->g; i++)
        if (!b->beta[i] || prim == P_LUT) /* a lookup's keys are of the one-hot: beta 1 */
            b->beta[i] = 1;
    if (prim == P_LUT) {
        b->table = (uint64_t *)xmalloc(((size_t)1 << n) * 8);
        OK(ctx, fss_rng_ring(rng, b->table, (size_t)1 << n, l));
    }
    for (size_t i = 0; i < count; i++) {
        switch (i % 4) {
        case 0: b->x[i] = b->alpha[i]; break;
        case 1: b->x[i] = (b->alpha[i] + 1) & m; break;
        case 2: b->x[i] = (b->alpha[i] - 1) & m; break;
        default: break;
        }
    }
}

void batch_alloc_keys(batch *b, fss_ctx *ctx)
{
    for (int p = 0; p < 2; p++) {
        if (uses_dcf(b))
            OK(ctx, fss_dcf_keys_alloc(&b->ck[p], b->cp, p, b->count));
        else
            OK(ctx, fss_dpf_keys_alloc(&b->dk[p], b->dp, p, b->count));
    }
}

void batch_free(batch *b)
{
    for (int p = 0; p < 2; p++) {
        if (b->ck[p].mem)
            fss_dcf_keys_free(&b->ck[p]);
        if (b->dk[p].mem)
            fss_dpf_keys_free(&b->dk[p]);
    }
    free(b->alpha);
    free(b->beta);
    free(b->x);
    free(b->table);
    free(b->roots);
    memset(b, 0, sizeof *b);
}

uint64_t eval_blocks(const batch *b)
{
    if (b->prim == P_LUT) /* the whole tree (early = 3: and each leaf's words block) */
        return ((uint64_t)2 << FSS_DPF_DEPTH(b->n, b->dp.early)) - 2 +
               (b->dp.early == 3 ? (uint64_t)1 << FSS_DPF_DEPTH(b->n, b->dp.early) : 0);
    return uses_dcf(b) ? fss_dcf_eval_aes_blocks(b->cp) : fss_dpf_eval_aes_blocks(b->dp);
}
uint64_t keygen_blocks(const batch *b)
{
    return uses_dcf(b) ? fss_dcf_keygen_aes_blocks(b->cp) : fss_dpf_keygen_aes_blocks(b->dp);
}
size_t key_bytes(const batch *b)
{
    return uses_dcf(b) ? FSS_DCF_KEY_BYTES(b->n, b->l, b->g) : FSS_DPF_KEY_BYTES(b->n, b->l, b->dp.early);
}

fss_status batch_keygen(fss_ctx *ctx, batch *b)
{
    if (uses_dcf(b))
        return fss_dcf_keygen(ctx, b->cp, b->count, b->alpha, b->beta, b->roots, &b->ck[0], &b->ck[1]);
    return fss_dpf_keygen(ctx, b->dp, b->count, b->alpha, b->beta, b->roots, &b->dk[0], &b->dk[1]);
}

fss_status batch_eval(fss_ctx *ctx, const batch *b, int party, const uint64_t *x, uint64_t *out)
{
    switch (b->prim) {
    case P_DCF: return fss_dcf_eval(ctx, &b->ck[party], x, out);
    case P_DPFCMP: return fss_dpf_cmp_eval(ctx, &b->dk[party], x, out);
    case P_LUT: return fss_dpf_lut_eval(ctx, &b->dk[party], x, b->table, out);
    default: return fss_dpf_eval(ctx, &b->dk[party], x, out);
    }
}

/* The definition: what the two shares of instance i's output e must reconstruct to. */
static uint64_t expected(const batch *b, size_t i, int e)
{
    uint64_t a = b->alpha[i], x = b->x[i], beta = b->beta[i * (size_t)b->g + (size_t)e] & mask_bits(b->l);
    switch (b->prim) {
    case P_DPF: return x == a ? beta : 0;
    case P_DPF1: return x == a;
    case P_DCF: return x < a ? beta : 0;
    case P_LUT: return b->table[(x - a) & mask_bits(b->n)] & mask_bits(b->l);
    default: return x < a; /* P_DPFCMP */
    }
}

/* Shares add in Z_2^l (DPF, DCF); bit outputs are XOR shares. */
static uint64_t reconstruct(const batch *b, uint64_t y0, uint64_t y1)
{
    if (b->prim == P_DPF1 || b->prim == P_DPFCMP)
        return y0 ^ y1;
    return (y0 + y1) & mask_bits(b->l);
}

/* Instances [first, first + m) of y0, y1 (indexed from first) against the definition. */
void check_outputs(const char *where, const batch *b, size_t first, size_t m, const uint64_t *y0,
                          const uint64_t *y1)
{
    const size_t g = (size_t)b->g;
    for (size_t j = 0; j < m * g; j++) {
        const size_t i = first + j / g;
        const uint64_t got = reconstruct(b, y0[j], y1[j]), want = expected(b, i, (int)(j % g));
        if (got != want)
            die("%s: %s n=%d l=%d g=%d: instance %zu (alpha=%" PRIu64 " x=%" PRIu64 " beta[%zu]=%" PRIu64
                "): shares %" PRIu64 " + %" PRIu64 " give %" PRIu64 ", want %" PRIu64,
                where, prim_names[b->prim], b->n, b->l, b->g, i, b->alpha[i], b->x[i], j % g, b->beta[first * g + j],
                y0[j], y1[j], got, want);
    }
}
