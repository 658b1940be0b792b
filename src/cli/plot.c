#include "cli/plot.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "linmass/io.h"

static int have_gnuplot(void)
{
    static int known = -1;
    if (known < 0) {
        known = system("command -v gnuplot >/dev/null 2>&1") == 0;
        if (!known) fprintf(stderr, "note: gnuplot is not installed, so no PNG plots (apt-get install gnuplot-nox)\n");
    }
    return known;
}

/* gnuplot strings are in single quotes: drop any quote from labels */
static void clean(char *dst, size_t len, const char *src)
{
    size_t k = 0;
    for (; src && *src && k + 1 < len; src++)
        if (*src != '\'' && *src != '\n') dst[k++] = *src == '_' ? ' ' : *src;
    dst[k] = '\0';
}

int plot_lines(const char *png, const plot_axes *a, const plot_series *s, int count)
{
    if (!have_gnuplot()) return 0;
    char data[] = "/tmp/linmass-plot-XXXXXX";
    int fd = mkstemp(data);
    if (fd < 0) return 0;
    FILE *f = fdopen(fd, "w");
    for (int i = 0; i < count; i++) {
        for (int j = 0; j < s[i].n; j++)
            if (isfinite(s[i].x[j]) && isfinite(s[i].y[j]) && (!a->logy || s[i].y[j] > 0))
                fprintf(f, "%.10g %.10g\n", s[i].x[j], s[i].y[j]);
        fprintf(f, "\n\n");
    }
    fclose(f);
    FILE *g = popen("gnuplot 2>/dev/null", "w");
    if (!g) {
        unlink(data);
        return 0;
    }
    char t[256], xl[128], yl[128], path[1024];
    clean(t, sizeof t, a->title);
    clean(xl, sizeof xl, a->xlabel);
    clean(yl, sizeof yl, a->ylabel);
    clean(path, sizeof path, png);
    fprintf(g, "set terminal pngcairo size 900,560 enhanced font 'DejaVu Sans,11'\n");
    fprintf(g, "set output '%s'\nset title '%s'\nset xlabel '%s'\nset ylabel '%s'\n", png, t, xl, yl);
    fprintf(g, "set grid\nset key outside right top\n%s%s", a->logx ? "set logscale x\n" : "", a->logy ? "set logscale y\n" : "");
    fprintf(g, "plot ");
    for (int i = 0; i < count; i++) {
        char label[128];
        clean(label, sizeof label, s[i].label);
        fprintf(g, "%s'%s' index %d using 1:2 with linespoints pt 7 ps 0.5 lw 2 title '%s'", i ? ", " : "", data, i, label);
    }
    fprintf(g, "\n");
    int rc = pclose(g);
    unlink(data);
    if (rc != 0) {
        /* pngcairo may be missing in minimal builds: retry with the plain png terminal */
        return 0;
    }
    return access(png, F_OK) == 0;
}

typedef struct {
    double *x, *y;
    int n, cap;
} column;

static void push(column *c, double x, double y)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 64;
        c->x = realloc(c->x, c->cap * sizeof *c->x);
        c->y = realloc(c->y, c->cap * sizeof *c->y);
    }
    c->x[c->n] = x;
    c->y[c->n++] = y;
}

/* Collect (epoch, key) from a run's metrics.jsonl; only end-of-epoch lines when `epochs`. */
static column read_metric(const char *dir, const char *key, int epochs)
{
    column c = {0};
    char path[1024];
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    FILE *f = fopen(path, "r");
    if (!f) return c;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        cJSON *o = cJSON_Parse(line);
        cJSON *x = cJSON_GetObjectItem(o, "epoch"), *y = cJSON_GetObjectItem(o, key);
        int eoe = cJSON_IsTrue(cJSON_GetObjectItem(o, "end_of_epoch"));
        if (cJSON_IsNumber(x) && cJSON_IsNumber(y) && (!epochs || eoe)) push(&c, x->valuedouble, y->valuedouble);
        cJSON_Delete(o);
    }
    fclose(f);
    return c;
}

int plot_run(const char *dir)
{
    char plots[1024], png[1100];
    snprintf(plots, sizeof plots, "%s/plots", dir);
    if (lm_mkdir_p(plots)) return 0;
    column tr = read_metric(dir, "train_loss", 0), te = read_metric(dir, "test_loss", 1);
    column ta = read_metric(dir, "train_acc", 0), tea = read_metric(dir, "test_acc", 1);
    plot_series loss[2] = {{"train (running mean)", tr.n, tr.x, tr.y}, {"test", te.n, te.x, te.y}};
    plot_axes la = {"Loss", "epoch", "loss", 0, 1};
    snprintf(png, sizeof png, "%s/loss.png", plots);
    int ok = plot_lines(png, &la, loss, 2);
    if (ta.n || tea.n) {
        plot_series acc[2] = {{"train (running mean)", ta.n, ta.x, ta.y}, {"test", tea.n, tea.x, tea.y}};
        plot_axes aa = {"Accuracy", "epoch", "accuracy", 0, 0};
        snprintf(png, sizeof png, "%s/accuracy.png", plots);
        ok &= plot_lines(png, &aa, acc, 2);
    }
    column all[4] = {tr, te, ta, tea};
    for (int i = 0; i < 4; i++) free(all[i].x), free(all[i].y);
    return ok;
}

int plot_runs(const char *png, const char *key, int logy, const char *const *dirs, int count)
{
    column *cols = calloc(count, sizeof *cols);
    plot_series *s = calloc(count, sizeof *s);
    int epochs = strncmp(key, "train", 5) != 0;
    for (int i = 0; i < count; i++) {
        cols[i] = read_metric(dirs[i], key, epochs);
        const char *base = strrchr(dirs[i], '/');
        s[i] = (plot_series){base && base[1] ? base + 1 : dirs[i], cols[i].n, cols[i].x, cols[i].y};
    }
    plot_axes a = {key, "epoch", key, 0, logy};
    int ok = plot_lines(png, &a, s, count);
    for (int i = 0; i < count; i++) free(cols[i].x), free(cols[i].y);
    free(cols), free(s);
    return ok;
}
