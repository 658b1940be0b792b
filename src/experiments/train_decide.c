/* Settings long enough to decide the claims of docs/theory.md §3: a verdict that accounts for
 * the seeds' spread, each optimizer's learning rate chosen from a grid on a validation split at
 * a short horizon, and the medium settings' two protocols built from them. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "experiments/exp_train.h"

lm_verdict exp_seed_verdict(const double *mean, const double *sd, int seeds, double *diff, double *se)
{
    int all_below = 1, some_above = 0;
    for (int o = 0; o < N_OPT; o++) {
        double d = 0, e = 0;
        if (o != O_MASS) {
            d = mean[o] - mean[O_MASS];
            e = isfinite(mean[o]) && isfinite(mean[O_MASS]) ? sqrt((sd[O_MASS] * sd[O_MASS] + sd[o] * sd[o]) / seeds) : 0;
            all_below &= d > e;
            some_above |= d < -e;
        }
        if (diff) diff[o] = d;
        if (se) se[o] = e;
    }
    if (seeds < 2) return LM_VERDICT_NOT_TESTED;
    return some_above ? LM_VERDICT_FAILS : all_below ? LM_VERDICT_HOLDS : LM_VERDICT_NOT_TESTED;
}

int exp_pick_lr(const double *val_loss, int n)
{
    int best = -1;
    for (int i = 0; i < n; i++)
        if (isfinite(val_loss[i]) && (best < 0 || val_loss[i] < val_loss[best])) best = i;
    return best;
}

lm_status exp_tune(const lm_claim_opts *o, lm_report *r, const exp_setting *s, const char *tag, exp_tuning *t)
{
    exp_setting one = *s;
    double lrs[N_OPT] = {0};
    one.lrs = lrs;
    for (int opt = 0; opt < N_OPT; opt++) {
        for (int g = 0; g < EXP_GRID; g++) {
            exp_run run;
            char out[4200];
            lrs[opt] = t->grid[opt][g];
            snprintf(out, sizeof out, "%s/runs/%s-%s-lr%g", o->dir, tag, EXP_OPT[opt].key, t->grid[opt][g]);
            lm_status st = exp_train(r, &one, opt, o->seed, out, tag, &run);
            t->val_loss[opt][g] = run.diverged ? INFINITY : run.res.val_loss;
            exp_run_free(&run);
            EXP_TRY(st);
        }
        int best = exp_pick_lr(t->val_loss[opt], EXP_GRID);
        if (best < 0) return lm_fail(LM_EINVAL, "%s: %s diverged at every learning rate of the grid", tag, EXP_OPT[opt].key);
        t->chosen[opt] = t->grid[opt][best];
    }
    return LM_OK;
}

void exp_tuning_table(lm_report *r, const exp_tuning *t, const char *title)
{
    lm_report_printf(r, "%s\n\n| optimizer | validation loss at each learning rate | chosen |\n|---|---|---|\n", title);
    for (int opt = 0; opt < N_OPT; opt++) {
        lm_report_printf(r, "| %s |", EXP_OPT[opt].key);
        for (int g = 0; g < EXP_GRID; g++)
            lm_report_printf(r, "%s lr %g: %.4g", g ? "," : "", t->grid[opt][g], t->val_loss[opt][g]);
        lm_report_printf(r, " | %g |\n", t->chosen[opt]);
    }
    lm_report_printf(r, "\n");
}

lm_verdict exp_seed_decide(lm_report *r, const exp_comparison *cmp, const char *what)
{
    double mean[N_OPT], sd[N_OPT], diff[N_OPT], se[N_OPT];
    for (int opt = 0; opt < N_OPT; opt++) mean[opt] = cmp->loss[opt].mean, sd[opt] = cmp->loss[opt].sd;
    lm_verdict v = exp_seed_verdict(mean, sd, cmp->seeds, diff, se);
    lm_report_printf(r, "\n%s, final training loss over %d seeds (mean +- sample sd; difference to MaSS against the combined "
                     "standard error sqrt((sd_MaSS^2 + sd^2) / seeds)):\n\n| optimizer | final training loss | minus MaSS's "
                     "| standard error | |\n|---|---|---|---|---|\n", what, cmp->seeds);
    for (int opt = 0; opt < N_OPT; opt++) {
        const char *side = opt == O_MASS ? "" : diff[opt] > se[opt] ? "above MaSS" : diff[opt] < -se[opt] ? "**below MaSS**"
                                                                                                          : "within the error";
        lm_report_printf(r, "| %s | %.4g +- %.2g | %.3g | %.2g | %s |\n", exp_opt_label(cmp, opt), mean[opt], sd[opt], diff[opt],
                         se[opt], side);
    }
    lm_report_printf(r, "\n%s: MaSS's final training loss is %s.\n\n", what,
                     v == LM_VERDICT_HOLDS ? "below every other optimizer's by more than the standard error"
                     : v == LM_VERDICT_FAILS ? "above some other optimizer's by more than the standard error"
                                             : "within the standard error of some other optimizer's (undecided)");
    return v;
}

lm_verdict exp_both_protocols(lm_verdict paper, lm_verdict tuned)
{
    if (paper == LM_VERDICT_FAILS || tuned == LM_VERDICT_FAILS) return LM_VERDICT_FAILS;
    return paper == LM_VERDICT_HOLDS && tuned == LM_VERDICT_HOLDS ? LM_VERDICT_HOLDS : LM_VERDICT_NOT_TESTED;
}

/* The runs of a medium setting: the paper's protocol, the tuned one, and the grid. */
typedef struct {
    exp_comparison cmp[2];
    exp_tuning tuning;
} medium_runs;

