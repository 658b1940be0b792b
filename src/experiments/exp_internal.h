/* What the files of src/experiments share: the claim functions of the table (claims.c), the
 * failure idiom, keyed numbers, and the helpers of several claims. */
#ifndef LM_EXPERIMENTS_INTERNAL_H
#define LM_EXPERIMENTS_INTERNAL_H

#include <stddef.h>

#include "linmass/error.h"
#include "linmass/experiments.h"
#include "linmass/report.h"

/* Return the status of a call that failed (its message is already recorded). */
#define EXP_TRY(call)                   \
    do {                                \
        lm_status exp_st_ = (call);     \
        if (exp_st_) return exp_st_;    \
    } while (0)

/* A measured / predicted number whose key is formatted. */
lm_status exp_measuredf(lm_report *r, double v, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
lm_status exp_predictedf(lm_report *r, double v, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The slope of lm_loglog_fit over the points with x in [lo, hi] and a finite y > 0 (NAN with
 * fewer than two); *used (may be NULL) counts them. */
double exp_loglog_slope(const double *x, const double *y, int n, double lo, double hi, int *used);

/* n doubles 0, 1, ..., n - 1 (malloc'ed), or NULL with LM_ENOMEM recorded. */
double *exp_range(int n);

/* Every k-th value of y[0..steps] (*every = k, the smallest with steps / k <= target), so that
 * simulated means drawn as points leave the exact curve under them visible: (t, y[t]) into xs
 * and ys (room for target + 1 values each); returns how many. */
int exp_thin(const double *y, int steps, int target, double *xs, double *ys, int *every);

/* The first n_train training and n_test test images of Fashion-MNIST as IDX files in DIR (for
 * the data source mnist:DIR). */
lm_status exp_write_subset(const char *dir, long n_train, long n_test);

/* ---- the claims (claims.c holds their table) ---- */

/* momentum on linear regression (docs/theory.md §2) */
lm_status exp_nesterov_diverges(const lm_claim_opts *o, lm_report *r);
lm_status exp_nesterov_no_acceleration(const lm_claim_opts *o, lm_report *r);
lm_status exp_mass_rate(const lm_claim_opts *o, lm_report *r);
lm_status exp_batch_regimes(const lm_claim_opts *o, lm_report *r);
/* training real networks (docs/theory.md §3) */
lm_status exp_fcn(const lm_claim_opts *o, lm_report *r);
lm_status exp_cnn(const lm_claim_opts *o, lm_report *r);
lm_status exp_kernel_regression(const lm_claim_opts *o, lm_report *r);
lm_status exp_resnet(const lm_claim_opts *o, lm_report *r);
/* transition to linearity and PL* (docs/theory.md §4-5) */
lm_status exp_hessian_scaling(const lm_claim_opts *o, lm_report *r);
lm_status exp_nonlinear_output(const lm_claim_opts *o, lm_report *r);
lm_status exp_bottleneck(const lm_claim_opts *o, lm_report *r);
lm_status exp_kernel_drift(const lm_claim_opts *o, lm_report *r);
lm_status exp_plstar_rate(const lm_claim_opts *o, lm_report *r);

/* ---- the demo's sections (demo.c holds their table) ---- */
lm_status exp_demo_hessian(const lm_demo_opts *o, lm_report *r);
lm_status exp_demo_fcn(const lm_demo_opts *o, lm_report *r);

#endif
