// ctest-labels: theory
/* The constants of docs/theory.md §2.1-2.2 in float64: the worked values (population and a large
 * sample of the 2-D Gaussian with H = diag(1, 0.01), the d = 50 example), the Gaussian closed
 * forms, and agreement of the exact L1 and kappa-tilde with their definitions computed by brute
 * force (the smallest c with c H - M positive semidefinite, by bisection on a Jacobi
 * eigen-solver written here, with H^+ from an explicit inverse). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/optim.h"
#include "linmass/rng.h"
#include "linmass/theory.h"

#define MAXD 8

/* ---- brute force helpers, independent of the library's LAPACK path ---- */

/* Smallest eigenvalue of a symmetric d x d matrix by cyclic Jacobi rotations. */
static double jacobi_min_eig(int d, const double *A0)
{
    double A[MAXD * MAXD];
    memcpy(A, A0, sizeof *A * d * d);
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0;
        for (int p = 0; p < d; p++)
            for (int q = p + 1; q < d; q++) off += A[p * d + q] * A[p * d + q];
        if (off < 1e-30) break;
        for (int p = 0; p < d; p++)
            for (int q = p + 1; q < d; q++) {
                if (fabs(A[p * d + q]) < 1e-300) continue;
                double theta = (A[q * d + q] - A[p * d + p]) / (2 * A[p * d + q]);
                double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                for (int k = 0; k < d; k++) { /* rotate columns p, q then rows p, q */
                    double akp = A[k * d + p], akq = A[k * d + q];
                    A[k * d + p] = c * akp - s * akq, A[k * d + q] = s * akp + c * akq;
                }
                for (int k = 0; k < d; k++) {
                    double apk = A[p * d + k], aqk = A[q * d + k];
                    A[p * d + k] = c * apk - s * aqk, A[q * d + k] = s * apk + c * aqk;
                }
            }
    }
    double mn = INFINITY;
    for (int i = 0; i < d; i++) mn = fmin(mn, A[i * d + i]);
    return mn;
}

/* Inverse of a k x k matrix by Gauss-Jordan with partial pivoting. */
static void invert(int k, const double *A0, double *inv)
{
    double A[64 * 64];
    memcpy(A, A0, sizeof *A * k * k);
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) inv[i * k + j] = i == j;
    for (int c = 0; c < k; c++) {
        int piv = c;
        for (int r = c + 1; r < k; r++)
            if (fabs(A[r * k + c]) > fabs(A[piv * k + c])) piv = r;
        for (int j = 0; j < k; j++) {
            double t = A[c * k + j]; A[c * k + j] = A[piv * k + j]; A[piv * k + j] = t;
            t = inv[c * k + j]; inv[c * k + j] = inv[piv * k + j]; inv[piv * k + j] = t;
        }
        double p = A[c * k + c];
        for (int j = 0; j < k; j++) A[c * k + j] /= p, inv[c * k + j] /= p;
        for (int r = 0; r < k; r++) {
            if (r == c) continue;
            double f = A[r * k + c];
            for (int j = 0; j < k; j++) A[r * k + j] -= f * A[c * k + j], inv[r * k + j] -= f * inv[c * k + j];
        }
    }
}

/* H^+ of H = X^T X / n. Full rank (F = NULL): the inverse. Data X = Z F with F (r x d) of full
 * row rank: H = F^T C F with C = Z^T Z / n, and H^+ = F^+ C^{-1} F^+T with F^+ = F^T (F F^T)^-1. */
static void pseudo_inverse(const double *Z, const double *F, int n, int r, int d, const double *H,
                           double *Hp)
{
    if (!F) {
        invert(d, H, Hp);
        return;
    }
    double C[MAXD * MAXD] = {0}, Ci[MAXD * MAXD], FF[MAXD * MAXD] = {0}, FFi[MAXD * MAXD];
    double Fp[MAXD * MAXD] = {0}, T[MAXD * MAXD] = {0};
    for (int i = 0; i < n; i++)
        for (int a = 0; a < r; a++)
            for (int b = 0; b < r; b++) C[a * r + b] += Z[i * r + a] * Z[i * r + b] / n;
    for (int a = 0; a < r; a++)
        for (int b = 0; b < r; b++)
            for (int k = 0; k < d; k++) FF[a * r + b] += F[a * d + k] * F[b * d + k];
    invert(r, C, Ci);
    invert(r, FF, FFi);
    for (int k = 0; k < d; k++) /* F^+ = F^T (F F^T)^-1, d x r */
        for (int b = 0; b < r; b++)
            for (int a = 0; a < r; a++) Fp[k * r + b] += F[a * d + k] * FFi[a * r + b];
    for (int k = 0; k < d; k++) /* T = F^+ C^-1 */
        for (int b = 0; b < r; b++)
            for (int a = 0; a < r; a++) T[k * r + b] += Fp[k * r + a] * Ci[a * r + b];
    for (int k = 0; k < d; k++)
        for (int l = 0; l < d; l++) {
            Hp[k * d + l] = 0;
            for (int a = 0; a < r; a++) Hp[k * d + l] += T[k * r + a] * Fp[l * r + a];
        }
}

