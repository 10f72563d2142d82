/* The transformer walk (fss/transformer.h): one function for the dealer, the parties and the
 * clear run. Party 0's weights are inputs a part of a block at a time (one matrix or norm an
 * input, numbered for weights input once), cut into views; linear layers are the owner's
 * products, then one arithmetic shift back to scale f. */
#include "fss/transformer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fss/gates.h"
#include "fss/ring.h"

static const fss_tf_model g_models[] = {
    {"bert-tiny", "", FSS_TF_BERT, 2, 128, 2, 2, 512, 0, 50, 12, 1e-12, 0, 0, 0, 0},
    {"bert-base", "", FSS_TF_BERT, 12, 768, 12, 12, 3072, 0, 50, 12, 1e-12, 0, 0, 0, 0},
    {"bert-large", "", FSS_TF_BERT, 24, 1024, 16, 16, 4096, 0, 50, 12, 1e-12, 0, 0, 0, 0},
    {"gpt2", "", FSS_TF_GPT, 12, 768, 12, 12, 3072, 50257, 50, 12, 1e-5, 0, 0, 0, 0},
    {"gpt-neo-125m", "", FSS_TF_GPT, 12, 768, 12, 12, 3072, 50257, 50, 12, 1e-5, 256, 0, 0, 0},
    {"gpt-neo-1.3b", "gpt-neo", FSS_TF_GPT, 24, 2048, 16, 16, 8192, 50257, 50, 12, 1e-5, 256, 0, 0, 0},
    {"gpt-neo-2.7b", "", FSS_TF_GPT, 32, 2560, 20, 20, 10240, 50257, 50, 12, 1e-5, 256, 0, 0, 0},
    {"llama2-7b", "llama7b", FSS_TF_LLAMA, 32, 4096, 32, 32, 11008, 32000, 50, 12, 1e-5, 0, 0, 0, 10000.0},
    {"llama2-13b", "llama13b", FSS_TF_LLAMA, 40, 5120, 40, 40, 13824, 32000, 50, 12, 1e-5, 0, 0, 0, 10000.0},
    /* sentence-transformers' all-MiniLM-L6-v2 (a BertModel): from text to its sentence
     * embeddings (minilm), or from token embeddings to the last hidden states (minilm-l6) */
    {"minilm", "", FSS_TF_BERT, 6, 384, 12, 12, 1536, 0, 50, 12, 1e-12, 0, 30522, 512, 0},
    {"minilm-l6", "all-minilm-l6-v2", FSS_TF_BERT, 6, 384, 12, 12, 1536, 0, 50, 12, 1e-12, 0, 0, 0, 0},
    /* SmolLM2-135M (Llama: 9 query and 3 key/value heads, tied embeddings) from text; a
     * 64-bit ring: its residual stream reaches 22552 (a norm's mean square 2^20) */
    {"smollm2", "smollm2-135m", FSS_TF_LLAMA, 30, 576, 9, 3, 1536, 49152, 64, 12, 1e-5, 0, 49152, 8192, 100000.0},
    /* small shapes for tests: a GPT-2, a Llama with grouped key/value heads, a GPT-Neo */
    {"gpt2-tiny", "", FSS_TF_GPT, 2, 64, 4, 4, 256, 97, 50, 12, 1e-5, 0, 0, 0, 0},
    {"llama-tiny", "", FSS_TF_LLAMA, 2, 64, 4, 2, 128, 89, 50, 12, 1e-5, 0, 0, 0, 10000.0},
    {"gpt-neo-tiny", "", FSS_TF_GPT, 2, 64, 4, 4, 256, 97, 50, 12, 1e-5, 4, 0, 0, 0}, /* its block 1: a local window of 4 */
};

size_t fss_tf_count(void) { return sizeof g_models / sizeof *g_models; }
const fss_tf_model *fss_tf_at(size_t i) { return i < fss_tf_count() ? &g_models[i] : NULL; }

const fss_tf_model *fss_tf_find(const char *name)
{
    for (size_t i = 0; name && i < fss_tf_count(); i++) {
        const fss_tf_model *m = &g_models[i];
        if (!strcmp(name, m->name) || (*m->aliases && !strcmp(name, m->aliases)))
            return m;
    }
    return NULL;
}

/* ---- party 0's weights, a part at a time ------------------------------------------------ */

typedef struct wpart {
    fss_tensor all;
    fss_tensor v[FSS_TF_MAX_PIECES]; /* its pieces, as views of all */
} wpart;

/* A weight's number for weights input once (fss_gate_input_weights): block l's part p; the
 * final norm's and the LM head's slices apart from the blocks (a run of fewer blocks finds
 * them under the same numbers). */
#define FSS_TF_ID_FINAL ((uint64_t)0xFFFF << 32)
static uint64_t weight_id(int l, fss_tf_part p, size_t slice)
{
    return p >= FSS_TF_NORM ? FSS_TF_ID_FINAL | (uint64_t)p << 24 | slice /* the final parts, the embeddings */
                                                : (uint64_t)l << 32 | (uint64_t)p << 24;
}

/* Part p of block l as party 0's input: the owner reads it (w), everyone inputs it, and
 * the pieces become views: [rows][cols] matrices and [cols] vectors, in the part's order. */
