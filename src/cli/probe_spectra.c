/* The spectra of linmass probe hessian (probe_spectra.h): options, the calls into the library
 * (include/linmass/probe.h), the summary, the JSON keys, the plots and the width sweep. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/plot.h"
#include "cli/probe_spectra.h"
#include "linmass/dist.h"

static const char *const which_name[2] = {"loss Hessian", "model Hessian"};

/* ---- options ---- */

int spectra_check(const cli_command *c, spectra_cli *sp)
{
    if (sp->probes < 1) return cli_usage_error(c, "--probes %d must be at least 1", sp->probes);
    if (sp->steps < 1) return cli_usage_error(c, "--lanczos-steps %d must be at least 1", sp->steps);
    if (sp->grid < 2) return cli_usage_error(c, "--grid %d must be at least 2", sp->grid);
    if (!(sp->sigma >= 0)) return cli_usage_error(c, "--sigma %g must not be negative", sp->sigma);
    if (sp->block_top < 1 || sp->block_top > LM_EIG_MAX_TOP)
        return cli_usage_error(c, "--block-top %d must be in 1..%d", sp->block_top, LM_EIG_MAX_TOP);
    if (!strcmp(sp->vectors, "rademacher")) sp->rv = LM_VECTORS_RADEMACHER;
    else if (!strcmp(sp->vectors, "gaussian")) sp->rv = LM_VECTORS_GAUSSIAN;
    else return cli_usage_error(c, "--vectors: '%s' is not rademacher or gaussian", sp->vectors);
    if (sp->block && !strcmp(sp->block, "layer")) sp->bk = LM_BLOCK_LAYER;
    else if (sp->block && !strcmp(sp->block, "tensor")) sp->bk = LM_BLOCK_TENSOR;
    else if (sp->block) return cli_usage_error(c, "--block: '%s' is not layer or tensor", sp->block);
    if (!sp->widths_text) return 0;
    if (sp->density || sp->diagonal) return cli_usage_error(c, "--widths sweeps --gauss-newton and --block, not --density or --diagonal");
    if (!sp->gauss_newton && !sp->block) return cli_usage_error(c, "--widths needs --gauss-newton or --block (what to sweep)");
    return parse_widths(c, sp->widths_text, &sp->widths, &sp->nwidths);
}

int spectra_wanted(const spectra_cli *sp) { return sp->density || sp->block || sp->gauss_newton || sp->diagonal; }

int spectra_width_spec(const cli_command *c, const char *tmpl, int width, char *buf, size_t len)
{
    if (!strchr(tmpl, 'W')) return cli_usage_error(c, "--widths: the model '%s' has no W to replace by the width", tmpl);
    lm_status st = lm_spec_with_width(tmpl, width, buf, len);
    return st ? cli_fail(c->command, st) : 0;
}

/* ---- computing ---- */

static lm_hvp_opts hvp_of(const spectra_ctx *x, int which)
{
    lm_hvp_opts h = {0};
    h.coll = lm_dist_collective();
    if (which == 0) {
        h.target = LM_HVP_LOSS;
        h.loss = x->kind;
        h.targets = x->targets;
    } else {
        h.target = LM_HVP_MODEL;
        h.net.output = x->s->output;
    }
    return h;
}

lm_loss_hessian_opts spectra_loss_opts(const spectra_ctx *x)
{
    lm_loss_hessian_opts lo = {0};
    lo.loss = x->kind;
    lo.targets = x->targets;
    lo.eig = x->eig;
    lo.eig.method = LM_EIG_LANCZOS;
    lo.eig.top_k = x->loss_top > 0 ? x->loss_top : 1;
    lo.hutchinson = x->hutchinson > 0 ? x->hutchinson : -1;
    lo.coll = lm_dist_collective();
    return lo;
}

static lm_status compute_gn(const spectra_ctx *x, spectra_run *r)
{
    lm_loss_hessian_opts lo = spectra_loss_opts(x);
    double t0 = cli_now();
    lm_status st = lm_probe_gauss_newton(x->s->in.model, x->s->in.x, x->s->in.n, &lo, &r->gn);
    r->have_gn = !st;
    r->seconds_gn = cli_now() - t0;
    return st;
}

