/* Training, in two layers.
 *
 * The step (lm_trainer_*): one optimizer step on a batch held in memory, for any program that
 * holds its own data; below.
 *
 * The job (lm_train_run): a data source, epochs over it in an order drawn from the seed,
 * augmentation, evaluation, metrics and checkpoints around the step. A run writes into its
 * folder (run.h): config.json, metrics.jsonl (one JSON object per logged step and per epoch)
 * and checkpoints/last.safetensors (weights, buffers, optimizer state, step, epoch and position
 * in the epoch, the running sums of the metrics; written atomically). Everything random is a
 * pure function of (seed, epoch, step), so a resumed run continues bit-identically to an
 * uninterrupted one with the same seed and thread count. A stop flag polled after every step
 * ends a run early at a clean point with a checkpoint (LM_EINTERRUPTED), from which a resume
 * continues as if nothing had happened. Progress is reported through a callback; the library
 * prints nothing.
 *
 * Under mpirun (lm_dist_size() > 1, see dist.h) lm_train_run is collective: every rank loads the
 * data and holds the model; batch b of the common order (from the seed) is split in contiguous
 * shares, rank r computing samples [b r / R, b (r+1) / R) with dropout and augmentation drawn
 * by the global position, so the masks are those of one process; each rank's gradient is that of
 * its loss sum / b, and the sum over ranks (dist.h, overlap) is the global batch's mean
 * gradient, the same on every rank, so every optimizer steps identically everywhere. Batch norm
 * uses each rank's share (as PyTorch DDP), and its running statistics are rank 0's; with
 * sync_bn it uses the global batch's statistics instead (as torch.nn.SyncBatchNorm, through
 * lm_exec_set_channel_sum and lm_dist_allreduce_f64), and the running statistics are the same
 * on every rank, and those of one process with the whole batch up to rounding. Rank 0 alone
 * writes the run folder; the checkpoint is global, so a run resumes with any number of ranks
 * (rank 0 reads it and sends the state to the others). Evaluation is split across ranks. A
 * failure on one rank is reported on all (lm_dist_agree). */
#ifndef LINMASS_TRAIN_H
#define LINMASS_TRAIN_H

#include "linmass/api.h"

#include <signal.h>
#include <stdint.h>

#include "linmass/data.h"
#include "linmass/dist.h"
#include "linmass/exec.h"
#include "linmass/model.h"
#include "linmass/optim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the training step ----
 *
 * A trainer holds a model (borrowed: it must outlive the trainer), an optimizer over the
 * model's parameters and the scratch memory of batches of up to max_batch samples. Each
 * lm_trainer_step is one optimizer step on a batch held in memory:
 *   - forward and backward in training mode at the optimizer's evaluation point (MaSS's u,
 *     the weights otherwise), dropout masks drawn from (seed, step, position in the batch);
 *   - the loss of opts.loss: cross-entropy on class indices, or the square loss
 *     (1/2b) sum |f(x) - y|^2 on target rows, or on one-hot rows of class indices when
 *     opts.classes > 0 (lm_run_loss gives the rule linmass trains by);
 *   - the optimizer step with the step sizes times the schedule's factor for (epoch, step);
 *     at the start of an epoch where the schedule drops, with optim.restart, the optimizer's
 *     state restarts first (lm_trainer_begin_epoch);
 *   - a loss that is not finite stops with LM_EDIVERGED and a message naming the step.
 * Under mpirun (lm_dist_size() > 1) steps and evaluations are collective: every rank passes the
 * whole batch, computes its contiguous share (lm_dist_share) and the gradients are summed (in
 * buckets during the backward pass with opts.overlap, else in one all-reduce after it), so
 * every rank steps identically; with opts.sync_bn batch norm uses the global batch. */

typedef struct {
    lm_loss_kind loss; /* LM_LOSS_XENT (y: class indices) or LM_LOSS_MSE */
    int classes;       /* > 0: y holds one class index per sample, of this many classes (the
                          model's outputs); 0: y holds rows of the model's output size */
    uint64_t seed;     /* dropout masks are drawn from (seed, step, sample position) */
    int sync_bn;       /* several ranks: batch norm over the global batch (one rank: no effect) */
    int overlap;       /* several ranks: sum the gradients in buckets during the backward pass
                          (1) or in one all-reduce after it (0); the same bits either way in the
                          ordered reduce mode */
} lm_trainer_opts;

