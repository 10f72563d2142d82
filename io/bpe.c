/* Byte-level BPE from GGUF metadata; the rules are in fss/bpe.h. */
#include "fss/bpe.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "fss/gguf.h"
#include "strmap.h"

#define BPE_MAX_SPECIAL 4096

struct fss_bpe {
    fss_gguf *g;
    size_t ntok;
    const char **tok; /* id -> its stand-in bytes (into the map) */
    size_t *toklen;
    strmap ids;       /* stand-ins -> id */
    strmap ranks;     /* "A B" -> merge rank */
    int32_t *special; /* control and user-defined ids, the longest first */
    size_t nspecial;
    int digits;       /* smollm: each digit a piece */
    uint32_t byte_cp[256]; /* byte -> its stand-in code point */
    int16_t cp_byte[324];  /* stand-in code point (< 324) -> byte, -1 none */
};

void fss_bpe_free(fss_bpe *b)
{
    if (!b)
        return;
    strmap_free(&b->ids);
    strmap_free(&b->ranks);
    free(b->tok);
    free(b->toklen);
    free(b->special);
    fss_gguf_close(b->g);
    free(b);
}

size_t fss_bpe_vocab_size(const fss_bpe *b) { return b->ntok; }

/* GPT-2's bytes_to_unicode: the printable bytes stand for themselves, the others for 256,
 * 257, ... in their order. */
static void byte_map(fss_bpe *b)
{
    uint32_t next = 256;
    for (int i = 0; i < 324; i++)
        b->cp_byte[i] = -1;
    for (int c = 0; c < 256; c++) {
        const int printable = (c >= '!' && c <= '~') || (c >= 0xa1 && c <= 0xac) || (c >= 0xae && c <= 0xff);
        b->byte_cp[c] = printable ? (uint32_t)c : next++;
        b->cp_byte[b->byte_cp[c]] = (int16_t)c;
    }
}

/* The special tokens, the longest first (a stable insertion sort: there are few). */
static void sort_special(fss_bpe *b)
{
    for (size_t i = 1; i < b->nspecial; i++) {
        const int32_t x = b->special[i];
        size_t j = i;
        for (; j > 0 && b->toklen[b->special[j - 1]] < b->toklen[x]; j--)
            b->special[j] = b->special[j - 1];
        b->special[j] = x;
    }
}

fss_status fss_bpe_load_gguf(const char *path, fss_bpe **out, char *err, size_t err_len)
{
    *out = NULL;
    fss_bpe *b = (fss_bpe *)calloc(1, sizeof *b);
    if (!b)
        return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
    fss_status s = fss_gguf_open(path, &b->g, err, err_len);
    const char *model = NULL, *pre = NULL;
    uint64_t mlen = 0, plen = 0, nmerge = 0, ntype = 0;
    fss_gguf_vtype ty = FSS_GGUF_U8, mty = FSS_GGUF_U8, tty = FSS_GGUF_U8;
    if (s == FSS_OK && (!fss_gguf_get_str(b->g, "tokenizer.ggml.model", &model, &mlen) || mlen != 4 ||
                        memcmp(model, "gpt2", 4) || !fss_gguf_get_array(b->g, "tokenizer.ggml.tokens", &ty, &b->ntok) ||
                        ty != FSS_GGUF_STRING || !b->ntok || b->ntok > INT32_MAX ||
                        !fss_gguf_get_array(b->g, "tokenizer.ggml.merges", &mty, &nmerge) || mty != FSS_GGUF_STRING))
        s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: no byte-level BPE tokenizer (tokenizer.ggml.model \"gpt2\", its "
                       "tokens and merges)", path);
    if (s == FSS_OK && fss_gguf_get_str(b->g, "tokenizer.ggml.pre", &pre, &plen)) {
        b->digits = plen == 6 && !memcmp(pre, "smollm", 6);
        if (!b->digits && !(plen == 4 && !memcmp(pre, "gpt2", 4)) && !(plen == 7 && !memcmp(pre, "default", 7)))
            s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: pre-tokenizer '%.*s', which this build does not know (smollm, gpt2)",
                           path, (int)(plen < 64 ? plen : 64), pre);
    }
    if (s == FSS_OK && (!(b->tok = (const char **)malloc(b->ntok * sizeof *b->tok)) ||
                        !(b->toklen = (size_t *)malloc(b->ntok * sizeof *b->toklen)) || !strmap_init(&b->ids, b->ntok) ||
                        !strmap_init(&b->ranks, nmerge) ||
                        !(b->special = (int32_t *)malloc(BPE_MAX_SPECIAL * sizeof *b->special))))
        s = fss_errorf(err, err_len, FSS_E_NOMEM, "%s: out of memory for the tokenizer", path);
    const int typed = s == FSS_OK && fss_gguf_get_array(b->g, "tokenizer.ggml.token_type", &tty, &ntype) && ntype == b->ntok;
    for (size_t i = 0; s == FSS_OK && i < b->ntok; i++) {
        uint64_t n;
        int64_t t = 1;
        fss_gguf_array_str(b->g, "tokenizer.ggml.tokens", i, &b->tok[i], &n);
        b->toklen[i] = (size_t)n;
        strmap_put(&b->ids, b->tok[i], b->toklen[i], (int32_t)i);
        if (typed && fss_gguf_array_int(b->g, "tokenizer.ggml.token_type", i, &t) && (t == 3 || t == 4) && n) {
            if (b->nspecial == BPE_MAX_SPECIAL)
                s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: more than %d special tokens", path, BPE_MAX_SPECIAL);
            else
                b->special[b->nspecial++] = (int32_t)i;
        }
    }
    for (uint64_t i = 0; s == FSS_OK && i < nmerge; i++) {
        const char *m;
        uint64_t n;
        fss_gguf_array_str(b->g, "tokenizer.ggml.merges", i, &m, &n);
        if (!memchr(m, ' ', n))
            s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: merge %llu has no space", path, (unsigned long long)i);
        else if (strmap_get(&b->ranks, m, n) < 0) /* a repeated merge keeps its first rank */
            strmap_put(&b->ranks, m, n, (int32_t)i);
    }
    if (s == FSS_OK) {
        byte_map(b);
        sort_special(b);
        *out = b;
        return FSS_OK;
    }
    fss_bpe_free(b);
    return s;
}

