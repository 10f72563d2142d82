/* ONNX models (issue 20): a model file read with protobuf-c (the ONNX project's own
 * onnx.proto, from Debian's libonnx-dev, compiled by protoc-c at build time) into a plain
 * graph: its inputs, outputs, nodes with their attributes, and initializers.
 *
 * What is checked, every failure a message and never a crash (the reader is fuzzed):
 *   - the bytes are an ONNX ModelProto with a graph, at most FSS_ONNX_MAX_BYTES;
 *   - the default domain's opset is declared (7 to 21), nodes are of the default domain;
 *   - every node input is a graph input, an initializer or an output of an EARLIER node
 *     (ONNX asks for nodes in topological order; a graph out of order or with a cycle is
 *     refused), no name is produced twice, every graph output is produced;
 *   - initializers are float32, int64 or bool (raw_data little-endian, or the typed fields), with
 *     0 to FSS_ONNX_MAX_DIMS dimensions, at most FSS_ONNX_MAX_ELEMENTS elements, and as
 *     many values as their dimensions say; external data is refused;
 *   - the graph's inputs that are not initializers are float32 tensors of known rank, each
 *     dimension a number or a name (a dynamic one: the caller fixes it, --batch).
 * With load_values 0 (the dealer, who never sees the weights) the initializers keep their
 * dimensions and no values (their values may be absent or external: a structure-only
 * export), but for single float values that are there (a Clip's bounds: the graph's
 * structure) and int64 ones (shapes, axes). */
#ifndef FSS_IO_ONNX_H
#define FSS_IO_ONNX_H

#include <stdint.h>

#include "fss/common.h"

FSS_EXTERN_C_BEGIN

#define FSS_ONNX_MAX_BYTES ((size_t)1 << 31)
#define FSS_ONNX_MAX_DIMS 8
#define FSS_ONNX_MAX_ELEMENTS ((uint64_t)1 << 31)

typedef enum fss_onnx_attr_type {
    FSS_ONNX_ATTR_FLOAT = 1,
    FSS_ONNX_ATTR_INT = 2,
    FSS_ONNX_ATTR_STRING = 3,
    FSS_ONNX_ATTR_TENSOR = 4,
    FSS_ONNX_ATTR_FLOATS = 6,
    FSS_ONNX_ATTR_INTS = 7,
} fss_onnx_attr_type;

/* bool tensors (a causal mask's) are read into i as 0 and 1, at most FSS_ONNX_MAX_BOOLS */
typedef enum fss_onnx_dtype { FSS_ONNX_FLOAT = 1, FSS_ONNX_INT64 = 7, FSS_ONNX_BOOL = 9 } fss_onnx_dtype;
#define FSS_ONNX_MAX_BOOLS ((size_t)1 << 24)

/* A tensor: an initializer, or a tensor attribute (Constant's value). */
typedef struct fss_onnx_tensor {
    char *name;
    fss_onnx_dtype dtype;
    int ndim;
    int64_t dims[FSS_ONNX_MAX_DIMS];
    size_t count;
    float *f;   /* FSS_ONNX_FLOAT, count values (NULL without values) */
    int64_t *i; /* FSS_ONNX_INT64 */
} fss_onnx_tensor;

typedef struct fss_onnx_attr {
    char *name;
    fss_onnx_attr_type type;
    int64_t i;
    float f;
    char *s;               /* FSS_ONNX_ATTR_STRING, NUL-terminated */
    size_t n;              /* FLOATS, INTS */
    float *floats;
    int64_t *ints;
    fss_onnx_tensor *t;    /* TENSOR */
} fss_onnx_attr;

typedef struct fss_onnx_node {
    char *name; /* "" when the file has none */
    char *op;
    size_t nin, nout, nattr;
    char **in, **out; /* an input "" is an absent optional one */
    fss_onnx_attr *attr;
} fss_onnx_node;

/* A graph input or output: float32, each dimension a size (dims[d] >= 0) or a name (dims[d]
 * = -1, param[d] the name). */
typedef struct fss_onnx_value {
    char *name;
    int ndim;
    int64_t dims[FSS_ONNX_MAX_DIMS];
    char *param[FSS_ONNX_MAX_DIMS];
} fss_onnx_value;

typedef struct fss_onnx_graph {
    int64_t ir_version, opset;
    size_t ninputs, noutputs, nnodes, ninits;
    fss_onnx_value *inputs, *outputs; /* inputs: those that are not initializers */
    fss_onnx_node *nodes;             /* in topological order */
    fss_onnx_tensor *inits;
} fss_onnx_graph;

/* The model in data (len bytes; name: for messages). FSS_E_FORMAT and one line in err. */
FSS_NODISCARD fss_status fss_onnx_parse(const char *name, const uint8_t *data, size_t len, int load_values,
                                        fss_onnx_graph **out, char *err, size_t err_len);
FSS_NODISCARD fss_status fss_onnx_read(const char *path, int load_values, fss_onnx_graph **out, char *err,
                                       size_t err_len);
/* Wipes the values (party 0's weights) and frees; NULL is a no-op. */
void fss_onnx_free(fss_onnx_graph *g);
/* The initializer of that name, or NULL: an initializer, a Constant node's output (its
 * "value" tensor), or an Identity's of one of those (PyTorch's exporter writes both); the
 * attribute of that name of node n, or NULL. */
const fss_onnx_tensor *fss_onnx_init(const fss_onnx_graph *g, const char *name);
const fss_onnx_attr *fss_onnx_attr_of(const fss_onnx_node *n, const char *name);

FSS_EXTERN_C_END

#endif
