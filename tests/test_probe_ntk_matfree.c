// ctest-labels: unit
/* Tangent kernels without storing them, and the block kernel (docs/theory.md §7.9):
 *   - the block kernel (nK x nK) against J J^T from Jacobian rows of every (input, output) pair
 *     (single-sample backward passes, 1e-12), by the Gram identity and by per-sample gradients;
 *     its diagonal blocks are the per-output kernels and their sum is the summed kernel;
 *   - the kernel operator K v = J (J^T v) against the formed kernel times v (1e-12): one output,
 *     the sum over outputs and the block kernel, dense (chunks of 100) and convolutional models;
 *   - lm_probe_ntk_matfree on n = 512 inputs: lambda_max, lambda_min and the trace equal those of
 *     the formed kernel (dsyevd) to 1e-8 of lambda_max; the trace without K (Gram diagonal and
 *     per-sample) against the formed kernel's (1e-12);
 *   - the memory: the planned bytes stay within the cap, and a cap below the operator is LM_ENOMEM. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/probe.h"
#include "linmass/rng.h"

static double max_abs(const double *a, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i]));
    return m;
}

/* Jacobian rows of every (input, output), row i K + k, from single-sample backward passes. */
static double *jacobian(lm_model *m, const double *x, int n)
{
    size_t p = lm_model_num_params(m), nin = lm_shape_numel(lm_model_input_shape(m));
    int K = (int)lm_shape_numel(lm_model_output_shape(m));
    double *w = malloc(p * sizeof *w), *J = malloc((size_t)n * K * p * sizeof *J), *gz = calloc(K, sizeof *gz);
    for (size_t j = 0; j < p; j++) w[j] = lm_model_params(m)[j];
    lm_exec_f64 *e;
    CHECK(lm_exec_create_f64(m, 1, 0, &e) == LM_OK);
    lm_exec_bind_f64(e, w, NULL);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < K; k++) {
            lm_forward_f64(e, x + (size_t)i * nin, 1, LM_MODE_EVAL, NULL);
            gz[k] = 1;
            lm_backward_f64(e, gz, J + ((size_t)i * K + k) * p, NULL, NULL, NULL);
            gz[k] = 0;
        }
    lm_exec_free_f64(e);
    free(w), free(gz);
    return J;
}

static void check_block_kernel(const char *spec, lm_shape in, int n)
{
    lm_model *m;
    CHECK(lm_model_create(spec, in, LM_PARAM_NTK, 3, &m) == LM_OK);
    size_t p = lm_model_num_params(m), nin = lm_shape_numel(in);
    int K = (int)lm_shape_numel(lm_model_output_shape(m)), N = n * K;
    double *x = malloc((size_t)n * nin * sizeof *x);
    lm_rand_normal_fill_f64(x, (uint64_t)n * nin, 1.0, 4, 1);
    double *J = jacobian(m, x, n), *ref = malloc((size_t)N * N * sizeof *ref), *Kb = malloc((size_t)N * N * sizeof *Kb);
    for (int a = 0; a < N; a++)
        for (int b = 0; b < N; b++) {
            double s = 0;
            for (size_t j = 0; j < p; j++) s += J[(size_t)a * p + j] * J[(size_t)b * p + j];
            ref[(size_t)a * N + b] = s;
        }
    double scale = max_abs(ref, (size_t)N * N);
    lm_ntk_opts o = {0};
    o.block = 1;
    CHECK(lm_ntk_dim(m, n, &o) == (size_t)N);
    for (int method = LM_NTK_GRAM; method <= LM_NTK_PER_SAMPLE; method++) {
        if (method == LM_NTK_GRAM && !lm_ntk_gram_applies(m)) continue;
        o.method = (lm_ntk_method)method;
        lm_ntk_info info;
        CHECK(lm_probe_ntk(m, x, n, &o, Kb, &info) == LM_OK);
        double d = 0;
        for (size_t a = 0; a < (size_t)N * N; a++) d = fmax(d, fabs(Kb[a] - ref[a]));
        printf("%-36s block kernel %dx%d by %s: within %.2g of J J^T (largest entry %.3g), %zu bytes\n", spec, N, N,
               method == LM_NTK_GRAM ? "the Gram identity" : "per-sample rows", d, scale, info.bytes);
        CHECK_MSG(d <= 1e-12 * scale, "%s: block kernel off by %.3g", spec, d);
    }
    /* the diagonal blocks are the per-output kernels, their sum the summed kernel */
    double *Kk = malloc((size_t)n * n * sizeof *Kk), *Ks = calloc((size_t)n * n, sizeof *Ks), worst = 0;
    for (int k = 0; k < K; k++) {
        lm_ntk_opts ok = {0};
        ok.net.output = k;
        CHECK(lm_probe_ntk(m, x, n, &ok, Kk, NULL) == LM_OK);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                double b = Kb[((size_t)i * K + k) * N + (size_t)j * K + k];
                worst = fmax(worst, fabs(Kk[(size_t)i * n + j] - b));
                Ks[(size_t)i * n + j] += b;
            }
    }
    lm_ntk_opts os = {0};
    os.net.output = LM_OUTPUT_SUM;
    CHECK(lm_probe_ntk(m, x, n, &os, Kk, NULL) == LM_OK);
    for (size_t a = 0; a < (size_t)n * n; a++) worst = fmax(worst, fabs(Kk[a] - Ks[a]));
    CHECK_MSG(worst <= 1e-12 * scale, "%s: the block kernel's diagonal blocks differ by %.3g", spec, worst);
    free(J), free(ref), free(Kb), free(Kk), free(Ks), free(x);
    lm_model_free(m);
}

