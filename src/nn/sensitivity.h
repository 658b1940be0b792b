/* Per-layer sensitivities of a batched backward pass (internal): what a tangent kernel needs
 * from each layer with parameters, and per-sample gradients built from it.
 *
 * With a hook set (lm_exec_set_sens_hook), every backward pass calls it after each layer that
 * has parameters, in any sequence (residual branches included), with the layer's input x and
 * output gradient gy for the n samples of the batch. Backward from an output gradient with one
 * row per sample (never summed over the batch), gy_i is then the sensitivity of sample i's
 * output alone, and the layer's per-sample parameter gradients follow from (x_i, gy_i):
 * lm_layer_sample_grads. */
#ifndef LM_NN_SENSITIVITY_H
#define LM_NN_SENSITIVITY_H

#include <stddef.h>

#include "linmass/exec.h"
#include "nn/layer.h"

#define LM_SENS_TYPES(T, SUF)                                                                            \
    typedef struct {                                                                                     \
        const lm_layer *L;                                                                               \
        int n;                                                                                           \
        lm_mode mode;                                                                                    \
        const T *w, *scr;    /* the layer's parameters and scratch (batch norm: its mean and scale) */   \
        const T *x, *gy;     /* n samples each */                                                        \
        int x_blk, gy_blk;   /* their layouts (nn/layout.h) */                                           \
    } lm_sens_##SUF;                                                                                     \
    typedef void (*lm_sens_fn_##SUF)(void *ctx, const lm_sens_##SUF *s);
LM_SENS_TYPES(float, f32)
LM_SENS_TYPES(double, f64)
#undef LM_SENS_TYPES

/* fn NULL removes the hook */
void lm_exec_set_sens_hook_f32(lm_exec_f32 *e, lm_sens_fn_f32 fn, void *ctx);
void lm_exec_set_sens_hook_f64(lm_exec_f64 *e, lm_sens_fn_f64 fn, void *ctx);

/* A backward pass from gz (n x K) after the last forward that forms no parameter gradient, only
 * the layers' output gradients for the hook */
void lm_exec_sens_backward_f32(lm_exec_f32 *e, const float *gz);
void lm_exec_sens_backward_f64(lm_exec_f64 *e, const double *gz);

/* Row i of G (leading dimension ldg, s->L->np columns) = the gradient of the layer's parameters
 * (in the model's order) from sample i alone. Dense, convolution and (evaluation mode) batch
 * norm layers; LM_EINVAL for others, LM_ENOMEM. Bit-identical whatever the thread count. */
lm_status lm_layer_sample_grads_f32(const lm_sens_f32 *s, float *G, size_t ldg);
lm_status lm_layer_sample_grads_f64(const lm_sens_f64 *s, double *G, size_t ldg);

#endif
