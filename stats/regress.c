/* Ordinary least squares with an intercept (fss/stats.h): y on x_1 .. x_p, from the same
 * secret moments as a correlation matrix, with only the coefficients and the intercept
 * opened, each as a float (a mantissa in [1, 2) and a power of two: a function of the
 * value alone).
 *
 *   1. The correlations of [x_1 .. x_p, y] (fss_stats_corr_core): R among the x's, r_y of
 *      each x with y, at scale 2^-REG_F.
 *   2. R b = r_y by Gaussian elimination without pivots (R is a correlation matrix:
 *      positive definite while no x is constant or a combination of others; its Schur
 *      complements keep |entries| <= 1), each pivot's reciprocal from its leading one and
 *      mantissa (fss_gate_normalize, 1/m = rsqrt_fine(m)^2, 2^(F - e) from a table), then
 *      back substitution: b, the standardized coefficients.
 *   3. beta_j = b_j sigma_y / sigma_j: the ratio from the moments' mantissas and leading
 *      ones (sqrt(m_y / m_j) = m_y rsqrt(m_y m_j), a half power of two from a table), b_j's
 *      own leading one, renormalized: a signed mantissa and an exponent.
 *   4. The intercept c_y - sum beta_j c_j + Z, with Z = mean(Y) 2^-fy - sum beta_j mean(X_j)
 *      2^-fj over the encoded values (X = (x - c) 2^f): each term a float from the joint
 *      sums, aligned at the largest term's exponent (a secret max, a table of powers of two,
 *      terms under 2^-25 of it dropped), summed, renormalized. Party 1 adds the public
 *      c_y - sum beta_j c_j to the opened Z.
 * A zero mantissa opens the exponent 0. Words: p signed mantissas at scale 2^-CORR_F, p
 * exponents, then Z's mantissa and exponent. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fss/ring.h"
#include "stats_internal.h"

#define REG_F 24      /* the solve's fixed point */
#define REG_BETA 12   /* |b| < 2^12 */
#define REG_ALIGN 25  /* the intercept's terms: 25 bits under the largest */
#define REG_SHIFT 10  /* the alignment table's index bits */

/* ---- small local helpers: copies of wires, as every walk's values are wires ---------- */

/* [t_0 | t_1 | ... ] of n tensors of one ring */
static fss_status stack(fss_eval *ev, const fss_tensor *t, size_t n, fss_tensor *z)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += t[i].count;
    const size_t shape[1] = {count};
    fss_status s = fss_tensor_init(z, 1, shape, n ? t[0].bits : 64, n ? t[0].scale : 0);
    if (s != FSS_OK)
        return fss_eval_fail(ev, s, "regression: out of memory");
    for (size_t i = 0, at = 0; i < n; at += t[i].count, i++)
        if (t[i].count)
            memcpy(z->v + at, t[i].v, t[i].count * 8);
    return FSS_OK;
}

static fss_status concat(fss_eval *ev, const fss_tensor *a, const fss_tensor *b, fss_tensor *z)
{
    const fss_tensor two[2] = {*a, *b};
    return stack(ev, two, 2, z);
}

/* z[0] = the sum of a's elements */
static fss_status sum_all(fss_eval *ev, const fss_tensor *a, fss_tensor *z)
{
    const size_t one[1] = {1};
    fss_status s = fss_tensor_init(z, 1, one, a->bits, a->scale);
    if (s != FSS_OK)
        return fss_eval_fail(ev, s, "regression: out of memory");
    uint64_t t = 0;
    for (size_t i = 0; i < a->count; i++)
        t += a->v[i];
    z->v[0] = fss_ring_reduce(t, a->bits);
    return FSS_OK;
}

static void free_all(fss_tensor *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fss_tensor_free(&t[i]);
}

