/* The executor: memory planning, sequential forward and backward (with tangents), and the
 * public entry points. Compiled for float and double. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/generic.h"

/* ---- layouts (nn/layout.h) ---- */

static unsigned layout_flags(const lm_layer *L) { return L->kind->layout ? L->kind->layout(L) : 0; }

/* The layouts of sequence s into e->blk, given its input's and the one its output must have.
 * Backwards, the layout each output would like: blocked when the next layer takes it, passed on
 * through the layers that keep it; then forwards, what each layer gives: LM_LAYOUT_OUT layers
 * give what is wanted, LM_LAYOUT_KEEP layers what they get, others the plain layout. A residual
 * block's branches start from its input and end in its input's layout. A layer without
 * LM_LAYOUT_IN therefore always gets the plain layout: its predecessors were asked for it. */
static void plan_layouts(R(lm_exec) *e, const lm_seq *s, int in_blk, int out_blk)
{
    int want = out_blk;
    for (int i = s->n - 1; i >= 0; i--) {
        const lm_layer *L = &s->layers[i];
        unsigned f = layout_flags(L);
        e->blk[L->id] = (unsigned char)(want << 2);
        want = f & LM_LAYOUT_IN ? (f & LM_LAYOUT_KEEP ? want : 1) : 0;
    }
    int cur = in_blk;
    for (int i = 0; i < s->n; i++) {
        const lm_layer *L = &s->layers[i];
        unsigned f = layout_flags(L);
        int out = f & LM_LAYOUT_KEEP ? cur : f & LM_LAYOUT_OUT ? e->blk[L->id] >> 2 : 0;
        e->blk[L->id] = (unsigned char)(cur | out << 1);
        for (int b = 0; b < 2; b++)
            if (L->branch[b].n) plan_layouts(e, &L->branch[b], cur, cur);
        cur = out;
    }
}

static size_t out_numel(const R(lm_exec) *e, const lm_layer *L) { return lm_numel_in(L->out, e->blk[L->id] >> 1 & 1); }

/* ---- memory planning ----
 * Every layer of the top-level sequence has its own output. The layers of residual blocks'
 * branches (the builder never nests blocks) have their own too in tangent executors and with
 * LM_EXEC_KEEP; otherwise (e->recompute) position i of branch b of every block writes one shared
 * buffer, which each block fills again before its backward pass (nn/layers/residual.c). The
 * gradient buffers of all branches are shared in every executor: one branch's backward runs at
 * a time, and the residual blocks' held memory (lm_layer_ops.held) is one buffer as well. */

static void *xcalloc(size_t n, size_t size, int *failed)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) *failed = 1;
    return p;
}

static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }

/* Fusions (plain executors without LM_EXEC_KEEP): a convolution followed by relu stores relu(y)
 * and the relu runs in place, on the convolution's output (its backward reads the same mask:
 * relu(y) > 0 exactly where y > 0). */
static void plan_fusions(R(lm_exec) *e, const lm_seq *s)
{
    for (int i = 0; i < s->n; i++) {
        const lm_layer *L = &s->layers[i], *next = i + 1 < s->n ? &s->layers[i + 1] : NULL;
        if (L->kind == L_CONV && next && next->kind == L_ACT && next->act.fn == ACT_RELU)
            e->fuse[L->id] = 1, e->fuse[next->id] = 2;
        for (int b = 0; b < 2; b++)
            if (L->branch[b].n) plan_fusions(e, &L->branch[b]);
    }
}

/* The shared outputs of the branches' layers: e->shared[b * e->branch_len + i], each as large as
 * the largest output at that position */
static void plan_shared(R(lm_exec) *e, int *failed)
{
    const lm_seq *top = &e->m->top;
    for (int i = 0; i < top->n; i++)
        for (int b = 0; b < 2; b++)
            if (top->layers[i].branch[b].n > e->branch_len) e->branch_len = top->layers[i].branch[b].n;
    size_t *need = xcalloc(2 * (size_t)e->branch_len, sizeof *need, failed);
    e->shared = xcalloc(2 * (size_t)e->branch_len, sizeof(real *), failed);
    if (*failed) {
        free(need);
        return;
    }
    for (int i = 0; i < top->n; i++)
        for (int b = 0; b < 2; b++) {
            const lm_seq *s = &top->layers[i].branch[b];
            for (int j = 0; j < s->n; j++) {
                size_t *k = &need[b * e->branch_len + j];
                *k = max_size(*k, out_numel(e, &s->layers[j]) * (size_t)e->max_n);
            }
        }
    for (int k = 0; k < 2 * e->branch_len; k++)
        if (need[k]) e->shared[k] = xcalloc(need[k], sizeof(real), failed);
    free(need);
}

