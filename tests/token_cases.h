/* The tokenizer tests' reference cases (tests/wordpiece_ref.py, tests/bpe_ref.py): one line
 * a text, its UTF-8 bytes in hex, a tab, the reference's ids, a tab, the pieces it cut. */
#ifndef FSS_TEST_TOKEN_CASES_H
#define FSS_TEST_TOKEN_CASES_H

#include <string.h>

#include "check.h"

static size_t unhex(const char *h, size_t n, char *out)
{
    size_t k = 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        unsigned v;
        REQUIRE(sscanf(h + i, "%2x", &v) == 1);
        out[k++] = (char)v;
    }
    return k;
}

/* The next case of f into text (*len bytes), want (*nw ids, at most maxw) and *cut; 0 at
 * the end. line: a buffer of line_len bytes. */
static int token_case(FILE *f, char *line, size_t line_len, char *text, size_t *len, int32_t *want, size_t maxw,
                      size_t *nw, size_t *cut)
{
    if (!fgets(line, (int)line_len, f))
        return 0;
    char *tab1 = strchr(line, '\t'), *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
    REQUIRE(tab1 && tab2);
    *len = unhex(line, (size_t)(tab1 - line), text);
    *nw = 0;
    for (char *p = tab1 + 1; p < tab2;) {
        char *e;
        long v = strtol(p, &e, 10);
        REQUIRE(e != p && *nw < maxw);
        want[(*nw)++] = (int32_t)v;
        p = e;
        while (*p == ' ')
            p++;
    }
    *cut = strtoul(tab2 + 1, NULL, 10);
    return 1;
}

/* Code point c (not a surrogate) as UTF-8 at t: its bytes' count. */
static size_t put_utf8(char *t, uint32_t c)
{
    if (c < 0x80) {
        t[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        t[0] = (char)(0xc0 | c >> 6), t[1] = (char)(0x80 | (c & 63));
        return 2;
    }
    if (c < 0x10000) {
        t[0] = (char)(0xe0 | c >> 12), t[1] = (char)(0x80 | (c >> 6 & 63)), t[2] = (char)(0x80 | (c & 63));
        return 3;
    }
    t[0] = (char)(0xf0 | c >> 18), t[1] = (char)(0x80 | (c >> 12 & 63));
    t[2] = (char)(0x80 | (c >> 6 & 63)), t[3] = (char)(0x80 | (c & 63));
    return 4;
}

/* A failing case's text, its first 120 bytes, control bytes as '?'. */
static void show(const char *what, const char *t, size_t len)
{
    fprintf(stderr, "  %s: \"", what);
    for (size_t i = 0; i < len && i < 120; i++)
        fputc((unsigned char)t[i] >= 0x20 ? t[i] : '?', stderr);
    fprintf(stderr, "%s\"\n", len > 120 ? "..." : "");
}

#endif