/* sign bit d = 1{x >= 0} and |x| = 2 d x - x */
static fss_status sign_abs(fss_eval *ev, const fss_tensor *x, fss_tensor *d, fss_tensor *a)
{
    fss_tensor t[2] = {{0}, {0}};
    fss_status s = fss_gate_drelu(ev, x, d);
    if (s == FSS_OK && (s = fss_gate_select(ev, d, x, &t[0])) == FSS_OK && (s = fss_gate_scale(ev, &t[0], 2, &t[1])) == FSS_OK)
        s = fss_gate_sub(ev, &t[1], x, a);
    free_all(t, 2);
    return s;
}

/* 2 select(d, m) - m: m with d's sign */
static fss_status with_sign(fss_eval *ev, const fss_tensor *d, const fss_tensor *m, fss_tensor *y)
{
    fss_tensor t[2] = {{0}, {0}};
    fss_status s = fss_gate_select(ev, d, m, &t[0]);
    if (s == FSS_OK && (s = fss_gate_scale(ev, &t[0], 2, &t[1])) == FSS_OK)
        s = fss_gate_sub(ev, &t[1], m, y);
    free_all(t, 2);
    return s;
}

/* e where m is a mantissa of a non-zero value (m >= 2^CORR_F), else 0: an opened
 * exponent says nothing of a zero */
static fss_status zero_exponent(fss_eval *ev, const fss_tensor *m, const fss_tensor *e, fss_tensor *y)
{
    const uint64_t minus = fss_ring_reduce(0 - ((uint64_t)1 << CORR_F), m->bits);
    fss_tensor t[2] = {{0}, {0}};
    fss_status s = fss_gate_add_const(ev, m, &minus, 1, &t[0]);
    if (s == FSS_OK && (s = fss_gate_drelu(ev, &t[0], &t[1])) == FSS_OK)
        s = fss_gate_select(ev, &t[1], e, y);
    free_all(t, 2);
    return s;
}

/* A table of 2^bits entries fn(i) (ring elements). */
static uint64_t *table_of(int bits, uint64_t (*fn)(size_t))
{
    uint64_t *t = (uint64_t *)malloc(((size_t)1 << bits) * sizeof *t);
    for (size_t i = 0; t && i < ((size_t)1 << bits); i++)
        t[i] = fn(i);
    return t;
}

static int64_t signed8(size_t i) { return i < 128 ? (int64_t)i : (int64_t)i - 256; }
static uint64_t pow2_recip(size_t e) { return e <= REG_F ? (uint64_t)1 << (REG_F - e) : 1; }
static uint64_t sqrt2_parity(size_t i) { return (uint64_t)llrint(ldexp(signed8(i) & 1 ? sqrt(2.0) : 1.0, CORR_F)); }
static uint64_t half_floor(size_t i)
{
    const int64_t D = signed8(i);
    return (uint64_t)((D - (D & 1)) / 2); /* floor(D / 2), as a ring element */
}
static uint64_t align_pow(size_t i) { return i <= REG_ALIGN ? (uint64_t)1 << (REG_ALIGN - i) : 0; }

/* 1/d for d in (0, 1] at scale REG_F: d = m 2^(e - F), 1/d = rsqrt(m)^2 2^(F - e). */
static fss_status reciprocal(fss_eval *ev, const fss_tensor *d, fss_tensor *y)
{
    fss_tensor t[6] = {{0}};
    uint64_t *tab = table_of(6, pow2_recip);
    fss_status s = tab ? fss_gate_normalize(ev, d, REG_F + 2, REG_F, &t[0], &t[1]) : FSS_E_NOMEM;
    if (s == FSS_OK && (s = fss_gate_rsqrt_fine(ev, &t[0], &t[2])) == FSS_OK &&
        (s = fss_gate_mul_shift(ev, &t[2], &t[2], REG_F, &t[3])) == FSS_OK && (s = fss_gate_reduce(ev, &t[1], 6, &t[4])) == FSS_OK &&
        (s = fss_gate_lut(ev, &t[4], tab, d->bits, 0, &t[5])) == FSS_OK)
        s = fss_gate_mul(ev, &t[3], &t[5], y);
    free_all(t, 6);
    free(tab);
    return s;
}

