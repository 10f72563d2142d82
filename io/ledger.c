/* The ledger of spent runs (fss/ledger.h). */
#include "fss/ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PATH_BYTES 4096
#define HEX_BYTES (2 * FSS_LEDGER_RUN_ID_BYTES)

fss_status fss_ledger_dir(char *out, size_t n, const char *state_dir, char *err, size_t err_len)
{
    const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    int k;
    if (state_dir && *state_dir)
        k = snprintf(out, n, "%s", state_dir);
    else if (xdg && *xdg == '/') /* the XDG rule: a relative value is ignored */
        k = snprintf(out, n, "%s/fsskit", xdg);
    else if (home && *home)
        k = snprintf(out, n, "%s/.local/state/fsskit", home);
    else
        return fss_errorf(err, err_len, FSS_E_ARG,
                          "no place for the ledger of spent runs: give --state-dir DIR (neither XDG_STATE_HOME nor "
                          "HOME is set)");
    if (k < 0 || (size_t)k >= n)
        return fss_errorf(err, err_len, FSS_E_ARG, "the state directory's path is too long");
    return FSS_OK;
}

static void hex(char out[HEX_BYTES + 1], const uint8_t *id)
{
    for (int i = 0; i < FSS_LEDGER_RUN_ID_BYTES; i++)
        snprintf(out + 2 * i, 3, "%02x", id[i]);
}

/* mkdir -p with mode 0700 for what it creates. */
static int make_dirs(const char *dir)
{
    char p[PATH_BYTES];
    snprintf(p, sizeof p, "%s", dir);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = 0;
        if (mkdir(p, 0700) != 0 && errno != EEXIST)
            return errno;
        *s = '/';
    }
    return mkdir(p, 0700) != 0 && errno != EEXIST ? errno : 0;
}

/* Scans the open ledger fd for (id, party): FSS_OK when absent, FSS_E_FORMAT with the
 * message when present, FSS_E_IO when unreadable. */
static fss_status scan(int fd, const char *path, const char *id, int party, char *err, size_t err_len)
{
    FILE *f = fdopen(dup(fd), "r");
    if (!f)
        return fss_errorf(err, err_len, FSS_E_IO, "cannot read the ledger %s: %s", path, strerror(errno));
    char line[PATH_BYTES + 128];
    fss_status st = FSS_OK;
    while (st == FSS_OK && fgets(line, sizeof line, f)) {
        char got[HEX_BYTES + 1];
        int b = -1, at = 0;
        long long when = 0;
        if (sscanf(line, "%32s %d %lld %n", got, &b, &when, &at) < 3 || strcmp(got, id) != 0 || b != party)
            continue;
        line[strcspn(line, "\n")] = 0;
        time_t t = (time_t)when;
        struct tm tm;
        char stamp[32] = "?";
        if (gmtime_r(&t, &tm))
            strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S UTC", &tm);
        st = fss_errorf(err, err_len, FSS_E_FORMAT,
                        "run %s was already used by party %d on this machine (%s, key file %s; ledger %s): keys are "
                        "one-time, and this key file is a copy; run the dealer again",
                        id, party, stamp, at ? line + at : "?", path);
    }
    if (st == FSS_OK && ferror(f))
        st = fss_errorf(err, err_len, FSS_E_IO, "cannot read the ledger %s: %s", path, strerror(errno));
    fclose(f);
    return st;
}

static fss_status open_ledger(const char *dir, int create, int *fd, char *path, char *err, size_t err_len)
{
    if (!dir || !*dir)
        return fss_errorf(err, err_len, FSS_E_ARG, "the ledger needs a directory");
    if (snprintf(path, PATH_BYTES, "%s/%s", dir, FSS_LEDGER_FILE) >= PATH_BYTES)
        return fss_errorf(err, err_len, FSS_E_ARG, "the state directory's path is too long");
    int e = create ? make_dirs(dir) : 0;
    if (e)
        return fss_errorf(err, err_len, FSS_E_IO, "cannot create the state directory %s: %s (give --state-dir)", dir,
                          strerror(e));
    *fd = open(path, (create ? O_RDWR | O_CREAT | O_APPEND : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
    if (*fd < 0 && !create && errno == ENOENT)
        return FSS_OK; /* no ledger: nothing spent here yet */
    if (*fd < 0)
        return fss_errorf(err, err_len, FSS_E_IO, "cannot open the ledger of spent runs %s: %s (give --state-dir)",
                          path, strerror(errno));
    struct stat sb;
    if (fstat(*fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(*fd);
        *fd = -1;
        return fss_errorf(err, err_len, FSS_E_IO, "the ledger %s is not a regular file", path);
    }
    if (flock(*fd, create ? LOCK_EX : LOCK_SH) != 0) {
        e = errno;
        close(*fd);
        *fd = -1;
        return fss_errorf(err, err_len, FSS_E_IO, "cannot lock the ledger %s: %s", path, strerror(e));
    }
    struct stat now;
    if (stat(path, &now) != 0 || now.st_ino != sb.st_ino || now.st_dev != sb.st_dev) { /* replaced meanwhile */
        close(*fd);
        *fd = -1;
        return fss_errorf(err, err_len, FSS_E_IO, "the ledger %s was replaced while this party waited for it: run again",
                          path);
    }
    if (create && sb.st_size == 0) { /* a new ledger: its directory entry must last too */
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
    }
    return FSS_OK;
}

fss_status fss_ledger_check(const char *dir, const uint8_t run_id[FSS_LEDGER_RUN_ID_BYTES], int party, char *err,
                            size_t err_len)
{
    char path[PATH_BYTES], id[HEX_BYTES + 1];
    int fd = -1;
    fss_status st = open_ledger(dir, 0, &fd, path, err, err_len);
    if (st != FSS_OK || fd < 0)
        return st;
    hex(id, run_id);
    st = scan(fd, path, id, party, err, err_len);
    close(fd);
    return st;
}

fss_status fss_ledger_record(const char *dir, const uint8_t run_id[FSS_LEDGER_RUN_ID_BYTES], int party,
                             const char *keys, char *err, size_t err_len)
{
    char path[PATH_BYTES], id[HEX_BYTES + 1];
    int fd = -1;
    fss_status st = open_ledger(dir, 1, &fd, path, err, err_len);
    if (st != FSS_OK)
        return st;
    hex(id, run_id);
    if ((st = scan(fd, path, id, party, err, err_len)) == FSS_OK) {
        char line[PATH_BYTES + 128], abs[PATH_BYTES];
        if (!keys || !realpath(keys, abs))
            snprintf(abs, sizeof abs, "%s", keys ? keys : "?");
        for (char *c = abs; *c; c++)
            *c = *c == '\n' ? '?' : *c; /* one line a run */
        int k = snprintf(line, sizeof line, "%s %d %lld %s\n", id, party, (long long)time(NULL), abs);
        size_t len = k <= 0 ? 1 : (size_t)k < sizeof line ? (size_t)k : sizeof line - 1;
        line[len - 1] = '\n';
        if (write(fd, line, len) != (ssize_t)len || fsync(fd) != 0)
            st = fss_errorf(err, err_len, FSS_E_IO, "cannot write the ledger of spent runs %s: %s", path,
                            strerror(errno));
    }
    close(fd); /* releases the lock */
    return st;
}
