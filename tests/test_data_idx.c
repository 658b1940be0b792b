/* IDX loading: files written here (raw and .gz, both spellings) load back value by value, and
 * every kind of bad file is refused with LM_EINVAL and a message that names the file. */
// ctest-labels: data unit
#include "check.h"
#include "data/fixtures.h"
#include "linmass/data.h"

#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

/* An IDX file in memory: magic, big-endian dims, payload. */
static size_t idx_bytes(unsigned char *out, int type, int ndim, const uint32_t *dims,
                        const void *payload, size_t payload_len)
{
    out[0] = 0, out[1] = 0, out[2] = (unsigned char)type, out[3] = (unsigned char)ndim;
    for (int d = 0; d < ndim; d++)
        for (int b = 0; b < 4; b++) out[4 + 4 * d + b] = (unsigned char)(dims[d] >> (24 - 8 * b));
    memcpy(out + 4 + 4 * ndim, payload, payload_len);
    return 4 + 4 * (size_t)ndim + payload_len;
}

enum { N = 3, PIX = 28 * 28 };
static unsigned char pixels[N * PIX], labels[N] = {0, 9, 4};
static unsigned char file[16 + N * PIX + 64];

/* Write a complete, valid MNIST-style pair for `prefix` into dir. */
static void write_mnist(const char *dir, const char *prefix, const char *sep, int gz)
{
    char name[128];
    uint32_t idims[3] = {N, 28, 28}, ldims[1] = {N};
    size_t len = idx_bytes(file, 0x08, 3, idims, pixels, sizeof pixels);
    snprintf(name, sizeof name, "%s-images%sidx3-ubyte%s", prefix, sep, gz ? ".gz" : "");
    fixture_write(dir, name, file, len, gz);
    len = idx_bytes(file, 0x08, 1, ldims, labels, N);
    snprintf(name, sizeof name, "%s-labels%sidx1-ubyte%s", prefix, sep, gz ? ".gz" : "");
    fixture_write(dir, name, file, len, gz);
}

static void check_mnist(const char *dir, lm_split split)
{
    char src[600];
    snprintf(src, sizeof src, "mnist:%s", dir);
    lm_dataset *ds = NULL;
    lm_status s = lm_data_load(src, split, 0, &ds);
    CHECK_MSG(s == LM_OK, "load %s: %s", src, lm_error_message());
    if (s) return;
    CHECK(ds->n == N && ds->shape.c == 1 && ds->shape.h == 28 && ds->shape.w == 28);
    CHECK(ds->classes == 10 && ds->target_dim == 1);
    int bad = 0;
    for (size_t k = 0; k < N * PIX; k++) bad += ds->x[k] != pixels[k] / 255.0f;
    CHECK_MSG(bad == 0, "%d pixels differ", bad);
    for (int i = 0; i < N; i++) CHECK(ds->y[i] == labels[i]);
    CHECK(ds->x[0] >= 0 && ds->x[1] <= 1);
    lm_dataset_free(ds);
}

static void test_roundtrip(void)
{
    for (size_t k = 0; k < sizeof pixels; k++) pixels[k] = (unsigned char)(k * 7 + k / 13);
    const char *dir = fixture_dir();
    write_mnist(dir, "train", "-", 0); /* raw, canonical spelling */
    write_mnist(dir, "t10k", ".", 1);  /* gzip, dotted spelling */
    check_mnist(dir, LM_SPLIT_TRAIN);
    check_mnist(dir, LM_SPLIT_TEST);
    fixture_cleanup(dir);
}

