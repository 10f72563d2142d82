/* The peer transport's connection setup: party 0 listens and accepts, party 1 connects
 * with retries until a deadline (so start order does not matter), and in-process pairs
 * for tests. Sockets come out nonblocking (transport.c drives them). */
#include "transport_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* getaddrinfo for a stream socket at host:port (passive: every address when host is empty);
 * 0 or its error code. */
static int resolve(const char *host, int port, int passive, struct addrinfo **res)
{
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    return getaddrinfo(host && *host ? host : NULL, service, &hints, res);
}

/* --- party 0 -------------------------------------------------------------------------- */

fss_status fss_peer_listener_new(fss_peer_listener **out, const char *host, int port)
{
    if (!out)
        return fss_tp_fail(NULL, FSS_E_ARG, "fss_peer_listener_new: out is NULL");
    *out = NULL;
    if (port < 0 || port > 65535)
        return fss_tp_fail(NULL, FSS_E_ARG, "port %d is out of range (0 to 65535)", port);
    char where[WHERE_BYTES];
    fss_tp_format_where(where, sizeof where, host, port);
    struct addrinfo *res = NULL;
    int rc = resolve(host, port, 1, &res);
    if (rc != 0)
        return fss_tp_fail(NULL, FSS_E_IO, "cannot resolve %s: %s", where, gai_strerror(rc));

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
            bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1) == 0 && fss_tp_set_nonblocking(fd) == 0)
            break;
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return fss_tp_fail(NULL, FSS_E_IO, "cannot listen on %s: %s", where, strerror(err));

    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
        err = errno;
        close(fd);
        return fss_tp_fail(NULL, FSS_E_IO, "cannot read the address of the socket on %s: %s", where, strerror(err));
    }
    int bound = port;
    if (ss.ss_family == AF_INET)
        bound = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    else if (ss.ss_family == AF_INET6)
        bound = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);

    fss_peer_listener *l = calloc(1, sizeof *l);
    if (!l) {
        close(fd);
        return fss_tp_fail(NULL, FSS_E_NOMEM, "out of memory for a listener");
    }
    l->fd = fd;
    l->port = bound;
    fss_tp_format_where(l->where, sizeof l->where, host, bound);
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
        return fss_tp_fail(NULL, FSS_E_ARG, "fss_peer_accept: listener or out is NULL");
    *out = NULL;
    if (fss_tp_bad_seconds(timeout_s))
        return fss_tp_fail(NULL, FSS_E_ARG, "accept timeout %g s is not a nonnegative number", timeout_s);
    double deadline = fss_tp_now() + timeout_s;
    for (;;) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0)
            return fss_tp_peer_from_fd(out, fd, 1);
        /* A connection that died in the backlog, or a signal: wait for the next one. */
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED &&
            errno != EPROTO)
            return fss_tp_fail(NULL, FSS_E_IO, "accept on %s failed: %s", l->where, strerror(errno));
        double left = deadline - fss_tp_now();
        if (left <= 0)
            return fss_tp_fail(NULL, FSS_E_IO, "no peer connected to %s within %g s", l->where, timeout_s);
        struct pollfd pfd = {.fd = l->fd, .events = POLLIN};
        if (poll(&pfd, 1, fss_tp_poll_ms(left)) < 0 && errno != EINTR)
            return fss_tp_fail(NULL, FSS_E_IO, "poll on %s failed: %s", l->where, strerror(errno));
    }
}

fss_status fss_peer_listen(fss_peer **out, const char *host, int port, double timeout_s)
{
    if (!out)
        return fss_tp_fail(NULL, FSS_E_ARG, "fss_peer_listen: out is NULL");
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

fss_status fss_peer_check_address(const char *host, int port)
{
    if (!host || !*host || port < 1 || port > 65535)
        return fss_tp_fail(NULL, FSS_E_ARG, "the peer's address needs a host and a port of 1 to 65535");
    char where[WHERE_BYTES];
    fss_tp_format_where(where, sizeof where, host, port);
    struct addrinfo *res = NULL;
    int rc = resolve(host, port, 0, &res);
    if (rc != 0)
        return fss_tp_fail(NULL, FSS_E_ARG, "cannot resolve %s: %s", where, gai_strerror(rc));
    freeaddrinfo(res);
    return FSS_OK;
}

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
            double left = deadline - fss_tp_now();
            if (left < FSS_PEER_RETRY_MS / 1000.0)
                left = FSS_PEER_RETRY_MS / 1000.0;
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            int k;
            do {
                k = poll(&pfd, 1, fss_tp_poll_ms(left));
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
        return fss_tp_fail(NULL, FSS_E_ARG, "fss_peer_connect: out is NULL");
    *out = NULL;
    if (!host || !*host)
        return fss_tp_fail(NULL, FSS_E_ARG, "fss_peer_connect: no host given");
    if (port <= 0 || port > 65535)
        return fss_tp_fail(NULL, FSS_E_ARG, "port %d is out of range (1 to 65535)", port);
    if (fss_tp_bad_seconds(retry_s))
        return fss_tp_fail(NULL, FSS_E_ARG, "retry window %g s is not a nonnegative number", retry_s);
    char where[WHERE_BYTES], last[256] = "no attempt made";
    fss_tp_format_where(where, sizeof where, host, port);

    double deadline = fss_tp_now() + retry_s;
    for (;;) {
        struct addrinfo *res = NULL;
        int rc = resolve(host, port, 0, &res);
        if (rc == 0) {
            for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
                int fd = try_connect(ai, deadline, last, sizeof last);
                if (fd >= 0) {
                    freeaddrinfo(res);
                    return fss_tp_peer_from_fd(out, fd, 1);
                }
            }
            freeaddrinfo(res);
        } else if (rc == EAI_AGAIN) {
            snprintf(last, sizeof last, "cannot resolve %s: %s", host, gai_strerror(rc));
        } else {
            return fss_tp_fail(NULL, FSS_E_IO, "cannot resolve %s: %s", host, gai_strerror(rc));
        }
        double left = deadline - fss_tp_now();
        if (left <= 0)
            break;
        fss_tp_sleep(left < FSS_PEER_RETRY_MS / 1000.0 ? left : FSS_PEER_RETRY_MS / 1000.0);
    }
    return fss_tp_fail(NULL, FSS_E_IO, "could not connect to %s within %g s: is party 0 running? (last error: %s)",
                where, retry_s, last);
}

fss_status fss_peer_pair(fss_peer **a, fss_peer **b)
{
    if (!a || !b)
        return fss_tp_fail(NULL, FSS_E_ARG, "fss_peer_pair: a or b is NULL");
    *a = *b = NULL;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return fss_tp_fail(NULL, FSS_E_IO, "socketpair failed: %s", strerror(errno));
    fss_status st = fss_tp_peer_from_fd(a, sv[0], 0);
    if (st != FSS_OK) {
        close(sv[1]);
        return st;
    }
    st = fss_tp_peer_from_fd(b, sv[1], 0);
    if (st != FSS_OK) {
        fss_peer_close(*a);
        *a = NULL;
    }
    return st;
}
