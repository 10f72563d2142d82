/* Party 0's weights for the transformer walk (fss/transformer.h): random from a seed, or
 * read from a .safetensors file under Hugging Face's names, both filling the same parts.
 *
 * The walk's layouts are [in][out] for a weight matrix. Hugging Face stores nn.Linear
 * weights as [out][in] (BERT, GPT-Neo, Llama: transposed here) and GPT-2's Conv1D as
 * [in][out] (as is), with its queries, keys and values fused in one [d][3 d] c_attn. The
 * owner folds attention's 1 / sqrt(head size) into the queries' weights and bias, except
 * for GPT-Neo, whose attention does not scale. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fss/ring.h"
#include "fss/rng.h"
#include "fss/safetensors.h"
#include "fss/transformer.h"
#include "weights_internal.h"

typedef enum naming { HF_BERT, HF_GPT2, HF_NEO, HF_LLAMA } naming;
static const char *const naming_str[] = {"BERT", "GPT-2", "GPT-Neo", "Llama"};

struct fss_tf_weights {
    const fss_tf_model *m;
    uint64_t seed;
    fss_safetensors *st; /* NULL (and gg NULL): random from seed */
    fss_gguf *gg;        /* a llama.cpp GGUF file instead (weights_gguf.c) */
    naming nm;
    const char *prefix; /* before every name but lm_head.weight: "", "bert.", "transformer.", "model." */
    int tied;           /* the LM head is the token embeddings (no lm_head.weight) */
};

/* ---- the parts' layouts ------------------------------------------------------------------ */

int fss_tf_gate_fused(const fss_tf_model *m)
{
    return m->arch == FSS_TF_LLAMA && 2 * m->d * m->ffn <= FSS_TF_FUSE_MAX;
}

/* The pieces of part p in the order they are read; each lands at its own offset, rows
 * stride apart. QKV's queries, keys and values share their rows: one [d][d + 2 kv]
 * matrix (GPT-2's c_attn), then one bias [d + 2 kv]; so do Llama's gate and up in GATE
 * ([d][2 ffn]; its UP is empty); the other parts' pieces follow one another. */
int tf_pieces(const fss_tf_model *m, fss_tf_part p, tf_piece *pc)
{
    const size_t d = m->d, kv = m->d / m->heads * m->kv_heads, f = m->ffn, D = d + 2 * kv;
    const int llama = m->arch == FSS_TF_LLAMA, bias = !llama;
    int n = 0;
    size_t at = 0;
#define PIECE(r, c, k, q) (pc[n] = (tf_piece){(r), (c), (k), (q), at, (c)}, at += (size_t)(r) * (c), n++)
#define FUSED(r, c, k, q, o) (pc[n++] = (tf_piece){(r), (c), (k), (q), (o), D})
    switch (p) {
    case FSS_TF_QKV:
        FUSED(d, d, 'w', 1, 0), FUSED(d, kv, 'w', 0, d), FUSED(d, kv, 'w', 0, d + kv);
        if (bias)
            FUSED(1, d, 'b', 1, d * D), FUSED(1, kv, 'b', 0, d * D + d), FUSED(1, kv, 'b', 0, d * D + d + kv);
        break;
    case FSS_TF_O: PIECE(d, d, 'w', 0); if (bias) PIECE(1, d, 'b', 0); break;
    case FSS_TF_LN1:
    case FSS_TF_LN2: PIECE(1, d, 'g', 0); if (bias) PIECE(1, d, 'b', 0); break;
    case FSS_TF_UP: if (!fss_tf_gate_fused(m)) { PIECE(d, f, 'w', 0); if (bias) PIECE(1, f, 'b', 0); } break;
    case FSS_TF_GATE: /* Llama's gate; fused, the gate and up side by side: [W_g W_u] [d][2 ffn], one product */
        if (fss_tf_gate_fused(m))
            pc[n++] = (tf_piece){d, f, 'w', 0, 0, 2 * f}, pc[n++] = (tf_piece){d, f, 'w', 0, f, 2 * f};
        else if (llama)
            PIECE(d, f, 'w', 0);
        break;
    case FSS_TF_DOWN: PIECE(f, d, 'w', 0); if (bias) PIECE(1, d, 'b', 0); break;
    case FSS_TF_NORM:
        if (m->arch != FSS_TF_BERT)
            PIECE(1, d, 'g', 0);
        if (m->arch == FSS_TF_GPT)
            PIECE(1, d, 'b', 0);
        break;
    case FSS_TF_HEAD: if (m->vocab) PIECE(d, m->vocab, 'w', 0); break;
    case FSS_TF_WORDS: if (m->tokens) PIECE(m->tokens, d, 'e', 0); break;
    case FSS_TF_POS: if (m->tokens && m->arch == FSS_TF_BERT) PIECE(m->positions, d, 'e', 0), PIECE(1, d, 't', 0); break;
    case FSS_TF_EMB_LN: if (m->tokens && m->arch == FSS_TF_BERT) PIECE(1, d, 'g', 0), PIECE(1, d, 'b', 0); break;
    default: break;
    }
#undef PIECE
#undef FUSED
    return n;
}

