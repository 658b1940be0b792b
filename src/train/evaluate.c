/* Evaluation of a model on a data set, and the targets of the square loss on classes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "linmass/exec.h"
#include "linmass/train.h"
#include "train/train_internal.h"

const float *lm_train_targets(lm_loss_kind loss, int classes, const float *y, int n, int k, float *buf)
{
    if (loss != LM_LOSS_MSE || classes <= 0) return y;
    memset(buf, 0, (size_t)n * k * sizeof *buf);
    for (int i = 0; i < n; i++) buf[(size_t)i * k + (int)y[i]] = 1;
    return buf;
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