/* Allocates (or, for a branch `b` of a recomputing executor, assigns the shared) activations and
 * scratch of every layer of sequence s; returns the largest workspace any of them asks for. */
static size_t plan_seq(R(lm_exec) *e, const lm_seq *s, int b, int *failed)
{
    const R(lm_layer_ops) *ops;
    size_t widest = s->n ? lm_numel_in(s->layers[0].in, e->blk[s->layers[0].id] & 1) : 0, work = 0;
    for (int i = 0; i < s->n; i++) {
        const lm_layer *L = &s->layers[i];
        size_t out = out_numel(e, L) * (size_t)e->max_n;
        ops = R(lm_ops_of)(L);
        if (e->fuse[L->id] == 2) e->act[L->id] = e->act[s->layers[i - 1].id];
        else if (b >= 0) e->act[L->id] = e->shared[b * e->branch_len + i];
        else e->act[L->id] = xcalloc(out, sizeof(real), failed);
        if (e->tangent) e->dact[L->id] = xcalloc(out, sizeof(real), failed);
        e->scr[L->id] = xcalloc(ops->scratch(L, e->max_n, e->tangent), sizeof(real), failed);
        if (ops->workspace) work = max_size(work, ops->workspace(L, e->max_n, e->tangent));
        if (ops->held) e->held_size = max_size(e->held_size, ops->held(L, e->max_n));
        widest = max_size(widest, out_numel(e, L));
        for (int k = 0; k < 2; k++)
            if (L->branch[k].n) {
                work = max_size(work, plan_seq(e, &L->branch[k], e->recompute ? k : -1, failed));
                e->branch_widest = max_size(e->branch_widest, e->widest[L->branch[k].id]);
            }
    }
    e->widest[s->id] = widest;
    return work;
}

/* The gradient buffers: the top-level sequence's own, one set for all branches */
static void plan_gbufs(R(lm_exec) *e, int *failed)
{
    const lm_seq *top = &e->m->top;
    e->gbuf[top->id] = xcalloc(4 * e->widest[top->id] * (size_t)e->max_n, sizeof(real), failed);
    if (e->branch_widest) e->branch_gbuf = xcalloc(4 * e->branch_widest * (size_t)e->max_n, sizeof(real), failed);
    for (int i = 0; i < top->n; i++)
        for (int b = 0; b < 2; b++) {
            const lm_seq *s = &top->layers[i].branch[b];
            if (!s->n) continue;
            e->gbuf[s->id] = e->branch_gbuf;
            e->widest[s->id] = e->branch_widest;
        }
}

/* lm_exec_layer_output's buffer, when a top-level output is blocked */
static size_t view_size(const R(lm_exec) *e)
{
    size_t most = 0;
    for (int i = 0; i < e->m->top.n; i++) {
        const lm_layer *L = &e->m->top.layers[i];
        if (e->blk[L->id] >> 1 & 1 && lm_shape_numel(L->out) > most) most = lm_shape_numel(L->out);
    }
    return most * (size_t)e->max_n;
}

static void free_seq(R(lm_exec) *e, const lm_seq *s, int shared)
{
    for (int i = 0; i < s->n; i++) {
        const lm_layer *L = &s->layers[i];
        if (!shared && e->fuse[L->id] != 2) free(e->act[L->id]);
        if (e->dact) free(e->dact[L->id]);
        free(e->scr[L->id]);
        for (int b = 0; b < 2; b++)
            if (L->branch[b].n) free_seq(e, &L->branch[b], e->recompute);
    }
}

