/* Width sweeps of the model Hessian's norm for the claims of docs/theory.md §4.2 and the demo:
 * architectures as data, the sweep, and its figure. */
#ifndef LM_EXPERIMENTS_PROBE_H
#define LM_EXPERIMENTS_PROBE_H

#include "experiments/exp_internal.h"
#include "linmass/probe.h"

enum { EXP_D_VEC = 16, EXP_IMG = 8 }; /* inputs: R^16 vectors, or 1x8x8 images, entries N(0, 1) */

typedef struct {
    const char *label, *key, *tmpl;
    int image;    /* 1: 1x8x8 images; 0: vectors in R^16 */
    int n, seeds; /* inputs and models per width */
    const int *widths;
    int nw;
} exp_arch;

/* The inputs of an architecture's sweep (malloc'ed), N(0, 1) entries from seed + 7; NULL with
 * LM_ENOMEM recorded. */
double *exp_sweep_inputs(uint64_t seed, const exp_arch *a, lm_shape *in);

/* ||H_f||, the mean over the inputs of each input's spectral norm, for every width and seed of
 * one architecture (NTK parameterisation, Lanczos to 1e-6). Free r with lm_sweep_free. */
lm_status exp_hessian_sweep(lm_report *rep, uint64_t seed, const exp_arch *a, lm_sweep_result *r);

/* ||H_f|| against width on log-log axes: each architecture's mean over its models with a
 * min-max band, and a dashed reference of slope `predicted` through the first one's first
 * point. labels: one per architecture (NULL: their own). */
lm_status exp_hessian_figure(lm_report *rep, const exp_arch *a, int na, const lm_sweep_result *r, double predicted,
                             const char *file, const char *title, const char *const *labels);

/* For f = softplus(f~), m being f~ (the net without its output non-linearity): per input
 * x_i (n inputs of nin values), term[i] = phi''(f~(x_i)) K~(x_i, x_i) with phi'' = s (1 - s),
 * s the logistic function, K~(x, x) = ||grad f~(x)||^2 (the spectral norm of the rank-one term
 * phi''(f~) grad f~ grad f~^T that the output adds to the model Hessian, docs/theory.md §4.2),
 * and pre[i] = f~(x_i). */
lm_status exp_softplus_floor_terms(const lm_model *m, const double *x, int n, size_t nin, double *term, double *pre);

#endif
