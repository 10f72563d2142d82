/* ONNX models as a model family (fss/family.h): the dealer reads the graph's structure
 * (never its weights) and writes its plan into the key files; party 0 gives the model file
 * (its initializers are the weights; its graph must lower to the plan the keys were dealt
 * for); party 1 gives only its input, and gets the output. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fss/cnn.h" /* the fixed point's conversions */
#include "fss/family.h"
#include "fss/npy.h"
#include "fss/onnx_model.h"

#define DEFAULT_BITS 48
#define DEFAULT_SCALE 12
#define MAX_BATCH 1000000
#define MAX_SEQ 1000000

typedef struct onnx_run {
    size_t batch;
    int bits, scale;
    fss_onnx_plan plan;
    char *plan_text;          /* the dealer's and the clear run's; a party's from its keys */
    fss_onnx_graph *g;        /* party 0 and the clear run: with values */
    fss_onnx_values values;
    fss_npy input;            /* party 1 and the clear run */
    float *in;
    uint64_t *out;
    fss_onnx_peak peak;       /* the clear run's largest value */
} onnx_run;

static const fss_flag onnx_flags[] = {
    {"--onnx", "FILE", FSS_ROLE_DEALER | FSS_ROLE_PARTY0 | FSS_ROLE_CLEAR, FSS_ROLE_DEALER | FSS_ROLE_PARTY0 | FSS_ROLE_CLEAR,
     "the ONNX model (the dealer reads its graph only; party 0's initializers are the weights); names the model "
     "without --model"},
    {"--batch", "B", FSS_ROLE_DEALER | FSS_ROLE_CLEAR, 0, "examples a run (the dealer's default 1; the clear run: the input's)"},
    {"--seq", "N", FSS_ROLE_DEALER | FSS_ROLE_CLEAR, 0,
     "tokens a sequence, for a [batch, seq, features] input of dynamic length (the clear run: the input's)"},
    {"--bits", "N", FSS_ROLE_DEALER | FSS_ROLE_CLEAR, 0, "the ring's bits (default 48)"},
    {"--scale", "F", FSS_ROLE_DEALER | FSS_ROLE_CLEAR, 0, "fractional bits of the fixed point (default 12)"},
    {"--input", "FILE", FSS_ROLE_PARTY1 | FSS_ROLE_CLEAR, FSS_ROLE_PARTY1 | FSS_ROLE_CLEAR,
     ".npy float32 of the model's input shape, batch first"},
    {"--output", "FILE", FSS_ROLE_PARTY1 | FSS_ROLE_CLEAR, FSS_ROLE_PARTY1 | FSS_ROLE_CLEAR,
     ".npy float32 of the model's output"},
    {NULL, NULL, 0, 0, NULL},
};

static int onnx_knows(const char *model) { return !strcmp(model, "onnx"); }

static fss_status new_run(void **state)
{
    onnx_run *r = (onnx_run *)calloc(1, sizeof *r);
    *state = r;
    return r ? FSS_OK : FSS_E_NOMEM;
}

static fss_status number(const fss_args *a, const char *flag, size_t lo, size_t hi, size_t dflt, size_t *out, char *err,
                         size_t err_len)
{
    const char *v = fss_args_get(a, flag);
    *out = dflt;
    if (v && (!fss_parse_count(v, hi, out) || *out < lo))
        return fss_errorf(err, err_len, FSS_E_ARG, "%s needs a whole number from %zu to %zu, not '%s'", flag, lo, hi, v);
    return FSS_OK;
}

