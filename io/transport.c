/* The peer transport: TCP or a socketpair, nonblocking sockets driven by poll().
 *
 * Why nonblocking and full duplex: in every round both parties send their share and
 * then need the other's. With blocking send-then-recv, two messages larger than the
 * kernel's socket buffers deadlock (each side blocks in send, neither reads). One poll
 * loop that writes when the socket can take bytes and reads when bytes are there moves
 * both directions at once, whatever the sizes. */
#include "fss/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ERR_BYTES 512
#define WHERE_BYTES 320

FSS_STATIC_ASSERT(FSS_PEER_MAGIC_BYTES + 4 + 4 + FSS_PEER_RUN_ID_BYTES + FSS_PEER_FINGERPRINT_BYTES ==
                      FSS_PEER_HELLO_BYTES,
                  "the hello is 64 bytes on the wire");

struct fss_peer {
    int fd;
    int broken; /* an earlier transfer failed midway: the stream is out of step */
    double timeout_s;
    uint64_t sent, received, rounds;
    char err[ERR_BYTES];
};

struct fss_peer_listener {
    int fd;
    int port;
    char where[WHERE_BYTES];
};

/* The calling thread's last message, for calls that fail before a peer exists. */
static _Thread_local char last_err[ERR_BYTES];

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

static void set_error(fss_peer *p, const char *fmt, va_list ap)
{
    vsnprintf(last_err, sizeof last_err, fmt, ap);
    if (p)
        memcpy(p->err, last_err, sizeof p->err);
}

PRINTF_LIKE(3, 4) static fss_status fail(fss_peer *p, fss_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_error(p, fmt, ap);
    va_end(ap);
    return s;
}

/* A transfer failed midway: the stream is out of step for good. */
PRINTF_LIKE(2, 3) static fss_status fail_broken(fss_peer *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_error(p, fmt, ap);
    va_end(ap);
    p->broken = 1;
    return FSS_E_IO;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_s(double s)
{
    if (s <= 0)
        return;
    struct timespec ts;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL); /* an early wake-up only shortens one retry pause */
}

/* poll()'s timeout for `left` seconds: rounded up, so a wait never ends early. */
static int poll_ms(double left)
{
    if (isinf(left))
        return -1;
    if (left <= 0)
        return 0;
    double ms = left * 1000.0 + 1.0;
    return ms >= (double)INT_MAX ? INT_MAX : (int)ms;
}

static void format_where(char *buf, size_t n, const char *host, int port)
{
    if (!host || !*host)
        snprintf(buf, n, "*:%d", port);
    else if (strchr(host, ':'))
        snprintf(buf, n, "[%s]:%d", host, port); /* IPv6 literal */
    else
        snprintf(buf, n, "%s:%d", host, port);
}

static int set_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Wrap a connected socket. Closes fd on failure. */
static fss_status peer_from_fd(fss_peer **out, int fd, int tcp)
{
    int one = 1;
    /* Rounds are latency bound: a share must leave now, not wait for Nagle. */
    if (tcp && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) {
        int e = errno;
        close(fd);
        return fail(NULL, FSS_E_IO, "cannot set TCP_NODELAY: %s", strerror(e));
    }
    if (set_nonblocking(fd) != 0) {
        int e = errno;
        close(fd);
        return fail(NULL, FSS_E_IO, "cannot make the socket nonblocking: %s", strerror(e));
    }
    fss_peer *p = calloc(1, sizeof *p);
    if (!p) {
        close(fd);
        return fail(NULL, FSS_E_NOMEM, "out of memory for a peer");
    }
    p->fd = fd;
    p->timeout_s = FSS_PEER_DEFAULT_TIMEOUT_S;
    *out = p;
    return FSS_OK;
}

static int bad_seconds(double s) { return !(s >= 0); } /* negative or NaN */

/* --- party 0 -------------------------------------------------------------------------- */

