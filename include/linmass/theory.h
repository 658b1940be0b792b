/* The linear-regression theory of MaSS (docs/theory.md §2), in float64.
 *
 * Setting: f(w) = (1/n) sum_i 1/2 (<w, x_i> - y_i)^2 with an interpolating w*, mini-batches of
 * m samples drawn uniformly with replacement. Constants (§2.1-2.2):
 *   H = E[x x^T], L = lambda_max(H), mu = smallest non-zero eigenvalue of H, kappa = L/mu,
 *   L1 = smallest c with E[|x|^2 x x^T] <= c H, kappa_tilde = smallest c with
 *   E[(x^T H^+ x) x x^T] <= c H (both computed exactly as lambda_max of the whitened matrix on
 *   the range of H), L_m = L1/m + (m-1) L/m, kappa_m = L_m/mu,
 *   kappa_tilde_m = kappa_tilde/m + (m-1)/m.
 * Exact expected dynamics (§2.3): E[e e^T] of e = (w - w*, u - w*) evolves linearly; the
 * spectral radius rho of that operator is the asymptotic contraction of E|w - w*|^2 per step. */
#ifndef LINMASS_THEORY_H
#define LINMASS_THEORY_H

#include "linmass/api.h"

#include <stdint.h>

#include "linmass/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Eigenvalues of H below LM_RANK_RTOL * lambda_max(H) count as zero (null directions). */
#define LM_RANK_RTOL 1e-10

/* Largest dimension for the general second-moment operator (its size is d(2d+1)). Diagonal
 * population moments (Gaussian with diagonal H, decoupled data) use a 3d-dimensional invariant
 * subspace and allow up to LM_THEORY_MAX_DIAG_DIM. */
#define LM_THEORY_MAX_DIM 30
#define LM_THEORY_MAX_DIAG_DIM 400

typedef struct {
    int d, rank, m;
    double L, mu, kappa, trace;
    double L1, L1_bound;                   /* exact; max_i |x_i|^2 (INFINITY for populations) */
    double kappa_tilde, kappa_tilde_bound; /* exact; max_i x_i^T H^+ x_i (INFINITY likewise) */
    double kappa_1;                        /* L1/mu */
    /* for the batch size m: */
    double L_m, kappa_m, kappa_tilde_m;
    double sgd_lr, sgd_rate;               /* 1/L_m and 1 - 1/kappa_m */
    double mass_eta1, mass_eta2, mass_gamma; /* section 2.2 */
    double mass_eta, mass_alpha, mass_kappa_tilde, mass_delta; /* the same, authors' form */
    double mass_speed, mass_rate;          /* 1/sqrt(kappa_m kappa_tilde_m), 1 - that */
    double m1_star, m2_star;               /* min and max of (L1/L, kappa_tilde) */
} lm_constants;

/* Constants of the n x d data X (row-major, float64) for batch size m >= 1. */
LM_API lm_status lm_linreg_constants(const double *X, int n, int d, int m, lm_constants *out);

/* How far the n x d data X with targets Y (n x k, row-major) are from interpolation: the
 * least-squares loss floor min_W (1/2n) sum_i |W^T x_i - y_i|^2 (the minimum-norm W on the range
 * of H, eigenvalues below LM_RANK_RTOL * lambda_max as zero) into *floor_loss, and the loss at
 * W = 0, (1/2n) sum_i |y_i|^2, into *zero_loss. The theory's rates assume a floor of 0; above
 * it SGD and MaSS only reach a noise floor. */
LM_API lm_status lm_linreg_residual(const double *X, const double *Y, int n, int d, int k, double *floor_loss,
                             double *zero_loss);

/* Where the theory's assumptions fail (docs/theory.md §2.1-2.2), one sentence each (at most
 * LM_WARNING_LEN characters) into lines: no interpolation (floor_loss > 1e-9 zero_loss, the
 * two from lm_linreg_residual; floor_loss < 0: no targets, not checked), mu/L below 1e-8
 * (float32's rounding cannot resolve the slowest directions), and an SGD or MaSS rate that
 * rounds to 1 at 8 significant digits. Returns the number of sentences, 0 to
 * LM_MAX_WARNINGS. */
