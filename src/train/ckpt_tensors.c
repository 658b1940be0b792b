/* A model's checkpoint tensors: its weights and buffers under their state_dict names, the
 * optimizer's state as "optim.<state>.<name>", the data normalisation as "data.mean" and
 * "data.std". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linmass/io.h"
#include "linmass/train.h"
#include "linmass/version.h"
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

cJSON *lm_hparams_object(const lm_optim_config *c)
{
    cJSON *o = cJSON_CreateObject();
    unsigned opts = lm_optim_kind_options(c->kind);
    cJSON_AddStringToObject(o, "kind", lm_optim_kind_name(c->kind));
    for (unsigned bit = 1; bit < (1u << LM_OPT_COUNT); bit <<= 1) {
        char text[256];
        if (!(opts & bit) || bit == LM_OPT_AUTO) continue;
        lm_optim_config_format(c, bit, text, sizeof text);
        const char *name = lm_optim_option_name(bit);
        if (bit == LM_OPT_SCHEDULE) cJSON_AddStringToObject(o, name, text);
        else if (bit == LM_OPT_NESTEROV || bit == LM_OPT_RESTART) cJSON_AddBoolToObject(o, name, text[0] == '1');
        else cJSON_AddNumberToObject(o, name, strtod(text, NULL));
    }
    if (c->kind == LM_OPTIM_MASS) cJSON_AddStringToObject(o, "form", c->mass_form == LM_MASS_ETA ? "eta1, eta2, gamma" : "lr, alpha, kappa_tilde");
    if (c->schedule.kind == LM_SCHED_COSINE) cJSON_AddNumberToObject(o, "schedule_epochs", c->schedule.total_epochs);
    if (c->auto_hp) cJSON_AddBoolToObject(o, "auto", 1);
    return o;
}

lm_status lm_ckpt_save_run(const char *path, lm_ckpt_info *info, lm_kv *extra, int n_extra, lm_model *m, lm_optim *o,
                           lm_param_kind param, float *mean, float *std, int channels)
{
    char *hp = lm_hparams_text(lm_optim_hparams(o));
    if (!hp) return lm_fail(LM_ENOMEM, "checkpoint: out of memory");
    extra[n_extra++] = (lm_kv){"param", param == LM_PARAM_NTK ? "ntk" : "standard"};
    extra[n_extra++] = (lm_kv){"linmass_version", lm_version()};
    info->optimizer = lm_optim_kind_name(lm_optim_hparams(o)->kind);
    info->optim_json = hp;
    info->model = lm_model_spec(m);
    info->extra = extra;
    info->n_extra = n_extra;
    lm_status st = lm_ckpt_save_model(path, info, m, o, mean, std, channels);
    free(hp);
    return st;
}

char *lm_hparams_text(const lm_optim_config *c)
{
    cJSON *o = lm_hparams_object(c);
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return text;
}
