/* The peer channel's TLS 1.3 layer (fss/transport.h, fss_peer_secure): an external
 * pre-shared key, the run's channel secret that the dealer wrote into both key files,
 * with an ephemeral X25519 exchange on top (psk_dhe_ke), one cipher suite
 * (TLS_AES_128_GCM_SHA256: AES-NI makes it cheap), no certificates. Or, for deployments
 * that want host identity, certificates both ways checked against a CA, then a proof of
 * the run's secret bound to the session (prove_run).
 *
 * The socket stays nonblocking and full duplex: transfer_tls calls SSL_read_ex and
 * SSL_write_ex in turn, each until it wants the socket, and polls for what they wanted.
 * The byte counters come from the socket BIO, so they count what crosses the wire
 * (records, headers and tags included). */
#include "transport_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>

/* TLS_AES_128_GCM_SHA256's code point (RFC 8446, B.4). */
static const unsigned char suite_id[2] = {0x13, 0x01};

/* --- the socket under TLS: send with MSG_NOSIGNAL (a vanished peer is an error, not a
 * SIGPIPE), recv; nonblocking, so "would block" is a retry ---------------------------- */

static BIO_METHOD *sock_method;
static pthread_once_t sock_once = PTHREAD_ONCE_INIT;

static int sock_retry(int e) { return e == EAGAIN || e == EWOULDBLOCK || e == EINTR; }

static int sock_write(BIO *b, const char *buf, size_t n, size_t *done)
{
    BIO_clear_retry_flags(b);
    ssize_t k = send((int)(intptr_t)BIO_get_data(b), buf, n, MSG_NOSIGNAL);
    if (k >= 0) {
        *done = (size_t)k;
        return 1;
    }
    if (sock_retry(errno))
        BIO_set_retry_write(b);
    return 0;
}

static int sock_read(BIO *b, char *buf, size_t n, size_t *done)
{
    BIO_clear_retry_flags(b);
    ssize_t k = recv((int)(intptr_t)BIO_get_data(b), buf, n, 0);
    if (k > 0) {
        *done = (size_t)k;
        return 1;
    }
    if (k < 0 && sock_retry(errno))
        BIO_set_retry_read(b);
    else if (k == 0)
        errno = 0; /* the peer's end of stream: no errno to report */
    return 0;
}

static long sock_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b, (void)num, (void)ptr;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int sock_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static void sock_method_init(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "fsskit socket");
    if (m && BIO_meth_set_write_ex(m, sock_write) && BIO_meth_set_read_ex(m, sock_read) &&
        BIO_meth_set_ctrl(m, sock_ctrl) && BIO_meth_set_create(m, sock_create))
        sock_method = m; /* kept for the process's life */
    else
        BIO_meth_free(m);
}

static BIO *sock_bio(int fd)
{
    pthread_once(&sock_once, sock_method_init);
    BIO *b = sock_method ? BIO_new(sock_method) : NULL;
    if (b)
        BIO_set_data(b, (void *)(intptr_t)fd);
    return b;
}

/* --- the pre-shared key --------------------------------------------------------------- */

/* The psk's session, made fresh for each callback (the library takes ownership). */
static SSL_SESSION *psk_session(SSL *ssl, const fss_peer *p)
{
    const SSL_CIPHER *cipher = SSL_CIPHER_find(ssl, suite_id);
    SSL_SESSION *s = cipher ? SSL_SESSION_new() : NULL;
    if (s && SSL_SESSION_set1_master_key(s, p->psk, sizeof p->psk) && SSL_SESSION_set_cipher(s, cipher) &&
        SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION))
        return s;
    SSL_SESSION_free(s);
    return NULL;
}

/* Party 1 (the client) offers the run's identity and key. */
static int use_psk(SSL *ssl, const EVP_MD *md, const unsigned char **id, size_t *idlen, SSL_SESSION **sess)
{
    const fss_peer *p = SSL_get_app_data(ssl);
    const SSL_CIPHER *cipher = SSL_CIPHER_find(ssl, suite_id);
    *sess = NULL;
    if (!cipher || (md && SSL_CIPHER_get_handshake_digest(cipher) != md))
        return 1; /* a retry with another hash: no key for it, the handshake fails */
    *sess = psk_session(ssl, p);
    *id = p->psk_id;
    *idlen = sizeof p->psk_id;
    return *sess != NULL;
}

