#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "fss/gate_body.h"
#include "fss/parallel.h"

fss_status fss_eval_fail(fss_eval *ev, fss_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s = fss_verrorf(ev->err, sizeof ev->err, s, fmt, ap);
    va_end(ap);
    return s;
}

static fss_eval *ev_alloc(fss_mode mode, fss_ctx *cpu)
{
    fss_eval *ev = (fss_eval *)calloc(1, sizeof *ev);
    if (ev) {
        ev->mode = mode;
        ev->party = -1;
        ev->cpu = cpu;
        ev->be = &fss_backend_cpu_ops;
        ev->stats.headroom_bits = 64;
    }
    return ev;
}

fss_status fss_eval_new_dealer(fss_eval **out, fss_ctx *cpu, fss_rng *rng, fss_key_sink sinks[2])
{
    *out = NULL;
    if (!cpu || !rng || !sinks[0].begin || !sinks[0].append || !sinks[1].begin || !sinks[1].append)
        return FSS_E_ARG;
    fss_eval *ev = ev_alloc(FSS_MODE_DEALER, cpu);
    if (!ev)
        return FSS_E_NOMEM;
    ev->rng = rng;
    ev->sinks[0] = sinks[0];
    ev->sinks[1] = sinks[1];
    *out = ev;
    return FSS_OK;
}

fss_status fss_eval_new_party(fss_eval **out, fss_ctx *cpu, int party, fss_key_source src, fss_link link)
{
    *out = NULL;
    if (!cpu || (party != 0 && party != 1) || !src.open || !src.read || !src.close || !link.exchange)
        return FSS_E_ARG;
    fss_eval *ev = ev_alloc(FSS_MODE_PARTY, cpu);
    if (!ev)
        return FSS_E_NOMEM;
    ev->party = party;
    ev->src = src;
    ev->link = link;
    *out = ev;
    return FSS_OK;
}

void fss_eval_set_dry(fss_eval *ev)
{
    if (ev->mode == FSS_MODE_DEALER)
        ev->dry = 1;
}

void fss_eval_set_lean_shifts(fss_eval *ev, size_t min_count)
{
    ev->lean_min = min_count;
}

void fss_eval_set_weight_key(fss_eval *ev, const uint8_t key[16], int setup)
{
    memcpy(ev->wkey, key, sizeof ev->wkey);
    ev->wonce = setup ? 1 : 2;
}

void fss_eval_set_weight_store(fss_eval *ev, fss_weight_store store, int setup)
{
    ev->wstore = store;
    ev->wonce = setup ? 1 : 2;
}

int fss_ev_lean(const fss_eval *ev, size_t count)
{
    return ev->lean_min && count >= ev->lean_min;
}

fss_status fss_eval_new_clear(fss_eval **out, fss_ctx *cpu)
{
    *out = NULL;
    if (!cpu)
        return FSS_E_ARG;
    fss_eval *ev = ev_alloc(FSS_MODE_CLEAR, cpu);
    if (!ev)
        return FSS_E_NOMEM;
    *out = ev;
    return FSS_OK;
}

void fss_eval_free(fss_eval *ev)
{
    if (!ev)
        return;
    fss_ev_backend_free(ev);
    if (ev->keymem)
        fss_free_wiped(ev->keymem, ev->keymem_cap);
    fss_memzero(ev->wkey, sizeof ev->wkey);
    fss_eval_keep_weights(ev, 0);
    free(ev);
}

void fss_eval_keep_weights(fss_eval *ev, size_t max_values)
{
    if (!max_values) {
        for (size_t i = 0; i < ev->kept_n; i++)
            fss_tensor_free(&ev->kept[i].t);
        free(ev->kept);
        ev->kept = NULL, ev->kept_n = ev->kept_cap = ev->kept_values = 0;
    }
    ev->kept_budget = max_values;
}

const fss_tensor *fss_ev_kept(const fss_eval *ev, uint64_t id)
{
    for (size_t i = 0; i < ev->kept_n; i++) /* a few hundred at most: a model's parts */
        if (ev->kept[i].id == id)
            return &ev->kept[i].t;
    return NULL;
}

int fss_eval_weights_kept(const fss_eval *ev, uint64_t id) { return fss_ev_kept(ev, id) != NULL; }

