/* The transformer walk (fss/transformer.h): one function for the dealer, the parties and the
 * clear run. Each block's weights are one input of party 0 (one message a block), cut into
 * views; linear layers are the owner's products, then one arithmetic shift back to scale f. */
#include "fss/transformer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fss/gates.h"
#include "fss/ring.h"
#include "fss/rng.h"

static const fss_tf_model g_models[] = {
    {"bert-tiny", "", FSS_TF_BERT, 2, 128, 2, 2, 512, 0, 50, 12, 1e-12},
    {"bert-base", "", FSS_TF_BERT, 12, 768, 12, 12, 3072, 0, 50, 12, 1e-12},
    {"bert-large", "", FSS_TF_BERT, 24, 1024, 16, 16, 4096, 0, 50, 12, 1e-12},
    {"gpt2", "", FSS_TF_GPT, 12, 768, 12, 12, 3072, 50257, 50, 12, 1e-5},
    {"gpt-neo-1.3b", "gpt-neo", FSS_TF_GPT, 24, 2048, 16, 16, 8192, 50257, 50, 12, 1e-5},
    {"gpt-neo-2.7b", "", FSS_TF_GPT, 32, 2560, 20, 20, 10240, 50257, 50, 12, 1e-5},
    {"llama2-7b", "llama7b", FSS_TF_LLAMA, 32, 4096, 32, 32, 11008, 32000, 50, 12, 1e-5},
    {"llama2-13b", "llama13b", FSS_TF_LLAMA, 40, 5120, 40, 40, 13824, 32000, 50, 12, 1e-5},
    /* small shapes for tests: a GPT-2 and a Llama with grouped key/value heads */
    {"gpt2-tiny", "", FSS_TF_GPT, 2, 64, 4, 4, 256, 97, 50, 12, 1e-5},
    {"llama-tiny", "", FSS_TF_LLAMA, 2, 64, 4, 2, 128, 89, 50, 12, 1e-5},
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

/* ---- one block's weights ---------------------------------------------------------------- */

enum { W_Q, W_K, W_V, W_O, B_Q, B_K, B_V, B_O, W_1, B_1, W_2, B_2, W_G, LN1_G, LN1_B, LN2_G, LN2_B, W_COUNT };

typedef struct block_layout {
    size_t off[W_COUNT], rows[W_COUNT], cols[W_COUNT]; /* cols 0: absent */
    size_t total;
} block_layout;

static void layout(const fss_tf_model *m, block_layout *L)
{
    const size_t d = m->d, kv = m->d / m->heads * m->kv_heads, f = m->ffn;
    const int llama = m->arch == FSS_TF_LLAMA;
    memset(L, 0, sizeof *L);
    const size_t shape[W_COUNT][2] = {
        [W_Q] = {d, d}, [W_K] = {d, kv}, [W_V] = {d, kv}, [W_O] = {d, d},
        [B_Q] = {1, llama ? 0 : d}, [B_K] = {1, llama ? 0 : kv}, [B_V] = {1, llama ? 0 : kv}, [B_O] = {1, llama ? 0 : d},
        [W_1] = {d, f}, [B_1] = {1, llama ? 0 : f}, [W_2] = {f, d}, [B_2] = {1, llama ? 0 : d},
        [W_G] = {d, llama ? f : 0}, [LN1_G] = {1, d}, [LN1_B] = {1, llama ? 0 : d}, [LN2_G] = {1, d},
        [LN2_B] = {1, llama ? 0 : d},
    };
    for (int w = 0; w < W_COUNT; w++) {
        L->off[w] = L->total;
        L->rows[w] = shape[w][0];
        L->cols[w] = shape[w][1];
        L->total += shape[w][0] * shape[w][1];
    }
}

/* Block l's weights from (seed, l), as PyTorch's init would scale them (uniform, variance
 * 1 / fan_in), gains near 1, biases near 0; the queries' weights and bias carry attention's
 * 1/sqrt(head size) (the owner folds it in: no gate). Fixed point at the model's scale. */
static fss_status block_weights(const fss_tf_model *m, const block_layout *L, uint64_t seed, int l, uint64_t *v)
{
    fss_rng *g = NULL;
    fss_status s = fss_rng_new_seeded(&g, seed * 1000003u + (uint64_t)l);
    const double qs = 1 / sqrt((double)(m->d / m->heads));
    for (int w = 0; s == FSS_OK && w < W_COUNT; w++) {
        const size_t n = L->rows[w] * L->cols[w];
        const int gain = w == LN1_G || w == LN2_G, bias = L->rows[w] == 1 && !gain;
        const double a = gain || bias ? 0.1 : sqrt(3.0 / (double)L->rows[w]);
        for (size_t i = 0; s == FSS_OK && i < n; i++) {
            uint64_t u;
            s = fss_rng_bytes(g, &u, sizeof u);
            double x = ((double)(u >> 11) / 9007199254740992.0 * 2 - 1) * a + (gain ? 1 : 0);
            if (w == W_Q || w == B_Q)
                x *= qs;
            v[L->off[w] + i] = fss_ring_from_signed((int64_t)llrint(ldexp(x, m->scale)), m->bits);
        }
    }
    fss_rng_free(g);
    return s;
}

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

static fss_status view(const fss_tensor *all, const block_layout *L, int w, fss_tensor *v)
{
    if (!L->cols[w])
        return FSS_OK;
    size_t shape[2] = {L->rows[w], L->cols[w]};
    return L->rows[w] == 1 ? fss_tensor_view(all, L->off[w], 1, shape + 1, all->scale, v)
                           : fss_tensor_view(all, L->off[w], 2, shape, all->scale, v);
}

/* ---- a block ---------------------------------------------------------------------------- */

static fss_status attention(fss_eval *ev, const fss_tf_model *m, const fss_tensor *x, const fss_tensor *W, size_t batch,
                            size_t seq, fss_tensor *out)
{
    const size_t dh = m->d / m->heads;
    const int llama = m->arch == FSS_TF_LLAMA, causal = m->arch != FSS_TF_BERT;
    fss_tensor q = {0}, k = {0}, v = {0}, Q = {0}, K = {0}, V = {0}, Qr = {0}, Kr = {0}, S = {0}, S2 = {0}, P = {0},
               C = {0}, C2 = {0}, c = {0};
    fss_status s = linear(ev, x, &W[W_Q], llama ? NULL : &W[B_Q], &q);
    if (s == FSS_OK)
        s = linear(ev, x, &W[W_K], llama ? NULL : &W[B_K], &k);
    if (s == FSS_OK)
        s = linear(ev, x, &W[W_V], llama ? NULL : &W[B_V], &v);
    if (s == FSS_OK && (s = heads_of(&q, batch, seq, m->heads, dh, 0, &Q)) == FSS_OK &&
        (s = heads_of(&k, batch, seq, m->kv_heads, dh, 0, &K)) == FSS_OK)
        s = heads_of(&v, batch, seq, m->kv_heads, dh, 0, &V);
    if (s == FSS_OK && llama && (s = fss_gate_rotary(ev, &Q, 0, 10000.0, &Qr)) == FSS_OK)
        s = fss_gate_rotary(ev, &K, 0, 10000.0, &Kr);
    if (s == FSS_OK && (s = fss_gate_matmul_batched(ev, llama ? &Qr : &Q, llama ? &Kr : &K, 1, &S)) == FSS_OK &&
        (s = fss_gate_ars_bounded(ev, &S, m->scale, &S2)) == FSS_OK && (s = fss_gate_softmax(ev, &S2, causal, &P)) == FSS_OK &&
        (s = fss_gate_matmul_batched(ev, &P, &V, 0, &C)) == FSS_OK && (s = fss_gate_ars_bounded(ev, &C, m->scale, &C2)) == FSS_OK &&
        (s = heads_of(&C2, batch, seq, m->heads, dh, 1, &c)) == FSS_OK)
        s = linear(ev, &c, &W[W_O], llama ? NULL : &W[B_O], out);
    fss_tensor *all[] = {&q, &k, &v, &Q, &K, &V, &Qr, &Kr, &S, &S2, &P, &C, &C2, &c};
    free_all(all, sizeof all / sizeof *all);
    return s;
}

static fss_status mlp(fss_eval *ev, const fss_tf_model *m, const fss_tensor *x, const fss_tensor *W, fss_tensor *out)
{
    fss_tensor a = {0}, b = {0}, g = {0}, u = {0}, p = {0};
    fss_status s;
    if (m->arch == FSS_TF_LLAMA) { /* SwiGLU: silu(x Wg) (x Wu), then Wd */
        s = linear(ev, x, &W[W_G], NULL, &a);
        if (s == FSS_OK && (s = fss_gate_silu(ev, &a, &g)) == FSS_OK && (s = linear(ev, x, &W[W_1], NULL, &u)) == FSS_OK &&
            (s = fss_gate_mul(ev, &g, &u, &p)) == FSS_OK && (s = fss_gate_ars_bounded(ev, &p, m->scale, &b)) == FSS_OK)
            s = linear(ev, &b, &W[W_2], NULL, out);
    } else {
        s = linear(ev, x, &W[W_1], &W[B_1], &a);
        if (s == FSS_OK && (s = fss_gate_gelu(ev, &a, &g)) == FSS_OK)
            s = linear(ev, &g, &W[W_2], &W[B_2], out);
    }
    fss_tensor *all[] = {&a, &b, &g, &u, &p};
    free_all(all, sizeof all / sizeof *all);
    return s;
}

static fss_status normalize(fss_eval *ev, const fss_tf_model *m, const fss_tensor *x, const fss_tensor *g,
                            const fss_tensor *b, fss_tensor *y)
{
    return m->arch == FSS_TF_LLAMA ? fss_gate_rmsnorm(ev, x, g, m->eps, y) : fss_gate_layernorm(ev, x, g, b, m->eps, y);
}

static fss_status block(fss_eval *ev, const fss_tf_model *m, const fss_tensor *x, const fss_tensor *W, size_t batch,
                        size_t seq, fss_tensor *y)
{
    fss_tensor n1 = {0}, a = {0}, h = {0}, n2 = {0}, f = {0}, h2 = {0};
    fss_status s;
    if (m->arch == FSS_TF_BERT) { /* post-norm: LN(x + attn(x)), LN(h + mlp(h)) */
        s = attention(ev, m, x, W, batch, seq, &a);
        if (s == FSS_OK && (s = fss_gate_add(ev, x, &a, &h)) == FSS_OK &&
            (s = normalize(ev, m, &h, &W[LN1_G], &W[LN1_B], &n1)) == FSS_OK && (s = mlp(ev, m, &n1, W, &f)) == FSS_OK &&
            (s = fss_gate_add(ev, &n1, &f, &h2)) == FSS_OK)
            s = normalize(ev, m, &h2, &W[LN2_G], &W[LN2_B], y);
    } else { /* pre-norm: x + attn(N(x)), then h + mlp(N(h)) */
        s = normalize(ev, m, x, &W[LN1_G], &W[LN1_B], &n1);
        if (s == FSS_OK && (s = attention(ev, m, &n1, W, batch, seq, &a)) == FSS_OK &&
            (s = fss_gate_add(ev, x, &a, &h)) == FSS_OK && (s = normalize(ev, m, &h, &W[LN2_G], &W[LN2_B], &n2)) == FSS_OK &&
            (s = mlp(ev, m, &n2, W, &f)) == FSS_OK)
            s = fss_gate_add(ev, &h, &f, y);
    }
    fss_tensor *all[] = {&n1, &a, &h, &n2, &f, &h2};
    free_all(all, sizeof all / sizeof *all);
    return s;
}

size_t fss_tf_out_count(const fss_tf_model *m, fss_tf_out o, size_t batch, size_t seq)
{
    return o == FSS_TF_OUT_HIDDEN ? batch * seq * m->d : o == FSS_TF_OUT_LOGITS ? batch * m->vocab : batch;
}

/* The LM head on each sequence's last position: logits = h_last W [d][vocab] (party 0's,
 * drawn from (seed, the block count): its own stream), or only their argmax. */
static fss_status lm_head(fss_eval *ev, const fss_tf_model *m, const fss_tensor *h, size_t batch, size_t seq,
                          fss_tf_out o, uint64_t seed, int owner, fss_tensor *y)
{
    const size_t d = m->d, nw = d * m->vocab;
    size_t ls[2] = {batch, d}, ws[2] = {d, m->vocab};
    fss_tensor last = {0}, W = {0}, lg = {0};
    uint64_t *wv = owner ? (uint64_t *)malloc(nw * 8) : NULL;
    fss_status s = owner && !wv ? FSS_E_NOMEM : fss_tensor_init(&last, 2, ls, h->bits, h->scale);
    for (size_t b = 0; s == FSS_OK && b < batch; b++) /* wires of the last row: a copy */
        memcpy(last.v + b * d, h->v + ((b * seq + seq - 1) * d), d * 8);
    if (s == FSS_OK && owner) {
        fss_rng *g = NULL;
        const double a = sqrt(3.0 / (double)d);
        if ((s = fss_rng_new_seeded(&g, seed * 1000003u + 999983u)) == FSS_OK && (s = fss_rng_bytes(g, wv, nw * 8)) == FSS_OK)
            for (size_t i = 0; i < nw; i++)
                wv[i] = fss_ring_from_signed(
                    (int64_t)llrint(ldexp(((double)(wv[i] >> 11) / 9007199254740992.0 * 2 - 1) * a, m->scale)), m->bits);
        fss_rng_free(g);
    }
    if (s == FSS_OK)
        s = fss_gate_input(ev, 0, 2, ws, m->bits, m->scale, wv, &W);
    if (s == FSS_OK)
        s = linear(ev, &last, &W, NULL, o == FSS_TF_OUT_TOKEN ? &lg : y);
    if (s == FSS_OK && o == FSS_TF_OUT_TOKEN)
        s = fss_gate_argmax(ev, &lg, y);
    fss_tensor_free(&last), fss_tensor_free(&W), fss_tensor_free(&lg);
    if (wv)
        fss_free_wiped(wv, nw * 8);
    return s;
}

fss_status fss_tf_walk(fss_eval *ev, const fss_tf_model *m, int layers, size_t batch, size_t seq, fss_tf_out o,
                       uint64_t seed, const uint64_t *x, uint64_t *out, fss_progress *pg)
{
    if (o != FSS_TF_OUT_HIDDEN && !m->vocab)
        return FSS_E_ARG; /* no LM head */
    const int clear = fss_eval_mode(ev) == FSS_MODE_CLEAR, owner = clear || (fss_eval_mode(ev) == FSS_MODE_PARTY &&
                                                                             fss_eval_party(ev) == 0);
    block_layout L;
    layout(m, &L);
    size_t xs[2] = {batch * seq, m->d}, ws[1] = {L.total};
    uint64_t *wv = owner ? (uint64_t *)malloc(L.total * 8) : NULL;
    fss_tensor cur = {0};
    fss_status s = owner && !wv ? FSS_E_NOMEM : fss_gate_input(ev, 1, 2, xs, m->bits, m->scale, x, &cur);
    for (int l = 0; s == FSS_OK && l < layers; l++) {
        fss_tensor all = {0}, W[W_COUNT], next = {0};
        memset(W, 0, sizeof W);
        if (owner)
            s = block_weights(m, &L, seed, l, wv);
        if (s == FSS_OK)
            s = fss_gate_input(ev, 0, 1, ws, m->bits, m->scale, wv, &all);
        for (int w = 0; s == FSS_OK && w < W_COUNT; w++)
            s = view(&all, &L, w, &W[w]);
        if (s == FSS_OK)
            s = block(ev, m, &cur, W, batch, seq, &next);
        fss_tensor_free(&all);
        fss_tensor_free(&cur);
        cur = next;
        fss_progress_step(pg, (size_t)l, (size_t)layers + (m->arch != FSS_TF_BERT), "block");
    }
    if (s == FSS_OK && m->arch != FSS_TF_BERT) { /* the final norm: gains 1, no bias, public */
        fss_tensor g = {0}, b = {0}, y = {0};
        size_t ds[1] = {m->d};
        if ((s = fss_tensor_init(&g, 1, ds, m->bits, m->scale)) == FSS_OK && (s = fss_tensor_init(&b, 1, ds, m->bits, m->scale)) == FSS_OK)
            for (size_t i = 0; i < m->d; i++)
                g.v[i] = fss_eval_mode(ev) == FSS_MODE_DEALER ? 0 : (uint64_t)1 << m->scale; /* mask 0: public */
        if (s == FSS_OK && (s = normalize(ev, m, &cur, &g, &b, &y)) == FSS_OK) {
            fss_tensor_free(&cur);
            cur = y;
        } else {
            fss_tensor_free(&y);
        }
        fss_tensor_free(&g);
        fss_tensor_free(&b);
        fss_progress_step(pg, (size_t)layers, (size_t)layers + 1, "final norm");
    }
    if (s == FSS_OK && o != FSS_TF_OUT_HIDDEN) {
        fss_tensor head = {0};
        if ((s = lm_head(ev, m, &cur, batch, seq, o, seed, owner, &head)) == FSS_OK) {
            fss_tensor_free(&cur);
            cur = head;
        } else {
            fss_tensor_free(&head);
        }
    }
    if (s == FSS_OK)
        s = fss_gate_output(ev, 1, &cur, out);
    fss_tensor_free(&cur);
    if (wv)
        fss_free_wiped(wv, L.total * 8);
    return s;
}
