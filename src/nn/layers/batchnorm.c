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
#endif

/* scratch: m[C], r[C], dm[C], dr[C], the synchronised sums (2C + 1 doubles), and with
 * tangents x^[n*numel], dx^[n*numel]. Plain executors recompute x^ = (x - m) / r from the input
 * when they need it: less memory and one pass fewer over it. 4C reals keep the doubles aligned. */
#define SUM_REALS(C) ((2 * (size_t)(C) + 1) * (sizeof(double) / sizeof(real)))

static size_t bn_scratch(const lm_layer *L, int n, int tangent)
{
    return 4 * (size_t)L->in.c + SUM_REALS(L->in.c) + (tangent ? 2 * (size_t)n * lm_shape_numel(L->in) : 0);
}

typedef struct {
    int C;
    size_t hw, count; /* spatial size, samples per channel (n * hw) */
    real *m, *r, *dm, *dr, *xh, *dxh;
    double *sums; /* synchronised: [0, 2C) the sums of the current pass, [2C] the global count */
} bn_view;

static bn_view view(const R(lm_call) *c)
{
    bn_view b;
    b.C = c->L->in.c;
    b.hw = (size_t)c->L->in.h * c->L->in.w;
    b.count = (size_t)c->n * b.hw;
    b.m = c->scr;
    b.r = b.m + b.C;
    b.dm = b.r + b.C;
    b.dr = b.dm + b.C;
    b.sums = (double *)(void *)(b.dr + b.C);
    b.xh = c->e->tangent ? b.dr + b.C + SUM_REALS(b.C) : NULL;
    b.dxh = c->e->tangent ? b.xh + (size_t)c->n * b.C * b.hw : NULL;
    return b;
}

/* Element e of channel ch, sample s, lives at s*C*hw + ch*hw + e. */
#define AT(s, ch, e) (((size_t)(s) * b.C + (ch)) * b.hw + (e))
#define FOR_CHANNEL(ch) for (int s = 0; s < n; s++) for (size_t e = 0; e < b.hw; e++)


/* Sums over one sample's span of a channel (contiguous), in double: float32 batches can be
 * large. Vectorised with a fixed order, so results do not vary between runs. */
/* sum (x - K) and sum (x - K)^2: one pass for the mean and variance, shifted by a value K of
 * the channel so that the difference of the two sums does not cancel */
static void span_moments(const real *x, size_t len, double K, double *s1, double *s2)
{
    double a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
    for (size_t e = 0; e < len; e++) {
        double d = x[e] - K;
        a += d;
        b += d * d;
    }
    *s1 += a;
    *s2 += b;
}

