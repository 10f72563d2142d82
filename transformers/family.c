/* The transformers as a model family (fss/family.h): flags, the run's description, party
 * 1's embeddings (or, minilm, its sentences, tokenized here) in and what it receives out,
 * party 0's weights (a .safetensors file or a seed). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fss/npy.h"
#include "fss/ring.h"
#include "fss/rng.h"
#include "fss/transformer.h"
#include "fss/bpe.h"
#include "fss/wordpiece.h"

#define MAX_BATCH 4096
#define MAX_SEQ 8192
#define RANDOM_INPUT_SEED 3
#define TEXT_SEQ 256       /* a clear run's default cut, sentence-transformers' max_seq_length */
#define TEXT_MAX (1 << 20) /* bytes of --text-file */
#define MAX_GEN 1024       /* tokens --generate makes */

typedef struct tf_run {
    const fss_tf_model *m;
    size_t batch, seq; /* dealer: the flags'; a party: the key file's; clear: the input's or the flags' */
    int layers;
    fss_tf_out out_kind; /* hidden states, logits or the next token */
    size_t gen;          /* tokens generated (--generate; 1: the next token only) */
    fss_bpe *bpe;        /* party 1 and clear, a language model from text: to print what it generates */
    fss_tf_weights *w; /* party 0 and clear: --weights or --random-weights */
    uint64_t *x, *out; /* party 1 and clear: embeddings (or token ids and counts) and what it receives */
    size_t xcount;     /* values x holds */
} tf_run;

static const fss_flag tf_flags[] = {
    {"--batch", "B", FSS_ROLE_DEALER | FSS_ROLE_CLEAR, 0, "sequences an inference (default 1)"},
    {"--seq", "N", FSS_ROLE_DEALER | FSS_ROLE_CLEAR, FSS_ROLE_DEALER, "tokens a sequence (clear: with --input random)"},
    {"--layers", "K", FSS_ROLE_DEALER | FSS_ROLE_CLEAR, 0, "run only the first K blocks (default all)"},
    {"--hidden", NULL, FSS_ROLE_DEALER | FSS_ROLE_CLEAR, 0,
     "GPT and Llama: reveal the last hidden states, not the last position's logits"},
    {"--next-token", NULL, FSS_ROLE_DEALER | FSS_ROLE_CLEAR, 0,
     "GPT and Llama: reveal only the next token (the logits' argmax), not the logits"},
    {"--generate", "N", FSS_ROLE_DEALER | FSS_ROLE_CLEAR, 0,
     "smollm2: generate N tokens: a pass over the prompt, then one a token over the cache of keys and values (implies --next-token)"},
    {"--weights", "FILE", FSS_ROLE_PARTY0 | FSS_ROLE_CLEAR, 0,
     ".safetensors with Hugging Face's names for the architecture (or --random-weights)"},
    {"--random-weights", "SEED", FSS_ROLE_PARTY0 | FSS_ROLE_CLEAR, 0,
     "random weights of the right shapes from SEED, drawn a part of a block at a time"},
    {"--input", "FILE", FSS_ROLE_PARTY1 | FSS_ROLE_CLEAR, 0,
     ".npy float32 token embeddings [batch][seq][d]; 'random': uniform in [-1, 1) from a fixed seed"},
    {"--text", "TEXT", FSS_ROLE_PARTY1 | FSS_ROLE_CLEAR, 0,
     "minilm, smollm2: a sentence or prompt (instead of --input; on the command line, other local users can read "
     "it: private text goes in --text-file)"},
    {"--text-file", "FILE", FSS_ROLE_PARTY1 | FSS_ROLE_CLEAR, 0, "minilm, smollm2: one a line, the batch"},
    {"--vocab", "FILE", FSS_ROLE_PARTY1 | FSS_ROLE_CLEAR, 0,
     "the tokenizer: minilm's vocab.txt, smollm2's GGUF (defaults: the source tree's transformers/minilm-vocab.txt, "
     "transformers/smollm2-tokenizer.gguf)"},
    {"--output", "FILE", FSS_ROLE_PARTY1 | FSS_ROLE_CLEAR, FSS_ROLE_PARTY1 | FSS_ROLE_CLEAR,
     ".npy: hidden states [batch][seq][d] (BERT, --hidden), logits [batch][vocab] (GPT, Llama), "
     "int64 tokens [batch] (--next-token; [batch][N] with --generate N), or sentence embeddings [batch][d] (minilm)"},
    {NULL, NULL, 0, 0, NULL},
};

