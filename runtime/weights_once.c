/* Weights input once (fss/run.h, fss/weights_file.h): the dealer's model key, the parties'
 * masked weights files, and the store a party's walk reads them through.
 *
 * Why it stays secure. A weight w goes on the wire once, in the setup run, as w + r_w with
 * r_w uniform (the model key's AES-CTR stream): exactly what an ordinary run shows party 1,
 * which keeps it. Party 0 gets r_w's seed in every run's keys, as the owner of any input
 * gets its mask, and masks its weights itself. Each inference then deals fresh masks
 * and correlations for every other wire and uses the same r_w only where the setup's
 * w + r_w enters a gate: party 0's products (X W: party 1 sees the reconstructed X W + R_z
 * with a fresh R_z, and its share of [R_x]_1 r_w + R_z is masked by a fresh share) and the
 * masked adds (y + b + r_y + r_b with a fresh r_y). No message of an inference depends on
 * r_w other than through a fresh uniform mask, so reusing r_w across inferences reveals
 * nothing that one inference with w input in it would not; the inference key files stay
 * one-time (the ledger refuses a second use) and the model key stays the dealer's. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "eval_internal.h"
#include "fss/run.h"
#include "fss/weights_file.h"

/* ---- the dealer ------------------------------------------------------------------------ */

/* The token of desc that begins with word ("model="), or "" (at most out_len - 1 bytes). */
static void token(const char *desc, const char *word, char *out, size_t out_len)
{
    out[0] = 0;
    const size_t wl = strlen(word);
    for (const char *p = desc; *p;) {
        const size_t n = strcspn(p, " ");
        if (n >= wl && !strncmp(p, word, wl)) {
            snprintf(out, out_len, "%.*s", (int)n, p);
            return;
        }
        p += n + (p[n] == ' ');
    }
}

/* 1 when path's directory is dir (the key files' directory, which goes to the parties). */
static int same_dir(const char *path, const char *dir)
{
    char a[PATH_MAX], b[PATH_MAX], parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", path);
    char *slash = strrchr(parent, '/');
    if (slash)
        *(slash == parent ? slash + 1 : slash) = 0;
    else
        snprintf(parent, sizeof parent, ".");
    return realpath(parent, a) && realpath(dir, b) && !strcmp(a, b);
}

fss_status fss_deal_weights(fss_model *m, const fss_deal_config *c, fss_model_key *k, char *err, size_t len)
{
    static const uint8_t none[16];
    fss_status s = FSS_OK;
    memset(k, 0, sizeof *k);
    if (c->setup) {
        if (!c->dry && same_dir(c->setup, c->dir))
            return fss_errorf(err, len, FSS_E_ARG, "the model key %s would sit with the parties' key files in %s: keep "
                              "it elsewhere (it unmasks every weight)", c->setup, c->dir);
        if ((s = fss_model_set_weights_once(m, 0, none, err, len)) != FSS_OK) /* the plain description */
            return s;
        char desc[FSS_WFILE_DESC_MAX + 1];
        snprintf(desc, sizeof desc, "%s", fss_model_description(m));
        if (!c->dry && (s = fss_model_key_create(k, c->setup, desc, err, len)) != FSS_OK) /* the real walk's */
            return s;
        return fss_model_set_weights_once(m, FSS_WEIGHTS_SETUP, k->id, err, len);
    }
    if ((s = fss_model_key_read(k, c->weights_key, err, len)) != FSS_OK)
        return s;
    /* the same family and version, model, ring and scale; at most the setup's blocks, and
     * the LM head only where the setup had it */
    static const char *const same[] = {"fsskit-", "model=", "bits=", "scale="};
    const char *desc = fss_model_description(m);
    char a[128], b[128];
    for (size_t i = 0; i < sizeof same / sizeof *same && s == FSS_OK; i++) {
        token(k->desc, same[i], a, sizeof a);
        token(desc, same[i], b, sizeof b);
        if (strcmp(a, b))
            s = fss_errorf(err, len, FSS_E_ARG, "model key %s is from a setup of '%s', not of this run's '%s': run "
                           "dealer --setup for it", c->weights_key, k->desc, desc);
    }
    token(k->desc, "layers=", a, sizeof a);
    token(desc, "layers=", b, sizeof b);
    if (s == FSS_OK && a[0] && b[0] && atoi(b + 7) > atoi(a + 7))
        s = fss_errorf(err, len, FSS_E_ARG, "model key %s is from a setup of %s blocks; this run has %s",
                       c->weights_key, a + 7, b + 7);
    token(k->desc, "out=", a, sizeof a);
    token(desc, "out=", b, sizeof b);
    if (s == FSS_OK && !strcmp(a, "out=hidden") && strcmp(b, "out=hidden"))
        s = fss_errorf(err, len, FSS_E_ARG, "model key %s is from a setup without the LM head (--hidden); this run "
                       "has %s: run dealer --setup without --hidden", c->weights_key, b);
    if (s == FSS_OK)
        s = fss_model_set_weights_once(m, FSS_WEIGHTS_STORED, k->id, err, len);
    if (s != FSS_OK)
        fss_model_key_wipe(k);
    return s;
}

