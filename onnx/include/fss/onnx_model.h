/* An ONNX graph as a plan of the gates' steps (the `onnx` family, issue 20).
 *
 * Lowering (fss_onnx_lower) turns a graph read by io/onnx.c into steps over values: the
 * input, then a step a node (a few for some), each with its output's shape for the run's
 * batch (and sequence length), and the weights the steps take (initializers by name, with
 * their dimensions). The plan's text (fss_onnx_plan_text) is what the dealer writes into
 * the key files (fss_family.plan): a party 1 with no model file runs it; a party 0 lowers
 * its own file and must get the same text. Values have 2 to 4 dimensions; the input is
 * [batch, features], [batch, seq, features] (seq may be left open: fss_onnx_lower's seq
 * fixes it) or [batch, c, h, w], and later values need not keep the batch first (a Reshape
 * to [batch seq, d] for a Gemm). The ops of this version:
 *   - Conv (groups, depthwise and dilated too, square kernels, equal strides and symmetric
 *     pads; a BatchNormalization right after it folded in); Gemm (alpha = beta = 1,
 *     transA 0, a weight initializer, transB 0 or 1, a 1-d bias); MatMul by a 2-d
 *     initializer over the last axis; MatMul of two values ([.., m, k] by [.., k, n], the
 *     same leading dimensions: attention's Q K^T and softmax(.) V, fss_gate_matmul_batched,
 *     one round, the product at 2f);
 *   - Add and Sub (two values of one shape, or a value and an initializer of one value a
 *     channel of a 4-d value or a feature, the last axis, of the others, or any float
 *     constant that broadcasts to the value: party 0's input); Mul of two values (one shape,
 *     or a [batch, c, 1, 1] per channel: both at f, the product at 2f); Mul and Div by a
 *     scalar constant; Mul by a float constant that broadcasts (party 0's input: the
 *     rotary embedding's cos and sin); Neg (local);
 *   - Relu, LeakyRelu, Sigmoid and Tanh (fss_gate_sigmoid: 5.1e-4 at scale 16, Tanh twice
 *     that), Clip to [0, max] (ReLU6), HardSigmoid and HardSwish (alpha x + beta at 2f,
 *     shifted to f, relu(t) - relu(t - 1); HardSwish x times it), Gelu (opset 20's, and
 *     PyTorch's Div, Erf, Add, Mul, Mul for it in either exporter's order, and GPT-2's
 *     tanh form as Pow, Mul, Add, Mul, Tanh, Add, Mul, Mul: one step; approximate="tanh"
 *     and the tanh form computed as the exact GELU, 4.7e-4 from it at most);
 *   - Softmax over the last axis (fss_gate_softmax), causal where the graph masks the scores
 *     before it with the causal mask (an Add of a 0 / -inf constant, or a Where of a bool
 *     constant and -inf: one causal softmax step; the mask may come from Expand,
 *     ConstantOfShape, Trilu, Equal and Where of constants, followed at lowering; any other
 *     mask is refused; a NaN guard after it, Where(IsNaN(p), c, p), is p);
 *     LayerNormalization over the last axis of a 2-d or 3-d value; Llama's RMSNorm (Pow,
 *     ReduceMean, Add, Sqrt, Reciprocal, Mul, Mul: fss_gate_rmsnorm) and SiLU (Sigmoid and
 *     Mul: fss_gate_silu), each one step;
 *   - MaxPool and AveragePool (square windows; an AveragePool's padding a Pad step then the
 *     pool, counted (PyTorch's) or not (ONNX's default: the average times k^2 / cells, a
 *     public factor an output position, at 2f)), GlobalAveragePool, ReduceMean over h and w
 *     (a global average pool, and a reshape without keepdims), Pad (zeros, the same on each
 *     side of h and w);
 *   - wires moved at no cost: Flatten (axis 1), Reshape (to 2 to 4 dimensions, from a
 *     constant target or one that shape arithmetic makes: Shape, Gather, Slice, Concat,
 *     Unsqueeze, Squeeze, Cast, Add, Sub, Mul, Div and Mod of small int64 tensors, all
 *     followed at lowering), Transpose, Concat along any axis (of k values: k - 1 steps),
 *     Split and Slice (along one axis, from constants: a step a part), grouped-query
 *     attention's Unsqueeze, Expand and Reshape (each key and value head repeated), Identity,
 *     Dropout, Constant (and an Identity of a constant, which the TorchScript exporter
 *     writes).
 * Others are refused with their node's name and op. Scalar constants (a Clip's bounds, a
 * Mul's factor, a LeakyRelu's slope) are the graph's structure: the plan carries them.
 *
 * Fixed point, as the CNN family's walk: values at scale f, weights at f, biases at 2f; a
 * product stays at 2f until a ReLU (fused with the shift back) or an op that needs f (in a
 * graph with attention, a scalar factor of it keeps it a product, at 3f), so
 * an exported LeNet gives the built-in lenet's bits at the same ring and scale. A Relu
 * whose only reader is a MaxPool goes after it (they commute): a quarter of the ReLUs of
 * a 2 x 2 window. */
