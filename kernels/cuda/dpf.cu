/* CUDA launchers of the DPF: keygen, point eval, comparison, full-domain eval. The
 * twins of kernels/dpf.c: one thread per instance walks all tree levels, calling the
 * same per-element bodies (fss/tree_body.h, fss/dpf_body.h) on the same PRG outputs,
 * so the bits match the CPU's. */
#include "cuda_util.h"
#include "fss/dpf_body.h"

/* Full-domain eval: each thread walks from the root to a subtree of 2^FULL_SUB_LOG
 * leaves and expands it depth-first, about 2 + (depth - 5) / 32 AES per leaf. */
#define FSS_CUDA_DPF_FULL_SUB_LOG 5

/* One step of party-side walk: from (S, t) to child c at level lv of instance i. */
static __device__ __forceinline__ void dpf_step(const fss_cuda_aes_state *sm, const fss_dpf_keys &k, size_t i, int lv,
                                                unsigned c, uint64_t tcw_l, uint64_t tcw_r, fss_block *S, unsigned *t)
{
    fss_block H = fss_cuda_prg(sm, *S, FSS_PRG_TWEAK_CHILD(c));
    unsigned tl = (unsigned)(tcw_l >> lv) & 1u, tr = (unsigned)(tcw_r >> lv) & 1u;
    fss_tree_eval_level(c, S, t, H, k.scw[(size_t)lv * k.count + i], c ? tr : tl);
}

__global__ void __launch_bounds__(FSS_CUDA_BLOCK)
    fss_cuda_dpf_keygen_kernel(fss_dpf_params p, size_t count, const uint64_t *alpha, const uint64_t *beta,
                               const fss_block *roots, fss_dpf_keys k0, fss_dpf_keys k1,
                               const fss_cuda_aes_src *d_aes)
{
    __shared__ fss_cuda_aes_state sm;
    fss_cuda_aes_stage(&sm, d_aes);
    const int depth = FSS_DPF_DEPTH(p.n, p.early), ll = p.n - depth;
    FSS_CUDA_FOR(i, count) {
        fss_block S[2] = {roots[2 * i], roots[2 * i + 1]};
        unsigned t[2] = {0, 1};
        uint64_t ml = 0, mr = 0;
        k0.root[i] = S[0];
        k1.root[i] = S[1];
        for (int lv = 0; lv < depth; lv++) {
            fss_block H[2][2];
            for (unsigned b = 0; b < 2; b++)
                for (unsigned c = 0; c < 2; c++)
                    H[b][c] = fss_cuda_prg(&sm, S[b], FSS_PRG_TWEAK_CHILD(c));
            unsigned a = fss_tree_level_bit(alpha[i], p.n, lv), tl, tr;
            fss_block cw;
            fss_tree_keygen_level(a, S, t, H, &cw, &tl, &tr);
            k0.scw[(size_t)lv * count + i] = cw;
            k1.scw[(size_t)lv * count + i] = cw;
            ml |= (uint64_t)tl << lv;
            mr |= (uint64_t)tr << lv;
        }
        fss_block f = {0, 0};
        if (p.early)
            f = fss_dpf_keygen_leaf(ll, (unsigned)(alpha[i] & ((1u << ll) - 1)), S);
        else
            f.lo = fss_dpf_keygen_final(p.l, beta[i], S, t);
        k0.fcw[i] = f;
        k1.fcw[i] = f;
        k0.tcw_l[i] = ml;
        k1.tcw_l[i] = ml;
        k0.tcw_r[i] = mr;
        k1.tcw_r[i] = mr;
    }
}

/* Point eval (CMP = 0) and comparison (CMP = 1): the CPU's walk_tile + eval_common. */
template <int CMP>
__global__ void __launch_bounds__(FSS_CUDA_BLOCK)
    fss_cuda_dpf_eval_kernel(fss_dpf_keys k, const uint64_t *x, uint64_t *out, const fss_cuda_aes_src *d_aes)
{
    __shared__ fss_cuda_aes_state sm;
    fss_cuda_aes_stage(&sm, d_aes);
    const int n = k.p.n, depth = FSS_DPF_DEPTH(n, k.p.early), ll = n - depth;
    const unsigned party = (unsigned)k.party;
    FSS_CUDA_FOR(i, k.count) {
        const uint64_t xi = x[i], ml = k.tcw_l[i], mr = k.tcw_r[i];
        fss_block S = k.root[i];
        unsigned t = party, acc = 0;
        for (int lv = 0; lv < depth; lv++) {
            unsigned c = fss_tree_level_bit(xi, n, lv);
            if (CMP)
                acc ^= fss_dpf_cmp_level_bit(c, S, t, (unsigned)(ml >> lv) & 1u);
            dpf_step(&sm, k, i, lv, c, ml, mr, &S, &t);
        }
        unsigned xl = (unsigned)(xi & ((1u << ll) - 1));
        if (CMP) {
            unsigned eq_or_below = k.p.early ? fss_dpf_cmp_leaf_bits(fss_dpf_leaf(S, t, k.fcw[i]), xl) : t;
            out[i] = acc ^ eq_or_below ^ (unsigned)(party == 0);
        } else if (k.p.early) {
            out[i] = fss_dpf_leaf_bit(fss_dpf_leaf(S, t, k.fcw[i]), xl);
        } else {
            out[i] = fss_dpf_eval_final(party, k.p.l, S, t, k.fcw[i].lo);
        }
    }
}

