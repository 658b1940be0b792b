/* Training, in two layers.
 *
 * The step (lm_trainer_*): one optimizer step on a batch held in memory, for any program that
 * holds its own data; below.
 *
 * The job (lm_train_run): a data source, epochs over it in an order drawn from the seed,
 * augmentation, evaluation, metrics and checkpoints around the step. A run writes into its
 * folder (run.h): config.json, metrics.jsonl (one JSON object per logged step and per epoch)
 * and checkpoints/last.safetensors (weights, buffers, optimizer state, step, epoch and position
 * in the epoch; written atomically). Everything random is a pure function of (seed, epoch,
 * step), so a resumed run continues bit-identically to an uninterrupted one with the same seed
 * and thread count. Progress is reported through a callback; the library prints nothing.
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
void lm_trainer_opts_init(lm_trainer_opts *o, int classes);

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
lm_status lm_trainer_create(lm_model *m, const lm_optim_config *oc, const lm_trainer_opts *opts,
                            int max_batch, lm_trainer **out);
void lm_trainer_free(lm_trainer *t);

/* One optimizer step on b samples (1 <= b <= max_batch): x holds b inputs of the model's input
 * shape, y b class indices (opts.classes > 0) or b target rows. info may be NULL. */
lm_status lm_trainer_step(lm_trainer *t, const float *x, const float *y, int b, lm_step_info *info);

/* Mean loss and accuracy (NAN without classes) of n samples in evaluation mode at the visible
 * weights w, in batches of max_batch; several ranks take contiguous shares (and rank 0's batch
 * norm statistics). */
lm_status lm_trainer_evaluate(lm_trainer *t, const float *x, const float *y, size_t n, double *loss,
                              double *acc);

/* Where the trainer stands: the next step's number (dropout, warm-up) and epoch (schedule).
 * The step count advances by one per step; the epoch changes only here or at
 * lm_trainer_begin_epoch. A fresh trainer is at step 0 of epoch 0. */
void lm_trainer_set_position(lm_trainer *t, long step, int epoch);
/* The first step of `epoch` comes next: with optim.restart the optimizer's state restarts when
 * the schedule drops at this epoch (epoch > 0). */
void lm_trainer_begin_epoch(lm_trainer *t, int epoch);

/* Divergence check of the visible weights (a pass over them, so the caller chooses when):
 * LM_EDIVERGED naming the step when any is NaN or Inf. */
lm_status lm_trainer_check_weights(lm_trainer *t);

lm_model *lm_trainer_model(lm_trainer *t);
lm_optim *lm_trainer_optim(lm_trainer *t);
/* Steps taken (the next step's number). */
long lm_trainer_step_count(const lm_trainer *t);
int lm_trainer_epoch(const lm_trainer *t);
/* The visible weights w (the model's parameters): evaluate and save these. */
float *lm_trainer_weights(lm_trainer *t);

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
    int resume;
    long max_train;     /* use only the first max_train training samples (0: all); for kernel
                           models these are also the centres */
    int auto_samples;   /* optim.auto_hp: the constants come from at most this many samples (and,
                           for kernels, centres) of the training split (<= 0: all) */
    int overlap;        /* several ranks: sum the gradients in buckets while the backward pass
                           runs (lm_dist_reducer), 1 (the default) or 0 (one all-reduce after
                           it); the same bits either way in the ordered reduce mode */
    const char *config_json; /* the options as given, a JSON object with lm_run_spec's keys,
                                written to OUT/config.json once the run is set up (may be NULL;
                                lm_run_write_config); for linear and kernel models with an object
                                "resolved" added: "model_spec" (the expanded alias),
                                "normalized", and "auto" (the hyper-parameters auto_hp chose and
                                the constants behind them) */
    void (*log)(const char *line); /* one-line notes for the user, such as auto_hp's choice (may be NULL) */
} lm_train_config;

void lm_train_config_init(lm_train_config *c);

typedef struct {
    int epoch;          /* 0-based epoch the event belongs to */
    int epochs;         /* planned epochs */
    long step, steps_total;
    long epoch_pos, epoch_size; /* samples done in this epoch, of */
    int end_of_epoch;   /* 1: evaluation results below are fresh */
    double train_loss;  /* running mean over the epoch so far */
    double train_acc;   /* running, classification only */
    double test_loss, test_acc, val_loss, val_acc; /* NAN when not evaluated */
    double lr;          /* effective step size multiplier times lr */
    double samples_per_sec, elapsed;
} lm_train_event;

typedef void (*lm_train_callback)(void *ctx, const lm_train_event *ev);

typedef struct {
    double train_loss, test_loss, test_acc, val_loss, val_acc;
    long steps;
    double samples_per_sec, wall_seconds;
    int epochs_done;
    size_t num_params;
    char checkpoint[1024];
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
 * checkpoint is kept). */
lm_status lm_train_run(const lm_train_config *c, lm_train_callback cb, void *ctx,
                       lm_train_result *res);

/* Loss and accuracy (NAN without classes) of a model on a data set in evaluation mode, in
 * batches of `batch`; for the square loss on classes the targets are one-hot rows. */
lm_status lm_evaluate(lm_model *m, const lm_dataset *ds, int batch, lm_loss_kind loss,
                      double *mean_loss, double *accuracy);

/* Load a checkpoint's weights and buffers (and normalisation statistics, if present, into
 * mean/std of length channels; may be NULL) into a model. */
lm_status lm_checkpoint_load_model(const char *path, lm_model *m, float *mean, float *std,
                                   int channels, int *has_stats);

#ifdef __cplusplus
}
#endif
#endif
