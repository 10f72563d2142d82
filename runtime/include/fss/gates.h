/* Gates of the masked-wire protocols (DESIGN section 2), each one function that does the
 * right thing in all three modes of fss_eval. Output tensors are created by the gate
 * (pass a zeroed fss_tensor; free it with fss_tensor_free). All arithmetic is in the
 * ring of the tensors' bit width; values are fixed point with the tensor's scale.
 *
 * Rounds and key material per element (n = bits), one party:
 *   input            1 (one direction)   n bits (owner only)
 *   output           0                   n bits (receiver only)
 *   add, sub, scale, add_const           0      none
 *   mul, matmul,     1                   one party a 16-byte seed, the other shares of
 *   conv2d                               R_x and R_w; and R_x R_w + R_z fresh
 *   drelu            1                   DPF comparison key (n-1 bits) + 1 bit
 *   drelu_at (k)     1                   DPF comparison key (n-1 bits) + k bits
 *   select           1                   seed / 3 shares (5 zero-extending), and r_y fresh
 *   select2          1                   a select's for each wire, in its own ring
 *   relu             2                   drelu + select
 *   trunc_reduce     1                   DCF (f bits) + fresh r_y - H(r)
 *   ars              1                   DCF (f bits) + DCF (n bits, f-bit output) + fresh r_y - H(r)
 *   lut              1                   DPF (n levels, out-bit output) + fresh r_y
 * "seed / k shares": one party a 16-byte seed, the other k packed n-bit shares an element
 * (a chunk's explicit shares go to the party dealt fewer so far, party 1 on a tie).
 * "fresh v": shares of a value uniform and independent of all else (an output mask, or
 * one less a function of the input's), in the gate's chunk of shares: the seeded party's
 * from its seed, the other's from a 16-byte seed of its own for the whole gate (explicit
 * shares where those take 16 bytes or fewer). An FSS key's instances come without their
 * root seeds: a 16-byte seed a party and gate gives them (runtime/keys.c). */
#ifndef FSS_GATES_H
#define FSS_GATES_H

#include "fss/eval.h"

FSS_EXTERN_C_BEGIN

/* Party 0's model weights, input once (fss_eval_set_weight_key, _set_weight_store): id
 * names the weight, the same in every run of the model (a family numbers its weights). In
 * a run without a model key or store, fss_gate_input of party 0. Party 0 reads values (its
 * clear weights, for its products) as fss_gate_input's owner does, except for a weight the
 * walk keeps (fss_eval_keep_weights) and has input before: x is then a view of it. */
FSS_NODISCARD fss_status fss_gate_input_weights(fss_eval *ev, uint64_t id, int ndim, const size_t *shape, int bits,
                                                int scale, const uint64_t *values, fss_tensor *x);
/* An input of party `owner`: values (ring elements) are read by the owner in PARTY mode
 * and in CLEAR mode, ignored otherwise (may be NULL there). */
FSS_NODISCARD fss_status fss_gate_input(fss_eval *ev, int owner, int ndim, const size_t *shape, int bits, int scale,
                                        const uint64_t *values, fss_tensor *x);
/* Reveal y to `receiver` only: out (y->count values) is written in CLEAR mode and by
 * the receiver in PARTY mode; the other party learns nothing. */
FSS_NODISCARD fss_status fss_gate_output(fss_eval *ev, int receiver, const fss_tensor *y, uint64_t *out);

/* Local linear gates: no key, no round. */
FSS_NODISCARD fss_status fss_gate_add(fss_eval *ev, const fss_tensor *a, const fss_tensor *b, fss_tensor *z);
FSS_NODISCARD fss_status fss_gate_sub(fss_eval *ev, const fss_tensor *a, const fss_tensor *b, fss_tensor *z);
/* z = c * a for a public ring element c (scale unchanged: c is an integer). */
FSS_NODISCARD fss_status fss_gate_scale(fss_eval *ev, const fss_tensor *a, uint64_t c, fss_tensor *z);
/* z[i] = a[i] + c[i % nc] for public ring elements c (a bias broadcast over rows). */
FSS_NODISCARD fss_status fss_gate_add_const(fss_eval *ev, const fss_tensor *a, const uint64_t *c, size_t nc,
                                            fss_tensor *z);

