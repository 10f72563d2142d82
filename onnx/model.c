/* ONNX graphs as plans of gate steps, and their walk (fss/onnx_model.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fss/cnn.h" /* fss_fixed_from_float, fss_cnn_fold_bn */
#include "fss/gates.h"
#include "fss/onnx_model.h"
#include "fss/ring.h"

/* ---- lowering ---------------------------------------------------------------------------- */

typedef struct lower {
    const fss_onnx_graph *g;
    fss_onnx_plan *p;
    size_t nnames, names_cap;
    const char **names; /* value names: names[i] is value ids[i] */
    int *ids;
    const char **step_out; /* the node output each step makes (while lowering) */
    char *err;
    size_t err_len;
    size_t cap; /* steps room: a node lowers to at most max(2, its inputs) steps */
    unsigned char *done; /* nodes an earlier node's pattern took in (the Erf GELU's) */
    struct ints *ints;   /* the integer tensors shape arithmetic computes (a node's output each) */
    size_t nints;
    fss_onnx_tensor *consts; /* the float and bool tensors a mask's arithmetic computes (const_node) */
    size_t nconsts, const_total; /* and their elements in all (at most FSS_ONNX_MAX_MASKS) */
} lower;

/* A small int64 tensor of the graph's shape arithmetic, known when lowering: a scalar or a
 * vector of at most 8 (a Shape's output and what Gather, Slice, Concat, Unsqueeze, Squeeze,
 * Cast, Reshape, Add, Sub, Mul, Div and Mod make of it and of int64 constants). */
#define FSS_ONNX_MAX_INTS 8
typedef struct ints {
    const char *name;
    int scalar; /* 0-d */
    size_t n;
    int64_t v[FSS_ONNX_MAX_INTS];
} ints;

static int value_of(const lower *L, const char *name)
{
    for (size_t i = L->nnames; i-- > 0;)
        if (!strcmp(L->names[i], name))
            return L->ids[i];
    return -1;
}

static void name_value(lower *L, const char *name, int id)
{
    if (L->nnames == L->names_cap) /* room for every output of every node: not reached */
        return;
    L->names[L->nnames] = name;
    L->ids[L->nnames++] = id;
}

static int weight_of(lower *L, const char *name)
{
    for (size_t i = 0; i < L->p->nweights; i++)
        if (!strcmp(L->p->weights[i].name, name))
            return (int)i;
    const fss_onnx_tensor *t = fss_onnx_init(L->g, name);
    if (!t || t->dtype != FSS_ONNX_FLOAT || !t->count || strlen(name) >= sizeof L->p->weights[0].name ||
        L->p->nweights == FSS_ONNX_MAX_WEIGHTS)
        return -1;
    fss_onnx_weight *w = &L->p->weights[L->p->nweights];
    snprintf(w->name, sizeof w->name, "%s", name);
    w->count = t->count;
    return (int)L->p->nweights++;
}

static const fss_onnx_step *step_of(const fss_onnx_plan *p, int v) { return v > 0 ? &p->steps[v - 1] : NULL; }

/* A graph with attention (a product of two values) inputs party 0's weights in parts just
 * before the steps that use them (weight id: the part's first step's number), and drops each
 * part after its steps: a transformer's weights are hundreds of MB, and one input of them all
 * spends its time clearing fresh pages (GPT-2's blocks: 2-3 times the built-in model's).
 * Other graphs input them all at once (weight id 0): one round, the built-in CNNs' keys and
 * rounds. A Mul or Div by a scalar of a product (at 2f) there stays a product, at 3f, and
 * the next step's one shift takes both down (the scores' 1/sqrt(d): a shift less). */
static int attention(const fss_onnx_plan *p)
{
    for (size_t i = 0; i < p->nsteps; i++)
        if (p->steps[i].op == FSS_ONNX_OP_BMM)
            return 1;
    return 0;
}

/* The shape of value v (the input's for 0). */
static void shape_of(const fss_onnx_plan *p, int v, int *ndim, size_t *shape)
{
    const fss_onnx_step *s = step_of(p, v);
    *ndim = s ? s->ndim : p->in_ndim;
    memcpy(shape, s ? s->shape : p->in_shape, 4 * sizeof *shape);
}

static int64_t attr_int(const fss_onnx_node *n, const char *name, int64_t dflt)
{
    const fss_onnx_attr *a = fss_onnx_attr_of(n, name);
    return a && a->type == FSS_ONNX_ATTR_INT ? a->i : dflt;
}

/* A square window's attribute (kernel_shape, strides) as one number: [v, v] or absent. */
static int square(const fss_onnx_node *n, const char *name, int64_t dflt, int64_t *out)
{
    const fss_onnx_attr *a = fss_onnx_attr_of(n, name);
    if (!a) {
        *out = dflt;
        return dflt >= 0;
    }
    if (a->type != FSS_ONNX_ATTR_INTS || a->n != 2 || a->ints[0] != a->ints[1] || a->ints[0] < 0)
        return 0;
    *out = a->ints[0];
    return 1;
}

/* pads [p, p, p, p] or absent (0) */
static int sym_pads(const fss_onnx_node *n, int64_t *pad)
{
    const fss_onnx_attr *a = fss_onnx_attr_of(n, "pads");
    *pad = 0;
    if (!a)
        return 1;
    if (a->type != FSS_ONNX_ATTR_INTS || a->n != 4)
        return 0;
    for (int i = 1; i < 4; i++)
        if (a->ints[i] != a->ints[0])
            return 0;
    *pad = a->ints[0];
    return *pad >= 0;
}

static int unit_dilations(const fss_onnx_node *n)
{
    const fss_onnx_attr *a = fss_onnx_attr_of(n, "dilations");
    for (size_t i = 0; a && i < a->n; i++)
        if (a->type != FSS_ONNX_ATTR_INTS || a->ints[i] != 1)
            return 0;
    const fss_onnx_attr *ap = fss_onnx_attr_of(n, "auto_pad");
    return !ap || (ap->s && (!strcmp(ap->s, "NOTSET") || !*ap->s));
}

static int no_auto_pad(const fss_onnx_node *n)
{
    const fss_onnx_attr *ap = fss_onnx_attr_of(n, "auto_pad");
    return !ap || (ap->s && (!strcmp(ap->s, "NOTSET") || !*ap->s));
}

static int is_alias(const fss_onnx_node *n) { return !strcmp(n->op, "Identity") || !strcmp(n->op, "Dropout"); }

/* How many node inputs (and graph outputs) read name, through the names Identity and
 * Dropout give the same value (an alias's readers count, not the alias). */
/* The node that alone reads name (not an output of the graph; no alias between): its
 * index, or -1. */
static long sole_reader(const fss_onnx_graph *g, const char *name)
{
    long who = -1;
    for (size_t i = 0; i < g->noutputs; i++)
        if (!strcmp(g->outputs[i].name, name))
            return -1;
    for (size_t i = 0; i < g->nnodes; i++)
        for (size_t j = 0; j < g->nodes[i].nin; j++)
            if (!strcmp(g->nodes[i].in[j], name)) {
                if (who >= 0 && who != (long)i)
                    return -1;
                who = (long)i;
            }
    return who;
}

/* The scalar float constant name holds (an initializer of one value), or NAN. */
static double scalar_of(const fss_onnx_graph *g, const char *name)
{
    const fss_onnx_tensor *t = fss_onnx_init(g, name);
    return t && t->count == 1 && t->f ? (double)t->f[0] : NAN;
}

/* The input of node n other than name that is a scalar constant: its value, or NAN. */
static double other_scalar(const fss_onnx_graph *g, const fss_onnx_node *n, const char *name)
{
    if (n->nin != 2 || (strcmp(n->in[0], name) && strcmp(n->in[1], name)))
        return NAN;
    return scalar_of(g, strcmp(n->in[0], name) ? n->in[0] : n->in[1]);
}

/* Node n's two inputs are u and v, in either order. */
static int pair_of(const fss_onnx_node *n, const char *u, const char *v)
{
    return n->nin == 2 && ((!strcmp(n->in[0], u) && !strcmp(n->in[1], v)) || (!strcmp(n->in[1], u) && !strcmp(n->in[0], v)));
}

/* PyTorch's GELU below opset 20, from the Div (or Mul by 1/sqrt 2) at node i:
 * Div(x, sqrt 2), Erf, Add(., 1), then Mul(x, .), Mul(., 0.5) (the TorchScript exporter's
 * order) or Mul(0.5, .), Mul(x, .) (torch.export's), each alone reading the one before; the
 * index of the last node (the four after the Div in took[]), or -1. */
static long erf_gelu(const fss_onnx_graph *g, size_t i, long took[4])
{
    const fss_onnx_node *d = &g->nodes[i];
    const int first = d->nin == 2 && !strcmp(d->op, "Mul") && !isnan(scalar_of(g, d->in[0])); /* Mul(c, x) */
    const char *x = d->nin == 2 ? d->in[first] : "";
    const double c = d->nin == 2 ? scalar_of(g, d->in[1 - first]) : NAN;
    if (!d->nout || !((!strcmp(d->op, "Div") && fabs(c - 1.4142135) < 1e-5) ||
                      (!strcmp(d->op, "Mul") && fabs(c - 0.70710678) < 1e-5)))
        return -1;
    const long e = sole_reader(g, d->out[0]);
    if (e < 0 || strcmp(g->nodes[e].op, "Erf") || !g->nodes[e].nout)
        return -1;
    const long a = sole_reader(g, g->nodes[e].out[0]);
    if (a < 0 || strcmp(g->nodes[a].op, "Add") || other_scalar(g, &g->nodes[a], g->nodes[e].out[0]) != 1.0 ||
        !g->nodes[a].nout)
        return -1;
    const char *A = g->nodes[a].out[0];
    const long m = sole_reader(g, A);
    const fss_onnx_node *mn = m >= 0 ? &g->nodes[m] : NULL;
    if (!mn || strcmp(mn->op, "Mul") || mn->nin != 2 || !mn->nout)
        return -1;
    const int x_first = pair_of(mn, x, A), half_first = other_scalar(g, mn, A) == 0.5; /* x A, then 0.5; or 0.5 A, then x */
    const long h = x_first || half_first ? sole_reader(g, mn->out[0]) : -1;
    const fss_onnx_node *hn = h >= 0 ? &g->nodes[h] : NULL;
    if (!hn || strcmp(hn->op, "Mul") || !hn->nout ||
        !(x_first ? other_scalar(g, hn, mn->out[0]) == 0.5 : pair_of(hn, x, mn->out[0])))
        return -1;
    took[0] = e, took[1] = a, took[2] = m, took[3] = h;
    return h;
}

/* GPT-2's GELU ("gelu_new", the tanh form) as torch.export and TorchScript write it, from
 * its first node at i (Mul(x, 0.5) or Pow(x, 3)): Pow(x, 3), Mul(., 0.044715), Add(x, .),
 * Mul(., sqrt(2 / pi)), Tanh, Add(., 1), then Mul(Mul(x, 0.5), .) or Mul(Mul(x, .), 0.5),
 * each alone reading the one before; the index of the last node (the others but i in
 * took[], *ntook of them), or -1. Computed as the exact GELU (4.7e-4 from the tanh form). */
static long tanh_gelu(const fss_onnx_graph *g, size_t i, long took[8], int *ntook)
{
    const fss_onnx_node *n = &g->nodes[i];
    const char *x = n->nin != 2 ? "" : !strcmp(n->op, "Mul") && scalar_of(g, n->in[0]) == 0.5 ? n->in[1] : n->in[0];
    long pw = -1, half = -1;
    if (!strcmp(n->op, "Pow") && n->nin == 2 && scalar_of(g, n->in[1]) == 3.0)
        pw = (long)i;
    else if (!strcmp(n->op, "Mul") && other_scalar(g, n, x) == 0.5 && n->nout)
        for (size_t j = i + 1; pw < 0 && j < g->nnodes; j++) /* the Pow of x after it */
            if (!strcmp(g->nodes[j].op, "Pow") && g->nodes[j].nin == 2 && !strcmp(g->nodes[j].in[0], x) &&
                scalar_of(g, g->nodes[j].in[1]) == 3.0)
                pw = (long)j, half = (long)i;
    if (pw < 0 || !g->nodes[pw].nout)
        return -1;
    long c[6];
    const char *prev = g->nodes[pw].out[0];
    static const char *const ops[6] = {"Mul", "Add", "Mul", "Tanh", "Add", "Mul"};
    for (int k = 0; k < 6; k++) { /* the chain after the Pow */
        c[k] = sole_reader(g, prev);
        const fss_onnx_node *m = c[k] >= 0 ? &g->nodes[c[k]] : NULL;
        if (!m || strcmp(m->op, ops[k]) || !m->nout)
            return -1;
        const double v = k == 3 || k == 5 ? 0 : k == 1 ? (pair_of(m, x, prev) ? 0 : NAN) : other_scalar(g, m, prev);
        if (k == 0 ? fabs(v - 0.044715) > 1e-6 : k == 2 ? fabs(v - 0.7978845608) > 1e-6 : k == 4 ? v != 1.0 : isnan(v))
            return -1;
        prev = m->out[0];
    }
    const fss_onnx_node *f = &g->nodes[c[5]];
    const char *u = g->nodes[c[4]].out[0];
    long last = c[5];
    if (half < 0) /* entered at the Pow: the Mul(x, 0.5) the last Mul reads, if it is that form */
        for (size_t j = 0; half < 0 && j < g->nnodes; j++)
            if (!strcmp(g->nodes[j].op, "Mul") && g->nodes[j].nout && other_scalar(g, &g->nodes[j], x) == 0.5 &&
                pair_of(f, g->nodes[j].out[0], u))
                half = (long)j;
    if (half >= 0 ? !pair_of(f, g->nodes[half].out[0], u) || sole_reader(g, g->nodes[half].out[0]) != c[5]
                  : !pair_of(f, x, u) || (last = sole_reader(g, f->out[0])) < 0 || strcmp(g->nodes[last].op, "Mul") ||
                        other_scalar(g, &g->nodes[last], f->out[0]) != 0.5 || !g->nodes[last].nout)
        return -1;
    *ntook = 0;
    const long all[9] = {pw, c[0], c[1], c[2], c[3], c[4], c[5], half >= 0 ? half : last, -1};
    for (int k = 0; k < 8; k++)
        if (all[k] != (long)i)
            took[(*ntook)++] = all[k];
    return last;
}

static size_t readers(const fss_onnx_graph *g, const char *name)
{
    size_t k = 0, top = 0, cap = 16;
    const char **stack = (const char **)malloc(cap * sizeof *stack);
    if (!stack)
        return SIZE_MAX;
    stack[top++] = name;
    while (top) {
        const char *nm = stack[--top];
        for (size_t i = 0; i < g->nnodes; i++)
            for (size_t j = 0; j < g->nodes[i].nin; j++) {
                if (strcmp(g->nodes[i].in[j], nm))
                    continue;
                if (!is_alias(&g->nodes[i]) || !g->nodes[i].nout || !*g->nodes[i].out[0]) {
                    k++;
                    continue;
                }
                if (top == cap) {
                    const char **more = (const char **)realloc(stack, 2 * cap * sizeof *stack);
                    if (!more) {
                        free(stack);
                        return SIZE_MAX;
                    }
                    stack = more, cap *= 2;
                }
                stack[top++] = g->nodes[i].out[0];
            }
        for (size_t i = 0; i < g->noutputs; i++)
            k += !strcmp(g->outputs[i].name, nm);
    }
    free(stack);
    return k;
}

/* The element count of a shape (each dimension 1 or more), or 0 past FSS_ONNX_MAX_ELEMENTS. */
static size_t count_of(int ndim, const size_t *shape)
{
    uint64_t c = 1;
    for (int d = 0; d < ndim; d++) {
        if (!shape[d] || shape[d] > FSS_ONNX_MAX_ELEMENTS || c > FSS_ONNX_MAX_ELEMENTS / shape[d])
            return 0;
        c *= shape[d];
    }
    return (size_t)c;
}

/* A conv's or pool's window: at most FSS_ONNX_MAX_WINDOW a side, and the values its gate
 * gathers (the output's count times k^2, times the input's channels for a conv) and a
 * conv's full weight at most FSS_ONNX_MAX_ELEMENTS. */
#define FSS_ONNX_MAX_WINDOW 64
static int window_ok(const fss_onnx_step *st)
{
    if (st->op != FSS_ONNX_OP_CONV && st->op != FSS_ONNX_OP_MAXPOOL && st->op != FSS_ONNX_OP_AVGPOOL)
        return 1;
    if (st->k < 1 || st->k > FSS_ONNX_MAX_WINDOW)
        return 0;
    const size_t per = st->k * st->k * (st->op == FSS_ONNX_OP_CONV ? st->cin : 1), n = count_of(st->ndim, st->shape);
    if (st->op == FSS_ONNX_OP_CONV && (per > FSS_ONNX_MAX_ELEMENTS || st->cout > FSS_ONNX_MAX_ELEMENTS / per))
        return 0; /* the conv's full weight (a grouped one's widened) at most that too */
    return n && per && n / st->shape[1] <= FSS_ONNX_MAX_ELEMENTS / per;
}

/* A bias initializer's dimensions for a value of ndim: [n] (ndim 1: a Conv's or Gemm's own
 * bias); [n] or [1, n] (2-d: along the last axis, as ONNX broadcasts); [n], [1, n] or
 * [1, 1, n] (3-d: along the last axis); [n, 1, 1] or [1, n, 1, 1] (4-d: a channel each; a
 * [n] there would broadcast along the width). */
static int bias_dims(const fss_onnx_tensor *t, int ndim, size_t n)
{
    if (!t || (int64_t)t->count != (int64_t)n)
        return 0;
    if (ndim == 1 || (ndim == 2 && t->ndim == 1)) /* a Conv's or Gemm's own bias; a column's */
        return t->ndim == 1;
    if (ndim == 2)
        return t->ndim == 2 && t->dims[0] == 1;
    if (ndim == 3) /* [n], [1, n] or [1, 1, n]: along the last axis */
        return t->ndim == 1 || (t->ndim == 2 && t->dims[0] == 1) || (t->ndim == 3 && t->dims[0] == 1 && t->dims[1] == 1);
    return (t->ndim == 3 && t->dims[1] == 1 && t->dims[2] == 1) ||
           (t->ndim == 4 && t->dims[0] == 1 && t->dims[2] == 1 && t->dims[3] == 1);
}

#define REFUSE(...) fss_errorf(L->err, L->err_len, FSS_E_FORMAT, __VA_ARGS__)

/* Appends a step node n lowers to; named: the node's output is the step's (a node that
 * lowers to several steps names only its last). */
static fss_status push_step(lower *L, const fss_onnx_node *n, const fss_onnx_step *st, int named)
{
    fss_onnx_plan *p = L->p;
    const char *op = n->op, *nm = *n->name ? n->name : "(unnamed)";
    if (p->nsteps == FSS_ONNX_MAX_STEPS || p->nsteps == L->cap)
        return REFUSE("the graph has more than %zu steps", p->nsteps);
    if (!count_of(st->ndim, st->shape))
        return REFUSE("node '%s' (%s): its output of %zu x %zu x %zu x %zu is empty or over %llu elements", nm, op,
                      st->shape[0], st->shape[1], st->shape[2], st->shape[3], (unsigned long long)FSS_ONNX_MAX_ELEMENTS);
    if (!window_ok(st))
        return REFUSE("node '%s' (%s): its window of %zu x %zu over its input is too large (at most %d a side, and a "
                      "window's values at most %llu in all)", nm, op, st->k, st->k, FSS_ONNX_MAX_WINDOW,
                      (unsigned long long)FSS_ONNX_MAX_ELEMENTS);
    L->step_out[p->nsteps] = named ? n->out[0] : "";
    p->steps[p->nsteps++] = *st;
    if (named)
        name_value(L, n->out[0], (int)p->nsteps);
    return FSS_OK;
}

