/* Convolution as im2col + BLAS (plain layout, any stride): y = s * W * im2col(x) + b, with s =
 * 1/sqrt(C k k) under the ntk parameterization. Bilinear in (W, x) like the dense layer, with
 * im2col patches in place of x. The reference for the direct kernels, and the algorithm for the
 * strides they do not take. */
#include <stddef.h>
#include <string.h>

#include "nn/conv/conv.h"

/* The batch is processed in groups of samples: one im2col of the group into a patch matrix
 * (ckk x G*hw, sample i in columns i*hw ..), then one wide GEMM per product instead of one
 * small GEMM per sample. GROUP_BUDGET bounds the group's temporaries (patches and GEMM output,
 * and their tangents), which live in the executor's shared workspace. */
#ifndef GROUP_BUDGET /* tests may build with a tiny budget to exercise many groups */
#define GROUP_BUDGET ((size_t)1 << 18) /* reals (1 MiB in float32): fits the L2 cache, measured best */
#endif

/* The input gradient of a stride-1 convolution is itself a convolution of the output gradient
 * (the transposed convolution: channels swapped, kernel rotated, padding k-1-pad). As an
 * im2col of gy and a GEMM with C rows, it avoids the tall (ckk x cols) GEMM with only O terms
 * per entry and the scatter-add of col2im. */
static int transposable(const lm_conv_geom *g) { return g->stride == 1 && g->pad <= g->k - 1; }

static lm_conv_geom transposed(const lm_conv_geom *g)
{
    lm_conv_geom t = {g->O, g->Ho, g->Wo, g->C, g->k, 1, g->k - 1 - g->pad, g->H, g->W, 0, 0};
    t.ckk = (size_t)t.C * t.k * t.k;
    t.hw = (size_t)t.Ho * t.Wo;
    return t;
}

/* Wt (C x O x k x k) = W (O x C x k x k) with the channels swapped and the kernel rotated */
static void transpose_weights(const lm_conv_geom *g, const real *W, real *Wt)
{
    int k = g->k;
    for (int c = 0; c < g->C; c++)
        for (int o = 0; o < g->O; o++)
            for (int a = 0; a < k; a++)
                for (int b = 0; b < k; b++)
                    Wt[(((size_t)c * g->O + o) * k + a) * k + b] =
                        W[(((size_t)o * g->C + c) * k + (k - 1 - a)) * k + (k - 1 - b)];
}

/* Reals per sample of a group: its patch columns and GEMM output, in either direction. (The
 * forward pass alone would need less, but larger forward groups change OpenBLAS's rounding, and
 * one thread keeps the serial algorithm's results bit for bit.) */
static void per_sample(const lm_conv_geom *g, size_t *col, size_t *out)
{
    *col = g->ckk * g->hw;
    *out = (size_t)g->O * g->hw;
    if (transposable(g)) {
        lm_conv_geom t = transposed(g);
        if (t.ckk * t.hw > *col) *col = t.ckk * t.hw;
        if ((size_t)t.O * t.hw > *out) *out = (size_t)t.O * t.hw;
    }
}

static int max_group(const lm_conv_geom *g, int n, int tangent)
{
    size_t col, out;
    per_sample(g, &col, &out);
    size_t most = GROUP_BUDGET / ((col + out) * (tangent ? 2 : 1));
    return most < 1 ? 1 : most < (size_t)n ? (int)most : n;
}

/* Groups of equal size (the last may be smaller): ceil(n / ceil(n / most)). */
static int group_size(const lm_conv_geom *g, int n, int tangent)
{
    if (n < 1) return 1; /* an empty share of a distributed batch */
    int most = max_group(g, n, tangent), groups = (n + most - 1) / most;
    return (n + groups - 1) / groups;
}

static size_t partial_size(const lm_conv_geom *g) { return (size_t)g->O * g->ckk + (size_t)g->O; }

static size_t slice_size(const lm_conv_geom *g, int n, int tangent)
{
    size_t col, out;
    per_sample(g, &col, &out);
    size_t s = (tangent ? 2 : 1) * ((col + out) * (size_t)max_group(g, n, tangent) + partial_size(g));
    return (s + 15) / 16 * 16; /* 64-byte multiples: shares never share a cache line */
}

size_t R(lm_conv_im2col_workspace)(const lm_layer *L, int n, int tangent)
{
    lm_conv_geom g = lm_conv_geometry(L);
    size_t wt = transposable(&g) ? g.ckk * g.O : 0;
    return (size_t)lm_conv_max_shares(n) * slice_size(&g, n, tangent) + wt;
}

