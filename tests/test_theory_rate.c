// ctest-labels: theory
/* Exact expected dynamics (docs/theory.md §2.3-2.4): the second-moment operator against a brute-force
 * enumeration of every sample path through the optimizer kernels, and the reference values:
 * MaSS rho = 0.9573 and SGD rho = 0.9934 on the 2-D Gaussian H = diag(1, 0.01); Nesterov with
 * eta = 1/L1 diverging for gamma >= 0.564 on one-active-coordinate data and near 0.65 on the
 * Gaussian; the speed-up table over the best SGD; the batch-size regimes of the d = 50 example;
 * Nesterov diverging on finite data at small batches where MaSS converges. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/optim.h"
#include "linmass/rng.h"
#include "linmass/theory.h"

/* ---- the operator against every sample path ---- */

enum { PN = 3, PD = 2 };

/* E[z z^T] after `steps` steps of MaSS (or SGD) on the PN rows of X, averaging over all
 * PN^(m steps) equally likely sequences of mini-batches drawn with replacement. */
static void enumerate(const double *X, lm_theory_method method, lm_theory_hp hp, int m,
                      int steps, double *S)
{
    const double wstar[PD] = {0.3, -0.7}, w0[PD] = {1.2, 0.4};
    int D = method == LM_THEORY_SGD ? PD : 2 * PD;
    long paths = 1;
    for (int k = 0; k < m * steps; k++) paths *= PN;
    memset(S, 0, sizeof *S * D * D);
    for (long p = 0; p < paths; p++) {
        double w[PD], u[PD], g[PD], z[2 * PD];
        memcpy(w, w0, sizeof w), memcpy(u, w0, sizeof u);
        long code = p;
        for (int t = 0; t < steps; t++) {
            memset(g, 0, sizeof g);
            for (int j = 0; j < m; j++, code /= PN) {
                const double *x = X + (code % PN) * PD;
                double r = 0;
                for (int k = 0; k < PD; k++) r += x[k] * (u[k] - wstar[k]);
                for (int k = 0; k < PD; k++) g[k] += r * x[k] / m;
            }
            if (method == LM_THEORY_SGD) {
                lm_sgd_step_f64(PD, u, g, NULL, &(lm_sgd_hp){hp.eta1, 0, 0, 0, 0}, t + 1);
                memcpy(w, u, sizeof w);
            } else {
                double eta2 = method == LM_THEORY_MASS ? hp.eta2 : 0;
                lm_mass_step_f64(PD, w, u, g, &(lm_mass_hp){hp.eta1, eta2, hp.gamma, 0});
            }
        }
        for (int k = 0; k < PD; k++) z[k] = w[k] - wstar[k], z[PD + k] = u[k] - wstar[k];
        for (int a = 0; a < D; a++)
            for (int b = 0; b < D; b++) S[a * D + b] += z[a] * z[b] / paths;
    }
}

static void operator_matches_paths(lm_theory_method method, lm_theory_hp hp, int m, int steps)
{
    double X[PN * PD];
    for (int i = 0; i < PN * PD; i++) X[i] = lm_rand_normal(21, 1, (uint64_t)i);
    lm_moments mo = {.kind = LM_MOMENTS_DATA, .d = PD, .X = X, .n = PN};
    double *M;
    int N;
    CHECK(lm_theory_operator(&mo, method, hp, m, 0, &M, &N) == LM_OK);
    int D = method == LM_THEORY_SGD ? PD : 2 * PD;
    CHECK(N == D * (D + 1) / 2);
    double s[16], next[16], S[16], Sref[16];
    int k = 0;
    enumerate(X, method, hp, m, 0, S); /* S_0 = z_0 z_0^T */
    for (int a = 0; a < D; a++)
        for (int b = a; b < D; b++) s[k++] = S[a * D + b];
    for (int t = 0; t < steps; t++) {
        for (int p = 0; p < N; p++) {
            next[p] = 0;
            for (int q = 0; q < N; q++) next[p] += M[p * N + q] * s[q];
        }
        memcpy(s, next, sizeof next);
    }
    enumerate(X, method, hp, m, steps, Sref);
    double err = 0, scale = 0;
    k = 0;
    for (int a = 0; a < D; a++)
        for (int b = a; b < D; b++, k++)
            err = fmax(err, fabs(s[k] - Sref[a * D + b])), scale = fmax(scale, fabs(Sref[a * D + b]));
    printf("operator^%d vs all %s paths (m %d): relative difference %.2e\n", steps,
           lm_theory_method_name(method), m, err / scale);
    CHECK_MSG(err <= 1e-12 * scale, "%s: operator differs from the enumeration by %.3g",
              lm_theory_method_name(method), err / scale);
    free(M);
}

