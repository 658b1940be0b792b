/* The training step on in-memory arrays (lm_trainer_step) is the step of the training job
 * (lm_train_run): a loop written here over the same data (gathered in the job's batch order,
 * standardised from the training split's statistics) gives bit-identical weights, optimizer
 * state and running losses for
 *   sgd (momentum 0.9, a warm-up), mass (a multistep drop with restart, so the restart rule
 *   runs), adam, on a 3-class csv with cross-entropy and a model with dropout (the masks'
 *   keying by seed, step and sample);
 *   sgd on synth:teacher (regression: the square loss on target rows);
 *   mass on the linear alias (the square loss on one-hot rows of classes, raw inputs).
 * Then the step's refusals: options that do not fit the model, a batch larger than the
 * trainer's, and a diverging loss (LM_EDIVERGED naming the step). */
// ctest-labels: unit
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "class_csv.h"
#include "linmass/io.h"
#include "linmass/run.h"
#include "linmass/train.h"

enum { SEED = 7, BATCH = 10, EPOCHS = 3 };

typedef struct {
    const char *name, *data, *model, *optim, *schedule;
    int restart;
} scenario;

static lm_optim_config optim_of(const scenario *s)
{
    lm_optim_config oc;
    lm_optim_kind kind;
    CHECK(lm_optim_kind_parse(s->optim, &kind) == LM_OK);
    lm_optim_config_init(&oc, kind);
    if (kind == LM_OPTIM_SGD) oc.lr = 0.05, oc.momentum = 0.9;
    if (kind == LM_OPTIM_ADAM) oc.lr = 0.01;
    if (kind == LM_OPTIM_MASS) oc.lr = 0.02;
    CHECK(lm_schedule_parse(s->schedule, &oc.schedule) == LM_OK);
    oc.restart = s->restart;
    oc.schedule.total_epochs = EPOCHS;
    return oc;
}

/* The job's running mean of the last epoch, from its callback. */
static void last_epoch_loss(void *ctx, const lm_train_event *ev)
{
    if (ev->end_of_epoch) *(double *)ctx = ev->train_loss;
}

static lm_status run_job(const scenario *s, const char *out, double *loss)
{
    lm_train_config c;
    lm_train_config_init(&c);
    c.data = s->data, c.model = s->model, c.out = out;
    c.optim = optim_of(s);
    c.batch = BATCH, c.epochs = EPOCHS, c.seed = SEED, c.log_every = 1000;
    lm_train_result res;
    return lm_train_run(&c, last_epoch_loss, loss, &res);
}

/* One epoch of steps in the job's batch order; *loss: the epoch's mean loss. */
static lm_status epoch_of_steps(lm_trainer *t, const lm_dataset *train, int e, float *xb, float *yb, uint32_t *perm,
                                double *loss)
{
    lm_status st = LM_OK;
    size_t n = train->n;
    double sum = 0;
    lm_trainer_begin_epoch(t, e);
    lm_batch_order((uint32_t)n, SEED, (uint64_t)e, perm);
    for (size_t at = 0; at < n && !st; at += BATCH) {
        int b = (int)(n - at < BATCH ? n - at : BATCH);
        st = lm_batch_gather(train, perm, at, b, xb, yb, 0, SEED, (uint64_t)lm_trainer_step_count(t));
        lm_step_info info;
        if (!st) st = lm_trainer_step(t, xb, yb, b, &info);
        if (st) break;
        sum += info.loss * b;
        CHECK(info.b == b && info.step == lm_trainer_step_count(t) - 1);
        CHECK(train->classes > 0 ? info.acc >= 0 && info.acc <= 1 : isnan(info.acc));
    }
    *loss = sum / n;
    return st;
}

