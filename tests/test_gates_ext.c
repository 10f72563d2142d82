/* The gates of runtime/gates_ext.c (one-round ReLU, sign extension, stochastic
 * truncation), each walked three times as in test_gates.c: the clear walk gives the
 * expected values (and is itself checked against plain C); the dealer walk writes two
 * key streams; the two parties run in two threads over a socketpair. ReLU and sign
 * extension must equal the clear walk bit for bit; the stochastic truncation must be
 * floor(x / 2^f) or that + 1, never + 1 when 2^f divides x, and round up with frequency
 * (x mod 2^f) / 2^f. Exhaustive at small widths (every x, many fresh masks each), random
 * with edge values at 8, 16, 37, 63 and 64 bits. Rounds and key bytes are checked against
 * the sizes documented in gates.h. */
#include <string.h>

#include "check.h"
#include "gate_harness.h"
#include "fss/dcf.h"
#include "fss/gates.h"
#include "fss/memkeys.h"
#include "fss/ring.h"

/* ---- the models: x (party 1's input) -> one gate -> revealed to party 1 ------------- */
enum { G_RELU, G_SEXT, G_TRUNC, G_CHAIN };
static const char *const gate_names[] = {"relu_1round", "sext", "trunc_stochastic", "relu_1round+sext"};

typedef struct model {
    int kind;
    int bits, bits_out, f; /* G_SEXT, G_CHAIN: bits -> bits_out; G_TRUNC: shift f */
    size_t count;
    const uint64_t *x;
} model;

static int out_bits(const model *md) { return md->kind == G_SEXT || md->kind == G_CHAIN ? md->bits_out : md->bits; }

static fss_status walk(fss_eval *ev, const model *md, uint64_t *out)
{
    fss_tensor x = {0}, a = {0}, b = {0};
    size_t shape[1] = {md->count};
    fss_status s = fss_gate_input(ev, 1, 1, shape, md->bits, 0, md->x, &x);
    if (s == FSS_OK) {
        switch (md->kind) {
        case G_RELU:
            s = fss_gate_relu_1round(ev, &x, &a);
            break;
        case G_SEXT:
            s = fss_gate_sext(ev, &x, md->bits_out, &a);
            break;
        case G_TRUNC:
            s = fss_gate_trunc_stochastic(ev, &x, md->f, &a);
            break;
        case G_CHAIN:
            s = fss_gate_relu_1round(ev, &x, &b);
            if (s == FSS_OK)
                s = fss_gate_sext(ev, &b, md->bits_out, &a);
            break;
        }
    }
    if (s == FSS_OK)
        s = fss_gate_output(ev, 1, &a, out);
    fss_tensor_free(&x);
    fss_tensor_free(&a);
    fss_tensor_free(&b);
    return s;
}

/* walk() behind the harness's generic signature */
static fss_status walk_any(fss_eval *ev, const void *md, uint64_t *out) { return walk(ev, (const model *)md, out); }

static fss_ctx *ctx;
static fss_rng *rng;

/* ---- the documented costs (gates.h), per party b ------------------------------------ */
static size_t packed(size_t count, int bits) { return (count * (size_t)bits + 7) / 8; }
static size_t shares_bytes(int b, size_t count, int bits) { return b == 0 ? 16 : packed(count, bits); }
/* fresh shares (r_y less a function of r): a seed to each party, unless packed they take 16 bytes or fewer */
static size_t fresh_bytes(int b, size_t count, int bits)
{
    return packed(count, bits) <= 16 ? shares_bytes(b, count, bits) : 16;
}
/* explicit and fresh shares in one chunk: party 0 one seed, party 1 the packed explicit ones and fresh_bytes
 * (party 1 holds a walk's first chunk of explicit shares, the tie; the models here have one) */
static size_t mixed_bytes(int b, size_t count, size_t nfresh, int bits)
{
    return b ? packed(count, bits) + fresh_bytes(1, nfresh, bits) : 16;
}

static size_t sext_bytes(int b, size_t cnt, int m, int n)
{
    return n == m ? 0 : harness_deal_bytes(FSS_DCF_KEY_BYTES(m, n - m, 1), cnt) + fresh_bytes(b, cnt, n);
}

