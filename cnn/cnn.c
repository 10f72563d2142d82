#include "fss/cnn.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fss/gates.h"
#include "fss/ring.h"
#include "fss/rng.h"
#include "fss/safetensors.h"

/* ---- the models ---------------------------------------------------------------------
 * Built once, at first use, into a static table: ResNet's blocks are easier generated
 * than written out. Layer names follow the usual PyTorch modules (kuangliu's CIFAR
 * models for VGG and ResNet), so their state dicts load as they are. */
#define MAX_MODELS 12
static fss_cnn_model g_models[MAX_MODELS];
static size_t g_nmodels;
static char g_names[16384];
static size_t g_names_used;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static const char *intern(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = g_names + g_names_used;
    int n = vsnprintf(p, sizeof g_names - g_names_used, fmt, ap);
    va_end(ap);
    FSS_ASSERT(n > 0 && g_names_used + (size_t)n + 1 < sizeof g_names);
    g_names_used += (size_t)n + 1;
    return p;
}

static fss_cnn_model *model_new(const char *name, size_t c, size_t h, size_t w, size_t classes, int bits, int scale)
{
    FSS_ASSERT(g_nmodels < MAX_MODELS);
    fss_cnn_model *m = &g_models[g_nmodels++];
    memset(m, 0, sizeof *m);
    m->name = name;
    m->c = c;
    m->h = h;
    m->w = w;
    m->classes = classes;
    m->bits = bits;
    m->scale = scale;
    return m;
}

static void add(fss_cnn_model *m, fss_layer_kind kind, const char *name, size_t in, size_t out, size_t k, size_t stride,
                size_t pad, const char *bn)
{
    FSS_ASSERT(m->nlayers < FSS_CNN_MAX_LAYERS);
    m->layers[m->nlayers++] = (fss_layer){kind, name, in, out, k, stride, pad, bn};
}

#define RELU(m) add(m, FSS_LAYER_RELU, "relu", 0, 0, 0, 0, 0, NULL)

/* ResNet's BasicBlock: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)). The
 * projection shortcut is "<pfx>.<sc>.0" (conv) and "<pfx>.<sc>.1" (its BN): sc is
 * "shortcut" in kuangliu's CIFAR models, "downsample" in torchvision's. */
static void basic_block_named(fss_cnn_model *m, const char *pfx, size_t in, size_t out, size_t stride, const char *sc)
{
    add(m, FSS_LAYER_SAVE, "save", 0, 0, 0, 0, 0, NULL);
    add(m, FSS_LAYER_CONV, intern("%s.conv1", pfx), in, out, 3, stride, 1, intern("%s.bn1", pfx));
    RELU(m);
    add(m, FSS_LAYER_CONV, intern("%s.conv2", pfx), out, out, 3, 1, 1, intern("%s.bn2", pfx));
    if (stride != 1 || in != out)
        add(m, FSS_LAYER_SHORTCUT, intern("%s.%s.0", pfx, sc), in, out, 1, stride, 0, intern("%s.%s.1", pfx, sc));
    add(m, FSS_LAYER_ADD, "add", 0, 0, 0, 0, 0, NULL);
    RELU(m);
}

static void basic_block(fss_cnn_model *m, const char *pfx, size_t in, size_t out, size_t stride)
{
    basic_block_named(m, pfx, in, out, stride, "shortcut");
}

/* torchvision's Bottleneck (ResNet v1.5, the stride on the 3x3 conv):
 * relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))) + downsample(x)), width planes,
 * output 4 planes. */
static void bottleneck(fss_cnn_model *m, const char *pfx, size_t in, size_t planes, size_t stride)
{
    const size_t out = 4 * planes;
    add(m, FSS_LAYER_SAVE, "save", 0, 0, 0, 0, 0, NULL);
    add(m, FSS_LAYER_CONV, intern("%s.conv1", pfx), in, planes, 1, 1, 0, intern("%s.bn1", pfx));
    RELU(m);
    add(m, FSS_LAYER_CONV, intern("%s.conv2", pfx), planes, planes, 3, stride, 1, intern("%s.bn2", pfx));
    RELU(m);
    add(m, FSS_LAYER_CONV, intern("%s.conv3", pfx), planes, out, 1, 1, 0, intern("%s.bn3", pfx));
    if (stride != 1 || in != out)
        add(m, FSS_LAYER_SHORTCUT, intern("%s.downsample.0", pfx), in, out, 1, stride, 0,
            intern("%s.downsample.1", pfx));
    add(m, FSS_LAYER_ADD, "add", 0, 0, 0, 0, 0, NULL);
    RELU(m);
}

