/* A party's session: its key file, the peer, the handshake, the evaluation context and its
 * backend, set up by one call in the one order that works, with everything that can be
 * checked checked before the key file is spent:
 *
 *   the party, the timeout, the address (party 0 binds its port: one in use is refused;
 *   party 1's host must resolve), the backend -> the key file peeked (nothing spent): its
 *   header, channel secret and description, and this machine's ledger of spent runs ->
 *   connect (party 0 listens and accepts until a peer proves itself, party 1 connects) ->
 *   TLS 1.3 keyed by the run's secret (only the other key file's holder gets in) ->
 *   hello inside it (run id, fingerprint, parties) -> the run recorded in the ledger ->
 *   the key file opened (marked used from here on), its description read again ->
 *   CPU context and party context -> key reading threads -> backend -> the key reader's
 *   chunk allocator (after the backend: page-locked memory under cuda).
 *
 * What a read of the keys hands out lives until the next read (fss_ev_read waits until the
 * backend's copies of the last step's keys are done, eval.c), so the key reader's buffers
 * may be reused at once. The dealer's side is fss_deal_files (fss/run.h). */
#ifndef FSS_SESSION_H
#define FSS_SESSION_H

#include "fss/eval.h"
#include "fss/transport.h"

FSS_EXTERN_C_BEGIN

typedef struct fss_session_config {
    int party;                /* 0 or 1 */
    const char *keys;         /* this party's key file */
    const char *peer;         /* "HOST:PORT": party 0 listens there, party 1 connects */
    fss_peer *connected;      /* or a peer already connected (tests: one end of fss_peer_pair),
                                 used instead of peer; the session closes it */
    double timeout;           /* seconds to wait for the peer to connect or answer (0: 120) */
    int threads;              /* CPU threads (0: all), and as many reading keys */
    fss_backend backend;
    const char *description;  /* the run the caller loaded for (fss_model_description): a key
                                 file that describes another is refused before it is spent */
    const char *state_dir;    /* the ledger of spent runs' directory (NULL: fss_ledger_dir's
                                 default, under XDG_STATE_HOME or HOME) */
    const char *tls_cert, *tls_key, *tls_ca; /* all or none: certificates both ways on top of
                                 the run's secret (fss_peer_tls_certs; party 0's checked
                                 against the host in peer) */
} fss_session_config;

typedef struct fss_session fss_session;

/* Sets up the session (above). On failure *out still holds the session with the message
 * (NULL only when out of memory); close it. */
FSS_NODISCARD fss_status fss_session_open(fss_session **out, const fss_session_config *c);
fss_eval *fss_session_eval(fss_session *s);
/* After the walk: every key of the file was read (else FSS_E_FORMAT: keys of another model). */
FSS_NODISCARD fss_status fss_session_finish(fss_session *s);
/* The run's last message, after the walk and the caller's outputs: tells the other party
 * whether this one succeeded (ok) and learns whether it did, so that both exit non-zero
 * when either failed. With ok, FSS_OK when the other party succeeded too, else FSS_E_IO
 * (it failed, or stopped before saying) with the message; without ok, FSS_OK (this
 * party's own failure is what to report). Moves 8 bytes each way, counted, no round. */
fss_status fss_session_conclude(fss_session *s, int ok);
/* What went wrong, one line or several (the walk's, the key file's, the peer's). */
const char *fss_session_error(fss_session *s);
/* Bytes of the key file read (chunk headers included), and moved over the peer (the
 * handshake included). */
uint64_t fss_session_key_bytes(const fss_session *s);
uint64_t fss_session_bytes_sent(const fss_session *s);
uint64_t fss_session_bytes_received(const fss_session *s);
void fss_session_close(fss_session *s);

/* "HOST:PORT" or "[IPv6]:PORT" (host may be empty for party 0: every address; the port 1
 * to 65535, all digits). FSS_E_ARG with a line in err otherwise. */
FSS_NODISCARD fss_status fss_session_parse_peer(const char *peer, char *host, size_t host_len, int *port, char *err,
                                                size_t err_len);

FSS_EXTERN_C_END

#endif