/* M = (1/n) sum_i (x_i^T A x_i) x_i x_i^T */
static void fourth_moment(const double *X, int n, int d, const double *A, double *M)
{
    memset(M, 0, sizeof *M * d * d);
    for (int i = 0; i < n; i++) {
        const double *x = X + i * d;
        double q = 0;
        for (int a = 0; a < d; a++)
            for (int b = 0; b < d; b++) q += x[a] * A[a * d + b] * x[b];
        for (int a = 0; a < d; a++)
            for (int b = 0; b < d; b++) M[a * d + b] += q * x[a] * x[b] / n;
    }
}

/* lambda_min(c H - M), relative to the size of M. */
static double loewner_gap(int d, double c, const double *H, const double *M)
{
    double T[MAXD * MAXD], scale = 0;
    for (int i = 0; i < d * d; i++) T[i] = c * H[i] - M[i], scale = fmax(scale, fabs(M[i]));
    return jacobi_min_eig(d, T) / scale;
}

/* The smallest c with c H - M >= 0 (up to 1e-13 relative rounding), by bisection. */
static double loewner_bisect(int d, const double *H, const double *M)
{
    double lo = 0, hi = 1;
    while (loewner_gap(d, hi, H, M) < -1e-13) hi *= 2;
    for (int it = 0; it < 200 && hi - lo > 1e-13 * hi; it++) {
        double mid = 0.5 * (lo + hi);
        if (loewner_gap(d, mid, H, M) < -1e-13) lo = mid;
        else hi = mid;
    }
    return hi;
}

static void brute_force(const char *what, const double *X, int n, int d, const double *Z,
                        const double *F, int r)
{
    double H[MAXD * MAXD] = {0}, Hp[MAXD * MAXD], I[MAXD * MAXD] = {0}, M1[MAXD * MAXD],
           Mk[MAXD * MAXD];
    for (int i = 0; i < n; i++)
        for (int a = 0; a < d; a++)
            for (int b = 0; b < d; b++) H[a * d + b] += X[i * d + a] * X[i * d + b] / n;
    for (int a = 0; a < d; a++) I[a * d + a] = 1;
    pseudo_inverse(Z, F, n, r, d, H, Hp);
    fourth_moment(X, n, d, I, M1);
    fourth_moment(X, n, d, Hp, Mk);

    lm_constants c, cm;
    CHECK(lm_linreg_constants(X, n, d, 1, &c) == LM_OK);
    lm_moments mo = {.kind = LM_MOMENTS_DATA, .d = d, .X = X, .n = n};
    CHECK(lm_moments_constants(&mo, 1, &cm) == LM_OK);
    double L1_bf = loewner_bisect(d, H, M1), kt_bf = loewner_bisect(d, H, Mk);
    printf("%s (n %d, d %d, rank %d): L1 %.12g (brute force %.12g, bound %.6g), kappa_tilde "
           "%.12g (brute force %.12g, bound %.6g)\n", what, n, d, c.rank, c.L1, L1_bf,
           c.L1_bound, c.kappa_tilde, kt_bf, c.kappa_tilde_bound);
    CHECK_CLOSE(c.L1, L1_bf, 1e-9);
    CHECK_CLOSE(c.kappa_tilde, kt_bf, 1e-9);
    /* tight: a hair below fails the Loewner order, a hair above satisfies it */
    CHECK(loewner_gap(d, c.L1 * (1 - 1e-6), H, M1) < -1e-10);
    CHECK(loewner_gap(d, c.L1 * (1 + 1e-6), H, M1) > -1e-13);
    CHECK(loewner_gap(d, c.kappa_tilde * (1 - 1e-6), H, Mk) < -1e-10);
    CHECK(loewner_gap(d, c.kappa_tilde * (1 + 1e-6), H, Mk) > -1e-13);
    /* the moment path agrees with the whitened-data path, and the bounds hold */
    CHECK_CLOSE(cm.L1, c.L1, 1e-10);
    CHECK_CLOSE(cm.kappa_tilde, c.kappa_tilde, 1e-10);
    CHECK_CLOSE(cm.L1_bound, c.L1_bound, 1e-12);
    CHECK_CLOSE(cm.kappa_tilde_bound, c.kappa_tilde_bound, 1e-10);
    CHECK(c.L1 <= c.L1_bound * (1 + 1e-12) && c.kappa_tilde <= c.kappa_tilde_bound * (1 + 1e-12));
    CHECK(c.kappa_tilde >= c.rank * (1 - 1e-12));
}

