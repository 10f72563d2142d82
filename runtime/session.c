/* A party's session (fss/session.h). */
#include "fss/session.h"

#include <ctype.h>
#include <string.h>

#include "eval_internal.h" /* fss_now */
#include "fss/family.h"   /* FSS_PLAN_MAX */
#include "fss/io_adapt.h"
#include "fss/ledger.h"

#define DEFAULT_TIMEOUT_S 120.0
/* How long party 0 gives a connection to prove it holds the other key file (a TLS
 * handshake takes milliseconds): a silent stranger is dropped after this. */
#define STRANGER_S 5.0

struct fss_session {
    int party;
    fss_keyfile_reader *r;
    fss_keyfile_joiner join;
    fss_peer *peer;
    fss_ctx *cpu;
    fss_eval *ev;
    char ledger[4096]; /* the directory of the ledger of spent runs */
    char err[1024];    /* the setup's or finish's failure */
    char msg[2048]; /* fss_session_error's lines */
};

FSS_PRINTF(3, 4) static fss_status sfail(fss_session *s, fss_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    st = fss_verrorf(s->err, sizeof s->err, st, fmt, ap);
    va_end(ap);
    return st;
}

fss_status fss_session_parse_peer(const char *peer, char *host, size_t host_len, int *port, char *err, size_t err_len)
{
    const char *h = peer ? peer : "", *colon = strrchr(h, ':');
    size_t hl = colon ? (size_t)(colon - h) : 0;
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') { /* "[IPv6]:PORT" */
        h++;
        hl -= 2;
    } else if (colon && memchr(h, ':', hl)) {
        colon = NULL; /* an IPv6 literal needs its brackets */
    }
    long p = 0;
    int digits = colon && colon[1];
    for (const char *d = colon ? colon + 1 : ""; *d && digits; d++) {
        digits = isdigit((unsigned char)*d) && p <= 65535;
        p = p * 10 + (*d - '0');
    }
    if (!colon || !digits || p < 1 || p > 65535 || hl >= host_len)
        return fss_errorf(err, err_len, FSS_E_ARG,
                          "the peer's address is HOST:PORT or [IPv6]:PORT (a port of 1 to 65535), not '%s'",
                          peer ? peer : "");
    snprintf(host, host_len, "%.*s", (int)hl, h);
    *port = (int)p;
    return FSS_OK;
}

/* The key file's description (its first chunk, up to a NUL: a plan may follow) is want
 * (when given). */
static fss_status check_description(fss_session *s, const char *path, const char *got, size_t len, const char *want)
{
    len = strnlen(got, len);
    if (want && (len != strlen(want) || memcmp(got, want, len)))
        return sfail(s, FSS_E_FORMAT, "key file %s describes '%.*s', not the run '%s' this party was set up for", path,
                     (int)(len < 200 ? len : 200), got, want);
    return FSS_OK;
}

/* A look at the key file that spends nothing: its header (the run id and the channel
 * secret), its description, and this machine's ledger. */
static fss_status peek_keys(fss_session *s, const fss_session_config *c, fss_keyfile_info *info)
{
    const size_t cap = FSS_DESCRIPTION_MAX + 1 + FSS_PLAN_MAX; /* a plan may follow the description */
    char *desc = (char *)malloc(cap);
    size_t len = 0;
    fss_status st = desc ? fss_keyfile_peek_first(c->keys, c->party, FSS_KEY_MODEL, desc, cap, &len, info, s->err,
                                                  sizeof s->err)
                         : sfail(s, FSS_E_NOMEM, "out of memory");
    if (st == FSS_OK)
        st = check_description(s, c->keys, desc, len, c->description);
    free(desc);
    if (st == FSS_OK)
        st = fss_ledger_check(s->ledger, info->run_id, c->party, s->err, sizeof s->err);
    return st;
}

/* Spends the key file: the ledger first (refuses a copy of a used file), then the file's
 * own mark, then its description read again (the file may have changed since the peek). */
