/* What the fuzz targets share: the fuzz input as a file (the readers take paths), in
 * memory (memfd) so that no disk is touched. Each target defines LLVMFuzzerTestOneInput;
 * under clang with FSS_FUZZ=ON libFuzzer drives it, otherwise replay.c does (its seed
 * corpus and random mutations of it). */
#ifndef FSS_FUZZ_COMMON_H
#define FSS_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* data as an in-memory file: its descriptor (close it) and a path to it in path; -1 on
 * failure. */
static inline int fuzz_file(const uint8_t *data, size_t size, char *path, size_t path_len)
{
    int fd = memfd_create("fss-fuzz", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    for (size_t off = 0; off < size;) {
        ssize_t k = write(fd, data + off, size - off);
        if (k <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)k;
    }
    snprintf(path, path_len, "/proc/self/fd/%d", fd);
    return fd;
}

#endif
