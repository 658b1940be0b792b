/* Probes of a model (docs/theory.md §4-6): the model Hessian's spectral norm, the loss
 * Hessian's top eigenvalues and trace, the empirical tangent kernel and its spectrum, the
 * linearity / PL* recorder along gradient descent, and width sweeps with a log-log slope.
 *
 * Everything runs in float64. By default a probe converts the model's float32 parameters and
 * buffers up to double (lossless); float64 parameters can be supplied instead.
 *
 * Inputs are row-major, n samples of the model's input shape, one after another.
 *
 * Several outputs. For a model with K outputs, `output` selects f_k (0 <= k < K), or
 * LM_OUTPUT_SUM sums over outputs:
 *   - Hessian probes: the Hessian of sum_k f_k, which is sum_k H(f_k);
 *   - tangent kernel: sum_k J_k J_k^T, the trace over the output axis (neural-tangents'
 *     trace_axes=(-1,)), never the nK x nK block kernel.
 * The linearity recorder needs one scalar output (K = 1 or an explicit k).
 *
 * Randomness (start vectors, Rademacher probes) comes only from linmass/rng.h, stream
 * LM_STREAM_PROBE + k, so a probe with the same seed gives the same numbers.
 *
 * Several processes (the `coll` options, linmass/collective.h; under MPI lm_dist_collective):
 * each process calls the probe with the same model, inputs and options and its own collective;
 * the work is split over them and every process gets the same numbers. NULL: one process. */
#ifndef LINMASS_PROBE_H
#define LINMASS_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "linmass/collective.h"
#include "linmass/exec.h"
#include "linmass/model.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LM_OUTPUT_SUM (-1)

/* How a probe evaluates the network. Zero-initialised means: the model's own parameters,
 * evaluation mode, output 0, batches of 256. */
typedef struct {
    const double *params;  /* num_params values, or NULL: the model's float32 ones, converted */
    const double *buffers; /* num_buffers values, or NULL: the model's, converted */
    lm_mode mode;          /* LM_MODE_EVAL (dropout off, batch norm on running statistics) */
    int output;            /* 0..K-1, or LM_OUTPUT_SUM */
    int max_batch;         /* samples per executor pass; 0: 256 */
} lm_probe_net;

/* ---- symmetric eigenvalue solvers (matrix-free and dense) ---------------------------- */

typedef void (*lm_matvec_fn)(void *ctx, const double *v, double *out);

typedef enum { LM_EIG_LANCZOS = 0, LM_EIG_POWER = 1 } lm_eig_method;
typedef enum { LM_REORTH_AUTO = 0, LM_REORTH_FULL = 1, LM_REORTH_NONE = 2 } lm_reorth;

#define LM_EIG_MAX_TOP 32

typedef struct {
    lm_eig_method method;
    int max_steps;   /* 0: 100 Lanczos steps, or 300 power steps (capped at the dimension) */
    double tol;      /* Lanczos: every wanted Ritz value has residual bound beta_j |s_j| <=
                      * tol * max|theta| (0: 1e-10). Power: stop once ||Hv|| changes by less
                      * than tol relatively (0: never, run max_steps). */
    int top_k;       /* Lanczos: also converge the top_k largest (algebraic) eigenvalues */
    lm_reorth reorth; /* AUTO: full reorthogonalization for top_k > 1 or a basis <= 16 MiB
                       * (within mem_cap), else the plain three-term recurrence, which
                       * still converges to the extreme eigenvalue */
    size_t mem_cap;  /* bytes for the Lanczos basis; 0: 512 MiB */
    uint64_t seed;   /* start vector: lm_rand_normal(seed, LM_STREAM_PROBE + 1, i) */
} lm_eig_opts;

typedef struct {
    double norm;       /* largest |eigenvalue|: the spectral norm */
    double extreme;    /* the signed eigenvalue of largest magnitude */
    double lambda_max, lambda_min; /* largest / smallest Ritz values (power: both = extreme) */
    double top[LM_EIG_MAX_TOP];    /* the top_k largest Ritz values, descending */
    int ntop;
    double residual;   /* residual bound of the norm's Ritz pair (power: ||Hv - theta v||) */
    int steps;         /* operator applications */
    int converged;     /* 1 when the convergence test passed (Lanczos) or tol was met */
    int reorth;        /* 1 when Lanczos reorthogonalised fully */
} lm_eig_result;

