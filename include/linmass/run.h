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
#include "linmass/report.h"
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

/* The targets of the first n samples of d for a model with k outputs, as doubles in t, by the
 * rule above: for LM_LOSS_XENT n class indices; for LM_LOSS_MSE n rows of k values, one-hot
 * rows for classes (k = d->classes) or the target rows (k = d->target_dim). LM_EINVAL when k
 * does not fit the data or n exceeds its samples. */
LM_API lm_status lm_run_targets(const lm_dataset *d, lm_loss_kind loss, int n, int k, double *t);
/* One scalar target per sample for output `output` (0-based), as the square loss on that output
 * alone sees it: 1{class = output} for classes, else the regression target `output`. LM_EINVAL
 * when output is not an output of the data or n exceeds its samples. */
LM_API lm_status lm_run_output_targets(const lm_dataset *d, int n, int output, double *y);

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

/* ---- resuming a run: its recorded options ---- */

/* lm_run_opt_type: train.h */

/* One option of a run as the caller holds it. */
typedef struct {
    const char *key;      /* its config.json key: "batch", "max-train", "lr", ... */
    lm_run_opt_type type; /* of *value: int (FLAG, 0 or 1; INT), uint64_t, double, const char * */
    void *value;
    int given;            /* 1: set by the caller (checked against the run); 0: taken from the
                             run when it records a value (and then set to 1) */
} lm_run_option;

/* The options as config.json records them: a JSON object (cJSON_Print's indented text, in *out,
 * free() it) of opts[0..n) in order, each under its key: a flag as true or false, a number (a
 * uint64_t as a double), a text; null when its value is NULL (no value) or a text option's
 * string is NULL. `given` is not looked at. lm_run_resume_options reads such an object back.
 * LM_ENOMEM when out of memory (*out NULL). */
LM_API lm_status lm_run_options_json(const lm_run_option *opts, int n, char **out);

/* The config.json keys of the settings that define a run (lm_train_setting.defines_run: data,
 * model, param, optim, seed, batch, ...): a resume may not change them; the i-th, NULL past the
 * last. */
LM_API const char *lm_run_defining_key(int i);

/* The recorded options that a resume continues with (opaque; owns the strings taken). */
typedef struct lm_run_recorded lm_run_recorded;

/* The options of a resume of the run in dir from its config.json (lm_run_read_options), in
 * order: one not given takes the recorded value (missing or null: left as it is; a number
 * written as text is read for a double); one given that defines the run (lm_run_defining_key)
 * must equal the recorded value (missing: no value). *held owns the strings taken (free it
 * with lm_run_recorded_free, also after a failure; NULL when dir has no config.json, which
 * takes nothing). LM_EINVAL, naming the file, key and value, for a recorded value of another
 * type, or for a given run-defining option with another value: then *conflict is its index
 * (else -1). */
LM_API lm_status lm_run_resume_options(const char *dir, lm_run_option *opts, int n, int *conflict, lm_run_recorded **held);
LM_API void lm_run_recorded_free(lm_run_recorded *held);

/* Training's curve of one metric: (x, y) = (the number under xkey, the number under key) of
 * every line of dir/metrics.jsonl that holds both (keys such as "epoch", "step", "elapsed";
 * "train_loss", "test_acc", ...), in the file's order, into *x and *y (malloc'ed, n values
 * each, free() both; NULL when n is 0). Keys match ignoring case; a line that is no JSON is
 * skipped. LM_EIO when the file cannot be opened. */
LM_API lm_status lm_run_read_metric(const char *dir, const char *key, const char *xkey, double **x, double **y, int *n);

/* Training's figures of run folder dir, added to r (report.h) as data for the caller to draw:
 * "loss.png" (log y axis) and "accuracy.png", each with the curves "train", "validation" and
 * "test" of "train_loss", "val_loss", "test_loss" (or "_acc") against "epoch" (colours 1, 2,
 * 3; validation and test with markers up to 60 values), a figure only when one of its curves
 * holds a value. LM_EIO when dir has no metrics.jsonl; r's status otherwise. */
LM_API lm_status lm_run_training_figures(const char *dir, lm_report *r);

