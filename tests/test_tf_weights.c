/* The transformer family's weights reader (transformers/weights.c) on safetensors files
 * written here: GPT-2's names on gpt2-tiny, fresh random values each run.
 * - The LM head read through any window of columns [c0, c1) equals the same columns of
 *   the whole head, and the whole head is the tied embeddings transposed, in fixed point.
 * - The QKV part is c_attn's layout itself ([d][3d], then the bias [3d]), with 1/sqrt(head
 *   size) folded into the queries' columns.
 * - An embeddings table of the wrong shape, a missing tensor and a value beyond the ring
 *   are refused at open, naming the tensor.
 * - minilm's embeddings under a BertModel's names (the token table, the position rows, token
 *   type 0's row, the embeddings' LayerNorm), and the 16-bit table's bound after rounding.
 * - llama-tiny's block 0 from a llama.cpp GGUF written here: attn_q's and attn_k's rows
 *   back in Hugging Face's order, transposed, the queries scaled; the tied head; a file of
 *   another model's shapes refused.
 * - Generation (fss_tf_walk with a fss_tf_gen, clear walk, smollm2's shape, one block,
 *   random weights and prompts): step k's token is the next token of the prompt and the
 *   k tokens before it, each prompt alone. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "fss/ctx.h"
#include "fss/gguf.h"
#include "fss/ring.h"
#include "fss/transformer.h"

typedef struct tensor_spec {
    const char *name;
    size_t rows, cols; /* rows 0: a vector */
    float *v;
} tensor_spec;

static void write_st(const char *path, tensor_spec *t, size_t n)
{
    char hdr[4096];
    size_t off = 0;
    int k = snprintf(hdr, sizeof hdr, "{");
    for (size_t i = 0; i < n; i++) {
        const size_t cnt = (t[i].rows ? t[i].rows : 1) * t[i].cols;
        if (t[i].rows)
            k += snprintf(hdr + k, sizeof hdr - (size_t)k, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%zu,%zu],"
                          "\"data_offsets\":[%zu,%zu]}", i ? "," : "", t[i].name, t[i].rows, t[i].cols, off, off + 4 * cnt);
        else
            k += snprintf(hdr + k, sizeof hdr - (size_t)k, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%zu],"
                          "\"data_offsets\":[%zu,%zu]}", i ? "," : "", t[i].name, t[i].cols, off, off + 4 * cnt);
        off += 4 * cnt;
    }
    k += snprintf(hdr + k, sizeof hdr - (size_t)k, "}");
    while (k % 8)
        hdr[k++] = ' ';
    FILE *f = fopen(path, "wb");
    REQUIRE(f);
    const uint64_t hl = (uint64_t)k;
    REQUIRE(fwrite(&hl, 8, 1, f) == 1 && fwrite(hdr, 1, (size_t)k, f) == (size_t)k);
    for (size_t i = 0; i < n; i++) {
        const size_t cnt = (t[i].rows ? t[i].rows : 1) * t[i].cols;
        REQUIRE(fwrite(t[i].v, 4, cnt, f) == cnt);
    }
    REQUIRE(fclose(f) == 0);
}

static float uni(fss_rng *r) { return (float)((double)(check_u64(r) >> 11) / 9007199254740992.0 * 2 - 1); }

/* The next token of one text's ids (clear walk, one block). */
static uint64_t next_token(fss_ctx *ctx, const fss_tf_model *m, const fss_tf_weights *w, const uint64_t *ids, size_t n)
{
    uint64_t x[64], out = 0;
    REQUIRE(n < 63);
    memcpy(x, ids, n * 8);
    x[n] = n; /* the count */
    fss_eval *ev;
    REQUIRE(fss_eval_new_clear(&ev, ctx) == FSS_OK);
    REQUIRE(fss_tf_walk(ev, m, 1, 1, n, FSS_TF_OUT_TOKEN, w, x, &out, NULL, NULL) == FSS_OK);
    fss_eval_free(ev);
    return out;
}

