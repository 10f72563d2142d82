/* The ledger of spent runs: a small file on each party's machine that remembers every
 * (run id, party) whose keys were used here, so that a copy of a used key file (a backup,
 * a snapshot, an rsync, one byte rewritten in its "used" field) is refused: two runs on
 * the same keys would reveal the difference of their inputs.
 *
 * The file is "<dir>/spent-runs" (mode 0600, the directory 0700), one line a run:
 *     <run id, 32 hex digits> <party> <unix seconds> <key file path>
 * Appends are locked (flock) and synced. The ledger guards this machine (and whoever shares
 * the directory); the key file's own "used" mark guards the file. */
#ifndef FSS_LEDGER_H
#define FSS_LEDGER_H

#include "fss/common.h"

FSS_EXTERN_C_BEGIN

#define FSS_LEDGER_FILE "spent-runs"
#define FSS_LEDGER_RUN_ID_BYTES 16

/* The ledger's directory: state_dir when given (non-empty), else $XDG_STATE_HOME/fsskit,
 * else $HOME/.local/state/fsskit. FSS_E_ARG with a message when none can be named or it
 * does not fit in n bytes. */
FSS_NODISCARD fss_status fss_ledger_dir(char *out, size_t n, const char *state_dir, char *err, size_t err_len);

/* FSS_OK when (run_id, party) is not in the ledger under dir (or there is no ledger yet);
 * FSS_E_FORMAT with a message naming the run, when and which file, when it is; FSS_E_IO
 * when the ledger cannot be read. Spends nothing: a courtesy check before the real one. */
FSS_NODISCARD fss_status fss_ledger_check(const char *dir, const uint8_t run_id[FSS_LEDGER_RUN_ID_BYTES], int party,
                                          char *err, size_t err_len);

/* Checks and appends (run_id, party, now, keys) under one lock, creating dir and the
 * file when missing, and syncs: after FSS_OK the run counts as spent on this machine.
 * Refuses as fss_ledger_check does; FSS_E_IO when the ledger cannot be written. */
FSS_NODISCARD fss_status fss_ledger_record(const char *dir, const uint8_t run_id[FSS_LEDGER_RUN_ID_BYTES], int party,
                                           const char *keys, char *err, size_t err_len);

FSS_EXTERN_C_END

#endif
