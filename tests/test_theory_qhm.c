// ctest-labels: unit theory
/* MaSS is quasi-hyperbolic momentum (docs/theory.md §1): with constant hyper-parameters, the
 * gradient points u of MaSS (lm_mass_step_f64) equal those of QHM, written out here
 * (b <- beta b + (1 - beta) g(u); u <- u - alpha ((1 - nu) g(u) + nu b), b starting at 0), with
 * the setting lm_theory_qhm gives, over 500 steps of a small least-squares problem whose
 * mini-batches follow a fixed sequence. With eta2 = 0 (Nesterov) nu = gamma. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "linmass/optim.h"
#include "linmass/rng.h"
#include "linmass/theory.h"

enum { N = 7, D = 3, STEPS = 500 };

static double X[N * D], Y[N];

/* The gradient at u of step t: 1/2 (<u, x_i> - y_i)^2 over rows i = (3t + 1) mod N and
 * (5t + 2) mod N. */
static void gradient(int t, const double *u, double *g)
{
    int rows[2] = {(3 * t + 1) % N, (5 * t + 2) % N};
    memset(g, 0, sizeof *g * D);
    for (int k = 0; k < 2; k++) {
        const double *x = X + rows[k] * D;
        double r = -Y[rows[k]];
        for (int j = 0; j < D; j++) r += x[j] * u[j];
        for (int j = 0; j < D; j++) g[j] += r * x[j] / 2;
    }
}

static void same_points(lm_theory_hp mass)
{
    lm_qhm_hp q;
    CHECK(lm_theory_qhm(mass, &q) == LM_OK);
    double w[D] = {0.5, -1, 2}, u[D], uq[D], b[D] = {0}, g[D], err = 0, scale = 0;
    memcpy(u, w, sizeof u), memcpy(uq, w, sizeof uq);
    lm_mass_hp hp = {mass.eta1, mass.eta2, mass.gamma, 0};
    for (int t = 0; t < STEPS; t++) {
        gradient(t, u, g);
        lm_mass_step_f64(D, w, u, g, &hp);
        gradient(t, uq, g);
        for (int j = 0; j < D; j++) {
            b[j] = q.beta * b[j] + (1 - q.beta) * g[j];
            uq[j] -= q.alpha * ((1 - q.nu) * g[j] + q.nu * b[j]);
        }
        for (int j = 0; j < D; j++) err = fmax(err, fabs(u[j] - uq[j])), scale = fmax(scale, fabs(u[j]));
    }
    printf("MaSS (%g, %g, %g) = QHM (alpha %.6g, beta %.6g, nu %.6g): largest difference of u over %d steps %.2e "
           "(of %.3g)\n", mass.eta1, mass.eta2, mass.gamma, q.alpha, q.beta, q.nu, STEPS, err, scale);
    CHECK(err <= 1e-12 * scale);
}

int main(void)
{
    const double wstar[D] = {1, -2, 0.5};
    for (int i = 0; i < N; i++) {
        Y[i] = 0;
        for (int j = 0; j < D; j++) {
            X[i * D + j] = lm_rand_normal(8, 3, (uint64_t)(i * D + j));
            Y[i] += X[i * D + j] * wstar[j];
        }
    }
    same_points((lm_theory_hp){0.1, 0.03, 0.9});
    same_points((lm_theory_hp){0.3, 0.2, 0.5});
    same_points((lm_theory_hp){0.2, 0.15, 0.95});
    lm_qhm_hp q;
    CHECK(lm_theory_qhm((lm_theory_hp){0.2, 0, 0.8}, &q) == LM_OK); /* Nesterov */
    CHECK(q.beta == 0.8);
    CHECK_CLOSE(q.nu, 0.8, 1e-15);
    CHECK_CLOSE(q.alpha, 1.0, 1e-15);
    same_points((lm_theory_hp){0.2, 0, 0.8});
    CHECK(lm_theory_qhm((lm_theory_hp){0.2, 0.2, 0.8}, &q) == LM_EINVAL);
    CHECK(lm_theory_qhm((lm_theory_hp){0.2, 0.1, 1}, &q) == LM_EINVAL);
    return check_summary();
}
