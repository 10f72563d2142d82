/* Key streams held in memory: what the tests (and an in-process dealer) use in place of
 * key files. One fss_memkeys is both a sink (the dealer appends) and a source (a party
 * reads from the start). */
#ifndef FSS_MEMKEYS_H
#define FSS_MEMKEYS_H

#include "fss/eval.h"

FSS_EXTERN_C_BEGIN

typedef struct fss_memkeys fss_memkeys;

FSS_NODISCARD fss_status fss_memkeys_new(fss_memkeys **out);
void fss_memkeys_free(fss_memkeys *m); /* wipes the key bytes */
fss_key_sink fss_memkeys_sink(fss_memkeys *m);
fss_key_source fss_memkeys_source(fss_memkeys *m);
/* The source's in_place then answers as a key file's would if its keys came in pieces of
 * piece bytes (0, the default: whole), so that tests drive a party's steps across
 * piece edges. Reads are in place either way. */
void fss_memkeys_set_piece(fss_memkeys *m, size_t piece);
size_t fss_memkeys_chunks(const fss_memkeys *m);
/* Key i as dealt (its kind and size), writable: for tests that corrupt a key. NULL past
 * the last. */
uint8_t *fss_memkeys_chunk(fss_memkeys *m, size_t i, uint32_t *kind, size_t *bytes);
size_t fss_memkeys_unread(const fss_memkeys *m);
size_t fss_memkeys_bytes(const fss_memkeys *m);

FSS_EXTERN_C_END

#endif
