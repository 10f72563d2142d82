/* Fuzz target: SmolLM2's byte-level BPE (fss/bpe.h, transformers/smollm2-tokenizer.gguf) on
 * any bytes as the text; an accepted text's ids must be in the vocabulary and within the
 * room given, and, when none was cut, decode back to the text less its bytes without a token
 * (the tokenizer drops those). */
#include <stdlib.h>
#include <string.h>

#include "fss/bpe.h"
#include "fuzz_common.h"

#ifndef FSS_SOURCE_DIR
#error "FSS_SOURCE_DIR must name the source tree"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fss_bpe *b;
    static int32_t ids[4096];
    static char back[4 * 4096 + 64];
    char err[512];
    if (!b && fss_bpe_load_gguf(FSS_SOURCE_DIR "/transformers/smollm2-tokenizer.gguf", &b, err, sizeof err) != FSS_OK)
        abort();
    if (size > 1024)
        return 0;
    size_t room = 1 + (size ? data[0] : 0), n = 0, cut = 0, m = 0;
    if (fss_bpe_encode(b, (const char *)data, size, ids, room, &n, &cut, err, sizeof err) != FSS_OK)
        return 0;
    if (n > room || (cut && n != room))
        abort();
    for (size_t i = 0; i < n; i++)
        if ((size_t)ids[i] >= fss_bpe_vocab_size(b))
            abort();
    static char kept[1024]; /* the text less the bytes without a token (encoding drops them) */
    size_t nk = 0;
    for (size_t i = 0; i < size; i++)
        if (fss_bpe_byte_token(b, data[i]) >= 0)
            kept[nk++] = (char)data[i];
    for (size_t i = 0; !cut && i < n; i++) /* special tokens decode to their own text */
        m += fss_bpe_decode(b, ids[i], back + m, sizeof back - m);
    if (!cut && (m != nk || memcmp(back, kept, nk)))
        abort();
    return 0;
}