/* Secret x secret products (scale: the sum of the factors' scales). */
FSS_NODISCARD fss_status fss_gate_mul(fss_eval *ev, const fss_tensor *a, const fss_tensor *b, fss_tensor *z);
/* Z[m][n] = X[m][k] W[k][n]; X and W are 2-d. */
FSS_NODISCARD fss_status fss_gate_matmul(fss_eval *ev, const fss_tensor *X, const fss_tensor *W, fss_tensor *Z);

/* Batched products of two secret tensors (attention's Q K^T and softmax(.) V):
 * Z[b] = X[b] W[b / g] (trans 0, W [Bw][k][n]) or X[b] W[b / g]^T (trans 1, W [Bw][n][k]),
 * X [B][m][k], Z [B][m][n], g = B / Bw (grouped-query attention: g query heads share a
 * key/value head). One round, as matmul (shares of R_x, R_w, R_x R_w + R_z). */
FSS_NODISCARD fss_status fss_gate_matmul_batched(fss_eval *ev, const fss_tensor *X, const fss_tensor *W, int trans,
                                                 fss_tensor *Z);

/* 2-d convolution (PyTorch's Conv2d without bias): X [batch][c][h][w], W [o][c][kh][kw],
 * Y [batch][o][ho][wo], ho = (h + 2 pad - kh) / stride + 1 (likewise wo). */
typedef struct fss_conv2d_params {
    size_t batch, c, h, w, o, kh, kw, stride, pad;
} fss_conv2d_params;
FSS_NODISCARD fss_status fss_gate_conv2d(fss_eval *ev, const fss_tensor *X, const fss_tensor *W,
                                         const fss_conv2d_params *cv, fss_tensor *Y);

/* d = 1{x >= 0} (x read as a signed n-bit value), a 1-bit tensor. */
FSS_NODISCARD fss_status fss_gate_drelu(fss_eval *ev, const fss_tensor *x, fss_tensor *d);
/* d[j] = 1{x + c[j] >= 0} for public ring elements c[0..k-1] (1 <= k <= FSS_DRELU_AT_MAX),
 * in one round from one comparison key an element (x + c has x's mask): the keys of one
 * DReLU and k - 1 packed bits more. An interval's test: 1{-c1 <= x < -c2} = d1 ^ d2 for
 * c1 > c2 when neither x + c wraps. */
#define FSS_DRELU_AT_MAX 4
FSS_NODISCARD fss_status fss_gate_drelu_at(fss_eval *ev, const fss_tensor *x, int k, const uint64_t *c,
                                           fss_tensor *const *d);
/* y = d ? x : 0 for a 1-bit d. */
FSS_NODISCARD fss_status fss_gate_select(fss_eval *ev, const fss_tensor *d, const fss_tensor *x, fss_tensor *y);
/* y1 = d ? x1 : 0 and y2 = d ? x2 : 0, each in its own ring, in one round: a select's
 * keys and message for each (a narrow x2's in its bits, not x1's). */
FSS_NODISCARD fss_status fss_gate_select2(fss_eval *ev, const fss_tensor *d, const fss_tensor *x1,
                                          const fss_tensor *x2, fss_tensor *y1, fss_tensor *y2);
/* y = d ? x : 0 as a bits-wide value (bits > x's), for an x that is non-negative
 * wherever d = 1: there y is x's zero extension. Two dealer shares more than select,
 * the same one round. The clear walk refuses a negative x under d = 1. */
FSS_NODISCARD fss_status fss_gate_select_zext(fss_eval *ev, const fss_tensor *d, const fss_tensor *x, int bits,
                                              fss_tensor *y);
/* y = max(x, 0) (two rounds: drelu then select, as Sigma). */
FSS_NODISCARD fss_status fss_gate_relu(fss_eval *ev, const fss_tensor *x, fss_tensor *y);
/* y = max(x, 0) >> f (floor), at x's bits and scale - f: equal to ars_nonneg(relu(x)),
 * cheaper. The sign of x is the sign of x >> f, so: truncate-reduce to n - f bits (one
 * f-bit DCF), DReLU there (a comparison over n - f - 1 bits instead of n - 1), and
 * select_zext back to n bits. Three rounds, as relu then ars_nonneg. */
