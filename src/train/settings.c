/* The settings of a training run (train.h): one table of lm_train_config's settings with their
 * names, types, defaults, help lines and ranges, from which the defaults are set, values are
 * set by name from text and read back, and the configuration is validated. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linmass/train.h"

/* Where a setting's value is kept. */
typedef enum {
    TEXT,       /* const char * */
    INT,        /* int */
    LONG,       /* long, read as a whole number */
    U64,        /* uint64_t */
    REAL,       /* double */
    FLAG,       /* int, 0 or 1 */
    NOT_FLAG,   /* int, 0 or 1, the negation of the setting (no_normalize -> normalize) */
    PARAM,      /* lm_param_kind: standard or ntk */
    OPTIM_KIND, /* optim.kind, a new lm_optim_config keeping the options given */
    OPTIM       /* an option of optim (lm_optim_config_set) */
} store;

typedef enum { ANY, AT_LEAST_1, NOT_NEGATIVE, FRACTION } range;

typedef struct {
    lm_train_setting s;
    store store;
    size_t offset; /* of the field in lm_train_config (OPTIM, OPTIM_KIND: unused) */
    range range;
} entry;

#define F(f) offsetof(lm_train_config, f)
#define S LM_RUN_OPT_STRING
#define I LM_RUN_OPT_INT
#define B LM_RUN_OPT_FLAG
#define D LM_RUN_OPT_DOUBLE
static const entry table[] = { /* in the order of config.json */
    {{"data", "data", S, "fashion-mnist", "data source", 1}, TEXT, F(data), ANY},
    {{"model", "model", S, "fcn", "model spec, preset or alias", 1}, TEXT, F(model), ANY},
    {{"param", "param", S, "standard", "parameterization: standard or ntk", 1}, PARAM, F(param), ANY},
    {{"optim", "optim", S, "sgd", "sgd, heavyball, nesterov, adam, adamw or mass", 1}, OPTIM_KIND, 0, ANY},
    {{"schedule", "schedule", S, "constant", "constant, multistep:60,120, cosine, warmup:N, warmup:N+cosine", 0}, OPTIM, 0, ANY},
    {{"restart", "restart", B, "0", "restart the optimizer state at each learning-rate drop (as the MaSS authors)", 0}, OPTIM, 0, ANY},
    {{"auto", "auto", B, "0", "sgd, mass: hyper-parameters from the data's constants for `batch` (linear, kernel models)", 1}, OPTIM, 0, ANY},
    {{"auto_samples", "auto-samples", I, "2000", "`auto` computes its constants on at most this many samples (and kernel centres)", 1}, INT, F(auto_samples), ANY},
    {{"batch", "batch", I, "64", "mini-batch size", 1}, INT, F(batch), AT_LEAST_1},
    {{"epochs", "epochs", I, "5", "epochs (ignored with `steps`)", 0}, INT, F(epochs), AT_LEAST_1},
    {{"steps", "steps", I, "0", "stop after this many steps instead (0: whole epochs)", 0}, LONG, F(steps), NOT_NEGATIVE},
    {{"seed", "seed", LM_RUN_OPT_U64, "0", "seed of every random draw", 1}, U64, F(seed), ANY},
    {{"out", "out", S, "runs/train", "run folder", 0}, TEXT, F(out), ANY},
    {{"resume", "resume", B, "0", "continue the run in `out` from its checkpoint (none yet: from the beginning)", 0}, FLAG, F(resume), ANY},
    {{"init_from", "init-from", S, NULL, "initial weights from a checkpoint or a plain state_dict (safetensors) of `model`", 1}, TEXT, F(init_from), ANY},
    {{"val_fraction", "val-fraction", D, "0", "fraction of the training split held out for validation", 1}, REAL, F(val_fraction), FRACTION},
    {{"no_normalize", "no-normalize", B, "0", "keep raw inputs (default: per-channel standardisation)", 1}, NOT_FLAG, F(normalize), ANY},
    {{"augment", "augment", B, "0", "random 10% shifts and horizontal flips (images)", 1}, FLAG, F(augment), ANY},
    {{"log_every", "log-every", I, "100", "a metrics.jsonl line every this many steps, its train loss the mean over them", 0}, INT, F(log_every), AT_LEAST_1},
    {{"eval_every", "eval-every", I, "0", "also evaluate (test, validation) every this many steps (0: at each epoch end only)", 0}, INT, F(eval_every), NOT_NEGATIVE},
    {{"ckpt_every", "ckpt-every", I, "0", "also checkpoint every this many steps (0: at each epoch end only)", 0}, LONG, F(ckpt_every), NOT_NEGATIVE},
    {{"ckpt_minutes", "ckpt-minutes", D, "0", "also checkpoint every this many minutes of wall time (0: off)", 0}, REAL, F(ckpt_minutes), NOT_NEGATIVE},
    {{"max_train", "max-train", I, "0", "use only the first N training samples (0: all)", 1}, LONG, F(max_train), NOT_NEGATIVE},
    {{"sync_bn", "sync-bn", B, "0", "mpirun: batch norm over the global batch (torch SyncBatchNorm), not each rank's share (DDP); no effect with 1 rank", 0}, FLAG, F(sync_bn), ANY},
    /* the optimizer's numbers, in the order of the LM_OPT_* bits; their defaults are the optimizer's */
    {{"lr", "lr", D, NULL, "step size (mass: the authors' eta)", 0}, OPTIM, 0, ANY},
    {{"momentum", "momentum", D, NULL, "momentum (sgd, heavyball, nesterov)", 0}, OPTIM, 0, ANY},
    {{"dampening", "dampening", D, NULL, "dampening (sgd)", 0}, OPTIM, 0, ANY},
    {{"nesterov", "nesterov", D, NULL, "1: Nesterov momentum (sgd)", 0}, OPTIM, 0, ANY},
    {{"weight_decay", "weight-decay", D, NULL, "L2 (coupled; decoupled for adamw)", 0}, OPTIM, 0, ANY},
    {{"beta1", "beta1", D, NULL, "Adam beta1", 0}, OPTIM, 0, ANY},
    {{"beta2", "beta2", D, NULL, "Adam beta2", 0}, OPTIM, 0, ANY},
    {{"eps", "eps", D, NULL, "Adam epsilon", 0}, OPTIM, 0, ANY},
    {{"eta1", "eta1", D, NULL, "MaSS eta1 (with `eta2` `gamma`)", 0}, OPTIM, 0, ANY},
    {{"eta2", "eta2", D, NULL, "MaSS eta2, the compensation step", 0}, OPTIM, 0, ANY},
    {{"gamma", "gamma", D, NULL, "MaSS momentum gamma", 0}, OPTIM, 0, ANY},
    {{"alpha", "alpha", D, NULL, "MaSS alpha (with `lr` `kappa_tilde`)", 0}, OPTIM, 0, ANY},
    {{"kappa_tilde", "kappa-tilde", D, NULL, "MaSS kappa-tilde", 0}, OPTIM, 0, ANY},
};
#undef S
#undef I
#undef B
#undef D
enum { N_SETTINGS = sizeof table / sizeof *table };

