/* Element-wise activations y = sigma(x), with sigma' and sigma'' for the tangent rules:
 *   forward  dy = sigma'(x) dx
 *   backward gx = sigma'(x) g,  dgx = sigma''(x) dx g + sigma'(x) dg.
 * The switch sits outside the loops: no per-element function-pointer calls. */
#include <math.h>
#include <string.h>

#include "core/parallel.h"
#include "nn/generic.h"

#ifdef LM_F32
static const char *act_parse(lm_layer *L, int word, const char *arg)
{
    L->act.fn = (lm_act)word; /* act_words are in lm_act's order */
    return arg ? "activations take no argument" : NULL;
}

static lm_status act_infer(lm_layer *L, lm_param_kind param)
{
    (void)param;
    L->out = L->in;
    return LM_OK;
}

static lm_status flatten_infer(lm_layer *L, lm_param_kind param)
{
    (void)param;
    L->out = (lm_shape){(int)lm_shape_numel(L->in), 1, 1};
    return LM_OK;
}

/* Element-wise: any layout, padding lanes included (they stay finite) */
static unsigned act_layout(const lm_layer *L)
{
    (void)L;
    return LM_LAYOUT_IN | LM_LAYOUT_KEEP;
}

/* Flatten takes either layout and gives the plain order (PyTorch's nn.Flatten) */
static unsigned flatten_layout(const lm_layer *L)
{
    (void)L;
    return LM_LAYOUT_IN;
}
#endif

static size_t no_scratch(const lm_layer *L, int n, int tangent)
{
    (void)L, (void)n, (void)tangent;
    return 0;
}

/* Values of a call, in its layout */
static size_t values(const R(lm_call) *c) { return (size_t)c->n * lm_numel_in(c->L->in, c->in_blk); }

/* sigma' and sigma'' at x, given y = sigma(x). */
static inline void derivs(lm_act a, real x, real y, real *d1, real *d2)
{
    *d1 = 1;
    *d2 = 0;
    switch (a) {
    case ACT_RELU: *d1 = x > 0; *d2 = 0; break;
    case ACT_TANH: *d1 = 1 - y * y; *d2 = -2 * y * (1 - y * y); break;
    case ACT_SIGMOID: *d1 = y * (1 - y); *d2 = y * (1 - y) * (1 - 2 * y); break;
    case ACT_SOFTPLUS: { /* torch: beta 1, linear above threshold 20 */
        real s = x > 20 ? 1 : 1 / (1 + exp(-x));
        *d1 = s;
        *d2 = x > 20 ? 0 : s * (1 - s);
        break;
    }
    case ACT_GELU: { /* exact erf form: y = x Phi(x) */
        real phi = exp(-x * x / 2) / sqrt((real)(2 * M_PI));
        real Phi = (1 + erf(x / sqrt((real)2))) / 2;
        *d1 = Phi + x * phi;
        *d2 = phi * (2 - x * x);
        break;
    }
    case ACT_IDENTITY: break;
    }
}

#define EACH(count) for (size_t k = 0; k < (count); k++)

/* relu over [begin, end): out = x > 0 ? (g ? g : x) : 0, branch-free and vectorised (random
 * signs defeat branch prediction; both loads unconditional); split by lm_par_range */
typedef struct {
    const real *x, *g;
    real *out;
} relu_job;

static void relu_range(void *arg, size_t begin, size_t end)
{
    const relu_job *j = arg;
    const real *x = j->x, *g = j->g ? j->g : j->x;
    real *out = j->out;
#pragma omp simd
    for (size_t k = begin; k < end; k++) {
        real gk = g[k];
        out[k] = x[k] > 0 ? gk : 0;
    }
}

static void act_forward(const R(lm_call) *c, R(lm_ports) *p)
{
    size_t count = values(c);
    const real *x = p->x;
    real *y = p->y;
    switch (c->L->act.fn) {
    case ACT_RELU: {
        relu_job j = {x, NULL, y};
        lm_par_range(count, relu_range, &j);
        break;
    }
    case ACT_TANH: EACH(count) y[k] = tanh(x[k]); break;
    case ACT_SIGMOID: EACH(count) y[k] = 1 / (1 + exp(-x[k])); break;
    case ACT_SOFTPLUS: EACH(count) y[k] = x[k] > 20 ? x[k] : log1p(exp(x[k])); break;
    case ACT_GELU: EACH(count) y[k] = x[k] * (1 + erf(x[k] / sqrt((real)2))) / 2; break;
    case ACT_IDENTITY: memcpy(y, x, count * sizeof *y); break;
    }
    if (p->dy) {
        lm_act a = c->L->act.fn;
        EACH(count) {
            real d1, d2;
            derivs(a, x[k], y[k], &d1, &d2);
            p->dy[k] = d1 * p->dx[k];
        }
    }
}

static void act_backward(const R(lm_call) *c, R(lm_ports) *p)
{
    if (!p->gx) return;
    size_t count = values(c);
    const real *x = p->x, *y = p->y, *g = p->gy;
    lm_act a = c->L->act.fn;
    if (a == ACT_RELU && !p->dgy) { /* both loads unconditional, so the loop vectorises */
        relu_job j = {x, g, p->gx};
        lm_par_range(count, relu_range, &j);
        return;
    }
    EACH(count) {
        real d1, d2;
        derivs(a, x[k], y[k], &d1, &d2);
        p->gx[k] = d1 * g[k];
        if (p->dgx) p->dgx[k] = d2 * p->dx[k] * g[k] + d1 * p->dgy[k];
    }
}

const R(lm_layer_ops) R(lm_act_ops) = {no_scratch, act_forward, act_backward, NULL, NULL};

/* Flatten reinterprets the shape: values, gradients and tangents are copied through, from and to
 * the plain order whatever the input's layout. */
static void flatten_forward(const R(lm_call) *c, R(lm_ports) *p)
{
    R(lm_relayout)(c->L->in, c->n, p->x, c->in_blk, p->y, 0);
    if (p->dy) R(lm_relayout)(c->L->in, c->n, p->dx, c->in_blk, p->dy, 0);
}

static void flatten_backward(const R(lm_call) *c, R(lm_ports) *p)
{
    if (p->gx) R(lm_relayout)(c->L->in, c->n, p->gy, 0, p->gx, c->in_blk);
    if (p->dgx) R(lm_relayout)(c->L->in, c->n, p->dgy, 0, p->dgx, c->in_blk);
}

const R(lm_layer_ops) R(lm_flatten_ops) = {no_scratch, flatten_forward, flatten_backward, NULL, NULL};

#ifdef LM_F32
extern const struct lm_layer_ops_f64 lm_act_ops_f64, lm_flatten_ops_f64;
static const char act_words[] = "relu tanh sigmoid softplus gelu identity"; /* lm_act's order */
const lm_layer_def lm_act_def = {
    .name = "act",
    .words = act_words,
    .syntax = act_words,
    .help = "element-wise activations (gelu: the exact erf form)",
    .parse = act_parse,
    .infer = act_infer,
    .layout = act_layout,
    .ops_f32 = &lm_act_ops_f32,
    .ops_f64 = &lm_act_ops_f64,
};
const lm_layer_def lm_flatten_def = {
    .name = "flatten",
    .syntax = "flatten",
    .help = "C x H x W -> a flat vector of C*H*W (implied before dense)",
    .flags = LM_LAYER_FLAT_OUT,
    .infer = flatten_infer,
    .layout = flatten_layout,
    .ops_f32 = &lm_flatten_ops_f32,
    .ops_f64 = &lm_flatten_ops_f64,
};
#endif
