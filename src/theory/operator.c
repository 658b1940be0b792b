/* Exact expected dynamics of SGD, Nesterov and MaSS on linear regression (science.md 2.3).
 *
 * With a mini-batch Hessian Hb = (1/m) sum_j x_j x_j^T drawn with replacement, the error pair
 * z = (w - w*, u - w*) of MaSS evolves as z' = (P (x) I + c b^T (x) Hb) z with
 *   P = [[0, 1], [-gamma, 1 + gamma]],  c = (-eta1, -(1 + gamma) eta1 + eta2),  b = (0, 1),
 * (Nesterov is eta2 = 0). Its second moment S = E[z z^T] then evolves linearly:
 *   S'_ab = sum_ce P_ac P_be S_ce + c_b K_a + c_a K_b^T + c_a c_b G(S_uu),
 *   K_a = (sum_f P_af S_fu) H,   G(A) = E[Hb A Hb] = F(A)/m + (1 - 1/m) H A H,
 * with F(A) = E[(x x^T) A (x x^T)]. SGD is the single sequence S' = S - eta (H S + S H) +
 * eta^2 G(S). The spectral radius of this operator is the exact asymptotic contraction of
 * E|w - w*|^2. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "linmass/theory.h"

void dgeev_(const char *jobvl, const char *jobvr, const int *n, double *a, const int *lda,
            double *wr, double *wi, double *vl, const int *ldvl, double *vr, const int *ldvr,
            double *work, const int *lwork, int *info, size_t jobvl_len, size_t jobvr_len);

const char *lm_theory_method_name(lm_theory_method method)
{
    static const char *names[] = {"sgd", "nesterov", "mass"};
    return (unsigned)method <= LM_THEORY_MASS ? names[method] : "unknown";
}

typedef struct {
    const lm_moments *mo;
    int d, m, D; /* D = d (SGD) or 2d */
    lm_theory_method method;
    lm_theory_hp hp;
    double *H, *A, *G, *tmp, *K[2]; /* d x d each */
} op_ctx;

/* G = F(A)/m + (1 - 1/m) H A H */
static lm_status batch_fourth(op_ctx *o, const double *A, double *G)
{
    int d = o->d;
    lm_status st = lm_moments_fourth(o->mo, A, G);
    if (st) return st;
    cblas_dscal(d * d, 1.0 / o->m, G, 1);
    if (o->m > 1) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, d, d, 1, o->H, d, A, d, 0, o->tmp, d);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, d, d, 1 - 1.0 / o->m, o->tmp, d,
                    o->H, d, 1, G, d);
    }
    return LM_OK;
}

/* R = S - eta (H S + S H) + eta^2 G(S) */
static lm_status apply_sgd(op_ctx *o, const double *S, double *R)
{
    int d = o->d;
    double eta = o->hp.eta1;
    lm_status st = batch_fourth(o, S, o->G);
    if (st) return st;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, d, d, 1, o->H, d, S, d, 0, o->tmp, d);
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++)
            R[i * d + j] = S[i * d + j] - eta * (o->tmp[i * d + j] + o->tmp[j * d + i]) +
                           eta * eta * o->G[i * d + j];
    return LM_OK;
}

/* Block (a, b) of the 2d x 2d S, entry (i, j). */
#define BLK(S, a, b, i, j) (S)[((a) * d + (i)) * D + (b) * d + (j)]

static lm_status apply_momentum(op_ctx *o, const double *S, double *R)
{
    int d = o->d, D = o->D;
    double g = o->hp.gamma, eta2 = o->method == LM_THEORY_MASS ? o->hp.eta2 : 0;
    double P[2][2] = {{0, 1}, {-g, 1 + g}};
    double c[2] = {-o->hp.eta1, -(1 + g) * o->hp.eta1 + eta2};
    for (int i = 0; i < d; i++) /* A = S_uu */
        for (int j = 0; j < d; j++) o->A[i * d + j] = BLK(S, 1, 1, i, j);
    lm_status st = batch_fourth(o, o->A, o->G);
    if (st) return st;
    for (int a = 0; a < 2; a++) { /* K_a = (P_aw S_wu + P_au S_uu) H */
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
                o->tmp[i * d + j] = P[a][0] * BLK(S, 0, 1, i, j) + P[a][1] * BLK(S, 1, 1, i, j);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, d, d, 1, o->tmp, d, o->H, d, 0,
                    o->K[a], d);
    }
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++)
            for (int i = 0; i < d; i++)
                for (int j = 0; j < d; j++) {
                    double r = 0;
                    for (int ce = 0; ce < 4; ce++)
                        r += P[a][ce / 2] * P[b][ce % 2] * BLK(S, ce / 2, ce % 2, i, j);
                    r += c[b] * o->K[a][i * d + j] + c[a] * o->K[b][j * d + i];
                    r += c[a] * c[b] * o->G[i * d + j];
                    BLK(R, a, b, i, j) = r;
                }
    return LM_OK;
}

