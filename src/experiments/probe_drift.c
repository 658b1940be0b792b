/* kernel-drift (docs/theory.md §4.2): the relative change of the tangent kernel after gradient
 * descent to convergence, against width, for a linear and a tanh output (lm_sweep_width with
 * the linearity probe, float64, NTK parameterisation). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "experiments/exp_internal.h"
#include "linmass/probe.h"

enum { KD_N = 8, KD_D = 8, KD_MAX_W = 7 };

static const struct {
    int widths[KD_MAX_W], nw, seeds, steps;
} SETTINGS[LM_SETTINGS] = {
    [LM_SETTING_QUICK] = {{32, 64, 128, 256, 512}, 5, 2, 500},
    [LM_SETTING_FULL] = {{64, 128, 256, 512, 1024, 2048, 4096}, 7, 3, 1000},
};

static const char *const TMPL[2] = {"dense:W,tanh,dense:W,tanh,dense:1", "dense:W,tanh,dense:W,tanh,dense:1,tanh"};
static const char *const LABEL[2] = {"linear output", "tanh output"}, *const KEY[2] = {"linear", "tanh"};

/* What the sweep keeps of each model besides its kernel change: per width the worst
 * L(w_T)/L(w0) and the mean ||w_T - w0|| over the models; the runs in the catapult regime. */
typedef struct {
    lm_report *report;
    const char *label;
    int seeds;
    double worst[KD_MAX_W], dist[KD_MAX_W];
    int catapults;
} drift_hook;

static lm_status on_drift(void *ctx, const lm_sweep_model *m)
{
    drift_hook *h = ctx;
    const lm_linearity_result *r = m->linearity;
    h->catapults += r->catapult;
    h->worst[m->width_index] = fmax(h->worst[m->width_index], r->loss_final / r->loss0);
    h->dist[m->width_index] += r->records[r->n_records - 1].dist / h->seeds;
    lm_report_progress(h->report, LM_PROGRESS_DETAIL, "%s, width %d, model %d: kernel change %.4g", h->label, m->width,
                       m->seed_index + 1, m->value);
    return LM_OK;
}

/* One output kind: the kernel change after `steps` GD steps at each model's 1/lambda_max(K_0),
 * its table rows; worst: the worst L(w_T)/L(w0). */
static lm_status drift_output(const lm_claim_opts *o, lm_report *rep, int k, lm_sweep_result *r, double *worst,
                              int *catapults)
{
    const int *widths = SETTINGS[o->setting].widths, nw = SETTINGS[o->setting].nw, steps = SETTINGS[o->setting].steps;
    double x[KD_N * KD_D], y[KD_N];
    lm_probe_regression_data(o->seed + 7, KD_N, KD_D, x, y);
    drift_hook h = {rep, LABEL[k], SETTINGS[o->setting].seeds, {0}, {0}, 0};
    lm_sweep_opts so = {0};
    so.template_spec = TMPL[k];
    so.in = (lm_shape){KD_D, 1, 1};
    so.param = LM_PARAM_NTK;
    so.widths = widths;
    so.n_widths = nw;
    so.seeds = h.seeds;
    so.seed = o->seed + 1;
    so.probe = LM_SWEEP_LINEARITY;
    so.value = LM_SWEEP_LIN_KERNEL;
    so.x = x;
    so.n = KD_N;
    so.linearity.y = y;
    so.linearity.steps = steps; /* lr 0: each model's 1/lambda_max(K_0) */
    so.linearity.record_every = steps;
    so.on_model = on_drift;
    so.hook_ctx = &h;
    EXP_TRY(lm_sweep_width(&so, r));
    for (int wi = 0; wi < nw; wi++) {
        *worst = fmax(*worst, h.worst[wi]);
        lm_report_printf(rep, "| %s | %d | %.4g +- %.2g | %.2g | %.3f |\n", LABEL[k], widths[wi], r->mean[wi], r->sd[wi],
                         h.worst[wi], h.dist[wi]);
    }
    *catapults += h.catapults;
    return LM_OK;
}

