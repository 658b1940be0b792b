/* Kernel SGD in the RKHS through the trainer (docs/theory.md §2.1), against recursions written
 * here in float64 with the test's own Gaussian kernel, on 12 centres in 3 dimensions with 2
 * outputs and the square loss (1/2b) sum |f(x) - y|^2:
 *   - full batch (b = n, the samples in a shuffled order), plain SGD: a <- a - (eta/n)(K a - y),
 *     in the standard parameterization and in the ntk one, where f = s K a with s = 1/sqrt(n)
 *     and a <- a - (eta s/n)(s K a - y);
 *   - one mini-batch with a repeated centre, plain SGD: only a_B changes, by -(eta/m) times the
 *     sum of its residuals, every other coefficient bit for bit unchanged;
 *   - MaSS on mini-batches: the two-sequence recursion w' = u - eta1 g(u),
 *     u' = (1 + gamma) w' - gamma w + eta2 g(u) on the coefficient vector, g the RKHS gradient;
 *   - Adam's first step moves only the batch's coefficients (its gradient is zero elsewhere);
 *   - refusals: an RKHS machine stepped without indices or with an index past its centres; the
 *     Euclidean variant (no :rkhs) still steps through backward, moving every coefficient. */
// ctest-labels: unit
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/rng.h"
#include "linmass/train.h"

enum { N = 12, D = 3, K = 2 };
static const double BW = 1.5;

static float X[N * D], Y[N * K];
static double GRAM[N * N]; /* k(x_i, x_j), computed here */

static void make_data(void)
{
    lm_rand_normal_fill_f32(X, N * D, 1.0, 41, 1);
    lm_rand_normal_fill_f32(Y, N * K, 1.0, 41, 2);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double r2 = 0;
            for (int k = 0; k < D; k++) r2 += ((double)X[i * D + k] - X[j * D + k]) * ((double)X[i * D + k] - X[j * D + k]);
            GRAM[i * N + j] = exp(-r2 / (2 * BW * BW));
        }
}

/* A kernel machine on the 12 centres and a trainer for it with batches of up to `batch`. */
static lm_trainer *machine(const char *flag, lm_param_kind param, lm_optim_config *oc, int batch, lm_model **m)
{
    char spec[96];
    snprintf(spec, sizeof spec, "kernelfeat:gaussian:%g:%d%s,flatten,dense:%d:nobias", BW, N, flag, K);
    lm_trainer *t = NULL;
    *m = NULL;
    CHECK(lm_model_create(spec, (lm_shape){D, 1, 1}, param, 3, m) == LM_OK);
    if (!*m) return NULL;
    CHECK(lm_model_set_kernel_centres(*m, X, N) == LM_OK);
    CHECK(lm_model_kernel_rkhs(*m) == (*flag != '\0'));
    lm_trainer_opts o;
    lm_trainer_opts_init(&o, 0); /* the square loss on target rows */
    CHECK(lm_trainer_create(*m, oc, &o, batch, &t) == LM_OK);
    return t;
}

/* The batch of centres idx[0..b): inputs and targets. */
static void gather(const uint32_t *idx, int b, float *xb, float *yb)
{
    for (int i = 0; i < b; i++) {
        memcpy(xb + i * D, X + idx[i] * D, sizeof *xb * D);
        memcpy(yb + i * K, Y + idx[i] * K, sizeof *yb * K);
    }
}

/* The RKHS gradient at coefficients a (K x N, row-major) on the batch idx[0..m):
 * g[k][idx_i] += s (f_k(x_i) - y_ik)/m with f_k(x) = s sum_j a[k][j] k(c_j, x). */
static void rkhs_gradient(const double *a, double s, const uint32_t *idx, int m, double *g)
{
    memset(g, 0, sizeof *g * K * N);
    for (int i = 0; i < m; i++)
        for (int k = 0; k < K; k++) {
            double f = 0;
            for (int j = 0; j < N; j++) f += a[k * N + j] * GRAM[j * N + idx[i]];
            g[k * N + idx[i]] += s * (s * f - Y[idx[i] * K + k]) / m;
        }
}

/* max |got - want| / max |want| over the K x N coefficients */
static double rel_error(const float *got, const double *want)
{
    double err = 0, scale = 0;
    for (int i = 0; i < K * N; i++) err = fmax(err, fabs(got[i] - want[i])), scale = fmax(scale, fabs(want[i]));
    return err / scale;
}

