/* Tangent kernels too large to store (docs/theory.md §7.9): K v = J (J^T v) from one batched
 * backward pass (J^T v, a VJP) and one batched tangent forward pass (J u, a JVP) over the inputs,
 * in chunks, so the memory does not grow with n beyond the vectors themselves; Lanczos on it for
 * lambda_max and lambda_min, and the trace sum_i ||grad f(x_i)||^2 without K. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "probe/probe_internal.h"

struct lm_ntk_op {
    lm_pnet net;
    lm_exec_f64 *plain, *tangent; /* the VJP's forward and backward; the JVP's tangent forward */
    const double *x;
    int n, cap, block;
    const lm_collective *coll;
    int lo, hi;      /* this process's inputs */
    size_t *bounds;  /* every process's: bounds[r] .. bounds[r + 1] */
    lm_status st;    /* the first failed collective call */
    double *u, *g, *gz;
    size_t bytes;
};

/* What an executor of `batch` samples holds, roughly: the layers' outputs (and tangents), the
 * four gradient buffers of the widest layer, and for a tangent executor a zero tangent of the
 * parameters and the input. */
static size_t exec_bytes(const lm_model *m, int batch, int tangent)
{
    size_t outs = 0, widest = lm_shape_numel(m->in);
    for (int i = 0; i < m->top.n; i++) {
        size_t o = lm_shape_numel(m->top.layers[i].out);
        outs += o;
        if (o > widest) widest = o;
    }
    size_t vals = (size_t)batch * (outs * (tangent ? 2 : 1) + 4 * widest);
    if (tangent) vals += m->np + (size_t)batch * lm_shape_numel(m->in);
    return vals * sizeof(double);
}

void lm_ntk_op_free(lm_ntk_op *k)
{
    if (!k) return;
    lm_exec_free_f64(k->plain);
    lm_exec_free_f64(k->tangent);
    lm_pnet_free(&k->net);
    free(k->bounds), free(k->u), free(k->g), free(k->gz);
    free(k);
}

size_t lm_ntk_op_dim(const lm_ntk_op *k) { return (size_t)k->n * (k->block ? k->net.K : 1); }
size_t lm_ntk_op_bytes(const lm_ntk_op *k) { return k->bytes; }
lm_status lm_ntk_op_status(const lm_ntk_op *k) { return k->st; }

lm_status lm_ntk_op_create(const lm_model *m, const double *x, int n, const lm_ntk_opts *o, lm_ntk_op **out)
{
    static const lm_ntk_opts defaults = {0};
    if (!o) o = &defaults;
    *out = NULL;
    if (n < 1) return lm_fail(LM_EINVAL, "kernel operator: %d inputs", n);
    lm_ntk_op *k = calloc(1, sizeof *k);
    lm_status st = k ? lm_pnet_init(&k->net, m, &o->net) : lm_fail(LM_ENOMEM, "kernel operator: out of memory");
    if (!st) st = lm_ntk_check_mode(&k->net);
    if (!st) {
        k->x = x, k->n = n, k->block = o->block != 0;
        k->cap = n < k->net.max_batch ? n : k->net.max_batch;
        k->coll = lm_coll_active(o->coll);
        lm_coll_share(k->coll, n, &k->lo, &k->hi);
        st = lm_exec_create_f64(m, k->cap, 0, &k->plain);
        if (!st) st = lm_exec_create_f64(m, k->cap, LM_EXEC_TANGENT, &k->tangent);
    }
    if (!st) {
        size_t np = k->net.np, nz = (size_t)k->cap * k->net.K;
        k->bounds = malloc((size_t)(lm_coll_size(k->coll) + 1) * sizeof *k->bounds);
        k->u = malloc(np * sizeof *k->u), k->g = malloc(np * sizeof *k->g), k->gz = malloc(nz * sizeof *k->gz);
        if (!k->bounds || !k->u || !k->g || !k->gz) st = lm_fail(LM_ENOMEM, "kernel operator: out of memory for %zu parameters", np);
        else lm_coll_bounds(k->coll, n, k->bounds);
        k->bytes = exec_bytes(m, k->cap, 0) + exec_bytes(m, k->cap, 1) + (2 * np + nz) * sizeof(double);
    }
    st = lm_coll_agree(o->coll, st);
    if (st) {
        lm_ntk_op_free(k);
        return lm_fail_context(st, "kernel operator");
    }
    lm_exec_bind_f64(k->plain, k->net.w, k->net.buf);
    lm_exec_bind_f64(k->tangent, k->net.w, k->net.buf);
    *out = k;
    return LM_OK;
}

/* u = J^T v over this process's inputs, summed over the processes. out: the output (one kernel),
 * or -1 for the block kernel (v has K values per input). */
