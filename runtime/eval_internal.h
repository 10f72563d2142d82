/* Internal to runtime/: what gate implementations need from the context. */
#ifndef FSS_EVAL_INTERNAL_H
#define FSS_EVAL_INTERNAL_H

#include <time.h>

#include "fss/eval.h"
#include "fss/gates.h"
#include "fss/gemm.h"
#include "fss/keyfile.h"
#include "fss/ring.h"
#include "prim.h"

struct fss_eval {
    fss_mode mode;
    int party;
    fss_ctx *cpu;
    fss_rng *rng;
    fss_key_sink sinks[2];
    fss_key_kind put_kind[2]; /* the kind of the key each sink has begun (stats.kind_bytes) */
    fss_key_source src;
    fss_link link;
    fss_eval_stats stats;
    const struct fss_backend_ops *be; /* the party's backend (backend.h); the CPU's by default */
    void *be_state;                   /* its state (the CUDA backend's stream and slots), or NULL */
    void *keymem; /* the CPU backend's: the parsed keys of one step, reused (no page faults, no zeroing) */
    size_t keymem_cap;
    int dry; /* a dealer that only counts (fss_eval_set_dry) */
    size_t lean_min; /* shifts of this many elements or more are lean (fss_eval_set_lean_shifts) */
    uint64_t explicit_bytes[2]; /* packed explicit shares each party has been dealt (fss_ev_mixed_*) */
    int wonce;       /* weights input once: 0 no, 1 the setup run, 2 an inference */
    uint8_t wkey[16]; /* the dealer's model key */
    fss_weight_store wstore; /* party 1's masked weights */
    uint64_t wdigest; /* an inference's: of the masked weights made (party 0) or read (party 1) */
    /* kept weights (fss_eval_keep_weights): n tensors and their ids, values of them in use */
    struct fss_kept {
        uint64_t id;
        fss_tensor t;
    } *kept;
    size_t kept_n, kept_cap, kept_values, kept_budget;
    char err[512];
};

/* A secret x secret product: elementwise (m = count), matrix (X m x k, W k x n) or
 * convolution (X [B][C][H][W], W [O][C][kh][kw], output ho x wo). */
enum { FSS_PROD_ELEMENTWISE, FSS_PROD_MATMUL, FSS_PROD_CONV, FSS_PROD_BATCHED };
typedef struct fss_prod_shape {
    int kind;
    size_t m, k, n;
    fss_conv2d_params cv;
    size_t ho, wo;
    /* FSS_PROD_BATCHED: batch products [m x k][k x n], W's matrix b / group for X's b (a
     * group of query heads shares a key/value head), W stored [n][k] when trans */
    size_t batch, group;
    int trans;
} fss_prod_shape;

/* C (+)= prod(A, B) mod 2^64 on the CPU, A the X-side and B the W-side operand
 * (backend_cpu.c): the dealer's and the clear walk's products. */
FSS_NODISCARD fss_status fss_ev_prod(fss_eval *ev, const fss_prod_shape *ps, const uint64_t *A, const uint64_t *B,
                                     uint64_t *C, int acc);
/* The im2col geometry of one image of a convolution product. */
fss_im2col_geom fss_prod_conv_geom(const fss_prod_shape *ps);
/* The party's products, C += prod(A1, B1) + prod(A2, B2) (A2 NULL: the first only), on
 * the context's backend where it supports the kind (matrix and convolution products go to
 * the GPU under cuda), else on the CPU (backend.c). */
FSS_NODISCARD fss_status fss_ev_prod_pair(fss_eval *ev, const fss_prod_shape *ps, const uint64_t *A1,
                                          const uint64_t *B1, const uint64_t *A2, const uint64_t *B2, uint64_t *C);
/* Frees the backend's state (waiting for its queued work) and goes back to the CPU's. */
void fss_ev_backend_free(fss_eval *ev);
/* Waits until the backend's copies of the last step's keys have left the key source's
 * memory: fss_ev_open, fss_ev_read and fss_ev_in_place call it before they touch the
 * source, so a read's data lives until the next access, whatever the backend. */
FSS_NODISCARD fss_status fss_ev_keys_released(fss_eval *ev);

