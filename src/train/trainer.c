/* The training loop. One epoch: a permutation of the training set from (seed, epoch), batches
 * gathered (and augmented) from (seed, step), forward and backward at the optimizer's
 * evaluation point, one optimizer step; at the end of each epoch an evaluation of the visible
 * weights on the validation and test splits, a metrics line and a checkpoint. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "linmass/dist.h"
#include "linmass/exec.h"
#include "linmass/io.h"
#include "linmass/theory.h"
#include "linmass/train.h"

void lm_train_config_init(lm_train_config *c)
{
    memset(c, 0, sizeof *c);
    c->data = "fashion-mnist";
    c->model = "fcn";
    c->out = "runs/train";
    lm_optim_config_init(&c->optim, LM_OPTIM_SGD);
    c->batch = 64;
    c->epochs = 5;
    c->seed = 0;
    c->normalize = 1;
    c->log_every = 100;
    c->auto_samples = 2000;
    c->overlap = 1;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- evaluation ---- */

/* Class indices -> one-hot rows: the targets of linear and kernel models on classes. */
static const float *one_hot(const float *y, int n, int k, float *out)
{
    memset(out, 0, (size_t)n * k * sizeof *out);
    for (int i = 0; i < n; i++) out[(size_t)i * k + (int)y[i]] = 1;
    return out;
}

lm_status lm_evaluate(lm_model *m, const lm_dataset *ds, int batch, lm_loss_kind loss,
                      double *mean_loss, double *accuracy)
{
    lm_exec_f32 *e;
    lm_status st = lm_exec_create_f32(m, batch, 0, &e);
    if (st) return st;
    lm_exec_bind_f32(e, lm_model_params(m), lm_model_buffers(m));
    size_t in = lm_shape_numel(ds->shape);
    int k = (int)lm_shape_numel(lm_model_output_shape(m));
    int onehot = loss == LM_LOSS_MSE && ds->classes > 0; /* square loss on classes */
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
        total += lm_loss_f32(loss, z, onehot ? one_hot(t, n, k, tb) : t, n, k, NULL, NULL, NULL) * n;
        if (ds->classes > 0) right += lm_accuracy_f32(z, t, n, k) * n;
    }
    lm_exec_free_f32(e);
    free(tb);
    *mean_loss = ds->n ? total / ds->n : NAN;
    *accuracy = ds->classes > 0 && ds->n ? right / ds->n : NAN;
    return LM_OK;
}

/* ---- checkpoints ---- */

typedef struct {
    lm_ckpt_tensor *t;
    int n, cap;
    int64_t *counts; /* integer buffers (num_batches_tracked), converted from float */
    char **names;
} tensor_list;

static lm_status list_add(tensor_list *l, const char *name, lm_dtype dt, int ndim, const int64_t *dims, void *data)
{
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        lm_ckpt_tensor *t = realloc(l->t, cap * sizeof *t);
        char **names = realloc(l->names, cap * sizeof *names);
        if (t) l->t = t;
        if (names) l->names = names;
        if (!t || !names) return lm_fail(LM_ENOMEM, "checkpoint: out of memory");
        l->cap = cap;
    }
    lm_ckpt_tensor *t = &l->t[l->n];
    memset(t, 0, sizeof *t);
    l->names[l->n] = strdup(name);
    t->name = l->names[l->n];
    t->dtype = dt;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = dims[i];
    t->data = data;
    l->n++;
    return t->name ? LM_OK : lm_fail(LM_ENOMEM, "checkpoint: out of memory");
}

static void list_free(tensor_list *l)
{
    for (int i = 0; i < l->n; i++) free(l->names[i]);
    free(l->names);
    free(l->t);
    free(l->counts);
}

/* The model's tensors under their state_dict names, the optimizer's state as
 * "optim.<state>.<name>", and the data normalisation as "data.mean" / "data.std". */
