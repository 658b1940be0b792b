/* The exact expected curve E|w_t - w*|^2, t = 0..T: powers of the second-moment operator applied
 * to the starting second moment (docs/theory.md §2.3). */
#include <stdlib.h>
#include <string.h>

#include "core/parallel.h"
#include "theory/theory_internal.h"

/* The state of z0 = (e0, e0) (or e0 for SGD) at the operator's coordinates, and which of them
 * are the diagonal of E[(w - w*)(w - w*)^T]. */
static void start_state(int d, const int *pi, const int *pj, int N, const double *e0, double *s,
                        int *is_w_diag)
{
    for (int k = 0; k < N; k++) {
        s[k] = e0[pi[k] % d] * e0[pj[k] % d];
        is_w_diag[k] = pi[k] == pj[k] && pi[k] < d;
    }
}

static lm_status iterate(const double *M, int N, double *s, const int *is_w_diag, int steps,
                         double *out)
{
    double *next = malloc(sizeof *next * (size_t)N);
    if (!next) return lm_fail(LM_ENOMEM, "theory: no memory for the curve (%d states)", N);
    for (int t = 0; t <= steps; t++) {
        out[t] = 0;
        for (int k = 0; k < N; k++)
            if (is_w_diag[k]) out[t] += s[k];
        if (t == steps) break;
        for (int r = 0; r < N; r++) {
            next[r] = 0;
            for (int k = 0; k < N; k++) next[r] += M[(size_t)r * N + k] * s[k];
        }
        memcpy(s, next, sizeof *s * (size_t)N);
    }
    free(next);
    return LM_OK;
}

lm_status lm_theory_curve(const lm_moments *mo, lm_theory_method method, lm_theory_hp hp, int m,
                          const double *e0, int steps, double *out)
{
    if (steps < 0) return lm_fail(LM_EINVAL, "theory curve: %d steps", steps);
    if (!e0) return lm_fail(LM_EINVAL, "theory curve: no starting error e0");
    int threads = lm_blas_single(), N, diagonal = lm_moments_is_diagonal(mo);
    double *M = NULL;
    lm_status st = lm_theory_operator(mo, method, hp, m, diagonal, &M, &N);
    /* pi, pj: the state's coordinates (lm_op_pairs); w_diag: those on the diagonal of E[ew ew^T] */
    int *pi = st ? NULL : malloc(sizeof *pi * 3 * (size_t)N), *pj = pi ? pi + N : NULL, *w_diag = pi ? pi + 2 * N : NULL;
    double *s = st ? NULL : malloc(sizeof *s * (size_t)N);
    if (!st && (!pi || !s)) st = lm_fail(LM_ENOMEM, "theory: no memory for the curve (%d states)", N);
    if (!st) {
        lm_op_pairs(mo->d, method, diagonal, pi, pj);
        start_state(mo->d, pi, pj, N, e0, s, w_diag);
        st = iterate(M, N, s, w_diag, steps, out);
    }
    free(M), free(pi), free(s);
    lm_blas_restore(threads);
    return st;
}
