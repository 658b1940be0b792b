/* The Hessian probe as a job (probe.h: lm_hessian_job, lm_hessian_sweep_job): what the job and
 * the width sweep share. The spectra of the loss and model Hessians (hessian_spectra.c) and their
 * summary, JSON and figures (hessian_spectra_report.c). Internal to src/probe. */
#ifndef LM_PROBE_HESSIAN_JOB_H
#define LM_PROBE_HESSIAN_JOB_H

#include <cjson/cJSON.h>

#include "linmass/probe.h"
#include "linmass/report.h"

/* What the spectra work on: the model and inputs, the loss (targets NULL: no loss for this
 * model and data, why says why), and the job's options with every default filled in. */
typedef struct {
    const lm_probe_inputs *in; /* what the job was given (the sweep: not its model) */
    const lm_model *m;
    const double *x;
    int n;
    lm_loss_kind kind;
    double *targets;
    char why[256];
    lm_hessian_job_opts o;
} hj_ctx;

/* Index 0: the loss Hessian, 1: the model Hessian (of the averaged model). */
typedef struct {
    lm_density density[2];
    int have_density[2];
    double sigma[2], seconds_density[2];
    lm_block_spectrum *blocks[2];
    int nblocks[2];
    double block_sigma[2]; /* one smoothing width for every block: lm_block_density_sigma */
    double seconds_blocks;
    lm_gauss_newton_result gn;
    int have_gn;
    double seconds_gn;
    double *diag, *diag_se;
    lm_diag_result dr;
    int have_diag;
    double seconds_diag;
} hj_spectra;

/* Checks o (LM_EINVAL naming the field and value) and copies it into x->o with the defaults
 * filled in; sweep: the width sweep's rules too. */
lm_status hj_options(const lm_probe_inputs *in, const lm_hessian_job_opts *o, int sweep, hj_ctx *x);
/* The loss of lm_run_loss and its targets (lm_run_targets) when the loss is wanted and defined
 * for this model and data; otherwise x->targets stays NULL and x->why says why (a note goes to
 * rep's progress). */
lm_status hj_loss_prepare(const lm_probe_inputs *in, lm_report *rep, hj_ctx *x);
/* 1 when any spectrum was asked for. */
int hj_spectra_wanted(const lm_hessian_spectra_opts *sp);
/* The loss Hessian's options: Lanczos for the top eigenvalues, Hutchinson samples (-1: none). */
lm_loss_hessian_opts hj_loss_opts(const hj_ctx *x);

/* The spectra asked for, on x->m (every process of x->o.coll). */
lm_status hj_spectra_compute(const hj_ctx *x, hj_spectra *r);
void hj_spectra_free(hj_spectra *r);

/* The summary's lines, the JSON keys (density, model_density, blocks, model_blocks, block,
 * gauss_newton, residual_part, diagonal...) and the figures. */
void hj_spectra_text(lm_report *rep, const hj_ctx *x, const hj_spectra *r);
void hj_spectra_json(cJSON *res, const hj_ctx *x, const hj_spectra *r);
lm_status hj_spectra_figures(lm_report *rep, const hj_ctx *x, const hj_spectra *r);

#endif