static fss_status part_in(fss_eval *ev, const fss_tf_model *m, const fss_tf_weights *w, int l, fss_tf_part p,
                          wpart *out)
{
    memset(out, 0, sizeof *out);
    const size_t n = fss_tf_part_count(m, p);
    if (fss_eval_weights_kept(ev, weight_id(l, p, 0))) /* input before in this walk: nothing to read */
        w = NULL;
    uint64_t *v = w ? (uint64_t *)malloc(n * 8) : NULL;
    if (w && !v)
        return fss_eval_fail(ev, FSS_E_NOMEM, "out of memory for %zu weights", n);
    fss_status s = FSS_OK;
    if (w) {
        char err[FSS_IO_ERR_LEN];
        if ((s = fss_tf_weights_read(w, l, p, v, err, sizeof err)) != FSS_OK)
            s = fss_eval_fail(ev, s, "%s", err);
    }
    size_t ns[1] = {n};
    if (s == FSS_OK) /* the token embeddings in their own ring */
        s = fss_gate_input_weights(ev, weight_id(l, p, 0), 1, ns, p == FSS_TF_WORDS ? FSS_TF_EMBED_BITS : m->bits,
                                   m->scale, v, &out->all);
    if (v)
        fss_free_wiped(v, n * 8);
    size_t shape[FSS_TF_MAX_PIECES][2], off = 0;
    const int k = fss_tf_part_shapes(m, p, shape);
    for (int i = 0; s == FSS_OK && i < k; i++) {
        s = shape[i][0] == 1 ? fss_tensor_view(&out->all, off, 1, shape[i] + 1, m->scale, &out->v[i])
                             : fss_tensor_view(&out->all, off, 2, shape[i], m->scale, &out->v[i]);
        off += shape[i][0] * shape[i][1];
    }
    if (s == FSS_OK && off != n)
        s = fss_eval_fail(ev, FSS_E_ARG, "part %d: views of %zu values, not %zu", (int)p, off, n);
    return s;
}

static void part_free(wpart *w) { fss_tensor_free(&w->all); }

/* ---- helpers ---------------------------------------------------------------------------- */

static void free_all(fss_tensor **t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fss_tensor_free(t[i]);
}

/* y = x W (+ b broadcast over the rows), back at x's scale: the owner's product, a shift. */
static fss_status linear(fss_eval *ev, const fss_tensor *x, const fss_tensor *W, const fss_tensor *b, fss_tensor *y)
{
    fss_tensor p = {0}, q = {0};
    fss_status s = fss_gate_matmul(ev, x, W, &p);
    if (s == FSS_OK)
        s = fss_gate_ars_bounded(ev, &p, x->scale, b ? &q : y);
    if (s == FSS_OK && b) { /* a secret bias: local, broadcast over the rows */
        if ((s = fss_tensor_init(y, 2, q.shape, q.bits, q.scale)) == FSS_OK)
            for (size_t i = 0; i < q.count; i++)
                y->v[i] = fss_ring_add(q.v[i], b->v[i % b->count], q.bits);
    }
    fss_tensor_free(&p);
    fss_tensor_free(&q);
    return s;
}

/* [batch seq][heads dh] <-> [batch heads][seq][dh]: a permutation of wires (local). */
static fss_status heads_of(const fss_tensor *x, size_t batch, size_t seq, size_t h, size_t dh, int back, fss_tensor *y)
{
    size_t hs[3] = {batch * h, seq, dh}, fs[2] = {batch * seq, h * dh};
    fss_status s = back ? fss_tensor_init(y, 2, fs, x->bits, x->scale) : fss_tensor_init(y, 3, hs, x->bits, x->scale);
    if (s != FSS_OK)
        return s;
    for (size_t b = 0; b < batch; b++)
        for (size_t t = 0; t < seq; t++)
            for (size_t k = 0; k < h; k++)
                for (size_t j = 0; j < dh; j++) {
                    const size_t flat = (b * seq + t) * h * dh + k * dh + j, head = ((b * h + k) * seq + t) * dh + j;
                    y->v[back ? flat : head] = x->v[back ? head : flat];
                }
    return FSS_OK;
}

/* y [rows][n] = columns [c0, c0 + n) of x [rows][cols]: wires, copied (local). */
static fss_status columns(const fss_tensor *x, size_t c0, size_t n, fss_tensor *y)
{
    const size_t rows = x->shape[0], cols = x->shape[1], shape[2] = {rows, n};
    fss_status s = fss_tensor_init(y, 2, shape, x->bits, x->scale);
    for (size_t r = 0; s == FSS_OK && r < rows; r++)
        memcpy(y->v + r * n, x->v + r * cols + c0, n * 8);
    return s;
}

/* ---- a block ---------------------------------------------------------------------------- */

/* Generation's key/value cache: each block's keys (after the rotary embedding) and values,
 * [batch kv_heads][cap][dh] wires, slots [0, len) filled: the prompt's seq (pads among
 * them), then a slot a generated token. The parties keep masked values, the dealer their
 * masks: the same walk. bias [batch][cap]: party 1's, 0 on its tokens and -FSS_TF_PAD_BIAS
 * on the prompt's pads; cs [batch][dh]: the cos and sin of this step's token's position
 * (party 1's: the prompt's length is its secret). */
typedef struct kvcache {
    fss_tensor *k, *v; /* one a block */
    int layers;
    size_t cap, len;
    fss_tensor bias, cs;
} kvcache;

/* What a block needs to take its weights: the model, the owner's weights (NULL elsewhere),
 * its index, the batch and sequence. */
typedef struct blk {
    const fss_tf_model *m;
    const fss_tf_weights *w;
    int l;
    size_t batch, seq;
    const fss_tensor *pad; /* a model that takes text: party 1's attention bias [batch][seq]; else NULL */
    kvcache *kv;           /* generation: the cache, filled by the prompt's pass (decode 0), then read */
    int decode;            /* a step of one token a sequence over the cache (seq 1) */
} blk;

/* S [batch heads][q][cols] plus pad's first cols of each sequence's row [batch][..] on every
 * row of its heads (wires: local). */
static fss_status add_pad(const fss_tensor *S, const fss_tensor *pad, fss_tensor *y)
{
    const size_t cols = S->shape[2], rows = S->shape[0] * S->shape[1], per = rows / pad->shape[0];
    fss_status s = fss_tensor_init(y, S->ndim, S->shape, S->bits, S->scale);
    for (size_t r = 0; s == FSS_OK && r < rows; r++) {
        const uint64_t *p = pad->v + r / per * pad->shape[1]; /* row r's sequence */
        for (size_t c = 0; c < cols; c++)
            y->v[r * cols + c] = fss_ring_add(S->v[r * cols + c], p[c], S->bits);
    }
    return s;
}