static lm_status medium_train(const lm_claim_opts *o, lm_report *r, const exp_setting *s, const exp_medium *m, medium_runs *mr)
{
    for (int opt = 0; opt < N_OPT; opt++)
        for (int g = 0; g < EXP_GRID; g++) mr->tuning.grid[opt][g] = opt == O_ADAM ? m->grid_adam[g] : m->grid_shared[g];
    char tag[64];
    EXP_TRY(exp_compare(o, r, s, m->seeds, m->tag, &mr->cmp[0], NULL));
    exp_setting brief = *s, tuned = *s;
    brief.epochs = m->tune_epochs, brief.val_fraction = m->tune_val;
    snprintf(tag, sizeof tag, "%s-grid", m->tag);
    EXP_TRY(exp_tune(o, r, &brief, tag, &mr->tuning));
    tuned.lrs = mr->tuning.chosen;
    snprintf(tag, sizeof tag, "%s-tuned", m->tag);
    return exp_compare(o, r, &tuned, m->seeds, tag, &mr->cmp[1], &mr->cmp[0]);
}

/* One protocol of a medium setting: its tables, numbers, verdict and figures. */
static lm_verdict medium_protocol(lm_report *r, const exp_comparison *cmp, const char *what, const char *prefix,
                                  const char *figure, const char *title, int epochs, lm_status *st)
{
    char head[200];
    snprintf(head, sizeof head, "**%s**, after the last epoch:", what);
    exp_table(r, cmp, head);
    lm_verdict v = exp_seed_decide(r, cmp, what);
    exp_record(r, cmp, prefix);
    for (int opt = 0; opt < N_OPT; opt++) {
        exp_measuredf(r, cmp->loss[opt].sd, "%s%s_final_train_loss_sd", prefix, EXP_OPT[opt].key);
        exp_measuredf(r, cmp->lr[opt], "%s%s_lr", prefix, EXP_OPT[opt].key);
    }
    exp_measuredf(r, v, "%sverdict", prefix);
    exp_measuredf(r, exp_diverged_runs(cmp), "%sdiverged_runs", prefix);
    *st = exp_curves(r, cmp, epochs, figure, title);
    return v;
}

static lm_status medium_report(const lm_claim_opts *o, lm_report *r, const exp_setting *s, const exp_medium *m,
                               const medium_runs *mr)
{
    m->describe(o, r, s);
    exp_mass_points(r);
    lm_report_printf(r, "The medium setting decides by the seeds' spread: the claim holds for a protocol when MaSS's mean final "
                     "training loss is below each other optimizer's by more than their combined standard error, does not "
                     "hold when some optimizer's is below MaSS's by more than that, and is undecided otherwise. Two "
                     "protocols: the paper's (above), and a tuned one, because at a shared lr MaSS takes about %.2gx "
                     "Nesterov's long-run step (docs/theory.md §1), so that an equal-lr comparison measures the step size as "
                     "much as the method.\n\n", exp_effective_step(O_MASS) / exp_effective_step(O_NESTEROV));
    char what[300], figure[80], title[200];
    lm_status st1, st2;
    snprintf(what, sizeof what, "The paper's protocol (shared lr %g, Adam 0.001)", s->lr);
    snprintf(title, sizeof title, "%s, the paper's protocol", m->title);
    lm_verdict paper = medium_protocol(r, &mr->cmp[0], what, "", m->tag, title, s->epochs, &st1);
    snprintf(what, sizeof what, "**Tuned learning rates**: each optimizer's chosen by the validation loss (%g of the training "
             "subset held out) after %d epochs, seed %llu (where the choice is the paper protocol's rate, its runs are reused):",
             m->tune_val, m->tune_epochs, (unsigned long long)o->seed);
    exp_tuning_table(r, &mr->tuning, what);
    snprintf(figure, sizeof figure, "%s_tuned", m->tag);
    snprintf(title, sizeof title, "%s, tuned learning rates", m->title);
    lm_verdict tune = medium_protocol(r, &mr->cmp[1], "The tuned protocol (each optimizer at its chosen lr)", "tuned_", figure,
                                      title, s->epochs, &st2);
    EXP_TRY(st1);
    EXP_TRY(st2);
    lm_verdict v = exp_both_protocols(paper, tune);
    return lm_report_verdict(r, v, "after %d epochs over %d seeds, by the seeds' standard error: the paper's protocol %s, the "
                             "tuned one %s%s", s->epochs, m->seeds, lm_verdict_name(paper), lm_verdict_name(tune),
                             v == LM_VERDICT_NOT_TESTED ? " (a difference within the standard error leaves the claim undecided)" : "");
}

lm_status exp_medium_run(const lm_claim_opts *o, lm_report *r, const exp_setting *s, const exp_medium *m)
{
    medium_runs mr;
    memset(&mr, 0, sizeof mr); /* freed below however far the runs got */
    lm_status st = medium_train(o, r, s, m, &mr);
    if (!st) st = medium_report(o, r, s, m, &mr);
    exp_compare_free(&mr.cmp[0]);
    exp_compare_free(&mr.cmp[1]);
    return st;
}
