/* The four optimizers compared over seeds under one setting: the runs, their table, numbers and
 * figures (the claims of docs/theory.md §3). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiments/exp_train.h"
#include "linmass/io.h"

/* The last epoch's training loss (acc 0) or test accuracy of a run. */
static double final_of(const exp_run *r, int acc)
{
    return acc ? r->test_acc[r->epochs - 1] : r->train_loss[r->epochs - 1];
}

static exp_spread spread_of(const exp_run *r, int n, int acc)
{
    exp_spread s = {0, INFINITY, -INFINITY, 0};
    for (int i = 0; i < n; i++) {
        double v = final_of(&r[i], acc);
        s.mean += v / n;
        s.min = fmin(s.min, v), s.max = fmax(s.max, v);
    }
    for (int i = 0; n > 1 && i < n; i++) s.sd += (final_of(&r[i], acc) - s.mean) * (final_of(&r[i], acc) - s.mean) / (n - 1);
    s.sd = n > 1 && isfinite(s.mean) ? sqrt(s.sd) : NAN;
    return s;
}

lm_status exp_auto_values(const lm_claim_opts *o, const char *run, int n, const char *const names[], double *const v[],
                          unsigned needed)
{
    char path[4200], *text = NULL;
    size_t len;
    snprintf(path, sizeof path, "%s/runs/%s-seed%llu/config.json", o->dir, run, (unsigned long long)o->seed);
    EXP_TRY(lm_read_file(path, 1 << 20, &text, &len));
    cJSON *c = cJSON_Parse(text);
    cJSON *au = cJSON_GetObjectItem(cJSON_GetObjectItem(c, "resolved"), "auto");
    const char *missing = NULL;
    for (int i = 0; i < n; i++) {
        cJSON *x = cJSON_GetObjectItem(au, names[i]);
        *v[i] = cJSON_IsNumber(x) ? x->valuedouble : NAN;
        if ((needed >> i & 1u) && !cJSON_IsNumber(x) && !missing) missing = names[i];
    }
    cJSON_Delete(c);
    free(text);
    return missing ? lm_fail(LM_EINVAL, "%s: no number at resolved.auto.%s (what auto chose)", path, missing) : LM_OK;
}

lm_status exp_auto_lr(const lm_claim_opts *o, const char *tag, double *lr)
{
    char run[256];
    snprintf(run, sizeof run, "%s-sgd", tag);
    const char *const names[] = {"lr"};
    double *const v[] = {lr};
    return exp_auto_values(o, run, 1, names, v, 1u);
}

/* The optimizers' names where each has its own learning rate. */
static const char *const NAME[N_OPT] = {"SGD", "Nesterov (gamma 0.9)", "Adam", "MaSS"};

/* A run of another comparison (its per-epoch curves), copied. */
static lm_status copy_run(exp_run *to, const exp_run *from)
{
    *to = *from;
    to->log_epoch = to->log_loss = NULL;
    to->n_log = to->cap_log = 0;
    to->train_loss = malloc(from->epochs * sizeof *to->train_loss);
    to->test_acc = malloc(from->epochs * sizeof *to->test_acc);
    if (!to->train_loss || !to->test_acc) return lm_fail(LM_ENOMEM, "out of memory for %d epochs", from->epochs);
    memcpy(to->train_loss, from->train_loss, from->epochs * sizeof *to->train_loss);
    memcpy(to->test_acc, from->test_acc, from->epochs * sizeof *to->test_acc);
    return LM_OK;
}

