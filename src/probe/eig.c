/* Symmetric eigenvalue solvers (docs/theory.md §7.1, §7.4): Lanczos with a residual-bound
 * convergence test (and full reorthogonalization when the basis fits the memory cap), deflation
 * with restarts for several top eigenvalues with their multiplicities, the Lanczos quadrature of
 * the spectral density (§7.5), power iteration, and a dsyevd wrapper for dense matrices. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "linmass/rng.h"
#include "probe/probe_internal.h"

/* Run r's start vector: entries r dim + i of the probe's normal stream, normalised (run 0: the
 * entries 0 .. dim - 1). */
static void random_unit(double *v, size_t dim, uint64_t seed, int run)
{
    double nrm = 0;
    for (size_t i = 0; i < dim; i++) {
        v[i] = lm_rand_normal(seed, LM_STREAM_PROBE + 1, (uint64_t)run * dim + i);
        nrm += v[i] * v[i];
    }
    nrm = sqrt(nrm);
    for (size_t i = 0; i < dim; i++) v[i] /= nrm;
}

/* Ritz values (ascending, in d), the eigenvectors of T (columns of the column-major k x k z)
 * and their last components (in s) of the k x k tridiagonal T = tridiag(beta, alpha, beta). */
static int ritz(int k, const double *alpha, const double *beta, double *d, double *s, double *z, double *work)
{
    double *e = work + (k > 1 ? 2 * k - 2 : 1);
    memcpy(d, alpha, k * sizeof *d);
    if (k > 1) memcpy(e, beta, (k - 1) * sizeof *e);
    int info = 0, ldz = k;
    dstev_("V", &k, d, e, z, &ldz, work, &info, 1);
    for (int j = 0; j < k; j++) s[j] = z[(size_t)j * k + (k - 1)]; /* column-major: z[i + j k] */
    return info;
}

/* w <- (I - A^T A) w for the n orthonormal rows of A (classical Gram-Schmidt). */
static void project_out(const double *A, int n, size_t dim, double *w, double *coef)
{
    if (n <= 0) return;
    cblas_dgemv(CblasRowMajor, CblasNoTrans, n, (int)dim, 1.0, A, (int)dim, w, 1, 0.0, coef, 1);
    cblas_dgemv(CblasRowMajor, CblasTrans, n, (int)dim, -1.0, A, (int)dim, coef, 1, 1.0, w, 1);
}

/* ---- one Lanczos run ---- */

typedef struct {
    size_t dim;
    lm_matvec_fn op;
    void *ctx;
    int m, full;        /* most steps; the whole basis is kept and reorthogonalised against */
    const double *lock; /* nlock orthonormal rows the run stays orthogonal to (deflation) */
    int nlock;
    double *V, *w, *coef, *alpha, *beta, *d, *s, *z, *work;
    int k;              /* steps done: T is k x k */
    double scale;       /* max |Ritz value| */
} lz;

#define LZ_VEC(L, j) ((L)->V + ((L)->full ? (size_t)(j) : (size_t)((j) % 3)) * (L)->dim)

static void lz_free(lz *L)
{
    free(L->V), free(L->w), free(L->coef), free(L->alpha), free(L->beta);
    free(L->d), free(L->s), free(L->z), free(L->work);
    memset(L, 0, sizeof *L);
}

/* Scratch for m steps; ncoef: the most rows projected out at once. */
static lm_status lz_alloc(lz *L, size_t dim, lm_matvec_fn op, void *ctx, int m, int full, int ncoef)
{
    memset(L, 0, sizeof *L);
    L->dim = dim, L->op = op, L->ctx = ctx, L->m = m, L->full = full;
    size_t nvec = full ? (size_t)m + 1 : 3;
    L->V = malloc(nvec * dim * sizeof *L->V);
    L->w = malloc(dim * sizeof *L->w);
    L->coef = malloc((size_t)(ncoef > m + 1 ? ncoef : m + 1) * sizeof *L->coef);
    L->alpha = malloc(m * sizeof *L->alpha), L->beta = malloc(m * sizeof *L->beta);
    L->d = malloc(m * sizeof *L->d), L->s = malloc(m * sizeof *L->s);
    L->z = malloc((size_t)m * m * sizeof *L->z), L->work = malloc((4 * (size_t)m + 2) * sizeof *L->work);
    if (L->V && L->w && L->coef && L->alpha && L->beta && L->d && L->s && L->z && L->work) return LM_OK;
    lz_free(L);
    return lm_fail(LM_ENOMEM, "lanczos: out of memory for %zu vectors of %zu", nvec, dim);
}