/* ---- pre-tokenization --------------------------------------------------------------- */

static int is_space(int32_t c)
{
    return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

static int is_letter(int32_t c)
{
    const utf8proc_category_t k = utf8proc_category(c);
    return k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO;
}

static int is_number(int32_t c)
{
    const utf8proc_category_t k = utf8proc_category(c);
    return k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO;
}

/* The length of GPT-2's pattern's match at p[i] (n code points). */
static size_t gpt2_match(const int32_t *p, size_t n, size_t i)
{
    if (p[i] == '\'' && i + 1 < n) {
        const int32_t a = p[i + 1], c = i + 2 < n ? p[i + 2] : 0;
        if (a == 's' || a == 't' || a == 'm' || a == 'd')
            return 2;
        if ((a == 'r' && c == 'e') || (a == 'v' && c == 'e') || (a == 'l' && c == 'l'))
            return 3;
    }
    const size_t sp = p[i] == ' ' && i + 1 < n, k = i + sp;
    size_t j = k;
    if (j < n && is_letter(p[j])) {
        while (j < n && is_letter(p[j]))
            j++;
    } else if (j < n && is_number(p[j])) {
        while (j < n && is_number(p[j]))
            j++;
    } else if (j < n && !is_space(p[j])) {
        while (j < n && !is_space(p[j]) && !is_letter(p[j]) && !is_number(p[j]))
            j++;
    } else { /* spaces: not the last one before a non-space, unless it is alone */
        j = i;
        while (j < n && is_space(p[j]))
            j++;
        if (j < n && j - i > 1)
            j--;
        return j - i;
    }
    return j - i;
}

/* ---- BPE on one piece ---------------------------------------------------------------- */

/* A pair of adjacent symbols that a merge names: its rank, and the two with their lengths
 * when it was found (a later merge of either makes it stale). */
typedef struct cand {
    int32_t rank;
    size_t i, j, li, lj;
} cand;

typedef struct work {
    char *sym;        /* the piece's stand-ins, UTF-8 */
    size_t *at, *len; /* symbols: offset and length in sym (0: merged into its left neighbour) */
    size_t *nx, *pv;  /* the next and previous live symbol, NONE at the ends */
    cand *heap;       /* the pairs, the lowest rank (then the leftmost) on top */
    char *key;        /* "A B" */
} work;

#define NONE ((size_t)-1)

static int cand_before(const cand *a, const cand *b) { return a->rank != b->rank ? a->rank < b->rank : a->i < b->i; }

/* Push pair (i, j) if a merge names it. */
static void pair_push(const fss_bpe *b, work *w, size_t *hn, size_t i, size_t j)
{
    const size_t la = w->len[i], lb = w->len[j];
    memcpy(w->key, w->sym + w->at[i], la);
    w->key[la] = ' ';
    memcpy(w->key + la + 1, w->sym + w->at[j], lb);
    const int32_t r = strmap_get(&b->ranks, w->key, la + 1 + lb);
    if (r < 0)
        return;
    size_t k = (*hn)++;
    w->heap[k] = (cand){r, i, j, la, lb};
    for (; k && cand_before(&w->heap[k], &w->heap[(k - 1) / 2]); k = (k - 1) / 2) { /* sift up */
        const cand t = w->heap[k];
        w->heap[k] = w->heap[(k - 1) / 2], w->heap[(k - 1) / 2] = t;
    }
}

static cand pair_pop(work *w, size_t *hn)
{
    const cand top = w->heap[0];
    w->heap[0] = w->heap[--*hn];
    for (size_t k = 0;;) { /* sift down */
        size_t c = 2 * k + 1;
        if (c >= *hn)
            break;
        if (c + 1 < *hn && cand_before(&w->heap[c + 1], &w->heap[c]))
            c++;
        if (!cand_before(&w->heap[c], &w->heap[k]))
            break;
        const cand t = w->heap[k];
        w->heap[k] = w->heap[c], w->heap[c] = t;
        k = c;
    }
    return top;
}

static void bpe_piece(const fss_bpe *b, const uint8_t *bytes, size_t nb, work *w, int32_t *ids, size_t max, size_t *n,
                      size_t *cut)
{
    size_t ns = 0, pos = 0;
    for (size_t i = 0; i < nb; i++) { /* each byte a symbol: its stand-in; one without a token is dropped
                                         * first, as the reference does (SmolLM2 has none for some control bytes) */
        w->at[ns] = pos;
        w->len[ns] = (size_t)utf8proc_encode_char((utf8proc_int32_t)b->byte_cp[bytes[i]], (utf8proc_uint8_t *)w->sym + pos);
        if (strmap_get(&b->ids, w->sym + pos, w->len[ns]) >= 0)
            pos += w->len[ns++];
    }
    /* merge the lowest ranked adjacent pair, the leftmost first, until none is a merge: a
     * heap of the pairs, each merge pushing its two new neighbours' (n log n) */
    size_t hn = 0;
    for (size_t i = 0; i < ns; i++)
        w->pv[i] = i ? i - 1 : NONE, w->nx[i] = i + 1 < ns ? i + 1 : NONE;
    for (size_t i = 0; i + 1 < ns; i++)
        pair_push(b, w, &hn, i, i + 1);
    while (hn) {
        const cand c = pair_pop(w, &hn);
        if (w->nx[c.i] != c.j || w->len[c.i] != c.li || w->len[c.j] != c.lj)
            continue; /* stale: one of the two has merged since */
        w->len[c.i] += w->len[c.j]; /* adjacent in sym: the two are one */
        w->len[c.j] = 0;
        w->nx[c.i] = w->nx[c.j];
        if (w->nx[c.j] != NONE)
            w->pv[w->nx[c.j]] = c.i;
        if (w->pv[c.i] != NONE)
            pair_push(b, w, &hn, w->pv[c.i], c.i);
        if (w->nx[c.i] != NONE)
            pair_push(b, w, &hn, c.i, w->nx[c.i]);
    }
    for (size_t i = ns ? 0 : NONE; i != NONE; i = w->nx[i]) {
        const int32_t id = strmap_get(&b->ids, w->sym + w->at[i], w->len[i]);
        if (id < 0) /* (a merge's result is a token in any sound vocabulary) */
            continue;
        if (*n < max)
            ids[(*n)++] = id;
        else
            ++*cut;
    }
}

/* Text without special tokens: digits apart (smollm), GPT-2's pieces, BPE. */
static fss_status bpe_part(const fss_bpe *b, const uint8_t *t, size_t len, work *w, int32_t *ids, size_t max,
                           size_t *n, size_t *cut, char *err, size_t err_len)
{
    int32_t *cp = (int32_t *)malloc((len + 1) * sizeof *cp);
    size_t *off = (size_t *)malloc((len + 1) * sizeof *off), nc = 0;
    if (!cp || !off) {
        free(cp), free(off);
        return fss_errorf(err, err_len, FSS_E_NOMEM, "tokenizer: out of memory");
    }
    for (size_t i = 0; i < len;) {
        off[nc] = i;
        i += (size_t)utf8proc_iterate(t + i, (utf8proc_ssize_t)(len - i), &cp[nc++]); /* validated */
    }
    off[nc] = len;
    fss_status s = FSS_OK;
    for (size_t a = 0; s == FSS_OK && a < nc;) { /* a run [a, e) between digits, or one digit */
        size_t e = a + 1;
        if (!(b->digits && is_number(cp[a])))
            while (e < nc && !(b->digits && is_number(cp[e])))
                e++;
        for (size_t i = a; s == FSS_OK && i < e;) {
            const size_t k = gpt2_match(cp + a, e - a, i - a);
            bpe_piece(b, t + off[i], off[i + k] - off[i], w, ids, max, n, cut);
            i += k;
        }
        a = e;
    }
    fss_free_wiped(cp, (len + 1) * sizeof *cp), fss_free_wiped(off, (len + 1) * sizeof *off);
    return s;
}

fss_status fss_bpe_encode(const fss_bpe *b, const char *text, size_t len, int32_t *ids, size_t max, size_t *n,
                          size_t *cut, char *err, size_t err_len)
{
    size_t dropped = 0;
    *n = 0;
    if (cut)
        *cut = 0;
    const uint8_t *t = (const uint8_t *)text;
    const size_t bad = utf8_bad_at(t, len);
    if (bad < len)
        return fss_errorf(err, err_len, FSS_E_FORMAT, "text: not valid UTF-8 at byte %zu", bad);
    /* a piece's stand-ins take at most 2 bytes a byte; "A B" twice that and one; the heap
     * holds the first pairs and two a merge: under 3 a byte */
    const size_t ns = len + 1;
    work w = {(char *)malloc(2 * len + 8), (size_t *)malloc(ns * sizeof(size_t)), (size_t *)malloc(ns * sizeof(size_t)),
              (size_t *)malloc(ns * sizeof(size_t)), (size_t *)malloc(ns * sizeof(size_t)),
              (cand *)malloc(3 * ns * sizeof(cand)), (char *)malloc(4 * len + 8)};
    fss_status s = w.sym && w.at && w.len && w.nx && w.pv && w.heap && w.key
                       ? FSS_OK
                       : fss_errorf(err, err_len, FSS_E_NOMEM, "tokenizer: out of memory");
    size_t seg = 0;
    for (size_t i = 0; s == FSS_OK && i < len;) {
        int32_t hit = -1;
        for (size_t k = 0; k < b->nspecial && hit < 0; k++) { /* the longest first */
            const int32_t id = b->special[k];
            if (b->toklen[id] <= len - i && !memcmp(t + i, b->tok[id], b->toklen[id]))
                hit = id;
        }
        if (hit < 0) {
            i++;
            continue;
        }
        if ((s = bpe_part(b, t + seg, i - seg, &w, ids, max, n, &dropped, err, err_len)) != FSS_OK)
            break;
        if (*n < max)
            ids[(*n)++] = hit;
        else
            dropped++;
        i += b->toklen[hit];
        seg = i;
    }
    if (s == FSS_OK)
        s = bpe_part(b, t + seg, len - seg, &w, ids, max, n, &dropped, err, err_len);
    fss_free_wiped(w.sym, 2 * len + 8), fss_free_wiped(w.at, ns * sizeof(size_t)); /* party 1's text */
    fss_free_wiped(w.len, ns * sizeof(size_t)), fss_free_wiped(w.key, 4 * len + 8);
    fss_free_wiped(w.nx, ns * sizeof(size_t)), fss_free_wiped(w.pv, ns * sizeof(size_t));
    fss_free_wiped(w.heap, 3 * ns * sizeof(cand));
    if (cut)
        *cut = dropped;
    return s;
}

int32_t fss_bpe_byte_token(const fss_bpe *b, uint8_t c)
{
    uint8_t u[4];
    return strmap_get(&b->ids, (const char *)u, (size_t)utf8proc_encode_char((utf8proc_int32_t)b->byte_cp[c], u));
}

size_t fss_bpe_decode(const fss_bpe *b, int32_t id, char *out, size_t room)
{
    if (id < 0 || (size_t)id >= b->ntok)
        return 0;
    const uint8_t *p = (const uint8_t *)b->tok[id];
    const size_t n = b->toklen[id];
    for (size_t k = 0; k < b->nspecial; k++) /* a special token's text is itself */
        if (b->special[k] == id) {
            const size_t m = n < room ? n : room;
            memcpy(out, p, m);
            return m;
        }
    size_t k = 0;
    for (size_t i = 0; i < n && k < room;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t step = utf8proc_iterate(p + i, (utf8proc_ssize_t)(n - i), &c);
        if (step <= 0)
            break;
        i += (size_t)step;
        out[k++] = c >= 0 && c < 324 && b->cp_byte[c] >= 0 ? (char)b->cp_byte[c] : '?';
    }
    return k;
}