typedef struct {
    real *col, *dcol; /* patch matrices (dcol: tangent mode) */
    real *out, *dout; /* GEMM outputs, or gathered output gradients */
    real *gw, *dgw;   /* this thread's partial weight (and bias) gradient and its tangent */
    real *wt;         /* transposed weights (transposable convolutions), shared */
    int G;            /* samples per group */
} group_buf;

/* The buffers of share t, which has `count` samples */
static group_buf group_buffers(const R(lm_call) *c, const lm_conv_geom *g, int t, int count)
{
    group_buf b;
    int tan = c->e->tangent, most = max_group(g, c->e->max_n, tan);
    size_t col, out, nw = partial_size(g), slice = slice_size(g, c->e->max_n, tan);
    per_sample(g, &col, &out);
    b.G = group_size(g, count, tan);
    b.gw = c->e->work + (size_t)t * slice;
    b.dgw = tan ? b.gw + nw : NULL;
    b.col = b.gw + (tan ? 2 : 1) * nw;
    b.out = b.col + col * most;
    b.dcol = tan ? b.out + out * most : NULL;
    b.dout = tan ? b.dcol + col * most : NULL;
    b.wt = c->e->work + (size_t)lm_conv_max_shares(c->e->max_n) * slice;
    return b;
}

/* Output columns j whose input column j*stride - pad + b lies inside the image: [*j0, *j1). */
static void valid_span(const lm_conv_geom *g, int b, int *j0, int *j1)
{
    int a = 0, z = g->Wo;
    while (a < z && a * g->stride - g->pad + b < 0) a++;
    while (z > a && (z - 1) * g->stride - g->pad + b >= g->W) z--;
    *j0 = a;
    *j1 = z;
}

/* One row of the patch matrix of a stride-1 'same' convolution (Ho x Wo = H x W): the input
 * plane shifted by (dy, dx) = (a - pad, b - pad). Flat, that is one long copy at offset
 * dy*W + dx, then zeros over the rows and the |dx| columns that fall outside. */
static void shifted_plane(const lm_conv_geom *g, const real *plane, int dy, int dx, real *out)
{
    int H = g->H, W = g->W, i0 = dy < 0 ? -dy : 0, i1 = H - (dy > 0 ? dy : 0);
    int zl = dx < 0 ? -dx : 0, zr = dx > 0 ? W - dx : W; /* zero columns [0, zl) and [zr, W) */
    if (i0 > H) i0 = H;
    if (i1 < i0) i1 = i0;
    if (zl > W) zl = W;
    if (zr < 0) zr = 0;
    for (size_t t = 0; t < (size_t)i0 * W; t++) out[t] = 0;
    for (size_t t = (size_t)i1 * W; t < (size_t)H * W; t++) out[t] = 0;
    /* the first and last -dx / dx entries would read outside the plane: they are zeroed below */
    ptrdiff_t len = (ptrdiff_t)(i1 - i0) * W, t0 = dx < 0 ? -dx : 0, t1 = len - (dx > 0 ? dx : 0);
    real *dst = out + (size_t)i0 * W;
    const real *src = plane + ((ptrdiff_t)i0 + dy) * W + dx;
#pragma omp simd
    for (ptrdiff_t t = t0; t < t1; t++) dst[t] = src[t];
    /* column by column: a per-row loop of one or two entries would become a memset call */
    for (int j = 0; j < zl; j++)
        for (int i = i0; i < i1; i++) out[(size_t)i * W + j] = 0;
    for (int j = zr; j < W; j++)
        for (int i = i0; i < i1; i++) out[(size_t)i * W + j] = 0;
}

