/* The peer transport between the two online parties (DESIGN section 7): one stream
 * connection, TCP between processes or a socketpair inside one process for tests.
 *
 * Party 0 listens, party 1 connects (retrying, so start order does not matter); both
 * then turn the connection into a TLS 1.3 channel keyed by the run's secret
 * (fss_peer_secure: only the holder of the other key file of the same dealer run gets
 * in; every byte after it is encrypted and authenticated, and a changed byte stops the
 * transfer), then run fss_peer_handshake, which refuses to go on when the two sides hold
 * keys of different dealer runs, models or protocol versions. After that every protocol
 * round is one fss_peer_exchange: both parties send and receive at the same time.
 *
 * Errors: every call returns an fss_status (FSS_E_IO for a transport failure or a
 * timeout, FSS_E_FORMAT for a handshake mismatch, FSS_E_ARG for a bad argument, and
 * FSS_E_NOMEM) and sets a one-line message. fss_peer_error(p) gives p's last message;
 * fss_peer_error(NULL) gives the last message of any fss_peer_ call on the calling
 * thread, which is how to learn why a creation call (listen, connect, pair) failed.
 *
 * After an I/O failure or a timeout inside a transfer the byte stream is out of step,
 * so the peer refuses every later transfer; close it.
 *
 * A peer may be used from one thread at a time; the two ends of a pair from two
 * threads. SIGPIPE is never raised (MSG_NOSIGNAL): a vanished peer is an FSS_E_IO. */
#ifndef FSS_TRANSPORT_H
#define FSS_TRANSPORT_H

#include "fss/common.h"

FSS_EXTERN_C_BEGIN

typedef struct fss_peer fss_peer;
typedef struct fss_peer_listener fss_peer_listener;

/* Seconds a transfer waits without any byte moving before it gives up. */
#define FSS_PEER_DEFAULT_TIMEOUT_S 300.0
/* How often fss_peer_connect retries a refused connection, in milliseconds. */
#define FSS_PEER_RETRY_MS 100

/* The hello both parties send at connect: 64 bytes on the wire, little-endian:
 *   magic "FSSPEER1" (8) | protocol version u32 | party u32 | run_id (16) | fingerprint (32)
 * The magic is added and checked by fss_peer_handshake; the rest is the caller's. */
#define FSS_PEER_MAGIC "FSSPEER1"
#define FSS_PEER_MAGIC_BYTES 8
#define FSS_PEER_HELLO_BYTES 64
#define FSS_PEER_PROTOCOL_VERSION 2u
#define FSS_PEER_RUN_ID_BYTES 16
#define FSS_PEER_FINGERPRINT_BYTES 32
#define FSS_PEER_SECRET_BYTES 32

typedef struct fss_peer_hello {
    uint32_t version;                                /* FSS_PEER_PROTOCOL_VERSION */
    uint32_t party;                                  /* 0 or 1 */
    uint8_t run_id[FSS_PEER_RUN_ID_BYTES];           /* the dealer run of the key file */
    uint8_t fingerprint[FSS_PEER_FINGERPRINT_BYTES]; /* model shape and ring parameters */
} fss_peer_hello;

/* --- making a connection ------------------------------------------------------------ */

/* Party 0: bind host:port (SO_REUSEADDR), listen, and accept one connection within
 * timeout_s seconds. host NULL or "" binds every address. */
FSS_NODISCARD fss_status fss_peer_listen(fss_peer **out, const char *host, int port, double timeout_s);

/* The pieces of fss_peer_listen, for a caller that needs the port before the other side
 * connects (port 0 binds an ephemeral port; fss_peer_listener_port says which). */
FSS_NODISCARD fss_status fss_peer_listener_new(fss_peer_listener **out, const char *host, int port);
int fss_peer_listener_port(const fss_peer_listener *l);
FSS_NODISCARD fss_status fss_peer_accept(fss_peer_listener *l, fss_peer **out, double timeout_s);
void fss_peer_listener_free(fss_peer_listener *l);

/* Party 1: connect to host:port, retrying a refused or failed attempt every
 * FSS_PEER_RETRY_MS for up to retry_s seconds. */
FSS_NODISCARD fss_status fss_peer_connect(fss_peer **out, const char *host, int port, double retry_s);

/* Whether host resolves (FSS_E_ARG with the resolver's reason when not): checked before
 * a party spends its keys. */
FSS_NODISCARD fss_status fss_peer_check_address(const char *host, int port);

