/* Internal description of layers, independent of the floating-point type. */
#ifndef LM_NN_LAYER_H
#define LM_NN_LAYER_H

#include <stdint.h>

#include "linmass/model.h"

typedef enum {
    L_DENSE,
    L_CONV,
    L_MAXPOOL,
    L_AVGPOOL,
    L_GAP,
    L_FLATTEN,
    L_ACT,
    L_DROPOUT,
    L_BN,
    L_RES,
    L_KERNELFEAT, /* kernel rows k(c_j, x) over stored centres: nn/layers/kernel.c */
    L_KIND_COUNT
} lm_layer_kind;

typedef enum { ACT_RELU, ACT_TANH, ACT_SIGMOID, ACT_SOFTPLUS, ACT_GELU, ACT_IDENTITY } lm_act;

typedef struct lm_layer lm_layer;

typedef struct {
    lm_layer *layers;
    int n;
    int id; /* unique over the model; the top-level sequence is 0 */
} lm_seq;

struct lm_layer {
    lm_layer_kind kind;
    int id;          /* unique over the model, sub-layers included */
    char name[48];   /* state_dict prefix: "3", "5.a.0" */
    lm_shape in, out;
    /* configuration; which fields matter depends on the kind */
    int units;       /* dense outputs, conv filters, block channels */
    int k, stride, pad, bias;
    lm_act act;
    double p;        /* dropout probability */
    double eps, momentum; /* batch norm */
    int pad_shortcut;     /* residual: zero-padding instead of projection */
    double scale;    /* 1/sqrt(fan-in) under the ntk parameterization, else 1 */
    size_t poff, np; /* slice of the flat parameter array */
    size_t boff, nb; /* slice of the flat buffer array */
    lm_seq branch[2]; /* residual: [0] main path, [1] projection shortcut (n = 0 if none) */
};

/* The type-independent half of a layer module: shape inference, the named tensors it owns,
 * and initialisation. Each layer file defines one, compiled once. */
typedef struct {
    const char *name;
    /* Given L->in and the configuration, set L->out, L->np and L->nb; fail on shapes that do
     * not fit. `param` decides L->scale. */
    lm_status (*infer)(lm_layer *L, lm_param_kind param);
    /* Append the layer's tensors (offsets relative to its slices) through `add`. */
    void (*tensors)(const lm_layer *L, void (*add)(void *ctx, const char *suffix, int trainable,
                                                   size_t off, int ndim, const int64_t *dims),
                    void *ctx);
    /* Initialise the layer's parameters and buffers; standard weights get variance gain2/fan-in. */
    void (*init)(const lm_layer *L, float *w, float *buf, lm_param_kind param, double gain2,
                 uint64_t seed);
    double (*macs)(const lm_layer *L); /* multiply-adds per sample of the forward pass */
} lm_layer_def;

extern const lm_layer_def *const lm_layer_defs[L_KIND_COUNT];

struct lm_model {
    char *spec;
    lm_param_kind param;
    lm_shape in, out;
    lm_seq top;
    int num_layers_total; /* ids 0..num_layers_total-1 */
    int num_seqs;
    size_t np, nb;
    float *w, *buf;
    lm_tensor_info *tensors;
    int num_tensors;
};

/* Common helpers for layer modules. */
void lm_init_normal(float *w, size_t n, double std, uint64_t seed, int layer_id, int tensor);

#endif
