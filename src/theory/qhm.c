/* MaSS as quasi-hyperbolic momentum (Ma and Yarats, 2019; docs/theory.md §1). */
#include <math.h>

#include "linmass/theory.h"

lm_status lm_theory_qhm(lm_theory_hp mass, lm_qhm_hp *out)
{
    double eta1 = mass.eta1, eta2 = mass.eta2, gamma = mass.gamma;
    if (!(gamma >= 0 && gamma < 1))
        return lm_fail(LM_EINVAL, "qhm: gamma %g is outside [0, 1)", gamma);
    if (!isfinite(eta1) || !isfinite(eta2) || eta1 == eta2)
        return lm_fail(LM_EINVAL, "qhm: eta1 %g and eta2 %g must be finite and differ", eta1, eta2);
    out->beta = gamma;
    out->alpha = (eta1 - eta2) / (1 - gamma);
    out->nu = (gamma * eta1 - eta2) / (eta1 - eta2);
    return LM_OK;
}