static void generation(fss_rng *r)
{
    const fss_tf_model *m = fss_tf_find("smollm2");
    REQUIRE(m && m->tokens);
    fss_ctx *ctx;
    fss_tf_weights *w;
    REQUIRE(fss_ctx_new(&ctx, 1) == FSS_OK && fss_tf_weights_random(&w, m, check_u64(r)) == FSS_OK);
    enum { B = 2, SEQ = 5, G = 3 };
    const size_t len[B] = {3, 5};
    uint64_t x[B * SEQ + B] = {0}, out[G * B];
    for (size_t b = 0; b < B; b++) {
        for (size_t t = 0; t < len[b]; t++)
            x[b * SEQ + t] = check_u64(r) % m->tokens;
        x[B * SEQ + b] = len[b];
    }
    fss_eval *ev;
    REQUIRE(fss_eval_new_clear(&ev, ctx) == FSS_OK);
    const fss_tf_gen gen = {G, NULL, NULL};
    REQUIRE(fss_tf_walk(ev, m, 1, B, SEQ, FSS_TF_OUT_TOKEN, w, x, out, &gen, NULL) == FSS_OK);
    fss_eval_free(ev);
    for (size_t b = 0; b < B; b++) {
        uint64_t ids[SEQ + G];
        memcpy(ids, x + b * SEQ, len[b] * 8);
        for (size_t k = 0; k < G; k++) {
            const uint64_t want = next_token(ctx, m, w, ids, len[b] + k);
            CHECK(out[k * B + b] == want, "sequence %zu step %zu: generated %llu, the next token of its text is %llu",
                  b, k, (unsigned long long)out[k * B + b], (unsigned long long)want);
            ids[len[b] + k] = out[k * B + b];
        }
    }
    fss_tf_weights_free(w);
    fss_ctx_free(ctx);
}

/* minilm's embeddings from a BertModel's names (no blocks: layers 0): the token table as
 * stored, the position rows then token type 0's row (not 1's), the embeddings' LayerNorm;
 * a table value that rounds past the 16-bit ring's range is refused, one just within read. */
static void text_embeddings(fss_rng *r)
{
    const fss_tf_model *m = fss_tf_find("minilm");
    REQUIRE(m && m->tokens);
    const size_t d = m->d, V = m->tokens, P = m->positions;
    float *word = (float *)malloc(V * d * 4), *pos = (float *)malloc(P * d * 4), type[2 * 384], g[384], b[384];
    REQUIRE(word && pos && d == 384);
    for (size_t i = 0; i < V * d; i++)
        word[i] = uni(r) / 2;
    for (size_t i = 0; i < P * d; i++)
        pos[i] = uni(r) / 4;
    for (size_t i = 0; i < 2 * d; i++)
        type[i] = uni(r);
    for (size_t i = 0; i < d; i++)
        g[i] = 1 + uni(r) / 8, b[i] = uni(r) / 8;
    const float edge = (float)(8 - ldexp(1, -12)); /* rounds to 32764 / 4096: within 16 bits */
    word[7 * d + 3] = -edge, word[(V - 1) * d + d - 1] = edge;
    char path[] = "/tmp/test_tf_weights_XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    tensor_spec t[] = {{"embeddings.word_embeddings.weight", V, d, word},
                       {"embeddings.position_embeddings.weight", P, d, pos},
                       {"embeddings.token_type_embeddings.weight", 2, d, type},
                       {"embeddings.LayerNorm.weight", 0, d, g},
                       {"embeddings.LayerNorm.bias", 0, d, b},
                       {"encoder.layer.0.attention.self.query.weight", d, d, word}}; /* (the names' detection) */
    write_st(path, t, 6);
    char err[FSS_IO_ERR_LEN];
    fss_tf_weights *w = NULL;
    fss_status s = fss_tf_weights_open(&w, m, 0, 0, path, err, sizeof err);
    CHECK(s == FSS_OK, "minilm's embeddings: %s", err);
    uint64_t *v = (uint64_t *)malloc(V * d * 8);
    REQUIRE(v);
