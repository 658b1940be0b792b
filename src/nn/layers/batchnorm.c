/* Batch normalisation over channels (NCHW; a flat input is C x 1 x 1), as torch's BatchNorm2d
 * and BatchNorm1d with eps 1e-5 and momentum 0.1:
 *   x^ = (a - m) / r,  r = sqrt(v + eps),  y = gamma x^ + beta.
 * Training modes use the batch mean and (biased) variance; LM_MODE_TRAIN also moves the
 * running statistics (running_var with the unbiased variance, as torch). Evaluation uses the
 * running statistics, so m and r are constants there. Tangent rules: science.md section 6. */
#include <math.h>
#include <string.h>

#include "nn/generic.h"

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

const lm_layer_def lm_bn_def = {"bn", bn_infer, bn_tensors, bn_init, bn_macs};
#endif

/* scratch: m[C], r[C], dm[C], dr[C], and with tangents x^[n*numel], dx^[n*numel]. Plain
 * executors recompute x^ = (x - m) / r from the input when they need it: less memory and one
 * pass fewer over it. */
static size_t bn_scratch(const lm_layer *L, int n, int tangent)
{
    return 4 * (size_t)L->in.c + (tangent ? 2 * (size_t)n * lm_shape_numel(L->in) : 0);
}

typedef struct {
    int C;
    size_t hw, count; /* spatial size, samples per channel (n * hw) */
    real *m, *r, *dm, *dr, *xh, *dxh;
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
    b.xh = c->e->tangent ? b.dr + b.C : NULL;
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

static void bn_forward(const R(lm_call) *c, R(lm_ports) *p)
{
    bn_view b = view(c);
    int n = c->n, batch = c->mode != LM_MODE_EVAL;
    const real *gamma = c->w, *beta = c->w + b.C;
    for (int ch = 0; ch < b.C; ch++) {
        double m, v;
        if (batch) {
            double K = p->x[AT(0, ch, 0)], s1 = 0, s2 = 0;
            for (int s = 0; s < n; s++) span_moments(p->x + AT(s, ch, 0), b.hw, K, &s1, &s2);
            m = K + s1 / b.count;
            v = (s2 - s1 * s1 / b.count) / b.count;
            if (v < 0) v = 0;
            if (c->mode == LM_MODE_TRAIN) {
                double mom = c->L->momentum, unbiased = b.count > 1 ? v * b.count / (b.count - 1) : v;
                c->buf[ch] = (real)((1 - mom) * c->buf[ch] + mom * m);
                c->buf[b.C + ch] = (real)((1 - mom) * c->buf[b.C + ch] + mom * unbiased);
            }
        } else {
            m = c->buf[ch];
            v = c->buf[b.C + ch];
        }
        b.m[ch] = (real)m;
        b.r[ch] = (real)sqrt(v + c->L->eps);
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
    if (c->mode == LM_MODE_TRAIN) c->buf[2 * b.C] += 1;
}

static void bn_backward(const R(lm_call) *c, R(lm_ports) *p)
{
    bn_view b = view(c);
    int n = c->n, batch = c->mode != LM_MODE_EVAL;
    const real *gamma = c->w;
    for (int ch = 0; ch < b.C; ch++) {
        /* g_gamma = sum g x^, g_beta = sum g */
        double sg = 0, sgx = 0;
        real mean = b.m[ch], inv_r = 1 / b.r[ch];
        for (int s = 0; s < n; s++) span_sums_g(p->gy + AT(s, ch, 0), p->x + AT(s, ch, 0), mean, inv_r, b.hw, &sg, &sgx);
        p->gw[ch] = (real)sgx;
        p->gw[b.C + ch] = (real)sg;
        real mg = batch ? (real)(sg / b.count) : 0, mgx = batch ? (real)(sgx / b.count) : 0;
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

const R(lm_layer_ops) R(lm_bn_ops) = {bn_scratch, bn_forward, bn_backward, NULL};
