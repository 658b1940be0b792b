/* A width sweep as a report (probe.h, lm_sweep_report): the sweep with its shared step, progress
 * and stop flag, the summary table, the log-log figure and the result as JSON. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linmass/probe.h"
#include "probe/probe_internal.h"

static const struct {
    lm_sweep_probe probe;
    lm_sweep_value value;
    const char *name, *label;
} values[] = {
    {LM_SWEEP_HESSIAN, LM_SWEEP_HESS_MEAN, "mean", "mean_i ||H(f(x_i))||"},
    {LM_SWEEP_HESSIAN, LM_SWEEP_HESS_MAX, "max", "max_i ||H(f(x_i))||"},
    {LM_SWEEP_HESSIAN, LM_SWEEP_HESS_AVG, "avg", "||H(fbar)||, fbar = mean_i f(x_i)"},
    {LM_SWEEP_NTK, LM_SWEEP_NTK_LAMBDA_MAX, "lambda-max", "lambda_max(K)"},
    {LM_SWEEP_NTK, LM_SWEEP_NTK_LAMBDA_MIN, "lambda-min", "lambda_min(K)"},
    {LM_SWEEP_NTK, LM_SWEEP_NTK_TRACE, "trace", "trace(K)"},
    {LM_SWEEP_LINEARITY, LM_SWEEP_LIN_KERNEL, "kernel", "||K_T - K_0||_F / ||K_0||_F"},
    {LM_SWEEP_LINEARITY, LM_SWEEP_LIN_GAP, "gap", "max |f - f_lin| (held out)"},
    {LM_SWEEP_LINEARITY, LM_SWEEP_LIN_DIST, "dist", "||w_T - w_0||"},
};
#define N_VALUES ((int)(sizeof values / sizeof *values))

static int value_index(lm_sweep_value v)
{
    for (int i = 0; i < N_VALUES; i++)
        if (values[i].value == v) return i;
    return -1;
}

const char *lm_sweep_value_name(lm_sweep_value v) { return value_index(v) < 0 ? NULL : values[value_index(v)].name; }
const char *lm_sweep_value_label(lm_sweep_value v) { return value_index(v) < 0 ? NULL : values[value_index(v)].label; }

lm_status lm_sweep_value_parse(lm_sweep_probe p, const char *name, lm_sweep_value *v)
{
    char names[64] = "";
    for (int i = 0; i < N_VALUES; i++) {
        if (values[i].probe != p) continue;
        if (!strcmp(name, "default") || !strcmp(name, values[i].name)) {
            *v = values[i].value;
            return LM_OK;
        }
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", names[0] ? ", " : "", values[i].name);
    }
    if (!lm_sweep_probe_name(p)) return lm_fail(LM_EINVAL, "sweep: unknown probe %d", (int)p);
    return lm_fail(LM_EINVAL, "value '%s' is not a value of the %s probe (%s)", name, lm_sweep_probe_name(p), names);
}

/* ---- the run ---- */

typedef struct {
    const lm_sweep_report_opts *o;
    double t0;
    int done, total; /* models done, of */
} run_ctx;

