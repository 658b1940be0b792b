/* Running a model: forward, backward (VJP), and forward-over-reverse second derivatives.
 *
 * An executor holds the activations and scratch memory of one model for batches of up to
 * max_batch samples, in one precision: _f32 for training, _f64 for probes. It does not own the
 * parameters: bind a flat parameter array (and a buffer array for batch-norm statistics) with
 * lm_exec_bind. Inputs are row-major, one sample after another (N x C x H x W).
 *
 * Tangent mode (LM_EXEC_TANGENT) carries a tangent beside every quantity: the forward pass with
 * a parameter tangent v gives the JVP of the output, and the backward pass then gives the
 * Hessian-vector product H v of any scalar function of the output whose gradient and gradient
 * tangent are supplied (lm_loss_* computes them for the losses). */
#ifndef LINMASS_EXEC_H
#define LINMASS_EXEC_H

#include "linmass/api.h"

#include "linmass/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* LM_EXEC_KEEP: every layer keeps its own output, as computed, for the backward pass. Without
 * it, a plain (not tangent) executor keeps only the inputs and outputs of residual blocks and
 * runs each block's branches forward again in the backward pass, into memory shared by all
 * blocks (the same bits, in 0.4x the peak memory of ResNet-20's training, for one more forward
 * pass through the blocks), and a convolution followed by relu stores relu's output, the relu
 * running in place. Tangent executors always keep everything. */
enum { LM_EXEC_TANGENT = 1, LM_EXEC_KEEP = 2 };

typedef enum {
    LM_MODE_EVAL = 0,   /* dropout off, batch norm uses running statistics */
    LM_MODE_TRAIN = 1,  /* dropout on, batch norm uses batch statistics and updates running ones */
    LM_MODE_FROZEN = 2  /* like TRAIN but never updates running statistics (probes, checks) */
} lm_mode;

/* Sums across the processes that share a batch (e.g. lm_dist_allreduce_f64): buf[0..n) <- the
 * sum of buf over them, the same on each. Returns LM_OK or the failure (with its message). */
typedef lm_status (*lm_channel_sum_fn)(void *ctx, double *buf, size_t n);

/* Every function comes twice, _f32 (float) and _f64 (double), from one source (src/nn). */
typedef struct lm_exec_f32 lm_exec_f32;
typedef struct lm_exec_f64 lm_exec_f64;

LM_API lm_status lm_exec_create_f32(const lm_model *m, int max_batch, unsigned flags, lm_exec_f32 **out);
LM_API lm_status lm_exec_create_f64(const lm_model *m, int max_batch, unsigned flags, lm_exec_f64 **out);
LM_API void lm_exec_free_f32(lm_exec_f32 *e);
LM_API void lm_exec_free_f64(lm_exec_f64 *e);
LM_API void lm_exec_bind_f32(lm_exec_f32 *e, float *params, float *buffers);
LM_API void lm_exec_bind_f64(lm_exec_f64 *e, double *params, double *buffers);

/* Dropout masks are drawn from (seed, step): the same pair gives the same mask. */
LM_API void lm_exec_set_rng_f32(lm_exec_f32 *e, uint64_t seed, uint64_t step);
LM_API void lm_exec_set_rng_f64(lm_exec_f64 *e, uint64_t seed, uint64_t step);
/* Sample i of the next forwards draws as sample offset + i of a larger batch (default 0): the
 * ranks that share a global batch draw the masks one process would. */
LM_API void lm_exec_set_rng_offset_f32(lm_exec_f32 *e, uint64_t offset);
LM_API void lm_exec_set_rng_offset_f64(lm_exec_f64 *e, uint64_t offset);

/* Forward n samples; returns the n x K output, valid until the next call. With a tangent
 * executor, v (the parameter tangent, may be NULL for zero) also propagates. */
LM_API const float *lm_forward_f32(lm_exec_f32 *e, const float *x, int n, lm_mode mode, const float *v);
LM_API const double *lm_forward_f64(lm_exec_f64 *e, const double *x, int n, lm_mode mode, const double *v);
/* The output tangent of the last forward (tangent executors only). */
LM_API const float *lm_output_dot_f32(const lm_exec_f32 *e);
LM_API const double *lm_output_dot_f64(const lm_exec_f64 *e);

/* Backward from gz = d(phi)/d(output) (n x K). Writes the parameter gradient into grad (length
 * num_params) and, when gx is not NULL, the input gradient. With a tangent executor, gzdot the
 * tangent of gz and hv receives the Hessian-vector product. */
LM_API void lm_backward_f32(lm_exec_f32 *e, const float *gz, float *grad, float *gx, const float *gzdot,
                     float *hv);
LM_API void lm_backward_f64(lm_exec_f64 *e, const double *gz, double *grad, double *gx,
                     const double *gzdot, double *hv);

