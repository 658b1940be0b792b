/* The training job's set-up: the data (standardised from the training split's statistics), the
 * model, the hyper-parameters that auto_hp derives, the trainer, and rank 0's run folder. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "linmass/dist.h"
#include "linmass/theory.h"
#include "linmass/version.h"
#include "train/train_internal.h"

static lm_status load_data(lm_job *r)
{
    lm_status st = lm_run_load_data(&r->spec, &r->train, &r->val, &r->test);
    if (st) return st;
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

static void note_auto(lm_job *r, const lm_constants *k, const lm_optim_config *oc, int rows, int cols)
{
    const lm_train_config *c = r->c;
    char line[512];
    int at = snprintf(line, sizeof line, "auto (%d samples x %d features, batch %d): L %.6g, mu %.6g, L1 %.6g, "
                      "kappa-tilde %.6g, L_m %.6g; ", rows, cols, c->batch, k->L, k->mu, k->L1, k->kappa_tilde, k->L_m);
    cJSON *a = cJSON_AddObjectToObject(r->resolved, "auto");
    if (oc->kind == LM_OPTIM_SGD) {
        cJSON_AddNumberToObject(a, "lr", oc->lr);
        snprintf(line + at, sizeof line - at, "sgd lr = 1/L_m = %.6g", oc->lr);
    } else {
        cJSON_AddNumberToObject(a, "eta1", oc->eta1);
        cJSON_AddNumberToObject(a, "eta2", oc->eta2);
        cJSON_AddNumberToObject(a, "gamma", oc->gamma);
        snprintf(line + at, sizeof line - at, "mass eta1 %.6g, eta2 %.6g, gamma %.6g", oc->eta1, oc->eta2, oc->gamma);
    }
    const struct { const char *name; double v; } kv[] = {
        {"samples", rows}, {"features", cols}, {"batch", c->batch}, {"L", k->L}, {"mu", k->mu}, {"L1", k->L1},
        {"kappa", k->kappa}, {"kappa_tilde", k->kappa_tilde}, {"L_m", k->L_m}, {"kappa_m", k->kappa_m},
        {"kappa_tilde_m", k->kappa_tilde_m}, {"rate", oc->kind == LM_OPTIM_SGD ? k->sgd_rate : k->mass_rate}};
    for (size_t i = 0; i < sizeof kv / sizeof *kv; i++) cJSON_AddNumberToObject(a, kv[i].name, kv[i].v);
    if (c->log) c->log(line);
}

/* auto_hp (docs/theory.md §2.2): the constants of the model's linear features for the run's
 * batch size set sgd's lr = 1/L_m, or mass's eta1, eta2 and gamma; noted in config.json's
 * "resolved": {"auto": {...}}. */
static lm_status auto_hparams(lm_job *r, lm_optim_config *oc)
{
    const lm_train_config *c = r->c;
    double *phi = NULL;
    int rows, cols;
    lm_constants k;
    lm_status st = lm_model_linear_features(r->m, r->train->x, r->train->n, c->auto_samples, c->seed,
                                            &phi, &rows, &cols);
    if (!st) st = lm_linreg_constants(phi, rows, cols, c->batch, &k);
    free(phi);
    if (st) return lm_fail_context(st, "auto hyper-parameters");
    if (oc->kind == LM_OPTIM_SGD) {
        oc->lr = k.sgd_lr;
    } else {
        oc->mass_form = LM_MASS_ETA;
        oc->eta1 = k.mass_eta1, oc->eta2 = k.mass_eta2, oc->gamma = k.mass_gamma;
    }
    note_auto(r, &k, oc, rows, cols);
    return LM_OK;
}

/* init_from's weights into the new model; a shifted index is noted (train.h, lm_weights_load). */
static lm_status init_weights(lm_job *r)
{
    const lm_train_config *c = r->c;
    lm_weights_load_opts w = {0};
    lm_status st = lm_weights_load(c->init_from, r->m, &w);
    if (st) return lm_fail_context(st, "initial weights");
    cJSON *o = cJSON_AddObjectToObject(r->resolved, "init_from");
    cJSON_AddStringToObject(o, "file", c->init_from);
    cJSON_AddBoolToObject(o, "plain_state_dict", w.plain);
    cJSON_AddNumberToObject(o, "index_shift", w.index_shift);
    if (w.index_shift && c->log && r->rank == 0) {
        char line[1200];
        snprintf(line, sizeof line, "note: %s numbers its layers %d lower than model '%s' (a flatten in forward(), not a "
                 "layer): tensor k.* loaded as (k+%d).*", c->init_from, w.index_shift, lm_model_spec(r->m), w.index_shift);
        c->log(line);
    }
    return LM_OK;
}

/* The model for the data, checked against it, with init_from's weights; "resolved" notes an
 * expanded alias. */
static lm_status create_model(lm_job *r)
{
    const lm_train_config *c = r->c;
    int classes = r->train->classes, targets = classes > 0 ? classes : r->train->target_dim;
    lm_status st = lm_run_model_create(&r->spec, r->train, &r->m);
    if (!st && c->init_from) st = init_weights(r);
    if (st) return st;
    if (lm_run_raw_inputs(c->model)) {
        cJSON_AddStringToObject(r->resolved, "model_spec", lm_model_spec(r->m));
        cJSON_AddBoolToObject(r->resolved, "normalized", r->normalize);
    }
    if (c->augment && lm_model_kernel_rkhs(r->m))
        return lm_fail(LM_EINVAL, "model '%s': augmentation would move the samples off their centres, and the RKHS "
                       "step puts each sample's residual on its own centre", c->model);
    int k = (int)lm_shape_numel(lm_model_output_shape(r->m));
    if (lm_run_loss(c->model, classes) == LM_LOSS_XENT && k != classes)
        return lm_fail(LM_EINVAL, "model '%s' has %d outputs but data '%s' has %d classes", c->model, k, c->data, classes);
    if (lm_run_loss(c->model, classes) == LM_LOSS_MSE && k != targets)
        return lm_fail(LM_EINVAL, "model '%s' has %d outputs but data '%s' has %d targets", c->model, k, c->data, targets);
    return LM_OK;
}

