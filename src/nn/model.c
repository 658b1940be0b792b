/* Building a model from a spec string: parsing, presets, shape inference, the flat parameter
 * and buffer arrays, state_dict names, and initialisation. Independent of the float type. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linmass/rng.h"
#include "nn/layer.h"

/* ---- presets ---- */

const char *lm_preset_spec(const char *name, int classes, char *buf, size_t len)
{
    if (!strcmp(name, "fcn"))
        snprintf(buf, len, "dense:100,relu,dropout:0.5,dense:100,relu,dropout:0.5,"
                           "dense:100,relu,dropout:0.5,dense:%d", classes);
    else if (!strcmp(name, "cnn"))
        snprintf(buf, len, "conv:64x5,relu,maxpool:2,conv:64x5,relu,maxpool:2,conv:128x5,relu,"
                           "maxpool:2,dense:128,relu,dropout:0.5,dense:%d", classes);
    else if (!strcmp(name, "resnet20") || !strcmp(name, "resnet32")) {
        int blocks = name[6] == '2' ? 3 : 5;
        int k = snprintf(buf, len, "conv:16x3:nobias,bn,relu");
        for (int stage = 0; stage < 3; stage++)
            for (int b = 0; b < blocks && (size_t)k < len; b++)
                k += snprintf(buf + k, len - k, ",res:%d%s", 16 << stage, stage && !b ? "/2" : "");
        if ((size_t)k < len) snprintf(buf + k, len - k, ",gap,dense:%d", classes);
    } else
        return NULL;
    return buf;
}

/* The most parameters (and buffers) a model may have, and the most values one layer may output
 * per sample: larger specs are refused with LM_EINVAL. */
#define LM_MODEL_MAX_SIZE 1e8

/* ---- the builder ---- */

typedef struct {
    lm_model *m;
    const char *spec;
    int next_id, next_seq;
    int position; /* 1-based token position, for messages */
    char token[64];
} builder;

static lm_status bad(const builder *b, const char *why)
{
    return lm_fail(LM_EINVAL, "model spec '%s': layer %d '%s': %s", b->spec, b->position, b->token, why);
}

/* Parse one layer's text into L (nn/spec.c). */
static lm_status parse_token(builder *b, const char *t, lm_layer *L)
{
    char why[512];
    return lm_layer_parse(t, L, why, sizeof why) ? LM_OK : bad(b, why);
}

/* ---- building sequences ---- */

static lm_status add_layer(builder *b, lm_seq *s, lm_layer *proto, lm_shape *cur, int *spatial,
                           const char *prefix);

static lm_status push(lm_seq *s, const lm_layer *L)
{
    lm_layer *grown = realloc(s->layers, (s->n + 1) * sizeof *grown);
    if (!grown) return lm_fail(LM_ENOMEM, "model: out of memory");
    s->layers = grown;
    s->layers[s->n++] = *L;
    return LM_OK;
}

static lm_status infer(builder *b, lm_layer *L)
{
    lm_status st = L->kind->infer(L, b->m->param);
    if (st) return lm_fail_context(st, "model spec '%s': layer %d '%s'", b->spec, b->position, b->token);
    return LM_OK;
}

/* The CIFAR-style basic block: main path conv3x3/s, bn, relu, conv3x3, bn; shortcut 1x1 conv/s
 * and bn when the shape changes (or zero padding with :pad); output relu(main + shortcut). */
static lm_status build_res(builder *b, lm_layer *L, const char *name)
{
    lm_shape cur = L->in;
    int spatial = 1;
    char spec[64], prefix[64];
    snprintf(prefix, sizeof prefix, "%s.a.", name);
    L->branch[0].id = b->next_seq++;
    const char *main_path[] = {"conv:%dx3/%d:nobias", "bn", "relu", "conv:%dx3:nobias", "bn"};
    for (int i = 0; i < 5; i++) {
        lm_layer sub;
        snprintf(spec, sizeof spec, main_path[i], L->res.channels, L->res.stride);
        lm_status st = parse_token(b, spec, &sub);
        if (!st) st = add_layer(b, &L->branch[0], &sub, &cur, &spatial, prefix);
        if (st) return st;
    }
    L->branch[1].id = b->next_seq++;
    int changes = L->res.stride != 1 || L->in.c != L->res.channels;
    if (changes && !L->res.pad_shortcut) {
        snprintf(prefix, sizeof prefix, "%s.s.", name);
        cur = L->in;
        const char *shortcut[] = {"conv:%dx1/%d:nobias", "bn"};
        for (int i = 0; i < 2; i++) {
            lm_layer sub;
            snprintf(spec, sizeof spec, shortcut[i], L->res.channels, L->res.stride);
            lm_status st = parse_token(b, spec, &sub);
            if (!st) st = add_layer(b, &L->branch[1], &sub, &cur, &spatial, prefix);
            if (st) return st;
        }
    }
    return LM_OK;
}

