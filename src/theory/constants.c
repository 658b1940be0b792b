/* The constants of linear regression under interpolation (docs/theory.md §2.1-2.2), in float64:
 * L, mu, L1, kappa, kappa-tilde, their mini-batch versions, and the optimal hyper-parameters
 * and rates of SGD and MaSS. L1 and kappa-tilde are computed exactly, as the largest
 * eigenvalue of the fourth-moment matrix whitened by H on the range of H. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "linmass/optim.h"
#include "linmass/probe.h"
#include "theory/theory_internal.h"

void lm_constants_set_batch(lm_constants *c, int m)
{
    c->m = m;
    c->L_m = c->L1 / m + (m - 1.0) * c->L / m;
    c->kappa_m = c->L_m / c->mu;
    c->kappa_tilde_m = c->kappa_tilde / m + (m - 1.0) / m;
    c->sgd_lr = 1 / c->L_m;
    c->sgd_rate = 1 - 1 / c->kappa_m;
    c->mass_speed = 1 / sqrt(c->kappa_m * c->kappa_tilde_m);
    c->mass_rate = 1 - c->mass_speed;
    c->mass_eta = c->sgd_lr;
    c->mass_alpha = c->mass_speed;
    c->mass_kappa_tilde = c->kappa_tilde_m;
    c->mass_delta = c->mass_eta / (c->mass_alpha * c->kappa_tilde_m);
    lm_mass_hp h = lm_mass_from_authors((lm_mass3_hp){c->mass_eta, c->mass_alpha,
                                                       c->kappa_tilde_m, 0});
    c->mass_eta1 = h.eta1, c->mass_eta2 = h.eta2, c->mass_gamma = h.gamma;
}

/* From the spectrum of H (ascending) and the exact L1, kappa-tilde. */
static lm_status finish(lm_constants *c, const double *lambda, int d, int rank, int m)
{
    if (m < 1) return lm_fail(LM_EINVAL, "constants: batch size %d < 1", m);
    c->d = d;
    c->rank = rank;
    c->L = lambda[d - 1];
    c->mu = lambda[d - rank];
    c->kappa = c->L / c->mu;
    c->trace = 0;
    for (int i = 0; i < d; i++) c->trace += lambda[i];
    c->kappa_1 = c->L1 / c->mu;
    c->m1_star = fmin(c->L1 / c->L, c->kappa_tilde);
    c->m2_star = fmax(c->L1 / c->L, c->kappa_tilde);
    lm_constants_set_batch(c, m);
    return LM_OK;
}

/* The number of eigenvalues above LM_RANK_RTOL * lambda_max. */
static int rank_of(const double *lambda, int d)
{
    int r = 0;
    while (r < d && lambda[d - 1 - r] > LM_RANK_RTOL * lambda[d - 1]) r++;
    return r;
}

typedef struct {
    int d, r;
    double *V;      /* d x d: row j the eigenvector of lambda[j] */
    double *lambda; /* ascending */
} spectrum;

static lm_status spectrum_of(int d, const double *H, spectrum *s)
{
    s->d = d;
    s->V = malloc(sizeof *s->V * (size_t)d * d);
    s->lambda = malloc(sizeof *s->lambda * (size_t)d);
    if (!s->V || !s->lambda) return lm_fail(LM_ENOMEM, "constants: no memory (d = %d)", d);
    lm_status st = lm_sym_eig(d, H, s->lambda, s->V);
    if (st) return st;
    s->r = rank_of(s->lambda, d);
    if (s->r == 0 || !(s->lambda[d - 1] > 0))
        return lm_fail(LM_EINVAL, "constants: H is zero (all the data are zero)");
    return LM_OK;
}

static void spectrum_free(spectrum *s)
{
    free(s->V);
    free(s->lambda);
}

/* W^T F W (r x r) with W = V_r^T Lambda_r^{-1/2}: F whitened on the range of H. */
static void whiten(const spectrum *s, const double *F, double *B, double *tmp)
{
    int d = s->d, r = s->r;
    const double *Vr = s->V + (size_t)(d - r) * d; /* r x d */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r, d, d, 1, Vr, d, F, d, 0, tmp, d);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r, r, d, 1, tmp, d, Vr, d, 0, B, r);
    for (int i = 0; i < r; i++)
        for (int j = 0; j < r; j++)
            B[i * r + j] /= sqrt(s->lambda[d - r + i] * s->lambda[d - r + j]);
}

