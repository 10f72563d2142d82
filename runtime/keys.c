/* A gate's FSS keys, one path for every primitive (prim.h): the dealer's, generated and
 * written a step of instances at a time, and a party's, read, parsed and evaluated a step
 * at a time on the context's backend (backend.h).
 *
 * Root seeds. Each instance's root seeds (one a party) are uniform, independent of
 * everything else in the keys and of the other party's: keygen takes them as input. So
 * they are not written: the dealer draws a 16-byte seed a party and gate and takes party
 * b's root of instance i as block i of its seed's AES-CTR stream (the runtime's seed
 * expansion, as for the fresh shares); party b reads its seed first and derives the same
 * roots. A party's view is its seed in place of its roots, which it could have computed
 * from the seed anyway: 16 bytes an instance fewer (a 12-bit comparison 114 -> 98). */
#include <string.h>

#include "backend.h"
#include "fss/parallel.h"

/* Serialized keys come in blocks counted from a gate's first instance: the dealer's
 * steps, the party's steps and its parse slices must all start on a block. */
#define DEAL_STEP ((size_t)1 << 14)
FSS_STATIC_ASSERT(DEAL_STEP % FSS_KEY_BLOCK == 0, "dealer steps start on key blocks");

size_t fss_ev_deal_bytes(const fss_prim *pr, size_t cnt)
{
    return cnt ? FSS_EV_SEED_BYTES + cnt * fss_prim_ops_of(pr->kind)->key_bytes(pr) : 0;
}

/* Roots of instances [at, at + m) from a seed: blocks at.. of its AES-CTR stream. */
static fss_status roots_expand(const uint8_t seed[FSS_EV_SEED_BYTES], size_t at, size_t m, fss_block *out)
{
    fss_rng *r = NULL;
    fss_status s = fss_rng_new_key_at(&r, seed, (uint64_t)at);
    if (s == FSS_OK)
        s = fss_rng_bytes(r, out, m * sizeof *out);
    fss_rng_free(r);
    return s;
}

/* ---- the dealer ---------------------------------------------------------------------- */

/* A dealer step's buffers: the gate's two root seeds, a step's roots (interleaved, and
 * one party's before that) and one party's serialized keys, wiped after. */
typedef struct deal_bufs {
    uint8_t seed[2][FSS_EV_SEED_BYTES];
    fss_block *roots, *one;
    uint8_t *sbuf;
    size_t step, kb;
} deal_bufs;

static fss_status deal_open(fss_eval *ev, deal_bufs *d, size_t cnt, size_t kb)
{
    d->kb = kb;
    d->step = cnt < DEAL_STEP ? cnt : DEAL_STEP;
    d->roots = (fss_block *)fss_ev_alloc(ev, 3 * d->step * sizeof *d->roots);
    d->one = d->roots ? d->roots + 2 * d->step : NULL;
    d->sbuf = (uint8_t *)fss_ev_alloc(ev, d->step * kb);
    fss_status s = d->roots && d->sbuf ? FSS_OK : FSS_E_NOMEM;
    for (int b = 0; b < 2 && s == FSS_OK; b++)
        s = fss_ev_seed(ev, d->seed[b]);
    return s;
}

static void deal_close(deal_bufs *d)
{
    fss_memzero(d->seed, sizeof d->seed);
    if (d->roots)
        fss_memzero(d->roots, 3 * d->step * sizeof *d->roots);
    if (d->sbuf)
        fss_memzero(d->sbuf, d->step * d->kb);
    free(d->roots);
    free(d->sbuf);
}

/* Both parties' roots of instances [at, at + m), interleaved as keygen takes them. */
static fss_status deal_roots(fss_eval *ev, deal_bufs *d, size_t at, size_t m)
{
    for (int b = 0; b < 2; b++) {
        fss_status s = roots_expand(d->seed[b], at, m, d->one);
        if (s != FSS_OK)
            return fss_ev_fail(ev, s, "dealer: cannot expand a root seed");
        for (size_t i = 0; i < m; i++)
            d->roots[2 * i + (size_t)b] = d->one[i];
    }
    return FSS_OK;
}

/* Key pairs appended to each party's current key (begun by the caller), so a gate's keys
 * never sit whole in the dealer's memory: each party's root seed, then its keys without
 * roots (fss_ev_deal_bytes in all). Seeds come from the context's random source; seeds,
 * roots, keys and the serialized step are wiped. */
