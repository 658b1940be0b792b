/* The empirical tangent kernel K = J J^T in float64.
 *
 * Gram identity (all-dense nets, docs/theory.md §4.3 and §6): a dense layer y = s W a + b with
 * input activations A (n x a) and output sensitivities D = d f / d y (n x b) contributes
 * s^2 (A A^T) o (D D^T) for W and D D^T for b. One batched forward and one batched backward
 * with the output gradient 1 per sample give every A and D: memory O(n^2 + n * width).
 *
 * Per-sample (any model): single-sample gradient rows in blocks G (B x p) that fit the memory
 * cap; K_IJ = G_I G_J^T. When all n rows fit, one pass and K in row blocks of 64; otherwise a
 * block I is held while every later block J is recomputed.
 *
 * Over several processes (an injected collective) each does a share of either and K is summed
 * across them, each entry from the one process that formed it: bit-identical to one process. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- per-sample gradients ---- */

typedef struct {
    const lm_pnet *net;
    lm_exec_f64 *e;
    const double *x;
    double *gz;
    long passes;
} rows_ctx;

/* Gradient rows of output k for samples [i0, i0 + b) into G (b x p). */
static void grad_rows(rows_ctx *c, int k, int i0, int b, double *G)
{
    size_t p = c->net->np;
    memset(c->gz, 0, c->net->K * sizeof *c->gz);
    c->gz[k] = 1;
    for (int i = 0; i < b; i++) {
        lm_forward_f64(c->e, c->x + (size_t)(i0 + i) * c->net->nin, 1, c->net->mode, NULL);
        lm_backward_f64(c->e, c->gz, G + (size_t)i * p, NULL, NULL, NULL);
        c->passes++;
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

/* K's lower triangle += G G^T, G holding all n gradient rows (n x p), in the row blocks of
 * PRODUCT_ROWS that this process owns (a dsyrk for the diagonal block, a dgemm left of it): the
 * same BLAS calls whatever the number of processes. */
static void rows_product(const double *G, int n, size_t p, int rank, int ranks, double *K)
{
    for (int b = 0, i0 = 0; i0 < n; b++, i0 += PRODUCT_ROWS) {
        if (block_owner(b, ranks) != rank) continue;
        int rows = n - i0 < PRODUCT_ROWS ? n - i0 : PRODUCT_ROWS;
        const double *Gi = G + (size_t)i0 * p;
        cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, rows, (int)p, 1.0, Gi, (int)p, 1.0, K + (size_t)i0 * n + i0, n);
        if (i0)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, i0, (int)p, 1.0, Gi, (int)p, G, (int)p, 1.0,
                        K + (size_t)i0 * n, n);
    }
}

/* Every gradient row fits: process r computes the rows of its share of the inputs, the rows
 * are gathered, and each process forms its row blocks of K. */
static lm_status per_sample_whole(rows_ctx *c, int n, int k, const lm_collective *coll, const size_t *lo, double *G,
                                  double *K)
{
    size_t p = c->net->np;
    int rank = lm_coll_rank(coll);
    grad_rows(c, k, (int)lo[rank], (int)(lo[rank + 1] - lo[rank]), G + lo[rank] * p);
    lm_status st = lm_coll_gather_rows(coll, G, p, lo);
    if (!st) rows_product(G, n, p, rank, lm_coll_size(coll), K);
    return st;
}

/* Blocks of B < n rows: block row I (every ranks-th one is this process's) holds G_I while
 * every later block J is recomputed. */
static void per_sample_blocked(rows_ctx *c, int n, int k, int B, int rank, int ranks, double *GI, double *GJ,
                               double *K)
{
    size_t p = c->net->np;
    for (int i0 = rank * B; i0 < n; i0 += ranks * B) {
        int bi = n - i0 < B ? n - i0 : B;
        grad_rows(c, k, i0, bi, GI);
        cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, bi, (int)p, 1.0, GI, (int)p, 1.0, K + (size_t)i0 * n + i0, n);
        for (int j0 = i0 + bi; j0 < n; j0 += B) {
            int bj = n - j0 < B ? n - j0 : B;
            grad_rows(c, k, j0, bj, GJ);
            /* K[j0.., i0..] += G_J G_I^T (lower triangle) */
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, bj, bi, (int)p, 1.0, GJ, (int)p, GI, (int)p, 1.0,
                        K + (size_t)j0 * n + i0, n);
        }
    }
}

