/* CIFAR-style residual basic block: y = relu(main(x) + shortcut(x)), where main is
 * conv3x3/s, bn, relu, conv3x3, bn (branch 0) and the shortcut is the identity, a 1x1 conv/s
 * with bn (branch 1, "projection"), or zero padding ("res:C/S:pad": subsample by the stride and
 * pad the channels with zeros on both sides, He et al.'s option A). The branches are ordinary
 * sequences run by the engine; this module adds them and owns the final relu. */
#include <string.h>

#include "core/parallel.h"
#include "nn/generic.h"

#ifdef LM_F32
/* res:C[/S] and the flag :pad */
static const char *res_parse(lm_layer *L, int word, const char *arg)
{
    (void)word;
    L->res.stride = 1;
    if (!arg || !lm_spec_int(&arg, &L->res.channels)) return "";
    if (*arg == '/' && (arg++, !lm_spec_int(&arg, &L->res.stride))) return "expected a stride after '/'";
    while (*arg == ':')
        if (lm_spec_flag(&arg, "pad")) L->res.pad_shortcut = 1;
        else return "unknown res flag (use :pad)";
    if (*arg) return "unexpected text after the layer";
    if (L->res.channels < 1) return "the number of channels must be at least 1";
    if (L->res.stride < 1) return "the stride must be at least 1";
    return NULL;
}

static lm_status res_infer(lm_layer *L, lm_param_kind param)
{
    (void)param;
    L->out = (lm_shape){L->res.channels, (L->in.h - 1) / L->res.stride + 1, (L->in.w - 1) / L->res.stride + 1};
    if (L->res.pad_shortcut && L->res.channels < L->in.c)
        return lm_fail(LM_EINVAL, "a zero-padding shortcut cannot shrink %d channels to %d", L->in.c, L->res.channels);
    for (int b = 0; b < 2; b++) {
        const lm_seq *s = &L->branch[b];
        if (!s->n) continue;
        lm_shape o = s->layers[s->n - 1].out;
        if (o.c != L->out.c || o.h != L->out.h || o.w != L->out.w)
            return lm_fail(LM_EINVAL, "branch %d gives %dx%dx%d, expected %dx%dx%d", b, o.c, o.h, o.w,
                           L->out.c, L->out.h, L->out.w);
    }
    return LM_OK;
}
static double res_macs(const lm_layer *L) { return (double)lm_shape_numel(L->out); }

/* Either layout, kept, when each branch's first layer takes it too: the branches start from the
 * block's input (the executor gives them its layout) */
static unsigned res_layout(const lm_layer *L)
{
    for (int b = 0; b < 2; b++) {
        const lm_layer *first = L->branch[b].n ? &L->branch[b].layers[0] : NULL;
        if (first && !(first->kind->layout && first->kind->layout(first) & LM_LAYOUT_IN)) return 0;
    }
    return LM_LAYOUT_IN | LM_LAYOUT_KEEP;
}
#endif

/* The block's output y = relu(sum) is written in place of the sum, and the backward pass reads
 * the relu's mask from it (y > 0 exactly where sum > 0). Scratch, with tangents only: dsum (n*out,
 * reused for dg in backward) and the shortcut's input-gradient tangent (n*in). Held through the
 * backward call (e->held): g (n*out) and the shortcut's input gradient (n*in). Sized for the
 * blocked layout (nn/layout.h). */
static size_t res_scratch(const lm_layer *L, int n, int tangent)
{
    return tangent ? (size_t)n * (lm_numel_in(L->out, 1) + lm_numel_in(L->in, 1)) : 0;
}

static size_t res_held(const lm_layer *L, int n) { return (size_t)n * (lm_numel_in(L->out, 1) + lm_numel_in(L->in, 1)); }

typedef struct {
    real *g, *gxs, *dsum, *dgxs;
} res_view;

static res_view view(const R(lm_call) *c)
{
    size_t out = (size_t)c->e->max_n * lm_numel_in(c->L->out, 1);
    real *h = c->e->held, *s = c->e->tangent ? c->scr : NULL;
    res_view v = {h, h + out, s, s ? s + out : NULL};
    return v;
}

/* Zero-padding shortcut: y[c + off][i][j] = x[c][i*s][j*s]; its adjoint when `adjoint`. In the
 * call's layout (input and output alike). */
static void pad_shortcut(const R(lm_call) *c, const real *x, real *y, int adjoint)
{
    const lm_layer *L = c->L;
    int C = L->in.c, O = L->out.c, off = (O - C) / 2, s = L->res.stride, blk = c->in_blk;
    size_t in_n = lm_numel_in(L->in, blk), out_n = lm_numel_in(L->out, blk);
    memset(y, 0, (size_t)c->n * (adjoint ? in_n : out_n) * sizeof *y);
    for (int b = 0; b < c->n; b++)
        for (int ch = 0; ch < C; ch++)
            for (int i = 0; i < L->out.h; i++)
                for (int j = 0; j < L->out.w; j++) {
                    size_t o = b * out_n + lm_offset(L->out, blk, ch + off, i, j);
                    size_t k = b * in_n + lm_offset(L->in, blk, ch, i * s, j * s);
                    if (adjoint) y[k] = x[o];
                    else y[o] = x[k];
                }
}

/* y = a + b (the buffers never overlap, or y is a), or with relu: y = relu(a) (b NULL) or
 * y = a > 0 ? b : 0 (the relu's gradient); vectorised, split by lm_par_range */
typedef struct {
    real *y;
    const real *a, *b;
    int relu;
} add_job;

