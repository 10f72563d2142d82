/* The registry of model families, the flags they take, and a family's model configured for
 * one run (fss/family.h). */
#include "fss/family.h"

#include <errno.h>

#include <string.h>

#include <openssl/evp.h>

#include "eval_internal.h" /* fss_ev_weights_once, fss_ev_weights_check */
#include "fss/keyfile.h"

/* The built-in families, in the order of the folders' fss_add_family() calls: defined by the
 * fss_families object library that the build generates (runtime/CMakeLists.txt). Weak, so
 * that a program or test linking none sees an empty list. */
extern const fss_family *const fss_builtin_families[] __attribute__((weak));

#define MAX_FAMILIES 16
static const fss_family *g_fam[MAX_FAMILIES];
static size_t g_nfam;
static int g_builtin_done;

static int clashes(const fss_family *f, const fss_family *g)
{
    if (!strcmp(f->name, g->name))
        return 1;
    /* a model name of f that g claims too */
    const char *p = f->models ? f->models : "";
    while (*p) {
        char one[64];
        size_t n = strcspn(p, ", ");
        if (n && n < sizeof one) {
            memcpy(one, p, n);
            one[n] = 0;
            if (g->knows(one))
                return 1;
        }
        p += n;
        p += strspn(p, ", ");
    }
    return 0;
}

static fss_status add(const fss_family *f)
{
    if (!f || !f->name || !f->knows || !f->configure || !f->parse || !f->describe || !f->walk || !f->free ||
        g_nfam == MAX_FAMILIES)
        return FSS_E_ARG;
    for (size_t i = 0; i < g_nfam; i++)
        if (clashes(f, g_fam[i]) || clashes(g_fam[i], f))
            return FSS_E_ARG;
    g_fam[g_nfam++] = f;
    return FSS_OK;
}

/* The registry is filled before any thread of a run starts (the programs' and tests' main
 * threads), so it needs no lock. */
static void builtin(void)
{
    if (g_builtin_done)
        return;
    g_builtin_done = 1;
    for (size_t i = 0; fss_builtin_families && fss_builtin_families[i]; i++)
        FSS_ASSERT(add(fss_builtin_families[i]) == FSS_OK); /* two built-in families claim one name */
}

fss_status fss_family_register(const fss_family *f)
{
    builtin();
    return add(f);
}

size_t fss_family_count(void)
{
    builtin();
    return g_nfam;
}

const fss_family *fss_family_at(size_t i)
{
    builtin();
    return i < g_nfam ? g_fam[i] : NULL;
}

const fss_family *fss_family_find(const char *name)
{
    builtin();
    for (size_t i = 0; i < g_nfam; i++)
        if (!strcmp(g_fam[i]->name, name))
            return g_fam[i];
    return NULL;
}

const fss_family *fss_family_for_model(const char *model)
{
    builtin();
    for (size_t i = 0; model && i < g_nfam; i++)
        if (g_fam[i]->knows(model))
            return g_fam[i];
    return NULL;
}

const char *fss_family_models(void)
{
    static char buf[2048];
    builtin();
    size_t at = 0;
    buf[0] = 0;
    for (size_t i = 0; i < g_nfam; i++)
        if (g_fam[i]->models && at < sizeof buf)
            at += (size_t)snprintf(buf + at, sizeof buf - at, "%s%s", at ? ", " : "", g_fam[i]->models);
    return at ? buf : "(none: this build has no model family)";
}

const char *fss_family_selected(const fss_args *a)
{
    builtin();
    for (size_t i = 0; i < g_nfam; i++)
        if (g_fam[i]->selector && fss_args_get(a, g_fam[i]->selector))
            return g_fam[i]->name;
    return NULL;
}

const char *fss_role_name(fss_role r)
{
    switch (r) {
    case FSS_ROLE_DEALER: return "the dealer";
    case FSS_ROLE_PARTY0: return "party 0";
    case FSS_ROLE_PARTY1: return "party 1";
    case FSS_ROLE_CLEAR: return "--clear";
    }
    return "?";
}

