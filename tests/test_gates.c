/* The gates of runtime/, each walked three times: the clear walk gives the expected
 * values; the dealer walk writes two key streams; the two parties then run in two
 * threads over a socketpair, and the receiver's revealed output must equal the clear
 * walk bit for bit. Fresh random inputs and keys each run (seed printed), plus edge
 * values, at several ring widths. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "gate_harness.h"
#include "fss/dcf.h"
#include "fss/dpf.h"
#include "fss/gates.h"
#include "fss/memkeys.h"
#include "fss/ring.h"
#include "eval_internal.h" /* the wire packing */

/* ---- the models: one gate (or a short chain) between inputs and a revealed output ---- */
typedef struct model {
    const char *name;
    int bits, bits_out, f;
    size_t lean; /* shifts of this many elements or more lean (fss_eval_set_lean_shifts) */
    size_t m, k, n; /* shapes: x is m x k (party 1), w is k x n (party 0) */
    int kind;
    const uint64_t *x, *w;
    fss_conv2d_params cv; /* M_CONV: x and w reshaped to the conv's; pools: x as [1][m][k/4][4] */
    size_t pk, ps, pp;    /* pool window, stride and padding */
    size_t keep;          /* M_KEPT: the kept weights' budget in values */
} model;

enum {
    M_ADD, M_MUL, M_MATMUL, M_DRELU, M_RELU, M_TR, M_ARS, M_ARSNN, M_CHAIN, M_CONV, M_MAXPOOL, M_AVGPOOL,
    M_RELUARS, M_RELU_ARSNN, M_SELZ, M_MATMUL_WIRE, M_MATMUL_XWIRE, M_MATMUL_REV, M_KEPT, M_MUL2, M_SEL2,
    M_SEL2S, M_DRELU_AT, M_RELU_DRELU_AT
};

static fss_status walk(fss_eval *ev, const model *md, uint64_t *out)
{
    fss_tensor x = {0}, w = {0}, a = {0}, b = {0}, c = {0};
    size_t sx[2] = {md->m, md->k}, sw[2] = {md->k, md->n};
    int bits = md->bits;
    fss_eval_set_lean_shifts(ev, md->lean);
    fss_status s = fss_gate_input(ev, 1, 2, sx, bits, 0, md->x, &x);
    if (s == FSS_OK)
        s = fss_gate_input(ev, 0, 2, sw, bits, 0, md->w, &w);
    if (s != FSS_OK)
        goto done;
    switch (md->kind) {
    case M_ADD: { /* (x + 3x - x) + const, all local */
        fss_tensor t = {0};
        uint64_t cst[3] = {5, fss_ring_mask(bits), 1};
        s = fss_gate_scale(ev, &x, 3, &a);
        if (s == FSS_OK) s = fss_gate_add(ev, &x, &a, &t);
        if (s == FSS_OK) s = fss_gate_sub(ev, &t, &x, &b);
        if (s == FSS_OK) s = fss_gate_add_const(ev, &b, cst, 3, &c);
        fss_tensor_free(&t);
        if (s == FSS_OK) s = fss_gate_output(ev, 1, &c, out);
        break;
    }
    case M_MUL: /* x * x elementwise: W is party 1's input */
        s = fss_gate_mul(ev, &x, &x, &a);
        if (s == FSS_OK) s = fss_gate_output(ev, 1, &a, out);
        break;
    case M_MUL2: /* x * x, then 3 (x * x) * x: two products' explicit shares of one size */
        s = fss_gate_mul(ev, &x, &x, &a);
        if (s == FSS_OK) s = fss_gate_scale(ev, &a, 3, &b);
        if (s == FSS_OK) s = fss_gate_mul(ev, &b, &x, &c);
        if (s == FSS_OK) s = fss_gate_output(ev, 1, &c, out);
        break;
    case M_MATMUL:
        s = fss_gate_matmul(ev, &x, &w, &a);
        if (s == FSS_OK) s = fss_gate_output(ev, 1, &a, out);
        break;
    case M_MATMUL_REV: { /* X party 0's input, W party 1's: the cross path the other way round */
        fss_tensor X0 = {0}, W1 = {0};
        s = fss_gate_input(ev, 0, 2, sx, bits, 0, md->x, &X0);
        if (s == FSS_OK) s = fss_gate_input(ev, 1, 2, sw, bits, 0, md->w, &W1);
        if (s == FSS_OK) s = fss_gate_matmul(ev, &X0, &W1, &a);
        if (s == FSS_OK) s = fss_gate_output(ev, 1, &a, out);
        fss_tensor_free(&X0);
        fss_tensor_free(&W1);
        break;
    }
    case M_MATMUL_XWIRE: /* X = 3 x is a wire, W party 0's input: R_x shared */
        s = fss_gate_scale(ev, &x, 3, &b);
        if (s == FSS_OK) s = fss_gate_matmul(ev, &b, &w, &a);
        if (s == FSS_OK) s = fss_gate_output(ev, 1, &a, out);
        break;
    case M_MATMUL_WIRE: /* W = 3 w is a wire (no party knows its mask): the general product */
        s = fss_gate_scale(ev, &w, 3, &b);
        if (s == FSS_OK) s = fss_gate_matmul(ev, &x, &b, &a);
        if (s == FSS_OK) s = fss_gate_output(ev, 1, &a, out);
        break;
    case M_KEPT: { /* party 0's w input as weight 7, 8, 7 and 8 again, x w each time, with a
                    * budget of md->keep values kept (fss_eval_keep_weights): what is kept comes
                    * back with no key and no message, and party 0 gives no values for it */
        static const uint64_t ids[4] = {7, 8, 7, 8};
        const size_t no = md->m * md->n;
        fss_eval_keep_weights(ev, md->keep);
        for (int i = 0; s == FSS_OK && i < 4; i++) {
            fss_tensor W = {0}, p = {0};
            const uint64_t *v = fss_eval_weights_kept(ev, ids[i]) ? NULL : md->w;
            s = fss_gate_input_weights(ev, ids[i], 2, sw, bits, 0, v, &W);
            if (s == FSS_OK) s = fss_gate_matmul(ev, &x, &W, &p);
            if (s == FSS_OK) s = fss_gate_output(ev, 1, &p, out ? out + i * no : NULL);
            fss_tensor_free(&W);
            fss_tensor_free(&p);
        }
        fss_eval_keep_weights(ev, 0);
        break;
    }
    case M_DRELU:
        s = fss_gate_drelu(ev, &x, &a);
        if (s == FSS_OK) s = fss_gate_output(ev, 1, &a, out);
        break;
    case M_DRELU_AT:        /* 1{x + c >= 0} for c = 0, 1, -1 and 2^(n-1) from one key: x's edges either side */
    case M_RELU_DRELU_AT: { /* the same of ReLU(x): a backend's comparisons, then drelu_at's on the CPU */
        const uint64_t off[FSS_DRELU_AT_MAX] = {0, 1, fss_ring_mask(bits), (uint64_t)1 << (bits - 1)};
        fss_tensor d[FSS_DRELU_AT_MAX] = {{0}};
        fss_tensor *dd[FSS_DRELU_AT_MAX] = {&d[0], &d[1], &d[2], &d[3]};
        if (md->kind == M_RELU_DRELU_AT && (s = fss_gate_relu(ev, &x, &a)) == FSS_OK)
            fss_tensor_free(&x), x = a, a = (fss_tensor){0};
        if (s == FSS_OK)
            s = fss_gate_drelu_at(ev, &x, FSS_DRELU_AT_MAX, off, dd);
        for (int j = 0; s == FSS_OK && j < FSS_DRELU_AT_MAX; j++)
            s = fss_gate_output(ev, 1, &d[j], out ? out + (size_t)j * x.count : NULL);
        for (int j = 0; j < FSS_DRELU_AT_MAX; j++)
            fss_tensor_free(&d[j]);
        break;
    }
    case M_SEL2:    /* d = 1{x >= 0} selects x and x's 16 low bits (half where n <= 16): select2, one round */
    case M_SEL2S: { /* the same by two selects, a round each */
        fss_tensor x16 = {0}, y16 = {0};
        const int lo = bits > 16 ? 16 : bits / 2;
        s = fss_gate_drelu(ev, &x, &a);
        if (s == FSS_OK && (s = fss_tensor_init(&x16, 2, sx, lo, 0)) == FSS_OK)
            for (size_t i = 0; i < x.count; i++) /* a ring change needs no key: x^ mod 2^lo */
                x16.v[i] = fss_ring_reduce(x.v[i], lo);
        if (s == FSS_OK && md->kind == M_SEL2)
            s = fss_gate_select2(ev, &a, &x, &x16, &b, &y16);
        else if (s == FSS_OK && (s = fss_gate_select(ev, &a, &x, &b)) == FSS_OK)
            s = fss_gate_select(ev, &a, &x16, &y16);
        if (s == FSS_OK) s = fss_gate_output(ev, 1, &b, out);
        if (s == FSS_OK) s = fss_gate_output(ev, 1, &y16, out ? out + x.count : NULL);
        fss_tensor_free(&x16);
        fss_tensor_free(&y16);
        break;
    }
    case M_RELU:
        s = fss_gate_relu(ev, &x, &a);
        if (s == FSS_OK) s = fss_gate_output(ev, 1, &a, out);
        break;
    case M_TR:
        s = fss_gate_trunc_reduce(ev, &x, md->f, &a);
        if (s == FSS_OK) s = fss_gate_output(ev, 1, &a, out);
        break;
    case M_ARS:
        s = fss_gate_ars(ev, &x, md->f, &a);
        if (s == FSS_OK) s = fss_gate_output(ev, 1, &a, out);
        break;
    case M_ARSNN:
        s = fss_gate_ars_nonneg(ev, &x, md->f, &a);
        if (s == FSS_OK) s = fss_gate_output(ev, 1, &a, out);
        break;
    case M_RELUARS:
        s = fss_gate_relu_ars(ev, &x, md->f, &a);
        if (s == FSS_OK) s = fss_gate_output(ev, 1, &a, out);
        break;
    case M_RELU_ARSNN: /* what relu_ars replaces */
        s = fss_gate_relu(ev, &x, &a);
        if (s == FSS_OK) s = fss_gate_ars_nonneg(ev, &a, md->f, &b);
        if (s == FSS_OK) s = fss_gate_output(ev, 1, &b, out);
        break;
    case M_SELZ: /* relu(x) zero-extended to bits_out */
        s = fss_gate_drelu(ev, &x, &a);
        if (s == FSS_OK) s = fss_gate_select_zext(ev, &a, &x, md->bits_out, &b);
        if (s == FSS_OK) s = fss_gate_output(ev, 1, &b, out);
        break;
    case M_CONV: {
        const fss_conv2d_params *cv = &md->cv;
        size_t xs[4] = {cv->batch, cv->c, cv->h, cv->w}, ws[4] = {cv->o, cv->c, cv->kh, cv->kw};
        s = fss_tensor_reshape(&x, 4, xs);
        if (s == FSS_OK) s = fss_tensor_reshape(&w, 4, ws);
        if (s == FSS_OK) s = fss_gate_conv2d(ev, &x, &w, cv, &a);
        if (s == FSS_OK) s = fss_gate_output(ev, 1, &a, out);
        break;
    }
    case M_MAXPOOL:
    case M_AVGPOOL: {
        size_t xs[4] = {1, md->m, md->k / 4, 4};
        s = fss_tensor_reshape(&x, 4, xs);
        if (s == FSS_OK)
            s = md->kind == M_MAXPOOL ? fss_gate_maxpool_pad(ev, &x, md->pk, md->ps, md->pp, &a)
                                      : fss_gate_avgpool(ev, &x, md->pk, md->ps, &a);
        if (s == FSS_OK) s = fss_gate_output(ev, 1, &a, out);
        break;
    }
    case M_CHAIN: /* relu(ars(x w, f)): a linear layer with its ReLU */
        s = fss_gate_matmul(ev, &x, &w, &a);
        if (s == FSS_OK) s = fss_gate_ars(ev, &a, md->f, &b);
        if (s == FSS_OK) s = fss_gate_relu(ev, &b, &c);
        if (s == FSS_OK) s = fss_gate_output(ev, 1, &c, out);
        break;
    }
done:
    fss_tensor_free(&x);
    fss_tensor_free(&w);
    fss_tensor_free(&a);
    fss_tensor_free(&b);
    fss_tensor_free(&c);
    return s;
}

