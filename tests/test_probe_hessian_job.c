// ctest-labels: unit
/* The Hessian probe as one job (lm_hessian_job, lm_hessian_sweep_job) on a small MLP and
 * synth:teacher (20 inputs, one target, the MSE):
 *   - its JSON and its report's numbers equal, bit for bit, direct calls of the underlying probes
 *     with the same options: lm_probe_model_hessian (the three norms and the per-input norms),
 *     lm_probe_gauss_newton (the loss Hessian, its parts), lm_probe_hessian_diagonal; the output
 *     bias's diagonal entry is exactly 1 (MSE with one output: d2L/db2 = mean_i 1);
 *   - the JSON keys, the figures (file names, count, curve lengths) and the summary's lines;
 *   - a model whose outputs do not fit the data: no loss Hessian, with the reason;
 *   - the width sweep: one row per width with the closed-form parameter count, each row's split
 *     equal to a direct lm_probe_gauss_newton on the model built by hand, the fit of ||R|| the
 *     slope through the two points, the figures;
 *   - refusals: bad options give LM_EINVAL naming the field and the value. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/probe.h"

enum { N = 5, D = 20 };
static const char *const mlp = "dense:8,tanh,dense:8,tanh,dense:1";

static lm_probe_inputs open_inputs(const char *model)
{
    lm_probe_inputs in;
    lm_probe_inputs_spec s = {.model = model, .data = "synth:teacher", .param = LM_PARAM_NTK, .seed = 3, .n = N};
    lm_status st = lm_probe_inputs_open(&s, &in);
    CHECK_MSG(!st, "inputs: %s", lm_error_message());
    return in;
}

static lm_hessian_job_opts job_opts(const char *model)
{
    lm_hessian_job_opts o = {.model = model, .data = "synth:teacher", .output = LM_OUTPUT_SUM, .loss_top = 2, .hutchinson = 10};
    o.eig.seed = 7;
    o.spectra = (lm_hessian_spectra_opts){.density = 1, .slq = {.probes = 3, .steps = 12}, .blocks = 1, .block_kind = LM_BLOCK_LAYER,
                                          .gauss_newton = 1, .diagonal = 1};
    return o;
}

/* cJSON writes 15 digits when they read back within an ulp: JSON numbers equal the direct ones
 * to that (exact otherwise). */
