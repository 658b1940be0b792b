/* Per-sample parameter gradients from one batched backward pass (nn/sensitivity.h): each layer
 * with parameters turns its input and output gradient, sample by sample, into rows. Compiled for
 * float and double. */
#include <string.h>

#include "nn/generic.h"

/* Dense: row i = s gy_i x_i^T (out x in), then gy_i for the bias */
static void dense_sample_grads(const R(lm_sens) *s, real *G, size_t ldg)
{
    const lm_layer *L = s->L;
    size_t in = lm_shape_numel(L->in);
    int out = L->dense.units;
    real scale = (real)L->scale;
    for (int i = 0; i < s->n; i++) {
        const real *x = s->x + i * in, *gy = s->gy + (size_t)i * out;
        real *row = G + i * ldg;
        for (int o = 0; o < out; o++) {
            real g = scale * gy[o];
            real *wrow = row + (size_t)o * in;
#pragma omp simd
            for (size_t j = 0; j < in; j++) wrow[j] = g * x[j];
        }
        if (L->dense.bias) memcpy(row + (size_t)out * in, gy, (size_t)out * sizeof *row);
    }
}

lm_status R(lm_layer_sample_grads)(const R(lm_sens) *s, real *G, size_t ldg)
{
    if (s->L->kind == L_DENSE) {
        dense_sample_grads(s, G, ldg);
        return LM_OK;
    }
    if (s->L->kind == L_CONV) return R(lm_conv_sample_grads)(s, G, ldg);
    if (s->L->kind == L_BN) return R(lm_bn_sample_grads)(s, G, ldg);
    return lm_fail(LM_EINVAL, "per-sample gradients: layer %s (%s) is not supported", s->L->name, s->L->kind->name);
}

typedef struct {
    real *G;
    size_t ldg;
    lm_status st;
} rows_hook;

static void rows_of_layer(void *ctx, const R(lm_sens) *s)
{
    rows_hook *h = ctx;
    if (!h->st) h->st = R(lm_layer_sample_grads)(s, h->G + s->L->poff, h->ldg);
}

void R(lm_exec_sens_backward)(R(lm_exec) *e, const real *gz)
{
    R(lm_seq_backward)(e, &e->m->top, e->n, e->x, NULL, gz, NULL, NULL, NULL, NULL, NULL);
}

lm_status R(lm_exec_sample_grads)(R(lm_exec) *e, const real *gz, real *G, size_t ldg)
{
    rows_hook h = {G, ldg, LM_OK};
    R(lm_sens_fn) fn = e->sens;
    void *ctx = e->sens_ctx;
    R(lm_exec_set_sens_hook)(e, rows_of_layer, &h);
    R(lm_exec_sens_backward)(e, gz);
    R(lm_exec_set_sens_hook)(e, fn, ctx);
    return h.st;
}
