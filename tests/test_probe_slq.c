// ctest-labels: unit
/* Spectral density by stochastic Lanczos quadrature (docs/theory.md §7.5) against the exact
 * eigen-decomposition of the dense Hessian (lm_hvp_dense, p = 450), for the loss Hessian (MSE)
 * and the model Hessian, with Rademacher and Gaussian probe vectors, 10 probes of 80 steps:
 *   - the weights: each probe's sum to 1/probes, all to 1;
 *   - the extreme nodes equal the extreme eigenvalues to 1e-8 (relative to the norm);
 *   - the Gauss quadrature of each probe against the probe's exact spectral measure
 *     mu_v = sum_i (v . q_i)^2 delta(lambda_i), computed here from the eigenvectors and the probe
 *     vector regenerated from its documented recipe: the Chebyshev-Markov-Stieltjes inequalities
 *     sum_{i<j} w_i <= mu_v(-inf, theta_j) and mu_v(-inf, theta_j] <= sum_{i<=j} w_i at every
 *     node (wrong weights, such as last components or unnormalised ones, break them);
 *   - the Kolmogorov distance of the SLQ distribution from the spectral distribution F =
 *     (1/p) #{lambda_i <= t}: at every jump t, |F_slq(t) - F(t)| <= b(t) + 5 sigma, with b(t) the
 *     quadrature's bound (the mean over probes of the larger weight of the two nodes around t,
 *     from the inequalities above) and sigma = 1 / sqrt(2 p S), the largest standard deviation of
 *     F_V(t) = mean_s mu_{v_s}(-inf, t] around F(t) (Var <= 2 F (1 - F) / p per probe, S probes);
 *     the sampling part alone, sup |F_V - F|, within 5 sigma;
 *   - exactness: an operator with 5 distinct eigenvalues closes the Krylov space after 5 steps
 *     and the quadrature is then the measure itself (1e-12); the two-node quadrature of
 *     diag(1, 2, 3) in closed form (docs/theory.md §7.5's example);
 *   - the smoothed density integrates to 1 and matches its formula. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/probe.h"
#include "linmass/rng.h"

enum { PROBES = 10, STEPS = 80 };

/* Probe vector s of the documented recipe, unit length. */
static void probe_vector(lm_random_vectors kind, uint64_t seed, int s, double *v, size_t p)
{
    if (kind == LM_VECTORS_GAUSSIAN) {
        for (size_t i = 0; i < p; i++) v[i] = lm_rand_normal(seed, LM_STREAM_PROBE + 3, (uint64_t)s * p + i);
    } else {
        uint64_t blocks = (p + 127) / 128;
        for (size_t i = 0; i < p; i++) {
            uint32_t bits[4];
            lm_philox(seed, LM_STREAM_PROBE + 3, (uint64_t)s * blocks + i / 128, bits);
            v[i] = (bits[(i % 128) / 32] >> (i % 32)) & 1 ? 1.0 : -1.0;
        }
    }
    double nrm = 0;
    for (size_t i = 0; i < p; i++) nrm += v[i] * v[i];
    for (size_t i = 0; i < p; i++) v[i] /= sqrt(nrm);
}

/* mu(-inf, t] (closed) or mu(-inf, t) of the measure with atoms at ev (ascending) and masses c. */
static double measure_below(const double *ev, const double *c, size_t p, double t, int closed)
{
    double sum = 0;
    for (size_t i = 0; i < p && (closed ? ev[i] <= t : ev[i] < t); i++) sum += c[i];
    return sum;
}

/* The SLQ distribution at t: the weights of the nodes <= t. */
static double slq_cdf(const lm_density *d, double t)
{
    double sum = 0;
    for (int j = 0; j < d->n; j++)
        if (d->nodes[j] <= t) sum += d->weights[j];
    return sum;
}

/* b(t): the mean over probes of the larger weight (scaled to the probe) of the nodes theta_j <=
 * t < theta_{j+1} around t. */
static double quadrature_bound(const lm_density *d, double t)
{
    double sum = 0;
    for (int s = 0, off = 0; s < d->probes; off += d->count[s++]) {
        double b = 0;
        for (int j = 0; j < d->count[s]; j++) {
            int left = d->nodes[off + j] <= t && (j + 1 == d->count[s] || d->nodes[off + j + 1] > t);
            int right = d->nodes[off + j] > t && (j == 0 || d->nodes[off + j - 1] <= t);
            if (left || right) b = fmax(b, d->weights[off + j] * d->probes);
        }
        sum += b / d->probes;
    }
    return sum;
}

