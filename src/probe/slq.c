/* Spectral density by stochastic Lanczos quadrature (docs/theory.md §7.5): for each random unit
 * vector v, k Lanczos steps with full reorthogonalisation give the tridiagonal T_k, whose
 * eigenvalues theta_j and squared first eigenvector components tau_j^2 are the nodes and weights
 * of the Gauss quadrature of the measure sum_i (v . q_i)^2 delta(lambda_i); the density is their
 * average over the vectors, smoothed by a Gaussian of a stated width. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "linmass/rng.h"
#include "probe/probe_internal.h"

void lm_density_free(lm_density *d)
{
    free(d->nodes), free(d->weights), free(d->count);
    d->nodes = d->weights = NULL;
    d->count = NULL;
}

/* Probe vector s, normalised to unit length. */
static void probe_vector(const lm_slq_opts *o, int s, double *v, size_t dim)
{
    if (o->vectors == LM_VECTORS_GAUSSIAN)
        for (size_t i = 0; i < dim; i++) v[i] = lm_rand_normal(o->seed, LM_STREAM_PROBE + 3, (uint64_t)s * dim + i);
    else
        lm_rademacher(o->seed, LM_STREAM_PROBE + 3, (uint64_t)s, v, dim);
    double nrm = 0;
    for (size_t i = 0; i < dim; i++) nrm += v[i] * v[i];
    nrm = sqrt(nrm);
    for (size_t i = 0; i < dim; i++) v[i] /= nrm;
}

static lm_status slq_check(size_t dim, const lm_slq_opts *o, int k)
{
    if (dim == 0) return lm_fail(LM_EINVAL, "spectral density: the operator has dimension 0");
    if (o->probes < 0 || o->steps < 0)
        return lm_fail(LM_EINVAL, "spectral density: %d probe vectors and %d Lanczos steps", o->probes, o->steps);
    if (o->vectors != LM_VECTORS_RADEMACHER && o->vectors != LM_VECTORS_GAUSSIAN)
        return lm_fail(LM_EINVAL, "spectral density: unknown kind of probe vector %d", (int)o->vectors);
    size_t cap = o->mem_cap ? o->mem_cap : (size_t)512 << 20;
    size_t need = ((size_t)k + 3) * dim * sizeof(double) + (size_t)k * k * sizeof(double);
    if (need > cap)
        return lm_fail(LM_ENOMEM, "spectral density: %d Lanczos steps on dimension %zu need %zu bytes (cap %zu)", k,
                       dim, need, cap);
    return LM_OK;
}

/* The summary of the nodes: extremes and the trace estimate dim * mean_s sum_j w_j theta_j. */
static void slq_summary(lm_density *d, const double *alpha1)
{
    d->lambda_min = INFINITY, d->lambda_max = -INFINITY;
    for (int j = 0; j < d->n; j++) {
        d->lambda_min = fmin(d->lambda_min, d->nodes[j]);
        d->lambda_max = fmax(d->lambda_max, d->nodes[j]);
    }
    double sum = 0, sum2 = 0;
    for (int s = 0; s < d->probes; s++) sum += alpha1[s] * d->dim, sum2 += alpha1[s] * alpha1[s] * d->dim * d->dim;
    d->trace = sum / d->probes;
    double var = d->probes > 1 ? (sum2 - d->probes * d->trace * d->trace) / (d->probes - 1) : 0;
    d->trace_se = sqrt(fmax(var, 0) / d->probes);
}

lm_status lm_slq(size_t dim, lm_matvec_fn op, void *ctx, const lm_slq_opts *o, lm_density *d)
{
    static const lm_slq_opts defaults = {0};
    if (!o) o = &defaults;
    memset(d, 0, sizeof *d);
    int probes = o->probes ? o->probes : 10, k = o->steps ? o->steps : 80;
    if (dim && (size_t)k > dim) k = (int)dim;
    lm_status st = slq_check(dim, o, k);
    if (st) return st;
    d->dim = dim, d->probes = probes, d->steps = k, d->vectors = o->vectors;
    d->nodes = malloc((size_t)probes * k * sizeof *d->nodes);
    d->weights = malloc((size_t)probes * k * sizeof *d->weights);
    d->count = calloc(probes, sizeof *d->count);
    double *v = malloc(dim * sizeof *v), *alpha1 = malloc(probes * sizeof *alpha1);
    if (!d->nodes || !d->weights || !d->count || !v || !alpha1)
        st = lm_fail(LM_ENOMEM, "spectral density: out of memory for %d probes of %d steps", probes, k);
    for (int s = 0; !st && s < probes; s++) {
        probe_vector(o, s, v, dim);
        double *nodes = d->nodes + d->n, *w = d->weights + d->n;
        int got = lm_lanczos_quadrature(dim, op, ctx, v, k, nodes, w, &st);
        if (got < 0) break;
        alpha1[s] = 0; /* e_1^T T e_1 = v^T A v = sum_j tau_j^2 theta_j */
        for (int j = 0; j < got; j++) alpha1[s] += w[j] * nodes[j], w[j] /= probes;
        d->count[s] = got;
        d->n += got;
        d->products += got;
    }
    if (!st) slq_summary(d, alpha1);
    else lm_density_free(d);
    free(v), free(alpha1);
    return st;
}

double lm_density_sigma(const lm_density *d)
{
    double span = d->lambda_max - d->lambda_min, big = fmax(fabs(d->lambda_max), fabs(d->lambda_min));
    if (span > 1e-12 * big) return 0.01 * span;
    return big > 0 ? 1e-3 * big : 1;
}

double lm_block_density_sigma(const lm_block_spectrum *b, int n)
{
    lm_density all = {0};
    all.lambda_min = INFINITY, all.lambda_max = -INFINITY;
    for (int i = 0; i < n; i++) {
        all.lambda_min = fmin(all.lambda_min, b[i].density.lambda_min);
        all.lambda_max = fmax(all.lambda_max, b[i].density.lambda_max);
    }
    return lm_density_sigma(&all);
}

void lm_density_smooth(const lm_density *d, double sigma, int m, double *t, double *rho)
{
    double lo = d->lambda_min - 4 * sigma, hi = d->lambda_max + 4 * sigma, c = 1 / (sigma * sqrt(2 * M_PI));
    for (int g = 0; g < m; g++) {
        t[g] = lo + (hi - lo) * g / (m > 1 ? m - 1 : 1);
        double sum = 0;
        for (int j = 0; j < d->n; j++) {
            double u = (t[g] - d->nodes[j]) / sigma;
            sum += d->weights[j] * exp(-0.5 * u * u);
        }
        rho[g] = c * sum;
    }
}

lm_status lm_probe_hessian_density(const lm_model *m, const double *x, int n, const lm_hvp_opts *h,
                                   const lm_slq_opts *o, lm_density *d)
{
    memset(d, 0, sizeof *d);
    lm_hvp *hv;
    lm_status st = lm_hvp_create(m, x, n, h, &hv);
    if (st) return lm_fail_context(st, "spectral density");
    st = lm_slq(lm_hvp_dim(hv), lm_hvp_apply, hv, o, d);
    if (!st) st = lm_hvp_status(hv);
    st = lm_coll_agree(h ? lm_coll_active(h->coll) : NULL, st);
    if (st) lm_density_free(d);
    lm_hvp_free(hv);
    return st ? lm_fail_context(st, "spectral density") : LM_OK;
}