static void progress(const lm_sweep_report_opts *o, lm_progress_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void progress(const lm_sweep_report_opts *o, lm_progress_level level, const char *fmt, ...)
{
    if (!o->progress) return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    o->progress(o->progress_ctx, level, line);
}

static lm_status on_model(void *ctx, const lm_sweep_model *m)
{
    run_ctx *c = ctx;
    const lm_sweep_opts *so = &c->o->sweep;
    progress(c->o, LM_PROGRESS_DETAIL, "width %d seed %d/%d: %.6g  (%.1f s)", m->width, m->seed_index + 1,
             so->seeds > 0 ? so->seeds : 1, m->value, lm_job_now() - c->t0);
    lm_status st = so->on_model ? so->on_model(so->hook_ctx, m) : LM_OK;
    c->done++; /* a stop asked for in the last model changes nothing */
    if (!st && c->o->stop && *c->o->stop && c->done < c->total)
        st = lm_fail(LM_EINTERRUPTED, "sweep: stopped after %d of %d models", c->done, c->total);
    return st;
}

/* The widths as "8,16,32". */
static void widths_text(const lm_sweep_opts *so, char *buf, size_t len)
{
    size_t k = 0;
    buf[0] = '\0';
    for (int i = 0; i < so->n_widths && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, "%s%d", i ? "," : "", so->widths[i]);
}

/* The sweep itself on a copy of the options: the shared step, then every model. */
static lm_status run_sweep(const lm_sweep_report_opts *o, lm_sweep_opts *so, lm_sweep_report_out *out)
{
    lm_status st = LM_OK;
    if (so->probe == LM_SWEEP_LINEARITY && !(so->linearity.lr > 0)) {
        if ((st = lm_sweep_shared_lr(so, &so->linearity.lr))) return st;
        progress(o, LM_PROGRESS_STEP, "lr %.4g = 1/lambda_max(K_0)", so->linearity.lr);
    }
    out->lr = so->probe == LM_SWEEP_LINEARITY ? so->linearity.lr : 0;
    int seeds = so->seeds > 0 ? so->seeds : 1;
    char wt[512];
    widths_text(so, wt, sizeof wt);
    progress(o, LM_PROGRESS_STEP, "%s over widths %s, %d seed%s, %d inputs ...", lm_sweep_value_label(so->value), wt,
             seeds, seeds == 1 ? "" : "s", so->n);
    run_ctx c = {o, lm_job_now(), 0, so->n_widths * seeds};
    so->on_model = on_model;
    so->hook_ctx = &c;
    st = lm_sweep_width(so, &out->result);
    out->seconds = lm_job_now() - c.t0;
    return st;
}

/* ---- the report ---- */

static void summary(lm_report *rep, const lm_sweep_opts *so, const lm_sweep_report_out *out, const char *data)
{
    const lm_sweep_result *r = &out->result;
    int seeds = r->seeds;
    lm_report_printf(rep, "sweep width: %s probe, %s", lm_sweep_probe_name(so->probe), lm_sweep_value_label(so->value));
    if (so->probe == LM_SWEEP_LINEARITY)
        lm_report_printf(rep, " after %d GD steps at lr %.4g", so->linearity.steps, out->lr);
    lm_report_printf(rep, "\ntemplate %s, %s parameterization, %d input%s of %s, seeds %llu..%llu\n", so->template_spec,
                     so->param == LM_PARAM_NTK ? "ntk" : "standard", so->n, so->n == 1 ? "" : "s", data,
                     (unsigned long long)so->seed, (unsigned long long)(so->seed + seeds - 1));
    lm_report_printf(rep, "%8s %13s %12s   %s\n", "width", "mean", "sd", "per seed");
    for (int i = 0; i < r->n_widths; i++) {
        lm_report_printf(rep, "%8d %13.6g %12.4g  ", so->widths[i], r->mean[i], r->sd[i]);
        for (int s = 0; s < seeds; s++) lm_report_printf(rep, " %.6g", r->values[(size_t)i * seeds + s]);
        lm_report_printf(rep, "\n");
    }
    lm_report_printf(rep, "log-log slope %.3f, 95%% interval [%.3f, %.3f] (r^2 %.3f, %d degrees of freedom, %d points)\n",
                     r->fit.slope, r->fit.ci_lo, r->fit.ci_hi, r->fit.r2, r->fit.dof, r->n_widths * seeds);
    if (so->probe == LM_SWEEP_HESSIAN)
        lm_report_printf(rep, "docs/theory.md §4.2: about -0.5 with a linear output layer; no decrease (about 0 or above) "
                              "with a non-linear\noutput or a width-1 bottleneck\n");
    else if (so->value == LM_SWEEP_LIN_KERNEL)
        lm_report_printf(rep, "docs/theory.md §4.2: about -1 with a linear output layer (kernel constancy); order 1 with "
                              "a non-linear output\n");
    if (r->n_widths < out->planned)
        lm_report_printf(rep, "stopped by a signal: %d of the %d widths done\n", r->n_widths, out->planned);
    lm_report_printf(rep, "%.1f s\n", out->seconds);
}

/* The theory's slope for the value (NAN: none), docs/theory.md §4.2: ||H|| like m^-0.5 with a
 * linear output layer, the relative kernel change like m^-1. */
static double theory_slope(const lm_sweep_opts *so)
{
    return so->probe == LM_SWEEP_HESSIAN ? -0.5 : so->value == LM_SWEEP_LIN_KERNEL ? -1 : NAN;
}

/* The log-log figure: each seed's values, the mean per width, the fitted line and the theory's
 * slope through the fit at the narrowest width. */
static lm_status figure(lm_report *rep, const lm_sweep_opts *so, const lm_sweep_result *r)
{
    int nw = r->n_widths, seeds = r->seeds, nc = 0, lo = 0, hi = 0;
    double *x = malloc((size_t)nw * (seeds + 1) * sizeof *x), fx[2], fy[2], ry[2], ref = theory_slope(so);
    lm_curve *c = calloc((size_t)seeds + 3, sizeof *c);
    char(*labels)[96] = calloc((size_t)seeds + 2, sizeof *labels);
    if (!x || !c || !labels) return free(x), free(c), free(labels), lm_fail(LM_ENOMEM, "sweep: out of memory");
    double *per = x + nw;
    for (int i = 0; i < nw; i++) {
        x[i] = so->widths[i];
        for (int k = 0; k < seeds; k++) per[(size_t)k * nw + i] = r->values[(size_t)i * seeds + k];
        if (so->widths[i] < so->widths[lo]) lo = i;
        if (so->widths[i] > so->widths[hi]) hi = i;
    }
    for (int k = 0; k < seeds; k++) {
        snprintf(labels[k], sizeof labels[k], "seed %llu", (unsigned long long)(so->seed + k));
        c[nc++] = (lm_curve){.label = labels[k], .kind = LM_CURVE_LINESPOINTS, .n = nw, .x = x, .y = per + (size_t)k * nw};
    }
    c[nc++] = (lm_curve){.label = "mean", .kind = LM_CURVE_LINESPOINTS, .n = nw, .x = x, .y = r->mean};
    fx[0] = so->widths[lo], fx[1] = so->widths[hi];
    for (int e = 0; e < 2; e++) fy[e] = exp(r->fit.intercept) * pow(fx[e], r->fit.slope);
    ry[0] = fy[0], ry[1] = fy[0] * pow(fx[1] / fx[0], ref);
    snprintf(labels[seeds], sizeof labels[seeds], "fit: slope %.3f [%.3f, %.3f]", r->fit.slope, r->fit.ci_lo, r->fit.ci_hi);
    c[nc++] = (lm_curve){.label = labels[seeds], .kind = LM_CURVE_LINE, .n = 2, .x = fx, .y = fy};
    snprintf(labels[seeds + 1], sizeof labels[seeds + 1], "theory: slope %g", ref);
    if (!isnan(ref)) c[nc++] = (lm_curve){.label = labels[seeds + 1], .kind = LM_CURVE_REFERENCE, .n = 2, .x = fx, .y = ry};
    char title[600], caption[300];
    snprintf(title, sizeof title, "%s (%s, %d inputs)", so->template_spec, so->param == LM_PARAM_NTK ? "ntk" : "standard", so->n);
    snprintf(caption, sizeof caption, "The swept value against the width, log-log: each seed, the mean and the fit%s",
             isnan(ref) ? "" : ", with the theory's slope");
    lm_figure f = {.file = "sweep.png", .caption = caption, .title = title, .xlabel = "width m",
                   .ylabel = lm_sweep_value_label(so->value), .logx = 1, .logy = 1, .n_curves = nc, .curves = c};
    lm_status st = lm_report_figure(rep, &f);
    free(x), free(c), free(labels);
    return st;
}

static char *result_json(const lm_sweep_opts *so, const lm_sweep_report_out *out, const char *data)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "sweep", "width");
    cJSON_AddStringToObject(o, "probe", lm_sweep_probe_name(so->probe));
    cJSON_AddStringToObject(o, "value", lm_sweep_value_name(so->value));
    cJSON_AddStringToObject(o, "value_label", lm_sweep_value_label(so->value));
    cJSON_AddStringToObject(o, "template", so->template_spec);
    cJSON_AddStringToObject(o, "param", so->param == LM_PARAM_NTK ? "ntk" : "standard");
    cJSON_AddStringToObject(o, "data", data);
    cJSON_AddNumberToObject(o, "inputs", so->n);
    cJSON_AddNumberToObject(o, "seeds", out->result.seeds);
    cJSON_AddNumberToObject(o, "seed", (double)so->seed);
    if (so->probe == LM_SWEEP_LINEARITY) {
        cJSON_AddNumberToObject(o, "steps", so->linearity.steps);
        cJSON_AddNumberToObject(o, "lr", out->lr);
    }
    char *fit = lm_sweep_result_json(&out->result, so->widths);
    cJSON *f = fit ? cJSON_Parse(fit) : NULL, *e;
    free(fit);
    while (f && (e = f->child)) cJSON_AddItemToObject(o, e->string, cJSON_DetachItemViaPointer(f, e));
    cJSON_Delete(f);
    cJSON_AddNumberToObject(o, "seconds", out->seconds);
    if (out->result.n_widths < out->planned) cJSON_AddNumberToObject(o, "widths_planned", out->planned);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static lm_status build_report(const lm_sweep_opts *so, lm_sweep_report_out *out, const char *data)
{
    lm_status st = lm_report_create(0, &out->report);
    if (st) return st;
    summary(out->report, so, out, data);
    if ((st = lm_report_status(out->report)) || (st = figure(out->report, so, &out->result))) return st;
    out->json = result_json(so, out, data);
    return out->json ? LM_OK : lm_fail(LM_ENOMEM, "sweep: out of memory for the JSON");
}

