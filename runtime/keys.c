/* A gate's FSS keys, one path for every primitive (prim.h): the dealer's, generated and
 * written a step of instances at a time, and a party's, read, parsed and evaluated a step
 * at a time on the context's backend (backend.h). */
#include <string.h>

#include "backend.h"
#include "fss/parallel.h"

/* Serialized keys come in blocks counted from a gate's first instance: the dealer's
 * steps, the party's steps and its parse slices must all start on a block. */
#define DEAL_STEP ((size_t)1 << 14)
FSS_STATIC_ASSERT(DEAL_STEP % FSS_KEY_BLOCK == 0, "dealer steps start on key blocks");

/* ---- the dealer ---------------------------------------------------------------------- */

/* A dealer step's buffers: root seeds and one party's serialized keys, wiped after. */
typedef struct deal_bufs {
    fss_block *roots;
    uint8_t *sbuf;
    size_t step, kb;
} deal_bufs;

static fss_status deal_open(fss_eval *ev, deal_bufs *d, size_t cnt, size_t kb)
{
    d->kb = kb;
    d->step = cnt < DEAL_STEP ? cnt : DEAL_STEP;
    d->roots = (fss_block *)fss_ev_alloc(ev, 2 * d->step * sizeof *d->roots);
    d->sbuf = (uint8_t *)fss_ev_alloc(ev, d->step * kb);
    return d->roots && d->sbuf ? FSS_OK : FSS_E_NOMEM;
}

static void deal_close(deal_bufs *d)
{
    if (d->roots)
        fss_memzero(d->roots, 2 * d->step * sizeof *d->roots);
    if (d->sbuf)
        fss_memzero(d->sbuf, d->step * d->kb);
    free(d->roots);
    free(d->sbuf);
}

/* Key pairs appended to each party's current key (begun by the caller), so a gate's keys
 * never sit whole in the dealer's memory. Roots come from the context's random source;
 * roots, keys and the serialized step are wiped. */
fss_status fss_ev_deal(fss_eval *ev, const fss_prim *pr, size_t cnt, const uint64_t *alpha, const uint64_t *beta)
{
    const fss_prim_ops *po = fss_prim_ops_of(pr->kind);
    const size_t g = po->outs(pr);
    if (fss_ev_dry(ev)) { /* the sizes */
        fss_status s = fss_ev_put_append(ev, 0, NULL, cnt * po->key_bytes(pr));
        return s == FSS_OK ? fss_ev_put_append(ev, 1, NULL, cnt * po->key_bytes(pr)) : s;
    }
    deal_bufs d;
    fss_status s = deal_open(ev, &d, cnt, po->key_bytes(pr));
    for (size_t at = 0; at < cnt && s == FSS_OK; at += d.step) {
        const size_t m = cnt - at < d.step ? cnt - at : d.step;
        fss_prim_keys k[2];
        memset(k, 0, sizeof k);
        if ((s = fss_rng_bytes(ev->rng, d.roots, 2 * m * sizeof *d.roots)) != FSS_OK)
            fss_ev_fail(ev, s, "dealer: random source failed");
        else if ((s = fss_prim_keys_alloc(&k[0], pr, 0, m)) != FSS_OK ||
                 (s = fss_prim_keys_alloc(&k[1], pr, 1, m)) != FSS_OK ||
                 (s = po->keygen(ev->cpu, m, alpha + at, beta ? beta + at * g : NULL, d.roots, &k[0], &k[1])) != FSS_OK)
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

/* A step's m serialized keys (kb bytes each) parsed in slices over the context's threads
 * (slices write disjoint instances); on a GPU machine the parse is most of the CPU's
 * share of a gate. */
#define PARSE_SLICE FSS_KEY_BLOCK /* a slice starts where a serialized block does */

static fss_status parse_step(fss_eval *ev, const fss_prim_ops *po, fss_prim_keys *k, size_t m, size_t kb,
                             const uint8_t *keys)
{
    const double t0 = fss_now();
    const size_t slices = (m + PARSE_SLICE - 1) / PARSE_SLICE;
    int failed = FSS_OK;
#pragma omp parallel for schedule(static) num_threads(fss_ctx_threads(ev->cpu)) if (slices > 1)
    for (size_t i = 0; i < slices; i++) {
        if (fss_failed(&failed))
            continue;
        const size_t first = i * PARSE_SLICE, n = m - first < PARSE_SLICE ? m - first : PARSE_SLICE;
        const fss_status s = po->read(k, first, n, keys + first * kb);
        if (s != FSS_OK)
            FSS_SET_FAILED(failed, (int)s);
    }
    fss_ev_lap(ev, FSS_PHASE_PARSE, t0);
    return (fss_status)failed;
}

fss_status fss_ev_take(fss_eval *ev, const fss_prim *pr, size_t cnt, const uint64_t *x, uint64_t *out)
{
    const fss_prim_ops *po = fss_prim_ops_of(pr->kind);
    const fss_backend_ops *be = fss_ev_backend_for(ev, (fss_op)pr->kind);
    const size_t kb = po->key_bytes(pr), g = po->outs(pr);
    const int serial = be->parses(ev); /* the backend parses the keys as read */
    fss_status s = FSS_OK;
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
            if ((s = parse_step(ev, po, &k, m, kb, (const uint8_t *)keys)) != FSS_OK) {
                s = fss_ev_fail(ev, s, "party %d's %s keys do not parse", ev->party, po->name);
                break;
            }
        }
        t0 = fss_now();
        s = serial ? be->eval_serial(ev, pr, m, (const uint8_t *)keys, x + at, out + at * g)
                   : be->eval(ev, &k, x + at, out + at * g);
        fss_ev_lap(ev, FSS_PHASE_FSS, t0);
    }
    const double t0 = fss_now();
    s = be->steps_end(ev, s);
    fss_ev_lap(ev, FSS_PHASE_FSS, t0);
    return s;
}
