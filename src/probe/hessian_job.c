/* The Hessian probe as one job (probe.h, lm_hessian_job; docs/theory.md §4.1, §7.4-7.8): the
 * model Hessian's norms three ways over the inputs, the loss Hessian's top eigenvalues and
 * Hutchinson trace as PyHessian reports them, and the spectra asked for; a summary, the JSON
 * result and the figures in a report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe/hessian_job.h"
#include "probe/probe_internal.h"

/* The loss Hessian's part: have when computed (by the split or on its own). */
typedef struct {
    int want, have;
    lm_loss_hessian_result r;
} loss_part;

/* The model Hessian's norms, on every process (per: n per-input norms). */
static lm_status model_norms(const hj_ctx *x, double *per, lm_hessian_result *hr)
{
    lm_hessian_opts ho = {0};
    ho.coll = x->o.coll;
    ho.net.output = x->o.output;
    ho.eig = x->o.eig;
    ho.skip_per_input = x->o.skip_per_input;
    hr->per_input = per;
    lm_status st = per ? LM_OK : lm_fail(LM_ENOMEM, "out of memory for %d norms", x->n);
    st = lm_coll_agree(x->o.coll, st);
    return st ? st : lm_probe_model_hessian(x->m, x->x, x->n, &ho, hr);
}

static void model_text(lm_report *rep, const hj_ctx *x, const lm_hessian_result *hr, double t_model)
{
    char oname[64], rn[64] = "";
    if (lm_coll_size(x->o.coll) > 1) snprintf(rn, sizeof rn, ", split over %d processes", lm_coll_size(x->o.coll));
    lm_report_printf(rep, "model Hessian H_f = d2f/dw2 of %s, float64, %s%s; ||.|| = spectral norm (largest |eigenvalue|)\n",
                     lm_probe_inputs_output_name(x->in, x->o.output, oname, sizeof oname), x->o.eig.method == LM_EIG_LANCZOS ? "Lanczos" : "power iteration",
                     hr->unconverged ? "" : " (every run converged)");
    lm_report_printf(rep, "  ||H(fbar)||, fbar = mean_i f(x_i) (averaged model)   %-12.6g eigenvalue %.6g, %d products%s\n",
                     hr->avg_norm, hr->avg.extreme, hr->avg.steps, hr->avg.converged ? "" : ", NOT converged");
    if (x->o.skip_per_input) {
        lm_report_printf(rep, "  per-input norms skipped (as asked)\n");
    } else {
        lm_report_printf(rep, "  max_i ||H(f(x_i))|| (worst single input)            %-12.6g input %d\n", hr->max_norm, hr->argmax);
        lm_report_printf(rep, "  mean_i ||H(f(x_i))|| (typical single input)         %-12.6g over %d inputs\n", hr->mean_norm, x->n);
    }
    lm_report_printf(rep, "  %d Hessian-vector products, %.2f s%s%s\n", hr->steps, t_model, rn,
                     hr->unconverged ? "; some runs stopped at the step limit without converging (raise it)" : "");
}

static void loss_text(lm_report *rep, const hj_ctx *x, const loss_part *L)
{
    const lm_loss_hessian_result *lr = &L->r;
    lm_report_printf(rep, "loss Hessian (%s; PyHessian's object), loss %.6g\n",
                     x->kind == LM_LOSS_XENT ? "mean cross-entropy" : "MSE (1/2n) sum ||f(x_i) - y_i||^2", lr->loss);
    if (x->o.loss_top > 0) {
        lm_report_printf(rep, "  top %d eigenvalues (Lanczos%s%s), each with its residual ||H y - theta y||:\n   ", lr->eig.ntop,
                         lr->eig.ntop > 1 ? " with deflation, repeated values as often as they occur" : "",
                         lr->eig.converged ? "" : "; NOT converged: raise the step limit");
        for (int i = 0; i < lr->eig.ntop; i++) lm_report_printf(rep, " %.6g (%.1e)", lr->eig.top[i], lr->eig.top_residual[i]);
        lm_report_printf(rep, "\n");
    }
    if (x->o.hutchinson > 0)
        lm_report_printf(rep, "  Hutchinson trace %.6g +- %.2g (standard error, %d Rademacher samples)\n", lr->trace, lr->trace_se,
                         lr->samples);
}

static void loss_json(cJSON *res, const hj_ctx *x, const loss_part *L)
{
    if (!L->have) {
        cJSON_AddNullToObject(res, "loss_hessian");
        if (L->want) cJSON_AddStringToObject(res, "loss_hessian_skipped", x->why);
        return;
    }
    cJSON *l = cJSON_AddObjectToObject(res, "loss_hessian");
    cJSON_AddStringToObject(l, "loss", x->kind == LM_LOSS_XENT ? "xent_mean" : "mse_half_mean");
    cJSON_AddNumberToObject(l, "value", L->r.loss);
    if (x->o.loss_top > 0) {
        cJSON_AddItemToObject(l, "top", lm_json_numbers(L->r.eig.top, L->r.eig.ntop));
        cJSON_AddItemToObject(l, "top_residual", lm_json_numbers(L->r.eig.top_residual, L->r.eig.ntop));
        cJSON_AddBoolToObject(l, "converged", L->r.eig.converged);
    }
    if (x->o.hutchinson > 0) {
        cJSON_AddNumberToObject(l, "trace", L->r.trace);
        cJSON_AddNumberToObject(l, "trace_se", L->r.trace_se);
        cJSON_AddNumberToObject(l, "samples", L->r.samples);
    }
}