static lm_status create_trainer(lm_job *r)
{
    const lm_train_config *c = r->c;
    lm_optim_config oc = c->optim; /* the cosine schedule needs the run's length in epochs */
    long per_epoch = (long)((r->train->n + c->batch - 1) / c->batch);
    oc.schedule.total_epochs = c->steps > 0 ? (int)((c->steps + per_epoch - 1) / per_epoch) : c->epochs;
    lm_status st = oc.auto_hp ? auto_hparams(r, &oc) : LM_OK;
    lm_trainer_opts opts;
    lm_trainer_opts_init(&opts, r->train->classes);
    opts.loss = lm_run_loss(c->model, r->train->classes);
    opts.seed = c->seed;
    opts.sync_bn = c->sync_bn;
    opts.overlap = c->overlap;
    if (!st) st = lm_trainer_create(r->m, &oc, &opts, c->batch, &r->t);
    if (st) return st;
    const lm_optim_config *hp = lm_optim_hparams(lm_trainer_optim(r->t));
    r->lr = hp->lr;
    cJSON *o = lm_hparams_object(hp);
    if (!o) return lm_fail(LM_ENOMEM, "out of memory");
    cJSON_AddItemToObject(r->resolved, "optimizer", o);
    return LM_OK;
}

/* config.json: the options as given, and "resolved": what the run derived from them. */
static lm_status write_config(lm_job *r)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddItemToObject(d, "resolved", cJSON_Duplicate(r->resolved, 1));
    char *derived = cJSON_PrintUnformatted(d);
    cJSON_Delete(d);
    if (!derived) return lm_fail(LM_ENOMEM, "config.json: out of memory");
    lm_status st = lm_run_write_config(r->c->out, r->c->config_json, derived);
    free(derived);
    return st;
}

static lm_status open_folder(lm_job *r)
{
    const lm_train_config *c = r->c;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/checkpoints", c->out);
    snprintf(r->ckpt, sizeof r->ckpt, "%s/last.safetensors", dir);
    snprintf(r->metrics, sizeof r->metrics, "%s/metrics.jsonl", c->out);
    if (r->rank > 0) return LM_OK; /* the run folder is rank 0's; the state comes from it (lm_job_sync_ranks) */
    int resume = c->resume && access(r->ckpt, F_OK) == 0;
    if (c->resume && !resume && c->log) {
        char line[1200];
        snprintf(line, sizeof line, "note: no checkpoint in %s yet: the run starts from the beginning", c->out);
        c->log(line);
    }
    /* a resume that cannot resume (another model, a broken checkpoint) must not touch the folder;
     * a run from the beginning must not leave another run's checkpoint to resume from */
    lm_status st = resume ? lm_job_resume(r) : LM_OK;
    if (!st && !resume && unlink(r->ckpt) != 0 && errno != ENOENT && errno != ENOTDIR)
        st = lm_fail(LM_EIO, "%s: cannot remove the checkpoint of an earlier run: %s", r->ckpt, strerror(errno));
    if (!st) st = lm_mkdir_p(c->out);
    if (!st) st = lm_mkdir_p(dir);
    if (!st && c->config_json) st = write_config(r);
    if (st) return st;
    r->mf = fopen(r->metrics, resume ? "a" : "w");
    return r->mf ? LM_OK : lm_fail(LM_EIO, "%s: cannot open for writing", r->metrics);
}

lm_status lm_job_setup(lm_job *r)
{
    const lm_train_config *c = r->c;
    r->rank = lm_dist_rank();
    r->ranks = lm_dist_size();
    r->spec = (lm_run_spec){c->data, c->model, c->param, c->seed, c->max_train, c->val_fraction};
    r->normalize = c->normalize && !lm_run_raw_inputs(c->model);
    lm_status st = lm_train_config_validate(c);
    if (!st) st = load_data(r);
    if (!st && !(r->resolved = cJSON_CreateObject())) st = lm_fail(LM_ENOMEM, "out of memory");
    if (!st) cJSON_AddStringToObject(r->resolved, "version", lm_version());
    if (!st) cJSON_AddStringToObject(r->resolved, "param", c->param == LM_PARAM_NTK ? "ntk" : "standard");
    if (!st) st = create_model(r);
    if (!st) st = create_trainer(r);
    if (st) return st;
    size_t in = lm_shape_numel(r->train->shape);
    r->xb = malloc((size_t)c->batch * in * sizeof *r->xb);
    r->yb = malloc((size_t)c->batch * r->train->target_dim * sizeof *r->yb);
    r->perm = malloc(r->train->n * sizeof *r->perm);
    if (!r->xb || !r->yb || !r->perm) return lm_fail(LM_ENOMEM, "out of memory");
    return open_folder(r);
}

void lm_job_teardown(lm_job *r)
{
    if (r->mf) fclose(r->mf);
    lm_trainer_free(r->t);
    lm_model_free(r->m);
    lm_dataset_free(r->train);
    lm_dataset_free(r->val);
    lm_dataset_free(r->test);
    free(r->mean), free(r->std), free(r->xb), free(r->yb), free(r->perm);
    cJSON_Delete(r->resolved);
}
