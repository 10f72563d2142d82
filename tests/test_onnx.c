/* The ONNX reader (fss/onnx.h) on models built here with protobuf-c (no Python, no
 * exporter): a small graph read back whole (shapes, a dynamic dimension, attributes, the
 * initializers with and without values); then each malformation the reader must refuse
 * with its message (truncated, another data type, huge or inconsistent sizes, a cycle, a
 * missing initializer, an output no node makes, an old opset, a name made twice,
 * external data, a non-float input, no graph); then random corruptions of the bytes,
 * which must never crash (ASan and UBSan in the test build). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "fss/onnx.h"
#include "fss/onnx_model.h"
#include "onnx.pb-c.h"

static fss_rng *rng;

/* The parts of a model, as plain C data the cases change before packing. */
typedef struct spec {
    int64_t opset;
    int no_graph, w_type, external, input_type, swap_nodes, drop_b, bad_output, dup_output;
    int64_t w_dims[2];
    size_t b_values;
    float alpha;
} spec;

static const spec base = {13, 0, 1, 0, 1, 0, 0, 0, 0, {4, 3}, 3, 1.5f};

static uint8_t *build(const spec *sp, size_t *len)
{
    static float wv[12] = {1, -2, 3, 4, 5, -6, 7, 8, 9, 10, -11, 12}, bv[3] = {0.5f, -1, 2};
    Onnx__TensorShapeProto__Dimension d0 = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT, d1 = d0;
    d0.value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
    d0.dim_param = (char *)"batch";
    d1.value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    d1.dim_value = 4;
    Onnx__TensorShapeProto__Dimension *dims[2] = {&d0, &d1};
    Onnx__TensorShapeProto shape = ONNX__TENSOR_SHAPE_PROTO__INIT;
    shape.n_dim = 2, shape.dim = dims;
    Onnx__TypeProto__Tensor tt = ONNX__TYPE_PROTO__TENSOR__INIT;
    tt.has_elem_type = 1, tt.elem_type = sp->input_type, tt.shape = &shape;
    Onnx__TypeProto ty = ONNX__TYPE_PROTO__INIT;
    ty.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE, ty.tensor_type = &tt;
    Onnx__ValueInfoProto in = ONNX__VALUE_INFO_PROTO__INIT, out = ONNX__VALUE_INFO_PROTO__INIT;
    in.name = (char *)"x", in.type = &ty;
    Onnx__TypeProto__Tensor ot = ONNX__TYPE_PROTO__TENSOR__INIT;
    ot.has_elem_type = 1, ot.elem_type = 1;
    Onnx__TypeProto oty = ONNX__TYPE_PROTO__INIT;
    oty.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE, oty.tensor_type = &ot;
    out.name = (char *)(sp->bad_output ? "q" : "z"), out.type = &oty;
    Onnx__ValueInfoProto *ins[1] = {&in}, *outs[1] = {&out};

    Onnx__TensorProto W = ONNX__TENSOR_PROTO__INIT, B = ONNX__TENSOR_PROTO__INIT;
    W.name = (char *)"W", W.n_dims = 2, W.dims = (int64_t *)sp->w_dims, W.has_data_type = 1, W.data_type = sp->w_type;
    W.has_raw_data = 1, W.raw_data.len = sizeof wv, W.raw_data.data = (uint8_t *)wv;
    if (sp->external)
        W.has_data_location = 1, W.data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    static int64_t bd[1] = {3};
    B.name = (char *)"B", B.n_dims = 1, B.dims = bd, B.has_data_type = 1, B.data_type = 1;
    B.n_float_data = sp->b_values, B.float_data = bv;
    Onnx__TensorProto *inits[2] = {&W, &B};

    Onnx__AttributeProto tb = ONNX__ATTRIBUTE_PROTO__INIT, alpha = ONNX__ATTRIBUTE_PROTO__INIT;
    tb.name = (char *)"transB", tb.has_type = 1, tb.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT, tb.has_i = 1, tb.i = 0;
    alpha.name = (char *)"alpha", alpha.has_type = 1, alpha.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    alpha.has_f = 1, alpha.f = sp->alpha;
    Onnx__AttributeProto *gattr[2] = {&tb, &alpha};
    char *gin[3] = {(char *)"x", (char *)"W", (char *)"B"}, *gout[1] = {(char *)"y"}, *rin[1] = {(char *)"y"},
         *rout[1] = {(char *)(sp->dup_output ? "y" : "z")};
    Onnx__NodeProto gemm = ONNX__NODE_PROTO__INIT, relu = ONNX__NODE_PROTO__INIT;
    gemm.name = (char *)"fc", gemm.op_type = (char *)"Gemm", gemm.n_input = 3, gemm.input = gin, gemm.n_output = 1;
    gemm.output = gout, gemm.n_attribute = 2, gemm.attribute = gattr;
    relu.name = (char *)"act", relu.op_type = (char *)"Relu", relu.n_input = 1, relu.input = rin, relu.n_output = 1;
    relu.output = rout;
    Onnx__NodeProto *nodes[2] = {sp->swap_nodes ? &relu : &gemm, sp->swap_nodes ? &gemm : &relu};

    Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
    g.name = (char *)"tiny", g.n_node = 2, g.node = nodes, g.n_initializer = sp->drop_b ? 1 : 2, g.initializer = inits;
    g.n_input = 1, g.input = ins, g.n_output = 1, g.output = outs;
    Onnx__OperatorSetIdProto op = ONNX__OPERATOR_SET_ID_PROTO__INIT;
    op.domain = (char *)"", op.has_version = 1, op.version = sp->opset;
    Onnx__OperatorSetIdProto *ops[1] = {&op};
    Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
    m.has_ir_version = 1, m.ir_version = 8, m.n_opset_import = 1, m.opset_import = ops;
    m.graph = sp->no_graph ? NULL : &g;
    *len = onnx__model_proto__get_packed_size(&m);
    uint8_t *buf = (uint8_t *)malloc(*len ? *len : 1);
    REQUIRE(buf != NULL);
    REQUIRE(onnx__model_proto__pack(&m, buf) == *len);
    return buf;
}