/* "party 1 and --clear" for a set of roles. */
static void roles_text(unsigned roles, char *out, size_t len)
{
    size_t at = 0, k = 0, total = 0;
    out[0] = 0;
    for (unsigned r = 1; r <= FSS_ROLE_CLEAR; r <<= 1)
        total += (roles & r) != 0;
    for (unsigned r = 1; r <= FSS_ROLE_CLEAR && at < len; r <<= 1)
        if (roles & r) {
            k++;
            at += (size_t)snprintf(out + at, len - at, "%s%s", k == 1 ? "" : k == total ? " and " : ", ",
                                   fss_role_name((fss_role)r));
        }
}

void fss_family_usage(FILE *f, unsigned roles)
{
    builtin();
    for (size_t i = 0; i < g_nfam; i++) {
        const fss_family *fam = g_fam[i];
        int any = 0;
        for (const fss_flag *fl = fam->flags; fl && fl->name; fl++) {
            if (!(fl->roles & roles))
                continue;
            if (!any++)
                fprintf(f, "model family %s (%s):\n", fam->name, fam->models ? fam->models : "");
            char head[64], where[96];
            snprintf(head, sizeof head, "%s%s%s", fl->name, fl->value ? " " : "", fl->value ? fl->value : "");
            roles_text(fl->roles & roles, where, sizeof where);
            fprintf(f, "  %-18s %s (%s%s)\n", head, fl->help, fl->required & roles ? "required: " : "", where);
        }
    }
}

/* ---- flags -------------------------------------------------------------------------- */

int fss_parse_u64(const char *v, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    const unsigned long long n = v && *v >= '0' && *v <= '9' ? strtoull(v, &end, 10) : 0;
    if (!end || *end || errno == ERANGE)
        return 0;
    *out = (uint64_t)n;
    return 1;
}

int fss_parse_count(const char *v, size_t max, size_t *out)
{
    uint64_t n = 0;
    if (!fss_parse_u64(v, &n) || !n || n > max)
        return 0;
    *out = (size_t)n;
    return 1;
}

const char *fss_args_get(const fss_args *a, const char *name)
{
    for (size_t i = 0; a && i < a->n; i++)
        if (!strcmp(a->name[i], name))
            return a->value[i];
    return NULL;
}

/* The first registered flag of that name (families agree on whether a name takes a
 * value: --weights FILE is a file in every family). */
static const fss_flag *any_flag(const char *name)
{
    builtin();
    for (size_t i = 0; i < g_nfam; i++)
        for (const fss_flag *fl = g_fam[i]->flags; fl && fl->name; fl++)
            if (!strcmp(fl->name, name))
                return fl;
    return NULL;
}

fss_status fss_args_take(fss_args *a, int argc, char **argv, int *i, char *err, size_t err_len)
{
    const char *name = argv[*i];
    const fss_flag *fl = any_flag(name);
    if (!fl)
        return fss_errorf(err, err_len, FSS_E_ARG, "unknown option '%s' (see --help)", name);
    if (fss_args_get(a, name))
        return fss_errorf(err, err_len, FSS_E_ARG, "%s is given twice", name);
    if (a->n == FSS_ARGS_MAX)
        return fss_errorf(err, err_len, FSS_E_ARG, "too many options");
    const char *value = "";
    if (fl->value) {
        if (*i + 1 >= argc)
            return fss_errorf(err, err_len, FSS_E_ARG, "%s needs a value (%s; see --help)", name, fl->value);
        value = argv[++*i];
    }
    a->name[a->n] = name;
    a->value[a->n++] = value;
    ++*i;
    return FSS_OK;
}

/* ---- a model for one run ------------------------------------------------------------ */

struct fss_model {
    const fss_family *f;
    void *state;
    char desc[FSS_DESCRIPTION_MAX];
    char json[512];
    uint8_t fp[32];
    int wonce;        /* FSS_WEIGHTS_SETUP, _STORED or 0 */
    uint8_t wid[16];  /* the setup's id */
    int has_plan;     /* the description's " plan=<hex>": the plan's digest */
    uint8_t plan_sha[32];
    uint8_t *plan;    /* the dealer's plan bytes (fss_family.plan) */
    size_t plan_len;
};

static const char plan_word[] = " plan=";

static const char *const wonce_word[3] = {"", " setup=", " weights="};

fss_status fss_model_set_weights_once(fss_model *m, int mode, const uint8_t id[16], char *err, size_t err_len)
{
    if (mode && !m->f->walk_weights)
        return fss_errorf(err, err_len, FSS_E_ARG, "model family %s has no weights to input once", m->f->name);
    m->wonce = mode == FSS_WEIGHTS_SETUP || mode == FSS_WEIGHTS_STORED ? mode : 0;
    if (m->wonce)
        memcpy(m->wid, id, sizeof m->wid);
    return FSS_OK;
}

