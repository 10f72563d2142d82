/* BERT's WordPiece tokenizer; the rules are in fss/wordpiece.h. */
#include "fss/wordpiece.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "strmap.h"

enum { WP_DROP, WP_SPLIT, WP_KEEP };
#include "wordpiece_unicode.h"

#define WP_MAX_VOCAB (1u << 24) /* tokens; BERT's have 30522 */
#define WP_MAX_FILE (64u << 20) /* bytes of vocab.txt */

static const char *const wp_specials[] = {"[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]"};
#define WP_NSPECIAL (sizeof wp_specials / sizeof wp_specials[0])

struct fss_wordpiece {
    char *blob;       /* the file, each line NUL-terminated in place */
    char **tok;       /* id -> token */
    size_t ntok;
    strmap ids;       /* token -> id */
    int32_t special[WP_NSPECIAL]; /* ids of wp_specials, -1 when absent */
};

/* The id of the n bytes at s, or -1. */
static int32_t wp_find(const fss_wordpiece *wp, const char *s, size_t n) { return strmap_get(&wp->ids, s, n); }

void fss_wordpiece_free(fss_wordpiece *wp)
{
    if (!wp)
        return;
    free(wp->blob);
    free(wp->tok);
    strmap_free(&wp->ids);
    free(wp);
}