static lm_status model_tensors(lm_model *m, lm_optim *o, float *mean, float *std, int channels,
                               tensor_list *l)
{
    int nt = lm_model_num_tensors(m);
    l->counts = calloc(nt + 1, sizeof *l->counts);
    if (!l->counts) return lm_fail(LM_ENOMEM, "checkpoint: out of memory");
    lm_status st = LM_OK;
    for (int i = 0; i < nt && !st; i++) {
        const lm_tensor_info *ti = lm_model_tensor(m, i);
        float *base = ti->trainable ? lm_model_params(m) : lm_model_buffers(m);
        if (ti->integer) {
            l->counts[i] = (int64_t)base[ti->offset];
            st = list_add(l, ti->name, LM_DT_I64, ti->ndim, ti->dims, &l->counts[i]);
        } else {
            st = list_add(l, ti->name, LM_DT_F32, ti->ndim, ti->dims, base + ti->offset);
        }
    }
    for (int s = 0; o && s < lm_optim_num_state(o) && !st; s++)
        for (int i = 0; i < nt && !st; i++) {
            const lm_tensor_info *ti = lm_model_tensor(m, i);
            if (!ti->trainable) continue;
            char name[160];
            snprintf(name, sizeof name, "optim.%s.%s", lm_optim_state_name(o, s), ti->name);
            st = list_add(l, name, LM_DT_F32, ti->ndim, ti->dims, lm_optim_state(o, s) + ti->offset);
        }
    if (mean && !st) {
        int64_t d[1] = {channels};
        st = list_add(l, "data.mean", LM_DT_F32, 1, d, mean);
        if (!st) st = list_add(l, "data.std", LM_DT_F32, 1, d, std);
    }
    return st;
}

static void restore_counts(lm_model *m, const tensor_list *l)
{
    for (int i = 0; i < lm_model_num_tensors(m); i++) {
        const lm_tensor_info *ti = lm_model_tensor(m, i);
        if (ti->integer) lm_model_buffers(m)[ti->offset] = (float)l->counts[i];
    }
}

lm_status lm_checkpoint_load_model(const char *path, lm_model *m, float *mean, float *std,
                                   int channels, int *has_stats)
{
    lm_checkpoint *c;
    lm_status st = lm_checkpoint_open(path, &c);
    if (st) return st;
    tensor_list l = {0};
    st = model_tensors(m, NULL, NULL, NULL, 0, &l);
    if (!st) st = lm_checkpoint_read_all(c, l.t, l.n);
    if (!st) restore_counts(m, &l);
    int stats = mean && lm_checkpoint_has(c, "data.mean") && lm_checkpoint_has(c, "data.std");
    if (!st && stats) {
        lm_ckpt_tensor ts[2] = {{"data.mean", LM_DT_F32, 1, {channels}, mean},
                                {"data.std", LM_DT_F32, 1, {channels}, std}};
        st = lm_checkpoint_read_all(c, ts, 2);
    }
    if (has_stats) *has_stats = stats;
    list_free(&l);
    lm_checkpoint_close(c);
    return st;
}

/* ---- the run ---- */

typedef struct {
    const lm_train_config *c;
    lm_dataset *train, *val, *test;
    lm_model *m;
    lm_optim *o;
    lm_exec_f32 *e;
    lm_loss_kind loss;
    int onehot;      /* a linear or kernel model on classes: square loss on one-hot targets */
    int normalize;   /* c->normalize, except for linear and kernel models (raw inputs) */
    double lr;       /* the resolved step size (lr; mass: eta1), times the schedule in metrics */
    float *mean, *std, *xb, *yb, *tb, *gz, *grad;
    uint32_t *perm;
    char ckpt[1024], metrics[1024];
    FILE *mf;
    cJSON *resolved; /* config.json's "resolved": "model_spec", "normalized", "auto" */
    long step;
    int epoch;
    size_t epoch_pos;
    double sum_loss, sum_acc; /* running sums over the current epoch, saved for resumes */
    long seen;
    int rank, ranks; /* lm_dist: rank 0 alone reads and writes the run folder */
} run;

/* For the divergence message, before the checkpoint's path: whether there is one to go back to. */
static const char *last_good(const run *r)
{
    return access(r->ckpt, F_OK) == 0 ? "the last good checkpoint is" : "there is no checkpoint yet at";
}

