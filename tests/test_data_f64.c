/* lm_dataset_f64 on data sets filled here: classes become one-hot rows, target rows are copied,
 * inputs are flattened in order and converted exactly (float values are doubles), only the
 * first n samples are taken, and asking for more samples than there are is LM_EINVAL naming
 * the data set. */
// ctest-labels: unit
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/data.h"

static void test_classes(void)
{
    lm_dataset *ds = NULL;
    CHECK(lm_dataset_alloc(4, (lm_shape){1, 1, 3}, 3, 1, "three", &ds) == LM_OK);
    if (!ds) return;
    for (int i = 0; i < 12; i++) ds->x[i] = 0.25f * i - 1;
    const float labels[4] = {2, 0, 1, 2};
    memcpy(ds->y, labels, sizeof labels);
    double *X, *Y;
    int k = 0;
    CHECK(lm_dataset_f64(ds, 3, &X, &Y, &k) == LM_OK);
    CHECK(k == 3);
    if (X && Y) {
        for (int i = 0; i < 9; i++) CHECK(X[i] == 0.25 * i - 1);
        const double want[9] = {0, 0, 1, 1, 0, 0, 0, 1, 0};
        for (int i = 0; i < 9; i++) CHECK_MSG(Y[i] == want[i], "Y[%d] = %g, not %g", i, Y[i], want[i]);
    }
    free(X), free(Y);
    CHECK(lm_dataset_f64(ds, 5, &X, &Y, &k) == LM_EINVAL && X == NULL && Y == NULL);
    CHECK(strstr(lm_error_message(), "three") != NULL);
    lm_dataset_free(ds);
}

static void test_targets(void)
{
    lm_dataset *ds = NULL;
    CHECK(lm_dataset_alloc(2, (lm_shape){2, 1, 1}, 0, 2, "rows", &ds) == LM_OK);
    if (!ds) return;
    const float x[4] = {1, 2, 3, 4}, y[4] = {0.5f, -1.5f, 3, 0.125f};
    memcpy(ds->x, x, sizeof x), memcpy(ds->y, y, sizeof y);
    double *X, *Y;
    int k = 0;
    CHECK(lm_dataset_f64(ds, 2, &X, &Y, &k) == LM_OK && k == 2);
    if (X && Y)
        for (int i = 0; i < 4; i++) CHECK(X[i] == x[i] && Y[i] == y[i]);
    free(X), free(Y);
    lm_dataset_free(ds);
}

int main(void)
{
    test_classes();
    test_targets();
    return check_summary();
}