/* The int64 tensor name holds when lowering (computed, or a constant of at most 8), or 0. */
static int ints_of(const lower *L, const char *name, ints *out)
{
    if (!name)
        return 0;
    for (size_t i = L->nints; i-- > 0;)
        if (!strcmp(L->ints[i].name, name))
            return *out = L->ints[i], 1;
    const fss_onnx_tensor *t = *name ? fss_onnx_init(L->g, name) : NULL;
    if (!t || t->dtype != FSS_ONNX_INT64 || !t->i || t->count > FSS_ONNX_MAX_INTS || t->ndim > 1)
        return 0;
    out->name = name, out->scalar = t->ndim == 0, out->n = t->count;
    memcpy(out->v, t->i, t->count * sizeof *t->i);
    return 1;
}

/* A constant: one a mask's arithmetic computed (const_node), or the graph's (fss_onnx_init). */
static const fss_onnx_tensor *const_of(const lower *L, const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = L->nconsts; i-- > 0;)
        if (!strcmp(L->consts[i].name, name))
            return &L->consts[i];
    return *name ? fss_onnx_init(L->g, name) : NULL;
}

/* Element j of constant t (a float's value, a bool's 0 or 1) broadcast to count elements
 * (t of one element, or of count); NAN without values. */
static double const_at(const fss_onnx_tensor *t, size_t j)
{
    const size_t k = t->count == 1 ? 0 : j;
    return t->f ? (double)t->f[k] : t->i && t->dtype == FSS_ONNX_BOOL ? (double)t->i[k] : NAN;
}

/* The attention mask's arithmetic on constants, as torch.export writes a causal mask:
 * Expand (a scalar to a shape), ConstantOfShape, Trilu, Equal and Where of constants (a
 * scalar or of one shape; without values, as a dealer reads a float constant of more than
 * one, the result's shape only, and causal_mask takes it by its shape), into L->consts (at
 * most FSS_ONNX_MAX_MASK elements: a mask of 1024 x 1024; FSS_ONNX_MAX_MASKS in all).
 * 1: done; 0: not such a node (an input is a value, or another op); -1: such a node this
 * version cannot compute. */
#define FSS_ONNX_MAX_MASK ((size_t)1 << 20)
#define FSS_ONNX_MAX_MASKS ((size_t)1 << 24)
static int const_node(lower *L, const fss_onnx_node *n)
{
    const char *op = n->op;
    const int expand = !strcmp(op, "Expand"), cos = !strcmp(op, "ConstantOfShape"), tri = !strcmp(op, "Trilu"),
              eq = !strcmp(op, "Equal"), wh = !strcmp(op, "Where");
    if (!(expand || cos || tri || eq || wh) || !n->nout || !*n->out[0])
        return 0;
    if (n->nin != (size_t)(expand || eq ? 2 : cos ? 1 : wh ? 3 : n->nin) || (tri && (n->nin < 1 || n->nin > 2)))
        return -1;
    for (size_t i = 0; i < n->nin; i++)
        if (*n->in[i] && value_of(L, n->in[i]) >= 0)
            return 0;
    fss_onnx_tensor r;
    memset(&r, 0, sizeof r);
    r.dtype = eq ? FSS_ONNX_BOOL : FSS_ONNX_FLOAT;
    int known = 1; /* the inputs' values are here (a dealer reads only scalars of float constants) */
    const fss_onnx_tensor *a = n->nin && !cos ? const_of(L, n->in[0]) : NULL;
    const fss_onnx_tensor *b = n->nin > 1 && !expand && !tri ? const_of(L, n->in[1]) : NULL;
    const fss_onnx_tensor *c = n->nin > 2 ? const_of(L, n->in[2]) : NULL;
    const fss_onnx_tensor *shape_of_r = wh ? (a && a->count > 1 ? a : b && b->count > 1 ? b : c) : a;
    const fss_onnx_attr *va = cos ? fss_onnx_attr_of(n, "value") : NULL; /* ConstantOfShape's (else 0) */
    if (expand || cos) { /* the shape from shape arithmetic */
        ints sh = {0};
        if (!ints_of(L, n->in[expand ? 1 : 0], &sh) || sh.scalar || sh.n < 1 || sh.n > 4 ||
            (expand && (!a || a->count != 1 || isnan(const_at(a, 0)))) ||
            (va && (va->type != FSS_ONNX_ATTR_TENSOR || !va->t || va->t->count != 1 || !va->t->f)))
            return -1;
        r.ndim = (int)sh.n, r.count = 1;
        for (size_t d = 0; d < sh.n; d++) {
            if (sh.v[d] < 1 || (size_t)sh.v[d] > FSS_ONNX_MAX_MASK || r.count * (size_t)sh.v[d] > FSS_ONNX_MAX_MASK)
                return -1;
            r.dims[d] = sh.v[d], r.count *= (size_t)sh.v[d];
        }
    } else {
        if (!a || (!eq && !tri && (!b || !c)) || (eq && !b) || !shape_of_r || shape_of_r->count > FSS_ONNX_MAX_MASK ||
            (tri && a->ndim < 2))
            return -1;
        r.ndim = shape_of_r->ndim, r.count = shape_of_r->count;
        memcpy(r.dims, shape_of_r->dims, sizeof r.dims);
        const fss_onnx_tensor *all[3] = {a, b, c};
        for (int k = 0; k < 3; k++) { /* each a scalar or of the result's shape; without values, so is the result */
            if (all[k] && all[k]->count != 1 && (all[k]->count != r.count || all[k]->ndim != r.ndim ||
                                                 memcmp(all[k]->dims, r.dims, sizeof r.dims)))
                return -1;
            if (all[k] && !all[k]->count)
                return -1;
            known = known && (!all[k] || all[k]->f || (all[k]->dtype == FSS_ONNX_BOOL && all[k]->i));
        }
    }
    ints kk = {0}; /* Trilu's diagonal: its second input, or 0 */
    if (tri && n->nin > 1 && *n->in[1] && (!ints_of(L, n->in[1], &kk) || kk.n != 1))
        return -1;
    const int64_t upper = attr_int(n, "upper", 1), diag = kk.n ? kk.v[0] : 0;
    const double fill = expand ? const_at(a, 0) : va ? (double)va->t->f[0] : 0;
    const size_t cols = r.ndim ? (size_t)r.dims[r.ndim - 1] : 1, rows = r.ndim > 1 ? (size_t)r.dims[r.ndim - 2] : 1;
    if (r.count > FSS_ONNX_MAX_MASKS - L->const_total)
        return -1;
    L->const_total += r.count;
    r.name = (char *)n->out[0]; /* the node's (not freed with the values) */
    if (!known) { /* the shape only: a causal mask's values are checked where they are read */
        L->consts[L->nconsts++] = r;
        return 1;
    }
    if (eq)
        r.i = (int64_t *)malloc(r.count * sizeof *r.i);
    else
        r.f = (float *)malloc(r.count * sizeof *r.f);
    if (!r.i && !r.f)
        return -1;
    for (size_t j = 0; j < r.count; j++) {
        double v;
        if (expand || cos)
            v = fill;
        else if (tri) { /* the lower (upper 0) or upper triangle from diagonal diag kept */
            const int64_t rr = (int64_t)(j / cols % rows), cc = (int64_t)(j % cols);
            v = (upper ? cc - rr >= diag : cc - rr <= diag) ? const_at(a, j) : 0;
        } else if (eq)
            v = const_at(a, j) == const_at(b, j);
        else
            v = const_at(a, j) != 0 ? const_at(b, j) : const_at(c, j);
        if (eq)
            r.i[j] = v != 0;
        else
            r.f[j] = (float)v;
    }
    L->consts[L->nconsts++] = r;
    return 1;
}

/* [*lo, *hi) of an axis of len from ONNX's start and end (negative ones count from the end,
 * both clamped to the axis): Shape's and Slice's. */
static void clamp_range(int64_t len, int64_t start, int64_t end, int64_t *lo, int64_t *hi)
{
    start = start < 0 ? start + len : start, end = end < 0 ? end + len : end;
    *lo = start < 0 ? 0 : start > len ? len : start;
    *hi = end < 0 ? 0 : end > len ? len : end;
}

/* Python's floor division and modulo (ONNX Mod with fmod 0); b != 0, no overflow. */
static int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

/* Node n as shape arithmetic: each of its inputs an int64 tensor known when lowering (or,
 * for Shape, a value of the graph); its output joins L->ints. 1: done; 0: not such a node;
 * -1: such a node this version cannot compute (refused by the caller). */
static int int_node(lower *L, const fss_onnx_node *n)
{
    const char *op = n->op;
    ints a = {0}, b = {0}, r = {n->nout ? n->out[0] : NULL, 0, 0, {0}};
    const int have_a = n->nin && ints_of(L, n->in[0], &a), have_b = n->nin > 1 && ints_of(L, n->in[1], &b);
    if (!strcmp(op, "Shape")) {
        const int x = n->nin == 1 ? value_of(L, n->in[0]) : -1;
        if (x < 0)
            return have_a ? -1 : 0;
        int nd = 0;
        size_t sh[4];
        shape_of(L->p, x, &nd, sh);
        int64_t lo, hi;
        clamp_range(nd, attr_int(n, "start", 0), attr_int(n, "end", nd), &lo, &hi);
        for (int64_t d = lo; d < hi; d++)
            r.v[r.n++] = (int64_t)sh[d];
    } else if (!have_a) {
        return 0;
    } else if (!strcmp(op, "Identity") || !strcmp(op, "Cast")) {
        if (!strcmp(op, "Cast") && attr_int(n, "to", 0) != 7)
            return -1;
        r = a, r.name = n->out[0];
    } else if (!strcmp(op, "Gather")) { /* along axis 0 of a vector */
        if (!have_b || a.scalar || (attr_int(n, "axis", 0) != 0 && attr_int(n, "axis", 0) != -1))
            return -1;
        r.scalar = b.scalar, r.n = b.n;
        for (size_t i = 0; i < b.n; i++) {
            const int64_t k = b.v[i] < 0 ? b.v[i] + (int64_t)a.n : b.v[i];
            if (k < 0 || k >= (int64_t)a.n)
                return -1;
            r.v[i] = a.v[k];
        }
    } else if (!strcmp(op, "Unsqueeze") || !strcmp(op, "Squeeze")) { /* a scalar to [1], and back: axes [0] */
        const fss_onnx_attr *aa = fss_onnx_attr_of(n, "axes");
        const int axes0 = have_b ? !b.scalar && b.n == 1 && (b.v[0] == 0 || b.v[0] == -1)
                        : aa ? aa->type == FSS_ONNX_ATTR_INTS && aa->n == 1 && (aa->ints[0] == 0 || aa->ints[0] == -1)
                             : op[0] == 'S'; /* Squeeze without axes: every axis of 1 */
        if ((op[0] == 'U' ? !a.scalar : a.scalar || a.n != 1) || !axes0)
            return -1;
        r = a, r.name = n->out[0], r.scalar = op[0] == 'S';
    } else if (!strcmp(op, "Reshape")) { /* a vector stays one */
        if (!have_b || b.scalar || b.n != 1 || (b.v[0] != -1 && b.v[0] != (int64_t)a.n))
            return -1;
        r = a, r.name = n->out[0], r.scalar = 0;
    } else if (!strcmp(op, "Concat")) {
        for (size_t i = 0; i < n->nin; i++) {
            ints c;
            if (!ints_of(L, n->in[i], &c) || c.scalar || r.n + c.n > FSS_ONNX_MAX_INTS)
                return -1;
            memcpy(r.v + r.n, c.v, c.n * sizeof *c.v);
            r.n += c.n;
        }
    } else if (!strcmp(op, "Slice")) { /* of a vector: starts, ends (axes 0, steps 1 or more) */
        ints st, en, ax = {0}, sp = {0};
        if (a.scalar || n->nin < 3 || !ints_of(L, n->in[1], &st) || !ints_of(L, n->in[2], &en) || st.n != 1 || en.n != 1 ||
            (n->nin > 3 && *n->in[3] && (!ints_of(L, n->in[3], &ax) || ax.n != 1 || (ax.v[0] != 0 && ax.v[0] != -1))) ||
            (n->nin > 4 && *n->in[4] && (!ints_of(L, n->in[4], &sp) || sp.n != 1 || sp.v[0] < 1)))
            return -1;
        const int64_t len = (int64_t)a.n, step = !sp.n ? 1 : sp.v[0] > len ? len + 1 : sp.v[0]; /* no overflow */
        int64_t lo, hi;
        clamp_range(len, st.v[0], en.v[0], &lo, &hi);
        for (int64_t i = lo; i < hi; i += step)
            r.v[r.n++] = a.v[i];
    } else if (!strcmp(op, "Add") || !strcmp(op, "Sub") || !strcmp(op, "Mul") || !strcmp(op, "Div") ||
               !strcmp(op, "Mod")) { /* elementwise, one side broadcast when of one element */
        if (!have_b || (a.n != b.n && a.n != 1 && b.n != 1) || attr_int(n, "fmod", 0))
            return -1;
        r.n = a.n > b.n ? a.n : b.n, r.scalar = a.scalar && b.scalar;
        for (size_t i = 0; i < r.n; i++) {
            const int64_t u = a.v[a.n == 1 ? 0 : i], w = b.v[b.n == 1 ? 0 : i];
            if ((op[0] == 'D' || op[0] == 'M') && op[1] != 'u' && w == 0)
                return -1;
            const int64_t big = (int64_t)1 << (!strcmp(op, "Mul") ? 31 : 40); /* no overflow: shapes are small */
            if (u > big || u < -big || w > big || w < -big)
                return -1;
            r.v[i] = op[0] == 'A' ? u + w : op[0] == 'S' ? u - w : !strcmp(op, "Mul") ? u * w
                   : op[0] == 'D' ? (u / w) : u - floor_div(u, w) * w;
        }
    } else {
        return 0;
    }
    if (!n->nout || !*n->out[0])
        return -1;
    L->ints[L->nints++] = r;
    return 1;
}

/* The one axis of node n: its second input (opset 13 on, for Unsqueeze and ReduceMean) or
 * its 'axes' attribute (before); 0 when there is not exactly one. */
static int one_axis(const lower *L, const fss_onnx_node *n, int64_t *axis)
{
    ints ax = {0};
    if (n->nin > 1 && *n->in[1]) {
        if (!ints_of(L, n->in[1], &ax) || ax.n != 1)
            return 0;
        *axis = ax.v[0];
        return 1;
    }
    const fss_onnx_attr *aa = fss_onnx_attr_of(n, "axes");
    if (!aa || aa->type != FSS_ONNX_ATTR_INTS || aa->n != 1)
        return 0;
    *axis = aa->ints[0];
    return 1;
}

/* Llama's RMSNorm (Hugging Face's, as torch.export writes it) from its Pow at i: Pow(x, 2),
 * ReduceMean over the last axis keeping it, Add(., eps), Sqrt, Reciprocal (or Div(1, .)),
 * Mul(x, .), Mul(gain, .) with gain a float constant; each alone reading the one before. The
 * last node's index (the six after the Pow in took[]), the gain's name and eps; or -1. */
static long rms_norm(const lower *L, size_t i, long took[6], const char **gain, double *eps)
{
    const fss_onnx_graph *g = L->g;
    const fss_onnx_node *pw = &g->nodes[i];
    if (strcmp(pw->op, "Pow") || pw->nin != 2 || scalar_of(g, pw->in[1]) != 2.0 || !pw->nout ||
        value_of(L, pw->in[0]) < 0)
        return -1;
    const char *x = pw->in[0], *prev = pw->out[0];
    int nd = 0;
    size_t sh[4];
    shape_of(L->p, value_of(L, x), &nd, sh);
    static const char *const ops[6] = {"ReduceMean", "Add", "Sqrt", "Reciprocal", "Mul", "Mul"};
    for (int k = 0; k < 6; k++) {
        const long c = sole_reader(g, prev);
        const fss_onnx_node *m = c >= 0 ? &g->nodes[c] : NULL;
        const int div = m && k == 3 && !strcmp(m->op, "Div") && m->nin == 2 && !strcmp(m->in[1], prev) &&
                        scalar_of(g, m->in[0]) == 1.0; /* 1 / sqrt */
        if (!m || !m->nout || (strcmp(m->op, ops[k]) && !div))
            return -1;
        int64_t axis = 0;
        if (k == 0) { /* over the last axis, kept */
            if (!one_axis(L, m, &axis) || (axis != -1 && axis != nd - 1) || !attr_int(m, "keepdims", 1))
                return -1;
        } else if (k == 1 && !((*eps = other_scalar(g, m, prev)) > 0 && *eps < 1)) {
            return -1;
        } else if (k == 4 && !pair_of(m, x, prev)) {
            return -1;
        } else if (k == 5) {
            if (m->nin != 2)
                return -1;
            *gain = strcmp(m->in[0], prev) ? m->in[0] : m->in[1];
            const fss_onnx_tensor *t = fss_onnx_init(g, *gain);
            if (!t || t->dtype != FSS_ONNX_FLOAT || t->count != sh[nd - 1] || t->ndim != 1)
                return -1;
        }
        took[k] = c;
        prev = m->out[0];
    }
    return took[5];
}

/* x sigmoid(x) from the Sigmoid at i (a Mul of x and it alone reads it): the Mul's index,
 * or -1. */
static long silu_of(const lower *L, size_t i)
{
    const fss_onnx_node *sg = &L->g->nodes[i];
    if (strcmp(sg->op, "Sigmoid") || sg->nin != 1 || !sg->nout || value_of(L, sg->in[0]) < 0)
        return -1;
    const long m = sole_reader(L->g, sg->out[0]);
    return m >= 0 && !strcmp(L->g->nodes[m].op, "Mul") && L->g->nodes[m].nout &&
                   pair_of(&L->g->nodes[m], sg->in[0], sg->out[0])
               ? m
               : -1;
}

/* The axes of a value of nd dimensions (shape sh) that constant t spans, as bits (ONNX's
 * broadcast: t's dimensions aligned to the right, each 1 or the value's), or -1. */
static int spans(const fss_onnx_tensor *t, int nd, const size_t *sh)
{
    if (!t || t->dtype != FSS_ONNX_FLOAT || t->ndim > nd)
        return -1;
    int mask = 0;
    size_t count = 1;
    for (int d = 0; d < t->ndim; d++) {
        const int vd = nd - t->ndim + d;
        if (t->dims[d] != 1 && (size_t)t->dims[d] != sh[vd])
            return -1;
        if (t->dims[d] != 1)
            mask |= 1 << vd, count *= sh[vd];
    }
    return count == t->count ? mask : -1;
}

/* A Reshape's target t (0 keeps the input's dimension unless allowzero, -1 is the rest) for
 * an input of nd dimensions sh (up to 5: an Unsqueeze's): out, 2 to 4 dimensions of as many
 * elements; 0 when it is not such a target. */
static int reshape_to(const ints *t, int nd, const size_t *sh, int allowzero, size_t out[4])
{
    const size_t total = count_of(nd > 4 ? 4 : nd, sh) * (nd > 4 ? sh[4] : 1);
    size_t known = 1;
    int infer = -1, ok = !t->scalar && t->n >= 2 && t->n <= 4 && total;
    memset(out, 0, 4 * sizeof *out);
    for (int d = 0; ok && d < (int)t->n; d++) {
        const int64_t v = t->v[d];
        if (v == -1 && infer < 0)
            infer = d;
        else if (v == 0 && !allowzero && d < nd)
            out[d] = sh[d];
        else if (v >= 1 && (uint64_t)v <= FSS_ONNX_MAX_ELEMENTS)
            out[d] = (size_t)v;
        else
            ok = 0;
        if (ok && d != infer && (ok = known <= FSS_ONNX_MAX_ELEMENTS / out[d]))
            known *= out[d];
    }
    if (ok && infer >= 0 && (ok = total % known == 0)) /* the rest */
        out[infer] = total / known, known = total;
    return ok && known == total;
}

