// ctest-labels: unit theory
/* The expected iterate per eigen-direction (lm_theory_mean_rate, lm_theory_mean_curve),
 * docs/theory.md §2.3:
 * - SGD's factor (1 - eta lambda)^2;
 * - Nesterov at the full-batch optimum eta = 1/L, gamma = (1 - q)/(1 + q), q = 1/sqrt(kappa): a
 *   double root 1 - q at lambda = mu, so rho = (1 - q)^2; at lambda = L/2 a complex pair with
 *   |x|^2 = gamma/2;
 * - the curves against the full-batch two-sequence recursion written out here in the original
 *   coordinates (|w - w*|^2 and (1/2) (u - w*)^T H (u - w*)), for SGD, Nesterov and MaSS;
 * - the curve at w against the second-moment operator's curve (lm_theory_curve) at a batch of
 *   1e9, where the batches' noise is below 1e-7 of the starting error;
 * - the factor against the curve's ratio over many steps along one direction;
 * - a bad gamma is refused. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "linmass/probe.h"
#include "linmass/theory.h"

enum { N = 6, D = 3, T = 60 };

/* Rows of a 6 x 3 data set, its H = X^T X / N, and H's eigen-directions. */
static double X[N * D], H[D * D], lambda[D], V[D * D];

static void setup(void)
{
    for (int i = 0; i < N * D; i++) X[i] = sin(1.3 * i + 0.4) + (i % 4 == 0 ? 0.8 : 0);
    memset(H, 0, sizeof H);
    for (int i = 0; i < N; i++)
        for (int a = 0; a < D; a++)
            for (int b = 0; b < D; b++) H[a * D + b] += X[i * D + a] * X[i * D + b] / N;
    CHECK(lm_sym_eig(D, H, lambda, V) == LM_OK); /* row k of V: the eigenvector of lambda[k] */
}

static void closed_forms(void)
{
    lm_theory_hp sgd = {0.7, 0, 0};
    double rho;
    for (double l = 0; l <= 3; l += 0.5) {
        CHECK(lm_theory_mean_rate(LM_THEORY_SGD, sgd, l, &rho) == LM_OK);
        CHECK_CLOSE(rho, (1 - 0.7 * l) * (1 - 0.7 * l), 1e-14);
    }
    double L = 2, mu = 0.02, q = sqrt(mu / L), g = (1 - q) / (1 + q);
    lm_theory_hp nest = {1 / L, 0, g}, mass = {1 / L, 0.3 / L, g};
    CHECK(lm_theory_mean_rate(LM_THEORY_NESTEROV, nest, mu, &rho) == LM_OK);
    CHECK_CLOSE(rho, (1 - q) * (1 - q), 1e-7); /* a double root: rounding perturbs it by sqrt(eps) */
    CHECK(lm_theory_mean_rate(LM_THEORY_NESTEROV, nest, L / 2, &rho) == LM_OK);
    CHECK_CLOSE(rho, g / 2, 1e-14);
    /* MaSS with eta2 = 0 is Nesterov; MaSS's eta2 is ignored by Nesterov */
    double r1, r2;
    CHECK(lm_theory_mean_rate(LM_THEORY_MASS, (lm_theory_hp){1 / L, 0, g}, 0.3, &r1) == LM_OK);
    CHECK(lm_theory_mean_rate(LM_THEORY_NESTEROV, mass, 0.3, &r2) == LM_OK);
    CHECK_CLOSE(r1, r2, 1e-15);
    CHECK(lm_theory_mean_rate(LM_THEORY_MASS, (lm_theory_hp){1, 0, 1}, 0.3, &rho) == LM_EINVAL);
    CHECK(lm_theory_mean_rate(LM_THEORY_SGD, (lm_theory_hp){0, 0, 0}, 0.3, &rho) == LM_EINVAL);
}

