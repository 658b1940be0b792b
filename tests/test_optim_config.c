// ctest-labels: optim
/* Options, validation messages, schedules and restarts of the optimizers. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "linmass/optim.h"

/* Builds a config of `kind` from "name=value" pairs and validates it; returns the status and
 * leaves the message in lm_error_message(). */
static lm_status configure(const char *kind, const char *const *opts, lm_optim_config *c)
{
    lm_optim_kind k;
    lm_status st = lm_optim_kind_parse(kind, &k);
    if (st) return st;
    lm_optim_config_init(c, k);
    for (; *opts; opts++) {
        char name[64];
        const char *eq = strchr(*opts, '=');
        snprintf(name, sizeof name, "%.*s", (int)(eq - *opts), *opts);
        if ((st = lm_optim_config_set(c, name, eq + 1))) return st;
    }
    c->schedule.total_epochs = 10;
    return lm_optim_config_validate(c);
}

static void expect_error(const char *kind, const char *const *opts, const char *fragment)
{
    lm_optim_config c;
    lm_error_clear();
    lm_status st = configure(kind, opts, &c);
    CHECK_MSG(st == LM_EINVAL, "%s %s...: accepted, expected an error with '%s'", kind, opts[0],
              fragment);
    CHECK_MSG(strstr(lm_error_message(), fragment) != NULL, "message '%s' lacks '%s'",
              lm_error_message(), fragment);
    printf("  %-9s %-28s -> %s\n", kind, opts[0], lm_error_message());
}

#define OPTS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void rejects_bad_options(void)
{
    expect_error("sgd", OPTS("lr=-0.1"), "lr -0.1 is outside (0, inf)");
    expect_error("mass", OPTS("eta1=-1", "eta2=0", "gamma=0.5"), "eta1 -1 is outside");
    expect_error("mass", OPTS("eta1=0.1", "eta2=-0.01", "gamma=0.5"), "eta2 -0.01 is negative");
    expect_error("mass", OPTS("eta1=0.1", "eta2=0.01", "gamma=1"), "gamma 1 is outside [0, 1)");
    expect_error("mass", OPTS("eta1=0.1", "eta2=0.01", "gamma=-0.1"), "gamma -0.1 is outside");
    expect_error("mass", OPTS("alpha=1.5"), "optimizer mass: alpha 1.5 is outside (0, 1)");
    expect_error("mass", OPTS("alpha=0"), "alpha 0 is outside (0, 1)");
    expect_error("mass", OPTS("kappa-tilde=0.5"), "kappa_tilde 0.5 is outside [1, inf)");
    expect_error("mass", OPTS("eta1=0.1", "alpha=0.1"), "not options of both forms");
    expect_error("mass", OPTS("eta1=0.1", "gamma=0.9"), "needs eta2 too");
    expect_error("mass", OPTS("momentum=0.9"), "momentum belongs to sgd, heavyball, nesterov");
    expect_error("sgd", OPTS("beta1=0.9"), "optimizer sgd: beta1 belongs to adam, adamw, not sgd");
    expect_error("adam", OPTS("kappa-tilde=2"), "kappa_tilde belongs to mass");
    expect_error("heavyball", OPTS("dampening=0.1"), "dampening belongs to sgd");
    expect_error("adamw", OPTS("auto=1"), "auto belongs to sgd, mass");
    expect_error("sgd", OPTS("momentum=1"), "momentum 1 is outside [0, 1)");
    expect_error("sgd", OPTS("nesterov=1", "momentum=0.9", "dampening=0.1"), "Nesterov momentum");
    expect_error("adam", OPTS("beta2=1"), "beta2 1 is outside [0, 1)");
    expect_error("adam", OPTS("eps=0"), "eps 0 is outside (0, inf)");
    expect_error("adamw", OPTS("weight-decay=-1e-4"), "weight_decay -0.0001 is outside");
    expect_error("sgd", OPTS("lr=abc"), "lr 'abc' is not a finite number");
    expect_error("sgd", OPTS("frobnicate=1"), "'frobnicate' is unknown");
    expect_error("rmsprop", OPTS("lr=1"), "optimizer 'rmsprop' is unknown");
    expect_error("sgd", OPTS("schedule=multistep:60,30"), "milestone 30 does not increase");
    expect_error("sgd", OPTS("schedule=warmup:-5"), "warm-up steps -5 is negative");
    expect_error("sgd", OPTS("schedule=linear"), "unknown 'linear'");
    expect_error("sgd", OPTS("schedule=cosine+multistep:3"), "only a warm-up combines");

    lm_optim_config c;
    lm_optim_config_init(&c, LM_OPTIM_SGD);
    CHECK(lm_optim_config_set(&c, "schedule", "cosine") == LM_OK);
    CHECK(lm_optim_config_validate(&c) == LM_EINVAL); /* cosine without the run's length */
}