#define FIX(x) fss_ring_from_signed((int64_t)llrint(ldexp((x), m->scale)), m->bits)
    if (s == FSS_OK) {
        int same = fss_tf_weights_read(w, 0, FSS_TF_WORDS, v, err, sizeof err) == FSS_OK;
        for (size_t i = 0; same && i < V * d; i++)
            same = v[i] == FIX(word[i]);
        CHECK(same, "the token table read is not the file's, as stored");
        same = fss_tf_weights_read(w, 0, FSS_TF_POS, v, err, sizeof err) == FSS_OK;
        for (size_t i = 0; same && i < P * d; i++)
            same = v[i] == FIX(pos[i]);
        for (size_t j = 0; same && j < d; j++)
            same = v[P * d + j] == FIX(type[j]); /* token type 0's row */
        CHECK(same, "the position rows and token type 0's row are not the file's");
        same = fss_tf_weights_read(w, 0, FSS_TF_EMB_LN, v, err, sizeof err) == FSS_OK;
        for (size_t j = 0; same && j < d; j++)
            same = v[j] == FIX(g[j]) && v[d + j] == FIX(b[j]);
        CHECK(same, "the embeddings' LayerNorm is not the file's");
    }
#undef FIX
    fss_tf_weights_free(w);
    word[11 * d + 5] = (float)(8 - ldexp(1, -14)); /* under 8, yet it rounds to 32768: refused */
    write_st(path, t, 6);
    w = NULL;
    s = fss_tf_weights_open(&w, m, 0, 0, path, err, sizeof err);
    CHECK(s == FSS_E_FORMAT && strstr(err, "embeddings.word_embeddings.weight element 4229"),
          "a table value past the 16-bit ring: %s", s == FSS_OK ? "read" : err);
    fss_tf_weights_free(w);
    unlink(path);
    free(word), free(pos), free(v);
}

/* ---- a llama.cpp GGUF of llama-tiny's block 0, written here ------------------------------ */

static void g_str(FILE *f, const char *s)
{
    const uint64_t n = strlen(s);
    REQUIRE(fwrite(&n, 8, 1, f) == 1 && fwrite(s, 1, n, f) == n);
}
static void g_u32(FILE *f, uint32_t v) { REQUIRE(fwrite(&v, 4, 1, f) == 1); }
static void g_u64(FILE *f, uint64_t v) { REQUIRE(fwrite(&v, 8, 1, f) == 1); }

/* The Hugging Face matrices [out][in] (q, k as Hugging Face has them; the file gets
 * llama.cpp's converter's row order: its row h dh + 2 i + j is Hugging Face's h dh + j dh/2 + i). */