fss_status fss_peer_listener_new(fss_peer_listener **out, const char *host, int port)
{
    if (!out)
        return fail(NULL, FSS_E_ARG, "fss_peer_listener_new: out is NULL");
    *out = NULL;
    if (port < 0 || port > 65535)
        return fail(NULL, FSS_E_ARG, "port %d is out of range (0 to 65535)", port);
    char where[WHERE_BYTES], service[16];
    format_where(where, sizeof where, host, port);
    snprintf(service, sizeof service, "%d", port);

    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int rc = getaddrinfo(host && *host ? host : NULL, service, &hints, &res);
    if (rc != 0)
        return fail(NULL, FSS_E_IO, "cannot resolve %s: %s", where, gai_strerror(rc));

    int fd = -1, err = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        /* A restarted party 0 must not wait out TIME_WAIT of its last run. */
        int one = 1;
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
            bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1) == 0 && set_nonblocking(fd) == 0)
            break;
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return fail(NULL, FSS_E_IO, "cannot listen on %s: %s", where, strerror(err));

    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
        err = errno;
        close(fd);
        return fail(NULL, FSS_E_IO, "cannot read the address of the socket on %s: %s", where, strerror(err));
    }
    int bound = port;
    if (ss.ss_family == AF_INET)
        bound = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    else if (ss.ss_family == AF_INET6)
        bound = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);

    fss_peer_listener *l = calloc(1, sizeof *l);
    if (!l) {
        close(fd);
        return fail(NULL, FSS_E_NOMEM, "out of memory for a listener");
    }
    l->fd = fd;
    l->port = bound;
    format_where(l->where, sizeof l->where, host, bound);
    *out = l;
    return FSS_OK;
}

int fss_peer_listener_port(const fss_peer_listener *l) { return l ? l->port : -1; }

void fss_peer_listener_free(fss_peer_listener *l)
{
    if (!l)
        return;
    close(l->fd);
    free(l);
}

fss_status fss_peer_accept(fss_peer_listener *l, fss_peer **out, double timeout_s)
{
    if (!l || !out)
        return fail(NULL, FSS_E_ARG, "fss_peer_accept: listener or out is NULL");
    *out = NULL;
    if (bad_seconds(timeout_s))
        return fail(NULL, FSS_E_ARG, "accept timeout %g s is not a nonnegative number", timeout_s);
    double deadline = now_s() + timeout_s;
    for (;;) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0)
            return peer_from_fd(out, fd, 1);
        /* A connection that died in the backlog, or a signal: wait for the next one. */
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED &&
            errno != EPROTO)
            return fail(NULL, FSS_E_IO, "accept on %s failed: %s", l->where, strerror(errno));
        double left = deadline - now_s();
        if (left <= 0)
            return fail(NULL, FSS_E_IO, "no peer connected to %s within %g s", l->where, timeout_s);
        struct pollfd pfd = {.fd = l->fd, .events = POLLIN};
        if (poll(&pfd, 1, poll_ms(left)) < 0 && errno != EINTR)
            return fail(NULL, FSS_E_IO, "poll on %s failed: %s", l->where, strerror(errno));
    }
}

fss_status fss_peer_listen(fss_peer **out, const char *host, int port, double timeout_s)
{
    if (!out)
        return fail(NULL, FSS_E_ARG, "fss_peer_listen: out is NULL");
    *out = NULL;
    fss_peer_listener *l = NULL;
    fss_status st = fss_peer_listener_new(&l, host, port);
    if (st != FSS_OK)
        return st;
    st = fss_peer_accept(l, out, timeout_s);
    fss_peer_listener_free(l);
    return st;
}

/* --- party 1 -------------------------------------------------------------------------- */

/* A connection to oneself: on Linux a connect to a free port in the ephemeral range can
 * pick that very port as its source and open to itself (TCP simultaneous open). */
static int is_self_connection(int fd)
{
    struct sockaddr_storage a, b;
    socklen_t la = sizeof a, lb = sizeof b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    if (getsockname(fd, (struct sockaddr *)&a, &la) != 0 || getpeername(fd, (struct sockaddr *)&b, &lb) != 0)
        return 0;
    return la == lb && memcmp(&a, &b, la) == 0;
}

/* One attempt on one address, waiting until the deadline (at least one retry period).
 * Returns the connected socket, or -1 with why in last. */
