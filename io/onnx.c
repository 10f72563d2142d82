/* ONNX models read with protobuf-c into a plain, checked graph (fss/onnx.h). */
#include "fss/onnx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h" /* generated from the ONNX project's onnx.proto (io/CMakeLists.txt) */
#include "strmap.h"

#define OPSET_MIN 7
#define OPSET_MAX 21

static char *dup_str(const char *s)
{
    return strdup(s ? s : "");
}

/* The element count of dims, or refusal: each dimension 0 or more, the product at most
 * FSS_ONNX_MAX_ELEMENTS. */
static int element_count(const int64_t *dims, size_t n, size_t *count)
{
    uint64_t c = 1;
    for (size_t d = 0; d < n; d++) {
        if (dims[d] < 0 || (dims[d] && c > FSS_ONNX_MAX_ELEMENTS / (uint64_t)dims[d]))
            return 0;
        c *= (uint64_t)dims[d];
    }
    *count = (size_t)c;
    return c <= FSS_ONNX_MAX_ELEMENTS;
}

/* A TensorProto into o. Its values are copied when load (float) or always (int64: shapes
 * and axes are the graph's structure, not its weights). */
static fss_status tensor_of(const char *file, const char *what, const Onnx__TensorProto *t, int load,
                            fss_onnx_tensor *o, char *err, size_t err_len)
{
    const char *tn = t->name ? t->name : "";
    if (!t->has_data_type ||
        (t->data_type != FSS_ONNX_FLOAT && t->data_type != FSS_ONNX_INT64 && t->data_type != FSS_ONNX_BOOL))
        return fss_errorf(err, err_len, FSS_E_FORMAT,
                          "%s: %s '%s' has data type %d: float32 (1), int64 (7) and bool (9) only", file, what, tn,
                          t->has_data_type ? (int)t->data_type : 0);
    const int external = t->n_external_data ||
                         (t->has_data_location && t->data_location != ONNX__TENSOR_PROTO__DATA_LOCATION__DEFAULT);
    if (external && (load || t->data_type != FSS_ONNX_FLOAT))
        return fss_errorf(err, err_len, FSS_E_FORMAT,
                          "%s: %s '%s' keeps its values in an external file: export the model with them inside", file,
                          what, tn);
    if (t->n_dims > FSS_ONNX_MAX_DIMS || !element_count(t->dims, t->n_dims, &o->count))
        return fss_errorf(err, err_len, FSS_E_FORMAT,
                          "%s: %s '%s' has %zu dimensions or a size out of range (at most %d dimensions, %llu "
                          "elements)",
                          file, what, tn, t->n_dims, FSS_ONNX_MAX_DIMS, (unsigned long long)FSS_ONNX_MAX_ELEMENTS);
    o->dtype = (fss_onnx_dtype)t->data_type;
    o->ndim = (int)t->n_dims;
    for (size_t d = 0; d < t->n_dims; d++)
        o->dims[d] = t->dims[d];
    if (!(o->name = dup_str(t->name)))
        return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
    /* the dealer: a structure-only export (no values) will do; a scalar it reads when there (a
     * Clip's bounds are the graph's structure) */
    const size_t scalar_have = t->has_raw_data ? t->raw_data.len / 4 : t->n_float_data;
    if (!load && o->dtype == FSS_ONNX_FLOAT && !(o->count == 1 && scalar_have == 1 && !external))
        return FSS_OK;
    if (o->dtype == FSS_ONNX_BOOL) { /* a byte each in raw_data, or int32_data: as 0 and 1 */
        const size_t have = t->has_raw_data ? t->raw_data.len : t->n_int32_data;
        if (o->count > FSS_ONNX_MAX_BOOLS || (t->has_raw_data && t->n_int32_data) || have != o->count)
            return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: %s '%s' holds %zu bools; its dimensions say %zu (at "
                              "most %zu)", file, what, tn, have, o->count, FSS_ONNX_MAX_BOOLS);
        if (!(o->i = (int64_t *)malloc(o->count ? o->count * 8 : 1)))
            return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory for %s '%s'", what, tn);
        for (size_t j = 0; j < o->count; j++)
            o->i[j] = (t->has_raw_data ? t->raw_data.data[j] : t->int32_data[j]) != 0;
        return FSS_OK;
    }
    const size_t esz = o->dtype == FSS_ONNX_FLOAT ? 4 : 8;
    const size_t typed = o->dtype == FSS_ONNX_FLOAT ? t->n_float_data : t->n_int64_data;
    const size_t have = t->has_raw_data ? t->raw_data.len / esz : typed;
    if ((t->has_raw_data && (t->raw_data.len % esz || typed)) || have != o->count)
        return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: %s '%s' holds %zu values; its dimensions say %zu", file,
                          what, tn, have, o->count);
    void *dst = malloc(o->count ? o->count * esz : 1);
    if (!dst)
        return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory for %s '%s'", what, tn);
    if (t->has_raw_data && o->count) /* little-endian, as this machine */
        memcpy(dst, t->raw_data.data, o->count * esz);
    else if (o->count)
        memcpy(dst, o->dtype == FSS_ONNX_FLOAT ? (const void *)t->float_data : (const void *)t->int64_data,
               o->count * esz);
    if (o->dtype == FSS_ONNX_FLOAT)
        o->f = (float *)dst;
    else
        o->i = (int64_t *)dst;
    return FSS_OK;
}

