/* The second-moment operator of SGD, Nesterov and MaSS on linear regression (docs/theory.md §2.3).
 *
 * With a mini-batch Hessian Hb = (1/m) sum_j x_j x_j^T drawn with replacement, the error pair
 * z = (w - w*, u - w*) of MaSS evolves as z' = (P (x) I + c b^T (x) Hb) z with
 *   P = [[0, 1], [-gamma, 1 + gamma]],  c = (-eta1, -(1 + gamma) eta1 + eta2),  b = (0, 1),
 * (Nesterov is eta2 = 0). Its second moment S = E[z z^T] then evolves linearly:
 *   S'_ab = sum_ce P_ac P_be S_ce + c_b K_a + c_a K_b^T + c_a c_b G(S_uu),
 *   K_a = (sum_f P_af S_fu) H,   G(A) = E[Hb A Hb] = F(A)/m + (1 - 1/m) H A H,
 * with F(A) = E[(x x^T) A (x x^T)]. SGD is the single sequence S' = S - eta (H S + S H) +
 * eta^2 G(S).
 *
 * Column k of the operator is the image of the k-th basis matrix E = E_AB + E_BA of the state,
 * whose blocks have at most one non-zero per row: every term above is then a single product,
 * and G(E_uu) is computed once per basis pair (lm_op_prepare), not once per hyper-parameter. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "theory/theory_internal.h"

lm_status lm_op_check(const lm_moments *mo, lm_theory_method method, lm_theory_hp hp, int m,
                      int diagonal)
{
    if ((unsigned)method > LM_THEORY_MASS)
        return lm_fail(LM_EINVAL, "theory: method %d is unknown", method);
    if (m < 1) return lm_fail(LM_EINVAL, "theory: batch size %d < 1", m);
    if (!(hp.eta1 > 0) || !isfinite(hp.eta1))
        return lm_fail(LM_EINVAL, "theory %s: step %g is not positive", lm_theory_method_name(method), hp.eta1);
    if (method != LM_THEORY_SGD && !(hp.gamma >= 0 && hp.gamma < 1))
        return lm_fail(LM_EINVAL, "theory %s: gamma %g is outside [0, 1)", lm_theory_method_name(method), hp.gamma);
    if (diagonal && !lm_moments_is_diagonal(mo))
        return lm_fail(LM_EINVAL, "theory: the diagonal subspace is invariant only for diagonal "
                       "population moments");
    int limit = diagonal ? LM_THEORY_MAX_DIAG_DIM : LM_THEORY_MAX_DIM;
    if (mo->d > limit)
        return lm_fail(LM_EINVAL, "theory: dimension %d exceeds %d for the exact second-moment "
                       "operator (its size grows as d^2)", mo->d, limit);
    return LM_OK;
}

int lm_op_pairs(int d, lm_theory_method method, int diagonal, int *pi, int *pj)
{
    int N = 0, D = method == LM_THEORY_SGD ? d : 2 * d;
    if (!diagonal) {
        for (int i = 0; i < D; i++)
            for (int j = i; j < D; j++) pi[N] = i, pj[N++] = j;
        return N;
    }
    for (int i = 0; i < d; i++) { /* per coordinate: (E e_i^2) or (E ew_i^2, E ew_i eu_i, E eu_i^2) */
        pi[N] = i, pj[N++] = i;
        if (D == d) continue;
        pi[N] = i, pj[N++] = d + i;
        pi[N] = d + i, pj[N++] = d + i;
    }
    return N;
}

int lm_op_size(int d, lm_theory_method method, int diagonal)
{
    int D = method == LM_THEORY_SGD ? d : 2 * d;
    return diagonal ? (D == d ? d : 3 * d) : D * (D + 1) / 2;
}

/* ---- the hyper-parameter-free part ---- */

/* G = F(A)/m + (1 - 1/m) H A H */
static lm_status batch_fourth(const lm_moments *mo, const lm_op_prep *p, const double *A,
                              double *tmp, double *G)
{
    int d = p->d;
    lm_status st = lm_moments_fourth(mo, A, G);
    if (st) return st;
    cblas_dscal(d * d, 1.0 / p->m, G, 1);
    if (p->m > 1) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, d, d, 1, p->H, d, A, d, 0, tmp, d);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, d, d, 1 - 1.0 / p->m, tmp, d,
                    p->H, d, 1, G, d);
    }
    return LM_OK;
}

/* Row-major index of the pair p <= q among the pairs of a d x d symmetric matrix. */
static size_t pair_index(int d, int p, int q)
{
    return (size_t)p * d - (size_t)p * (p - 1) / 2 + (size_t)(q - p);
}

lm_status lm_op_prepare(const lm_moments *mo, int m, int diagonal, lm_op_prep *p)
{
    memset(p, 0, sizeof *p);
    int d = mo->d;
    size_t dd = (size_t)d * d, pairs = (size_t)d * (d + 1) / 2;
    p->d = d, p->m = m, p->diagonal = diagonal;
    p->H = malloc(sizeof *p->H * dd);
    p->G = malloc(sizeof *p->G * (diagonal ? dd : pairs * dd));
    double *A = calloc(dd, sizeof *A), *tmp = malloc(sizeof *tmp * dd), *G = malloc(sizeof *G * dd);
    lm_status st = p->H && p->G && A && tmp && G ? lm_moments_second(mo, p->H)
                                                 : lm_fail(LM_ENOMEM, "theory: no memory (d = %d)", d);
    for (int i = 0; !st && i < d; i++)
        for (int j = i; !st && j < (diagonal ? i + 1 : d); j++) {
            A[i * d + j] = A[j * d + i] = 1;
            st = batch_fourth(mo, p, A, tmp, G);
            A[i * d + j] = A[j * d + i] = 0;
            if (diagonal)
                for (int k = 0; k < d; k++) p->G[(size_t)i * d + k] = G[(size_t)k * d + k];
            else memcpy(p->G + pair_index(d, i, j) * dd, G, sizeof *G * dd);
        }
    free(A), free(tmp), free(G);
    if (st) lm_op_prep_free(p);
    return st;
}

