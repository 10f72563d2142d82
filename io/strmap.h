/* What io/'s tokenizers share: a string -> int32 map (open addressing, FNV-1a; keys are
 * (pointer, length) pairs into memory the caller keeps alive: a vocabulary file, a mapped
 * GGUF), and the check that a text is UTF-8. */
#ifndef FSS_IO_STRMAP_H
#define FSS_IO_STRMAP_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

typedef struct strmap_slot {
    const char *s;
    size_t n;
    int32_t v; /* -1: empty */
} strmap_slot;

typedef struct strmap {
    strmap_slot *slot;
    size_t mask; /* slots - 1, a power of two */
} strmap;

static inline uint64_t strmap_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

/* Room for count keys; 0 when out of memory. */
static inline int strmap_init(strmap *m, size_t count)
{
    size_t slots = 2;
    while (slots < 2 * count)
        slots *= 2;
    m->mask = slots - 1;
    if (!(m->slot = (strmap_slot *)malloc(slots * sizeof *m->slot)))
        return 0;
    for (size_t i = 0; i < slots; i++)
        m->slot[i].v = -1;
    return 1;
}

static inline void strmap_free(strmap *m)
{
    free(m->slot);
    m->slot = NULL;
}

static inline strmap_slot *strmap_at(const strmap *m, const char *s, size_t n)
{
    for (size_t i = strmap_hash(s, n) & m->mask;; i = (i + 1) & m->mask) {
        strmap_slot *e = &m->slot[i];
        if (e->v < 0 || (e->n == n && !memcmp(e->s, s, n)))
            return e;
    }
}

/* Insert or replace (the later value wins, as the reference tokenizers' maps keep). */
static inline void strmap_put(strmap *m, const char *s, size_t n, int32_t v)
{
    strmap_slot *e = strmap_at(m, s, n);
    e->s = s, e->n = n, e->v = v;
}

static inline int32_t strmap_get(const strmap *m, const char *s, size_t n) { return strmap_at(m, s, n)->v; }

/* The offset of the first byte that is not valid UTF-8 (overlong forms, surrogates and
 * code points past U+10FFFF included), or len. */
static inline size_t utf8_bad_at(const uint8_t *t, size_t len)
{
    for (size_t i = 0; i < len;) {
        utf8proc_int32_t c;
        const utf8proc_ssize_t k = utf8proc_iterate(t + i, (utf8proc_ssize_t)(len - i), &c);
        if (k < 0)
            return i;
        i += (size_t)k;
    }
    return len;
}

#endif
