/* Shared plumbing of src/train: checkpoint tensor lists, the targets of the square loss on
 * classes, and the training job's state between its modules. Internal to src/train. */
#ifndef LM_TRAIN_INTERNAL_H
#define LM_TRAIN_INTERNAL_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "linmass/io.h"
#include "linmass/run.h"
#include "linmass/train.h"

/* ---- checkpoint tensors (ckpt_tensors.c) ---- */

typedef struct {
    lm_ckpt_tensor *t;
    int n, cap;
    int64_t *counts; /* integer buffers (num_batches_tracked), converted from float */
    char **names;
} lm_ckpt_list;

/* The model's tensors under their state_dict names, then (o not NULL) the optimizer's state as
 * "optim.<state>.<name>", then (mean not NULL) "data.mean" and "data.std" of `channels`. */
lm_status lm_ckpt_list_model(lm_model *m, lm_optim *o, float *mean, float *std, int channels, lm_ckpt_list *l);
void lm_ckpt_list_free(lm_ckpt_list *l);
/* After a read: the integer buffers back into the model's float buffers. */
void lm_ckpt_list_restore_counts(lm_model *m, const lm_ckpt_list *l);
/* lm_ckpt_list_model's tensors saved to path with info. */
lm_status lm_ckpt_save_model(const char *path, const lm_ckpt_info *info, lm_model *m, lm_optim *o, float *mean,
                             float *std, int channels);

/* ---- targets (evaluate.c) ---- */

/* The targets the loss takes: y itself, or for the square loss on classes the one-hot rows of
 * y's n class indices written into buf (n x k). */
const float *lm_train_targets(lm_loss_kind loss, int classes, const float *y, int n, int k, float *buf);

/* ---- the training job (job*.c) ---- */

typedef struct {
    const lm_train_config *c;
    lm_run_spec spec;  /* c's data, model, param, seed, max_train, val_fraction */
    lm_dataset *train, *val, *test;
    lm_model *m;
    lm_trainer *t;
    int normalize;     /* c->normalize, except for models that see raw inputs (lm_run_raw_inputs) */
    double lr;         /* the resolved step size (lr; mass: eta1), times the schedule in metrics */
    float *mean, *std, *xb, *yb;
    uint32_t *perm;
    char ckpt[1024], metrics[1024];
    FILE *mf;
    cJSON *resolved;   /* config.json's "resolved": "model_spec", "normalized", "auto" */
    int epoch;
    size_t epoch_pos;
    double sum_loss, sum_acc; /* running sums over the current epoch, saved for resumes */
    long seen;
    int rank, ranks;   /* lm_dist: rank 0 alone reads and writes the run folder */
} lm_job;

/* job_setup.c: data, model, trainer and (rank 0) the run folder; and their release. */
lm_status lm_job_setup(lm_job *r);
void lm_job_teardown(lm_job *r);
/* job_state.c: the checkpoint, a resume from it, and rank 0's state sent to every rank. */
lm_status lm_job_save(lm_job *r);
lm_status lm_job_resume(lm_job *r);
lm_status lm_job_sync_ranks(lm_job *r);

#endif
