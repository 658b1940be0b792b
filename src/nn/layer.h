/* Internal description of layers, independent of the floating-point type.
 *
 * A layer type is one file in nn/layers/ that defines an lm_layer_def: its spec words, syntax
 * and help line, its parser, shape inference, named tensors, initialisation, and its
 * mathematics in both precisions. nn/layers/registry.c lists the definitions; the spec parser
 * (nn/spec.c) and the help (lm_model_spec_help) are loops over that list. */
#ifndef LM_NN_LAYER_H
#define LM_NN_LAYER_H

#include <stdint.h>

#include "linmass/model.h"

typedef struct lm_layer lm_layer;
typedef struct lm_layer_def lm_layer_def;
typedef const lm_layer_def *lm_layer_kind; /* a layer's kind is its definition */

/* In the order of lm_act_def's spec words (nn/layers/activation.c). */
typedef enum { ACT_RELU, ACT_TANH, ACT_SIGMOID, ACT_SOFTPLUS, ACT_GELU, ACT_IDENTITY } lm_act;

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
    union { /* the settings of the kind, filled by its parser */
        struct { int units, bias; } dense;
        struct { int filters, k, stride, pad, bias; } conv; /* pad: zeros on each side */
        struct { int k; } pool;                             /* k x k windows, stride k */
        struct { lm_act fn; } act;
        struct { double p; } dropout;
        struct { int channels, stride, pad_shortcut; } res; /* pad_shortcut: zero padding */
        struct { int centres, type, rkhs; double bandwidth; } kernelfeat; /* nn/layers/kernel.c */
    };
    double scale;    /* 1/sqrt(fan-in) under the ntk parameterization, else 1 */
    size_t poff, np; /* slice of the flat parameter array */
    size_t boff, nb; /* slice of the flat buffer array */
    lm_seq branch[2]; /* residual: [0] main path, [1] projection shortcut (n = 0 if none) */
};

/* lm_layer_def.flags: where a layer may stand. */
enum {
    LM_LAYER_IMAGE_IN = 1, /* needs a C x H x W input: refused after a flatten or a dense layer */
    LM_LAYER_FLAT_IN = 2,  /* a flatten is implied before it when its input is an image */
    LM_LAYER_FLAT_OUT = 4  /* later layers see a flat vector */
};

/* lm_layer_def.layout: what a layer does with the channel-blocked activation layout
 * (nn/layout.h); the executor chooses every activation's layout from these (nn/engine/exec.c) */
enum {
    LM_LAYOUT_IN = 1,   /* takes a blocked input, and prefers it */
    LM_LAYOUT_KEEP = 2, /* its output has its input's layout */
    LM_LAYOUT_OUT = 4   /* its output has the layout the executor asks for */
};

struct lm_layer_ops_f32; /* the mathematics: nn/generic.h */
struct lm_layer_ops_f64;

struct lm_layer_def {
    const char *name;   /* in summaries */
    const char *words;  /* the spec words that select it, space-separated; NULL: the name */
    const char *syntax; /* "dense:N[:nobias]": the help, and "expected ..." in messages */
    const char *help;   /* one line */
    unsigned flags;     /* LM_LAYER_* */
    /* Fill L's settings from the text after "word:" (NULL when there is none); `word` is the
     * index of the spec word in `words`. Returns NULL, or why the text is refused: "" when it
     * does not follow `syntax`. NULL: the layer takes no argument and has no settings. */
    const char *(*parse)(lm_layer *L, int word, const char *arg);
    /* Given L->in and the settings, set L->out, L->np and L->nb; fail on shapes that do not
     * fit. `param` decides L->scale. */
    lm_status (*infer)(lm_layer *L, lm_param_kind param);
    /* Append the layer's tensors (offsets relative to its slices) through `add`. NULL: none. */
    void (*tensors)(const lm_layer *L, void (*add)(void *ctx, const char *suffix, int trainable,
                                                   size_t off, int ndim, const int64_t *dims),
                    void *ctx);
    /* Initialise the layer's parameters and buffers; standard weights get variance
     * gain2/fan-in. NULL: nothing to initialise. */
    void (*init)(const lm_layer *L, float *w, float *buf, lm_param_kind param, double gain2,
                 uint64_t seed);
    double (*macs)(const lm_layer *L); /* multiply-adds per sample of the forward pass */
    unsigned (*layout)(const lm_layer *L); /* LM_LAYOUT_* flags; NULL: the plain layout only */
    const struct lm_layer_ops_f32 *ops_f32;
    const struct lm_layer_ops_f64 *ops_f64;
};

/* Every layer definition, in the order of the help; NULL-terminated (nn/layers/registry.c). */
extern const lm_layer_def *const lm_layer_defs[];

/* The kinds that the model builder, the engine and the probes test for. */
extern const lm_layer_def lm_dense_def, lm_conv_def, lm_maxpool_def, lm_avgpool_def, lm_gap_def,
    lm_flatten_def, lm_act_def, lm_dropout_def, lm_bn_def, lm_res_def, lm_kernelfeat_def;
#define L_DENSE (&lm_dense_def)
#define L_CONV (&lm_conv_def)
#define L_MAXPOOL (&lm_maxpool_def)
#define L_AVGPOOL (&lm_avgpool_def)
#define L_GAP (&lm_gap_def)
#define L_FLATTEN (&lm_flatten_def)
#define L_ACT (&lm_act_def)
#define L_DROPOUT (&lm_dropout_def)
#define L_BN (&lm_bn_def)
#define L_RES (&lm_res_def)
#define L_KERNELFEAT (&lm_kernelfeat_def)

/* ---- the spec syntax (nn/spec.c) ---- */

/* Parse one layer's text ("conv:64x3/2") into L (zeroed first, kind and settings). Returns 1,
 * or 0 with why it is refused in why[len]. */
int lm_layer_parse(const char *token, lm_layer *L, char *why, size_t len);

/* Helpers for the layers' parsers; each advances *s past what it read and returns 1, or
 * returns 0 and leaves *s. */
int lm_spec_int(const char **s, int *out);         /* a decimal integer, |v| <= 1e9 */
int lm_spec_number(const char **s, double *out);   /* a number (strtod) */
int lm_spec_flag(const char **s, const char *word); /* ":word" ending at ':' or the end */

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

/* nn/layers/kernel.c: LM_EINVAL when a kernelfeat:...:rkhs layer is followed by anything but
 * flatten and one dense:K:nobias (the RKHS step trains the coefficients of a kernel machine). */
lm_status lm_kernel_check_model(const lm_model *m);

/* Common helpers for layer modules. */
void lm_init_normal(float *w, size_t n, double std, uint64_t seed, int layer_id, int tensor);

#endif
