/* The peer transport: exchanges of boundary and large sizes over a socketpair and over
 * TCP loopback (both directions at once, the deadlock case included), byte and round
 * counters, the handshake and each refusal, a peer that vanishes mid-exchange, a silent
 * peer, and the connect retry window. Loopback addresses only. */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "fss/transport.h"

#define KIB ((size_t)1024)
#define MIB (KIB * KIB)
#define BIG (16 * MIB)
#define LOOPBACK "127.0.0.1"

/* --- one party's call on its own thread ----------------------------------------------- */

typedef enum op { OP_EXCHANGE, OP_SEND, OP_RECV, OP_HANDSHAKE, OP_CONNECT, OP_READ_THEN_CLOSE } op;

typedef struct job {
    op op;
    fss_peer *p;
    const void *send;
    size_t send_bytes;
    void *recv;
    size_t recv_bytes;
    fss_peer_hello mine, theirs;
    int port;
    double secs;
    fss_status st;
    char err[512];
    pthread_t th;
} job;

static void *job_run(void *arg)
{
    job *j = arg;
    switch (j->op) {
    case OP_EXCHANGE: j->st = fss_peer_exchange(j->p, j->send, j->send_bytes, j->recv, j->recv_bytes); break;
    case OP_SEND: j->st = fss_peer_send(j->p, j->send, j->send_bytes); break;
    case OP_RECV: j->st = fss_peer_recv(j->p, j->recv, j->recv_bytes); break;
    case OP_HANDSHAKE: j->st = fss_peer_handshake(j->p, &j->mine, &j->theirs); break;
    case OP_CONNECT: j->st = fss_peer_connect(&j->p, LOOPBACK, j->port, j->secs); break;
    case OP_READ_THEN_CLOSE:
        j->st = fss_peer_recv(j->p, j->recv, j->recv_bytes);
        fss_peer_close(j->p);
        j->p = NULL;
        break;
    }
    /* The message is thread-local when no peer exists yet. */
    snprintf(j->err, sizeof j->err, "%s", fss_peer_error(j->op == OP_CONNECT ? NULL : j->p));
    return NULL;
}