fss_status fss_ev_deal(fss_eval *ev, const fss_prim *pr, size_t cnt, const uint64_t *alpha, const uint64_t *beta)
{
    const fss_prim_ops *po = fss_prim_ops_of(pr->kind);
    const size_t g = po->outs(pr);
    /* a lookup's keys are of the one-hot: no beta, whatever its outputs; with pairs, one an instance */
    FSS_ASSERT(!pr->lut2 || !beta == !pr->pairs);
    const size_t gb = pr->pairs ? 1 : g; /* beta's words an instance */
    if (!cnt)
        return FSS_OK;
    if (fss_ev_dry(ev)) { /* the sizes */
        fss_status s = fss_ev_put_append(ev, 0, NULL, fss_ev_deal_bytes(pr, cnt));
        return s == FSS_OK ? fss_ev_put_append(ev, 1, NULL, fss_ev_deal_bytes(pr, cnt)) : s;
    }
    deal_bufs d;
    memset(&d, 0, sizeof d);
    fss_status s = deal_open(ev, &d, cnt, po->key_bytes(pr));
    for (int b = 0; b < 2 && s == FSS_OK; b++)
        s = fss_ev_put_append(ev, b, d.seed[b], FSS_EV_SEED_BYTES);
    for (size_t at = 0; at < cnt && s == FSS_OK; at += d.step) {
        const size_t m = cnt - at < d.step ? cnt - at : d.step;
        fss_prim_keys k[2];
        memset(k, 0, sizeof k);
        s = deal_roots(ev, &d, at, m); /* fails with its own message */
        if (s == FSS_OK &&
            ((s = fss_prim_keys_alloc(&k[0], pr, 0, m)) != FSS_OK || (s = fss_prim_keys_alloc(&k[1], pr, 1, m)) != FSS_OK ||
             (s = po->keygen(ev->cpu, m, alpha + at, beta ? beta + at * gb : NULL, d.roots, &k[0], &k[1])) != FSS_OK))
            fss_ev_fail(ev, s, "dealer: %zu %s keys: %s", m, po->name, fss_ctx_error(ev->cpu));
        for (int b = 0; b < 2 && s == FSS_OK; b++) {
            po->write(&k[b], 0, m, d.sbuf);
            s = fss_ev_put_append(ev, b, d.sbuf, m * d.kb);
        }
        fss_prim_keys_free(&k[0]);
        fss_prim_keys_free(&k[1]);
    }
    deal_close(&d);
    return s;
}

/* ---- a party --------------------------------------------------------------------------- */

/* Instances parsed and evaluated a step at a time: the parsed keys (larger than the
 * serialized ones) stay a few MB, in cache, instead of a gate's GB; the GPU gets steps of
 * up to a key piece (64 MiB), evaluated while the CPU goes on to the next. A step ends where
 * the source's piece does (rounded down to a key block), so that its serialized keys are
 * read in place rather than joined by a copy; a step that straddles an edge anyway takes
 * one block (or the gate's last instances). */
static size_t step_len(fss_eval *ev, const fss_backend_ops *be, size_t left, size_t kb)
{
    FSS_ASSERT(be->step % FSS_KEY_BLOCK == 0);
    size_t m = left < be->step ? left : be->step;
    const size_t here = fss_ev_in_place(ev) / kb;
    if (here < m) {
        const size_t whole = here / FSS_KEY_BLOCK * FSS_KEY_BLOCK;
        m = whole ? whole : m < FSS_KEY_BLOCK ? m : FSS_KEY_BLOCK;
    }
    return m;
}

/* A step's m serialized keys (kb bytes each, the gate's instances at..) parsed in slices
 * over the context's threads (slices write disjoint instances), each slice's roots
 * derived from the party's seed; on a GPU machine the parse is most of the CPU's share of
 * a gate. */
#define PARSE_SLICE FSS_KEY_BLOCK /* a slice starts where a serialized block does */