static size_t gate_bytes(const model *md, int b)
{
    const size_t cnt = md->count;
    const int n = md->bits, f = md->f;
    size_t relu = harness_deal_bytes(FSS_DCF_KEY_BYTES(n - 1, n, 2), cnt) + mixed_bytes(b, 2 * cnt, cnt, n);
    switch (md->kind) {
    case G_RELU:
        return relu;
    case G_SEXT:
        return sext_bytes(b, cnt, n, md->bits_out);
    case G_CHAIN:
        return relu + sext_bytes(b, cnt, n, md->bits_out);
    default:
        if (f == 0)
            return 0;
        return harness_deal_bytes(FSS_DCF_KEY_BYTES(f, n - f, 1), cnt) + fresh_bytes(b, cnt, n - f) +
               sext_bytes(b, cnt, n - f, n);
    }
}

static uint64_t gate_rounds(const model *md)
{
    switch (md->kind) {
    case G_RELU:
        return 1;
    case G_SEXT:
        return md->bits_out > md->bits;
    case G_CHAIN:
        return 1 + (md->bits_out > md->bits);
    default:
        return md->f == 0 ? 0 : 2;
    }
}

/* ---- plain C references of the clear functions -------------------------------------- */
static int64_t to_signed(uint64_t v, int bits)
{
    if (bits == 64)
        return (int64_t)v;
    v &= ((uint64_t)1 << bits) - 1;
    return v >> (bits - 1) ? (int64_t)v - ((int64_t)1 << (bits - 1)) - ((int64_t)1 << (bits - 1)) : (int64_t)v;
}

static uint64_t ref(const model *md, uint64_t x)
{
    const int n = md->bits, no = out_bits(md);
    const uint64_t mo = no == 64 ? ~(uint64_t)0 : ((uint64_t)1 << no) - 1;
    int64_t s = to_signed(x, n);
    switch (md->kind) {
    case G_RELU:
        return s > 0 ? x : 0;
    case G_SEXT:
        return (uint64_t)s & mo;
    case G_CHAIN:
        return s > 0 ? (uint64_t)s & mo : 0;
    default: { /* floor(s / 2^f): subtract the nonnegative residue, then divide exactly */
        int64_t rem = (int64_t)((uint64_t)s & (((uint64_t)1 << md->f) - 1));
        return (uint64_t)((s - rem) / ((int64_t)1 << md->f)) & mo;
    }
    }
}

typedef struct result {
    uint64_t *got, *want; /* party 1's revealed outputs, the clear walk's */
    size_t dealer_bytes[2];
} result;

static void result_free(result *r)
{
    free(r->got);
    free(r->want);
}

/* Clear, dealer and party walks of md; the generic checks (statuses, key streams used up,
 * rounds, bytes, nothing revealed to party 0, the clear walk against plain C). */
