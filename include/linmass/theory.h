/* The linear-regression theory of MaSS (science.md section 2), in float64.
 *
 * Setting: f(w) = (1/n) sum_i 1/2 (<w, x_i> - y_i)^2 with an interpolating w*, mini-batches of
 * m samples drawn uniformly with replacement. Constants (section 2.1-2.2):
 *   H = E[x x^T], L = lambda_max(H), mu = smallest non-zero eigenvalue of H, kappa = L/mu,
 *   L1 = smallest c with E[|x|^2 x x^T] <= c H, kappa_tilde = smallest c with
 *   E[(x^T H^+ x) x x^T] <= c H (both computed exactly as lambda_max of the whitened matrix on
 *   the range of H), L_m = L1/m + (m-1) L/m, kappa_m = L_m/mu,
 *   kappa_tilde_m = kappa_tilde/m + (m-1)/m.
 * Exact expected dynamics (section 2.3): E[e e^T] of e = (w - w*, u - w*) evolves linearly; the
 * spectral radius rho of that operator is the asymptotic contraction of E|w - w*|^2 per step. */
#ifndef LINMASS_THEORY_H
#define LINMASS_THEORY_H

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
lm_status lm_linreg_constants(const double *X, int n, int d, int m, lm_constants *out);

/* Constants of Gaussian data x ~ N(0, H) (H d x d, symmetric PSD): L1 = 2 lambda_max + tr H,
 * kappa_tilde = rank(H) + 2, computed through the fourth moments. */
lm_status lm_gaussian_constants(const double *H, int d, int m, lm_constants *out);

/* Recompute the fields that depend on the batch size. */
void lm_constants_set_batch(lm_constants *c, int m);

/* ---- data distributions through their second and fourth moments ---- */

typedef enum {
    LM_MOMENTS_DATA = 0,   /* the n rows of X, each with probability 1/n */
    LM_MOMENTS_GAUSSIAN,   /* x ~ N(0, H) */
    LM_MOMENTS_DECOUPLED   /* x = sqrt(d) sigma_i z e_i, i uniform in 1..d, z ~ N(0, 1)
                              (science.md 2.4 for d = 2): H = diag(sigma^2),
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
lm_status lm_moments_constants(const lm_moments *mo, int m, lm_constants *out);

/* H = E[x x^T] and F(A) = E[(x x^T) A (x x^T)] for a symmetric d x d A (row-major):
 * DATA (1/n) sum (x_i^T A x_i) x_i x_i^T; GAUSSIAN 2 H A H + tr(A H) H; DECOUPLED
 * diag(3 d sigma_i^4 A_ii). */
lm_status lm_moments_second(const lm_moments *mo, double *H);
lm_status lm_moments_fourth(const lm_moments *mo, const double *A, double *out);

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
lm_status lm_theory_operator(const lm_moments *mo, lm_theory_method method, lm_theory_hp hp,
                             int m, int diagonal, double **M, int *N);

/* 1 when the moments keep diagonal second moments diagonal (Gaussian with diagonal H,
 * decoupled data), so that rho can be computed on the small diagonal subspace. */
int lm_moments_is_diagonal(const lm_moments *mo);

/* The spectral radius rho of the operator (LAPACK dgeev): E|w - w*|^2 ~ rho^t. rho > 1 means
 * divergence in expectation. */
lm_status lm_theory_rate(const lm_moments *mo, lm_theory_method method, lm_theory_hp hp, int m,
                         double *rho);

typedef struct {
    double rho;
    lm_theory_hp hp;
    int evaluations;
} lm_theory_best;

/* The best-tuned rate: a grid over log eta1 in [1e-3, 4]/L_m (SGD: the only parameter),
 * log(1 - gamma) in [1e-5, 1] (Nesterov, MaSS) and eta2/eta1 in [0, 1] (MaSS), `grid` points
 * per parameter, then 10 rounds that zoom on the best point. grid >= 5. */
lm_status lm_theory_best_rate(const lm_moments *mo, lm_theory_method method, int m, int grid,
                              lm_theory_best *out);

const char *lm_theory_method_name(lm_theory_method method);

#ifdef __cplusplus
}
#endif
#endif
