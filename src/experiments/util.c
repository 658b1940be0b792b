/* Helpers that several claims share: keyed numbers, a log-log slope over a range, and the
 * Fashion-MNIST subsets that the quick settings train on. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "experiments/exp_internal.h"
#include "linmass/data.h"
#include "linmass/io.h"
#include "linmass/probe.h"

lm_status exp_measuredf(lm_report *r, double v, const char *fmt, ...)
{
    char key[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(key, sizeof key, fmt, ap);
    va_end(ap);
    return lm_report_measured(r, key, v);
}

lm_status exp_predictedf(lm_report *r, double v, const char *fmt, ...)
{
    char key[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(key, sizeof key, fmt, ap);
    va_end(ap);
    return lm_report_predicted(r, key, v);
}

double exp_loglog_slope(const double *x, const double *y, int n, double lo, double hi, int *used)
{
    double *sel = malloc(sizeof *sel * 2 * (size_t)(n > 0 ? n : 1));
    int k = 0;
    for (int i = 0; sel && i < n; i++)
        if (x[i] >= lo && x[i] <= hi && y[i] > 0 && isfinite(y[i])) sel[k] = x[i], sel[n + k++] = y[i];
    lm_fit fit;
    double slope = sel && k >= 2 && lm_loglog_fit(sel, sel + n, k, &fit) == LM_OK ? fit.slope : NAN;
    if (used) *used = k;
    free(sel);
    return slope;
}

double *exp_range(int n)
{
    double *v = malloc(sizeof *v * (size_t)(n > 0 ? n : 1));
    if (!v) return lm_fail(LM_ENOMEM, "out of memory for %d values", n), NULL;
    for (int i = 0; i < n; i++) v[i] = i;
    return v;
}

int exp_thin(const double *y, int steps, int target, double *xs, double *ys, int *every)
{
    int k = 0;
    *every = steps > target ? (steps + target - 1) / target : 1;
    for (int t = 0; t <= steps; t += *every, k++) xs[k] = t, ys[k] = y[t];
    return k;
}

/* The big-endian IDX header: magic, then dimensions. */
static void idx_header(unsigned char *p, const uint32_t *words, int n)
{
    for (int k = 0; k < n; k++)
        for (int b = 0; b < 4; b++) p[4 * k + b] = (unsigned char)(words[k] >> (24 - 8 * b));
}

static lm_status write_split(const char *dir, int test, long count)
{
    lm_dataset *ds;
    EXP_TRY(lm_data_load("fashion-mnist", test ? LM_SPLIT_TEST : LM_SPLIT_TRAIN, 0, &ds));
    size_t n = (size_t)count < ds->n ? (size_t)count : ds->n, px = lm_shape_numel(ds->shape);
    unsigned char *img = malloc(16 + n * px), *lab = malloc(8 + n);
    lm_status st = img && lab ? LM_OK : lm_fail(LM_ENOMEM, "out of memory for %zu images", n);
    if (!st) {
        idx_header(img, (const uint32_t[]){0x803, (uint32_t)n, 28, 28}, 4);
        idx_header(lab, (const uint32_t[]){0x801, (uint32_t)n}, 2);
        for (size_t i = 0; i < n * px; i++) img[16 + i] = (unsigned char)lrint(ds->x[i] * 255.0);
        for (size_t i = 0; i < n; i++) lab[8 + i] = (unsigned char)ds->y[i];
        char path[4200];
        snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte", dir, test ? "t10k" : "train");
        st = lm_write_file_atomic(path, img, 16 + n * px);
        snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte", dir, test ? "t10k" : "train");
        if (!st) st = lm_write_file_atomic(path, lab, 8 + n);
    }
    lm_dataset_free(ds);
    free(img), free(lab);
    return st;
}

lm_status exp_write_subset(const char *dir, long n_train, long n_test)
{
    EXP_TRY(lm_mkdir_p(dir));
    EXP_TRY(write_split(dir, 0, n_train));
    return write_split(dir, 1, n_test);
}