/* The same run written here with the step API. */
static lm_status run_steps(const scenario *s, lm_model **m, lm_trainer **t, double *loss)
{
    lm_run_spec spec;
    lm_run_spec_init(&spec);
    spec.data = s->data, spec.model = s->model, spec.seed = SEED;
    lm_dataset *train;
    lm_status st = lm_run_load_data(&spec, &train, NULL, NULL);
    if (st) return st;
    int ch = train->shape.c, classes = train->classes;
    float *mean = calloc(ch, sizeof *mean), *sd = calloc(ch, sizeof *sd);
    if (!lm_run_raw_inputs(s->model)) { /* the job standardises from the training split */
        st = lm_dataset_channel_stats(train, mean, sd);
        if (!st) st = lm_dataset_normalize(train, mean, sd);
    }
    lm_optim_config oc = optim_of(s);
    lm_trainer_opts o;
    lm_trainer_opts_init(&o, classes);
    o.loss = lm_run_loss(s->model, classes);
    o.seed = SEED;
    if (!st) st = lm_run_model_create(&spec, train, m);
    if (!st) st = lm_trainer_create(*m, &oc, &o, BATCH, t);
    size_t in = lm_shape_numel(train->shape);
    float *xb = malloc(BATCH * in * sizeof *xb), *yb = malloc(BATCH * train->target_dim * sizeof *yb);
    uint32_t *perm = malloc(train->n * sizeof *perm);
    for (int e = 0; e < EPOCHS && !st; e++) st = epoch_of_steps(*t, train, e, xb, yb, perm, loss);
    free(mean), free(sd), free(xb), free(yb), free(perm);
    lm_dataset_free(train);
    return st;
}

/* The checkpoint's tensor `name` equals n floats at want, bit for bit. */
static int same_tensor(lm_checkpoint *ck, const char *name, const lm_tensor_info *ti, const float *want, size_t n)
{
    float *got = malloc(n * sizeof *got);
    lm_ckpt_tensor t = {name, LM_DT_F32, ti->ndim, {0}, got};
    for (int i = 0; i < ti->ndim; i++) t.shape[i] = ti->dims[i];
    int same = lm_checkpoint_read(ck, &t) == LM_OK && memcmp(got, want, n * sizeof *got) == 0;
    free(got);
    return same;
}

/* Every weight, buffer and optimizer state of the job's checkpoint is the trainer's. */
static void compare(const char *name, const char *ckpt, lm_trainer *t)
{
    lm_model *m = lm_trainer_model(t);
    lm_optim *o = lm_trainer_optim(t);
    lm_checkpoint *ck;
    if (lm_checkpoint_open(ckpt, &ck)) {
        CHECK_MSG(0, "%s: %s", name, lm_error_message());
        return;
    }
    CHECK_MSG(lm_checkpoint_info(ck)->step == (uint64_t)lm_trainer_step_count(t), "%s: steps differ", name);
    for (int i = 0; i < lm_model_num_tensors(m); i++) {
        const lm_tensor_info *ti = lm_model_tensor(m, i);
        size_t n = 1;
        for (int d = 0; d < ti->ndim; d++) n *= (size_t)ti->dims[d];
        if (ti->integer) continue;
        const float *mine = (ti->trainable ? lm_trainer_weights(t) : lm_model_buffers(m)) + ti->offset;
        CHECK_MSG(same_tensor(ck, ti->name, ti, mine, n), "%s: tensor %s differs", name, ti->name);
        for (int s = 0; ti->trainable && s < lm_optim_num_state(o); s++) {
            char full[200];
            snprintf(full, sizeof full, "optim.%s.%s", lm_optim_state_name(o, s), ti->name);
            CHECK_MSG(same_tensor(ck, full, ti, lm_optim_state(o, s) + ti->offset, n), "%s: %s differs", name, full);
        }
    }
    lm_checkpoint_close(ck);
}

static void bit_identical(const scenario *s, const char *dir)
{
    char out[600], ckpt[700];
    snprintf(out, sizeof out, "%s/%s", dir, s->name);
    snprintf(ckpt, sizeof ckpt, "%s/checkpoints/last.safetensors", out);
    double job_loss = NAN, step_loss = NAN;
    lm_model *m = NULL;
    lm_trainer *t = NULL;
    lm_status st = run_job(s, out, &job_loss);
    CHECK_MSG(st == LM_OK, "%s: lm_train_run: %s", s->name, lm_error_message());
    st = run_steps(s, &m, &t, &step_loss);
    CHECK_MSG(st == LM_OK, "%s: steps: %s", s->name, lm_error_message());
    if (t) compare(s->name, ckpt, t);
    CHECK_MSG(job_loss == step_loss, "%s: last epoch's mean loss %.17g (job) vs %.17g (steps)", s->name, job_loss,
              step_loss);
    CHECK_MSG(isfinite(step_loss) && step_loss > 0, "%s: loss %g", s->name, step_loss);
    lm_trainer_free(t);
    lm_model_free(m);
}

