/* Pooling: max and average over k x k windows with stride k (torch's MaxPool2d(k) and
 * AvgPool2d(k), floor mode), and global average pooling (C x H x W -> C x 1 x 1, as
 * AdaptiveAvgPool2d(1)). With the argmax fixed, all three are linear maps, so tangents follow
 * the values and gradient tangents follow the gradients. */
#include <stdint.h>
#include <string.h>

#include "core/parallel.h"
#include "nn/generic.h"

#ifdef LM_F32
static const char *pool_parse(lm_layer *L, int word, const char *arg)
{
    (void)word;
    L->pool.k = 2;
    if (arg && (!lm_spec_int(&arg, &L->pool.k) || *arg)) return "";
    if (L->pool.k < 1) return "the pooling size must be at least 1";
    return NULL;
}

static lm_status pool_infer(lm_layer *L, lm_param_kind param)
{
    (void)param;
    if (L->in.h < L->pool.k || L->in.w < L->pool.k)
        return lm_fail(LM_EINVAL, "pooling window %d is larger than the %dx%d input", L->pool.k, L->in.h, L->in.w);
    L->out = (lm_shape){L->in.c, L->in.h / L->pool.k, L->in.w / L->pool.k};
    return LM_OK;
}
static double pool_macs(const lm_layer *L) { return (double)lm_shape_numel(L->in); }

static lm_status gap_infer(lm_layer *L, lm_param_kind param)
{
    (void)param;
    L->out = (lm_shape){L->in.c, 1, 1};
    return LM_OK;
}
#endif

/* ---- max pooling: the scratch holds each output's argmax as a uint32 offset in its sample */

static size_t maxpool_scratch(const lm_layer *L, int n, int tangent)
{
    (void)tangent;
    return (size_t)n * lm_shape_numel(L->out);
}

/* Samples [s0, s1) of a max pooling call, forward or backward */
typedef struct {
    const R(lm_call) *c;
    R(lm_ports) *p;
    int shares;
} pool_job;

static void maxpool_forward_share(void *arg, int share)
{
    const pool_job *j = arg;
    const R(lm_call) *c = j->c;
    R(lm_ports) *p = j->p;
    const lm_layer *L = c->L;
    int H = L->in.h, W = L->in.w, Ho = L->out.h, Wo = L->out.w, k = L->pool.k;
    size_t in_n = lm_shape_numel(L->in), out_n = lm_shape_numel(L->out);
    uint32_t *arg_max = (uint32_t *)c->scr;
    int s0 = (int)((long long)c->n * share / j->shares), s1 = (int)((long long)c->n * (share + 1) / j->shares);
    for (int s = s0; s < s1; s++)
        for (int ch = 0; ch < L->in.c; ch++)
            for (int i = 0; i < Ho; i++)
                for (int jj = 0; jj < Wo; jj++) {
                    /* the first maximum of the window, kept in registers (branch-free) */
                    size_t base = (size_t)ch * H * W, best = base + (size_t)(i * k) * W + jj * k;
                    const real *xs = p->x + (size_t)s * in_n;
                    real top = xs[best];
                    for (int a = 0; a < k; a++)
                        for (int b = 0; b < k; b++) {
                            size_t at = base + (size_t)(i * k + a) * W + jj * k + b;
                            real v = xs[at];
                            best = v > top ? at : best;
                            top = v > top ? v : top;
                        }
                    size_t o = (size_t)s * out_n + ((size_t)ch * Ho + i) * Wo + jj;
                    arg_max[o] = (uint32_t)best;
                    p->y[o] = top;
                    if (p->dy) p->dy[o] = p->dx[(size_t)s * in_n + best];
                }
}

/* each sample's gradient is its own: every entry has one writer */
static void maxpool_backward_share(void *arg, int share)
{
    const pool_job *j = arg;
    const R(lm_call) *c = j->c;
    R(lm_ports) *p = j->p;
    size_t in_n = lm_shape_numel(c->L->in), out_n = lm_shape_numel(c->L->out);
    const uint32_t *arg_max = (const uint32_t *)c->scr;
    int s0 = (int)((long long)c->n * share / j->shares), s1 = (int)((long long)c->n * (share + 1) / j->shares);
    for (int s = s0; s < s1; s++) {
        real *gx = p->gx + (size_t)s * in_n, *dgx = p->dgx ? p->dgx + (size_t)s * in_n : NULL;
        const uint32_t *as = arg_max + (size_t)s * out_n;
        const real *gy = p->gy + (size_t)s * out_n, *dgy = p->dgy ? p->dgy + (size_t)s * out_n : NULL;
        memset(gx, 0, in_n * sizeof *gx);
        if (dgx) memset(dgx, 0, in_n * sizeof *dgx);
        for (size_t o = 0; o < out_n; o++) gx[as[o]] += gy[o];
        if (dgx)
            for (size_t o = 0; o < out_n; o++) dgx[as[o]] += dgy[o];
    }
}

/* Runs fn over the samples: split across threads when the batch is large (lm_par_threads) */
static void by_samples(const R(lm_call) *c, R(lm_ports) *p, lm_par_fn fn)
{
    int nt = lm_par_threads((size_t)c->n * lm_shape_numel(c->L->in));
    pool_job j = {c, p, nt > 1 ? 4 * nt : 1};
    if (j.shares > c->n) j.shares = c->n > 1 ? c->n : 1;
    lm_par_run(nt, j.shares, fn, &j);
}

