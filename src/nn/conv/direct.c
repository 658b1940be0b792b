/* Direct convolution on the channel-blocked layout (nn/layout.h), strides 1 and 2, with the
 * register-tiled kernels of nn/conv/kernels.h.
 *
 * Per sample, the input is copied once into a zero-padded blocked buffer (from either layout),
 * and every output tile sums over the taps (input block, kh, kw) straight from it: no patch
 * matrix. The weights are packed per call into VB x VB blocks, scaled by s:
 *   forward         Wf[ob][ib][kh][kw][input lane][output lane]
 *   input gradient  Wt[ib][ob][kh][kw][output lane][input lane]
 * The input gradient of a stride-s convolution splits into s x s phases: the input pixels with
 * (ih, iw) = (r, q) mod s receive from the taps with kh = r + p, kw = q + p mod s, and along a
 * row they read consecutive output-gradient pixels, so each phase is a tile sum over the
 * zero-margined output gradient with those taps (s = 1: the transposed convolution). The weight
 * gradient sums, per tap and sample, input lanes times output-gradient blocks over the output
 * pixels. Bias and relu fuse into the forward tile's start and store.
 *
 * First layers (a plain input whose C k k, rounded up to VB, is below k k rounded-up C) take
 * the patches of each output pixel as the input lanes of a 1x1 convolution instead: C k k lanes
 * instead of k k blocks of VB, mostly empty, for C = 1 or 3.
 *
 * The batch is split into shares of samples as the im2col path's (nn/conv/conv.h); results are
 * bit-identical for a given instruction set (core/simd.h) and thread count. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/conv/conv.h"
#include "nn/conv/kernels.h"

enum { VB = LM_VB };
#define BLK ((size_t)VB * VB) /* reals per weight block */

static int imin(int a, int b) { return a < b ? a : b; }
static int ceil_div(int a, int b) { return (a + b - 1) / b; }
static size_t align16(size_t n) { return (n + 15) / 16 * 16; } /* whole 64-byte lines */

typedef struct {
    lm_conv_geom lay;   /* the layer's geometry */
    lm_conv_geom g;     /* as the kernels run it: the layer's, or 1x1 over the patches */
    const R(lm_kernel_set) *ks;
    int in_blk, out_blk, patch;
    int Cbi, Cbo, T;    /* input and output blocks; taps Cbi k k */
    int Hp, Wp;         /* the padded input */
    int Mt, Ml, Hg, Wg; /* the output gradient with its margins (input gradient) */
    int nb, ur, bnb, bur; /* forward and input-gradient tiles */
    size_t xn, gn, tn;  /* per sample: input (padded or patches), output gradient, temporary */
    size_t wsz, part;   /* packed weights; a partial weight gradient (weights and bias) */
    size_t ints;        /* tap offsets: forward and input-gradient ones, and phase starts */
} dplan;

/* Tile shape for `blocks` output blocks and rows of `width` pixels: per step over an input lane
 * a tile does NB x UR FMAs and NB + UR loads, and needs about 8 independent sums to hide the FMA
 * latency; the cheapest cycle estimate over the whole row and all block groups wins. */
static void choose_tile(const R(lm_kernel_set) *ks, int blocks, int width, int *nb_out, int *ur_out)
{
    double best = -1;
    for (int nb = 1; nb <= LM_TILE_NB && nb <= blocks; nb++) {
        int most = ks->ur_max[nb - 1];
        if (!most) break;
        int ur = ceil_div(width, ceil_div(width, most)), cycles = 0;
        for (int b = 0; b < blocks; b += nb)
            for (int j = 0; j < width; j += ur) {
                int n = imin(nb, blocks - b), u = imin(ur, width - j), fma = n * u, loads = n + u;
                cycles += imin(fma, 8) < 8 ? 8 : fma > loads ? fma : loads;
            }
        double rate = (double)blocks * width / cycles;
        if (rate > best) best = rate, *nb_out = nb, *ur_out = ur;
    }
}

