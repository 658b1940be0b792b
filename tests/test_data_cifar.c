/* CIFAR-10 binary loading on files written here (CIFAR-10 itself cannot be installed on the
 * build machines): values round-trip, splits are right, bad files are refused. */
// ctest-labels: data unit
#include "check.h"
#include "data/fixtures.h"
#include "linmass/data.h"

enum { REC = 3073, PIX = 3072 };

/* Records r0 .. r0+n-1 of a deterministic pattern; the label of record r is r % 10. */
static unsigned char *records(int r0, int n)
{
    unsigned char *b = malloc((size_t)n * REC);
    for (int r = 0; r < n; r++) {
        b[(size_t)r * REC] = (unsigned char)((r0 + r) % 10);
        for (int k = 0; k < PIX; k++) b[(size_t)r * REC + 1 + k] = (unsigned char)((r0 + r) * 31 + k * 7);
    }
    return b;
}

static void write_set(const char *dir, int per_file)
{
    char name[64];
    for (int f = 0; f < 5; f++) {
        unsigned char *b = records(f * per_file, per_file);
        snprintf(name, sizeof name, "data_batch_%d.bin", f + 1);
        fixture_write(dir, name, b, (size_t)per_file * REC, 0);
        free(b);
    }
    unsigned char *b = records(1000, 3);
    fixture_write(dir, "test_batch.bin", b, 3 * REC, 0);
    free(b);
}

static lm_status load(const char *dir, lm_split split, lm_dataset **ds)
{
    char src[600];
    snprintf(src, sizeof src, "cifar10:%s", dir);
    return lm_data_load(src, split, 0, ds);
}

static void test_roundtrip(void)
{
    const char *dir = fixture_dir();
    write_set(dir, 2);
    lm_dataset *ds = NULL;
    lm_status s = load(dir, LM_SPLIT_TRAIN, &ds);
    CHECK_MSG(s == LM_OK, "%s", lm_error_message());
    if (!s) {
        CHECK(ds->n == 10 && ds->shape.c == 3 && ds->shape.h == 32 && ds->shape.w == 32);
        CHECK(ds->classes == 10 && ds->target_dim == 1);
        unsigned char *want = records(0, 10); /* the five files hold records 0..9 in order */
        int bad = 0;
        for (int r = 0; r < 10; r++) {
            bad += ds->y[r] != want[(size_t)r * REC];
            for (int k = 0; k < PIX; k++)
                bad += ds->x[(size_t)r * PIX + k] != want[(size_t)r * REC + 1 + k] / 255.0f;
        }
        CHECK_MSG(bad == 0, "%d values differ", bad);
        free(want);
        lm_dataset_free(ds);
    }
    s = load(dir, LM_SPLIT_TEST, &ds);
    CHECK_MSG(s == LM_OK, "%s", lm_error_message());
    if (!s) {
        unsigned char *want = records(1000, 3);
        CHECK(ds->n == 3 && ds->y[2] == want[2 * REC]);
        CHECK(ds->x[2 * PIX + PIX - 1] == want[3 * REC - 1] / 255.0f);
        /* channel-major: the green plane of record 0 starts at pixel 1024 */
        CHECK(ds->x[1024] == want[1 + 1024] / 255.0f);
        free(want);
        lm_dataset_free(ds);
    }
    fixture_cleanup(dir);
}

static void expect_einval(const char *dir, lm_split split, const char *culprit, const char *phrase)
{
    lm_dataset *ds = NULL;
    lm_status s = load(dir, split, &ds);
    const char *msg = lm_error_message();
    CHECK_MSG(s == LM_EINVAL, "%s: status %d (%s)", culprit, (int)s, msg);
    CHECK_MSG(ds == NULL, "%s: a data set came back", culprit);
    CHECK_MSG(strstr(msg, culprit) && strstr(msg, phrase), "message lacks '%s' or '%s': %s",
              culprit, phrase, msg);
}

static void test_bad_files(void)
{
    const char *dir = fixture_dir();
    write_set(dir, 2);
    /* truncated: one byte short of two records */
    unsigned char *b = records(4, 2);
    fixture_write(dir, "data_batch_3.bin", b, 2 * REC - 1, 0);
    expect_einval(dir, LM_SPLIT_TRAIN, "data_batch_3.bin", "3073-byte");
    fixture_write(dir, "data_batch_3.bin", b, 2 * REC, 0);
    /* empty */
    fixture_write(dir, "data_batch_5.bin", b, 0, 0);
    expect_einval(dir, LM_SPLIT_TRAIN, "data_batch_5.bin", "holds 0 bytes");
    fixture_write(dir, "data_batch_5.bin", b, 2 * REC, 0);
    /* a label of 10 in the second record */
    b[REC] = 10;
    fixture_write(dir, "test_batch.bin", b, 2 * REC, 0);
    expect_einval(dir, LM_SPLIT_TEST, "test_batch.bin", "record 1 has label 10");
    free(b);
    /* a missing file is an I/O error that names it */
    remove(fixture_path(dir, "data_batch_4.bin"));
    lm_dataset *ds = NULL;
    CHECK(load(dir, LM_SPLIT_TRAIN, &ds) == LM_EIO);
    CHECK_MSG(strstr(lm_error_message(), "data_batch_4.bin: No such file"), "%s",
              lm_error_message());
    fixture_cleanup(dir);
}

int main(void)
{
    test_roundtrip();
    test_bad_files();
    return check_summary();
}
