// ctest-labels: unit
/* The probe jobs of run.h (lm_probe_ntk_job, lm_probe_gd_job) and the descriptions of a probe's
 * inputs, on small models of synth:teacher: every number of a job's report and JSON is the one
 * a direct call of the underlying probe gives (lm_probe_ntk_spectrum, lm_probe_ntk_matfree,
 * lm_probe_linearity, with the same options), the JSON has the keys the command line's
 * result.json has, the figures have their file names and curve lengths, the .npy holds K, and
 * bad options are refused with LM_EINVAL naming the field and its value. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/error.h"
#include "linmass/probe.h"
#include "linmass/run.h"

static const char *const data = "synth:teacher";

static void open_inputs(const char *model, int n, int n_test, lm_probe_inputs *p)
{
    lm_probe_inputs_spec s = {.model = model, .data = data, .param = LM_PARAM_NTK, .seed = 3, .data_seed = 5, .n = n, .n_test = n_test};
    CHECK(lm_probe_inputs_open(&s, p) == LM_OK);
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    CHECK_MSG(cJSON_IsNumber(j), "JSON key %s is no number", key);
    return cJSON_IsNumber(j) ? j->valuedouble : NAN;
}

static const char *str(const cJSON *o, const char *key)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
    CHECK_MSG(s != NULL, "JSON key %s is no string", key);
    return s ? s : "";
}

/* The job's number and the direct call's, to 1e-12 relative: two runs of the same probe, and the
 * JSON text keeps 15 digits where they give the double back to within one rounding. A wrong
 * kernel, output or step differs in the leading digits. */
static int same(double job, double v) { return fabs(job - v) <= 1e-12 * fabs(v); }

static double measured(const lm_report *r, const char *key)
{
    double v = NAN;
    CHECK_MSG(lm_report_find(r, LM_REPORT_MEASURED, key, &v), "no measured %s", key);
    return v;
}

/* The keys every probe's result starts with. */
static void common_keys(const cJSON *j, const lm_probe_inputs *p, const char *probe, const char *output)
{
    CHECK(!strcmp(str(j, "probe"), probe) && !strcmp(str(j, "model"), lm_model_spec(p->model)));
    CHECK(num(j, "num_params") == (double)lm_model_num_params(p->model) && num(j, "inputs") == p->n && num(j, "ranks") == 1);
    CHECK(!strcmp(str(j, "param"), "ntk") && !strcmp(str(j, "data"), data) && !strcmp(str(j, "run"), "F"));
    const cJSON *o = cJSON_GetObjectItem(j, "output");
    CHECK(output ? !strcmp(cJSON_GetStringValue(o) ? o->valuestring : "", output) : cJSON_IsNumber(o));
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(j, "checkpoint")) && num(j, "seconds") >= 0);
}

static void describe(void)
{
    lm_probe_inputs p;
    open_inputs("dense:16,tanh,dense:3", 6, 0, &p);
    if (!p.model) return;
    char buf[512], want[512];
    snprintf(want, sizeof want, "model dense:16,tanh,dense:3 (%zu parameters, ntk parameterization, random init)\n"
                                "inputs: the first 6 training samples of synth:teacher, standardised\n", lm_model_num_params(p.model));
    CHECK(lm_probe_inputs_describe(&p, buf, sizeof buf) == (int)strlen(want) && !strcmp(buf, want));
    CHECK(!strcmp(lm_probe_inputs_output_name(&p, LM_OUTPUT_SUM, buf, sizeof buf), "sum over 3 outputs"));
    CHECK(!strcmp(lm_probe_inputs_output_name(&p, 2, buf, sizeof buf), "output 2 of 3"));
    char *t = lm_probe_inputs_json(&p, 1);
    cJSON *j = cJSON_Parse(t);
    CHECK(j && cJSON_GetArraySize(j) == 7 && num(j, "output") == 1 && num(j, "inputs") == 6);
    cJSON_Delete(j), free(t);
    lm_probe_inputs_close(&p);
    CHECK(p.data == NULL && p.checkpoint == NULL);
}

