/* Batch normalisation over channels (NCHW; a flat input is C x 1 x 1), as torch's BatchNorm2d
 * and BatchNorm1d with eps 1e-5 and momentum 0.1:
 *   x^ = (a - m) / r,  r = sqrt(v + eps),  y = gamma x^ + beta.
 * Training modes use the batch mean and (biased) variance; LM_MODE_TRAIN also moves the
 * running statistics (running_var with the unbiased variance, as torch). Evaluation uses the
 * running statistics, so m and r are constants there. Tangent rules: docs/theory.md §6.
 *
 * Synchronised (lm_exec_set_channel_sum, as torch.nn.SyncBatchNorm): the batch is the union of
 * the shares of several executors. The forward sums, per channel, the count and the moments
 * shifted by the running mean (the same on every share, so the sums do not depend on the split
 * beyond rounding); the backward sums g and g x^, so g_a is the gradient of the global loss.
 * g_gamma and g_beta stay the share's own sums (the caller adds them up with the rest of the
 * gradient). Tangent executors refuse the hook. */
#include <math.h>
#include <string.h>

#include "core/parallel.h"
#include "nn/generic.h"

#define BN_EPS 1e-5      /* torch's defaults */
#define BN_MOMENTUM 0.1

#ifdef LM_F32
static lm_status bn_infer(lm_layer *L, lm_param_kind param)
{
    (void)param;
    L->out = L->in;
    L->np = 2 * (size_t)L->in.c;
    L->nb = 2 * (size_t)L->in.c + 1;
    L->scale = 1;
    return LM_OK;
}

static void bn_tensors(const lm_layer *L, void (*add)(void *, const char *, int, size_t, int, const int64_t *),
                       void *ctx)
{
    int64_t c[1] = {L->in.c};
    add(ctx, "weight", 1, 0, 1, c);
    add(ctx, "bias", 1, (size_t)L->in.c, 1, c);
    add(ctx, "running_mean", 0, 0, 1, c);
    add(ctx, "running_var", 0, (size_t)L->in.c, 1, c);
    add(ctx, "num_batches_tracked", 0, 2 * (size_t)L->in.c, 0, NULL);
}

static void bn_init(const lm_layer *L, float *w, float *buf, lm_param_kind param, double gain2,
                    uint64_t seed)
{
    (void)param, (void)gain2, (void)seed;
    int C = L->in.c;
    for (int c = 0; c < C; c++) {
        w[c] = 1;         /* gamma */
        w[C + c] = 0;     /* beta */
        buf[c] = 0;       /* running mean */
        buf[C + c] = 1;   /* running variance */
    }
    buf[2 * C] = 0;
}

static double bn_macs(const lm_layer *L) { return 2.0 * lm_shape_numel(L->in); }

static unsigned bn_layout(const lm_layer *L)
{
    (void)L;
    return LM_LAYOUT_IN | LM_LAYOUT_KEEP;
}
#endif

/* scratch: m[C], r[C], dm[C], dr[C], the synchronised sums (2C + 1 doubles), and with
 * tangents x^[n*numel], dx^[n*numel] (numel in the blocked layout: its padding lanes included).
 * Plain executors recompute x^ = (x - m) / r from the input when they need it: less memory and
 * one pass fewer over it. 4C reals keep the doubles aligned. */
#define SUM_REALS(C) ((2 * (size_t)(C) + 1) * (sizeof(double) / sizeof(real)))

static size_t bn_scratch(const lm_layer *L, int n, int tangent)
{
    return 4 * (size_t)L->in.c + SUM_REALS(L->in.c) + (tangent ? 2 * (size_t)n * lm_numel_in(L->in, 1) : 0);
}

/* Either layout, kept (nn/layout.h). Channels are worked on a block of B lanes at a time: a
 * plain channel (B = 1), or VB channels of the blocked layout side by side, vectorised over the
 * lanes. Padding lanes get gamma = beta = 0: their output and gradient are zero. */
typedef struct {
    int C, B, blocks; /* channels, lanes per block, blocks */
    size_t hw, count; /* spatial size, samples per channel (n * hw) */
    real *m, *r, *dm, *dr, *xh, *dxh;
    double *sums; /* synchronised: [0, 2C) the sums of the current pass, [2C] the global count */
} bn_view;

