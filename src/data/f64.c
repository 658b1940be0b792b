/* A data set in float64 with square-loss targets (data.h), for the linear-regression theory. */
#include <stdlib.h>

#include "linmass/data.h"

lm_status lm_dataset_f64(const lm_dataset *ds, size_t n, double **X, double **Y, int *k)
{
    *X = *Y = NULL;
    if (n > ds->n) return lm_fail(LM_EINVAL, "%s: %zu samples asked for, it has %zu", ds->name, n, ds->n);
    size_t d = lm_shape_numel(ds->shape);
    int K = *k = ds->classes > 0 ? ds->classes : ds->target_dim;
    size_t nx = n * d, ny = n * (size_t)K; /* malloc(0) may return NULL: take one at least */
    *X = malloc(sizeof **X * (nx > 0 ? nx : 1));
    *Y = calloc(ny > 0 ? ny : 1, sizeof **Y);
    if (!*X || !*Y) {
        free(*X), free(*Y);
        *X = *Y = NULL;
        return lm_fail(LM_ENOMEM, "%s: no memory for %zu x %zu doubles", ds->name, n, d);
    }
    for (size_t i = 0; i < nx; i++) (*X)[i] = ds->x[i];
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < K; j++)
            (*Y)[i * K + j] = ds->classes > 0 ? (int)ds->y[i] == j : ds->y[i * K + j];
    return LM_OK;
}
