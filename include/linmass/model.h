/* Models: a sequence of layers built from a spec string, with all trainable parameters in one
 * flat buffer and named views whose names and layouts are those of the equivalent
 * torch.nn.Sequential's state_dict ("1.weight" is out x in for dense, out x in x kh x kw for
 * conv). Non-trainable state (batch-norm running statistics) lives in a second flat buffer,
 * "buffers", with the same naming.
 *
 * Spec syntax: layers separated by commas, such as "conv:64x5,relu,maxpool:2,dense:10"; the
 * layers and their syntax are listed by lm_model_spec_help.
 * Whole-model aliases, expanded by lm_model_alias_spec (the trainer knows K and N):
 *   linear               dense:K:nobias, linear regression f(x) = <w, x> per output
 *   kernel:gaussian:BW   kernelfeat:gaussian:BW:N,flatten,dense:K:nobias, a kernel machine
 *   kernel:laplacian:BW  f(x) = sum_j a_j k(c_j, x) over the N training inputs as centres
 * Presets: fcn, cnn, resnet20, resnet32 (see lm_preset_spec). */
#ifndef LINMASS_MODEL_H
#define LINMASS_MODEL_H

#include "linmass/api.h"

#include <stddef.h>
#include <stdint.h>

#include "linmass/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int c, h, w; /* a flat vector of k features is (k, 1, 1) */
} lm_shape;

static inline size_t lm_shape_numel(lm_shape s) { return (size_t)s.c * s.h * s.w; }

typedef enum {
    LM_PARAM_STANDARD = 0, /* LeCun N(0, 1/fan-in) weights (He inside residual blocks), no factor */
    LM_PARAM_NTK = 1       /* N(0,1) weights, 1/sqrt(fan-in) in the forward pass */
} lm_param_kind;

typedef enum { LM_LOSS_MSE = 0, LM_LOSS_XENT = 1 } lm_loss_kind;

typedef struct lm_model lm_model;

/* A named view into the flat parameter or buffer array. */
typedef struct {
    char name[64];
    size_t offset, numel;
    int ndim;
    int64_t dims[4];
    int trainable; /* 1: in params; 0: in buffers */
    int integer;   /* stored as float, saved as int64 (num_batches_tracked) */
} lm_tensor_info;

/* Build a model from a spec (or a preset name) for inputs of shape `in`. Parameters are
 * initialised from `seed`. On bad specs returns LM_EINVAL with a message naming the layer. */
LM_API lm_status lm_model_create(const char *spec, lm_shape in, lm_param_kind param, uint64_t seed,
                          lm_model **out);
LM_API void lm_model_free(lm_model *m);

/* The layers of the spec syntax, one line each ("  dense:N[:nobias]   fully connected, ..."),
 * written into buf. Returns the length it needed. */
LM_API size_t lm_model_spec_help(char *buf, size_t len);

/* Expand a preset name ("fcn", "cnn", "resnet20", "resnet32") into a spec with `classes`
 * outputs; returns NULL when `name` is no preset. The string is static per call site. */
LM_API const char *lm_preset_spec(const char *name, int classes, char *buf, size_t len);

LM_API size_t lm_model_num_params(const lm_model *m);
LM_API size_t lm_model_num_buffers(const lm_model *m);
LM_API lm_shape lm_model_input_shape(const lm_model *m);
LM_API lm_shape lm_model_output_shape(const lm_model *m);
LM_API lm_param_kind lm_model_param_kind(const lm_model *m);
LM_API const char *lm_model_spec(const lm_model *m); /* the expanded spec it was built from */

/* The float32 parameters and buffers owned by the model. */
LM_API float *lm_model_params(lm_model *m);
LM_API float *lm_model_buffers(lm_model *m);

/* Re-initialise the parameters and buffers from a seed. */
LM_API void lm_model_init(lm_model *m, uint64_t seed);

/* The named tensors, parameters first then buffers, in state_dict order. */
LM_API int lm_model_num_tensors(const lm_model *m);
LM_API const lm_tensor_info *lm_model_tensor(const lm_model *m, int i);
LM_API const lm_tensor_info *lm_model_find_tensor(const lm_model *m, const char *name);

/* A one-line human description of every layer with its output shape and parameter count,
 * written into buf. Returns the length it needed. */
LM_API size_t lm_model_summary(const lm_model *m, char *buf, size_t len);

/* Number of multiply-adds of one forward pass on one sample (for GFLOP/s reports). */
LM_API double lm_model_forward_macs(const lm_model *m);

/* ---- linear and kernel models (docs/theory.md §2.1) ---- */

/* Expand the aliases "linear" (into "dense:K:nobias") and "kernel:gaussian:BW" /
 * "kernel:laplacian:BW" (into "kernelfeat:TYPE:BW:N,flatten,dense:K:nobias") for K = `outputs`
 * and N = `centres`, into buf. Returns buf, or NULL when spec is no alias. */
LM_API const char *lm_model_alias_spec(const char *spec, int outputs, size_t centres, char *buf, size_t len);

/* The number of kernel centres the model's first layer expects (0: no kernel layer). */
LM_API size_t lm_model_kernel_centres(const lm_model *m);

/* Copy n centres (n x numel(input), row-major) into the kernel layer, where they live in the
 * buffer array without a tensor name: checkpoints do not hold them, so whoever loads a kernel
 * model attaches them again (the trainer: the normalised training inputs). n must equal
 * lm_model_kernel_centres(m). Call it after lm_model_create / lm_model_init (init clears them). */
LM_API lm_status lm_model_set_kernel_centres(lm_model *m, const float *x, size_t n);

/* The float64 features of a model that is linear in its parameters ([kernelfeat,] flatten...,
 * dense:K:nobias), for lm_linreg_constants: for linear models the flattened inputs; for kernel
 * models the kernel rows, on a random subsample (from `seed`) of at most max_rows samples and
 * max_rows centres, scaled by sqrt(N / centres used) so that inner products of rows estimate
 * those over all N centres. Either way times the dense layer's ntk factor. x is the n x numel
 * (input) data (for kernels, the training inputs). *phi (rows x cols, malloc'ed) belongs to the
 * caller. max_rows <= 0: no subsample. LM_EINVAL for any other model. */
LM_API lm_status lm_model_linear_features(const lm_model *m, const float *x, size_t n, int max_rows,
                                   uint64_t seed, double **phi, int *rows, int *cols);

#ifdef __cplusplus
}
#endif
#endif
