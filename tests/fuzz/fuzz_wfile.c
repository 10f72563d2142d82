/* Fuzz target: the masked weights file and model key readers (fss/weights_file.h) on any
 * bytes. An accepted file's first records are read back by the id, count and width their
 * headers give (and once with a wrong count); a model key is read from the same bytes. */
#include <stdlib.h>
#include <string.h>

#include "fss/weights_file.h"
#include "fuzz_common.h"

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64], err[512];
    int fd = fuzz_file(data, size, path, sizeof path);
    if (fd < 0)
        return 0;
    fss_model_key k;
    if (fss_model_key_read(&k, path, err, sizeof err) == FSS_OK)
        fss_model_key_wipe(&k);
    fss_wfile *r = NULL;
    if (fss_wfile_open(&r, path, err, sizeof err) == FSS_OK) {
        /* the records follow the header: magic, id, length, description, CRC */
        size_t at = size >= 28 ? 28 + (size_t)(data[24] | data[25] << 8 | data[26] << 16 | (uint32_t)data[27] << 24) + 4
                               : size;
        for (int i = 0; i < 3 && at + 32 <= size; i++) {
            const uint64_t id = le64(data + at), count = le64(data + at + 8);
            const int bits = data[at + 16];
            if (id == UINT64_MAX || bits < 1 || bits > 64 || count > ((uint64_t)1 << 20))
                break;
            const size_t nb = (size_t)((count * (uint64_t)bits + 7) / 8);
            uint8_t *p = (uint8_t *)malloc(nb ? nb : 1);
            if (p) {
                fss_status a = fss_wfile_get(r, id, count, bits, p, err, sizeof err);
                fss_status b = fss_wfile_get(r, id, count + 1, bits, p, err, sizeof err); /* the count */
                if (b == FSS_OK && a == FSS_OK) /* one of them has the wrong count */
                    abort();
                free(p);
            }
            at += 32 + nb;
        }
        (void)fss_wfile_id(r);
        (void)fss_wfile_desc(r);
        fss_wfile_close(r);
    }
    close(fd);
    return 0;
}
