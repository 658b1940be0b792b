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
    if (L->pool.k > 4096) return lm_fail(LM_EINVAL, "pooling window %d is larger than 4096", L->pool.k);
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

/* Either layout (nn/layout.h): pooling keeps it, gap gives plain C x 1 x 1 */
static unsigned pool_layout(const lm_layer *L)
{
    (void)L;
    return LM_LAYOUT_IN | LM_LAYOUT_KEEP;
}

static unsigned gap_layout(const lm_layer *L)
{
    (void)L;
    return LM_LAYOUT_IN;
}
#endif

/* ---- max pooling: the scratch holds each output's argmax as a uint32 offset in its sample.
 * In either layout (nn/layout.h): a window's B lanes (B channels of a block, or the one channel
 * of a plain plane) are pooled side by side, vectorised over the lanes when blocked. */

static size_t maxpool_scratch(const lm_layer *L, int n, int tangent)
{
    (void)tangent;
    return (size_t)n * lm_numel_in(L->out, 1);
}

/* Samples [s0, s1) of a max pooling call, forward or backward */
typedef struct {
    const R(lm_call) *c;
    R(lm_ports) *p;
    int shares;
} pool_job;

/* One sample: the first maximum of each window, branch-free; its offset in the sample goes to
 * arg_max. Plain layout: channel by channel. */
static void maxpool_plain(const lm_layer *L, const real *x, real *y, uint32_t *arg_max)
{
    int H = L->in.h, W = L->in.w, Ho = L->out.h, Wo = L->out.w, k = L->pool.k;
    for (int ch = 0; ch < L->in.c; ch++)
        for (int i = 0; i < Ho; i++)
            for (int jj = 0; jj < Wo; jj++) {
                size_t base = (size_t)ch * H * W, best = base + (size_t)(i * k) * W + jj * k;
                real top = x[best];
                for (int a = 0; a < k; a++)
                    for (int b = 0; b < k; b++) {
                        size_t at = base + (size_t)(i * k + a) * W + jj * k + b;
                        real v = x[at];
                        best = v > top ? at : best;
                        top = v > top ? v : top;
                    }
                size_t o = ((size_t)ch * Ho + i) * Wo + jj;
                arg_max[o] = (uint32_t)best;
                y[o] = top;
            }
}

/* The offset of window position w (row w / k, column w % k) from the window's first value */
static size_t window_offset(const lm_layer *L, int w)
{
    return ((size_t)(w / L->pool.k) * L->in.w + w % L->pool.k) * LM_VB;
}

/* Blocked layout: a window's VB lanes side by side, its position carried as a real (exact: pool_infer
 * keeps k^2 below 2^24) so that the selections vectorise */
static void maxpool_blocked(const lm_layer *L, const real *x, real *y, uint32_t *arg_max)
{
    int H = L->in.h, W = L->in.w, Ho = L->out.h, Wo = L->out.w, k = L->pool.k, blocks = lm_blocks(L->in.c, 1);
    enum { TABLE = 64 };
    size_t woff[TABLE]; /* the small windows' offsets; larger ones are computed */
    for (int w = 0; w < k * k && w < TABLE; w++) woff[w] = window_offset(L, w);
    for (int cb = 0; cb < blocks; cb++)
        for (int i = 0; i < Ho; i++)
            for (int jj = 0; jj < Wo; jj++) {
                size_t first = (((size_t)cb * H + i * k) * W + jj * k) * LM_VB, o = (((size_t)cb * Ho + i) * Wo + jj) * LM_VB;
                lm_vblk top = lm_vload(x + first), pos = {0};
                for (int w = 1; w < k * k; w++) {
                    lm_vblk v = lm_vload(x + first + (w < TABLE ? woff[w] : window_offset(L, w)));
                    lm_vmask m = v > top;
                    pos = lm_vselect(m, pos * 0 + (real)w, pos);
                    top = lm_vselect(m, v, top);
                }
                lm_vstore(y + o, top);
                for (int l = 0; l < LM_VB; l++) {
                    int w = (int)pos[l];
                    arg_max[o + l] = (uint32_t)(first + (w < TABLE ? woff[w] : window_offset(L, w)) + l);
                }
            }
}