static lm_status save_checkpoint(run *r)
{
    tensor_list l = {0};
    lm_status st = model_tensors(r->m, r->o, r->normalize ? r->mean : NULL, r->std,
                                 r->train->shape.c, &l);
    char optim_t[32], metrics_bytes[32], sums[96];
    fflush(r->mf);
    snprintf(optim_t, sizeof optim_t, "%ld", lm_optim_step_count(r->o));
    snprintf(metrics_bytes, sizeof metrics_bytes, "%ld", ftell(r->mf));
    snprintf(sums, sizeof sums, "%.17g %.17g %ld", r->sum_loss, r->sum_acc, r->seen);
    lm_kv extra[3] = {{"optim_step", optim_t}, {"metrics_bytes", metrics_bytes}, {"epoch_sums", sums}};
    lm_ckpt_info info = {0};
    info.step = (uint64_t)r->step;
    info.epoch = (uint64_t)r->epoch;
    info.epoch_pos = r->epoch_pos;
    info.seed = r->c->seed;
    info.optimizer = lm_optim_kind_name(r->c->optim.kind);
    info.model = lm_model_spec(r->m);
    info.extra = extra;
    info.n_extra = 3;
    if (!st) st = lm_checkpoint_save(r->ckpt, &info, l.t, l.n);
    list_free(&l);
    return st;
}

static lm_status resume(run *r)
{
    lm_checkpoint *c;
    lm_status st = lm_checkpoint_open(r->ckpt, &c);
    if (st) return lm_fail_context(st, "--resume");
    const lm_ckpt_info *info = lm_checkpoint_info(c);
    if (info->model && strcmp(info->model, lm_model_spec(r->m)))
        st = lm_fail(LM_EINVAL, "%s: the checkpoint is of model '%s', not '%s'", r->ckpt, info->model, lm_model_spec(r->m));
    else if (strcmp(info->optimizer ? info->optimizer : "", lm_optim_kind_name(r->c->optim.kind)))
        st = lm_fail(LM_EINVAL, "%s: the checkpoint was trained with --optim %s, not %s", r->ckpt,
                     info->optimizer ? info->optimizer : "?", lm_optim_kind_name(r->c->optim.kind));
    else if (info->seed != r->c->seed)
        st = lm_fail(LM_EINVAL, "%s: the checkpoint has seed %llu, not %llu", r->ckpt,
                     (unsigned long long)info->seed, (unsigned long long)r->c->seed);
    tensor_list l = {0};
    if (!st) st = model_tensors(r->m, r->o, NULL, NULL, 0, &l);
    if (!st) st = lm_checkpoint_read_all(c, l.t, l.n);
    long metrics_bytes = -1;
    if (!st) {
        restore_counts(r->m, &l);
        r->step = (long)info->step;
        r->epoch = (int)info->epoch;
        r->epoch_pos = info->epoch_pos;
        for (int i = 0; i < info->n_extra; i++) {
            if (!strcmp(info->extra[i].key, "optim_step")) lm_optim_set_step_count(r->o, atol(info->extra[i].value));
            if (!strcmp(info->extra[i].key, "metrics_bytes")) metrics_bytes = atol(info->extra[i].value);
            if (!strcmp(info->extra[i].key, "epoch_sums"))
                sscanf(info->extra[i].value, "%lf %lf %ld", &r->sum_loss, &r->sum_acc, &r->seen);
        }
        /* metrics written after the checkpoint belong to the lost future: cut them */
        if (metrics_bytes >= 0 && truncate(r->metrics, metrics_bytes) != 0)
            st = lm_fail(LM_EIO, "%s: cannot truncate to %ld bytes", r->metrics, metrics_bytes);
    }
    list_free(&l);
    lm_checkpoint_close(c);
    return st;
}

static int finite_all(const float *a, size_t n)
{
    float acc = 0;
    for (size_t i = 0; i < n; i++) acc += a[i] * 0;
    return acc == 0; /* NaN or Inf anywhere makes the sum NaN */
}

