/* Every optimizer descriptor. To add an optimizer, write its kernel file (docs/extending.md)
 * and list its descriptor here. */
#include "optim/optim_def.h"

extern const lm_optim_def lm_optim_sgd_def, lm_optim_heavyball_def, lm_optim_nesterov_def,
    lm_optim_adam_def, lm_optim_adamw_def, lm_optim_mass_def;

static const lm_optim_def *const defs[] = {
    &lm_optim_sgd_def,  &lm_optim_heavyball_def, &lm_optim_nesterov_def,
    &lm_optim_adam_def, &lm_optim_adamw_def,     &lm_optim_mass_def,
};
_Static_assert(sizeof defs / sizeof *defs == LM_OPTIM_COUNT, "one descriptor per lm_optim_kind");

const lm_optim_def *lm_optim_def_of(lm_optim_kind k)
{
    for (size_t i = 0; i < sizeof defs / sizeof *defs; i++)
        if (defs[i]->kind == k) return defs[i];
    return NULL;
}