/* col (ckk x hw, row stride ld) = patches of one sample x (C x H x W) */
static void im2col(const lm_conv_geom *g, const real *x, real *col, size_t ld)
{
    if (g->stride == 1 && g->Ho == g->H && g->Wo == g->W) {
        for (int c = 0; c < g->C; c++)
            for (int a = 0; a < g->k; a++)
                for (int b = 0; b < g->k; b++)
                    shifted_plane(g, x + (size_t)c * g->H * g->W, a - g->pad, b - g->pad,
                                  col + ((size_t)(c * g->k + a) * g->k + b) * ld);
        return;
    }
    for (int c = 0; c < g->C; c++)
        for (int a = 0; a < g->k; a++)
            for (int b = 0; b < g->k; b++) {
                real *row = col + ((size_t)(c * g->k + a) * g->k + b) * ld;
                int j0, j1;
                valid_span(g, b, &j0, &j1);
                /* rows are short (7 to 32 here): plain loops beat memset and memcpy calls */
                for (int i = 0; i < g->Ho; i++) {
                    real *out = row + (size_t)i * g->Wo;
                    int h = i * g->stride - g->pad + a;
                    if (h < 0 || h >= g->H || j0 >= j1) {
                        for (int j = 0; j < g->Wo; j++) out[j] = 0;
                        continue;
                    }
                    const real *src = x + ((size_t)c * g->H + h) * g->W + (j0 * g->stride - g->pad + b);
                    for (int j = 0; j < j0; j++) out[j] = 0;
                    if (g->stride == 1) {
#pragma omp simd
                        for (int j = j0; j < j1; j++) out[j] = src[j - j0];
                    } else {
                        for (int j = j0; j < j1; j++) out[j] = src[(size_t)(j - j0) * g->stride];
                    }
                    for (int j = j1; j < g->Wo; j++) out[j] = 0;
                }
            }
}

/* x (C x H x W) = the adjoint of im2col applied to col (row stride ld) */
static void col2im(const lm_conv_geom *g, const real *col, size_t ld, real *x)
{
    memset(x, 0, (size_t)g->C * g->H * g->W * sizeof *x);
    for (int c = 0; c < g->C; c++)
        for (int a = 0; a < g->k; a++)
            for (int b = 0; b < g->k; b++) {
                const real *row = col + ((size_t)(c * g->k + a) * g->k + b) * ld;
                int j0, j1;
                valid_span(g, b, &j0, &j1);
                for (int i = 0; i < g->Ho; i++) {
                    int h = i * g->stride - g->pad + a;
                    if (h < 0 || h >= g->H) continue;
                    const real *in = row + (size_t)i * g->Wo;
                    real *dst = x + ((size_t)c * g->H + h) * g->W + (j0 * g->stride - g->pad + b);
                    if (g->stride == 1) {
#pragma omp simd
                        for (int j = j0; j < j1; j++) dst[j - j0] += in[j];
                    } else {
                        for (int j = j0; j < j1; j++) dst[(size_t)(j - j0) * g->stride] += in[j];
                    }
                }
            }
}

/* col = patches of the gn samples at x, side by side */
static void im2col_group(const lm_conv_geom *g, const real *x, int gn, real *col)
{
    size_t ld = (size_t)gn * g->hw, in_n = (size_t)g->C * g->H * g->W;
    for (int i = 0; i < gn; i++) im2col(g, x + i * in_n, col + i * g->hw, ld);
}

static void col2im_group(const lm_conv_geom *g, const real *col, int gn, real *x)
{
    size_t ld = (size_t)gn * g->hw, in_n = (size_t)g->C * g->H * g->W;
    for (int i = 0; i < gn; i++) col2im(g, col + i * g->hw, ld, x + i * in_n);
}

/* y (n x O x hw) = the group layout (O x gn*hw) + b (per channel; b may be NULL) */
static void scatter(const lm_conv_geom *g, const real *out, const real *bias, int gn, real *y)
{
    size_t ld = (size_t)gn * g->hw;
    for (int i = 0; i < gn; i++)
        for (int o = 0; o < g->O; o++) {
            const real *src = out + (size_t)o * ld + i * g->hw;
            real *dst = y + ((size_t)i * g->O + o) * g->hw, b = bias ? bias[o] : 0;
#pragma omp simd
            for (size_t j = 0; j < g->hw; j++) dst[j] = src[j] + b;
        }
}

/* The inverse: out (O x gn*hw) = gy (n x O x hw) */
static void gather(const lm_conv_geom *g, const real *gy, int gn, real *out)
{
    size_t ld = (size_t)gn * g->hw;
    for (int i = 0; i < gn; i++)
        for (int o = 0; o < g->O; o++)
            memcpy(out + (size_t)o * ld + i * g->hw, gy + ((size_t)i * g->O + o) * g->hw, g->hw * sizeof *out);
}

/* y (O x cols) = s * W (O x ckk) * col (ckk x cols) + beta * y */
static void w_times_col(const lm_conv_geom *g, size_t cols, real s, const real *W, const real *col, real beta, real *y)
{
    cblas_xgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->O, (int)cols, (int)g->ckk, s, W,
                (int)g->ckk, col, (int)cols, beta, y, (int)cols);
}

