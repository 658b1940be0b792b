// ctest-labels: unit
/* The Gauss-Newton split of the loss Hessian (docs/theory.md §7.7), for the MSE and the softmax
 * cross-entropy, on dense and convolutional models:
 *   - G v + R v = H v on random vectors (1e-12), the three products of lm_hvp;
 *   - G = sum_i J_i^T H_l,i J_i built here from Jacobian rows (single-sample backward passes) and
 *     H_l written out (MSE: I/N; cross-entropy: (diag p - p p^T)/N): equal to the dense G (1e-12);
 *   - R = sum_i sum_k (dl/dz_ik) H_{f_k(x_i)} built from the model-Hessian products of each input
 *     and output: equal to the dense R (1e-12);
 *   - G is positive semi-definite: its smallest eigenvalue >= -1e-12 of its largest;
 *   - lm_probe_gauss_newton: the top eigenvalues of each part against the dense ones (1e-8), and
 *     the three Hutchinson traces add up (the same Rademacher vectors). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/probe.h"
#include "linmass/rng.h"

enum { N = 6 };

typedef struct {
    const char *spec;
    lm_shape in;
    lm_loss_kind loss;
} gcase;

static double max_abs(const double *a, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i]));
    return m;
}

static double max_diff(const double *a, const double *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i] - b[i]));
    return m;
}

static void dense_of(lm_model *m, const double *w, const double *x, const double *t, lm_loss_kind loss,
                     lm_hvp_target target, double *H)
{
    lm_hvp_opts o = {0};
    o.net.params = w;
    o.target = target;
    o.loss = loss;
    o.targets = t;
    o.net.max_batch = 4; /* chunks of 4 and 2 */
    lm_hvp *h;
    CHECK(lm_hvp_create(m, x, N, &o, &h) == LM_OK);
    CHECK(lm_hvp_dense(h, H) == LM_OK);
    lm_hvp_free(h);
}

/* G from Jacobian rows and the loss Hessian in output space. */
static void reference_gn(lm_model *m, const double *w, const double *x, lm_loss_kind loss, double *G)
{
    size_t p = lm_model_num_params(m), nin = lm_shape_numel(lm_model_input_shape(m));
    int K = (int)lm_shape_numel(lm_model_output_shape(m));
    lm_exec_f64 *e;
    CHECK(lm_exec_create_f64(m, 1, 0, &e) == LM_OK);
    lm_exec_bind_f64(e, (double *)w, NULL);
    double *J = malloc((size_t)K * p * sizeof *J), *gz = calloc(K, sizeof *gz), *Hl = malloc((size_t)K * K * sizeof *Hl);
    memset(G, 0, p * p * sizeof *G);
    for (int i = 0; i < N; i++) {
        const double *z = lm_forward_f64(e, x + i * nin, 1, LM_MODE_EVAL, NULL);
        double zc[16], pr[16], zmax = -INFINITY, sum = 0;
        memcpy(zc, z, K * sizeof *zc);
        for (int k = 0; k < K; k++) zmax = fmax(zmax, zc[k]);
        for (int k = 0; k < K; k++) pr[k] = exp(zc[k] - zmax), sum += pr[k];
        for (int k = 0; k < K; k++) pr[k] /= sum;
        for (int k = 0; k < K; k++)
            for (int l = 0; l < K; l++)
                Hl[k * K + l] = (loss == LM_LOSS_MSE ? (k == l) : (k == l) * pr[k] - pr[k] * pr[l]) / N;
        for (int k = 0; k < K; k++) {
            lm_forward_f64(e, x + i * nin, 1, LM_MODE_EVAL, NULL);
            gz[k] = 1;
            lm_backward_f64(e, gz, J + (size_t)k * p, NULL, NULL, NULL);
            gz[k] = 0;
        }
        for (int k = 0; k < K; k++)
            for (int l = 0; l < K; l++)
                for (size_t a = 0; a < p; a++)
                    for (size_t b = 0; b < p; b++) G[a * p + b] += J[k * p + a] * Hl[k * K + l] * J[l * p + b];
    }
    free(J), free(gz), free(Hl);
    lm_exec_free_f64(e);
}