int lm_train_setting_count(void) { return N_SETTINGS; }

const lm_train_setting *lm_train_setting_at(int i) { return i >= 0 && i < N_SETTINGS ? &table[i].s : NULL; }

static const entry *find(const char *name)
{
    char n[32];
    if (!name || strlen(name) >= sizeof n) return NULL;
    snprintf(n, sizeof n, "%s", name);
    for (char *p = n; *p; p++)
        if (*p == '-') *p = '_';
    for (int i = 0; i < N_SETTINGS; i++)
        if (!strcmp(table[i].s.name, n)) return &table[i];
    return NULL;
}

const lm_train_setting *lm_train_setting_find(const char *name)
{
    const entry *e = find(name);
    return e ? &e->s : NULL;
}

void lm_train_config_init(lm_train_config *c)
{
    memset(c, 0, sizeof *c);
    lm_optim_config_init(&c->optim, LM_OPTIM_SGD);
    for (int i = 0; i < N_SETTINGS; i++) /* the optimizer's settings keep its defaults, given nothing */
        if (table[i].s.def && table[i].store != OPTIM && table[i].store != OPTIM_KIND)
            lm_train_config_set(c, table[i].s.name, table[i].s.def);
    c->overlap = 1;
}

/* ---- values from text ---- */

/* "batch 0 must be at least 1": the value v (as text t) against e's range. */
static lm_status check_range(const entry *e, double v, const char *t)
{
    const char *n = e->s.name;
    switch (e->range) {
    case ANY: break;
    case AT_LEAST_1: if (v < 1) return lm_fail(LM_EINVAL, "%s %s must be at least 1", n, t); break;
    case NOT_NEGATIVE: if (v < 0) return lm_fail(LM_EINVAL, "%s %s must not be negative", n, t); break;
    case FRACTION: if (!(v >= 0 && v < 1)) return lm_fail(LM_EINVAL, "%s %s must be in [0, 1)", n, t); break;
    }
    return LM_OK;
}

