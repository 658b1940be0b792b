/* Hessian probes against exact answers, in float64:
 *   - the dense Hessian built here from p forward-over-reverse products (straight on the
 *     engine), whose eigen-decomposition (dsyevd) gives the true spectral norm: Lanczos must
 *     match it to 1e-8 relative (per input, for the averaged model, with and without full
 *     reorthogonalization), power iteration to a tolerance set by its eigenvalue gap;
 *   - the loss Hessian's top eigenvalues (1e-8) and its Hutchinson trace (within 4 standard
 *     errors of the exact trace);
 *   - a one-hidden-layer network f(x) = v^T tanh(W x / sqrt(d) + b) / sqrt(m) + c whose
 *     Hessian is written out below, entry by entry (1e-12);
 *   - Lanczos and power iteration on operators with known spectra. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/probe.h"
#include "linmass/rng.h"

/* ---- a model with perturbed float64 parameters ---- */

typedef struct {
    lm_model *m;
    size_t np, nb, nin;
    int K;
    double *w, *buf;
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
    const float *w32 = lm_model_params(t->m), *b32 = lm_model_buffers(t->m);
    for (size_t i = 0; i < t->np; i++) t->w[i] = w32[i] + 0.3 * lm_rand_normal(seed, 77, i);
    for (size_t i = 0; i < t->nb; i++) t->buf[i] = b32[i];
    for (int i = 0; i < lm_model_num_tensors(t->m); i++) { /* random running statistics */
        const lm_tensor_info *ti = lm_model_tensor(t->m, i);
        for (size_t j = 0; j < ti->numel; j++) {
            if (strstr(ti->name, "running_var")) t->buf[ti->offset + j] = 0.5 + lm_rand_uniform(seed, 78, j);
            if (strstr(ti->name, "running_mean")) t->buf[ti->offset + j] = 0.3 * lm_rand_normal(seed, 79, j);
        }
    }
    return 1;
}

static void net_free(net *t)
{
    lm_model_free(t->m);
    free(t->w);
    free(t->buf);
}

/* The dense Hessian of phi, from p products with unit vectors, straight on the engine.
 * phi = sum_i coef_i f_k(x_i) over outputs [k0, k1) when targets is NULL, else the loss. */
static void reference_hessian(const net *t, const double *x, int n, const double *coef, int k0,
                              int k1, lm_loss_kind loss, const double *targets, double *H)
{
    lm_exec_f64 *e;
    CHECK(lm_exec_create_f64(t->m, n, LM_EXEC_TANGENT, &e) == LM_OK);
    lm_exec_bind_f64(e, t->w, t->buf);
    double *v = calloc(t->np, sizeof *v), *g = malloc(t->np * sizeof *g);
    double *gz = calloc((size_t)n * t->K, sizeof *gz), *gzdot = calloc((size_t)n * t->K, sizeof *gzdot);
    for (size_t j = 0; j < t->np; j++) {
        v[j] = 1;
        const double *z = lm_forward_f64(e, x, n, LM_MODE_EVAL, v);
        if (targets) {
            lm_loss_f64(loss, z, targets, n, t->K, gz, lm_output_dot_f64(e), gzdot);
        } else {
            for (int i = 0; i < n; i++)
                for (int k = k0; k < k1; k++) gz[(size_t)i * t->K + k] = coef[i];
        }
        lm_backward_f64(e, gz, g, NULL, gzdot, H + j * t->np);
        v[j] = 0;
    }
    for (size_t i = 0; i < t->np; i++) /* symmetrise the rounding */
        for (size_t j = i + 1; j < t->np; j++)
            H[i * t->np + j] = H[j * t->np + i] = 0.5 * (H[i * t->np + j] + H[j * t->np + i]);
    free(v), free(g), free(gz), free(gzdot);
    lm_exec_free_f64(e);
}

