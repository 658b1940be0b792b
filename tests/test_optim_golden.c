// ctest-labels: optim
/* Golden trajectories: 20 steps of each optimizer on a fixed quadratic must match the iterates
 * PyTorch wrote (tools/gen_optim_fixtures.py) to 1e-5 relative in float32 (1e-12 in float64),
 * and the schedule must give PyTorch's learning rate at every step to 1e-12. MaSS with
 * eta2 = 0 must reproduce PyTorch's Nesterov iterates at its evaluation point u. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/optim.h"

#define MAX_DIM 16
#define MAX_STEPS 64

typedef struct {
    char name[64], dtype[16], options[256], schedule[64];
    int epochs, steps_per_epoch, dim, steps;
    double A[MAX_DIM * MAX_DIM], b[MAX_DIM], w0[MAX_DIM];
    double lr[MAX_STEPS], w[MAX_STEPS][MAX_DIM];
} fixture;

static int read_values(FILE *f, double *out, int count)
{
    for (int i = 0; i < count; i++)
        if (fscanf(f, "%lf", &out[i]) != 1) return 0;
    return 1;
}

static int load_fixture(const char *name, fixture *fx)
{
    char path[256], key[64];
    snprintf(path, sizeof path, "tests/fixtures/optim_%s.txt", name);
    FILE *f = fopen(path, "r");
    if (!f) {
        CHECK_MSG(0, "cannot open %s (run from the repository root)", path);
        return 0;
    }
    memset(fx, 0, sizeof *fx);
    int ok = 1, lr_k = 0, w_k = 0;
    while (ok && fscanf(f, "%63s", key) == 1) {
        if (key[0] == '#') ok = fscanf(f, "%*[^\n]") >= 0;
        else if (!strcmp(key, "case")) ok = fscanf(f, "%63s", fx->name) == 1;
        else if (!strcmp(key, "dtype")) ok = fscanf(f, "%15s", fx->dtype) == 1;
        else if (!strcmp(key, "options")) ok = fscanf(f, " %255[^\n]", fx->options) == 1;
        else if (!strcmp(key, "schedule")) ok = fscanf(f, "%63s", fx->schedule) == 1;
        else if (!strcmp(key, "epochs")) ok = fscanf(f, "%d", &fx->epochs) == 1;
        else if (!strcmp(key, "steps_per_epoch")) ok = fscanf(f, "%d", &fx->steps_per_epoch) == 1;
        else if (!strcmp(key, "dim")) ok = fscanf(f, "%d", &fx->dim) == 1 && fx->dim <= MAX_DIM;
        else if (!strcmp(key, "steps")) ok = fscanf(f, "%d", &fx->steps) == 1 && fx->steps <= MAX_STEPS;
        else if (!strcmp(key, "A")) ok = read_values(f, fx->A, fx->dim * fx->dim);
        else if (!strcmp(key, "b")) ok = read_values(f, fx->b, fx->dim);
        else if (!strcmp(key, "w0")) ok = read_values(f, fx->w0, fx->dim);
        else if (!strcmp(key, "lr")) ok = lr_k < MAX_STEPS && read_values(f, &fx->lr[lr_k++], 1);
        else if (!strcmp(key, "w")) ok = w_k < MAX_STEPS && read_values(f, fx->w[w_k++], fx->dim);
        else ok = 0;
    }
    fclose(f);
    ok = ok && fx->dim > 0 && lr_k == fx->steps && w_k == fx->steps;
    CHECK_MSG(ok, "%s: malformed fixture", path);
    return ok;
}

/* The configuration from the fixture's "optim=sgd lr=0.05 ..." line, through the option parser. */
static int fixture_config(const fixture *fx, lm_optim_config *c)
{
    char text[256], *save;
    snprintf(text, sizeof text, "%s", fx->options);
    for (char *tok = strtok_r(text, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) return 0;
        *eq = '\0';
        if (!strcmp(tok, "optim")) {
            lm_optim_kind kind;
            if (lm_optim_kind_parse(eq + 1, &kind)) return 0;
            lm_optim_config_init(c, kind);
        } else if (lm_optim_config_set(c, tok, eq + 1)) {
            return 0;
        }
    }
    if (lm_optim_config_set(c, "schedule", fx->schedule)) return 0;
    c->schedule.total_epochs = fx->epochs;
    return 1;
}

