// ctest-labels: unit
/* lm_probe_inputs_open (run.h) on synthetic data: the inputs are the first n training samples
 * standardised with the training split's channel statistics (computed here on a copy loaded
 * independently), or raw (raw = 1, and for the linear alias); the model is the seed's draw;
 * the test inputs are cut to the split; a checkpoint's own statistics come with its weights;
 * n beyond the split, an unreadable source and a kernel machine without its run are refused. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/io.h"
#include "linmass/run.h"

static const char *const data = "synth:teacher";

static void standardised(void)
{
    lm_probe_inputs_spec s = {.model = "dense:8,tanh,dense:1", .data = data, .param = LM_PARAM_NTK, .seed = 3,
                              .data_seed = 5, .n = 7, .n_test = 4};
    lm_probe_inputs p;
    CHECK(lm_probe_inputs_open(&s, &p) == LM_OK);
    lm_dataset *raw = NULL;
    CHECK(lm_data_load(data, LM_SPLIT_TRAIN, 5, &raw) == LM_OK);
    if (!raw || !p.x) return;
    int ch = raw->shape.c;
    size_t nin = lm_shape_numel(raw->shape), per = nin / ch;
    float *mean = calloc(ch, sizeof *mean), *sd = calloc(ch, sizeof *sd);
    CHECK(lm_dataset_channel_stats(raw, mean, sd) == LM_OK);
    CHECK(p.n == 7 && p.n_test == 4 && p.normalized && !p.alias && p.outputs == 1 && p.x_test && p.owns_model);
    double worst = 0;
    for (size_t i = 0; i < 7 * nin; i++) {
        int c = (int)((i % nin) / per);
        worst = fmax(worst, fabs(p.x[i] - (raw->x[i] - mean[c]) / sd[c]));
    }
    CHECK_MSG(worst <= 1e-6, "standardised inputs differ by %g", worst);
    lm_model *m = NULL;
    CHECK(lm_model_create("dense:8,tanh,dense:1", raw->shape, LM_PARAM_NTK, 3, &m) == LM_OK);
    CHECK(m && !memcmp(lm_model_params(m), lm_model_params(p.model), lm_model_num_params(m) * sizeof(float)));
    lm_model_free(m);
    free(mean), free(sd);
    lm_probe_inputs_close(&p);
    CHECK(p.model == NULL && p.x == NULL);

    s.raw = 1, s.n_test = 1000000; /* raw inputs; the test split cut to its size */
    CHECK(lm_probe_inputs_open(&s, &p) == LM_OK);
    CHECK(!p.normalized && p.test && p.n_test == (int)p.test->n);
    for (size_t i = 0; p.x && i < 7 * nin; i++) CHECK(p.x[i] == raw->x[i]);
    lm_probe_inputs_close(&p);
    lm_dataset_free(raw);
}

/* A checkpoint with its statistics: the weights and the standardisation come from it. */
static void from_checkpoint(void)
{
    char dir[64], path[128];
    if (!check_make_tmpdir(dir, sizeof dir, "probe_inputs")) return;
    snprintf(path, sizeof path, "%s/w.safetensors", dir);
    lm_probe_inputs_spec s = {.model = "dense:4,tanh,dense:1", .data = data, .param = LM_PARAM_STANDARD, .seed = 11, .n = 3};
    lm_probe_inputs a, b;
    CHECK(lm_probe_inputs_open(&s, &a) == LM_OK);
    int ch = a.train->shape.c;
    float *mean = malloc(ch * sizeof *mean), *sd = malloc(ch * sizeof *sd);
    for (int c = 0; c < ch; c++) mean[c] = 0.5f, sd[c] = 2;
    lm_ckpt_tensor t[8];
    int nt = 0;
    for (int i = 0; i < lm_model_num_tensors(a.model) && nt < 6; i++) { /* dense layers: parameters only */
        const lm_tensor_info *ti = lm_model_tensor(a.model, i);
        t[nt] = (lm_ckpt_tensor){ti->name, LM_DT_F32, ti->ndim, {0}, lm_model_params(a.model) + ti->offset};
        for (int k = 0; k < ti->ndim; k++) t[nt].shape[k] = ti->dims[k];
        nt++;
    }
    t[nt++] = (lm_ckpt_tensor){"data.mean", LM_DT_F32, 1, {ch}, mean};
    t[nt++] = (lm_ckpt_tensor){"data.std", LM_DT_F32, 1, {ch}, sd};
    lm_ckpt_info info = {.optimizer = "sgd", .model = "dense:4,tanh,dense:1"};
    CHECK(lm_checkpoint_save(path, &info, t, nt) == LM_OK);
    s.checkpoint = path, s.seed = 99; /* the weights are the file's, not seed 99's */
    CHECK(lm_probe_inputs_open(&s, &b) == LM_OK);
    CHECK(b.normalized && !memcmp(lm_model_params(a.model), lm_model_params(b.model), lm_model_num_params(a.model) * sizeof(float)));
    lm_dataset *raw = NULL;
    CHECK(lm_data_load(data, LM_SPLIT_TRAIN, 0, &raw) == LM_OK);
    for (int i = 0; raw && b.x && i < 3; i++) CHECK_CLOSE(b.x[i], (raw->x[i] - 0.5) / 2, 1e-7);
    lm_dataset_free(raw);
    free(mean), free(sd);
    lm_probe_inputs_close(&a), lm_probe_inputs_close(&b);
    check_remove_tmpdir(dir);
}

static void refused(void)
{
    lm_probe_inputs_spec s = {.model = "dense:4,tanh,dense:1", .data = data, .n = 100000000};
    lm_probe_inputs p;
    CHECK(lm_probe_inputs_open(&s, &p) == LM_EINVAL && p.model == NULL && p.train == NULL);
    s.n = 2, s.data = "csv:/nonexistent/file.csv";
    CHECK(lm_probe_inputs_open(&s, &p) == LM_EINVAL);
    s.data = data, s.model = "kernel:gaussian:1";
    CHECK(lm_probe_inputs_open(&s, &p) == LM_EINVAL);
    s.model = "linear"; /* an alias: raw inputs */
    CHECK(lm_probe_inputs_open(&s, &p) == LM_OK && p.alias && !p.normalized);
    lm_probe_inputs_close(&p);
}

int main(void)
{
    standardised();
    from_checkpoint();
    refused();
    return check_summary();
}