/* A whole number, a number or a flag of entry e from text into *v (U64: *u). */
static lm_status parse_number(const entry *e, const char *text, double *v, uint64_t *u)
{
    const char *n = e->s.name;
    char *end;
    errno = 0;
    if (e->store == FLAG || e->store == NOT_FLAG) {
        int on = !strcmp(text, "1") || !strcmp(text, "true");
        if (!on && strcmp(text, "0") && strcmp(text, "false")) return lm_fail(LM_EINVAL, "%s '%s' is not 0 or 1", n, text);
        *v = on;
    } else if (e->store == REAL) {
        *v = strtod(text, &end);
        if (end == text || *end || errno || !isfinite(*v)) return lm_fail(LM_EINVAL, "%s '%s' is not a finite number", n, text);
    } else if (e->store == U64) {
        *u = strtoull(text, &end, 10);
        if (end == text || *end || errno || strchr(text, '-')) return lm_fail(LM_EINVAL, "%s '%s' is not a whole number of 0 or more", n, text);
        *v = (double)*u;
    } else {
        long l = strtol(text, &end, 10);
        if (end == text || *end || errno || (e->store == INT && (l < -2147483647L - 1 || l > 2147483647L)))
            return lm_fail(LM_EINVAL, "%s '%s' is not a whole number", n, text);
        *v = (double)l;
    }
    return LM_OK;
}

static lm_status set_number(lm_train_config *c, const entry *e, const char *text)
{
    double v = 0;
    uint64_t u = 0;
    lm_status st = parse_number(e, text, &v, &u);
    if (!st) st = check_range(e, v, text);
    if (st) return st;
    void *f = (char *)c + e->offset;
    switch (e->store) {
    case INT: case FLAG: *(int *)f = (int)v; break;
    case NOT_FLAG: *(int *)f = !(int)v; break;
    case LONG: *(long *)f = (long)v; break;
    case U64: *(uint64_t *)f = u; break;
    default: *(double *)f = v; break;
    }
    return LM_OK;
}

/* A new optimizer kind: its defaults, with the options given so far (optim.given) kept. */
static lm_status set_optim_kind(lm_train_config *c, const char *text)
{
    lm_optim_kind kind;
    if (lm_optim_kind_parse(text, &kind)) {
        char names[128] = "";
        for (int k = 0; k < LM_OPTIM_COUNT; k++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                     k == 0 ? "" : k + 1 < LM_OPTIM_COUNT ? ", " : " or ", lm_optim_kind_name(k));
        return lm_fail(LM_EINVAL, "optim '%s' is not %s", text, names);
    }
    lm_optim_config oc;
    lm_optim_config_init(&oc, kind);
    for (unsigned i = 0; i < LM_OPT_COUNT; i++) {
        char value[256];
        if (!(c->optim.given & (1u << i))) continue;
        lm_optim_config_format(&c->optim, 1u << i, value, sizeof value);
        lm_optim_config_set(&oc, lm_optim_option_name(1u << i), value);
    }
    c->optim = oc;
    return LM_OK;
}

lm_status lm_train_config_set(lm_train_config *c, const char *name, const char *value)
{
    const entry *e = find(name);
    if (!e) {
        const char *names[N_SETTINGS], *near;
        for (int i = 0; i < N_SETTINGS; i++) names[i] = table[i].s.name;
        near = name ? lm_nearest(name, strlen(name), names, N_SETTINGS) : NULL;
        return lm_fail(LM_EINVAL, "training setting '%s' is unknown%s%s%s", name ? name : "(null)", near ? " (did you mean " : "",
                       near ? near : "", near ? "?)" : "");
    }
    if (!value && e->store != TEXT) return lm_fail(LM_EINVAL, "%s needs a value", e->s.name);
    if (e->store == TEXT) {
        *(const char **)((char *)c + e->offset) = value;
        return LM_OK;
    }
    if (e->store == PARAM) return lm_param_from_name(value, &c->param);
    if (e->store == OPTIM_KIND) return set_optim_kind(c, value);
    if (e->store == OPTIM) {
        lm_optim_config oc = c->optim;
        lm_status st = lm_optim_config_set(&oc, e->s.name, value);
        if (!st) c->optim = oc;
        return st;
    }
    return set_number(c, e, value);
}