static void job_start(job *j) { REQUIRE(pthread_create(&j->th, NULL, job_run, j) == 0); }
static fss_status job_wait(job *j)
{
    REQUIRE(pthread_join(j->th, NULL) == 0);
    return j->st;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static void check_same(const uint8_t *got, const uint8_t *want, size_t n, const char *what, size_t size)
{
    size_t i = 0;
    while (i < n && got[i] == want[i])
        i++;
    CHECK(i == n, "%s (%zu bytes): byte %zu differs: got 0x%02x, want 0x%02x", what, size, i, i < n ? got[i] : 0,
          i < n ? want[i] : 0);
}

static int has(const char *msg, const char *part) { return strstr(msg, part) != NULL; }

/* --- exchanges ------------------------------------------------------------------------ */

typedef struct bufs {
    uint8_t *sa, *sb, *ra, *rb;
} bufs;

/* a sends na bytes and b sends nb, at the same time; a runs here, b on a thread. */
static void exchange_once(fss_peer *a, fss_peer *b, fss_rng *rng, bufs *m, size_t na, size_t nb,
                          const char *what)
{
    REQUIRE(fss_rng_bytes(rng, m->sa, na) == FSS_OK);
    REQUIRE(fss_rng_bytes(rng, m->sb, nb) == FSS_OK);
    job jb = {.op = OP_EXCHANGE, .p = b, .send = m->sb, .send_bytes = nb, .recv = m->rb, .recv_bytes = na};
    job_start(&jb);
    fss_status st = fss_peer_exchange(a, m->sa, na, m->ra, nb);
    CHECK(st == FSS_OK, "%s: a sends %zu, b sends %zu: %s", what, na, nb, fss_peer_error(a));
    CHECK(job_wait(&jb) == FSS_OK, "%s: a sends %zu, b sends %zu: %s", what, na, nb, jb.err);
    check_same(m->rb, m->sa, na, what, na);
    check_same(m->ra, m->sb, nb, what, nb);
}

static void test_exchanges(fss_peer *a, fss_peer *b, fss_rng *rng, const char *what)
{
    bufs m = {malloc(BIG), malloc(BIG), malloc(BIG), malloc(BIG)};
    REQUIRE(m.sa && m.sb && m.ra && m.rb);
    fss_peer_reset_counters(a);
    fss_peer_reset_counters(b);
    uint64_t a_sent = 0, b_sent = 0, rounds = 0;

    /* Symmetric sizes on the boundaries; BIG both ways is the deadlock case (each side
     * sends far more than the socket buffers hold before it reads anything). */
    static const size_t sizes[] = {0, 1, 7, 64 * KIB, BIG};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        exchange_once(a, b, rng, &m, sizes[i], sizes[i], what);
        a_sent += sizes[i];
        b_sent += sizes[i];
        rounds++;
    }
    /* Asymmetric: one side's message is large, the other's small or empty. */
    static const size_t asym[][2] = {{MIB + 3, 5}, {0, 7}, {9, 0}, {BIG, 1}, {13, 3 * MIB + 1}};
    for (size_t i = 0; i < sizeof asym / sizeof asym[0]; i++) {
        exchange_once(a, b, rng, &m, asym[i][0], asym[i][1], what);
        a_sent += asym[i][0];
        b_sent += asym[i][1];
        rounds++;
    }
    CHECK(fss_peer_rounds(a) == rounds && fss_peer_rounds(b) == rounds, "%s: rounds %llu and %llu, want %llu", what,
          (unsigned long long)fss_peer_rounds(a), (unsigned long long)fss_peer_rounds(b),
          (unsigned long long)rounds);

    /* One direction (an input sent by its owner): bytes counted, the round by the caller. */
    size_t n = 2 * MIB + 11;
    REQUIRE(fss_rng_bytes(rng, m.sa, n) == FSS_OK);
    job jb = {.op = OP_RECV, .p = b, .recv = m.rb, .recv_bytes = n};
    job_start(&jb);
    CHECK(fss_peer_send(a, m.sa, n) == FSS_OK, "%s: send: %s", what, fss_peer_error(a));
    CHECK(job_wait(&jb) == FSS_OK, "%s: recv: %s", what, jb.err);
    check_same(m.rb, m.sa, n, what, n);
    a_sent += n;
    CHECK(fss_peer_rounds(a) == rounds, "%s: a send counted a round", what);
    fss_peer_count_round(a);
    fss_peer_count_round(b);
    rounds++;

    CHECK(fss_peer_bytes_sent(a) == a_sent && fss_peer_bytes_received(b) == a_sent,
          "%s: a sent %llu, b received %llu, want %llu", what, (unsigned long long)fss_peer_bytes_sent(a),
          (unsigned long long)fss_peer_bytes_received(b), (unsigned long long)a_sent);
    CHECK(fss_peer_bytes_sent(b) == b_sent && fss_peer_bytes_received(a) == b_sent,
          "%s: b sent %llu, a received %llu, want %llu", what, (unsigned long long)fss_peer_bytes_sent(b),
          (unsigned long long)fss_peer_bytes_received(a), (unsigned long long)b_sent);
    CHECK(fss_peer_rounds(a) == rounds && fss_peer_rounds(b) == rounds, "%s: rounds %llu and %llu, want %llu", what,
          (unsigned long long)fss_peer_rounds(a), (unsigned long long)fss_peer_rounds(b),
          (unsigned long long)rounds);
    free(m.sa);
    free(m.sb);
    free(m.ra);
    free(m.rb);
}

/* --- handshake ------------------------------------------------------------------------ */

/* Both parties say hello; returns a's status, b's in *st_b and its message in err_b. */
static fss_status handshake_pair(fss_peer *a, fss_peer *b, const fss_peer_hello *ha, const fss_peer_hello *hb,
                                 fss_peer_hello *seen_by_a, fss_status *st_b, fss_peer_hello *seen_by_b,
                                 char *err_b, size_t err_n)
{
    job jb = {.op = OP_HANDSHAKE, .p = b, .mine = *hb};
    job_start(&jb);
    fss_status st = fss_peer_handshake(a, ha, seen_by_a);
    *st_b = job_wait(&jb);
    if (seen_by_b)
        *seen_by_b = jb.theirs;
    snprintf(err_b, err_n, "%s", jb.err);
    return st;
}

/* A fresh pair, hellos ha and hb: both sides must refuse with FSS_E_FORMAT and messages
 * holding want_a and want_b. */