int fss_tf_part_shapes(const fss_tf_model *m, fss_tf_part p, size_t shape[FSS_TF_MAX_PIECES][2])
{
    if (p == FSS_TF_QKV) { /* one matrix and (BERT, GPT) one bias */
        const size_t D = m->d + 2 * (m->d / m->heads * m->kv_heads);
        shape[0][0] = m->d, shape[0][1] = D, shape[1][0] = 1, shape[1][1] = D;
        return m->arch == FSS_TF_LLAMA ? 1 : 2;
    }
    if (p == FSS_TF_GATE && fss_tf_gate_fused(m)) { /* Llama's gate and up: one matrix */
        shape[0][0] = m->d, shape[0][1] = 2 * m->ffn;
        return 1;
    }
    tf_piece pc[MAX_PIECES];
    const int k = tf_pieces(m, p, pc);
    for (int i = 0; i < k; i++)
        shape[i][0] = pc[i].rows, shape[i][1] = pc[i].cols;
    return k;
}

size_t fss_tf_part_count(const fss_tf_model *m, fss_tf_part p)
{
    tf_piece pc[MAX_PIECES];
    size_t n = 0;
    for (int i = 0, k = tf_pieces(m, p, pc); i < k; i++)
        n += pc[i].rows * pc[i].cols;
    return n;
}

/* ---- Hugging Face's names ------------------------------------------------------------- */

/* Where piece i of part p of block l lives in the file: the tensor's name (without the
 * prefix; top: no prefix either), its shape in the file, whether it is stored [out][in]
 * (transposed), its first column in a fused tensor, and whether it may be absent (zeros). */
typedef struct source {
    char name[128];
    size_t frows, fcols; /* the file's shape; frows 0: a vector of fcols */
    int transposed, optional, top;
    size_t col0;
} source;

static void src_set(source *s, int l, const char *fmt, size_t frows, size_t fcols, int transposed)
{
    snprintf(s->name, sizeof s->name, fmt, l);
    s->frows = frows, s->fcols = fcols, s->transposed = transposed;
}

