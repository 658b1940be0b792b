/* The exact dense Hessian of small models (at most 2000 parameters), in float64, built column
 * by column from p forward-over-reverse Hessian-vector products H e_j, must be
 *   symmetric:  max |H - H^T| <= 1e-10 max |H|, and
 *   right:      ||H - H_fd||_F <= 1e-6 ||H||_F, where H_fd's column j is the central
 *               difference (g(w + h e_j) - g(w - h e_j)) / 2h of the gradient g (from a separate,
 *               non-tangent executor).
 * phi is either the model Hessian's function, the mean output (1/n) sum_i z_i (gz = 1/n,
 * gzdot = 0), or a loss (softmax cross-entropy or MSE, whose gz and gzdot come from lm_loss_f64
 * along the output tangent). The models are smooth (tanh, softplus, gelu, sigmoid), with batch
 * norm in batch-statistics (FROZEN) and running-statistics (EVAL) modes, except two with
 * residual blocks, whose ReLUs are not crossed by the +-h steps at these fixed seeds. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/exec.h"
#include "linmass/rng.h"

typedef struct {
    const char *spec;
    lm_shape in;
    lm_mode mode;
    int loss; /* -1: mean output; else an lm_loss_kind */
    lm_param_kind param;
} hcase;

static const hcase cases[] = {
    {"dense:12,tanh,dense:8,softplus,dense:1", {6, 1, 1}, LM_MODE_EVAL, -1, LM_PARAM_STANDARD},
    {"dense:12,tanh,dense:8,softplus,dense:1", {6, 1, 1}, LM_MODE_EVAL, -1, LM_PARAM_NTK},
    {"dense:12,tanh,dense:8,softplus,dense:3", {6, 1, 1}, LM_MODE_EVAL, LM_LOSS_XENT, LM_PARAM_STANDARD},
    {"dense:12,gelu,dense:8,sigmoid,dense:2", {6, 1, 1}, LM_MODE_EVAL, LM_LOSS_MSE, LM_PARAM_NTK},
    {"conv:4x3,bn,tanh,conv:3x3/2,bn,softplus,flatten,dense:1", {2, 6, 6}, LM_MODE_FROZEN, -1, LM_PARAM_STANDARD},
    {"conv:4x3,bn,gelu,conv:3x3/2,bn,sigmoid,dense:3", {2, 6, 6}, LM_MODE_FROZEN, LM_LOSS_XENT, LM_PARAM_STANDARD},
    {"conv:4x3,bn,tanh,avgpool:2,conv:3x3,gap,dense:2", {2, 6, 6}, LM_MODE_EVAL, LM_LOSS_MSE, LM_PARAM_STANDARD},
    /* residual blocks: piecewise smooth (their ReLUs), fine away from kinks at these seeds */
    {"conv:4x3,res:4,res:6/2:pad,gap,dense:2", {2, 6, 6}, LM_MODE_FROZEN, LM_LOSS_XENT, LM_PARAM_STANDARD},
    {"conv:4x3,res:4,res:8/2,gap,dense:1", {2, 6, 6}, LM_MODE_FROZEN, -1, LM_PARAM_STANDARD},
};

enum { NB = 5 }; /* batch */

typedef struct {
    const hcase *c;
    lm_model *m;
    lm_exec_f64 *plain, *tan;
    size_t np;
    int k;
    double *w, *buf, *x, *t, *gz, *gzdot, *zero;
} ctx;

/* phi's output gradient gz (and, given zdot, its tangent gzdot) at output z. */
static void output_grad(ctx *c, const double *z, const double *zdot)
{
    size_t nout = (size_t)NB * c->k;
    if (c->c->loss < 0) {
        for (size_t i = 0; i < nout; i++) c->gz[i] = 1.0 / NB, c->gzdot[i] = 0;
    } else {
        lm_loss_f64((lm_loss_kind)c->c->loss, z, c->t, NB, c->k, c->gz, zdot, zdot ? c->gzdot : NULL);
    }
}

static void gradient(ctx *c, const double *w, double *g)
{
    lm_exec_bind_f64(c->plain, (double *)w, c->buf);
    const double *z = lm_forward_f64(c->plain, c->x, NB, c->c->mode, NULL);
    output_grad(c, z, NULL);
    lm_backward_f64(c->plain, c->gz, g, NULL, NULL, NULL);
}

