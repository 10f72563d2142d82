/* The transformer models (issue 16) as a model family: BERT (post-LayerNorm, GeLU),
 * GPT-2 and GPT-Neo (pre-LayerNorm, causal, GeLU) and Llama 2 (pre-RMSNorm, causal,
 * rotary, SwiGLU, grouped key/value heads) at Sigma's shapes, one walk for the dealer,
 * the parties and the clear run, over the gates of fss/gates.h.
 *
 * Party 1 gives the token embeddings [batch][seq][d]; the last hidden states are revealed
 * to it (or, for GPT and Llama, the last position's logits or the next token). Party 0's
 * weights come from a .safetensors file or from a seed, a part of a block at a time, so no
 * party holds a whole model.
 *
 * A model that takes text (tokens > 0: all-MiniLM-L6-v2 as "minilm") starts from party 1's
 * token ids instead, padded to seq, and ends in its sentence embeddings:
 *   - the token embeddings are party 0's table looked up securely: party 1 inputs each
 *     token as a one-hot row over the vocabulary in FSS_TF_EMBED_BITS bits and the rows
 *     are a product with the table (runtime: a product of party 1's input by party 0's
 *     needs no shares of party 1's mask), then sign-extended to the model's ring; the
 *     position and token-type rows are public indices of party 0's weights (local);
 *     then BERT's embedding LayerNorm. Cost a token: vocabulary x FSS_TF_EMBED_BITS bits
 *     sent (61 KB for BERT's 30522), and a product of the one-hot rows by the table on
 *     each side (vocabulary x d multiply-adds).
 *   - padding: party 1's attention bias, 0 on its tokens and -FSS_TF_PAD_BIAS on the pads,
 *     is added to every score (the dealer knows the padded length only);
 *   - mean pooling over the tokens by party 1's weights (1/m on its m tokens, 0 on the
 *     pads), then RMSNorm with gain 1, revealed to party 1, which divides by sqrt(d): the
 *     L2-normalized embedding, as sentence-transformers gives it. */
#ifndef FSS_TRANSFORMER_H
#define FSS_TRANSFORMER_H

#include "fss/family.h"
#include "fss/safetensors.h" /* FSS_IO_ERR_LEN */

FSS_EXTERN_C_BEGIN

typedef enum fss_tf_arch { FSS_TF_BERT, FSS_TF_GPT, FSS_TF_LLAMA } fss_tf_arch;

typedef struct fss_tf_model {
    const char *name, *aliases; /* aliases ", "-separated, or "" */
    fss_tf_arch arch;
    int layers;
    size_t d, heads, kv_heads, ffn;
    size_t vocab; /* the LM head's (GPT, Llama); 0 for BERT */
    int bits, scale;
    double eps;
    size_t window; /* GPT-Neo: its odd blocks attend to the last window tokens only; 0: none */
    size_t tokens, positions; /* a model that takes text: its vocabulary and positions; else 0 */
    double rope;              /* Llama: the rotary embedding's base */
} fss_tf_model;

/* The token embeddings' ring (a table value must lie in +-2^(15 - scale): 8 at scale 12),
 * and the attention bias of a pad (softmax's inputs lie within +-4096). */
#define FSS_TF_EMBED_BITS 16
#define FSS_TF_PAD_BIAS 1024

/* The model of that name or alias, or NULL; and the table. */
const fss_tf_model *fss_tf_find(const char *name);
size_t fss_tf_count(void);
const fss_tf_model *fss_tf_at(size_t i);

/* What party 1 receives: the last hidden states [batch][seq][d], the LM head's logits of
 * each sequence's last position [batch][vocab], only the next token (their argmax,
 * [batch]), or (a model that takes text) the sentence embeddings [batch][d], times
 * sqrt(d) (see above). */
typedef enum fss_tf_out { FSS_TF_OUT_HIDDEN, FSS_TF_OUT_LOGITS, FSS_TF_OUT_TOKEN, FSS_TF_OUT_SENTENCE } fss_tf_out;
/* Values of the output, per the above. */
size_t fss_tf_out_count(const fss_tf_model *m, fss_tf_out o, size_t batch, size_t seq);

/* Party 0's weights come in parts, each one input of party 0 (one message), taken just
 * before they are used so that a party holds one part at a time. A part is its pieces
 * one after the other, each a matrix [in][out] or a vector, at the model's scale:
 *   QKV   [W_q W_k W_v] [d][d + 2 kv] (each row the three's rows side by side, as GPT-2's
 *         c_attn), then (BERT, GPT) [b_q b_k b_v] [d + 2 kv]: one product
 *   O     W_o [d][d] (+ b_o [d]);  UP (BERT, GPT)  W_1 [d][ffn] (+ b_1 [ffn])
 *   GATE  (Llama) W_g [d][ffn]; fused (fss_tf_gate_fused: a small model) [W_g W_u] [d][2 ffn],
 *         the gate's and up's rows side by side, one product, and UP then empty
 *   DOWN  W_2 [ffn][d] (+ b_2 [d]);  LN1, LN2, NORM (the final norm; GPT, Llama)  gain [d] (+ bias [d])
 *   HEAD  the LM head [d][vocab] (GPT, Llama), input in slices of fss_tf_head_slice columns
 *   WORDS the token embeddings [tokens][d], in FSS_TF_EMBED_BITS bits (a model that takes text)
 *   POS   the position embeddings [positions][d], then token type 0's [d]
 *   EMB_LN the embeddings' LayerNorm: gain [d], bias [d]
 * with kv = d / heads * kv_heads, and 1 / sqrt(d / heads) folded into W_q and b_q. */