static fss_status spend_keys(fss_session *s, const fss_session_config *c, const fss_keyfile_info *peeked)
{
    fss_status st = fss_ledger_record(s->ledger, peeked->run_id, c->party, c->keys, s->err, sizeof s->err);
    if (st != FSS_OK)
        return st;
    fss_keyfile_info info;
    if (fss_keyfile_open(&s->r, c->keys, c->party, &info) != FSS_OK)
        return sfail(s, FSS_E_IO, "%s", s->r ? fss_keyfile_reader_error(s->r) : "out of memory");
    int same = !memcmp(info.run_id, peeked->run_id, sizeof info.run_id) &&
               !memcmp(info.secret, peeked->secret, sizeof info.secret);
    fss_memzero(&info, sizeof info);
    if (!same)
        return sfail(s, FSS_E_FORMAT, "key file %s changed while this party was connecting: run again", c->keys);
    fss_keyfile_chunk ch;
    if (fss_keyfile_next(s->r, FSS_KEY_MODEL, 1, &ch) != FSS_OK)
        return sfail(s, FSS_E_FORMAT, "%s", fss_keyfile_reader_error(s->r));
    return check_description(s, c->keys, (const char *)ch.data, (size_t)ch.payload_bytes, c->description);
}

/* The encrypted channel, then the hello (run id, fingerprint, parties) inside it. */
static fss_status secure_peer(fss_peer *p, int party, const fss_keyfile_info *info, double timeout,
                              const fss_peer_tls_certs *certs)
{
    fss_peer_hello mine = {.version = FSS_PEER_PROTOCOL_VERSION, .party = (uint32_t)party}, theirs;
    memcpy(mine.run_id, info->run_id, sizeof mine.run_id);
    memcpy(mine.fingerprint, info->fingerprint, sizeof mine.fingerprint);
    fss_status st = fss_peer_set_timeout(p, timeout);
    if (st == FSS_OK)
        st = fss_peer_secure(p, party == 0, info->secret, info->run_id, certs);
    if (st == FSS_OK)
        st = fss_peer_handshake(p, &mine, &theirs);
    return st;
}

/* Party 0 accepts until a peer proves it holds this run's other key file (a stranger that
 * connects first, or stays silent, does not lock the real peer out) or the time is up. */
static fss_status accept_peer(fss_session *s, fss_peer_listener *l, const fss_keyfile_info *info, double timeout,
                              const fss_peer_tls_certs *certs)
{
    const double deadline = fss_now() + timeout;
    char last[512] = "";
    for (;;) {
        double left = deadline - fss_now();
        fss_peer *p = NULL;
        fss_status st = left > 0 ? fss_peer_accept(l, &p, left) : FSS_E_IO;
        if (st != FSS_OK && last[0])
            return sfail(s, FSS_E_IO,
                         "no peer proved it holds the other key file of this run within %g s (the last one to try: %s)",
                         timeout, last);
        if (st != FSS_OK)
            return sfail(s, FSS_E_IO, "%s", left > 0 ? fss_peer_error(NULL) : "no peer connected in time");
        /* a stranger gets a short handshake window, a fixed one (trickled bytes do not
         * extend it); the real peer answers at once */
        const double window = left < STRANGER_S ? left : STRANGER_S;
        fss_peer_set_deadline(p, window);
        st = secure_peer(p, 0, info, window, certs);
        if (st == FSS_OK) {
            s->peer = p;
            fss_peer_set_deadline(p, 0);
            return fss_peer_set_timeout(p, timeout) == FSS_OK ? FSS_OK : sfail(s, FSS_E_ARG, "bad timeout");
        }
        snprintf(last, sizeof last, "%s", fss_peer_error(p));
        fss_peer_close(p);
        if (st != FSS_E_FORMAT && st != FSS_E_IO) /* this side's own setup: certificate files */
            return sfail(s, st, "%s", last);
    }
}

