/* The training step (train.h): forward and backward at the optimizer's evaluation point on this
 * rank's share of an in-memory batch, the loss, the gradient sum over the ranks, the optimizer
 * step with the schedule's factor. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "linmass/dist.h"
#include "linmass/exec.h"
#include "linmass/train.h"
#include "train/train_internal.h"

struct lm_trainer {
    lm_model *m;
    lm_optim *o;
    lm_exec_f32 *e;
    lm_trainer_opts opts;
    lm_dist_reducer *red; /* several ranks with opts.overlap: the gradient sum runs in backward */
    int max_batch, k, ranks;
    size_t in, np;
    float *gz, *tb, *grad;
    long step;
    int epoch;
};

void lm_trainer_opts_init(lm_trainer_opts *o, int classes)
{
    memset(o, 0, sizeof *o);
    o->loss = classes > 0 ? LM_LOSS_XENT : LM_LOSS_MSE;
    o->classes = classes;
    o->overlap = 1;
}

/* opts.sync_bn: batch norm's per-channel sums over the ranks (ordered reduce: the same bits on each) */
static lm_status sum_over_ranks(void *ctx, double *buf, size_t n)
{
    (void)ctx;
    return lm_dist_allreduce_f64(buf, n);
}

/* A reducer that sums the gradient over the ranks in buckets of whole layers (at least
 * LM_DIST_OVERLAP_BUCKET_BYTES, from the last layer down), hooked to the backward pass so that
 * each bucket's sum starts as soon as its layers are done. */
static lm_status overlap_reducer(lm_trainer *t)
{
    int ncuts = lm_exec_grad_slices_f32(t->e, NULL, 0);
    size_t *cuts = malloc((ncuts + 1) * sizeof *cuts);
    if (!cuts) return lm_fail(LM_ENOMEM, "gradient reducer: out of memory for %d layer offsets", ncuts + 1);
    lm_exec_grad_slices_f32(t->e, cuts, ncuts);
    lm_status st = lm_dist_reducer_create(t->grad, t->np, LM_DIST_OVERLAP_BUCKET_BYTES, cuts, ncuts, &t->red);
    free(cuts);
    if (!st) lm_exec_set_grad_hook_f32(t->e, lm_dist_reducer_hook, t->red);
    return st;
}

static lm_status check_opts(const lm_model *m, const lm_trainer_opts *o, int max_batch)
{
    int k = (int)lm_shape_numel(lm_model_output_shape(m));
    if (max_batch < 1) return lm_fail(LM_EINVAL, "trainer: batch %d must be at least 1", max_batch);
    if (o->classes < 0) return lm_fail(LM_EINVAL, "trainer: classes %d must not be negative", o->classes);
    if (o->loss == LM_LOSS_XENT && o->classes < 1)
        return lm_fail(LM_EINVAL, "trainer: the cross-entropy loss needs classes (classes is %d)", o->classes);
    if (o->classes > 0 && o->classes != k)
        return lm_fail(LM_EINVAL, "trainer: model '%s' has %d outputs but the data has %d classes", lm_model_spec(m), k,
                       o->classes);
    return LM_OK;
}

