/* Fuzz target: the CSV reader (fss/csv.h) on any bytes, asked for two columns; every value
 * of an accepted table is read back. */
#include <string.h>

#include "fss/csv.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"a", "b c"};
    char err[512];
    fss_csv t;
    if (fss_csv_parse("fuzz", (const char *)data, size, names, 2, &t, err, sizeof err) == FSS_OK) {
        double sum = 0;
        for (size_t i = 0; i < t.rows * t.cols; i++)
            sum += t.v[i];
        (void)sum;
        fss_csv_free(&t);
    }
    return 0;
}
