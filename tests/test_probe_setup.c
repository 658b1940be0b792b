// ctest-labels: unit
/* lm_probe_setup_open (run.h): a model spec with a random init (ntk unless param says, the data
 * drawn with seed), a checkpoint (the parameterisation it records, else standard with
 * param_assumed; lm_weights_param, lm_param_from_name), a run folder written by lm_run_save (its model, data, parameterisation,
 * checkpoint, and its seed for the data unless run_seed is 0); the output ("sum", k) checked
 * against the model's outputs, n and n_test, fields given with a run refused, each message
 * starting with its field; lm_probe_setup_json's keys; lm_probe_inputs_targets: 1{class = k}
 * on classes, the regression target k, and the models that do not fit refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "class_csv.h"
#include "linmass/io.h"
#include "linmass/probe.h"
#include "linmass/run.h"

static const char *const teacher = "synth:teacher";

/* st is LM_EINVAL and the message starts with `start` */
static void refused(lm_status st, const char *start)
{
    CHECK_MSG(st == LM_EINVAL && !strncmp(lm_error_message(), start, strlen(start)), "status %d, '%s' (wanted '%s...')", st,
              lm_error_message(), start);
}

static void from_spec(void)
{
    lm_probe_request q = {.model = "dense:4,tanh,dense:1", .data = teacher, .seed = 5, .n = 3, .output = "sum"};
    lm_probe_setup s;
    CHECK(lm_probe_setup_open(&q, &s) == LM_OK);
    CHECK(s.in.param == LM_PARAM_NTK && !s.param_assumed && s.data_seed == 5 && s.output == LM_OUTPUT_SUM && !s.run && !s.checkpoint);
    CHECK(s.in.n == 3 && s.in.outputs == 1 && !strcmp(s.model, q.model) && !strcmp(s.data, teacher));
    lm_model *m = NULL; /* the seed's draw, in the ntk parameterisation */
    CHECK(s.in.model && lm_model_create(q.model, s.in.train->shape, LM_PARAM_NTK, 5, &m) == LM_OK);
    CHECK(m && !memcmp(lm_model_params(m), lm_model_params(s.in.model), lm_model_num_params(m) * sizeof(float)));
    lm_model_free(m);
    lm_probe_setup_close(&s);
    CHECK(s.in.model == NULL);

    q.param = "standard", q.output = "0";
    CHECK(lm_probe_setup_open(&q, &s) == LM_OK && s.in.param == LM_PARAM_STANDARD && s.output == 0);
    lm_probe_setup_close(&s);
    q.output = NULL; /* the sum */
    CHECK(lm_probe_setup_open(&q, &s) == LM_OK && s.output == LM_OUTPUT_SUM);
    lm_probe_setup_close(&s);

    q.output = "1";
    refused(lm_probe_setup_open(&q, &s), "output 1: the model has 1 output (0..0, or sum)");
    CHECK(s.in.model == NULL);
    q.model = "dense:4,tanh,dense:3", q.output = "3";
    refused(lm_probe_setup_open(&q, &s), "output 3: the model has 3 outputs (0..2, or sum)");
    q.output = "2";
    CHECK(lm_probe_setup_open(&q, &s) == LM_OK && s.output == 2);
    lm_probe_setup_close(&s);
    q.output = "two";
    refused(lm_probe_setup_open(&q, &s), "output: 'two' is not sum or an output index");
    q.output = "-1";
    refused(lm_probe_setup_open(&q, &s), "output: '-1'");
    q.output = "sum", q.n = 0;
    refused(lm_probe_setup_open(&q, &s), "n 0 must be at least 1");
    q.n = 1, q.n_test = -1;
    refused(lm_probe_setup_open(&q, &s), "n_test -1 must not be negative");
    q.n_test = 0, q.param = "mup";
    refused(lm_probe_setup_open(&q, &s), "param 'mup' is not standard or ntk");
}

/* A checkpoint of model's seed-7 weights; param: its recorded parameterisation (NULL: none). */
static int write_checkpoint(const char *path, const char *model, const char *param)
{
    lm_probe_request q = {.model = model, .data = teacher, .param = "standard", .seed = 7, .n = 1};
    lm_probe_setup s;
    if (lm_probe_setup_open(&q, &s)) return 0;
    lm_ckpt_tensor t[8];
    int nt = 0;
    for (int i = 0; i < lm_model_num_tensors(s.in.model) && nt < 8; i++) {
        const lm_tensor_info *ti = lm_model_tensor(s.in.model, i);
        t[nt] = (lm_ckpt_tensor){ti->name, LM_DT_F32, ti->ndim, {0}, lm_model_params(s.in.model) + ti->offset};
        for (int k = 0; k < ti->ndim; k++) t[nt].shape[k] = ti->dims[k];
        nt++;
    }
    lm_kv kv = {"param", param};
    lm_ckpt_info info = {.optimizer = "sgd", .model = model, .extra = param ? &kv : NULL, .n_extra = param != NULL};
    int ok = lm_checkpoint_save(path, &info, t, nt) == LM_OK;
    lm_probe_setup_close(&s);
    return ok;
}

