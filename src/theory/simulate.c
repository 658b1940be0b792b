/* Monte-Carlo runs of SGD, Nesterov and MaSS on linear regression with w* = 0, through the
 * optimizer kernels, next to which the exact curve (curve.c) is the expectation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "linmass/optim.h"
#include "linmass/probe.h"
#include "linmass/rng.h"
#include "theory/theory_internal.h"

typedef struct {
    const lm_moments *mo;
    int d;
    double *root; /* GAUSSIAN: sqrt(H_ii) (diagonal H, d values) or H^(1/2) (d x d) */
    int diagonal;
    double *z;    /* d normals */
} sampler;

/* H^(1/2) = V diag(sqrt(lambda)) V^T (negative rounding errors of lambda count as 0). */
static lm_status gaussian_root(int d, const double *H, double *root)
{
    double *V = malloc(sizeof *V * (size_t)d * d), *lambda = malloc(sizeof *lambda * (size_t)d);
    lm_status st = V && lambda ? lm_sym_eig(d, H, lambda, V) : lm_fail(LM_ENOMEM, "simulate: no memory (d = %d)", d);
    for (int i = 0; !st && i < d; i++)
        for (int j = 0; j < d; j++) {
            double r = 0;
            for (int k = 0; k < d; k++) r += V[k * d + i] * sqrt(fmax(lambda[k], 0)) * V[k * d + j];
            root[i * d + j] = r;
        }
    free(V), free(lambda);
    return st;
}

static lm_status sampler_init(sampler *s, const lm_moments *mo)
{
    int d = mo->d;
    memset(s, 0, sizeof *s);
    s->mo = mo, s->d = d, s->diagonal = lm_moments_is_diagonal(mo);
    s->z = malloc(sizeof *s->z * (size_t)d);
    if (mo->kind == LM_MOMENTS_GAUSSIAN)
        s->root = malloc(sizeof *s->root * (size_t)(s->diagonal ? d : d * d));
    if (!s->z || (mo->kind == LM_MOMENTS_GAUSSIAN && !s->root))
        return lm_fail(LM_ENOMEM, "simulate: no memory (d = %d)", d);
    if (mo->kind != LM_MOMENTS_GAUSSIAN) return LM_OK;
    if (!s->diagonal) return gaussian_root(d, mo->H, s->root);
    for (int i = 0; i < d; i++) s->root[i] = sqrt(mo->H[i * d + i]);
    return LM_OK;
}

static void sampler_free(sampler *s)
{
    free(s->root), free(s->z);
}

/* Sample k of a run (stream): x (d values). */
static void draw(const sampler *s, uint64_t seed, uint64_t stream, uint64_t k, double *x)
{
    int d = s->d;
    const lm_moments *mo = s->mo;
    if (mo->kind == LM_MOMENTS_DATA) {
        int row = (int)(lm_rand_uniform(seed, stream, k) * mo->n);
        if (row >= mo->n) row = mo->n - 1;
        memcpy(x, mo->X + (size_t)row * d, sizeof *x * (size_t)d);
    } else if (mo->kind == LM_MOMENTS_DECOUPLED) {
        int i = (int)(lm_rand_uniform(seed, stream, 2 * k) * d);
        if (i >= d) i = d - 1;
        memset(x, 0, sizeof *x * (size_t)d);
        x[i] = sqrt(d * mo->sigma2[i]) * lm_rand_normal(seed, stream, 2 * k + 1);
    } else if (s->diagonal) {
        for (int i = 0; i < d; i++) x[i] = s->root[i] * lm_rand_normal(seed, stream, k * d + i);
    } else {
        for (int i = 0; i < d; i++) s->z[i] = lm_rand_normal(seed, stream, k * d + i);
        for (int i = 0; i < d; i++) {
            double r = 0;
            for (int j = 0; j < d; j++) r += s->root[i * d + j] * s->z[j];
            x[i] = r;
        }
    }
}

typedef struct {
    double *w, *u, *g, *x;
} run_state;