/* ---- reference values ---- */

static double rate(const lm_moments *mo, lm_theory_method method, double eta1, double eta2,
                   double gamma, int m)
{
    double rho = NAN;
    lm_status st = lm_theory_rate(mo, method, (lm_theory_hp){eta1, eta2, gamma}, m, &rho);
    CHECK_MSG(st == LM_OK, "lm_theory_rate: %s", lm_error_message());
    return rho;
}

static void gaussian_2d(void)
{
    double H[4] = {1, 0, 0, 0.01};
    lm_moments mo = {.kind = LM_MOMENTS_GAUSSIAN, .d = 2, .H = H};
    lm_constants c;
    CHECK(lm_moments_constants(&mo, 1, &c) == LM_OK);
    double rm = rate(&mo, LM_THEORY_MASS, c.mass_eta1, c.mass_eta2, c.mass_gamma, 1);
    double rs = rate(&mo, LM_THEORY_SGD, 1 / c.L1, 0, 0, 1);
    printf("Gaussian diag(1, 0.01), m 1: MaSS rho %.6f (bound %.4f), SGD(1/L1) rho %.6f\n", rm,
           c.mass_rate, rs);
    CHECK(fabs(rm - 0.9573) <= 5e-5);
    CHECK(rm < c.mass_rate && fabs(c.mass_rate - 0.9712) <= 5e-5);
    CHECK(fabs(rs - 0.9934) <= 5e-5);

    /* the same covariance turned by 0.4 rad takes the general (2d)^2 path: same rho */
    double cs = cos(0.4), sn = sin(0.4), R[4];
    R[0] = cs * cs + 0.01 * sn * sn, R[1] = R[2] = (1 - 0.01) * cs * sn, R[3] = sn * sn + 0.01 * cs * cs;
    lm_moments rot = {.kind = LM_MOMENTS_GAUSSIAN, .d = 2, .H = R};
    CHECK(!lm_moments_is_diagonal(&rot) && lm_moments_is_diagonal(&mo));
    CHECK_CLOSE(rate(&rot, LM_THEORY_MASS, c.mass_eta1, c.mass_eta2, c.mass_gamma, 1), rm, 1e-10);
    CHECK_CLOSE(rate(&rot, LM_THEORY_SGD, 1 / c.L1, 0, 0, 1), rs, 1e-10);

    /* Nesterov with eta = 1/L1: 1.30 per step at gamma = 0.9, diverging from about 0.65 */
    double r9 = rate(&mo, LM_THEORY_NESTEROV, 1 / c.L1, 0, 0.9, 1);
    double lo = 0.5, hi = 0.9;
    for (int it = 0; it < 40; it++) {
        double mid = 0.5 * (lo + hi);
        if (rate(&mo, LM_THEORY_NESTEROV, 1 / c.L1, 0, mid, 1) < 1) lo = mid;
        else hi = mid;
    }
    printf("Gaussian Nesterov(1/L1): rho %.4f at gamma 0.9, diverges from gamma %.4f\n", r9, hi);
    CHECK(fabs(r9 - 1.30) <= 0.005);
    CHECK(hi >= 0.645 && hi <= 0.66);
}

