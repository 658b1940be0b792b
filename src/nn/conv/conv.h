/* The convolution layer's two algorithms (internal; type-generic): im2col + BLAS
 * (nn/conv/im2col.c), for the plain layout and any stride, and the direct kernels
 * (nn/conv/direct.c), for strides 1 and 2 in either layout. nn/layers/conv.c chooses. */
#ifndef LM_NN_CONV_CONV_H
#define LM_NN_CONV_CONV_H

#include "core/parallel.h"
#include "nn/conv/choice.h"
#include "nn/generic.h"
#include "nn/layout.h"

typedef struct {
    int C, H, W, O, k, stride, pad, Ho, Wo;
    size_t ckk, hw; /* inputs per output (C k k); output pixels per sample */
} lm_conv_geom;

static inline lm_conv_geom lm_conv_geometry(const lm_layer *L)
{
    lm_conv_geom g = {L->in.c, L->in.h, L->in.w, L->conv.filters, L->conv.k, L->conv.stride, L->conv.pad,
                      L->out.h, L->out.w, 0, 0};
    g.ckk = (size_t)g.C * g.k * g.k;
    g.hw = (size_t)g.Ho * g.Wo;
    return g;
}

/* The direct kernels take strides 1 and 2 and any padding up to k - 1 ('same' and 'valid') */
static inline int lm_conv_direct_fits(const lm_layer *L)
{
    return (L->conv.stride == 1 || L->conv.stride == 2) && L->conv.pad <= L->conv.k - 1;
}


/* ---- threads: the batch is split into shares of contiguous samples, two per thread ----
 * The threads of linmass's pool (lm_par_run) claim the shares one by one, running OpenBLAS on
 * one thread. Each share has its own slice of the workspace, with a partial weight gradient
 * summed in share order after the parallel loop. The shares depend on the thread count only,
 * so a given count gives bit-identical results. */

/* The most shares (workspace slices) a batch of n may be cut into: two per core */
static inline int lm_conv_max_shares(int n)
{
    int k = 2 * lm_par_max_threads();
    return k < n ? k : n > 1 ? n : 1;
}

/* Threads for a batch of n samples of `work` multiply-adds each */
static inline int lm_conv_threads(size_t work, int n)
{
    int t = lm_par_threads((size_t)n * work);
    return t < n ? t : n > 1 ? n : 1;
}

static inline int lm_conv_shares(int threads, int n)
{
    int k = threads > 1 ? 2 * threads : 1, most = lm_conv_max_shares(n);
    return k < most ? k : most;
}

/* Samples [*n0, *n1) of share k of K */
static inline void lm_conv_share_range(int n, int k, int K, int *n0, int *n1)
{
    *n0 = (int)((long long)n * k / K);
    *n1 = (int)((long long)n * (k + 1) / K);
}

/* ---- the two algorithms: forward and backward as lm_layer_ops, and their workspace ---- */

size_t R(lm_conv_im2col_workspace)(const lm_layer *L, int n, int tangent);
void R(lm_conv_im2col_forward)(const R(lm_call) *c, R(lm_ports) *p);
void R(lm_conv_im2col_backward)(const R(lm_call) *c, R(lm_ports) *p);

size_t R(lm_conv_direct_workspace)(const lm_layer *L, int n, int tangent);
void R(lm_conv_direct_forward)(const R(lm_call) *c, R(lm_ports) *p);
void R(lm_conv_direct_backward)(const R(lm_call) *c, R(lm_ports) *p);

#endif
