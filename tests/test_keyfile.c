/* Key files: chunks of boundary and random sizes round-trip through the streaming writer
 * and the read-ahead reader; the bytes on disk follow the layout documented in
 * fss/keyfile.h; and every damaged or misused file is refused with FSS_E_FORMAT (or
 * FSS_E_ARG for misuse) and a message: existing paths, truncation at any offset, flipped
 * bytes, the wrong model or party, a second use. CRC32C's two paths give the check value
 * and agree with each other. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "crc32c.h"
#include "fss/keyfile.h"

#define MIB ((size_t)1 << 20)

static fss_rng *rng;
static char dir[64];
static uint8_t run_id[FSS_KEYFILE_RUN_ID_BYTES], fingerprint[FSS_KEYFILE_FINGERPRINT_BYTES],
    secret[FSS_KEYFILE_SECRET_BYTES];

/* name under the test directory; the result is overwritten by the fourth call after. */
static const char *path_of(const char *name)
{
    static char p[4][256];
    static int k;
    k = (k + 1) & 3;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

/* The header check by the documented layout: bytes 0..87 (state 0), then 92..123. */
static uint32_t header_check(const uint8_t *h)
{
    uint8_t t[88];
    memcpy(t, h, 88);
    memset(t + 64, 0, 4);
    return fss_crc32c(fss_crc32c(0, t, 88), h + 92, 32);
}

static int exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

static uint8_t *random_bytes(size_t n)
{
    uint8_t *b = malloc(n ? n : 1);
    REQUIRE(b);
    if (n)
        REQUIRE(fss_rng_bytes(rng, b, n) == FSS_OK);
    return b;
}

static uint8_t *slurp(const char *path, size_t *n)
{
    struct stat sb;
    REQUIRE(stat(path, &sb) == 0);
    *n = (size_t)sb.st_size;
    uint8_t *b = malloc(*n ? *n : 1);
    FILE *f = fopen(path, "rb");
    REQUIRE(b && f && fread(b, 1, *n, f) == *n);
    fclose(f);
    return b;
}

static void spill(const char *path, const uint8_t *b, size_t n)
{
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    REQUIRE(fd >= 0 && write(fd, b, n) == (ssize_t)n && close(fd) == 0);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void wr64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* A test file: chunk i has kind 100 + i, elements 7 * i + 1, and sizes[i] random bytes. */
typedef struct tfile {
    size_t count;
    size_t *sizes;
    uint8_t **data;
} tfile;

static tfile tfile_make(size_t count, const size_t *sizes)
{
    tfile t = {count, malloc(count * sizeof(size_t) + 1), malloc(count * sizeof(uint8_t *) + 1)};
    REQUIRE(t.sizes && t.data);
    for (size_t i = 0; i < count; i++) {
        t.sizes[i] = sizes[i];
        t.data[i] = random_bytes(sizes[i]);
    }
    return t;
}

static void tfile_free(tfile *t)
{
    for (size_t i = 0; i < t->count; i++)
        free(t->data[i]);
    free(t->sizes);
    free(t->data);
}

/* Writes t to path for party; chunk `streamed` (if < count) goes in random pieces. */
static void tfile_write(const tfile *t, const char *path, int party, size_t streamed)
{
    fss_keyfile_writer *w = NULL;
    fss_status st = fss_keyfile_create(&w, path, party, run_id, fingerprint, secret);
    REQUIRE(st == FSS_OK);
    for (size_t i = 0; i < t->count; i++) {
        uint32_t kind = 100 + (uint32_t)i;
        uint64_t elements = 7 * (uint64_t)i + 1;
        if (i != streamed) {
            REQUIRE(fss_keyfile_write_chunk(w, kind, elements, t->data[i], t->sizes[i]) == FSS_OK);
            continue;
        }
        REQUIRE(fss_keyfile_begin_chunk(w, kind, elements, t->sizes[i]) == FSS_OK);
        size_t done = 0, pieces = 0;
        while (done < t->sizes[i]) {
            /* Mostly small pieces, now and then one past the writer's 1 MiB buffer. */
            uint64_t r = check_u64(rng);
            size_t piece = r % 16 == 0 ? MIB + (size_t)(r >> 40) % 4096 : (size_t)(r >> 20) % 70000;
            piece = piece < t->sizes[i] - done ? piece : t->sizes[i] - done;
            REQUIRE(fss_keyfile_append(w, t->data[i] + done, piece) == FSS_OK);
            done += piece;
            pieces++;
        }
        REQUIRE(fss_keyfile_append(w, NULL, 0) == FSS_OK);
        REQUIRE(fss_keyfile_end_chunk(w) == FSS_OK);
        CHECK(pieces >= 2, "chunk %zu went in only %zu pieces", i, pieces);
    }
    CHECK(fss_keyfile_writer_chunks(w) == t->count, "writer counted %" PRIu64 " chunks", fss_keyfile_writer_chunks(w));
    uint64_t bytes = fss_keyfile_writer_bytes(w);
    CHECK(!exists(path), "key file visible before close");
    st = fss_keyfile_writer_close(w);
    CHECK(st == FSS_OK, "close: %s", st ? fss_keyfile_writer_error(w) : "");
    if (st)
        fss_keyfile_writer_abort(w);
    struct stat sb;
    REQUIRE(stat(path, &sb) == 0);
    CHECK((uint64_t)sb.st_size == bytes, "file has %lld bytes, writer counted %" PRIu64, (long long)sb.st_size, bytes);
}

static fss_keyfile_reader *open_ok(const char *path, int party)
{
    fss_keyfile_reader *r = NULL;
    fss_status st = fss_keyfile_open(&r, path, party, NULL);
    if (st)
        fprintf(stderr, "open %s: %s\n", path, fss_keyfile_reader_error(r));
    REQUIRE(st == FSS_OK);
    return r;
}

/* Opening path as party must fail with want and a message containing needle. */
static void open_fails(const char *path, int party, fss_status want, const char *needle, const char *what)
{
    fss_keyfile_reader *r = NULL;
    fss_status st = fss_keyfile_open(&r, path, party, NULL);
    const char *msg = fss_keyfile_reader_error(r);
    CHECK(st == want && strstr(msg, needle), "%s: status %d, message \"%s\"", what, (int)st, msg);
    fss_keyfile_reader_close(r);
}

static void test_crc32c(void)
{
    static const char check[] = "123456789";
    CHECK(fss_crc32c_portable(0, check, 9) == 0xE3069283u, "portable %08x", fss_crc32c_portable(0, check, 9));
    CHECK(fss_crc32c(0, check, 9) == 0xE3069283u, "dispatched %08x", fss_crc32c(0, check, 9));
    CHECK(fss_crc32c(0, "", 0) == 0, "empty");
    int sse = fss_crc32c_have_sse42();
    printf("crc32c: SSE4.2 %s\n", sse ? "present, compared with the portable path" : "absent, portable only");
    if (sse)
        CHECK(fss_crc32c_sse42(0, check, 9) == 0xE3069283u, "sse4.2 %08x", fss_crc32c_sse42(0, check, 9));
    uint8_t *b = random_bytes(70000);
    for (int t = 0; t < 400; t++) {
        uint64_t r = check_u64(rng);
        size_t off = r % 16, n = t < 64 ? (size_t)t : (size_t)(r >> 8) % 69000;
        uint32_t seed = (uint32_t)(r >> 32);
        uint32_t p = fss_crc32c_portable(seed, b + off, n);
        if (sse)
            CHECK(fss_crc32c_sse42(seed, b + off, n) == p, "sse4.2 != portable at offset %zu, %zu bytes", off, n);
        size_t cut = n ? (size_t)(r >> 40) % n : 0;
        CHECK(fss_crc32c(fss_crc32c(seed, b + off, cut), b + off + cut, n - cut) == p,
              "chained crc differs at cut %zu of %zu", cut, n);
        if (seed == 0 || t % 2) /* the combination of two parts checked apart */
            CHECK(fss_crc32c_combine(fss_crc32c(0, b + off, cut), fss_crc32c(0, b + off + cut, n - cut), n - cut) ==
                      fss_crc32c(0, b + off, n),
                  "combined crc differs at cut %zu of %zu", cut, n);
    }
    CHECK(fss_crc32c_combine(fss_crc32c(0, check, 4), fss_crc32c(0, check + 4, 5), 5) == 0xE3069283u,
          "combined check value");
    free(b);
}

/* Boundary sizes, one chunk streamed in many pieces, random sizes; contents, layout,
 * counters, mode 0600, and the one-time rule. */
static void test_round_trip(void)
{
    size_t sizes[32] = {0, 1, 31, 4096, MIB + 3, 3 * MIB + 17, 0, 1};
    size_t count = 8 + 20;
    for (size_t i = 8; i < count; i++)
        sizes[i] = (size_t)(check_u64(rng) % 200000);
    tfile t = tfile_make(count, sizes);
    char path[256];
    snprintf(path, sizeof path, "%s", path_of("round.keys"));
    tfile_write(&t, path, 1, 5);

    struct stat sb;
    REQUIRE(stat(path, &sb) == 0);
    CHECK((sb.st_mode & 0777) == 0600, "mode %o", (unsigned)(sb.st_mode & 0777));
    CHECK(!exists(path_of("round.keys.partial")), "partial file left behind");

    /* The bytes on disk, by the documented offsets. */
    size_t n;
    uint8_t *raw = slurp(path, &n);
    CHECK(memcmp(raw, "FSSKEYS1", 8) == 0 && rd32(raw + 8) == 2 && rd32(raw + 12) == 1, "header magic/version/party");
    CHECK(memcmp(raw + 16, run_id, 16) == 0 && memcmp(raw + 32, fingerprint, 32) == 0, "run id / fingerprint");
    CHECK(memcmp(raw + 92, secret, 32) == 0 && rd32(raw + 124) == 0, "channel secret");
    CHECK(rd32(raw + 64) == 0 && rd32(raw + 68) == 0, "state/reserved %u %u", rd32(raw + 64), rd32(raw + 68));
    CHECK(rd64(raw + 72) == count && rd64(raw + 80) == n, "counts %" PRIu64 " %" PRIu64, rd64(raw + 72), rd64(raw + 80));
    CHECK(rd32(raw + 88) == header_check(raw), "header check");
    size_t off = 128;
    for (size_t i = 0; i < count && off + 32 <= n; i++) {
        const uint8_t *h = raw + off;
        CHECK(rd32(h) == 100 + i && rd32(h + 4) == 0 && rd64(h + 8) == 7 * i + 1 && rd64(h + 16) == sizes[i],
              "chunk %zu header fields", i);
        CHECK(rd32(h + 28) == fss_crc32c(0, h, 28), "chunk %zu header crc", i);
        CHECK(off + 32 + sizes[i] <= n && rd32(h + 24) == fss_crc32c(0, h + 32, sizes[i]), "chunk %zu payload crc", i);
        CHECK(off + 32 + sizes[i] <= n && memcmp(h + 32, t.data[i], sizes[i]) == 0, "chunk %zu payload bytes", i);
        off += 32 + sizes[i];
    }
    CHECK(off == n, "chunks end at %zu of %zu", off, n);
    free(raw);

    fss_keyfile_info info;
    char err[512];
    CHECK(fss_keyfile_peek_info(path, &info, err, sizeof err) == FSS_OK, "peek: %s", err);
    CHECK(info.state == 0 && info.party == 1 && info.chunk_count == count && info.total_bytes == n, "peek info");
    open_fails(path, 0, FSS_E_FORMAT, "is party 1's, but this is party 0", "wrong party");
    CHECK(fss_keyfile_peek_info(path, &info, err, sizeof err) == FSS_OK && info.state == 0,
          "a refused open marked the file used");

    fss_keyfile_reader *r = NULL;
    fss_status st = fss_keyfile_open(&r, path, 1, &info);
    REQUIRE(st == FSS_OK);
    CHECK(info.version == FSS_KEYFILE_VERSION && memcmp(info.run_id, run_id, 16) == 0 &&
              memcmp(info.fingerprint, fingerprint, 32) == 0 && memcmp(info.secret, secret, 32) == 0,
          "open info");
    open_fails(path, 1, FSS_E_FORMAT, "another process", "concurrent open");
    uint64_t bytes = 0;
    for (size_t i = 0; i < count; i++) {
        CHECK(fss_keyfile_remaining(r) == count - i, "remaining %" PRIu64, fss_keyfile_remaining(r));
        fss_keyfile_chunk c;
        st = fss_keyfile_next(r, 100 + (uint32_t)i, 7 * i + 1, &c);
        CHECK(st == FSS_OK, "next %zu: %s", i, fss_keyfile_reader_error(r));
        if (st)
            break;
        CHECK(c.index == i && c.payload_bytes == sizes[i] && c.data, "chunk %zu: index %" PRIu64 ", %" PRIu64 " bytes",
              i, c.index, c.payload_bytes);
        CHECK(memcmp(c.data, t.data[i], sizes[i]) == 0, "chunk %zu contents differ", i);
        bytes += 32 + sizes[i];
    }
    CHECK(fss_keyfile_remaining(r) == 0 && fss_keyfile_reader_finish(r) == FSS_OK, "finish: %s",
          fss_keyfile_reader_error(r));
    CHECK(fss_keyfile_reader_bytes(r) == bytes, "reader counted %" PRIu64, fss_keyfile_reader_bytes(r));
    fss_keyfile_chunk c;
    CHECK(fss_keyfile_next(r, 0, 0, &c) == FSS_E_FORMAT && strstr(fss_keyfile_reader_error(r), "has no chunk"),
          "read past the last chunk: %s", fss_keyfile_reader_error(r));
    fss_keyfile_reader_close(r);

    CHECK(fss_keyfile_peek_info(path, &info, err, sizeof err) == FSS_OK && info.state == 1, "state after use");
    open_fails(path, 1, FSS_E_FORMAT, "was already used (run id", "second open");
    unlink(path);
    tfile_free(&t);
}

static void test_writer_refusals(void)
{
    char path[256];
    snprintf(path, sizeof path, "%s", path_of("exists.keys"));
    spill(path, (const uint8_t *)"x", 1);
    fss_keyfile_writer *w = NULL;
    CHECK(fss_keyfile_create(&w, path, 0, run_id, fingerprint, secret) == FSS_E_ARG &&
              strstr(fss_keyfile_writer_error(w), "exists; remove it or choose another --out"),
          "existing path: %s", fss_keyfile_writer_error(w));
    fss_keyfile_writer_abort(w);
    CHECK(!exists(path_of("exists.keys.partial")), "partial made beside an existing file");
    unlink(path);

    /* A stale partial file (an interrupted dealer) is refused, not overwritten. */
    snprintf(path, sizeof path, "%s", path_of("stale.keys"));
    spill(path_of("stale.keys.partial"), (const uint8_t *)"y", 1);
    CHECK(fss_keyfile_create(&w, path, 0, run_id, fingerprint, secret) == FSS_E_ARG &&
              strstr(fss_keyfile_writer_error(w), "interrupted"),
          "stale partial: %s", fss_keyfile_writer_error(w));
    fss_keyfile_writer_abort(w);
    CHECK(exists(path_of("stale.keys.partial")), "someone else's partial file removed");
    unlink(path_of("stale.keys.partial"));

    CHECK(fss_keyfile_create(&w, path, 2, run_id, fingerprint, secret) == FSS_E_ARG, "party 2 accepted");
    fss_keyfile_writer_abort(w);

    /* Abort mid-chunk leaves nothing. */
    uint8_t *b = random_bytes(3 * MIB);
    snprintf(path, sizeof path, "%s", path_of("aborted.keys"));
    REQUIRE(fss_keyfile_create(&w, path, 0, run_id, fingerprint, secret) == FSS_OK);
    REQUIRE(fss_keyfile_write_chunk(w, 1, 1, b, 3 * MIB) == FSS_OK);
    REQUIRE(fss_keyfile_begin_chunk(w, 2, 2, 100) == FSS_OK && fss_keyfile_append(w, b, 50) == FSS_OK);
    CHECK(exists(path_of("aborted.keys.partial")), "no partial file while writing");
    fss_keyfile_writer_abort(w);
    CHECK(!exists(path) && !exists(path_of("aborted.keys.partial")), "abort left a file");

    /* Misuse fails, removes the partial file and stays failed. */
    struct {
        const char *what;
        int step;
    } cases[] = {{"append past the declared size", 0}, {"end_chunk short", 1}, {"append outside a chunk", 2},
                 {"close inside a chunk", 3}, {"a chunk over the 1 GiB limit", 4}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        REQUIRE(fss_keyfile_create(&w, path, 0, run_id, fingerprint, secret) == FSS_OK);
        fss_status st = FSS_OK;
        switch (cases[k].step) {
        case 0:
            REQUIRE(fss_keyfile_begin_chunk(w, 1, 1, 10) == FSS_OK);
            st = fss_keyfile_append(w, b, 11);
            break;
        case 1:
            REQUIRE(fss_keyfile_begin_chunk(w, 1, 1, 10) == FSS_OK && fss_keyfile_append(w, b, 9) == FSS_OK);
            st = fss_keyfile_end_chunk(w);
            break;
        case 2: st = fss_keyfile_append(w, b, 1); break;
        case 3:
            REQUIRE(fss_keyfile_begin_chunk(w, 1, 1, 10) == FSS_OK);
            st = fss_keyfile_writer_close(w);
            break;
        default: st = fss_keyfile_begin_chunk(w, 1, 1, FSS_KEYFILE_MAX_CHUNK_BYTES + 1); break;
        }
        const char *msg = fss_keyfile_writer_error(w);
        CHECK(st == FSS_E_ARG && *msg, "%s: status %d, \"%s\"", cases[k].what, (int)st, msg);
        CHECK(fss_keyfile_write_chunk(w, 1, 1, b, 1) == st, "%s: writer went on after a failure", cases[k].what);
        CHECK(!exists(path_of("aborted.keys.partial")) && !exists(path), "%s left a file", cases[k].what);
        fss_keyfile_writer_abort(w);
    }
    free(b);
}

/* A two-chunk file cut at offsets inside the header, a chunk header and a payload, and
 * one with bytes appended: all refused at open. */
static void test_truncation(void)
{
    size_t sizes[2] = {100, 5000};
    tfile t = tfile_make(2, sizes);
    char good[256];
    snprintf(good, sizeof good, "%s", path_of("whole.keys"));
    tfile_write(&t, good, 0, 9);
    size_t n;
    uint8_t *raw = slurp(good, &n);
    size_t cuts[] = {0, 5, 8, 50, 127, 128, 140, 159, 160, 210, 259, 260, 300, n - 1};
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
        const char *p = path_of("cut.keys");
        spill(p, raw, cuts[k]);
        char what[64];
        snprintf(what, sizeof what, "cut at %zu of %zu", cuts[k], n);
        open_fails(p, 0, FSS_E_FORMAT, "is truncated", what);
        fss_keyfile_info info;
        char err[512];
        CHECK(fss_keyfile_peek_info(p, &info, err, sizeof err) == FSS_E_FORMAT, "peek %s", what);
        unlink(p);
    }
    uint8_t *longer = malloc(n + 3);
    REQUIRE(longer);
    memcpy(longer, raw, n);
    memset(longer + n, 0, 3);
    spill(path_of("long.keys"), longer, n + 3);
    open_fails(path_of("long.keys"), 0, FSS_E_FORMAT, "appended to", "bytes appended");
    unlink(path_of("long.keys"));

    /* A flipped header byte (not the state field) breaks the header check; other magic. */
    memcpy(longer, raw, n);
    longer[40] ^= 0x10;
    spill(path_of("hdr.keys"), longer, n);
    open_fails(path_of("hdr.keys"), 0, FSS_E_FORMAT, "corrupted header", "flipped header byte");
    memcpy(longer, raw, n);
    longer[100] ^= 0x01; /* in the channel secret */
    spill(path_of("hdr.keys"), longer, n);
    open_fails(path_of("hdr.keys"), 0, FSS_E_FORMAT, "corrupted header", "flipped secret byte");
    memcpy(longer, raw, n);
    longer[3] ^= 1;
    spill(path_of("hdr.keys.2"), longer, n);
    open_fails(path_of("hdr.keys.2"), 0, FSS_E_FORMAT, "not an fsskit key file", "bad magic");
    memcpy(longer, raw, n);
    wr32(longer + 8, 3);
    wr32(longer + 88, header_check(longer));
    spill(path_of("hdr.keys.3"), longer, n);
    open_fails(path_of("hdr.keys.3"), 0, FSS_E_FORMAT, "format version 3", "future version");
    unlink(path_of("hdr.keys"));
    unlink(path_of("hdr.keys.2"));
    unlink(path_of("hdr.keys.3"));
    open_fails(path_of("missing.keys"), 0, FSS_E_IO, "run the dealer", "missing file");
    free(longer);
    free(raw);
    unlink(good);
    tfile_free(&t);
}

/* Damage found while streaming: a flipped payload byte at its chunk, a flipped chunk
 * header, the wrong kind or element count, unread chunks. */
static void test_stream_errors(void)
{
    size_t sizes[5] = {64, 2 * MIB, 0, 4000, 77};
    tfile t = tfile_make(5, sizes);
    char good[256];
    snprintf(good, sizeof good, "%s", path_of("stream.keys"));
    tfile_write(&t, good, 0, 1);
    size_t n;
    uint8_t *raw = slurp(good, &n);
    size_t chunk3 = 128 + (32 + 64) + (32 + 2 * MIB) + 32; /* chunk 3's header */
    uint8_t *bad = malloc(n);
    REQUIRE(bad);

    for (int v = 0; v < 2; v++) {
        memcpy(bad, raw, n);
        size_t at = v == 0 ? chunk3 + 32 + (size_t)(check_u64(rng) % 4000) : chunk3 + 9;
        bad[at] ^= (uint8_t)(1u << (check_u64(rng) % 8));
        const char *p = path_of("flip.keys");
        spill(p, bad, n);
        fss_keyfile_reader *r = open_ok(p, 0);
        fss_keyfile_chunk c;
        for (uint32_t i = 0; i < 3; i++)
            CHECK(fss_keyfile_next(r, 100 + i, 7 * i + 1, &c) == FSS_OK, "chunk %u before the damage", i);
        fss_status st = fss_keyfile_next(r, 103, 22, &c);
        const char *want = v == 0 ? "chunk 3 is corrupted (checksum)" : "chunk 3 has a corrupted header";
        CHECK(st == FSS_E_FORMAT && strstr(fss_keyfile_reader_error(r), want), "flip at %zu: %d \"%s\"", at, (int)st,
              fss_keyfile_reader_error(r));
        CHECK(fss_keyfile_next(r, 104, 29, &c) == st, "reader went on after damage");
        fss_keyfile_reader_close(r);
        unlink(p);
    }

    for (int v = 0; v < 2; v++) {
        const char *p = path_of("model.keys");
        spill(p, raw, n);
        fss_keyfile_reader *r = open_ok(p, 0);
        fss_keyfile_chunk c;
        CHECK(fss_keyfile_next(r, 100, 1, &c) == FSS_OK, "chunk 0");
        fss_status st = v == 0 ? fss_keyfile_next(r, 999, 8, &c) : fss_keyfile_next(r, 101, 9, &c);
        const char *want = v == 0 ? "chunk 1: expected kind 999 with 8 elements, found 101 with 8"
                                  : "chunk 1: expected kind 101 with 9 elements, found 101 with 8";
        CHECK(st == FSS_E_FORMAT && strstr(fss_keyfile_reader_error(r), want), "wrong %s: \"%s\"",
              v ? "elements" : "kind", fss_keyfile_reader_error(r));
        fss_keyfile_reader_close(r);
        unlink(p);
    }

    /* Unread chunks; and close while the thread is reading ahead. */
    const char *p = path_of("unread.keys");
    spill(p, raw, n);
    fss_keyfile_reader *r = open_ok(p, 0);
    fss_keyfile_chunk c;
    CHECK(fss_keyfile_next(r, 100, 1, &c) == FSS_OK && fss_keyfile_next(r, 101, 8, &c) == FSS_OK, "two chunks");
    CHECK(fss_keyfile_remaining(r) == 3, "remaining %" PRIu64, fss_keyfile_remaining(r));
    CHECK(fss_keyfile_reader_finish(r) == FSS_E_FORMAT &&
              strstr(fss_keyfile_reader_error(r), "has 3 unread chunks: it belongs to a different model"),
          "unread: \"%s\"", fss_keyfile_reader_error(r));
    fss_keyfile_reader_close(r);
    spill(p, raw, n);
    fss_keyfile_reader_close(open_ok(p, 0)); /* closed before any read */
    unlink(p);
    free(bad);
    free(raw);
    unlink(good);
    tfile_free(&t);
}

/* A counting allocator for the reader's chunk buffers. */
static int allocs, frees;
/* Reads every chunk of t's file (kinds and counts as tfile_write gives them): how many
 * failed or differ. */
static size_t read_all(fss_keyfile_reader *r, const tfile *t)
{
    size_t bad = 0;
    for (uint32_t i = 0; i < t->count; i++) {
        fss_keyfile_chunk c;
        fss_status st = fss_keyfile_next(r, 100 + i, 7 * i + 1, &c);
        bad += st != FSS_OK || c.payload_bytes != t->sizes[i] || memcmp(c.data, t->data[i], t->sizes[i]) != 0;
    }
    return bad;
}

static void *count_alloc(size_t bytes, void *self)
{
    (void)self;
    allocs++;
    return malloc(bytes);
}
static void count_free(void *p, size_t bytes, void *self)
{
    (void)self;
    size_t nonzero = 0; /* wiped before it comes back */
    for (size_t i = 0; i < bytes; i += 4093)
        nonzero += ((uint8_t *)p)[i] != 0;
    CHECK(nonzero == 0, "a chunk buffer came back to its allocator unwiped");
    frees++;
    free(p);
}

/* Chunks read in parts by several threads: the same bytes for any thread count, a
 * flipped byte in any part caught by the combined checksum, and a file cut short inside a
 * later part refused (at open: the header's total no longer matches). */
static void test_parallel_read(void)
{
    size_t sizes[4] = {9 * MIB + 5, 100, 37 * MIB + 4097, 16 * MIB};
    tfile t = tfile_make(4, sizes);
    char good[256];
    snprintf(good, sizeof good, "%s", path_of("parts.keys"));
    tfile_write(&t, good, 1, 4);
    size_t n;
    uint8_t *raw = slurp(good, &n);
    static const int threads[] = {1, 2, 3, 16, 100};
    for (size_t ti = 0; ti < sizeof threads / sizeof *threads; ti++) {
        spill(good, raw, n);
        fss_keyfile_reader *r = open_ok(good, 1);
        fss_keyfile_reader_set_threads(r, threads[ti]);
        allocs = frees = 0;
        if (ti == 2) /* chunk buffers from the caller's allocator */
            fss_keyfile_reader_set_alloc(r, (fss_keyfile_alloc){count_alloc, count_free, NULL});
        const size_t bad = read_all(r, &t);
        CHECK(bad == 0 && fss_keyfile_reader_finish(r) == FSS_OK, "%d read threads: %zu chunks differ (%s)",
              threads[ti], bad, fss_keyfile_reader_error(r));
        fss_keyfile_reader_close(r);
        if (ti == 2)
            CHECK(allocs >= 1 && frees == allocs, "the caller's allocator made %d chunk buffers and took %d back",
                  allocs, frees);
    }
    /* chunk 2's payload starts after the header, chunk 0 and chunk 1 */
    const size_t chunk2 = 128 + (32 + sizes[0]) + (32 + sizes[1]) + 32;
    uint8_t *bad = malloc(n);
    REQUIRE(bad);
    for (int v = 0; v < 4; v++) { /* in the first part, a middle one, the last; then cut short */
        memcpy(bad, raw, n);
        const size_t at = chunk2 + (v == 0 ? 17 : v == 1 ? sizes[2] / 2 : sizes[2] - 3);
        size_t len = n;
        if (v < 3)
            bad[at] ^= (uint8_t)(1u << (check_u64(rng) % 8));
        else
            len = chunk2 + sizes[2] - 5 * MIB; /* inside the last part of 4 */
        const char *p = path_of("parts-bad.keys");
        spill(p, bad, len);
        fss_keyfile_reader *r = NULL;
        fss_status st = fss_keyfile_open(&r, p, 1, NULL);
        if (v == 3) { /* the header's total no longer matches: refused at open */
            CHECK(st != FSS_OK, "a key file cut short inside a chunk was opened");
        } else {
            REQUIRE(st == FSS_OK);
            fss_keyfile_reader_set_threads(r, 4);
            fss_keyfile_chunk c;
            CHECK(fss_keyfile_next(r, 100, 1, &c) == FSS_OK && fss_keyfile_next(r, 101, 8, &c) == FSS_OK,
                  "chunks before the damage");
            st = fss_keyfile_next(r, 102, 15, &c);
            CHECK(st == FSS_E_FORMAT && strstr(fss_keyfile_reader_error(r), "chunk 2 is corrupted (checksum)"),
                  "flip at payload byte %zu of chunk 2, read in 4 parts: %d \"%s\"", at - chunk2, (int)st,
                  fss_keyfile_reader_error(r));
        }
        fss_keyfile_reader_close(r);
        unlink(p);
    }
    free(bad);
    free(raw);
    unlink(good);
    tfile_free(&t);
}

/* The caller's allocator, counting the bytes out at once. */
static size_t out_now, out_most;
static void *sized_alloc(size_t bytes, void *self)
{
    (void)self;
    void *p = malloc(bytes);
    if (p && (out_now += bytes) > out_most)
        out_most = out_now;
    return p;
}
static void sized_free(void *p, size_t bytes, void *self)
{
    (void)self;
    out_now -= bytes;
    free(p);
}

/* Large chunks on both turns of the double buffer, small ones between: the reader keeps
 * one large buffer, not one a slot (at most the largest chunk and 4 MiB of small ones out
 * at once; keeping both would be twice the largest), and every chunk reads back whole. */
static void test_large_by_turns(void)
{
    size_t sizes[11];
    for (int i = 0; i < 11; i++)
        sizes[i] = i % 3 == 1 ? 8 * MIB + (size_t)(check_u64(rng) % 4096) : 1000 + (size_t)i;
    tfile t = tfile_make(11, sizes);
    const char *p = path_of("turns.keys");
    tfile_write(&t, p, 1, 11);
    fss_keyfile_reader *r = open_ok(p, 1);
    out_now = out_most = 0;
    fss_keyfile_reader_set_alloc(r, (fss_keyfile_alloc){sized_alloc, sized_free, NULL});
    const size_t bad = read_all(r, &t);
    CHECK(bad == 0 && fss_keyfile_reader_finish(r) == FSS_OK, "%zu chunks differ (%s)", bad, fss_keyfile_reader_error(r));
    fss_keyfile_reader_close(r);
    CHECK(out_most <= 9 * MIB + 4 * MIB && out_now == 0,
          "the reader held %zu bytes at once for chunks of at most %zu (%zu not given back)", out_most, 9 * MIB, out_now);
    unlink(p);
    tfile_free(&t);
}

/* A chunk header claiming more than 1 GiB, in a sparse file of that size, hand-built
 * from the documented layout: refused as too large, before any allocation. */
static void test_huge_chunk(void)
{
    uint64_t payload = FSS_KEYFILE_MAX_CHUNK_BYTES + 1, total = 128 + 32 + payload;
    uint8_t h[160] = {0};
    memcpy(h, "FSSKEYS1", 8);
    wr32(h + 8, 2);
    wr32(h + 12, 0);
    wr64(h + 72, 1);
    wr64(h + 80, total);
    wr32(h + 88, header_check(h));
    wr32(h + 128, 5);
    wr64(h + 136, 1);
    wr64(h + 144, payload);
    wr32(h + 156, fss_crc32c(0, h + 128, 28));
    const char *p = path_of("huge.keys");
    int fd = open(p, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    REQUIRE(fd >= 0 && write(fd, h, sizeof h) == (ssize_t)sizeof h);
    if (ftruncate(fd, (off_t)total) != 0) {
        printf("huge chunk: no sparse file here (%s), skipped\n", strerror(errno));
        close(fd);
        unlink(p);
        return;
    }
    close(fd);
    fss_keyfile_reader *r = open_ok(p, 0);
    fss_keyfile_chunk c;
    CHECK(fss_keyfile_next(r, 5, 1, &c) == FSS_E_NOMEM && strstr(fss_keyfile_reader_error(r), "chunk too large"),
          "huge chunk: \"%s\"", fss_keyfile_reader_error(r));
    fss_keyfile_reader_close(r);
    unlink(p);
}

int main(void)
{
    rng = check_init("test_keyfile");
    REQUIRE(fss_rng_bytes(rng, run_id, sizeof run_id) == FSS_OK);
    REQUIRE(fss_rng_bytes(rng, fingerprint, sizeof fingerprint) == FSS_OK);
    REQUIRE(fss_rng_bytes(rng, secret, sizeof secret) == FSS_OK);
    snprintf(dir, sizeof dir, "/tmp/fss-keyfile-XXXXXX");
    REQUIRE(mkdtemp(dir));

    test_crc32c();
    test_round_trip();
    test_writer_refusals();
    test_truncation();
    test_stream_errors();
    test_parallel_read();
    test_large_by_turns();
    test_huge_chunk();

    /* Everything above removed its own files: the directory must be empty. */
    DIR *d = opendir(dir);
    REQUIRE(d);
    struct dirent *e;
    while ((e = readdir(d)))
        CHECK(strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0, "left behind: %s", e->d_name);
    closedir(d);
    rmdir(dir);
    fss_rng_free(rng);
    return check_summary();
}
