/* The spectra of the Hessian job in its report (hessian_job.h): the summary's lines, the JSON
 * keys and the figures. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe/hessian_job.h"
#include "probe/probe_internal.h"

static const char *const which_name[2] = {"loss Hessian", "model Hessian"};

/* ---- the summary ---- */

static void top_text(lm_report *rep, const lm_eig_result *e)
{
    for (int i = 0; i < e->ntop; i++) lm_report_printf(rep, " %.6g", e->top[i]);
    double worst = 0;
    for (int i = 0; i < e->ntop; i++) worst = fmax(worst, e->top_residual[i]);
    lm_report_printf(rep, "   (residuals <= %.1e%s)", worst, e->converged ? "" : ", NOT converged");
}

static void gn_text(lm_report *rep, const hj_spectra *r)
{
    const lm_loss_hessian_result *p[3] = {&r->gn.loss, &r->gn.gauss_newton, &r->gn.residual};
    static const char *const names[3] = {"H  loss Hessian  ", "G  Gauss-Newton  ", "R  residual part "};
    lm_report_printf(rep, "Gauss-Newton split H = G + R: G = J^T H_l J (positive semi-definite), R = sum_i (dl/dz_i) H_f(x_i) (zero at "
                          "interpolation); %.2f s\n", r->seconds_gn);
    for (int k = 0; k < 3; k++) {
        lm_report_printf(rep, "  %s norm %-11.6g top", names[k], p[k]->eig.norm);
        top_text(rep, &p[k]->eig);
        if (p[k]->samples) lm_report_printf(rep, "; trace %.6g +- %.2g", p[k]->trace, p[k]->trace_se);
        lm_report_printf(rep, "\n");
    }
    lm_report_printf(rep, "  ||R|| / ||H|| = %.4g%s\n", r->gn.residual.eig.norm / r->gn.loss.eig.norm,
                     r->gn.residual.samples ? " (the traces add up: the same Rademacher vectors)" : "");
}

static void density_text(lm_report *rep, const lm_hessian_spectra_opts *sp, const hj_spectra *r)
{
    lm_report_printf(rep, "spectral density (stochastic Lanczos quadrature, docs/theory.md §7.5): %d %s probe vectors x %d Lanczos steps, "
                          "full reorthogonalisation; nodes = Ritz values, weights = squared first eigenvector components\n",
                     sp->slq.probes, lm_random_vectors_name(sp->slq.vectors), sp->slq.steps);
    for (int k = 0; k < 2; k++) {
        if (!r->have_density[k]) continue;
        const lm_density *d = &r->density[k];
        lm_report_printf(rep, "  %-14s nodes in [%.6g, %.6g], trace ~ %.6g +- %.2g, smoothed with sigma %.3g; %d products, %.2f s\n",
                         which_name[k], d->lambda_min, d->lambda_max, d->trace, d->trace_se, r->sigma[k], d->products,
                         r->seconds_density[k]);
    }
}

static void blocks_text(lm_report *rep, const lm_hessian_spectra_opts *sp, const hj_spectra *r)
{
    lm_report_printf(rep, "per-%s spectra (the Hessian restricted to a block's parameters, P^T H P); %.2f s\n",
                     lm_block_kind_name(sp->block_kind), r->seconds_blocks);
    for (int k = 0; k < 2; k++) {
        if (!r->nblocks[k]) continue;
        lm_report_printf(rep, "  %s%s\n  %-16s %9s  %-12s %-14s %s\n", which_name[k], k ? " (averaged model)" : "", "block", "params",
                         "norm", "trace", "top eigenvalues");
        for (int b = 0; b < r->nblocks[k]; b++) {
            const lm_block_spectrum *bs = &r->blocks[k][b];
            char tr[64];
            if (bs->trace.exact) snprintf(tr, sizeof tr, "%.6g", bs->trace.trace);
            else snprintf(tr, sizeof tr, "%.4g+-%.1g", bs->trace.trace, bs->trace.trace_se);
            lm_report_printf(rep, "  %-16s %9zu  %-12.6g %-14s", bs->block.name, bs->block.count, bs->eig.norm, tr);
            top_text(rep, &bs->eig);
            lm_report_printf(rep, "\n");
        }
    }
}

