/* Weights from a file (train.h): a linmass checkpoint or a plain state_dict loaded into a model
 * by state_dict names, with the one systematic renaming tolerated (a uniform shift of the layer
 * index) and messages that show both sides of any other mismatch. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linmass/io.h"
#include "linmass/train.h"
#include "train/train_internal.h"

/* Tensors of a checkpoint that are not the model's: the optimizer's state and the data's
 * standardisation. */
static int foreign_prefix(const char *name) { return !strncmp(name, "optim.", 6) || !strncmp(name, "data.", 5); }

/* "12.weight" -> 12 and the rest ".weight"; -1 without a leading index. */
static long leading_index(const char *name, const char **rest)
{
    if (!isdigit((unsigned char)name[0])) return -1;
    char *end;
    long k = strtol(name, &end, 10);
    *rest = end;
    return *end == '.' ? k : -1;
}

/* The file's name for model tensor `name` under shift d: "(k-d).rest". */
static void shifted(const char *name, int d, char *buf, size_t len)
{
    const char *rest;
    long k = leading_index(name, &rest);
    if (d == 0 || k < d) snprintf(buf, len, "%s", name);
    else snprintf(buf, len, "%ld%s", k - d, rest);
}

static int file_model_tensors(const lm_st_file *f)
{
    int n = 0;
    for (int i = 0; i < lm_st_count(f); i++) n += !foreign_prefix(lm_st_at(f, i)->name);
    return n;
}

/* 1 when every model tensor is in the file under shift d and the file holds no other. */
static int maps_onto(const lm_st_file *f, const lm_ckpt_list *l, int d)
{
    char name[160];
    for (int i = 0; i < l->n; i++) {
        const char *rest;
        if (d > 0 && leading_index(l->t[i].name, &rest) < d) return 0;
        shifted(l->t[i].name, d, name, sizeof name);
        if (!lm_st_find(f, name)) return 0;
    }
    return file_model_tensors(f) == l->n;
}

/* The shift between the lowest leading index of the model's names and of the file's. */
static int candidate_shift(const lm_st_file *f, const lm_ckpt_list *l)
{
    long lo_m = -1, lo_f = -1;
    const char *rest;
    for (int i = 0; i < l->n; i++) {
        long k = leading_index(l->t[i].name, &rest);
        if (k >= 0 && (lo_m < 0 || k < lo_m)) lo_m = k;
    }
    for (int i = 0; i < lm_st_count(f); i++) {
        long k = leading_index(lm_st_at(f, i)->name, &rest);
        if (k >= 0 && (lo_f < 0 || k < lo_f)) lo_f = k;
    }
    return lo_m > lo_f && lo_f >= 0 ? (int)(lo_m - lo_f) : 0;
}

/* "0.weight [16, 9], 0.bias [16], ... (14 in all)" */
static void list_names(char *buf, size_t len, int n, const char *(*name)(const void *, int),
                       void (*shape)(const void *, int, char *, size_t), const void *src)
{
    size_t k = 0;
    buf[0] = '\0';
    int shown = n < 12 ? n : 12;
    for (int i = 0; i < shown && k < len; i++) {
        char s[96];
        shape(src, i, s, sizeof s);
        k += (size_t)snprintf(buf + k, len - k, "%s%s %s", i ? ", " : "", name(src, i), s);
    }
    if (n > shown && k < len) snprintf(buf + k, len - k, ", ... (%d in all)", n);
    if (n == 0) snprintf(buf, len, "nothing");
}

static const char *file_name(const void *src, int i)
{
    const lm_st_file *f = src;
    for (int j = 0, seen = 0; j < lm_st_count(f); j++)
        if (!foreign_prefix(lm_st_at(f, j)->name) && seen++ == i) return lm_st_at(f, j)->name;
    return "?";
}

static void file_shape(const void *src, int i, char *buf, size_t len)
{
    const lm_st_tensor *t = lm_st_find(src, file_name(src, i));
    lm_format_shape(buf, len, t ? t->ndim : 0, t ? t->shape : NULL);
}

static const char *model_name(const void *src, int i) { return ((const lm_ckpt_list *)src)->t[i].name; }

static void model_shape(const void *src, int i, char *buf, size_t len)
{
    const lm_ckpt_tensor *t = &((const lm_ckpt_list *)src)->t[i];
    lm_format_shape(buf, len, t->ndim, t->shape);
}

static const char *input_shape(const lm_model *m, char *buf, size_t len)
{
    lm_shape s = lm_model_input_shape(m);
    int64_t d[3] = {s.c, s.h, s.w};
    return lm_format_shape(buf, len, 3, d);
}

