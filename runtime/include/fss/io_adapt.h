/* The evaluation context's key and peer interfaces over io/: key files and TCP. */
#ifndef FSS_IO_ADAPT_H
#define FSS_IO_ADAPT_H

#include "fss/eval.h"
#include "fss/keyfile.h"
#include "fss/transport.h"

FSS_EXTERN_C_BEGIN

/* The default piece: the key reader holds two chunks (read-ahead), so this bounds its
 * memory; a party reads a gate's keys a step at a time, across pieces. */
#define FSS_KEYFILE_PIECE_BYTES ((size_t)64 << 20)

/* A gate's key larger than piece bytes (0: FSS_KEYFILE_PIECE_BYTES) is written as
 * several chunks of at most piece bytes, all but the last of kind | FSS_KEYFILE_KIND_PIECE,
 * and read back across them by the source (a part spanning two pieces is copied into the
 * joiner's buffer, wiped when replaced or freed). The structs live as long as the sink or
 * source made from them. */
typedef struct fss_keyfile_splitter {
    fss_keyfile_writer *w;
    size_t piece;
    /* the key being written (zero-initialise the struct) */
    uint32_t kind;
    uint64_t elements;
    size_t left, in_piece;
} fss_keyfile_splitter;
typedef struct fss_keyfile_joiner {
    fss_keyfile_reader *r;
    uint8_t *buf; /* parts that span pieces are copied here */
    size_t cap;
    /* the open key (zero-initialise the struct) */
    uint32_t kind;
    uint64_t elements;
    const uint8_t *at;
    size_t left;
    int more;
} fss_keyfile_joiner;

/* The allocator for a key reader's chunk buffers that suits ev's backend: page-locked
 * memory where the device parses keys (cuda), so steps are uploaded straight from the
 * chunks; malloc ({0}) otherwise. Set it with fss_keyfile_reader_set_alloc after
 * fss_eval_set_backend. */
fss_keyfile_alloc fss_eval_chunk_alloc(const fss_eval *ev);

fss_key_sink fss_keyfile_sink(fss_keyfile_splitter *sp);
fss_key_source fss_keyfile_source(fss_keyfile_joiner *j);
void fss_keyfile_joiner_free(fss_keyfile_joiner *j);
fss_link fss_peer_link(fss_peer *p);

FSS_EXTERN_C_END

#endif
