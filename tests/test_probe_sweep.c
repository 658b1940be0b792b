// ctest-labels: slow
/* Width sweeps and the claims of docs/theory.md §4.2 on quick settings (NTK
 * parameterization, float64, widths 64..1024, inputs in R^16 drawn N(0, 1)):
 *   1. 2-hidden-layer tanh net, linear output: slope of log ||H_f|| against log m in
 *      [-0.65, -0.35] (the theory: -0.5 up to logarithms);
 *   3. the same with a tanh output: slope above -0.15 (no decrease);
 *   4. a width-1 bottleneck in the middle: slope above -0.15;
 *   5. the relative kernel change after full-batch GD falls with width (slope about -1:
 *      asserted in [-1.5, -0.6]), each model at its own step 1/lambda_max(K_0), half its
 *      catapult threshold (the hook checks that no model is in the catapult regime).
 * ||H_f|| is the mean over inputs of the per-input spectral norm (Lanczos, tolerance 1e-6).
 * Also the fitting helpers against hand-computed values. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "linmass/probe.h"
#include "linmass/rng.h"

static const int widths[] = {64, 128, 256, 512, 1024};

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static lm_fit hessian_sweep(const char *tmpl, int n, int seeds)
{
    enum { D = 16 };
    double *x = malloc((size_t)n * D * sizeof *x);
    lm_rand_normal_fill_f64(x, (uint64_t)n * D, 1.0, 7, 1);
    lm_sweep_opts o = {0};
    o.template_spec = tmpl;
    o.in = (lm_shape){D, 1, 1};
    o.param = LM_PARAM_NTK;
    o.widths = widths;
    o.n_widths = 5;
    o.seeds = seeds;
    o.seed = 1;
    o.probe = LM_SWEEP_HESSIAN;
    o.value = LM_SWEEP_HESS_MEAN;
    o.x = x;
    o.n = n;
    o.hessian.eig.tol = 1e-6;
    lm_sweep_result r;
    double t0 = now();
    lm_status st = lm_sweep_width(&o, &r);
    CHECK_MSG(st == LM_OK, "%s: %s", tmpl, lm_error_message());
    lm_fit fit = r.fit;
    if (!st) {
        printf("%s (%d inputs, %d seeds, %.1f s)\n", tmpl, n, seeds, now() - t0);
        for (int i = 0; i < 5; i++) printf("  m %4d  ||H|| %.5f +- %.5f\n", widths[i], r.mean[i], r.sd[i]);
        printf("  slope %.3f, 95%% interval [%.3f, %.3f]\n", fit.slope, fit.ci_lo, fit.ci_hi);
        CHECK(r.n_widths == 5 && r.seeds == seeds && fit.dof == 5 * seeds - 2);
    }
    lm_sweep_free(&r);
    free(x);
    return fit;
}

/* Every model of the kernel-change sweep: its default step, below the catapult threshold. */
static lm_status check_step(void *ctx, const lm_sweep_model *m)
{
    int *catapults = ctx;
    const lm_linearity_result *r = m->linearity;
    *catapults += r->catapult;
    CHECK_MSG(r->lr_auto && r->lr == 1 / r->lambda_max0 && r->lr < r->lr_catapult,
              "width %d, seed %d: step %g, 1/lambda_max(K_0) %g, catapult above %g", m->width, m->seed_index, r->lr,
              1 / r->lambda_max0, r->lr_catapult);
    return LM_OK;
}

static lm_fit kernel_change_sweep(void)
{
    enum { D = 8, N = 8 };
    double x[N * D], y[N];
    lm_rand_normal_fill_f64(x, N * D, 1.0, 7, 2);
    lm_rand_normal_fill_f64(y, N, 1.0, 8, 2);
    lm_sweep_opts o = {0};
    o.template_spec = "dense:W,tanh,dense:W,tanh,dense:1";
    o.in = (lm_shape){D, 1, 1};
    o.param = LM_PARAM_NTK;
    o.widths = widths;
    o.n_widths = 5;
    o.seeds = 2;
    o.seed = 1;
    o.probe = LM_SWEEP_LINEARITY;
    o.x = x;
    o.n = N;
    o.linearity.y = y;
    o.linearity.steps = 200; /* lr 0: each model's 1/lambda_max(K_0) */
    o.linearity.record_every = 200;
    int catapults = 0;
    o.on_model = check_step;
    o.hook_ctx = &catapults;
    lm_sweep_result r;
    double t0 = now();
    lm_status st = lm_sweep_width(&o, &r);
    CHECK_MSG(st == LM_OK, "kernel change: %s", lm_error_message());
    CHECK_MSG(catapults == 0, "%d models in the catapult regime", catapults);
    lm_fit fit = r.fit;
    if (!st) {
        printf("relative kernel change after 200 GD steps at 1/lambda_max(K_0) (%.1f s)\n", now() - t0);
        for (int i = 0; i < 5; i++) printf("  m %4d  %.5f +- %.5f\n", widths[i], r.mean[i], r.sd[i]);
        printf("  slope %.3f, 95%% interval [%.3f, %.3f]\n", fit.slope, fit.ci_lo, fit.ci_hi);
    }
    lm_sweep_free(&r);
    return fit;
}