fss_status fss_ev_keep(fss_eval *ev, uint64_t id, fss_tensor *x)
{
    if (x->view || ev->kept_values >= ev->kept_budget || x->count > ev->kept_budget - ev->kept_values ||
        fss_ev_kept(ev, id))
        return FSS_OK; /* over the budget (or none): input again next time */
    if (ev->kept_n == ev->kept_cap) {
        const size_t cap = ev->kept_cap ? 2 * ev->kept_cap : 64;
        struct fss_kept *k = (struct fss_kept *)realloc(ev->kept, cap * sizeof *k);
        if (!k)
            return fss_ev_fail(ev, FSS_E_NOMEM, "out of memory for the kept weights");
        ev->kept = k, ev->kept_cap = cap;
    }
    ev->kept[ev->kept_n].id = id;
    ev->kept[ev->kept_n++].t = *x;
    ev->kept_values += x->count;
    if (ev->kept_values > ev->stats.kept_max)
        ev->stats.kept_max = ev->kept_values;
    x->view = 1; /* the buffers are the context's now */
    return FSS_OK;
}

const char *fss_phase_name(fss_phase p)
{
    static const char *const names[FSS_PHASES] = {"keys", "parse", "fss", "prod", "net"};
    return (unsigned)p < FSS_PHASES ? names[p] : "?";
}

fss_mode fss_eval_mode(const fss_eval *ev) { return ev->mode; }
int fss_eval_party(const fss_eval *ev) { return ev->party; }
const fss_eval_stats *fss_eval_stats_get(const fss_eval *ev) { return &ev->stats; }

void fss_ev_note_range(fss_eval *ev, const fss_tensor *t)
{
    if (ev->mode != FSS_MODE_CLEAR || t->bits == 1) /* bits: a sum of them is their XOR, never a wrap */
        return;
    uint64_t peak = 0;
    for (size_t i = 0; i < t->count; i++) {
        const int64_t v = fss_ring_to_signed(t->v[i], t->bits);
        const uint64_t a = v < 0 ? (uint64_t)(-(v + 1)) : (uint64_t)v; /* -2^k and 2^k - 1 need k bits */
        peak |= a;
    }
    int len = 0;
    while (len < 64 && (peak >> len))
        len++;
    const int head = t->bits - 1 - len;
    if (head < ev->stats.headroom_bits)
        ev->stats.headroom_bits = head;
}
const char *fss_eval_error(const fss_eval *ev) { return ev->err; }
fss_ctx *fss_eval_cpu(fss_eval *ev) { return ev->cpu; }

const char *fss_key_kind_name(uint32_t kind)
{
    static const char *const names[FSS_KEY_KINDS] = {
        [FSS_KEY_INPUT_MASK] = "input_mask", [FSS_KEY_OUTPUT_MASK] = "output_mask", [FSS_KEY_MUL] = "mul",
        [FSS_KEY_MATMUL] = "matmul",         [FSS_KEY_DRELU] = "drelu",             [FSS_KEY_SELECT] = "select",
        [FSS_KEY_TRUNC] = "trunc",           [FSS_KEY_SHARES] = "shares",           [FSS_KEY_MODEL] = "model",
        [FSS_KEY_RELU1] = "relu1",           [FSS_KEY_SEXT] = "sext",               [FSS_KEY_TRUNC_STOCH] = "trunc_stoch",
        [FSS_KEY_TRUNC_NONNEG] = "trunc_nonneg", [FSS_KEY_LUT] = "lut",             [FSS_KEY_TRUNC_CMP] = "trunc_cmp"};
    return kind < FSS_KEY_KINDS && names[kind] ? names[kind] : "?";
}

fss_status fss_ev_put_begin(fss_eval *ev, int b, fss_key_kind kind, uint64_t elements, size_t bytes)
{
    fss_status s = ev->sinks[b].begin(ev->sinks[b].self, (uint32_t)kind, elements, bytes);
    if (s != FSS_OK)
        return fss_ev_fail(ev, s, "dealer: cannot write party %d's keys (%s)", b, fss_status_str(s));
    ev->put_kind[b] = (uint32_t)kind < FSS_KEY_KINDS ? kind : 0;
    return FSS_OK;
}