static void check_density(const char *what, lm_hvp *h, lm_random_vectors kind)
{
    size_t p = lm_hvp_dim(h);
    double *H = malloc(p * p * sizeof *H), *ev = malloc(p * sizeof *ev), *Q = malloc(p * p * sizeof *Q);
    double *v = malloc(p * sizeof *v), *mu = malloc(p * sizeof *mu), *FV = calloc(p, sizeof *FV);
    CHECK(lm_hvp_dense(h, H) == LM_OK);
    CHECK(lm_sym_eig((int)p, H, ev, Q) == LM_OK); /* Q's rows: the eigenvectors */
    double norm = fmax(fabs(ev[0]), fabs(ev[p - 1])), tie = 1e-9 * norm;

    lm_slq_opts o = {PROBES, STEPS, kind, 21, 0};
    lm_density d;
    lm_status st = lm_slq(p, lm_hvp_apply, h, &o, &d);
    CHECK_MSG(st == LM_OK, "%s: %s", what, lm_error_message());
    if (st) return;
    CHECK(d.probes == PROBES && d.steps == STEPS && d.dim == p);

    double total = 0, cms_worst = 0;
    for (int s = 0, off = 0; s < PROBES; off += d.count[s++]) {
        CHECK(d.count[s] == STEPS);
        double sum = 0;
        for (int j = 0; j < d.count[s]; j++) sum += d.weights[off + j];
        CHECK_MSG(fabs(sum * PROBES - 1) < 1e-12, "%s: probe %d's weights sum to %.15g / probes", what, s, sum * PROBES);
        total += sum;
        /* the probe's exact measure: masses (v . q_i)^2 at lambda_i */
        probe_vector(kind, 21, s, v, p);
        for (size_t i = 0; i < p; i++) {
            double dot = 0;
            for (size_t j = 0; j < p; j++) dot += Q[i * p + j] * v[j];
            mu[i] = dot * dot;
            FV[i] += mu[i] / PROBES;
        }
        double below = 0; /* sum_{i<j} w_i */
        for (int j = 0; j < d.count[s]; j++) {
            double th = d.nodes[off + j], w = d.weights[off + j] * PROBES;
            cms_worst = fmax(cms_worst, below - measure_below(ev, mu, p, th + tie, 0));
            cms_worst = fmax(cms_worst, measure_below(ev, mu, p, th - tie, 1) - (below + w));
            below += w;
        }
    }
    CHECK_CLOSE(total, 1.0, 1e-12);
    CHECK_MSG(cms_worst <= 1e-9, "%s: a Chebyshev-Markov-Stieltjes inequality fails by %.3g", what, cms_worst);
    CHECK_MSG(fabs(d.lambda_max - ev[p - 1]) <= 1e-8 * norm, "%s: top node %.12g, top eigenvalue %.12g", what,
              d.lambda_max, ev[p - 1]);
    CHECK_MSG(fabs(d.lambda_min - ev[0]) <= 1e-8 * norm, "%s: bottom node %.12g, bottom eigenvalue %.12g", what,
              d.lambda_min, ev[0]);

    /* Kolmogorov distances, at every jump of either distribution, just below and at it */
    double sigma = 1 / sqrt(2.0 * p * PROBES), ks = 0, ks_sampling = 0, worst_excess = -1, bound_at = 0;
    for (int pass = 0; pass < 2; pass++) {
        size_t npts = pass ? p : (size_t)d.n;
        for (size_t q = 0; q < npts; q++)
            for (int side = 0; side < 2; side++) {
                double t = (pass ? ev[q] : d.nodes[q]) + (side ? tie : -tie);
                double F = 0, fv = 0, fs = slq_cdf(&d, t);
                for (size_t i = 0; i < p && ev[i] <= t; i++) F += 1.0 / p, fv += FV[i];
                double b = quadrature_bound(&d, t) + 5 * sigma;
                ks = fmax(ks, fabs(fs - F));
                ks_sampling = fmax(ks_sampling, fabs(fv - F));
                if (fabs(fs - F) - b > worst_excess) worst_excess = fabs(fs - F) - b, bound_at = b;
            }
    }
    printf("%-34s p %zu: nodes [%.6g, %.6g] = eigenvalues [%.6g, %.6g]; KS %.4f (sampling part %.4f, 5 sigma %.4f), "
           "closest to its bound: %.4f below %.4f\n",
           what, p, d.lambda_min, d.lambda_max, ev[0], ev[p - 1], ks, ks_sampling, 5 * sigma, -worst_excess, bound_at);
    CHECK_MSG(worst_excess <= 0, "%s: |F_slq - F| exceeds its bound by %.3g", what, worst_excess);
    CHECK_MSG(ks_sampling <= 5 * sigma, "%s: the probes' measure is %.4f from F (5 sigma %.4f)", what, ks_sampling, 5 * sigma);

    /* the trace estimate: dim * mean v^T H v, consistent with the nodes */
    double tr = 0;
    for (size_t i = 0; i < p; i++) tr += ev[i];
    CHECK_MSG(fabs(d.trace - tr) <= 4 * d.trace_se, "%s: SLQ trace %.6g +- %.2g, exact %.6g", what, d.trace, d.trace_se, tr);
    lm_density_free(&d);
    free(H), free(ev), free(Q), free(v), free(mu), free(FV);
}