static void good_model(void)
{
    size_t len;
    uint8_t *buf = build(&base, &len);
    char err[512];
    for (int load = 0; load < 2; load++) {
        fss_onnx_graph *g = NULL;
        fss_status s = fss_onnx_parse("tiny.onnx", buf, len, load, &g, err, sizeof err);
        CHECK(s == FSS_OK, "a good model refused: %s", err);
        if (s != FSS_OK)
            continue;
        CHECK(g->opset == 13 && g->ninputs == 1 && g->noutputs == 1 && g->nnodes == 2 && g->ninits == 2,
              "opset %lld, %zu inputs, %zu outputs, %zu nodes, %zu initializers", (long long)g->opset, g->ninputs,
              g->noutputs, g->nnodes, g->ninits);
        const fss_onnx_value *x = &g->inputs[0];
        CHECK(!strcmp(x->name, "x") && x->ndim == 2 && x->dims[0] == -1 && !strcmp(x->param[0], "batch") && x->dims[1] == 4,
              "input %s: rank %d", x->name, x->ndim);
        const fss_onnx_node *n = &g->nodes[0];
        const fss_onnx_attr *tb = fss_onnx_attr_of(n, "transB"), *al = fss_onnx_attr_of(n, "alpha");
        CHECK(!strcmp(n->op, "Gemm") && !strcmp(n->name, "fc") && n->nin == 3 && tb && tb->type == FSS_ONNX_ATTR_INT &&
                  tb->i == 0 && al && al->f == 1.5f && !fss_onnx_attr_of(n, "beta"),
              "node 0: %s %s", n->op, n->name);
        const fss_onnx_tensor *W = fss_onnx_init(g, "W"), *B = fss_onnx_init(g, "B");
        CHECK(W && W->ndim == 2 && W->dims[0] == 4 && W->dims[1] == 3 && W->count == 12 && B && B->count == 3,
              "initializers' shapes");
        if (W && B)
            CHECK(load ? W->f && W->f[2] == 3 && W->f[10] == -11 && B->f && B->f[1] == -1 : !W->f && !B->f,
                  "initializers' values (load %d)", load);
        fss_onnx_free(g);
    }
    free(buf);
}

