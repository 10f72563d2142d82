/* .npy and safetensors: C writer -> reader round trips, the committed LeNet weights and
 * test images, hand-made files of every supported dtype, and malformed files (each must
 * be refused with FSS_E_FORMAT and a message naming the file, never crash). */
#include <dirent.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "fss/npy.h"
#include "fss/safetensors.h"

#ifndef FSS_SOURCE_DIR
#error "FSS_SOURCE_DIR must name the source tree (tests/CMakeLists.txt sets it)"
#endif

static char tmpdir[64];
static char errbuf[FSS_IO_ERR_LEN];
static int verbose; /* FSS_TEST_VERBOSE=1 prints every refusal's message */

static const char *tmp_path(const char *name)
{
    static char p[2][sizeof tmpdir + 256 + 2];
    static int k;
    k ^= 1;
    snprintf(p[k], sizeof p[k], "%s/%s", tmpdir, name);
    return p[k];
}

static void put_file(const char *path, const void *a, size_t na, const void *b, size_t nb)
{
    FILE *f = fopen(path, "wb");
    REQUIRE(f);
    REQUIRE(fwrite(a, 1, na, f) == na);
    if (nb)
        REQUIRE(fwrite(b, 1, nb, f) == nb);
    REQUIRE(fclose(f) == 0);
}

