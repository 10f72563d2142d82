#include "fss/memkeys.h"

#include <stdlib.h>
#include <string.h>

typedef struct chunk {
    uint32_t kind;
    uint64_t elements;
    size_t bytes;
    uint8_t *data;
} chunk;

struct fss_memkeys {
    chunk *c;
    size_t n, cap, next, total;
    size_t fill_at; /* bytes appended to the last chunk */
    size_t read_at; /* bytes read of the open chunk (next - 1) */
    size_t piece;   /* in_place as if keys came in pieces of this many bytes (0: whole) */
};

fss_status fss_memkeys_new(fss_memkeys **out)
{
    *out = (fss_memkeys *)calloc(1, sizeof **out);
    return *out ? FSS_OK : FSS_E_NOMEM;
}

void fss_memkeys_free(fss_memkeys *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        fss_memzero(m->c[i].data, m->c[i].bytes);
        free(m->c[i].data);
    }
    free(m->c);
    free(m);
}

static fss_status begin(void *self, uint32_t kind, uint64_t elements, size_t bytes)
{
    fss_memkeys *m = (fss_memkeys *)self;
    if (m->n && m->fill_at != m->c[m->n - 1].bytes)
        return FSS_E_ARG; /* the previous key is not complete */
    if (m->n == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 16;
        chunk *c = (chunk *)realloc(m->c, cap * sizeof *c);
        if (!c)
            return FSS_E_NOMEM;
        m->c = c;
        m->cap = cap;
    }
    uint8_t *d = (uint8_t *)malloc(bytes ? bytes : 1);
    if (!d)
        return FSS_E_NOMEM;
    m->c[m->n++] = (chunk){kind, elements, bytes, d};
    m->fill_at = 0;
    m->total += bytes;
    return FSS_OK;
}

static fss_status append(void *self, const void *data, size_t n)
{
    fss_memkeys *m = (fss_memkeys *)self;
    if (!m->n || n > m->c[m->n - 1].bytes - m->fill_at || (n && !data))
        return FSS_E_ARG; /* no key begun, more bytes than it declared, or a dry dealer's sizes */
    if (n)
        memcpy(m->c[m->n - 1].data + m->fill_at, data, n);
    m->fill_at += n;
    return FSS_OK;
}

static fss_status open_key(void *self, uint32_t kind, uint64_t elements)
{
    fss_memkeys *m = (fss_memkeys *)self;
    if (m->next >= m->n || (m->next == m->n - 1 && m->fill_at != m->c[m->n - 1].bytes))
        return FSS_E_FORMAT; /* the keys end before the walk does */
    chunk *c = &m->c[m->next];
    if (c->kind != kind || c->elements != elements)
        return FSS_E_FORMAT;
    m->next++;
    m->read_at = 0;
    return FSS_OK;
}

static fss_status read_key(void *self, size_t n, const void **data)
{
    fss_memkeys *m = (fss_memkeys *)self;
    if (!m->next || n > m->c[m->next - 1].bytes - m->read_at)
        return FSS_E_FORMAT;
    *data = m->c[m->next - 1].data + m->read_at;
    m->read_at += n;
    return FSS_OK;
}

static fss_status close_key(void *self)
{
    fss_memkeys *m = (fss_memkeys *)self;
    return m->next && m->read_at == m->c[m->next - 1].bytes ? FSS_OK : FSS_E_FORMAT;
}

static size_t in_place(void *self)
{
    const fss_memkeys *m = (const fss_memkeys *)self;
    if (!m->next)
        return 0;
    const size_t left = m->c[m->next - 1].bytes - m->read_at;
    if (!m->piece)
        return left;
    const size_t in_piece = m->piece - m->read_at % m->piece;
    return in_piece < left ? in_piece : left;
}

void fss_memkeys_set_piece(fss_memkeys *m, size_t piece) { m->piece = piece; }

uint8_t *fss_memkeys_chunk(fss_memkeys *m, size_t i, uint32_t *kind, size_t *bytes)
{
    if (i >= m->n)
        return NULL;
    *kind = m->c[i].kind;
    *bytes = m->c[i].bytes;
    return m->c[i].data;
}
fss_key_sink fss_memkeys_sink(fss_memkeys *m) { return (fss_key_sink){begin, append, m}; }
fss_key_source fss_memkeys_source(fss_memkeys *m)
{
    return (fss_key_source){.open = open_key, .read = read_key, .close = close_key, .self = m, .in_place = in_place};
}
size_t fss_memkeys_chunks(const fss_memkeys *m) { return m->n; }
size_t fss_memkeys_unread(const fss_memkeys *m) { return m->n - m->next; }
size_t fss_memkeys_bytes(const fss_memkeys *m) { return m->total; }