void lm_op_prep_free(lm_op_prep *p)
{
    free(p->H), free(p->G);
    p->H = p->G = NULL;
}

/* Entry (i, j) of G(E) for the basis matrix E = E_pq + E_qp (p <= q) of the d x d state. */
static double g_entry(const lm_op_prep *o, int p, int q, int i, int j)
{
    int d = o->d;
    if (o->diagonal) return i == j && p == q ? o->G[(size_t)p * d + i] : 0;
    return o->G[pair_index(d, p, q) * d * d + (size_t)i * d + j];
}

/* ---- one column: the image of E_AB + E_BA (A <= B) at the state entry (x, y) ---- */

/* Entry (x, y) of the basis matrix. */
static double e_at(int A, int B, int x, int y)
{
    return (x == A && y == B) || (x == B && y == A);
}

static double sgd_entry(const lm_op_prep *o, double eta, int A, int B, int i, int j)
{
    /* (H E)_ij = H_ik for the one k with E_kj = 1 */
    double hs_ij = B == j ? o->H[i * o->d + A] : A == j ? o->H[i * o->d + B] : 0;
    double hs_ji = B == i ? o->H[j * o->d + A] : A == i ? o->H[j * o->d + B] : 0;
    return e_at(A, B, i, j) - eta * (hs_ij + hs_ji) + eta * eta * g_entry(o, A, B, i, j);
}

typedef struct {
    double P[2][2], c[2];
} momentum;

/* K_a(i, j) = sum_k T_a(i, k) H_kj with T_a = P_aw E_wu + P_au E_uu: row i of T_a has at most
 * one non-zero, in the column k of an entry (x, d + k) of E with x = i or d + i. */
static double k_entry(const lm_op_prep *o, const momentum *mm, int a, int A, int B, int i, int j)
{
    int d = o->d;
    for (int s = 0; s < 2; s++) {
        int x = s ? B : A, y = s ? A : B;
        if (y >= d && (x == i || x == d + i))
            return (mm->P[a][0] * (x == i) + mm->P[a][1] * (x == d + i)) * o->H[(y - d) * d + j];
    }
    return 0;
}

static double momentum_entry(const lm_op_prep *o, const momentum *mm, int A, int B, int x, int y)
{
    int d = o->d, a = x / d, b = y / d, i = x % d, j = y % d;
    double r = 0;
    for (int ce = 0; ce < 4; ce++)
        r += mm->P[a][ce / 2] * mm->P[b][ce % 2] * e_at(A, B, ce / 2 * d + i, ce % 2 * d + j);
    r += mm->c[b] * k_entry(o, mm, a, A, B, i, j) + mm->c[a] * k_entry(o, mm, b, A, B, j, i);
    if (A >= d) r += mm->c[a] * mm->c[b] * g_entry(o, A - d, B - d, i, j); /* E_uu != 0 */
    return r;
}

lm_status lm_op_build(const lm_op_prep *o, lm_theory_method method, lm_theory_hp hp, double *M)
{
    int N = lm_op_size(o->d, method, o->diagonal);
    int *pi = malloc(sizeof *pi * (size_t)N), *pj = malloc(sizeof *pj * (size_t)N);
    if (!pi || !pj) {
        free(pi), free(pj);
        return lm_fail(LM_ENOMEM, "theory: no memory (d = %d)", o->d);
    }
    lm_op_pairs(o->d, method, o->diagonal, pi, pj);
    double g = hp.gamma, eta2 = method == LM_THEORY_MASS ? hp.eta2 : 0;
    momentum mm = {{{0, 1}, {-g, 1 + g}}, {-hp.eta1, -(1 + g) * hp.eta1 + eta2}};
    for (int k = 0; k < N; k++)
        for (int p = 0; p < N; p++)
            M[(size_t)p * N + k] = method == LM_THEORY_SGD
                                       ? sgd_entry(o, hp.eta1, pi[k], pj[k], pi[p], pj[p])
                                       : momentum_entry(o, &mm, pi[k], pj[k], pi[p], pj[p]);
    free(pi), free(pj);
    return LM_OK;
}

lm_status lm_theory_operator(const lm_moments *mo, lm_theory_method method, lm_theory_hp hp,
                             int m, int diagonal, double **M, int *N)
{
    *M = NULL;
    *N = 0;
    lm_status st = lm_op_check(mo, method, hp, m, diagonal);
    if (st) return st;
    lm_op_prep o;
    st = lm_op_prepare(mo, m, diagonal, &o);
    if (st) return st;
    int n = lm_op_size(mo->d, method, diagonal);
    double *op = malloc(sizeof *op * (size_t)n * n);
    st = op ? lm_op_build(&o, method, hp, op) : lm_fail(LM_ENOMEM, "theory: no memory for a %dx%d operator", n, n);
    lm_op_prep_free(&o);
    if (st) {
        free(op);
        return st;
    }
    *M = op;
    *N = n;
    return LM_OK;
}