static unsigned char *get_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    REQUIRE(f);
    REQUIRE(fseek(f, 0, SEEK_END) == 0);
    long len = ftell(f);
    REQUIRE(len >= 0);
    rewind(f);
    unsigned char *b = malloc((size_t)len + 1);
    REQUIRE(b);
    REQUIRE(fread(b, 1, (size_t)len, f) == (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

/* An .npy file from a header dict and raw data: version 1.0 (u16 length) or 2.0 (u32). */
static void put_npy(const char *path, int major, const char *dict, const void *data, size_t nbytes)
{
    unsigned char pre[12] = {0x93, 'N', 'U', 'M', 'P', 'Y', (unsigned char)major, 0};
    size_t hl = strlen(dict), pl = major == 1 ? 10 : 12;
    for (size_t i = 0; i < pl - 8; i++)
        pre[8 + i] = (unsigned char)(hl >> (8 * i));
    unsigned char *buf = malloc(pl + hl);
    REQUIRE(buf);
    memcpy(buf, pre, pl);
    memcpy(buf + pl, dict, hl);
    put_file(path, buf, pl + hl, data, nbytes);
    free(buf);
}

/* A safetensors file from its JSON header and a data buffer. */
static void put_st(const char *path, const char *json, const void *data, size_t nbytes)
{
    size_t hl = strlen(json);
    unsigned char *buf = malloc(8 + hl);
    REQUIRE(buf);
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(buf + 8, json, hl);
    put_file(path, buf, 8 + hl, data, nbytes);
    free(buf);
}

static int names_file(const char *path) { return strstr(errbuf, path) != NULL; }

/* ---- npy --------------------------------------------------------------------------- */

static void test_npy_roundtrip(fss_rng *r)
{
    /* Boundary shapes first, then random ones. */
    static const struct {
        int nd;
        size_t shape[5];
    } fixed[] = {{0, {0}}, {1, {0}}, {1, {1}}, {1, {7}}, {3, {2, 3, 0}}, {5, {4, 2, 3, 5, 1}}};
    const int nfixed = (int)(sizeof fixed / sizeof fixed[0]);
    const char *path = tmp_path("rt.npy");
    for (int iter = 0; iter < nfixed + 40; iter++) {
        size_t shape[FSS_NPY_MAX_DIMS];
        int nd;
        if (iter < nfixed) {
            nd = fixed[iter].nd;
            memcpy(shape, fixed[iter].shape, sizeof fixed[iter].shape);
        } else {
            nd = (int)(check_u64(r) % (FSS_NPY_MAX_DIMS + 1));
            for (int d = 0; d < nd; d++)
                shape[d] = 1 + check_u64(r) % (nd > 4 ? 2 : 6);
        }
        size_t count = 1;
        for (int d = 0; d < nd; d++)
            count *= shape[d];
        int is_f32 = iter % 2;
        size_t isz = is_f32 ? 4 : 8;
        void *data = malloc(count * isz + 1);
        REQUIRE(data);
        for (size_t i = 0; i < count; i++) {
            uint64_t v = check_u64(r);
            if (is_f32) {
                float f = (float)((double)(int64_t)v / 1e15);
                memcpy((char *)data + 4 * i, &f, 4);
            } else {
                memcpy((char *)data + 8 * i, &v, 8);
            }
        }
        fss_status s = is_f32 ? fss_npy_write_f32(path, data, nd, shape, errbuf, sizeof errbuf)
                              : fss_npy_write_i64(path, data, nd, shape, errbuf, sizeof errbuf);
        CHECK(s == FSS_OK, "write iter %d: %s", iter, errbuf);
        struct stat sb;
        CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600, "mode %o", (unsigned)sb.st_mode & 0777);
        size_t flen;
        unsigned char *raw = get_file(path, &flen);
        CHECK(flen >= 10 && (raw[8] + 256 * raw[9] + 10) % 64 == 0, "header not 64-aligned (iter %d)", iter);
        free(raw);
        fss_npy a;
        s = fss_npy_read(path, &a, errbuf, sizeof errbuf);
        CHECK(s == FSS_OK, "read iter %d: %s", iter, errbuf);
        if (s == FSS_OK) {
            CHECK(a.dtype == (is_f32 ? FSS_NPY_F4 : FSS_NPY_I8), "dtype %d", (int)a.dtype);
            CHECK(a.ndim == nd, "ndim %d want %d", a.ndim, nd);
            CHECK(a.count == count, "count %zu want %zu", a.count, count);
            for (int d = 0; d < nd && d < a.ndim; d++)
                CHECK(a.shape[d] == shape[d], "iter %d dim %d: %zu want %zu", iter, d, a.shape[d], shape[d]);
            CHECK(count == 0 || memcmp(a.data, data, count * isz) == 0, "iter %d: data differ", iter);
            if (count && is_f32)
                CHECK(fss_npy_get(&a, count - 1) == ((float *)data)[count - 1], "get");
        }
        fss_npy_free(&a);
        free(data);
    }
    unlink(path);

    /* A failing write leaves nothing behind and names the file. */
    const char *bad = tmp_path("no-such-dir/x.npy");
    float one = 1;
    size_t sh1 = 1;
    CHECK(fss_npy_write_f32(bad, &one, 1, &sh1, errbuf, sizeof errbuf) == FSS_E_IO, "write into a missing dir");
    CHECK(names_file(bad), "message '%s' lacks the path", errbuf);
    CHECK(fss_npy_write_f32(tmp_path("x.npy"), &one, FSS_NPY_MAX_DIMS + 1, &sh1, errbuf, sizeof errbuf) == FSS_E_ARG,
          "ndim too large");
    CHECK(fss_npy_read(tmp_path("missing.npy"), &(fss_npy){0}, errbuf, sizeof errbuf) == FSS_E_IO, "missing file");
}

static void test_npy_dtypes(void)
{
    const char *path = tmp_path("dt.npy");
    fss_npy a;
    double f8[3] = {0.5, -1.25, 1e300};
    put_npy(path, 2, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }        \n", f8, sizeof f8);
    CHECK(fss_npy_read(path, &a, errbuf, sizeof errbuf) == FSS_OK, "v2 f8: %s", errbuf);
    CHECK(a.dtype == FSS_NPY_F8 && a.ndim == 1 && a.count == 3 && fss_npy_get(&a, 2) == 1e300, "v2 f8 values");
    fss_npy_free(&a);

    int32_t i4[6] = {-7, 0, 1, 2, 3, INT32_MIN};
    put_npy(path, 1, "{\"shape\": (2L, 3L), \"fortran_order\": False, \"descr\": \"<i4\"}\n", i4, sizeof i4);
    CHECK(fss_npy_read(path, &a, errbuf, sizeof errbuf) == FSS_OK, "i4: %s", errbuf);
    CHECK(a.dtype == FSS_NPY_I4 && a.ndim == 2 && a.shape[0] == 2 && a.shape[1] == 3, "i4 shape");
    CHECK(a.count == 6 && fss_npy_get(&a, 0) == -7 && fss_npy_get(&a, 5) == INT32_MIN, "i4 values");
    fss_npy_free(&a);

    uint8_t u1 = 255;
    put_npy(path, 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (), }\n", &u1, 1);
    CHECK(fss_npy_read(path, &a, errbuf, sizeof errbuf) == FSS_OK, "u1 scalar: %s", errbuf);
    CHECK(a.dtype == FSS_NPY_U1 && a.ndim == 0 && a.count == 1 && fss_npy_get(&a, 0) == 255, "u1 scalar");
    fss_npy_free(&a);

    put_npy(path, 3, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 5), }\n", NULL, 0);
    CHECK(fss_npy_read(path, &a, errbuf, sizeof errbuf) == FSS_OK, "empty v3: %s", errbuf);
    CHECK(a.count == 0 && a.ndim == 2 && a.data == NULL, "empty array");
    fss_npy_free(&a);
    unlink(path);
}