/* walk() behind the harness's generic signature */
static fss_status walk_any(fss_eval *ev, const void *md, uint64_t *out) { return walk(ev, (const model *)md, out); }

static fss_ctx *ctx;
static fss_rng *rng;

static size_t out_count(const model *md)
{
    const fss_conv2d_params *cv = &md->cv;
    switch (md->kind) {
    case M_MATMUL:
    case M_MATMUL_WIRE:
    case M_MATMUL_XWIRE:
    case M_MATMUL_REV:
    case M_CHAIN:
        return md->m * md->n;
    case M_KEPT:
        return 4 * md->m * md->n;
    case M_SEL2:
    case M_SEL2S:
        return 2 * md->m * md->k;
    case M_DRELU_AT:
    case M_RELU_DRELU_AT:
        return FSS_DRELU_AT_MAX * md->m * md->k;
    case M_CONV:
        return cv->batch * cv->o * ((cv->h + 2 * cv->pad - cv->kh) / cv->stride + 1) *
               ((cv->w + 2 * cv->pad - cv->kw) / cv->stride + 1);
    case M_MAXPOOL:
    case M_AVGPOOL:
        return md->m * ((md->k / 4 + 2 * md->pp - md->pk) / md->ps + 1) * ((4 + 2 * md->pp - md->pk) / md->ps + 1);
    default:
        return md->m * md->k;
    }
}

/* Party b's key bytes where the layout is documented (0: not checked): the two inputs'
 * mask seeds (16 bytes each, to their owners), the gate's keys, and the output mask
 * (party 1). Shares go to party 0 as a 16-byte seed, to party 1 packed; fresh shares (an
 * output mask less a function of the input's) in the same chunk, party 0's from the same
 * seed and party 1's from a seed of its own, unless packed they take 16 bytes or fewer. A
 * gate's FSS keys are a root seed and the keys without roots (harness_deal_bytes). relu_ars: truncate-reduce (an f-bit DCF with m = n - f bit
 * payloads, fresh shares of r_y - H(r)), DReLU over m bits (an early-terminated comparison
 * DPF over m - 1 bits, a packed bit each) and select_zext (five n-bit shares, and r_y
 * fresh). matmul of party 1's x by party 0's w: v = R_x R_w + R_z alone (no shares of R_x;
 * fresh), and the output mask. */
static size_t shares_bytes(int b, size_t cnt, int bits) { return b ? fss_packed_bytes(cnt, bits) : FSS_EV_SEED_BYTES; }
static size_t fresh_bytes(int b, size_t cnt, int bits)
{
    return fss_packed_bytes(cnt, bits) <= FSS_EV_SEED_BYTES ? shares_bytes(b, cnt, bits) : FSS_EV_SEED_BYTES;
}
/* count explicit values and nfresh fresh ones in one chunk: party 0 one seed; party 1 its
 * packed shares, then a seed (or the fresh ones' shares packed, where that is 16 bytes or fewer).
 * Party 1 holds the explicit shares of a walk's first chunk with any (the tie): each model
 * documented here has one such chunk (mixed_sequence and "two products" check the rest). */
static size_t mixed_bytes(int b, size_t count, size_t nfresh, int bits)
{
    return b ? fss_packed_bytes(count, bits) + fresh_bytes(1, nfresh, bits) : FSS_EV_SEED_BYTES;
}

