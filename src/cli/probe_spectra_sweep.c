/* linmass probe hessian --widths: the Gauss-Newton split and the per-block spectral norms of the
 * model at several widths (docs/theory.md §7.6, §7.7): the residual part R = sum_i (dl/dz_i)
 * H_f(x_i) and the model Hessian's blocks fall with width while the Gauss-Newton part stays, the
 * transition to linearity seen from the loss, layer by layer. A table, log-log fits, two plots and
 * a run folder. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/plot.h"
#include "cli/probe_spectra.h"
#include "linmass/dist.h"

enum { NPART = 3 }; /* H, G, R */

typedef struct {
    int nw, nb, have_gn, have_loss_blocks;
    double *width, *params;
    double *norm[NPART], *trace[NPART], *trace_se[NPART]; /* per width */
    double *block_norm[2];                                 /* per width x block: loss, model */
    char (*names)[64];
    cJSON *rows;                                           /* the JSON of each width */
} sweep_table;

static int table_alloc(sweep_table *T, int nw, int nb)
{
    memset(T, 0, sizeof *T);
    T->nw = nw, T->nb = nb;
    T->width = calloc(nw, sizeof(double));
    T->params = calloc(nw, sizeof(double));
    int ok = T->width && T->params;
    for (int k = 0; k < NPART; k++) {
        T->norm[k] = calloc(nw, sizeof(double)), T->trace[k] = calloc(nw, sizeof(double)), T->trace_se[k] = calloc(nw, sizeof(double));
        ok = ok && T->norm[k] && T->trace[k] && T->trace_se[k];
    }
    for (int k = 0; k < 2; k++) ok = ok && (T->block_norm[k] = calloc((size_t)nw * (nb ? nb : 1), sizeof(double)));
    T->names = calloc(nb ? nb : 1, sizeof *T->names);
    T->rows = cJSON_CreateArray();
    return ok && T->names && T->rows;
}

static void table_free(sweep_table *T)
{
    free(T->width), free(T->params), free(T->names);
    for (int k = 0; k < NPART; k++) free(T->norm[k]), free(T->trace[k]), free(T->trace_se[k]);
    for (int k = 0; k < 2; k++) free(T->block_norm[k]);
    cJSON_Delete(T->rows);
}

/* Width i's numbers from its run, and its JSON row. */
static void table_row(sweep_table *T, int i, int width, const spectra_cli *sp, const spectra_ctx *x, const spectra_run *r)
{
    T->width[i] = width;
    T->params[i] = (double)lm_model_num_params(x->s->in.model);
    if (r->have_gn) {
        const lm_loss_hessian_result *p[NPART] = {&r->gn.loss, &r->gn.gauss_newton, &r->gn.residual};
        T->have_gn = 1;
        for (int k = 0; k < NPART; k++)
            T->norm[k][i] = p[k]->eig.norm, T->trace[k][i] = p[k]->samples ? p[k]->trace : NAN, T->trace_se[k][i] = p[k]->trace_se;
    }
    for (int k = 0; k < 2; k++)
        for (int b = 0; b < r->nblocks[k] && b < T->nb; b++) {
            T->block_norm[k][(size_t)i * T->nb + b] = r->blocks[k][b].eig.norm;
            if (!k) T->have_loss_blocks = 1;
            memcpy(T->names[b], r->blocks[k][b].block.name, sizeof T->names[b]);
        }
    cJSON *row = cJSON_CreateObject();
    cJSON_AddNumberToObject(row, "width", width);
    cJSON_AddStringToObject(row, "model", lm_model_spec(x->s->in.model));
    cJSON_AddNumberToObject(row, "num_params", T->params[i]);
    if (r->have_gn) {
        cJSON *l = cJSON_AddObjectToObject(row, "loss_hessian");
        cJSON_AddItemToObject(l, "top", number_array(r->gn.loss.eig.top, r->gn.loss.eig.ntop));
        cJSON_AddNumberToObject(l, "norm", r->gn.loss.eig.norm);
        if (r->gn.loss.samples) cJSON_AddNumberToObject(l, "trace", r->gn.loss.trace);
    }
    spectra_json(row, sp, x, r);
    cJSON_AddItemToArray(T->rows, row);
}

/* ---- the report ---- */