static int tf_knows(const char *model) { return fss_tf_find(model) != NULL; }

/* Whether the run ends in the LM head (logits or the next token). */
static int uses_head(fss_tf_out o) { return o == FSS_TF_OUT_LOGITS || o == FSS_TF_OUT_TOKEN; }

static const char *const out_names[] = {"hidden", "logits", "token", "sentence"};

/* Values of what party 1 receives: the walk's output, once a generated token. */
static size_t out_count(const void *state)
{
    const tf_run *r = (const tf_run *)state;
    return fss_tf_out_count(r->m, r->out_kind, r->batch, r->seq) * r->gen;
}

static fss_status new_run(void **state, const fss_tf_model *m, size_t batch, size_t seq, int layers, fss_tf_out o,
                          size_t gen)
{
    tf_run *r = (tf_run *)calloc(1, sizeof *r);
    if (!r)
        return FSS_E_NOMEM;
    r->m = m, r->batch = batch, r->seq = seq, r->layers = layers, r->out_kind = o, r->gen = gen;
    *state = r;
    return FSS_OK;
}

static fss_status tf_configure(void **state, const char *model, fss_role role, const fss_args *a, char *err,
                               size_t err_len)
{
    const fss_tf_model *m = fss_tf_find(model);
    /* seq: --seq's (the dealer needs it), or 1 for a setup run of weights input once */
    size_t batch = role == FSS_ROLE_DEALER ? 1 : 0, seq = role == FSS_ROLE_DEALER ? 1 : 0, layers = (size_t)m->layers;
    const char *b = fss_args_get(a, "--batch"), *q = fss_args_get(a, "--seq"), *l = fss_args_get(a, "--layers");
    if (b && !fss_parse_count(b, MAX_BATCH, &batch))
        return fss_errorf(err, err_len, FSS_E_ARG, "--batch needs a positive integer up to %d, not '%s'", MAX_BATCH, b);
    if (q && !fss_parse_count(q, MAX_SEQ, &seq))
        return fss_errorf(err, err_len, FSS_E_ARG, "--seq needs a positive integer up to %d, not '%s'", MAX_SEQ, q);
    if (l && !fss_parse_count(l, (size_t)m->layers, &layers))
        return fss_errorf(err, err_len, FSS_E_ARG, "--layers needs 1 to %d (%s's blocks), not '%s'", m->layers, m->name,
                          l);
    const char *g = fss_args_get(a, "--generate");
    size_t gen = 1;
    if (g && (!fss_parse_count(g, MAX_GEN, &gen) || !m->tokens || m->arch == FSS_TF_BERT))
        return fss_errorf(err, err_len, FSS_E_ARG, "--generate needs 1 to %d, and a language model that takes text "
                          "(smollm2), not '%s' with %s", MAX_GEN, g, m->name);
    const int hidden = fss_args_get(a, "--hidden") != NULL, token = g || fss_args_get(a, "--next-token") != NULL;
    if ((hidden || token) && !m->vocab)
        return fss_errorf(err, err_len, FSS_E_ARG, "%s has no LM head: it reveals hidden states (drop %s)", m->name,
                          hidden ? "--hidden" : "--next-token");
    if (hidden && token)
        return fss_errorf(err, err_len, FSS_E_ARG, "--hidden or --next-token, not both");
    if (m->tokens && (seq > m->positions || (q && m->arch == FSS_TF_BERT && seq < 2)))
        return fss_errorf(err, err_len, FSS_E_ARG, "%s takes %d to %zu tokens a sentence, not --seq %zu", m->name,
                          m->arch == FSS_TF_BERT ? 2 : 1, m->positions, seq); /* ([CLS] and [SEP]) */
    const fss_tf_out o = m->tokens && m->arch == FSS_TF_BERT ? FSS_TF_OUT_SENTENCE
                         : !m->vocab || hidden     ? FSS_TF_OUT_HIDDEN
                         : token                   ? FSS_TF_OUT_TOKEN
                                                   : FSS_TF_OUT_LOGITS;
    if (m->tokens && seq + gen - 1 > m->positions)
        return fss_errorf(err, err_len, FSS_E_ARG, "%s: --seq %zu and --generate %zu take more than its %zu positions",
                          m->name, seq, gen, m->positions);
    return new_run(state, m, batch, seq, (int)layers, o, gen);
}