/* Two connected ends inside one process (socketpair AF_UNIX, SOCK_STREAM), for tests:
 * use each end from its own thread. */
FSS_NODISCARD fss_status fss_peer_pair(fss_peer **a, fss_peer **b);

/* Sends close_notify on an encrypted channel, closes, wipes the channel's keys. */
void fss_peer_close(fss_peer *p);

/* Certificates for the TLS channel, for deployments that want host identity on top of the
 * run's secret: this side's certificate chain and key (PEM), and the CA the peer's must
 * chain to. host (party 1 only; may be NULL): the name or address party 0's certificate
 * must be for. */
typedef struct fss_peer_tls_certs {
    const char *cert, *key, *ca;
    const char *host;
} fss_peer_tls_certs;

/* Turns the connection into TLS 1.3 (TLS_AES_128_GCM_SHA256 with an ephemeral X25519
 * exchange), party 0 the server; both sides must call it before any other transfer.
 * Without certs it is authenticated by an external pre-shared key: secret, the run's
 * channel secret from the key file, under the identity run_id. With certs both sides
 * present certificates checked against the CA (party 0's against host), and then prove
 * the run's secret inside the channel (an HMAC over a key exported from the session).
 * Afterwards every transfer is encrypted, the counters count the bytes on the wire (TLS
 * records), and a record that fails its authentication (a changed, dropped or injected
 * byte) fails the transfer with FSS_E_IO. FSS_E_FORMAT when the handshake fails: the
 * peer holds another secret or certificate, is not fsskit, or closed; FSS_E_ARG for
 * unusable certificate files; FSS_E_IO on a timeout (the peer's timeout_s). */
FSS_NODISCARD fss_status fss_peer_secure(fss_peer *p, int server, const uint8_t secret[FSS_PEER_SECRET_BYTES],
                                         const uint8_t run_id[FSS_PEER_RUN_ID_BYTES],
                                         const fss_peer_tls_certs *certs);
int fss_peer_is_secure(const fss_peer *p);

/* Seconds of no progress after which a transfer fails (default
 * FSS_PEER_DEFAULT_TIMEOUT_S); > 0, INFINITY waits for ever. */
FSS_NODISCARD fss_status fss_peer_set_timeout(fss_peer *p, double seconds);

/* Every transfer fails after `seconds` from now, whatever moves (0: no such deadline): a
 * stranger that trickles bytes cannot hold party 0 past its window. */
void fss_peer_set_deadline(fss_peer *p, double seconds);

/* --- moving bytes ----------------------------------------------------------------- */

/* One protocol round: send send_bytes and receive exactly recv_bytes at the same time,
 * full duplex, so it cannot deadlock however large both messages are. Counts one round
 * (even with nothing to move). Either buffer may be NULL when its size is 0. */
FSS_NODISCARD fss_status fss_peer_exchange(fss_peer *p, const void *send, size_t send_bytes, void *recv,
                                           size_t recv_bytes);

/* One direction, for the setup steps (an input is sent by its owner only). These count
 * bytes but no round: the caller says when a message is a round, by calling
 * fss_peer_count_round on both sides (the sender and the receiver each count it). */
FSS_NODISCARD fss_status fss_peer_send(fss_peer *p, const void *buf, size_t bytes);
FSS_NODISCARD fss_status fss_peer_recv(fss_peer *p, void *buf, size_t bytes);
void fss_peer_count_round(fss_peer *p);

/* Send mine, receive theirs (64 bytes each way), and refuse with FSS_E_FORMAT and a
 * message naming both values when the magic, protocol version, run id or fingerprint
 * differ or both claim the same party. FSS_E_ARG when mine->party is not 0 or 1,
 * FSS_E_IO when the transport fails. Counts its 64 bytes each way but no round: the
 * rounds counter is the protocol's. theirs may be NULL. */
FSS_NODISCARD fss_status fss_peer_handshake(fss_peer *p, const fss_peer_hello *mine, fss_peer_hello *theirs);

/* --- counters and messages ---------------------------------------------------------- */

uint64_t fss_peer_bytes_sent(const fss_peer *p);
uint64_t fss_peer_bytes_received(const fss_peer *p);
uint64_t fss_peer_rounds(const fss_peer *p);
void fss_peer_reset_counters(fss_peer *p);

/* p's last message ("" if none); with p NULL, the calling thread's last message. */
const char *fss_peer_error(const fss_peer *p);

FSS_EXTERN_C_END

#endif