lm_status R(lm_exec_create)(const lm_model *m, int max_batch, unsigned flags, R(lm_exec) **out)
{
    *out = NULL;
    if (max_batch < 1) return lm_fail(LM_EINVAL, "executor: batch size %d must be at least 1", max_batch);
    R(lm_exec) *e = calloc(1, sizeof *e);
    if (!e) return lm_fail(LM_ENOMEM, "executor: out of memory");
    int failed = 0;
    e->m = m;
    e->max_n = max_batch;
    e->tangent = (flags & LM_EXEC_TANGENT) != 0;
    e->act = xcalloc(m->num_layers_total, sizeof(real *), &failed);
    e->dact = e->tangent ? xcalloc(m->num_layers_total, sizeof(real *), &failed) : NULL;
    e->scr = xcalloc(m->num_layers_total, sizeof(real *), &failed);
    e->gbuf = xcalloc(m->num_seqs, sizeof(real *), &failed);
    e->widest = xcalloc(m->num_seqs, sizeof(size_t), &failed);
    e->blk = xcalloc(m->num_layers_total, 1, &failed);
    e->fuse = xcalloc(m->num_layers_total, 1, &failed);
    e->recompute = !e->tangent && !(flags & LM_EXEC_KEEP);
    if (!failed) {
        plan_layouts(e, &m->top, 0, 0);
        if (e->recompute) plan_fusions(e, &m->top);
        if (e->recompute) plan_shared(e, &failed);
    }
    if (!failed) {
        /* the workspace starts on a 64-byte line: the kernels load whole vectors */
        e->work_mem = malloc(plan_seq(e, &m->top, -1, &failed) * sizeof(real) + 64);
        plan_gbufs(e, &failed);
        e->held = xcalloc(e->held_size, sizeof(real), &failed);
        e->work = e->work_mem ? (real *)(((uintptr_t)e->work_mem + 63) & ~(uintptr_t)63) : NULL;
        size_t v = view_size(e);
        if (v) e->view = xcalloc(v, sizeof(real), &failed);
    }
    if (!e->work) failed = 1;
    if (e->tangent) {
        e->zeros = xcalloc(lm_shape_numel(m->in) * (size_t)max_batch, sizeof(real), &failed);
        e->zero_v = xcalloc(m->np, sizeof(real), &failed);
    }
    if (failed) {
        R(lm_exec_free)(e);
        return lm_fail(LM_ENOMEM, "executor: out of memory for batch %d of model '%s'", max_batch,
                       m->spec);
    }
    *out = e;
    return LM_OK;
}

void R(lm_exec_free)(R(lm_exec) *e)
{
    if (!e) return;
    if (e->act && e->scr && e->gbuf && e->fuse) {
        free_seq(e, &e->m->top, 0);
        free(e->gbuf[e->m->top.id]);
    }
    for (int k = 0; e->shared && k < 2 * e->branch_len; k++) free(e->shared[k]);
    free(e->shared);
    free(e->branch_gbuf);
    free(e->held);
    free(e->act);
    free(e->dact);
    free(e->scr);
    free(e->gbuf);
    free(e->widest);
    free(e->blk);
    free(e->fuse);
    free(e->view);
    free(e->zeros);
    free(e->zero_v);
    free(e->work_mem);
    free(e);
}

void R(lm_exec_bind)(R(lm_exec) *e, real *params, real *buffers)
{
    e->w = params;
    e->buf = buffers;
}

void R(lm_exec_set_rng)(R(lm_exec) *e, uint64_t seed, uint64_t step)
{
    e->seed = seed;
    e->step = step;
}

void R(lm_exec_set_grad_hook)(R(lm_exec) *e, lm_grad_ready_fn fn, void *ctx)
{
    e->grad_ready = fn;
    e->grad_ready_ctx = ctx;
}

int R(lm_exec_grad_slices)(const R(lm_exec) *e, size_t *offsets, int max)
{
    int count = 0;
    for (int i = 0; i < e->m->top.n; i++)
        if (e->m->top.layers[i].np) {
            if (offsets && count < max) offsets[count] = e->m->top.layers[i].poff;
            count++;
        }
    return count;
}

void R(lm_exec_set_sens_hook)(R(lm_exec) *e, R(lm_sens_fn) fn, void *ctx)
{
    e->sens = fn;
    e->sens_ctx = fn ? ctx : NULL;
}

void R(lm_exec_set_rng_offset)(R(lm_exec) *e, uint64_t offset)
{
    e->sample_offset = offset;
}

/* ---- sequences ---- */

static R(lm_call) call_for(R(lm_exec) *e, const lm_layer *L, int n)
{
    R(lm_call) c = {e, L, n, e->mode, e->w + L->poff, e->buf ? e->buf + L->boff : NULL,
                    e->v ? e->v + L->poff : NULL, e->scr[L->id], e->blk[L->id] & 1, e->blk[L->id] >> 1 & 1,
                    e->fuse[L->id] == 1};
    return c;
}