static void llama_gguf(const char *path, const fss_tf_model *m, float *hq, float *hk, float *hv, float *hu, float *emb,
                       float *nrm)
{
    const size_t d = m->d, kv = d / m->heads * m->kv_heads, dh = d / m->heads, V = m->vocab;
    FILE *f = fopen(path, "wb");
    REQUIRE(f);
    static const char *const keys[] = {"llama.embedding_length", "llama.block_count", "llama.attention.head_count",
                                       "llama.attention.head_count_kv", "llama.feed_forward_length", "llama.vocab_size"};
    const uint32_t vals[] = {(uint32_t)d, 1, (uint32_t)m->heads, (uint32_t)m->kv_heads, (uint32_t)m->ffn, (uint32_t)V};
    struct { const char *name; size_t rows, cols; const float *hf; size_t heads; } t[] = {
        {"blk.0.attn_q.weight", d, d, hq, m->heads}, {"blk.0.attn_k.weight", kv, d, hk, m->kv_heads},
        {"blk.0.attn_v.weight", kv, d, hv, 0},       {"blk.0.attn_output.weight", d, d, hq, 0},
        {"blk.0.ffn_gate.weight", m->ffn, d, emb, 0}, {"blk.0.ffn_up.weight", m->ffn, d, hu, 0},
        {"blk.0.ffn_down.weight", d, m->ffn, emb, 0}, {"blk.0.attn_norm.weight", 1, d, nrm, 0},
        {"blk.0.ffn_norm.weight", 1, d, nrm, 0},      {"output_norm.weight", 1, d, nrm, 0},
        {"token_embd.weight", V, d, emb, 0}};
    const size_t nt = sizeof t / sizeof t[0];
    REQUIRE(fwrite("GGUF", 1, 4, f) == 4);
    g_u32(f, 3), g_u64(f, nt), g_u64(f, 9);
    g_str(f, "general.architecture"), g_u32(f, FSS_GGUF_STRING), g_str(f, "llama");
    for (int i = 0; i < 6; i++)
        g_str(f, keys[i]), g_u32(f, FSS_GGUF_U32), g_u32(f, vals[i]);
    const float rope = (float)m->rope, eps = (float)m->eps;
    g_str(f, "llama.rope.freq_base"), g_u32(f, FSS_GGUF_F32);
    REQUIRE(fwrite(&rope, 4, 1, f) == 1);
    g_str(f, "llama.attention.layer_norm_rms_epsilon"), g_u32(f, FSS_GGUF_F32);
    REQUIRE(fwrite(&eps, 4, 1, f) == 1);
    uint64_t off = 0;
    for (size_t i = 0; i < nt; i++) {
        g_str(f, t[i].name);
        if (t[i].rows == 1)
            g_u32(f, 1), g_u64(f, t[i].cols);
        else
            g_u32(f, 2), g_u64(f, t[i].cols), g_u64(f, t[i].rows); /* fastest first */
        g_u32(f, FSS_GGML_F32), g_u64(f, off);
        off += (t[i].rows * t[i].cols * 4 + 31) / 32 * 32;
    }
    for (long at = ftell(f); at % 32; at++)
        REQUIRE(fputc(0, f) != EOF);
    for (size_t i = 0; i < nt; i++) {
        const size_t dhh = t[i].heads ? t[i].rows / t[i].heads : 0;
        for (size_t row = 0; row < t[i].rows; row++) { /* the file's row: Hugging Face's, permuted */
            size_t src = row;
            if (t[i].heads)
                src = row / dhh * dhh + row % 2 * (dhh / 2) + row % dhh / 2;
            REQUIRE(fwrite(t[i].hf + src * t[i].cols, 4, t[i].cols, f) == t[i].cols);
        }
        for (size_t k = t[i].rows * t[i].cols * 4; k % 32; k++)
            REQUIRE(fputc(0, f) != EOF);
    }
    REQUIRE(fclose(f) == 0);
    (void)dh;
}

/* llama-tiny's block 0 from a GGUF: the queries' and keys' rows back in Hugging Face's order
 * (so that rotate_half applies), each matrix transposed to [in][out], the queries scaled by
 * 1/sqrt(head size); the tied head; a file whose shapes are another model's refused. */