/* idx:DIR with float32 (n,c,h,w) images and classes=3; and ubyte (n,d) vectors. */
static void test_generic_idx(void)
{
    const char *dir = fixture_dir();
    float vals[2 * 3 * 4 * 5];
    unsigned char be[sizeof vals], lab[2] = {2, 1};
    for (size_t k = 0; k < 120; k++) {
        vals[k] = (float)k * 0.25f - 7.0f;
        uint32_t u;
        memcpy(&u, &vals[k], 4);
        for (int b = 0; b < 4; b++) be[4 * k + b] = (unsigned char)(u >> (24 - 8 * b));
    }
    uint32_t idims[4] = {2, 3, 4, 5}, ldims[1] = {2};
    fixture_write(dir, "train-images-idx3-ubyte.gz", file,
                  idx_bytes(file, 0x0D, 4, idims, be, sizeof be), 1);
    fixture_write(dir, "train-labels-idx1-ubyte", file, idx_bytes(file, 0x08, 1, ldims, lab, 2), 0);
    char src[600];
    snprintf(src, sizeof src, "idx:%s:classes=3", dir);
    lm_dataset *ds = NULL;
    lm_status s = lm_data_load(src, LM_SPLIT_TRAIN, 0, &ds);
    CHECK_MSG(s == LM_OK, "%s", lm_error_message());
    if (!s) {
        CHECK(ds->n == 2 && ds->shape.c == 3 && ds->shape.h == 4 && ds->shape.w == 5);
        CHECK(ds->classes == 3 && ds->y[0] == 2 && ds->y[1] == 1);
        int bad = 0;
        for (int k = 0; k < 120; k++) bad += ds->x[k] != vals[k];
        CHECK_MSG(bad == 0, "%d float pixels differ", bad);
        lm_dataset_free(ds);
    }
    /* the same labels with classes=2 put label 2 out of range */
    snprintf(src, sizeof src, "idx:%s:classes=2", dir);
    CHECK(lm_data_load(src, LM_SPLIT_TRAIN, 0, &ds) == LM_EINVAL);
    CHECK(strstr(lm_error_message(), "train-labels-idx1-ubyte") != NULL);
    /* mnist: refuses float32 (n,c,h,w) images */
    snprintf(src, sizeof src, "mnist:%s", dir);
    CHECK(lm_data_load(src, LM_SPLIT_TRAIN, 0, &ds) == LM_EINVAL);
    CHECK(strstr(lm_error_message(), "train-images-idx3-ubyte.gz") != NULL);

    /* (n,d) ubyte vectors become (d,1,1) */
    unsigned char vec[4 * 6];
    for (int k = 0; k < 24; k++) vec[k] = (unsigned char)(10 * k);
    uint32_t vdims[2] = {4, 6}, l4[1] = {4};
    unsigned char lab4[4] = {0, 1, 2, 3};
    fixture_write(dir, "t10k-images-idx3-ubyte", file, idx_bytes(file, 0x08, 2, vdims, vec, 24), 0);
    fixture_write(dir, "t10k-labels-idx1-ubyte", file, idx_bytes(file, 0x08, 1, l4, lab4, 4), 0);
    snprintf(src, sizeof src, "idx:%s", dir);
    s = lm_data_load(src, LM_SPLIT_TEST, 0, &ds);
    CHECK_MSG(s == LM_OK, "%s", lm_error_message());
    if (!s) {
        CHECK(ds->n == 4 && ds->shape.c == 6 && ds->shape.h == 1 && ds->shape.w == 1);
        CHECK(ds->classes == 10 && ds->x[23] == vec[23] / 255.0f && ds->y[3] == 3);
        lm_dataset_free(ds);
    }
    fixture_cleanup(dir);
}

/* ---- bad files: each case starts from a valid pair and breaks one thing ---- */

typedef struct {
    const char *what;
    unsigned char magic[4];  /* replaces the images' magic when magic[3] != 0 */
    uint32_t header_n;       /* images the header claims (0: N) */
    long image_bytes_delta;  /* bytes added (+) or cut (-) at the end of the images file */
    int label_value;         /* -1: valid labels */
    uint32_t label_n;        /* labels the header claims and holds (0: N) */
    int height;              /* 0: 28 */
    const char *culprit;     /* the file the message must name */
    const char *phrase;      /* and a phrase that shows which check fired */
} bad_case;

