/* Table-driven check of every layer's rules in float64 at random points:
 *   VJP  (parameter and input gradients) against central differences of phi,
 *   JVP  (output tangent) against central differences of the output,
 *   HVP  (forward-over-reverse) against central differences of the gradient,
 * each to relative error 1e-6. phi is either a random linear functional of the output (the
 * model-Hessian case) or a loss. At ReLU and max-pool kinks a finite difference is wrong when
 * w +- h v crosses one; we detect that (the estimates at h and h/4 disagree) and redraw. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/exec.h"
#include "linmass/rng.h"

typedef struct {
    const char *spec;
    lm_shape in;
    lm_mode mode;
    int loss; /* -1: linear functional of the output; else lm_loss_kind */
    lm_param_kind param;
} gcase;

static const gcase cases[] = {
    {"dense:4,tanh,dense:3", {5, 1, 1}, LM_MODE_EVAL, -1, LM_PARAM_STANDARD},
    {"dense:4,tanh,dense:3", {5, 1, 1}, LM_MODE_EVAL, -1, LM_PARAM_NTK},
    {"dense:4,relu,dense:3", {5, 1, 1}, LM_MODE_EVAL, -1, LM_PARAM_STANDARD},
    {"dense:4,sigmoid,dense:3", {5, 1, 1}, LM_MODE_EVAL, -1, LM_PARAM_STANDARD},
    {"dense:4,softplus,dense:3", {5, 1, 1}, LM_MODE_EVAL, -1, LM_PARAM_STANDARD},
    {"dense:4,gelu,dense:3", {5, 1, 1}, LM_MODE_EVAL, -1, LM_PARAM_STANDARD},
    {"dense:4,identity,dense:3", {5, 1, 1}, LM_MODE_EVAL, -1, LM_PARAM_STANDARD},
    {"dense:4,tanh,dense:3", {5, 1, 1}, LM_MODE_EVAL, LM_LOSS_MSE, LM_PARAM_STANDARD},
    {"dense:4,tanh,dense:3", {5, 1, 1}, LM_MODE_EVAL, LM_LOSS_XENT, LM_PARAM_NTK},
    {"dense:4,dropout:0.5,tanh,dense:2", {5, 1, 1}, LM_MODE_FROZEN, -1, LM_PARAM_STANDARD},
    {"dense:6,bn,tanh,dense:2", {5, 1, 1}, LM_MODE_FROZEN, -1, LM_PARAM_STANDARD},
    {"dense:6,bn,tanh,dense:2", {5, 1, 1}, LM_MODE_EVAL, -1, LM_PARAM_STANDARD},
    {"conv:3x3,tanh,conv:2x3/2:valid", {2, 6, 6}, LM_MODE_EVAL, -1, LM_PARAM_STANDARD},
    {"conv:3x3:nobias,tanh,conv:2x3/2", {2, 5, 5}, LM_MODE_EVAL, -1, LM_PARAM_NTK},
    {"conv:3x3:valid:nobias,tanh,conv:2x2/2:nobias:valid", {2, 6, 6}, LM_MODE_EVAL, -1, LM_PARAM_NTK},
    {"conv:2x3,maxpool:2,tanh,dense:2", {2, 6, 6}, LM_MODE_EVAL, -1, LM_PARAM_STANDARD},
    {"conv:2x3,avgpool:2,sigmoid,dense:2", {2, 6, 6}, LM_MODE_EVAL, -1, LM_PARAM_STANDARD},
    {"conv:3x3,tanh,gap,dense:2", {2, 5, 5}, LM_MODE_EVAL, -1, LM_PARAM_STANDARD},
    {"conv:3x3,bn,tanh,flatten,dense:2", {2, 4, 4}, LM_MODE_FROZEN, -1, LM_PARAM_STANDARD},
    {"conv:3x3,bn,tanh,flatten,dense:2", {2, 4, 4}, LM_MODE_EVAL, LM_LOSS_XENT, LM_PARAM_STANDARD},
    {"conv:4x3,res:4,res:6/2,gap,dense:2", {2, 6, 6}, LM_MODE_FROZEN, -1, LM_PARAM_STANDARD},
    {"conv:4x3,res:8/2:pad,gap,dense:2", {2, 6, 6}, LM_MODE_FROZEN, LM_LOSS_XENT, LM_PARAM_STANDARD},
    {"conv:4x3,res:4,gap,dense:2", {2, 5, 5}, LM_MODE_EVAL, LM_LOSS_MSE, LM_PARAM_NTK},
    /* the channel-blocked layout (8 doubles a block): several blocks with padding lanes, the
     * first-layer patches, stride 2 with 5x5, relu and max pooling, batch norm and residual
     * blocks, a layer that takes the plain layout only (dropout) in between */
    {"conv:9x3,relu,maxpool:2,conv:10x5/2,tanh,flatten,dense:2", {3, 9, 9}, LM_MODE_EVAL, -1, LM_PARAM_NTK},
    {"conv:10x3:nobias,bn,relu,res:10,res:12/2,gap,dense:2", {2, 6, 6}, LM_MODE_FROZEN, -1, LM_PARAM_STANDARD},
    {"conv:9x1,conv:9x3/2:valid,dropout:0.5,conv:3x3", {2, 7, 7}, LM_MODE_FROZEN, LM_LOSS_XENT, LM_PARAM_STANDARD},
    {"conv:12x5:valid,avgpool:2,sigmoid,conv:4x1,gap,dense:2", {1, 8, 8}, LM_MODE_EVAL, LM_LOSS_MSE, LM_PARAM_NTK},
};