/* Grouped-query attention's heads from node i: Unsqueeze(v, a), Expand to g copies along the
 * new axis, then a Reshape (each alone reading the one before): the copies are v with each
 * entry of axis a - 1 repeated g times in a row, and the Reshape any shape of as many
 * elements (to[], nto dimensions). The Reshape's index, a - 1 and g; or -1. */
static long repeat_of(const lower *L, size_t i, int *axis, size_t *times, size_t to[4], int *nto)
{
    const fss_onnx_graph *g = L->g;
    const fss_onnx_node *u = &g->nodes[i];
    const int v = u->nin ? value_of(L, u->in[0]) : -1;
    if (strcmp(u->op, "Unsqueeze") || v < 0 || !u->nout)
        return -1;
    int nd = 0;
    size_t sh[4];
    shape_of(L->p, v, &nd, sh);
    ints es = {0}, rs = {0};
    int64_t a = 0;
    if (!one_axis(L, u, &a))
        return -1;
    a = a < 0 ? a + nd + 1 : a;
    const long e = sole_reader(g, u->out[0]), r = e >= 0 && g->nodes[e].nout ? sole_reader(g, g->nodes[e].out[0]) : -1;
    if (a < 1 || a > nd - 1 || r < 0 || strcmp(g->nodes[e].op, "Expand") || strcmp(g->nodes[r].op, "Reshape") ||
        g->nodes[e].nin != 2 || g->nodes[r].nin != 2 || !g->nodes[r].nout || !ints_of(L, g->nodes[e].in[1], &es) ||
        !ints_of(L, g->nodes[r].in[1], &rs) || es.n != (size_t)nd + 1 || es.v[a] < 1 || es.v[a] > 4096)
        return -1;
    for (int d = 0; d <= nd; d++) /* the expand: v's shape, g at the new axis (or 1s that broadcast) */
        if (d != a && es.v[d] != 1 && es.v[d] != (int64_t)sh[d < a ? d : d - 1])
            return -1;
    size_t five[5]; /* the expanded shape */
    for (int d = 0; d <= nd; d++)
        five[d] = d == a ? (size_t)es.v[a] : sh[d < a ? d : d - 1];
    if (count_of(nd, sh) > FSS_ONNX_MAX_ELEMENTS / (size_t)es.v[a] ||
        !reshape_to(&rs, nd + 1, five, (int)attr_int(&g->nodes[r], "allowzero", 0), to))
        return -1;
    *axis = (int)a - 1, *times = (size_t)es.v[a], *nto = (int)rs.n;
    return r;
}

/* A mask the graph puts on attention's scores before their Softmax, the causal one: node n
 * is Add(x, C), C a float constant of 0 where column <= row and -1e4 or less (-inf) above
 * ([t, t] over x's last two axes, t x t, its leading dimensions 1 or x's); or Where(cond, x, F)
 * or Where(cond, F, x), cond a bool constant of those shapes true where x is kept, F a
 * float scalar of -1e4 or less; and a Softmax over the last axis alone reads its output.
 * The Softmax's node index, x in *x; -1 when n is no such mask. A dealer reads no float
 * constant's values (fss_onnx_read without them): it takes an Add's C of that shape for the
 * causal mask, and party 0 and the clear run, which read C, refuse one of other values (the
 * graph would lower to another plan). */
static long causal_mask(const lower *L, const fss_onnx_node *n, int *x, const char **why)
{
    const fss_onnx_graph *g = L->g;
    const int add = !strcmp(n->op, "Add"), where = !strcmp(n->op, "Where");
    *why = NULL;
    if ((!add && !where) || n->nin != (size_t)(add ? 2 : 3) || !n->nout)
        return -1;
    const int first = add ? 0 : 1, xi = value_of(L, n->in[first]) >= 0 ? first : first + 1; /* x's input */
    const fss_onnx_tensor *c = const_of(L, add ? n->in[1 - xi] : n->in[0]), *ft = where ? const_of(L, n->in[xi == 1 ? 2 : 1]) : NULL;
    const double fill = ft && ft->count == 1 && ft->f ? (double)ft->f[0] : 0;
    *x = value_of(L, n->in[xi]);
    const long sm = sole_reader(g, n->out[0]);
    if (*x < 0 || !c || sm < 0 || strcmp(g->nodes[sm].op, "Softmax") || !g->nodes[sm].nout || !*g->nodes[sm].out[0] ||
        !c->count || (add && c->dtype != FSS_ONNX_FLOAT) ||
        (where && (c->dtype != FSS_ONNX_BOOL || !(fill <= -1e4))))
        return -1;
    int nd = 0;
    size_t sh[4];
    shape_of(L->p, *x, &nd, sh);
    const size_t t = sh[nd - 1];
    size_t lead = 1; /* the mask's leading dimensions: 1, or the scores' (a batch fixed at export) */
    int dims_ok = nd >= 2 && sh[nd - 2] == t && c->ndim >= 2 && c->ndim <= nd;
    for (int d = 0; dims_ok && d < c->ndim; d++) {
        const size_t want = d < c->ndim - 2 ? sh[nd - c->ndim + d] : t;
        dims_ok = c->dims[d] == (int64_t)want || (d < c->ndim - 2 && c->dims[d] == 1);
        lead *= d < c->ndim - 2 ? (size_t)c->dims[d] : 1;
    }
    dims_ok = dims_ok && (size_t)c->count == lead * t * t;
    const int64_t axis = attr_int(&g->nodes[sm], "axis", g->opset < 13 ? 1 : -1);
    if (!dims_ok || (axis != -1 && axis != nd - 1))
        return -1;
    const int keep_true = xi == 1; /* Where(cond, x, F): x where cond */
    for (size_t j = 0; j < c->count && (c->f || c->i); j++) { /* row r, column k of each t x t */
        const size_t r = j / t % t, k = j % t;
        const int kept = c->f ? c->f[j] == 0.0f : (c->i[j] != 0) == keep_true;
        const int masked = c->f ? c->f[j] <= -1e4f : !kept;
        if ((k <= r) != kept || (k > r) != masked) {
            *why = "a mask on the scores other than the causal one";
            return -2;
        }
    }
    return sm;
}

