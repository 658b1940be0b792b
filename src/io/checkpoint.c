/* Checkpoints: named tensors plus training metadata in one safetensors file (format: see
 * linmass/io.h). Independent of the model engine: callers pass (name, dtype, shape, pointer). */
#include "linmass/io.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORMAT_NAME "linmass-checkpoint"

static const char *reserved_keys[] = {"format", "format_version", "step", "epoch", "epoch_pos",
                                      "seed", "optimizer", "optimizer_hparams", "model"};

static int is_reserved(const char *key)
{
    for (size_t i = 0; i < sizeof reserved_keys / sizeof *reserved_keys; i++)
        if (strcmp(key, reserved_keys[i]) == 0) return 1;
    return 0;
}

static int is_json_object(const char *text)
{
    cJSON *j = cJSON_Parse(text);
    int ok = cJSON_IsObject(j);
    cJSON_Delete(j);
    return ok;
}

/* ---- saving ---- */

static void add_u64(lm_st_writer *w, const char *key, uint64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    lm_st_writer_add_meta(w, key, buf);
}

static lm_status check_info(const char *path, const lm_ckpt_info *info)
{
    const char *hp = info->optim_json ? info->optim_json : "{}";
    if (!is_json_object(hp))
        return lm_fail(LM_EINVAL, "%s: the optimizer hyper-parameters are not a JSON object: %s",
                       path, hp);
    for (int i = 0; i < info->n_extra; i++) {
        const lm_kv *kv = &info->extra[i];
        if (!kv->key || !kv->value || is_reserved(kv->key))
            return lm_fail(LM_EINVAL, "%s: extra metadata '%s' is reserved or empty", path,
                           kv->key ? kv->key : "(null)");
    }
    return LM_OK;
}

static void add_info(lm_st_writer *w, const lm_ckpt_info *info)
{
    char version[16];
    snprintf(version, sizeof version, "%d", LM_CKPT_FORMAT_VERSION);
    lm_st_writer_add_meta(w, "format", FORMAT_NAME);
    lm_st_writer_add_meta(w, "format_version", version);
    add_u64(w, "step", info->step);
    add_u64(w, "epoch", info->epoch);
    add_u64(w, "epoch_pos", info->epoch_pos);
    add_u64(w, "seed", info->seed);
    lm_st_writer_add_meta(w, "optimizer", info->optimizer ? info->optimizer : "none");
    lm_st_writer_add_meta(w, "optimizer_hparams", info->optim_json ? info->optim_json : "{}");
    if (info->model) lm_st_writer_add_meta(w, "model", info->model);
    for (int i = 0; i < info->n_extra; i++)
        lm_st_writer_add_meta(w, info->extra[i].key, info->extra[i].value);
}

lm_status lm_checkpoint_save(const char *path, const lm_ckpt_info *info,
                             const lm_ckpt_tensor *tensors, int n)
{
    lm_status s = check_info(path, info);
    if (s != LM_OK) return s;
    lm_st_writer *w;
    if ((s = lm_st_writer_create(&w)) != LM_OK) return s;
    for (int i = 0; i < n; i++)
        lm_st_writer_add(w, tensors[i].name, tensors[i].dtype, tensors[i].ndim, tensors[i].shape,
                         tensors[i].data);
    add_info(w, info);
    s = lm_st_writer_write(w, path); /* add errors are sticky and surface here */
    lm_st_writer_free(w);
    return s;
}

/* ---- loading ---- */

struct lm_checkpoint {
    lm_st_file *f;
    lm_ckpt_info info;
    lm_kv *extra;
};

void lm_checkpoint_close(lm_checkpoint *c)
{
    if (!c) return;
    lm_st_close(c->f);
    free(c->extra);
    free(c);
}

static lm_status meta_str(const lm_st_file *f, const char *key, const char **out)
{
    *out = lm_st_meta(f, key);
    if (!*out)
        return lm_fail(LM_EINVAL, "%s: metadata '%s' is missing", lm_st_path(f), key);
    return LM_OK;
}

/* A decimal unsigned integer, digits only, no overflow. */
static int parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (!s[0]) return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return 0;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

static lm_status meta_u64(const lm_st_file *f, const char *key, uint64_t *out)
{
    const char *s;
    lm_status st = meta_str(f, key, &s);
    if (st != LM_OK) return st;
    if (!parse_u64(s, out))
        return lm_fail(LM_EINVAL, "%s: metadata '%s' is '%s', not a non-negative integer",
                       lm_st_path(f), key, s);
    return LM_OK;
}

static lm_status check_format(const lm_st_file *f, int *version)
{
    const char *path = lm_st_path(f), *fmt = lm_st_meta(f, "format"), *ver;
    if (!fmt || strcmp(fmt, FORMAT_NAME) != 0)
        return lm_fail(LM_EINVAL, "%s: not a linmass checkpoint (metadata 'format' is %s%s%s, "
                       "expected '%s')", path, fmt ? "'" : "", fmt ? fmt : "missing",
                       fmt ? "'" : "", FORMAT_NAME);
    uint64_t v;
    lm_status s = meta_str(f, "format_version", &ver);
    if (s != LM_OK) return s;
    if (!parse_u64(ver, &v) || v < 1)
        return lm_fail(LM_EINVAL, "%s: metadata 'format_version' is '%s', not a version number",
                       path, ver);
    if (v > LM_CKPT_FORMAT_VERSION)
        return lm_fail(LM_EINVAL, "%s: checkpoint format version %s is newer than this linmass "
                       "reads (%d)", path, ver, LM_CKPT_FORMAT_VERSION);
    *version = (int)v;
    return LM_OK;
}

