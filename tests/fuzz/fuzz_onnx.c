/* Fuzz target: the ONNX reader (fss/onnx.h) on any bytes, with and without values; an
 * accepted graph's nodes, attributes and initializers are walked. */
#include "fss/onnx.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    for (int load = 0; load < 2; load++) {
        fss_onnx_graph *g = NULL;
        if (fss_onnx_parse("fuzz", data, size, load, &g, err, sizeof err) == FSS_OK) {
            double sum = 0;
            for (size_t i = 0; i < g->nnodes; i++)
                for (size_t j = 0; j < g->nodes[i].nattr; j++)
                    sum += (double)g->nodes[i].attr[j].n;
            for (size_t i = 0; i < g->ninits; i++)
                for (size_t j = 0; load && g->inits[i].f && j < g->inits[i].count; j++)
                    sum += g->inits[i].f[j];
            (void)sum;
        }
        fss_onnx_free(g);
    }
    return 0;
}
