// ctest-labels: unit
/* lm_sweep_report (probe.h) on small widths, against direct calls of the library:
 *   - its values, means, standard deviations and fit are those of lm_sweep_width on the same
 *     options, bit for bit; a linearity sweep with lr 0 uses lm_sweep_shared_lr's step;
 *   - the JSON has exactly the documented keys, with those numbers;
 *   - the report's body is one text block (the table and the slope as printed from the direct
 *     fit) and one figure, sweep.png: log-log, one curve per seed, the mean, the fit through
 *     exp(intercept) w^slope and, for the Hessian, the theory's slope -0.5;
 *   - progress: one line per model; the user's hook is still called;
 *   - the stop flag: set after the second width, the widths done equal a sweep over those
 *     alone, with widths_planned and the "stopped" line; set at the first model, nothing;
 *   - refusals: a value of another probe, no data name, an unknown value name. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/probe.h"
#include "linmass/rng.h"

enum { DIN = 3, N = 4, NW = 3, SEEDS = 2 };
static const int widths[NW] = {4, 8, 16};
static double x[N * DIN], y[N];

typedef struct {
    int calls, details, steps, stop_at;
    volatile sig_atomic_t flag;
} ctx_t;

static lm_status user_hook(void *c, const lm_sweep_model *m)
{
    ctx_t *t = c;
    (void)m;
    if (t->calls++ == t->stop_at) t->flag = 2;
    return LM_OK;
}

static void on_progress(void *c, lm_progress_level level, const char *msg)
{
    ctx_t *t = c;
    CHECK(msg && *msg);
    if (level == LM_PROGRESS_DETAIL) {
        t->details++;
        CHECK(!strncmp(msg, "width ", 6));
    } else {
        t->steps++;
    }
}

static lm_sweep_report_opts make_opts(lm_sweep_probe probe, ctx_t *t)
{
    lm_sweep_report_opts o = {.data = "arrays", .stop = &t->flag, .progress = on_progress, .progress_ctx = t};
    o.sweep = (lm_sweep_opts){.template_spec = "dense:W,tanh,dense:1", .in = {DIN, 1, 1}, .param = LM_PARAM_NTK,
                              .widths = widths, .n_widths = NW, .seeds = SEEDS, .seed = 3, .probe = probe, .x = x, .n = N,
                              .hessian.eig = {.tol = 1e-10, .seed = 3}, .linearity = {.y = y, .steps = 4, .record_every = 4},
                              .on_model = user_hook, .hook_ctx = t};
    t->stop_at = -1;
    return o;
}

static const cJSON *item(const cJSON *j, const char *key) { return cJSON_GetObjectItemCaseSensitive(j, key); }

static void check_keys(const cJSON *j, int linearity, int stopped)
{
    const char *keys[] = {"sweep", "probe", "value", "value_label", "template", "param", "data", "inputs", "seeds", "seed",
                          "steps", "lr", "widths", "values", "mean", "sd", "slope", "intercept", "se", "ci95", "r2", "dof",
                          "seconds", "widths_planned"};
    int n = 0, want = 21 + 2 * linearity + stopped;
    for (const cJSON *e = j->child; e; e = e->next) n++;
    for (int i = 0; i < 24; i++) {
        int expect = !((!linearity && (i == 10 || i == 11)) || (!stopped && i == 23));
        CHECK_MSG(!!item(j, keys[i]) == expect, "key %s: present %d, want %d", keys[i], !!item(j, keys[i]), expect);
    }
    CHECK_MSG(n == want, "%d keys, want %d", n, want);
}

/* The result, the JSON and the report against lm_sweep_width's result d. */
static void check_against(const lm_sweep_report_out *out, const lm_sweep_result *d, const lm_sweep_opts *so)
{
    const lm_sweep_result *r = &out->result;
    CHECK(r->n_widths == d->n_widths && r->seeds == d->seeds);
    for (int i = 0; i < d->n_widths * d->seeds; i++) CHECK(r->values[i] == d->values[i]);
    for (int i = 0; i < d->n_widths; i++) CHECK(r->mean[i] == d->mean[i] && r->sd[i] == d->sd[i]);
    CHECK(r->fit.slope == d->fit.slope && r->fit.intercept == d->fit.intercept && r->fit.ci_hi == d->fit.ci_hi);
    cJSON *j = cJSON_Parse(out->json);
    CHECK(j != NULL);
    if (!j) return;
    /* cJSON writes 15 significant digits where they read back within a rounding */
    CHECK_CLOSE(item(j, "slope")->valuedouble, d->fit.slope, 1e-14);
    CHECK(item(j, "dof")->valueint == d->fit.dof);
    CHECK(cJSON_GetArraySize(item(j, "widths")) == d->n_widths);
    CHECK_CLOSE(cJSON_GetArrayItem(cJSON_GetArrayItem(item(j, "values"), 1), 1)->valuedouble, d->values[SEEDS + 1], 1e-14);
    CHECK(!strcmp(item(j, "data")->valuestring, "arrays") && item(j, "inputs")->valueint == N);
    CHECK(item(j, "seeds")->valueint == SEEDS && item(j, "seed")->valueint == 3 && !strcmp(item(j, "param")->valuestring, "ntk"));
    CHECK(!strcmp(item(j, "template")->valuestring, so->template_spec));
    cJSON_Delete(j);
    char line[160];
    CHECK(lm_report_block_count(out->report) == 2);
    lm_report_block b = lm_report_block_at(out->report, 0);
    snprintf(line, sizeof line, "log-log slope %.3f, 95%% interval [%.3f, %.3f]", d->fit.slope, d->fit.ci_lo, d->fit.ci_hi);
    CHECK_MSG(b.text && strstr(b.text, line), "no '%s' in\n%s", line, b.text ? b.text : "");
    snprintf(line, sizeof line, "%8d %13.6g %12.4g   %.6g %.6g\n", widths[0], d->mean[0], d->sd[0], d->values[0], d->values[1]);
    CHECK_MSG(b.text && strstr(b.text, line), "no '%s' in\n%s", line, b.text ? b.text : "");
}