static void expect_npy_bad(const char *what, const char *path)
{
    fss_npy a;
    memset(errbuf, 0, sizeof errbuf);
    fss_status s = fss_npy_read(path, &a, errbuf, sizeof errbuf);
    CHECK(s == FSS_E_FORMAT, "%s: status %d (%s)", what, (int)s, errbuf);
    CHECK(names_file(path), "%s: message '%s' lacks the path", what, errbuf);
    if (verbose)
        printf("  %-28s -> %s\n", what, errbuf);
    CHECK(a.data == NULL && a.count == 0, "%s: output not cleared", what);
}

static void test_npy_malformed(fss_rng *r)
{
    const char *path = tmp_path("bad.npy");
    float d[4] = {1, 2, 3, 4};
    static const struct {
        const char *what, *dict;
        int major;
        size_t nbytes;
    } cases[] = {
        {"fortran order", "{'descr': '<f4', 'fortran_order': True, 'shape': (4,), }\n", 1, 16},
        {"big-endian", "{'descr': '>f4', 'fortran_order': False, 'shape': (4,), }\n", 1, 16},
        {"complex", "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }\n", 1, 16},
        {"structured", "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (4,), }\n", 1, 16},
        {"missing shape", "{'descr': '<f4', 'fortran_order': False, }\n", 1, 16},
        {"repeated key", "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (4,)}\n", 1, 16},
        {"extra key", "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'x': 1}\n", 1, 16},
        {"negative dim", "{'descr': '<f4', 'fortran_order': False, 'shape': (-4,), }\n", 1, 16},
        {"unterminated dict", "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), ", 1, 16},
        {"unterminated string", "{'descr: '<f4', 'fortran_order': False, 'shape': (4,)}", 1, 16},
        {"unterminated tuple", "{'descr': '<f4', 'fortran_order': False, 'shape': (4,", 1, 16},
        {"not a dict", "hello world\n", 1, 16},
        {"trailing text", "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), } x\n", 1, 16},
        {"truncated data", "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }\n", 1, 12},
        {"trailing data", "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }\n", 1, 16},
        {"too many dims", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,4), }\n", 1, 16},
        {"count overflow", "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 2), }\n", 1,
         16},
        {"dim overflow", "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }\n", 1, 16},
        {"version 4", "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }\n", 4, 16},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        put_npy(path, cases[i].major, cases[i].dict, d, cases[i].nbytes);
        expect_npy_bad(cases[i].what, path);
    }
    put_file(path, "\x93NUMPZ\x01\x00\x10\x00{}", 12, NULL, 0);
    expect_npy_bad("bad magic", path);
    put_file(path, "\x93NUM", 4, NULL, 0);
    expect_npy_bad("truncated preamble", path);
    put_file(path, "\x93NUMPY\x01\x00\xff\xff{'descr'", 18, NULL, 0);
    expect_npy_bad("header length past EOF", path);
    put_file(path, "\x93NUMPY\x02\x00\xff\xff\xff\xff{'descr'", 20, NULL, 0);
    expect_npy_bad("v2 header length past EOF", path);
    put_file(path, "", 0, NULL, 0);
    expect_npy_bad("empty file", path);

    /* Every strict prefix of a valid file is refused. */
    const char *good = tmp_path("good.npy");
    size_t sh[2] = {2, 2}, n;
    REQUIRE(fss_npy_write_f32(good, d, 2, sh, errbuf, sizeof errbuf) == FSS_OK);
    unsigned char *raw = get_file(good, &n);
    for (size_t len = 0; len < n; len++) {
        put_file(path, raw, len, NULL, 0);
        char what[48];
        snprintf(what, sizeof what, "prefix of %zu bytes", len);
        expect_npy_bad(what, path);
    }
    /* Random byte flips in the preamble and header never crash. */
    for (int iter = 0; iter < 1000; iter++) {
        unsigned char *mut = malloc(n);
        REQUIRE(mut);
        memcpy(mut, raw, n);
        for (int k = 0, flips = 1 + (int)(check_u64(r) % 3); k < flips; k++) {
            uint64_t v = check_u64(r);
            static const char py_chars[] = "{}()',:0123456789 LTrueFalse<|f4i8u1";
            mut[v % (n - 16)] = (v >> 32) & 1 ? (unsigned char)(v >> 40)
                                              : (unsigned char)py_chars[(v >> 40) % (sizeof py_chars - 1)];
        }
        put_file(path, mut, n, NULL, 0);
        fss_npy a;
        fss_status s = fss_npy_read(path, &a, errbuf, sizeof errbuf);
        CHECK(s == FSS_OK || s == FSS_E_FORMAT, "flip iter %d: status %d", iter, (int)s);
        CHECK(s != FSS_OK || a.count * fss_npy_dtype_size(a.dtype) < n, "flip iter %d: size", iter);
        fss_npy_free(&a);
        free(mut);
    }
    free(raw);
    unlink(good);
    unlink(path);
}