/* g = A x - b in float64 from the float32 point, rounded to float32, as the generator does. */
static void gradient_f32(const fixture *fx, const float *x, float *g)
{
    for (int i = 0; i < fx->dim; i++) {
        double s = -fx->b[i];
        for (int j = 0; j < fx->dim; j++) s += fx->A[i * fx->dim + j] * (double)x[j];
        g[i] = (float)s;
    }
}

static void gradient_f64(const fixture *fx, const double *x, double *g)
{
    for (int i = 0; i < fx->dim; i++) {
        double s = -fx->b[i];
        for (int j = 0; j < fx->dim; j++) s += fx->A[i * fx->dim + j] * x[j];
        g[i] = s;
    }
}

/* Largest |x - ref| / |ref| over a vector, the denominator floored at `floor` max|ref| so that
 * an entry crossing zero is judged against the vector's scale. */
static double rel_err(const fixture *fx, const float *xf, const double *xd, const double *ref,
                      double floor)
{
    double scale = 0, worst = 0;
    for (int i = 0; i < fx->dim; i++) scale = fmax(scale, fabs(ref[i]));
    for (int i = 0; i < fx->dim; i++) {
        double x = xf ? (double)xf[i] : xd[i];
        worst = fmax(worst, fabs(x - ref[i]) / fmax(fabs(ref[i]), floor * scale));
    }
    return worst;
}

/* Element-wise, floored at 1e-3 of the largest entry. */
static double max_rel_err(const fixture *fx, const float *xf, const double *xd, const double *ref)
{
    return rel_err(fx, xf, xd, ref, 1e-3);
}

/* Replays the fixture through lm_optim in float32; `eval` compares the evaluation point
 * instead of the weights (MaSS's u against PyTorch's Nesterov parameters). */
static double replay_f32(const fixture *fx, const lm_optim_config *cfg, int eval,
                         double *norm_err)
{
    double worst_norm = 0;
    float w[MAX_DIM], g[MAX_DIM];
    for (int i = 0; i < fx->dim; i++) w[i] = (float)fx->w0[i];
    lm_optim *o;
    lm_status st = lm_optim_create(cfg, w, (size_t)fx->dim, &o);
    CHECK_MSG(st == LM_OK, "%s: lm_optim_create: %s", fx->name, lm_error_message());
    if (st) return INFINITY;
    double worst = 0;
    for (int k = 0; k < fx->steps; k++) {
        const lm_optim_config *hp = lm_optim_hparams(o); /* validated: lr = eta1 for MaSS */
        double factor = lm_schedule_factor(&hp->schedule, k / fx->steps_per_epoch, k);
        CHECK_CLOSE(hp->lr * factor, fx->lr[k], 1e-12);
        gradient_f32(fx, lm_optim_eval_point(o), g);
        lm_optim_step(o, g, factor);
        const float *x = eval ? lm_optim_eval_point(o) : lm_optim_weights(o);
        worst = fmax(worst, max_rel_err(fx, x, NULL, fx->w[k]));
        worst_norm = fmax(worst_norm, rel_err(fx, x, NULL, fx->w[k], 1));
    }
    if (norm_err) *norm_err = worst_norm;
    lm_optim_free(o);
    return worst;
}

static void golden_f32(const char *name)
{
    fixture fx;
    lm_optim_config cfg;
    if (!load_fixture(name, &fx)) return;
    CHECK_MSG(fixture_config(&fx, &cfg), "%s: options '%s': %s", name, fx.options,
              lm_error_message());
    double norm;
    double worst = replay_f32(&fx, &cfg, 0, &norm);
    printf("%-22s max relative error %.2e element-wise, %.2e norm-wise, %d steps\n", name, worst,
           norm, fx.steps);
    CHECK_MSG(worst <= 1e-5, "%s: iterates differ from PyTorch by %.3g relative", name, worst);
}

/* Nesterov in float64 through the f64 SGD kernel, and MaSS with eta2 = 0 through the f64 MaSS
 * kernel, against PyTorch's float64 Nesterov: the look-ahead identity of docs/theory.md §1. */