/* The file's last N*N*8 bytes are K (the direct call's). */
static void check_npy(const char *path, const double *K, size_t N)
{
    FILE *f = fopen(path, "rb");
    CHECK_MSG(f != NULL, "no %s", path);
    if (!f) return;
    double *tail = malloc(N * N * sizeof *tail);
    CHECK(fseek(f, -(long)(N * N * sizeof *tail), SEEK_END) == 0 && fread(tail, sizeof *tail, N * N, f) == N * N);
    for (size_t i = 0; i < N * N; i++) CHECK(same(tail[i], K[i]));
    free(tail);
    fclose(f);
}

/* The spectrum figure: the eigenvalues largest first against their rank. */
static void check_spectrum_figure(const lm_report *r, const double *ev, int N)
{
    CHECK(lm_report_block_count(r) == 2 && lm_report_block_at(r, 0).text && lm_report_block_at(r, 1).figure);
    const lm_figure *f = lm_report_block_at(r, 1).figure;
    if (!f) return;
    CHECK(!strcmp(f->file, "ntk_spectrum.png") && f->n_curves == 1 && f->curves[0].n == N && f->logx && f->logy);
    for (int i = 0; i < N && f->curves[0].n == N; i++) CHECK(f->curves[0].x[i] == i + 1 && same(f->curves[0].y[i], ev[N - 1 - i]));
}

/* Several outputs summed, the kernel formed: its spectrum, the block kernel's lambda_max. */
static void ntk_sum(const lm_probe_inputs *p, const char *npy)
{
    lm_ntk_job_opts o = {.output = LM_OUTPUT_SUM, .seed = 7, .npy = npy, .folder = "F"};
    lm_report *r = NULL;
    char *json = NULL;
    CHECK(lm_report_create(0, &r) == LM_OK);
    CHECK(lm_probe_ntk_job(p, &o, r, &json) == LM_OK);
    size_t N = (size_t)p->n;
    double *K = malloc(N * N * sizeof *K), *ev = malloc(N * sizeof *ev);
    lm_spectrum sp;
    lm_ntk_opts ko = {.net.output = LM_OUTPUT_SUM};
    CHECK(lm_probe_ntk_spectrum(p->model, p->x, p->n, &ko, K, ev, &sp, NULL) == LM_OK);
    lm_ntk_matfree_opts mo = {.ntk = {.block = 1}, .eig = {.seed = 7}};
    lm_ntk_matfree_result blk;
    CHECK(lm_probe_ntk_matfree(p->model, p->x, p->n, &mo, &blk) == LM_OK);
    CHECK(same(measured(r, "lambda_min"), sp.lambda_min) && same(measured(r, "lambda_max"), sp.lambda_max));
    CHECK(same(measured(r, "trace"), sp.trace));
    double bl = measured(r, "block_lambda_max"), lr = measured(r, "lr_catapult");
    CHECK_MSG(same(bl, blk.lambda_max) && same(lr, blk.lr_catapult), "block lambda_max %.17g, lr %.17g; direct %.17g, %.17g", bl, lr,
              blk.lambda_max, blk.lr_catapult);
    cJSON *j = cJSON_Parse(json);
    common_keys(j, p, "ntk", "sum");
    CHECK(!strcmp(str(j, "kernel"), "sum over outputs") && num(j, "dim") == (double)N && !strcmp(str(j, "method"), "gram"));
    CHECK(same(num(j, "lambda_max"), sp.lambda_max) && same(num(j, "cond"), sp.cond) && same(num(j, "frobenius"), sp.frobenius));
    CHECK(same(num(j, "block_lambda_max"), blk.lambda_max) && !strcmp(str(j, "lr_catapult_kernel"), "block") && !strcmp(str(j, "npy"), npy));
    const cJSON *e = cJSON_GetObjectItem(j, "eigenvalues");
    CHECK(cJSON_GetArraySize(e) == (int)N);
    double sum = 0;
    for (int i = 0; i < cJSON_GetArraySize(e); i++) {
        sum += cJSON_GetArrayItem(e, i)->valuedouble;
        CHECK(same(cJSON_GetArrayItem(e, i)->valuedouble, ev[i]));
    }
    CHECK_CLOSE(sum, sp.trace, 1e-12); /* the trace is the eigenvalues' sum */
    check_spectrum_figure(r, ev, (int)N);
    const char *text = lm_report_block_at(r, 0).text;
    CHECK(text && strstr(text, "tangent kernel K = J J^T of sum over 3 outputs, 6 x 6, float64\n") && strstr(text, "kernel saved: "));
    check_npy(npy, K, N);
    cJSON_Delete(j), free(json), free(K), free(ev);
    lm_report_free(r);
}