static void expect_refused(const fss_peer_hello *ha, const fss_peer_hello *hb, const char *want_a,
                           const char *want_b, const char *what)
{
    fss_peer *a = NULL, *b = NULL;
    REQUIRE(fss_peer_pair(&a, &b) == FSS_OK);
    fss_status st_b;
    char err_b[512];
    fss_status st_a = handshake_pair(a, b, ha, hb, NULL, &st_b, NULL, err_b, sizeof err_b);
    CHECK(st_a == FSS_E_FORMAT && has(fss_peer_error(a), want_a), "%s: party a got %d: %s", what, (int)st_a,
          fss_peer_error(a));
    CHECK(st_b == FSS_E_FORMAT && has(err_b, want_b), "%s: party b got %d: %s", what, (int)st_b, err_b);
    fss_peer_close(a);
    fss_peer_close(b);
}

static void test_handshake(fss_peer *a, fss_peer *b, fss_rng *rng, const char *what)
{
    fss_peer_hello h0 = {.version = FSS_PEER_PROTOCOL_VERSION, .party = 0}, h1;
    REQUIRE(fss_rng_bytes(rng, h0.run_id, sizeof h0.run_id) == FSS_OK);
    REQUIRE(fss_rng_bytes(rng, h0.fingerprint, sizeof h0.fingerprint) == FSS_OK);
    h1 = h0;
    h1.party = 1;

    fss_peer_reset_counters(a);
    fss_peer_reset_counters(b);
    fss_peer_hello seen_a, seen_b;
    fss_status st_b;
    char err_b[512];
    fss_status st_a = handshake_pair(a, b, &h0, &h1, &seen_a, &st_b, &seen_b, err_b, sizeof err_b);
    CHECK(st_a == FSS_OK, "%s: handshake a: %s", what, fss_peer_error(a));
    CHECK(st_b == FSS_OK, "%s: handshake b: %s", what, err_b);
    CHECK(memcmp(&seen_a, &h1, sizeof h1) == 0 && memcmp(&seen_b, &h0, sizeof h0) == 0,
          "%s: the hello received is not the hello sent", what);
    CHECK(fss_peer_bytes_sent(a) == FSS_PEER_HELLO_BYTES && fss_peer_bytes_received(a) == FSS_PEER_HELLO_BYTES &&
              fss_peer_rounds(a) == 0,
          "%s: handshake counters sent %llu received %llu rounds %llu", what,
          (unsigned long long)fss_peer_bytes_sent(a), (unsigned long long)fss_peer_bytes_received(a),
          (unsigned long long)fss_peer_rounds(a));
}

static void test_handshake_refusals(fss_rng *rng)
{
    fss_peer_hello h0 = {.version = FSS_PEER_PROTOCOL_VERSION, .party = 0}, h1, x;
    REQUIRE(fss_rng_bytes(rng, h0.run_id, sizeof h0.run_id) == FSS_OK);
    REQUIRE(fss_rng_bytes(rng, h0.fingerprint, sizeof h0.fingerprint) == FSS_OK);
    h1 = h0;
    h1.party = 1;

    x = h1;
    x.version = FSS_PEER_PROTOCOL_VERSION + 1;
    expect_refused(&h0, &x, "this party speaks 1, the peer 2", "this party speaks 2, the peer 1", "version");

    x = h1;
    x.run_id[5] ^= 0x10;
    expect_refused(&h0, &x, "different dealer runs", "different dealer runs", "run id");

    x = h1;
    x.fingerprint[31] ^= 1;
    expect_refused(&h0, &x, "different models or ring parameters", "different models or ring parameters",
                   "fingerprint");

    x = h0; /* party 1 was given p0.bin */
    expect_refused(&h0, &x, "both parties are party 0: was party 1 given p0.bin?",
                   "both parties are party 0: was party 1 given p0.bin?", "both party 0");
    x = h1;
    expect_refused(&x, &h1, "both parties are party 1: was party 0 given p1.bin?",
                   "both parties are party 1: was party 0 given p1.bin?", "both party 1");

    fss_peer *a = NULL, *b = NULL;
    REQUIRE(fss_peer_pair(&a, &b) == FSS_OK);
    /* A bad id of one's own is the caller's error, found before any byte moves. */
    x = h0;
    x.party = 2;
    fss_status st = fss_peer_handshake(a, &x, NULL);
    CHECK(st == FSS_E_ARG && fss_peer_bytes_sent(a) == 0, "party 2: got %d: %s", (int)st, fss_peer_error(a));

    /* Something that is not an fsskit peer answers. */
    uint8_t junk[FSS_PEER_HELLO_BYTES], got[FSS_PEER_HELLO_BYTES];
    REQUIRE(fss_rng_bytes(rng, junk, sizeof junk) == FSS_OK);
    junk[0] = 'X';
    job jb = {.op = OP_SEND, .p = b, .send = junk, .send_bytes = sizeof junk};
    job_start(&jb);
    st = fss_peer_handshake(a, &h0, NULL);
    CHECK(job_wait(&jb) == FSS_OK, "junk send: %s", jb.err);
    CHECK(st == FSS_E_FORMAT && has(fss_peer_error(a), "did not send an fsskit hello"), "bad magic: got %d: %s",
          (int)st, fss_peer_error(a));
    CHECK(fss_peer_recv(b, got, sizeof got) == FSS_OK && memcmp(got, FSS_PEER_MAGIC, FSS_PEER_MAGIC_BYTES) == 0,
          "the hello does not start with the magic");
    fss_peer_close(a);
    fss_peer_close(b);
}

