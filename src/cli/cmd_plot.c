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
#include "linmass/run.h"

typedef struct {
    double *x, *y;
    int n;
} column;

static void column_free(column *c) { free(c->x), free(c->y); }

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

/* (x, key) from every line of DIR/metrics.jsonl that holds both as numbers (lm_run_read_metric);
 * -1 when the file cannot be opened. */
static int read_metric(const char *dir, const char *key, const char *xkey, column *c)
{
    return lm_run_read_metric(dir, key, xkey, &c->x, &c->y, &c->n) ? -1 : 0;
}

/* A few values (an epoch's test metrics) as dots on a line, many (logged steps) as a line. */
static plot_kind curve_kind(const column *c) { return c->n <= 60 ? PLOT_LINESPOINTS : PLOT_LINE; }

/* One figure of a run: the train, validation and test curves of a loss or an accuracy. */
static int plot_run_metric(const char *dir, const char *what, int logy, plot_key key, int *drawn)
{
    static const char *const splits[] = {"train", "val", "test"}, *const names[] = {"train", "validation", "test"};
    column c[3];
    plot_curve s[3];
    int any = 0;
    for (int k = 0; k < 3; k++) {
        char name[64];
        snprintf(name, sizeof name, "%s_%s", splits[k], what);
        read_metric(dir, name, "epoch", &c[k]);
        s[k] = (plot_curve){names[k], c[k].n, c[k].x, c[k].y, k ? curve_kind(&c[k]) : PLOT_LINE, NULL, NULL, k + 1};
        any |= c[k].n > 0;
    }
    char path[4200], title[64];
    snprintf(path, sizeof path, "%s/plots/%s.png", dir, strcmp(what, "acc") ? "loss" : "accuracy");
    snprintf(title, sizeof title, "%s", strcmp(what, "acc") ? "Loss" : "Accuracy");
    plot_frame a = {title, "epoch", strcmp(what, "acc") ? "loss" : "accuracy", 0, logy, key, 0};
    int ok = !any || plot_figure(path, &a, s, 3);
    *drawn += any && ok;
    for (int k = 0; k < 3; k++) column_free(&c[k]);
    return ok;
}

int plot_run(const char *dir)
{
    int drawn = 0;
    int ok = plot_run_metric(dir, "loss", 1, PLOT_KEY_TOP_RIGHT, &drawn);
    ok &= plot_run_metric(dir, "acc", 0, PLOT_KEY_BOTTOM_RIGHT, &drawn);
    return ok && drawn > 0;
}

/* The curves of already read columns on one figure. */
static int draw_columns(const char *path, const plot_runs_spec *spec, const char *const *dirs, column *cols, int count)
{
    plot_curve *s = calloc(count, sizeof *s);
    if (!s) return 0;
    for (int i = 0; i < count; i++) {
        const char *base = strrchr(dirs[i], '/'), *label = spec->labels ? spec->labels[i] : NULL;
        if (!label) label = base && base[1] ? base + 1 : dirs[i];
        s[i] = (plot_curve){label, cols[i].n, cols[i].x, cols[i].y, curve_kind(&cols[i]), NULL, NULL, 0};
    }
    plot_frame a = {spec->title ? spec->title : spec->key, x_label(spec->x), spec->key, 0, spec->logy, PLOT_KEY_BELOW, 0};
    int ok = plot_figure(path, &a, s, count);
    free(s);
    return ok;
}

int plot_compare(const char *path, const plot_runs_spec *spec, const char *const *dirs, int count)
{
    const char *xkey = x_key(spec->x);
    column *cols = calloc(count, sizeof *cols);
    if (!cols || !xkey) return free(cols), 0;
    for (int i = 0; i < count; i++) read_metric(dirs[i], spec->key, xkey, &cols[i]);
    int ok = draw_columns(path, spec, dirs, cols, count);
    for (int i = 0; i < count; i++) column_free(&cols[i]);
    free(cols);
    return ok;
}

int plot_runs(const char *path, const char *key, int logy, const char *const *dirs, int count)
{
    plot_runs_spec spec = {key, NULL, NULL, NULL, logy};
    return plot_compare(path, &spec, dirs, count);
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

/* Every folder exists and holds values of the metric: else exit 2, naming the folder. */
static int check_runs(const cli_command *c, const char *key, const char *xkey, const char *const *dirs, column *cols)
{
    for (int i = 0; i < c->npositional; i++) {
        struct stat st;
        if (stat(dirs[i], &st) != 0 || !S_ISDIR(st.st_mode))
            return cli_usage_error(c, "%s: no such folder", dirs[i]);
        if (read_metric(dirs[i], key, xkey, &cols[i]) < 0)
            return cli_usage_error(c, "%s holds no metrics.jsonl (not a run folder?)", dirs[i]);
        if (!cols[i].n)
            return cli_usage_error(c, "%s/metrics.jsonl holds no '%s' values against '%s'", dirs[i], key, xkey);
    }
    return 0;
}

static int plot_runs_cli(cli_command *c, const char *out, const plot_runs_spec *spec)
{
    column cols[MAX_RUNS] = {{0}};
    const char *const *dirs = c->positional;
    int rc = check_runs(c, spec->key, x_key(spec->x), dirs, cols);
    if (!rc) {
        int drawn = draw_columns(out, spec, dirs, cols, c->npositional);
        size_t stem = strlen(out) - 4;
        if (drawn) printf("%s\n", out);
        if (drawn && !strcmp(out + stem, ".png")) printf("%.*s.svg\n", (int)stem, out);
        printf("script: %.*s.gp (data %.*s.dat)\n", (int)stem, out, (int)stem, out);
        rc = drawn || !plot_can_draw() ? 0 : 1; /* without gnuplot: the script, a note, no error */
    }
    for (int i = 0; i < c->npositional; i++) column_free(&cols[i]);
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
    if (!plot_format_ok(out)) return cli_usage_error(&c, "--out %s: the format comes from the ending: .png, .svg or .pdf", out);
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
