/* linmass demo: the README's main job. A tour of both papers in a few minutes that runs the
 * demo's sections of the experiments library (linmass/experiments.h) and writes one report
 * with three pictures:
 *   1. transition to linearity: the model Hessian's norm against width, linear and tanh output;
 *   2. momentum on linear regression: SGD, Nesterov and MaSS at SGD's optimal step;
 *   3. the four optimizers (SGD, Nesterov, Adam, MaSS) training the MaSS paper's FCN on
 *      Fashion-MNIST for a few epochs. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/report_render.h"
#include "linmass/experiments.h"
#include "linmass/io.h"
#include "linmass/runtime.h"

static double number(const lm_report *r, lm_report_list which, const char *key)
{
    double v = NAN;
    lm_report_find(r, which, key, &v);
    return v;
}

static void summarize_hessian(FILE *say, const lm_report *r)
{
    fprintf(say, "      slope of log ||H_f|| against log width: linear output %.3f (theory -0.5), tanh output %.3f "
                 "(theory 0)",
            number(r, LM_REPORT_MEASURED, "linear_slope"), number(r, LM_REPORT_MEASURED, "tanh_slope"));
}

static void summarize_linreg(FILE *say, const lm_report *r)
{
    static const char *const keys[3] = {"sgd", "nesterov", "mass"}, *const names[3] = {"SGD", "Nesterov", "MaSS"};
    fprintf(say, "      exact per-step factor of E|w - w*|^2 (simulated mean at the end):");
    for (int i = 0; i < 3; i++) {
        char k1[64], k2[64];
        snprintf(k1, sizeof k1, "%s_rho", keys[i]);
        snprintf(k2, sizeof k2, "%s_final_mean_sq_error", keys[i]);
        fprintf(say, "%s %s %.4f (%.3g)", i ? "," : "", names[i], number(r, LM_REPORT_PREDICTED, k1),
                number(r, LM_REPORT_MEASURED, k2));
    }
}

static void announce_fcn(FILE *say, const lm_demo_opts *o)
{
    char part[64] = "all";
    if (o->max_train) snprintf(part, sizeof part, "the first %ld", o->max_train);
    fprintf(say, "the MaSS paper's FCN on %s: %d epoch%s over %s training images per optimizer, batch 64\n", o->data, o->epochs,
            o->epochs > 1 ? "s" : "", part);
}

/* What the command line says around each section of the library's demo. */
static const struct {
    const char *key, *announce; /* the section, and what it does (NULL: announce_fcn) */
    void (*summarize)(FILE *say, const lm_report *r); /* NULL: its results were printed as it ran */
} TEXT[] = {
    {"hessian", "transition to linearity: ||H_f|| of 2-hidden-layer nets against width, linear and tanh output\n",
     summarize_hessian},
    {"linear_regression",
     "momentum on Gaussian linear regression: SGD, Nesterov (gamma 0.9) and MaSS at SGD's optimal step\n", summarize_linreg},
    {"fcn", NULL, NULL},
};
enum { N_TEXT = sizeof TEXT / sizeof *TEXT };

typedef struct {
    char *markdown[N_TEXT]; /* each section's body, its figures drawn */
    double seconds[N_TEXT];
    cJSON *result;
} demo_run;

/* The section's rendered body and its numbers in the result. */
static lm_status render_section(demo_run *d, int i, const lm_report *r, const char *plots)
{
    size_t len;
    char *json = NULL;
    FILE *m = open_memstream(&d->markdown[i], &len);
    if (!m) return lm_fail(LM_ENOMEM, "out of memory for the report");
    render_markdown(m, r, plots), fclose(m);
    lm_status st = lm_demo_section_json(lm_demo_section_at(i), r, d->seconds[i], &json);
    cJSON *o = st ? NULL : cJSON_Parse(json);
    free(json);
    if (!st && !cJSON_AddItemToObject(d->result, lm_demo_section_at(i)->key, o))
        cJSON_Delete(o), st = lm_fail(LM_ENOMEM, "out of memory for the report");
    return st;
}

/* Section i: announced, run into a report, summarized, rendered. */
static int run_section(demo_run *d, int i, const lm_demo_opts *o, FILE *say, const char *plots)
{
    const lm_demo_section *s = lm_demo_section_at(i);
    int t = 0;
    while (t < N_TEXT - 1 && strcmp(TEXT[t].key, s->key)) t++;
    fprintf(say, "[%d/%d] ", i + 1, lm_demo_section_count());
    if (TEXT[t].announce) fputs(TEXT[t].announce, say);
    else announce_fcn(say, o);
    fflush(say);
    lm_report *r;
    lm_status st = lm_report_create(0, &r);
    if (st) return cli_fail("demo", st);
    render_progress p = {"demo", say, 0};
    lm_report_set_progress(r, render_progress_fn, &p);
    double t0 = cli_now();
    st = lm_demo_run(s, o, r);
    d->seconds[i] = cli_now() - t0;
    if (!st && TEXT[t].summarize) {
        TEXT[t].summarize(say, r);
        fprintf(say, "  [%.0f s]\n", d->seconds[i]);
    }
    if (!st) st = render_section(d, i, r, plots);
    lm_report_free(r);
    return st ? cli_fail("demo", st) : 0;
}

