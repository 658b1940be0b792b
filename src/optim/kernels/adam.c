/* Adam and AdamW as torch.optim.Adam / AdamW's documented algorithms (amsgrad=False):
 * coupled L2 for Adam, decoupled decay w (1 - lr wd) for AdamW, bias corrections with the step
 * number t, and eps added outside the square root. Scalars are formed in double and rounded
 * once, and the operations run in PyTorch's order, so float32 iterates agree to a few ulps.
 * Written once over `real` (core/real.h); the descriptors of adam and adamw follow. */
#include "core/real.h"
#include "optim/optim_def.h"

void R(lm_adam_step)(size_t n, real *w, const real *g, real *m, real *v, const lm_adam_hp *hp, long t)
{
    const real b1 = (real)hp->beta1, b2 = (real)hp->beta2, eps = (real)hp->eps;
    const real one_b1 = (real)(1.0 - hp->beta1), one_b2 = (real)(1.0 - hp->beta2);
    const real wd = (real)hp->weight_decay, shrink = (real)(1.0 - hp->lr * hp->weight_decay);
    const real step = (real)(hp->lr / (1.0 - pow(hp->beta1, (double)t)));
    const real root2 = (real)sqrt(1.0 - pow(hp->beta2, (double)t));
    for (size_t i = 0; i < n; i++) {
        real d = g[i];
        if (hp->decoupled) w[i] *= shrink;
        else if (wd != 0) d += wd * w[i];
        m[i] = b1 * m[i] + one_b1 * d;
        v[i] = b2 * v[i] + one_b2 * d * d;
        real denom = sqrt(v[i]) / root2 + eps;
        w[i] += -step * m[i] / denom;
    }
}

/* The descriptors' step: adamw decouples the weight decay. */
void R(lm_optim_adam_step)(const lm_optim_step_args *a, size_t n, real *w, const real *g, real *const *s)
{
    const lm_optim_config *c = a->c;
    lm_adam_hp hp = {c->lr * a->lr_factor, c->beta1, c->beta2, c->eps, c->weight_decay,
                     c->kind == LM_OPTIM_ADAMW};
    R(lm_adam_step)(n, w, g, s[0], s[1], &hp, a->t);
}

#ifdef LM_F32 /* the descriptors, once */
void lm_optim_adam_step_f64(const lm_optim_step_args *a, size_t n, double *w, const double *g, double *const *s);

static lm_status adam_validate(lm_optim_config *c)
{
    lm_status st = lm_optim_check_range(c, "beta1", c->beta1, 0, 1, 1, 0);
    if (!st) st = lm_optim_check_range(c, "beta2", c->beta2, 0, 1, 1, 0);
    if (!st) st = lm_optim_check_range(c, "eps", c->eps, 0, 0, INFINITY, 0);
    return st;
}

const lm_optim_def lm_optim_adam_def = {
    .kind = LM_OPTIM_ADAM,
    .name = "adam",
    .state = {"exp_avg", "exp_avg_sq"},
    .eval_state = -1,
    .options = LM_OPT_COMMON | LM_OPT_BETA1 | LM_OPT_BETA2 | LM_OPT_EPS,
    .defaults = {.lr = 1e-3},
    .validate = adam_validate,
    .step_f32 = lm_optim_adam_step_f32,
    .step_f64 = lm_optim_adam_step_f64,
};

const lm_optim_def lm_optim_adamw_def = {
    .kind = LM_OPTIM_ADAMW,
    .name = "adamw",
    .state = {"exp_avg", "exp_avg_sq"},
    .eval_state = -1,
    .options = LM_OPT_COMMON | LM_OPT_BETA1 | LM_OPT_BETA2 | LM_OPT_EPS,
    .defaults = {.lr = 1e-3},
    .validate = adam_validate,
    .step_f32 = lm_optim_adam_step_f32,
    .step_f64 = lm_optim_adam_step_f64,
};
#endif
