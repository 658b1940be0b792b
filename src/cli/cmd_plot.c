/* Figures of run folders from their metrics.jsonl: the training run's own plots (plot_run) and
 * linmass plot, which overlays several runs. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/plot.h"
#include "cli/report_render.h"
#include "linmass/run.h"

/* The metrics.jsonl key of an x axis name (epoch, step, time), or NULL. */
static const char *x_key(const char *x)
{
    if (!x || !strcmp(x, "epoch")) return "epoch";
    if (!strcmp(x, "step")) return "step";
    if (!strcmp(x, "time")) return "elapsed";
    return NULL;
}

static const char *x_label(const char *x)
{
    return !x || !strcmp(x, "epoch") ? "epoch" : !strcmp(x, "step") ? "step" : "time (s)";
}

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

typedef struct {
    const char *key;           /* metrics.jsonl key: train_loss, test_loss, test_acc, ... */
    const char *x;             /* "epoch", "step" or "time" (seconds) */
    const char *title;         /* NULL: the key */
    const char *const *labels; /* one per folder; NULL: the folders' names */
    int logy;
} plot_runs_spec;

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

/* The curve of run folder dir, labelled; else exit 2, naming the folder. */
static int read_run(const cli_command *c, const char *key, const char *xkey, const char *dir, lm_curve *s)
{
    struct stat st;
    double *x, *y;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return cli_usage_error(c, "%s: no such folder", dir);
    if (lm_run_read_metric(dir, key, xkey, &x, &y, &s->n)) return cli_usage_error(c, "%s holds no metrics.jsonl (not a run folder?)", dir);
    s->x = x, s->y = y;
    /* a few values (an epoch's test metrics) as dots on a line, many (logged steps) as a line */
    s->kind = s->n <= 60 ? LM_CURVE_LINESPOINTS : LM_CURVE_LINE;
    if (!s->n) return cli_usage_error(c, "%s/metrics.jsonl holds no '%s' values against '%s'", dir, key, xkey);
    const char *base = strrchr(dir, '/');
    if (!s->label) s->label = base && base[1] ? base + 1 : dir;
    return 0;
}

/* Every run's curve of the metric on one figure. */
static int plot_runs_cli(cli_command *c, const char *out, const plot_runs_spec *spec)
{
    lm_curve s[MAX_RUNS] = {{0}};
    int n = c->npositional, rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        s[i].label = spec->labels ? spec->labels[i] : NULL;
        rc = read_run(c, spec->key, x_key(spec->x), c->positional[i], &s[i]);
    }
    if (!rc) {
        lm_figure f = {.title = spec->title ? spec->title : spec->key, .xlabel = x_label(spec->x), .ylabel = spec->key,
                       .logy = spec->logy, .n_curves = n, .curves = s};
        int drawn = plot_draw(out, &f);
        size_t stem = strlen(out) - 4;
        if (drawn) printf("%s\n", out);
        if (drawn && !strcmp(out + stem, ".png")) printf("%.*s.svg\n", (int)stem, out);
        printf("script: %.*s.gp (data %.*s.dat)\n", (int)stem, out, (int)stem, out);
        rc = drawn || !plot_can_draw() ? 0 : 1; /* without gnuplot: the script, a note, no error */
    }
    for (int i = 0; i < n; i++) free((double *)s[i].x), free((double *)s[i].y);
    return rc;
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
    cli_command c = {"plot", "linmass plot [options] RUN_DIR...",
                     "Overlay several runs' curves of one metric on one figure. Without gnuplot the .gp script\n"
                     "and .dat data are still written (exit 0); 'gnuplot NAME.gp' in their folder draws them.",
                     opts, sizeof opts / sizeof *opts, NULL, dirs, MAX_RUNS, 0};
    int rc = cli_parse(&c, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    if (!c.npositional) return cli_usage_error(&c, "name at least one run folder");
    if (!x_key(x)) return cli_usage_error(&c, "--x: '%s' is not epoch, step or time", x);
    if (!lm_figure_format_ok(out)) return cli_usage_error(&c, "--out %s: the format comes from the ending: .png, .svg or .pdf", out);
    char label_buf[4096];
    if (label) {
        snprintf(label_buf, sizeof label_buf, "%s", label);
        int n = split_labels(label_buf, labels);
        if (n != c.npositional)
            return cli_usage_error(&c, "--label: %s%d label%s for %d folder%s", n < 0 ? "more than " : "", n < 0 ? MAX_RUNS : n,
                                   n == 1 ? "" : "s", c.npositional, c.npositional == 1 ? "" : "s");
    }
    plot_runs_spec spec = {key, x, title, label ? labels : NULL, !linear && strstr(key, "loss") != NULL};
    return plot_runs_cli(&c, out, &spec);
}