static dplan make_plan(const lm_layer *L, int in_blk, int out_blk)
{
    dplan d;
    memset(&d, 0, sizeof d);
    d.lay = d.g = lm_conv_geometry(L);
    d.ks = R(lm_conv_kernels)();
    d.in_blk = in_blk, d.out_blk = out_blk;
    lm_conv_geom *g = &d.g;
    d.patch = !in_blk && (size_t)lm_blocks((int)g->ckk, 1) < (size_t)g->k * g->k * lm_blocks(g->C, 1);
    if (d.patch) { /* a 1x1 convolution over the Ho x Wo patches of C k k lanes */
        lm_conv_geom p = {(int)g->ckk, g->Ho, g->Wo, g->O, 1, 1, 0, g->Ho, g->Wo, g->ckk, g->hw};
        *g = p;
    }
    int k = g->k, s = g->stride, p = g->pad;
    d.Cbi = lm_blocks(g->C, 1), d.Cbo = lm_blocks(g->O, 1), d.T = d.Cbi * k * k;
    d.Hp = g->H + 2 * p, d.Wp = g->W + 2 * p;
    d.Mt = k - 1 - p > 0 ? ceil_div(k - 1 - p, s) : 0;
    d.Ml = d.Mt;
    int Mb = (g->H - 1 + p) / s - (g->Ho - 1), Mr = (g->W - 1 + p) / s - (g->Wo - 1);
    d.Hg = g->Ho + d.Mt + (Mb > 0 ? Mb : 0), d.Wg = g->Wo + d.Ml + (Mr > 0 ? Mr : 0);
    choose_tile(d.ks, d.Cbo, g->Wo, &d.nb, &d.ur);
    choose_tile(d.ks, d.Cbi, ceil_div(g->W, s), &d.bnb, &d.bur);
    d.xn = (size_t)d.Cbi * d.Hp * d.Wp * VB;
    d.gn = (size_t)d.Cbo * d.Hg * d.Wg * VB;
    size_t yt = out_blk ? 0 : (size_t)d.Cbo * g->hw * VB, xt = in_blk && !d.patch ? 0 : d.xn;
    d.tn = yt > xt ? yt : xt;
    d.wsz = (size_t)d.Cbo * d.T * BLK;
    d.part = d.wsz + (size_t)d.Cbo * VB;
    d.ints = 2 * (size_t)d.T + 2 * (size_t)d.Cbo * k * k + (size_t)s * s + 1;
    return d;
}

/* ---- the workspace: shared packed weights, biases and taps; then one slice per share ---- */

typedef struct {
    real *w, *v;       /* packed weights and their tangent (forward or input-gradient packing) */
    real *b, *db;      /* packed biases */
    int *xoff, *woff;  /* forward taps */
    int *bxoff, *bwoff, *phase; /* input-gradient taps, phase starts */
} shared_buf;

typedef struct {
    double *part, *dpart; /* partial weight gradient and tangent */
    real *xp, *dxp;       /* padded input (or patches) and tangent */
    real *gp, *dgp;       /* padded output gradient and tangent */
    real *tmp, *dtmp;     /* an output or input gradient in the other layout */
    real *tile;           /* a weight-gradient tile's sums */
} share_buf;

/* reals that hold n doubles */
static size_t doubles(size_t n) { return n * sizeof(double) / sizeof(real); }

static size_t shared_size(const dplan *d, int tan)
{
    size_t ints = (d->ints * sizeof(int) + sizeof(real) - 1) / sizeof(real);
    return (tan ? 2 : 1) * (align16(d->wsz) + align16((size_t)d->Cbo * VB)) + align16(ints);
}

static size_t slice_size(const dplan *d, int tan)
{
    return (tan ? 2 : 1) * (align16(doubles(d->part)) + align16(d->xn) + align16(d->gn) + align16(d->tn)) +
           LM_TILE_NB * BLK;
}

static size_t plan_workspace(const dplan *d, int n, int tan)
{
    return shared_size(d, tan) + (size_t)lm_conv_max_shares(n) * slice_size(d, tan);
}

size_t R(lm_conv_direct_workspace)(const lm_layer *L, int n, int tangent)
{
    size_t most = 0;
    for (int lay = 0; lay < 4; lay++) {
        dplan d = make_plan(L, lay & 1, lay >> 1);
        size_t w = plan_workspace(&d, n, tangent);
        if (w > most) most = w;
    }
    return most;
}