/* Full domain: thread gid owns instance gid >> top and its subtree sub = gid's low top
 * bits (top = depth - kk): the nodes at depth top on sub's path, then the 2^kk leaves
 * below, depth-first, recomputing only the levels where leaf j's path leaves j-1's.
 * Output layout as the CPU's full_one. */
__global__ void __launch_bounds__(FSS_CUDA_BLOCK)
    fss_cuda_dpf_full_kernel(fss_dpf_keys k, uint64_t *out, int kk, size_t total, size_t words,
                             const fss_cuda_aes_src *d_aes)
{
    __shared__ fss_cuda_aes_state sm;
    fss_cuda_aes_stage(&sm, d_aes);
    const int n = k.p.n, early = k.p.early, depth = FSS_DPF_DEPTH(n, early), ll = n - depth, top = depth - kk;
    const unsigned party = (unsigned)k.party;
    FSS_CUDA_FOR(gid, total) {
        const size_t i = gid >> top;
        const uint64_t sub = gid & (((uint64_t)1 << top) - 1);
        const uint64_t ml = k.tcw_l[i], mr = k.tcw_r[i];
        const fss_block fcw = k.fcw[i];
        fss_block PS[FSS_CUDA_DPF_FULL_SUB_LOG + 1];
        unsigned PT[FSS_CUDA_DPF_FULL_SUB_LOG + 1];
        PS[0] = k.root[i];
        PT[0] = party;
        for (int lv = 0; lv < top; lv++)
            dpf_step(&sm, k, i, lv, (unsigned)(sub >> (top - 1 - lv)) & 1u, ml, mr, &PS[0], &PT[0]);
        const unsigned leaves = 1u << kk;
        for (unsigned j = 0; j < leaves; j++) {
            /* j's path differs from j-1's from bit ctz(j) up: sublevels kk - ctz(j) .. kk. */
            int from = j == 0 ? 1 : kk - (__ffs((int)j) - 1);
            for (int s = from; s <= kk; s++) {
                PS[s] = PS[s - 1];
                PT[s] = PT[s - 1];
                dpf_step(&sm, k, i, top + s - 1, (j >> (kk - s)) & 1u, ml, mr, &PS[s], &PT[s]);
            }
            const size_t leaf = ((size_t)sub << kk) | j;
            if (!early) {
                out[i * words + leaf] = fss_dpf_eval_final(party, k.p.l, PS[kk], PT[kk], fcw.lo);
            } else {
                fss_block lf = fss_dpf_leaf(PS[kk], PT[kk], fcw);
                uint64_t *o = out + i * words;
                if (ll >= 7) {
                    o[2 * leaf] = lf.lo;
                    o[2 * leaf + 1] = lf.hi;
                } else { /* depth 0: one leaf, 2^n <= 64 outputs in one word, bits past 2^n zero */
                    o[leaf] = lf.lo & fss_dpf_leaf_mask(ll).lo;
                }
            }
        }
    }
}

static fss_status check_keys(const char *what, const fss_dpf_keys *d_k)
{
    if (fss_dpf_params_check(d_k->p) != FSS_OK || d_k->p.early >= 2 || (d_k->party != 0 && d_k->party != 1))
        return FSS_CUDA_FAIL(FSS_E_ARG, "dpf %s: bad key parameters (n=%d l=%d early=%d party=%d)", what, d_k->p.n,
                             d_k->p.l, d_k->p.early, d_k->party);
    if (d_k->count && !d_k->mem)
        return FSS_CUDA_FAIL(FSS_E_ARG, "dpf %s: keys for %zu instances have no memory", what, d_k->count);
    return FSS_OK;
}

static int same_params(fss_dpf_params a, fss_dpf_params b) { return a.n == b.n && a.l == b.l && a.early == b.early; }

