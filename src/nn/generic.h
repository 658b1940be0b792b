/* Type-generic compilation of the network code (core/real.h): files that include this are
 * compiled twice, once with LM_F32 (real = float, names suffixed _f32) and once with LM_F64
 * (real = double, _f64). Each layer's mathematics is therefore written once. */
#ifndef LM_NN_GENERIC_H
#define LM_NN_GENERIC_H

#include <cblas.h>
#include <stddef.h>

#include "core/real.h"
#include "linmass/exec.h"
#include "nn/layer.h"
#include "nn/layout.h"
#include "nn/sensitivity.h"

#if defined(LM_F64)
#define cblas_xgemm cblas_dgemm
#else
#define cblas_xgemm cblas_sgemm
#endif

typedef struct R(lm_exec) R(lm_exec);

/* What a layer reads and writes in one call. Pointers to tangents are NULL outside tangent
 * mode; gx (and dgx) are NULL when the caller needs no input gradient. */
typedef struct {
    const real *x, *dx; /* input (n x in) and its tangent */
    real *y, *dy;       /* output (n x out) and its tangent */
    const real *gy, *dgy; /* gradient with respect to y, and its tangent */
    real *gx, *dgx;     /* gradient with respect to x, and its tangent */
    real *gw, *dgw;     /* parameter gradient slice, and its tangent (the H v slice); gw is NULL when
                         * no parameter gradient is wanted (sensitivity passes: nn/sensitivity.h) */
} R(lm_ports);

typedef struct {
    R(lm_exec) *e;
    const lm_layer *L;
    int n;
    lm_mode mode;
    const real *w; /* the layer's parameter slice */
    real *buf;     /* the layer's buffer slice */
    const real *v; /* the layer's parameter tangent slice (tangent mode), else NULL */
    real *scr;     /* the layer's scratch */
    int in_blk, out_blk; /* layouts of x (and gx) and of y (and gy): 1 blocked, 0 plain (nn/layout.h) */
    int relu;      /* a convolution stores relu(y): the executor fused the relu after it (exec.c) */
} R(lm_call);

/* The type-dependent half of a layer module: its mathematics (lm_layer_def.ops_f32/_f64). */
typedef struct R(lm_layer_ops) {
    /* Scratch (in reals) the layer needs for a batch of n, with or without tangents. It
     * persists from forward to backward. */
    size_t (*scratch)(const lm_layer *L, int n, int tangent); /* the blocked layout's padding
                                                                * included, if it takes that */
    void (*forward)(const R(lm_call) *c, R(lm_ports) *p);
    void (*backward)(const R(lm_call) *c, R(lm_ports) *p);
    /* Optional: temporary memory (in reals) for one forward or backward call, shared by all
     * layers of the executor (e->work); it does not persist between calls. */
    size_t (*workspace)(const lm_layer *L, int n, int tangent);
    /* Optional: memory (in reals) a layer with branches holds through one backward call while its
     * branches run (e->held, shared by all such layers: they are never nested). */
    size_t (*held)(const lm_layer *L, int n);
} R(lm_layer_ops);

/* The layer's mathematics in this file's precision. */
static inline const R(lm_layer_ops) *R(lm_ops_of)(const lm_layer *L) { return L->kind->R(ops); }

struct R(lm_exec) {
    const lm_model *m;
    int max_n, tangent;
    real *w, *buf;   /* bound parameters and buffers */
    const real *v;   /* parameter tangent of the current pass */
    uint64_t seed, step;
    uint64_t sample_offset; /* lm_exec_set_rng_offset: sample 0 draws as this sample */
    lm_mode mode;
    int n;
    const real *x;   /* input of the last forward */
    real **act, **dact; /* [layer id] output and tangent */
    unsigned char *blk; /* [layer id] layouts: bit 0 the input's, bit 1 the output's (exec.c) */
    size_t *widest;     /* [seq id] values per sample of the widest activation, in its layout */
    real *view;         /* lm_exec_layer_output's plain copy of a blocked output */
    real **scr;         /* [layer id] scratch */
    real **gbuf;        /* [seq id] 4 rotating buffers: g, g, dg, dg (one set for all branches) */
    real *branch_gbuf;  /* the branches' set, widest over them */
    size_t branch_widest;
    int recompute;      /* branches' activations shared over the residual blocks (exec.c) */
    int replay;         /* 1 while a block runs its branches forward again before their backward */
    real **shared;      /* [b * branch_len + i] the output of layer i of branch b, when recompute */
    int branch_len;
    unsigned char *fuse; /* [layer id] 1: a convolution that stores relu(y), 2: the relu after it,
                          * which runs in place (exec.c) */
    real *held;         /* lm_layer_ops.held */
    size_t held_size;
    real *zeros;        /* zero tangent for the model input */
    real *zero_v;       /* zero parameter tangent */
    real *work;         /* the layers' shared temporary workspace (64-byte aligned, in work_mem) */
    void *work_mem;
    lm_grad_ready_fn grad_ready; /* lm_exec_set_grad_hook: called per top-level layer in backward */
    R(lm_sens_fn) sens;          /* lm_exec_set_sens_hook: called per layer with parameters */
    void *sens_ctx;
    void *grad_ready_ctx;
    void *mem;
    lm_channel_sum_fn channel_sum; /* lm_exec_set_channel_sum: synchronised batch norm, or NULL */
    void *channel_sum_ctx;
    lm_status status;   /* the first failure of channel_sum (lm_exec_status) */
};

/* Run a sequence forward / backward inside an executor (used by the engine and the residual
 * block). Returns the output of the last layer (or x for an empty sequence). */
const real *R(lm_seq_forward)(R(lm_exec) *e, const lm_seq *s, int n, const real *x,
                              const real *dx, const real **dy_out);
void R(lm_seq_backward)(R(lm_exec) *e, const lm_seq *s, int n, const real *x, const real *dx,
                        const real *gy, const real *dgy, real *gx, real *dgx, real *gw,
                        real *dgw);

/* The parameter gradients of one layer per sample (nn/sensitivity.h), by kind */
lm_status R(lm_conv_sample_grads)(const R(lm_sens) *s, real *G, size_t ldg);
lm_status R(lm_bn_sample_grads)(const R(lm_sens) *s, real *G, size_t ldg);

/* y (n x o) = s * x (n x i) * W^T (W is o x i) [+ beta*y] */
static inline void R(lm_gemm_nt)(int n, int o, int i, real s, const real *x, const real *W,
                                 real beta, real *y)
{
    cblas_xgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, o, i, s, x, i, W, i, beta, y, o);
}
/* x (n x i) = s * g (n x o) * W (o x i) [+ beta*x] */
static inline void R(lm_gemm_nn)(int n, int i, int o, real s, const real *g, const real *W,
                                 real beta, real *x)
{
    cblas_xgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, i, o, s, g, o, W, i, beta, x, i);
}
/* W (o x i) = s * g^T (g is n x o) * x (n x i) [+ beta*W] */
static inline void R(lm_gemm_tn)(int o, int i, int n, real s, const real *g, const real *x,
                                 real beta, real *W)
{
    cblas_xgemm(CblasRowMajor, CblasTrans, CblasNoTrans, o, i, n, s, g, o, x, i, beta, W, i);
}

#endif
