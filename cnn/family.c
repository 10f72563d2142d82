/* The CNN models as a model family (fss/family.h): their flags, the run's description,
 * and the files around the walk: weights (party 0), images and labels (party 1), and the
 * logits revealed to party 1. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fss/cnn.h"
#include "fss/family.h"
#include "fss/gates.h"
#include "fss/npy.h"
#include "fss/ring.h"
#include "fss/rng.h"

/* --input random: images uniform in [0, 1) from this seed, for benchmarks without data. */
#define RANDOM_INPUT_SEED 2
#define MAX_BATCH 1000000

typedef struct cnn_run {
    const fss_cnn_model *m;
    size_t batch;       /* dealer: --batch; a party: the key file's; clear: the input's */
    /* --task accuracy: only the counts of right predictions against party 1's labels are
     * opened (to party 1, or both), and with --confusion the confusion matrix */
    int accuracy, confusion, reveal_both;
    int probability;      /* --task probability: sigma(z1 - z0) of a two-class model, to party 1 */
    uint64_t *label_ids;  /* party 1 and clear, accuracy: batch labels */
    uint64_t *acc;        /* the opened counts: 1, or classes^2 with --confusion */
    fss_cnn_weights w;  /* party 0 and clear */
    float *images;      /* party 1 and clear: batch images */
    uint64_t *logits;   /* party 1 and clear: batch x classes, revealed */
    fss_npy labels;     /* --labels, when given */
} cnn_run;

static const fss_flag cnn_flags[] = {
    {"--batch", "B", FSS_ROLE_DEALER, 0, "images an inference (default 1)"},
    {"--weights", "FILE", FSS_ROLE_PARTY0 | FSS_ROLE_CLEAR, 0, "safetensors weights (or --random-weights)"},
    {"--random-weights", "SEED", FSS_ROLE_PARTY0 | FSS_ROLE_CLEAR, 0,
     "random weights of the right shapes from SEED, the same in a secure and a clear run (benchmarks)"},
    {"--input", "FILE", FSS_ROLE_PARTY1 | FSS_ROLE_CLEAR, FSS_ROLE_PARTY1 | FSS_ROLE_CLEAR,
     ".npy float32 [batch][c][h][w]; 'random': uniform images from a fixed seed (give --first N)"},
    {"--output", "FILE", FSS_ROLE_PARTY0 | FSS_ROLE_PARTY1 | FSS_ROLE_CLEAR, FSS_ROLE_PARTY1 | FSS_ROLE_CLEAR,
     ".npy float32 logits [batch][classes]; with --task accuracy, the counts as JSON (party 0 too when the dealer "
     "was told --reveal-to both)"},
    {"--task", "T", FSS_ROLES_ALL, 0,
     "logits (default: party 1 gets the logits), probability (a two-class model's sigma(z1 - z0), the probability "
     "of class 1) or accuracy (only how many predictions equal party 1's --labels)"},
    {"--confusion", NULL, FSS_ROLE_DEALER | FSS_ROLE_CLEAR, 0, "with --task accuracy: the confusion matrix's counts too"},
    {"--reveal-to", "WHO", FSS_ROLE_DEALER, 0, "with --task accuracy: 1 (default) or both (party 0 gets the counts too)"},
    {"--first", "N", FSS_ROLE_PARTY1 | FSS_ROLE_CLEAR, 0, "use only the first N images of --input"},
    {"--labels", "FILE", FSS_ROLE_PARTY1 | FSS_ROLE_CLEAR, 0,
     ".npy integer labels: print the predictions and the accuracy (--task accuracy: required, kept secret)"},
    {NULL, NULL, 0, 0, NULL},
};

static int cnn_knows(const char *model) { return fss_cnn_find(model) != NULL; }

static fss_status new_run(void **state, const fss_cnn_model *m, size_t batch)
{
    cnn_run *r = (cnn_run *)calloc(1, sizeof *r);
    if (!r)
        return FSS_E_NOMEM;
    r->m = m;
    r->batch = batch;
    *state = r;
    return FSS_OK;
}

/* --task, --confusion and --reveal-to into r (the dealer's and the clear run's; a party's
 * --task must be its keys'). */