#ifndef FSS_ONNX_MODEL_H
#define FSS_ONNX_MODEL_H

#include "fss/family.h"
#include "fss/onnx.h"

FSS_EXTERN_C_BEGIN

typedef enum fss_onnx_op {
    FSS_ONNX_OP_CONV = 1,
    FSS_ONNX_OP_GEMM,    /* and MatMul */
    FSS_ONNX_OP_ADD,     /* two values */
    FSS_ONNX_OP_BIAS,    /* a value and an initializer */
    FSS_ONNX_OP_RELU,
    FSS_ONNX_OP_MAXPOOL,
    FSS_ONNX_OP_AVGPOOL, /* and GlobalAveragePool */
    FSS_ONNX_OP_RESHAPE, /* Flatten, Reshape, Identity, Dropout */
    FSS_ONNX_OP_SUB,     /* two values */
    FSS_ONNX_OP_SIGMOID,
    FSS_ONNX_OP_TANH,    /* 2 sigmoid(2x) - 1 */
    FSS_ONNX_OP_SOFTMAX, /* over the last axis */
    FSS_ONNX_OP_CLIP,    /* to [0, eps]: relu(x) - relu(x - eps) (ReLU6's) */
    FSS_ONNX_OP_SCALE,   /* times the public constant eps (Mul, Div by a scalar) */
    FSS_ONNX_OP_LEAKY,   /* LeakyRelu of slope eps */
    FSS_ONNX_OP_CONCAT,  /* [a | b] along axis (any) */
    FSS_ONNX_OP_PAD,     /* zeros around h and w, pad each side */
    FSS_ONNX_OP_GELU,    /* Gelu, and PyTorch's Erf pattern (x Phi(x), fss_gate_gelu) */
    FSS_ONNX_OP_LAYERNORM, /* over the last axis: w the scale, bias the bias (-1: none), eps */
    FSS_ONNX_OP_MUL,     /* two values: b of a's shape, or [batch, c, 1, 1] spread over a's planes */
    FSS_ONNX_OP_HARDSIGMOID, /* clip(eps x + eps2, 0, 1); trans_b 1: times x (HardSwish) */
    FSS_ONNX_OP_TRANSPOSE, /* axes permuted by perm */
    FSS_ONNX_OP_BMM,     /* two values: a [.., m, k] times b [.., k, n], a product per leading index */
    FSS_ONNX_OP_SLICE,   /* shape[axis] entries of axis from cin on (Split's outputs, Slice) */
    FSS_ONNX_OP_RMSNORM, /* over the last axis: w the gain, eps (Llama's Pow, ReduceMean, Add, Sqrt, Reciprocal, Mul, Mul) */
    FSS_ONNX_OP_SILU,    /* x sigmoid(x) (Sigmoid, Mul): fss_gate_silu */
    FSS_ONNX_OP_WMUL,    /* times a constant w broadcast over the axes not in the mask groups (party 0's input) */
    FSS_ONNX_OP_WADD,    /* plus such a constant (trans_b: minus) */
    FSS_ONNX_OP_REPEAT,  /* each entry of axis repeated k times in a row (grouped-query attention's heads) */
} fss_onnx_op;

typedef struct fss_onnx_step {
    fss_onnx_op op;
    int a, b;               /* input values (b: ADD's second) */
    int ndim;               /* the output's shape */
    size_t shape[4];
    size_t cin, cout, k, stride, pad; /* CONV; k, stride, pad also the pools' */
    size_t groups;          /* CONV: the input's channels in groups (1: one); WMUL, WADD: bit d set when
                             * the constant spans axis d of the value (else broadcast along it); 0 elsewhere */
    size_t dil;             /* CONV: the taps' spacing (1: none; k is the widened kernel); 0 elsewhere */
    int w, bias;            /* weights' indices (-1: none); GEMM: w is [in][out] after transB */
    int trans_b;            /* GEMM: the initializer is [out][in]; BIAS: subtracted (Sub); AVGPOOL: pad is
                             * its input's border of zeros not counted (ONNX's count_include_pad 0);
                             * SOFTMAX: causal (a mask the graph applied before it) */
    int bn[4];              /* CONV: a folded BatchNormalization's scale, B, mean, var (-1: none) */
    float eps, eps2;        /* constants: a Clip's max, a factor, a slope; HardSigmoid's alpha and beta */
    int perm[4];            /* TRANSPOSE: output axis d is input axis perm[d] (0 elsewhere) */
    int axis;               /* CONCAT: the axis joined; SLICE: the axis cut; REPEAT: the axis repeated (0 elsewhere) */
    char name[64];          /* the node's, for messages and progress */
} fss_onnx_step;

