/* Reading training's curves back from a run folder's metrics.jsonl (run.h), and its figures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