static int source_of(const fss_tf_weights *w, int l, fss_tf_part p, int i, source *s)
{
    const fss_tf_model *m = w->m;
    tf_piece pc[MAX_PIECES];
    const int n = tf_pieces(m, p, pc);
    if (i >= n)
        return 0;
    const size_t r = pc[i].rows, c = pc[i].cols;
    const int vec = r == 1, lin = w->nm != HF_GPT2; /* nn.Linear: [out][in] */
    memset(s, 0, sizeof *s);
    static const char *const qkv_bert[] = {"query", "key", "value"}, *const qkv[] = {"q", "k", "v"};
    switch (w->nm) {
    case HF_GPT2:
        if (p == FSS_TF_QKV) { /* one fused c_attn [d][3d], bias [3d] */
            src_set(s, l, vec ? "h.%d.attn.c_attn.bias" : "h.%d.attn.c_attn.weight", vec ? 0 : m->d, 3 * m->d, 0);
            s->col0 = (size_t)(i % 3) * m->d;
            return 1;
        }
        /* fall through - GPT-2's other names are GPT-Neo's */
    case HF_NEO: {
        const char *fmt = NULL;
        char buf[96];
        switch (p) {
        case FSS_TF_QKV:
            snprintf(buf, sizeof buf, "h.%%d.attn.attention.%s_proj.%s", qkv[i % 3], vec ? "bias" : "weight");
            fmt = buf;
            s->optional = vec; /* GPT-Neo's q, k and v have no bias */
            break;
        case FSS_TF_O:
            fmt = w->nm == HF_NEO ? (vec ? "h.%d.attn.attention.out_proj.bias" : "h.%d.attn.attention.out_proj.weight")
                                  : (vec ? "h.%d.attn.c_proj.bias" : "h.%d.attn.c_proj.weight");
            break;
        case FSS_TF_LN1: fmt = pc[i].kind == 'g' ? "h.%d.ln_1.weight" : "h.%d.ln_1.bias"; break;
        case FSS_TF_LN2: fmt = pc[i].kind == 'g' ? "h.%d.ln_2.weight" : "h.%d.ln_2.bias"; break;
        case FSS_TF_UP: fmt = vec ? "h.%d.mlp.c_fc.bias" : "h.%d.mlp.c_fc.weight"; break;
        case FSS_TF_DOWN: fmt = vec ? "h.%d.mlp.c_proj.bias" : "h.%d.mlp.c_proj.weight"; break;
        case FSS_TF_NORM: fmt = pc[i].kind == 'g' ? "ln_f.weight" : "ln_f.bias"; break;
        default: break;
        }
        if (p == FSS_TF_HEAD)
            break;
        src_set(s, l, fmt, vec ? 0 : lin ? c : r, vec ? c : lin ? r : c, !vec && lin);
        return 1;
    }
    case HF_BERT: {
        char buf[96];
        const char *fmt = buf;
        switch (p) { /* the embeddings: tables [rows][d] as stored; token type 0's row of [2][d] */
        case FSS_TF_WORDS: src_set(s, l, "embeddings.word_embeddings.weight", r, c, 0); return 1;
        case FSS_TF_POS:
            if (pc[i].kind == 't')
                src_set(s, l, "embeddings.token_type_embeddings.weight", 2, c, 0);
            else
                src_set(s, l, "embeddings.position_embeddings.weight", r, c, 0);
            return 1;
        case FSS_TF_EMB_LN: fmt = pc[i].kind == 'g' ? "embeddings.LayerNorm.weight" : "embeddings.LayerNorm.bias"; break;
        case FSS_TF_QKV: snprintf(buf, sizeof buf, "encoder.layer.%%d.attention.self.%s.%s", qkv_bert[i % 3], vec ? "bias" : "weight"); break;
        case FSS_TF_O: fmt = vec ? "encoder.layer.%d.attention.output.dense.bias" : "encoder.layer.%d.attention.output.dense.weight"; break;
        case FSS_TF_LN1: fmt = pc[i].kind == 'g' ? "encoder.layer.%d.attention.output.LayerNorm.weight" : "encoder.layer.%d.attention.output.LayerNorm.bias"; break;
        case FSS_TF_UP: fmt = vec ? "encoder.layer.%d.intermediate.dense.bias" : "encoder.layer.%d.intermediate.dense.weight"; break;
        case FSS_TF_DOWN: fmt = vec ? "encoder.layer.%d.output.dense.bias" : "encoder.layer.%d.output.dense.weight"; break;
        case FSS_TF_LN2: fmt = pc[i].kind == 'g' ? "encoder.layer.%d.output.LayerNorm.weight" : "encoder.layer.%d.output.LayerNorm.bias"; break;
        default: return 0;
        }
        src_set(s, l, fmt, vec ? 0 : c, vec ? c : r, !vec);
        return 1;
    }
    case HF_LLAMA: {
        char buf[96];
        const char *fmt = buf;
        switch (p) {
        case FSS_TF_QKV: snprintf(buf, sizeof buf, "layers.%%d.self_attn.%s_proj.weight", qkv[i % 3]); break;
        case FSS_TF_O: fmt = "layers.%d.self_attn.o_proj.weight"; break;
        case FSS_TF_LN1: fmt = "layers.%d.input_layernorm.weight"; break;
        case FSS_TF_LN2: fmt = "layers.%d.post_attention_layernorm.weight"; break;
        case FSS_TF_UP: fmt = "layers.%d.mlp.up_proj.weight"; break;
        case FSS_TF_GATE: fmt = i == 0 ? "layers.%d.mlp.gate_proj.weight" : "layers.%d.mlp.up_proj.weight"; break;
        case FSS_TF_DOWN: fmt = "layers.%d.mlp.down_proj.weight"; break;
        case FSS_TF_NORM: fmt = "norm.weight"; break;
        default: break;
        }
        if (p == FSS_TF_HEAD)
            break;
        src_set(s, l, fmt, vec ? 0 : c, vec ? c : r, !vec);
        return 1;
    }
    }
    /* the LM head [d][vocab]: lm_head.weight [vocab][d], or the tied token embeddings */
    if (w->tied)
        src_set(s, l, w->nm == HF_LLAMA ? "embed_tokens.weight" : "wte.weight", c, r, 1);
    else
        src_set(s, l, "lm_head.weight", c, r, 1), s->top = 1;
    return 1;
}

