/* The empirical tangent kernel K = J J^T in float64.
 *
 * Gram identity (all-dense nets, docs/theory.md §4.3 and §6): a dense layer y = s W a + b with
 * input activations A (n x a) and output sensitivities D = d f / d y (n x b) contributes
 * s^2 (A A^T) o (D D^T) for W and D D^T for b. One batched forward and one batched backward
 * with the output gradient 1 per sample give every A and D: memory O(n^2 + n * width).
 *
 * Per-sample (any model): per-sample gradient rows, from batched forward and backward passes
 * (lm_exec_sample_grads), in blocks G (B x p) that fit the memory cap; K_IJ = G_I G_J^T. When
 * all n rows fit, one pass and K in row blocks of 64; otherwise a block I is held while every
 * later block J is recomputed.
 *
 * Layerwise (any model; the default where the Gram identity does not apply): the same blocks, of
 * shorter rows: per sample, the gradients of the layers other than dense ones, and each dense
 * layer's input and output sensitivity; K_IJ = G_I G_J^T plus every dense layer's Gram term.
 * A CNN's rows are then its convolutions' few parameters and its dense layers' widths, instead
 * of the whole gradient.
 *
 * The block kernel (docs/theory.md §7.9), nK x nK, is the same with a row per (input, output):
 * per-sample gradient rows of every output, or the Gram identity with every output's
 * sensitivities kept, K[iK+k][jK+l] += (s^2 <a_i, a_j> + [bias]) <d_ik, d_jl>.
 *
 * Over several processes (an injected collective) each does a share of either and K is summed
 * across them, each entry from the one process that formed it: bit-identical to one process. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/sensitivity.h"
#include "probe/probe_internal.h"

static int layer_ok_for_gram(const lm_layer *L)
{
    return L->kind == L_DENSE || L->kind == L_FLATTEN || L->kind == L_ACT || L->kind == L_DROPOUT;
}

int lm_ntk_gram_applies(const lm_model *m)
{
    int dense = 0;
    for (int i = 0; i < m->top.n; i++) {
        if (!layer_ok_for_gram(&m->top.layers[i])) return 0;
        dense += m->top.layers[i].kind == L_DENSE;
    }
    return dense > 0;
}

static int has_kind(const lm_seq *s, lm_layer_kind kind)
{
    for (int i = 0; i < s->n; i++) {
        const lm_layer *L = &s->layers[i];
        if (L->kind == kind && (kind != L_DROPOUT || L->dropout.p > 0)) return 1;
        if (has_kind(&L->branch[0], kind) || has_kind(&L->branch[1], kind)) return 1;
    }
    return 0;
}

lm_status lm_ntk_check_mode(const lm_pnet *net)
{
    if (net->mode != LM_MODE_EVAL && (has_kind(&net->m->top, L_BN) || has_kind(&net->m->top, L_DROPOUT)))
        return lm_fail(LM_EINVAL, "tangent kernel: per-sample gradients of a model with batch norm or dropout "
                                  "need the evaluation mode");
    return LM_OK;
}

size_t lm_ntk_dim(const lm_model *m, int n, const lm_ntk_opts *o)
{
    return (size_t)n * (o && o->block ? lm_shape_numel(m->out) : 1);
}

/* Mirror the lower triangle of the row-major n x n matrix K into the upper one. */
static void mirror_lower(double *K, int n)
{
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) K[(size_t)i * n + j] = K[(size_t)j * n + i];
}

/* ---- Gram identity ---- */

enum { GRAM_ROWS = 256 }; /* rows of the Gram matrices formed at once */

typedef struct {
    int n;
    int rank, ranks; /* this process forms row blocks rank, rank + ranks, ... */
    double *K;       /* lower triangle accumulates */
    double *GA, *GD; /* GRAM_ROWS x n scratch */
} gram_ctx;

