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

/* A key of more than piece bytes becomes several chunks: all but the last of kind |
 * FSS_KEYFILE_KIND_PIECE, each begun when the appends reach it. */
static fss_status piece_begin(fss_keyfile_splitter *sp)
{
    const size_t piece = sp->piece ? sp->piece : (size_t)FSS_KEYFILE_MAX_CHUNK_BYTES;
    sp->in_piece = sp->left < piece ? sp->left : piece;
    const uint32_t kind = sp->left > piece ? sp->kind | FSS_KEYFILE_KIND_PIECE : sp->kind;
    fss_status s = fss_keyfile_begin_chunk(sp->w, kind, sp->elements, sp->in_piece);
    if (s == FSS_OK && sp->in_piece == 0) /* an empty key: complete already */
        s = fss_keyfile_end_chunk(sp->w);
    return s;
}

static fss_status sink_begin(void *self, uint32_t kind, uint64_t elements, size_t bytes)
{
    fss_keyfile_splitter *sp = (fss_keyfile_splitter *)self;
    if ((kind & FSS_KEYFILE_KIND_PIECE) || sp->left)
        return FSS_E_ARG; /* a reserved kind, or the previous key is not complete */
    sp->kind = kind;
    sp->elements = elements;
    sp->left = bytes;
    return piece_begin(sp);
}

static fss_status sink_append(void *self, const void *data, size_t n)
{
    fss_keyfile_splitter *sp = (fss_keyfile_splitter *)self;
    const uint8_t *p = (const uint8_t *)data;
    if (n > sp->left)
        return FSS_E_ARG;
    while (n) {
        const size_t take = n < sp->in_piece ? n : sp->in_piece;
        fss_status s = fss_keyfile_append(sp->w, p, take);
        if (s != FSS_OK)
            return s;
        p += take;
        n -= take;
        sp->left -= take;
        if ((sp->in_piece -= take) == 0) {
            if ((s = fss_keyfile_end_chunk(sp->w)) != FSS_OK)
                return s;
            if (sp->left && (s = piece_begin(sp)) != FSS_OK)
                return s;
        }
    }
    return FSS_OK;
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

fss_key_sink fss_keyfile_sink(fss_keyfile_splitter *sp) { return (fss_key_sink){sink_begin, sink_append, sp}; }
fss_key_source fss_keyfile_source(fss_keyfile_joiner *j) { return (fss_key_source){source_get, j}; }
fss_link fss_peer_link(fss_peer *p) { return (fss_link){link_exchange, p}; }