/* Cross-entropy with classes, the square loss on target rows without; seed 0, overlap on. */
LM_API void lm_trainer_opts_init(lm_trainer_opts *o, int classes);

typedef struct {
    long step;        /* the step just taken, 0-based, counted over the whole run */
    int b;            /* samples in the (global) batch */
    double loss;      /* mean loss over the batch at the evaluation point, before the step */
    double acc;       /* accuracy over the batch (classes > 0), NAN otherwise */
    double lr_factor; /* the schedule's factor the step used */
} lm_step_info;

typedef struct lm_trainer lm_trainer;

/* A trainer for model m with a new optimizer from *oc over m's parameters (a multistep or
 * cosine schedule counts epochs: set oc->schedule.total_epochs for cosine). Returns LM_EINVAL
 * when the options do not fit the model (classes against outputs, the loss), LM_ENOMEM. */
LM_API lm_status lm_trainer_create(lm_model *m, const lm_optim_config *oc, const lm_trainer_opts *opts,
                            int max_batch, lm_trainer **out);
LM_API void lm_trainer_free(lm_trainer *t);

/* One optimizer step on b samples (1 <= b <= max_batch): x holds b inputs of the model's input
 * shape, y b class indices (opts.classes > 0) or b target rows. info may be NULL.
 * lm_trainer_step_indexed with idx NULL: LM_EINVAL for an RKHS kernel machine. */
LM_API lm_status lm_trainer_step(lm_trainer *t, const float *x, const float *y, int b, lm_step_info *info);

/* lm_trainer_step with idx[i], sample i's index among the model's kernel centres (the training
 * inputs: x_i must be centre idx[i]). An RKHS kernel machine (lm_model_kernel_rkhs) needs them:
 * its gradient is the RKHS gradient (lm_model_rkhs_gradient) at the evaluation point, so the
 * step of plain SGD on the square loss is a_B <- a_B - (eta/m)(f(x_B) - y_B) on the batch's
 * coefficients alone, and momentum, MaSS and Adam act on the whole coefficient vector with that
 * gradient as usual (docs/theory.md §2.1). Under mpirun each rank builds its share's part and
 * the sum over the ranks is the global batch's gradient. Other models ignore idx (may be NULL).
 * LM_EINVAL for idx NULL with an RKHS kernel machine or an index not below its centres. */
LM_API lm_status lm_trainer_step_indexed(lm_trainer *t, const float *x, const float *y, const uint32_t *idx, int b,
                                  lm_step_info *info);

/* Mean loss and accuracy (NAN without classes) of n samples in evaluation mode at the visible
 * weights w, in batches of max_batch; several ranks take contiguous shares (and rank 0's batch
 * norm statistics). */
LM_API lm_status lm_trainer_evaluate(lm_trainer *t, const float *x, const float *y, size_t n, double *loss,
                              double *acc);

/* Where the trainer stands: the next step's number (dropout, warm-up) and epoch (schedule).
 * The step count advances by one per step; the epoch changes only here or at
 * lm_trainer_begin_epoch. A fresh trainer is at step 0 of epoch 0. */
LM_API void lm_trainer_set_position(lm_trainer *t, long step, int epoch);
/* The first step of `epoch` comes next: with optim.restart the optimizer's state restarts when
 * the schedule drops at this epoch (epoch > 0). */
LM_API void lm_trainer_begin_epoch(lm_trainer *t, int epoch);

/* Divergence check of the visible weights (a pass over them, so the caller chooses when):
 * LM_EDIVERGED naming the step when any is NaN or Inf. */
LM_API lm_status lm_trainer_check_weights(lm_trainer *t);

LM_API lm_model *lm_trainer_model(lm_trainer *t);
LM_API lm_optim *lm_trainer_optim(lm_trainer *t);
/* Steps taken (the next step's number). */
LM_API long lm_trainer_step_count(const lm_trainer *t);
LM_API int lm_trainer_epoch(const lm_trainer *t);
/* The visible weights w (the model's parameters): evaluate and save these. */
LM_API float *lm_trainer_weights(lm_trainer *t);

/* ---- the training job ---- */

