/* Fuzz target: the key file reader (fss/keyfile.h) on any bytes. The input is
 *   fix (u8) | kind (u32 LE) | elements (u64 LE) | the file
 * and every chunk is asked for with that kind and element count, as a party would. The
 * header peek, the first-chunk peek and the reader (open, next, finish) all run. With
 * fix's bit 0 the header check, with bit 1 each chunk's two checksums (walking the chunks
 * by their stated sizes) are made right first, so that mutations reach the checks behind
 * the checksums instead of stopping at them. */
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "fss/keyfile.h"
#include "fuzz_common.h"

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); } /* little-endian machines */

/* Rewrites the checksums of the file in f (n bytes) by the documented layout. */
static void fix_checksums(uint8_t *f, size_t n, int fix)
{
    if ((fix & 1) && n >= 128) {
        uint8_t t[88];
        memcpy(t, f, 88);
        memset(t + 64, 0, 4); /* the state field reads as 0 */
        put32(f + 88, fss_crc32c(fss_crc32c(0, t, 88), f + 92, 32));
    }
    for (size_t off = 128; (fix & 2) && off + 32 <= n;) {
        uint64_t bytes;
        memcpy(&bytes, f + off + 16, 8);
        if (bytes > n - off - 32)
            break;
        put32(f + off + 24, fss_crc32c(0, f + off + 32, (size_t)bytes));
        put32(f + off + 28, fss_crc32c(0, f + off, 28));
        off += 32 + (size_t)bytes;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 13)
        return 0;
    uint32_t kind = 0;
    uint64_t elements = 0;
    memcpy(&kind, data + 1, 4); /* the test machines are little-endian, as the format */
    memcpy(&elements, data + 5, 8);
    uint8_t *file = malloc(size - 13 + 1);
    if (!file)
        return 0;
    memcpy(file, data + 13, size - 13);
    fix_checksums(file, size - 13, data[0]);
    char path[64], err[512];
    int fd = fuzz_file(file, size - 13, path, sizeof path);
    free(file);
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
