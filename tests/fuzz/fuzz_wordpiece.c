/* Fuzz target: the WordPiece tokenizer (fss/wordpiece.h) on any bytes as the text, with
 * all-MiniLM-L6-v2's vocabulary; an accepted text's ids must be [CLS] ... [SEP], in the
 * vocabulary and within the room given. */
#include <stdlib.h>

#include "fss/wordpiece.h"
#include "fuzz_common.h"

#ifndef FSS_SOURCE_DIR
#error "FSS_SOURCE_DIR must name the source tree"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fss_wordpiece *wp;
    static int32_t ids[300];
    char err[512];
    if (!wp && fss_wordpiece_load(FSS_SOURCE_DIR "/transformers/minilm-vocab.txt", &wp, err, sizeof err) != FSS_OK)
        abort();
    size_t room = 2 + (size ? data[0] : 0), n = 0, cut = 0;
    if (fss_wordpiece_encode(wp, (const char *)data, size, ids, room, &n, &cut, err, sizeof err) != FSS_OK)
        return 0;
    if (n < 2 || n > room || ids[0] != fss_wordpiece_id(wp, "[CLS]") || ids[n - 1] != fss_wordpiece_id(wp, "[SEP]"))
        abort();
    for (size_t i = 0; i < n; i++)
        if (!fss_wordpiece_token(wp, ids[i]))
            abort();
    if (cut && n != room)
        abort();
    return 0;
}