static double spectral_norm(const double *H, size_t p, double *second)
{
    double *ev = malloc(p * sizeof *ev);
    CHECK(lm_sym_eig((int)p, H, ev, NULL) == LM_OK);
    double a = fabs(ev[0]), b = fabs(ev[p - 1]);
    double norm = fmax(a, b);
    /* the second largest magnitude, for the power-iteration bound */
    double s = 0;
    int skipped = 0;
    for (size_t i = 0; i < p; i++) {
        if (!skipped && fabs(ev[i]) == norm) {
            skipped = 1;
            continue;
        }
        s = fmax(s, fabs(ev[i]));
    }
    if (second) *second = s;
    free(ev);
    return norm;
}

static double max_abs_diff(const double *a, const double *b, size_t n, double *scale)
{
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs(a[i] - b[i]));
        s = fmax(s, fmax(fabs(a[i]), fabs(b[i])));
    }
    *scale = s;
    return d;
}

/* ---- model Hessian: Lanczos and power iteration against dsyevd ---- */

typedef struct {
    const char *spec;
    lm_shape in;
    lm_param_kind param;
    int output;
    int power; /* also check power iteration */
} hcase;

static const hcase model_cases[] = {
    {"dense:16,tanh,dense:16,tanh,dense:1", {6, 1, 1}, LM_PARAM_NTK, 0, 1},
    {"dense:16,tanh,dense:16,tanh,dense:1", {6, 1, 1}, LM_PARAM_STANDARD, 0, 1},
    {"dense:12,softplus,dense:12,gelu,dense:3", {5, 1, 1}, LM_PARAM_STANDARD, 1, 0},
    {"dense:12,sigmoid,dense:10,relu,dense:3", {5, 1, 1}, LM_PARAM_NTK, LM_OUTPUT_SUM, 0},
    {"conv:3x3,tanh,avgpool:2,conv:4x3,sigmoid,dense:2", {2, 6, 6}, LM_PARAM_STANDARD, LM_OUTPUT_SUM, 0},
    {"conv:4x3,res:4,gap,dense:1", {2, 5, 5}, LM_PARAM_STANDARD, 0, 0},
};