static bn_view view(const R(lm_call) *c)
{
    bn_view b;
    b.C = c->L->in.c;
    b.B = lm_lanes(c->in_blk);
    b.blocks = lm_blocks(b.C, c->in_blk);
    b.hw = (size_t)c->L->in.h * c->L->in.w;
    b.count = (size_t)c->n * b.hw;
    b.m = c->scr;
    b.r = b.m + b.C;
    b.dm = b.r + b.C;
    b.dr = b.dm + b.C;
    b.sums = (double *)(void *)(b.dr + b.C);
    b.xh = c->e->tangent ? b.dr + b.C + SUM_REALS(b.C) : NULL;
    b.dxh = c->e->tangent ? b.xh + (size_t)c->n * b.blocks * b.B * b.hw : NULL;
    return b;
}

/* Element e of channel ch, sample s (nn/layout.h) */
#define AT(s, ch, e) ((((size_t)(s) * b.blocks + (ch) / b.B) * b.hw + (e)) * b.B + (ch) % b.B)
#define FOR_CHANNEL(ch) for (int s = 0; s < n; s++) for (size_t e = 0; e < b.hw; e++)
/* The first element of block cb of sample s, and the real channels of the block */
#define SPAN(s, cb) (((size_t)(s) * b.blocks + (cb)) * b.hw * b.B)
#define LANES(cb) (b.C - (cb) * b.B < b.B ? b.C - (cb) * b.B : b.B)

/* Sums over one sample's span of a block, in double: float32 batches can be large. Vectorised
 * (over the elements of a plain channel, over the lanes of a block) with a fixed order, so
 * results do not vary between runs. */
/* sum (x - K) and sum (x - K)^2 per lane: one pass for the mean and variance, shifted by a value
 * K of the channel so that the difference of the two sums does not cancel */
static void span_moments(const real *x, size_t hw, int B, const double *K, double *s1, double *s2)
{
    if (B == 1) {
        double a = 0, b = 0, k = K[0];
#pragma omp simd reduction(+ : a, b)
        for (size_t e = 0; e < hw; e++) {
            double d = x[e] - k;
            a += d;
            b += d * d;
        }
        s1[0] += a, s2[0] += b;
        return;
    }
    double a[LM_VB] = {0}, b[LM_VB] = {0};
    for (size_t e = 0; e < hw; e++)
#pragma omp simd
        for (int l = 0; l < LM_VB; l++) {
            double d = x[e * LM_VB + l] - K[l];
            a[l] += d;
            b[l] += d * d;
        }
    for (int l = 0; l < LM_VB; l++) s1[l] += a[l], s2[l] += b[l];
}

/* sum g and sum g x^ per lane, with x^ = (x - m) inv_r computed on the fly */
static void span_sums_g(const real *g, const real *x, const real *m, const real *inv_r, size_t hw, int B,
                        double *sg, double *sgx)
{
    if (B == 1) {
        double a = 0, b = 0;
        real mm = m[0], ir = inv_r[0];
#pragma omp simd reduction(+ : a, b)
        for (size_t e = 0; e < hw; e++) {
            real h = (x[e] - mm) * ir;
            a += g[e];
            b += g[e] * h;
        }
        sg[0] += a, sgx[0] += b;
        return;
    }
    double a[LM_VB] = {0}, b[LM_VB] = {0};
    for (size_t e = 0; e < hw; e++)
#pragma omp simd
        for (int l = 0; l < LM_VB; l++) {
            real h = (x[e * LM_VB + l] - m[l]) * inv_r[l];
            a[l] += g[e * LM_VB + l];
            b[l] += g[e * LM_VB + l] * h;
        }
    for (int l = 0; l < LM_VB; l++) sg[l] += a[l], sgx[l] += b[l];
}

/* y = ga (x - m) inv_r + be per lane over one span (and x^ = (x - m) inv_r when xh is given) */
static inline __attribute__((always_inline)) void span_normalize(const real *x, size_t hw, const int B,
                                                                 const real *m, const real *inv_r, const real *ga,
                                                                 const real *be, real *y, real *xh)
{
    for (size_t e = 0; e < hw; e++)
#pragma omp simd
        for (int l = 0; l < B; l++) {
            real h = (x[e * B + l] - m[l]) * inv_r[l];
            y[e * B + l] = ga[l] * h + be[l];
            if (xh) xh[e * B + l] = h;
        }
}