static fss_status tf_parse(void **state, const char *desc, char *err, size_t err_len)
{
    char name[64];
    size_t batch = 0, seq = 0, gen = 1;
    int layers = 0, bits = 0, scale = 0, o = -1;
    char out[16] = "";
    const fss_tf_model *m = NULL;
    const int k = sscanf(desc, "model=%63s batch=%zu seq=%zu layers=%d out=%15s bits=%d scale=%d gen=%zu", name, &batch,
                         &seq, &layers, out, &bits, &scale, &gen);
    if (k == 7 || k == 8)
        for (int i = 0; i < 4; i++)
            o = strcmp(out, out_names[i]) ? o : i;
    if (o < 0 || !(m = fss_tf_find(name)) || !batch || batch > MAX_BATCH || !seq || seq > MAX_SEQ || layers < 1 ||
        !gen || gen > MAX_GEN || (gen > 1 && (o != FSS_TF_OUT_TOKEN || !m->tokens || m->arch == FSS_TF_BERT)) ||
        layers > m->layers || bits != m->bits || scale != m->scale ||
        (m->tokens && seq + gen - 1 > m->positions) || (m->tokens && m->arch == FSS_TF_BERT) != (o == FSS_TF_OUT_SENTENCE) ||
        (o != FSS_TF_OUT_HIDDEN && o != FSS_TF_OUT_SENTENCE && !m->vocab))
        return fss_errorf(err, err_len, FSS_E_FORMAT, "the key file describes '%s', which this build does not know",
                          desc);
    return new_run(state, m, batch, seq, layers, (fss_tf_out)o, gen);
}

static void tf_describe(const void *state, char *out, size_t len)
{
    const tf_run *r = (const tf_run *)state;
    const int k = snprintf(out, len, "model=%s batch=%zu seq=%zu layers=%d out=%s bits=%d scale=%d", r->m->name,
                           r->batch, r->seq, r->layers, out_names[r->out_kind], r->m->bits, r->m->scale);
    if (r->gen > 1 && k > 0 && (size_t)k < len)
        snprintf(out + k, len - (size_t)k, " gen=%zu", r->gen);
}

static void tf_shape_json(const void *state, char *out, size_t len)
{
    const tf_run *r = (const tf_run *)state;
    snprintf(out, len, "\"model\": \"%s\", \"batch\": %zu, \"seq\": %zu, \"layers\": %d, \"out\": \"%s\", \"generate\": %zu",
             r->m->name, r->batch, r->seq, r->layers, out_names[r->out_kind], r->gen);
}

/* Embeddings: 'random' (uniform in [-1, 1) from a fixed seed) or an .npy [batch][seq][d],
 * every value finite and within the fixed point's range. */
