/* The peer transport: exchanges of boundary and large sizes over a socketpair and over
 * TCP loopback (both directions at once, the deadlock case included), byte and round
 * counters, the handshake and each refusal, a peer that vanishes mid-exchange, a silent
 * peer, and the connect retry window. The TLS channel: the same exchanges encrypted, wire
 * counts equal on both ends, another run's secret or identity refused, a plain peer
 * refused, and one flipped bit on the path (a relay in the middle) stopping both ends.
 * Loopback addresses only. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "fss/transport.h"

#define KIB ((size_t)1024)
#define MIB (KIB * KIB)
#define BIG (16 * MIB)
#define LOOPBACK "127.0.0.1"

/* --- one party's call on its own thread ----------------------------------------------- */

typedef enum op { OP_EXCHANGE, OP_SEND, OP_RECV, OP_HANDSHAKE, OP_CONNECT, OP_READ_THEN_CLOSE, OP_SECURE } op;

typedef struct job {
    op op;
    fss_peer *p;
    const void *send;
    size_t send_bytes;
    void *recv;
    size_t recv_bytes;
    fss_peer_hello mine, theirs;
    uint8_t secret[FSS_PEER_SECRET_BYTES], id[FSS_PEER_RUN_ID_BYTES]; /* OP_SECURE, as the client */
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
    case OP_SECURE: j->st = fss_peer_secure(j->p, 0, j->secret, j->id, NULL); break;
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
    /* encrypted: one TLS 1.3 record, 5 bytes of header, the content type and a 16-byte tag */
    const uint64_t wire = FSS_PEER_HELLO_BYTES + (fss_peer_is_secure(a) ? 22 : 0);
    CHECK(fss_peer_bytes_sent(a) == wire && fss_peer_bytes_received(a) == wire && fss_peer_rounds(a) == 0,
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
    char want_a[64], want_b[64];
    snprintf(want_a, sizeof want_a, "this party speaks %u, the peer %u", FSS_PEER_PROTOCOL_VERSION,
             FSS_PEER_PROTOCOL_VERSION + 1);
    snprintf(want_b, sizeof want_b, "this party speaks %u, the peer %u", FSS_PEER_PROTOCOL_VERSION + 1,
             FSS_PEER_PROTOCOL_VERSION);
    expect_refused(&h0, &x, want_a, want_b, "version");

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

/* --- the TLS channel ------------------------------------------------------------------ */

/* a (the server, here) and b (the client, on a thread) turn their connection into TLS with
 * these secrets and identities; returns a's status, b's in *st_b with its message. */
static fss_status secure_pair(fss_peer *a, fss_peer *b, const uint8_t *secret_a, const uint8_t *id_a,
                              const uint8_t *secret_b, const uint8_t *id_b, fss_status *st_b, char *err_b, size_t n)
{
    job jb = {.op = OP_SECURE, .p = b};
    memcpy(jb.secret, secret_b, sizeof jb.secret);
    memcpy(jb.id, id_b, sizeof jb.id);
    job_start(&jb);
    fss_status st = fss_peer_secure(a, 1, secret_a, id_a, NULL);
    *st_b = job_wait(&jb);
    snprintf(err_b, n, "%s", jb.err);
    return st;
}

/* The same exchanges as in the clear, encrypted: bytes arrive intact, each end's wire
 * count is what the other received, and the overhead is a record's header and tag. */
static void test_tls_exchanges(fss_peer *a, fss_peer *b, fss_rng *rng, const char *what)
{
    bufs m = {malloc(BIG), malloc(BIG), malloc(BIG), malloc(BIG)};
    REQUIRE(m.sa && m.sb && m.ra && m.rb);
    uint64_t a0 = fss_peer_bytes_sent(a), payload = 0;
    static const size_t sizes[][2] = {{0, 0}, {1, 1}, {7, 64 * KIB}, {BIG, BIG}, {MIB + 3, 5}, {0, 9}, {13, 0}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        exchange_once(a, b, rng, &m, sizes[i][0], sizes[i][1], what);
        payload += sizes[i][0];
    }
    CHECK(fss_peer_bytes_sent(a) == fss_peer_bytes_received(b) && fss_peer_bytes_sent(b) == fss_peer_bytes_received(a),
          "%s: wire counts differ: a sent %llu, b received %llu; b sent %llu, a received %llu", what,
          (unsigned long long)fss_peer_bytes_sent(a), (unsigned long long)fss_peer_bytes_received(b),
          (unsigned long long)fss_peer_bytes_sent(b), (unsigned long long)fss_peer_bytes_received(a));
    uint64_t wire = fss_peer_bytes_sent(a) - a0;
    CHECK(wire > payload && wire < payload + payload / 500 + 2 * KIB, "%s: %llu bytes on the wire for %llu of payload",
          what, (unsigned long long)wire, (unsigned long long)payload);
    free(m.sa);
    free(m.sb);
    free(m.ra);
    free(m.rb);
}

/* A man in the middle: copies bytes between its two sockets, flipping one bit of the
 * client-to-server stream at byte flip_at (never, when 0). */
typedef struct relay {
    int from, to;
    uint64_t flip_at;
    pthread_t th;
} relay;

static void *relay_run(void *arg)
{
    relay *r = arg;
    uint8_t buf[4096];
    uint64_t at = 0;
    for (;;) {
        ssize_t k = read(r->from, buf, sizeof buf);
        if (k <= 0)
            break;
        if (r->flip_at && r->flip_at >= at && r->flip_at < at + (uint64_t)k)
            buf[r->flip_at - at] ^= 0x04;
        at += (uint64_t)k;
        for (ssize_t off = 0; off < k;) {
            ssize_t w = send(r->to, buf + off, (size_t)(k - off), MSG_NOSIGNAL);
            if (w <= 0)
                goto out;
            off += w;
        }
    }
out:
    shutdown(r->to, SHUT_WR);
    shutdown(r->from, SHUT_RD);
    return NULL;
}

/* A raw loopback socket connected to port, and one accepted on a fresh listener whose
 * port goes to *port_out after listen (accepted by relay_accept). */
static int raw_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, LOOPBACK, &sa.sin_addr);
    REQUIRE(fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    return fd;
}

static int raw_listen(int *port_out)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, LOOPBACK, &sa.sin_addr);
    socklen_t len = sizeof sa;
    REQUIRE(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(fd, 1) == 0 &&
            getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
    *port_out = ntohs(sa.sin_port);
    return fd;
}