static void free_seq(lm_seq *s);

/* Size caps, so that a mistyped (or fuzzed) spec is refused instead of asking for gigabytes or
 * wrapping a size_t: counted in double, where no product can overflow. */
static lm_status check_size(const builder *b, const lm_layer *L)
{
    double out_n = (double)L->out.c * L->out.h * L->out.w;
    double weights = L->kind == L_DENSE ? (lm_shape_numel(L->in) + 1.0) * L->dense.units
                     : L->kind == L_CONV ? ((double)L->in.c * L->conv.k * L->conv.k + 1) * L->conv.filters
                     : 0;
    if (out_n > LM_MODEL_MAX_SIZE || weights > LM_MODEL_MAX_SIZE)
        return lm_fail(LM_EINVAL, "model spec '%s': layer %d '%s': more than %.0f %s", b->spec,
                       b->position, b->token, LM_MODEL_MAX_SIZE,
                       out_n > LM_MODEL_MAX_SIZE ? "output values per sample" : "parameters");
    if (!(out_n >= 1))
        return lm_fail(LM_EINVAL, "model spec '%s': layer %d '%s': output shape %dx%dx%d is empty",
                       b->spec, b->position, b->token, L->out.c, L->out.h, L->out.w);
    return LM_OK;
}

static lm_status add_layer(builder *b, lm_seq *s, lm_layer *L, lm_shape *cur, int *spatial,
                           const char *prefix)
{
    unsigned flags = L->kind->flags;
    if ((flags & LM_LAYER_FLAT_IN) && *spatial) { /* an implied flatten, as nn.Flatten() in PyTorch */
        lm_layer f;
        memset(&f, 0, sizeof f);
        f.kind = L_FLATTEN;
        lm_status st = add_layer(b, s, &f, cur, spatial, prefix);
        if (st) return st;
    }
    if ((flags & LM_LAYER_IMAGE_IN) && !*spatial)
        return lm_fail(LM_EINVAL, "model spec '%s': layer %d '%s': needs an image input (C x H x W) but gets a flat vector of %zu",
                       b->spec, b->position, b->token, lm_shape_numel(*cur));
    L->id = b->next_id++;
    L->in = *cur;
    snprintf(L->name, sizeof L->name, "%s%d", prefix, s->n);
    lm_status st = infer(b, L);
    if (!st) st = check_size(b, L);
    if (!st && L->kind == L_RES) {
        st = build_res(b, L, L->name);
        if (!st) st = infer(b, L); /* checks the branches' shapes */
    }
    if (!st) {
        *cur = L->out;
        if (flags & LM_LAYER_FLAT_OUT) *spatial = 0;
        st = push(s, L);
    }
    if (st) { /* L is not in s: its branches are no one's */
        free_seq(&L->branch[0]);
        free_seq(&L->branch[1]);
        memset(L->branch, 0, sizeof L->branch);
    }
    return st;
}

/* ---- layout: parameter offsets and named tensors ---- */

typedef struct {
    lm_model *m;
    const lm_layer *L;
    int count_only;
} tensor_ctx;

static void add_tensor(void *vctx, const char *suffix, int trainable, size_t off, int ndim,
                       const int64_t *dims)
{
    tensor_ctx *c = vctx;
    lm_model *m = c->m;
    if (!c->count_only) {
        lm_tensor_info *t = &m->tensors[m->num_tensors];
        memset(t, 0, sizeof *t);
        snprintf(t->name, sizeof t->name, "%s.%s", c->L->name, suffix);
        t->trainable = trainable;
        t->offset = off + (trainable ? c->L->poff : c->L->boff);
        t->ndim = ndim;
        t->numel = 1;
        for (int i = 0; i < ndim; i++) t->numel *= (size_t)(t->dims[i] = dims[i]);
        t->integer = !strcmp(suffix, "num_batches_tracked");
    }
    m->num_tensors++;
}