static void add_range(void *arg, size_t begin, size_t end)
{
    const add_job *j = arg;
    real *y = j->y;
    const real *a = j->a, *b = j->b ? j->b : j->a;
    if (j->relu) {
#pragma omp simd
        for (size_t k = begin; k < end; k++) { /* both loads unconditional, so the loop vectorises */
            real bk = b[k];
            y[k] = a[k] > 0 ? bk : 0;
        }
    } else {
#pragma omp simd
        for (size_t k = begin; k < end; k++) y[k] = a[k] + b[k];
    }
}

static void add_into(real *y, const real *a, const real *b, size_t count)
{
    add_job j = {y, a, b, 0};
    lm_par_range(count, add_range, &j);
}

static void res_forward(const R(lm_call) *c, R(lm_ports) *p)
{
    const lm_layer *L = c->L;
    R(lm_exec) *e = c->e;
    res_view v = view(c);
    size_t count = (size_t)c->n * lm_numel_in(L->out, c->out_blk);
    int padded = !L->branch[1].n && (L->res.stride != 1 || L->in.c != L->res.channels);
    const real *da = NULL, *ds = NULL;
    const real *a = R(lm_seq_forward)(e, &L->branch[0], c->n, p->x, p->dx, &da);
    if (L->branch[1].n) {
        const real *sh = R(lm_seq_forward)(e, &L->branch[1], c->n, p->x, p->dx, &ds);
        add_into(p->y, a, sh, count);
        if (p->dy) add_into(v.dsum, da, ds, count);
    } else if (padded) { /* the padded copy in y, then y = a + y */
        pad_shortcut(c, p->x, p->y, 0);
        add_into(p->y, a, p->y, count);
        if (p->dy) {
            pad_shortcut(c, p->dx, p->dy, 0);
            add_into(v.dsum, da, p->dy, count);
        }
    } else {
        add_into(p->y, a, p->x, count);
        if (p->dy) add_into(v.dsum, da, p->dx, count);
    }
    add_job j = {p->y, p->y, NULL, 1};
    lm_par_range(count, add_range, &j);
    if (p->dy)
        for (size_t k = 0; k < count; k++) p->dy[k] = p->y[k] > 0 ? v.dsum[k] : 0;
}

/* A recomputing executor (nn/engine/exec.c) ran the branches into memory that later blocks
 * overwrote: run them again from the block's input, as in the forward pass (batch norm reuses
 * its statistics, so the outputs are the same bits) */
static void replay_branches(const R(lm_call) *c, const real *x)
{
    R(lm_exec) *e = c->e;
    if (!e->recompute) return;
    e->replay = 1;
    for (int b = 0; b < 2; b++)
        if (c->L->branch[b].n) R(lm_seq_forward)(e, &c->L->branch[b], c->n, x, NULL, NULL);
    e->replay = 0;
}

static void res_backward(const R(lm_call) *c, R(lm_ports) *p)
{
    const lm_layer *L = c->L;
    R(lm_exec) *e = c->e;
    res_view v = view(c);
    size_t count = (size_t)c->n * lm_numel_in(L->out, c->out_blk), in_count = (size_t)c->n * lm_numel_in(L->in, c->in_blk);
    int padded = !L->branch[1].n && (L->res.stride != 1 || L->in.c != L->res.channels);
    /* through the final relu, whose mask is y > 0; dsum's storage takes dg */
    real *g = v.g, *dg = p->dgy ? v.dsum : NULL;
    if (dg)
        for (size_t k = 0; k < count; k++) dg[k] = p->y[k] > 0 ? p->dgy[k] : 0;
    add_job j = {g, p->y, p->gy, 1}; /* g = y > 0 ? gy : 0 */
    lm_par_range(count, add_range, &j);
    replay_branches(c, p->x);
    real *gw = p->gw ? p->gw - L->poff : NULL, *dgw = p->dgw ? p->dgw - L->poff : NULL; /* whole-model bases */
    R(lm_seq_backward)(e, &L->branch[0], c->n, p->x, p->dx, g, dg, p->gx, p->dgx, gw, dgw);
    if (L->branch[1].n) {
        R(lm_seq_backward)(e, &L->branch[1], c->n, p->x, p->dx, g, dg, p->gx ? v.gxs : NULL,
                           p->dgx ? v.dgxs : NULL, gw, dgw);
    } else if (padded) {
        if (p->gx) pad_shortcut(c, g, v.gxs, 1);
        if (p->dgx) pad_shortcut(c, dg, v.dgxs, 1);
    } else { /* the identity: add g itself */
        if (p->gx) add_into(p->gx, p->gx, g, in_count);
        if (p->dgx) add_into(p->dgx, p->dgx, dg, in_count);
        return;
    }
    if (p->gx) add_into(p->gx, p->gx, v.gxs, in_count);
    if (p->dgx) add_into(p->dgx, p->dgx, v.dgxs, in_count);
}

const R(lm_layer_ops) R(lm_res_ops) = {res_scratch, res_forward, res_backward, NULL, res_held};

#ifdef LM_F32
extern const struct lm_layer_ops_f64 lm_res_ops_f64;
const lm_layer_def lm_res_def = {
    .name = "res",
    .syntax = "res:C[/S][:pad]",
    .help = "CIFAR-style basic block; projection shortcut, or zero padding with :pad",
    .flags = LM_LAYER_IMAGE_IN,
    .parse = res_parse,
    .infer = res_infer,
    .macs = res_macs,
    .layout = res_layout,
    .ops_f32 = &lm_res_ops_f32,
    .ops_f64 = &lm_res_ops_f64,
};
#endif
