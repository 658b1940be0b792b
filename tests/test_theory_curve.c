// ctest-labels: unit theory
/* The exact expected curve E|w_t - w*|^2 (lm_theory_curve) and the Monte-Carlo simulator
 * (lm_theory_simulate), docs/theory.md §2.3:
 * - the curve against the powers of the full operator matrix, iterated here from E[z0 z0^T]
 *   (data moments; and diagonal populations, whose curve takes the diagonal subspace);
 * - SGD in 1-D with x ~ N(0, h): E e_t^2 = (1 - 2 eta h + (m + 2)/m eta^2 h^2)^t e_0^2;
 * - the asymptotic ratio of the curve on H = diag(1, 0.01): MaSS 0.957306, SGD at 1/L1 0.993392;
 * - the simulator's mean within a few standard errors of the curve, for every kind of moments. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/rng.h"
#include "linmass/theory.h"

/* E|w_t - w*|^2 by powers of the operator's full matrix, from z0 = (e0, e0) (or e0 for SGD):
 * the state is the upper triangle of E[z z^T], row by row. */
static void curve_by_powers(const lm_moments *mo, lm_theory_method method, lm_theory_hp hp, int m,
                            const double *e0, int steps, double *out)
{
    int d = mo->d, D = method == LM_THEORY_SGD ? d : 2 * d, N;
    double *M;
    CHECK(lm_theory_operator(mo, method, hp, m, 0, &M, &N) == LM_OK);
    CHECK(N == D * (D + 1) / 2);
    double *s = malloc(sizeof *s * N), *next = malloc(sizeof *next * N);
    int k = 0;
    for (int a = 0; a < D; a++)
        for (int b = a; b < D; b++) s[k++] = e0[a % d] * e0[b % d];
    for (int t = 0; t <= steps; t++) {
        out[t] = 0;
        k = 0;
        for (int a = 0; a < D; a++)
            for (int b = a; b < D; b++, k++)
                if (a == b && a < d) out[t] += s[k];
        for (int p = 0; p < N; p++) {
            next[p] = 0;
            for (int q = 0; q < N; q++) next[p] += M[p * N + q] * s[q];
        }
        memcpy(s, next, sizeof *s * N);
    }
    free(M), free(s), free(next);
}

static void curve_matches_powers(const char *what, const lm_moments *mo, lm_theory_method method,
                                 lm_theory_hp hp, int m, const double *e0)
{
    enum { T = 40 };
    double got[T + 1], want[T + 1], err = 0;
    CHECK(lm_theory_curve(mo, method, hp, m, e0, T, got) == LM_OK);
    curve_by_powers(mo, method, hp, m, e0, T, want);
    for (int t = 0; t <= T; t++) err = fmax(err, fabs(got[t] - want[t]) / want[t]);
    printf("%s %s (m %d): curve against operator powers, relative difference %.2e over %d steps\n", what,
           lm_theory_method_name(method), m, err, T);
    CHECK_MSG(err <= 1e-12, "%s %s: curve differs from the operator's powers by %.3g", what,
              lm_theory_method_name(method), err);
}

static void against_powers(void)
{
    double X[5 * 3], e0[3] = {0.5, -1, 2};
    for (int i = 0; i < 15; i++) X[i] = lm_rand_normal(3, 7, (uint64_t)i);
    lm_moments data = {.kind = LM_MOMENTS_DATA, .d = 3, .X = X, .n = 5};
    curve_matches_powers("data", &data, LM_THEORY_SGD, (lm_theory_hp){0.15, 0, 0}, 1, e0);
    curve_matches_powers("data", &data, LM_THEORY_NESTEROV, (lm_theory_hp){0.1, 0, 0.7}, 2, e0);
    curve_matches_powers("data", &data, LM_THEORY_MASS, (lm_theory_hp){0.12, 0.04, 0.8}, 3, e0);
    /* diagonal populations: the curve takes the diagonal subspace, the powers the whole state
     * (whose off-diagonal entries e0_i e0_j must not feed the trace) */
    double H[9] = {1, 0, 0, 0, 0.3, 0, 0, 0, 0.05}, s2[3] = {1, 0.3, 0.05};
    lm_moments gauss = {.kind = LM_MOMENTS_GAUSSIAN, .d = 3, .H = H};
    lm_moments dec = {.kind = LM_MOMENTS_DECOUPLED, .d = 3, .sigma2 = s2};
    curve_matches_powers("gaussian", &gauss, LM_THEORY_MASS, (lm_theory_hp){0.2, 0.1, 0.85}, 2, e0);
    curve_matches_powers("gaussian", &gauss, LM_THEORY_SGD, (lm_theory_hp){0.2, 0, 0}, 1, e0);
    curve_matches_powers("decoupled", &dec, LM_THEORY_NESTEROV, (lm_theory_hp){0.05, 0, 0.6}, 1, e0);
}