/* Slots [t0, t0 + n) of the cache c [bh][cap][dh] become x [bh][n][dh] (wires, copied). */
static void cache_put(fss_tensor *c, size_t t0, const fss_tensor *x)
{
    const size_t bh = c->shape[0], cap = c->shape[1], dh = c->shape[2], n = x->shape[1];
    for (size_t i = 0; i < bh; i++)
        memcpy(c->v + (i * cap + t0) * dh, x->v + i * n * dh, n * dh * 8);
}

/* x [bh][n][dh] = the first n slots of the cache c (wires, copied). */
static fss_status cache_get(const fss_tensor *c, size_t n, fss_tensor *x)
{
    const size_t bh = c->shape[0], cap = c->shape[1], dh = c->shape[2], xs[3] = {bh, n, dh};
    fss_status s = fss_tensor_init(x, 3, xs, c->bits, c->scale);
    for (size_t i = 0; s == FSS_OK && i < bh; i++)
        memcpy(x->v + i * n * dh, c->v + i * cap * dh, n * dh * 8);
    return s;
}

static fss_status attention(fss_eval *ev, const blk *B, const fss_tensor *x, fss_tensor *out)
{
    const fss_tf_model *m = B->m;
    const size_t dh = m->d / m->heads, batch = B->batch, seq = B->seq;
    const int llama = m->arch == FSS_TF_LLAMA, causal = m->arch != FSS_TF_BERT;
    fss_tensor q = {0}, k = {0}, v = {0}, Q = {0}, K = {0}, V = {0}, Qr = {0}, Kr = {0}, S = {0}, S2 = {0}, S3 = {0},
               P = {0}, C = {0}, C2 = {0}, c = {0};
    wpart W = {0}, O = {0};
    fss_tensor qkv = {0};
    const size_t kv = m->d / m->heads * m->kv_heads;
    fss_status s = part_in(ev, m, B->w, B->l, FSS_TF_QKV, &W);
    if (s == FSS_OK) /* one product for the queries, keys and values, then their columns */
        s = linear(ev, x, &W.v[0], llama ? NULL : &W.v[1], &qkv);
    part_free(&W);
    if (s == FSS_OK && (s = columns(&qkv, 0, m->d, &q)) == FSS_OK && (s = columns(&qkv, m->d, kv, &k)) == FSS_OK)
        s = columns(&qkv, m->d + kv, kv, &v);
    if (s == FSS_OK && B->decode) { /* the token's queries and keys at its secret position, one gate */
        fss_tensor qk = {0}, qkr = {0};
        if ((s = columns(&qkv, 0, m->d + kv, &qk)) == FSS_OK && (s = fss_gate_rotary_at(ev, &qk, &B->kv->cs, &qkr)) == FSS_OK &&
            (s = columns(&qkr, 0, m->d, &Qr)) == FSS_OK)
            s = columns(&qkr, m->d, kv, &Kr);
        fss_tensor_free(&qk), fss_tensor_free(&qkr);
        fss_tensor_free(&q), fss_tensor_free(&k);
        q = Qr, k = Kr;
        Qr = (fss_tensor){0}, Kr = (fss_tensor){0};
    }
    fss_tensor_free(&qkv);
    if (s == FSS_OK && (s = heads_of(&q, batch, seq, m->heads, dh, 0, &Q)) == FSS_OK &&
        (s = heads_of(&k, batch, seq, m->kv_heads, dh, 0, &K)) == FSS_OK)
        s = heads_of(&v, batch, seq, m->kv_heads, dh, 0, &V);
    if (s == FSS_OK && llama && !B->decode && (s = fss_gate_rotary(ev, &Q, 0, m->rope, &Qr)) == FSS_OK)
        s = fss_gate_rotary(ev, &K, 0, m->rope, &Kr);
    const fss_tensor *Qu = llama && !B->decode ? &Qr : &Q, *Ku = llama && !B->decode ? &Kr : &K, *Vu = &V;
    fss_tensor Kc = {0}, Vc = {0};
    if (s == FSS_OK && B->kv) { /* the prompt's keys and values into the cache, or this token's, and all so far out */
        kvcache *kc = B->kv;
        const size_t t0 = B->decode ? kc->len : 0;
        cache_put(&kc->k[B->l], t0, Ku);
        cache_put(&kc->v[B->l], t0, Vu);
        if (B->decode && (s = cache_get(&kc->k[B->l], t0 + 1, &Kc)) == FSS_OK && (s = cache_get(&kc->v[B->l], t0 + 1, &Vc)) == FSS_OK)
            Ku = &Kc, Vu = &Vc;
    }
    /* a token over the cache sees every slot but the prompt's pads: party 1's bias, no causal mask */
    const fss_tensor *bias = B->decode ? &B->kv->bias : B->pad;
    const int local = m->window && B->l % 2; /* GPT-Neo: global, local, global, ... */
    /* the scores' shift on the entries a causal mask keeps (no pad bias: a local window
     * ignores it), or on all of them, the bias added, then the softmax */
    const int masked = local || (causal && !B->decode && !bias);
    if (s == FSS_OK && (s = fss_gate_matmul_batched(ev, Qu, Ku, 1, &S)) == FSS_OK) {
        if (masked)
            s = fss_gate_softmax_shifted(ev, &S, m->scale, local ? m->window : 0, &P);
        else if ((s = fss_gate_ars_bounded(ev, &S, m->scale, &S2)) == FSS_OK && (!bias || (s = add_pad(&S2, bias, &S3)) == FSS_OK))
            s = fss_gate_softmax(ev, bias ? &S3 : &S2, causal && !B->decode, &P);
    }
    if (s == FSS_OK && (s = fss_gate_matmul_batched(ev, &P, Vu, 0, &C)) == FSS_OK && (s = fss_gate_ars_bounded(ev, &C, m->scale, &C2)) == FSS_OK &&
        (s = heads_of(&C2, batch, seq, m->heads, dh, 1, &c)) == FSS_OK && (s = part_in(ev, m, B->w, B->l, FSS_TF_O, &O)) == FSS_OK)
        s = linear(ev, &c, &O.v[0], llama ? NULL : &O.v[1], out);
    part_free(&O);
    fss_tensor *all[] = {&q, &k, &v, &Q, &K, &V, &Qr, &Kr, &Kc, &Vc, &S, &S2, &S3, &P, &C, &C2, &c};
    free_all(all, sizeof all / sizeof *all);
    return s;
}