static void test_npy_committed(void)
{
    fss_npy x, y;
    const char *xp = FSS_SOURCE_DIR "/cnn/fashion-test-100.npy";
    const char *yp = FSS_SOURCE_DIR "/cnn/fashion-test-100-labels.npy";
    fss_status s = fss_npy_read(xp, &x, errbuf, sizeof errbuf);
    CHECK(s == FSS_OK, "%s", errbuf);
    if (s == FSS_OK) {
        CHECK(x.dtype == FSS_NPY_F4 && x.ndim == 4 && x.count == 100 * 28 * 28, "images: dtype %d ndim %d",
              (int)x.dtype, x.ndim);
        CHECK(x.shape[0] == 100 && x.shape[1] == 1 && x.shape[2] == 28 && x.shape[3] == 28, "images shape");
        double lo = 1, hi = 0, sum = 0;
        for (size_t i = 0; i < x.count; i++) {
            double v = fss_npy_get(&x, i);
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
            sum += v;
        }
        CHECK(lo == 0 && hi == 1 && sum > 0, "images not x/255 in [0,1]: min %g max %g", lo, hi);
        fss_npy_free(&x);
    }
    s = fss_npy_read(yp, &y, errbuf, sizeof errbuf);
    CHECK(s == FSS_OK, "%s", errbuf);
    if (s == FSS_OK) {
        CHECK(y.dtype == FSS_NPY_I8 && y.ndim == 1 && y.shape[0] == 100, "labels: dtype %d", (int)y.dtype);
        int seen[10] = {0}, ok = 1;
        for (size_t i = 0; i < y.count; i++) {
            int64_t v = ((const int64_t *)y.data)[i];
            ok &= v >= 0 && v < 10;
            if (v >= 0 && v < 10)
                seen[v] = 1;
        }
        CHECK(ok, "labels outside 0..9");
        int classes = 0;
        for (int c = 0; c < 10; c++)
            classes += seen[c];
        CHECK(classes >= 8, "only %d classes among the first 100 labels", classes);
        fss_npy_free(&y);
    }
}

/* ---- safetensors ------------------------------------------------------------------- */