#define LM_MAX_WARNINGS 4
#define LM_WARNING_LEN 320
LM_API int lm_constants_warnings(const lm_constants *k, double floor_loss, double zero_loss,
                                 char lines[LM_MAX_WARNINGS][LM_WARNING_LEN]);

/* Constants of Gaussian data x ~ N(0, H) (H d x d, symmetric PSD): L1 = 2 lambda_max + tr H,
 * kappa_tilde = rank(H) + 2, computed through the fourth moments. */
LM_API lm_status lm_gaussian_constants(const double *H, int d, int m, lm_constants *out);

/* Recompute the fields that depend on the batch size. */
LM_API void lm_constants_set_batch(lm_constants *c, int m);

/* ---- data distributions through their second and fourth moments ---- */

typedef enum {
    LM_MOMENTS_DATA = 0,   /* the n rows of X, each with probability 1/n */
    LM_MOMENTS_GAUSSIAN,   /* x ~ N(0, H) */
    LM_MOMENTS_DECOUPLED   /* x = sqrt(d) sigma_i z e_i, i uniform in 1..d, z ~ N(0, 1)
                              (§2.4 for d = 2): H = diag(sigma^2),
                              L1 = 3 d max sigma_i^2, kappa_tilde = 3 d */
} lm_moments_kind;

typedef struct {
    lm_moments_kind kind;
    int d;
    const double *X; /* DATA: n x d, row-major */
    int n;
    const double *H;      /* GAUSSIAN: d x d covariance */
    const double *sigma2; /* DECOUPLED: the d variances sigma_i^2 */
} lm_moments;

/* Constants from the moments (any kind; for DATA it agrees with lm_linreg_constants). */
LM_API lm_status lm_moments_constants(const lm_moments *mo, int m, lm_constants *out);

/* H = E[x x^T] and F(A) = E[(x x^T) A (x x^T)] for a symmetric d x d A (row-major):
 * DATA (1/n) sum (x_i^T A x_i) x_i x_i^T; GAUSSIAN 2 H A H + tr(A H) H; DECOUPLED
 * diag(3 d sigma_i^4 A_ii). */
LM_API lm_status lm_moments_second(const lm_moments *mo, double *H);
LM_API lm_status lm_moments_fourth(const lm_moments *mo, const double *A, double *out);

/* ---- exact expected dynamics ---- */

typedef enum { LM_THEORY_SGD = 0, LM_THEORY_NESTEROV, LM_THEORY_MASS } lm_theory_method;

typedef struct {
    double eta1;  /* SGD's step, or MaSS's / Nesterov's eta1 */
    double eta2;  /* MaSS only (Nesterov is eta2 = 0) */
    double gamma; /* Nesterov and MaSS */
} lm_theory_hp;

/* The linear operator on the second moments, as an N x N row-major matrix (malloc'ed, the
 * caller frees it) acting on the upper triangle of the symmetric state matrix, row by row:
 * for SGD the d x d E[e e^T]; for Nesterov and MaSS the 2d x 2d E[z z^T] of z = (w - w*, u - w*).
 * With diagonal=1 (only for diagonal population moments) the state is the invariant subspace
 * of diagonal blocks: for each coordinate i, (E[e_i^2]) or (E[ew_i^2], E[ew_i eu_i], E[eu_i^2]). */
LM_API lm_status lm_theory_operator(const lm_moments *mo, lm_theory_method method, lm_theory_hp hp,
                             int m, int diagonal, double **M, int *N);

/* 1 when the moments keep diagonal second moments diagonal (Gaussian with diagonal H,
 * decoupled data), so that rho can be computed on the small diagonal subspace. */
LM_API int lm_moments_is_diagonal(const lm_moments *mo);