extern "C" fss_status fss_cuda_dpf_keygen(fss_dpf_params p, size_t count, const uint64_t *d_alpha,
                                          const uint64_t *d_beta, const fss_block *d_roots, fss_dpf_keys *d_k0,
                                          fss_dpf_keys *d_k1, cudaStream_t s)
{
    if (fss_dpf_params_check(p) != FSS_OK || p.early >= 2) /* pairs: CPU only */
        return FSS_CUDA_FAIL(FSS_E_ARG, "dpf keygen: bad parameters n=%d l=%d early=%d", p.n, p.l, p.early);
    if (d_k0->count != count || d_k1->count != count || !same_params(d_k0->p, p) || !same_params(d_k1->p, p) ||
        d_k0->party != 0 || d_k1->party != 1)
        return FSS_CUDA_FAIL(FSS_E_ARG, "dpf keygen: key buffers do not match the parameters");
    if (count == 0)
        return FSS_OK;
    if (!d_alpha || !d_roots || (!p.early && !d_beta) || !d_k0->mem || !d_k1->mem)
        return FSS_CUDA_FAIL(FSS_E_ARG, "dpf keygen: null buffer");
    const fss_cuda_aes_src *d_aes;
    fss_status st = fss_cuda_aes_state_get(&d_aes);
    if (st != FSS_OK)
        return st;
    fss_cuda_dpf_keygen_kernel<<<fss_cuda_grid(count), FSS_CUDA_BLOCK, 0, s>>>(p, count, d_alpha, d_beta, d_roots,
                                                                               *d_k0, *d_k1, d_aes);
    FSS_CHECK_CUDA(cudaGetLastError());
    return FSS_OK;
}

static fss_status eval_common(const char *what, const fss_dpf_keys *d_k, const uint64_t *d_x, uint64_t *d_out,
                              int cmp, cudaStream_t s)
{
    fss_status st = check_keys(what, d_k);
    if (st != FSS_OK || d_k->count == 0)
        return st;
    if (!d_x || !d_out)
        return FSS_CUDA_FAIL(FSS_E_ARG, "dpf %s: null buffer", what);
    const fss_cuda_aes_src *d_aes;
    if ((st = fss_cuda_aes_state_get(&d_aes)) != FSS_OK)
        return st;
    unsigned grid = fss_cuda_grid(d_k->count);
    if (cmp)
        fss_cuda_dpf_eval_kernel<1><<<grid, FSS_CUDA_BLOCK, 0, s>>>(*d_k, d_x, d_out, d_aes);
    else
        fss_cuda_dpf_eval_kernel<0><<<grid, FSS_CUDA_BLOCK, 0, s>>>(*d_k, d_x, d_out, d_aes);
    FSS_CHECK_CUDA(cudaGetLastError());
    return FSS_OK;
}

extern "C" fss_status fss_cuda_dpf_eval(const fss_dpf_keys *d_k, const uint64_t *d_x, uint64_t *d_out, cudaStream_t s)
{
    return eval_common("eval", d_k, d_x, d_out, 0, s);
}

extern "C" fss_status fss_cuda_dpf_cmp_eval(const fss_dpf_keys *d_k, const uint64_t *d_x, uint64_t *d_out,
                                            cudaStream_t s)
{
    return eval_common("cmp eval", d_k, d_x, d_out, 1, s);
}

extern "C" fss_status fss_cuda_dpf_eval_full(const fss_dpf_keys *d_k, uint64_t *d_out, cudaStream_t s)
{
    fss_status st = check_keys("full-domain eval", d_k);
    if (st != FSS_OK)
        return st;
    if (d_k->p.n > FSS_DPF_FULL_MAX_BITS)
        return FSS_CUDA_FAIL(FSS_E_ARG, "dpf full-domain eval: n=%d above the limit %d", d_k->p.n,
                             FSS_DPF_FULL_MAX_BITS);
    if (d_k->count == 0)
        return FSS_OK;
    if (!d_out)
        return FSS_CUDA_FAIL(FSS_E_ARG, "dpf full-domain eval: null output");
    const int depth = FSS_DPF_DEPTH(d_k->p.n, d_k->p.early);
    const int kk = depth < FSS_CUDA_DPF_FULL_SUB_LOG ? depth : FSS_CUDA_DPF_FULL_SUB_LOG;
    const int top = depth - kk;
    const size_t words = fss_dpf_full_words(d_k->p);
    if (d_k->count > (SIZE_MAX >> top) || d_k->count > SIZE_MAX / 8 / words)
        return FSS_CUDA_FAIL(FSS_E_ARG, "dpf full-domain eval: %zu instances of n=%d overflow", d_k->count, d_k->p.n);
    const size_t total = d_k->count << top;
    const fss_cuda_aes_src *d_aes;
    if ((st = fss_cuda_aes_state_get(&d_aes)) != FSS_OK)
        return st;
    fss_cuda_dpf_full_kernel<<<fss_cuda_grid(total), FSS_CUDA_BLOCK, 0, s>>>(*d_k, d_out, kk, total, words, d_aes);
    FSS_CHECK_CUDA(cudaGetLastError());
    return FSS_OK;
}
