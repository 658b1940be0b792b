/* linmass sweep width: a probe of include/linmass/probe.h over models built from a template at
 * several widths and seeds (lm_sweep_width), the slope of log(value) against log(width), a
 * table, a log-log plot and a run folder. SIGINT and SIGTERM stop it after the model in hand,
 * and the widths done so far are reported as a sweep of their own (exit 130, 143). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/plot.h"
#include "cli/probe_cli.h"
#include "linmass/probe.h"
#include "linmass/runtime.h"

typedef struct {
    const char *probe, *tmpl, *widths_text, *data, *param_text, *value_text, *output_text, *out, *positional[2];
    int seeds, inputs, json, threads, steps, held, max_mem, no_normalize;
    uint64_t seed;
    double tol, lr;
    cli_opt opts[20];
    cli_command c;
    /* resolved */
    lm_sweep_probe sp;
    lm_sweep_value value;
    int *widths, nw;
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
    w->c = (cli_command){"sweep", w->opts, sizeof opts / sizeof *opts, NULL, w->positional, 1, 0};
    return cli_parse(&w->c, argc, argv);
}

/* --probe and --value: w->sp and w->value. */
static int sweep_value(sweep_cli *w)
{
    cli_command *c = &w->c;
    for (w->sp = LM_SWEEP_HESSIAN; w->sp <= LM_SWEEP_LINEARITY && strcmp(w->probe, lm_sweep_probe_name(w->sp)); w->sp++) {}
    if (w->sp > LM_SWEEP_LINEARITY) return cli_usage_error(c, "--probe: '%s' is not hessian, ntk or linearity", w->probe);
    if (lm_sweep_value_parse(w->sp, w->value_text, &w->value)) return cli_usage_error(c, "--value: %s", lm_error_message());
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
    lm_sweep_opts v = {.seeds = w->seeds, .probe = w->sp, .value = w->value, .hessian.eig.tol = w->tol,
                       .linearity = {.steps = w->steps, .lr = w->lr, .n_test = w->held}};
    if (lm_sweep_opts_validate(&v))
        return cli_field_error(c, LM_EINVAL, (const char *const[]){"linearity.n_test", "held-out", NULL});
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
    size_t cap = (size_t)w->max_mem * MB;
    *so = (lm_sweep_opts){.template_spec = w->tmpl, .in = d->in.train->shape, .param = d->in.param, .widths = w->widths,
                          .n_widths = w->nw, .seeds = w->seeds, .seed = w->seed, .probe = w->sp, .value = w->value,
                          .x = d->in.x, .n = w->inputs,
                          .hessian.net.output = d->output, .hessian.eig = {.tol = w->tol, .seed = w->seed, .mem_cap = cap},
                          .ntk.net.output = d->output, .ntk.mem_cap = cap,
                          .linearity = {.net.output = d->output == LM_OUTPUT_SUM ? 0 : d->output, .y = y,
                                        .steps = w->steps, .record_every = w->steps, .x_test = d->in.x_test,
                                        .n_test = d->in.n_test, .ntk.mem_cap = cap, .lr = w->lr}};
}

static void on_progress(void *ctx, lm_progress_level level, const char *message)
{
    (void)ctx, (void)level;
    fprintf(stderr, "sweep: %s\n", message);
}

/* The run folder and the summary of what the library reported; when a signal stopped the sweep,
 * of the widths done, and 128 + the signal. */
static int sweep_show(const sweep_cli *w, lm_status st, const lm_sweep_report_out *r, int sig)
{
    int nw = r->result.n_widths, rc = 0;
    if (st && st != LM_EINTERRUPTED) return probe_fail(&w->c, st);
    if (r->report) {
        char png[1200];
        snprintf(png, sizeof png, "%s/plots/sweep.png", w->out);
        cJSON *res = cJSON_CreateObject();
        add_json(res, NULL, strdup(r->json));
        cJSON_AddItemToObject(res, "plot", plot_can_draw() ? cJSON_CreateString(png) : cJSON_CreateNull());
        cJSON_AddStringToObject(res, "run", w->out);
        rc = report_run(&w->c, w->out, NULL, res, "linmass sweep width", r->report, w->json);
        cJSON_Delete(res);
    }
    if (st != LM_EINTERRUPTED) return rc;
    fprintf(stderr, "linmass sweep: stopped by %s after %d of %d widths%s%s\n", cli_signal_name(sig), nw, w->nw,
            nw > 0 && !rc ? "; they are in " : " (nothing to write)", nw > 0 && !rc ? w->out : "");
    return 128 + sig;
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
    if (!(rc = sweep_load(&w, &d, &y))) {
        lm_sweep_report_opts o = {.data = w.data, .stop = cli_catch_stop_signals(), .progress = on_progress};
        sweep_fill(&w, &d, y, &o.sweep);
        lm_sweep_report_out r;
        lm_status st = lm_sweep_report(&o, &r);
        w.lr = r.lr > 0 ? r.lr : w.lr; /* config.json records the step used */
        rc = sweep_show(&w, st, &r, *o.stop);
        lm_sweep_report_free(&r);
    }
    setup_free(&d);
    free(w.widths), free(y);
    return rc;
}