static void check_model_case(const hcase *c)
{
    enum { N = 3 };
    net t;
    if (!net_make(&t, c->spec, c->in, c->param, 3)) return;
    CHECK_MSG(t.np <= 2000, "%s: %zu parameters", c->spec, t.np);
    double *x = malloc(N * t.nin * sizeof *x);
    lm_rand_normal_fill_f64(x, N * t.nin, 1.0, 5, 1);
    int k0 = c->output == LM_OUTPUT_SUM ? 0 : c->output, k1 = c->output == LM_OUTPUT_SUM ? t.K : c->output + 1;
    size_t p = t.np;
    double *H = malloc(p * p * sizeof *H), *H2 = malloc(p * p * sizeof *H2);
    double coef[N] = {1.0 / N, 1.0 / N, 1.0 / N}, one = 1;

    /* the averaged model, through lm_hvp_dense too */
    reference_hessian(&t, x, N, coef, k0, k1, LM_LOSS_MSE, NULL, H);
    lm_hvp_opts ho = {0};
    ho.net.params = t.w;
    ho.net.buffers = t.buf;
    ho.net.output = c->output;
    lm_hvp *h;
    CHECK(lm_hvp_create(t.m, x, N, &ho, &h) == LM_OK);
    CHECK(lm_hvp_dense(h, H2) == LM_OK);
    double scale, d = max_abs_diff(H, H2, p * p, &scale);
    CHECK_MSG(d <= 1e-12 * scale, "%s: lm_hvp_dense differs by %.3g (scale %.3g)", c->spec, d, scale);
    lm_hvp_free(h);
    double second, avg_true = spectral_norm(H, p, &second);

    double per_true[N], max_true = 0, mean_true = 0;
    for (int i = 0; i < N; i++) {
        reference_hessian(&t, x + i * t.nin, 1, &one, k0, k1, LM_LOSS_MSE, NULL, H2);
        per_true[i] = spectral_norm(H2, p, NULL);
        max_true = fmax(max_true, per_true[i]);
        mean_true += per_true[i] / N;
    }

    for (int reorth = LM_REORTH_FULL; reorth <= LM_REORTH_NONE; reorth++) {
        lm_hessian_opts o = {0};
        o.net = ho.net;
        o.eig.reorth = (lm_reorth)reorth;
        o.eig.tol = 1e-11;
        double per[N];
        lm_hessian_result r = {0};
        r.per_input = per;
        lm_status st = lm_probe_model_hessian(t.m, x, N, &o, &r);
        CHECK_MSG(st == LM_OK, "%s: %s", c->spec, lm_error_message());
        printf("%-50s p %4zu reorth %d: avg %.10g (true %.10g, %d steps) max %.6g mean %.6g\n", c->spec, p,
               reorth == LM_REORTH_FULL, r.avg_norm, avg_true, r.avg.steps, r.max_norm, r.mean_norm);
        CHECK_CLOSE(r.avg_norm, avg_true, 1e-8);
        CHECK_CLOSE(r.max_norm, max_true, 1e-8);
        CHECK_CLOSE(r.mean_norm, mean_true, 1e-8);
        for (int i = 0; i < N; i++) CHECK_CLOSE(per[i], per_true[i], 1e-8);
        CHECK_MSG(r.unconverged == 0, "%s: %d runs did not converge", c->spec, r.unconverged);
        CHECK(r.avg.reorth == (reorth == LM_REORTH_FULL));
    }

    if (c->power) { /* 300 steps: the error of ||Hv|| shrinks like (|l2|/|l1|)^(2k) */
        lm_hessian_opts o = {0};
        o.net = ho.net;
        o.eig.method = LM_EIG_POWER;
        o.skip_per_input = 1;
        lm_hessian_result r = {0};
        CHECK(lm_probe_model_hessian(t.m, x, N, &o, &r) == LM_OK);
        double ratio = second / avg_true, bound = fmax(1e-10, 10 * pow(ratio, 2 * 299));
        double err = fabs(r.avg_norm - avg_true) / avg_true;
        printf("  power: %.10g after %d steps, error %.2e (|l2/l1| = %.4f, bound %.2e)\n", r.avg_norm,
               r.avg.steps, err, ratio, bound);
        CHECK(r.avg.steps == 300);
        CHECK_MSG(err <= bound, "%s: power iteration error %.3g above %.3g", c->spec, err, bound);
        CHECK_MSG(r.avg_norm <= avg_true * (1 + 1e-12), "%s: power iteration overshoots", c->spec);
    }
    free(H), free(H2), free(x);
    net_free(&t);
}

/* ---- loss Hessian: top eigenvalues and Hutchinson's trace ---- */

