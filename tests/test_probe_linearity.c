/* The linearity / PL* recorder (docs/theory.md §5: L = 1/2 ||F - y||^2):
 *   - a linear model f = w.x/sqrt(d) + b, whose GD residuals follow (I - lr K)^t exactly: the
 *     recorded losses match that (1e-10), the kernel never changes and f = f_lin (1e-12), the
 *     loss ratio respects 1 - lr lambda_min(K), and the catapult flag is raised exactly above
 *     lr = 2 / lambda_max(K0) (where the loss then grows, and diverges to LM_EDIVERGED);
 *   - a tanh network: ||grad L||^2 = r^T K r at t = 0 (1e-10), the PL ratio inside
 *     [lambda_min(K_t), lambda_max(K_t)] at every record, the loss ratio below its bound, and
 *     |f - f_lin| on held-out inputs against f_lin built from explicit Jacobian rows at w0. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/probe.h"
#include "linmass/rng.h"

enum { D = 8, N = 5, NT = 4 };

static void outputs(lm_model *m, const double *w, const double *x, int n, double *F)
{
    lm_exec_f64 *e;
    CHECK(lm_exec_create_f64(m, n, 0, &e) == LM_OK);
    lm_exec_bind_f64(e, (double *)w, NULL);
    memcpy(F, lm_forward_f64(e, x, n, LM_MODE_EVAL, NULL), n * sizeof *F);
    lm_exec_free_f64(e);
}

static void check_linear_model(void)
{
    lm_model *m;
    CHECK(lm_model_create("dense:1", (lm_shape){D, 1, 1}, LM_PARAM_NTK, 3, &m) == LM_OK);
    size_t np = lm_model_num_params(m);
    double x[N * D], xt[NT * D], y[N], w0[D + 1], K[N * N], F[N], r[N], r2[N];
    lm_rand_normal_fill_f64(x, N * D, 1.0, 4, 1);
    lm_rand_normal_fill_f64(xt, NT * D, 1.0, 4, 2);
    lm_rand_normal_fill_f64(y, N, 1.0, 4, 3);
    for (size_t i = 0; i < np; i++) w0[i] = lm_model_params(m)[i];
    /* K = X X^T / d + 1 */
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < D; k++) s += x[i * D + k] * x[j * D + k];
            K[i * N + j] = s / D + 1;
        }
    lm_spectrum sp;
    CHECK(lm_kernel_spectrum(K, N, &sp, NULL) == LM_OK);
    lm_linearity_opts o = {0};
    o.y = y;
    o.lr = 1.0 / sp.lambda_max;
    o.steps = 40;
    o.record_every = 7;
    o.x_test = xt;
    o.n_test = NT;
    lm_linearity_result res;
    lm_status st = lm_probe_linearity(m, x, N, &o, &res);
    CHECK_MSG(st == LM_OK, "%s", lm_error_message());
    CHECK(res.n_records == 7); /* 0, 7, ..., 35, and 40 */
    CHECK(res.records[res.n_records - 1].step == 40);
    CHECK(!res.catapult);
    CHECK_CLOSE(res.lambda_max0, sp.lambda_max, 1e-12);
    CHECK_CLOSE(res.lambda_min0, sp.lambda_min, 1e-12);
    CHECK_CLOSE(res.lr_catapult, 2 / sp.lambda_max, 1e-12);
    /* exact residuals: r_{t+1} = (I - lr K) r_t */
    outputs(m, w0, x, N, F);
    for (int i = 0; i < N; i++) r[i] = F[i] - y[i];
    int rec = 0;
    for (int t = 0; t <= 41 && rec < res.n_records; t++) {
        double L = 0;
        for (int i = 0; i < N; i++) L += 0.5 * r[i] * r[i];
        for (int i = 0; i < N; i++) {
            r2[i] = r[i];
            for (int j = 0; j < N; j++) r2[i] -= o.lr * K[i * N + j] * r[j];
        }
        double L1 = 0;
        for (int i = 0; i < N; i++) L1 += 0.5 * r2[i] * r2[i];
        const lm_linearity_record *R = &res.records[rec];
        if (R->step == t) {
            CHECK_CLOSE(R->loss, L, 1e-10);
            CHECK_CLOSE(R->loss_ratio, L1 / L, 1e-9);
            CHECK(R->loss_ratio <= R->bound + 1e-12);
            CHECK(R->kernel_change <= 1e-12);
            CHECK_MSG(R->lin_gap_max <= 1e-12, "linear model: |f - f_lin| = %.3g at step %d", R->lin_gap_max, t);
            CHECK(R->pl_ratio >= sp.lambda_min * (1 - 1e-10) && R->pl_ratio <= sp.lambda_max * (1 + 1e-10));
            CHECK_CLOSE(R->lambda_min, sp.lambda_min, 1e-10);
            CHECK_CLOSE(R->bound, 1 - o.lr * sp.lambda_min, 1e-12);
            rec++;
        }
        memcpy(r, r2, sizeof r);
    }
    CHECK(rec == res.n_records);
    double dist = 0;
    for (size_t i = 0; i < np; i++) dist += (res.params_final[i] - w0[i]) * (res.params_final[i] - w0[i]);
    CHECK_CLOSE(res.records[res.n_records - 1].dist, sqrt(dist), 1e-12);
    lm_linearity_free(&res);

    /* just above the catapult threshold: flagged, and the loss grows */
    o.lr = 2.05 / sp.lambda_max;
    o.steps = 30;
    CHECK(lm_probe_linearity(m, x, N, &o, &res) == LM_OK);
    CHECK(res.catapult);
    CHECK(res.loss_final > res.loss0);
    lm_linearity_free(&res);
    o.lr = 1.95 / sp.lambda_max;
    CHECK(lm_probe_linearity(m, x, N, &o, &res) == LM_OK);
    CHECK(!res.catapult && res.loss_final < res.loss0);
    lm_linearity_free(&res);
    /* far above: the loss overflows */
    o.lr = 1000 / sp.lambda_max;
    o.steps = 300;
    st = lm_probe_linearity(m, x, N, &o, &res);
    CHECK(st == LM_EDIVERGED);
    CHECK(res.n_records >= 1);
    lm_linearity_free(&res);
    /* bad arguments (0 is the default step 1/lambda_max(K_0), test_probe_plstar.c) */
    o.lr = -0.1;
    CHECK(lm_probe_linearity(m, x, N, &o, &res) == LM_EINVAL);
    o.lr = NAN;
    CHECK(lm_probe_linearity(m, x, N, &o, &res) == LM_EINVAL);
    lm_model_free(m);
}

