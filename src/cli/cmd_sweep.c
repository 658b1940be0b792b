/* linmass sweep width: a probe of include/linmass/probe.h over models built from a template at
 * several widths and seeds (lm_sweep_width), the slope of log(value) against log(width), a
 * table, a log-log plot and a run folder. SIGINT and SIGTERM stop it after the model in hand,
 * and the widths done so far are reported as a sweep of their own (exit 130, 143). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/plot.h"
#include "cli/probe_cli.h"
#include "linmass/probe.h"
#include "linmass/runtime.h"

static const char *const sweep_about =
    "The probe over widths: a model is built from the template at each width (every W becomes the\n"
    "width) and each of --seeds seeds (--seed, --seed + 1, ...), probed on the same N inputs; prints\n"
    "the mean and standard deviation per width and the least-squares slope of log(value) against\n"
    "log(width) over every (width, seed) point, with a 95% interval (Student's t). docs/theory.md §4.2:\n"
    "||H_f|| falls like m^-0.5 with a linear output layer, does not fall with a non-linear output or\n"
    "a width-1 bottleneck; the relative kernel change after GD falls like m^-1.";

static const char *const sweep_epilog_head =
    "values (--value; 'default' is the first of each):\n"
    "  hessian    mean (mean_i ||H(f(x_i))||), max (max_i), avg (||H(fbar)||, fbar = mean_i f(x_i))\n"
    "  ntk        lambda-max, lambda-min, trace of K = J J^T on the inputs\n"
    "  linearity  kernel (||K_T - K_0||_F/||K_0||_F after --steps GD steps), gap (max |f - f_lin| on\n"
    "             --held-out inputs), dist (||w_T - w_0||)\n"
    "templates (W = the width; dense, conv and res layers all take it):\n"
    "  dense:W,tanh,dense:W,tanh,dense:1                 2 hidden layers, linear output (default)\n"
    "  dense:W,tanh,dense:W,tanh,dense:1,tanh            a non-linear output: append ',tanh'\n"
    "  dense:W,tanh,dense:1,tanh,dense:W,tanh,dense:1    a width-1 bottleneck: ',dense:1,tanh,' in the middle\n"
    "  dense:W,relu,dense:W,relu,dense:W,relu,dense:1    any depth, any activation\n"
    "  conv:Wx3,tanh,conv:Wx3,tanh,gap,dense:1           convolutional (W channels; image data)\n"
    "  conv:Wx3,res:W,res:W,gap,dense:1                  residual (image data)\n"
    "examples:\n"
    "  linmass sweep width --probe hessian --widths 64,128,256,512,1024 --seeds 3\n"
    "  linmass sweep width --probe hessian --template dense:W,tanh,dense:W,tanh,dense:1,tanh\n"
    "  linmass sweep width --probe linearity --widths 64,256,1024,4096 --steps 200 --seeds 2\n"
    "  linmass sweep width --probe ntk --value lambda-min --data fashion-mnist --inputs 32 \\\n"
    "      --template conv:Wx3,tanh,gap,dense:10 --output 0 --widths 8,16,32,64\n";


/* The values each probe reports (--value; 'default' is the first of each probe). */
static const struct {
    lm_sweep_probe probe;
    const char *name;
    lm_sweep_value value;
    const char *label;
} values[] = {
    {LM_SWEEP_HESSIAN, "mean", LM_SWEEP_HESS_MEAN, "mean_i ||H(f(x_i))||"},
    {LM_SWEEP_HESSIAN, "max", LM_SWEEP_HESS_MAX, "max_i ||H(f(x_i))||"},
    {LM_SWEEP_HESSIAN, "avg", LM_SWEEP_HESS_AVG, "||H(fbar)||, fbar = mean_i f(x_i)"},
    {LM_SWEEP_NTK, "lambda-max", LM_SWEEP_NTK_LAMBDA_MAX, "lambda_max(K)"},
    {LM_SWEEP_NTK, "lambda-min", LM_SWEEP_NTK_LAMBDA_MIN, "lambda_min(K)"},
    {LM_SWEEP_NTK, "trace", LM_SWEEP_NTK_TRACE, "trace(K)"},
    {LM_SWEEP_LINEARITY, "kernel", LM_SWEEP_LIN_KERNEL, "||K_T - K_0||_F / ||K_0||_F"},
    {LM_SWEEP_LINEARITY, "gap", LM_SWEEP_LIN_GAP, "max |f - f_lin| (held out)"},
    {LM_SWEEP_LINEARITY, "dist", LM_SWEEP_LIN_DIST, "||w_T - w_0||"},
};