static void check_figure(const lm_figure *f, const lm_sweep_result *d, int nw, double ref)
{
    CHECK(f && !strcmp(f->file, "sweep.png") && f->logx && f->logy);
    if (!f) return;
    CHECK(f->n_curves == SEEDS + 2 + !isnan(ref));
    for (int k = 0; k < SEEDS + 1; k++) CHECK(f->curves[k].n == nw);
    CHECK(f->curves[1].y[nw - 1] == d->values[(nw - 1) * SEEDS + 1]); /* seed 1 at the widest width */
    const lm_curve *fit = &f->curves[SEEDS + 1];
    CHECK(fit->n == 2 && fit->x[0] == widths[0] && fit->x[1] == widths[nw - 1]);
    CHECK_CLOSE(fit->y[1], exp(d->fit.intercept) * pow(widths[nw - 1], d->fit.slope), 1e-12);
    if (!isnan(ref)) {
        const lm_curve *c = &f->curves[SEEDS + 2];
        CHECK(c->kind == LM_CURVE_REFERENCE && c->y[0] == fit->y[0]);
        CHECK_CLOSE(log(c->y[1] / c->y[0]) / log(c->x[1] / c->x[0]), ref, 1e-12);
    }
}

static void test_full(lm_sweep_probe probe, double ref)
{
    ctx_t t = {0};
    lm_sweep_report_opts o = make_opts(probe, &t);
    lm_sweep_report_out out;
    CHECK(lm_sweep_report(&o, &out) == LM_OK);
    CHECK(t.calls == NW * SEEDS && t.details == NW * SEEDS && t.steps == 1 + (probe == LM_SWEEP_LINEARITY));
    lm_sweep_opts so = o.sweep;
    so.on_model = NULL;
    if (probe == LM_SWEEP_LINEARITY) {
        CHECK(lm_sweep_shared_lr(&so, &so.linearity.lr) == LM_OK);
        CHECK(out.lr == so.linearity.lr && out.lr > 0);
    }
    lm_sweep_result d;
    CHECK(lm_sweep_width(&so, &d) == LM_OK);
    check_against(&out, &d, &so);
    cJSON *j = cJSON_Parse(out.json);
    check_keys(j, probe == LM_SWEEP_LINEARITY, 0);
    CHECK(!strcmp(item(j, "probe")->valuestring, lm_sweep_probe_name(probe)));
    lm_sweep_value v;
    CHECK(lm_sweep_value_parse(probe, "default", &v) == LM_OK && !strcmp(item(j, "value")->valuestring, lm_sweep_value_name(v)));
    if (probe == LM_SWEEP_LINEARITY) CHECK_CLOSE(item(j, "lr")->valuedouble, so.linearity.lr, 1e-14);
    cJSON_Delete(j);
    check_figure(lm_report_block_at(out.report, 1).figure, &d, NW, ref);
    lm_sweep_free(&d);
    lm_sweep_report_free(&out);
}

