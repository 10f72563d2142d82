/* Party 0's Llama weights from a llama.cpp GGUF file (fss/gguf.h reads and dequantizes it).
 *
 * llama.cpp's names: token_embd, blk.L.{attn_norm, attn_q, attn_k, attn_v, attn_output,
 * ffn_norm, ffn_gate, ffn_up, ffn_down}, output_norm, output (absent: tied to token_embd).
 * A matrix's dimensions run fastest first, so a weight [in, out] there is Hugging Face's
 * [out][in]: transposed into the walk's [in][out]. Its converter permutes the rows of
 * attn_q and attn_k for its rotary layout (the two halves of each head interleaved:
 * row h dh + 2 i + j of the file is Hugging Face's row h dh + j dh/2 + i); the walk's
 * rotary is Hugging Face's (rotate_half), so the rows go back here. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weights_internal.h"

/* Piece i of part p: the file's tensor name, [rows][cols] as stored row-major (rows: ne[1]),
 * whether the walk's piece is its transpose, and for attn_q/attn_k the heads to un-permute. */
typedef struct gsrc {
    char name[64];
    size_t frows, fcols;
    int transposed;
    size_t heads; /* 0: rows as they are */
} gsrc;

static int gsource(const fss_gguf *g, const fss_tf_model *m, int l, fss_tf_part p, int i, gsrc *s)
{
    const size_t d = m->d, kv = m->d / m->heads * m->kv_heads, f = m->ffn;
    memset(s, 0, sizeof *s);
    s->transposed = 1;
#define SRC(fmt, r, c) (snprintf(s->name, sizeof s->name, fmt, l), s->frows = (r), s->fcols = (c))
#define TOP(name_, r, c) (snprintf(s->name, sizeof s->name, "%s", name_), s->frows = (r), s->fcols = (c))
    switch (p) {
    case FSS_TF_QKV:
        if (i == 0)
            SRC("blk.%d.attn_q.weight", d, d), s->heads = m->heads;
        else if (i == 1)
            SRC("blk.%d.attn_k.weight", kv, d), s->heads = m->kv_heads;
        else
            SRC("blk.%d.attn_v.weight", kv, d);
        break;
    case FSS_TF_O: SRC("blk.%d.attn_output.weight", d, d); break;
    case FSS_TF_UP: SRC("blk.%d.ffn_up.weight", f, d); break;
    case FSS_TF_GATE: /* gate, then (fused) up */
        if (i == 0)
            SRC("blk.%d.ffn_gate.weight", f, d);
        else
            SRC("blk.%d.ffn_up.weight", f, d);
        break;
    case FSS_TF_DOWN: SRC("blk.%d.ffn_down.weight", d, f); break;
    case FSS_TF_LN1: SRC("blk.%d.attn_norm.weight", 1, d), s->transposed = 0; break;
    case FSS_TF_LN2: SRC("blk.%d.ffn_norm.weight", 1, d), s->transposed = 0; break;
    case FSS_TF_NORM: TOP("output_norm.weight", 1, d), s->transposed = 0; break;
    case FSS_TF_WORDS: TOP("token_embd.weight", m->tokens, d), s->transposed = 0; break;
    case FSS_TF_HEAD: /* [vocab][d] rows: output.weight, or tied */
        TOP(fss_gguf_find(g, "output.weight") ? "output.weight" : "token_embd.weight", m->vocab, d);
        break;
    default: return 0;
    }
#undef SRC
#undef TOP
    return 1;
}

/* The file row of walk row r of a permuted attn_q/attn_k (heads of dh rows). */
static size_t unpermute(size_t r, size_t heads, size_t rows)
{
    if (!heads)
        return r;
    const size_t dh = rows / heads, h = r / dh, j = r % dh / (dh / 2), i = r % (dh / 2);
    return h * dh + 2 * i + j;
}

/* The tensor of s, checked: its shape, its type read. */
static fss_status tensor_of(const fss_gguf *g, const fss_tf_model *m, const gsrc *s, const fss_gguf_tensor **t,
                            char *err, size_t err_len)
{
    *t = fss_gguf_find(g, s->name);
    if (!*t)
        return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: no tensor %s for %s", fss_gguf_path(g), s->name, m->name);
    const fss_gguf_tensor *x = *t;
    const int vec = s->frows == 1;
    if ((vec ? x->ndim != 1 || x->ne[0] != s->fcols : x->ndim != 2 || x->ne[0] != s->fcols || x->ne[1] != s->frows) ||
        !x->bytes)
        return fss_errorf(err, err_len, FSS_E_FORMAT,
                          "%s: tensor %s is [%llu, %llu] of ggml type %u; %s takes [%zu, %zu] (dimensions fastest "
                          "first) of F32, F16, BF16, Q8_0, Q4_0 or Q4_1",
                          fss_gguf_path(g), s->name, (unsigned long long)x->ne[0], (unsigned long long)x->ne[1],
                          x->type, m->name, s->fcols, vec ? (size_t)1 : s->frows);
    return FSS_OK;
}

