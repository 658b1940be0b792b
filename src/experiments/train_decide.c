/* Settings long enough to decide the claims of docs/theory.md §3: a verdict that accounts for
 * the seeds' spread, and each optimizer's learning rate chosen from a grid on a validation split
 * at a short horizon. */
#include <math.h>
#include <stdio.h>

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