typedef struct {
    const char *data;   /* data source, e.g. "fashion-mnist" */
    const char *model;  /* spec or preset */
    const char *out;    /* run folder */
    lm_param_kind param;
    lm_optim_config optim;
    int batch;
    int epochs;         /* used when steps == 0 */
    long steps;         /* stop after this many steps (0: run `epochs` whole epochs) */
    uint64_t seed;
    double val_fraction; /* held out of the training split for validation (0: none) */
    int normalize;      /* per-channel standardisation from training-split statistics (never
                           for linear and kernel models, which see the raw inputs) */
    int augment;        /* random 10% shifts and horizontal flips (images) */
    int sync_bn;        /* several ranks: batch norm over the global batch (one rank: no effect) */
    int log_every;      /* metrics line every this many steps */
    long ckpt_every;    /* checkpoint every this many steps as well as at each epoch end (0: epochs only) */
    double ckpt_minutes; /* also checkpoint after a step that ends this many minutes of wall time
                            or more after the last checkpoint (or the start) (0: off) */
    int eval_every;     /* also evaluate on the validation and test splits after every this many
                           steps, with a metrics line (0: at epoch ends only) */
    int resume;         /* continue from OUT/checkpoints/last.safetensors; when there is none yet
                           (a job stopped before its first checkpoint) the run starts from the
                           beginning with a note through `log` */
    const char *init_from; /* initial weights and buffers from this file (a linmass checkpoint or a
                              plain state_dict, see lm_weights_load) instead of the seed's draw
                              (NULL); a resume takes the checkpoint's */
    volatile sig_atomic_t *stop; /* polled after every step (NULL: never): once nonzero the run
                                    checkpoints and returns LM_EINTERRUPTED. Under mpirun the ranks
                                    agree, so every rank stops after the same step: the first
                                    after which any rank's flag was set; then every rank's flag
                                    holds the largest value any rank's held */
    long max_train;     /* use only the first max_train training samples (0: all); for kernel
                           models these are also the centres */
    int auto_samples;   /* optim.auto_hp: the constants come from at most this many samples (and,
                           for kernels, centres) of the training split (at least 1) */
    int overlap;        /* several ranks: sum the gradients in buckets while the backward pass
                           runs (lm_dist_reducer), 1 (the default) or 0 (one all-reduce after
                           it); the same bits either way in the ordered reduce mode */
    const char *config_json; /* the options as given, a JSON object with lm_run_spec's keys,
                                written to OUT/config.json once the run is set up (may be NULL;
                                lm_run_write_config) with an object "resolved" added: "version"
                                (lm_version()), "param", "optimizer" (every hyper-parameter the
                                optimizer steps with, after defaults and auto_hp, the form MaSS
                                steps in, the schedule), "init_from", for linear and kernel models
                                "model_spec" (the expanded alias) and "normalized", and with
                                auto_hp "auto" (the constants behind the choice) */
    void (*log)(const char *line); /* one-line notes for the user, such as auto_hp's choice (may be NULL) */
} lm_train_config;

/* The defaults: every setting's default below (the optimizer sgd with its own defaults). */
LM_API void lm_train_config_init(lm_train_config *c);

/* ---- the settings of a training run, by name ----
 *
 * The table of lm_train_config's settings, from which a front end (the command line, a
 * binding) makes its options: data, model, param, optim, schedule, restart, auto,
 * auto_samples, batch, epochs, steps, seed, out, resume, init_from, val_fraction,
 * no_normalize, augment, log_every, eval_every, ckpt_every, ckpt_minutes, max_train, sync_bn
 * and the optimizer's numbers lr .. kappa_tilde (lm_optim_option_name), in the order of
 * config.json. The optimizer's settings (optim, schedule, restart, auto, lr ...) go to
 * lm_train_config.optim through lm_optim_config_set, so they count as given there. */

/* The type of a setting's value, and of a run's option (run.h, lm_run_option). */
typedef enum { LM_RUN_OPT_FLAG, LM_RUN_OPT_INT, LM_RUN_OPT_U64, LM_RUN_OPT_DOUBLE, LM_RUN_OPT_STRING } lm_run_opt_type;

typedef struct {
    const char *name;     /* "max_train": as lm_train_config_set takes it and messages print it */
    const char *key;      /* "max-train": the name with '-' for '_', config.json's key */
    lm_run_opt_type type; /* FLAG 0/1, INT, U64, DOUBLE or STRING (text) */
    const char *def;      /* the default as text (lm_train_config_init's value); NULL: none (the
                             optimizer's numbers: the optimizer's own default; init_from: none) */
    const char *help;     /* one line: what it sets; another setting it names is in backquotes
                             (`steps`), for a front end to write in its own spelling */
    int defines_run;      /* 1: a resume may not change it (lm_run_defining_key) */
} lm_train_setting;