/* The measured numbers of one output kind. */
static void drift_measured(const lm_claim_opts *o, lm_report *rep, int k, const lm_sweep_result *r, double worst)
{
    const int *widths = SETTINGS[o->setting].widths, nw = SETTINGS[o->setting].nw;
    exp_measuredf(rep, r->fit.slope, "%s_slope", KEY[k]);
    exp_measuredf(rep, r->mean[0], "%s_change_smallest_width", KEY[k]);
    exp_measuredf(rep, r->mean[nw - 1], "%s_change_largest_width", KEY[k]);
    for (int wi = 0; wi < nw; wi++)
        if (widths[wi] == 64 || widths[wi] == 4096) exp_measuredf(rep, r->mean[wi], "%s_change_m%d", KEY[k], widths[wi]);
    exp_measuredf(rep, worst, "%s_worst_final_loss_ratio", KEY[k]);
}

/* Each output's mean with its min-max band over the initialisations, and the slopes -1 (linear)
 * and 0 (tanh) through each one's first point. */
static lm_status drift_plot(const lm_claim_opts *o, lm_report *rep, const lm_sweep_result *r)
{
    const int *widths = SETTINGS[o->setting].widths, nw = SETTINGS[o->setting].nw;
    double wx[KD_MAX_W], lo[2][KD_MAX_W], hi[2][KD_MAX_W], refx[2] = {widths[0], widths[nw - 1]}, ref[2][2];
    for (int j = 0; j < nw; j++) wx[j] = widths[j];
    for (int k = 0; k < 2; k++)
        for (int j = 0; j < nw; j++) {
            lo[k][j] = INFINITY, hi[k][j] = -INFINITY;
            for (int s = 0; s < r[k].seeds; s++)
                lo[k][j] = fmin(lo[k][j], r[k].values[j * r[k].seeds + s]), hi[k][j] = fmax(hi[k][j], r[k].values[j * r[k].seeds + s]);
        }
    ref[0][0] = r[0].mean[0], ref[0][1] = r[0].mean[0] * refx[0] / refx[1];
    ref[1][0] = ref[1][1] = r[1].mean[0];
    lm_curve c[4] = {
        {"linear output", LM_CURVE_BAND, nw, wx, r[0].mean, lo[0], hi[0], 1},
        {"tanh output", LM_CURVE_BAND, nw, wx, r[1].mean, lo[1], hi[1], 2},
        {"slope -1 (theory, linear output)", LM_CURVE_REFERENCE, 2, refx, ref[0], NULL, NULL, 1},
        {"slope 0 (theory, tanh output)", LM_CURVE_REFERENCE, 2, refx, ref[1], NULL, NULL, 2},
    };
    lm_figure f = {"kernel_drift.png",
                   "relative kernel change after GD to convergence: the mean over the initialisations of each width "
                   "(band: min-max over them) and the theory's slopes (dashed)",
                   "Relative tangent-kernel change after GD, against width", "width m", "||K_T - K_0||_F / ||K_0||_F", 1, 1,
                   LM_LEGEND_BELOW, 4, c, 0};
    return lm_report_figure(rep, &f);
}