static lm_status read_info(lm_checkpoint *c)
{
    const lm_st_file *f = c->f;
    lm_ckpt_info *in = &c->info;
    lm_status s = check_format(f, &in->format_version);
    if (s == LM_OK) s = meta_u64(f, "step", &in->step);
    if (s == LM_OK) s = meta_u64(f, "epoch", &in->epoch);
    if (s == LM_OK) s = meta_u64(f, "epoch_pos", &in->epoch_pos);
    if (s == LM_OK) s = meta_u64(f, "seed", &in->seed);
    if (s == LM_OK) s = meta_str(f, "optimizer", &in->optimizer);
    if (s == LM_OK) s = meta_str(f, "optimizer_hparams", &in->optim_json);
    if (s != LM_OK) return s;
    if (!is_json_object(in->optim_json))
        return lm_fail(LM_EINVAL, "%s: metadata 'optimizer_hparams' is not a JSON object: %s",
                       lm_st_path(f), in->optim_json);
    in->model = lm_st_meta(f, "model");
    int n = lm_st_meta_count(f);
    if (!(c->extra = calloc((size_t)n + 1, sizeof *c->extra)))
        return lm_fail(LM_ENOMEM, "%s: out of memory", lm_st_path(f));
    for (int i = 0; i < n; i++) {
        lm_kv kv;
        lm_st_meta_at(f, i, &kv.key, &kv.value);
        if (!is_reserved(kv.key)) c->extra[in->n_extra++] = kv;
    }
    in->extra = c->extra;
    return LM_OK;
}

static lm_status open_checkpoint(const char *path, int plain_ok, lm_checkpoint **out)
{
    *out = NULL;
    lm_checkpoint *c = calloc(1, sizeof *c);
    if (!c) return lm_fail(LM_ENOMEM, "%s: out of memory", path);
    lm_status s = lm_st_open(path, &c->f);
    const char *fmt = s == LM_OK ? lm_st_meta(c->f, "format") : NULL;
    if (s == LM_OK && !(plain_ok && (!fmt || strcmp(fmt, FORMAT_NAME)))) s = read_info(c);
    if (s != LM_OK) {
        lm_checkpoint_close(c);
        return s;
    }
    *out = c;
    return LM_OK;
}

lm_status lm_checkpoint_open(const char *path, lm_checkpoint **out) { return open_checkpoint(path, 0, out); }

lm_status lm_checkpoint_open_weights(const char *path, lm_checkpoint **out) { return open_checkpoint(path, 1, out); }

const lm_ckpt_info *lm_checkpoint_info(const lm_checkpoint *c) { return &c->info; }

const lm_st_file *lm_checkpoint_file(const lm_checkpoint *c) { return c->f; }

int lm_checkpoint_has(const lm_checkpoint *c, const char *name)
{
    return lm_st_find(c->f, name) != NULL;
}

static int same_shape(const lm_st_tensor *a, const lm_ckpt_tensor *b)
{
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    return 1;
}

static void widen_f32(double *dst, const unsigned char *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float v;
        memcpy(&v, src + 4 * i, 4);
        dst[i] = v;
    }
}

lm_status lm_checkpoint_read(const lm_checkpoint *c, const lm_ckpt_tensor *t)
{
    const char *path = lm_st_path(c->f);
    const lm_st_tensor *st = lm_st_find(c->f, t->name);
    if (!st) return lm_fail(LM_EINVAL, "%s: tensor '%s' is missing", path, t->name);
    if (!same_shape(st, t)) {
        char a[160], b[160];
        return lm_fail(LM_EINVAL, "%s: tensor '%s' has shape %s but the model expects %s", path,
                       t->name, lm_format_shape(a, sizeof a, st->ndim, st->shape),
                       lm_format_shape(b, sizeof b, t->ndim, t->shape));
    }
    int widen = st->dtype == LM_DT_F32 && t->dtype == LM_DT_F64;
    if (st->dtype != t->dtype && !widen)
        return lm_fail(LM_EINVAL, "%s: tensor '%s' is %s but the model expects %s", path, t->name,
                       lm_dtype_name(st->dtype), lm_dtype_name(t->dtype));
    if (st->nbytes > 0 && !t->data)
        return lm_fail(LM_EINVAL, "%s: tensor '%s': no buffer to load into", path, t->name);
    if (widen)
        widen_f32(t->data, st->data, st->numel);
    else if (st->nbytes > 0)
        memcpy(t->data, st->data, st->nbytes);
    return LM_OK;
}

lm_status lm_checkpoint_read_all(const lm_checkpoint *c, const lm_ckpt_tensor *t, int n)
{
    for (int i = 0; i < n; i++) {
        lm_status s = lm_checkpoint_read(c, &t[i]);
        if (s != LM_OK) return s;
    }
    return LM_OK;
}
