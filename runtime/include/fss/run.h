/* Running a model (fss/family.h) in each walk: the dealer's two key files, the clear run,
 * a party's run over its session (fss/session.h), and the figures of each layer. What the
 * programs and the tests share, written once. */
#ifndef FSS_RUN_H
#define FSS_RUN_H

#include <stdio.h>

#include "fss/family.h"
#include "fss/session.h"

FSS_EXTERN_C_BEGIN

/* Progress of a walk: a line on stderr a layer ("<who>: layer 3/9 (relu) done, 0.01 s";
 * none when quiet), and, once it watches a context, each layer's seconds, bytes exchanged,
 * rounds and key bytes read, from the moment it started watching. */
FSS_NODISCARD fss_status fss_progress_new(fss_progress **out, const char *who, int quiet);
void fss_progress_watch(fss_progress *pg, const fss_eval *ev);
/* ,"per_layer": [{"layer", "seconds", "bytes", "rounds", "key_bytes"}, ...] each layer's own share. */
void fss_progress_print_json(const fss_progress *pg, FILE *f);
void fss_progress_free(fss_progress *pg);

/* The dealer: both parties' key files for one run of m, dir/p0.bin and dir/p1.bin (dir is
 * created, mode 0700, when missing; the files must not exist), every mask and seed from the
 * OS CSPRNG. Keys are generated and written a step at a time, a gate's keys in chunks of at
 * most piece bytes (0: FSS_KEYFILE_PIECE_BYTES). On failure neither file is left.
 *
 * dry: the same walk with a dry dealer (fss_eval_set_dry) and counting writers: nothing
 * is written, dir is not touched, and res has the sizes the files would have. */
typedef struct fss_deal_config {
    const char *dir;
    size_t piece;
    int threads; /* 0: all */
    fss_progress *pg;
    int dry;
    /* weights input once (fss/weights_file.h): setup, the setup run's keys and a new model
     * key at that path (the real walk makes it, mode 0600, refused in dir: the parties get
     * dir; the dry walk none); or weights_key, an inference's keys under that model key */
    const char *setup;
    const char *weights_key;
} fss_deal_config;
typedef struct fss_deal_result {
    char path[2][4096];
    uint64_t bytes[2]; /* each file's size */
    uint64_t rounds;  /* the exchanges of the parties' run */
    uint64_t sent[2]; /* the bytes each party will send in it (the messages, before TLS) */
    uint64_t input_max; /* the most values one input had */
    uint64_t kept_max;  /* the most weight values the walk kept at once (fss_eval_keep_weights) */
    uint64_t kind_bytes[2][FSS_KEY_KINDS]; /* the keys' bytes by kind (fss_key_kind_name), before
                                              the file's framing */
} fss_deal_result;
FSS_NODISCARD fss_status fss_deal_files(fss_model *m, const fss_deal_config *c, fss_deal_result *res, char *err,
                                        size_t err_len);

/* The room on out's file system (out or, before it exists, its parent), in bytes; -1 when
 * it cannot be told. */
double fss_deal_room(const char *out);
/* 1, with the reason in err, when out holds a key file (or a partial one), or a file is at
 * setup (a new model key's path; may be NULL), that a dealer run would not overwrite. */
int fss_deal_taken(const char *out, const char *setup, char *err, size_t len);

/* fss_deal_files' part for weights input once: the model key made (c->setup, real walk) or
 * read and checked against m (the same family, version, model, ring and scale, no more
 * blocks), and m's description marked with the setup's id (fss_model_set_weights_once). */
struct fss_model_key;
FSS_NODISCARD fss_status fss_deal_weights(fss_model *m, const fss_deal_config *c, struct fss_model_key *k, char *err,
                                          size_t len);

/* A party's side of weights input once, before the key file is spent: party 1's masked
 * weights file, the setup run's to write at path (refused when it exists) or an
 * inference's to read (its setup id checked against the key file's); party 0 keeps none
 * (its keys carry its weights' masks) and gives no path. *out stays NULL for a run
 * without weights input once and no path; a path that does not fit is refused. */
typedef struct fss_party_weights fss_party_weights;
FSS_NODISCARD fss_status fss_party_weights_open(fss_party_weights **out, const fss_model *m, int party,
                                                const char *path, char *err, size_t len);
/* Gives the session's context the store (before fss_party_run). */
void fss_party_weights_use(fss_party_weights *pw, fss_eval *ev);
/* The setup run's file synced and moved into place (after a successful run). */
FSS_NODISCARD fss_status fss_party_weights_commit(fss_party_weights *pw, char *err, size_t len);
void fss_party_weights_close(fss_party_weights *pw);

/* The clear fixed-point walk of m (loaded for FSS_ROLE_CLEAR), on threads CPU threads
 * (0: all). *headroom_bits: the least headroom a product or sum left in the ring (see
 * fss_eval_stats.headroom_bits): 0 means a value may have wrapped. */
FSS_NODISCARD fss_status fss_clear_run(fss_model *m, int threads, fss_progress *pg, int *headroom_bits, char *err,
                                       size_t err_len);

/* A party's walk of m (loaded for its role) on an open session, then the check that every
 * key was read. On failure fss_session_error(s) says what went wrong. */
FSS_NODISCARD fss_status fss_party_run(fss_model *m, fss_session *s, fss_progress *pg);

/* A party's figures after its run (secs from the connection to the output, setup before):
 * one line for people on human ("online: party 1: <description> in 0.07 s ..."), and one
 * JSON object on json (the model's shape, seconds, setup_seconds, bytes_sent,
 * bytes_received, rounds, key_bytes, backend, phases, and each layer's figures under
 * layers); either may be NULL. */
void fss_party_report(FILE *human, FILE *json, fss_model *m, fss_session *s, const fss_progress *pg, double secs,
                      double setup);

FSS_EXTERN_C_END

#endif