FSS_NODISCARD fss_status fss_gate_relu_ars(fss_eval *ev, const fss_tensor *x, int f, fss_tensor *y);

/* Pooling over k x k windows with a stride, no padding: x [batch][c][h][w]. Max is a
 * tree of ReLUs (2 rounds a level, ceil(log2(k k)) levels); average sums locally then
 * shifts (k k a power of two) or multiplies by round(2^F / k k) and shifts by F, F =
 * max(FSS_AVGPOOL_FRAC, ceil(log2(k k)) + 10) (at most bits / 2): the factor's relative
 * error under 2^-11 k k / 2^ceil(log2 k k) <= 2^-11 (a 56 x 56 window's was 23% at F = 12);
 * the sum times the factor needs |x| 2^(scale + F) under 2^(bits - 1). The output keeps
 * the input's scale. */
#define FSS_AVGPOOL_FRAC 12
/* F for a window of kk values in a ring of bits (0: kk a power of two, a shift alone). */
int fss_avgpool_frac(size_t kk, int bits);
FSS_NODISCARD fss_status fss_gate_maxpool(fss_eval *ev, const fss_tensor *x, size_t k, size_t stride, fss_tensor *y);
/* Max pooling with pad <= k / 2 on each side, the padding ignored (PyTorch's MaxPool2d). */
FSS_NODISCARD fss_status fss_gate_maxpool_pad(fss_eval *ev, const fss_tensor *x, size_t k, size_t stride, size_t pad,
                                              fss_tensor *y);
FSS_NODISCARD fss_status fss_gate_avgpool(fss_eval *ev, const fss_tensor *x, size_t k, size_t stride, fss_tensor *y);

/* Truncate-reduce: y = floor(x / 2^f) with x read unsigned, in n - f bits (LLAMA). */
FSS_NODISCARD fss_status fss_gate_trunc_reduce(fss_eval *ev, const fss_tensor *x, int f, fss_tensor *y);
/* Arithmetic shift right: y = floor(x / 2^f) with x read signed, in n bits; exact. */
FSS_NODISCARD fss_status fss_gate_ars(fss_eval *ev, const fss_tensor *x, int f, fss_tensor *y);
/* The same shift for x known to lie in [0, 2^(n-1)) (a ReLU's output): one f-bit DCF
 * instead of two DCFs, a quarter of the keys. Wrong (not unsafe) on other inputs; the
 * clear walk refuses a negative element, so a model that misuses it fails its tests. */
FSS_NODISCARD fss_status fss_gate_ars_nonneg(fss_eval *ev, const fss_tensor *x, int f, fss_tensor *y);
/* floor(x / 2^f) for x known to lie in (-2^(n-2), 2^(n-2)) (one bit of headroom more than
 * ars needs): the non-negative shift of x + 2^(n-2), one f-bit DCF and shares, where ars
 * takes an f-bit and an n-bit DCF. Exact; the clear walk refuses an x out of the range. */
FSS_NODISCARD fss_status fss_gate_ars_bounded(fss_eval *ev, const fss_tensor *x, int f, fss_tensor *y);

/* y = max(x, 0) in ONE round, exact (LLAMA, PETS 2022: ReLU as a spline from one DCF
 * with a vector payload; Boyle et al., Eurocrypt 2021). y = d (x^ - r) with d = 1{x >= 0}
 * linear in shares of d and d r, which one (n-1)-bit DCF with payload (1 - 2 msb(r))(1, r)
 * gives (runtime/gates_ext.c). n >= 2. Key per element: DCF (n-1 bits, g = 2, n-bit
 * values) + seed / 2 n-bit shares, and one fresh; 1 round, n bits each way. */
FSS_NODISCARD fss_status fss_gate_relu_1round(fss_eval *ev, const fss_tensor *x, fss_tensor *y);
/* relu_1round with its sign from x's low c bits (2 <= c <= n; x must lie within
 * +-2^(c-1), and the clear walk refuses one outside) and, where t is given (x's count, n
 * bits), yt = t where x >= 0 and 0 elsewhere, revealed in the same round: a tree's
 * max(a, b) = b + ReLU(a - b), or an argmax's value and index together. Key per element:
 * DCF (c - 1 bits, g = 2, or 3 with t, n-bit values) + seed / 2 (3 with t) n-bit shares,
 * and 1 (2 with t) fresh; 1 round, n bits (2n with t) each way. */