/* The name as the file has it: with the prefix, and a LayerNorm's weight and bias under
 * the names of older BERT checkpoints (gamma, beta) where the file has those instead. */
static void full_name(const fss_tf_weights *w, const source *s, char *out, size_t len)
{
    snprintf(out, len, "%s%s", s->top ? "" : w->prefix, s->name);
    char *ln = strstr(out, "LayerNorm.");
    if (ln && w->st && !fss_safetensors_find(w->st, out)) {
        const int gain = !strcmp(ln, "LayerNorm.weight"), bias = !strcmp(ln, "LayerNorm.bias");
        if (gain || bias) {
            snprintf(ln, len - (size_t)(ln - out), "LayerNorm.%s", gain ? "gamma" : "beta");
            if (!fss_safetensors_find(w->st, out)) /* neither: the error names the current one */
                snprintf(ln, len - (size_t)(ln - out), "LayerNorm.%s", gain ? "weight" : "bias");
        }
    }
}

/* ---- reading a part -------------------------------------------------------------------- */

/* x at the model's scale, rounded: a multiply by the power of two (exact, as ldexp, and
 * several times faster on a hundred million weights). */
uint64_t tf_fixed(double x, const fss_tf_model *m)
{
    return fss_ring_from_signed((int64_t)llrint(x * (double)((uint64_t)1 << m->scale)), m->bits);
}

/* Random, as PyTorch's init would scale them (uniform, variance 1 / fan_in), gains near 1,
 * biases near 0, from a stream of its own for each (seed, block, part); the final norm's
 * block is the model's last + 1 whatever --layers is (a run of fewer blocks under a setup of
 * all of them must find the same weights). */
