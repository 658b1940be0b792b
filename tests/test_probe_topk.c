// ctest-labels: unit
/* Top-k eigenvalues with their multiplicities (docs/theory.md §7.4): Lanczos with deflation and
 * restarts against spectra known in closed form.
 *   - the example rebuilt: a 3-output linear model f(x) = W x (dense:3:nobias, standard
 *     parameterization) under the MSE (1/2N) sum ||W x_i - t_i||^2 has the loss Hessian
 *     I_3 (x) X^T X / N, so each eigenvalue of X^T X / N occurs three times; with X^T X / N =
 *     Q diag(15.80, 11.62, 3.31, ...) Q^T the top 5 are 15.80 (three times) and 11.62 (twice);
 *   - diagonal operators with repeated eigenvalues, the negative norm outside the top;
 *   - every reported value carries its residual ||A y - theta y||, checked against a recomputation
 *     from the eigenvalue gap: a converged value must be within its residual of a true one. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/probe.h"
#include "linmass/rng.h"

/* X (d x d, row i = sample i) with X^T X / d = Q diag(lambda) Q^T, Q = I - 2 u u^T / u^T u. */
static void design(int d, const double *lambda, uint64_t seed, double *X)
{
    double *u = malloc(d * sizeof *u), uu = 0;
    for (int i = 0; i < d; i++) u[i] = lm_rand_normal(seed, 1, i), uu += u[i] * u[i];
    /* X = sqrt(d) diag(sqrt(lambda)) Q^T: row i = sqrt(d lambda_i) (row i of Q) */
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) X[i * d + j] = sqrt(d * lambda[i]) * ((i == j) - 2 * u[i] * u[j] / uu);
    free(u);
}

static void check_linear_model(void)
{
    enum { D = 6, K = 3 };
    const double lambda[D] = {15.80, 11.62, 3.31, 1.7, 0.9, 0.25};
    double X[D * D], T[D * K];
    design(D, lambda, 11, X);
    lm_rand_normal_fill_f64(T, D * K, 1.0, 12, 1);
    lm_model *m;
    CHECK(lm_model_create("dense:3:nobias", (lm_shape){D, 1, 1}, LM_PARAM_STANDARD, 3, &m) == LM_OK);
    CHECK(lm_model_num_params(m) == K * D);

    /* the dense Hessian is I_3 (x) X^T X / N: check the model is what the comment says */
    lm_hvp_opts ho = {0};
    ho.target = LM_HVP_LOSS;
    ho.loss = LM_LOSS_MSE;
    ho.targets = T;
    lm_hvp *h;
    CHECK(lm_hvp_create(m, X, D, &ho, &h) == LM_OK);
    double H[K * D * K * D];
    CHECK(lm_hvp_dense(h, H) == LM_OK);
    lm_hvp_free(h);
    double worst = 0;
    for (int a = 0; a < K * D; a++)
        for (int b = 0; b < K * D; b++) {
            double want = 0;
            if (a / D == b / D)
                for (int i = 0; i < D; i++) want += X[i * D + a % D] * X[i * D + b % D] / D;
            worst = fmax(worst, fabs(H[a * K * D + b] - want));
        }
    CHECK_MSG(worst < 1e-12, "the linear model's loss Hessian is off I_3 (x) X^T X / N by %.3g", worst);

    lm_loss_hessian_opts o = {0};
    o.loss = LM_LOSS_MSE;
    o.targets = T;
    o.eig.top_k = 5;
    o.hutchinson = -1;
    lm_loss_hessian_result r;
    CHECK(lm_probe_loss_hessian(m, X, D, &o, &r) == LM_OK);
    const double want[5] = {15.80, 15.80, 15.80, 11.62, 11.62};
    printf("linear, 3 outputs: top 5");
    for (int t = 0; t < r.eig.ntop; t++) printf(" %.10g (residual %.1e)", r.eig.top[t], r.eig.top_residual[t]);
    printf("; %d runs, %d products\n", r.eig.runs, r.eig.steps);
    CHECK(r.eig.ntop == 5);
    for (int t = 0; t < 5 && t < r.eig.ntop; t++) {
        CHECK_MSG(fabs(r.eig.top[t] - want[t]) <= 1e-10 * 15.8, "top %d: %.12g, want %.12g", t, r.eig.top[t], want[t]);
        CHECK_MSG(r.eig.top_residual[t] <= 1e-9, "top %d: residual %.3g", t, r.eig.top_residual[t]);
    }
    CHECK(r.eig.converged);
    CHECK(r.eig.runs >= 3); /* a value three times over needs three runs at least */
    CHECK_CLOSE(r.eig.norm, 15.80, 1e-10);
    lm_model_free(m);
}