static lm_moments decoupled(double kappa_1, double *sigma2)
{
    sigma2[0] = 1, sigma2[1] = 6 / kappa_1; /* L1 = 6 sigma_1^2, mu = sigma_2^2 */
    return (lm_moments){.kind = LM_MOMENTS_DECOUPLED, .d = 2, .sigma2 = sigma2};
}

static void nesterov_diverges(void)
{
    const double kappas[3] = {600, 6667, 60000};
    for (int k = 0; k < 3; k++) {
        double s2[2];
        lm_moments mo = decoupled(kappas[k], s2);
        lm_constants c;
        CHECK(lm_moments_constants(&mo, 1, &c) == LM_OK);
        CHECK_CLOSE(c.L1, 6, 1e-12);
        CHECK_CLOSE(c.kappa_tilde, 6, 1e-12);
        CHECK_CLOSE(c.kappa_1, kappas[k], 1e-12);
        double below = rate(&mo, LM_THEORY_NESTEROV, 1 / c.L1, 0, 0.563, 1);
        double above = rate(&mo, LM_THEORY_NESTEROV, 1 / c.L1, 0, 0.564, 1);
        printf("decoupled kappa_1 %5.0f: Nesterov(1/L1) rho %.6f at gamma 0.563, %.6f at 0.564\n",
               kappas[k], below, above);
        CHECK(below < 1 && above > 1);
    }
}

/* Speed = -log rho; speed-ups over the best-tuned SGD (docs/theory.md §2.4). */
static void speedup_table(void)
{
    const double kappas[3] = {600, 6667, 60000}, mass_ref[3] = {3.89, 13.85, 44.0},
                 nest_ref[3] = {1.50, 1.78, 1.91};
    for (int k = 0; k < 3; k++) {
        double s2[2];
        lm_moments mo = decoupled(kappas[k], s2);
        lm_constants c;
        lm_theory_best sgd, nest;
        CHECK(lm_moments_constants(&mo, 1, &c) == LM_OK);
        CHECK(lm_theory_best_rate(&mo, LM_THEORY_SGD, 1, &(lm_theory_search_opts){.grid = 15}, &sgd) == LM_OK);
        CHECK(lm_theory_best_rate(&mo, LM_THEORY_NESTEROV, 1, &(lm_theory_search_opts){.grid = 15}, &nest) == LM_OK);
        double mass = rate(&mo, LM_THEORY_MASS, c.mass_eta1, c.mass_eta2, c.mass_gamma, 1);
        double up_mass = log(mass) / log(sgd.rho), up_nest = log(nest.rho) / log(sgd.rho);
        printf("kappa_1 %5.0f: best SGD rho %.7f (eta %.4f); best Nesterov %.3fx (docs/theory.md "
               "%.2fx; eta %.4f gamma %.4f); MaSS (2.2) %.3fx (docs/theory.md %.2fx)\n", kappas[k],
               sgd.rho, sgd.hp.eta1, up_nest, nest_ref[k], nest.hp.eta1, nest.hp.gamma, up_mass,
               mass_ref[k]);
        CHECK_CLOSE(up_mass, mass_ref[k], 0.01);
        /* Nesterov's gain stays bounded by about 2 while MaSS's grows like sqrt(kappa) */
        CHECK(up_nest >= 0.95 * nest_ref[k] && up_nest <= 2);
        CHECK(up_nest < up_mass / 2);
    }
}

