/* 2-D convolution, NCHW, weights O x C x k x k (torch.nn.Conv2d's layout), stride and zero
 * padding: y = s * W * im2col(x) + b, with s = 1/sqrt(C k k) under the ntk parameterization.
 * Bilinear in (W, x) like the dense layer, with im2col patches in place of x. */
#include <math.h>
#include <string.h>

#include "nn/generic.h"

#ifdef LM_F32
static lm_status conv_infer(lm_layer *L, lm_param_kind param)
{
    int Hp = L->in.h + 2 * L->pad, Wp = L->in.w + 2 * L->pad;
    if (Hp < L->k || Wp < L->k)
        return lm_fail(LM_EINVAL, "kernel %dx%d does not fit the %dx%d input (padding %d)", L->k, L->k,
                       L->in.h, L->in.w, L->pad);
    L->out = (lm_shape){L->units, (Hp - L->k) / L->stride + 1, (Wp - L->k) / L->stride + 1};
    size_t fan_in = (size_t)L->in.c * L->k * L->k;
    L->np = (size_t)L->units * fan_in + (L->bias ? (size_t)L->units : 0);
    L->scale = param == LM_PARAM_NTK ? 1.0 / sqrt((double)fan_in) : 1.0;
    return LM_OK;
}

static void conv_tensors(const lm_layer *L, void (*add)(void *, const char *, int, size_t, int, const int64_t *),
                         void *ctx)
{
    int64_t w[4] = {L->units, L->in.c, L->k, L->k}, b[1] = {L->units};
    add(ctx, "weight", 1, 0, 4, w);
    if (L->bias) add(ctx, "bias", 1, (size_t)L->units * L->in.c * L->k * L->k, 1, b);
}

static void conv_init(const lm_layer *L, float *w, float *buf, lm_param_kind param, double gain2,
                      uint64_t seed)
{
    (void)buf;
    size_t fan_in = (size_t)L->in.c * L->k * L->k;
    double std = param == LM_PARAM_NTK ? 1.0 : sqrt(gain2 / (double)fan_in);
    lm_init_normal(w, (size_t)L->units * fan_in, std, seed, L->id, 0);
    if (L->bias) memset(w + (size_t)L->units * fan_in, 0, (size_t)L->units * sizeof *w);
}

static double conv_macs(const lm_layer *L)
{
    return (double)L->units * L->in.c * L->k * L->k * L->out.h * L->out.w;
}

const lm_layer_def lm_conv_def = {"conv", conv_infer, conv_tensors, conv_init, conv_macs};
#endif

typedef struct {
    int C, H, W, O, k, stride, pad, Ho, Wo;
    size_t ckk, hw; /* rows and columns of the patch matrix */
} geom;

static geom geometry(const lm_layer *L)
{
    geom g = {L->in.c, L->in.h, L->in.w, L->units, L->k, L->stride, L->pad, L->out.h, L->out.w, 0, 0};
    g.ckk = (size_t)g.C * g.k * g.k;
    g.hw = (size_t)g.Ho * g.Wo;
    return g;
}

static size_t conv_scratch(const lm_layer *L, int n, int tangent)
{
    (void)n;
    geom g = geometry(L);
    return (tangent ? 4 : 2) * g.ckk * g.hw;
}

/* col (ckk x hw) = patches of one sample x (C x H x W) */
static void im2col(const geom *g, const real *x, real *col)
{
    for (int c = 0; c < g->C; c++)
        for (int a = 0; a < g->k; a++)
            for (int b = 0; b < g->k; b++) {
                real *row = col + ((size_t)(c * g->k + a) * g->k + b) * g->hw;
                for (int i = 0; i < g->Ho; i++) {
                    int h = i * g->stride - g->pad + a;
                    for (int j = 0; j < g->Wo; j++) {
                        int w = j * g->stride - g->pad + b;
                        row[(size_t)i * g->Wo + j] =
                            h >= 0 && h < g->H && w >= 0 && w < g->W ? x[((size_t)c * g->H + h) * g->W + w] : 0;
                    }
                }
            }
}

/* x (C x H x W) = the adjoint of im2col applied to col */
static void col2im(const geom *g, const real *col, real *x)
{
    memset(x, 0, (size_t)g->C * g->H * g->W * sizeof *x);
    for (int c = 0; c < g->C; c++)
        for (int a = 0; a < g->k; a++)
            for (int b = 0; b < g->k; b++) {
                const real *row = col + ((size_t)(c * g->k + a) * g->k + b) * g->hw;
                for (int i = 0; i < g->Ho; i++) {
                    int h = i * g->stride - g->pad + a;
                    if (h < 0 || h >= g->H) continue;
                    for (int j = 0; j < g->Wo; j++) {
                        int w = j * g->stride - g->pad + b;
                        if (w >= 0 && w < g->W) x[((size_t)c * g->H + h) * g->W + w] += row[(size_t)i * g->Wo + j];
                    }
                }
            }
}