static void layout_seq(lm_model *m, lm_seq *s)
{
    for (int i = 0; i < s->n; i++) {
        lm_layer *L = &s->layers[i];
        L->poff = m->np;
        L->boff = m->nb;
        if (L->kind == L_RES) {
            layout_seq(m, &L->branch[0]);
            layout_seq(m, &L->branch[1]);
            L->np = m->np - L->poff;
            L->nb = m->nb - L->boff;
        } else {
            m->np += L->np;
            m->nb += L->nb;
        }
    }
}

static void name_seq(lm_model *m, const lm_seq *s, int count_only)
{
    for (int i = 0; i < s->n; i++) {
        const lm_layer *L = &s->layers[i];
        if (L->kind == L_RES) {
            name_seq(m, &L->branch[0], count_only);
            name_seq(m, &L->branch[1], count_only);
            continue;
        }
        /* each leaf layer lists its parameters then its buffers: state_dict order */
        tensor_ctx c = {m, L, count_only};
        if (L->kind->tensors) L->kind->tensors(L, add_tensor, &c);
    }
}

static void init_seq(lm_model *m, const lm_seq *s, uint64_t seed)
{
    for (int i = 0; i < s->n; i++) {
        const lm_layer *L = &s->layers[i];
        if (L->kind == L_RES) {
            init_seq(m, &L->branch[0], seed);
            init_seq(m, &L->branch[1], seed);
            continue;
        }
        /* standard: LeCun N(0, 1/fan-in), which matches PyTorch's default training curves on
         * the paper's FCN; He's N(0, 2/fan-in) for the convolutions inside residual blocks, as
         * in the ResNet papers */
        double gain2 = L->kind == L_CONV && s->id != 0 ? 2 : 1;
        if (L->kind->init)
            L->kind->init(L, m->w + L->poff, m->buf + L->boff, m->param, gain2, seed);
    }
}

void lm_model_init(lm_model *m, uint64_t seed)
{
    memset(m->w, 0, m->np * sizeof *m->w);
    memset(m->buf, 0, m->nb * sizeof *m->buf);
    init_seq(m, &m->top, seed);
}

void lm_init_normal(float *w, size_t n, double std, uint64_t seed, int layer_id, int tensor)
{
    lm_rand_normal_fill_f32(w, n, std, seed, LM_STREAM_INIT + 16 * (uint64_t)layer_id + tensor);
}

/* ---- public ---- */

static void free_seq(lm_seq *s)
{
    for (int i = 0; i < s->n; i++) {
        free_seq(&s->layers[i].branch[0]);
        free_seq(&s->layers[i].branch[1]);
    }
    free(s->layers);
}

void lm_model_free(lm_model *m)
{
    if (!m) return;
    free_seq(&m->top);
    free(m->spec);
    free(m->w);
    free(m->buf);
    free(m->tensors);
    free(m);
}

