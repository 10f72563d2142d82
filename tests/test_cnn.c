/* CNN models walked three times in one process: the clear walk, the dealer into memory
 * key streams, and the two parties in two threads over a peer pair. The revealed logits
 * must equal the clear walk's bit for bit. Random weights and images from the run's
 * seed; plus the BatchNorm folding against its formula. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "fss/cnn.h"
#include "fss/io_adapt.h"
#include "fss/memkeys.h"
#include "fss/ring.h"
#include "fss/safetensors.h"

typedef struct party {
    int b;
    const fss_cnn_model *m;
    size_t batch;
    const fss_cnn_weights *w;
    const float *images;
    uint64_t *logits;
    fss_memkeys *keys;
    fss_peer *peer;
    fss_status st;
    char err[512];
    uint64_t rounds;
} party;

static void *party_main(void *arg)
{
    party *p = (party *)arg;
    fss_ctx *cpu = NULL;
    fss_eval *ev = NULL;
    p->st = fss_ctx_new(&cpu, 1);
    if (p->st == FSS_OK)
        p->st = fss_eval_new_party(&ev, cpu, p->b, fss_memkeys_source(p->keys), fss_peer_link(p->peer));
    if (p->st == FSS_OK) {
        p->st = fss_cnn_walk(ev, p->m, p->batch, p->b == 0 ? p->w : NULL, p->b == 1 ? p->images : NULL,
                             p->b == 1 ? p->logits : NULL, NULL);
        snprintf(p->err, sizeof p->err, "%s", fss_eval_error(ev));
        p->rounds = fss_eval_stats_get(ev)->rounds;
    }
    fss_eval_free(ev);
    fss_ctx_free(cpu);
    return NULL;
}

/* ---- a float reference of the layers, to check the clear fixed-point walk itself ---- */
typedef struct ftensor {
    float *v;
    size_t c, h, w; /* per image */
} ftensor;

static ftensor fconv(const ftensor *x, size_t batch, const fss_layer *l, const float *W, const float *B)
{
    size_t ho = (x->h + 2 * l->pad - l->k) / l->stride + 1, wo = (x->w + 2 * l->pad - l->k) / l->stride + 1;
    ftensor y = {calloc(batch * l->out * ho * wo, sizeof(float)), l->out, ho, wo};
    REQUIRE(y.v);
    for (size_t n = 0; n < batch; n++)
        for (size_t o = 0; o < l->out; o++)
            for (size_t oy = 0; oy < ho; oy++)
                for (size_t ox = 0; ox < wo; ox++) {
                    double acc = B[o];
                    for (size_t c = 0; c < l->in; c++)
                        for (size_t ky = 0; ky < l->k; ky++)
                            for (size_t kx = 0; kx < l->k; kx++) {
                                long iy = (long)(oy * l->stride + ky) - (long)l->pad;
                                long ix = (long)(ox * l->stride + kx) - (long)l->pad;
                                if (iy < 0 || ix < 0 || iy >= (long)x->h || ix >= (long)x->w)
                                    continue;
                                acc += (double)W[((o * l->in + c) * l->k + ky) * l->k + kx] *
                                       x->v[((n * x->c + c) * x->h + (size_t)iy) * x->w + (size_t)ix];
                            }
                    y.v[((n * l->out + o) * ho + oy) * wo + ox] = (float)acc;
                }
    return y;
}

static ftensor fpool(const ftensor *x, size_t batch, size_t k, size_t st, int max)
{
    size_t ho = (x->h - k) / st + 1, wo = (x->w - k) / st + 1;
    ftensor y = {calloc(batch * x->c * ho * wo, sizeof(float)), x->c, ho, wo};
    REQUIRE(y.v);
    for (size_t i = 0; i < batch * x->c; i++)
        for (size_t oy = 0; oy < ho; oy++)
            for (size_t ox = 0; ox < wo; ox++) {
                double best = -1e30, sum = 0;
                for (size_t ky = 0; ky < k; ky++)
                    for (size_t kx = 0; kx < k; kx++) {
                        double v = x->v[(i * x->h + oy * st + ky) * x->w + ox * st + kx];
                        best = v > best ? v : best;
                        sum += v;
                    }
                y.v[(i * ho + oy) * wo + ox] = (float)(max ? best : sum / (double)(k * k));
            }
    return y;
}