/* K[i][j] += (s^2 <a_i, a_j> + [bias]) <d_i, d_j> for j <= i, a block of rows at a time. */
static void gram_layer(void *vctx, const lm_layer *L, int n, const double *A, const double *D)
{
    gram_ctx *c = vctx;
    int a = (int)lm_shape_numel(L->in), b = L->dense.units;
    double s2 = L->scale * L->scale, bias = L->dense.bias ? 1.0 : 0.0;
    for (int i0 = c->rank * GRAM_ROWS; i0 < n; i0 += c->ranks * GRAM_ROWS) {
        int rows = n - i0 < GRAM_ROWS ? n - i0 : GRAM_ROWS, cols = i0 + rows;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, cols, a, 1.0, A + (size_t)i0 * a, a, A, a,
                    0.0, c->GA, cols);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, cols, b, 1.0, D + (size_t)i0 * b, b, D, b,
                    0.0, c->GD, cols);
        for (int r = 0; r < rows; r++) {
            double *Ki = c->K + (size_t)(i0 + r) * n;
            const double *ga = c->GA + (size_t)r * cols, *gd = c->GD + (size_t)r * cols;
            for (int j = 0; j <= i0 + r; j++) Ki[j] += (s2 * ga[j] + bias) * gd[j];
        }
    }
}

static size_t gram_bytes(const lm_model *m, int n)
{
    size_t acts = 0, widest = lm_shape_numel(m->in), rows = n < GRAM_ROWS ? (size_t)n : GRAM_ROWS;
    for (int i = 0; i < m->top.n; i++) {
        size_t o = lm_shape_numel(m->top.layers[i].out);
        acts += o;
        if (o > widest) widest = o;
    }
    /* K and two row blocks of Gram matrices; activations, the executor's four gradient
     * buffers and gz */
    return ((size_t)n * n + 2 * rows * n + (size_t)n * (acts + 4 * widest + lm_shape_numel(m->out))) *
           sizeof(double);
}

static lm_status ntk_gram(const lm_pnet *net, const double *x, int n, double *K, const lm_collective *coll)
{
    lm_exec_f64 *e = NULL;
    lm_status st = lm_exec_create_f64(net->m, n, 0, &e);
    int k0, k1, Kout = net->K;
    lm_pnet_outputs(net, &k0, &k1);
    size_t rows = n < GRAM_ROWS ? (size_t)n : GRAM_ROWS;
    gram_ctx c = {n, lm_coll_rank(coll), lm_coll_size(coll), K, malloc(rows * n * sizeof(double)),
                  malloc(rows * n * sizeof(double))};
    double *gz = calloc((size_t)n * Kout, sizeof *gz);
    if (!st && (!c.GA || !c.GD || !gz)) st = lm_fail(LM_ENOMEM, "tangent kernel: out of memory for %d inputs", n);
    st = lm_coll_agree(coll, st); /* every process goes on, or none */
    if (!st) {
        lm_exec_bind_f64(e, net->w, net->buf);
        memset(K, 0, (size_t)n * n * sizeof *K);
        lm_forward_f64(e, x, n, net->mode, NULL);
        for (int k = k0; k < k1; k++) { /* the output gradient: 1 at output k of every sample */
            for (int i = 0; i < n; i++) {
                if (k > k0) gz[(size_t)i * Kout + k - 1] = 0;
                gz[(size_t)i * Kout + k] = 1;
            }
            lm_exec_dense_sensitivities_f64(e, gz, gram_layer, &c);
        }
        /* each entry comes from one process, the others add exact zeros */
        st = lm_coll_sum(coll, K, (size_t)n * n);
        if (!st) mirror_lower(K, n);
    }
    free(c.GA), free(c.GD), free(gz);
    lm_exec_free_f64(e);
    return st;
}

/* The block kernel by the Gram identity: one sensitivity pass per output, every dense layer's
 * sensitivities kept (K blocks of n x units), then per layer and output pair (k, l) the rows this
 * process owns: K[iK+k][jK+l] += (s^2 <a_i, a_j> + [bias]) <d_ik, d_jl>. */
typedef struct {
    int n, K, nl, out, seen;
    const lm_layer **L;  /* the dense layers, in callback order (the last one first) */
    const double **A;    /* their input activations (the executor's, valid after the forward) */
    double **D;          /* their sensitivities: output k's n x units block at k n units */
} gram_block_ctx;