fss_status fss_ev_put_append(fss_eval *ev, int b, const void *data, size_t n)
{
    fss_status s = ev->sinks[b].append(ev->sinks[b].self, data, n);
    if (s != FSS_OK)
        return fss_ev_fail(ev, s, "dealer: cannot write party %d's keys (%s)", b, fss_status_str(s));
    ev->stats.key_bytes[b] += n;
    ev->stats.kind_bytes[b][ev->put_kind[b]] += n;
    return FSS_OK;
}

fss_status fss_ev_put(fss_eval *ev, int b, fss_key_kind kind, uint64_t elements, const void *data, size_t bytes)
{
    fss_status s = fss_ev_put_begin(ev, b, kind, elements, bytes);
    return s == FSS_OK ? fss_ev_put_append(ev, b, data, bytes) : s;
}

fss_status fss_ev_open(fss_eval *ev, fss_key_kind kind, uint64_t elements)
{
    fss_status s = fss_ev_keys_released(ev);
    if (s != FSS_OK)
        return s;
    const double t0 = fss_now();
    s = ev->src.open(ev->src.self, (uint32_t)kind, elements);
    fss_ev_lap(ev, FSS_PHASE_KEYS, t0);
    if (s != FSS_OK)
        return fss_ev_fail(ev, s, "party %d: cannot read its next key (kind %d, %llu elements): %s", ev->party,
                           (int)kind, (unsigned long long)elements, fss_status_str(s));
    return FSS_OK;
}

fss_status fss_ev_read(fss_eval *ev, size_t n, const void **data)
{
    fss_status s = fss_ev_keys_released(ev);
    if (s != FSS_OK)
        return s;
    const double t0 = fss_now();
    s = ev->src.read(ev->src.self, n, data);
    fss_ev_lap(ev, FSS_PHASE_KEYS, t0);
    if (s != FSS_OK)
        return fss_ev_fail(ev, s, "party %d: its key ends before %zu more bytes (%s): keys of another model?",
                           ev->party, n, fss_status_str(s));
    ev->stats.key_bytes[ev->party] += n;
    return FSS_OK;
}

size_t fss_ev_in_place(fss_eval *ev)
{
    if (!ev->src.in_place || fss_ev_keys_released(ev) != FSS_OK)
        return SIZE_MAX; /* a failed wait is reported by the read that follows */
    return ev->src.in_place(ev->src.self);
}

fss_status fss_ev_close(fss_eval *ev)
{
    fss_status s = ev->src.close(ev->src.self);
    if (s != FSS_OK)
        return fss_ev_fail(ev, s, "party %d: its key is longer than this gate's: keys of another model?", ev->party);
    return FSS_OK;
}

fss_status fss_ev_get(fss_eval *ev, fss_key_kind kind, uint64_t elements, size_t bytes, const void **data)
{
    fss_status s = fss_ev_open(ev, kind, elements);
    if (s == FSS_OK)
        s = fss_ev_read(ev, bytes, data);
    return s == FSS_OK ? fss_ev_close(ev) : s;
}

fss_status fss_ev_exchange(fss_eval *ev, const void *send, size_t send_bytes, void *recv, size_t recv_bytes)
{
    const double t0 = fss_now();
    fss_status s = ev->link.exchange(ev->link.self, send, send_bytes, recv, recv_bytes);
    fss_ev_lap(ev, FSS_PHASE_NET, t0);
    if (s != FSS_OK)
        return fss_ev_fail(ev, s, "party %d: exchange with the peer failed (%s)", ev->party, fss_status_str(s));
    ev->stats.rounds++;
    ev->stats.bytes_sent += send_bytes;
    ev->stats.bytes_received += recv_bytes;
    return FSS_OK;
}

void fss_ev_deal_reconstruct_parts(fss_eval *ev, int k, const size_t *count, const int *bits)
{
    uint64_t nb = 0;
    for (int j = 0; j < k; j++)
        nb += fss_packed_bytes(count[j], bits[j]);
    ev->stats.rounds++;
    ev->stats.party_sent[0] += nb;
    ev->stats.party_sent[1] += nb;
}

void fss_ev_deal_reconstruct(fss_eval *ev, size_t count, int bits) { fss_ev_deal_reconstruct_parts(ev, 1, &count, &bits); }