static void accepts_and_maps(void)
{
    lm_optim_config c;
    CHECK(configure("mass", OPTS("lr=0.1", "alpha=0.05", "kappa_tilde=3"), &c) == LM_OK);
    CHECK(c.mass_form == LM_MASS_AUTHORS);
    CHECK_CLOSE(c.eta1, 0.1, 1e-15);
    CHECK_CLOSE(c.gamma, 0.95 / 1.05, 1e-15);
    CHECK_CLOSE(c.eta2, 0.1 * (2.0 / 3) / 1.05, 1e-15);
    CHECK(configure("mass", OPTS("eta1=0.1", "eta2=0.05", "gamma=0.9"), &c) == LM_OK);
    CHECK(c.mass_form == LM_MASS_ETA);
    CHECK_CLOSE(c.alpha, 0.1 / 1.9, 1e-15);
    CHECK_CLOSE(c.kappa_tilde, 1 / (1 - 0.05 * (1 + 0.1 / 1.9) / 0.1), 1e-14);
    CHECK(configure("mass", OPTS("eta1=0.1", "eta2=0.2", "gamma=0.9"), &c) == LM_OK);
    CHECK(isinf(c.kappa_tilde)); /* no authors' form, but a valid MaSS */
    CHECK(configure("nesterov", OPTS("lr=0.1"), &c) == LM_OK);
    CHECK(c.nesterov == 1 && c.momentum == 0.9 && c.dampening == 0);
    CHECK(configure("heavyball", OPTS("momentum=0.5"), &c) == LM_OK);
    CHECK(c.nesterov == 0 && c.dampening == 0);
    CHECK(configure("adamw", OPTS("beta1=0.8", "schedule=warmup:100+cosine"), &c) == LM_OK);
    CHECK(c.given == (LM_OPT_BETA1 | LM_OPT_SCHEDULE));
    CHECK(c.lr == 1e-3 && c.beta1 == 0.8 && c.schedule.warmup == 100);
    CHECK(!strcmp(lm_optim_option_name(LM_OPT_KAPPA_TILDE), "kappa_tilde"));
    CHECK(!strcmp(lm_optim_option_name(LM_OPT_WEIGHT_DECAY), "weight_decay"));
    CHECK(configure("sgd", OPTS("--lr=0.1"), &c) == LM_EINVAL); /* no command-line spellings */
}

static void schedules(void)
{
    lm_schedule s;
    char text[64];
    CHECK(lm_schedule_parse("multistep:60,120", &s) == LM_OK);
    CHECK(lm_schedule_factor(&s, 0, 0) == 1 && lm_schedule_factor(&s, 59, 10) == 1);
    CHECK_CLOSE(lm_schedule_factor(&s, 60, 10), 0.1, 1e-15);
    CHECK_CLOSE(lm_schedule_factor(&s, 149, 10), 0.01, 1e-15);
    CHECK(lm_schedule_drops_at(&s, 60) && lm_schedule_drops_at(&s, 120) && !lm_schedule_drops_at(&s, 61));
    CHECK(lm_schedule_parse("cosine", &s) == LM_OK);
    s.total_epochs = 100;
    CHECK(lm_schedule_factor(&s, 0, 0) == 1);
    CHECK_CLOSE(lm_schedule_factor(&s, 50, 0), 0.5, 1e-15);
    CHECK(lm_schedule_factor(&s, 99, 0) < 1e-3 && !lm_schedule_drops_at(&s, 50));
    CHECK(lm_schedule_parse("warmup:4", &s) == LM_OK);
    CHECK_CLOSE(lm_schedule_factor(&s, 0, 0), 0.25, 1e-15);
    CHECK_CLOSE(lm_schedule_factor(&s, 0, 2), 0.75, 1e-15);
    CHECK(lm_schedule_factor(&s, 0, 3) == 1 && lm_schedule_factor(&s, 5, 1000) == 1);
    lm_schedule_format(&s, text, sizeof text);
    CHECK(!strcmp(text, "warmup:4"));
    CHECK(lm_schedule_parse("multistep:2,5+warmup:10", &s) == LM_OK);
    CHECK_CLOSE(lm_schedule_factor(&s, 2, 4), 0.05, 1e-15);
    lm_schedule_format(&s, text, sizeof text);
    CHECK(!strcmp(text, "warmup:10+multistep:2,5"));
}