static void finite_data(void)
{
    enum { N = 40, D = 4, N2 = 12, D2 = 5, R2 = 3 };
    double X[N * D], Z[N2 * R2], F[R2 * D2], Y[N2 * D2];
    for (int i = 0; i < N; i++) /* non-Gaussian, unequal scales, correlated */
        for (int j = 0; j < D; j++) {
            double z = lm_rand_normal(11, 1, (uint64_t)(i * D + j));
            X[i * D + j] = (j + 1) * z * z * z + 0.5 * (j ? X[i * D] : 0);
        }
    brute_force("full-rank data", X, N, D, NULL, NULL, D);
    /* rank 3 in 5 dimensions: Y = Z F with heavy-tailed Z */
    for (int i = 0; i < N2 * R2; i++) {
        double u = lm_rand_uniform(11, 2, (uint64_t)i) - 0.5;
        Z[i] = u * u * u * 8;
    }
    for (int i = 0; i < R2 * D2; i++) F[i] = lm_rand_normal(11, 3, (uint64_t)i);
    for (int i = 0; i < N2; i++)
        for (int k = 0; k < D2; k++) {
            Y[i * D2 + k] = 0;
            for (int a = 0; a < R2; a++) Y[i * D2 + k] += Z[i * R2 + a] * F[a * D2 + k];
        }
    brute_force("rank-deficient data", Y, N2, D2, Z, F, R2);
}

/* ---- the worked examples ---- */

static void gaussian_2d(void)
{
    double H[4] = {1, 0, 0, 0.01};
    lm_constants c;
    CHECK(lm_gaussian_constants(H, 2, 1, &c) == LM_OK);
    printf("population diag(1, 0.01): kappa %.15g, L1 %.15g, kappa_1 %.15g, kappa_tilde %.15g\n",
           c.kappa, c.L1, c.kappa_1, c.kappa_tilde);
    CHECK_CLOSE(c.kappa, 100, 1e-12);
    CHECK_CLOSE(c.L1, 3.01, 1e-12);
    CHECK_CLOSE(c.kappa_1, 301, 1e-12);
    CHECK_CLOSE(c.kappa_tilde, 4, 1e-12);
    CHECK_CLOSE(c.m1_star, 3.01, 1e-12);
    CHECK_CLOSE(c.m2_star, 4, 1e-12);
    CHECK(isinf(c.L1_bound));

    /* a sample of 10^6 points, within sampling error: the relative standard deviations over
     * 20 samples of 10^5 points were 0.61%, 0.71% and 0.39% for kappa, L1 and kappa_tilde
     * (numpy), so about 0.2% at 10^6, and 1% is over 4 standard deviations */
    int n = 1000000;
    double *X = malloc(sizeof *X * 2 * n);
    for (int i = 0; i < n; i++) {
        X[2 * i] = lm_rand_normal(5, LM_STREAM_DATA, 2 * (uint64_t)i);
        X[2 * i + 1] = 0.1 * lm_rand_normal(5, LM_STREAM_DATA, 2 * (uint64_t)i + 1);
    }
    lm_constants s;
    CHECK(lm_linreg_constants(X, n, 2, 1, &s) == LM_OK);
    printf("sample of %d: kappa %.5g, L1 %.5g, kappa_1 %.5g, kappa_tilde %.5g\n", n, s.kappa, s.L1,
           s.kappa_1, s.kappa_tilde);
    CHECK_CLOSE(s.kappa, 100, 0.01);
    CHECK_CLOSE(s.L1, 3.01, 0.01);
    CHECK_CLOSE(s.kappa_1, 301, 0.02);
    CHECK_CLOSE(s.kappa_tilde, 4, 0.01);
    free(X);
}

