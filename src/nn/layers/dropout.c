/* Dropout: y = m * x with m = 1/(1-p) on kept units and 0 on dropped ones, as torch.nn.Dropout.
 * The mask is a pure function of (seed, step, layer, element index in the global batch), so it
 * is the same for every thread count and rank count, and is fixed during a Hessian-vector
 * product (the layer is then linear). */
#include <stdint.h>
#include <string.h>

#include "linmass/rng.h"
#include "nn/generic.h"

#ifdef LM_F32
static const char *dropout_parse(lm_layer *L, int word, const char *arg)
{
    (void)word;
    L->dropout.p = 0.5;
    if (arg && (!lm_spec_number(&arg, &L->dropout.p) || *arg)) return "";
    if (!(L->dropout.p >= 0 && L->dropout.p < 1)) return "the dropout probability must be in [0, 1)";
    return NULL;
}

static lm_status dropout_infer(lm_layer *L, lm_param_kind param)
{
    (void)param;
    L->out = L->in;
    return LM_OK;
}
#endif

static size_t dropout_scratch(const lm_layer *L, int n, int tangent)
{
    (void)tangent;
    return (size_t)n * lm_shape_numel(L->in);
}

static int active(const R(lm_call) *c) { return c->mode != LM_MODE_EVAL && c->L->dropout.p > 0; }

static void dropout_forward(const R(lm_call) *c, R(lm_ports) *p)
{
    size_t count = (size_t)c->n * lm_shape_numel(c->L->in);
    if (!active(c)) {
        memcpy(p->y, p->x, count * sizeof *p->y);
        if (p->dy) memcpy(p->dy, p->dx, count * sizeof *p->dy);
        return;
    }
    real keep = (real)(1.0 / (1.0 - c->L->dropout.p));
    uint32_t threshold = (uint32_t)(c->L->dropout.p * 4294967296.0);
    uint64_t stream = LM_STREAM_DROPOUT + (uint64_t)c->L->id;
    real *mask = c->scr;
    /* element k is element g0 + k of the global batch (lm_exec_set_rng_offset), so ranks that
     * split a batch draw the masks of one process */
    uint64_t g0 = c->e->sample_offset * lm_shape_numel(c->L->in);
    enum { CHUNK = 256 };
    for (size_t k = 0; k < count; k += CHUNK) {
        /* the draws of elements k .. k+m-1 (one Philox block gives four), then the masks in a
         * vectorised loop: a scalar select would be a branch, mispredicted half the time */
        uint32_t r[CHUNK + 4];
        size_t m = count - k < CHUNK ? count - k : CHUNK, off = (g0 + k) % 4;
        lm_philox_fill(c->e->seed, stream, (c->e->step << 32) + (g0 + k) / 4, (off + m + 3) / 4, r);
#pragma omp simd
        for (size_t j = 0; j < m; j++) mask[k + j] = r[off + j] >= threshold ? keep : 0;
    }
    real *y = p->y;
    const real *x = p->x;
#pragma omp simd
    for (size_t k = 0; k < count; k++) y[k] = mask[k] * x[k];
    if (p->dy)
        for (size_t k = 0; k < count; k++) p->dy[k] = mask[k] * p->dx[k];
}

static void dropout_backward(const R(lm_call) *c, R(lm_ports) *p)
{
    if (!p->gx) return;
    size_t count = (size_t)c->n * lm_shape_numel(c->L->in);
    if (!active(c)) {
        memcpy(p->gx, p->gy, count * sizeof *p->gx);
        if (p->dgx) memcpy(p->dgx, p->dgy, count * sizeof *p->dgx);
        return;
    }
    const real *mask = c->scr, *gy = p->gy;
    real *gx = p->gx;
#pragma omp simd
    for (size_t k = 0; k < count; k++) gx[k] = mask[k] * gy[k];
    if (p->dgx)
        for (size_t k = 0; k < count; k++) p->dgx[k] = mask[k] * p->dgy[k];
}

const R(lm_layer_ops) R(lm_dropout_ops) = {dropout_scratch, dropout_forward, dropout_backward, NULL, NULL};

#ifdef LM_F32
extern const struct lm_layer_ops_f64 lm_dropout_ops_f64;
const lm_layer_def lm_dropout_def = {
    .name = "dropout",
    .syntax = "dropout:P",
    .help = "dropout with probability P (plain dropout: 0.5)",
    .parse = dropout_parse,
    .infer = dropout_infer,
    .ops_f32 = &lm_dropout_ops_f32,
    .ops_f64 = &lm_dropout_ops_f64,
};
#endif