typedef struct fss_onnx_weight {
    char name[128];         /* the initializer's */
    size_t count;
} fss_onnx_weight;

#define FSS_ONNX_MAX_STEPS 4096
#define FSS_ONNX_MAX_WEIGHTS 8192

typedef struct fss_onnx_plan {
    size_t batch;
    int in_ndim;            /* the input's shape, batch first */
    size_t in_shape[4];
    size_t nsteps, nweights;
    fss_onnx_step *steps;   /* step i makes value i + 1; value 0 is the input */
    fss_onnx_weight *weights;
    int output;             /* the value the graph outputs */
} fss_onnx_plan;

/* The plan of graph g for batches of batch (the input's dynamic first dimension; a fixed
 * one must equal it) and, for a [batch, seq, features] input, sequences of seq (its
 * dynamic second dimension; 0: the model's fixed one). FSS_E_FORMAT with the node named
 * for what this version cannot run. */
FSS_NODISCARD fss_status fss_onnx_lower(const fss_onnx_graph *g, size_t batch, size_t seq, fss_onnx_plan *p,
                                        char *err, size_t err_len);
/* FSS_E_ARG naming the first step whose gate the ring of bits at scale f cannot hold
 * (a LayerNormalization's 2 f + 26 bits, a softmax's 2 f + 17, ...). */
FSS_NODISCARD fss_status fss_onnx_plan_fits(const fss_onnx_plan *p, int bits, int f, char *err, size_t err_len);
/* The fewest ring bits the plan's gates take at scale f (the products' 2 f + 8 at least). */
int fss_onnx_plan_min_bits(const fss_onnx_plan *p, int f);
/* The plan as text (malloc'ed, NUL-terminated), and back. */
char *fss_onnx_plan_text(const fss_onnx_plan *p);
FSS_NODISCARD fss_status fss_onnx_plan_parse(const char *text, size_t len, fss_onnx_plan *p, char *err,
                                             size_t err_len);
void fss_onnx_plan_free(fss_onnx_plan *p);
/* Every step's shape from its inputs, its values earlier than it, its weights of the sizes
 * its shapes need: what lowering makes, and what a party checks of a key file's plan before
 * it trusts it. */
FSS_NODISCARD fss_status fss_onnx_plan_check(const fss_onnx_plan *p, char *err, size_t err_len);

/* Party 0's weights for the plan from its graph's initializers: one float array a weight
 * (a folded BatchNormalization applied to its conv's weight and bias), wiped by
 * fss_onnx_weights_free. */
typedef struct fss_onnx_values {
    size_t n, nsteps;
    float **w;
    size_t *count;
    float **fw, **fb; /* a Conv step's weight and bias with its BatchNormalization folded in */
    size_t *fcount;   /* fw's count (fb's: the conv's outputs, fcount's second half) */
} fss_onnx_values;
/* Refuses a weight (or a folded one) that is not finite or that the fixed point of bits and
 * scale does not hold: weights at scale, biases at twice it. */
FSS_NODISCARD fss_status fss_onnx_weights(const fss_onnx_plan *p, const fss_onnx_graph *g, int bits, int scale,
                                          fss_onnx_values *v, char *err, size_t err_len);
void fss_onnx_weights_free(fss_onnx_values *v);

/* The clear run's largest value, the input or a step's output (as a signed ring integer at
 * its scale; an average pool's counted with its factor's bits, the sum it scales): how many
 * of the ring's bits this input used, the headroom left for others. Other gates' inner
 * values are not counted: the gates bound them, or refuse in the clear run. */
typedef struct fss_onnx_peak {
    int bits;      /* the fewest bits that hold it, sign included */
    int scale;     /* its value's */
    size_t step;   /* the step that made it (SIZE_MAX: the input) */
    double value;  /* its magnitude as a real number */
} fss_onnx_peak;

/* The walk: party 0 gives values (the weights), party 1 input (batch x the input's shape,
 * floats); out (the output's count, ring values at scale f) is written for party 1 and in
 * the clear run; peak (may be NULL) too, in the clear run only. */
FSS_NODISCARD fss_status fss_onnx_walk(fss_eval *ev, const fss_onnx_plan *p, int bits, int scale,
                                       const fss_onnx_values *values, const float *input, uint64_t *out,
                                       fss_onnx_peak *peak, fss_progress *pg);
/* The setup run of weights input once (fss_family.walk_weights): the inputs of party 0's
 * weights that fss_onnx_walk makes (one of them all; with attention, a part before its
 * steps), and nothing else. */
FSS_NODISCARD fss_status fss_onnx_walk_weights(fss_eval *ev, const fss_onnx_plan *p, int bits, int scale,
                                               const fss_onnx_values *values, fss_progress *pg);
/* The output's element count and shape. */
size_t fss_onnx_out_count(const fss_onnx_plan *p);

FSS_EXTERN_C_END

#endif
