/* Kernel features: the first layer of a kernel machine f(x) = sum_j a_j k(c_j, x) (docs/theory.md
 * §2.1). kernelfeat:TYPE:BW:N maps a sample x (any shape, taken flat, d values) to its kernel row
 * (k(c_1, x), ..., k(c_N, x)) over N stored centres; a dense:K:nobias layer after it holds the
 * coefficients a (K x N). The two kernels, with r = |x - c|:
 *   gaussian   k = exp(-r^2 / (2 BW^2))
 *   laplacian  k = exp(-r / BW)
 * Rows come from one GEMM per block of centres, r^2 = |x|^2 + |c|^2 - 2 x.c, clamped at 0.
 *
 * Two ways to train the coefficients, both on the square loss:
 *   kernelfeat:TYPE:BW:N:rkhs,flatten,dense:K:nobias   kernel SGD in the RKHS (what the aliases
 *       kernel:TYPE:BW give): the centres are the training inputs, and the gradient of a batch is
 *       scale * dloss/df_i at sample i's own centre, zero elsewhere (lm_model_rkhs_gradient), so a
 *       step changes only the batch's coefficients. Linear regression on the feature maps
 *       k(x, .): H = K/n, L1 = 1 when k(x, x) = 1.
 *   kernelfeat:TYPE:BW:N,flatten,dense:K:nobias        the Euclidean gradient in the
 *       coefficients, through backward: linear regression on the kernel rows as features
 *       (H = K^2/n), a different, worse-conditioned problem.
 * The :rkhs flag is part of the spec, so a run folder reopens the model the same way.
 *
 * Settings (lm_layer.kernelfeat): centres N, type KERNEL_GAUSSIAN or KERNEL_LAPLACIAN, bandwidth,
 * rkhs. Storage: the centres (N x d, row-major) and their squared norms (N) live in the model's
 * buffer array, but are no named tensor, so they are in no state_dict and no checkpoint (a
 * 60000-centre Fashion-MNIST machine would add 188 MB to every checkpoint). Whoever builds the
 * model attaches them with lm_model_set_kernel_centres: the trainer uses the training inputs
 * after normalisation, so a resumed run re-derives the same centres from its data.
 *
 * Tangent rules: the layer has no parameters and must be the model's first layer (id 0), whose
 * input tangent is zero; so its JVP is zero and its backward gives no gradient at all. It
 * computes no input gradient: a requested gx (and dgx) is filled with NaN, so misuse is loud.
 *
 * The type-independent half also holds the model-level helpers of linear and kernel models:
 * the spec aliases "linear" and "kernel:TYPE:BW", the centres, the RKHS gradient, and (in the
 * float64 half) the linear features that constants and --auto feed to lm_linreg_constants. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linmass/probe.h"
#include "linmass/rng.h"
#include "nn/generic.h"

enum { KERNEL_GAUSSIAN = 0, KERNEL_LAPLACIAN = 1, CENTRE_BLOCK = 1024 };

static const lm_layer *kernel_layer(const lm_model *m)
{
    return m->top.n && m->top.layers[0].kind == L_KERNELFEAT ? &m->top.layers[0] : NULL;
}

/* The model is linear in its parameters when it is [kernelfeat,] flatten..., dense:K:nobias. */
static const lm_layer *linear_head(const lm_model *m)
{
    const lm_seq *s = &m->top;
    if (!s->n) return NULL;
    const lm_layer *last = &s->layers[s->n - 1];
    if (last->kind != L_DENSE || last->dense.bias) return NULL;
    for (int i = 0; i < s->n - 1; i++)
        if (s->layers[i].kind != L_FLATTEN && !(i == 0 && s->layers[i].kind == L_KERNELFEAT)) return NULL;
    return last;
}

