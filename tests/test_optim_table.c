// ctest-labels: optim unit
/* The optimizer descriptor table (src/optim/optim_def.h): names that round-trip, options that
 * belong to the kinds the descriptors say, state buffers with their names and restart values,
 * and each optimizer's first step from its defaults against the closed form of its update
 * (one row per optimizer below: adding an optimizer adds its row), in float through
 * lm_optim_step and in double through the descriptor's _f64 step, both from one source. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "linmass/optim.h"
#include "optim/optim_def.h"

enum { N = 5 };
static const double w0[N] = {0.5, -1.25, 2, 0.75, -0.1};
static const double g0[N] = {0.3, -2, 0.01, 1.5, -0.7};

/* The first step from w0 with the gradient g0 at the defaults: the new weights w and the new
 * evaluation point u (u = w unless the optimizer keeps its own). */
static void first_sgd(const lm_optim_config *c, double w, double g, double *w1, double *u1)
{
    *w1 = *u1 = w - c->lr * g; /* momentum 0 */
}

static void first_heavyball(const lm_optim_config *c, double w, double g, double *w1, double *u1)
{
    *w1 = *u1 = w - c->lr * g; /* the buffer starts as g */
}

static void first_nesterov(const lm_optim_config *c, double w, double g, double *w1, double *u1)
{
    *w1 = *u1 = w - c->lr * (g + c->momentum * g);
}

/* m = (1 - b1) g and v = (1 - b2) g^2 after the bias corrections are g and g^2 */
static void first_adam(const lm_optim_config *c, double w, double g, double *w1, double *u1)
{
    *w1 = *u1 = w - c->lr * g / (fabs(g) + c->eps);
}

/* u = v = w at the start: w' = w - eta g, v' = w - delta g, u' = (alpha v' + w') / (1 + alpha) */
static void first_mass(const lm_optim_config *c, double w, double g, double *w1, double *u1)
{
    double delta = c->lr / (c->alpha * c->kappa_tilde);
    *w1 = w - c->lr * g;
    *u1 = (c->alpha * (w - delta * g) + *w1) / (1 + c->alpha);
}

static const struct {
    lm_optim_kind kind;
    void (*first)(const lm_optim_config *c, double w, double g, double *w1, double *u1);
} rows[] = {
    {LM_OPTIM_SGD, first_sgd},   {LM_OPTIM_HEAVYBALL, first_heavyball},
    {LM_OPTIM_NESTEROV, first_nesterov}, {LM_OPTIM_ADAM, first_adam},
    {LM_OPTIM_ADAMW, first_adam}, {LM_OPTIM_MASS, first_mass},
};

static void names_and_options(lm_optim_kind k, const lm_optim_def *d)
{
    lm_optim_kind back = LM_OPTIM_COUNT;
    CHECK_MSG(lm_optim_kind_parse(lm_optim_kind_name(k), &back) == LM_OK && back == k, "kind %d: name '%s'", k,
              lm_optim_kind_name(k));
    for (unsigned bit = 1; bit < 1u << LM_OPT_COUNT; bit <<= 1) {
        if (bit == LM_OPT_SCHEDULE) continue; /* takes a schedule, not a number */
        lm_optim_config c;
        lm_optim_config_init(&c, k);
        c.schedule.total_epochs = 1;
        const char *name = lm_optim_option_name(bit);
        CHECK_MSG(strcmp(name, "?") && !strchr(name, '-'), "option bit %#x: name '%s'", bit, name);
        const char *value = bit == LM_OPT_NESTEROV ? "0" : bit == LM_OPT_RESTART || bit == LM_OPT_AUTO ? "1"
                            : bit == LM_OPT_KAPPA_TILDE ? "2" : "0.5"; /* valid for the option */
        lm_status st = lm_optim_config_set(&c, name, value);
        if (!st) st = lm_optim_config_validate(&c);
        if (d->options & bit) {
            if (bit != LM_OPT_ETA1 && bit != LM_OPT_ETA2 && bit != LM_OPT_GAMMA) /* one form whole */
                CHECK_MSG(st == LM_OK, "%s: %s %s refused: %s", d->name, name, value, lm_error_message());
        } else {
            char belongs[64];
            snprintf(belongs, sizeof belongs, "%s: %s belongs to", d->name, name);
            CHECK_MSG(st == LM_EINVAL && strstr(lm_error_message(), belongs), "%s accepts %s: %s", d->name, name,
                      lm_error_message());
        }
    }
}