/* The spectral radius rho of the operator (LAPACK dgeev): E|w - w*|^2 ~ rho^t. rho > 1 means
 * divergence in expectation. */
LM_API lm_status lm_theory_rate(const lm_moments *mo, lm_theory_method method, lm_theory_hp hp, int m,
                         double *rho);

/* E|w_t - w*|^2 for t = 0..steps (out has steps + 1 values) of the method at batch size m,
 * started at w0 = u0 = w* + e0 (e0: d values), by iterating the second-moment operator from
 * E[z0 z0^T] (on its diagonal subspace for diagonal population moments, which holds the whole
 * trace). Exact: no sampling. */
LM_API lm_status lm_theory_curve(const lm_moments *mo, lm_theory_method method, lm_theory_hp hp, int m,
                          const double *e0, int steps, double *out);

/* ---- the expected iterate, per eigen-direction of H ---- */

/* On an eigenvector of H with eigenvalue lambda, E(w - w*, u - w*) is multiplied each step by a
 * 2 x 2 matrix (SGD: the scalar 1 - eta lambda) whatever the batch size; rho is its spectral
 * radius squared, the asymptotic factor per step of |E e|^2 along that direction (the units of
 * lm_theory_rate). The batches' noise is not in it: lm_theory_rate is the rate of E|e|^2. */
LM_API lm_status lm_theory_mean_rate(lm_theory_method method, lm_theory_hp hp, double lambda, double *rho);

/* For t = 0..steps: sum_k weight_k (E ew_k(t))^2 into out_w and sum_k weight_k (E eu_k(t))^2
 * into out_u (either may be NULL; SGD: both the same), over d eigen-directions with eigenvalues
 * lambda (>= 0) started at w0 = u0 with E ew_k(0) = 1. With weight_k the share of the loss at
 * the start along direction k, these are the loss of the expected iterate at w and at the
 * gradient point u: exact for the expected iterate, and lower bounds of the expected loss
 * (Jensen). */
LM_API lm_status lm_theory_mean_curve(lm_theory_method method, lm_theory_hp hp, const double *lambda,
                               const double *weight, int d, int steps, double *out_w, double *out_u);

/* ---- Monte-Carlo simulation ---- */

typedef struct {
    int m;            /* mini-batch size, samples drawn with replacement */
    int runs, steps;  /* runs >= 2 (for the standard error), steps >= 0 */
    const double *e0; /* w0 - w* = u0 - w* (d values; NULL: all ones) */
    uint64_t seed;
    uint64_t stream;  /* run r draws from stream + r (lm_rand_*) */
} lm_simulate_opts;

/* Runs SGD, Nesterov or MaSS on linear regression with w* = 0 through the optimizer kernels
 * (lm_sgd_step_f64, lm_mass_step_f64; the gradient at u, or at w for SGD) and returns, for
 * t = 0..steps, the mean over runs of |w_t - w*|^2 (mean) and its standard error (se, or NULL).
 * Samples x: DATA a row of X, uniform with replacement; GAUSSIAN x = H^(1/2) z, z ~ N(0, I)
 * (sqrt(H_ii) z_i for a diagonal H); DECOUPLED x = sqrt(d) sigma_i z e_i, i uniform. Sample j
 * of step t of a run is draw k = t m + j of its stream (normals lm_rand_normal(seed, stream,
 * k d + i); DATA rows and DECOUPLED coordinates from lm_rand_uniform). A run whose error
 * stops being finite at step t makes mean and se not finite from step t on. */
LM_API lm_status lm_theory_simulate(const lm_moments *mo, lm_theory_method method, lm_theory_hp hp,
                             const lm_simulate_opts *o, double *mean, double *se);

/* ---- best-tuned rates ---- */

typedef struct {
    lm_theory_method method;
    int done, total;        /* evaluations so far, and the expected number (an estimate while
                               the local search runs) */
    double elapsed, left;   /* seconds so far, and an estimate of the seconds left */
} lm_theory_progress;