/* gx = coef (g - mg - x^ mgx) per lane over one span, x^ = (x - m) inv_r */
static inline __attribute__((always_inline)) void span_input_grad(const real *g, const real *x, size_t hw, const int B,
                                                                  const real *m, const real *inv_r, const real *coef,
                                                                  const real *mg, const real *mgx, real *gx)
{
    for (size_t e = 0; e < hw; e++)
#pragma omp simd
        for (int l = 0; l < B; l++)
            gx[e * B + l] = coef[l] * (g[e * B + l] - mg[l] - ((x[e * B + l] - m[l]) * inv_r[l]) * mgx[l]);
}

/* running_mean and running_var (with the unbiased variance of `count` samples) move by momentum */
static void update_running(const R(lm_call) *c, int ch, double m, double v, double count)
{
    int C = c->L->in.c;
    double mom = BN_MOMENTUM, unbiased = count > 1 ? v * count / (count - 1) : v;
    c->buf[ch] = (real)((1 - mom) * c->buf[ch] + mom * m);
    c->buf[C + ch] = (real)((1 - mom) * c->buf[C + ch] + mom * unbiased);
}

/* Synchronised: training statistics over the executors that share the batch */
static int synced(const R(lm_call) *c) { return c->mode != LM_MODE_EVAL && c->e->channel_sum; }

/* The hook sums buf over the executors; a failure is kept in the executor (lm_exec_status) and
 * stops later calls, whose results the caller then discards. Returns 1 on success. */
static int channel_sum(const R(lm_call) *c, double *buf, size_t len, const char *what)
{
    R(lm_exec) *e = c->e;
    if (e->status) return 0;
    lm_status st = e->channel_sum(e->channel_sum_ctx, buf, len);
    if (st) e->status = lm_fail_context(st, "synchronised batch norm, layer %s (%s)", c->L->name, what);
    return !st;
}

/* The global batch's mean and biased variance into sums[ch], sums[C + ch], and its count into
 * sums[2C], from the share's sum (x - K) and sum (x - K)^2 with K the running mean: the same on
 * every share, so the sums do not depend on the split beyond rounding. The variance, a
 * difference of two sums, keeps its digits as long as (mean - K)^2 / variance is far below
 * 1e16 (in double), as it is from the first step on for inputs of any reasonable scale. */
static void global_moments(const R(lm_call) *c, bn_view *bp, const real *x)
{
    bn_view b = *bp;
    int C = b.C, n = c->n;
    double *S = b.sums;
    for (int cb = 0; cb < b.blocks; cb++) {
        double K[LM_VB] = {0}, s1[LM_VB] = {0}, s2[LM_VB] = {0};
        for (int l = 0; l < LANES(cb); l++) K[l] = c->buf ? c->buf[cb * b.B + l] : 0;
        for (int s = 0; s < n; s++) span_moments(x + SPAN(s, cb), b.hw, b.B, K, s1, s2);
        for (int l = 0; l < LANES(cb); l++) S[cb * b.B + l] = s1[l], S[C + cb * b.B + l] = s2[l];
    }
    S[2 * C] = (double)b.count;
    channel_sum(c, S, 2 * (size_t)C + 1, "forward: count and moments");
    double N = S[2 * C] > 0 ? S[2 * C] : 1;
    for (int ch = 0; ch < C; ch++) {
        double K = c->buf ? c->buf[ch] : 0, s1 = S[ch], s2 = S[C + ch];
        double v = (s2 - s1 * s1 / N) / N;
        S[ch] = K + s1 / N;
        S[C + ch] = v < 0 ? 0 : v;
    }
}

/* The global sums of g and g x^ into sums[ch], sums[C + ch]; the share's own into g_beta and
 * g_gamma. */
static void global_gradient_sums(const R(lm_call) *c, bn_view *bp, const R(lm_ports) *p)
{
    bn_view b = *bp;
    int C = b.C, n = c->n;
    for (int cb = 0; cb < b.blocks; cb++) {
        double sg[LM_VB] = {0}, sgx[LM_VB] = {0};
        real mean[LM_VB] = {0}, inv_r[LM_VB] = {0};
        for (int l = 0; l < LANES(cb); l++) mean[l] = b.m[cb * b.B + l], inv_r[l] = 1 / b.r[cb * b.B + l];
        for (int s = 0; s < n; s++) span_sums_g(p->gy + SPAN(s, cb), p->x + SPAN(s, cb), mean, inv_r, b.hw, b.B, sg, sgx);
        for (int l = 0; l < LANES(cb); l++) {
            int ch = cb * b.B + l;
            if (p->gw) p->gw[ch] = (real)sgx[l], p->gw[C + ch] = (real)sg[l];
            b.sums[ch] = sg[l];
            b.sums[C + ch] = sgx[l];
        }
    }
    channel_sum(c, b.sums, 2 * (size_t)C, "backward: sums of g and g x^");
}