static void check_loss_case(const char *spec, lm_loss_kind loss)
{
    enum { N = 5 };
    net t;
    if (!net_make(&t, spec, (lm_shape){4, 1, 1}, LM_PARAM_STANDARD, 4)) return;
    size_t p = t.np;
    double *x = malloc(N * t.nin * sizeof *x), *y = malloc(N * t.K * sizeof *y);
    lm_rand_normal_fill_f64(x, N * t.nin, 1.0, 6, 1);
    lm_rand_normal_fill_f64(y, N * t.K, 1.0, 6, 2);
    if (loss == LM_LOSS_XENT)
        for (int i = 0; i < N; i++) y[i] = i % t.K;
    double *H = malloc(p * p * sizeof *H), *ev = malloc(p * sizeof *ev);
    reference_hessian(&t, x, N, NULL, 0, 0, loss, y, H);
    CHECK(lm_sym_eig((int)p, H, ev, NULL) == LM_OK);
    double trace = 0, norm = fmax(fabs(ev[0]), fabs(ev[p - 1]));
    for (size_t i = 0; i < p; i++) trace += H[i * p + i];

    lm_loss_hessian_opts o = {0};
    o.net.params = t.w;
    o.net.buffers = t.buf;
    o.net.max_batch = 2; /* chunks of 2, 2, 1 must add up to the full-batch loss */
    o.loss = loss;
    o.targets = y;
    o.eig.top_k = 4;
    o.hutchinson = 2000;
    lm_loss_hessian_result r;
    lm_status st = lm_probe_loss_hessian(t.m, x, N, &o, &r);
    CHECK_MSG(st == LM_OK, "%s: %s", spec, lm_error_message());
    printf("%-40s %s p %zu: top %.10g %.10g %.10g %.10g (true %.10g %.10g ...), trace %.6g +- %.2g (true %.6g)\n",
           spec, loss == LM_LOSS_XENT ? "xent" : "mse", p, r.eig.top[0], r.eig.top[1], r.eig.top[2],
           r.eig.top[3], ev[p - 1], ev[p - 2], r.trace, r.trace_se, trace);
    CHECK(r.eig.ntop == 4);
    for (int k = 0; k < 4; k++)
        CHECK_MSG(fabs(r.eig.top[k] - ev[p - 1 - k]) <= 1e-8 * norm, "%s: top eigenvalue %d is %.12g, true %.12g",
                  spec, k, r.eig.top[k], ev[p - 1 - k]);
    CHECK_CLOSE(r.eig.norm, norm, 1e-8);
    CHECK(r.samples == 2000);
    CHECK_MSG(fabs(r.trace - trace) <= 4 * r.trace_se, "%s: Hutchinson %.6g +- %.3g vs trace %.6g", spec,
              r.trace, r.trace_se, trace);
    CHECK(r.trace_se > 0 && r.trace_se < 0.2 * fabs(trace) + 1e-12);

    /* the loss value: the chunked mean equals lm_loss on the whole batch */
    lm_exec_f64 *e;
    CHECK(lm_exec_create_f64(t.m, N, 0, &e) == LM_OK);
    lm_exec_bind_f64(e, t.w, t.buf);
    const double *z = lm_forward_f64(e, x, N, LM_MODE_EVAL, NULL);
    CHECK_CLOSE(r.loss, lm_loss_f64(loss, z, y, N, t.K, NULL, NULL, NULL), 1e-13);
    lm_exec_free_f64(e);
    free(H), free(ev), free(x), free(y);
    net_free(&t);
}

/* ---- the one-hidden-layer network in closed form ---- */

static void set_sym(double *H, size_t p, size_t i, size_t j, double val)
{
    H[i * p + j] = val;
    H[j * p + i] = val;
}