static void gram_block_store(void *vctx, const lm_layer *L, int n, const double *A, const double *D)
{
    gram_block_ctx *c = vctx;
    int l = c->seen++;
    c->L[l] = L, c->A[l] = A;
    memcpy(c->D[l] + (size_t)c->out * n * L->dense.units, D, (size_t)n * L->dense.units * sizeof *D);
}

static void gram_block_layer(const gram_block_ctx *c, int l, int rank, int ranks, double *GA, double *GD, double *Kb)
{
    const lm_layer *L = c->L[l];
    int n = c->n, K = c->K, a = (int)lm_shape_numel(L->in), b = L->dense.units;
    size_t N = (size_t)n * K;
    double s2 = L->scale * L->scale, bias = L->dense.bias ? 1.0 : 0.0;
    for (int i0 = rank * GRAM_ROWS; i0 < n; i0 += ranks * GRAM_ROWS) {
        int rows = n - i0 < GRAM_ROWS ? n - i0 : GRAM_ROWS;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, n, a, 1.0, c->A[l] + (size_t)i0 * a, a, c->A[l], a,
                    0.0, GA, n);
        for (int k = 0; k < K; k++)
            for (int k2 = 0; k2 < K; k2++) {
                const double *Dk = c->D[l] + (size_t)k * n * b, *Dl = c->D[l] + (size_t)k2 * n * b;
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, n, b, 1.0, Dk + (size_t)i0 * b, b, Dl, b, 0.0,
                            GD, n);
                for (int r = 0; r < rows; r++) {
                    double *row = Kb + ((size_t)(i0 + r) * K + k) * N + k2;
                    const double *ga = GA + (size_t)r * n, *gd = GD + (size_t)r * n;
                    for (int j = 0; j < n; j++) row[(size_t)j * K] += (s2 * ga[j] + bias) * gd[j];
                }
            }
    }
}

static size_t gram_block_bytes(const lm_model *m, int n)
{
    size_t K = lm_shape_numel(m->out), N = (size_t)n * K, kept = 0;
    for (int i = 0; i < m->top.n; i++)
        if (m->top.layers[i].kind == L_DENSE) kept += K * (size_t)n * m->top.layers[i].dense.units;
    size_t rows = n < GRAM_ROWS ? (size_t)n : GRAM_ROWS;
    return gram_bytes(m, n) - (size_t)n * n * sizeof(double) + (N * N + kept + rows * n) * sizeof(double);
}

static lm_status ntk_gram_block(const lm_pnet *net, const double *x, int n, double *Kb, const lm_collective *coll)
{
    const lm_model *m = net->m;
    int K = net->K, nl = 0;
    for (int i = 0; i < m->top.n; i++) nl += m->top.layers[i].kind == L_DENSE;
    gram_block_ctx c = {n, K, nl, 0, 0, calloc(nl, sizeof *c.L), calloc(nl, sizeof *c.A), calloc(nl, sizeof *c.D)};
    lm_exec_f64 *e = NULL;
    lm_status st = lm_exec_create_f64(m, n, 0, &e);
    size_t rows = n < GRAM_ROWS ? (size_t)n : GRAM_ROWS;
    double *GA = malloc(rows * n * sizeof *GA), *GD = malloc(rows * n * sizeof *GD), *gz = calloc((size_t)n * K, sizeof *gz);
    int ok = c.L && c.A && c.D && GA && GD && gz;
    for (int i = m->top.n - 1, l = 0; ok && i >= 0; i--) /* the callback's order: the last layer first */
        if (m->top.layers[i].kind == L_DENSE)
            ok = (c.D[l++] = malloc((size_t)K * n * m->top.layers[i].dense.units * sizeof(double))) != NULL;
    if (!st && !ok) st = lm_fail(LM_ENOMEM, "block tangent kernel: out of memory for %d inputs and %d outputs", n, K);
    st = lm_coll_agree(coll, st);
    if (!st) {
        lm_exec_bind_f64(e, net->w, net->buf);
        lm_forward_f64(e, x, n, net->mode, NULL);
        for (c.out = 0; c.out < K; c.out++) {
            for (int i = 0; i < n; i++) {
                if (c.out) gz[(size_t)i * K + c.out - 1] = 0;
                gz[(size_t)i * K + c.out] = 1;
            }
            c.seen = 0;
            lm_exec_dense_sensitivities_f64(e, gz, gram_block_store, &c);
        }
        size_t N = (size_t)n * K;
        memset(Kb, 0, N * N * sizeof *Kb);
        for (int l = 0; l < nl; l++) gram_block_layer(&c, l, lm_coll_rank(coll), lm_coll_size(coll), GA, GD, Kb);
        st = lm_coll_sum(coll, Kb, N * N); /* each entry from one process, the others add zeros */
        if (!st) mirror_lower(Kb, (int)N);
    }
    for (int l = 0; c.D && l < nl; l++) free(c.D[l]);
    free(c.L), free(c.A), free(c.D), free(GA), free(GD), free(gz);
    lm_exec_free_f64(e);
    return st;
}

