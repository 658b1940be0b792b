// ctest-labels: unit
/* The probe results as JSON (probe.h): results filled by hand, serialised, parsed back; every
 * key holds its field's value exactly (the numbers round-trip), non-finite values are null,
 * the optional keys come and go with their conditions, and the density's grid is the one
 * lm_density_smooth gives (to the 15 digits cJSON writes). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/probe.h"

static cJSON *parse(char *text)
{
    CHECK(text != NULL);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    CHECK(j != NULL);
    free(text);
    return j;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    CHECK_MSG(cJSON_IsNumber(v), "%s is no number", key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static int is_null(const cJSON *o, const char *key) { return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, key)); }
static int has(const cJSON *o, const char *key) { return cJSON_GetObjectItemCaseSensitive(o, key) != NULL; }
static double at(const cJSON *o, const char *key, int i)
{
    const cJSON *v = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, key), i);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void hessian(void)
{
    double per[3] = {0.1, 1 / 3.0, 2e-17};
    lm_hessian_result r = {.avg_norm = 0.7, .max_norm = 1 / 3.0, .mean_norm = 0.2, .argmax = 1, .per_input = per,
                           .steps = 42, .unconverged = 2};
    r.avg.extreme = -0.7;
    cJSON *j = parse(lm_hessian_result_json(&r, 3));
    CHECK(num(j, "avg_norm") == 0.7 && num(j, "avg_eigenvalue") == -0.7 && num(j, "max_norm") == 1 / 3.0);
    CHECK(num(j, "argmax") == 1 && num(j, "mean_norm") == 0.2 && num(j, "hvp_products") == 42 && num(j, "unconverged") == 2);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(j, "per_input")) == 3 && at(j, "per_input", 2) == 2e-17);
    cJSON_Delete(j);
    j = parse(lm_hessian_result_json(&r, 0)); /* per-input norms skipped */
    CHECK(is_null(j, "max_norm") && is_null(j, "mean_norm") && is_null(j, "per_input") && !has(j, "argmax"));
    cJSON_Delete(j);
}

static void loss_parts(void)
{
    lm_loss_hessian_result r = {.trace = 5.5, .trace_se = 0.25, .samples = 10};
    r.eig.ntop = 2, r.eig.top[0] = 3, r.eig.top[1] = NAN, r.eig.top_residual[0] = 1e-9, r.eig.norm = 3, r.eig.converged = 1;
    cJSON *j = parse(lm_loss_hessian_result_json(&r));
    CHECK(at(j, "top", 0) == 3 && cJSON_IsNull(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "top"), 1)));
    CHECK(at(j, "top_residual", 0) == 1e-9 && num(j, "norm") == 3 && cJSON_IsTrue(cJSON_GetObjectItem(j, "converged")));
    CHECK(num(j, "trace") == 5.5 && num(j, "trace_se") == 0.25 && num(j, "samples") == 10);
    cJSON_Delete(j);
    r.samples = 0;
    j = parse(lm_loss_hessian_result_json(&r));
    CHECK(is_null(j, "trace") && !has(j, "trace_se") && !has(j, "samples"));
    cJSON_Delete(j);
}

static void density(void)
{
    double nodes[3] = {-1, 0.5, 2}, weights[3] = {0.25, 0.25, 0.5};
    int count[2] = {1, 2};
    lm_density d = {.dim = 7, .probes = 2, .steps = 2, .n = 3, .nodes = nodes, .weights = weights, .count = count,
                    .lambda_min = -1, .lambda_max = 2, .trace = 6.5, .trace_se = 0.5, .products = 4,
                    .vectors = LM_VECTORS_GAUSSIAN};
    double t[5], rho[5];
    lm_density_smooth(&d, 0.3, 5, t, rho);
    cJSON *j = parse(lm_density_json(&d, 0.3, 5));
    CHECK(at(j, "nodes", 2) == 2 && at(j, "weights", 0) == 0.25 && at(j, "count", 1) == 2 && num(j, "probes") == 2);
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "vectors")), "gaussian") && num(j, "sigma") == 0.3);
    CHECK(num(j, "lambda_min") == -1 && num(j, "lambda_max") == 2 && num(j, "trace") == 6.5 && num(j, "products") == 4);
    /* cJSON writes 15 significant digits when they read back within an ulp or two, else 17 */
    for (int i = 0; i < 5; i++) CHECK(check_close(at(j, "grid", i), t[i], 1e-15, 0) && check_close(at(j, "density", i), rho[i], 1e-15, 0));
    cJSON_Delete(j);

    lm_block_spectrum b[2];
    memset(b, 0, sizeof b);
    snprintf(b[0].block.name, sizeof b[0].block.name, "0.weight");
    b[0].block.offset = 0, b[0].block.count = 12, b[0].trace.trace = 1.5, b[0].trace.exact = 1, b[0].eig.norm = 4;
    b[1].block.offset = 12, b[1].block.count = 3, b[1].density = d;
    cJSON *a = parse(lm_block_spectra_json(b, 2, 0.3, 5));
    cJSON *b0 = cJSON_GetArrayItem(a, 0), *b1 = cJSON_GetArrayItem(a, 1);
    CHECK(cJSON_GetArraySize(a) == 2 && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(b0, "name")), "0.weight"));
    CHECK(num(b0, "params") == 12 && num(b0, "trace") == 1.5 && cJSON_IsTrue(cJSON_GetObjectItem(b0, "trace_exact")));
    CHECK(num(b0, "norm") == 4 && !has(b0, "density") && num(b1, "offset") == 12);
    CHECK(check_close(at(cJSON_GetObjectItem(b1, "density"), "density", 4), rho[4], 1e-15, 0));
    cJSON_Delete(a);
}

