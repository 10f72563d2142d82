#include "fss/io_adapt.h"

#include <stdlib.h>
#include <string.h>

#include "eval_internal.h"

/* A key of more than piece bytes becomes several chunks: all but the last of kind |
 * FSS_KEYFILE_KIND_PIECE, each begun when the appends reach it. */
static fss_status piece_begin(fss_keyfile_splitter *sp)
{
    const size_t piece = sp->piece ? sp->piece : (size_t)FSS_KEYFILE_PIECE_BYTES;
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
        p = p ? p + take : NULL; /* NULL: a dry run's sizes only */
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

/* Parts inside one chunk are handed out in place (the reader's buffer); a part that runs
 * into the next piece is copied into the joiner's buffer, piece by piece. */
static fss_status source_open(void *self, uint32_t kind, uint64_t elements)
{
    fss_keyfile_joiner *j = (fss_keyfile_joiner *)self;
    fss_keyfile_chunk c;
    fss_status s = fss_keyfile_next(j->r, kind, elements, &c);
    if (s != FSS_OK)
        return s;
    j->kind = kind;
    j->elements = elements;
    j->more = (c.kind & FSS_KEYFILE_KIND_PIECE) != 0;
    j->at = c.data;
    j->left = (size_t)c.payload_bytes;
    return FSS_OK;
}

static fss_status next_piece(fss_keyfile_joiner *j)
{
    if (!j->more)
        return FSS_E_FORMAT; /* past the key's end */
    fss_keyfile_chunk c;
    fss_status s = fss_keyfile_next(j->r, j->kind, j->elements, &c);
    if (s != FSS_OK)
        return s;
    j->more = (c.kind & FSS_KEYFILE_KIND_PIECE) != 0;
    j->at = c.data;
    j->left = (size_t)c.payload_bytes;
    return FSS_OK;
}

static fss_status source_read(void *self, size_t n, const void **data)
{
    fss_keyfile_joiner *j = (fss_keyfile_joiner *)self;
    fss_status s;
    while (j->left == 0 && n) /* an exhausted (or empty) piece: go on to the next */
        if ((s = next_piece(j)) != FSS_OK)
            return s;
    if (n <= j->left) {
        *data = j->at;
        j->at += n;
        j->left -= n;
        return FSS_OK;
    }
    if (n > j->cap) {
        uint8_t *nb = (uint8_t *)malloc(n);
        if (!nb)
            return FSS_E_NOMEM;
        fss_free_wiped(j->buf, j->cap);
        j->buf = nb;
        j->cap = n;
    }
    for (size_t got = 0; got < n;) {
        if (j->left == 0 && (s = next_piece(j)) != FSS_OK)
            return s;
        const size_t take = n - got < j->left ? n - got : j->left;
        memcpy(j->buf + got, j->at, take);
        j->at += take;
        j->left -= take;
        got += take;
    }
    *data = j->buf;
    return FSS_OK;
}

/* At a piece's end, the next piece is fetched (as the next read would do). */
static size_t source_in_place(void *self)
{
    fss_keyfile_joiner *j = (fss_keyfile_joiner *)self;
    if (j->left == 0 && j->more && next_piece(j) != FSS_OK)
        return 0; /* the read will report it */
    return j->left;
}

static fss_status source_close(void *self)
{
    fss_keyfile_joiner *j = (fss_keyfile_joiner *)self;
    return j->left == 0 && !j->more ? FSS_OK : FSS_E_FORMAT;
}

void fss_keyfile_joiner_free(fss_keyfile_joiner *j)
{
    fss_free_wiped(j->buf, j->cap);
    j->buf = NULL;
    j->cap = 0;
}

static fss_status link_exchange(void *self, const void *send, size_t send_bytes, void *recv, size_t recv_bytes)
{
    return fss_peer_exchange((fss_peer *)self, send, send_bytes, recv, recv_bytes);
}

fss_key_sink fss_keyfile_sink(fss_keyfile_splitter *sp) { return (fss_key_sink){sink_begin, sink_append, sp}; }
fss_key_source fss_keyfile_source(fss_keyfile_joiner *j)
{
    return (fss_key_source){
        .open = source_open, .read = source_read, .close = source_close, .self = j, .in_place = source_in_place};
}
fss_link fss_peer_link(fss_peer *p) { return (fss_link){link_exchange, p}; }
