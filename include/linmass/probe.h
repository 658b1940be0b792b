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
 *     trace_axes=(-1,)); the nK x nK block kernel, which gradient descent on a multi-output
 *     square loss sees, is asked for by lm_ntk_opts.block.
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

#include "linmass/api.h"


#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "linmass/collective.h"
#include "linmass/exec.h"
#include "linmass/model.h"
#include "linmass/report.h"
#include "linmass/run.h"

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

/* The methods' names, "lanczos" and "power" (NULL for another value), and the method named
 * `name` into *m: LM_EINVAL "method 'NAME' is not lanczos or power" otherwise. */
LM_API const char *lm_eig_method_name(lm_eig_method m);
LM_API lm_status lm_eig_method_parse(const char *name, lm_eig_method *m);

#define LM_EIG_MAX_TOP 32

typedef struct {
    lm_eig_method method;
    int max_steps;   /* 0: 100 Lanczos steps, or 300 power steps (capped at the dimension) */
    double tol;      /* Lanczos: every wanted Ritz value has residual bound beta_j |s_j| <=
                      * tol * max|theta| (0: 1e-10). Power: stop once ||Hv|| changes by less
                      * than tol relatively (0: never, run max_steps). */
    int top_k;       /* Lanczos: also the top_k largest (algebraic) eigenvalues, each as often as
                      * it occurs: for top_k > 1, runs with deflation and restarts (docs/theory.md
                      * §7.4), each from a fresh start vector kept orthogonal to the converged
                      * Ritz vectors, until no run finds a value above the top_k-th */
    int want_min;    /* Lanczos: 1: the convergence test also covers the smallest Ritz value */
    lm_reorth reorth; /* AUTO: full reorthogonalization for top_k > 1 or a basis <= 16 MiB
                       * (within mem_cap), else the plain three-term recurrence, which
                       * still converges to the extreme eigenvalue. NONE with top_k > 1: LM_EINVAL */
    size_t mem_cap;  /* bytes for the Lanczos basis (and, top_k > 1, 3 top_k + 2 more vectors);
                      * 0: 512 MiB */
    uint64_t seed;   /* start vector of run r: lm_rand_normal(seed, LM_STREAM_PROBE + 1, r dim + i) */
} lm_eig_opts;

typedef struct {
    double norm;       /* largest |eigenvalue|: the spectral norm */
    double extreme;    /* the signed eigenvalue of largest magnitude */
    double lambda_max, lambda_min; /* largest / smallest Ritz values (power: both = extreme) */
    double top[LM_EIG_MAX_TOP];    /* the top_k largest Ritz values, descending, repeated values
                                    * as often as they occur (top_k > 1) */
    double top_residual[LM_EIG_MAX_TOP]; /* how converged each is: ||A y - top[t] y|| for its unit
                                    * Ritz vector y (top_k > 1: one more product each; top_k = 1:
                                    * the bound beta_k |s_k|). An eigenvalue lies within it of top[t],
                                    * and the ntop values match ntop eigenvalues counted with
                                    * multiplicity within sqrt(sum_t top_residual[t]^2) (Kahan) */
    int ntop;
    double residual;   /* residual bound of the norm's Ritz pair (power: ||Hv - theta v||) */
    double max_residual, min_residual; /* ... of lambda_max's and lambda_min's (first run) */
    int steps;         /* operator applications */
    int runs;          /* Lanczos runs (restarts + 1) */
    int converged;     /* 1 when the convergence test passed (Lanczos; top_k > 1: in every run, and
                        * the last run found nothing above the top_k-th value) or tol was met */
    int reorth;        /* 1 when Lanczos reorthogonalised fully */
} lm_eig_result;

/* Extreme eigenvalues of the symmetric operator `op` of dimension dim. */
LM_API lm_status lm_sym_extreme_eig(size_t dim, lm_matvec_fn op, void *ctx, const lm_eig_opts *o,
                             lm_eig_result *r);

/* All eigenvalues (ascending) of the symmetric n x n row-major matrix A (LAPACK dsyevd), and
 * the eigenvectors as the rows of vecs when vecs is not NULL. A is not modified. */
LM_API lm_status lm_sym_eig(int n, const double *A, double *evals, double *vecs);

/* ---- Hessian-vector products --------------------------------------------------------- */

typedef enum {
    LM_HVP_MODEL = 0, /* phi = sum_i c_i f(x_i): the model Hessian (c_i = 1/n by default) */
    LM_HVP_LOSS = 1,  /* phi = the loss of lm_loss_f64 (MSE: (1/2n) sum ||z - t||^2; XENT: mean) */
    /* The two parts of the loss Hessian, LOSS = GAUSS_NEWTON + RESIDUAL (docs/theory.md §7.7),
     * each from one tangent forward and one backward per chunk: */
    LM_HVP_GAUSS_NEWTON = 2, /* J^T H_l J v: the output tangent J v, times the loss Hessian in output
                              * space H_l (MSE: I/n; softmax cross-entropy: (diag p - p p^T)/n per
                              * sample), back through a plain backward (J^T) */
    LM_HVP_RESIDUAL = 3      /* sum_i sum_k (dl/dz_ik) H_{f_k(x_i)} v: the model Hessians weighted by
                              * the loss gradient (zero at interpolation) */
} lm_hvp_target;