#ifdef LM_F32 /* the type-independent half, compiled once */
/* kernelfeat:gaussian|laplacian:BANDWIDTH:CENTRES[:rkhs] */
static const char *kernelfeat_parse(lm_layer *L, int word, const char *arg)
{
    (void)word;
    size_t type = arg ? strcspn(arg, ":") : 0;
    if (arg && type == 8 && !strncmp(arg, "gaussian", 8)) L->kernelfeat.type = KERNEL_GAUSSIAN;
    else if (arg && type == 9 && !strncmp(arg, "laplacian", 9)) L->kernelfeat.type = KERNEL_LAPLACIAN;
    else return "expected kernelfeat:gaussian:BW:N or kernelfeat:laplacian:BW:N";
    arg += type;
    double *bw = &L->kernelfeat.bandwidth;
    if (*arg != ':' || (arg++, !lm_spec_number(&arg, bw)) || *arg != ':' || !(*bw > 0 && isfinite(*bw)))
        return "the bandwidth must be a positive number (kernelfeat:TYPE:BW:N)";
    arg++;
    if (!lm_spec_int(&arg, &L->kernelfeat.centres) || L->kernelfeat.centres < 1)
        return "the number of centres must be a positive integer (kernelfeat:TYPE:BW:N)";
    L->kernelfeat.rkhs = lm_spec_flag(&arg, "rkhs");
    if (*arg) return "only :rkhs may follow the number of centres (kernelfeat:TYPE:BW:N[:rkhs])";
    return NULL;
}

static lm_status kernelfeat_infer(lm_layer *L, lm_param_kind param)
{
    (void)param;
    if (L->id != 0)
        return lm_fail(LM_EINVAL, "kernelfeat must be the model's first layer (its input tangent is "
                                  "taken as zero and it gives no input gradient)");
    size_t d = lm_shape_numel(L->in);
    L->out = (lm_shape){L->kernelfeat.centres, 1, 1};
    L->np = 0;
    L->nb = (size_t)L->kernelfeat.centres * d + (size_t)L->kernelfeat.centres; /* centres, then their squared norms */
    L->scale = 1;
    return LM_OK;
}

static double kernelfeat_macs(const lm_layer *L) { return (double)L->kernelfeat.centres * lm_shape_numel(L->in); }

lm_status lm_kernel_check_model(const lm_model *m)
{
    const lm_layer *L = kernel_layer(m);
    if (!L || !L->kernelfeat.rkhs || linear_head(m)) return LM_OK;
    return lm_fail(LM_EINVAL, "model spec '%s': kernelfeat's :rkhs trains the coefficients of a kernel machine, so only "
                   "flatten and one dense:K:nobias may follow it (kernelfeat:TYPE:BW:N:rkhs,flatten,dense:K:nobias)", m->spec);
}

const char *lm_model_alias_spec(const char *spec, int outputs, size_t centres, char *buf, size_t len)
{
    if (!spec || !buf || !len) return NULL;
    if (!strcmp(spec, "linear")) snprintf(buf, len, "dense:%d:nobias", outputs);
    else if (!strncmp(spec, "kernel:", 7) && !strchr(spec, ','))
        snprintf(buf, len, "kernelfeat:%s:%zu:rkhs,flatten,dense:%d:nobias", spec + 7, centres, outputs);
    else return NULL;
    return buf;
}

size_t lm_model_kernel_centres(const lm_model *m)
{
    const lm_layer *L = kernel_layer(m);
    return L ? (size_t)L->kernelfeat.centres : 0;
}

int lm_model_kernel_rkhs(const lm_model *m)
{
    const lm_layer *L = kernel_layer(m);
    return L && L->kernelfeat.rkhs && linear_head(m);
}

lm_status lm_model_set_kernel_centres(lm_model *m, const float *x, size_t n)
{
    const lm_layer *L = kernel_layer(m);
    if (!L) return lm_fail(LM_EINVAL, "model '%s' has no kernel layer to take centres", m->spec);
    if (n != (size_t)L->kernelfeat.centres)
        return lm_fail(LM_EINVAL, "model '%s' expects %d kernel centres, got %zu", m->spec, L->kernelfeat.centres, n);
    size_t d = lm_shape_numel(L->in);
    float *centres = m->buf + L->boff, *norms = centres + n * d;
    memcpy(centres, x, n * d * sizeof *centres);
    for (size_t j = 0; j < n; j++) {
        double s = 0;
        for (size_t i = 0; i < d; i++) s += (double)x[j * d + i] * x[j * d + i];
        norms[j] = (float)s;
    }
    return LM_OK;
}