static fss_status load_input(tf_run *r, const char *path, char *err, size_t err_len)
{
    const fss_tf_model *m = r->m;
    const double lim = ldexp(1.0, m->bits - 2 - m->scale);
    if (!strcmp(path, "random")) {
        if (!r->seq)
            return fss_errorf(err, err_len, FSS_E_ARG, "--input random needs --seq N (and --batch B)");
        r->batch = r->batch ? r->batch : 1;
        const size_t n = r->batch * r->seq * m->d;
        fss_rng *g = NULL;
        fss_status s = (r->x = (uint64_t *)malloc(n * 8)) ? fss_rng_new_seeded(&g, RANDOM_INPUT_SEED) : FSS_E_NOMEM;
        r->xcount = r->x ? n : 0;
        if (s == FSS_OK)
            s = fss_rng_bytes(g, r->x, n * 8);
        for (size_t i = 0; s == FSS_OK && i < n; i++)
            r->x[i] = fss_ring_from_signed(
                (int64_t)llrint(ldexp(fss_rng_unit(r->x[i]) * 2 - 1, m->scale)), m->bits);
        fss_rng_free(g);
        return s == FSS_OK ? s : fss_errorf(err, err_len, s, "cannot make random embeddings");
    }
    fss_npy a;
    fss_status s = fss_npy_read(path, &a, err, err_len);
    if (s != FSS_OK)
        return s;
    if (a.ndim != 3 || a.shape[2] != m->d || !a.shape[0] || !a.shape[1] || (r->batch && a.shape[0] != r->batch) ||
        (r->seq && a.shape[1] != r->seq)) {
        char want[160];
        snprintf(want, sizeof want, "[%s, %s, %zu]", r->batch ? "B" : "batch", r->seq ? "N" : "seq", m->d);
        if (r->batch && r->seq)
            snprintf(want, sizeof want, "[%zu, %zu, %zu] (the keys' batch and sequence)", r->batch, r->seq, m->d);
        s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s holds an array of %d dimensions%s; %s takes %s", path, a.ndim,
                       a.ndim == 3 ? " of another shape" : "", m->name, want);
    }
    const size_t n = a.count;
    if (s == FSS_OK && !(r->x = (uint64_t *)malloc(n * 8)))
        s = fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory for %zu embeddings", n);
    if (r->x)
        r->xcount = n;
    for (size_t i = 0; s == FSS_OK && i < n; i++) {
        const double v = fss_npy_get(&a, i);
        if (!(fabs(v) < lim))
            s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: element %zu is %g: not a finite number within +-%g", path,
                           i, v, lim);
        else
            r->x[i] = fss_ring_from_signed((int64_t)llrint(ldexp(v, m->scale)), m->bits);
    }
    if (s == FSS_OK)
        r->batch = a.shape[0], r->seq = a.shape[1];
    fss_npy_free(&a);
    return s;
}

/* The sentences of --text or --text-file (one a line; a last empty line is no sentence). */
static fss_status read_sentences(const fss_args *a, char **buf, size_t *buflen, size_t *count, char *err,
                                 size_t err_len)
{
    const char *text = fss_args_get(a, "--text"), *file = fss_args_get(a, "--text-file");
    size_t len = 0;
    if (text) {
        len = strlen(text);
        if (!(*buf = (char *)malloc(len + 1)))
            return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
        memcpy(*buf, text, len + 1);
        *buflen = len + 1, *count = 1;
        return FSS_OK;
    }
    FILE *f = fopen(file, "rb");
    if (!f)
        return fss_errorf(err, err_len, FSS_E_IO, "--text-file %s: %s", file, strerror(errno));
    *buf = (char *)malloc(TEXT_MAX + 2);
    *buflen = TEXT_MAX + 2;
    len = *buf ? fread(*buf, 1, TEXT_MAX + 1, f) : 0;
    const int bad = ferror(f);
    fclose(f);
    if (!*buf || bad || len > TEXT_MAX)
        return fss_errorf(err, err_len, !*buf ? FSS_E_NOMEM : bad ? FSS_E_IO : FSS_E_ARG, "--text-file %s: %s", file,
                          !*buf ? "out of memory" : bad ? "read failed" : "larger than 1 MiB");
    (*buf)[len] = '\0';
    if (memchr(*buf, '\0', len))
        return fss_errorf(err, err_len, FSS_E_FORMAT, "--text-file %s: a NUL byte; not text", file);
    *count = 0;
    for (size_t i = 0; i < len; i++)
        if ((*buf)[i] == '\n') {
            (*buf)[i] = '\0';
            ++*count;
        }
    *count += len && (*buf)[len - 1] != '\0';
    while (*count && !(*buf)[len - 1]) { /* empty lines at the end are no sentences */
        size_t e = len - 1; /* the last line's end: the NUL at len - 1 is its newline */
        size_t b = e;
        while (b && (*buf)[b - 1])
            b--;
        if (b != e)
            break;
        (*count)--, len--;
    }
    if (!*count)
        return fss_errorf(err, err_len, FSS_E_ARG, "--text-file %s holds no sentence", file);
    return FSS_OK;
}

