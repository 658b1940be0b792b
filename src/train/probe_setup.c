/* A probe's inputs resolved from what it was asked (run.h, lm_probe_setup_open): a training run
 * folder, a checkpoint with the parameterisation it records, or a model spec with a random init;
 * the output probed, checked against the model; and the scalar targets of one output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "linmass/probe.h"
#include "linmass/run.h"
#include "linmass/train.h"

/* "sum" -> LM_OUTPUT_SUM, "k" -> k */
static lm_status parse_output(const char *text, int *out)
{
    if (!text || !strcmp(text, "sum")) {
        *out = LM_OUTPUT_SUM;
        return LM_OK;
    }
    char *end;
    long k = strtol(text, &end, 10);
    if (end == text || *end || k < 0 || k > 1000000) return lm_fail(LM_EINVAL, "output: '%s' is not sum or an output index", text);
    *out = (int)k;
    return LM_OK;
}

/* The parameterisation: the one given, else the checkpoint's recorded one (standard when it
 * records none: lm_weights_param), else ntk. */
static lm_status resolve_param(const lm_probe_request *q, lm_probe_setup *s, lm_param_kind *param)
{
    *param = LM_PARAM_NTK;
    if (q->checkpoint) return lm_weights_param(q->checkpoint, q->param, param, &s->param_assumed, &s->plain);
    return q->param ? lm_param_from_name(q->param, param) : LM_OK;
}

/* The model, data, weights and seeds: the run folder's, or the request's. */
static lm_status resolve_source(const lm_probe_request *q, lm_probe_setup *s, lm_probe_inputs_spec *ps)
{
    *ps = (lm_probe_inputs_spec){.seed = q->seed, .n = q->n, .n_test = q->n_test, .raw = q->raw};
    s->data_seed = q->seed;
    if (!q->run) {
        if (!q->model || !q->data) return lm_fail(LM_EINVAL, "%s: none given", !q->model ? "model" : "data");
        s->model = ps->model = q->model, s->data = ps->data = q->data, s->checkpoint = ps->checkpoint = q->checkpoint;
        ps->data_seed = q->seed;
        return resolve_param(q, s, &ps->param);
    }
    if (q->model || q->data || q->checkpoint || q->param)
        return lm_fail(LM_EINVAL, "run '%s': the model, data, param and checkpoint come from the run folder (%s given)", q->run,
                       q->model ? "model" : q->data ? "data" : q->checkpoint ? "checkpoint" : "param");
    lm_status st = lm_run_open(q->run, &s->run);
    if (st) return st;
    s->model = ps->model = s->run->spec.model, s->data = ps->data = s->run->spec.data;
    s->checkpoint = s->run->checkpoint;
    ps->run = s->run, ps->param = s->run->spec.param;
    if (q->run_seed) s->data_seed = s->run->spec.seed;
    ps->data_seed = s->data_seed;
    return LM_OK;
}

lm_status lm_probe_setup_open(const lm_probe_request *q, lm_probe_setup *s)
{
    memset(s, 0, sizeof *s);
    lm_probe_inputs_spec ps;
    lm_status st = parse_output(q->output, &s->output);
    if (!st && q->n < 1) st = lm_fail(LM_EINVAL, "n %d must be at least 1", q->n);
    if (!st && q->n_test < 0) st = lm_fail(LM_EINVAL, "n_test %d must not be negative", q->n_test);
    if (!st) st = resolve_source(q, s, &ps);
    if (!st) st = lm_probe_inputs_open(&ps, &s->in);
    int k = s->in.outputs;
    if (!st && s->output >= k)
        st = lm_fail(LM_EINVAL, "output %d: the model has %d output%s (0..%d, or sum)", s->output, k, k == 1 ? "" : "s", k - 1);
    if (st) lm_probe_setup_close(s);
    return st;
}

void lm_probe_setup_close(lm_probe_setup *s)
{
    lm_probe_inputs_close(&s->in);
    lm_run_close(s->run);
    memset(s, 0, sizeof *s);
}

char *lm_probe_setup_json(const lm_probe_setup *s)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "model", s->model);
    cJSON_AddStringToObject(r, "model_spec", lm_model_spec(s->in.model));
    cJSON_AddStringToObject(r, "data", s->data);
    cJSON_AddStringToObject(r, "param", s->in.param == LM_PARAM_NTK ? "ntk" : "standard");
    cJSON_AddNumberToObject(r, "data_seed", (double)s->data_seed);
    if (s->checkpoint) cJSON_AddStringToObject(r, "checkpoint", s->checkpoint);
    cJSON_AddBoolToObject(r, "normalized", s->in.normalized);
    char *text = r ? cJSON_PrintUnformatted(r) : NULL;
    cJSON_Delete(r);
    return text;
}

lm_status lm_probe_inputs_targets(const lm_probe_inputs *p, int output, double **y)
{
    const lm_dataset *d = p->train;
    int K = p->outputs;
    *y = NULL;
    if (output == LM_OUTPUT_SUM && K != 1)
        return lm_fail(LM_EINVAL, "output sum: the model has %d outputs; one scalar output is needed (an output k)", K);
    if (d->classes && K != d->classes)
        return lm_fail(LM_EINVAL, "data %s has %d classes: use a model with %d outputs and an output k (the target is 1{class = k})",
                       p->data, d->classes, d->classes);
    if (!d->classes && d->target_dim != K)
        return lm_fail(LM_EINVAL, "data %s has %d target values per sample but the model has %d outputs", p->data, d->target_dim, K);
    *y = malloc((p->n ? p->n : 1) * sizeof **y);
    lm_status st = *y ? lm_run_output_targets(d, p->n, output == LM_OUTPUT_SUM ? 0 : output, *y) : lm_fail(LM_ENOMEM, "out of memory");
    if (st) free(*y), *y = NULL;
    return st;
}