static int try_connect(const struct addrinfo *ai, double deadline, char *last, size_t last_n)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) {
        snprintf(last, last_n, "socket: %s", strerror(errno));
        return -1;
    }
    int err = 0;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno != EINPROGRESS) {
            err = errno;
        } else {
            double left = deadline - now_s();
            if (left < FSS_PEER_RETRY_MS / 1000.0)
                left = FSS_PEER_RETRY_MS / 1000.0;
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            int k;
            do {
                k = poll(&pfd, 1, poll_ms(left));
            } while (k < 0 && errno == EINTR);
            if (k == 0) {
                err = ETIMEDOUT;
            } else if (k < 0) {
                err = errno;
            } else {
                socklen_t len = sizeof err;
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
                    err = errno;
            }
        }
    }
    if (err == 0 && is_self_connection(fd)) {
        snprintf(last, last_n, "connected to itself (no listener on the port)");
        close(fd);
        return -1;
    }
    if (err != 0) {
        snprintf(last, last_n, "%s", strerror(err));
        close(fd);
        return -1;
    }
    return fd;
}

fss_status fss_peer_connect(fss_peer **out, const char *host, int port, double retry_s)
{
    if (!out)
        return fail(NULL, FSS_E_ARG, "fss_peer_connect: out is NULL");
    *out = NULL;
    if (!host || !*host)
        return fail(NULL, FSS_E_ARG, "fss_peer_connect: no host given");
    if (port <= 0 || port > 65535)
        return fail(NULL, FSS_E_ARG, "port %d is out of range (1 to 65535)", port);
    if (bad_seconds(retry_s))
        return fail(NULL, FSS_E_ARG, "retry window %g s is not a nonnegative number", retry_s);
    char where[WHERE_BYTES], service[16], last[256] = "no attempt made";
    format_where(where, sizeof where, host, port);
    snprintf(service, sizeof service, "%d", port);

    double deadline = now_s() + retry_s;
    for (;;) {
        struct addrinfo hints, *res = NULL;
        memset(&hints, 0, sizeof hints);
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_NUMERICSERV;
        int rc = getaddrinfo(host, service, &hints, &res);
        if (rc == 0) {
            for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
                int fd = try_connect(ai, deadline, last, sizeof last);
                if (fd >= 0) {
                    freeaddrinfo(res);
                    return peer_from_fd(out, fd, 1);
                }
            }
            freeaddrinfo(res);
        } else if (rc == EAI_AGAIN) {
            snprintf(last, sizeof last, "cannot resolve %s: %s", host, gai_strerror(rc));
        } else {
            return fail(NULL, FSS_E_IO, "cannot resolve %s: %s", host, gai_strerror(rc));
        }
        double left = deadline - now_s();
        if (left <= 0)
            break;
        sleep_s(left < FSS_PEER_RETRY_MS / 1000.0 ? left : FSS_PEER_RETRY_MS / 1000.0);
    }
    return fail(NULL, FSS_E_IO, "could not connect to %s within %g s: is party 0 running? (last error: %s)",
                where, retry_s, last);
}

fss_status fss_peer_pair(fss_peer **a, fss_peer **b)
{
    if (!a || !b)
        return fail(NULL, FSS_E_ARG, "fss_peer_pair: a or b is NULL");
    *a = *b = NULL;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return fail(NULL, FSS_E_IO, "socketpair failed: %s", strerror(errno));
    fss_status st = peer_from_fd(a, sv[0], 0);
    if (st != FSS_OK) {
        close(sv[1]);
        return st;
    }
    st = peer_from_fd(b, sv[1], 0);
    if (st != FSS_OK) {
        fss_peer_close(*a);
        *a = NULL;
    }
    return st;
}

void fss_peer_close(fss_peer *p)
{
    if (!p)
        return;
    close(p->fd);
    free(p);
}

fss_status fss_peer_set_timeout(fss_peer *p, double seconds)
{
    if (!p)
        return fail(NULL, FSS_E_ARG, "fss_peer_set_timeout: peer is NULL");
    if (!(seconds > 0))
        return fail(p, FSS_E_ARG, "timeout %g s must be positive", seconds);
    p->timeout_s = seconds;
    return FSS_OK;
}

/* --- moving bytes --------------------------------------------------------------------- */

static int would_block(int e) { return e == EAGAIN || e == EWOULDBLOCK || e == EINTR; }

/* Send sn bytes and receive rn bytes, whichever the socket is ready for, until both are
 * done. Fails after timeout_s with no byte moving either way. */