static fss_status task_flags(cnn_run *r, fss_role role, const fss_args *a, char *err, size_t err_len)
{
    const char *t = fss_args_get(a, "--task"), *who = fss_args_get(a, "--reveal-to");
    if (t && strcmp(t, "logits") && strcmp(t, "accuracy") && strcmp(t, "probability"))
        return fss_errorf(err, err_len, FSS_E_ARG, "--task is logits, probability or accuracy, not '%s'", t);
    const int acc = t && !strcmp(t, "accuracy"), prob = t && !strcmp(t, "probability");
    if (role & (FSS_ROLE_PARTY0 | FSS_ROLE_PARTY1)) {
        if (t && (acc != r->accuracy || prob != r->probability))
            return fss_errorf(err, err_len, FSS_E_ARG, "--task %s, but these keys are for --task %s", t,
                              r->accuracy ? "accuracy" : r->probability ? "probability" : "logits");
        return FSS_OK;
    }
    if (prob && r->m->classes != 2)
        return fss_errorf(err, err_len, FSS_E_ARG, "--task probability is for two-class models; %s has %zu classes",
                          r->m->name, r->m->classes);
    r->probability = prob;
    if (who && strcmp(who, "1") && strcmp(who, "both"))
        return fss_errorf(err, err_len, FSS_E_ARG, "--reveal-to is 1 or both, not '%s'", who);
    if (!acc && (who || fss_args_get(a, "--confusion")))
        return fss_errorf(err, err_len, FSS_E_ARG, "%s goes with --task accuracy",
                          who ? "--reveal-to" : "--confusion");
    if (acc && r->m->classes > 4096)
        return fss_errorf(err, err_len, FSS_E_ARG, "--task accuracy takes up to 4096 classes");
    r->accuracy = acc;
    r->confusion = acc && fss_args_get(a, "--confusion") != NULL;
    r->reveal_both = acc && who && !strcmp(who, "both");
    return FSS_OK;
}

static fss_status cnn_configure(void **state, const char *model, fss_role role, const fss_args *a, char *err,
                                size_t err_len)
{
    size_t batch = role == FSS_ROLE_DEALER ? 1 : 0; /* clear: the input's */
    const char *b = fss_args_get(a, "--batch");
    if (b && !fss_parse_count(b, MAX_BATCH, &batch))
        return fss_errorf(err, err_len, FSS_E_ARG, "--batch needs a positive integer up to %d, not '%s'", MAX_BATCH, b);
    fss_status s = new_run(state, fss_cnn_find(model), batch);
    return s == FSS_OK ? task_flags((cnn_run *)*state, role, a, err, err_len) : s;
}

/* "model=lenet batch=4 bits=40 scale=12": the bits and scale follow from the model, and
 * the runtime checks that the text describe gives back is the one parsed. */
static fss_status cnn_parse(void **state, const char *desc, char *err, size_t err_len)
{
    char name[64];
    size_t batch = 0;
    const fss_cnn_model *m = NULL;
    if (sscanf(desc, "model=%63s batch=%zu", name, &batch) != 2 || !(m = fss_cnn_find(name)) || !batch ||
        batch > MAX_BATCH)
        return fss_errorf(err, err_len, FSS_E_FORMAT, "the key file describes '%s', which this build does not know",
                          desc);
    fss_status s = new_run(state, m, batch);
    cnn_run *r = (cnn_run *)*state;
    if (s == FSS_OK)
        r->probability = strstr(desc, " task=probability") != NULL;
    if (s == FSS_OK && strstr(desc, " task=accuracy")) { /* the runtime checks that describe gives desc back */
        r->accuracy = 1;
        r->confusion = strstr(desc, " confusion=1") != NULL;
        r->reveal_both = strstr(desc, " reveal=both") != NULL;
    }
    return s;
}

static void cnn_describe(const void *state, char *out, size_t len)
{
    const cnn_run *r = (const cnn_run *)state;
    snprintf(out, len, "model=%s batch=%zu bits=%d scale=%d%s%s%s", r->m->name, r->batch, r->m->bits, r->m->scale,
             r->accuracy ? " task=accuracy" : r->probability ? " task=probability" : "", r->confusion ? " confusion=1" : "",
             r->reveal_both ? " reveal=both" : "");
}

