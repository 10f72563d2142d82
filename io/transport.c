/* The peer transport: TCP or a socketpair, nonblocking sockets driven by poll().
 *
 * Why nonblocking and full duplex: in every round both parties send their share and
 * then need the other's. With blocking send-then-recv, two messages larger than the
 * kernel's socket buffers deadlock (each side blocks in send, neither reads). One poll
 * loop that writes when the socket can take bytes and reads when bytes are there moves
 * both directions at once, whatever the sizes. */
#include "transport_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The calling thread's last message, for calls that fail before a peer exists. */
static _Thread_local char last_err[ERR_BYTES];

static void set_error(fss_peer *p, const char *fmt, va_list ap)
{
    (void)fss_verrorf(last_err, sizeof last_err, FSS_OK, fmt, ap);
    if (p)
        memcpy(p->err, last_err, sizeof p->err);
}

fss_status fss_tp_fail(fss_peer *p, fss_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_error(p, fmt, ap);
    va_end(ap);
    return s;
}

/* A transfer failed midway: the stream is out of step for good. */
FSS_PRINTF(2, 3) static fss_status fail_broken(fss_peer *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_error(p, fmt, ap);
    va_end(ap);
    p->broken = 1;
    return FSS_E_IO;
}

double fss_tp_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void fss_tp_sleep(double s)
{
    if (s <= 0)
        return;
    struct timespec ts;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL); /* an early wake-up only shortens one retry pause */
}

int fss_tp_poll_ms(double left)
{
    if (isinf(left))
        return -1;
    if (left <= 0)
        return 0;
    double ms = left * 1000.0 + 1.0;
    return ms >= (double)INT_MAX ? INT_MAX : (int)ms;
}

void fss_tp_format_where(char *buf, size_t n, const char *host, int port)
{
    if (!host || !*host)
        snprintf(buf, n, "*:%d", port);
    else if (strchr(host, ':'))
        snprintf(buf, n, "[%s]:%d", host, port); /* IPv6 literal */
    else
        snprintf(buf, n, "%s:%d", host, port);
}

int fss_tp_set_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

fss_status fss_tp_peer_from_fd(fss_peer **out, int fd, int tcp)
{
    int one = 1;
    /* Rounds are latency bound: a share must leave now, not wait for Nagle. */
    if (tcp && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) {
        int e = errno;
        close(fd);
        return fss_tp_fail(NULL, FSS_E_IO, "cannot set TCP_NODELAY: %s", strerror(e));
    }
    if (fss_tp_set_nonblocking(fd) != 0) {
        int e = errno;
        close(fd);
        return fss_tp_fail(NULL, FSS_E_IO, "cannot make the socket nonblocking: %s", strerror(e));
    }
    fss_peer *p = calloc(1, sizeof *p);
    if (!p) {
        close(fd);
        return fss_tp_fail(NULL, FSS_E_NOMEM, "out of memory for a peer");
    }
    p->fd = fd;
    p->timeout_s = FSS_PEER_DEFAULT_TIMEOUT_S;
    *out = p;
    return FSS_OK;
}

void fss_peer_close(fss_peer *p)
{
    if (!p)
        return;
    fss_tp_tls_free(p);
    close(p->fd);
    fss_free_wiped(p, sizeof *p);
}

void fss_peer_set_deadline(fss_peer *p, double seconds)
{
    if (p)
        p->deadline = seconds > 0 ? fss_tp_now() + seconds : 0;
}

fss_status fss_peer_set_timeout(fss_peer *p, double seconds)
{
    if (!p)
        return fss_tp_fail(NULL, FSS_E_ARG, "fss_peer_set_timeout: peer is NULL");
    if (!(seconds > 0))
        return fss_tp_fail(p, FSS_E_ARG, "timeout %g s must be positive", seconds);
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
    if (p->ssl)
        return fss_tp_transfer_tls(p, sbuf, sn, rbuf, rn);
    size_t s = 0, r = 0;
    double last_progress = fss_tp_now();
    while (s < sn || r < rn) {
        double left = last_progress + p->timeout_s - fss_tp_now();
        if (p->deadline > 0 && p->deadline - fss_tp_now() < left) {
            left = p->deadline - fss_tp_now();
            if (left <= 0)
                return fail_broken(p, "the peer did not finish in time (sent %zu of %zu bytes, received %zu of %zu)",
                                   s, sn, r, rn);
        }
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
        int k = poll(&pfd, 1, fss_tp_poll_ms(left));
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
            last_progress = fss_tp_now();
    }
    return FSS_OK;
}