static fss_status lower_node(lower *L, const fss_onnx_node *n)
{
    fss_onnx_plan *p = L->p;
    const char *op = n->op, *nm = *n->name ? n->name : "(unnamed)";
    const size_t index = (size_t)(n - L->g->nodes);
    if (!strcmp(op, "Constant") || (!strcmp(op, "Identity") && n->nout && fss_onnx_init(L->g, n->out[0])))
        return FSS_OK; /* a constant, or another name of one: fss_onnx_init finds it by either name */
    const int shape_math = int_node(L, n), mask_math = shape_math ? 0 : const_node(L, n);
    if (shape_math || mask_math)
        return shape_math > 0 || mask_math > 0 ? FSS_OK
                                               : REFUSE("node '%s' (%s): arithmetic on constants (shapes, an "
                                                        "attention mask) this version cannot follow", nm, op);
    fss_onnx_node sw;
    char *swin[2];
    if ((!strcmp(op, "Add") || !strcmp(op, "Mul")) && n->nin == 2 && value_of(L, n->in[0]) < 0 &&
        value_of(L, n->in[1]) >= 0) { /* the constant first (PyTorch writes Add(bias, x)): the value first */
        sw = *n, swin[0] = n->in[1], swin[1] = n->in[0], sw.in = swin;
        n = &sw;
    }
    const int x = n->nin ? value_of(L, n->in[0]) : -1;
    fss_onnx_step st;
    memset(&st, 0, sizeof st);
    st.a = x, st.b = -1, st.w = st.bias = -1;
    st.bn[0] = st.bn[1] = st.bn[2] = st.bn[3] = -1;
    snprintf(st.name, sizeof st.name, "%s", nm);
    if (!n->nout || !*n->out[0])
        return REFUSE("node '%s' (%s) has no output", nm, op);
    int nd = 0;
    size_t sh[4] = {0, 0, 0, 0};
    if (x >= 0)
        shape_of(p, x, &nd, sh);
    if (!strcmp(op, "Identity") || !strcmp(op, "Dropout")) {
        if (x < 0 || !n->nout)
            return REFUSE("node '%s' (%s): its input is not a value of the graph", nm, op);
        name_value(L, n->out[0], x); /* the same wires */
        return FSS_OK;
    }
    if (!strcmp(op, "BatchNormalization")) { /* folded into the conv that makes its input */
        fss_onnx_step *c = x > 0 ? &p->steps[x - 1] : NULL;
        int idx[4];
        for (int i = 0; i < 4; i++)
            idx[i] = n->nin > (size_t)i + 1 ? weight_of(L, n->in[i + 1]) : -1;
        if (!c || c->op != FSS_ONNX_OP_CONV || c->bn[0] >= 0 || readers(L->g, L->step_out[x - 1]) != 1 ||
            strcmp(n->in[0], L->step_out[x - 1]) || idx[0] < 0 || idx[1] < 0 || idx[2] < 0 || idx[3] < 0)
            return REFUSE("node '%s' (BatchNormalization): only right after a Conv whose output it alone reads, with "
                          "its four parameters as initializers", nm);
        for (int i = 0; i < 4; i++) {
            if (p->weights[idx[i]].count != c->cout)
                return REFUSE("node '%s' (BatchNormalization): parameter %d has %zu values for %zu channels", nm, i + 1,
                              p->weights[idx[i]].count, c->cout);
            c->bn[i] = idx[i];
        }
        const fss_onnx_attr *e = fss_onnx_attr_of(n, "epsilon");
        c->eps = e && e->type == FSS_ONNX_ATTR_FLOAT ? e->f : 1e-5f;
        name_value(L, n->out[0], x);
        return FSS_OK;
    }
    const char *why = NULL;
    int mx = -1;
    const long causal = causal_mask(L, n, &mx, &why);
    if (causal == -2)
        return REFUSE("node '%s' (%s): %s (the causal mask only)", nm, op, why);
    if (causal >= 0) { /* the mask and its Softmax: one causal softmax step, named by the Softmax */
        shape_of(p, mx, &nd, sh);
        st.op = FSS_ONNX_OP_SOFTMAX, st.a = mx, st.trans_b = 1, st.ndim = nd;
        memcpy(st.shape, sh, sizeof sh);
        snprintf(st.name, sizeof st.name, "%s", *L->g->nodes[causal].name ? L->g->nodes[causal].name : nm);
        L->done[causal] = 1;
        return push_step(L, &L->g->nodes[causal], &st, 1);
    }
    if (x < 0)
        return REFUSE("node '%s' (%s): its first input '%s' is not a value the graph computes (an initializer "
                      "there is not supported)", nm, op, n->nin ? n->in[0] : "");
    if (!strcmp(op, "IsNaN") && n->nin == 1) { /* a softmax's NaN guard (x a value: above): none here */
        const long w = sole_reader(L->g, n->out[0]);
        const fss_onnx_node *wn = w >= 0 ? &L->g->nodes[w] : NULL;
        if (!wn || strcmp(wn->op, "Where") || wn->nin != 3 || !wn->nout || strcmp(wn->in[0], n->out[0]) ||
            strcmp(wn->in[2], n->in[0]) || isnan(scalar_of(L->g, wn->in[1])))
            return REFUSE("node '%s' (IsNaN): only as Where(IsNaN(x), c, x) (a guard: fixed point has no NaN)", nm);
        L->done[w] = 1;
        name_value(L, wn->out[0], x); /* the same wires */
        return FSS_OK;
    }
    int rep_axis = 0, nto = 0;
    size_t rep = 0, to[4];
    const long rep_end = repeat_of(L, index, &rep_axis, &rep, to, &nto);
    if (rep_end >= 0) { /* Unsqueeze, Expand, Reshape: a repeat, and a reshape where its shape is another */
        st.op = FSS_ONNX_OP_REPEAT, st.a = x, st.axis = rep_axis, st.k = rep, st.ndim = nd;
        memcpy(st.shape, sh, sizeof sh);
        st.shape[rep_axis] *= rep;
        L->done[sole_reader(L->g, n->out[0])] = 1, L->done[rep_end] = 1;
        const fss_onnx_node *rn = &L->g->nodes[rep_end];
        if (nto == nd && !memcmp(to, st.shape, sizeof to))
            return push_step(L, rn, &st, 1);
        fss_status ps = push_step(L, rn, &st, 0);
        if (ps != FSS_OK)
            return ps;
        fss_onnx_step rs = st;
        rs.op = FSS_ONNX_OP_RESHAPE, rs.a = (int)p->nsteps, rs.axis = 0, rs.k = 0, rs.ndim = nto;
        memcpy(rs.shape, to, sizeof to);
        return push_step(L, rn, &rs, 1);
    }
    if (!strcmp(op, "Split") || !strcmp(op, "Slice")) { /* wires cut along one axis */
        const int split = op[1] == 'p';
        int64_t axis = split ? attr_int(n, "axis", 0) : 0, start = 0;
        int64_t sizes[64];
        size_t parts = split ? n->nout : 1;
        ints v = {0}, e = {0}, ax = {0}, stp = {0};
        int ok = parts >= 1 && parts <= 64;
        if (split) { /* sizes: the 'split' input (opset 13 on) or attribute, or equal parts */
            const fss_onnx_attr *sa = fss_onnx_attr_of(n, "split");
            const int have = n->nin > 1 && *n->in[1] ? ints_of(L, n->in[1], &v) && !v.scalar
                           : sa && sa->type == FSS_ONNX_ATTR_INTS && sa->n <= FSS_ONNX_MAX_INTS;
            if (sa && !(n->nin > 1 && *n->in[1]) && have)
                v.n = sa->n, memcpy(v.v, sa->ints, sa->n * sizeof *sa->ints);
            axis = axis < 0 ? axis + nd : axis;
            ok = ok && axis >= 0 && axis < nd && (!have || v.n == parts) && (have || (n->nin < 2 || !*n->in[1]));
            const int64_t len = ok ? (int64_t)sh[axis] : 0, each = (len + (int64_t)parts - 1) / (int64_t)parts;
            for (size_t j = 0; ok && j < parts; j++) /* ONNX 18: equal parts, the last smaller */
                sizes[j] = have ? v.v[j] : (j + 1 < parts ? each : len - each * (int64_t)(parts - 1));
        } else { /* Slice(x, starts, ends[, axes[, steps]]) of one axis, step 1 */
            ok = n->nin >= 3 && ints_of(L, n->in[1], &v) && ints_of(L, n->in[2], &e) && v.n == 1 && e.n == 1 &&
                 (n->nin < 4 || !*n->in[3] || (ints_of(L, n->in[3], &ax) && ax.n == 1)) &&
                 (n->nin < 5 || !*n->in[4] || (ints_of(L, n->in[4], &stp) && stp.n == 1 && stp.v[0] == 1));
            axis = ok && ax.n ? ax.v[0] : 0;
            axis = axis < 0 ? axis + nd : axis;
            ok = ok && axis >= 0 && axis < nd;
            if (ok) {
                int64_t lo, hi;
                clamp_range((int64_t)sh[axis], v.v[0], e.v[0], &lo, &hi);
                start = lo, sizes[0] = hi - lo;
            }
        }
        for (size_t j = 0, at = (size_t)start; ok && j < parts; at += (size_t)sizes[j], j++) {
            ok = sizes[j] >= 1 && at + (size_t)sizes[j] <= sh[axis] && j < n->nout && *n->out[j];
            if (!ok)
                break;
            st.op = FSS_ONNX_OP_SLICE, st.axis = (int)axis, st.cin = at, st.ndim = nd;
            memcpy(st.shape, sh, sizeof sh);
            st.shape[axis] = (size_t)sizes[j];
            fss_status ps = push_step(L, n, &st, 0);
            if (ps != FSS_OK)
                return ps;
            L->step_out[p->nsteps - 1] = n->out[j];
            name_value(L, n->out[j], (int)p->nsteps);
        }
        if (!ok || (split && p->nsteps && p->steps[p->nsteps - 1].cin + p->steps[p->nsteps - 1].shape[axis] != sh[axis]))
            return REFUSE("node '%s' (%s): this version cuts one axis into parts from constants (sizes of at least "
                          "1 that make up the axis; Slice: one axis, step 1)", nm, op);
        return FSS_OK;
    }
    long rtook[6];
    const char *gain = NULL;
    double reps = 0;
    const long rms_end = rms_norm(L, index, rtook, &gain, &reps), silu_end = silu_of(L, index);
    if (rms_end >= 0 || silu_end >= 0) { /* one step named by the pattern's last node */
        st.op = rms_end >= 0 ? FSS_ONNX_OP_RMSNORM : FSS_ONNX_OP_SILU, st.ndim = nd, st.eps = (float)reps;
        memcpy(st.shape, sh, sizeof sh);
        if (rms_end >= 0 && ((st.w = weight_of(L, gain)) < 0 || sh[nd - 1] > 8192))
            return REFUSE("node '%s' (%s): an RMSNorm over at most 8192 features with a float gain", nm, op);
        for (int j = 0; rms_end >= 0 && j < 6; j++)
            L->done[rtook[j]] = 1;
        if (silu_end >= 0)
            L->done[silu_end] = 1;
        return push_step(L, &L->g->nodes[rms_end >= 0 ? rms_end : silu_end], &st, 1);
    }
    long took[8] = {-1, -1, -1, -1, -1, -1, -1, -1};
    int ntook = 4;
    long gelu_end = erf_gelu(L->g, index, took);
    if (gelu_end < 0)
        gelu_end = tanh_gelu(L->g, index, took, &ntook);
    if (gelu_end >= 0 || !strcmp(op, "Gelu")) { /* opset 20's, or PyTorch's Erf pattern before it */
        const fss_onnx_attr *ap = fss_onnx_attr_of(n, "approximate");
        if (ap && ap->s && strcmp(ap->s, "none") && strcmp(ap->s, "tanh"))
            return REFUSE("node '%s' (Gelu): approximate '%s' (none or tanh)", nm, ap->s);
        st.op = FSS_ONNX_OP_GELU, st.ndim = nd;
        memcpy(st.shape, sh, sizeof sh);
        if (gelu_end >= 0) { /* the nodes taken in; the last one's output is the step's */
            for (int j = 0; j < ntook; j++) /* only the pattern's: a node between them in order still runs */
                L->done[took[j]] = 1;
            const fss_onnx_node *last = &L->g->nodes[gelu_end];
            fss_status ps = push_step(L, last, &st, 1);
            return ps;
        }
    } else if (!strcmp(op, "LayerNormalization")) {
        const int64_t axis = attr_int(n, "axis", -1);
        const fss_onnx_attr *e = fss_onnx_attr_of(n, "epsilon");
        st.w = n->nin > 1 ? weight_of(L, n->in[1]) : -1;
        st.bias = n->nin > 2 && *n->in[2] ? weight_of(L, n->in[2]) : -1;
        if (nd < 2 || nd > 3 || (axis != -1 && axis != nd - 1) || sh[nd - 1] > 4096 || st.w < 0 ||
            !bias_dims(fss_onnx_init(L->g, n->in[1]), 1, sh[nd - 1]) || (n->nin > 2 && *n->in[2] &&
            (st.bias < 0 || !bias_dims(fss_onnx_init(L->g, n->in[2]), 1, sh[nd - 1]))) ||
            (n->nout > 1 && *n->out[1]) || (n->nout > 2 && *n->out[2]))
            return REFUSE("node '%s' (LayerNormalization): over the last axis (at most 4096) of a [batch, features] "
                          "or [batch, seq, features] value, its scale and bias float initializers of one value a "
                          "feature", nm);
        st.op = FSS_ONNX_OP_LAYERNORM, st.ndim = nd, st.eps = e && e->type == FSS_ONNX_ATTR_FLOAT ? e->f : 1e-5f;
        if (!(st.eps > 0 && st.eps < 1))
            return REFUSE("node '%s' (LayerNormalization): an epsilon in (0, 1)", nm);
        memcpy(st.shape, sh, sizeof sh);
    } else if (!strcmp(op, "Conv")) {
        const fss_onnx_tensor *W = n->nin > 1 ? fss_onnx_init(L->g, n->in[1]) : NULL;
        int64_t k = 0, s = 1, pad = 0, d = 1;
        const int64_t g = attr_int(n, "group", 1);
        const int dok = square(n, "dilations", 1, &d) && d >= 1 && d <= 16 && no_auto_pad(n);
        const int64_t K = dok && W && W->ndim == 4 ? d * (W->dims[2] - 1) + 1 : 0; /* the widened kernel */
        if (!W || W->ndim != 4 || W->dims[2] != W->dims[3] || nd != 4 || g < 1 || sh[1] % (uint64_t)g ||
            W->dims[0] % g || (size_t)W->dims[1] != sh[1] / (uint64_t)g || !square(n, "kernel_shape", W->dims[2], &k) ||
            k != W->dims[2] || !square(n, "strides", 1, &s) || s < 1 || !sym_pads(n, &pad) || !dok ||
            k < 1 || pad >= K || W->dims[0] < 1 || sh[2] + 2 * (size_t)pad < (size_t)K ||
            sh[3] + 2 * (size_t)pad < (size_t)K)
            return REFUSE("node '%s' (Conv): this version takes a square kernel from a float initializer over the "
                          "input's channels (or their groups), equal strides and dilations (at most 16), symmetric "
                          "pads under the kernel", nm);
        st.op = FSS_ONNX_OP_CONV, st.groups = (size_t)g, st.dil = (size_t)d;
        st.cin = sh[1], st.cout = (size_t)W->dims[0], st.k = (size_t)K, st.stride = (size_t)s, st.pad = (size_t)pad;
        st.w = weight_of(L, n->in[1]);
        st.bias = n->nin > 2 && *n->in[2] ? weight_of(L, n->in[2]) : -1;
        if (st.w < 0 || (n->nin > 2 && *n->in[2] && (st.bias < 0 || !bias_dims(fss_onnx_init(L->g, n->in[2]), 1, st.cout))))
            return REFUSE("node '%s' (Conv): its weight and bias must be float initializers (bias: [channels])", nm);
        st.ndim = 4;
        st.shape[0] = sh[0], st.shape[1] = st.cout;
        st.shape[2] = (sh[2] + 2 * st.pad - st.k) / st.stride + 1;
        st.shape[3] = (sh[3] + 2 * st.pad - st.k) / st.stride + 1;
    } else if (!strcmp(op, "Gemm") || !strcmp(op, "MatMul")) {
        const int gemm = !strcmp(op, "Gemm");
        const fss_onnx_tensor *W = n->nin > 1 ? fss_onnx_init(L->g, n->in[1]) : NULL;
        const fss_onnx_attr *al = fss_onnx_attr_of(n, "alpha"), *be = fss_onnx_attr_of(n, "beta");
        st.trans_b = gemm && attr_int(n, "transB", 0);
        if (!gemm && !W && n->nin == 2 && value_of(L, n->in[1]) >= 0) { /* of two values: a product per leading index */
            const int y = value_of(L, n->in[1]);
            int nd2 = 0;
            size_t sh2[4] = {0, 0, 0, 0};
            shape_of(p, y, &nd2, sh2);
            if (nd < 3 || nd2 != nd || memcmp(sh, sh2, (size_t)(nd - 2) * sizeof *sh) || sh[nd - 1] != sh2[nd - 2])
                return REFUSE("node '%s' (MatMul): of two values, [.., m, k] and [.., k, n] with the same leading "
                              "dimensions (no broadcasting)", nm);
            st.op = FSS_ONNX_OP_BMM, st.b = y, st.ndim = nd;
            memcpy(st.shape, sh, sizeof sh);
            st.shape[nd - 1] = sh2[nd - 1];
            return push_step(L, n, &st, 1);
        }
        if (!W || W->ndim != 2 || nd < 2 || (gemm && nd != 2) || (gemm && attr_int(n, "transA", 0)) ||
            (al && al->f != 1.0f) || (be && be->f != 1.0f) || (size_t)W->dims[st.trans_b ? 1 : 0] != sh[nd - 1] ||
            W->dims[st.trans_b ? 0 : 1] < 1)
            return REFUSE("node '%s' (%s): this version takes a [batch, in] value (MatMul: [batch, .., in]) times a "
                          "2-d float initializer (alpha = beta = 1, transA 0)", nm, op);
        st.op = FSS_ONNX_OP_GEMM;
        st.cin = sh[nd - 1], st.cout = (size_t)W->dims[st.trans_b ? 0 : 1];
        st.w = weight_of(L, n->in[1]);
        st.bias = gemm && n->nin > 2 && *n->in[2] ? weight_of(L, n->in[2]) : -1;
        if (st.w < 0 || (gemm && n->nin > 2 && *n->in[2] && (st.bias < 0 || !bias_dims(fss_onnx_init(L->g, n->in[2]), 2, st.cout))))
            return REFUSE("node '%s' (%s): its weight and bias must be float initializers (bias: one an output)", nm,
                          op);
        st.ndim = nd;
        memcpy(st.shape, sh, sizeof sh);
        st.shape[nd - 1] = st.cout;
    } else if (!strcmp(op, "Sigmoid") || !strcmp(op, "Tanh")) {
        st.op = op[0] == 'S' ? FSS_ONNX_OP_SIGMOID : FSS_ONNX_OP_TANH, st.ndim = nd;
        memcpy(st.shape, sh, sizeof sh);
    } else if (!strcmp(op, "Softmax")) { /* before opset 13 the default axis is 1, and a row is all axes from it on */
        const int64_t axis = attr_int(n, "axis", L->g->opset < 13 ? 1 : -1);
        if (nd < 2 || (axis != -1 && axis != nd - 1) || sh[nd - 1] > 65536)
            return REFUSE("node '%s' (Softmax): over the last axis (at most 65536) of a value", nm);
        st.op = FSS_ONNX_OP_SOFTMAX, st.ndim = nd;
        memcpy(st.shape, sh, sizeof sh);
    } else if (!strcmp(op, "Clip")) { /* min and max: inputs (opset 11 on) or attributes (before) */
        const fss_onnx_tensor *lo = n->nin > 1 && *n->in[1] ? fss_onnx_init(L->g, n->in[1]) : NULL,
                              *hi = n->nin > 2 && *n->in[2] ? fss_onnx_init(L->g, n->in[2]) : NULL;
        const fss_onnx_attr *alo = fss_onnx_attr_of(n, "min"), *ahi = fss_onnx_attr_of(n, "max");
        const int have_lo = (lo && lo->count == 1 && lo->f) || (alo && alo->type == FSS_ONNX_ATTR_FLOAT);
        const int have_hi = (hi && hi->count == 1 && hi->f) || (ahi && ahi->type == FSS_ONNX_ATTR_FLOAT);
        const float vlo = lo && lo->f ? lo->f[0] : alo ? alo->f : 0, vhi = hi && hi->f ? hi->f[0] : ahi ? ahi->f : 0;
        if (!have_lo || !have_hi || vlo != 0.0f || !(vhi > 0.0f) || vhi > 65536.0f)
            return REFUSE("node '%s' (Clip): this version clips to [0, max] with both as constants (ReLU6's)", nm);
        st.op = FSS_ONNX_OP_CLIP, st.eps = vhi, st.ndim = nd;
        memcpy(st.shape, sh, sizeof sh);
    } else if (!strcmp(op, "Mul") && n->nin == 2 && value_of(L, n->in[1]) >= 0) { /* of two values */
        int y = value_of(L, n->in[1]), nd2 = 0;
        size_t sh2[4] = {0, 0, 0, 0};
        shape_of(p, y, &nd2, sh2);
        if (nd2 == nd && nd == 4 && sh[2] * sh[3] == 1 && sh2[2] * sh2[3] > 1) { /* the small one second */
            const int t = x;
            st.a = y, y = t;
            memcpy(sh, sh2, sizeof sh);
            shape_of(p, y, &nd2, sh2);
        }
        if (nd2 != nd || sh2[0] != sh[0] || sh2[1] != sh[1] ||
            (memcmp(sh, sh2, sizeof sh) && !(nd == 4 && sh2[2] == 1 && sh2[3] == 1)))
            return REFUSE("node '%s' (Mul): of two values of one shape, or of a [batch, c, h, w] and a [batch, c, 1, "
                          "1] (a gate per channel)", nm);
        st.op = FSS_ONNX_OP_MUL, st.b = y, st.ndim = nd;
        memcpy(st.shape, sh, sizeof sh);
    } else if (!strcmp(op, "ReduceMean")) { /* over h and w: a global average pool */
        const fss_onnx_attr *ax = fss_onnx_attr_of(n, "axes");
        const fss_onnx_tensor *at = n->nin > 1 && *n->in[1] ? fss_onnx_init(L->g, n->in[1]) : NULL;
        const int64_t *axes = ax && ax->type == FSS_ONNX_ATTR_INTS ? ax->ints : at && at->i ? at->i : NULL;
        const size_t na = ax && ax->type == FSS_ONNX_ATTR_INTS ? ax->n : at && at->i ? at->count : 0;
        const int keep = (int)attr_int(n, "keepdims", 1);
        if (nd != 4 || na != 2 || !axes || !(((axes[0] == 2 || axes[0] == -2) && (axes[1] == 3 || axes[1] == -1)) ||
                                              ((axes[1] == 2 || axes[1] == -2) && (axes[0] == 3 || axes[0] == -1))) ||
            sh[2] != sh[3])
            return REFUSE("node '%s' (ReduceMean): over the two spatial axes of a square [batch, c, h, w] value", nm);
        st.op = FSS_ONNX_OP_AVGPOOL, st.k = st.stride = sh[2], st.ndim = 4;
        st.shape[0] = sh[0], st.shape[1] = sh[1], st.shape[2] = st.shape[3] = 1;
        if (!keep) { /* then [batch, c] */
            fss_status ps = push_step(L, n, &st, 0);
            if (ps != FSS_OK)
                return ps;
            st.k = st.stride = st.pad = 0;
            st.op = FSS_ONNX_OP_RESHAPE, st.a = (int)p->nsteps, st.ndim = 2;
            st.shape[2] = st.shape[3] = 0;
        }
    } else if (!strcmp(op, "Neg")) { /* times -1: local, at x's scale */
        st.op = FSS_ONNX_OP_SCALE, st.eps = -1.0f, st.ndim = nd;
        memcpy(st.shape, sh, sizeof sh);
    } else if (!strcmp(op, "Mul") && n->nin == 2 && fss_onnx_init(L->g, n->in[1]) &&
               fss_onnx_init(L->g, n->in[1])->count > 1) { /* a constant tensor broadcast: party 0's input */
        const int mask = spans(fss_onnx_init(L->g, n->in[1]), nd, sh);
        if (mask < 0 || (st.w = weight_of(L, n->in[1])) < 0)
            return REFUSE("node '%s' (Mul): by a float constant that broadcasts to the value (ONNX's rules)", nm);
        st.op = FSS_ONNX_OP_WMUL, st.groups = (size_t)mask, st.ndim = nd;
        memcpy(st.shape, sh, sizeof sh);
    } else if ((!strcmp(op, "Mul") || !strcmp(op, "Div")) && n->nin == 2 && fss_onnx_init(L->g, n->in[1])) {
        const fss_onnx_tensor *c = fss_onnx_init(L->g, n->in[1]);
        const double v = c->count == 1 && c->f ? (double)c->f[0] : 0;
        const double k = op[0] == 'M' ? v : v != 0 ? 1 / v : 0;
        if (c->count != 1 || !c->f || !(fabs(k) > 1e-9 && fabs(k) < 65536))
            return REFUSE("node '%s' (%s): by a scalar float constant (a factor between 1e-9 and 65536)", nm, op);
        st.op = FSS_ONNX_OP_SCALE, st.eps = (float)k, st.ndim = nd;
        memcpy(st.shape, sh, sizeof sh);
    } else if (!strcmp(op, "HardSigmoid") || !strcmp(op, "HardSwish")) { /* HardSwish: x HardSigmoid(x), 1/6, 1/2 */
        const fss_onnx_attr *al = fss_onnx_attr_of(n, "alpha"), *be = fss_onnx_attr_of(n, "beta");
        const int swish = !strcmp(op, "HardSwish");
        st.op = FSS_ONNX_OP_HARDSIGMOID, st.trans_b = swish, st.ndim = nd;
        st.eps = swish ? 1.0f / 6 : al && al->type == FSS_ONNX_ATTR_FLOAT ? al->f : 0.2f;
        st.eps2 = swish ? 0.5f : be && be->type == FSS_ONNX_ATTR_FLOAT ? be->f : 0.5f;
        if (!(st.eps > 1.0f / 65536 && st.eps < 65536) || !(fabsf(st.eps2) < 65536))
            return REFUSE("node '%s' (%s): an alpha in (2^-16, 65536) and a beta under 65536", nm, op);
        memcpy(st.shape, sh, sizeof sh);
    } else if (!strcmp(op, "LeakyRelu")) {
        const fss_onnx_attr *al = fss_onnx_attr_of(n, "alpha");
        st.op = FSS_ONNX_OP_LEAKY, st.eps = al && al->type == FSS_ONNX_ATTR_FLOAT ? al->f : 0.01f, st.ndim = nd;
        if (!(st.eps >= 0 && st.eps < 1))
            return REFUSE("node '%s' (LeakyRelu): a slope in [0, 1)", nm);
        memcpy(st.shape, sh, sizeof sh);
    } else if (!strcmp(op, "Concat")) { /* of k values: k - 1 steps, each of two (wires copied) */
        const int64_t ax = attr_int(n, "axis", 1), axis = ax < 0 ? ax + nd : ax;
        int acc = x;
        if (n->nin < 2 || axis < 0 || axis >= nd)
            return REFUSE("node '%s' (Concat): of two or more values along one of their axes", nm);
        st.op = FSS_ONNX_OP_CONCAT, st.ndim = nd, st.axis = (int)axis;
        memcpy(st.shape, sh, sizeof sh);
        for (size_t i = 1; i < n->nin; i++) {
            const int y = value_of(L, n->in[i]);
            int nd2 = 0;
            size_t sh2[4] = {0, 0, 0, 0};
            if (y >= 0)
                shape_of(p, y, &nd2, sh2);
            sh2[axis] = st.shape[axis];
            if (y < 0 || nd2 != nd || memcmp(sh2, st.shape, sizeof sh2))
                return REFUSE("node '%s' (Concat): its values must be of the graph and of the same shape but along "
                              "axis %d (input %zu: '%s')", nm, (int)axis, i, n->in[i]);
            shape_of(p, y, &nd2, sh2);
            st.a = acc, st.b = y, st.shape[axis] += sh2[axis];
            if (i + 1 < n->nin) { /* a step between */
                fss_status s = push_step(L, n, &st, 0);
                if (s != FSS_OK)
                    return s;
                acc = (int)p->nsteps;
            }
        }
    } else if (!strcmp(op, "Pad")) { /* pads [0, 0, t, l, 0, 0, b, r] from an int64 initializer (opset 11 on) */
        const fss_onnx_tensor *pt = n->nin > 1 ? fss_onnx_init(L->g, n->in[1]) : NULL;
        const fss_onnx_attr *mode = fss_onnx_attr_of(n, "mode");
        const fss_onnx_tensor *cv = n->nin > 2 && *n->in[2] ? fss_onnx_init(L->g, n->in[2]) : NULL;
        if (nd != 4 || !pt || pt->dtype != FSS_ONNX_INT64 || pt->count != 8 || !pt->i || pt->i[0] || pt->i[1] || pt->i[4] ||
            pt->i[5] || pt->i[2] != pt->i[3] || pt->i[2] != pt->i[6] || pt->i[2] != pt->i[7] || pt->i[2] < 0 ||
            pt->i[2] > 64 || (mode && mode->s && strcmp(mode->s, "constant")) || (cv && (!cv->f || cv->f[0] != 0)))
            return REFUSE("node '%s' (Pad): zeros, the same on each side of h and w (at most 64)", nm);
        st.op = FSS_ONNX_OP_PAD, st.pad = (size_t)pt->i[2], st.ndim = 4;
        memcpy(st.shape, sh, sizeof sh);
        st.shape[2] += 2 * st.pad, st.shape[3] += 2 * st.pad;
    } else if (!strcmp(op, "Add") || !strcmp(op, "Sub")) {
        const int y = n->nin > 1 ? value_of(L, n->in[1]) : -1;
        st.ndim = nd;
        memcpy(st.shape, sh, sizeof sh);
        if (y >= 0) {
            int nd2;
            size_t sh2[4];
            shape_of(p, y, &nd2, sh2);
            if (nd2 != nd || memcmp(sh, sh2, (size_t)nd * sizeof *sh))
                return REFUSE("node '%s' (%s): its two values differ in shape (no broadcasting of values)", nm, op);
            st.op = op[0] == 'A' ? FSS_ONNX_OP_ADD : FSS_ONNX_OP_SUB, st.b = y;
        } else {
            const size_t per = nd == 4 ? sh[1] : sh[nd - 1];
            st.op = FSS_ONNX_OP_BIAS, st.trans_b = op[0] == 'S';
            st.bias = n->nin > 1 ? weight_of(L, n->in[1]) : -1;
            const int mask = n->nin > 1 ? spans(fss_onnx_init(L->g, n->in[1]), nd, sh) : -1;
            if (st.bias >= 0 && !bias_dims(fss_onnx_init(L->g, n->in[1]), nd, per) && mask >= 0) /* broadcast */
                st.op = FSS_ONNX_OP_WADD, st.w = st.bias, st.bias = -1, st.groups = (size_t)mask;
            else if (st.bias < 0 || !bias_dims(fss_onnx_init(L->g, n->in[1]), nd, per))
                return REFUSE("node '%s' (%s): a value and a float initializer that broadcasts to it (a channel's "
                              "[c, 1, 1], a feature's [f], or as ONNX broadcasts)", nm, op);
        }
    } else if (!strcmp(op, "Relu")) {
        st.op = FSS_ONNX_OP_RELU, st.ndim = nd;
        memcpy(st.shape, sh, sizeof sh);
    } else if (!strcmp(op, "MaxPool") || !strcmp(op, "AveragePool") || !strcmp(op, "GlobalAveragePool")) {
        const int global = !strcmp(op, "GlobalAveragePool"), avg = op[0] != 'M';
        int64_t k = 0, s = 0, pad = 0;
        if (nd != 4)
            return REFUSE("node '%s' (%s): a [batch, c, h, w] value", nm, op);
        if (global) {
            k = s = (int64_t)sh[2];
        } else if (!square(n, "kernel_shape", -1, &k) || !square(n, "strides", 1, &s) || !sym_pads(n, &pad) ||
                   attr_int(n, "ceil_mode", 0) || !unit_dilations(n) || k < 1 || s < 1) {
            return REFUSE("node '%s' (%s): a square window, equal strides, symmetric pads, no ceil mode", nm, op);
        }
        if ((global && sh[2] != sh[3]) || 2 * pad > k || sh[2] + 2 * (size_t)pad < (size_t)k ||
            sh[3] + 2 * (size_t)pad < (size_t)k)
            return REFUSE("node '%s' (%s): this version pools square inputs and pads at most half a window", nm, op);
        const int uncounted = avg && pad && !attr_int(n, "count_include_pad", 0); /* ONNX's default */
        if (avg && pad) { /* a Pad step, then the pool without: the zeros counted, or not (the border's width) */
            fss_onnx_step pd = st;
            pd.op = FSS_ONNX_OP_PAD, pd.pad = (size_t)pad, pd.ndim = 4;
            memcpy(pd.shape, sh, sizeof sh);
            pd.shape[2] += 2 * pd.pad, pd.shape[3] += 2 * pd.pad;
            fss_status ps = push_step(L, n, &pd, 0);
            if (ps != FSS_OK)
                return ps;
            st.a = (int)p->nsteps, sh[2] = pd.shape[2], sh[3] = pd.shape[3];
        }
        st.op = avg ? FSS_ONNX_OP_AVGPOOL : FSS_ONNX_OP_MAXPOOL;
        st.k = (size_t)k, st.stride = (size_t)s, st.pad = avg && !uncounted ? 0 : (size_t)pad, st.trans_b = uncounted;
        const size_t adds = avg ? 0 : st.pad; /* the pad the pool adds itself (a max pool's) */
        st.ndim = 4, st.shape[0] = sh[0], st.shape[1] = sh[1];
        st.shape[2] = (sh[2] + 2 * adds - st.k) / st.stride + 1;
        st.shape[3] = (sh[3] + 2 * adds - st.k) / st.stride + 1;
        fss_onnx_step *r = x > 0 ? &p->steps[x - 1] : NULL;
        if (!avg && r && r->op == FSS_ONNX_OP_RELU && x == (int)p->nsteps && readers(L->g, L->step_out[x - 1]) == 1) {
            /* Relu then MaxPool: pool first, a quarter of the ReLUs for a 2x2 window; the same
             * values (max and ReLU commute, and so do max and the shift a ReLU carries) */
            fss_onnx_step relu = *r;
            st.a = r->a;
            snprintf(relu.name, sizeof relu.name, "%s", r->name);
            *r = st; /* the pool takes the ReLU's place and its input */
            relu.a = x, relu.ndim = 4;
            memcpy(relu.shape, st.shape, sizeof st.shape);
            st = relu;
        }
    } else if (!strcmp(op, "Flatten")) {
        if (attr_int(n, "axis", 1) != 1)
            return REFUSE("node '%s' (Flatten): axis 1 only", nm);
        st.op = FSS_ONNX_OP_RESHAPE, st.ndim = 2, st.shape[0] = sh[0], st.shape[1] = count_of(nd, sh) / sh[0];
    } else if (!strcmp(op, "Reshape")) { /* to 2 to 4 dimensions: 0 keeps one, -1 is the rest */
        ints t = {0};
        if (n->nin < 2 || !ints_of(L, n->in[1], &t) || !reshape_to(&t, nd, sh, (int)attr_int(n, "allowzero", 0), st.shape))
            return REFUSE("node '%s' (Reshape): to a shape of 2 to 4 dimensions from an int64 constant (or shape "
                          "arithmetic), of as many elements", nm);
        st.op = FSS_ONNX_OP_RESHAPE, st.ndim = (int)t.n;
    } else if (!strcmp(op, "Transpose")) { /* a permutation of the wires */
        const fss_onnx_attr *pa = fss_onnx_attr_of(n, "perm");
        int seen = 0, ok = pa && pa->type == FSS_ONNX_ATTR_INTS && (int)pa->n == nd;
        for (int d = 0; ok && d < nd; d++) {
            ok = pa->ints[d] >= 0 && pa->ints[d] < nd && !(seen & (1 << pa->ints[d]));
            seen |= ok ? 1 << pa->ints[d] : 0;
            st.perm[d] = ok ? (int)pa->ints[d] : 0;
            st.shape[d] = ok ? sh[pa->ints[d]] : 0;
        }
        if (!ok)
            return REFUSE("node '%s' (Transpose): a perm of the value's axes", nm);
        st.op = FSS_ONNX_OP_TRANSPOSE, st.ndim = nd;
    } else {
        return REFUSE("node '%s' (%s) is not supported: this version runs Conv, Gemm, MatMul (by a weight, or of "
                      "two values), Add, Sub, Mul and Div (by constants; Add, Sub and Mul of two values too), Neg, "
                      "ReduceMean (spatial), Relu, LeakyRelu, HardSigmoid, HardSwish, Sigmoid, Tanh, Softmax (and a "
                      "causal mask before it), Clip, Gelu (and the Erf and tanh patterns), LayerNormalization, "
                      "RMSNorm and SiLU patterns, MaxPool, AveragePool, GlobalAveragePool, BatchNormalization (after "
                      "a Conv), Concat, Split, Slice, Pad, Flatten, Reshape, Transpose, shape arithmetic, Constant, "
                      "Identity and Dropout",
                      nm, op);
    }
    return push_step(L, n, &st, 1);
}

