// ctest-labels: io
/* Safetensors: a round trip of several dtypes with metadata, byte-exact output against bytes
 * built here by hand, a hand-built foreign file, refusal of every kind of bad file (LM_EINVAL
 * and a message naming the file and the problem), and a mutation smoke test that must never
 * crash. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "linmass/io.h"

static char dir[64];

static const char *path_in(const char *name)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void write_bytes(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, n, f) != n) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    fclose(f);
}

static unsigned char *read_bytes(const char *path, size_t *n)
{
    char *data;
    if (lm_read_file(path, 1 << 20, &data, n) != LM_OK) return NULL;
    return (unsigned char *)data;
}

/* A safetensors file from a JSON header (unpadded) and data bytes; returns its length. */
static size_t make_st(unsigned char *out, const char *json, const void *data, size_t dlen)
{
    size_t n = strlen(json);
    for (int i = 0; i < 8; i++) out[i] = (unsigned char)((uint64_t)n >> (8 * i));
    memcpy(out + 8, json, n);
    if (dlen) memcpy(out + 8 + n, data, dlen);
    return 8 + n + dlen;
}

static void test_round_trip(void)
{
    float f32[6] = {1.5f, -2.25f, 3e-8f, 1e30f, -0.0f, 7.0f};
    double f64[4] = {1.0 / 3.0, -1e-300, 2.5, 1e300};
    int64_t i64 = -1234567890123LL;
    uint8_t u8[3] = {0, 128, 255};
    int64_t s23[] = {2, 3}, s4[] = {4}, s3[] = {3};
    lm_st_writer *w;
    CHECK(lm_st_writer_create(&w) == LM_OK);
    CHECK(lm_st_writer_add(w, "u8", LM_DT_U8, 1, s3, u8) == LM_OK);
    CHECK(lm_st_writer_add(w, "1.weight", LM_DT_F32, 2, s23, f32) == LM_OK);
    CHECK(lm_st_writer_add(w, "probe", LM_DT_F64, 1, s4, f64) == LM_OK);
    CHECK(lm_st_writer_add(w, "count", LM_DT_I64, 0, NULL, &i64) == LM_OK);
    CHECK(lm_st_writer_add_meta(w, "step", "42") == LM_OK);
    CHECK(lm_st_writer_add_meta(w, "json", "{\"lr\": 0.1, \"name\": \"a\\\"b\"}") == LM_OK);
    const char *path = path_in("round.safetensors");
    CHECK(lm_st_writer_write(w, path) == LM_OK);
    lm_st_writer_free(w);

    lm_st_file *f;
    CHECK(lm_st_open(path, &f) == LM_OK);
    if (!f) return;
    CHECK(lm_st_count(f) == 4);
    /* data order: 8-byte types as added, then 4-byte, then 1-byte */
    CHECK(strcmp(lm_st_at(f, 0)->name, "probe") == 0);
    CHECK(strcmp(lm_st_at(f, 1)->name, "count") == 0);
    CHECK(strcmp(lm_st_at(f, 2)->name, "1.weight") == 0);
    CHECK(strcmp(lm_st_at(f, 3)->name, "u8") == 0);
    CHECK(lm_st_at(f, 4) == NULL);
    for (int i = 0; i < 4; i++) {
        const lm_st_tensor *t = lm_st_at(f, i);
        CHECK((uintptr_t)t->data % lm_dtype_size(t->dtype) == 0);
    }
    const lm_st_tensor *t = lm_st_find(f, "1.weight");
    CHECK(t && t->dtype == LM_DT_F32 && t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 3);
    CHECK(t && t->numel == 6 && t->nbytes == 24 && memcmp(t->data, f32, sizeof f32) == 0);
    t = lm_st_find(f, "probe");
    CHECK(t && t->dtype == LM_DT_F64 && t->ndim == 1 && memcmp(t->data, f64, sizeof f64) == 0);
    t = lm_st_find(f, "count");
    CHECK(t && t->dtype == LM_DT_I64 && t->ndim == 0 && t->numel == 1);
    CHECK(t && memcmp(t->data, &i64, 8) == 0);
    t = lm_st_find(f, "u8");
    CHECK(t && t->dtype == LM_DT_U8 && memcmp(t->data, u8, 3) == 0);
    CHECK(lm_st_find(f, "nothing") == NULL);
    CHECK(lm_st_meta_count(f) == 2);
    CHECK(lm_st_meta(f, "step") && strcmp(lm_st_meta(f, "step"), "42") == 0);
    CHECK(lm_st_meta(f, "json") &&
          strcmp(lm_st_meta(f, "json"), "{\"lr\": 0.1, \"name\": \"a\\\"b\"}") == 0);
    CHECK(lm_st_meta(f, "absent") == NULL);
    CHECK(strcmp(lm_st_path(f), path) == 0);
    lm_st_close(f);
}

