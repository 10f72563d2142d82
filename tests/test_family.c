/* The model-family runtime through a test-only toy family: the registry (names, aliases,
 * clashes, the built-in cnn family beside it), the flags (taking, roles, required ones), the
 * description and its fingerprint, and a whole run: the dealer's key files, each party's
 * model from its key file (peeked, not spent), the sessions over a peer pair, the party
 * walks and the clear run, bit for bit against the toy's definition. Then what a session
 * refuses before a key file is spent (another run's keys, a bad address) and after (a used
 * key file). */
#include <math.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "fss/gates.h"
#include "fss/keyfile.h"
#include "fss/ledger.h"
#include "fss/ring.h"
#include "fss/run.h"
#include "fss/transport.h"

/* ---- the toy: y = relu(x * w) elementwise, x party 1's, w party 0's ------------------ */
#define TOY_BITS 32

typedef struct toy {
    size_t n;
    uint64_t seed_w, seed_x; /* the roles' data, from their flags */
    int have_w, have_x, saved;
    uint64_t *y; /* revealed to party 1 (and the clear run) */
} toy;

static const fss_flag toy_flags[] = {
    {"--n", "N", FSS_ROLE_DEALER | FSS_ROLE_CLEAR, 0, "elements"},
    {"--w", "SEED", FSS_ROLE_PARTY0 | FSS_ROLE_CLEAR, FSS_ROLE_PARTY0 | FSS_ROLE_CLEAR, "party 0's weights"},
    {"--x", "SEED", FSS_ROLE_PARTY1 | FSS_ROLE_CLEAR, FSS_ROLE_PARTY1 | FSS_ROLE_CLEAR, "party 1's inputs"},
    {NULL, NULL, 0, 0, NULL},
};

/* n signed values in [-1000, 1000] from seed, as ring elements. */
static void toy_values(uint64_t seed, size_t n, uint64_t *out)
{
    fss_rng *r = NULL;
    REQUIRE(fss_rng_new_seeded(&r, seed) == FSS_OK);
    for (size_t i = 0; i < n; i++)
        out[i] = fss_ring_from_signed((int64_t)(check_u64(r) % 2001) - 1000, TOY_BITS);
    fss_rng_free(r);
}

static int toy_knows(const char *m) { return !strcmp(m, "toy-relu") || !strcmp(m, "toyrelu"); }

static fss_status toy_new(void **state, size_t n)
{
    toy *t = calloc(1, sizeof *t);
    if (!t)
        return FSS_E_NOMEM;
    t->n = n;
    *state = t;
    return FSS_OK;
}

static fss_status toy_configure(void **state, const char *model, fss_role role, const fss_args *a, char *err,
                                size_t len)
{
    (void)model, (void)role;
    const char *n = fss_args_get(a, "--n");
    if (n && atoi(n) < 1)
        return fss_errorf(err, len, FSS_E_ARG, "--n needs a positive count");
    return toy_new(state, n ? (size_t)atoi(n) : 8);
}

static fss_status toy_parse(void **state, const char *desc, char *err, size_t len)
{
    size_t n = 0;
    if (sscanf(desc, "n=%zu", &n) != 1 || !n)
        return fss_errorf(err, len, FSS_E_FORMAT, "not a toy: '%s'", desc);
    return toy_new(state, n);
}

static void toy_describe(const void *state, char *out, size_t len)
{
    snprintf(out, len, "n=%zu", ((const toy *)state)->n);
}

static fss_status toy_load(void *state, fss_role role, const fss_args *a, char *err, size_t len)
{
    toy *t = state;
    (void)err, (void)len;
    if (role & (FSS_ROLE_PARTY0 | FSS_ROLE_CLEAR))
        t->seed_w = strtoull(fss_args_get(a, "--w"), NULL, 10), t->have_w = 1;
    if (role & (FSS_ROLE_PARTY1 | FSS_ROLE_CLEAR))
        t->seed_x = strtoull(fss_args_get(a, "--x"), NULL, 10), t->have_x = 1;
    return (t->y = calloc(t->n, 8)) ? FSS_OK : FSS_E_NOMEM;
}