static void maxpool_forward(const R(lm_call) *c, R(lm_ports) *p) { by_samples(c, p, maxpool_forward_share); }

static void maxpool_backward(const R(lm_call) *c, R(lm_ports) *p)
{
    if (p->gx) by_samples(c, p, maxpool_backward_share);
}

/* ---- average pooling (k x k) and global average pooling (k = the whole map) ---- */

static size_t no_scratch(const lm_layer *L, int n, int tangent)
{
    (void)L, (void)n, (void)tangent;
    return 0;
}

/* y = A x for the averaging map A; applied to values and to tangents alike. */
static void avg_apply(const lm_layer *L, int n, int kh, int kw, const real *x, real *y)
{
    int H = L->in.h, W = L->in.w, Ho = L->out.h, Wo = L->out.w;
    real inv = (real)1 / (real)(kh * kw);
    size_t planes = (size_t)n * L->in.c;
    for (size_t pl = 0; pl < planes; pl++)
        for (int i = 0; i < Ho; i++)
            for (int j = 0; j < Wo; j++) {
                real sum = 0;
                for (int a = 0; a < kh; a++)
                    for (int b = 0; b < kw; b++) sum += x[pl * H * W + (size_t)(i * kh + a) * W + j * kw + b];
                y[pl * Ho * Wo + (size_t)i * Wo + j] = sum * inv;
            }
}

/* x = A^T y */
static void avg_transpose(const lm_layer *L, int n, int kh, int kw, const real *gy, real *gx)
{
    int H = L->in.h, W = L->in.w, Ho = L->out.h, Wo = L->out.w;
    real inv = (real)1 / (real)(kh * kw);
    size_t planes = (size_t)n * L->in.c;
    memset(gx, 0, planes * H * W * sizeof *gx);
    for (size_t pl = 0; pl < planes; pl++)
        for (int i = 0; i < Ho; i++)
            for (int j = 0; j < Wo; j++) {
                real g = gy[pl * Ho * Wo + (size_t)i * Wo + j] * inv;
                for (int a = 0; a < kh; a++)
                    for (int b = 0; b < kw; b++) gx[pl * H * W + (size_t)(i * kh + a) * W + j * kw + b] = g;
            }
}

static void window(const lm_layer *L, int *kh, int *kw)
{
    *kh = L->kind == L_GAP ? L->in.h : L->pool.k;
    *kw = L->kind == L_GAP ? L->in.w : L->pool.k;
}

static void avg_forward(const R(lm_call) *c, R(lm_ports) *p)
{
    int kh, kw;
    window(c->L, &kh, &kw);
    avg_apply(c->L, c->n, kh, kw, p->x, p->y);
    if (p->dy) avg_apply(c->L, c->n, kh, kw, p->dx, p->dy);
}

static void avg_backward(const R(lm_call) *c, R(lm_ports) *p)
{
    int kh, kw;
    window(c->L, &kh, &kw);
    if (p->gx) avg_transpose(c->L, c->n, kh, kw, p->gy, p->gx);
    if (p->dgx) avg_transpose(c->L, c->n, kh, kw, p->dgy, p->dgx);
}

const R(lm_layer_ops) R(lm_maxpool_ops) = {maxpool_scratch, maxpool_forward, maxpool_backward, NULL};
const R(lm_layer_ops) R(lm_avgpool_ops) = {no_scratch, avg_forward, avg_backward, NULL};
const R(lm_layer_ops) R(lm_gap_ops) = {no_scratch, avg_forward, avg_backward, NULL};

#ifdef LM_F32
extern const struct lm_layer_ops_f64 lm_maxpool_ops_f64, lm_avgpool_ops_f64, lm_gap_ops_f64;
const lm_layer_def lm_maxpool_def = {
    .name = "maxpool",
    .syntax = "maxpool:K",
    .help = "KxK max pooling, stride K (plain maxpool: 2)",
    .flags = LM_LAYER_IMAGE_IN,
    .parse = pool_parse,
    .infer = pool_infer,
    .macs = pool_macs,
    .ops_f32 = &lm_maxpool_ops_f32,
    .ops_f64 = &lm_maxpool_ops_f64,
};
const lm_layer_def lm_avgpool_def = {
    .name = "avgpool",
    .syntax = "avgpool:K",
    .help = "KxK average pooling, stride K (plain avgpool: 2)",
    .flags = LM_LAYER_IMAGE_IN,
    .parse = pool_parse,
    .infer = pool_infer,
    .macs = pool_macs,
    .ops_f32 = &lm_avgpool_ops_f32,
    .ops_f64 = &lm_avgpool_ops_f64,
};
const lm_layer_def lm_gap_def = {
    .name = "gap",
    .syntax = "gap",
    .help = "global average pooling (C x H x W -> C x 1 x 1)",
    .flags = LM_LAYER_IMAGE_IN,
    .infer = gap_infer,
    .macs = pool_macs,
    .ops_f32 = &lm_gap_ops_f32,
    .ops_f64 = &lm_gap_ops_f64,
};
#endif