static fss_status transfer(fss_peer *p, const uint8_t *sbuf, size_t sn, uint8_t *rbuf, size_t rn)
{
    if (p->broken) {
        memcpy(last_err, p->err, sizeof last_err); /* the cause stays p's message */
        return FSS_E_IO;
    }
    size_t s = 0, r = 0;
    double last_progress = now_s();
    while (s < sn || r < rn) {
        double left = last_progress + p->timeout_s - now_s();
        if (left <= 0)
            return fail_broken(p,
                               "no progress from the peer for %g s (sent %zu of %zu bytes, received %zu of %zu): "
                               "is the other party still running?",
                               p->timeout_s, s, sn, r, rn);
        struct pollfd pfd = {.fd = p->fd, .events = 0};
        if (s < sn)
            pfd.events |= POLLOUT;
        if (r < rn)
            pfd.events |= POLLIN;
        int k = poll(&pfd, 1, poll_ms(left));
        if (k < 0 && errno != EINTR)
            return fail_broken(p, "poll failed: %s", strerror(errno));
        if (k <= 0)
            continue; /* the deadline check above decides */
        if (pfd.revents & POLLNVAL)
            return fail_broken(p, "the socket is closed (poll: invalid descriptor)");
        int moved = 0;
        /* Read first: when the peer hung up, its last bytes are still in our buffer. */
        if (r < rn && (pfd.revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t got = recv(p->fd, rbuf + r, rn - r, 0);
            if (got > 0) {
                r += (size_t)got;
                p->received += (uint64_t)got;
                moved = 1;
            } else if (got == 0) {
                return fail_broken(p, "peer closed the connection after receiving %zu of %zu bytes", r, rn);
            } else if (errno == ECONNRESET) {
                return fail_broken(p, "peer closed the connection (%s) after receiving %zu of %zu bytes",
                                   strerror(errno), r, rn);
            } else if (!would_block(errno)) {
                return fail_broken(p, "receive failed after %zu of %zu bytes: %s", r, rn, strerror(errno));
            }
        }
        if (s < sn && (pfd.revents & (POLLOUT | POLLHUP | POLLERR))) {
            /* MSG_NOSIGNAL: a vanished peer is EPIPE here, not a SIGPIPE that kills us. */
            ssize_t put = send(p->fd, sbuf + s, sn - s, MSG_NOSIGNAL);
            if (put > 0) {
                s += (size_t)put;
                p->sent += (uint64_t)put;
                moved = 1;
            } else if (put < 0 && (errno == EPIPE || errno == ECONNRESET)) {
                return fail_broken(p, "peer closed the connection (%s) after this party sent %zu of %zu bytes",
                                   strerror(errno), s, sn);
            } else if (put < 0 && !would_block(errno)) {
                return fail_broken(p, "send failed after %zu of %zu bytes: %s", s, sn, strerror(errno));
            }
        }
        if (moved)
            last_progress = now_s();
    }
    return FSS_OK;
}

fss_status fss_peer_exchange(fss_peer *p, const void *send_buf, size_t send_bytes, void *recv_buf,
                             size_t recv_bytes)
{
    if (!p)
        return fail(NULL, FSS_E_ARG, "fss_peer_exchange: peer is NULL");
    if ((!send_buf && send_bytes) || (!recv_buf && recv_bytes))
        return fail(p, FSS_E_ARG, "fss_peer_exchange: NULL buffer with a nonzero size");
    fss_status st = transfer(p, send_buf, send_bytes, recv_buf, recv_bytes);
    if (st == FSS_OK)
        p->rounds++;
    return st;
}

fss_status fss_peer_send(fss_peer *p, const void *buf, size_t bytes)
{
    if (!p)
        return fail(NULL, FSS_E_ARG, "fss_peer_send: peer is NULL");
    if (!buf && bytes)
        return fail(p, FSS_E_ARG, "fss_peer_send: NULL buffer with a nonzero size");
    return transfer(p, buf, bytes, NULL, 0);
}

fss_status fss_peer_recv(fss_peer *p, void *buf, size_t bytes)
{
    if (!p)
        return fail(NULL, FSS_E_ARG, "fss_peer_recv: peer is NULL");
    if (!buf && bytes)
        return fail(p, FSS_E_ARG, "fss_peer_recv: NULL buffer with a nonzero size");
    return transfer(p, NULL, 0, buf, bytes);
}

void fss_peer_count_round(fss_peer *p)
{
    if (p)
        p->rounds++;
}

/* --- handshake ------------------------------------------------------------------------ */

static void put_u32(uint8_t *o, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        o[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *in)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)in[i] << (8 * i);
    return v;
}

static void hex(char *out, const uint8_t *in, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = 0;
}