int lm_moments_is_diagonal(const lm_moments *mo)
{
    if (mo->kind == LM_MOMENTS_DECOUPLED) return 1;
    if (mo->kind != LM_MOMENTS_GAUSSIAN) return 0;
    for (int i = 0; i < mo->d; i++)
        for (int j = 0; j < mo->d; j++)
            if (i != j && mo->H[i * mo->d + j] != 0) return 0;
    return 1;
}

/* The coordinates of the state: pairs (i <= j) of the D x D matrix. */
static int state_pairs(const op_ctx *o, int diagonal, int *pi, int *pj)
{
    int N = 0, d = o->d, D = o->D;
    if (!diagonal) {
        for (int i = 0; i < D; i++)
            for (int j = i; j < D; j++) pi[N] = i, pj[N++] = j;
        return N;
    }
    for (int i = 0; i < d; i++) {
        pi[N] = i, pj[N++] = i;
        if (D == d) continue;
        pi[N] = i, pj[N++] = d + i;
        pi[N] = d + i, pj[N++] = d + i;
    }
    return N;
}

static lm_status check_args(const lm_moments *mo, lm_theory_method method, lm_theory_hp hp,
                            int m, int diagonal)
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

lm_status lm_theory_operator(const lm_moments *mo, lm_theory_method method, lm_theory_hp hp,
                             int m, int diagonal, double **M, int *N)
{
    *M = NULL;
    *N = 0;
    lm_status st = check_args(mo, method, hp, m, diagonal);
    if (st) return st;
    op_ctx o = {.mo = mo, .d = mo->d, .m = m, .method = method, .hp = hp};
    o.D = method == LM_THEORY_SGD ? o.d : 2 * o.d;
    size_t dd = (size_t)o.d * o.d, DD = (size_t)o.D * o.D;
    int maxN = o.D * (o.D + 1) / 2;
    double *work = calloc(6 * dd + 2 * DD, sizeof *work);
    int *pi = malloc(sizeof *pi * (size_t)maxN), *pj = malloc(sizeof *pj * (size_t)maxN);
    if (!work || !pi || !pj) st = lm_fail(LM_ENOMEM, "theory: no memory (d = %d)", o.d);
    double *S = work + 6 * dd, *R = S + DD;
    o.H = work, o.A = work + dd, o.G = work + 2 * dd, o.tmp = work + 3 * dd;
    o.K[0] = work + 4 * dd, o.K[1] = work + 5 * dd;
    if (!st) st = lm_moments_second(mo, o.H);
    int n = st ? 0 : state_pairs(&o, diagonal, pi, pj);
    double *op = st ? NULL : malloc(sizeof *op * (size_t)n * n);
    if (!st && !op) st = lm_fail(LM_ENOMEM, "theory: no memory for a %dx%d operator", n, n);
    for (int k = 0; !st && k < n; k++) { /* column k: the image of basis matrix k */
        memset(S, 0, sizeof *S * DD);
        S[pi[k] * o.D + pj[k]] = S[pj[k] * o.D + pi[k]] = 1;
        st = method == LM_THEORY_SGD ? apply_sgd(&o, S, R) : apply_momentum(&o, S, R);
        for (int p = 0; p < n; p++) op[(size_t)p * n + k] = R[pi[p] * o.D + pj[p]];
    }
    free(work), free(pi), free(pj);
    if (st) {
        free(op);
        return st;
    }
    *M = op;
    *N = n;
    return LM_OK;
}

/* max |eigenvalue| of the n x n matrix A (overwritten). Storage order does not matter: A and
 * its transpose have the same eigenvalues. */