/* Party 1's tokenizer: BERT's WordPiece ([CLS] ... [SEP]) or a GGUF's byte-level BPE. */
typedef struct text_tok {
    fss_wordpiece *wp;
    fss_bpe *bpe;
} text_tok;

static fss_status tok_load(const fss_tf_model *m, const char *path, text_tok *t, char *err, size_t err_len)
{
    fss_status s = m->arch == FSS_TF_BERT ? fss_wordpiece_load(path, &t->wp, err, err_len)
                                          : fss_bpe_load_gguf(path, &t->bpe, err, err_len);
    const size_t n = s != FSS_OK ? 0 : t->wp ? fss_wordpiece_vocab_size(t->wp) : fss_bpe_vocab_size(t->bpe);
    if (s == FSS_OK && n != m->tokens)
        s = fss_errorf(err, err_len, FSS_E_FORMAT, "%s: %zu tokens; %s's vocabulary has %zu", path, n, m->name, m->tokens);
    return s;
}

static fss_status tok_encode(const text_tok *t, const char *text, int32_t *ids, size_t room, size_t *n, size_t *cut,
                             char *err, size_t err_len)
{
    return t->wp ? fss_wordpiece_encode(t->wp, text, strlen(text), ids, room, n, cut, err, err_len)
                 : fss_bpe_encode(t->bpe, text, strlen(text), ids, room, n, cut, err, err_len);
}

/* A model that takes text: party 1's sentences as token ids (padded with id 0) and
 * counts, the batch and sequence the keys' (a party) or the text's (clear: the longest
 * sentence, at most --seq or TEXT_SEQ tokens). */