/* A gate's FSS keys, one path for every primitive (keys.c). Dealer: cnt key pairs (beta
 * NULL: 1 each; else outs per instance) appended, serialized, to both parties' current
 * keys, a step of instances at a time. Party: cnt serialized keys (as the dealer wrote
 * them, back to back), read from the open key and evaluated at x on the context's
 * backend, a step of instances at a time, out[i * outs + j]. On failure the context's
 * error names what. */
FSS_NODISCARD fss_status fss_ev_deal(fss_eval *ev, const fss_prim *pr, size_t cnt, const uint64_t *alpha,
                                     const uint64_t *beta);
FSS_NODISCARD fss_status fss_ev_take(fss_eval *ev, const fss_prim *pr, size_t cnt, const uint64_t *x,
                                     uint64_t *out);
/* fss_ev_take with each key evaluated at pts points: x[j cnt + i] is key i's j-th point,
 * its outputs at out[(j cnt + i) outs ..]. One key's shares at several public points reveal
 * no more than the key (an FSS key may be evaluated anywhere; Boyle et al., Eurocrypt
 * 2021, evaluate a DCF key twice for an interval). Several points run on the CPU, whose
 * parsed keys stay put between evaluations. */
FSS_NODISCARD fss_status fss_ev_take_at(fss_eval *ev, const fss_prim *pr, size_t cnt, int pts, const uint64_t *x,
                                        uint64_t *out);
/* The bytes fss_ev_deal writes to each party for cnt instances: a root seed (none where
 * cnt is 0) and the keys without their roots (keys.c). */
size_t fss_ev_deal_bytes(const fss_prim *pr, size_t cnt);

#define fss_ev_fail fss_eval_fail /* its short name inside the runtime */

/* Dealer: the parties' exchange at this point of the walk, counted without a message (the
 * dry run's figures; test_gates holds them against the parties' own counts). Each gate's
 * dealer branch calls one where its party branch exchanges: fss_ev_deal_reconstruct for
 * fss_ev_reconstruct of count values of bits, fss_ev_deal_send for party from's message
 * of bytes. */
void fss_ev_deal_reconstruct(fss_eval *ev, size_t count, int bits);
void fss_ev_deal_reconstruct_parts(fss_eval *ev, int k, const size_t *count, const int *bits);
/* A dry dealer (fss_eval_set_dry): keys, masks and product correlations are not computed,
 * only the sizes of what would be written (appended data NULL) and the exchanges. */
static inline int fss_ev_dry(const fss_eval *ev) { return ev->dry; }
/* Weights input once: 0, 1 (the setup run) or 2 (an inference); and, after an inference's
 * walk, the check that party 0's masked weights are the setup's (gates_linear.c): party 0
 * sends the digest of those it made, party 1 holds it against its store's (one round of 8
 * bytes; the dealer counts it). */
static inline int fss_ev_weights_once(const fss_eval *ev) { return ev->wonce; }
FSS_NODISCARD fss_status fss_ev_weights_check(fss_eval *ev);
/* The kept weight id (fss_eval_keep_weights), or NULL. */
const fss_tensor *fss_ev_kept(const fss_eval *ev, uint64_t id);
/* Keep x, weight id's input, when it fits the budget: the context takes x's buffers and x
 * becomes a view of them. FSS_E_NOMEM only when the list cannot grow. */
FSS_NODISCARD fss_status fss_ev_keep(fss_eval *ev, uint64_t id, fss_tensor *x);
/* Whether a shift of count elements finds its carries by comparison (fss_eval_set_lean_shifts). */
int fss_ev_lean(const fss_eval *ev, size_t count);
void fss_ev_deal_send(fss_eval *ev, int from, size_t bytes);

/* Dealer: append a chunk to party b's keys. */
/* Dealer: a key written in parts (the parts must add up to bytes). */
FSS_NODISCARD fss_status fss_ev_put_begin(fss_eval *ev, int b, fss_key_kind kind, uint64_t elements, size_t bytes);
FSS_NODISCARD fss_status fss_ev_put_append(fss_eval *ev, int b, const void *data, size_t n);
FSS_NODISCARD fss_status fss_ev_put(fss_eval *ev, int b, fss_key_kind kind, uint64_t elements, const void *data,
                                    size_t bytes);