FSS_NODISCARD fss_status fss_gate_relu_tag(fss_eval *ev, const fss_tensor *x, int c, const fss_tensor *t,
                                           fss_tensor *y, fss_tensor *yt);
/* Sign extension: x of m bits read signed, y the same value in bits_out >= m bits; exact
 * (as Orca's SignExtend, S&P 2024, in one round: x + 2^(m-1) = x^ + 2^(m-1) - r +
 * 2^m 1{x^ + 2^(m-1) < r}). Key per element: DCF (m bits, (bits_out - m)-bit output) and
 * fresh r_y - r (a seed each, for the gate); 1 round (none when bits_out = m). */
FSS_NODISCARD fss_status fss_gate_sext(fss_eval *ev, const fss_tensor *x, int bits_out, fss_tensor *y);
/* Stochastic truncation (Orca, IEEE S&P 2024: stochastic truncate-reduce, then sign
 * extension): x of n bits read signed, y in n bits. The CLEAR walk gives floor(x / 2^f)
 * exactly; the secure result is floor(x / 2^f) + b with b = 1 exactly when
 * (x mod 2^f) + t >= 2^f for a fresh dealer-drawn t uniform in [0, 2^f): b = 1 with
 * probability (x mod 2^f) / 2^f (so E[y] = x / 2^f), never when 2^f divides x. This is
 * the ONE gate whose secure output may differ from the clear walk, by b in {0, 1}. It
 * needs x <= 2^(n-1) - 2^f (the top 2^f - 1 values may wrap to -2^(n-f-1) when rounded
 * up). 0 <= f < n. Key per element: DCF (f bits, (n-f)-bit output) and fresh r_z - H(r - t),
 * then sext from n - f bits: DCF (n-f bits, f-bit output) and fresh r_y - r (each fresh
 * value a seed a party, for the gate); 2 rounds (n - f bits, then n bits). */
FSS_NODISCARD fss_status fss_gate_trunc_stochastic(fss_eval *ev, const fss_tensor *x, int f, fss_tensor *y);

/* y = table[x] for an n-bit x read unsigned (1 <= n <= FSS_DPF_LUT_MAX_BITS), table a
 * public array of 2^n ring elements; y has out_bits and scale out_scale (the table's
 * entries are y's fixed-point values). One round; a full-domain DPF key an element, and
 * 2^n AES blocks a party and element (two outputs a leaf; runtime/gates_lut.c). */
FSS_NODISCARD fss_status fss_gate_lut(fss_eval *ev, const fss_tensor *x, const uint64_t *table, int out_bits,
                                      int out_scale, fss_tensor *y);
/* k lookups in one round (1 <= k <= FSS_LUTS_MAX): y[i] = tables[i][x[i]], the indices all
 * of one width: one key of their DPF keys one after another, one message. The keys are
 * those of the k lookups; a table is the parties' own, not the key's. */
#define FSS_LUTS_MAX 8
FSS_NODISCARD fss_status fss_gate_luts(fss_eval *ev, int k, const fss_tensor *const *x, const uint64_t *const *tables,
                                       int out_bits, int out_scale, fss_tensor *const *y);
/* ya = ta[x] and yb = tb[x], two tables at one index, in one round from one lookup's key
 * (the one-hot's shares dotted with each table: one expansion, fss_dpf_lut2_eval); the
 * message and the output masks are two lookups'. */
FSS_NODISCARD fss_status fss_gate_lut2(fss_eval *ev, const fss_tensor *x, const uint64_t *ta, const uint64_t *tb,
                                       int out_bits, int out_scale, fss_tensor *ya, fss_tensor *yb);
/* y = ta[x] + tb[x] e in e's ring (l bits) and out_scale, for an n-bit index x
 * (n + 1 <= FSS_DPF_LUT_MAX_BITS) and a wire e of x's count: one round, one lookup's
 * message and mask, from one key of a 2^(n+1)-entry lookup (its leaf pair at alpha holds
 * r_e beside the one-hot's 1: fss_dpf_keygen_pairs; two dot products, one expansion). */
