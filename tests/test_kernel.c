/* Linear and kernel models: the dense:N:nobias flag, the kernelfeat layer (spec, the :rkhs flag,
 * refusals, kernel rows against a direct float64 computation in both precisions, the zero JVP,
 * the NaN input gradient), gradients and Hessian-vector products of a whole kernel machine
 * against central differences, the aliases "linear" and "kernel:TYPE:BW", and the float64
 * features that --auto and constants hand to lm_linreg_constants: for an RKHS kernel machine
 * the constants of docs/theory.md §2.1 against the kernel matrix computed here and its
 * eigenvalues by a Jacobi iteration written here (L = lambda_max(K)/n, mu = lambda_min(K)/n,
 * L1 = 1, kappa-tilde = n for a full-rank K), and against the document's worked example. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/exec.h"
#include "linmass/rng.h"
#include "linmass/theory.h"

static double direct_kernel(int laplacian, double bw, const float *a, const float *b, int d)
{
    double r2 = 0;
    for (int k = 0; k < d; k++) r2 += ((double)a[k] - b[k]) * ((double)a[k] - b[k]);
    return laplacian ? exp(-sqrt(r2) / bw) : exp(-r2 / (2 * bw * bw));
}

static void test_nobias(void)
{
    lm_model *m = NULL;
    CHECK(lm_model_create("dense:3:nobias", (lm_shape){1, 2, 2}, LM_PARAM_STANDARD, 1, &m) == LM_OK);
    if (!m) return;
    CHECK(lm_model_num_params(m) == 12);
    CHECK(lm_model_num_tensors(m) == 1);
    CHECK(lm_model_find_tensor(m, "1.weight") != NULL); /* 0 is the implied flatten */
    CHECK(lm_model_find_tensor(m, "1.bias") == NULL);
    lm_model_free(m);
    CHECK(lm_model_create("dense:3:bias", (lm_shape){4, 1, 1}, LM_PARAM_STANDARD, 1, &m) == LM_EINVAL);
    CHECK(strstr(lm_error_message(), "dense:N[:nobias]") != NULL); /* the entry's syntax */
}

