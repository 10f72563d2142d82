/* Fuzz target: the statistics' spec (fss/stats.h) on any bytes; an accepted spec's values
 * are computed from zero words and written out as results. */
#include <stdlib.h>

#include "fss/stats.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    fss_stats_spec sp;
    if (fss_stats_spec_parse("fuzz", (const char *)data, size, &sp, err, sizeof err) == FSS_OK) {
        uint64_t *words = (uint64_t *)calloc(sp.words ? sp.words : 1, sizeof *words);
        free(words ? fss_stats_results_json(&sp, words) : NULL);
        free(words);
        fss_stats_spec_free(&sp);
    }
    return 0;
}
