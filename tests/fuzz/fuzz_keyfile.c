/* Fuzz target: the key file reader (fss/keyfile.h) on any bytes. The input is
 *   kind (u32 LE) | elements (u64 LE) | the file
 * and every chunk is asked for with that kind and element count, as a party would. The
 * header peek, the first-chunk peek and the reader (open, next, finish) all run. */
#include <string.h>

#include "fss/keyfile.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 12)
        return 0;
    uint32_t kind = 0;
    uint64_t elements = 0;
    memcpy(&kind, data, 4); /* the test machines are little-endian, as the format */
    memcpy(&elements, data + 4, 8);
    char path[64], err[512];
    int fd = fuzz_file(data + 12, size - 12, path, sizeof path);
    if (fd < 0)
        return 0;
    fss_keyfile_info info;
    uint8_t first[4096];
    size_t len = 0;
    if (fss_keyfile_peek_info(path, &info, err, sizeof err) == FSS_OK) {
        fss_status peeked = fss_keyfile_peek_first(path, info.party, kind, first, sizeof first, &len, NULL, err,
                                                   sizeof err);
        (void)peeked;
        fss_keyfile_reader *r = NULL;
        if (fss_keyfile_open(&r, path, info.party, NULL) == FSS_OK) {
            fss_keyfile_chunk c;
            while (fss_keyfile_remaining(r) && fss_keyfile_next(r, kind, elements, &c) == FSS_OK)
                for (uint64_t i = 0; i < c.payload_bytes; i += 4096)
                    first[0] ^= c.data[i];
            fss_status done = fss_keyfile_reader_finish(r);
            (void)done;
        }
        fss_keyfile_reader_close(r);
    }
    close(fd);
    return 0;
}