/* a (party 0, server) <- relay -> b (party 1, client), over loopback TCP; the relay flips
 * one bit of the client's stream at flip_at. Both secure with the same secret, then
 * exchange BIG both ways: with a flip, both ends must fail with a message. */
static void test_tls_tamper(fss_rng *rng, uint64_t flip_at)
{
    uint8_t secret[FSS_PEER_SECRET_BYTES], id[FSS_PEER_RUN_ID_BYTES];
    REQUIRE(fss_rng_bytes(rng, secret, sizeof secret) == FSS_OK && fss_rng_bytes(rng, id, sizeof id) == FSS_OK);
    fss_peer_listener *l = NULL;
    REQUIRE(fss_peer_listener_new(&l, LOOPBACK, 0) == FSS_OK);
    int front_port = 0, lfd = raw_listen(&front_port);
    job jc = {.op = OP_CONNECT, .port = front_port, .secs = 10};
    job_start(&jc);
    int to_server = raw_connect(fss_peer_listener_port(l));
    fss_peer *a = NULL;
    REQUIRE(fss_peer_accept(l, &a, 10) == FSS_OK);
    int from_client = accept(lfd, NULL, NULL);
    REQUIRE(from_client >= 0 && job_wait(&jc) == FSS_OK);
    fss_peer *b = jc.p;
    relay up = {.from = from_client, .to = to_server, .flip_at = flip_at};
    relay down = {.from = to_server, .to = from_client};
    REQUIRE(pthread_create(&up.th, NULL, relay_run, &up) == 0 && pthread_create(&down.th, NULL, relay_run, &down) == 0);
    REQUIRE(fss_peer_set_timeout(a, 20) == FSS_OK && fss_peer_set_timeout(b, 20) == FSS_OK);

    fss_status st_b;
    char err_b[512];
    fss_status st_a = secure_pair(a, b, secret, id, secret, id, &st_b, err_b, sizeof err_b);
    if (flip_at == 0) {
        CHECK(st_a == FSS_OK && st_b == FSS_OK, "relay without a flip: %s / %s", fss_peer_error(a), err_b);
        test_tls_exchanges(a, b, rng, "tls through a relay");
    } else if (st_a == FSS_OK && st_b == FSS_OK) {
        uint8_t *sa = calloc(1, BIG), *ra = malloc(BIG), *sb = calloc(1, BIG), *rb = malloc(BIG);
        REQUIRE(sa && ra && sb && rb);
        job jb = {.op = OP_EXCHANGE, .p = b, .send = sb, .send_bytes = BIG, .recv = rb, .recv_bytes = BIG};
        job_start(&jb);
        st_a = fss_peer_exchange(a, sa, BIG, ra, BIG);
        char err_a[512];
        snprintf(err_a, sizeof err_a, "%s", fss_peer_error(a));
        /* the receiver stops as a real party does: its socket closes (its alert may not get
         * out while the sender fills the path), so the sender learns it at once */
        fss_peer_close(a);
        a = NULL;
        st_b = job_wait(&jb);
        CHECK(st_a == FSS_E_IO && st_b == FSS_E_IO, "a flipped bit at byte %llu went unnoticed: %d / %d",
              (unsigned long long)flip_at, (int)st_a, (int)st_b);
        CHECK(has(err_a, "encrypted channel failed") || has(err_a, "peer closed"), "the receiver's message: %s", err_a);
        CHECK(has(jb.err, "encrypted channel failed") || has(jb.err, "peer closed"), "the sender's message: %s", jb.err);
        free(sa);
        free(ra);
        free(sb);
        free(rb);
    } else { /* the flip hit the handshake: refused there, on both ends */
        CHECK(st_a != FSS_OK && st_b != FSS_OK, "a flip in the handshake failed one end only: %s / %s",
              fss_peer_error(a), err_b);
    }
    fss_peer_close(a);
    fss_peer_close(b);
    pthread_join(up.th, NULL);
    pthread_join(down.th, NULL);
    close(to_server);
    close(from_client);
    close(lfd);
    fss_peer_listener_free(l);
}

