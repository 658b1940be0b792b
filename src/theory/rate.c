/* The exact asymptotic rate rho of E|w - w*|^2: the spectral radius of the second-moment
 * operator (docs/theory.md §2.3), on the range of H (lm_moments_on_range). */
#include <stdlib.h>
#include <string.h>

#include "core/parallel.h"
#include "theory/theory_internal.h"

const char *lm_theory_method_name(lm_theory_method method)
{
    static const char *names[] = {"sgd", "nesterov", "mass"};
    return (unsigned)method <= LM_THEORY_MASS ? names[method] : "unknown";
}

lm_status lm_theory_method_from_name(const char *name, lm_theory_method *method)
{
    for (*method = LM_THEORY_SGD; *method <= LM_THEORY_MASS; (*method)++)
        if (name && !strcmp(name, lm_theory_method_name(*method))) return LM_OK;
    return lm_fail(LM_EINVAL, "optim: '%s' is not sgd, nesterov or mass", name ? name : "(none)");
}

lm_status lm_theory_rate(const lm_moments *mo, lm_theory_method method, lm_theory_hp hp, int m,
                         double *rho)
{
    /* small matrices: OpenBLAS's threads cost more than they give (0.06 s on one thread
     * against 0.97 s on many for d = 10) */
    int threads = lm_blas_single();
    double *M = NULL;
    int n;
    lm_moments_range r;
    lm_status st = lm_moments_on_range(mo, &r);
    if (!st) st = lm_theory_operator(&r.mo, method, hp, m, lm_moments_is_diagonal(&r.mo), &M, &n);
    if (!st) st = lm_spectral_radius(n, M, rho);
    free(M);
    lm_moments_range_free(&r);
    lm_blas_restore(threads);
    return st;
}