typedef struct {
    const char *probe, *tmpl, *widths_text, *data, *param_text, *value_text, *output_text, *out, *positional[2];
    int seeds, inputs, json, threads, steps, held, max_mem, no_normalize;
    uint64_t seed;
    double tol, lr;
    cli_opt opts[20];
    cli_command c;
    char epilog[4096];
    /* resolved */
    lm_sweep_probe sp;
    int vi, *widths, nw;
    lm_param_kind param;
    char spec0[1024]; /* the template at the first width */
} sweep_cli;

static int sweep_parse(sweep_cli *w, int argc, char **argv)
{
    cli_opt opts[] = {
        {"probe", OPT_STRING, &w->probe, "hessian", "hessian, ntk or linearity", 0},
        {"template", OPT_STRING, &w->tmpl, DEFAULT_TEMPLATE, "model spec with W for the width (see below)", 0},
        {"widths", OPT_STRING, &w->widths_text, "64,128,256,512,1024", "comma-separated widths (at least two different)", 0},
        {"seeds", OPT_INT, &w->seeds, "2", "models per width (seeds --seed, --seed + 1, ...)", 0},
        {"seed", OPT_U64, &w->seed, "0", "first model seed; also the synthetic data's and the probe vectors'", 0},
        {"value", OPT_STRING, &w->value_text, "default", "what the probe reports (see below)", 0},
        {"data", OPT_STRING, &w->data, DEFAULT_DATA, "data source; the inputs are its first --inputs training samples", 0},
        {"inputs", OPT_INT, &w->inputs, "8", "number of inputs N", 0},
        {"param", OPT_STRING, &w->param_text, "ntk", "parameterization: ntk (the theory's) or standard", 0},
        {"output", OPT_STRING, &w->output_text, "sum", "model output: k (0-based) or sum (over outputs; = 0 for one output)", 0},
        {"no-normalize", OPT_FLAG, &w->no_normalize, NULL, "raw inputs (default: standardised with the training split's statistics)", 0},
        {"tol", OPT_DOUBLE, &w->tol, "1e-6", "hessian: Lanczos tolerance (relative Ritz residual bound)", 0},
        {"steps", OPT_INT, &w->steps, "200", "linearity: full-batch GD steps", 0},
        {"lr", OPT_DOUBLE, &w->lr, "0", "linearity: step size (0: 1/lambda_max(K_0), the largest over the narrowest and widest models)", 0},
        {"held-out", OPT_INT, &w->held, "32", "linearity: held-out test inputs for --value gap", 0},
        {"max-memory", OPT_INT, &w->max_mem, "1024", "MB for a kernel or a Lanczos basis (more: exit 1 naming the size)", 0},
        {"threads", OPT_INT, &w->threads, "0", "threads (0: all cores)", 0},
        {"out", OPT_STRING, &w->out, "runs/sweep", "run folder: config.json, result.json, plots/sweep.png, report.md", 0},
        {"json", OPT_FLAG, &w->json, NULL, "print one JSON object last on stdout (the table goes to stderr)", 0},
    };
    memcpy(w->opts, opts, sizeof opts);
    snprintf(w->epilog, sizeof w->epilog, "%s\n%s", sweep_epilog_head, probe_exit_help);
    w->c = (cli_command){"sweep",
                         "linmass sweep width --probe hessian|ntk|linearity --template SPEC --widths LIST --seeds K\n"
                         "                    [--inputs N] [--data SRC] [--param ntk|standard] [--value V] [--json] [--out DIR]",
                         sweep_about, w->opts, sizeof opts / sizeof *opts, w->epilog, w->positional, 1, 0};
    return cli_parse(&w->c, argc, argv);
}

