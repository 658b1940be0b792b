/* The spectra options of linmass probe hessian (probe_spectra.h): their checks. */
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
    o->blocks = sp->block != NULL;
    lm_status st = lm_random_vectors_parse(sp->vectors, &o->slq.vectors);
    if (!st && sp->block) st = lm_block_kind_parse(sp->block, &o->block_kind);
    if (!st && sp->widths_text) st = lm_widths_parse(sp->widths_text, &sp->widths, &sp->nwidths);
    return st ? cli_field_error(c, st, (const char *const[]){"block_kind", "block", NULL}) : 0;
}