/* The pair index of columns a < b of k (row by row). */
static size_t pair(size_t k, size_t a, size_t b) { return a * k - a * (a + 1) / 2 + (b - a - 1); }

/* Solves R b = r_y (p x p, from the correlations rF of k = p + 1 columns at scale REG_F). */
static fss_status solve(fss_eval *ev, size_t p, const fss_tensor *rF, fss_tensor *beta)
{
    const size_t k = p + 1, w = p + 1; /* the augmented matrix's width */
    size_t *idx = (size_t *)malloc(2 * p * w * sizeof *idx);
    uint64_t *diag = (uint64_t *)calloc(p * w, sizeof *diag);
    fss_tensor A = {0}, A0 = {0}, *U = (fss_tensor *)calloc(p, sizeof *U), *bs = (fss_tensor *)calloc(p, sizeof *bs);
    fss_status s = idx && diag && U && bs ? FSS_OK : fss_eval_fail(ev, FSS_E_NOMEM, "regression: out of memory");
    /* A = [R | r_y], the diagonal a public 1 */
    for (size_t i = 0; s == FSS_OK && i < p; i++)
        for (size_t j = 0; j < w; j++) {
            idx[i * w + j] = i == j ? SIZE_MAX : pair(k, i < j ? i : j, i < j ? j : i);
            diag[i * w + j] = i == j ? (uint64_t)1 << REG_F : 0;
        }
    if (s == FSS_OK && (s = fss_gate_gather(ev, rF, idx, p * w, &A0)) == FSS_OK)
        s = fss_gate_add_const(ev, &A0, diag, p * w, &A);
    for (size_t c = 0; s == FSS_OK && c < p; c++) {
        /* U_c = A[c][c+1 .. p] / A[c][c] */
        fss_tensor t[8] = {{0}};
        const size_t m = w - c - 1, below = p - c - 1;
        size_t at = c * w + c;
        if ((s = fss_gate_gather(ev, &A, &at, 1, &t[0])) == FSS_OK && (s = reciprocal(ev, &t[0], &t[1])) == FSS_OK) {
            for (size_t j = 0; j < m; j++)
                idx[j] = c * w + c + 1 + j, idx[m + j] = 0;
            if ((s = fss_gate_gather(ev, &A, idx, m, &t[2])) == FSS_OK && (s = fss_gate_gather(ev, &t[1], idx + m, m, &t[3])) == FSS_OK &&
                (s = fss_gate_mul(ev, &t[2], &t[3], &t[4])) == FSS_OK)
                s = fss_gate_ars(ev, &t[4], REG_F, &U[c]);
        }
        /* the rows below: A[i][j] -= A[i][c] U_c[j] */
        if (s == FSS_OK && below) {
            const size_t cnt = below * m;
            size_t *li = idx, *ri = idx + cnt;
            for (size_t i = 0; i < below; i++)
                for (size_t j = 0; j < m; j++)
                    li[i * m + j] = (c + 1 + i) * w + c, ri[i * m + j] = j;
            fss_tensor left = {0}, right = {0}, pr = {0}, sh = {0}, cur = {0}, upd = {0}, cat = {0}, next = {0};
            if ((s = fss_gate_gather(ev, &A, li, cnt, &left)) == FSS_OK && (s = fss_gate_gather(ev, &U[c], ri, cnt, &right)) == FSS_OK &&
                (s = fss_gate_mul(ev, &left, &right, &pr)) == FSS_OK && (s = fss_gate_ars(ev, &pr, REG_F, &sh)) == FSS_OK) {
                for (size_t i = 0; i < below; i++)
                    for (size_t j = 0; j < m; j++)
                        li[i * m + j] = (c + 1 + i) * w + c + 1 + j;
                if ((s = fss_gate_gather(ev, &A, li, cnt, &cur)) == FSS_OK && (s = fss_gate_sub(ev, &cur, &sh, &upd)) == FSS_OK &&
                    (s = concat(ev, &A, &upd, &cat)) == FSS_OK) {
                    /* the new A: updated entries from upd (after A in cat), the rest as they were */
                    for (size_t e = 0; e < p * w; e++)
                        li[e] = e;
                    for (size_t i = 0; i < below; i++)
                        for (size_t j = 0; j < m; j++)
                            li[(c + 1 + i) * w + c + 1 + j] = p * w + i * m + j;
                    if ((s = fss_gate_gather(ev, &cat, li, p * w, &next)) == FSS_OK) {
                        fss_tensor_free(&A);
                        A = next;
                        memset(&next, 0, sizeof next);
                    }
                }
            }
            fss_tensor more[] = {left, right, pr, sh, cur, upd, cat, next};
            free_all(more, sizeof more / sizeof *more);
        }
        free_all(t, 8);
    }
    /* back substitution: b_c = U_c[last] - sum_(j > c) U_c[j - c - 1] b_j */
    for (size_t c = p; s == FSS_OK && c-- > 0;) {
        const size_t m = w - c - 1; /* U_c's length: p - c - 1 coefficients, then the right side */
        size_t last = m - 1;
        fss_tensor rhs = {0};
        s = fss_gate_gather(ev, &U[c], &last, 1, &rhs);
        if (s == FSS_OK && m > 1) {
            fss_tensor later = {0}, uj = {0}, pr = {0}, sh = {0}, tot = {0};
            for (size_t j = 0; j + 1 < m; j++)
                idx[j] = j;
            if ((s = stack(ev, bs + c + 1, p - c - 1, &later)) == FSS_OK && (s = fss_gate_gather(ev, &U[c], idx, m - 1, &uj)) == FSS_OK &&
                (s = fss_gate_mul(ev, &uj, &later, &pr)) == FSS_OK && (s = fss_gate_ars(ev, &pr, REG_F, &sh)) == FSS_OK &&
                (s = sum_all(ev, &sh, &tot)) == FSS_OK)
                s = fss_gate_sub(ev, &rhs, &tot, &bs[c]);
            fss_tensor more[] = {later, uj, pr, sh, tot};
            free_all(more, sizeof more / sizeof *more);
        } else if (s == FSS_OK) {
            bs[c] = rhs;
            memset(&rhs, 0, sizeof rhs);
        }
        fss_tensor_free(&rhs);
    }
    /* beta = [b_0 .. b_(p-1)] */
    if (s == FSS_OK)
        s = stack(ev, bs, p, beta);
    for (size_t c = 0; U && c < p; c++)
        fss_tensor_free(&U[c]);
    for (size_t c = 0; bs && c < p; c++)
        fss_tensor_free(&bs[c]);
    fss_tensor_free(&A), fss_tensor_free(&A0);
    free(U), free(bs), free(idx), free(diag);
    return s;
}