static lm_status spectral_radius(int n, double *A, double *rho)
{
    for (size_t i = 0; i < (size_t)n * n; i++)
        if (!isfinite(A[i])) {
            *rho = INFINITY;
            return LM_OK;
        }
    int lwork = -1, info, one = 1;
    double wq, dummy;
    double *wr = malloc(sizeof *wr * 2 * (size_t)n), *wi = wr ? wr + n : NULL;
    if (!wr) return lm_fail(LM_ENOMEM, "theory: no memory");
    dgeev_("N", "N", &n, A, &n, wr, wi, &dummy, &one, &dummy, &one, &wq, &lwork, &info, 1, 1);
    lwork = (int)wq;
    double *work = malloc(sizeof *work * (size_t)lwork);
    if (!work) info = -1000;
    else dgeev_("N", "N", &n, A, &n, wr, wi, &dummy, &one, &dummy, &one, work, &lwork, &info, 1, 1);
    double r = 0;
    for (int i = 0; i < n && info == 0; i++) r = fmax(r, hypot(wr[i], wi[i]));
    free(wr), free(work);
    if (info == -1000) return lm_fail(LM_ENOMEM, "theory: no memory for dgeev (n = %d)", n);
    if (info) return lm_fail(LM_EINVAL, "theory: dgeev did not converge (info %d, n = %d)", info, n);
    *rho = r;
    return LM_OK;
}

lm_status lm_theory_rate(const lm_moments *mo, lm_theory_method method, lm_theory_hp hp, int m,
                         double *rho)
{
    double *M;
    int n;
    lm_status st = lm_theory_operator(mo, method, hp, m, lm_moments_is_diagonal(mo), &M, &n);
    if (st) return st;
    st = spectral_radius(n, M, rho);
    free(M);
    return st;
}

/* ---- best-tuned rates ---- */

typedef struct {
    const lm_moments *mo;
    lm_theory_method method;
    int m;
} search_ctx;

/* Parameters: x0 = log eta1, x1 = log(1 - gamma), x2 = eta2/eta1. */
static lm_theory_hp hp_of(const double *x, int dims)
{
    lm_theory_hp hp = {exp(x[0]), 0, 0};
    if (dims > 1) hp.gamma = 1 - exp(x[1]);
    if (dims > 2) hp.eta2 = x[2] * hp.eta1;
    return hp;
}

static lm_status evaluate(const search_ctx *s, const double *x, int dims, double *rho)
{
    lm_status st = lm_theory_rate(s->mo, s->method, hp_of(x, dims), s->m, rho);
    if (st == LM_OK && !isfinite(*rho)) *rho = INFINITY;
    return st;
}

lm_status lm_theory_best_rate(const lm_moments *mo, lm_theory_method method, int m, int grid,
                              lm_theory_best *out)
{
    if (grid < 5) return lm_fail(LM_EINVAL, "theory: grid of %d points per parameter (>= 5)", grid);
    if ((unsigned)method > LM_THEORY_MASS) return lm_fail(LM_EINVAL, "theory: method %d is unknown", method);
    lm_constants c;
    lm_status st = lm_moments_constants(mo, m, &c);
    if (st) return st;
    int dims = method == LM_THEORY_SGD ? 1 : method == LM_THEORY_NESTEROV ? 2 : 3;
    double lo0[3] = {log(1e-3 / c.L_m), log(1e-5), 0}, hi0[3] = {log(4 / c.L_m), 0, 1};
    double lo[3], hi[3], best_x[3] = {0}, best = INFINITY, x[3];
    memcpy(lo, lo0, sizeof lo), memcpy(hi, hi0, sizeof hi);
    int evals = 0;
    for (int round = 0; round < 10 && !st; round++) {
        long total = 1;
        for (int k = 0; k < dims; k++) total *= grid;
        for (long idx = 0; idx < total && !st; idx++) {
            long rest = idx;
            for (int k = 0; k < dims; k++, rest /= grid)
                x[k] = lo[k] + (hi[k] - lo[k]) * (double)(rest % grid) / (grid - 1);
            double rho;
            st = evaluate(&(search_ctx){mo, method, m}, x, dims, &rho);
            evals++;
            if (!st && rho < best) best = rho, memcpy(best_x, x, sizeof x);
        }
        for (int k = 0; k < dims; k++) { /* zoom: two cells either side of the best point */
            double half = 2 * (hi[k] - lo[k]) / (grid - 1);
            lo[k] = fmax(lo0[k], best_x[k] - half);
            hi[k] = fmin(hi0[k], best_x[k] + half);
        }
    }
    if (st) return st;
    out->rho = best;
    out->hp = hp_of(best_x, dims);
    out->evaluations = evals;
    return LM_OK;
}