/* The residual bound of Ritz pair j, beta_k |s_j| (docs/theory.md §7.1). */
static double lz_resid(const lz *L, int j) { return fabs(L->beta[L->k - 1] * L->s[j]); }

/* Ritz vector j, V^T z_j (full basis only). */
static void lz_ritz_vector(const lz *L, int j, double *y)
{
    cblas_dgemv(CblasRowMajor, CblasTrans, L->k, (int)L->dim, 1.0, L->V, (int)L->dim, L->z + (size_t)j * L->k, 1,
                0.0, y, 1);
}

/* What a run must converge before it stops early: the top want_top Ritz values (< 0: none, run
 * every step) down to the first at or below floor (the largest always), the Ritz value of largest
 * magnitude (norm) and the smallest (min). */
typedef struct {
    int top;
    double floor;
    int norm, min;
    double tol;
    double lower; /* a lower bound of the spectrum (restarts: minus the first run's norm) */
} lz_want;

/* A restart's floor test (docs/theory.md §7.4): no eigenvalue at or above the floor F is left when
 * the run's largest Ritz value theta is below F and an eigenvalue at F or above could stay hidden
 * only with a start-vector component c^2 < eps, eps (dim - locked) <= 1e-10: the Rayleigh quotient
 * of T_{k-1}-filtered start vectors gives eps = (b - l) / ((F - b) T_{k-1}(1 + 2 (F - b) / (b - l))^2)
 * with b = (theta + F) / 2 and l a lower bound of the spectrum. */
static int nothing_above(const lz *L, double F, double l)
{
    double theta = L->d[L->k - 1];
    if (!(theta < F) || L->k < 2) return 0;
    double b = 0.5 * (theta + F), g = (F - b) / (b - l);
    double log_t = (L->k - 1) * acosh(1 + 2 * g) - log(2.0); /* T_m(x) >= exp(m acosh x) / 2 */
    double log_eps = log((b - l) / (F - b)) - 2 * log_t;
    return log_eps + log((double)(L->dim - (size_t)L->nlock)) <= log(1e-10);
}

/* Whether the run may stop: every wanted Ritz value has residual bound <= tol max|theta|. */
static int lz_done(const lz *L, const lz_want *w)
{
    if (w->top < 0) return 0;
    int k = L->k, inorm = fabs(L->d[0]) > fabs(L->d[k - 1]) ? 0 : k - 1;
    double lim = w->tol * L->scale;
    if (w->floor > -INFINITY && nothing_above(L, w->floor, w->lower)) return 1;
    int ok = (!w->norm || lz_resid(L, inorm) <= lim) && (!w->min || lz_resid(L, 0) <= lim);
    int t = 0;
    for (; t < w->top && t < k && (t == 0 || L->d[k - 1 - t] > w->floor); t++) ok = ok && lz_resid(L, k - 1 - t) <= lim;
    /* enough Ritz values: top_k of them, one at or below the floor, or the whole space */
    return ok && (t == w->top || t < k || (size_t)k + L->nlock >= L->dim);
}

/* Up to m steps from the unit vector v0 (orthogonal to the locked rows); stops early when
 * lz_done or when the Krylov space closes. *conv: 1 when it stopped on either. */