/* y = x part.v[0] (+ part.v[1]), the part taken, used and dropped: one big matrix at a time. */
static fss_status linear_part(fss_eval *ev, const blk *B, fss_tf_part p, const fss_tensor *x, fss_tensor *y)
{
    wpart W = {0};
    fss_status s = part_in(ev, B->m, B->w, B->l, p, &W);
    if (s == FSS_OK)
        s = linear(ev, x, &W.v[0], B->m->arch == FSS_TF_LLAMA ? NULL : &W.v[1], y);
    part_free(&W);
    return s;
}

static fss_status mlp(fss_eval *ev, const blk *B, const fss_tensor *x, fss_tensor *out)
{
    fss_tensor a = {0}, b = {0}, g = {0}, u = {0}, p = {0}, gu = {0};
    fss_status s;
    if (B->m->arch == FSS_TF_LLAMA) { /* SwiGLU: silu(x Wg) (x Wu) (fused: x [Wg Wu] one product), then Wd */
        const size_t f = B->m->ffn;
        const int fused = fss_tf_gate_fused(B->m);
        s = linear_part(ev, B, FSS_TF_GATE, x, fused ? &gu : &a);
        if (s == FSS_OK && fused && (s = columns(&gu, 0, f, &a)) == FSS_OK)
            s = columns(&gu, f, f, &u);
        if (s == FSS_OK && (s = fss_gate_silu(ev, &a, &g)) == FSS_OK && (fused || (s = linear_part(ev, B, FSS_TF_UP, x, &u)) == FSS_OK) &&
            (s = fss_gate_mul(ev, &g, &u, &p)) == FSS_OK && (s = fss_gate_ars_bounded(ev, &p, B->m->scale, &b)) == FSS_OK)
            s = linear_part(ev, B, FSS_TF_DOWN, &b, out);
    } else {
        s = linear_part(ev, B, FSS_TF_UP, x, &a);
        if (s == FSS_OK && (s = fss_gate_gelu(ev, &a, &g)) == FSS_OK)
            s = linear_part(ev, B, FSS_TF_DOWN, &g, out);
    }
    fss_tensor *all[] = {&a, &b, &g, &u, &p, &gu};
    free_all(all, sizeof all / sizeof *all);
    return s;
}

/* LayerNorm (BERT, GPT) or RMSNorm (Llama) with part p's gain (and bias). */
static fss_status normalize(fss_eval *ev, const blk *B, fss_tf_part p, const fss_tensor *x, fss_tensor *y)
{
    const fss_tf_model *m = B->m;
    wpart W = {0};
    fss_status s = part_in(ev, m, B->w, B->l, p, &W);
    if (s == FSS_OK)
        s = m->arch == FSS_TF_LLAMA ? fss_gate_rmsnorm(ev, x, &W.v[0], m->eps, y)
                                    : fss_gate_layernorm(ev, x, &W.v[0], &W.v[1], m->eps, y);
    part_free(&W);
    return s;
}

static fss_status block(fss_eval *ev, const blk *B, const fss_tensor *x, fss_tensor *y)
{
    fss_tensor n1 = {0}, a = {0}, h = {0}, n2 = {0}, f = {0}, h2 = {0};
    fss_status s;
    if (B->m->arch == FSS_TF_BERT) { /* post-norm: LN(x + attn(x)), LN(h + mlp(h)) */
        s = attention(ev, B, x, &a);
        if (s == FSS_OK && (s = fss_gate_add(ev, x, &a, &h)) == FSS_OK && (s = normalize(ev, B, FSS_TF_LN1, &h, &n1)) == FSS_OK &&
            (s = mlp(ev, B, &n1, &f)) == FSS_OK && (s = fss_gate_add(ev, &n1, &f, &h2)) == FSS_OK)
            s = normalize(ev, B, FSS_TF_LN2, &h2, y);
    } else { /* pre-norm: x + attn(N(x)), then h + mlp(N(h)) */
        s = normalize(ev, B, FSS_TF_LN1, x, &n1);
        if (s == FSS_OK && (s = attention(ev, B, &n1, &a)) == FSS_OK && (s = fss_gate_add(ev, x, &a, &h)) == FSS_OK &&
            (s = normalize(ev, B, FSS_TF_LN2, &h, &n2)) == FSS_OK && (s = mlp(ev, B, &n2, &f)) == FSS_OK)
            s = fss_gate_add(ev, &h, &f, y);
    }
    fss_tensor *all[] = {&n1, &a, &h, &n2, &f, &h2};
    free_all(all, sizeof all / sizeof *all);
    return s;
}

size_t fss_tf_out_count(const fss_tf_model *m, fss_tf_out o, size_t batch, size_t seq)
{
    return o == FSS_TF_OUT_HIDDEN     ? batch * seq * m->d
           : o == FSS_TF_OUT_LOGITS   ? batch * m->vocab
           : o == FSS_TF_OUT_SENTENCE ? batch * m->d
                                      : batch;
}

/* ---- a model that takes text: the embeddings in, the sentence embedding out ------------- */

/* The token embeddings (fss/transformer.h): party 1's one-hot rows (ids: CLEAR and party 1,
 * else NULL) by party 0's table in FSS_TF_EMBED_BITS bits, sign-extended, plus the
 * position rows and token type 0's row, then the embeddings' LayerNorm. */