lm_status lm_trainer_create(lm_model *m, const lm_optim_config *oc, const lm_trainer_opts *opts, int max_batch,
                            lm_trainer **out)
{
    *out = NULL;
    lm_status st = check_opts(m, opts, max_batch);
    if (st) return st;
    lm_trainer *t = calloc(1, sizeof *t);
    if (!t) return lm_fail(LM_ENOMEM, "trainer: out of memory");
    t->m = m;
    t->opts = *opts;
    t->max_batch = max_batch;
    t->k = (int)lm_shape_numel(lm_model_output_shape(m));
    t->in = lm_shape_numel(lm_model_input_shape(m));
    t->np = lm_model_num_params(m);
    t->ranks = lm_dist_size();
    int share = (max_batch + t->ranks - 1) / t->ranks; /* the most samples of a batch one rank takes */
    st = lm_optim_create(oc, lm_model_params(m), t->np, &t->o);
    if (!st) st = lm_exec_create_f32(m, share, 0, &t->e);
    if (!st && opts->sync_bn && t->ranks > 1) st = lm_exec_set_channel_sum_f32(t->e, sum_over_ranks, NULL);
    if (!st) {
        int onehot = opts->loss == LM_LOSS_MSE && opts->classes > 0;
        t->gz = malloc((size_t)share * t->k * sizeof *t->gz);
        t->tb = onehot ? malloc((size_t)share * t->k * sizeof *t->tb) : NULL;
        t->grad = malloc((t->np ? t->np : 1) * sizeof *t->grad);
        if (!t->gz || !t->grad || (onehot && !t->tb)) st = lm_fail(LM_ENOMEM, "trainer: out of memory");
    }
    if (!st && t->ranks > 1 && opts->overlap) st = overlap_reducer(t);
    if (st) {
        lm_trainer_free(t);
        return st;
    }
    *out = t;
    return LM_OK;
}

void lm_trainer_free(lm_trainer *t)
{
    if (!t) return;
    if (t->red) lm_exec_set_grad_hook_f32(t->e, NULL, NULL);
    lm_dist_reducer_free(t->red);
    lm_exec_free_f32(t->e);
    lm_optim_free(t->o);
    free(t->gz), free(t->tb), free(t->grad);
    free(t);
}

/* Forward, loss and backward on this rank's share [lo, lo + nb) of the b samples; the loss and
 * accuracy of the whole batch (summed over the ranks) in *loss, *acc. */
static lm_status forward_backward(lm_trainer *t, const float *x, const float *y, int b, double *loss, double *acc)
{
    size_t share_lo, share_hi;
    lm_dist_share((size_t)b, &share_lo, &share_hi);
    int lo = (int)share_lo, nb = (int)(share_hi - share_lo), k = t->k, classes = t->opts.classes;
    const float *xs = x + (size_t)lo * t->in, *ys = y + (size_t)lo * (classes > 0 ? 1 : k);
    lm_exec_bind_f32(t->e, lm_optim_eval_point(t->o), lm_model_buffers(t->m));
    lm_exec_set_rng_f32(t->e, t->opts.seed, (uint64_t)t->step);
    lm_exec_set_rng_offset_f32(t->e, (uint64_t)lo);
    const float *z = nb ? lm_forward_f32(t->e, xs, nb, LM_MODE_TRAIN, NULL) : NULL;
    if (!nb) lm_forward_empty_f32(t->e, LM_MODE_TRAIN); /* sync_bn: an empty share joins the sums */
    lm_status st = lm_exec_status_f32(t->e);
    if (st) return st;
    const float *target = nb ? lm_train_targets(t->opts.loss, classes, ys, nb, k, t->tb) : ys;
    *loss = nb ? lm_loss_f32(t->opts.loss, z, target, nb, k, t->gz, NULL, NULL) : 0;
    *acc = classes > 0 && nb ? lm_accuracy_f32(z, ys, nb, k) : 0;
    if (t->ranks > 1) { /* the global batch's mean loss, and each rank's loss as sum / b */
        double sums[2] = {*loss * nb, *acc * nb};
        if ((st = lm_dist_allreduce_f64(sums, 2))) return st;
        *loss = sums[0] / b, *acc = sums[1] / b;
        for (size_t i = 0; i < (size_t)nb * k; i++) t->gz[i] *= (float)((double)nb / b);
    }
    if (!isfinite(*loss))
        return lm_fail(LM_EDIVERGED, "diverged at step %ld (epoch %d): the loss is %g", t->step, t->epoch, *loss);
    if (nb) lm_backward_f32(t->e, t->gz, t->grad, NULL, NULL, NULL); /* with red: buckets start inside */
    else lm_backward_empty_f32(t->e, t->grad); /* zeros; sync_bn: joins the sums */
    if (t->red) st = lm_dist_reducer_finish(t->red);
    else if (t->ranks > 1) st = lm_dist_allreduce_f32(t->grad, t->np);
    return st ? st : lm_exec_status_f32(t->e);
}