/* Party: a key read in parts (open, reads front to back, close); on failure the
 * context's error says what. */
FSS_NODISCARD fss_status fss_ev_open(fss_eval *ev, fss_key_kind kind, uint64_t elements);
FSS_NODISCARD fss_status fss_ev_read(fss_eval *ev, size_t n, const void **data);
FSS_NODISCARD fss_status fss_ev_close(fss_eval *ev);
/* Bytes of the open key the next read hands out in place (the source's in_place; SIZE_MAX
 * when it cannot say). */
size_t fss_ev_in_place(fss_eval *ev);
/* Party: the next chunk, which must be of this kind and element count and exactly bytes long. */
FSS_NODISCARD fss_status fss_ev_get(fss_eval *ev, fss_key_kind kind, uint64_t elements, size_t bytes,
                                    const void **data);
/* Party: one round. */
FSS_NODISCARD fss_status fss_ev_exchange(fss_eval *ev, const void *send, size_t send_bytes, void *recv,
                                         size_t recv_bytes);
/* Masks and share vectors sent as a seed: a fresh seed (dealer), and its expansion into
 * count n-bit values by AES-128-CTR (dealer and party alike). */
#define FSS_EV_SEED_BYTES 16
FSS_NODISCARD fss_status fss_ev_seed(fss_eval *ev, uint8_t seed[FSS_EV_SEED_BYTES]);
FSS_NODISCARD fss_status fss_ev_expand_seed(fss_eval *ev, const uint8_t seed[FSS_EV_SEED_BYTES], uint64_t *out,
                                            size_t count, int bits);
/* CLEAR walks: lower stats.headroom_bits to what t leaves (a no-op in other walks). */
void fss_ev_note_range(fss_eval *ev, const fss_tensor *t);
/* Dealer: uniform n-bit values. */
FSS_NODISCARD fss_status fss_ev_random(fss_eval *ev, uint64_t *out, size_t count, int bits);

/* Party: send my share of count n-bit values, receive the peer's, out = mine + theirs
 * (mod 2^n; XOR when xor is set). Packed at n bits on the wire. One round. */
FSS_NODISCARD fss_status fss_ev_reconstruct(fss_eval *ev, const uint64_t *mine, size_t count, int bits, int xor,
                                            uint64_t *out);
/* The same for k parts of count[j] values of bits[j] each, in one message (each part
 * packed from a byte of its own): one round. */
FSS_NODISCARD fss_status fss_ev_reconstruct_parts(fss_eval *ev, int k, const uint64_t *const *mine,
                                                  const size_t *count, const int *bits, int xor, uint64_t *const *out);

/* Bytes of count values packed at n bits, and the packing (LSB first). */
static inline size_t fss_packed_bytes(size_t count, int bits) { return (count * (size_t)bits + 7) / 8; }
void fss_pack_bits(const uint64_t *v, size_t count, int bits, uint8_t *out);
void fss_unpack_bits(const uint8_t *in, size_t count, int bits, uint64_t *v);
/* The same bytes, in parts of whole words over the context's threads (a part of a
 * multiple of 64 values is bits whole words, so parts never share a byte). */
void fss_ev_pack_bits(fss_eval *ev, const uint64_t *v, size_t count, int bits, uint8_t *out);
void fss_ev_unpack_bits(fss_eval *ev, const uint8_t *in, size_t count, int bits, uint64_t *v);
/* The context's CPU threads for a loop over count elements: 1 under FSS_EV_PAR_MIN (a
 * parallel region costs more than it saves there). */
#define FSS_EV_PAR_MIN ((size_t)1 << 16)
int fss_ev_threads(const fss_eval *ev, size_t count);
/* Before an elementwise loop over count elements (no iteration reads another's writes):
 * spreads it over fss_ev_threads(ev, count). */
#define FSS_EV_PRAGMA(x) _Pragma(#x)
#define FSS_EV_PARALLEL_FOR(ev, count) \
    FSS_EV_PRAGMA(omp parallel for schedule(static) num_threads(fss_ev_threads(ev, count)))