static fss_status toy_walk(void *state, fss_eval *ev, fss_progress *pg)
{
    toy *t = state;
    uint64_t *w = calloc(t->n, 8), *x = calloc(t->n, 8);
    REQUIRE(w && x);
    if (t->have_w)
        toy_values(t->seed_w, t->n, w);
    if (t->have_x)
        toy_values(t->seed_x, t->n, x);
    fss_tensor tw = {0}, tx = {0}, p = {0}, y = {0};
    fss_status s = fss_gate_input(ev, 0, 1, &t->n, TOY_BITS, 0, w, &tw);
    if (s == FSS_OK)
        s = fss_gate_input(ev, 1, 1, &t->n, TOY_BITS, 0, x, &tx);
    fss_progress_step(pg, 0, 3, "inputs");
    if (s == FSS_OK)
        s = fss_gate_mul(ev, &tx, &tw, &p);
    fss_progress_step(pg, 1, 3, "mul");
    if (s == FSS_OK)
        s = fss_gate_relu(ev, &p, &y);
    fss_progress_step(pg, 2, 3, "relu");
    if (s == FSS_OK)
        s = fss_gate_output(ev, 1, &y, t->y);
    fss_tensor_free(&tw), fss_tensor_free(&tx), fss_tensor_free(&p), fss_tensor_free(&y);
    free(w), free(x);
    return s;
}

static fss_status toy_save(void *state, fss_role role, const fss_args *a, char *err, size_t len)
{
    (void)a, (void)err, (void)len;
    ((toy *)state)->saved = (role & (FSS_ROLE_PARTY1 | FSS_ROLE_CLEAR)) != 0;
    return FSS_OK;
}

static void toy_free(void *state)
{
    toy *t = state;
    if (t)
        free(t->y);
    free(t);
}

static const fss_family toy_family = {
    .name = "toy", .version = 3, .models = "toy-relu, toyrelu", .flags = toy_flags, .knows = toy_knows,
    .configure = toy_configure, .parse = toy_parse, .describe = toy_describe, .load = toy_load, .walk = toy_walk,
    .save = toy_save, .free = toy_free};

/* ---- helpers -------------------------------------------------------------------------- */

static fss_args args_of(int argc, const char **argv)
{
    fss_args a = {0};
    char err[256];
    for (int i = 0; i < argc;)
        REQUIRE(fss_args_take(&a, argc, (char **)argv, &i, err, sizeof err) == FSS_OK);
    return a;
}

/* The key file's used marker, as on disk (the header's state field). */
static uint32_t key_state(const char *path)
{
    fss_keyfile_info info;
    char err[256];
    REQUIRE(fss_keyfile_peek_info(path, &info, err, sizeof err) == FSS_OK);
    return info.state;
}

static int knows_lenet(const char *m) { return !strcmp(m, "lenet"); }
static int knows_nothing(const char *m) { return m && 0; }

static void registry(void)
{
    CHECK(fss_family_register(&toy_family) == FSS_OK, "the toy family does not register");
    CHECK(fss_family_register(&toy_family) == FSS_E_ARG, "a family registered twice");
    static fss_family same_name, lenet_too;
    same_name = toy_family;
    same_name.models = "";
    same_name.knows = knows_nothing;
    CHECK(fss_family_register(&same_name) == FSS_E_ARG, "a second family named toy registered");
    lenet_too = toy_family;
    lenet_too.name = "other";
    lenet_too.knows = knows_lenet;
    lenet_too.models = "lenet";
    CHECK(fss_family_register(&lenet_too) == FSS_E_ARG, "a second family of the model lenet registered");
    CHECK(fss_family_find("toy") == &toy_family && fss_family_for_model("toyrelu") == &toy_family &&
              fss_family_for_model("toy-relu") == &toy_family,
          "the toy is not found by its names");
    const fss_family *cnn = fss_family_for_model("lenet");
    CHECK(cnn && !strcmp(cnn->name, "cnn"), "the built-in cnn family is not there beside the toy");
    CHECK(!fss_family_for_model("nosuch") && !fss_family_find("nosuch"), "an unknown name was found");
    CHECK(strstr(fss_family_models(), "lenet") && strstr(fss_family_models(), "toy-relu"), "models: %s",
          fss_family_models());
}