FSS_NODISCARD fss_status fss_gate_lut_lin(fss_eval *ev, const fss_tensor *x, const uint64_t *ta, const uint64_t *tb,
                                          const fss_tensor *e, int out_scale, fss_tensor *y);

/* GeLU (exact, erf) and SiLU (x sigma(x)) of x at scale f, in x's ring and scale (Sigma's
 * form, ReLU less the even difference D(|x|) on a clipped |x|, with D interpolated between
 * steps of h = 2^-FSS_ACT_STEP_BITS over [0, 2^R), R = FSS_*_RANGE_LOG2; runtime/gates_tf.c),
 * for |x| < 2^(M - 1 - 3) - 2^R (M = FSS_ACT_SMALL_BITS: 1020 for gelu, 1008 for silu; the
 * clear walk refuses others). GeLU six rounds, SiLU seven (eight and nine with lean shifts,
 * fss_eval_set_lean_shifts); keys an element: an (f-3)-bit DCF (the step), one 13-bit DPF
 * comparison with three bits (the sign and the range: fss_gate_drelu_at), the step's
 * height plus slope times its part from 2^(R+3) steps (32 for gelu, 128 for silu): for
 * gelu one lookup's key of twice that many entries (fss_gate_lut_lin; up to
 * 2^FSS_ACT_LIN_BITS steps), for silu one lookup's of the two tables (fss_gate_lut2) and a
 * product; an (f-3)-bit DCF (its shift), a select of two wires and one with zero
 * extension (the shifts' keys one-round ones; lean, a comparison's and their carries');
 * the lookups, product and shift in K = max(M, f + 2) + f - 3 bits (23 at f = 12). Needs
 * f > 3 and n > K.
 * Maximum error against the float function, for any x in that range:
 * FSS_GELU_TABLE_ERROR or FSS_SILU_TABLE_ERROR + 2^-f + 2^-(2f-2) (0.00130 and 0.00091
 * at f = 12), of which
 *   the interpolation: the chord over a step, raised by 2/3 of its distance from D at
 *     the midpoint (|D''| at most 0.80 for gelu, 0.50 for silu, at 0): 2/3 h^2/8 |D''|,
 *     0.00104 and 0.00065;
 *   past the table (over [0, 4) for gelu, [0, 16) for silu): D(|x|) itself, at most
 *     1.3e-4 (gelu) and 1.8e-6 (silu), inside those;
 *   the roundings: the slope's to f bits and the product's to f bits, 2^-(f+1) each, and
 *     the height's to f + sh bits, 2^-(2f-2).
 * The raise makes the errors cancel on average: over x in the table's range their mean
 * is within FSS_ACT_MEAN_ERROR (the chord alone, 1.7e-4 for gelu, added up over a row).
 * test_gates_tf measures both on random and edge inputs and on a grid. */
#define FSS_ACT_SMALL_BITS 14
#define FSS_ACT_STEP_BITS 3
#define FSS_ACT_LIN_BITS 5
#define FSS_GELU_RANGE_LOG2 2
#define FSS_SILU_RANGE_LOG2 4
#define FSS_GELU_TABLE_ERROR 0.00105
#define FSS_SILU_TABLE_ERROR 0.00066
#define FSS_ACT_MEAN_ERROR 2e-5
FSS_NODISCARD fss_status fss_gate_gelu(fss_eval *ev, const fss_tensor *x, fss_tensor *y);
FSS_NODISCARD fss_status fss_gate_silu(fss_eval *ev, const fss_tensor *x, fss_tensor *y);

/* e^-x for x in [0, 2^15) at scale f >= 12 (n >= max(2 f + 2, f + 16, 28) bits), same ring
 * and scale (the clear walk refuses other x): x clipped at 16 (compared in 28 bits; where
 * lean, h = floor(t / 2^8) compared with 256 in 20 bits),
 * e^-(t_hi/16) e^-(t_lo/4096) from two 8-bit tables (one round) on the bytes of t =
 * floor(x 2^12). Five rounds at f = 12, six above; where lean (fss_eval_set_lean_shifts),
 * a round more for fewer key bytes (the clip's DReLU and a select, not a relu_tag; and the
 * lean shift's). Maximum error: 2^-12 (x's flooring, only when
 * f > 12) + 2^-f (the two entries' rounding) + 2^-f (the product's flooring) + 1.2e-7 (the
 * clip): 4.9e-4 at f = 12, 2.8e-4 at f = 16. */
