/* The run folder (run.h): the rules that decide how a run's model sees its data (the loss, raw
 * or standardised inputs, aliases, kernel centres), used by training and by every reader, and
 * opening a run. config.json's keys are named here and in run_write.c alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "linmass/io.h"
#include "linmass/run.h"

void lm_run_spec_init(lm_run_spec *s)
{
    memset(s, 0, sizeof *s);
    s->data = "fashion-mnist";
    s->model = "fcn";
    s->param = LM_PARAM_STANDARD;
}

int lm_run_raw_inputs(const char *model)
{
    char alias[256];
    return lm_model_alias_spec(model, 1, 1, alias, sizeof alias) != NULL;
}

lm_loss_kind lm_run_loss(const char *model, int classes)
{
    return classes > 0 && !lm_run_raw_inputs(model) ? LM_LOSS_XENT : LM_LOSS_MSE;
}

static lm_status load_split(const lm_run_spec *s, lm_split split, lm_dataset **out)
{
    lm_status st = lm_data_load(s->data, split, s->seed, out);
    return st == LM_EIO ? LM_EINVAL : st; /* a data source that cannot be read is bad input */
}

/* The training split as training uses it: cut to max_train, val_fraction held out into *val. */
static lm_status load_train(const lm_run_spec *s, lm_dataset **train, lm_dataset **val)
{
    lm_dataset *full;
    lm_status st = load_split(s, LM_SPLIT_TRAIN, &full);
    if (st) return st;
    if (s->max_train > 0 && (size_t)s->max_train < full->n) full->n = (size_t)s->max_train;
    if (s->val_fraction <= 0) {
        *train = full;
        return LM_OK;
    }
    st = lm_dataset_split_validation(full, s->val_fraction, s->seed, train, val);
    lm_dataset_free(full);
    return st;
}

lm_status lm_run_load_data(const lm_run_spec *s, lm_dataset **train, lm_dataset **val, lm_dataset **test)
{
    lm_dataset *tr = NULL, *va = NULL, *te = NULL;
    lm_status st = train ? load_train(s, &tr, &va) : LM_OK;
    if (!st && test) st = load_split(s, LM_SPLIT_TEST, &te);
    if (st || !val) lm_dataset_free(va), va = NULL;
    if (st) lm_dataset_free(tr), lm_dataset_free(te), tr = te = NULL;
    if (train) *train = tr;
    if (val) *val = va;
    if (test) *test = te;
    return st;
}

/* s->model for inputs of `shape` with `targets` outputs and, for the kernel alias, n centres. */
static lm_status model_for(const lm_run_spec *s, lm_shape shape, int targets, size_t n, lm_model **out)
{
    char alias[256];
    const char *spec = lm_model_alias_spec(s->model, targets, n, alias, sizeof alias);
    return lm_model_create(spec ? spec : s->model, shape, s->param, s->seed, out);
}

static int targets_of(const lm_dataset *d) { return d->classes > 0 ? d->classes : d->target_dim; }

lm_status lm_run_model_create(const lm_run_spec *s, const lm_dataset *train, lm_model **out)
{
    lm_status st = model_for(s, train->shape, targets_of(train), train->n, out);
    if (!st && lm_model_kernel_centres(*out)) st = lm_model_set_kernel_centres(*out, train->x, train->n);
    if (st) {
        lm_model_free(*out);
        *out = NULL;
    }
    return st;
}

/* ---- opening a run ---- */

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

/* The spec from config.json at path; its strings are new copies (free them) on success. */
static lm_status read_spec(const char *path, lm_run_spec *s)
{
    char *text;
    size_t len;
    lm_run_spec_init(s);
    if (lm_read_file(path, 1 << 20, &text, &len)) return lm_fail_context(LM_EINVAL, "run folder");
    cJSON *cfg = cJSON_Parse(text);
    free(text);
    cJSON *m = cJSON_GetObjectItem(cfg, "model"), *d = cJSON_GetObjectItem(cfg, "data");
    cJSON *p = cJSON_GetObjectItem(cfg, "param"), *seed = cJSON_GetObjectItem(cfg, "seed");
    cJSON *mt = cJSON_GetObjectItem(cfg, "max-train"), *vf = cJSON_GetObjectItem(cfg, "val-fraction");
    lm_status st = LM_OK;
    if (!cJSON_IsString(m) || !cJSON_IsString(d))
        st = lm_fail(LM_EINVAL, "%s: no 'model' and 'data' strings (is it a training run?)", path);
    else if (cJSON_IsString(p) && strcmp(p->valuestring, "standard") && strcmp(p->valuestring, "ntk"))
        st = lm_fail(LM_EINVAL, "%s: param '%s' is not standard or ntk", path, p->valuestring);
    if (!st) {
        s->param = cJSON_IsString(p) && !strcmp(p->valuestring, "ntk") ? LM_PARAM_NTK : LM_PARAM_STANDARD;
        if (cJSON_IsNumber(seed)) s->seed = (uint64_t)seed->valuedouble;
        if (cJSON_IsNumber(mt)) s->max_train = (long)mt->valuedouble;
        if (cJSON_IsNumber(vf)) s->val_fraction = vf->valuedouble;
        char *model = strdup(m->valuestring), *data = strdup(d->valuestring);
        s->model = model, s->data = data;
        if (!model || !data) {
            free(model), free(data);
            st = lm_fail(LM_ENOMEM, "%s: out of memory", path);
        }
    }
    cJSON_Delete(cfg);
    return st;
}