static void flags(void)
{
    char err[1024]; /* the model list in messages grows with the families */
    fss_args a = {0};
    const char *argv[] = {"--n", "5", "--x", "7", "--n", "6", "--bogus", "--w"};
    int i = 0;
    CHECK(fss_args_take(&a, 8, (char **)argv, &i, err, sizeof err) == FSS_OK && i == 2 &&
              !strcmp(fss_args_get(&a, "--n"), "5"),
          "--n 5 not taken");
    CHECK(fss_args_take(&a, 8, (char **)argv, &i, err, sizeof err) == FSS_OK && i == 4, "--x 7 not taken");
    CHECK(fss_args_take(&a, 8, (char **)argv, &i, err, sizeof err) == FSS_E_ARG && strstr(err, "twice"),
          "a flag given twice: '%s'", err);
    i = 6;
    CHECK(fss_args_take(&a, 8, (char **)argv, &i, err, sizeof err) == FSS_E_ARG &&
              strstr(err, "unknown option '--bogus'"),
          "an unknown flag: '%s'", err);
    i = 7;
    CHECK(fss_args_take(&a, 8, (char **)argv, &i, err, sizeof err) == FSS_E_ARG && strstr(err, "needs a value"),
          "a flag without its value: '%s'", err);

    fss_model *m = NULL;
    REQUIRE(fss_model_configure(&m, "toyrelu", FSS_ROLE_DEALER, &a, err, sizeof err) == FSS_OK);
    CHECK(fss_model_check_args(m, FSS_ROLE_DEALER, &a, err, sizeof err) == FSS_E_ARG &&
              strstr(err, "--x belongs to party 1 and --clear, not to the dealer"),
          "the dealer given party 1's flag: '%s'", err);
    fss_args none = {0};
    CHECK(fss_model_check_args(m, FSS_ROLE_PARTY1, &none, err, sizeof err) == FSS_E_ARG &&
              strstr(err, "party 1 needs --x"),
          "party 1 without its required flag: '%s'", err);
    CHECK(fss_model_check_args(m, FSS_ROLE_DEALER, &none, err, sizeof err) == FSS_OK, "the dealer needs no flag");
    const char *cnn_flag[] = {"--batch", "2"};
    fss_args b = args_of(2, cnn_flag);
    CHECK(fss_model_check_args(m, FSS_ROLE_DEALER, &b, err, sizeof err) == FSS_E_ARG &&
              strstr(err, "not an option of model family toy"),
          "another family's flag: '%s'", err);
    CHECK(!strcmp(fss_model_description(m), "fsskit-toy/3 n=5"), "description '%s'", fss_model_description(m));
    fss_model_free(m);
    CHECK(fss_model_configure(&m, "nosuch", FSS_ROLE_DEALER, &none, err, sizeof err) == FSS_E_ARG && !m &&
              strstr(err, "no model 'nosuch'") && strstr(err, "toy-relu"),
          "an unknown model: '%s'", err);
    char host[64];
    int port;
    static const char *const bad_peers[] = {"127.0.0.1", "h:0", "h:65536", "h:7400abc", "h:", ":x", "h:-1",
                                            "::1:7400", "[::1]7400", "[::1]:"};
    for (size_t k = 0; k < sizeof bad_peers / sizeof *bad_peers; k++)
        CHECK(fss_session_parse_peer(bad_peers[k], host, sizeof host, &port, err, sizeof err) == FSS_E_ARG,
              "peer address '%s' accepted", bad_peers[k]);
    CHECK(fss_session_parse_peer("[::1]:7400", host, sizeof host, &port, err, sizeof err) == FSS_OK && port == 7400 &&
              !strcmp(host, "::1"),
          "'[::1]:7400' is not host ::1 port 7400");
    CHECK(fss_session_parse_peer(":7400", host, sizeof host, &port, err, sizeof err) == FSS_OK && port == 7400 &&
              !strcmp(host, ""),
          "':7400' is not every address, port 7400");
}

/* The ledger of spent runs' directory for this test's sessions (under its scratch directory). */
static char state_dir[128];

/* ---- a whole run ------------------------------------------------------------------------ */

typedef struct party {
    int b;
    const char *keys;
    fss_peer *peer;
    const fss_args *a;
    uint64_t *y; /* party 1's revealed output, copied out */
    size_t n;
    fss_status st;
    char err[1024];
} party;