/* A plain TLS server with a self-signed certificate and no key of the run: it completes an
 * ordinary handshake if the client lets it. */
typedef struct cert_server {
    int lfd;
    pthread_t th;
} cert_server;

static void *cert_server_run(void *arg)
{
    cert_server *cs = arg;
    EVP_PKEY *pk = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    REQUIRE(pk && x && ctx);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, pk);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)"fake", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    REQUIRE(X509_sign(x, pk, EVP_sha256()) > 0 && SSL_CTX_use_certificate(ctx, x) == 1 &&
            SSL_CTX_use_PrivateKey(ctx, pk) == 1);
    int fd = accept(cs->lfd, NULL, NULL);
    SSL *ssl = fd >= 0 ? SSL_new(ctx) : NULL;
    if (ssl && SSL_set_fd(ssl, fd) == 1 && SSL_accept(ssl) == 1) { /* answer whatever comes */
        uint8_t buf[64];
        while (SSL_read(ssl, buf, sizeof buf) > 0)
            SSL_write(ssl, buf, sizeof buf);
    }
    SSL_free(ssl);
    if (fd >= 0)
        close(fd);
    SSL_CTX_free(ctx);
    X509_free(x);
    EVP_PKEY_free(pk);
    return NULL;
}

static void test_tls(fss_rng *rng)
{
    uint8_t secret[FSS_PEER_SECRET_BYTES], other[FSS_PEER_SECRET_BYTES], id[FSS_PEER_RUN_ID_BYTES],
        id2[FSS_PEER_RUN_ID_BYTES];
    REQUIRE(fss_rng_bytes(rng, secret, sizeof secret) == FSS_OK && fss_rng_bytes(rng, other, sizeof other) == FSS_OK);
    REQUIRE(fss_rng_bytes(rng, id, sizeof id) == FSS_OK);
    memcpy(id2, id, sizeof id);
    id2[15] ^= 1;
    fss_status st_b;
    char err_b[512];

    /* The right secret: a handshake, then the exchanges encrypted. */
    fss_peer *a = NULL, *b = NULL;
    REQUIRE(fss_peer_pair(&a, &b) == FSS_OK);
    fss_status st = secure_pair(a, b, secret, id, secret, id, &st_b, err_b, sizeof err_b);
    CHECK(st == FSS_OK && st_b == FSS_OK, "tls: %s / %s", fss_peer_error(a), err_b);
    CHECK(fss_peer_is_secure(a) && fss_peer_is_secure(b), "tls: not secure after the handshake");
    CHECK(fss_peer_secure(a, 1, secret, id, NULL) == FSS_E_ARG, "tls: secured twice");
    if (st == FSS_OK && st_b == FSS_OK) {
        test_handshake(a, b, rng, "tls");
        test_tls_exchanges(a, b, rng, "tls pair");
    }
    fss_peer_close(a);
    fss_peer_close(b);

    /* Another run's secret, another run's identity: refused on both ends. */
    for (int v = 0; v < 2; v++) {
        REQUIRE(fss_peer_pair(&a, &b) == FSS_OK);
        REQUIRE(fss_peer_set_timeout(a, 10) == FSS_OK && fss_peer_set_timeout(b, 10) == FSS_OK);
        st = secure_pair(a, b, secret, id, v ? secret : other, v ? id2 : id, &st_b, err_b, sizeof err_b);
        CHECK(st == FSS_E_FORMAT && has(fss_peer_error(a), "does not hold the other key file of this run"),
              "tls %s: server got %d: %s", v ? "identity" : "secret", (int)st, fss_peer_error(a));
        CHECK(st_b == FSS_E_FORMAT && has(err_b, "TLS handshake"), "tls %s: client got %d: %s",
              v ? "identity" : "secret", (int)st_b, err_b);
        CHECK(!fss_peer_is_secure(a) && !fss_peer_is_secure(b), "tls: secure after a refusal");
        fss_peer_close(a);
        fss_peer_close(b);
    }

    /* A plain peer (the old protocol's hello) against a TLS server: both refuse. */
    REQUIRE(fss_peer_pair(&a, &b) == FSS_OK);
    REQUIRE(fss_peer_set_timeout(a, 10) == FSS_OK && fss_peer_set_timeout(b, 10) == FSS_OK);
    job jb = {.op = OP_HANDSHAKE, .p = b, .mine = {.version = FSS_PEER_PROTOCOL_VERSION, .party = 1}};
    job_start(&jb);
    st = fss_peer_secure(a, 1, secret, id, NULL);
    CHECK(st == FSS_E_FORMAT, "a plain hello passed the TLS handshake: %d: %s", (int)st, fss_peer_error(a));
    fss_peer_close(a); /* so the plain side's wait for a hello ends */
    CHECK(job_wait(&jb) != FSS_OK, "the plain side went on");
    fss_peer_close(b);

    /* A server that ignores the key and shows a certificate instead: party 1 refuses it. */
    cert_server cs;
    int cport = 0;
    cs.lfd = raw_listen(&cport);
    REQUIRE(pthread_create(&cs.th, NULL, cert_server_run, &cs) == 0);
    fss_peer *c = NULL;
    REQUIRE(fss_peer_connect(&c, LOOPBACK, cport, 10) == FSS_OK && fss_peer_set_timeout(c, 10) == FSS_OK);
    st = fss_peer_secure(c, 0, secret, id, NULL);
    CHECK(st == FSS_E_FORMAT && !fss_peer_is_secure(c), "a certificate instead of the run's key was accepted: %d: %s",
          (int)st, fss_peer_error(c));
    fss_peer_close(c);
    pthread_join(cs.th, NULL);
    close(cs.lfd);

    /* A man in the middle: relays faithfully, then with one flipped bit in the handshake
     * and in the data. */
    test_tls_tamper(rng, 0);
    test_tls_tamper(rng, 100);
    test_tls_tamper(rng, 4000 + check_u64(rng) % (8 * MIB));
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
    test_tls(rng);

    printf("took %.2f s\n", now_s() - t0);
    fss_rng_free(rng);
    return check_summary();
}
