/* CUDA launchers of the DCF: keygen and eval, one thread per instance over all levels,
 * calling the bodies of fss/tree_body.h and fss/dcf_body.h on the same PRG outputs as
 * kernels/dcf.c (same tweaks, same order), so the bits match the CPU's.
 *
 * The kernels are templated on the payload size G (1 and 2 compiled as constants so
 * the per-thread arrays stay in registers; 0 = any g up to FSS_DCF_MAX_G, arrays in
 * local memory). */
#include "cuda_util.h"
#include "fss/dcf_body.h"

template <int G>
__global__ void __launch_bounds__(FSS_CUDA_BLOCK)
    fss_cuda_dcf_keygen_kernel(fss_dcf_params p, size_t count, size_t vs, const uint64_t *alpha,
                               const uint64_t *beta, const fss_block *roots, fss_dcf_keys k0, fss_dcf_keys k1,
                               const fss_cuda_aes_src *d_aes)
{
    constexpr int GM = G ? G : FSS_DCF_MAX_G;
    __shared__ fss_cuda_aes_state sm;
    fss_cuda_aes_stage(&sm, d_aes);
    const int g = G ? G : p.g;
    const int fin = fss_dcf_final_blocks(g);
    FSS_CUDA_FOR(i, count) {
        /* vb[b]: all g value blocks of party b's node (tweaks VALUE(0 .. g-1)). */
        fss_block vb[2][GM];
        uint64_t Va[GM];
        fss_block S[2] = {roots[2 * i], roots[2 * i + 1]};
        unsigned t[2] = {0, 1};
        uint64_t ml = 0, mr = 0;
        const uint64_t a_i = alpha[i];
        const uint64_t *b_i = beta + i * (size_t)g;
        k0.root[i] = S[0];
        k1.root[i] = S[1];
        for (int j = 0; j < g; j++)
            Va[j] = 0;
        for (int lv = 0; lv < p.n; lv++) {
            fss_block H[2][2];
            for (unsigned b = 0; b < 2; b++) {
                H[b][0] = fss_cuda_prg(&sm, S[b], FSS_PRG_TWEAK_CHILD(0));
                H[b][1] = fss_cuda_prg(&sm, S[b], FSS_PRG_TWEAK_CHILD(1));
                for (int v = 0; v < g; v++)
                    vb[b][v] = fss_cuda_prg(&sm, S[b], FSS_PRG_TWEAK_VALUE(v));
            }
            unsigned a = fss_tree_level_bit(a_i, p.n, lv), tl, tr;
            uint64_t *vcw0 = k0.vcw + (size_t)lv * (size_t)g * vs + i;
            fss_dcf_keygen_level_values(p.l, g, a, t, vb[0], vb[1], b_i, Va, vcw0, vs);
            uint64_t *vcw1 = k1.vcw + (size_t)lv * (size_t)g * vs + i;
            for (int j = 0; j < g; j++)
                vcw1[(size_t)j * vs] = vcw0[(size_t)j * vs];
            fss_block cw;
            fss_tree_keygen_level(a, S, t, H, &cw, &tl, &tr);
            k0.scw[(size_t)lv * count + i] = cw;
            k1.scw[(size_t)lv * count + i] = cw;
            ml |= (uint64_t)tl << lv;
            mr |= (uint64_t)tr << lv;
        }
        /* Leaf: value blocks VALUE(0 .. fin-1) of both final nodes, into vb. */
        for (unsigned b = 0; b < 2; b++)
            for (int v = 0; v < fin; v++)
                vb[b][v] = fss_cuda_prg(&sm, S[b], FSS_PRG_TWEAK_VALUE(v));
        uint64_t *vcw0 = k0.vcw + (size_t)p.n * (size_t)g * vs + i;
        uint64_t *vcw1 = k1.vcw + (size_t)p.n * (size_t)g * vs + i;
        fss_dcf_keygen_final(p.l, g, S, t, vb[0], vb[1], Va, vcw0, vs);
        for (int j = 0; j < g; j++)
            vcw1[(size_t)j * vs] = vcw0[(size_t)j * vs];
        k0.tcw_l[i] = ml;
        k1.tcw_l[i] = ml;
        k0.tcw_r[i] = mr;
        k1.tcw_r[i] = mr;
    }
}