static void *party_main(void *arg)
{
    party *p = arg;
    fss_model *m = NULL;
    fss_session *s = NULL;
    fss_progress *pg = NULL;
    const fss_role role = fss_role_of_party(p->b);
    p->st = fss_model_from_keyfile(&m, p->keys, p->b, p->err, sizeof p->err);
    if (p->st == FSS_OK)
        p->st = fss_model_check_args(m, role, p->a, p->err, sizeof p->err);
    if (p->st == FSS_OK)
        p->st = fss_model_load(m, role, p->a, p->err, sizeof p->err);
    if (p->st == FSS_OK) {
        /* the peek spent nothing */
        CHECK(key_state(p->keys) == 0, "party %d's key file was spent before its session", p->b);
        fss_session_config c = {.party = p->b, .keys = p->keys, .connected = p->peer, .threads = 1,
                                .description = fss_model_description(m), .state_dir = state_dir};
        p->peer = NULL; /* the session's now */
        REQUIRE(fss_progress_new(&pg, "test", 1) == FSS_OK);
        if ((p->st = fss_session_open(&s, &c)) == FSS_OK)
            p->st = fss_party_run(m, s, pg);
        if (p->st != FSS_OK)
            snprintf(p->err, sizeof p->err, "%s", fss_session_error(s));
    }
    if (p->st == FSS_OK && (p->st = fss_model_save(m, role, p->a, p->err, sizeof p->err)) == FSS_OK) {
        toy *t = fss_model_state(m);
        CHECK(t->saved == (p->b == 1), "party %d's save", p->b);
        p->n = t->n;
        if (p->b == 1 && (p->y = malloc(t->n * 8)))
            memcpy(p->y, t->y, t->n * 8);
    }
    fss_peer_close(p->peer);
    fss_session_close(s);
    fss_progress_free(pg);
    fss_model_free(m);
    return NULL;
}

/* Both parties on the key files keys[0] and keys[1], each in a thread over a socket pair,
 * run to the end: p[b] holds party b's status, error and output. */
static void both_parties(party p[2], const char keys[2][4096], const fss_args *a0, const fss_args *a1)
{
    fss_peer *pp[2];
    REQUIRE(fss_peer_pair(&pp[0], &pp[1]) == FSS_OK);
    p[0] = (party){.b = 0, .keys = keys[0], .peer = pp[0], .a = a0};
    p[1] = (party){.b = 1, .keys = keys[1], .peer = pp[1], .a = a1};
    pthread_t th[2];
    for (int b = 0; b < 2; b++)
        REQUIRE(pthread_create(&th[b], NULL, party_main, &p[b]) == 0);
    for (int b = 0; b < 2; b++)
        pthread_join(th[b], NULL);
}

/* Copies a file (a key file before its run: a backup the ledger must refuse later). */
static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    REQUIRE(in && out);
    char buf[1 << 16];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, in)) > 0)
        REQUIRE(fwrite(buf, 1, k, out) == k);
    fclose(in);
    REQUIRE(fclose(out) == 0);
}