static void diagonal_text(lm_report *rep, const hj_ctx *x, const hj_spectra *r)
{
    lm_report_printf(rep, "loss Hessian diagonal, %s; its sum %.6g", r->dr.exact ? "exact (one product per parameter)" : "Hutchinson",
                     r->dr.trace);
    if (!r->dr.exact) lm_report_printf(rep, " +- %.2g (%d Rademacher vectors)", r->dr.trace_se, r->dr.samples);
    lm_report_printf(rep, "; %.2f s. Per tensor:\n", r->seconds_diag);
    for (int i = 0; i < lm_model_num_tensors(x->m); i++) {
        const lm_tensor_info *ti = lm_model_tensor(x->m, i);
        if (!ti->trainable) continue;
        double sum = 0, lo = INFINITY, hi = -INFINITY;
        for (size_t j = ti->offset; j < ti->offset + ti->numel; j++)
            sum += r->diag[j], lo = fmin(lo, r->diag[j]), hi = fmax(hi, r->diag[j]);
        lm_report_printf(rep, "  %-20s mean %-12.5g min %-12.5g max %.5g\n", ti->name, sum / ti->numel, lo, hi);
    }
}

void hj_spectra_text(lm_report *rep, const hj_ctx *x, const hj_spectra *r)
{
    const lm_hessian_spectra_opts *sp = &x->o.spectra;
    if (r->have_gn) gn_text(rep, r);
    if (sp->density) density_text(rep, sp, r);
    if (sp->blocks) blocks_text(rep, sp, r);
    if (r->have_diag) diagonal_text(rep, x, r);
    if (!x->targets && (sp->gauss_newton || sp->diagonal)) lm_report_printf(rep, "no loss: no Gauss-Newton split and no diagonal\n");
}

/* ---- JSON ---- */

static void density_json(cJSON *res, const hj_ctx *x, const hj_spectra *r)
{
    static const char *const dkey[2] = {"density", "model_density"}, *const bkey[2] = {"blocks", "model_blocks"};
    const lm_hessian_spectra_opts *sp = &x->o.spectra;
    for (int k = 0; k < 2; k++) {
        if (r->have_density[k])
            cJSON_AddNumberToObject(lm_job_add(res, dkey[k], lm_density_json(&r->density[k], r->sigma[k], sp->grid)), "seconds",
                                    r->seconds_density[k]);
        else if (sp->density)
            cJSON_AddNullToObject(res, dkey[k]);
        if (sp->blocks && (k == 1 || x->targets))
            lm_job_add(res, bkey[k], lm_block_spectra_json(r->blocks[k], r->nblocks[k], r->block_sigma[k], sp->grid));
        else if (sp->blocks) cJSON_AddNullToObject(res, bkey[k]);
    }
    if (sp->blocks) cJSON_AddStringToObject(res, "block", lm_block_kind_name(sp->block_kind));
}

void hj_spectra_json(cJSON *res, const hj_ctx *x, const hj_spectra *r)
{
    const lm_hessian_spectra_opts *sp = &x->o.spectra;
    density_json(res, x, r);
    if (r->have_gn) {
        lm_job_add(res, "gauss_newton", lm_loss_hessian_result_json(&r->gn.gauss_newton));
        lm_job_add(res, "residual_part", lm_loss_hessian_result_json(&r->gn.residual));
    } else if (sp->gauss_newton) {
        cJSON_AddNullToObject(res, "gauss_newton");
        cJSON_AddNullToObject(res, "residual_part");
    }
    if (r->have_diag) {
        int p = (int)lm_model_num_params(x->m);
        cJSON_AddItemToObject(res, "diagonal", lm_json_numbers(r->diag, p));
        cJSON_AddItemToObject(res, "diagonal_se", lm_json_numbers(r->diag_se, p));
        cJSON_AddBoolToObject(res, "diagonal_exact", r->dr.exact);
        cJSON_AddNumberToObject(res, "diagonal_samples", r->dr.samples);
    } else if (sp->diagonal) {
        cJSON_AddNullToObject(res, "diagonal");
    }
}

/* ---- figures ---- */

/* The smoothed densities on a log scale: values below 1e-10 of a curve's peak are left out, each
 * curve drawn as its runs of values above that floor (one colour, one legend entry; no legend
 * for a single density). */
