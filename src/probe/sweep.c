/* Width sweeps: one probe over models built from a template at several widths and seeds, and
 * the least-squares slope of log(value) against log(width) with a 95% t interval. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe/probe_internal.h"

/* ---- fitting ---- */

double lm_t_quantile_975(int dof)
{
    static const double table[31] = {
        NAN,    12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
        2.2010, 2.1788,  2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860, 2.0796,
        2.0739, 2.0687,  2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423};
    if (dof < 1) return NAN;
    if (dof <= 30) return table[dof];
    /* Cornish-Fisher expansion around the normal quantile: error below 1e-4 for dof > 30 */
    double z = 1.959963984540054, v = dof, z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z;
    return z + (z3 + z) / (4 * v) + (5 * z5 + 16 * z3 + 3 * z) / (96 * v * v) +
           (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * v * v * v);
}

lm_status lm_linear_fit(const double *x, const double *y, int n, lm_fit *fit)
{
    memset(fit, 0, sizeof *fit);
    if (n < 2) return lm_fail(LM_EINVAL, "fit: %d points (at least 2)", n);
    double mx = 0, my = 0;
    for (int i = 0; i < n; i++) mx += x[i] / n, my += y[i] / n;
    double sxx = 0, sxy = 0, syy = 0;
    for (int i = 0; i < n; i++) {
        sxx += (x[i] - mx) * (x[i] - mx);
        sxy += (x[i] - mx) * (y[i] - my);
        syy += (y[i] - my) * (y[i] - my);
    }
    if (!(sxx > 0)) return lm_fail(LM_EINVAL, "fit: every x is the same");
    fit->slope = sxy / sxx;
    fit->intercept = my - fit->slope * mx;
    double rss = 0;
    for (int i = 0; i < n; i++) {
        double e = y[i] - fit->intercept - fit->slope * x[i];
        rss += e * e;
    }
    fit->r2 = syy > 0 ? 1 - rss / syy : 1;
    fit->dof = n - 2;
    if (fit->dof > 0) {
        fit->se = sqrt(rss / fit->dof / sxx);
        double t = lm_t_quantile_975(fit->dof);
        fit->ci_lo = fit->slope - t * fit->se;
        fit->ci_hi = fit->slope + t * fit->se;
    } else {
        fit->se = NAN;
        fit->ci_lo = -INFINITY;
        fit->ci_hi = INFINITY;
    }
    return LM_OK;
}

lm_status lm_loglog_fit(const double *x, const double *y, int n, lm_fit *fit)
{
    double *lx = malloc((size_t)(n > 0 ? n : 1) * 2 * sizeof *lx);
    if (!lx) return lm_fail(LM_ENOMEM, "fit: out of memory");
    double *ly = lx + (n > 0 ? n : 1);
    for (int i = 0; i < n; i++) {
        if (!(x[i] > 0) || !(y[i] > 0)) {
            free(lx);
            memset(fit, 0, sizeof *fit);
            return lm_fail(LM_EINVAL, "log-log fit: point %d is (%g, %g); both must be positive", i, x[i], y[i]);
        }
        lx[i] = log(x[i]);
        ly[i] = log(y[i]);
    }
    lm_status st = lm_linear_fit(lx, ly, n, fit);
    free(lx);
    return st;
}

/* ---- templates ---- */

lm_status lm_spec_with_width(const char *tmpl, int width, char *buf, size_t len)
{
    size_t k = 0;
    int found = 0;
    char num[16];
    int nl = snprintf(num, sizeof num, "%d", width);
    for (const char *c = tmpl; *c; c++) {
        const char *piece = c;
        size_t pl = 1;
        if (*c == 'W') piece = num, pl = (size_t)nl, found = 1;
        if (k + pl + 1 > len) return lm_fail(LM_EINVAL, "sweep: the spec for width %d is too long", width);
        memcpy(buf + k, piece, pl);
        k += pl;
    }
    if (len) buf[k] = '\0';
    if (!found) return lm_fail(LM_EINVAL, "sweep: the template '%s' has no W to replace by the width", tmpl);
    return LM_OK;
}

/* ---- one model ---- */

/* The probe's result on one model, for the value and the hook. */
typedef struct {
    lm_hessian_result hessian;
    lm_spectrum ntk;
    lm_linearity_result linearity;
} model_result;

