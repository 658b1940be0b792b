// ctest-labels: unit
/* The probes' summaries against closed forms (docs/theory.md §4.3, §5):
 *   - a linear model f = w.x/sqrt(d) + b on inputs x_i = sqrt(d a) e_i, whose tangent kernel is
 *     exactly K = a I + 1 1^T: eigenvalues a (n - 1 times) and a + n, so the spectrum summary
 *     (lambda_min, lambda_max, cond, trace, mean diagonal, Frobenius norm, 2/lambda_max,
 *     1/lambda_max) is known; the default step is 1/(a + n); GD residuals follow
 *     r_t = (I - lr K)^t r_0, so every loss, the PL* constant mu = a, the bound L_0 (1 - lr mu)^t,
 *     the step-by-step bound, the worst ratio minus bound (-2/9 at lr = 1/(a + n)), the count of
 *     ratios above a slackened bound and L(w_{T+1}) are closed forms; the smoothness beta of L is
 *     lambda_max(J^T J) = a + n;
 *   - a tanh net: the spectrum summary of lm_probe_ntk_spectrum against lm_sym_eig of the kernel
 *     formed by lm_probe_ntk, and the default step of the linearity probe against 1/lambda_max
 *     of that kernel (bit for bit), with no catapult;
 *   - the tanh output term of a linear f~: |tanh''(f~)| (||x||^2/d + 1) by hand;
 *   - the regression data: lm_rand_normal inputs and targets in (-0.8, 0.8). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/probe.h"
#include "linmass/rng.h"

enum { D = 8, N = 4, T = 12 };
static const double A = 2; /* x_i = sqrt(D A) e_i: X X^T / D = A I */

static lm_model *linear_model(double *x)
{
    lm_model *m;
    CHECK(lm_model_create("dense:1", (lm_shape){D, 1, 1}, LM_PARAM_NTK, 3, &m) == LM_OK);
    memset(x, 0, N * D * sizeof *x);
    for (int i = 0; i < N; i++) x[i * D + i] = sqrt(D * A);
    return m;
}

/* F(w0) of the linear model: w.x/sqrt(d) + b, from the float32 parameters (weights, then bias). */
static void linear_outputs(lm_model *m, const double *x, double *F)
{
    const float *w = lm_model_params(m);
    for (int i = 0; i < N; i++) {
        double s = 0;
        for (int k = 0; k < D; k++) s += (double)w[k] * x[i * D + k];
        F[i] = s / sqrt(D) + w[D];
    }
}

static void check_linear_spectrum(lm_model *m, const double *x)
{
    lm_spectrum sp;
    double K[N * N], ev[N];
    CHECK(lm_probe_ntk_spectrum(m, x, N, NULL, K, ev, &sp, NULL) == LM_OK);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) CHECK(fabs(K[i * N + j] - ((i == j) * A + 1)) < 1e-13);
    CHECK_CLOSE(sp.lambda_min, A, 1e-13);
    CHECK_CLOSE(sp.lambda_max, A + N, 1e-13);
    CHECK_CLOSE(ev[1], A, 1e-13);
    CHECK_CLOSE(sp.cond, (A + N) / A, 1e-13);
    CHECK_CLOSE(sp.trace, N * (A + 1), 1e-13);
    CHECK_CLOSE(sp.mean_diag, A + 1, 1e-13);
    CHECK_CLOSE(sp.frobenius, sqrt(N * (A + 1) * (A + 1) + N * (N - 1)), 1e-13);
    CHECK_CLOSE(sp.lr_catapult, 2 / (A + N), 1e-13);
    CHECK_CLOSE(sp.lr_default, 1 / (A + N), 1e-13);
    printf("K = %g I + 1 1^T: lambda %.15g .. %.15g, 2/lambda_max %.15g, 1/lambda_max %.15g\n", A, sp.lambda_min, sp.lambda_max,
           sp.lr_catapult, sp.lr_default);
}

/* L_t = 1/2 ||r_t||^2 with r_t = (1 - lr (a + n))^t m 1 + (1 - lr a)^t (r_0 - m 1), m = mean(r_0). */
static double closed_loss(const double *r0, double lr, int t)
{
    double m = 0, perp = 0;
    for (int i = 0; i < N; i++) m += r0[i] / N;
    for (int i = 0; i < N; i++) perp += (r0[i] - m) * (r0[i] - m);
    double c1 = pow(1 - lr * (A + N), t), c2 = pow(1 - lr * A, t);
    return 0.5 * (c1 * c1 * N * m * m + c2 * c2 * perp);
}