lm_status lm_trainer_step(lm_trainer *t, const float *x, const float *y, int b, lm_step_info *info)
{
    if (b < 1 || b > t->max_batch)
        return lm_fail(LM_EINVAL, "trainer: batch of %d samples, not in 1..%d", b, t->max_batch);
    const lm_optim_config *hp = lm_optim_hparams(t->o);
    double factor = lm_schedule_factor(&hp->schedule, t->epoch, t->step), loss, acc;
    lm_status st = forward_backward(t, x, y, b, &loss, &acc);
    if (st) return st;
    lm_optim_step(t->o, t->grad, factor);
    if (info) *info = (lm_step_info){t->step, b, loss, t->opts.classes > 0 ? acc : NAN, factor};
    t->step++;
    return LM_OK;
}

lm_status lm_trainer_evaluate(lm_trainer *t, const float *x, const float *y, size_t n, double *loss, double *acc)
{
    int classes = t->opts.classes;
    lm_dataset ds = {"", n, lm_model_input_shape(t->m), classes, classes > 0 ? 1 : t->k, (float *)x, (float *)y, NULL};
    if (t->ranks == 1) return lm_evaluate(t->m, &ds, t->max_batch, t->opts.loss, loss, acc);
    /* batch norm's running statistics are rank 0's (as PyTorch DDP's) */
    lm_status st = lm_dist_bcast(lm_model_buffers(t->m), lm_model_num_buffers(t->m) * sizeof(float), 0);
    if (st) return st;
    lm_dataset part = ds;
    size_t lo, hi;
    lm_dist_share(n, &lo, &hi);
    part.n = hi - lo;
    part.x += lo * t->in;
    part.y += lo * ds.target_dim;
    double l = 0, a = 0;
    if (part.n) st = lm_evaluate(t->m, &part, t->max_batch, t->opts.loss, &l, &a);
    st = lm_dist_agree(st);
    double sums[2] = {part.n ? l * part.n : 0, part.n && !isnan(a) ? a * part.n : 0};
    if (!st) st = lm_dist_allreduce_f64(sums, 2);
    *loss = n ? sums[0] / n : NAN;
    *acc = classes > 0 && n ? sums[1] / n : NAN;
    return st;
}

void lm_trainer_set_position(lm_trainer *t, long step, int epoch)
{
    t->step = step;
    t->epoch = epoch;
}

void lm_trainer_begin_epoch(lm_trainer *t, int epoch)
{
    const lm_optim_config *hp = lm_optim_hparams(t->o);
    t->epoch = epoch;
    if (hp->restart && epoch > 0 && lm_schedule_drops_at(&hp->schedule, epoch)) lm_optim_restart(t->o);
}

lm_status lm_trainer_check_weights(lm_trainer *t)
{
    const float *w = lm_optim_weights(t->o);
    float acc = 0;
    for (size_t i = 0; i < t->np; i++) acc += w[i] * 0;
    if (acc == 0) return LM_OK; /* NaN or Inf anywhere makes the sum NaN */
    return lm_fail(LM_EDIVERGED, "diverged at step %ld (epoch %d): the weights hold NaN or Inf", t->step, t->epoch);
}

lm_model *lm_trainer_model(lm_trainer *t) { return t->m; }
lm_optim *lm_trainer_optim(lm_trainer *t) { return t->o; }
long lm_trainer_step_count(const lm_trainer *t) { return t->step; }
int lm_trainer_epoch(const lm_trainer *t) { return t->epoch; }
float *lm_trainer_weights(lm_trainer *t) { return lm_optim_weights(t->o); }