static size_t documented_key_bytes(const model *md, int b)
{
    const size_t cnt = md->m * md->k;
    const int n = md->bits, f = md->f, m = n - f;
    const size_t seeds = FSS_EV_SEED_BYTES; /* party 1's x, or party 0's w */
    if (md->kind == M_MATMUL)
        return seeds + fresh_bytes(b, md->m * md->n, n) + (b ? fss_packed_bytes(md->m * md->n, n) : 0);
    if (md->kind == M_ARSNN && md->lean && cnt >= md->lean && f) /* fss/eval.h: 40% of the DCF's at f = 12 */
        return seeds + harness_deal_bytes(FSS_DPF_KEY_BYTES(f, 1, 1), cnt) + fss_packed_bytes(cnt, 1) +
               mixed_bytes(b, 2 * cnt, cnt, n) +
               (b ? fss_packed_bytes(cnt, n) : 0);
    if (md->kind != M_RELUARS || f == 0)
        return 0;
    const size_t tr = harness_deal_bytes(FSS_DCF_KEY_BYTES(f, m, 1), cnt) + fresh_bytes(b, cnt, m);
    const size_t drelu = harness_deal_bytes(FSS_DPF_KEY_BYTES(m - 1, 1, 1), cnt) + fss_packed_bytes(cnt, 1);
    const size_t sel = mixed_bytes(b, 5 * cnt, cnt, n);
    return seeds + tr + drelu + sel + (b ? fss_packed_bytes(cnt, n) : 0);
}

static uint64_t last_rounds, last_sent, last_keys; /* of the last run's party 1 */

static void run(const model *md)
{
    size_t no = out_count(md);
    uint64_t *want = calloc(no, 8), *got[2] = {calloc(no, 8), calloc(no, 8)};
    REQUIRE(want && got[0] && got[1]);

    fss_eval *ev;
    REQUIRE(fss_eval_new_clear(&ev, ctx) == FSS_OK);
    fss_status cs = walk(ev, md, want);
    if (cs != FSS_OK)
        fprintf(stderr, "%s: clear walk: %s\n", md->name, fss_eval_error(ev));
    REQUIRE(cs == FSS_OK);
    fss_eval_free(ev);

    fss_memkeys *keys[2];
    harness_deal(ctx, rng, walk_any, md, md->name, keys, NULL);
    if (md->kind == M_MUL2) { /* the explicit shares balanced: party 1 the first product's, party 0 the second's */
        size_t sizes[2][2] = {{0, 0}, {0, 0}}, nsh[2] = {0, 0};
        for (int b = 0; b < 2; b++) {
            uint32_t kind;
            size_t bytes;
            for (size_t i = 0; fss_memkeys_chunk(keys[b], i, &kind, &bytes); i++)
                if (kind == FSS_KEY_SHARES && nsh[b] < 2)
                    sizes[b][nsh[b]++] = bytes;
        }
        CHECK(nsh[0] == 2 && nsh[1] == 2 && sizes[0][0] == FSS_EV_SEED_BYTES && sizes[1][1] == FSS_EV_SEED_BYTES &&
                  sizes[1][0] > FSS_EV_SEED_BYTES && sizes[0][1] == sizes[1][0],
              "%s: the products' share chunks are party 0 %zu, %zu and party 1 %zu, %zu: not balanced", md->name,
              sizes[0][0], sizes[0][1], sizes[1][0], sizes[1][1]);
    }
    party_run pr[2];
    harness_parties(walk_any, md, md->name, keys, got, pr);
    CHECK(pr[0].stats.rounds == pr[1].stats.rounds, "%s: rounds differ %llu vs %llu", md->name,
          (unsigned long long)pr[0].stats.rounds, (unsigned long long)pr[1].stats.rounds);
    CHECK(pr[0].stats.bytes_sent == pr[1].stats.bytes_received, "%s: byte counts disagree", md->name);
    last_rounds = pr[1].stats.rounds, last_sent = pr[1].stats.bytes_sent, last_keys = pr[1].stats.key_bytes[1];
    for (int b = 0; b < 2; b++) {
        const size_t doc = documented_key_bytes(md, b);
        CHECK(!doc || pr[b].stats.key_bytes[b] == doc, "%s (n=%d f=%d): party %d read %llu key bytes, documented %zu",
              md->name, md->bits, md->f, b, (unsigned long long)pr[b].stats.key_bytes[b], doc);
    }
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < no; i++)
        if (got[1][i] != want[i] && !bad++)
            first = i;
    CHECK(bad == 0, "%s (n=%d f=%d): %zu of %zu outputs differ, first at %zu: got %llu want %llu (x %llu)", md->name,
          md->bits, md->f, bad, no, first, (unsigned long long)got[1][first], (unsigned long long)want[first],
          (unsigned long long)md->x[first % (md->m * md->k)]);
    size_t leak = 0;
    for (size_t i = 0; i < no; i++)
        leak += got[0][i] != 0;
    CHECK(leak == 0, "%s: party 0 received outputs meant for party 1", md->name);
    fss_memkeys_free(keys[0]);
    fss_memkeys_free(keys[1]);
    free(want);
    free(got[0]);
    free(got[1]);
}

/* md with one-round shifts, then lean ones (fss_eval_set_lean_shifts): both equal to the
 * clear walk, the lean one a round more; and lean keys refused by a one-round party. */
static void run_lean(model *md)
{
    md->lean = 0;
    run(md);
    const uint64_t rounds = last_rounds;
    md->lean = 1;
    run(md);
    CHECK(last_rounds == rounds + 1, "%s (n=%d f=%d) lean: %llu rounds, not one more than %llu", md->name, md->bits,
          md->f, (unsigned long long)last_rounds, (unsigned long long)rounds);
    md->lean = md->m * md->k + 1; /* a shift under the bound: one round */
    run(md);
    CHECK(last_rounds == rounds, "%s (n=%d f=%d): a shift under the lean bound took %llu rounds, not %llu", md->name,
          md->bits, md->f, (unsigned long long)last_rounds, (unsigned long long)rounds);
    md->lean = 1;
    fss_memkeys *keys[2];
    uint64_t *got[2] = {calloc(out_count(md), 8), calloc(out_count(md), 8)};
    REQUIRE(got[0] && got[1]);
    harness_deal(ctx, rng, walk_any, md, md->name, keys, NULL);
    md->lean = 0;
    party_run pr[2];
    harness_run(walk_any, md, keys, got, pr);
    CHECK(pr[0].status != FSS_OK && pr[1].status != FSS_OK && strstr(pr[1].err, "next key"),
          "%s (n=%d f=%d): a one-round party took lean keys (%s)", md->name, md->bits, md->f, pr[1].err);
    fss_memkeys_free(keys[0]);
    fss_memkeys_free(keys[1]);
    free(got[0]);
    free(got[1]);
}

/* Random n-bit inputs with the edge values in front: 0, 1, -1, max, min, and small. */
static void fill(uint64_t *v, size_t count, int bits, int small)
{
    REQUIRE(fss_rng_ring(rng, v, count, bits) == FSS_OK);
    uint64_t m = fss_ring_mask(bits);
    uint64_t edge[] = {0, 1, m, m >> 1, (m >> 1) + 1, 2, m - 1};
    for (size_t i = 0; i < count && i < 7; i++)
        v[i] = edge[i] & m;
    if (small) /* keep products in range: values of about bits/4 bits, either sign */
        for (size_t i = 7; i < count; i++)
            v[i] = fss_ring_from_signed(fss_ring_to_signed(v[i], bits) >> (bits - bits / 4 - 1), bits);
}

/* md's clear walk equals that of the same model with another kind (other_name). */
static void clear_same(const model *md, int other, const char *other_name)
{
    const size_t no = out_count(md);
    uint64_t *a1 = malloc(no * 8), *a2 = malloc(no * 8);
    REQUIRE(a1 && a2);
    model mo = *md;
    mo.kind = other;
    fss_eval *ev;
    REQUIRE(fss_eval_new_clear(&ev, ctx) == FSS_OK && walk(ev, md, a1) == FSS_OK);
    fss_eval_free(ev);
    REQUIRE(fss_eval_new_clear(&ev, ctx) == FSS_OK && walk(ev, &mo, a2) == FSS_OK);
    fss_eval_free(ev);
    CHECK(memcmp(a1, a2, no * 8) == 0, "%s at %d bits, f %d: differs from %s in the clear", md->name, md->bits, md->f,
          other_name);
    free(a1);
    free(a2);
}

/* The clear walk itself against plain C on values small enough not to wrap: maxpool is
 * the maximum over the window's positions inside the input (padding ignored), avgpool
 * the floor of the window mean (power-of-two windows, no padding). */