/* The number of settings, and the i-th (NULL outside 0 .. count-1). */
LM_API int lm_train_setting_count(void);
LM_API const lm_train_setting *lm_train_setting_at(int i);
/* The setting of a name or key ("max_train" or "max-train"); NULL when there is none. */
LM_API const lm_train_setting *lm_train_setting_find(const char *name);

/* Set one setting (name or key) from its text: a whole number, a number, 0/1 (or true/false)
 * for a flag, text kept as the pointer given (it must outlive c; init_from may be NULL);
 * param is standard or ntk, optim an optimizer's name (lm_optim_kind_name: its options given
 * so far are kept, the others take the new optimizer's defaults). LM_EINVAL, c unchanged, for
 * an unknown name, a value that does not parse or is out of the setting's range, with a message
 * that starts with the setting's name and value: "batch 0 must be at least 1". */
LM_API lm_status lm_train_config_set(lm_train_config *c, const char *name, const char *value);

/* The value of a setting as text that lm_train_config_set reads back to the same value (numbers
 * in the fewer of 15 or 17 digits that read back exactly; an unset text ""); returns the length
 * it needed, 0 for an unknown name. */
LM_API size_t lm_train_config_format(const lm_train_config *c, const char *name, char *buf, size_t len);

/* LM_EINVAL with a message that starts with the field's name and value ("batch 0 must be at
 * least 1"): a setting outside its range (batch, epochs and log_every at least 1; steps,
 * ckpt_every, eval_every, ckpt_minutes and max_train not negative; val_fraction in [0, 1)), an
 * out longer than 400 characters, an optimizer configuration that lm_optim_config_validate
 * refuses (its message, on a copy whose cosine schedule lasts `epochs`); and with optim.auto_hp
 * (docs/theory.md §2.2): a model that is not linear or a kernel alias ("auto needs model linear,
 * ..., not 'fcn'"), a step size given ("auto sets the step sizes itself: lr was given": lr,
 * momentum, nesterov, eta1, eta2, gamma, alpha, kappa_tilde), auto_samples below 1.
 * lm_train_run checks this first. */
LM_API lm_status lm_train_config_validate(const lm_train_config *c);

typedef struct {
    int epoch;          /* 0-based epoch the event belongs to */
    int epochs;         /* planned epochs */
    long step, steps_total;
    long epoch_pos, epoch_size; /* samples done in this epoch, of */
    int end_of_epoch;   /* 1: the event ends an epoch (or the run) */
    int evaluated;      /* 1: evaluation results below are fresh (epoch ends, eval_every) */
    double train_loss;  /* running mean over the epoch so far */
    double train_acc;   /* running, classification only */
    double window_loss; /* mean per sample of the step losses since the last metrics line: over the
                           last log_every steps, fewer after an epoch end or an evaluation; the
                           "train_loss" of metrics.jsonl */
    double window_acc;  /* the same for the accuracy, classification only */
    double test_loss, test_acc, val_loss, val_acc; /* NAN when not evaluated */
    double lr;          /* effective step size multiplier times lr */
    double samples_per_sec, elapsed;
} lm_train_event;

typedef void (*lm_train_callback)(void *ctx, const lm_train_event *ev);

typedef struct {
    double train_loss;  /* the running mean over the last epoch (or the part of it run) */
    double test_loss, test_acc, val_loss, val_acc;
    long steps;
    double samples_per_sec, wall_seconds;
    int epochs_done;
    size_t num_params;
    char checkpoint[1024];
    lm_optim_config optim; /* the hyper-parameters the optimizer stepped with, after the
                              defaults and auto_hp */
} lm_train_result;

