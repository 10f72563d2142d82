/* The evaluation context: one model, three walks (DESIGN section 3).
 *
 * A model is C code that calls gate functions (fss_gate_*) on an fss_eval. The mode
 * decides what a wire holds and what a gate does:
 *   DEALER  wires hold masks r; gates draw output masks, generate both parties' keys
 *           and append them to the two key sinks, in walk order;
 *   PARTY   wires hold masked values x + r (public to both parties); gates read their
 *           next key, evaluate, and exchange one message per round with the peer;
 *   CLEAR   wires hold the values; gates compute the same fixed-point function.
 * All three walk the same code, so keys line up by construction, and the clear walk is
 * the oracle: a secure run's revealed outputs equal it bit for bit where the protocol
 * is exact.
 *
 * Keys and the peer are reached through small interfaces (a sink, a source, a link) so
 * that the same walk runs over key files and TCP in the programs and over memory and a
 * socketpair in the tests. */
#ifndef FSS_EVAL_H
#define FSS_EVAL_H

#include "fss/ctx.h"
#include "fss/rng.h"

FSS_EXTERN_C_BEGIN

typedef enum fss_mode { FSS_MODE_DEALER = 0, FSS_MODE_PARTY = 1, FSS_MODE_CLEAR = 2 } fss_mode;

/* Chunk kinds of a key stream, one per gate key (the key file stores them). */
typedef enum fss_key_kind {
    FSS_KEY_INPUT_MASK = 1,  /* the owner's input masks r_x */
    FSS_KEY_OUTPUT_MASK = 2, /* the receiver's output masks r_y */
    FSS_KEY_MUL = 3,         /* (not written: see FSS_KEY_SELECT) */
    FSS_KEY_MATMUL = 4,      /* (not written: see FSS_KEY_SELECT) */
    FSS_KEY_DRELU = 5,       /* comparison keys and the bits z_b (msb(r) ^ r_out) */
    FSS_KEY_SELECT = 6,      /* (not written: a select's shares, as a product's, go in
                                FSS_KEY_SHARES chunks) */
    FSS_KEY_TRUNC = 7,       /* DCF keys of a truncation */
    FSS_KEY_MODEL = 9,       /* the first chunk of a key file: the run's description text, at
                                most FSS_DESCRIPTION_MAX bytes (fss/family.h) */
    FSS_KEY_SHARES = 8,      /* additive shares of dealer values: a 16-byte seed for one
                                party, the packed differences for the other (the one dealt
                                fewer so far), then, for fresh values, that one's own seed
                                (fss_ev_mixed_*, eval_internal.h) */
    FSS_KEY_RELU1 = 10,      /* the one-round ReLU's DCF keys (payload (1, r)) */
    FSS_KEY_SEXT = 11,       /* sign extension's DCF keys */
    FSS_KEY_TRUNC_STOCH = 12,/* stochastic truncation's DCF keys */
    FSS_KEY_TRUNC_NONNEG = 13,/* the shift of a non-negative value: its f-bit DCF keys */
    FSS_KEY_LUT = 14,        /* a table lookup's full-domain DPF keys (beta 1 at r_x) */
    FSS_KEY_TRUNC_CMP = 15,  /* a lean shift (fss_eval_set_lean_shifts): its comparison keys
                                and mask bits z_b, for each carry */
    FSS_KEY_KINDS = 16       /* one more than the largest kind */
} fss_key_kind;

/* A kind's name for people ("drelu", "lut", ...; "?" for no kind). */
const char *fss_key_kind_name(uint32_t kind);

#define FSS_DESCRIPTION_MAX 1024

/* Where the dealer appends a party's keys: one key (a gate's chunk) is begun with its
 * total size, then appended in parts that add up to exactly that size (the dealer
 * generates big gates a step at a time and never holds them whole). Parts are copied. */
typedef struct fss_key_sink {
    fss_status (*begin)(void *self, uint32_t kind, uint64_t elements, size_t bytes);
    fss_status (*append)(void *self, const void *data, size_t n);
    void *self;
} fss_key_sink;

/* Where a party reads its keys, in the dealer's order: open the next key (a kind or
 * element count other than expected is FSS_E_FORMAT: the keys belong to another model),
 * read it front to back in parts (*data valid until the next read, in_place or open;
 * FSS_E_FORMAT past its end), close it (FSS_E_FORMAT if bytes are left). in_place
 * (optional, NULL: unknown) says how many of the open key's next bytes a read hands out
 * without copying (a key file's keys come in pieces: a read across two is joined by a
 * copy); a party sizes its steps by it. */
typedef struct fss_key_source {
    fss_status (*open)(void *self, uint32_t kind, uint64_t elements);
    fss_status (*read)(void *self, size_t n, const void **data);
    fss_status (*close)(void *self);
    void *self;
    size_t (*in_place)(void *self);
} fss_key_source;

/* One protocol round with the peer: send and receive at the same time (either side may
 * be empty). */