static void maxpool_forward_share(void *arg, int share)
{
    const pool_job *j = arg;
    const R(lm_call) *c = j->c;
    R(lm_ports) *p = j->p;
    const lm_layer *L = c->L;
    size_t in_n = lm_numel_in(L->in, c->in_blk), out_n = lm_numel_in(L->out, c->in_blk);
    uint32_t *arg_max = (uint32_t *)c->scr;
    int s0 = (int)((long long)c->n * share / j->shares), s1 = (int)((long long)c->n * (share + 1) / j->shares);
    for (int s = s0; s < s1; s++) {
        const real *x = p->x + s * in_n;
        real *y = p->y + s * out_n;
        uint32_t *as = arg_max + s * out_n;
        if (c->in_blk) maxpool_blocked(L, x, y, as);
        else maxpool_plain(L, x, y, as);
        if (p->dy)
            for (size_t o = 0; o < out_n; o++) p->dy[s * out_n + o] = p->dx[s * in_n + as[o]];
    }
}

/* each sample's gradient is its own: every entry has one writer */
static void maxpool_backward_share(void *arg, int share)
{
    const pool_job *j = arg;
    const R(lm_call) *c = j->c;
    R(lm_ports) *p = j->p;
    size_t in_n = lm_numel_in(c->L->in, c->in_blk), out_n = lm_numel_in(c->L->out, c->in_blk);
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

/* y = A x for the averaging map A; applied to values and to tangents alike, in the call's
 * layouts (gap's output is plain: C x 1 x 1) */
static void avg_apply(const R(lm_call) *c, int kh, int kw, const real *x, real *y)
{
    const lm_layer *L = c->L;
    real inv = (real)1 / (real)(kh * kw);
    size_t in_n = lm_numel_in(L->in, c->in_blk), out_n = lm_numel_in(L->out, c->out_blk);
    for (int s = 0; s < c->n; s++)
        for (int ch = 0; ch < L->in.c; ch++)
            for (int i = 0; i < L->out.h; i++)
                for (int j = 0; j < L->out.w; j++) {
                    real sum = 0;
                    for (int a = 0; a < kh; a++)
                        for (int b = 0; b < kw; b++) sum += x[s * in_n + lm_offset(L->in, c->in_blk, ch, i * kh + a, j * kw + b)];
                    y[s * out_n + lm_offset(L->out, c->out_blk, ch, i, j)] = sum * inv;
                }
}

/* x = A^T y */
static void avg_transpose(const R(lm_call) *c, int kh, int kw, const real *gy, real *gx)
{
    const lm_layer *L = c->L;
    real inv = (real)1 / (real)(kh * kw);
    size_t in_n = lm_numel_in(L->in, c->in_blk), out_n = lm_numel_in(L->out, c->out_blk);
    memset(gx, 0, (size_t)c->n * in_n * sizeof *gx);
    for (int s = 0; s < c->n; s++)
        for (int ch = 0; ch < L->in.c; ch++)
            for (int i = 0; i < L->out.h; i++)
                for (int j = 0; j < L->out.w; j++) {
                    real g = gy[s * out_n + lm_offset(L->out, c->out_blk, ch, i, j)] * inv;
                    for (int a = 0; a < kh; a++)
                        for (int b = 0; b < kw; b++) gx[s * in_n + lm_offset(L->in, c->in_blk, ch, i * kh + a, j * kw + b)] = g;
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
    avg_apply(c, kh, kw, p->x, p->y);
    if (p->dy) avg_apply(c, kh, kw, p->dx, p->dy);
}

static void avg_backward(const R(lm_call) *c, R(lm_ports) *p)
{
    int kh, kw;
    window(c->L, &kh, &kw);
    if (p->gx) avg_transpose(c, kh, kw, p->gy, p->gx);
    if (p->dgx) avg_transpose(c, kh, kw, p->dgy, p->dgx);
}

const R(lm_layer_ops) R(lm_maxpool_ops) = {maxpool_scratch, maxpool_forward, maxpool_backward, NULL, NULL};
const R(lm_layer_ops) R(lm_avgpool_ops) = {no_scratch, avg_forward, avg_backward, NULL, NULL};
const R(lm_layer_ops) R(lm_gap_ops) = {no_scratch, avg_forward, avg_backward, NULL, NULL};

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
    .layout = pool_layout,
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
    .layout = pool_layout,
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
    .layout = gap_layout,
    .ops_f32 = &lm_gap_ops_f32,
    .ops_f64 = &lm_gap_ops_f64,
};
#endif