/* Party 0 (the server) knows one identity, the run's; any other gets no key, and without
 * a certificate the handshake then fails. */
static int find_psk(SSL *ssl, const unsigned char *id, size_t idlen, SSL_SESSION **sess)
{
    const fss_peer *p = SSL_get_app_data(ssl);
    *sess = NULL;
    if (idlen != sizeof p->psk_id || memcmp(id, p->psk_id, idlen) != 0)
        return 1;
    *sess = psk_session(ssl, p);
    return *sess != NULL;
}

/* Without certificates, no certificate is acceptable: only the pre-shared key proves the
 * peer. */
static int refuse_certificate(int ok, X509_STORE_CTX *ctx) { return (void)ok, (void)ctx, 0; }

/* OpenSSL's reason for the last failure on this thread, or errno's, or fallback. */
static const char *tls_reason(int ssl_err, char *buf, size_t n, const char *fallback)
{
    unsigned long e = ERR_peek_last_error();
    if (e) {
        ERR_error_string_n(e, buf, n);
        const char *r = ERR_reason_error_string(e);
        if (r)
            snprintf(buf, n, "%s", r);
    } else if (ssl_err == SSL_ERROR_SYSCALL && errno) {
        snprintf(buf, n, "%s", strerror(errno));
    } else {
        snprintf(buf, n, "%s", fallback);
    }
    ERR_clear_error();
    return buf;
}

static void sync_counters(fss_peer *p)
{
    p->sent = p->base_sent + BIO_number_written(SSL_get_wbio(p->ssl));
    p->received = p->base_received + BIO_number_read(SSL_get_rbio(p->ssl));
}

/* Why an SSL call failed, as one message; the stream is then out of step for good. */
static fss_status tls_failed(fss_peer *p, int ssl_err, const char *doing, size_t done, size_t want)
{
    char why[256];
    p->broken = 1;
    if (ssl_err == SSL_ERROR_ZERO_RETURN || (ssl_err == SSL_ERROR_SYSCALL && ERR_peek_last_error() == 0 &&
                                             (errno == 0 || errno == ECONNRESET || errno == EPIPE))) {
        ERR_clear_error();
        return fss_tp_fail(p, FSS_E_IO, "peer closed the connection while this party was %s (%zu of %zu bytes)",
                           doing, done, want);
    }
    tls_reason(ssl_err, why, sizeof why, "unknown TLS failure");
    if (strstr(why, "alert") && !strstr(why, "bad record mac"))
        return fss_tp_fail(p, FSS_E_IO,
                           "the peer ended the encrypted channel while this party was %s (%s)%s", doing, why,
                           strstr(why, "certificate required")
                               ? ": it wants a certificate; give --tls-cert, --tls-key and --tls-ca as it has"
                               : "");
    return fss_tp_fail(p, FSS_E_IO,
                       "the encrypted channel failed while this party was %s (%zu of %zu bytes): %s; a byte was "
                       "changed on the way or the peer stopped, so the run is stopped",
                       doing, done, want, why);
}

/* Waits for what the last SSL calls wanted; FSS_OK when it is there or the wait was
 * interrupted, FSS_E_IO after the timeout with no progress since last_progress. */
static fss_status wait_socket(fss_peer *p, int in, int out, double last_progress, const char *doing)
{
    double left = last_progress + p->timeout_s - fss_tp_now();
    if (p->deadline > 0 && p->deadline - fss_tp_now() < left) {
        left = p->deadline - fss_tp_now();
        if (left <= 0) {
            p->broken = 1;
            return fss_tp_fail(p, FSS_E_IO, "the peer did not finish %s in time", doing);
        }
    }
    if (left <= 0) {
        p->broken = 1;
        return fss_tp_fail(p, FSS_E_IO, "no progress from the peer for %g s while %s: is the other party running?",
                           p->timeout_s, doing);
    }
    struct pollfd pfd = {.fd = p->fd, .events = (short)((in ? POLLIN : 0) | (out ? POLLOUT : 0))};
    if (poll(&pfd, 1, fss_tp_poll_ms(left)) < 0 && errno != EINTR) {
        p->broken = 1;
        return fss_tp_fail(p, FSS_E_IO, "poll failed: %s", strerror(errno));
    }
    return FSS_OK;
}

