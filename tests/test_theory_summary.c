// ctest-labels: unit theory
/* The theory's sources and summaries (theory.h), against direct calls of the library and closed
 * forms:
 *   - lm_theory_source_open: a population is lm_population_parse's (label, moments); data are
 *     lm_data_load's training split through lm_dataset_f64 (the first max_samples rows); a
 *     Gaussian kernel's RKHS features on n points have d = n and L1 = k(x, x) = 1;
 *   - lm_constants_summary_make: the JSON's keys, and its numbers those of lm_moments_constants /
 *     lm_linreg_constants and lm_linreg_residual; the texts hold the constants as printed;
 *   - lm_theory_hp_resolve: the section 2.2 values of the constants for what is not given, the
 *     authors' form through lm_mass_from_authors, the step given as eta1;
 *   - lm_theory_source_constants: batch 0 refused;
 *   - lm_theory_rate_summary: rho of lm_theory_rate, speed -log(rho), diverges;
 *   - lm_theory_best_summary: speed-ups over SGD from the results it is given;
 *   - refusals: both or neither source, too many features or points, a model that is no kernel,
 *     a negative sample count, a kernel on a population, kernel rows out of range, a population
 *     too wide: each message starts with the field at fault. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/data.h"
#include "linmass/optim.h"
#include "linmass/theory.h"

static const char *const pop_spec = "gaussian:cond=100,d=2", *const data_spec = "synth:linreg:n=60,d=3,cond=10";

static double num(const cJSON *j, const char *key)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, key);
    CHECK_MSG(cJSON_IsNumber(e), "no number %s", key);
    return cJSON_IsNumber(e) ? e->valuedouble : NAN;
}

static int count_keys(const cJSON *j)
{
    int n = 0;
    for (const cJSON *e = j->child; e; e = e->next) n++;
    return n;
}

static void test_population(void)
{
    lm_theory_source s;
    lm_theory_source_opts o = {.population = pop_spec};
    CHECK(lm_theory_source_open(&o, &s) == LM_OK && s.population && !strcmp(s.label, pop_spec));
    lm_constants direct;
    CHECK(lm_moments_constants(&s.mo, 4, &direct) == LM_OK);
    lm_constants_summary c;
    CHECK(lm_constants_summary_make(&s, 4, &c) == LM_OK && !c.has_floor && c.n_warnings == 0);
    cJSON *j = cJSON_Parse(c.json);
    CHECK(j && count_keys(j) == 1 + 3 + 25 + 1); /* source; d, rank, batch; the constants; warnings */
    CHECK_CLOSE(num(j, "kappa"), 100, 1e-12);
    CHECK_CLOSE(num(j, "L1"), 3.01, 1e-12);
    CHECK_CLOSE(num(j, "L_m"), 3.01 / 4 + 3.0 / 4, 1e-12);
    CHECK_CLOSE(num(j, "mass_rate"), direct.mass_rate, 1e-14);
    CHECK(num(j, "batch") == 4 && !cJSON_GetObjectItemCaseSensitive(j, "n"));
    cJSON_Delete(j);
    CHECK(strstr(c.text, "  kappa        100            L/mu\n") && strstr(c.text, "exact, population"));
    char line[120];
    snprintf(line, sizeof line, "critical batch sizes  m1* = %.6g  m2* = %.6g\n", 3.01, 4.0);
    CHECK_MSG(strstr(c.batch_text, line), "no '%s' in\n%s", line, c.batch_text);
    lm_constants_summary_free(&c);
    lm_theory_source_free(&s);
}