void fss_ev_deal_send(fss_eval *ev, int from, size_t bytes)
{
    ev->stats.rounds++;
    ev->stats.party_sent[from] += bytes;
}

fss_status fss_ev_random(fss_eval *ev, uint64_t *out, size_t count, int bits)
{
    if (ev->dry) {
        memset(out, 0, count * 8);
        return FSS_OK;
    }
    fss_status s = fss_rng_ring(ev->rng, out, count, bits);
    if (s != FSS_OK)
        return fss_ev_fail(ev, s, "dealer: random source failed");
    return FSS_OK;
}

void fss_pack_bits(const uint64_t *v, size_t count, int bits, uint8_t *out)
{
    if (bits == 64) {
        memcpy(out, v, count * 8);
        return;
    }
    if (bits == 1) { /* comparison bits: a byte of eight at a time */
        size_t i = 0;
        for (; i + 8 <= count; i += 8) {
            unsigned b = 0;
            for (int j = 0; j < 8; j++)
                b |= (unsigned)(v[i + j] & 1u) << j;
            out[i / 8] = (uint8_t)b;
        }
        if (i < count) {
            unsigned b = 0;
            for (size_t j = 0; i + j < count; j++)
                b |= (unsigned)(v[i + j] & 1u) << j;
            out[i / 8] = (uint8_t)b;
        }
        return;
    }
    /* accumulate into a word (the part of a value past it starts the next), flush whole
     * 8-byte words, then the last bytes: every byte of the output is written */
    const uint64_t m = fss_ring_mask(bits);
    uint64_t acc = 0;
    int have = 0;
    size_t o = 0;
    for (size_t i = 0; i < count; i++) {
        const uint64_t x = v[i] & m;
        acc |= x << have;
        have += bits;
        if (have >= 64) { /* little-endian, as the unpacking's loads */
            memcpy(out + o, &acc, 8);
            o += 8;
            have -= 64;
            acc = have ? x >> (bits - have) : 0;
        }
    }
    for (; have > 0; have -= 8) {
        out[o++] = (uint8_t)acc;
        acc >>= 8;
    }
}

void fss_unpack_bits(const uint8_t *in, size_t count, int bits, uint64_t *v)
{
    if (bits == 64) {
        memcpy(v, in, count * 8);
        return;
    }
    if (bits == 1) {
        for (size_t i = 0; i < count; i++)
            v[i] = (uint64_t)(in[i / 8] >> (i % 8) & 1u);
        return;
    }
    const uint64_t m = fss_ring_mask(bits);
    const size_t nb = fss_packed_bytes(count, bits);
    size_t i = 0, bit = 0;
    if (bits <= 57) {
        /* fastest: a value's bits lie in the 8 bytes from its first (a shift of at most 7,
         * and 7 + bits <= 64), and eight values fill `bits` bytes: a group's byte offsets
         * and shifts are the same in every group, one load a value, no branch */
        size_t off[8];
        unsigned sh[8];
        for (int j = 0; j < 8; j++) {
            off[j] = (size_t)j * (size_t)bits >> 3;
            sh[j] = (unsigned)((size_t)j * (size_t)bits & 7);
        }
        for (; i + 8 <= count && i / 8 * (size_t)bits + off[7] + 8 <= nb; i += 8) {
            const uint8_t *p = in + i / 8 * (size_t)bits;
            for (int j = 0; j < 8; j++) {
                uint64_t w;
                memcpy(&w, p + off[j], 8);
                v[i + j] = w >> sh[j] & m;
            }
        }
        bit = i * (size_t)bits;
    }
    /* fast: two 8-byte loads cover the at most 9 bytes of a value, while 16 bytes remain */
    for (; i < count && (bit >> 3) + 16 <= nb; i++, bit += (size_t)bits) {
        uint64_t lo, hi;
        memcpy(&lo, in + (bit >> 3), 8);
        memcpy(&hi, in + (bit >> 3) + 8, 8);
        unsigned sh = (unsigned)(bit & 7);
        v[i] = (sh ? (lo >> sh) | (hi << (64 - sh)) : lo) & m;
    }
    for (; i < count; i++, bit += (size_t)bits) { /* the tail, a byte at a time */
        unsigned __int128 acc = 0;
        size_t at = bit >> 3, n = ((bit & 7) + (size_t)bits + 7) / 8;
        for (size_t j = 0; j < n; j++)
            acc |= (unsigned __int128)in[at + j] << (8 * j);
        v[i] = (uint64_t)(acc >> (bit & 7)) & m;
    }
}