static fss_status connect_peer(fss_session *s, const fss_session_config *c, fss_peer_listener *l, const char *host,
                               int port, const fss_keyfile_info *info, double timeout)
{
    const fss_peer_tls_certs certs = {.cert = c->tls_cert, .key = c->tls_key, .ca = c->tls_ca, .host = host};
    const fss_peer_tls_certs *use = c->tls_cert ? &certs : NULL;
    if (c->party == 0 && !c->connected)
        return accept_peer(s, l, info, timeout, use);
    if (c->connected) {
        s->peer = c->connected;
    } else if (fss_peer_connect(&s->peer, host, port, timeout) != FSS_OK) {
        return sfail(s, FSS_E_IO, "%s", fss_peer_error(NULL));
    }
    fss_status st = secure_peer(s->peer, c->party, info, timeout, use);
    return st == FSS_OK ? FSS_OK : sfail(s, st, "%s", fss_peer_error(s->peer));
}

/* What can be checked before a key is spent: the party, the address (party 0 binds its
 * port now: one in use is refused here; party 1's host must resolve), the backend. */
static fss_status check_setup(fss_session *s, const fss_session_config *c, char *host, size_t host_len, int *port,
                              fss_peer_listener **l)
{
    if (c->party != 0 && c->party != 1)
        return sfail(s, FSS_E_ARG, "the party is 0 or 1");
    if (!(c->timeout >= 0) || c->timeout > 1e7)
        return sfail(s, FSS_E_ARG, "the timeout %g s is not a number of seconds up to 10^7", c->timeout);
    if (!c->tls_cert != !c->tls_key || !c->tls_cert != !c->tls_ca)
        return sfail(s, FSS_E_ARG, "--tls-cert, --tls-key and --tls-ca go together: give all three or none");
    const char *files[3] = {c->tls_cert, c->tls_key, c->tls_ca}, *flags[3] = {"--tls-cert", "--tls-key", "--tls-ca"};
    for (int i = 0; i < 3 && files[i]; i++) {
        FILE *f = fopen(files[i], "r");
        if (!f)
            return sfail(s, FSS_E_ARG, "%s %s: cannot read it", flags[i], files[i]);
        fclose(f);
    }
    fss_status st = fss_ledger_dir(s->ledger, sizeof s->ledger, c->state_dir, s->err, sizeof s->err);
    if (st != FSS_OK || c->connected)
        return st;
    if ((st = fss_session_parse_peer(c->peer, host, host_len, port, s->err, sizeof s->err)) != FSS_OK)
        return st;
    if (c->party == 1 && !*host)
        return sfail(s, FSS_E_ARG, "party 1 needs the host of party 0 in --peer HOST:PORT, not '%s'", c->peer);
    st = c->party == 0 ? fss_peer_listener_new(l, host, *port) : fss_peer_check_address(host, *port);
    if (st != FSS_OK)
        return sfail(s, st, "%s", fss_peer_error(NULL));
    if (c->backend != FSS_BACKEND_CPU && fss_backend_unavailable(c->backend))
        return sfail(s, FSS_E_NODEV, "%s", fss_backend_unavailable(c->backend));
    return FSS_OK;
}