static shared_buf shared_buffers(const R(lm_call) *c, const dplan *d)
{
    int tan = c->e->tangent;
    shared_buf b;
    real *at = c->e->work;
    b.w = at, at += align16(d->wsz);
    b.v = tan ? at : NULL, at += tan ? align16(d->wsz) : 0;
    b.b = at, at += align16((size_t)d->Cbo * VB);
    b.db = tan ? at : NULL, at += tan ? align16((size_t)d->Cbo * VB) : 0;
    b.xoff = (int *)(void *)at;
    b.woff = b.xoff + d->T;
    b.bxoff = b.woff + d->T;
    b.bwoff = b.bxoff + (size_t)d->Cbo * d->g.k * d->g.k;
    b.phase = b.bwoff + (size_t)d->Cbo * d->g.k * d->g.k;
    return b;
}

static share_buf share_buffers(const R(lm_call) *c, const dplan *d, int k)
{
    int tan = c->e->tangent;
    share_buf b;
    real *at = c->e->work + shared_size(d, tan) + (size_t)k * slice_size(d, tan), *part[2] = {NULL, NULL};
    real **slots[8] = {&part[0], &b.xp, &b.gp, &b.tmp, &part[1], &b.dxp, &b.dgp, &b.dtmp};
    size_t sizes[4] = {doubles(d->part), d->xn, d->gn, d->tn};
    for (int i = 0; i < 8; i++) {
        *slots[i] = i < 4 || tan ? at : NULL;
        if (i < 4 || tan) at += align16(sizes[i % 4]);
    }
    b.part = (double *)(void *)part[0];
    b.dpart = (double *)(void *)part[1];
    b.tile = at;
    return b;
}

/* ---- packing ---- */

/* W (O x C x k x k, torch's layout; for patches O x C k k) into VB x VB blocks times s:
 * forward (lanes: input rows, output columns) or transposed (input gradient) */
static void pack_weights(const dplan *d, const real *W, real s, int transposed, real *out)
{
    const lm_conv_geom *g = &d->g;
    int k = g->k, kk = k * k;
    memset(out, 0, d->wsz * sizeof *out);
    for (int o = 0; o < g->O; o++)
        for (int c = 0; c < g->C; c++)
            for (int t = 0; t < kk; t++) {
                int ob = o / VB, ov = o % VB, ib = c / VB, iv = c % VB;
                size_t blk = transposed ? ((size_t)ib * d->Cbo + ob) * kk + t : ((size_t)ob * d->Cbi + ib) * kk + t;
                out[blk * BLK + (transposed ? (size_t)ov * VB + iv : (size_t)iv * VB + ov)] =
                    s * W[((size_t)o * g->C + c) * kk + t];
            }
}

static void pack_bias(const dplan *d, const real *b, real *out)
{
    for (int o = 0; o < d->Cbo * VB; o++) out[o] = o < d->g.O ? b[o] : 0;
}

/* Tap offsets: forward ones over the padded input, and per phase (r, q) the input gradient's
 * over the margined output gradient, with phase[r*s + q] .. phase[r*s + q + 1] its range */
static void make_taps(const dplan *d, const shared_buf *B)
{
    const lm_conv_geom *g = &d->g;
    int k = g->k, s = g->stride, p = g->pad, n = 0;
    for (int ib = 0; ib < d->Cbi; ib++)
        for (int a = 0; a < k; a++)
            for (int b = 0; b < k; b++, n++) {
                B->xoff[n] = (int)((((size_t)ib * d->Hp + a) * d->Wp + b) * VB);
                B->woff[n] = (int)(n * BLK);
            }
    n = 0;
    for (int r = 0; r < s; r++)
        for (int q = 0; q < s; q++) {
            B->phase[r * s + q] = n;
            for (int ob = 0; ob < d->Cbo; ob++)
                for (int a = 0; a < k; a++)
                    for (int b = 0; b < k; b++) {
                        int dr = r + p - a, dq = q + p - b;
                        if ((dr % s + s) % s || (dq % s + s) % s) continue;
                        B->bxoff[n] = (int)((((size_t)ob * d->Hg + dr / s) * d->Wg + dq / s) * VB);
                        B->bwoff[n] = (int)((((size_t)ob * k + a) * k + b) * BLK);
                        n++;
                    }
        }
    B->phase[s * s] = n;
}