lm_status lm_sweep_opts_validate(const lm_sweep_opts *o)
{
    if (o->seeds < 1) return lm_fail(LM_EINVAL, "seeds %d must be at least 1", o->seeds);
    if (o->probe == LM_SWEEP_HESSIAN && !(o->hessian.eig.tol >= 0))
        return lm_fail(LM_EINVAL, "hessian.eig.tol %g must not be negative", o->hessian.eig.tol);
    if (o->probe != LM_SWEEP_LINEARITY) return LM_OK;
    const lm_linearity_opts *l = &o->linearity;
    if (l->steps < 1) return lm_fail(LM_EINVAL, "linearity.steps %d must be at least 1", l->steps);
    if (!(l->lr >= 0) || l->lr == INFINITY) return lm_fail(LM_EINVAL, "linearity.lr %g must be finite and not negative", l->lr);
    if (l->n_test < 0) return lm_fail(LM_EINVAL, "linearity.n_test %d must not be negative", l->n_test);
    if (o->value == LM_SWEEP_LIN_GAP && l->n_test < 1)
        return lm_fail(LM_EINVAL, "linearity.n_test %d: the value gap needs held-out inputs", l->n_test);
    return LM_OK;
}

lm_status lm_sweep_report(const lm_sweep_report_opts *o, lm_sweep_report_out *out)
{
    memset(out, 0, sizeof *out);
    if (!o || !o->data) return lm_fail(LM_EINVAL, "sweep: options with the data's name are required");
    lm_sweep_opts so = o->sweep;
    if (so.value == LM_SWEEP_DEFAULT) lm_sweep_value_parse(so.probe, "default", &so.value);
    int ok = value_index(so.value) >= 0 && values[value_index(so.value)].probe == so.probe;
    if (!ok) return lm_fail(LM_EINVAL, "sweep: value %d is not a value of probe %d", (int)so.value, (int)so.probe);
    lm_status vs = lm_sweep_opts_validate(&so);
    if (vs) return vs;
    out->planned = so.n_widths;
    lm_status st = run_sweep(o, &so, out);
    if (st && (st != LM_EINTERRUPTED || out->result.n_widths == 0)) return st;
    lm_status rs = build_report(&so, out, o->data);
    if (rs) lm_sweep_report_free(out);
    return rs ? rs : st;
}

void lm_sweep_report_free(lm_sweep_report_out *out)
{
    lm_sweep_free(&out->result);
    lm_report_free(out->report);
    free(out->json);
    out->report = NULL, out->json = NULL;
}