static void check_closed_form(void)
{
    enum { D = 5, M = 7 };
    net t;
    if (!net_make(&t, "dense:7,tanh,dense:1", (lm_shape){D, 1, 1}, LM_PARAM_NTK, 9)) return;
    size_t p = t.np;
    CHECK(p == (size_t)M * D + M + M + 1);
    /* layout (torch's state_dict): 0.weight W (M x D), 0.bias b (M), 2.weight v (1 x M), 2.bias c */
    const double *W = t.w, *b = t.w + M * D, *v = t.w + M * D + M;
    size_t oW = 0, ob = M * D, ov = M * D + M;
    double x[D];
    lm_rand_normal_fill_f64(x, D, 1.0, 10, 1);
    double sd = 1 / sqrt((double)D), sm = 1 / sqrt((double)M);
    double *H = calloc(p * p, sizeof *H);
    /* f = sm * sum_j v_j tanh(h_j) + c,  h_j = sd * sum_k W_jk x_k + b_j. With t_j = tanh(h_j),
     * s1 = 1 - t^2 and s2 = -2 t (1 - t^2):
     *   d2f / dW_jk dW_jl = sm v_j s2_j sd^2 x_k x_l     d2f / dW_jk db_j = sm v_j s2_j sd x_k
     *   d2f / db_j db_j   = sm v_j s2_j                  d2f / dv_j dW_jk = sm s1_j sd x_k
     *   d2f / dv_j db_j   = sm s1_j                      every other block (v v, c) is zero */
#define SET(i, j, val) set_sym(H, p, (i), (j), (val))
    for (int j = 0; j < M; j++) {
        double h = b[j];
        for (int k = 0; k < D; k++) h += sd * W[j * D + k] * x[k];
        double th = tanh(h), s1 = 1 - th * th, s2 = -2 * th * s1;
        for (int k = 0; k < D; k++) {
            for (int l = 0; l < D; l++) SET(oW + j * D + k, oW + j * D + l, sm * v[j] * s2 * sd * sd * x[k] * x[l]);
            SET(oW + j * D + k, ob + j, sm * v[j] * s2 * sd * x[k]);
            SET(ov + j, oW + j * D + k, sm * s1 * sd * x[k]);
        }
        SET(ob + j, ob + j, sm * v[j] * s2);
        SET(ov + j, ob + j, sm * s1);
    }
#undef SET
    lm_hvp_opts ho = {0};
    ho.net.params = t.w;
    lm_hvp *h;
    double *H2 = malloc(p * p * sizeof *H2);
    CHECK(lm_hvp_create(t.m, x, 1, &ho, &h) == LM_OK);
    CHECK(lm_hvp_dense(h, H2) == LM_OK);
    lm_hvp_free(h);
    double worst = 0, scale = 0;
    for (size_t i = 0; i < p * p; i++) {
        worst = fmax(worst, fabs(H[i] - H2[i]));
        scale = fmax(scale, fabs(H[i]));
    }
    printf("closed form (d %d, m %d, p %zu): max entry error %.3g (largest entry %.3g)\n", D, M, p, worst, scale);
    CHECK_MSG(worst <= 1e-13 * scale, "closed-form Hessian differs by %.3g", worst);
    lm_hessian_opts o = {0};
    o.net.params = t.w;
    o.skip_per_input = 1;
    lm_hessian_result r = {0};
    CHECK(lm_probe_model_hessian(t.m, x, 1, &o, &r) == LM_OK);
    CHECK_CLOSE(r.avg_norm, spectral_norm(H, p, NULL), 1e-8);
    free(H), free(H2);
    net_free(&t);
}

/* ---- the solvers on known spectra ---- */

typedef struct {
    size_t n;
    const double *d;
} diag_op;

static void diag_apply(void *ctx, const double *v, double *out)
{
    const diag_op *o = ctx;
    for (size_t i = 0; i < o->n; i++) out[i] = o->d[i] * v[i];
}

