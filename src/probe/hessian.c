/* Hessian probes: exact Hessian-vector products by forward-over-reverse (the engine's tangent
 * executor), the spectral norm of the model Hessian per input and for the averaged model, the
 * loss Hessian's top eigenvalues and its Hutchinson trace.
 *
 * Over several processes (an injected collective): process r takes the contiguous share
 * [n r / R, n (r+1) / R) of the inputs; a product is the ordered sum of the shares' products, so
 * every process holds the same bits and runs the same eigen-iteration. The per-input norms are
 * whole eigen-runs on single inputs: the inputs are split and the norms gathered, bit-identical
 * to one process. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "linmass/rng.h"
#include "probe/probe_internal.h"

struct lm_hvp {
    lm_pnet net;
    lm_exec_f64 *e;
    int cap; /* executor batch */
    lm_hvp_target target;
    lm_loss_kind loss;
    const double *x, *coef, *targets;
    int n;
    const lm_collective *coll; /* the processes' shares are summed (NULL: one process) */
    int split;      /* the current inputs are split: a collective and not a per-input run */
    int lo, hi;     /* this process's share of the inputs */
    lm_status st;   /* the first failed collective sum (lm_hvp_apply cannot return it) */
    double *gz, *gzdot, *grad, *tmp;
};

/* ---- Hessian-vector products ---- */

lm_status lm_hvp_create(const lm_model *m, const double *x, int n, const lm_hvp_opts *o,
                        lm_hvp **out)
{
    static const lm_hvp_opts defaults = {0};
    if (!o) o = &defaults;
    *out = NULL;
    if (n < 1) return lm_fail(LM_EINVAL, "hessian-vector product: %d inputs", n);
    if (o->target == LM_HVP_LOSS && !o->targets)
        return lm_fail(LM_EINVAL, "hessian-vector product: the loss needs targets");
    lm_hvp *h = calloc(1, sizeof *h);
    lm_status st = h ? lm_pnet_init(&h->net, m, &o->net) : lm_fail(LM_ENOMEM, "hessian-vector product: out of memory");
    st = lm_coll_agree(o->coll, st); /* every process goes on, or none */
    if (st) {
        if (h) lm_pnet_free(&h->net);
        free(h);
        return st;
    }
    h->cap = n < h->net.max_batch ? n : h->net.max_batch;
    h->target = o->target;
    h->loss = o->loss;
    h->coll = lm_coll_active(o->coll);
    lm_hvp_set_inputs(h, x, n, o->coef, o->targets);
    st = lm_exec_create_f64(m, h->cap, LM_EXEC_TANGENT, &h->e);
    size_t nz = (size_t)h->cap * h->net.K;
    h->gz = malloc(nz * sizeof *h->gz);
    h->gzdot = calloc(nz, sizeof *h->gzdot);
    h->grad = malloc(h->net.np * sizeof *h->grad);
    h->tmp = malloc(h->net.np * sizeof *h->tmp);
    if (!st && (!h->gz || !h->gzdot || !h->grad || !h->tmp))
        st = lm_fail(LM_ENOMEM, "hessian-vector product: out of memory for %zu parameters", h->net.np);
    st = lm_coll_agree(h->coll, st);
    if (st) {
        lm_hvp_free(h);
        return st;
    }
    lm_exec_bind_f64(h->e, h->net.w, h->net.buf);
    *out = h;
    return LM_OK;
}

void lm_hvp_free(lm_hvp *h)
{
    if (!h) return;
    lm_exec_free_f64(h->e);
    lm_pnet_free(&h->net);
    free(h->gz), free(h->gzdot), free(h->grad), free(h->tmp);
    free(h);
}

size_t lm_hvp_dim(const lm_hvp *h) { return h->net.np; }
double *lm_hvp_params(lm_hvp *h) { return h->net.w; }
lm_status lm_hvp_status(const lm_hvp *h) { return h->st; }

static void set_inputs(lm_hvp *h, const double *x, int n, const double *coef, const double *targets, int split)
{
    h->x = x;
    h->n = n;
    h->coef = coef;
    h->targets = targets;
    h->split = split;
    h->lo = 0, h->hi = n;
    if (split) lm_coll_share(h->coll, n, &h->lo, &h->hi);
}

