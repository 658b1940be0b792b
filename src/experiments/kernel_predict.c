/* The theory's prediction for the kernel-regression claim (docs/theory.md §2.1-2.3). With
 * K = V Lambda V^T on r points the RKHS features psi = V Lambda^{1/2} (lm_model_linear_features)
 * make H = psi^T psi / r diagonal: direction k has eigenvalue Lambda_k / r and, from a = 0, the
 * loss (1/2r) sum_c (v_k^T y_c)^2. The expected iterate of each optimizer then evolves direction
 * by direction (lm_theory_mean_curve). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "experiments/exp_kernel.h"
#include "linmass/data.h"
#include "linmass/model.h"

void exp_kernel_problem_free(exp_kernel_problem *p)
{
    free(p->lambda), free(p->weight);
    p->lambda = p->weight = NULL;
}

/* From the features psi (r x r, column k = v_k sqrt(Lambda_k)) and the class labels y. */
static void directions(const double *psi, const float *y, int classes, exp_kernel_problem *p)
{
    int r = p->r;
    double top = 0;
    for (int k = 0; k < r; k++) {
        double s = 0;
        for (int i = 0; i < r; i++) s += psi[(size_t)i * r + k] * psi[(size_t)i * r + k];
        p->lambda[k] = s; /* Lambda_k for now */
        top = fmax(top, s);
    }
    for (int k = 0; k < r; k++) {
        double w = 0, L = p->lambda[k];
        for (int c = 0; c < classes && L > LM_RANK_RTOL * top; c++) {
            double proj = 0; /* sqrt(Lambda_k) v_k^T y_c */
            for (int i = 0; i < r; i++) proj += (y[i] == c) * psi[(size_t)i * r + k];
            w += proj * proj / L;
        }
        p->weight[k] = w / (2.0 * r);
        p->lambda[k] = L / r;
    }
    p->zero_loss = 0.5; /* one-hot targets: |y_i|^2 = 1 */
}

lm_status exp_kernel_problem_load(const char *data, const char *model, int r, int batch, exp_kernel_problem *p)
{
    memset(p, 0, sizeof *p);
    lm_dataset *ds = NULL;
    lm_model *m = NULL;
    double *psi = NULL;
    char spec[256];
    int rows = 0, cols = 0;
    EXP_TRY(lm_data_load(data, LM_SPLIT_TRAIN, 0, &ds));
    lm_status st = ds->classes > 0 && ds->n >= (size_t)r && r > 0
                       ? LM_OK
                       : lm_fail(LM_EINVAL, "kernel prediction: data '%s' has %zu samples and %d classes (%d points wanted)", data,
                                 ds->n, ds->classes, r);
    if (!st && !lm_model_alias_spec(model, ds->classes, (size_t)r, spec, sizeof spec))
        st = lm_fail(LM_EINVAL, "kernel prediction: model '%s' is no kernel alias", model);
    if (!st) st = lm_model_create(spec, ds->shape, LM_PARAM_STANDARD, 0, &m);
    if (!st) st = lm_model_set_kernel_centres(m, ds->x, (size_t)r);
    if (!st) st = lm_model_linear_features(m, ds->x, (size_t)r, r, 0, &psi, &rows, &cols);
    if (!st) st = lm_linreg_constants(psi, rows, cols, batch, &p->k);
    if (!st) {
        p->r = r;
        p->lambda = malloc(sizeof *p->lambda * r);
        p->weight = malloc(sizeof *p->weight * r);
        if (p->lambda && p->weight) directions(psi, ds->y, ds->classes, p);
        else st = lm_fail(LM_ENOMEM, "kernel prediction: no memory for %d directions", r);
    }
    free(psi);
    lm_model_free(m);
    lm_dataset_free(ds);
    return st;
}

void exp_kernel_prediction_free(exp_kernel_prediction *pr)
{
    for (int i = 0; i < EXP_KM_N; i++) free(pr->loss[i]), pr->loss[i] = NULL;
}

