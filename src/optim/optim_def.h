/* Optimizer descriptors (internal). Each optimizer is one descriptor, defined in its kernel file
 * (src/optim/kernels/, compiled for float and double) and listed in src/optim/registry.c; the
 * configuration (names, defaults, options, validation) and the optimizer object read only the
 * descriptors. docs/extending.md has the recipe for adding one. */
#ifndef LM_OPTIM_DEF_H
#define LM_OPTIM_DEF_H

#include "linmass/optim.h"

/* The most state buffers an optimizer has: sizes lm_optim_def.state and the optimizer object. */
#define LM_OPTIM_MAX_STATE 2

/* The options every optimizer accepts. */
#define LM_OPT_COMMON (LM_OPT_LR | LM_OPT_WEIGHT_DECAY | LM_OPT_SCHEDULE | LM_OPT_RESTART)

/* What one step reads besides the arrays. */
typedef struct {
    const lm_optim_config *c; /* the hyper-parameters */
    double lr_factor;         /* the schedule's factor on every step size */
    long t;                   /* the number of this step, 1 on the first */
    int n_state;              /* the state buffers in use (lm_optim_def.num_state) */
} lm_optim_step_args;

typedef struct {
    lm_optim_kind kind;
    const char *name;                      /* "sgd": lm_optim_kind_name, lm_optim_kind_parse */
    const char *state[LM_OPTIM_MAX_STATE]; /* the state buffers' names, in order (checkpoints) */
    int eval_state;    /* the state at which the gradient is taken (mass: u); -1: the weights */
    int state_from_w;  /* a restart copies w into the state (mass); otherwise zeros */
    unsigned options;  /* the LM_OPT_* bits it accepts */
    struct {
        double lr, momentum;
        int nesterov;
    } defaults;        /* over the common ones of lm_optim_config_init */
    /* The state buffers in use for this configuration; NULL: every named one. */
    int (*num_state)(const lm_optim_config *c);
    /* Checks and fills of its own, after the common ones (lr, weight decay, schedule). */
    lm_status (*validate)(lm_optim_config *c);
    /* One step on n weights w with the gradient g and the state buffers s[0..a->n_state) (the
     * other entries of s are NULL). */
    void (*step_f32)(const lm_optim_step_args *a, size_t n, float *w, const float *g, float *const *s);
    void (*step_f64)(const lm_optim_step_args *a, size_t n, double *w, const double *g,
                     double *const *s);
} lm_optim_def;

/* The descriptor of kind k, or NULL (src/optim/registry.c). */
const lm_optim_def *lm_optim_def_of(lm_optim_kind k);

/* LM_OK when lo < v < hi (ends included when lo_in, hi_in say so); otherwise LM_EINVAL with a
 * message naming the optimizer, the option and the value (src/optim/config.c). */
lm_status lm_optim_check_range(const lm_optim_config *c, const char *option, double v, double lo,
                               int lo_in, double hi, int hi_in);

#endif