/* One metric of several run folders on one figure (as `linmass plot` overlays them). */
typedef struct {
    const char *key;           /* the metrics.jsonl key: "train_loss", "test_acc", ... */
    const char *x;             /* the x axis: "epoch" (also NULL), "step", or "time" (the
                                  "elapsed" seconds) */
    const char *title;         /* NULL: the key */
    const char *const *labels; /* legend entries, one per folder; NULL: the folders' base names */
    int linear;                /* 1: a linear y axis; 0: a log y axis when key holds "loss" */
} lm_run_metric_plot;

/* The figure "compare.png" of p->key against p->x of the n run folders dirs, added to r
 * (report.h) as data for the caller to draw: one curve per folder in order (lm_run_read_metric),
 * labelled, with markers up to 60 values (a line beyond); titled p->title, the y axis labelled
 * with the key, the x axis "epoch", "step" or "time (s)". LM_EINVAL naming the field or folder
 * at fault: "x: 'X' is not epoch, step or time", "DIR: no such folder", "DIR holds no
 * metrics.jsonl (not a run folder?)", "DIR/metrics.jsonl holds no 'KEY' values against 'XKEY'"
 * (XKEY the metrics.jsonl key: epoch, step, elapsed); nothing is added then. r's status
 * otherwise. */
LM_API lm_status lm_run_metric_figure(const char *const *dirs, int n, const lm_run_metric_plot *p, lm_report *r);

/* Open run folder dir: its config.json and checkpoints/last.safetensors. LM_EINVAL when dir is
 * no run folder or its checkpoint does not fit its model. */
LM_API lm_status lm_run_open(const char *dir, lm_run **out);
/* The same for a weights file (a checkpoint or a plain state_dict: lm_weights_load) and a spec
 * given by hand (no folder). */
LM_API lm_status lm_run_open_checkpoint(const lm_run_spec *spec, const char *checkpoint, lm_run **out);
LM_API void lm_run_close(lm_run *r);

/* ---- a probe's inputs ---- */

/* What a probe (probe.h) looks at: a model, random or with trained weights, and the first n
 * training samples of a data source as the model sees them. */
typedef struct {
    const char *model;      /* spec, preset or alias (lm_model_alias_spec); a kernel machine
                             * only with run, which holds its centres */
    const char *data;       /* the source (lm_data_load) */
    const char *checkpoint; /* weights (lm_weights_load); NULL: a random init from seed */
    const lm_run *run;      /* an opened run (borrowed): its model, weights and standardisation
                             * instead of model and checkpoint's; NULL: none */
    lm_param_kind param;    /* of a model created here */
    uint64_t seed;          /* of the random init */
    uint64_t data_seed;     /* of synthetic data and the splits */
    int n;                  /* training inputs, at least 1 */
    int n_test;             /* test-split inputs wanted (0: none; fewer when the split is smaller) */
    int raw;                /* 1: no standardisation of a random init (a checkpoint's or a run's
                             * own statistics still apply) */
} lm_probe_inputs_spec;

typedef struct {
    lm_dataset *train, *test; /* the splits, standardised when normalized (test NULL: none) */
    lm_model *model;          /* the run's, or created (and owned) here */
    double *x, *x_test;       /* n training and n_test test inputs, float64, row-major */
    int n, n_test;
    int outputs;              /* the model's outputs */
    int alias;                /* the model is a linear or kernel alias (raw inputs, square loss) */
    int normalized;           /* 1: the inputs are standardised per channel: with a checkpoint's
                               * or run's statistics, else (random init, not raw) the training
                               * split's */
    int index_shift;          /* the checkpoint's layer numbering (lm_weights_load_opts) */
    int owns_model;
    char *data, *checkpoint;  /* the source and the weights file (copies; checkpoint NULL: a
                               * random init), as a probe's report names them */
    lm_param_kind param;      /* the model's parameterization: the run's or the spec's */
} lm_probe_inputs;

/* Load the data, build or take the model, load the weights, standardise and convert the inputs;
 * LM_EINVAL for a source that cannot be read, an n beyond the training split, weights that do
 * not fit. On failure *p is empty. */
LM_API lm_status lm_probe_inputs_open(const lm_probe_inputs_spec *s, lm_probe_inputs *p);
LM_API void lm_probe_inputs_close(lm_probe_inputs *p);

/* What a probe's report says about its inputs. The two lines its summary starts with, into buf
 * (snprintf's return): "model SPEC (P parameters, ntk|standard parameterization, CHECKPOINT or
 * random init)" and "inputs: the first N training samples of DATA[, standardised]". */