/* torchvision's ImageNet ResNets for 3x224x224: Conv7x7/2(3,64)-BN-ReLU, MaxPool(3,2,1),
 * four stages (64..512 planes, stride 2 from the second), AdaptiveAvgPool to 1x1 (a 7x7
 * average here), Linear(., 1000). The pool goes before the stem's ReLU (they commute):
 * a quarter of its ReLUs. 48-bit ring with 14 fractional bits: over ResNet-50's 53 layers
 * 12 bits lost 3-4% of the largest logit against PyTorch, 14 bits 1.2-1.4% (products at
 * scale 28 still leave activations +-2^19), for 3% more key bytes. */
static void imagenet_resnet(const char *name, const int *blocks, int bottlenecked)
{
    fss_cnn_model *m = model_new(name, 3, 224, 224, 1000, 48, 14);
    add(m, FSS_LAYER_CONV, "conv1", 3, 64, 7, 2, 3, "bn1");
    add(m, FSS_LAYER_MAXPOOL, "maxpool", 0, 0, 3, 2, 1, NULL);
    RELU(m);
    size_t in = 64;
    for (size_t st = 0; st < 4; st++) {
        const size_t planes = (size_t)64 << st;
        for (int b = 0; b < blocks[st]; b++) {
            const char *pfx = intern("layer%zu.%d", st + 1, b);
            const size_t stride = st && !b ? 2 : 1;
            if (bottlenecked) {
                bottleneck(m, pfx, in, planes, stride);
                in = 4 * planes;
            } else {
                basic_block_named(m, pfx, in, planes, stride, "downsample");
                in = planes;
            }
        }
    }
    add(m, FSS_LAYER_AVGPOOL, "avgpool", 0, 0, 7, 7, 0, NULL);
    add(m, FSS_LAYER_FLATTEN, "flatten", 0, 0, 0, 0, 0, NULL);
    add(m, FSS_LAYER_LINEAR, "fc", in, 1000, 0, 0, 0, NULL);
}