typedef struct {
    int grid;     /* points per hyper-parameter of the first grid, >= 5; 0: from the size of the
                     operator (lm_theory_default_grid) */
    int threads;  /* evaluations in parallel (< 1: lm_get_threads()); each on one BLAS thread */
    void (*progress)(void *ctx, const lm_theory_progress *p); /* called on the calling thread */
    void *progress_ctx;
} lm_theory_search_opts;

/* The options as a caller sets them: grid 0 or at least 5 ("grid 3 is not 0 or >= 5"), threads
 * not negative ("threads -1 is negative"). LM_EINVAL with a message that starts with the
 * field. */
LM_API lm_status lm_theory_search_opts_validate(const lm_theory_search_opts *o);

typedef struct {
    double rho;            /* the best rate found */
    lm_theory_hp hp;       /* its hyper-parameters */
    int evaluations;
    double closed_rho;     /* rho at the closed-form point: SGD 1/L_m, MaSS section 2.2
                              (docs/theory.md §2.2); NAN for Nesterov, which has none */
    lm_theory_hp closed_hp;
    int beats_closed_form; /* 1 when the search found a rho more than 1e-12 below closed_rho
                              (always 1 for Nesterov); 0: the result is the closed-form point */
} lm_theory_best;

/* The best-tuned rate of one method over x = (log eta1, log(1 - gamma), eta2/eta1), in the box
 * log eta1 in [log(1e-3/L_m), log(4/L_m)] (SGD: the only parameter), 1 - gamma in [1e-5, 1]
 * (Nesterov, MaSS), eta2/eta1 in [0, 1] (MaSS), stretched to hold the closed-form point.
 * Candidates: the closed-form point (SGD 1/L_m; Nesterov MaSS's section 2.2 step and momentum
 * with eta2 = 0; MaSS its section 2.2 point) and a grid of opts->grid points per parameter;
 * then Nelder-Mead, with restarts, from the best few of them. The result is never worse than
 * the closed-form point (from lm_linreg_constants for data, lm_moments_constants otherwise). How fine the search is follows the operator's size: for at most 100
 * rows a grid of 12, 3 starts, convergence at 1e-7 of the box; for more than 1000 rows (d > 22
 * on data) a grid of 5, 2 starts, 1e-3 and at most 50 evaluations per start. Results do not
 * depend on the number of threads. opts may be NULL (defaults). */
LM_API lm_status lm_theory_best_rate(const lm_moments *mo, lm_theory_method method, int m,
                              const lm_theory_search_opts *opts, lm_theory_best *out);

/* SGD, Nesterov and MaSS in turn (out[LM_THEORY_SGD..LM_THEORY_MASS]), each search with the
 * previous method's best among its candidates (SGD is Nesterov at gamma = 0, Nesterov is MaSS
 * at eta2 = 0), so that rho(MaSS) <= rho(Nesterov) <= rho(SGD) up to rounding. Progress
 * covers all three. */
LM_API lm_status lm_theory_tune(const lm_moments *mo, int m, const lm_theory_search_opts *opts,
                         lm_theory_best out[3]);

/* The first grid's points per parameter when opts->grid is 0: 12 for operators of at most
 * 100 rows (d <= 6 on data, d <= 33 for diagonal populations), 8 up to 300 rows, 6 up to 1000,
 * then 5 (d = 30 on data: 1830 rows). */
LM_API int lm_theory_default_grid(const lm_moments *mo);

/* ---- MaSS as quasi-hyperbolic momentum (docs/theory.md §1) ---- */

typedef struct { /* QHM: b <- beta b + (1 - beta) g(u);  u <- u - alpha ((1 - nu) g(u) + nu b) */
    double alpha, beta, nu;
} lm_qhm_hp;