static void fit_text(sbuf *t, cJSON *fits, const char *name, const double *w, const double *v, int n, int stride)
{
    double *y = malloc(n * sizeof *y);
    lm_fit f;
    int ok = y != NULL;
    for (int i = 0; ok && i < n; i++) ok = (y[i] = v[(size_t)i * stride]) > 0 && isfinite(y[i]);
    if (ok && lm_loglog_fit(w, y, n, &f) == LM_OK) {
        sb_printf(t, "  %-34s slope %+.3f, 95%% interval [%+.3f, %+.3f]\n", name, f.slope, f.ci_lo, f.ci_hi);
        cJSON *o = cJSON_AddObjectToObject(fits, name);
        cJSON_AddNumberToObject(o, "slope", f.slope);
        cJSON_AddNumberToObject(o, "ci_lo", f.ci_lo);
        cJSON_AddNumberToObject(o, "ci_hi", f.ci_hi);
        cJSON_AddNumberToObject(o, "r2", f.r2);
    }
    free(y);
}

static void sweep_text(sbuf *t, cJSON *fits, const sweep_table *T, const spectra_cli *sp)
{
    char name[128];
    if (T->have_gn) {
        sb_printf(t, "Gauss-Newton split H = G + R over widths (norm = largest |eigenvalue|; traces by Hutchinson)\n");
        sb_printf(t, "  %7s %9s  %-11s %-11s %-11s %-9s %-20s %-20s %s\n", "width", "params", "||H||", "||G||", "||R||",
                  "||R||/||H||", "tr H", "tr G", "tr R");
        for (int i = 0; i < T->nw; i++) {
            sb_printf(t, "  %7.0f %9.0f  %-11.5g %-11.5g %-11.5g %-11.4g", T->width[i], T->params[i], T->norm[0][i], T->norm[1][i],
                      T->norm[2][i], T->norm[2][i] / T->norm[0][i]);
            for (int k = 0; k < NPART; k++) {
                snprintf(name, sizeof name, "%.5g+-%.1g", T->trace[k][i], T->trace_se[k][i]);
                sb_printf(t, " %-20s", name);
            }
            sb_printf(t, "\n");
        }
    }
    if (sp->block) {
        sb_printf(t, "model Hessian (averaged model) per %s block: spectral norm over widths\n", sp->block);
        sb_printf(t, "  %7s", "width");
        for (int b = 0; b < T->nb; b++) sb_printf(t, " %-12s", T->names[b]);
        sb_printf(t, "\n");
        for (int i = 0; i < T->nw; i++) {
            sb_printf(t, "  %7.0f", T->width[i]);
            for (int b = 0; b < T->nb; b++) sb_printf(t, " %-12.5g", T->block_norm[1][(size_t)i * T->nb + b]);
            sb_printf(t, "\n");
        }
    }
    sb_printf(t, "log-log fits against width (values that are 0 are not fitted):\n");
    static const char *const pname[NPART] = {"||H|| loss Hessian", "||G|| Gauss-Newton", "||R|| residual part"};
    for (int k = 0; T->have_gn && k < NPART; k++) fit_text(t, fits, pname[k], T->width, T->norm[k], T->nw, 1);
    for (int b = 0; sp->block && b < T->nb; b++) {
        snprintf(name, sizeof name, "model block %s", T->names[b]);
        fit_text(t, fits, name, T->width, T->block_norm[1] + b, T->nw, T->nb);
    }
}

