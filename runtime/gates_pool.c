/* Pooling: gathers and sums are local (they act alike on masks, masked values and
 * values); max is a tree of ReLUs, max(a, b) = b + relu(a - b), one batched ReLU per
 * level of the tree; average is a sum and a public fixed-point scale. */
#include <string.h>

#include "eval_internal.h"
#include "fss/gates.h"

static fss_status pool_shape(fss_eval *ev, const char *name, const fss_tensor *x, size_t k, size_t stride,
                             size_t pad, size_t *ho, size_t *wo)
{
    if (x->ndim != 4 || !k || !stride || x->shape[2] + 2 * pad < k || x->shape[3] + 2 * pad < k)
        return fss_ev_fail(ev, FSS_E_ARG, "%s: needs a [batch][c][h][w] input at least %zu x %zu", name, k, k);
    if (2 * pad > k)
        return fss_ev_fail(ev, FSS_E_ARG, "%s: padding %zu is more than half the window %zu", name, pad, k);
    *ho = (x->shape[2] + 2 * pad - k) / stride + 1;
    *wo = (x->shape[3] + 2 * pad - k) / stride + 1;
    return FSS_OK;
}

static size_t clamp_index(size_t i, size_t pad, size_t n) { return i < pad ? 0 : i - pad >= n ? n - 1 : i - pad; }

/* out[(b c) oy ox] = x[b][c][oy s + ky - pad][ox s + kx - pad]. A position in the
 * padding takes the nearest input element instead, which lies in the same window (pad
 * at most k / 2): a duplicate never changes a max, so this is max pooling with the
 * padding ignored (PyTorch's -inf padding), on masks and masked values alike. */
static void gather(const fss_tensor *x, size_t ky, size_t kx, size_t stride, size_t pad, size_t ho, size_t wo,
                   uint64_t *out)
{
    const size_t bc = x->shape[0] * x->shape[1], h = x->shape[2], w = x->shape[3];
    for (size_t i = 0; i < bc; i++)
        for (size_t oy = 0; oy < ho; oy++) {
            const size_t iy = clamp_index(oy * stride + ky, pad, h);
            for (size_t ox = 0; ox < wo; ox++)
                out[(i * ho + oy) * wo + ox] = x->v[(i * h + iy) * w + clamp_index(ox * stride + kx, pad, w)];
        }
}

fss_status fss_gate_maxpool(fss_eval *ev, const fss_tensor *x, size_t k, size_t stride, fss_tensor *y)
{
    return fss_gate_maxpool_pad(ev, x, k, stride, 0, y);
}

/* In place: cand holds kk candidates for each of nout outputs, candidate-major
 * (cand[j nout + i]); on return cand[0 .. nout) are the maxima. A tree of ReLUs,
 * max(a, b) = b + relu(a - b), one batched ReLU per level: ceil(log2 kk) levels. */
static fss_status max_tree(fss_eval *ev, fss_tensor *cand, size_t kk, size_t nout)
{
    fss_status s = FSS_OK;
    size_t live = kk;
    while (live > 1 && s == FSS_OK) {
        const size_t pairs = live / 2;
        fss_tensor a = {0}, b = {0}, d = {0}, r = {0};
        size_t ps[1] = {pairs * nout};
        s = fss_tensor_init(&a, 1, ps, cand->bits, cand->scale);
        if (s == FSS_OK)
            s = fss_tensor_init(&b, 1, ps, cand->bits, cand->scale);
        if (s == FSS_OK) {
            memcpy(a.v, cand->v, pairs * nout * 8);                /* candidates 0 .. pairs-1 */
            memcpy(b.v, cand->v + pairs * nout, pairs * nout * 8); /* against pairs .. 2 pairs-1 */
            s = fss_gate_sub(ev, &a, &b, &d);
        }
        if (s == FSS_OK)
            s = fss_gate_relu(ev, &d, &r);
        if (s == FSS_OK) {
            fss_tensor m = {0};
            s = fss_gate_add(ev, &r, &b, &m);
            if (s == FSS_OK) {
                memcpy(cand->v, m.v, pairs * nout * 8);
                if (live % 2) /* the odd one out moves up */
                    memmove(cand->v + pairs * nout, cand->v + (live - 1) * nout, nout * 8);
            }
            fss_tensor_free(&m);
        }
        live = pairs + live % 2;
        fss_tensor_free(&a);
        fss_tensor_free(&b);
        fss_tensor_free(&d);
        fss_tensor_free(&r);
    }
    return s;
}

/* Separable: the max along each row's windows, then along the columns of that. With
 * overlapping windows (k > stride) neighbours share their row maxima: a 3x3/2 pool takes
 * 6 comparisons an output instead of 8, the same levels (2 + 2 against ceil(log2 9)). */
