/* The linearity and PL* probes in one call (run.h, lm_probe_gd_job; docs/theory.md §4-5):
 * full-batch gradient descent with the recorder of lm_probe_linearity, and the report of either
 * probe on that run: summary, figures, numbers and result JSON. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "probe/probe_internal.h"

static const char *const convention =
    "L(w) = 1/2 ||F(w) - y||^2 (no 1/n), F stacking f(w; x_i); grad L = J^T (F - y); PL ratio ||grad L||^2 / (2 L) >= lambda_min(K); "
    "mu-PL*: 1/2 ||grad L||^2 >= mu L";

lm_status lm_gd_job_opts_validate(const lm_gd_job_opts *o)
{
    if (o->steps < 1) return lm_fail(LM_EINVAL, "steps %d must be at least 1", o->steps);
    if (!(o->lr >= 0) || o->lr == INFINITY) return lm_fail(LM_EINVAL, "lr %g must be finite and not negative", o->lr);
    if (o->record_every < 0) return lm_fail(LM_EINVAL, "record_every %d must not be negative", o->record_every);
    return LM_OK;
}

static lm_status check(const lm_probe_inputs *in, const lm_gd_job_opts *o)
{
    if (o->output == LM_OUTPUT_SUM ? in->outputs != 1 : o->output < 0 || o->output >= in->outputs)
        return lm_fail(LM_EINVAL, "gd job: output %d: gradient descent needs one scalar output of the model's %d", o->output, in->outputs);
    if (!o->y) return lm_fail(LM_EINVAL, "gd job: y: no targets");
    return lm_gd_job_opts_validate(o);
}

/* The descent on every process (the kernels split over them). */
static lm_status descend(const lm_probe_inputs *in, const lm_gd_job_opts *o, lm_report *r, lm_linearity_result *res)
{
    lm_linearity_opts lo = {0};
    lo.net.output = o->output == LM_OUTPUT_SUM ? 0 : o->output;
    lo.y = o->y;
    lo.lr = o->lr;
    lo.steps = o->steps;
    lo.record_every = o->record_every;
    lo.x_test = in->x_test;
    lo.n_test = in->n_test;
    lo.ntk.mem_cap = o->mem_cap;
    lo.ntk.coll = o->coll;
    char lr[64];
    if (o->lr > 0) snprintf(lr, sizeof lr, "%.4g", o->lr);
    else snprintf(lr, sizeof lr, "1/lambda_max(K_0)");
    lm_report_progress(r, LM_PROGRESS_STEP, "%d steps of full-batch GD, lr %s, %zu parameters ...", o->steps, lr,
                       lm_model_num_params(in->model));
    lm_status st = lm_probe_linearity(in->model, in->x, in->n, &lo, res);
    if (res->catapult || (st == LM_EDIVERGED && res->lr_catapult > 0))
        lm_report_progress(r, LM_PROGRESS_STEP, "warning: lr %.4g > 2/lambda_max(K_0) = %.4g: the catapult regime; the kernel moves by "
                                                "O(1) and the measurements do not test the theory (docs/theory.md §4.3)",
                           res->lr, res->lr_catapult);
    return st;
}

static void linearity_table(lm_report *r, const lm_probe_inputs *in, const lm_linearity_result *res)
{
    lm_report_printf(r, "%6s %12s %10s %10s %10s %11s %10s %11s %12s\n", "step", "loss", "|w-w0|", "dK/|K0|", in->n_test ? "|f-f_lin|" : "-",
                     "lam_min(K)", "PL ratio", "L(t+1)/L(t)", "1-lr*lam_min");
    for (int i = 0; i < res->n_records; i++) {
        const lm_linearity_record *e = &res->records[i];
        lm_report_printf(r, "%6d %12.6g %10.4g %10.4g %10.4g %11.5g %10.5g %11.6f %12.6f%s\n", e->step, e->loss, e->dist, e->kernel_change,
                         e->lin_gap_max, e->lambda_min, e->pl_ratio, e->loss_ratio, e->bound, e->loss_ratio <= e->bound ? "" : "  above");
    }
    lm_report_printf(r, "dK/|K0| = ||K_t - K_0||_F / ||K_0||_F; |f-f_lin| = max over %d held-out inputs of |f(w_t) - f_lin(w_t)|\n",
                     in->n_test);
}

static void plstar_table(lm_report *r, const lm_linearity_result *res)
{
    const lm_plstar_summary *p = &res->plstar;
    lm_report_printf(r, "%6s %12s %12s %12s %10s %12s %13s\n", "step", "loss", "lam_min(K_t)", "PL ratio", "PL/lam_min", "L(t+1)/L(t)",
                     "1-lr*lam_min");
    for (int i = 0; i < res->n_records; i++) {
        const lm_linearity_record *e = &res->records[i];
        lm_report_printf(r, "%6d %12.6g %12.6g %12.6g %10.4f %12.6f %13.6f%s\n", e->step, e->loss, e->lambda_min, e->pl_ratio,
                         e->pl_over_lambda_min, e->loss_ratio, e->bound, e->loss_ratio <= e->bound ? "" : "  above");
    }
    lm_report_printf(r, "PL* constant on the path: mu = min_t lambda_min(K_t) = %.6g\n", p->mu);
    lm_report_printf(r, "run: L(w_%d) = %.6g against the PL* bound L_0 (1 - lr mu)^%d = %.6g%s\n", res->steps_done + 1, p->loss_next,
                     res->steps_done + 1, p->rate_bound, p->loss_next <= p->rate_bound ? "" : "  (above: lr is beyond 1/beta)");
}