static void first_step(lm_optim_kind k, const lm_optim_def *d,
                       void (*first)(const lm_optim_config *, double, double, double *, double *))
{
    lm_optim_config c;
    lm_optim_config_init(&c, k);
    float w[N];
    for (int i = 0; i < N; i++) w[i] = (float)w0[i];
    lm_optim *o;
    CHECK(lm_optim_create(&c, w, N, &o) == LM_OK);
    if (!o) return;
    c = *lm_optim_hparams(o); /* validated: the other MaSS form filled in */
    for (int s = 0; s < lm_optim_num_state(o); s++) { /* restart values */
        CHECK_MSG(!strcmp(lm_optim_state_name(o, s), d->state[s]), "%s: state %d", d->name, s);
        for (int i = 0; i < N; i++)
            CHECK(lm_optim_state(o, s)[i] == (d->state_from_w ? w[i] : 0));
    }
    CHECK(lm_optim_eval_point(o) == (d->eval_state < 0 ? w : lm_optim_state(o, d->eval_state)));
    float g[N];
    double wd[N], gd[N], sd[LM_OPTIM_MAX_STATE][N];
    double *s[LM_OPTIM_MAX_STATE] = {NULL};
    for (int i = 0; i < N; i++) g[i] = (float)g0[i], wd[i] = w[i], gd[i] = g[i];
    for (int j = 0; j < lm_optim_num_state(o); j++) {
        s[j] = sd[j];
        for (int i = 0; i < N; i++) sd[j][i] = lm_optim_state(o, j)[i];
    }
    lm_optim_step(o, g, 1);
    lm_optim_step_args a = {&c, 1, 1, lm_optim_num_state(o)};
    d->step_f64(&a, N, wd, gd, s);
    const double *ud = d->eval_state < 0 ? wd : s[d->eval_state];
    for (int i = 0; i < N; i++) {
        double w1, u1;
        first(&c, (float)w0[i], (float)g0[i], &w1, &u1);
        CHECK_MSG(check_close(wd[i], w1, 1e-12, 1e-15) && check_close(ud[i], u1, 1e-12, 1e-15),
                  "%s f64: w %.17g u %.17g, expected %.17g %.17g", d->name, wd[i], ud[i], w1, u1);
        CHECK_MSG(check_close(w[i], w1, 3e-7, 1e-9) && check_close(lm_optim_eval_point(o)[i], u1, 3e-7, 1e-9),
                  "%s f32: w %.9g u %.9g, expected %.9g %.9g", d->name, w[i], lm_optim_eval_point(o)[i], w1, u1);
    }
    CHECK_MSG(w[0] != (float)w0[0], "%s: the step did not move the weights", d->name);
    lm_optim_free(o);
}

int main(void)
{
    for (int k = 0; k < LM_OPTIM_COUNT; k++) {
        const lm_optim_def *d = lm_optim_def_of(k);
        CHECK_MSG(d && d->kind == (lm_optim_kind)k && d->validate && d->step_f32 && d->step_f64, "kind %d: no descriptor", k);
        if (!d) continue;
        int row = -1;
        for (size_t r = 0; r < sizeof rows / sizeof *rows; r++)
            if (rows[r].kind == (lm_optim_kind)k) row = (int)r;
        CHECK_MSG(row >= 0, "optimizer '%s' has no first-step row in test_optim_table.c", d->name);
        names_and_options(k, d);
        if (row >= 0) first_step(k, d, rows[row].first);
    }
    CHECK(lm_optim_def_of(LM_OPTIM_COUNT) == NULL);
    lm_optim_kind k;
    CHECK(lm_optim_kind_parse("rmsprop", &k) == LM_EINVAL && strstr(lm_error_message(), "(sgd, heavyball, "));
    for (int i = 0; i < LM_OPTIM_COUNT; i++) /* the message lists every optimizer */
        CHECK_MSG(strstr(lm_error_message(), lm_optim_kind_name(i)), "'%s' lacks %s", lm_error_message(),
                  lm_optim_kind_name(i));
    return check_summary();
}