/* Per-sample gradients: after a forward of n samples, row i of G (n rows of num_params, leading
 * dimension ldg) receives the parameter gradient of gz_i . f(x_i), for the output gradient gz (n x
 * K, one row per sample), from one batched backward pass: the rows n single-sample backward passes
 * would give, to rounding. Models of dense, convolution, batch-norm (evaluation mode only: batch
 * statistics tie the samples together) and parameter-free layers; LM_EINVAL otherwise,
 * LM_ENOMEM. */
LM_API lm_status lm_exec_sample_grads_f32(lm_exec_f32 *e, const float *gz, float *G, size_t ldg);
LM_API lm_status lm_exec_sample_grads_f64(lm_exec_f64 *e, const double *gz, double *G, size_t ldg);

/* The output of layer i of the top-level sequence from the last forward. Without LM_EXEC_KEEP,
 * a convolution followed by relu shows the relu's output (the two are fused). */
LM_API const float *lm_exec_layer_output_f32(const lm_exec_f32 *e, int i);
LM_API const double *lm_exec_layer_output_f64(const lm_exec_f64 *e, int i);

/* Loss of an n x k output z against targets t (MSE: n x k values, loss (1/2n) sum ||z-t||^2;
 * XENT: n class indices stored as numbers, mean negative log-likelihood). Writes gz = dloss/dz;
 * if zdot and gzdot are given, gzdot is the tangent of gz along zdot. Returns the loss. */
LM_API double lm_loss_f32(lm_loss_kind kind, const float *z, const float *t, int n, int k, float *gz,
                   const float *zdot, float *gzdot);
LM_API double lm_loss_f64(lm_loss_kind kind, const double *z, const double *t, int n, int k, double *gz,
                   const double *zdot, double *gzdot);
/* Fraction of rows of z whose argmax equals the class index in t. */
LM_API double lm_accuracy_f32(const float *z, const float *t, int n, int k);
LM_API double lm_accuracy_f64(const double *z, const double *t, int n, int k);

/* Synchronised batch norm: with a hook set, batch norm in the training modes (TRAIN, FROZEN)
 * normalises with the mean and variance of the GLOBAL batch, the union of the shares that
 * several executors (one per rank) hold, as torch.nn.SyncBatchNorm: the forward sums, per
 * channel, the sample count and the moments shifted by the running mean, and the backward sums
 * g and g x^, so the input gradient is that of the global loss. Each executor's parameter
 * gradient stays its own share's: summing it over the executors gives the global one. Each
 * batch-norm layer calls fn once per forward and once per backward, so every executor must make
 * the same calls: one with an empty share calls lm_forward_empty and lm_backward_empty instead.
 * NULL removes the hook (the default: each batch on its own). LM_EINVAL on a tangent executor
 * (its rules are per share). Resets lm_exec_status. */
LM_API lm_status lm_exec_set_channel_sum_f32(lm_exec_f32 *e, lm_channel_sum_fn fn, void *ctx);
LM_API lm_status lm_exec_set_channel_sum_f64(lm_exec_f64 *e, lm_channel_sum_fn fn, void *ctx);
/* LM_OK, or the first failure of the hook since it was set (the message is kept by
 * lm_error_message); the forward and backward results are then not to be used. */
LM_API lm_status lm_exec_status_f32(const lm_exec_f32 *e);
LM_API lm_status lm_exec_status_f64(const lm_exec_f64 *e);
/* lm_forward and lm_backward of an empty share (n = 0): with a channel-sum hook and a training
 * mode, each batch-norm layer takes part in the sums (adding nothing) and moves its running
 * statistics as the other executors do; otherwise nothing. grad (length num_params) receives
 * zeros. */
LM_API void lm_forward_empty_f32(lm_exec_f32 *e, lm_mode mode);
LM_API void lm_forward_empty_f64(lm_exec_f64 *e, lm_mode mode);
LM_API void lm_backward_empty_f32(lm_exec_f32 *e, float *grad);
LM_API void lm_backward_empty_f64(lm_exec_f64 *e, double *grad);

/* Gradient-ready hook (overlapping the all-reduce with the backward pass, lm_dist_reducer):
 * during lm_backward, after each top-level layer's backward, fn(ctx, offset, count) says that
 * the gradient slice [offset, offset + count) (the layer's parameters) is final. Layers run from
 * the last to the first, so the slices arrive from high offsets downwards; layers without
 * parameters are not reported. fn NULL removes the hook. */
typedef void (*lm_grad_ready_fn)(void *ctx, size_t offset, size_t count);
LM_API void lm_exec_set_grad_hook_f32(lm_exec_f32 *e, lm_grad_ready_fn fn, void *ctx);
LM_API void lm_exec_set_grad_hook_f64(lm_exec_f64 *e, lm_grad_ready_fn fn, void *ctx);
/* Where the hook's slices start, ascending (up to max into offsets, which may be NULL); returns
 * how many slices there are: cuts for lm_dist_reducer_create's buckets. */
LM_API int lm_exec_grad_slices_f32(const lm_exec_f32 *e, size_t *offsets, int max);
LM_API int lm_exec_grad_slices_f64(const lm_exec_f64 *e, size_t *offsets, int max);

#ifdef __cplusplus
}
#endif
#endif