static lm_status compute_density(const spectra_cli *sp, const spectra_ctx *x, int which, spectra_run *r)
{
    lm_hvp_opts h = hvp_of(x, which);
    lm_slq_opts so = {sp->probes, sp->steps, sp->rv, x->eig.seed, x->eig.mem_cap};
    double t0 = cli_now();
    lm_status st = lm_probe_hessian_density(x->s->in.model, x->s->in.x, x->s->in.n, &h, &so, &r->density[which]);
    r->seconds_density[which] = cli_now() - t0;
    if (st) return st;
    r->have_density[which] = 1;
    r->sigma[which] = sp->sigma > 0 ? sp->sigma : lm_density_sigma(&r->density[which]);
    return LM_OK;
}

static lm_status compute_blocks(const spectra_cli *sp, const spectra_ctx *x, int which, spectra_run *r)
{
    lm_hvp_opts h = hvp_of(x, which);
    lm_slq_opts so = {sp->probes, sp->steps, sp->rv, x->eig.seed, x->eig.mem_cap};
    lm_block_opts bo = {0};
    bo.eig = x->eig;
    bo.eig.method = LM_EIG_LANCZOS;
    bo.eig.top_k = sp->block_top;
    /* Hutchinson with the probe's samples, exact for blocks no larger than that */
    int samples = x->hutchinson > 0 ? x->hutchinson : 100;
    bo.trace = (lm_diag_opts){samples, samples, x->eig.seed};
    bo.density = sp->density ? &so : NULL;
    int nb = lm_param_blocks(x->s->in.model, sp->bk, NULL, 0);
    r->blocks[which] = calloc(nb ? nb : 1, sizeof *r->blocks[which]);
    if (!r->blocks[which]) return lm_fail(LM_ENOMEM, "out of memory for %d blocks", nb);
    lm_status st = lm_probe_hessian_blocks(x->s->in.model, x->s->in.x, x->s->in.n, &h, sp->bk, &bo, r->blocks[which], &r->nblocks[which]);
    if (!st && sp->density) /* one smoothing width for every block */
        r->block_sigma[which] = sp->sigma > 0 ? sp->sigma : lm_block_density_sigma(r->blocks[which], r->nblocks[which]);
    return st;
}

static lm_status compute_diagonal(const spectra_ctx *x, spectra_run *r)
{
    size_t p = lm_model_num_params(x->s->in.model);
    lm_hvp_opts h = hvp_of(x, 0);
    lm_diag_opts o = {2000, x->hutchinson > 0 ? x->hutchinson : 100, x->eig.seed};
    r->diag = malloc(p * sizeof *r->diag);
    r->diag_se = malloc(p * sizeof *r->diag_se);
    if (!r->diag || !r->diag_se) return lm_fail(LM_ENOMEM, "out of memory for the diagonal of %zu parameters", p);
    r->dr.diag = r->diag, r->dr.se = r->diag_se;
    double t0 = cli_now();
    lm_status st = lm_probe_hessian_diagonal(x->s->in.model, x->s->in.x, x->s->in.n, &h, &o, &r->dr);
    r->seconds_diag = cli_now() - t0;
    r->have_diag = !st;
    return st;
}

int spectra_compute(const cli_command *c, const spectra_cli *sp, const spectra_ctx *x, spectra_run *r)
{
    memset(r, 0, sizeof *r);
    int loss = x->targets != NULL;
    lm_status st = LM_OK;
    if (sp->gauss_newton && loss) st = compute_gn(x, r);
    for (int k = loss ? 0 : 1; !st && sp->density && k < 2; k++) st = compute_density(sp, x, k, r);
    double t0 = cli_now();
    for (int k = loss ? 0 : 1; !st && sp->block && k < 2; k++) st = compute_blocks(sp, x, k, r);
    r->seconds_blocks = cli_now() - t0;
    if (!st && sp->diagonal && loss) st = compute_diagonal(x, r);
    return st ? probe_fail(c, st) : 0;
}

