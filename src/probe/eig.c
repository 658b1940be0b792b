/* Symmetric eigenvalue solvers: Lanczos with a residual-bound convergence test (and full
 * reorthogonalization when the basis fits the memory cap), power iteration, and a dsyevd
 * wrapper for dense matrices. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "linmass/rng.h"
#include "probe/probe_internal.h"

static void random_unit(double *v, size_t dim, uint64_t seed)
{
    double nrm = 0;
    for (size_t i = 0; i < dim; i++) {
        v[i] = lm_rand_normal(seed, LM_STREAM_PROBE + 1, i);
        nrm += v[i] * v[i];
    }
    nrm = sqrt(nrm);
    for (size_t i = 0; i < dim; i++) v[i] /= nrm;
}

/* Ritz values (ascending, in d) and the last components of their eigenvectors (in s) of the
 * k x k tridiagonal T = tridiag(beta, alpha, beta). */
static int ritz(int k, const double *alpha, const double *beta, double *d, double *s,
                double *z, double *work)
{
    double *e = work + (k > 1 ? 2 * k - 2 : 1);
    memcpy(d, alpha, k * sizeof *d);
    if (k > 1) memcpy(e, beta, (k - 1) * sizeof *e);
    int info = 0, ldz = k;
    dstev_("V", &k, d, e, z, &ldz, work, &info, 1);
    for (int j = 0; j < k; j++) s[j] = z[(size_t)j * k + (k - 1)]; /* column-major: z[i + j k] */
    return info;
}

/* The Lanczos steps m, the eigenvalues wanted and whether the basis is kept for full
 * reorthogonalization, from the options and the memory cap. */
static lm_status lanczos_plan(size_t dim, const lm_eig_opts *o, int *steps, int *top, int *full_out)
{
    int m = o->max_steps > 0 ? o->max_steps : 100;
    if ((size_t)m > dim) m = (int)dim;
    int top_k = o->top_k > 1 ? o->top_k : 1;
    if (top_k > LM_EIG_MAX_TOP) return lm_fail(LM_EINVAL, "lanczos: top_k %d exceeds %d", top_k, LM_EIG_MAX_TOP);
    if (top_k > m) top_k = m;
    size_t cap = o->mem_cap ? o->mem_cap : (size_t)512 << 20;
    size_t vec = dim * sizeof(double);
    /* AUTO: full reorthogonalization when several eigenvalues are wanted (no ghost copies) or
     * when the basis is small (<= 16 MiB: cheap); otherwise the three-term recurrence alone,
     * which still converges to the extreme eigenvalues (Paige) at a fraction of the cost. */
    size_t basis = (size_t)(m + 1) * vec;
    int full = o->reorth == LM_REORTH_FULL ||
               (o->reorth == LM_REORTH_AUTO && basis <= cap && (top_k > 1 || basis <= ((size_t)16 << 20)));
    if (top_k > 1 && o->reorth != LM_REORTH_NONE && !full) {
        /* several eigenvalues need an orthogonal basis (no ghosts): fewer steps, if enough */
        int fit = (int)(cap / vec) - 1;
        if (fit < 2 * top_k + 2)
            return lm_fail(LM_ENOMEM, "lanczos: %d eigenvalues need a basis of at least %zu bytes (cap %zu)",
                           top_k, (size_t)(2 * top_k + 3) * vec, cap);
        m = fit;
        full = 1;
    }
    if (o->reorth == LM_REORTH_FULL && (size_t)(m + 1) * vec > cap)
        return lm_fail(LM_ENOMEM, "lanczos: a full basis of %d vectors needs %zu bytes (cap %zu)", m + 1,
                       (size_t)(m + 1) * vec, cap);
    *steps = m, *top = top_k, *full_out = full;
    return LM_OK;
}

/* The result from the k Ritz values d (ascending). */
static void lanczos_result(lm_eig_result *r, const double *d, int k, int top_k, double resid, int converged, int full)
{
    int inorm = fabs(d[0]) > fabs(d[k - 1]) ? 0 : k - 1;
    r->norm = fabs(d[inorm]);
    r->extreme = d[inorm];
    r->lambda_max = d[k - 1];
    r->lambda_min = d[0];
    r->ntop = top_k < k ? top_k : k;
    for (int t = 0; t < r->ntop; t++) r->top[t] = d[k - 1 - t];
    r->residual = resid;
    r->steps = k;
    r->converged = converged;
    r->reorth = full;
}