/* The model in floating point, as PyTorch would compute it. */
static float *float_walk(const fss_cnn_model *m, const fss_cnn_weights *w, const float *images, size_t batch)
{
    size_t n0 = batch * m->c * m->h * m->w;
    ftensor x = {malloc(n0 * sizeof(float)), m->c, m->h, m->w}, skip = {0};
    REQUIRE(x.v);
    memcpy(x.v, images, n0 * sizeof(float));
    for (size_t li = 0; li < m->nlayers; li++) {
        const fss_layer *l = &m->layers[li];
        size_t cnt = batch * x.c * x.h * x.w;
        ftensor y = {0};
        switch (l->kind) {
        case FSS_LAYER_CONV:
            y = fconv(&x, batch, l, w->w[li], w->b[li]);
            break;
        case FSS_LAYER_SHORTCUT:
            y = fconv(&skip, batch, l, w->w[li], w->b[li]);
            free(skip.v);
            skip = y;
            continue;
        case FSS_LAYER_RELU:
            for (size_t i = 0; i < cnt; i++)
                x.v[i] = x.v[i] > 0 ? x.v[i] : 0;
            continue;
        case FSS_LAYER_MAXPOOL:
        case FSS_LAYER_AVGPOOL:
            y = fpool(&x, batch, l->k, l->stride, l->kind == FSS_LAYER_MAXPOOL);
            break;
        case FSS_LAYER_FLATTEN:
            x.c = x.c * x.h * x.w;
            x.h = x.w = 1;
            continue;
        case FSS_LAYER_LINEAR: {
            y = (ftensor){calloc(batch * l->out, sizeof(float)), l->out, 1, 1};
            REQUIRE(y.v);
            for (size_t nn = 0; nn < batch; nn++)
                for (size_t o = 0; o < l->out; o++) {
                    double acc = w->b[li][o];
                    for (size_t i = 0; i < l->in; i++)
                        acc += (double)w->w[li][o * l->in + i] * x.v[nn * l->in + i];
                    y.v[nn * l->out + o] = (float)acc;
                }
            break;
        }
        case FSS_LAYER_SAVE:
            free(skip.v);
            skip = (ftensor){malloc(cnt * sizeof(float)), x.c, x.h, x.w};
            REQUIRE(skip.v);
            memcpy(skip.v, x.v, cnt * sizeof(float));
            continue;
        case FSS_LAYER_ADD:
            for (size_t i = 0; i < cnt; i++)
                x.v[i] += skip.v[i];
            continue;
        }
        free(x.v);
        x = y;
    }
    free(skip.v);
    return x.v;
}