static fss_status attr_of(const char *file, const char *node, const Onnx__AttributeProto *a, int load,
                          fss_onnx_attr *o, char *err, size_t err_len)
{
    const char *an = a->name ? a->name : "";
    if (!(o->name = dup_str(a->name)))
        return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
    o->type = (fss_onnx_attr_type)(a->has_type ? a->type : 0);
    switch (o->type) {
    case FSS_ONNX_ATTR_FLOAT:
        o->f = a->f;
        return FSS_OK;
    case FSS_ONNX_ATTR_INT:
        o->i = a->i;
        return FSS_OK;
    case FSS_ONNX_ATTR_STRING:
        if (!(o->s = (char *)malloc(a->s.len + 1)))
            return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
        if (a->s.len)
            memcpy(o->s, a->s.data, a->s.len);
        o->s[a->s.len] = 0;
        return FSS_OK;
    case FSS_ONNX_ATTR_FLOATS:
        o->n = a->n_floats;
        if (!(o->floats = (float *)malloc((o->n ? o->n : 1) * sizeof(float))))
            return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
        if (o->n)
            memcpy(o->floats, a->floats, o->n * sizeof(float));
        return FSS_OK;
    case FSS_ONNX_ATTR_INTS:
        o->n = a->n_ints;
        if (!(o->ints = (int64_t *)malloc((o->n ? o->n : 1) * sizeof(int64_t))))
            return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
        if (o->n)
            memcpy(o->ints, a->ints, o->n * sizeof(int64_t));
        return FSS_OK;
    case FSS_ONNX_ATTR_TENSOR:
        if (!a->t)
            break;
        if (!(o->t = (fss_onnx_tensor *)calloc(1, sizeof *o->t)))
            return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
        return tensor_of(file, "a tensor attribute", a->t, load, o->t, err, err_len);
    }
    return fss_errorf(err, err_len, FSS_E_FORMAT,
                      "%s: node '%s': attribute '%s' is of a kind fsskit does not read (type %d: float, int, string, "
                      "tensor, floats and ints are)",
                      file, node, an, (int)o->type);
}

/* A graph input or output: a float32 tensor of known rank. */
static fss_status value_of(const char *file, const char *what, const Onnx__ValueInfoProto *v, fss_onnx_value *o,
                           char *err, size_t err_len)
{
    const char *vn = v->name ? v->name : "";
    if (!(o->name = dup_str(v->name)))
        return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
    const Onnx__TypeProto *t = v->type;
    const Onnx__TypeProto__Tensor *tt = t && t->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ? t->tensor_type : NULL;
    if (!tt || !tt->has_elem_type || tt->elem_type != FSS_ONNX_FLOAT)
        return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: %s '%s' is not a float32 tensor", file, what, vn);
    if (!tt->shape) { /* an output may leave its shape to the nodes */
        o->ndim = -1;
        return FSS_OK;
    }
    if (tt->shape->n_dim > FSS_ONNX_MAX_DIMS)
        return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: %s '%s' has %zu dimensions, at most %d", file, what, vn,
                          tt->shape->n_dim, FSS_ONNX_MAX_DIMS);
    o->ndim = (int)tt->shape->n_dim;
    for (size_t d = 0; d < tt->shape->n_dim; d++) {
        const Onnx__TensorShapeProto__Dimension *dm = tt->shape->dim[d];
        if (dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && dm->dim_value >= 0 &&
            (uint64_t)dm->dim_value <= FSS_ONNX_MAX_ELEMENTS) {
            o->dims[d] = dm->dim_value;
        } else if (dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
            return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: %s '%s': dimension %zu is %lld", file, what, vn, d,
                              (long long)dm->dim_value);
        } else { /* a name, or nothing: dynamic */
            o->dims[d] = -1;
            if (!(o->param[d] = dup_str(dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM
                                            ? dm->dim_param
                                            : "?")))
                return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
        }
    }
    return FSS_OK;
}

