/* The data distributions of the theory through their second and fourth moments
 * (docs/theory.md §2.1, §2.3): H = E[x x^T] and F(A) = E[(x x^T) A (x x^T)]. */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "linmass/probe.h"
#include "theory/theory_internal.h"

void lm_symmetrize_upper(int d, double *A)
{
    for (int i = 0; i < d; i++)
        for (int j = 0; j < i; j++) A[i * d + j] = A[j * d + i];
}

lm_status lm_moments_check(const lm_moments *mo)
{
    if (mo->d < 1) return lm_fail(LM_EINVAL, "moments: dimension %d < 1", mo->d);
    if (mo->kind == LM_MOMENTS_DATA && (!mo->X || mo->n < 1))
        return lm_fail(LM_EINVAL, "moments: data with %d rows", mo->n);
    if (mo->kind == LM_MOMENTS_GAUSSIAN && !mo->H)
        return lm_fail(LM_EINVAL, "moments: Gaussian without a covariance");
    if (mo->kind == LM_MOMENTS_DECOUPLED && !mo->sigma2)
        return lm_fail(LM_EINVAL, "moments: decoupled data without variances");
    if ((unsigned)mo->kind > LM_MOMENTS_DECOUPLED)
        return lm_fail(LM_EINVAL, "moments: kind %d is unknown", mo->kind);
    return LM_OK;
}

int lm_moments_is_diagonal(const lm_moments *mo)
{
    if (mo->kind == LM_MOMENTS_DECOUPLED) return 1;
    if (mo->kind != LM_MOMENTS_GAUSSIAN) return 0;
    for (int i = 0; i < mo->d; i++)
        for (int j = 0; j < mo->d; j++)
            if (i != j && mo->H[i * mo->d + j] != 0) return 0;
    return 1;
}

lm_status lm_moments_second(const lm_moments *mo, double *H)
{
    lm_status st = lm_moments_check(mo);
    if (st) return st;
    int d = mo->d;
    if (mo->kind == LM_MOMENTS_GAUSSIAN) {
        memcpy(H, mo->H, sizeof *H * (size_t)d * d);
    } else if (mo->kind == LM_MOMENTS_DECOUPLED) {
        memset(H, 0, sizeof *H * (size_t)d * d);
        for (int i = 0; i < d; i++) H[i * d + i] = mo->sigma2[i];
    } else {
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, mo->n, 1.0 / mo->n, mo->X, d, 0, H, d);
        lm_symmetrize_upper(d, H);
    }
    return LM_OK;
}

/* out = s * A B A + t * out for d x d row-major matrices (tmp holds A B). */
static void sandwich(int d, double s, const double *A, const double *B, double *tmp, double t,
                     double *out)
{
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, d, d, 1, A, d, B, d, 0, tmp, d);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, d, d, s, tmp, d, A, d, t, out, d);
}

/* (1/n) sum_i (x_i^T A x_i) x_i x_i^T, one rank-one update per row */
static lm_status data_fourth(const lm_moments *mo, const double *A, double *out)
{
    int d = mo->d;
    double *Ax = malloc(sizeof *Ax * (size_t)d);
    if (!Ax) return lm_fail(LM_ENOMEM, "moments: no memory");
    memset(out, 0, sizeof *out * (size_t)d * d);
    for (int i = 0; i < mo->n; i++) {
        const double *x = mo->X + (size_t)i * d;
        cblas_dsymv(CblasRowMajor, CblasUpper, d, 1, A, d, x, 1, 0, Ax, 1);
        double q = cblas_ddot(d, x, 1, Ax, 1) / mo->n;
        if (q != 0) cblas_dsyr(CblasRowMajor, CblasUpper, d, q, x, 1, out, d);
    }
    lm_symmetrize_upper(d, out);
    free(Ax);
    return LM_OK;
}

lm_status lm_moments_fourth(const lm_moments *mo, const double *A, double *out)
{
    lm_status st = lm_moments_check(mo);
    if (st) return st;
    int d = mo->d;
    size_t dd = (size_t)d * d;
    if (mo->kind == LM_MOMENTS_DATA) return data_fourth(mo, A, out);
    if (mo->kind == LM_MOMENTS_DECOUPLED) {
        memset(out, 0, sizeof *out * dd);
        for (int i = 0; i < d; i++)
            out[i * d + i] = 3.0 * d * mo->sigma2[i] * mo->sigma2[i] * A[i * d + i];
        return LM_OK;
    }
    /* Gaussian: 2 H A H + tr(A H) H */
    double *tmp = malloc(sizeof *tmp * dd), tr = 0;
    if (!tmp) return lm_fail(LM_ENOMEM, "moments: no memory");
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) tr += A[i * d + j] * mo->H[j * d + i];
    memcpy(out, mo->H, sizeof *out * dd);
    sandwich(d, 2, mo->H, A, tmp, tr, out);
    free(tmp);
    return LM_OK;
}

/* Rows of X (n x d) in the basis of the r eigenvectors U (r x d, rows): out = X U^T, n x r. */
static void project_rows(int n, int d, int r, const double *X, const double *U, double *out)
{
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, r, d, 1, X, d, U, d, 0, out, r);
}

lm_status lm_moments_on_range(const lm_moments *mo, lm_moments_range *r)
{
    memset(r, 0, sizeof *r);
    r->mo = *mo;
    r->rank = mo->d;
    lm_status st = lm_moments_check(mo);
    if (st || mo->kind == LM_MOMENTS_DECOUPLED) return st; /* diagonal: every sigma_i^2 > 0 */
    int d = mo->d;
    size_t dd = (size_t)d * d;
    double *H = malloc(sizeof *H * dd), *U = malloc(sizeof *U * dd), *w = malloc(sizeof *w * (size_t)d);
    st = H && U && w ? lm_moments_second(mo, H) : lm_fail(LM_ENOMEM, "moments: no memory (d = %d)", d);
    if (!st) st = lm_sym_eig(d, H, w, U);
    int k = 0; /* eigenvalues are ascending: the first k are numerically zero */
    while (!st && k < d && !(w[k] > LM_MOMENTS_RANGE_TOL * w[d - 1])) k++;
    int rank = d - k;
    if (!st && rank > 0 && rank < d) {
        const double *Ur = U + (size_t)k * d;
        size_t rows = mo->kind == LM_MOMENTS_DATA ? (size_t)mo->n : (size_t)rank;
        r->buf = malloc(sizeof *r->buf * rows * rank);
        if (!r->buf) st = lm_fail(LM_ENOMEM, "moments: no memory for the range (rank %d)", rank);
        else if (mo->kind == LM_MOMENTS_DATA) {
            project_rows(mo->n, d, rank, mo->X, Ur, r->buf);
            r->mo.X = r->buf;
        } else { /* U_r H U_r^T = diag of the non-zero eigenvalues */
            memset(r->buf, 0, sizeof *r->buf * (size_t)rank * rank);
            for (int i = 0; i < rank; i++) r->buf[(size_t)i * rank + i] = w[k + i];
            r->mo.H = r->buf;
        }
        r->mo.d = r->rank = rank;
    }
    free(H), free(U), free(w);
    return st;
}

void lm_moments_range_free(lm_moments_range *r)
{
    free(r->buf);
    r->buf = NULL;
}