/* The writer's bytes against a file assembled here, byte by byte. */
static void test_byte_exact(void)
{
    const char *json = "{\"__metadata__\":{\"k\":\"v\"},"
                       "\"b\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]},"
                       "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
                       "\"a\":{\"dtype\":\"U8\",\"shape\":[1,3],\"data_offsets\":[16,19]}}";
    size_t jlen = strlen(json), n = (jlen + 7) / 8 * 8;
    unsigned char expect[512];
    size_t k = 0;
    for (int i = 0; i < 8; i++) expect[k++] = (unsigned char)(n >> (8 * i));
    memcpy(expect + k, json, jlen);
    k += jlen;
    while (k < 8 + n) expect[k++] = ' ';
    const unsigned char data[] = {
        0x05, 0x01, 0, 0, 0, 0, 0, 0x80, /* b = INT64_MIN + 0x105 */
        0x00, 0x00, 0x80, 0x3f,          /* 1.0f */
        0x00, 0x00, 0x00, 0xc0,          /* -2.0f */
        7, 8, 9,
    };
    memcpy(expect + k, data, sizeof data);
    k += sizeof data;

    float w2[2] = {1.0f, -2.0f};
    int64_t b = INT64_MIN + 0x105;
    uint8_t a[3] = {7, 8, 9};
    int64_t s2[] = {2}, s13[] = {1, 3};
    lm_st_writer *wr;
    CHECK(lm_st_writer_create(&wr) == LM_OK);
    lm_st_writer_add(wr, "a", LM_DT_U8, 2, s13, a);
    lm_st_writer_add(wr, "w", LM_DT_F32, 1, s2, w2);
    lm_st_writer_add(wr, "b", LM_DT_I64, 0, NULL, &b);
    lm_st_writer_add_meta(wr, "k", "v");
    const char *path = path_in("exact.safetensors");
    CHECK(lm_st_writer_write(wr, path) == LM_OK);
    lm_st_writer_free(wr);
    size_t got_n = 0;
    unsigned char *got = read_bytes(path, &got_n);
    CHECK(got && got_n == k);
    if (got && got_n == k) {
        for (size_t i = 0; i < k; i++)
            CHECK_MSG(got[i] == expect[i], "byte %zu is 0x%02x, expected 0x%02x", i, got[i],
                      expect[i]);
    }
    free(got);
}

/* A file as another writer might lay it out: unpadded header, unaligned data start,
 * tensors in another order, whitespace in the JSON. */
static void test_foreign_file(void)
{
    double d[2] = {1.25, -8.5};
    float x = 3.0f;
    unsigned char data[20];
    memcpy(data, &x, 4);
    memcpy(data + 4, d, 16);
    const char *json = "{ \"x\" : {\"shape\": [], \"dtype\": \"F32\", \"data_offsets\": [0, 4]},\n"
                       "  \"d\": {\"data_offsets\": [4, 20], \"dtype\": \"F64\", \"shape\": [2]},"
                       "  \"__metadata__\": {\"format\": \"pt\"} }   ";
    unsigned char buf[512];
    size_t n = make_st(buf, json, data, sizeof data);
    const char *path = path_in("foreign.safetensors");
    write_bytes(path, buf, n);
    lm_st_file *f;
    CHECK(lm_st_open(path, &f) == LM_OK);
    if (!f) return;
    const lm_st_tensor *t = lm_st_find(f, "d");
    double got[2];
    CHECK(t && t->offset == 4);
    if (t) memcpy(got, t->data, 16);
    CHECK(t && got[0] == 1.25 && got[1] == -8.5);
    CHECK(lm_st_meta(f, "format") && strcmp(lm_st_meta(f, "format"), "pt") == 0);
    lm_st_close(f);
}