/* ---- one sample's inputs into the kernels' buffers ---- */

/* xp (Cbi x Hp x Wp x VB) = x (one sample, in its layout) with `pad` zeros around */
static void fill_padded(const dplan *d, const real *x, real *xp)
{
    const lm_conv_geom *g = &d->g;
    int p = g->pad;
    for (int cb = 0; cb < d->Cbi; cb++)
        for (int hp = 0; hp < d->Hp; hp++) {
            real *row = xp + ((size_t)cb * d->Hp + hp) * d->Wp * VB;
            int h = hp - p;
            if (h < 0 || h >= g->H) {
                memset(row, 0, (size_t)d->Wp * VB * sizeof *row);
                continue;
            }
            memset(row, 0, (size_t)p * VB * sizeof *row);
            memset(row + (size_t)(p + g->W) * VB, 0, (size_t)(d->Wp - p - g->W) * VB * sizeof *row);
            real *dst = row + (size_t)p * VB;
            if (d->in_blk) {
                memcpy(dst, x + ((size_t)cb * g->H + h) * g->W * VB, (size_t)g->W * VB * sizeof *dst);
                continue;
            }
            for (int l = 0; l < VB; l++) {
                int c = cb * VB + l;
                const real *src = x + ((size_t)c * g->H + h) * g->W;
                for (int w = 0; w < g->W; w++) dst[(size_t)w * VB + l] = c < g->C ? src[w] : 0;
            }
        }
}

/* First layers: P (Cbi x Ho x Wo x VB) = the patch of each output pixel, lane t = (c k + kh) k + kw
 * of the layer's plain input */
static void fill_patches(const dplan *d, const real *x, real *P)
{
    const lm_conv_geom *L = &d->lay;
    int kk = L->k * L->k;
    for (int t = 0; t < d->Cbi * VB; t++) {
        real *dst = P + (size_t)(t / VB) * L->hw * VB + t % VB;
        int c = t / kk, a = t % kk / L->k, b = t % L->k;
        for (int oh = 0; oh < L->Ho; oh++)
            for (int ow = 0; ow < L->Wo; ow++) {
                int h = oh * L->stride - L->pad + a, w = ow * L->stride - L->pad + b;
                int in = t < (int)L->ckk && h >= 0 && h < L->H && w >= 0 && w < L->W;
                dst[((size_t)oh * L->Wo + ow) * VB] = in ? x[((size_t)c * L->H + h) * L->W + w] : 0;
            }
    }
}

static void fill_input(const dplan *d, const real *x, real *xp)
{
    if (d->patch) fill_patches(d, x, xp);
    else fill_padded(d, x, xp);
}

/* gp (Cbo x Hg x Wg x VB) = gy (one sample, in the output's layout) inside the margins */
static void fill_grad(const dplan *d, const real *gy, real *gp)
{
    const lm_conv_geom *g = &d->g;
    memset(gp, 0, d->gn * sizeof *gp);
    for (int ob = 0; ob < d->Cbo; ob++)
        for (int oh = 0; oh < g->Ho; oh++) {
            real *dst = gp + (((size_t)ob * d->Hg + oh + d->Mt) * d->Wg + d->Ml) * VB;
            if (d->out_blk) {
                memcpy(dst, gy + ((size_t)ob * g->Ho + oh) * g->Wo * VB, (size_t)g->Wo * VB * sizeof *dst);
                continue;
            }
            for (int l = 0; l < VB && ob * VB + l < g->O; l++) {
                const real *src = gy + ((size_t)(ob * VB + l) * g->Ho + oh) * g->Wo;
                for (int w = 0; w < g->Wo; w++) dst[(size_t)w * VB + l] = src[w];
            }
        }
}

/* ---- tile loops over one sample ---- */