static void test_spec_errors(void)
{
    static const struct {
        const char *spec, *fragment;
    } bad[] = {
        {"kernelfeat:cosine:1:4", "kernelfeat:gaussian"},
        {"kernelfeat:gaussian:0:4", "bandwidth"},
        {"kernelfeat:gaussian:-1:4", "bandwidth"},
        {"kernelfeat:gaussian:x:4", "bandwidth"},
        {"kernelfeat:laplacian:1", "bandwidth"},
        {"kernelfeat:laplacian:1:0", "centres"},
        {"kernelfeat:laplacian:1:3x", "centres"},
        {"dense:3,kernelfeat:gaussian:1:4", "first layer"},
        {"kernelfeat:gaussian:1:4:rkhs:rkhs", "only :rkhs"},
        {"kernelfeat:gaussian:1:4:ekhs", "only :rkhs"},
        {"kernelfeat:gaussian:1:4:rkhs,flatten,dense:3", "dense:K:nobias"},
        {"kernelfeat:gaussian:1:4:rkhs,flatten,dense:3:nobias,tanh", "dense:K:nobias"},
        {"kernelfeat:gaussian:1:4:rkhs,dense:5:nobias,dense:3:nobias", "dense:K:nobias"},
        {"linear", "linmass train expands"},
        {"kernel:gaussian:1", "linmass train expands"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        lm_model *m = NULL;
        lm_status st = lm_model_create(bad[i].spec, (lm_shape){4, 1, 1}, LM_PARAM_STANDARD, 1, &m);
        CHECK_MSG(st == LM_EINVAL && !m, "'%s' was accepted", bad[i].spec);
        CHECK_MSG(strstr(lm_error_message(), bad[i].fragment) != NULL, "'%s': message '%s' lacks '%s'",
                  bad[i].spec, lm_error_message(), bad[i].fragment);
        lm_model_free(m);
    }
}

static void test_aliases(void)
{
    char buf[128];
    CHECK(!strcmp(lm_model_alias_spec("linear", 3, 100, buf, sizeof buf), "dense:3:nobias"));
    CHECK(!strcmp(lm_model_alias_spec("kernel:gaussian:5", 10, 10000, buf, sizeof buf),
                  "kernelfeat:gaussian:5:10000:rkhs,flatten,dense:10:nobias"));
    CHECK(!strcmp(lm_model_alias_spec("kernel:laplacian:0.5", 1, 7, buf, sizeof buf),
                  "kernelfeat:laplacian:0.5:7:rkhs,flatten,dense:1:nobias"));
    CHECK(lm_model_alias_spec("fcn", 10, 10, buf, sizeof buf) == NULL);
    CHECK(lm_model_alias_spec("dense:3:nobias", 10, 10, buf, sizeof buf) == NULL);
    /* the expanded kernel machine: state_dict "2.weight" (K x N) and nothing else */
    lm_model *m = NULL;
    lm_model_alias_spec("kernel:gaussian:2", 3, 5, buf, sizeof buf);
    CHECK(lm_model_create(buf, (lm_shape){1, 2, 2}, LM_PARAM_STANDARD, 1, &m) == LM_OK);
    if (!m) return;
    CHECK(lm_model_num_params(m) == 15);
    CHECK(lm_model_num_tensors(m) == 1);
    const lm_tensor_info *t = lm_model_find_tensor(m, "2.weight");
    CHECK(t && t->dims[0] == 3 && t->dims[1] == 5);
    CHECK(lm_model_kernel_centres(m) == 5);
    CHECK(lm_model_kernel_rkhs(m) == 1);
    float x[20] = {0};
    CHECK(lm_model_set_kernel_centres(m, x, 4) == LM_EINVAL);
    lm_model_free(m);
    CHECK(lm_model_create("kernelfeat:gaussian:2:5,flatten,dense:3:nobias", (lm_shape){4, 1, 1}, LM_PARAM_STANDARD, 1,
                          &m) == LM_OK);
    CHECK(lm_model_kernel_rkhs(m) == 0); /* the Euclidean variant */
    float gz[3] = {1, 2, 3}, grad[15];
    const uint32_t idx[1] = {0};
    CHECK(lm_model_rkhs_gradient(m, gz, idx, 1, grad) == LM_EINVAL);
    lm_model_free(m);
    CHECK(lm_model_create("dense:2", (lm_shape){4, 1, 1}, LM_PARAM_STANDARD, 1, &m) == LM_OK);
    CHECK(lm_model_kernel_centres(m) == 0 && lm_model_kernel_rkhs(m) == 0);
    CHECK(lm_model_set_kernel_centres(m, x, 4) == LM_EINVAL);
    lm_model_free(m);
}

/* Kernel rows in float32 and float64 against a direct float64 computation, with a sample equal
 * to a centre (r = 0: the clamp), and a zero output tangent. */
static void test_rows(int laplacian)
{
    enum { N = 1500, D = 7, NS = 5 }; /* more than one block of centres */
    char spec[96];
    double bw = laplacian ? 2.5 : 1.7;
    snprintf(spec, sizeof spec, "kernelfeat:%s:%g:%d", laplacian ? "laplacian" : "gaussian", bw, N);
    lm_model *m = NULL;
    CHECK(lm_model_create(spec, (lm_shape){1, 1, D}, LM_PARAM_STANDARD, 1, &m) == LM_OK);
    if (!m) return;
    float *c = malloc(sizeof *c * N * D), x[NS * D];
    lm_rand_normal_fill_f32(c, (uint64_t)N * D, 1.0, 3, 1);
    lm_rand_normal_fill_f32(x, NS * D, 1.0, 3, 2);
    memcpy(x + 2 * D, c + 1234 * D, sizeof *x * D); /* sample 2 is centre 1234 */
    CHECK(lm_model_set_kernel_centres(m, c, N) == LM_OK);
    size_t nb = lm_model_num_buffers(m);
    double *b64 = malloc(sizeof *b64 * nb), x64[NS * D];
    for (size_t i = 0; i < nb; i++) b64[i] = lm_model_buffers(m)[i];
    for (int i = 0; i < NS * D; i++) x64[i] = x[i];
    lm_exec_f32 *e32 = NULL;
    lm_exec_f64 *e64 = NULL;
    CHECK(lm_exec_create_f32(m, NS, 0, &e32) == LM_OK);
    CHECK(lm_exec_create_f64(m, NS, LM_EXEC_TANGENT, &e64) == LM_OK);
    lm_exec_bind_f32(e32, lm_model_params(m), lm_model_buffers(m));
    lm_exec_bind_f64(e64, NULL, b64);
    const float *y32 = lm_forward_f32(e32, x, NS, LM_MODE_EVAL, NULL);
    const double *y64 = lm_forward_f64(e64, x64, NS, LM_MODE_EVAL, NULL);
    const double *dy = lm_output_dot_f64(e64);
    double err32 = 0, err64 = 0, tangent = 0;
    for (int i = 0; i < NS; i++)
        for (int j = 0; j < N; j++) {
            double ref = direct_kernel(laplacian, bw, x + i * D, c + (size_t)j * D, D);
            err32 = fmax(err32, fabs(y32[(size_t)i * N + j] - ref));
            err64 = fmax(err64, fabs(y64[(size_t)i * N + j] - ref));
            tangent = fmax(tangent, fabs(dy[(size_t)i * N + j]));
        }
    printf("kernel rows %-9s: max error float32 %.1e, float64 %.1e; k(c, c) = %.9f\n",
           laplacian ? "laplacian" : "gaussian", err32, err64, y64[2 * N + 1234]);
    /* the float32 Laplacian at r = 0 sees sqrt of the cancellation error: |x|^2 ~ 7 -> 1e-3 */
    CHECK_MSG(err32 < (laplacian ? 3e-3 : 2e-6), "float32 kernel rows off by %.2e", err32);
    CHECK_MSG(err64 < 1e-7, "float64 kernel rows off by %.2e", err64); /* centres' norms are float */
    CHECK(fabs(y64[2 * N + 1234] - 1) < (laplacian ? 1e-3 : 1e-9));
    CHECK(tangent == 0);
    /* no input gradient: NaN, not a silent zero */
    double gz[NS * N], gx[NS * D];
    for (int i = 0; i < NS * N; i++) gz[i] = 1;
    lm_backward_f64(e64, gz, NULL, gx, NULL, NULL);
    CHECK(isnan(gx[0]) && isnan(gx[NS * D - 1]));
    lm_exec_free_f32(e32);
    lm_exec_free_f64(e64);
    free(c), free(b64);
    lm_model_free(m);
}

/* A whole kernel machine in float64: the gradient, JVP and HVP against central differences of
 * the MSE loss (a quadratic in the parameters, so the differences are exact to rounding). */
static void test_machine_derivatives(lm_param_kind param)
{
    enum { N = 9, NS = 4, K = 2 };
    lm_model *m = NULL;
    CHECK(lm_model_create("kernelfeat:gaussian:1.3:9,flatten,dense:2:nobias", (lm_shape){1, 2, 3}, param, 2, &m) ==
          LM_OK);
    if (!m) return;
    float c[N * 6];
    lm_rand_normal_fill_f32(c, N * 6, 0.7, 5, 1);
    CHECK(lm_model_set_kernel_centres(m, c, N) == LM_OK);
    size_t np = lm_model_num_params(m), nb = lm_model_num_buffers(m);
    CHECK(np == K * N);
    double w[K * N], v[K * N], wt[K * N], g[K * N], g2[K * N], hv[K * N], fd[K * N], gp[K * N];
    double *buf = malloc(sizeof *buf * nb), x[NS * 6], t[NS * K], gz[NS * K], zdot[NS * K], gzdot[NS * K];
    for (size_t i = 0; i < nb; i++) buf[i] = lm_model_buffers(m)[i];
    lm_rand_normal_fill_f64(w, np, 1.0, 5, 2);
    lm_rand_normal_fill_f64(v, np, 1.0, 5, 3);
    lm_rand_normal_fill_f64(x, NS * 6, 0.7, 5, 4);
    lm_rand_normal_fill_f64(t, NS * K, 1.0, 5, 5);
    lm_exec_f64 *e = NULL;
    CHECK(lm_exec_create_f64(m, NS, LM_EXEC_TANGENT, &e) == LM_OK);
    if (!e) return;
    lm_exec_bind_f64(e, w, buf);
    const double *z = lm_forward_f64(e, x, NS, LM_MODE_EVAL, v);
    memcpy(zdot, lm_output_dot_f64(e), sizeof zdot);
    lm_loss_f64(LM_LOSS_MSE, z, t, NS, K, gz, zdot, gzdot);
    lm_backward_f64(e, gz, g, NULL, gzdot, hv);
    double h = 1e-5, gv = 0, zfd[NS * K], ejvp = 0, njvp = 0;
    for (size_t i = 0; i < np; i++) gv += g[i] * v[i];
    double side[2];
    for (int s = 0; s < 2; s++) {
        for (size_t i = 0; i < np; i++) wt[i] = w[i] + (s ? -h : h) * v[i];
        lm_exec_bind_f64(e, wt, buf);
        z = lm_forward_f64(e, x, NS, LM_MODE_EVAL, NULL);
        for (int i = 0; i < NS * K; i++) zfd[i] = s ? (zfd[i] - z[i]) / (2 * h) : z[i];
        side[s] = lm_loss_f64(LM_LOSS_MSE, z, t, NS, K, gz, NULL, NULL);
        lm_backward_f64(e, gz, s ? g2 : gp, NULL, NULL, NULL);
    }
    for (int i = 0; i < NS * K; i++) ejvp += (zfd[i] - zdot[i]) * (zfd[i] - zdot[i]), njvp += zdot[i] * zdot[i];
    double ehvp = 0, nhvp = 0;
    for (size_t i = 0; i < np; i++) {
        fd[i] = (gp[i] - g2[i]) / (2 * h);
        ehvp += (fd[i] - hv[i]) * (fd[i] - hv[i]), nhvp += hv[i] * hv[i];
    }
    double evjp = fabs((side[0] - side[1]) / (2 * h) - gv) / fabs(gv);
    ejvp = sqrt(ejvp / njvp), ehvp = sqrt(ehvp / nhvp);
    printf("kernel machine (%s): vjp %.1e jvp %.1e hvp %.1e\n", param == LM_PARAM_NTK ? "ntk" : "standard", evjp,
           ejvp, ehvp);
    CHECK_MSG(evjp < 1e-8, "gradient relative error %.2e", evjp);
    CHECK_MSG(ejvp < 1e-8, "JVP relative error %.2e", ejvp);
    CHECK_MSG(ehvp < 1e-8, "HVP relative error %.2e", ehvp);
    lm_exec_free_f64(e);
    free(buf);
    lm_model_free(m);
}

/* Features for --auto: the inputs for linear models; the kernel matrix for kernel models. */
static void test_features(void)
{
    enum { N = 30, D = 4 };
    float x[N * D];
    lm_rand_normal_fill_f32(x, N * D, 1.0, 9, 1);
    lm_model *m = NULL;
    double *phi = NULL;
    int rows = 0, cols = 0;
    CHECK(lm_model_create("dense:2:nobias", (lm_shape){D, 1, 1}, LM_PARAM_NTK, 1, &m) == LM_OK);
    CHECK(lm_model_linear_features(m, x, N, 0, 1, &phi, &rows, &cols) == LM_OK);
    CHECK(rows == N && cols == D);
    double worst = 0;
    for (int i = 0; phi && i < N * D; i++) worst = fmax(worst, fabs(phi[i] - x[i] / 2.0)); /* ntk: 1/sqrt(4) */
    CHECK(worst < 1e-15);
    free(phi);
    lm_model_free(m);

    CHECK(lm_model_create("kernelfeat:laplacian:2:30,flatten,dense:1:nobias", (lm_shape){D, 1, 1},
                          LM_PARAM_STANDARD, 1, &m) == LM_OK);
    CHECK(lm_model_set_kernel_centres(m, x, N) == LM_OK);
    CHECK(lm_model_linear_features(m, x, N, 0, 1, &phi, &rows, &cols) == LM_OK);
    CHECK(rows == N && cols == N);
    worst = 0;
    for (int i = 0; phi && i < N; i++)
        for (int j = 0; j < N; j++)
            worst = fmax(worst, fabs(phi[i * N + j] - direct_kernel(1, 2, x + i * D, x + j * D, D)));
    CHECK_MSG(worst < 1e-6, "kernel features off by %.2e", worst); /* sqrt of r^2 ~ 0 on the diagonal */
    /* on the range, the kernel matrix's constants: L1 <= max_i |K_i|^2 */
    lm_constants k;
    CHECK(lm_linreg_constants(phi, rows, cols, 1, &k) == LM_OK);
    CHECK(k.L1 <= k.L1_bound * (1 + 1e-12));
    free(phi);
    /* a subsample of 10: rows and columns from the same permutation, scaled by sqrt(30/10) */
    CHECK(lm_model_linear_features(m, x, N, 10, 4, &phi, &rows, &cols) == LM_OK);
    CHECK(rows == 10 && cols == 10);
    for (int i = 0; phi && i < 10; i++) CHECK(fabs(phi[i * 10 + i] - sqrt(3.0)) < 1e-3); /* k(c, c) = 1 */
    free(phi);
    lm_model_free(m);

    CHECK(lm_model_create("dense:2", (lm_shape){D, 1, 1}, LM_PARAM_STANDARD, 1, &m) == LM_OK);
    CHECK(lm_model_linear_features(m, x, N, 0, 1, &phi, &rows, &cols) == LM_EINVAL && !phi);
    CHECK(strstr(lm_error_message(), "not linear in its parameters") != NULL);
    lm_model_free(m);
    CHECK(lm_model_create("dense:3:nobias,tanh,dense:1:nobias", (lm_shape){D, 1, 1}, LM_PARAM_STANDARD, 1, &m) ==
          LM_OK);
    CHECK(lm_model_linear_features(m, x, N, 0, 1, &phi, &rows, &cols) == LM_EINVAL);
    lm_model_free(m);
}

/* All eigenvalues of the symmetric n x n A (destroyed) by cyclic Jacobi rotations, unsorted. */
static void jacobi_eigenvalues(int n, double *A, double *ev)
{
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0;
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++) off += A[p * n + q] * A[p * n + q];
        if (off < 1e-300) break;
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++) {
                double apq = A[p * n + q];
                if (apq == 0) continue;
                double theta = (A[q * n + q] - A[p * n + p]) / (2 * apq);
                double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                for (int k = 0; k < n; k++) { /* A P, then P^T (A P) */
                    double akp = A[k * n + p], akq = A[k * n + q];
                    A[k * n + p] = c * akp - s * akq, A[k * n + q] = s * akp + c * akq;
                }
                for (int k = 0; k < n; k++) {
                    double apk = A[p * n + k], aqk = A[q * n + k];
                    A[p * n + k] = c * apk - s * aqk, A[q * n + k] = s * apk + c * aqk;
                }
            }
    }
    for (int i = 0; i < n; i++) ev[i] = A[i * n + i];
}

