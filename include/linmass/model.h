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
 *   kernel:gaussian:BW   kernelfeat:gaussian:BW:N:rkhs,flatten,dense:K:nobias, a kernel machine
 *   kernel:laplacian:BW  f(x) = sum_j a_j k(c_j, x) over the N training inputs as centres,
 *                        trained by kernel SGD in the RKHS (docs/theory.md §2.1); without
 *                        :rkhs the same model trains by the Euclidean gradient in a (linear
 *                        regression on the kernel rows as features)
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

/* The parameterisation named "standard" or "ntk"; LM_EINVAL "param 'x' is not standard or ntk"
 * for any other name. */
LM_API lm_status lm_param_from_name(const char *name, lm_param_kind *out);

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
 * "kernel:laplacian:BW" (into "kernelfeat:TYPE:BW:N:rkhs,flatten,dense:K:nobias") for
 * K = `outputs` and N = `centres`, into buf. Returns buf, or NULL when spec is no alias. */
LM_API const char *lm_model_alias_spec(const char *spec, int outputs, size_t centres, char *buf, size_t len);

/* The number of kernel centres the model's first layer expects (0: no kernel layer). */
LM_API size_t lm_model_kernel_centres(const lm_model *m);

/* 1 when m is an RKHS kernel machine, kernelfeat:TYPE:BW:N:rkhs,flatten,dense:K:nobias (what the
 * kernel aliases expand to): its coefficients train by kernel SGD in the RKHS, through
 * lm_model_rkhs_gradient (train.h: lm_trainer_step_indexed). 0 otherwise. */
LM_API int lm_model_kernel_rkhs(const lm_model *m);

/* The RKHS gradient of an RKHS kernel machine (docs/theory.md §2.1) for n samples that are its
 * centres idx[0..n): with gz (n x K) the loss's gradient in the outputs f(x_i) (the loss's 1/m
 * included), grad (all lm_model_num_params values) gets scale * sum of gz_i over the samples
 * whose centre is j in coefficient column j, and zero in the columns of no sample (scale: the
 * dense layer's ntk factor, else 1). So a step changes only the batch's coefficients:
 * a_B <- a_B - (eta/m)(f(x_B) - y_B) for plain SGD on the square loss. LM_EINVAL for a model that
 * is no RKHS kernel machine, or an index that is not below the number of centres. */
LM_API lm_status lm_model_rkhs_gradient(const lm_model *m, const float *gz, const uint32_t *idx, int n, float *grad);

/* Copy n centres (n x numel(input), row-major) into the kernel layer, where they live in the
 * buffer array without a tensor name: checkpoints do not hold them, so whoever loads a kernel
 * model attaches them again (the trainer: the normalised training inputs). n must equal
 * lm_model_kernel_centres(m). Call it after lm_model_create / lm_model_init (init clears them). */
LM_API lm_status lm_model_set_kernel_centres(lm_model *m, const float *x, size_t n);

/* The float64 features of a model that is linear in its parameters ([kernelfeat,] flatten...,
 * dense:K:nobias), for lm_linreg_constants, on a random subsample (from `seed`) of at most
 * max_rows of the n samples (max_rows <= 0: all, in their order), times the dense layer's ntk
 * factor:
 *   - linear models: the flattened inputs (cols = numel(input));
 *   - RKHS kernel machines (lm_model_kernel_rkhs): x must be the N centres (n = N); the features
 *     psi (rows x rows) of the subsample's feature maps k(x_i, .), psi psi^T = K_r, the r x r
 *     kernel matrix of the subsample: psi = V Lambda^{1/2} from K_r = V Lambda V^T
 *     (docs/theory.md §2.1). So L = lambda_max(K_r)/r, L1 = 1 when k(x, x) = 1, and with r = n
 *     every constant is exact; a subsample of r < n points estimates L (the top of the spectrum
 *     of K/n) and keeps L1, but its mu is that of r points (larger than the full K's) and its
 *     kappa-tilde is at least its rank, r when K_r has full rank, where the full K gives up to n;
 *   - other kernel models (the Euclidean gradient): the kernel rows over at most max_rows of
 *     the N centres (the same permutation), scaled by sqrt(N / centres used) so that inner
 *     products of rows estimate those over all N centres.
 * *phi (rows x cols, malloc'ed) belongs to the caller. LM_EINVAL for any other model. */
LM_API lm_status lm_model_linear_features(const lm_model *m, const float *x, size_t n, int max_rows,
                                   uint64_t seed, double **phi, int *rows, int *cols);

#ifdef __cplusplus
}
#endif
#endif
