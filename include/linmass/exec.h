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
    double lm_accuracy_##S(const T *z, const T *t, int n, int k);

LM_EXEC_DECLARE(float, f32)
LM_EXEC_DECLARE(double, f64)

#undef LM_EXEC_DECLARE

#ifdef __cplusplus
}
#endif
#endif
