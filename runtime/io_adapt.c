#include "fss/io_adapt.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

static void wipe_free(uint8_t *p, size_t n)
{
    if (p)
        OPENSSL_cleanse(p, n);
    free(p);
}

static fss_status sink_put(void *self, uint32_t kind, uint64_t elements, const void *data, size_t bytes)
{
    const fss_keyfile_splitter *sp = (const fss_keyfile_splitter *)self;
    const size_t piece = sp->piece ? sp->piece : (size_t)FSS_KEYFILE_MAX_CHUNK_BYTES;
    if (kind & FSS_KEYFILE_KIND_PIECE)
        return FSS_E_ARG;
    const uint8_t *p = (const uint8_t *)data;
    fss_status s = FSS_OK;
    while (s == FSS_OK && bytes > piece) {
        s = fss_keyfile_write_chunk(sp->w, kind | FSS_KEYFILE_KIND_PIECE, elements, p, piece);
        p += piece;
        bytes -= piece;
    }
    return s == FSS_OK ? fss_keyfile_write_chunk(sp->w, kind, elements, p, bytes) : s;
}

/* A key in one chunk is handed out in place (the reader's buffer); a split one is
 * copied piece by piece into the joiner's buffer. */
static fss_status source_get(void *self, uint32_t kind, uint64_t elements, const void **data, size_t *bytes)
{
    fss_keyfile_joiner *j = (fss_keyfile_joiner *)self;
    fss_keyfile_chunk c;
    fss_status s = fss_keyfile_next(j->r, kind, elements, &c);
    if (s != FSS_OK || !(c.kind & FSS_KEYFILE_KIND_PIECE)) {
        if (s == FSS_OK) {
            *data = c.data;
            *bytes = (size_t)c.payload_bytes;
        }
        return s;
    }
    size_t used = 0;
    for (;;) {
        if (used + c.payload_bytes > j->cap) {
            size_t cap = 2 * (used + (size_t)c.payload_bytes);
            uint8_t *nb = (uint8_t *)malloc(cap);
            if (!nb)
                return FSS_E_NOMEM;
            if (used)
                memcpy(nb, j->buf, used);
            wipe_free(j->buf, j->cap);
            j->buf = nb;
            j->cap = cap;
        }
        memcpy(j->buf + used, c.data, (size_t)c.payload_bytes);
        used += (size_t)c.payload_bytes;
        if (!(c.kind & FSS_KEYFILE_KIND_PIECE))
            break;
        if ((s = fss_keyfile_next(j->r, kind, elements, &c)) != FSS_OK)
            return s;
    }
    *data = j->buf;
    *bytes = used;
    return FSS_OK;
}

void fss_keyfile_joiner_free(fss_keyfile_joiner *j)
{
    wipe_free(j->buf, j->cap);
    j->buf = NULL;
    j->cap = 0;
}

static fss_status link_exchange(void *self, const void *send, size_t send_bytes, void *recv, size_t recv_bytes)
{
    return fss_peer_exchange((fss_peer *)self, send, send_bytes, recv, recv_bytes);
}

fss_key_sink fss_keyfile_sink(fss_keyfile_splitter *sp) { return (fss_key_sink){sink_put, sp}; }
fss_key_source fss_keyfile_source(fss_keyfile_joiner *j) { return (fss_key_source){source_get, j}; }
fss_link fss_peer_link(fss_peer *p) { return (fss_link){link_exchange, p}; }