/* Blocks are independent once the moments are known: a call's blocks are cut into shares that
 * linmass's pool runs in parallel when the batch is large (lm_par_threads). Each block is
 * computed as before, so results do not depend on the split. */
typedef struct {
    const R(lm_call) *c;
    R(lm_ports) *p;
    const bn_view *b;
    int shares;
} bn_job;

static void by_blocks(const R(lm_call) *c, R(lm_ports) *p, const bn_view *b, lm_par_fn fn)
{
    int nt = lm_par_threads((size_t)c->n * b->C * b->hw);
    bn_job j = {c, p, b, nt > 1 ? 4 * nt : 1};
    if (j.shares > b->blocks) j.shares = b->blocks > 1 ? b->blocks : 1;
    lm_par_run(nt, j.shares, fn, &j);
}

/* The block's mean and variance per lane (real lanes; padding lanes get 0 and 1) */
static void block_stats(const R(lm_call) *c, const R(lm_ports) *p, const bn_view *bp, int cb, double *m, double *v)
{
    bn_view b = *bp;
    int n = c->n, lanes = LANES(cb);
    for (int l = 0; l < LM_VB; l++) m[l] = 0, v[l] = 1;
    if (synced(c)) {
        for (int l = 0; l < lanes; l++) {
            int ch = cb * b.B + l;
            m[l] = b.sums[ch];
            v[l] = b.sums[b.C + ch];
            if (c->mode == LM_MODE_TRAIN) update_running(c, ch, m[l], v[l], b.sums[2 * b.C]);
        }
    } else if (c->mode != LM_MODE_EVAL) {
        double K[LM_VB], s1[LM_VB] = {0}, s2[LM_VB] = {0};
        for (int l = 0; l < b.B; l++) K[l] = p->x[SPAN(0, cb) + l];
        for (int s = 0; s < n; s++) span_moments(p->x + SPAN(s, cb), b.hw, b.B, K, s1, s2);
        for (int l = 0; l < lanes; l++) {
            m[l] = K[l] + s1[l] / b.count;
            v[l] = (s2[l] - s1[l] * s1[l] / b.count) / b.count;
            if (v[l] < 0) v[l] = 0;
            if (c->mode == LM_MODE_TRAIN) update_running(c, cb * b.B + l, m[l], v[l], (double)b.count);
        }
    } else {
        for (int l = 0; l < lanes; l++) m[l] = c->buf[cb * b.B + l], v[l] = c->buf[b.C + cb * b.B + l];
    }
}

/* The forward tangent of channel ch: dm = mean(da); dv = mean(2 (a - m)(da - dm)); dr = dv / 2r */
static void channel_tangent(const R(lm_call) *c, R(lm_ports) *p, const bn_view *bp, int ch)
{
    bn_view b = *bp;
    int n = c->n;
    double dm = 0, dv = 0;
    if (c->mode != LM_MODE_EVAL) {
        FOR_CHANNEL(ch) dm += p->dx[AT(s, ch, e)];
        dm /= b.count;
        FOR_CHANNEL(ch) {
            size_t k = AT(s, ch, e);
            dv += 2 * (p->x[k] - b.m[ch]) * (p->dx[k] - dm);
        }
        dv /= b.count;
    }
    b.dm[ch] = (real)dm;
    b.dr[ch] = (real)(dv / (2 * b.r[ch]));
    const real *gamma = c->w, *dgamma = c->v, *dbeta = c->v + b.C;
    FOR_CHANNEL(ch) {
        size_t k = AT(s, ch, e);
        b.dxh[k] = (p->dx[k] - b.dm[ch]) / b.r[ch] - b.xh[k] * b.dr[ch] / b.r[ch];
        p->dy[k] = dgamma[ch] * b.xh[k] + gamma[ch] * b.dxh[k] + dbeta[ch];
    }
}