static void whole_run(fss_rng *rng)
{
    char dir[] = "/tmp/fss-test-family-XXXXXX", err[1024], n[24], ws[24], xs[24], copy[2][64];
    REQUIRE(mkdtemp(dir));
    snprintf(state_dir, sizeof state_dir, "%s/state", dir);
    snprintf(n, sizeof n, "%d", 1 + (int)(check_u64(rng) % 300));
    snprintf(ws, sizeof ws, "%llu", (unsigned long long)(check_u64(rng) >> 1));
    snprintf(xs, sizeof xs, "%llu", (unsigned long long)(check_u64(rng) >> 1));
    const char *dv[] = {"--n", n}, *p0v[] = {"--w", ws}, *p1v[] = {"--x", xs}, *cv[] = {"--n", n, "--w", ws, "--x", xs};
    const fss_args da = args_of(2, dv), a0 = args_of(2, p0v), a1 = args_of(2, p1v), ca = args_of(6, cv);

    fss_model *dm = NULL;
    fss_deal_result res;
    REQUIRE(fss_model_configure(&dm, "toy-relu", FSS_ROLE_DEALER, &da, err, sizeof err) == FSS_OK);
    fss_deal_config dc = {.dir = dir, .threads = 1};
    CHECK(fss_deal_files(dm, &dc, &res, err, sizeof err) == FSS_OK, "dealer: %s", err);
    struct stat sb;
    for (int b = 0; b < 2; b++)
        CHECK(stat(res.path[b], &sb) == 0 && (sb.st_mode & 0777) == 0600 && (uint64_t)sb.st_size == res.bytes[b],
              "key file %d: mode %o, %lld bytes (dealer said %llu)", b, (unsigned)sb.st_mode & 0777,
              (long long)sb.st_size, (unsigned long long)res.bytes[b]);
    fss_deal_result again;
    CHECK(fss_deal_files(dm, &dc, &again, err, sizeof err) != FSS_OK && strstr(err, "exists") &&
              key_state(res.path[0]) == 0,
          "a second deal over existing key files: '%s'", err);

    for (int b = 0; b < 2; b++) {
        snprintf(copy[b], sizeof copy[b], "%s/copy%d.bin", dir, b);
        copy_file(res.path[b], copy[b]);
    }
    party p[2];
    both_parties(p, res.path, &a0, &a1);
    for (int b = 0; b < 2; b++) {
        CHECK(p[b].st == FSS_OK, "party %d: %s", b, p[b].err);
        CHECK(key_state(res.path[b]) == 1, "party %d's key file is not marked used", b);
    }

    /* the clear run, and the definition */
    fss_model *cm = NULL;
    int head = 0;
    REQUIRE(fss_model_configure(&cm, "toy-relu", FSS_ROLE_CLEAR, &ca, err, sizeof err) == FSS_OK);
    REQUIRE(fss_model_check_args(cm, FSS_ROLE_CLEAR, &ca, err, sizeof err) == FSS_OK);
    REQUIRE(fss_model_load(cm, FSS_ROLE_CLEAR, &ca, err, sizeof err) == FSS_OK);
    CHECK(fss_clear_run(cm, 1, NULL, &head, err, sizeof err) == FSS_OK, "clear run: %s", err);
    const toy *ct = fss_model_state(cm);
    uint64_t *w = calloc(ct->n, 8), *x = calloc(ct->n, 8);
    REQUIRE(w && x);
    toy_values(ct->seed_w, ct->n, w);
    toy_values(ct->seed_x, ct->n, x);
    size_t wrong = 0, diff = 0, first = ct->n;
    for (size_t i = 0; i < ct->n; i++) {
        const int64_t v = fss_ring_to_signed(x[i], TOY_BITS) * fss_ring_to_signed(w[i], TOY_BITS);
        wrong += ct->y[i] != fss_ring_from_signed(v > 0 ? v : 0, TOY_BITS);
        const int d = !p[1].y || p[1].y[i] != ct->y[i];
        diff += d;
        first = d && first == ct->n ? i : first;
    }
    CHECK(wrong == 0, "the clear run is not relu(x w) at %zu of %zu", wrong, ct->n);
    CHECK(p[1].n == ct->n && diff == 0, "the secure output differs from the clear run at %zu of %zu (first %zu)", diff,
          ct->n, first);
    CHECK(head > 0 && head < 64, "clear headroom %d", head);
    printf("toy n=%zu: %zu outputs equal the clear run and relu(x w)\n", ct->n, ct->n - diff);
    free(w), free(x), free(p[1].y);
    fss_model_free(cm);

    /* spent keys are refused, by the peek and by a session */
    fss_model *m = NULL;
    CHECK(fss_model_from_keyfile(&m, res.path[1], 1, err, sizeof err) == FSS_E_FORMAT && strstr(err, "already used"),
          "a used key file peeked: '%s'", err);
    fss_session *s = NULL;
    fss_session_config c = {.party = 1, .keys = res.path[1], .peer = "127.0.0.1:1", .state_dir = state_dir};
    CHECK(fss_session_open(&s, &c) != FSS_OK && strstr(fss_session_error(s), "already used"),
          "a used key file opened: '%s'", fss_session_error(s));
    fss_session_close(s);
    /* a copy made before the run is fresh on disk: this machine's ledger refuses it */
    for (int b = 0; b < 2; b++) {
        c = (fss_session_config){.party = b, .keys = copy[b], .peer = "127.0.0.1:1", .state_dir = state_dir};
        snprintf(err, sizeof err, "already used by party %d on this machine", b);
        CHECK(fss_session_open(&s, &c) == FSS_E_FORMAT && strstr(fss_session_error(s), err) &&
                  key_state(copy[b]) == 0,
              "a copy of party %d's used key file: '%s'", b, fss_session_error(s));
        fss_session_close(s);
        unlink(copy[b]);
    }

    /* refused while fresh: another run's description, a bad address */
    char dir2[sizeof dir + 4];
    snprintf(dir2, sizeof dir2, "%s/b", dir);
    dc.dir = dir2;
    REQUIRE(fss_deal_files(dm, &dc, &res, err, sizeof err) == FSS_OK);
    const char *other_v[] = {"--n", "1000"};
    fss_args other = args_of(2, other_v);
    fss_model *om = NULL;
    REQUIRE(fss_model_configure(&om, "toy-relu", FSS_ROLE_DEALER, &other, err, sizeof err) == FSS_OK);
    c = (fss_session_config){.party = 1, .keys = res.path[1], .peer = "127.0.0.1:1",
                             .description = fss_model_description(om), .state_dir = state_dir};
    CHECK(fss_session_open(&s, &c) == FSS_E_FORMAT && strstr(fss_session_error(s), "describes"),
          "keys of another run: '%s'", fss_session_error(s));
    fss_session_close(s);
    c.description = fss_model_description(dm);
    c.peer = "127.0.0.1:99999";
    CHECK(fss_session_open(&s, &c) == FSS_E_ARG && strstr(fss_session_error(s), "HOST:PORT"), "a bad port: '%s'",
          fss_session_error(s));
    fss_session_close(s);
    c.peer = "nosuch.invalid:7400";
    CHECK(fss_session_open(&s, &c) == FSS_E_ARG && strstr(fss_session_error(s), "cannot resolve"),
          "an unresolvable host: '%s'", fss_session_error(s));
    fss_session_close(s);
    c.peer = ":7400";
    CHECK(fss_session_open(&s, &c) == FSS_E_ARG && strstr(fss_session_error(s), "needs the host"),
          "party 1 without a host: '%s'", fss_session_error(s));
    fss_session_close(s);
    c.peer = "127.0.0.1:7400";
    c.timeout = NAN;
    CHECK(fss_session_open(&s, &c) == FSS_E_ARG && strstr(fss_session_error(s), "timeout"), "timeout NaN: '%s'",
          fss_session_error(s));
    fss_session_close(s);
    c.timeout = 1;
    c.party = 0;
    c.keys = res.path[0];
    fss_peer_listener *busy = NULL;
    REQUIRE(fss_peer_listener_new(&busy, "127.0.0.1", 0) == FSS_OK);
    snprintf(err, sizeof err, "127.0.0.1:%d", fss_peer_listener_port(busy));
    c.peer = err;
    CHECK(fss_session_open(&s, &c) == FSS_E_IO && strstr(fss_session_error(s), "cannot listen"),
          "party 0 on a port in use: '%s'", fss_session_error(s));
    fss_session_close(s);
    fss_peer_listener_free(busy);
    c.keys = res.path[1];
    CHECK(fss_session_open(&s, &c) != FSS_OK, "party 0 opened party 1's keys");
    fss_session_close(s);
    CHECK(key_state(res.path[1]) == 0 && key_state(res.path[0]) == 0, "a refused session spent a key file");
    fss_model_free(om);
    fss_model_free(dm);
    for (int b = 0; b < 2; b++)
        unlink(res.path[b]);
    rmdir(dir2);
    snprintf(err, sizeof err, "%s/p0.bin", dir);
    unlink(err);
    snprintf(err, sizeof err, "%s/p1.bin", dir);
    unlink(err);
    snprintf(err, sizeof err, "%s/" FSS_LEDGER_FILE, state_dir);
    unlink(err);
    rmdir(state_dir);
    rmdir(dir);
}