static fss_status load_text(tf_run *r, const fss_args *a, char *err, size_t err_len)
{
    const char *vocab = fss_args_get(a, "--vocab");
    if (!vocab)
        vocab = r->m->arch == FSS_TF_BERT ? FSS_TF_DIR "/minilm-vocab.txt" : FSS_TF_DIR "/smollm2-tokenizer.gguf";
    if (!fss_args_get(a, "--text") == !fss_args_get(a, "--text-file") || fss_args_get(a, "--input"))
        return fss_errorf(err, err_len, FSS_E_ARG, "%s takes text: --text \"a sentence\" or --text-file FILE (one of "
                          "them), not --input", r->m->name);
    char *buf = NULL;
    size_t count = 0, buflen = 0;
    text_tok tk = {NULL, NULL};
    fss_status s = read_sentences(a, &buf, &buflen, &count, err, err_len);
    if (s == FSS_OK && count > MAX_BATCH)
        s = fss_errorf(err, err_len, FSS_E_ARG, "%zu sentences: at most %d a run", count, MAX_BATCH);
    if (s == FSS_OK && r->batch && count != r->batch)
        s = fss_errorf(err, err_len, FSS_E_ARG, "the keys are for %zu sentences, and the text has %zu", r->batch, count);
    if (s == FSS_OK)
        s = tok_load(r->m, vocab, &tk, err, err_len);
    const size_t room = r->seq ? r->seq : TEXT_SEQ < r->m->positions ? TEXT_SEQ : r->m->positions;
    int32_t *ids = s == FSS_OK ? (int32_t *)calloc(count * room, sizeof *ids) : NULL;
    size_t *n = s == FSS_OK ? (size_t *)calloc(count, sizeof *n) : NULL, longest = 1;
    if (s == FSS_OK && (!ids || !n))
        s = fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
    const char *t = buf;
    for (size_t i = 0; s == FSS_OK && i < count; t += strlen(t) + 1, i++) {
        size_t cut = 0;
        if ((s = tok_encode(&tk, t, ids + i * room, room, &n[i], &cut, err, err_len)) != FSS_OK)
            break;
        if (!n[i]) {
            s = fss_errorf(err, err_len, FSS_E_ARG, "text %zu has no token", i + 1);
            break;
        }
        if (cut)
            fprintf(stderr, "sentence %zu: its last %zu pieces cut (%zu tokens a sentence)\n", i + 1, cut, room);
        longest = n[i] > longest ? n[i] : longest;
    }
    if (s == FSS_OK) {
        r->batch = count, r->seq = r->seq ? r->seq : longest;
        r->xcount = count * r->seq + count;
        if (!(r->x = (uint64_t *)calloc(r->xcount, 8)))
            s = fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; s == FSS_OK && i < count; i++) {
        for (size_t j = 0; j < n[i]; j++)
            r->x[i * r->seq + j] = (uint64_t)ids[i * room + j];
        r->x[count * r->seq + i] = n[i];
    }
    if (ids)
        fss_free_wiped(ids, count * room * sizeof *ids);
    if (buf)
        fss_free_wiped(buf, buflen);
    if (n) /* the lengths are party 1's secret too */
        fss_free_wiped(n, count * sizeof *n);
    fss_wordpiece_free(tk.wp);
    if (s == FSS_OK && r->gen > 1) /* kept to print what it generates */
        r->bpe = tk.bpe, tk.bpe = NULL;
    fss_bpe_free(tk.bpe);
    return s;
}

static fss_status tf_load(void *state, fss_role role, const fss_args *a, char *err, size_t err_len)
{
    tf_run *r = (tf_run *)state;
    fss_status s = FSS_OK;
    if ((role & (FSS_ROLE_PARTY1 | FSS_ROLE_CLEAR)) && !r->m->tokens && !fss_args_get(a, "--input"))
        return fss_errorf(err, err_len, FSS_E_ARG, "%s needs --input FILE.npy (token embeddings) or --input random",
                          r->m->name);
    if (role & (FSS_ROLE_PARTY1 | FSS_ROLE_CLEAR)) /* first: the clear run learns the sequence from it */
        s = r->m->tokens ? load_text(r, a, err, err_len) : load_input(r, fss_args_get(a, "--input"), err, err_len);
    if (s == FSS_OK && (role & (FSS_ROLE_PARTY0 | FSS_ROLE_CLEAR))) {
        const char *seed = fss_args_get(a, "--random-weights"), *file = fss_args_get(a, "--weights");
        const char *who = role & FSS_ROLE_CLEAR ? "the clear run" : "party 0";
        uint64_t u = 0;
        if (!seed == !file)
            return fss_errorf(err, err_len, FSS_E_ARG, "%s needs the model's weights: --weights FILE.safetensors or "
                              "--random-weights SEED (one of them)", who);
        if (seed && !fss_parse_u64(seed, &u))
            return fss_errorf(err, err_len, FSS_E_ARG, "--random-weights needs a whole number, not '%s'", seed);
        s = seed ? fss_tf_weights_random(&r->w, r->m, u)
                 : fss_tf_weights_open(&r->w, r->m, r->layers, uses_head(r->out_kind), file, err, err_len);
        if (s == FSS_E_NOMEM && seed)
            s = fss_errorf(err, err_len, s, "out of memory");
    }
    if (s != FSS_OK || !(role & (FSS_ROLE_PARTY1 | FSS_ROLE_CLEAR)))
        return s;
    if (!(r->out = (uint64_t *)calloc(out_count(r), 8)))
        return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
    return fss_npy_check_writable(fss_args_get(a, "--output"), err, err_len);
}

