/* The sizes of the public structs (linmass/abi.h). */
#include <string.h>

#include "linmass/abi.h"
#include "linmass/linmass.h"

#define ENTRY(type) {#type, sizeof(type)}

static const struct {
    const char *name;
    size_t size;
} structs[] = {
    ENTRY(lm_shape),
    ENTRY(lm_tensor_info),
    ENTRY(lm_probe_net),
    ENTRY(lm_eig_opts),
    ENTRY(lm_eig_result),
    ENTRY(lm_hessian_opts),
    ENTRY(lm_hessian_result),
    ENTRY(lm_loss_hessian_opts),
    ENTRY(lm_loss_hessian_result),
    ENTRY(lm_hvp_opts),
    ENTRY(lm_slq_opts),
    ENTRY(lm_density),
    ENTRY(lm_ntk_opts),
    ENTRY(lm_ntk_info),
    ENTRY(lm_spectrum),
    ENTRY(lm_linearity_opts),
    ENTRY(lm_linearity_record),
    ENTRY(lm_plstar_summary),
    ENTRY(lm_linearity_result),
    ENTRY(lm_collective),
    ENTRY(lm_schedule),
    ENTRY(lm_optim_config),
    ENTRY(lm_mass_hp),
    ENTRY(lm_mass3_hp),
    ENTRY(lm_trainer_opts),
    ENTRY(lm_step_info),
    ENTRY(lm_constants),
    ENTRY(lm_moments),
    ENTRY(lm_theory_hp),
    ENTRY(lm_bench_opts),
    ENTRY(lm_bench_result),
};

size_t lm_abi_struct_size(const char *name)
{
    if (!name) return 0;
    for (size_t i = 0; i < sizeof structs / sizeof *structs; i++)
        if (!strcmp(structs[i].name, name)) return structs[i].size;
    return 0;
}