static void gguf_weights(fss_rng *r)
{
    const fss_tf_model *m = fss_tf_find("llama-tiny");
    REQUIRE(m && m->arch == FSS_TF_LLAMA);
    const size_t d = m->d, kv = d / m->heads * m->kv_heads, V = m->vocab, D = d + 2 * kv;
    const size_t f = m->ffn;
    float *hq = malloc(d * d * 4), *hk = malloc(kv * d * 4), *hv = malloc(kv * d * 4), *emb = malloc(V * d * 4 + f * d * 4),
          *nrm = malloc(d * 4), *hu = malloc(f * d * 4);
    REQUIRE(hq && hk && hv && hu && emb && nrm && V * d >= f * d / 2);
    for (size_t i = 0; i < f * d; i++)
        hu[i] = uni(r);
    for (size_t i = 0; i < d * d; i++)
        hq[i] = uni(r);
    for (size_t i = 0; i < kv * d; i++)
        hk[i] = uni(r), hv[i] = uni(r);
    for (size_t i = 0; i < V * d + m->ffn * d; i++)
        emb[i] = uni(r);
    for (size_t i = 0; i < d; i++)
        nrm[i] = 1 + uni(r) / 8;
    char path[] = "/tmp/test_tf_gguf_XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    llama_gguf(path, m, hq, hk, hv, hu, emb, nrm);
    char err[FSS_IO_ERR_LEN];
    fss_tf_weights *w = NULL;
    fss_status s = fss_tf_weights_open(&w, m, 1, 1, path, err, sizeof err);
    CHECK(s == FSS_OK, "llama-tiny from a GGUF: %s", err);
    if (s == FSS_OK) {
        uint64_t *v = malloc(fss_tf_part_count(m, FSS_TF_QKV) * 8), *h = malloc(V * d * 8);
        REQUIRE(v && h && fss_tf_part_count(m, FSS_TF_QKV) == d * D);
        CHECK(fss_tf_weights_read(w, 0, FSS_TF_QKV, v, err, sizeof err) == FSS_OK, "%s", err);
        const double qs = 1 / sqrt((double)(d / m->heads));
        int same = 1;
        for (size_t a = 0; a < d; a++) /* ours [in a][out b]: Hugging Face's [b][a] */
            for (size_t b = 0; b < D; b++) {
                const double x = b < d ? hq[b * d + a] * qs : b < d + kv ? hk[(b - d) * d + a] : hv[(b - d - kv) * d + a];
                same &= v[a * D + b] == fss_ring_from_signed((int64_t)llrint(ldexp(x, m->scale)), m->bits);
            }
        CHECK(same, "the GGUF's queries, keys and values are not Hugging Face's rows, transposed");
        uint64_t *gu = malloc(fss_tf_part_count(m, FSS_TF_GATE) * 8);
        REQUIRE(gu && fss_tf_part_count(m, FSS_TF_GATE) == 2 * d * f && fss_tf_part_count(m, FSS_TF_UP) == 0);
        CHECK(fss_tf_weights_read(w, 0, FSS_TF_GATE, gu, err, sizeof err) == FSS_OK, "%s", err);
        same = 1;
        for (size_t a = 0; a < d; a++) /* [W_g W_u] [d][2 ffn]: ffn_gate's and ffn_up's rows, transposed */
            for (size_t b = 0; b < 2 * f; b++) {
                const double x = b < f ? emb[b * d + a] : hu[(b - f) * d + a];
                same &= gu[a * 2 * f + b] == fss_ring_from_signed((int64_t)llrint(ldexp(x, m->scale)), m->bits);
            }
        CHECK(same, "the GGUF's gate and up are not [ffn_gate ffn_up], transposed");
        free(gu);
        CHECK(fss_tf_weights_read_head(w, 0, V, h, err, sizeof err) == FSS_OK, "%s", err);
        same = 1;
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j < V; j++)
                same &= h[i * V + j] == fss_ring_from_signed((int64_t)llrint(ldexp(emb[j * d + i], m->scale)), m->bits);
        CHECK(same, "the GGUF's tied head is not token_embd transposed");
        free(v), free(h);
    }
    fss_tf_weights_free(w);
    w = NULL;
    s = fss_tf_weights_open(&w, fss_tf_find("smollm2"), 1, 1, path, err, sizeof err);
    CHECK(s == FSS_E_FORMAT && strstr(err, "llama.embedding_length"), "llama-tiny's GGUF for smollm2: %s",
          s == FSS_OK ? "opened" : err);
    fss_tf_weights_free(w);
    unlink(path);
    free(hq), free(hk), free(hv), free(hu), free(emb), free(nrm);
}

/* A Llama's gate and up are one part only where both fit FSS_TF_FUSE_MAX (a large model's
 * biggest part must not double: a party's peak); either way the two parts hold them all. */
static void gate_up_parts(void)
{
    for (size_t i = 0; i < fss_tf_count(); i++) {
        const fss_tf_model *m = fss_tf_at(i);
        if (m->arch != FSS_TF_LLAMA)
            continue;
        const size_t df = m->d * m->ffn, g = fss_tf_part_count(m, FSS_TF_GATE), u = fss_tf_part_count(m, FSS_TF_UP);
        const int fused = fss_tf_gate_fused(m);
        CHECK(fused == (2 * df <= FSS_TF_FUSE_MAX) && g + u == 2 * df && g == (fused ? 2 * df : df),
              "%s: gate %zu and up %zu values, fused %d", m->name, g, u, fused);
    }
    CHECK(fss_tf_gate_fused(fss_tf_find("smollm2")) && !fss_tf_gate_fused(fss_tf_find("llama2-13b")),
          "SmolLM2's gate and up fused, Llama2-13B's apart");
}