static void cnn_shape_json(const void *state, char *out, size_t len)
{
    const cnn_run *r = (const cnn_run *)state;
    snprintf(out, len, "\"model\": \"%s\", \"batch\": %zu%s", r->m->name, r->batch,
             r->accuracy ? ", \"task\": \"accuracy\"" : r->probability ? ", \"task\": \"probability\"" : "");
}

static fss_status random_images(cnn_run *r, size_t n, char *err, size_t err_len)
{
    const size_t count = n * r->m->c * r->m->h * r->m->w;
    uint64_t *u = (uint64_t *)malloc(count * 8);
    fss_rng *g = NULL;
    r->images = (float *)malloc(count * sizeof(float));
    fss_status s = r->images && u ? fss_rng_new_seeded(&g, RANDOM_INPUT_SEED) : FSS_E_NOMEM;
    if (s == FSS_OK)
        s = fss_rng_bytes(g, u, count * 8);
    for (size_t i = 0; s == FSS_OK && i < count; i++)
        r->images[i] = (float)fss_rng_unit(u[i]);
    fss_rng_free(g);
    free(u);
    r->batch = n;
    return s == FSS_OK ? s : fss_errorf(err, err_len, s, "cannot make random images");
}

/* Images from an .npy file, float32 [batch][c][h][w] (the first `first`, when given), all
 * finite. */
static fss_status load_images(cnn_run *r, const char *path, size_t first, char *err, size_t err_len)
{
    const fss_cnn_model *m = r->m;
    fss_npy a;
    fss_status s = fss_npy_read(path, &a, err, err_len);
    if (s != FSS_OK)
        return s;
    const size_t per = m->c * m->h * m->w;
    if (a.ndim != 4 || a.shape[1] != m->c || a.shape[2] != m->h || a.shape[3] != m->w || !a.shape[0]) {
        char got[96] = "";
        for (int d = 0, at = 0; d < a.ndim && at >= 0 && (size_t)at < sizeof got; d++)
            at += snprintf(got + at, sizeof got - (size_t)at, "%s%zu", d ? ", " : "", a.shape[d]);
        s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s holds an array of shape [%s]; model %s takes [batch, %zu, %zu, %zu]",
                       path, got, m->name, m->c, m->h, m->w);
    }
    else if (first > a.shape[0])
        s = fss_errorf(err, err_len, FSS_E_ARG, "--first %zu, but %s holds %zu images", first, path, a.shape[0]);
    const size_t n = first ? first : a.shape[0];
    if (s == FSS_OK && !(r->images = (float *)malloc(n * per * sizeof(float))))
        s = fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory for %zu images", n);
    for (size_t i = 0; s == FSS_OK && i < n * per; i++) {
        r->images[i] = (float)fss_npy_get(&a, i);
        if (!isfinite(r->images[i]))
            s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: element %zu (image %zu) is not a finite number", path, i,
                           i / per);
        else if (!fss_fixed_fits(r->images[i], m->scale, m->bits))
            s = fss_errorf(err, err_len, FSS_E_FORMAT,
                           "%s: element %zu (image %zu) is %g, beyond what model %s's fixed point holds (|x| <= %g)",
                           path, i, i / per, (double)r->images[i], m->name, fss_fixed_limit(m->scale, m->bits));
    }
    fss_npy_free(&a);
    if (s == FSS_OK)
        r->batch = n;
    return s;
}

