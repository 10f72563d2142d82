/* Key files: the streaming writer the dealer fills (keyfile_write.c) and the read-ahead
 * reader each online party drains (keyfile_read.c); here, what both use. The byte layout
 * is documented in fss/keyfile.h.
 *
 * The reader is a double buffer in the shape of llm.c's weight loading: while the
 * caller evaluates chunk i from one slot, a thread of its own reads chunk i+1 into the
 * other and checks its CRC, so disk time hides behind compute. Every buffer that holds
 * key bytes is wiped before it is freed. */
#include "keyfile_internal.h"

/* 0, or the errno of the failure. */
int fss_kf_pwrite_all(int fd, const void *p, size_t n, uint64_t off)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t k = pwrite(fd, b, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return k < 0 ? errno : EIO;
        b += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

/* Reads up to n bytes; *got < n only at the end of the file. 0, or the errno. */
int fss_kf_pread_full(int fd, void *p, size_t n, uint64_t off, size_t *got)
{
    uint8_t *b = p;
    *got = 0;
    while (*got < n) {
        ssize_t k = pread(fd, b + *got, n - *got, (off_t)(off + *got));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return errno;
        if (k == 0)
            break;
        *got += (size_t)k;
    }
    return 0;
}

void fss_kf_hex(char out[2 * FSS_KEYFILE_RUN_ID_BYTES + 1], const uint8_t *b)
{
    for (int i = 0; i < FSS_KEYFILE_RUN_ID_BYTES; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

uint32_t fss_kf_header_check(const uint8_t h[FSS_KEYFILE_HEADER_BYTES])
{
    uint8_t t[H_CHECK];
    memcpy(t, h, H_CHECK);
    put_u32(t + H_STATE, 0); /* so marking the file used leaves the check intact */
    return fss_crc32c(fss_crc32c(0, t, H_CHECK), h + H_SECRET, H_END - H_SECRET);
}

static fss_status read_header(int fd, const char *path, fss_keyfile_info *info, char *err, size_t len,
                              uint8_t h[FSS_KEYFILE_HEADER_BYTES])
{
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        return fss_errorf(err, len, FSS_E_IO, "cannot stat key file %s: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return fss_errorf(err, len, FSS_E_ARG, "%s is not a regular file: pass the key file the dealer wrote", path);
    size_t got;
    int e = fss_kf_pread_full(fd, h, FSS_KEYFILE_HEADER_BYTES, 0, &got);
    if (e)
        return fss_errorf(err, len, FSS_E_IO, "cannot read key file %s: %s", path, strerror(e));
    if (got >= 8 && memcmp(h + H_MAGIC, FSS_KEYFILE_MAGIC, 8) != 0)
        return fss_errorf(err, len, FSS_E_FORMAT, "%s is not an fsskit key file (bad magic): pass the file the dealer wrote",
                       path);
    if (got < FSS_KEYFILE_HEADER_BYTES)
        return fss_errorf(err, len, FSS_E_FORMAT,
                       "key file %s is truncated: %zu bytes, less than its %d-byte header: copy it again or run "
                       "the dealer again", path, got, FSS_KEYFILE_HEADER_BYTES);
    uint32_t version = get_u32(h + H_VERSION);
    if (version != FSS_KEYFILE_VERSION)
        return fss_errorf(err, len, FSS_E_FORMAT,
                       "key file %s has format version %" PRIu32 ", but this build reads version %u: run this "
                       "build's dealer again", path, version, FSS_KEYFILE_VERSION);
    if (get_u32(h + H_CHECK) != fss_kf_header_check(h))
        return fss_errorf(err, len, FSS_E_FORMAT,
                       "key file %s has a corrupted header (checksum): copy it again or run the dealer again", path);
    int zero = get_u32(h + H_RESERVED) == 0;
    for (int i = H_END; i < FSS_KEYFILE_HEADER_BYTES; i++)
        zero &= h[i] == 0;
    uint32_t party = get_u32(h + H_PARTY);
    if (!zero || party > 1)
        return fss_errorf(err, len, FSS_E_FORMAT,
                       "key file %s has a malformed header (party %" PRIu32 ", reserved bytes): run the dealer again",
                       path, party);
    info->version = version;
    info->party = (int)party;
    memcpy(info->run_id, h + H_RUN_ID, FSS_KEYFILE_RUN_ID_BYTES);
    memcpy(info->fingerprint, h + H_FINGERPRINT, FSS_KEYFILE_FINGERPRINT_BYTES);
    memcpy(info->secret, h + H_SECRET, FSS_KEYFILE_SECRET_BYTES);
    info->state = get_u32(h + H_STATE);
    info->chunk_count = get_u64(h + H_CHUNKS);
    info->total_bytes = get_u64(h + H_TOTAL);
    uint64_t size = (uint64_t)sb.st_size;
    if (size < info->total_bytes)
        return fss_errorf(err, len, FSS_E_FORMAT,
                       "key file %s is truncated: %" PRIu64 " of %" PRIu64 " bytes: copy it again or run the dealer "
                       "again", path, size, info->total_bytes);
    if (size > info->total_bytes)
        return fss_errorf(err, len, FSS_E_FORMAT,
                       "key file %s has %" PRIu64 " bytes, but its header says %" PRIu64 ": it was damaged or "
                       "appended to; run the dealer again", path, size, info->total_bytes);
    uint64_t body = info->total_bytes - FSS_KEYFILE_HEADER_BYTES; /* total >= size >= 128 here */
    if (info->chunk_count > body / FSS_KEYFILE_CHUNK_HEADER_BYTES || (info->chunk_count == 0 && body != 0))
        return fss_errorf(err, len, FSS_E_FORMAT,
                       "key file %s claims %" PRIu64 " chunks in %" PRIu64 " bytes: it is corrupted; run the dealer "
                       "again", path, info->chunk_count, info->total_bytes);
    return FSS_OK;
}

/* Reads and checks the file header of the open file fd; fills info. */
fss_status fss_kf_read_header(int fd, const char *path, fss_keyfile_info *info, char *err, size_t len)
{
    uint8_t h[FSS_KEYFILE_HEADER_BYTES];
    fss_status st = read_header(fd, path, info, err, len, h);
    fss_memzero(h, sizeof h); /* it holds the channel secret */
    if (st != FSS_OK)
        fss_memzero(info->secret, sizeof info->secret);
    return st;
}
