/* CNN models walked three times in one process: the clear walk, the dealer into memory
 * key streams, and the two parties in two threads over a peer pair. The revealed logits
 * must equal the clear walk's bit for bit. Random weights and images from the run's
 * seed; plus the BatchNorm folding against its formula. */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "check.h"
#include "fss/cnn.h"
#include "fss/io_adapt.h"
#include "fss/memkeys.h"

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
                             p->b == 1 ? p->logits : NULL, NULL, NULL);
        snprintf(p->err, sizeof p->err, "%s", fss_eval_error(ev));
        p->rounds = fss_eval_stats_get(ev)->rounds;
    }
    fss_eval_free(ev);
    fss_ctx_free(cpu);
    return NULL;
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
    fss_status s = fss_cnn_walk(ev, m, batch, &w, img, want, NULL, NULL);
    CHECK(s == FSS_OK, "%s: clear walk: %s", name, fss_eval_error(ev));
    fss_eval_free(ev);

    fss_memkeys *k[2];
    REQUIRE(fss_memkeys_new(&k[0]) == FSS_OK && fss_memkeys_new(&k[1]) == FSS_OK);
    fss_key_sink sinks[2] = {fss_memkeys_sink(k[0]), fss_memkeys_sink(k[1])};
    REQUIRE(fss_eval_new_dealer(&ev, cpu, rng, sinks) == FSS_OK);
    s = fss_cnn_walk(ev, m, batch, NULL, NULL, NULL, NULL, NULL);
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

int main(void)
{
    fss_rng *rng = check_init("test_cnn");
    fold(rng);
    run_model(rng, "lenet", 2);
    run_model(rng, "resnet-tiny", 2);
    CHECK(fss_cnn_find("vgg16-cifar") && fss_cnn_find("resnet18-cifar"), "models missing from the registry");
    CHECK(!fss_cnn_find("nosuch"), "an unknown model was found");
    fss_rng_free(rng);
    return check_summary();
}
