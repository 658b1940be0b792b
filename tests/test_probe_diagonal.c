// ctest-labels: unit
/* The Hessian diagonal (docs/theory.md §7.8):
 *   - exact: equals the dense Hessian's diagonal (1e-14 of the largest entry), loss and model
 *     Hessians, with the exact trace;
 *   - Hutchinson's estimator from 400 Rademacher vectors: unbiased, every entry within 4.5 of its
 *     standard errors of the true one and the trace within 4; the standard errors themselves
 *     right: each equals its closed form sqrt(sum_{j != i} H_ij^2 / S) within 15% (the relative
 *     spread of a standard deviation from 400 values is about 1/sqrt(800) = 3.5%, more for
 *     heavy-tailed products; a standard error off by sqrt(2) fails);
 *   - a diagonal operator: Hutchinson is exact (zero variance, standard errors 0). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/probe.h"
#include "linmass/rng.h"

enum { N = 6, S = 400 };

static void check_target(lm_model *m, const double *x, const lm_hvp_opts *ho, const char *what)
{
    lm_hvp *h;
    CHECK(lm_hvp_create(m, x, N, ho, &h) == LM_OK);
    size_t p = lm_hvp_dim(h);
    double *H = malloc(p * p * sizeof *H), *diag = malloc(p * sizeof *diag), *se = malloc(p * sizeof *se);
    CHECK(lm_hvp_dense(h, H) == LM_OK);
    lm_hvp_free(h);
    double scale = 0, tr = 0;
    for (size_t i = 0; i < p * p; i++) scale = fmax(scale, fabs(H[i]));
    for (size_t i = 0; i < p; i++) tr += H[i * p + i];

    lm_diag_opts o = {0};
    lm_diag_result r = {.diag = diag, .se = se};
    CHECK(lm_probe_hessian_diagonal(m, x, N, ho, &o, &r) == LM_OK);
    double worst = 0;
    for (size_t i = 0; i < p; i++) worst = fmax(worst, fabs(diag[i] - H[i * p + i]) + fabs(se[i]));
    printf("%s (p %zu): exact diagonal within %.2g of the dense one, %d products\n", what, p, worst, r.products);
    CHECK(r.exact && r.products == (int)p && r.samples == 0);
    CHECK_MSG(worst <= 1e-14 * scale, "%s: exact diagonal off by %.3g", what, worst);
    CHECK(fabs(r.trace - tr) <= 1e-13 * scale * p && r.trace_se == 0);

    o = (lm_diag_opts){-1, S, 17};
    CHECK(lm_probe_hessian_diagonal(m, x, N, ho, &o, &r) == LM_OK);
    CHECK(!r.exact && r.samples == S && r.products == S);
    double zmax = 0, se_worst = 0;
    int counted = 0;
    for (size_t i = 0; i < p; i++) {
        double off = 0; /* Var(v_i (H v)_i) = sum_{j != i} H_ij^2 */
        for (size_t j = 0; j < p; j++) off += j == i ? 0 : H[i * p + j] * H[i * p + j];
        double se_true = sqrt(off / S);
        if (se_true < 1e-12 * scale) {
            CHECK(fabs(diag[i] - H[i * p + i]) <= 1e-12 * scale);
            continue;
        }
        double z = (diag[i] - H[i * p + i]) / se[i];
        zmax = fmax(zmax, fabs(z));
        counted++;
        se_worst = fmax(se_worst, fabs(se[i] / se_true - 1));
    }
    printf("%s: Hutchinson (%d vectors) over %d entries: max |z| %.2f, standard errors within %.1f%% "
           "of their closed form; trace %.6g +- %.2g (exact %.6g)\n", what, S, counted, zmax, 100 * se_worst, r.trace,
           r.trace_se, tr);
    CHECK_MSG(zmax <= 4.5, "%s: an entry is %.2f standard errors off", what, zmax);
    CHECK_MSG(se_worst <= 0.15, "%s: a standard error is %.0f%% off its closed form", what, 100 * se_worst);
    CHECK_MSG(fabs(r.trace - tr) <= 4 * r.trace_se, "%s: trace %.6g +- %.2g vs %.6g", what, r.trace, r.trace_se, tr);
    /* the trace alone gives the same trace */
    lm_diag_result t = {0};
    CHECK(lm_probe_hessian_diagonal(m, x, N, ho, &o, &t) == LM_OK);
    CHECK(t.trace == r.trace && t.trace_se == r.trace_se);
    free(H), free(diag), free(se);
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

int main(void)
{
    lm_model *m;
    CHECK(lm_model_create("dense:8,tanh,dense:6,softplus,dense:3", (lm_shape){5, 1, 1}, LM_PARAM_NTK, 4, &m) == LM_OK);
    double x[N * 5], t[N * 3];
    lm_rand_normal_fill_f64(x, N * 5, 1.0, 5, 1);
    lm_rand_normal_fill_f64(t, N * 3, 1.0, 5, 2);
    lm_hvp_opts ho = {0};
    ho.target = LM_HVP_LOSS;
    ho.loss = LM_LOSS_MSE;
    ho.targets = t;
    check_target(m, x, &ho, "loss Hessian");
    ho = (lm_hvp_opts){0};
    ho.net.output = 1;
    check_target(m, x, &ho, "model Hessian, output 1");
    lm_model_free(m);

    double d[300], diag[300], se[300];
    for (int i = 0; i < 300; i++) d[i] = sin(i);
    diag_op op = {300, d};
    lm_diag_opts o = {-1, 3, 1};
    lm_diag_result r = {.diag = diag, .se = se};
    CHECK(lm_sym_diagonal(300, diag_apply, &op, &o, &r) == LM_OK);
    int same = 1;
    for (int i = 0; i < 300; i++) same &= fabs(diag[i] - d[i]) < 1e-15 && se[i] == 0;
    CHECK(same && r.trace_se < 1e-12);
    o.samples = -2;
    CHECK(lm_sym_diagonal(300, diag_apply, &op, &o, &r) == LM_EINVAL);
    return check_summary();
}
