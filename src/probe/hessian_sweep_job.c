/* The width sweep of the Hessian job (probe.h, lm_hessian_sweep_job; docs/theory.md §7.6, §7.7):
 * the Gauss-Newton split and the per-block spectral norms of the model at several widths, through
 * lm_sweep_width with a hook. The residual part R = sum_i (dl/dz_i) H_f(x_i) and the model
 * Hessian's blocks fall with width while the Gauss-Newton part stays: the transition to
 * linearity seen from the loss, layer by layer. Tables, log-log fits, figures and JSON. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe/hessian_job.h"
#include "probe/probe_internal.h"

enum { NPART = 3 }; /* H, G, R */

typedef struct {
    hj_ctx *x;
    lm_report *rep;
    int nw, nb, have_gn;
    double *width, *params;
    double *norm[NPART], *trace[NPART], *trace_se[NPART]; /* per width */
    double *block_norm;                                    /* the model Hessian's, per width x block */
    char (*names)[64];
    cJSON *rows;                                           /* the JSON of each width */
} sweep_table;

static int table_alloc(sweep_table *T, int nb)
{
    int nw = T->nw;
    T->nb = nb;
    T->width = calloc(nw, sizeof(double));
    T->params = calloc(nw, sizeof(double));
    int ok = T->width && T->params;
    for (int k = 0; k < NPART; k++) {
        T->norm[k] = calloc(nw, sizeof(double)), T->trace[k] = calloc(nw, sizeof(double)), T->trace_se[k] = calloc(nw, sizeof(double));
        ok = ok && T->norm[k] && T->trace[k] && T->trace_se[k];
    }
    T->block_norm = calloc((size_t)nw * (nb ? nb : 1), sizeof(double));
    T->names = calloc(nb ? nb : 1, sizeof *T->names);
    T->rows = cJSON_CreateArray();
    return ok && T->block_norm && T->names && T->rows;
}

static void table_free(sweep_table *T)
{
    free(T->width), free(T->params), free(T->names), free(T->block_norm);
    for (int k = 0; k < NPART; k++) free(T->norm[k]), free(T->trace[k]), free(T->trace_se[k]);
    cJSON_Delete(T->rows);
}

/* Width i's numbers from its spectra, and its JSON row. */
static void table_row(sweep_table *T, int i, int width, const hj_spectra *r)
{
    const hj_ctx *x = T->x;
    T->width[i] = width;
    T->params[i] = (double)lm_model_num_params(x->m);
    if (r->have_gn) {
        const lm_loss_hessian_result *p[NPART] = {&r->gn.loss, &r->gn.gauss_newton, &r->gn.residual};
        T->have_gn = 1;
        for (int k = 0; k < NPART; k++)
            T->norm[k][i] = p[k]->eig.norm, T->trace[k][i] = p[k]->samples ? p[k]->trace : NAN, T->trace_se[k][i] = p[k]->trace_se;
    }
    for (int b = 0; b < r->nblocks[1] && b < T->nb; b++) {
        T->block_norm[(size_t)i * T->nb + b] = r->blocks[1][b].eig.norm;
        memcpy(T->names[b], r->blocks[1][b].block.name, sizeof T->names[b]);
    }
    cJSON *row = cJSON_CreateObject();
    cJSON_AddNumberToObject(row, "width", width);
    cJSON_AddStringToObject(row, "model", lm_model_spec(x->m));
    cJSON_AddNumberToObject(row, "num_params", T->params[i]);
    if (r->have_gn) {
        cJSON *l = cJSON_AddObjectToObject(row, "loss_hessian");
        cJSON_AddItemToObject(l, "top", lm_json_numbers(r->gn.loss.eig.top, r->gn.loss.eig.ntop));
        cJSON_AddNumberToObject(l, "norm", r->gn.loss.eig.norm);
        if (r->gn.loss.samples) cJSON_AddNumberToObject(l, "trace", r->gn.loss.trace);
    }
    hj_spectra_json(row, x, r);
    cJSON_AddItemToArray(T->rows, row);
}

/* The sweep's hook: the spectra of each model. */
static lm_status on_model(void *ctx, const lm_sweep_model *m)
{
    sweep_table *T = ctx;
    hj_ctx *x = T->x;
    x->m = m->model;
    if (!T->rows && !table_alloc(T, x->o.spectra.blocks ? lm_param_blocks(m->model, x->o.spectra.block_kind, NULL, 0) : 0))
        return lm_fail(LM_ENOMEM, "out of memory for the sweep's table");
    lm_report_progress(T->rep, LM_PROGRESS_STEP, "width %d, %zu parameters ...", m->width, lm_model_num_params(m->model));
    hj_spectra r;
    lm_status st = hj_spectra_compute(x, &r);
    if (!st) table_row(T, m->width_index, m->width, &r);
    hj_spectra_free(&r);
    x->m = NULL;
    return st;
}