static void bn_forward_share(void *arg, int k)
{
    const bn_job *j = arg;
    const R(lm_call) *c = j->c;
    R(lm_ports) *p = j->p;
    bn_view b = *j->b;
    int c0 = (int)((long long)b.blocks * k / j->shares), c1 = (int)((long long)b.blocks * (k + 1) / j->shares);
    for (int cb = c0; cb < c1; cb++) {
        double m[LM_VB], v[LM_VB];
        if (!c->e->replay) block_stats(c, p, &b, cb, m, v);
        real mean[LM_VB] = {0}, inv_r[LM_VB] = {0}, ga[LM_VB] = {0}, be[LM_VB] = {0};
        for (int l = 0; l < LANES(cb); l++) {
            int ch = cb * b.B + l;
            if (!c->e->replay) {
                b.m[ch] = (real)m[l];
                b.r[ch] = (real)sqrt(v[l] + BN_EPS);
            }
            mean[l] = b.m[ch], inv_r[l] = 1 / b.r[ch], ga[l] = c->w[ch], be[l] = c->w[b.C + ch];
        }
        for (int s = 0; s < c->n; s++) {
            size_t at = SPAN(s, cb);
            real *xh = b.xh ? b.xh + at : NULL;
            if (b.B == 1) span_normalize(p->x + at, b.hw, 1, mean, inv_r, ga, be, p->y + at, xh);
            else span_normalize(p->x + at, b.hw, LM_VB, mean, inv_r, ga, be, p->y + at, xh);
        }
        if (p->dy)
            for (int l = 0; l < LANES(cb); l++) channel_tangent(c, p, &b, cb * b.B + l);
    }
}

/* A replay (a residual block's branches run again before their backward: nn/engine/exec.c)
 * normalises with the statistics of the forward pass, kept in the scratch: no batch moments, no
 * channel sums across executors, no update of the running statistics. */
static void bn_forward(const R(lm_call) *c, R(lm_ports) *p)
{
    bn_view b = view(c);
    int replay = c->e->replay;
    if (synced(c) && !replay) global_moments(c, &b, p->x);
    by_blocks(c, p, &b, bn_forward_share);
    if (c->mode == LM_MODE_TRAIN && !replay) c->buf[2 * b.C] += 1;
}

/* The backward tangents of channel ch, given its sums sg = sum g and sgx = sum g x^ */
static void channel_grad_tangent(const R(lm_call) *c, R(lm_ports) *p, const bn_view *bp, int ch, double sg, double sgx,
                                 double count)
{
    bn_view b = *bp;
    int n = c->n, batch = c->mode != LM_MODE_EVAL;
    const real *gamma = c->w;
    real mg = batch ? (real)(sg / count) : 0, mgx = batch ? (real)(sgx / count) : 0, r = b.r[ch];
    /* dg_gamma = sum (dg x^ + g dx^), dg_beta = sum dg */
    double sdg = 0, sdgx = 0;
    FOR_CHANNEL(ch) {
        size_t k = AT(s, ch, e);
        sdg += p->dgy[k];
        sdgx += p->dgy[k] * b.xh[k] + p->gy[k] * b.dxh[k];
    }
    p->dgw[ch] = (real)sdgx;
    p->dgw[b.C + ch] = (real)sdg;
    if (!p->dgx) return;
    /* dg_a = (dgamma/r - gamma dr/r^2) h + (gamma/r) dh, with h = g - mean(g) - x^ mean(g x^),
     * dh = dg - mean(dg) - dx^ mean(g x^) - x^ mean(dg x^ + g dx^) */
    real dgamma = c->v[ch], mdg = batch ? (real)(sdg / b.count) : 0, mdgx = batch ? (real)(sdgx / b.count) : 0;
    real coef_h = dgamma / r - gamma[ch] * b.dr[ch] / (r * r);
    FOR_CHANNEL(ch) {
        size_t k = AT(s, ch, e);
        real h = p->gy[k] - mg - b.xh[k] * mgx;
        real dh = p->dgy[k] - mdg - b.dxh[k] * mgx - b.xh[k] * mdgx;
        p->dgx[k] = coef_h * h + gamma[ch] / r * dh;
    }
}