static void refused(const char *what, const spec *sp, const char *says)
{
    size_t len;
    uint8_t *buf = build(sp, &len);
    char err[512] = "";
    fss_onnx_graph *g = NULL;
    fss_status s = fss_onnx_parse("bad.onnx", buf, len, 1, &g, err, sizeof err);
    CHECK(s == FSS_E_FORMAT && !g && strstr(err, says), "%s: status %d, '%s' (want '%s')", what, (int)s, err, says);
    fss_onnx_free(g);
    free(buf);
}

static void bad_models(void)
{
    spec sp;
    sp = base, sp.w_type = 11;
    refused("a double initializer", &sp, "data type 11");
    sp = base, sp.w_dims[0] = (int64_t)1 << 40, sp.w_dims[1] = (int64_t)1 << 40;
    refused("huge dimensions", &sp, "size out of range");
    sp = base, sp.w_dims[0] = -4;
    refused("a negative dimension", &sp, "size out of range");
    sp = base, sp.b_values = 2;
    refused("too few values", &sp, "'B' holds 2 values; its dimensions say 3");
    sp = base, sp.w_dims[0] = 5;
    refused("raw data of another size", &sp, "'W' holds 12 values; its dimensions say 15");
    sp = base, sp.swap_nodes = 1;
    refused("nodes out of order", &sp, "reads 'y' before any node makes it");
    sp = base, sp.drop_b = 1;
    refused("a missing initializer", &sp, "reads 'B' before any node makes it");
    sp = base, sp.bad_output = 1;
    refused("an output no node makes", &sp, "output 'q' is made by no node");
    sp = base, sp.opset = 3;
    refused("an old opset", &sp, "opset is 3");
    sp = base, sp.dup_output = 1;
    refused("a name made twice", &sp, "makes 'y', which is made already");
    sp = base, sp.external = 1;
    refused("external data", &sp, "external file");
    sp = base, sp.input_type = 7;
    refused("an int64 input", &sp, "input 'x' is not a float32 tensor");
    sp = base, sp.no_graph = 1;
    refused("no graph", &sp, "without a graph");

    size_t len;
    uint8_t *buf = build(&base, &len);
    char err[512];
    for (size_t cut = 1; cut < len; cut += 1 + len / 40) { /* truncated anywhere */
        fss_onnx_graph *g = NULL;
        fss_status s = fss_onnx_parse("cut.onnx", buf, cut, 1, &g, err, sizeof err);
        CHECK(s == FSS_E_FORMAT && !g, "cut at %zu of %zu: status %d", cut, len, (int)s);
        fss_onnx_free(g);
    }
    /* random corruptions: any status, never a crash or a leak */
    uint8_t *m = (uint8_t *)malloc(len);
    REQUIRE(m != NULL);
    size_t accepted = 0;
    for (int t = 0; t < 3000; t++) {
        memcpy(m, buf, len);
        for (int k = 0, nk = 1 + (int)(check_u64(rng) % 4); k < nk; k++)
            m[check_u64(rng) % len] = (uint8_t)check_u64(rng);
        fss_onnx_graph *g = NULL;
        if (fss_onnx_parse("noise.onnx", m, len, 1, &g, err, sizeof err) == FSS_OK)
            accepted++;
        fss_onnx_free(g);
    }
    CHECK(accepted < 3000, "every corruption was accepted");
    printf("random corruptions: %zu of 3000 still parse as a valid graph\n", accepted);
    free(m);
    free(buf);
}

/* The fuzz corpus's model, written by another hand (tests/fuzz/make_seeds.py writes the
 * protobuf wire format itself): the same graph. */