fss_status fss_onnx_lower(const fss_onnx_graph *g, size_t batch, size_t seq, fss_onnx_plan *p, char *err,
                          size_t err_len)
{
    memset(p, 0, sizeof *p);
    if (g->ninputs != 1 || g->noutputs != 1)
        return fss_errorf(err, err_len, FSS_E_FORMAT, "this version runs graphs of one input and one output (%zu and %zu)",
                          g->ninputs, g->noutputs);
    const fss_onnx_value *in = &g->inputs[0];
    if (in->ndim < 2 || in->ndim > 4)
        return fss_errorf(err, err_len, FSS_E_FORMAT,
                          "input '%s' has %d dimensions: [batch, features], [batch, seq, features] or [batch, c, h, w]",
                          in->name, in->ndim);
    if (in->dims[0] >= 0 && (size_t)in->dims[0] != batch)
        return fss_errorf(err, err_len, FSS_E_ARG, "input '%s' is for batches of %lld, not %zu", in->name,
                          (long long)in->dims[0], batch);
    if (seq && (in->ndim != 3 || (in->dims[1] >= 0 && (size_t)in->dims[1] != seq)))
        return fss_errorf(err, err_len, FSS_E_ARG, in->ndim != 3 ? "input '%s' has no sequence axis: --seq is for a "
                          "[batch, seq, features] input" : "input '%s' is for sequences of %lld, not %zu", in->name,
                          (long long)in->dims[1], seq);
    p->batch = batch, p->in_ndim = in->ndim, p->in_shape[0] = batch;
    for (int d = 1; d < in->ndim; d++) {
        if (in->dims[d] < 1 && !(d == 1 && in->ndim == 3 && seq))
            return fss_errorf(err, err_len, FSS_E_FORMAT, "input '%s': dimension %d is not a fixed size%s", in->name, d,
                              d == 1 && in->ndim == 3 ? " (give --seq N)" : "");
        p->in_shape[d] = in->dims[d] >= 1 ? (size_t)in->dims[d] : seq;
    }
    if (!count_of(p->in_ndim, p->in_shape))
        return fss_errorf(err, err_len, FSS_E_FORMAT, "input '%s' is empty or over %llu elements", in->name,
                          (unsigned long long)FSS_ONNX_MAX_ELEMENTS);
    lower L = {g, p, 0, 0, NULL, NULL, NULL, err, err_len, 1, NULL, NULL, 0, NULL, 0, 0};
    for (size_t i = 0; i < g->nnodes && L.cap <= FSS_ONNX_MAX_STEPS; i++) { /* a padded pool, a ReduceMean to
                                                                            * [b, c]: two; a Split: one an output */
        const size_t most = g->nodes[i].nin > g->nodes[i].nout ? g->nodes[i].nin : g->nodes[i].nout;
        L.cap += most > 2 ? most : 2;
    }
    L.cap = L.cap < FSS_ONNX_MAX_STEPS ? L.cap : FSS_ONNX_MAX_STEPS;
    p->steps = (fss_onnx_step *)calloc(L.cap, sizeof *p->steps);
    p->weights = (fss_onnx_weight *)calloc(FSS_ONNX_MAX_WEIGHTS, sizeof *p->weights);
    L.names_cap = 2; /* the input, and each node's outputs (a Split's several) */
    for (size_t i = 0; i < g->nnodes; i++)
        L.names_cap += g->nodes[i].nout > 1 ? g->nodes[i].nout : 1;
    L.names = (const char **)calloc(L.names_cap, sizeof *L.names);
    L.ids = (int *)calloc(L.names_cap, sizeof *L.ids);
    L.step_out = (const char **)calloc(L.cap, sizeof *L.step_out);
    L.done = (unsigned char *)calloc(g->nnodes + 1, 1);
    L.ints = (ints *)calloc(g->nnodes + 1, sizeof *L.ints);
    L.consts = (fss_onnx_tensor *)calloc(g->nnodes + 1, sizeof *L.consts);
    fss_status s = p->steps && p->weights && L.names && L.ids && L.step_out && L.done && L.ints && L.consts
                       ? FSS_OK
                       : fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
    if (s == FSS_OK)
        name_value(&L, in->name, 0);
    for (size_t i = 0; s == FSS_OK && i < g->nnodes; i++)
        if (!L.done[i])
            s = lower_node(&L, &g->nodes[i]);
    if (s == FSS_OK && (p->output = value_of(&L, g->outputs[0].name)) <= 0)
        s = fss_errorf(err, err_len, FSS_E_FORMAT, "the output '%s' is the input itself", g->outputs[0].name);
    if (s == FSS_OK)
        s = fss_onnx_plan_check(p, err, err_len);
    for (size_t i = 0; i < L.nconsts; i++)
        free(L.consts[i].f), free(L.consts[i].i);
    free(L.names), free(L.ids), free(L.step_out), free(L.done), free(L.ints), free(L.consts);
    if (s != FSS_OK)
        fss_onnx_plan_free(p);
    return s;
}

void fss_onnx_plan_free(fss_onnx_plan *p)
{
    free(p->steps), free(p->weights);
    memset(p, 0, sizeof *p);
}

size_t fss_onnx_out_count(const fss_onnx_plan *p)
{
    const fss_onnx_step *s = step_of(p, p->output);
    size_t c = 1;
    for (int d = 0; s && d < s->ndim; d++)
        c *= s->shape[d];
    return c;
}

/* ---- the plan's consistency: what lowering makes, and all a party trusts of a key file ----- */

static int weight_ok(const fss_onnx_plan *p, int w, size_t count)
{
    return w >= 0 && w < (int)p->nweights && p->weights[w].count == count;
}

fss_status fss_onnx_plan_check(const fss_onnx_plan *p, char *err, size_t err_len)
{
    const size_t B = p->batch;
    int ok = B >= 1 && p->in_ndim >= 2 && p->in_ndim <= 4 && p->in_shape[0] == B &&
             count_of(p->in_ndim, p->in_shape) && p->output >= 1 && p->output <= (int)p->nsteps;
    for (size_t i = 0; ok && i < p->nsteps; i++) {
        const fss_onnx_step *st = &p->steps[i];
        int nd = 0;
        size_t sh[4] = {0, 0, 0, 0}, want[4] = {0, 0, 0, 0}; /* the output's shape, from the inputs' */
        int wnd = 0;
        ok = st->a >= 0 && st->a <= (int)i && count_of(st->ndim, st->shape);
        if (ok)
            shape_of(p, st->a, &nd, sh);
        want[0] = sh[0]; /* the steps that keep the first axis (the batch's, in the input) */
        const int bn = st->bn[0] >= 0;
        for (int j = 0; ok && j < 4; j++)
            ok = bn ? st->op == FSS_ONNX_OP_CONV && weight_ok(p, st->bn[j], st->cout) : st->bn[j] == -1;
        /* a second input: an earlier value for the steps of two, none for the others */
        const int two = st->op == FSS_ONNX_OP_ADD || st->op == FSS_ONNX_OP_SUB || st->op == FSS_ONNX_OP_CONCAT ||
                        st->op == FSS_ONNX_OP_MUL || st->op == FSS_ONNX_OP_BMM;
        for (int d = 0; ok && d < 4; d++) /* a perm only for a transpose, an axis only where one is cut or joined */
            ok = st->op == FSS_ONNX_OP_TRANSPOSE || !st->perm[d];
        ok = ok && (st->op == FSS_ONNX_OP_CONCAT || st->op == FSS_ONNX_OP_SLICE || st->op == FSS_ONNX_OP_REPEAT ||
                    !st->axis);
        int nd2 = 0;
        size_t sh2[4] = {0, 0, 0, 0};
        ok = ok && (two ? st->b >= 0 && st->b <= (int)i : st->b == -1);
        if (ok && two)
            shape_of(p, st->b, &nd2, sh2);
        switch (ok ? st->op : 0) {
        case FSS_ONNX_OP_CONV:
            ok = nd == 4 && st->cin == sh[1] && st->k >= 1 && st->stride >= 1 && st->pad < st->k && st->cout >= 1 &&
                 sh[2] + 2 * st->pad >= st->k && sh[3] + 2 * st->pad >= st->k && st->groups >= 1 &&
                 st->cin % st->groups == 0 && st->cout % st->groups == 0 && st->dil >= 1 && st->dil <= 16 &&
                 (st->k - 1) % st->dil == 0 &&
                 weight_ok(p, st->w, st->cout * (st->cin / st->groups) * (((st->k - 1) / st->dil + 1) * ((st->k - 1) / st->dil + 1))) &&
                 (st->bias == -1 || weight_ok(p, st->bias, st->cout));
            wnd = 4, want[1] = st->cout;
            if (ok)
                want[2] = (sh[2] + 2 * st->pad - st->k) / st->stride + 1, want[3] = (sh[3] + 2 * st->pad - st->k) / st->stride + 1;
            break;
        case FSS_ONNX_OP_GEMM: /* a MatMul's over the last axis; a bias only for [batch, in] */
            ok = nd >= 2 && st->cin == sh[nd - 1] && st->cout >= 1 && weight_ok(p, st->w, st->cin * st->cout) &&
                 (st->bias == -1 || (nd == 2 && weight_ok(p, st->bias, st->cout)));
            wnd = nd, memcpy(want, sh, sizeof want), want[nd - 1] = st->cout;
            break;
        case FSS_ONNX_OP_BMM:
            ok = nd >= 3 && nd2 == nd && !memcmp(sh, sh2, (size_t)(nd - 2) * sizeof *sh) && sh[nd - 1] == sh2[nd - 2];
            wnd = nd, memcpy(want, sh, sizeof want), want[nd - 1] = sh2[nd - 1];
            break;
        case FSS_ONNX_OP_RMSNORM:
            ok = nd >= 2 && sh[nd - 1] <= 8192 && weight_ok(p, st->w, sh[nd - 1]) && st->eps > 0 && st->eps < 1;
            wnd = nd, memcpy(want, sh, sizeof want);
            break;
        case FSS_ONNX_OP_SILU:
            wnd = nd, memcpy(want, sh, sizeof want);
            break;
        case FSS_ONNX_OP_WMUL:
        case FSS_ONNX_OP_WADD: { /* the constant's count: the spanned axes' sizes */
            size_t cnt = 1;
            ok = st->groups < ((size_t)1 << nd) && (st->trans_b == 0 || (st->op == FSS_ONNX_OP_WADD && st->trans_b == 1));
            for (int d = 0; ok && d < nd; d++)
                cnt *= st->groups >> d & 1 ? sh[d] : 1;
            ok = ok && weight_ok(p, st->w, cnt);
            wnd = nd, memcpy(want, sh, sizeof want);
            break;
        }
        case FSS_ONNX_OP_REPEAT:
            ok = st->axis >= 0 && st->axis < nd && st->k >= 1 && st->k <= 4096;
            wnd = nd, memcpy(want, sh, sizeof want);
            if (ok)
                want[st->axis] = sh[st->axis] * st->k;
            break;
        case FSS_ONNX_OP_SLICE:
            ok = st->axis >= 0 && st->axis < nd && st->shape[st->axis] >= 1 && st->cin <= sh[st->axis] &&
                 st->shape[st->axis] <= sh[st->axis] - st->cin;
            wnd = nd, memcpy(want, sh, sizeof want);
            if (ok)
                want[st->axis] = st->shape[st->axis];
            break;
        case FSS_ONNX_OP_TRANSPOSE: {
            int seen = 0;
            ok = nd >= 2;
            for (int d = 0; ok && d < 4; d++) {
                ok = d < nd ? st->perm[d] >= 0 && st->perm[d] < nd && !(seen & (1 << st->perm[d])) : !st->perm[d];
                seen |= ok && d < nd ? 1 << st->perm[d] : 0;
                want[d] = ok && d < nd ? sh[st->perm[d]] : 0;
            }
            wnd = nd;
            break;
        }
        case FSS_ONNX_OP_ADD:
        case FSS_ONNX_OP_SUB:
            ok = nd2 == nd && !memcmp(sh, sh2, sizeof sh);
            wnd = nd, memcpy(want, sh, sizeof want);
            break;
        case FSS_ONNX_OP_MUL:
            ok = nd2 == nd && sh2[0] == sh[0] && sh2[1] == sh[1] &&
                 (!memcmp(sh, sh2, sizeof sh) || (nd == 4 && sh2[2] == 1 && sh2[3] == 1));
            wnd = nd, memcpy(want, sh, sizeof want);
            break;
        case FSS_ONNX_OP_BIAS:
            ok = weight_ok(p, st->bias, nd == 4 ? sh[1] : sh[nd - 1]);
            wnd = nd, memcpy(want, sh, sizeof want);
            break;
        case FSS_ONNX_OP_RELU:
        case FSS_ONNX_OP_SIGMOID:
        case FSS_ONNX_OP_TANH:
        case FSS_ONNX_OP_GELU:
            wnd = nd, memcpy(want, sh, sizeof want);
            break;
        case FSS_ONNX_OP_LAYERNORM:
            ok = (nd == 2 || nd == 3) && sh[nd - 1] <= 4096 && weight_ok(p, st->w, sh[nd - 1]) &&
                 (st->bias < 0 || weight_ok(p, st->bias, sh[nd - 1])) && st->eps > 0 && st->eps < 1;
            wnd = nd, memcpy(want, sh, sizeof want);
            break;
        case FSS_ONNX_OP_SOFTMAX: /* causal (trans_b): over square last two axes */
            ok = nd >= 2 && sh[nd - 1] <= 65536 && (st->trans_b == 0 || (st->trans_b == 1 && sh[nd - 2] == sh[nd - 1]));
            wnd = nd, memcpy(want, sh, sizeof want);
            break;
        case FSS_ONNX_OP_CLIP:
            ok = st->eps > 0 && st->eps <= 65536;
            wnd = nd, memcpy(want, sh, sizeof want);
            break;
        case FSS_ONNX_OP_SCALE:
            ok = fabs((double)st->eps) > 1e-9 && fabs((double)st->eps) < 65536;
            wnd = nd, memcpy(want, sh, sizeof want);
            break;
        case FSS_ONNX_OP_HARDSIGMOID:
            ok = st->eps > 1.0f / 65536 && st->eps < 65536 && fabsf(st->eps2) < 65536 && (st->trans_b == 0 || st->trans_b == 1);
            wnd = nd, memcpy(want, sh, sizeof want);
            break;
        case FSS_ONNX_OP_LEAKY:
            ok = st->eps >= 0 && st->eps < 1;
            wnd = nd, memcpy(want, sh, sizeof want);
            break;
        case FSS_ONNX_OP_CONCAT:
            ok = nd2 == nd && st->axis >= 0 && st->axis < nd;
            if (ok) {
                const size_t ours = sh2[st->axis];
                sh2[st->axis] = sh[st->axis];
                ok = !memcmp(sh, sh2, sizeof sh);
                wnd = nd, memcpy(want, sh, sizeof want), want[st->axis] = sh[st->axis] + ours;
            }
            break;
        case FSS_ONNX_OP_PAD:
            ok = nd == 4 && st->pad <= 64;
            wnd = 4, memcpy(want, sh, sizeof want), want[2] = sh[2] + 2 * st->pad, want[3] = sh[3] + 2 * st->pad;
            break;
        case FSS_ONNX_OP_MAXPOOL:
        case FSS_ONNX_OP_AVGPOOL: { /* an average pool's pad: with trans_b, its input's border of uncounted zeros */
            const int avg = st->op == FSS_ONNX_OP_AVGPOOL;
            const size_t adds = avg ? 0 : st->pad;
            ok = nd == 4 && st->k >= 1 && st->stride >= 1 && 2 * st->pad <= st->k && (st->trans_b == 0 || st->trans_b == 1) &&
                 (avg ? (st->trans_b ? st->pad >= 1 && sh[2] > 2 * st->pad && sh[3] > 2 * st->pad : !st->pad) : !st->trans_b) &&
                 sh[2] + 2 * adds >= st->k && sh[3] + 2 * adds >= st->k;
            wnd = 4, want[1] = sh[1];
            if (ok)
                want[2] = (sh[2] + 2 * adds - st->k) / st->stride + 1, want[3] = (sh[3] + 2 * adds - st->k) / st->stride + 1;
            break;
        }
        case FSS_ONNX_OP_RESHAPE: /* as many elements */
            ok = st->ndim >= 2 && st->ndim <= 4 && count_of(st->ndim, st->shape) == count_of(nd, sh);
            wnd = st->ndim;
            for (int d = 0; ok && d < st->ndim; d++)
                want[d] = st->shape[d];
            break;
        default:
            ok = 0;
        }
        ok = ok && st->ndim == wnd && !memcmp(st->shape, want, sizeof want) && window_ok(st);
        if (!ok)
            return fss_errorf(err, err_len, FSS_E_FORMAT, "the graph's plan is inconsistent at step %zu ('%s')", i + 1,
                              st->name);
    }
    if (!ok)
        return fss_errorf(err, err_len, FSS_E_FORMAT, "the graph's plan is inconsistent (its input or output)");
    return FSS_OK;
}