static void test_st_committed(void)
{
    static const struct {
        const char *name;
        int ndim;
        uint64_t shape[4];
    } want[] = {
        {"conv1.bias", 1, {16}},         {"conv1.weight", 4, {16, 1, 5, 5}}, {"conv2.bias", 1, {16}},
        {"conv2.weight", 4, {16, 16, 5, 5}}, {"fc1.bias", 1, {100}},        {"fc1.weight", 2, {100, 256}},
        {"fc2.bias", 1, {10}},           {"fc2.weight", 2, {10, 100}},
    };
    const char *path = FSS_SOURCE_DIR "/cnn/lenet-fashion.safetensors";
    fss_safetensors *st = NULL;
    fss_status s = fss_safetensors_open(&st, path, errbuf, sizeof errbuf);
    CHECK(s == FSS_OK, "%s", errbuf);
    if (s != FSS_OK)
        return;
    CHECK(fss_safetensors_count(st) == 8, "%zu tensors", fss_safetensors_count(st));
    for (size_t i = 0; i < 8 && i < fss_safetensors_count(st); i++) {
        const fss_safetensors_tensor *t = fss_safetensors_at(st, i);
        CHECK(strcmp(t->name, want[i].name) == 0, "tensor %zu is '%s', want '%s'", i, t->name, want[i].name);
        CHECK(t->dtype == FSS_ST_F32 && t->ndim == want[i].ndim, "%s: dtype %s ndim %d", t->name,
              fss_safetensors_dtype_str(t->dtype), t->ndim);
        for (int d = 0; d < t->ndim && d < 4; d++)
            CHECK(t->shape[d] == want[i].shape[d], "%s dim %d: %llu", t->name, d, (unsigned long long)t->shape[d]);
        CHECK(fss_safetensors_find(st, want[i].name) == t, "find %s", want[i].name);
    }
    CHECK(fss_safetensors_find(st, "conv3.weight") == NULL, "found a missing tensor");
    const fss_safetensors_tensor *t;
    CHECK(fss_safetensors_get(st, "conv3.weight", &t, errbuf, sizeof errbuf) == FSS_E_FORMAT && names_file(path),
          "get missing: %s", errbuf);

    const char *m = fss_safetensors_metadata(st, "model");
    CHECK(m && strcmp(m, "lenet") == 0, "metadata model '%s'", m ? m : "(null)");
    m = fss_safetensors_metadata(st, "dataset");
    CHECK(m && strcmp(m, "fashion-mnist") == 0, "metadata dataset '%s'", m ? m : "(null)");
    m = fss_safetensors_metadata(st, "float_test_accuracy");
    CHECK(m && atof(m) >= 0.88 && atof(m) < 1, "metadata float_test_accuracy '%s'", m ? m : "(null)");
    CHECK(fss_safetensors_metadata(st, "nope") == NULL, "metadata nope");

    float w[100 * 256], raw[100 * 256];
    double wd[100 * 256];
    CHECK(fss_safetensors_read_f32(st, "fc1.weight", w, 100 * 256, errbuf, sizeof errbuf) == FSS_OK, "%s", errbuf);
    CHECK(fss_safetensors_read_f64(st, "fc1.weight", wd, 100 * 256, errbuf, sizeof errbuf) == FSS_OK, "%s", errbuf);
    CHECK(fss_safetensors_read_raw(st, "fc1.weight", raw, sizeof raw, errbuf, sizeof errbuf) == FSS_OK, "%s", errbuf);
    int same = memcmp(w, raw, sizeof w) == 0, finite = 1, nonzero = 0;
    for (size_t i = 0; i < 100 * 256; i++) {
        same &= wd[i] == (double)w[i];
        finite &= w[i] > -10 && w[i] < 10; /* NaN fails both */
        nonzero |= w[i] != 0;
    }
    CHECK(same && finite && nonzero, "fc1.weight: same %d finite %d nonzero %d", same, finite, nonzero);
    CHECK(fss_safetensors_read_f32(st, "fc1.weight", w, 100 * 255, errbuf, sizeof errbuf) == FSS_E_ARG,
          "wrong count accepted");
    CHECK(fss_safetensors_read_f32(st, "fc9.weight", w, 10, errbuf, sizeof errbuf) == FSS_E_FORMAT, "missing read");
    fss_safetensors_close(st);
}