static inline double fss_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Adds the time since t0 to a phase's counter. */
static inline void fss_ev_lap(fss_eval *ev, fss_phase p, double t0) { ev->stats.phase_seconds[p] += fss_now() - t0; }

#endif

/* Correlated randomness as additive shares (mod 2^bits) of dealer values: one party
 * receives a 16-byte seed and expands its shares with AES-CTR, the other the packed
 * differences (half the key bytes of explicit shares to both).
 *
 * Shares of fresh values, uniform mod 2^bits and independent of everything else (an
 * output mask, or one less a function of the input's, r_y - H(r), with r_y drawn for it):
 * the dealer draws a seed for each party, and a fresh value is the sum of the two
 * expansions. Each party's view is its seed: the values are as uniform to either as
 * explicit shares made them, and no packed shares (bits / 8 bytes a value) are sent.
 * Where those would take 16 bytes or fewer, they are sent instead (both sides tell alike).
 *
 * Mixed: count explicit dealer values and nfresh fresh ones in one chunk (one party, S,
 * one seed for both; the other, E, its packed explicit shares and a seed). The dealer draws
 * the fresh values first (fss_ev_mixed_draw: they may decide the explicit ones, as
 * r_y = v + H(r) does), fills vals, then puts the chunk; the party takes both.
 *
 * Which party holds a chunk's explicit shares (E) balances the two parties' keys: the one
 * dealt fewer explicit bytes so far in this walk (party 1 on a tie, and for chunks with no
 * explicit values). The dealer's walk and each party's reach the same chunks in the same
 * order, so all three tell alike. Additive shares are symmetric: the explicit form (the
 * value less the other's expansion) tells its holder no more than a seed would. */
typedef struct fss_ev_mixed {
    const uint64_t *vals, *fresh;
    size_t count, nfresh;
    int bits;
    int e;               /* the party holding the explicit shares */
    uint8_t seed[2][16]; /* S's seed, then E's seed for the fresh values */
} fss_ev_mixed;
FSS_NODISCARD fss_status fss_ev_mixed_draw(fss_eval *ev, fss_ev_mixed *M, const uint64_t *vals, size_t count,
                                           uint64_t *fresh, size_t nfresh, int bits);
/* Dealer, where put will not follow a draw (a failure between them): wipes the seeds. */
void fss_ev_mixed_drop(fss_ev_mixed *M);
/* Dealer, between draw and put: party 0's shares of the explicit values (count of them),
 * whichever form party 0 gets them in. */
FSS_NODISCARD fss_status fss_ev_mixed_share0(fss_eval *ev, const fss_ev_mixed *M, uint64_t *out);
FSS_NODISCARD fss_status fss_ev_mixed_put(fss_eval *ev, fss_ev_mixed *M);
FSS_NODISCARD fss_status fss_ev_mixed_take(fss_eval *ev, uint64_t *vals, size_t count, uint64_t *fresh, size_t nfresh,
                                           int bits);
/* Fresh values alone (count 0 explicit). */
FSS_NODISCARD fss_status fss_ev_fresh_deal(fss_eval *ev, uint64_t *vals, size_t count, int bits);
FSS_NODISCARD fss_status fss_ev_fresh_take(fss_eval *ev, uint64_t *out, size_t count, int bits);

/* malloc that records a message on failure. */
void *fss_ev_alloc(fss_eval *ev, size_t bytes);

/* The octave o = floor(log2 x) (0 for x = 0) of each of x's N integers in [0, 2^L) (the
 * callers check the range; 2 <= L <= n - 1), found once for two uses: the mantissa
 * m = floor(x 2^(L-1-o) / 2^(L-1-F)) (scale F) and e = table(o, arg), a public ring value a
 * octave (scale 0: the caller sets it). One DReLU of every x - 2^j, a select of public
 * constants by the one-hot of o (twice over), a product and a shift: 4 rounds
 * (runtime/gates_num.c; fss_gate_normalize and the norms' 1/sqrt). */
FSS_NODISCARD fss_status fss_ev_octave(fss_eval *ev, const fss_tensor *x, int L, int F,
                                       uint64_t (*table)(size_t o, const void *arg), const void *arg, fss_tensor *m,
                                       fss_tensor *e);