/* The LM head read through windows of columns [c0, c1) (the first, the last, random ones)
 * equals those columns of all, the whole head [d][V]. */
static void head_windows(const fss_tf_weights *w, size_t V, size_t d, const uint64_t *all, uint64_t *win, fss_rng *r,
                         const char *what)
{
    char err[FSS_IO_ERR_LEN];
    for (int trial = 0; trial < 20; trial++) {
        size_t c0 = (size_t)(check_u64(r) % V), c1 = c0 + 1 + (size_t)(check_u64(r) % (V - c0));
        if (trial == 0)
            c0 = 0, c1 = 1;
        if (trial == 1)
            c0 = V - 1, c1 = V;
        CHECK(fss_tf_weights_read_head(w, c0, c1, win, err, sizeof err) == FSS_OK, "%s", err);
        int same = 1;
        for (size_t i = 0; i < d; i++)
            for (size_t j = c0; j < c1; j++)
                same &= win[i * (c1 - c0) + (j - c0)] == all[i * V + j];
        CHECK(same, "%s head columns [%zu, %zu) differ from the whole head's", what, c0, c1);
    }
}

int main(void)
{
    fss_rng *r = check_init("test_tf_weights");
    gate_up_parts();
    gguf_weights(r);
    generation(r);
    text_embeddings(r);
    const fss_tf_model *m = fss_tf_find("gpt2-tiny");
    REQUIRE(m && m->arch == FSS_TF_GPT);
    const size_t d = m->d, V = m->vocab;
    float cattn_w[64 * 192], cattn_b[192], lnw[64], lnb[64], wte[97 * 64];
    REQUIRE(sizeof wte / sizeof *wte == V * d && sizeof lnw / sizeof *lnw == d);
    for (size_t i = 0; i < sizeof cattn_w / sizeof *cattn_w; i++)
        cattn_w[i] = uni(r);
    for (size_t i = 0; i < 192; i++)
        cattn_b[i] = uni(r);
    for (size_t i = 0; i < d; i++)
        lnw[i] = 1 + uni(r) / 8, lnb[i] = uni(r) / 8;
    for (size_t i = 0; i < V * d; i++)
        wte[i] = uni(r);
    wte[5 * d + 7] = -2.0f, wte[(V - 1) * d + d - 1] = 1.5f; /* edges: a whole value, the last element */
    char path[] = "/tmp/test_tf_weights_XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    tensor_spec t[] = {{"h.0.attn.c_attn.weight", 64, 192, cattn_w}, {"h.0.attn.c_attn.bias", 0, 192, cattn_b},
                       {"ln_f.weight", 0, 64, lnw}, {"ln_f.bias", 0, 64, lnb}, {"wte.weight", 97, 64, wte}};
    write_st(path, t, 5);
    char err[FSS_IO_ERR_LEN];
    fss_tf_weights *w = NULL;
    fss_status s = fss_tf_weights_open(&w, m, 0, 1, path, err, sizeof err); /* no blocks: the head and ln_f */
    CHECK(s == FSS_OK, "open: %s", err);
    if (s == FSS_OK) {
        uint64_t *all = (uint64_t *)malloc(V * d * 8), *win = (uint64_t *)malloc(V * d * 8);
        REQUIRE(all && win);
        CHECK(fss_tf_weights_read_head(w, 0, V, all, err, sizeof err) == FSS_OK, "%s", err);
        int exact = 1;
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j < V; j++)
                exact &= all[i * V + j] ==
                         fss_ring_from_signed((int64_t)llrint(ldexp(wte[j * d + i], m->scale)), m->bits);
        CHECK(exact, "the whole head is not the tied embeddings transposed");
        head_windows(w, V, d, all, win, r, "file");
        CHECK(fss_tf_weights_read_head(w, 5, 5, win, err, sizeof err) == FSS_E_ARG, "an empty window");
        CHECK(fss_tf_weights_read_head(w, 0, V + 1, win, err, sizeof err) == FSS_E_ARG, "a window past the vocabulary");
        /* the QKV part: [W_q W_k W_v] [d][3d] (the queries' columns scaled), then the bias */
        uint64_t *qkv = (uint64_t *)malloc(fss_tf_part_count(m, FSS_TF_QKV) * 8);
        REQUIRE(qkv && fss_tf_part_count(m, FSS_TF_QKV) == 3 * d * d + 3 * d);
        CHECK(fss_tf_weights_read(w, 0, FSS_TF_QKV, qkv, err, sizeof err) == FSS_OK, "%s", err);
        const double qs = 1 / sqrt((double)(d / m->heads));
        int placed = 1;
        for (size_t p = 0; p < 3; p++)
            for (size_t i = 0; i < d; i++)
                for (size_t j = 0; j < d; j++) {
                    const double x = cattn_w[i * 3 * d + p * d + j] * (p ? 1 : qs), b = cattn_b[p * d + j] * (p ? 1 : qs);
                    placed &= qkv[i * 3 * d + p * d + j] == fss_ring_from_signed((int64_t)llrint(ldexp(x, m->scale)), m->bits);
                    placed &= i || qkv[3 * d * d + p * d + j] == fss_ring_from_signed((int64_t)llrint(ldexp(b, m->scale)), m->bits);
                }
        CHECK(placed, "c_attn's columns are not where the QKV part's layout puts them");
        free(qkv), free(all), free(win);
    }
    fss_tf_weights_free(w);

    /* random weights: any window of the head is the same columns of the whole head (one
     * stream, whatever the walk's slices) */
    {
        uint64_t *all = (uint64_t *)malloc(V * d * 8), *win = (uint64_t *)malloc(V * d * 8);
        REQUIRE(all && win && fss_tf_weights_random(&w, m, check_u64(r)) == FSS_OK);
        CHECK(fss_tf_weights_read_head(w, 0, V, all, err, sizeof err) == FSS_OK, "%s", err);
        head_windows(w, V, d, all, win, r, "random");
        fss_tf_weights_free(w);
        w = NULL;
        free(all), free(win);
    }

    /* refusals at open, naming the tensor */
    t[4].rows = 64, t[4].cols = 97; /* the embeddings transposed: the same count */
    write_st(path, t, 5);
    w = NULL;
    s = fss_tf_weights_open(&w, m, 0, 1, path, err, sizeof err);
    CHECK(s == FSS_E_FORMAT && strstr(err, "wte.weight") && strstr(err, "[97, 64]"), "a transposed head: %s", err);
    fss_tf_weights_free(w);
    t[4].rows = 97, t[4].cols = 64;
    tensor_spec lack[] = {t[0], t[1], t[2], t[4]}; /* no ln_f.bias */
    write_st(path, lack, 4);
    s = fss_tf_weights_open(&w, m, 0, 1, path, err, sizeof err);
    CHECK(s == FSS_E_FORMAT && strstr(err, "ln_f.bias"), "a missing tensor: %s", err);
    fss_tf_weights_free(w);
    s = fss_tf_weights_open(&w, m, 1, 0, path, err, sizeof err); /* block 0 needs its other parts */
    CHECK(s == FSS_E_FORMAT && strstr(err, "h.0."), "a missing block tensor: %s", err);
    fss_tf_weights_free(w);
    wte[3] = 1e12f;
    write_st(path, t, 5);
    s = fss_tf_weights_open(&w, m, 0, 1, path, err, sizeof err);
    CHECK(s == FSS_E_FORMAT && strstr(err, "wte.weight element 3"), "a value beyond the ring: %s", err);
    fss_tf_weights_free(w);
    s = fss_tf_weights_open(&w, m, 0, 0, path, err, sizeof err); /* without the head it is not read */
    CHECK(s == FSS_OK, "hidden states only: %s", err);
    fss_tf_weights_free(w);
    unlink(path);
    fss_rng_free(r);
    return check_summary();
}
