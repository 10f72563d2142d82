/* Fuzz target: the key-body parsers (fss_dpf_keys_read, fss_dcf_keys_read, and the
 * _noroots readers the gates run) on any bytes, then an evaluation of what they accept.
 * The input is
 *   primitive (0 DPF, 1 DCF, 2 DPF comparison) | n | l | g or early | count | party | keys
 * with the parameters folded into their ranges (count's byte: bit 7 set for the layout
 * without roots, the roots then left zero) and exactly the keys' serialized size. */
#include <stdlib.h>

#include "fss/dcf.h"
#include "fss/dpf.h"
#include "fuzz_common.h"

static fss_ctx *ctx;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 6 || (!ctx && fss_ctx_new(&ctx, 1) != FSS_OK))
        return 0;
    const int prim = data[0] % 3, n = 1 + data[1] % 64, l = 1 + data[2] % 64, party = data[5] & 1;
    const size_t count = 1 + data[4] % 8, rb = data[4] & 0x80 ? 16 : 0; /* bytes less an instance */
    const uint8_t *in = data + 6;
    const size_t have = size - 6;
    uint64_t x[8], out[8 * FSS_DCF_MAX_G];
    for (size_t i = 0; i < count; i++)
        x[i] = (uint64_t)i * 0x9e3779b97f4a7c15u >> (64 - n);
    if (prim == 1) {
        const fss_dcf_params p = {.n = n, .l = l, .g = 1 + data[3] % 4};
        fss_dcf_keys k;
        if (have != count * (FSS_DCF_KEY_BYTES(p.n, p.l, p.g) - rb) || fss_dcf_keys_alloc(&k, p, party, count) != FSS_OK)
            return 0;
        const fss_status r = rb ? fss_dcf_keys_read_noroots(&k, 0, count, in) : fss_dcf_keys_read(&k, 0, count, in);
        if (r == FSS_OK && fss_dcf_eval(ctx, &k, x, out) != FSS_OK)
            abort(); /* parsed keys must evaluate */
        fss_dcf_keys_free(&k);
    } else {
        const int early = data[3] & 1;
        const fss_dpf_params p = {.n = n, .l = early ? 1 : l, .early = early};
        fss_dpf_keys k;
        if (have != count * (FSS_DPF_KEY_BYTES(p.n, p.l, p.early) - rb) ||
            fss_dpf_keys_alloc(&k, p, party, count) != FSS_OK)
            return 0;
        const fss_status r = rb ? fss_dpf_keys_read_noroots(&k, 0, count, in) : fss_dpf_keys_read(&k, 0, count, in);
        if (r == FSS_OK &&
            (prim == 2 && !early ? fss_dpf_cmp_eval(ctx, &k, x, out) : fss_dpf_eval(ctx, &k, x, out)) != FSS_OK)
            abort(); /* parsed keys must evaluate */
        fss_dpf_keys_free(&k);
    }
    return 0;
}