static void restart_and_state(void)
{
    float w[3] = {1, 2, 3}, g[3] = {0.5f, -1, 2};
    lm_optim_config c;
    lm_optim *o;

    CHECK(configure("mass", OPTS("lr=0.1"), &c) == LM_OK);
    CHECK(lm_optim_create(&c, w, 3, &o) == LM_OK);
    CHECK(lm_optim_num_state(o) == 2 && !strcmp(lm_optim_state_name(o, 0), "u") &&
          !strcmp(lm_optim_state_name(o, 1), "v"));
    CHECK(lm_optim_eval_point(o) == lm_optim_state(o, 0) && lm_optim_weights(o) == w);
    lm_optim_step(o, g, 1);
    lm_optim_step(o, g, 1);
    CHECK(lm_optim_step_count(o) == 2 && lm_optim_eval_point(o)[0] != w[0]);
    float u[3]; /* a restart starts from u: w = v = u (docs/theory.md §1.1) */
    memcpy(u, lm_optim_state(o, 0), sizeof u);
    CHECK(memcmp(u, w, sizeof u) && memcmp(lm_optim_state(o, 1), u, sizeof u));
    lm_optim_restart(o);
    CHECK(lm_optim_step_count(o) == 0);
    CHECK(!memcmp(w, u, sizeof w) && !memcmp(lm_optim_state(o, 0), u, sizeof u) && !memcmp(lm_optim_state(o, 1), u, sizeof u));
    lm_optim_free(o);

    /* a restarted heavy ball takes a plain first step again: buf = g, w -= lr g */
    CHECK(configure("heavyball", OPTS("lr=0.1", "momentum=0.9"), &c) == LM_OK);
    CHECK(lm_optim_create(&c, w, 3, &o) == LM_OK);
    CHECK(!strcmp(lm_optim_state_name(o, 0), "momentum_buffer"));
    lm_optim_step(o, g, 1);
    lm_optim_step(o, g, 1);
    lm_optim_restart(o);
    float before = w[2];
    lm_optim_step(o, g, 1);
    CHECK_CLOSE(w[2], before - 0.1f * 2, 1e-6);
    CHECK(lm_optim_state(o, 0)[2] == 2);
    lm_optim_free(o);

    CHECK(configure("adam", OPTS("lr=0.1"), &c) == LM_OK);
    CHECK(lm_optim_create(&c, w, 3, &o) == LM_OK);
    CHECK(lm_optim_num_state(o) == 2 && !strcmp(lm_optim_state_name(o, 1), "exp_avg_sq"));
    before = w[0];
    lm_optim_step(o, g, 0.5); /* Adam's first step moves each weight by lr (times the factor) */
    CHECK_CLOSE(before - w[0], 0.05, 1e-5);
    lm_optim_free(o);

    CHECK(configure("sgd", OPTS("lr=0.1"), &c) == LM_OK);
    CHECK(lm_optim_create(&c, w, 3, &o) == LM_OK);
    CHECK(lm_optim_num_state(o) == 0);
    lm_optim_free(o);

    c.lr = -1; /* create validates its copy */
    CHECK(lm_optim_create(&c, w, 3, &o) == LM_EINVAL && o == NULL);
}

/* lm_optim_defaults_help: a line per optimizer with PyTorch's defaults and the MaSS defaults
 * (lr 0.01, alpha 0.05, kappa_tilde 3) mapped by docs/theory.md §1.1: gamma = (1 - alpha)/(1 +
 * alpha), eta2 = lr (1 - 1/kappa_tilde)/(1 + alpha); the length it needs when cut short. */
static void defaults_help(void)
{
    char text[2048], mass[160], small[16];
    size_t n = lm_optim_defaults_help(text, sizeof text);
    CHECK(n == strlen(text));
    CHECK_TEXT(strstr(text, "  adam ") ? strstr(text, "  adam ") : "",
               "  adam      `lr` 0.001, `weight_decay` 0, `beta1` 0.9, `beta2` 0.999, `eps` 1e-08\n"
               "  adamw     `lr` 0.001, `weight_decay` 0, `beta1` 0.9, `beta2` 0.999, `eps` 1e-08\n"
               "  mass      `lr` 0.01, `weight_decay` 0, `eta1` 0.01, `eta2` 0.00634921, `gamma` 0.904762, `alpha` 0.05, "
               "`kappa_tilde` 3\n",
               "adam, adamw and mass lines");
    snprintf(mass, sizeof mass, "`eta2` %.6g, `gamma` %.6g,", 0.01 * (1 - 1 / 3.0) / 1.05, 0.95 / 1.05);
    CHECK_MSG(strstr(text, mass), "no '%s' in:\n%s", mass, text);
    const char *sgd = "  sgd       `lr` 0.01, `momentum` 0, `dampening` 0, `nesterov` 0, `weight_decay` 0\n";
    CHECK_MSG(!strncmp(text, sgd, strlen(sgd)), "the first line is not sgd's:\n%s", text);
    int lines = 0;
    for (const char *p = text; *p; p++) lines += *p == '\n';
    CHECK(lines == LM_OPTIM_COUNT);
    CHECK(lm_optim_defaults_help(small, sizeof small) == n && strlen(small) == sizeof small - 1);
}

int main(void)
{
    defaults_help();
    rejects_bad_options();
    accepts_and_maps();
    schedules();
    restart_and_state();
    return check_summary();
}
