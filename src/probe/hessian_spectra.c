/* The Hessian job's options, its loss and the spectra it computes (hessian_job.h; docs/theory.md
 * §7.4-7.8): the spectral density of the loss and model Hessians by stochastic Lanczos
 * quadrature, per-layer or per-tensor spectra, the Gauss-Newton split of the loss Hessian and its
 * diagonal. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe/hessian_job.h"
#include "probe/probe_internal.h"

int hj_spectra_wanted(const lm_hessian_spectra_opts *sp)
{
    return sp->density || sp->blocks || sp->gauss_newton || sp->diagonal;
}

/* ---- options ---- */

static lm_status check_spectra(const lm_hessian_spectra_opts *sp)
{
    if (sp->slq.probes < 0) return lm_fail(LM_EINVAL, "spectra.slq.probes %d must not be negative", sp->slq.probes);
    if (sp->slq.steps < 0) return lm_fail(LM_EINVAL, "spectra.slq.steps %d must not be negative", sp->slq.steps);
    if (sp->grid < 0 || sp->grid == 1) return lm_fail(LM_EINVAL, "spectra.grid %d is not 0 or at least 2", sp->grid);
    if (!(sp->sigma >= 0)) return lm_fail(LM_EINVAL, "spectra.sigma %g must not be negative", sp->sigma);
    if (sp->block_top < 0 || sp->block_top > LM_EIG_MAX_TOP)
        return lm_fail(LM_EINVAL, "spectra.block_top %d is not in 0..%d", sp->block_top, LM_EIG_MAX_TOP);
    if (sp->block_kind != LM_BLOCK_LAYER && sp->block_kind != LM_BLOCK_TENSOR)
        return lm_fail(LM_EINVAL, "spectra.block_kind %d is not a block kind", (int)sp->block_kind);
    if (sp->slq.vectors != LM_VECTORS_RADEMACHER && sp->slq.vectors != LM_VECTORS_GAUSSIAN)
        return lm_fail(LM_EINVAL, "spectra.slq.vectors %d is not a kind of vectors", (int)sp->slq.vectors);
    return LM_OK;
}

/* The width sweep's rules (lm_hessian_sweep_job). */
static lm_status check_sweep(const lm_hessian_job_opts *o)
{
    const lm_hessian_spectra_opts *sp = &o->spectra;
    int distinct = 0;
    for (int i = 1; o->widths && i < o->n_widths; i++) distinct |= o->widths[i] != o->widths[0];
    if (!distinct) return lm_fail(LM_EINVAL, "n_widths %d: a slope needs at least two different widths", o->n_widths);
    if (sp->density || sp->diagonal)
        return lm_fail(LM_EINVAL, "spectra.%s: the width sweep sweeps the Gauss-Newton split and the blocks, not the density or the "
                       "diagonal", sp->density ? "density" : "diagonal");
    if (!sp->gauss_newton && !sp->blocks)
        return lm_fail(LM_EINVAL, "widths: nothing to sweep: neither the Gauss-Newton split nor the blocks is asked for");
    if (o->model && !strchr(o->model, 'W')) return lm_fail(LM_EINVAL, "model '%s' has no W to replace by the width", o->model);
    return LM_OK;
}

lm_status lm_hessian_job_opts_validate(const lm_hessian_job_opts *o)
{
    if (o->eig.method != LM_EIG_LANCZOS && o->eig.method != LM_EIG_POWER)
        return lm_fail(LM_EINVAL, "eig.method %d is not lanczos or power", (int)o->eig.method);
    if (o->eig.max_steps < 0) return lm_fail(LM_EINVAL, "eig.max_steps %d must not be negative", o->eig.max_steps);
    if (!(o->eig.tol >= 0)) return lm_fail(LM_EINVAL, "eig.tol %g must not be negative", o->eig.tol);
    if (o->loss_top < 0 || o->loss_top > LM_EIG_MAX_TOP)
        return lm_fail(LM_EINVAL, "loss_top %d is not in 0..%d", o->loss_top, LM_EIG_MAX_TOP);
    if (o->hutchinson < 0) return lm_fail(LM_EINVAL, "hutchinson %d must not be negative", o->hutchinson);
    lm_status st = check_spectra(&o->spectra);
    return !st && o->widths ? check_sweep(o) : st;
}