lm_status lm_run_open(const char *dir, lm_run **out)
{
    *out = NULL;
    char path[1100];
    if (strlen(dir) > 1000) return lm_fail(LM_EINVAL, "run folder: the path is longer than 1000 characters");
    snprintf(path, sizeof path, "%s/config.json", dir);
    lm_run_spec s;
    lm_status st = read_spec(path, &s);
    if (st) return st;
    snprintf(path, sizeof path, "%s/checkpoints/last.safetensors", dir);
    st = lm_run_open_checkpoint(&s, path, out);
    free((char *)s.model), free((char *)s.data);
    if (!st && !((*out)->dir = strdup(dir))) st = lm_fail(LM_ENOMEM, "run folder: out of memory");
    if (st) {
        lm_run_close(*out);
        *out = NULL;
    }
    return st;
}

/* The model with the checkpoint's weights; a kernel layer's centres are the training inputs as
 * the model saw them (standardised if the run's inputs were). */
static lm_status build_model(lm_run *r)
{
    lm_model *probe;
    lm_status st = model_for(&r->spec, r->test->shape, targets_of(r->test), 1, &probe);
    int kernel = !st && lm_model_kernel_centres(probe) > 0;
    lm_model_free(probe);
    lm_dataset *train = NULL;
    if (!st && kernel) st = lm_run_load_data(&r->spec, &train, NULL, NULL);
    if (!st) st = lm_run_model_create(&r->spec, train ? train : r->test, &r->model);
    if (!st) st = lm_checkpoint_load_model(r->checkpoint, r->model, r->mean, r->std, r->test->shape.c, &r->normalized);
    if (!st && train && r->normalized) st = lm_dataset_normalize(train, r->mean, r->std);
    if (!st && train && r->normalized) st = lm_model_set_kernel_centres(r->model, train->x, train->n);
    lm_dataset_free(train);
    return st;
}

static lm_status fill(lm_run *r, const lm_run_spec *spec, const char *checkpoint)
{
    r->spec = *spec;
    r->spec.data = dup_or_null(spec->data);
    r->spec.model = dup_or_null(spec->model);
    r->checkpoint = dup_or_null(checkpoint);
    if (!r->spec.model || !r->checkpoint || (spec->data && !r->spec.data)) return lm_fail(LM_ENOMEM, "run: out of memory");
    lm_status st = lm_run_load_data(&r->spec, NULL, NULL, &r->test);
    if (st) return st;
    int ch = r->test->shape.c;
    r->loss = lm_run_loss(r->spec.model, r->test->classes);
    r->mean = calloc(ch, sizeof *r->mean);
    r->std = calloc(ch, sizeof *r->std);
    if (!r->mean || !r->std) return lm_fail(LM_ENOMEM, "run: out of memory");
    st = build_model(r);
    if (!st && r->normalized) st = lm_dataset_normalize(r->test, r->mean, r->std);
    if (!st && !r->normalized) free(r->mean), free(r->std), r->mean = r->std = NULL;
    return st;
}

lm_status lm_run_open_checkpoint(const lm_run_spec *spec, const char *checkpoint, lm_run **out)
{
    *out = NULL;
    if (!spec->model || !checkpoint) return lm_fail(LM_EINVAL, "run: no model or no checkpoint given");
    lm_run *r = calloc(1, sizeof *r);
    if (!r) return lm_fail(LM_ENOMEM, "run: out of memory");
    lm_status st = fill(r, spec, checkpoint);
    if (st) lm_run_close(r);
    else *out = r;
    return st;
}

void lm_run_close(lm_run *r)
{
    if (!r) return;
    free((char *)r->spec.data), free((char *)r->spec.model);
    free((char *)r->dir), free((char *)r->checkpoint);
    lm_model_free(r->model);
    free(r->mean), free(r->std);
    lm_dataset_free(r->test);
    free(r);
}
