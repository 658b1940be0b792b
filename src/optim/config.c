/* Optimizer configuration: defaults, options by their command-line names, and validation
 * with one clear message naming the optimizer, the option and the value at fault. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linmass/optim.h"

#define KIND(k) (1u << (k))
#define ALL_KINDS 0x3fu
#define SGD_FAMILY (KIND(LM_OPTIM_SGD) | KIND(LM_OPTIM_HEAVYBALL) | KIND(LM_OPTIM_NESTEROV))
#define ADAM_FAMILY (KIND(LM_OPTIM_ADAM) | KIND(LM_OPTIM_ADAMW))
#define MASS KIND(LM_OPTIM_MASS)

typedef enum { REAL, FLAG, SCHEDULE } option_type;

typedef struct {
    const char *name; /* command-line spelling, without "--" */
    unsigned bit;     /* LM_OPT_* */
    unsigned kinds;   /* optimizers it belongs to */
    option_type type;
    size_t offset;    /* of the field in lm_optim_config */
} option_info;

#define FIELD(f) offsetof(lm_optim_config, f)
static const option_info options[] = {
    {"lr", LM_OPT_LR, ALL_KINDS, REAL, FIELD(lr)},
    {"momentum", LM_OPT_MOMENTUM, SGD_FAMILY, REAL, FIELD(momentum)},
    {"dampening", LM_OPT_DAMPENING, KIND(LM_OPTIM_SGD), REAL, FIELD(dampening)},
    {"nesterov", LM_OPT_NESTEROV, KIND(LM_OPTIM_SGD), FLAG, FIELD(nesterov)},
    {"weight-decay", LM_OPT_WEIGHT_DECAY, ALL_KINDS, REAL, FIELD(weight_decay)},
    {"beta1", LM_OPT_BETA1, ADAM_FAMILY, REAL, FIELD(beta1)},
    {"beta2", LM_OPT_BETA2, ADAM_FAMILY, REAL, FIELD(beta2)},
    {"eps", LM_OPT_EPS, ADAM_FAMILY, REAL, FIELD(eps)},
    {"eta1", LM_OPT_ETA1, MASS, REAL, FIELD(eta1)},
    {"eta2", LM_OPT_ETA2, MASS, REAL, FIELD(eta2)},
    {"gamma", LM_OPT_GAMMA, MASS, REAL, FIELD(gamma)},
    {"alpha", LM_OPT_ALPHA, MASS, REAL, FIELD(alpha)},
    {"kappa-tilde", LM_OPT_KAPPA_TILDE, MASS, REAL, FIELD(kappa_tilde)},
    {"schedule", LM_OPT_SCHEDULE, ALL_KINDS, SCHEDULE, FIELD(schedule)},
    {"restart", LM_OPT_RESTART, ALL_KINDS, FLAG, FIELD(restart)},
    {"auto", LM_OPT_AUTO, KIND(LM_OPTIM_SGD) | MASS, FLAG, FIELD(auto_hp)},
};
#define N_OPTIONS (int)(sizeof options / sizeof options[0])

static const char *kind_names[] = {"sgd", "heavyball", "nesterov", "adam", "adamw", "mass"};

const char *lm_optim_kind_name(lm_optim_kind k)
{
    return (unsigned)k < 6 ? kind_names[k] : "unknown";
}

lm_status lm_optim_kind_parse(const char *name, lm_optim_kind *out)
{
    for (int k = 0; k < 6; k++)
        if (strcmp(name, kind_names[k]) == 0) {
            *out = (lm_optim_kind)k;
            return LM_OK;
        }
    return lm_fail(LM_EINVAL, "--optim '%s' is unknown (sgd, heavyball, nesterov, adam, adamw, mass)",
                   name);
}