static void full_batch(lm_param_kind param)
{
    enum { STEPS = 25 };
    const double s = param == LM_PARAM_NTK ? 1 / sqrt((double)N) : 1, eta = 1.5 / (s * s); /* H = eta s^2 K/n alike */
    lm_optim_config oc;
    lm_optim_config_init(&oc, LM_OPTIM_SGD);
    oc.lr = eta;
    lm_model *m;
    lm_trainer *t = machine(":rkhs", param, &oc, N, &m);
    if (!t) return;
    double a[K * N], g[K * N], loss0 = 0, loss = 0;
    for (int i = 0; i < K * N; i++) a[i] = lm_trainer_weights(t)[i];
    uint32_t perm[N];
    lm_rand_permutation(perm, N, 5, 0);
    float xb[N * D], yb[N * K];
    gather(perm, N, xb, yb);
    for (int step = 0; step < STEPS; step++) {
        lm_step_info info;
        CHECK(lm_trainer_step_indexed(t, xb, yb, perm, N, &info) == LM_OK);
        if (step == 0) loss0 = info.loss;
        loss = info.loss;
        /* a <- a - (eta s/n)(s K a - y): the gradient over all n centres, in their own order */
        uint32_t all[N];
        for (int i = 0; i < N; i++) all[i] = (uint32_t)i;
        rkhs_gradient(a, s, all, N, g);
        for (int i = 0; i < K * N; i++) a[i] -= eta * g[i];
    }
    double err = rel_error(lm_trainer_weights(t), a);
    printf("full batch, %s: %d SGD steps, loss %.4g -> %.4g, coefficients off the recursion by %.1e (relative)\n",
           param == LM_PARAM_NTK ? "ntk" : "standard", STEPS, loss0, loss, err);
    CHECK_MSG(err < 1e-5, "full-batch kernel SGD is off a <- a - (eta/n)(K a - y) by %.2e", err);
    CHECK(loss < 0.5 * loss0); /* the recursion itself trains: a wrong one would not be matched above */
    lm_trainer_free(t);
    lm_model_free(m);
}

/* Plain SGD on a batch {7, 2, 7}: a_2 and a_7 move (a_7 by both its samples), nothing else. */
static void mini_batch(void)
{
    const double eta = 0.7;
    lm_optim_config oc;
    lm_optim_config_init(&oc, LM_OPTIM_SGD);
    oc.lr = eta;
    lm_model *m;
    lm_trainer *t = machine(":rkhs", LM_PARAM_STANDARD, &oc, 3, &m);
    if (!t) return;
    float before[K * N], xb[3 * D], yb[3 * K];
    double a[K * N], g[K * N];
    memcpy(before, lm_trainer_weights(t), sizeof before);
    for (int i = 0; i < K * N; i++) a[i] = before[i];
    const uint32_t idx[3] = {7, 2, 7};
    gather(idx, 3, xb, yb);
    CHECK(lm_trainer_step_indexed(t, xb, yb, idx, 3, NULL) == LM_OK);
    rkhs_gradient(a, 1, idx, 3, g);
    const float *w = lm_trainer_weights(t);
    int others_same = 1;
    double err = 0;
    for (int k = 0; k < K; k++)
        for (int j = 0; j < N; j++) {
            int i = k * N + j;
            if (j == 2 || j == 7) err = fmax(err, fabs((w[i] - before[i]) - (-eta * g[i])) / fabs(eta * g[i]));
            else others_same &= w[i] == before[i];
        }
    printf("mini-batch {7, 2, 7}: the batch's coefficients move as -(eta/m) sum of residuals to %.1e; others unchanged: %s\n",
           err, others_same ? "yes" : "NO");
    CHECK_MSG(others_same, "a coefficient outside the batch moved");
    CHECK_MSG(err < 1e-5, "the batch's coefficients moved off -(eta/m) sum (f - y) by %.2e (relative)", err);
    lm_trainer_free(t);
    lm_model_free(m);
}

static void set(lm_optim_config *oc, const char *key, const char *value)
{
    CHECK_MSG(lm_optim_config_set(oc, key, value) == LM_OK, "%s = %s: %s", key, value, lm_error_message());
}