/* Generation, one sequence: each token's text on stderr as it comes (party 1's own). */
static void print_step(void *ctx, size_t step, const uint64_t *tokens)
{
    const tf_run *r = (const tf_run *)ctx;
    char piece[256];
    const size_t k = fss_bpe_decode(r->bpe, (int32_t)tokens[0], piece, sizeof piece);
    fprintf(stderr, "%s%.*s%s", step ? "" : "generated: ", (int)k, piece, step + 1 == r->gen ? "\n" : "");
    fflush(stderr);
}

static fss_status tf_walk(void *state, fss_eval *ev, fss_progress *pg)
{
    tf_run *r = (tf_run *)state;
    const int clear = fss_eval_mode(ev) == FSS_MODE_CLEAR, b = fss_eval_party(ev);
    const fss_tf_gen gen = {r->gen, r->bpe && r->batch == 1 ? print_step : NULL, r};
    return fss_tf_walk(ev, r->m, r->layers, r->batch, r->seq, r->out_kind, clear || b == 0 ? r->w : NULL,
                       clear || b == 1 ? r->x : NULL, clear || b == 1 ? r->out : NULL, r->gen > 1 ? &gen : NULL, pg);
}

static fss_status tf_walk_weights(void *state, fss_eval *ev, fss_progress *pg)
{
    tf_run *r = (tf_run *)state;
    const int clear = fss_eval_mode(ev) == FSS_MODE_CLEAR, b = fss_eval_party(ev);
    return fss_tf_walk_weights(ev, r->m, r->layers, uses_head(r->out_kind), clear || b == 0 ? r->w : NULL,
                               pg);
}

static fss_status tf_save(void *state, fss_role role, const fss_args *a, char *err, size_t err_len)
{
    tf_run *r = (tf_run *)state;
    if (!(role & (FSS_ROLE_PARTY1 | FSS_ROLE_CLEAR)))
        return FSS_OK;
    const size_t n = out_count(r), tshape[2] = {r->batch, r->gen};
    const char *path = fss_args_get(a, "--output");
    if (r->out_kind == FSS_TF_OUT_TOKEN) { /* token ids, int64 [batch] (generated: [batch][N]) */
        int64_t *t = (int64_t *)malloc(n * sizeof(int64_t));
        if (!t)
            return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) /* the walk's are step-major */
            t[i % r->batch * r->gen + i / r->batch] = fss_ring_to_signed(r->out[i], r->m->bits);
        fss_status s = fss_npy_write_i64(path, t, r->gen > 1 ? 2 : 1, r->gen > 1 ? tshape : &n, err, err_len);
        fss_free_wiped(t, n * sizeof(int64_t));
        return s;
    }
    const size_t hidden[3] = {r->batch, r->seq, r->m->d}, logits[2] = {r->batch, r->m->vocab}, sent[2] = {r->batch, r->m->d};
    float *f = (float *)malloc(n * sizeof(float));
    if (!f)
        return fss_errorf(err, err_len, FSS_E_NOMEM, "out of memory");
    /* sentence embeddings: RMSNorm's, divided by sqrt(d) (fss/transformer.h) */
    const double k = r->out_kind == FSS_TF_OUT_SENTENCE ? 1 / sqrt((double)r->m->d) : 1;
    for (size_t i = 0; i < n; i++)
        f[i] = (float)(ldexp((double)fss_ring_to_signed(r->out[i], r->m->bits), -r->m->scale) * k);
    fss_status s = r->out_kind == FSS_TF_OUT_HIDDEN ? fss_npy_write_f32(path, f, 3, hidden, err, err_len)
                   : fss_npy_write_f32(path, f, 2, r->out_kind == FSS_TF_OUT_SENTENCE ? sent : logits, err, err_len);
    fss_free_wiped(f, n * sizeof(float));
    return s;
}