LM_API int lm_probe_inputs_describe(const lm_probe_inputs *p, char *buf, size_t len);
/* Output `output` (k, or LM_OUTPUT_SUM) in words: "output k of K", "sum over K outputs", or "the
 * output" (the sum of one); buf is returned. */
LM_API const char *lm_probe_inputs_output_name(const lm_probe_inputs *p, int output, char *buf, size_t len);
/* The keys a probe's result starts with, as JSON object text (malloc'ed; NULL when out of
 * memory): model (the spec), num_params, param, data, inputs, output ("sum" or k) and
 * checkpoint (null: a random init). */
LM_API char *lm_probe_inputs_json(const lm_probe_inputs *p, int output);

/* ---- a probe's inputs resolved from a run folder, a checkpoint or a model spec ---- */

/* What a probe is asked to look at, before anything is opened. */
typedef struct {
    const char *run;        /* a training run folder (lm_run_open): the model, data,
                             * parameterisation, checkpoint and standardisation are its own, and
                             * model, data, checkpoint and param must be NULL; NULL: none */
    const char *model;      /* without run: spec, preset or alias */
    const char *data;       /* without run: the source (lm_data_load) */
    const char *checkpoint; /* without run: weights (lm_weights_load); NULL: a random init */
    const char *param;      /* without run: "ntk" or "standard"; NULL: the one the checkpoint
                             * records (standard when it records none), ntk for a random init */
    uint64_t seed;          /* of a random init, and of synthetic data and the splits */
    int run_seed;           /* with run: 1 draws the data with the run's seed instead of seed */
    int n;                  /* training inputs, at least 1 */
    int n_test;             /* test-split inputs wanted, 0 or more */
    int raw;                /* as lm_probe_inputs_spec's */
    const char *output;     /* the output probed: "sum" or k (0-based); NULL: sum */
} lm_probe_request;

/* What a request resolved to. */
typedef struct {
    lm_probe_inputs in;
    lm_run *run;            /* the opened run folder (owned), or NULL */
    int output;             /* k, or LM_OUTPUT_SUM (probe.h) */
    const char *model, *data, *checkpoint; /* the request's or the run's (borrowed); checkpoint
                             * NULL: a random init */
    uint64_t data_seed;     /* the data's seed: the request's, or with run_seed the run's */
    int param_assumed;      /* 1: the checkpoint records no parameterisation: standard taken */
    int plain;              /* 1: the checkpoint is a plain state_dict (lm_weights_info) */
} lm_probe_setup;

/* Resolve q and open its inputs (lm_probe_inputs_open): q->output checked against the model's
 * outputs. LM_EINVAL with a message that starts with the field at fault: "n 0 must be at least
 * 1", "n_test -1 ...", "param 'x' is not standard or ntk", "output: 'x' is not sum or an
 * output index", "output 3: the model has 2 outputs (0..1, or sum)", "run 'DIR': ..." (a field
 * given with run); and lm_run_open's and lm_probe_inputs_open's failures. On failure *s is
 * empty. */
LM_API lm_status lm_probe_setup_open(const lm_probe_request *q, lm_probe_setup *s);
LM_API void lm_probe_setup_close(lm_probe_setup *s);

/* What s resolved to, as JSON object text (malloc'ed; NULL when out of memory): model (as
 * given or the run's), model_spec, data, param, data_seed, checkpoint (only with one) and
 * normalized. */
LM_API char *lm_probe_setup_json(const lm_probe_setup *s);

/* One scalar target per input of p for output `output` (k, or LM_OUTPUT_SUM for a model of one
 * output): the regression target k, or 1{class = k} on classes (lm_run_output_targets), into *y
 * (malloc'ed, p->n values). LM_EINVAL when the model does not fit: "output sum: the model has 3
 * outputs ...", classes other than the model's outputs, or targets of another width. */
LM_API lm_status lm_probe_inputs_targets(const lm_probe_inputs *p, int output, double **y);

/* config.json in folder dir, atomically: the JSON object `options` (text: the settings as
 * given, with lm_run_spec's keys) and after its members those of the JSON object `derived`
 * (text, e.g. {"command": ..., "resolved": {...}}; NULL or {} for none, when the options text
 * is written as it is). */
LM_API lm_status lm_run_write_config(const char *dir, const char *options, const char *derived);