/* The ring bits step st's gate needs at scale f (0: none beyond the family's 2 f + 8), the
 * scale it needs at least, and what it is. */
static int step_needs(const fss_onnx_step *st, int f, int *fmin, const char **what)
{
    switch (st->op) { /* the gates' needs (runtime/include/fss/gates.h) */
    case FSS_ONNX_OP_SIGMOID:
    case FSS_ONNX_OP_TANH:
        return *fmin = 8, *what = "a sigmoid", f + 6;
    case FSS_ONNX_OP_SOFTMAX:
        return *fmin = 12, *what = "a softmax", 2 * f + 17;
    case FSS_ONNX_OP_GELU: /* more than max(14, f + 2) + f - 3 */
        return *fmin = 4, *what = "a GELU", (f + 2 > 14 ? f + 2 : 14) + f - 2;
    case FSS_ONNX_OP_SILU:
        return *fmin = 4, *what = "a SiLU", (f + 2 > 14 ? f + 2 : 14) + f - 2;
    case FSS_ONNX_OP_LAYERNORM:
        return *fmin = 8, *what = "a LayerNormalization", 2 * f + 26;
    case FSS_ONNX_OP_RMSNORM:
        return *fmin = 8, *what = "an RMSNorm", 2 * f + 26;
    default:
        return *fmin = 1, *what = NULL, 0;
    }
}

fss_status fss_onnx_plan_fits(const fss_onnx_plan *p, int bits, int f, char *err, size_t err_len)
{
    for (size_t i = 0; i < p->nsteps; i++) {
        int fmin = 1;
        const char *what = NULL;
        const int nmin = step_needs(&p->steps[i], f, &fmin, &what);
        if (what && (f < fmin || bits < nmin))
            return fss_errorf(err, err_len, FSS_E_ARG, "node '%s': %s needs --scale %d or more, and at --scale %d "
                              "--bits %d or more (have --bits %d)", p->steps[i].name, what, fmin, f, nmin, bits);
        const fss_onnx_step *st = &p->steps[i];
        const double c = st->op == FSS_ONNX_OP_HARDSIGMOID || st->op == FSS_ONNX_OP_SCALE ? fabs((double)st->eps) : 1;
        const double big = st->op == FSS_ONNX_OP_HARDSIGMOID ? fabs((double)st->eps2) : 0;
        if (llround(ldexp(c, f)) == 0 || big >= ldexp(1, bits - 2 - f))
            return fss_errorf(err, err_len, FSS_E_ARG, "node '%s': its constant %g is 0 at --scale %d, or %g past what "
                              "--bits %d holds there", st->name, c, f, big, bits);
    }
    return FSS_OK;
}

int fss_onnx_plan_min_bits(const fss_onnx_plan *p, int f)
{
    int n = 2 * f + 8;
    for (size_t i = 0; i < p->nsteps; i++) {
        int fmin = 1;
        const char *what = NULL;
        const int nmin = step_needs(&p->steps[i], f, &fmin, &what);
        n = nmin > n ? nmin : n;
    }
    return n;
}

/* ---- the plan as text ---------------------------------------------------------------------- */

/* Appends to a growing text; 0 when out of memory. */
static int appendf(char **t, size_t *cap, size_t *at, const char *fmt, ...) FSS_PRINTF(4, 5);
static int appendf(char **t, size_t *cap, size_t *at, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        const int n = vsnprintf(*t + *at, *cap - *at, fmt, ap);
        va_end(ap);
        if (n < 0)
            return 0;
        if ((size_t)n < *cap - *at) {
            *at += (size_t)n;
            return 1;
        }
        char *more = (char *)realloc(*t, 2 * *cap + (size_t)n);
        if (!more)
            return 0;
        *t = more, *cap = 2 * *cap + (size_t)n;
    }
}

char *fss_onnx_plan_text(const fss_onnx_plan *p)
{
    size_t cap = 4096, at = 0;
    char *t = (char *)malloc(cap);
    int ok = t && appendf(&t, &cap, &at, "onnx-plan 3\nbatch %zu\ninput %d %zu %zu %zu %zu\n", p->batch, p->in_ndim,
                          p->in_shape[0], p->in_shape[1], p->in_shape[2], p->in_shape[3]);
    for (size_t i = 0; ok && i < p->nweights; i++)
        ok = appendf(&t, &cap, &at, "weight %zu %zu:%s\n", p->weights[i].count, strlen(p->weights[i].name),
                     p->weights[i].name);
    for (size_t i = 0; ok && i < p->nsteps; i++) {
        const fss_onnx_step *s = &p->steps[i];
        ok = appendf(&t, &cap, &at, "step %d %d %d %d %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %d %d %d %d %d %d %d %a %a "
                     "%d %d %d %d %d %zu:%s\n",
                     (int)s->op, s->a, s->b, s->ndim, s->shape[0], s->shape[1], s->shape[2], s->shape[3], s->cin,
                     s->cout, s->k, s->stride, s->pad, s->groups, s->dil, s->w, s->bias, s->trans_b, s->bn[0], s->bn[1], s->bn[2],
                     s->bn[3], (double)s->eps, (double)s->eps2, s->perm[0], s->perm[1], s->perm[2], s->perm[3], s->axis,
                     strlen(s->name), s->name);
    }
    ok = ok && appendf(&t, &cap, &at, "output %d\n", p->output);
    if (!ok) {
        free(t);
        return NULL;
    }
    return t;
}

/* "<len>:<name>" at *q, into out (cap bytes); moves *q past it. */
static int read_name(const char **q, const char *end, char *out, size_t cap)
{
    char *e = NULL;
    const unsigned long n = strtoul(*q, &e, 10);
    if (e == *q || *e != ':' || n >= cap || (size_t)(end - (e + 1)) < n)
        return 0;
    memcpy(out, e + 1, n);
    out[n] = 0;
    *q = e + 1 + n;
    return 1;
}

fss_status fss_onnx_plan_parse(const char *text, size_t len, fss_onnx_plan *p, char *err, size_t err_len)
{
    memset(p, 0, sizeof *p);
    char *buf = (char *)malloc(len + 1);
    if (!buf)
        return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
    memcpy(buf, text, len);
    buf[len] = 0;
    p->steps = (fss_onnx_step *)calloc(FSS_ONNX_MAX_STEPS, sizeof *p->steps);
    p->weights = (fss_onnx_weight *)calloc(FSS_ONNX_MAX_WEIGHTS, sizeof *p->weights);
    const char *q = buf, *end = buf + len;
    int used = 0, ok = p->steps && p->weights &&
                        sscanf(q, "onnx-plan 3\nbatch %zu\ninput %d %zu %zu %zu %zu\n%n", &p->batch, &p->in_ndim,
                               &p->in_shape[0], &p->in_shape[1], &p->in_shape[2], &p->in_shape[3], &used) == 6;
    q += used;
    while (ok && !strncmp(q, "weight ", 7) && p->nweights < FSS_ONNX_MAX_WEIGHTS) {
        fss_onnx_weight *w = &p->weights[p->nweights++];
        q += 7;
        char *e = NULL;
        w->count = strtoul(q, &e, 10);
        q = e;
        ok = *q == ' ' && (q++, read_name(&q, end, w->name, sizeof w->name)) && *q++ == '\n';
    }
    while (ok && !strncmp(q, "step ", 5) && p->nsteps < FSS_ONNX_MAX_STEPS) {
        fss_onnx_step *s = &p->steps[p->nsteps++];
        int op = 0;
        double eps = 0, eps2 = 0;
        used = 0;
        ok = sscanf(q, "step %d %d %d %d %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %d %d %d %d %d %d %d %la %la %d %d %d %d %d %n",
                    &op, &s->a, &s->b, &s->ndim, &s->shape[0], &s->shape[1], &s->shape[2], &s->shape[3], &s->cin,
                    &s->cout, &s->k, &s->stride, &s->pad, &s->groups, &s->dil, &s->w, &s->bias, &s->trans_b, &s->bn[0],
                    &s->bn[1], &s->bn[2], &s->bn[3], &eps, &eps2, &s->perm[0], &s->perm[1], &s->perm[2], &s->perm[3],
                    &s->axis, &used) == 29;
        q += used;
        s->op = (fss_onnx_op)op, s->eps = (float)eps, s->eps2 = (float)eps2;
        ok = ok && read_name(&q, end, s->name, sizeof s->name) && *q++ == '\n';
        /* values only from earlier steps; weights in range */
        const int v = (int)p->nsteps;
        ok = ok && op >= FSS_ONNX_OP_CONV && op <= FSS_ONNX_OP_REPEAT && s->a >= 0 && s->a < v && s->b < v &&
             s->w < (int)p->nweights && s->bias < (int)p->nweights && s->ndim >= 2 && s->ndim <= 4;
        for (int i = 0; i < 4; i++)
            ok = ok && s->bn[i] < (int)p->nweights;
    }
    used = 0;
    ok = ok && sscanf(q, "output %d\n%n", &p->output, &used) == 1 && q + used == end && p->output > 0 &&
         p->output <= (int)p->nsteps && p->in_ndim >= 2 && p->in_ndim <= 4;
    free(buf);
    if (!ok) {
        fss_onnx_plan_free(p);
        return fss_errorf(err, err_len, FSS_E_FORMAT, "the key file's graph plan does not parse: run this build's dealer");
    }
    fss_status s = fss_onnx_plan_check(p, err, err_len);
    if (s != FSS_OK)
        fss_onnx_plan_free(p);
    return s;
}

/* ---- party 0's weights --------------------------------------------------------------------- */

/* Each of n values fits the fixed point at sc. */
static fss_status fits(const float *v, size_t n, int sc, int bits, const char *what, const char *name, char *err,
                       size_t err_len)
{
    for (size_t j = 0; j < n; j++)
        if (!fss_fixed_fits(v[j], sc, bits))
            return fss_errorf(err, err_len, FSS_E_FORMAT,
                              "%s '%s': value %zu (%g) is not finite or past what the fixed point holds (%d bits, %d "
                              "fractional): give --bits more or --scale less",
                              what, name, j, (double)v[j], bits, sc);
    return FSS_OK;
}

fss_status fss_onnx_weights(const fss_onnx_plan *p, const fss_onnx_graph *g, int bits, int scale, fss_onnx_values *v,
                            char *err, size_t err_len)
{
    memset(v, 0, sizeof *v);
    if (!(v->w = (float **)calloc(p->nweights + 1, sizeof *v->w)) ||
        !(v->count = (size_t *)calloc(p->nweights + 1, sizeof *v->count)) ||
        !(v->fw = (float **)calloc(p->nsteps + 1, sizeof *v->fw)) || !(v->fb = (float **)calloc(p->nsteps + 1, sizeof *v->fb)) ||
        !(v->fcount = (size_t *)calloc(2 * (p->nsteps + 1), sizeof *v->fcount)))
        return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
    v->n = p->nweights, v->nsteps = p->nsteps;
    for (size_t i = 0; i < p->nweights; i++) {
        const fss_onnx_tensor *t = fss_onnx_init(g, p->weights[i].name);
        if (!t || !t->f || t->count != p->weights[i].count)
            return fss_errorf(err, err_len, FSS_E_FORMAT, "the model's initializer '%s' is missing or of another size",
                              p->weights[i].name);
        if (!(v->w[i] = (float *)malloc((t->count ? t->count : 1) * sizeof(float))))
            return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
        v->count[i] = t->count;
        memcpy(v->w[i], t->f, t->count * sizeof(float));
    }
    const int sum_scale = (attention(p) ? 3 : 2) * scale; /* an added constant at the most its value may have */
    for (size_t i = 0; i < p->nsteps; i++) { /* each weight as its step encodes it */
        const fss_onnx_step *st = &p->steps[i];
        fss_status s = FSS_OK;
        if (st->op == FSS_ONNX_OP_CONV && st->bn[0] >= 0) { /* folded, then checked */
            const size_t nw = p->weights[st->w].count;
            if (!(v->fw[i] = (float *)malloc(nw * sizeof(float))) || !(v->fb[i] = (float *)calloc(st->cout, sizeof(float))))
                return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
            v->fcount[i] = nw, v->fcount[p->nsteps + i] = st->cout;
            memcpy(v->fw[i], v->w[st->w], nw * sizeof(float));
            if (st->bias >= 0)
                memcpy(v->fb[i], v->w[st->bias], st->cout * sizeof(float));
            fss_cnn_fold_bn(v->fw[i], v->fb[i], st->cout, nw / st->cout, v->w[st->bn[0]], v->w[st->bn[1]],
                            v->w[st->bn[2]], v->w[st->bn[3]], st->eps);
            if ((s = fits(v->fw[i], nw, scale, bits, "the folded weight of", st->name, err, err_len)) == FSS_OK)
                s = fits(v->fb[i], st->cout, 2 * scale, bits, "the folded bias of", st->name, err, err_len);
        } else if (st->op == FSS_ONNX_OP_CONV || st->op == FSS_ONNX_OP_GEMM) {
            s = fits(v->w[st->w], p->weights[st->w].count, scale, bits, "initializer", p->weights[st->w].name, err, err_len);
            if (s == FSS_OK && st->bias >= 0)
                s = fits(v->w[st->bias], p->weights[st->bias].count, 2 * scale, bits, "initializer",
                         p->weights[st->bias].name, err, err_len);
        } else if (st->op == FSS_ONNX_OP_WMUL || st->op == FSS_ONNX_OP_RMSNORM || st->op == FSS_ONNX_OP_WADD) {
            s = fits(v->w[st->w], p->weights[st->w].count, st->op == FSS_ONNX_OP_WADD ? sum_scale : scale, bits,
                     "initializer", p->weights[st->w].name, err, err_len);
        } else if (st->op == FSS_ONNX_OP_LAYERNORM) {
            s = fits(v->w[st->w], p->weights[st->w].count, scale, bits, "initializer", p->weights[st->w].name, err,
                     err_len);
            if (s == FSS_OK && st->bias >= 0)
                s = fits(v->w[st->bias], p->weights[st->bias].count, scale, bits, "initializer",
                         p->weights[st->bias].name, err, err_len);
        } else if (st->op == FSS_ONNX_OP_BIAS) { /* at its value's scale: f, 2f, or (attention) 3f */
            s = fits(v->w[st->bias], p->weights[st->bias].count, sum_scale, bits, "initializer",
                     p->weights[st->bias].name, err, err_len);
        }
        if (s != FSS_OK)
            return s;
    }
    return FSS_OK;
}

void fss_onnx_weights_free(fss_onnx_values *v)
{
    for (size_t i = 0; v->w && i < v->n; i++)
        if (v->w[i])
            fss_free_wiped(v->w[i], v->count[i] * sizeof(float));
    for (size_t i = 0; v->fw && v->fcount && i < v->nsteps; i++) { /* folded: derived from the weights */
        if (v->fw[i])
            fss_free_wiped(v->fw[i], v->fcount[i] * sizeof(float));
        if (v->fb[i])
            fss_free_wiped(v->fb[i], v->fcount[v->nsteps + i] * sizeof(float));
    }
    free(v->w), free(v->count), free(v->fw), free(v->fb), free(v->fcount);
    memset(v, 0, sizeof *v);
}

/* ---- the walk ------------------------------------------------------------------------------- */

/* A value's wires and what the walk knows of it. */
typedef struct val {
    fss_tensor t;
    int nonneg; /* a ReLU's output (kept by pools) */
    int last;   /* the last step that reads it */
} val;

/* A graph with products of two values (attention) makes its shifts of this many elements or
 * more lean (fss_eval_set_lean_shifts): 40% of a 12-bit shift's keys for a round more, as
 * the transformer family's (FSS_TF_LEAN_MIN); the other graphs keep the CNN family's
 * one-round shifts (an exported LeNet or ResNet: the built-in model's keys and rounds). The
 * plan decides it, the same in all three walks. */
#define FSS_ONNX_LEAN_MIN 4096

static fss_status rescale(fss_eval *ev, int f, val *x)
{
    if (x->t.scale <= f)
        return FSS_OK;
    fss_tensor y = {0};
    fss_status s = x->nonneg ? fss_gate_ars_nonneg(ev, &x->t, x->t.scale - f, &y) : fss_gate_ars_bounded(ev, &x->t, x->t.scale - f, &y);
    if (s == FSS_OK) {
        fss_tensor_free(&x->t);
        x->t = y;
    }
    return s;
}

static fss_status upscale(fss_eval *ev, val *x, int sc)
{
    if (x->t.scale >= sc)
        return FSS_OK;
    fss_tensor y = {0};
    fss_status s = fss_gate_scale(ev, &x->t, (uint64_t)1 << (sc - x->t.scale), &y);
    if (s == FSS_OK) {
        y.scale = sc;
        fss_tensor_free(&x->t);
        x->t = y;
    }
    return s;
}

/* Every value's scale, as the walk keeps it: an input or an op's output at f; a product
 * (Conv, Gemm, Mul by a constant, LeakyRelu) at 2f until a ReLU or an op that needs f. */
static void value_scales(const fss_onnx_plan *p, int f, int *sc)
{
    const int att = attention(p);
    sc[0] = f;
    for (size_t i = 0; i < p->nsteps; i++) {
        const fss_onnx_step *st = &p->steps[i];
        const int a = sc[st->a], b = st->b >= 0 ? sc[st->b] : a;
        int o = f;
        switch (st->op) {
        case FSS_ONNX_OP_SCALE: /* with attention, a product's factor joins it: 3f, one shift later, not two */
            o = st->eps == -1.0f ? a : att && a == 2 * f ? 3 * f : 2 * f;
            break;
        case FSS_ONNX_OP_CONV:
        case FSS_ONNX_OP_GEMM:
        case FSS_ONNX_OP_WMUL:
        case FSS_ONNX_OP_LEAKY:
        case FSS_ONNX_OP_MUL:
        case FSS_ONNX_OP_BMM:
            o = 2 * f;
            break;
        case FSS_ONNX_OP_ADD:
        case FSS_ONNX_OP_SUB:
        case FSS_ONNX_OP_CONCAT:
            o = a > b ? a : b;
            break;
        case FSS_ONNX_OP_BIAS:
        case FSS_ONNX_OP_MAXPOOL:
        case FSS_ONNX_OP_RESHAPE:
        case FSS_ONNX_OP_TRANSPOSE:
        case FSS_ONNX_OP_SLICE:
        case FSS_ONNX_OP_REPEAT:
        case FSS_ONNX_OP_WADD:
        case FSS_ONNX_OP_PAD:
            o = a;
            break;
        case FSS_ONNX_OP_RELU:
            o = a > f ? f : a;
            break;
        case FSS_ONNX_OP_HARDSIGMOID: /* HardSwish: times x */
        case FSS_ONNX_OP_AVGPOOL:     /* with uncounted padding: times public factors */
            o = st->trans_b ? 2 * f : f;
            break;
        default: /* SIGMOID, TANH, SOFTMAX, CLIP, GELU, the norms: after a rescale to f */
            o = f;
        }
        sc[i + 1] = o;
    }
}