FSS_NODISCARD fss_status fss_gate_nexp(fss_eval *ev, const fss_tensor *x, fss_tensor *y);
/* 1/x for x in [1, 2^k) at scale f (k <= 15, f >= q = min(6, 16 - k), n >= 2 f + k + 2):
 * a table of 2^(k+q) entries at the midpoints of x's steps of 2^-q, then one Newton step.
 * Six rounds (five when f = q). Maximum error: 2^-(2q+2) (the table's relative error
 * 2^-(q+1), squared) + 4 2^-f (rounding): 1.04e-3 at f = 12 (6.1e-5 + 9.8e-4), documented
 * with margin as 1.6e-3. */
FSS_NODISCARD fss_status fss_gate_reciprocal(fss_eval *ev, const fss_tensor *x, int k, fss_tensor *y);
/* Softmax over the last axis of x (scale f >= 12, n >= 2 f + 17 bits, |x| < 4096: the
 * clear walk refuses others); causal: column c of row r (within the last two axes) only
 * when c <= r, the others 0 (the gates run on the kept entries alone: about half the keys
 * of a square causal one). The row max compares differences in f + 14 bits. Row max by a
 * tree of ReLUs (ceil(log2 cols) rounds at most, a relu_tag a level; two a level where lean), nExp,
 * the row sum, its reciprocal, the product: ceil(log2 cols) + 13 rounds at f = 12 when not
 * lean. Maximum error of each probability p = e / S at
 * f = 12: nExp's error in e (4.9e-4), p times S's relative error (up to cols nExp errors,
 * all of one sign when many terms are tiny: e^-x under 2^-12 floors to 0), the
 * reciprocal's (1.6e-3), the product's flooring (2.4e-4): FSS_SOFTMAX_MAX_ERROR(cols) =
 * 0.0024 + 4.9e-4 cols. test_gates_tf measures 1.3e-3 on uniform rows of 1 to 128, and 0.043
 * on the worst row of 128 (one value 0, the others -7.95). Tables at a finer scale would
 * shrink the cols term; not done yet. */
#define FSS_SOFTMAX_MAX_ERROR(cols) (0.0024 + 4.9e-4 * (double)(cols))
FSS_NODISCARD fss_status fss_gate_softmax(fss_eval *ev, const fss_tensor *x, int causal, fss_tensor *y);
/* The causal softmax of a local attention (GPT-Neo's): column c of row r only when
 * r - window < c <= r. The same error; the keys of the kept entries alone, and a max tree of
 * ceil(log2 min(window, cols)) levels. */
FSS_NODISCARD fss_status fss_gate_softmax_local(fss_eval *ev, const fss_tensor *x, size_t window, fss_tensor *y);
/* The causal softmax (window 0) or a local one of floor(x / 2^shift), the shift
 * (fss_gate_ars_bounded; 1 <= shift < x's scale) made on the entries that take part alone:
 * attention's scores at scale 2f, half of whose shifts a causal mask would throw away.
 * The same output as the shift and then the softmax; n >= x's scale + 16 bits. */
FSS_NODISCARD fss_status fss_gate_softmax_shifted(fss_eval *ev, const fss_tensor *x, int shift, size_t window,
                                                  fss_tensor *y);
/* Rotary position embedding of x [..][seq][d] (Hugging Face's rotate_half layout, angle
 * p base^(-2 (i mod d/2) / d) at position p = pos0 + the row), in x's ring and scale f
 * (n >= 2 f + 2). Local products with public cos and sin at scale f, then one arithmetic
 * shift: one round. Maximum error: (|x_i| + |x_i'|) 2^-(f+1) (cos and sin rounded) + 2^-f
 * (the shift's floor). */
FSS_NODISCARD fss_status fss_gate_rotary(fss_eval *ev, const fss_tensor *x, size_t pos0, double base,
                                         fss_tensor *y);