typedef struct fss_link {
    fss_status (*exchange)(void *self, const void *send, size_t send_bytes, void *recv, size_t recv_bytes);
    void *self;
} fss_link;

/* A wire bundle: ring elements of `bits` bits with `scale` fractional bits, in
 * row-major order of shape. What an element means depends on the mode (above). */
typedef struct fss_tensor {
    uint64_t *v;
    size_t count;
    int ndim;
    size_t shape[4];
    int bits;
    int scale;
    /* 1 + the party whose input this is (0: a wire that gates made), in every walk; and
     * in that party's own walk, the clear values it put in (own, else NULL). A product
     * with the owner's input as its W side then takes one ring product a party instead
     * of two, and no shares of W's mask. */
    int input_of;
    uint64_t *own;
    int view; /* v and own belong to another tensor (fss_tensor_view) */
} fss_tensor;

typedef struct fss_eval fss_eval;

/* Where a party's time in gates goes: reading its keys (waiting for the read-ahead and
 * any copy across key pieces), parsing them, the FSS evaluations, the ring products and
 * the exchanges with the peer (waiting for it included). */
typedef enum { FSS_PHASE_KEYS, FSS_PHASE_PARSE, FSS_PHASE_FSS, FSS_PHASE_PROD, FSS_PHASE_NET, FSS_PHASES } fss_phase;
const char *fss_phase_name(fss_phase p);

/* Counters of one walk. */
typedef struct fss_eval_stats {
    uint64_t bytes_sent, bytes_received, rounds;
    uint64_t key_bytes[2]; /* dealer: written per party; party: read (index party) */
    uint64_t kind_bytes[2][FSS_KEY_KINDS]; /* dealer: key_bytes by the keys' kind */
    /* Dealer: the bytes each party will send, counted where each gate's dealer branch
     * stands for the parties' exchange (rounds: the exchanges, the same for both) */
    uint64_t party_sent[2];
    uint64_t input_max; /* dealer: the most values one of party 0's inputs had (its largest part) */
    uint64_t kept_max;  /* the most weight values kept at once (fss_eval_keep_weights) */
    double seconds;        /* in gates, this context */
    /* CLEAR walks: the smallest headroom, in bits, that a product or a sum left between
     * its largest |value| and the ring's signed range (bits - 1 minus that value's bit
     * length; 64 when none ran). 0 means a value may have wrapped: the secure run equals
     * the clear one bit for bit, wrapped or not, so this is where to look. */
    int headroom_bits;
    /* Party: seconds in gates by phase (fss_phase_name); the rest of seconds is the
     * gates' own local work. Under cuda, fss counts the launches and the waits for the
     * device, and the CPU's parsing of the next step runs while the device works. */
    double phase_seconds[FSS_PHASES];
} fss_eval_stats;

/* Dealer: masks and key seeds from rng (the OS CSPRNG in real use); keys to sinks[0..1]. */
FSS_NODISCARD fss_status fss_eval_new_dealer(fss_eval **out, fss_ctx *cpu, fss_rng *rng, fss_key_sink sinks[2]);
/* Make a dealer dry: it computes no keys, masks (all 0) or product correlations, and
 * hands its sinks the sizes only (append's data NULL): the key bytes, rounds and bytes
 * exchanged of a run in the time of a walk over the wires. */
void fss_eval_set_dry(fss_eval *ev);
/* How the exact shifts (fss_gate_ars, _ars_nonneg, _ars_bounded, _trunc_reduce) find
 * their carries. One-round (the default): a DCF gives additive shares of each carry.
 * Lean, for shifts of min_count elements or more (0: none): a DPF comparison gives XOR
 * shares, revealed under the dealer's mask bit and made additive with the gate's shares:
 * a round more (of a bit an element each way), and for a 12-bit shift 35-38% of the key
 * bytes (98 against 257-278 at 50 bits) and less AES work. The bound keeps small shifts (a statistic a row), where a round costs
 * more than the bytes, at one round. The same bound picks a softmax max's and an argmax's
 * tree levels: under it one round a level (fss_gate_relu_tag), from it two (a DReLU and a
 * select: fewer key bytes). The model's walk sets it before its first gate, the
 * same in all three walks (the key kinds differ: a party with the other choice's keys
 * fails at that shift). */
void fss_eval_set_lean_shifts(fss_eval *ev, size_t min_count);

/* A model's weights input once (fss_gate_input_weights; runtime/weights_once.c says why
 * it stays secure). The dealer holds a model key of 16 bytes: weight id's mask is drawn
 * from the key's AES-CTR block id, the same in every run, and party 0 gets its seed (16
 * bytes a weight) in every run's keys. In the setup run (setup = 1) party 0 sends the
 * masked weights and party 1 puts them in its store; in each inference (setup = 0) party 0
 * masks its weights itself and party 1 gets them from its store: nothing on the wire. */