static fss_status embed(fss_eval *ev, const blk *B, const uint64_t *ids, fss_tensor *y)
{
    const fss_tf_model *m = B->m;
    const size_t n = B->batch * B->seq, V = m->tokens, d = m->d, hs[2] = {n, V}, ys[2] = {n, d};
    uint64_t *hot = ids ? (uint64_t *)calloc(n * V, 8) : NULL;
    if (ids && !hot)
        return fss_eval_fail(ev, FSS_E_NOMEM, "out of memory for %zu one-hot tokens", n);
    for (size_t i = 0; hot && i < n; i++)
        hot[i * V + ids[i]] = 1; /* ids < V: the walk checked */
    fss_tensor H = {0}, E = {0}, E2 = {0}, x = {0};
    wpart T = {0}, P = {0}, L = {0};
    fss_status s = fss_gate_input(ev, 1, 2, hs, FSS_TF_EMBED_BITS, 0, hot, &H);
    if (hot)
        fss_free_wiped(hot, n * V * 8);
    if (s == FSS_OK && (s = part_in(ev, m, B->w, 0, FSS_TF_WORDS, &T)) == FSS_OK)
        s = fss_gate_matmul(ev, &H, &T.v[0], &E);
    part_free(&T);
    fss_tensor_free(&H);
    if (s == FSS_OK && m->arch != FSS_TF_BERT) /* rotary positions, no embedding norm: the rows are all */
        s = fss_gate_sext(ev, &E, m->bits, y);
    else if (s == FSS_OK && (s = fss_gate_sext(ev, &E, m->bits, &E2)) == FSS_OK &&
        (s = part_in(ev, m, B->w, 0, FSS_TF_POS, &P)) == FSS_OK && (s = fss_tensor_init(&x, 2, ys, m->bits, m->scale)) == FSS_OK)
        for (size_t i = 0; i < n; i++) /* + position i % seq's row + token type 0's (wires: local) */
            for (size_t j = 0; j < d; j++)
                x.v[i * d + j] = fss_ring_add(fss_ring_add(E2.v[i * d + j], P.v[0].v[i % B->seq * d + j], m->bits),
                                              P.v[1].v[j], m->bits);
    part_free(&P);
    if (s == FSS_OK && m->arch == FSS_TF_BERT && (s = part_in(ev, m, B->w, 0, FSS_TF_EMB_LN, &L)) == FSS_OK)
        s = fss_gate_layernorm(ev, &x, &L.v[0], &L.v[1], m->eps, y);
    part_free(&L);
    fss_tensor_free(&E), fss_tensor_free(&E2), fss_tensor_free(&x);
    return s;
}

/* rows [batch][d] = pick [batch][1][seq] (party 1's weights at scale f) times h, back at
 * scale f: a weighted mean of each sequence's rows (minilm's pooling) or, by weights 0 and
 * 1, one row whose place is party 1's secret (a text's last token). */
static fss_status select_rows(fss_eval *ev, const blk *B, const fss_tensor *pick, const fss_tensor *h, fss_tensor *rows)
{
    const size_t hs[3] = {B->batch, B->seq, B->m->d}, rs[2] = {B->batch, B->m->d};
    fss_tensor h3 = {0}, P = {0}, P2 = {0};
    fss_status s = fss_tensor_view(h, 0, 3, hs, h->scale, &h3);
    if (s == FSS_OK && (s = fss_gate_matmul_batched(ev, pick, &h3, 0, &P)) == FSS_OK &&
        (s = fss_gate_ars_bounded(ev, &P, B->m->scale, &P2)) == FSS_OK && (s = fss_tensor_reshape(&P2, 2, rs)) == FSS_OK) {
        *rows = P2;
        P2 = (fss_tensor){0};
    }
    fss_tensor_free(&h3), fss_tensor_free(&P), fss_tensor_free(&P2);
    return s;
}

/* The sentence embedding: party 1's pooling weights pool [batch][1][seq] (1/m on its m
 * tokens) times the hidden states, back to scale f, then RMSNorm with gain 1: a public
 * wire, its mask 0. Party 1 divides what it receives by sqrt(d). */
static fss_status sentence(fss_eval *ev, const blk *B, const fss_tensor *pool, const fss_tensor *h, fss_tensor *y)
{
    const fss_tf_model *m = B->m;
    const size_t gs[1] = {m->d};
    fss_tensor p = {0}, g = {0};
    fss_status s = select_rows(ev, B, pool, h, &p);
    if (s == FSS_OK && (s = fss_tensor_init(&g, 1, gs, m->bits, m->scale)) == FSS_OK) {
        for (size_t j = 0; j < m->d; j++)
            g.v[j] = fss_eval_mode(ev) == FSS_MODE_DEALER ? 0 : (uint64_t)1 << m->scale;
        s = fss_gate_rmsnorm(ev, &p, &g, m->eps, y);
    }
    fss_tensor_free(&p), fss_tensor_free(&g);
    return s;
}

/* A pad's attention bias, -FSS_TF_PAD_BIAS at the model's scale, as a ring element. */
static uint64_t pad_bias(const fss_tf_model *m)
{
    return fss_ring_from_signed(-((int64_t)FSS_TF_PAD_BIAS << m->scale), m->bits);
}

/* Party 1's inputs besides the tokens, from the counts m (CLEAR and party 1; else NULL):
 * BERT's attention bias [batch][seq] and pooling weights [batch][1][seq] (1/m on its
 * tokens); a causal model's weights [batch][1][seq] that pick its last token (1 there). */
