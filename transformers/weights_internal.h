/* What transformers/weights.c shares with its GGUF source (weights_gguf.c): the parts'
 * layouts, the fixed-point conversion, and the GGUF reads. */
#ifndef FSS_TF_WEIGHTS_INTERNAL_H
#define FSS_TF_WEIGHTS_INTERNAL_H

#include <math.h>

#include "fss/gguf.h"
#include "fss/transformer.h"

#define MAX_PIECES FSS_TF_MAX_PIECES
typedef struct tf_piece {
    size_t rows, cols; /* rows 1: a vector */
    char kind;         /* 'w' weight, 'b' bias, 'g' gain, 'e' embedding table, 't' token type row */
    int query;         /* carries 1 / sqrt(head size) */
    size_t off, stride; /* element (a, b) goes to v[off + a stride + b] */
} tf_piece;

/* Part p's pieces (their count; at most MAX_PIECES), and x at the model's scale. */
int tf_pieces(const fss_tf_model *m, fss_tf_part p, tf_piece *pc);
uint64_t tf_fixed(double x, const fss_tf_model *m);

/* The bound a weight of part p must lie strictly within: the token embeddings' ring's
 * signed range (less half a step: x rounds to a value that fits), else 2^(n-2) at scale f. */
static inline double tf_limit(const fss_tf_model *m, fss_tf_part p)
{
    return p == FSS_TF_WORDS ? ldexp(1.0, FSS_TF_EMBED_BITS - 1 - m->scale) - ldexp(1.0, -m->scale - 1)
                             : ldexp(1.0, m->bits - 2 - m->scale);
}

/* A llama.cpp GGUF file of a Llama model (weights_gguf.c): its metadata must give m's
 * shapes (and the first layers blocks' tensors be there, of readable types); then parts
 * and the LM head's columns read as from a safetensors file. */
FSS_NODISCARD fss_status tf_gguf_check(const fss_gguf *g, const fss_tf_model *m, int layers, char *err,
                                       size_t err_len);
FSS_NODISCARD fss_status tf_gguf_read(const fss_gguf *g, const fss_tf_model *m, int l, fss_tf_part p, uint64_t *v,
                                      char *err, size_t err_len);
FSS_NODISCARD fss_status tf_gguf_read_head(const fss_gguf *g, const fss_tf_model *m, size_t c0, size_t c1,
                                           uint64_t *v, char *err, size_t err_len);

#endif