static void run_model(fss_rng *rng, const char *name, size_t batch)
{
    const fss_cnn_model *m = fss_cnn_find(name);
    REQUIRE(m);
    fss_cnn_weights w;
    REQUIRE(fss_cnn_weights_random(m, check_u64(rng), &w) == FSS_OK);
    size_t nin = batch * m->c * m->h * m->w, nout = batch * m->classes;
    float *img = malloc(nin * sizeof(float));
    uint64_t *want = calloc(nout, 8), *got = calloc(nout, 8), *u = malloc(nin * 8);
    REQUIRE(img && want && got && u);
    REQUIRE(fss_rng_bytes(rng, u, nin * 8) == FSS_OK);
    for (size_t i = 0; i < nin; i++)
        img[i] = (float)((double)(u[i] >> 11) / 9007199254740992.0);

    fss_ctx *cpu;
    REQUIRE(fss_ctx_new(&cpu, 0) == FSS_OK);
    fss_eval *ev;
    REQUIRE(fss_eval_new_clear(&ev, cpu) == FSS_OK);
    fss_status s = fss_cnn_walk(ev, m, batch, &w, img, want, NULL);
    CHECK(s == FSS_OK, "%s: clear walk: %s", name, fss_eval_error(ev));
    fss_eval_free(ev);
    /* the clear fixed-point walk computes the model: within rounding of the float one */
    float *ref = float_walk(m, &w, img, batch);
    size_t far = 0;
    double worst = 0;
    for (size_t i = 0; i < nout; i++) {
        double d = fabs(fss_fixed_to_float(want[i], m->scale, m->bits) - ref[i]);
        worst = d > worst ? d : worst;
        far += d > 0.02 + 0.01 * fabs(ref[i]);
    }
    CHECK(far == 0, "%s: %zu of %zu clear logits stray from the float model (worst %.4f)", name, far, nout, worst);
    free(ref);

    fss_memkeys *k[2];
    REQUIRE(fss_memkeys_new(&k[0]) == FSS_OK && fss_memkeys_new(&k[1]) == FSS_OK);
    fss_key_sink sinks[2] = {fss_memkeys_sink(k[0]), fss_memkeys_sink(k[1])};
    REQUIRE(fss_eval_new_dealer(&ev, cpu, rng, sinks) == FSS_OK);
    s = fss_cnn_walk(ev, m, batch, NULL, NULL, NULL, NULL);
    CHECK(s == FSS_OK, "%s: dealer walk: %s", name, fss_eval_error(ev));
    fss_eval_free(ev);

    fss_peer *pp[2];
    REQUIRE(fss_peer_pair(&pp[0], &pp[1]) == FSS_OK);
    party p[2];
    pthread_t th[2];
    for (int b = 0; b < 2; b++) {
        p[b] = (party){.b = b, .m = m, .batch = batch, .w = &w, .images = img, .logits = got, .keys = k[b], .peer = pp[b]};
        REQUIRE(pthread_create(&th[b], NULL, party_main, &p[b]) == 0);
    }
    for (int b = 0; b < 2; b++) {
        pthread_join(th[b], NULL);
        CHECK(p[b].st == FSS_OK, "%s: party %d: %s", name, b, p[b].err);
        CHECK(fss_memkeys_unread(k[b]) == 0, "%s: party %d left keys unread", name, b);
        fss_peer_close(pp[b]);
        fss_memkeys_free(k[b]);
    }
    size_t bad = 0;
    for (size_t i = 0; i < nout; i++)
        bad += got[i] != want[i];
    CHECK(bad == 0, "%s: %zu of %zu logits differ from the clear walk", name, bad, nout);
    /* the logits are not degenerate: some differ from each other */
    size_t distinct = 0;
    for (size_t i = 1; i < nout; i++)
        distinct += want[i] != want[0];
    CHECK(distinct > 0, "%s: all logits equal: the walk computes nothing", name);
    printf("%s batch %zu: %llu rounds, %zu logits equal the clear walk\n", name, batch, (unsigned long long)p[1].rounds,
           nout - bad);
    fss_ctx_free(cpu);
    fss_cnn_weights_free(&w);
    free(img);
    free(want);
    free(got);
    free(u);
}

static void fold(fss_rng *rng)
{
    enum { OUT = 5, PER = 7 };
    float w[OUT * PER], b[OUT], w0[OUT * PER], b0[OUT], g[OUT], be[OUT], mu[OUT], var[OUT];
    uint64_t u[OUT * PER + 5 * OUT];
    REQUIRE(fss_rng_bytes(rng, u, sizeof u) == FSS_OK);
    for (int i = 0; i < OUT * PER + 5 * OUT; i++) {
        float v = (float)((double)(u[i] >> 11) / 9007199254740992.0) * 2.0f - 1.0f;
        if (i < OUT * PER)
            w[i] = w0[i] = v;
        else {
            int j = (i - OUT * PER) % OUT, which = (i - OUT * PER) / OUT;
            float *dst[5] = {b, g, be, mu, var};
            dst[which][j] = which == 4 ? v * v + 0.1f : v;
            if (which == 0)
                b0[j] = v;
        }
    }
    fss_cnn_fold_bn(w, b, OUT, PER, g, be, mu, var, FSS_BN_EPS);
    /* conv then BN on an arbitrary input row x equals the folded conv */
    size_t bad = 0;
    for (int o = 0; o < OUT; o++) {
        double x = 0.5, conv = 0, folded = 0;
        for (int j = 0; j < PER; j++) {
            conv += w0[o * PER + j] * x;
            folded += w[o * PER + j] * x;
        }
        conv += b0[o];
        folded += b[o];
        double bn = g[o] * (conv - mu[o]) / sqrt(var[o] + FSS_BN_EPS) + be[o];
        bad += fabs(bn - folded) > 1e-4;
    }
    CHECK(bad == 0, "BatchNorm folding differs from conv-then-BN in %zu channels", bad);
}