static void test_data(void)
{
    lm_theory_source s;
    lm_theory_source_opts o = {.data = data_spec, .max_samples = 25, .max_dim = 3};
    CHECK(lm_theory_source_open(&o, &s) == LM_OK && !s.population && s.mo.n == 25 && s.mo.d == 3 && s.k == 1);
    lm_dataset *ds;
    double *X, *Y;
    int k;
    CHECK(lm_data_load(data_spec, LM_SPLIT_TRAIN, 0, &ds) == LM_OK && lm_dataset_f64(ds, 25, &X, &Y, &k) == LM_OK);
    CHECK(!memcmp(X, s.X, 25 * 3 * sizeof *X) && !memcmp(Y, s.Y, 25 * sizeof *Y));
    lm_constants direct;
    double floor_loss, zero_loss;
    CHECK(lm_linreg_constants(X, 25, 3, 2, &direct) == LM_OK);
    CHECK(lm_linreg_residual(X, Y, 25, 3, 1, &floor_loss, &zero_loss) == LM_OK);
    lm_constants_summary c;
    CHECK(lm_constants_summary_make(&s, 2, &c) == LM_OK && c.has_floor);
    cJSON *j = cJSON_Parse(c.json);
    CHECK(j && count_keys(j) == 1 + 3 + 1 + 25 + 2 + 1 && num(j, "n") == 25);
    CHECK_CLOSE(num(j, "kappa_tilde"), direct.kappa_tilde, 1e-14);
    CHECK_CLOSE(num(j, "L1_bound"), direct.L1_bound, 1e-14);
    CHECK_CLOSE(num(j, "ls_loss_at_zero"), zero_loss, 1e-14);
    CHECK(fabs(num(j, "ls_floor") - floor_loss) <= 1e-14 * zero_loss);
    cJSON_Delete(j);
    CHECK(strstr(c.text, "synth:linreg:n=60,d=3,cond=10 (train, n=25, d=3)") && strstr(c.text, "least-squares floor"));
    lm_constants_summary_free(&c);
    free(X), free(Y);
    lm_dataset_free(ds);
    lm_theory_source_free(&s);
}

static void test_kernel(void)
{
    lm_theory_source s;
    lm_theory_source_opts o = {.data = data_spec, .model = "kernel:gaussian:1", .max_samples = 12, .kernel_rows = 30,
                               .max_dim = 30, .max_points = 12};
    CHECK(lm_theory_source_open(&o, &s) == LM_OK && s.mo.n == 12 && s.mo.d == 12 && !s.Y);
    lm_constants k;
    CHECK(lm_theory_source_constants(&s, 1, &k) == LM_OK);
    CHECK_CLOSE(k.L1, 1, 1e-9); /* k(x, x) = 1 for every point */
    CHECK(strstr(s.label, "kernel matrix of all 12 points") != NULL);
    lm_theory_source_free(&s);
}

static void test_rates(void)
{
    lm_theory_source s;
    lm_theory_source_opts o = {.population = pop_spec};
    lm_constants k;
    CHECK(lm_theory_source_open(&o, &s) == LM_OK && lm_theory_source_constants(&s, 1, &k) == LM_OK);
    lm_theory_hp_given none = {NAN, NAN, NAN, NAN, NAN, NAN};
    lm_theory_hp hp = lm_theory_hp_resolve(LM_THEORY_MASS, &none, &k);
    CHECK(hp.eta1 == k.mass_eta1 && hp.eta2 == k.mass_eta2 && hp.gamma == k.mass_gamma);
    hp = lm_theory_hp_resolve(LM_THEORY_SGD, &none, &k);
    CHECK(hp.eta1 == k.sgd_lr && hp.eta2 == 0 && hp.gamma == 0);
    lm_theory_hp_given authors = {0.3, NAN, NAN, 0.05, NAN, NAN};
    lm_mass_hp want = lm_mass_from_authors((lm_mass3_hp){0.3, 0.05, k.mass_kappa_tilde, 0});
    hp = lm_theory_hp_resolve(LM_THEORY_MASS, &authors, &k);
    CHECK(hp.eta1 == want.eta1 && hp.eta2 == want.eta2 && hp.gamma == want.gamma);
    lm_theory_hp_given nesterov = {1 / 3.01, NAN, 0.9, NAN, NAN, NAN};
    hp = lm_theory_hp_resolve(LM_THEORY_NESTEROV, &nesterov, &k);
    CHECK(hp.eta1 == 1 / 3.01 && hp.eta2 == 0 && hp.gamma == 0.9);
    lm_theory_hp_given eta1 = {NAN, 0.01, NAN, NAN, NAN, 0.25}; /* the step by its other name */
    hp = lm_theory_hp_resolve(LM_THEORY_MASS, &eta1, &k);
    CHECK(hp.eta1 == 0.25 && hp.eta2 == 0.01 && hp.gamma == k.mass_gamma);
    CHECK(lm_theory_source_constants(&s, 0, &k) == LM_EINVAL && !strcmp(lm_error_message(), "batch 0 is not >= 1"));
    double rho;
    char *text, *json;
    CHECK(lm_theory_rate(&s.mo, LM_THEORY_NESTEROV, hp, 1, &rho) == LM_OK);
    CHECK(lm_theory_rate_summary(&s, LM_THEORY_NESTEROV, hp, 1, &k, &text, &json) == LM_OK);
    cJSON *j = cJSON_Parse(json);
    CHECK(j && count_keys(j) == 13 && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "diverges")) == !(rho < 1));
    CHECK_CLOSE(num(j, "rho"), rho, 1e-14);
    CHECK(!strcmp(cJSON_GetObjectItemCaseSensitive(j, "optim")->valuestring, "nesterov"));
    cJSON_Delete(j);
    char line[80];
    snprintf(line, sizeof line, "  rho %.8g per step", rho);
    CHECK(strstr(text, line) && strstr(text, "  gamma 0.9"));
    free(text), free(json);
    lm_theory_best b[3] = {{.rho = 0.99, .closed_rho = 0.995, .beats_closed_form = 1},
                           {.rho = 0.98, .closed_rho = NAN, .beats_closed_form = 1},
                           {.rho = 0.96, .closed_rho = 0.96, .beats_closed_form = 0}};
    CHECK(lm_theory_best_summary(&s, 1, 6, b, &k, &text, &json) == LM_OK);
    j = cJSON_Parse(json);
    const cJSON *mass = cJSON_GetObjectItemCaseSensitive(j, "mass");
    CHECK(j && mass && num(j, "grid") == 6);
    CHECK_CLOSE(num(mass, "speedup"), log(0.96) / log(0.99), 1e-14);
    CHECK(!cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "nesterov"), "closed_form_rho")));
    cJSON_Delete(j);
    CHECK(strstr(text, " (tuning did not beat it)\n") && strstr(text, "grid 6 with the closed-form points"));
    free(text), free(json);
    lm_theory_source_free(&s);
}

