/* Optimizers over flat buffers, and learning-rate schedules.
 *
 * Every optimizer is a step over flat arrays of one length n: the weights, the gradient and
 * named state buffers of the same layout. Hyper-parameters are read at every step, so
 * schedules and restarts need no rebuild.
 *
 *   sgd        PyTorch's torch.optim.SGD (momentum, dampening, nesterov, weight_decay):
 *                d = g + wd w;  b = d (first step) or mu b + (1 - dampening) d;
 *                d = d + mu b (nesterov) or b;  w = w - lr d
 *   heavyball  sgd with momentum and dampening 0: w' = w - lr g + mu (w - w_prev)
 *   nesterov   sgd with nesterov=True, dampening 0 (PyTorch's form: the weights it holds are
 *              the look-ahead point u of docs/theory.md §1)
 *   adam       torch.optim.Adam: coupled L2 (g + wd w), bias corrections, eps outside the sqrt
 *   adamw      torch.optim.AdamW: decoupled decay w = w (1 - lr wd), then Adam without L2
 *   mass       MaSS (docs/theory.md §1), gradient taken at u, visible weights w:
 *                w' = u - eta1 g(u);  u' = (1 + gamma) w' - gamma w + eta2 g(u)
 *              or, in the authors' form (eta, alpha, kappa_tilde), with a third sequence v:
 *                w' = u - eta g;  v' = (1 - alpha) v + alpha u - eta/(alpha kappa_tilde) g;
 *                u' = alpha/(1 + alpha) v' + 1/(1 + alpha) w'
 *              Weight decay is coupled L2 at the point where the gradient is taken.
 *
 * The trainer runs forward/backward on lm_optim_eval_point() and evaluates and saves
 * lm_optim_weights(); the two differ only for mass. A schedule multiplies every step size
 * (lr; eta1 and eta2 together; eta, hence delta, in the authors' form). */
#ifndef LINMASS_OPTIM_H
#define LINMASS_OPTIM_H

#include "linmass/api.h"

#include <stddef.h>

#include "linmass/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- flat-array kernels, written once, compiled for float (_f32) and double (_f64) ---- */

typedef struct {
    double lr, momentum, dampening, weight_decay;
    int nesterov;
} lm_sgd_hp;

typedef struct {
    double lr, beta1, beta2, eps, weight_decay;
    int decoupled; /* 1: AdamW */
} lm_adam_hp;

typedef struct { /* MaSS, two-sequence form */
    double eta1, eta2, gamma, weight_decay;
} lm_mass_hp;

typedef struct { /* MaSS, the authors' three-sequence form */
    double eta, alpha, kappa_tilde, weight_decay;
} lm_mass3_hp;

/* t is the number of this step, 1 on the first (SGD sets buf = d then; Adam's bias
 * corrections use beta^t). The _f32 and _f64 versions are one source (src/optim/kernels/). */
LM_API void lm_sgd_step_f32(size_t n, float *w, const float *g, float *buf, const lm_sgd_hp *hp, long t);
LM_API void lm_sgd_step_f64(size_t n, double *w, const double *g, double *buf, const lm_sgd_hp *hp, long t);
LM_API void lm_adam_step_f32(size_t n, float *w, const float *g, float *m, float *v, const lm_adam_hp *hp,
                      long t);
LM_API void lm_adam_step_f64(size_t n, double *w, const double *g, double *m, double *v,
                      const lm_adam_hp *hp, long t);
LM_API void lm_mass_step_f32(size_t n, float *w, float *u, const float *g, const lm_mass_hp *hp);
LM_API void lm_mass_step_f64(size_t n, double *w, double *u, const double *g, const lm_mass_hp *hp);
LM_API void lm_mass3_step_f32(size_t n, float *w, float *u, float *v, const float *g, const lm_mass3_hp *hp);
LM_API void lm_mass3_step_f64(size_t n, double *w, double *u, double *v, const double *g,
                       const lm_mass3_hp *hp);

/* The map between the two MaSS forms (docs/theory.md §1.1): eta1 = eta,
 * gamma = (1 - alpha)/(1 + alpha), eta2 = eta (1 - 1/kappa_tilde)/(1 + alpha); and back,
 * alpha = (1 - gamma)/(1 + gamma), kappa_tilde = 1/(1 - eta2 (1 + alpha)/eta1) (INFINITY when
 * eta2 (1 + alpha) >= eta1: such a MaSS has no authors' form). */
