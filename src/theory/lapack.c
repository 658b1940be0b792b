/* The eigenproblems of the theory: symmetric (lm_sym_eig) for the constants, general (dgeev)
 * for the spectral radius of the second-moment operator. */
#include <math.h>
#include <stdlib.h>

#include "linmass/probe.h"
#include "theory/theory_internal.h"

/* LAPACK, with the hidden lengths of the character arguments as gfortran passes them. */
void dgeev_(const char *jobvl, const char *jobvr, const int *n, double *a, const int *lda,
            double *wr, double *wi, double *vl, const int *ldvl, double *vr, const int *ldvr,
            double *work, const int *lwork, int *info, size_t jobvl_len, size_t jobvr_len);

lm_status lm_sym_lambda_max(int d, const double *A, double *top)
{
    double *w = malloc(sizeof *w * (size_t)d);
    if (!w) return lm_fail(LM_ENOMEM, "constants: no memory");
    lm_status st = lm_sym_eig(d, A, w, NULL);
    *top = st ? NAN : w[d - 1];
    free(w);
    return st;
}

/* Storage order does not matter: A and its transpose have the same eigenvalues. */
lm_status lm_spectral_radius(int n, double *A, double *rho)
{
    for (size_t i = 0; i < (size_t)n * n; i++)
        if (!isfinite(A[i])) {
            *rho = INFINITY;
            return LM_OK;
        }
    int lwork = -1, info, one = 1;
    double wq, dummy;
    double *wr = malloc(sizeof *wr * 2 * (size_t)n), *wi = wr ? wr + n : NULL;
    if (!wr) return lm_fail(LM_ENOMEM, "theory: no memory");
    dgeev_("N", "N", &n, A, &n, wr, wi, &dummy, &one, &dummy, &one, &wq, &lwork, &info, 1, 1);
    lwork = (int)wq;
    double *work = malloc(sizeof *work * (size_t)lwork);
    if (!work) info = -1000;
    else dgeev_("N", "N", &n, A, &n, wr, wi, &dummy, &one, &dummy, &one, work, &lwork, &info, 1, 1);
    double r = 0;
    for (int i = 0; i < n && info == 0; i++) r = fmax(r, hypot(wr[i], wi[i]));
    free(wr), free(work);
    if (info == -1000) return lm_fail(LM_ENOMEM, "theory: no memory for dgeev (n = %d)", n);
    if (info) return lm_fail(LM_EINVAL, "theory: dgeev did not converge (info %d, n = %d)", info, n);
    *rho = r;
    return LM_OK;
}
