/* The Gauss-Newton split of the loss Hessian (docs/theory.md §7.7): H = J^T H_l J + sum_i
 * (dl/dz_i) H_{f(x_i)}, each part through its own Hessian-vector product (lm_hvp targets
 * LM_HVP_GAUSS_NEWTON and LM_HVP_RESIDUAL), reported as the loss Hessian is: top eigenvalues and
 * Hutchinson trace, the three traces from the same Rademacher vectors. */
#include <string.h>

#include "probe/probe_internal.h"

lm_status lm_probe_gauss_newton(const lm_model *m, const double *x, int n, const lm_loss_hessian_opts *o,
                                lm_gauss_newton_result *r)
{
    memset(r, 0, sizeof *r);
    lm_status st = lm_loss_hessian_part(m, x, n, o, LM_HVP_LOSS, &r->loss);
    if (!st) st = lm_loss_hessian_part(m, x, n, o, LM_HVP_GAUSS_NEWTON, &r->gauss_newton);
    if (!st) st = lm_loss_hessian_part(m, x, n, o, LM_HVP_RESIDUAL, &r->residual);
    return st ? lm_fail_context(st, "Gauss-Newton split") : LM_OK;
}