lm_status exp_compare(const lm_claim_opts *o, lm_report *r, const exp_setting *s, int seeds, const char *tag,
                      exp_comparison *cmp, const exp_comparison *from)
{
    memset(cmp, 0, sizeof *cmp);
    if (seeds < 1 || seeds > EXP_MAX_SEEDS) return lm_fail(LM_EINVAL, "%s: %d seeds, not 1 to %d", tag, seeds, EXP_MAX_SEEDS);
    if (from && from->seeds != seeds) return lm_fail(LM_EINVAL, "%s: %d seeds, the runs to copy have %d", tag, seeds, from->seeds);
    cmp->seeds = seeds;
    cmp->auto_hp = s->auto_samples > 0;
    if (s->kappa_tilde > 0) snprintf(cmp->mass_label, sizeof cmp->mass_label, "MaSS (alpha 0.05, kappa-tilde %g)", s->kappa_tilde);
    exp_setting local = *s;
    for (int opt = 0; opt < N_OPT; opt++) {
        if (opt == O_NESTEROV && s->auto_samples > 0) EXP_TRY(exp_auto_lr(o, tag, &local.lr));
        cmp->lr[opt] = exp_lr_of(&local, opt);
        if (s->lrs) snprintf(cmp->label[opt], sizeof cmp->label[opt], "%s, lr %g", NAME[opt], cmp->lr[opt]);
        for (int k = 0; k < seeds; k++) {
            exp_run *run = &cmp->runs[opt][k];
            char out[4200];
            snprintf(out, sizeof out, "%s/runs/%s-%s-seed%llu", o->dir, tag, EXP_OPT[opt].key, (unsigned long long)(o->seed + k));
            if (from && from->lr[opt] == cmp->lr[opt]) EXP_TRY(copy_run(run, &from->runs[opt][k]));
            else EXP_TRY(exp_train(r, &local, opt, o->seed + k, out, tag, run));
            cmp->diverged[opt] += run->diverged;
        }
        cmp->loss[opt] = spread_of(cmp->runs[opt], seeds, 0);
        cmp->acc[opt] = spread_of(cmp->runs[opt], seeds, 1);
    }
    return LM_OK;
}

void exp_compare_free(exp_comparison *cmp)
{
    for (int opt = 0; opt < N_OPT; opt++)
        for (int k = 0; k < EXP_MAX_SEEDS; k++) exp_run_free(&cmp->runs[opt][k]);
}

int exp_lowest_loss(const exp_comparison *cmp)
{
    int best = 0;
    for (int opt = 1; opt < N_OPT; opt++)
        if (cmp->loss[opt].mean < cmp->loss[best].mean) best = opt;
    return best;
}

const char *exp_opt_label(const exp_comparison *cmp, int opt)
{
    if (cmp->label[opt][0]) return cmp->label[opt];
    if (cmp->auto_hp && opt == O_MASS) return "MaSS (hyper-parameters from the constants)";
    if (cmp->auto_hp && opt == O_SGD) return "SGD (eta = 1/L_m from the constants)";
    if (opt == O_MASS && cmp->mass_label[0]) return cmp->mass_label;
    return EXP_OPT[opt].label;
}

void exp_mass_points(lm_report *r)
{
    lm_report_printf(r, "MaSS takes its gradients at u, so its logged training loss is measured at u; its test accuracy (and "
                     "every checkpoint) is evaluated at the visible weights w. A restart starts from u (w = v = u), as "
                     "rebuilding the authors' optimizer from the saved weights does (docs/theory.md §1.1).\n\n");
}

double exp_effective_step(int opt)
{
    if (opt != O_NESTEROV && opt != O_MASS) return 1;
    lm_optim_config c;
    lm_optim_config_init(&c, EXP_OPT[opt].kind);
    if (opt == O_NESTEROV) return 1 / (1 - c.momentum);
    lm_mass_hp h = lm_mass_from_authors((lm_mass3_hp){1, c.alpha, c.kappa_tilde, 0});
    return (h.eta1 - h.eta2) / (1 - h.gamma);
}

int exp_early_ordering(lm_report *r, const exp_comparison *cmp, const char *what)
{
    const double *l[3] = {&cmp->loss[O_NESTEROV].mean, &cmp->loss[O_MASS].mean, &cmp->loss[O_SGD].mean};
    int holds = *l[0] < *l[1] && *l[1] < *l[2];
    lm_report_printf(r, "%s: before the curves separate, the larger long-run step per unit of learning rate leads (Nesterov "
                     "%.3g, MaSS %.3g, SGD 1; docs/theory.md §1), so this length predicts Nesterov < MaSS < SGD in mean final "
                     "training loss; measured %.4g, %.4g, %.4g: %s.\n\n",
                     what, exp_effective_step(O_NESTEROV), exp_effective_step(O_MASS), *l[0], *l[1], *l[2],
                     holds ? "as predicted" : "**not** as predicted");
    return holds;
}

int exp_diverged_runs(const exp_comparison *cmp)
{
    int n = 0;
    for (int opt = 0; opt < N_OPT; opt++) n += cmp->diverged[opt];
    return n;
}