static void check_linear_descent(lm_model *m, const double *x)
{
    double y[N], F[N], r0[N];
    for (int i = 0; i < N; i++) y[i] = 0.3 * i - 0.5;
    linear_outputs(m, x, F);
    for (int i = 0; i < N; i++) r0[i] = F[i] - y[i];
    lm_linearity_opts o = {0};
    o.y = y;
    o.steps = T;
    o.record_every = 1; /* lr 0: the default 1/lambda_max(K_0) */
    lm_linearity_result r;
    CHECK_MSG(lm_probe_linearity(m, x, N, &o, &r) == LM_OK, "%s", lm_error_message());
    double lr = 1 / (A + N), q = 1 - lr * A;
    CHECK(r.lr_auto && !r.catapult);
    CHECK_CLOSE(r.lr, lr, 1e-13);
    CHECK(r.n_records == T + 1);
    int above = 0;
    const double slack = -0.7; /* the bound 1 - 1.7 lr a = 0.433 lies below the ratio 4/9 of t >= 1 */
    for (int t = 0; t <= T && t < r.n_records; t++) {
        const lm_linearity_record *e = &r.records[t];
        double L = closed_loss(r0, lr, t), ratio = closed_loss(r0, lr, t + 1) / L;
        CHECK_CLOSE(e->loss, L, 1e-10);
        CHECK_CLOSE(e->loss_ratio, ratio, 1e-10);
        CHECK_CLOSE(e->bound, q, 1e-13);
        CHECK_CLOSE(e->rate_bound, closed_loss(r0, lr, 0) * pow(q, t), 1e-12);
        CHECK_CLOSE(e->path_bound, closed_loss(r0, lr, 0) * pow(q, t), 1e-12);
        CHECK(e->pl_ratio >= A * (1 - 1e-9) && e->pl_ratio <= (A + N) * (1 + 1e-9));
        CHECK_CLOSE(e->pl_over_lambda_min, e->pl_ratio / A, 1e-12);
        above += ratio > 1 - (1 - slack) * lr * A;
    }
    const lm_plstar_summary *p = &r.plstar;
    CHECK_CLOSE(p->mu, A, 1e-13);
    CHECK_CLOSE(p->rate_bound, closed_loss(r0, lr, 0) * pow(q, T + 1), 1e-12);
    CHECK_CLOSE(p->loss_next, closed_loss(r0, lr, T + 1), 1e-9);
    CHECK(p->loss_next <= p->rate_bound);
    CHECK_CLOSE(p->worst_excess, 4.0 / 9 - 2.0 / 3, 1e-9); /* t >= 1: (1 - a/(a+n))^2 - (1 - a/(a+n)) */
    CHECK(p->below_bound && p->pl_ge_lambda_min);
    CHECK(lm_linearity_steps_above(&r, 0) == 0);
    CHECK(above >= T && lm_linearity_steps_above(&r, slack) == above);
    printf("GD at lr 1/(a+n): L_0 %.6g, L_%d %.6g against the PL* bound %.6g; worst ratio - bound %.6f (closed form -2/9); "
           "%d of %d ratios above the slack bound\n", r.loss0, T + 1, p->loss_next, p->rate_bound, p->worst_excess, above, T + 1);
    /* a given step is used as given */
    o.lr = 0.5 * lr;
    o.record_every = 0;
    lm_linearity_free(&r);
    CHECK(lm_probe_linearity(m, x, N, &o, &r) == LM_OK);
    CHECK(!r.lr_auto && r.lr == 0.5 * lr);
    CHECK_CLOSE(r.plstar.loss_next, closed_loss(r0, 0.5 * lr, T + 1), 1e-9);
    lm_linearity_free(&r);
    /* beta = ||Hessian of L|| = lambda_max(J^T J) = lambda_max(K) */
    double beta;
    CHECK(lm_probe_gd_smoothness(m, x, N, y, NULL, NULL, &beta) == LM_OK);
    CHECK_CLOSE(beta, A + N, 1e-9);
}