static void pool_semantics(int n)
{
    size_t m = 3, k = 24, h = 6, wd = 4; /* x as [1][3][6][4] */
    uint64_t x[72], w[72] = {0}, got[128];
    fill(x, 72, n, 1);
    for (int i = 0; i < 7; i++) /* fill puts edge values in front: keep these small too */
        x[i] = fss_ring_from_signed(i - 3, n);
    static const size_t cfg[][4] = {{M_MAXPOOL, 2, 2, 0}, {M_AVGPOOL, 2, 2, 0}, {M_MAXPOOL, 3, 2, 1},
                                    {M_MAXPOOL, 3, 1, 1}, {M_MAXPOOL, 2, 1, 1}};
    for (size_t ci = 0; ci < sizeof cfg / sizeof *cfg; ci++) {
        const int kind = (int)cfg[ci][0];
        const size_t pk = cfg[ci][1], ps = cfg[ci][2], pp = cfg[ci][3];
        model md = {.name = "pool semantics", .bits = n, .m = m, .k = k, .n = 3, .x = x, .w = w,
                    .pk = pk, .ps = ps, .pp = pp, .kind = kind};
        fss_eval *ev;
        REQUIRE(fss_eval_new_clear(&ev, ctx) == FSS_OK);
        REQUIRE(walk(ev, &md, got) == FSS_OK);
        fss_eval_free(ev);
        const size_t ho = (h + 2 * pp - pk) / ps + 1, wo = (wd + 2 * pp - pk) / ps + 1;
        size_t bad = 0;
        for (size_t c = 0; c < m; c++)
            for (size_t oy = 0; oy < ho; oy++)
                for (size_t ox = 0; ox < wo; ox++) {
                    int64_t best = INT64_MIN, sum = 0;
                    for (size_t dy = 0; dy < pk; dy++)
                        for (size_t dx = 0; dx < pk; dx++) {
                            long iy = (long)(oy * ps + dy) - (long)pp, ix = (long)(ox * ps + dx) - (long)pp;
                            if (iy < 0 || ix < 0 || iy >= (long)h || ix >= (long)wd)
                                continue;
                            int64_t v = fss_ring_to_signed(x[(c * h + (size_t)iy) * wd + (size_t)ix], n);
                            best = v > best ? v : best;
                            sum += v;
                        }
                    int64_t want = kind == M_MAXPOOL ? best : (sum >= 0 ? sum / 4 : -((-sum + 3) / 4));
                    bad += fss_ring_to_signed(got[(c * ho + oy) * wo + ox], n) != want;
                }
        CHECK(bad == 0, "%s %zux%zu/%zu pad %zu at %d bits: %zu windows wrong in the clear walk",
              kind == M_MAXPOOL ? "maxpool" : "avgpool", pk, pk, ps, pp, n, bad);
    }
}

/* Average pools over large windows (a global pool of 56 x 56, 28 x 28, 7 x 7, 3 x 3): the
 * mean of random values in [-8, 8) at scale 12 within 2^-11 relative (the factor) plus 2^-11
 * (the shifts' floors) of the exact mean. */
static void avgpool_large(void)
{
    static const size_t sides[] = {56, 28, 7, 3};
    for (size_t si = 0; si < sizeof sides / sizeof *sides; si++) {
        const size_t k = sides[si], shape[4] = {1, 2, k, k};
        fss_tensor x = {0}, y = {0};
        fss_eval *ev;
        REQUIRE(fss_eval_new_clear(&ev, ctx) == FSS_OK);
        REQUIRE(fss_tensor_init(&x, 4, shape, 48, 12) == FSS_OK);
        uint64_t r[2 * 56 * 56];
        REQUIRE(fss_rng_bytes(rng, r, x.count * 8) == FSS_OK);
        double worst = 0;
        for (size_t i = 0; i < x.count; i++)
            x.v[i] = fss_ring_from_signed((int64_t)(r[i] % 65536) - 32768, 48); /* [-8, 8) at scale 12 */
        REQUIRE(fss_gate_avgpool(ev, &x, k, k, &y) == FSS_OK);
        for (size_t c = 0; c < 2; c++) {
            double sum = 0;
            for (size_t i = 0; i < k * k; i++)
                sum += (double)fss_ring_to_signed(x.v[c * k * k + i], 48);
            const double want = sum / (double)(k * k) / 4096, got = ldexp((double)fss_ring_to_signed(y.v[c], 48), -12);
            const double err = fabs(got - want), allow = fabs(want) / 2048 + 1.0 / 2048;
            worst = err > worst ? err : worst;
            CHECK(err <= allow, "avgpool %zux%zu: mean %.6f, got %.6f (error %.3g over %.3g)", k, k, want, got, err, allow);
        }
        printf("avgpool %zux%zu: largest error %.3g\n", k, k, worst);
        fss_tensor_free(&x), fss_tensor_free(&y);
        fss_eval_free(ev);
    }
}

/* The clear walk's headroom: bits - 1 minus the bit length of a sum's largest |value|
 * (-2^k counts as k bits, 2^k as k + 1), and 0 where a sum wrapped. */