/* Extreme eigenvalues of the symmetric operator `op` of dimension dim. */
lm_status lm_sym_extreme_eig(size_t dim, lm_matvec_fn op, void *ctx, const lm_eig_opts *o,
                             lm_eig_result *r);

/* All eigenvalues (ascending) of the symmetric n x n row-major matrix A (LAPACK dsyevd), and
 * the eigenvectors as the rows of vecs when vecs is not NULL. A is not modified. */
lm_status lm_sym_eig(int n, const double *A, double *evals, double *vecs);

/* ---- Hessian-vector products --------------------------------------------------------- */

typedef enum {
    LM_HVP_MODEL = 0, /* phi = sum_i c_i f(x_i): the model Hessian (c_i = 1/n by default) */
    LM_HVP_LOSS = 1   /* phi = the loss of lm_loss_f64 (MSE: (1/2n) sum ||z - t||^2; XENT: mean) */
} lm_hvp_target;

typedef struct {
    lm_probe_net net;
    lm_hvp_target target;
    const double *coef;    /* LM_HVP_MODEL: n weights c_i; NULL: 1/n each */
    lm_loss_kind loss;     /* LM_HVP_LOSS */
    const double *targets; /* LM_HVP_LOSS: MSE n x K values, XENT n class indices */
    const lm_collective *coll; /* NULL: one process. Otherwise process r takes the inputs
                            * [n r / R, n (r+1) / R) and every product (and lm_hvp_value) is
                            * the ordered sum (coll->sum_f64) of the shares, so every process
                            * gets the same bits; within 1e-15 or so of one process's, not
                            * bit-identical (the sums group differently). Every process must
                            * then call every function below that computes, in the same order,
                            * with the same arguments. */
} lm_hvp_opts;

typedef struct lm_hvp lm_hvp;

/* An exact Hessian-vector product (forward-over-reverse) of phi over the inputs x (n
 * samples), in chunks of net.max_batch. x, coef and targets are read at every product, so
 * they must outlive the object. */
lm_status lm_hvp_create(const lm_model *m, const double *x, int n, const lm_hvp_opts *o,
                        lm_hvp **out);
void lm_hvp_free(lm_hvp *h);
size_t lm_hvp_dim(const lm_hvp *h);
/* Point the product at other inputs (same model; any n, chunked; split over the processes
 * with a collective, one input included: one process then computes and the others add
 * zeros). */
void lm_hvp_set_inputs(lm_hvp *h, const double *x, int n, const double *coef,
                       const double *targets);
/* hv = H v. Also usable as an lm_matvec_fn with ctx = h. */
void lm_hvp_apply(void *h, const double *v, double *hv);
/* LM_OK, or the status of the first collective sum that failed in a split product (whose
 * result is then not to be trusted); lm_hvp_apply cannot return it. */
lm_status lm_hvp_status(const lm_hvp *h);
/* phi and its gradient at the current parameters (grad may be NULL). */
double lm_hvp_value(lm_hvp *h, double *grad);
/* The float64 parameters the object works on (its own copy). */
double *lm_hvp_params(lm_hvp *h);
/* The dense p x p Hessian from p products with unit vectors (p <= 20000). */
lm_status lm_hvp_dense(lm_hvp *h, double *H);

/* ---- the model Hessian ---------------------------------------------------------------- */

typedef struct {
    lm_probe_net net;
    lm_eig_opts eig;
    int skip_per_input; /* 1: only the averaged model */
    int skip_average;   /* 1: only the per-input norms */
    const lm_collective *coll; /* NULL: one process. Otherwise the averaged model's products
                         * are split over the inputs (lm_hvp_opts.coll: within rounding of one
                         * process); the per-input runs are split over the inputs and gathered,
                         * bit-identical to one process */
} lm_hessian_opts;