/* The constants of an RKHS kernel machine's features on all n samples. */
static lm_constants rkhs_constants(const char *type, double bw, lm_param_kind param, const float *x, int n, int d,
                                   int max_rows, int *rows)
{
    char spec[128];
    snprintf(spec, sizeof spec, "kernelfeat:%s:%g:%d:rkhs,flatten,dense:2:nobias", type, bw, n);
    lm_model *m = NULL;
    lm_constants k;
    memset(&k, 0, sizeof k);
    double *phi = NULL;
    int cols = 0;
    *rows = 0;
    CHECK(lm_model_create(spec, (lm_shape){d, 1, 1}, param, 1, &m) == LM_OK);
    if (!m) return k;
    CHECK(lm_model_set_kernel_centres(m, x, (size_t)n) == LM_OK);
    CHECK(lm_model_linear_features(m, x, (size_t)n, max_rows, 2, &phi, rows, &cols) == LM_OK);
    CHECK(cols == *rows);
    if (phi) CHECK(lm_linreg_constants(phi, *rows, cols, 1, &k) == LM_OK);
    free(phi);
    /* its samples are its centres: other samples are refused */
    int r2, c2;
    CHECK(lm_model_linear_features(m, x, (size_t)n - 1, 0, 2, &phi, &r2, &c2) == LM_EINVAL && !phi);
    lm_model_free(m);
    return k;
}