/* y (Cbo x Ho x Wo x VB) (+)= the convolution of xp with the packed weights W */
static void forward_tiles(const dplan *d, const shared_buf *B, const real *W, const real *xp, const real *bias,
                          int flags, real *y)
{
    const lm_conv_geom *g = &d->g;
    int s = g->stride;
    size_t wb = (size_t)d->T * BLK;
    R(lm_tile) t = {.xoff = B->xoff, .woff = B->woff, .taps = d->T, .lanes = VB, .wb = wb, .ystep = VB,
                    .yb = g->hw * VB, .flags = flags};
    for (int ob = 0; ob < d->Cbo; ob += d->nb) {
        int nb = imin(d->nb, d->Cbo - ob);
        t.w = W + ob * wb;
        t.bias = bias ? bias + (size_t)ob * VB : NULL;
        for (int oh = 0; oh < g->Ho; oh++)
            for (int ow = 0; ow < g->Wo; ow += d->ur) {
                int ur = imin(d->ur, g->Wo - ow);
                t.x = xp + ((size_t)oh * s * d->Wp + (size_t)ow * s) * VB;
                t.y = y + (((size_t)ob * g->Ho + oh) * g->Wo + ow) * VB;
                d->ks->tile[s - 1][nb - 1][ur - 1](&t);
            }
    }
}

/* gx (Cbi x H x W x VB) (+)= the transposed convolution of gp with the packed weights Wt, phase by
 * phase */
static void input_grad_tiles(const dplan *d, const shared_buf *B, const real *Wt, const real *gp, int flags,
                             real *gx)
{
    const lm_conv_geom *g = &d->g;
    int s = g->stride;
    size_t wb = (size_t)d->Cbo * g->k * g->k * BLK;
    R(lm_tile) t = {.lanes = VB, .wb = wb, .ystep = (size_t)s * VB, .yb = (size_t)g->H * g->W * VB, .flags = flags};
    for (int ib = 0; ib < d->Cbi; ib += d->bnb) {
        int nb = imin(d->bnb, d->Cbi - ib);
        t.w = Wt + ib * wb;
        for (int r = 0; r < s; r++)
            for (int q = 0; q < s && q < g->W; q++) {
                int ph = r * s + q, cols = ceil_div(g->W - q, s);
                t.xoff = B->bxoff + B->phase[ph];
                t.woff = B->bwoff + B->phase[ph];
                t.taps = B->phase[ph + 1] - B->phase[ph];
                for (int ih = r; ih < g->H; ih += s)
                    for (int j = 0; j < cols; j += d->bur) {
                        int ur = imin(d->bur, cols - j);
                        t.x = gp + ((size_t)((ih - r) / s + d->Mt) * d->Wg + j + d->Ml) * VB;
                        t.y = gx + (((size_t)ib * g->H + ih) * g->W + q + (size_t)s * j) * VB;
                        d->ks->tile[0][nb - 1][ur - 1](&t);
                    }
            }
    }
}

/* The weight gradient sums pixel products in tiles of about 64 output pixels, in registers from
 * zero, and adds each tile's sum to a partial gradient in double: float32 sums of thousands of
 * products one after another would lose digits where batch norm follows (its gradient cancels),
 * and the order of the partial sums (the split of the batch) would show. */
enum { WG_PIXELS = 64 };

/* part (+)= the weight gradient of one sample, packed as the forward weights, unscaled; tile:
 * LM_TILE_NB VB x VB reals of scratch */
static void weight_grad(const dplan *d, const real *xp, const real *gp, int acc, double *part, real *tile)
{
    const lm_conv_geom *g = &d->g;
    const R(lm_kernel_set) *ks = d->ks;
    int k = g->k, s = g->stride, rows = WG_PIXELS / g->Wo > 1 ? WG_PIXELS / g->Wo : 1, RR = ks->wg_rows;
    size_t gb = (size_t)d->Hg * d->Wg * VB;
    R(lm_wtile) t = {.xrow = (size_t)s * d->Wp * VB, .xpix = (size_t)s * VB, .gyrow = (size_t)d->Wg * VB, .gb = gb,
                     .wo = g->Wo, .gw = tile, .wb = (size_t)RR * VB};
    for (int ob = 0; ob < d->Cbo; ob += ks->wg_nb_max) {
        int nb = imin(ks->wg_nb_max, d->Cbo - ob);
        for (int tap = 0; tap < d->T; tap++)
            for (int r0 = 0; r0 < VB; r0 += RR) {
                int ib = tap / (k * k), a = tap / k % k, b = tap % k;
                for (int oh = 0; oh < g->Ho; oh += rows) {
                    t.ho = imin(rows, g->Ho - oh);
                    t.x = xp + (((size_t)ib * d->Hp + a + (size_t)oh * s) * d->Wp + b) * VB + r0;
                    t.gy = gp + (((size_t)ob * d->Hg + d->Mt + oh) * d->Wg + d->Ml) * VB;
                    ks->wtile[nb - 1](&t);
                    int add = acc || oh;
                    for (int bb = 0; bb < nb; bb++) {
                        double *dst = part + (((size_t)(ob + bb) * d->T + tap) * VB + r0) * VB;
                        const real *src = tile + (size_t)bb * RR * VB;
#pragma omp simd
                        for (int i = 0; i < RR * VB; i++) dst[i] = add ? dst[i] + src[i] : src[i];
                    }
                }
            }
    }
}