static void refused(lm_theory_source_opts o, const char *words)
{
    lm_theory_source s;
    CHECK_MSG(lm_theory_source_open(&o, &s) == LM_EINVAL && strstr(lm_error_message(), words), "%s: %s", words,
              lm_error_message());
    CHECK(!s.X && !s.Y);
    lm_theory_source_free(&s);
}

int main(void)
{
    test_population();
    test_data();
    test_kernel();
    test_rates();
    refused((lm_theory_source_opts){.data = data_spec, .population = pop_spec, .max_dim = 30}, "population and data: give exactly one");
    refused((lm_theory_source_opts){.max_dim = 30}, "population and data: give exactly one");
    refused((lm_theory_source_opts){.data = data_spec, .max_dim = 2}, "d = 3 features; at most 2");
    refused((lm_theory_source_opts){.data = data_spec, .model = "kernel:gaussian:1", .kernel_rows = 30, .max_dim = 30, .max_points = 10},
            "at most 10");
    refused((lm_theory_source_opts){.data = data_spec, .model = "quadratic", .max_dim = 30}, "'quadratic' is not linear");
    refused((lm_theory_source_opts){.data = data_spec, .max_samples = -1, .max_dim = 30}, "max_samples -1 is negative");
    refused((lm_theory_source_opts){.population = pop_spec, .model = "kernel:gaussian:1"}, "model kernel:gaussian:1 needs data (and no population)");
    refused((lm_theory_source_opts){.data = data_spec, .population = pop_spec, .model = "kernel:gaussian:1", .kernel_rows = 30, .max_dim = 30},
            "model kernel:gaussian:1 needs data (and no population)");
    refused((lm_theory_source_opts){.data = data_spec, .model = "kernel:gaussian:1", .kernel_rows = 1, .max_dim = 30},
            "kernel_rows 1 is not in 2..30");
    refused((lm_theory_source_opts){.data = data_spec, .model = "kernel:gaussian:1", .kernel_rows = 31, .max_dim = 30},
            "kernel_rows 31 is not in 2..30");
    refused((lm_theory_source_opts){.data = data_spec, .kernel_rows = 1, .max_dim = 30}, "kernel_rows 1 is not in 2..30");
    refused((lm_theory_source_opts){.population = "gaussian:d=3", .max_population_dim = 2}, "population d = 3: theory allows at most 2");
    refused((lm_theory_source_opts){.population = "foo:d=2"}, "foo");
    return check_summary();
}