static void vjp(lm_ntk_op *k, const double *v, int out)
{
    size_t np = k->net.np;
    int K = k->net.K;
    memset(k->u, 0, np * sizeof *k->u);
    for (int i0 = k->lo; i0 < k->hi; i0 += k->cap) {
        int nc = k->hi - i0 < k->cap ? k->hi - i0 : k->cap;
        lm_forward_f64(k->plain, k->x + (size_t)i0 * k->net.nin, nc, k->net.mode, NULL);
        if (out < 0) {
            memcpy(k->gz, v + (size_t)i0 * K, (size_t)nc * K * sizeof *k->gz);
        } else {
            memset(k->gz, 0, (size_t)nc * K * sizeof *k->gz);
            for (int i = 0; i < nc; i++) k->gz[(size_t)i * K + out] = v[i0 + i];
        }
        lm_backward_f64(k->plain, k->gz, k->g, NULL, NULL, NULL);
        for (size_t j = 0; j < np; j++) k->u[j] += k->g[j];
    }
    lm_status st = lm_coll_sum(k->coll, k->u, np);
    if (st && !k->st) k->st = st;
}

/* kv (+)= J u on this process's inputs. */
static void jvp(lm_ntk_op *k, int out, double *kv)
{
    int K = k->net.K;
    for (int i0 = k->lo; i0 < k->hi; i0 += k->cap) {
        int nc = k->hi - i0 < k->cap ? k->hi - i0 : k->cap;
        lm_forward_f64(k->tangent, k->x + (size_t)i0 * k->net.nin, nc, k->net.mode, k->u);
        const double *zdot = lm_output_dot_f64(k->tangent);
        if (out < 0) memcpy(kv + (size_t)i0 * K, zdot, (size_t)nc * K * sizeof *kv);
        else
            for (int i = 0; i < nc; i++) kv[i0 + i] += zdot[(size_t)i * K + out];
    }
}

void lm_ntk_op_apply(void *ctx, const double *v, double *kv)
{
    lm_ntk_op *k = ctx;
    int K = k->net.K, k0, k1;
    lm_pnet_outputs(&k->net, &k0, &k1);
    if (k->block) {
        vjp(k, v, -1);
        jvp(k, -1, kv);
    } else {
        memset(kv, 0, (size_t)k->n * sizeof *kv);
        for (int out = k0; out < k1; out++) {
            vjp(k, v, out);
            jvp(k, out, kv);
        }
    }
    lm_status st = lm_coll_gather_rows(k->coll, kv, k->block ? (size_t)K : 1, k->bounds);
    if (st && !k->st) k->st = st;
}

/* ---- the trace ---- */

/* trace += sum_i (s^2 ||a_i||^2 + [bias]) ||d_i||^2: the diagonal of the Gram identity. */
static void trace_layer(void *ctx, const lm_layer *L, int n, const double *A, const double *D)
{
    double *trace = ctx;
    int a = (int)lm_shape_numel(L->in), b = L->dense.units;
    double s2 = L->scale * L->scale, bias = L->dense.bias ? 1.0 : 0.0;
    for (int i = 0; i < n; i++) {
        double aa = 0, dd = 0;
        for (int j = 0; j < a; j++) aa += A[(size_t)i * a + j] * A[(size_t)i * a + j];
        for (int j = 0; j < b; j++) dd += D[(size_t)i * b + j] * D[(size_t)i * b + j];
        *trace += (s2 * aa + bias) * dd;
    }
}

/* Dense networks: one batched backward per output and chunk, with output gradient 1 at that
 * output of every sample. */
static lm_status trace_gram(const lm_pnet *net, const double *x, int lo, int hi, int k0, int k1, double *trace)
{
    int cap = hi - lo < net->max_batch ? hi - lo : net->max_batch, K = net->K;
    if (cap < 1) return LM_OK;
    lm_exec_f64 *e;
    lm_status st = lm_exec_create_f64(net->m, cap, 0, &e);
    double *gz = calloc((size_t)cap * K, sizeof *gz);
    if (!st && !gz) st = lm_fail(LM_ENOMEM, "kernel trace: out of memory");
    if (!st) lm_exec_bind_f64(e, net->w, net->buf);
    for (int i0 = lo; !st && i0 < hi; i0 += cap) {
        int nc = hi - i0 < cap ? hi - i0 : cap;
        lm_forward_f64(e, x + (size_t)i0 * net->nin, nc, net->mode, NULL);
        for (int k = k0; k < k1; k++) {
            for (int i = 0; i < nc; i++) {
                if (k > k0) gz[(size_t)i * K + k - 1] = 0;
                gz[(size_t)i * K + k] = 1;
            }
            lm_exec_dense_sensitivities_f64(e, gz, trace_layer, trace);
        }
        for (int i = 0; i < nc; i++) gz[(size_t)i * K + k1 - 1] = 0;
    }
    free(gz);
    lm_exec_free_f64(e);
    return st;
}

