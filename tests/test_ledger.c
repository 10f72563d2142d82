/* The ledger of spent runs (fss/ledger.h): the directory it picks (state dir, XDG_STATE_HOME,
 * HOME), a record then a check and a second record of the same (run, party) refused with
 * the run id and the key file in the message, the other party and other runs unaffected,
 * modes 0700 and 0600, a directory made on the way, lines it cannot read skipped, and an
 * unwritable place refused. Fresh random run ids each run. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "fss/ledger.h"

int main(void)
{
    fss_rng *rng = check_init("test_ledger");
    char base[] = "/tmp/fss-test-ledger-XXXXXX", dir[128], out[4096], err[1024], hex[33], file[160];
    REQUIRE(mkdtemp(base));
    snprintf(dir, sizeof dir, "%s/a/b/state", base); /* made on the way */
    uint8_t id[FSS_LEDGER_RUN_ID_BYTES], other[FSS_LEDGER_RUN_ID_BYTES];
    REQUIRE(fss_rng_bytes(rng, id, sizeof id) == FSS_OK && fss_rng_bytes(rng, other, sizeof other) == FSS_OK);
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", id[i]);

    /* where it lives */
    CHECK(fss_ledger_dir(out, sizeof out, dir, err, sizeof err) == FSS_OK && !strcmp(out, dir), "state dir: %s", out);
    setenv("XDG_STATE_HOME", "/x/state", 1);
    CHECK(fss_ledger_dir(out, sizeof out, NULL, err, sizeof err) == FSS_OK && !strcmp(out, "/x/state/fsskit"),
          "XDG_STATE_HOME: %s", out);
    setenv("XDG_STATE_HOME", "relative", 1); /* the XDG rule: ignored */
    setenv("HOME", "/home/u", 1);
    CHECK(fss_ledger_dir(out, sizeof out, "", err, sizeof err) == FSS_OK && !strcmp(out, "/home/u/.local/state/fsskit"),
          "HOME: %s", out);
    unsetenv("XDG_STATE_HOME");
    unsetenv("HOME");
    CHECK(fss_ledger_dir(out, sizeof out, NULL, err, sizeof err) == FSS_E_ARG && strstr(err, "--state-dir"),
          "no place: %s", err);

    /* nothing spent yet: a check passes and creates nothing */
    CHECK(fss_ledger_check(dir, id, 1, err, sizeof err) == FSS_OK, "empty: %s", err);
    struct stat sb;
    CHECK(stat(dir, &sb) != 0, "a check created the directory");

    /* record, then the same run and party is refused, by check and by record */
    CHECK(fss_ledger_record(dir, id, 1, "/keys/p1.bin", err, sizeof err) == FSS_OK, "record: %s", err);
    snprintf(file, sizeof file, "%s/%s", dir, FSS_LEDGER_FILE);
    CHECK(stat(dir, &sb) == 0 && (sb.st_mode & 0777) == 0700, "directory mode %o", (unsigned)sb.st_mode & 0777);
    CHECK(stat(file, &sb) == 0 && (sb.st_mode & 0777) == 0600, "ledger mode %o", (unsigned)sb.st_mode & 0777);
    CHECK(fss_ledger_check(dir, id, 1, err, sizeof err) == FSS_E_FORMAT && strstr(err, hex) &&
              strstr(err, "already used by party 1") && strstr(err, "/keys/p1.bin"),
          "a spent run passed the check: %s", err);
    CHECK(fss_ledger_record(dir, id, 1, "/keys/copy.bin", err, sizeof err) == FSS_E_FORMAT && strstr(err, hex),
          "a spent run was recorded twice: %s", err);
    /* the other party of the same run, and another run, are not spent */
    CHECK(fss_ledger_check(dir, id, 0, err, sizeof err) == FSS_OK, "party 0 of the run: %s", err);
    CHECK(fss_ledger_record(dir, other, 1, "/keys/other.bin", err, sizeof err) == FSS_OK, "another run: %s", err);
    CHECK(fss_ledger_record(dir, id, 0, "/keys/p0.bin", err, sizeof err) == FSS_OK, "party 0: %s", err);

    /* lines it cannot read are skipped; the entries after them still count */
    FILE *f = fopen(file, "a");
    REQUIRE(f);
    fputs("garbage\n\nzz 1\n", f);
    fclose(f);
    uint8_t third[FSS_LEDGER_RUN_ID_BYTES];
    REQUIRE(fss_rng_bytes(rng, third, sizeof third) == FSS_OK);
    CHECK(fss_ledger_record(dir, third, 0, "/keys/t.bin", err, sizeof err) == FSS_OK, "after garbage: %s", err);
    CHECK(fss_ledger_check(dir, third, 0, err, sizeof err) == FSS_E_FORMAT, "the entry after garbage was lost");
    CHECK(fss_ledger_check(dir, id, 1, err, sizeof err) == FSS_E_FORMAT, "the first entry was lost");

    /* an unwritable place: a file where the directory should be */
    char bad[200];
    snprintf(bad, sizeof bad, "%s/notadir", base);
    f = fopen(bad, "w");
    REQUIRE(f);
    fclose(f);
    snprintf(out, sizeof out, "%s/sub", bad);
    CHECK(fss_ledger_record(out, id, 1, "/k", err, sizeof err) == FSS_E_IO && strstr(err, "state directory"),
          "a ledger under a file: %s", err);

    unlink(file);
    unlink(bad);
    rmdir(dir);
    snprintf(out, sizeof out, "%s/a/b", base);
    rmdir(out);
    snprintf(out, sizeof out, "%s/a", base);
    rmdir(out);
    rmdir(base);
    fss_rng_free(rng);
    return check_summary();
}