enum { NB = 3 }; /* batch */

typedef struct {
    lm_model *m;
    lm_exec_f64 *e;
    const gcase *c;
    size_t np, nin, nout;
    int k;
    double *w, *buf, *x, *coef, *target, *gz, *zdot, *gzdot, *tmp_w;
} ctx;

/* phi at (w, x); when grad is not NULL also the parameter gradient and input gradient. */
static double phi(ctx *t, const double *w, const double *x, double *grad, double *gx)
{
    lm_exec_bind_f64(t->e, (double *)w, t->buf);
    const double *z = lm_forward_f64(t->e, x, NB, t->c->mode, NULL);
    double val = 0;
    if (t->c->loss < 0) {
        for (size_t i = 0; i < t->nout; i++) val += t->coef[i] * z[i];
        memcpy(t->gz, t->coef, t->nout * sizeof *t->gz);
    } else {
        val = lm_loss_f64((lm_loss_kind)t->c->loss, z, t->target, NB, t->k, t->gz, NULL, NULL);
    }
    if (grad) lm_backward_f64(t->e, t->gz, grad, gx, NULL, NULL);
    return val;
}

static double rel_err(const double *a, const double *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num += (a[i] - b[i]) * (a[i] - b[i]);
        den += fmax(a[i] * a[i], b[i] * b[i]);
    }
    return sqrt(num / (den + 1e-300));
}

/* Central-difference estimate of d/dh F(w + h v) for vector-valued F = out (outputs, or the
 * gradient when `gradient`), at step h. */
static void fd_along(ctx *t, const double *v, double h, int gradient, double *out, size_t len)
{
    double *plus = malloc(len * sizeof *plus);
    for (int side = 0; side < 2; side++) {
        double sgn = side ? -1 : 1;
        for (size_t i = 0; i < t->np; i++) t->tmp_w[i] = t->w[i] + sgn * h * v[i];
        double *dst = side ? out : plus;
        if (gradient) {
            phi(t, t->tmp_w, t->x, dst, NULL);
        } else {
            lm_exec_bind_f64(t->e, t->tmp_w, t->buf);
            memcpy(dst, lm_forward_f64(t->e, t->x, NB, t->c->mode, NULL), len * sizeof *dst);
        }
    }
    for (size_t i = 0; i < len; i++) out[i] = (plus[i] - out[i]) / (2 * h);
    free(plus);
}