static void build_models(void)
{
    /* MiniONN's LeNet for 1x28x28 (PEERS.md): Conv2d(1,16,5) ReLU MaxPool(2,2)
     * Conv2d(16,16,5) ReLU MaxPool(2,2) Flatten Linear(256,100) ReLU Linear(100,10).
     * ReLU and max commute exactly (relu(max(a, b)) = max(relu(a), relu(b))), so the pool
     * comes first here: a quarter of the ReLUs, the same function. 40-bit ring, 12
     * fractional bits: a conv output at scale 24 stays under 2^36. */
    fss_cnn_model *m = model_new("lenet", 1, 28, 28, 10, 40, 12);
    add(m, FSS_LAYER_CONV, "conv1", 1, 16, 5, 1, 0, NULL);
    add(m, FSS_LAYER_MAXPOOL, "maxpool", 0, 0, 2, 2, 0, NULL);
    RELU(m);
    add(m, FSS_LAYER_CONV, "conv2", 16, 16, 5, 1, 0, NULL);
    add(m, FSS_LAYER_MAXPOOL, "maxpool", 0, 0, 2, 2, 0, NULL);
    RELU(m);
    add(m, FSS_LAYER_FLATTEN, "flatten", 0, 0, 0, 0, 0, NULL);
    add(m, FSS_LAYER_LINEAR, "fc1", 256, 100, 0, 0, 0, NULL);
    RELU(m);
    add(m, FSS_LAYER_LINEAR, "fc2", 100, 10, 0, 0, 0, NULL);

    /* VGG16 for CIFAR-10 (kuangliu/pytorch-cifar): 13 Conv3x3-BN-ReLU in 5 stages with
     * MaxPool(2,2) after each, Linear(512,10). Pools before ReLUs as in lenet. 48 bits:
     * a 3x3x512 dot product at scale 24 needs about 40. */
    m = model_new("vgg16-cifar", 3, 32, 32, 10, 48, 12);
    static const int cfg[] = {64, 64, -1, 128, 128, -1, 256, 256, 256, -1, 512, 512, 512, -1, 512, 512, 512, -1};
    size_t in = 3, idx = 0;
    for (size_t i = 0; i < sizeof cfg / sizeof *cfg; i++) {
        if (cfg[i] < 0) { /* the pool goes before the stage's last ReLU */
            fss_layer last = m->layers[--m->nlayers];
            add(m, FSS_LAYER_MAXPOOL, "maxpool", 0, 0, 2, 2, 0, NULL);
            m->layers[m->nlayers++] = last;
            idx++;
            continue;
        }
        add(m, FSS_LAYER_CONV, intern("features.%zu", idx), in, (size_t)cfg[i], 3, 1, 1, intern("features.%zu", idx + 1));
        RELU(m);
        in = (size_t)cfg[i];
        idx += 3;
    }
    add(m, FSS_LAYER_FLATTEN, "flatten", 0, 0, 0, 0, 0, NULL);
    add(m, FSS_LAYER_LINEAR, "classifier", 512, 10, 0, 0, 0, NULL);

    /* ResNet-18 for CIFAR-10 (kuangliu/pytorch-cifar): Conv3x3(3,64)-BN-ReLU, four stages
     * of two BasicBlocks (64, 128, 256, 512; stride 2 from the second), AvgPool(4),
     * Linear(512,10). */
    m = model_new("resnet18-cifar", 3, 32, 32, 10, 48, 12);
    add(m, FSS_LAYER_CONV, "conv1", 3, 64, 3, 1, 1, "bn1");
    RELU(m);
    in = 64;
    for (size_t st = 0; st < 4; st++) {
        size_t planes = (size_t)64 << st;
        for (size_t b = 0; b < 2; b++) {
            basic_block(m, intern("layer%zu.%zu", st + 1, b), in, planes, st && !b ? 2 : 1);
            in = planes;
        }
    }
    add(m, FSS_LAYER_AVGPOOL, "avgpool", 0, 0, 4, 4, 0, NULL);
    add(m, FSS_LAYER_FLATTEN, "flatten", 0, 0, 0, 0, 0, NULL);
    add(m, FSS_LAYER_LINEAR, "linear", 512, 10, 0, 0, 0, NULL);

    /* Orca's CNN3 for CIFAR-10 (PEERS.md): three of Conv2d(., 64, 5, padding 1) ReLU
     * MaxPool2d(3, stride 2), Flatten, Linear(64, 10); 32 -> 30 -> 14 -> 12 -> 5 -> 3 -> 1.
     * Pools before ReLUs, as above. */
    m = model_new("cnn3-cifar", 3, 32, 32, 10, 48, 12);
    for (size_t i = 0; i < 3; i++) {
        add(m, FSS_LAYER_CONV, intern("conv%zu", i + 1), i ? 64 : 3, 64, 5, 1, 1, NULL);
        add(m, FSS_LAYER_MAXPOOL, "maxpool", 0, 0, 3, 2, 0, NULL);
        RELU(m);
    }
    add(m, FSS_LAYER_FLATTEN, "flatten", 0, 0, 0, 0, 0, NULL);
    add(m, FSS_LAYER_LINEAR, "fc", 64, 10, 0, 0, 0, NULL);

    /* A ResNet in miniature for tests: 3x8x8, one stem conv and one downsampling block. */
    m = model_new("resnet-tiny", 3, 8, 8, 10, 48, 12);
    add(m, FSS_LAYER_CONV, "conv1", 3, 8, 3, 1, 1, "bn1");
    RELU(m);
    basic_block(m, "layer1.0", 8, 16, 2);
    add(m, FSS_LAYER_AVGPOOL, "avgpool", 0, 0, 4, 4, 0, NULL);
    add(m, FSS_LAYER_FLATTEN, "flatten", 0, 0, 0, 0, 0, NULL);
    add(m, FSS_LAYER_LINEAR, "linear", 16, 10, 0, 0, 0, NULL);

    static const int r18[4] = {2, 2, 2, 2}, r50[4] = {3, 4, 6, 3};
    imagenet_resnet("resnet18", r18, 0);
    imagenet_resnet("resnet50", r50, 1);

    /* Tabular classifiers of the breast-cancer table's 30 raw features (a row as a 1x1x30
     * "image"; cnn/train_tabular.py folds the owner's standardization into the first
     * layer): a logistic regression as Linear(30, 2) with logits [0, w.z + b], and an MLP
     * Linear(30, 16) ReLU Linear(16, 2). Raw features of very different sizes (areas to
     * 4254, fractal dimensions to 0.03) meet weights of 1/sigma: a 64-bit ring with 20
     * fractional bits keeps both (x w' under 2^7 at scale 40). */
    m = model_new("logreg-cancer", 1, 1, 30, 2, 64, 20);
    add(m, FSS_LAYER_FLATTEN, "flatten", 0, 0, 0, 0, 0, NULL);
    add(m, FSS_LAYER_LINEAR, "fc", 30, 2, 0, 0, 0, NULL);
    m = model_new("mlp-cancer", 1, 1, 30, 2, 64, 20);
    add(m, FSS_LAYER_FLATTEN, "flatten", 0, 0, 0, 0, 0, NULL);
    add(m, FSS_LAYER_LINEAR, "fc1", 30, 16, 0, 0, 0, NULL);
    RELU(m);
    add(m, FSS_LAYER_LINEAR, "fc2", 16, 2, 0, 0, 0, NULL);
}