fss_status fss_gate_maxpool_pad(fss_eval *ev, const fss_tensor *x, size_t k, size_t stride, size_t pad, fss_tensor *y)
{
    size_t ho = 0, wo = 0;
    fss_status s = pool_shape(ev, "maxpool", x, k, stride, pad, &ho, &wo);
    if (s != FSS_OK)
        return s;
    const size_t bc = x->shape[0] * x->shape[1], h = x->shape[2], w = x->shape[3];
    const size_t n1 = bc * h * wo, n2 = bc * ho * wo;
    size_t f1[1] = {k * n1}, f2[1] = {k * n2};
    fss_tensor rows = {0}, cols = {0};
    if ((s = fss_tensor_init(&rows, 1, f1, x->bits, x->scale)) != FSS_OK ||
        (s = fss_tensor_init(&cols, 1, f2, x->bits, x->scale)) != FSS_OK) {
        fss_tensor_free(&rows);
        return fss_ev_fail(ev, s, "maxpool: cannot make the candidates");
    }
    /* rows: candidate kx of [i][iy][ox] is x[i][iy][ox s + kx - pad] (nearest inside) */
    for (size_t kx = 0; kx < k; kx++)
        for (size_t r = 0; r < bc * h; r++)
            for (size_t ox = 0; ox < wo; ox++)
                rows.v[kx * n1 + r * wo + ox] = x->v[r * w + clamp_index(ox * stride + kx, pad, w)];
    s = max_tree(ev, &rows, k, n1);
    /* columns: candidate ky of [i][oy][ox] is rows[i][oy s + ky - pad][ox] */
    for (size_t ky = 0; ky < k && s == FSS_OK; ky++)
        for (size_t i = 0; i < bc; i++)
            for (size_t oy = 0; oy < ho; oy++)
                memcpy(cols.v + ky * n2 + (i * ho + oy) * wo,
                       rows.v + (i * h + clamp_index(oy * stride + ky, pad, h)) * wo, wo * 8);
    if (s == FSS_OK)
        s = max_tree(ev, &cols, k, n2);
    if (s == FSS_OK) {
        size_t shape[4] = {x->shape[0], x->shape[1], ho, wo};
        if ((s = fss_tensor_init(y, 4, shape, x->bits, x->scale)) == FSS_OK)
            memcpy(y->v, cols.v, n2 * 8);
        else
            fss_ev_fail(ev, s, "maxpool: cannot make the output");
    }
    fss_tensor_free(&rows);
    fss_tensor_free(&cols);
    return s;
}

int fss_avgpool_frac(size_t kk, int bits)
{
    int sh = 0;
    while (((size_t)1 << sh) < kk)
        sh++;
    if (((size_t)1 << sh) == kk)
        return 0;
    const int want = sh + 10 > FSS_AVGPOOL_FRAC ? sh + 10 : FSS_AVGPOOL_FRAC;
    return bits >= 2 * want ? want : bits / 2;
}

fss_status fss_gate_avgpool(fss_eval *ev, const fss_tensor *x, size_t k, size_t stride, fss_tensor *y)
{
    size_t ho = 0, wo = 0;
    fss_status s = pool_shape(ev, "avgpool", x, k, stride, 0, &ho, &wo);
    if (s != FSS_OK)
        return s;
    const size_t nout = x->shape[0] * x->shape[1] * ho * wo, kk = k * k;
    size_t shape[4] = {x->shape[0], x->shape[1], ho, wo};
    fss_tensor sum = {0}, scaled = {0};
    uint64_t *g = (uint64_t *)fss_ev_alloc(ev, nout * 8);
    if (!g)
        return FSS_E_NOMEM;
    if ((s = fss_tensor_init(&sum, 4, shape, x->bits, x->scale)) != FSS_OK) {
        free(g);
        return fss_ev_fail(ev, s, "avgpool: cannot make the sum");
    }
    for (size_t ky = 0; ky < k; ky++)
        for (size_t kx = 0; kx < k; kx++) {
            gather(x, ky, kx, stride, 0, ho, wo, g);
            for (size_t i = 0; i < nout; i++)
                sum.v[i] = fss_ring_add(sum.v[i], g[i], x->bits);
        }
    free(g);
    /* divide by k*k: a shift when it is a power of two, else a fixed-point multiply by
     * round(2^frac / kk) and a shift, frac 10 bits over kk's */
    int sh = 0;
    while (((size_t)1 << sh) < kk)
        sh++;
    if (((size_t)1 << sh) == kk) {
        s = fss_gate_ars(ev, &sum, sh, y);
    } else {
        const int frac = fss_avgpool_frac(kk, x->bits);
        uint64_t c = (((uint64_t)1 << frac) + kk / 2) / kk;
        s = fss_gate_scale(ev, &sum, c, &scaled);
        if (s == FSS_OK)
            s = fss_gate_ars(ev, &scaled, frac, y);
    }
    if (s == FSS_OK)
        y->scale = x->scale;
    fss_tensor_free(&sum);
    fss_tensor_free(&scaled);
    return s;
}

fss_status fss_tensor_reshape(fss_tensor *t, int ndim, const size_t *shape)
{
    size_t count = 1;
    for (int i = 0; i < ndim; i++)
        count *= shape[i];
    if (ndim < 1 || ndim > 4 || count != t->count)
        return FSS_E_ARG;
    t->ndim = ndim;
    for (int i = 0; i < 4; i++)
        t->shape[i] = i < ndim ? shape[i] : 0;
    return FSS_OK;
}