/* With constant hyper-parameters MaSS's gradient-point sequence u is QHM's (buffer starting
 * at 0): beta = gamma, alpha = (eta1 - eta2)/(1 - gamma), nu = (gamma eta1 - eta2)/(eta1 - eta2).
 * Nesterov (eta2 = 0) is nu = gamma. Fails when eta1 = eta2 or gamma is outside [0, 1). */
LM_API lm_status lm_theory_qhm(lm_theory_hp mass, lm_qhm_hp *out);

/* ---- populations ---- */

#define LM_POPULATION_MAX_DIM 4000

typedef struct {
    lm_moments mo;  /* GAUSSIAN or DECOUPLED, pointing into the arrays below */
    double *H;      /* GAUSSIAN: diag(sigma2), d x d (owned) */
    double *sigma2; /* the d variances logspace(0, -log10 cond) (owned) */
    double cond;
    char label[64]; /* "gaussian:cond=100,d=2" */
} lm_population;

/* Parses "gaussian[:cond=C,d=D]" (x ~ N(0, diag(sigma2))) or "decoupled[:cond=C,d=D]"
 * (x = sqrt(D) sigma_i z e_i), defaults cond 100 and d 2, with cond >= 1 and
 * 1 <= d <= LM_POPULATION_MAX_DIM. Free with lm_population_free (also after a failure). */
LM_API lm_status lm_population_parse(const char *spec, lm_population *pop);
LM_API void lm_population_free(lm_population *pop);

/* ---- sources: a data set's training split, a kernel machine's features or a population ---- */

typedef struct {
    const char *data;       /* a data source (lm_data_load): its training split, flattened; or */
    const char *population; /* a population (lm_population_parse); exactly one of the two */
    const char *model;      /* NULL or "linear": the inputs as they are; "kernel:gaussian:BW" or
                               "kernel:laplacian:BW" (with data): the features of kernel regression
                               in the RKHS (lm_model_linear_features, docs/theory.md §2.1) */
    long max_samples;       /* the first N training samples (0: all) */
    int max_dim;            /* data: more features than that are refused (LM_EINVAL) */
    int kernel_rows;        /* kernels: rows of the kernel matrix, a random subsample, in
                               2..max_dim (0 with a linear model: unused) */
    int max_points;         /* kernels: more training points are refused (0: no bound) */
    uint64_t seed;          /* synthetic data sources and the kernel subsample */
    int max_population_dim; /* populations: a larger d is refused (0: no bound) */
} lm_theory_source_opts;

typedef struct {
    lm_moments mo;      /* DATA (rows X) or the population's */
    lm_population pop;  /* populations */
    double *X, *Y;      /* data: n x d rows and the targets, n x k (NULL for kernel features) */
    int k, population;
    char label[160];    /* "SRC (train, n=N, d=D)", the population's spec, or the kernel's */
} lm_theory_source;

/* Open a source; n x d above 5e7 values is refused (LM_EINVAL). Refused too, each with a
 * message that starts with the field at fault: both or neither of population and data
 * ("population and data: give exactly one"), a kernel model without data or with a population
 * ("model M needs data (and no population)"), max_samples < 0, kernel_rows outside 2..max_dim
 * ("kernel_rows R is not in 2..MAX"; for a kernel model, and for any other unless 0), a
 * population with d above max_population_dim ("population d = D: theory allows at most MAX").
 * Free with lm_theory_source_free (also after a failure). */
LM_API lm_status lm_theory_source_open(const lm_theory_source_opts *o, lm_theory_source *s);
LM_API void lm_theory_source_free(lm_theory_source *s);
/* lm_linreg_constants of data, lm_moments_constants of a population, at batch size m >= 1
 * (LM_EINVAL "batch 0 is not >= 1"). */
LM_API lm_status lm_theory_source_constants(const lm_theory_source *s, int m, lm_constants *k);

/* ---- summaries: what linmass constants and linmass theory print ---- */