static void check_helpers(void)
{
    CHECK_CLOSE(lm_t_quantile_975(1), 12.7062, 1e-5);
    CHECK_CLOSE(lm_t_quantile_975(3), 3.1824, 1e-4);
    CHECK_CLOSE(lm_t_quantile_975(30), 2.0423, 1e-4);
    CHECK_CLOSE(lm_t_quantile_975(40), 2.0211, 1e-4);
    CHECK_CLOSE(lm_t_quantile_975(60), 2.0003, 1e-4);
    CHECK_CLOSE(lm_t_quantile_975(120), 1.9799, 1e-4);
    CHECK_CLOSE(lm_t_quantile_975(100000), 1.95998, 1e-4);
    CHECK(isnan(lm_t_quantile_975(0)));
    /* x = 1..4, y = 1, 3, 2, 5: slope 5.5/5, intercept 0, rss 2.7, se sqrt(2.7 / 2 / 5) */
    double x[4] = {1, 2, 3, 4}, y[4] = {1, 3, 2, 5};
    lm_fit f;
    CHECK(lm_linear_fit(x, y, 4, &f) == LM_OK);
    CHECK_CLOSE(f.slope, 1.1, 1e-14);
    CHECK(fabs(f.intercept) < 1e-14);
    CHECK_CLOSE(f.se, sqrt(0.27), 1e-14);
    CHECK_CLOSE(f.ci_hi - f.slope, 4.3027 * sqrt(0.27), 1e-4);
    CHECK_CLOSE(f.r2, 1 - 2.7 / 8.75, 1e-14);
    CHECK(f.dof == 2);
    /* an exact power law */
    double w[5] = {64, 128, 256, 512, 1024}, v[5];
    for (int i = 0; i < 5; i++) v[i] = 3 * pow(w[i], -0.5);
    CHECK(lm_loglog_fit(w, v, 5, &f) == LM_OK);
    CHECK_CLOSE(f.slope, -0.5, 1e-12);
    CHECK_CLOSE(exp(f.intercept), 3, 1e-12);
    CHECK(f.se < 1e-12);
    v[2] = 0;
    CHECK(lm_loglog_fit(w, v, 5, &f) == LM_EINVAL);
    char spec[64];
    CHECK(lm_spec_with_width("dense:W,tanh,dense:W,tanh,dense:1", 256, spec, sizeof spec) == LM_OK);
    CHECK(!strcmp(spec, "dense:256,tanh,dense:256,tanh,dense:1"));
    CHECK(lm_spec_with_width("dense:10", 256, spec, sizeof spec) == LM_EINVAL);
    CHECK(lm_spec_with_width("dense:W,dense:W,dense:W", 100000, spec, 20) == LM_EINVAL);
}

int main(void)
{
    check_helpers();
    lm_fit f = hessian_sweep("dense:W,tanh,dense:W,tanh,dense:1", 4, 2);
    CHECK_MSG(f.slope >= -0.65 && f.slope <= -0.35, "linear output: slope %.3f outside [-0.65, -0.35]", f.slope);
    f = hessian_sweep("dense:W,tanh,dense:W,tanh,dense:1,tanh", 8, 3);
    CHECK_MSG(f.slope > -0.15, "tanh output: slope %.3f, expected above -0.15", f.slope);
    f = hessian_sweep("dense:W,tanh,dense:1,tanh,dense:W,tanh,dense:1", 16, 8);
    CHECK_MSG(f.slope > -0.15, "width-1 bottleneck: slope %.3f, expected above -0.15", f.slope);
    f = kernel_change_sweep();
    CHECK_MSG(f.slope >= -1.5 && f.slope <= -0.6, "kernel change: slope %.3f outside [-1.5, -0.6]", f.slope);
    return check_summary();
}