/* Party 0's weights, input in one go or in parts (weights_from; fss_gate_input_weights,
 * input once with a model key): each use of a weight by a step in step
 * order (Conv: its weight at f and bias at 2f, folded with a BatchNormalization; Gemm: its
 * weight [in][out] at f and bias at 2f; an Add's or Sub's initializer at its value's scale),
 * as ring values. The steps take views of it in the same order. */
typedef struct weight_use {
    int w, scale;
    size_t rows; /* transposed from [rows][count / rows] */
    const float *ovr;
} weight_use;

static void weight_uses(const fss_onnx_plan *p, const fss_onnx_values *vals, int f, const int *sc, weight_use *u,
                        size_t *first)
{
    size_t k = 0;
    for (size_t i = 0; i < p->nsteps; i++) {
        const fss_onnx_step *st = &p->steps[i];
        first[i] = k; /* step i's uses: u[first[i] .. first[i + 1]) */
        const int folded = st->bn[0] >= 0 && vals;
        if (st->op == FSS_ONNX_OP_CONV) {
            u[k++] = (weight_use){st->w, f, 0, folded ? vals->fw[i] : NULL};
            if (st->bias >= 0 || st->bn[0] >= 0)
                u[k++] = (weight_use){st->bias >= 0 ? st->bias : st->bn[1], 2 * f, 0, folded ? vals->fb[i] : NULL};
        } else if (st->op == FSS_ONNX_OP_GEMM) {
            u[k++] = (weight_use){st->w, f, st->trans_b ? st->cout : 0, NULL};
            if (st->bias >= 0)
                u[k++] = (weight_use){st->bias, 2 * f, 0, NULL};
        } else if (st->op == FSS_ONNX_OP_BIAS) {
            u[k++] = (weight_use){st->bias, sc[st->a], 0, NULL};
        } else if (st->op == FSS_ONNX_OP_WMUL || st->op == FSS_ONNX_OP_RMSNORM) { /* a factor, a gain: at f */
            u[k++] = (weight_use){st->w, f, 0, NULL};
        } else if (st->op == FSS_ONNX_OP_WADD) { /* at its value's scale */
            u[k++] = (weight_use){st->w, sc[st->a], 0, NULL};
        } else if (st->op == FSS_ONNX_OP_LAYERNORM) { /* gamma and beta at f */
            u[k++] = (weight_use){st->w, f, 0, NULL};
            if (st->bias >= 0)
                u[k++] = (weight_use){st->bias, f, 0, NULL};
        }
    }
    first[p->nsteps] = k;
}

/* The part that starts at step i: the steps i .. end - 1, as many as keep its weights under
 * FSS_ONNX_WEIGHT_PART values (at least one step), a round each part in an ordinary run. */
#define FSS_ONNX_WEIGHT_PART ((size_t)1 << 22)
static size_t part_end(const fss_onnx_plan *p, const weight_use *u, const size_t *first, size_t i)
{
    size_t end = i, n = 0;
    for (; end < p->nsteps; end++) {
        size_t m = 0;
        for (size_t j = first[end]; j < first[end + 1]; j++)
            m += p->weights[u[j].w].count;
        if (end > i && n + m > FSS_ONNX_WEIGHT_PART)
            break;
        n += m;
    }
    return end;
}

static fss_status weights_input(fss_eval *ev, const fss_onnx_plan *p, const fss_onnx_values *vals, int bits,
                                const weight_use *u, size_t nu, uint64_t id, fss_tensor *P);

/* The weights of the steps from i on, into *P (what it held dropped), as the walk takes them:
 * a graph with attention a part (to step *end, weight id i + 1), the others all of them
 * (weight id 0). */
static fss_status weights_from(fss_eval *ev, const fss_onnx_plan *p, const fss_onnx_values *vals, int bits,
                               const weight_use *u, const size_t *first, size_t i, size_t *end, fss_tensor *P)
{
    const int att = attention(p);
    *end = att ? part_end(p, u, first, i) : p->nsteps;
    fss_tensor_free(P);
    return weights_input(ev, p, vals, bits, u + first[i], first[*end] - first[i], att ? i + 1 : 0, P);
}

static fss_status weights_input(fss_eval *ev, const fss_onnx_plan *p, const fss_onnx_values *vals, int bits,
                                const weight_use *u, size_t nu, uint64_t id, fss_tensor *P)
{
    size_t total = 0;
    for (size_t j = 0; j < nu; j++) { /* at most FSS_ONNX_MAX_ELEMENTS in all (a hostile plan's sizes wrap) */
        if (p->weights[u[j].w].count > FSS_ONNX_MAX_ELEMENTS - total)
            return FSS_E_FORMAT;
        total += p->weights[u[j].w].count;
    }
    uint64_t *v = NULL;
    const int own = vals && (fss_eval_mode(ev) == FSS_MODE_CLEAR || fss_eval_party(ev) == 0);
    if (own && !(v = (uint64_t *)malloc((total ? total : 1) * 8)))
        return FSS_E_NOMEM;
    for (size_t j = 0, o = 0; own && j < nu; o += p->weights[u[j].w].count, j++) {
        const size_t n = p->weights[u[j].w].count, rows = u[j].rows, cols = rows ? n / rows : 0;
        const float *w = u[j].ovr ? u[j].ovr : vals->w[u[j].w];
        for (size_t e = 0; e < n; e++) /* out[c][r] = in[r][c] */
            v[o + e] = fss_fixed_from_float(w[rows ? (e % rows) * cols + e / rows : e], u[j].scale, bits);
    }
    const size_t shape[1] = {total ? total : 1};
    fss_status s = total ? fss_gate_input_weights(ev, id, 1, shape, bits, 0, v, P) : FSS_OK;
    if (v)
        fss_free_wiped(v, total * 8);
    return s;
}

/* A grouped or dilated conv's weight [cout][cin/g][k][k] as the full [cout][cin][K][K],
 * K = dil (k - 1) + 1, with public zeros between the groups and between the taps (a wire of
 * mask 0 in every walk), still party 0's input (its own values widened the same way): the
 * rounds and keys of the same conv in one group with a K x K kernel, more local products. */
static fss_status widen(fss_tensor *w, size_t cin, size_t groups, size_t dil)
{
    if (groups == 1 && dil == 1)
        return FSS_OK;
    const size_t cout = w->shape[0], per = w->shape[1], k = w->shape[2], opg = cout / groups, K = dil * (k - 1) + 1;
    const size_t shape[4] = {cout, cin, K, K};
    fss_tensor full = {0};
    fss_status s = fss_tensor_init(&full, 4, shape, w->bits, w->scale);
    full.input_of = w->input_of; /* still party 0's input: its walk multiplies by its own values */
    if (s == FSS_OK && w->own && !(full.own = (uint64_t *)calloc(full.count, sizeof *full.own)))
        s = FSS_E_NOMEM;
    for (size_t o = 0; s == FSS_OK && o < cout; o++) /* output o reads input channels of group o / opg */
        for (size_t c = 0; c < per; c++)
            for (size_t i = 0; i < k; i++)
                for (size_t j = 0; j < k; j++) {
                    const size_t from = ((o * per + c) * k + i) * k + j,
                                 to = ((o * cin + o / opg * per + c) * K + i * dil) * K + j * dil;
                    full.v[to] = w->v[from];
                    if (w->own)
                        full.own[to] = w->own[from];
                }
    if (s == FSS_OK) {
        fss_tensor_free(w);
        *w = full;
    }
    return s;
}

/* dst[j] = src at the j-th index of ext (row-major, 4 axes, 1 past the value's), read with
 * stride: a transpose's permuted read, a broadcast's (stride 0 on the axes it repeats). */
static void strided_copy(uint64_t *dst, const uint64_t *src, const size_t ext[4], const size_t stride[4])
{
    for (size_t i0 = 0; i0 < ext[0]; i0++)
        for (size_t i1 = 0; i1 < ext[1]; i1++)
            for (size_t i2 = 0; i2 < ext[2]; i2++)
                for (size_t i3 = 0; i3 < ext[3]; i3++)
                    *dst++ = src[i0 * stride[0] + i1 * stride[1] + i2 * stride[2] + i3 * stride[3]];
}

/* The product of shape's dimensions before axis (*outer) and after it (*inner). */
static void around(const size_t *shape, int ndim, int axis, size_t *outer, size_t *inner)
{
    *outer = *inner = 1;
    for (int d = 0; d < ndim; d++) {
        if (d < axis)
            *outer *= shape[d];
        else if (d > axis)
            *inner *= shape[d];
    }
}

/* Constant w (party 0's input, over the axes of x in the bits of mask) spread over x's
 * shape as ONNX broadcasts it: copies of wires (linear), the owner's values with them. */
static fss_status spread(const fss_tensor *w, const fss_tensor *x, size_t mask, fss_tensor *full)
{
    fss_status s = fss_tensor_init(full, x->ndim, x->shape, w->bits, w->scale);
    full->input_of = w->input_of;
    if (s == FSS_OK && w->own && !(full->own = (uint64_t *)calloc(full->count, sizeof *full->own)))
        s = FSS_E_NOMEM;
    size_t stride[4] = {0, 0, 0, 0}, ext[4] = {1, 1, 1, 1}, acc = 1;
    for (int d = x->ndim - 1; d >= 0; d--) { /* the constant's strides on the axes it spans, 0 on the others */
        ext[d] = x->shape[d];
        if (mask >> d & 1)
            stride[d] = acc, acc *= x->shape[d];
    }
    if (s == FSS_OK)
        strided_copy(full->v, w->v, ext, stride);
    if (s == FSS_OK && w->own)
        strided_copy(full->own, w->own, ext, stride);
    return s;
}

/* A copy of value v's wires (its scale and sign with them), for a step that rescales its
 * second input. */
static fss_status copy_of(const val *v, val *c)
{
    *c = *v;
    memset(&c->t, 0, sizeof c->t);
    fss_status s = fss_tensor_init(&c->t, v->t.ndim, v->t.shape, v->t.bits, v->t.scale);
    if (s == FSS_OK)
        memcpy(c->t.v, v->t.v, v->t.count * 8);
    return s;
}

/* x += a per-channel (4-d) or per-column (2-d) vector b. */
static fss_status add_vector(fss_eval *ev, val *x, const fss_tensor *b)
{
    const size_t nb = b->count, inner = x->t.ndim == 4 ? x->t.shape[2] * x->t.shape[3] : 1;
    fss_tensor full = {0}, y = {0};
    fss_status s = fss_tensor_init(&full, x->t.ndim, x->t.shape, x->t.bits, x->t.scale);
    for (size_t j = 0; s == FSS_OK && j < x->t.count; j++) /* copies of wires: linear */
        full.v[j] = b->v[(j / inner) % nb];
    if (s == FSS_OK && (s = fss_gate_add(ev, &x->t, &full, &y)) == FSS_OK) {
        fss_tensor_free(&x->t);
        x->t = y;
        memset(&y, 0, sizeof y);
    }
    fss_tensor_free(&full);
    return s;
}

/* An average over a window that counted the border's zeros (pad of them each side of an
 * h x w input) made an average over the window's other cells: times k^2 / cells at scale f,
 * a public factor each output position, so y is at twice its scale. Local: a public
 * constant times a wire, in every walk (the mask times it too). */
static void uncount(fss_tensor *y, const fss_onnx_step *st, size_t h, size_t w, int f)
{
    const size_t oh = y->shape[2], ow = y->shape[3], k = st->k, pad = st->pad;
    for (size_t pl = 0; pl < y->shape[0] * y->shape[1]; pl++)
        for (size_t i = 0; i < oh; i++)
            for (size_t j = 0; j < ow; j++) {
                const size_t r0 = i * st->stride, c0 = j * st->stride; /* the window's cells inside the border */
                const size_t rows = (r0 + k < h - pad ? r0 + k : h - pad) - (r0 > pad ? r0 : pad);
                const size_t cols = (c0 + k < w - pad ? c0 + k : w - pad) - (c0 > pad ? c0 : pad);
                const uint64_t c = (uint64_t)llround(ldexp((double)(k * k) / (double)(rows * cols), f));
                uint64_t *v = &y->v[(pl * oh + i) * ow + j];
                *v = fss_ring_mul(*v, c, y->bits);
            }
    y->scale *= 2;
}

/* The bits an average pool's inner sum (at its factor's fraction bits) takes over its output:
 * the factor's; over an uncounted pool's output at 2f (uncount), what they exceed f by. */
static int pool_extra(const fss_onnx_step *st, int bits, int f)
{
    if (st->op != FSS_ONNX_OP_AVGPOOL)
        return 0;
    const int frac = fss_avgpool_frac(st->k * st->k, bits);
    return !st->trans_b ? frac : frac > f ? frac - f : 0;
}

/* Raises pk to t's largest value if it takes more ring bits, sign included (extra: the bits
 * a gate's inner value takes over its output, an average pool's factor's). */
static void peak_of(const fss_tensor *t, int extra, size_t step, fss_onnx_peak *pk)
{
    for (size_t j = 0; j < t->count; j++) {
        const int64_t v = fss_ring_to_signed(t->v[j], t->bits);
        const uint64_t u = v < 0 ? ~(uint64_t)v : (uint64_t)v; /* v fits b bits: u under 2^(b-1) */
        int nb = 1 + extra;
        for (uint64_t r = u; r; r >>= 1)
            nb++;
        if (nb > pk->bits)
            *pk = (fss_onnx_peak){nb, t->scale, step, ldexp((double)u + (v < 0), -t->scale)};
    }
}

fss_status fss_onnx_walk_weights(fss_eval *ev, const fss_onnx_plan *p, int bits, int f, const fss_onnx_values *values,
                                 fss_progress *pg)
{
    int *sc = (int *)calloc(p->nsteps + 1, sizeof *sc);
    weight_use *uses = (weight_use *)calloc(2 * p->nsteps + 1, sizeof *uses);
    size_t *first = (size_t *)calloc(p->nsteps + 1, sizeof *first);
    fss_tensor P = {0};
    fss_status s = sc && uses && first ? FSS_OK : FSS_E_NOMEM;
    if (s == FSS_OK) {
        value_scales(p, f, sc);
        weight_uses(p, values, f, sc, uses, first);
    }
    for (size_t i = 0; s == FSS_OK && i < p->nsteps;) /* as the walk inputs them */
        s = weights_from(ev, p, values, bits, uses, first, i, &i, &P);
    fss_tensor_free(&P);
    free(sc), free(uses), free(first);
    fss_progress_step(pg, 0, 1, "weights");
    return s;
}

