/* Training runs for the claims of docs/theory.md §3 and the demo: one run of an optimizer under
 * a setting (through lm_train_run, into its own run folder), comparisons of the four
 * optimizers over seeds, and their tables, numbers and figures. */
#ifndef LM_EXPERIMENTS_TRAIN_H
#define LM_EXPERIMENTS_TRAIN_H

#include <stdint.h>

#include "experiments/exp_internal.h"
#include "linmass/optim.h"
#include "linmass/train.h"

/* The four optimizers of docs/theory.md §3. */
enum { O_SGD, O_NESTEROV, O_ADAM, O_MASS, N_OPT };

typedef struct {
    const char *label, *key;
    lm_optim_kind kind;
} exp_optimizer;

extern const exp_optimizer EXP_OPT[N_OPT];

typedef struct {
    const char *data, *model;
    const char *schedule; /* NULL: constant */
    long max_train;
    int epochs, batch, augment, restart;
    double lr, weight_decay; /* lr: SGD's, Nesterov's and MaSS's; Adam always 0.001 */
    int auto_samples; /* > 0: SGD and MaSS take their step sizes from the constants (auto, on at
                         most this many samples); Nesterov then runs at SGD's step */
    int log_every;    /* metrics line every this many steps (0: 100) */
    const char *config_json; /* config.json's options (NULL: none written) */
    double kappa_tilde; /* MaSS's kappa-tilde (0: the default 3) */
    const double *lrs;  /* each optimizer's learning rate, by O_* (NULL: lr, and Adam 0.001) */
    double val_fraction; /* held out of the training split for validation (0: none) */
} exp_setting;

/* The learning rate optimizer o steps with under s (without auto). */
double exp_lr_of(const exp_setting *s, int o);

/* One run: per-epoch curves, and the training loss at every logged step. */
typedef struct {
    int epochs, done, diverged;
    double *train_loss, *test_acc; /* per epoch; a diverged run: infinite loss, NaN accuracy */
    double samples_per_sec, seconds;
    lm_train_result res;
    double *log_epoch, *log_loss;  /* (fractional epoch, training loss) at each logged step */
    int n_log, cap_log, log_failed;
    lm_report *report;
    const char *tag, *label;
} exp_run;

/* Train optimizer o under s with seed into the run folder out. A run that diverges is recorded
 * (diverged = 1), not an error. Free with exp_run_free (also after a failure). */
lm_status exp_train(lm_report *r, const exp_setting *s, int o, uint64_t seed, const char *out, const char *tag,
                    exp_run *run);
void exp_run_free(exp_run *run);

typedef struct {
    double mean, min, max;
    double sd; /* the seeds' sample standard deviation (NAN for one seed or a non-finite value) */
} exp_spread;

enum { EXP_MAX_SEEDS = 3 };

/* Which point of MaSS each number measures (training loss at u, evaluation and checkpoints at
 * w), one sentence for the reports. */
void exp_mass_points(lm_report *r);

/* The four optimizers over seeds under one setting. */
typedef struct {
    exp_run runs[N_OPT][EXP_MAX_SEEDS];
    int seeds;
    exp_spread loss[N_OPT], acc[N_OPT]; /* of the last epoch's values over the seeds */
    int diverged[N_OPT];
    int auto_hp; /* SGD's and MaSS's hyper-parameters came from the constants */
    char mass_label[64]; /* MaSS's label when its kappa-tilde is not the default, else "" */
    double lr[N_OPT];    /* each optimizer's learning rate (exp_lr_of) */
    char label[N_OPT][80]; /* with per-optimizer rates (setting lrs): "NAME, lr X", else "" */
} exp_comparison;

/* Train the four optimizers with seeds o->seed, o->seed + 1, ... into O->DIR/runs/TAG-KEY-seedS.
 * With from (a comparison of the same setting but for the learning rates, and as many seeds),
 * the runs of each optimizer whose learning rate is the same there are copied, not trained
 * again. Free with exp_compare_free (also after a failure). */
lm_status exp_compare(const lm_claim_opts *o, lm_report *r, const exp_setting *s, int seeds, const char *tag,
                      exp_comparison *cmp, const exp_comparison *from);
void exp_compare_free(exp_comparison *cmp);

/* The numbers names[0..n) of resolved.auto in runs/RUN-seedS/config.json (what `--auto` chose) into
 * *v[i], NaN where absent; an error naming the file and key when bit i of needed is set and
 * names[i] is not a number. */
lm_status exp_auto_values(const lm_claim_opts *o, const char *run, int n, const char *const names[], double *const v[],
                          unsigned needed);
/* The step auto chose for SGD in the first seed's run of tag (its config.json). */
lm_status exp_auto_lr(const lm_claim_opts *o, const char *tag, double *lr);

/* The optimizer with the lowest mean final training loss. */
int exp_lowest_loss(const exp_comparison *cmp);
const char *exp_opt_label(const exp_comparison *cmp, int o);