/* sum g and sum g x^, with x^ = (x - m) / r computed on the fly */
static void span_sums_g(const real *g, const real *x, real m, real inv_r, size_t len, double *sg, double *sgx)
{
    double a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
    for (size_t e = 0; e < len; e++) {
        real h = (x[e] - m) * inv_r;
        a += g[e];
        b += g[e] * h;
    }
    *sg += a;
    *sgx += b;
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
    for (int ch = 0; ch < C; ch++) {
        double K = c->buf ? c->buf[ch] : 0, s1 = 0, s2 = 0;
        for (int s = 0; s < n; s++) span_moments(x + AT(s, ch, 0), b.hw, K, &s1, &s2);
        S[ch] = s1;
        S[C + ch] = s2;
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
    for (int ch = 0; ch < C; ch++) {
        double sg = 0, sgx = 0;
        real mean = b.m[ch], inv_r = 1 / b.r[ch];
        for (int s = 0; s < n; s++) span_sums_g(p->gy + AT(s, ch, 0), p->x + AT(s, ch, 0), mean, inv_r, b.hw, &sg, &sgx);
        p->gw[ch] = (real)sgx;
        p->gw[C + ch] = (real)sg;
        b.sums[ch] = sg;
        b.sums[C + ch] = sgx;
    }
    channel_sum(c, b.sums, 2 * (size_t)C, "backward: sums of g and g x^");
}

/* Channels are independent once the moments are known: a call's channels are cut into shares
 * that linmass's pool runs in parallel when the batch is large (lm_par_threads). Each channel
 * is computed as before, so results do not depend on the split. */
typedef struct {
    const R(lm_call) *c;
    R(lm_ports) *p;
    const bn_view *b;
    int shares;
} bn_job;

static void by_channels(const R(lm_call) *c, R(lm_ports) *p, const bn_view *b, lm_par_fn fn)
{
    int nt = lm_par_threads((size_t)c->n * b->C * b->hw);
    bn_job j = {c, p, b, nt > 1 ? 4 * nt : 1};
    if (j.shares > b->C) j.shares = b->C > 1 ? b->C : 1;
    lm_par_run(nt, j.shares, fn, &j);
}

static void bn_forward_share(void *arg, int k)
{
    const bn_job *j = arg;
    const R(lm_call) *c = j->c;
    R(lm_ports) *p = j->p;
    bn_view b = *j->b;
    int n = c->n, batch = c->mode != LM_MODE_EVAL, global = synced(c);
    const real *gamma = c->w, *beta = c->w + b.C;
    int c0 = (int)((long long)b.C * k / j->shares), c1 = (int)((long long)b.C * (k + 1) / j->shares);
    for (int ch = c0; ch < c1; ch++) {
        double m, v;
        if (global) {
            m = b.sums[ch];
            v = b.sums[b.C + ch];
            if (c->mode == LM_MODE_TRAIN) update_running(c, ch, m, v, b.sums[2 * b.C]);
        } else if (batch) {
            double K = p->x[AT(0, ch, 0)], s1 = 0, s2 = 0;
            for (int s = 0; s < n; s++) span_moments(p->x + AT(s, ch, 0), b.hw, K, &s1, &s2);
            m = K + s1 / b.count;
            v = (s2 - s1 * s1 / b.count) / b.count;
            if (v < 0) v = 0;
            if (c->mode == LM_MODE_TRAIN) update_running(c, ch, m, v, (double)b.count);
        } else {
            m = c->buf[ch];
            v = c->buf[b.C + ch];
        }
        b.m[ch] = (real)m;
        b.r[ch] = (real)sqrt(v + BN_EPS);
        real mean = b.m[ch], inv_r = 1 / b.r[ch], ga = gamma[ch], be = beta[ch];
        for (int s = 0; s < n; s++) {
            const real *x = p->x + AT(s, ch, 0);
            real *y = p->y + AT(s, ch, 0);
#pragma omp simd
            for (size_t e = 0; e < b.hw; e++) y[e] = ga * ((x[e] - mean) * inv_r) + be;
            if (b.xh) {
                real *xh = b.xh + AT(s, ch, 0);
#pragma omp simd
                for (size_t e = 0; e < b.hw; e++) xh[e] = (x[e] - mean) * inv_r;
            }
        }
        if (!p->dy) continue;
        /* dm = mean(da); dv = mean(2 (a - m)(da - dm)); dr = dv / 2r */
        double dm = 0, dv = 0;
        if (batch) {
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
        const real *dgamma = c->v, *dbeta = c->v + b.C;
        FOR_CHANNEL(ch) {
            size_t k = AT(s, ch, e);
            b.dxh[k] = (p->dx[k] - b.dm[ch]) / b.r[ch] - b.xh[k] * b.dr[ch] / b.r[ch];
            p->dy[k] = dgamma[ch] * b.xh[k] + gamma[ch] * b.dxh[k] + dbeta[ch];
        }
    }
}

static void bn_forward(const R(lm_call) *c, R(lm_ports) *p)
{
    bn_view b = view(c);
    if (synced(c)) global_moments(c, &b, p->x);
    by_channels(c, p, &b, bn_forward_share);
    if (c->mode == LM_MODE_TRAIN) c->buf[2 * b.C] += 1;
}

static void bn_backward_share(void *arg, int k)
{
    const bn_job *j = arg;
    const R(lm_call) *c = j->c;
    R(lm_ports) *p = j->p;
    bn_view b = *j->b;
    int n = c->n, batch = c->mode != LM_MODE_EVAL, global = synced(c);
    const real *gamma = c->w;
    double count = global ? b.sums[2 * b.C] : (double)b.count;
    int c0 = (int)((long long)b.C * k / j->shares), c1 = (int)((long long)b.C * (k + 1) / j->shares);
    for (int ch = c0; ch < c1; ch++) {
        /* g_gamma = sum g x^, g_beta = sum g */
        double sg = 0, sgx = 0;
        real mean = b.m[ch], inv_r = 1 / b.r[ch];
        if (global) {
            sg = b.sums[ch];
            sgx = b.sums[b.C + ch];
        } else {
            for (int s = 0; s < n; s++) span_sums_g(p->gy + AT(s, ch, 0), p->x + AT(s, ch, 0), mean, inv_r, b.hw, &sg, &sgx);
            p->gw[ch] = (real)sgx;
            p->gw[b.C + ch] = (real)sg;
        }
        real mg = batch ? (real)(sg / count) : 0, mgx = batch ? (real)(sgx / count) : 0;
        real r = b.r[ch];
        /* g_a = (gamma / r) h with h = g - mean(g) - x^ mean(g x^) (h = g in eval mode) */
        real coef = gamma[ch] / r;
        for (int s = 0; p->gx && s < n; s++) {
            const real *g = p->gy + AT(s, ch, 0), *x = p->x + AT(s, ch, 0);
            real *gx = p->gx + AT(s, ch, 0);
#pragma omp simd
            for (size_t e = 0; e < b.hw; e++) gx[e] = coef * (g[e] - mg - ((x[e] - mean) * inv_r) * mgx);
        }
        if (!p->dgy) continue;
        /* dg_gamma = sum (dg x^ + g dx^), dg_beta = sum dg */
        double sdg = 0, sdgx = 0;
        FOR_CHANNEL(ch) {
            size_t k = AT(s, ch, e);
            sdg += p->dgy[k];
            sdgx += p->dgy[k] * b.xh[k] + p->gy[k] * b.dxh[k];
        }
        p->dgw[ch] = (real)sdgx;
        p->dgw[b.C + ch] = (real)sdg;
        if (!p->dgx) continue;
        /* dg_a = (dgamma/r - gamma dr/r^2) h + (gamma/r) dh,
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
}

static void bn_backward(const R(lm_call) *c, R(lm_ports) *p)
{
    bn_view b = view(c);
    if (synced(c)) global_gradient_sums(c, &b, p);
    by_channels(c, p, &b, bn_backward_share);
}

const R(lm_layer_ops) R(lm_bn_ops) = {bn_scratch, bn_forward, bn_backward, NULL};

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
    .ops_f32 = &lm_bn_ops_f32,
    .ops_f64 = &lm_bn_ops_f64,
};
#endif