/* After an SSL_read_ex or SSL_write_ex that returned ok: 1 when it moved bytes, 0 when it
 * waits for the socket (what it wants is noted), -1 otherwise (*err: the SSL error). */
static int tls_moved(const fss_peer *p, int ok, int *want_in, int *want_out, int *err)
{
    if (ok)
        return 1;
    const int e = SSL_get_error(p->ssl, ok);
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
        *err = e;
        return -1;
    }
    *want_in |= e == SSL_ERROR_WANT_READ;
    *want_out |= e == SSL_ERROR_WANT_WRITE;
    return 0;
}

fss_status fss_tp_transfer_tls(fss_peer *p, const uint8_t *sbuf, size_t sn, uint8_t *rbuf, size_t rn)
{
    size_t s = 0, r = 0;
    double last_progress = fss_tp_now();
    while (s < sn || r < rn) {
        int want_in = 0, want_out = 0, moved = 0, e = 0;
        ERR_clear_error();
        if (r < rn) {
            size_t got = 0;
            const int m = tls_moved(p, SSL_read_ex(p->ssl, rbuf + r, rn - r, &got), &want_in, &want_out, &e);
            if (m < 0) {
                sync_counters(p);
                return tls_failed(p, e, "receiving", r, rn);
            }
            r += got, moved |= m;
        }
        if (s < sn) {
            size_t put = 0;
            const int m = tls_moved(p, SSL_write_ex(p->ssl, sbuf + s, sn - s, &put), &want_in, &want_out, &e);
            if (m < 0) {
                sync_counters(p);
                return tls_failed(p, e, "sending", s, sn);
            }
            s += put, moved |= m;
        }
        sync_counters(p);
        if (moved) {
            last_progress = fss_tp_now();
            continue;
        }
        fss_status st = wait_socket(p, want_in, want_out, last_progress, r < rn ? "receiving" : "sending");
        if (st != FSS_OK)
            return st;
    }
    return FSS_OK;
}

/* The context: TLS 1.3 only, one suite; with certs, this side's certificate and key, the
 * peer's checked against the CA (and party 0's against the host party 1 dialled). */