typedef struct {
    lm_probe_net net;
    lm_hvp_target target;
    const double *coef;    /* LM_HVP_MODEL: n weights c_i; NULL: 1/n each */
    lm_loss_kind loss;     /* LM_HVP_LOSS */
    const double *targets; /* every target but MODEL: MSE n x K values, XENT n class indices */
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
LM_API lm_status lm_hvp_create(const lm_model *m, const double *x, int n, const lm_hvp_opts *o,
                        lm_hvp **out);
LM_API void lm_hvp_free(lm_hvp *h);
LM_API size_t lm_hvp_dim(const lm_hvp *h);
/* Point the product at other inputs (same model; any n, chunked; split over the processes
 * with a collective, one input included: one process then computes and the others add
 * zeros). */
LM_API void lm_hvp_set_inputs(lm_hvp *h, const double *x, int n, const double *coef,
                       const double *targets);
/* hv = H v. Also usable as an lm_matvec_fn with ctx = h. */
LM_API void lm_hvp_apply(void *h, const double *v, double *hv);
/* LM_OK, or the status of the first collective sum that failed in a split product (whose
 * result is then not to be trusted); lm_hvp_apply cannot return it. */
LM_API lm_status lm_hvp_status(const lm_hvp *h);
/* phi and its gradient at the current parameters (grad may be NULL); the two parts of the loss
 * Hessian give the loss and its gradient. */
LM_API double lm_hvp_value(lm_hvp *h, double *grad);
/* The float64 parameters the object works on (its own copy). */
LM_API double *lm_hvp_params(lm_hvp *h);
/* The dense p x p Hessian from p products with unit vectors (p <= 20000). */
LM_API lm_status lm_hvp_dense(lm_hvp *h, double *H);

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

LM_API lm_status lm_probe_model_hessian(const lm_model *m, const double *x, int n,
                                 const lm_hessian_opts *o, lm_hessian_result *r);

/* For an output f = tanh(f~): the model m is f~ (the net without its final tanh). On n inputs,
 * the root mean square of f~(x_i), and the mean over the inputs of |tanh''(f~(x_i))| K~(x_i, x_i)
 * with K~(x, x) = ||grad f~(x)||^2: the norm of the rank-one term tanh''(f~) grad f~ grad f~^T
 * that the output adds to the model Hessian (docs/theory.md §4.2). */
typedef struct {
    double rms;  /* sqrt(mean_i f~(x_i)^2) */
    double term; /* mean_i |tanh''(f~(x_i))| ||grad f~(x_i)||^2 */
} lm_tanh_output_term;
LM_API lm_status lm_probe_tanh_output_term(const lm_model *m, const double *x, int n, const lm_probe_net *net,
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

LM_API lm_status lm_probe_loss_hessian(const lm_model *m, const double *x, int n,
                                const lm_loss_hessian_opts *o, lm_loss_hessian_result *r);

/* The Gauss-Newton split of the loss Hessian (docs/theory.md §7.7): H = G + R with
 * G = J^T H_l J and R = sum_i (dl/dz_i) H_{f(x_i)}. Each part as the loss Hessian probe reports
 * it: the top eigenvalues (o->eig) and the Hutchinson trace, from the same Rademacher vectors for
 * all three, so that the three traces add up sample by sample. */
typedef struct {
    lm_loss_hessian_result loss;         /* H */
    lm_loss_hessian_result gauss_newton; /* G: positive semi-definite for both losses */
    lm_loss_hessian_result residual;     /* R */
} lm_gauss_newton_result;

LM_API lm_status lm_probe_gauss_newton(const lm_model *m, const double *x, int n, const lm_loss_hessian_opts *o,
                                lm_gauss_newton_result *r);

/* ---- the diagonal and the trace of a symmetric operator (docs/theory.md §7.2, §7.8) ------ */

typedef struct {
    int exact_max; /* exact when dim <= exact_max: dim products with unit vectors, A_jj = (A e_j)_j;
                    * 0: 2000; < 0: never */
    int samples;   /* otherwise Hutchinson's estimator from this many Rademacher vectors; 0: 100 */
    uint64_t seed; /* vector s, entry i: bit i % 128 of lm_philox(seed, LM_STREAM_PROBE + 2,
                    * s ceil(dim / 128) + i / 128), 1 -> +1, 0 -> -1 */
} lm_diag_opts;

typedef struct {
    double *diag;     /* caller's array of dim values, or NULL (the trace alone) */
    double *se;       /* caller's array of dim standard errors (0 when exact), or NULL */
    double trace;     /* sum of the diagonal: exact, or mean_s v_s^T A v_s */
    double trace_se;  /* 0 when exact */
    int exact;        /* 1: exact */
    int samples;      /* Rademacher vectors used (0 when exact) */
    int products;     /* operator applications */
} lm_diag_result;

/* diag(A) exactly or by Hutchinson, diag ~ mean_s v_s o (A v_s), with the standard error of each
 * entry (the sample standard deviation of v_s,i (A v_s)_i over the vectors, / sqrt(samples)). */
LM_API lm_status lm_sym_diagonal(size_t dim, lm_matvec_fn op, void *ctx, const lm_diag_opts *o, lm_diag_result *r);

/* The diagonal of the Hessian that h selects (model, loss or a part), in state_dict order. */
LM_API lm_status lm_probe_hessian_diagonal(const lm_model *m, const double *x, int n, const lm_hvp_opts *h,
                                    const lm_diag_opts *o, lm_diag_result *r);

/* ---- spectral density by stochastic Lanczos quadrature (docs/theory.md §7.5) ------------- */

typedef enum { LM_VECTORS_RADEMACHER = 0, LM_VECTORS_GAUSSIAN = 1 } lm_random_vectors;

/* "rademacher", "gaussian" (NULL for another value); the parse: LM_EINVAL "vectors 'NAME' is
 * not rademacher or gaussian" for another name. */
LM_API const char *lm_random_vectors_name(lm_random_vectors v);
LM_API lm_status lm_random_vectors_parse(const char *name, lm_random_vectors *v);

typedef struct {
    int probes;                /* random start vectors; 0: 10 */
    int steps;                 /* Lanczos steps per vector, fully reorthogonalised; 0: 80 (at most
                                * the dimension) */
    lm_random_vectors vectors; /* Rademacher (entries +-1, drawn as lm_diag_opts says, on stream
                                * LM_STREAM_PROBE + 3) or Gaussian (vector s, entry i:
                                * lm_rand_normal(seed, LM_STREAM_PROBE + 3, s dim + i)), each
                                * normalised to unit length */
    uint64_t seed;
    size_t mem_cap;            /* bytes for the basis (steps + 1 vectors); 0: 512 MiB */
} lm_slq_opts;

typedef struct {
    size_t dim;
    int probes, steps;  /* as run */
    int n;              /* nodes in all: probe s has count[s] <= steps (fewer when its Krylov space
                         * closes, when the quadrature is exact) */
    double *nodes;      /* n Ritz values, probe by probe, ascending within each */
    double *weights;    /* n weights: the squared first components of the eigenvectors of each
                         * probe's tridiagonal, / probes: each probe's sum to 1 / probes, all to 1 */
    int *count;         /* probes values */
    double lambda_min, lambda_max; /* the smallest and largest node */
    double trace, trace_se; /* dim times the mean over probes of v^T A v (= sum_j tau_j^2 theta_j),
                         * with its standard error */
    int products;       /* operator applications */
    lm_random_vectors vectors; /* as run */
} lm_density;

/* The spectral density of the symmetric operator op of dimension dim: the probes' Ritz values
 * (nodes) and weights, to be freed with lm_density_free. */
LM_API lm_status lm_slq(size_t dim, lm_matvec_fn op, void *ctx, const lm_slq_opts *o, lm_density *d);
LM_API void lm_density_free(lm_density *d);

/* The default smoothing width: 1% of the span of the nodes (lambda_max - lambda_min), or 1e-3 of
 * max |node| when they coincide (and 1 when every node is 0). */
LM_API double lm_density_sigma(const lm_density *d);

/* The smoothed density rho(t) = sum_j w_j exp(-(t - theta_j)^2 / (2 sigma^2)) / (sigma sqrt(2 pi))
 * (it integrates to 1) on m >= 2 equally spaced points t from lambda_min - 4 sigma to lambda_max
 * + 4 sigma, into t and rho (m values each). */
LM_API void lm_density_smooth(const lm_density *d, double sigma, int m, double *t, double *rho);

/* The spectral density of the Hessian that h selects (model, loss or a part). */
LM_API lm_status lm_probe_hessian_density(const lm_model *m, const double *x, int n, const lm_hvp_opts *h,
                                   const lm_slq_opts *o, lm_density *d);

/* ---- per-layer and per-tensor blocks of a Hessian (docs/theory.md §7.6) --------------------- */

typedef enum { LM_BLOCK_LAYER = 0, LM_BLOCK_TENSOR = 1 } lm_block_kind;

/* "layer", "tensor" (NULL for another value); the parse: LM_EINVAL "block_kind 'NAME' is not
 * layer or tensor" for another name. */
LM_API const char *lm_block_kind_name(lm_block_kind k);
LM_API lm_status lm_block_kind_parse(const char *name, lm_block_kind *k);

typedef struct {
    char name[64];        /* the state_dict name ("0.weight") or its layer prefix ("0") */
    size_t offset, count; /* the parameters [offset, offset + count) */
} lm_param_block;

/* The model's parameter blocks in state_dict order: one per trainable tensor, or one per layer
 * with parameters (consecutive tensors that share the name up to the last '.'). Writes up to max
 * into out (which may be NULL) and returns how many there are. */
LM_API int lm_param_blocks(const lm_model *m, lm_block_kind kind, lm_param_block *out, int max);

/* The block P^T A P of a symmetric operator A of dimension dim (P: the block's columns of the
 * identity): a matvec of dimension block.count, through full-length scratch vectors. */
typedef struct {
    lm_matvec_fn op;
    void *ctx;
    size_t dim;
    lm_param_block block;
    double *in, *out; /* dim values each */
} lm_block_op;

LM_API lm_status lm_block_op_init(lm_block_op *b, size_t dim, lm_matvec_fn op, void *ctx, const lm_param_block *block);
/* out = P^T A P v (v and out: block.count values). Usable as an lm_matvec_fn with ctx = b. */
LM_API void lm_block_op_apply(void *b, const double *v, double *out);
LM_API void lm_block_op_free(lm_block_op *b);

typedef struct {
    lm_eig_opts eig;            /* top eigenvalues per block (eig.top_k; 0: 1) */
    lm_diag_opts trace;         /* the block's trace: exact or Hutchinson (lm_sym_diagonal) */
    const lm_slq_opts *density; /* the block's spectral density too; NULL: none */
} lm_block_opts;

typedef struct {
    lm_param_block block;
    lm_eig_result eig;     /* eig.norm: the block's spectral norm; eig.top: its top eigenvalues */
    lm_diag_result trace;  /* trace.trace, trace.trace_se (diag and se are NULL) */
    lm_density density;    /* zero unless asked */
} lm_block_spectrum;

/* The spectra of the blocks of the Hessian that h selects, in state_dict order: out has room for
 * lm_param_blocks(m, kind, NULL, 0) entries; *count receives how many were filled. Free the
 * densities with lm_block_spectra_free. */
LM_API lm_status lm_probe_hessian_blocks(const lm_model *m, const double *x, int n, const lm_hvp_opts *h,
                                  lm_block_kind kind, const lm_block_opts *o, lm_block_spectrum *out, int *count);
LM_API void lm_block_spectra_free(lm_block_spectrum *b, int count);
/* One smoothing width for the densities of n blocks, so that they draw on one scale:
 * lm_density_sigma of the nodes of them all (their smallest lambda_min to largest lambda_max). */
LM_API double lm_block_density_sigma(const lm_block_spectrum *b, int n);

/* ---- the Hessian probe as one job: numbers, summary, JSON and figures ------------------- */

/* The spectra the job adds to the model Hessian's norms (docs/theory.md §7.4-7.8); all 0: none. */
typedef struct {
    int density;              /* spectral densities of the loss and model Hessians (SLQ) */
    lm_slq_opts slq;          /* their probes (0: 10), steps (0: 80) and vectors; seed and mem_cap
                               * are the job's eig's */
    double sigma;             /* smoothing width; 0: lm_density_sigma (blocks: lm_block_density_sigma) */
    int grid;                 /* points of each smoothed density in the JSON and figures; 0: 400 */
    int blocks;               /* per-block spectra of both Hessians (density too when asked) */
    lm_block_kind block_kind;
    int block_top;            /* top eigenvalues per block, at most LM_EIG_MAX_TOP; 0: 3 */
    int gauss_newton;         /* the split H = G + R of the loss Hessian */
    int diagonal;             /* the loss Hessian's diagonal (exact up to 2000 parameters) */
} lm_hessian_spectra_opts;

typedef struct {
    const char *model;        /* the spec, preset or alias the model came from: its loss is
                               * lm_run_loss(model, classes) on lm_run_targets; the sweep: the
                               * template, every 'W' the width */
    const char *data;         /* the data source's name, for the text */
    int output;               /* the model Hessian of output k, or LM_OUTPUT_SUM */
    lm_eig_opts eig;          /* every eigenvalue run (method, max_steps, tol, seed, mem_cap) */
    int skip_per_input;       /* 1: the averaged model's norm only */
    int loss_top;             /* top eigenvalues of the loss Hessian, 0..LM_EIG_MAX_TOP (0: none) */
    int hutchinson;           /* Rademacher samples of its trace (0: none) */
    lm_hessian_spectra_opts spectra;
    /* lm_hessian_sweep_job: the widths (at least two different), the models' parameterisation
     * and initialisation seed */
    const int *widths;
    int n_widths;
    lm_param_kind param;
    uint64_t seed;
    const lm_collective *coll; /* NULL: one process; else every probe split (lm_hessian_opts) */
    const char *folder;        /* the run folder the caller writes, recorded as "run"; NULL: none */
} lm_hessian_job_opts;

/* The options' own checks, which lm_hessian_job and lm_hessian_sweep_job make first: eig's method,
 * max_steps >= 0 and tol >= 0, loss_top in 0..LM_EIG_MAX_TOP, hutchinson >= 0, the spectra's
 * fields (probes, steps >= 0; grid 0 or >= 2; sigma >= 0; block_top in 0..LM_EIG_MAX_TOP; the
 * kinds), and with widths the sweep's rules (two different widths, no density or diagonal, the
 * Gauss-Newton split or the blocks, a W in model when given). LM_EINVAL with a message that
 * starts with the field at fault and its value: "loss_top 40 is not in 0..32". */
LM_API lm_status lm_hessian_job_opts_validate(const lm_hessian_job_opts *o);

/* The Hessian probe of `linmass probe hessian` on in's model and inputs: the model Hessian's
 * norms (lm_probe_model_hessian), the loss Hessian's top eigenvalues and Hutchinson trace
 * (lm_probe_loss_hessian; skipped with a reason when the model's outputs do not fit the data),
 * and the spectra asked for. Appends to r the summary (text) and the figures
 * (hessian_per_input.png, hessian_density_{loss,model}.png, hessian_blocks.png,
 * hessian_block_density_{loss,model}.png, each when there is something to draw), records the
 * main numbers as measured, and sets *json (malloc'ed) to an object with the keys probe
 * ("hessian"), those of lm_probe_inputs_json, run (o->folder or null), ranks, method,
 * those of lm_hessian_result_json, definitions, loss_hessian (null when skipped, with
 * loss_hessian_skipped), the spectra's (density, model_density, blocks, model_blocks, block,
 * gauss_newton, residual_part, diagonal, diagonal_se, diagonal_exact, diagonal_samples) and
 * seconds. Progress goes to r's callback. LM_EINVAL for bad options, naming the field. */
LM_API lm_status lm_hessian_job(const lm_probe_inputs *in, const lm_hessian_job_opts *o, lm_report *r, char **json);

/* The width sweep of the job (docs/theory.md §7.6, §7.7): for every width of o->widths, the
 * model o->model with W replaced, initialised from o->seed (lm_sweep_width with a hook), probed
 * on in's inputs for the Gauss-Newton split and the block norms (o->spectra.gauss_newton or
 * .blocks; density and diagonal are refused). Appends the tables and log-log fits against width
 * and the figures gauss_newton_sweep.png and block_norms_sweep.png to r; *json: probe, the keys
 * of lm_probe_inputs_json (of in's model: the last width's), run, ranks, template, sweep
 * (one object per width: width, model, num_params, loss_hessian and the spectra's keys), fits
 * (slope, ci_lo, ci_hi, r2 under each fitted name) and seconds. in->model is not used. */
LM_API lm_status lm_hessian_sweep_job(const lm_probe_inputs *in, const lm_hessian_job_opts *o, lm_report *r,
                                      char **json);

/* ---- the empirical tangent kernel ------------------------------------------------------ */

typedef enum {
    LM_NTK_AUTO = 0,      /* the Gram identity when it applies, else layerwise */
    LM_NTK_GRAM = 1,      /* all-dense nets: sum over dense layers of s^2 (A A^T) o (D D^T) + D D^T */
    LM_NTK_PER_SAMPLE = 2, /* any model: per-sample gradients in blocks, K = G G^T */
    LM_NTK_LAYERWISE = 3   /* any model (AUTO's choice where the Gram identity does not apply):
                            * per-sample gradients of the non-dense layers, and each dense layer's
                            * Gram identity term, in blocks of samples like per-sample's */
} lm_ntk_method;

/* "auto", "gram", "per-sample", "layerwise" (NULL for another value); the parse: LM_EINVAL
 * "method 'NAME' is not auto, gram, per-sample or layerwise" for another name. */
LM_API const char *lm_ntk_method_name(lm_ntk_method m);
LM_API lm_status lm_ntk_method_parse(const char *name, lm_ntk_method *m);

typedef struct {
    lm_probe_net net;
    int block;      /* 1: the block kernel over every output (net.output is ignored), nK x nK with
                     * row and column i K + k for output k of input i: K[iK+k][jK+l] =
                     * <grad f_k(x_i), grad f_l(x_j)> (docs/theory.md §7.9) */
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
LM_API int lm_ntk_gram_applies(const lm_model *m);

/* The kernel's dimension: n, or n K for the block kernel. */
LM_API size_t lm_ntk_dim(const lm_model *m, int n, const lm_ntk_opts *o);

/* K (lm_ntk_dim square, row-major, symmetric) = J J^T for the selected output, or the block
 * kernel. info may be NULL. */
LM_API lm_status lm_probe_ntk(const lm_model *m, const double *x, int n, const lm_ntk_opts *o,
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
LM_API lm_status lm_kernel_spectrum(const double *K, int n, lm_spectrum *s, double *evals);

/* The tangent kernel of lm_probe_ntk and its spectrum in one call. K (N x N, N = lm_ntk_dim)
 * and evals (N, ascending) receive the kernel and its eigenvalues when not NULL; info may be
 * NULL. With o->coll every process gets the same K and spectrum. */
LM_API lm_status lm_probe_ntk_spectrum(const lm_model *m, const double *x, int n, const lm_ntk_opts *o,
                                double *K, double *evals, lm_spectrum *s, lm_ntk_info *info);

/* ---- tangent kernels too large to store (docs/theory.md §7.9) ---------------------------- */

/* The kernel as an operator, K v = J (J^T v), never formed: J^T v by one batched backward (a VJP)
 * with the output gradient v, then J u by one batched tangent forward (a JVP) with the parameter
 * tangent u, in chunks of net.max_batch. One output: dimension n; the sum over outputs: one pair
 * of passes per output; the block kernel (o->block): dimension n K, one pair of passes. Memory:
 * two executors of net.max_batch samples and three p-vectors (lm_ntk_op_bytes), whatever n. With
 * o->coll, process r takes the inputs [n r / R, n (r+1) / R): J^T v is summed over the processes
 * and the rows of J u gathered, so every process gets the same product. x must outlive it. */
typedef struct lm_ntk_op lm_ntk_op;

LM_API lm_status lm_ntk_op_create(const lm_model *m, const double *x, int n, const lm_ntk_opts *o, lm_ntk_op **out);
LM_API void lm_ntk_op_free(lm_ntk_op *k);
LM_API size_t lm_ntk_op_dim(const lm_ntk_op *k);
/* The bytes the operator holds (executors and vectors). */
LM_API size_t lm_ntk_op_bytes(const lm_ntk_op *k);
/* kv = K v. Also usable as an lm_matvec_fn with ctx = k. */
LM_API void lm_ntk_op_apply(void *k, const double *v, double *kv);
/* LM_OK, or the first failed collective call of a product. */
LM_API lm_status lm_ntk_op_status(const lm_ntk_op *k);

/* The trace of the kernel without forming it: sum_i ||grad f(x_i)||^2 (summed over the outputs
 * for the sum and the block kernel), from the Gram identity's diagonal (one batched backward per
 * output, dense networks) or from single-sample gradients (any model). With o->coll the inputs are
 * split and the sums added. */
LM_API lm_status lm_probe_ntk_trace(const lm_model *m, const double *x, int n, const lm_ntk_opts *o, double *trace);

typedef struct {
    lm_ntk_opts ntk; /* net, block, coll; mem_cap (0: 1 GiB) bounds the operator and the Lanczos
                      * basis together: the basis gets what the operator leaves, and the plain
                      * three-term recurrence runs when a full basis does not fit */
    lm_eig_opts eig; /* Lanczos (method, mem_cap and want_min are set here); max_steps 0: 100 */
} lm_ntk_matfree_opts;

typedef struct {
    double lambda_max, lambda_min; /* extreme Ritz values, with eig.max_residual, eig.min_residual */
    double trace;                  /* lm_probe_ntk_trace */
    double lr_catapult;            /* 2 / lambda_max (infinite when lambda_max <= 0) */
    lm_eig_result eig;
    size_t dim;                    /* n, or n K for the block kernel */
    size_t bytes;                  /* planned: the operator, the Lanczos basis and the tridiagonal */
} lm_ntk_matfree_result;

/* lambda_max, lambda_min and the trace of the tangent kernel on n inputs without forming it:
 * Lanczos on lm_ntk_op (whose convergence test covers both ends) and lm_probe_ntk_trace. LM_ENOMEM
 * when the operator alone exceeds the cap. */
LM_API lm_status lm_probe_ntk_matfree(const lm_model *m, const double *x, int n, const lm_ntk_matfree_opts *o,
                               lm_ntk_matfree_result *r);

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
LM_API lm_status lm_probe_linearity(const lm_model *m, const double *x, int n,
                             const lm_linearity_opts *o, lm_linearity_result *r);
LM_API void lm_linearity_free(lm_linearity_result *r);

/* The records whose loss ratio exceeds the bound weakened by a smoothness slack e,
 * 1 - (1 - e) lr lambda_min(K_t): the guarantee when the smoothness along the step is up to
 * (1 + e) times the one lr was chosen for. */
LM_API int lm_linearity_steps_above(const lm_linearity_result *r, double slack);

/* beta, the smoothness of L(w) = 1/2 ||F(w) - y||^2 at the parameters of net (the spectral norm
 * of its Hessian: the loss Hessian probe on the MSE, times n), by Lanczos with eig; the PL* rate
 * guarantee holds for lr <= 1/beta. The model must have one output. */
LM_API lm_status lm_probe_gd_smoothness(const lm_model *m, const double *x, int n, const double *y,
                                 const lm_probe_net *net, const lm_eig_opts *eig, double *beta);

/* Inputs for gradient-descent experiments: x (n x d) with N(0, 1) entries (lm_rand_normal,
 * seed, stream LM_STREAM_DATA + 2) and y (n) uniform in (-0.8, 0.8) (seed + 1, the same
 * stream), targets that a tanh output can reach. */
LM_API void lm_probe_regression_data(uint64_t seed, int n, int d, double *x, double *y);

/* ---- the tangent-kernel and gradient-descent probes as one job each ------------------- */

/* Each job runs its probe on the opened inputs and builds what is shown of it: appended to r,
 * the summary (text), the figures and the main numbers (measured); into *json (malloc'ed) the
 * result object: "probe", the keys of lm_probe_inputs_json, "run" (folder, or null), "ranks"
 * (the collective's processes), the probe's own keys and "seconds". One progress step (r's
 * callback) announces the run. With coll every process runs the job and gets the same numbers;
 * the first process alone writes a file. LM_EINVAL names the option at fault; on any failure
 * *json is NULL. */
typedef struct {
    int output;                /* k, or LM_OUTPUT_SUM (probe.h) */
    int block;                 /* 1: the block kernel of every output (output must be the sum) */
    lm_ntk_method method;
    int matrix_free;           /* 1: lambda_max, lambda_min and the trace without forming K
                                * (lm_probe_ntk_matfree) */
    int steps;                 /* Lanczos steps of the matrix-free runs (0: 100) */
    uint64_t seed;             /* of the Lanczos start vectors */
    size_t mem_cap;            /* bytes for a kernel and its scratch (0: 1 GiB) */
    const lm_collective *coll; /* NULL: one process */
    const char *npy;           /* also write K to this .npy file (float64); NULL: no */
    const char *folder;        /* the run folder the caller writes, recorded as "run"; NULL: none */
} lm_ntk_job_opts;

/* The options' own checks, which the job makes first (it also checks output against the model,
 * and refuses method gram for a model outside lm_ntk_gram_applies, matrix_free or not: "method
 * gram: 'SPEC' has layers other than dense, ..."):
 * output k >= 0 or LM_OUTPUT_SUM, block only with the sum, a method of lm_ntk_method, steps >= 0,
 * npy not empty and not with matrix_free. LM_EINVAL with a message that starts with the field at
 * fault: "steps -1 must not be negative", "npy 'K.npy': matrix-free forms no kernel to write". */
LM_API lm_status lm_ntk_job_opts_validate(const lm_ntk_job_opts *o);

/* The tangent kernel on the inputs (lm_probe_ntk_spectrum, or lm_probe_ntk_matfree), and, for
 * the sum of several outputs, the block kernel's lambda_max by Lanczos, which sets the catapult
 * step of gradient descent on the multi-output square loss. Figure: ntk_spectrum.png (not
 * matrix-free). Measured: lambda_min, lambda_max, trace, lr_catapult, and block_lambda_max
 * when computed. */
LM_API lm_status lm_probe_ntk_job(const lm_probe_inputs *in, const lm_ntk_job_opts *o, lm_report *r, char **json);

typedef struct {
    int plstar;                /* 0: the linearity report, 1: the PL* report of the same run */
    int output;                /* k; LM_OUTPUT_SUM only for a model of one output */
    const double *y;           /* in->n scalar targets (lm_run_output_targets) */
    double lr;                 /* 0: 1/lambda_max(K_0) */
    int steps, record_every;   /* lm_linearity_opts' */
    size_t mem_cap;            /* bytes for each kernel and its scratch (0: 1 GiB) */
    const lm_collective *coll; /* NULL: one process */
    const char *folder;        /* as lm_ntk_job_opts' */
} lm_gd_job_opts;

/* The options' own checks, which the job makes first (it also checks output and y against the
 * inputs): steps >= 1, lr >= 0 and finite (0: 1/lambda_max(K_0)), record_every >= 0. LM_EINVAL with a message that
 * starts with the field at fault: "steps 0 must be at least 1". */
LM_API lm_status lm_gd_job_opts_validate(const lm_gd_job_opts *o);

/* Full-batch gradient descent with the linearity / PL* recorder (lm_probe_linearity) on the
 * inputs, with in->x_test as the held-out inputs. Figures: loss.png, and kernel_change.png
 * (linearity) or plstar.png (PL*). Measured: lr (the step used), lambda_min0, lambda_max0,
 * lr_catapult, loss0, loss_final, mu. A progress step warns of the catapult regime. */
LM_API lm_status lm_probe_gd_job(const lm_probe_inputs *in, const lm_gd_job_opts *o, lm_report *r, char **json);

/* ---- width sweeps ---------------------------------------------------------------------- */

typedef enum {
    LM_SWEEP_HESSIAN = 0,
    LM_SWEEP_NTK = 1,
    LM_SWEEP_LINEARITY = 2,
    LM_SWEEP_HOOK = 3 /* no probe of the sweep's own: the hook probes each model (values NaN, no fit) */
} lm_sweep_probe;

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
 * LM_OK stops the sweep with it. LM_EINTERRUPTED (a stop asked for, e.g. by a signal) keeps
 * what was done: see lm_sweep_width. */
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
    lm_fit fit;      /* log(value) against log(width), over every (width, seed) point; NaN
                        (dof 0) with fewer than two widths */
    int n_widths, seeds;
} lm_sweep_result;

/* Probe every model and fit. When the hook returns LM_EINTERRUPTED the sweep stops there and
 * returns it with r holding the widths whose every seed is done (the first n_widths of o's,
 * the model the hook was handed counts) as a sweep over those widths alone
 * would give them; with none done r is empty (freed). Any other failure frees r. */
LM_API lm_status lm_sweep_width(const lm_sweep_opts *o, lm_sweep_result *r);
LM_API void lm_sweep_free(lm_sweep_result *r);

/* One step for every model of a linearity sweep: 1 / the larger lambda_max(K_0) of the narrowest
 * and the widest model at the first seed (o->linearity's net, output and kernel options). Below
 * every model's catapult threshold when lambda_max(K_0) is monotone in the width. LM_EINVAL
 * when that lambda_max is not positive. */
LM_API lm_status lm_sweep_shared_lr(const lm_sweep_opts *o, double *lr);

/* The values' names (JSON and options: "mean", "max", "avg", "lambda-min", "lambda-max",
 * "trace", "kernel", "gap", "dist") and labels ("mean_i ||H(f(x_i))||", ...); LM_SWEEP_DEFAULT
 * gives NULL. The probes' names: "hessian", "ntk", "linearity". */
LM_API const char *lm_sweep_value_name(lm_sweep_value v);
LM_API const char *lm_sweep_value_label(lm_sweep_value v);
LM_API const char *lm_sweep_probe_name(lm_sweep_probe p);
/* The value of probe p named `name` ("default": the probe's first) into *v; LM_EINVAL naming
 * the probe's values otherwise. */
LM_API lm_status lm_sweep_value_parse(lm_sweep_probe p, const char *name, lm_sweep_value *v);
/* The probe named `name` (one of lm_sweep_probe_name's) into *p; LM_EINVAL "probe 'NAME' is not
 * hessian, ntk or linearity" otherwise. */
LM_API lm_status lm_sweep_probe_parse(const char *name, lm_sweep_probe *p);
/* A width list "64,128,256": at least two different widths, each in 1..1000000, into *widths
 * (malloc'ed, *n of them); LM_EINVAL "widths 'TEXT' is not a comma-separated list of positive
 * whole numbers" or "widths 'TEXT': a slope needs at least two different widths". */
LM_API lm_status lm_widths_parse(const char *text, int **widths, int *n);

/* A width sweep with its summary, figure and JSON (what linmass sweep width shows). */
typedef struct {
    lm_sweep_opts sweep;          /* linearity.lr 0: lm_sweep_shared_lr; sweep.on_model (may be
                                     NULL) is called after each model, before the stop check */
    const char *data;             /* the inputs' source, named in the summary and the JSON */
    volatile sig_atomic_t *stop;  /* may be NULL; set non-zero (a signal handler may): stop after
                                     the model in hand, keeping the widths done */
    lm_progress_fn progress;      /* may be NULL: STEP lines (the step, the start) and a DETAIL
                                     line per model "width W seed S/K: VALUE  (T s)" */
    void *progress_ctx;
} lm_sweep_report_opts;

typedef struct {
    lm_sweep_result result; /* the widths done (all, unless stopped) */
    double lr;              /* linearity: every model's step; else 0 */
    double seconds;         /* from the first model on */
    int planned;            /* widths asked for */
    lm_report *report;      /* body: the summary (the table per width, the slope with its
                               interval, the theory's expectation, a line when stopped, the
                               seconds); then the figure sweep.png (log-log: each seed, the mean,
                               the fit and the theory's slope for hessian and kernel values) */
    char *json;             /* sweep, probe, value, value_label, template, param, data, inputs,
                               seeds, seed, (linearity: steps, lr), lm_sweep_result_json's keys,
                               seconds, and widths_planned when stopped */
} lm_sweep_report_out;

/* The options' own checks, which lm_sweep_report makes first: seeds >= 1; for the hessian
 * probe hessian.eig.tol >= 0; for the linearity probe linearity.steps >= 1, linearity.lr >= 0
 * and finite, linearity.n_test >= 0, and at least 1 for the value gap. LM_EINVAL with a message
 * that starts with the field at fault: "seeds 0 must be at least 1". */
LM_API lm_status lm_sweep_opts_validate(const lm_sweep_opts *o);

/* Run the sweep and build its report. LM_EINTERRUPTED when stopped: out holds the widths whose
 * every seed was done (report and json NULL when none was). Any other failure leaves out empty.
 * Free with lm_sweep_report_free (after any status). */
LM_API lm_status lm_sweep_report(const lm_sweep_report_opts *o, lm_sweep_report_out *out);
LM_API void lm_sweep_report_free(lm_sweep_report_out *out);

/* The template with every 'W' replaced by `width`. */
LM_API lm_status lm_spec_with_width(const char *tmpl, int width, char *buf, size_t len);
LM_API lm_status lm_linear_fit(const double *x, const double *y, int n, lm_fit *fit);
/* log-log fit: log y against log x (all must be positive). */
LM_API lm_status lm_loglog_fit(const double *x, const double *y, int n, lm_fit *fit);
/* The 0.975 quantile of Student's t with dof degrees of freedom (dof >= 1). */
LM_API double lm_t_quantile_975(int dof);

/* ---- results as JSON ------------------------------------------------------------------ */

/* Each returns a JSON object as text (free() it; NULL when out of memory), its keys named after
 * the result's fields; non-finite numbers are null. What the command line's result.json and
 * --json print, and what another program can store next to its own keys. */

/* avg_norm, avg_eigenvalue, max_norm, argmax, mean_norm, per_input (n values), hvp_products,
 * unconverged; n = 0 when the per-input norms were skipped: max_norm, mean_norm and per_input
 * are null and argmax is left out. */
LM_API char *lm_hessian_result_json(const lm_hessian_result *r, int n);
/* top, top_residual, norm, converged, and trace, trace_se, samples (trace null when no
 * Hutchinson samples were drawn). */
LM_API char *lm_loss_hessian_result_json(const lm_loss_hessian_result *r);
/* nodes, weights, count, probes, steps, vectors ("rademacher" or "gaussian"), lambda_min,
 * lambda_max, trace, trace_se, sigma, and the density smoothed with sigma (lm_density_smooth)
 * on `grid` points: grid (the eigenvalues) and density; then products. */
LM_API char *lm_density_json(const lm_density *d, double sigma, int grid);
/* An array of n objects: name, offset, params, top, top_residual, norm, converged, trace,
 * trace_se, trace_exact, and density (lm_density_json with sigma and grid) when the block has
 * one. */
LM_API char *lm_block_spectra_json(const lm_block_spectrum *b, int n, double sigma, int grid);
/* lambda_min, lambda_max, cond, trace, frobenius, and eigenvalues (the n of evals). */
LM_API char *lm_spectrum_json(const lm_spectrum *s, const double *evals, int n);
/* bytes, lambda_min, lambda_max, lambda_min_residual, lambda_max_residual, converged, products
 * (the Lanczos operator applications), trace. */
LM_API char *lm_ntk_matfree_result_json(const lm_ntk_matfree_result *r);
/* lr, lr_auto, lr_catapult, catapult, lambda_min0, lambda_max0, loss0, loss_final, mu,
 * pl_rate_bound, all_below_bound, pl_ratio_ge_lambda_min (the PL* summary), and records: each
 * step, loss, dist, kernel_change, lin_gap_max and lin_gap_rms (when held_out: the run had
 * held-out inputs), lambda_min, lambda_max, pl_ratio, loss_ratio, bound. */
LM_API char *lm_linearity_result_json(const lm_linearity_result *r, int held_out);
/* widths (r->n_widths of them), values (per width, one per seed), mean, sd, slope, intercept,
 * se, ci95 ([ci_lo, ci_hi]), r2, dof. */
LM_API char *lm_sweep_result_json(const lm_sweep_result *r, const int *widths);

#ifdef __cplusplus
}
#endif
#endif