/* ---- per-sample gradients ---- */

enum { SAMPLE_BATCH = 8 }; /* samples per batched forward and backward pass */

/* Layerwise rows: per sample, each dense layer's input a and output sensitivity d (its Gram
 * identity term s^2 <a_i, a_j> <d_i, d_j> + [bias] <d_i, d_j>), and every other parameter's
 * gradient g, first: K_ij = <g_i, g_j> + the dense terms. */
typedef struct {
    const lm_layer *L;
    size_t off;     /* dense: a at off, d at off + in; others: g at off */
} feat_seg;

typedef struct {
    feat_seg *seg;
    int count;
    size_t q, q_grad; /* values per row; of them the gradients of the non-dense layers (first) */
} feat_plan;

typedef struct {
    const lm_pnet *net;
    lm_exec_f64 *e;    /* for batches of up to `batch` samples */
    const double *x;
    double *gz;        /* batch x K */
    int batch;
    long passes;       /* rows formed */
    const feat_plan *fp; /* layerwise rows, or NULL: whole gradient rows */
    size_t q;          /* values per row: p, or fp->q */
    double *GA, *GD;   /* layerwise: 2 blocks of products */
    int block;         /* rows are (input, output) pairs: row r is output r % K of input r / K */
    int forwarded;     /* block: the input of the executor's last forward (-1: none) */
} rows_ctx;

/* Appends the segments of s's parameter layers, the non-dense ones when `dense` is 0, else
 * the dense ones (seg NULL: counts only) */
static void plan_layers(const lm_seq *s, int dense, feat_plan *fp)
{
    for (int i = 0; i < s->n; i++) {
        const lm_layer *L = &s->layers[i];
        for (int b = 0; b < 2; b++) plan_layers(&L->branch[b], dense, fp);
        if (!L->np || L->branch[0].n || L->branch[1].n || (L->kind == L_DENSE) != dense) continue;
        if (fp->seg) fp->seg[fp->count] = (feat_seg){L, fp->q};
        fp->count++;
        fp->q += dense ? lm_shape_numel(L->in) + (size_t)L->dense.units : L->np;
    }
}

static lm_status feat_plan_make(const lm_model *m, feat_plan *fp)
{
    memset(fp, 0, sizeof *fp);
    plan_layers(&m->top, 0, fp);
    plan_layers(&m->top, 1, fp);
    fp->seg = malloc((fp->count ? fp->count : 1) * sizeof *fp->seg);
    if (!fp->seg) return lm_fail(LM_ENOMEM, "tangent kernel: out of memory");
    fp->count = 0, fp->q = 0;
    plan_layers(&m->top, 0, fp);
    fp->q_grad = fp->q;
    plan_layers(&m->top, 1, fp);
    return LM_OK;
}

typedef struct {
    const feat_plan *fp;
    double *F; /* the batch's rows */
    lm_status st;
} feat_hook;

static void feat_of_layer(void *ctx, const lm_sens_f64 *s)
{
    feat_hook *h = ctx;
    const feat_plan *fp = h->fp;
    int at = 0;
    while (at < fp->count && fp->seg[at].L != s->L) at++;
    if (h->st || at == fp->count) return;
    double *F = h->F + fp->seg[at].off;
    if (s->L->kind != L_DENSE) {
        h->st = lm_layer_sample_grads_f64(s, F, fp->q);
        return;
    }
    size_t in = lm_shape_numel(s->L->in), out = (size_t)s->L->dense.units;
    for (int i = 0; i < s->n; i++) {
        memcpy(F + i * fp->q, s->x + i * in, in * sizeof *F);
        memcpy(F + i * fp->q + in, s->gy + i * out, out * sizeof *F);
    }
}