lm_status lm_model_create(const char *spec, lm_shape in, lm_param_kind param, uint64_t seed,
                          lm_model **out)
{
    *out = NULL;
    if (in.c < 1 || in.h < 1 || in.w < 1)
        return lm_fail(LM_EINVAL, "model: input shape %dx%dx%d is empty", in.c, in.h, in.w);
    if (!spec || !*spec) return lm_fail(LM_EINVAL, "model spec is empty");
    lm_model *m = calloc(1, sizeof *m);
    if (!m) return lm_fail(LM_ENOMEM, "model: out of memory");
    m->param = param;
    m->in = in;
    char preset[1024];
    const char *expanded = lm_preset_spec(spec, 10, preset, sizeof preset);
    m->spec = strdup(expanded ? expanded : spec);
    builder b = {m, m->spec, 0, 1, 0, {0}};
    lm_shape cur = in;
    int spatial = in.h > 1 || in.w > 1;
    lm_status st = m->spec ? LM_OK : lm_fail(LM_ENOMEM, "model: out of memory");
    for (const char *t = m->spec; !st && t;) {
        const char *comma = strchr(t, ',');
        size_t len = comma ? (size_t)(comma - t) : strlen(t);
        b.position++;
        snprintf(b.token, sizeof b.token, "%.*s", (int)len, t);
        lm_layer L;
        if (len == 0 || len >= sizeof b.token) {
            st = bad(&b, len ? "layer text too long" : "empty layer (two commas in a row?)");
            break;
        }
        st = parse_token(&b, b.token, &L);
        if (!st) st = add_layer(&b, &m->top, &L, &cur, &spatial, "");
        t = comma ? comma + 1 : NULL;
    }
    if (!st) {
        m->out = cur;
        m->num_layers_total = b.next_id;
        m->num_seqs = b.next_seq;
        layout_seq(m, &m->top);
        st = lm_kernel_check_model(m);
        if (!st && (double)m->np + m->nb > LM_MODEL_MAX_SIZE)
            st = lm_fail(LM_EINVAL, "model spec '%s': %zu parameters and buffers, more than %.0f",
                         m->spec, m->np + m->nb, LM_MODEL_MAX_SIZE);
    }
    if (!st) {
        name_seq(m, &m->top, 1);
        m->tensors = calloc(m->num_tensors ? m->num_tensors : 1, sizeof *m->tensors);
        m->num_tensors = 0;
        m->w = calloc(m->np ? m->np : 1, sizeof *m->w);
        m->buf = calloc(m->nb ? m->nb : 1, sizeof *m->buf);
        if (!m->tensors || !m->w || !m->buf) st = lm_fail(LM_ENOMEM, "model: out of memory for %zu parameters", m->np);
    }
    if (st) {
        lm_model_free(m);
        return st;
    }
    name_seq(m, &m->top, 0);
    lm_model_init(m, seed);
    *out = m;
    return LM_OK;
}

size_t lm_model_num_params(const lm_model *m) { return m->np; }
size_t lm_model_num_buffers(const lm_model *m) { return m->nb; }
lm_shape lm_model_input_shape(const lm_model *m) { return m->in; }
lm_shape lm_model_output_shape(const lm_model *m) { return m->out; }
lm_param_kind lm_model_param_kind(const lm_model *m) { return m->param; }

lm_status lm_param_from_name(const char *name, lm_param_kind *out)
{
    if (!name || (strcmp(name, "standard") && strcmp(name, "ntk")))
        return lm_fail(LM_EINVAL, "param '%s' is not standard or ntk", name ? name : "(null)");
    *out = strcmp(name, "ntk") ? LM_PARAM_STANDARD : LM_PARAM_NTK;
    return LM_OK;
}
const char *lm_model_spec(const lm_model *m) { return m->spec; }
float *lm_model_params(lm_model *m) { return m->w; }
float *lm_model_buffers(lm_model *m) { return m->buf; }
int lm_model_num_tensors(const lm_model *m) { return m->num_tensors; }

const lm_tensor_info *lm_model_tensor(const lm_model *m, int i)
{
    return i >= 0 && i < m->num_tensors ? &m->tensors[i] : NULL;
}

const lm_tensor_info *lm_model_find_tensor(const lm_model *m, const char *name)
{
    for (int i = 0; i < m->num_tensors; i++)
        if (!strcmp(m->tensors[i].name, name)) return &m->tensors[i];
    return NULL;
}

static double macs_seq(const lm_seq *s)
{
    double total = 0;
    for (int i = 0; i < s->n; i++) {
        const lm_layer *L = &s->layers[i];
        if (L->kind == L_RES) total += macs_seq(&L->branch[0]) + macs_seq(&L->branch[1]);
        else if (L->kind->macs) total += L->kind->macs(L);
    }
    return total;
}

double lm_model_forward_macs(const lm_model *m) { return macs_seq(&m->top); }

static size_t summary_seq(const lm_seq *s, char *buf, size_t len, size_t k, int depth)
{
    for (int i = 0; i < s->n; i++) {
        const lm_layer *L = &s->layers[i];
        int w = snprintf(buf + (k < len ? k : len), k < len ? len - k : 0,
                         "%*s%-10s %-8s -> %dx%dx%d  params %zu\n", 2 * depth, "", L->name,
                         L->kind->name, L->out.c, L->out.h, L->out.w, L->np);
        k += w > 0 ? (size_t)w : 0;
        if (L->kind == L_RES)
            for (int b = 0; b < 2; b++) k = summary_seq(&L->branch[b], buf, len, k, depth + 1);
    }
    return k;
}

size_t lm_model_summary(const lm_model *m, char *buf, size_t len)
{
    if (len) buf[0] = '\0';
    return summary_seq(&m->top, buf, len, 0, 0);
}
