/* 2-D convolution, weights O x C x k x k (torch.nn.Conv2d's layout), stride and zero padding:
 * y = s * (W * x) + b, with s = 1/sqrt(C k k) under the ntk parameterization. The layer
 * definition, and the choice between the direct kernels (nn/conv/direct.c: strides 1 and 2, in
 * either activation layout) and im2col + BLAS (nn/conv/im2col.c: the plain layout, any
 * stride). */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "nn/conv/conv.h"

#ifdef LM_F32
/* conv:CxK[/S] and the flags :valid, :nobias in any order */
static const char *conv_parse(lm_layer *L, int word, const char *arg)
{
    (void)word;
    L->conv.stride = 1;
    L->conv.bias = 1;
    L->conv.pad = -1; /* 'same' */
    if (!arg || !lm_spec_int(&arg, &L->conv.filters)) return "";
    if (*arg != 'x' || (arg++, !lm_spec_int(&arg, &L->conv.k))) return "expected conv:CxK[/S] such as conv:64x5";
    if (*arg == '/' && (arg++, !lm_spec_int(&arg, &L->conv.stride))) return "expected a stride after '/'";
    while (*arg == ':')
        if (lm_spec_flag(&arg, "valid")) L->conv.pad = 0;
        else if (lm_spec_flag(&arg, "nobias")) L->conv.bias = 0;
        else return "unknown conv flag (use :valid or :nobias)";
    if (*arg) return "unexpected text after the layer";
    if (L->conv.filters < 1) return "the number of channels must be at least 1";
    if (L->conv.k < 1) return "the kernel size must be at least 1";
    if (L->conv.stride < 1) return "the stride must be at least 1";
    if (L->conv.pad < 0) L->conv.pad = (L->conv.k - 1) / 2;
    return NULL;
}

static lm_status conv_infer(lm_layer *L, lm_param_kind param)
{
    int Hp = L->in.h + 2 * L->conv.pad, Wp = L->in.w + 2 * L->conv.pad;
    if (Hp < L->conv.k || Wp < L->conv.k)
        return lm_fail(LM_EINVAL, "kernel %dx%d does not fit the %dx%d input (padding %d)", L->conv.k, L->conv.k,
                       L->in.h, L->in.w, L->conv.pad);
    L->out = (lm_shape){L->conv.filters, (Hp - L->conv.k) / L->conv.stride + 1, (Wp - L->conv.k) / L->conv.stride + 1};
    size_t fan_in = (size_t)L->in.c * L->conv.k * L->conv.k;
    L->np = (size_t)L->conv.filters * fan_in + (L->conv.bias ? (size_t)L->conv.filters : 0);
    L->scale = param == LM_PARAM_NTK ? 1.0 / sqrt((double)fan_in) : 1.0;
    return LM_OK;
}

static void conv_tensors(const lm_layer *L, void (*add)(void *, const char *, int, size_t, int, const int64_t *),
                         void *ctx)
{
    int64_t w[4] = {L->conv.filters, L->in.c, L->conv.k, L->conv.k}, b[1] = {L->conv.filters};
    add(ctx, "weight", 1, 0, 4, w);
    if (L->conv.bias) add(ctx, "bias", 1, (size_t)L->conv.filters * L->in.c * L->conv.k * L->conv.k, 1, b);
}

static void conv_init(const lm_layer *L, float *w, float *buf, lm_param_kind param, double gain2,
                      uint64_t seed)
{
    (void)buf;
    size_t fan_in = (size_t)L->in.c * L->conv.k * L->conv.k;
    double std = param == LM_PARAM_NTK ? 1.0 : sqrt(gain2 / (double)fan_in);
    lm_init_normal(w, (size_t)L->conv.filters * fan_in, std, seed, L->id, 0);
    if (L->conv.bias) memset(w + (size_t)L->conv.filters * fan_in, 0, (size_t)L->conv.filters * sizeof *w);
}

static double conv_macs(const lm_layer *L)
{
    return (double)L->conv.filters * L->in.c * L->conv.k * L->conv.k * L->out.h * L->out.w;
}
#endif

/* The algorithm: the direct kernels where they apply, else im2col + BLAS */
static int direct(const lm_layer *L) { return !lm_conv_im2col_forced() && lm_conv_direct_fits(L); }

#ifdef LM_F32
static int im2col_forced;
void lm_conv_force_im2col(int on) { im2col_forced = on; }
int lm_conv_im2col_forced(void) { return im2col_forced; }

static unsigned conv_layout(const lm_layer *L) { return direct(L) ? LM_LAYOUT_IN | LM_LAYOUT_OUT : 0; }
#endif

/* A call in the blocked layout is always the direct kernels' */
static int direct_call(const R(lm_call) *c) { return c->in_blk || c->out_blk || direct(c->L); }

static size_t conv_scratch(const lm_layer *L, int n, int tangent)
{
    (void)L, (void)n, (void)tangent;
    return 0;
}

static size_t conv_workspace(const lm_layer *L, int n, int tangent)
{
    return direct(L) ? R(lm_conv_direct_workspace)(L, n, tangent) : R(lm_conv_im2col_workspace)(L, n, tangent);
}

/* With c->relu (a fused relu, nn/engine/exec.c), y = relu(conv): in the direct kernels' store,
 * after the GEMM on the im2col path */
static void conv_forward(const R(lm_call) *c, R(lm_ports) *p)
{
    if (direct_call(c)) {
        R(lm_conv_direct_forward)(c, p);
        return;
    }
    R(lm_conv_im2col_forward)(c, p);
    if (!c->relu) return;
    size_t count = (size_t)c->n * lm_shape_numel(c->L->out);
    for (size_t k = 0; k < count; k++) p->y[k] = p->y[k] > 0 ? p->y[k] : 0;
}

static void conv_backward(const R(lm_call) *c, R(lm_ports) *p)
{
    if (direct_call(c)) R(lm_conv_direct_backward)(c, p);
    else R(lm_conv_im2col_backward)(c, p);
}

const R(lm_layer_ops) R(lm_conv_ops) = {conv_scratch, conv_forward, conv_backward, conv_workspace, NULL};

#ifdef LM_F32
extern const struct lm_layer_ops_f64 lm_conv_ops_f64;
const lm_layer_def lm_conv_def = {
    .name = "conv",
    .syntax = "conv:CxK[/S][:valid][:nobias]",
    .help = "C filters KxK, stride S (default 1), 'same' padding unless :valid",
    .flags = LM_LAYER_IMAGE_IN,
    .parse = conv_parse,
    .infer = conv_infer,
    .tensors = conv_tensors,
    .init = conv_init,
    .macs = conv_macs,
    .layout = conv_layout,
    .ops_f32 = &lm_conv_ops_f32,
    .ops_f64 = &lm_conv_ops_f64,
};
#endif
