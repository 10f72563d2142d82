/* Fuzz target: an ONNX model's plan as a key file carries it (fss/onnx_model.h) on any
 * bytes; an accepted plan is written back as text and must read the same. */
#include <stdlib.h>
#include <string.h>

#include "fss/onnx_model.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    fss_onnx_plan p;
    if (fss_onnx_plan_parse((const char *)data, size, &p, err, sizeof err) == FSS_OK) {
        char *t = fss_onnx_plan_text(&p);
        fss_onnx_plan q;
        if (t && fss_onnx_plan_parse(t, strlen(t), &q, err, sizeof err) == FSS_OK) {
            char *u = fss_onnx_plan_text(&q);
            if (u && strcmp(t, u))
                abort(); /* the text does not round-trip */
            free(u);
            fss_onnx_plan_free(&q);
        }
        free(t);
        (void)fss_onnx_out_count(&p);
        fss_onnx_plan_free(&p);
    }
    return 0;
}