/* --probe and --value: w->sp and w->vi. */
static int sweep_value(sweep_cli *w)
{
    cli_command *c = &w->c;
    if (!strcmp(w->probe, "hessian")) w->sp = LM_SWEEP_HESSIAN;
    else if (!strcmp(w->probe, "ntk")) w->sp = LM_SWEEP_NTK;
    else if (!strcmp(w->probe, "linearity")) w->sp = LM_SWEEP_LINEARITY;
    else return cli_usage_error(c, "--probe: '%s' is not hessian, ntk or linearity", w->probe);
    w->vi = -1;
    for (int i = 0; w->vi < 0 && i < (int)(sizeof values / sizeof *values); i++)
        if (values[i].probe == w->sp && (!strcmp(w->value_text, "default") || !strcmp(w->value_text, values[i].name))) w->vi = i;
    if (w->vi < 0)
        return cli_usage_error(c, "--value: '%s' is not a value of the %s probe (%s)", w->value_text, w->probe,
                               w->sp == LM_SWEEP_HESSIAN ? "mean, max, avg"
                               : w->sp == LM_SWEEP_NTK   ? "lambda-max, lambda-min, trace"
                                                         : "kernel, gap, dist");
    return 0;
}

static int sweep_args(sweep_cli *w, int argc, char **argv)
{
    int rc = sweep_parse(w, argc, argv);
    if (rc) return rc;
    cli_command *c = &w->c;
    if (c->npositional != 1 || strcmp(w->positional[0], "width"))
        return cli_usage_error(c, "%s%s%s: the only sweep is 'linmass sweep width'", c->npositional ? "'" : "",
                               c->npositional ? w->positional[0] : "name what to sweep", c->npositional ? "'" : "");
    if ((rc = sweep_value(w))) return rc;
    if (w->seeds < 1) return cli_usage_error(c, "--seeds %d must be at least 1", w->seeds);
    if (w->tol < 0) return cli_usage_error(c, "--tol %g must not be negative", w->tol);
    if (w->steps < 1) return cli_usage_error(c, "--steps %d must be at least 1", w->steps);
    if (w->lr < 0) return cli_usage_error(c, "--lr %g must not be negative", w->lr);
    if (w->held < 0) return cli_usage_error(c, "--held-out %d must not be negative", w->held);
    if (values[w->vi].value == LM_SWEEP_LIN_GAP && w->held < 1) return cli_usage_error(c, "--value gap needs --held-out of at least 1");
    if ((rc = parse_widths(c, w->widths_text, &w->widths, &w->nw))) return rc;
    if (lm_spec_with_width(w->tmpl, w->widths[0], w->spec0, sizeof w->spec0))
        return cli_usage_error(c, "--template '%s' has no W to replace by the width (e.g. %s)", w->tmpl, DEFAULT_TEMPLATE);
    return 0;
}

/* The inputs (the first N training inputs, standardised, and the held-out ones) and the
 * targets, by the probes' shared set-up with the template's model at the first width. */
static int sweep_load(const sweep_cli *w, setup *s, double **y)
{
    common_opts o = {.model = w->spec0, .param = w->param_text, .data = w->data, .output = w->output_text, .out = w->out,
                     .inputs = w->inputs, .threads = w->threads, .no_normalize = w->no_normalize, .max_mem = w->max_mem,
                     .seed = w->seed};
    int n_test = w->sp == LM_SWEEP_LINEARITY ? w->held : 0;
    return setup_all(&w->c, &o, n_test, s, w->sp == LM_SWEEP_LINEARITY ? y : NULL);
}