static void from_checkpoint(const char *dir)
{
    char older[600], ntk[600];
    snprintf(older, sizeof older, "%s/older.safetensors", dir);
    snprintf(ntk, sizeof ntk, "%s/ntk.safetensors", dir);
    const char *model = "dense:4,tanh,dense:1";
    CHECK(write_checkpoint(older, model, NULL) && write_checkpoint(ntk, model, "ntk"));
    lm_probe_request q = {.model = model, .data = teacher, .checkpoint = older, .seed = 99, .n = 2};
    lm_probe_setup s;
    CHECK(lm_probe_setup_open(&q, &s) == LM_OK); /* records none: standard, said */
    CHECK(s.in.param == LM_PARAM_STANDARD && s.param_assumed && !s.plain && s.checkpoint == older);
    lm_model *m = NULL; /* the file's weights (seed 7's draw), not seed 99's */
    CHECK(s.in.model && lm_model_create(model, s.in.train->shape, LM_PARAM_STANDARD, 7, &m) == LM_OK);
    CHECK(m && !memcmp(lm_model_params(m), lm_model_params(s.in.model), lm_model_num_params(m) * sizeof(float)));
    lm_model_free(m);
    lm_probe_setup_close(&s);
    q.param = "ntk"; /* given: no assumption */
    CHECK(lm_probe_setup_open(&q, &s) == LM_OK && s.in.param == LM_PARAM_NTK && !s.param_assumed);
    lm_probe_setup_close(&s);
    q.param = NULL, q.checkpoint = ntk; /* recorded */
    CHECK(lm_probe_setup_open(&q, &s) == LM_OK && s.in.param == LM_PARAM_NTK && !s.param_assumed);
    lm_probe_setup_close(&s);
    /* lm_weights_param, which eval shares: given, recorded, assumed */
    lm_param_kind p = LM_PARAM_NTK;
    int assumed = -1, plain = -1;
    CHECK(lm_weights_param(older, NULL, &p, &assumed, &plain) == LM_OK && p == LM_PARAM_STANDARD && assumed == 1 && plain == 0);
    CHECK(lm_weights_param(ntk, NULL, &p, &assumed, NULL) == LM_OK && p == LM_PARAM_NTK && assumed == 0);
    CHECK(lm_weights_param("/no/such/file", "standard", &p, &assumed, NULL) == LM_OK && p == LM_PARAM_STANDARD && !assumed);
    refused(lm_weights_param(ntk, "mup", &p, NULL, NULL), "param 'mup' is not standard or ntk");
    CHECK(lm_weights_param("/no/such/file", NULL, &p, &assumed, NULL) != LM_OK && !assumed);
    CHECK(lm_param_from_name("ntk", &p) == LM_OK && p == LM_PARAM_NTK);
    CHECK(lm_param_from_name("standard", &p) == LM_OK && p == LM_PARAM_STANDARD);
    refused(lm_param_from_name("NTK", &p), "param 'NTK' is not standard or ntk");
}

/* A run folder from lm_run_save: spec's data, model, param and seed (11), 4 steps of SGD. */
static int write_run(const char *out, const char *data)
{
    lm_run_spec spec;
    lm_run_spec_init(&spec);
    spec.data = data, spec.model = "dense:5,tanh,dense:3", spec.param = LM_PARAM_NTK, spec.seed = 11;
    lm_dataset *tr = NULL;
    lm_model *m = NULL;
    lm_trainer *t = NULL;
    lm_optim_config oc;
    lm_optim_config_init(&oc, LM_OPTIM_SGD);
    lm_trainer_opts o;
    lm_trainer_opts_init(&o, 3);
    lm_status st = lm_run_load_data(&spec, &tr, NULL, NULL);
    if (!st) st = lm_run_model_create(&spec, tr, &m);
    if (!st) st = lm_trainer_create(m, &oc, &o, 16, &t);
    for (int i = 0; !st && i < 4; i++) st = lm_trainer_step(t, tr->x + i * 16 * 6, tr->y + i * 16, 16, NULL);
    if (!st) st = lm_run_save(out, &spec, t, NULL, NULL);
    lm_trainer_free(t);
    lm_model_free(m);
    lm_dataset_free(tr);
    return st == LM_OK;
}