int fss_ev_threads(const fss_eval *ev, size_t count)
{
    return count < FSS_EV_PAR_MIN ? 1 : fss_ctx_threads(ev->cpu);
}

#define PACK_PART ((size_t)1 << 14) /* values a part: a multiple of 64 */
void fss_ev_pack_bits(fss_eval *ev, const uint64_t *v, size_t count, int bits, uint8_t *out)
{
    const size_t parts = (count + PACK_PART - 1) / PACK_PART;
#pragma omp parallel for schedule(static) num_threads(fss_ev_threads(ev, count))
    for (size_t i = 0; i < parts; i++) {
        const size_t first = i * PACK_PART, n = count - first < PACK_PART ? count - first : PACK_PART;
        fss_pack_bits(v + first, n, bits, out + first / 8 * (size_t)bits);
    }
}

void fss_ev_unpack_bits(fss_eval *ev, const uint8_t *in, size_t count, int bits, uint64_t *v)
{
    const size_t parts = (count + PACK_PART - 1) / PACK_PART;
#pragma omp parallel for schedule(static) num_threads(fss_ev_threads(ev, count))
    for (size_t i = 0; i < parts; i++) {
        const size_t first = i * PACK_PART, n = count - first < PACK_PART ? count - first : PACK_PART;
        fss_unpack_bits(in + first / 8 * (size_t)bits, n, bits, v + first);
    }
}

fss_status fss_ev_reconstruct_parts(fss_eval *ev, int k, const uint64_t *const *mine, const size_t *count,
                                    const int *bits, int xor, uint64_t *const *out)
{
    size_t nb = 0;
    for (int j = 0; j < k; j++)
        nb += fss_packed_bytes(count[j], bits[j]);
    uint8_t *buf = (uint8_t *)calloc(2 * nb + 1, 1); /* calloc: gcc cannot see the parts cover it */
    if (!buf)
        return fss_ev_fail(ev, FSS_E_NOMEM, "party %d: out of memory for a %zu-byte message", ev->party, nb);
    for (size_t j = 0, at = 0; j < (size_t)k; at += fss_packed_bytes(count[j], bits[j]), j++)
        fss_ev_pack_bits(ev, mine[j], count[j], bits[j], buf + at);
    fss_status s = fss_ev_exchange(ev, buf, nb, buf + nb, nb);
    for (size_t j = 0, at = nb; s == FSS_OK && j < (size_t)k; at += fss_packed_bytes(count[j], bits[j]), j++) {
        const size_t c = count[j];
        const int b = bits[j];
        uint64_t *o = out[j];
        const uint64_t *m = mine[j];
        fss_ev_unpack_bits(ev, buf + at, c, b, o);
#pragma omp parallel for schedule(static) num_threads(fss_ev_threads(ev, c))
        for (size_t i = 0; i < c; i++)
            o[i] = fss_share_join(o[i], m[i], b, xor);
    }
    free(buf);
    return s;
}

fss_status fss_ev_reconstruct(fss_eval *ev, const uint64_t *mine, size_t count, int bits, int xor, uint64_t *out)
{
    return fss_ev_reconstruct_parts(ev, 1, &mine, &count, &bits, xor, &out);
}

fss_status fss_tensor_init(fss_tensor *t, int ndim, const size_t *shape, int bits, int scale)
{
    memset(t, 0, sizeof *t);
    if (ndim < 1 || ndim > 4 || bits < 1 || bits > 64 || scale < 0 || scale >= bits)
        return FSS_E_ARG;
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        t->shape[i] = shape[i];
        count *= shape[i];
    }
    t->v = (uint64_t *)calloc(count ? count : 1, sizeof *t->v);
    if (!t->v)
        return FSS_E_NOMEM;
    t->count = count;
    t->ndim = ndim;
    t->bits = bits;
    t->scale = scale;
    return FSS_OK;
}