/* OUT/report.md: the sections' bodies under their headings, and the timing. */
static lm_status write_report(const demo_run *d, const lm_demo_opts *o, double total, const char *path)
{
    char command[1200], *text;
    snprintf(command, sizeof command, "linmass demo%s --seed %llu --out %s", o->setting == LM_SETTING_QUICK ? " --quick" : "",
             (unsigned long long)o->seed, o->dir);
    lm_status st = lm_demo_markdown(o, d->markdown, d->seconds, total, command, &text);
    if (!st) st = lm_write_file_atomic(path, text, strlen(text));
    free(text);
    return st;
}

static int tour(const lm_demo_opts *o, int json)
{
    char plots[1100], path[1200];
    snprintf(plots, sizeof plots, "%s/plots", o->dir);
    snprintf(path, sizeof path, "%s/report.md", o->dir);
    lm_status st = lm_mkdir_p(plots);
    if (st) return cli_fail("demo", st);
    FILE *say = json ? stderr : stdout;
    double t_start = cli_now();
    fprintf(say, "linmass demo: a tour of transition to linearity and MaSS (%s setting, %d thread%s); writing %s\n",
            lm_setting_name(o->setting), lm_get_threads(), lm_get_threads() > 1 ? "s" : "", o->dir);
    demo_run d = {{NULL}, {0}, cJSON_CreateObject()};
    int rc = 0;
    for (int i = 0; i < lm_demo_section_count() && !rc; i++) rc = run_section(&d, i, o, say, plots);
    double total = cli_now() - t_start;
    if (!rc && (st = write_report(&d, o, total, path))) rc = cli_fail("demo", st);
    if (!rc) {
        cJSON_AddNumberToObject(d.result, "seconds", total);
        cJSON_AddStringToObject(d.result, "report", path);
        if (json) cli_print_json(d.result);
        fprintf(say, "done in %.0f s. report: %s (plots in %s)\n", total, path, plots);
    }
    for (int i = 0; i < N_TEXT; i++) free(d.markdown[i]);
    cJSON_Delete(d.result);
    return rc;
}

int cmd_demo(int argc, char **argv)
{
    int quick = 0, json = 0, threads = 0, epochs = 0, max_train = -1;
    uint64_t seed = 0;
    double lr = 0.01;
    const char *out = "runs/demo", *data = "fashion-mnist";
    cli_opt opts[] = {
        {"out", OPT_STRING, &out, "runs/demo", "folder of the report (OUT/report.md, OUT/plots/, OUT/fcn/OPTIMIZER/)", 0},
        {"quick", OPT_FLAG, &quick, NULL, "a smaller tour in well under a minute (as the tests run it)", 0},
        {"seed", OPT_U64, &seed, "0", "seed of every random draw", 0},
        {"threads", OPT_INT, &threads, "0", "threads (0: all cores)", 0},
        {"json", OPT_FLAG, &json, NULL, "print one JSON object with the measured numbers last on stdout", 0},
        {"epochs", OPT_INT, &epochs, NULL, "FCN training epochs per optimizer (default 5; --quick: 2)", 0},
        {"max-train", OPT_INT, &max_train, NULL, "FCN training samples (default 0: all 60000; --quick: 5000)", 0},
        {"lr", OPT_DOUBLE, &lr, "0.01", "FCN learning rate of SGD, Nesterov and MaSS (Adam keeps 0.001)", 0},
        {"data", OPT_STRING, &data, "fashion-mnist", "FCN data source (see linmass train --help)", 0},
    };
    cli_command c = {"demo", opts, sizeof opts / sizeof *opts, NULL, NULL, 0, 0};
    int rc = cli_parse(&c, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    if (threads < 0) return cli_usage_error(&c, "--threads %d must not be negative", threads);
    lm_demo_opts o;
    lm_demo_opts_init(&o, quick ? LM_SETTING_QUICK : LM_SETTING_FULL);
    if (cli_given(&c, "epochs")) o.epochs = epochs;
    if (cli_given(&c, "max-train")) o.max_train = max_train;
    if (o.epochs < 1) return cli_usage_error(&c, "--epochs %d must be at least 1", o.epochs);
    if (o.max_train < 0) return cli_usage_error(&c, "--max-train %ld must not be negative", o.max_train);
    if (!(lr > 0)) return cli_usage_error(&c, "--lr %g must be positive", lr);
    o.seed = seed, o.dir = out, o.lr = lr, o.data = data;
    lm_set_threads(threads);
    return tour(&o, json);
}