/* gW (O x ckk) = s * gy (O x cols) * col^T + beta * gW */
static void gy_times_colT(const lm_conv_geom *g, size_t cols, real s, const real *gy, const real *col, real beta,
                          real *gW)
{
    cblas_xgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g->O, (int)g->ckk, (int)cols, s, gy,
                (int)cols, col, (int)cols, beta, gW, (int)g->ckk);
}

/* gcol (ckk x cols) = s * W^T * gy + beta * gcol */
static void wT_times_gy(const lm_conv_geom *g, size_t cols, real s, const real *W, const real *gy, real beta,
                        real *gcol)
{
    cblas_xgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)g->ckk, (int)cols, g->O, s, W,
                (int)g->ckk, gy, (int)cols, beta, gcol, (int)cols);
}

/* gb[o] (+)= the sum of row o of gy (O x cols) */
static void channel_sums(const lm_conv_geom *g, size_t cols, const real *gy, int accumulate, real *gb)
{
    for (int o = 0; o < g->O; o++) {
        const real *row = gy + (size_t)o * cols;
        real sum = 0;
#pragma omp simd reduction(+ : sum)
        for (size_t j = 0; j < cols; j++) sum += row[j];
        gb[o] = accumulate ? gb[o] + sum : sum;
    }
}

/* With one sample in a group, the group layout (O x hw) is the sample's own: products are
 * written in place and the permuting copies (scatter, gather) are skipped. */
static void forward_range(const R(lm_call) *c, R(lm_ports) *p, const lm_conv_geom *gp, const group_buf *B,
                          int first, int end)
{
    lm_conv_geom g = *gp;
    real s = (real)c->L->scale;
    size_t in_n = (size_t)g.C * g.H * g.W, out_n = (size_t)g.O * g.hw;
    const real *W = c->w, *b = c->L->conv.bias ? c->w + g.O * g.ckk : NULL;
    for (int n0 = first; n0 < end; n0 += B->G) {
        int gn = end - n0 < B->G ? end - n0 : B->G;
        size_t cols = (size_t)gn * g.hw;
        real *y = p->y + n0 * out_n, *out = gn == 1 ? y : B->out;
        im2col_group(&g, p->x + n0 * in_n, gn, B->col);
        w_times_col(&g, cols, s, W, B->col, 0, out);
        if (gn > 1 || b) scatter(&g, out, b, gn, y);
        if (p->dy) { /* dy = s (dW col + W dcol) + db */
            real *dy = p->dy + n0 * out_n, *dout = gn == 1 ? dy : B->dout;
            const real *db = b ? c->v + g.O * g.ckk : NULL;
            im2col_group(&g, p->dx + n0 * in_n, gn, B->dcol);
            w_times_col(&g, cols, s, c->v, B->col, 0, dout);
            w_times_col(&g, cols, s, W, B->dcol, 1, dout);
            if (gn > 1 || db) scatter(&g, dout, db, gn, dy);
        }
    }
}

/* One call's shares, for lm_par_run */
typedef struct {
    const R(lm_call) *c;
    R(lm_ports) *p;
    lm_conv_geom g;
    int K, tr;
} share_job;

static void forward_share(void *arg, int k)
{
    share_job *j = arg;
    int n0, n1;
    lm_conv_share_range(j->c->n, k, j->K, &n0, &n1);
    group_buf B = group_buffers(j->c, &j->g, k, n1 - n0);
    forward_range(j->c, j->p, &j->g, &B, n0, n1);
}

void R(lm_conv_im2col_forward)(const R(lm_call) *c, R(lm_ports) *p)
{
    share_job j = {c, p, lm_conv_geometry(c->L), 1, 0};
    int nt = lm_conv_threads(j.g.O * j.g.hw * j.g.ckk, c->n), blas = nt > 1 ? lm_blas_single() : 1;
    j.K = lm_conv_shares(nt, c->n);
    lm_par_run(nt, j.K, forward_share, &j);
    lm_blas_restore(blas);
}