/* The long-run step per unit of learning rate at a shared lr (docs/theory.md §1, QHM): SGD 1,
 * Nesterov 1/(1 - gamma) = 10, MaSS (eta1 - eta2)/(1 - gamma) = 3.83 at alpha 0.05, kappa-tilde 3. */
double exp_effective_step(int opt);

/* For a setting too short to test a claim: the ordering that its length predicts, before the
 * methods' curves separate: the larger effective step ahead, Nesterov below MaSS below SGD in
 * mean final training loss. Writes the check into the report; 1 when it holds. */
int exp_early_ordering(lm_report *r, const exp_comparison *cmp, const char *what);

/* Runs of a comparison that diverged, over the optimizers. */
int exp_diverged_runs(const exp_comparison *cmp);

/* The table after the last epoch, under a title line. */
void exp_table(lm_report *r, const exp_comparison *cmp, const char *title);
/* PREFIXKEY_final_train_loss and PREFIXKEY_test_acc of each optimizer. */
void exp_record(lm_report *r, const exp_comparison *cmp, const char *prefix);
/* PREFIX_train_loss.png (log scale) and PREFIX_test_acc.png against epochs: the mean over seeds
 * with a min-max band when there are several. */
lm_status exp_curves(lm_report *r, const exp_comparison *cmp, int epochs, const char *prefix, const char *title);

/* ---- settings long enough to decide: the seeds' spread and tuned learning rates ---- */

/* MaSS's mean final training loss against each other optimizer's, over seeds (>= 2) with
 * sample standard deviations sd (by O_*): diff[o] = mean[o] - mean[MaSS] and the combined
 * standard error se[o] = sqrt((sd[MaSS]^2 + sd[o]^2) / seeds) (0 where a mean is infinite, a
 * diverged run). Holds when diff > se for every other optimizer; does not hold when diff < -se
 * for some; otherwise (a difference within the standard error, or not a number) not tested.
 * diff and se (N_OPT values each, MaSS's 0) may be NULL. */
lm_verdict exp_seed_verdict(const double *mean, const double *sd, int seeds, double *diff, double *se);

/* The index of the lowest finite validation loss of n (the first of equal ones), or -1 when
 * none is finite. */
int exp_pick_lr(const double *val_loss, int n);

enum { EXP_GRID = 4 };

/* Each optimizer's learning rate chosen from a grid by the validation loss after a short run. */
typedef struct {
    double grid[N_OPT][EXP_GRID];     /* the candidates */
    double val_loss[N_OPT][EXP_GRID]; /* after the short run (infinite: diverged) */
    double chosen[N_OPT];
} exp_tuning;

/* Train each optimizer at each rate of t->grid for one seed (o->seed) under s (its epochs and
 * val_fraction: the short horizon and the validation split) into
 * O->DIR/runs/TAG-KEY-lrLR, and choose by exp_pick_lr. LM_EINVAL when every rate of an
 * optimizer diverged. */
lm_status exp_tune(const lm_claim_opts *o, lm_report *r, const exp_setting *s, const char *tag, exp_tuning *t);

/* The grid, the validation losses and the choices as a table, under a title line. */
void exp_tuning_table(lm_report *r, const exp_tuning *t, const char *title);

/* After a table: exp_seed_verdict's differences and standard errors as a table, and its verdict
 * in a sentence starting with what (the protocol's name); returns the verdict. */
lm_verdict exp_seed_decide(lm_report *r, const exp_comparison *cmp, const char *what);

/* A medium setting's two protocols: the paper's (the setting's shared lr, Adam 0.001) and the
 * tuned one (each optimizer at the rate of its grid with the lowest validation loss after
 * tune_epochs, tune_val of the training split held out, seed o->seed). */
typedef struct {
    const char *tag;   /* runs/TAG-KEY-seedS, TAG-grid-KEY-lrLR, TAG-tuned-KEY-seedS; figures TAG, TAG_tuned */
    const char *title; /* the figures' subject, "FCN on Fashion-MNIST" */
    double grid_shared[EXP_GRID], grid_adam[EXP_GRID]; /* SGD's, Nesterov's and MaSS's; Adam's */
    int seeds, tune_epochs;
    double tune_val;
    /* the setting's description in the report, written after the runs */
    void (*describe)(const lm_claim_opts *o, lm_report *r, const exp_setting *s);
} exp_medium;

/* The claim holds when both protocols hold, does not when either does not, else undecided. */
lm_verdict exp_both_protocols(lm_verdict paper, lm_verdict tuned);

/* Train both protocols of m under s (the tuned one reuses the runs at the paper's rates), then
 * write the description, the decision rule, each protocol's tables, numbers, verdict and
 * figures, the grid, and the claim's verdict (exp_both_protocols). */
lm_status exp_medium_run(const lm_claim_opts *o, lm_report *r, const exp_setting *s, const exp_medium *m);

#endif