/* part's bias (+)= the sums of one sample's output gradient */
static void bias_grad(const dplan *d, const real *gp, int acc, double *part)
{
    const lm_conv_geom *g = &d->g;
    double *gb = part + d->wsz;
    for (int ob = 0; ob < d->Cbo; ob++) {
        double sum[VB] = {0};
        for (int oh = 0; oh < g->Ho; oh++) {
            const real *row = gp + (((size_t)ob * d->Hg + oh + d->Mt) * d->Wg + d->Ml) * VB;
            for (int ow = 0; ow < g->Wo; ow++)
#pragma omp simd
                for (int l = 0; l < VB; l++) sum[l] += row[(size_t)ow * VB + l];
        }
        for (int l = 0; l < VB; l++) gb[ob * VB + l] = acc ? gb[ob * VB + l] + sum[l] : sum[l];
    }
}

/* gw (torch's layout, then the bias) = s * part */
static void unpack_grad(const dplan *d, const double *part, real s, int bias, real *gw)
{
    const lm_conv_geom *g = &d->g;
    int kk = g->k * g->k;
    for (int o = 0; o < g->O; o++)
        for (int c = 0; c < g->C; c++) {
            const double *src = part + ((size_t)(o / VB) * d->Cbi + c / VB) * kk * BLK + (size_t)(c % VB) * VB + o % VB;
            real *dst = gw + ((size_t)o * g->C + c) * kk;
            for (int t = 0; t < kk; t++) dst[t] = s * (real)src[t * BLK];
        }
    if (bias)
        for (int o = 0; o < g->O; o++) gw[(size_t)g->O * g->C * kk + o] = (real)part[d->wsz + o];
}

/* First layers: gx (plain, one sample) = the adjoint of fill_patches applied to gP */
static void col2patch(const dplan *d, const real *gP, real *gx)
{
    const lm_conv_geom *L = &d->lay;
    int kk = L->k * L->k;
    memset(gx, 0, (size_t)L->C * L->H * L->W * sizeof *gx);
    for (int t = 0; t < (int)L->ckk; t++) {
        const real *src = gP + (size_t)(t / VB) * L->hw * VB + t % VB;
        int c = t / kk, a = t % kk / L->k, b = t % L->k;
        for (int oh = 0; oh < L->Ho; oh++)
            for (int ow = 0; ow < L->Wo; ow++) {
                int h = oh * L->stride - L->pad + a, w = ow * L->stride - L->pad + b;
                if (h >= 0 && h < L->H && w >= 0 && w < L->W)
                    gx[((size_t)c * L->H + h) * L->W + w] += src[((size_t)oh * L->Wo + ow) * VB];
            }
    }
}

/* ---- the layer's forward and backward ---- */

typedef struct {
    const R(lm_call) *c;
    R(lm_ports) *p;
    const dplan *d;
    shared_buf B;
    int K;
    size_t in_n, out_n; /* values per sample of x and y in their layouts */
} djob;

static djob make_job(const R(lm_call) *c, R(lm_ports) *p, const dplan *d)
{
    djob j = {c, p, d, shared_buffers(c, d), 1, lm_numel_in(c->L->in, c->in_blk), lm_numel_in(c->L->out, c->out_blk)};
    return j;
}

/* y of one sample from the tiles: in place when blocked, else through tmp */
static void forward_sample(const djob *j, const real *W, const real *xp, const real *bias, int flags, real *tmp,
                           real *y, int emit)
{
    const dplan *d = j->d;
    forward_tiles(d, &j->B, W, xp, bias, flags, d->out_blk ? y : tmp);
    if (emit && !d->out_blk) R(lm_relayout)(j->c->L->out, 1, tmp, 1, y, 0);
}