typedef struct {
    /* the averaged model fbar = mean_i f(x_i): ||d^2 fbar / dw^2|| */
    double avg_norm;
    lm_eig_result avg;
    /* each input on its own: max_i and mean_i of ||d^2 f(x_i) / dw^2|| */
    double max_norm, mean_norm;
    int argmax;
    double *per_input;  /* caller's array of n norms, or NULL */
    int steps;          /* Hessian-vector products in all */
    int unconverged;    /* runs that stopped at max_steps without passing the test */
} lm_hessian_result;

lm_status lm_probe_model_hessian(const lm_model *m, const double *x, int n,
                                 const lm_hessian_opts *o, lm_hessian_result *r);

/* For an output f = tanh(f~): the model m is f~ (the net without its final tanh). On n inputs,
 * the root mean square of f~(x_i), and the mean over the inputs of |tanh''(f~(x_i))| K~(x_i, x_i)
 * with K~(x, x) = ||grad f~(x)||^2: the norm of the rank-one term tanh''(f~) grad f~ grad f~^T
 * that the output adds to the model Hessian (docs/theory.md §4.2). */
typedef struct {
    double rms;  /* sqrt(mean_i f~(x_i)^2) */
    double term; /* mean_i |tanh''(f~(x_i))| ||grad f~(x_i)||^2 */
} lm_tanh_output_term;
lm_status lm_probe_tanh_output_term(const lm_model *m, const double *x, int n, const lm_probe_net *net,
                                    lm_tanh_output_term *r);

/* ---- the loss Hessian (as PyHessian reports it) ---------------------------------------- */

typedef struct {
    lm_probe_net net;      /* output is ignored: the loss sees every output */
    lm_loss_kind loss;
    const double *targets; /* MSE: n x K values; XENT: n class indices */
    lm_eig_opts eig;       /* top_k: how many top eigenvalues (0: 1) */
    int hutchinson;        /* Rademacher samples for the trace; 0: 100; < 0: skip */
    const lm_collective *coll; /* NULL: one process; else every product split (lm_hvp_opts) */
} lm_loss_hessian_opts;

typedef struct {
    double loss;
    lm_eig_result eig;  /* eig.top[0..ntop): top eigenvalues, eig.norm the spectral norm */
    double trace;       /* Hutchinson: mean of v^T H v over Rademacher v */
    double trace_se;    /* its standard error */
    int samples;
} lm_loss_hessian_result;

lm_status lm_probe_loss_hessian(const lm_model *m, const double *x, int n,
                                const lm_loss_hessian_opts *o, lm_loss_hessian_result *r);

/* ---- the empirical tangent kernel ------------------------------------------------------ */

typedef enum {
    LM_NTK_AUTO = 0,      /* the Gram identity when it applies, else layerwise */
    LM_NTK_GRAM = 1,      /* all-dense nets: sum over dense layers of s^2 (A A^T) o (D D^T) + D D^T */
    LM_NTK_PER_SAMPLE = 2, /* any model: per-sample gradients in blocks, K = G G^T */
    LM_NTK_LAYERWISE = 3   /* any model (AUTO's choice where the Gram identity does not apply):
                            * per-sample gradients of the non-dense layers, and each dense layer's
                            * Gram identity term, in blocks of samples like per-sample's */
} lm_ntk_method;

typedef struct {
    lm_probe_net net;
    lm_ntk_method method;
    size_t mem_cap; /* bytes for the kernel and its scratch (Gram matrices and activations, or
                     * gradient blocks); 0: 1 GiB. Over it: LM_ENOMEM naming the size needed. */
    const lm_collective *coll; /* NULL: one process. Otherwise every process gets K
                     * bit-identical to one process's. Gram identity: each process forms the
                     * row blocks of K it owns (every R-th block of 256 inputs) and K is summed
                     * (each entry comes from one process, the others add zeros). Per-sample,
                     * when every gradient row fits: process r computes the rows of inputs
                     * [n r / R, n (r+1) / R), the rows are gathered, and each process forms
                     * its row blocks of K (blocks of 64 dealt in snake order: 0 1 1 0 0 1 ..
                     * on 2 processes); when they do not fit, process r takes every R-th block
                     * row of the blocked scheme (its gradient blocks and products) */
} lm_ntk_opts;

