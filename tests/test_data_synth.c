/* Synthetic data: the linreg spectrum and exact interpolation, the decoupled data's L1 = 6
 * sigma_1^2 and kappa~ = 6 (docs/theory.md §2.4), the teacher, determinism, and parameter errors. */
// ctest-labels: data unit
#include "check.h"
#include "linmass/data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Eigenvalues of the symmetric d x d matrix a (destroyed) by cyclic Jacobi, sorted descending. */
static void eigenvalues(double *a, int d, double *ev)
{
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0;
        for (int p = 0; p < d; p++)
            for (int q = p + 1; q < d; q++) off += a[p * d + q] * a[p * d + q];
        if (off < 1e-30) break;
        for (int p = 0; p < d; p++)
            for (int q = p + 1; q < d; q++) {
                if (fabs(a[p * d + q]) < 1e-300) continue;
                double theta = (a[q * d + q] - a[p * d + p]) / (2 * a[p * d + q]);
                double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                for (int k = 0; k < d; k++) { /* rotate columns p, q */
                    double akp = a[k * d + p], akq = a[k * d + q];
                    a[k * d + p] = c * akp - s * akq;
                    a[k * d + q] = s * akp + c * akq;
                }
                for (int k = 0; k < d; k++) { /* and rows p, q */
                    double apk = a[p * d + k], aqk = a[q * d + k];
                    a[p * d + k] = c * apk - s * aqk;
                    a[q * d + k] = s * apk + c * aqk;
                }
            }
    }
    for (int k = 0; k < d; k++) ev[k] = a[k * d + k];
    for (int i = 0; i < d; i++) /* insertion sort, descending */
        for (int j = i; j > 0 && ev[j] > ev[j - 1]; j--) {
            double t = ev[j];
            ev[j] = ev[j - 1];
            ev[j - 1] = t;
        }
}

static lm_dataset *load(const char *src, lm_split split, uint64_t seed)
{
    lm_dataset *ds = NULL;
    lm_status s = lm_data_load(src, split, seed, &ds);
    CHECK_MSG(s == LM_OK, "%s: %s", src, lm_error_message());
    return ds;
}

static void check_linreg(const char *src, int d, double cond)
{
    lm_dataset *ds = load(src, LM_SPLIT_TRAIN, 7);
    if (!ds) return;
    CHECK(ds->shape.c == d && ds->shape.h == 1 && ds->classes == 0 && ds->w_star);
    double *h = calloc((size_t)d * d, sizeof *h), ev[64];
    for (size_t i = 0; i < ds->n; i++) {
        const float *x = ds->x + i * d;
        for (int p = 0; p < d; p++)
            for (int q = 0; q < d; q++) h[p * d + q] += (double)x[p] * x[q];
    }
    for (int k = 0; k < d * d; k++) h[k] /= (double)ds->n;
    eigenvalues(h, d, ev);
    /* sampling error of an eigenvalue is about lambda * sqrt(2/n) = 0.45% at n = 1e5 */
    for (int k = 0; k < d; k++) {
        double want = pow(cond, -(double)k / (d - 1));
        CHECK_MSG(fabs(ev[k] / want - 1) < 0.03, "%s: eigenvalue %d is %g, want %g", src, k, ev[k],
                  want);
    }
    /* y = <w*, x> exactly, up to the rounding of y to float */
    double norm = 0, worst = 0;
    for (int k = 0; k < d; k++) norm += ds->w_star[k] * ds->w_star[k];
    CHECK_CLOSE(norm, 1.0, 1e-12);
    for (size_t i = 0; i < ds->n; i++) {
        double dot = 0;
        for (int k = 0; k < d; k++) dot += ds->w_star[k] * ds->x[i * d + k];
        double err = fabs(ds->y[i] - dot) / fmax(fabs(dot), 1e-3);
        if (err > worst) worst = err;
    }
    CHECK_MSG(worst < 1e-6, "%s: worst relative interpolation error %g", src, worst);
    free(h);
    lm_dataset_free(ds);
}

static void test_linreg(void)
{
    check_linreg("synth:linreg:n=100000,d=8,cond=100", 8, 100);
    check_linreg("synth:linreg:n=100000,d=6,cond=1000,rotate=1", 6, 1000);

    /* defaults: n=1000, d=50; the test split is a fresh draw with the same w* */
    lm_dataset *tr = load("synth:linreg", LM_SPLIT_TRAIN, 3), *te = load("synth:linreg", LM_SPLIT_TEST, 3);
    if (!tr || !te) return;
    CHECK(tr->n == 1000 && tr->shape.c == 50 && te->n == 1000);
    CHECK(memcmp(tr->w_star, te->w_star, 50 * sizeof(double)) == 0);
    CHECK(memcmp(tr->x, te->x, 50 * sizeof(float)) != 0);
    /* same seed: bit-identical; seed=... fixes the data whatever the run's seed */
    lm_dataset *again = load("synth:linreg", LM_SPLIT_TRAIN, 3), *other = load("synth:linreg", LM_SPLIT_TRAIN, 4);
    lm_dataset *fixed = load("synth:linreg:seed=3", LM_SPLIT_TRAIN, 99);
    if (again && other && fixed) {
        CHECK(memcmp(tr->x, again->x, 1000 * 50 * sizeof(float)) == 0);
        CHECK(memcmp(tr->y, again->y, 1000 * sizeof(float)) == 0);
        CHECK(memcmp(tr->x, other->x, 1000 * 50 * sizeof(float)) != 0);
        CHECK(memcmp(tr->x, fixed->x, 1000 * 50 * sizeof(float)) == 0);
    }
    lm_dataset_free(again);
    lm_dataset_free(other);
    lm_dataset_free(fixed);
    lm_dataset_free(tr);
    lm_dataset_free(te);

    /* noise breaks interpolation by about the noise level */
    lm_dataset *noisy = load("synth:linreg:n=2000,d=4,noise=0.1", LM_SPLIT_TRAIN, 1);
    if (noisy) {
        double ss = 0;
        for (size_t i = 0; i < noisy->n; i++) {
            double dot = 0;
            for (int k = 0; k < 4; k++) dot += noisy->w_star[k] * noisy->x[i * 4 + k];
            ss += (noisy->y[i] - dot) * (noisy->y[i] - dot);
        }
        CHECK_CLOSE(sqrt(ss / noisy->n), 0.1, 0.1);
        lm_dataset_free(noisy);
    }
}