static void forward_share(void *arg, int k)
{
    const djob *j = arg;
    const dplan *d = j->d;
    R(lm_ports) *p = j->p;
    int n0, n1, bias = j->c->L->conv.bias;
    lm_conv_share_range(j->c->n, k, j->K, &n0, &n1);
    share_buf S = share_buffers(j->c, d, k);
    for (int i = n0; i < n1; i++) {
        fill_input(d, p->x + i * j->in_n, S.xp);
        forward_sample(j, j->B.w, S.xp, bias ? j->B.b : NULL, j->c->relu ? LM_TILE_RELU : 0, S.tmp,
                       p->y + i * j->out_n, 1);
        if (!p->dy) continue;
        /* dy = s (W dx + V x) + db */
        fill_input(d, p->dx + i * j->in_n, S.dxp);
        real *dy = p->dy + i * j->out_n;
        forward_sample(j, j->B.w, S.dxp, bias ? j->B.db : NULL, 0, S.dtmp, dy, 0);
        forward_sample(j, j->B.v, S.xp, NULL, LM_TILE_ACC, S.dtmp, dy, 1);
    }
}

void R(lm_conv_direct_forward)(const R(lm_call) *c, R(lm_ports) *p)
{
    dplan d = make_plan(c->L, c->in_blk, c->out_blk);
    djob j = make_job(c, p, &d);
    real s = (real)c->L->scale;
    const real *b = c->L->conv.bias ? c->w + (size_t)d.g.O * d.g.ckk : NULL;
    pack_weights(&d, c->w, s, 0, j.B.w);
    if (b) pack_bias(&d, b, j.B.b);
    if (p->dy) {
        pack_weights(&d, c->v, s, 0, j.B.v);
        if (b) pack_bias(&d, c->v + (size_t)d.g.O * d.g.ckk, j.B.db);
    }
    make_taps(&d, &j.B);
    int nt = lm_conv_threads((size_t)d.g.O * d.g.hw * d.g.ckk, c->n);
    j.K = lm_conv_shares(nt, c->n);
    lm_par_run(nt, j.K, forward_share, &j);
}

/* gx of one sample from the tiles: in place when blocked, else through tmp */
static void input_grad_sample(const djob *j, const real *Wt, const real *gp, int flags, real *tmp, real *gx, int emit)
{
    const dplan *d = j->d;
    int direct_out = d->in_blk && !d->patch;
    input_grad_tiles(d, &j->B, Wt, gp, flags, direct_out ? gx : tmp);
    if (!emit || direct_out) return;
    if (d->patch) col2patch(d, tmp, gx);
    else R(lm_relayout)(j->c->L->in, 1, tmp, 1, gx, 0);
}

static void backward_share(void *arg, int k)
{
    const djob *j = arg;
    const dplan *d = j->d;
    R(lm_ports) *p = j->p;
    int n0, n1;
    lm_conv_share_range(j->c->n, k, j->K, &n0, &n1);
    share_buf S = share_buffers(j->c, d, k);
    for (int i = n0; i < n1; i++) {
        int more = i > n0;
        fill_grad(d, p->gy + i * j->out_n, S.gp);
        if (p->gw) {
            fill_input(d, p->x + i * j->in_n, S.xp);
            weight_grad(d, S.xp, S.gp, more, S.part, S.tile);
            bias_grad(d, S.gp, more, S.part);
        }
        if (p->dgy) { /* dgW = s (dx g^T + x dg^T), dgb = sum dg */
            fill_input(d, p->dx + i * j->in_n, S.dxp);
            fill_grad(d, p->dgy + i * j->out_n, S.dgp);
            weight_grad(d, S.dxp, S.gp, more, S.dpart, S.tile);
            weight_grad(d, S.xp, S.dgp, 1, S.dpart, S.tile);
            bias_grad(d, S.dgp, more, S.dpart);
        }
        if (p->gx) input_grad_sample(j, j->B.w, S.gp, 0, S.tmp, p->gx + i * j->in_n, 1);
        if (p->dgx) { /* dgx = s (V^T g + W^T dg) */
            real *dgx = p->dgx + i * j->in_n;
            input_grad_sample(j, j->B.v, S.gp, 0, S.dtmp, dgx, 0);
            input_grad_sample(j, j->B.w, S.dgp, LM_TILE_ACC, S.dtmp, dgx, 1);
        }
    }
}