/* K v by the operator against the formed kernel, for one output, the sum and the block kernel. */
static void check_operator(const char *spec, lm_shape in, int n)
{
    lm_model *m;
    CHECK(lm_model_create(spec, in, LM_PARAM_NTK, 5, &m) == LM_OK);
    size_t nin = lm_shape_numel(in);
    int K = (int)lm_shape_numel(lm_model_output_shape(m));
    double *x = malloc((size_t)n * nin * sizeof *x);
    lm_rand_normal_fill_f64(x, (uint64_t)n * nin, 1.0, 6, 1);
    for (int kind = 0; kind < 3; kind++) {
        lm_ntk_opts o = {0};
        o.net.output = kind == 0 ? K - 1 : LM_OUTPUT_SUM;
        o.block = kind == 2;
        o.net.max_batch = 100;
        size_t N = lm_ntk_dim(m, n, &o);
        double *Kf = malloc(N * N * sizeof *Kf), *v = malloc(N * sizeof *v), *kv = malloc(N * sizeof *kv);
        double *ref = calloc(N, sizeof *ref);
        CHECK(lm_probe_ntk(m, x, n, &o, Kf, NULL) == LM_OK);
        lm_rand_normal_fill_f64(v, N, 1.0, 7, kind);
        for (size_t a = 0; a < N; a++)
            for (size_t b = 0; b < N; b++) ref[a] += Kf[a * N + b] * v[b];
        lm_ntk_op *op;
        CHECK(lm_ntk_op_create(m, x, n, &o, &op) == LM_OK);
        CHECK(lm_ntk_op_dim(op) == N);
        lm_ntk_op_apply(op, v, kv);
        double d = 0;
        for (size_t a = 0; a < N; a++) d = fmax(d, fabs(kv[a] - ref[a]));
        const char *kname = kind == 0 ? "one output" : kind == 1 ? "sum" : "block";
        printf("%-36s operator (%s, dim %zu): K v within %.2g of the formed kernel's (largest %.3g)\n", spec, kname, N, d,
               max_abs(ref, N));
        CHECK_MSG(d <= 1e-12 * max_abs(ref, N), "%s %s: K v off by %.3g", spec, kname, d);
        /* the trace without K */
        double tr = 0, tf = 0;
        for (size_t a = 0; a < N; a++) tf += Kf[a * N + a];
        for (int method = LM_NTK_AUTO; method <= LM_NTK_PER_SAMPLE; method += 2) {
            o.method = (lm_ntk_method)method;
            CHECK(lm_probe_ntk_trace(m, x, n, &o, &tr) == LM_OK);
            CHECK_MSG(fabs(tr - tf) <= 1e-12 * tf, "%s %s: trace %.15g vs %.15g", spec, kname, tr, tf);
        }
        lm_ntk_op_free(op);
        free(Kf), free(v), free(kv), free(ref);
    }
    free(x);
    lm_model_free(m);
}