/* The RKHS gradient (docs/theory.md §2.1): the Euclidean gradient of the dense layer, scale *
 * gz_i (x) kernel row of x_i, with each kernel row replaced by the indicator of x_i's centre. */
lm_status lm_model_rkhs_gradient(const lm_model *m, const float *gz, const uint32_t *idx, int n, float *grad)
{
    if (!lm_model_kernel_rkhs(m))
        return lm_fail(LM_EINVAL, "RKHS gradient: model '%s' is no RKHS kernel machine "
                       "(kernelfeat:TYPE:BW:N:rkhs,flatten,dense:K:nobias)", m->spec);
    const lm_layer *head = linear_head(m);
    size_t N = (size_t)kernel_layer(m)->kernelfeat.centres, K = (size_t)head->dense.units;
    float *g = grad + head->poff;
    memset(grad, 0, m->np * sizeof *grad);
    for (int i = 0; i < n; i++)
        if (idx[i] >= N)
            return lm_fail(LM_EINVAL, "RKHS gradient: sample %d has centre index %u, but model '%s' has %zu centres", i,
                           idx[i], m->spec, N);
    for (int i = 0; i < n; i++)
        for (size_t k = 0; k < K; k++) g[k * N + idx[i]] += (float)(head->scale * gz[(size_t)i * K + k]);
    return LM_OK;
}
#endif

/* ---- the mathematics ---- */

/* out[i * ld + j] = k(x_i, c_j) for n samples x (n x d, squared norms xn) and nc centres c
 * (nc x d, squared norms cn). */
static void kernel_block(int type, double bw, int n, int nc, int d, const real *x, const real *xn,
                         const real *c, const real *cn, real *out, int ld)
{
    cblas_xgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, nc, d, -2, x, d, c, d, 0, out, ld);
    const real g = (real)(1 / (2 * bw * bw)), ib = (real)(1 / bw);
#pragma omp parallel for if ((size_t)n * nc > 65536) schedule(static)
    for (int i = 0; i < n; i++) {
        real *row = out + (size_t)i * ld;
        for (int j = 0; j < nc; j++) {
            real r2 = xn[i] + cn[j] + row[j];
            r2 = r2 > 0 ? r2 : 0;
            row[j] = type == KERNEL_GAUSSIAN ? exp(-g * r2) : exp(-ib * sqrt(r2));
        }
    }
}

static void squared_norms(int n, int d, const real *x, real *out)
{
    for (int i = 0; i < n; i++) {
        real s = 0;
        for (int k = 0; k < d; k++) s += x[(size_t)i * d + k] * x[(size_t)i * d + k];
        out[i] = s;
    }
}

/* out (n x N, leading dimension N) = the kernel rows of x over all N centres, by blocks. */
static void kernel_rows(const lm_layer *L, const real *centres, int n, const real *x, real *xn,
                        real *out)
{
    int N = L->kernelfeat.centres, d = (int)lm_shape_numel(L->in);
    const real *cn = centres + (size_t)N * d;
    squared_norms(n, d, x, xn);
    for (int j0 = 0; j0 < N; j0 += CENTRE_BLOCK) {
        int nc = N - j0 < CENTRE_BLOCK ? N - j0 : CENTRE_BLOCK;
        kernel_block(L->kernelfeat.type, L->kernelfeat.bandwidth, n, nc, d, x, xn, centres + (size_t)j0 * d, cn + j0, out + j0, N);
    }
}

static size_t kernelfeat_scratch(const lm_layer *L, int n, int tangent)
{
    (void)L, (void)tangent;
    return (size_t)n; /* the samples' squared norms */
}

static void fill_nan(real *a, size_t count)
{
    for (size_t i = 0; i < count; i++) a[i] = NAN;
}