static fss_status cnn_load(void *state, fss_role role, const fss_args *a, char *err, size_t err_len)
{
    cnn_run *r = (cnn_run *)state;
    fss_status s = FSS_OK;
    if (role & (FSS_ROLE_PARTY0 | FSS_ROLE_CLEAR)) {
        const char *path = fss_args_get(a, "--weights"), *seed = fss_args_get(a, "--random-weights");
        uint64_t sv = 0;
        if (!path == !seed)
            return fss_errorf(err, err_len, FSS_E_ARG,
                              "%s needs the model's weights: --weights FILE, or --random-weights SEED for a benchmark%s",
                              role & FSS_ROLE_CLEAR ? "the clear run" : "party 0", path ? " (not both)" : "");
        if (seed && !fss_parse_u64(seed, &sv))
            return fss_errorf(err, err_len, FSS_E_ARG, "--random-weights needs a whole number, not '%s'", seed);
        s = path ? fss_cnn_weights_load(r->m, path, &r->w, err, err_len) : fss_cnn_weights_random(r->m, sv, &r->w);
        if (s != FSS_OK && !path)
            return fss_errorf(err, err_len, s, "cannot make random weights for %s", r->m->name);
    }
    if (s == FSS_OK && (s = task_flags(r, role, a, err, err_len)) == FSS_OK && role == FSS_ROLE_PARTY0) {
        /* party 0 receives the counts only when the dealer was told --reveal-to both */
        const char *out = fss_args_get(a, "--output");
        if (r->reveal_both && !out)
            return fss_errorf(err, err_len, FSS_E_ARG, "these keys give party 0 the accuracy: give --output FILE.json");
        if (!r->reveal_both && out)
            return fss_errorf(err, err_len, FSS_E_ARG, "party 0 receives nothing from this run: drop --output");
        if (out && (s = fss_npy_check_writable(out, err, err_len)) == FSS_OK &&
            !(r->acc = (uint64_t *)calloc(r->confusion ? r->m->classes * r->m->classes : 1, 8)))
            s = fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
    }
    if (s != FSS_OK || !(role & (FSS_ROLE_PARTY1 | FSS_ROLE_CLEAR)))
        return s;
    if (r->accuracy && !fss_args_get(a, "--labels"))
        return fss_errorf(err, err_len, FSS_E_ARG, "--task accuracy needs party 1's --labels FILE.npy");
    const char *input = fss_args_get(a, "--input"), *first = fss_args_get(a, "--first");
    const size_t keyed = r->batch; /* a party's: the key file's batch */
    size_t n = 0;
    if (first && !fss_parse_count(first, MAX_BATCH, &n))
        return fss_errorf(err, err_len, FSS_E_ARG, "--first needs a positive integer, not '%s'", first);
    if (!strcmp(input, "random")) {
        if (!n && !keyed)
            return fss_errorf(err, err_len, FSS_E_ARG, "--input random needs --first N (the number of images)");
        s = random_images(r, n ? n : keyed, err, err_len);
    } else {
        s = load_images(r, input, n, err, err_len); /* all of them, or the first n */
    }
    if (s == FSS_OK && keyed && r->batch != keyed)
        s = fss_errorf(err, err_len, FSS_E_ARG, "%s holds %zu images; these keys are for batches of %zu", input,
                       r->batch, keyed);
    const char *labels = fss_args_get(a, "--labels");
    if (s == FSS_OK && labels && (s = fss_npy_read(labels, &r->labels, err, err_len)) == FSS_OK &&
        r->labels.count < r->batch)
        s = fss_errorf(err, err_len, FSS_E_ARG, "%s holds %zu labels for %zu images", labels, r->labels.count,
                       r->batch);
    for (size_t i = 0; s == FSS_OK && labels && i < r->batch; i++) {
        const double l = fss_npy_get(&r->labels, i);
        if (!(l >= 0 && l < (double)r->m->classes && l == floor(l)))
            s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: label %zu is %g, not a class of %s (0 to %zu)", labels, i,
                           l, r->m->name, r->m->classes - 1);
    }
    if (s == FSS_OK && r->accuracy) { /* the labels as integers, for the walk */
        if (!(r->label_ids = (uint64_t *)malloc(r->batch * 8)) ||
            !(r->acc = (uint64_t *)calloc(r->confusion ? r->m->classes * r->m->classes : 1, 8)))
            s = fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
        for (size_t i = 0; s == FSS_OK && i < r->batch; i++)
            r->label_ids[i] = (uint64_t)fss_npy_get(&r->labels, i);
    }
    /* the output's place, before any key is spent: a missing or read-only directory */
    if (s == FSS_OK)
        s = fss_npy_check_writable(fss_args_get(a, "--output"), err, err_len);
    if (s == FSS_OK && !(r->logits = (uint64_t *)calloc(r->batch * r->m->classes, 8)))
        s = fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
    return s;
}