static lm_status lz_run(lz *L, const double *v0, const lz_want *want, int *conv)
{
    size_t dim = L->dim;
    double gersh = 0; /* Gershgorin's bound on ||T||, the scale of the breakdown test */
    *conv = 0;
    L->k = 0;
    cblas_dcopy((int)dim, v0, 1, L->V, 1);
    for (int j = 0; j < L->m; j++) {
        double *vj = LZ_VEC(L, j), *w = L->w;
        L->op(L->ctx, vj, w);
        L->k = j + 1;
        L->alpha[j] = cblas_ddot((int)dim, vj, 1, w, 1);
        cblas_daxpy((int)dim, -L->alpha[j], vj, 1, w, 1);
        if (j) cblas_daxpy((int)dim, -L->beta[j - 1], LZ_VEC(L, j - 1), 1, w, 1);
        for (int pass = 0; L->full && pass < 2; pass++) { /* classical Gram-Schmidt, twice */
            project_out(L->V, j + 1, dim, w, L->coef);
            project_out(L->lock, L->nlock, dim, w, L->coef);
        }
        L->beta[j] = cblas_dnrm2((int)dim, w, 1);
        if (!isfinite(L->beta[j]) || !isfinite(L->alpha[j]))
            return lm_fail(LM_EDIVERGED, "lanczos: the operator returned NaN or Inf at step %d", L->k);
        gersh = fmax(gersh, fabs(L->alpha[j]) + (j ? L->beta[j - 1] : 0));
        /* an invariant subspace, to rounding (full reorthogonalization leaves beta ~ 1e-14 ||T||
         * where exact arithmetic gives 0) */
        int closed = L->beta[j] <= 1e-12 * gersh;
        /* T's eigen-decomposition costs O(k^3): the convergence test runs at every step up to 30,
         * then every ceil(k / 10) steps (at most 10% more steps than needed), and at the end */
        int k = L->k, test = want->top >= 0 && (k <= 30 || k % ((k + 9) / 10) == 0);
        if (closed || test || k == L->m) {
            if (ritz(k, L->alpha, L->beta, L->d, L->s, L->z, L->work))
                return lm_fail(LM_EINVAL, "lanczos: the tridiagonal eigensolver failed at step %d", k);
            L->scale = fmax(fabs(L->d[0]), fabs(L->d[k - 1]));
            if (closed || lz_done(L, want)) {
                *conv = 1;
                return LM_OK;
            }
        }
        if (j + 1 < L->m) {
            cblas_dcopy((int)dim, w, 1, LZ_VEC(L, j + 1), 1);
            cblas_dscal((int)dim, 1.0 / L->beta[j], LZ_VEC(L, j + 1), 1);
        }
    }
    return LM_OK;
}

/* ---- the extreme eigenvalues ---- */

/* The Lanczos steps m, the eigenvalues wanted, whether the basis is kept for full
 * reorthogonalization and the vectors deflation locks (top_k > 1), from the options and the
 * memory cap. */
static lm_status lanczos_plan(size_t dim, const lm_eig_opts *o, int *steps, int *top, int *full_out, int *maxlock)
{
    int m = o->max_steps > 0 ? o->max_steps : 100;
    if ((size_t)m > dim) m = (int)dim;
    int top_k = o->top_k > 1 ? o->top_k : 1;
    if (top_k > LM_EIG_MAX_TOP) return lm_fail(LM_EINVAL, "lanczos: top_k %d exceeds %d", top_k, LM_EIG_MAX_TOP);
    if (top_k > 1 && o->reorth == LM_REORTH_NONE)
        return lm_fail(LM_EINVAL, "lanczos: %d eigenvalues with multiplicities need reorthogonalization", top_k);
    size_t cap = o->mem_cap ? o->mem_cap : (size_t)512 << 20;
    size_t vec = dim * sizeof(double);
    /* deflation keeps the locked Ritz vectors, a start vector and a product beside the basis */
    int locks = top_k > 1 ? 3 * top_k : 0, extra = top_k > 1 ? locks + 2 : 0;
    /* AUTO: full reorthogonalization when several eigenvalues are wanted (no ghost copies) or
     * when the basis is small (<= 16 MiB: cheap); otherwise the three-term recurrence alone,
     * which still converges to the extreme eigenvalues (Paige) at a fraction of the cost. */
    size_t basis = (size_t)(m + 1 + extra) * vec;
    int full = o->reorth == LM_REORTH_FULL ||
               (o->reorth == LM_REORTH_AUTO && basis <= cap && (top_k > 1 || basis <= ((size_t)16 << 20)));
    if (top_k > 1 && !full) {
        /* several eigenvalues need an orthogonal basis (no ghosts): fewer steps, if enough */
        int fit = (int)(cap / vec) - 1 - extra;
        if (fit < 2 * top_k + 2)
            return lm_fail(LM_ENOMEM, "lanczos: %d eigenvalues need a basis of at least %zu bytes (cap %zu)",
                           top_k, (size_t)(2 * top_k + 3 + extra) * vec, cap);
        m = fit;
        full = 1;
    }
    if (o->reorth == LM_REORTH_FULL && basis > cap)
        return lm_fail(LM_ENOMEM, "lanczos: a full basis of %d vectors needs %zu bytes (cap %zu)", m + 1 + extra,
                       basis, cap);
    *steps = m, *top = top_k, *full_out = full, *maxlock = locks;
    return LM_OK;
}