/* One backward pass of the m samples of the executor's last forward, with output gradients
 * c->gz (m x K), into rows (m x q): per-sample gradients, or layerwise rows. */
static lm_status rows_backward(rows_ctx *c, double *rows)
{
    lm_status st;
    if (c->fp) {
        feat_hook h = {c->fp, rows, LM_OK};
        lm_exec_set_sens_hook_f64(c->e, feat_of_layer, &h);
        lm_exec_sens_backward_f64(c->e, c->gz);
        lm_exec_set_sens_hook_f64(c->e, NULL, NULL);
        st = h.st;
    } else {
        st = lm_exec_sample_grads_f64(c->e, c->gz, rows, c->q);
    }
    return st ? lm_fail_context(st, "tangent kernel") : LM_OK;
}

/* Block kernel rows [r0, r0 + b): row r is output r % K of input r / K, one sample a pass. */
static lm_status block_rows(rows_ctx *c, int r0, int b, double *G)
{
    int K = c->net->K;
    for (int r = r0; r < r0 + b; r++) {
        int i = r / K;
        if (i != c->forwarded) lm_forward_f64(c->e, c->x + (size_t)i * c->net->nin, 1, c->net->mode, NULL);
        c->forwarded = i;
        memset(c->gz, 0, (size_t)K * sizeof *c->gz);
        c->gz[r % K] = 1;
        lm_status st = rows_backward(c, G + (size_t)(r - r0) * c->q);
        if (st) return st;
        c->passes++;
    }
    return LM_OK;
}

/* Rows [r0, r0 + b) into G (b x q): of output k for samples r0.. (per-sample gradients or
 * layerwise rows, one batched forward and backward pass per `batch` samples), or of the block
 * kernel. */
static lm_status grad_rows(rows_ctx *c, int k, int r0, int b, double *G)
{
    if (c->block) return block_rows(c, r0, b, G);
    int K = c->net->K;
    memset(c->gz, 0, (size_t)c->batch * K * sizeof *c->gz);
    for (int i = 0; i < c->batch; i++) c->gz[(size_t)i * K + k] = 1;
    for (int j = 0; j < b; j += c->batch) {
        int m = b - j < c->batch ? b - j : c->batch;
        lm_forward_f64(c->e, c->x + (size_t)(r0 + j) * c->net->nin, m, c->net->mode, NULL);
        lm_status st = rows_backward(c, G + (size_t)j * c->q);
        if (st) return st;
        c->passes += m;
    }
    return LM_OK;
}

/* Kb (bi x bj, leading dimension ldk) += the kernel between rows GI and GJ: G_I G_J^T, or
 * layerwise the gradients' products and each dense layer's (s^2 A_I A_J^T + [bias]) o (D_I D_J^T).
 * lower: Kb is on K's diagonal, where only its lower triangle is needed (the upper one is
 * mirrored from it at the end, so layerwise products fill the whole block). */
static void block_product(const rows_ctx *c, const double *GI, int bi, const double *GJ, int bj, double *Kb, int ldk,
                          int lower)
{
    int q = (int)c->q;
    const feat_plan *fp = c->fp;
    if (!fp && lower) {
        cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, bi, q, 1.0, GI, q, 1.0, Kb, ldk);
        return;
    }
    int qg = fp ? (int)fp->q_grad : q;
    if (qg) cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, bi, bj, qg, 1.0, GI, q, GJ, q, 1.0, Kb, ldk);
    for (int l = 0; fp && l < fp->count; l++) {
        const lm_layer *L = fp->seg[l].L;
        if (L->kind != L_DENSE) continue;
        int in = (int)lm_shape_numel(L->in), out = L->dense.units;
        size_t a = fp->seg[l].off, d = a + (size_t)in;
        double s2 = L->scale * L->scale, bias = L->dense.bias ? 1.0 : 0.0;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, bi, bj, in, 1.0, GI + a, q, GJ + a, q, 0.0, c->GA, bj);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, bi, bj, out, 1.0, GI + d, q, GJ + d, q, 0.0, c->GD, bj);
        for (int r = 0; r < bi; r++)
            for (int t = 0; t < bj; t++)
                Kb[(size_t)r * ldk + t] += (s2 * c->GA[(size_t)r * bj + t] + bias) * c->GD[(size_t)r * bj + t];
    }
}