/* Samples [first, end): gw (and dgw) receive their weight gradient (overwritten) */
static void backward_range(const R(lm_call) *c, R(lm_ports) *p, const lm_conv_geom *gp, const group_buf *B,
                           int first, int end, real *gw, real *dgw)
{
    lm_conv_geom g = *gp;
    real s = (real)c->L->scale;
    size_t in_n = (size_t)g.C * g.H * g.W, out_n = (size_t)g.O * g.hw, nw = g.O * g.ckk;
    const real *W = c->w;
    for (int n0 = first; n0 < end; n0 += B->G) {
        int gn = end - n0 < B->G ? end - n0 : B->G, more = n0 > first;
        size_t cols = (size_t)gn * g.hw;
        const real *gy = p->gy + n0 * out_n, *dgy = p->dgy ? p->dgy + n0 * out_n : NULL;
        if (gn > 1) {
            gather(&g, gy, gn, B->out);
            gy = B->out;
        }
        im2col_group(&g, p->x + n0 * in_n, gn, B->col);
        gy_times_colT(&g, cols, s, gy, B->col, more, gw); /* gW = s g col^T */
        if (c->L->conv.bias) channel_sums(&g, cols, gy, more, gw + nw);
        if (dgy) { /* dgW = s (dg col^T + g dcol^T) */
            if (gn > 1) {
                gather(&g, dgy, gn, B->dout);
                dgy = B->dout;
            }
            im2col_group(&g, p->dx + n0 * in_n, gn, B->dcol);
            gy_times_colT(&g, cols, s, dgy, B->col, more, dgw);
            gy_times_colT(&g, cols, s, gy, B->dcol, 1, dgw);
            if (c->L->conv.bias) channel_sums(&g, cols, dgy, more, dgw + nw);
        }
        /* the patch matrices are spent: reuse them for the patch gradients */
        if (p->gx && !p->dgx && transposable(&g)) { /* gx = the transposed convolution of gy */
            lm_conv_geom t = transposed(&g);
            real *gx = p->gx + n0 * in_n, *out = gn == 1 ? gx : B->out;
            im2col_group(&t, p->gy + n0 * out_n, gn, B->col);
            w_times_col(&t, (size_t)gn * t.hw, s, B->wt, B->col, 0, out);
            if (gn > 1) scatter(&t, out, NULL, gn, gx);
        } else if (p->gx) {
            wT_times_gy(&g, cols, s, W, gy, 0, B->col);
            col2im_group(&g, B->col, gn, p->gx + n0 * in_n);
        }
        if (p->dgx) { /* dgcol = s (dW^T g + W^T dg) */
            wT_times_gy(&g, cols, s, c->v, gy, 0, B->dcol);
            wT_times_gy(&g, cols, s, W, dgy, 1, B->dcol);
            col2im_group(&g, B->dcol, gn, p->dgx + n0 * in_n);
        }
    }
}

/* acc[0..len) += part[0..len) */
static void add_partial(real *acc, const real *part, size_t len)
{
#pragma omp simd
    for (size_t i = 0; i < len; i++) acc[i] += part[i];
}

/* share 0 writes the gradient, the others their partials */
static void backward_share(void *arg, int k)
{
    share_job *j = arg;
    int n0, n1;
    lm_conv_share_range(j->c->n, k, j->K, &n0, &n1);
    group_buf B = group_buffers(j->c, &j->g, k, n1 - n0);
    int own = k || !j->p->gw; /* no gradient wanted: share 0 fills its partial too, unused */
    backward_range(j->c, j->p, &j->g, &B, n0, n1, own ? B.gw : j->p->gw, k ? B.dgw : j->p->dgw);
}

void R(lm_conv_im2col_backward)(const R(lm_call) *c, R(lm_ports) *p)
{
    share_job j = {c, p, lm_conv_geometry(c->L), 1, 0};
    lm_conv_geom *g = &j.g;
    int nt = lm_conv_threads(g->O * g->hw * g->ckk, c->n);
    j.K = lm_conv_shares(nt, c->n);
    size_t nw = g->O * g->ckk + (c->L->conv.bias ? (size_t)g->O : 0);
    j.tr = p->gx && !p->dgx && transposable(g);
    if (j.tr) transpose_weights(g, c->w, group_buffers(c, g, 0, c->n).wt);
    int blas = nt > 1 ? lm_blas_single() : 1;
    lm_par_run(nt, j.K, backward_share, &j);
    lm_blas_restore(blas);
    for (int k = 1; p->gw && k < j.K; k++) { /* in share order: the sum does not depend on scheduling */
        group_buf B = group_buffers(c, g, k, 1);
        add_partial(p->gw, B.gw, nw);
        if (p->dgw) add_partial(p->dgw, B.dgw, nw);
    }
}