typedef struct fss_weight_store {
    /* inference: weight id's count masked values of bits (FSS_E_FORMAT when the store has
     * no such weight or another shape: err says which) */
    fss_status (*get)(void *self, uint64_t id, size_t count, int bits, uint64_t *masked, char *err, size_t len);
    /* setup: keep them */
    fss_status (*put)(void *self, uint64_t id, size_t count, int bits, const uint64_t *masked, char *err, size_t len);
    void *self;
} fss_weight_store;
/* Dealer: the model key (copied), for the setup run's keys or an inference's. */
void fss_eval_set_weight_key(fss_eval *ev, const uint8_t key[16], int setup);
/* Party 1: where the masked weights come from (inference) or go (setup). */
void fss_eval_set_weight_store(fss_eval *ev, fss_weight_store store, int setup);
/* Keep each weight party 0 inputs (fss_gate_input_weights, by its id) for the rest of the
 * walk, while the kept values add up to at most max_values: a walk that inputs the same
 * weight again (generation's steps, each a forward pass) then takes it from memory, with
 * no key, no message and no reading of the owner's file. Whether a weight is kept depends
 * only on the ids and sizes, so it falls the same in the dealer's, the parties' and the
 * clear walk. A kept weight costs memory of its values a walk (party 0: twice, its clear
 * values too). Reusing its mask within one run is what every row of a product already
 * does: each product's output mask stays fresh. 0 frees what is kept and keeps no more:
 * free the views of kept weights before. A kept weight is shared by its views: no gate
 * writes into its inputs. */
void fss_eval_keep_weights(fss_eval *ev, size_t max_values);
/* Whether fss_gate_input_weights of id takes it from the kept weights: the owner then
 * need not read its values (it may pass NULL). */
int fss_eval_weights_kept(const fss_eval *ev, uint64_t id);
/* Party b: keys from src, messages over link. */
FSS_NODISCARD fss_status fss_eval_new_party(fss_eval **out, fss_ctx *cpu, int party, fss_key_source src, fss_link link);
FSS_NODISCARD fss_status fss_eval_new_clear(fss_eval **out, fss_ctx *cpu);
void fss_eval_free(fss_eval *ev);

fss_mode fss_eval_mode(const fss_eval *ev);
int fss_eval_party(const fss_eval *ev); /* -1 unless PARTY */
const fss_eval_stats *fss_eval_stats_get(const fss_eval *ev);
/* The message of the last failure (gate name and what went wrong). */
const char *fss_eval_error(const fss_eval *ev);
/* Record a failure's message (what fss_eval_error gives) and return s: a model's walk
 * reports what went wrong in its own terms, as the gates do. */
fss_status fss_eval_fail(fss_eval *ev, fss_status s, const char *fmt, ...) FSS_PRINTF(3, 4);
fss_ctx *fss_eval_cpu(fss_eval *ev);

/* Where a party runs the FSS evaluations of its gates (DCF, comparison) and its matrix and
 * convolution products. Under CUDA each gate's keys and inputs go to the device and its
 * outputs come back; the gates' elementwise protocol steps stay on the CPU. Same bits
 * either way. Fails (FSS_E_NODEV, message in fss_eval_error) where
 * the build has no CUDA backend or the machine no device. */
typedef enum fss_backend { FSS_BACKEND_CPU = 0, FSS_BACKEND_CUDA = 1 } fss_backend;
FSS_NODISCARD fss_status fss_eval_set_backend(fss_eval *ev, fss_backend b);
/* NULL where backend b can run here, else why not (one line). */
const char *fss_backend_unavailable(fss_backend b);
const char *fss_backend_name(fss_backend b);
/* The backend a context runs its FSS evaluations and products on (fss_eval_set_backend's). */
fss_backend fss_eval_backend(const fss_eval *ev);

/* Tensors. Values are owned by the tensor (fss_tensor_free wipes them). */
FSS_NODISCARD fss_status fss_tensor_init(fss_tensor *t, int ndim, const size_t *shape, int bits, int scale);
void fss_tensor_free(fss_tensor *t);
/* dst = a view of count elements of src from off on, as a tensor of this shape and
 * scale: masks, masked values or values, and an input's owner and own values with them.
 * No copy: dst reads src's storage, so src must outlive it; freeing dst frees nothing,
 * and gates only read their inputs. */
FSS_NODISCARD fss_status fss_tensor_view(const fss_tensor *src, size_t off, int ndim, const size_t *shape, int scale,
                                         fss_tensor *dst);
/* The view at *off of that shape and scale, and *off moved past it: a walk's next weight
 * from all of them in one input. */
FSS_NODISCARD fss_status fss_tensor_view_next(const fss_tensor *src, size_t *off, int ndim, const size_t *shape,
                                              int scale, fss_tensor *dst);
/* Same elements, another shape of the same count (a flatten is a reshape). */
FSS_NODISCARD fss_status fss_tensor_reshape(fss_tensor *t, int ndim, const size_t *shape);

FSS_EXTERN_C_END

#endif