/* result.json (the JSON text `result`) and report.md (markdown text) in folder dir,
 * atomically. */
LM_API lm_status lm_run_write_result(const char *dir, const char *result, const char *report);

/* What lm_run_write_report writes of a report besides its body. */
typedef struct {
    const char *title;           /* report.md's heading: "# TITLE" */
    const char *options;         /* config.json: the options as given (JSON object text) */
    const char *command;         /* config.json's "command" (NULL: none) */
    const lm_probe_setup *setup; /* config.json's "resolved": lm_probe_setup_json (NULL: none) */
    const char *result;          /* result.json: JSON text, written indented */
    lm_report_draw_fn draw;      /* draws a figure into DIR/plots/FILE (NULL: none is drawn) */
    void *ctx;                   /* draw's */
} lm_run_report_spec;

/* The run folder dir of report r: each figure drawn by s->draw into DIR/plots/FILE, then
 * config.json (lm_run_write_config: s->options with "command" and "resolved" after them),
 * result.json (s->result, indented) and report.md: "# TITLE", each text block of r in a ```
 * code block and each drawn figure as ![CAPTION](plots/FILE) (CAPTION: FILE when it has none),
 * a figure not drawn left out. *summary (malloc'ed; NULL on failure) is what a command prints
 * of it: the text blocks as they are, "plot: DIR/plots/FILE" for each drawn figure and "run
 * folder: DIR", each on its own line. LM_EINVAL when s->result is not JSON, or options not a
 * JSON object; LM_EIO when a file cannot be written. */
LM_API lm_status lm_run_write_report(const char *dir, const lm_report *r, const lm_run_report_spec *s, char **summary);

/* The hyper-parameters an optimizer configuration steps with, "lr 0.05, momentum 0, ...": its
 * kind's options in the table's order with their names (lm_optim_option_name) and values to 6
 * digits; for mass those of the form it steps in; never the schedule, restart or auto. */
LM_API void lm_run_format_hparams(const lm_optim_config *oc, char *buf, size_t len);

/* c->out/report.md of a finished training run (c as given to lm_train_run, r its result): the
 * settings (data, model and parameters, optimizer with lm_run_format_hparams, schedule, batch,
 * steps, seed, version) and the measured losses, accuracy and speed; with plotted, links to
 * plots/loss.png and plots/accuracy.png. Atomically; LM_EIO when it cannot be written. */
LM_API lm_status lm_run_write_train_report(const lm_train_config *c, const lm_train_result *r, int plotted);

/* The summary of a finished training run as one JSON object in *json (malloc'ed): "train_loss",
 * "test_loss", "test_acc" (classes only), "val_loss" (with a validation split), "steps",
 * "samples_per_sec", "wall_seconds", "num_params", "ranks", with several ranks
 * "allreduce_ms_per_step" and "allreduce_bytes_per_step" (lm_dist_get_stats), "run" (c->out)
 * and "checkpoint". */
LM_API lm_status lm_train_result_json(const lm_train_config *c, const lm_train_result *r, char **json);

/* What an evaluation of a model on a test split measured. */
typedef struct {
    double test_loss; /* the mean loss (the run's loss kind) */
    double test_acc;  /* the accuracy; NAN without classes */
    size_t n;         /* test samples */
} lm_run_eval;

/* The test split of opened run r (its model, loss and standardisation) evaluated in batches of
 * `batch` (lm_evaluate) into *out. */
LM_API lm_status lm_run_evaluate(lm_run *r, int batch, lm_run_eval *out);
/* e as `linmass eval` prints it, in *text (malloc'ed, no newline at the end): with json one JSON
 * object with "test_loss", "test_acc" (classes only) and "n"; else "test loss L" (6 decimals)
 * and with classes "  accuracy A  (N samples)" (4 decimals) after it. */
LM_API lm_status lm_run_eval_summary(const lm_run_eval *e, int json, char **text);

/* A run folder that lm_run_open reads back, from a trainer: config.json with spec's keys (the
 * model as spec->model, or the trainer's model spec when NULL) and checkpoints/last.safetensors
 * with the weights, buffers, optimizer state and step, and the standardisation (mean and std
 * per input channel; both NULL: raw inputs). */
LM_API lm_status lm_run_save(const char *dir, const lm_run_spec *spec, lm_trainer *t, const float *mean, const float *std);

#ifdef __cplusplus
}
#endif
#endif