static void headroom(void)
{
    static const struct {
        int64_t a, b;
        int want;
    } cases[] = {{100, 27, 8}, {-100, -28, 8}, {100, 28, 7}, {-100, -29, 7}, {0, 0, 15}, {16384, 16384, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fss_eval *ev;
        REQUIRE(fss_eval_new_clear(&ev, ctx) == FSS_OK);
        CHECK(fss_eval_stats_get(ev)->headroom_bits == 64, "headroom before any gate: %d",
              fss_eval_stats_get(ev)->headroom_bits);
        uint64_t va[2] = {fss_ring_from_signed(cases[i].a, 16), 0}, vb[2] = {fss_ring_from_signed(cases[i].b, 16), 0};
        size_t sh[1] = {2};
        fss_tensor a = {0}, b = {0}, c = {0};
        REQUIRE(fss_gate_input(ev, 0, 1, sh, 16, 0, va, &a) == FSS_OK &&
                fss_gate_input(ev, 1, 1, sh, 16, 0, vb, &b) == FSS_OK && fss_gate_add(ev, &a, &b, &c) == FSS_OK);
        CHECK(fss_eval_stats_get(ev)->headroom_bits == cases[i].want, "headroom of %lld + %lld in 16 bits: %d, want %d",
              (long long)cases[i].a, (long long)cases[i].b, fss_eval_stats_get(ev)->headroom_bits, cases[i].want);
        fss_tensor_free(&a);
        fss_tensor_free(&b);
        fss_tensor_free(&c);
        fss_eval_free(ev);
    }
}

/* The wire packing against a bit-at-a-time reference (LSB first), at every width and
 * counts around the 8-byte flushes; unpacking gives the values back. */
static void packing(void)
{
    uint64_t v[131], back[131];
    uint8_t got[131 * 8 + 8], want[131 * 8 + 8];
    for (int bits = 1; bits <= 64; bits++)
        for (size_t count = 0; count <= 131; count += count < 20 ? 1 : 37) {
            REQUIRE(fss_rng_bytes(rng, v, sizeof v) == FSS_OK); /* high bits set: the packer must mask */
            const size_t nb = fss_packed_bytes(count, bits);
            memset(want, 0, sizeof want);
            for (size_t i = 0; i < count; i++)
                for (int b = 0; b < bits; b++)
                    if (v[i] >> b & 1) {
                        const size_t at = i * (size_t)bits + (size_t)b;
                        want[at / 8] |= (uint8_t)(1u << (at % 8));
                    }
            memset(got, 0xa5, sizeof got);
            fss_pack_bits(v, count, bits, got);
            CHECK(memcmp(got, want, nb) == 0 && got[nb] == 0xa5, "pack of %zu values at %d bits differs", count, bits);
            fss_unpack_bits(got, count, bits, back);
            size_t bad = 0;
            for (size_t i = 0; i < count; i++)
                bad += back[i] != (v[i] & fss_ring_mask(bits));
            CHECK(bad == 0, "unpack of %zu values at %d bits: %zu differ", count, bits, bad);
        }
}

/* The convolutions, on fresh inputs of base's width: x [2][3][7][6] (252 values, party
 * 1), w [4][3][3][3] (108, party 0); 3x3 stride 2 padding 1, then (name1 given) stride 1. */
static void conv_models(const model *base, const char *name2, const char *name1)
{
    uint64_t *x = malloc(252 * 8), *w = malloc(108 * 8);
    REQUIRE(x && w);
    fill(x, 252, base->bits, 0);
    fill(w, 108, base->bits, 0);
    model md = *base;
    md.name = name2, md.kind = M_CONV, md.x = x, md.w = w, md.m = 252, md.k = 1, md.n = 108;
    md.cv = (fss_conv2d_params){2, 3, 7, 6, 4, 3, 3, 2, 1};
    run(&md);
    if (name1) {
        md.name = name1, md.cv = (fss_conv2d_params){2, 3, 7, 6, 4, 3, 3, 1, 0};
        run(&md);
    }
    free(x);
    free(w);
}

/* Where a CUDA device exists: the products (matrix by an input and by a wire, a batch-2
 * convolution) and the comparison gates with one party on the cuda backend and the other
 * on the cpu, each way round; the revealed output must still equal the clear walk. */
/* A stray bit in party 1's DCF keys (spare bits of the last key's values), which no
 * checksum sees when the dealer itself wrote it: the party stops with a parse error,
 * its keys parsed on the CPU, on the device, or on the CPU under cuda. */
static void stray_bits(void)
{
    const char *why = fss_backend_unavailable(FSS_BACKEND_CUDA);
    const size_t m = 64, k = 100; /* 6400 elements: three key blocks and a short one */
    uint64_t *x = malloc(m * k * 8), *w = malloc(k * 8), *got[2] = {malloc(m * k * 8), malloc(m * k * 8)};
    REQUIRE(x && w && got[0] && got[1]);
    fill(x, m * k, 50, 0);
    fill(w, k, 50, 0);
    const model md = {.name = "stray bit: trunc_reduce", .bits = 50, .f = 3, .m = m, .k = k, .n = 1, .x = x, .w = w,
                      .kind = M_TR};
    static const char *const ways[] = {"cpu", "cuda, device parse", "cuda, host parse"};
    for (int way = 0; way < (why ? 1 : 3); way++) {
        harness_backend[1] = way ? FSS_BACKEND_CUDA : FSS_BACKEND_CPU;
        REQUIRE(setenv("FSS_CUDA_PARSE", way == 2 ? "host" : "device", 1) == 0);
        fss_memkeys *keys[2];
        harness_deal(ctx, rng, walk_any, &md, md.name, keys, NULL);
        uint32_t kind;
        size_t bytes, hit = 0;
        uint8_t *d;
        for (size_t i = 0; !hit && (d = fss_memkeys_chunk(keys[1], i, &kind, &bytes)); i++)
            if (kind == FSS_KEY_TRUNC) { /* the f-bit DCF keys {3, 47, 1} first: 188 value bits a key */
                const size_t kblo = harness_deal_bytes(FSS_DCF_KEY_BYTES(3, 47, 1), m * k);
                REQUIRE(kblo <= bytes);
                d[kblo - 1] |= 0x80;
                hit = 1;
            }
        REQUIRE(hit);
        party_run pr[2];
        harness_run(walk_any, &md, keys, got, pr);
        CHECK(pr[1].status == FSS_E_FORMAT && strstr(pr[1].err, "do not parse"),
              "%s: party 1 took a stray bit in its DCF keys (%d: %s)", ways[way], (int)pr[1].status, pr[1].err);
        fss_memkeys_free(keys[0]);
        fss_memkeys_free(keys[1]);
    }
    REQUIRE(unsetenv("FSS_CUDA_PARSE") == 0);
    harness_backend[1] = FSS_BACKEND_CPU;
    free(x);
    free(w);
    free(got[0]);
    free(got[1]);
}

/* Explicit and fresh shares in one chunk (fss_ev_mixed_*), white-box: each party's shares
 * add up to the dealer's values, the fresh ones to what the dealer drew, and party 0's seed
 * gives the fresh shares a stretch of its stream of their own (an odd count of explicit
 * values ends inside a block: the fresh ones must start at the next). Counts around the
 * small case (packed in 16 bytes or fewer: sent explicitly), a threaded expansion's parts. */
static fss_status no_exchange(void *self, const void *send, size_t sb, void *recv, size_t rb)
{
    (void)self, (void)send, (void)sb, (void)recv, (void)rb;
    return FSS_E_IO; /* taking shares exchanges nothing */
}

static void mixed_shares(void)
{
    static const size_t counts[][2] = {{0, 1}, {1, 1}, {7, 2}, {7, 3}, {7, 100}, {0, 100}, {5, 0}, {3, 70001}, {0, 0}};
    for (size_t ci = 0; ci < sizeof counts / sizeof *counts; ci++) {
        const size_t count = counts[ci][0], nfresh = counts[ci][1];
        const int bits = ci % 2 ? 50 : 64;
        fss_memkeys *mk[2];
        REQUIRE(fss_memkeys_new(&mk[0]) == FSS_OK && fss_memkeys_new(&mk[1]) == FSS_OK);
        fss_key_sink sinks[2] = {fss_memkeys_sink(mk[0]), fss_memkeys_sink(mk[1])};
        fss_eval *ev = NULL;
        REQUIRE(fss_eval_new_dealer(&ev, ctx, rng, sinks) == FSS_OK);
        uint64_t *vals = malloc((count + 1) * 8), *fresh = malloc((nfresh + 1) * 8);
        uint64_t *sv[2] = {malloc((count + 1) * 8), malloc((count + 1) * 8)};
        uint64_t *sf[2] = {malloc((nfresh + 1) * 8), malloc((nfresh + 1) * 8)};
        REQUIRE(vals && fresh && sv[0] && sv[1] && sf[0] && sf[1]);
        REQUIRE(fss_rng_ring(rng, vals, count, bits) == FSS_OK);
        fss_ev_mixed M;
        /* as the gates pass them: no array where there are no values */
        REQUIRE(fss_ev_mixed_draw(ev, &M, count ? vals : NULL, count, nfresh ? fresh : NULL, nfresh, bits) == FSS_OK);
        REQUIRE(fss_ev_mixed_put(ev, &M) == FSS_OK);
        fss_eval_free(ev);
        for (int b = 0; b < 2; b++) {
            fss_eval *pv = NULL;
            REQUIRE(fss_eval_new_party(&pv, ctx, b, fss_memkeys_source(mk[b]), (fss_link){no_exchange, NULL}) == FSS_OK);
            CHECK(fss_ev_mixed_take(pv, count ? sv[b] : NULL, count, nfresh ? sf[b] : NULL, nfresh, bits) == FSS_OK,
                  "mixed %zu + %zu: party %d cannot take",
                  count, nfresh, b);
            fss_eval_free(pv);
        }
        size_t bad = 0, same = 0;
        for (size_t i = 0; i < count; i++)
            bad += fss_ring_add(sv[0][i], sv[1][i], bits) != vals[i];
        for (size_t i = 0; i < nfresh; i++)
            bad += fss_ring_add(sf[0][i], sf[1][i], bits) != fresh[i];
        for (size_t i = 0; i < count && i < 4; i++) /* party 0's stream: no value of it serves both */
            for (size_t j = 0; j < nfresh && j < 4; j++)
                same += sv[0][count - 1 - i] == sf[0][j];
        CHECK(bad == 0 && same == 0, "mixed %zu + %zu (%d bits): %zu shares do not add up, %zu of party 0's serve twice",
              count, nfresh, bits, bad, same);
        for (int b = 0; b < 2; b++) {
            fss_memkeys_free(mk[b]);
            free(sv[b]), free(sf[b]);
        }
        free(vals), free(fresh);
    }
}

/* The same cases dealt one after another in one walk, as a model deals them: the explicit
 * shares' holder alternates (each chunk's goes to the party dealt fewer so far), the
 * shares still add up either way, and party 0's shares the dealer computes between draw
 * and put (fss_ev_mixed_share0, for the owner's products) are those party 0 takes. */
static void mixed_sequence(void)
{
    static const size_t counts[][2] = {{7, 2}, {5, 100}, {9, 1}, {3, 70001}, {0, 3}, {40, 0}, {6, 6}, {1, 1}};
    enum { K = sizeof counts / sizeof *counts };
    const int bits[K] = {64, 50, 37, 13, 50, 64, 50, 20};
    fss_memkeys *mk[2];
    REQUIRE(fss_memkeys_new(&mk[0]) == FSS_OK && fss_memkeys_new(&mk[1]) == FSS_OK);
    fss_key_sink sinks[2] = {fss_memkeys_sink(mk[0]), fss_memkeys_sink(mk[1])};
    fss_eval *ev = NULL;
    REQUIRE(fss_eval_new_dealer(&ev, ctx, rng, sinks) == FSS_OK);
    uint64_t *vals[K], *fresh[K], *s0[K], *sv[2][K], *sf[2][K];
    for (int c = 0; c < K; c++) {
        const size_t count = counts[c][0], nfresh = counts[c][1];
        vals[c] = malloc((count + 1) * 8), fresh[c] = malloc((nfresh + 1) * 8), s0[c] = malloc((count + 1) * 8);
        for (int b = 0; b < 2; b++)
            sv[b][c] = malloc((count + 1) * 8), sf[b][c] = malloc((nfresh + 1) * 8);
        REQUIRE(vals[c] && fresh[c] && s0[c] && sv[0][c] && sv[1][c] && sf[0][c] && sf[1][c]);
        REQUIRE(fss_rng_ring(rng, vals[c], count, bits[c]) == FSS_OK);
        fss_ev_mixed M;
        REQUIRE(fss_ev_mixed_draw(ev, &M, count ? vals[c] : NULL, count, nfresh ? fresh[c] : NULL, nfresh, bits[c]) ==
                FSS_OK);
        REQUIRE(fss_ev_mixed_share0(ev, &M, s0[c]) == FSS_OK && fss_ev_mixed_put(ev, &M) == FSS_OK);
    }
    fss_eval_free(ev);
    for (int b = 0; b < 2; b++) {
        fss_eval *pv = NULL;
        REQUIRE(fss_eval_new_party(&pv, ctx, b, fss_memkeys_source(mk[b]), (fss_link){no_exchange, NULL}) == FSS_OK);
        for (int c = 0; c < K; c++)
            CHECK(fss_ev_mixed_take(pv, counts[c][0] ? sv[b][c] : NULL, counts[c][0], counts[c][1] ? sf[b][c] : NULL,
                                    counts[c][1], bits[c]) == FSS_OK,
                  "mixed sequence, chunk %d: party %d cannot take", c, b);
        fss_eval_free(pv);
    }
    size_t bad = 0, bad0 = 0, held[2] = {0, 0};
    for (int c = 0; c < K; c++) {
        for (size_t i = 0; i < counts[c][0]; i++) {
            bad += fss_ring_add(sv[0][c][i], sv[1][c][i], bits[c]) != vals[c][i];
            bad0 += sv[0][c][i] != s0[c][i];
        }
        for (size_t i = 0; i < counts[c][1]; i++)
            bad += fss_ring_add(sf[0][c][i], sf[1][c][i], bits[c]) != fresh[c][i];
    }
    for (int b = 0; b < 2; b++) { /* which party held explicit shares: its share chunks larger than a seed */
        uint32_t kind;
        size_t bytes;
        for (size_t i = 0; fss_memkeys_chunk(mk[b], i, &kind, &bytes); i++)
            held[b] += kind == FSS_KEY_SHARES && bytes > FSS_EV_SEED_BYTES;
    }
    CHECK(bad == 0 && bad0 == 0 && held[0] > 0 && held[1] > 0,
          "mixed sequence: %zu shares do not add up, %zu of the dealer's party 0 shares differ from its take, "
          "explicit chunks held %zu / %zu (both must hold some)", bad, bad0, held[0], held[1]);
    for (int c = 0; c < K; c++) {
        free(vals[c]), free(fresh[c]), free(s0[c]);
        for (int b = 0; b < 2; b++)
            free(sv[b][c]), free(sf[b][c]);
    }
    fss_memkeys_free(mk[0]);
    fss_memkeys_free(mk[1]);
}

/* The threaded forms on a context of 3 threads equal the plain ones: packing in parts
 * (sizes around the part and the parallel threshold), and a seed's expansion in parts
 * of the AES-CTR stream (each from its block, via fss_rng_new_key_at). */
static void threaded_forms(void)
{
    fss_ctx *c3 = NULL;
    fss_eval *ev = NULL;
    REQUIRE(fss_ctx_new(&c3, 3) == FSS_OK && fss_eval_new_clear(&ev, c3) == FSS_OK);
    static const size_t counts[] = {0, 1, 65535, 65536 + 63, 3 * 65536 + 5, 200001};
    static const int widths[] = {1, 13, 37, 48, 64};
    const size_t most = 3 * 65536 + 5 > 200001 ? 3 * 65536 + 5 : 200001;
    uint64_t *v = malloc(most * 8), *a = malloc(most * 8), *b = malloc(most * 8);
    uint8_t *p1 = malloc(most * 8 + 8), *p2 = malloc(most * 8 + 8);
    REQUIRE(v && a && b && p1 && p2);
    for (size_t ci = 0; ci < sizeof counts / sizeof *counts; ci++)
        for (size_t wi = 0; wi < sizeof widths / sizeof *widths; wi++) {
            const size_t n = counts[ci];
            const int bits = widths[wi];
            const size_t nb = fss_packed_bytes(n, bits);
            REQUIRE(fss_rng_bytes(rng, v, most * 8) == FSS_OK);
            memset(p1, 0x5a, nb + 8);
            memset(p2, 0x5a, nb + 8);
            fss_pack_bits(v, n, bits, p1);
            fss_ev_pack_bits(ev, v, n, bits, p2);
            fss_ev_unpack_bits(ev, p2, n, bits, a);
            fss_unpack_bits(p1, n, bits, b);
            CHECK(memcmp(p1, p2, nb + 8) == 0 && memcmp(a, b, n * 8) == 0,
                  "threaded packing of %zu values at %d bits differs from the plain one", n, bits);
            uint8_t seed[FSS_EV_SEED_BYTES];
            REQUIRE(fss_rng_bytes(rng, seed, sizeof seed) == FSS_OK);
            fss_rng *one = NULL;
            REQUIRE(fss_rng_new_key(&one, seed) == FSS_OK && fss_rng_ring(one, b, n, bits) == FSS_OK);
            fss_rng_free(one);
            CHECK(fss_ev_expand_seed(ev, seed, a, n, bits) == FSS_OK && memcmp(a, b, n * 8) == 0,
                  "a seed's expansion over threads differs from one stream: %zu values at %d bits", n, bits);
        }
    /* the stream from block 5 is the stream past its first 80 bytes */
    uint8_t key[16], s1[160], s2[80];
    fss_rng *r1 = NULL, *r2 = NULL;
    REQUIRE(fss_rng_bytes(rng, key, sizeof key) == FSS_OK && fss_rng_new_key(&r1, key) == FSS_OK &&
            fss_rng_new_key_at(&r2, key, 5) == FSS_OK && fss_rng_bytes(r1, s1, sizeof s1) == FSS_OK &&
            fss_rng_bytes(r2, s2, sizeof s2) == FSS_OK);
    CHECK(memcmp(s1 + 80, s2, 80) == 0, "the stream from block 5 differs");
    fss_rng_free(r1);
    fss_rng_free(r2);
    free(v);
    free(a);
    free(b);
    free(p1);
    free(p2);
    fss_eval_free(ev);
    fss_ctx_free(c3);
}

static void cuda_parties(void)
{
    const char *why = fss_backend_unavailable(FSS_BACKEND_CUDA);
    if (why) {
        printf("cuda-backend parties skipped: %s\n", why);
        return;
    }
    static const int widths[] = {37, 64};
    for (int way = 0; way < 2; way++) {
        harness_backend[way] = FSS_BACKEND_CUDA;
        harness_backend[1 - way] = FSS_BACKEND_CPU;
        for (size_t wi = 0; wi < 2; wi++) {
            const int n = widths[wi];
            size_t m = 9, k = 13, nn = 7;
            uint64_t *x = malloc(m * k * 8), *w = malloc(k * nn * 8);
            REQUIRE(x && w);
            fill(x, m * k, n, 0);
            fill(w, k * nn, n, 0);
            model base = {.bits = n, .m = m, .k = k, .n = nn, .x = x, .w = w}, md;
            md = base, md.name = "cuda: matmul", md.kind = M_MATMUL;
            run(&md);
            md = base, md.name = "cuda: matmul by a wire", md.kind = M_MATMUL_WIRE;
            run(&md);
            md = base, md.name = "cuda: relu_ars", md.kind = M_RELUARS, md.f = 7;
            run(&md);
            md = base, md.name = "cuda: matmul+ars+relu", md.kind = M_CHAIN, md.f = n / 8;
            run(&md);
            md = base, md.name = "cuda: relu, then drelu at four offsets (on the CPU)", md.kind = M_RELU_DRELU_AT;
            run(&md);
            free(x);
            free(w);
            conv_models(&base, "cuda: conv2d 3x3/2 pad 1, batch 2", NULL);
        }
    }
    harness_backend[0] = harness_backend[1] = FSS_BACKEND_CPU;
}

/* Gates of many key blocks, with the key sources cut into pieces that end inside a
 * block: the parties' steps end at piece edges (rounded down to a block), straddle
 * them by one block, and under cuda alternate between the two step slots. */
static void piece_steps(void)
{
    const char *why = fss_backend_unavailable(FSS_BACKEND_CUDA);
    const size_t m = 64, k = 700; /* 44800 elements: 22 blocks of 2048 */
    uint64_t *x = malloc(m * k * 8), *w = malloc(4 * k * 8); /* w: k x 1, then 4k x 1 for the pool */
    REQUIRE(x && w);
    fill(x, m * k, 64, 0);
    fill(w, 4 * k, 64, 0);
    x[11] = (uint64_t)1 << 12;
    x[12] = fss_ring_mask(12);
    static const size_t pieces[] = {3000001, 7000003};
    for (int way = why ? 4 : 0; way < 5; way++) { /* cuda for party 0, for party 1 (keys parsed on the
                                                     device, then on the host), then neither */
        harness_backend[0] = way == 0 || way == 2 ? FSS_BACKEND_CUDA : FSS_BACKEND_CPU;
        harness_backend[1] = way == 1 || way == 3 ? FSS_BACKEND_CUDA : FSS_BACKEND_CPU;
        REQUIRE(setenv("FSS_CUDA_PARSE", way < 2 ? "device" : "host", 1) == 0);
        for (size_t pi = 0; pi < 2; pi++) {
            harness_piece = pieces[pi];
            static const char *const names[] = {"pieces, cuda (device parse): relu_ars", "pieces, cuda (host parse): relu_ars",
                                                "pieces: relu_ars"};
            model md = {.name = names[way < 2 ? 0 : way < 4 ? 1 : 2], .bits = 64, .f = 12,
                        .m = m, .k = k, .n = 1, .x = x, .w = w, .kind = M_RELUARS};
            run(&md);
            md.name = way < 4 ? "pieces, cuda: maxpool 2x2/2" : "pieces: maxpool 2x2/2";
            md.kind = M_MAXPOOL, md.m = 16, md.k = 2800, md.n = 1, md.pk = 2, md.ps = 2;
            run(&md);
        }
    }
    if (why)
        printf("piece steps on the cuda backend skipped: %s\n", why);
    REQUIRE(unsetenv("FSS_CUDA_PARSE") == 0);
    harness_piece = 0;
    harness_backend[0] = harness_backend[1] = FSS_BACKEND_CPU;
    free(x);
    free(w);
}

/* Kept weights: every budget gives x w four times over, secure == clear; each weight kept
 * saves its second input's message (a round); a weight input again in another shape is
 * refused. */
static void kept_weights(const model *base)
{
    const size_t nw = base->k * base->n;
    uint64_t rounds[3];
    for (int kept = 0; kept < 3; kept++) { /* budgets for none, weight 7, both */
        model md = *base;
        md.name = "kept weights", md.kind = M_KEPT, md.keep = (size_t)kept * nw;
        run(&md);
        rounds[kept] = last_rounds;
    }
    CHECK(rounds[0] == rounds[1] + 1 && rounds[1] == rounds[2] + 1,
          "kept weights: rounds %llu, %llu, %llu keeping none, one and two weights", (unsigned long long)rounds[0],
          (unsigned long long)rounds[1], (unsigned long long)rounds[2]);
    /* the clear walk's four products are x w's (M_MATMUL's), kept or not */
    const size_t no = base->m * base->n;
    uint64_t *one = calloc(no, 8), *four = calloc(4 * no, 8);
    REQUIRE(one && four);
    fss_eval *ev;
    model mm = *base, mk = *base;
    mm.kind = M_MATMUL, mk.kind = M_KEPT, mk.keep = nw;
    REQUIRE(fss_eval_new_clear(&ev, ctx) == FSS_OK);
    REQUIRE(walk(ev, &mm, one) == FSS_OK && walk(ev, &mk, four) == FSS_OK);
    fss_eval_free(ev);
    for (int i = 0; i < 4; i++)
        CHECK(!memcmp(one, four + i * no, no * 8), "kept weights: product %d is not x w", i);
    free(one);
    free(four);
    REQUIRE(fss_eval_new_clear(&ev, ctx) == FSS_OK);
    fss_eval_keep_weights(ev, nw);
    const size_t a[2] = {base->k, base->n}, b[2] = {base->n, base->k};
    fss_tensor W = {0}, V = {0};
    CHECK(fss_gate_input_weights(ev, 3, 2, a, base->bits, 0, base->w, &W) == FSS_OK, "kept weights: first input");
    CHECK(fss_eval_weights_kept(ev, 3) && !fss_eval_weights_kept(ev, 4), "kept weights: which are kept");
    CHECK(fss_gate_input_weights(ev, 3, 2, b, base->bits, 0, base->w, &V) == FSS_E_ARG &&
              strstr(fss_eval_error(ev), "another shape"),
          "kept weights: weight 3 again in another shape: %s", fss_eval_error(ev));
    fss_tensor_free(&W);
    fss_tensor_free(&V);
    fss_eval_free(ev); /* frees what it keeps */
}

int main(void)
{
    rng = check_init("test_gates");
    packing();
    threaded_forms();
    REQUIRE(fss_ctx_new(&ctx, 1) == FSS_OK);
    mixed_shares();
    mixed_sequence();
    static const int widths[] = {8, 16, 37, 50, 64};
    for (size_t wi = 0; wi < sizeof widths / sizeof *widths; wi++) {
        int n = widths[wi];
        size_t m = 9, k = 13, nn = 7;
        uint64_t *x = malloc(m * k * 8), *w = malloc(k * nn * 8);
        REQUIRE(x && w);
        fill(x, m * k, n, 0);
        fill(w, k * nn, n, 0);
        model base = {.bits = n, .m = m, .k = k, .n = nn, .x = x, .w = w};
        model md;
        md = base, md.name = "add/sub/scale/const", md.kind = M_ADD;
        run(&md);
        md = base, md.name = "mul", md.kind = M_MUL;
        run(&md);
        md = base, md.name = "two products (balanced shares)", md.kind = M_MUL2;
        run(&md);
        md = base, md.name = "matmul", md.kind = M_MATMUL; /* X party 1's input, W party 0's: R_x unshared */
        run(&md);
        md = base, md.name = "matmul of a wire", md.kind = M_MATMUL_XWIRE; /* W party 0's: R_x shared */
        run(&md);
        md = base, md.name = "matmul of party 0's input by party 1's", md.kind = M_MATMUL_REV;
        run(&md);
        md = base, md.name = "matmul by a wire", md.kind = M_MATMUL_WIRE;
        run(&md);
        kept_weights(&base);
        md = base, md.name = "drelu", md.kind = M_DRELU;
        run(&md);
        const uint64_t one_rounds = last_rounds, one_keys = last_keys;
        md = base, md.name = "relu, then drelu at four offsets", md.kind = M_RELU_DRELU_AT;
        run(&md);
        md = base, md.name = "drelu at four offsets", md.kind = M_DRELU_AT;
        run(&md); /* the same round and key, and for each offset more a packed bit an element (and its output's mask) */
        CHECK(last_rounds == one_rounds &&
                  last_keys == one_keys + 2 * (FSS_DRELU_AT_MAX - 1) * fss_packed_bytes(m * k, 1),
              "drelu_at (n=%d): %llu rounds and %llu bytes of keys; one drelu %llu and %llu", n,
              (unsigned long long)last_rounds, (unsigned long long)last_keys, (unsigned long long)one_rounds,
              (unsigned long long)one_keys);
        md = base, md.name = "select of two rings by two selects", md.kind = M_SEL2S;
        run(&md);
        const uint64_t two_rounds = last_rounds, two_sent = last_sent, two_keys = last_keys;
        md = base, md.name = "select of two rings in one round (select2)", md.kind = M_SEL2;
        run(&md);
        CHECK(last_rounds + 1 == two_rounds && last_sent == two_sent && last_keys == two_keys,
              "select2 (n=%d): %llu rounds, %llu bytes sent, %llu of keys; two selects %llu, %llu, %llu: not one "
              "round fewer for the same bytes", n, (unsigned long long)last_rounds, (unsigned long long)last_sent,
              (unsigned long long)last_keys, (unsigned long long)two_rounds, (unsigned long long)two_sent,
              (unsigned long long)two_keys);
        md = base, md.name = "relu", md.kind = M_RELU;
        run(&md);
        static const int fs[] = {1, 3, 7, 12}; /* 12: the lean carries' DPF walks a level (13 bits and up) */
        for (size_t fi = 0; fi < 4; fi++) {
            if (fs[fi] >= n)
                continue;
            md = base, md.name = "trunc_reduce", md.kind = M_TR, md.f = fs[fi];
            run_lean(&md);
            md = base, md.name = "ars", md.kind = M_ARS, md.f = fs[fi];
            run_lean(&md);
        }
        /* the non-negative shift: inputs in [0, 2^(n-1)), edges 0, 1, 2^(n-1) - 1, 2^f - 1, 2^f */
        for (size_t i = 0; i < m * k; i++)
            x[i] &= fss_ring_mask(n - 1);
        x[2] = fss_ring_mask(n - 1);
        for (size_t fi = 0; fi < 4; fi++) {
            const int f = fi < 3 ? fs[fi] : 12;
            if (f >= n)
                continue;
            x[3] = fss_ring_mask(f);
            x[4] = fss_ring_mask(n - 1) & ((uint64_t)1 << f);
            md = base, md.name = "ars_nonneg", md.kind = M_ARSNN, md.f = f;
            run_lean(&md);
            /* and it is the signed shift on these inputs, in the clear walk */
            clear_same(&md, M_ARS, "ars");
        }
        /* a negative element: the clear walk refuses it */
        x[5] = fss_ring_mask(n);
        {
            fss_eval *ev;
            uint64_t *a1 = malloc(m * k * 8);
            REQUIRE(a1 && fss_eval_new_clear(&ev, ctx) == FSS_OK);
            md = base, md.kind = M_ARSNN, md.f = 1;
            CHECK(walk(ev, &md, a1) == FSS_E_ARG, "ars_nonneg took a negative element in the clear walk");
            fss_eval_free(ev);
            free(a1);
        }
        /* the fused ReLU and shift: signed inputs, edges around 0 and +-2^f */
        fill(x, m * k, n, 0);
        for (size_t fi = 0; fi < 4; fi++) {
            const int f = fi < 3 ? fs[fi] : 12;
            if (f > n - 2)
                continue;
            x[7] = fss_ring_mask(f);                          /* 2^f - 1: shifts to 0 */
            x[8] = (uint64_t)1 << f;                          /* 2^f: to 1 */
            x[9] = fss_ring_from_signed(-((int64_t)1 << f), n); /* -2^f: negative, to 0 */
            x[10] = fss_ring_from_signed(-1 - ((int64_t)1 << f), n);
            md = base, md.name = "relu_ars", md.kind = M_RELUARS, md.f = f;
            run(&md);
            /* equal to relu then ars_nonneg, in the clear walk */
            clear_same(&md, M_RELU_ARSNN, "relu + ars_nonneg");
        }
        /* select_zext from n - 5 bits (or 3) to n */
        {
            const int mb = n > 8 ? n - 5 : 3;
            uint64_t *xm = malloc(m * k * 8);
            REQUIRE(xm);
            fill(xm, m * k, mb, 0);
            md = base, md.name = "select_zext", md.kind = M_SELZ, md.bits = mb, md.bits_out = n, md.x = xm;
            run(&md);
            /* the clear walk refuses a selected negative value */
            fss_eval *ev;
            fss_tensor d = {0}, xt = {0}, y = {0};
            size_t sh[1] = {2};
            REQUIRE(fss_eval_new_clear(&ev, ctx) == FSS_OK && fss_tensor_init(&d, 1, sh, 1, 0) == FSS_OK &&
                    fss_tensor_init(&xt, 1, sh, mb, 0) == FSS_OK);
            d.v[0] = d.v[1] = 1;
            xt.v[0] = 1;
            xt.v[1] = fss_ring_mask(mb);
            CHECK(fss_gate_select_zext(ev, &d, &xt, n, &y) == FSS_E_ARG, "select_zext took a selected negative value");
            fss_tensor_free(&d);
            fss_tensor_free(&xt);
            fss_tensor_free(&y);
            fss_eval_free(ev);
            free(xm);
        }
        fill(x, m * k, n, 0);
        if (n == 64) { /* the scale-12 pattern of a fixed-point layer */
            md = base, md.name = "ars", md.kind = M_ARS, md.f = 12;
            run(&md);
        }
        md = base, md.name = "maxpool 2x2/2", md.kind = M_MAXPOOL, md.m = 3, md.k = 24, md.n = 3, md.pk = 2, md.ps = 2;
        run(&md);
        md = base, md.name = "maxpool 3x3/1", md.kind = M_MAXPOOL, md.m = 3, md.k = 24, md.n = 3, md.pk = 3, md.ps = 1;
        run(&md);
        md = base, md.name = "maxpool 3x3/2 pad 1", md.kind = M_MAXPOOL, md.m = 3, md.k = 24, md.n = 3, md.pk = 3,
        md.ps = 2, md.pp = 1;
        run(&md);
        fill(x, m * k, n, 1);
        fill(w, k * nn, n, 1);
        md = base, md.name = "avgpool 2x2/2", md.kind = M_AVGPOOL, md.m = 3, md.k = 24, md.n = 3, md.pk = 2, md.ps = 2;
        run(&md);
        md = base, md.name = "avgpool 3x3/1", md.kind = M_AVGPOOL, md.m = 3, md.k = 24, md.n = 3, md.pk = 3, md.ps = 1;
        run(&md);
        md = base, md.name = "matmul+ars+relu", md.kind = M_CHAIN, md.f = n / 8;
        run(&md);
        free(x);
        free(w);
        conv_models(&base, "conv2d 3x3/2 pad 1", "conv2d 3x3/1");
    }
    for (size_t wi = 0; wi < sizeof widths / sizeof *widths; wi++)
        pool_semantics(widths[wi]);
    { /* drelu_at over more than a party's step of keys (2^14 on the CPU): each step's keys
       * evaluated at all the points before the next step's are read */
        const size_t m = 131, k = 131, nn = 1;
        uint64_t *x = malloc(m * k * 8), *w = malloc(k * nn * 8);
        REQUIRE(x && w);
        fill(x, m * k, 37, 0);
        fill(w, k * nn, 37, 0);
        model md = {.name = "drelu at four offsets, two steps", .kind = M_DRELU_AT, .bits = 37, .m = m, .k = k,
                    .n = nn, .x = x, .w = w};
        run(&md);
        free(x), free(w);
    }
    avgpool_large();
    headroom();
    piece_steps();
    stray_bits();
    cuda_parties();
    fss_ctx_free(ctx);
    fss_rng_free(rng);
    return check_summary();
}
