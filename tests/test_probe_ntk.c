/* The empirical tangent kernel against J J^T from an explicit Jacobian, in float64:
 *   - Gram identity (one batched forward and backward) for dense nets with every activation,
 *     in both parameterizations, with several outputs (one chosen, and summed), dropout in
 *     evaluation and in frozen-training mode: to 1e-10 relative to the largest entry, against
 *     Jacobian rows from single-sample backward passes;
 *   - the per-sample path for conv and residual nets (and a dense one), in one block and in
 *     several (a small memory cap), against Jacobian columns from forward-mode JVPs;
 *   - the memory cap refuses with LM_ENOMEM and names the bytes it needs;
 *   - the spectrum (lambda_min, lambda_max, condition number, trace) of a known matrix. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/probe.h"
#include "linmass/rng.h"

enum { N = 6 };

typedef struct {
    lm_model *m;
    size_t np, nb, nin;
    int K;
    double *w, *buf, *x;
} net;

static int net_make(net *t, const char *spec, lm_shape in, lm_param_kind param, uint64_t seed)
{
    memset(t, 0, sizeof *t);
    lm_status st = lm_model_create(spec, in, param, seed, &t->m);
    CHECK_MSG(st == LM_OK, "%s: %s", spec, lm_error_message());
    if (st) return 0;
    t->np = lm_model_num_params(t->m);
    t->nb = lm_model_num_buffers(t->m);
    t->nin = lm_shape_numel(in);
    t->K = (int)lm_shape_numel(lm_model_output_shape(t->m));
    t->w = malloc(t->np * sizeof *t->w);
    t->buf = calloc(t->nb + 1, sizeof *t->buf);
    t->x = malloc(N * t->nin * sizeof *t->x);
    const float *w32 = lm_model_params(t->m), *b32 = lm_model_buffers(t->m);
    for (size_t i = 0; i < t->np; i++) t->w[i] = w32[i] + 0.2 * lm_rand_normal(seed, 77, i);
    for (size_t i = 0; i < t->nb; i++) t->buf[i] = b32[i];
    for (int i = 0; i < lm_model_num_tensors(t->m); i++) {
        const lm_tensor_info *ti = lm_model_tensor(t->m, i);
        for (size_t j = 0; j < ti->numel; j++) {
            if (strstr(ti->name, "running_var")) t->buf[ti->offset + j] = 0.5 + lm_rand_uniform(seed, 78, j);
            if (strstr(ti->name, "running_mean")) t->buf[ti->offset + j] = 0.3 * lm_rand_normal(seed, 79, j);
        }
    }
    lm_rand_normal_fill_f64(t->x, N * t->nin, 1.0, seed, 80);
    return 1;
}

static void net_free(net *t)
{
    lm_model_free(t->m);
    free(t->w), free(t->buf), free(t->x);
}

/* sum over outputs [k0, k1) of J_k J_k^T, J_k's rows from single-sample backward passes */
static void kernel_from_rows(const net *t, lm_mode mode, int k0, int k1, double *K)
{
    lm_exec_f64 *e;
    CHECK(lm_exec_create_f64(t->m, N, 0, &e) == LM_OK);
    lm_exec_bind_f64(e, t->w, t->buf);
    /* dropout masks are drawn from the executor's (seed, step), (0, 0) here as in the probe */
    double *J = malloc(N * t->np * sizeof *J), *gz = calloc((size_t)N * t->K, sizeof *gz);
    memset(K, 0, N * N * sizeof *K);
    for (int k = k0; k < k1; k++) {
        for (int i = 0; i < N; i++) {
            /* one batched forward (dropout masks are per batch position), backward of sample i */
            lm_forward_f64(e, t->x, N, mode, NULL);
            memset(gz, 0, (size_t)N * t->K * sizeof *gz);
            gz[(size_t)i * t->K + k] = 1;
            lm_backward_f64(e, gz, J + i * t->np, NULL, NULL, NULL);
        }
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) {
                double s = 0;
                for (size_t q = 0; q < t->np; q++) s += J[i * t->np + q] * J[j * t->np + q];
                K[i * N + j] += s;
            }
    }
    free(J), free(gz);
    lm_exec_free_f64(e);
}

/* the same from Jacobian columns: p forward-mode JVPs with unit tangents */
static void kernel_from_columns(const net *t, int k0, int k1, double *K)
{
    lm_exec_f64 *e;
    CHECK(lm_exec_create_f64(t->m, N, LM_EXEC_TANGENT, &e) == LM_OK);
    lm_exec_bind_f64(e, t->w, t->buf);
    double *v = calloc(t->np, sizeof *v);
    memset(K, 0, N * N * sizeof *K);
    for (size_t q = 0; q < t->np; q++) {
        v[q] = 1;
        lm_forward_f64(e, t->x, N, LM_MODE_EVAL, v);
        const double *col = lm_output_dot_f64(e);
        for (int k = k0; k < k1; k++)
            for (int i = 0; i < N; i++)
                for (int j = 0; j < N; j++) K[i * N + j] += col[i * t->K + k] * col[j * t->K + k];
        v[q] = 0;
    }
    free(v);
    lm_exec_free_f64(e);
}