fss_status fss_session_open(fss_session **out, const fss_session_config *c)
{
    fss_session *s = (fss_session *)calloc(1, sizeof *s);
    *out = s;
    if (!s) {
        fss_peer_close(c->connected);
        return FSS_E_NOMEM;
    }
    s->party = c->party;
    char host[256] = "";
    int port = 0;
    fss_keyfile_info info;
    memset(&info, 0, sizeof info);
    fss_peer_listener *l = NULL;
    const double timeout = c->timeout > 0 ? c->timeout : DEFAULT_TIMEOUT_S;
    fss_status st = check_setup(s, c, host, sizeof host, &port, &l);
    if (st == FSS_OK)
        st = peek_keys(s, c, &info);
    if (st == FSS_OK)
        st = connect_peer(s, c, l, host, port, &info, timeout);
    else
        fss_peer_close(c->connected);
    fss_peer_listener_free(l);
    if (st == FSS_OK)
        st = spend_keys(s, c, &info);
    fss_memzero(&info, sizeof info);
    if (st != FSS_OK)
        return st;
    s->join.r = s->r;
    if (fss_ctx_new(&s->cpu, c->threads) != FSS_OK ||
        fss_eval_new_party(&s->ev, s->cpu, c->party, fss_keyfile_source(&s->join), fss_peer_link(s->peer)) != FSS_OK)
        return sfail(s, FSS_E_NOMEM, "cannot set up the CPU backend");
    fss_keyfile_reader_set_threads(s->r, fss_ctx_threads(s->cpu)); /* reading keys keeps pace with using them */
    if (c->backend != FSS_BACKEND_CPU && (st = fss_eval_set_backend(s->ev, c->backend)) != FSS_OK)
        return sfail(s, st, "%s", fss_eval_error(s->ev));
    fss_keyfile_reader_set_alloc(s->r, fss_eval_chunk_alloc(s->ev)); /* page-locked chunks under cuda */
    return FSS_OK;
}

fss_eval *fss_session_eval(fss_session *s) { return s->ev; }

fss_status fss_session_finish(fss_session *s)
{
    if (fss_keyfile_reader_finish(s->r) != FSS_OK)
        return sfail(s, FSS_E_FORMAT, "%s", fss_keyfile_reader_error(s->r));
    return FSS_OK;
}

fss_status fss_session_conclude(fss_session *s, int ok)
{
    if (!s || !s->peer)
        return FSS_E_ARG;
    uint8_t mine[8] = {'F', 'S', 'S', 'E', 'N', 'D', 0, (uint8_t)(ok ? 1 : 0)}, theirs[8] = {0};
    fss_status st = fss_peer_send(s->peer, mine, sizeof mine);
    if (st == FSS_OK)
        st = fss_peer_recv(s->peer, theirs, sizeof theirs);
    if (!ok)
        return FSS_OK; /* this party's own failure is the message */
    if (st != FSS_OK)
        return sfail(s, FSS_E_IO, "the other party stopped before confirming the end of the run (%s): see its messages",
                     fss_peer_error(s->peer));
    if (memcmp(theirs, mine, 7) != 0 || theirs[7] > 1)
        return sfail(s, FSS_E_FORMAT, "the other party ended the run with a malformed status");
    if (theirs[7] != 1)
        return sfail(s, FSS_E_IO, "the other party failed at the end of the run: see its messages");
    return FSS_OK;
}

const char *fss_session_error(fss_session *s)
{
    if (!s)
        return "out of memory";
    if (s->err[0] || !s->ev)
        return s->err; /* the setup's or finish's */
    /* a walk's failure: the gate's message, then the key file's and the peer's if any */
    const char *parts[3] = {fss_eval_error(s->ev), s->r ? fss_keyfile_reader_error(s->r) : "",
                            s->peer ? fss_peer_error(s->peer) : ""};
    size_t at = 0;
    s->msg[0] = 0;
    for (int i = 0; i < 3 && at < sizeof s->msg; i++)
        if (parts[i][0])
            at += (size_t)snprintf(s->msg + at, sizeof s->msg - at, "%s%s", at ? "\n" : "", parts[i]);
    return at ? s->msg : "the walk failed";
}

uint64_t fss_session_key_bytes(const fss_session *s) { return s->r ? fss_keyfile_reader_bytes(s->r) : 0; }
uint64_t fss_session_bytes_sent(const fss_session *s) { return s->peer ? fss_peer_bytes_sent(s->peer) : 0; }
uint64_t fss_session_bytes_received(const fss_session *s) { return s->peer ? fss_peer_bytes_received(s->peer) : 0; }

void fss_session_close(fss_session *s)
{
    if (!s)
        return;
    fss_eval_free(s->ev);
    fss_ctx_free(s->cpu);
    fss_peer_close(s->peer);
    fss_keyfile_joiner_free(&s->join);
    fss_keyfile_reader_close(s->r);
    free(s);
}
