/* Sources of the linear-regression theory (theory.h, lm_theory_source_open): a data set's
 * training split in float64, the RKHS features of a kernel machine on it (docs/theory.md §2.1),
 * or an exact population. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linmass/data.h"
#include "linmass/model.h"
#include "linmass/theory.h"

/* Largest data matrix loaded: n * d float64 values (400 MB). */
#define MAX_DATA_VALUES 50000000.0

static void as_data(lm_theory_source *s, int n, int d)
{
    memset(&s->mo, 0, sizeof s->mo);
    s->mo.kind = LM_MOMENTS_DATA;
    s->mo.d = d;
    s->mo.n = n;
    s->mo.X = s->X;
}

/* The training split, as loaded, and the samples used (the first max_samples). */
static lm_status load_train(const lm_theory_source_opts *o, lm_dataset **ds, size_t *n)
{
    lm_status st = lm_data_load(o->data, LM_SPLIT_TRAIN, o->seed, ds);
    if (st) return st;
    *n = (*ds)->n;
    if (o->max_samples > 0 && (size_t)o->max_samples < *n) *n = (size_t)o->max_samples;
    return *n < 1 ? lm_fail(LM_EINVAL, "%s: no training samples", o->data) : LM_OK;
}

static lm_status open_data(const lm_theory_source_opts *o, lm_theory_source *s)
{
    lm_dataset *ds = NULL;
    size_t n = 0;
    lm_status st = load_train(o, &ds, &n);
    size_t d = st ? 0 : lm_shape_numel(ds->shape);
    if (!st && (long)d > o->max_dim)
        st = lm_fail(LM_EINVAL, "%s has d = %zu features; at most %d are allowed", o->data, d, o->max_dim);
    if (!st && (double)n * (double)d > MAX_DATA_VALUES)
        st = lm_fail(LM_EINVAL, "%s: n x d = %zu x %zu is over %.0f values; take fewer samples", o->data, n, d,
                     MAX_DATA_VALUES);
    if (!st) st = lm_dataset_f64(ds, n, &s->X, &s->Y, &s->k);
    lm_dataset_free(ds);
    if (st) return st;
    as_data(s, (int)n, (int)d);
    snprintf(s->label, sizeof s->label, "%s (train, n=%zu, d=%zu)", o->data, n, d);
    return LM_OK;
}

/* The features of kernel regression in the RKHS from the kernel matrix of a random subsample of
 * at most kernel_rows training points, exact when there are no more. */
static lm_status open_kernel(const lm_theory_source_opts *o, lm_theory_source *s)
{
    lm_dataset *ds = NULL;
    lm_model *m = NULL;
    size_t n = 0;
    char spec[256];
    int r = 0, d = 0;
    lm_status st = load_train(o, &ds, &n);
    if (!st && o->max_points > 0 && n > (size_t)o->max_points)
        st = lm_fail(LM_EINVAL, "%s: %s has %zu training points, and kernel regression in the RKHS has one feature per "
                     "point; at most %d are allowed", o->model, o->data, n, o->max_points);
    int outputs = st ? 0 : ds->classes > 0 ? ds->classes : ds->target_dim;
    if (!st && (!lm_model_alias_spec(o->model, outputs, n, spec, sizeof spec) || strncmp(o->model, "kernel:", 7)))
        st = lm_fail(LM_EINVAL, "model '%s' is not linear, kernel:gaussian:BW or kernel:laplacian:BW", o->model);
    if (!st) st = lm_model_create(spec, ds->shape, LM_PARAM_STANDARD, o->seed, &m);
    if (!st) st = lm_model_set_kernel_centres(m, ds->x, n);
    if (!st) st = lm_model_linear_features(m, ds->x, n, o->kernel_rows, o->seed, &s->X, &r, &d);
    lm_model_free(m);
    lm_dataset_free(ds);
    if (st) return st;
    as_data(s, r, d);
    if ((size_t)r < n)
        snprintf(s->label, sizeof s->label, "%s in the RKHS on %s (train, %zu points; kernel matrix of a random %d)",
                 o->model, o->data, n, r);
    else
        snprintf(s->label, sizeof s->label, "%s in the RKHS on %s (train, kernel matrix of all %zu points)", o->model,
                 o->data, n);
    return LM_OK;
}

/* The options' own checks, before anything is loaded. */
static lm_status check_opts(const lm_theory_source_opts *o, int linear)
{
    if (!linear && (!o->data || o->population)) return lm_fail(LM_EINVAL, "model %s needs data (and no population)", o->model);
    if (!o->data == !o->population) return lm_fail(LM_EINVAL, "population and data: give exactly one");
    if (o->max_samples < 0) return lm_fail(LM_EINVAL, "max_samples %ld is negative", o->max_samples);
    if ((!strncmp(o->model ? o->model : "", "kernel:", 7) || o->kernel_rows) && (o->kernel_rows < 2 || o->kernel_rows > o->max_dim))
        return lm_fail(LM_EINVAL, "kernel_rows %d is not in 2..%d", o->kernel_rows, o->max_dim);
    return LM_OK;
}

lm_status lm_theory_source_open(const lm_theory_source_opts *o, lm_theory_source *s)
{
    memset(s, 0, sizeof *s);
    if (!o) return lm_fail(LM_EINVAL, "theory source: no options");
    int linear = !o->model || !strcmp(o->model, "linear");
    lm_status st = check_opts(o, linear);
    if (st) return st;
    if (o->data) return linear ? open_data(o, s) : open_kernel(o, s);
    if ((st = lm_population_parse(o->population, &s->pop))) return st;
    if (o->max_population_dim > 0 && s->pop.mo.d > o->max_population_dim)
        return lm_fail(LM_EINVAL, "population d = %d: theory allows at most %d", s->pop.mo.d, o->max_population_dim);
    s->mo = s->pop.mo;
    s->population = 1;
    snprintf(s->label, sizeof s->label, "%s", s->pop.label);
    return LM_OK;
}

void lm_theory_source_free(lm_theory_source *s)
{
    free(s->X), free(s->Y);
    s->X = s->Y = NULL;
    lm_population_free(&s->pop);
}

lm_status lm_theory_source_constants(const lm_theory_source *s, int m, lm_constants *k)
{
    if (m < 1) return lm_fail(LM_EINVAL, "batch %d is not >= 1", m);
    return s->mo.kind == LM_MOMENTS_DATA ? lm_linreg_constants(s->X, s->mo.n, s->mo.d, m, k)
                                         : lm_moments_constants(&s->mo, m, k);
}