static void nesterov_f64(void)
{
    fixture fx;
    lm_optim_config cfg;
    if (!load_fixture("nesterov_f64", &fx) || !fixture_config(&fx, &cfg)) return;
    double w[MAX_DIM], buf[MAX_DIM], mw[MAX_DIM], mu[MAX_DIM], g[MAX_DIM];
    memcpy(w, fx.w0, sizeof w);
    memcpy(mw, fx.w0, sizeof mw);
    memcpy(mu, fx.w0, sizeof mu);
    lm_sgd_hp sgd = {cfg.lr, cfg.momentum, 0, cfg.weight_decay, 1};
    lm_mass_hp mass = {cfg.lr, 0, cfg.momentum, cfg.weight_decay};
    double worst_sgd = 0, worst_mass = 0;
    for (int k = 0; k < fx.steps; k++) {
        gradient_f64(&fx, w, g);
        lm_sgd_step_f64((size_t)fx.dim, w, g, buf, &sgd, k + 1);
        gradient_f64(&fx, mu, g);
        lm_mass_step_f64((size_t)fx.dim, mw, mu, g, &mass);
        worst_sgd = fmax(worst_sgd, max_rel_err(&fx, NULL, w, fx.w[k]));
        worst_mass = fmax(worst_mass, max_rel_err(&fx, NULL, mu, fx.w[k]));
    }
    printf("%-22s max relative error %.2e (sgd kernel), %.2e (mass eta2=0, u)\n", "nesterov_f64",
           worst_sgd, worst_mass);
    CHECK_MSG(worst_sgd <= 1e-12, "float64 Nesterov differs from PyTorch by %.3g", worst_sgd);
    CHECK_MSG(worst_mass <= 1e-12, "MaSS(eta2=0) u differs from PyTorch Nesterov by %.3g",
              worst_mass);
}

/* MaSS with eta2 = 0 through lm_optim in float32: its evaluation point u is PyTorch's Nesterov
 * parameter vector, in both parameterizations (kappa_tilde = 1 is eta2 = 0). The arithmetic
 * differs from PyTorch's, so float32 rounding differs: judged norm-wise (max |x - ref| over
 * max |ref|) at 1e-5; the exact identity is checked in float64 above. */
static void mass_is_nesterov_f32(void)
{
    fixture fx;
    lm_optim_config nest, cfg;
    if (!load_fixture("nesterov", &fx) || !fixture_config(&fx, &nest)) return;
    char v[3][32];
    snprintf(v[0], 32, "%.17g", nest.lr);
    snprintf(v[1], 32, "%.17g", nest.momentum);
    snprintf(v[2], 32, "%.17g", nest.weight_decay);

    lm_optim_config_init(&cfg, LM_OPTIM_MASS);
    CHECK(!lm_optim_config_set(&cfg, "eta1", v[0]) && !lm_optim_config_set(&cfg, "eta2", "0") &&
          !lm_optim_config_set(&cfg, "gamma", v[1]) &&
          !lm_optim_config_set(&cfg, "weight-decay", v[2]));
    double elem, worst = 0;
    elem = replay_f32(&fx, &cfg, 1, &worst);
    printf("%-22s max relative error %.2e element-wise, %.2e norm-wise (u of MaSS eta1, eta2=0, "
           "gamma)\n", "nesterov", elem, worst);
    CHECK_MSG(worst <= 1e-5, "MaSS(eta2=0) differs from PyTorch Nesterov by %.3g", worst);

    double alpha = (1 - nest.momentum) / (1 + nest.momentum);
    snprintf(v[1], 32, "%.17g", alpha);
    lm_optim_config_init(&cfg, LM_OPTIM_MASS);
    CHECK(!lm_optim_config_set(&cfg, "lr", v[0]) && !lm_optim_config_set(&cfg, "alpha", v[1]) &&
          !lm_optim_config_set(&cfg, "kappa-tilde", "1") &&
          !lm_optim_config_set(&cfg, "weight-decay", v[2]));
    elem = replay_f32(&fx, &cfg, 1, &worst);
    printf("%-22s max relative error %.2e element-wise, %.2e norm-wise (u of MaSS lr, alpha, "
           "kappa_tilde=1)\n", "nesterov", elem, worst);
    CHECK_MSG(worst <= 1e-5, "MaSS(kappa_tilde=1) differs from PyTorch Nesterov by %.3g", worst);
}

int main(void)
{
    const char *cases[] = {"sgd_plain", "sgd_momentum", "heavyball", "nesterov", "adam",
                           "adamw", "sgd_warmup_multistep", "adamw_cosine"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) golden_f32(cases[i]);
    nesterov_f64();
    mass_is_nesterov_f32();
    return check_summary();
}