void spectra_free(spectra_run *r)
{
    for (int k = 0; k < 2; k++) {
        lm_density_free(&r->density[k]);
        lm_block_spectra_free(r->blocks[k], r->nblocks[k]);
        free(r->blocks[k]);
    }
    free(r->diag), free(r->diag_se);
}

/* ---- the summary ---- */

static void top_text(sbuf *t, const lm_eig_result *e)
{
    for (int i = 0; i < e->ntop; i++) sb_printf(t, " %.6g", e->top[i]);
    double worst = 0;
    for (int i = 0; i < e->ntop; i++) worst = fmax(worst, e->top_residual[i]);
    sb_printf(t, "   (residuals <= %.1e%s)", worst, e->converged ? "" : ", NOT converged");
}

static void gn_text(sbuf *t, const spectra_run *r)
{
    const lm_loss_hessian_result *p[3] = {&r->gn.loss, &r->gn.gauss_newton, &r->gn.residual};
    static const char *const names[3] = {"H  loss Hessian  ", "G  Gauss-Newton  ", "R  residual part "};
    sb_printf(t, "Gauss-Newton split H = G + R: G = J^T H_l J (positive semi-definite), R = sum_i (dl/dz_i) H_f(x_i) (zero at "
                 "interpolation); %.2f s\n", r->seconds_gn);
    for (int k = 0; k < 3; k++) {
        sb_printf(t, "  %s norm %-11.6g top", names[k], p[k]->eig.norm);
        top_text(t, &p[k]->eig);
        if (p[k]->samples) sb_printf(t, "; trace %.6g +- %.2g", p[k]->trace, p[k]->trace_se);
        sb_printf(t, "\n");
    }
    sb_printf(t, "  ||R|| / ||H|| = %.4g%s\n", r->gn.residual.eig.norm / r->gn.loss.eig.norm,
              r->gn.residual.samples ? " (the traces add up: the same Rademacher vectors)" : "");
}

static void density_text(sbuf *t, const spectra_cli *sp, const spectra_run *r)
{
    sb_printf(t, "spectral density (stochastic Lanczos quadrature, docs/theory.md §7.5): %d %s probe vectors x %d Lanczos steps, "
                 "full reorthogonalisation; nodes = Ritz values, weights = squared first eigenvector components\n",
              sp->probes, sp->vectors, sp->steps);
    for (int k = 0; k < 2; k++) {
        if (!r->have_density[k]) continue;
        const lm_density *d = &r->density[k];
        sb_printf(t, "  %-14s nodes in [%.6g, %.6g], trace ~ %.6g +- %.2g, smoothed with sigma %.3g; %d products, %.2f s\n",
                  which_name[k], d->lambda_min, d->lambda_max, d->trace, d->trace_se, r->sigma[k], d->products,
                  r->seconds_density[k]);
    }
}

static void blocks_text(sbuf *t, const spectra_cli *sp, const spectra_run *r)
{
    sb_printf(t, "per-%s spectra (the Hessian restricted to a block's parameters, P^T H P); %.2f s\n",
              sp->bk == LM_BLOCK_LAYER ? "layer" : "tensor", r->seconds_blocks);
    for (int k = 0; k < 2; k++) {
        if (!r->nblocks[k]) continue;
        sb_printf(t, "  %s%s\n  %-16s %9s  %-12s %-14s %s\n", which_name[k], k ? " (averaged model)" : "", "block", "params",
                  "norm", "trace", "top eigenvalues");
        for (int b = 0; b < r->nblocks[k]; b++) {
            const lm_block_spectrum *bs = &r->blocks[k][b];
            char tr[64];
            if (bs->trace.exact) snprintf(tr, sizeof tr, "%.6g", bs->trace.trace);
            else snprintf(tr, sizeof tr, "%.4g+-%.1g", bs->trace.trace, bs->trace.trace_se);
            sb_printf(t, "  %-16s %9zu  %-12.6g %-14s", bs->block.name, bs->block.count, bs->eig.norm, tr);
            top_text(t, &bs->eig);
            sb_printf(t, "\n");
        }
    }
}

