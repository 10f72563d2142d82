/* The transformer models (issue 16) as a model family: BERT (post-LayerNorm, GeLU),
 * GPT-2 and GPT-Neo (pre-LayerNorm, causal, GeLU) and Llama 2 (pre-RMSNorm, causal,
 * rotary, SwiGLU, grouped key/value heads) at Sigma's shapes, one walk for the dealer,
 * the parties and the clear run, over the gates of fss/gates.h.
 *
 * Party 1 gives the token embeddings [batch][seq][d]; the last hidden states are revealed
 * to it. Party 0's weights are random from a seed for now (--random-weights SEED), drawn a
 * layer at a time, so no party holds a whole model. */
#ifndef FSS_TRANSFORMER_H
#define FSS_TRANSFORMER_H

#include "fss/family.h"

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
} fss_tf_model;

/* The model of that name or alias, or NULL; and the table. */
const fss_tf_model *fss_tf_find(const char *name);
size_t fss_tf_count(void);
const fss_tf_model *fss_tf_at(size_t i);

/* What party 1 receives: the last hidden states [batch][seq][d], the LM head's logits of
 * each sequence's last position [batch][vocab], or only the next token (their argmax,
 * [batch]). */
typedef enum fss_tf_out { FSS_TF_OUT_HIDDEN, FSS_TF_OUT_LOGITS, FSS_TF_OUT_TOKEN } fss_tf_out;
/* Values of the output, per the above. */
size_t fss_tf_out_count(const fss_tf_model *m, fss_tf_out o, size_t batch, size_t seq);

/* The walk of layers blocks (at most m->layers) of m on batch x seq tokens: x the
 * embeddings (CLEAR and party 1: batch seq d fixed-point values; else NULL), out what
 * party 1 receives (CLEAR and party 1, fss_tf_out_count values), weights drawn from seed
 * (CLEAR and party 0). */
FSS_NODISCARD fss_status fss_tf_walk(fss_eval *ev, const fss_tf_model *m, int layers, size_t batch, size_t seq,
                                     fss_tf_out o, uint64_t seed, const uint64_t *x, uint64_t *out,
                                     fss_progress *pg);

extern const fss_family fss_family_transformer;

FSS_EXTERN_C_END

#endif