/* --- failures ------------------------------------------------------------------------- */

static void test_peer_gone(void)
{
    fss_peer *a = NULL, *b = NULL;
    uint8_t *buf = malloc(BIG), *buf2 = malloc(BIG);
    REQUIRE(buf && buf2);
    memset(buf, 0x5a, BIG);

    /* b sends part of what a waits for, then closes. */
    REQUIRE(fss_peer_pair(&a, &b) == FSS_OK);
    REQUIRE(fss_peer_send(b, buf, 1000) == FSS_OK);
    fss_peer_close(b);
    fss_status st = fss_peer_exchange(a, NULL, 0, buf2, MIB);
    CHECK(st == FSS_E_IO && has(fss_peer_error(a), "peer closed the connection after receiving 1000 of 1048576 bytes"),
          "closed mid-receive: got %d: %s", (int)st, fss_peer_error(a));
    CHECK(fss_peer_bytes_received(a) == 1000 && fss_peer_rounds(a) == 0, "closed mid-receive: counters");
    /* The stream is out of step now: later calls refuse. */
    st = fss_peer_exchange(a, buf, 1, buf2, 1);
    CHECK(st == FSS_E_IO && has(fss_peer_error(NULL), "peer closed the connection"), "after a failure: got %d: %s",
          (int)st, fss_peer_error(NULL));
    fss_peer_close(a);

    /* b vanishes while a is sending far more than the buffers hold: EPIPE, no SIGPIPE. */
    REQUIRE(fss_peer_pair(&a, &b) == FSS_OK);
    job jb = {.op = OP_READ_THEN_CLOSE, .p = b, .recv = buf2, .recv_bytes = 100};
    job_start(&jb);
    st = fss_peer_exchange(a, buf, BIG, buf2 + KIB, BIG);
    CHECK(job_wait(&jb) == FSS_OK, "reader: %s", jb.err);
    CHECK(st == FSS_E_IO && has(fss_peer_error(a), "peer closed the connection"), "closed mid-send: got %d: %s",
          (int)st, fss_peer_error(a));
    fss_peer_close(a);

    /* A silent peer: the no-progress timeout, not a hang. */
    REQUIRE(fss_peer_pair(&a, &b) == FSS_OK);
    CHECK(fss_peer_set_timeout(a, 0) == FSS_E_ARG, "timeout 0 accepted");
    REQUIRE(fss_peer_set_timeout(a, 0.2) == FSS_OK);
    double t0 = now_s();
    st = fss_peer_exchange(a, buf, 10, buf2, 10);
    double dt = now_s() - t0;
    CHECK(st == FSS_E_IO && has(fss_peer_error(a), "no progress from the peer for 0.2 s"), "silent peer: got %d: %s",
          (int)st, fss_peer_error(a));
    CHECK(dt >= 0.19 && dt < 3, "silent peer: gave up after %.3f s, want 0.2", dt);
    fss_peer_close(a);
    fss_peer_close(b);

    /* Arguments. */
    REQUIRE(fss_peer_pair(&a, &b) == FSS_OK);
    CHECK(fss_peer_exchange(a, NULL, 1, buf2, 1) == FSS_E_ARG, "NULL send buffer accepted");
    CHECK(fss_peer_exchange(NULL, buf, 1, buf2, 1) == FSS_E_ARG, "NULL peer accepted");
    fss_peer_close(a);
    fss_peer_close(b);
    fss_peer *q = NULL;
    CHECK(fss_peer_listen(&q, LOOPBACK, 70000, 0.1) == FSS_E_ARG && !q, "port 70000 accepted");
    CHECK(fss_peer_connect(&q, LOOPBACK, 0, 0.1) == FSS_E_ARG && !q, "connect to port 0 accepted");
    free(buf);
    free(buf2);
}