static int same(double json, double direct) { return json == direct || check_close(json, direct, 3e-16, 0); }

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);
    CHECK_MSG(cJSON_IsNumber(v), "no number %s", key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* The figure blocks of r in order: their files joined by ' ' into buf; *curves: the first
 * figure's curve count, *n0 its first curve's length. */
static void figures(const lm_report *r, char *buf, size_t len, int *curves, int *n0)
{
    buf[0] = 0, *curves = 0, *n0 = 0;
    for (int i = 0; i < lm_report_block_count(r); i++) {
        const lm_figure *f = lm_report_block_at(r, i).figure;
        if (!f) continue;
        if (!buf[0]) *curves = f->n_curves, *n0 = f->n_curves ? f->curves[0].n : 0;
        strncat(buf, buf[0] ? " " : "", len - strlen(buf) - 1);
        strncat(buf, f->file, len - strlen(buf) - 1);
    }
}

static const char *body_text(const lm_report *r)
{
    lm_report_block b = lm_report_block_at(r, 0);
    return b.text ? b.text : "";
}

static void check_model_norms(const lm_probe_inputs *in, const lm_hessian_job_opts *o, const cJSON *j, const lm_report *r)
{
    double per[N];
    lm_hessian_opts ho = {0};
    ho.net.output = LM_OUTPUT_SUM;
    ho.eig = o->eig;
    lm_hessian_result hr = {.per_input = per};
    CHECK(lm_probe_model_hessian(in->model, in->x, N, &ho, &hr) == LM_OK);
    CHECK(same(num(j, "avg_norm"), hr.avg_norm) && same(num(j, "max_norm"), hr.max_norm) && same(num(j, "mean_norm"), hr.mean_norm));
    const cJSON *pj = cJSON_GetObjectItem(j, "per_input");
    CHECK(cJSON_GetArraySize(pj) == N);
    for (int i = 0; i < N && cJSON_GetArraySize(pj) == N; i++) CHECK(same(cJSON_GetArrayItem(pj, i)->valuedouble, per[i]));
    double v = NAN;
    CHECK(lm_report_find(r, LM_REPORT_MEASURED, "avg_norm", &v) && v == hr.avg_norm);
    CHECK(lm_report_find(r, LM_REPORT_MEASURED, "mean_norm", &v) && v == hr.mean_norm);
}

static void check_loss(const lm_probe_inputs *in, const lm_hessian_job_opts *o, const cJSON *j, const lm_report *r)
{
    double t[N];
    CHECK(lm_run_targets(in->train, LM_LOSS_MSE, N, 1, t) == LM_OK);
    lm_loss_hessian_opts lo = {.loss = LM_LOSS_MSE, .targets = t, .eig = o->eig, .hutchinson = 10};
    lo.eig.top_k = 2;
    lm_gauss_newton_result g;
    CHECK(lm_probe_gauss_newton(in->model, in->x, N, &lo, &g) == LM_OK);
    const cJSON *l = cJSON_GetObjectItem(j, "loss_hessian");
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(l, "loss")), "mse_half_mean"));
    CHECK(same(num(l, "value"), g.loss.loss) && same(num(l, "trace"), g.loss.trace));
    const cJSON *top = cJSON_GetObjectItem(l, "top");
    CHECK(cJSON_GetArraySize(top) == 2 && same(cJSON_GetArrayItem(top, 0)->valuedouble, g.loss.eig.top[0]));
    CHECK(same(num(cJSON_GetObjectItem(j, "gauss_newton"), "norm"), g.gauss_newton.eig.norm));
    CHECK(same(num(cJSON_GetObjectItem(j, "residual_part"), "trace"), g.residual.trace));
    double v = NAN;
    CHECK(lm_report_find(r, LM_REPORT_MEASURED, "loss", &v) && v == g.loss.loss);
    /* the diagonal: the direct call, and the output bias's entry d2L/db2 = 1 */
    size_t p = lm_model_num_params(in->model);
    double *dg = calloc(p, sizeof *dg);
    lm_hvp_opts h = {.target = LM_HVP_LOSS, .loss = LM_LOSS_MSE, .targets = t};
    lm_diag_opts dopt = {2000, 10, o->eig.seed};
    lm_diag_result dr = {.diag = dg};
    CHECK(dg && lm_probe_hessian_diagonal(in->model, in->x, N, &h, &dopt, &dr) == LM_OK && dr.exact);
    const cJSON *dj = cJSON_GetObjectItem(j, "diagonal");
    CHECK(cJSON_GetArraySize(dj) == (int)p);
    for (size_t i = 0; dg && i < p && cJSON_GetArraySize(dj) == (int)p; i++) CHECK(same(cJSON_GetArrayItem(dj, (int)i)->valuedouble, dg[i]));
    CHECK(cJSON_GetArraySize(dj) == (int)p && cJSON_GetArrayItem(dj, (int)p - 1)->valuedouble == 1);
    free(dg);
}