static void sweep_fill(const sweep_cli *w, const setup *d, const double *y, lm_sweep_opts *so)
{
    memset(so, 0, sizeof *so);
    so->template_spec = w->tmpl;
    so->in = d->in.train->shape;
    so->param = d->param;
    so->widths = w->widths;
    so->n_widths = w->nw;
    so->seeds = w->seeds;
    so->seed = w->seed;
    so->probe = w->sp;
    so->value = values[w->vi].value;
    so->x = d->in.x;
    so->n = w->inputs;
    so->hessian.net.output = d->output;
    so->hessian.eig.tol = w->tol;
    so->hessian.eig.seed = w->seed;
    so->hessian.eig.mem_cap = (size_t)w->max_mem * MB;
    so->ntk.net.output = d->output;
    so->ntk.mem_cap = (size_t)w->max_mem * MB;
    so->linearity.net.output = d->output == LM_OUTPUT_SUM ? 0 : d->output;
    so->linearity.y = y;
    so->linearity.steps = w->steps;
    so->linearity.record_every = w->steps;
    so->linearity.x_test = d->in.x_test;
    so->linearity.n_test = d->in.n_test;
    so->linearity.ntk.mem_cap = (size_t)w->max_mem * MB;
    so->linearity.lr = w->lr;
}

/* --lr 0 of a linearity sweep: one step for every model, 1/lambda_max(K_0) of the narrowest and
 * the widest (the larger lambda_max). */
static int sweep_lr(const cli_command *c, lm_sweep_opts *so)
{
    if (so->probe != LM_SWEEP_LINEARITY || so->linearity.lr > 0) return 0;
    lm_status st = lm_sweep_shared_lr(so, &so->linearity.lr);
    if (st) return probe_fail(c, st);
    fprintf(stderr, "sweep: lr %.4g = 1/lambda_max(K_0)\n", so->linearity.lr);
    return 0;
}

typedef struct {
    int seeds;
    double t0;
    int done, total; /* models done, of */
    volatile sig_atomic_t *stop;
} sweep_progress;

static lm_status on_model(void *ctx, const lm_sweep_model *m)
{
    sweep_progress *p = ctx;
    fprintf(stderr, "sweep: width %d seed %d/%d: %.6g  (%.1f s)\n", m->width, m->seed_index + 1, p->seeds, m->value,
            cli_now() - p->t0);
    p->done++; /* a stop asked for in the last model changes nothing */
    return *p->stop && p->done < p->total ? lm_fail(LM_EINTERRUPTED, "stopped by %s", cli_signal_name(*p->stop)) : LM_OK;
}

static void sweep_text(sbuf *t, const sweep_cli *w, const lm_sweep_opts *so, const lm_sweep_result *r)
{
    int seeds = w->seeds;
    sb_printf(t, "sweep width: %s probe, %s", w->probe, values[w->vi].label);
    if (w->sp == LM_SWEEP_LINEARITY) sb_printf(t, " after %d GD steps at lr %.4g", w->steps, so->linearity.lr);
    sb_printf(t, "\ntemplate %s, %s parameterization, %d input%s of %s, seeds %llu..%llu\n", w->tmpl, param_name(w->param), w->inputs,
              w->inputs == 1 ? "" : "s", w->data, (unsigned long long)w->seed, (unsigned long long)(w->seed + seeds - 1));
    sb_printf(t, "%8s %13s %12s   %s\n", "width", "mean", "sd", "per seed");
    for (int i = 0; i < w->nw; i++) {
        sb_printf(t, "%8d %13.6g %12.4g  ", w->widths[i], r->mean[i], r->sd[i]);
        for (int s = 0; s < seeds; s++) sb_printf(t, " %.6g", r->values[(size_t)i * seeds + s]);
        sb_printf(t, "\n");
    }
    sb_printf(t, "log-log slope %.3f, 95%% interval [%.3f, %.3f] (r^2 %.3f, %d degrees of freedom, %d points)\n", r->fit.slope,
              r->fit.ci_lo, r->fit.ci_hi, r->fit.r2, r->fit.dof, w->nw * seeds);
    if (w->sp == LM_SWEEP_HESSIAN)
        sb_printf(t, "docs/theory.md §4.2: about -0.5 with a linear output layer; no decrease (about 0 or above) with a non-linear\n"
                     "output or a width-1 bottleneck\n");
    else if (w->sp == LM_SWEEP_LINEARITY && values[w->vi].value == LM_SWEEP_LIN_KERNEL)
        sb_printf(t, "docs/theory.md §4.2: about -1 with a linear output layer (kernel constancy); order 1 with a non-linear output\n");
}