static void run_case(const hcase *hc, uint64_t seed)
{
    ctx c = {.c = hc};
    CHECK_MSG(lm_model_create(hc->spec, hc->in, hc->param, seed, &c.m) == LM_OK, "%s: %s", hc->spec,
              lm_error_message());
    if (!c.m) return;
    c.np = lm_model_num_params(c.m);
    c.k = (int)lm_shape_numel(lm_model_output_shape(c.m));
    CHECK_MSG(c.np <= 2000, "%s: %zu parameters, more than 2000", hc->spec, c.np);
    CHECK(lm_exec_create_f64(c.m, NB, 0, &c.plain) == LM_OK);
    CHECK(lm_exec_create_f64(c.m, NB, LM_EXEC_TANGENT, &c.tan) == LM_OK);
    size_t np = c.np, nb = lm_model_num_buffers(c.m), nin = lm_shape_numel(hc->in) * NB, nout = (size_t)NB * c.k;
    c.w = malloc(np * sizeof *c.w);
    c.buf = calloc(nb + 1, sizeof *c.buf);
    c.x = malloc(nin * sizeof *c.x);
    c.t = malloc(nout * sizeof *c.t);
    c.gz = malloc(nout * sizeof *c.gz);
    c.gzdot = malloc(nout * sizeof *c.gzdot);
    double *H = malloc(np * np * sizeof *H), *Hfd = malloc(np * np * sizeof *Hfd);
    double *v = calloc(np, sizeof *v), *g = malloc(np * sizeof *g), *gp = malloc(np * sizeof *gp);
    double *wp = malloc(np * sizeof *wp);

    /* parameters away from their initial values (biases, batch-norm scales and shifts too),
     * random running statistics, inputs and targets */
    const float *w32 = lm_model_params(c.m), *b32 = lm_model_buffers(c.m);
    lm_rand_normal_fill_f64(wp, np, 0.3, seed, 11);
    for (size_t i = 0; i < np; i++) c.w[i] = w32[i] + wp[i];
    for (size_t i = 0; i < nb; i++) c.buf[i] = b32[i];
    for (int i = 0; i < lm_model_num_tensors(c.m); i++) {
        const lm_tensor_info *ti = lm_model_tensor(c.m, i);
        for (size_t j = 0; j < ti->numel && !ti->trainable; j++) {
            if (strstr(ti->name, "running_var")) c.buf[ti->offset + j] = 0.5 + lm_rand_uniform(seed, 12, ti->offset + j);
            if (strstr(ti->name, "running_mean")) c.buf[ti->offset + j] = 0.2 * lm_rand_normal(seed, 13, ti->offset + j);
        }
    }
    lm_rand_normal_fill_f64(c.x, nin, 1.0, seed, 14);
    for (size_t i = 0; i < nout; i++) c.t[i] = lm_rand_normal(seed, 15, i);
    if (hc->loss == LM_LOSS_XENT)
        for (int i = 0; i < NB; i++) c.t[i] = (double)(i % c.k);

    /* the exact Hessian, column by column */
    lm_exec_bind_f64(c.tan, c.w, c.buf);
    double hmax = 0;
    for (size_t j = 0; j < np; j++) {
        v[j] = 1;
        const double *z = lm_forward_f64(c.tan, c.x, NB, hc->mode, v);
        output_grad(&c, z, lm_output_dot_f64(c.tan));
        lm_backward_f64(c.tan, c.gz, g, NULL, c.gzdot, H + j * np); /* column j, stored as row j */
        v[j] = 0;
    }
    for (size_t i = 0; i < np * np; i++) hmax = fmax(hmax, fabs(H[i]));
    double asym = 0;
    for (size_t i = 0; i < np; i++)
        for (size_t j = 0; j < i; j++) asym = fmax(asym, fabs(H[i * np + j] - H[j * np + i]));

    /* the finite-difference Hessian from central differences of the gradient */
    const double h = 1e-5;
    memcpy(wp, c.w, np * sizeof *wp);
    for (size_t j = 0; j < np; j++) {
        wp[j] = c.w[j] + h;
        gradient(&c, wp, gp);
        wp[j] = c.w[j] - h;
        gradient(&c, wp, g);
        wp[j] = c.w[j];
        for (size_t i = 0; i < np; i++) Hfd[j * np + i] = (gp[i] - g[i]) / (2 * h);
    }
    double num = 0, den = 0;
    for (size_t i = 0; i < np * np; i++) {
        num += (H[i] - Hfd[i]) * (H[i] - Hfd[i]);
        den += H[i] * H[i];
    }
    double rel = sqrt(num / (den + 1e-300));
    const char *phi = hc->loss < 0 ? "mean output" : hc->loss == LM_LOSS_XENT ? "xent loss" : "mse loss";
    printf("%-52s %-4s %-6s %-11s p=%-4zu max|H| %.3e  asym %.2e  fd rel err %.2e\n", hc->spec,
           hc->param == LM_PARAM_NTK ? "ntk" : "std", hc->mode == LM_MODE_EVAL ? "eval" : "frozen", phi, np, hmax,
           asym / hmax, rel);
    CHECK_MSG(hmax > 0, "%s: the Hessian is zero", hc->spec);
    CHECK_MSG(asym <= 1e-10 * hmax, "%s (%s): asymmetry %.3e > 1e-10 max|H| (%.3e)", hc->spec, phi, asym, hmax);
    CHECK_MSG(rel <= 1e-6, "%s (%s): ||H - H_fd||_F / ||H||_F = %.3e > 1e-6", hc->spec, phi, rel);

    free(H), free(Hfd), free(v), free(g), free(gp), free(wp);
    free(c.w), free(c.buf), free(c.x), free(c.t), free(c.gz), free(c.gzdot);
    lm_exec_free_f64(c.plain);
    lm_exec_free_f64(c.tan);
    lm_model_free(c.m);
}

int main(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) run_case(&cases[i], 100 + i);
    return check_summary();
}