/* MaSS over 3 epochs of batches of 4 (the order from a permutation per epoch). */
static void mass(void)
{
    enum { B = 4, EPOCHS = 3 };
    const double eta1 = 0.9, eta2 = 0.3, gamma = 0.6;
    lm_optim_config oc;
    lm_optim_config_init(&oc, LM_OPTIM_MASS);
    set(&oc, "eta1", "0.9"), set(&oc, "eta2", "0.3"), set(&oc, "gamma", "0.6");
    CHECK(lm_optim_config_validate(&oc) == LM_OK);
    lm_model *m;
    lm_trainer *t = machine(":rkhs", LM_PARAM_STANDARD, &oc, B, &m);
    if (!t) return;
    double w[K * N], u[K * N], g[K * N];
    for (int i = 0; i < K * N; i++) w[i] = u[i] = lm_trainer_weights(t)[i];
    uint32_t perm[N];
    float xb[B * D], yb[B * K];
    for (int e = 0; e < EPOCHS; e++) {
        lm_rand_permutation(perm, N, 9, (uint64_t)e + 1);
        for (int at = 0; at < N; at += B) {
            gather(perm + at, B, xb, yb);
            CHECK(lm_trainer_step_indexed(t, xb, yb, perm + at, B, NULL) == LM_OK);
            rkhs_gradient(u, 1, perm + at, B, g);
            for (int i = 0; i < K * N; i++) {
                double next = u[i] - eta1 * g[i];
                u[i] = (1 + gamma) * next - gamma * w[i] + eta2 * g[i];
                w[i] = next;
            }
        }
    }
    lm_optim *o = lm_trainer_optim(t);
    CHECK(!strcmp(lm_optim_state_name(o, 0), "u"));
    double ew = rel_error(lm_trainer_weights(t), w), eu = rel_error(lm_optim_state(o, 0), u);
    printf("MaSS, %d steps of batch %d: w off the two-sequence recursion by %.1e, u by %.1e (relative)\n",
           EPOCHS * N / B, B, ew, eu);
    CHECK_MSG(ew < 1e-5 && eu < 1e-5, "MaSS on the RKHS step: w off by %.2e, u by %.2e", ew, eu);
    lm_trainer_free(t);
    lm_model_free(m);
}

/* Adam's first step is lr * g / (|g| + eps) per coefficient: zero where the gradient is. */
static void adam(void)
{
    lm_optim_config oc;
    lm_optim_config_init(&oc, LM_OPTIM_ADAM);
    oc.lr = 0.01;
    lm_model *m;
    lm_trainer *t = machine(":rkhs", LM_PARAM_STANDARD, &oc, 2, &m);
    if (!t) return;
    float before[K * N], xb[2 * D], yb[2 * K];
    memcpy(before, lm_trainer_weights(t), sizeof before);
    const uint32_t idx[2] = {4, 9};
    gather(idx, 2, xb, yb);
    CHECK(lm_trainer_step_indexed(t, xb, yb, idx, 2, NULL) == LM_OK);
    const float *w = lm_trainer_weights(t);
    int moved = 0, others_same = 1;
    for (int k = 0; k < K; k++)
        for (int j = 0; j < N; j++) {
            int i = k * N + j;
            if (j == 4 || j == 9) moved += fabs(fabs(w[i] - before[i]) - 0.01) < 1e-5;
            else others_same &= w[i] == before[i];
        }
    CHECK_MSG(moved == 2 * K && others_same, "Adam: %d of %d batch coefficients moved by lr, others unchanged: %d", moved,
              2 * K, others_same);
    lm_trainer_free(t);
    lm_model_free(m);
}

static void refusals(void)
{
    lm_optim_config oc;
    lm_optim_config_init(&oc, LM_OPTIM_SGD);
    oc.lr = 0.5;
    lm_model *m;
    lm_trainer *t = machine(":rkhs", LM_PARAM_STANDARD, &oc, 2, &m);
    if (!t) return;
    float xb[2 * D], yb[2 * K];
    const uint32_t idx[2] = {1, N};
    gather(idx, 1, xb, yb);
    gather(idx, 1, xb + D, yb + K);
    CHECK(lm_trainer_step(t, xb, yb, 2, NULL) == LM_EINVAL);
    CHECK(strstr(lm_error_message(), "RKHS kernel machine") && strstr(lm_error_message(), "index"));
    CHECK(lm_trainer_step_indexed(t, xb, yb, idx, 2, NULL) == LM_EINVAL);
    CHECK(strstr(lm_error_message(), "centre index 12") && strstr(lm_error_message(), "12 centres"));
    CHECK(lm_trainer_step_count(t) == 0);
    lm_trainer_free(t);
    lm_model_free(m);

    /* the Euclidean variant: the gradient of backward, nonzero in every coefficient */
    t = machine("", LM_PARAM_STANDARD, &oc, 2, &m);
    if (!t) return;
    float before[K * N];
    memcpy(before, lm_trainer_weights(t), sizeof before);
    CHECK(lm_trainer_step(t, xb, yb, 2, NULL) == LM_OK);
    int moved = 0;
    for (int i = 0; i < K * N; i++) moved += lm_trainer_weights(t)[i] != before[i];
    CHECK_MSG(moved == K * N, "the Euclidean step moved %d of %d coefficients", moved, K * N);
    lm_trainer_free(t);
    lm_model_free(m);
}

int main(void)
{
    make_data();
    full_batch(LM_PARAM_STANDARD);
    full_batch(LM_PARAM_NTK);
    mini_batch();
    mass();
    adam();
    refusals();
    return check_summary();
}
