// ctest-labels: optim
/* MaSS is right, and provably so (docs/theory.md §1):
 *   - the two parameterizations give the same iterates to 1e-12 in float64 on stochastic
 *     gradients;
 *   - on a 2-D quadratic the iterates match the closed-form solution of the linear recursion
 *     (float64 kernel to 1e-9, the float32 optimizer object to 1e-4), and satisfy the
 *     single-sequence form w' = w + gamma (w - w_prev) - eta1 g_t + eta2 g_{t-1};
 *   - the same check rejects the known broken variants of docs/theory.md §1.2. */
#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "linmass/optim.h"
#include "linmass/rng.h"

/* ---- the two parameterizations agree ---- */

#define N_DATA 40
#define DIM 10

/* Mini-batch gradient of (1/2m) sum (<x_i, u> - y_i)^2 over the batch drawn for step t. */
static void batch_gradient(const double *X, const double *y, const double *u, int m, int t,
                           double *g)
{
    memset(g, 0, DIM * sizeof *g);
    for (int k = 0; k < m; k++) {
        int i = (int)(lm_rand_uniform(7, 1, (uint64_t)t * m + k) * N_DATA);
        double r = -y[i];
        for (int j = 0; j < DIM; j++) r += X[i * DIM + j] * u[j];
        for (int j = 0; j < DIM; j++) g[j] += r * X[i * DIM + j] / m;
    }
}

static double rel_dist(const double *a, const double *b, int n)
{
    double d = 0, s = 0;
    for (int i = 0; i < n; i++) d = fmax(d, fabs(a[i] - b[i])), s = fmax(s, fabs(b[i]));
    return d / s;
}

static void forms_agree(double eta, double alpha, double kappa_tilde, int m)
{
    double X[N_DATA * DIM], y[N_DATA], wstar[DIM];
    for (int i = 0; i < N_DATA * DIM; i++) X[i] = lm_rand_normal(3, 2, (uint64_t)i);
    for (int j = 0; j < DIM; j++) wstar[j] = 1 + lm_rand_normal(3, 3, (uint64_t)j);
    for (int i = 0; i < N_DATA; i++) {
        y[i] = 0;
        for (int j = 0; j < DIM; j++) y[i] += X[i * DIM + j] * wstar[j];
    }
    lm_mass3_hp a = {eta, alpha, kappa_tilde, 1e-3};
    lm_mass_hp h = lm_mass_from_authors(a);
    lm_mass3_hp back = lm_mass_to_authors(h);
    CHECK_CLOSE(back.alpha, alpha, 1e-14);
    CHECK_CLOSE(back.kappa_tilde, kappa_tilde, 1e-12);

    double w2[DIM] = {0}, u2[DIM] = {0}, w3[DIM] = {0}, u3[DIM] = {0}, v3[DIM] = {0}, g[DIM];
    double worst = 0;
    for (int t = 0; t < 500; t++) {
        batch_gradient(X, y, u2, m, t, g);
        lm_mass_step_f64(DIM, w2, u2, g, &h);
        batch_gradient(X, y, u3, m, t, g);
        lm_mass3_step_f64(DIM, w3, u3, v3, g, &a);
        worst = fmax(worst, fmax(rel_dist(w2, w3, DIM), rel_dist(u2, u3, DIM)));
    }
    printf("forms (eta %g, alpha %g, kappa_tilde %g, m %d): max relative difference %.2e, "
           "distance to w* %.2e\n", eta, alpha, kappa_tilde, m, worst, rel_dist(w3, wstar, DIM));
    CHECK_MSG(worst <= 1e-12, "MaSS forms differ by %.3g", worst);
}

/* ---- closed form on a 2-D quadratic ---- */

#define STEPS 200

typedef struct {
    double lambda[2], Q[2][2]; /* A = Q diag(lambda) Q^T, Q a rotation */
    double wstar[2], w0[2];
    double eta1, eta2, gamma;
} quadratic;

static void grad2(const quadratic *q, const double *u, double *g)
{
    double e[2] = {u[0] - q->wstar[0], u[1] - q->wstar[1]};
    for (int i = 0; i < 2; i++) {
        g[i] = 0;
        for (int k = 0; k < 2; k++)
            g[i] += q->Q[i][k] * q->lambda[k] * (q->Q[0][k] * e[0] + q->Q[1][k] * e[1]);
    }
}