const fss_cnn_model *fss_cnn_find(const char *name)
{
    pthread_once(&g_once, build_models);
    for (size_t i = 0; i < g_nmodels; i++)
        if (!strcmp(g_models[i].name, name))
            return &g_models[i];
    return NULL;
}

void fss_cnn_fold_bn(float *w, float *b, size_t out, size_t per_out, const float *gamma, const float *beta,
                     const float *mean, const float *var, float eps)
{
    for (size_t o = 0; o < out; o++) {
        float k = gamma[o] / sqrtf(var[o] + eps);
        for (size_t j = 0; j < per_out; j++)
            w[o * per_out + j] *= k;
        b[o] = (b[o] - mean[o]) * k + beta[o];
    }
}

size_t fss_cnn_weight_count(const fss_cnn_model *m, size_t i)
{
    const fss_layer *l = &m->layers[i];
    if (l->kind == FSS_LAYER_CONV || l->kind == FSS_LAYER_SHORTCUT)
        return l->out * l->in * l->k * l->k;
    if (l->kind == FSS_LAYER_LINEAR)
        return l->out * l->in;
    return 0;
}

size_t fss_cnn_bias_count(const fss_cnn_model *m, size_t i)
{
    const fss_layer *l = &m->layers[i];
    return l->kind == FSS_LAYER_CONV || l->kind == FSS_LAYER_SHORTCUT || l->kind == FSS_LAYER_LINEAR ? l->out : 0;
}

void fss_cnn_weights_free(fss_cnn_weights *w)
{
    for (size_t i = 0; w->m && i < w->m->nlayers; i++) {
        if (w->w[i])
            fss_free_wiped(w->w[i], fss_cnn_weight_count(w->m, i) * sizeof(float));
        if (w->b[i])
            fss_free_wiped(w->b[i], fss_cnn_bias_count(w->m, i) * sizeof(float));
    }
    memset(w, 0, sizeof *w);
}

static fss_status weights_alloc(const fss_cnn_model *m, fss_cnn_weights *w)
{
    memset(w, 0, sizeof *w);
    w->m = m;
    for (size_t i = 0; i < m->nlayers; i++) {
        size_t nw = fss_cnn_weight_count(m, i), nb = fss_cnn_bias_count(m, i);
        if (!nw)
            continue;
        w->w[i] = (float *)malloc(nw * sizeof(float));
        w->b[i] = (float *)malloc(nb * sizeof(float));
        if (!w->w[i] || !w->b[i]) {
            fss_cnn_weights_free(w);
            return FSS_E_NOMEM;
        }
    }
    return FSS_OK;
}