/* Keys larger than a chunk: written in pieces by the key-file sink, joined by the source
 * into the same bytes, with single-chunk keys around them read in place. */
static void split_join(fss_rng *rng)
{
    char dir[] = "/tmp/fss-test-cnn-XXXXXX", path[64];
    REQUIRE(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/p0.bin", dir);
    uint8_t id[FSS_KEYFILE_RUN_ID_BYTES] = {1}, fp[FSS_KEYFILE_FINGERPRINT_BYTES] = {2},
            secret[FSS_KEYFILE_SECRET_BYTES] = {3};
    static const size_t sizes[] = {10000, 3000, 0, 3001, 7000, 12};
    enum { NK = sizeof sizes / sizeof *sizes };
    uint8_t *keys[NK];
    fss_keyfile_writer *w = NULL;
    REQUIRE(fss_keyfile_create(&w, path, 0, id, fp, secret) == FSS_OK);
    fss_keyfile_splitter sp = {.w = w, .piece = 3000};
    fss_key_sink sink = fss_keyfile_sink(&sp);
    for (size_t i = 0; i < NK; i++) {
        keys[i] = malloc(sizes[i] + 1);
        REQUIRE(keys[i] && fss_rng_bytes(rng, keys[i], sizes[i] + 1) == FSS_OK);
        REQUIRE(sink.begin(sink.self, (uint32_t)(10 + i), i + 1, sizes[i]) == FSS_OK);
        /* appended in parts of 1, 999, 2500, then the rest: across the pieces' edges */
        static const size_t parts[] = {1, 999, 2500};
        size_t at = 0;
        for (size_t j = 0; j < 3 && at < sizes[i]; j++) {
            const size_t n = parts[j] < sizes[i] - at ? parts[j] : sizes[i] - at;
            REQUIRE(sink.append(sink.self, keys[i] + at, n) == FSS_OK);
            at += n;
        }
        REQUIRE(sink.append(sink.self, keys[i] + at, sizes[i] - at) == FSS_OK);
    }
    CHECK(sink.append(sink.self, keys[0], 1) == FSS_E_ARG, "a byte past the key's declared size was taken");
    CHECK(sink.begin(sink.self, 7 | FSS_KEYFILE_KIND_PIECE, 1, 10) == FSS_E_ARG, "a reserved kind was taken");
    CHECK(fss_keyfile_writer_chunks(w) == 4 + 1 + 1 + 2 + 3 + 1, "%llu chunks for keys split at 3000 bytes",
          (unsigned long long)fss_keyfile_writer_chunks(w));
    REQUIRE(fss_keyfile_writer_close(w) == FSS_OK);
    fss_keyfile_reader *r = NULL;
    REQUIRE(fss_keyfile_open(&r, path, 0, NULL) == FSS_OK);
    fss_keyfile_joiner j = {.r = r};
    fss_key_source src = fss_keyfile_source(&j);
    for (size_t i = 0; i < NK; i++) {
        /* read in parts of 7, 2990 (across the 3000-byte pieces), then the rest */
        fss_status s = src.open(src.self, (uint32_t)(10 + i), i + 1);
        size_t at = 0, bad = 0, wrong_place = 0;
        static const size_t parts[] = {7, 2990};
        for (size_t q = 0; q < 3 && s == FSS_OK; q++) {
            const size_t n = q < 2 ? (parts[q] < sizes[i] - at ? parts[q] : sizes[i] - at) : sizes[i] - at;
            const size_t here = 3000 - at % 3000 < sizes[i] - at ? 3000 - at % 3000 : sizes[i] - at;
            wrong_place += src.in_place(src.self) != here; /* what a read hands out without a copy */
            const void *data = NULL;
            if ((s = src.read(src.self, n, &data)) == FSS_OK)
                bad += n && memcmp(data, keys[i] + at, n) != 0;
            at += n;
        }
        const void *extra;
        CHECK(s == FSS_OK && bad == 0 && src.read(src.self, 1, &extra) == FSS_E_FORMAT &&
                  src.close(src.self) == FSS_OK,
              "key %zu of %zu bytes: status %d, %zu parts differ, or a byte past its end", i, sizes[i], (int)s, bad);
        CHECK(wrong_place == 0, "key %zu of %zu bytes: in_place wrong before %zu of 3 reads", i, sizes[i], wrong_place);
    }
    CHECK(fss_keyfile_reader_finish(r) == FSS_OK, "chunks left after the keys");
    fss_keyfile_joiner_free(&j);
    fss_keyfile_reader_close(r);

    /* A split key whose last piece is missing: the next key's chunk is refused. */
    snprintf(path, sizeof path, "%s/p1.bin", dir);
    REQUIRE(fss_keyfile_create(&w, path, 1, id, fp, secret) == FSS_OK);
    REQUIRE(fss_keyfile_write_chunk(w, 5 | FSS_KEYFILE_KIND_PIECE, 1, keys[0], 3000) == FSS_OK);
    REQUIRE(fss_keyfile_write_chunk(w, 6, 1, keys[0], 10) == FSS_OK);
    REQUIRE(fss_keyfile_writer_close(w) == FSS_OK);
    REQUIRE(fss_keyfile_open(&r, path, 1, NULL) == FSS_OK);
    j = (fss_keyfile_joiner){.r = r};
    src = fss_keyfile_source(&j);
    const void *data;
    CHECK(src.open(src.self, 5, 1) == FSS_OK && src.read(src.self, 3010, &data) == FSS_E_FORMAT,
          "a split key without its last piece was read past its first piece");
    fss_keyfile_joiner_free(&j);
    fss_keyfile_reader_close(r);
    for (size_t i = 0; i < NK; i++)
        free(keys[i]);
    unlink(path);
    snprintf(path, sizeof path, "%s/p0.bin", dir);
    unlink(path);
    rmdir(dir);
}

/* Parameters as PyTorch counts them (conv weights, BatchNorm weight and bias, linear
 * weight and bias; a folded conv's bias stands for its BatchNorm's two vectors) against
 * torchvision's published totals: catches a wrong width, stride-free shape or block count. */
static void torchvision_params(const char *name, size_t want)
{
    const fss_cnn_model *m = fss_cnn_find(name);
    CHECK(m != NULL, "%s missing from the registry", name);
    if (!m)
        return;
    size_t n = 0;
    for (size_t i = 0; i < m->nlayers; i++)
        n += fss_cnn_weight_count(m, i) + fss_cnn_bias_count(m, i) * (m->layers[i].bn ? 2 : 1);
    CHECK(n == want, "%s: %zu parameters, torchvision's has %zu", name, n, want);
    CHECK(m->c == 3 && m->h == 224 && m->w == 224 && m->classes == 1000, "%s: not a 3x224x224 -> 1000 model", name);
}

/* The trained LeNet loads; a copy with a NaN in conv2.weight (element 37) or an infinity
 * in fc1.bias, or a value beyond the fixed point's range, is refused, naming the tensor
 * and the element; so is one with a transposed matrix (the right count, another shape). */
static void nonfinite_weights(void)
{
    const fss_cnn_model *m = fss_cnn_find("lenet");
    const char *path = FSS_SOURCE_DIR "/cnn/lenet-fashion.safetensors";
    char err[256];
    fss_cnn_weights w;
    CHECK(fss_cnn_weights_load(m, path, &w, err, sizeof err) == FSS_OK, "trained lenet does not load: %s", err);
    fss_cnn_weights_free(&w);
    FILE *f = fopen(path, "rb");
    REQUIRE(f && fseek(f, 0, SEEK_END) == 0);
    const long size = ftell(f);
    unsigned char *bytes = malloc((size_t)size);
    REQUIRE(bytes && size > 0 && fseek(f, 0, SEEK_SET) == 0 && fread(bytes, 1, (size_t)size, f) == (size_t)size);
    fclose(f);
    static const struct {
        const char *tensor;
        size_t at;
        uint32_t bits; /* the float's bit pattern */
        const char *want;
    } cases[] = {{"conv2.weight", 37, 0x7fc00000u, "conv2.weight element 37 is not a finite"},
                 {"fc1.bias", 3, 0xff800000u, "fc1.bias element 3 is not a finite"},
                 /* beyond the 40-bit ring: weights at scale 12 (|w| < 2^27), biases at 24 (2^15) */
                 {"conv2.weight", 5, 0x4e6e6b28u, "conv2.weight element 5 is 1e+09, beyond what model lenet's"},
                 {"fc1.bias", 7, 0x471c4000u, "fc1.bias element 7 is 40000, beyond what model lenet's"}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        fss_safetensors *st = NULL;
        const fss_safetensors_tensor *t = NULL;
        REQUIRE(fss_safetensors_open(&st, path, err, sizeof err) == FSS_OK &&
                fss_safetensors_get(st, cases[c].tensor, &t, err, sizeof err) == FSS_OK);
        const uint64_t off = t->offset + 4 * cases[c].at;
        fss_safetensors_close(st);
        char tmp[] = "/tmp/fss_nanXXXXXX";
        int fd = mkstemp(tmp);
        REQUIRE(fd >= 0);
        unsigned char saved[4];
        memcpy(saved, bytes + off, 4);
        for (int i = 0; i < 4; i++) /* little-endian float32 */
            bytes[off + (uint64_t)i] = (unsigned char)(cases[c].bits >> (8 * i));
        REQUIRE(write(fd, bytes, (size_t)size) == size);
        close(fd);
        memcpy(bytes + off, saved, 4);
        fss_status s = fss_cnn_weights_load(m, tmp, &w, err, sizeof err);
        CHECK(s == FSS_E_FORMAT && strstr(err, cases[c].want), "%s element %zu not finite: status %d, '%s'",
              cases[c].tensor, cases[c].at, (int)s, err);
        if (s == FSS_OK)
            fss_cnn_weights_free(&w);
        unlink(tmp);
    }
    /* fc2.weight transposed in the header: the same element count, another shape */
    const char *from = "\"shape\":[10,100]", *to = "\"shape\":[100,10]";
    unsigned char *at = memmem(bytes, (size_t)size, from, strlen(from));
    REQUIRE(at);
    memcpy(at, to, strlen(to));
    char tmp[] = "/tmp/fss_shapeXXXXXX";
    int fd = mkstemp(tmp);
    REQUIRE(fd >= 0 && write(fd, bytes, (size_t)size) == size);
    close(fd);
    fss_status s = fss_cnn_weights_load(m, tmp, &w, err, sizeof err);
    CHECK(s == FSS_E_FORMAT && strstr(err, "tensor fc2.weight has shape [100, 10]; model lenet takes [10, 100]"),
          "a transposed fc2.weight: status %d, '%s'", (int)s, err);
    if (s == FSS_OK)
        fss_cnn_weights_free(&w);
    unlink(tmp);
    free(bytes);
}

/* A key file's description, through the registry: this build's own round-trips; another
 * walk version, an unknown model and a fingerprint of other text are refused, each with its
 * own message. And every model the family lists is one the CNN code knows. */
static void descriptions(void)
{
    char err[320];
    const char *argv[] = {"dealer", "--batch", "4"};
    fss_args fa = {0};
    int i = 1;
    REQUIRE(fss_args_take(&fa, 3, (char **)argv, &i, err, sizeof err) == FSS_OK && i == 3);
    fss_model *m = NULL, *got = NULL;
    REQUIRE(fss_model_configure(&m, "lenet", FSS_ROLE_DEALER, &fa, err, sizeof err) == FSS_OK);
    CHECK(fss_model_family(m) == &fss_family_cnn, "lenet is not the cnn family's");
    const char *desc = fss_model_description(m);
    CHECK(!strcmp(desc, "fsskit-cnn/6 model=lenet batch=4 bits=40 scale=12"), "lenet's description is '%s'", desc);
    uint8_t fp[32];
    memcpy(fp, fss_model_fingerprint(m), 32);
    CHECK(fss_model_from_description(&got, desc, strlen(desc), fp, err, sizeof err) == FSS_OK &&
              !strcmp(fss_model_description(got), desc),
          "own description '%s' does not parse back: %s", desc, err);
    fss_model_free(got);
    static const struct {
        const char *text, *want;
    } bad[] = {{"fsskit-cnn/1 model=lenet batch=4 bits=40 scale=12", "another version of the dealer ('fsskit-cnn/1'"},
               {"fsskit-cnn/6x model=lenet batch=4", "not an fsskit run's"},
               {"fsskit-cnn/6 model=nosuch batch=4 bits=40 scale=12", "does not know"},
               {"fsskit-nosuch/2 model=lenet batch=4", "family 'nosuch', which this build does not have"},
               {"fsskit-cnn/6 model=lenet batch=5 bits=40 scale=12", "does not match its fingerprint"},
               {"fsskit-cnn/6 model=lenet batch=4 bits=41 scale=12", "does not match its fingerprint"}};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        err[0] = 0;
        got = NULL;
        fss_status s = fss_model_from_description(&got, bad[k].text, strlen(bad[k].text), fp, err, sizeof err);
        CHECK(s == FSS_E_FORMAT && strstr(err, bad[k].want) && !got, "description '%s': status %d, '%s'",
              bad[k].text, (int)s, err);
        fss_model_free(got);
    }
    fss_model_free(m);
    const char *p = fss_family_cnn.models;
    while (*p) {
        char name[64];
        const size_t n = strcspn(p, ", ");
        snprintf(name, sizeof name, "%.*s", (int)n, p);
        CHECK(fss_cnn_find(name) && fss_family_for_model(name) == &fss_family_cnn, "listed model '%s' is not found",
              name);
        p += n;
        p += strspn(p, ", ");
    }
}