static fss_status tls_setup(fss_peer *p, int server, const fss_peer_tls_certs *certs)
{
    char why[256];
    ERR_clear_error();
    p->ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    BIO *bio = NULL;
    if (!p->ctx || !SSL_CTX_set_min_proto_version(p->ctx, TLS1_3_VERSION) ||
        !SSL_CTX_set_ciphersuites(p->ctx, "TLS_AES_128_GCM_SHA256"))
        return fss_tp_fail(p, FSS_E_NOMEM, "cannot set up TLS: %s", tls_reason(0, why, sizeof why, "out of memory"));
    if (certs) {
        const char *step = "certificate";
        int ok = SSL_CTX_use_certificate_chain_file(p->ctx, certs->cert) == 1;
        if (ok && (step = "private key", 1))
            ok = SSL_CTX_use_PrivateKey_file(p->ctx, certs->key, SSL_FILETYPE_PEM) == 1 &&
                 SSL_CTX_check_private_key(p->ctx) == 1;
        if (ok && (step = "CA", 1))
            ok = SSL_CTX_load_verify_locations(p->ctx, certs->ca, NULL) == 1;
        if (!ok)
            return fss_tp_fail(p, FSS_E_ARG, "cannot use the TLS %s (--tls-cert %s, --tls-key %s, --tls-ca %s): %s",
                               step, certs->cert, certs->key, certs->ca, tls_reason(0, why, sizeof why, "refused"));
        SSL_CTX_set_verify(p->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    if (!(p->ssl = SSL_new(p->ctx)) || !(bio = sock_bio(p->fd)))
        return fss_tp_fail(p, FSS_E_NOMEM, "cannot set up TLS: %s", tls_reason(0, why, sizeof why, "out of memory"));
    SSL_set_bio(p->ssl, bio, bio); /* one BIO both ways: the SSL holds it */
    SSL_set_num_tickets(p->ssl, 0); /* one connection a run: nothing to resume */
    SSL_set_mode(p->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE);
    SSL_set_app_data(p->ssl, p);
    if (server) {
        SSL_set_accept_state(p->ssl);
        if (!certs)
            SSL_set_psk_find_session_callback(p->ssl, find_psk);
    } else {
        SSL_set_connect_state(p->ssl);
        if (!certs) {
            SSL_set_psk_use_session_callback(p->ssl, use_psk);
            /* a server that answers with a certificate instead of the key is refused */
            SSL_set_verify(p->ssl, SSL_VERIFY_PEER, refuse_certificate);
        } else if (certs->host && *certs->host) {
            X509_VERIFY_PARAM *vp = SSL_get0_param(p->ssl);
            unsigned char ip[16];
            const int is_ip = inet_pton(AF_INET, certs->host, ip) == 1 || inet_pton(AF_INET6, certs->host, ip) == 1;
            if (!(is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, certs->host) : X509_VERIFY_PARAM_set1_host(vp, certs->host, 0)))
                return fss_tp_fail(p, FSS_E_ARG, "cannot check party 0's certificate against '%s'", certs->host);
        }
    }
    p->base_sent = p->sent;
    p->base_received = p->received;
    return FSS_OK;
}

static fss_status tls_handshake(fss_peer *p, int certs)
{
    const char *who = certs ? "has no certificate this CA signed for it, or does not trust ours"
                            : "does not hold the other key file of this run (run the dealer once and give p0.bin and "
                              "p1.bin of that run)";
    double last_progress = fss_tp_now();
    for (;;) {
        uint64_t seen = p->sent + p->received;
        ERR_clear_error();
        int ok = SSL_do_handshake(p->ssl);
        sync_counters(p);
        if (ok == 1 && !certs && !SSL_session_reused(p->ssl)) { /* a handshake that did not use the key */
            p->broken = 1;
            return fss_tp_fail(p, FSS_E_FORMAT, "the peer completed TLS without this run's key: it does not hold "
                                                "the other key file of this run");
        }
        if (ok == 1)
            return FSS_OK;
        if (p->sent + p->received != seen)
            last_progress = fss_tp_now();
        int e = SSL_get_error(p->ssl, ok);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
            char why[256];
            p->broken = 1;
            long v = SSL_get_verify_result(p->ssl);
            if (e == SSL_ERROR_SYSCALL && ERR_peek_last_error() == 0)
                return fss_tp_fail(p, FSS_E_FORMAT,
                                   "the peer closed the connection during the TLS handshake: it %s, or is not fsskit "
                                   "of this version", who);
            if (certs && v != X509_V_OK)
                return fss_tp_fail(p, FSS_E_FORMAT, "the TLS handshake failed: the peer's certificate: %s",
                                   X509_verify_cert_error_string(v));
            tls_reason(e, why, sizeof why, "handshake refused");
            if (!certs && strstr(why, "certificate verify failed"))
                return fss_tp_fail(p, FSS_E_FORMAT,
                                   "the peer showed a certificate instead of this run's key: give this party "
                                   "--tls-cert, --tls-key and --tls-ca as the peer has them, or the peer none");
            return fss_tp_fail(p, FSS_E_FORMAT,
                               "the TLS handshake with the peer failed (%s): it %s, or is not fsskit of this version",
                               why, who);
        }
        fss_status st = wait_socket(p, e == SSL_ERROR_WANT_READ, e == SSL_ERROR_WANT_WRITE, last_progress,
                                    "in the TLS handshake");
        if (st != FSS_OK)
            return st;
    }
}