static cJSON *sweep_json(const sweep_cli *w, const lm_sweep_opts *so, const lm_sweep_result *r)
{
    cJSON *res = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "sweep", "width");
    cJSON_AddStringToObject(res, "probe", w->probe);
    cJSON_AddStringToObject(res, "value", values[w->vi].name);
    cJSON_AddStringToObject(res, "value_label", values[w->vi].label);
    cJSON_AddStringToObject(res, "template", w->tmpl);
    cJSON_AddStringToObject(res, "param", param_name(w->param));
    cJSON_AddStringToObject(res, "data", w->data);
    cJSON_AddNumberToObject(res, "inputs", w->inputs);
    cJSON_AddNumberToObject(res, "seeds", w->seeds);
    cJSON_AddNumberToObject(res, "seed", (double)w->seed);
    if (w->sp == LM_SWEEP_LINEARITY) {
        cJSON_AddNumberToObject(res, "steps", w->steps);
        cJSON_AddNumberToObject(res, "lr", so->linearity.lr);
    }
    add_json(res, NULL, lm_sweep_result_json(r, w->widths));
    return res;
}

/* The log-log plot: each seed's values, the mean per width, the fitted line and the theory's
 * slope ref (NAN: none) through the fit at the narrowest width; 1 when the PNG was written. */
static int sweep_plot(const char *png, const char *title, const sweep_cli *w, const lm_sweep_result *r, double ref,
                      const char *ref_label)
{
    int nw = w->nw, seeds = w->seeds, ns = 0, lo = 0, hi = 0;
    double *x = malloc(nw * sizeof *x), *per = malloc((size_t)seeds * nw * sizeof *per);
    plot_series *s = calloc(seeds + 3, sizeof *s);
    char(*labels)[96] = calloc(seeds + 1, sizeof *labels);
    int ok = x && per && s && labels;
    for (int i = 0; ok && i < nw; i++) {
        x[i] = w->widths[i];
        for (int k = 0; k < seeds; k++) per[(size_t)k * nw + i] = r->values[(size_t)i * seeds + k];
        if (w->widths[i] < w->widths[lo]) lo = i;
        if (w->widths[i] > w->widths[hi]) hi = i;
    }
    for (int k = 0; ok && k < seeds; k++) {
        snprintf(labels[k], sizeof labels[k], "seed %llu", (unsigned long long)(w->seed + k));
        s[ns++] = (plot_series){labels[k], nw, x, per + (size_t)k * nw};
    }
    if (ok) {
        s[ns++] = (plot_series){"mean", nw, x, r->mean};
        const lm_fit *f = &r->fit;
        double fx[2] = {w->widths[lo], w->widths[hi]}, fy[2], ry[2];
        fy[0] = exp(f->intercept) * pow(fx[0], f->slope), fy[1] = exp(f->intercept) * pow(fx[1], f->slope);
        ry[0] = fy[0], ry[1] = fy[0] * pow(fx[1] / fx[0], ref);
        snprintf(labels[seeds], sizeof labels[seeds], "fit: slope %.3f [%.3f, %.3f]", f->slope, f->ci_lo, f->ci_hi);
        s[ns++] = (plot_series){labels[seeds], 2, fx, fy};
        if (!isnan(ref)) s[ns++] = (plot_series){ref_label, 2, fx, ry};
        plot_axes ax = {title, "width m", values[w->vi].label, 1, 1};
        ok = plot_lines(png, &ax, s, ns);
    }
    free(x), free(per), free(s), free(labels);
    return ok;
}

