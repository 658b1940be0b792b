/* linmass demo: the README's main job. A tour of both papers in a few minutes that runs the
 * demo's sections of the experiments library (linmass/experiments.h) and writes one report
 * with three pictures:
 *   1. transition to linearity: the model Hessian's norm against width, linear and tanh output;
 *   2. momentum on linear regression: SGD, Nesterov and MaSS at SGD's optimal step;
 *   3. the four optimizers (SGD, Nesterov, Adam, MaSS) training the MaSS paper's FCN on
 *      Fashion-MNIST for a few epochs.
 * The library says what each section runs and sums up its results, writes report.md and joins
 * the numbers; this file parses, times, prints and draws the figures. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/report_render.h"
#include "linmass/experiments.h"
#include "linmass/io.h"
#include "linmass/runtime.h"

typedef struct {
    char *markdown[LM_DEMO_MAX_SECTIONS]; /* each section's body, its figures drawn */
    char *json[LM_DEMO_MAX_SECTIONS];     /* each section's numbers */
    double seconds[LM_DEMO_MAX_SECTIONS];
} demo_run;

/* The section's rendered body and its numbers. */
static lm_status render_section(demo_run *d, int i, const lm_report *r, const char *plots)
{
    lm_status st = lm_report_markdown(r, plots, render_draw, NULL, &d->markdown[i]);
    return st ? st : lm_demo_section_json(lm_demo_section_at(i), r, d->seconds[i], &d->json[i]);
}

/* Section i: announced, run into a report, summarized, rendered. */
static int run_section(demo_run *d, int i, const lm_demo_opts *o, FILE *say, const char *plots)
{
    const lm_demo_section *s = lm_demo_section_at(i);
    char *line;
    lm_report *r;
    lm_status st = lm_demo_section_announce(s, o, &line);
    if (!st) fprintf(say, "[%d/%d] %s\n", i + 1, lm_demo_section_count(), line), fflush(say);
    free(line), line = NULL;
    if (st || (st = lm_report_create(0, &r))) return cli_fail("demo", st);
    render_progress p = {"demo", say, 0};
    lm_report_set_progress(r, render_progress_fn, &p);
    double t0 = cli_now();
    st = lm_demo_run(s, o, r);
    d->seconds[i] = cli_now() - t0;
    if (!st && !(st = lm_demo_section_summary(s, r, &line)) && line) fprintf(say, "      %s  [%.0f s]\n", line, d->seconds[i]);
    free(line);
    if (!st) st = render_section(d, i, r, plots);
    lm_report_free(r);
    return st ? cli_fail("demo", st) : 0;
}

/* OUT/report.md with the command that reruns it, and the numbers on stdout (json). */
static lm_status finish(const demo_run *d, const lm_demo_opts *o, double total, const char *path, int json)
{
    char command[1200], *text;
    snprintf(command, sizeof command, "linmass demo%s --seed %llu --out %s", o->setting == LM_SETTING_QUICK ? " --quick" : "",
             (unsigned long long)o->seed, o->dir);
    lm_status st = lm_demo_write_report(o, d->markdown, d->seconds, total, command);
    if (st || !json) return st;
    if (!(st = lm_demo_result_json(d->json, total, path, &text))) printf("%s\n", text), fflush(stdout);
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
    demo_run d = {{NULL}, {NULL}, {0}};
    int rc = 0;
    for (int i = 0; i < lm_demo_section_count() && !rc; i++) rc = run_section(&d, i, o, say, plots);
    double total = cli_now() - t_start;
    if (!rc && (st = finish(&d, o, total, path, json))) rc = cli_fail("demo", st);
    if (!rc) fprintf(say, "done in %.0f s. report: %s (plots in %s)\n", total, path, plots);
    for (int i = 0; i < LM_DEMO_MAX_SECTIONS; i++) free(d.markdown[i]), free(d.json[i]);
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