/* Float to fixed point and back: rounding to nearest (ties to even), saturation at the
 * ring's signed range on both sides (for rings over 53 bits, the largest double under
 * 2^(bits-1): positive in the ring), NaN to 0, and random values back within half a
 * unit of the last place. */
static void fixed_point(fss_rng *rng)
{
    static const int widths[] = {8, 16, 32, 48, 53, 54, 63, 64};
    for (size_t wi = 0; wi < sizeof widths / sizeof *widths; wi++) {
        const int bits = widths[wi];
        for (int scale = 0; scale < bits && scale <= 28; scale += 7) {
            const double one = (double)((uint64_t)1 << scale);
            const int64_t max = bits <= 53 ? (int64_t)(((uint64_t)1 << (bits - 1)) - 1)
                                           : (int64_t)(((uint64_t)1 << (bits - 1)) - ((uint64_t)1 << (bits - 54)));
            static const struct {
                double x; /* in units of 2^-scale */
                int64_t want;
            } exact[] = {{0, 0}, {1, 1}, {-1, -1}, {0.5, 0}, {1.5, 2}, {2.5, 2}, {-2.5, -2}, {0.49, 0}, {-0.51, -1}};
            size_t bad = 0;
            for (size_t i = 0; i < sizeof exact / sizeof *exact; i++)
                bad += fss_fixed_from_float(exact[i].x / one, scale, bits) != fss_ring_from_signed(exact[i].want, bits);
            const double big[] = {1e300, INFINITY, ldexp(1.0, bits - 1 - scale), -1e300, -INFINITY};
            for (size_t i = 0; i < 5; i++) {
                const uint64_t v = fss_fixed_from_float(big[i], scale, bits);
                bad += fss_ring_to_signed(v, bits) != (big[i] > 0 ? max : -max);
            }
            bad += fss_fixed_from_float(NAN, scale, bits) != 0;
            for (int i = 0; i < 200; i++) {
                uint64_t r;
                REQUIRE(fss_rng_bytes(rng, &r, sizeof r) == FSS_OK);
                const double x = ldexp((double)(int64_t)r, bits - 2 - scale - 63); /* |x| < 2^(bits-2-scale) */
                const double back = fss_fixed_to_float(fss_fixed_from_float(x, scale, bits), scale, bits);
                bad += !(fabs(back - x) <= 0.5 / one);
            }
            CHECK(bad == 0, "fixed point, %d bits at scale %d: %zu conversions wrong", bits, scale, bad);
        }
    }
}

int main(void)
{
    fss_rng *rng = check_init("test_cnn");
    fixed_point(rng);
    descriptions();
    nonfinite_weights();
    fold(rng);
    run_model(rng, "lenet", 2);
    run_model(rng, "resnet-tiny", 2);
    CHECK(fss_cnn_find("vgg16-cifar") && fss_cnn_find("resnet18-cifar"), "models missing from the registry");
    CHECK(!fss_cnn_find("nosuch"), "an unknown model was found");
    split_join(rng);
    torchvision_params("resnet18", 11689512);
    torchvision_params("resnet50", 25557032);
    fss_rng_free(rng);
    return check_summary();
}