/* The result's extremes from the run's Ritz values, and top_k of them. */
static void lanczos_result(lm_eig_result *r, const lz *L, int top_k, int converged)
{
    const double *d = L->d;
    int k = L->k, inorm = fabs(d[0]) > fabs(d[k - 1]) ? 0 : k - 1;
    r->norm = fabs(d[inorm]);
    r->extreme = d[inorm];
    r->lambda_max = d[k - 1];
    r->lambda_min = d[0];
    r->max_residual = lz_resid(L, k - 1);
    r->min_residual = lz_resid(L, 0);
    r->ntop = top_k < k ? top_k : k;
    for (int t = 0; t < r->ntop; t++) r->top[t] = d[k - 1 - t], r->top_residual[t] = lz_resid(L, k - 1 - t);
    r->residual = lz_resid(L, inorm);
    r->steps = k;
    r->runs = 1;
    r->converged = converged;
    r->reorth = L->full;
}

/* The t-th largest (t = 1, 2, ...) of the n values v, or -INFINITY when n < t. */
static double kth_largest(const double *v, int n, int t)
{
    if (n < t) return -INFINITY;
    double prev = INFINITY, val = -INFINITY;
    int seen = 0;
    while (seen < t) { /* walk the distinct values down, counting copies */
        val = -INFINITY;
        for (int i = 0; i < n; i++)
            if (v[i] < prev && v[i] > val) val = v[i];
        for (int i = 0; i < n; i++) seen += v[i] == val;
        prev = val;
    }
    return val;
}

typedef struct {
    double *Q, *theta, *y; /* locked orthonormal Ritz vectors (rows) and values; scratch */
    int n, max, all_converged;
} locked_set;

/* Lock Ritz pair j of the run: its vector, made orthonormal to the locked ones. */
static void lock_pair(locked_set *S, const lz *L, int j, int converged)
{
    double *q = S->Q + (size_t)S->n * L->dim;
    lz_ritz_vector(L, j, q);
    for (int pass = 0; pass < 2; pass++) project_out(S->Q, S->n, L->dim, q, L->coef);
    cblas_dscal((int)L->dim, 1.0 / cblas_dnrm2((int)L->dim, q, 1), q, 1);
    S->theta[S->n++] = L->d[j];
    S->all_converged &= converged;
}

/* After a run of the deflated operator: lock its converged Ritz pairs among the top_k largest
 * that would enter the top_k locked values (the top one even unconverged, so that every run makes
 * progress). Returns 1 when the run found nothing above the top_k-th locked value: done. */
static int lock_run(locked_set *S, const lz *L, int top_k, double tol)
{
    int k = L->k, locked = 0;
    double lim = tol * L->scale;
    if (S->n >= top_k && L->d[k - 1] <= kth_largest(S->theta, S->n, top_k) + lim) return 1;
    for (int j = k - 1; j >= 0 && j >= k - top_k && S->n < S->max; j--) {
        if (S->n >= top_k && L->d[j] <= kth_largest(S->theta, S->n, top_k) + lim) break;
        int ok = lz_resid(L, j) <= lim;
        if (ok || !locked) lock_pair(S, L, j, ok), locked++;
        if (!ok) break;
    }
    return 0;
}

/* The top_k largest locked values, descending, with their true residuals ||A q - theta q||
 * (one product each). Returns the products. */
static int locked_top(locked_set *S, const lz *L, int top_k, lm_eig_result *r)
{
    int *used = calloc(S->n ? S->n : 1, sizeof *used), ntop = 0;
    for (; used && ntop < top_k && ntop < S->n; ntop++) {
        int best = -1;
        for (int i = 0; i < S->n; i++)
            if (!used[i] && (best < 0 || S->theta[i] > S->theta[best])) best = i;
        used[best] = 1;
        const double *q = S->Q + (size_t)best * L->dim;
        L->op(L->ctx, q, S->y);
        cblas_daxpy((int)L->dim, -S->theta[best], q, 1, S->y, 1);
        r->top[ntop] = S->theta[best];
        r->top_residual[ntop] = cblas_dnrm2((int)L->dim, S->y, 1);
    }
    free(used);
    r->ntop = ntop;
    return ntop;
}

/* top_k > 1: Lanczos with deflation and restarts (docs/theory.md §7.4). Each run starts from a
 * fresh random vector orthogonal to the locked Ritz vectors and stays orthogonal to them, so a
 * repeated eigenvalue shows up once per run until every copy is locked. */