enum { PRODUCT_ROWS = 64 }; /* rows of K formed at once from gathered gradient rows */

/* The process that forms row block b of K: blocks go out in snake order (0 1 .. R-1 R-1 .. 1 0
 * 0 1 ..), which balances the triangle's growing rows across the processes. */
static int block_owner(int b, int ranks)
{
    int c = b % (2 * ranks);
    return c < ranks ? c : 2 * ranks - 1 - c;
}

/* K's lower triangle += G G^T, G holding all n rows (n x q), in the row blocks of PRODUCT_ROWS
 * that this process owns (the diagonal block, and the block left of it): the same BLAS calls
 * whatever the number of processes. */
static void rows_product(const rows_ctx *c, const double *G, int n, int rank, int ranks, double *K)
{
    for (int b = 0, i0 = 0; i0 < n; b++, i0 += PRODUCT_ROWS) {
        if (block_owner(b, ranks) != rank) continue;
        int rows = n - i0 < PRODUCT_ROWS ? n - i0 : PRODUCT_ROWS;
        const double *Gi = G + (size_t)i0 * c->q;
        block_product(c, Gi, rows, Gi, rows, K + (size_t)i0 * n + i0, n, 1);
        if (i0) block_product(c, Gi, rows, G, i0, K + (size_t)i0 * n, n, 0);
    }
}

/* Every gradient row fits: process r computes the rows of its share of the inputs, the rows
 * are gathered, and each process forms its row blocks of K. */
static lm_status per_sample_whole(rows_ctx *c, int n, int k, const lm_collective *coll, const size_t *lo, double *G,
                                  double *K)
{
    int rank = lm_coll_rank(coll);
    lm_status st = grad_rows(c, k, (int)lo[rank], (int)(lo[rank + 1] - lo[rank]), G + lo[rank] * c->q);
    st = lm_coll_agree(coll, st);
    if (!st) st = lm_coll_gather_rows(coll, G, c->q, lo);
    if (!st) rows_product(c, G, n, rank, lm_coll_size(coll), K);
    return st;
}

/* Blocks of B < n rows: block row I (every ranks-th one is this process's) holds G_I while
 * every later block J is recomputed. */
static lm_status per_sample_blocked(rows_ctx *c, int n, int k, int B, int rank, int ranks, double *GI, double *GJ,
                                    double *K)
{
    lm_status st = LM_OK;
    for (int i0 = rank * B; !st && i0 < n; i0 += ranks * B) {
        int bi = n - i0 < B ? n - i0 : B;
        if ((st = grad_rows(c, k, i0, bi, GI))) break;
        block_product(c, GI, bi, GI, bi, K + (size_t)i0 * n + i0, n, 1);
        for (int j0 = i0 + bi; !st && j0 < n; j0 += B) {
            int bj = n - j0 < B ? n - j0 : B;
            if ((st = grad_rows(c, k, j0, bj, GJ))) break;
            block_product(c, GJ, bj, GI, bi, K + (size_t)j0 * n + i0, n, 0); /* K[j0.., i0..] += G_J G_I^T */
        }
    }
    return st;
}