/* `bytes` must be refused from a file and from memory with LM_EINVAL and a message holding
 * the file's name and `needle`. */
static void expect_bad_bytes(const char *name, const void *bytes, size_t n, const char *needle)
{
    const char *path = path_in(name);
    write_bytes(path, bytes, n);
    lm_st_file *f = NULL;
    lm_status s = lm_st_open(path, &f);
    const char *msg = lm_error_message();
    CHECK_MSG(s == LM_EINVAL, "%s: status %d (%s)", name, s, msg);
    CHECK_MSG(f == NULL, "%s: a file handle came back", name);
    CHECK_MSG(strstr(msg, path) != NULL, "%s: message lacks the path: %s", name, msg);
    CHECK_MSG(strstr(msg, needle) != NULL, "%s: message lacks '%s': %s", name, needle, msg);
    lm_st_close(f);
    f = NULL;
    s = lm_st_parse(bytes, n, name, &f);
    CHECK_MSG(s == LM_EINVAL && !f, "%s: parse from memory gave %d", name, s);
    CHECK_MSG(strstr(lm_error_message(), needle) != NULL, "%s (memory): %s", name,
              lm_error_message());
    lm_st_close(f);
}

static void expect_bad(const char *name, const char *json, size_t dlen, const char *needle)
{
    static unsigned char buf[4096], zeros[256];
    expect_bad_bytes(name, buf, make_st(buf, json, zeros, dlen), needle);
}