static fss_status read_random(const fss_tf_weights *w, int l, fss_tf_part p, uint64_t *v)
{
    const fss_tf_model *m = w->m;
    tf_piece pc[MAX_PIECES];
    const int n = tf_pieces(m, p, pc);
    const double qs = 1 / sqrt((double)(m->d / m->heads));
    fss_rng *g = NULL;
    const uint64_t blk = p == FSS_TF_NORM ? (uint64_t)m->layers : (uint64_t)l;
    fss_status s = fss_rng_new_seeded(&g, w->seed * 1000003u + blk * 64u + (uint64_t)p);
    for (int i = 0; s == FSS_OK && i < n; i++) {
        if (p == FSS_TF_GATE && i == 1) { /* fused, the up columns: UP's stream, as when they are a part */
            fss_rng_free(g);
            g = NULL;
            if ((s = fss_rng_new_seeded(&g, w->seed * 1000003u + blk * 64u + (uint64_t)FSS_TF_UP)) != FSS_OK)
                break;
        }
        const double a = pc[i].kind == 'w' ? sqrt(3.0 / (double)pc[i].rows) : 0.1, mid = pc[i].kind == 'g';
        for (size_t r = 0; s == FSS_OK && r < pc[i].rows; r++) { /* a row drawn in place */
            uint64_t *o = v + pc[i].off + r * pc[i].stride;
            if ((s = fss_rng_bytes(g, o, pc[i].cols * 8)) != FSS_OK)
                break;
            for (size_t j = 0; j < pc[i].cols; j++)
                o[j] = tf_fixed(((fss_rng_unit(o[j]) * 2 - 1) * a + mid) * (pc[i].query ? qs : 1), m);
        }
    }
    fss_rng_free(g);
    return s;
}

/* The LM head's columns [c0, c1): rows c0..c1 of the file's [vocab][d] (lm_head.weight or
 * the tied embeddings), after a check of its whole shape, transposed into [d][c1 - c0]. */
static fss_status read_head_file(const fss_tf_weights *w, size_t c0, size_t c1, uint64_t *v, char *err, size_t err_len)
{
    const fss_tf_model *m = w->m;
    const size_t d = m->d, k = c1 - c0;
    const double lim = ldexp(1.0, m->bits - 2 - m->scale);
    source src;
    char name[192];
    source_of(w, 0, FSS_TF_HEAD, 0, &src);
    full_name(w, &src, name, sizeof name);
    const fss_safetensors_tensor *t = NULL;
    fss_status s = fss_safetensors_get(w->st, name, &t, err, err_len);
    if (s != FSS_OK)
        return s;
    if (t->ndim != 2 || t->shape[0] != m->vocab || t->shape[1] != d)
        return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: tensor %s has %d dimensions (%llu x %llu); %s's LM head takes [%zu, %zu]",
                          fss_safetensors_path(w->st), name, t->ndim, (unsigned long long)t->shape[0],
                          (unsigned long long)(t->ndim > 1 ? t->shape[1] : 0), m->name, m->vocab, d);
    float *f = (float *)malloc(k * d * sizeof(float));
    if (!f)
        return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory for %zu values of %s", k * d, name);
    s = fss_safetensors_read_f32_range(w->st, name, (uint64_t)c0 * d, f, k * d, err, err_len);
    for (size_t j = 0; s == FSS_OK && j < k; j++)
        for (size_t i = 0; i < d; i++) {
            const double x = f[j * d + i];
            if (!(fabs(x) < lim)) {
                s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: %s element %zu is %g: not a finite number within +-%g",
                               fss_safetensors_path(w->st), name, (c0 + j) * d + i, x, lim);
                break;
            }
            v[i * k + j] = tf_fixed(x, m);
        }
    fss_free_wiped(f, k * d * sizeof(float));
    return s;
}