static void tf_free(void *state)
{
    tf_run *r = (tf_run *)state;
    if (!r)
        return;
    if (r->x)
        fss_free_wiped(r->x, r->xcount * 8);
    if (r->out)
        fss_free_wiped(r->out, out_count(r) * 8);
    fss_bpe_free(r->bpe);
    fss_tf_weights_free(r->w);
    fss_free_wiped(r, sizeof *r);
}

const fss_family fss_family_transformer = {
    .name = "transformer",
    /* 2: the description says what party 1 receives (out=hidden|logits|token); 3: party 0's
     * weights a part at a time, the final norm's gain and bias among them; 4: table
     * lookups' keys with two outputs a leaf; 5: GPT-Neo's local attention in its odd blocks,
     * the queries, keys and values one product; 6: GeLU and SiLU index their table by a
     * select, not a second shift; 7: the norms scale by a row's S g in one product; 8: lean
     * shifts (carries by comparison, fss_eval_set_lean_shifts); 9: the first product's key
     * without shares of party 1's input mask; 10: the norms' range from the ring (more
     * thresholds a row); 11: generation's steps after the first run one token over a
     * key/value cache; 12: generation's steps take the weights kept from the prompt's pass
     * (fss_eval_keep_weights), and a softmax max's and an argmax's levels under the lean
     * bound take one round each (fss_gate_relu_tag); 13: Llama's gate and up one part, one product;
     * the norms' row factor S g from one table of octave and mantissa; 14: a small Llama's
     * gate and up one part (fss_tf_gate_fused), the activations and nExp's clip under the
     * lean bound by relu_tag, nExp's tables one round, the argmax of the LM head's products;
     * 15: fresh shares (a seed each party) of the products', selects', lookups', shifts' and
     * one-round ReLUs' output masks; 16: FSS keys without their roots (a seed a party and
     * gate, runtime/keys.c), explicit shares balanced between the parties, nExp's lean clip
     * in 20 bits, GeLU's and SiLU's select of the index in its 16 bits (fss_gate_select2),
     * softmax's max in f + 15 bits; 17: the LM head in slices of 2^22 values (was 2^24), the
     * causal softmax on its kept entries alone, its max in f + 14 bits, a 64-bit ring's
     * lookups from pairs of whole words (DPF early = 3); 18: GeLU and SiLU interpolated
     * between steps of 1/8 (two tables of 2^5 or 2^7 entries from one lookup's key, a
     * product, a shift), their sign and range from one comparison key (fss_gate_drelu_at);
     * 19: GeLU's step height plus slope times its part one lookup (fss_gate_lut_lin: the
     * one-hot's key carries the part's mask), not a lookup of two tables and a product */
    .version = 19,
    .models = "bert-tiny, bert-base, bert-large, gpt2, gpt-neo-125m, gpt-neo-1.3b (gpt-neo), gpt-neo-2.7b, llama2-7b (llama7b), "
              "llama2-13b (llama13b), minilm (text in, sentence embeddings out), minilm-l6 (all-minilm-l6-v2), "
              "smollm2 (smollm2-135m; text in, next tokens out), gpt2-tiny, llama-tiny, gpt-neo-tiny",
    .flags = tf_flags,
    .knows = tf_knows,
    .configure = tf_configure,
    .parse = tf_parse,
    .describe = tf_describe,
    .shape_json = tf_shape_json,
    .load = tf_load,
    .walk_weights = tf_walk_weights,
    .walk = tf_walk,
    .save = tf_save,
    .free = tf_free,
};