/* The FD estimate at h unless it disagrees with the one at h/4 (a kink was crossed): then -1. */
static int fd_stable(ctx *t, const double *v, double h, int gradient, double *out, size_t len)
{
    double *fine = malloc(len * sizeof *fine);
    fd_along(t, v, h, gradient, out, len);
    fd_along(t, v, h / 4, gradient, fine, len);
    double e = rel_err(out, fine, len);
    free(fine);
    return e < 1e-7;
}

static void fill(double *a, size_t n, double std, uint64_t seed, uint64_t stream)
{
    lm_rand_normal_fill_f64(a, n, std, seed, stream);
}

static int run_case(const gcase *c, uint64_t seed)
{
    ctx t = {0};
    t.c = c;
    CHECK(lm_model_create(c->spec, c->in, c->param, seed, &t.m) == LM_OK);
    if (!t.m) return 0;
    CHECK(lm_exec_create_f64(t.m, NB, LM_EXEC_TANGENT, &t.e) == LM_OK);
    t.np = lm_model_num_params(t.m);
    t.nin = lm_shape_numel(c->in) * NB;
    t.k = (int)lm_shape_numel(lm_model_output_shape(t.m));
    t.nout = (size_t)t.k * NB;
    size_t nb = lm_model_num_buffers(t.m);
    t.w = malloc(t.np * sizeof(double));
    t.tmp_w = malloc(t.np * sizeof(double));
    t.buf = calloc(nb + 1, sizeof(double));
    t.x = malloc(t.nin * sizeof(double));
    t.coef = malloc(t.nout * sizeof(double));
    t.target = malloc(t.nout * sizeof(double));
    t.gz = malloc(t.nout * sizeof(double));
    t.gzdot = malloc(t.nout * sizeof(double));
    /* perturbed parameters so that biases, BN scales and shifts are not at their init values */
    const float *w32 = lm_model_params(t.m), *b32 = lm_model_buffers(t.m);
    fill(t.tmp_w, t.np, 0.3, seed, 1);
    for (size_t i = 0; i < t.np; i++) t.w[i] = w32[i] + t.tmp_w[i];
    for (size_t i = 0; i < nb; i++) t.buf[i] = b32[i];
    for (int i = 0; i < lm_model_num_tensors(t.m); i++) { /* random running statistics */
        const lm_tensor_info *ti = lm_model_tensor(t.m, i);
        if (strstr(ti->name, "running_var"))
            for (size_t j = 0; j < ti->numel; j++) t.buf[ti->offset + j] = 0.5 + lm_rand_uniform(seed, 7, j);
        if (strstr(ti->name, "running_mean")) fill(t.buf + ti->offset, ti->numel, 0.3, seed, 8);
    }
    fill(t.x, t.nin, 1.0, seed, 2);
    fill(t.coef, t.nout, 1.0, seed, 3);
    for (int i = 0; i < NB; i++) t.target[i] = (double)(i % t.k); /* class indices for xent */
    if (c->loss == LM_LOSS_MSE) fill(t.target, t.nout, 1.0, seed, 4);
    lm_exec_set_rng_f64(t.e, seed, 5);

    double *g = malloc(t.np * sizeof *g), *gx = malloc(t.nin * sizeof *gx);
    double *v = malloc(t.np * sizeof *v), *u = malloc(t.nin * sizeof *u);
    double *hv = malloc(t.np * sizeof *hv), *fd = malloc((t.np > t.nout ? t.np : t.nout) * sizeof *fd);
    double *zdot = malloc(t.nout * sizeof *zdot);
    fill(v, t.np, 1.0, seed, 5);
    fill(u, t.nin, 1.0, seed, 6);
    const double h = 1e-5;
    int ok = 1;

    /* VJP: g . v and gx . u against central differences of phi */
    phi(&t, t.w, t.x, g, gx);
    double gv = 0, gu = 0;
    for (size_t i = 0; i < t.np; i++) gv += g[i] * v[i];
    for (size_t i = 0; i < t.nin; i++) gu += gx[i] * u[i];
    double *xp = malloc(t.nin * sizeof *xp);
    for (int side = 0; side < 2; side++) {
        double s = side ? -1 : 1, fw, fx;
        for (size_t i = 0; i < t.np; i++) t.tmp_w[i] = t.w[i] + s * h * v[i];
        fw = phi(&t, t.tmp_w, t.x, NULL, NULL);
        for (size_t i = 0; i < t.nin; i++) xp[i] = t.x[i] + s * h * u[i];
        fx = phi(&t, t.w, xp, NULL, NULL);
        fd[0] = side ? (fd[0] - fw) / (2 * h) : fw;
        fd[1] = side ? (fd[1] - fx) / (2 * h) : fx;
    }
    /* JVP and HVP from one tangent pass */
    lm_exec_bind_f64(t.e, t.w, t.buf);
    const double *z = lm_forward_f64(t.e, t.x, NB, c->mode, v);
    memcpy(zdot, lm_output_dot_f64(t.e), t.nout * sizeof *zdot);
    if (c->loss < 0) {
        memcpy(t.gz, t.coef, t.nout * sizeof *t.gz);
        memset(t.gzdot, 0, t.nout * sizeof *t.gzdot);
    } else {
        lm_loss_f64((lm_loss_kind)c->loss, z, t.target, NB, t.k, t.gz, zdot, t.gzdot);
    }
    double *g2 = malloc(t.np * sizeof *g2);
    lm_backward_f64(t.e, t.gz, g2, NULL, t.gzdot, hv);

    double e_vjp_w = fabs(gv - fd[0]) / fmax(fabs(gv), 1e-12);
    double e_vjp_x = fabs(gu - fd[1]) / fmax(fabs(gu), 1e-12);
    double e_grad_same = rel_err(g, g2, t.np); /* the tangent backward leaves the gradient alone */
    double e_jvp = -1, e_hvp = -1;
    if (fd_stable(&t, v, h, 0, fd, t.nout)) e_jvp = rel_err(zdot, fd, t.nout);
    if (fd_stable(&t, v, h, 1, fd, t.np)) e_hvp = rel_err(hv, fd, t.np);
    if (e_jvp < 0 || e_hvp < 0) {
        ok = -1; /* a kink was crossed: the caller redraws */
    } else {
        printf("%-40s %-8s %-6s vjp_w %.1e vjp_x %.1e jvp %.1e hvp %.1e\n", c->spec,
               c->mode == LM_MODE_EVAL ? "eval" : "train", c->loss < 0 ? "f" : c->loss ? "xent" : "mse",
               e_vjp_w, e_vjp_x, e_jvp, e_hvp);
        CHECK_MSG(e_vjp_w < 1e-6, "%s: VJP (parameters) relative error %.2e", c->spec, e_vjp_w);
        CHECK_MSG(e_vjp_x < 1e-6, "%s: VJP (input) relative error %.2e", c->spec, e_vjp_x);
        CHECK_MSG(e_jvp < 1e-6, "%s: JVP relative error %.2e", c->spec, e_jvp);
        CHECK_MSG(e_hvp < 1e-6, "%s: HVP relative error %.2e", c->spec, e_hvp);
        CHECK_MSG(e_grad_same < 1e-12, "%s: gradient differs in tangent mode (%.2e)", c->spec, e_grad_same);
    }
    free(g), free(g2), free(gx), free(v), free(u), free(hv), free(fd), free(zdot), free(xp);
    free(t.w), free(t.tmp_w), free(t.buf), free(t.x), free(t.coef), free(t.target), free(t.gz), free(t.gzdot);
    lm_exec_free_f64(t.e);
    lm_model_free(t.m);
    return ok;
}

int main(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int r = -1;
        for (uint64_t seed = 1; seed <= 6 && r < 0; seed++) r = run_case(&cases[i], seed);
        CHECK_MSG(r >= 0, "%s: every draw crossed a kink", cases[i].spec);
    }
    return check_summary();
}
