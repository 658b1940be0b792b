/* The sections of linmass demo, a tour of both papers in a few minutes:
 *   1. transition to linearity: the model Hessian's norm against width, linear and tanh output;
 *   2. momentum on linear regression: SGD, Nesterov and MaSS at SGD's optimal step (the claim
 *      nesterov-diverges);
 *   3. the four optimizers training the MaSS paper's FCN on Fashion-MNIST for a few epochs. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "experiments/exp_probe.h"
#include "experiments/exp_train.h"

void lm_demo_opts_init(lm_demo_opts *o, lm_setting setting)
{
    int quick = setting == LM_SETTING_QUICK;
    *o = (lm_demo_opts){setting, 0, "runs/demo", quick ? 2 : 5, quick ? 5000 : 0, 0.01, "fashion-mnist"};
}

/* ---- 1. ||H_f|| against width, linear against tanh output ---- */

static const int Q[] = {32, 64, 128, 256}, F[] = {32, 64, 128, 256, 512, 1024};

lm_status exp_demo_hessian(const lm_demo_opts *o, lm_report *r)
{
    int q = o->setting == LM_SETTING_QUICK, nw = q ? 4 : 6;
    const exp_arch a[2] = {
        {"linear output", "linear", "dense:W,tanh,dense:W,tanh,dense:1", 0, 4, q ? 2 : 3, q ? Q : F, nw},
        {"tanh output", "tanh", "dense:W,tanh,dense:W,tanh,dense:1,tanh", 0, 4, q ? 2 : 3, q ? Q : F, nw},
    };
    lm_sweep_result res[2] = {{0}, {0}};
    lm_status st = LM_OK;
    for (int i = 0; i < 2 && !st; i++) st = exp_hessian_sweep(r, o->seed, &a[i], &res[i]);
    for (int i = 0; i < 2 && !st; i++) {
        exp_measuredf(r, res[i].fit.slope, "%s_slope", a[i].key);
        exp_predictedf(r, i ? 0 : -0.5, "%s_slope", a[i].key);
    }
    if (!st) {
        lm_report_printf(r, "Two-hidden-layer tanh networks (NTK parameterization, float64) at widths %d..%d, %d inputs in R^%d and %d "
                         "initializations per width. The spectral norm of the model Hessian d^2 f/dw^2 (mean over inputs) falls "
                         "like m^%.2f with a linear output (theory: m^-0.5) and stays flat, m^%.2f, with a tanh output (theory: "
                         "m^0): wide networks with a linear output are nearly linear in their weights, a non-linear output breaks "
                         "it. (`linmass repro hessian-scaling`, `nonlinear-output` and `bottleneck` measure this for more "
                         "networks.)\n",
                         a[0].widths[0], a[0].widths[nw - 1], a[0].n, EXP_D_VEC, a[0].seeds, res[0].fit.slope, res[1].fit.slope);
        char l0[64], l1[64];
        snprintf(l0, sizeof l0, "linear output (slope %.2f)", res[0].fit.slope);
        snprintf(l1, sizeof l1, "tanh output (slope %.2f)", res[1].fit.slope);
        const char *labels[2] = {l0, l1};
        st = exp_hessian_figure(r, a, 2, res, -0.5, "hessian_width.png",
                                "Transition to linearity: model Hessian norm against width", labels);
    }
    lm_sweep_free(&res[0]), lm_sweep_free(&res[1]);
    return st;
}

/* ---- 2. SGD, Nesterov and MaSS on linear regression ---- */

static lm_status demo_linear_regression(const lm_demo_opts *o, lm_report *r)
{
    lm_claim_opts co = {o->setting, o->seed, o->dir};
    return exp_nesterov_diverges(&co, r);
}

/* ---- 3. the four optimizers on the FCN ---- */