/* w_t - w* from the closed form: along eigenvector k the pair (w - w*, u - w*) is multiplied by
 * M = [[0, 1 - eta1 l], [-gamma, (1 + gamma)(1 - eta1 l) + eta2 l]] per step, and by
 * Cayley-Hamilton M^t = (r1^t (M - r2 I) - r2^t (M - r1 I)) / (r1 - r2). */
static void closed_form(const quadratic *q, int t, double *w)
{
    double out[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        double l = q->lambda[k], s = 1 - q->eta1 * l;
        double M[2][2] = {{0, s}, {-q->gamma, (1 + q->gamma) * s + q->eta2 * l}};
        double tr = M[0][0] + M[1][1], det = M[0][0] * M[1][1] - M[0][1] * M[1][0];
        double complex disc = csqrt(tr * tr - 4 * det + 0 * I);
        double complex r1 = (tr + disc) / 2, r2 = (tr - disc) / 2;
        double complex p1 = cpow(r1, t), p2 = cpow(r2, t);
        double e0 = q->Q[0][k] * (q->w0[0] - q->wstar[0]) + q->Q[1][k] * (q->w0[1] - q->wstar[1]);
        /* first row of M^t applied to (e0, e0) */
        double complex row0 = (p1 * (M[0][0] - r2) - p2 * (M[0][0] - r1)) / (r1 - r2);
        double complex row1 = (p1 - p2) * M[0][1] / (r1 - r2);
        double ek = creal((row0 + row1) * e0);
        for (int i = 0; i < 2; i++) out[i] += q->Q[i][k] * ek;
    }
    for (int i = 0; i < 2; i++) w[i] = out[i] + q->wstar[i];
}

/* Largest |w_t - closed form| over max |w_t - w*| of the closed form, t = 1..STEPS. */
static double deviation(const quadratic *q, double traj[STEPS + 1][2])
{
    double worst = 0, scale = 0, c[2];
    for (int t = 1; t <= STEPS; t++) {
        closed_form(q, t, c);
        scale = fmax(scale, fmax(fabs(c[0] - q->wstar[0]), fabs(c[1] - q->wstar[1])));
    }
    for (int t = 1; t <= STEPS; t++) {
        closed_form(q, t, c);
        worst = fmax(worst, fmax(fabs(traj[t][0] - c[0]), fabs(traj[t][1] - c[1])) / scale);
    }
    return worst;
}

typedef enum { CORRECT, SGD_ETA1_PLUS_ETA2, SGD_SCALED, WRONG_SIGN } variant;
static const char *variant_names[] = {"MaSS", "SGD with eta1+eta2 (ensmallen fork)",
                                      "SGD with (1+gamma)eta1+eta2 (course reproduction)",
                                      "MaSS with -eta2"};

/* Runs one variant in float64; records w_t and g_t = g(u_t). */
static void run_variant(const quadratic *q, variant v, double traj[STEPS + 1][2],
                        double grads[STEPS][2])
{
    double w[2] = {q->w0[0], q->w0[1]}, u[2] = {q->w0[0], q->w0[1]}, g[2];
    lm_mass_hp hp = {q->eta1, v == WRONG_SIGN ? -q->eta2 : q->eta2, q->gamma, 0};
    double sgd_step = v == SGD_ETA1_PLUS_ETA2 ? q->eta1 + q->eta2
                                              : (1 + q->gamma) * q->eta1 + q->eta2;
    memcpy(traj[0], w, sizeof w);
    for (int t = 0; t < STEPS; t++) {
        grad2(q, u, g);
        memcpy(grads[t], g, sizeof g);
        if (v == CORRECT || v == WRONG_SIGN) {
            lm_mass_step_f64(2, w, u, g, &hp);
        } else {
            for (int i = 0; i < 2; i++) u[i] -= sgd_step * g[i];
            memcpy(w, u, sizeof w);
        }
        memcpy(traj[t + 1], w, sizeof w);
    }
}

