/* The spectra options of linmass probe hessian (probe_spectra.h): their checks. */
#include <string.h>

#include "cli/probe_spectra.h"

int spectra_check(const cli_command *c, spectra_cli *sp)
{
    lm_hessian_spectra_opts *o = &sp->o;
    /* the library reads 0 as its default, which these options show in --help: their ranges start
     * higher; lm_hessian_job_opts_validate checks the rest */
    if (o->slq.probes < 1) return cli_usage_error(c, "--probes %d must be at least 1", o->slq.probes);
    if (o->slq.steps < 1) return cli_usage_error(c, "--lanczos-steps %d must be at least 1", o->slq.steps);
    if (o->grid < 2) return cli_usage_error(c, "--grid %d must be at least 2", o->grid);
    if (o->block_top < 1 || o->block_top > LM_EIG_MAX_TOP)
        return cli_usage_error(c, "--block-top %d must be in 1..%d", o->block_top, LM_EIG_MAX_TOP);
    if (!strcmp(sp->vectors, "rademacher")) o->slq.vectors = LM_VECTORS_RADEMACHER;
    else if (!strcmp(sp->vectors, "gaussian")) o->slq.vectors = LM_VECTORS_GAUSSIAN;
    else return cli_usage_error(c, "--vectors: '%s' is not rademacher or gaussian", sp->vectors);
    o->blocks = sp->block != NULL;
    if (sp->block && !strcmp(sp->block, "layer")) o->block_kind = LM_BLOCK_LAYER;
    else if (sp->block && !strcmp(sp->block, "tensor")) o->block_kind = LM_BLOCK_TENSOR;
    else if (sp->block) return cli_usage_error(c, "--block: '%s' is not layer or tensor", sp->block);
    return sp->widths_text ? parse_widths(c, sp->widths_text, &sp->widths, &sp->nwidths) : 0;
}