lm_status hj_options(const lm_probe_inputs *in, const lm_hessian_job_opts *o, int sweep, hj_ctx *x)
{
    memset(x, 0, sizeof *x);
    if (!in || !o || !in->train || !in->x || in->n < 1 || (!sweep && !in->model))
        return lm_fail(LM_EINVAL, "hessian job: a model, its data and at least one input are required");
    if (!o->model || !o->data) return lm_fail(LM_EINVAL, "hessian job: the model and data names are required");
    if (o->output < LM_OUTPUT_SUM || o->output >= in->outputs)
        return lm_fail(LM_EINVAL, "hessian job: output %d is not an output of the model's %d", o->output, in->outputs);
    lm_status st = lm_hessian_job_opts_validate(o);
    if (!st && sweep && !o->widths) st = check_sweep(o);
    if (st) return st;
    x->o = *o;
    lm_hessian_spectra_opts *sp = &x->o.spectra;
    if (!sp->slq.probes) sp->slq.probes = 10;
    if (!sp->slq.steps) sp->slq.steps = 80;
    if (!sp->grid) sp->grid = 400;
    if (!sp->block_top) sp->block_top = 3;
    sp->slq.seed = o->eig.seed, sp->slq.mem_cap = o->eig.mem_cap;
    x->in = in, x->m = in->model, x->x = in->x, x->n = in->n;
    return LM_OK;
}

/* ---- the loss ---- */

lm_status hj_loss_prepare(const lm_probe_inputs *in, lm_report *rep, hj_ctx *x)
{
    const lm_dataset *d = in->train;
    x->kind = lm_run_loss(x->o.model, d->classes);
    if (!(x->o.loss_top > 0 || x->o.hutchinson > 0) && !hj_spectra_wanted(&x->o.spectra)) return LM_OK;
    int need = d->classes ? d->classes : d->target_dim;
    if (in->outputs != need) {
        snprintf(x->why, sizeof x->why, "the model has %d output%s but %s needs %d (%s)", in->outputs, in->outputs == 1 ? "" : "s",
                 x->o.data, need, d->classes ? "one per class" : "one per target value");
        lm_report_progress(rep, LM_PROGRESS_STEP, "note: no loss Hessian: %s", x->why);
        return LM_OK;
    }
    x->targets = malloc((size_t)in->n * (x->kind == LM_LOSS_XENT ? 1 : in->outputs) * sizeof *x->targets);
    if (!x->targets) return lm_fail(LM_ENOMEM, "out of memory for %d targets", in->n);
    return lm_run_targets(d, x->kind, in->n, in->outputs, x->targets);
}

lm_loss_hessian_opts hj_loss_opts(const hj_ctx *x)
{
    lm_loss_hessian_opts lo = {0};
    lo.loss = x->kind;
    lo.targets = x->targets;
    lo.eig = x->o.eig;
    lo.eig.method = LM_EIG_LANCZOS;
    lo.eig.top_k = x->o.loss_top > 0 ? x->o.loss_top : 1;
    lo.hutchinson = x->o.hutchinson > 0 ? x->o.hutchinson : -1;
    lo.coll = x->o.coll;
    return lo;
}

/* ---- the spectra ---- */

static lm_hvp_opts hvp_of(const hj_ctx *x, int which)
{
    lm_hvp_opts h = {0};
    h.coll = x->o.coll;
    if (which == 0) {
        h.target = LM_HVP_LOSS;
        h.loss = x->kind;
        h.targets = x->targets;
    } else {
        h.target = LM_HVP_MODEL;
        h.net.output = x->o.output;
    }
    return h;
}

static lm_status compute_gn(const hj_ctx *x, hj_spectra *r)
{
    lm_loss_hessian_opts lo = hj_loss_opts(x);
    double t0 = lm_job_now();
    lm_status st = lm_probe_gauss_newton(x->m, x->x, x->n, &lo, &r->gn);
    r->have_gn = !st;
    r->seconds_gn = lm_job_now() - t0;
    return st;
}

