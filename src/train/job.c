/* The training job around the step (train.h). One epoch: a permutation of the training set from
 * (seed, epoch), batches gathered (and augmented) from (seed, step), one lm_trainer_step each;
 * metrics lines every log_every steps; evaluations of the visible weights on the validation and
 * test splits every eval_every steps and at the end of each epoch; checkpoints at each epoch
 * end, every ckpt_every steps, every ckpt_minutes of wall time, and when the stop flag says. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "linmass/dist.h"
#include "train/train_internal.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The run's length and clock. */
typedef struct {
    size_t n;       /* training samples */
    long total;     /* steps */
    int epochs;
    long start_step;
    double t0;
} plan;

/* A divergence's message gets where to go back to: the checkpoint, if there is one yet. */
static lm_status diverged(const lm_job *r, lm_status st)
{
    if (st != LM_EDIVERGED) return st;
    char msg[512];
    snprintf(msg, sizeof msg, "%s", lm_error_message());
    const char *last = access(r->ckpt, F_OK) == 0 ? "the last good checkpoint is" : "there is no checkpoint yet at";
    return lm_fail(st, "%s; %s %s", msg, last, r->ckpt);
}

static void write_metrics(lm_job *r, const lm_train_event *ev)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "epoch", ev->epoch + (double)ev->epoch_pos / ev->epoch_size);
    cJSON_AddNumberToObject(o, "step", (double)ev->step);
    cJSON_AddNumberToObject(o, "lr", ev->lr);
    cJSON_AddNumberToObject(o, "train_loss", ev->window_loss);
    if (!isnan(ev->window_acc)) cJSON_AddNumberToObject(o, "train_acc", ev->window_acc);
    if (ev->end_of_epoch) {
        cJSON_AddBoolToObject(o, "end_of_epoch", 1);
        cJSON_AddNumberToObject(o, "epoch_train_loss", ev->train_loss);
        if (!isnan(ev->train_acc)) cJSON_AddNumberToObject(o, "epoch_train_acc", ev->train_acc);
    }
    if (ev->evaluated) {
        if (!isnan(ev->test_loss)) cJSON_AddNumberToObject(o, "test_loss", ev->test_loss);
        if (!isnan(ev->test_acc)) cJSON_AddNumberToObject(o, "test_acc", ev->test_acc);
        if (!isnan(ev->val_loss)) cJSON_AddNumberToObject(o, "val_loss", ev->val_loss);
        if (!isnan(ev->val_acc)) cJSON_AddNumberToObject(o, "val_acc", ev->val_acc);
    }
    cJSON_AddNumberToObject(o, "samples_per_sec", ev->samples_per_sec);
    cJSON_AddNumberToObject(o, "elapsed", ev->elapsed);
    char *line = cJSON_PrintUnformatted(o);
    if (line) fprintf(r->mf, "%s\n", line);
    free(line);
    cJSON_Delete(o);
}

static lm_status evaluate(lm_job *r, const lm_dataset *ds, double *loss, double *acc)
{
    return lm_trainer_evaluate(r->t, ds->x, ds->y, ds->n, loss, acc);
}

/* The event after a step; with the evaluations when `eval`. */
static lm_status make_event(lm_job *r, const plan *p, double factor, int end, int eval, lm_train_event *ev)
{
    long step = lm_trainer_step_count(r->t);
    double el = now() - p->t0;
    int cls = r->train->classes > 0;
    *ev = (lm_train_event){r->epoch, p->epochs, step, p->total, (long)r->epoch_pos, (long)p->n, end, eval,
                           r->sum_loss / r->seen, cls ? r->sum_acc / r->seen : NAN,
                           r->win_loss / r->win_seen, cls ? r->win_acc / r->win_seen : NAN,
                           NAN, NAN, NAN, NAN, r->lr * factor,
                           (step - p->start_step) * (double)r->c->batch / (el > 0 ? el : 1e-9), el};
    if (!eval) return LM_OK;
    lm_status st = r->val ? evaluate(r, r->val, &ev->val_loss, &ev->val_acc) : LM_OK;
    return st ? st : evaluate(r, r->test, &ev->test_loss, &ev->test_acc);
}

/* Every rank's stop flag set to the largest of them, so that every rank reports the same. */
static lm_status agree_flag(lm_job *r)
{
    double *v = calloc(r->ranks, sizeof *v);
    size_t *lo = calloc(r->ranks + 1, sizeof *lo);
    lm_status st = v && lo ? LM_OK : lm_fail(LM_ENOMEM, "out of memory");
    for (int i = 0; !st && i <= r->ranks; i++) lo[i] = (size_t)i;
    if (!st) v[r->rank] = *r->c->stop;
    if (!st) st = lm_dist_allgather_rows_f64(v, 1, lo);
    for (int i = 0; !st && i < r->ranks; i++)
        if (v[i] > *r->c->stop) *r->c->stop = (sig_atomic_t)v[i];
    free(v), free(lo);
    return st;
}

/* The stop flag and ckpt_minutes' clock, agreed by every rank (one collective per step when
 * either is in use): *stop when any rank's flag is set, *timed when rank 0's clock says. */
static lm_status poll(lm_job *r, int *stop, int *timed)
{
    const lm_train_config *c = r->c;
    double flags[2] = {c->stop && *c->stop, r->rank == 0 && c->ckpt_minutes > 0 && now() - r->last_ckpt >= 60 * c->ckpt_minutes};
    lm_status st = r->ranks > 1 && (c->stop || c->ckpt_minutes > 0) ? lm_dist_allreduce_f64(flags, 2) : LM_OK;
    *stop = flags[0] > 0;
    *timed = flags[1] > 0;
    return !st && *stop && r->ranks > 1 ? agree_flag(r) : st;
}