/* max of the elements of x (count >= 1), pairwise: b + relu(a - b) */
static fss_status max_all(fss_eval *ev, const fss_tensor *x, fss_tensor *y)
{
    fss_tensor cur = {0};
    fss_status s = stack(ev, x, 1, &cur);
    size_t *idx = (size_t *)malloc((x->count + 1) * sizeof *idx);
    if (s == FSS_OK && !idx)
        s = fss_eval_fail(ev, FSS_E_NOMEM, "regression: out of memory");
    while (s == FSS_OK && cur.count > 1) {
        const size_t half = cur.count / 2, odd = cur.count % 2;
        fss_tensor a = {0}, b = {0}, d = {0}, r = {0}, mx = {0}, rest = {0}, next = {0};
        for (size_t i = 0; i < half; i++)
            idx[i] = 2 * i;
        if ((s = fss_gate_gather(ev, &cur, idx, half, &a)) == FSS_OK) {
            for (size_t i = 0; i < half; i++)
                idx[i] = 2 * i + 1;
            s = fss_gate_gather(ev, &cur, idx, half, &b);
        }
        if (s == FSS_OK && (s = fss_gate_sub(ev, &a, &b, &d)) == FSS_OK && (s = fss_gate_relu_1round(ev, &d, &r)) == FSS_OK &&
            (s = fss_gate_add(ev, &b, &r, &mx)) == FSS_OK) {
            idx[0] = cur.count - 1;
            s = odd ? ((s = fss_gate_gather(ev, &cur, idx, 1, &rest)) == FSS_OK ? concat(ev, &mx, &rest, &next) : s)
                    : stack(ev, &mx, 1, &next);
        }
        if (s == FSS_OK) {
            fss_tensor_free(&cur);
            cur = next;
            memset(&next, 0, sizeof next);
        }
        fss_tensor more[] = {a, b, d, r, mx, rest, next};
        free_all(more, sizeof more / sizeof *more);
    }
    if (s == FSS_OK)
        *y = cur;
    else
        fss_tensor_free(&cur);
    free(idx);
    return s;
}

