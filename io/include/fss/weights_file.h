/* Weights input once (the dealer's model key, and the parties' masked weights files).
 *
 * A model key is the dealer's secret of one setup of a model: 16 random bytes from which
 * every weight's mask is drawn (fss_eval_set_weight_key), and a setup id, 16 random bytes
 * that name the setup in each key file dealt from it and in each masked weights file.
 * Format (all integers little-endian), one file, mode 0600:
 *     0   8  magic "FSSWKEY1"
 *     8  16  setup id
 *    24  16  the key
 *    40   4  u32 description length L (at most FSS_WFILE_DESC_MAX)
 *    44   L  the setup run's model description (fsskit-<family>/<version> ...)
 *  44+L   4  u32 CRC32C of everything before it
 *
 * A masked weights file holds what the setup run revealed to party 1: each weight's masked
 * values (they show nothing without their masks, which party 1 never gets). Party 1 keeps
 * it. Format:
 *     0   8  magic "FSSMWTS1"
 *     8  16  setup id
 *    24   4  u32 description length L
 *    28   L  the setup run's model description
 *  28+L   4  u32 CRC32C of everything before it
 * then records, back to back, each a 32-byte header and its data:
 *     0   8  u64 weight id (the family's number for it)
 *     8   8  u64 values
 *    16   4  u32 bits a value (1..64)
 *    20   4  u32 CRC32C of the data
 *    24   4  u32 CRC32C of bytes 0..23
 *    28   4  zeros
 *    32   -  data: the values packed at bits each, LSB first (ceil(values bits / 8) bytes)
 * and last an end record: id 2^64 - 1, values = the number of records before it, bits 0,
 * data CRC = the CRC32C of their 32-byte headers in order, no data. A weight id appears
 * once. The writer creates "<path>.partial", refuses an existing path, and moves the file
 * into place (without replacing anything there) only when the setup run has succeeded and
 * the file is synced; the reader indexes the records at open (a truncated file, a damaged
 * header, a missing end, a repeated id are refused then) and checks each record's data
 * when it is read. Errors: an fss_status, and a line in err naming the file. */
#ifndef FSS_WEIGHTS_FILE_H
#define FSS_WEIGHTS_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "fss/common.h"

FSS_EXTERN_C_BEGIN

#define FSS_WFILE_ID_BYTES 16
#define FSS_WFILE_DESC_MAX 1024

typedef struct fss_model_key {
    uint8_t id[FSS_WFILE_ID_BYTES];
    uint8_t key[16];
    char desc[FSS_WFILE_DESC_MAX + 1];
} fss_model_key;

/* A new model key file at path (refused when path exists), its id and key from the OS's
 * random source; k gets them. */
FSS_NODISCARD fss_status fss_model_key_create(fss_model_key *k, const char *path, const char *desc, char *err,
                                              size_t len);
FSS_NODISCARD fss_status fss_model_key_read(fss_model_key *k, const char *path, char *err, size_t len);
/* Wipes the key. */
void fss_model_key_wipe(fss_model_key *k);

typedef struct fss_wfile fss_wfile;

/* Writing (the setup run). */
FSS_NODISCARD fss_status fss_wfile_create(fss_wfile **out, const char *path, const uint8_t id[FSS_WFILE_ID_BYTES],
                                          const char *desc, char *err, size_t len);
FSS_NODISCARD fss_status fss_wfile_put(fss_wfile *w, uint64_t id, uint64_t count, int bits, const uint8_t *packed,
                                       char *err, size_t len);
/* Writes the end record, syncs and moves the file into place. On failure the writer
 * stays for fss_wfile_close, which keeps the partial file when only the move failed (the
 * data is whole: err names it). */
FSS_NODISCARD fss_status fss_wfile_commit(fss_wfile *w, char *err, size_t len);

/* Reading (an inference): the setup's id and description with fss_wfile_id, _desc. */
FSS_NODISCARD fss_status fss_wfile_open(fss_wfile **out, const char *path, char *err, size_t len);
const uint8_t *fss_wfile_id(const fss_wfile *r);
const char *fss_wfile_desc(const fss_wfile *r);
/* Weight id's packed data (ceil(count bits / 8) bytes) into packed: FSS_E_FORMAT when the
 * file has no such weight, or it has another count or bits, or its data is damaged. */
FSS_NODISCARD fss_status fss_wfile_get(fss_wfile *r, uint64_t id, uint64_t count, int bits, uint8_t *packed,
                                       char *err, size_t len);

/* Closes a reader, or drops a writer that was not committed (its partial file removed,
 * unless fss_wfile_commit kept it). NULL is a no-op. */
void fss_wfile_close(fss_wfile *f);

FSS_EXTERN_C_END

#endif