static void check_tanh_net(void)
{
    lm_model *m;
    CHECK(lm_model_create("dense:128,tanh,dense:64,tanh,dense:1", (lm_shape){D, 1, 1}, LM_PARAM_NTK, 5, &m) == LM_OK);
    size_t np = lm_model_num_params(m);
    double x[N * D], xt[NT * D], y[N], F[N], K[N * N];
    lm_rand_normal_fill_f64(x, N * D, 1.0, 6, 1);
    lm_rand_normal_fill_f64(xt, NT * D, 1.0, 6, 2);
    lm_rand_normal_fill_f64(y, N, 1.0, 6, 3);
    double *w0 = malloc(np * sizeof *w0);
    for (size_t i = 0; i < np; i++) w0[i] = lm_model_params(m)[i];
    CHECK(lm_probe_ntk(m, x, N, NULL, K, NULL) == LM_OK);
    lm_spectrum sp;
    CHECK(lm_kernel_spectrum(K, N, &sp, NULL) == LM_OK);
    lm_linearity_opts o = {0};
    o.y = y;
    o.lr = 0.5 / sp.lambda_max;
    o.steps = 100;
    o.x_test = xt;
    o.n_test = NT;
    lm_linearity_result res;
    lm_status st = lm_probe_linearity(m, x, N, &o, &res);
    CHECK_MSG(st == LM_OK, "%s", lm_error_message());
    CHECK(res.n_records == 11);
    /* ||grad L||^2 = r^T K r at w0 */
    outputs(m, w0, x, N, F);
    double rKr = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) rKr += (F[i] - y[i]) * K[i * N + j] * (F[j] - y[j]);
    CHECK_CLOSE(res.records[0].pl_ratio * 2 * res.records[0].loss, rKr, 1e-10);
    for (int k = 0; k < res.n_records; k++) {
        const lm_linearity_record *R = &res.records[k];
        printf("t %3d  L %.4e  dist %.4f  dK %.2e  |f-flin| %.2e  lmin %.4f  PL %.4f  ratio %.6f <= %.6f\n", R->step,
               R->loss, R->dist, R->kernel_change, R->lin_gap_max, R->lambda_min, R->pl_ratio, R->loss_ratio,
               R->bound);
        CHECK(R->pl_ratio >= R->lambda_min * (1 - 1e-10) && R->pl_ratio <= R->lambda_max * (1 + 1e-10));
        CHECK_MSG(R->loss_ratio <= R->bound, "step %d: loss ratio %.8f above the bound %.8f", R->step, R->loss_ratio,
                  R->bound);
        if (k) {
            CHECK(R->dist > res.records[k - 1].dist);
            CHECK(R->kernel_change > 0 && R->kernel_change < 0.1);
            CHECK(R->lin_gap_max > 0 && R->lin_gap_rms <= R->lin_gap_max);
        }
    }
    CHECK(res.loss_final < 0.05 * res.loss0);
    /* |f - f_lin| at w_T with f_lin from explicit Jacobian rows at w0 */
    lm_exec_f64 *e;
    CHECK(lm_exec_create_f64(m, 1, 0, &e) == LM_OK);
    double *g = malloc(np * sizeof *g), ft[NT], one = 1, worst = 0;
    outputs(m, res.params_final, xt, NT, ft);
    lm_exec_bind_f64(e, w0, NULL);
    for (int i = 0; i < NT; i++) {
        double f0 = lm_forward_f64(e, xt + i * D, 1, LM_MODE_EVAL, NULL)[0];
        lm_backward_f64(e, &one, g, NULL, NULL, NULL);
        double lin = f0;
        for (size_t q = 0; q < np; q++) lin += g[q] * (res.params_final[q] - w0[q]);
        worst = fmax(worst, fabs(ft[i] - lin));
    }
    CHECK_CLOSE(res.records[res.n_records - 1].lin_gap_max, worst, 1e-8);
    lm_exec_free_f64(e);
    free(g), free(w0);
    lm_linearity_free(&res);
    lm_model_free(m);

    /* several outputs need one chosen */
    CHECK(lm_model_create("dense:4,tanh,dense:2", (lm_shape){D, 1, 1}, LM_PARAM_NTK, 5, &m) == LM_OK);
    o.net.output = LM_OUTPUT_SUM;
    CHECK(lm_probe_linearity(m, x, N, &o, &res) == LM_EINVAL);
    o.net.output = 1;
    CHECK(lm_probe_linearity(m, x, N, &o, &res) == LM_OK);
    lm_linearity_free(&res);
    lm_model_free(m);
}

int main(void)
{
    check_linear_model();
    check_tanh_net();
    return check_summary();
}
