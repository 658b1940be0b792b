/* How far data are from the interpolation the theory assumes (docs/theory.md §2.1): the
 * least-squares loss floor of linear regression, by the minimum-norm solution on the range of
 * H = X^T X / n and the residual evaluated directly (not as a difference of squares). */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linmass/probe.h"
#include "linmass/theory.h"

/* W = H^+ B: B (d x k) projected on the eigenvectors (rows of V) with eigenvalues above
 * LM_RANK_RTOL * lambda_max, each divided by its eigenvalue. */
static void pseudo_solve(int d, int k, const double *V, const double *lambda, const double *B, double *C, double *W)
{
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, k, d, 1, V, d, B, k, 0, C, k);
    for (int j = 0; j < d; j++) {
        double s = lambda[j] > LM_RANK_RTOL * lambda[d - 1] ? 1 / lambda[j] : 0;
        for (int c = 0; c < k; c++) C[(size_t)j * k + c] *= s;
    }
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, k, d, 1, V, d, C, k, 0, W, k);
}

lm_status lm_linreg_residual(const double *X, const double *Y, int n, int d, int k, double *floor_loss, double *zero_loss)
{
    if (n < 1 || d < 1 || k < 1) return lm_fail(LM_EINVAL, "residual: n %d, d %d, k %d must be at least 1", n, d, k);
    size_t dd = (size_t)d * d, dk = (size_t)d * k, nk = (size_t)n * k;
    double *H = malloc(dd * sizeof *H), *V = malloc(dd * sizeof *V), *lambda = malloc(d * sizeof *lambda);
    double *B = malloc(dk * sizeof *B), *C = malloc(dk * sizeof *C), *W = malloc(dk * sizeof *W), *R = malloc(nk * sizeof *R);
    lm_status st = H && V && lambda && B && C && W && R ? LM_OK : lm_fail(LM_ENOMEM, "residual: no memory (n %d, d %d)", n, d);
    if (!st) {
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, n, 1.0 / n, X, d, X, d, 0, H, d);
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, k, n, 1.0 / n, X, d, Y, k, 0, B, k);
        st = lm_sym_eig(d, H, lambda, V);
    }
    if (!st && !(lambda[d - 1] > 0)) st = lm_fail(LM_EINVAL, "residual: H is zero (all the data are zero)");
    if (!st) {
        pseudo_solve(d, k, V, lambda, B, C, W);
        memcpy(R, Y, nk * sizeof *R);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, k, d, 1, X, d, W, k, -1, R, k);
        *floor_loss = cblas_ddot((int)nk, R, 1, R, 1) / (2.0 * n);
        *zero_loss = cblas_ddot((int)nk, Y, 1, Y, 1) / (2.0 * n);
    }
    free(H), free(V), free(lambda), free(B), free(C), free(W), free(R);
    return st;
}

/* A rate that prints as 1 at 8 digits: a warning line, else nothing. */
static int rate_rounds_to_1(char *line, const char *method, const char *formula, double rate)
{
    char shown[32];
    snprintf(shown, sizeof shown, "%.8g", rate);
    if (strcmp(shown, "1")) return 0;
    snprintf(line, LM_WARNING_LEN, "the %s rate %s = 1 - %.3g rounds to 1: the error shrinks by a factor e in about "
             "%.3g steps", method, formula, 1 - rate, 1 / (1 - rate));
    return 1;
}

int lm_constants_warnings(const lm_constants *k, double floor_loss, double zero_loss,
                          char lines[LM_MAX_WARNINGS][LM_WARNING_LEN])
{
    int n = 0;
    if (floor_loss >= 0 && floor_loss > 1e-9 * zero_loss)
        snprintf(lines[n++], LM_WARNING_LEN, "no interpolation: the least-squares loss floor min_w (1/2n) sum "
                 "(<w, x_i> - y_i)^2 is %.6g (%.3g of the loss at w = 0); SGD and MaSS approach it, not 0, and the rates "
                 "below hold for an interpolating w* only", floor_loss, floor_loss / zero_loss);
    if (k->mu / k->L < 1e-8)
        snprintf(lines[n++], LM_WARNING_LEN, "mu/L = %.3g is below 1e-8: the slowest directions of H converge %.3g times "
                 "slower than the fastest, and float32 training (rounding 6e-8) cannot resolve them", k->mu / k->L,
                 k->L / k->mu);
    n += rate_rounds_to_1(lines[n], "SGD", "1 - 1/kappa_m", k->sgd_rate);
    n += rate_rounds_to_1(lines[n], "MaSS", "1 - 1/sqrt(kappa_m kappa-tilde_m)", k->mass_rate);
    return n;
}