static void from_run(const char *dir, const char *data)
{
    char out[600];
    snprintf(out, sizeof out, "%s/run", dir);
    CHECK_MSG(write_run(out, data), "%s", lm_error_message());
    lm_probe_request q = {.run = out, .seed = 3, .run_seed = 1, .n = 4, .output = "2"};
    lm_probe_setup s;
    CHECK_MSG(lm_probe_setup_open(&q, &s) == LM_OK, "%s", lm_error_message());
    CHECK(s.run && s.in.model == s.run->model && s.checkpoint == s.run->checkpoint && s.data_seed == 11 && s.output == 2);
    CHECK(s.in.param == LM_PARAM_NTK && s.model && !strcmp(s.model, "dense:5,tanh,dense:3") && s.data && !strcmp(s.data, data));
    char *json = s.run ? lm_probe_setup_json(&s) : NULL;
    cJSON *j = json ? cJSON_Parse(json) : NULL;
    CHECK(j && !strcmp(cJSON_GetObjectItem(j, "model")->valuestring, "dense:5,tanh,dense:3"));
    CHECK(j && !strcmp(cJSON_GetObjectItem(j, "model_spec")->valuestring, lm_model_spec(s.in.model)));
    CHECK(j && !strcmp(cJSON_GetObjectItem(j, "data")->valuestring, data) && !strcmp(cJSON_GetObjectItem(j, "param")->valuestring, "ntk"));
    CHECK(j && cJSON_GetObjectItem(j, "data_seed")->valuedouble == 11 && cJSON_IsFalse(cJSON_GetObjectItem(j, "normalized")));
    CHECK(j && !strcmp(cJSON_GetObjectItem(j, "checkpoint")->valuestring, s.checkpoint));
    cJSON_Delete(j);
    free(json);
    lm_probe_setup_close(&s);
    CHECK(s.run == NULL);
    q.run_seed = 0; /* the data drawn with the request's seed */
    CHECK(lm_probe_setup_open(&q, &s) == LM_OK && s.data_seed == 3);
    lm_probe_setup_close(&s);
    q.output = "3";
    refused(lm_probe_setup_open(&q, &s), "output 3: the model has 3 outputs");
    q.output = NULL, q.model = "dense:4,tanh,dense:3";
    refused(lm_probe_setup_open(&q, &s), "run '");
    q.model = NULL, q.run = dir; /* no run folder */
    CHECK(lm_probe_setup_open(&q, &s) == LM_EINVAL && s.in.model == NULL);
}

/* Classes: 1{class = k}, by the definition on the training split's labels. */
static void targets(const char *data)
{
    lm_probe_request q = {.model = "dense:4,tanh,dense:3", .data = data, .n = 20};
    lm_probe_setup s;
    double *y = NULL;
    CHECK(lm_probe_setup_open(&q, &s) == LM_OK);
    refused(lm_probe_inputs_targets(&s.in, LM_OUTPUT_SUM, &y), "output sum: the model has 3 outputs");
    CHECK(y == NULL);
    for (int k = 0; k < 3 && s.in.train; k++) {
        CHECK(lm_probe_inputs_targets(&s.in, k, &y) == LM_OK);
        int ones = 0;
        for (int i = 0; y && i < 20; i++) {
            double want = (int)s.in.train->y[i] == k ? 1 : 0;
            CHECK(y[i] == want);
            ones += y[i] == 1;
        }
        CHECK(ones < 20); /* not every label is k */
        free(y), y = NULL;
    }
    lm_probe_setup_close(&s);
    q.model = "dense:4,tanh,dense:2"; /* 3 classes, 2 outputs */
    CHECK(lm_probe_setup_open(&q, &s) == LM_OK);
    refused(lm_probe_inputs_targets(&s.in, 0, &y), "data ");
    CHECK(strstr(lm_error_message(), "has 3 classes") != NULL);
    lm_probe_setup_close(&s);

    q.model = "dense:4,tanh,dense:1", q.data = teacher, q.n = 6; /* regression: target 0 */
    CHECK(lm_probe_setup_open(&q, &s) == LM_OK && s.in.train->target_dim == 1);
    CHECK(lm_probe_inputs_targets(&s.in, LM_OUTPUT_SUM, &y) == LM_OK);
    for (int i = 0; y && i < 6; i++) CHECK(y[i] == s.in.train->y[i]);
    free(y), y = NULL;
    lm_probe_setup_close(&s);
    q.model = "dense:4,tanh,dense:2"; /* one target value, two outputs */
    CHECK(lm_probe_setup_open(&q, &s) == LM_OK);
    refused(lm_probe_inputs_targets(&s.in, 1, &y), "data ");
    CHECK(strstr(lm_error_message(), "1 target values per sample but the model has 2 outputs") != NULL);
    lm_probe_setup_close(&s);
}

int main(void)
{
    char dir[256], csv[400], data[500];
    if (!check_make_tmpdir(dir, sizeof dir, "probe_setup")) return check_summary();
    snprintf(csv, sizeof csv, "%s/three.csv", dir);
    snprintf(data, sizeof data, "csv:%s:classes=3", csv);
    CHECK(write_class_csv(csv));
    from_spec();
    from_checkpoint(dir);
    from_run(dir, data);
    targets(data);
    check_remove_tmpdir(dir);
    return check_summary();
}
