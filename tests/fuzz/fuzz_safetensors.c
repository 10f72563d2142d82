/* Fuzz target: the safetensors reader (fss/safetensors.h) on any bytes; every tensor of an
 * accepted file is looked up by name and read, as float and as raw bytes. */
#include <stdlib.h>

#include "fss/safetensors.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64], err[512];
    int fd = fuzz_file(data, size, path, sizeof path);
    if (fd < 0)
        return 0;
    fss_safetensors *st = NULL;
    if (fss_safetensors_open(&st, path, err, sizeof err) == FSS_OK) {
        for (size_t i = 0; i < fss_safetensors_count(st); i++) {
            const fss_safetensors_tensor *t = fss_safetensors_at(st, i);
            if (fss_safetensors_find(st, t->name) != t)
                abort(); /* the lookup must find what the listing holds */
            if (t->count > (1u << 20) || t->nbytes > (1u << 22))
                continue;
            float *f = malloc(t->count * sizeof(float) + 1);
            void *raw = malloc(t->nbytes + 1);
            if (f && raw) {
                fss_status a = fss_safetensors_read_f32(st, t->name, f, t->count, err, sizeof err);
                fss_status b = fss_safetensors_read_raw(st, t->name, raw, t->nbytes, err, sizeof err);
                (void)a, (void)b; /* refusals are fine: a crash or a sanitizer report is not */
            }
            free(f);
            free(raw);
        }
        (void)fss_safetensors_metadata(st, "format");
        fss_safetensors_close(st);
    }
    close(fd);
    return 0;
}