static lm_status lanczos_deflated(size_t dim, lm_matvec_fn op, void *ctx, const lm_eig_opts *o, int m, int top_k,
                                  int maxlock, lm_eig_result *r)
{
    double tol = o->tol > 0 ? o->tol : 1e-10;
    lz L;
    lm_status st = lz_alloc(&L, dim, op, ctx, m, 1, maxlock);
    if (st) return st;
    locked_set S = {malloc((size_t)maxlock * dim * sizeof(double)), malloc(maxlock * sizeof(double)),
                    malloc(dim * sizeof(double)), 0, maxlock, 1};
    double *start = malloc(dim * sizeof *start);
    if (!S.Q || !S.theta || !S.y || !start) st = lm_fail(LM_ENOMEM, "lanczos: out of memory for %d locked vectors", maxlock);
    int done = 0, runs = 0, steps = 0, first_conv = 0;
    L.lock = S.Q;
    while (!st && !done && runs < top_k + 2 && S.n < S.max && (size_t)S.n < dim) {
        random_unit(start, dim, o->seed, runs);
        for (int pass = 0; pass < 2; pass++) project_out(S.Q, S.n, dim, start, L.coef);
        cblas_dscal((int)dim, 1.0 / cblas_dnrm2((int)dim, start, 1), start, 1);
        L.nlock = S.n;
        /* the first run converges what a single run would; later ones what could still enter
         * the top_k: the values above the top_k-th locked one */
        lz_want want = {top_k, kth_largest(S.theta, S.n, top_k), runs == 0, runs == 0 && o->want_min, tol,
                        -(1 + 1e-6) * r->norm};
        int conv;
        st = lz_run(&L, start, &want, &conv);
        if (st) break;
        steps += L.k;
        if (runs == 0) lanczos_result(r, &L, top_k, conv), first_conv = conv;
        S.all_converged &= conv;
        done = lock_run(&S, &L, top_k, tol) || (size_t)S.n >= dim;
        runs++;
    }
    if (!st) {
        double norm_resid = r->residual;
        steps += locked_top(&S, &L, top_k, r);
        r->residual = norm_resid;
        r->steps = steps;
        r->runs = runs;
        r->converged = first_conv && done && S.all_converged;
        r->reorth = 1;
    }
    lz_free(&L);
    free(S.Q), free(S.theta), free(S.y), free(start);
    return st;
}

static lm_status lanczos(size_t dim, lm_matvec_fn op, void *ctx, const lm_eig_opts *o, lm_eig_result *r)
{
    int m = 0, top_k = 1, full = 0, maxlock = 0;
    lm_status st = lanczos_plan(dim, o, &m, &top_k, &full, &maxlock);
    if (st) return st;
    if (top_k > 1) return lanczos_deflated(dim, op, ctx, o, m, top_k, maxlock, r);
    lz L;
    if ((st = lz_alloc(&L, dim, op, ctx, m, full, 0))) return st;
    double *start = malloc(dim * sizeof *start);
    int conv = 0;
    st = start ? LM_OK : lm_fail(LM_ENOMEM, "lanczos: out of memory for vectors of %zu", dim);
    if (!st) random_unit(start, dim, o->seed, 0);
    lz_want want = {1, -INFINITY, 1, o->want_min, o->tol > 0 ? o->tol : 1e-10, 0};
    if (!st) st = lz_run(&L, start, &want, &conv);
    if (!st) lanczos_result(r, &L, 1, conv);
    lz_free(&L);
    free(start);
    return st;
}

int lm_lanczos_quadrature(size_t dim, lm_matvec_fn op, void *ctx, const double *v0, int k, double *nodes,
                          double *weights, lm_status *status)
{
    lz L;
    lm_status st = lz_alloc(&L, dim, op, ctx, k, 1, 0);
    int conv;
    lz_want want = {-1, 0, 0, 0, 0, 0};
    if (!st) st = lz_run(&L, v0, &want, &conv);
    if (!st)
        for (int j = 0; j < L.k; j++) nodes[j] = L.d[j], weights[j] = L.z[(size_t)j * L.k] * L.z[(size_t)j * L.k];
    int steps = st ? -1 : L.k;
    lz_free(&L);
    *status = st;
    return steps;
}

