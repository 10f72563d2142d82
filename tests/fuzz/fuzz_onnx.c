/* Fuzz target: the ONNX reader (fss/onnx.h) on any bytes, with and without values; an
 * accepted graph's nodes, attributes and initializers are walked, and it is lowered as the
 * dealer (structure) and party 0 (values) lower it (fss/onnx_model.h: batches of 2, a
 * dynamic sequence of 3): a plan lowering makes must read back from its text, party 0's
 * weights are read for it, and where both lower the file, the dealer's plan (no weights'
 * values) must be party 0's. */
#include <stdlib.h>
#include <string.h>

#include "fss/onnx.h"
#include "fss/onnx_model.h"
#include "fuzz_common.h"

/* The plan's text for g (NULL when lowering refuses it); *t_out keeps it. */
static void lower(const fss_onnx_graph *g, int load, char **t_out)
{
    char err[512];
    const size_t seq = g->ninputs && g->inputs[0].ndim == 3 && g->inputs[0].dims[1] < 0 ? 3 : 0;
    fss_onnx_plan p, q;
    *t_out = NULL;
    if (fss_onnx_lower(g, 2, seq, &p, err, sizeof err) != FSS_OK)
        return;
    char *t = fss_onnx_plan_text(&p);
    if (t && fss_onnx_plan_parse(t, strlen(t), &q, err, sizeof err) != FSS_OK)
        abort(); /* lowering made a plan its own check refuses */
    if (t)
        fss_onnx_plan_free(&q);
    *t_out = t;
    if (load) { /* refused or not, freed */
        fss_onnx_values v;
        const fss_status s = fss_onnx_weights(&p, g, 48, 12, &v, err, sizeof err);
        (void)s;
        fss_onnx_weights_free(&v);
    }
    fss_onnx_plan_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512], *text[2] = {NULL, NULL};
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
            lower(g, load, &text[load]);
        }
        fss_onnx_free(g);
    }
    if (text[0] && text[1] && strcmp(text[0], text[1]))
        abort(); /* the dealer (no weights) and party 0 (its weights) lowered one file to two plans */
    free(text[0]), free(text[1]);
    return 0;
}
