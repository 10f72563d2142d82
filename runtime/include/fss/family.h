/* Model families (DESIGN section 4): what a family of models (the CNNs, the transformers,
 * joint statistics, imported graphs) provides, the registry dealer and online find
 * families in, and a family's model configured for one run.
 *
 * A family is written once against the evaluation context: one walk for the dealer, the
 * parties and the clear run. It says which models and flags it has, how a run's shape is
 * described (the key file carries the description, and both parties compare its
 * fingerprint), what each role reads before the run and writes after it. Everything
 * around the walk is the runtime's: key files, the peer, the backend, timing and figures
 * (fss/run.h, fss/session.h). The programs name no family; each family folder adds itself
 * to the registry with fss_add_family() in its CMakeLists.txt.
 *
 * A run's life, as the programs drive it:
 *   dealer:   fss_model_configure(DEALER) -> fss_deal_files
 *   clear:    fss_model_configure(CLEAR) -> fss_model_load -> fss_clear_run -> fss_model_save
 *   party b:  fss_model_from_keyfile (peeks, spends nothing) -> fss_model_load (every
 *             file read and checked) -> fss_session_open (spends the key file) ->
 *             fss_party_run -> fss_model_save
 * with fss_model_check_args first, which refuses flags that are not the role's. */
#ifndef FSS_FAMILY_H
#define FSS_FAMILY_H

#include <stdio.h>

#include "fss/eval.h"

FSS_EXTERN_C_BEGIN

/* Who runs a walk; a flag's roles are a set of these bits. */
typedef enum fss_role {
    FSS_ROLE_DEALER = 1,
    FSS_ROLE_PARTY0 = 2, /* the model owner */
    FSS_ROLE_PARTY1 = 4, /* the data owner */
    FSS_ROLE_CLEAR = 8,  /* online --clear: both parties' data, no keys */
} fss_role;
#define FSS_ROLES_ALL 15u
static inline fss_role fss_role_of_party(int party) { return party ? FSS_ROLE_PARTY1 : FSS_ROLE_PARTY0; }
/* "the dealer", "party 0", "party 1", "--clear" */
const char *fss_role_name(fss_role r);

/* A flag of a family: where it may be given and where it must be. */
typedef struct fss_flag {
    const char *name;      /* "--weights" */
    const char *value;     /* what it takes, for --help ("FILE"); NULL for a switch */
    unsigned roles;        /* fss_role bits where it is accepted */
    unsigned required;     /* fss_role bits where it must be given */
    const char *help;      /* one line */
} fss_flag;

/* The family flags given on a command line, in order (a switch's value is ""). */
#define FSS_ARGS_MAX 32
typedef struct fss_args {
    size_t n;
    const char *name[FSS_ARGS_MAX], *value[FSS_ARGS_MAX];
} fss_args;
/* The value of a given flag, or NULL. */
const char *fss_args_get(const fss_args *a, const char *name);
/* A flag's number, strictly: all decimal digits, no sign, no overflow. fss_parse_count: a
 * positive integer up to max; fss_parse_u64: any whole number (a seed). 1 when v is one. */
int fss_parse_count(const char *v, size_t max, size_t *out);
int fss_parse_u64(const char *v, uint64_t *out);
/* argv[*i] is not one of the program's own flags: take it (and its value, when some
 * registered family's flag of that name takes one) into a and advance *i. FSS_E_ARG with
 * a line in err for a flag no family has, a missing value or too many flags. */
FSS_NODISCARD fss_status fss_args_take(fss_args *a, int argc, char **argv, int *i, char *err, size_t err_len);

/* Progress of a walk: a family's walk reports the end of each of its layers (pg may be
 * NULL). The runtime prints a line a layer and keeps each layer's figures (fss/run.h). */
typedef struct fss_progress fss_progress;
void fss_progress_step(fss_progress *pg, size_t layer, size_t nlayers, const char *what);

typedef struct fss_family {
    const char *name; /* "cnn": descriptions begin "fsskit-cnn/<version> " */
    /* The walk's key layout: a dealer and a party of other versions lay keys out
     * differently, and a key file of another version is refused with what to do. */
    int version;
    const char *models; /* the names --model takes, ", "-separated, for --help and errors */
    /* A flag of the family's own that names its model by itself ("--stats": `dealer
     * --stats spec.json` without --model; the model is the family's name), or NULL. */
    const char *selector;
    const fss_flag *flags; /* ends with an entry whose name is NULL */

    /* 1 when model is one of this family's names or aliases. */
    int (*knows)(const char *model);
    /* The run's state from the flags (the dealer and the clear run; role says which), or
     * from a description that describe wrote (a party). Messages go to err. */
    fss_status (*configure)(void **state, const char *model, fss_role role, const fss_args *a, char *err,
                            size_t err_len);
    fss_status (*parse)(void **state, const char *desc, char *err, size_t err_len);
    /* The run's shape as text ("model=lenet batch=4 bits=40 scale=12"): it follows the
     * version word in the key file and, with it, makes the fingerprint; and as JSON
     * members for the figures ("\"model\": \"lenet\", \"batch\": 4"). */
    void (*describe)(const void *state, char *out, size_t len);
    void (*shape_json)(const void *state, char *out, size_t len);
    /* Reads and checks everything role reads (weights, inputs: their shapes against the
     * run's), before a key file is spent. */
    fss_status (*load)(void *state, fss_role role, const fss_args *a, char *err, size_t err_len);
    /* The walk, in ev's mode: reads what load kept (PARTY, CLEAR), keeps what is revealed
     * to this party for save. */
    fss_status (*walk)(void *state, fss_eval *ev, fss_progress *pg);
    /* The setup run of weights input once (fss_model_set_weights_once): every weight of
     * the model that the run's walks input with fss_gate_input_weights, under the same
     * ids, and nothing else. NULL: the family has no weights to input once. */
    fss_status (*walk_weights)(void *state, fss_eval *ev, fss_progress *pg);
    /* Writes what role received (after a successful walk): output files, reports. */
    fss_status (*save)(void *state, fss_role role, const fss_args *a, char *err, size_t err_len);
    /* Frees the state, wiping what load read. NULL is a no-op. */
    void (*free)(void *state);
    /* A family whose walk needs more than its description (an imported graph's structure,
     * weights excluded; party 1 has no model file): the plan's bytes, which the dealer
     * writes into both key files with the description (the runtime adds " plan=<their
     * SHA-256>" to the description, so the fingerprint covers them), and a party's use of
     * them after parse. plan (the dealer's configured state) returns at most
     * FSS_PLAN_MAX bytes from malloc. Both NULL: no plan. */
    fss_status (*plan)(const void *state, uint8_t **bytes, size_t *len, char *err, size_t err_len);
    fss_status (*use_plan)(void *state, const uint8_t *bytes, size_t len, char *err, size_t err_len);
} fss_family;

