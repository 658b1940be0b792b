/* Shared pieces of src/theory (internal): LAPACK wrappers, the moments' checks and the part of
 * the second-moment operator that does not depend on the hyper-parameters. */
#ifndef LM_THEORY_INTERNAL_H
#define LM_THEORY_INTERNAL_H

#include "linmass/theory.h"

/* ---- lapack.c ---- */

/* The largest eigenvalue of the symmetric d x d A (lm_sym_eig of linmass/probe.h). */
lm_status lm_sym_lambda_max(int d, const double *A, double *top);
/* max |eigenvalue| of the n x n A (overwritten); INFINITY when an entry is not finite. */
lm_status lm_spectral_radius(int n, double *A, double *rho);

/* ---- moments.c ---- */

lm_status lm_moments_check(const lm_moments *mo);
/* Copies the upper triangle of the row-major d x d A down. */
void lm_symmetrize_upper(int d, double *A);

/* The moments restricted to the range of H (docs/theory.md §2.3). On rank-deficient data the
 * error's component in the null space of H never moves (and is zero from w0 = 0 to the
 * minimum-norm w*), so the operator on all of R^d has the eigenvalue 1 from that component and
 * rho is the spectral radius on the range: DATA rows and the GAUSSIAN covariance are rewritten
 * in the basis of the eigenvectors of H with eigenvalues above LM_MOMENTS_RANGE_TOL * lambda_max.
 * r->mo is *mo itself (r->rank = d) when H has full rank or the kind is DECOUPLED. */
#define LM_MOMENTS_RANGE_TOL 1e-10
typedef struct {
    lm_moments mo;
    int rank;
    double *buf; /* owned: the projected rows or covariance */
} lm_moments_range;
lm_status lm_moments_on_range(const lm_moments *mo, lm_moments_range *r);
void lm_moments_range_free(lm_moments_range *r);

/* ---- operator.c ---- */

/* What the operator needs besides the hyper-parameters: H and G(E) = E[Hb E Hb] for the basis
 * matrices E of the d x d state (docs/theory.md §2.3). */
typedef struct {
    int d, m, diagonal;
    double *H; /* d x d */
    double *G; /* diagonal: row p is the diagonal of G(E_pp), d x d in all; otherwise, for each
                  pair p <= q in row-major order, the d x d G(E_pq + E_qp) (G(E_pp) for p = q) */
} lm_op_prep;

/* Checks the arguments of the operator (method, batch size, step, momentum, dimension). */
lm_status lm_op_check(const lm_moments *mo, lm_theory_method method, lm_theory_hp hp, int m,
                      int diagonal);
lm_status lm_op_prepare(const lm_moments *mo, int m, int diagonal, lm_op_prep *p);
void lm_op_prep_free(lm_op_prep *p);
/* The number of state coordinates (rows of the operator). */
int lm_op_size(int d, lm_theory_method method, int diagonal);
/* State coordinate k is the entry (pi[k], pj[k]), pi <= pj, of the symmetric D x D state
 * (D = d for SGD, 2d: (w - w*, u - w*) otherwise). Returns the count. */
int lm_op_pairs(int d, lm_theory_method method, int diagonal, int *pi, int *pj);
/* The N x N operator (N = lm_op_size) into M, row-major. */
lm_status lm_op_build(const lm_op_prep *p, lm_theory_method method, lm_theory_hp hp, double *M);

/* ---- simplex.c: Nelder-Mead as a state machine (ask for points, tell their values) ---- */

typedef enum { LM_NM_INIT, LM_NM_REFLECT, LM_NM_EXPAND, LM_NM_CONTRACT, LM_NM_SHRINK, LM_NM_DONE } lm_nm_phase;

typedef struct {
    int n, evals, max_evals, restarts, inside;
    lm_nm_phase phase;
    double v[4][3], f[4];  /* vertices and values, best first at each iteration */
    double r[3], t[3], fr; /* the reflected point and value, the expanded or contracted point */
    double size[3], lo[3], hi[3], tol, run_start;
} lm_simplex;

/* A simplex of n <= 3 dimensions at x (value fx), its other vertices size[j] away along each
 * axis, inside the box [lo, hi]. */
void lm_simplex_start(lm_simplex *s, int n, const double *x, double fx, const double *size,
                      const double *lo, const double *hi, double tol, int max_evals);
/* The points to evaluate next (at most 3; 0 when done). */
int lm_simplex_ask(const lm_simplex *s, double (*x)[3]);
/* Their values, in the order asked. */
void lm_simplex_tell(lm_simplex *s, const double *fx);
/* About how many evaluations it still needs. */
int lm_simplex_left(const lm_simplex *s);

#endif
