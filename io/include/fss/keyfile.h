/* The key file: one party's keys for one inference, written by the dealer as a stream of
 * chunks in walk order and read back, checked and consumed once by that party's online
 * process (DESIGN sections 1 and 7).
 *
 * Format, version 2. All integers little-endian; offsets in bytes.
 *
 * File header, 128 bytes:
 *     0   8  magic "FSSKEYS1"
 *     8   4  u32 format version (FSS_KEYFILE_VERSION)
 *    12   4  u32 party, 0 or 1
 *    16  16  run id, drawn by the dealer
 *    32  32  fingerprint of the model shape and ring parameters (opaque here: the
 *            caller computes it; both parties compare it at connect)
 *    64   4  u32 state: 0 = fresh, 1 = in use or consumed (set by fss_keyfile_open)
 *    68   4  u32 reserved, 0
 *    72   8  u64 chunk count
 *    80   8  u64 total bytes: the size of the whole file, header included
 *    88   4  u32 header check: CRC32C of bytes 0..87 with the state field read as 0
 *            (so that marking a file used does not change it), then of bytes 92..123
 *    92  32  the run's channel secret, drawn by the dealer and the same in both files:
 *            the pre-shared key of the parties' TLS channel (io/transport.h), so only
 *            the holder of the other key file of this run gets in
 *   124   4  zeros
 *
 * Then chunk_count chunks, back to back, each a 32-byte chunk header and its payload:
 *     0   4  u32 kind: a gate-kind code (opaque here: the model walk checks it)
 *     4   4  u32 reserved, 0
 *     8   8  u64 elements: gate instances in the chunk
 *    16   8  u64 payload bytes
 *    24   4  u32 payload CRC32C
 *    28   4  u32 header CRC32C of bytes 0..27 of this chunk header
 *    32   -  payload
 * The last chunk ends at total bytes exactly.
 *
 * Keys are one-time pads: evaluating a key file twice leaks. The writer creates
 * "<path>.partial" (mode 0600), refuses an existing path, and renames the file into
 * place only when it is complete and synced. The reader refuses a file whose state is
 * not 0 and sets it to 1 on disk before it hands out any key.
 *
 * Errors: every call returns an fss_status; FSS_E_FORMAT for a file that is not what
 * this build or this model expects, FSS_E_IO for the operating system's refusals,
 * FSS_E_ARG for misuse. Each failure leaves a one-line message that says what is wrong
 * and what to do, read with fss_keyfile_writer_error / fss_keyfile_reader_error. A
 * failure is final: the handle then only answers its error and is freed with
 * fss_keyfile_writer_abort / fss_keyfile_reader_close. No message ever holds key bytes. */
#ifndef FSS_KEYFILE_H
#define FSS_KEYFILE_H

#include "fss/common.h"

FSS_EXTERN_C_BEGIN

#define FSS_KEYFILE_VERSION 2u
#define FSS_KEYFILE_MAGIC "FSSKEYS1"
#define FSS_KEYFILE_HEADER_BYTES 128
#define FSS_KEYFILE_CHUNK_HEADER_BYTES 32
#define FSS_KEYFILE_RUN_ID_BYTES 16
#define FSS_KEYFILE_FINGERPRINT_BYTES 32
#define FSS_KEYFILE_SECRET_BYTES 32
/* The largest payload this version writes or reads: the reader holds a whole chunk in
 * memory (twice, for read-ahead). Larger gates must be split into several chunks. */
#define FSS_KEYFILE_MAX_CHUNK_BYTES ((uint64_t)1 << 30)
/* Set in a chunk's kind: the payload goes on in the next chunk (a key larger than a
 * chunk, split by the writer's user; runtime/io_adapt.c). fss_keyfile_next(kind) also
 * accepts a chunk of kind | FSS_KEYFILE_KIND_PIECE and reports which it found. */
#define FSS_KEYFILE_KIND_PIECE 0x80000000u

/* ---- Writer (the dealer) ---- */

typedef struct fss_keyfile_writer fss_keyfile_writer;