#define FSS_PLAN_MAX ((size_t)16 << 20)

/* ---- the registry ------------------------------------------------------------------ */

/* Adds a family (the built-in ones are there from the start; tests add their own). The
 * family must outlive the process's use of the registry. FSS_E_ARG when a family of that
 * name, or one that knows one of its models, is there already, or the registry is full. */
FSS_NODISCARD fss_status fss_family_register(const fss_family *f);
size_t fss_family_count(void);
const fss_family *fss_family_at(size_t i);
const fss_family *fss_family_find(const char *name);   /* by family name, or NULL */
const fss_family *fss_family_for_model(const char *model); /* by model name or alias, or NULL */
/* Every registered family's models, ", "-separated (for messages). */
const char *fss_family_models(void);
/* The model a command line names without --model: the name of the first family whose
 * selector flag is in a, or NULL. */
const char *fss_family_selected(const fss_args *a);
/* Each family's flags for roles (a set of fss_role bits), for --help. */
void fss_family_usage(FILE *f, unsigned roles);

/* ---- a model configured for one run ------------------------------------------------- */

typedef struct fss_model fss_model;

/* From the flags: model names a model of some registered family. */
FSS_NODISCARD fss_status fss_model_configure(fss_model **out, const char *model, fss_role role, const fss_args *a,
                                             char *err, size_t err_len);
/* From a description (len bytes, as a key file carries it) checked against the key file's
 * fingerprint: refuses a description of another walk version (saying to run this build's
 * dealer), of a family or model this build lacks, or that does not match. */
FSS_NODISCARD fss_status fss_model_from_description(fss_model **out, const char *desc, size_t len,
                                                    const uint8_t fingerprint[32], char *err, size_t err_len);
/* The plan's bytes (fss_family.plan) or NULL, and their length. */
const uint8_t *fss_model_plan(const fss_model *m, size_t *len);
/* From party's key file, peeked (fss_keyfile_peek_first): the key file is not spent. A
 * family with a plan gets it here, checked against the description's digest. */
FSS_NODISCARD fss_status fss_model_from_keyfile(fss_model **out, const char *keys, int party, char *err,
                                                size_t err_len);
/* The given flags against the family's: each must be role's, and role's required ones
 * must be there. The message names the flag and where it belongs. */
FSS_NODISCARD fss_status fss_model_check_args(const fss_model *m, fss_role role, const fss_args *a, char *err,
                                              size_t err_len);
FSS_NODISCARD fss_status fss_model_load(fss_model *m, fss_role role, const fss_args *a, char *err, size_t err_len);
FSS_NODISCARD fss_status fss_model_walk(fss_model *m, fss_eval *ev, fss_progress *pg);
FSS_NODISCARD fss_status fss_model_save(fss_model *m, fss_role role, const fss_args *a, char *err, size_t err_len);
/* Weights input once (fss/weights_file.h): mode 1 makes m the setup run of setup id
 * (its walk is the family's walk_weights; party 1 gives no family options), mode 2 an
 * inference with the weights of setup id. The description then ends " setup=<id>" or
 * " weights=<id>" (hex). Refused for a family without walk_weights. */
#define FSS_WEIGHTS_SETUP 1
#define FSS_WEIGHTS_STORED 2
FSS_NODISCARD fss_status fss_model_set_weights_once(fss_model *m, int mode, const uint8_t id[16], char *err,
                                                    size_t err_len);
/* The mode (0: weights input in the run) and, when not 0, the setup id to id. */
int fss_model_weights_once(const fss_model *m, uint8_t id[16]);
/* "fsskit-<family>/<version> <shape>" and its SHA-256, what the key files carry. */
const char *fss_model_description(const fss_model *m);
const uint8_t *fss_model_fingerprint(const fss_model *m);
/* The shape as JSON members (see fss_family.shape_json). */
const char *fss_model_shape_json(const fss_model *m);
const fss_family *fss_model_family(const fss_model *m);
void *fss_model_state(fss_model *m);
void fss_model_free(fss_model *m);

FSS_EXTERN_C_END

#endif