void lm_hvp_set_inputs(lm_hvp *h, const double *x, int n, const double *coef,
                       const double *targets)
{
    set_inputs(h, x, n, coef, targets, h->coll != NULL);
}

/* Sum a product over the processes when the inputs are split; remembers the first failure. */
static void reduce(lm_hvp *h, double *buf, size_t len)
{
    if (!h->split) return;
    lm_status st = lm_coll_sum(h->coll, buf, len);
    if (st && !h->st) h->st = st;
}

/* gz (and gzdot) of phi for the chunk [i0, i0 + nc); returns the chunk's phi and its weight in
 * the total (losses are means over the chunk). */
static double chunk_seed(lm_hvp *h, int i0, int nc, const double *z, const double *zdot,
                         double *weight)
{
    int K = h->net.K;
    if (h->target == LM_HVP_LOSS) {
        const double *t = h->targets + (size_t)i0 * (h->loss == LM_LOSS_MSE ? K : 1);
        *weight = (double)nc / h->n;
        return lm_loss_f64(h->loss, z, t, nc, K, h->gz, zdot, zdot ? h->gzdot : NULL);
    }
    int k0, k1;
    lm_pnet_outputs(&h->net, &k0, &k1);
    double phi = 0;
    memset(h->gz, 0, (size_t)nc * K * sizeof *h->gz);
    for (int i = 0; i < nc; i++) {
        double c = h->coef ? h->coef[i0 + i] : 1.0 / h->n;
        for (int k = k0; k < k1; k++) {
            h->gz[(size_t)i * K + k] = c;
            phi += c * z[(size_t)i * K + k];
        }
    }
    *weight = 1;
    return phi;
}

void lm_hvp_apply(void *ctx, const double *v, double *hv)
{
    lm_hvp *h = ctx;
    size_t np = h->net.np;
    if (h->lo == h->hi) memset(hv, 0, np * sizeof *hv); /* more processes than inputs */
    for (int i0 = h->lo; i0 < h->hi; i0 += h->cap) {
        int nc = h->hi - i0 < h->cap ? h->hi - i0 : h->cap;
        const double *z = lm_forward_f64(h->e, h->x + (size_t)i0 * h->net.nin, nc, h->net.mode, v);
        double weight;
        chunk_seed(h, i0, nc, z, lm_output_dot_f64(h->e), &weight);
        /* the model's gzdot is zero: phi is linear in the output */
        double *dst = i0 == h->lo ? hv : h->tmp;
        lm_backward_f64(h->e, h->gz, h->grad, NULL, h->gzdot, dst);
        if (i0 == h->lo) {
            if (weight != 1)
                for (size_t j = 0; j < np; j++) hv[j] *= weight;
        } else {
            for (size_t j = 0; j < np; j++) hv[j] += weight * h->tmp[j];
        }
    }
    reduce(h, hv, np);
}

double lm_hvp_value(lm_hvp *h, double *grad)
{
    double phi = 0;
    size_t np = h->net.np;
    if (grad && h->lo == h->hi) memset(grad, 0, np * sizeof *grad);
    for (int i0 = h->lo; i0 < h->hi; i0 += h->cap) {
        int nc = h->hi - i0 < h->cap ? h->hi - i0 : h->cap;
        const double *z = lm_forward_f64(h->e, h->x + (size_t)i0 * h->net.nin, nc, h->net.mode, NULL);
        double weight;
        phi += chunk_seed(h, i0, nc, z, NULL, &weight) * (h->target == LM_HVP_LOSS ? weight : 1);
        if (!grad) continue;
        double *dst = i0 == h->lo ? grad : h->tmp;
        lm_backward_f64(h->e, h->gz, dst, NULL, NULL, NULL);
        if (i0 == h->lo) {
            if (weight != 1)
                for (size_t j = 0; j < np; j++) grad[j] *= weight;
        } else {
            for (size_t j = 0; j < np; j++) grad[j] += weight * h->tmp[j];
        }
    }
    reduce(h, &phi, 1);
    if (grad) reduce(h, grad, np);
    return phi;
}

