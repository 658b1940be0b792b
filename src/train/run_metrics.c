/* Reading training's curves back from a run folder's metrics.jsonl (run.h), its figures, and one
 * metric of several runs on one figure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "linmass/run.h"

/* Append (x, y) to the arrays of *n values and room for *cap; 0 when out of memory. */
static int push(double **x, double **y, int *n, int *cap, double xv, double yv)
{
    if (*n == *cap) {
        int c = *cap ? 2 * *cap : 64;
        double *nx = realloc(*x, c * sizeof *nx);
        if (nx) *x = nx;
        double *ny = nx ? realloc(*y, c * sizeof *ny) : NULL;
        if (!ny) return 0;
        *y = ny, *cap = c;
    }
    (*x)[*n] = xv;
    (*y)[(*n)++] = yv;
    return 1;
}

lm_status lm_run_read_metric(const char *dir, const char *key, const char *xkey, double **x, double **y, int *n)
{
    char path[4200], *line = NULL;
    size_t len = 0;
    int cap = 0, ok = 1;
    *x = *y = NULL, *n = 0;
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    FILE *f = fopen(path, "r");
    if (!f) return lm_fail(LM_EIO, "%s: cannot open", path);
    while (ok && getline(&line, &len, f) >= 0) {
        cJSON *o = cJSON_Parse(line);
        const cJSON *xv = cJSON_GetObjectItem(o, xkey), *yv = cJSON_GetObjectItem(o, key);
        if (cJSON_IsNumber(xv) && cJSON_IsNumber(yv)) ok = push(x, y, n, &cap, xv->valuedouble, yv->valuedouble);
        cJSON_Delete(o);
    }
    free(line);
    fclose(f);
    if (ok) return LM_OK;
    free(*x), free(*y);
    *x = *y = NULL, *n = 0;
    return lm_fail(LM_ENOMEM, "%s: out of memory for the '%s' values", path, key);
}

/* The figure of one quantity ("loss", "acc"): its train, validation and test curves against the
 * epoch, added to r when any of them holds a value. */
static lm_status metric_figure(const char *dir, const char *what, lm_report *r)
{
    static const char *const splits[] = {"train", "val", "test"}, *const names[] = {"train", "validation", "test"};
    int acc = !strcmp(what, "acc"), any = 0;
    lm_curve c[3] = {{0}};
    double *x[3] = {NULL}, *y[3] = {NULL};
    lm_status st = LM_OK;
    for (int k = 0; k < 3 && !st; k++) {
        char key[64];
        snprintf(key, sizeof key, "%s_%s", splits[k], what);
        st = lm_run_read_metric(dir, key, "epoch", &x[k], &y[k], &c[k].n);
        /* a few values (an epoch's test metrics) as dots on a line, many (logged steps) as a line */
        c[k] = (lm_curve){names[k], k && c[k].n <= 60 ? LM_CURVE_LINESPOINTS : LM_CURVE_LINE, c[k].n, x[k], y[k], NULL, NULL, k + 1};
        any |= c[k].n > 0;
    }
    lm_figure f = {acc ? "accuracy.png" : "loss.png", acc ? "accuracy" : "loss", acc ? "Accuracy" : "Loss", "epoch",
                   acc ? "accuracy" : "loss", 0, !acc, acc ? LM_LEGEND_BOTTOM_RIGHT : LM_LEGEND_TOP_RIGHT, 3, c, 0};
    if (!st && any) st = lm_report_figure(r, &f);
    for (int k = 0; k < 3; k++) free(x[k]), free(y[k]);
    return st;
}

lm_status lm_run_training_figures(const char *dir, lm_report *r)
{
    lm_status st = metric_figure(dir, "loss", r);
    return st ? st : metric_figure(dir, "acc", r);
}

/* ---- one metric of several runs ---- */

/* The metrics.jsonl key of an x axis name (epoch, step, time), or NULL. */
static const char *x_key(const char *x)
{
    if (!x || !strcmp(x, "epoch")) return "epoch";
    if (!strcmp(x, "step")) return "step";
    if (!strcmp(x, "time")) return "elapsed";
    return NULL;
}

/* The curve of run folder dir, labelled (NULL: the folder's base name). */
static lm_status run_curve(const char *dir, const char *key, const char *xkey, const char *label, lm_curve *s)
{
    struct stat st;
    double *x, *y;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return lm_fail(LM_EINVAL, "%s: no such folder", dir);
    lm_status rc = lm_run_read_metric(dir, key, xkey, &x, &y, &s->n);
    if (rc == LM_EIO) return lm_fail(LM_EINVAL, "%s holds no metrics.jsonl (not a run folder?)", dir);
    if (rc) return rc;
    s->x = x, s->y = y;
    /* a few values (an epoch's test metrics) as dots on a line, many (logged steps) as a line */
    s->kind = s->n <= 60 ? LM_CURVE_LINESPOINTS : LM_CURVE_LINE;
    if (!s->n) return lm_fail(LM_EINVAL, "%s/metrics.jsonl holds no '%s' values against '%s'", dir, key, xkey);
    const char *base = strrchr(dir, '/');
    s->label = label ? label : base && base[1] ? base + 1 : dir;
    return LM_OK;
}

lm_status lm_run_metric_figure(const char *const *dirs, int n, const lm_run_metric_plot *p, lm_report *r)
{
    const char *xkey = x_key(p->x);
    if (!xkey) return lm_fail(LM_EINVAL, "x: '%s' is not epoch, step or time", p->x);
    if (n < 1) return lm_fail(LM_EINVAL, "n %d: name at least one run folder", n);
    lm_curve *s = calloc(n, sizeof *s);
    if (!s) return lm_fail(LM_ENOMEM, "out of memory for %d curves", n);
    lm_status st = LM_OK;
    for (int i = 0; i < n && !st; i++) st = run_curve(dirs[i], p->key, xkey, p->labels ? p->labels[i] : NULL, &s[i]);
    const char *xlabel = !strcmp(xkey, "elapsed") ? "time (s)" : xkey;
    lm_figure f = {.file = "compare.png", .title = p->title ? p->title : p->key, .xlabel = xlabel, .ylabel = p->key,
                   .logy = !p->linear && strstr(p->key, "loss") != NULL, .n_curves = n, .curves = s};
    if (!st) st = lm_report_figure(r, &f);
    for (int i = 0; i < n; i++) free((double *)s[i].x), free((double *)s[i].y);
    free(s);
    return st;
}