/* Options that do not fit the model are refused, in the library's words. */
static void bad_options(void)
{
    lm_model *m;
    lm_trainer *t = NULL;
    CHECK(lm_model_create("dense:4,tanh,dense:3", (lm_shape){2, 1, 1}, LM_PARAM_STANDARD, 1, &m) == LM_OK);
    lm_optim_config oc;
    lm_optim_config_init(&oc, LM_OPTIM_SGD);
    lm_trainer_opts o;
    lm_trainer_opts_init(&o, 5); /* 5 classes, 3 outputs */
    CHECK(lm_trainer_create(m, &oc, &o, 4, &t) == LM_EINVAL && !t);
    CHECK(strstr(lm_error_message(), "3 outputs") && strstr(lm_error_message(), "5 classes"));
    lm_trainer_opts_init(&o, 3);
    CHECK(lm_trainer_create(m, &oc, &o, 0, &t) == LM_EINVAL && strstr(lm_error_message(), "batch 0 must be at least 1"));
    CHECK(!strstr(lm_error_message(), "--"));
    lm_trainer_opts_init(&o, 0);
    o.loss = LM_LOSS_XENT; /* cross-entropy needs classes */
    CHECK(lm_trainer_create(m, &oc, &o, 4, &t) == LM_EINVAL && !t);
    lm_model_free(m);
}

/* The square loss with a step far above 2 / lambda_max grows without bound: the step stops with
 * LM_EDIVERGED naming the step; the weights' check names it too. */
static void divergence(void)
{
    lm_model *m;
    lm_trainer *t = NULL;
    CHECK(lm_model_create("dense:1", (lm_shape){2, 1, 1}, LM_PARAM_STANDARD, 1, &m) == LM_OK);
    lm_optim_config oc;
    lm_optim_config_init(&oc, LM_OPTIM_SGD);
    oc.lr = 1e3;
    lm_trainer_opts o;
    lm_trainer_opts_init(&o, 0); /* the square loss on target rows */
    CHECK(o.loss == LM_LOSS_MSE && lm_trainer_create(m, &oc, &o, 4, &t) == LM_OK);
    if (!t) return;
    float x[8] = {1, 2, 3, 4, -1, -2, -3, -4}, y[4] = {0, 1, 2, 0};
    CHECK(lm_trainer_step(t, x, y, 5, NULL) == LM_EINVAL && strstr(lm_error_message(), "5 samples"));
    lm_status st = LM_OK;
    long steps = 0;
    for (; steps < 200 && !st; steps++) st = lm_trainer_step(t, x, y, 4, NULL);
    char want[64];
    snprintf(want, sizeof want, "diverged at step %ld (epoch 0)", steps - 1);
    CHECK_MSG(st == LM_EDIVERGED && strstr(lm_error_message(), want), "%d: %s (want '%s')", st, lm_error_message(), want);
    CHECK(lm_trainer_step_count(t) == steps - 1); /* the failed step was not taken */
    lm_trainer_free(t);
    lm_model_free(m);
}

int main(void)
{
    char dir[256], csv[400], data[500];
    if (!check_make_tmpdir(dir, sizeof dir, "train_step")) return check_summary();
    snprintf(csv, sizeof csv, "%s/three.csv", dir);
    CHECK(write_class_csv(csv));
    snprintf(data, sizeof data, "csv:%s:classes=3:test=0.25", csv);
    const char *net = "dense:16,relu,dropout:0.25,dense:3";
    const scenario runs[] = {
        {"sgd", data, net, "sgd", "warmup:4", 0},
        {"mass", data, net, "mass", "multistep:1,2", 1},
        {"adam", data, net, "adam", "constant", 0},
        {"teacher", "synth:teacher:n=64,d=5", "dense:12,tanh,dropout:0.2,dense:1", "sgd", "constant", 0},
        {"linear", data, "linear", "mass", "constant", 0},
    };
    for (size_t i = 0; i < sizeof runs / sizeof *runs; i++) bit_identical(&runs[i], dir);
    bad_options();
    divergence();
    check_remove_tmpdir(dir);
    return check_summary();
}
