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

#include "linmass/model.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { LM_EXEC_TANGENT = 1 };

typedef enum {
    LM_MODE_EVAL = 0,   /* dropout off, batch norm uses running statistics */
    LM_MODE_TRAIN = 1,  /* dropout on, batch norm uses batch statistics and updates running ones */
    LM_MODE_FROZEN = 2  /* like TRAIN but never updates running statistics (probes, checks) */
} lm_mode;

/* Sums across the processes that share a batch (e.g. lm_dist_allreduce_f64): buf[0..n) <- the
 * sum of buf over them, the same on each. Returns LM_OK or the failure (with its message). */
typedef lm_status (*lm_channel_sum_fn)(void *ctx, double *buf, size_t n);

#define LM_EXEC_DECLARE(T, S)                                                                  \
    typedef struct lm_exec_##S lm_exec_##S;                                                    \
    lm_status lm_exec_create_##S(const lm_model *m, int max_batch, unsigned flags,            \
                                 lm_exec_##S **out);                                           \
    void lm_exec_free_##S(lm_exec_##S *e);                                                     \
    void lm_exec_bind_##S(lm_exec_##S *e, T *params, T *buffers);                              \
    /* Dropout masks are drawn from (seed, step): the same pair gives the same mask. */        \
    void lm_exec_set_rng_##S(lm_exec_##S *e, uint64_t seed, uint64_t step);                    \
    /* Sample i of the next forwards draws as sample offset + i of a larger batch (default 0):  \
     * the ranks that share a global batch draw the masks one process would. */                 \
    void lm_exec_set_rng_offset_##S(lm_exec_##S *e, uint64_t offset);                         \
    /* Forward n samples; returns the n x K output, valid until the next call. With a       \
     * tangent executor, v (the parameter tangent, may be NULL for zero) also propagates. */  \
    const T *lm_forward_##S(lm_exec_##S *e, const T *x, int n, lm_mode mode, const T *v);     \
    /* The output tangent of the last forward (tangent executors only). */                    \
    const T *lm_output_dot_##S(const lm_exec_##S *e);                                          \
    /* Backward from gz = d(phi)/d(output) (n x K). Writes the parameter gradient into grad  \
     * (length num_params) and, when gx is not NULL, the input gradient. With a tangent      \
     * executor, gzdot the tangent of gz and hv receives the Hessian-vector product. */       \
    void lm_backward_##S(lm_exec_##S *e, const T *gz, T *grad, T *gx, const T *gzdot, T *hv); \
    /* The output of layer i of the top-level sequence from the last forward. */              \
    const T *lm_exec_layer_output_##S(const lm_exec_##S *e, int i);                           \
    /* Loss of an n x k output z against targets t (MSE: n x k values, loss                 \
     * (1/2n) sum ||z-t||^2; XENT: n class indices stored as numbers, mean negative         \
     * log-likelihood). Writes gz = dloss/dz; if zdot and gzdot are given, gzdot is the      \
     * tangent of gz along zdot. Returns the loss. */                                         \
    double lm_loss_##S(lm_loss_kind kind, const T *z, const T *t, int n, int k, T *gz,        \
                       const T *zdot, T *gzdot);                                               \
    /* Fraction of rows of z whose argmax equals the class index in t. */                    \
    double lm_accuracy_##S(const T *z, const T *t, int n, int k);                             \
    /* Synchronised batch norm: with a hook set, batch norm in the training modes (TRAIN,     \
     * FROZEN) normalises with the mean and variance of the GLOBAL batch, the union of the    \
     * shares that several executors (one per rank) hold, as torch.nn.SyncBatchNorm: the      \
     * forward sums, per channel, the sample count and the moments shifted by the running     \
     * mean, and the backward sums g and g x^, so the input gradient is that of the global     \
     * loss. Each executor's parameter gradient stays its own share's: summing it over the    \
     * executors gives the global one. Each batch-norm layer calls fn once per forward and    \
     * once per backward, so every executor must make the same calls: one with an empty share \
     * calls lm_forward_empty and lm_backward_empty instead. NULL removes the hook (the        \
     * default: each batch on its own). LM_EINVAL on a tangent executor (its rules are per     \
     * share). Resets lm_exec_status. */                                                       \
    lm_status lm_exec_set_channel_sum_##S(lm_exec_##S *e, lm_channel_sum_fn fn, void *ctx);   \
    /* LM_OK, or the first failure of the hook since it was set (the message is kept by        \
     * lm_error_message); the forward and backward results are then not to be used. */        \
    lm_status lm_exec_status_##S(const lm_exec_##S *e);                                       \
    /* lm_forward and lm_backward of an empty share (n = 0): with a channel-sum hook and a    \
     * training mode, each batch-norm layer takes part in the sums (adding nothing) and moves \
     * its running statistics as the other executors do; otherwise nothing. grad (length     \
     * num_params) receives zeros. */                                                          \
    void lm_forward_empty_##S(lm_exec_##S *e, lm_mode mode);                                  \
    void lm_backward_empty_##S(lm_exec_##S *e, T *grad);

LM_EXEC_DECLARE(float, f32)
LM_EXEC_DECLARE(double, f64)

#undef LM_EXEC_DECLARE

/* Gradient-ready hook (overlapping the all-reduce with the backward pass, lm_dist_reducer):
 * during lm_backward, after each top-level layer's backward, fn(ctx, offset, count) says that
 * the gradient slice [offset, offset + count) (the layer's parameters) is final. Layers run from
 * the last to the first, so the slices arrive from high offsets downwards; layers without
 * parameters are not reported. fn NULL removes the hook. */
typedef void (*lm_grad_ready_fn)(void *ctx, size_t offset, size_t count);
void lm_exec_set_grad_hook_f32(lm_exec_f32 *e, lm_grad_ready_fn fn, void *ctx);
void lm_exec_set_grad_hook_f64(lm_exec_f64 *e, lm_grad_ready_fn fn, void *ctx);
/* Where the hook's slices start, ascending (up to max into offsets, which may be NULL); returns
 * how many slices there are: cuts for lm_dist_reducer_create's buckets. */
int lm_exec_grad_slices_f32(const lm_exec_f32 *e, size_t *offsets, int max);
int lm_exec_grad_slices_f64(const lm_exec_f64 *e, size_t *offsets, int max);

#ifdef __cplusplus
}
#endif
#endif
