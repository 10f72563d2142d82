/* Shared by the gate tests (test_gates.c, test_gates_ext.c): the dealer walk into two
 * in-memory key streams, then the two parties in two threads over a socketpair. Each
 * test keeps its own model type and walk; the harness takes them as a void pointer and a
 * function. */
#ifndef FSS_TEST_GATE_HARNESS_H
#define FSS_TEST_GATE_HARNESS_H

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "fss/eval.h"
#include "fss/memkeys.h"

/* A gate's FSS keys for cnt instances of kb bytes each (FSS_*_KEY_BYTES) as the runtime
 * writes them (runtime/keys.c): a 16-byte root seed, then the keys without their roots. */
static inline size_t harness_deal_bytes(size_t kb, size_t cnt) { return cnt ? 16 + cnt * (kb - 16) : 0; }

/* A model's walk against any context; out NULL for the dealer. */
typedef fss_status (*harness_walk)(fss_eval *ev, const void *md, uint64_t *out);

/* ---- a full-duplex link over one end of a socketpair -------------------------------- */
static inline fss_status sock_exchange(void *self, const void *sbuf, size_t ns, void *rbuf, size_t nr)
{
    int fd = *(int *)self;
    const uint8_t *sp = (const uint8_t *)sbuf;
    uint8_t *rp = (uint8_t *)rbuf;
    size_t sent = 0, got = 0;
    while (sent < ns || got < nr) {
        struct pollfd pf = {fd, (short)((sent < ns ? POLLOUT : 0) | (got < nr ? POLLIN : 0)), 0};
        if (poll(&pf, 1, 20000) <= 0)
            return FSS_E_ARG;
        if ((pf.revents & POLLOUT) && sent < ns) {
            ssize_t w = send(fd, sp + sent, ns - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (w < 0 && errno != EAGAIN)
                return FSS_E_ARG;
            sent += w > 0 ? (size_t)w : 0;
        }
        if ((pf.revents & (POLLIN | POLLHUP)) && got < nr) {
            ssize_t r = recv(fd, rp + got, nr - got, MSG_DONTWAIT);
            if (r == 0 || (r < 0 && errno != EAGAIN))
                return FSS_E_ARG;
            got += r > 0 ? (size_t)r : 0;
        }
    }
    return FSS_OK;
}

/* Each party's backend (test_gates sets cuda for one of them where a device exists). */
static fss_backend harness_backend[2] = {FSS_BACKEND_CPU, FSS_BACKEND_CPU};
/* The parties' key sources answer in_place as if keys came in pieces of this many bytes
 * (0: whole), so that their steps end at piece edges as they do on key files. */
static size_t harness_piece;

/* One party's run and what it reports. */
typedef struct party_run {
    int party, fd;
    harness_walk walk;
    const void *md;
    fss_memkeys *keys;
    uint64_t *out;
    fss_status status;
    char err[512];
    fss_eval_stats stats;
} party_run;

static inline void *party_main(void *arg)
{
    party_run *pr = (party_run *)arg;
    fss_ctx *cpu = NULL;
    fss_eval *ev = NULL;
    pr->status = fss_ctx_new(&cpu, 1);
    if (pr->status == FSS_OK)
        pr->status = fss_eval_new_party(&ev, cpu, pr->party, fss_memkeys_source(pr->keys),
                                        (fss_link){sock_exchange, &pr->fd});
    if (pr->status == FSS_OK && harness_backend[pr->party] != FSS_BACKEND_CPU)
        pr->status = fss_eval_set_backend(ev, harness_backend[pr->party]);
    if (pr->status == FSS_OK)
        pr->status = pr->walk(ev, pr->md, pr->out);
    if (pr->status != FSS_OK)
        shutdown(pr->fd, SHUT_RDWR); /* the peer sees the end instead of waiting */
    if (ev) {
        snprintf(pr->err, sizeof pr->err, "%s", fss_eval_error(ev));
        pr->stats = *fss_eval_stats_get(ev);
    }
    fss_eval_free(ev);
    fss_ctx_free(cpu);
    return NULL;
}

/* The last dealer walk's counters: harness_parties holds the parties' rounds and bytes
 * against what the dealer counted for them (the dry run's figures). */
static fss_eval_stats harness_dealt;

/* The dealer walk of md into two new key streams; its key bytes per party to dealt
 * (may be NULL). The caller frees keys. */
static inline void harness_deal(fss_ctx *ctx, fss_rng *rng, harness_walk walk, const void *md, const char *name,
                                fss_memkeys *keys[2], uint64_t dealt[2])
{
    fss_eval *ev;
    REQUIRE(fss_memkeys_new(&keys[0]) == FSS_OK && fss_memkeys_new(&keys[1]) == FSS_OK);
    fss_key_sink sinks[2] = {fss_memkeys_sink(keys[0]), fss_memkeys_sink(keys[1])};
    REQUIRE(fss_eval_new_dealer(&ev, ctx, rng, sinks) == FSS_OK);
    fss_status s = walk(ev, md, NULL);
    CHECK(s == FSS_OK, "%s: dealer walk failed: %s", name, fss_eval_error(ev));
    for (int b = 0; b < 2 && dealt; b++)
        dealt[b] = fss_eval_stats_get(ev)->key_bytes[b];
    harness_dealt = *fss_eval_stats_get(ev);
    fss_eval_free(ev);
}

/* Both parties of md on their key streams, outputs to out[b]; pr[] holds their statuses,
 * messages and counters after. */
static inline void harness_run(harness_walk walk, const void *md, fss_memkeys *keys[2], uint64_t *out[2],
                               party_run pr[2])
{
    int fds[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    pthread_t th[2];
    for (int b = 0; b < 2; b++) {
        fss_memkeys_set_piece(keys[b], harness_piece);
        pr[b] = (party_run){.party = b, .fd = fds[b], .walk = walk, .md = md, .keys = keys[b], .out = out[b]};
        REQUIRE(pthread_create(&th[b], NULL, party_main, &pr[b]) == 0);
    }
    for (int b = 0; b < 2; b++)
        pthread_join(th[b], NULL);
    close(fds[0]);
    close(fds[1]);
}

/* harness_run, where each party must succeed, read its keys to the end, and make the
 * exchanges the dealer counted for it (rounds, bytes each way). */
static inline void harness_parties(harness_walk walk, const void *md, const char *name, fss_memkeys *keys[2],
                                   uint64_t *out[2], party_run pr[2])
{
    harness_run(walk, md, keys, out, pr);
    for (int b = 0; b < 2; b++) {
        CHECK(pr[b].status == FSS_OK, "%s: party %d failed: %s", name, b, pr[b].err);
        CHECK(fss_memkeys_unread(keys[b]) == 0, "%s: party %d left %zu key chunks unread", name, b,
              fss_memkeys_unread(keys[b]));
        const fss_eval_stats *st = &pr[b].stats, *d = &harness_dealt;
        CHECK(st->rounds == d->rounds && st->bytes_sent == d->party_sent[b] && st->bytes_received == d->party_sent[!b],
              "%s: party %d made %llu rounds, sent %llu and received %llu bytes; the dealer counted %llu, %llu, %llu",
              name, b, (unsigned long long)st->rounds, (unsigned long long)st->bytes_sent,
              (unsigned long long)st->bytes_received, (unsigned long long)d->rounds,
              (unsigned long long)d->party_sent[b], (unsigned long long)d->party_sent[!b]);
    }
}

#endif
