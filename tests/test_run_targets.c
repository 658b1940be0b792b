// ctest-labels: unit
/* The targets rule of run.h on small data sets written by hand: class indices for cross-entropy,
 * one-hot rows for the square loss on classes, the target rows for regression, one output's
 * column (1{class = k}, or target k); wrong output counts and sample counts are refused. */
#include <stdlib.h>

#include "check.h"
#include "linmass/run.h"

int main(void)
{
    lm_dataset *c = NULL, *r = NULL;
    CHECK(lm_dataset_alloc(3, (lm_shape){1, 1, 2}, 4, 1, "classes", &c) == LM_OK);
    CHECK(lm_dataset_alloc(2, (lm_shape){1, 1, 2}, 0, 3, "rows", &r) == LM_OK);
    if (!c || !r) return check_summary();
    c->y[0] = 2, c->y[1] = 0, c->y[2] = 3;
    for (int i = 0; i < 6; i++) r->y[i] = 10 + i;

    double t[12];
    CHECK(lm_run_targets(c, LM_LOSS_XENT, 3, 4, t) == LM_OK);
    CHECK(t[0] == 2 && t[1] == 0 && t[2] == 3);
    CHECK(lm_run_targets(c, LM_LOSS_MSE, 3, 4, t) == LM_OK);
    static const double onehot[12] = {0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1};
    for (int i = 0; i < 12; i++) CHECK_MSG(t[i] == onehot[i], "one-hot entry %d: %g", i, t[i]);
    CHECK(lm_run_targets(r, LM_LOSS_MSE, 2, 3, t) == LM_OK);
    for (int i = 0; i < 6; i++) CHECK(t[i] == 10 + i);
    CHECK(lm_run_targets(r, LM_LOSS_MSE, 1, 3, t) == LM_OK && t[2] == 12);

    double y[3];
    CHECK(lm_run_output_targets(c, 3, 3, y) == LM_OK && y[0] == 0 && y[1] == 0 && y[2] == 1);
    CHECK(lm_run_output_targets(c, 3, 0, y) == LM_OK && y[0] == 0 && y[1] == 1 && y[2] == 0);
    CHECK(lm_run_output_targets(r, 2, 1, y) == LM_OK && y[0] == 11 && y[1] == 14);

    /* refused: outputs that do not fit, too many samples, cross-entropy without classes */
    CHECK(lm_run_targets(c, LM_LOSS_MSE, 3, 3, t) == LM_EINVAL);
    CHECK(lm_run_targets(r, LM_LOSS_MSE, 2, 2, t) == LM_EINVAL);
    CHECK(lm_run_targets(r, LM_LOSS_XENT, 2, 3, t) == LM_EINVAL);
    CHECK(lm_run_targets(c, LM_LOSS_XENT, 4, 4, t) == LM_EINVAL);
    CHECK(lm_run_output_targets(c, 3, 4, y) == LM_EINVAL);
    CHECK(lm_run_output_targets(r, 2, -1, y) == LM_EINVAL);
    lm_dataset_free(c), lm_dataset_free(r);
    return check_summary();
}