fss_status fss_stats_regress_walk(fss_eval *ev, const fss_stats_spec *sp, const fss_stat *st,
                                  const fss_csv *const tables[2], uint64_t *words)
{
    const size_t k = st->ncol, p = k - 1, P = k * (k - 1) / 2;
    const int fy = st->fcol[p];
    int en = 0;
    const double mn = frexp((double)sp->n, &en); /* n = (2 mn) 2^(en - 1), 2 mn in [1, 2) */
    const uint64_t cn = (uint64_t)llrint(ldexp(1.0 / (2 * mn), CORR_F)); /* 1 / (2 mn) at scale CORR_F */
    en -= 1;
    size_t *idx = (size_t *)malloc(4 * k * sizeof *idx);
    uint64_t *cst = (uint64_t *)calloc(k, sizeof *cst), *tc = table_of(8, sqrt2_parity), *th = table_of(8, half_floor),
             *ta = table_of(REG_SHIFT, align_pow);
    enum { R, M, E, S, RF, B, DB, AB, MB, EB, MY, MJ, T, G, W, EY, EJ, D, D8, CD, HD, WC, MM, MF, EF, E1, E2, E3, EJS, EZ0,
           SM, DS, AS, MS, ES, MFS, PRE, PRE2, MT, XT0, XT1, XT, K, KX, SH, SH10, PW, AL, DT, SAL, ZS, DZ, AZ, MZ, EZZ,
           EZ1, EZ2, EZ, SMZ, NT };
    fss_tensor t[NT];
    memset(t, 0, sizeof t);
    fss_status s = idx && cst && tc && th && ta ? FSS_OK : fss_eval_fail(ev, FSS_E_NOMEM, "regression: out of memory");
    /* 1-2: the correlations, then b from R b = r_y */
    if (s == FSS_OK)
        s = fss_stats_corr_core(ev, sp, st->cols, st->fcol, k, tables, &t[R], &t[M], &t[E], &t[S]);
    if (s == FSS_OK && (s = fss_gate_ars(ev, &t[R], FSS_STATS_CORR_SCALE - REG_F, &t[RF])) == FSS_OK)
        s = solve(ev, p, &t[RF], &t[B]);
    /* 3: beta_j = b_j sqrt(Q_y / Q_j) 2^(f_j - f_y) */
    if (s == FSS_OK && (s = sign_abs(ev, &t[B], &t[DB], &t[AB])) == FSS_OK)
        s = fss_gate_normalize(ev, &t[AB], REG_F + REG_BETA + 1, CORR_F, &t[MB], &t[EB]);
    for (size_t j = 0; j < p; j++)
        idx[j] = p, idx[p + j] = j;
    if (s == FSS_OK && (s = fss_gate_gather(ev, &t[M], idx, p, &t[MY])) == FSS_OK &&
        (s = fss_gate_gather(ev, &t[M], idx + p, p, &t[MJ])) == FSS_OK && (s = fss_gate_mul_shift(ev, &t[MY], &t[MJ], CORR_F, &t[T])) == FSS_OK) {
        t[T].scale = CORR_F;
        s = fss_gate_rsqrt_fine(ev, &t[T], &t[G]);
    }
    if (s == FSS_OK && (s = fss_gate_mul_shift(ev, &t[MY], &t[G], CORR_F, &t[W])) == FSS_OK &&
        (s = fss_gate_gather(ev, &t[E], idx, p, &t[EY])) == FSS_OK && (s = fss_gate_gather(ev, &t[E], idx + p, p, &t[EJ])) == FSS_OK &&
        (s = fss_gate_sub(ev, &t[EY], &t[EJ], &t[D])) == FSS_OK && (s = fss_gate_reduce(ev, &t[D], 8, &t[D8])) == FSS_OK &&
        (s = fss_gate_lut(ev, &t[D8], tc, 64, CORR_F, &t[CD])) == FSS_OK && (s = fss_gate_lut(ev, &t[D8], th, 64, 0, &t[HD])) == FSS_OK &&
        (s = fss_gate_mul_shift(ev, &t[W], &t[CD], CORR_F, &t[WC])) == FSS_OK && (s = fss_gate_mul_shift(ev, &t[MB], &t[WC], CORR_F, &t[MM])) == FSS_OK)
        s = fss_gate_normalize(ev, &t[MM], CORR_F + 3, CORR_F, &t[MF], &t[EF]);
    for (size_t j = 0; j < p; j++) /* beta = (mf / 2^F') 2^(ef + eb + hD - F' - F + f_j - f_y) */
        cst[j] = fss_ring_from_signed(-(int64_t)CORR_F - REG_F + st->fcol[j] - fy, 64);
    if (s == FSS_OK && (s = fss_gate_add(ev, &t[EF], &t[EB], &t[E1])) == FSS_OK && (s = fss_gate_add(ev, &t[E1], &t[HD], &t[E2])) == FSS_OK &&
        (s = fss_gate_add_const(ev, &t[E2], cst, p, &t[E3])) == FSS_OK && (s = zero_exponent(ev, &t[MF], &t[E3], &t[EZ0])) == FSS_OK &&
        (s = with_sign(ev, &t[DB], &t[MF], &t[SM])) == FSS_OK && (s = fss_stats_open_to(ev, sp, &t[SM], 0, p, words, st->at)) == FSS_OK)
        s = fss_stats_open_to(ev, sp, &t[EZ0], 0, p, words, st->at + p);
    /* 4: Z = mean(Y) 2^-fy - sum beta_j mean(X_j) 2^-fj, each term a float:
     *   x-term: -(sign beta_j sign S_j) (mf ms / 2^F') cn 2^(E_j + es_j - f_j - en)
     *   y-term:  sign S_y ms_y cn 2^(es_y - f_y - en) */
    if (s == FSS_OK && (s = sign_abs(ev, &t[S], &t[DS], &t[AS])) == FSS_OK)
        s = fss_gate_normalize(ev, &t[AS], 61, CORR_F, &t[MS], &t[ES]);
    for (size_t j = 0; j < k; j++)
        idx[j] = j < p ? j : SIZE_MAX, idx[k + j] = j;
    if (s == FSS_OK && (s = fss_gate_gather(ev, &t[MF], idx, p, &t[MFS])) == FSS_OK) {
        /* [mf_j ms_j >> F' for the x's | ms_y] */
        fss_tensor msx = {0}, prod = {0}, msy = {0};
        size_t last = p;
        if ((s = fss_gate_gather(ev, &t[MS], idx + k, p, &msx)) == FSS_OK && (s = fss_gate_mul_shift(ev, &t[MFS], &msx, CORR_F, &prod)) == FSS_OK &&
            (s = fss_gate_gather(ev, &t[MS], &last, 1, &msy)) == FSS_OK)
            s = concat(ev, &prod, &msy, &t[PRE]);
        fss_tensor_free(&msx), fss_tensor_free(&prod), fss_tensor_free(&msy);
    }
    if (s == FSS_OK && (s = fss_gate_scale(ev, &t[PRE], cn, &t[PRE2])) == FSS_OK)
        s = fss_gate_ars_nonneg(ev, &t[PRE2], CORR_F, &t[MT]);
    for (size_t j = 0; j < k; j++)
        cst[j] = fss_ring_from_signed(-(int64_t)st->fcol[j] - en, 64);
    if (s == FSS_OK) { /* exponents [E_j + es_j | es_y] + the public parts */
        fss_tensor ex = {0}, esx = {0}, sumx = {0}, esy = {0};
        size_t last = p;
        if ((s = fss_gate_gather(ev, &t[ES], idx + k, p, &esx)) == FSS_OK && (s = fss_gate_add(ev, &t[E3], &esx, &sumx)) == FSS_OK &&
            (s = fss_gate_gather(ev, &t[ES], &last, 1, &esy)) == FSS_OK && (s = concat(ev, &sumx, &esy, &ex)) == FSS_OK)
            s = fss_gate_add_const(ev, &ex, cst, k, &t[XT]);
        fss_tensor_free(&ex), fss_tensor_free(&esx), fss_tensor_free(&sumx), fss_tensor_free(&esy);
    }
    /* aligned at the largest exponent K: mant 2^(REG_ALIGN - (K - X)) */
    if (s == FSS_OK && (s = max_all(ev, &t[XT], &t[K])) == FSS_OK) {
        for (size_t j = 0; j < k; j++)
            idx[j] = 0;
        if ((s = fss_gate_gather(ev, &t[K], idx, k, &t[KX])) == FSS_OK && (s = fss_gate_sub(ev, &t[KX], &t[XT], &t[SH])) == FSS_OK &&
            (s = fss_gate_reduce(ev, &t[SH], REG_SHIFT, &t[SH10])) == FSS_OK && (s = fss_gate_lut(ev, &t[SH10], ta, 64, 0, &t[PW])) == FSS_OK)
            s = fss_gate_mul(ev, &t[MT], &t[PW], &t[AL]);
    }
    /* signs: an x-term's is minus beta's times S's: d = d_beta xor d_S; the y-term's S_y's */
    if (s == FSS_OK && (s = fss_tensor_init(&t[DT], 1, &k, 1, 0)) == FSS_OK) {
        for (size_t j = 0; j < k; j++) /* XOR of bits: of the masked bits, the masks, the values alike */
            t[DT].v[j] = j < p ? (t[DB].v[j] ^ t[DS].v[j]) & 1 : t[DS].v[p];
        s = with_sign(ev, &t[DT], &t[AL], &t[SAL]);
    }
    /* Z's sum, renormalized: Z = (mz / 2^F') 2^(ez + K - F' - REG_ALIGN) */
    const uint64_t zc = fss_ring_from_signed(-(int64_t)CORR_F - REG_ALIGN, 64);
    if (s == FSS_OK && (s = sum_all(ev, &t[SAL], &t[ZS])) == FSS_OK && (s = sign_abs(ev, &t[ZS], &t[DZ], &t[AZ])) == FSS_OK &&
        (s = fss_gate_normalize(ev, &t[AZ], 61, CORR_F, &t[MZ], &t[EZZ])) == FSS_OK && (s = fss_gate_add(ev, &t[EZZ], &t[K], &t[EZ1])) == FSS_OK &&
        (s = fss_gate_add_const(ev, &t[EZ1], &zc, 1, &t[EZ2])) == FSS_OK && (s = zero_exponent(ev, &t[MZ], &t[EZ2], &t[EZ])) == FSS_OK &&
        (s = with_sign(ev, &t[DZ], &t[MZ], &t[SMZ])) == FSS_OK && (s = fss_stats_open_to(ev, sp, &t[SMZ], 0, 1, words, st->at + 2 * p)) == FSS_OK)
        s = fss_stats_open_to(ev, sp, &t[EZ], 0, 1, words, st->at + 2 * p + 1);
    (void)P;
    free_all(t, NT);
    free(idx), free(cst), free(tc), free(th), free(ta);
    return s;
}