static void diagonal_text(sbuf *t, const spectra_ctx *x, const spectra_run *r)
{
    const lm_model *m = x->s->in.model;
    sb_printf(t, "loss Hessian diagonal, %s; its sum %.6g", r->dr.exact ? "exact (one product per parameter)" : "Hutchinson",
              r->dr.trace);
    if (!r->dr.exact) sb_printf(t, " +- %.2g (%d Rademacher vectors)", r->dr.trace_se, r->dr.samples);
    sb_printf(t, "; %.2f s. Per tensor:\n", r->seconds_diag);
    for (int i = 0; i < lm_model_num_tensors(m); i++) {
        const lm_tensor_info *ti = lm_model_tensor(m, i);
        if (!ti->trainable) continue;
        double sum = 0, lo = INFINITY, hi = -INFINITY;
        for (size_t j = ti->offset; j < ti->offset + ti->numel; j++)
            sum += r->diag[j], lo = fmin(lo, r->diag[j]), hi = fmax(hi, r->diag[j]);
        sb_printf(t, "  %-20s mean %-12.5g min %-12.5g max %.5g\n", ti->name, sum / ti->numel, lo, hi);
    }
}

void spectra_text(sbuf *t, const spectra_cli *sp, const spectra_ctx *x, const spectra_run *r)
{
    if (r->have_gn) gn_text(t, r);
    if (sp->density) density_text(t, sp, r);
    if (sp->block) blocks_text(t, sp, r);
    if (r->have_diag) diagonal_text(t, x, r);
    if (!x->targets && (sp->gauss_newton || sp->diagonal)) sb_printf(t, "no loss: no Gauss-Newton split and no diagonal\n");
}

/* ---- JSON ---- */

void spectra_json(cJSON *res, const spectra_cli *sp, const spectra_ctx *x, const spectra_run *r)
{
    static const char *const dkey[2] = {"density", "model_density"}, *const bkey[2] = {"blocks", "model_blocks"};
    for (int k = 0; k < 2; k++) {
        if (r->have_density[k])
            cJSON_AddNumberToObject(add_json(res, dkey[k], lm_density_json(&r->density[k], r->sigma[k], sp->grid)), "seconds",
                                    r->seconds_density[k]);
        else if (sp->density)
            cJSON_AddNullToObject(res, dkey[k]);
        if (sp->block && (k == 1 || x->targets))
            add_json(res, bkey[k], lm_block_spectra_json(r->blocks[k], r->nblocks[k], r->block_sigma[k], sp->grid));
        else if (sp->block) cJSON_AddNullToObject(res, bkey[k]);
    }
    if (sp->block) cJSON_AddStringToObject(res, "block", sp->block);
    if (r->have_gn) {
        add_json(res, "gauss_newton", lm_loss_hessian_result_json(&r->gn.gauss_newton));
        add_json(res, "residual_part", lm_loss_hessian_result_json(&r->gn.residual));
    } else if (sp->gauss_newton) {
        cJSON_AddNullToObject(res, "gauss_newton");
        cJSON_AddNullToObject(res, "residual_part");
    }
    if (r->have_diag) {
        size_t p = lm_model_num_params(x->s->in.model);
        cJSON_AddItemToObject(res, "diagonal", number_array(r->diag, (int)p));
        cJSON_AddItemToObject(res, "diagonal_se", number_array(r->diag_se, (int)p));
        cJSON_AddBoolToObject(res, "diagonal_exact", r->dr.exact);
        cJSON_AddNumberToObject(res, "diagonal_samples", r->dr.samples);
    } else if (sp->diagonal) {
        cJSON_AddNullToObject(res, "diagonal");
    }
}

/* ---- plots ---- */

/* The smoothed densities on a log scale: values below 1e-10 of a curve's peak are left out, each
 * curve drawn as its runs of values above that floor (one colour, one legend entry). */