static void fcn_table(const lm_demo_opts *o, lm_report *r, const exp_run *runs)
{
    char samples[64];
    if (o->max_train) snprintf(samples, sizeof samples, "the first %ld", o->max_train);
    else snprintf(samples, sizeof samples, "all 60000");
    lm_report_printf(r, "The MaSS paper's FCN (784-100-100-100-10, ReLU, dropout 0.5 after each hidden layer, cross-entropy) "
                     "on %s, %d epoch%s over %s training images, batch 64, seed %llu. SGD, Nesterov (gamma 0.9) and MaSS "
                     "(authors' form: alpha 0.05, kappa-tilde 3, eta = lr) share the learning rate %g with a constant "
                     "schedule, Adam uses lr 0.001 (docs/theory.md §3). The training loss is the running mean over each "
                     "epoch so far (so each epoch's curve restarts from its first mini-batches); the test accuracy is on the "
                     "test split.\n\n| optimizer | final training loss | test accuracy | seconds |\n|---|---|---|---|\n",
                     o->data, o->epochs, o->epochs > 1 ? "s" : "", samples, (unsigned long long)o->seed, o->lr);
    int best = -1;
    for (int i = 0; i < N_OPT; i++) {
        const lm_train_result *res = &runs[i].res;
        if (runs[i].diverged) lm_report_printf(r, "| %s | diverged | | |\n", EXP_OPT[i].label);
        else lm_report_printf(r, "| %s | %.4f | %.4f | %.1f |\n", EXP_OPT[i].label, res->train_loss, res->test_acc, res->wall_seconds);
        exp_measuredf(r, runs[i].diverged ? -1 : res->train_loss, "%s_train_loss", EXP_OPT[i].key);
        exp_measuredf(r, runs[i].diverged ? 0 : res->test_acc, "%s_test_acc", EXP_OPT[i].key);
        if (!runs[i].diverged && (best < 0 || res->train_loss < runs[best].res.train_loss)) best = i;
    }
    if (best >= 0)
        lm_report_printf(r, "\nLowest training loss after %d epoch%s: %s. The paper's own plot (MNIST, 100 epochs) has all four close "
                         "for about 20 epochs, MaSS ending lowest (about 6e-5 against 3e-4 for SGD and Nesterov); a few epochs "
                         "show the start of that race, not its end (`linmass repro mass-vs-baselines-fcn` runs it longer, "
                         "over 3 seeds).\n",
                         o->epochs, o->epochs > 1 ? "s" : "", EXP_OPT[best].label);
}

/* The training loss at every logged step of the four runs. */
static lm_status fcn_figure(lm_report *r, const exp_run *runs, int log_every)
{
    lm_curve c[N_OPT];
    for (int i = 0; i < N_OPT; i++)
        c[i] = (lm_curve){EXP_OPT[i].label, LM_CURVE_LINE, runs[i].n_log, runs[i].log_epoch, runs[i].log_loss, NULL, NULL, i + 1};
    char caption[200];
    snprintf(caption, sizeof caption, "training loss (log scale) of the four optimizers on the FCN, logged every %d steps "
             "(the running mean over each epoch so far)", log_every);
    lm_figure f = {"fcn_train_loss.png", caption, "The MaSS paper's FCN on Fashion-MNIST: four optimizers", "epoch",
                   "training loss", 0, 1, LM_LEGEND_TOP_RIGHT, N_OPT, c, 0};
    return lm_report_figure(r, &f);
}

lm_status exp_demo_fcn(const lm_demo_opts *o, lm_report *r)
{
    int log_every = o->setting == LM_SETTING_QUICK ? 5 : 50;
    exp_setting s = {o->data, "fcn", NULL, o->max_train, o->epochs, 64, 0, 0, o->lr, 0, 0, log_every, NULL, 0, NULL, 0};
    exp_run runs[N_OPT];
    memset(runs, 0, sizeof runs);
    lm_status st = LM_OK;
    for (int i = 0; i < N_OPT && !st; i++) {
        char out[4200];
        snprintf(out, sizeof out, "%s/fcn/%s", o->dir, EXP_OPT[i].key);
        st = exp_train(r, &s, i, o->seed, out, "fcn", &runs[i]);
        if (!st)
            lm_report_progress(r, LM_PROGRESS_RESULT, "%-34s train loss %.4f  test accuracy %.4f  (%.1f s)", EXP_OPT[i].label,
                               runs[i].diverged ? INFINITY : runs[i].res.train_loss,
                               runs[i].diverged ? NAN : runs[i].res.test_acc, runs[i].res.wall_seconds);
    }
    if (!st) {
        fcn_table(o, r, runs);
        st = fcn_figure(r, runs, log_every);
    }
    for (int i = 0; i < N_OPT; i++) exp_run_free(&runs[i]);
    return st;
}

