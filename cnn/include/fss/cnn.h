/* CNN models, written once against the evaluation context (DESIGN section 3): the same
 * walk deals keys, runs a party, or computes the clear fixed-point result.
 *
 * A model is a list of layers. Weights belong to party 0 (inputs of party 0), images
 * to party 1, and the logits are revealed to party 1 only. Values are fixed point with
 * `scale` fractional bits in a ring of `bits` bits. */
#ifndef FSS_CNN_H
#define FSS_CNN_H

#include "fss/family.h"

FSS_EXTERN_C_BEGIN

typedef enum fss_layer_kind {
    FSS_LAYER_CONV,    /* Conv2d(in, out, k, stride, pad) with bias */
    FSS_LAYER_RELU,
    FSS_LAYER_MAXPOOL, /* MaxPool2d(k, stride) */
    FSS_LAYER_AVGPOOL, /* AvgPool2d(k, stride) */
    FSS_LAYER_FLATTEN,
    FSS_LAYER_LINEAR,  /* Linear(in, out) with bias */
    FSS_LAYER_SAVE,    /* keep the current tensor as the residual branch's input */
    FSS_LAYER_SHORTCUT,/* Conv2d(in, out, k, stride, pad) on the kept tensor (ResNet's downsample) */
    FSS_LAYER_ADD,     /* current += kept (both brought to the model's scale first) */
} fss_layer_kind;

typedef struct fss_layer {
    fss_layer_kind kind;
    const char *name; /* weights are "<name>.weight" and "<name>.bias" (a missing conv bias is 0) */
    size_t in, out, k, stride, pad;
    const char *bn;   /* a BatchNorm2d after this conv, folded in at load ("<bn>.weight", .bias,
                         .running_mean, .running_var), or NULL */
} fss_layer;

#define FSS_CNN_MAX_LAYERS 192 /* ResNet-50: 158 */

typedef struct fss_cnn_model {
    const char *name;
    size_t c, h, w;  /* one input image */
    size_t classes;
    int bits, scale; /* ring and fixed point */
    size_t nlayers;
    fss_layer layers[FSS_CNN_MAX_LAYERS];
} fss_cnn_model;

/* The model of that name, or NULL. */
const fss_cnn_model *fss_cnn_find(const char *name);
/* The family the registry knows these models by (cnn/family.c). */
extern const fss_family fss_family_cnn;

/* One layer's parameters in floating point, as PyTorch holds them (party 0's secret:
 * wiped when freed). */
typedef struct fss_cnn_weights {
    const fss_cnn_model *m;
    float *w[FSS_CNN_MAX_LAYERS], *b[FSS_CNN_MAX_LAYERS]; /* NULL for layers without */
} fss_cnn_weights;

/* Folds y = gamma (x - mean) / sqrt(var + eps) + beta into the conv before it: w[o][*]
 * (per_out values each) and b[o] for o < out. */
void fss_cnn_fold_bn(float *w, float *b, size_t out, size_t per_out, const float *gamma, const float *beta,
                     const float *mean, const float *var, float eps);
#define FSS_BN_EPS 1e-5f

/* Sizes of a layer's weight and bias (0 for layers without). */
size_t fss_cnn_weight_count(const fss_cnn_model *m, size_t layer);
size_t fss_cnn_bias_count(const fss_cnn_model *m, size_t layer);
/* Weights from a safetensors file ("<name>.weight", "<name>.bias", shapes checked), or
 * random ones of the right shape (He-scaled) from seed. err gets a message. */
FSS_NODISCARD fss_status fss_cnn_weights_load(const fss_cnn_model *m, const char *path, fss_cnn_weights *w, char *err,
                                              size_t err_len);
FSS_NODISCARD fss_status fss_cnn_weights_random(const fss_cnn_model *m, uint64_t seed, fss_cnn_weights *w);
void fss_cnn_weights_free(fss_cnn_weights *w);

/* The walk. weights: read in CLEAR mode and by party 0 (NULL elsewhere). images:
 * batch x c x h x w floats, read in CLEAR mode and by party 1. logits: batch x classes
 * fixed-point ring values, written in CLEAR mode and for party 1. pg (may be NULL) hears
 * each layer's end. */
/* Every weight and bias as fss_cnn_walk inputs them (one weight, id 0), and nothing else:
 * the setup run of weights input once (fss/weights_file.h). w as fss_cnn_walk's. */
FSS_NODISCARD fss_status fss_cnn_walk_weights(fss_eval *ev, const fss_cnn_model *m, const fss_cnn_weights *w,
                                              fss_progress *pg);
FSS_NODISCARD fss_status fss_cnn_walk(fss_eval *ev, const fss_cnn_model *m, size_t batch, const fss_cnn_weights *w,
                                      const float *images, uint64_t *logits, fss_progress *pg);
/* The same walk up to the logits, left secret: logits (a zeroed tensor) becomes the
 * [batch][classes] wires at the model's scale, for what the caller computes from them
 * (fss_gate_accuracy). */
FSS_NODISCARD fss_status fss_cnn_walk_logits(fss_eval *ev, const fss_cnn_model *m, size_t batch,
                                             const fss_cnn_weights *w, const float *images, fss_tensor *logits,
                                             fss_progress *pg);

/* Fixed point: round(x 2^scale) as a ring element (scale 0 to 62; saturated at the
 * ring's range; NaN gives 0), and back to a float. */
uint64_t fss_fixed_from_float(double x, int scale, int bits);
/* Whether x is finite and round(x 2^scale) lies within the ring's signed range, so that
 * fss_fixed_from_float keeps it exactly (up to rounding) instead of saturating. */
int fss_fixed_fits(double x, int scale, int bits);
/* The largest magnitude that fits: (2^(bits-1) - 1) / 2^scale. */
double fss_fixed_limit(int scale, int bits);
double fss_fixed_to_float(uint64_t v, int scale, int bits);

FSS_EXTERN_C_END

#endif