/* The per-epoch means over its steps of the loss at u, from the curve over every step. */
static void epoch_means(const double *curve, int spe, int epochs, double *out)
{
    for (int e = 0; e < epochs; e++) {
        double s = 0;
        for (int t = e * spe; t < (e + 1) * spe; t++) s += curve[t];
        out[e] = s / spe;
    }
}

/* The first epoch from which MaSS stays below the others up to the horizon (0: never). */
static int crossing_of(const exp_kernel_prediction *pr)
{
    int from = 0;
    for (int e = pr->horizon - 1; e >= 0; e--) {
        double mass = pr->loss[EXP_KM_MASS][e];
        if (!(mass < pr->loss[EXP_KM_SGD][e] && mass < pr->loss[EXP_KM_NESTEROV][e])) break;
        from = e + 1;
    }
    return from;
}

/* The slowest direction's factor of each method, the cut-off where MaSS's factor stops beating
 * Nesterov's (from the smallest eigenvalue up), and the loss's shares below it. */
static lm_status rates(const exp_kernel_problem *p, const double *nesterov_end, exp_kernel_prediction *pr)
{
    double below_start = 0, below_end = 0, all_start = 0, all_end = 0;
    int open = 1;
    for (int k = 0; k < p->r; k++) {
        double rho[EXP_KM_N];
        for (int m = 0; m < EXP_KM_N; m++) {
            EXP_TRY(lm_theory_mean_rate((lm_theory_method)m, pr->hp[m], p->lambda[k], &rho[m]));
            if (p->weight[k] > 0) pr->rho[m] = fmax(pr->rho[m], rho[m]);
        }
        open = open && rho[EXP_KM_MASS] < rho[EXP_KM_NESTEROV];
        if (open) pr->cutoff = p->lambda[k];
        all_start += p->weight[k], all_end += nesterov_end[k];
        if (open) below_start += p->weight[k], below_end += nesterov_end[k];
    }
    pr->share_start = all_start > 0 ? below_start / all_start : 0;
    pr->share_end = all_end > 0 ? below_end / all_end : 0;
    return LM_OK;
}

lm_status exp_kernel_predict(const exp_kernel_problem *p, const lm_theory_hp *hp, int steps_per_epoch, int epochs,
                             int horizon, exp_kernel_prediction *out)
{
    memset(out, 0, sizeof *out);
    if (steps_per_epoch < 1 || epochs < 1 || horizon < epochs)
        return lm_fail(LM_EINVAL, "kernel prediction: %d steps per epoch, %d epochs, horizon %d", steps_per_epoch, epochs,
                       horizon);
    memcpy(out->hp, hp, sizeof out->hp);
    out->steps_per_epoch = steps_per_epoch, out->epochs = epochs, out->horizon = horizon;
    int steps = steps_per_epoch * horizon, end = steps_per_epoch * epochs; /* the run's last step */
    double *curve = malloc(sizeof *curve * (steps + 1)), *nesterov_end = malloc(sizeof *nesterov_end * p->r);
    lm_status st = curve && nesterov_end ? LM_OK : lm_fail(LM_ENOMEM, "kernel prediction: no memory for %d steps", steps);
    for (int m = 0; !st && m < EXP_KM_N; m++) {
        out->loss[m] = malloc(sizeof *out->loss[m] * horizon);
        if (!out->loss[m]) st = lm_fail(LM_ENOMEM, "kernel prediction: no memory for %d epochs", horizon);
        if (!st) st = lm_theory_mean_curve((lm_theory_method)m, hp[m], p->lambda, p->weight, p->r, steps, NULL, curve);
        if (!st) epoch_means(curve, steps_per_epoch, horizon, out->loss[m]);
    }
    for (int k = 0; !st && k < p->r; k++) { /* Nesterov's loss along direction k at the run's end */
        st = lm_theory_mean_curve(LM_THEORY_NESTEROV, hp[EXP_KM_NESTEROV], p->lambda + k, p->weight + k, 1, end, NULL,
                                  curve);
        if (!st) nesterov_end[k] = curve[end];
    }
    if (!st) st = rates(p, nesterov_end, out);
    if (!st) out->crossing = crossing_of(out);
    free(curve), free(nesterov_end);
    return st;
}