static void kernelfeat_forward(const R(lm_call) *c, R(lm_ports) *p)
{
    const lm_layer *L = c->L;
    size_t count = (size_t)c->n * L->kernelfeat.centres;
    if (c->buf) kernel_rows(L, c->buf, c->n, p->x, c->scr, p->y);
    else fill_nan(p->y, count); /* an executor bound without buffers has no centres */
    if (p->dy) memset(p->dy, 0, count * sizeof *p->dy); /* no parameters, zero input tangent */
}

static void kernelfeat_backward(const R(lm_call) *c, R(lm_ports) *p)
{
    size_t count = (size_t)c->n * lm_shape_numel(c->L->in);
    if (p->gx) fill_nan(p->gx, count);
    if (p->dgx) fill_nan(p->dgx, count);
}

const R(lm_layer_ops) R(lm_kernelfeat_ops) = {
    .scratch = kernelfeat_scratch, .forward = kernelfeat_forward, .backward = kernelfeat_backward};

#ifdef LM_F32
extern const struct lm_layer_ops_f64 lm_kernelfeat_ops_f64;
const lm_layer_def lm_kernelfeat_def = {
    .name = "kernelfeat",
    .syntax = "kernelfeat:TYPE:BW:N[:rkhs]",
    .help = "kernel rows over N stored centres; TYPE gaussian or laplacian, bandwidth BW.\n"
            "                         Before flatten,dense:K:nobias: a kernel machine, trained with :rkhs by kernel\n"
            "                         SGD in the RKHS (as kernel:TYPE:BW; a step changes only the batch's\n"
            "                         coefficients), without :rkhs by the Euclidean gradient (linear regression on\n"
            "                         kernel features)",
    .parse = kernelfeat_parse,
    .infer = kernelfeat_infer,
    .macs = kernelfeat_macs,
    .ops_f32 = &lm_kernelfeat_ops_f32,
    .ops_f64 = &lm_kernelfeat_ops_f64,
};
#endif

#ifdef LM_F64
/* ---- linear features for --auto and constants, in float64 ---- */

/* out (r x r) = psi with psi psi^T = K, the kernel matrix of the r samples X (r x d): from
 * K = V Lambda V^T, psi = V Lambda^{1/2} (eigenvalues below zero, from rounding, taken as zero),
 * times `scale`. */
static lm_status rkhs_features(const lm_layer *L, const double *X, int r, int d, double scale, double *out)
{
    double *xn = malloc(sizeof *xn * r), *ev = malloc(sizeof *ev * r), *V = malloc(sizeof *V * (size_t)r * r);
    lm_status st = xn && ev && V ? LM_OK : lm_fail(LM_ENOMEM, "RKHS features: no memory for a %d x %d kernel matrix", r, r);
    if (!st) {
        squared_norms(r, d, X, xn);
        for (int j0 = 0; j0 < r; j0 += CENTRE_BLOCK) {
            int nc = r - j0 < CENTRE_BLOCK ? r - j0 : CENTRE_BLOCK;
            kernel_block(L->kernelfeat.type, L->kernelfeat.bandwidth, r, nc, d, X, xn, X + (size_t)j0 * d, xn + j0,
                         out + j0, r);
        }
        for (int i = 0; i < r; i++) out[(size_t)i * r + i] = 1; /* k(x, x): distance 0, not the GEMM's rounding */
        st = lm_sym_eig(r, out, ev, V);                            /* row k of V: the eigenvector of ev[k] */
    }
    for (int k = 0; !st && k < r; k++) {
        double root = scale * sqrt(fmax(ev[k], 0));
        for (int i = 0; i < r; i++) out[(size_t)i * r + k] = V[(size_t)k * r + i] * root;
    }
    free(xn), free(ev), free(V);
    return st;
}

/* out (r x s) = the kernel rows of the r samples X over s of the N centres (chosen by pcol
 * when s < N), scaled by sqrt(N / s) so that inner products of rows estimate those over all N
 * centres, times `scale`. */
