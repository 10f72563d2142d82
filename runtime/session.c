/* A party's session (fss/session.h). */
#include "fss/session.h"

#include <ctype.h>
#include <string.h>

#include "fss/io_adapt.h"

#define DEFAULT_TIMEOUT_S 120.0

struct fss_session {
    int party;
    fss_keyfile_reader *r;
    fss_keyfile_joiner join;
    fss_peer *peer;
    fss_ctx *cpu;
    fss_eval *ev;
    char err[1024]; /* the setup's or finish's failure */
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
    const char *colon = peer ? strrchr(peer, ':') : NULL;
    long p = 0;
    int digits = colon && colon[1];
    for (const char *d = colon ? colon + 1 : ""; *d && digits; d++) {
        digits = isdigit((unsigned char)*d) && p <= 65535;
        p = p * 10 + (*d - '0');
    }
    if (!colon || !digits || p < 1 || p > 65535 || (size_t)(colon - peer) >= host_len)
        return fss_errorf(err, err_len, FSS_E_ARG, "the peer's address is HOST:PORT (a port of 1 to 65535), not '%s'",
                          peer ? peer : "");
    snprintf(host, host_len, "%.*s", (int)(colon - peer), peer);
    *port = (int)p;
    return FSS_OK;
}

/* The key file's description (its first chunk) is want (when given). */
static fss_status check_description(fss_session *s, const char *path, const char *got, size_t len, const char *want)
{
    if (want && (len != strlen(want) || memcmp(got, want, len)))
        return sfail(s, FSS_E_FORMAT, "key file %s describes '%.*s', not the run '%s' this party was set up for", path,
                     (int)(len < 200 ? len : 200), got, want);
    return FSS_OK;
}

static fss_status open_keys(fss_session *s, const fss_session_config *c, fss_keyfile_info *info)
{
    char desc[FSS_DESCRIPTION_MAX];
    size_t len = 0;
    /* first a look that spends nothing: a file of another run is refused while still fresh */
    fss_status st = fss_keyfile_peek_first(c->keys, c->party, FSS_KEY_MODEL, desc, sizeof desc, &len, info, s->err,
                                           sizeof s->err);
    if (st == FSS_OK)
        st = check_description(s, c->keys, desc, len, c->description);
    if (st != FSS_OK)
        return st;
    if (fss_keyfile_open(&s->r, c->keys, c->party, info) != FSS_OK)
        return sfail(s, FSS_E_IO, "%s", s->r ? fss_keyfile_reader_error(s->r) : "out of memory");
    fss_keyfile_chunk ch;
    if (fss_keyfile_next(s->r, FSS_KEY_MODEL, 1, &ch) != FSS_OK)
        return sfail(s, FSS_E_FORMAT, "%s", fss_keyfile_reader_error(s->r));
    return check_description(s, c->keys, (const char *)ch.data, (size_t)ch.payload_bytes, c->description);
}

static fss_status connect_peer(fss_session *s, const fss_session_config *c, const char *host, int port,
                               const fss_keyfile_info *info)
{
    const double timeout = c->timeout > 0 ? c->timeout : DEFAULT_TIMEOUT_S;
    if (c->connected) {
        s->peer = c->connected;
    } else {
        fss_status st = c->party == 0 ? fss_peer_listen(&s->peer, host, port, timeout)
                                      : fss_peer_connect(&s->peer, host, port, timeout);
        if (st != FSS_OK)
            return sfail(s, st, "%s", fss_peer_error(s->peer));
    }
    fss_peer_hello mine = {.version = FSS_PEER_PROTOCOL_VERSION, .party = (uint32_t)c->party}, theirs;
    memcpy(mine.run_id, info->run_id, sizeof mine.run_id);
    memcpy(mine.fingerprint, info->fingerprint, sizeof mine.fingerprint);
    fss_status st = fss_peer_set_timeout(s->peer, timeout);
    if (st == FSS_OK)
        st = fss_peer_handshake(s->peer, &mine, &theirs);
    return st == FSS_OK ? FSS_OK : sfail(s, st, "%s", fss_peer_error(s->peer));
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
    fss_status st = c->party == 0 || c->party == 1 ? FSS_OK : sfail(s, FSS_E_ARG, "the party is 0 or 1");
    if (st == FSS_OK && !c->connected)
        st = fss_session_parse_peer(c->peer, host, sizeof host, &port, s->err, sizeof s->err);
    if (st == FSS_OK && c->backend != FSS_BACKEND_CPU && fss_backend_unavailable(c->backend))
        st = sfail(s, FSS_E_NODEV, "%s", fss_backend_unavailable(c->backend));
    if (st != FSS_OK) {
        fss_peer_close(c->connected);
        return st;
    }
    if ((st = open_keys(s, c, &info)) != FSS_OK || (st = connect_peer(s, c, host, port, &info)) != FSS_OK) {
        if (!s->peer)
            fss_peer_close(c->connected);
        return st;
    }
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
