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
    double deadline; /* fss_tp_now() time after which every transfer fails (0: none) */
    uint64_t sent, received, rounds;
    char err[ERR_BYTES];
    /* after fss_peer_secure (transport_tls.c): the TLS channel, its key and identity, and
     * the plain bytes moved before it (the counters add the socket BIO's) */
    struct ssl_ctx_st *ctx;
    struct ssl_st *ssl;
    uint8_t psk[FSS_PEER_SECRET_BYTES];
    uint8_t psk_id[FSS_PEER_RUN_ID_BYTES];
    uint64_t base_sent, base_received;
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

/* transport_tls.c: a transfer over the TLS channel (the same contract as the plain one),
 * and the channel's teardown (close_notify when the stream is whole, then free). */
FSS_NODISCARD fss_status fss_tp_transfer_tls(fss_peer *p, const uint8_t *sbuf, size_t sn, uint8_t *rbuf, size_t rn);
void fss_tp_tls_free(fss_peer *p);
/* The counters restart from the current sent and received (after a reset). */
void fss_tp_tls_rebase(fss_peer *p);

static inline int fss_tp_bad_seconds(double s) { return !(s >= 0); } /* negative or NaN */

#endif