static fss_status text_inputs(fss_eval *ev, const blk *B, const uint64_t *counts, fss_tensor *pad, fss_tensor *pool)
{
    const fss_tf_model *m = B->m;
    const int bert = m->arch == FSS_TF_BERT;
    const size_t n = B->batch * B->seq, as[2] = {B->batch, B->seq}, ps[3] = {B->batch, 1, B->seq};
    uint64_t *v = counts ? (uint64_t *)calloc(2 * n, 8) : NULL; /* (calloc: GCC 12 took malloc for unset) */
    if (counts && !v)
        return fss_eval_fail(ev, FSS_E_NOMEM, "out of memory");
    for (size_t i = 0; v && i < n; i++) {
        const uint64_t c = counts[i / B->seq], t = i % B->seq, in = t < c;
        v[i] = in ? 0 : pad_bias(m);
        v[n + i] = bert ? (in ? (uint64_t)llrint(ldexp(1.0 / (double)c, m->scale)) : 0)
                        : (t + 1 == c ? (uint64_t)1 << m->scale : 0);
    }
    fss_status s = bert ? fss_gate_input(ev, 1, 2, as, m->bits, m->scale, v, pad) : FSS_OK;
    if (s == FSS_OK)
        s = fss_gate_input(ev, 1, 3, ps, m->bits, m->scale, v ? v + n : NULL, pool);
    if (v)
        fss_free_wiped(v, 2 * n * 8);
    return s;
}

/* Slice [c0, c1) of the LM head's columns as party 0's input (v: the owner's buffer). */
static fss_status head_in(fss_eval *ev, const fss_tf_model *m, const fss_tf_weights *w, size_t c0, size_t c1,
                          uint64_t *v, fss_tensor *W)
{
    size_t ws[2] = {m->d, c1 - c0};
    const uint64_t id = weight_id(0, FSS_TF_HEAD, c0 / fss_tf_head_slice(m));
    char err[FSS_IO_ERR_LEN];
    fss_status s = FSS_OK;
    if (w && !fss_eval_weights_kept(ev, id) && (s = fss_tf_weights_read_head(w, c0, c1, v, err, sizeof err)) != FSS_OK)
        return fss_eval_fail(ev, s, "%s", err);
    return fss_gate_input_weights(ev, id, 2, ws, m->bits, m->scale, v, W);
}

/* The LM head on each sequence's last position (a text's: its last token, picked by party
 * 1's weights): logits = h_last W [d][vocab], or only their argmax. W comes in slices of columns (fss_tf_head_slice), each input and
 * multiplied on its own so that a party holds one slice at a time; one shift for all (the
 * argmax takes the products at scale 2f: no shift). */
static fss_status lm_head(fss_eval *ev, const blk *B, const fss_tensor *h, const fss_tensor *pick, fss_tf_out o,
                          fss_tensor *y)
{
    const fss_tf_model *m = B->m;
    const size_t d = m->d, V = m->vocab, cs = fss_tf_head_slice(m);
    size_t ls[2] = {B->batch, d}, ps[2] = {B->batch, V};
    fss_tensor last = {0}, p = {0};
    fss_status s = pick ? select_rows(ev, B, pick, h, &last) : fss_tensor_init(&last, 2, ls, h->bits, h->scale);
    if (s == FSS_OK)
        s = fss_tensor_init(&p, 2, ps, h->bits, 2 * h->scale);
    for (size_t b = 0; !pick && s == FSS_OK && b < B->batch; b++) /* wires of the last row: a copy */
        memcpy(last.v + b * d, h->v + ((b * B->seq + B->seq - 1) * d), d * 8);
    uint64_t *v = NULL; /* the owner's slice buffer, made for the first slice not kept */
    for (size_t c0 = 0; s == FSS_OK && c0 < V; c0 += cs) {
        const size_t c1 = c0 + cs < V ? c0 + cs : V;
        fss_tensor W = {0}, q = {0};
        if (B->w && !v && !fss_eval_weights_kept(ev, weight_id(0, FSS_TF_HEAD, c0 / cs)) &&
            !(v = (uint64_t *)malloc(cs * d * 8))) {
            s = fss_eval_fail(ev, FSS_E_NOMEM, "out of memory for the LM head");
            break;
        }
        if ((s = head_in(ev, m, B->w, c0, c1, v, &W)) == FSS_OK && (s = fss_gate_matmul(ev, &last, &W, &q)) == FSS_OK)
            for (size_t b = 0; b < B->batch; b++) /* the slice's columns of the products */
                memcpy(p.v + b * V + c0, q.v + b * (c1 - c0), (c1 - c0) * 8);
        fss_tensor_free(&W), fss_tensor_free(&q);
    }
    if (v)
        fss_free_wiped(v, cs * d * 8);
    if (s == FSS_OK && o == FSS_TF_OUT_TOKEN) /* the products' argmax, at scale 2f: no shift */
        s = fss_gate_argmax(ev, &p, y);
    else if (s == FSS_OK)
        s = fss_gate_ars_bounded(ev, &p, m->scale, y);
    fss_tensor_free(&last), fss_tensor_free(&p);
    return s;
}

/* Shifts of this many elements or more are lean (fss_eval_set_lean_shifts). It decides the
 * keys' layout: a change needs a new family version (family.c). */
#define FSS_TF_LEAN_MIN 4096