static void test_st_dtypes(void)
{
    const char *path = tmp_path("dt.safetensors");
    /* F16: 1, -2, 2^-24 (smallest subnormal), inf; BF16: 1, 3.140625; F64: 0.1;
     * I32: 7 (lists and reads raw, no float conversion); a scalar F32 2.5. */
    unsigned char data[64] = {0};
    uint16_t h[4] = {0x3c00, 0xc000, 0x0001, 0x7c00}, b[2] = {0x3f80, 0x4049};
    double f8 = 0.1;
    int32_t i4 = 7;
    float sc = 2.5f;
    memcpy(data, h, 8);
    memcpy(data + 8, b, 4);
    memcpy(data + 16, &f8, 8);
    memcpy(data + 24, &i4, 4);
    memcpy(data + 28, &sc, 4);
    put_st(path,
           "{ \"h\" : {\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[0,8]},"
           "\"b\\u00e9\\ud83d\\ude00\\\"\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[8,12]},"
           "\"d\":{\"shape\":[1],\"data_offsets\":[16,24],\"dtype\":\"F64\"},"
           "\"__metadata__\":{\"k\\n\":\"v\\\\\",\"format\":\"pt\"},"
           "\"i\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[24,28]},"
           "\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[28,28]},"
           "\"z\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[28,28]},"
           "\"s2\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[28,32]}}   ",
           data, 32);
    fss_safetensors *st;
    fss_status s = fss_safetensors_open(&st, path, errbuf, sizeof errbuf);
    /* "s" claims a scalar (1 element, 4 bytes) in 0 bytes: refused. */
    CHECK(s == FSS_E_FORMAT && strstr(errbuf, "'s'"), "scalar with no bytes: %d %s", (int)s, errbuf);

    put_st(path,
           "{ \"h\" : {\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[0,8]},"
           "\"b\\u00e9\\ud83d\\ude00\\\"\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[8,12]},"
           "\"d\":{\"shape\":[1],\"data_offsets\":[16,24],\"dtype\":\"F64\"},"
           "\"__metadata__\":{\"k\\n\":\"v\\\\\",\"format\":\"pt\"},"
           "\"i\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[24,28]},"
           "\"z\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[28,28]},"
           "\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[28,32]}}   ",
           data, 32);
    s = fss_safetensors_open(&st, path, errbuf, sizeof errbuf);
    CHECK(s == FSS_OK, "%s", errbuf);
    if (s != FSS_OK)
        return;
    CHECK(fss_safetensors_count(st) == 6, "count %zu", fss_safetensors_count(st));
    float f[4];
    double d[4];
    CHECK(fss_safetensors_read_f32(st, "h", f, 4, errbuf, sizeof errbuf) == FSS_OK, "%s", errbuf);
    CHECK(f[0] == 1 && f[1] == -2 && f[2] == 5.9604644775390625e-08f /* 2^-24 */ && isinf(f[3]) && f[3] > 0,
          "F16 %g %g %g %g", f[0], f[1], f[2], f[3]);
    CHECK(fss_safetensors_read_f32(st, "b\xc3\xa9\xf0\x9f\x98\x80\"", f, 2, errbuf, sizeof errbuf) == FSS_OK, "%s",
          errbuf);
    CHECK(f[0] == 1 && f[1] == 3.140625f, "BF16 %g %g", f[0], f[1]);
    CHECK(fss_safetensors_read_f64(st, "d", d, 1, errbuf, sizeof errbuf) == FSS_OK && d[0] == 0.1, "F64 %g", d[0]);
    CHECK(fss_safetensors_read_f32(st, "d", f, 1, errbuf, sizeof errbuf) == FSS_OK && f[0] == 0.1f, "F64->f32");
    CHECK(fss_safetensors_read_f32(st, "s", f, 1, errbuf, sizeof errbuf) == FSS_OK && f[0] == 2.5f, "scalar");
    CHECK(fss_safetensors_find(st, "s")->ndim == 0 && fss_safetensors_find(st, "z")->count == 0, "scalar/empty");
    CHECK(fss_safetensors_read_f32(st, "z", NULL, 0, errbuf, sizeof errbuf) == FSS_OK, "empty read: %s", errbuf);
    CHECK(fss_safetensors_read_f32(st, "i", f, 1, errbuf, sizeof errbuf) == FSS_E_FORMAT, "I32 converted");
    int32_t iv = 0;
    CHECK(fss_safetensors_read_raw(st, "i", &iv, 4, errbuf, sizeof errbuf) == FSS_OK && iv == 7, "I32 raw %d", iv);
    const char *m = fss_safetensors_metadata(st, "k\n");
    CHECK(m && strcmp(m, "v\\") == 0, "escaped metadata '%s'", m ? m : "(null)");
    CHECK(fss_safetensors_metadata_count(st) == 2, "metadata count");
    const char *k, *v;
    fss_safetensors_metadata_at(st, 1, &k, &v);
    CHECK(strcmp(k, "format") == 0 && strcmp(v, "pt") == 0, "metadata order");
    fss_safetensors_close(st);

    put_st(path, "{}", NULL, 0);
    s = fss_safetensors_open(&st, path, errbuf, sizeof errbuf);
    CHECK(s == FSS_OK && fss_safetensors_count(st) == 0, "empty header: %s", errbuf);
    if (s == FSS_OK)
        fss_safetensors_close(st);
    unlink(path);
    CHECK(fss_f16_to_f32(0x7bff) == 65504.0f && fss_f16_to_f32(0x8000) == 0 && signbit(fss_f16_to_f32(0x8000)),
          "F16 max / -0");
    CHECK(isnan(fss_f16_to_f32(0x7e00)) && fss_f16_to_f32(0x0400) == 6.103515625e-05f /* 2^-14 */,
          "F16 NaN / min normal");
}