static void other_writer(void)
{
    char err[512];
    fss_onnx_graph *g = NULL;
    fss_status s = fss_onnx_read(FSS_SOURCE_DIR "/tests/fuzz/corpus/onnx/tiny", 1, &g, err, sizeof err);
    CHECK(s == FSS_OK, "the corpus's model refused: %s", err);
    if (s == FSS_OK) {
        const fss_onnx_tensor *W = fss_onnx_init(g, "W");
        CHECK(g->nnodes == 2 && !strcmp(g->nodes[0].op, "Gemm") && !strcmp(g->nodes[1].op, "Relu") && W && W->count == 12 &&
                  W->f[11] == 11 && g->outputs[0].ndim == 2 && g->outputs[0].dims[1] == 3,
              "the corpus's model reads otherwise");
    }
    fss_onnx_free(g);
    s = fss_onnx_read(FSS_SOURCE_DIR "/tests/fuzz/corpus/onnx/no-such-file", 1, &g, err, sizeof err);
    CHECK(s == FSS_E_IO && strstr(err, "cannot open"), "a missing file: %d '%s'", (int)s, err);
}

/* The tiny graph lowered (a Gemm and a Relu), its plan's text read back the same, and plans
 * a key file might carry that parse but do not hold together refused. */
static void plans(void)
{
    size_t len;
    spec one = base;
    one.alpha = 1.0f; /* what this version lowers */
    uint8_t *buf = build(&one, &len);
    char err[512];
    fss_onnx_graph *g = NULL;
    fss_onnx_plan p, q;
    REQUIRE(fss_onnx_parse("tiny.onnx", buf, len, 0, &g, err, sizeof err) == FSS_OK);
    fss_status s = fss_onnx_lower(g, 5, 0, &p, err, sizeof err);
    CHECK(s == FSS_OK, "the tiny graph not lowered: %s", err);
    if (s == FSS_OK) {
        CHECK(p.nsteps == 2 && p.steps[0].op == FSS_ONNX_OP_GEMM && p.steps[0].cin == 4 && p.steps[0].cout == 3 &&
                  p.steps[1].op == FSS_ONNX_OP_RELU && p.output == 2 && p.nweights == 2 && fss_onnx_out_count(&p) == 15,
              "the tiny graph's plan: %zu steps", p.nsteps);
        char *t = fss_onnx_plan_text(&p), *u = NULL;
        REQUIRE(t != NULL);
        CHECK(fss_onnx_plan_parse(t, strlen(t), &q, err, sizeof err) == FSS_OK && (u = fss_onnx_plan_text(&q)) &&
                  !strcmp(t, u),
              "the plan's text does not read back: %s", err);
        free(t), free(u);
        fss_onnx_plan_free(&q);
        fss_onnx_plan_free(&p);
    }
    fss_onnx_free(g);
    free(buf);
    buf = build(&base, &len); /* alpha 1.5: refused with the node named */
    REQUIRE(fss_onnx_parse("tiny.onnx", buf, len, 0, &g, err, sizeof err) == FSS_OK);
    CHECK(fss_onnx_lower(g, 5, 0, &p, err, sizeof err) == FSS_E_FORMAT && strstr(err, "node 'fc' (Gemm)"),
          "a Gemm of alpha 1.5: '%s'", err);
    fss_onnx_free(g);
    free(buf);
    static const char *const bad[] = {
        /* a reshape to fewer elements; an Add of a value that does not exist; a shape that is
         * not its input's; a batch the input does not have */
        "onnx-plan 3\nbatch 1\ninput 2 1 16 0 0\nstep 8 0 -1 2 1 1 0 0 0 0 0 0 0 0 0 -1 -1 0 -1 -1 -1 -1 0x0p+0 0x0p+0 0 0 0 0 0 1:r\noutput 1\n",
        "onnx-plan 3\nbatch 1\ninput 2 1 4 0 0\nstep 3 0 -7 2 1 4 0 0 0 0 0 0 0 0 0 -1 -1 0 -1 -1 -1 -1 0x0p+0 0x0p+0 0 0 0 0 0 1:a\noutput 1\n",
        "onnx-plan 3\nbatch 1\ninput 2 1 16 0 0\nstep 5 0 -1 2 1 1 0 0 0 0 0 0 0 0 0 -1 -1 0 -1 -1 -1 -1 0x0p+0 0x0p+0 0 0 0 0 0 1:r\noutput 1\n",
        "onnx-plan 3\nbatch 2\ninput 2 1 16 0 0\nstep 5 0 -1 2 1 16 0 0 0 0 0 0 0 0 0 -1 -1 0 -1 -1 -1 -1 0x0p+0 0x0p+0 0 0 0 0 0 1:r\noutput 1\n",
        /* a conv of 3 groups over 2 channels; of 2 groups with a weight of one group's size */
        "onnx-plan 3\nbatch 1\ninput 4 1 2 4 4\nweight 18 1:w\n"
        "step 1 0 -1 4 1 2 2 2 2 2 3 1 0 3 1 0 -1 0 -1 -1 -1 -1 0x0p+0 0x0p+0 0 0 0 0 0 1:c\noutput 1\n",
        "onnx-plan 3\nbatch 1\ninput 4 1 2 4 4\nweight 36 1:w\n"
        "step 1 0 -1 4 1 2 2 2 2 2 3 1 0 2 1 0 -1 0 -1 -1 -1 -1 0x0p+0 0x0p+0 0 0 0 0 0 1:c\noutput 1\n",
        /* over a [1, 2, 3] input: a transpose that repeats an axis; a product of two values
         * whose inner sizes differ (3 and 2); a relu that carries a perm; a concat along an
         * axis the values lack; a reshape of 3-d to fewer elements */
        "onnx-plan 3\nbatch 1\ninput 3 1 2 3 0\nstep 22 0 -1 3 1 2 2 0 0 0 0 0 0 0 0 -1 -1 0 -1 -1 -1 -1 0x0p+0 0x0p+0 0 1 1 0 0 1:t\n"
        "output 1\n",
        "onnx-plan 3\nbatch 1\ninput 3 1 2 3 0\nstep 23 0 0 3 1 2 3 0 0 0 0 0 0 0 0 -1 -1 0 -1 -1 -1 -1 0x0p+0 0x0p+0 0 0 0 0 0 1:m\n"
        "output 1\n",
        "onnx-plan 3\nbatch 1\ninput 3 1 2 3 0\nstep 5 0 -1 3 1 2 3 0 0 0 0 0 0 0 0 -1 -1 0 -1 -1 -1 -1 0x0p+0 0x0p+0 0 2 1 0 0 1:r\n"
        "output 1\n",
        "onnx-plan 3\nbatch 1\ninput 3 1 2 3 0\nstep 16 0 0 3 1 2 6 0 0 0 0 0 0 0 0 -1 -1 0 -1 -1 -1 -1 0x0p+0 0x0p+0 0 0 0 0 3 1:c\n"
        "output 1\n",
        "onnx-plan 3\nbatch 1\ninput 3 1 2 3 0\nstep 8 0 -1 3 1 2 2 0 0 0 0 0 0 0 0 -1 -1 0 -1 -1 -1 -1 0x0p+0 0x0p+0 0 0 0 0 0 1:r\n"
        "output 1\n",
        /* over [1, 1, 4, 4]: a max pool marked as an average's uncounted border; an average
         * pool whose uncounted border is 0 wide */
        "onnx-plan 3\nbatch 1\ninput 4 1 1 4 4\nstep 6 0 -1 4 1 1 2 2 0 0 2 2 0 0 0 -1 -1 1 -1 -1 -1 -1 0x0p+0 0x0p+0 0 0 0 0 0 1:p\n"
        "output 1\n",
        "onnx-plan 3\nbatch 1\ninput 4 1 1 4 4\nstep 7 0 -1 4 1 1 2 2 0 0 2 2 0 0 0 -1 -1 1 -1 -1 -1 -1 0x0p+0 0x0p+0 0 0 0 0 0 1:p\n"
        "output 1\n",
    };
    { /* attention's shapes: x [1, 2, 3], its transpose [1, 3, 2], their product [1, 2, 2], a
       * concat of it with itself along the last axis [1, 2, 4], as 2-d [1, 8]: parses */
        static const char ok3[] =
            "onnx-plan 3\nbatch 1\ninput 3 1 2 3 0\n"
            "step 22 0 -1 3 1 3 2 0 0 0 0 0 0 0 0 -1 -1 0 -1 -1 -1 -1 0x0p+0 0x0p+0 0 2 1 0 0 1:t\n"
            "step 23 0 1 3 1 2 2 0 0 0 0 0 0 0 0 -1 -1 0 -1 -1 -1 -1 0x0p+0 0x0p+0 0 0 0 0 0 1:m\n"
            "step 16 2 2 3 1 2 4 0 0 0 0 0 0 0 0 -1 -1 0 -1 -1 -1 -1 0x0p+0 0x0p+0 0 0 0 0 2 1:c\n"
            "step 8 3 -1 2 1 8 0 0 0 0 0 0 0 0 0 -1 -1 0 -1 -1 -1 -1 0x0p+0 0x0p+0 0 0 0 0 0 1:r\noutput 4\n";
        s = fss_onnx_plan_parse(ok3, strlen(ok3), &q, err, sizeof err);
        CHECK(s == FSS_OK, "attention's plan refused: '%s'", err);
        if (s == FSS_OK)
            fss_onnx_plan_free(&q);
    }
    { /* both pools without the mark, and the average's with a border of 1 (3 x 3 windows): parse */
        static const char *const pools[] = {
            "onnx-plan 3\nbatch 1\ninput 4 1 1 4 4\nstep 6 0 -1 4 1 1 2 2 0 0 2 2 0 0 0 -1 -1 0 -1 -1 -1 -1 0x0p+0 0x0p+0 0 0 0 0 0 1:p\n"
            "output 1\n",
            "onnx-plan 3\nbatch 1\ninput 4 1 1 4 4\nstep 7 0 -1 4 1 1 2 2 0 0 3 1 1 0 0 -1 -1 1 -1 -1 -1 -1 0x0p+0 0x0p+0 0 0 0 0 0 1:p\n"
            "output 1\n",
        };
        for (int i = 0; i < 2; i++) {
            s = fss_onnx_plan_parse(pools[i], strlen(pools[i]), &q, err, sizeof err);
            CHECK(s == FSS_OK, "pool plan %d refused: '%s'", i, err);
            if (s == FSS_OK)
                fss_onnx_plan_free(&q);
        }
    }
    { /* the same conv of 2 groups with its weight of cout x cin/2 x k x k: parses */
        static const char ok2[] = "onnx-plan 3\nbatch 1\ninput 4 1 2 4 4\nweight 18 1:w\n"
                                  "step 1 0 -1 4 1 2 2 2 2 2 3 1 0 2 1 0 -1 0 -1 -1 -1 -1 0x0p+0 0x0p+0 0 0 0 0 0 1:c\noutput 1\n";
        s = fss_onnx_plan_parse(ok2, strlen(ok2), &q, err, sizeof err);
        CHECK(s == FSS_OK, "a grouped conv's plan refused: '%s'", err);
        if (s == FSS_OK)
            fss_onnx_plan_free(&q);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = 0;
        s = fss_onnx_plan_parse(bad[i], strlen(bad[i]), &q, err, sizeof err);
        CHECK(s == FSS_E_FORMAT && strstr(err, "inconsistent"), "bad plan %zu: status %d, '%s'", i, (int)s, err);
    }
}