static lm_status density_figure(lm_report *rep, const char *file, const char *title, int grid, const lm_density *const *d,
                                const double *sigma, const char *const *labels, int count)
{
    int g = grid, max_curves = count * (g / 2 + 1), nc = 0;
    double *buf = malloc((size_t)count * 2 * g * sizeof *buf);
    lm_curve *c = malloc(max_curves * sizeof *c);
    for (int k = 0; buf && c && k < count; k++) {
        double *t = buf + (size_t)2 * k * g, *rho = t + g, peak = 0;
        lm_density_smooth(d[k], sigma[k], g, t, rho);
        for (int j = 0; j < g; j++) peak = fmax(peak, rho[j]);
        for (int j = 0, first = 1; j < g;) {
            if (!(rho[j] >= 1e-10 * peak)) {
                j++;
                continue;
            }
            int j0 = j;
            while (j < g && rho[j] >= 1e-10 * peak) j++;
            c[nc++] = (lm_curve){.label = first ? labels[k] : NULL, .kind = LM_CURVE_LINE, .n = j - j0, .x = t + j0,
                                 .y = rho + j0, .color = k % 8 + 1};
            first = 0;
        }
    }
    lm_figure f = {.file = file, .caption = title, .title = title, .xlabel = "eigenvalue", .ylabel = "spectral density", .logy = 1,
                   .legend = count > 1 ? LM_LEGEND_BELOW : LM_LEGEND_NONE, .n_curves = nc, .curves = c};
    lm_status st = buf && c ? lm_report_figure(rep, &f) : lm_fail(LM_ENOMEM, "out of memory for the figure %s", file);
    free(buf), free(c);
    return st;
}

/* Each block's spectral norm, loss and model Hessians. */
static lm_status blocks_figure(lm_report *rep, const lm_hessian_spectra_opts *sp, const hj_spectra *r)
{
    int n = r->nblocks[1], count = 0;
    double *idx = malloc((n ? n : 1) * sizeof *idx), *norm = malloc((size_t)2 * (n ? n : 1) * sizeof *norm);
    lm_curve c[2];
    for (int k = 0; idx && norm && k < 2; k++) {
        if (!r->nblocks[k]) continue;
        for (int b = 0; b < n; b++) idx[b] = b, norm[k * n + b] = r->blocks[k][b].eig.norm;
        c[count++] = (lm_curve){.label = k ? "model Hessian (averaged model): spectral norm" : "loss Hessian: spectral norm",
                                .kind = LM_CURVE_POINTS, .n = n, .x = idx, .y = norm + k * n};
    }
    char title[128];
    snprintf(title, sizeof title, "Per-%s Hessian blocks (x: block index in state_dict order)",
             lm_block_kind_name(sp->block_kind));
    lm_figure f = {.file = "hessian_blocks.png", .caption = title, .title = title, .xlabel = "block",
                   .ylabel = "spectral norm of the block", .logy = 1, .n_curves = count, .curves = c, .categorical_x = 1};
    lm_status st = !idx || !norm ? lm_fail(LM_ENOMEM, "out of memory for the block figure") : count ? lm_report_figure(rep, &f) : LM_OK;
    free(idx), free(norm);
    return st;
}

static lm_status block_density_figure(lm_report *rep, const hj_ctx *x, const hj_spectra *r, int k)
{
    static const char *const bname[2] = {"hessian_block_density_loss.png", "hessian_block_density_model.png"};
    int nb = r->nblocks[k] < LM_EIG_MAX_TOP ? r->nblocks[k] : LM_EIG_MAX_TOP;
    const lm_density *d[LM_EIG_MAX_TOP];
    const char *labels[LM_EIG_MAX_TOP];
    double sig[LM_EIG_MAX_TOP];
    for (int b = 0; b < nb; b++) {
        d[b] = &r->blocks[k][b].density;
        labels[b] = r->blocks[k][b].block.name;
        sig[b] = r->block_sigma[k];
    }
    char title[128];
    snprintf(title, sizeof title, "%s: spectral density of each block (sigma %.3g)", which_name[k], r->block_sigma[k]);
    return nb ? density_figure(rep, bname[k], title, x->o.spectra.grid, d, sig, labels, nb) : LM_OK;
}

lm_status hj_spectra_figures(lm_report *rep, const hj_ctx *x, const hj_spectra *r)
{
    static const char *const dname[2] = {"hessian_density_loss.png", "hessian_density_model.png"};
    const lm_hessian_spectra_opts *sp = &x->o.spectra;
    lm_status st = LM_OK;
    for (int k = 0; !st && k < 2; k++) {
        if (!r->have_density[k]) continue;
        char title[160];
        snprintf(title, sizeof title, "%s spectral density (SLQ: %d probes x %d steps, sigma %.3g)", which_name[k], sp->slq.probes,
                 sp->slq.steps, r->sigma[k]);
        const lm_density *d = &r->density[k];
        st = density_figure(rep, dname[k], title, sp->grid, &d, &r->sigma[k], &which_name[k], 1);
    }
    if (!st && sp->blocks) st = blocks_figure(rep, sp, r);
    for (int k = 0; !st && sp->blocks && sp->density && k < 2; k++) st = block_density_figure(rep, x, r, k);
    return st;
}
