/* The executor's reduction hook for synchronised batch norm (lm_exec_set_channel_sum; the
 * mathematics is in nn/layers/batchnorm.c). Compiled for float and double. */
#include <string.h>

#include "nn/generic.h"

lm_status R(lm_exec_set_channel_sum)(R(lm_exec) *e, lm_channel_sum_fn fn, void *ctx)
{
    if (fn && e->tangent)
        return lm_fail(LM_EINVAL, "executor of model '%s': synchronised batch norm (a channel-sum hook) is not "
                                  "available in tangent mode; its JVP and HVP rules use each executor's share",
                       e->m->spec);
    e->channel_sum = fn;
    e->channel_sum_ctx = fn ? ctx : NULL;
    e->status = LM_OK;
    return LM_OK;
}

lm_status R(lm_exec_status)(const R(lm_exec) *e) { return e->status; }

/* An empty share: only the batch-norm layers run, with n = 0, in the order of lm_seq_forward
 * (a residual block: its main path, then its shortcut) or of lm_seq_backward (the same within
 * a block, the layers of a sequence from the last). */
static void join_seq(R(lm_exec) *e, const lm_seq *s, int backward, real *grad)
{
    for (int j = 0; j < s->n; j++) {
        const lm_layer *L = &s->layers[backward ? s->n - 1 - j : j];
        for (int b = 0; b < 2; b++)
            if (L->branch[b].n) join_seq(e, &L->branch[b], backward, grad);
        if (L->kind != L_BN) continue;
        const R(lm_layer_ops) *ops = R(lm_ops_of)(L);
        R(lm_call) c = {e, L, 0, e->mode, e->w + L->poff, e->buf ? e->buf + L->boff : NULL, NULL, e->scr[L->id],
                        e->blk[L->id] & 1, e->blk[L->id] >> 1 & 1, 0};
        R(lm_ports) p = {0};
        p.gw = grad ? grad + L->poff : NULL;
        (backward ? ops->backward : ops->forward)(&c, &p);
    }
}

void R(lm_forward_empty)(R(lm_exec) *e, lm_mode mode)
{
    e->n = 0;
    e->mode = mode;
    e->x = NULL;
    e->v = NULL;
    if (e->channel_sum && mode != LM_MODE_EVAL) join_seq(e, &e->m->top, 0, NULL);
}

void R(lm_backward_empty)(R(lm_exec) *e, real *grad)
{
    if (e->channel_sum && e->mode != LM_MODE_EVAL && e->n == 0) join_seq(e, &e->m->top, 1, grad);
    memset(grad, 0, e->m->np * sizeof *grad);
}