static void check_known_spectra(void)
{
    enum { N = 1000 };
    double d[N];
    for (int i = 0; i < N; i++) d[i] = sin(0.7 * i) * (i % 7 == 0 ? 0.5 : 0.9); /* in [-0.9, 0.9] */
    d[17] = -3.0;                                                              /* the norm: negative */
    d[400] = 2.5, d[401] = 2.0, d[900] = 1.5, d[901] = 1.2;
    diag_op op = {N, d};
    lm_eig_opts o = {0};
    o.top_k = 4;
    lm_eig_result r;
    CHECK(lm_sym_extreme_eig(N, diag_apply, &op, &o, &r) == LM_OK);
    CHECK(r.converged && r.reorth);
    CHECK_CLOSE(r.norm, 3.0, 1e-10);
    CHECK_CLOSE(r.extreme, -3.0, 1e-10);
    CHECK_CLOSE(r.lambda_min, -3.0, 1e-10);
    CHECK_CLOSE(r.top[0], 2.5, 1e-10);
    CHECK_CLOSE(r.top[1], 2.0, 1e-10);
    CHECK_CLOSE(r.top[2], 1.5, 1e-10);
    CHECK_CLOSE(r.top[3], 1.2, 1e-10);
    printf("diagonal 1000: %d Lanczos steps for the top 4 and the norm\n", r.steps);
    /* power iteration: |l2 / l1| = 2.5 / 3, so 300 steps leave (5/6)^600 ~ 1e-47 */
    o = (lm_eig_opts){0};
    o.method = LM_EIG_POWER;
    CHECK(lm_sym_extreme_eig(N, diag_apply, &op, &o, &r) == LM_OK);
    CHECK(r.steps == 300);
    CHECK_CLOSE(r.norm, 3.0, 1e-12);
    CHECK_CLOSE(r.extreme, -3.0, 1e-12);
    /* too few steps: no convergence claimed */
    o = (lm_eig_opts){0};
    o.max_steps = 4;
    CHECK(lm_sym_extreme_eig(N, diag_apply, &op, &o, &r) == LM_OK);
    CHECK(!r.converged && r.steps == 4);
    /* an invariant subspace: a 3-eigenvalue operator is exact after 3 steps */
    double d3[N];
    for (int i = 0; i < N; i++) d3[i] = i % 3 == 0 ? 1.0 : i % 3 == 1 ? -2.0 : 0.5;
    diag_op op3 = {N, d3};
    o = (lm_eig_opts){0};
    CHECK(lm_sym_extreme_eig(N, diag_apply, &op3, &o, &r) == LM_OK);
    CHECK(r.converged && r.steps <= 4);
    CHECK_CLOSE(r.norm, 2.0, 1e-12);
    /* bad options */
    o = (lm_eig_opts){0};
    o.top_k = LM_EIG_MAX_TOP + 1;
    CHECK(lm_sym_extreme_eig(N, diag_apply, &op, &o, &r) == LM_EINVAL);
    o = (lm_eig_opts){0};
    o.top_k = 4;
    o.mem_cap = 8 * N * 5;
    CHECK(lm_sym_extreme_eig(N, diag_apply, &op, &o, &r) == LM_ENOMEM);
    /* dsyevd: eigenvectors of a 2 x 2 */
    double A[4] = {2, 1, 1, 2}, ev[2], vec[4];
    CHECK(lm_sym_eig(2, A, ev, vec) == LM_OK);
    CHECK_CLOSE(ev[0], 1.0, 1e-14);
    CHECK_CLOSE(ev[1], 3.0, 1e-14);
    CHECK_CLOSE(fabs(vec[2] + vec[3]) / sqrt(2), 1.0, 1e-14); /* row 1: (1, 1)/sqrt 2 */
}

static void check_errors(void)
{
    lm_model *m;
    CHECK(lm_model_create("dense:3,tanh,dense:2", (lm_shape){2, 1, 1}, LM_PARAM_NTK, 1, &m) == LM_OK);
    double x[2] = {0.5, -1};
    lm_hessian_opts o = {0};
    o.net.output = 2;
    lm_hessian_result r = {0};
    CHECK(lm_probe_model_hessian(m, x, 1, &o, &r) == LM_EINVAL);
    CHECK(strstr(lm_error_message(), "output 2") != NULL);
    lm_loss_hessian_opts lo = {0};
    lm_loss_hessian_result lr;
    CHECK(lm_probe_loss_hessian(m, x, 1, &lo, &lr) == LM_EINVAL);
    lm_model_free(m);
}

int main(void)
{
    check_known_spectra();
    for (size_t i = 0; i < sizeof model_cases / sizeof *model_cases; i++) check_model_case(&model_cases[i]);
    check_loss_case("dense:10,tanh,dense:8,softplus,dense:3", LM_LOSS_MSE);
    check_loss_case("dense:10,tanh,dense:8,gelu,dense:3", LM_LOSS_XENT);
    check_closed_form();
    check_errors();
    return check_summary();
}