static int sweep_plots(const char *out, const sweep_table *T, const spectra_cli *sp, sbuf *t, const char **pngs)
{
    char png[1200];
    int n = 0;
    if (T->have_gn) {
        static const char *const label[NPART] = {"||H||, the loss Hessian", "||G||, the Gauss-Newton part J^T H_l J",
                                                 "||R||, the residual part sum_i (dl/dz_i) H_f(x_i)"};
        plot_curve c[NPART];
        for (int k = 0; k < NPART; k++) c[k] = (plot_curve){.label = label[k], .n = T->nw, .x = T->width, .y = T->norm[k]};
        plot_frame f = {.title = "Gauss-Newton split of the loss Hessian over widths", .xlabel = "width",
                        .ylabel = "spectral norm", .logx = 1, .logy = 1};
        snprintf(png, sizeof png, "%s/plots/gauss_newton_sweep.png", out);
        if (plot_figure(png, &f, c, NPART)) pngs[n++] = "gauss_newton_sweep.png", sb_printf(t, "plot: %s\n", png);
    }
    if (sp->block && T->nb) {
        int nb = T->nb < LM_EIG_MAX_TOP ? T->nb : LM_EIG_MAX_TOP;
        plot_curve c[LM_EIG_MAX_TOP];
        char label[LM_EIG_MAX_TOP][80];
        double *y = malloc((size_t)nb * T->nw * sizeof *y);
        for (int b = 0; y && b < nb; b++) {
            for (int i = 0; i < T->nw; i++) y[(size_t)b * T->nw + i] = T->block_norm[1][(size_t)i * T->nb + b];
            snprintf(label[b], sizeof label[b], "block %s", T->names[b]);
            c[b] = (plot_curve){.label = label[b], .n = T->nw, .x = T->width, .y = y + (size_t)b * T->nw};
        }
        plot_frame f = {.title = "Model Hessian (averaged model) per block over widths", .xlabel = "width",
                        .ylabel = "spectral norm of the block", .logx = 1, .logy = 1};
        snprintf(png, sizeof png, "%s/plots/block_norms_sweep.png", out);
        if (y && plot_figure(png, &f, c, nb)) pngs[n++] = "block_norms_sweep.png", sb_printf(t, "plot: %s\n", png);
        free(y);
    }
    return n;
}

static int sweep_report(const cli_command *c, const common_opts *o, const setup *s, const spectra_cli *sp, sweep_table *T,
                        double t0)
{
    sbuf t = {0};
    cJSON *res = cJSON_CreateObject(), *fits = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "probe", "hessian");
    add_common_json(res, s, o->out);
    cJSON_AddStringToObject(res, "template", o->model);
    sb_printf(&t, "width sweep of %s (W = %s), %s parameterization; inputs: the first %d training samples of %s\n", o->model,
              sp->widths_text, param_name(s->param), s->in.n, s->data);
    sweep_text(&t, fits, T, sp);
    const char *pngs[2] = {NULL, NULL};
    sweep_plots(o->out, T, sp, &t, pngs);
    sb_printf(&t, "run folder: %s\n", o->out);
    cJSON_AddItemToObject(res, "sweep", T->rows);
    T->rows = NULL;
    cJSON_AddItemToObject(res, "fits", fits);
    cJSON_AddNumberToObject(res, "seconds", cli_now() - t0);
    int rc = write_run(c, o->out, s, res, "linmass probe hessian --widths", &t, pngs, 2);
    if (!rc) emit(o->json, &t, res);
    cJSON_Delete(res);
    free(t.s);
    return rc;
}

/* ---- the sweep ---- */

/* The model at `width` in place of s->in.model (initialised from the probe's seed). */
static int swap_model(const cli_command *c, const common_opts *o, setup *s, int width)
{
    char spec[1024];
    int rc = spectra_width_spec(c, o->model, width, spec, sizeof spec);
    if (rc) return rc;
    lm_model *m;
    lm_status st = lm_model_create(spec, s->in.train->shape, s->param, o->seed, &m);
    if (st) return cli_fail(c->command, st);
    lm_model_free(s->in.model);
    s->in.model = m;
    return 0;
}

int spectra_sweep(const cli_command *c, const common_opts *o, const spectra_cli *sp, setup *s, spectra_ctx *x)
{
    double t0 = cli_now();
    sweep_table T;
    int nb = sp->block ? lm_param_blocks(s->in.model, sp->bk, NULL, 0) : 0, rc = 0;
    if (!table_alloc(&T, sp->nwidths, nb)) rc = cli_fail(c->command, lm_fail(LM_ENOMEM, "out of memory"));
    for (int i = 0; !rc && i < sp->nwidths; i++) {
        if ((rc = swap_model(c, o, s, sp->widths[i]))) break;
        if (lm_dist_rank() == 0)
            fprintf(stderr, "probe hessian: width %d, %zu parameters ...\n", sp->widths[i], lm_model_num_params(s->in.model));
        x->s = s;
        spectra_run r;
        rc = spectra_compute(c, sp, x, &r);
        if (!rc) table_row(&T, i, sp->widths[i], sp, x, &r);
        spectra_free(&r);
    }
    if (!rc && lm_dist_rank() == 0) rc = sweep_report(c, o, s, sp, &T, t0);
    table_free(&T);
    return rc;
}