static void bn_backward_share(void *arg, int k)
{
    const bn_job *j = arg;
    const R(lm_call) *c = j->c;
    R(lm_ports) *p = j->p;
    bn_view b = *j->b;
    int batch = c->mode != LM_MODE_EVAL, global = synced(c);
    double count = global ? b.sums[2 * b.C] : (double)b.count;
    int c0 = (int)((long long)b.blocks * k / j->shares), c1 = (int)((long long)b.blocks * (k + 1) / j->shares);
    for (int cb = c0; cb < c1; cb++) {
        /* g_gamma = sum g x^, g_beta = sum g */
        double sg[LM_VB] = {0}, sgx[LM_VB] = {0};
        real mean[LM_VB] = {0}, inv_r[LM_VB] = {0}, coef[LM_VB] = {0}, mg[LM_VB] = {0}, mgx[LM_VB] = {0};
        int lanes = LANES(cb);
        for (int l = 0; l < lanes; l++) mean[l] = b.m[cb * b.B + l], inv_r[l] = 1 / b.r[cb * b.B + l];
        if (global)
            for (int l = 0; l < lanes; l++) sg[l] = b.sums[cb * b.B + l], sgx[l] = b.sums[b.C + cb * b.B + l];
        else
            for (int s = 0; s < c->n; s++)
                span_sums_g(p->gy + SPAN(s, cb), p->x + SPAN(s, cb), mean, inv_r, b.hw, b.B, sg, sgx);
        for (int l = 0; l < lanes; l++) {
            int ch = cb * b.B + l;
            if (!global && p->gw) p->gw[ch] = (real)sgx[l], p->gw[b.C + ch] = (real)sg[l];
            /* g_a = (gamma / r) h with h = g - mean(g) - x^ mean(g x^) (h = g in eval mode) */
            mg[l] = batch ? (real)(sg[l] / count) : 0, mgx[l] = batch ? (real)(sgx[l] / count) : 0;
            coef[l] = c->w[ch] / b.r[ch];
        }
        for (int s = 0; p->gx && s < c->n; s++) {
            size_t at = SPAN(s, cb);
            if (b.B == 1) span_input_grad(p->gy + at, p->x + at, b.hw, 1, mean, inv_r, coef, mg, mgx, p->gx + at);
            else span_input_grad(p->gy + at, p->x + at, b.hw, LM_VB, mean, inv_r, coef, mg, mgx, p->gx + at);
        }
        if (p->dgy)
            for (int l = 0; l < lanes; l++) channel_grad_tangent(c, p, &b, cb * b.B + l, sg[l], sgx[l], count);
    }
}

static void bn_backward(const R(lm_call) *c, R(lm_ports) *p)
{
    bn_view b = view(c);
    if (synced(c)) global_gradient_sums(c, &b, p);
    by_blocks(c, p, &b, bn_backward_share);
}

/* Per-sample gradients (nn/sensitivity.h): g_gamma_i = sum_e g x^, g_beta_i = sum_e g over sample
 * i's elements of each channel, with the running statistics' x^ (evaluation mode: in training,
 * the batch statistics tie the samples together) */
lm_status R(lm_bn_sample_grads)(const R(lm_sens) *sn, real *G, size_t ldg)
{
    const lm_layer *L = sn->L;
    if (sn->mode != LM_MODE_EVAL)
        return lm_fail(LM_EINVAL, "per-sample gradients of batch norm (layer %s) need the evaluation mode", L->name);
    bn_view b;
    b.C = L->in.c, b.B = lm_lanes(sn->x_blk), b.blocks = lm_blocks(b.C, sn->x_blk);
    b.hw = (size_t)L->in.h * L->in.w;
    const real *m = sn->scr, *r = m + b.C;
    for (int s = 0; s < sn->n; s++) /* AT counts samples from x's start: one sample at a time */
        for (int ch = 0; ch < b.C; ch++) {
            double sg = 0, sgx = 0;
            for (size_t e = 0; e < b.hw; e++) {
                size_t k = AT(s, ch, e);
                sg += sn->gy[k];
                sgx += sn->gy[k] * ((sn->x[k] - m[ch]) / r[ch]);
            }
            G[s * ldg + ch] = (real)sgx;
            G[s * ldg + b.C + ch] = (real)sg;
        }
    return LM_OK;
}

const R(lm_layer_ops) R(lm_bn_ops) = {bn_scratch, bn_forward, bn_backward, NULL, NULL};

#ifdef LM_F32
extern const struct lm_layer_ops_f64 lm_bn_ops_f64;
const lm_layer_def lm_bn_def = {
    .name = "bn",
    .syntax = "bn",
    .help = "batch normalisation (batch statistics in training)",
    .infer = bn_infer,
    .tensors = bn_tensors,
    .init = bn_init,
    .macs = bn_macs,
    .layout = bn_layout,
    .ops_f32 = &lm_bn_ops_f32,
    .ops_f64 = &lm_bn_ops_f64,
};
#endif