static void check_model(void)
{
    enum { N = 24, D = 8 };
    lm_model *m;
    CHECK(lm_model_create("dense:16,tanh,dense:16,tanh,dense:2", (lm_shape){D, 1, 1}, LM_PARAM_STANDARD, 3, &m) == LM_OK);
    double x[N * D], t[N * 2];
    lm_rand_normal_fill_f64(x, N * D, 1.0, 5, 1);
    lm_rand_normal_fill_f64(t, N * 2, 1.0, 5, 2);
    lm_hvp_opts ho = {0};
    ho.target = LM_HVP_LOSS;
    ho.loss = LM_LOSS_MSE;
    ho.targets = t;
    lm_hvp *h;
    CHECK(lm_hvp_create(m, x, N, &ho, &h) == LM_OK);
    check_density("loss Hessian, Rademacher", h, LM_VECTORS_RADEMACHER);
    check_density("loss Hessian, Gaussian", h, LM_VECTORS_GAUSSIAN);
    lm_hvp_free(h);
    ho = (lm_hvp_opts){0};
    ho.net.output = LM_OUTPUT_SUM;
    CHECK(lm_hvp_create(m, x, N, &ho, &h) == LM_OK);
    check_density("model Hessian, Rademacher", h, LM_VECTORS_RADEMACHER);
    check_density("model Hessian, Gaussian", h, LM_VECTORS_GAUSSIAN);

    /* the probe on the model agrees with lm_slq on the product */
    lm_slq_opts o = {4, 30, LM_VECTORS_RADEMACHER, 2, 0};
    lm_density a, b;
    CHECK(lm_slq(lm_hvp_dim(h), lm_hvp_apply, h, &o, &a) == LM_OK);
    CHECK(lm_probe_hessian_density(m, x, N, &ho, &o, &b) == LM_OK);
    CHECK(a.n == b.n && !memcmp(a.nodes, b.nodes, a.n * sizeof *a.nodes) && !memcmp(a.weights, b.weights, a.n * sizeof *a.weights));
    lm_density_free(&a), lm_density_free(&b);
    lm_hvp_free(h);
    lm_model_free(m);
}

typedef struct {
    size_t n;
    const double *d;
} diag_op;

static void diag_apply(void *ctx, const double *v, double *out)
{
    const diag_op *o = ctx;
    for (size_t i = 0; i < o->n; i++) out[i] = o->d[i] * v[i];
}

