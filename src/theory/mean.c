/* The expected iterate of SGD, Nesterov and MaSS on linear regression (docs/theory.md §2.3).
 *
 * The step is linear in the error and a fresh batch's mean gradient is H e, so E z of
 * z = (w - w*, u - w*) follows the full-batch recursion for every batch size. On an
 * eigenvector of H with eigenvalue lambda the pair (E ew, E eu) is multiplied each step by
 *   A(lambda) = [[0, 1 - eta1 lambda], [-gamma, 1 + gamma - ((1 + gamma) eta1 - eta2) lambda]]
 * (Nesterov: eta2 = 0; SGD: the scalar 1 - eta lambda), starting from (1, 1). The noise of the
 * batches adds to E|e|^2 but not to |E e|^2, so these curves are exact for the expected iterate
 * and, by Jensen's inequality, lower bounds of the expected loss. */
#include <math.h>

#include "linmass/theory.h"

static lm_status check_hp(lm_theory_method method, lm_theory_hp hp)
{
    if ((unsigned)method > LM_THEORY_MASS) return lm_fail(LM_EINVAL, "theory mean: method %d is unknown", method);
    if (!(hp.eta1 > 0) || !isfinite(hp.eta1) || !isfinite(hp.eta2))
        return lm_fail(LM_EINVAL, "theory mean %s: step %g is not positive", lm_theory_method_name(method), hp.eta1);
    if (method != LM_THEORY_SGD && !(hp.gamma >= 0 && hp.gamma < 1))
        return lm_fail(LM_EINVAL, "theory mean %s: gamma %g is outside [0, 1)", lm_theory_method_name(method), hp.gamma);
    return LM_OK;
}

/* The entries a = A_01 and b = A_11 of A(lambda) (A_10 = -gamma, A_00 = 0); SGD: b only. */
static void entries(lm_theory_method method, lm_theory_hp hp, double lambda, double *a, double *b)
{
    if (method == LM_THEORY_SGD) {
        *a = 0, *b = 1 - hp.eta1 * lambda;
        return;
    }
    double eta2 = method == LM_THEORY_MASS ? hp.eta2 : 0, g = hp.gamma;
    *a = 1 - hp.eta1 * lambda;
    *b = 1 + g - ((1 + g) * hp.eta1 - eta2) * lambda;
}

lm_status lm_theory_mean_rate(lm_theory_method method, lm_theory_hp hp, double lambda, double *rho)
{
    lm_status st = check_hp(method, hp);
    if (st) return st;
    double a, b, g = method == LM_THEORY_SGD ? 0 : hp.gamma;
    entries(method, hp, lambda, &a, &b);
    /* the eigenvalues of A solve x^2 - b x + gamma a = 0 */
    double disc = b * b - 4 * g * a, r;
    if (disc >= 0) r = (fabs(b) + sqrt(disc)) / 2;
    else r = sqrt(g * a); /* a complex pair: |x|^2 = gamma a */
    *rho = r * r;
    return LM_OK;
}

lm_status lm_theory_mean_curve(lm_theory_method method, lm_theory_hp hp, const double *lambda, const double *weight,
                               int d, int steps, double *out_w, double *out_u)
{
    lm_status st = check_hp(method, hp);
    if (st) return st;
    if (d < 1 || steps < 0) return lm_fail(LM_EINVAL, "theory mean curve: %d directions, %d steps", d, steps);
    for (int t = 0; t <= steps; t++) {
        if (out_w) out_w[t] = 0;
        if (out_u) out_u[t] = 0;
    }
    for (int k = 0; k < d; k++) {
        double a, b, ew = 1, eu = 1, g = method == LM_THEORY_SGD ? 0 : hp.gamma;
        if (!isfinite(lambda[k]) || !isfinite(weight[k]) || lambda[k] < 0 || weight[k] < 0)
            return lm_fail(LM_EINVAL, "theory mean curve: direction %d has lambda %g and weight %g", k, lambda[k], weight[k]);
        entries(method, hp, lambda[k], &a, &b);
        for (int t = 0; t <= steps; t++) {
            if (out_w) out_w[t] += weight[k] * ew * ew;
            if (out_u) out_u[t] += weight[k] * eu * eu;
            double nw = method == LM_THEORY_SGD ? b * eu : a * eu, nu = method == LM_THEORY_SGD ? nw : -g * ew + b * eu;
            ew = nw, eu = nu;
        }
    }
    return LM_OK;
}