/* ---- what the tour says of each section ---- */

static void announce_hessian(FILE *m, const lm_demo_opts *o)
{
    (void)o;
    fputs("transition to linearity: ||H_f|| of 2-hidden-layer nets against width, linear and tanh output", m);
}

static void announce_linreg(FILE *m, const lm_demo_opts *o)
{
    (void)o;
    fputs("momentum on Gaussian linear regression: SGD, Nesterov (gamma 0.9) and MaSS at SGD's optimal step", m);
}

static void announce_fcn(FILE *m, const lm_demo_opts *o)
{
    char part[64] = "all";
    if (o->max_train) snprintf(part, sizeof part, "the first %ld", o->max_train);
    fprintf(m, "the MaSS paper's FCN on %s: %d epoch%s over %s training images per optimizer, batch 64", o->data, o->epochs,
            o->epochs > 1 ? "s" : "", part);
}

static double number(const lm_report *r, lm_report_list which, const char *key)
{
    double v = NAN;
    lm_report_find(r, which, key, &v);
    return v;
}

static void summarize_hessian(FILE *m, const lm_report *r)
{
    fprintf(m, "slope of log ||H_f|| against log width: linear output %.3f (theory -0.5), tanh output %.3f (theory 0)",
            number(r, LM_REPORT_MEASURED, "linear_slope"), number(r, LM_REPORT_MEASURED, "tanh_slope"));
}

static void summarize_linreg(FILE *m, const lm_report *r)
{
    static const char *const keys[3] = {"sgd", "nesterov", "mass"}, *const names[3] = {"SGD", "Nesterov", "MaSS"};
    fprintf(m, "exact per-step factor of E|w - w*|^2 (simulated mean at the end):");
    for (int i = 0; i < 3; i++) {
        char k1[64], k2[64];
        snprintf(k1, sizeof k1, "%s_rho", keys[i]);
        snprintf(k2, sizeof k2, "%s_final_mean_sq_error", keys[i]);
        fprintf(m, "%s %s %.4f (%.3g)", i ? "," : "", names[i], number(r, LM_REPORT_PREDICTED, k1), number(r, LM_REPORT_MEASURED, k2));
    }
}

/* ---- the sections ---- */

static const lm_demo_section SECTIONS[] = {
    {"hessian", "1. Wide networks with a linear output are nearly linear in their weights", NULL, exp_demo_hessian,
     "Hessian against width", announce_hessian, summarize_hessian},
    {"linear_regression", "2. Nesterov's momentum can diverge where SGD and MaSS converge", "nesterov-diverges",
     demo_linear_regression, "linear regression", announce_linreg, summarize_linreg},
    {"fcn", "3. Four optimizers on the MaSS paper's FCN", NULL, exp_demo_fcn, "FCN, four optimizers", announce_fcn, NULL},
};
enum { N_SECTIONS = sizeof SECTIONS / sizeof *SECTIONS };
_Static_assert(N_SECTIONS <= LM_DEMO_MAX_SECTIONS, "LM_DEMO_MAX_SECTIONS is too small");

int lm_demo_section_count(void) { return N_SECTIONS; }

const lm_demo_section *lm_demo_section_at(int i) { return i >= 0 && i < N_SECTIONS ? &SECTIONS[i] : NULL; }

lm_status lm_demo_run(const lm_demo_section *s, const lm_demo_opts *o, lm_report *r)
{
    if (!s || !o || !r) return lm_fail(LM_EINVAL, "demo: a section, options and a report are needed");
    if (o->setting < 0 || o->setting >= LM_SETTINGS) return lm_fail(LM_EINVAL, "demo: setting %d is unknown", (int)o->setting);
    if (!o->dir || !o->data) return lm_fail(LM_EINVAL, "demo: no %s given", o->dir ? "data source" : "folder");
    if (o->epochs < 1 || o->max_train < 0 || !(o->lr > 0))
        return lm_fail(LM_EINVAL, "demo: epochs %d must be at least 1, max_train %ld not negative, lr %g positive", o->epochs,
                       o->max_train, o->lr);
    lm_status st = s->run(o, r);
    return st ? st : lm_report_status(r);
}