typedef struct {
    lm_ntk_method method; /* the one used */
    size_t bytes;         /* the memory it planned */
    int block;            /* per-sample, layerwise: rows held at once */
    long passes;          /* per-sample, layerwise: rows formed, one per sample and output (on this
                           * process), from batched backward passes */
} lm_ntk_info;

/* 1 when the Gram identity applies: a top-level sequence of dense, flatten, activation and
 * dropout layers only. */
int lm_ntk_gram_applies(const lm_model *m);

/* K (n x n, row-major, symmetric) = J J^T for the selected output. info may be NULL. */
lm_status lm_probe_ntk(const lm_model *m, const double *x, int n, const lm_ntk_opts *o,
                       double *K, lm_ntk_info *info);

/* The summary of a tangent kernel's spectrum. For gradient descent w <- w - lr grad L on
 * L = 1/2 ||F - y||^2 (docs/theory.md §4.3, §5): lambda_min is the PL* constant on these inputs
 * (when positive), lr_catapult the step above which descent leaves the linear regime. */
typedef struct {
    double lambda_min, lambda_max;
    double cond;        /* lambda_max / lambda_min (infinite when lambda_min <= 0) */
    double trace;
    double mean_diag;   /* trace / n: the mean of K(x_i, x_i) */
    double frobenius;
    double lr_catapult; /* 2 / lambda_max (infinite when lambda_max <= 0) */
    double lr_default;  /* 1 / lambda_max, half the catapult threshold (0 when lambda_max <= 0) */
} lm_spectrum;

/* The spectrum of a symmetric kernel (dsyevd); evals (n, ascending) may be NULL. */
lm_status lm_kernel_spectrum(const double *K, int n, lm_spectrum *s, double *evals);

/* The tangent kernel of lm_probe_ntk and its spectrum in one call. K (n x n) and evals (n,
 * ascending) receive the kernel and its eigenvalues when not NULL; info may be NULL. With
 * o->coll every process gets the same K and spectrum. */
lm_status lm_probe_ntk_spectrum(const lm_model *m, const double *x, int n, const lm_ntk_opts *o,
                                double *K, double *evals, lm_spectrum *s, lm_ntk_info *info);

/* ---- linearity and PL* along full-batch gradient descent ------------------------------- */

/* Convention (docs/theory.md §5): L(w) = 1/2 ||F(w) - y||^2, F stacking f(w; x_i) over the n
 * training inputs, without a 1/n; grad L = J^T (F - y); PL ratio ||grad L||^2 / (2 L), which
 * is >= lambda_min(K); mu-PL*: 1/2 ||grad L||^2 >= mu L. GD: w <- w - lr * grad L. */
typedef struct {
    lm_probe_net net;        /* net.params: w0 (NULL: the model's) */
    const double *y;         /* n targets */
    double lr;               /* eta; 0: 1/lambda_max(K_0), half the catapult threshold */
    int steps;               /* T */
    int record_every;        /* record at t = 0, k, 2k, ... and T; 0: max(1, T / 10) */
    const double *x_test;    /* held-out inputs for |f - f_lin| (may be NULL) */
    int n_test;
    lm_ntk_opts ntk;         /* method, memory cap and collective of the kernels (net is taken
                              * from above); with ntk.coll every process runs the same descent
                              * and the kernels are split over the processes */
} lm_linearity_opts;