static double rel_diff(const double *a, const double *b, int n)
{
    double d = 0, s = 0;
    for (int i = 0; i < n; i++) {
        d = fmax(d, fabs(a[i] - b[i]));
        s = fmax(s, fabs(b[i]));
    }
    return d / s;
}

/* ---- Gram identity ---- */

static void check_gram(const char *spec, lm_param_kind param, int output, lm_mode mode)
{
    net t;
    if (!net_make(&t, spec, (lm_shape){5, 1, 1}, param, 21)) return;
    int k0 = output == LM_OUTPUT_SUM ? 0 : output, k1 = output == LM_OUTPUT_SUM ? t.K : output + 1;
    double K[N * N], R[N * N];
    kernel_from_rows(&t, mode, k0, k1, R);
    lm_ntk_opts o = {0};
    o.net.params = t.w;
    o.net.buffers = t.buf;
    o.net.output = output;
    o.net.mode = mode;
    o.method = LM_NTK_GRAM;
    lm_ntk_info info;
    CHECK(lm_ntk_gram_applies(t.m));
    lm_status st = lm_probe_ntk(t.m, t.x, N, &o, K, &info);
    CHECK_MSG(st == LM_OK, "%s: %s", spec, lm_error_message());
    double err = rel_diff(K, R, N * N);
    printf("gram %-42s %-8s out %2d %s: rel err %.2e\n", spec, param == LM_PARAM_NTK ? "ntk" : "standard", output,
           mode == LM_MODE_EVAL ? "eval" : "frozen", err);
    CHECK_MSG(err <= 1e-10, "%s (%s, output %d): Gram identity error %.3g", spec,
              param == LM_PARAM_NTK ? "ntk" : "standard", output, err);
    CHECK(info.method == LM_NTK_GRAM);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) CHECK(K[i * N + j] == K[j * N + i]);
    net_free(&t);
}

/* ---- per-sample gradients ---- */

static void check_per_sample(const char *spec, lm_shape in, lm_param_kind param, int output)
{
    net t;
    if (!net_make(&t, spec, in, param, 31)) return;
    int k0 = output == LM_OUTPUT_SUM ? 0 : output, k1 = output == LM_OUTPUT_SUM ? t.K : output + 1;
    double K[N * N], R[N * N];
    kernel_from_columns(&t, k0, k1, R);
    lm_ntk_opts o = {0};
    o.net.params = t.w;
    o.net.buffers = t.buf;
    o.net.output = output;
    lm_ntk_info info;
    lm_status st = lm_probe_ntk(t.m, t.x, N, &o, K, &info); /* AUTO */
    CHECK_MSG(st == LM_OK, "%s: %s", spec, lm_error_message());
    CHECK(info.method == (lm_ntk_gram_applies(t.m) ? LM_NTK_GRAM : LM_NTK_LAYERWISE));
    double err = rel_diff(K, R, N * N);
    CHECK_MSG(err <= 1e-10, "%s: kernel error %.3g", spec, err);
    /* forced per-sample, with a cap that holds 2 gradient rows: blocks of 2 */
    o.method = LM_NTK_PER_SAMPLE;
    o.mem_cap = N * N * sizeof(double) + 4 * t.np * sizeof(double) + 8;
    st = lm_probe_ntk(t.m, t.x, N, &o, K, &info);
    CHECK_MSG(st == LM_OK, "%s: %s", spec, lm_error_message());
    double err2 = rel_diff(K, R, N * N);
    printf("per-sample %-40s p %5zu: rel err %.2e (all rows) %.2e (blocks of %d, %ld passes)\n", spec, t.np, err,
           err2, info.block, info.passes);
    CHECK_MSG(err2 <= 1e-10, "%s: blocked kernel error %.3g", spec, err2);
    CHECK(info.block == 2);
    CHECK(info.passes == (long)(k1 - k0) * (2 + 4 + 2 + 2 + 2)); /* blocks I: {0,1}+{2,3}+{4,5}, {2,3}+{4,5}, {4,5} */
    /* below two rows: refused, naming the bytes needed */
    o.mem_cap = N * N * sizeof(double) + t.np * sizeof(double);
    st = lm_probe_ntk(t.m, t.x, N, &o, K, &info);
    CHECK(st == LM_ENOMEM);
    char need[64];
    snprintf(need, sizeof need, "%zu bytes", N * N * sizeof(double) + 2 * t.np * sizeof(double));
    CHECK_MSG(strstr(lm_error_message(), need) != NULL, "message '%s' lacks '%s'", lm_error_message(), need);
    net_free(&t);
}

