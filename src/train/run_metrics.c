/* Reading training's curves back from a run folder's metrics.jsonl (run.h). */
#include <stdio.h>
#include <stdlib.h>

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