/* The d = 50 example: exact decay against the theoretical speed, over the three regimes. */
static void d50_regimes(void)
{
    int d = 50;
    double *H = calloc((size_t)d * d, sizeof *H);
    for (int i = 0; i < d; i++) H[i * d + i] = pow(10, -2.0 * i / (d - 1));
    lm_moments mo = {.kind = LM_MOMENTS_GAUSSIAN, .d = d, .H = H};
    const int ms[4] = {1, 8, 128, 4096};
    double exact[4];
    for (int k = 0; k < 4; k++) {
        lm_constants c;
        CHECK(lm_moments_constants(&mo, ms[k], &c) == LM_OK);
        double rm = rate(&mo, LM_THEORY_MASS, c.mass_eta1, c.mass_eta2, c.mass_gamma, ms[k]);
        double rs = rate(&mo, LM_THEORY_SGD, c.sgd_lr, 0, 0, ms[k]);
        exact[k] = -log(rm);
        printf("d 50, m %4d: MaSS speed %.5f exact, %.5f theory (ratio %.2f); SGD speed %.5f "
               "exact, %.5f theory\n", ms[k], exact[k], c.mass_speed, exact[k] / c.mass_speed,
               -log(rs), 1 / c.kappa_m);
        CHECK(rm <= c.mass_rate);
        CHECK(exact[k] / c.mass_speed >= 1.5 && exact[k] / c.mass_speed <= 2.5);
    }
    double lin = exact[1] / exact[0], sqr = exact[2] / exact[1], sat = exact[3] / exact[2];
    printf("d 50 regimes: speed x%.2f from m 1 to 8 (linear would be 8), x%.2f from 8 to 128 "
           "(sqrt: 4), x%.2f from 128 to 4096 (saturation)\n", lin, sqr, sat);
    CHECK(lin > 4 && sqr > 2 && sqr < 8 && sat < 1.5);
    free(H);
}

/* Finite data, n = 400 and d = 20 (Gaussian rows, covariance eigenvalues 1 to 0.01 as
 * synth:linreg): with MaSS's eta1 and gamma but eta2 = 0, Nesterov diverges at m = 1 and 8 and
 * converges at m = 64, while MaSS converges at all three. */
static void finite_data_nesterov(void)
{
    enum { N = 400, D = 20 };
    double *X = malloc(sizeof *X * N * D);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < D; j++)
            X[i * D + j] = pow(10, -(double)j / (D - 1)) * lm_rand_normal(1, 2, (uint64_t)(i * D + j));
    lm_moments mo = {.kind = LM_MOMENTS_DATA, .d = D, .X = X, .n = N};
    const int ms[3] = {1, 8, 64};
    for (int k = 0; k < 3; k++) {
        lm_constants c;
        CHECK(lm_linreg_constants(X, N, D, ms[k], &c) == LM_OK);
        double rn = rate(&mo, LM_THEORY_NESTEROV, c.mass_eta1, 0, c.mass_gamma, ms[k]);
        double rm = rate(&mo, LM_THEORY_MASS, c.mass_eta1, c.mass_eta2, c.mass_gamma, ms[k]);
        printf("finite data n %d d %d, m %2d: Nesterov rho %.4f, MaSS rho %.4f\n", N, D, ms[k], rn, rm);
        CHECK(rm < 1);
        CHECK(ms[k] < 64 ? rn > 1 : rn < 1);
    }
    free(X);
}

/* Rank-deficient data: rho is the rate on the range of H. One row x: SGD contracts the range
 * component by exactly (1 - eta |x|^2) per step, so rho = (1 - eta |x|^2)^2, not the 1 of the
 * frozen null space. Three rows in R^5 spanning a plane: the rates equal those of the same data
 * written in 2 coordinates of that plane (rotation invariance), for every method. */