void fss_tensor_free(fss_tensor *t)
{
    if (t->view) {
        memset(t, 0, sizeof *t);
        return;
    }
    if (t->v) {
        fss_free_wiped(t->v, t->count * sizeof *t->v);
    }
    if (t->own) {
        fss_free_wiped(t->own, t->count * sizeof *t->own);
    }
    memset(t, 0, sizeof *t);
}

fss_status fss_tensor_view(const fss_tensor *src, size_t off, int ndim, const size_t *shape, int scale,
                           fss_tensor *dst)
{
    memset(dst, 0, sizeof *dst);
    if (ndim < 1 || ndim > 4 || scale < 0 || scale >= src->bits)
        return FSS_E_ARG;
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        dst->shape[i] = shape[i];
        count *= shape[i];
    }
    if (off > src->count || count > src->count - off)
        return FSS_E_ARG;
    dst->v = src->v + off;
    dst->own = src->own ? src->own + off : NULL;
    dst->count = count;
    dst->ndim = ndim;
    dst->bits = src->bits;
    dst->scale = scale;
    dst->input_of = src->input_of;
    dst->view = 1;
    return FSS_OK;
}

fss_status fss_tensor_view_next(const fss_tensor *src, size_t *off, int ndim, const size_t *shape, int scale,
                                fss_tensor *dst)
{
    fss_status s = fss_tensor_view(src, *off, ndim, shape, scale, dst);
    if (s == FSS_OK)
        *off += dst->count;
    return s;
}

void *fss_ev_alloc(fss_eval *ev, size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p)
        fss_ev_fail(ev, FSS_E_NOMEM, "out of memory (%zu bytes)", bytes);
    return p;
}

/* count n-bit values of the seed's AES-CTR stream (8 bytes a value), in parts over the
 * context's threads: a part of EXPAND_PART values starts at a block of the stream. */
#define EXPAND_PART ((size_t)1 << 16) /* even: two values a block */
static fss_status expand_part(const uint8_t seed[16], uint64_t block0, uint64_t *out, size_t first, size_t count,
                              int bits)
{
    fss_rng *r = NULL;
    fss_status s = fss_rng_new_key_at(&r, seed, block0 + first / 2);
    if (s == FSS_OK)
        s = fss_rng_ring(r, out + first, count, bits);
    fss_rng_free(r);
    return s;
}

/* count values of the stream from its block block0 on */
static fss_status expand_seed_at(const fss_eval *ev, const uint8_t seed[16], uint64_t block0, uint64_t *out,
                                 size_t count, int bits)
{
    const size_t parts = (count + EXPAND_PART - 1) / EXPAND_PART;
    int failed = FSS_OK;
#pragma omp parallel for schedule(static) num_threads(fss_ev_threads(ev, count)) if (parts > 1)
    for (size_t i = 0; i < parts; i++) {
        const size_t first = i * EXPAND_PART, n = count - first < EXPAND_PART ? count - first : EXPAND_PART;
        const fss_status s = expand_part(seed, block0, out, first, n, bits);
        if (s != FSS_OK)
            FSS_SET_FAILED(failed, (int)s);
    }
    return (fss_status)failed;
}

static fss_status expand_seed(const fss_eval *ev, const uint8_t seed[16], uint64_t *out, size_t count, int bits)
{
    return expand_seed_at(ev, seed, 0, out, count, bits);
}

fss_status fss_ev_seed(fss_eval *ev, uint8_t seed[FSS_EV_SEED_BYTES])
{
    fss_status s = fss_rng_bytes(ev->rng, seed, FSS_EV_SEED_BYTES);
    return s == FSS_OK ? s : fss_ev_fail(ev, s, "dealer: random source failed");
}

fss_status fss_ev_expand_seed(fss_eval *ev, const uint8_t seed[FSS_EV_SEED_BYTES], uint64_t *out, size_t count,
                              int bits)
{
    if (ev->dry) {
        memset(out, 0, count * 8);
        return FSS_OK;
    }
    fss_status s = expand_seed(ev, seed, out, count, bits);
    return s == FSS_OK ? s : fss_ev_fail(ev, s, "cannot expand a mask seed");
}

/* Fresh values go with explicit ones in one chunk. S's seed expands its shares of the
 * count explicit values from the stream's block 0 and of the fresh ones from block
 * (count + 1) / 2; E gets its explicit shares packed, then a seed of its own whose
 * expansion is its share of the fresh values (or, where packed they take 16 bytes or
 * fewer, those packed too: small gates). */