typedef struct {
    size_t n;
    const double *d;
} diag_op;

static void diag_apply(void *ctx, const double *v, double *out)
{
    const diag_op *o = ctx;
    for (size_t i = 0; i < o->n; i++) out[i] = o->d[i] * v[i];
}

/* A diagonal of dimension N with the top values placed at scattered positions. */
static void check_diagonal(void)
{
    enum { N = 800, TOP = 10 };
    double d[N];
    for (int i = 0; i < N; i++) d[i] = 0.8 * sin(0.37 * i); /* the bulk, in [-0.8, 0.8] */
    /* 5.0 four times, 4.0 twice, 3.0 once, 2.5 five times; -6 is the norm but no top value */
    const double top[] = {5.0, 5.0, 5.0, 5.0, 4.0, 4.0, 3.0, 2.5, 2.5, 2.5, 2.5, 2.5};
    const int where[] = {3, 90, 400, 777, 10, 500, 250, 600, 601, 602, 11, 12};
    for (int t = 0; t < 12; t++) d[where[t]] = top[t];
    d[333] = -6.0;
    diag_op op = {N, d};
    lm_eig_opts o = {0};
    o.top_k = TOP;
    o.seed = 5;
    lm_eig_result r;
    CHECK(lm_sym_extreme_eig(N, diag_apply, &op, &o, &r) == LM_OK);
    printf("diagonal %d: top %d:", N, r.ntop);
    for (int t = 0; t < r.ntop; t++) printf(" %.12g", r.top[t]);
    printf("; %d runs, %d products\n", r.runs, r.steps);
    CHECK(r.ntop == TOP);
    for (int t = 0; t < TOP && t < r.ntop; t++) {
        CHECK_MSG(fabs(r.top[t] - top[t]) <= 1e-10 * 6, "top %d: %.12g, want %.12g", t, r.top[t], top[t]);
        /* the residual is honest: recompute the gap bound's premise, |theta - nearest| <= residual */
        double nearest = INFINITY;
        for (int i = 0; i < N; i++) nearest = fmin(nearest, fabs(r.top[t] - d[i]));
        CHECK_MSG(nearest <= r.top_residual[t] + 1e-13, "top %d: %.3g from the nearest eigenvalue, residual %.3g", t,
                  nearest, r.top_residual[t]);
    }
    CHECK(r.converged);
    CHECK_CLOSE(r.norm, 6.0, 1e-10);
    CHECK_CLOSE(r.extreme, -6.0, 1e-10);

    /* too few steps for the bulk: values may be unconverged, and then the flag must say so */
    o.max_steps = 8;
    CHECK(lm_sym_extreme_eig(N, diag_apply, &op, &o, &r) == LM_OK);
    int honest = 1;
    for (int t = 0; t < r.ntop; t++) {
        double nearest = INFINITY;
        for (int i = 0; i < N; i++) nearest = fmin(nearest, fabs(r.top[t] - d[i]));
        honest &= nearest <= r.top_residual[t] * (1 + 1e-9) + 1e-13;
    }
    printf("8 steps a run: converged %d, top %.6g residual %.2g\n", r.converged, r.top[0], r.top_residual[0]);
    CHECK(honest);
    CHECK(!r.converged);

    /* reorthogonalization off cannot keep multiplicities */
    o = (lm_eig_opts){0};
    o.top_k = 3;
    o.reorth = LM_REORTH_NONE;
    CHECK(lm_sym_extreme_eig(N, diag_apply, &op, &o, &r) == LM_EINVAL);
}

int main(void)
{
    check_linear_model();
    check_diagonal();
    return check_summary();
}