static fss_status cnn_walk(void *state, fss_eval *ev, fss_progress *pg)
{
    cnn_run *r = (cnn_run *)state;
    const int clear = fss_eval_mode(ev) == FSS_MODE_CLEAR, b = fss_eval_party(ev);
    const fss_cnn_weights *w = clear || b == 0 ? &r->w : NULL;
    const float *images = clear || b == 1 ? r->images : NULL;
    if (!r->accuracy && !r->probability)
        return fss_cnn_walk(ev, r->m, r->batch, w, images, clear || b == 1 ? r->logits : NULL, pg);
    /* the logits stay secret: only the counts, or the probabilities, are opened */
    fss_tensor lg = {0}, y = {0}, z0 = {0}, z1 = {0}, z = {0};
    fss_status s = fss_cnn_walk_logits(ev, r->m, r->batch, w, images, &lg, pg);
    if (s == FSS_OK && r->probability) { /* sigma(z1 - z0), to party 1 only */
        size_t *at = (size_t *)malloc(2 * r->batch * sizeof *at);
        if (!at)
            s = fss_eval_fail(ev, FSS_E_NOMEM, "out of memory");
        for (size_t i = 0; at && i < r->batch; i++)
            at[i] = 2 * i, at[r->batch + i] = 2 * i + 1;
        if (s == FSS_OK && (s = fss_gate_gather(ev, &lg, at, r->batch, &z0)) == FSS_OK &&
            (s = fss_gate_gather(ev, &lg, at + r->batch, r->batch, &z1)) == FSS_OK && (s = fss_gate_sub(ev, &z1, &z0, &z)) == FSS_OK &&
            (s = fss_gate_sigmoid(ev, &z, &y)) == FSS_OK)
            s = fss_gate_output(ev, 1, &y, clear || b == 1 ? r->logits : NULL);
        free(at);
        fss_tensor_free(&lg), fss_tensor_free(&y), fss_tensor_free(&z0), fss_tensor_free(&z1), fss_tensor_free(&z);
        return s;
    }
    if (s == FSS_OK)
        s = fss_gate_accuracy(ev, &lg, 1, clear || b == 1 ? r->label_ids : NULL, r->confusion, &y);
    for (int to = 1; to >= 0 && s == FSS_OK; to--)
        if (to == 1 || r->reveal_both)
            s = fss_gate_output(ev, to, &y, r->acc);
    fss_tensor_free(&lg);
    fss_tensor_free(&y);
    return s;
}

static fss_status cnn_walk_weights(void *state, fss_eval *ev, fss_progress *pg)
{
    cnn_run *r = (cnn_run *)state;
    const int clear = fss_eval_mode(ev) == FSS_MODE_CLEAR, b = fss_eval_party(ev);
    return fss_cnn_walk_weights(ev, r->m, clear || b == 0 ? &r->w : NULL, pg);
}

/* Predicted class of each image (the largest logit), and the accuracy against labels. */
static void report_labels(const cnn_run *r)
{
    const fss_cnn_model *m = r->m;
    size_t right = 0;
    printf("predicted:");
    for (size_t i = 0; i < r->batch; i++) {
        size_t best = 0;
        for (size_t c = 1; !r->probability && c < m->classes; c++)
            if (fss_ring_to_signed(r->logits[i * m->classes + c], m->bits) >
                fss_ring_to_signed(r->logits[i * m->classes + best], m->bits))
                best = c;
        if (r->probability) /* class 1 where its probability is over one half (a tie z1 = z0 reads
                             * 0.5005 here, class 1, where the argmax takes class 0) */
            best = fss_ring_to_signed(r->logits[i], m->bits) > ((int64_t)1 << (m->scale - 1));
        right += (double)best == fss_npy_get(&r->labels, i);
        printf(" %zu", best);
    }
    printf("\naccuracy: %zu of %zu = %.2f%%\n", right, r->batch, 100.0 * (double)right / (double)r->batch);
}