fss_status fss_cnn_weights_load(const fss_cnn_model *m, const char *path, fss_cnn_weights *w, char *err, size_t err_len)
{
    fss_safetensors *st = NULL;
    fss_status s = fss_safetensors_open(&st, path, err, err_len);
    if (s != FSS_OK)
        return s;
    if ((s = weights_alloc(m, w)) != FSS_OK) {
        fss_safetensors_close(st);
        snprintf(err, err_len, "out of memory for the weights of %s", m->name);
        return s;
    }
    char name[160], who[80];
    snprintf(who, sizeof who, "model %s", m->name);
    for (size_t i = 0; i < m->nlayers && s == FSS_OK; i++) {
        if (!w->w[i])
            continue;
        const fss_layer *l = &m->layers[i];
        const size_t nw = fss_cnn_weight_count(m, i), nb = fss_cnn_bias_count(m, i);
        const size_t wshape[4] = {l->out, l->in, l->k, l->k};
        snprintf(name, sizeof name, "%s.weight", l->name);
        s = fss_safetensors_read_f32_shaped(st, name, w->w[i], l->kind == FSS_LAYER_LINEAR ? 2 : 4, wshape, who, err, err_len);
        snprintf(name, sizeof name, "%s.bias", l->name);
        if (s == FSS_OK && l->kind != FSS_LAYER_LINEAR && !fss_safetensors_find(st, name))
            memset(w->b[i], 0, nb * sizeof(float)); /* convs before a BatchNorm have none */
        else if (s == FSS_OK)
            s = fss_safetensors_read_f32_shaped(st, name, w->b[i], 1, &nb, who, err, err_len);
        snprintf(name, sizeof name, "%s.running_mean", l->bn ? l->bn : "");
        if (s == FSS_OK && l->bn && fss_safetensors_find(st, name)) {
            float *bn = (float *)malloc(4 * nb * sizeof(float));
            static const char *const part[4] = {"weight", "bias", "running_mean", "running_var"};
            if (!bn) {
                snprintf(err, err_len, "out of memory");
                s = FSS_E_NOMEM;
            }
            for (int j = 0; j < 4 && s == FSS_OK; j++) {
                snprintf(name, sizeof name, "%s.%s", l->bn, part[j]);
                s = fss_safetensors_read_f32_shaped(st, name, bn + (size_t)j * nb, 1, &nb, who, err, err_len);
            }
            if (s == FSS_OK)
                fss_cnn_fold_bn(w->w[i], w->b[i], nb, nw / nb, bn, bn + nb, bn + 2 * nb, bn + 3 * nb, FSS_BN_EPS);
            if (bn)
                fss_free_wiped(bn, 4 * nb * sizeof(float));
        }
    }
    fss_safetensors_close(st);
    /* a NaN, an infinity or a value beyond the ring has no fixed-point value: say where,
     * rather than convert it (weights carry the scale, biases twice the scale) */
    for (size_t i = 0; i < m->nlayers && s == FSS_OK; i++) {
        if (!w->w[i])
            continue;
        const size_t nw = fss_cnn_weight_count(m, i), nb = fss_cnn_bias_count(m, i);
        for (size_t j = 0; j < nw + nb && s == FSS_OK; j++) {
            const double v = j < nw ? w->w[i][j] : w->b[i][j - nw];
            const int f = j < nw ? m->scale : 2 * m->scale;
            if (fss_fixed_fits(v, f, m->bits))
                continue;
            const char *bn = m->layers[i].bn ? " (after folding its BatchNorm)" : "";
            if (!isfinite(v))
                snprintf(err, err_len, "%s: %s.%s element %zu is not a finite number%s", path, m->layers[i].name,
                         j < nw ? "weight" : "bias", j < nw ? j : j - nw, bn);
            else
                snprintf(err, err_len,
                         "%s: %s.%s element %zu is %g%s, beyond what model %s's fixed point holds there (|x| <= %g: "
                         "%d-bit ring, %d fractional bits)",
                         path, m->layers[i].name, j < nw ? "weight" : "bias", j < nw ? j : j - nw, v, bn, m->name,
                         fss_fixed_limit(f, m->bits), m->bits, f);
            s = FSS_E_FORMAT;
        }
    }
    if (s != FSS_OK)
        fss_cnn_weights_free(w);
    return s;
}

fss_status fss_cnn_weights_random(const fss_cnn_model *m, uint64_t seed, fss_cnn_weights *w)
{
    fss_rng *r = NULL;
    fss_status s = weights_alloc(m, w);
    if (s == FSS_OK)
        s = fss_rng_new_seeded(&r, seed);
    for (size_t i = 0; i < m->nlayers && s == FSS_OK; i++) {
        size_t nw = fss_cnn_weight_count(m, i), nb = fss_cnn_bias_count(m, i);
        if (!nw)
            continue;
        size_t fan_in = nw / nb;
        float bound = (float)sqrt(6.0 / (double)fan_in); /* He-uniform */
        /* one keystream call a layer (the same bytes as eight at a time: CTR keeps its place) */
        uint64_t *u = (uint64_t *)malloc((nw + nb) * sizeof *u);
        if (!u || (s = fss_rng_bytes(r, u, (nw + nb) * sizeof *u)) != FSS_OK) {
            s = u ? s : FSS_E_NOMEM;
            free(u);
            break;
        }
        for (size_t j = 0; j < nw + nb; j++) {
            float v = (float)(fss_rng_unit(u[j]) * 2.0 - 1.0) * bound;
            if (j < nw)
                w->w[i][j] = v;
            else
                w->b[i][j - nw] = v * 0.1f;
        }
        free(u);
    }
    fss_rng_free(r);
    if (s != FSS_OK)
        fss_cnn_weights_free(w);
    return s;
}

double fss_fixed_limit(int scale, int bits)
{
    return ldexp(ldexp(1.0, bits - 1) - 1.0, -scale);
}

int fss_fixed_fits(double x, int scale, int bits)
{
    return isfinite(x) && fabs(nearbyint(ldexp(x, scale))) <= ldexp(1.0, bits - 1) - 1.0;
}