/* The mini-batch gradient (1/m) sum_j <at, x_j> x_j of step t (w* = 0). */
static void gradient(const sampler *s, const lm_simulate_opts *o, uint64_t stream, int t,
                     const double *at, run_state *r)
{
    int d = s->d;
    for (int i = 0; i < d; i++) r->g[i] = 0;
    for (int j = 0; j < o->m; j++) {
        draw(s, o->seed, stream, (uint64_t)t * o->m + j, r->x);
        double dot = 0;
        for (int i = 0; i < d; i++) dot += at[i] * r->x[i];
        dot /= o->m;
        for (int i = 0; i < d; i++) r->g[i] += dot * r->x[i];
    }
}

/* One run: adds |w_t|^2 / runs to mean[t] and updates the running mean mu and the sum of
 * squared deviations m2 (Welford) of run number `run`. */
static void one_run(const sampler *s, lm_theory_method method, lm_theory_hp hp,
                    const lm_simulate_opts *o, int run, run_state *r, double *mean, double *mu,
                    double *m2)
{
    int d = s->d;
    uint64_t stream = o->stream + (uint64_t)run;
    lm_mass_hp mass = {hp.eta1, method == LM_THEORY_MASS ? hp.eta2 : 0, hp.gamma, 0};
    lm_sgd_hp sgd = {hp.eta1, 0, 0, 0, 0};
    for (int i = 0; i < d; i++) r->w[i] = r->u[i] = o->e0 ? o->e0[i] : 1;
    for (int t = 0; t <= o->steps; t++) {
        double e = 0;
        for (int i = 0; i < d; i++) e += r->w[i] * r->w[i];
        mean[t] += e / o->runs;
        double delta = e - mu[t];
        mu[t] += delta / (run + 1);
        m2[t] += delta * (e - mu[t]);
        if (t == o->steps) break;
        if (!isfinite(e)) { /* diverged: the mean is infinite from here on */
            for (int k = t + 1; k <= o->steps; k++) mean[k] = INFINITY;
            break;
        }
        gradient(s, o, stream, t, method == LM_THEORY_SGD ? r->w : r->u, r);
        if (method == LM_THEORY_SGD) lm_sgd_step_f64((size_t)d, r->w, r->g, NULL, &sgd, t + 1);
        else lm_mass_step_f64((size_t)d, r->w, r->u, r->g, &mass);
    }
}

static lm_status check_sim(const lm_moments *mo, lm_theory_method method, lm_theory_hp hp,
                           const lm_simulate_opts *o)
{
    lm_status st = lm_moments_check(mo);
    if (st) return st;
    if ((unsigned)method > LM_THEORY_MASS) return lm_fail(LM_EINVAL, "simulate: method %d is unknown", method);
    if (o->m < 1) return lm_fail(LM_EINVAL, "simulate: batch size %d < 1", o->m);
    if (o->runs < 2) return lm_fail(LM_EINVAL, "simulate: %d runs (at least 2 for a standard error)", o->runs);
    if (o->steps < 0) return lm_fail(LM_EINVAL, "simulate: %d steps", o->steps);
    if (!isfinite(hp.eta1) || !isfinite(hp.eta2) || !isfinite(hp.gamma))
        return lm_fail(LM_EINVAL, "simulate %s: hyper-parameters (%g, %g, %g) are not finite",
                       lm_theory_method_name(method), hp.eta1, hp.eta2, hp.gamma);
    return LM_OK;
}

lm_status lm_theory_simulate(const lm_moments *mo, lm_theory_method method, lm_theory_hp hp,
                             const lm_simulate_opts *o, double *mean, double *se)
{
    lm_status st = check_sim(mo, method, hp, o);
    if (st) return st;
    int d = mo->d, T = o->steps + 1;
    sampler s;
    st = sampler_init(&s, mo);
    double *buf = calloc(4 * (size_t)d + 2 * (size_t)T, sizeof *buf);
    if (!st && !buf) st = lm_fail(LM_ENOMEM, "simulate: no memory (%d steps)", o->steps);
    if (!st) {
        run_state r = {buf, buf + d, buf + 2 * d, buf + 3 * d};
        double *mu = buf + 4 * d, *m2 = mu + T;
        for (int t = 0; t < T; t++) mean[t] = 0;
        for (int run = 0; run < o->runs; run++) one_run(&s, method, hp, o, run, &r, mean, mu, m2);
        for (int t = 0; se && t < T; t++)
            se[t] = isfinite(mean[t]) ? sqrt(m2[t] / (o->runs - 1) / o->runs) : INFINITY;
    }
    free(buf);
    sampler_free(&s);
    return st;
}
