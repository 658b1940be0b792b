/* Threads change the order of sums, never the results beyond rounding: for conv / batch-norm /
 * residual / maxpool / dropout models, the float32 training pass (outputs, loss, parameter
 * gradient, input gradient, batch-norm running statistics) with 2 threads equals the 1-thread
 * pass to 1e-5 relative (norm-wise and in the largest entry), and the float64 tangent pass
 * (JVP, gradient and Hessian-vector product) to 1e-12; two runs with 2 threads are
 * bit-identical. Since a lost share of the batch would be lost with either thread count, the
 * batch is also checked against an independent computation: in eval mode (no coupling between
 * samples) the batch's parameter gradient equals the sum of per-sample gradients from a
 * one-sample executor, and its outputs and input gradients equal theirs, to 1e-5 relative in
 * float32, with 1 and with 2 threads. The cases are large enough for the parallel paths
 * (lm_par_threads): convolutions split the batch (many groups per share in the second case,
 * where one sample fills the group budget), and the second case's relu, maxpool and residual
 * layers split their values. */
// ctest-labels: engine
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/parallel.h"
#include "linmass/exec.h"
#include "linmass/rng.h"
#include "linmass/runtime.h"

typedef struct {
    const char *spec;
    lm_shape in;
    int n;
} tcase;

static const tcase cases[] = {
    {"conv:8x3,bn,relu,res:8,res:16/2,maxpool:2,conv:16x3/2,relu,dropout:0.3,dense:10", {4, 16, 16}, 32},
    {"conv:16x3,bn,relu,res:16,maxpool:2,conv:32x5,relu,avgpool:2,dropout:0.2,dense:10", {3, 32, 32}, 16},
};

/* ||a - b|| / ||b|| and max |a - b| / max |b| */
static void rel_errors(const double *a, const double *b, size_t n, double *norm, double *entry)
{
    double num = 0, den = 0, worst = 0, top = 0;
    for (size_t i = 0; i < n; i++) {
        double d = a[i] - b[i];
        num += d * d;
        den += b[i] * b[i];
        worst = fmax(worst, fabs(d));
        top = fmax(top, fabs(b[i]));
    }
    *norm = den > 0 ? sqrt(num / den) : (num > 0 ? INFINITY : 0);
    *entry = top > 0 ? worst / top : (worst > 0 ? INFINITY : 0);
}

/* Everything one pass produces, as doubles: output, loss, gradient, input gradient, buffers */
typedef struct {
    double *v;
    size_t len;
} pass;

static pass run_f32(lm_model *m, const tcase *tc, const float *x, const float *t, const float *buf0, int threads)
{
    lm_set_threads(threads);
    size_t np = lm_model_num_params(m), nb = lm_model_num_buffers(m), nin = lm_shape_numel(tc->in) * tc->n;
    int k = (int)lm_shape_numel(lm_model_output_shape(m));
    float *buf = malloc((nb + 1) * sizeof *buf), *gz = malloc((size_t)tc->n * k * sizeof *gz);
    float *grad = malloc(np * sizeof *grad), *gx = malloc(nin * sizeof *gx);
    memcpy(buf, buf0, nb * sizeof *buf);
    pass r = {malloc(((size_t)tc->n * k + 1 + np + nin + nb) * sizeof(double)), 0};
    lm_exec_f32 *e = NULL;
    CHECK(lm_exec_create_f32(m, tc->n, 0, &e) == LM_OK);
    if (e) {
        lm_exec_bind_f32(e, lm_model_params(m), buf);
        lm_exec_set_rng_f32(e, 7, 3);
        const float *z = lm_forward_f32(e, x, tc->n, LM_MODE_TRAIN, NULL);
        double loss = lm_loss_f32(LM_LOSS_XENT, z, t, tc->n, k, gz, NULL, NULL);
        for (size_t i = 0; i < (size_t)tc->n * k; i++) r.v[r.len++] = z[i];
        r.v[r.len++] = loss;
        lm_backward_f32(e, gz, grad, gx, NULL, NULL);
        for (size_t i = 0; i < np; i++) r.v[r.len++] = grad[i];
        for (size_t i = 0; i < nin; i++) r.v[r.len++] = gx[i];
        for (size_t i = 0; i < nb; i++) r.v[r.len++] = buf[i];
    }
    lm_exec_free_f32(e);
    free(buf), free(gz), free(grad), free(gx);
    return r;
}