/* ---- a party's store -------------------------------------------------------------------- */

typedef struct store {
    fss_wfile *f;
    int setup;
} store;

static fss_status store_get(void *self, uint64_t id, size_t count, int bits, uint64_t *masked, char *err, size_t len)
{
    store *st = (store *)self;
    const size_t nb = fss_packed_bytes(count, bits);
    uint8_t *p = (uint8_t *)malloc(nb ? nb : 1);
    if (!p)
        return fss_errorf(err, len, FSS_E_NOMEM, "out of memory for %zu bytes", nb);
    fss_status s = st->f ? fss_wfile_get(st->f, id, count, bits, p, err, len) : FSS_E_ARG;
    if (s == FSS_OK)
        fss_unpack_bits(p, count, bits, masked);
    free(p);
    return s;
}

static fss_status store_put(void *self, uint64_t id, size_t count, int bits, const uint64_t *masked, char *err,
                            size_t len)
{
    store *st = (store *)self;
    const size_t nb = fss_packed_bytes(count, bits);
    uint8_t *p = (uint8_t *)malloc(nb ? nb : 1);
    if (!p)
        return fss_errorf(err, len, FSS_E_NOMEM, "out of memory for %zu bytes", nb);
    fss_pack_bits(masked, count, bits, p);
    fss_status s = fss_wfile_put(st->f, id, count, bits, p, err, len);
    free(p);
    return s;
}

struct fss_party_weights {
    store st;
};

fss_status fss_party_weights_open(fss_party_weights **out, const fss_model *m, int party, const char *path,
                                  char *err, size_t len)
{
    *out = NULL;
    uint8_t id[16];
    const int mode = fss_model_weights_once(m, id);
    if (!mode && !path)
        return FSS_OK;
    if (!mode)
        return fss_errorf(err, len, FSS_E_ARG, "the key file is not from a setup of weights input once: drop "
                          "--masked-weights");
    if (party == 0 && path)
        return fss_errorf(err, len, FSS_E_ARG, "party 0 keeps no masked weights (its keys carry their masks): drop "
                          "--masked-weights");
    if (!path && party)
        return fss_errorf(err, len, FSS_E_ARG, "the key file is %s: it needs --masked-weights FILE (%s)",
                          mode == FSS_WEIGHTS_SETUP ? "a setup run's" : "for weights input once",
                          mode == FSS_WEIGHTS_SETUP ? "where to keep them" : "the setup run's file");
    fss_party_weights *pw = (fss_party_weights *)calloc(1, sizeof *pw);
    if (!pw)
        return fss_errorf(err, len, FSS_E_NOMEM, "out of memory");
    pw->st.setup = mode == FSS_WEIGHTS_SETUP;
    fss_status s = !path        ? FSS_OK /* party 0: the mode alone */
                   : pw->st.setup ? fss_wfile_create(&pw->st.f, path, id, fss_model_description(m), err, len)
                                  : fss_wfile_open(&pw->st.f, path, err, len);
    if (s == FSS_OK && path && !pw->st.setup && memcmp(fss_wfile_id(pw->st.f), id, 16))
        s = fss_errorf(err, len, FSS_E_ARG, "%s holds the weights of another setup (%s) than the key file's: give the "
                       "file that setup run wrote", path, fss_wfile_desc(pw->st.f));
    if (s != FSS_OK) {
        fss_party_weights_close(pw);
        return s;
    }
    *out = pw;
    return FSS_OK;
}

void fss_party_weights_use(fss_party_weights *pw, fss_eval *ev)
{
    if (pw) /* party 0's has no file: the mode alone */
        fss_eval_set_weight_store(ev, pw->st.f ? (fss_weight_store){store_get, store_put, &pw->st}
                                               : (fss_weight_store){NULL, NULL, NULL}, pw->st.setup);
}

fss_status fss_party_weights_commit(fss_party_weights *pw, char *err, size_t len)
{
    if (!pw || !pw->st.setup || !pw->st.f)
        return FSS_OK;
    fss_status s = fss_wfile_commit(pw->st.f, err, len);
    pw->st.f = NULL;
    return s;
}

void fss_party_weights_close(fss_party_weights *pw)
{
    if (!pw)
        return;
    fss_wfile_close(pw->st.f); /* a setup's file not committed is removed */
    free(pw);
}