static void gd_text(lm_report *r, const lm_probe_inputs *in, const lm_gd_job_opts *o, const lm_linearity_result *res)
{
    char buf[2400];
    lm_probe_inputs_describe(in, buf, sizeof buf);
    lm_report_printf(r, "%s", buf);
    lm_report_printf(r, "full-batch gradient descent on %s with its targets, %d steps, lr %.6g%s\n",
                     lm_probe_inputs_output_name(in, o->output, buf, sizeof buf), o->steps, res->lr,
                     res->lr_auto ? " (1/lambda_max(K_0))" : "");
    lm_report_printf(r, "convention: %s\n", convention);
    lm_report_printf(r, "lambda_min(K_0) %.6g, lambda_max(K_0) %.6g, catapult above lr 2/lambda_max = %.6g%s\n", res->lambda_min0,
                     res->lambda_max0, res->lr_catapult, res->catapult ? "  (THIS RUN IS IN THE CATAPULT REGIME)" : "");
    if (o->plstar) plstar_table(r, res);
    else linearity_table(r, in, res);
    lm_report_printf(r, "every PL ratio >= lambda_min(K_t): %s; every loss ratio <= 1 - lr lambda_min(K_t): %s\n",
                     res->plstar.pl_ge_lambda_min ? "yes" : "NO",
                     res->plstar.below_bound ? "yes" : "NO (up to the beta-smoothness slack: lr beyond 1/beta)");
}

/* loss.png (the loss and its PL* bound), and kernel_change.png or plstar.png. */
static void gd_figures(lm_report *r, const lm_gd_job_opts *o, const lm_linearity_result *res)
{
    int nr = res->n_records;
    double *v = malloc((nr ? nr : 1) * 6 * sizeof *v);
    double *t = v, *loss = v + nr, *bnd = v + 2 * nr, *kc = v + 3 * nr, *lam = v + 4 * nr, *plr = v + 5 * nr;
    int m = v ? nr : 0;
    for (int i = 0; i < m; i++) {
        const lm_linearity_record *e = &res->records[i];
        t[i] = e->step, loss[i] = e->loss, bnd[i] = e->rate_bound, kc[i] = e->kernel_change, lam[i] = e->lambda_min, plr[i] = e->pl_ratio;
    }
    lm_curve lc[2] = {{"loss L(w_t)", LM_CURVE_LINESPOINTS, m, t, loss, NULL, NULL, 1},
                      {"PL* bound L0 (1 - lr mu)^t, mu = min lambda_min(K_t)", LM_CURVE_REFERENCE, m, t, bnd, NULL, NULL, 2}};
    lm_figure lf = {"loss.png", "The loss along gradient descent and the PL* bound of the run.", "Gradient descent: loss and its PL* bound",
                    "step", "L = 1/2 ||F - y||^2", 0, 1, LM_LEGEND_BELOW, 2, lc, 0};
    lm_report_figure(r, &lf);
    lm_curve kcv = {"||K_t - K_0||_F / ||K_0||_F", LM_CURVE_LINESPOINTS, m, t, kc, NULL, NULL, 0};
    lm_figure kf = {"kernel_change.png", "The tangent kernel's relative change along gradient descent.", "Relative tangent-kernel change",
                    "step", "relative change", 0, 0, LM_LEGEND_BELOW, 1, &kcv, 0};
    lm_curve pc[2] = {{"PL ratio ||grad L||^2 / (2L)", LM_CURVE_LINESPOINTS, m, t, plr, NULL, NULL, 1},
                      {"lambda_min(K_t)", LM_CURVE_LINESPOINTS, m, t, lam, NULL, NULL, 2}};
    lm_figure pf = {"plstar.png", "The PL ratio along gradient descent, at least lambda_min(K_t) under PL*.", "PL* along gradient descent",
                    "step", "value", 0, 1, LM_LEGEND_BELOW, 2, pc, 0};
    lm_report_figure(r, o->plstar ? &pf : &kf);
    free(v);
}

static void gd_numbers(lm_report *r, const lm_linearity_result *res)
{
    lm_report_measured(r, "lr", res->lr);
    lm_report_measured(r, "lambda_min0", res->lambda_min0);
    lm_report_measured(r, "lambda_max0", res->lambda_max0);
    lm_report_measured(r, "lr_catapult", res->lr_catapult);
    lm_report_measured(r, "loss0", res->loss0);
    lm_report_measured(r, "loss_final", res->loss_final);
    lm_report_measured(r, "mu", res->plstar.mu);
}

static cJSON *gd_json(const lm_probe_inputs *in, const lm_gd_job_opts *o, const lm_linearity_result *res)
{
    cJSON *j = lm_job_result(in, o->plstar ? "plstar" : "linearity", o->output, o->folder, o->coll);
    cJSON_AddStringToObject(j, "convention", convention);
    cJSON_AddNumberToObject(j, "steps", o->steps);
    cJSON_AddNumberToObject(j, "held_out", in->n_test);
    lm_job_add(j, NULL, lm_linearity_result_json(res, in->n_test));
    return j;
}

lm_status lm_probe_gd_job(const lm_probe_inputs *in, const lm_gd_job_opts *o, lm_report *r, char **json)
{
    lm_status st = lm_job_check("gd job", in, o, r, json);
    if (!st) st = check(in, o);
    if (st) return st;
    double t0 = lm_job_now();
    lm_linearity_result res = {0};
    st = descend(in, o, r, &res);
    if (!st) {
        gd_text(r, in, o, &res);
        gd_figures(r, o, &res);
        gd_numbers(r, &res);
        st = lm_job_finish(gd_json(in, o, &res), t0, r, json);
    }
    lm_linearity_free(&res);
    return st;
}