/* float64 tangent pass along v: output, JVP, Hessian-vector product of the loss, gradient */
static pass run_f64(lm_model *m, const tcase *tc, const double *x, const double *t, const double *w,
                    const double *b, const double *v, int threads)
{
    lm_set_threads(threads);
    size_t np = lm_model_num_params(m), nout = (size_t)tc->n * lm_shape_numel(lm_model_output_shape(m));
    int k = (int)lm_shape_numel(lm_model_output_shape(m));
    double *gz = malloc(nout * sizeof *gz), *gzdot = malloc(nout * sizeof *gzdot);
    double *grad = malloc(np * sizeof *grad), *hv = malloc(np * sizeof *hv);
    pass r = {malloc((2 * nout + 2 * np) * sizeof(double)), 0};
    lm_exec_f64 *e = NULL;
    CHECK(lm_exec_create_f64(m, tc->n, LM_EXEC_TANGENT, &e) == LM_OK);
    if (e) {
        lm_exec_bind_f64(e, (double *)w, (double *)b);
        lm_exec_set_rng_f64(e, 7, 3);
        const double *z = lm_forward_f64(e, x, tc->n, LM_MODE_FROZEN, v);
        const double *zdot = lm_output_dot_f64(e);
        lm_loss_f64(LM_LOSS_XENT, z, t, tc->n, k, gz, zdot, gzdot);
        for (size_t i = 0; i < nout; i++) r.v[r.len++] = z[i];
        for (size_t i = 0; i < nout; i++) r.v[r.len++] = zdot[i];
        lm_backward_f64(e, gz, grad, NULL, gzdot, hv);
        for (size_t i = 0; i < np; i++) r.v[r.len++] = grad[i];
        for (size_t i = 0; i < np; i++) r.v[r.len++] = hv[i];
    }
    lm_exec_free_f64(e);
    free(gz), free(gzdot), free(grad), free(hv);
    return r;
}

static void compare(const char *what, const char *spec, pass one, pass two, pass again, double tol)
{
    CHECK_MSG(one.len == two.len && two.len == again.len && one.len > 0, "%s %s: pass lengths %zu %zu %zu", what,
              spec, one.len, two.len, again.len);
    if (one.len != two.len || two.len != again.len) return;
    double norm, entry;
    rel_errors(two.v, one.v, one.len, &norm, &entry);
    int same1 = !memcmp(two.v, one.v, two.len * sizeof *two.v), same2 = !memcmp(two.v, again.v, two.len * sizeof *two.v);
    printf("%-85s %s: 2 vs 1 thread %s (rel err %.2e, largest entry %.2e), 2 threads twice %s\n", spec, what,
           same1 ? "bit-identical" : "differ by rounding", norm, entry, same2 ? "bit-identical" : "DIFFER");
    (void)same1;
    CHECK_MSG(norm <= tol && entry <= tol, "%s %s: 2 threads vs 1: %.3e relative, %.3e in the largest entry (> %g)",
              what, spec, norm, entry, tol);
    CHECK_MSG(same2, "%s %s: two runs with 2 threads differ", what, spec);
}

/* Eval mode: the batch pass against one-sample passes (gradients summed in double) */
static void check_per_sample(lm_model *m, const tcase *tc, const float *x, const float *t, int threads)
{
    lm_set_threads(threads);
    size_t np = lm_model_num_params(m), in_n = lm_shape_numel(tc->in), nin = in_n * tc->n;
    int k = (int)lm_shape_numel(lm_model_output_shape(m));
    float *gz = malloc((size_t)tc->n * k * sizeof *gz), *grad = malloc(np * sizeof *grad);
    float *gx = malloc(nin * sizeof *gx), *z = malloc((size_t)tc->n * k * sizeof *z);
    float *grad1 = malloc(np * sizeof *grad1), *gx1 = malloc(in_n * sizeof *gx1);
    double *sum = calloc(np, sizeof *sum), *g64 = malloc(np * sizeof *g64);
    double *zb = malloc((size_t)tc->n * k * sizeof *zb), *zs = malloc((size_t)tc->n * k * sizeof *zs);
    double *gxb = calloc(nin, sizeof *gxb), *gxs = calloc(nin, sizeof *gxs);
    lm_exec_f32 *e = NULL, *e1 = NULL;
    CHECK(lm_exec_create_f32(m, tc->n, 0, &e) == LM_OK);
    CHECK(lm_exec_create_f32(m, 1, 0, &e1) == LM_OK);
    if (e && e1) {
        lm_exec_bind_f32(e, lm_model_params(m), lm_model_buffers(m));
        lm_exec_bind_f32(e1, lm_model_params(m), lm_model_buffers(m));
        memcpy(z, lm_forward_f32(e, x, tc->n, LM_MODE_EVAL, NULL), (size_t)tc->n * k * sizeof *z);
        lm_loss_f32(LM_LOSS_XENT, z, t, tc->n, k, gz, NULL, NULL);
        lm_backward_f32(e, gz, grad, gx, NULL, NULL);
        for (int i = 0; i < tc->n; i++) {
            const float *zi = lm_forward_f32(e1, x + i * in_n, 1, LM_MODE_EVAL, NULL);
            for (int j = 0; j < k; j++) zs[(size_t)i * k + j] = zi[j];
            lm_backward_f32(e1, gz + (size_t)i * k, grad1, gx1, NULL, NULL);
            for (size_t j = 0; j < np; j++) sum[j] += grad1[j];
            for (size_t j = 0; j < in_n; j++) gxs[i * in_n + j] = gx1[j];
        }
        for (size_t j = 0; j < np; j++) g64[j] = grad[j];
        for (size_t j = 0; j < (size_t)tc->n * k; j++) zb[j] = z[j];
        for (size_t j = 0; j < nin; j++) gxb[j] = gx[j];
        double nz, ez, ng, eg, nx, ex;
        rel_errors(zb, zs, (size_t)tc->n * k, &nz, &ez);
        rel_errors(g64, sum, np, &ng, &eg);
        rel_errors(gxb, gxs, nin, &nx, &ex);
        printf("%-85s eval, %d thread(s), batch vs one sample at a time: output %.2e, gradient %.2e (largest "
               "entry %.2e), input gradient %.2e\n", tc->spec, threads, nz, ng, eg, nx);
        double gxmax = 0;
        for (size_t j = 0; j < nin; j++) gxmax = fmax(gxmax, fabs(gxs[j]));
        CHECK_MSG(gxmax > 0, "%s: zero input gradient", tc->spec);
        CHECK_MSG(nz <= 1e-5 && ez <= 1e-5, "%s: batch outputs vs per-sample: %.3e / %.3e", tc->spec, nz, ez);
        CHECK_MSG(ng <= 1e-5 && eg <= 1e-5, "%s: batch gradient vs the sum of per-sample gradients: %.3e / %.3e",
                  tc->spec, ng, eg);
        CHECK_MSG(nx <= 1e-5 && ex <= 1e-5, "%s: batch input gradient vs per-sample: %.3e / %.3e", tc->spec, nx, ex);
    }
    lm_exec_free_f32(e);
    lm_exec_free_f32(e1);
    free(gz), free(grad), free(gx), free(z), free(grad1), free(gx1), free(sum), free(g64);
    free(zb), free(zs), free(gxb), free(gxs);
}