/* Per-sample gradient rows (fp NULL) or layerwise rows (fp); block: a row per (input, output). */
static lm_status ntk_per_sample(const lm_pnet *net, const double *x, int inputs, int block, double *K, size_t cap,
                                lm_ntk_info *info, const lm_collective *coll, const feat_plan *fp)
{
    int n = block ? inputs * net->K : inputs; /* rows of K */
    size_t q = fp ? fp->q : net->np, row = q * sizeof(double), kbytes = (size_t)n * n * sizeof(double);
    const char *what = fp ? "layerwise rows" : "per-sample gradients";
    int B;
    if (cap >= kbytes + (size_t)n * row) B = n;
    else if (cap >= kbytes + 2 * row) B = (int)((cap - kbytes) / (2 * row));
    else
        return lm_fail(LM_ENOMEM, "tangent kernel: %s need at least %zu bytes for %d inputs and %zu %s (the cap is "
                                  "%zu)", what, kbytes + 2 * row, n, q, fp ? "values a row" : "parameters", cap);
    if (B > n) B = n;
    int rank = lm_coll_rank(coll), ranks = lm_coll_size(coll);
    /* MPI counts are ints: gathering more than 2^31 - 1 values takes the blocked scheme */
    if (B == n && ranks > 1 && (size_t)n * q > 2147483647u) B = (n + 1) / 2;
    lm_status st = lm_ntk_check_mode(net);
    if (st) return st;
    rows_ctx c = {net, NULL, x, NULL, B < SAMPLE_BATCH ? B : SAMPLE_BATCH, 0, fp, q, NULL, NULL, block, -1};
    size_t prod = (size_t)(B < n ? B : PRODUCT_ROWS) * (B < n ? B : n); /* the largest block of K formed */
    st = lm_exec_create_f64(net->m, c.batch, 0, &c.e);
    double *GI = malloc((size_t)B * row), *GJ = B < n ? malloc((size_t)B * row) : NULL;
    size_t *lo = malloc((size_t)(ranks + 1) * sizeof *lo);
    c.gz = malloc((size_t)c.batch * net->K * sizeof *c.gz);
    if (fp) {
        c.GA = malloc(prod * sizeof *c.GA);
        c.GD = malloc(prod * sizeof *c.GD);
    }
    if (!st && (!GI || (B < n && !GJ) || !c.gz || !lo || (fp && (!c.GA || !c.GD))))
        st = lm_fail(LM_ENOMEM, "tangent kernel: out of memory for %d rows", B);
    st = lm_coll_agree(coll, st); /* every process goes on, or none */
    int k0, k1;
    lm_pnet_outputs(net, &k0, &k1);
    if (block) k0 = 0, k1 = 1; /* one pass over the (input, output) rows */
    if (!st) {
        lm_exec_bind_f64(c.e, net->w, net->buf);
        memset(K, 0, kbytes);
        /* whole batches per rank: each sample's batched pass is the one of a single process
         * (a row depends, in its last bits, on the batch it is formed in) */
        int batches = (n + c.batch - 1) / c.batch;
        lm_coll_bounds(coll, batches, lo);
        for (int r = 0; r <= ranks; r++) lo[r] = lo[r] * c.batch < (size_t)n ? lo[r] * c.batch : (size_t)n;
    }
    for (int k = k0; !st && k < k1; k++) {
        if (B == n) st = per_sample_whole(&c, n, k, coll, lo, GI, K);
        else st = per_sample_blocked(&c, n, k, B, rank, ranks, GI, GJ, K);
    }
    if (B < n) st = lm_coll_agree(coll, st);
    /* each entry comes from one process, the others add exact zeros */
    if (!st) st = lm_coll_sum(coll, K, (size_t)n * n);
    if (!st) mirror_lower(K, n);
    if (info) {
        info->block = B;
        info->passes = c.passes;
        info->bytes = kbytes + (size_t)(B < n ? 2 : 1) * B * row + (fp ? 2 * prod * sizeof(double) : 0);
    }
    free(GI), free(GJ), free(c.gz), free(lo), free(c.GA), free(c.GD);
    lm_exec_free_f64(c.e);
    return st;
}