/* more inputs than one row block of the Gram matrices (256): Gram against per-sample */
static void check_gram_blocks(void)
{
    enum { M = 300, D = 5 };
    lm_model *m;
    CHECK(lm_model_create("dense:16,softplus,dense:12,tanh,dense:1", (lm_shape){D, 1, 1}, LM_PARAM_NTK, 2, &m) == LM_OK);
    double *x = malloc(M * D * sizeof *x), *K = malloc(M * M * sizeof *K), *R = malloc(M * M * sizeof *R);
    lm_rand_normal_fill_f64(x, M * D, 1.0, 3, 1);
    lm_ntk_opts o = {0};
    CHECK(lm_probe_ntk(m, x, M, &o, K, NULL) == LM_OK);
    o.method = LM_NTK_PER_SAMPLE;
    CHECK(lm_probe_ntk(m, x, M, &o, R, NULL) == LM_OK);
    double err = rel_diff(K, R, M * M);
    printf("gram with %d inputs (two row blocks) against per-sample: rel err %.2e\n", M, err);
    CHECK_MSG(err <= 1e-10, "row-blocked Gram identity error %.3g", err);
    free(x), free(K), free(R);
    lm_model_free(m);
}

static void check_spectrum(void)
{
    /* Q diag(1, 2, 4) Q^T with Q a rotation */
    double c = cos(0.3), s = sin(0.3), Q[9] = {c, -s, 0, s, c, 0, 0, 0, 1}, d[3] = {1, 2, 4}, A[9] = {0};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 3; k++) A[i * 3 + j] += Q[i * 3 + k] * d[k] * Q[j * 3 + k];
    lm_spectrum sp;
    double ev[3];
    CHECK(lm_kernel_spectrum(A, 3, &sp, ev) == LM_OK);
    CHECK_CLOSE(sp.lambda_min, 1.0, 1e-14);
    CHECK_CLOSE(sp.lambda_max, 4.0, 1e-14);
    CHECK_CLOSE(sp.cond, 4.0, 1e-14);
    CHECK_CLOSE(sp.trace, 7.0, 1e-14);
    CHECK_CLOSE(sp.frobenius, sqrt(21.0), 1e-14);
    CHECK_CLOSE(ev[1], 2.0, 1e-14);
}

static void check_refusals(void)
{
    net t;
    if (!net_make(&t, "conv:2x3,tanh,dense:1", (lm_shape){1, 4, 4}, LM_PARAM_NTK, 1)) return;
    lm_ntk_opts o = {0};
    o.method = LM_NTK_GRAM;
    double K[N * N];
    CHECK(!lm_ntk_gram_applies(t.m));
    CHECK(lm_probe_ntk(t.m, t.x, N, &o, K, NULL) == LM_EINVAL);
    net_free(&t);
    if (!net_make(&t, "dense:64,tanh,dense:1", (lm_shape){5, 1, 1}, LM_PARAM_NTK, 1)) return;
    o.mem_cap = 1000;
    CHECK(lm_probe_ntk(t.m, t.x, N, &o, K, NULL) == LM_ENOMEM);
    CHECK(strstr(lm_error_message(), "Gram identity needs") != NULL);
    net_free(&t);
}

int main(void)
{
    static const char *acts[] = {"relu", "tanh", "sigmoid", "softplus", "gelu", "identity"};
    for (int a = 0; a < 6; a++)
        for (int param = 0; param < 2; param++) {
            char spec[128];
            snprintf(spec, sizeof spec, "dense:9,%s,dense:7,%s,dense:1", acts[a], acts[a]);
            check_gram(spec, (lm_param_kind)param, 0, LM_MODE_EVAL);
        }
    check_gram("dense:8,tanh,dense:6,gelu,dense:3", LM_PARAM_NTK, 2, LM_MODE_EVAL);
    check_gram("dense:8,tanh,dense:6,gelu,dense:3", LM_PARAM_STANDARD, LM_OUTPUT_SUM, LM_MODE_EVAL);
    check_gram("dense:8,relu,dropout:0.3,dense:6,softplus,dense:1", LM_PARAM_NTK, 0, LM_MODE_EVAL);
    check_gram("dense:8,relu,dropout:0.3,dense:6,softplus,dense:1", LM_PARAM_STANDARD, 0, LM_MODE_FROZEN);
    check_gram("dense:1", LM_PARAM_NTK, 0, LM_MODE_EVAL);
    check_gram("flatten,dense:4,sigmoid,dense:2", LM_PARAM_NTK, LM_OUTPUT_SUM, LM_MODE_EVAL);

    check_per_sample("conv:3x3,tanh,maxpool:2,conv:4x3:valid,relu,dense:1", (lm_shape){2, 8, 8}, LM_PARAM_NTK, 0);
    check_per_sample("conv:3x3,sigmoid,avgpool:2,dense:3", (lm_shape){2, 6, 6}, LM_PARAM_STANDARD, LM_OUTPUT_SUM);
    check_per_sample("conv:4x3,bn,relu,res:4,res:6/2,gap,dense:1", (lm_shape){2, 6, 6}, LM_PARAM_STANDARD, 0);
    check_per_sample("conv:4x3,res:8/2:pad,gap,dense:2", (lm_shape){2, 6, 6}, LM_PARAM_NTK, 1);
    check_per_sample("dense:9,gelu,dense:7,tanh,dense:1", (lm_shape){5, 1, 1}, LM_PARAM_NTK, 0);
    check_gram_blocks();
    check_spectrum();
    check_refusals();
    return check_summary();
}