static fss_status read_file(const fss_tf_weights *w, int l, fss_tf_part p, uint64_t *v, char *err, size_t err_len)
{
    const fss_tf_model *m = w->m;
    tf_piece pc[MAX_PIECES];
    const int n = tf_pieces(m, p, pc);
    const double qs = w->nm == HF_NEO ? 1 : 1 / sqrt((double)(m->d / m->heads));
    const double lim = tf_limit(m, p);
    char who[96], name[192];
    snprintf(who, sizeof who, "%s (Hugging Face %s names)", m->name, naming_str[w->nm]);
    fss_status s = FSS_OK;
    for (int i = 0; s == FSS_OK && i < n; i++) {
        source src;
        source_of(w, l, p, i, &src);
        full_name(w, &src, name, sizeof name);
        const size_t r = pc[i].rows, c = pc[i].cols, fn = (src.frows ? src.frows : 1) * src.fcols;
        if (src.optional && !fss_safetensors_find(w->st, name)) { /* absent: zeros */
            for (size_t a = 0; a < r; a++)
                memset(v + pc[i].off + a * pc[i].stride, 0, c * 8);
            continue;
        }
        float *f = (float *)malloc(fn * sizeof(float));
        if (!f)
            return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory for %s (%zu values)", name, fn);
        const size_t fshape[2] = {src.frows, src.fcols};
        s = src.frows ? fss_safetensors_read_f32_shaped(w->st, name, f, 2, fshape, who, err, err_len)
                      : fss_safetensors_read_f32_shaped(w->st, name, f, 1, fshape + 1, who, err, err_len);
        for (size_t a = 0; s == FSS_OK && a < r; a++)
            for (size_t b = 0; b < c; b++) {
                /* ours [a][b] (vector: [b]); the file's [b][a] when transposed, else [a][col0 + b] */
                const size_t at = src.transposed ? b * src.fcols + a : a * src.fcols + src.col0 + b;
                const double x = (double)f[at] * (pc[i].query ? qs : 1);
                if (!(fabs(x) < lim)) {
                    s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: %s element %zu is %g: not a finite number within +-%g",
                                   fss_safetensors_path(w->st), name, at, (double)f[at], lim);
                    break;
                }
                v[pc[i].off + a * pc[i].stride + b] = tf_fixed(x, m);
            }
        fss_free_wiped(f, fn * sizeof(float));
    }
    return s;
}

/* At most 2^22 values (32 MiB) a slice: glibc's malloc recycles blocks up to that size
 * (its mmap threshold grows to 32 MiB at most), where larger ones are mapped afresh and
 * faulted in page by page. With 2^24 values a slice party 0 faulted in 0.4 GB of new pages
 * a GPT-2 run: 0.4 of its 3.5 s. */
size_t fss_tf_head_slice(const fss_tf_model *m)
{
    const size_t c = ((size_t)1 << 22) / m->d;
    return c < 1 ? 1 : c > m->vocab ? m->vocab : c;
}

fss_status fss_tf_weights_read_head(const fss_tf_weights *w, size_t c0, size_t c1, uint64_t *v, char *err,
                                    size_t err_len)
{
    const fss_tf_model *m = w->m;
    if (!m->vocab || c0 >= c1 || c1 > m->vocab)
        return fss_errorf(err, err_len, FSS_E_ARG, "%s: no LM head columns [%zu, %zu)", m->name, c0, c1);
    if (w->gg)
        return tf_gguf_read_head(w->gg, m, c0, c1, v, err, err_len);
    if (w->st)
        return read_head_file(w, c0, c1, v, err, err_len);
    /* random: [vocab][d] values of one stream, the slice's rows from their place in it (so
     * the weights do not depend on the slices), transposed into [d][c1 - c0] */
    const size_t d = m->d, k = c1 - c0, at = c0 * d;
    const double a = sqrt(3.0 / (double)d);
    const uint64_t seed = w->seed * 1000003u + ((uint64_t)1 << 32);
    uint8_t key[16], skip[8];
    memcpy(key, &seed, 8);
    memcpy(key + 8, "fss-head", 8);
    uint64_t *t = (uint64_t *)malloc(k * d * 8);
    fss_rng *g = NULL;
    fss_status s = t ? fss_rng_new_key_at(&g, key, at / 2) : FSS_E_NOMEM; /* two values a block */
    if (s == FSS_OK && at % 2)
        s = fss_rng_bytes(g, skip, 8);
    if (s == FSS_OK)
        s = fss_rng_bytes(g, t, k * d * 8);
    for (size_t j = 0; s == FSS_OK && j < k; j++)
        for (size_t i = 0; i < d; i++)
            v[i * k + j] = tf_fixed((fss_rng_unit(t[j * d + i]) * 2 - 1) * a, m);
    fss_rng_free(g);
    if (t)
        fss_free_wiped(t, k * d * 8);
    return s == FSS_OK ? s : fss_errorf(err, err_len, s, "cannot draw random weights");
}