/* Rows [r0, r1) of s's tensor as floats, each row checked finite and within lim. */
static fss_status rows_of(const fss_gguf *g, const fss_gguf_tensor *t, size_t r0, size_t r1, size_t cols, double lim,
                          float *f, char *err, size_t err_len)
{
    fss_status s = fss_gguf_read_f32(g, t, (uint64_t)r0 * cols, (uint64_t)(r1 - r0) * cols, f, err, err_len);
    for (size_t i = 0; s == FSS_OK && i < (r1 - r0) * cols; i++)
        if (!(fabs((double)f[i]) < lim))
            s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: %s element %zu is %g: not a finite number within +-%g",
                           fss_gguf_path(g), t->name, r0 * cols + i, (double)f[i], lim);
    return s;
}

fss_status tf_gguf_read(const fss_gguf *g, const fss_tf_model *m, int l, fss_tf_part p, uint64_t *v, char *err,
                        size_t err_len)
{
    tf_piece pc[MAX_PIECES];
    const int n = tf_pieces(m, p, pc);
    const double qs = 1 / sqrt((double)(m->d / m->heads));
    const double lim = tf_limit(m, p);
    fss_status s = FSS_OK;
    for (int i = 0; s == FSS_OK && i < n; i++) {
        gsrc src;
        const fss_gguf_tensor *t;
        if (!gsource(g, m, l, p, i, &src))
            return fss_errorf(err, err_len, FSS_E_ARG, "%s: a GGUF Llama has no part %d", m->name, (int)p);
        if ((s = tensor_of(g, m, &src, &t, err, err_len)) != FSS_OK)
            break;
        float *f = (float *)malloc(src.frows * src.fcols * sizeof *f);
        if (!f)
            return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory for %s", src.name);
        s = rows_of(g, t, 0, src.frows, src.fcols, lim / (pc[i].query ? qs : 1), f, err, err_len);
        for (size_t a = 0; s == FSS_OK && a < pc[i].rows; a++)
            for (size_t b = 0; b < pc[i].cols; b++) { /* ours [a][b]: the file's [b][a] when transposed */
                const size_t at = src.transposed ? unpermute(b, src.heads, src.frows) * src.fcols + a
                                                 : a * src.fcols + b;
                v[pc[i].off + a * pc[i].stride + b] = tf_fixed((double)f[at] * (pc[i].query ? qs : 1), m);
            }
        fss_free_wiped(f, src.frows * src.fcols * sizeof *f); /* party 0's weights */
    }
    return s;
}

fss_status tf_gguf_read_head(const fss_gguf *g, const fss_tf_model *m, size_t c0, size_t c1, uint64_t *v, char *err,
                             size_t err_len)
{
    gsrc src;
    const fss_gguf_tensor *t;
    gsource(g, m, 0, FSS_TF_HEAD, 0, &src);
    fss_status s = tensor_of(g, m, &src, &t, err, err_len);
    const size_t d = m->d, k = c1 - c0;
    float *f = s == FSS_OK ? (float *)malloc(k * d * sizeof *f) : NULL;
    if (s == FSS_OK && !f)
        return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory for the LM head");
    if (s == FSS_OK)
        s = rows_of(g, t, c0, c1, d, tf_limit(m, FSS_TF_HEAD), f, err, err_len);
    for (size_t j = 0; s == FSS_OK && j < k; j++) /* token c0 + j's row: column j of [d][k] */
        for (size_t i = 0; i < d; i++)
            v[i * k + j] = tf_fixed(f[j * d + i], m);
    if (f)
        fss_free_wiped(f, k * d * sizeof *f);
    return s;
}

fss_status tf_gguf_check(const fss_gguf *g, const fss_tf_model *m, int layers, char *err, size_t err_len)
{
    const char *arch;
    uint64_t alen, u[6];
    double rope = 0, eps = 0;
    static const char *const keys[] = {"llama.embedding_length", "llama.block_count", "llama.attention.head_count",
                                       "llama.attention.head_count_kv", "llama.feed_forward_length",
                                       "llama.vocab_size"};
    const uint64_t want[6] = {m->d, (uint64_t)layers, m->heads, m->kv_heads, m->ffn, m->vocab};
    if (m->arch != FSS_TF_LLAMA || !fss_gguf_get_str(g, "general.architecture", &arch, &alen) || alen != 5 ||
        memcmp(arch, "llama", 5))
        return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: not a GGUF Llama (general.architecture), or %s is not one",
                          fss_gguf_path(g), m->name);
    for (int i = 0; i < 6; i++)
        if (!fss_gguf_get_u64(g, keys[i], &u[i]) || (i == 1 ? u[i] < want[i] : u[i] != want[i]))
            return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: %s is not %s's %llu", fss_gguf_path(g), keys[i],
                              m->name, (unsigned long long)want[i]);
    if (!fss_gguf_get_f64(g, "llama.rope.freq_base", &rope) || rope != m->rope ||
        !fss_gguf_get_f64(g, "llama.attention.layer_norm_rms_epsilon", &eps) || fabs(eps - m->eps) > 1e-3 * m->eps)
        return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: the rotary base %g or the norms' epsilon %g is not %s's (%g, %g)",
                          fss_gguf_path(g), rope, eps, m->name, m->rope, m->eps);
    return FSS_OK;
}