/* The report; of the widths done when a signal stopped the sweep after `done` of `planned`. */
static int sweep_report(const sweep_cli *w, const lm_sweep_opts *so, const lm_sweep_result *r, double secs, int planned)
{
    sbuf t = {0};
    sweep_text(&t, w, so, r);
    if (w->nw < planned) sb_printf(&t, "stopped by a signal: %d of the %d widths done\n", w->nw, planned);
    sb_printf(&t, "%.1f s\n", secs);
    char png[1200], title[600];
    snprintf(png, sizeof png, "%s/plots/sweep.png", w->out);
    snprintf(title, sizeof title, "%s (%s, %d inputs)", w->tmpl, param_name(w->param), w->inputs);
    double ref = NAN;
    const char *ref_label = "";
    if (w->sp == LM_SWEEP_HESSIAN) ref = -0.5, ref_label = "theory: slope -0.5";  /* linear output, docs/theory.md §4.2 */
    if (values[w->vi].value == LM_SWEEP_LIN_KERNEL) ref = -1, ref_label = "theory: slope -1"; /* kernel constancy */
    int plotted = sweep_plot(png, title, w, r, ref, ref_label);
    if (plotted) sb_printf(&t, "plot: %s\n", png);
    sb_printf(&t, "run folder: %s\n", w->out);
    cJSON *res = sweep_json(w, so, r);
    if (plotted) cJSON_AddStringToObject(res, "plot", png);
    else cJSON_AddNullToObject(res, "plot");
    cJSON_AddStringToObject(res, "run", w->out);
    cJSON_AddNumberToObject(res, "seconds", secs);
    if (w->nw < planned) cJSON_AddNumberToObject(res, "widths_planned", planned);
    const char *pngs[1] = {plotted ? "sweep.png" : NULL};
    int rc = write_run(&w->c, w->out, NULL, res, "linmass sweep width", &t, pngs, 1);
    if (!rc) emit(w->json, &t, res);
    cJSON_Delete(res);
    free(t.s);
    return rc;
}

/* Stopped by a signal: the widths whose every seed is done (lm_sweep_width), reported as a sweep
 * of their own; 128 + the signal. */
static int sweep_stopped(const sweep_cli *w, const lm_sweep_opts *so, const lm_sweep_result *r, const sweep_progress *p)
{
    int sig = *p->stop, nw = r->n_widths, rc = 0;
    sweep_cli part = *w;
    part.nw = nw;
    if (nw > 0) rc = sweep_report(&part, so, r, cli_now() - p->t0, w->nw);
    fprintf(stderr, "linmass sweep: stopped by %s after %d of %d widths%s%s\n", cli_signal_name(sig), nw, w->nw,
            nw > 0 && !rc ? "; they are in " : " (nothing to write)", nw > 0 && !rc ? w->out : "");
    return 128 + sig;
}

/* The sweep itself, with progress on stderr, and its report. */
static int sweep_run(const sweep_cli *w, lm_sweep_opts *so)
{
    int rc;
    sweep_progress prog = {w->seeds, cli_now(), 0, w->nw * w->seeds, cli_catch_stop_signals()};
    so->on_model = on_model;
    so->hook_ctx = &prog;
    fprintf(stderr, "sweep: %s over widths %s, %d seed%s, %d inputs ...\n", values[w->vi].label, w->widths_text, w->seeds,
            w->seeds == 1 ? "" : "s", w->inputs);
    lm_sweep_result r = {0};
    lm_status st = lm_sweep_width(so, &r);
    if (st == LM_EINTERRUPTED) rc = sweep_stopped(w, so, &r, &prog);
    else rc = st ? probe_fail(&w->c, st) : sweep_report(w, so, &r, cli_now() - prog.t0, w->nw);
    lm_sweep_free(&r);
    return rc;
}

int cmd_sweep(int argc, char **argv)
{
    sweep_cli w = {0};
    int rc = sweep_args(&w, argc, argv);
    if (rc) {
        free(w.widths);
        return rc == 1 ? 0 : rc;
    }
    setup d;
    double *y = NULL;
    lm_sweep_opts so;
    if (!(rc = sweep_load(&w, &d, &y))) {
        w.param = d.param;
        sweep_fill(&w, &d, y, &so);
        rc = sweep_lr(&w.c, &so);
        w.lr = so.linearity.lr; /* config.json records the step used */
    }
    if (!rc) rc = sweep_run(&w, &so);
    setup_free(&d);
    free(w.widths), free(y);
    return rc;
}