/* ---- a family with a plan: the toy whose n is in the plan, not the description ---------- */

static fss_status plan_parse(void **state, const char *desc, char *err, size_t len)
{
    if (strcmp(desc, "n-in-plan"))
        return fss_errorf(err, len, FSS_E_FORMAT, "not a planned toy: '%s'", desc);
    return toy_new(state, 0); /* n from the plan */
}

static void plan_describe(const void *state, char *out, size_t len)
{
    (void)state;
    snprintf(out, len, "n-in-plan");
}

/* "n=<n>" and n bytes of filler: a plan that grows with the model */
static fss_status plan_make(const void *state, uint8_t **bytes, size_t *len, char *err, size_t err_len)
{
    const toy *t = state;
    (void)err, (void)err_len;
    *len = 24 + t->n;
    if (!(*bytes = calloc(1, *len)))
        return FSS_E_NOMEM;
    snprintf((char *)*bytes, 24, "n=%zu", t->n);
    for (size_t i = 24; i < *len; i++)
        (*bytes)[i] = (uint8_t)i;
    return FSS_OK;
}

static fss_status plan_use(void *state, const uint8_t *bytes, size_t len, char *err, size_t err_len)
{
    toy *t = state;
    size_t n = 0;
    if (len < 24 || sscanf((const char *)bytes, "n=%zu", &n) != 1 || len != 24 + n)
        return fss_errorf(err, err_len, FSS_E_FORMAT, "a planned toy's plan of %zu bytes does not parse", len);
    t->n = n;
    return FSS_OK;
}