void exp_table(lm_report *r, const exp_comparison *cmp, const char *title)
{
    lm_report_printf(r, "%s\n\n| optimizer | final training loss: mean [min, max] | test accuracy: mean [min, max] | diverged runs | samples/s |\n"
                     "|---|---|---|---|---|\n", title);
    for (int opt = 0; opt < N_OPT; opt++) {
        double sps = 0;
        for (int k = 0; k < cmp->seeds; k++) sps += cmp->runs[opt][k].samples_per_sec / cmp->seeds;
        lm_report_printf(r, "| %s | %.4g [%.4g, %.4g] | %.4f [%.4f, %.4f] | %d of %d | %.0f |\n", exp_opt_label(cmp, opt),
                         cmp->loss[opt].mean, cmp->loss[opt].min, cmp->loss[opt].max, cmp->acc[opt].mean, cmp->acc[opt].min,
                         cmp->acc[opt].max, cmp->diverged[opt], cmp->seeds, sps);
    }
}

void exp_record(lm_report *r, const exp_comparison *cmp, const char *prefix)
{
    for (int opt = 0; opt < N_OPT; opt++) {
        exp_measuredf(r, cmp->loss[opt].mean, "%s%s_final_train_loss", prefix, EXP_OPT[opt].key);
        exp_measuredf(r, cmp->acc[opt].mean, "%s%s_test_acc", prefix, EXP_OPT[opt].key);
    }
}

/* Per epoch over the seeds: mean, min and max of the loss (acc 0) or the test accuracy. */
static void over_seeds(const exp_comparison *cmp, int opt, int epochs, int acc, double *mean, double *lo, double *hi)
{
    for (int e = 0; e < epochs; e++) {
        mean[e] = 0, lo[e] = INFINITY, hi[e] = -INFINITY;
        for (int k = 0; k < cmp->seeds; k++) {
            double v = acc ? cmp->runs[opt][k].test_acc[e] : cmp->runs[opt][k].train_loss[e];
            mean[e] += v / cmp->seeds, lo[e] = fmin(lo[e], v), hi[e] = fmax(hi[e], v);
        }
    }
}

/* One figure against epochs: the loss (acc 0) or the test accuracy of the four optimizers. */
static lm_status curves_of(lm_report *r, const exp_comparison *cmp, int epochs, int acc, const char *prefix,
                           const char *title, double *x, double *buf)
{
    int band = cmp->seeds > 1;
    lm_curve c[N_OPT];
    char labels[N_OPT][128], file[128], caption[300];
    for (int opt = 0; opt < N_OPT; opt++) {
        double *mean = buf + 3 * opt * epochs, *lo = mean + epochs, *hi = lo + epochs;
        over_seeds(cmp, opt, epochs, acc, mean, lo, hi);
        if (band) snprintf(labels[opt], sizeof labels[opt], "%s, mean of %d seeds", exp_opt_label(cmp, opt), cmp->seeds);
        else snprintf(labels[opt], sizeof labels[opt], "%s", exp_opt_label(cmp, opt));
        lm_curve_kind kind = band ? LM_CURVE_BAND : epochs > 60 ? LM_CURVE_LINE : LM_CURVE_LINESPOINTS;
        c[opt] = (lm_curve){labels[opt], kind, epochs, x, mean, band ? lo : NULL, band ? hi : NULL, opt + 1};
    }
    snprintf(file, sizeof file, "%s_%s.png", prefix, acc ? "test_acc" : "train_loss");
    if (acc) snprintf(caption, sizeof caption, "%s: test accuracy%s", title, band ? " (mean over seeds; band: min-max over seeds)" : "");
    else snprintf(caption, sizeof caption, "%s: training loss (running mean over each epoch, log scale)%s", title,
                  band ? ", mean over seeds; band: min-max over seeds" : "");
    lm_figure f = {file, caption, title, "epoch", acc ? "test accuracy" : "training loss", 0, !acc,
                   acc ? LM_LEGEND_BOTTOM_RIGHT : LM_LEGEND_BELOW, N_OPT, c, 0};
    return lm_report_figure(r, &f);
}

lm_status exp_curves(lm_report *r, const exp_comparison *cmp, int epochs, const char *prefix, const char *title)
{
    double *x = malloc(sizeof *x * (size_t)epochs * (1 + 3 * N_OPT)), *buf = x + epochs;
    if (!x) return lm_fail(LM_ENOMEM, "out of memory for %d epochs", epochs);
    for (int e = 0; e < epochs; e++) x[e] = e + 1;
    lm_status st = curves_of(r, cmp, epochs, 0, prefix, title, x, buf);
    if (!st) st = curves_of(r, cmp, epochs, 1, prefix, title, x, buf);
    free(x);
    return st;
}