int fss_model_weights_once(const fss_model *m, uint8_t id[16])
{
    if (m->wonce)
        memcpy(id, m->wid, sizeof m->wid);
    return m->wonce;
}

static fss_model *model_new(const fss_family *f)
{
    fss_model *m = (fss_model *)calloc(1, sizeof *m);
    if (m)
        m->f = f;
    return m;
}

/* "fsskit-<name>/<version> " */
static int version_word(const fss_family *f, char *out, size_t len)
{
    return snprintf(out, len, "fsskit-%s/%d ", f->name, f->version);
}

const char *fss_model_description(const fss_model *mc)
{
    fss_model *m = (fss_model *)mc;
    const int n = version_word(m->f, m->desc, sizeof m->desc);
    m->f->describe(m->state, m->desc + n, sizeof m->desc - (size_t)n);
    if (m->has_plan) { /* " plan=<64 hex>" */
        size_t k = strlen(m->desc);
        k += (size_t)snprintf(m->desc + k, sizeof m->desc - k, "%s", plan_word);
        for (int i = 0; i < 32 && k + 2 < sizeof m->desc; i++, k += 2)
            snprintf(m->desc + k, sizeof m->desc - k, "%02x", m->plan_sha[i]);
    }
    if (m->wonce) { /* " setup=<32 hex>" or " weights=<32 hex>" */
        size_t k = strlen(m->desc);
        k += (size_t)snprintf(m->desc + k, sizeof m->desc - k, "%s", wonce_word[m->wonce]);
        for (int i = 0; i < 16 && k + 2 < sizeof m->desc; i++, k += 2)
            snprintf(m->desc + k, sizeof m->desc - k, "%02x", m->wid[i]);
    }
    return m->desc;
}

const uint8_t *fss_model_fingerprint(const fss_model *mc)
{
    fss_model *m = (fss_model *)mc;
    const char *d = fss_model_description(m);
    unsigned int n = 32;
    FSS_ASSERT(EVP_Digest(d, strlen(d), m->fp, &n, EVP_sha256(), NULL) == 1 && n == 32);
    return m->fp;
}

const char *fss_model_shape_json(const fss_model *mc)
{
    fss_model *m = (fss_model *)mc;
    m->json[0] = 0;
    if (m->f->shape_json)
        m->f->shape_json(m->state, m->json, sizeof m->json);
    return m->json;
}

fss_status fss_model_configure(fss_model **out, const char *model, fss_role role, const fss_args *a, char *err,
                               size_t err_len)
{
    *out = NULL;
    const fss_family *f = fss_family_for_model(model);
    if (!f)
        return fss_errorf(err, err_len, FSS_E_ARG, "no model '%s'; models: %s", model ? model : "",
                          fss_family_models());
    fss_model *m = model_new(f);
    if (!m)
        return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
    fss_status s = f->configure(&m->state, model, role, a, err, err_len);
    if (s == FSS_OK && f->plan && (s = f->plan(m->state, &m->plan, &m->plan_len, err, err_len)) == FSS_OK) {
        unsigned int dn = 32;
        if (m->plan_len > FSS_PLAN_MAX)
            s = fss_errorf(err, err_len, FSS_E_ARG, "the model's plan is %zu bytes, over %zu", m->plan_len, FSS_PLAN_MAX);
        else if (EVP_Digest(m->plan, m->plan_len, m->plan_sha, &dn, EVP_sha256(), NULL) != 1)
            s = fss_errorf(err, err_len, FSS_E_NOMEM, "cannot hash the model's plan");
        m->has_plan = s == FSS_OK;
    }
    if (s != FSS_OK) {
        fss_model_free(m);
        return s;
    }
    *out = m;
    return FSS_OK;
}

const uint8_t *fss_model_plan(const fss_model *m, size_t *len)
{
    *len = m->plan_len;
    return m->plan;
}