static fss_status onnx_configure(void **state, const char *model, fss_role role, const fss_args *a, char *err,
                                 size_t err_len)
{
    (void)model;
    fss_status s = new_run(state);
    onnx_run *r = (onnx_run *)*state;
    if (s != FSS_OK)
        return fss_errorf(err, err_len, s, "out of memory");
    size_t bits = 0, scale = 0, batch = 0, seq = 0;
    if ((s = number(a, "--bits", 16, 64, DEFAULT_BITS, &bits, err, err_len)) != FSS_OK ||
        (s = number(a, "--scale", 1, 30, DEFAULT_SCALE, &scale, err, err_len)) != FSS_OK ||
        (s = number(a, "--batch", 1, MAX_BATCH, role == FSS_ROLE_DEALER ? 1 : 0, &batch, err, err_len)) != FSS_OK ||
        (s = number(a, "--seq", 1, MAX_SEQ, 0, &seq, err, err_len)) != FSS_OK)
        return s;
    if (bits < 2 * scale + 8)
        return fss_errorf(err, err_len, FSS_E_ARG, "--bits %zu leaves no room for products at scale %zu (at least %zu)",
                          bits, scale, 2 * scale + 8);
    r->bits = (int)bits, r->scale = (int)scale;
    const char *path = fss_args_get(a, "--onnx"), *in = fss_args_get(a, "--input");
    if (!path)
        return fss_errorf(err, err_len, FSS_E_ARG, "an ONNX model needs --onnx FILE");
    if (role == FSS_ROLE_CLEAR && in && (s = fss_npy_read(in, &r->input, err, err_len)) != FSS_OK)
        return s;
    if (!batch) /* the clear run: the input's */
        batch = r->input.ndim ? r->input.shape[0] : 1;
    r->batch = batch;
    if ((s = fss_onnx_read(path, role == FSS_ROLE_CLEAR, &r->g, err, err_len)) != FSS_OK)
        return s;
    if (!seq && r->input.ndim == 3 && r->g->inputs[0].ndim == 3 && r->g->inputs[0].dims[1] < 0)
        seq = r->input.shape[1]; /* the clear run: the input's, where the model leaves it open */
    if ((s = fss_onnx_lower(r->g, batch, seq, &r->plan, err, err_len)) != FSS_OK ||
        (s = fss_onnx_plan_fits(&r->plan, r->bits, r->scale, err, err_len)) != FSS_OK)
        return s;
    if (!(r->plan_text = fss_onnx_plan_text(&r->plan)))
        return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
    return FSS_OK;
}

/* "batch=B bits=N scale=F" (the runtime adds the plan's digest) */
static fss_status onnx_parse(void **state, const char *desc, char *err, size_t err_len)
{
    fss_status s = new_run(state);
    onnx_run *r = (onnx_run *)*state;
    if (s != FSS_OK)
        return fss_errorf(err, err_len, s, "out of memory");
    int used = 0;
    if (sscanf(desc, "batch=%zu bits=%d scale=%d%n", &r->batch, &r->bits, &r->scale, &used) != 3 ||
        (size_t)used != strlen(desc) || !r->batch || r->batch > MAX_BATCH || r->bits < 16 || r->bits > 64 ||
        r->scale < 1 || r->scale > 30)
        return fss_errorf(err, err_len, FSS_E_FORMAT, "the key file describes '%s', which this build does not know",
                          desc);
    return FSS_OK;
}

static void onnx_describe(const void *state, char *out, size_t len)
{
    const onnx_run *r = (const onnx_run *)state;
    snprintf(out, len, "batch=%zu bits=%d scale=%d", r->batch, r->bits, r->scale);
}

static void onnx_shape_json(const void *state, char *out, size_t len)
{
    const onnx_run *r = (const onnx_run *)state;
    snprintf(out, len, "\"model\": \"onnx\", \"batch\": %zu, \"steps\": %zu", r->batch, r->plan.nsteps);
}

static fss_status onnx_plan(const void *state, uint8_t **bytes, size_t *len, char *err, size_t err_len)
{
    const onnx_run *r = (const onnx_run *)state;
    *len = strlen(r->plan_text);
    if (!(*bytes = (uint8_t *)malloc(*len ? *len : 1)))
        return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
    memcpy(*bytes, r->plan_text, *len);
    return FSS_OK;
}

static fss_status onnx_use_plan(void *state, const uint8_t *bytes, size_t len, char *err, size_t err_len)
{
    onnx_run *r = (onnx_run *)state;
    fss_status s = fss_onnx_plan_parse((const char *)bytes, len, &r->plan, err, err_len);
    if (s == FSS_OK)
        s = fss_onnx_plan_fits(&r->plan, r->bits, r->scale, err, err_len);
    if (s == FSS_OK && r->plan.batch != r->batch)
        s = fss_errorf(err, err_len, FSS_E_FORMAT, "the key file's plan is for batches of %zu, its description %zu",
                       r->plan.batch, r->batch);
    if (s == FSS_OK && !(r->plan_text = (char *)malloc(len + 1)))
        s = fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
    if (s == FSS_OK) {
        memcpy(r->plan_text, bytes, len);
        r->plan_text[len] = 0;
    }
    return s;
}