/* Starts writing party's key file at path (via "<path>.partial", buffered). Refuses a
 * path that exists. secret is the run's channel secret (the same for both parties' files). On failure *w is a handle holding the message (or NULL when even
 * that could not be allocated); free it with fss_keyfile_writer_abort. */
FSS_NODISCARD fss_status fss_keyfile_create(fss_keyfile_writer **w, const char *path, int party,
                                            const uint8_t run_id[FSS_KEYFILE_RUN_ID_BYTES],
                                            const uint8_t fingerprint[FSS_KEYFILE_FINGERPRINT_BYTES],
                                            const uint8_t secret[FSS_KEYFILE_SECRET_BYTES]);
/* A writer that writes nothing and counts: fss_keyfile_writer_bytes gives the size the
 * same calls would give a key file (the dealer's dry run). Appended data may be NULL. */
FSS_NODISCARD fss_status fss_keyfile_create_counter(fss_keyfile_writer **w, int party);

/* One chunk in pieces: begin with its kind, element count and exact payload size,
 * append the payload in any number of pieces, end. end_chunk fails unless exactly
 * payload_bytes were appended. */
FSS_NODISCARD fss_status fss_keyfile_begin_chunk(fss_keyfile_writer *w, uint32_t kind, uint64_t elements,
                                                 uint64_t payload_bytes);
FSS_NODISCARD fss_status fss_keyfile_append(fss_keyfile_writer *w, const void *data, size_t n);
FSS_NODISCARD fss_status fss_keyfile_end_chunk(fss_keyfile_writer *w);
/* begin + append + end in one call. */
FSS_NODISCARD fss_status fss_keyfile_write_chunk(fss_keyfile_writer *w, uint32_t kind, uint64_t elements,
                                                 const void *data, size_t n);

/* Completes the header, syncs the file and renames it to its path. On success w is
 * freed; on failure the partial file is removed and w holds the message: read it, then
 * call fss_keyfile_writer_abort. */
FSS_NODISCARD fss_status fss_keyfile_writer_close(fss_keyfile_writer *w);
/* Removes the partial file (if any is left) and frees w, wiping its buffer. NULL is a
 * no-op. */
void fss_keyfile_writer_abort(fss_keyfile_writer *w);

/* The message of the failure that stopped w ("" if none). */
const char *fss_keyfile_writer_error(const fss_keyfile_writer *w);
/* Bytes written so far (the header included, so after the last chunk this is the
 * file's size) and chunks completed. */
uint64_t fss_keyfile_writer_bytes(const fss_keyfile_writer *w);
uint64_t fss_keyfile_writer_chunks(const fss_keyfile_writer *w);

/* ---- Cleanup when the dealer is stopped by a signal ----
 *
 * A writer registers its partial file here from its creation until it is renamed or
 * removed; the dealer's SIGINT/SIGTERM handler calls fss_keyfile_remove_on_signal, which
 * unlinks every registered file (async-signal-safe: unlink only), so that an interrupted
 * run leaves nothing a next run would refuse. A caller may register more (a finished key
 * file whose twin is not finished yet). At most FSS_KEYFILE_SIGNAL_SLOTS at once. */
#define FSS_KEYFILE_SIGNAL_SLOTS 8
/* The slot (>= 0) holding path, or -1 when none is free or the path is too long. */
int fss_keyfile_remove_on_signal_add(const char *path);
void fss_keyfile_remove_on_signal_forget(int slot); /* -1: no-op */
void fss_keyfile_remove_on_signal(void);

/* ---- Reader (an online party) ---- */

typedef struct fss_keyfile_info {
    uint32_t version;
    int party;
    uint8_t run_id[FSS_KEYFILE_RUN_ID_BYTES];
    uint8_t fingerprint[FSS_KEYFILE_FINGERPRINT_BYTES];
    uint8_t secret[FSS_KEYFILE_SECRET_BYTES]; /* the channel secret: wipe the info after use */
    uint32_t state; /* as found on disk, before fss_keyfile_open marks it */
    uint64_t chunk_count;
    uint64_t total_bytes;
} fss_keyfile_info;