/* One forward pass of B's shape (fss_tf_walk's x, out); the progress counts from done of total. */
static fss_status forward(fss_eval *ev, blk *B, int layers, fss_tf_out o, const uint64_t *x, uint64_t *out,
                          fss_progress *pg, size_t done, size_t total)
{
    const fss_tf_model *m = B->m;
    const size_t batch = B->batch, seq = B->seq, xs[2] = {batch * seq, m->d};
    fss_tensor cur = {0}, pad = {0}, pool = {0};
    fss_status s = FSS_OK;
    for (size_t i = 0; m->tokens && x && i < batch * seq + batch; i++) /* ids < tokens, counts 1 .. seq */
        if (i < batch * seq ? x[i] >= m->tokens : x[i] < 1 || x[i] > seq)
            return fss_eval_fail(ev, FSS_E_ARG, "transformer: %s %zu is %llu, out of range",
                                 i < batch * seq ? "token" : "count", i < batch * seq ? i : i - batch * seq,
                                 (unsigned long long)x[i]);
    B->l = 0, B->pad = NULL;
    if (m->tokens) { /* the token ids, then the counts (a step over the cache: the cache's) */
        if (B->decode || (s = text_inputs(ev, B, x ? x + batch * seq : NULL, &pad, &pool)) == FSS_OK)
            s = embed(ev, B, x, &cur);
        B->pad = m->arch == FSS_TF_BERT ? &pad : NULL; /* causal: no token sees the pads after it */
    } else {
        s = fss_gate_input(ev, 1, 2, xs, m->bits, m->scale, x, &cur);
    }
    for (; s == FSS_OK && B->l < layers; B->l++) {
        fss_tensor next = {0};
        s = block(ev, B, &cur, &next);
        fss_tensor_free(&cur);
        cur = next;
        fss_progress_step(pg, done + (size_t)B->l, total, "block");
    }
    if (s == FSS_OK && m->arch != FSS_TF_BERT) { /* the final norm */
        fss_tensor y = {0};
        if ((s = normalize(ev, B, FSS_TF_NORM, &cur, &y)) == FSS_OK) {
            fss_tensor_free(&cur);
            cur = y;
        } else {
            fss_tensor_free(&y);
        }
        fss_progress_step(pg, done + (size_t)layers, total, "final norm");
    }
    if (s == FSS_OK && o != FSS_TF_OUT_HIDDEN) {
        fss_tensor head = {0};
        if ((s = o == FSS_TF_OUT_SENTENCE ? sentence(ev, B, &pool, &cur, &head)
                                           : lm_head(ev, B, &cur, m->tokens && !B->decode ? &pool : NULL, o, &head)) == FSS_OK) {
            fss_tensor_free(&cur);
            cur = head;
        } else {
            fss_tensor_free(&head);
        }
    }
    if (s == FSS_OK)
        s = fss_gate_output(ev, 1, &cur, out);
    fss_tensor_free(&cur), fss_tensor_free(&pad), fss_tensor_free(&pool);
    B->pad = NULL;
    return s;
}

/* Generation keeps party 0's weights from the prompt's pass for the steps after it
 * (fss_eval_keep_weights) up to this many values: SmolLM2-135M's 163 M (party 0 holds 16
 * bytes a value, its clear and masked weights: 2.6 GB; the others 8). A model over it
 * inputs the rest again each step. */
#define FSS_TF_KEEP_VALUES ((size_t)180 << 20)

/* Generation (fss_tf_walk, steps > 1): the prompt's pass over seq tokens fills a key/value
 * cache; then step k runs token k - 1 alone over the cache, at position m + k - 1 (m the
 * sequence's prompt length, party 1's secret: its cos and sin are party 1's input), seeing
 * the prompt's tokens (its pads hidden by party 1's bias), the tokens before and itself.
 * Each step's softmax row holds the values the whole pass over the prompt and the k tokens
 * (padded to seq + k) gives its last token, the entries the causal mask drops (0) replaced
 * by pads' scores less FSS_TF_PAD_BIAS, which nExp makes 0 (when a pad's score lies within
 * 1008 of its row's largest), so the token is the same. */
static fss_status generate(fss_eval *ev, blk *B, int layers, fss_tf_out o, const uint64_t *x, uint64_t *out,
                           const fss_tf_gen *gen, fss_progress *pg)
{
    const fss_tf_model *m = B->m;
    const size_t G = gen->steps, batch = B->batch, seq = B->seq, per = (size_t)layers + 1, dh = m->d / m->heads;
    const size_t cap = seq + G - 1, cs_shape[2] = {batch, cap}, ts_shape[2] = {batch, dh};
    const size_t ks[3] = {batch * m->kv_heads, cap, dh};
    kvcache kc = {0};
    kc.k = (fss_tensor *)calloc((size_t)layers, sizeof *kc.k);
    kc.v = (fss_tensor *)calloc((size_t)layers, sizeof *kc.v);
    /* party 1 (and clear): the step's token and count, then the bias or the cos and sin */
    uint64_t *buf = x ? (uint64_t *)malloc((2 * batch + batch * (cap > dh ? cap : dh)) * 8) : NULL;
    fss_status s = kc.k && kc.v && (!x || buf) ? FSS_OK : fss_eval_fail(ev, FSS_E_NOMEM, "out of memory");
    for (int l = 0; s == FSS_OK && l < layers; l++) {
        kc.layers = l + 1;
        if ((s = fss_tensor_init(&kc.k[l], 3, ks, m->bits, m->scale)) == FSS_OK)
            s = fss_tensor_init(&kc.v[l], 3, ks, m->bits, m->scale);
    }
    kc.cap = cap;
    B->kv = &kc;
    fss_eval_keep_weights(ev, FSS_TF_KEEP_VALUES); /* each step inputs them again: from memory */
    if (s == FSS_OK && (s = forward(ev, B, layers, o, x, out, pg, 0, G * per)) == FSS_OK && out && gen->on_step)
        gen->on_step(gen->ctx, 0, out);
    kc.len = seq;
    uint64_t *v = buf ? buf + 2 * batch : NULL;
    for (size_t i = 0; v && i < batch * cap; i++) { /* the prompt's pads */
        const size_t t = i % cap, mb = (size_t)x[batch * seq + i / cap];
        v[i] = t >= mb && t < seq ? pad_bias(m) : 0;
    }
    if (s == FSS_OK)
        s = fss_gate_input(ev, 1, 2, cs_shape, m->bits, m->scale, v, &kc.bias);
    B->decode = 1, B->seq = 1;
    for (size_t k = 1; s == FSS_OK && k < G; k++) {
        for (size_t b = 0; buf && b < batch; b++) {
            buf[b] = out[(k - 1) * batch + b], buf[batch + b] = 1;
            fss_rotary_cos_sin((size_t)x[batch * seq + b] + k - 1, dh, m->rope, m->scale, m->bits, v + b * dh);
        }
        if ((s = fss_gate_input(ev, 1, 2, ts_shape, m->bits, m->scale, v, &kc.cs)) == FSS_OK &&
            (s = forward(ev, B, layers, o, buf, out ? out + k * batch : NULL, pg, k * per, G * per)) == FSS_OK && out &&
            gen->on_step)
            gen->on_step(gen->ctx, k, out + k * batch);
        fss_tensor_free(&kc.cs);
        kc.len++;
    }
    fss_eval_keep_weights(ev, 0);
    for (int l = 0; l < kc.layers; l++)
        fss_tensor_free(&kc.k[l]), fss_tensor_free(&kc.v[l]);
    free(kc.k), free(kc.v);
    fss_tensor_free(&kc.bias);
    if (buf)
        fss_free_wiped(buf, (2 * batch + batch * (cap > dh ? cap : dh)) * 8);
    B->kv = NULL, B->decode = 0, B->seq = seq;
    return s;
}