typedef struct {
    int step;
    double loss;          /* L(w_t) */
    double dist;          /* ||w_t - w0|| */
    double kernel_change; /* ||K_t - K_0||_F / ||K_0||_F on the training inputs */
    double lin_gap_max;   /* max over held-out x of |f(w_t; x) - f_lin(w_t; x)| */
    double lin_gap_rms;   /* root mean square of the same */
    double lambda_min, lambda_max; /* of K_t */
    double pl_ratio;      /* ||grad L(w_t)||^2 / (2 L(w_t)) */
    double pl_over_lambda_min; /* pl_ratio / lambda_min(K_t) (>= 1; NAN when lambda_min <= 0) */
    double loss_ratio;    /* L(w_{t+1}) / L(w_t) */
    double bound;         /* 1 - lr * lambda_min(K_t): the PL* bound on loss_ratio */
    double rate_bound;    /* L_0 (1 - lr mu)^t, mu of the PL* summary: the whole run's bound */
    double path_bound;    /* L_0 times the earlier records' bounds, each raised to the steps
                           * until the next record: with record_every 1 the step-by-step PL*
                           * bound L_0 prod_{s < t} (1 - lr lambda_min(K_s)) */
} lm_linearity_record;

/* The run against PL* (docs/theory.md §5), from the records. */
typedef struct {
    double mu;            /* min over the records of lambda_min(K_t): the PL* constant on the path */
    double loss_next;     /* L(w_{T+1}), the loss after the last step */
    double rate_bound;    /* L_0 (1 - lr mu)^(T+1) (1 - lr mu clamped at 0): its PL* bound */
    double worst_excess;  /* max over the records of loss_ratio - bound (<= 0: all below) */
    int below_bound;      /* every recorded loss ratio <= 1 - lr lambda_min(K_t) */
    int pl_ge_lambda_min; /* every PL ratio >= lambda_min(K_t) (to 1e-9 relative) */
} lm_plstar_summary;

typedef struct {
    double lr;            /* the step used: lm_linearity_opts.lr, or 1/lambda_max(K_0) */
    int lr_auto;          /* 1 when lr is the default 1/lambda_max(K_0) */
    double lambda_min0, lambda_max0;
    double lr_catapult;   /* 2 / lambda_max(K_0) */
    int catapult;         /* 1 when lr > lr_catapult: the measurement is in the catapult regime */
    double loss0, loss_final;
    int steps_done;
    lm_linearity_record *records; /* allocated by the probe: free with lm_linearity_free */
    int n_records;
    lm_plstar_summary plstar; /* set when the run finished (LM_OK) */
    double *params_final; /* w_T (num_params), allocated by the probe */
} lm_linearity_result;

/* Returns LM_EDIVERGED (with the records so far) if the loss stops being finite. */
lm_status lm_probe_linearity(const lm_model *m, const double *x, int n,
                             const lm_linearity_opts *o, lm_linearity_result *r);
void lm_linearity_free(lm_linearity_result *r);

/* The records whose loss ratio exceeds the bound weakened by a smoothness slack e,
 * 1 - (1 - e) lr lambda_min(K_t): the guarantee when the smoothness along the step is up to
 * (1 + e) times the one lr was chosen for. */
int lm_linearity_steps_above(const lm_linearity_result *r, double slack);

/* beta, the smoothness of L(w) = 1/2 ||F(w) - y||^2 at the parameters of net (the spectral norm
 * of its Hessian: the loss Hessian probe on the MSE, times n), by Lanczos with eig; the PL* rate
 * guarantee holds for lr <= 1/beta. The model must have one output. */
lm_status lm_probe_gd_smoothness(const lm_model *m, const double *x, int n, const double *y,
                                 const lm_probe_net *net, const lm_eig_opts *eig, double *beta);

/* Inputs for gradient-descent experiments: x (n x d) with N(0, 1) entries (lm_rand_normal,
 * seed, stream LM_STREAM_DATA + 2) and y (n) uniform in (-0.8, 0.8) (seed + 1, the same
 * stream), targets that a tanh output can reach. */
void lm_probe_regression_data(uint64_t seed, int n, int d, double *x, double *y);

/* ---- width sweeps ---------------------------------------------------------------------- */

typedef enum { LM_SWEEP_HESSIAN = 0, LM_SWEEP_NTK = 1, LM_SWEEP_LINEARITY = 2 } lm_sweep_probe;