/* One verified chunk; data stays valid until the next fss_keyfile_next or close, and is
 * never NULL (even for an empty payload). */
typedef struct fss_keyfile_chunk {
    uint64_t index;
    uint32_t kind;
    uint64_t elements;
    uint64_t payload_bytes;
    const uint8_t *data;
} fss_keyfile_chunk;

typedef struct fss_keyfile_reader fss_keyfile_reader;

/* Opens party expected_party's key file, checks its header (magic, version, header
 * check, size against the file's, party), refuses one already used, marks it used on
 * disk and starts reading ahead on a thread of its own. info_out may be NULL. The file
 * stays locked (flock) until close. On failure *r is a handle holding the message (or
 * NULL when even that could not be allocated); free it with fss_keyfile_reader_close. */
FSS_NODISCARD fss_status fss_keyfile_open(fss_keyfile_reader **r, const char *path, int expected_party,
                                          fss_keyfile_info *info_out);

/* Reads and checks a key file's header without marking it used (for tools and tests).
 * err (err_len bytes, may be NULL) receives the message on failure. */
FSS_NODISCARD fss_status fss_keyfile_peek_info(const char *path, fss_keyfile_info *info, char *err,
                                               size_t err_len);

/* Reads and checks expected_party's key file header and its first chunk (which must be of
 * this kind and at most cap bytes: the run's description) into buf, without marking the
 * file used or keeping it open: a party checks what it will run before it spends its
 * keys. Refuses what fss_keyfile_open refuses (another party's file, a used one) and a
 * corrupted first chunk. *len gets the payload's length; info (may be NULL) the header. */
FSS_NODISCARD fss_status fss_keyfile_peek_first(const char *path, int expected_party, uint32_t kind, void *buf,
                                                size_t cap, size_t *len, fss_keyfile_info *info, char *err,
                                                size_t err_len);

/* The next chunk, which must have this kind and element count; its header and payload
 * checksums are verified. */
FSS_NODISCARD fss_status fss_keyfile_next(fss_keyfile_reader *r, uint32_t kind, uint64_t elements,
                                          fss_keyfile_chunk *out);

/* Threads that read and check each chunk of at least 2 x 4 MiB, in parts (default 1: the
 * read-ahead thread alone; at most FSS_KEYFILE_MAX_READ_THREADS). Copying key bytes out
 * of the page cache and checking them runs at about 5-10 GB/s a thread, under what the
 * parties' parsing and evaluating take in. Takes effect from the next chunk read. */
#define FSS_KEYFILE_MAX_READ_THREADS 16
void fss_keyfile_reader_set_threads(fss_keyfile_reader *r, int threads);

/* Where the reader's two chunk buffers come from (default: malloc): a CUDA party gives
 * page-locked memory, so the device copies keys straight out of the chunk. alloc may
 * return NULL (then malloc is used); free gets what alloc returned, wiped already.
 * Buffers made before are replaced at the next chunk read into them. */
typedef struct fss_keyfile_alloc {
    void *(*alloc)(size_t bytes, void *self);
    void (*free)(void *p, size_t bytes, void *self);
    void *self;
} fss_keyfile_alloc;
void fss_keyfile_reader_set_alloc(fss_keyfile_reader *r, fss_keyfile_alloc a);

/* Chunks not yet returned by fss_keyfile_next. */
uint64_t fss_keyfile_remaining(const fss_keyfile_reader *r);
/* FSS_OK when every chunk was read, else FSS_E_FORMAT with a message: call after the
 * model walk. */
FSS_NODISCARD fss_status fss_keyfile_reader_finish(fss_keyfile_reader *r);
/* Payload and chunk-header bytes handed out so far. */
uint64_t fss_keyfile_reader_bytes(const fss_keyfile_reader *r);

/* Stops and joins the read-ahead thread, wipes and frees the buffers, closes the file.
 * NULL is a no-op. */
void fss_keyfile_reader_close(fss_keyfile_reader *r);
const char *fss_keyfile_reader_error(const fss_keyfile_reader *r);

FSS_EXTERN_C_END

#endif