/* R from the model Hessian of each input and output, weighted by dl/dz. */
static void reference_residual(lm_model *m, const double *w, const double *x, const double *t, lm_loss_kind loss,
                               double *R)
{
    size_t p = lm_model_num_params(m), nin = lm_shape_numel(lm_model_input_shape(m));
    int K = (int)lm_shape_numel(lm_model_output_shape(m));
    lm_exec_f64 *e;
    CHECK(lm_exec_create_f64(m, N, 0, &e) == LM_OK);
    lm_exec_bind_f64(e, (double *)w, NULL);
    double *gz = malloc((size_t)N * K * sizeof *gz), *Hik = malloc(p * p * sizeof *Hik);
    lm_loss_f64(loss, lm_forward_f64(e, x, N, LM_MODE_EVAL, NULL), t, N, K, gz, NULL, NULL);
    memset(R, 0, p * p * sizeof *R);
    for (int i = 0; i < N; i++)
        for (int k = 0; k < K; k++) {
            lm_hvp_opts o = {0};
            o.net.params = w;
            o.net.output = k;
            double one = 1;
            o.coef = &one;
            lm_hvp *h;
            CHECK(lm_hvp_create(m, x + i * nin, 1, &o, &h) == LM_OK);
            CHECK(lm_hvp_dense(h, Hik) == LM_OK);
            lm_hvp_free(h);
            for (size_t a = 0; a < p * p; a++) R[a] += gz[i * K + k] * Hik[a];
        }
    free(gz), free(Hik);
    lm_exec_free_f64(e);
}

