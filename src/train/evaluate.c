/* Evaluation of a model on a data set, and the targets of the square loss on classes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "linmass/exec.h"
#include "linmass/run.h"
#include "linmass/train.h"
#include "train/train_internal.h"

const float *lm_train_targets(lm_loss_kind loss, int classes, const float *y, int n, int k, float *buf)
{
    if (loss != LM_LOSS_MSE || classes <= 0) return y;
    memset(buf, 0, (size_t)n * k * sizeof *buf);
    for (int i = 0; i < n; i++) buf[(size_t)i * k + (int)y[i]] = 1;
    return buf;
}

static lm_status targets_check(const lm_dataset *d, int n, int k, int need)
{
    if (n < 0 || (size_t)n > d->n) return lm_fail(LM_EINVAL, "targets of %d samples: the data has %zu", n, d->n);
    if (k != need)
        return lm_fail(LM_EINVAL, "targets for %d outputs: the data has %d %s", k, need, d->classes > 0 ? "classes" : "target values");
    return LM_OK;
}

lm_status lm_run_targets(const lm_dataset *d, lm_loss_kind loss, int n, int k, double *t)
{
    int classes = d->classes > 0;
    lm_status st = targets_check(d, n, k, classes ? d->classes : d->target_dim);
    if (st) return st;
    if (loss == LM_LOSS_XENT && !classes) return lm_fail(LM_EINVAL, "cross-entropy targets: the data has no classes");
    if (loss == LM_LOSS_XENT) {
        for (int i = 0; i < n; i++) t[i] = d->y[i];
        return LM_OK;
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < k; j++)
            t[(size_t)i * k + j] = classes ? (int)d->y[i] == j : d->y[(size_t)i * d->target_dim + j];
    return LM_OK;
}

lm_status lm_run_output_targets(const lm_dataset *d, int n, int output, double *y)
{
    int classes = d->classes > 0, k = classes ? d->classes : d->target_dim;
    lm_status st = targets_check(d, n, k, k);
    if (st) return st;
    if (output < 0 || output >= k) return lm_fail(LM_EINVAL, "targets of output %d: the data has %d outputs", output, k);
    for (int i = 0; i < n; i++) y[i] = classes ? (int)d->y[i] == output : d->y[(size_t)i * d->target_dim + output];
    return LM_OK;
}

lm_status lm_evaluate(lm_model *m, const lm_dataset *ds, int batch, lm_loss_kind loss, double *mean_loss,
                      double *accuracy)
{
    lm_exec_f32 *e;
    lm_status st = lm_exec_create_f32(m, batch, 0, &e);
    if (st) return st;
    lm_exec_bind_f32(e, lm_model_params(m), lm_model_buffers(m));
    size_t in = lm_shape_numel(ds->shape);
    int k = (int)lm_shape_numel(lm_model_output_shape(m));
    int onehot = loss == LM_LOSS_MSE && ds->classes > 0;
    float *tb = onehot ? malloc((size_t)batch * k * sizeof *tb) : NULL;
    if (onehot && !tb) {
        lm_exec_free_f32(e);
        return lm_fail(LM_ENOMEM, "evaluate: out of memory");
    }
    double total = 0, right = 0;
    for (size_t at = 0; at < ds->n; at += batch) {
        int n = (int)(ds->n - at < (size_t)batch ? ds->n - at : (size_t)batch);
        const float *z = lm_forward_f32(e, ds->x + at * in, n, LM_MODE_EVAL, NULL);
        const float *t = ds->y + at * ds->target_dim;
        total += lm_loss_f32(loss, z, lm_train_targets(loss, ds->classes, t, n, k, tb), n, k, NULL, NULL, NULL) * n;
        if (ds->classes > 0) right += lm_accuracy_f32(z, t, n, k) * n;
    }
    lm_exec_free_f32(e);
    free(tb);
    *mean_loss = ds->n ? total / ds->n : NAN;
    *accuracy = ds->classes > 0 && ds->n ? right / ds->n : NAN;
    return LM_OK;
}