/* A port with no listener, as far as the test can know: bind an ephemeral one, let go. */
static int free_port(void)
{
    fss_peer_listener *l = NULL;
    REQUIRE(fss_peer_listener_new(&l, LOOPBACK, 0) == FSS_OK);
    int port = fss_peer_listener_port(l);
    fss_peer_listener_free(l);
    REQUIRE(port > 0);
    return port;
}

static void test_tcp(fss_rng *rng)
{
    char want[128];

    /* No one connects. */
    fss_peer_listener *l = NULL;
    REQUIRE(fss_peer_listener_new(&l, LOOPBACK, 0) == FSS_OK);
    int port = fss_peer_listener_port(l);
    CHECK(port > 0 && port <= 65535, "ephemeral port %d", port);
    fss_peer *a = NULL, *b = NULL;
    fss_status st = fss_peer_accept(l, &a, 0.2);
    snprintf(want, sizeof want, "no peer connected to %s:%d within 0.2 s", LOOPBACK, port);
    CHECK(st == FSS_E_IO && !a && has(fss_peer_error(NULL), want), "accept with no peer: got %d: %s", (int)st,
          fss_peer_error(NULL));
    fss_peer_listener_free(l);

    /* No one listens: fails after the retry window, not at once and not much later. */
    port = free_port();
    double t0 = now_s();
    st = fss_peer_connect(&b, LOOPBACK, port, 0.3);
    double dt = now_s() - t0;
    snprintf(want, sizeof want, "could not connect to %s:%d within 0.3 s: is party 0 running?", LOOPBACK, port);
    CHECK(st == FSS_E_IO && !b && has(fss_peer_error(NULL), want), "connect with no listener: got %d: %s", (int)st,
          fss_peer_error(NULL));
    CHECK(dt >= 0.29 && dt < 3, "connect with no listener gave up after %.3f s, want 0.3", dt);

    /* Party 1 starts first and retries until party 0 listens. */
    port = free_port();
    job j1 = {.op = OP_CONNECT, .port = port, .secs = 10};
    job_start(&j1);
    sleep_s(0.3);
    st = fss_peer_listen(&a, LOOPBACK, port, 10);
    CHECK(st == FSS_OK, "listen on %d: %s", port, fss_peer_error(NULL));
    CHECK(job_wait(&j1) == FSS_OK, "connect to %d: %s", port, j1.err);
    if (a && j1.p) {
        b = j1.p;
        test_handshake(a, b, rng, "tcp");
        test_exchanges(a, b, rng, "tcp");
    }
    fss_peer_close(a);
    fss_peer_close(j1.p);

    /* The lower-level pieces, then party 1 vanishing mid-exchange over TCP. */
    REQUIRE(fss_peer_listener_new(&l, LOOPBACK, 0) == FSS_OK);
    job j2 = {.op = OP_CONNECT, .port = fss_peer_listener_port(l), .secs = 10};
    job_start(&j2);
    st = fss_peer_accept(l, &a, 10);
    CHECK(st == FSS_OK, "accept: %s", fss_peer_error(NULL));
    CHECK(job_wait(&j2) == FSS_OK, "connect: %s", j2.err);
    fss_peer_listener_free(l);
    if (a && j2.p) {
        uint8_t *buf = calloc(1, BIG), small[100];
        REQUIRE(buf);
        job jr = {.op = OP_READ_THEN_CLOSE, .p = j2.p, .recv = small, .recv_bytes = sizeof small};
        job_start(&jr);
        st = fss_peer_exchange(a, buf, BIG, buf, 16);
        CHECK(job_wait(&jr) == FSS_OK, "tcp reader: %s", jr.err);
        CHECK(st == FSS_E_IO && has(fss_peer_error(a), "peer closed the connection"),
              "tcp closed mid-exchange: got %d: %s", (int)st, fss_peer_error(a));
        free(buf);
        j2.p = NULL;
    }
    fss_peer_close(a);
    fss_peer_close(j2.p);
}

int main(void)
{
    fss_rng *rng = check_init("test_transport");
    double t0 = now_s();

    fss_peer *a = NULL, *b = NULL;
    REQUIRE(fss_peer_pair(&a, &b) == FSS_OK);
    test_handshake(a, b, rng, "pair");
    test_exchanges(a, b, rng, "pair");
    fss_peer_close(a);
    fss_peer_close(b);

    test_handshake_refusals(rng);
    test_peer_gone();
    test_tcp(rng);

    printf("took %.2f s\n", now_s() - t0);
    fss_rng_free(rng);
    return check_summary();
}