static void test_refusals(void)
{
    const char *ok = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    unsigned char buf[512], zeros[8] = {0};
    size_t n = make_st(buf, ok, zeros, 8);
    lm_st_file *f;
    CHECK(lm_st_parse(buf, n, "good", &f) == LM_OK); /* the base of the truncations */
    lm_st_close(f);

    expect_bad_bytes("empty.st", buf, 0, "too short");
    expect_bad_bytes("five.st", buf, 5, "too short");
    expect_bad_bytes("trunc_header.st", buf, 30, "exceeds");
    expect_bad_bytes("trunc_data.st", buf, n - 3, "outside the data region");
    unsigned char huge[16] = {0, 0, 0, 0, 0, 0, 0, 0x80, '{', '}'};
    expect_bad_bytes("huge_len.st", huge, 10, "exceeds");
    unsigned char one[9] = {1, 0, 0, 0, 0, 0, 0, 0, '{'};
    expect_bad_bytes("tiny_len.st", one, 9, "too small");

    expect_bad("badjson.st", "{\"w\": {\"dtype\": \"F32\",", 0, "not valid JSON");
    expect_bad("notobj.st", "[1, 2]", 0, "not a JSON object");
    expect_bad("trailing.st", "{}  x", 0, "after its JSON");
    unsigned char nul[12] = {4, 0, 0, 0, 0, 0, 0, 0, '{', '}', 0, 0};
    expect_bad_bytes("nul.st", nul, 12, "after its JSON");
    expect_bad("entry.st", "{\"w\": 3}", 0, "not an object");
    expect_bad("nodtype.st", "{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "\"dtype\"");
    expect_bad("dtype.st", "{\"w\":{\"dtype\":\"F17\",\"shape\":[2],\"data_offsets\":[0,8]}}",
               8, "unknown dtype 'F17'");
    expect_bad("noshape.st", "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, "\"shape\"");
    expect_bad("negdim.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}",
               8, "shape entry 0");
    expect_bad("fracdim.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,8]}}",
               8, "shape entry 0");
    expect_bad("strdim.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}",
               8, "shape entry 0");
    expect_bad("ninedims.st", "{\"w\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],"
               "\"data_offsets\":[0,1]}}", 1, "more than 8");
    expect_bad("overflow.st", "{\"w\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296,"
               "4294967296],\"data_offsets\":[0,8]}}", 8, "too large");
    expect_bad("nooffsets.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "data_offsets");
    expect_bad("threeoffsets.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],"
               "\"data_offsets\":[0,8,8]}}", 8, "data_offsets");
    expect_bad("range.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}",
               8, "outside the data region");
    expect_bad("reversed.st", "{\"w\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[8,0]}}",
               8, "outside the data region");
    expect_bad("bigoffset.st", "{\"w\":{\"dtype\":\"U8\",\"shape\":[0],"
               "\"data_offsets\":[1e300,1e300]}}", 8, "data_offsets");
    expect_bad("numel.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}",
               8, "need 12 bytes");
    expect_bad("overlap.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "overlap");
    expect_bad("gap.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12, "gap");
    expect_bad("extra.st", ok, 12, "cover 8 bytes but the data region has 12");
    expect_bad("dup.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
               "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "twice");
    expect_bad("noname.st", "{\"\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
               8, "empty name");
    expect_bad("metanum.st", "{\"__metadata__\":{\"k\":1}}", 0, "metadata 'k' is not a string");
    expect_bad("metaarr.st", "{\"__metadata__\":[]}", 0, "not an object");
    expect_bad("metadup.st", "{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", 0, "twice");

    /* paths that are no file */
    f = NULL;
    CHECK(lm_st_open(path_in("missing.st"), &f) == LM_EINVAL && f == NULL);
    CHECK(strstr(lm_error_message(), "missing.st") != NULL);
    CHECK(lm_st_open(dir, &f) == LM_EINVAL && f == NULL);
    CHECK(strstr(lm_error_message(), dir) != NULL);
}

/* Every truncation and many single-byte changes of a good file: OK or LM_EINVAL, no crash,
 * and every tensor handed out lies within the memory it was parsed into. */
static void test_mutations(void)
{
    const char *json = "{\"__metadata__\":{\"a\":\"b\"},"
                       "\"x\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[0,8]},"
                       "\"y\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[8,16]}}";
    unsigned char good[512], buf[512], data[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    size_t n = make_st(good, json, data, sizeof data);
    const unsigned char values[] = {0, 1, '"', '[', ']', '{', '}', ',', ':', '-', '9', 'e', 0xff};
    int ok = 0, refused = 0, other = 0;
    for (size_t cut = 0; cut < n; cut++) {
        lm_st_file *f;
        lm_status s = lm_st_parse(good, cut, "cut", &f);
        ok += s == LM_OK;
        refused += s == LM_EINVAL;
        lm_st_close(f);
    }
    CHECK(ok == 0 && refused == (int)n);
    for (size_t i = 0; i < n; i++) {
        for (size_t v = 0; v < sizeof values; v++) {
            memcpy(buf, good, n);
            buf[i] = values[v];
            lm_st_file *f;
            lm_status s = lm_st_parse(buf, n, "mutant", &f);
            if (s == LM_OK) {
                ok++;
                for (int k = 0; k < lm_st_count(f); k++) {
                    const lm_st_tensor *t = lm_st_at(f, k);
                    CHECK(t->offset + t->nbytes <= n - 8);
                }
            } else if (s == LM_EINVAL) {
                refused++;
            } else {
                other++;
            }
            lm_st_close(f);
        }
    }
    CHECK(other == 0);
    CHECK(ok > 0 && refused > 0);
}

static void test_dtypes(void)
{
    lm_dtype dt;
    for (int i = 0; i < LM_DT_COUNT; i++) {
        CHECK(lm_dtype_parse(lm_dtype_name((lm_dtype)i), &dt) && dt == (lm_dtype)i);
        CHECK(lm_dtype_size((lm_dtype)i) >= 1);
    }
    CHECK(!lm_dtype_parse("f32", &dt));
    CHECK(lm_dtype_size(LM_DT_F64) == 8 && lm_dtype_size(LM_DT_BF16) == 2);
    CHECK(lm_dtype_size(LM_DT_COUNT) == 0);
    char s[32];
    int64_t shape[] = {100, 784};
    CHECK(strcmp(lm_format_shape(s, sizeof s, 2, shape), "[100, 784]") == 0);
    CHECK(strcmp(lm_format_shape(s, sizeof s, 0, shape), "[]") == 0);
}

int main(void)
{
    if (!check_make_tmpdir(dir, sizeof dir, "lm_test_io_st")) return check_summary();
    test_dtypes();
    test_round_trip();
    test_byte_exact();
    test_foreign_file();
    test_refusals();
    test_mutations();
    check_remove_tmpdir(dir);
    return check_summary();
}