fss_status fss_onnx_walk(fss_eval *ev, const fss_onnx_plan *p, int bits, int f, const fss_onnx_values *values,
                         const float *input, uint64_t *out, fss_onnx_peak *peak, fss_progress *pg)
{
    if (peak)
        memset(peak, 0, sizeof *peak);
    const size_t nv = p->nsteps + 1;
    val *V = (val *)calloc(nv, sizeof *V);
    if (!V)
        return FSS_E_NOMEM;
    for (size_t i = 0; i < p->nsteps; i++) { /* last readers: a value is freed after them */
        const fss_onnx_step *st = &p->steps[i];
        V[st->a].last = (int)i + 1;
        if (st->b >= 0)
            V[st->b].last = (int)i + 1;
    }
    V[p->output].last = (int)nv;
    const int lazy = attention(p); /* attention's: shifts as the transformer family's (keys 40%, a round more),
                                    * and the weights in parts */
    if (lazy)
        fss_eval_set_lean_shifts(ev, FSS_ONNX_LEAN_MIN);
    /* party 1's input at scale f */
    size_t nin = 1;
    for (int d = 0; d < p->in_ndim; d++)
        nin *= p->in_shape[d];
    uint64_t *iv = NULL;
    fss_status s = FSS_OK;
    if (fss_eval_mode(ev) == FSS_MODE_CLEAR || fss_eval_party(ev) == 1) {
        if (!input || !(iv = (uint64_t *)malloc(nin * 8)))
            s = input ? FSS_E_NOMEM : FSS_E_ARG;
        for (size_t i = 0; iv && i < nin; i++)
            iv[i] = fss_fixed_from_float(input[i], f, bits);
    }
    if (s == FSS_OK)
        s = fss_gate_input(ev, 1, p->in_ndim, p->in_shape, bits, f, iv, &V[0].t);
    if (s == FSS_OK && peak && fss_eval_mode(ev) == FSS_MODE_CLEAR)
        peak_of(&V[0].t, 0, SIZE_MAX, peak);
    if (iv)
        fss_free_wiped(iv, nin * 8);
    /* party 0's weights: one input, or a part before its steps (attention) */
    int *sc = (int *)calloc(nv, sizeof *sc);
    weight_use *uses = (weight_use *)calloc(2 * p->nsteps + 1, sizeof *uses);
    size_t *first = (size_t *)calloc(p->nsteps + 1, sizeof *first);
    fss_tensor P = {0};
    size_t poff = 0;
    if (s == FSS_OK && (!sc || !uses || !first))
        s = FSS_E_NOMEM;
    if (s == FSS_OK) {
        value_scales(p, f, sc);
        weight_uses(p, values, f, sc, uses, first);
    }
    for (size_t i = 0, part = 0; s == FSS_OK && i < p->nsteps; i++) {
        const fss_onnx_step *st = &p->steps[i];
        if (i == part) { /* the weights of the steps from here on (a part of them, with attention) */
            poff = 0;
            if ((s = weights_from(ev, p, values, bits, uses, first, i, &part, &P)) != FSS_OK)
                break;
        }
        val *x = &V[st->a], *y = &V[i + 1];
        fss_tensor w = {0}, b = {0};
        /* a value read again later is copied before a step changes it in place */
        val xc = *x;
        int copied = 0;
        if (x->last > (int)i + 1 && st->op != FSS_ONNX_OP_RELU && st->op != FSS_ONNX_OP_MAXPOOL &&
            st->op != FSS_ONNX_OP_RESHAPE && st->op != FSS_ONNX_OP_PAD && st->op != FSS_ONNX_OP_TRANSPOSE &&
            st->op != FSS_ONNX_OP_SLICE) { /* the steps that rescale or move their input */
            memset(&xc.t, 0, sizeof xc.t);
            if ((s = fss_tensor_init(&xc.t, x->t.ndim, x->t.shape, x->t.bits, x->t.scale)) != FSS_OK)
                break;
            memcpy(xc.t.v, x->t.v, x->t.count * 8);
            copied = 1;
        }
        switch (st->op) {
        case FSS_ONNX_OP_CONV: {
            const size_t kw = (st->k - 1) / st->dil + 1; /* the initializer's taps */
            const size_t ws[4] = {st->cout, st->cin / st->groups, kw, kw}, bs[1] = {st->cout};
            fss_conv2d_params cv = {xc.t.shape[0], st->cin, xc.t.shape[2], xc.t.shape[3], st->cout, st->k, st->k, st->stride, st->pad};
            if ((s = rescale(ev, f, &xc)) == FSS_OK && (s = fss_tensor_view_next(&P, &poff, 4, ws, f, &w)) == FSS_OK &&
                (s = widen(&w, st->cin, st->groups, st->dil)) == FSS_OK)
                s = fss_gate_conv2d(ev, &xc.t, &w, &cv, &y->t);
            if (s == FSS_OK && (st->bias >= 0 || st->bn[0] >= 0)) { /* the bias at 2f (a folded one's own) */
                if ((s = fss_tensor_view_next(&P, &poff, 1, bs, 2 * f, &b)) == FSS_OK)
                    s = add_vector(ev, y, &b);
            }
            break;
        }
        case FSS_ONNX_OP_GEMM: { /* a MatMul's leading axes as rows */
            const size_t ws[2] = {st->cin, st->cout}, bs[1] = {st->cout};
            if ((s = rescale(ev, f, &xc)) == FSS_OK &&
                (s = fss_tensor_view_next(&P, &poff, 2, ws, f, &w)) == FSS_OK) {
                fss_tensor rows = xc.t; /* the same wires as [rows][in] */
                rows.ndim = 2, rows.shape[0] = xc.t.count / st->cin, rows.shape[1] = st->cin, rows.shape[2] = rows.shape[3] = 0;
                if ((s = fss_gate_matmul(ev, &rows, &w, &y->t)) == FSS_OK)
                    y->t.ndim = st->ndim, memcpy(y->t.shape, st->shape, sizeof st->shape);
            }
            if (s == FSS_OK && st->bias >= 0 && (s = fss_tensor_view_next(&P, &poff, 1, bs, 2 * f, &b)) == FSS_OK)
                s = add_vector(ev, y, &b);
            break;
        }
        case FSS_ONNX_OP_BIAS: {
            const size_t bs[1] = {p->weights[st->bias].count};
            y->t = xc.t, y->nonneg = 0;
            if (!copied) /* moved: x is not read again */
                memset(&x->t, 0, sizeof x->t);
            else
                memset(&xc.t, 0, sizeof xc.t);
            if ((s = fss_tensor_view_next(&P, &poff, 1, bs, y->t.scale, &b)) == FSS_OK && st->trans_b) {
                fss_tensor nb = {0}; /* Sub: the initializer negated (local) */
                if ((s = fss_gate_scale(ev, &b, fss_ring_from_signed(-1, bits), &nb)) == FSS_OK) {
                    fss_tensor_free(&b);
                    b = nb;
                }
            }
            if (s == FSS_OK)
                s = add_vector(ev, y, &b);
            break;
        }
        case FSS_ONNX_OP_ADD:
        case FSS_ONNX_OP_SUB: {
            val yb;
            if ((s = copy_of(&V[st->b], &yb)) == FSS_OK) { /* b stays as it is */
                if ((s = upscale(ev, &xc, yb.t.scale)) == FSS_OK && (s = upscale(ev, &yb, xc.t.scale)) == FSS_OK)
                    s = st->op == FSS_ONNX_OP_ADD ? fss_gate_add(ev, &xc.t, &yb.t, &y->t) : fss_gate_sub(ev, &xc.t, &yb.t, &y->t);
                fss_tensor_free(&yb.t);
            }
            break;
        }
        case FSS_ONNX_OP_MUL: { /* both at f, b copied (and spread over a's planes), the product at 2f */
            val yb;
            fss_tensor full = {0};
            if ((s = copy_of(&V[st->b], &yb)) == FSS_OK) {
                if ((s = rescale(ev, f, &xc)) == FSS_OK && (s = rescale(ev, f, &yb)) == FSS_OK &&
                    yb.t.count != xc.t.count && (s = fss_tensor_init(&full, xc.t.ndim, xc.t.shape, bits, yb.t.scale)) == FSS_OK)
                    for (size_t j = 0, plane = xc.t.shape[2] * xc.t.shape[3]; j < full.count; j++) /* copies: linear */
                        full.v[j] = yb.t.v[j / plane];
                if (s == FSS_OK)
                    s = fss_gate_mul(ev, &xc.t, full.v ? &full : &yb.t, &y->t);
                y->nonneg = xc.nonneg && yb.nonneg;
                fss_tensor_free(&yb.t), fss_tensor_free(&full);
            }
            break;
        }
        case FSS_ONNX_OP_RELU:
            s = xc.t.scale > f ? fss_gate_relu_ars(ev, &xc.t, xc.t.scale - f, &y->t) : fss_gate_relu(ev, &xc.t, &y->t);
            y->nonneg = 1;
            break;
        case FSS_ONNX_OP_SCALE: { /* x round(k 2^f): a product, at 2f; -1 (Neg): local, at x's scale */
            if (st->eps == -1.0f) {
                const uint64_t minus1 = fss_ring_from_signed(-1, bits);
                s = fss_gate_scale(ev, &xc.t, minus1, &y->t);
                break;
            }
            if (lazy && xc.t.scale == 2 * f) { /* attention's (the scores' 1/sqrt(d)): at 3f, shifted once later */
                if ((s = fss_gate_scale(ev, &xc.t, fss_ring_from_signed((int64_t)llround(ldexp(st->eps, f)), bits), &y->t)) == FSS_OK)
                    y->t.scale = 3 * f;
                y->nonneg = xc.nonneg && st->eps > 0;
                break;
            }
            if ((s = rescale(ev, f, &xc)) == FSS_OK &&
                (s = fss_gate_scale(ev, &xc.t, fss_ring_from_signed((int64_t)llround(ldexp(st->eps, f)), bits), &y->t)) == FSS_OK)
                y->t.scale = 2 * f;
            y->nonneg = xc.nonneg && st->eps > 0;
            break;
        }
        case FSS_ONNX_OP_HARDSIGMOID: { /* t = (alpha x at 2f, shifted to f) + beta: relu(t) - relu(t - 1); HardSwish: x times it */
            fss_tensor z = {0}, zb = {0}, t = {0}, r1 = {0}, t1 = {0}, r2 = {0}, hs = {0};
            const uint64_t cb = fss_ring_from_signed((int64_t)llround(ldexp(st->eps2, f)), bits),
                           m1 = fss_ring_from_signed(-((int64_t)1 << f), bits);
            if ((s = rescale(ev, f, &xc)) == FSS_OK &&
                (s = fss_gate_scale(ev, &xc.t, fss_ring_from_signed((int64_t)llround(ldexp(st->eps, f)), bits), &z)) == FSS_OK) {
                z.scale = 2 * f; /* alpha x, shifted to f, then beta at f */
                if ((s = fss_gate_ars_bounded(ev, &z, f, &zb)) == FSS_OK && (s = fss_gate_add_const(ev, &zb, &cb, 1, &t)) == FSS_OK &&
                    (s = fss_gate_relu(ev, &t, &r1)) == FSS_OK && (s = fss_gate_add_const(ev, &t, &m1, 1, &t1)) == FSS_OK &&
                    (s = fss_gate_relu(ev, &t1, &r2)) == FSS_OK)
                    s = fss_gate_sub(ev, &r1, &r2, st->trans_b ? &hs : &y->t);
            }
            if (s == FSS_OK && st->trans_b)
                s = fss_gate_mul(ev, &xc.t, &hs, &y->t);
            y->nonneg = !st->trans_b;
            fss_tensor_free(&z), fss_tensor_free(&zb), fss_tensor_free(&t), fss_tensor_free(&r1), fss_tensor_free(&t1);
            fss_tensor_free(&r2), fss_tensor_free(&hs);
            break;
        }
        case FSS_ONNX_OP_LEAKY: { /* (1 - a) relu(x) + a x, at 2f */
            fss_tensor r = {0}, u = {0}, v2 = {0};
            const int64_t ka = (int64_t)llround(ldexp(st->eps, f)), kr = ((int64_t)1 << f) - ka;
            if ((s = rescale(ev, f, &xc)) == FSS_OK && (s = fss_gate_relu(ev, &xc.t, &r)) == FSS_OK &&
                (s = fss_gate_scale(ev, &r, fss_ring_from_signed(kr, bits), &u)) == FSS_OK &&
                (s = fss_gate_scale(ev, &xc.t, fss_ring_from_signed(ka, bits), &v2)) == FSS_OK &&
                (s = fss_gate_add(ev, &u, &v2, &y->t)) == FSS_OK)
                y->t.scale = 2 * f;
            fss_tensor_free(&r), fss_tensor_free(&u), fss_tensor_free(&v2);
            break;
        }
        case FSS_ONNX_OP_CONCAT: { /* at the larger scale: copies of wires */
            val yb = V[st->b];
            fss_tensor bc = {0};
            s = fss_tensor_init(&bc, yb.t.ndim, yb.t.shape, yb.t.bits, yb.t.scale);
            if (s == FSS_OK) {
                memcpy(bc.v, yb.t.v, yb.t.count * 8);
                yb.t = bc;
                if ((s = upscale(ev, &xc, yb.t.scale)) == FSS_OK && (s = upscale(ev, &yb, xc.t.scale)) == FSS_OK &&
                    (s = fss_tensor_init(&y->t, st->ndim, st->shape, bits, xc.t.scale)) == FSS_OK) {
                    size_t outer, inner; /* blocks of a's and b's along the axis, in turn */
                    around(st->shape, st->ndim, st->axis, &outer, &inner);
                    const size_t ca = xc.t.shape[st->axis] * inner, cb = yb.t.shape[st->axis] * inner;
                    for (size_t o = 0; o < outer; o++) {
                        memcpy(y->t.v + o * (ca + cb), xc.t.v + o * ca, ca * 8);
                        memcpy(y->t.v + o * (ca + cb) + ca, yb.t.v + o * cb, cb * 8);
                    }
                    y->nonneg = xc.nonneg && yb.nonneg;
                }
                fss_tensor_free(&yb.t);
            }
            break;
        }
        case FSS_ONNX_OP_TRANSPOSE: /* the wires moved: out[i0][i1][i2][i3] = in at the permuted index */
            if ((s = fss_tensor_init(&y->t, st->ndim, st->shape, bits, xc.t.scale)) == FSS_OK) {
                size_t in_stride[4] = {0, 0, 0, 0}, stride[4] = {0, 0, 0, 0}, ext[4] = {1, 1, 1, 1}, acc = 1;
                for (int d = st->ndim - 1; d >= 0; d--) /* the input's strides, then read in the output's order */
                    in_stride[d] = acc, acc *= xc.t.shape[d];
                for (int d = 0; d < st->ndim; d++)
                    stride[d] = in_stride[st->perm[d]], ext[d] = st->shape[d];
                strided_copy(y->t.v, xc.t.v, ext, stride);
            }
            y->nonneg = xc.nonneg;
            break;
        case FSS_ONNX_OP_RMSNORM: { /* the gain at f */
            const size_t ds[1] = {st->shape[st->ndim - 1]};
            if ((s = rescale(ev, f, &xc)) == FSS_OK && (s = fss_tensor_view_next(&P, &poff, 1, ds, f, &w)) == FSS_OK)
                s = fss_gate_rmsnorm(ev, &xc.t, &w, st->eps, &y->t);
            break;
        }
        case FSS_ONNX_OP_SILU:
            if ((s = rescale(ev, f, &xc)) == FSS_OK)
                s = fss_gate_silu(ev, &xc.t, &y->t);
            break;
        case FSS_ONNX_OP_WMUL: /* both at f, the constant spread over the value's shape; at 2f */
        case FSS_ONNX_OP_WADD: { /* the constant at the value's scale */
            const size_t ws[1] = {p->weights[st->w].count};
            fss_tensor full = {0};
            if ((st->op == FSS_ONNX_OP_WADD || (s = rescale(ev, f, &xc)) == FSS_OK) &&
                (s = fss_tensor_view_next(&P, &poff, 1, ws, st->op == FSS_ONNX_OP_WMUL ? f : xc.t.scale, &w)) == FSS_OK &&
                (s = spread(&w, &xc.t, st->groups, &full)) == FSS_OK)
                s = st->op == FSS_ONNX_OP_WMUL ? fss_gate_mul(ev, &xc.t, &full, &y->t)
                    : st->trans_b              ? fss_gate_sub(ev, &xc.t, &full, &y->t)
                                               : fss_gate_add(ev, &xc.t, &full, &y->t);
            fss_tensor_free(&full);
            break;
        }
        case FSS_ONNX_OP_REPEAT: /* each entry of the axis k times in a row: copies of wires */
            if ((s = fss_tensor_init(&y->t, st->ndim, st->shape, bits, xc.t.scale)) == FSS_OK) {
                size_t outer, inner;
                around(xc.t.shape, st->ndim, st->axis, &outer, &inner);
                outer *= xc.t.shape[st->axis]; /* each entry of the axis a block */
                for (size_t o = 0; o < outer; o++)
                    for (size_t r = 0; r < st->k; r++)
                        memcpy(y->t.v + (o * st->k + r) * inner, xc.t.v + o * inner, inner * 8);
            }
            y->nonneg = xc.nonneg;
            break;
        case FSS_ONNX_OP_SLICE: /* the wires of entries cin .. cin + len of the axis */
            if ((s = fss_tensor_init(&y->t, st->ndim, st->shape, bits, xc.t.scale)) == FSS_OK) {
                size_t outer, inner;
                around(st->shape, st->ndim, st->axis, &outer, &inner);
                const size_t from = xc.t.shape[st->axis] * inner, len = st->shape[st->axis] * inner;
                for (size_t o = 0; o < outer; o++)
                    memcpy(y->t.v + o * len, xc.t.v + o * from + st->cin * inner, len * 8);
            }
            y->nonneg = xc.nonneg;
            break;
        case FSS_ONNX_OP_BMM: { /* both at f; [B][m][k] times [B][k][n], B the leading axes' product; at 2f */
            val yb;
            if ((s = copy_of(&V[st->b], &yb)) == FSS_OK) {
                const int nd = st->ndim;
                const size_t m = xc.t.shape[nd - 2], k = xc.t.shape[nd - 1], n = yb.t.shape[nd - 1], B = xc.t.count / (m * k);
                if ((s = rescale(ev, f, &xc)) == FSS_OK && (s = rescale(ev, f, &yb)) == FSS_OK) {
                    fss_tensor X = xc.t, W = yb.t; /* the same wires, as 3-d */
                    X.ndim = W.ndim = 3, X.shape[0] = W.shape[0] = B, X.shape[3] = W.shape[3] = 0;
                    X.shape[1] = m, X.shape[2] = k, W.shape[1] = k, W.shape[2] = n;
                    if ((s = fss_gate_matmul_batched(ev, &X, &W, 0, &y->t)) == FSS_OK)
                        y->t.ndim = nd, memcpy(y->t.shape, st->shape, sizeof st->shape);
                }
                fss_tensor_free(&yb.t);
            }
            break;
        }
        case FSS_ONNX_OP_PAD: /* public zeros (0 in every walk) around each plane */
            if ((s = fss_tensor_init(&y->t, 4, st->shape, bits, xc.t.scale)) == FSS_OK) {
                const size_t h = xc.t.shape[2], w2 = xc.t.shape[3], H = st->shape[2], W2 = st->shape[3];
                for (size_t pl = 0; pl < st->shape[0] * st->shape[1]; pl++)
                    for (size_t r = 0; r < h; r++)
                        memcpy(y->t.v + pl * H * W2 + (r + st->pad) * W2 + st->pad, xc.t.v + pl * h * w2 + r * w2, w2 * 8);
            }
            y->nonneg = xc.nonneg;
            break;
        case FSS_ONNX_OP_SIGMOID:
            if ((s = rescale(ev, f, &xc)) == FSS_OK)
                s = fss_gate_sigmoid(ev, &xc.t, &y->t);
            y->nonneg = 1;
            break;
        case FSS_ONNX_OP_TANH: { /* 2 sigmoid(2x) - 1 */
            fss_tensor x2 = {0}, sg = {0}, s2 = {0};
            const uint64_t minus1 = fss_ring_from_signed(-((int64_t)1 << f), bits);
            if ((s = rescale(ev, f, &xc)) == FSS_OK && (s = fss_gate_scale(ev, &xc.t, 2, &x2)) == FSS_OK &&
                (s = fss_gate_sigmoid(ev, &x2, &sg)) == FSS_OK && (s = fss_gate_scale(ev, &sg, 2, &s2)) == FSS_OK)
                s = fss_gate_add_const(ev, &s2, &minus1, 1, &y->t);
            fss_tensor_free(&x2), fss_tensor_free(&sg), fss_tensor_free(&s2);
            break;
        }
        case FSS_ONNX_OP_GELU:
            if ((s = rescale(ev, f, &xc)) == FSS_OK)
                s = fss_gate_gelu(ev, &xc.t, &y->t);
            break;
        case FSS_ONNX_OP_LAYERNORM: { /* no bias: public zeros */
            const size_t ds[1] = {st->shape[st->ndim - 1]};
            if ((s = rescale(ev, f, &xc)) == FSS_OK && (s = fss_tensor_view_next(&P, &poff, 1, ds, f, &w)) == FSS_OK)
                s = st->bias >= 0 ? fss_tensor_view_next(&P, &poff, 1, ds, f, &b) : fss_tensor_init(&b, 1, ds, bits, f);
            if (s == FSS_OK)
                s = fss_gate_layernorm(ev, &xc.t, &w, &b, st->eps, &y->t);
            break;
        }
        case FSS_ONNX_OP_SOFTMAX:
            if ((s = rescale(ev, f, &xc)) == FSS_OK)
                s = fss_gate_softmax(ev, &xc.t, st->trans_b, &y->t);
            y->nonneg = 1;
            break;
        case FSS_ONNX_OP_CLIP: { /* relu(x) - relu(x - max) */
            fss_tensor r1 = {0}, sh = {0}, r2 = {0};
            const uint64_t cmax = fss_ring_from_signed(-(int64_t)llround(ldexp(st->eps, f)), bits);
            if ((s = rescale(ev, f, &xc)) == FSS_OK && (s = fss_gate_relu(ev, &xc.t, &r1)) == FSS_OK &&
                (s = fss_gate_add_const(ev, &xc.t, &cmax, 1, &sh)) == FSS_OK && (s = fss_gate_relu(ev, &sh, &r2)) == FSS_OK)
                s = fss_gate_sub(ev, &r1, &r2, &y->t);
            y->nonneg = 1;
            fss_tensor_free(&r1), fss_tensor_free(&sh), fss_tensor_free(&r2);
            break;
        }
        case FSS_ONNX_OP_MAXPOOL:
            s = fss_gate_maxpool_pad(ev, &xc.t, st->k, st->stride, st->pad, &y->t);
            y->nonneg = xc.nonneg;
            break;
        case FSS_ONNX_OP_AVGPOOL:
            if ((s = rescale(ev, f, &xc)) == FSS_OK && (s = fss_gate_avgpool(ev, &xc.t, st->k, st->stride, &y->t)) == FSS_OK &&
                st->trans_b)
                uncount(&y->t, st, xc.t.shape[2], xc.t.shape[3], f);
            y->nonneg = xc.nonneg;
            break;
        case FSS_ONNX_OP_RESHAPE: /* the same wires, a new shape */
            if ((s = fss_tensor_init(&y->t, st->ndim, st->shape, xc.t.bits, xc.t.scale)) == FSS_OK)
                memcpy(y->t.v, xc.t.v, xc.t.count * 8);
            y->nonneg = xc.nonneg;
            break;
        }
        if (copied)
            fss_tensor_free(&xc.t);
        else if (st->op != FSS_ONNX_OP_BIAS)
            x->t = xc.t; /* a rescale or upscale replaced it */
        fss_tensor_free(&w);
        fss_tensor_free(&b);
        for (size_t v = 0; v <= i; v++) /* values no later step reads */
            if (V[v].last == (int)i + 1 && (int)v != p->output)
                fss_tensor_free(&V[v].t);
        if (s == FSS_OK && peak && fss_eval_mode(ev) == FSS_MODE_CLEAR) /* the ring bits this input used */
            peak_of(&y->t, pool_extra(st, bits, f), i, peak);
        if (s == FSS_OK)
            fss_progress_step(pg, i, p->nsteps, st->name);
        else if (!fss_eval_error(ev)[0])
            s = fss_eval_fail(ev, s, "onnx: node '%s' failed", st->name);
    }
    val *o = &V[p->output];
    if (s == FSS_OK && (s = rescale(ev, f, o)) == FSS_OK)
        s = fss_gate_output(ev, 1, &o->t, out);
    for (size_t v = 0; v < nv; v++)
        fss_tensor_free(&V[v].t);
    fss_tensor_free(&P);
    free(V), free(sc), free(uses), free(first);
    return s;
}
