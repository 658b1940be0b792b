/* The theory's prediction for the kernel-regression claim (docs/theory.md §2.1-2.3): the exact
 * spectrum of H = K/r on r training points, each direction's share of the loss at a = 0, the
 * exact constants, and the expected iterate of SGD, Nesterov and MaSS at the run's
 * hyper-parameters, direction by direction. */
#ifndef LM_EXPERIMENTS_KERNEL_H
#define LM_EXPERIMENTS_KERNEL_H

#include "experiments/exp_internal.h"
#include "linmass/theory.h"

typedef struct {
    int r;                 /* training points (the first r of the data) */
    double *lambda;        /* the r eigenvalues of K/r, ascending */
    double *weight;        /* the loss at a = 0 along each (their sum: the loss at 0 less floor) */
    double zero_loss;      /* (1/2r) sum_i |y_i|^2 */
    lm_constants k;        /* exact, for the batch size */
} exp_kernel_problem;

/* The kernel machine `model` (kernel:TYPE:BW) on the first r training points of data, square
 * loss on one-hot targets. Free with exp_kernel_problem_free (also after a failure). */
lm_status exp_kernel_problem_load(const char *data, const char *model, int r, int batch, exp_kernel_problem *p);
void exp_kernel_problem_free(exp_kernel_problem *p);

enum { EXP_KM_SGD, EXP_KM_NESTEROV, EXP_KM_MASS, EXP_KM_N }; /* = lm_theory_method */

typedef struct {
    lm_theory_hp hp[EXP_KM_N];
    int steps_per_epoch, epochs, horizon; /* the run's epochs; the prediction's epochs */
    double rho[EXP_KM_N];     /* the slowest direction's factor per step of |E e|^2 */
    double *loss[EXP_KM_N];   /* per epoch (horizon of them): the mean over its steps of the loss
                                 of the expected iterate at the gradient point u */
    int crossing;             /* the first epoch from which MaSS's predicted loss stays below
                                 SGD's and Nesterov's up to the horizon (0: not within it) */
    double cutoff;            /* the largest eigenvalue below which MaSS's factor beats
                                 Nesterov's in every direction (0: none) */
    double share_start, share_end; /* the share of the loss at the start, and of Nesterov's
                                      predicted loss after the run's epochs, along directions
                                      below the cut-off */
} exp_kernel_prediction;

/* The prediction at hp (by EXP_KM_*) for steps_per_epoch steps per epoch over horizon >= epochs
 * epochs. Free with exp_kernel_prediction_free (also after a failure). */
lm_status exp_kernel_predict(const exp_kernel_problem *p, const lm_theory_hp *hp, int steps_per_epoch, int epochs,
                             int horizon, exp_kernel_prediction *out);
void exp_kernel_prediction_free(exp_kernel_prediction *pr);

#endif