/* Names defined so far (graph inputs, initializers, node outputs): a name may be defined
 * once; a node's input must be defined before it. */
typedef struct names {
    strmap m;
} names;

static int defined(const names *nm, const char *s)
{
    return strmap_at(&nm->m, s, strlen(s))->v >= 0;
}

static void define(names *nm, const char *s)
{
    strmap_slot *e = strmap_at(&nm->m, s, strlen(s));
    e->s = s, e->n = strlen(s), e->v = 1;
}

static fss_status convert(const char *file, const Onnx__ModelProto *mp, int load, fss_onnx_graph *g, char *err,
                          size_t err_len)
{
    const Onnx__GraphProto *gp = mp->graph;
    if (!gp)
        return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: an ONNX model without a graph", file);
    g->ir_version = mp->has_ir_version ? mp->ir_version : 0;
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = mp->opset_import[i];
        if ((!o->domain || !*o->domain || !strcmp(o->domain, "ai.onnx")) && o->has_version)
            g->opset = o->version;
    }
    if (g->opset < OPSET_MIN || g->opset > OPSET_MAX)
        return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: the model's ONNX opset is %lld; fsskit reads %d to %d", file,
                          (long long)g->opset, OPSET_MIN, OPSET_MAX);
    if (gp->n_sparse_initializer)
        return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: sparse initializers are not read", file);
    names nm;
    const size_t total = gp->n_input + gp->n_initializer + 1;
    size_t outs = 0;
    for (size_t i = 0; i < gp->n_node; i++)
        outs += gp->node[i]->n_output;
    if (!strmap_init(&nm.m, total + outs))
        return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
    fss_status s = FSS_OK;
    g->inits = (fss_onnx_tensor *)calloc(gp->n_initializer + 1, sizeof *g->inits);
    g->inputs = (fss_onnx_value *)calloc(gp->n_input + 1, sizeof *g->inputs);
    g->outputs = (fss_onnx_value *)calloc(gp->n_output + 1, sizeof *g->outputs);
    g->nodes = (fss_onnx_node *)calloc(gp->n_node + 1, sizeof *g->nodes);
    if (!g->inits || !g->inputs || !g->outputs || !g->nodes)
        s = fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
    for (size_t i = 0; s == FSS_OK && i < gp->n_initializer; i++) {
        s = tensor_of(file, "initializer", gp->initializer[i], load, &g->inits[g->ninits++], err, err_len);
        if (s == FSS_OK && (defined(&nm, g->inits[i].name) || !*g->inits[i].name))
            s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: initializer '%s' is named twice (or has no name)", file,
                           g->inits[i].name);
        if (s == FSS_OK)
            define(&nm, g->inits[i].name);
    }
    for (size_t i = 0; s == FSS_OK && i < gp->n_input; i++) {
        const char *in = gp->input[i]->name ? gp->input[i]->name : "";
        if (defined(&nm, in)) /* an initializer listed as an input too (older exporters) */
            continue;
        s = value_of(file, "input", gp->input[i], &g->inputs[g->ninputs++], err, err_len);
        if (s == FSS_OK && (!*in || g->inputs[g->ninputs - 1].ndim < 0))
            s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: input '%s' has no name or no shape", file, in);
        if (s == FSS_OK)
            define(&nm, in);
    }
    for (size_t i = 0; s == FSS_OK && i < gp->n_node; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        fss_onnx_node *n = &g->nodes[g->nnodes++];
        if (!(n->name = dup_str(np->name)) || !(n->op = dup_str(np->op_type)) ||
            !(n->in = (char **)calloc(np->n_input + 1, sizeof *n->in)) ||
            !(n->out = (char **)calloc(np->n_output + 1, sizeof *n->out)) ||
            !(n->attr = (fss_onnx_attr *)calloc(np->n_attribute + 1, sizeof *n->attr))) {
            s = fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
            break;
        }
        if (np->domain && *np->domain && strcmp(np->domain, "ai.onnx")) {
            s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: node '%s' (%s) is of domain '%s': the default domain only",
                           file, n->name, n->op, np->domain);
            break;
        }
        if (!*n->op) {
            s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: node %zu ('%s') has no op type", file, i, n->name);
            break;
        }
        for (size_t j = 0; s == FSS_OK && j < np->n_input; j++) {
            const char *in = np->input[j] ? np->input[j] : "";
            if (!(n->in[n->nin++] = dup_str(in)))
                s = fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
            else if (*in && !defined(&nm, in))
                s = fss_errorf(err, err_len, FSS_E_FORMAT,
                               "%s: node '%s' (%s) reads '%s' before any node makes it: the graph is out of order, has "
                               "a cycle or lacks an initializer",
                               file, n->name, n->op, in);
        }
        for (size_t j = 0; s == FSS_OK && j < np->n_attribute; j++)
            s = attr_of(file, n->name, np->attribute[j], load, &n->attr[n->nattr++], err, err_len);
        for (size_t j = 0; s == FSS_OK && j < np->n_output; j++) {
            const char *o = np->output[j] ? np->output[j] : "";
            if (!(n->out[n->nout++] = dup_str(o)))
                s = fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
            else if (*o && defined(&nm, o))
                s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: node '%s' (%s) makes '%s', which is made already", file,
                               n->name, n->op, o);
            else if (*o)
                define(&nm, n->out[n->nout - 1]);
        }
    }
    for (size_t i = 0; s == FSS_OK && i < gp->n_output; i++) {
        s = value_of(file, "output", gp->output[i], &g->outputs[g->noutputs++], err, err_len);
        if (s == FSS_OK && !defined(&nm, g->outputs[i].name))
            s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: output '%s' is made by no node", file, g->outputs[i].name);
    }
    if (s == FSS_OK && (!g->noutputs || !g->ninputs))
        s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: the graph has no %s", file, g->ninputs ? "output" : "input");
    strmap_free(&nm.m);
    return s;
}

