/* Fuzz target: the .npy reader (fss/npy.h) on any bytes; every element of an accepted
 * array is read back. */
#include "fss/npy.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64], err[512];
    int fd = fuzz_file(data, size, path, sizeof path);
    if (fd < 0)
        return 0;
    fss_npy a;
    if (fss_npy_read(path, &a, err, sizeof err) == FSS_OK) {
        double sum = 0;
        for (size_t i = 0; i < a.count; i++)
            sum += fss_npy_get(&a, i);
        (void)sum;
        fss_npy_free(&a);
    }
    close(fd);
    return 0;
}
