/* A model's checkpoint tensors: its weights and buffers under their state_dict names, the
 * optimizer's state as "optim.<state>.<name>", the data normalisation as "data.mean" and
 * "data.std". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linmass/io.h"
#include "linmass/train.h"
#include "train/train_internal.h"

static lm_status list_add(lm_ckpt_list *l, const char *name, lm_dtype dt, int ndim, const int64_t *dims, void *data)
{
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        lm_ckpt_tensor *t = realloc(l->t, cap * sizeof *t);
        char **names = realloc(l->names, cap * sizeof *names);
        if (t) l->t = t;
        if (names) l->names = names;
        if (!t || !names) return lm_fail(LM_ENOMEM, "checkpoint: out of memory");
        l->cap = cap;
    }
    lm_ckpt_tensor *t = &l->t[l->n];
    memset(t, 0, sizeof *t);
    l->names[l->n] = strdup(name);
    t->name = l->names[l->n];
    t->dtype = dt;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = dims[i];
    t->data = data;
    l->n++;
    return t->name ? LM_OK : lm_fail(LM_ENOMEM, "checkpoint: out of memory");
}

void lm_ckpt_list_free(lm_ckpt_list *l)
{
    for (int i = 0; i < l->n; i++) free(l->names[i]);
    free(l->names);
    free(l->t);
    free(l->counts);
    memset(l, 0, sizeof *l);
}

static lm_status add_optim_state(lm_ckpt_list *l, lm_model *m, lm_optim *o)
{
    lm_status st = LM_OK;
    for (int s = 0; s < lm_optim_num_state(o) && !st; s++)
        for (int i = 0; i < lm_model_num_tensors(m) && !st; i++) {
            const lm_tensor_info *ti = lm_model_tensor(m, i);
            if (!ti->trainable) continue;
            char name[160];
            snprintf(name, sizeof name, "optim.%s.%s", lm_optim_state_name(o, s), ti->name);
            st = list_add(l, name, LM_DT_F32, ti->ndim, ti->dims, lm_optim_state(o, s) + ti->offset);
        }
    return st;
}

lm_status lm_ckpt_list_model(lm_model *m, lm_optim *o, float *mean, float *std, int channels, lm_ckpt_list *l)
{
    int nt = lm_model_num_tensors(m);
    l->counts = calloc(nt + 1, sizeof *l->counts);
    if (!l->counts) return lm_fail(LM_ENOMEM, "checkpoint: out of memory");
    lm_status st = LM_OK;
    for (int i = 0; i < nt && !st; i++) {
        const lm_tensor_info *ti = lm_model_tensor(m, i);
        float *base = ti->trainable ? lm_model_params(m) : lm_model_buffers(m);
        if (ti->integer) {
            l->counts[i] = (int64_t)base[ti->offset];
            st = list_add(l, ti->name, LM_DT_I64, ti->ndim, ti->dims, &l->counts[i]);
        } else {
            st = list_add(l, ti->name, LM_DT_F32, ti->ndim, ti->dims, base + ti->offset);
        }
    }
    if (o && !st) st = add_optim_state(l, m, o);
    if (mean && !st) {
        int64_t d[1] = {channels};
        st = list_add(l, "data.mean", LM_DT_F32, 1, d, mean);
        if (!st) st = list_add(l, "data.std", LM_DT_F32, 1, d, std);
    }
    return st;
}

void lm_ckpt_list_restore_counts(lm_model *m, const lm_ckpt_list *l)
{
    for (int i = 0; i < lm_model_num_tensors(m); i++) {
        const lm_tensor_info *ti = lm_model_tensor(m, i);
        if (ti->integer) lm_model_buffers(m)[ti->offset] = (float)l->counts[i];
    }
}

lm_status lm_ckpt_save_model(const char *path, const lm_ckpt_info *info, lm_model *m, lm_optim *o, float *mean,
                             float *std, int channels)
{
    lm_ckpt_list l = {0};
    lm_status st = lm_ckpt_list_model(m, o, mean, std, channels, &l);
    if (!st) st = lm_checkpoint_save(path, info, l.t, l.n);
    lm_ckpt_list_free(&l);
    return st;
}

lm_status lm_checkpoint_load_model(const char *path, lm_model *m, float *mean, float *std, int channels,
                                   int *has_stats)
{
    lm_checkpoint *c;
    lm_status st = lm_checkpoint_open(path, &c);
    if (st) return st;
    lm_ckpt_list l = {0};
    st = lm_ckpt_list_model(m, NULL, NULL, NULL, 0, &l);
    if (!st) st = lm_checkpoint_read_all(c, l.t, l.n);
    if (!st) lm_ckpt_list_restore_counts(m, &l);
    int stats = mean && lm_checkpoint_has(c, "data.mean") && lm_checkpoint_has(c, "data.std");
    if (!st && stats) {
        lm_ckpt_tensor ts[2] = {{"data.mean", LM_DT_F32, 1, {channels}, mean},
                                {"data.std", LM_DT_F32, 1, {channels}, std}};
        st = lm_checkpoint_read_all(c, ts, 2);
    }
    if (has_stats) *has_stats = stats;
    lm_ckpt_list_free(&l);
    lm_checkpoint_close(c);
    return st;
}