/* y (O x hw) = s * W (O x ckk) * col (ckk x hw) + beta * y */
static void w_times_col(const geom *g, real s, const real *W, const real *col, real beta, real *y)
{
    cblas_xgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->O, (int)g->hw, (int)g->ckk, s, W,
                (int)g->ckk, col, (int)g->hw, beta, y, (int)g->hw);
}

/* gW (O x ckk) = s * gy (O x hw) * col^T + beta * gW */
static void gy_times_colT(const geom *g, real s, const real *gy, const real *col, real beta, real *gW)
{
    cblas_xgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g->O, (int)g->ckk, (int)g->hw, s, gy,
                (int)g->hw, col, (int)g->hw, beta, gW, (int)g->ckk);
}

/* gcol (ckk x hw) = s * W^T * gy + beta * gcol */
static void wT_times_gy(const geom *g, real s, const real *W, const real *gy, real beta, real *gcol)
{
    cblas_xgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)g->ckk, (int)g->hw, g->O, s, W,
                (int)g->ckk, gy, (int)g->hw, beta, gcol, (int)g->hw);
}

static void add_channel_bias(const geom *g, const real *b, real *y)
{
    for (int o = 0; o < g->O; o++)
        for (size_t j = 0; j < g->hw; j++) y[(size_t)o * g->hw + j] += b[o];
}

static void add_channel_sums(const geom *g, const real *gy, real *gb)
{
    for (int o = 0; o < g->O; o++)
        for (size_t j = 0; j < g->hw; j++) gb[o] += gy[(size_t)o * g->hw + j];
}

static void conv_forward(const R(lm_call) *c, R(lm_ports) *p)
{
    geom g = geometry(c->L);
    real s = (real)c->L->scale;
    size_t in_n = (size_t)g.C * g.H * g.W, out_n = (size_t)g.O * g.hw;
    const real *W = c->w, *b = c->L->bias ? c->w + g.O * g.ckk : NULL;
    real *col = c->scr, *dcol = c->scr + 2 * g.ckk * g.hw;
    for (int n = 0; n < c->n; n++) {
        im2col(&g, p->x + n * in_n, col);
        real *y = p->y + n * out_n;
        w_times_col(&g, s, W, col, 0, y);
        if (b) add_channel_bias(&g, b, y);
        if (p->dy) { /* dy = s (dW col + W dcol) + db */
            real *dy = p->dy + n * out_n;
            im2col(&g, p->dx + n * in_n, dcol);
            w_times_col(&g, s, c->v, col, 0, dy);
            w_times_col(&g, s, W, dcol, 1, dy);
            if (b) add_channel_bias(&g, c->v + g.O * g.ckk, dy);
        }
    }
}

static void conv_backward(const R(lm_call) *c, R(lm_ports) *p)
{
    geom g = geometry(c->L);
    real s = (real)c->L->scale;
    size_t in_n = (size_t)g.C * g.H * g.W, out_n = (size_t)g.O * g.hw, nw = g.O * g.ckk;
    const real *W = c->w;
    real *col = c->scr, *gcol = c->scr + g.ckk * g.hw;
    real *dcol = gcol + g.ckk * g.hw, *dgcol = dcol + g.ckk * g.hw;
    memset(p->gw, 0, c->L->np * sizeof *p->gw);
    if (p->dgw) memset(p->dgw, 0, c->L->np * sizeof *p->dgw);
    for (int n = 0; n < c->n; n++) {
        const real *gy = p->gy + n * out_n;
        im2col(&g, p->x + n * in_n, col);
        gy_times_colT(&g, s, gy, col, 1, p->gw);
        if (c->L->bias) add_channel_sums(&g, gy, p->gw + nw);
        if (p->gx) {
            wT_times_gy(&g, s, W, gy, 0, gcol);
            col2im(&g, gcol, p->gx + n * in_n);
        }
        if (!p->dgy) continue;
        const real *dgy = p->dgy + n * out_n;
        im2col(&g, p->dx + n * in_n, dcol); /* dgW = s (dg col^T + g dcol^T) */
        gy_times_colT(&g, s, dgy, col, 1, p->dgw);
        gy_times_colT(&g, s, gy, dcol, 1, p->dgw);
        if (c->L->bias) add_channel_sums(&g, dgy, p->dgw + nw);
        if (p->dgx) { /* dgcol = s (dW^T g + W^T dg) */
            wT_times_gy(&g, s, c->v, gy, 0, dgcol);
            wT_times_gy(&g, s, W, dgy, 1, dgcol);
            col2im(&g, dgcol, p->dgx + n * in_n);
        }
    }
}

const R(lm_layer_ops) R(lm_conv_ops) = {conv_scratch, conv_forward, conv_backward};