template <int G>
__global__ void __launch_bounds__(FSS_CUDA_BLOCK)
    fss_cuda_dcf_eval_kernel(fss_dcf_keys k, size_t vs, const uint64_t *x, uint64_t *out,
                             const fss_cuda_aes_src *d_aes)
{
    constexpr int GM = G ? G : FSS_DCF_MAX_G;
    __shared__ fss_cuda_aes_state sm;
    fss_cuda_aes_stage(&sm, d_aes);
    const int g = G ? G : k.p.g, n = k.p.n;
    const int nvb = fss_dcf_value_blocks(g), fin = fss_dcf_final_blocks(g);
    const unsigned party = (unsigned)k.party;
    FSS_CUDA_FOR(i, k.count) {
        fss_block vb[(GM + 1) / 2]; /* this side's value blocks; then the leaf's */
        uint64_t V[GM];
        const uint64_t xi = x[i], ml = k.tcw_l[i], mr = k.tcw_r[i];
        fss_block S = k.root[i];
        unsigned t = party;
        for (int j = 0; j < g; j++)
            V[j] = 0;
        for (int lv = 0; lv < n; lv++) {
            unsigned c = fss_tree_level_bit(xi, n, lv), f = fss_dcf_value_first_block(c, g);
            fss_block H = fss_cuda_prg(&sm, S, FSS_PRG_TWEAK_CHILD(c));
            for (int v = 0; v < nvb; v++)
                vb[v] = fss_cuda_prg(&sm, S, FSS_PRG_TWEAK_VALUE(f + (unsigned)v));
            fss_dcf_eval_level_values(party, g, c, t, vb, k.vcw + (size_t)lv * (size_t)g * vs + i, vs, V);
            unsigned tc = (unsigned)((c ? mr : ml) >> lv) & 1u;
            fss_tree_eval_level(c, &S, &t, H, k.scw[(size_t)lv * k.count + i], tc);
        }
        for (int v = 0; v < fin; v++)
            vb[v] = fss_cuda_prg(&sm, S, FSS_PRG_TWEAK_VALUE(v));
        fss_dcf_eval_final(party, k.p.l, g, S, t, vb, k.vcw + (size_t)n * (size_t)g * vs + i, vs, V);
        uint64_t *o = out + i * (size_t)g;
        for (int j = 0; j < g; j++)
            o[j] = V[j];
    }
}

static int same_params(fss_dcf_params a, fss_dcf_params b) { return a.n == b.n && a.l == b.l && a.g == b.g; }

extern "C" fss_status fss_cuda_dcf_keygen(fss_dcf_params p, size_t count, const uint64_t *d_alpha,
                                          const uint64_t *d_beta, const fss_block *d_roots, fss_dcf_keys *d_k0,
                                          fss_dcf_keys *d_k1, cudaStream_t s)
{
    if (fss_dcf_params_check(p) != FSS_OK)
        return FSS_CUDA_FAIL(FSS_E_ARG, "dcf keygen: bad parameters n=%d l=%d g=%d", p.n, p.l, p.g);
    if (d_k0->count != count || d_k1->count != count || !same_params(d_k0->p, p) || !same_params(d_k1->p, p) ||
        d_k0->party != 0 || d_k1->party != 1)
        return FSS_CUDA_FAIL(FSS_E_ARG, "dcf keygen: key buffers do not match the parameters");
    if (count == 0)
        return FSS_OK;
    if (!d_alpha || !d_beta || !d_roots || !d_k0->mem || !d_k1->mem)
        return FSS_CUDA_FAIL(FSS_E_ARG, "dcf keygen: null buffer");
    const fss_cuda_aes_src *d_aes;
    fss_status st = fss_cuda_aes_state_get(&d_aes);
    if (st != FSS_OK)
        return st;
    const size_t vs = fss_dcf_vcw_stride(count);
    const unsigned grid = fss_cuda_grid(count);
    if (p.g == 1)
        fss_cuda_dcf_keygen_kernel<1>
            <<<grid, FSS_CUDA_BLOCK, 0, s>>>(p, count, vs, d_alpha, d_beta, d_roots, *d_k0, *d_k1, d_aes);
    else if (p.g == 2)
        fss_cuda_dcf_keygen_kernel<2>
            <<<grid, FSS_CUDA_BLOCK, 0, s>>>(p, count, vs, d_alpha, d_beta, d_roots, *d_k0, *d_k1, d_aes);
    else
        fss_cuda_dcf_keygen_kernel<0>
            <<<grid, FSS_CUDA_BLOCK, 0, s>>>(p, count, vs, d_alpha, d_beta, d_roots, *d_k0, *d_k1, d_aes);
    FSS_CHECK_CUDA(cudaGetLastError());
    return FSS_OK;
}

extern "C" fss_status fss_cuda_dcf_eval(const fss_dcf_keys *d_k, const uint64_t *d_x, uint64_t *d_out, cudaStream_t s)
{
    const fss_dcf_params p = d_k->p;
    if (fss_dcf_params_check(p) != FSS_OK || (d_k->party != 0 && d_k->party != 1))
        return FSS_CUDA_FAIL(FSS_E_ARG, "dcf eval: bad key parameters (n=%d l=%d g=%d party=%d)", p.n, p.l, p.g,
                             d_k->party);
    if (d_k->count == 0)
        return FSS_OK;
    if (!d_k->mem || !d_x || !d_out)
        return FSS_CUDA_FAIL(FSS_E_ARG, "dcf eval: null buffer");
    const fss_cuda_aes_src *d_aes;
    fss_status st = fss_cuda_aes_state_get(&d_aes);
    if (st != FSS_OK)
        return st;
    const size_t vs = fss_dcf_vcw_stride(d_k->count);
    const unsigned grid = fss_cuda_grid(d_k->count);
    if (p.g == 1)
        fss_cuda_dcf_eval_kernel<1><<<grid, FSS_CUDA_BLOCK, 0, s>>>(*d_k, vs, d_x, d_out, d_aes);
    else if (p.g == 2)
        fss_cuda_dcf_eval_kernel<2><<<grid, FSS_CUDA_BLOCK, 0, s>>>(*d_k, vs, d_x, d_out, d_aes);
    else
        fss_cuda_dcf_eval_kernel<0><<<grid, FSS_CUDA_BLOCK, 0, s>>>(*d_k, vs, d_x, d_out, d_aes);
    FSS_CHECK_CUDA(cudaGetLastError());
    return FSS_OK;
}