static lm_status hessian_value(const lm_model *m, const lm_sweep_opts *o, lm_sweep_value what, model_result *mr,
                               lm_sweep_model *info)
{
    if (what == LM_SWEEP_DEFAULT) what = LM_SWEEP_HESS_MEAN;
    if (what < LM_SWEEP_HESS_MEAN || what > LM_SWEEP_HESS_AVG)
        return lm_fail(LM_EINVAL, "sweep: value %d is not a Hessian value", (int)what);
    lm_hessian_opts ho = o->hessian;
    ho.net.params = ho.net.buffers = NULL;
    ho.skip_average = what != LM_SWEEP_HESS_AVG;
    ho.skip_per_input = what == LM_SWEEP_HESS_AVG;
    lm_status st = lm_probe_model_hessian(m, o->x, o->n, &ho, &mr->hessian);
    const lm_hessian_result *h = &mr->hessian;
    info->value = what == LM_SWEEP_HESS_AVG ? h->avg_norm : what == LM_SWEEP_HESS_MAX ? h->max_norm : h->mean_norm;
    info->hessian = h;
    return st;
}

static lm_status ntk_value(const lm_model *m, const lm_sweep_opts *o, lm_sweep_value what, model_result *mr,
                           lm_sweep_model *info)
{
    if (what == LM_SWEEP_DEFAULT) what = LM_SWEEP_NTK_LAMBDA_MAX;
    if (what < LM_SWEEP_NTK_LAMBDA_MIN || what > LM_SWEEP_NTK_TRACE)
        return lm_fail(LM_EINVAL, "sweep: value %d is not a kernel value", (int)what);
    lm_ntk_opts ko = o->ntk;
    ko.net.params = ko.net.buffers = NULL;
    const lm_spectrum *sp = &mr->ntk;
    lm_status st = lm_probe_ntk_spectrum(m, o->x, o->n, &ko, NULL, NULL, &mr->ntk, NULL);
    info->value = what == LM_SWEEP_NTK_LAMBDA_MIN ? sp->lambda_min
                : what == LM_SWEEP_NTK_TRACE      ? sp->trace
                                                  : sp->lambda_max;
    info->ntk = sp;
    return st;
}

static lm_status linearity_value(const lm_model *m, const lm_sweep_opts *o, lm_sweep_value what, model_result *mr,
                                 lm_sweep_model *info)
{
    if (what == LM_SWEEP_DEFAULT) what = LM_SWEEP_LIN_KERNEL;
    if (what < LM_SWEEP_LIN_KERNEL || what > LM_SWEEP_LIN_DIST)
        return lm_fail(LM_EINVAL, "sweep: value %d is not a linearity value", (int)what);
    lm_linearity_opts lo = o->linearity;
    lo.net.params = lo.net.buffers = NULL;
    lm_status st = lm_probe_linearity(m, o->x, o->n, &lo, &mr->linearity);
    if (st) return st;
    const lm_linearity_record *last = &mr->linearity.records[mr->linearity.n_records - 1];
    info->value = what == LM_SWEEP_LIN_GAP ? last->lin_gap_max : what == LM_SWEEP_LIN_DIST ? last->dist : last->kernel_change;
    info->linearity = &mr->linearity;
    return st;
}

/* Build the model at one width and seed, probe it, hand the result to the hook. */
static lm_status one_model(const lm_sweep_opts *o, const char *spec, lm_sweep_model *info)
{
    lm_model *m;
    lm_status st = lm_model_create(spec, o->in, o->param, info->seed, &m);
    if (st) return st;
    model_result mr;
    memset(&mr, 0, sizeof mr);
    info->model = m;
    info->value = NAN;
    if (o->probe == LM_SWEEP_HESSIAN) st = hessian_value(m, o, o->value, &mr, info);
    else if (o->probe == LM_SWEEP_NTK) st = ntk_value(m, o, o->value, &mr, info);
    else if (o->probe == LM_SWEEP_LINEARITY) st = linearity_value(m, o, o->value, &mr, info);
    else if (o->probe == LM_SWEEP_HOOK) st = LM_OK;
    else st = lm_fail(LM_EINVAL, "sweep: unknown probe %d", (int)o->probe);
    if (!st && o->on_model) st = o->on_model(o->hook_ctx, info);
    lm_linearity_free(&mr.linearity);
    lm_model_free(m);
    info->model = NULL;
    info->hessian = NULL, info->ntk = NULL, info->linearity = NULL;
    return st;
}

/* ---- the sweep ---- */