static result run(const model *md)
{
    const size_t no = md->count, nb_in = 16 /* the input mask's seed */, nb_out = packed(no, out_bits(md));
    const char *name = gate_names[md->kind];
    result res = {calloc(no ? no : 1, 8), calloc(no ? no : 1, 8), {0, 0}};
    uint64_t *got0 = calloc(no ? no : 1, 8);
    REQUIRE(res.got && res.want && got0);

    fss_eval *ev;
    REQUIRE(fss_eval_new_clear(&ev, ctx) == FSS_OK);
    fss_status cs = walk(ev, md, res.want);
    CHECK(cs == FSS_OK, "%s: clear walk: %s", name, fss_eval_error(ev));
    fss_eval_free(ev);
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < no; i++)
        if (res.want[i] != ref(md, md->x[i]) && !bad++)
            first = i;
    CHECK(bad == 0, "%s (n=%d->%d f=%d): clear walk differs from plain C at %zu of %zu, first x %llu: %llu, want %llu",
          name, md->bits, out_bits(md), md->f, bad, no, (unsigned long long)md->x[first],
          (unsigned long long)res.want[first], (unsigned long long)ref(md, md->x[first]));

    fss_memkeys *keys[2];
    uint64_t dealt[2];
    harness_deal(ctx, rng, walk_any, md, name, keys, dealt);
    res.dealer_bytes[0] = (size_t)dealt[0];
    res.dealer_bytes[1] = (size_t)dealt[1];
    party_run pr[2];
    uint64_t *outs[2] = {got0, res.got};
    harness_parties(walk_any, md, name, keys, outs, pr);
    for (int b = 0; b < 2; b++) {
        uint64_t want_rounds = 1 + gate_rounds(md); /* the input's round, then the gate's */
        CHECK(pr[b].stats.rounds == want_rounds, "%s (n=%d): party %d took %llu rounds, documented %llu", name,
              md->bits, b, (unsigned long long)pr[b].stats.rounds, (unsigned long long)want_rounds);
        size_t want_bytes = gate_bytes(md, b) + (b == 1 ? nb_in + nb_out : 0);
        CHECK(pr[b].stats.key_bytes[b] == want_bytes && res.dealer_bytes[b] == want_bytes,
              "%s (n=%d->%d f=%d): party %d key bytes: read %llu, dealt %zu, documented %zu", name, md->bits,
              out_bits(md), md->f, b, (unsigned long long)pr[b].stats.key_bytes[b], res.dealer_bytes[b], want_bytes);
    }
    CHECK(pr[0].stats.bytes_sent == pr[1].stats.bytes_received, "%s: byte counts disagree", name);
    size_t leak = 0;
    for (size_t i = 0; i < no; i++)
        leak += got0[i] != 0;
    CHECK(leak == 0, "%s: party 0 received outputs meant for party 1", name);
    fss_memkeys_free(keys[0]);
    fss_memkeys_free(keys[1]);
    free(got0);
    return res;
}

/* Exact gates: the revealed output equals the clear walk bit for bit. */
static void run_exact(const model *md)
{
    result r = run(md);
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < md->count; i++)
        if (r.got[i] != r.want[i] && !bad++)
            first = i;
    CHECK(bad == 0, "%s (n=%d->%d): %zu of %zu outputs differ, first at %zu: got %llu want %llu (x %llu)",
          gate_names[md->kind], md->bits, out_bits(md), bad, md->count, first, (unsigned long long)r.got[first],
          (unsigned long long)r.want[first], (unsigned long long)md->x[first]);
    result_free(&r);
}

/* The stochastic truncation: got - want is 0 or 1 (mod 2^n), 0 when 2^f divides x.
 * ups[i] (if given) receives the rounding bit of element i. */
static void run_trunc(const model *md, uint8_t *ups)
{
    result r = run(md);
    const int n = md->bits;
    const uint64_t mn = fss_ring_mask(n), fm = fss_ring_mask(md->f);
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < md->count; i++) {
        uint64_t d = (r.got[i] - r.want[i]) & mn;
        int ok = d == 0 || (d == 1 && (md->x[i] & fm) != 0);
        if (!ok && !bad++)
            first = i;
        if (ups)
            ups[i] = (uint8_t)(d == 1);
    }
    CHECK(bad == 0, "trunc_stochastic (n=%d f=%d): %zu of %zu outputs outside {floor, floor + 1 if inexact}, first "
          "x %llu: got %llu, floor %llu", n, md->f, bad, md->count, (unsigned long long)md->x[first],
          (unsigned long long)r.got[first], (unsigned long long)r.want[first]);
    result_free(&r);
}

/* Random n-bit inputs with the edge values in front: 0, 1, -1, max, min, 2, -2. */
static void fill(uint64_t *v, size_t count, int bits)
{
    REQUIRE(fss_rng_ring(rng, v, count, bits) == FSS_OK);
    uint64_t m = fss_ring_mask(bits);
    uint64_t edge[] = {0, 1, m, m >> 1, (m >> 1) + 1, 2, m - 1};
    for (size_t i = 0; i < count && i < 7; i++)
        v[i] = edge[i] & m;
}

/* Keep inputs of the stochastic truncation within its bound x <= 2^(n-1) - 2^f, keeping
 * their low f bits; the bound itself and its neighbour below go in front. */
static void clamp_trunc(uint64_t *v, size_t count, int n, int f)
{
    const int64_t bound = (int64_t)((((uint64_t)1 << (n - 1)) - ((uint64_t)1 << f)));
    for (size_t i = 0; i < count; i++)
        if (to_signed(v[i], n) > bound)
            v[i] = fss_ring_sub(v[i], (uint64_t)1 << f, n);
    if (count > 8) {
        v[7] = (uint64_t)bound;
        v[8] = (uint64_t)bound - 1;
    }
}

