/* Dense layer: y = s * W x + b, W is out x in (torch.nn.Linear's layout), s = 1/sqrt(in)
 * under the ntk parameterization and 1 otherwise; dense:N:nobias has no b (and no "bias"
 * tensor). Bilinear in (W, x), so its tangent rules are those of a product (docs/theory.md
 * §6). */
#include <math.h>
#include <string.h>

#include "nn/generic.h"

#ifdef LM_F32 /* the type-independent half, compiled once */
static const char *dense_parse(lm_layer *L, int word, const char *arg)
{
    (void)word;
    L->dense.bias = 1;
    if (!arg || !lm_spec_int(&arg, &L->dense.units)) return "";
    if (lm_spec_flag(&arg, "nobias")) L->dense.bias = 0;
    if (*arg) return "";
    if (L->dense.units < 1) return "the width must be at least 1";
    return NULL;
}

static lm_status dense_infer(lm_layer *L, lm_param_kind param)
{
    size_t in = lm_shape_numel(L->in);
    L->out = (lm_shape){L->dense.units, 1, 1};
    L->np = (size_t)L->dense.units * in + (L->dense.bias ? (size_t)L->dense.units : 0);
    L->scale = param == LM_PARAM_NTK ? 1.0 / sqrt((double)in) : 1.0;
    return LM_OK;
}

static void dense_tensors(const lm_layer *L, void (*add)(void *, const char *, int, size_t, int, const int64_t *),
                          void *ctx)
{
    int64_t in = (int64_t)lm_shape_numel(L->in), w[2] = {L->dense.units, in}, b[1] = {L->dense.units};
    add(ctx, "weight", 1, 0, 2, w);
    if (L->dense.bias) add(ctx, "bias", 1, (size_t)L->dense.units * in, 1, b);
}

static void dense_init(const lm_layer *L, float *w, float *buf, lm_param_kind param, double gain2,
                       uint64_t seed)
{
    (void)buf;
    size_t in = lm_shape_numel(L->in);
    double std = param == LM_PARAM_NTK ? 1.0 : sqrt(gain2 / (double)in);
    lm_init_normal(w, (size_t)L->dense.units * in, std, seed, L->id, 0);
    if (L->dense.bias) memset(w + (size_t)L->dense.units * in, 0, (size_t)L->dense.units * sizeof *w);
}

static double dense_macs(const lm_layer *L) { return (double)L->dense.units * lm_shape_numel(L->in); }
#endif

static size_t dense_scratch(const lm_layer *L, int n, int tangent)
{
    (void)L, (void)n, (void)tangent;
    return 0;
}

static void add_bias(real *y, const real *b, int n, int o)
{
    for (int r = 0; r < n; r++)
#pragma omp simd
        for (int j = 0; j < o; j++) y[(size_t)r * o + j] += b[j];
}

static void sum_rows(real *out, const real *g, int n, int o)
{
    for (int j = 0; j < o; j++) out[j] = 0;
    for (int r = 0; r < n; r++)
#pragma omp simd
        for (int j = 0; j < o; j++) out[j] += g[(size_t)r * o + j];
}

static void dense_forward(const R(lm_call) *c, R(lm_ports) *p)
{
    const lm_layer *L = c->L;
    int n = c->n, o = L->dense.units, i = (int)lm_shape_numel(L->in);
    real s = (real)L->scale;
    const real *W = c->w, *b = c->w + (size_t)o * i;
    R(lm_gemm_nt)(n, o, i, s, p->x, W, 0, p->y);
    if (L->dense.bias) add_bias(p->y, b, n, o);
    if (p->dy) { /* dy = s (dW x + W dx) + db */
        const real *dW = c->v, *db = c->v + (size_t)o * i;
        R(lm_gemm_nt)(n, o, i, s, p->x, dW, 0, p->dy);
        R(lm_gemm_nt)(n, o, i, s, p->dx, W, 1, p->dy);
        if (L->dense.bias) add_bias(p->dy, db, n, o);
    }
}

static void dense_backward(const R(lm_call) *c, R(lm_ports) *p)
{
    const lm_layer *L = c->L;
    int n = c->n, o = L->dense.units, i = (int)lm_shape_numel(L->in);
    real s = (real)L->scale;
    const real *W = c->w;
    if (p->gw) R(lm_gemm_tn)(o, i, n, s, p->gy, p->x, 0, p->gw); /* gW = s g^T x */
    if (p->gw && L->dense.bias) sum_rows(p->gw + (size_t)o * i, p->gy, n, o);
    if (p->gx) R(lm_gemm_nn)(n, i, o, s, p->gy, W, 0, p->gx); /* gx = s g W */
    if (p->dgy) {
        const real *dW = c->v;
        R(lm_gemm_tn)(o, i, n, s, p->dgy, p->x, 0, p->dgw); /* dgW = s (dg x^T + g dx^T) */
        R(lm_gemm_tn)(o, i, n, s, p->gy, p->dx, 1, p->dgw);
        if (L->dense.bias) sum_rows(p->dgw + (size_t)o * i, p->dgy, n, o);
        if (p->dgx) { /* dgx = s (dW^T g + W^T dg) */
            R(lm_gemm_nn)(n, i, o, s, p->gy, dW, 0, p->dgx);
            R(lm_gemm_nn)(n, i, o, s, p->dgy, W, 1, p->dgx);
        }
    }
}

const R(lm_layer_ops) R(lm_dense_ops) = {dense_scratch, dense_forward, dense_backward, NULL, NULL};

#ifdef LM_F32
extern const struct lm_layer_ops_f64 lm_dense_ops_f64;
const lm_layer_def lm_dense_def = {
    .name = "dense",
    .syntax = "dense:N[:nobias]",
    .help = "fully connected, N outputs (a flatten is implied before it)",
    .flags = LM_LAYER_FLAT_IN | LM_LAYER_FLAT_OUT,
    .parse = dense_parse,
    .infer = dense_infer,
    .tensors = dense_tensors,
    .init = dense_init,
    .macs = dense_macs,
    .ops_f32 = &lm_dense_ops_f32,
    .ops_f64 = &lm_dense_ops_f64,
};
#endif