fss_status fss_peer_exchange(fss_peer *p, const void *send_buf, size_t send_bytes, void *recv_buf,
                             size_t recv_bytes)
{
    if (!p)
        return fss_tp_fail(NULL, FSS_E_ARG, "fss_peer_exchange: peer is NULL");
    if ((!send_buf && send_bytes) || (!recv_buf && recv_bytes))
        return fss_tp_fail(p, FSS_E_ARG, "fss_peer_exchange: NULL buffer with a nonzero size");
    fss_status st = transfer(p, send_buf, send_bytes, recv_buf, recv_bytes);
    if (st == FSS_OK)
        p->rounds++;
    return st;
}

fss_status fss_peer_send(fss_peer *p, const void *buf, size_t bytes)
{
    if (!p)
        return fss_tp_fail(NULL, FSS_E_ARG, "fss_peer_send: peer is NULL");
    if (!buf && bytes)
        return fss_tp_fail(p, FSS_E_ARG, "fss_peer_send: NULL buffer with a nonzero size");
    return transfer(p, buf, bytes, NULL, 0);
}

fss_status fss_peer_recv(fss_peer *p, void *buf, size_t bytes)
{
    if (!p)
        return fss_tp_fail(NULL, FSS_E_ARG, "fss_peer_recv: peer is NULL");
    if (!buf && bytes)
        return fss_tp_fail(p, FSS_E_ARG, "fss_peer_recv: NULL buffer with a nonzero size");
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
        return fss_tp_fail(NULL, FSS_E_ARG, "fss_peer_handshake: peer is NULL");
    if (!mine)
        return fss_tp_fail(p, FSS_E_ARG, "fss_peer_handshake: no hello given");
    if (mine->party > 1)
        return fss_tp_fail(p, FSS_E_ARG, "this party's id is %u; it must be 0 or 1", mine->party);

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
        return fss_tp_fail(p, FSS_E_FORMAT,
                    "the peer did not send an fsskit hello (magic %s, expected %s): is something else on that port?",
                    b, a);
    }
    if (t.version != mine->version)
        return fss_tp_fail(p, FSS_E_FORMAT,
                    "protocol versions differ: this party speaks %u, the peer %u: run the same fsskit release on "
                    "both sides",
                    mine->version, t.version);
    if (t.party > 1)
        return fss_tp_fail(p, FSS_E_FORMAT, "the peer claims to be party %u; it must be 0 or 1", t.party);
    if (t.party == mine->party)
        return fss_tp_fail(p, FSS_E_FORMAT, "both parties are party %u: was party %u given p%u.bin?", mine->party,
                    1 - mine->party, mine->party);
    if (memcmp(t.run_id, mine->run_id, FSS_PEER_RUN_ID_BYTES) != 0) {
        hex(a, mine->run_id, FSS_PEER_RUN_ID_BYTES);
        hex(b, t.run_id, FSS_PEER_RUN_ID_BYTES);
        return fss_tp_fail(p, FSS_E_FORMAT,
                    "run ids differ (this party %s, the peer %s): the two parties hold keys of different dealer "
                    "runs; give them p0.bin and p1.bin of one run",
                    a, b);
    }
    if (memcmp(t.fingerprint, mine->fingerprint, FSS_PEER_FINGERPRINT_BYTES) != 0) {
        hex(a, mine->fingerprint, FSS_PEER_FINGERPRINT_BYTES);
        hex(b, t.fingerprint, FSS_PEER_FINGERPRINT_BYTES);
        return fss_tp_fail(p, FSS_E_FORMAT,
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
    if (!p)
        return;
    p->sent = p->received = p->rounds = 0;
    if (p->ssl)
        fss_tp_tls_rebase(p);
}

const char *fss_peer_error(const fss_peer *p) { return p ? p->err : last_err; }
