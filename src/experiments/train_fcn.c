/* mass-vs-baselines-fcn (docs/theory.md §3): the paper's FCN trained by SGD, Nesterov, Adam and
 * MaSS over three seeds; the medium setting adds a comparison at learning rates tuned on a
 * validation split and decides both by the seeds' standard error. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "experiments/exp_train.h"

#define FCN_LR 0.01
#define FCN_SEPARATE 20 /* the epoch after which the paper's curves separate */

static const struct {
    long subset_train, subset_test; /* > 0: train on a Fashion-MNIST subset of this size */
    int epochs, seeds;
} SETTINGS[LM_SETTINGS] = {
    [LM_SETTING_QUICK] = {6000, 2000, 4, 3}, /* loading and evaluating all of Fashion-MNIST would
                                                cost more than the training */
    [LM_SETTING_FULL] = {0, 0, 100, 3},
    [LM_SETTING_MEDIUM] = {10000, 2000, 40, 3}, /* twice past epoch FCN_SEPARATE; 3.4 to 7.6 minutes measured
                                                   on 2 shared cores */
};

/* The medium setting's protocols: grids for SGD, Nesterov and MaSS around the shared rate and for
 * Adam around its own, each run for 3 epochs on one seed with 0.2 of the training subset held out
 * for validation. */
static void describe(const lm_claim_opts *o, lm_report *r, const exp_setting *s);
static const exp_medium MEDIUM = {"fcn", "FCN on Fashion-MNIST", {0.003, 0.01, 0.03, 0.1}, {0.0003, 0.001, 0.003, 0.01},
                                  3, 3, 0.2, describe};

static void describe(const lm_claim_opts *o, lm_report *r, const exp_setting *s)
{
    const int seeds = SETTINGS[o->setting].seeds;
    char subset[200] = "all 60000 training images and 10000 test images";
    if (SETTINGS[o->setting].subset_train)
        snprintf(subset, sizeof subset, "the first %ld training images (test accuracy on the first %ld test images)",
                 SETTINGS[o->setting].subset_train, SETTINGS[o->setting].subset_test);
    lm_report_printf(r, "The paper's FCN (784 -> 3 x [100 ReLU, dropout 0.5] -> 10 softmax, preset `fcn`) on Fashion-MNIST (the "
                     "offline stand-in for MNIST; inputs standardised), %s, %d epochs, batch 64, constant learning rate, "
                     "%d seeds (%llu..%llu). SGD, Nesterov and MaSS share lr %g (docs/theory.md §3 does not give the paper's FCN "
                     "learning rate; %g is the library's SGD default); Nesterov has gamma 0.9, Adam lr 0.001, MaSS alpha 0.05 "
                     "and kappa-tilde 3 (authors' form, eta = lr). The training loss is the running mean over each epoch, "
                     "with dropout active, as Keras reports it.\n\n",
                     subset, s->epochs, seeds, (unsigned long long)o->seed, (unsigned long long)o->seed + seeds - 1, FCN_LR, FCN_LR);
}

lm_status exp_fcn(const lm_claim_opts *o, lm_report *r)
{
    const int seeds = SETTINGS[o->setting].seeds;
    exp_setting s = {"fashion-mnist", "fcn", NULL, 0, SETTINGS[o->setting].epochs, 64, 0, 0, FCN_LR, 0, 0, 100, "{}", 0, NULL, 0};
    char dir[4200], data[4300];
    if (SETTINGS[o->setting].subset_train) {
        snprintf(dir, sizeof dir, "%s/data", o->dir);
        EXP_TRY(exp_write_subset(dir, SETTINGS[o->setting].subset_train, SETTINGS[o->setting].subset_test));
        snprintf(data, sizeof data, "mnist:%s", dir);
        s.data = data;
    }
    if (o->setting == LM_SETTING_MEDIUM) return exp_medium_run(o, r, &s, &MEDIUM);
    exp_comparison cmp;
    lm_status st = exp_compare(o, r, &s, seeds, "fcn", &cmp, NULL);
    if (!st) {
        describe(o, r, &s);
        exp_mass_points(r);
        exp_table(r, &cmp, "After the last epoch:");
        int best = exp_lowest_loss(&cmp);
        lm_report_printf(r, "\nThe paper (on MNIST, 100 epochs) ends with MaSS about 6e-5, SGD and Nesterov about 3e-4, Adam noisy "
                         "between 1e-2 and 1e-3; all curves close until about epoch %d. Here the lowest mean final training "
                         "loss is %s's (%.4g), against MaSS's %.4g.\n",
                         FCN_SEPARATE, EXP_OPT[best].label, cmp.loss[best].mean, cmp.loss[O_MASS].mean);
        lm_report_printf(r, "\nThe claim holds when MaSS ends with the lowest mean training loss of the four.\n\n");
        if (s.epochs < FCN_SEPARATE) {
            exp_early_ordering(r, &cmp, "What this length can test");
            lm_report_verdict(r, LM_VERDICT_NOT_TESTED,
                              "%d epochs on %s: the paper's curves stay close until about epoch %d, so the final ordering is "
                              "not decided at this length (the full setting runs %d epochs)",
                              s.epochs, SETTINGS[o->setting].subset_train ? "a tenth of the data" : "the data", FCN_SEPARATE,
                              SETTINGS[LM_SETTING_FULL].epochs);
        } else {
            lm_report_verdict(r, best == O_MASS ? LM_VERDICT_HOLDS : LM_VERDICT_FAILS,
                              "MaSS ends with the lowest mean training loss of the four optimizers");
        }
        exp_record(r, &cmp, "");
        lm_report_measured(r, "diverged_runs", exp_diverged_runs(&cmp));
        lm_report_predicted(r, "mass_final_train_loss_paper_mnist", 6e-5);
        lm_report_predicted(r, "sgd_final_train_loss_paper_mnist", 3e-4);
        lm_report_predicted(r, "nesterov_final_train_loss_paper_mnist", 3e-4);
        st = exp_curves(r, &cmp, s.epochs, "fcn", "FCN on Fashion-MNIST");
    }
    exp_compare_free(&cmp);
    return st;
}