LM_API lm_mass_hp lm_mass_from_authors(lm_mass3_hp a);
LM_API lm_mass3_hp lm_mass_to_authors(lm_mass_hp h);

/* ---- schedules ---- */

typedef enum { LM_SCHED_CONSTANT = 0, LM_SCHED_MULTISTEP, LM_SCHED_COSINE } lm_schedule_kind;

#define LM_SCHED_MAX_MILESTONES 16

typedef struct {
    lm_schedule_kind kind;
    int milestones[LM_SCHED_MAX_MILESTONES]; /* multistep: divide by 10 at these epochs */
    int n_milestones;
    long warmup;      /* linear warm-up over this many steps; 0: none */
    int total_epochs; /* cosine: length of the run, set by the trainer before validation */
} lm_schedule;

/* "constant", "multistep:60,120", "cosine", "warmup:N", or a warm-up combined with another
 * with '+': "warmup:500+cosine". */
LM_API lm_status lm_schedule_parse(const char *spec, lm_schedule *out);

/* The factor multiplying the step sizes in epoch `epoch` (0-based) at global step `step`
 * (0-based, counted over the whole run):
 *   multistep  0.1^(number of milestones <= epoch)     (torch MultiStepLR, stepped per epoch)
 *   cosine     (1 + cos(pi epoch / total_epochs)) / 2  (torch CosineAnnealingLR, per epoch)
 *   warmup:N   times min(1, (step + 1)/N)   (torch LinearLR(1/N, total_iters=N-1), per step) */
LM_API double lm_schedule_factor(const lm_schedule *s, int epoch, long step);

/* 1 when the factor drops at the start of `epoch` (a multistep milestone): where the authors
 * restart MaSS. */
LM_API int lm_schedule_drops_at(const lm_schedule *s, int epoch);

/* Writes the spec back ("warmup:5+multistep:60,120"); returns the length it needed. */
LM_API size_t lm_schedule_format(const lm_schedule *s, char *buf, size_t len);

/* ---- configuration ---- */

typedef enum {
    LM_OPTIM_SGD = 0,
    LM_OPTIM_HEAVYBALL,
    LM_OPTIM_NESTEROV,
    LM_OPTIM_ADAM,
    LM_OPTIM_ADAMW,
    LM_OPTIM_MASS,
    LM_OPTIM_COUNT /* the number of kinds */
} lm_optim_kind;

/* Bits of lm_optim_config.given: the options the user set explicitly. */
enum {
    LM_OPT_LR = 1u << 0,
    LM_OPT_MOMENTUM = 1u << 1,
    LM_OPT_DAMPENING = 1u << 2,
    LM_OPT_NESTEROV = 1u << 3,
    LM_OPT_WEIGHT_DECAY = 1u << 4,
    LM_OPT_BETA1 = 1u << 5,
    LM_OPT_BETA2 = 1u << 6,
    LM_OPT_EPS = 1u << 7,
    LM_OPT_ETA1 = 1u << 8,
    LM_OPT_ETA2 = 1u << 9,
    LM_OPT_GAMMA = 1u << 10,
    LM_OPT_ALPHA = 1u << 11,
    LM_OPT_KAPPA_TILDE = 1u << 12,
    LM_OPT_SCHEDULE = 1u << 13,
    LM_OPT_RESTART = 1u << 14,
    LM_OPT_AUTO = 1u << 15,
    LM_OPT_COUNT = 16 /* the number of options */
};

typedef enum { LM_MASS_AUTHORS = 0, LM_MASS_ETA = 1 } lm_mass_form;

typedef struct {
    lm_optim_kind kind;
    double lr; /* all; for mass the authors' eta */
    double momentum, dampening, weight_decay;
    int nesterov; /* sgd */
    double beta1, beta2, eps;
    lm_mass_form mass_form; /* which form mass steps with; validation fills the other */
    double eta1, eta2, gamma;
    double alpha, kappa_tilde;
    lm_schedule schedule;
    int restart; /* restart the optimizer state at every learning-rate drop */
    int auto_hp; /* "auto": the caller derives the hyper-parameters from the data */
    unsigned given; /* LM_OPT_* */
} lm_optim_config;

/* Defaults: lr 0.01 (adam, adamw: 0.001); momentum 0 for sgd, 0.9 for heavyball and nesterov;
 * betas (0.9, 0.999), eps 1e-8; mass in the authors' form with alpha 0.05, kappa_tilde 3
 * (docs/theory.md §3); constant schedule; no restart. */