/* Position pos's cos (cs[0 .. d/2)) and sin (cs[d/2 .. d)) for a head of d values, at
 * scale f in an n-bit ring: the values fss_gate_rotary multiplies by. */
void fss_rotary_cos_sin(size_t pos, size_t d, double base, int f, int n, uint64_t *cs);
/* Rotary embedding at positions a party knows and the others do not (a generated token's,
 * after a prompt of secret length): x [R][heads dh], cs [R][dh] wires of row r's cos and
 * sin (fss_rotary_cos_sin, at x's scale; party 1's input). The same bits as
 * fss_gate_rotary at those positions; a secret product then the shift: two rounds. */
FSS_NODISCARD fss_status fss_gate_rotary_at(fss_eval *ev, const fss_tensor *x, const fss_tensor *cs, fss_tensor *y);
/* The index of the largest element along the last axis (the first of equal ones), as an
 * integer tensor of x's ring without the last axis: reveal
 * it with fss_gate_output to give the next token and not the logits. A tree: a relu_tag of
 * the difference tagged with the indices' (ceil(log2 cols) rounds), a DReLU and a select
 * where lean (two a level). The clear walk refuses values beyond +-2^24 (at x's scale; in
 * a ring of n <= f + 26 bits, beyond +-2^(n-2)): no difference may wrap. */
FSS_NODISCARD fss_status fss_gate_argmax(fss_eval *ev, const fss_tensor *x, fss_tensor *idx);
/* LayerNorm, (x - mean) / sqrt(var + eps) gamma + beta, and RMSNorm, x / sqrt(mean(x^2) +
 * eps) gamma, over the last axis d <= 4096 of x at scale f >= 8 (n >= 2 f + 26 bits: 50 at
 * f = 12); gamma and beta are [d] wires at scale f (party 0's weights). The variance (or
 * mean square) must lie under 2^K, K = min(30, n - 1 - 2 f - ceil(log2 d)): 2^15 at n = 50,
 * f = 12, d = 768 (a standard deviation under 181), 2^12 at d = 8192, 2^29 at n = 64, d = 576;
 * K under 12 (d over 8192 at n = 50, f = 12) is refused. 1/sqrt without a secret shift: the variance's octave from one DReLU of all
 * its thresholds, its mantissa normalized by a selected power of two, then one table of
 * 2^16 entries, the octave's 2^(-o/2) times 1/sqrt of the mantissa's 10 bits on [1, 2), at
 * scale 20 (runtime/gates_tf.c). 12 rounds (LayerNorm; RMSNorm 11). Maximum error at f = 12, for a row of standard
 * deviation sigma, |gamma| and |beta| <= 2: 2^-12 / sigma |gamma| (the mean's flooring,
 * LayerNorm only) + 0.002 (the table's relative 2^-12, the shifts' 2^-12, the variance's
 * digits); FSS_NORM_MAX_ERROR for sigma >= 0.028. test_gates_tf draws rows of sigma 0.029
 * to 9 and measures up to 0.014 (LayerNorm) and 0.0017 (RMSNorm) at d = 8 to 768. */
#define FSS_NORM_MAX_ERROR 0.02
FSS_NODISCARD fss_status fss_gate_layernorm(fss_eval *ev, const fss_tensor *x, const fss_tensor *gamma,
                                            const fss_tensor *beta, double eps, fss_tensor *y);
FSS_NODISCARD fss_status fss_gate_rmsnorm(fss_eval *ev, const fss_tensor *x, const fss_tensor *gamma, double eps,
                                          fss_tensor *y);

/* ---- numerics on wide integers (runtime/gates_num.c) ------------------------------------ */

/* y = (a b) >> f for non-negative a and b (their product under 2^(n-1)): fss_gate_mul then
 * fss_gate_ars_nonneg, 2 rounds; y's scale a's + b's - f. */
FSS_NODISCARD fss_status fss_gate_mul_shift(fss_eval *ev, const fss_tensor *a, const fss_tensor *b, int f,
                                            fss_tensor *y);

/* Local rearranging: y[i] = x[idx[i]] (a 1-d tensor of count wires; idx SIZE_MAX: a public
 * 0), and x in fewer bits (y = x mod 2^bits, scale 0: x^ mod 2^b = x mod 2^b + r mod 2^b).
 * No key, no round. */