static void test_job(void)
{
    lm_probe_inputs in = open_inputs(mlp);
    lm_hessian_job_opts o = job_opts(mlp);
    lm_report *r;
    char *text = NULL;
    CHECK(lm_report_create(0, &r) == LM_OK);
    lm_status st = lm_hessian_job(&in, &o, r, &text);
    CHECK_MSG(!st, "job: %s", lm_error_message());
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    CHECK(j != NULL);
    static const char *const keys[] = {"probe", "model", "num_params", "param", "data", "inputs", "output", "checkpoint", "run",
                                       "ranks", "method", "avg_norm", "avg_eigenvalue", "max_norm", "argmax", "mean_norm", "per_input",
                                       "hvp_products", "unconverged", "definitions", "loss_hessian", "density", "blocks",
                                       "model_density", "model_blocks", "block", "gauss_newton", "residual_part", "diagonal", "diagonal_se",
                                       "diagonal_exact", "diagonal_samples", "seconds"};
    int k = 0;
    for (const cJSON *e = j ? j->child : NULL; e; e = e->next, k++)
        CHECK_MSG(k < 33 && !strcmp(e->string, keys[k]), "key %d: %s", k, e->string);
    CHECK(k == 33);
    if (j) {
        check_model_norms(&in, &o, j, r);
        check_loss(&in, &o, j, r);
        CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(j, "blocks")) == 3);
        CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "density"), "grid")) == 400);
    }
    char files[512];
    int curves, n0;
    figures(r, files, sizeof files, &curves, &n0);
    CHECK_MSG(!strcmp(files, "hessian_per_input.png hessian_density_loss.png hessian_density_model.png hessian_blocks.png "
                             "hessian_block_density_loss.png hessian_block_density_model.png"), "figures: %s", files);
    CHECK(curves == 3 && n0 == N);
    const char *b = body_text(r);
    CHECK(strstr(b, "model Hessian H_f = d2f/dw2 of the output, float64, Lanczos") && strstr(b, "Gauss-Newton split H = G + R") &&
          strstr(b, "per-layer spectra") && strstr(b, "loss Hessian diagonal, exact"));
    cJSON_Delete(j);
    free(text);
    lm_report_free(r);
    lm_probe_inputs_close(&in);
}

/* Three outputs against one target: no loss, the reason in the JSON. */
static void test_no_loss(void)
{
    const char *m3 = "dense:8,tanh,dense:3";
    lm_probe_inputs in = open_inputs(m3);
    lm_hessian_job_opts o = job_opts(m3);
    o.spectra.density = o.spectra.blocks = 0;
    lm_report *r;
    char *text = NULL;
    CHECK(lm_report_create(0, &r) == LM_OK);
    CHECK(lm_hessian_job(&in, &o, r, &text) == LM_OK);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    CHECK(j && cJSON_IsNull(cJSON_GetObjectItem(j, "loss_hessian")) && cJSON_IsNull(cJSON_GetObjectItem(j, "gauss_newton")) &&
          cJSON_IsNull(cJSON_GetObjectItem(j, "diagonal")));
    const char *why = j ? cJSON_GetStringValue(cJSON_GetObjectItem(j, "loss_hessian_skipped")) : NULL;
    CHECK(why && strstr(why, "the model has 3 outputs but synth:teacher needs 1"));
    CHECK(strstr(body_text(r), "of sum over 3 outputs") && strstr(body_text(r), "no loss: no Gauss-Newton split and no diagonal"));
    cJSON_Delete(j);
    free(text);
    lm_report_free(r);
    lm_probe_inputs_close(&in);
}

