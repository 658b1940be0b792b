/* A run's options (run.h): written as config.json's object, and on a resume read back and checked
 * against those given. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "linmass/run.h"

/* The settings that define a run (lm_train_setting.defines_run): a resume may not change them. */
const char *lm_run_defining_key(int i)
{
    for (int k = 0; k < lm_train_setting_count(); k++)
        if (lm_train_setting_at(k)->defines_run && i-- == 0) return lm_train_setting_at(k)->key;
    return NULL;
}

static int defining(const char *key)
{
    const lm_train_setting *s = lm_train_setting_find(key);
    return s && s->defines_run;
}

/* 1 when option o holds the JSON value v (a missing or null v: an option without a value). */
static int same_value(const lm_run_option *o, const cJSON *v)
{
    switch (o->type) {
    case LM_RUN_OPT_FLAG: return cJSON_IsTrue(v) == (*(int *)o->value != 0);
    case LM_RUN_OPT_INT: return cJSON_IsNumber(v) && v->valuedouble == *(int *)o->value;
    case LM_RUN_OPT_U64: return cJSON_IsNumber(v) && v->valuedouble == (double)*(uint64_t *)o->value;
    case LM_RUN_OPT_DOUBLE: return cJSON_IsNumber(v) && v->valuedouble == *(double *)o->value;
    case LM_RUN_OPT_STRING: break;
    }
    const char *s = *(const char **)o->value;
    return s ? cJSON_IsString(v) && !strcmp(v->valuestring, s) : !v || cJSON_IsNull(v);
}

/* Option o from the run's value v; LM_EINVAL when v is of another type. */
static lm_status take_value(const char *dir, lm_run_option *o, const cJSON *v)
{
    int number = cJSON_IsNumber(v), ok = 1;
    switch (o->type) {
    case LM_RUN_OPT_FLAG: ok = cJSON_IsBool(v), *(int *)o->value = cJSON_IsTrue(v); break;
    case LM_RUN_OPT_INT: ok = number && v->valuedouble == (int)v->valuedouble, *(int *)o->value = number ? (int)v->valuedouble : 0; break;
    case LM_RUN_OPT_U64: ok = number && v->valuedouble >= 0, *(uint64_t *)o->value = number ? (uint64_t)v->valuedouble : 0; break;
    case LM_RUN_OPT_DOUBLE: /* earlier versions wrote the optimizer options as text */
        ok = number || (cJSON_IsString(v) && *v->valuestring);
        *(double *)o->value = number ? v->valuedouble : ok ? strtod(v->valuestring, NULL) : 0;
        break;
    case LM_RUN_OPT_STRING: ok = cJSON_IsString(v), *(const char **)o->value = ok ? v->valuestring : NULL; break;
    }
    if (!ok) return lm_fail(LM_EINVAL, "%s/config.json: option '%s' does not hold a value of its kind", dir, o->key);
    o->given = 1;
    return LM_OK;
}

/* Given option o, run-defining, against the run's value v. */
static lm_status check_given(const char *dir, const lm_run_option *o, const cJSON *v)
{
    if (!defining(o->key) || same_value(o, v)) return LM_OK;
    char *was = v ? cJSON_PrintUnformatted(v) : NULL;
    lm_status st = lm_fail(LM_EINVAL, "%s contradicts the run in %s, which has %s %s: drop it to continue that run, or "
                                      "start a new one in another folder", o->key, dir, o->key, was ? was : "none");
    free(was);
    return st;
}

lm_status lm_run_resume_options(const char *dir, lm_run_option *opts, int n, int *conflict, lm_run_recorded **held)
{
    char *text;
    *conflict = -1, *held = NULL;
    lm_status st = lm_run_read_options(dir, &text);
    if (st || !text) return st;
    cJSON *run = cJSON_Parse(text);
    free(text);
    if (!run) return lm_fail(LM_ENOMEM, "%s/config.json: out of memory", dir);
    *held = (lm_run_recorded *)run;
    for (int i = 0; i < n && !st; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(run, opts[i].key);
        if (opts[i].given && (st = check_given(dir, &opts[i], v))) *conflict = i;
        else if (!opts[i].given && v && !cJSON_IsNull(v)) st = take_value(dir, &opts[i], v);
    }
    return st;
}

void lm_run_recorded_free(lm_run_recorded *held) { cJSON_Delete((cJSON *)held); }

lm_status lm_run_options_json(const lm_run_option *opts, int n, char **out)
{
    *out = NULL;
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; i < n && o; i++) {
        const void *v = opts[i].value;
        const char *s = v && opts[i].type == LM_RUN_OPT_STRING ? *(const char *const *)v : NULL;
        if (!v || (opts[i].type == LM_RUN_OPT_STRING && !s)) {
            cJSON_AddNullToObject(o, opts[i].key);
            continue;
        }
        switch (opts[i].type) {
        case LM_RUN_OPT_FLAG: cJSON_AddBoolToObject(o, opts[i].key, *(const int *)v); break;
        case LM_RUN_OPT_INT: cJSON_AddNumberToObject(o, opts[i].key, *(const int *)v); break;
        case LM_RUN_OPT_U64: cJSON_AddNumberToObject(o, opts[i].key, (double)*(const uint64_t *)v); break;
        case LM_RUN_OPT_DOUBLE: cJSON_AddNumberToObject(o, opts[i].key, *(const double *)v); break;
        case LM_RUN_OPT_STRING: cJSON_AddStringToObject(o, opts[i].key, s); break;
        }
    }
    *out = o ? cJSON_Print(o) : NULL;
    cJSON_Delete(o);
    return *out ? LM_OK : lm_fail(LM_ENOMEM, "options: out of memory");
}