fss_status fss_model_from_description(fss_model **out, const char *text, size_t len, const uint8_t fingerprint[32],
                                      char *err, size_t err_len)
{
    *out = NULL;
    char desc[FSS_DESCRIPTION_MAX], name[64];
    const size_t n = len < sizeof desc - 1 ? len : sizeof desc - 1;
    memcpy(desc, text, n);
    desc[n] = 0;
    const size_t word = strcspn(desc, " ");
    int version = 0, used = 0;
    if (sscanf(desc, "fsskit-%63[^/ ]/%d%n", name, &version, &used) != 2 || (size_t)used != word || !desc[word])
        return fss_errorf(err, err_len, FSS_E_FORMAT,
                          "the key file's description '%.60s' is not an fsskit run's: run the dealer again", desc);
    const fss_family *f = fss_family_find(name);
    if (!f)
        return fss_errorf(err, err_len, FSS_E_FORMAT,
                          "the key file is for model family '%s', which this build does not have", name);
    if (version != f->version)
        return fss_errorf(err, err_len, FSS_E_FORMAT,
                          "the key file was written by another version of the dealer ('%.*s'; this build reads "
                          "'fsskit-%s/%d'): run this build's dealer again", (int)word, desc, f->name, f->version);
    fss_model *m = model_new(f);
    if (!m)
        return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
    for (int w = 1; w <= 2; w++) { /* a weights-once suffix: the runtime's, not the family's */
        char *at = strstr(desc, wonce_word[w]);
        const size_t wl = strlen(wonce_word[w]);
        unsigned byte = 0;
        if (!at || strlen(at) != wl + 32)
            continue;
        m->wonce = w;
        for (int i = 0; i < 16; i++)
            m->wonce = sscanf(at + wl + 2 * i, "%2x", &byte) == 1 ? (m->wid[i] = (uint8_t)byte, m->wonce) : 0;
        if (m->wonce)
            *at = 0;
    }
    { /* " plan=<64 hex>", before any weights-once suffix: also the runtime's */
        char *at = strstr(desc, plan_word);
        const size_t pl = sizeof plan_word - 1;
        unsigned byte = 0;
        if (at && strlen(at) == pl + 64) {
            m->has_plan = 1;
            for (int i = 0; i < 32 && m->has_plan; i++)
                m->has_plan = sscanf(at + pl + 2 * i, "%2x", &byte) == 1 ? (m->plan_sha[i] = (uint8_t)byte, 1) : 0;
            if (m->has_plan)
                *at = 0;
        }
    }
    fss_status s = m->wonce && !f->walk_weights
                       ? fss_errorf(err, err_len, FSS_E_FORMAT, "model family %s has no weights to input once", f->name)
                   : m->has_plan != (f->use_plan != NULL)
                       ? fss_errorf(err, err_len, FSS_E_FORMAT, "the key file's description %s a plan, and model family "
                                    "%s %s one: run this build's dealer again", m->has_plan ? "names" : "lacks", f->name,
                                    f->use_plan ? "needs" : "has no use for")
                       : f->parse(&m->state, desc + word + 1, err, err_len);
    if (m->wonce || m->has_plan) /* back whole, for the comparison below */
        memcpy(desc, text, n);
    if (s == FSS_OK && (strcmp(fss_model_description(m), desc) || memcmp(fss_model_fingerprint(m), fingerprint, 32)))
        s = fss_errorf(err, err_len, FSS_E_FORMAT,
                       "the key file's model text does not match its fingerprint: the file is corrupt");
    if (s != FSS_OK) {
        fss_model_free(m);
        return s;
    }
    *out = m;
    return FSS_OK;
}