uint64_t fss_fixed_from_float(double x, int scale, int bits)
{
    /* x 2^scale is exact (a power of two, in range), as ldexp but without its call: the
     * party converts its weights inside the timed walk */
    double v = nearbyint(x * (double)((uint64_t)1 << scale));
    if (v != v) /* NaN: the loaders refuse it; 0 rather than undefined behaviour */
        v = 0;
    /* saturate: a float beyond the ring cannot be represented. The limit is 2^(bits-1) - 1,
     * exact up to 53 bits; above, the largest double under 2^(bits-1), so that it converts
     * to int64 and stays positive in the ring */
    const double lim = bits <= 53 ? (double)(((uint64_t)1 << (bits - 1)) - 1)
                                  : (double)(((uint64_t)1 << (bits - 1)) - ((uint64_t)1 << (bits - 54)));
    if (v > lim)
        v = lim;
    if (v < -lim)
        v = -lim;
    return fss_ring_from_signed((int64_t)v, bits);
}

double fss_fixed_to_float(uint64_t v, int scale, int bits) { return ldexp((double)fss_ring_to_signed(v, bits), -scale); }

/* ---- the walk ---------------------------------------------------------------------- */

/* All of party 0's parameters as one input (one round instead of two a layer): fixed
 * point, weights at scale f (a linear layer's transposed, rows x cols -> cols x rows),
 * biases at 2f, layer after layer; fss_tensor_view_next() then views a layer's part (no
 * copy): a part is the same wires, which holds for masks and masked values alike. */
static fss_status params_input(fss_eval *ev, const fss_cnn_model *m, const fss_cnn_weights *w, fss_tensor *P)
{
    size_t total = 0;
    for (size_t i = 0; i < m->nlayers; i++)
        total += fss_cnn_weight_count(m, i) + fss_cnn_bias_count(m, i);
    uint64_t *v = NULL;
    if (fss_eval_mode(ev) == FSS_MODE_CLEAR || fss_eval_party(ev) == 0) {
        if (!w)
            return FSS_E_ARG;
        if (!(v = (uint64_t *)malloc((total ? total : 1) * 8)))
            return FSS_E_NOMEM;
        const int threads = fss_ctx_threads(fss_eval_cpu(ev));
        size_t o = 0;
        for (size_t i = 0; i < m->nlayers; i++) {
            const size_t nw = fss_cnn_weight_count(m, i), nb = fss_cnn_bias_count(m, i);
            const size_t rows = m->layers[i].kind == FSS_LAYER_LINEAR ? m->layers[i].out : 0;
            const size_t cols = rows ? nw / rows : 0;
            const float *wi = w->w[i];
            uint64_t *vo = v + o;
#pragma omp parallel for schedule(static) num_threads(threads) if (nw >= ((size_t)1 << 16))
            for (size_t j = 0; j < nw; j++) {
                const size_t from = rows ? (j % rows) * cols + j / rows : j; /* out[c][r] = in[r][c] */
                vo[j] = fss_fixed_from_float(wi[from], m->scale, m->bits);
            }
            o += nw;
            for (size_t j = 0; j < nb; j++)
                v[o++] = fss_fixed_from_float(w->b[i][j], 2 * m->scale, m->bits);
        }
    }
    size_t shape[1] = {total};
    fss_status s = fss_gate_input_weights(ev, 0, 1, shape, m->bits, m->scale, v, P); /* weight 0: all of them */
    if (v) {
        fss_free_wiped(v, total * 8);
    }
    return s;
}

/* x += bias broadcast: bias[j] added to every element of channel (or column) j. The
 * broadcast copies wires, which is linear, so it holds for masks and masked values. */
static fss_status add_bias(fss_eval *ev, fss_tensor *x, const fss_tensor *bias, size_t inner)
{
    fss_tensor full = {0}, y = {0};
    fss_status s = fss_tensor_init(&full, x->ndim, x->shape, x->bits, x->scale);
    if (s != FSS_OK)
        return s;
    const size_t nb = bias->count, runs = x->count / inner; /* x: [batch][nb][inner] */
    const int threads = fss_ctx_threads(fss_eval_cpu(ev));
#pragma omp parallel for schedule(static) num_threads(threads) if (x->count >= ((size_t)1 << 16))
    for (size_t j = 0; j < runs; j++)
        for (size_t k = 0; k < inner; k++)
            full.v[j * inner + k] = bias->v[j % nb];
    s = fss_gate_add(ev, x, &full, &y);
    fss_tensor_free(&full);
    if (s == FSS_OK) {
        fss_tensor_free(x);
        *x = y;
    }
    return s;
}

/* Bring x back to the model's scale (after a product): one exact arithmetic shift. */
/* Back to the model's scale; nonneg: x is known to lie in [0, 2^(n-1)) (a ReLU's output,
 * pooled or not), where the shift needs a quarter of the keys. */