static void expect_st_bad(const char *what, const char *path)
{
    fss_safetensors *st = (fss_safetensors *)1;
    memset(errbuf, 0, sizeof errbuf);
    fss_status s = fss_safetensors_open(&st, path, errbuf, sizeof errbuf);
    CHECK(s == FSS_E_FORMAT, "%s: status %d (%s)", what, (int)s, errbuf);
    CHECK(st == NULL, "%s: handle not NULL", what);
    CHECK(names_file(path), "%s: message '%s' lacks the path", what, errbuf);
    if (verbose)
        printf("  %-28s -> %s\n", what, errbuf);
    if (s == FSS_OK)
        fss_safetensors_close(st);
}

#define T1(x) "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":" x "}}"
static void test_st_malformed(fss_rng *r)
{
    const char *path = tmp_path("bad.safetensors");
    unsigned char data[64] = {0};
    static const struct {
        const char *what, *json;
        size_t nbytes;
    } cases[] = {
        {"offsets out of range", T1("[0,8]"), 4},
        {"end before begin", T1("[8,0]"), 16},
        {"wrong size", T1("[0,12]"), 16},
        {"offset overflow", T1("[18446744073709551615,18446744073709551615]"), 16},
        {"three offsets", T1("[0,4,8]"), 16},
        {"one offset", T1("[0]"), 16},
        {"negative offset", T1("[-1,7]"), 16},
        {"float offset", T1("[0.0,8]"), 16},
        {"exponent offset", T1("[0,8e0]"), 16},
        {"leading zero", T1("[00,8]"), 16},
        {"huge integer", T1("[0,99999999999999999999999]"), 16},
        {"unterminated JSON", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", 16},
        {"unterminated string", "{\"a\":{\"dtype\":\"F32", 16},
        {"unterminated array", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2", 16},
        {"not an object", "[1,2,3]", 16},
        {"garbage", "hello!", 16},
        {"trailing garbage", T1("[0,8]") "x", 16},
        {"two objects", T1("[0,8]") "{}", 16},
        {"unknown dtype", "{\"a\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", 16},
        {"dtype not a string", "{\"a\":{\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,8]}}", 16},
        {"missing dtype", "{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 16},
        {"missing offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 16},
        {"extra field", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}}", 16},
        {"repeated field", "{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 16},
        {"empty entry", "{\"a\":{}}", 16},
        {"entry not an object", "{\"a\":5}", 16},
        {"shape too long", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,2],\"data_offsets\":[0,2]}}", 16},
        {"shape overflow",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4],\"data_offsets\":[0,0]}}", 16},
        {"shape not an array", "{\"a\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", 16},
        {"overlap",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
         16},
        {"same range",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}",
         16},
        {"duplicate name",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
         16},
        {"metadata not strings", "{\"__metadata__\":{\"a\":1}}", 0},
        {"metadata not an object", "{\"__metadata__\":\"x\"}", 0},
        {"repeated metadata", "{\"__metadata__\":{},\"__metadata__\":{}}", 0},
        {"NUL escape", "{\"a\\u0000\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 16},
        {"lone low surrogate", "{\"\\udc00\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 16},
        {"lone high surrogate", "{\"\\ud800x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 16},
        {"bad escape", "{\"\\q\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 16},
        {"short \\u", "{\"\\u12\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 16},
        {"raw control char", "{\"a\tb\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 16},
        {"missing colon", "{\"a\" {\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 16},
        {"trailing comma", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},}", 16},
        {"single quotes", "{'a':{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 16},
        {"one-byte header", "{", 16},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        put_st(path, cases[i].json, data, cases[i].nbytes);
        expect_st_bad(cases[i].what, path);
    }
    put_file(path, "\x10\x00\x00", 3, NULL, 0);
    expect_st_bad("shorter than the length field", path);
    put_file(path, "", 0, NULL, 0);
    expect_st_bad("empty file", path);
    put_file(path, "\x00\x01\x00\x00\x00\x00\x00\x00{}", 10, NULL, 0);
    expect_st_bad("header length past EOF", path);
    put_file(path, "\xff\xff\xff\xff\xff\xff\xff\xff{}", 10, NULL, 0);
    expect_st_bad("header length 2^64-1", path);
    put_file(path, "\x00\x00\x00\x00\x00\x00\x00\x00{}", 10, NULL, 0);
    expect_st_bad("header length 0", path);
    fss_safetensors *st;
    CHECK(fss_safetensors_open(&st, tmp_path("missing.safetensors"), errbuf, sizeof errbuf) == FSS_E_IO && !st,
          "missing file: %s", errbuf);

    /* The committed file: every strict prefix, and random byte flips in its header, never
     * crash; prefixes are all refused. */
    size_t n;
    unsigned char *raw = get_file(FSS_SOURCE_DIR "/cnn/lenet-fashion.safetensors", &n);
    size_t hlen = raw[0] | (size_t)raw[1] << 8;
    for (size_t len = 0; len < n; len += len < 8 + hlen + 16 ? 1 : 997) {
        put_file(path, raw, len, NULL, 0);
        char what[48];
        snprintf(what, sizeof what, "prefix of %zu bytes", len);
        expect_st_bad(what, path);
    }
    unsigned long opened = 0;
    for (int iter = 0; iter < 2000; iter++) {
        unsigned char *mut = malloc(n);
        REQUIRE(mut);
        memcpy(mut, raw, n);
        int flips = 1 + (int)(check_u64(r) % 4);
        for (int k = 0; k < flips; k++) {
            uint64_t v = check_u64(r);
            size_t at = (size_t)(v % (8 + hlen));
            static const char json_chars[] = "{}[]\",:0123456789 \\u";
            mut[at] = (v >> 32) & 1 ? (unsigned char)(v >> 40)
                                    : (unsigned char)json_chars[(v >> 40) % (sizeof json_chars - 1)];
        }
        put_file(path, mut, n, NULL, 0);
        fss_status s = fss_safetensors_open(&st, path, errbuf, sizeof errbuf);
        CHECK(s == FSS_OK || s == FSS_E_FORMAT, "flip iter %d: status %d", iter, (int)s);
        if (s == FSS_OK) {
            opened++;
            for (size_t i = 0; i < fss_safetensors_count(st); i++) {
                const fss_safetensors_tensor *t = fss_safetensors_at(st, i);
                CHECK(t->offset + t->nbytes <= n, "flip iter %d: '%s' past EOF", iter, t->name);
            }
            fss_safetensors_close(st);
        }
        free(mut);
    }
    printf("  %lu of 2000 header mutations still parse\n", opened);
    free(raw);
    unlink(path);
}

static void cleanup_tmpdir(void)
{
    DIR *d = opendir(tmpdir);
    REQUIRE(d);
    struct dirent *e;
    int left = 0;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            fprintf(stderr, "left behind: %s\n", e->d_name);
            unlink(tmp_path(e->d_name));
            left++;
        }
    closedir(d);
    CHECK(left == 0, "%d files left in %s (a temporary file of the writer?)", left, tmpdir);
    rmdir(tmpdir);
}

int main(void)
{
    fss_rng *r = check_init("test_io_formats");
    verbose = getenv("FSS_TEST_VERBOSE") != NULL;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fss_io_formats.XXXXXX");
    REQUIRE(mkdtemp(tmpdir));
    test_npy_roundtrip(r);
    test_npy_dtypes();
    test_npy_malformed(r);
    test_npy_committed();
    test_st_committed();
    test_st_dtypes();
    test_st_malformed(r);
    cleanup_tmpdir();
    fss_rng_free(r);
    return check_summary();
}
