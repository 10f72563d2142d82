/* Fuzz target: the GGUF reader (fss/gguf.h) on any bytes; an accepted file's metadata
 * (numbers, strings, each array's elements) and every tensor it can read are read back. */
#include <stdlib.h>

#include "fss/gguf.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64], err[512];
    int fd = fuzz_file(data, size, path, sizeof path);
    if (fd < 0)
        return 0;
    fss_gguf *g = NULL;
    if (fss_gguf_open(path, &g, err, sizeof err) == FSS_OK) {
        static const char *const keys[] = {"llama.block_count", "general.architecture", "tokenizer.ggml.tokens",
                                           "tokenizer.ggml.token_type", "general.alignment"};
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            uint64_t u, n, len;
            double d;
            const char *s;
            int64_t v;
            fss_gguf_vtype ty;
            (void)fss_gguf_get_u64(g, keys[k], &u);
            (void)fss_gguf_get_f64(g, keys[k], &d);
            (void)fss_gguf_get_str(g, keys[k], &s, &len);
            if (fss_gguf_get_array(g, keys[k], &ty, &n))
                for (uint64_t i = 0; i < n && i < 64; i++)
                    (void)(fss_gguf_array_str(g, keys[k], i, &s, &len) + fss_gguf_array_int(g, keys[k], i, &v));
        }
        for (size_t i = 0; i < fss_gguf_tensor_count(g); i++) {
            const fss_gguf_tensor *t = fss_gguf_tensor_at(g, i);
            if (t->count > 4096)
                continue;
            float *f = malloc(t->count * sizeof *f);
            if (f && fss_gguf_read_f32(g, t, 0, t->count, f, err, sizeof err) == FSS_OK && t->count && f[0] != f[0])
                f[0] = 0;
            free(f);
        }
        fss_gguf_close(g);
    }
    close(fd);
    return 0;
}