fss_status fss_tf_walk(fss_eval *ev, const fss_tf_model *m, int layers, size_t batch, size_t seq, fss_tf_out o,
                       const fss_tf_weights *w, const uint64_t *x, uint64_t *out, const fss_tf_gen *gen,
                       fss_progress *pg)
{
    if ((o == FSS_TF_OUT_LOGITS || o == FSS_TF_OUT_TOKEN) && !m->vocab)
        return FSS_E_ARG; /* no LM head */
    const int owner = fss_eval_mode(ev) == FSS_MODE_CLEAR || (fss_eval_mode(ev) == FSS_MODE_PARTY && fss_eval_party(ev) == 0);
    if (owner != (w != NULL))
        return fss_eval_fail(ev, FSS_E_ARG, "transformer: the weights are the owner's, and only the owner's");
    if ((m->tokens && m->arch == FSS_TF_BERT) != (o == FSS_TF_OUT_SENTENCE))
        return fss_eval_fail(ev, FSS_E_ARG, "transformer: %s %s", m->name,
                             o == FSS_TF_OUT_SENTENCE ? "gives no sentence embeddings" : "reveals sentence embeddings");
    const size_t G = gen ? gen->steps : 1, per = (size_t)layers + (m->arch != FSS_TF_BERT);
    if (G > 1 && (!m->tokens || m->arch != FSS_TF_LLAMA || o != FSS_TF_OUT_TOKEN || (x && !out)))
        return fss_eval_fail(ev, FSS_E_ARG, "transformer: only a language model that takes text generates tokens, "
                                            "and party 1 reads each step's token");
    /* The shifts' carries by comparison: a round more a shift, 40% of the keys (most of a
     * transformer's key bytes are its 12-bit shifts) and less AES work; but a row's
     * statistics (a value a row and head) one round: there a round costs more than bytes */
    fss_eval_set_lean_shifts(ev, FSS_TF_LEAN_MIN);
    blk B = {m, w, 0, batch, seq, NULL, NULL, 0};
    if (G == 1)
        return forward(ev, &B, layers, o, x, out, pg, 0, per);
    return generate(ev, &B, layers, o, x, out, gen, pg);
}

fss_status fss_tf_walk_weights(fss_eval *ev, const fss_tf_model *m, int layers, int head, const fss_tf_weights *w,
                               fss_progress *pg)
{
    static const fss_tf_part parts[] = {FSS_TF_QKV, FSS_TF_O,    FSS_TF_LN1, FSS_TF_UP,
                                        FSS_TF_GATE, FSS_TF_DOWN, FSS_TF_LN2, FSS_TF_NORM};
    const int owner = fss_eval_mode(ev) == FSS_MODE_CLEAR || (fss_eval_mode(ev) == FSS_MODE_PARTY && fss_eval_party(ev) == 0);
    if (owner != (w != NULL) || (head && !m->vocab))
        return fss_eval_fail(ev, FSS_E_ARG, "transformer: the weights are the owner's, and only the owner's");
    const size_t steps = (size_t)layers + (m->arch != FSS_TF_BERT); /* the final norm's a step */
    fss_status s = FSS_OK;
    for (int p = FSS_TF_WORDS; m->tokens && s == FSS_OK && p < FSS_TF_PARTS; p++) { /* the embeddings first */
        wpart W = {0};
        if (!fss_tf_part_count(m, (fss_tf_part)p))
            continue;
        s = part_in(ev, m, w, 0, (fss_tf_part)p, &W);
        part_free(&W);
    }
    for (int l = 0; s == FSS_OK && l <= layers; l++) { /* the blocks', then the final norm's */
        for (size_t i = 0; s == FSS_OK && i < sizeof parts / sizeof *parts; i++) {
            wpart W = {0};
            if ((parts[i] == FSS_TF_NORM) != (l == layers) || !fss_tf_part_count(m, parts[i]))
                continue;
            s = part_in(ev, m, w, l, parts[i], &W);
            part_free(&W);
        }
        if ((size_t)l < steps)
            fss_progress_step(pg, (size_t)l, steps, l < layers ? "block's weights" : "final norm's and head's");
    }
    const size_t d = m->d, V = m->vocab, cs = head ? fss_tf_head_slice(m) : 0;
    uint64_t *v = head && w && s == FSS_OK ? (uint64_t *)malloc(cs * d * 8) : NULL;
    if (head && w && s == FSS_OK && !v)
        s = fss_eval_fail(ev, FSS_E_NOMEM, "out of memory for the LM head");
    for (size_t c0 = 0; head && s == FSS_OK && c0 < V; c0 += cs) {
        fss_tensor W = {0};
        s = head_in(ev, m, w, c0, c0 + cs < V ? c0 + cs : V, v, &W);
        fss_tensor_free(&W);
    }
    if (v)
        fss_free_wiped(v, cs * d * 8);
    return s;
}