/* Every n-bit value, reps times, each time under a fresh mask. */
static uint64_t *all_values(int bits, size_t reps, size_t *count)
{
    size_t dom = (size_t)1 << bits;
    *count = dom * reps;
    uint64_t *x = malloc(*count * 8);
    REQUIRE(x);
    for (size_t i = 0; i < *count; i++)
        x[i] = i & (dom - 1);
    return x;
}

/* ---- relu_tag: x (party 1's) and a tag t (party 0's) -> d x and d t, both to party 1 -- */
typedef struct tag_model {
    int bits, c;
    size_t count;
    const uint64_t *x, *t;
} tag_model;

static fss_status tag_walk(fss_eval *ev, const void *arg, uint64_t *out)
{
    const tag_model *md = (const tag_model *)arg;
    fss_tensor x = {0}, t = {0}, y = {0}, yt = {0};
    size_t shape[1] = {md->count};
    fss_status s = fss_gate_input(ev, 1, 1, shape, md->bits, 0, md->x, &x);
    if (s == FSS_OK && md->t)
        s = fss_gate_input(ev, 0, 1, shape, md->bits, 0, md->t, &t);
    if (s == FSS_OK)
        s = fss_gate_relu_tag(ev, &x, md->c, md->t ? &t : NULL, &y, md->t ? &yt : NULL);
    if (s == FSS_OK)
        s = fss_gate_output(ev, 1, &y, out);
    if (s == FSS_OK && md->t)
        s = fss_gate_output(ev, 1, &yt, out ? out + md->count : NULL);
    fss_tensor_free(&x), fss_tensor_free(&t), fss_tensor_free(&y), fss_tensor_free(&yt);
    return s;
}

/* Random x within +-2^(c-1) (edges 0, -1, 2^(c-1) - 1, -2^(c-1) in front) and random n-bit
 * tags: the clear walk is plain C's d x, d t; the parties' bit for bit; one round for the
 * gate (after the inputs'), and the documented key bytes. */
static void run_tag(int n, int c, int tagged)
{
    const size_t cnt = 2000, no = (tagged ? 2 : 1) * cnt;
    uint64_t *x = malloc(cnt * 8), *t = malloc(cnt * 8), *want = calloc(no, 8), *got[2] = {calloc(no, 8),
                                                                                         calloc(no, 8)};
    REQUIRE(x && t && want && got[0] && got[1]);
    fill(t, cnt, n);
    REQUIRE(fss_rng_ring(rng, x, cnt, c) == FSS_OK);
    const uint64_t edge[4] = {0, fss_ring_mask(c), fss_ring_mask(c - 1), (uint64_t)1 << (c - 1)};
    for (size_t i = 0; i < cnt; i++) /* c-bit values read signed, as n-bit ring elements */
        x[i] = fss_ring_from_signed(to_signed(i < 4 ? edge[i] : x[i], c), n);
    tag_model md = {n, c, cnt, x, tagged ? t : NULL};
    fss_eval *ev;
    REQUIRE(fss_eval_new_clear(&ev, ctx) == FSS_OK);
    CHECK(tag_walk(ev, &md, want) == FSS_OK, "relu_tag (n=%d c=%d): clear walk: %s", n, c, fss_eval_error(ev));
    fss_eval_free(ev);
    size_t bad = 0;
    for (size_t i = 0; i < cnt; i++) {
        const int pos = to_signed(x[i], n) >= 0;
        bad += want[i] != (pos ? x[i] : 0) || (tagged && want[cnt + i] != (pos ? t[i] : 0));
    }
    CHECK(bad == 0, "relu_tag (n=%d c=%d): the clear walk differs from plain C at %zu elements", n, c, bad);
    fss_memkeys *keys[2];
    uint64_t dealt[2];
    harness_deal(ctx, rng, tag_walk, &md, "relu_tag", keys, dealt);
    party_run pr[2];
    harness_parties(tag_walk, &md, "relu_tag", keys, got, pr);
    const int g = tagged ? 3 : 2, ns = tagged ? 5 : 3;
    for (int b = 0; b < 2; b++) {
        const size_t gate = harness_deal_bytes(FSS_DCF_KEY_BYTES(c - 1, n, g), cnt) +
                            mixed_bytes(b, (size_t)(2 + tagged) * cnt, (size_t)(ns - 2 - tagged) * cnt, n);
        const size_t inputs = b ? 16 : (tagged ? 16 : 0), outs = b ? packed(cnt, n) * (tagged ? 2 : 1) : 0;
        CHECK(pr[b].stats.key_bytes[b] == gate + inputs + outs && pr[b].stats.rounds == 2u + tagged,
              "relu_tag (n=%d c=%d): party %d read %llu key bytes in %llu rounds, documented %zu in %d", n, c, b,
              (unsigned long long)pr[b].stats.key_bytes[b], (unsigned long long)pr[b].stats.rounds,
              gate + inputs + outs, 2 + tagged);
    }
    bad = 0;
    for (size_t i = 0; i < no; i++)
        bad += got[1][i] != want[i];
    CHECK(bad == 0, "relu_tag (n=%d c=%d%s): %zu of %zu outputs differ from the clear walk", n, c,
          tagged ? ", tagged" : "", bad, no);
    /* an x outside +-2^(c-1): the clear walk refuses it */
    if (c < n) {
        x[5] = (uint64_t)1 << (c - 1);
        REQUIRE(fss_eval_new_clear(&ev, ctx) == FSS_OK);
        CHECK(tag_walk(ev, &md, want) == FSS_E_ARG && strstr(fss_eval_error(ev), "outside"),
              "relu_tag (n=%d c=%d): an x of 2^(c-1) taken: %s", n, c, fss_eval_error(ev));
        fss_eval_free(ev);
    }
    fss_memkeys_free(keys[0]);
    fss_memkeys_free(keys[1]);
    free(x), free(t), free(want), free(got[0]), free(got[1]);
}