/* w_{t+1} - w_t - gamma (w_t - w_{t-1}) + eta1 g_t - eta2 g_{t-1} = 0, t >= 1. */
static double single_sequence_residual(const quadratic *q, double traj[STEPS + 1][2],
                                       double grads[STEPS][2])
{
    double worst = 0;
    for (int t = 1; t < STEPS; t++)
        for (int i = 0; i < 2; i++) {
            double r = traj[t + 1][i] - traj[t][i] - q->gamma * (traj[t][i] - traj[t - 1][i]) +
                       q->eta1 * grads[t][i] - q->eta2 * grads[t - 1][i];
            worst = fmax(worst, fabs(r));
        }
    return worst;
}

static void closed_form_checks(void)
{
    const double c = cos(0.6), s = sin(0.6);
    quadratic q = {{1, 0.01}, {{c, -s}, {s, c}}, {0.7, -1.3}, {2.0, 1.5}, 0, 0, 0};
    /* the MaSS parameters of docs/theory.md §2.2 for L = 1, kappa = 100, kappa_tilde = 4 */
    double kappa = 100, kt = 4, a = 1 / sqrt(kappa * kt);
    q.eta1 = 1, q.gamma = (1 - a) / (1 + a), q.eta2 = q.eta1 * (1 - 1 / kt) / (1 + a);

    double traj[STEPS + 1][2], grads[STEPS][2];
    for (int v = CORRECT; v <= WRONG_SIGN; v++) {
        run_variant(&q, (variant)v, traj, grads);
        double dev = deviation(&q, traj);
        printf("closed form vs %-50s deviation %.2e\n", variant_names[v], dev);
        if (v == CORRECT) {
            CHECK_MSG(dev <= 1e-9, "MaSS deviates from the closed form by %.3g", dev);
            double res = single_sequence_residual(&q, traj, grads);
            printf("single-sequence residual %.2e\n", res);
            CHECK_MSG(res <= 1e-12, "single-sequence form violated by %.3g", res);
        } else {
            CHECK_MSG(dev >= 1e-2, "the check does not reject %s (deviation %.3g)",
                      variant_names[v], dev);
        }
    }

    /* the float32 optimizer object, in both forms, against the same closed form */
    for (int form = 0; form < 2; form++) {
        lm_optim_config cfg;
        char v1[32], v2[32], v3[32];
        lm_optim_config_init(&cfg, LM_OPTIM_MASS);
        if (form == 0) {
            snprintf(v1, 32, "%.17g", q.eta1), snprintf(v2, 32, "%.17g", q.eta2);
            snprintf(v3, 32, "%.17g", q.gamma);
            CHECK(!lm_optim_config_set(&cfg, "eta1", v1) && !lm_optim_config_set(&cfg, "eta2", v2) &&
                  !lm_optim_config_set(&cfg, "gamma", v3));
        } else {
            snprintf(v1, 32, "%.17g", q.eta1), snprintf(v2, 32, "%.17g", a);
            snprintf(v3, 32, "%.17g", kt);
            CHECK(!lm_optim_config_set(&cfg, "lr", v1) && !lm_optim_config_set(&cfg, "alpha", v2) &&
                  !lm_optim_config_set(&cfg, "kappa-tilde", v3));
        }
        float w[2] = {(float)q.w0[0], (float)q.w0[1]}, g[2];
        lm_optim *o;
        CHECK(lm_optim_create(&cfg, w, 2, &o) == LM_OK);
        CHECK(lm_optim_weights(o) == w && lm_optim_eval_point(o) != w);
        traj[0][0] = w[0], traj[0][1] = w[1];
        for (int t = 0; t < STEPS; t++) {
            const float *u = lm_optim_eval_point(o);
            double ud[2] = {u[0], u[1]}, gd[2];
            grad2(&q, ud, gd);
            g[0] = (float)gd[0], g[1] = (float)gd[1];
            lm_optim_step(o, g, 1.0);
            traj[t + 1][0] = w[0], traj[t + 1][1] = w[1];
        }
        double dev = deviation(&q, traj);
        printf("closed form vs lm_optim float32 (%s form): deviation %.2e\n",
               form ? "authors'" : "eta", dev);
        CHECK_MSG(dev <= 1e-4, "float32 MaSS deviates from the closed form by %.3g", dev);
        lm_optim_free(o);
    }
}

int main(void)
{
    forms_agree(0.05, 0.05, 3, 4);
    forms_agree(0.02, 0.2, 1.5, 1);
    forms_agree(0.1, 0.01, 1, 16); /* kappa_tilde = 1: Nesterov */
    closed_form_checks();
    return check_summary();
}