lm_status lm_probe_ntk(const lm_model *m, const double *x, int n, const lm_ntk_opts *o, double *K,
                       lm_ntk_info *info)
{
    static const lm_ntk_opts defaults = {0};
    if (!o) o = &defaults;
    lm_ntk_info local;
    if (!info) info = &local;
    memset(info, 0, sizeof *info);
    if (n < 1) return lm_fail(LM_EINVAL, "tangent kernel: %d inputs", n);
    size_t cap = o->mem_cap ? o->mem_cap : (size_t)1 << 30;
    if (o->block && (double)n * lm_shape_numel(m->out) > 2147483647.0)
        return lm_fail(LM_EINVAL, "block tangent kernel: %d inputs x %zu outputs is too many rows", n, lm_shape_numel(m->out));
    int gram = lm_ntk_gram_applies(m);
    lm_ntk_method method = o->method == LM_NTK_AUTO ? (gram ? LM_NTK_GRAM : LM_NTK_LAYERWISE) : o->method;
    if (method == LM_NTK_GRAM && !gram)
        return lm_fail(LM_EINVAL, "tangent kernel: the Gram identity needs a network of dense, flatten, "
                                  "activation and dropout layers only; '%s' has others (use layerwise or per-sample)",
                       m->spec);
    if (method != LM_NTK_GRAM && method != LM_NTK_PER_SAMPLE && method != LM_NTK_LAYERWISE)
        return lm_fail(LM_EINVAL, "tangent kernel: unknown method %d", (int)o->method);
    feat_plan fp = {0};
    if (method == LM_NTK_LAYERWISE) {
        lm_status st = feat_plan_make(m, &fp);
        if (st) return st;
    }
    lm_pnet net;
    lm_status st = lm_pnet_init(&net, m, &o->net);
    if (st) {
        free(fp.seg);
        return lm_fail_context(st, "tangent kernel");
    }
    info->method = method;
    if (method == LM_NTK_GRAM) {
        info->bytes = o->block ? gram_block_bytes(m, n) : gram_bytes(m, n);
        if (info->bytes > cap)
            st = lm_fail(LM_ENOMEM, "tangent kernel: the Gram identity needs %zu bytes for %d inputs (the cap is %zu)",
                         info->bytes, n, cap);
        else if (o->block)
            st = ntk_gram_block(&net, x, n, K, lm_coll_active(o->coll));
        else
            st = ntk_gram(&net, x, n, K, lm_coll_active(o->coll));
    } else {
        st = ntk_per_sample(&net, x, n, o->block, K, cap, info, lm_coll_active(o->coll), fp.seg ? &fp : NULL);
    }
    free(fp.seg);
    lm_pnet_free(&net);
    return st;
}

lm_status lm_kernel_spectrum(const double *K, int n, lm_spectrum *s, double *evals)
{
    memset(s, 0, sizeof *s);
    double *ev = evals ? evals : malloc((size_t)n * sizeof *ev);
    if (!ev) return lm_fail(LM_ENOMEM, "kernel spectrum: out of memory");
    lm_status st = lm_sym_eig(n, K, ev, NULL);
    if (!st) {
        s->lambda_min = ev[0];
        s->lambda_max = ev[n - 1];
        s->cond = ev[0] > 0 ? ev[n - 1] / ev[0] : INFINITY;
        for (int i = 0; i < n; i++) s->trace += K[(size_t)i * n + i];
        s->mean_diag = s->trace / n;
        for (size_t i = 0; i < (size_t)n * n; i++) s->frobenius += K[i] * K[i];
        s->frobenius = sqrt(s->frobenius);
        s->lr_catapult = s->lambda_max > 0 ? 2 / s->lambda_max : INFINITY;
        s->lr_default = s->lambda_max > 0 ? 1 / s->lambda_max : 0;
    }
    if (!evals) free(ev);
    return st;
}

lm_status lm_probe_ntk_spectrum(const lm_model *m, const double *x, int n, const lm_ntk_opts *o,
                                double *K, double *evals, lm_spectrum *s, lm_ntk_info *info)
{
    memset(s, 0, sizeof *s);
    if (n < 1) return lm_fail(LM_EINVAL, "tangent kernel: %d inputs", n);
    size_t N = lm_ntk_dim(m, n, o);
    double *Kn = K ? K : malloc(N * N * sizeof *Kn);
    lm_status st = Kn ? LM_OK : lm_fail(LM_ENOMEM, "tangent kernel: out of memory for a %zu x %zu kernel", N, N);
    st = lm_coll_agree(o ? o->coll : NULL, st); /* every process goes on, or none */
    if (!st) st = lm_probe_ntk(m, x, n, o, Kn, info);
    if (!st) st = lm_kernel_spectrum(Kn, (int)N, s, evals);
    if (!K) free(Kn);
    return st;
}