static void test_sweep(void)
{
    const char *tmpl = "dense:W,tanh,dense:1";
    static const int widths[2] = {4, 16};
    lm_probe_inputs in = open_inputs(mlp); /* its model is not used */
    lm_hessian_job_opts o = job_opts(tmpl);
    o.spectra.density = o.spectra.diagonal = 0;
    o.widths = widths, o.n_widths = 2, o.param = LM_PARAM_NTK, o.seed = 11;
    lm_report *r;
    char *text = NULL;
    CHECK(lm_report_create(0, &r) == LM_OK);
    lm_status st = lm_hessian_sweep_job(&in, &o, r, &text);
    CHECK_MSG(!st, "sweep: %s", lm_error_message());
    cJSON *j = text ? cJSON_Parse(text) : NULL, *rows = j ? cJSON_GetObjectItem(j, "sweep") : NULL;
    CHECK(j && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "template")), tmpl) && cJSON_GetArraySize(rows) == 2);
    double t[N], rn[2] = {0, 0};
    CHECK(lm_run_targets(in.train, LM_LOSS_MSE, N, 1, t) == LM_OK);
    for (int i = 0; i < 2 && cJSON_GetArraySize(rows) == 2; i++) {
        const cJSON *row = cJSON_GetArrayItem(rows, i);
        int w = widths[i];
        CHECK(num(row, "width") == w && num(row, "num_params") == w * D + w + w + 1);
        char spec[64];
        lm_model *m = NULL;
        CHECK(lm_spec_with_width(tmpl, w, spec, sizeof spec) == LM_OK &&
              lm_model_create(spec, in.train->shape, LM_PARAM_NTK, 11, &m) == LM_OK);
        lm_loss_hessian_opts lo = {.loss = LM_LOSS_MSE, .targets = t, .eig = o.eig, .hutchinson = 10};
        lo.eig.top_k = 2;
        lm_gauss_newton_result g;
        CHECK(m && lm_probe_gauss_newton(m, in.x, N, &lo, &g) == LM_OK);
        rn[i] = g.residual.eig.norm;
        CHECK(same(num(cJSON_GetObjectItem(row, "residual_part"), "norm"), rn[i]));
        CHECK(same(num(cJSON_GetObjectItem(row, "loss_hessian"), "norm"), g.loss.eig.norm));
        CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(row, "model_blocks")) == 2);
        lm_model_free(m);
    }
    const cJSON *fit = j ? cJSON_GetObjectItem(cJSON_GetObjectItem(j, "fits"), "||R|| residual part") : NULL;
    CHECK(fit && check_close(num(fit, "slope"), log(rn[1] / rn[0]) / log(16.0 / 4.0), 1e-12, 0));
    char files[256];
    int curves, n0;
    figures(r, files, sizeof files, &curves, &n0);
    CHECK_MSG(!strcmp(files, "gauss_newton_sweep.png block_norms_sweep.png"), "figures: %s", files);
    CHECK(curves == 3 && n0 == 2);
    CHECK(strstr(body_text(r), "width sweep of dense:W,tanh,dense:1 (W = 4,16), ntk parameterization"));
    cJSON_Delete(j);
    free(text);
    lm_report_free(r);
    lm_probe_inputs_close(&in);
}

/* Bad options: LM_EINVAL naming the field and the value, nothing in *json. */
static void refused(const lm_probe_inputs *in, const lm_hessian_job_opts *o, int sweep, const char *words)
{
    lm_report *r;
    char *text = (char *)"untouched";
    CHECK(lm_report_create(0, &r) == LM_OK);
    lm_status st = sweep ? lm_hessian_sweep_job(in, o, r, &text) : lm_hessian_job(in, o, r, &text);
    CHECK_MSG(st == LM_EINVAL && strstr(lm_error_message(), words), "%d: '%s' wants '%s'", (int)st, lm_error_message(), words);
    CHECK(text == NULL);
    lm_report_free(r);
}

static void test_refusals(void)
{
    lm_probe_inputs in = open_inputs(mlp);
    lm_hessian_job_opts o = job_opts(mlp);
    o.loss_top = 40, refused(&in, &o, 0, "loss_top 40");
    o = job_opts(mlp), o.spectra.block_top = -1, refused(&in, &o, 0, "block_top -1");
    o = job_opts(mlp), o.output = 2, refused(&in, &o, 0, "output 2");
    o = job_opts(mlp), o.spectra.grid = 1, refused(&in, &o, 0, "grid 1");
    static const int same[2] = {8, 8}, two[2] = {4, 8};
    o = job_opts("dense:W,tanh,dense:1"), o.widths = same, o.n_widths = 2, refused(&in, &o, 1, "two different widths");
    o = job_opts("dense:W,tanh,dense:1"), o.widths = two, o.n_widths = 2, refused(&in, &o, 1, "not the density");
    o = job_opts("dense:8,tanh,dense:1"), o.widths = two, o.n_widths = 2, o.spectra.density = o.spectra.diagonal = 0;
    refused(&in, &o, 1, "'dense:8,tanh,dense:1' has no W");
    lm_probe_inputs_close(&in);
}

int main(void)
{
    test_job();
    test_no_loss();
    test_sweep();
    test_refusals();
    return check_summary();
}