static int mixed_small(size_t nfresh, int bits) { return fss_packed_bytes(nfresh, bits) <= FSS_EV_SEED_BYTES; }
static uint64_t mixed_fresh_block(size_t count) { return ((uint64_t)count + 1) / 2; }

/* The chunk's E, and its explicit bytes counted to E (eval_internal.h): the dealer's draw
 * and the party's take call it once a chunk, in the same order. */
static int mixed_holder(fss_eval *ev, size_t count, size_t nfresh, int bits)
{
    if (!count)
        return 1;
    const int e = ev->explicit_bytes[0] < ev->explicit_bytes[1] ? 0 : 1;
    ev->explicit_bytes[e] += fss_packed_bytes(count, bits) + (mixed_small(nfresh, bits) ? fss_packed_bytes(nfresh, bits) : 0);
    return e;
}

void fss_ev_mixed_drop(fss_ev_mixed *M) { fss_memzero(M->seed, sizeof M->seed); }

fss_status fss_ev_mixed_draw(fss_eval *ev, fss_ev_mixed *M, const uint64_t *vals, size_t count, uint64_t *fresh,
                             size_t nfresh, int bits)
{
    memset(M, 0, sizeof *M);
    M->vals = vals, M->count = count, M->fresh = fresh, M->nfresh = nfresh, M->bits = bits;
    M->e = mixed_holder(ev, count, nfresh, bits);
    if (ev->dry) {
        if (nfresh)
            memset(fresh, 0, nfresh * 8);
        return FSS_OK;
    }
    fss_status s = fss_rng_bytes(ev->rng, M->seed, sizeof M->seed);
    if (s != FSS_OK) {
        fss_ev_mixed_drop(M);
        return fss_ev_fail(ev, s, "dealer: random source failed");
    }
    if (!nfresh)
        return FSS_OK;
    if (mixed_small(nfresh, bits)) { /* drawn here, shared explicitly */
        if ((s = fss_ev_random(ev, fresh, nfresh, bits)) != FSS_OK)
            fss_ev_mixed_drop(M);
        return s;
    }
    uint64_t *e1 = (uint64_t *)fss_ev_alloc(ev, nfresh * 8);
    if (!e1) {
        fss_ev_mixed_drop(M);
        return FSS_E_NOMEM;
    }
    if ((s = expand_seed_at(ev, M->seed[0], mixed_fresh_block(count), fresh, nfresh, bits)) != FSS_OK ||
        (s = expand_seed(ev, M->seed[1], e1, nfresh, bits)) != FSS_OK) {
        fss_ev_mixed_drop(M);
        fss_ev_fail(ev, s, "dealer: cannot expand a share seed");
    }
    for (size_t i = 0; s == FSS_OK && i < nfresh; i++)
        fresh[i] = fss_ring_add(fresh[i], e1[i], bits);
    fss_free_wiped(e1, nfresh * 8);
    return s;
}

fss_status fss_ev_mixed_share0(fss_eval *ev, const fss_ev_mixed *M, uint64_t *out)
{
    if (ev->dry) {
        memset(out, 0, M->count * 8);
        return FSS_OK;
    }
    fss_status s = expand_seed(ev, M->seed[0], out, M->count, M->bits); /* S's */
    if (s != FSS_OK)
        return fss_ev_fail(ev, s, "dealer: cannot expand a share seed");
    for (size_t i = 0; M->e == 0 && i < M->count; i++) /* party 0 is E: the value less S's */
        out[i] = fss_ring_sub(M->vals[i], out[i], M->bits);
    return FSS_OK;
}

static size_t mixed_bytes_e(size_t count, size_t nfresh, int bits)
{
    return fss_packed_bytes(count, bits) + (mixed_small(nfresh, bits) ? fss_packed_bytes(nfresh, bits) : FSS_EV_SEED_BYTES);
}