const real *R(lm_seq_forward)(R(lm_exec) *e, const lm_seq *s, int n, const real *x,
                              const real *dx, const real **dy_out)
{
    for (int i = 0; i < s->n; i++) {
        const lm_layer *L = &s->layers[i];
        R(lm_call) c = call_for(e, L, n);
        R(lm_ports) p = {0};
        p.x = x;
        p.dx = dx;
        p.y = e->act[L->id];
        p.dy = e->tangent ? e->dact[L->id] : NULL;
        if (e->fuse[L->id] != 2) R(lm_ops_of)(L)->forward(&c, &p); /* a fused relu is done */
        x = p.y;
        dx = p.dy;
    }
    if (dy_out) *dy_out = dx;
    return x;
}

void R(lm_seq_backward)(R(lm_exec) *e, const lm_seq *s, int n, const real *x, const real *dx,
                        const real *gy, const real *dgy, real *gx, real *dgx, real *gw,
                        real *dgw)
{
    real *g[2], *dg[2];
    size_t quarter = e->widest[s->id] * (size_t)e->max_n;
    for (int b = 0; b < 2; b++) {
        g[b] = e->gbuf[s->id] + b * quarter;
        dg[b] = e->gbuf[s->id] + (2 + b) * quarter;
    }
    int cur = 0, tangent = e->tangent && dgy && dgw; /* a plain backward in a tangent executor */
    for (int i = s->n - 1; i >= 0; i--) {
        const lm_layer *L = &s->layers[i];
        R(lm_call) c = call_for(e, L, n);
        R(lm_ports) p = {0};
        p.x = i ? e->act[s->layers[i - 1].id] : x;
        p.dx = tangent ? (i ? e->dact[s->layers[i - 1].id] : dx) : NULL;
        p.y = e->act[L->id];
        p.dy = tangent ? e->dact[L->id] : NULL;
        p.gy = gy;
        p.dgy = tangent ? dgy : NULL;
        p.gx = i ? g[cur] : gx;
        p.dgx = tangent && p.gx ? (i ? dg[cur] : dgx) : NULL;
        p.gw = gw ? gw + L->poff : NULL;
        p.dgw = tangent ? dgw + L->poff : NULL;
        R(lm_ops_of)(L)->backward(&c, &p);
        if (e->grad_ready && gw && s == &e->m->top && L->np) e->grad_ready(e->grad_ready_ctx, L->poff, L->np);
        if (e->sens && L->np && !L->branch[0].n && !L->branch[1].n) { /* a block's are its branches' */
            R(lm_sens) info = {L, n, e->mode, c.w, c.scr, p.x, p.gy, c.in_blk, c.out_blk};
            e->sens(e->sens_ctx, &info);
        }
        gy = p.gx;
        dgy = p.dgx;
        cur ^= 1;
    }
}

/* ---- public entry points ---- */

const real *R(lm_forward)(R(lm_exec) *e, const real *x, int n, lm_mode mode, const real *v)
{
    e->n = n;
    e->mode = mode;
    e->x = x;
    e->v = e->tangent ? (v ? v : e->zero_v) : NULL;
    return R(lm_seq_forward)(e, &e->m->top, n, x, e->tangent ? e->zeros : NULL, NULL);
}

const real *R(lm_output_dot)(const R(lm_exec) *e)
{
    const lm_seq *s = &e->m->top;
    return e->tangent && s->n ? e->dact[s->layers[s->n - 1].id] : NULL;
}

void R(lm_backward)(R(lm_exec) *e, const real *gz, real *grad, real *gx, const real *gzdot,
                    real *hv)
{
    R(lm_seq_backward)(e, &e->m->top, e->n, e->x, e->tangent ? e->zeros : NULL, gz,
                       e->tangent ? gzdot : NULL, gx, NULL, grad, e->tangent ? hv : NULL);
}

const real *R(lm_exec_layer_output)(const R(lm_exec) *e, int i)
{
    if (i < 0 || i >= e->m->top.n) return NULL;
    const lm_layer *L = &e->m->top.layers[i];
    if (!(e->blk[L->id] >> 1 & 1)) return e->act[L->id];
    R(lm_relayout)(L->out, e->n, e->act[L->id], 1, e->view, 0); /* e->view is the executor's own */
    return e->view;
}