static double rel(double got, double want) { return fabs(got - want) / fabs(want); }

/* docs/theory.md §2.1's worked example: x = 0..4 on a line, Gaussian BW 1. Then 40 random points
 * against the kernel matrix and its eigenvalues computed here; a subsample; ntk; Laplacian. */
static void test_rkhs_constants(void)
{
    int rows;
    float line[5] = {0, 1, 2, 3, 4};
    lm_constants k = rkhs_constants("gaussian", 1, LM_PARAM_STANDARD, line, 5, 1, 0, &rows);
    printf("worked example: L %.7g mu %.7g kappa %.6g L1 %.9f kappa-tilde %.9f\n", k.L, k.mu, k.kappa, k.L1, k.kappa_tilde);
    CHECK(rows == 5 && k.rank == 5);
    CHECK(rel(k.L, 2.2170844 / 5) < 1e-6 && rel(k.mu, 0.0987163 / 5) < 1e-6 && rel(k.kappa, 22.4591) < 1e-5);
    CHECK(fabs(k.L1 - 1) < 1e-9 && fabs(k.kappa_tilde - 5) < 1e-9);

    enum { N = 40, D = 4 };
    float x[N * D];
    double K[N * N], ev[N];
    lm_rand_normal_fill_f32(x, N * D, 1.0, 13, 1);
    const double bw = 1.2;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double r2 = 0;
            for (int c = 0; c < D; c++) r2 += ((double)x[i * D + c] - x[j * D + c]) * ((double)x[i * D + c] - x[j * D + c]);
            K[i * N + j] = exp(-r2 / (2 * bw * bw));
        }
    jacobi_eigenvalues(N, K, ev);
    double top = ev[0], low = ev[0];
    for (int i = 1; i < N; i++) top = fmax(top, ev[i]), low = fmin(low, ev[i]);
    k = rkhs_constants("gaussian", bw, LM_PARAM_STANDARD, x, N, D, 0, &rows);
    printf("40 points: L %.9g (lambda_max(K)/n %.9g), mu %.6g (%.6g), L1 %.12f, kappa-tilde %.9f\n", k.L, top / N, k.mu,
           low / N, k.L1, k.kappa_tilde);
    CHECK(rows == N && k.rank == N);
    CHECK_MSG(rel(k.L, top / N) < 1e-9, "L %.12g, lambda_max(K)/n %.12g", k.L, top / N);
    CHECK_MSG(rel(k.mu, low / N) < 1e-7, "mu %.12g, lambda_min(K)/n %.12g", k.mu, low / N);
    CHECK_MSG(fabs(k.L1 - 1) < 1e-9, "L1 %.12g, not 1", k.L1);
    CHECK_MSG(fabs(k.kappa_tilde - N) < 1e-7, "kappa-tilde %.12g, not n = %d", k.kappa_tilde, N);
    /* ntk: f = K a / sqrt(n), so every eigenvalue of H is divided by n */
    lm_constants kn = rkhs_constants("gaussian", bw, LM_PARAM_NTK, x, N, D, 0, &rows);
    CHECK(rel(kn.L, top / N / N) < 1e-9 && rel(kn.L1, 1.0 / N) < 1e-9 && fabs(kn.kappa_tilde - N) < 1e-7);
    /* a subsample of 10 points: L1 still 1, kappa-tilde its rank 10 (the full K gives 40) */
    k = rkhs_constants("gaussian", bw, LM_PARAM_STANDARD, x, N, D, 10, &rows);
    CHECK(rows == 10 && k.rank == 10 && fabs(k.L1 - 1) < 1e-9 && fabs(k.kappa_tilde - 10) < 1e-7);
    /* Laplacian: k(x, x) = 1 exactly too */
    k = rkhs_constants("laplacian", 2, LM_PARAM_STANDARD, x, N, D, 0, &rows);
    CHECK_MSG(fabs(k.L1 - 1) < 1e-9 && fabs(k.kappa_tilde - N) < 1e-7, "laplacian: L1 %.12g, kappa-tilde %.12g", k.L1,
              k.kappa_tilde);
}

int main(void)
{
    test_nobias();
    test_spec_errors();
    test_aliases();
    test_rows(0);
    test_rows(1);
    test_machine_derivatives(LM_PARAM_STANDARD);
    test_machine_derivatives(LM_PARAM_NTK);
    test_features();
    test_rkhs_constants();
    return check_summary();
}