static fss_status parse_step(fss_eval *ev, const fss_prim_ops *po, fss_prim_keys *k, size_t m, size_t kb,
                             const uint8_t *keys, const uint8_t seed[FSS_EV_SEED_BYTES], size_t at)
{
    const double t0 = fss_now();
    const size_t slices = (m + PARSE_SLICE - 1) / PARSE_SLICE;
    int failed = FSS_OK;
#pragma omp parallel for schedule(static) num_threads(fss_ctx_threads(ev->cpu)) if (slices > 1)
    for (size_t i = 0; i < slices; i++) {
        if (fss_failed(&failed))
            continue;
        const size_t first = i * PARSE_SLICE, n = m - first < PARSE_SLICE ? m - first : PARSE_SLICE;
        fss_status s = po->read(k, first, n, keys + first * kb);
        if (s == FSS_OK)
            s = roots_expand(seed, at + first, n, po->roots(k) + first);
        if (s != FSS_OK)
            FSS_SET_FAILED(failed, (int)s);
    }
    fss_ev_lap(ev, FSS_PHASE_PARSE, t0);
    return (fss_status)failed;
}

fss_status fss_ev_take_at(fss_eval *ev, const fss_prim *pr, size_t cnt, int pts, const uint64_t *x, uint64_t *out)
{
    const fss_prim_ops *po = fss_prim_ops_of(pr->kind);
    const fss_backend_ops *be = fss_ev_backend_for(ev, (fss_op)pr->kind);
    FSS_ASSERT(pts >= 1);
    if (pts > 1) /* a step's keys evaluated again: the CPU's parsed keys stay put between calls */
        be = &fss_backend_cpu_ops;
    const size_t kb = po->key_bytes(pr), g = po->outs(pr);
    const int serial = be->parses(ev); /* the backend parses the keys as read */
    if (!cnt)
        return FSS_OK;
    uint8_t seed[FSS_EV_SEED_BYTES];
    const void *sp = NULL;
    fss_status s = fss_ev_read(ev, sizeof seed, &sp);
    if (s != FSS_OK)
        return s;
    memcpy(seed, sp, sizeof seed);
    /* the backend parses: a step's roots derived here, handed over with its keys */
    const size_t rcap = cnt < be->step ? cnt : be->step;
    fss_block *roots = serial ? (fss_block *)fss_ev_alloc(ev, rcap * sizeof *roots) : NULL;
    if (serial && !roots)
        s = FSS_E_NOMEM;
    for (size_t at = 0, m = 0; at < cnt && s == FSS_OK; at += m) {
        double t0 = fss_now();
        m = step_len(ev, be, cnt - at, kb);
        fss_ev_lap(ev, FSS_PHASE_KEYS, t0);
        void *mem = NULL;
        const void *keys = NULL;
        t0 = fss_now();
        if (!serial && (s = be->step_mem(ev, po->parsed(pr, m), m, m * g, &mem)) != FSS_OK)
            break;
        fss_ev_lap(ev, FSS_PHASE_FSS, t0);
        if ((s = fss_ev_read(ev, m * kb, &keys)) != FSS_OK)
            break;
        fss_prim_keys k;
        if (!serial) {
            fss_prim_keys_bind(&k, pr, ev->party, m, mem);
            if ((s = parse_step(ev, po, &k, m, kb, (const uint8_t *)keys, seed, at)) != FSS_OK) {
                s = fss_ev_fail(ev, s, "party %d's %s keys do not parse (%s)", ev->party, po->name,
                                fss_status_str(s));
                break;
            }
        } else if ((s = roots_expand(seed, at, m, roots)) != FSS_OK) {
            s = fss_ev_fail(ev, s, "party %d: cannot expand a root seed", ev->party);
            break;
        }
        t0 = fss_now();
        for (size_t j = 0; j < (size_t)pts && s == FSS_OK; j++) {
            const uint64_t *xj = x + j * cnt + at;
            uint64_t *oj = out + (j * cnt + at) * g;
            s = serial ? be->eval_serial(ev, pr, m, (const uint8_t *)keys, roots, xj, oj) : be->eval(ev, &k, xj, oj);
        }
        fss_ev_lap(ev, FSS_PHASE_FSS, t0);
    }
    const double t0 = fss_now();
    s = be->steps_end(ev, s);
    fss_ev_lap(ev, FSS_PHASE_FSS, t0);
    fss_memzero(seed, sizeof seed);
    if (roots)
        fss_free_wiped(roots, rcap * sizeof *roots);
    return s;
}

fss_status fss_ev_take(fss_eval *ev, const fss_prim *pr, size_t cnt, const uint64_t *x, uint64_t *out)
{
    return fss_ev_take_at(ev, pr, cnt, 1, x, out);
}