/* lambda_max, lambda_min and the trace on 512 inputs against the formed kernel. */
static void check_matfree(void)
{
    enum { N = 512, D = 10 };
    lm_model *m;
    CHECK(lm_model_create("dense:48,tanh,dense:48,tanh,dense:2", (lm_shape){D, 1, 1}, LM_PARAM_NTK, 8, &m) == LM_OK);
    double *x = malloc(N * D * sizeof *x);
    lm_rand_normal_fill_f64(x, N * D, 1.0, 9, 1);
    for (int kind = 0; kind < 2; kind++) {
        lm_ntk_matfree_opts o = {0};
        o.ntk.net.output = 0;
        o.ntk.block = kind == 1;
        size_t dim = lm_ntk_dim(m, N, &o.ntk);
        o.eig.max_steps = (int)dim;
        double *ev = malloc(dim * sizeof *ev);
        lm_spectrum sp;
        CHECK(lm_probe_ntk_spectrum(m, x, N, &o.ntk, NULL, ev, &sp, NULL) == LM_OK);
        lm_ntk_matfree_result r;
        lm_status st = lm_probe_ntk_matfree(m, x, N, &o, &r);
        CHECK_MSG(st == LM_OK, "%s", lm_error_message());
        printf("matrix-free %s kernel, %zu x %zu: lambda_max %.12g (formed %.12g), lambda_min %.6e (formed %.6e), trace "
               "%.12g (formed %.12g), %d products, %zu bytes planned\n", kind ? "block" : "one-output", dim, dim,
               r.lambda_max, sp.lambda_max, r.lambda_min, sp.lambda_min, r.trace, sp.trace, r.eig.steps, r.bytes);
        CHECK(r.dim == dim);
        CHECK(fabs(r.lambda_max - sp.lambda_max) <= 1e-8 * sp.lambda_max);
        CHECK(fabs(r.lambda_min - sp.lambda_min) <= 1e-8 * sp.lambda_max);
        /* the reported residual bounds hold: an eigenvalue within each */
        CHECK(fabs(r.lambda_max - sp.lambda_max) <= r.eig.max_residual + 1e-12 * sp.lambda_max);
        CHECK(fabs(r.lambda_min - sp.lambda_min) <= r.eig.min_residual + 1e-12 * sp.lambda_max);
        CHECK(fabs(r.trace - sp.trace) <= 1e-8 * sp.lambda_max);
        CHECK_CLOSE(r.lr_catapult, 2 / sp.lambda_max, 1e-8);
        CHECK(r.bytes <= (size_t)1 << 30);
        /* a cap below the operator itself */
        o.ntk.mem_cap = 4096;
        CHECK(lm_probe_ntk_matfree(m, x, N, &o, &r) == LM_ENOMEM);
        free(ev);
    }
    /* a small cap: the plain recurrence (no basis), still within the cap */
    lm_ntk_matfree_opts o = {0};
    o.eig.max_steps = 60;
    lm_ntk_op *op;
    CHECK(lm_ntk_op_create(m, x, N, &o.ntk, &op) == LM_OK);
    o.ntk.mem_cap = lm_ntk_op_bytes(op) + 10 * N * sizeof(double) + 60 * 70 * sizeof(double);
    lm_ntk_op_free(op);
    lm_ntk_matfree_result r;
    CHECK(lm_probe_ntk_matfree(m, x, N, &o, &r) == LM_OK);
    CHECK(!r.eig.reorth && r.bytes <= o.ntk.mem_cap);
    printf("cap %zu bytes: three-term recurrence, %zu bytes planned, lambda_max %.10g\n", o.ntk.mem_cap, r.bytes, r.lambda_max);
    free(x);
    lm_model_free(m);
}

int main(void)
{
    check_block_kernel("dense:6,tanh,dense:5,relu,dense:3", (lm_shape){4, 1, 1}, 7);
    check_block_kernel("conv:2x3,tanh,gap,dense:3", (lm_shape){1, 5, 5}, 5);
    check_operator("dense:16,softplus,dense:12,tanh,dense:3", (lm_shape){5, 1, 1}, 230);
    check_operator("conv:2x3,tanh,avgpool:2,dense:2", (lm_shape){1, 6, 6}, 40);
    check_matfree();
    return check_summary();
}