fss_status fss_ev_mixed_put(fss_eval *ev, fss_ev_mixed *M)
{
    const size_t count = M->count, nfresh = M->nfresh, pe = fss_packed_bytes(count, M->bits);
    const size_t kb = mixed_bytes_e(count, nfresh, M->bits);
    const int small = mixed_small(nfresh, M->bits);
    fss_status s;
    const int e = M->e;
    if (ev->dry) { /* the sizes */
        if ((s = fss_ev_put(ev, 1 - e, FSS_KEY_SHARES, count + nfresh, M->seed[0], FSS_EV_SEED_BYTES)) == FSS_OK)
            s = fss_ev_put(ev, e, FSS_KEY_SHARES, count + nfresh, NULL, kb);
        fss_ev_mixed_drop(M);
        return s;
    }
    const size_t words = count > nfresh ? count : nfresh;
    uint64_t *es = (uint64_t *)fss_ev_alloc(ev, (words ? words : 1) * 8);
    uint8_t *pk = (uint8_t *)fss_ev_alloc(ev, kb ? kb : 1);
    s = es && pk ? FSS_OK : FSS_E_NOMEM;
    if (s == FSS_OK && (s = expand_seed(ev, M->seed[0], es, count, M->bits)) == FSS_OK) { /* E: vals - S's */
        for (size_t i = 0; i < count; i++)
            es[i] = fss_ring_sub(M->vals[i], es[i], M->bits);
        fss_pack_bits(es, count, M->bits, pk);
        if (small && nfresh && (s = expand_seed_at(ev, M->seed[0], mixed_fresh_block(count), es, nfresh, M->bits)) == FSS_OK) {
            for (size_t i = 0; i < nfresh; i++)
                es[i] = fss_ring_sub(M->fresh[i], es[i], M->bits);
            fss_pack_bits(es, nfresh, M->bits, pk + pe);
        } else if (!small) {
            memcpy(pk + pe, M->seed[1], FSS_EV_SEED_BYTES);
        }
    }
    if (s != FSS_OK && !ev->err[0])
        fss_ev_fail(ev, s, "dealer: cannot make a share");
    if (s == FSS_OK && (s = fss_ev_put(ev, 1 - e, FSS_KEY_SHARES, count + nfresh, M->seed[0], FSS_EV_SEED_BYTES)) == FSS_OK)
        s = fss_ev_put(ev, e, FSS_KEY_SHARES, count + nfresh, pk, kb);
    fss_free_wiped(es, (words ? words : 1) * 8);
    fss_free_wiped(pk, kb ? kb : 1);
    fss_ev_mixed_drop(M);
    return s;
}

fss_status fss_ev_mixed_take(fss_eval *ev, uint64_t *vals, size_t count, uint64_t *fresh, size_t nfresh, int bits)
{
    const void *data;
    const int small = mixed_small(nfresh, bits), seeded = ev->party != mixed_holder(ev, count, nfresh, bits);
    fss_status s = fss_ev_get(ev, FSS_KEY_SHARES, count + nfresh,
                              seeded ? FSS_EV_SEED_BYTES : mixed_bytes_e(count, nfresh, bits), &data);
    if (s != FSS_OK)
        return s;
    const uint8_t *d = (const uint8_t *)data;
    if (seeded) {
        if ((s = expand_seed(ev, d, vals, count, bits)) == FSS_OK)
            s = expand_seed_at(ev, d, mixed_fresh_block(count), fresh, nfresh, bits);
    } else {
        const size_t pe = fss_packed_bytes(count, bits);
        if (count)
            fss_ev_unpack_bits(ev, d, count, bits, vals);
        if (small && nfresh)
            fss_ev_unpack_bits(ev, d + pe, nfresh, bits, fresh);
        else if (!small)
            s = expand_seed(ev, d + pe, fresh, nfresh, bits);
    }
    return s == FSS_OK ? s : fss_ev_fail(ev, s, "party %d: cannot expand a share seed", ev->party);
}

fss_status fss_ev_fresh_deal(fss_eval *ev, uint64_t *vals, size_t count, int bits)
{
    fss_ev_mixed M;
    fss_status s = fss_ev_mixed_draw(ev, &M, NULL, 0, vals, count, bits);
    return s == FSS_OK ? fss_ev_mixed_put(ev, &M) : s;
}

fss_status fss_ev_fresh_take(fss_eval *ev, uint64_t *out, size_t count, int bits)
{
    return fss_ev_mixed_take(ev, NULL, 0, out, count, bits);
}
