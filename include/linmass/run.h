/* The run folder: written by training (lm_train_run, lm_run_save) and by the probes, read back
 * by every tool that looks at a trained model (evaluation, probes, reproductions).
 *
 *   DIR/config.json                   the settings: the options as given, with the keys of
 *                                     lm_run_spec among them, and what the run derived from
 *                                     them ("resolved")
 *   DIR/checkpoints/last.safetensors  weights and buffers, optimizer state, and "data.mean" /
 *                                     "data.std" when the inputs were standardised
 *   DIR/metrics.jsonl, plots/         training's curves
 *   DIR/result.json, report.md        the measured results
 *
 * config.json is written by lm_run_write_config alone and read by lm_run_open alone. Opening a
 * run rebuilds what the checkpoint does not hold exactly as training chose it: the aliases
 * "linear" and "kernel:TYPE:BW" expanded for the data, a kernel machine's centres (the
 * training inputs after max_train and the validation hold-out), the loss (lm_run_loss). */
#ifndef LINMASS_RUN_H
#define LINMASS_RUN_H

#include "linmass/api.h"


#include <stdint.h>

#include "linmass/data.h"
#include "linmass/model.h"
#include "linmass/train.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a run trained on; the config.json keys in quotes. */
typedef struct {
    const char *data;    /* "data": the data source (lm_data_load) */
    const char *model;   /* "model": spec, preset or alias, as given */
    lm_param_kind param; /* "param": "standard" or "ntk" */
    uint64_t seed;       /* "seed": of synthetic data and of the initial weights */
    long max_train;      /* "max-train": only the first max_train training samples (0: all) */
    double val_fraction; /* "val-fraction": held out of the training split for validation */
} lm_run_spec;

/* fashion-mnist, fcn, standard parameterisation, seed 0, all samples, no validation. */
LM_API void lm_run_spec_init(lm_run_spec *s);

/* The targets rule: the loss `model` trains on for data with `classes` classes (0: targets
 * rows). Cross-entropy on classes, except for the linear and kernel aliases, which minimise
 * the square loss (1/n) sum_i 1/2 |f(x_i) - y_i|^2 (docs/theory.md §2.1), on one-hot rows for
 * classes; the square loss on target rows. */
LM_API lm_loss_kind lm_run_loss(const char *model, int classes);

/* 1 when `model` is a linear or kernel alias: such models see their inputs raw (no bias, so a
 * standardisation would break interpolation and change H). */
LM_API int lm_run_raw_inputs(const char *model);

/* The data as training sees it, each of train, val and test NULL to skip it: the splits of
 * s->data drawn with s->seed; the training split cut to its first max_train samples, then
 * val_fraction of it held out into *val (NULL when val_fraction is 0). No standardisation.
 * A source that cannot be read is bad input (LM_EINVAL). */
LM_API lm_status lm_run_load_data(const lm_run_spec *s, lm_dataset **train, lm_dataset **val, lm_dataset **test);

/* A new model for s on data like `train` (its shape, classes or targets and, for the kernel
 * alias, size): aliases expanded (lm_model_alias_spec), weights from s->seed in s->param, and
 * for a model with a kernel layer train's inputs as its centres. */
LM_API lm_status lm_run_model_create(const lm_run_spec *s, const lm_dataset *train, lm_model **out);

/* An opened run. Everything belongs to it: read-only, freed by lm_run_close. */
typedef struct {
    lm_run_spec spec;
    const char *dir;        /* NULL for lm_run_open_checkpoint */
    const char *checkpoint; /* the checkpoint's path */
    lm_model *model;        /* weights and buffers from the checkpoint, kernel centres rebuilt */
    lm_loss_kind loss;      /* lm_run_loss(spec.model, test->classes) */
    int normalized;         /* 1: inputs are standardised with mean and std */
    float *mean, *std;      /* per input channel; NULL unless normalized */
    lm_dataset *test;       /* the test split as the model sees it (standardised if normalized) */
    int plain;              /* 1: the weights are a plain state_dict (train.h, lm_weights_load) */
    int index_shift;        /* the file's layers were numbered this much lower (lm_weights_load) */
} lm_run;

/* 1 when folder dir holds (part of) a run: a config.json, a metrics.jsonl or a checkpoint. */
LM_API int lm_run_exists(const char *dir);

/* The options a run was started with: config.json's object without "resolved", as JSON text in
 * *out (free() it); *out is NULL when dir has no config.json. LM_EINVAL when it is no JSON
 * object. */
LM_API lm_status lm_run_read_options(const char *dir, char **out);

/* Training's curve of one metric: (x, y) = (the number under xkey, the number under key) of
 * every line of dir/metrics.jsonl that holds both (keys such as "epoch", "step", "elapsed";
 * "train_loss", "test_acc", ...), in the file's order, into *x and *y (malloc'ed, n values
 * each, free() both; NULL when n is 0). Keys match ignoring case; a line that is no JSON is
 * skipped. LM_EIO when the file cannot be opened. */
LM_API lm_status lm_run_read_metric(const char *dir, const char *key, const char *xkey, double **x, double **y, int *n);

/* Open run folder dir: its config.json and checkpoints/last.safetensors. LM_EINVAL when dir is
 * no run folder or its checkpoint does not fit its model. */
LM_API lm_status lm_run_open(const char *dir, lm_run **out);
/* The same for a weights file (a checkpoint or a plain state_dict: lm_weights_load) and a spec
 * given by hand (no folder). */
LM_API lm_status lm_run_open_checkpoint(const lm_run_spec *spec, const char *checkpoint, lm_run **out);
LM_API void lm_run_close(lm_run *r);

/* config.json in folder dir, atomically: the JSON object `options` (text: the settings as
 * given, with lm_run_spec's keys) and after its members those of the JSON object `derived`
 * (text, e.g. {"command": ..., "resolved": {...}}; NULL or {} for none, when the options text
 * is written as it is). */
LM_API lm_status lm_run_write_config(const char *dir, const char *options, const char *derived);

/* result.json (the JSON text `result`) and report.md (markdown text) in folder dir,
 * atomically. */
LM_API lm_status lm_run_write_result(const char *dir, const char *result, const char *report);

/* A run folder that lm_run_open reads back, from a trainer: config.json with spec's keys (the
 * model as spec->model, or the trainer's model spec when NULL) and checkpoints/last.safetensors
 * with the weights, buffers, optimizer state and step, and the standardisation (mean and std
 * per input channel; both NULL: raw inputs). */
LM_API lm_status lm_run_save(const char *dir, const lm_run_spec *spec, lm_trainer *t, const float *mean, const float *std);

#ifdef __cplusplus
}
#endif
#endif