/* The fitted slopes and the verdict. */
static void drift_verdict(const lm_claim_opts *o, lm_report *rep, const lm_sweep_result *r, const double *worst, int catapults)
{
    const int *widths = SETTINGS[o->setting].widths, nw = SETTINGS[o->setting].nw;
    const lm_fit *fit[2] = {&r[0].fit, &r[1].fit};
    double ratio = r[1].mean[nw - 1] / r[0].mean[nw - 1];
    lm_report_measured(rep, "tanh_over_linear_at_largest_width", ratio);
    lm_report_predicted(rep, "linear_slope", -1);
    lm_report_predicted(rep, "tanh_slope", 0);
    lm_report_predicted(rep, "linear_change_m64", 0.084);
    lm_report_predicted(rep, "linear_change_m4096", 0.0011);
    lm_report_printf(rep, "\nFitted slopes of log(kernel change) against log(width) over every (width, model) point: linear output "
                     "**%.3f** (95%% interval [%.3f, %.3f]; predicted about -1), tanh output **%.3f** ([%.3f, %.3f]; "
                     "predicted 0, the change staying of order 0.5-0.9). At width %d the tanh output's kernel moves %.0fx more "
                     "than the linear output's (%.3g against %.3g). An independent check found 0.084 -> 0.0011 for m = "
                     "64 -> 4096 with a linear output.%s\n",
                     fit[0]->slope, fit[0]->ci_lo, fit[0]->ci_hi, fit[1]->slope, fit[1]->ci_lo, fit[1]->ci_hi, widths[nw - 1], ratio,
                     r[1].mean[nw - 1], r[0].mean[nw - 1],
                     catapults ? " Some runs were above the catapult threshold (2/lambda_max), which should not happen at eta = "
                                 "1/lambda_max: the measurement is suspect." : "");
    if (worst[0] > 1e-4 || worst[1] > 1e-4)
        lm_report_printf(rep, "\nNot every run converged: the worst L(w_T)/L(w0) is %.2g (linear) and %.2g (tanh), above 1e-4.\n",
                         worst[0], worst[1]);
    double tmin = INFINITY, tmax = -INFINITY;
    for (int wi = 0; wi < nw; wi++) tmin = fmin(tmin, r[1].mean[wi]), tmax = fmax(tmax, r[1].mean[wi]);
    int order1 = tmin >= 0.1 && tmax <= 1;
    lm_report_measured(rep, "tanh_change_min_over_widths", tmin);
    lm_report_measured(rep, "tanh_change_max_over_widths", tmax);
    int holds = fit[0]->slope < -0.6 && ratio > 10 && order1;
    lm_report_verdict(rep, holds ? LM_VERDICT_HOLDS : LM_VERDICT_FAILS,
                      "the linear output's slope is below -0.6, at the largest width the tanh output's kernel change "
                      "exceeds the linear one's by more than 10x, and the tanh output's mean change stays in [0.1, 1] at "
                      "every width");
    lm_report_printf(rep, "\nThe claim holds here if the linear output's slope is below -0.6, at the largest width the tanh "
                     "output's kernel change exceeds the linear one's by more than 10x, and the tanh output's mean change "
                     "stays of order 0.1-1 (in [0.1, 1]) at every width: slope %.3f %s -0.6, ratio %.1f %s 10, tanh change "
                     "from %.3g to %.3g %s [0.1, 1].%s\n",
                     fit[0]->slope, fit[0]->slope < -0.6 ? "<" : ">=", ratio, ratio > 10 ? ">" : "<=", tmin, tmax,
                     order1 ? "within" : "**outside**",
                     fit[1]->slope < -0.3 ? " The tanh output's change also falls with width here (slope below -0.3), which the "
                                            "theory does not predict." : "");
}

lm_status exp_kernel_drift(const lm_claim_opts *o, lm_report *rep)
{
    double worst[2] = {0, 0};
    int catapults = 0;
    lm_status st = LM_OK;
    lm_sweep_result r[2] = {{0}, {0}};
    lm_report_printf(rep, "Full-batch gradient descent on L(w) = 1/2 \\|\\|F(w) - y\\|\\|^2 over n = %d inputs in R^%d (N(0,1) "
                     "entries) with targets uniform in (-0.8, 0.8) (reachable by a tanh output), for %d steps with eta = "
                     "1/lambda_max(K(w0)) (half the catapult threshold 2/lambda_max), from %d initializations per width; "
                     "2-hidden-layer tanh nets, NTK parameterization, float64. Measured: the relative change of the tangent "
                     "kernel on the training inputs, \\|\\|K(w_T) - K(w0)\\|\\|_F / \\|\\|K(w0)\\|\\|_F.\n\n"
                     "| output | width | kernel change (mean +- sd) | L(w_T)/L(w0) (worst) | \\|\\|w_T - w0\\|\\| (mean) |\n"
                     "|---|---|---|---|---|\n",
                     KD_N, KD_D, SETTINGS[o->setting].steps, SETTINGS[o->setting].seeds);
    for (int k = 0; k < 2 && !st; k++) {
        st = drift_output(o, rep, k, &r[k], &worst[k], &catapults);
        if (!st) drift_measured(o, rep, k, &r[k], worst[k]);
    }
    if (!st) {
        drift_verdict(o, rep, r, worst, catapults);
        st = drift_plot(o, rep, r);
    }
    lm_sweep_free(&r[0]), lm_sweep_free(&r[1]);
    return st;
}
