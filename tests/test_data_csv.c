/* CSV loading: headers, target selection, classes, the last-20% test split, and every kind of
 * bad row refused with the file, line and column. */
// ctest-labels: data unit
#include "check.h"
#include "data/fixtures.h"
#include "linmass/data.h"

static const char *dir;

static lm_status load(const char *name, const char *opts, lm_split split, lm_dataset **ds)
{
    char src[1200];
    snprintf(src, sizeof src, "csv:%s%s", fixture_path(dir, name), opts);
    return lm_data_load(src, split, 0, ds);
}

static void test_regression_with_header(void)
{
    /* 10 rows: a = i, b = 2i, c = -i, y = i/4; one blank line and a comment in between */
    char text[1024] = "a, b ,\"c\",y\r\n";
    for (int i = 0; i < 10; i++) {
        char row[64];
        snprintf(row, sizeof row, "%d,%d,%d,%g\n%s", i, 2 * i, -i, i / 4.0, i == 4 ? "\n# note\n" : "");
        strcat(text, row);
    }
    fixture_write_text(dir, "reg.csv", text);
    lm_dataset *tr = NULL, *te = NULL;
    CHECK_MSG(load("reg.csv", "", LM_SPLIT_TRAIN, &tr) == LM_OK, "%s", lm_error_message());
    CHECK_MSG(load("reg.csv", "", LM_SPLIT_TEST, &te) == LM_OK, "%s", lm_error_message());
    if (!tr || !te) return;
    CHECK(tr->n == 8 && te->n == 2); /* the last 20% of the rows form the test split */
    CHECK(tr->shape.c == 3 && tr->shape.h == 1 && tr->shape.w == 1);
    CHECK(tr->classes == 0 && tr->target_dim == 1);
    int bad = 0;
    for (int i = 0; i < 10; i++) {
        const lm_dataset *ds = i < 8 ? tr : te;
        int r = i < 8 ? i : i - 8;
        bad += ds->x[3 * r] != i || ds->x[3 * r + 1] != 2 * i || ds->x[3 * r + 2] != -i;
        bad += ds->y[r] != (float)(i / 4.0);
    }
    CHECK_MSG(bad == 0, "%d rows differ", bad);
    lm_dataset_free(tr);
    lm_dataset_free(te);

    /* target=b by name: features a, c, y */
    CHECK(load("reg.csv", ":target=b", LM_SPLIT_TEST, &te) == LM_OK);
    if (te) {
        CHECK(te->n == 2 && te->shape.c == 3);
        CHECK(te->y[1] == 18 && te->x[3] == 9 && te->x[4] == -9 && te->x[5] == 2.25f);
        lm_dataset_free(te);
    }
    /* test=0.5 */
    CHECK(load("reg.csv", ":test=0.5", LM_SPLIT_TRAIN, &tr) == LM_OK);
    if (tr) CHECK(tr->n == 5);
    lm_dataset_free(tr);
    CHECK(load("reg.csv", ":target=zz", LM_SPLIT_TRAIN, &tr) == LM_EINVAL);
    CHECK(strstr(lm_error_message(), "reg.csv") && strstr(lm_error_message(), "zz"));
}

static void test_classes_without_header(void)
{
    fixture_write_text(dir, "cls.csv", "2,0.5,1\n0,1.5,2\n1,2.5,3\n2,3.5,4\n0,4.5,5\n");
    lm_dataset *ds = NULL;
    CHECK_MSG(load("cls.csv", ":target=1:classes=3", LM_SPLIT_TRAIN, &ds) == LM_OK, "%s",
              lm_error_message());
    if (ds) {
        CHECK(ds->n == 4 && ds->classes == 3 && ds->shape.c == 2);
        CHECK(ds->y[0] == 2 && ds->y[3] == 2 && ds->x[0] == 0.5f && ds->x[7] == 4);
        lm_dataset_free(ds);
    }
    /* the last column holds 1..5: not classes of 0..2 */
    CHECK(load("cls.csv", ":classes=3", LM_SPLIT_TRAIN, &ds) == LM_EINVAL);
    CHECK_MSG(strstr(lm_error_message(), "cls.csv: line 3, column 3"), "%s", lm_error_message());
    /* five rows at test=0.05 leave no test rows */
    CHECK(load("cls.csv", ":test=0.05", LM_SPLIT_TEST, &ds) == LM_EINVAL);
    CHECK(strstr(lm_error_message(), "cls.csv") != NULL);
}

typedef struct {
    const char *name, *text, *phrase; /* phrase: line/column and the value the message must show */
} bad_csv;

static void test_bad_files(void)
{
    static const bad_csv cases[] = {
        {"nan.csv", "x,y\n1,2\n3,nan\n", "line 3, column 2 ('y'): value 'nan' is NaN"},
        {"inf.csv", "1,2\n-inf,3\n", "line 2, column 1: value '-inf'"},
        {"big.csv", "1,2\n1e39,3\n", "line 2, column 1: value '1e39'"},
        {"ragged.csv", "1,2,3\n4,5,6\n7,8\n", "line 3 has 2 fields, expected 3"},
        {"long.csv", "1,2\n3,4,5\n", "line 2 has 3 fields, expected 2"},
        {"word.csv", "a,b\n1,2\n3,abc\n", "line 3, column 2 ('b'): 'abc' is not a number"},
        {"empty_field.csv", "1,2\n3,\n", "line 2, column 2: '' is not a number"},
        {"mixed.csv", "1,b\n1,2\n", "line 1, column 2: 'b' is not a number"},
        {"one_column.csv", "1\n2\n", "1 column"},
        {"no_rows.csv", "a,b\n", "no data rows"},
        {"trailing.csv", "1,2\n3,4x\n", "line 2, column 2: '4x'"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        const bad_csv *c = &cases[k];
        fixture_write_text(dir, c->name, c->text);
        lm_dataset *ds = NULL;
        lm_status s = load(c->name, "", LM_SPLIT_TRAIN, &ds);
        const char *msg = lm_error_message();
        CHECK_MSG(s == LM_EINVAL, "%s: status %d (%s)", c->name, (int)s, msg);
        CHECK_MSG(ds == NULL, "%s: a data set came back", c->name);
        CHECK_MSG(strstr(msg, c->name) && strstr(msg, c->phrase), "%s: want '%s', got: %s", c->name,
                  c->phrase, msg);
        lm_dataset_free(ds);
    }
    lm_dataset *ds = NULL;
    CHECK(load("absent.csv", "", LM_SPLIT_TRAIN, &ds) == LM_EIO);
    CHECK(strstr(lm_error_message(), "absent.csv: No such file") != NULL);
    CHECK(load("nan.csv", ":classes=x", LM_SPLIT_TRAIN, &ds) == LM_EINVAL);
}

int main(void)
{
    dir = fixture_dir();
    test_regression_with_header();
    test_classes_without_header();
    test_bad_files();
    fixture_cleanup(dir);
    return check_summary();
}
