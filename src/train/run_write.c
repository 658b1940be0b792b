/* Writing a run folder (run.h): config.json, result.json and report.md, and a run saved from a
 * trainer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "linmass/io.h"
#include "linmass/run.h"
#include "train/train_internal.h"

static lm_status write_text(const char *dir, const char *name, const char *text)
{
    char path[1100];
    if (strlen(dir) > 1000) return lm_fail(LM_EINVAL, "run folder: the path is longer than 1000 characters");
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return lm_write_file_atomic(path, text, strlen(text));
}

/* options with derived's members appended (moved out of derived) */
static lm_status merge(const char *options, cJSON *derived, char **out)
{
    cJSON *cfg = cJSON_Parse(options);
    if (!cJSON_IsObject(cfg)) {
        cJSON_Delete(cfg);
        return lm_fail(LM_EINVAL, "config.json: the options are not a JSON object");
    }
    for (cJSON *item; (item = derived->child);) {
        cJSON_DetachItemViaPointer(derived, item);
        cJSON_AddItemToObject(cfg, item->string, item);
    }
    *out = cJSON_Print(cfg);
    cJSON_Delete(cfg);
    return *out ? LM_OK : lm_fail(LM_ENOMEM, "config.json: out of memory");
}

lm_status lm_run_write_config(const char *dir, const char *options, const char *derived)
{
    cJSON *d = derived ? cJSON_Parse(derived) : NULL;
    if (derived && !cJSON_IsObject(d)) {
        cJSON_Delete(d);
        return lm_fail(LM_EINVAL, "config.json: the derived settings are not a JSON object");
    }
    char *merged = NULL;
    lm_status st = d && d->child ? merge(options, d, &merged) : LM_OK;
    if (!st) st = write_text(dir, "config.json", merged ? merged : options);
    free(merged);
    cJSON_Delete(d);
    return st;
}

lm_status lm_run_write_result(const char *dir, const char *result, const char *report)
{
    lm_status st = write_text(dir, "result.json", result);
    return st ? st : write_text(dir, "report.md", report);
}

static char *spec_json(const lm_run_spec *s, const char *model)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "data", s->data);
    cJSON_AddStringToObject(o, "model", model);
    cJSON_AddStringToObject(o, "param", s->param == LM_PARAM_NTK ? "ntk" : "standard");
    cJSON_AddNumberToObject(o, "seed", (double)s->seed);
    cJSON_AddNumberToObject(o, "val-fraction", s->val_fraction);
    cJSON_AddNumberToObject(o, "max-train", (double)s->max_train);
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    return text;
}

lm_status lm_run_save(const char *dir, const lm_run_spec *spec, lm_trainer *t, const float *mean, const float *std)
{
    lm_model *m = lm_trainer_model(t);
    lm_optim *o = lm_trainer_optim(t);
    char path[1100], optim_t[32];
    if (strlen(dir) > 1000) return lm_fail(LM_EINVAL, "run folder: the path is longer than 1000 characters");
    if (!spec->data) return lm_fail(LM_EINVAL, "run folder %s: no data source to record", dir);
    snprintf(path, sizeof path, "%s/checkpoints", dir);
    lm_status st = lm_mkdir_p(path);
    char *cfg = st ? NULL : spec_json(spec, spec->model ? spec->model : lm_model_spec(m));
    if (!st && !cfg) st = lm_fail(LM_ENOMEM, "config.json: out of memory");
    if (!st) st = lm_run_write_config(dir, cfg, NULL);
    free(cfg);
    if (st) return st;
    snprintf(optim_t, sizeof optim_t, "%ld", lm_optim_step_count(o));
    lm_kv extra[1] = {{"optim_step", optim_t}};
    lm_ckpt_info info = {0};
    info.step = (uint64_t)lm_trainer_step_count(t);
    info.epoch = (uint64_t)lm_trainer_epoch(t);
    info.seed = spec->seed;
    info.optimizer = lm_optim_kind_name(lm_optim_hparams(o)->kind);
    info.model = lm_model_spec(m);
    info.extra = extra;
    info.n_extra = 1;
    snprintf(path, sizeof path, "%s/checkpoints/last.safetensors", dir);
    return lm_ckpt_save_model(path, &info, m, o, (float *)mean, (float *)std, lm_model_input_shape(m).c);
}