/* One output, matrix-free: the extremes of lm_probe_ntk_matfree, no figure. */
static void ntk_matfree(const lm_probe_inputs *p)
{
    lm_ntk_job_opts o = {.output = 1, .matrix_free = 1, .steps = 30, .seed = 2, .folder = "F"};
    lm_report *r = NULL;
    char *json = NULL;
    CHECK(lm_report_create(0, &r) == LM_OK);
    CHECK(lm_probe_ntk_job(p, &o, r, &json) == LM_OK);
    lm_ntk_matfree_opts mo = {.ntk = {.net.output = 1}, .eig = {.max_steps = 30, .seed = 2}};
    lm_ntk_matfree_result m;
    CHECK(lm_probe_ntk_matfree(p->model, p->x, p->n, &mo, &m) == LM_OK);
    cJSON *j = cJSON_Parse(json);
    common_keys(j, p, "ntk", NULL);
    CHECK(!strcmp(str(j, "method"), "matrix-free") && !strcmp(str(j, "kernel"), "one output") && cJSON_IsNull(cJSON_GetObjectItem(j, "npy")));
    CHECK(same(num(j, "lambda_max"), m.lambda_max) && same(num(j, "lambda_min"), m.lambda_min) && same(num(j, "trace"), m.trace));
    CHECK(same(measured(r, "lr_catapult"), m.lr_catapult) && !lm_report_find(r, LM_REPORT_MEASURED, "block_lambda_max", &(double){0}));
    CHECK(lm_report_block_count(r) == 1 && !cJSON_GetObjectItem(j, "block_lambda_max"));
    cJSON_Delete(j), free(json);
    lm_report_free(r);
}

static void expect_refused(const lm_probe_inputs *p, const lm_ntk_job_opts *o, const lm_gd_job_opts *g, const char *words)
{
    lm_report *r = NULL;
    char *json = (char *)"x";
    CHECK(lm_report_create(0, &r) == LM_OK);
    lm_status st = o ? lm_probe_ntk_job(p, o, r, &json) : lm_probe_gd_job(p, g, r, &json);
    CHECK_MSG(st == LM_EINVAL && json == NULL && strstr(lm_error_message(), words), "'%s' for '%s'", lm_error_message(), words);
    CHECK(lm_report_block_count(r) == 0);
    lm_report_free(r);
}

static void ntk(void)
{
    lm_probe_inputs p;
    open_inputs("dense:16,tanh,dense:3", 6, 0, &p);
    char dir[64], npy[128];
    if (!p.model || !check_make_tmpdir(dir, sizeof dir, "probe_jobs")) return;
    snprintf(npy, sizeof npy, "%s/K.npy", dir);
    ntk_sum(&p, npy);
    ntk_matfree(&p);
    expect_refused(&p, &(lm_ntk_job_opts){.output = 3}, NULL, "output 3");
    expect_refused(&p, &(lm_ntk_job_opts){.output = 0, .block = 1}, NULL, "block with output 0");
    expect_refused(&p, &(lm_ntk_job_opts){.output = LM_OUTPUT_SUM, .steps = -2}, NULL, "steps -2");
    expect_refused(&p, &(lm_ntk_job_opts){.output = LM_OUTPUT_SUM, .matrix_free = 1, .npy = npy}, NULL, "npy");
    lm_report *r = NULL;
    CHECK(lm_report_create(0, &r) == LM_OK);
    CHECK(lm_probe_ntk_job(&p, &(lm_ntk_job_opts){0}, r, NULL) == LM_EINVAL && strstr(lm_error_message(), "json"));
    lm_report_free(r);
    check_remove_tmpdir(dir);
    lm_probe_inputs_close(&p);
    /* the Gram identity asked for a model with batch norm: refused, matrix-free too (which would
     * not use it); the same model with layerwise runs */
    open_inputs("dense:8,bn,tanh,dense:1", 4, 0, &p);
    if (!p.model) return;
    expect_refused(&p, &(lm_ntk_job_opts){.output = LM_OUTPUT_SUM, .method = LM_NTK_GRAM}, NULL, "method gram: 'dense:8,bn");
    expect_refused(&p, &(lm_ntk_job_opts){.output = LM_OUTPUT_SUM, .method = LM_NTK_GRAM, .matrix_free = 1}, NULL, "method gram");
    char *json = NULL;
    CHECK(lm_report_create(0, &r) == LM_OK);
    CHECK(lm_probe_ntk_job(&p, &(lm_ntk_job_opts){.output = LM_OUTPUT_SUM, .method = LM_NTK_LAYERWISE}, r, &json) == LM_OK && json);
    free(json);
    lm_report_free(r);
    lm_probe_inputs_close(&p);
}