/* A tanh net: the summary against lm_sym_eig of the formed kernel; the default step. */
static void check_tanh_net(void)
{
    enum { NT = 9, DT = 5 };
    lm_model *m;
    CHECK(lm_model_create("dense:48,tanh,dense:24,tanh,dense:1", (lm_shape){DT, 1, 1}, LM_PARAM_NTK, 8, &m) == LM_OK);
    double x[NT * DT], y[NT], K[NT * NT], ev[NT], ev2[NT];
    lm_rand_normal_fill_f64(x, NT * DT, 1.0, 5, 3);
    for (int i = 0; i < NT; i++) y[i] = cos(i);
    CHECK(lm_probe_ntk(m, x, NT, NULL, K, NULL) == LM_OK);
    CHECK(lm_sym_eig(NT, K, ev, NULL) == LM_OK);
    double trace = 0;
    for (int i = 0; i < NT; i++) trace += K[i * NT + i];
    lm_spectrum sp;
    CHECK(lm_probe_ntk_spectrum(m, x, NT, NULL, NULL, ev2, &sp, NULL) == LM_OK);
    CHECK(!memcmp(ev, ev2, sizeof ev));
    CHECK(sp.lambda_min == ev[0] && sp.lambda_max == ev[NT - 1]);
    CHECK(sp.lr_catapult == 2 / ev[NT - 1] && sp.lr_default == 1 / ev[NT - 1]);
    CHECK_CLOSE(sp.trace, trace, 1e-14);
    CHECK_CLOSE(sp.mean_diag, trace / NT, 1e-14);
    CHECK_CLOSE(sp.cond, ev[NT - 1] / ev[0], 1e-14);
    lm_linearity_opts o = {0};
    o.y = y;
    o.steps = 5;
    lm_linearity_result r;
    CHECK(lm_probe_linearity(m, x, NT, &o, &r) == LM_OK);
    CHECK_MSG(r.lr == 1 / ev[NT - 1] && r.lr_auto && !r.catapult, "default step %.17g, 1/lambda_max(K_0) %.17g", r.lr,
              1 / ev[NT - 1]);
    CHECK(r.lambda_max0 == ev[NT - 1] && r.lr_catapult == 2 / ev[NT - 1]);
    printf("tanh net: lambda_max(K_0) %.10g, default step %.10g = 1/lambda_max, catapult above %.10g\n", ev[NT - 1], r.lr,
           r.lr_catapult);
    lm_linearity_free(&r);
    lm_model_free(m);
}

static void check_output_term(lm_model *m, const double *x)
{
    double F[N], term = 0, ss = 0;
    linear_outputs(m, x, F);
    for (int i = 0; i < N; i++) {
        double th = tanh(F[i]), kxx = A + 1; /* ||x_i||^2 / d + 1 */
        term += fabs(-2 * th * (1 - th * th)) * kxx / N;
        ss += F[i] * F[i] / N;
    }
    lm_tanh_output_term t;
    CHECK(lm_probe_tanh_output_term(m, x, N, NULL, &t) == LM_OK);
    CHECK_CLOSE(t.term, term, 1e-12);
    CHECK_CLOSE(t.rms, sqrt(ss), 1e-12);
    printf("tanh output term of a linear f~: %.10g (by hand %.10g), RMS f~ %.6g\n", t.term, term, t.rms);
}

static void check_data(void)
{
    enum { ND = 200, DD = 3 };
    double x[ND * DD], y[ND], xr[ND * DD];
    lm_probe_regression_data(11, ND, DD, x, y);
    lm_rand_normal_fill_f64(xr, ND * DD, 1.0, 11, LM_STREAM_DATA + 2);
    CHECK(!memcmp(x, xr, sizeof x));
    double lo = 1, hi = -1;
    for (int i = 0; i < ND; i++) lo = fmin(lo, y[i]), hi = fmax(hi, y[i]);
    CHECK(lo > -0.8 && hi < 0.8 && lo < -0.6 && hi > 0.6);
}

int main(void)
{
    double x[N * D];
    lm_model *m = linear_model(x);
    check_linear_spectrum(m, x);
    check_linear_descent(m, x);
    check_output_term(m, x);
    lm_model_free(m);
    check_tanh_net();
    check_data();
    return check_summary();
}