static lm_status lanczos(size_t dim, lm_matvec_fn op, void *ctx, const lm_eig_opts *o,
                         lm_eig_result *r)
{
    int m = 0, top_k = 1, full = 0;
    lm_status st = lanczos_plan(dim, o, &m, &top_k, &full);
    if (st) return st;
    double tol = o->tol > 0 ? o->tol : 1e-10;
    size_t vec = dim * sizeof(double);
    size_t nvec = full ? (size_t)m + 1 : 3;
    double *V = malloc(nvec * vec), *w = malloc(vec), *coef = malloc((m + 1) * sizeof *coef);
    double *alpha = malloc(m * sizeof *alpha), *beta = malloc(m * sizeof *beta);
    double *d = malloc(m * sizeof *d), *s = malloc(m * sizeof *s);
    double *z = malloc((size_t)m * m * sizeof *z), *work = malloc((4 * (size_t)m + 2) * sizeof *work);
    if (!V || !w || !coef || !alpha || !beta || !d || !s || !z || !work) {
        free(V), free(w), free(coef), free(alpha), free(beta), free(d), free(s), free(z), free(work);
        return lm_fail(LM_ENOMEM, "lanczos: out of memory for %zu vectors of %zu", nvec, dim);
    }
#define VEC(j) (V + (full ? (size_t)(j) : (size_t)((j) % 3)) * dim)
    random_unit(VEC(0), dim, o->seed);
    int k = 0, converged = 0, bad = 0;
    double resid = 0;
    for (int j = 0; j < m; j++) {
        double *vj = VEC(j);
        op(ctx, vj, w);
        k = j + 1;
        alpha[j] = cblas_ddot((int)dim, vj, 1, w, 1);
        cblas_daxpy((int)dim, -alpha[j], vj, 1, w, 1);
        if (j) cblas_daxpy((int)dim, -beta[j - 1], VEC(j - 1), 1, w, 1);
        if (full)
            for (int pass = 0; pass < 2; pass++) { /* classical Gram-Schmidt, twice */
                cblas_dgemv(CblasRowMajor, CblasNoTrans, j + 1, (int)dim, 1.0, V, (int)dim, w, 1, 0.0, coef, 1);
                cblas_dgemv(CblasRowMajor, CblasTrans, j + 1, (int)dim, -1.0, V, (int)dim, coef, 1, 1.0, w, 1);
            }
        beta[j] = cblas_dnrm2((int)dim, w, 1);
        if (!isfinite(beta[j]) || !isfinite(alpha[j])) {
            bad = 1;
            break;
        }
        if (ritz(k, alpha, beta, d, s, z, work)) {
            bad = 2;
            break;
        }
        double scale = fmax(fabs(d[0]), fabs(d[k - 1]));
        int inorm = fabs(d[0]) > fabs(d[k - 1]) ? 0 : k - 1;
        resid = fabs(beta[j] * s[inorm]);
        int ok = resid <= tol * scale;
        for (int t = 0; t < top_k && t < k; t++) ok = ok && fabs(beta[j] * s[k - 1 - t]) <= tol * scale;
        if (beta[j] <= 1e-14 * fmax(scale, 1e-300) || scale == 0) { /* invariant subspace: exact */
            resid = 0;
            converged = 1;
            break;
        }
        if (ok && (k >= top_k || (size_t)k == dim)) {
            converged = 1;
            break;
        }
        if (j + 1 < m) cblas_dcopy((int)dim, w, 1, VEC(j + 1), 1), cblas_dscal((int)dim, 1.0 / beta[j], VEC(j + 1), 1);
    }
#undef VEC
    if (bad == 1) st = lm_fail(LM_EDIVERGED, "lanczos: the operator returned NaN or Inf at step %d", k);
    else if (bad == 2) st = lm_fail(LM_EINVAL, "lanczos: the tridiagonal eigensolver failed at step %d", k);
    else lanczos_result(r, d, k, top_k, resid, converged, full);
    free(V), free(w), free(coef), free(alpha), free(beta), free(d), free(s), free(z), free(work);
    return st;
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
    random_unit(v, dim, o->seed);
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
    r->residual = sqrt(res);
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