static int density_plot(const char *png, const char *title, const spectra_cli *sp, const lm_density *const *d,
                        const double *sigma, const char *const *labels, int count)
{
    int g = sp->grid, max_curves = count * (g / 2 + 1), nc = 0;
    double *buf = malloc((size_t)count * 2 * g * sizeof *buf);
    plot_curve *c = malloc(max_curves * sizeof *c);
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
            c[nc++] = (plot_curve){.label = first ? labels[k] : NULL, .n = j - j0, .x = t + j0, .y = rho + j0,
                                   .kind = PLOT_LINE, .color = k % 8 + 1};
            first = 0;
        }
    }
    plot_frame f = {.title = title, .xlabel = "eigenvalue", .ylabel = "spectral density", .logy = 1,
                    .key = count > 1 ? PLOT_KEY_BELOW : PLOT_KEY_NONE};
    int ok = buf && c && plot_figure(png, &f, c, nc);
    free(buf), free(c);
    return ok;
}

/* Each block's spectral norm, loss and model Hessians. */
static int blocks_plot(const char *png, const spectra_cli *sp, const spectra_run *r)
{
    int n = r->nblocks[1];
    double *idx = malloc(n * sizeof *idx), *norm[2] = {malloc(n * sizeof(double)), malloc(n * sizeof(double))};
    plot_curve c[2];
    int count = 0;
    for (int k = 0; idx && norm[0] && norm[1] && k < 2; k++) {
        if (!r->nblocks[k]) continue;
        for (int b = 0; b < n; b++) idx[b] = b, norm[k][b] = r->blocks[k][b].eig.norm;
        c[count++] = (plot_curve){.label = k ? "model Hessian (averaged model): spectral norm" : "loss Hessian: spectral norm",
                                  .n = n, .x = idx, .y = norm[k], .kind = PLOT_POINTS};
    }
    char title[128];
    snprintf(title, sizeof title, "Per-%s Hessian blocks (x: block index in state_dict order)", sp->bk == LM_BLOCK_LAYER ? "layer" : "tensor");
    plot_frame f = {.title = title, .xlabel = "block", .ylabel = "spectral norm of the block", .logy = 1, .categorical_x = 1};
    int ok = count && plot_figure(png, &f, c, count);
    free(idx), free(norm[0]), free(norm[1]);
    return ok;
}

static int add_png(const char *out, const char *name, int ok, sbuf *t, const char **pngs, int *n, int max)
{
    if (!ok || *n >= max) return 0;
    sb_printf(t, "plot: %s/plots/%s\n", out, name);
    pngs[(*n)++] = name;
    return 1;
}

int spectra_plots(const char *out, const spectra_cli *sp, const spectra_run *r, sbuf *t, const char **pngs, int max)
{
    char png[1200];
    int n = 0;
    static const char *const dname[2] = {"hessian_density_loss.png", "hessian_density_model.png"};
    static const char *const bname[2] = {"hessian_block_density_loss.png", "hessian_block_density_model.png"};
    for (int k = 0; k < 2; k++) {
        if (!r->have_density[k]) continue;
        char title[160];
        snprintf(title, sizeof title, "%s spectral density (SLQ: %d probes x %d steps, sigma %.3g)", which_name[k],
                 sp->probes, sp->steps, r->sigma[k]);
        const lm_density *d = &r->density[k];
        const char *label = which_name[k];
        snprintf(png, sizeof png, "%s/plots/%s", out, dname[k]);
        add_png(out, dname[k], density_plot(png, title, sp, &d, &r->sigma[k], &label, 1), t, pngs, &n, max);
    }
    if (sp->block) {
        snprintf(png, sizeof png, "%s/plots/hessian_blocks.png", out);
        add_png(out, "hessian_blocks.png", blocks_plot(png, sp, r), t, pngs, &n, max);
    }
    for (int k = 0; sp->block && sp->density && k < 2; k++) {
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
        snprintf(png, sizeof png, "%s/plots/%s", out, bname[k]);
        if (nb) add_png(out, bname[k], density_plot(png, title, sp, d, sig, labels, nb), t, pngs, &n, max);
    }
    return n;
}