static fss_status rescale(fss_eval *ev, const fss_cnn_model *m, fss_tensor *x, int nonneg)
{
    if (x->scale <= m->scale)
        return FSS_OK;
    fss_tensor y = {0};
    fss_status s = nonneg ? fss_gate_ars_nonneg(ev, x, x->scale - m->scale, &y)
                          : fss_gate_ars(ev, x, x->scale - m->scale, &y);
    if (s == FSS_OK) {
        fss_tensor_free(x);
        *x = y;
    }
    return s;
}

/* x to scale sc >= its own by the public factor 2^(sc - scale): no key, no round. */
static fss_status upscale(fss_eval *ev, fss_tensor *x, int sc)
{
    if (x->scale >= sc)
        return FSS_OK;
    fss_tensor y = {0};
    fss_status s = fss_gate_scale(ev, x, (uint64_t)1 << (sc - x->scale), &y);
    if (s == FSS_OK) {
        y.scale = sc;
        fss_tensor_free(x);
        *x = y;
    }
    return s;
}

static fss_status replace(fss_status s, fss_tensor *x, fss_tensor *y)
{
    if (s == FSS_OK) {
        fss_tensor_free(x);
        *x = *y;
        memset(y, 0, sizeof *y);
    }
    fss_tensor_free(y);
    return s;
}

fss_status fss_cnn_walk_weights(fss_eval *ev, const fss_cnn_model *m, const fss_cnn_weights *w, fss_progress *pg)
{
    fss_tensor P = {0};
    fss_status s = params_input(ev, m, w, &P);
    fss_tensor_free(&P);
    fss_progress_step(pg, 0, 1, "weights");
    return s;
}

fss_status fss_cnn_walk(fss_eval *ev, const fss_cnn_model *m, size_t batch, const fss_cnn_weights *w,
                        const float *images, uint64_t *logits, fss_progress *pg)
{
    fss_tensor y = {0};
    fss_status s = fss_cnn_walk_logits(ev, m, batch, w, images, &y, pg);
    if (s == FSS_OK)
        s = fss_gate_output(ev, 1, &y, logits);
    fss_tensor_free(&y);
    return s;
}