void lm_optim_config_init(lm_optim_config *c, lm_optim_kind kind)
{
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->lr = (kind == LM_OPTIM_ADAM || kind == LM_OPTIM_ADAMW) ? 1e-3 : 1e-2;
    c->momentum = (kind == LM_OPTIM_HEAVYBALL || kind == LM_OPTIM_NESTEROV) ? 0.9 : 0;
    c->nesterov = kind == LM_OPTIM_NESTEROV;
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

static const option_info *find_option(const char *option)
{
    char name[32];
    while (*option == '-') option++;
    snprintf(name, sizeof name, "%s", option);
    for (char *p = name; *p; p++)
        if (*p == '_') *p = '-';
    for (int i = 0; i < N_OPTIONS; i++)
        if (strcmp(options[i].name, name) == 0) return &options[i];
    return NULL;
}

const char *lm_optim_option_name(unsigned bit)
{
    static const char *dashed[] = {"--lr", "--momentum", "--dampening", "--nesterov",
                                   "--weight-decay", "--beta1", "--beta2", "--eps", "--eta1",
                                   "--eta2", "--gamma", "--alpha", "--kappa-tilde", "--schedule",
                                   "--restart", "--auto"};
    for (int i = 0; i < N_OPTIONS; i++)
        if (options[i].bit == bit) return dashed[i];
    return "--?";
}

static lm_status parse_real(const char *name, const char *value, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(value, &end);
    if (end == value || *end != '\0' || errno || !isfinite(v))
        return lm_fail(LM_EINVAL, "--%s '%s' is not a finite number", name, value);
    *out = v;
    return LM_OK;
}

static lm_status parse_flag(const char *name, const char *value, int *out)
{
    if (!value || strcmp(value, "1") == 0 || strcmp(value, "true") == 0) *out = 1;
    else if (strcmp(value, "0") == 0 || strcmp(value, "false") == 0) *out = 0;
    else return lm_fail(LM_EINVAL, "--%s '%s' is not 0 or 1", name, value);
    return LM_OK;
}

lm_status lm_optim_config_set(lm_optim_config *c, const char *option, const char *value)
{
    const option_info *o = find_option(option);
    if (!o) return lm_fail(LM_EINVAL, "optimizer option '%s' is unknown", option);
    if (o->type != FLAG && !value)
        return lm_fail(LM_EINVAL, "--%s needs a value", o->name);
    void *field = (char *)c + o->offset;
    lm_status st = o->type == REAL ? parse_real(o->name, value, field)
                 : o->type == FLAG ? parse_flag(o->name, value, field)
                                   : lm_schedule_parse(value, field);
    if (st == LM_OK) c->given |= o->bit;
    return st;
}

/* ---- validation ---- */

static lm_status foreign_options(const lm_optim_config *c)
{
    for (int i = 0; i < N_OPTIONS; i++) {
        const option_info *o = &options[i];
        if (!(c->given & o->bit) || (o->kinds & KIND(c->kind))) continue;
        char owners[64] = "";
        for (int k = 0; k < 6; k++)
            if (o->kinds & KIND(k))
                snprintf(owners + strlen(owners), sizeof owners - strlen(owners), "%s%s",
                         owners[0] ? ", " : "", kind_names[k]);
        return lm_fail(LM_EINVAL, "optimizer %s: --%s belongs to %s, not %s",
                       kind_names[c->kind], o->name, owners, kind_names[c->kind]);
    }
    return LM_OK;
}

/* lo < v < hi, with the ends included when the flags say so. */
static lm_status check_range(const lm_optim_config *c, const char *name, double v, double lo,
                             int lo_in, double hi, int hi_in)
{
    int ok = isfinite(v) && (lo_in ? v >= lo : v > lo) && (hi_in ? v <= hi : v < hi);
    if (ok) return LM_OK;
    char upper[32];
    if (isinf(hi)) snprintf(upper, sizeof upper, "inf)");
    else snprintf(upper, sizeof upper, "%g%c", hi, hi_in ? ']' : ')');
    return lm_fail(LM_EINVAL, "optimizer %s: --%s %g is outside %c%g, %s", kind_names[c->kind],
                   name, v, lo_in ? '[' : '(', lo, upper);
}

#define CHECK_RANGE(name, v, lo, lo_in, hi, hi_in)                            \
    do {                                                                     \
        lm_status st_ = check_range(c, name, v, lo, lo_in, hi, hi_in);       \
        if (st_) return st_;                                                 \
    } while (0)

static lm_status validate_sgd(lm_optim_config *c)
{
    if (c->kind == LM_OPTIM_HEAVYBALL) c->dampening = 0, c->nesterov = 0;
    if (c->kind == LM_OPTIM_NESTEROV) c->dampening = 0, c->nesterov = 1;
    CHECK_RANGE("momentum", c->momentum, 0, 1, 1, 0);
    CHECK_RANGE("dampening", c->dampening, 0, 1, 1, 1);
    if (c->nesterov && (c->momentum == 0 || c->dampening != 0))
        return lm_fail(LM_EINVAL, "optimizer %s: Nesterov momentum needs --momentum > 0 (got %g) "
                       "and --dampening 0 (got %g)", kind_names[c->kind], c->momentum,
                       c->dampening);
    return LM_OK;
}

static lm_status validate_adam(lm_optim_config *c)
{
    CHECK_RANGE("beta1", c->beta1, 0, 1, 1, 0);
    CHECK_RANGE("beta2", c->beta2, 0, 1, 1, 0);
    CHECK_RANGE("eps", c->eps, 0, 0, INFINITY, 0);
    return LM_OK;
}

static lm_status validate_mass(lm_optim_config *c)
{
    const unsigned eta_form = LM_OPT_ETA1 | LM_OPT_ETA2 | LM_OPT_GAMMA;
    const unsigned authors_form = LM_OPT_LR | LM_OPT_ALPHA | LM_OPT_KAPPA_TILDE;
    if ((c->given & eta_form) && (c->given & authors_form))
        return lm_fail(LM_EINVAL, "optimizer mass: give either --eta1 --eta2 --gamma or --lr "
                       "--alpha --kappa-tilde, not options of both forms");
    if (c->given & eta_form) c->mass_form = LM_MASS_ETA;
    if (c->given & authors_form) c->mass_form = LM_MASS_AUTHORS;
    if (c->mass_form == LM_MASS_ETA) {
        for (unsigned bit = LM_OPT_ETA1; bit <= LM_OPT_GAMMA; bit <<= 1)
            if ((c->given & eta_form) && !(c->given & bit))
                return lm_fail(LM_EINVAL, "optimizer mass: the (eta1, eta2, gamma) form needs "
                               "%s too", lm_optim_option_name(bit));
        CHECK_RANGE("eta1", c->eta1, 0, 0, INFINITY, 0);
        if (c->eta2 < 0)
            return lm_fail(LM_EINVAL, "optimizer mass: --eta2 %g is negative (the compensation "
                           "term enters with a plus sign)", c->eta2);
        CHECK_RANGE("eta2", c->eta2, 0, 1, INFINITY, 0);
        CHECK_RANGE("gamma", c->gamma, 0, 1, 1, 0);
        lm_mass3_hp a = lm_mass_to_authors((lm_mass_hp){c->eta1, c->eta2, c->gamma, 0});
        c->lr = a.eta, c->alpha = a.alpha, c->kappa_tilde = a.kappa_tilde;
    } else {
        CHECK_RANGE("lr", c->lr, 0, 0, INFINITY, 0);
        CHECK_RANGE("alpha", c->alpha, 0, 0, 1, 0);
        CHECK_RANGE("kappa-tilde", c->kappa_tilde, 1, 1, INFINITY, 0);
        lm_mass_hp h = lm_mass_from_authors((lm_mass3_hp){c->lr, c->alpha, c->kappa_tilde, 0});
        c->eta1 = h.eta1, c->eta2 = h.eta2, c->gamma = h.gamma;
    }
    return LM_OK;
}

lm_status lm_optim_config_validate(lm_optim_config *c)
{
    if ((unsigned)c->kind >= 6) return lm_fail(LM_EINVAL, "optimizer: kind %d is unknown", c->kind);
    lm_status st = foreign_options(c);
    if (st) return st;
    if (c->kind != LM_OPTIM_MASS) CHECK_RANGE("lr", c->lr, 0, 0, INFINITY, 0);
    CHECK_RANGE("weight-decay", c->weight_decay, 0, 1, INFINITY, 0);
    if (c->schedule.kind == LM_SCHED_COSINE && c->schedule.total_epochs <= 0)
        return lm_fail(LM_EINVAL, "optimizer %s: --schedule cosine needs the run's number of "
                       "epochs (schedule.total_epochs is %d)", kind_names[c->kind],
                       c->schedule.total_epochs);
    switch (c->kind) {
    case LM_OPTIM_ADAM:
    case LM_OPTIM_ADAMW: return validate_adam(c);
    case LM_OPTIM_MASS: return validate_mass(c);
    default: return validate_sgd(c);
    }
}