/* Graphs built as structs (what io/onnx.c accepts: it does not check a node's arity), each a
 * node a review found lowering crash on, before Relu(x) -> y: lowering refuses it or takes
 * it, and never reads or writes out of bounds (ASan, UBSan in the test build). */
static fss_status lower_one(fss_onnx_node *nodes, size_t nn, fss_onnx_tensor *inits, size_t ni, int ndim)
{
    static char xn[] = "x", yn[] = "y", relu[] = "Relu", none[] = "";
    static char *rin[1] = {xn}, *rout[1] = {yn};
    fss_onnx_node all[8];
    memcpy(all, nodes, nn * sizeof *nodes);
    all[nn] = (fss_onnx_node){none, relu, 1, 1, 0, rin, rout, NULL};
    fss_onnx_value in = {xn, ndim, {1, 2, 2, 0, 0, 0, 0, 0}, {NULL}}, out = {yn, ndim, {1, 2, 2, 0, 0, 0, 0, 0}, {NULL}};
    fss_onnx_graph g = {8, 17, 1, 1, nn + 1, ni, &in, &out, all, inits};
    fss_onnx_plan p;
    char err[512] = "";
    fss_status s = fss_onnx_lower(&g, 1, 0, &p, err, sizeof err);
    if (s == FSS_OK)
        fss_onnx_plan_free(&p);
    return s;
}