/* The names do not match under any shift: what the file holds against what the model wants. */
static lm_status name_mismatch(const char *path, const lm_st_file *f, const lm_ckpt_list *l, lm_model *m)
{
    const char *first = NULL;
    for (int i = 0; i < l->n && !first; i++)
        if (!lm_st_find(f, l->t[i].name)) first = l->t[i].name;
    char what[200], have[400], want[400], in[64];
    if (first) {
        snprintf(what, sizeof what, "tensor '%s' is missing", first);
    } else {
        for (int i = 0; i < lm_st_count(f) && !first; i++)
            if (!foreign_prefix(lm_st_at(f, i)->name) && !lm_model_find_tensor(m, lm_st_at(f, i)->name)) first = lm_st_at(f, i)->name;
        snprintf(what, sizeof what, "tensor '%s' is not one of the model's", first ? first : "?");
    }
    list_names(have, sizeof have, file_model_tensors(f), file_name, file_shape, f);
    list_names(want, sizeof want, l->n, model_name, model_shape, l);
    return lm_fail(LM_EINVAL, "%s: %s; the file holds %s; model '%s' (built for inputs %s) expects %s", path, what, have,
                   lm_model_spec(m), input_shape(m, in, sizeof in), want);
}

/* Every model tensor from its (shifted) name in the file. */
static lm_status read_model(const lm_checkpoint *c, const lm_ckpt_list *l, int d, lm_model *m)
{
    for (int i = 0; i < l->n; i++) {
        char name[160], in[64];
        lm_ckpt_tensor t = l->t[i];
        shifted(t.name, d, name, sizeof name);
        t.name = name;
        lm_status st = lm_checkpoint_read(c, &t);
        if (!st) continue;
        char msg[1024], shift[160] = "";
        snprintf(msg, sizeof msg, "%s", lm_error_message());
        if (d) snprintf(shift, sizeof shift, "the file numbers its layers %d lower than the model, so it goes into '%s'; ", d, l->t[i].name);
        return lm_fail(st, "%s (%smodel '%s' built for inputs %s)", msg, shift, lm_model_spec(m), input_shape(m, in, sizeof in));
    }
    return LM_OK;
}

static lm_status read_stats(const lm_checkpoint *c, lm_weights_load_opts *w)
{
    w->has_stats = w->mean && lm_checkpoint_has(c, "data.mean") && lm_checkpoint_has(c, "data.std");
    if (!w->has_stats) return LM_OK;
    lm_ckpt_tensor ts[2] = {{"data.mean", LM_DT_F32, 1, {w->channels}, w->mean},
                            {"data.std", LM_DT_F32, 1, {w->channels}, w->std}};
    return lm_checkpoint_read_all(c, ts, 2);
}

lm_status lm_weights_load(const char *path, lm_model *m, lm_weights_load_opts *w)
{
    lm_weights_load_opts none = {0};
    if (!w) w = &none;
    w->has_stats = w->plain = w->index_shift = 0;
    lm_checkpoint *c;
    lm_status st = lm_checkpoint_open_weights(path, &c);
    if (st) return st;
    const lm_st_file *f = lm_checkpoint_file(c);
    w->plain = lm_checkpoint_info(c)->format_version == 0;
    lm_ckpt_list l = {0};
    st = lm_ckpt_list_model(m, NULL, NULL, NULL, 0, &l);
    int d = 0;
    if (!st && !maps_onto(f, &l, 0)) {
        d = candidate_shift(f, &l);
        if (!d || !maps_onto(f, &l, d)) st = name_mismatch(path, f, &l, m);
    }
    if (!st) st = read_model(c, &l, d, m);
    if (!st) lm_ckpt_list_restore_counts(m, &l);
    if (!st) st = read_stats(c, w);
    if (!st) w->index_shift = d;
    lm_ckpt_list_free(&l);
    lm_checkpoint_close(c);
    return st;
}

lm_status lm_checkpoint_load_model(const char *path, lm_model *m, float *mean, float *std, int channels, int *has_stats)
{
    lm_weights_load_opts w = {mean, std, channels, 0, 0, 0};
    lm_status st = lm_weights_load(path, m, &w);
    if (has_stats) *has_stats = w.has_stats;
    return st;
}

lm_status lm_weights_info_read(const char *path, lm_weights_info *info)
{
    memset(info, 0, sizeof *info);
    lm_checkpoint *c;
    lm_status st = lm_checkpoint_open_weights(path, &c);
    if (st) return st;
    const lm_ckpt_info *ci = lm_checkpoint_info(c);
    info->plain = ci->format_version == 0;
    for (int i = 0; i < ci->n_extra; i++) {
        const lm_kv *kv = &ci->extra[i];
        if (strcmp(kv->key, "param")) continue;
        if (strcmp(kv->value, "standard") && strcmp(kv->value, "ntk"))
            st = lm_fail(LM_EINVAL, "%s: metadata 'param' is '%s', not standard or ntk", path, kv->value);
        info->has_param = 1;
        info->param = strcmp(kv->value, "ntk") ? LM_PARAM_STANDARD : LM_PARAM_NTK;
    }
    lm_checkpoint_close(c);
    return st;
}

lm_status lm_weights_param(const char *path, const char *given, lm_param_kind *param, int *assumed, int *plain)
{
    lm_weights_info info = {0, 1, LM_PARAM_STANDARD};
    lm_status st = given ? lm_param_from_name(given, &info.param) : lm_weights_info_read(path, &info);
    *param = info.has_param ? info.param : LM_PARAM_STANDARD;
    if (assumed) *assumed = !st && !info.has_param;
    if (plain) *plain = info.plain;
    return st;
}
