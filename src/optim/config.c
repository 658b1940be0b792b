/* Optimizer configuration: defaults, options by name, and validation with one clear message
 * naming the optimizer, the option and the value at fault. What differs between optimizers
 * comes from their descriptors (optim/optim_def.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optim/optim_def.h"

typedef enum { REAL, FLAG, SCHEDULE } option_type;

typedef struct {
    const char *name; /* as lm_optim_config_set takes it and messages print it */
    unsigned bit;     /* LM_OPT_* */
    option_type type;
    size_t offset;    /* of the field in lm_optim_config */
} option_info;

#define FIELD(f) offsetof(lm_optim_config, f)
static const option_info options[] = { /* in the order of the LM_OPT_* bits */
    {"lr", LM_OPT_LR, REAL, FIELD(lr)},
    {"momentum", LM_OPT_MOMENTUM, REAL, FIELD(momentum)},
    {"dampening", LM_OPT_DAMPENING, REAL, FIELD(dampening)},
    {"nesterov", LM_OPT_NESTEROV, FLAG, FIELD(nesterov)},
    {"weight_decay", LM_OPT_WEIGHT_DECAY, REAL, FIELD(weight_decay)},
    {"beta1", LM_OPT_BETA1, REAL, FIELD(beta1)},
    {"beta2", LM_OPT_BETA2, REAL, FIELD(beta2)},
    {"eps", LM_OPT_EPS, REAL, FIELD(eps)},
    {"eta1", LM_OPT_ETA1, REAL, FIELD(eta1)},
    {"eta2", LM_OPT_ETA2, REAL, FIELD(eta2)},
    {"gamma", LM_OPT_GAMMA, REAL, FIELD(gamma)},
    {"alpha", LM_OPT_ALPHA, REAL, FIELD(alpha)},
    {"kappa_tilde", LM_OPT_KAPPA_TILDE, REAL, FIELD(kappa_tilde)},
    {"schedule", LM_OPT_SCHEDULE, SCHEDULE, FIELD(schedule)},
    {"restart", LM_OPT_RESTART, FLAG, FIELD(restart)},
    {"auto", LM_OPT_AUTO, FLAG, FIELD(auto_hp)},
};
#define N_OPTIONS (int)(sizeof options / sizeof options[0])
_Static_assert(sizeof options / sizeof options[0] == LM_OPT_COUNT, "one entry per LM_OPT_* bit");

const char *lm_optim_kind_name(lm_optim_kind k)
{
    const lm_optim_def *d = lm_optim_def_of(k);
    return d ? d->name : "unknown";
}

lm_status lm_optim_kind_parse(const char *name, lm_optim_kind *out)
{
    char known[128] = "";
    for (int k = 0; k < LM_OPTIM_COUNT; k++) {
        if (strcmp(name, lm_optim_kind_name(k)) == 0) {
            *out = (lm_optim_kind)k;
            return LM_OK;
        }
        snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", k ? ", " : "",
                 lm_optim_kind_name(k));
    }
    return lm_fail(LM_EINVAL, "optimizer '%s' is unknown (%s)", name, known);
}

void lm_optim_config_init(lm_optim_config *c, lm_optim_kind kind)
{
    const lm_optim_def *d = lm_optim_def_of(kind);
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->lr = d ? d->defaults.lr : 1e-2;
    c->momentum = d ? d->defaults.momentum : 0;
    c->nesterov = d ? d->defaults.nesterov : 0;
    c->beta1 = 0.9;
    c->beta2 = 0.999;
    c->eps = 1e-8;
    c->mass_form = LM_MASS_AUTHORS;
    c->alpha = 0.05;
    c->kappa_tilde = 3;
    lm_mass_hp h = lm_mass_from_authors((lm_mass3_hp){c->lr, c->alpha, c->kappa_tilde, 0});
    c->eta1 = h.eta1;
    c->eta2 = h.eta2;
    c->gamma = h.gamma;
    c->schedule.kind = LM_SCHED_CONSTANT;
}

/* "kappa_tilde" or "kappa-tilde" */
static const option_info *find_option(const char *option)
{
    char name[32];
    snprintf(name, sizeof name, "%s", option);
    for (char *p = name; *p; p++)
        if (*p == '-') *p = '_';
    for (int i = 0; i < N_OPTIONS; i++)
        if (strcmp(options[i].name, name) == 0) return &options[i];
    return NULL;
}

const char *lm_optim_option_name(unsigned bit)
{
    for (int i = 0; i < N_OPTIONS; i++)
        if (options[i].bit == bit) return options[i].name;
    return "?";
}

unsigned lm_optim_kind_options(lm_optim_kind k)
{
    const lm_optim_def *d = lm_optim_def_of(k);
    return d ? d->options : 0;
}

size_t lm_optim_config_format(const lm_optim_config *c, unsigned bit, char *buf, size_t len)
{
    for (int i = 0; i < N_OPTIONS; i++) {
        const option_info *o = &options[i];
        const void *field = (const char *)c + o->offset;
        if (o->bit != bit) continue;
        if (o->type == SCHEDULE) return lm_schedule_format(field, buf, len);
        if (o->type == FLAG) return (size_t)snprintf(buf, len, "%d", *(const int *)field != 0);
        double v = *(const double *)field; /* the shortest of 15 and 17 digits that reads back exactly */
        char t[32];
        snprintf(t, sizeof t, "%.15g", v);
        if (strtod(t, NULL) != v) snprintf(t, sizeof t, "%.17g", v);
        return (size_t)snprintf(buf, len, "%s", t);
    }
    if (len) buf[0] = '\0';
    return 0;
}