/* |dev| <= 6 sigma + 1/2, without libm. */
static int within_6_sigma(double dev, double var)
{
    double a = dev < 0 ? -dev : dev;
    return a <= 0.5 || (a - 0.5) * (a - 0.5) <= 36 * var;
}

/* Rounding frequencies: x with each low part a in [0, 2^f), reps times each; the count
 * of round-ups must be near reps a / 2^f for each a (6 sigma), and in total. */
static void trunc_statistics(int n, int f, size_t reps)
{
    const size_t na = (size_t)1 << f, count = na * reps;
    uint64_t *x = malloc(count * 8);
    uint8_t *ups = malloc(count);
    REQUIRE(x && ups);
    fill(x, count, n);
    for (size_t i = 0; i < count; i++)
        x[i] = (x[i] & ~fss_ring_mask(f)) | (i % na);
    clamp_trunc(x, count, n, f);
    x[7] = x[8] = 0; /* keep the low parts uniform over a */
    model md = {.kind = G_TRUNC, .bits = n, .f = f, .count = count, .x = x};
    run_trunc(&md, ups);
    double tot_dev = 0, tot_var = 0;
    for (size_t a = 0; a < na; a++) {
        size_t k = 0, cnt = 0;
        for (size_t i = 0; i < count; i++)
            if ((x[i] & fss_ring_mask(f)) == a) {
                cnt++;
                k += ups[i];
            }
        double p = (double)a / (double)na, mean = (double)cnt * p, var = (double)cnt * p * (1 - p);
        tot_dev += (double)k - mean;
        tot_var += var;
        CHECK(within_6_sigma((double)k - mean, var),
              "trunc_stochastic n=%d f=%d: low part %zu rounded up %zu of %zu times, expected %.1f", n, f, a, k, cnt,
              mean);
    }
    CHECK(within_6_sigma(tot_dev, tot_var), "trunc_stochastic n=%d f=%d: %.1f more round-ups than expected",
          n, f, tot_dev);
    free(x);
    free(ups);
}