static void kernels(void)
{
    lm_spectrum s = {.lambda_min = 0.5, .lambda_max = 8, .cond = 16, .trace = 10, .frobenius = 9};
    double ev[2] = {0.5, 8};
    cJSON *j = parse(lm_spectrum_json(&s, ev, 2));
    CHECK(num(j, "lambda_min") == 0.5 && num(j, "cond") == 16 && num(j, "frobenius") == 9 && at(j, "eigenvalues", 1) == 8);
    cJSON_Delete(j);
    s.cond = INFINITY;
    j = parse(lm_spectrum_json(&s, ev, 2));
    CHECK(is_null(j, "cond"));
    cJSON_Delete(j);
    lm_ntk_matfree_result m = {.lambda_max = 3, .lambda_min = 0.25, .trace = 7, .bytes = 1234};
    m.eig.min_residual = 1e-8, m.eig.max_residual = 2e-8, m.eig.steps = 33;
    j = parse(lm_ntk_matfree_result_json(&m));
    CHECK(num(j, "bytes") == 1234 && num(j, "lambda_min_residual") == 1e-8 && num(j, "lambda_max_residual") == 2e-8);
    CHECK(num(j, "products") == 33 && num(j, "trace") == 7 && cJSON_IsFalse(cJSON_GetObjectItem(j, "converged")));
    cJSON_Delete(j);
}

static void linearity(void)
{
    lm_linearity_record rec[2] = {{.step = 0, .loss = 1, .lin_gap_max = 0.1, .lambda_min = 0.2, .bound = 0.9},
                                  {.step = 5, .loss = 0.5, .loss_ratio = 0.8, .pl_ratio = 0.3}};
    lm_linearity_result r = {.lr = 0.125, .lr_auto = 1, .lr_catapult = 0.25, .lambda_max0 = 8, .loss0 = 1,
                             .loss_final = 0.5, .records = rec, .n_records = 2};
    r.plstar.mu = 0.2, r.plstar.rate_bound = 0.6, r.plstar.below_bound = 1;
    cJSON *j = parse(lm_linearity_result_json(&r, 1));
    CHECK(num(j, "lr") == 0.125 && cJSON_IsTrue(cJSON_GetObjectItem(j, "lr_auto")) && num(j, "lr_catapult") == 0.25);
    CHECK(cJSON_IsFalse(cJSON_GetObjectItem(j, "catapult")) && num(j, "mu") == 0.2 && num(j, "pl_rate_bound") == 0.6);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(j, "all_below_bound")) && cJSON_IsFalse(cJSON_GetObjectItem(j, "pl_ratio_ge_lambda_min")));
    cJSON *recs = cJSON_GetObjectItem(j, "records");
    CHECK(cJSON_GetArraySize(recs) == 2 && num(cJSON_GetArrayItem(recs, 0), "lin_gap_max") == 0.1);
    CHECK(num(cJSON_GetArrayItem(recs, 1), "step") == 5 && num(cJSON_GetArrayItem(recs, 1), "loss_ratio") == 0.8);
    cJSON_Delete(j);
    j = parse(lm_linearity_result_json(&r, 0));
    CHECK(!has(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "records"), 0), "lin_gap_max"));
    cJSON_Delete(j);
}

static void sweep(void)
{
    double values[6] = {1, 2, 3, 4, 5, 6}, mean[3] = {1.5, 3.5, 5.5}, sd[3] = {0.5, 0.25, 0.125};
    lm_sweep_result r = {.values = values, .mean = mean, .sd = sd, .n_widths = 3, .seeds = 2};
    r.fit = (lm_fit){.slope = -0.5, .intercept = 2, .se = 0.1, .ci_lo = -0.7, .ci_hi = -0.3, .r2 = 0.9, .dof = 4};
    int widths[3] = {16, 32, 64};
    cJSON *j = parse(lm_sweep_result_json(&r, widths));
    CHECK(at(j, "widths", 2) == 64 && cJSON_GetArraySize(cJSON_GetObjectItem(j, "values")) == 3);
    CHECK(cJSON_GetArrayItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "values"), 1), 1)->valuedouble == 4);
    CHECK(at(j, "mean", 2) == 5.5 && at(j, "sd", 1) == 0.25 && num(j, "slope") == -0.5 && num(j, "intercept") == 2);
    CHECK(num(j, "se") == 0.1 && at(j, "ci95", 0) == -0.7 && at(j, "ci95", 1) == -0.3 && num(j, "r2") == 0.9 && num(j, "dof") == 4);
    cJSON_Delete(j);
}

int main(void)
{
    hessian();
    loss_parts();
    density();
    kernels();
    linearity();
    sweep();
    return check_summary();
}