typedef enum fss_tf_part {
    FSS_TF_QKV, FSS_TF_O, FSS_TF_LN1, FSS_TF_UP, FSS_TF_GATE, FSS_TF_DOWN, FSS_TF_LN2, FSS_TF_NORM, FSS_TF_HEAD,
    FSS_TF_WORDS, FSS_TF_POS, FSS_TF_EMB_LN, FSS_TF_PARTS
} fss_tf_part;
/* Part p's pieces' shapes {rows, cols} (rows 1: a vector), their count as the result (0:
 * the architecture has no such part); and the values of the whole part. */
#define FSS_TF_MAX_PIECES 6
int fss_tf_part_shapes(const fss_tf_model *m, fss_tf_part p, size_t shape[FSS_TF_MAX_PIECES][2]);
size_t fss_tf_part_count(const fss_tf_model *m, fss_tf_part p);
/* Whether a Llama's GATE holds the up projection too (one product, two rounds a block
 * fewer): where the two fit FSS_TF_FUSE_MAX values, so that a large model's biggest part
 * (and a party's peak memory) does not double. */
#define FSS_TF_FUSE_MAX ((size_t)1 << 24)
int fss_tf_gate_fused(const fss_tf_model *m);

/* Where the weights come from (transformers/weights.c). fss_tf_weights_random: from seed,
 * a stream for each (block, part). fss_tf_weights_open: a .safetensors file with Hugging
 * Face's names for the architecture (BERT's encoder.layer.L...; GPT-2's h.L.attn.c_attn...,
 * GPT-Neo's h.L.attn.attention.q_proj...; Llama's model.layers.L...; an optional "bert.",
 * "transformer." or "model." prefix), nn.Linear weights [out][in] transposed, GPT-2's
 * Conv1D [in][out] as is; the LM head from lm_head.weight or the tied token embeddings.
 * Every tensor the first layers blocks (and, with head, the LM head) take is read once at
 * open, so that a missing tensor, a wrong shape or a value without a fixed-point value is
 * refused (FSS_E_FORMAT, err naming file and tensor) before a key is spent. */
typedef struct fss_tf_weights fss_tf_weights;
FSS_NODISCARD fss_status fss_tf_weights_random(fss_tf_weights **w, const fss_tf_model *m, uint64_t seed);
FSS_NODISCARD fss_status fss_tf_weights_open(fss_tf_weights **w, const fss_tf_model *m, int layers, int head,
                                             const char *path, char *err, size_t err_len);
/* Part p of block layer (FSS_TF_NORM: any layer; not FSS_TF_HEAD) in fixed point into
 * v[0 .. fss_tf_part_count). */
FSS_NODISCARD fss_status fss_tf_weights_read(const fss_tf_weights *w, int layer, fss_tf_part p, uint64_t *v,
                                             char *err, size_t err_len);
/* The LM head's columns (token ids) [c0, c1) as [d][c1 - c0], and the columns of the
 * slices the walk inputs it in (2^22 values a slice: GPT-2's head is 10 of them, llama2-13b's 40). */
FSS_NODISCARD fss_status fss_tf_weights_read_head(const fss_tf_weights *w, size_t c0, size_t c1, uint64_t *v,
                                                  char *err, size_t err_len);
size_t fss_tf_head_slice(const fss_tf_model *m);
/* The names found: "BERT", "GPT-2", "GPT-Neo", "Llama", or "random". */
const char *fss_tf_weights_naming(const fss_tf_weights *w);
void fss_tf_weights_free(fss_tf_weights *w);

/* Every weight the walk of these layers (and, head, the LM head) inputs, under the same
 * numbers, and nothing else: the setup run of weights input once (fss/weights_file.h). */
FSS_NODISCARD fss_status fss_tf_walk_weights(fss_eval *ev, const fss_tf_model *m, int layers, int head,
                                             const fss_tf_weights *w, fss_progress *pg);
/* The walk of layers blocks (at most m->layers) of m on batch x seq tokens: x the
 * embeddings (CLEAR and party 1: batch seq d fixed-point values; else NULL), or for a
 * model that takes text the token ids (batch seq of them, each sequence's m tokens then
 * pads) followed by the batch counts m (1 to seq), out what party 1 receives (CLEAR and
 * party 1, fss_tf_out_count values), w the weights (CLEAR and party 0; else NULL). */
/* Generation (a Llama that takes text, the next token out): a pass over the prompt fills
 * a cache of each block's keys and values (masked wires); step k (k >= 1) then runs the
 * token revealed at step k - 1 alone over that cache, at its position m + k - 1 (m the
 * prompt's length, party 1's: party 1 inputs the token, the position's cos and sin and
 * the prompt pads' attention bias). Each step's token is the one a whole pass over the
 * prompt and the k tokens so far gives. out steps x batch tokens, step-major; on_step
 * (CLEAR and party 1) sees each step's batch of tokens as they come. NULL: one pass. */
typedef struct fss_tf_gen {
    size_t steps;
    void (*on_step)(void *ctx, size_t step, const uint64_t *tokens);
    void *ctx;
} fss_tf_gen;
FSS_NODISCARD fss_status fss_tf_walk(fss_eval *ev, const fss_tf_model *m, int layers, size_t batch, size_t seq,
                                     fss_tf_out o, const fss_tf_weights *w, const uint64_t *x, uint64_t *out,
                                     const fss_tf_gen *gen, fss_progress *pg);

extern const fss_family fss_family_transformer;

FSS_EXTERN_C_END

#endif