/* ---- the report ---- */

static void fit_text(lm_report *rep, cJSON *fits, const char *name, const double *w, const double *v, int n, int stride)
{
    double *y = malloc(n * sizeof *y);
    lm_fit f;
    int ok = y != NULL;
    for (int i = 0; ok && i < n; i++) ok = (y[i] = v[(size_t)i * stride]) > 0 && isfinite(y[i]);
    if (ok && lm_loglog_fit(w, y, n, &f) == LM_OK) {
        lm_report_printf(rep, "  %-34s slope %+.3f, 95%% interval [%+.3f, %+.3f]\n", name, f.slope, f.ci_lo, f.ci_hi);
        lm_report_measured(rep, name, f.slope);
        cJSON *o = cJSON_AddObjectToObject(fits, name);
        cJSON_AddNumberToObject(o, "slope", f.slope);
        cJSON_AddNumberToObject(o, "ci_lo", f.ci_lo);
        cJSON_AddNumberToObject(o, "ci_hi", f.ci_hi);
        cJSON_AddNumberToObject(o, "r2", f.r2);
    }
    free(y);
}

static void gn_table(lm_report *rep, const sweep_table *T)
{
    char cell[128];
    lm_report_printf(rep, "Gauss-Newton split H = G + R over widths (norm = largest |eigenvalue|; traces by Hutchinson)\n");
    lm_report_printf(rep, "  %7s %9s  %-11s %-11s %-11s %-9s %-20s %-20s %s\n", "width", "params", "||H||", "||G||", "||R||",
                     "||R||/||H||", "tr H", "tr G", "tr R");
    for (int i = 0; i < T->nw; i++) {
        lm_report_printf(rep, "  %7.0f %9.0f  %-11.5g %-11.5g %-11.5g %-11.4g", T->width[i], T->params[i], T->norm[0][i],
                         T->norm[1][i], T->norm[2][i], T->norm[2][i] / T->norm[0][i]);
        for (int k = 0; k < NPART; k++) {
            snprintf(cell, sizeof cell, "%.5g+-%.1g", T->trace[k][i], T->trace_se[k][i]);
            lm_report_printf(rep, " %-20s", cell);
        }
        lm_report_printf(rep, "\n");
    }
}

static void block_table(lm_report *rep, const sweep_table *T)
{
    lm_report_printf(rep, "model Hessian (averaged model) per %s block: spectral norm over widths\n",
                     lm_block_kind_name(T->x->o.spectra.block_kind));
    lm_report_printf(rep, "  %7s", "width");
    for (int b = 0; b < T->nb; b++) lm_report_printf(rep, " %-12s", T->names[b]);
    lm_report_printf(rep, "\n");
    for (int i = 0; i < T->nw; i++) {
        lm_report_printf(rep, "  %7.0f", T->width[i]);
        for (int b = 0; b < T->nb; b++) lm_report_printf(rep, " %-12.5g", T->block_norm[(size_t)i * T->nb + b]);
        lm_report_printf(rep, "\n");
    }
}

static void sweep_text(lm_report *rep, cJSON *fits, const sweep_table *T)
{
    char name[128];
    int blocks = T->x->o.spectra.blocks;
    if (T->have_gn) gn_table(rep, T);
    if (blocks) block_table(rep, T);
    lm_report_printf(rep, "log-log fits against width (values that are 0 are not fitted):\n");
    static const char *const pname[NPART] = {"||H|| loss Hessian", "||G|| Gauss-Newton", "||R|| residual part"};
    for (int k = 0; T->have_gn && k < NPART; k++) fit_text(rep, fits, pname[k], T->width, T->norm[k], T->nw, 1);
    for (int b = 0; blocks && b < T->nb; b++) {
        snprintf(name, sizeof name, "model block %s", T->names[b]);
        fit_text(rep, fits, name, T->width, T->block_norm + b, T->nw, T->nb);
    }
}