fss_status fss_wordpiece_load(const char *path, fss_wordpiece **out, char *err, size_t err_len)
{
    *out = NULL;
    if (strcmp(utf8proc_unicode_version(), WP_UNICODE_VERSION)) /* the library at run time, not the header */
        return fss_errorf(err, err_len, FSS_E_ARG,
                          "tokenizer: utf8proc has Unicode %s, and its table of the reference's differences is for %s "
                          "(tests/wordpiece_unicode.py makes it anew)", utf8proc_unicode_version(), WP_UNICODE_VERSION);
    FILE *f = fopen(path, "rb");
    if (!f)
        return fss_errorf(err, err_len, FSS_E_IO, "%s: %s", path, strerror(errno));
    fss_wordpiece *wp = calloc(1, sizeof *wp);
    size_t len = 0, cap = 1 << 16;
    char *blob = malloc(cap + 1);
    fss_status s = FSS_OK;
    if (!wp || !blob) {
        s = fss_errorf(err, err_len, FSS_E_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    for (size_t got; (got = fread(blob + len, 1, cap - len, f)) > 0;) {
        len += got;
        if (len == cap) {
            char *b = cap <= WP_MAX_FILE ? realloc(blob, 2 * cap + 1) : NULL;
            if (!b) {
                s = cap > WP_MAX_FILE ? fss_errorf(err, err_len, FSS_E_FORMAT, "%s: larger than %u MiB", path, WP_MAX_FILE >> 20)
                                      : fss_errorf(err, err_len, FSS_E_NOMEM, "%s: out of memory", path);
                goto fail;
            }
            blob = b;
            cap *= 2;
        }
    }
    if (ferror(f)) {
        s = fss_errorf(err, err_len, FSS_E_IO, "%s: read failed", path);
        goto fail;
    }
    blob[len] = '\0';
    wp->blob = blob;
    blob = NULL;
    if (memchr(wp->blob, '\0', len)) {
        s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: a NUL byte; not a vocab.txt", path);
        goto fail;
    }
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += wp->blob[i] == '\n';
    lines += len && wp->blob[len - 1] != '\n'; /* a last line without its newline */
    if (!lines || lines > WP_MAX_VOCAB) {
        s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: %zu tokens (1 to %u)", path, lines, WP_MAX_VOCAB);
        goto fail;
    }
    wp->tok = malloc(lines * sizeof *wp->tok);
    if (!wp->tok || !strmap_init(&wp->ids, lines)) {
        s = fss_errorf(err, err_len, FSS_E_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    for (char *p = wp->blob; wp->ntok < lines;) {
        char *nl = strchr(p, '\n'), *e = nl ? nl : p + strlen(p);
        while (e > p && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
            e--; /* as the reference trims each line's end */
        *e = '\0';
        int32_t id = (int32_t)wp->ntok++;
        wp->tok[id] = p;
        strmap_put(&wp->ids, p, (size_t)(e - p), id); /* a repeated token: the later id */
        p = nl ? nl + 1 : e;
    }
    for (size_t k = 0; k < WP_NSPECIAL; k++)
        wp->special[k] = wp_find(wp, wp_specials[k], strlen(wp_specials[k]));
    for (size_t k = 0; k < WP_NSPECIAL; k++)
        if (wp->special[k] < 0 && (k < 2 || k == WP_NSPECIAL - 1)) {
            s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: no %s token; not a BERT vocab.txt", path, wp_specials[k]);
            goto fail;
        }
    fclose(f);
    *out = wp;
    return FSS_OK;
fail:
    fclose(f);
    free(blob);
    fss_wordpiece_free(wp);
    return s;
}

size_t fss_wordpiece_vocab_size(const fss_wordpiece *wp) { return wp->ntok; }

const char *fss_wordpiece_token(const fss_wordpiece *wp, int32_t id)
{
    return id >= 0 && (size_t)id < wp->ntok ? wp->tok[id] : NULL;
}

int32_t fss_wordpiece_id(const fss_wordpiece *wp, const char *token) { return wp_find(wp, token, strlen(token)); }

/* ---- character classes (the reference's, on utf8proc's Unicode data) ---------------- */


/* What the reference does with c where its older Unicode data differ from utf8proc's
 * (WP_DROP, WP_SPLIT, WP_KEEP), else -1: utf8proc's data hold. */
static int wp_reference_class(int32_t c)
{
    size_t lo = 0, hi = sizeof wp_reference_classes / sizeof wp_reference_classes[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c < wp_reference_classes[mid].lo)
            hi = mid;
        else if (c > wp_reference_classes[mid].hi)
            lo = mid + 1;
        else
            return wp_reference_classes[mid].cls;
    }
    return -1;
}

static int wp_is_space(int32_t c) /* Rust's char::is_whitespace: Unicode White_Space */
{
    return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

/* Cc, Cf, Co and Cs but tab, newline and carriage return. Unassigned characters (Cn) stay,
 * as in the reference (they become [UNK]). */
static int wp_is_control(int32_t c)
{
    if (c == '\t' || c == '\n' || c == '\r')
        return 0;
    utf8proc_category_t k = utf8proc_category(c);
    return k == UTF8PROC_CATEGORY_CC || k == UTF8PROC_CATEGORY_CF || k == UTF8PROC_CATEGORY_CO ||
           k == UTF8PROC_CATEGORY_CS;
}

static int wp_is_punct(int32_t c)
{
    if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126))
        return 1;
    utf8proc_category_t k = utf8proc_category(c);
    return k >= UTF8PROC_CATEGORY_PC && k <= UTF8PROC_CATEGORY_PO;
}

/* BERT's CJK ranges as the reference has them: its extension-E range starts at 0x2B920
 * (not 0x2B820), so 2B820-2B91F are not spaced. */
static int wp_is_cjk(int32_t c)
{
    return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x20000 && c <= 0x2a6df) ||
           (c >= 0x2a700 && c <= 0x2b73f) || (c >= 0x2b740 && c <= 0x2b81f) || (c >= 0x2b920 && c <= 0x2ceaf) ||
           (c >= 0xf900 && c <= 0xfaff) || (c >= 0x2f800 && c <= 0x2fa1f);
}

/* ---- encoding ---------------------------------------------------------------------- */

typedef struct wp_out {
    int32_t *ids;
    size_t room, n, cut; /* room for pieces; pieces written; pieces that did not fit */
} wp_out;

static void wp_emit(wp_out *o, int32_t id)
{
    if (o->n < o->room)
        o->ids[o->n++] = id;
    else
        o->cut++;
}

/* One word (w, wlen bytes, nch characters starting at the offsets in at[]) as pieces. */
static void wp_word(const fss_wordpiece *wp, const char *w, size_t wlen, const size_t *at, size_t nch, char *scratch,
                    wp_out *o)
{
    if (!nch)
        return;
    int32_t unk = wp->special[WP_NSPECIAL - 1];
    if (nch > FSS_WORDPIECE_MAX_WORD) {
        wp_emit(o, unk);
        return;
    }
    int32_t found[FSS_WORDPIECE_MAX_WORD];
    size_t nf = 0;
    for (size_t start = 0; start < nch;) {
        size_t end = nch;
        int32_t id = -1;
        for (; end > start; end--) {
            size_t b0 = at[start], b1 = end < nch ? at[end] : wlen;
            if (start == 0) {
                id = wp_find(wp, w, b1);
            } else {
                memcpy(scratch, "##", 2);
                memcpy(scratch + 2, w + b0, b1 - b0);
                id = wp_find(wp, scratch, b1 - b0 + 2);
            }
            if (id >= 0)
                break;
        }
        if (id < 0) {
            wp_emit(o, unk);
            return;
        }
        found[nf++] = id;
        start = end;
    }
    for (size_t i = 0; i < nf; i++)
        wp_emit(o, found[i]);
}

/* Text without special tokens: steps 2 to 5 of fss/wordpiece.h. */
static fss_status wp_segment(const fss_wordpiece *wp, const uint8_t *t, size_t len, wp_out *o, char *err,
                             size_t err_len)
{
    if (!len)
        return FSS_OK;
    /* 2 and 3: cleaned, CJK spaced, as UTF-8 (at most 3 characters of 4 bytes each in) */
    uint8_t *clean = malloc(12 * len + 1);
    if (!clean)
        return fss_errorf(err, err_len, FSS_E_NOMEM, "tokenizer: out of memory");
    size_t cn = 0;
    for (size_t i = 0; i < len;) {
        utf8proc_int32_t c;
        i += (size_t)utf8proc_iterate(t + i, (utf8proc_ssize_t)(len - i), &c); /* validated by the caller */
        int k = wp_reference_class(c);
        if (k == WP_DROP || (k < 0 && (c == 0 || c == 0xfffd || wp_is_control(c))))
            continue;
        if (wp_is_space(c))
            c = ' ';
        int cjk = wp_is_cjk(c);
        if (cjk)
            clean[cn++] = ' ';
        cn += (size_t)utf8proc_encode_char(c, clean + cn);
        if (cjk)
            clean[cn++] = ' ';
    }
    /* 4: NFD */
    utf8proc_uint8_t *nfd = NULL;
    utf8proc_ssize_t nn = cn ? utf8proc_map(clean, (utf8proc_ssize_t)cn, &nfd, UTF8PROC_DECOMPOSE) : 0;
    fss_free_wiped(clean, 12 * len + 1); /* party 1's text: wiped wherever it was */
    if (nn < 0)
        return fss_errorf(err, err_len, nn == UTF8PROC_ERROR_NOMEM ? FSS_E_NOMEM : FSS_E_FORMAT, "tokenizer: %s",
                          utf8proc_errmsg(nn));
    /* 4 and 5: marks dropped, lower-cased, split, each word to pieces */
    size_t cap = 4 * (size_t)nn + 8;
    char *word = malloc(cap), *scratch = malloc(cap + 2);
    size_t *at = malloc(cap * sizeof *at);
    if (!word || !scratch || !at) {
        free(word), free(scratch), free(at), fss_free_wiped(nfd, (size_t)nn);
        return fss_errorf(err, err_len, FSS_E_NOMEM, "tokenizer: out of memory");
    }
    size_t wlen = 0, nch = 0;
    for (utf8proc_ssize_t i = 0; i < nn;) {
        utf8proc_int32_t c;
        i += utf8proc_iterate(nfd + i, nn - i, &c);
        int k = wp_reference_class(c);
        if (k == WP_DROP || (k < 0 && utf8proc_category(c) == UTF8PROC_CATEGORY_MN))
            continue;
        if (wp_is_space(c) || k == WP_SPLIT || (k < 0 && wp_is_punct(c))) {
            wp_word(wp, word, wlen, at, nch, scratch, o);
            wlen = nch = 0;
            if (wp_is_space(c))
                continue;
            at[nch++] = 0;
            wlen = (size_t)utf8proc_encode_char(c, (utf8proc_uint8_t *)word);
            wp_word(wp, word, wlen, at, nch, scratch, o);
            wlen = nch = 0;
            continue;
        }
        /* full lower-case mapping: only U+0130 differs from the simple one (it has gone
         * to I + U+0307 in NFD already; kept for the rule's sake) */
        utf8proc_int32_t lc[2] = {utf8proc_tolower(c), -1};
        if (c == 0x130)
            lc[0] = 'i', lc[1] = 0x307;
        for (int j = 0; j < 2 && lc[j] >= 0; j++) {
            at[nch++] = wlen;
            wlen += (size_t)utf8proc_encode_char(lc[j], (utf8proc_uint8_t *)word + wlen);
        }
    }
    wp_word(wp, word, wlen, at, nch, scratch, o);
    fss_free_wiped(word, cap), fss_free_wiped(scratch, cap + 2), fss_free_wiped(at, cap * sizeof *at);
    fss_free_wiped(nfd, (size_t)nn);
    return FSS_OK;
}

fss_status fss_wordpiece_encode(const fss_wordpiece *wp, const char *text, size_t len, int32_t *ids, size_t max_tokens,
                                size_t *n, size_t *cut, char *err, size_t err_len)
{
    *n = 0;
    if (cut)
        *cut = 0;
    if (max_tokens < 2 || (len && !text))
        return fss_errorf(err, err_len, FSS_E_ARG, "tokenizer: room for %zu tokens (2 or more)", max_tokens);
    const uint8_t *t = (const uint8_t *)text;
    const size_t bad = utf8_bad_at(t, len);
    if (bad < len)
        return fss_errorf(err, err_len, FSS_E_FORMAT, "text: not valid UTF-8 at byte %zu", bad);
    wp_out o = {.ids = ids + 1, .room = max_tokens - 2};
    size_t seg = 0;
    for (size_t i = 0; i < len; i++) {
        if (t[i] != '[')
            continue;
        for (size_t k = 0; k < WP_NSPECIAL; k++) {
            size_t sl = strlen(wp_specials[k]);
            if (wp->special[k] < 0 || len - i < sl || memcmp(t + i, wp_specials[k], sl))
                continue;
            fss_status s = wp_segment(wp, t + seg, i - seg, &o, err, err_len);
            if (s != FSS_OK)
                return s;
            wp_emit(&o, wp->special[k]);
            i += sl - 1;
            seg = i + 1;
            break;
        }
    }
    fss_status s = wp_segment(wp, t + seg, len - seg, &o, err, err_len);
    if (s != FSS_OK)
        return s;
    ids[0] = wp->special[0];
    ids[o.n + 1] = wp->special[1];
    *n = o.n + 2;
    if (cut)
        *cut = o.cut;
    return FSS_OK;
}