static lm_status power(size_t dim, lm_matvec_fn op, void *ctx, const lm_eig_opts *o,
                       lm_eig_result *r)
{
    int steps = o->max_steps > 0 ? o->max_steps : 300;
    double *v = malloc(dim * sizeof *v), *w = malloc(dim * sizeof *w);
    if (!v || !w) {
        free(v), free(w);
        return lm_fail(LM_ENOMEM, "power iteration: out of memory for vectors of %zu", dim);
    }
    random_unit(v, dim, o->seed, 0);
    double nrm = 0, prev = 0, theta = 0;
    int k = 0, converged = 0;
    for (k = 1; k <= steps; k++) {
        op(ctx, v, w);
        theta = cblas_ddot((int)dim, v, 1, w, 1);
        nrm = cblas_dnrm2((int)dim, w, 1);
        if (!isfinite(nrm)) {
            free(v), free(w);
            return lm_fail(LM_EDIVERGED, "power iteration: the operator returned NaN or Inf at step %d", k);
        }
        if (nrm == 0 || (o->tol > 0 && k > 1 && fabs(nrm - prev) <= o->tol * nrm)) {
            converged = 1;
            break;
        }
        prev = nrm;
        if (k < steps) {
            for (size_t i = 0; i < dim; i++) v[i] = w[i] / nrm;
        }
    }
    if (k > steps) k = steps;
    /* residual of the last Rayleigh pair: ||H v - theta v|| */
    double res = 0;
    for (size_t i = 0; i < dim; i++) res += (w[i] - theta * v[i]) * (w[i] - theta * v[i]);
    r->norm = nrm;
    r->extreme = theta < 0 ? -nrm : nrm;
    r->lambda_max = r->lambda_min = r->extreme;
    r->top[0] = r->extreme;
    r->ntop = 1;
    r->residual = r->top_residual[0] = r->max_residual = r->min_residual = sqrt(res);
    r->runs = 1;
    r->steps = k;
    r->converged = converged;
    r->reorth = 0;
    free(v), free(w);
    return LM_OK;
}

lm_status lm_sym_extreme_eig(size_t dim, lm_matvec_fn op, void *ctx, const lm_eig_opts *o,
                             lm_eig_result *r)
{
    static const lm_eig_opts defaults = {0};
    if (!o) o = &defaults;
    memset(r, 0, sizeof *r);
    if (dim == 0) return lm_fail(LM_EINVAL, "eigenvalues: the operator has dimension 0");
    if (dim > (size_t)2147483647) return lm_fail(LM_EINVAL, "eigenvalues: dimension %zu too large", dim);
    if (o->method == LM_EIG_POWER) return power(dim, op, ctx, o, r);
    if (o->method != LM_EIG_LANCZOS) return lm_fail(LM_EINVAL, "eigenvalues: unknown method %d", (int)o->method);
    return lanczos(dim, op, ctx, o, r);
}

lm_status lm_sym_eig(int n, const double *A, double *evals, double *vecs)
{
    if (n < 1) return lm_fail(LM_EINVAL, "eigen-decomposition: size %d", n);
    double *a = vecs ? vecs : malloc((size_t)n * n * sizeof *a);
    if (!a) return lm_fail(LM_ENOMEM, "eigen-decomposition: out of memory for %d x %d", n, n);
    memcpy(a, A, (size_t)n * n * sizeof *a);
    const char *jobz = vecs ? "V" : "N";
    int lwork = -1, liwork = -1, iwq = 0, info = 0;
    double wq = 0;
    dsyevd_(jobz, "L", &n, a, &n, evals, &wq, &lwork, &iwq, &liwork, &info, 1, 1);
    lwork = (int)wq + 1;
    liwork = iwq > 1 ? iwq : 1;
    double *work = malloc((size_t)lwork * sizeof *work);
    int *iwork = malloc((size_t)liwork * sizeof *iwork);
    if (!work || !iwork) info = -1000;
    else dsyevd_(jobz, "L", &n, a, &n, evals, work, &lwork, iwork, &liwork, &info, 1, 1);
    free(work);
    free(iwork);
    if (!vecs) free(a);
    if (info == -1000) return lm_fail(LM_ENOMEM, "eigen-decomposition: out of memory for the workspace of %d x %d", n, n);
    if (info) return lm_fail(LM_EINVAL, "eigen-decomposition: dsyevd failed (info %d) for %d x %d", info, n, n);
    return LM_OK;
}
