/* The diagonal and the trace of a symmetric operator (docs/theory.md §7.2, §7.8): exactly, from
 * products with unit vectors, or by Hutchinson's estimator from Rademacher vectors, with the
 * standard error of every entry and of the trace. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "linmass/rng.h"
#include "probe/probe_internal.h"

void lm_rademacher(uint64_t seed, uint64_t stream, uint64_t s, double *v, size_t dim)
{
    uint64_t blocks = (dim + 127) / 128;
    for (size_t i = 0; i < dim; i += 128) {
        uint32_t bits[4];
        lm_philox(seed, stream, s * blocks + i / 128, bits);
        for (size_t j = 0; j < 128 && i + j < dim; j++) v[i + j] = (bits[j / 32] >> (j % 32)) & 1 ? 1.0 : -1.0;
    }
}

static lm_status diag_exact(size_t dim, lm_matvec_fn op, void *ctx, lm_diag_result *r)
{
    double *e = calloc(dim, sizeof *e), *col = malloc(dim * sizeof *col);
    if (!e || !col) {
        free(e), free(col);
        return lm_fail(LM_ENOMEM, "diagonal: out of memory for vectors of %zu", dim);
    }
    for (size_t j = 0; j < dim; j++) {
        e[j] = 1;
        op(ctx, e, col);
        e[j] = 0;
        if (r->diag) r->diag[j] = col[j];
        if (r->se) r->se[j] = 0;
        r->trace += col[j];
    }
    r->exact = 1;
    r->products = (int)dim;
    free(e), free(col);
    return LM_OK;
}

/* Hutchinson: the trace from q_s = v_s^T A v_s (sum and sum of squares), each entry of the
 * diagonal from v_s,i (A v_s)_i by Welford's running mean and squared deviations. */
static lm_status diag_hutchinson(size_t dim, lm_matvec_fn op, void *ctx, int samples, uint64_t seed, lm_diag_result *r)
{
    double *v = malloc(dim * sizeof *v), *av = malloc(dim * sizeof *av);
    double *m2 = r->se ? calloc(dim, sizeof *m2) : NULL;
    if (!v || !av || (r->se && !m2)) {
        free(v), free(av), free(m2);
        return lm_fail(LM_ENOMEM, "Hutchinson: out of memory for vectors of %zu", dim);
    }
    if (r->diag) memset(r->diag, 0, dim * sizeof *r->diag);
    double sum = 0, sum2 = 0;
    for (int s = 0; s < samples; s++) {
        lm_rademacher(seed, LM_STREAM_PROBE + 2, (uint64_t)s, v, dim);
        op(ctx, v, av);
        double q = 0;
        for (size_t i = 0; i < dim; i++) {
            double x = v[i] * av[i];
            q += x;
            if (!r->diag) continue;
            double delta = x - r->diag[i];
            r->diag[i] += delta / (s + 1);
            if (m2) m2[i] += delta * (x - r->diag[i]);
        }
        sum += q;
        sum2 += q * q;
    }
    for (size_t i = 0; m2 && i < dim; i++) r->se[i] = samples > 1 ? sqrt(m2[i] / (samples - 1) / samples) : 0;
    r->samples = samples;
    r->products = samples;
    r->trace = sum / samples;
    double var = samples > 1 ? (sum2 - samples * r->trace * r->trace) / (samples - 1) : 0;
    r->trace_se = sqrt(fmax(var, 0) / samples);
    free(v), free(av), free(m2);
    return LM_OK;
}

lm_status lm_sym_diagonal(size_t dim, lm_matvec_fn op, void *ctx, const lm_diag_opts *o, lm_diag_result *r)
{
    static const lm_diag_opts defaults = {0};
    if (!o) o = &defaults;
    double *diag = r->diag, *se = r->se;
    memset(r, 0, sizeof *r);
    r->diag = diag, r->se = se;
    if (dim == 0) return lm_fail(LM_EINVAL, "diagonal: the operator has dimension 0");
    if (o->samples < 0) return lm_fail(LM_EINVAL, "diagonal: %d Rademacher samples", o->samples);
    long exact_max = o->exact_max == 0 ? 2000 : o->exact_max;
    if (exact_max > 0 && dim <= (size_t)exact_max) return diag_exact(dim, op, ctx, r);
    return diag_hutchinson(dim, op, ctx, o->samples ? o->samples : 100, o->seed, r);
}

lm_status lm_probe_hessian_diagonal(const lm_model *m, const double *x, int n, const lm_hvp_opts *h,
                                    const lm_diag_opts *o, lm_diag_result *r)
{
    lm_hvp *hv;
    lm_status st = lm_hvp_create(m, x, n, h, &hv);
    if (st) return lm_fail_context(st, "Hessian diagonal");
    st = lm_sym_diagonal(lm_hvp_dim(hv), lm_hvp_apply, hv, o, r);
    if (!st) st = lm_hvp_status(hv);
    st = lm_coll_agree(h ? lm_coll_active(h->coll) : NULL, st);
    lm_hvp_free(hv);
    return st ? lm_fail_context(st, "Hessian diagonal") : LM_OK;
}