/* The constants of a source for batch size m with the checks of lm_constants_warnings (the
 * least-squares floor for data with targets): text is the table of the source's constants,
 * batch_text that of the batch-m constants, steps and rates (the caller may say between the two
 * which batch size that is); json has source, d, rank, batch, n (data), every field of
 * lm_constants, ls_floor and ls_loss_at_zero (data with targets) and warnings. Strings
 * malloc'ed; free with lm_constants_summary_free. */
typedef struct {
    lm_constants k;
    int has_floor;
    double floor_loss, zero_loss;
    int n_warnings;
    char warnings[LM_MAX_WARNINGS][LM_WARNING_LEN];
    char *text, *batch_text, *json;
} lm_constants_summary;

LM_API lm_status lm_constants_summary_make(const lm_theory_source *s, int m, lm_constants_summary *out);
LM_API void lm_constants_summary_free(lm_constants_summary *out);

/* The hyper-parameters of a method with the section 2.2 values (docs/theory.md §2.2) of k for
 * those not given (NAN; every field, eta1 too): step (eta1; MaSS: eta in the authors' form when
 * alpha or kappa_tilde is given), eta2 and gamma (MaSS's two-sequence form; gamma Nesterov's
 * momentum, 0 when NAN), alpha and kappa_tilde (MaSS's authors' form, lm_mass_from_authors), and
 * eta1: the same step under its two-sequence name (give step or eta1; eta1 is not the authors'
 * form's). */
typedef struct {
    double step, eta2, gamma, alpha, kappa_tilde, eta1;
} lm_theory_hp_given;

LM_API lm_theory_hp lm_theory_hp_resolve(lm_theory_method method, const lm_theory_hp_given *g, const lm_constants *k);

/* The hyper-parameters given for a method (NAN: not given), before they are resolved: each in
 * its range (step in (0, inf), eta2 in [0, inf), gamma in [0, 1), alpha in (0, 1), kappa_tilde
 * in [1, inf), all finite); with tuned (lm_theory_tune chooses them) none given; else only those
 * the method has (eta2, alpha and kappa_tilde: mass; gamma: nesterov and mass), nesterov's gamma
 * given, not both step and eta1 ("step 0.1 and eta1 0.2 are the same step; give one"), and
 * MaSS's two forms not mixed (alpha or kappa_tilde with eta2, gamma or eta1). LM_EINVAL with a
 * message that starts with the field at fault: "gamma 1.5 is not in [0, 1)". */
LM_API lm_status lm_theory_hp_validate(lm_theory_method method, const lm_theory_hp_given *g, int tuned);

/* The rate of one method (lm_theory_rate) on source s at batch m with hp, against the section 2.2
 * rate of k: text (the hyper-parameters, rho, the speed and the steps per factor 10) and json
 * (source, optim, batch, eta1, eta2, gamma, rho, diverges, speed, sgd_rate_theory,
 * mass_rate_theory, kappa_m, kappa_tilde_m); both malloc'ed. */
LM_API lm_status lm_theory_rate_summary(const lm_theory_source *s, lm_theory_method method, lm_theory_hp hp, int m,
                                        const lm_constants *k, char **text, char **json);

/* The best-tuned rates b (lm_theory_tune with a first grid of `grid` points) as a table (text)
 * and json (source, batch, grid, per method rho, speed, speedup over SGD, eta1, eta2, gamma,
 * evaluations, closed_form_rho, beats_closed_form; sgd_rate_theory, mass_rate_theory). */
LM_API lm_status lm_theory_best_summary(const lm_theory_source *s, int m, int grid, const lm_theory_best b[3],
                                        const lm_constants *k, char **text, char **json);

/* "sgd", "nesterov", "mass" ("unknown" for another value). */
LM_API const char *lm_theory_method_name(lm_theory_method method);
/* The method named `name` (lm_theory_method_name's names) into *method; LM_EINVAL "optim: 'NAME'
 * is not sgd, nesterov or mass" (the field of the summaries' JSON) for another name. */
LM_API lm_status lm_theory_method_from_name(const char *name, lm_theory_method *method);

#ifdef __cplusplus
}
#endif
#endif