static void check_case(const gcase *c)
{
    lm_model *m;
    CHECK(lm_model_create(c->spec, c->in, LM_PARAM_STANDARD, 7, &m) == LM_OK);
    size_t p = lm_model_num_params(m), nin = lm_shape_numel(c->in);
    int K = (int)lm_shape_numel(lm_model_output_shape(m));
    double *w = malloc(p * sizeof *w), *x = malloc(N * nin * sizeof *x), *t = malloc((size_t)N * K * sizeof *t);
    for (size_t i = 0; i < p; i++) w[i] = lm_model_params(m)[i] + 0.2 * lm_rand_normal(8, 1, i);
    lm_rand_normal_fill_f64(x, N * nin, 1.0, 9, 1);
    lm_rand_normal_fill_f64(t, (size_t)N * K, 1.0, 9, 2);
    if (c->loss == LM_LOSS_XENT)
        for (int i = 0; i < N; i++) t[i] = (i * 2) % K;
    const char *lname = c->loss == LM_LOSS_MSE ? "mse" : "xent";

    double *H = malloc(p * p * sizeof *H), *G = malloc(p * p * sizeof *G), *R = malloc(p * p * sizeof *R);
    double *ref = malloc(p * p * sizeof *ref), *ev = malloc(p * sizeof *ev);
    dense_of(m, w, x, t, c->loss, LM_HVP_LOSS, H);
    dense_of(m, w, x, t, c->loss, LM_HVP_GAUSS_NEWTON, G);
    dense_of(m, w, x, t, c->loss, LM_HVP_RESIDUAL, R);
    double scale = max_abs(H, p * p);

    /* products on random vectors: G v + R v = H v */
    lm_hvp_opts o = {0};
    o.net.params = w;
    o.loss = c->loss;
    o.targets = t;
    lm_hvp *h[3];
    for (int k = 0; k < 3; k++) {
        o.target = (lm_hvp_target[]){LM_HVP_LOSS, LM_HVP_GAUSS_NEWTON, LM_HVP_RESIDUAL}[k];
        CHECK(lm_hvp_create(m, x, N, &o, &h[k]) == LM_OK);
    }
    double *v = malloc(p * sizeof *v), *hv = malloc(p * sizeof *hv), *gv = malloc(p * sizeof *gv), *rv = malloc(p * sizeof *rv);
    double worst = 0;
    for (int s = 0; s < 5; s++) {
        lm_rand_normal_fill_f64(v, p, 1.0, 10 + s, 3);
        lm_hvp_apply(h[0], v, hv), lm_hvp_apply(h[1], v, gv), lm_hvp_apply(h[2], v, rv);
        for (size_t i = 0; i < p; i++) gv[i] += rv[i];
        worst = fmax(worst, max_diff(gv, hv, p) / max_abs(hv, p));
    }
    CHECK_MSG(worst <= 1e-12, "%s %s: G v + R v differs from H v by %.3g relative", c->spec, lname, worst);
    for (int k = 0; k < 3; k++) lm_hvp_free(h[k]);

    reference_gn(m, w, x, c->loss, ref);
    double dg = max_diff(G, ref, p * p) / scale;
    reference_residual(m, w, x, t, c->loss, ref);
    double dr = max_diff(R, ref, p * p) / scale;
    CHECK(lm_sym_eig((int)p, G, ev, NULL) == LM_OK);
    double gmin = ev[0], gmax = ev[p - 1];
    printf("%-40s %-4s p %3zu: G v + R v = H v to %.1e; G, R against their definitions %.1e, %.1e; "
           "G's eigenvalues [%.3g, %.6g]\n", c->spec, lname, p, worst, dg, dr, gmin, gmax);
    CHECK_MSG(dg <= 1e-12, "%s %s: G differs from J^T H_l J by %.3g", c->spec, lname, dg);
    CHECK_MSG(dr <= 1e-12, "%s %s: R differs from sum g H_f by %.3g", c->spec, lname, dr);
    CHECK_MSG(gmin >= -1e-12 * gmax, "%s %s: G has eigenvalue %.3g (largest %.3g)", c->spec, lname, gmin, gmax);

    /* the probe: top eigenvalues of each part, traces that add up */
    lm_loss_hessian_opts lo = {0};
    lo.net.params = w;
    lo.loss = c->loss;
    lo.targets = t;
    lo.eig.top_k = 3;
    lo.hutchinson = 50;
    lm_gauss_newton_result r;
    CHECK(lm_probe_gauss_newton(m, x, N, &lo, &r) == LM_OK);
    const double *dense[3] = {H, G, R};
    const lm_loss_hessian_result *part[3] = {&r.loss, &r.gauss_newton, &r.residual};
    for (int k = 0; k < 3; k++) {
        CHECK(lm_sym_eig((int)p, dense[k], ev, NULL) == LM_OK);
        double norm = fmax(fabs(ev[0]), fabs(ev[p - 1])), tr = 0;
        for (size_t i = 0; i < p; i++) tr += dense[k][i * p + i];
        for (int j = 0; j < 3; j++)
            CHECK_MSG(fabs(part[k]->eig.top[j] - ev[p - 1 - j]) <= 1e-8 * norm, "%s %s part %d: top %d %.12g vs %.12g",
                      c->spec, lname, k, j, part[k]->eig.top[j], ev[p - 1 - j]);
        CHECK_MSG(fabs(part[k]->trace - tr) <= 4 * part[k]->trace_se + 1e-12 * norm, "%s %s part %d: trace %.6g +- %.2g vs %.6g",
                  c->spec, lname, k, part[k]->trace, part[k]->trace_se, tr);
    }
    double sum = r.gauss_newton.trace + r.residual.trace;
    CHECK_MSG(fabs(r.loss.trace - sum) <= 1e-12 * scale * p, "%s %s: traces %.15g vs %.15g", c->spec, lname, r.loss.trace, sum);
    CHECK_CLOSE(r.gauss_newton.loss, r.loss.loss, 1e-15);
    free(H), free(G), free(R), free(ref), free(ev), free(v), free(hv), free(gv), free(rv), free(w), free(x), free(t);
    lm_model_free(m);
}

int main(void)
{
    static const gcase cases[] = {
        {"dense:7,tanh,dense:5,softplus,dense:3", {4, 1, 1}, LM_LOSS_MSE},
        {"dense:7,tanh,dense:5,softplus,dense:3", {4, 1, 1}, LM_LOSS_XENT},
        {"conv:2x3,tanh,avgpool:2,dense:4", {1, 6, 6}, LM_LOSS_XENT},
        {"conv:2x3,sigmoid,flatten,dense:2", {1, 5, 5}, LM_LOSS_MSE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) check_case(&cases[i]);
    return check_summary();
}