/* Any model: one single-sample backward per input and output. */
static lm_status trace_per_sample(const lm_pnet *net, const double *x, int lo, int hi, int k0, int k1, double *trace)
{
    lm_exec_f64 *e;
    lm_status st = lm_exec_create_f64(net->m, 1, 0, &e);
    double *g = malloc(net->np * sizeof *g), *gz = calloc(net->K, sizeof *gz);
    if (!st && (!g || !gz)) st = lm_fail(LM_ENOMEM, "kernel trace: out of memory for %zu parameters", net->np);
    if (!st) lm_exec_bind_f64(e, net->w, net->buf);
    for (int i = lo; !st && i < hi; i++) {
        for (int k = k0; k < k1; k++) {
            lm_forward_f64(e, x + (size_t)i * net->nin, 1, net->mode, NULL);
            gz[k] = 1;
            lm_backward_f64(e, gz, g, NULL, NULL, NULL);
            gz[k] = 0;
            double s = 0;
            for (size_t j = 0; j < net->np; j++) s += g[j] * g[j];
            *trace += s;
        }
    }
    free(g), free(gz);
    lm_exec_free_f64(e);
    return st;
}

lm_status lm_probe_ntk_trace(const lm_model *m, const double *x, int n, const lm_ntk_opts *o, double *trace)
{
    static const lm_ntk_opts defaults = {0};
    if (!o) o = &defaults;
    *trace = 0;
    if (n < 1) return lm_fail(LM_EINVAL, "kernel trace: %d inputs", n);
    lm_pnet net;
    lm_status st = lm_pnet_init(&net, m, &o->net);
    if (!st) st = lm_ntk_check_mode(&net);
    const lm_collective *coll = lm_coll_active(o->coll);
    int lo, hi, k0, k1;
    lm_coll_share(coll, n, &lo, &hi);
    if (!st) {
        lm_pnet_outputs(&net, &k0, &k1);
        if (o->block) k0 = 0, k1 = net.K;
        int gram = o->method != LM_NTK_PER_SAMPLE && lm_ntk_gram_applies(m);
        st = gram ? trace_gram(&net, x, lo, hi, k0, k1, trace) : trace_per_sample(&net, x, lo, hi, k0, k1, trace);
    }
    st = lm_coll_agree(coll, st);
    if (!st) st = lm_coll_sum(coll, trace, 1);
    lm_pnet_free(&net);
    return st ? lm_fail_context(st, "kernel trace") : LM_OK;
}

/* ---- lambda_max and lambda_min by Lanczos ---- */

lm_status lm_probe_ntk_matfree(const lm_model *m, const double *x, int n, const lm_ntk_matfree_opts *o,
                               lm_ntk_matfree_result *r)
{
    memset(r, 0, sizeof *r);
    if (!o) return lm_fail(LM_EINVAL, "matrix-free kernel: options are required");
    size_t cap = o->ntk.mem_cap ? o->ntk.mem_cap : (size_t)1 << 30;
    lm_ntk_op *k;
    lm_status st = lm_ntk_op_create(m, x, n, &o->ntk, &k);
    if (st) return lm_fail_context(st, "matrix-free kernel");
    size_t dim = lm_ntk_op_dim(k), vec = dim * sizeof(double), opb = lm_ntk_op_bytes(k);
    lm_eig_opts eo = o->eig;
    eo.method = LM_EIG_LANCZOS;
    eo.want_min = 1;
    eo.top_k = 1;
    int steps = eo.max_steps > 0 ? eo.max_steps : 100;
    if ((size_t)steps > dim) steps = (int)dim;
    /* the tridiagonal's eigenvectors and LAPACK's work, beside the basis */
    size_t tri = ((size_t)steps * steps + 8 * (size_t)steps + 4) * sizeof(double);
    size_t full = ((size_t)steps + 2) * vec + tri, plain = 4 * vec + tri;
    if (opb + plain > cap)
        st = lm_fail(LM_ENOMEM, "matrix-free kernel: the operator and Lanczos need %zu bytes for %d inputs (the cap is %zu)",
                     opb + plain, n, cap);
    eo.reorth = opb + full <= cap ? LM_REORTH_FULL : LM_REORTH_NONE;
    eo.mem_cap = cap - opb;
    r->dim = dim;
    r->bytes = opb + (eo.reorth == LM_REORTH_FULL ? full : plain);
    if (!st) st = lm_sym_extreme_eig(dim, lm_ntk_op_apply, k, &eo, &r->eig);
    if (!st) st = lm_ntk_op_status(k);
    st = lm_coll_agree(lm_coll_active(o->ntk.coll), st);
    lm_ntk_op_free(k);
    if (!st) st = lm_probe_ntk_trace(m, x, n, &o->ntk, &r->trace);
    if (st) return lm_fail_context(st, "matrix-free kernel");
    r->lambda_max = r->eig.lambda_max;
    r->lambda_min = r->eig.lambda_min;
    r->lr_catapult = r->lambda_max > 0 ? 2 / r->lambda_max : INFINITY;
    return LM_OK;
}