static lm_status ntk_per_sample(const lm_pnet *net, const double *x, int n, double *K, size_t cap,
                                lm_ntk_info *info, const lm_collective *coll)
{
    size_t p = net->np, row = p * sizeof(double), kbytes = (size_t)n * n * sizeof(double);
    int B;
    if (cap >= kbytes + (size_t)n * row) B = n;
    else if (cap >= kbytes + 2 * row) B = (int)((cap - kbytes) / (2 * row));
    else
        return lm_fail(LM_ENOMEM, "tangent kernel: per-sample gradients need at least %zu bytes for %d inputs "
                                  "and %zu parameters (the cap is %zu)", kbytes + 2 * row, n, p, cap);
    if (B > n) B = n;
    int rank = lm_coll_rank(coll), ranks = lm_coll_size(coll);
    /* MPI counts are ints: gathering more than 2^31 - 1 values takes the blocked scheme */
    if (B == n && ranks > 1 && (size_t)n * p > 2147483647u) B = (n + 1) / 2;
    if ((net->mode != LM_MODE_EVAL) && (has_kind(&net->m->top, L_BN) || has_kind(&net->m->top, L_DROPOUT)))
        return lm_fail(LM_EINVAL, "tangent kernel: per-sample gradients of a model with batch norm or dropout "
                                  "need the evaluation mode");
    rows_ctx c = {net, NULL, x, NULL, 0};
    lm_status st = lm_exec_create_f64(net->m, 1, 0, &c.e);
    double *GI = malloc((size_t)B * row), *GJ = B < n ? malloc((size_t)B * row) : NULL;
    size_t *lo = malloc((size_t)(ranks + 1) * sizeof *lo);
    c.gz = malloc(net->K * sizeof *c.gz);
    if (!st && (!GI || (B < n && !GJ) || !c.gz || !lo))
        st = lm_fail(LM_ENOMEM, "tangent kernel: out of memory for %d gradient rows", B);
    st = lm_coll_agree(coll, st); /* every process goes on, or none */
    int k0, k1;
    lm_pnet_outputs(net, &k0, &k1);
    if (!st) {
        lm_exec_bind_f64(c.e, net->w, net->buf);
        memset(K, 0, kbytes);
        lm_coll_bounds(coll, n, lo);
    }
    for (int k = k0; !st && k < k1; k++) {
        if (B == n) st = per_sample_whole(&c, n, k, coll, lo, GI, K);
        else per_sample_blocked(&c, n, k, B, rank, ranks, GI, GJ, K);
    }
    /* each entry comes from one process, the others add exact zeros */
    if (!st) st = lm_coll_sum(coll, K, (size_t)n * n);
    if (!st) mirror_lower(K, n);
    if (info) {
        info->block = B;
        info->passes = c.passes;
        info->bytes = kbytes + (size_t)(B < n ? 2 : 1) * B * row;
    }
    free(GI), free(GJ), free(c.gz), free(lo);
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
    int gram = lm_ntk_gram_applies(m);
    lm_ntk_method method = o->method == LM_NTK_AUTO ? (gram ? LM_NTK_GRAM : LM_NTK_PER_SAMPLE) : o->method;
    if (method == LM_NTK_GRAM && !gram)
        return lm_fail(LM_EINVAL, "tangent kernel: the Gram identity needs a network of dense, flatten, "
                                  "activation and dropout layers only; '%s' has others (use per-sample)", m->spec);
    if (method != LM_NTK_GRAM && method != LM_NTK_PER_SAMPLE)
        return lm_fail(LM_EINVAL, "tangent kernel: unknown method %d", (int)o->method);
    lm_pnet net;
    lm_status st = lm_pnet_init(&net, m, &o->net);
    if (st) return lm_fail_context(st, "tangent kernel");
    info->method = method;
    if (method == LM_NTK_GRAM) {
        info->bytes = gram_bytes(m, n);
        if (info->bytes > cap)
            st = lm_fail(LM_ENOMEM, "tangent kernel: the Gram identity needs %zu bytes for %d inputs (the cap is %zu)",
                         info->bytes, n, cap);
        else
            st = ntk_gram(&net, x, n, K, lm_coll_active(o->coll));
    } else {
        st = ntk_per_sample(&net, x, n, K, cap, info, lm_coll_active(o->coll));
    }
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
    double *Kn = K ? K : malloc((size_t)n * n * sizeof *Kn);
    lm_status st = Kn ? LM_OK : lm_fail(LM_ENOMEM, "tangent kernel: out of memory for a %d x %d kernel", n, n);
    st = lm_coll_agree(o ? o->coll : NULL, st); /* every process goes on, or none */
    if (!st) st = lm_probe_ntk(m, x, n, o, Kn, info);
    if (!st) st = lm_kernel_spectrum(Kn, n, s, evals);
    if (!K) free(Kn);
    return st;
}