fss_status fss_peer_handshake(fss_peer *p, const fss_peer_hello *mine, fss_peer_hello *theirs)
{
    if (!p)
        return fail(NULL, FSS_E_ARG, "fss_peer_handshake: peer is NULL");
    if (!mine)
        return fail(p, FSS_E_ARG, "fss_peer_handshake: no hello given");
    if (mine->party > 1)
        return fail(p, FSS_E_ARG, "this party's id is %u; it must be 0 or 1", mine->party);

    enum { V = FSS_PEER_MAGIC_BYTES, P = V + 4, R = P + 4, F = R + FSS_PEER_RUN_ID_BYTES };
    uint8_t out[FSS_PEER_HELLO_BYTES], in[FSS_PEER_HELLO_BYTES];
    memcpy(out, FSS_PEER_MAGIC, FSS_PEER_MAGIC_BYTES);
    put_u32(out + V, mine->version);
    put_u32(out + P, mine->party);
    memcpy(out + R, mine->run_id, FSS_PEER_RUN_ID_BYTES);
    memcpy(out + F, mine->fingerprint, FSS_PEER_FINGERPRINT_BYTES);
    fss_status st = transfer(p, out, sizeof out, in, sizeof in);
    if (st != FSS_OK)
        return st;

    fss_peer_hello t;
    t.version = get_u32(in + V);
    t.party = get_u32(in + P);
    memcpy(t.run_id, in + R, FSS_PEER_RUN_ID_BYTES);
    memcpy(t.fingerprint, in + F, FSS_PEER_FINGERPRINT_BYTES);
    if (theirs)
        *theirs = t;

    char a[2 * FSS_PEER_FINGERPRINT_BYTES + 1], b[2 * FSS_PEER_FINGERPRINT_BYTES + 1];
    if (memcmp(in, FSS_PEER_MAGIC, FSS_PEER_MAGIC_BYTES) != 0) {
        hex(b, in, FSS_PEER_MAGIC_BYTES);
        hex(a, out, FSS_PEER_MAGIC_BYTES);
        return fail(p, FSS_E_FORMAT,
                    "the peer did not send an fsskit hello (magic %s, expected %s): is something else on that port?",
                    b, a);
    }
    if (t.version != mine->version)
        return fail(p, FSS_E_FORMAT,
                    "protocol versions differ: this party speaks %u, the peer %u: run the same fsskit release on "
                    "both sides",
                    mine->version, t.version);
    if (t.party > 1)
        return fail(p, FSS_E_FORMAT, "the peer claims to be party %u; it must be 0 or 1", t.party);
    if (t.party == mine->party)
        return fail(p, FSS_E_FORMAT, "both parties are party %u: was party %u given p%u.bin?", mine->party,
                    1 - mine->party, mine->party);
    if (memcmp(t.run_id, mine->run_id, FSS_PEER_RUN_ID_BYTES) != 0) {
        hex(a, mine->run_id, FSS_PEER_RUN_ID_BYTES);
        hex(b, t.run_id, FSS_PEER_RUN_ID_BYTES);
        return fail(p, FSS_E_FORMAT,
                    "run ids differ (this party %s, the peer %s): the two parties hold keys of different dealer "
                    "runs; give them p0.bin and p1.bin of one run",
                    a, b);
    }
    if (memcmp(t.fingerprint, mine->fingerprint, FSS_PEER_FINGERPRINT_BYTES) != 0) {
        hex(a, mine->fingerprint, FSS_PEER_FINGERPRINT_BYTES);
        hex(b, t.fingerprint, FSS_PEER_FINGERPRINT_BYTES);
        return fail(p, FSS_E_FORMAT,
                    "model fingerprints differ (this party %s, the peer %s): different models or ring parameters",
                    a, b);
    }
    return FSS_OK;
}

/* --- counters and messages ------------------------------------------------------------ */

uint64_t fss_peer_bytes_sent(const fss_peer *p) { return p ? p->sent : 0; }
uint64_t fss_peer_bytes_received(const fss_peer *p) { return p ? p->received : 0; }
uint64_t fss_peer_rounds(const fss_peer *p) { return p ? p->rounds : 0; }

void fss_peer_reset_counters(fss_peer *p)
{
    if (p)
        p->sent = p->received = p->rounds = 0;
}

const char *fss_peer_error(const fss_peer *p) { return p ? p->err : last_err; }
