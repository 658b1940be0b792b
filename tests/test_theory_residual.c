// ctest-labels: theory unit
/* lm_linreg_residual, the least-squares floor min_W (1/2n) sum |W^T x_i - y_i|^2 against exact
 * small cases: one feature (closed form (sum y^2 - (sum xy)^2 / sum x^2) / 2n), data that
 * interpolate (floor 0 to rounding, also with a repeated feature column: rank-deficient H),
 * a target with a part orthogonal to the columns of X (the floor is that part's square), and
 * two outputs (the sum of each output's floor). */
#include <math.h>
#include <stdio.h>

#include "check.h"
#include "linmass/theory.h"

static void one_feature(void)
{
    const double X[3] = {1, 2, 3}, Y[3] = {2, 4, 6.5};
    double fl, zero;
    CHECK(lm_linreg_residual(X, Y, 3, 1, 1, &fl, &zero) == LM_OK);
    /* sum y^2 = 62.25, sum xy = 29.5, sum x^2 = 14: (62.25 - 29.5^2 / 14) / 6 = 1.25 / 84 */
    CHECK_CLOSE(fl, 1.25 / 84, 1e-12);
    CHECK_CLOSE(zero, 62.25 / 6, 1e-15);
}

/* Four samples in R^3 with the third column a copy of the first (rank 2). */
static const double X4[12] = {1, 2, 1, -1, 0.5, -1, 3, -2, 3, 0.25, 1, 0.25};

static void interpolated(void)
{
    double Y[4], fl, zero;
    for (int i = 0; i < 4; i++) Y[i] = 0.7 * X4[3 * i] - 1.3 * X4[3 * i + 1] + 0.2 * X4[3 * i + 2];
    CHECK(lm_linreg_residual(X4, Y, 4, 3, 1, &fl, &zero) == LM_OK);
    CHECK_MSG(fl <= 1e-28 * zero, "interpolating data: floor %g of %g", fl, zero);
}

/* y = X w + e with e orthogonal to both columns of X (X^T e = 0): the floor is |e|^2 / 2n. */
static void orthogonal_part(void)
{
    /* e solves X^T e = 0 for the columns (1, -1, 3, 0.25) and (2, 0.5, -2, 1): e = (a, b, c, d) with
     * two free entries; take c = 1, d = -2 and solve a - b = -2.5, 2a + 0.5b = 4. */
    double a = (4 - 0.5 * 2.5) / 2.5, b = a + 2.5, e[4] = {a, b, 1, -2};
    CHECK(fabs(a - b + 3 * 1 + 0.25 * -2) < 1e-14 && fabs(2 * a + 0.5 * b - 2 * 1 + 1 * -2) < 1e-14);
    double Y[8], fl, zero, ee = 0;
    for (int i = 0; i < 4; i++) {
        Y[2 * i] = 0.5 * X4[3 * i] + X4[3 * i + 1] + e[i]; /* output 0: e off the range */
        Y[2 * i + 1] = -X4[3 * i + 1];                      /* output 1: interpolated */
        ee += e[i] * e[i];
    }
    CHECK(lm_linreg_residual(X4, Y, 4, 3, 2, &fl, &zero) == LM_OK);
    CHECK_CLOSE(fl, ee / 8, 1e-12);
}

int main(void)
{
    one_feature();
    interpolated();
    orthogonal_part();
    double fl, zero, x = 0, y = 1;
    CHECK(lm_linreg_residual(&x, &y, 1, 1, 1, &fl, &zero) == LM_EINVAL); /* H = 0 */
    return check_summary();
}