fss_status fss_model_from_keyfile(fss_model **out, const char *keys, int party, char *err, size_t err_len)
{
    *out = NULL;
    /* the first chunk: the description, then (a family with a plan) a NUL and the plan */
    const size_t cap = FSS_DESCRIPTION_MAX + 1 + FSS_PLAN_MAX;
    char *buf = (char *)malloc(cap);
    size_t len = 0;
    fss_keyfile_info info;
    fss_status s = buf ? fss_keyfile_peek_first(keys, party, FSS_KEY_MODEL, buf, cap, &len, &info, err, err_len)
                       : fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
    const size_t dlen = s == FSS_OK ? strnlen(buf, len) : 0;
    if (s == FSS_OK)
        s = fss_model_from_description(out, buf, dlen, info.fingerprint, err, err_len);
    fss_model *m = *out;
    if (s == FSS_OK && m->has_plan) {
        const uint8_t *plan = (const uint8_t *)buf + dlen + 1;
        const size_t plen = dlen < len ? len - dlen - 1 : 0;
        uint8_t sha[32];
        unsigned int dn = 32;
        if (dlen >= len || EVP_Digest(plan, plen, sha, &dn, EVP_sha256(), NULL) != 1 || memcmp(sha, m->plan_sha, 32))
            s = fss_errorf(err, err_len, FSS_E_FORMAT,
                           "key file %s: the model's plan is missing or not the one its description names: the file is "
                           "corrupt; run the dealer again", keys);
        else
            s = m->f->use_plan(m->state, plan, plen, err, err_len);
    } else if (s == FSS_OK && dlen != len) {
        s = fss_errorf(err, err_len, FSS_E_FORMAT, "key file %s carries a plan its description does not name", keys);
    }
    if (s != FSS_OK) {
        fss_model_free(*out);
        *out = NULL;
    }
    free(buf); /* a description and a structure: nothing secret */
    return s;
}

fss_status fss_model_check_args(const fss_model *m, fss_role role, const fss_args *a, char *err, size_t err_len)
{
    char where[96];
    for (size_t i = 0; i < a->n; i++) {
        const fss_flag *fl = m->f->flags;
        while (fl && fl->name && strcmp(fl->name, a->name[i]))
            fl++;
        if (!fl || !fl->name)
            return fss_errorf(err, err_len, FSS_E_ARG, "%s is not an option of model family %s (see --help)",
                              a->name[i], m->f->name);
        if (!(fl->roles & role)) {
            roles_text(fl->roles, where, sizeof where);
            return fss_errorf(err, err_len, FSS_E_ARG, "%s belongs to %s, not to %s", a->name[i], where,
                              fss_role_name(role));
        }
    }
    if (m->wonce == FSS_WEIGHTS_SETUP && role == FSS_ROLE_PARTY1 && a->n)
        return fss_errorf(err, err_len, FSS_E_ARG, "a setup run takes no %s of party 1's: drop it", a->name[0]);
    for (const fss_flag *fl = m->f->flags; fl && fl->name && m->wonce != FSS_WEIGHTS_SETUP; fl++)
        if ((fl->required & role) && !fss_args_get(a, fl->name))
            return fss_errorf(err, err_len, FSS_E_ARG, "%s needs %s %s (see --help)", fss_role_name(role), fl->name,
                              fl->value ? fl->value : "");
    return FSS_OK;
}

/* A setup run: party 1 reads and writes nothing of the family's, and no one saves. */
fss_status fss_model_load(fss_model *m, fss_role role, const fss_args *a, char *err, size_t err_len)
{
    if (m->wonce == FSS_WEIGHTS_SETUP && role != FSS_ROLE_PARTY0)
        return FSS_OK;
    return m->f->load ? m->f->load(m->state, role, a, err, err_len) : FSS_OK;
}

fss_status fss_model_walk(fss_model *m, fss_eval *ev, fss_progress *pg)
{
    if (fss_eval_mode(ev) != FSS_MODE_CLEAR && fss_ev_weights_once(ev) != m->wonce) /* the key or store given */
        return fss_eval_fail(ev, FSS_E_ARG, "the run is %s but its context %s (fss_eval_set_weight_key, "
                             "fss_party_weights_use)", m->wonce ? "for weights input once" : "an ordinary one",
                             fss_ev_weights_once(ev) ? "inputs weights once" : "does not");
    if (m->wonce == FSS_WEIGHTS_SETUP)
        return m->f->walk_weights(m->state, ev, pg);
    fss_status s = m->f->walk(m->state, ev, pg);
    return s == FSS_OK ? fss_ev_weights_check(ev) : s;
}

fss_status fss_model_save(fss_model *m, fss_role role, const fss_args *a, char *err, size_t err_len)
{
    if (m->wonce == FSS_WEIGHTS_SETUP)
        return FSS_OK;
    return m->f->save ? m->f->save(m->state, role, a, err, err_len) : FSS_OK;
}

const fss_family *fss_model_family(const fss_model *m) { return m->f; }
void *fss_model_state(fss_model *m) { return m->state; }

void fss_model_free(fss_model *m)
{
    if (!m)
        return;
    m->f->free(m->state);
    free(m->plan);
    free(m);
}