static void run_bad_case(const bad_case *c)
{
    const char *dir = fixture_dir();
    uint32_t h = c->height ? (uint32_t)c->height : 28;
    uint32_t idims[3] = {c->header_n ? c->header_n : N, h, 28};
    size_t len = idx_bytes(file, 0x08, 3, idims, pixels, (size_t)N * h * 28 < sizeof pixels
                                                              ? (size_t)N * h * 28 : sizeof pixels);
    if (c->magic[3]) memcpy(file, c->magic, 4);
    len = (size_t)((long)len + c->image_bytes_delta);
    fixture_write(dir, "train-images-idx3-ubyte", file, len, 0);
    unsigned char lab[N + 2] = {1, 2, 3, 4, 5};
    if (c->label_value >= 0) lab[1] = (unsigned char)c->label_value;
    uint32_t ldims[1] = {c->label_n ? c->label_n : N};
    fixture_write(dir, "train-labels-idx1-ubyte.gz", file,
                  idx_bytes(file, 0x08, 1, ldims, lab, ldims[0]), 1);
    char src[600];
    snprintf(src, sizeof src, "mnist:%s", dir);
    lm_dataset *ds = NULL;
    lm_status s = lm_data_load(src, LM_SPLIT_TRAIN, 0, &ds);
    const char *msg = lm_error_message();
    CHECK_MSG(s == LM_EINVAL, "%s: status %d (%s)", c->what, (int)s, msg);
    CHECK_MSG(ds == NULL, "%s: a data set came back", c->what);
    CHECK_MSG(strstr(msg, c->culprit) != NULL, "%s: message does not name %s: %s", c->what,
              c->culprit, msg);
    CHECK_MSG(strstr(msg, c->phrase) != NULL, "%s: message lacks '%s': %s", c->what, c->phrase,
              msg);
    CHECK_MSG(strchr(msg, '\n') == NULL, "%s: message is not one line", c->what);
    lm_dataset_free(ds);
    fixture_cleanup(dir);
}

static void test_bad_files(void)
{
    static const bad_case cases[] = {
        {"truncated images", {0}, 0, -1, -1, 0, 0, "train-images-idx3-ubyte", "holds"},
        {"extra bytes", {0}, 0, +5, -1, 0, 0, "train-images-idx3-ubyte", "holds"},
        {"header claims more", {0}, N + 1, 0, -1, 0, 0, "train-images-idx3-ubyte", "header says 4"},
        {"truncated header", {0}, 0, -(long)(N * PIX + 5), -1, 0, 0, "train-images-idx3-ubyte",
         "truncated"},
        {"empty file", {0}, 0, -(long)(N * PIX + 16), -1, 0, 0, "train-images-idx3-ubyte",
         "truncated"},
        {"wrong magic type", {0, 0, 0x07, 3}, 0, 0, -1, 0, 0, "train-images-idx3-ubyte", "magic"},
        {"wrong magic lead", {1, 0, 0x08, 3}, 0, 0, -1, 0, 0, "train-images-idx3-ubyte", "magic"},
        {"wrong ndim", {0, 0, 0x08, 2}, 0, 0, -1, 0, 0, "train-images-idx3-ubyte", "dimensions"},
        {"label out of range", {0}, 0, 0, 10, 0, 0, "train-labels-idx1-ubyte.gz", "label 1 is 10"},
        {"label count", {0}, 0, 0, -1, N - 1, 0, "train-labels-idx1-ubyte.gz", "2 labels"},
        {"not 28x28", {0}, 0, 0, -1, 0, 27, "train-images-idx3-ubyte", "27x28"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) run_bad_case(&cases[k]);
}

/* A gzip stream cut in half is corrupt data, not a short file or a crash. */
static void test_truncated_gzip(void)
{
    const char *dir = fixture_dir();
    write_mnist(dir, "train", "-", 1);
    const char *path = fixture_path(dir, "train-images-idx3-ubyte.gz");
    struct stat st;
    CHECK(stat(path, &st) == 0);
    CHECK(truncate(path, st.st_size / 2) == 0);
    char src[600];
    snprintf(src, sizeof src, "mnist:%s", dir);
    lm_dataset *ds = NULL;
    CHECK(lm_data_load(src, LM_SPLIT_TRAIN, 0, &ds) == LM_EINVAL);
    CHECK_MSG(strstr(lm_error_message(), "train-images-idx3-ubyte.gz: truncated gzip data"),
              "%s", lm_error_message());
    CHECK(ds == NULL);
    fixture_cleanup(dir);
}

static void test_missing(void)
{
    lm_dataset *ds = NULL;
    CHECK(lm_data_load("mnist:/nonexistent/linmass-dir", LM_SPLIT_TEST, 0, &ds) == LM_EIO);
    const char *msg = lm_error_message();
    CHECK_MSG(strstr(msg, "/nonexistent/linmass-dir/t10k-images-idx3-ubyte") != NULL, "%s", msg);
    CHECK_MSG(strstr(msg, "No such file") != NULL, "%s", msg);
    CHECK(lm_data_load("nonsense", LM_SPLIT_TRAIN, 0, &ds) == LM_EINVAL);
    CHECK(strstr(lm_error_message(), "nonsense") != NULL);
}

int main(void)
{
    test_roundtrip();
    test_generic_idx();
    test_bad_files();
    test_truncated_gzip();
    test_missing();
    return check_summary();
}