lm_status lm_hvp_dense(lm_hvp *h, double *H)
{
    size_t p = h->net.np;
    if (p > 20000) return lm_fail(LM_EINVAL, "dense Hessian: %zu parameters is too many (at most 20000)", p);
    double *e = calloc(p, sizeof *e);
    if (!e) return lm_fail(LM_ENOMEM, "dense Hessian: out of memory");
    for (size_t j = 0; j < p; j++) {
        e[j] = 1;
        lm_hvp_apply(h, e, H + j * p); /* row j = column j: H is symmetric */
        e[j] = 0;
    }
    free(e);
    /* symmetrise away the rounding differences between H e_i . e_j and H e_j . e_i */
    for (size_t i = 0; i < p; i++)
        for (size_t j = i + 1; j < p; j++) H[i * p + j] = H[j * p + i] = 0.5 * (H[i * p + j] + H[j * p + i]);
    return LM_OK;
}

/* ---- the model Hessian ---- */

/* The per-input norms: process r runs the inputs of its share alone and the (norm, steps,
 * converged) rows are gathered, so every process reduces the same n rows in input order. */
static lm_status per_input_norms(lm_hvp *h, const double *x, int n, const lm_hessian_opts *o, lm_hessian_result *r)
{
    const lm_collective *c = h->coll;
    double *rows = malloc((size_t)n * 3 * sizeof *rows);
    size_t *lo = malloc((size_t)(lm_coll_size(c) + 1) * sizeof *lo);
    lm_status st = rows && lo ? LM_OK : lm_fail(LM_ENOMEM, "out of memory for %d per-input norms", n);
    st = lm_coll_agree(c, st);
    int i0, i1;
    lm_coll_share(c, n, &i0, &i1);
    for (int i = i0; !st && i < i1; i++) {
        lm_eig_result e;
        set_inputs(h, x + (size_t)i * h->net.nin, 1, NULL, NULL, 0);
        st = lm_sym_extreme_eig(h->net.np, lm_hvp_apply, h, &o->eig, &e);
        if (!st) rows[3 * i] = e.norm, rows[3 * i + 1] = e.steps, rows[3 * i + 2] = e.converged;
    }
    if (c) {
        st = lm_coll_agree(c, st);
        lm_coll_bounds(c, n, lo);
        if (!st) st = lm_coll_gather_rows(c, rows, 3, lo);
    }
    for (int i = 0; !st && i < n; i++) {
        double norm = rows[3 * i];
        if (r->per_input) r->per_input[i] = norm;
        if (norm > r->max_norm || i == 0) r->max_norm = norm, r->argmax = i;
        r->mean_norm += norm / n;
        r->steps += (int)rows[3 * i + 1];
        r->unconverged += !rows[3 * i + 2];
    }
    free(rows), free(lo);
    return st;
}

lm_status lm_probe_model_hessian(const lm_model *m, const double *x, int n,
                                 const lm_hessian_opts *o, lm_hessian_result *r)
{
    static const lm_hessian_opts defaults = {0};
    if (!o) o = &defaults;
    double *per_input = r->per_input;
    memset(r, 0, sizeof *r);
    r->per_input = per_input;
    if (o->skip_average && o->skip_per_input) return lm_fail(LM_EINVAL, "model Hessian: nothing to compute");
    lm_hvp_opts ho = {0};
    ho.net = o->net;
    ho.target = LM_HVP_MODEL;
    ho.coll = o->coll;
    lm_hvp *h;
    lm_status st = lm_hvp_create(m, x, n, &ho, &h);
    if (st) return lm_fail_context(st, "model Hessian");
    if (!o->skip_average) {
        st = lm_sym_extreme_eig(h->net.np, lm_hvp_apply, h, &o->eig, &r->avg);
        if (!st) st = h->st;
        st = lm_coll_agree(h->coll, st);
        r->avg_norm = r->avg.norm;
        r->steps += r->avg.steps;
        r->unconverged += !r->avg.converged;
    }
    if (!st && !o->skip_per_input) st = per_input_norms(h, x, n, o, r);
    lm_hvp_free(h);
    return st ? lm_fail_context(st, "model Hessian") : LM_OK;
}

/* ---- the rank-one term of a tanh output ---- */