/* {"correct": k, "total": B[, "confusion": [[counts of label a predicted as b]]]} */
static fss_status save_accuracy(const cnn_run *r, const char *path, char *err, size_t err_len)
{
    const size_t C = r->m->classes, cap = 64 + (r->confusion ? C * C * 12 + C * 4 : 0);
    char *text = (char *)malloc(cap);
    if (!text)
        return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
    uint64_t right = 0;
    for (size_t c = 0; c < (r->confusion ? C : 1); c++)
        right += r->acc[r->confusion ? c * C + c : 0];
    size_t at = (size_t)snprintf(text, cap, "{\"correct\": %llu, \"total\": %zu", (unsigned long long)right, r->batch);
    for (size_t i = 0; r->confusion && i < C; i++)
        for (size_t j = 0; j < C; j++)
            at += (size_t)snprintf(text + at, cap - at, "%s%llu%s", i + j ? (j ? ", " : ", [") : ", \"confusion\": [[",
                                   (unsigned long long)r->acc[i * C + j], j + 1 == C ? "]" : "");
    at += (size_t)snprintf(text + at, cap - at, "%s}\n", r->confusion ? "]" : "");
    fss_status s = fss_file_write_private(path, text, at, err, err_len);
    if (s == FSS_OK) /* stderr: stdout is --json's */
        fprintf(stderr, "accuracy: %llu of %zu = %.2f%%\n", (unsigned long long)right, r->batch,
                100.0 * (double)right / (double)r->batch);
    fss_free_wiped(text, cap);
    return s;
}

static fss_status cnn_save(void *state, fss_role role, const fss_args *a, char *err, size_t err_len)
{
    cnn_run *r = (cnn_run *)state;
    if (r->accuracy)
        return r->acc && (role != FSS_ROLE_PARTY0 || r->reveal_both)
                   ? save_accuracy(r, fss_args_get(a, "--output"), err, err_len)
                   : FSS_OK;
    if (!(role & (FSS_ROLE_PARTY1 | FSS_ROLE_CLEAR)))
        return FSS_OK;
    const size_t n = r->probability ? r->batch : r->batch * r->m->classes, shape[2] = {r->batch, r->m->classes};
    float *f = (float *)malloc(n * sizeof(float));
    if (!f)
        return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        f[i] = (float)fss_fixed_to_float(r->logits[i], r->m->scale, r->m->bits);
    fss_status s = fss_npy_write_f32(fss_args_get(a, "--output"), f, r->probability ? 1 : 2, shape, err, err_len);
    fss_free_wiped(f, n * sizeof(float));
    if (s == FSS_OK && r->labels.data)
        report_labels(r);
    return s;
}

static void cnn_free(void *state)
{
    cnn_run *r = (cnn_run *)state;
    if (!r)
        return;
    fss_cnn_weights_free(&r->w);
    if (r->images)
        fss_free_wiped(r->images, r->batch * r->m->c * r->m->h * r->m->w * sizeof(float));
    if (r->logits)
        fss_free_wiped(r->logits, r->batch * r->m->classes * 8);
    fss_npy_free(&r->labels);
    if (r->label_ids)
        fss_free_wiped(r->label_ids, r->batch * 8);
    if (r->acc)
        fss_free_wiped(r->acc, (r->confusion ? r->m->classes * r->m->classes : 1) * 8);
    free(r);
}

const fss_family fss_family_cnn = {
    .name = "cnn",
    /* 2: seeded input masks, ReLUs with their shift, owner-side products, DPF and DCF keys
     * serialized in level-major blocks (2026-11-26); 3: the first product's key without
     * shares of party 1's input mask (runtime/gates_linear.c, product_owned); 4: the
     * accuracy task's argmax a round a level (fss_gate_relu_tag); 5: fresh shares (a seed
     * each party) of the products' R_x R_w + R_z, the selects' output masks, the shifts' r_y - H(r)
     * and the one-round ReLUs' r_y - m r; 6: FSS keys without their roots, derived from a seed
     * a party and gate (runtime/keys.c), and explicit shares balanced between the parties. */
    .version = 6,
    .models = "lenet, cnn3-cifar, vgg16-cifar, resnet18-cifar, resnet-tiny, resnet18, resnet50, logreg-cancer, "
              "mlp-cancer",
    .flags = cnn_flags,
    .knows = cnn_knows,
    .configure = cnn_configure,
    .parse = cnn_parse,
    .describe = cnn_describe,
    .shape_json = cnn_shape_json,
    .load = cnn_load,
    .walk_weights = cnn_walk_weights,
    .walk = cnn_walk,
    .save = cnn_save,
    .free = cnn_free,
};