static void hostile_lowering(void)
{
    static char pw[] = "Pow", sl[] = "Slice", mul[] = "Mul", ex[] = "Expand", eq[] = "Equal", add[] = "Add",
                sm[] = "Softmax", none[] = "", xn[] = "x", o1[] = "o", o2[] = "a", vn[] = "v", st[] = "st", en[] = "en",
                ax[] = "ax", sp[] = "sp", big[] = "big", c1[] = "one", bn[] = "b", cn[] = "C";
    static int64_t v8[8] = {1, 2, 3, 4, 5, 6, 7, 8}, i7[1] = {7}, i8[1] = {8}, i0[1] = {0}, imax[1] = {INT64_MAX},
                   i40[1] = {(int64_t)1 << 40};
    static float one[1] = {1}, mask[4] = {0, -INFINITY, 0, 0};
    fss_onnx_tensor t[8] = {
        {vn, FSS_ONNX_INT64, 1, {8}, 8, NULL, v8},     {st, FSS_ONNX_INT64, 1, {1}, 1, NULL, i7},
        {en, FSS_ONNX_INT64, 1, {1}, 1, NULL, i8},     {ax, FSS_ONNX_INT64, 1, {1}, 1, NULL, i0},
        {sp, FSS_ONNX_INT64, 1, {1}, 1, NULL, imax},   {big, FSS_ONNX_INT64, 1, {1}, 1, NULL, i40},
        {c1, FSS_ONNX_FLOAT, 0, {0}, 1, one, NULL},    {cn, FSS_ONNX_FLOAT, 2, {2, 2}, 4, mask, NULL},
    };
    fss_onnx_tensor empty = {bn, FSS_ONNX_BOOL, 1, {0}, 0, NULL, NULL};
    char *pow_in[1] = {xn}, *out1[1] = {o1}, *sl_in[5] = {vn, st, en, ax, sp}, *mul_in[2] = {big, big}, *ex_in[1] = {c1},
         *eq_in[2] = {bn, bn}, *add_in[2] = {xn, cn}, *add_out[1] = {o2}, *sm_in[1] = {o2},
         *no_out[1] = {NULL}; /* as the reader makes a node of no outputs: one NULL */
    fss_onnx_node pow1 = {none, pw, 1, 1, 0, pow_in, out1, NULL}, slice = {none, sl, 5, 1, 0, sl_in, out1, NULL},
                  mulb = {none, mul, 2, 1, 0, mul_in, out1, NULL}, ex1 = {none, ex, 1, 1, 0, ex_in, out1, NULL},
                  eqe = {none, eq, 2, 1, 0, eq_in, out1, NULL}, addm = {none, add, 2, 1, 0, add_in, add_out, NULL},
                  smn = {none, sm, 1, 0, 0, sm_in, no_out, NULL};
    CHECK(lower_one(&pow1, 1, t, 8, 2) == FSS_E_FORMAT, "a Pow of one input: not refused");
    CHECK(lower_one(&slice, 1, t, 8, 2) == FSS_OK, "shape arithmetic's Slice of step 2^63 - 1: refused");
    CHECK(lower_one(&mulb, 1, t, 8, 2) == FSS_E_FORMAT, "2^40 times 2^40 in shape arithmetic: not refused");
    CHECK(lower_one(&ex1, 1, t, 8, 2) == FSS_E_FORMAT, "an Expand of one input: not refused");
    CHECK(lower_one(&eqe, 1, &empty, 1, 2) == FSS_E_FORMAT, "an Equal of empty bools: not refused");
    fss_onnx_node causal[2] = {addm, smn};
    (void)lower_one(causal, 2, t, 8, 3); /* a causal mask's Softmax with no output: no crash */
}

int main(void)
{
    rng = check_init("test_onnx");
    plans();
    good_model();
    other_writer();
    bad_models();
    hostile_lowering();
    fss_rng_free(rng);
    return check_summary();
}