/* SGD in 1-D: e' = (1 - eta Hb) e with Hb = (1/m) sum x_j^2, E Hb = h, E Hb^2 = (m + 2)/m h^2. */
static void sgd_1d_closed_form(void)
{
    const double h = 0.7, eta = 0.4, e0 = 1.3;
    double H[1] = {h};
    lm_moments mo = {.kind = LM_MOMENTS_GAUSSIAN, .d = 1, .H = H};
    for (int m = 1; m <= 3; m += 2) {
        enum { T = 60 };
        double c[T + 1], err = 0, q = 1 - 2 * eta * h + (m + 2.0) / m * eta * eta * h * h;
        CHECK(lm_theory_curve(&mo, LM_THEORY_SGD, (lm_theory_hp){eta, 0, 0}, m, &e0, T, c) == LM_OK);
        for (int t = 0; t <= T; t++) err = fmax(err, fabs(c[t] / (pow(q, t) * e0 * e0) - 1));
        printf("1-D SGD, m %d: E e_t^2 against (1 - 2 eta h + (m+2)/m eta^2 h^2)^t e0^2, relative %.2e\n", m, err);
        CHECK(err <= 1e-12);
    }
}

/* The per-step ratio of the curve over its last `span` steps. */
static double tail_ratio(const double *c, int steps, int span)
{
    return pow(c[steps] / c[steps - span], 1.0 / span);
}

static void reference_ratios(void)
{
    enum { T = 3000 };
    double H[4] = {1, 0, 0, 0.01}, ones[2] = {1, 1}, *c = malloc(sizeof *c * (T + 1));
    lm_moments mo = {.kind = LM_MOMENTS_GAUSSIAN, .d = 2, .H = H};
    lm_constants k;
    CHECK(lm_moments_constants(&mo, 1, &k) == LM_OK);
    CHECK(lm_theory_curve(&mo, LM_THEORY_MASS, (lm_theory_hp){k.mass_eta1, k.mass_eta2, k.mass_gamma}, 1, ones, T,
                          c) == LM_OK);
    double mass = tail_ratio(c, T, 500);
    CHECK(lm_theory_curve(&mo, LM_THEORY_SGD, (lm_theory_hp){1 / k.L1, 0, 0}, 1, ones, T, c) == LM_OK);
    double sgd = tail_ratio(c, T, 500);
    printf("H = diag(1, 0.01), m 1: the curve's ratio per step %.7f (MaSS, section 2.2), %.7f (SGD, 1/L1)\n", mass, sgd);
    CHECK(fabs(mass - 0.957306) <= 1e-6);
    CHECK(fabs(sgd - 0.993392) <= 1e-6);
    free(c);
}

/* ---- the simulator ---- */