lm_status lm_moments_constants(const lm_moments *mo, int m, lm_constants *out)
{
    memset(out, 0, sizeof *out);
    lm_status st = lm_moments_check(mo);
    if (st) return st;
    int d = mo->d;
    size_t dd = (size_t)d * d;
    spectrum s = {0};
    double *H = malloc(sizeof *H * dd), *A = malloc(sizeof *A * dd), *F = malloc(sizeof *F * dd);
    double *B = malloc(sizeof *B * dd), *tmp = malloc(sizeof *tmp * dd);
    if (!H || !A || !F || !B || !tmp) st = lm_fail(LM_ENOMEM, "constants: no memory (d = %d)", d);
    if (!st) st = lm_moments_second(mo, H);
    if (!st) st = spectrum_of(d, H, &s);
    if (!st) { /* L1: F(I) */
        memset(A, 0, sizeof *A * dd);
        for (int i = 0; i < d; i++) A[i * d + i] = 1;
        st = lm_moments_fourth(mo, A, F);
    }
    if (!st) {
        whiten(&s, F, B, tmp);
        st = lm_sym_lambda_max(s.r, B, &out->L1);
    }
    if (!st) { /* kappa-tilde: F(H^+), H^+ = sum_k v_k v_k^T / lambda_k over the range */
        memset(A, 0, sizeof *A * dd);
        for (int k = d - s.r; k < d; k++)
            cblas_dsyr(CblasRowMajor, CblasUpper, d, 1 / s.lambda[k], s.V + (size_t)k * d, 1, A, d);
        lm_symmetrize_upper(d, A);
        st = lm_moments_fourth(mo, A, F);
    }
    if (!st) {
        whiten(&s, F, B, tmp);
        st = lm_sym_lambda_max(s.r, B, &out->kappa_tilde);
    }
    if (!st) {
        out->L1_bound = out->kappa_tilde_bound = INFINITY;
        if (mo->kind == LM_MOMENTS_DATA) {
            out->L1_bound = out->kappa_tilde_bound = 0;
            for (int i = 0; i < mo->n; i++) {
                const double *x = mo->X + (size_t)i * d;
                out->L1_bound = fmax(out->L1_bound, cblas_ddot(d, x, 1, x, 1));
                cblas_dsymv(CblasRowMajor, CblasUpper, d, 1, A, d, x, 1, 0, tmp, 1);
                out->kappa_tilde_bound = fmax(out->kappa_tilde_bound, cblas_ddot(d, x, 1, tmp, 1));
            }
        }
        st = finish(out, s.lambda, d, s.r, m);
    }
    spectrum_free(&s);
    free(H), free(A), free(F), free(B), free(tmp);
    return st;
}

lm_status lm_gaussian_constants(const double *H, int d, int m, lm_constants *out)
{
    lm_moments mo = {.kind = LM_MOMENTS_GAUSSIAN, .d = d, .H = H};
    return lm_moments_constants(&mo, m, out);
}

/* The data path works on the whitened data Z = X V_r^T Lambda_r^{-1/2} (n x r), so that
 * x_i^T H^+ x_i = |z_i|^2 and each whitened fourth moment is one rank-n update. */
static lm_status whitened_lambda_max(const double *Z, const double *weight, int n, int r,
                                     double *Y, double *B, double *out)
{
    for (int i = 0; i < n; i++) {
        double s = sqrt(weight[i] / n);
        for (int k = 0; k < r; k++) Y[(size_t)i * r + k] = s * Z[(size_t)i * r + k];
    }
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, r, n, 1, Y, r, 0, B, r);
    lm_symmetrize_upper(r, B);
    return lm_sym_lambda_max(r, B, out);
}

lm_status lm_linreg_constants(const double *X, int n, int d, int m, lm_constants *out)
{
    memset(out, 0, sizeof *out);
    if (n < 1 || d < 1) return lm_fail(LM_EINVAL, "constants: data of %d rows and %d columns", n, d);
    for (size_t i = 0; i < (size_t)n * d; i++)
        if (!isfinite(X[i]))
            return lm_fail(LM_EINVAL, "constants: data row %zu column %zu is %g", i / d, i % d, X[i]);
    lm_moments mo = {.kind = LM_MOMENTS_DATA, .d = d, .X = X, .n = n};
    spectrum s = {0};
    double *H = malloc(sizeof *H * (size_t)d * d);
    lm_status st = H ? lm_moments_second(&mo, H) : lm_fail(LM_ENOMEM, "constants: no memory");
    if (!st) st = spectrum_of(d, H, &s);
    free(H);
    if (st) {
        spectrum_free(&s);
        return st;
    }
    int r = s.r;
    double *Z = malloc(sizeof *Z * (size_t)n * r), *Y = malloc(sizeof *Y * (size_t)n * r);
    double *B = malloc(sizeof *B * (size_t)r * r), *a = malloc(sizeof *a * (size_t)n);
    double *b = malloc(sizeof *b * (size_t)n);
    if (!Z || !Y || !B || !a || !b) st = lm_fail(LM_ENOMEM, "constants: no memory (n %d, rank %d)", n, r);
    if (!st) {
        const double *Vr = s.V + (size_t)(d - r) * d;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, r, d, 1, X, d, Vr, d, 0, Z, r);
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < r; k++) Z[(size_t)i * r + k] /= sqrt(s.lambda[d - r + k]);
            a[i] = cblas_ddot(d, X + (size_t)i * d, 1, X + (size_t)i * d, 1);
            b[i] = cblas_ddot(r, Z + (size_t)i * r, 1, Z + (size_t)i * r, 1);
            out->L1_bound = fmax(out->L1_bound, a[i]);
            out->kappa_tilde_bound = fmax(out->kappa_tilde_bound, b[i]);
        }
        st = whitened_lambda_max(Z, a, n, r, Y, B, &out->L1);
    }
    if (!st) st = whitened_lambda_max(Z, b, n, r, Y, B, &out->kappa_tilde);
    if (!st) st = finish(out, s.lambda, d, r, m);
    spectrum_free(&s);
    free(Z), free(Y), free(B), free(a), free(b);
    return st;
}