static void test_decoupled(void)
{
    const double cond = 100;
    lm_dataset *ds = load("synth:decoupled:n=400000,cond=100", LM_SPLIT_TRAIN, 11);
    if (!ds) return;
    CHECK(ds->shape.c == 2 && ds->n == 400000);
    /* one active coordinate: x x^T is diagonal, so H and M = E[|x|^2 x x^T] are diagonal */
    double h[2] = {0, 0}, m[2] = {0, 0}, kt[2] = {0, 0};
    long both = 0, active[2] = {0, 0};
    for (size_t i = 0; i < ds->n; i++) {
        double x0 = ds->x[2 * i], x1 = ds->x[2 * i + 1];
        both += x0 != 0 && x1 != 0;
        active[x1 != 0]++;
        double r2 = x0 * x0 + x1 * x1;
        h[0] += x0 * x0, h[1] += x1 * x1;
        m[0] += r2 * x0 * x0, m[1] += r2 * x1 * x1;
    }
    CHECK(both == 0);
    CHECK_CLOSE((double)active[0] / ds->n, 0.5, 0.01);
    for (int k = 0; k < 2; k++) h[k] /= ds->n, m[k] /= ds->n;
    CHECK_CLOSE(h[0], 1.0, 0.02);
    CHECK_CLOSE(h[1], 1.0 / cond, 0.02);
    /* L1 = lambda_max(H^-1/2 M H^-1/2) = max_k M_kk / H_kk = 6 sigma_1^2 */
    double l1 = fmax(m[0] / h[0], m[1] / h[1]);
    CHECK_CLOSE(l1, 6.0, 0.05);
    /* kappa~ = lambda_max(H^-1/2 E[(x^T H^-1 x) x x^T] H^-1/2) = 6 */
    for (size_t i = 0; i < ds->n; i++) {
        double x0 = ds->x[2 * i], x1 = ds->x[2 * i + 1];
        double q = x0 * x0 / h[0] + x1 * x1 / h[1];
        kt[0] += q * x0 * x0, kt[1] += q * x1 * x1;
    }
    CHECK_CLOSE(fmax(kt[0] / ds->n / h[0], kt[1] / ds->n / h[1]), 6.0, 0.05);
    double worst = 0;
    for (size_t i = 0; i < ds->n; i++) {
        double dot = ds->w_star[0] * ds->x[2 * i] + ds->w_star[1] * ds->x[2 * i + 1];
        worst = fmax(worst, fabs(ds->y[i] - dot) / fmax(fabs(dot), 1e-3));
    }
    CHECK_MSG(worst < 1e-6, "decoupled: interpolation error %g", worst);
    lm_dataset_free(ds);
}

static void test_teacher(void)
{
    lm_dataset *a = load("synth:teacher", LM_SPLIT_TRAIN, 5), *b = load("synth:teacher", LM_SPLIT_TRAIN, 5);
    lm_dataset *w = load("synth:teacher:width=7", LM_SPLIT_TRAIN, 5);
    if (!a || !b || !w) return;
    CHECK(a->n == 1000 && a->shape.c == 20 && a->classes == 0 && a->w_star == NULL);
    double mean = 0, var = 0;
    int finite = 1;
    for (size_t i = 0; i < a->n; i++) finite &= isfinite(a->y[i]), mean += a->y[i];
    mean /= a->n;
    for (size_t i = 0; i < a->n; i++) var += (a->y[i] - mean) * (a->y[i] - mean);
    var /= a->n;
    CHECK(finite);
    CHECK_MSG(var > 0.02 && var < 5, "teacher target variance %g is not O(1)", var);
    CHECK(memcmp(a->y, b->y, 1000 * sizeof(float)) == 0);
    CHECK(memcmp(a->x, w->x, 1000 * 20 * sizeof(float)) == 0); /* same inputs, */
    CHECK(memcmp(a->y, w->y, 1000 * sizeof(float)) != 0);      /* another teacher */
    lm_dataset_free(a);
    lm_dataset_free(b);
    lm_dataset_free(w);
}

static void test_bad_params(void)
{
    static const char *bad[] = {"synth:linreg:cond=0.5", "synth:linreg:width=3", "synth:foo",
                                "synth:linreg:n=0",      "synth:linreg:d=x",     "synth:linreg:n",
                                "synth:decoupled:d=3",   "synth:teacher:noise=-1", "synth:linreg:seed=-2"};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        lm_dataset *ds = NULL;
        lm_status s = lm_data_load(bad[k], LM_SPLIT_TRAIN, 0, &ds);
        CHECK_MSG(s == LM_EINVAL && ds == NULL, "%s: status %d", bad[k], (int)s);
        CHECK_MSG(strstr(lm_error_message(), "synth:") != NULL, "%s: %s", bad[k], lm_error_message());
    }
}

int main(void)
{
    test_linreg();
    test_decoupled();
    test_teacher();
    test_bad_params();
    return check_summary();
}