/* Linear and kernel models (the aliases "linear" and "kernel:TYPE:BW", see lm_model_alias_spec)
 * get K = classes (or target_dim) outputs and, for kernels, the training inputs as centres; they
 * minimise the square loss (1/n) sum_i 1/2 |f(x_i) - y_i|^2 (docs/theory.md §2.1), on one-hot
 * targets for classification data (lm_run_loss). With optim.auto_hp (sgd or mass) the hyper-parameters come from
 * lm_linreg_constants on the model's features (lm_model_linear_features) for the batch size:
 * sgd lr = 1/L_m; mass eta1, eta2, gamma of docs/theory.md §2.2.
 *
 * Train. Returns LM_EINVAL for bad configuration or data, LM_EIO when the run folder cannot be
 * written, LM_EDIVERGED when the loss or the weights stop being finite (the last good
 * checkpoint is kept), LM_EINTERRUPTED when c->stop ended the run (res holds the steps done and
 * the checkpoint written at that point). */
LM_API lm_status lm_train_run(const lm_train_config *c, lm_train_callback cb, void *ctx,
                       lm_train_result *res);

/* Loss and accuracy (NAN without classes) of a model on a data set in evaluation mode, in
 * batches of `batch`; for the square loss on classes the targets are one-hot rows. */
LM_API lm_status lm_evaluate(lm_model *m, const lm_dataset *ds, int batch, lm_loss_kind loss,
                      double *mean_loss, double *accuracy);

/* ---- weights from a file ----
 *
 * A weights file is a linmass checkpoint or a plain state_dict: a safetensors file of tensors
 * alone, as safetensors.torch.save_file(model.state_dict(), f) writes it (tools/export_torch.py;
 * metadata other than linmass's is ignored). Its tensors load by their torch.nn.Sequential
 * state_dict names and shapes into a model built from a spec ("0.weight" F32 [out, in],
 * "1.running_mean", "1.num_batches_tracked" I64 [] ...). A checkpoint's "optim.*" tensors are
 * skipped; "data.mean" and "data.std" (F32 [C], the per-channel standardisation the weights were
 * trained with: the model sees (x - mean) / std) are read when asked for. Any other tensor of
 * the file must be one of the model's, and the model's must all be there with their shapes.
 *
 * The index shift: on image inputs linmass counts the flatten before the first dense layer as a
 * layer of its own (torch.nn.Flatten), so "dense:100,relu,dense:10" names its tensors 1.weight,
 * 1.bias, 3.weight, 3.bias, while a PyTorch MLP that flattens in forward() (x.view(len(x), -1))
 * saves them as 0.weight ... 2.bias. When the file's names are the model's with every leading
 * index lower by the same d > 0, and it holds no other model tensor, it loads under that shift,
 * reported in index_shift. Any other mismatch is LM_EINVAL naming the tensor, listing the file's
 * tensors and the model's and giving the input shape the model was built for; a wrong shape
 * names the tensor and both shapes. */
typedef struct {
    float *mean, *std; /* in: NULL, or `channels` floats each, for data.mean and data.std */
    int channels;
    int has_stats;     /* out: 1 when the file held data.mean and data.std (read into mean, std) */
    int plain;         /* out: 1 for a plain state_dict (no linmass metadata) */
    int index_shift;   /* out: d when the file's tensor "k.x" went into the model's "(k+d).x" */
} lm_weights_load_opts;

/* Load the file's weights and buffers into m (w may be NULL). */
LM_API lm_status lm_weights_load(const char *path, lm_model *m, lm_weights_load_opts *w);

/* lm_weights_load reporting only whether the standardisation was there (mean, std may be NULL). */
LM_API lm_status lm_checkpoint_load_model(const char *path, lm_model *m, float *mean, float *std,
                                   int channels, int *has_stats);

/* What a weights file records about the model it is for, read before the model is built. */
typedef struct {
    int plain;           /* 1: a plain state_dict, which records nothing */
    int has_param;       /* 1: the parameterisation is recorded (metadata "param", which
                            training's checkpoints carry) */
    lm_param_kind param;
} lm_weights_info;

LM_API lm_status lm_weights_info_read(const char *path, lm_weights_info *info);
/* The parameterisation to build the model of weights file path in: `given` ("standard" or "ntk";
 * the file is not read), else the one the file records, else standard, as PyTorch's layers
 * compute; then *assumed (may be NULL) is 1 and *plain (may be NULL) says whether the file is a
 * plain state_dict (else an older checkpoint). LM_EINVAL, starting "param", for another given
 * value. */
LM_API lm_status lm_weights_param(const char *path, const char *given, lm_param_kind *param, int *assumed, int *plain);

#ifdef __cplusplus
}
#endif
#endif