/* protobuf-c unpacks nested messages by recursion, without a bound: a file that nests a
 * message deeper than MAX_NESTING is refused before it is unpacked. Every length-delimited
 * field that reads as a message counts as one (strings and bytes that happen to read so only
 * raise the count), so the scan needs no schema. 1: the nesting is under the bound. */
#define MAX_NESTING 64

static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        const uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return 1;
    }
    return 0;
}

/* 1 if p..end reads as a sequence of fields; *deep set when a nesting passes the bound. */
static int scan_message(const uint8_t *p, const uint8_t *end, int depth, int *deep)
{
    while (p < end && !*deep) {
        uint64_t key, v;
        if (!read_varint(&p, end, &key) || !(key >> 3))
            return 0;
        switch (key & 7) {
        case 0:
            if (!read_varint(&p, end, &v))
                return 0;
            break;
        case 1:
            if (end - p < 8)
                return 0;
            p += 8;
            break;
        case 5:
            if (end - p < 4)
                return 0;
            p += 4;
            break;
        case 2:
            if (!read_varint(&p, end, &v) || v > (uint64_t)(end - p))
                return 0;
            if (depth >= MAX_NESTING) /* a probe: fields only, no descent */
                ;
            else if (v && depth + 1 == MAX_NESTING && scan_message(p, p + v, MAX_NESTING, deep))
                *deep = 1; /* a message at the bound: deeper than allowed */
            else if (v && depth + 1 < MAX_NESTING)
                (void)scan_message(p, p + v, depth + 1, deep);
            p += v;
            break;
        default: /* groups (3, 4) and 6, 7: not ONNX */
            return 0;
        }
    }
    return 1;
}

/* protobuf-c's allocations, wiped when freed: the unpacked model holds party 0's weights. */
static void *wiping_alloc(void *self, size_t n)
{
    (void)self;
    uint8_t *p = (uint8_t *)malloc(n + 16);
    if (!p)
        return NULL;
    memcpy(p, &n, sizeof n);
    return p + 16;
}

static void wiping_free(void *self, void *q)
{
    (void)self;
    if (!q)
        return;
    uint8_t *p = (uint8_t *)q - 16;
    size_t n;
    memcpy(&n, p, sizeof n);
    fss_free_wiped(p, n + 16);
}

fss_status fss_onnx_parse(const char *name, const uint8_t *data, size_t len, int load_values, fss_onnx_graph **out,
                          char *err, size_t err_len)
{
    *out = NULL;
    if (len > FSS_ONNX_MAX_BYTES)
        return fss_errorf(err, err_len, FSS_E_FORMAT, "%s is over %zu bytes", name, FSS_ONNX_MAX_BYTES);
    int deep = 0;
    (void)scan_message(data, data + len, 0, &deep);
    if (deep)
        return fss_errorf(err, err_len, FSS_E_FORMAT, "%s nests messages deeper than %d: not a model fsskit reads",
                          name, MAX_NESTING);
    ProtobufCAllocator wiping = {wiping_alloc, wiping_free, NULL};
    Onnx__ModelProto *mp = onnx__model_proto__unpack(&wiping, len, data);
    if (!mp)
        return fss_errorf(err, err_len, FSS_E_FORMAT, "%s is not an ONNX model (its protobuf does not parse)", name);
    fss_onnx_graph *g = (fss_onnx_graph *)calloc(1, sizeof *g);
    fss_status s = g ? convert(name, mp, load_values, g, err, err_len)
                     : fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
    onnx__model_proto__free_unpacked(mp, &wiping);
    if (s != FSS_OK)
        fss_onnx_free(g);
    else
        *out = g;
    return s;
}