static void simulate_matches_curve(const char *what, const lm_moments *mo, lm_theory_method method,
                                   lm_theory_hp hp, int m)
{
    enum { T = 30, RUNS = 4000 };
    double mean[T + 1], se[T + 1], exact[T + 1], e0[3] = {1, -0.5, 0.8};
    lm_simulate_opts o = {m, RUNS, T, e0, 11, LM_STREAM_PROBE};
    CHECK(lm_theory_simulate(mo, method, hp, &o, mean, se) == LM_OK);
    CHECK(lm_theory_curve(mo, method, hp, m, e0, T, exact) == LM_OK);
    CHECK_CLOSE(mean[0], exact[0], 1e-13); /* a sum of runs * (1/runs) */
    CHECK(se[0] == 0);
    double worst = 0;
    for (int t = 5; t <= T; t += 5) {
        double z = (mean[t] - exact[t]) / se[t];
        worst = fmax(worst, fabs(z));
        CHECK_MSG(fabs(z) <= 4, "%s %s step %d: simulated %.6g +- %.2g, exact %.6g", what, lm_theory_method_name(method),
                  t, mean[t], se[t], exact[t]);
        CHECK(se[t] < 0.1 * exact[t]); /* enough runs for the comparison to mean something */
    }
    printf("simulated %s %s (m %d, %d runs): largest |mean - exact| = %.2f standard errors\n", what,
           lm_theory_method_name(method), m, RUNS, worst);
}

static void simulator(void)
{
    double X[6 * 3], H[9] = {1, 0, 0, 0, 0.4, 0, 0, 0, 0.1}, s2[3] = {1, 0.4, 0.1};
    for (int i = 0; i < 18; i++) X[i] = lm_rand_normal(5, 9, (uint64_t)i);
    /* H turned by a rotation: the general Gaussian sampler H^(1/2) z */
    double c = cos(0.5), s = sin(0.5), R[9] = {c, -s, 0, s, c, 0, 0, 0, 1}, G[9] = {0};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 3; k++) G[i * 3 + j] += R[i * 3 + k] * H[k * 3 + k] * R[j * 3 + k];
    lm_moments data = {.kind = LM_MOMENTS_DATA, .d = 3, .X = X, .n = 6};
    lm_moments diag = {.kind = LM_MOMENTS_GAUSSIAN, .d = 3, .H = H};
    lm_moments turned = {.kind = LM_MOMENTS_GAUSSIAN, .d = 3, .H = G};
    lm_moments dec = {.kind = LM_MOMENTS_DECOUPLED, .d = 3, .sigma2 = s2};
    simulate_matches_curve("data", &data, LM_THEORY_MASS, (lm_theory_hp){0.15, 0.05, 0.7}, 2);
    simulate_matches_curve("gaussian", &diag, LM_THEORY_SGD, (lm_theory_hp){0.3, 0, 0}, 1);
    simulate_matches_curve("gaussian, turned H", &turned, LM_THEORY_MASS, (lm_theory_hp){0.2, 0.08, 0.8}, 3);
    simulate_matches_curve("decoupled", &dec, LM_THEORY_NESTEROV, (lm_theory_hp){0.05, 0, 0.5}, 1);
}

static void bad_input(void)
{
    double H[1] = {1}, out[3], mean[3];
    lm_moments mo = {.kind = LM_MOMENTS_GAUSSIAN, .d = 1, .H = H};
    CHECK(lm_theory_curve(&mo, LM_THEORY_SGD, (lm_theory_hp){0.1, 0, 0}, 1, NULL, 2, out) == LM_EINVAL);
    CHECK(lm_theory_curve(&mo, LM_THEORY_MASS, (lm_theory_hp){0.1, 0, 1.5}, 1, H, 2, out) == LM_EINVAL);
    lm_simulate_opts o = {1, 1, 2, NULL, 0, 0};
    CHECK(lm_theory_simulate(&mo, LM_THEORY_SGD, (lm_theory_hp){0.1, 0, 0}, &o, mean, NULL) == LM_EINVAL);
    printf("one run: %s\n", lm_error_message());
    o.runs = 10, o.m = 0;
    CHECK(lm_theory_simulate(&mo, LM_THEORY_SGD, (lm_theory_hp){0.1, 0, 0}, &o, mean, NULL) == LM_EINVAL);
}

int main(void)
{
    against_powers();
    sgd_1d_closed_form();
    reference_ratios();
    simulator();
    bad_input();
    return check_summary();
}