/* Full batch in the original coordinates from w0 = u0 = e0: |ew|^2 and (1/2) eu^T H eu. */
static void direct(lm_theory_method method, lm_theory_hp hp, const double *e0, double *out_w, double *out_u)
{
    double w[D], u[D], g[D];
    memcpy(w, e0, sizeof w), memcpy(u, e0, sizeof u);
    for (int t = 0; t <= T; t++) {
        out_w[t] = out_u[t] = 0;
        for (int a = 0; a < D; a++) {
            out_w[t] += w[a] * w[a];
            for (int b = 0; b < D; b++) out_u[t] += 0.5 * u[a] * H[a * D + b] * u[b];
        }
        for (int a = 0; a < D; a++) {
            g[a] = 0;
            for (int b = 0; b < D; b++) g[a] += H[a * D + b] * u[b];
        }
        for (int a = 0; a < D; a++) {
            double wn = u[a] - hp.eta1 * g[a];
            double un = method == LM_THEORY_SGD ? wn
                                                : (1 + hp.gamma) * wn - hp.gamma * w[a] +
                                                      (method == LM_THEORY_MASS ? hp.eta2 * g[a] : 0);
            w[a] = wn, u[a] = un;
        }
    }
}

static void against_recursion(void)
{
    const double e0[D] = {1, -0.5, 2};
    double c2[D], half_lc2[D]; /* (v_k^T e0)^2 and lambda_k (v_k^T e0)^2 / 2 */
    for (int k = 0; k < D; k++) {
        double c = 0;
        for (int a = 0; a < D; a++) c += V[k * D + a] * e0[a];
        c2[k] = c * c, half_lc2[k] = lambda[k] * c * c / 2;
    }
    double L = lambda[D - 1];
    lm_theory_hp hp[3] = {{1 / L, 0, 0}, {0.8 / L, 0, 0.9}, {1 / L, 0.6 / L, 0.95}};
    for (int m = 0; m < 3; m++) {
        double want_w[T + 1], want_u[T + 1], got_w[T + 1], got_u[T + 1], ew = 0, eu = 0;
        direct((lm_theory_method)m, hp[m], e0, want_w, want_u);
        CHECK(lm_theory_mean_curve((lm_theory_method)m, hp[m], lambda, c2, D, T, got_w, NULL) == LM_OK);
        CHECK(lm_theory_mean_curve((lm_theory_method)m, hp[m], lambda, half_lc2, D, T, NULL, got_u) == LM_OK);
        for (int t = 0; t <= T; t++) {
            ew = fmax(ew, fabs(got_w[t] - want_w[t]) / want_w[t]);
            eu = fmax(eu, fabs(got_u[t] - want_u[t]) / want_u[t]);
        }
        printf("%s: mean curve against the recursion, relative difference %.2e (w), %.2e (u)\n",
               lm_theory_method_name((lm_theory_method)m), ew, eu);
        CHECK_MSG(ew < 1e-10 && eu < 1e-10, "%s: mean curve differs from the recursion by %.3g / %.3g",
                  lm_theory_method_name((lm_theory_method)m), ew, eu);
        /* the noise-free limit of the second-moment operator */
        double op[T + 1], err = 0;
        lm_moments mo = {.kind = LM_MOMENTS_DATA, .d = D, .X = X, .n = N};
        CHECK(lm_theory_curve(&mo, (lm_theory_method)m, hp[m], 1000000000, e0, T, op) == LM_OK);
        for (int t = 0; t <= T; t++) err = fmax(err, fabs(op[t] - got_w[t]) / got_w[0]); /* the mean may pass 0 */
        printf("%s: against the second-moment curve at batch 1e9, %.2e\n", lm_theory_method_name((lm_theory_method)m), err);
        CHECK_MSG(err < 1e-7, "%s: mean curve differs from lm_theory_curve at batch 1e9 by %.3g",
                  lm_theory_method_name((lm_theory_method)m), err);
    }
}

/* The factor is the ratio of the curve along one direction over many steps. */
static void rate_is_curve_ratio(void)
{
    enum { S = 4000 };
    static double c[S + 1];
    double l = 0.01, one = 1, rho;
    lm_theory_hp hp = {1, 0.8, 0.97};
    CHECK(lm_theory_mean_rate(LM_THEORY_MASS, hp, l, &rho) == LM_OK);
    CHECK(lm_theory_mean_curve(LM_THEORY_MASS, hp, &l, &one, 1, S, c, NULL) == LM_OK);
    /* over 2000 steps the oscillation of a complex pair nearly averages out of the log */
    double got = exp((log(c[S]) - log(c[S - 2000])) / 2000);
    printf("MaSS factor %.8f, curve ratio over the last 2000 steps %.8f\n", rho, got);
    CHECK_CLOSE(got, rho, 1e-3);
}

int main(void)
{
    setup();
    closed_forms();
    against_recursion();
    rate_is_curve_ratio();
    return check_summary();
}