static void test_stop(void)
{
    ctx_t t = {0};
    lm_sweep_report_opts o = make_opts(LM_SWEEP_HESSIAN, &t);
    t.stop_at = 2 * SEEDS - 1; /* after the second width's last seed */
    lm_sweep_report_out out;
    CHECK(lm_sweep_report(&o, &out) == LM_EINTERRUPTED);
    CHECK(t.calls == 2 * SEEDS && out.planned == NW && out.result.n_widths == 2 && out.report && out.json);
    lm_sweep_opts so = o.sweep;
    so.on_model = NULL, so.n_widths = 2;
    lm_sweep_result d;
    CHECK(lm_sweep_width(&so, &d) == LM_OK);
    if (out.report) {
        check_against(&out, &d, &so);
        cJSON *j = cJSON_Parse(out.json);
        check_keys(j, 0, 1);
        CHECK(item(j, "widths_planned")->valueint == NW);
        cJSON_Delete(j);
        CHECK(strstr(lm_report_block_at(out.report, 0).text, "stopped by a signal: 2 of the 3 widths done\n") != NULL);
        check_figure(lm_report_block_at(out.report, 1).figure, &d, 2, -0.5);
    }
    lm_sweep_free(&d);
    lm_sweep_report_free(&out);
    t = (ctx_t){0};
    o = make_opts(LM_SWEEP_HESSIAN, &t);
    t.stop_at = 0;
    CHECK(lm_sweep_report(&o, &out) == LM_EINTERRUPTED);
    CHECK(t.calls == 1 && out.result.n_widths == 0 && !out.report && !out.json);
    lm_sweep_report_free(&out);
}

static void test_refusals(void)
{
    ctx_t t = {0};
    lm_sweep_report_opts o = make_opts(LM_SWEEP_HESSIAN, &t);
    lm_sweep_report_out out;
    o.sweep.value = LM_SWEEP_NTK_TRACE;
    CHECK(lm_sweep_report(&o, &out) == LM_EINVAL && strstr(lm_error_message(), "value") && t.calls == 0);
    CHECK(!out.report && !out.json && !out.result.values);
    o.sweep.value = LM_SWEEP_DEFAULT, o.data = NULL;
    CHECK(lm_sweep_report(&o, &out) == LM_EINVAL && strstr(lm_error_message(), "data"));
    lm_sweep_value v = LM_SWEEP_DEFAULT;
    CHECK(lm_sweep_value_parse(LM_SWEEP_NTK, "foo", &v) == LM_EINVAL && v == LM_SWEEP_DEFAULT);
    CHECK(strstr(lm_error_message(), "'foo'") && strstr(lm_error_message(), "(lambda-max, lambda-min, trace)"));
    CHECK(lm_sweep_value_parse(LM_SWEEP_NTK, "mean", &v) == LM_EINVAL); /* a value of another probe */
    CHECK(lm_sweep_value_parse(LM_SWEEP_LINEARITY, "gap", &v) == LM_OK && v == LM_SWEEP_LIN_GAP);
    CHECK(!strcmp(lm_sweep_value_label(LM_SWEEP_HESS_AVG), "||H(fbar)||, fbar = mean_i f(x_i)"));
    CHECK(lm_sweep_value_name(LM_SWEEP_DEFAULT) == NULL && lm_sweep_probe_name((lm_sweep_probe)7) == NULL);
}

int main(void)
{
    for (int i = 0; i < N * DIN; i++) x[i] = lm_rand_normal(5, 1, (uint64_t)i);
    for (int i = 0; i < N; i++) y[i] = 0.5 * sin(i + 1.0);
    test_full(LM_SWEEP_HESSIAN, -0.5);
    test_full(LM_SWEEP_NTK, NAN);
    test_full(LM_SWEEP_LINEARITY, -1);
    test_stop();
    test_refusals();
    return check_summary();
}