static lm_status compute_density(const hj_ctx *x, int which, hj_spectra *r)
{
    const lm_hessian_spectra_opts *sp = &x->o.spectra;
    lm_hvp_opts h = hvp_of(x, which);
    double t0 = lm_job_now();
    lm_status st = lm_probe_hessian_density(x->m, x->x, x->n, &h, &sp->slq, &r->density[which]);
    r->seconds_density[which] = lm_job_now() - t0;
    if (st) return st;
    r->have_density[which] = 1;
    r->sigma[which] = sp->sigma > 0 ? sp->sigma : lm_density_sigma(&r->density[which]);
    return LM_OK;
}

static lm_status compute_blocks(const hj_ctx *x, int which, hj_spectra *r)
{
    const lm_hessian_spectra_opts *sp = &x->o.spectra;
    lm_hvp_opts h = hvp_of(x, which);
    lm_block_opts bo = {0};
    bo.eig = x->o.eig;
    bo.eig.method = LM_EIG_LANCZOS;
    bo.eig.top_k = sp->block_top;
    /* Hutchinson with the probe's samples, exact for blocks no larger than that */
    int samples = x->o.hutchinson > 0 ? x->o.hutchinson : 100;
    bo.trace = (lm_diag_opts){samples, samples, x->o.eig.seed};
    bo.density = sp->density ? &sp->slq : NULL;
    int nb = lm_param_blocks(x->m, sp->block_kind, NULL, 0);
    r->blocks[which] = calloc(nb ? nb : 1, sizeof *r->blocks[which]);
    if (!r->blocks[which]) return lm_fail(LM_ENOMEM, "out of memory for %d blocks", nb);
    lm_status st = lm_probe_hessian_blocks(x->m, x->x, x->n, &h, sp->block_kind, &bo, r->blocks[which], &r->nblocks[which]);
    if (!st && sp->density) /* one smoothing width for every block */
        r->block_sigma[which] = sp->sigma > 0 ? sp->sigma : lm_block_density_sigma(r->blocks[which], r->nblocks[which]);
    return st;
}

static lm_status compute_diagonal(const hj_ctx *x, hj_spectra *r)
{
    size_t p = lm_model_num_params(x->m);
    lm_hvp_opts h = hvp_of(x, 0);
    lm_diag_opts o = {2000, x->o.hutchinson > 0 ? x->o.hutchinson : 100, x->o.eig.seed};
    r->diag = malloc(p * sizeof *r->diag);
    r->diag_se = malloc(p * sizeof *r->diag_se);
    if (!r->diag || !r->diag_se) return lm_fail(LM_ENOMEM, "out of memory for the diagonal of %zu parameters", p);
    r->dr.diag = r->diag, r->dr.se = r->diag_se;
    double t0 = lm_job_now();
    lm_status st = lm_probe_hessian_diagonal(x->m, x->x, x->n, &h, &o, &r->dr);
    r->seconds_diag = lm_job_now() - t0;
    r->have_diag = !st;
    return st;
}

lm_status hj_spectra_compute(const hj_ctx *x, hj_spectra *r)
{
    memset(r, 0, sizeof *r);
    const lm_hessian_spectra_opts *sp = &x->o.spectra;
    int loss = x->targets != NULL;
    lm_status st = LM_OK;
    if (sp->gauss_newton && loss) st = compute_gn(x, r);
    for (int k = loss ? 0 : 1; !st && sp->density && k < 2; k++) st = compute_density(x, k, r);
    double t0 = lm_job_now();
    for (int k = loss ? 0 : 1; !st && sp->blocks && k < 2; k++) st = compute_blocks(x, k, r);
    r->seconds_blocks = lm_job_now() - t0;
    if (!st && sp->diagonal && loss) st = compute_diagonal(x, r);
    return st;
}

void hj_spectra_free(hj_spectra *r)
{
    for (int k = 0; k < 2; k++) {
        lm_density_free(&r->density[k]);
        lm_block_spectra_free(r->blocks[k], r->nblocks[k]);
        free(r->blocks[k]);
    }
    free(r->diag), free(r->diag_se);
    memset(r, 0, sizeof *r);
}