static cJSON *job_json(const hj_ctx *x, const lm_hessian_result *hr, const loss_part *L, const hj_spectra *sr)
{
    cJSON *res = lm_job_result(x->in, "hessian", x->o.output, x->o.folder, x->o.coll);
    cJSON_AddStringToObject(res, "method", lm_eig_method_name(x->o.eig.method));
    lm_job_add(res, NULL, lm_hessian_result_json(hr, x->o.skip_per_input ? 0 : x->n));
    cJSON_AddStringToObject(res, "definitions",
                            "avg_norm: ||d2 fbar/dw2||, fbar = mean_i f(x_i); max_norm, mean_norm: max_i and mean_i of ||d2 f(x_i)/dw2||; "
                            "norm = largest |eigenvalue|");
    loss_json(res, x, L);
    hj_spectra_json(res, x, sr);
    return res;
}

/* The per-input norms with their mean and the averaged model's. */
static lm_status per_input_figure(lm_report *rep, const hj_ctx *x, const lm_hessian_result *hr)
{
    int n = x->n;
    double *idx = malloc(n * sizeof *idx);
    if (!idx) return lm_fail(LM_ENOMEM, "out of memory for the figure");
    for (int i = 0; i < n; i++) idx[i] = i;
    double hx[2] = {0, n > 1 ? n - 1 : 1}, hm[2] = {hr->mean_norm, hr->mean_norm}, ha[2] = {hr->avg_norm, hr->avg_norm};
    lm_curve c[3] = {{.label = "||H(f(x_i))|| per input", .kind = LM_CURVE_LINESPOINTS, .n = n, .x = idx, .y = hr->per_input},
                     {.label = "mean over inputs", .kind = LM_CURVE_LINESPOINTS, .n = 2, .x = hx, .y = hm},
                     {.label = "||H(fbar)||, averaged model", .kind = LM_CURVE_LINESPOINTS, .n = 2, .x = hx, .y = ha}};
    lm_figure f = {.file = "hessian_per_input.png", .caption = "Model Hessian spectral norm per input",
                   .title = "Model Hessian spectral norm per input", .xlabel = "input i", .ylabel = "spectral norm",
                   .n_curves = 3, .curves = c};
    lm_status st = lm_report_figure(rep, &f);
    free(idx);
    return st;
}

static void record_numbers(lm_report *rep, const hj_ctx *x, const lm_hessian_result *hr, const loss_part *L)
{
    lm_report_measured(rep, "avg_norm", hr->avg_norm);
    if (!x->o.skip_per_input) lm_report_measured(rep, "max_norm", hr->max_norm), lm_report_measured(rep, "mean_norm", hr->mean_norm);
    if (!L->have) return;
    lm_report_measured(rep, "loss", L->r.loss);
    if (x->o.loss_top > 0) lm_report_measured(rep, "loss_hessian_norm", L->r.eig.norm);
    if (x->o.hutchinson > 0) lm_report_measured(rep, "loss_hessian_trace", L->r.trace);
}

/* The report and the JSON from the numbers (every process has them). */
static lm_status job_report(lm_report *rep, const hj_ctx *x, const lm_hessian_result *hr, const loss_part *L,
                            const hj_spectra *sr, double t0, double t_model, char **json)
{
    char setup[2400];
    lm_probe_inputs_describe(x->in, setup, sizeof setup);
    lm_report_printf(rep, "%s", setup);
    model_text(rep, x, hr, t_model);
    if (L->have) loss_text(rep, x, L);
    hj_spectra_text(rep, x, sr);
    record_numbers(rep, x, hr, L);
    lm_status st = x->o.skip_per_input ? LM_OK : per_input_figure(rep, x, hr);
    if (!st) st = hj_spectra_figures(rep, x, sr);
    if (!st) st = lm_report_status(rep);
    cJSON *res = st ? NULL : job_json(x, hr, L, sr);
    if (res) cJSON_AddNumberToObject(res, "seconds", lm_job_now() - t0);
    return st ? st : lm_job_json_out(res, json);
}

lm_status lm_hessian_job(const lm_probe_inputs *in, const lm_hessian_job_opts *o, lm_report *r, char **json)
{
    if (json) *json = NULL;
    if (!r || !json) return lm_fail(LM_EINVAL, "hessian job: a report and a place for the JSON are required");
    hj_ctx x;
    lm_status st = hj_options(in, o, 0, &x);
    if (st) return st;
    double t0 = lm_job_now(), *per = NULL;
    lm_hessian_result hr = {0};
    loss_part L = {.want = o->loss_top > 0 || o->hutchinson > 0};
    hj_spectra sr = {0};
    st = hj_loss_prepare(in, r, &x);
    if (!st) {
        lm_report_progress(r, LM_PROGRESS_STEP, "%d inputs, %zu parameters ...", x.n, lm_model_num_params(x.m));
        per = calloc(x.n, sizeof *per);
        st = model_norms(&x, per, &hr);
    }
    double t_model = lm_job_now() - t0;
    if (!st) st = hj_spectra_compute(&x, &sr);
    if (!st && sr.have_gn) L.r = sr.gn.loss, L.have = 1; /* the split computed the loss Hessian */
    if (!st && L.want && x.targets && !L.have) {
        lm_loss_hessian_opts lo = hj_loss_opts(&x);
        st = lm_probe_loss_hessian(x.m, x.x, x.n, &lo, &L.r);
        L.have = !st;
    }
    if (!st) st = job_report(r, &x, &hr, &L, &sr, t0, t_model, json);
    hj_spectra_free(&sr);
    free(per), free(x.targets);
    return st;
}