static int plan_knows(const char *m) { return !strcmp(m, "toy-plan"); }

static const fss_family plan_family = {
    .name = "toyplan", .version = 1, .models = "toy-plan", .flags = toy_flags, .knows = plan_knows,
    .configure = toy_configure, .parse = plan_parse, .describe = plan_describe, .load = toy_load, .walk = toy_walk,
    .save = toy_save, .free = toy_free, .plan = plan_make, .use_plan = plan_use};

/* The dealer writes the plan with the description; each party's peek gets it back (its n)
 * before the run; a description whose plan word is dropped is refused. */
static void planned_run(fss_rng *rng)
{
    char dir[] = "/tmp/fss-test-plan-XXXXXX", err[1024], n[24], ws[24], xs[24];
    REQUIRE(mkdtemp(dir));
    snprintf(state_dir, sizeof state_dir, "%s/state", dir);
    const size_t nv = 1 + (size_t)(check_u64(rng) % 3000);
    snprintf(n, sizeof n, "%zu", nv);
    snprintf(ws, sizeof ws, "%llu", (unsigned long long)(check_u64(rng) >> 1));
    snprintf(xs, sizeof xs, "%llu", (unsigned long long)(check_u64(rng) >> 1));
    const char *dv[] = {"--n", n}, *p0v[] = {"--w", ws}, *p1v[] = {"--x", xs};
    const fss_args da = args_of(2, dv), a0 = args_of(2, p0v), a1 = args_of(2, p1v);
    fss_model *dm = NULL;
    fss_deal_result res;
    REQUIRE(fss_model_configure(&dm, "toy-plan", FSS_ROLE_DEALER, &da, err, sizeof err) == FSS_OK);
    CHECK(strstr(fss_model_description(dm), "fsskit-toyplan/1 n-in-plan plan=") == fss_model_description(dm),
          "the planned toy's description: '%s'", fss_model_description(dm));
    fss_deal_config dc = {.dir = dir, .threads = 1};
    CHECK(fss_deal_files(dm, &dc, &res, err, sizeof err) == FSS_OK, "dealer: %s", err);
    party p[2];
    both_parties(p, res.path, &a0, &a1);
    for (int b = 0; b < 2; b++) {
        CHECK(p[b].st == FSS_OK && p[b].n == nv, "planned party %d: n %zu of %zu: %s", b, p[b].n, nv, p[b].err);
    }
    free(p[1].y);
    /* the description alone, without its plan word, is refused for this family */
    fss_model *m = NULL;
    const char *bare = "fsskit-toyplan/1 n-in-plan";
    CHECK(fss_model_from_description(&m, bare, strlen(bare), fss_model_fingerprint(dm), err, sizeof err) ==
                  FSS_E_FORMAT && strstr(err, "lacks a plan"),
          "a planned family's description without its plan: '%s'", err);
    fss_model_free(m);
    fss_model_free(dm);
    for (int b = 0; b < 2; b++)
        unlink(res.path[b]);
    snprintf(err, sizeof err, "%s/" FSS_LEDGER_FILE, state_dir);
    unlink(err);
    rmdir(state_dir);
    rmdir(dir);
    printf("planned toy n=%zu: the plan reached both parties\n", nv);
}

int main(void)
{
    fss_rng *rng = check_init("test_family");
    registry();
    flags();
    whole_run(rng);
    REQUIRE(fss_family_register(&plan_family) == FSS_OK);
    planned_run(rng);
    fss_rng_free(rng);
    return check_summary();
}