static void write_metrics(run *r, const lm_train_event *ev)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "epoch", ev->epoch + (double)ev->epoch_pos / ev->epoch_size);
    cJSON_AddNumberToObject(o, "step", (double)ev->step);
    cJSON_AddNumberToObject(o, "lr", ev->lr);
    cJSON_AddNumberToObject(o, "train_loss", ev->train_loss);
    if (!isnan(ev->train_acc)) cJSON_AddNumberToObject(o, "train_acc", ev->train_acc);
    if (ev->end_of_epoch) {
        cJSON_AddBoolToObject(o, "end_of_epoch", 1);
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

static lm_status load_data(run *r)
{
    const lm_train_config *c = r->c;
    /* linear and kernel models see the raw inputs: they have no bias, so standardising would
     * break interpolation (y = <w*, x>) and change H, the object of science.md 2.1 */
    char alias[256];
    r->normalize = c->normalize && !lm_model_alias_spec(c->model, 1, 1, alias, sizeof alias);
    lm_dataset *full;
    lm_status st = lm_data_load(c->data, LM_SPLIT_TRAIN, c->seed, &full);
    if (!st) st = lm_data_load(c->data, LM_SPLIT_TEST, c->seed, &r->test);
    if (st == LM_EIO) st = LM_EINVAL; /* a data source that cannot be read is bad input (exit 2) */
    if (st) return st;
    if (c->max_train > 0 && (size_t)c->max_train < full->n) full->n = (size_t)c->max_train;
    if (c->val_fraction > 0) {
        st = lm_dataset_split_validation(full, c->val_fraction, c->seed, &r->train, &r->val);
        lm_dataset_free(full);
        if (st) return st;
    } else {
        r->train = full;
    }
    int ch = r->train->shape.c;
    r->mean = calloc(ch, sizeof *r->mean);
    r->std = calloc(ch, sizeof *r->std);
    if (!r->mean || !r->std) return lm_fail(LM_ENOMEM, "out of memory");
    if (r->normalize) {
        st = lm_dataset_channel_stats(r->train, r->mean, r->std);
        if (!st) st = lm_dataset_normalize(r->train, r->mean, r->std);
        if (!st && r->val) st = lm_dataset_normalize(r->val, r->mean, r->std);
        if (!st) st = lm_dataset_normalize(r->test, r->mean, r->std);
    }
    return st;
}

/* --auto (science.md 2.2): the constants of the model's linear features for the run's batch
 * size set sgd's lr = 1/L_m, or mass's eta1, eta2 and gamma; noted in config.json's
 * "resolved": {"auto": {...}}. */
static lm_status auto_hparams(run *r, lm_optim_config *oc)
{
    const lm_train_config *c = r->c;
    double *phi = NULL;
    int rows, cols;
    lm_constants k;
    lm_status st = lm_model_linear_features(r->m, r->train->x, r->train->n, c->auto_samples, c->seed,
                                            &phi, &rows, &cols);
    if (!st) st = lm_linreg_constants(phi, rows, cols, c->batch, &k);
    free(phi);
    if (st) return lm_fail_context(st, "--auto");
    char line[512];
    int at = snprintf(line, sizeof line, "auto (%d samples x %d features, batch %d): L %.6g, mu %.6g, L1 %.6g, "
                      "kappa-tilde %.6g, L_m %.6g; ", rows, cols, c->batch, k.L, k.mu, k.L1, k.kappa_tilde, k.L_m);
    cJSON *a = cJSON_AddObjectToObject(r->resolved, "auto");
    if (oc->kind == LM_OPTIM_SGD) {
        oc->lr = k.sgd_lr;
        cJSON_AddNumberToObject(a, "lr", oc->lr);
        snprintf(line + at, sizeof line - at, "sgd lr = 1/L_m = %.6g", oc->lr);
    } else {
        oc->mass_form = LM_MASS_ETA;
        oc->eta1 = k.mass_eta1, oc->eta2 = k.mass_eta2, oc->gamma = k.mass_gamma;
        cJSON_AddNumberToObject(a, "eta1", oc->eta1);
        cJSON_AddNumberToObject(a, "eta2", oc->eta2);
        cJSON_AddNumberToObject(a, "gamma", oc->gamma);
        snprintf(line + at, sizeof line - at, "mass eta1 %.6g, eta2 %.6g, gamma %.6g", oc->eta1, oc->eta2, oc->gamma);
    }
    const struct { const char *name; double v; } kv[] = {
        {"samples", rows}, {"features", cols}, {"batch", c->batch}, {"L", k.L}, {"mu", k.mu}, {"L1", k.L1},
        {"kappa", k.kappa}, {"kappa_tilde", k.kappa_tilde}, {"L_m", k.L_m}, {"kappa_m", k.kappa_m},
        {"kappa_tilde_m", k.kappa_tilde_m}, {"rate", oc->kind == LM_OPTIM_SGD ? k.sgd_rate : k.mass_rate}};
    for (size_t i = 0; i < sizeof kv / sizeof *kv; i++) cJSON_AddNumberToObject(a, kv[i].name, kv[i].v);
    if (c->log) c->log(line);
    return LM_OK;
}

/* config.json: the options as given, plus "resolved": what the run derived, if anything. */
static lm_status write_config(run *r, const char *path)
{
    const char *text = r->c->config_json;
    cJSON *cfg = r->resolved && r->resolved->child ? cJSON_Parse(text) : NULL;
    char *merged = NULL;
    if (cJSON_IsObject(cfg)) {
        cJSON_AddItemToObject(cfg, "resolved", cJSON_Duplicate(r->resolved, 1));
        merged = cJSON_Print(cfg);
    }
    lm_status st = lm_write_file_atomic(path, merged ? merged : text, strlen(merged ? merged : text));
    free(merged);
    cJSON_Delete(cfg);
    return st;
}

/* --sync-bn: batch norm's per-channel sums over the ranks (--reduce ordered: the same bits on each) */
static lm_status sum_over_ranks(void *ctx, double *buf, size_t n)
{
    (void)ctx;
    return lm_dist_allreduce_f64(buf, n);
}

static lm_status setup(run *r)
{
    const lm_train_config *c = r->c;
    r->rank = lm_dist_rank();
    r->ranks = lm_dist_size();
    if (c->batch < 1) return lm_fail(LM_EINVAL, "--batch %d must be at least 1", c->batch);
    if (c->epochs < 1 && c->steps < 1) return lm_fail(LM_EINVAL, "--epochs %d must be at least 1", c->epochs);
    if (c->val_fraction < 0 || c->val_fraction >= 1)
        return lm_fail(LM_EINVAL, "--val-fraction %g must be in [0, 1)", c->val_fraction);
    lm_status st = load_data(r);
    if (st) return st;
    /* linear and kernel models: square loss (one-hot on classes), the training inputs as centres */
    int classes = r->train->classes, targets = classes > 0 ? classes : r->train->target_dim;
    char alias[256];
    const char *spec = lm_model_alias_spec(c->model, targets, r->train->n, alias, sizeof alias);
    r->onehot = spec && classes > 0;
    r->loss = classes > 0 && !spec ? LM_LOSS_XENT : LM_LOSS_MSE;
    r->resolved = cJSON_CreateObject();
    if (!r->resolved) return lm_fail(LM_ENOMEM, "out of memory");
    if (spec) cJSON_AddStringToObject(r->resolved, "model_spec", spec);
    if (spec) cJSON_AddBoolToObject(r->resolved, "normalized", r->normalize);
    st = lm_model_create(spec ? spec : c->model, r->train->shape, c->param, c->seed, &r->m);
    if (!st && lm_model_kernel_centres(r->m)) st = lm_model_set_kernel_centres(r->m, r->train->x, r->train->n);
    if (st) return st;
    int k = (int)lm_shape_numel(lm_model_output_shape(r->m));
    if (r->loss == LM_LOSS_XENT && k != r->train->classes)
        return lm_fail(LM_EINVAL, "model '%s' has %d outputs but data '%s' has %d classes", c->model, k, c->data,
                       r->train->classes);
    if (r->loss == LM_LOSS_MSE && k != targets)
        return lm_fail(LM_EINVAL, "model '%s' has %d outputs but data '%s' has %d targets", c->model, k, c->data,
                       targets);
    lm_optim_config oc = c->optim; /* the cosine schedule needs the run's length in epochs */
    long per_epoch = (long)((r->train->n + c->batch - 1) / c->batch);
    oc.schedule.total_epochs = c->steps > 0 ? (int)((c->steps + per_epoch - 1) / per_epoch) : c->epochs;
    if (oc.auto_hp) st = auto_hparams(r, &oc);
    if (!st) st = lm_optim_create(&oc, lm_model_params(r->m), lm_model_num_params(r->m), &r->o);
    if (!st) st = lm_exec_create_f32(r->m, c->batch, 0, &r->e);
    if (!st && c->sync_bn && r->ranks > 1) st = lm_exec_set_channel_sum_f32(r->e, sum_over_ranks, NULL);
    if (st) return st;
    r->lr = lm_optim_hparams(r->o)->lr;
    size_t in = lm_shape_numel(r->train->shape);
    r->xb = malloc((size_t)c->batch * in * sizeof *r->xb);
    r->yb = malloc((size_t)c->batch * r->train->target_dim * sizeof *r->yb);
    r->gz = malloc((size_t)c->batch * k * sizeof *r->gz);
    r->tb = r->onehot ? malloc((size_t)c->batch * k * sizeof *r->tb) : NULL;
    r->grad = malloc(lm_model_num_params(r->m) * sizeof *r->grad);
    r->perm = malloc(r->train->n * sizeof *r->perm);
    if (!r->xb || !r->yb || !r->gz || !r->grad || !r->perm || (r->onehot && !r->tb)) return lm_fail(LM_ENOMEM, "out of memory");
    if (strlen(c->out) > 400) return lm_fail(LM_EINVAL, "--out: the path is longer than 400 characters");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/checkpoints", c->out);
    snprintf(r->ckpt, sizeof r->ckpt, "%s/last.safetensors", dir);
    snprintf(r->metrics, sizeof r->metrics, "%s/metrics.jsonl", c->out);
    if (r->rank > 0) return LM_OK; /* the run folder is rank 0's; the state comes from it (sync_ranks) */
    /* a --resume that cannot resume (no checkpoint, another model) must not touch the folder */
    if (c->resume && (st = resume(r))) return st;
    if ((st = lm_mkdir_p(c->out))) return st;
    if ((st = lm_mkdir_p(dir))) return st;
    if (c->config_json) {
        char path[512];
        snprintf(path, sizeof path, "%s/config.json", c->out);
        if ((st = write_config(r, path))) return st;
    }
    r->mf = fopen(r->metrics, c->resume ? "a" : "w");
    if (!r->mf) return lm_fail(LM_EIO, "%s: cannot open for writing", r->metrics);
    return LM_OK;
}

static void teardown(run *r)
{
    if (r->mf) fclose(r->mf);
    lm_exec_free_f32(r->e);
    lm_optim_free(r->o);
    lm_model_free(r->m);
    lm_dataset_free(r->train);
    lm_dataset_free(r->val);
    lm_dataset_free(r->test);
    free(r->mean), free(r->std), free(r->xb), free(r->yb), free(r->tb), free(r->gz), free(r->grad), free(r->perm);
    cJSON_Delete(r->resolved);
}

/* ---- several ranks (lm_dist) ---- */

/* Every rank takes rank 0's weights, buffers, optimizer state and data position: a fresh run
 * starts from the same weights everywhere, and a resumed one from rank 0's checkpoint, whatever
 * the number of ranks that wrote it. */
static lm_status sync_ranks(run *r)
{
    size_t np = lm_model_num_params(r->m);
    lm_status st = lm_dist_bcast(lm_model_params(r->m), np * sizeof(float), 0);
    if (!st) st = lm_dist_bcast(lm_model_buffers(r->m), lm_model_num_buffers(r->m) * sizeof(float), 0);
    for (int s = 0; !st && s < lm_optim_num_state(r->o); s++)
        st = lm_dist_bcast(lm_optim_state(r->o, s), np * sizeof(float), 0);
    struct {
        long step, optim_step, seen;
        int epoch;
        size_t epoch_pos;
        double sum_loss, sum_acc;
    } pos = {r->step, lm_optim_step_count(r->o), r->seen, r->epoch, r->epoch_pos, r->sum_loss, r->sum_acc};
    if (!st) st = lm_dist_bcast(&pos, sizeof pos, 0);
    r->step = pos.step, r->seen = pos.seen, r->epoch = pos.epoch, r->epoch_pos = pos.epoch_pos;
    r->sum_loss = pos.sum_loss, r->sum_acc = pos.sum_acc;
    lm_optim_set_step_count(r->o, pos.optim_step);
    return st;
}

/* Loss and accuracy over ds; with several ranks each evaluates a contiguous share and the sums
 * are added (batch norm's running statistics are rank 0's, as PyTorch DDP's). */
static lm_status evaluate(run *r, const lm_dataset *ds, double *loss, double *acc)
{
    if (r->ranks == 1) return lm_evaluate(r->m, ds, r->c->batch, r->loss, loss, acc);
    lm_status st = lm_dist_bcast(lm_model_buffers(r->m), lm_model_num_buffers(r->m) * sizeof(float), 0);
    if (st) return st;
    lm_dataset part = *ds;
    size_t lo, hi;
    lm_dist_share(ds->n, &lo, &hi);
    part.n = hi - lo;
    part.x += lo * lm_shape_numel(ds->shape);
    part.y += lo * ds->target_dim;
    double l = 0, a = 0;
    if (part.n) st = lm_evaluate(r->m, &part, r->c->batch, r->loss, &l, &a);
    st = lm_dist_agree(st);
    double sums[2] = {part.n ? l * part.n : 0, part.n && !isnan(a) ? a * part.n : 0};
    if (!st) st = lm_dist_allreduce_f64(sums, 2);
    *loss = ds->n ? sums[0] / ds->n : NAN;
    *acc = ds->classes > 0 && ds->n ? sums[1] / ds->n : NAN;
    return st;
}

static lm_status end_of_epoch(run *r, lm_train_event *ev)
{
    lm_status st = LM_OK;
    ev->end_of_epoch = 1;
    if (r->val) st = evaluate(r, r->val, &ev->val_loss, &ev->val_acc);
    if (!st) st = evaluate(r, r->test, &ev->test_loss, &ev->test_acc);
    return st;
}

lm_status lm_train_overlap_reducer(lm_exec_f32 *e, float *grad, size_t np, lm_dist_reducer **red)
{
    int ncuts = lm_exec_grad_slices_f32(e, NULL, 0);
    size_t *cuts = malloc((ncuts + 1) * sizeof *cuts);
    if (!cuts) return lm_fail(LM_ENOMEM, "gradient reducer: out of memory for %d layer offsets", ncuts + 1);
    lm_exec_grad_slices_f32(e, cuts, ncuts);
    lm_status st = lm_dist_reducer_create(grad, np, LM_DIST_OVERLAP_BUCKET_BYTES, cuts, ncuts, red);
    free(cuts);
    if (!st) lm_exec_set_grad_hook_f32(e, lm_dist_reducer_hook, *red);
    return st;
}

lm_status lm_train_run(const lm_train_config *c, lm_train_callback cb, void *ctx, lm_train_result *res)
{
    run r = {0};
    r.c = c;
    memset(res, 0, sizeof *res);
    lm_status st = lm_dist_agree(setup(&r)); /* a rank that fails stops them all */
    if (!st && r.ranks > 1) st = sync_ranks(&r);
    lm_dist_reducer *red = NULL; /* several ranks, overlap: the gradient sum runs during backward */
    if (!st && r.ranks > 1 && c->overlap)
        st = lm_dist_agree(lm_train_overlap_reducer(r.e, r.grad, lm_model_num_params(r.m), &red));
    size_t n = r.train ? r.train->n : 0;
    long per_epoch = n ? (long)((n + c->batch - 1) / c->batch) : 0;
    long total = c->steps > 0 ? c->steps : per_epoch * c->epochs;
    int epochs = c->steps > 0 ? (int)((total + per_epoch - 1) / (per_epoch ? per_epoch : 1)) : c->epochs;
    int k = r.m ? (int)lm_shape_numel(lm_model_output_shape(r.m)) : 0;
    double t0 = now();
    long start_step = r.step;
    lm_train_event ev = {0};
    while (!st && r.step < total) {
        if (r.epoch_pos == 0 && c->optim.restart && r.epoch > 0 && lm_schedule_drops_at(&c->optim.schedule, r.epoch))
            lm_optim_restart(r.o);
        lm_batch_order((uint32_t)n, c->seed, (uint64_t)r.epoch, r.perm);
        if (r.epoch_pos == 0) r.sum_loss = r.sum_acc = 0, r.seen = 0;
        while (!st && r.epoch_pos < n && r.step < total) {
            int b = (int)(n - r.epoch_pos < (size_t)c->batch ? n - r.epoch_pos : (size_t)c->batch);
            /* every rank assembles the whole batch (so augmentation draws by the global
             * position) and computes samples [lo, lo + nb) of it: contiguous shares */
            st = lm_batch_gather(r.train, r.perm, r.epoch_pos, b, r.xb, r.yb, c->augment, c->seed, (uint64_t)r.step);
            if (st) break;
            size_t share_lo, share_hi;
            lm_dist_share((size_t)b, &share_lo, &share_hi);
            int lo = (int)share_lo, nb = (int)(share_hi - share_lo);
            const float *xs = r.xb + (size_t)lo * lm_shape_numel(r.train->shape);
            const float *ys = r.yb + (size_t)lo * r.train->target_dim;
            double factor = lm_schedule_factor(&c->optim.schedule, r.epoch, r.step);
            lm_exec_bind_f32(r.e, lm_optim_eval_point(r.o), lm_model_buffers(r.m));
            lm_exec_set_rng_f32(r.e, c->seed, (uint64_t)r.step);
            lm_exec_set_rng_offset_f32(r.e, (uint64_t)lo);
            const float *z = nb ? lm_forward_f32(r.e, xs, nb, LM_MODE_TRAIN, NULL) : NULL;
            if (!nb) lm_forward_empty_f32(r.e, LM_MODE_TRAIN); /* --sync-bn: an empty share joins the sums */
            if ((st = lm_exec_status_f32(r.e))) break;
            const float *target = r.onehot && nb ? one_hot(ys, nb, k, r.tb) : ys;
            double loss = nb ? lm_loss_f32(r.loss, z, target, nb, k, r.gz, NULL, NULL) : 0;
            double acc = r.train->classes > 0 && nb ? lm_accuracy_f32(z, ys, nb, k) : 0;
            if (r.ranks > 1) { /* the global batch's mean loss, and each rank's loss as sum / b */
                double sums[2] = {loss * nb, acc * nb};
                if ((st = lm_dist_allreduce_f64(sums, 2))) break;
                loss = sums[0] / b, acc = sums[1] / b;
                for (size_t i = 0; i < (size_t)nb * k; i++) r.gz[i] *= (float)((double)nb / b);
            }
            if (!isfinite(loss)) {
                st = lm_fail(LM_EDIVERGED, "diverged at step %ld (epoch %d): the loss is %g; %s %s",
                             r.step, r.epoch, loss, last_good(&r), r.ckpt);
                break;
            }
            if (r.train->classes > 0) r.sum_acc += acc * b;
            if (nb) lm_backward_f32(r.e, r.gz, r.grad, NULL, NULL, NULL); /* with red: buckets start inside */
            else lm_backward_empty_f32(r.e, r.grad); /* zeros; --sync-bn: joins the sums */
            if (red) st = lm_dist_reducer_finish(red);
            else if (r.ranks > 1) st = lm_dist_allreduce_f32(r.grad, lm_model_num_params(r.m));
            if (st) break;
            if ((st = lm_exec_status_f32(r.e))) break;
            lm_optim_step(r.o, r.grad, factor);
            r.step++;
            r.epoch_pos += b;
            r.sum_loss += loss * b;
            r.seen += b;
            int epoch_done = r.epoch_pos >= n;
            int log = (c->log_every > 0 && r.step % c->log_every == 0) || epoch_done || r.step == total;
            if (!log && !(c->ckpt_every > 0 && r.step % c->ckpt_every == 0)) continue;
            if (!finite_all(lm_optim_weights(r.o), lm_model_num_params(r.m))) {
                st = lm_fail(LM_EDIVERGED, "diverged at step %ld (epoch %d): the weights hold NaN or Inf; %s %s",
                             r.step, r.epoch, last_good(&r), r.ckpt);
                break;
            }
            double el = now() - t0;
            ev = (lm_train_event){r.epoch, epochs, r.step, total, (long)r.epoch_pos, (long)n, 0,
                                  r.sum_loss / r.seen, r.train->classes > 0 ? r.sum_acc / r.seen : NAN,
                                  NAN, NAN, NAN, NAN, r.lr * factor,
                                  (r.step - start_step) * (double)c->batch / (el > 0 ? el : 1e-9), el};
            if (epoch_done || r.step == total) st = end_of_epoch(&r, &ev);
            if (st) break;
            if (log && r.mf) write_metrics(&r, &ev);
            if (cb) cb(ctx, &ev);
            if (epoch_done) r.epoch++, r.epoch_pos = 0;
            if (epoch_done || r.step == total || (c->ckpt_every > 0 && r.step % c->ckpt_every == 0))
                st = lm_dist_agree(r.rank == 0 ? save_checkpoint(&r) : LM_OK);
            if (epoch_done) break; /* the next epoch has its own order */
        }
    }
    if (!st) {
        res->train_loss = ev.train_loss;
        res->test_loss = ev.test_loss;
        res->test_acc = ev.test_acc;
        res->val_loss = ev.val_loss;
        res->val_acc = ev.val_acc;
        res->steps = r.step;
        res->wall_seconds = now() - t0;
        res->samples_per_sec = (r.step - start_step) * (double)c->batch / (res->wall_seconds > 0 ? res->wall_seconds : 1e-9);
        res->epochs_done = r.epoch;
        res->num_params = lm_model_num_params(r.m);
        snprintf(res->checkpoint, sizeof res->checkpoint, "%s", r.ckpt);
    }
    if (red) lm_exec_set_grad_hook_f32(r.e, NULL, NULL);
    lm_dist_reducer_free(red);
    teardown(&r);
    return st;
}