static lm_status save(lm_job *r)
{
    r->last_ckpt = now();
    return lm_dist_agree(r->rank == 0 ? lm_job_save(r) : LM_OK);
}

/* After a step: metrics, the callback and checkpoints where due, and a stop when asked for.
 * *epoch_done: the epoch ended. */
static lm_status after_step(lm_job *r, const plan *p, double factor, lm_train_callback cb, void *ctx,
                            lm_train_event *ev, int *epoch_done)
{
    const lm_train_config *c = r->c;
    long step = lm_trainer_step_count(r->t);
    int end = (*epoch_done = r->epoch_pos >= p->n) || step == p->total, stop, timed;
    int eval = end || (c->eval_every > 0 && step % c->eval_every == 0);
    int log = (c->log_every > 0 && step % c->log_every == 0) || eval;
    lm_status st = poll(r, &stop, &timed);
    int ckpt = end || (c->ckpt_every > 0 && step % c->ckpt_every == 0) || timed || stop;
    if (st || (!log && !ckpt)) return st;
    st = lm_trainer_check_weights(r->t);
    if (!st) st = make_event(r, p, factor, end, eval, ev);
    if (st) return st;
    if (log && r->mf) write_metrics(r, ev);
    if (log) r->win_loss = r->win_acc = 0, r->win_seen = 0;
    if (cb) cb(ctx, ev);
    if (*epoch_done) r->epoch++, r->epoch_pos = 0;
    if (ckpt && (st = save(r))) return st;
    if (stop && step < p->total) /* a stop asked for in the last step changes nothing */
        return lm_fail(LM_EINTERRUPTED, "stopped on request after step %ld of %ld; the checkpoint is %s", step, p->total, r->ckpt);
    return LM_OK;
}

/* The rest of the current epoch, or of the run if it ends first. */
static lm_status run_epoch(lm_job *r, const plan *p, lm_train_callback cb, void *ctx, lm_train_event *ev)
{
    const lm_train_config *c = r->c;
    if (r->epoch_pos == 0) lm_trainer_begin_epoch(r->t, r->epoch);
    lm_batch_order((uint32_t)p->n, c->seed, (uint64_t)r->epoch, r->perm);
    if (r->epoch_pos == 0) r->sum_loss = r->sum_acc = 0, r->seen = 0;
    int done = 0;
    while (!done && lm_trainer_step_count(r->t) < p->total) {
        int b = (int)(p->n - r->epoch_pos < (size_t)c->batch ? p->n - r->epoch_pos : (size_t)c->batch);
        /* every rank gathers the whole batch (augmentation draws by the global position) and
         * the trainer computes its share */
        long step = lm_trainer_step_count(r->t);
        lm_status st = lm_batch_gather(r->train, r->perm, r->epoch_pos, b, r->xb, r->yb, c->augment, c->seed, (uint64_t)step);
        lm_step_info info;
        if (!st) st = lm_trainer_step_indexed(r->t, r->xb, r->yb, r->perm + r->epoch_pos, b, &info); /* kernels' centres */
        if (st) return diverged(r, st);
        if (r->train->classes > 0) r->sum_acc += info.acc * b, r->win_acc += info.acc * b;
        r->epoch_pos += b;
        r->sum_loss += info.loss * b, r->win_loss += info.loss * b;
        r->seen += b, r->win_seen += b;
        if ((st = after_step(r, p, info.lr_factor, cb, ctx, ev, &done))) return diverged(r, st);
    }
    return LM_OK;
}

static void fill_result(const lm_job *r, const plan *p, const lm_train_event *ev, lm_train_result *res)
{
    res->train_loss = ev->train_loss;
    res->test_loss = ev->test_loss;
    res->test_acc = ev->test_acc;
    res->val_loss = ev->val_loss;
    res->val_acc = ev->val_acc;
    res->steps = lm_trainer_step_count(r->t);
    res->wall_seconds = now() - p->t0;
    res->samples_per_sec = (res->steps - p->start_step) * (double)r->c->batch / (res->wall_seconds > 0 ? res->wall_seconds : 1e-9);
    res->epochs_done = r->epoch;
    res->num_params = lm_model_num_params(r->m);
    snprintf(res->checkpoint, sizeof res->checkpoint, "%s", r->ckpt);
    res->optim = *lm_optim_hparams(lm_trainer_optim(r->t));
}

lm_status lm_train_run(const lm_train_config *c, lm_train_callback cb, void *ctx, lm_train_result *res)
{
    lm_job r = {0};
    r.c = c;
    memset(res, 0, sizeof *res);
    lm_status st = lm_dist_agree(lm_job_setup(&r)); /* a rank that fails stops them all */
    if (!st && r.ranks > 1) st = lm_job_sync_ranks(&r);
    plan p = {0};
    lm_train_event ev = {0};
    if (!st) {
        p.n = r.train->n;
        long per_epoch = (long)((p.n + c->batch - 1) / c->batch);
        p.total = c->steps > 0 ? c->steps : per_epoch * c->epochs;
        p.epochs = c->steps > 0 ? (int)((p.total + per_epoch - 1) / per_epoch) : c->epochs;
        p.start_step = lm_trainer_step_count(r.t);
        p.t0 = now();
    }
    r.last_ckpt = p.t0;
    while (!st && lm_trainer_step_count(r.t) < p.total) st = run_epoch(&r, &p, cb, ctx, &ev);
    /* a resume of a finished run: its final evaluation again, for the result */
    if (!st && lm_trainer_step_count(r.t) == p.start_step) st = make_event(&r, &p, 1, 1, 1, &ev);
    if (!st || st == LM_EINTERRUPTED) fill_result(&r, &p, &ev, res);
    lm_job_teardown(&r);
    return st;
}