fss_status fss_tf_weights_read(const fss_tf_weights *w, int layer, fss_tf_part p, uint64_t *v, char *err,
                               size_t err_len)
{
    if (p == FSS_TF_HEAD)
        return fss_errorf(err, err_len, FSS_E_ARG, "the LM head comes in slices: fss_tf_weights_read_head");
    if (w->gg)
        return tf_gguf_read(w->gg, w->m, layer, p, v, err, err_len);
    if (!w->st) {
        fss_status s = read_random(w, layer, p, v);
        return s == FSS_OK ? s : fss_errorf(err, err_len, s, "cannot draw random weights");
    }
    return read_file(w, layer, p, v, err, err_len);
}

/* ---- opening ---------------------------------------------------------------------------- */

fss_status fss_tf_weights_random(fss_tf_weights **out, const fss_tf_model *m, uint64_t seed)
{
    fss_tf_weights *w = (fss_tf_weights *)calloc(1, sizeof *w);
    if (!w)
        return FSS_E_NOMEM;
    w->m = m, w->seed = seed, w->prefix = "";
    *out = w;
    return FSS_OK;
}

/* The naming and prefix whose first block's first tensor the file holds. */
static int detect(fss_tf_weights *w)
{
    static const struct { fss_tf_arch arch; naming nm; const char *prefix; } tries[] = {
        {FSS_TF_BERT, HF_BERT, ""},        {FSS_TF_BERT, HF_BERT, "bert."}, {FSS_TF_GPT, HF_GPT2, ""},
        {FSS_TF_GPT, HF_GPT2, "transformer."}, {FSS_TF_GPT, HF_NEO, "transformer."}, {FSS_TF_GPT, HF_NEO, ""},
        {FSS_TF_LLAMA, HF_LLAMA, "model."}, {FSS_TF_LLAMA, HF_LLAMA, ""},
    };
    for (size_t t = 0; t < sizeof tries / sizeof *tries; t++) {
        if (tries[t].arch != w->m->arch)
            continue;
        source s;
        char name[192];
        w->nm = tries[t].nm, w->prefix = tries[t].prefix;
        source_of(w, 0, FSS_TF_QKV, 0, &s);
        full_name(w, &s, name, sizeof name);
        if (fss_safetensors_find(w->st, name))
            return 1;
    }
    return 0;
}

/* Every tensor the run takes (the first layers blocks, the final norm, a text model's
 * embeddings, with head the LM head), read once now, so that a missing tensor, a wrong shape
 * or a value without a fixed-point value is refused before a key is spent; w is freed on
 * failure, else *out. */
static fss_status read_all(fss_tf_weights *w, fss_tf_weights **out, int layers, int head, char *err, size_t err_len)
{
    const fss_tf_model *m = w->m;
    size_t most = head && m->vocab ? fss_tf_head_slice(m) * m->d : 0;
    for (int p = 0; p < FSS_TF_PARTS; p++)
        most = p != FSS_TF_HEAD && fss_tf_part_count(m, (fss_tf_part)p) > most ? fss_tf_part_count(m, (fss_tf_part)p) : most;
    uint64_t *v = (uint64_t *)malloc(most * 8);
    fss_status s = v ? FSS_OK : fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
    for (int l = 0; s == FSS_OK && l < layers; l++)
        for (int p = 0; s == FSS_OK && p < FSS_TF_NORM; p++)
            s = fss_tf_weights_read(w, l, (fss_tf_part)p, v, err, err_len);
    for (int p = FSS_TF_NORM; s == FSS_OK && p < FSS_TF_PARTS; p++) /* the final norm; a text model's embeddings */
        if (p != FSS_TF_HEAD && fss_tf_part_count(m, (fss_tf_part)p))
            s = fss_tf_weights_read(w, 0, (fss_tf_part)p, v, err, err_len);
    for (size_t c = 0; s == FSS_OK && head && c < m->vocab; c += fss_tf_head_slice(m))
        s = fss_tf_weights_read_head(w, c, c + fss_tf_head_slice(m) < m->vocab ? c + fss_tf_head_slice(m) : m->vocab, v,
                                     err, err_len);
    if (v)
        fss_free_wiped(v, most * 8);
    if (s != FSS_OK) {
        fss_tf_weights_free(w);
        return s;
    }
    *out = w;
    return FSS_OK;
}

