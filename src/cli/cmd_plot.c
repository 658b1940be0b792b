/* Figures of run folders from their metrics.jsonl: the training run's own plots (plot_run) and
 * linmass plot, which overlays several runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/plot.h"
#include "cli/report_render.h"
#include "linmass/run.h"

int plot_run(const char *dir)
{
    char plots[1100];
    lm_report *r;
    if (lm_report_create(0, &r)) return 0;
    int drawn = 0, n = lm_run_training_figures(dir, r) ? 0 : lm_report_block_count(r);
    snprintf(plots, sizeof plots, "%s/plots", dir);
    for (int i = 0; i < n; i++) drawn += render_figure(lm_report_block_at(r, i).figure, plots);
    lm_report_free(r);
    return n > 0 && drawn == n;
}

/* ---- linmass plot ---- */

enum { MAX_RUNS = 64 };

/* Split "A,B,C" into labels (in place, in `buf`); the count, or -1 for too many. */
static int split_labels(char *buf, const char **labels)
{
    int n = 0;
    for (char *p = buf;; p++) {
        if (n == MAX_RUNS) return -1;
        labels[n++] = p;
        p += strcspn(p, ",");
        if (!*p) return n;
        *p = '\0';
    }
}

/* Every run's curve of the metric on one figure (lm_run_metric_figure), drawn into out. */
static int plot_runs_cli(cli_command *c, const char *out, const lm_run_metric_plot *p)
{
    lm_report *r = NULL;
    lm_status st = lm_report_create(0, &r);
    if (!st) st = lm_run_metric_figure((const char *const *)c->positional, c->npositional, p, r);
    if (st) {
        const char *msg = lm_error_message();
        int rc = st != LM_EINVAL ? cli_fail(c->command, st) : cli_usage_error(c, "%s%s", strncmp(msg, "x: ", 3) ? "" : "--", msg);
        lm_report_free(r);
        return rc;
    }
    int drawn = plot_draw(out, lm_report_block_at(r, 0).figure);
    size_t stem = strlen(out) - 4;
    if (drawn) printf("%s\n", out);
    if (drawn && !strcmp(out + stem, ".png")) printf("%.*s.svg\n", (int)stem, out);
    printf("script: %.*s.gp (data %.*s.dat)\n", (int)stem, out, (int)stem, out);
    lm_report_free(r);
    return drawn || !plot_can_draw() ? 0 : 1; /* without gnuplot: the script, a note, no error */
}

int cmd_plot(int argc, char **argv)
{
    const char *out = "runs/compare.png", *key = "train_loss", *label = NULL, *title = NULL, *x = "epoch";
    const char *dirs[MAX_RUNS], *labels[MAX_RUNS];
    int linear = 0;
    cli_opt opts[] = {
        {"out", OPT_STRING, &out, "runs/compare.png", "figure to write: .png (with an .svg copy), .svg or .pdf; the .gp script and .dat data go beside it", 0},
        {"metric", OPT_STRING, &key, "train_loss", "metrics.jsonl key: train_loss, test_loss, test_acc, train_acc, val_loss", 0},
        {"x", OPT_STRING, &x, "epoch", "x axis: epoch, step or time (seconds since the start)", 0},
        {"label", OPT_STRING, &label, NULL, "legend entries A,B,... one per folder (default: the folders' names)", 0},
        {"title", OPT_STRING, &title, NULL, "title of the figure (default: the metric)", 0},
        {"linear", OPT_FLAG, &linear, NULL, "linear y axis (losses default to a log scale)", 0},
    };
    cli_command c = {"plot", opts, sizeof opts / sizeof *opts, NULL, dirs, MAX_RUNS, 0};
    int rc = cli_parse(&c, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    if (!c.npositional) return cli_usage_error(&c, "name at least one run folder");
    if (!lm_figure_format_ok(out)) return cli_usage_error(&c, "--out %s: the format comes from the ending: .png, .svg or .pdf", out);
    char label_buf[4096];
    if (label) {
        snprintf(label_buf, sizeof label_buf, "%s", label);
        int n = split_labels(label_buf, labels);
        if (n != c.npositional)
            return cli_usage_error(&c, "--label: %s%d label%s for %d folder%s", n < 0 ? "more than " : "", n < 0 ? MAX_RUNS : n,
                                   n == 1 ? "" : "s", c.npositional, c.npositional == 1 ? "" : "s");
    }
    lm_run_metric_plot p = {key, x, title, label ? labels : NULL, linear};
    return plot_runs_cli(&c, out, &p);
}