/* L1 = 2 lambda_max + tr H and kappa_tilde = rank + 2 for any covariance. */
static void gaussian_closed_forms(void)
{
    int d = 6;
    double B[36], H[36];
    for (int rank = 6; rank >= 3; rank -= 3) {
        for (int i = 0; i < d * rank; i++) B[i] = lm_rand_normal(9, (uint64_t)rank, (uint64_t)i);
        for (int a = 0; a < d; a++)
            for (int b = 0; b < d; b++) {
                H[a * d + b] = 0;
                for (int k = 0; k < rank; k++) H[a * d + b] += B[a * rank + k] * B[b * rank + k];
            }
        lm_constants c;
        CHECK(lm_gaussian_constants(H, d, 1, &c) == LM_OK);
        double tr = 0;
        for (int i = 0; i < d; i++) tr += H[i * d + i];
        printf("Gaussian, d %d, rank %d: L1 %.12g vs 2 L + tr H = %.12g, kappa_tilde %.12g\n", d,
               c.rank, c.L1, 2 * c.L + tr, c.kappa_tilde);
        CHECK(c.rank == rank);
        CHECK_CLOSE(c.L1, 2 * c.L + tr, 1e-10);
        CHECK_CLOSE(c.kappa_tilde, rank + 2, 1e-10);
    }
}

static void d50_example(void)
{
    int d = 50;
    double *H = calloc((size_t)d * d, sizeof *H);
    for (int i = 0; i < d; i++) H[i * d + i] = pow(10, -2.0 * i / (d - 1));
    lm_constants c;
    CHECK(lm_gaussian_constants(H, d, 1, &c) == LM_OK);
    printf("d = 50: L %.6g, mu %.6g, L1/L %.6g, kappa_tilde %.12g, m1* %.4g, m2* %.4g\n", c.L,
           c.mu, c.L1 / c.L, c.kappa_tilde, c.m1_star, c.m2_star);
    CHECK_CLOSE(c.L, 1, 1e-12);
    CHECK_CLOSE(c.mu, 0.01, 1e-12);
    CHECK(fabs(c.L1 / c.L - 13.05) < 0.005);
    CHECK_CLOSE(c.kappa_tilde, 52, 1e-12);
    const int ms[4] = {1, 8, 128, 4096};
    const double speed[4] = {0.00384, 0.02326, 0.08084, 0.09924};
    for (int k = 0; k < 4; k++) {
        lm_constants_set_batch(&c, ms[k]);
        printf("  m %4d: kappa_m %.6g, kappa_tilde_m %.6g, speed %.6g (docs/theory.md %.5g); "
               "MaSS eta1 %.5g eta2 %.5g gamma %.6g\n", ms[k], c.kappa_m, c.kappa_tilde_m,
               c.mass_speed, speed[k], c.mass_eta1, c.mass_eta2, c.mass_gamma);
        CHECK_MSG(fabs(c.mass_speed - speed[k]) <= 0.5001 * (speed[k] < 0.01 ? 1e-5 : 1e-5),
                  "m %d: speed %.7g vs %.5g", ms[k], c.mass_speed, speed[k]);
        CHECK(c.kappa_tilde_m <= c.kappa_m);
        /* both MaSS forms describe the same method */
        lm_mass_hp h = lm_mass_from_authors((lm_mass3_hp){c.mass_eta, c.mass_alpha, c.mass_kappa_tilde, 0});
        CHECK_CLOSE(h.eta2, c.mass_eta2, 1e-14);
        CHECK_CLOSE(h.gamma, c.mass_gamma, 1e-14);
        CHECK_CLOSE(c.mass_eta2, c.mass_eta1 * (1 - 1 / c.kappa_tilde_m) / (1 + c.mass_speed), 1e-14);
        CHECK_CLOSE(c.mass_delta, c.mass_eta / (c.mass_alpha * c.kappa_tilde_m), 1e-14);
        CHECK_CLOSE(c.sgd_lr, 1 / c.L_m, 1e-15);
    }
    free(H);
}

static void bad_input(void)
{
    double X[4] = {1, 2, NAN, 4}, Z[4] = {0};
    lm_constants c;
    CHECK(lm_linreg_constants(X, 2, 2, 1, &c) == LM_EINVAL);
    printf("NaN: %s\n", lm_error_message());
    CHECK(lm_linreg_constants(Z, 2, 2, 1, &c) == LM_EINVAL);
    printf("zero data: %s\n", lm_error_message());
    X[2] = 3;
    CHECK(lm_linreg_constants(X, 2, 2, 0, &c) == LM_EINVAL);
    CHECK(lm_linreg_constants(X, 0, 2, 1, &c) == LM_EINVAL);
}

int main(void)
{
    gaussian_2d();
    gaussian_closed_forms();
    d50_example();
    finite_data();
    bad_input();
    return check_summary();
}