/* Five distinct eigenvalues: the quadrature of each probe is its measure, exactly. */
static void check_exact(void)
{
    enum { N = 300 };
    static const double vals[5] = {-1.5, 0.0, 0.25, 2.0, 7.0};
    double d[N], v[N];
    for (int i = 0; i < N; i++) d[i] = vals[(i * 7) % 5];
    diag_op op = {N, d};
    lm_slq_opts o = {3, 40, LM_VECTORS_GAUSSIAN, 9, 0};
    lm_density r;
    CHECK(lm_slq(N, diag_apply, &op, &o, &r) == LM_OK);
    double worst = 0;
    for (int s = 0, off = 0; s < 3; off += r.count[s++]) {
        CHECK_MSG(r.count[s] == 5, "probe %d: %d nodes for 5 distinct eigenvalues", s, r.count[s]);
        probe_vector(LM_VECTORS_GAUSSIAN, 9, s, v, N);
        for (int j = 0; j < r.count[s] && j < 5; j++) {
            double mass = 0;
            for (int i = 0; i < N; i++) mass += d[i] == vals[j] ? v[i] * v[i] : 0;
            worst = fmax(worst, fabs(r.nodes[off + j] - vals[j]));
            worst = fmax(worst, fabs(r.weights[off + j] * 3 - mass));
        }
    }
    printf("five distinct eigenvalues: nodes and weights within %.2g of the measure\n", worst);
    CHECK(worst < 1e-12);
    CHECK(r.products == 15);

    /* the smoothed density: integrates to 1 (trapezoid), and one value by its formula */
    enum { M = 4001 };
    double *t = malloc(M * sizeof *t), *rho = malloc(M * sizeof *rho), sigma = lm_density_sigma(&r);
    CHECK_CLOSE(sigma, 0.01 * 8.5, 1e-12);
    lm_density_smooth(&r, sigma, M, t, rho);
    double integral = 0, outside = 0; /* the Gaussians' mass beyond the grid's ends */
    for (int g = 1; g < M; g++) integral += 0.5 * (rho[g] + rho[g - 1]) * (t[g] - t[g - 1]);
    for (int j = 0; j < r.n; j++)
        outside += r.weights[j] * 0.5 * (erfc((r.nodes[j] - t[0]) / (sigma * sqrt(2))) + erfc((t[M - 1] - r.nodes[j]) / (sigma * sqrt(2))));
    printf("smoothed density: integral %.10f over the grid, %.3g of the mass beyond it\n", integral, outside);
    CHECK_CLOSE(integral + outside, 1.0, 1e-7);
    CHECK_CLOSE(t[0], -1.5 - 4 * sigma, 1e-12);
    CHECK_CLOSE(t[M - 1], 7.0 + 4 * sigma, 1e-12);
    double at = 0;
    for (int j = 0; j < r.n; j++) at += r.weights[j] * exp(-0.5 * pow((t[1234] - r.nodes[j]) / sigma, 2));
    CHECK_CLOSE(rho[1234], at / (sigma * sqrt(2 * M_PI)), 1e-12);
    free(t), free(rho);
    lm_density_free(&r);

    /* docs/theory.md §7.5's example: A = diag(1, 2, 3) and any Rademacher vector (entries +-1/sqrt 3,
     * so (v . e_i)^2 = 1/3): two steps give the Gauss quadrature of the uniform measure on {1, 2, 3},
     * nodes 2 -+ sqrt(2/3) with weights 1/2 */
    double d3[3] = {1, 2, 3};
    diag_op op3 = {3, d3};
    lm_slq_opts o3 = {4, 2, LM_VECTORS_RADEMACHER, 7, 0};
    CHECK(lm_slq(3, diag_apply, &op3, &o3, &r) == LM_OK);
    CHECK(r.n == 8);
    for (int j = 0; j < r.n; j++) {
        CHECK_CLOSE(r.nodes[j], 2 + (j % 2 ? 1 : -1) * sqrt(2.0 / 3), 1e-14);
        CHECK_CLOSE(r.weights[j], 0.125, 1e-14);
    }
    CHECK_CLOSE(r.trace, 6.0, 1e-14);
    CHECK(r.trace_se < 1e-14);
    lm_density_free(&r);

    /* bad options and a basis over the cap */
    o = (lm_slq_opts){-1, 0, 0, 0, 0};
    CHECK(lm_slq(N, diag_apply, &op, &o, &r) == LM_EINVAL);
    o = (lm_slq_opts){2, 40, 0, 0, 1000};
    CHECK(lm_slq(N, diag_apply, &op, &o, &r) == LM_ENOMEM);
}

/* One smoothing width over blocks: 1% of the span of all their nodes; 1e-3 of max |node| when
 * they coincide. */
static void check_block_sigma(void)
{
    lm_block_spectrum b[2];
    memset(b, 0, sizeof b);
    b[0].density.lambda_min = -1, b[0].density.lambda_max = 2;
    b[1].density.lambda_min = 0.5, b[1].density.lambda_max = 5;
    CHECK_CLOSE(lm_block_density_sigma(b, 2), 0.06, 1e-15);
    CHECK_CLOSE(lm_block_density_sigma(b, 1), 0.03, 1e-15);
    b[0].density.lambda_min = b[0].density.lambda_max = -4;
    b[1].density.lambda_min = b[1].density.lambda_max = -4;
    CHECK_CLOSE(lm_block_density_sigma(b, 2), 4e-3, 1e-15);
}

int main(void)
{
    check_model();
    check_exact();
    check_block_sigma();
    return check_summary();
}