FSS_NODISCARD fss_status fss_gate_gather(fss_eval *ev, const fss_tensor *x, const size_t *idx, size_t count,
                                         fss_tensor *y);
FSS_NODISCARD fss_status fss_gate_reduce(fss_eval *ev, const fss_tensor *x, int bits, fss_tensor *y);
/* The leading one of integers x in [0, 2^L) (n-bit ring, 2 <= L <= n - 2, 1 <= F <= L - 1):
 * e = o = floor(log2 x) as an integer (0 for x = 0), and the mantissa m = floor(x 2^(F-o)),
 * x / 2^o in [1, 2) at scale F (0 for x = 0). One DReLU of all x - 2^j (L - 1 comparisons an
 * element), a select of public constants by the one-hot of o, a product x 2^(L-1-o) and a
 * shift by L - 1 - F: 4 rounds. Exact (the clear walk refuses an x out of the range). */
FSS_NODISCARD fss_status fss_gate_normalize(fss_eval *ev, const fss_tensor *x, int L, int F, fss_tensor *m,
                                            fss_tensor *e);
/* y = 1/sqrt(t) for t in [1, 4) at scale F (9 <= F <= 30, n >= 2 F + 4 bits), same scale:
 * a table of 2^11 entries at the midpoints of t's steps of 2^-9 (relative error at most
 * 2^-11), then one Newton step y0 (3 - t y0^2) / 2, which leaves 1.5 2^-22 + the roundings:
 * relative error at most FSS_RSQRT_FINE_ERROR(F) = 3.6e-7 + 10 2^-F (3.7e-7 at F = 30).
 * An element in [0, 1) gives a value in [1, 1.5] (only 0 occurs: a zero variance), one
 * over 4 is refused by the clear walk. 9 rounds. */
#define FSS_RSQRT_FINE_ERROR(F) (3.6e-7 + 10.0 / (double)(1u << (F)))
FSS_NODISCARD fss_status fss_gate_rsqrt_fine(fss_eval *ev, const fss_tensor *t, fss_tensor *y);

/* ---- a classifier's outputs (runtime/gates_class.c) ------------------------------------- */

/* y = 1 / (1 + e^-x) for x at scale f (f >= 8, n >= f + 6 bits; any x the ring holds),
 * same ring and scale: with d = 1{x >= 0} and g = sigma(-|x|) read from a table of 2^12
 * entries over |x| in [0, 16) (steps of 2^-8, at their midpoints; 0 beyond 16),
 * y = g + d (1 - 2 g). Maximum error: FSS_SIGMOID_MAX_ERROR(f) = 2^-11 (the table: the
 * slope is at most 1/4 over half a step) + 2^-f (the entries' rounding, 2^-(f+1), with
 * margin): 5.1e-4 at f = 16; sigma(0) reads 0.5005. Seven rounds; keys an element: two
 * DReLUs, a truncate-reduce, a 12-bit table, three selects. */
#define FSS_SIGMOID_MAX_ERROR(f) (1.0 / 2048 + 1.0 / (double)(1ull << (f)))
FSS_NODISCARD fss_status fss_gate_sigmoid(fss_eval *ev, const fss_tensor *x, fss_tensor *y);

/* How a classifier does on private labels, with no prediction, logit or label opened:
 * logits [B][C] (any ring and scale; 2 <= C <= 4096, B < 2^31), labels party owner's
 * integers in [0, C) (read as fss_gate_input's values; the clear walk refuses others).
 * confusion 0: y = [the number of rows whose argmax (the first of equal ones) is the label],
 * 1: y = the C x C counts [label][prediction] (its trace the same number); 32-bit
 * integers, for fss_gate_output to whom they go. The argmax's ceil(log2 C) rounds, the
 * labels' input, a table lookup of 1{prediction - label = 0} (or of 1{prediction = c}
 * for each c, then one product with the labels' one-hot). */
FSS_NODISCARD fss_status fss_gate_accuracy(fss_eval *ev, const fss_tensor *logits, int owner, const uint64_t *labels,
                                           int confusion, fss_tensor *y);

FSS_EXTERN_C_END

#endif
