/* The training job's state: its checkpoint (weights, buffers, optimizer state, data
 * standardisation, position in the run and the epoch's running sums), a resume from it, and
 * rank 0's state sent to the other ranks. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "linmass/dist.h"
#include "train/train_internal.h"

lm_status lm_job_save(lm_job *r)
{
    lm_optim *o = lm_trainer_optim(r->t);
    char optim_t[32], metrics_bytes[32], sums[96];
    fflush(r->mf);
    snprintf(optim_t, sizeof optim_t, "%ld", lm_optim_step_count(o));
    snprintf(metrics_bytes, sizeof metrics_bytes, "%ld", ftell(r->mf));
    snprintf(sums, sizeof sums, "%.17g %.17g %ld", r->sum_loss, r->sum_acc, r->seen);
    lm_kv extra[3] = {{"optim_step", optim_t}, {"metrics_bytes", metrics_bytes}, {"epoch_sums", sums}};
    lm_ckpt_info info = {0};
    info.step = (uint64_t)lm_trainer_step_count(r->t);
    info.epoch = (uint64_t)r->epoch;
    info.epoch_pos = r->epoch_pos;
    info.seed = r->c->seed;
    info.optimizer = lm_optim_kind_name(r->c->optim.kind);
    info.model = lm_model_spec(r->m);
    info.extra = extra;
    info.n_extra = 3;
    return lm_ckpt_save_model(r->ckpt, &info, r->m, o, r->normalize ? r->mean : NULL, r->std, r->train->shape.c);
}

/* The checkpoint's run must be this one: the same model, optimizer and seed. */
static lm_status check_same_run(const lm_job *r, const lm_ckpt_info *info)
{
    const char *optim = lm_optim_kind_name(r->c->optim.kind);
    if (info->model && strcmp(info->model, lm_model_spec(r->m)))
        return lm_fail(LM_EINVAL, "%s: the checkpoint is of model '%s', not '%s'", r->ckpt, info->model, lm_model_spec(r->m));
    if (strcmp(info->optimizer ? info->optimizer : "", optim))
        return lm_fail(LM_EINVAL, "%s: the checkpoint was trained with optimizer %s, not %s", r->ckpt,
                       info->optimizer ? info->optimizer : "?", optim);
    if (info->seed != r->c->seed)
        return lm_fail(LM_EINVAL, "%s: the checkpoint has seed %llu, not %llu", r->ckpt, (unsigned long long)info->seed,
                       (unsigned long long)r->c->seed);
    return LM_OK;
}

/* The position in the run and the epoch's sums; metrics written after the checkpoint belong to
 * the lost future and are cut. */
static lm_status restore_position(lm_job *r, const lm_ckpt_info *info)
{
    long metrics_bytes = -1;
    r->epoch = (int)info->epoch;
    r->epoch_pos = info->epoch_pos;
    lm_trainer_set_position(r->t, (long)info->step, r->epoch);
    for (int i = 0; i < info->n_extra; i++) {
        const char *key = info->extra[i].key, *value = info->extra[i].value;
        if (!strcmp(key, "optim_step")) lm_optim_set_step_count(lm_trainer_optim(r->t), atol(value));
        if (!strcmp(key, "metrics_bytes")) metrics_bytes = atol(value);
        if (!strcmp(key, "epoch_sums")) sscanf(value, "%lf %lf %ld", &r->sum_loss, &r->sum_acc, &r->seen);
    }
    if (metrics_bytes >= 0 && truncate(r->metrics, metrics_bytes) != 0)
        return lm_fail(LM_EIO, "%s: cannot truncate to %ld bytes", r->metrics, metrics_bytes);
    return LM_OK;
}

lm_status lm_job_resume(lm_job *r)
{
    lm_checkpoint *c;
    lm_status st = lm_checkpoint_open(r->ckpt, &c);
    if (st) return lm_fail_context(st, "resume");
    const lm_ckpt_info *info = lm_checkpoint_info(c);
    lm_ckpt_list l = {0};
    st = check_same_run(r, info);
    if (!st) st = lm_ckpt_list_model(r->m, lm_trainer_optim(r->t), NULL, NULL, 0, &l);
    if (!st) st = lm_checkpoint_read_all(c, l.t, l.n);
    if (!st) lm_ckpt_list_restore_counts(r->m, &l);
    if (!st) st = restore_position(r, info);
    lm_ckpt_list_free(&l);
    lm_checkpoint_close(c);
    return st;
}

/* Every rank takes rank 0's weights, buffers, optimizer state and data position: a fresh run
 * starts from the same weights everywhere, and a resumed one from rank 0's checkpoint, whatever
 * the number of ranks that wrote it. */
lm_status lm_job_sync_ranks(lm_job *r)
{
    lm_optim *o = lm_trainer_optim(r->t);
    size_t np = lm_model_num_params(r->m);
    lm_status st = lm_dist_bcast(lm_model_params(r->m), np * sizeof(float), 0);
    if (!st) st = lm_dist_bcast(lm_model_buffers(r->m), lm_model_num_buffers(r->m) * sizeof(float), 0);
    for (int s = 0; !st && s < lm_optim_num_state(o); s++) st = lm_dist_bcast(lm_optim_state(o, s), np * sizeof(float), 0);
    struct {
        long step, optim_step, seen;
        int epoch;
        size_t epoch_pos;
        double sum_loss, sum_acc;
    } pos = {lm_trainer_step_count(r->t), lm_optim_step_count(o), r->seen, r->epoch, r->epoch_pos, r->sum_loss, r->sum_acc};
    if (!st) st = lm_dist_bcast(&pos, sizeof pos, 0);
    r->seen = pos.seen, r->epoch = pos.epoch, r->epoch_pos = pos.epoch_pos;
    r->sum_loss = pos.sum_loss, r->sum_acc = pos.sum_acc;
    lm_trainer_set_position(r->t, pos.step, pos.epoch);
    lm_optim_set_step_count(o, pos.optim_step);
    return st;
}
