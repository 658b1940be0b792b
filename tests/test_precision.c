/* Float32 (training) and float64 (probes) forward passes of the same model agree to float32
 * precision: ||z32 - z64|| / ||z64|| <= 1e-5 on the outputs, with the float32 parameters,
 * buffers and inputs converted to double (a lossless conversion: converting back gives the
 * same bits). Models: the fcn preset in eval mode, the cnn preset (3x32x32) in eval mode,
 * resnet20 in eval mode (random running statistics) and with batch statistics (FROZEN), and a
 * tanh MLP in the NTK parameterization. The cross-entropy losses must agree to 1e-6. */
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
    int n;
    lm_mode mode;
    lm_param_kind param;
} pcase;

static const pcase cases[] = {
    {"fcn", {1, 28, 28}, 4, LM_MODE_EVAL, LM_PARAM_STANDARD},
    {"cnn", {3, 32, 32}, 2, LM_MODE_EVAL, LM_PARAM_STANDARD},
    {"resnet20", {3, 32, 32}, 2, LM_MODE_EVAL, LM_PARAM_STANDARD},
    {"resnet20", {3, 32, 32}, 2, LM_MODE_FROZEN, LM_PARAM_STANDARD},
    {"dense:256,tanh,dense:256,tanh,dense:10", {32, 1, 1}, 8, LM_MODE_EVAL, LM_PARAM_NTK},
};

static void run_case(const pcase *pc, uint64_t seed)
{
    lm_model *m = NULL;
    CHECK_MSG(lm_model_create(pc->spec, pc->in, pc->param, seed, &m) == LM_OK, "%s: %s", pc->spec,
              lm_error_message());
    if (!m) return;
    size_t np = lm_model_num_params(m), nb = lm_model_num_buffers(m), nin = lm_shape_numel(pc->in) * pc->n;
    int k = (int)lm_shape_numel(lm_model_output_shape(m));
    size_t nout = (size_t)pc->n * k;
    float *w32 = lm_model_params(m), *b32 = lm_model_buffers(m);
    /* random biases, batch-norm parameters and running statistics, so that none is trivial */
    for (int i = 0; i < lm_model_num_tensors(m); i++) {
        const lm_tensor_info *t = lm_model_tensor(m, i);
        float *dst = (t->trainable ? w32 : b32) + t->offset;
        for (size_t j = 0; j < t->numel; j++) {
            double u = lm_rand_normal(seed, 20 + i, j);
            if (strstr(t->name, "running_var")) dst[j] = (float)(0.5 + fabs(u));
            else if (strstr(t->name, "running_mean")) dst[j] = (float)(0.1 * u);
            else if (t->ndim == 1) dst[j] += (float)(0.1 * u); /* biases and batch-norm scales */
        }
    }
    float *x32 = malloc(nin * sizeof *x32), *t32 = malloc(pc->n * sizeof *t32);
    double *x64 = malloc(nin * sizeof *x64), *t64 = malloc(pc->n * sizeof *t64);
    double *w64 = malloc(np * sizeof *w64), *b64 = malloc((nb + 1) * sizeof *b64);
    lm_rand_normal_fill_f32(x32, nin, 1.0, seed, 30);
    for (size_t i = 0; i < nin; i++) x64[i] = x32[i];
    for (int i = 0; i < pc->n; i++) t32[i] = (float)(t64[i] = i % k);
    for (size_t i = 0; i < np; i++) w64[i] = w32[i];
    for (size_t i = 0; i < nb; i++) b64[i] = b32[i];
    int lossless = 1;
    for (size_t i = 0; i < np; i++) {
        float back = (float)w64[i];
        lossless &= !memcmp(&back, &w32[i], sizeof back);
    }
    for (size_t i = 0; i < nb; i++) lossless &= (float)b64[i] == b32[i];
    CHECK_MSG(lossless, "%s: float32 -> float64 -> float32 changed a parameter", pc->spec);

    lm_exec_f32 *e32 = NULL;
    lm_exec_f64 *e64 = NULL;
    CHECK(lm_exec_create_f32(m, pc->n, 0, &e32) == LM_OK);
    CHECK(lm_exec_create_f64(m, pc->n, 0, &e64) == LM_OK);
    if (e32 && e64) {
        lm_exec_bind_f32(e32, w32, b32);
        lm_exec_bind_f64(e64, w64, b64);
        const float *z32 = lm_forward_f32(e32, x32, pc->n, pc->mode, NULL);
        const double *z64 = lm_forward_f64(e64, x64, pc->n, pc->mode, NULL);
        double num = 0, den = 0, worst = 0;
        for (size_t i = 0; i < nout; i++) {
            num += (z32[i] - z64[i]) * (z32[i] - z64[i]);
            den += z64[i] * z64[i];
            worst = fmax(worst, fabs(z32[i] - z64[i]));
        }
        double rel = sqrt(num / den);
        double l32 = lm_loss_f32(LM_LOSS_XENT, z32, t32, pc->n, k, NULL, NULL, NULL);
        double l64 = lm_loss_f64(LM_LOSS_XENT, z64, t64, pc->n, k, NULL, NULL, NULL);
        printf("%-40s %-4s %-6s p=%-7zu output rel err %.2e (max abs %.2e, |z| %.3e)  loss %.9f vs %.9f\n", pc->spec,
               pc->param == LM_PARAM_NTK ? "ntk" : "std", pc->mode == LM_MODE_EVAL ? "eval" : "frozen", np, rel,
               worst, sqrt(den), l32, l64);
        CHECK_MSG(den > 0, "%s: zero output", pc->spec);
        CHECK_MSG(rel <= 1e-5, "%s: float32 and float64 outputs differ by %.3e relative (> 1e-5)", pc->spec, rel);
        CHECK_MSG(fabs(l32 - l64) <= 1e-6 * fabs(l64), "%s: losses %.9g (f32) vs %.9g (f64)", pc->spec, l32, l64);
    }
    lm_exec_free_f32(e32);
    lm_exec_free_f64(e64);
    free(x32), free(t32), free(x64), free(t64), free(w64), free(b64);
    lm_model_free(m);
}

int main(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) run_case(&cases[i], 40 + i);
    return check_summary();
}