/* partial gradients of shares 1.. added to share 0's in share order */
static void sum_partials(const R(lm_call) *c, const dplan *d, int K, int tangent)
{
    share_buf S0 = share_buffers(c, d, 0);
    for (int k = 1; k < K; k++) {
        share_buf S = share_buffers(c, d, k);
        for (int t = 0; t <= tangent; t++) {
            double *acc = t ? S0.dpart : S0.part;
            const double *add = t ? S.dpart : S.part;
#pragma omp simd
            for (size_t i = 0; i < d->part; i++) acc[i] += add[i];
        }
    }
}

void R(lm_conv_direct_backward)(const R(lm_call) *c, R(lm_ports) *p)
{
    dplan d = make_plan(c->L, c->in_blk, c->out_blk);
    djob j = make_job(c, p, &d);
    real s = (real)c->L->scale;
    if (p->gx) pack_weights(&d, c->w, s, 1, j.B.w);
    if (p->dgx) pack_weights(&d, c->v, s, 1, j.B.v);
    make_taps(&d, &j.B);
    int nt = lm_conv_threads((size_t)d.g.O * d.g.hw * d.g.ckk, c->n), tangent = p->dgy != NULL;
    j.K = lm_conv_shares(nt, c->n);
    lm_par_run(nt, j.K, backward_share, &j);
    if (!p->gw) return;
    sum_partials(c, &d, j.K, tangent);
    share_buf S0 = share_buffers(c, &d, 0);
    unpack_grad(&d, S0.part, s, c->L->conv.bias, p->gw);
    if (tangent) unpack_grad(&d, S0.dpart, s, c->L->conv.bias, p->dgw);
}

/* ---- per-sample weight gradients (nn/sensitivity.h) ---- */

typedef struct {
    const R(lm_sens) *s;
    const dplan *d;
    real *G, *mem;
    size_t ldg, slice, in_n, out_n;
    int K;
} sample_job;

static void sample_share(void *arg, int k)
{
    const sample_job *j = arg;
    const dplan *d = j->d;
    const R(lm_sens) *s = j->s;
    real *xp = j->mem + (size_t)k * j->slice, *gp = xp + align16(d->xn), *tile = gp + align16(d->gn);
    double *part = (double *)(void *)(tile + LM_TILE_NB * BLK);
    int n0, n1;
    lm_conv_share_range(s->n, k, j->K, &n0, &n1);
    for (int i = n0; i < n1; i++) {
        fill_input(d, s->x + i * j->in_n, xp);
        fill_grad(d, s->gy + i * j->out_n, gp);
        weight_grad(d, xp, gp, 0, part, tile);
        bias_grad(d, gp, 0, part);
        unpack_grad(d, part, (real)s->L->scale, s->L->conv.bias, j->G + i * j->ldg);
    }
}

/* Each sample's gradient on its own (no partial sums to add): any stride, either layout */
lm_status R(lm_conv_sample_grads)(const R(lm_sens) *s, real *G, size_t ldg)
{
    dplan d = make_plan(s->L, s->x_blk, s->gy_blk);
    sample_job j = {s, &d, G, NULL, ldg, 0, lm_numel_in(s->L->in, s->x_blk), lm_numel_in(s->L->out, s->gy_blk), 1};
    int nt = lm_conv_threads((size_t)d.g.O * d.g.hw * d.g.ckk, s->n);
    j.K = lm_conv_shares(nt, s->n);
    j.slice = align16(d.xn) + align16(d.gn) + LM_TILE_NB * BLK + align16(doubles(d.part));
    void *mem = malloc((size_t)j.K * j.slice * sizeof(real) + 64);
    if (!mem) return lm_fail(LM_ENOMEM, "per-sample gradients of layer %s: out of memory", s->L->name);
    j.mem = (real *)(((uintptr_t)mem + 63) & ~(uintptr_t)63);
    lm_par_run(nt, j.K, sample_share, &j);
    free(mem);
    return LM_OK;
}