/* The records, figures and keys of one gradient-descent job against lm_probe_linearity. */
static void gd_one(const lm_probe_inputs *p, const double *y, int plstar, const lm_linearity_result *d)
{
    lm_gd_job_opts o = {.plstar = plstar, .output = LM_OUTPUT_SUM, .y = y, .steps = 6, .record_every = 2, .folder = "F"};
    lm_report *r = NULL;
    char *json = NULL;
    CHECK(lm_report_create(0, &r) == LM_OK);
    CHECK(lm_probe_gd_job(p, &o, r, &json) == LM_OK);
    CHECK(same(measured(r, "lr"), d->lr) && same(measured(r, "mu"), d->plstar.mu) && same(measured(r, "loss_final"), d->loss_final));
    cJSON *j = cJSON_Parse(json);
    common_keys(j, p, plstar ? "plstar" : "linearity", "sum");
    CHECK(num(j, "steps") == 6 && num(j, "held_out") == p->n_test && same(num(j, "lr"), d->lr) && same(num(j, "lambda_min0"), d->lambda_min0));
    CHECK(strstr(str(j, "convention"), "1/2 ||F(w) - y||^2") != NULL);
    const cJSON *rec = cJSON_GetObjectItem(j, "records");
    CHECK(cJSON_GetArraySize(rec) == d->n_records && d->n_records == 4); /* t = 0, 2, 4, 6 */
    for (int i = 0; i < cJSON_GetArraySize(rec) && i < d->n_records; i++)
        CHECK(same(num(cJSON_GetArrayItem(rec, i), "loss"), d->records[i].loss));
    CHECK(lm_report_block_count(r) == 3);
    const lm_figure *f0 = lm_report_block_at(r, 1).figure, *f1 = lm_report_block_at(r, 2).figure;
    CHECK(f0 && f1 && !strcmp(f0->file, "loss.png") && f0->n_curves == 2 && f0->curves[0].n == 4 && f0->curves[1].n == 4);
    CHECK(f1 && !strcmp(f1->file, plstar ? "plstar.png" : "kernel_change.png") && f1->curves[0].n == 4);
    for (int i = 0; f0 && i < 4; i++) CHECK(f0->curves[0].x[i] == 2 * i && same(f0->curves[0].y[i], d->records[i].loss));
    const char *text = lm_report_block_at(r, 0).text;
    CHECK(text && strstr(text, plstar ? "PL* constant on the path" : "held-out inputs of |f(w_t) - f_lin(w_t)|"));
    cJSON_Delete(j), free(json);
    lm_report_free(r);
}

static void gd(void)
{
    lm_probe_inputs p;
    open_inputs("dense:16,tanh,dense:1", 5, 3, &p);
    if (!p.model) return;
    double y[5];
    CHECK(lm_run_output_targets(p.train, 5, 0, y) == LM_OK);
    lm_linearity_opts lo = {.y = y, .steps = 6, .record_every = 2, .x_test = p.x_test, .n_test = p.n_test};
    lm_linearity_result d = {0};
    CHECK(lm_probe_linearity(p.model, p.x, p.n, &lo, &d) == LM_OK);
    gd_one(&p, y, 0, &d);
    gd_one(&p, y, 1, &d);
    lm_linearity_free(&d);
    expect_refused(&p, NULL, &(lm_gd_job_opts){.y = y, .steps = 0}, "steps 0");
    expect_refused(&p, NULL, &(lm_gd_job_opts){.y = y, .steps = 1, .lr = -1}, "lr -1");
    expect_refused(&p, NULL, &(lm_gd_job_opts){.steps = 1}, "y");
    expect_refused(&p, NULL, &(lm_gd_job_opts){.y = y, .steps = 1, .output = 1}, "output 1");
    lm_probe_inputs_close(&p);
}

int main(void)
{
    describe();
    ntk();
    gd();
    return check_summary();
}