fss_status fss_cnn_walk_logits(fss_eval *ev, const fss_cnn_model *m, size_t batch, const fss_cnn_weights *w,
                               const float *images, fss_tensor *logits, fss_progress *pg)
{
    const int f = m->scale;
    const size_t nin = batch * m->c * m->h * m->w;
    fss_tensor x = {0};
    fss_status s;
    {
        uint64_t *v = NULL;
        if (fss_eval_mode(ev) == FSS_MODE_CLEAR || fss_eval_party(ev) == 1) {
            if (!images)
                return FSS_E_ARG;
            if (!(v = (uint64_t *)malloc(nin * 8)))
                return FSS_E_NOMEM;
            for (size_t i = 0; i < nin; i++)
                v[i] = fss_fixed_from_float(images[i], f, m->bits);
        }
        size_t shape[4] = {batch, m->c, m->h, m->w};
        s = fss_gate_input(ev, 1, 4, shape, m->bits, f, v, &x);
        if (v) {
            fss_free_wiped(v, nin * 8);
        }
    }
    fss_tensor P = {0}, skip = {0};
    size_t poff = 0;
    int xnn = 0; /* x known non-negative: set by a ReLU, kept by pools */
    if (s == FSS_OK)
        s = params_input(ev, m, w, &P);
    for (size_t li = 0; li < m->nlayers && s == FSS_OK; li++) {
        const fss_layer *l = &m->layers[li];
        fss_tensor y = {0}, wt = {0}, bt = {0};
        switch (l->kind) {
        case FSS_LAYER_CONV: {
            if ((s = rescale(ev, m, &x, xnn)) != FSS_OK)
                break;
            xnn = 0;
            if (x.ndim != 4 || x.shape[1] != l->in) {
                s = FSS_E_ARG;
                break;
            }
            size_t ws[4] = {l->out, l->in, l->k, l->k}, bs[1] = {l->out};
            fss_conv2d_params cv = {batch, l->in, x.shape[2], x.shape[3], l->out, l->k, l->k, l->stride, l->pad};
            s = fss_tensor_view_next(&P, &poff, 4, ws, f, &wt);
            if (s == FSS_OK)
                s = fss_tensor_view_next(&P, &poff, 1, bs, 2 * f, &bt);
            if (s == FSS_OK)
                s = replace(fss_gate_conv2d(ev, &x, &wt, &cv, &y), &x, &y);
            if (s == FSS_OK)
                s = add_bias(ev, &x, &bt, x.shape[2] * x.shape[3]);
            break;
        }
        case FSS_LAYER_LINEAR: {
            if ((s = rescale(ev, m, &x, xnn)) != FSS_OK)
                break;
            xnn = 0;
            size_t ws[2] = {l->in, l->out}, bs[1] = {l->out};
            /* PyTorch holds W as [out][in]; x W^T is x times the transpose [in][out] */
            s = fss_tensor_view_next(&P, &poff, 2, ws, f, &wt);
            if (s == FSS_OK)
                s = fss_tensor_view_next(&P, &poff, 1, bs, 2 * f, &bt);
            if (s == FSS_OK)
                s = replace(fss_gate_matmul(ev, &x, &wt, &y), &x, &y);
            if (s == FSS_OK)
                s = add_bias(ev, &x, &bt, 1);
            break;
        }
        case FSS_LAYER_RELU:
            /* with the shift back to the model's scale folded in (the same bits as shifting
             * after the ReLU, or after a maxpool that follows: floor keeps the order) */
            s = replace(x.scale > m->scale ? fss_gate_relu_ars(ev, &x, x.scale - m->scale, &y)
                                           : fss_gate_relu(ev, &x, &y),
                        &x, &y);
            xnn = 1;
            break;
        case FSS_LAYER_MAXPOOL:
            s = replace(fss_gate_maxpool_pad(ev, &x, l->k, l->stride, l->pad, &y), &x, &y);
            break;
        case FSS_LAYER_AVGPOOL:
            /* at the model's scale: a window's sum times round(2^12 / k k) must stay in the
             * ring (ResNet-50's 7x7 at scale 28 overflowed 48 bits on random weights) */
            if ((s = rescale(ev, m, &x, xnn)) == FSS_OK)
                s = replace(fss_gate_avgpool(ev, &x, l->k, l->stride, &y), &x, &y);
            break;
        case FSS_LAYER_FLATTEN: {
            size_t shape[2] = {batch, x.count / batch};
            s = fss_tensor_reshape(&x, 2, shape);
            break;
        }
        case FSS_LAYER_SAVE: /* a copy of wires */
            fss_tensor_free(&skip);
            if ((s = rescale(ev, m, &x, xnn)) == FSS_OK && (s = fss_tensor_init(&skip, x.ndim, x.shape, x.bits, x.scale)) == FSS_OK)
                memcpy(skip.v, x.v, x.count * 8);
            break;
        case FSS_LAYER_SHORTCUT: {
            size_t ws[4] = {l->out, l->in, l->k, l->k}, bs[1] = {l->out};
            fss_conv2d_params cv = {batch, l->in, skip.shape[2], skip.shape[3], l->out, l->k, l->k, l->stride, l->pad};
            s = fss_tensor_view_next(&P, &poff, 4, ws, f, &wt);
            if (s == FSS_OK)
                s = fss_tensor_view_next(&P, &poff, 1, bs, 2 * f, &bt);
            if (s == FSS_OK)
                s = replace(fss_gate_conv2d(ev, &skip, &wt, &cv, &y), &skip, &y);
            if (s == FSS_OK)
                s = add_bias(ev, &skip, &bt, skip.shape[2] * skip.shape[3]);
            break;
        }
        case FSS_LAYER_ADD:
            /* At the larger of the two scales (the other multiplied up: local), so the sum's
             * shift waits for the ReLU after it and becomes the cheap non-negative one. */
            if ((s = upscale(ev, &x, skip.scale)) == FSS_OK && (s = upscale(ev, &skip, x.scale)) == FSS_OK)
                s = replace(fss_gate_add(ev, &x, &skip, &y), &x, &y);
            xnn = 0;
            break;
        }
        fss_tensor_free(&wt);
        fss_tensor_free(&bt);
        if (s == FSS_OK)
            fss_progress_step(pg, li, m->nlayers, l->name);
    }
    if (s == FSS_OK)
        s = rescale(ev, m, &x, xnn);
    const size_t shape[2] = {batch, m->classes};
    if (s == FSS_OK && x.count != batch * m->classes)
        s = FSS_E_ARG;
    if (s == FSS_OK && (s = fss_tensor_reshape(&x, 2, shape)) == FSS_OK) {
        *logits = x; /* the wires move to the caller */
        memset(&x, 0, sizeof x);
    }
    fss_tensor_free(&x);
    fss_tensor_free(&P);
    fss_tensor_free(&skip);
    return s;
}
