/* Per-sample backward sensitivities of an all-dense network, for the tangent-kernel Gram
 * identity (docs/theory.md §4.3 and §6). After a batched forward, one batched backward from
 * gz (n x K, one row per sample, never summed) visits every dense layer from the last to the
 * first and hands the callback its input activations A (n x in) and its output sensitivities
 * delta = d(phi_i)/dy (n x out). No parameter gradient is formed: the dense step only
 * back-propagates gx = s * delta * W. Compiled for float and double; the probes use _f64.
 *
 * Applies to a top-level sequence of dense, flatten, element-wise activation and dropout
 * layers; returns 0 (and does nothing) for any other model. */
#include "nn/generic.h"

typedef void (*R(lm_dense_sens_fn))(void *ctx, const lm_layer *L, int n, const real *a,
                                    const real *delta);

int R(lm_exec_dense_sensitivities)(R(lm_exec) *e, const real *gz, R(lm_dense_sens_fn) cb,
                                   void *ctx);

static int sensitivity_layer_ok(const lm_layer *L)
{
    return L->kind == L_DENSE || L->kind == L_FLATTEN || L->kind == L_ACT || L->kind == L_DROPOUT;
}

int R(lm_exec_dense_sensitivities)(R(lm_exec) *e, const real *gz, R(lm_dense_sens_fn) cb,
                                   void *ctx)
{
    const lm_seq *s = &e->m->top;
    for (int i = 0; i < s->n; i++)
        if (!sensitivity_layer_ok(&s->layers[i])) return 0;
    /* the same two rotating gradient buffers as lm_seq_backward */
    real *g[2] = {e->gbuf[s->id], e->gbuf[s->id] + e->widest[s->id] * (size_t)e->max_n};
    int n = e->n, cur = 0, first_dense = s->n;
    for (int i = 0; i < s->n; i++)
        if (s->layers[i].kind == L_DENSE && i < first_dense) first_dense = i;
    const real *gy = gz;
    for (int i = s->n - 1; i >= first_dense; i--) {
        const lm_layer *L = &s->layers[i];
        const real *x = i ? e->act[s->layers[i - 1].id] : e->x;
        real *gx = i > first_dense ? g[cur] : NULL;
        if (L->kind == L_DENSE) {
            int o = L->dense.units, in = (int)lm_shape_numel(L->in);
            cb(ctx, L, n, x, gy);
            if (gx) R(lm_gemm_nn)(n, in, o, (real)L->scale, gy, e->w + L->poff, 0, gx);
        } else if (gx) {
            R(lm_call) c = {.e = e, .L = L, .n = n, .mode = e->mode, .w = e->w + L->poff,
                            .buf = e->buf ? e->buf + L->boff : NULL, .scr = e->scr[L->id]};
            R(lm_ports) p = {0};
            p.x = x;
            p.y = e->act[L->id];
            p.gy = gy;
            p.gx = gx;
            R(lm_ops_of)(L)->backward(&c, &p);
        }
        gy = gx;
        cur ^= 1;
    }
    return 1;
}
