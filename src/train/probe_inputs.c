/* A probe's inputs (run.h, lm_probe_inputs_open): the model with its weights and the first n
 * samples of the data as the model sees them, in float64. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "linmass/probe.h"
#include "linmass/run.h"

void lm_probe_inputs_close(lm_probe_inputs *p)
{
    if (p->owns_model) lm_model_free(p->model);
    lm_dataset_free(p->train);
    lm_dataset_free(p->test);
    free(p->x), free(p->x_test);
    free(p->data), free(p->checkpoint);
    memset(p, 0, sizeof *p);
}

static lm_status load_split(const char *data, lm_split split, uint64_t seed, lm_dataset **ds)
{
    lm_status st = lm_data_load(data, split, seed, ds);
    return st == LM_EIO ? LM_EINVAL : st; /* data that cannot be read is bad input, as for training */
}

/* The model: the run's, or created from the spec (an alias resolved for the data). */
static lm_status inputs_model(const lm_probe_inputs_spec *s, lm_probe_inputs *p)
{
    const lm_dataset *d = p->train;
    char buf[1024];
    const char *spec = lm_model_alias_spec(s->model, d->classes ? d->classes : d->target_dim, d->n, buf, sizeof buf);
    if (spec && strstr(spec, "kernelfeat") && !s->run)
        return lm_fail(LM_EINVAL, "model '%s': a kernel machine is probed from its run folder (a checkpoint does not hold its centres)",
                       s->model);
    p->alias = spec != NULL;
    p->model = s->run ? s->run->model : NULL;
    lm_status st = p->model ? LM_OK : lm_model_create(spec ? spec : s->model, d->shape, s->param, s->seed, &p->model);
    p->owns_model = !s->run && !st;
    if (!st) p->outputs = (int)lm_shape_numel(lm_model_output_shape(p->model));
    return st;
}

/* The weights (a checkpoint) and the standardisation: the run's or the checkpoint's own
 * statistics, or the training split's. */
static lm_status inputs_weights(const lm_probe_inputs_spec *s, lm_probe_inputs *p)
{
    int ch = p->train->shape.c;
    lm_status st = LM_OK;
    float *mean = calloc(ch, sizeof *mean), *sd = calloc(ch, sizeof *sd);
    if (!mean || !sd) st = lm_fail(LM_ENOMEM, "out of memory");
    if (!st && s->run) {
        p->normalized = s->run->normalized;
        if (p->normalized) memcpy(mean, s->run->mean, ch * sizeof *mean), memcpy(sd, s->run->std, ch * sizeof *sd);
    } else if (!st && s->checkpoint) {
        lm_weights_load_opts w = {mean, sd, ch, 0, 0, 0};
        st = lm_weights_load(s->checkpoint, p->model, &w);
        p->normalized = w.has_stats, p->index_shift = w.index_shift;
    } else if (!st && !s->raw && !p->alias) {
        st = lm_dataset_channel_stats(p->train, mean, sd);
        p->normalized = 1;
    }
    if (!st && p->normalized) st = lm_dataset_normalize(p->train, mean, sd);
    if (!st && p->normalized && p->test) st = lm_dataset_normalize(p->test, mean, sd);
    free(mean), free(sd);
    return st;
}

static char *copy(const char *s)
{
    char *c = s ? malloc(strlen(s) + 1) : NULL;
    return c ? strcpy(c, s) : NULL;
}

/* What the report names: the data, the weights and the parameterization. */
static lm_status inputs_names(const lm_probe_inputs_spec *s, lm_probe_inputs *p)
{
    const char *ckpt = s->run ? s->run->checkpoint : s->checkpoint;
    p->param = s->run ? s->run->spec.param : s->param;
    p->data = copy(s->data);
    p->checkpoint = copy(ckpt);
    return p->data && (p->checkpoint || !ckpt) ? LM_OK : lm_fail(LM_ENOMEM, "out of memory");
}

static double *to_f64(const float *x, size_t count)
{
    double *d = malloc((count ? count : 1) * sizeof *d);
    for (size_t i = 0; d && i < count; i++) d[i] = x[i];
    return d;
}

lm_status lm_probe_inputs_open(const lm_probe_inputs_spec *s, lm_probe_inputs *p)
{
    memset(p, 0, sizeof *p);
    lm_status st = load_split(s->data, LM_SPLIT_TRAIN, s->data_seed, &p->train);
    if (!st && s->n_test > 0) st = load_split(s->data, LM_SPLIT_TEST, s->data_seed, &p->test);
    if (!st && (s->n < 1 || (size_t)s->n > p->train->n))
        st = lm_fail(LM_EINVAL, "%d inputs: data '%s' has %zu training samples", s->n, s->data, p->train->n);
    if (!st) {
        p->n = s->n;
        p->n_test = p->test ? (s->n_test < (int)p->test->n ? s->n_test : (int)p->test->n) : 0;
        st = inputs_model(s, p);
    }
    if (!st) st = inputs_weights(s, p);
    if (!st) st = inputs_names(s, p);
    size_t nin = p->train ? lm_shape_numel(p->train->shape) : 0;
    if (!st) p->x = to_f64(p->train->x, (size_t)p->n * nin);
    if (!st && p->n_test) p->x_test = to_f64(p->test->x, (size_t)p->n_test * nin);
    if (!st && (!p->x || (p->n_test && !p->x_test))) st = lm_fail(LM_ENOMEM, "out of memory for the inputs");
    if (st) lm_probe_inputs_close(p);
    return st;
}

/* ---- what a probe's report says about its inputs ---- */

static const char *param_name(lm_param_kind k) { return k == LM_PARAM_NTK ? "ntk" : "standard"; }

int lm_probe_inputs_describe(const lm_probe_inputs *p, char *buf, size_t len)
{
    return snprintf(buf, len,
                    "model %s (%zu parameters, %s parameterization, %s)\n"
                    "inputs: the first %d training samples of %s%s\n",
                    lm_model_spec(p->model), lm_model_num_params(p->model), param_name(p->param),
                    p->checkpoint ? p->checkpoint : "random init", p->n, p->data, p->normalized ? ", standardised" : "");
}

const char *lm_probe_inputs_output_name(const lm_probe_inputs *p, int output, char *buf, size_t len)
{
    if (output != LM_OUTPUT_SUM) snprintf(buf, len, "output %d of %d", output, p->outputs);
    else if (p->outputs == 1) snprintf(buf, len, "the output");
    else snprintf(buf, len, "sum over %d outputs", p->outputs);
    return buf;
}

char *lm_probe_inputs_json(const lm_probe_inputs *p, int output)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", lm_model_spec(p->model));
    cJSON_AddNumberToObject(o, "num_params", (double)lm_model_num_params(p->model));
    cJSON_AddStringToObject(o, "param", param_name(p->param));
    cJSON_AddStringToObject(o, "data", p->data);
    cJSON_AddNumberToObject(o, "inputs", p->n);
    if (output == LM_OUTPUT_SUM) cJSON_AddStringToObject(o, "output", "sum");
    else cJSON_AddNumberToObject(o, "output", output);
    if (p->checkpoint) cJSON_AddStringToObject(o, "checkpoint", p->checkpoint);
    else cJSON_AddNullToObject(o, "checkpoint");
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return text;
}
