/* Internal to runtime/: the FSS primitives a gate deals and a party evaluates from
 * serialized keys, one table entry a kind. The dealer's and the party's key paths
 * (eval.c) and each backend (backend_*.c) go through the entry, so a new primitive (the
 * full-domain DPF of lookup tables, say) is one entry here and one in the CUDA backend's
 * table, not a set of twin functions. */
#ifndef FSS_PRIM_H
#define FSS_PRIM_H

#include "fss/dcf.h"
#include "fss/dpf.h"

typedef enum fss_prim_kind {
    FSS_PRIM_DCF,     /* DCF eval: g outputs an instance */
    FSS_PRIM_DPF_CMP, /* comparison from DPF keys: one XOR-shared bit an instance */
    FSS_PRIM_DPF_LUT, /* a public table's entry at x - alpha from full-domain DPF keys: one
                         additive share an instance, two with lut2 (CPU only for now) */
    FSS_PRIM_KINDS
} fss_prim_kind;

/* A primitive and its parameters. */
typedef struct fss_prim {
    fss_prim_kind kind;
    fss_dcf_params dcf; /* FSS_PRIM_DCF */
    fss_dpf_params dpf; /* FSS_PRIM_DPF_CMP, FSS_PRIM_DPF_LUT */
    const uint64_t *lut; /* FSS_PRIM_DPF_LUT: the public table, 2^dpf.n entries */
    const uint64_t *lut2; /* and a second one at the same index (NULL: none): two outputs an instance */
    int pairs; /* with lut2, keys whose leaf at alpha (even) holds (1, beta): each output is its table at
                  x - alpha plus beta times the entry before (fss_gate_lut_lin); beta one an instance */
} fss_prim;

static inline fss_prim fss_prim_dcf(fss_dcf_params p)
{
    fss_prim pr = {FSS_PRIM_DCF, p, {0, 0, 0}, NULL, NULL, 0};
    return pr;
}

static inline fss_prim fss_prim_dpf_cmp(fss_dpf_params p)
{
    fss_prim pr = {FSS_PRIM_DPF_CMP, {0, 0, 0}, p, NULL, NULL, 0};
    return pr;
}

static inline fss_prim fss_prim_dpf_lut(fss_dpf_params p, const uint64_t *table)
{
    fss_prim pr = {FSS_PRIM_DPF_LUT, {0, 0, 0}, p, table, NULL, 0};
    return pr;
}

/* Two tables at one index from one key (fss_dpf_lut2_eval): the keys are one lookup's. */
static inline fss_prim fss_prim_dpf_lut2(fss_dpf_params p, const uint64_t *table, const uint64_t *table2)
{
    fss_prim pr = {FSS_PRIM_DPF_LUT, {0, 0, 0}, p, table, table2, 0};
    return pr;
}

/* The same with keys of a leaf pair (1, beta) at an even alpha (p.early 2 or 3; fss_dpf_keygen_pairs). */
static inline fss_prim fss_prim_dpf_lut_lin(fss_dpf_params p, const uint64_t *table, const uint64_t *table2)
{
    fss_prim pr = {FSS_PRIM_DPF_LUT, {0, 0, 0}, p, table, table2, 1};
    return pr;
}

/* A batch of a primitive's parsed keys, bound to host or device memory. */
typedef struct fss_prim_keys {
    fss_prim pr;
    size_t count;
    void *mem;
    size_t owned; /* bytes of mem when fss_prim_keys_alloc made it (host) */
    union {
        fss_dcf_keys dcf;
        fss_dpf_keys dpf;
    } k;
} fss_prim_keys;

/* What the key path needs of a primitive, typed by the kernels; the entry's functions take
 * keys bound by fss_prim_keys_bind (their pr and count set). */
typedef struct fss_prim_ops {
    const char *name;                        /* in messages: "DCF", "comparison" */
    /* serialized, an instance, without its root (the layout of fss_*_keys_write_noroots:
     * FSS_*_KEY_BYTES - 16): the key path derives a gate's roots from a seed a party */
    size_t (*key_bytes)(const fss_prim *pr);
    size_t (*outs)(const fss_prim *pr); /* output words an instance (and beta's words; a lookup's beta is 1) */
    size_t (*parsed)(const fss_prim *pr, size_t count); /* bytes of count parsed instances */
    void (*bind)(fss_prim_keys *k, int party, void *mem);
    fss_block *(*roots)(fss_prim_keys *k); /* the bound keys' root array (count of them) */
    /* the dealer's keys for count instances of k0's primitive (beta NULL: 1 each) */
    fss_status (*keygen)(fss_ctx *ctx, size_t count, const uint64_t *alpha, const uint64_t *beta,
                         const fss_block *roots, fss_prim_keys *k0, fss_prim_keys *k1);
    /* without the roots; read leaves them to the caller */
    void (*write)(const fss_prim_keys *k, size_t first, size_t count, uint8_t *out);
    fss_status (*read)(fss_prim_keys *k, size_t first, size_t count, const uint8_t *in);
    /* the CPU's evaluation: out[i * outs + j] */
    fss_status (*eval)(fss_ctx *ctx, const fss_prim_keys *k, const uint64_t *x, uint64_t *out);
} fss_prim_ops;

const fss_prim_ops *fss_prim_ops_of(fss_prim_kind kind);
/* Keys of count instances of pr over mem (host or device, 64-byte aligned, at least
 * ops->parsed bytes); or over a host allocation of their own, wiped by free. */
void fss_prim_keys_bind(fss_prim_keys *k, const fss_prim *pr, int party, size_t count, void *mem);
FSS_NODISCARD fss_status fss_prim_keys_alloc(fss_prim_keys *k, const fss_prim *pr, int party, size_t count);
void fss_prim_keys_free(fss_prim_keys *k);

#endif