typedef enum {
    LM_SWEEP_DEFAULT = 0,      /* hessian: HESS_MEAN; ntk: NTK_LAMBDA_MAX; linearity: LIN_KERNEL */
    LM_SWEEP_HESS_MEAN,        /* mean over inputs of ||H(f(x_i))|| */
    LM_SWEEP_HESS_MAX,         /* max over inputs of ||H(f(x_i))|| */
    LM_SWEEP_HESS_AVG,         /* ||H(fbar)|| of the averaged model */
    LM_SWEEP_NTK_LAMBDA_MIN,
    LM_SWEEP_NTK_LAMBDA_MAX,
    LM_SWEEP_NTK_TRACE,
    LM_SWEEP_LIN_KERNEL,       /* relative kernel change at the last step */
    LM_SWEEP_LIN_GAP,          /* max |f - f_lin| at the last step */
    LM_SWEEP_LIN_DIST          /* ||w_T - w0|| */
} lm_sweep_value;

/* Least-squares fit y = intercept + slope * x, with a 95% interval for the slope from the
 * t distribution with n - 2 degrees of freedom. */
typedef struct {
    double slope, intercept, se, ci_lo, ci_hi, r2;
    int dof;
} lm_fit;

/* What the sweep hands its hook after each model: the probe's whole result, valid during the
 * call only (copy what is wanted). */
typedef struct {
    int width_index, seed_index;
    int width;
    uint64_t seed;                /* the model's initialisation seed */
    const lm_model *model;
    double value;                 /* the swept value */
    const lm_hessian_result *hessian;     /* LM_SWEEP_HESSIAN, else NULL */
    const lm_spectrum *ntk;               /* LM_SWEEP_NTK, else NULL */
    const lm_linearity_result *linearity; /* LM_SWEEP_LINEARITY, else NULL */
} lm_sweep_model;

/* Called once per model, in order (width by width, seeds within a width); a status other than
 * LM_OK stops the sweep with it. */
typedef lm_status (*lm_sweep_hook)(void *ctx, const lm_sweep_model *model);

typedef struct {
    const char *template_spec; /* every 'W' is replaced by the width: "dense:W,tanh,dense:1" */
    lm_shape in;
    lm_param_kind param;
    const int *widths;
    int n_widths;
    int seeds;                 /* models per width, initialised from seed, seed + 1, ... */
    uint64_t seed;
    lm_sweep_probe probe;
    lm_sweep_value value;
    const double *x;           /* the probe's inputs (the linearity probe's training inputs) */
    int n;
    lm_hessian_opts hessian;   /* options of each probe; net.params / buffers are ignored */
    lm_ntk_opts ntk;
    lm_linearity_opts linearity; /* linearity.lr 0: each model's own 1/lambda_max(K_0) */
    lm_sweep_hook on_model;    /* may be NULL */
    void *hook_ctx;
} lm_sweep_opts;

typedef struct {
    double *values;  /* n_widths x seeds, row-major */
    double *mean;    /* per width, over seeds */
    double *sd;      /* per width, sample standard deviation over seeds (0 for one seed) */
    lm_fit fit;      /* log(value) against log(width), over every (width, seed) point */
    int n_widths, seeds;
} lm_sweep_result;

lm_status lm_sweep_width(const lm_sweep_opts *o, lm_sweep_result *r);
void lm_sweep_free(lm_sweep_result *r);

/* One step for every model of a linearity sweep: 1 / the larger lambda_max(K_0) of the narrowest
 * and the widest model at the first seed (o->linearity's net, output and kernel options). Below
 * every model's catapult threshold when lambda_max(K_0) is monotone in the width. LM_EINVAL
 * when that lambda_max is not positive. */
lm_status lm_sweep_shared_lr(const lm_sweep_opts *o, double *lr);

/* The template with every 'W' replaced by `width`. */
lm_status lm_spec_with_width(const char *tmpl, int width, char *buf, size_t len);
lm_status lm_linear_fit(const double *x, const double *y, int n, lm_fit *fit);
/* log-log fit: log y against log x (all must be positive). */
lm_status lm_loglog_fit(const double *x, const double *y, int n, lm_fit *fit);
/* The 0.975 quantile of Student's t with dof degrees of freedom (dof >= 1). */
double lm_t_quantile_975(int dof);

#ifdef __cplusplus
}
#endif
#endif