/* ---- failures name the gate ----------------------------------------------------------- */
static fss_status failing_begin(void *self, uint32_t kind, uint64_t elements, size_t bytes)
{
    (void)self, (void)kind, (void)elements, (void)bytes;
    return FSS_E_IO;
}
static fss_status failing_append(void *self, const void *data, size_t n)
{
    (void)self, (void)data, (void)n;
    return FSS_E_IO;
}
static fss_status failing_open(void *self, uint32_t kind, uint64_t elements)
{
    (void)self, (void)kind, (void)elements;
    return FSS_E_IO;
}
static fss_status failing_read(void *self, size_t n, const void **data)
{
    (void)self, (void)n, (void)data;
    return FSS_E_IO;
}
static fss_status failing_close(void *self)
{
    (void)self;
    return FSS_E_IO;
}
static fss_status no_exchange(void *self, const void *s, size_t ns, void *r, size_t nr)
{
    (void)self, (void)s, (void)ns, (void)r, (void)nr;
    return FSS_E_IO;
}

static fss_status call_gate(fss_eval *ev, int kind, const fss_tensor *x, int arg, fss_tensor *y)
{
    return kind == G_RELU ? fss_gate_relu_1round(ev, x, y)
           : kind == G_SEXT ? fss_gate_sext(ev, x, arg, y)
                            : fss_gate_trunc_stochastic(ev, x, arg, y);
}

static void failures(void)
{
    fss_eval *ev[4];
    fss_key_sink bad_sinks[2] = {{failing_begin, failing_append, NULL}, {failing_begin, failing_append, NULL}};
    REQUIRE(fss_eval_new_clear(&ev[0], ctx) == FSS_OK);
    REQUIRE(fss_eval_new_dealer(&ev[1], ctx, rng, bad_sinks) == FSS_OK);
    REQUIRE(fss_eval_new_party(&ev[2], ctx, 0, (fss_key_source){.open = failing_open, .read = failing_read, .close = failing_close},
                               (fss_link){no_exchange, NULL}) == FSS_OK);
    REQUIRE(fss_eval_new_party(&ev[3], ctx, 1, (fss_key_source){.open = failing_open, .read = failing_read, .close = failing_close},
                               (fss_link){no_exchange, NULL}) == FSS_OK);
    size_t shape[1] = {5};
    for (int kind = G_RELU; kind <= G_TRUNC; kind++) {
        const char *name = gate_names[kind];
        /* bad arguments, in every mode */
        for (int e = 0; e < 4; e++) {
            fss_tensor x = {0}, y = {0};
            int bits = kind == G_RELU ? 1 : 8, arg = kind == G_SEXT ? 7 : 8;
            REQUIRE(fss_tensor_init(&x, 1, shape, bits, 0) == FSS_OK);
            fss_status s = call_gate(ev[e], kind, &x, arg, &y);
            CHECK(s == FSS_E_ARG && strncmp(fss_eval_error(ev[e]), name, strlen(name)) == 0,
                  "%s with bad arguments (mode %d): status %d, message \"%s\"", name, e, (int)s, fss_eval_error(ev[e]));
            fss_tensor_free(&x);
            fss_tensor_free(&y);
        }
        /* a key sink or source that fails */
        for (int e = 1; e < 4; e++) {
            fss_tensor x = {0}, y = {0};
            REQUIRE(fss_tensor_init(&x, 1, shape, 16, 0) == FSS_OK);
            fss_status s = call_gate(ev[e], kind, &x, kind == G_SEXT ? 24 : 3, &y);
            CHECK(s == FSS_E_IO && strncmp(fss_eval_error(ev[e]), name, strlen(name)) == 0,
                  "%s with failing keys (mode %d): status %d, message \"%s\"", name, e, (int)s, fss_eval_error(ev[e]));
            fss_tensor_free(&x);
            fss_tensor_free(&y);
        }
    }
    for (int e = 0; e < 4; e++)
        fss_eval_free(ev[e]);
}

/* Key bytes per element (party 1, the larger) and rounds at one width, for the record. */
static void report_costs(int n)
{
    const size_t count = 1000;
    uint64_t *x = malloc(count * 8);
    REQUIRE(x);
    model md[] = {{G_RELU, n, n, 0, count, x}, {G_SEXT, n / 2, n, 0, count, x}, {G_TRUNC, n, n, 12, count, x}};
    printf("costs at n = %d (party 1, per element, without input/output masks):\n", n);
    for (size_t k = 0; k < sizeof md / sizeof *md; k++) {
        fill(x, count, md[k].bits);
        if (md[k].kind == G_TRUNC)
            clamp_trunc(x, count, md[k].bits, md[k].f);
        result r = run(&md[k]);
        size_t masks = packed(count, md[k].bits) + packed(count, out_bits(&md[k]));
        printf("  %-16s %2d -> %2d bits, f = %2d: %7.1f key bytes, %llu round(s)\n", gate_names[md[k].kind], md[k].bits,
               out_bits(&md[k]), md[k].f, (double)(r.dealer_bytes[1] - masks) / (double)count,
               (unsigned long long)gate_rounds(&md[k]));
        result_free(&r);
    }
    free(x);
}

