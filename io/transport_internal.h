/* Internal to io/: what the peer transport's core (transport.c: errors, transfers, the
 * handshake) and its connection setup (transport_connect.c: listen, accept, connect)
 * share. */
#ifndef FSS_TRANSPORT_INTERNAL_H
#define FSS_TRANSPORT_INTERNAL_H

#include "fss/transport.h"

#include <stdarg.h>

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

/* Records the message as the peer's error (and the thread's, for calls without a peer: p
 * may be NULL) and returns s. */
FSS_PRINTF(3, 4) fss_status fss_tp_fail(fss_peer *p, fss_status s, const char *fmt, ...);
double fss_tp_now(void);
void fss_tp_sleep(double s);
/* poll()'s timeout for `left` seconds: rounded up, so a wait never ends early. */
int fss_tp_poll_ms(double left);
void fss_tp_format_where(char *buf, size_t n, const char *host, int port);
int fss_tp_set_nonblocking(int fd);
/* Wrap a connected socket (TCP_NODELAY when tcp). Closes fd on failure. */
FSS_NODISCARD fss_status fss_tp_peer_from_fd(fss_peer **out, int fd, int tcp);

static inline int fss_tp_bad_seconds(double s) { return !(s >= 0); } /* negative or NaN */

#endif