LM_API void lm_optim_config_init(lm_optim_config *c, lm_optim_kind kind);

LM_API lm_status lm_optim_kind_parse(const char *name, lm_optim_kind *out);
LM_API const char *lm_optim_kind_name(lm_optim_kind k);

/* Set one option by its name ("beta1", "weight_decay", "kappa_tilde", ...; a '-' may stand for
 * each '_'; "schedule" takes a schedule spec, "nesterov", "restart" and "auto" take 0/1) from
 * its text, and record it in `given`. Unknown names and unparsable values give LM_EINVAL. */
LM_API lm_status lm_optim_config_set(lm_optim_config *c, const char *option, const char *value);

/* The name of an LM_OPT_* bit ("beta1", "kappa_tilde"). */
LM_API const char *lm_optim_option_name(unsigned bit);

/* The LM_OPT_* bits optimizer kind k accepts (0 for an unknown kind). */
LM_API unsigned lm_optim_kind_options(lm_optim_kind k);

/* The value of option `bit` in c as text, as lm_optim_config_set reads it back: a number in the
 * fewer of 15 or 17 significant digits that reads back exactly ("0.01"), 0 or 1 for nesterov,
 * restart and auto, a schedule spec. Returns the length it needed (0 for an unknown bit). */
LM_API size_t lm_optim_config_format(const lm_optim_config *c, unsigned bit, char *buf, size_t len);

/* A line per optimizer kind with every option it accepts and its default, each name in
 * backquotes for a front end to spell: "  mass      `lr` 0.01, `alpha` 0.05, ...\n" (numbers in 6
 * significant digits; both MaSS forms). Returns the length it needed, as snprintf. */
LM_API size_t lm_optim_defaults_help(char *buf, size_t len);

/* Check ranges (lr, eta1 > 0; eta2, weight decay >= 0; momentum, gamma, betas in [0, 1);
 * dampening in [0, 1]; alpha in (0, 1); kappa_tilde >= 1; eps > 0), options that belong to
 * another optimizer (from `given`), and, for mass, that one form was given whole; then fill in
 * the other MaSS form. The message names the optimizer, the option and the value. */
LM_API lm_status lm_optim_config_validate(lm_optim_config *c);

/* ---- the optimizer object ---- */

typedef struct lm_optim lm_optim;

/* An optimizer for the n weights at w (the caller's buffer, e.g. the model's parameters,
 * updated in place). Validates a copy of the configuration. State starts as at a restart. */
LM_API lm_status lm_optim_create(const lm_optim_config *c, float *w, size_t n, lm_optim **out);
LM_API void lm_optim_free(lm_optim *o);

/* One step with the gradient g taken at lm_optim_eval_point(o), step sizes multiplied by
 * lr_factor (the schedule's). */
LM_API void lm_optim_step(lm_optim *o, const float *g, double lr_factor);

/* Where to run forward/backward: u for mass, w otherwise. */
LM_API float *lm_optim_eval_point(lm_optim *o);
/* The visible weights w: evaluation and checkpoints. */
LM_API float *lm_optim_weights(lm_optim *o);

/* Forget the state as if the optimizer were re-created at its evaluation point: momentum
 * buffers and Adam moments cleared, the step count set to 0; for mass w = v = u (the
 * gradient point u becomes the weights, as rebuilding the authors' optimizer from the saved
 * weights does, docs/theory.md §1.1). */
LM_API void lm_optim_restart(lm_optim *o);

/* The hyper-parameters read at every step; they may be changed between steps (for mass, change
 * the fields of c->mass_form). */
LM_API lm_optim_config *lm_optim_hparams(lm_optim *o);

/* Steps taken since the last restart; set it when resuming from a checkpoint. */
LM_API long lm_optim_step_count(const lm_optim *o);
LM_API void lm_optim_set_step_count(lm_optim *o, long t);

/* Named state buffers of length n, for checkpoints: "momentum_buffer" (sgd family with
 * momentum), "exp_avg" and "exp_avg_sq" (adam, adamw), "u" (mass) and "v" (mass, authors'
 * form). Names follow PyTorch's optimizer state_dict where PyTorch has one. */
LM_API int lm_optim_num_state(const lm_optim *o);
LM_API const char *lm_optim_state_name(const lm_optim *o, int i);
LM_API float *lm_optim_state(lm_optim *o, int i);
LM_API size_t lm_optim_size(const lm_optim *o);

#ifdef __cplusplus
}
#endif
#endif