static void run_case(const tcase *tc, uint64_t seed)
{
    lm_model *m = NULL;
    CHECK_MSG(lm_model_create(tc->spec, tc->in, LM_PARAM_STANDARD, seed, &m) == LM_OK, "%s: %s", tc->spec,
              lm_error_message());
    if (!m) return;
    size_t np = lm_model_num_params(m), nb = lm_model_num_buffers(m), nin = lm_shape_numel(tc->in) * tc->n;
    int k = (int)lm_shape_numel(lm_model_output_shape(m));
    float *w32 = lm_model_params(m), *b32 = lm_model_buffers(m);
    for (size_t i = 0; i < np; i++) w32[i] += (float)(0.01 * lm_rand_normal(seed, 40, i)); /* no zero bias */
    float *x32 = malloc(nin * sizeof *x32), *t32 = malloc(tc->n * sizeof *t32);
    lm_rand_normal_fill_f32(x32, nin, 1.0, seed, 30);
    for (int i = 0; i < tc->n; i++) t32[i] = (float)(i % k);

    pass one = run_f32(m, tc, x32, t32, b32, 1), two = run_f32(m, tc, x32, t32, b32, 2),
         again = run_f32(m, tc, x32, t32, b32, 2);
    compare("float32 train", tc->spec, one, two, again, 1e-5);
    check_per_sample(m, tc, x32, t32, 1);
    check_per_sample(m, tc, x32, t32, 2);
    free(one.v), free(two.v), free(again.v);

    double *x = malloc(nin * sizeof *x), *t = malloc(tc->n * sizeof *t), *w = malloc(np * sizeof *w);
    double *b = malloc((nb + 1) * sizeof *b), *v = malloc(np * sizeof *v);
    for (size_t i = 0; i < nin; i++) x[i] = x32[i];
    for (int i = 0; i < tc->n; i++) t[i] = t32[i];
    for (size_t i = 0; i < np; i++) w[i] = w32[i];
    for (size_t i = 0; i < nb; i++) b[i] = b32[i];
    lm_rand_normal_fill_f64(v, np, 1.0, seed, 50);
    one = run_f64(m, tc, x, t, w, b, v, 1), two = run_f64(m, tc, x, t, w, b, v, 2),
    again = run_f64(m, tc, x, t, w, b, v, 2);
    compare("float64 tangent", tc->spec, one, two, again, 1e-12);
    free(one.v), free(two.v), free(again.v);
    free(x), free(t), free(w), free(b), free(v), free(x32), free(t32);
    lm_model_free(m);
}

int main(void)
{
    if (lm_num_cores() < 2) {
        printf("one core: lm_par_threads never splits a loop here; the checks still run\n");
    } else {
        lm_set_threads(2);
        CHECK(lm_par_threads(LM_PAR_MIN_WORK) == 2);
        CHECK(lm_par_threads(LM_PAR_MIN_WORK - 1) == 1);
        lm_set_threads(1);
        CHECK(lm_par_threads((size_t)1 << 30) == 1);
    }
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) run_case(&cases[i], 11 + i);
    lm_set_threads(1);
    return check_summary();
}