int main(void)
{
    rng = check_init("test_gates_ext");
    REQUIRE(fss_ctx_new(&ctx, 1) == FSS_OK);
    size_t count;
    uint64_t *x;

    /* exhaustive: every x under many fresh masks */
    static const int relu_all[] = {2, 3, 6};
    for (size_t k = 0; k < 3; k++) {
        x = all_values(relu_all[k], 512, &count);
        run_exact(&(model){.kind = G_RELU, .bits = relu_all[k], .count = count, .x = x});
        free(x);
    }
    static const int sext_all[][2] = {{6, 10}, {1, 8}, {6, 6}, {3, 64}};
    for (size_t k = 0; k < 4; k++) {
        x = all_values(sext_all[k][0], 512, &count);
        run_exact(&(model){.kind = G_SEXT, .bits = sext_all[k][0], .bits_out = sext_all[k][1], .count = count, .x = x});
        free(x);
    }
    x = all_values(6, 256, &count);
    run_exact(&(model){.kind = G_CHAIN, .bits = 6, .bits_out = 11, .count = count, .x = x});
    free(x);
    static const int trunc_f[] = {0, 1, 3, 7};
    for (size_t k = 0; k < 4; k++) {
        x = all_values(8, 64, &count);
        clamp_trunc(x, count, 8, trunc_f[k]);
        run_trunc(&(model){.kind = G_TRUNC, .bits = 8, .f = trunc_f[k], .count = count, .x = x}, NULL);
        free(x);
    }

    /* random inputs with edge values, at several widths */
    count = 3000;
    x = malloc(count * 8);
    REQUIRE(x);
    static const int widths[] = {8, 16, 37, 63, 64};
    for (size_t wi = 0; wi < 5; wi++) {
        int n = widths[wi];
        fill(x, count, n);
        run_exact(&(model){.kind = G_RELU, .bits = n, .count = count, .x = x});
        static const int fs[] = {1, 3, 7, 12};
        for (size_t fi = 0; fi < 4; fi++) {
            int f = fs[fi];
            if (f >= n || (f == 12 && n < 37))
                continue;
            fill(x, count, n);
            clamp_trunc(x, count, n, f);
            run_trunc(&(model){.kind = G_TRUNC, .bits = n, .f = f, .count = count, .x = x}, NULL);
        }
    }
    static const int sext_rand[][2] = {{8, 16}, {16, 37}, {37, 64}, {63, 64}, {2, 64}};
    for (size_t k = 0; k < 5; k++) {
        fill(x, count, sext_rand[k][0]);
        int m = sext_rand[k][0], nout = sext_rand[k][1];
        run_exact(&(model){.kind = G_SEXT, .bits = m, .bits_out = nout, .count = count, .x = x});
    }
    fill(x, count, 37);
    run_exact(&(model){.kind = G_CHAIN, .bits = 37, .bits_out = 64, .count = count, .x = x});
    free(x);

    /* relu_tag: its sign from c bits, a tag or none */
    static const int tags[][2] = {{64, 28}, {64, 64}, {37, 20}, {16, 2}, {50, 49}};
    for (size_t k = 0; k < 5; k++) {
        run_tag(tags[k][0], tags[k][1], 1);
        run_tag(tags[k][0], tags[k][1], (int)(k % 2));
    }

    /* the rounding is unbiased: up with probability (x mod 2^f) / 2^f */
    trunc_statistics(16, 4, 512);
    trunc_statistics(64, 2, 2048);
    trunc_statistics(37, 1, 4096);

    failures();
    report_costs(40);
    fss_ctx_free(ctx);
    fss_rng_free(rng);
    return check_summary();
}