/* The input: the plan's shape, finite values the fixed point holds. */
static fss_status load_input(onnx_run *r, const char *path, char *err, size_t err_len)
{
    fss_status s = r->input.data ? FSS_OK : fss_npy_read(path, &r->input, err, err_len);
    if (s != FSS_OK)
        return s;
    const fss_onnx_plan *p = &r->plan;
    int same = r->input.ndim == p->in_ndim;
    for (int d = 0; same && d < p->in_ndim; d++)
        same = r->input.shape[d] == p->in_shape[d];
    if (!same) {
        char want[96] = "";
        for (int d = 0, at = 0; d < p->in_ndim && at >= 0 && (size_t)at < sizeof want; d++)
            at += snprintf(want + at, sizeof want - (size_t)at, "%s%zu", d ? ", " : "", p->in_shape[d]);
        return fss_errorf(err, err_len, FSS_E_FORMAT, "%s's shape is not the model's input [%s] (batches of %zu)", path,
                          want, p->batch);
    }
    if (!(r->in = (float *)malloc(r->input.count * sizeof(float))) ||
        !(r->out = (uint64_t *)calloc(fss_onnx_out_count(p), 8)))
        return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
    for (size_t i = 0; i < r->input.count; i++) {
        r->in[i] = (float)fss_npy_get(&r->input, i);
        if (!fss_fixed_fits(r->in[i], r->scale, r->bits))
            return fss_errorf(err, err_len, FSS_E_FORMAT, "%s: element %zu is not a finite number the fixed point holds",
                              path, i);
    }
    return FSS_OK;
}

static fss_status onnx_load(void *state, fss_role role, const fss_args *a, char *err, size_t err_len)
{
    onnx_run *r = (onnx_run *)state;
    fss_status s = FSS_OK;
    if (role == FSS_ROLE_DEALER)
        return FSS_OK;
    if (role == FSS_ROLE_PARTY0) { /* its own file must lower to the plan dealt */
        fss_onnx_plan mine;
        const char *path = fss_args_get(a, "--onnx");
        if ((s = fss_onnx_read(path, 1, &r->g, err, err_len)) != FSS_OK ||
            (s = fss_onnx_lower(r->g, r->batch, r->plan.in_ndim == 3 ? r->plan.in_shape[1] : 0, &mine, err, err_len)) !=
                FSS_OK)
            return s;
        char *text = fss_onnx_plan_text(&mine);
        if (!text || strcmp(text, r->plan_text))
            s = fss_errorf(err, err_len, FSS_E_ARG, "%s is not the model these keys were dealt for (its graph differs)",
                           path);
        free(text);
        fss_onnx_plan_free(&mine);
    }
    if (s == FSS_OK && (role & (FSS_ROLE_PARTY0 | FSS_ROLE_CLEAR)))
        s = fss_onnx_weights(&r->plan, r->g, r->bits, r->scale, &r->values, err, err_len);
    if (s == FSS_OK && (role & (FSS_ROLE_PARTY1 | FSS_ROLE_CLEAR)) &&
        (s = load_input(r, fss_args_get(a, "--input"), err, err_len)) == FSS_OK)
        s = fss_npy_check_writable(fss_args_get(a, "--output"), err, err_len);
    return s;
}

static fss_status onnx_walk(void *state, fss_eval *ev, fss_progress *pg)
{
    onnx_run *r = (onnx_run *)state;
    const int clear = fss_eval_mode(ev) == FSS_MODE_CLEAR, b = fss_eval_party(ev);
    return fss_onnx_walk(ev, &r->plan, r->bits, r->scale, clear || b == 0 ? &r->values : NULL, clear || b == 1 ? r->in : NULL,
                         clear || b == 1 ? r->out : NULL, clear ? &r->peak : NULL, pg);
}