static fss_status open_gguf(fss_tf_weights *w, fss_tf_weights **out, int layers, int head, const char *path, char *err,
                            size_t err_len)
{
    fss_status s = fss_gguf_open(path, &w->gg, err, err_len);
    if (s == FSS_OK)
        s = tf_gguf_check(w->gg, w->m, layers, err, err_len);
    if (s != FSS_OK) {
        fss_tf_weights_free(w);
        return s;
    }
    return read_all(w, out, layers, head, err, err_len);
}

fss_status fss_tf_weights_open(fss_tf_weights **out, const fss_tf_model *m, int layers, int head, const char *path,
                               char *err, size_t err_len)
{
    *out = NULL;
    fss_tf_weights *w = (fss_tf_weights *)calloc(1, sizeof *w);
    if (!w)
        return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
    w->m = m;
    char magic[4] = "";
    FILE *f = fopen(path, "rb");
    const int gguf = f && fread(magic, 1, 4, f) == 4 && !memcmp(magic, "GGUF", 4);
    if (f)
        fclose(f);
    if (gguf) /* a llama.cpp file: every tensor the run takes read once now, as below */
        return open_gguf(w, out, layers, head, path, err, err_len);
    fss_status s = fss_safetensors_open(&w->st, path, err, err_len);
    if (s == FSS_OK && !detect(w)) {
        static const char *const first[] = {"encoder.layer.0.attention.self.query.weight",
                                            "h.0.attn.c_attn.weight (GPT-2) or h.0.attn.attention.q_proj.weight",
                                            "model.layers.0.self_attn.q_proj.weight"};
        s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: no %s (Hugging Face's names for %s)", path, first[m->arch],
                       m->name);
    }
    /* GPT-2's and GPT-Neo's names fit one shape (GPT-Neo 125M is GPT-2's): the walk's
     * local attention follows the model, so the file must be the model's kind */
    if (s == FSS_OK && m->arch == FSS_TF_GPT && (w->nm == HF_NEO) != (m->window != 0))
        s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s holds %s names; %s is %s model: choose %s", path,
                       naming_str[w->nm], m->name, m->window ? "a GPT-Neo (local attention)" : "a GPT-2",
                       m->window ? "a GPT-2 model (gpt2)" : "a GPT-Neo model (gpt-neo-125m, gpt-neo-1.3b, ...)");
    if (s == FSS_OK && head && m->vocab) { /* lm_head.weight, else tied to the token embeddings */
        char name[192];
        snprintf(name, sizeof name, "%s%s", w->prefix, w->nm == HF_LLAMA ? "embed_tokens.weight" : "wte.weight");
        w->tied = !fss_safetensors_find(w->st, "lm_head.weight");
        if (w->tied && !fss_safetensors_find(w->st, name))
            s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: no lm_head.weight nor %s for %s's LM head", path, name,
                           m->name);
    }
    if (s != FSS_OK) {
        fss_tf_weights_free(w);
        return s;
    }
    return read_all(w, out, layers, head, err, err_len);
}

const char *fss_tf_weights_naming(const fss_tf_weights *w) { return w->gg ? "GGUF" : w->st ? naming_str[w->nm] : "random"; }

void fss_tf_weights_free(fss_tf_weights *w)
{
    if (!w)
        return;
    fss_safetensors_close(w->st);
    fss_gguf_close(w->gg);
    free(w);
}
