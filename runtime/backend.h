/* Internal to runtime/: the party's backends behind one table (ggml's backend interface in
 * small): where the FSS evaluations of the gates and their ring products run. The CPU
 * backend (backend_cpu.c) implements everything and is the fallback for what another does
 * not support; the CUDA backend (backend_cuda.c) runs the FSS evaluations and the matrix
 * and convolution products on the device. Same bits on both. The dispatch, with the
 * per-phase timing, is in backend.c (fss_ev_* in eval_internal.h). */
#ifndef FSS_BACKEND_H
#define FSS_BACKEND_H

#include "eval_internal.h"
#include "prim.h"

/* What a backend may or may not run (supports). */
typedef enum fss_op {
    FSS_OP_PRIM_DCF = FSS_PRIM_DCF, /* the primitives, by kind */
    FSS_OP_PRIM_DPF_CMP = FSS_PRIM_DPF_CMP,
    FSS_OP_PRIM_DPF_LUT = FSS_PRIM_DPF_LUT,
    FSS_OP_PROD_ELEMENTWISE = FSS_PRIM_KINDS, /* the ring products, by fss_prod_shape.kind */
    FSS_OP_PROD_MATMUL,
    FSS_OP_PROD_CONV,
    FSS_OP_PROD_BATCHED,
} fss_op;

typedef struct fss_backend_ops {
    fss_backend id;
    size_t step; /* instances a party step evaluates at most (a multiple of FSS_KEY_BLOCK) */
    /* Sets up ev->be_state (the CPU needs none); free undoes it, waiting for queued work. */
    fss_status (*init)(fss_eval *ev);
    void (*free)(fss_eval *ev);
    int (*supports)(const fss_eval *ev, fss_op op);
    /* 1 when a step's serialized keys go to the backend as read and are parsed there
     * (eval_serial); else the CPU parses them into step_mem for eval. */
    int (*parses)(const fss_eval *ev);
    /* Memory for a step's parsed keys (key_bytes), with room for count inputs and
     * out_words outputs where the backend wants it: the CPU's is one buffer, reused; the
     * CUDA backend's one of two page-locked slots in turn (the slot's previous step waited
     * for first), so the CPU parses step i + 1 while the device runs step i. */
    fss_status (*step_mem)(fss_eval *ev, size_t key_bytes, size_t count, size_t out_words, void **mem);
    /* A step's evaluation, from keys k parsed into the last step_mem, or from m serialized
     * keys at ser (as read from the key source, without roots) and their m roots (the
     * caller's buffer, free to reuse once this returns). The backend may queue the work:
     * out is written by steps_end at the latest. */
    fss_status (*eval)(fss_eval *ev, const fss_prim_keys *k, const uint64_t *x, uint64_t *out);
    fss_status (*eval_serial)(fss_eval *ev, const fss_prim *pr, size_t m, const uint8_t *ser, const fss_block *roots,
                              const uint64_t *x, uint64_t *out);
    /* Waits until the last step's serialized keys have left the key source's memory. */
    fss_status (*keys_released)(fss_eval *ev);
    /* After a take's steps, with its status s: waits for queued steps and hands out their
     * outputs; when s is a failure, drains the queue and drops them. Returns s or the
     * backend's own failure. */
    fss_status (*steps_end)(fss_eval *ev, fss_status s);
    /* C += prod(A1, B1) + prod(A2, B2) (A2 NULL: the first only), mod 2^64. */
    fss_status (*prod_pair)(fss_eval *ev, const fss_prod_shape *ps, const uint64_t *A1, const uint64_t *B1,
                            const uint64_t *A2, const uint64_t *B2, uint64_t *C);
    /* Where the key reader's chunk buffers come from ({0}: malloc). */
    fss_keyfile_alloc (*chunk_alloc)(const fss_eval *ev);
} fss_backend_ops;

extern const fss_backend_ops fss_backend_cpu_ops;
/* The context's backend when it supports op, else the CPU's. */
const fss_backend_ops *fss_ev_backend_for(const fss_eval *ev, fss_op op);
#ifdef FSS_HAVE_CUDA
extern const fss_backend_ops fss_backend_cuda_ops;
#endif

#endif