lm_status lm_probe_tanh_output_term(const lm_model *m, const double *x, int n, const lm_probe_net *net,
                                    lm_tanh_output_term *r)
{
    memset(r, 0, sizeof *r);
    if (n < 1) return lm_fail(LM_EINVAL, "tanh output term: %d inputs", n);
    lm_hvp_opts ho = {0};
    if (net) ho.net = *net;
    ho.target = LM_HVP_MODEL;
    lm_hvp *h;
    lm_status st = lm_hvp_create(m, x, 1, &ho, &h);
    if (st) return lm_fail_context(st, "tanh output term");
    size_t np = h->net.np;
    double *g = malloc(np * sizeof *g), ss = 0, tt = 0;
    for (int i = 0; g && i < n; i++) {
        lm_hvp_set_inputs(h, x + (size_t)i * h->net.nin, 1, NULL, NULL);
        double f = lm_hvp_value(h, g), k = 0, th = tanh(f);
        for (size_t j = 0; j < np; j++) k += g[j] * g[j];
        ss += f * f / n;
        tt += fabs(2 * th * (1 - th * th)) * k / n; /* |tanh''(f)| K(x, x) */
    }
    if (g) r->rms = sqrt(ss), r->term = tt;
    else st = lm_fail(LM_ENOMEM, "tanh output term: out of memory for %zu parameters", np);
    free(g);
    lm_hvp_free(h);
    return st;
}

/* ---- the loss Hessian ---- */

lm_status lm_probe_loss_hessian(const lm_model *m, const double *x, int n,
                                const lm_loss_hessian_opts *o, lm_loss_hessian_result *r)
{
    memset(r, 0, sizeof *r);
    if (!o || !o->targets) return lm_fail(LM_EINVAL, "loss Hessian: targets are required");
    lm_hvp_opts ho = {0};
    ho.net = o->net;
    ho.target = LM_HVP_LOSS;
    ho.loss = o->loss;
    ho.targets = o->targets;
    ho.coll = o->coll;
    lm_hvp *h;
    lm_status st = lm_hvp_create(m, x, n, &ho, &h);
    if (st) return lm_fail_context(st, "loss Hessian");
    r->loss = lm_hvp_value(h, NULL);
    lm_eig_opts eo = o->eig;
    if (eo.top_k < 1) eo.top_k = 1;
    st = lm_sym_extreme_eig(h->net.np, lm_hvp_apply, h, &eo, &r->eig);
    int samples = o->hutchinson == 0 ? 100 : o->hutchinson;
    size_t p = h->net.np;
    double *v = samples > 0 ? malloc(p * sizeof *v) : NULL, *hv = samples > 0 ? malloc(p * sizeof *hv) : NULL;
    if (!st && samples > 0 && (!v || !hv)) st = lm_fail(LM_ENOMEM, "loss Hessian: out of memory");
    if (!st) st = h->st;
    st = lm_coll_agree(h->coll, st);
    double sum = 0, sum2 = 0;
    for (int s = 0; !st && s < samples; s++) {
        /* Rademacher signs: one bit per parameter from Philox blocks of 128 bits */
        uint64_t blocks = (p + 127) / 128;
        for (size_t i = 0; i < p; i += 128) {
            uint32_t bits[4];
            lm_philox(eo.seed, LM_STREAM_PROBE + 2, (uint64_t)s * blocks + i / 128, bits);
            for (size_t j = 0; j < 128 && i + j < p; j++) v[i + j] = (bits[j / 32] >> (j % 32)) & 1 ? 1.0 : -1.0;
        }
        lm_hvp_apply(h, v, hv);
        double q = 0;
        for (size_t i = 0; i < p; i++) q += v[i] * hv[i];
        sum += q;
        sum2 += q * q;
    }
    if (!st) st = h->st;
    if (!st && samples > 0) {
        r->samples = samples;
        r->trace = sum / samples;
        double var = samples > 1 ? (sum2 - samples * r->trace * r->trace) / (samples - 1) : 0;
        r->trace_se = sqrt(fmax(var, 0) / samples);
    }
    free(v), free(hv);
    lm_hvp_free(h);
    return st ? lm_fail_context(st, "loss Hessian") : LM_OK;
}
