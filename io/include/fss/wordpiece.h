/* BERT's WordPiece tokenizer (uncased), as the Hugging Face `tokenizers` library runs it
 * from a tokenizer.json with a BertNormalizer (clean_text, handle_chinese_chars, lowercase,
 * strip_accents unset and so on), a BertPreTokenizer, a WordPiece model ("##" prefix, 100
 * characters a word) and the [CLS] $A [SEP] template: all-MiniLM-L6-v2's tokenizer.
 *
 * The steps, on UTF-8 text:
 *   1. The literal special tokens [CLS], [SEP], [PAD], [MASK] and [UNK] anywhere in the raw
 *      text are those tokens (case-sensitive, before any normalization); the text between
 *      them goes through 2 to 5.
 *   2. Clean: drop NUL, U+FFFD and every character of category Cc, Cf, Co or Cs except tab,
 *      newline and carriage return (unassigned ones stay, and become [UNK]); then every
 *      white-space character becomes a space.
 *   3. A space before and after each CJK ideograph (the BERT ranges).
 *   4. Canonical decomposition (NFD), nonspacing marks (Mn) dropped, then each character
 *      lower-cased on its own (the full mapping, not context-sensitive: a final capital
 *      sigma becomes σ, never ς, unlike Python's str.lower()).
 *   5. Split at white space, each punctuation character a word of its own (categories P*
 *      and ASCII's punctuation); a word of more than 100 characters is [UNK]; otherwise
 *      the longest vocabulary entry from the left, then "##"-prefixed entries for the
 *      rest, and if any part has none the whole word is [UNK].
 * The ids are [CLS], the pieces (at most max_tokens - 2, the rest cut), [SEP].
 *
 * Unicode data come from utf8proc, except for the 568 code points where the reference's
 * older tables (Unicode 8-era categories) say otherwise: io/wordpiece_unicode.h, made by
 * tests/wordpiece_unicode.py from the reference itself. With it the two agree on every
 * code point (each alone between two letters; tests/test_wordpiece with the reference's
 * all-code-points output).
 *
 * Errors as in fss/npy.h: a status and one line in err. The vocabulary file is
 * vocab.txt: one token a line, the id its line number from 0. */
#ifndef FSS_IO_WORDPIECE_H
#define FSS_IO_WORDPIECE_H

#include <stdint.h>

#include "fss/common.h"

#define FSS_WORDPIECE_MAX_WORD 100 /* characters; longer words are [UNK] */

typedef struct fss_wordpiece fss_wordpiece;

FSS_EXTERN_C_BEGIN

/* Read vocab.txt at path. [CLS], [SEP] and [UNK] must be in it. Free with
 * fss_wordpiece_free. */
FSS_NODISCARD fss_status fss_wordpiece_load(const char *path, fss_wordpiece **wp, char *err, size_t err_len);
void fss_wordpiece_free(fss_wordpiece *wp);

size_t fss_wordpiece_vocab_size(const fss_wordpiece *wp);
/* The token of id, or NULL when id is out of range. */
const char *fss_wordpiece_token(const fss_wordpiece *wp, int32_t id);
/* The id of a token's exact text, or -1. */
int32_t fss_wordpiece_id(const fss_wordpiece *wp, const char *token);

/* Tokenize len bytes of UTF-8 text into ids[0..*n): [CLS], the pieces, [SEP], at most
 * max_tokens (>= 2) in all. *cut (when not NULL) is how many pieces did not fit. Text
 * that is not valid UTF-8 is refused (FSS_E_FORMAT, the byte offset named). */
FSS_NODISCARD fss_status fss_wordpiece_encode(const fss_wordpiece *wp, const char *text, size_t len, int32_t *ids,
                                              size_t max_tokens, size_t *n, size_t *cut, char *err, size_t err_len);

FSS_EXTERN_C_END

#endif