static void mean_sd(lm_sweep_result *r, int i)
{
    int seeds = r->seeds;
    const double *v = r->values + (size_t)i * seeds;
    for (int s = 0; s < seeds; s++) r->mean[i] += v[s] / seeds;
    if (seeds < 2) return;
    double ss = 0;
    for (int s = 0; s < seeds; s++) ss += (v[s] - r->mean[i]) * (v[s] - r->mean[i]);
    r->sd[i] = sqrt(ss / (seeds - 1));
}

lm_status lm_sweep_width(const lm_sweep_opts *o, lm_sweep_result *r)
{
    memset(r, 0, sizeof *r);
    if (!o || !o->template_spec || !o->widths || o->n_widths < 1 || !o->x || o->n < 1)
        return lm_fail(LM_EINVAL, "sweep: a template, widths and inputs are required");
    int seeds = o->seeds > 0 ? o->seeds : 1, nw = o->n_widths;
    r->n_widths = nw;
    r->seeds = seeds;
    r->values = calloc((size_t)nw * seeds, sizeof *r->values);
    r->mean = calloc(nw, sizeof *r->mean);
    r->sd = calloc(nw, sizeof *r->sd);
    double *lw = malloc((size_t)nw * seeds * sizeof *lw);
    if (!r->values || !r->mean || !r->sd || !lw) {
        free(lw);
        lm_sweep_free(r);
        return lm_fail(LM_ENOMEM, "sweep: out of memory");
    }
    lm_status st = LM_OK;
    char spec[1024];
    int done = 0; /* widths whose every seed is done */
    for (int i = 0; !st && i < nw; i++) {
        st = lm_spec_with_width(o->template_spec, o->widths[i], spec, sizeof spec);
        for (int s = 0; !st && s < seeds; s++) {
            lm_sweep_model info = {.width_index = i, .seed_index = s, .width = o->widths[i], .seed = o->seed + (uint64_t)s};
            st = one_model(o, spec, &info);
            if (st && st != LM_EINTERRUPTED) {
                lm_fail_context(st, "sweep: width %d, seed %d", o->widths[i], s);
                break;
            }
            r->values[(size_t)i * seeds + s] = info.value;
            lw[(size_t)i * seeds + s] = o->widths[i];
            if (s == seeds - 1) mean_sd(r, i), done = i + 1;
        }
    }
    lm_status fit = LM_OK;
    if (!st || st == LM_EINTERRUPTED) {
        r->n_widths = done;
        r->fit = (lm_fit){NAN, NAN, NAN, NAN, NAN, NAN, 0};
        if (done > 1 && o->probe != LM_SWEEP_HOOK) fit = lm_loglog_fit(lw, r->values, done * seeds, &r->fit);
    }
    if (fit) st = fit;
    free(lw);
    if (st && (st != LM_EINTERRUPTED || done == 0)) lm_sweep_free(r);
    return st;
}

void lm_sweep_free(lm_sweep_result *r)
{
    free(r->values), free(r->mean), free(r->sd);
    r->values = r->mean = r->sd = NULL;
}

lm_status lm_sweep_shared_lr(const lm_sweep_opts *o, double *lr)
{
    *lr = NAN;
    if (!o || !o->template_spec || !o->widths || o->n_widths < 1 || !o->x || o->n < 1)
        return lm_fail(LM_EINVAL, "sweep: a template, widths and inputs are required");
    lm_ntk_opts ko = o->linearity.ntk;
    ko.net = o->linearity.net;
    ko.net.params = ko.net.buffers = NULL;
    double lmax = 0;
    char spec[1024];
    lm_status st = LM_OK;
    for (int e = 0; !st && e < 2; e++) { /* the narrowest, then the widest */
        int wi = 0;
        for (int i = 1; i < o->n_widths; i++)
            if (e ? o->widths[i] > o->widths[wi] : o->widths[i] < o->widths[wi]) wi = i;
        lm_model *m = NULL;
        lm_spectrum sp;
        st = lm_spec_with_width(o->template_spec, o->widths[wi], spec, sizeof spec);
        if (!st) st = lm_model_create(spec, o->in, o->param, o->seed, &m);
        if (!st) st = lm_probe_ntk_spectrum(m, o->x, o->n, &ko, NULL, NULL, &sp, NULL);
        if (!st) lmax = fmax(lmax, sp.lambda_max);
        lm_model_free(m);
    }
    if (!st && !(lmax > 0)) st = lm_fail(LM_EINVAL, "sweep: lambda_max(K_0) is %g: give a learning rate", lmax);
    if (!st) *lr = 1 / lmax;
    return st;
}