/* With certificates the handshake proves hosts, not the run: each side then sends
 * HMAC-SHA256(secret, label | its role | a key exported from this TLS session) and checks
 * the other's, so only the holder of this run's other key file gets past, on this
 * connection only (the exported key binds the proof to it). */
static int run_proof(const fss_peer *p, int server, const uint8_t exported[32], uint8_t out[32])
{
    uint8_t msg[64 + 1];
    static const char label[32] = "fsskit run proof v1";
    memcpy(msg, label, 32);
    msg[32] = (uint8_t)(server ? 's' : 'c');
    memcpy(msg + 33, exported, 32);
    unsigned len = 32;
    const int ok = HMAC(EVP_sha256(), p->psk, (int)sizeof p->psk, msg, 65, out, &len) != NULL && len == 32;
    fss_memzero(msg, sizeof msg);
    return ok;
}

static fss_status prove_run(fss_peer *p, int server)
{
    static const char label[] = "EXPORTER-fsskit-run-proof";
    uint8_t exported[32], mine[32], want[32], theirs[32];
    if (SSL_export_keying_material(p->ssl, exported, sizeof exported, label, sizeof label - 1, NULL, 0, 0) != 1)
        return fss_tp_fail(p, FSS_E_IO, "cannot export a key from the TLS session");
    if (!run_proof(p, server, exported, mine) || !run_proof(p, !server, exported, want)) {
        fss_memzero(exported, sizeof exported);
        return fss_tp_fail(p, FSS_E_IO, "cannot compute the proof of this run's key");
    }
    fss_status st = fss_tp_transfer_tls(p, mine, sizeof mine, theirs, sizeof theirs);
    const int same = st == FSS_OK && CRYPTO_memcmp(theirs, want, sizeof want) == 0;
    fss_memzero(exported, sizeof exported);
    fss_memzero(mine, sizeof mine);
    fss_memzero(want, sizeof want);
    if (st != FSS_OK)
        return st;
    if (!same) {
        p->broken = 1;
        return fss_tp_fail(p, FSS_E_FORMAT,
                           "the peer's certificate is good, but it does not hold the other key file of this run (run "
                           "the dealer once and give p0.bin and p1.bin of that run)");
    }
    return FSS_OK;
}

fss_status fss_peer_secure(fss_peer *p, int server, const uint8_t secret[FSS_PEER_SECRET_BYTES],
                           const uint8_t run_id[FSS_PEER_RUN_ID_BYTES], const fss_peer_tls_certs *certs)
{
    if (!p || !secret || !run_id || (certs && (!certs->cert || !certs->key || !certs->ca)))
        return fss_tp_fail(p, FSS_E_ARG, "fss_peer_secure: needs a peer, a secret, a run id (and all three certificate files)");
    if (p->ssl || p->broken)
        return fss_tp_fail(p, FSS_E_ARG, "fss_peer_secure: the channel is already encrypted or broken");
    memcpy(p->psk, secret, sizeof p->psk);
    memcpy(p->psk_id, run_id, sizeof p->psk_id);
    fss_status st = tls_setup(p, server, certs);
    if (st == FSS_OK)
        st = tls_handshake(p, certs != NULL);
    if (st == FSS_OK && certs)
        st = prove_run(p, server);
    if (st != FSS_OK)
        p->broken = 1;
    return st;
}

void fss_tp_tls_rebase(fss_peer *p)
{
    /* unsigned arithmetic: base + BIO count == the counter now */
    p->base_sent = p->sent - BIO_number_written(SSL_get_wbio(p->ssl));
    p->base_received = p->received - BIO_number_read(SSL_get_rbio(p->ssl));
}

int fss_peer_is_secure(const fss_peer *p) { return p && p->ssl && !p->broken; }

void fss_tp_tls_free(fss_peer *p)
{
    if (p->ssl) {
        if (!p->broken) {
            ERR_clear_error();
            (void)SSL_shutdown(p->ssl); /* one try at close_notify; the socket is nonblocking */
        }
        SSL_free(p->ssl);
    }
    SSL_CTX_free(p->ctx);
    ERR_clear_error();
    fss_memzero(p->psk, sizeof p->psk);
}