static void rank_deficient(void)
{
    const double x[4] = {0.5, -1.0, 0.25, 2.0};
    lm_moments one = {.kind = LM_MOMENTS_DATA, .d = 4, .X = x, .n = 1};
    double nx = 0.25 + 1 + 0.0625 + 4, eta = 0.3, rho;
    CHECK(lm_theory_rate(&one, LM_THEORY_SGD, (lm_theory_hp){eta, 0, 0}, 1, &rho) == LM_OK);
    CHECK_CLOSE(rho, (1 - eta * nx) * (1 - eta * nx), 1e-12);

    /* the plane spanned by the orthonormal q1 = (1, 1, 0, 0, 1)/sqrt3, q2 = (1, -1, 1, 1, 0)/2 */
    const double q[2][5] = {{1 / sqrt(3), 1 / sqrt(3), 0, 0, 1 / sqrt(3)}, {0.5, -0.5, 0.5, 0.5, 0}};
    const double z[3][2] = {{1.0, 0.2}, {-0.4, 0.9}, {0.3, -0.6}};
    double X[3][5];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 5; j++) X[i][j] = z[i][0] * q[0][j] + z[i][1] * q[1][j];
    lm_moments wide = {.kind = LM_MOMENTS_DATA, .d = 5, .X = &X[0][0], .n = 3};
    lm_moments flat = {.kind = LM_MOMENTS_DATA, .d = 2, .X = &z[0][0], .n = 3};
    const lm_theory_hp hp[3] = {{0.4, 0, 0}, {0.3, 0, 0.6}, {0.3, 0.05, 0.7}};
    for (int k = 0; k < 3; k++) {
        double r5, r2;
        CHECK(lm_theory_rate(&wide, (lm_theory_method)k, hp[k], 1, &r5) == LM_OK);
        CHECK(lm_theory_rate(&flat, (lm_theory_method)k, hp[k], 1, &r2) == LM_OK);
        CHECK_MSG(r2 < 0.999 && fabs(r5 - r2) <= 1e-10, "%s: rho %.12g in R^5, %.12g on the plane",
                  lm_theory_method_name((lm_theory_method)k), r5, r2);
    }
    /* the Gaussian with a singular covariance: the zero direction is dropped too */
    const double H[9] = {1, 0, 0, 0, 0, 0, 0, 0, 0.01};
    lm_moments g = {.kind = LM_MOMENTS_GAUSSIAN, .d = 3, .H = H};
    const double H2[4] = {1, 0, 0, 0.01};
    lm_moments g2 = {.kind = LM_MOMENTS_GAUSSIAN, .d = 2, .H = H2};
    double r3, r2;
    CHECK(lm_theory_rate(&g, LM_THEORY_MASS, hp[2], 1, &r3) == LM_OK);
    CHECK(lm_theory_rate(&g2, LM_THEORY_MASS, hp[2], 1, &r2) == LM_OK);
    CHECK_CLOSE(r3, r2, 1e-12);
}

static void bad_input(void)
{
    double H[31 * 31] = {0}, rho;
    for (int i = 0; i < 31; i++) H[i * 31 + i] = 1;
    H[1] = H[31] = 0.1;
    lm_moments mo = {.kind = LM_MOMENTS_GAUSSIAN, .d = 31, .H = H};
    CHECK(lm_theory_rate(&mo, LM_THEORY_MASS, (lm_theory_hp){0.1, 0, 0.5}, 1, &rho) == LM_EINVAL);
    printf("d 31: %s\n", lm_error_message());
    mo.d = 2;
    double H2[4] = {1, 0, 0, 1};
    mo.H = H2;
    CHECK(lm_theory_rate(&mo, LM_THEORY_NESTEROV, (lm_theory_hp){0.1, 0, 1}, 1, &rho) == LM_EINVAL);
    CHECK(lm_theory_rate(&mo, LM_THEORY_SGD, (lm_theory_hp){-0.1, 0, 0}, 1, &rho) == LM_EINVAL);
    CHECK(lm_theory_rate(&mo, LM_THEORY_SGD, (lm_theory_hp){0.1, 0, 0}, 0, &rho) == LM_EINVAL);
}

int main(void)
{
    operator_matches_paths(LM_THEORY_SGD, (lm_theory_hp){0.3, 0, 0}, 1, 6);
    operator_matches_paths(LM_THEORY_SGD, (lm_theory_hp){0.2, 0, 0}, 2, 4);
    operator_matches_paths(LM_THEORY_NESTEROV, (lm_theory_hp){0.2, 0, 0.7}, 1, 6);
    operator_matches_paths(LM_THEORY_MASS, (lm_theory_hp){0.2, 0.1, 0.8}, 1, 6);
    operator_matches_paths(LM_THEORY_MASS, (lm_theory_hp){0.15, 0.05, 0.6}, 2, 4);
    gaussian_2d();
    nesterov_diverges();
    speedup_table();
    d50_regimes();
    finite_data_nesterov();
    rank_deficient();
    bad_input();
    return check_summary();
}