/* ---- values as text ---- */

static unsigned optim_bit(const char *name)
{
    for (unsigned i = 0; i < LM_OPT_COUNT; i++)
        if (!strcmp(lm_optim_option_name(1u << i), name)) return 1u << i;
    return 0;
}

static size_t format_entry(const lm_train_config *c, const entry *e, char *buf, size_t len)
{
    const void *f = (const char *)c + e->offset;
    switch (e->store) {
    case TEXT: return (size_t)snprintf(buf, len, "%s", *(const char *const *)f ? *(const char *const *)f : "");
    case INT: case FLAG: return (size_t)snprintf(buf, len, "%d", *(const int *)f);
    case NOT_FLAG: return (size_t)snprintf(buf, len, "%d", !*(const int *)f);
    case LONG: return (size_t)snprintf(buf, len, "%ld", *(const long *)f);
    case U64: return (size_t)snprintf(buf, len, "%" PRIu64, *(const uint64_t *)f);
    case PARAM: return (size_t)snprintf(buf, len, "%s", c->param == LM_PARAM_NTK ? "ntk" : "standard");
    case OPTIM_KIND: return (size_t)snprintf(buf, len, "%s", lm_optim_kind_name(c->optim.kind));
    case OPTIM: return lm_optim_config_format(&c->optim, optim_bit(e->s.name), buf, len);
    case REAL: break;
    }
    double v = *(const double *)f; /* the shortest of 15 and 17 digits that reads back exactly */
    char t[32];
    snprintf(t, sizeof t, "%.15g", v);
    if (strtod(t, NULL) != v) snprintf(t, sizeof t, "%.17g", v);
    return (size_t)snprintf(buf, len, "%s", t);
}

size_t lm_train_config_format(const lm_train_config *c, const char *name, char *buf, size_t len)
{
    const entry *e = find(name);
    if (e) return format_entry(c, e, buf, len);
    if (len) buf[0] = '\0';
    return 0;
}

/* ---- validation ---- */

/* docs/theory.md §2.2: auto's theory is that of linear models on the square loss, and it sets
 * the step sizes itself. */
static lm_status auto_rules(const lm_train_config *c)
{
    char alias[256];
    if (!lm_model_alias_spec(c->model, 1, 1, alias, sizeof alias))
        return lm_fail(LM_EINVAL, "auto needs model linear, kernel:gaussian:BW or kernel:laplacian:BW, not '%s'", c->model);
    const unsigned own = LM_OPT_LR | LM_OPT_MOMENTUM | LM_OPT_NESTEROV | LM_OPT_ETA1 | LM_OPT_ETA2 | LM_OPT_GAMMA |
                         LM_OPT_ALPHA | LM_OPT_KAPPA_TILDE;
    for (unsigned bit = 1; bit <= LM_OPT_KAPPA_TILDE; bit <<= 1)
        if (c->optim.given & own & bit)
            return lm_fail(LM_EINVAL, "auto sets the step sizes itself: %s was given", lm_optim_option_name(bit));
    if (c->auto_samples < 1) return lm_fail(LM_EINVAL, "auto_samples %d must be at least 1", c->auto_samples);
    return LM_OK;
}

lm_status lm_train_config_validate(const lm_train_config *c)
{
    for (int i = 0; i < N_SETTINGS; i++) {
        const entry *e = &table[i];
        char t[64];
        if (e->range == ANY) continue;
        format_entry(c, e, t, sizeof t);
        lm_status st = check_range(e, strtod(t, NULL), t);
        if (st) return st;
    }
    if (!c->out || !c->data || !c->model) return lm_fail(LM_EINVAL, "%s is not set", !c->out ? "out" : !c->data ? "data" : "model");
    if (strlen(c->out) > 400) return lm_fail(LM_EINVAL, "run folder '%.40s...': the path is longer than 400 characters", c->out);
    lm_optim_config oc = c->optim; /* a cosine schedule needs the run's length; the trainer sets the exact one */
    if (oc.schedule.total_epochs <= 0) oc.schedule.total_epochs = c->epochs;
    lm_status st = lm_optim_config_validate(&oc);
    return st || !c->optim.auto_hp ? st : auto_rules(c);
}