fss_status fss_onnx_read(const char *path, int load_values, fss_onnx_graph **out, char *err, size_t err_len)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return fss_errorf(err, err_len, FSS_E_IO, "cannot open %s: %s", path, strerror(errno));
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    fss_status s = FSS_OK;
    uint8_t *buf = NULL;
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0)
        s = fss_errorf(err, err_len, FSS_E_IO, "cannot read %s: %s", path, strerror(errno));
    else if ((uint64_t)size > FSS_ONNX_MAX_BYTES)
        s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s is over %zu bytes", path, FSS_ONNX_MAX_BYTES);
    else if (!(buf = (uint8_t *)malloc(size ? (size_t)size : 1)))
        s = fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory reading %s", path);
    else if (size && fread(buf, 1, (size_t)size, f) != (size_t)size)
        s = fss_errorf(err, err_len, FSS_E_IO, "cannot read %s", path);
    fclose(f);
    if (s == FSS_OK)
        s = fss_onnx_parse(path, buf, (size_t)size, load_values, out, err, err_len);
    if (buf)
        fss_free_wiped(buf, (size_t)size); /* party 0's weights */
    return s;
}

static void tensor_free(fss_onnx_tensor *t)
{
    free(t->name);
    if (t->f)
        fss_free_wiped(t->f, t->count * sizeof *t->f);
    free(t->i);
}

void fss_onnx_free(fss_onnx_graph *g)
{
    if (!g)
        return;
    for (size_t i = 0; g->inits && i < g->ninits; i++)
        tensor_free(&g->inits[i]);
    for (size_t i = 0; g->nodes && i < g->nnodes; i++) {
        fss_onnx_node *n = &g->nodes[i];
        for (size_t j = 0; n->in && j < n->nin; j++)
            free(n->in[j]);
        for (size_t j = 0; n->out && j < n->nout; j++)
            free(n->out[j]);
        for (size_t j = 0; n->attr && j < n->nattr; j++) {
            fss_onnx_attr *a = &n->attr[j];
            free(a->name), free(a->s), free(a->floats), free(a->ints);
            if (a->t)
                tensor_free(a->t), free(a->t);
        }
        free(n->name), free(n->op), free(n->in), free(n->out), free(n->attr);
    }
    fss_onnx_value *vs[2] = {g->inputs, g->outputs};
    const size_t nv[2] = {g->ninputs, g->noutputs};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; vs[k] && i < nv[k]; i++) {
            free(vs[k][i].name);
            for (int d = 0; d < FSS_ONNX_MAX_DIMS; d++)
                free(vs[k][i].param[d]);
        }
    free(g->inits), free(g->nodes), free(g->inputs), free(g->outputs);
    free(g);
}

const fss_onnx_tensor *fss_onnx_init(const fss_onnx_graph *g, const char *name)
{
    for (int hop = 0; hop < 64; hop++) { /* through Identity nodes: nodes are in order, so no cycle */
        for (size_t i = 0; i < g->ninits; i++)
            if (!strcmp(g->inits[i].name, name))
                return &g->inits[i];
        const fss_onnx_node *n = NULL;
        for (size_t i = 0; !n && i < g->nnodes; i++)
            if (g->nodes[i].nout && !strcmp(g->nodes[i].out[0], name))
                n = &g->nodes[i];
        if (n && !strcmp(n->op, "Constant")) {
            const fss_onnx_attr *a = fss_onnx_attr_of(n, "value");
            return a && a->type == FSS_ONNX_ATTR_TENSOR && n->nattr == 1 ? a->t : NULL;
        }
        if (!n || strcmp(n->op, "Identity") || n->nin != 1)
            return NULL;
        name = n->in[0];
    }
    return NULL;
}

const fss_onnx_attr *fss_onnx_attr_of(const fss_onnx_node *n, const char *name)
{
    for (size_t i = 0; i < n->nattr; i++)
        if (!strcmp(n->attr[i].name, name))
            return &n->attr[i];
    return NULL;
}