size_t lm_optim_defaults_help(char *buf, size_t len)
{
    size_t k = 0;
    if (len) buf[0] = '\0';
    for (int kind = 0; kind < LM_OPTIM_COUNT; kind++) {
        lm_optim_config oc;
        lm_optim_config_init(&oc, kind);
        lm_optim_config_validate(&oc); /* fills both MaSS forms */
        k += (size_t)snprintf(k < len ? buf + k : NULL, k < len ? len - k : 0, "  %-10s", lm_optim_kind_name(kind));
        for (unsigned bit = 1, n = 0; bit <= LM_OPT_KAPPA_TILDE; bit <<= 1) {
            char value[64];
            if (!(lm_optim_kind_options(kind) & bit)) continue;
            lm_optim_config_format(&oc, bit, value, sizeof value);
            k += (size_t)snprintf(k < len ? buf + k : NULL, k < len ? len - k : 0, "%s`%s` %.6g", n++ ? ", " : "",
                                  lm_optim_option_name(bit), strtod(value, NULL));
        }
        k += (size_t)snprintf(k < len ? buf + k : NULL, k < len ? len - k : 0, "\n");
    }
    return k;
}

static lm_status parse_real(const char *name, const char *value, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(value, &end);
    if (end == value || *end != '\0' || errno || !isfinite(v))
        return lm_fail(LM_EINVAL, "%s '%s' is not a finite number", name, value);
    *out = v;
    return LM_OK;
}

static lm_status parse_flag(const char *name, const char *value, int *out)
{
    if (!value || strcmp(value, "1") == 0 || strcmp(value, "true") == 0) *out = 1;
    else if (strcmp(value, "0") == 0 || strcmp(value, "false") == 0) *out = 0;
    else return lm_fail(LM_EINVAL, "%s '%s' is not 0 or 1", name, value);
    return LM_OK;
}

lm_status lm_optim_config_set(lm_optim_config *c, const char *option, const char *value)
{
    const option_info *o = find_option(option);
    if (!o) return lm_fail(LM_EINVAL, "optimizer option '%s' is unknown", option);
    if (o->type != FLAG && !value)
        return lm_fail(LM_EINVAL, "%s needs a value", o->name);
    void *field = (char *)c + o->offset;
    lm_status st = o->type == REAL ? parse_real(o->name, value, field)
                 : o->type == FLAG ? parse_flag(o->name, value, field)
                                   : lm_schedule_parse(value, field);
    if (st == LM_OK) c->given |= o->bit;
    return st;
}

/* ---- validation ---- */

static lm_status foreign_options(const lm_optim_config *c, const lm_optim_def *d)
{
    for (int i = 0; i < N_OPTIONS; i++) {
        const option_info *o = &options[i];
        if (!(c->given & o->bit) || (d->options & o->bit)) continue;
        char owners[128] = "";
        for (int k = 0; k < LM_OPTIM_COUNT; k++)
            if (lm_optim_def_of(k)->options & o->bit)
                snprintf(owners + strlen(owners), sizeof owners - strlen(owners), "%s%s",
                         owners[0] ? ", " : "", lm_optim_kind_name(k));
        return lm_fail(LM_EINVAL, "optimizer %s: %s belongs to %s, not %s", d->name, o->name, owners,
                       d->name);
    }
    return LM_OK;
}

lm_status lm_optim_check_range(const lm_optim_config *c, const char *option, double v, double lo,
                               int lo_in, double hi, int hi_in)
{
    int ok = isfinite(v) && (lo_in ? v >= lo : v > lo) && (hi_in ? v <= hi : v < hi);
    if (ok) return LM_OK;
    char upper[32];
    if (isinf(hi)) snprintf(upper, sizeof upper, "inf)");
    else snprintf(upper, sizeof upper, "%g%c", hi, hi_in ? ']' : ')');
    return lm_fail(LM_EINVAL, "optimizer %s: %s %g is outside %c%g, %s", lm_optim_kind_name(c->kind),
                   option, v, lo_in ? '[' : '(', lo, upper);
}

lm_status lm_optim_config_validate(lm_optim_config *c)
{
    const lm_optim_def *d = lm_optim_def_of(c->kind);
    if (!d) return lm_fail(LM_EINVAL, "optimizer: kind %d is unknown", c->kind);
    lm_status st = foreign_options(c, d);
    if (!st) st = lm_optim_check_range(c, "lr", c->lr, 0, 0, INFINITY, 0);
    if (!st) st = lm_optim_check_range(c, "weight_decay", c->weight_decay, 0, 1, INFINITY, 0);
    if (!st && c->schedule.kind == LM_SCHED_COSINE && c->schedule.total_epochs <= 0)
        st = lm_fail(LM_EINVAL, "optimizer %s: schedule cosine needs the run's number of epochs "
                     "(schedule.total_epochs is %d)", d->name, c->schedule.total_epochs);
    return st ? st : d->validate(c);
}