static lm_status kernel_row_features(const lm_layer *L, const float *centres, const uint32_t *pcol, const double *X,
                                     int r, int s, int d, double scale, double *out)
{
    size_t N = (size_t)L->kernelfeat.centres;
    double *C = malloc(sizeof *C * (size_t)s * (d + 1)), *xn = malloc(sizeof *xn * r);
    if (!C || !xn) {
        free(C), free(xn);
        return lm_fail(LM_ENOMEM, "linear features: no memory for %d centres", s);
    }
    double *cn = C + (size_t)s * d;
    for (size_t j = 0; j < (size_t)s; j++) {
        size_t src = (size_t)s < N ? pcol[j] : j;
        for (size_t k = 0; k < (size_t)d; k++) C[j * d + k] = centres[src * d + k];
    }
    squared_norms(s, d, C, cn);
    squared_norms(r, d, X, xn);
    double f = scale * sqrt((double)N / s);
    for (int j0 = 0; j0 < s; j0 += CENTRE_BLOCK) {
        int nc = s - j0 < CENTRE_BLOCK ? s - j0 : CENTRE_BLOCK;
        kernel_block(L->kernelfeat.type, L->kernelfeat.bandwidth, r, nc, d, X, xn, C + (size_t)j0 * d, cn + j0, out + j0, s);
    }
    for (size_t i = 0; i < (size_t)r * s; i++) out[i] *= f;
    free(C), free(xn);
    return LM_OK;
}

lm_status lm_model_linear_features(const lm_model *m, const float *x, size_t n, int max_rows, uint64_t seed,
                                   double **phi, int *rows, int *cols)
{
    *phi = NULL;
    *rows = *cols = 0;
    const lm_layer *head = linear_head(m), *K = kernel_layer(m);
    if (!head)
        return lm_fail(LM_EINVAL, "model '%s' is not linear in its parameters (use linear, "
                       "kernel:gaussian:BW or kernel:laplacian:BW)", m->spec);
    if (n < 1 || n > 0x7fffffff) return lm_fail(LM_EINVAL, "linear features: %zu samples", n);
    int rkhs = K && K->kernelfeat.rkhs;
    size_t d = lm_shape_numel(m->in), N = K ? (size_t)K->kernelfeat.centres : d;
    if (rkhs && n != N)
        return lm_fail(LM_EINVAL, "linear features: the samples of RKHS kernel machine '%s' are its %zu centres, "
                       "not %zu other samples", m->spec, N, n);
    size_t r = max_rows > 0 && (size_t)max_rows < n ? (size_t)max_rows : n; /* sample rows */
    size_t s = rkhs ? r : K ? (max_rows > 0 && (size_t)max_rows < N ? (size_t)max_rows : N) : d; /* columns */
    uint32_t *prow = malloc(n * sizeof *prow), *pcol = K && !rkhs ? malloc(N * sizeof *pcol) : NULL;
    double *X = malloc(r * d * sizeof *X), *out = malloc(r * s * sizeof *out);
    lm_status st = LM_OK;
    if (!prow || !X || !out || (K && !rkhs && !pcol))
        st = lm_fail(LM_ENOMEM, "linear features: no memory for %zu x %zu", r, s);
    if (!st) {
        lm_rand_permutation(prow, (uint32_t)n, seed, LM_STREAM_PROBE + 77); /* the same subsets */
        if (pcol) lm_rand_permutation(pcol, (uint32_t)N, seed, LM_STREAM_PROBE + 77); /* when n = N */
        for (size_t i = 0; i < r; i++) {
            size_t src = r < n ? prow[i] : i; /* no subsample: keep the data order */
            for (size_t k = 0; k < d; k++) X[i * d + k] = x[src * d + k];
        }
        if (!K)
            for (size_t i = 0; i < r * d; i++) out[i] = head->scale * X[i];
        else if (rkhs)
            st = rkhs_features(K, X, (int)r, (int)d, head->scale, out);
        else
            st = kernel_row_features(K, m->buf + K->boff, pcol, X, (int)r, (int)s, (int)d, head->scale, out);
    }
    free(prow), free(pcol), free(X);
    if (st) {
        free(out);
        return st;
    }
    *phi = out;
    *rows = (int)r;
    *cols = (int)s;
    return LM_OK;
}
#endif
