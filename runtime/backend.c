/* The party's backends behind one table (backend.h): choosing one, and the dispatch the
 * gates and the key path call, each call timed into its phase. An operation the context's
 * backend does not support runs on the CPU backend. */
#include <string.h>

#include "backend.h"
#ifdef FSS_HAVE_CUDA
#include "fss/cuda.h"
#endif

static const fss_backend_ops *const g_backends[] = {
    &fss_backend_cpu_ops,
#ifdef FSS_HAVE_CUDA
    &fss_backend_cuda_ops,
#endif
};

static const fss_backend_ops *backend_ops(fss_backend b)
{
    for (size_t i = 0; i < sizeof g_backends / sizeof *g_backends; i++)
        if (g_backends[i]->id == b)
            return g_backends[i];
    return NULL;
}

const char *fss_backend_name(fss_backend b) { return b == FSS_BACKEND_CUDA ? "cuda" : "cpu"; }
fss_backend fss_eval_backend(const fss_eval *ev) { return ev->be->id; }

const char *fss_backend_unavailable(fss_backend b)
{
    if (b == FSS_BACKEND_CPU)
        return NULL;
    if (b != FSS_BACKEND_CUDA)
        return "unknown backend";
#ifdef FSS_HAVE_CUDA
    return fss_cuda_device_count() > 0 ? NULL : "backend cuda: no CUDA device is visible on this machine";
#else
    return "backend cuda: this build has no CUDA backend (no nvcc at configure time)";
#endif
}

fss_status fss_eval_set_backend(fss_eval *ev, fss_backend b)
{
    const char *why = fss_backend_unavailable(b);
    const fss_backend_ops *be = why ? NULL : backend_ops(b);
    if (!be)
        return fss_ev_fail(ev, b == FSS_BACKEND_CUDA ? FSS_E_NODEV : FSS_E_ARG, "%s", why ? why : "unknown backend");
    if (be == ev->be)
        return FSS_OK;
    fss_ev_backend_free(ev);
    fss_status s = be->init ? be->init(ev) : FSS_OK;
    if (s == FSS_OK)
        ev->be = be;
    return s;
}

void fss_ev_backend_free(fss_eval *ev)
{
    if (ev->be && ev->be->free)
        ev->be->free(ev);
    ev->be = &fss_backend_cpu_ops;
    ev->be_state = NULL;
}

const fss_backend_ops *fss_ev_backend_for(const fss_eval *ev, fss_op op)
{
    return ev->be->supports(ev, op) ? ev->be : &fss_backend_cpu_ops;
}

fss_keyfile_alloc fss_eval_chunk_alloc(const fss_eval *ev) { return ev->be->chunk_alloc(ev); }

fss_status fss_ev_keys_released(fss_eval *ev)
{
    const double t0 = fss_now();
    fss_status s = ev->be->keys_released(ev);
    fss_ev_lap(ev, FSS_PHASE_FSS, t0);
    return s;
}

fss_status fss_ev_prod_pair(fss_eval *ev, const fss_prod_shape *ps, const uint64_t *A1, const uint64_t *B1,
                            const uint64_t *A2, const uint64_t *B2, uint64_t *C)
{
    static const fss_op ops[] = {[FSS_PROD_ELEMENTWISE] = FSS_OP_PROD_ELEMENTWISE,
                                 [FSS_PROD_MATMUL] = FSS_OP_PROD_MATMUL, [FSS_PROD_CONV] = FSS_OP_PROD_CONV,
                                 [FSS_PROD_BATCHED] = FSS_OP_PROD_BATCHED};
    const fss_backend_ops *be = fss_ev_backend_for(ev, ops[ps->kind]);
    const double t0 = fss_now();
    fss_status s = be->prod_pair(ev, ps, A1, B1, A2, B2, C);
    if (be != &fss_backend_cpu_ops) /* the CPU's product times itself (fss_ev_prod) */
        fss_ev_lap(ev, FSS_PHASE_PROD, t0);
    return s;
}