static lm_status gn_figure(lm_report *rep, const sweep_table *T)
{
    static const char *const label[NPART] = {"||H||, the loss Hessian", "||G||, the Gauss-Newton part J^T H_l J",
                                             "||R||, the residual part sum_i (dl/dz_i) H_f(x_i)"};
    lm_curve c[NPART];
    for (int k = 0; k < NPART; k++)
        c[k] = (lm_curve){.label = label[k], .kind = LM_CURVE_LINESPOINTS, .n = T->nw, .x = T->width, .y = T->norm[k]};
    lm_figure f = {.file = "gauss_newton_sweep.png", .caption = "Gauss-Newton split of the loss Hessian over widths",
                   .title = "Gauss-Newton split of the loss Hessian over widths", .xlabel = "width", .ylabel = "spectral norm",
                   .logx = 1, .logy = 1, .n_curves = NPART, .curves = c};
    return lm_report_figure(rep, &f);
}

static lm_status block_figure(lm_report *rep, const sweep_table *T)
{
    int nb = T->nb < LM_EIG_MAX_TOP ? T->nb : LM_EIG_MAX_TOP;
    lm_curve c[LM_EIG_MAX_TOP];
    char label[LM_EIG_MAX_TOP][80];
    double *y = malloc((size_t)(nb ? nb : 1) * T->nw * sizeof *y);
    if (!y) return lm_fail(LM_ENOMEM, "out of memory for the block figure");
    for (int b = 0; b < nb; b++) {
        for (int i = 0; i < T->nw; i++) y[(size_t)b * T->nw + i] = T->block_norm[(size_t)i * T->nb + b];
        snprintf(label[b], sizeof label[b], "block %s", T->names[b]);
        c[b] = (lm_curve){.label = label[b], .kind = LM_CURVE_LINESPOINTS, .n = T->nw, .x = T->width, .y = y + (size_t)b * T->nw};
    }
    lm_figure f = {.file = "block_norms_sweep.png", .caption = "Model Hessian (averaged model) per block over widths",
                   .title = "Model Hessian (averaged model) per block over widths", .xlabel = "width",
                   .ylabel = "spectral norm of the block", .logx = 1, .logy = 1, .n_curves = nb, .curves = c};
    lm_status st = lm_report_figure(rep, &f);
    free(y);
    return st;
}

static lm_status sweep_report(lm_report *rep, const lm_probe_inputs *in, sweep_table *T, double t0, char **json)
{
    const lm_hessian_job_opts *o = &T->x->o;
    cJSON *res = lm_job_result(in, "hessian", o->output, o->folder, o->coll), *fits = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "template", o->model);
    lm_report_printf(rep, "width sweep of %s (W = ", o->model);
    for (int i = 0; i < o->n_widths; i++) lm_report_printf(rep, "%s%d", i ? "," : "", o->widths[i]);
    lm_report_printf(rep, "), %s parameterization; inputs: the first %d training samples of %s\n",
                     o->param == LM_PARAM_NTK ? "ntk" : "standard", in->n, o->data);
    sweep_text(rep, fits, T);
    lm_status st = T->have_gn ? gn_figure(rep, T) : LM_OK;
    if (!st && o->spectra.blocks && T->nb) st = block_figure(rep, T);
    if (!st) st = lm_report_status(rep);
    cJSON_AddItemToObject(res, "sweep", T->rows);
    T->rows = NULL;
    cJSON_AddItemToObject(res, "fits", fits);
    cJSON_AddNumberToObject(res, "seconds", lm_job_now() - t0);
    if (st) cJSON_Delete(res);
    return st ? st : lm_job_json_out(res, json);
}

lm_status lm_hessian_sweep_job(const lm_probe_inputs *in, const lm_hessian_job_opts *o, lm_report *r, char **json)
{
    if (json) *json = NULL;
    if (!r || !json) return lm_fail(LM_EINVAL, "hessian sweep: a report and a place for the JSON are required");
    hj_ctx x;
    lm_status st = hj_options(in, o, 1, &x);
    if (st) return st;
    double t0 = lm_job_now();
    sweep_table T = {.x = &x, .rep = r, .nw = o->n_widths};
    lm_sweep_opts so = {.template_spec = o->model, .in = in->train->shape, .param = o->param, .widths = o->widths,
                        .n_widths = o->n_widths, .seeds = 1, .seed = o->seed, .probe = LM_SWEEP_HOOK, .x = in->x, .n = in->n,
                        .on_model = on_model, .hook_ctx = &T};
    lm_sweep_result sr;
    st = hj_loss_prepare(in, r, &x);
    if (!st) st = lm_sweep_width(&so, &sr);
    if (!st) lm_sweep_free(&sr);
    if (!st) st = sweep_report(r, in, &T, t0, json);
    table_free(&T);
    free(x.targets);
    return st;
}
