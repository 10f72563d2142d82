/* Byte-level BPE (GPT-2's scheme) from a GGUF file's tokenizer metadata, as SmolLM2's
 * tokenizer runs (Hugging Face: its tokenizer.json's Digits(individual) and ByteLevel
 * pre-tokenizers and BPE model; llama.cpp: tokenizer.ggml.pre "smollm").
 *
 * The metadata read: tokenizer.ggml.model "gpt2", tokenizer.ggml.pre ("smollm": each
 * digit a piece of its own first; "gpt2" or "default": not), tokenizer.ggml.tokens (each
 * token's bytes as GPT-2's printable stand-ins), tokenizer.ggml.merges ("A B", the rank
 * their order) and tokenizer.ggml.token_type (3 control, 4 user-defined: matched literally
 * in the text before anything else, the longest first).
 *
 * Encoding: the special tokens split the text; each other part is cut into digits (smollm)
 * and then by GPT-2's pattern ('s 't 're 've 'm 'll 'd, an optional space and letters, an
 * optional space and numbers, an optional space and other non-space characters, spaces not
 * before a non-space, spaces), each piece's bytes become their stand-ins and the lowest
 * ranked adjacent pair is merged until none is in the merges; each symbol is a token (a
 * symbol without one is dropped, as the reference does: SmolLM2 has no token for some
 * control bytes).
 * Errors as in fss/npy.h. */
#ifndef FSS_IO_BPE_H
#define FSS_IO_BPE_H

#include <stdint.h>

#include "fss/common.h"

typedef struct fss_bpe fss_bpe;

FSS_EXTERN_C_BEGIN

/* The tokenizer of the GGUF file at path (only its metadata is read; the file stays
 * mapped until fss_bpe_free). */
FSS_NODISCARD fss_status fss_bpe_load_gguf(const char *path, fss_bpe **b, char *err, size_t err_len);
void fss_bpe_free(fss_bpe *b);
size_t fss_bpe_vocab_size(const fss_bpe *b);

/* The ids of len bytes of UTF-8 text, at most max of them (*cut: how many more there were;
 * may be NULL). Text that is not UTF-8 is refused (FSS_E_FORMAT). */
FSS_NODISCARD fss_status fss_bpe_encode(const fss_bpe *b, const char *text, size_t len, int32_t *ids, size_t max,
                                        size_t *n, size_t *cut, char *err, size_t err_len);
/* Token id's bytes (its stand-ins mapped back) into out[0..room); their count (0 for an id
 * out of range; special tokens give their text). */
size_t fss_bpe_decode(const fss_bpe *b, int32_t id, char *out, size_t room);
/* The id of the token that is byte c alone, or -1 where the vocabulary has none (encoding
 * drops such a byte before any merge, as the reference does). */
int32_t fss_bpe_byte_token(const fss_bpe *b, uint8_t c);

FSS_EXTERN_C_END

#endif