static fss_status onnx_walk_weights(void *state, fss_eval *ev, fss_progress *pg)
{
    onnx_run *r = (onnx_run *)state;
    const int clear = fss_eval_mode(ev) == FSS_MODE_CLEAR, b = fss_eval_party(ev);
    return fss_onnx_walk_weights(ev, &r->plan, r->bits, r->scale, clear || b == 0 ? &r->values : NULL, pg);
}

static fss_status onnx_save(void *state, fss_role role, const fss_args *a, char *err, size_t err_len)
{
    onnx_run *r = (onnx_run *)state;
    if (!(role & (FSS_ROLE_PARTY1 | FSS_ROLE_CLEAR)))
        return FSS_OK;
    const fss_onnx_step *o = &r->plan.steps[r->plan.output - 1];
    const size_t n = fss_onnx_out_count(&r->plan);
    float *f = (float *)malloc((n ? n : 1) * sizeof *f);
    if (!f)
        return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        f[i] = (float)fss_fixed_to_float(r->out[i], r->scale, r->bits);
    fss_status s = fss_npy_write_f32(fss_args_get(a, "--output"), f, o->ndim, o->shape, err, err_len);
    fss_free_wiped(f, (n ? n : 1) * sizeof *f);
    if (s == FSS_OK && role == FSS_ROLE_CLEAR && r->peak.bits) { /* the headroom this input left */
        const int need = fss_onnx_plan_min_bits(&r->plan, r->scale), fit = r->peak.bits + 4 > need ? r->peak.bits + 4 : need;
        fprintf(stderr, "onnx: the largest value of this run, %.6g at node '%s' (scale %d), takes %d of the ring's %d "
                        "bits; at --scale %d, --bits %d leaves it 4 or more to spare%s\n",
                r->peak.value, r->peak.step == SIZE_MAX ? "(the input)" : r->plan.steps[r->peak.step].name, r->peak.scale, r->peak.bits, r->bits, r->scale, fit,
                need == fit ? " (the gates' own need)" : "");
    }
    return s;
}

static void onnx_free(void *state)
{
    onnx_run *r = (onnx_run *)state;
    if (!r)
        return;
    if (r->out)
        fss_free_wiped(r->out, fss_onnx_out_count(&r->plan) * 8);
    if (r->in)
        fss_free_wiped(r->in, r->input.count * sizeof(float));
    fss_npy_free(&r->input);
    fss_onnx_weights_free(&r->values);
    fss_onnx_free(r->g);
    fss_onnx_plan_free(&r->plan);
    free(r->plan_text);
    free(r);
}

const fss_family fss_family_onnx = {
    .name = "onnx",
    .version = 11, /* 2: plan text 3 (3-d values, transposes, products of two values); lean shifts with attention;
                   * 3: with attention, the weights in parts before their steps, a scalar factor kept at 3f;
                   * 4: a softmax max's levels under the lean bound in one round each (fss_gate_relu_tag);
                   * 5: the norms' row factor from one table; 6: the activations and nExp's clip
                   * under the lean bound by relu_tag, nExp's two tables one round; 7: fresh shares
                   * (a seed each party) of the products', selects', lookups', shifts' and one-round
                   * ReLUs' output masks; 8: FSS keys without their roots (a seed a party and gate),
                   * explicit shares balanced between the parties, nExp's lean clip in 20 bits,
                   * GeLU's and SiLU's select of the index in its 16 bits (select2), softmax's
                   * max in f + 15 bits; 9: softmax's max in f + 14 bits, a causal one on its
                   * kept entries alone, 64-bit lookups from pairs of whole words; 10: GeLU and
                   * SiLU interpolated between steps of 1/8 (two tables from one lookup's key),
                   * their sign and range from one key; 11: GeLU's height plus slope times
                   * the step's part one lookup (fss_gate_lut_lin) */
    .models = "onnx (--onnx FILE names it)",
    .selector = "--onnx",
    .flags = onnx_flags,
    .knows = onnx_knows,
    .configure = onnx_configure,
    .parse = onnx_parse,
    .describe = onnx_describe,
    .shape_json = onnx_shape_json,
    .load = onnx_load,
    .walk = onnx_walk,
    .walk_weights = onnx_walk_weights,
    .save = onnx_save,
    .free = onnx_free,
    .plan = onnx_plan,
    .use_plan = onnx_use_plan,
};
