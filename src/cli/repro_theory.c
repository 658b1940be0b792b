/* Claims about momentum on linear regression (science.md section 2): exact expected dynamics
 * from the theory library next to Monte-Carlo means of simulated runs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/plot.h"
#include "cli/repro.h"
#include "linmass/data.h"
#include "linmass/error.h"
#include "linmass/optim.h"
#include "linmass/rng.h"
#include "linmass/theory.h"

/* ---- simulation: mean over runs of |w - w*|^2 per step, m = 1, x ~ N(0, diag(h)) ---- */

typedef struct {
    lm_theory_method method;
    lm_theory_hp hp;
} method_hp;

/* mean[t] for t = 0..steps, averaged over `runs` independent runs started at w0 - w* = (1..1). */
static void simulate(const double *h, int d, method_hp mh, int runs, int steps, uint64_t seed, double *mean)
{
    double *w = malloc(d * sizeof *w), *u = malloc(d * sizeof *u), *g = malloc(d * sizeof *g), *x = malloc(d * sizeof *x);
    for (int t = 0; t <= steps; t++) mean[t] = 0;
    lm_mass_hp mass = {mh.hp.eta1, mh.method == LM_THEORY_MASS ? mh.hp.eta2 : 0, mh.hp.gamma, 0};
    for (int r = 0; r < runs; r++) {
        for (int i = 0; i < d; i++) w[i] = u[i] = 1; /* w* = 0 */
        for (int t = 0; t <= steps; t++) {
            double e = 0;
            for (int i = 0; i < d; i++) e += w[i] * w[i];
            mean[t] += e / runs;
            if (t == steps || !isfinite(e)) continue;
            /* the gradient of 1/2 (<v, x> - <w*, x>)^2 at v = u (or w for SGD) */
            double dot = 0;
            const double *at = mh.method == LM_THEORY_SGD ? w : u;
            for (int i = 0; i < d; i++) {
                x[i] = sqrt(h[i]) * lm_rand_normal(seed, LM_STREAM_DATA + r, (uint64_t)t * d + i);
                dot += at[i] * x[i];
            }
            for (int i = 0; i < d; i++) g[i] = dot * x[i];
            if (mh.method == LM_THEORY_SGD) {
                lm_sgd_hp s = {mh.hp.eta1, 0, 0, 0, 0};
                lm_sgd_step_f64((size_t)d, w, g, NULL, &s, t + 1);
            } else {
                lm_mass_step_f64((size_t)d, w, u, g, &mass);
            }
        }
    }
    free(w), free(u), free(g), free(x);
}

/* The exact E|w - w*|^2 for t = 0..steps from w0 = u0 = w* + (1..1) at batch size m, by
 * iterating the second-moment operator on its diagonal subspace (diagonal population moments
 * only). */
static int exact_curve(const lm_moments *mo, method_hp mh, int d, int m, int steps, double *out)
{
    double *M;
    int N;
    if (lm_theory_operator(mo, mh.method, mh.hp, m, 1, &M, &N)) return 1;
    int per = N / d; /* 1 (SGD) or 3 (E ew^2, E ew eu, E eu^2) per coordinate */
    double *s = malloc(N * sizeof *s), *next = malloc(N * sizeof *next);
    for (int i = 0; i < N; i++) s[i] = 1;
    for (int t = 0; t <= steps; t++) {
        out[t] = 0;
        for (int i = 0; i < d; i++) out[t] += s[i * per];
        for (int r = 0; r < N; r++) {
            next[r] = 0;
            for (int k = 0; k < N; k++) next[r] += M[(size_t)r * N + k] * s[k];
        }
        memcpy(s, next, N * sizeof *s);
    }
    free(M), free(s), free(next);
    return 0;
}

static int nesterov_diverges(repro_ctx *c)
{
    const double kappa = 100;
    double h[2] = {1, 1 / kappa}, H[4] = {1, 0, 0, 1 / kappa};
    lm_moments mo = {LM_MOMENTS_GAUSSIAN, 2, NULL, 0, H, NULL};
    lm_constants k;
    if (lm_moments_constants(&mo, 1, &k)) return 1;
    const double gamma = 0.9;
    method_hp methods[3] = {
        {LM_THEORY_SGD, {1 / k.L1, 0, 0}},
        {LM_THEORY_NESTEROV, {1 / k.L1, 0, gamma}},
        {LM_THEORY_MASS, {k.mass_eta1, k.mass_eta2, k.mass_gamma}},
    };
    const char *names[3] = {"SGD", "Nesterov (gamma 0.9)", "MaSS"};
    const char *keys[3] = {"sgd", "nesterov", "mass"};
    int runs = c->quick ? 2000 : 20000, steps = c->quick ? 60 : 200;
    double rho[3], *mean[3], *xs = malloc((steps + 1) * sizeof *xs), *exact[3];
    for (int t = 0; t <= steps; t++) xs[t] = t;
    repro_printf(c, "2-D Gaussian data x ~ N(0, diag(1, 1/%g)), batch 1, w* = 0, w0 = (1, 1). Every method uses "
                    "SGD's optimal step eta = 1/L1 = %.5f (L1 = %.4g); Nesterov adds momentum gamma = %.2f; MaSS uses "
                    "the section 2.2 hyper-parameters eta1 = %.5f, eta2 = %.5f, gamma = %.5f.\n\n"
                    "| method | exact rho of E\\|w - w*\\|^2 per step | measured rate (mean of %d runs, last %d steps) | E\\|w-w*\\|^2 after %d steps |\n|---|---|---|---|\n",
                 kappa, 1 / k.L1, k.L1, gamma, k.mass_eta1, k.mass_eta2, k.mass_gamma, runs, steps / 2, steps);
    int holds = 1;
    for (int i = 0; i < 3; i++) {
        if (lm_theory_rate(&mo, methods[i].method, methods[i].hp, 1, &rho[i])) return 1;
        mean[i] = malloc((steps + 1) * sizeof *mean[i]);
        exact[i] = malloc((steps + 1) * sizeof *exact[i]);
        repro_progress("nesterov-diverges", 1, "simulating %s: %d runs x %d steps", names[i], runs, steps);
        simulate(h, 2, methods[i], runs, steps, c->seed, mean[i]);
        if (exact_curve(&mo, methods[i], 2, 1, steps, exact[i])) return 1;
        double measured = pow(mean[i][steps] / mean[i][steps / 2], 1.0 / (steps - steps / 2));
        repro_printf(c, "| %s | %.5f | %.5f | %.3g |\n", names[i], rho[i], measured, mean[i][steps]);
        char key[64];
        snprintf(key, sizeof key, "%s_rho", keys[i]);
        repro_predicted(c, key, rho[i]);
        snprintf(key, sizeof key, "%s_measured_rate", keys[i]);
        repro_measured(c, key, measured);
        snprintf(key, sizeof key, "%s_final_mean_sq_error", keys[i]);
        repro_measured(c, key, mean[i][steps]);
        int diverges = rho[i] > 1, grows = mean[i][steps] > mean[i][0];
        holds &= i == 1 ? diverges && grows : !diverges && !grows;
    }
    repro_printf(c, "\nThe theory's rho and the simulated means agree in direction: SGD and MaSS contract, Nesterov's "
                    "mean square error grows. Gaussian data are heavy-tailed, so single runs of Nesterov can look "
                    "tame while the mean over runs explodes; the table reports means.\n");
    char png[1200];
    plot_series s[6];
    for (int i = 0; i < 3; i++) {
        s[2 * i] = (plot_series){names[i], steps + 1, xs, mean[i]};
        static char labels[3][64];
        snprintf(labels[i], sizeof labels[i], "%s, exact expectation", names[i]);
        s[2 * i + 1] = (plot_series){labels[i], steps + 1, xs, exact[i]};
    }
    plot_axes a = {"Mean of |w - w*|^2 over runs: Nesterov diverges at SGD's step", "step", "E |w - w*|^2", 0, 1};
    repro_figure(c, "mean_sq_error.png", "simulated means (points) and exact expected dynamics (lines)",
                 plot_lines(repro_plot_path(c, "mean_sq_error.png", png, sizeof png), &a, s, 6));
    c->holds = holds;
    for (int i = 0; i < 3; i++) free(mean[i]), free(exact[i]);
    free(xs);
    return 0;
}

/* ---- shared helpers of the claims below ---- */

#define TRY(call)                                                                   \
    do {                                                                            \
        if (call) {                                                                 \
            fprintf(stderr, "linmass repro: %s\n", lm_error_message());             \
            return 1;                                                               \
        }                                                                           \
    } while (0)

/* Least-squares slope of log y against log x over the points with x in [lo, hi] (finite, y > 0). */
static double loglog_slope(const double *x, const double *y, int n, double lo, double hi, int *used)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (!(x[i] >= lo && x[i] <= hi) || !(y[i] > 0) || !isfinite(y[i])) continue;
        double a = log(x[i]), b = log(y[i]);
        sx += a, sy += b, sxx += a * a, sxy += a * b, k++;
    }
    if (used) *used = k;
    if (k < 2) return NAN;
    return (k * sxy - sx * sy) / (k * sxx - sx * sx);
}

/* Where the samples of a simulation come from: x ~ N(0, diag(h)) (X == NULL) or a uniform draw,
 * with replacement, of a row of the n x d matrix X. */
typedef struct {
    int d;
    const double *h;
    const double *X;
    int n;
} sampler;

/* Two independent standard normals from one Philox block (Box-Muller on two 53-bit uniforms). */
static void normal_pair(uint64_t seed, uint64_t stream, uint64_t index, double z[2])
{
    uint32_t w[4];
    lm_philox(seed, stream, index, w);
    double u1 = ((double)((((uint64_t)w[0] << 32) | w[1]) >> 11) + 0.5) * 0x1p-53;
    double u2 = (double)((((uint64_t)w[2] << 32) | w[3]) >> 11) * 0x1p-53;
    double r = sqrt(-2 * log(u1)), a = 2 * M_PI * u2;
    z[0] = r * cos(a), z[1] = r * sin(a);
}

/* mean[t], t = 0..steps, of |w - w*|^2 over `runs` runs with mini-batches of m samples, started
 * at w0 = u0 = w* + (1..1). Nesterov is MaSS with eta2 = 0. Draws from (seed, LM_STREAM_PROBE + run). */
static void simulate_batch(const sampler *sa, method_hp mh, int m, int runs, int steps, uint64_t seed, double *mean)
{
    int d = sa->d;
    double *w = malloc(d * sizeof *w), *u = malloc(d * sizeof *u), *g = malloc(d * sizeof *g), *x = malloc(d * sizeof *x);
    double *sh = malloc(d * sizeof *sh);
    for (int i = 0; i < d; i++) sh[i] = sa->h ? sqrt(sa->h[i]) : 0;
    for (int t = 0; t <= steps; t++) mean[t] = 0;
    lm_mass_hp mass = {mh.hp.eta1, mh.method == LM_THEORY_MASS ? mh.hp.eta2 : 0, mh.hp.gamma, 0};
    lm_sgd_hp sgd = {mh.hp.eta1, 0, 0, 0, 0};
    for (int r = 0; r < runs; r++) {
        uint64_t stream = LM_STREAM_PROBE + (uint64_t)r;
        for (int i = 0; i < d; i++) w[i] = u[i] = 1; /* w* = 0 */
        for (int t = 0; t <= steps; t++) {
            double e = 0;
            for (int i = 0; i < d; i++) e += w[i] * w[i];
            mean[t] += e / runs;
            if (t == steps) continue;
            if (!isfinite(e)) { /* diverged: the mean is infinite from here on */
                for (int s = t + 1; s <= steps; s++) mean[s] = INFINITY;
                break;
            }
            const double *at = mh.method == LM_THEORY_SGD ? w : u;
            for (int i = 0; i < d; i++) g[i] = 0;
            for (int j = 0; j < m; j++) {
                uint64_t k = (uint64_t)t * m + j;
                if (sa->X) {
                    int row = (int)(lm_rand_uniform(seed, stream, k) * sa->n);
                    if (row >= sa->n) row = sa->n - 1;
                    memcpy(x, sa->X + (size_t)row * d, d * sizeof *x);
                } else {
                    uint64_t base = k * (uint64_t)((d + 1) / 2);
                    for (int i = 0; i < d; i += 2) {
                        double z[2];
                        normal_pair(seed, stream, base + i / 2, z);
                        x[i] = sh[i] * z[0];
                        if (i + 1 < d) x[i + 1] = sh[i + 1] * z[1];
                    }
                }
                double dot = 0;
                for (int i = 0; i < d; i++) dot += at[i] * x[i];
                dot /= m;
                for (int i = 0; i < d; i++) g[i] += dot * x[i];
            }
            if (mh.method == LM_THEORY_SGD) lm_sgd_step_f64((size_t)d, w, g, NULL, &sgd, t + 1);
            else lm_mass_step_f64((size_t)d, w, u, g, &mass);
        }
    }
    free(w), free(u), free(g), free(x), free(sh);
}

/* The per-step rate of a curve over its second half. */
static double curve_rate(const double *mean, int steps)
{
    return pow(mean[steps] / mean[steps / 2], 1.0 / (steps - steps / 2));
}

/* The d = 50 Gaussian example of science.md 2.2: H = diag(logspace(0, -2, 50)). */
#define EX_D 50
static void example_h(double *h)
{
    for (int i = 0; i < EX_D; i++) h[i] = pow(100.0, -(double)i / (EX_D - 1));
}

/* ---- nesterov-no-acceleration ---- */

static int nesterov_no_acceleration(repro_ctx *c)
{
    /* kappa_1 = L1/mu = 6 cond on 2-D decoupled data (L1 = 6 sigma_1^2 = 6, mu = 1/cond) */
    static const double quick_cond[] = {100, 1000 / 3.0, 10000 / 9.0, 10000 / 3.0, 10000};
    static const double full_cond[] = {100, 177.8, 316.2, 562.3, 10000 / 9.0, 1778, 3162, 5623, 10000};
    const double *conds = c->quick ? quick_cond : full_cond;
    int nk = c->quick ? 5 : 9, grid = c->quick ? 12 : 24;
    double kap[9], sp_nest[9], sp_mass[9], sp_mass22[9], sgd_speed[9];
    lm_theory_best bs[9], bn[9], bm[9];
    double rho22[9];
    lm_constants kc[9];
    for (int i = 0; i < nk; i++) {
        double sigma2[2] = {1, 1 / conds[i]};
        lm_moments mo = {LM_MOMENTS_DECOUPLED, 2, NULL, 0, NULL, sigma2};
        TRY(lm_moments_constants(&mo, 1, &kc[i]));
        kap[i] = kc[i].kappa_1;
        repro_progress("nesterov-no-acceleration", 1, "kappa_1 = %.0f: tuning SGD, Nesterov and MaSS (grid %d)", kap[i], grid);
        TRY(lm_theory_best_rate(&mo, LM_THEORY_SGD, 1, grid, &bs[i]));
        TRY(lm_theory_best_rate(&mo, LM_THEORY_NESTEROV, 1, grid, &bn[i]));
        TRY(lm_theory_best_rate(&mo, LM_THEORY_MASS, 1, grid, &bm[i]));
        lm_theory_hp hp22 = {kc[i].mass_eta1, kc[i].mass_eta2, kc[i].mass_gamma};
        TRY(lm_theory_rate(&mo, LM_THEORY_MASS, hp22, 1, &rho22[i]));
        sgd_speed[i] = -log(bs[i].rho);
        sp_nest[i] = -log(bn[i].rho) / sgd_speed[i];
        sp_mass[i] = -log(bm[i].rho) / sgd_speed[i];
        sp_mass22[i] = -log(rho22[i]) / sgd_speed[i];
    }
    double s_nest = loglog_slope(kap, sp_nest, nk, 0, INFINITY, NULL);
    double s_mass = loglog_slope(kap, sp_mass, nk, 0, INFINITY, NULL);
    double s_mass22 = loglog_slope(kap, sp_mass22, nk, 0, INFINITY, NULL);
    double max_nest = 0;
    for (int i = 0; i < nk; i++) max_nest = fmax(max_nest, sp_nest[i]);

    repro_printf(c, "Component-decoupled 2-D data (science.md 2.4): x = sqrt(2) sigma_i z e_i, i uniform in {1, 2}, "
                    "z ~ N(0, 1), sigma^2 = (1, 1/cond), so L1 = 6, kappa-tilde = 6 and kappa_1 = L1/mu = 6 cond. "
                    "Batch 1. Rates are exact: rho is the spectral radius of the expected second-moment dynamics "
                    "(science.md 2.3), speed = -log rho. Each method is tuned on a grid of %d points per "
                    "hyper-parameter with 10 zoom rounds (lm_theory_best_rate): SGD over eta, Nesterov over (eta, gamma), "
                    "MaSS over (eta1, eta2, gamma). MaSS is also shown at its section 2.2 hyper-parameters (no tuning). "
                    "Speed-ups are over the best-tuned SGD.\n\n"
                    "| kappa_1 | best SGD rho | best Nesterov: speed-up (eta, gamma) | best MaSS: speed-up | MaSS at section 2.2: speed-up |\n"
                    "|---|---|---|---|---|\n", grid);
    for (int i = 0; i < nk; i++)
        repro_printf(c, "| %.0f | %.8f | %.2fx (%.4g, %.5f) | %.2fx | %.2fx |\n", kap[i], bs[i].rho, sp_nest[i], bn[i].hp.eta1,
                     bn[i].hp.gamma, sp_mass[i], sp_mass22[i]);
    static const double paper_k[3] = {600, 6667, 60000}, paper_n[3] = {1.50, 1.78, 1.91}, paper_m[3] = {3.89, 13.85, 44.0};
    repro_printf(c, "\nscience.md's table next to ours (the kappa_1 values it lists):\n\n"
                    "| kappa_1 | Nesterov: science.md | Nesterov: here | MaSS: science.md | MaSS here, tuned | MaSS here, section 2.2 |\n|---|---|---|---|---|---|\n");
    for (int j = 0; j < 3; j++)
        for (int i = 0; i < nk; i++)
            if (fabs(kap[i] / paper_k[j] - 1) < 0.01)
                repro_printf(c, "| %.0f | %.2fx | %.2fx | %.2fx | %.2fx | %.2fx |\n", paper_k[j], paper_n[j], sp_nest[i], paper_m[j],
                             sp_mass[i], sp_mass22[i]);
    repro_printf(c, "\nFitted log-log slopes of the speed-up against kappa_1 (predicted: 0.5 for MaSS, about 0 for Nesterov): "
                    "MaSS tuned %.3f, MaSS at section 2.2 %.3f, Nesterov %.3f. Nesterov's largest speed-up is %.2fx.\n\n",
                 s_mass, s_mass22, s_nest, max_nest);
    /* how the matched rows differ from science.md's */
    double dn_lo = INFINITY, dn_hi = -INFINITY, d22 = 0, dt_lo = INFINITY, dt_hi = -INFINITY;
    for (int j = 0; j < 3; j++)
        for (int i = 0; i < nk; i++)
            if (fabs(kap[i] / paper_k[j] - 1) < 0.01) {
                dn_lo = fmin(dn_lo, sp_nest[i] / paper_n[j] - 1), dn_hi = fmax(dn_hi, sp_nest[i] / paper_n[j] - 1);
                d22 = fmax(d22, fabs(sp_mass22[i] / paper_m[j] - 1));
                dt_lo = fmin(dt_lo, sp_mass[i] / paper_m[j] - 1), dt_hi = fmax(dt_hi, sp_mass[i] / paper_m[j] - 1);
            }
    repro_printf(c, "Against science.md: its MaSS column matches MaSS at the section 2.2 hyper-parameters (within %.1f%%), "
                    "not tuned MaSS, which is faster still (%+.0f%% to %+.0f%% against science.md's numbers). Our "
                    "best-tuned Nesterov differs from science.md's by %+.1f%% to %+.1f%% (a different search grid "
                    "can find a slightly better optimum); either way it stays near 2x.\n",
                 100 * d22, 100 * dt_lo, 100 * dt_hi, 100 * dn_lo, 100 * dn_hi);
    repro_predicted(c, "mass_speedup_slope", 0.5);
    repro_predicted(c, "nesterov_speedup_slope", 0);
    for (int j = 0; j < 3; j++) {
        char key[64];
        snprintf(key, sizeof key, "nesterov_speedup_kappa%.0f", paper_k[j]);
        repro_predicted(c, key, paper_n[j]);
        snprintf(key, sizeof key, "mass_speedup_kappa%.0f", paper_k[j]);
        repro_predicted(c, key, paper_m[j]);
    }
    for (int i = 0; i < nk; i++) {
        char key[64];
        snprintf(key, sizeof key, "nesterov_speedup_kappa%.0f", kap[i]);
        repro_measured(c, key, sp_nest[i]);
        snprintf(key, sizeof key, "mass_tuned_speedup_kappa%.0f", kap[i]);
        repro_measured(c, key, sp_mass[i]);
        snprintf(key, sizeof key, "mass_section22_speedup_kappa%.0f", kap[i]);
        repro_measured(c, key, sp_mass22[i]);
    }
    repro_measured(c, "mass_tuned_speedup_slope", s_mass);
    repro_measured(c, "mass_section22_speedup_slope", s_mass22);
    repro_measured(c, "nesterov_speedup_slope", s_nest);
    repro_measured(c, "nesterov_max_speedup", max_nest);
    repro_printf(c, "\nThe claim holds when Nesterov's speed-up stays under 2.5x at every kappa_1 and the fitted slope of "
                    "MaSS's speed-up (tuned and at section 2.2) lies in [0.35, 0.65].\n");
    c->holds = max_nest < 2.5 && s_mass >= 0.35 && s_mass <= 0.65 && s_mass22 >= 0.35 && s_mass22 <= 0.65;

    double ref[9], one[9];
    for (int i = 0; i < nk; i++) ref[i] = sp_mass22[0] * sqrt(kap[i] / kap[0]), one[i] = 1;
    plot_series all[7] = {
        {"best Nesterov", nk, kap, sp_nest},
        {"best MaSS", nk, kap, sp_mass},
        {"MaSS, section 2.2 parameters", nk, kap, sp_mass22},
        {"sqrt(kappa_1) slope", nk, kap, ref},
        {"SGD (1x)", nk, kap, one},
        {"science.md: Nesterov", 3, paper_k, paper_n},
        {"science.md: MaSS", 3, paper_k, paper_m},
    };
    char png[1200];
    plot_axes a = {"Speed-up over best-tuned SGD on decoupled data", "kappa_1", "speed-up (-log rho / SGD's)", 1, 1};
    repro_figure(c, "speedup.png", "speed-up over best SGD against kappa_1 (log-log): Nesterov flat, MaSS like sqrt(kappa_1)",
                 plot_lines(repro_plot_path(c, "speedup.png", png, sizeof png), &a, all, 7));
    return 0;
}

/* ---- mass-rate ---- */

#define FALL(c) ((c)->quick ? 8 : 10)
#define MAX_STEPS(c) ((c)->quick ? 4000 : 20000)

typedef struct {
    const char *setting;
    int m;
    double rho_exact[2], rho_sim[2], bound[2]; /* [0] SGD, [1] MaSS */
} rate_row;

/* Exact rho and the simulated rate of SGD (1/L_m) and MaSS (section 2.2) at batch m. */
static int rate_at(repro_ctx *c, const lm_moments *mo, const sampler *sa, int m, int runs, rate_row *row,
                   double **curves, int *curve_steps)
{
    lm_constants k;
    TRY(lm_moments_constants(mo, m, &k));
    method_hp mh[2] = {{LM_THEORY_SGD, {k.sgd_lr, 0, 0}}, {LM_THEORY_MASS, {k.mass_eta1, k.mass_eta2, k.mass_gamma}}};
    row->m = m;
    row->bound[0] = k.sgd_rate;
    row->bound[1] = k.mass_rate;
    for (int j = 0; j < 2; j++) {
        TRY(lm_theory_rate(mo, mh[j].method, mh[j].hp, m, &row->rho_exact[j]));
        /* long enough for E|e|^2 to fall by about e^-FALL (capped) */
        double speed = -log(row->rho_exact[j]);
        int steps = (int)fmin(MAX_STEPS(c), ceil(FALL(c) / fmax(speed, 1e-9)));
        if (steps < 20) steps = 20;
        double *mean = malloc((steps + 1) * sizeof *mean);
        repro_progress("mass-rate", 0, "%s, m = %d: simulating %s, %d runs x %d steps", row->setting, m, j ? "MaSS" : "SGD", runs, steps);
        simulate_batch(sa, mh[j], m, runs, steps, c->seed, mean);
        row->rho_sim[j] = curve_rate(mean, steps);
        if (curves) curves[j] = mean, curve_steps[j] = steps;
        else free(mean);
    }
    return 0;
}

static int mass_rate(repro_ctx *c)
{
    static const int quick_m[] = {1, 8}, full_m[] = {1, 2, 4, 8, 16, 32, 64, 128};
    static const int quick_md[] = {1, 8}, full_md[] = {1, 4, 16, 64};
    const int *ms = c->quick ? quick_m : full_m, *mds = c->quick ? quick_md : full_md;
    int nm = c->quick ? 2 : 8, nmd = c->quick ? 2 : 4, runs = c->quick ? 100 : 400;
    int nrows = nm + nmd;
    rate_row rows[12];
    double h[EX_D], H[EX_D * EX_D] = {0};
    example_h(h);
    for (int i = 0; i < EX_D; i++) H[i * EX_D + i] = h[i];
    lm_moments pop = {LM_MOMENTS_GAUSSIAN, EX_D, NULL, 0, H, NULL};
    sampler spop = {EX_D, h, NULL, 0};
    double *curves[2] = {0};
    int csteps[2] = {0};
    for (int i = 0; i < nm; i++) {
        rows[i].setting = "Gaussian d=50 (population)";
        if (rate_at(c, &pop, &spop, ms[i], runs, &rows[i], i == 0 ? curves : NULL, csteps)) return 1;
    }
    /* finite data: synth:linreg with d = 20, n = 200 */
    const char *src = "synth:linreg:n=200,d=20,cond=100";
    lm_dataset *ds;
    TRY(lm_data_load(src, LM_SPLIT_TRAIN, c->seed, &ds));
    int n = (int)ds->n, d = (int)lm_shape_numel(ds->shape);
    double *X = malloc((size_t)n * d * sizeof *X);
    for (size_t i = 0; i < (size_t)n * d; i++) X[i] = ds->x[i];
    lm_dataset_free(ds);
    lm_moments data = {LM_MOMENTS_DATA, d, X, n, NULL, NULL};
    sampler sdata = {d, NULL, X, n};
    lm_constants kd;
    TRY(lm_moments_constants(&data, 1, &kd));
    for (int i = 0; i < nmd; i++) {
        rows[nm + i].setting = "synth:linreg n=200, d=20 (data)";
        if (rate_at(c, &data, &sdata, mds[i], runs, &rows[nm + i], NULL, NULL)) return 1;
    }
    free(X);

    repro_printf(c, "Two settings, both with an interpolating w* (no noise), started at w0 = u0 = w* + (1, ..., 1):\n\n"
                    "- the Gaussian example of science.md 2.2: x ~ N(0, H), d = 50, eigenvalues of H logspace(0, -2), "
                    "so L = 1, mu = 0.01, L1 = 13.05, kappa-tilde = 52;\n"
                    "- a finite data set `%s` (seed %llu, sampled with replacement): kappa = %.1f, L1 = %.3g, "
                    "kappa-tilde = %.2f, exact constants of the data.\n\n"
                    "SGD runs at eta = 1/L_m, MaSS at the section 2.2 hyper-parameters. For each batch size m: the bound "
                    "(SGD 1 - 1/kappa_m, MaSS 1 - 1/sqrt(kappa_m kappa-tilde_m)), the exact rho of E|w - w*|^2 per step "
                    "(second-moment operator, science.md 2.3) and the simulated rate: the mean of |w - w*|^2 over %d runs, "
                    "rate per step over the second half of a run long enough for a fall of about e^-%d (at most %d steps).\n\n"
                    "| setting | m | SGD bound | SGD exact rho | SGD simulated | MaSS bound | MaSS exact rho | MaSS simulated | MaSS exact speed / bound speed |\n"
                    "|---|---|---|---|---|---|---|---|---|\n",
                 src, (unsigned long long)c->seed, kd.kappa, kd.L1, kd.kappa_tilde, runs, FALL(c), MAX_STEPS(c));
    int holds = 1;
    for (int i = 0; i < nrows; i++) {
        rate_row *r = &rows[i];
        repro_printf(c, "| %s | %d | %.6f | %.6f | %.6f | %.6f | %.6f | %.6f | %.2f |\n", r->setting, r->m, r->bound[0], r->rho_exact[0],
                     r->rho_sim[0], r->bound[1], r->rho_exact[1], r->rho_sim[1], log(r->rho_exact[1]) / log(r->bound[1]));
        const char *tag = i < nm ? "gaussian" : "data";
        char key[96];
        const char *meth[2] = {"sgd", "mass"};
        for (int j = 0; j < 2; j++) {
            snprintf(key, sizeof key, "%s_m%d_%s_bound", tag, r->m, meth[j]);
            repro_predicted(c, key, r->bound[j]);
            snprintf(key, sizeof key, "%s_m%d_%s_exact_rho", tag, r->m, meth[j]);
            repro_measured(c, key, r->rho_exact[j]);
            snprintf(key, sizeof key, "%s_m%d_%s_simulated_rate", tag, r->m, meth[j]);
            repro_measured(c, key, r->rho_sim[j]);
            holds &= r->rho_exact[j] <= r->bound[j] && r->rho_sim[j] <= r->bound[j];
        }
    }
    int worst = -1;
    for (int i = 0; i < nrows; i++)
        for (int j = 0; j < 2; j++)
            if (!(rows[i].rho_exact[j] <= rows[i].bound[j] && rows[i].rho_sim[j] <= rows[i].bound[j])) worst = i;
    repro_printf(c, "\nThe claim holds when, for both methods at every m in both settings, the exact rho and the simulated "
                    "rate are at or below (faster than) the bound. %s\n",
                 worst < 0 ? "They all are: the bounds are conservative, by about a factor 2 in speed for MaSS "
                             "(science.md 2.2 says the same)."
                           : "At least one is not (see the table): the measured rate is slower than the theory's bound there.");
    if (worst >= 0)
        repro_printf(c, "\nFirst violation in the table: %s, m = %d.\n", rows[worst].setting, rows[worst].m);
    c->holds = holds;

    /* plots: speed against m (population), and the m = 1 curves */
    double mx[8], sp[6][8];
    for (int i = 0; i < nm; i++) {
        mx[i] = ms[i];
        for (int j = 0; j < 2; j++) {
            sp[3 * j][i] = -log(rows[i].bound[j]);
            sp[3 * j + 1][i] = -log(rows[i].rho_exact[j]);
            sp[3 * j + 2][i] = -log(rows[i].rho_sim[j]);
        }
    }
    plot_series s[6] = {{"SGD bound 1/kappa_m", nm, mx, sp[0]},       {"SGD exact", nm, mx, sp[1]},
                        {"SGD simulated", nm, mx, sp[2]},             {"MaSS bound 1/sqrt(kappa_m kappa-tilde_m)", nm, mx, sp[3]},
                        {"MaSS exact", nm, mx, sp[4]},                {"MaSS simulated", nm, mx, sp[5]}};
    char png[1200];
    plot_axes a = {"Speed per step on the d=50 Gaussian example", "batch size m", "-log(rate) per step", 1, 1};
    repro_figure(c, "speed_vs_batch.png", "speed per step against m: bounds, exact rho and simulated means (d = 50 Gaussian)",
                 plot_lines(repro_plot_path(c, "speed_vs_batch.png", png, sizeof png), &a, s, 6));
    /* m = 1 curves with the exact expectation and the bound lines */
    plot_series cs[6];
    double *xs[2], *bl[2], *ex[2];
    lm_constants k1;
    TRY(lm_moments_constants(&pop, 1, &k1));
    method_hp mh1[2] = {{LM_THEORY_SGD, {k1.sgd_lr, 0, 0}}, {LM_THEORY_MASS, {k1.mass_eta1, k1.mass_eta2, k1.mass_gamma}}};
    const char *en[2] = {"SGD exact expectation", "MaSS exact expectation"};
    const char *cn[2] = {"SGD simulated mean", "MaSS simulated mean"}, *bn[2] = {"SGD bound (1-1/kappa_1)^t", "MaSS bound (1-1/sqrt(kappa_1 kappa-tilde))^t"};
    for (int j = 0; j < 2; j++) {
        xs[j] = malloc((csteps[j] + 1) * sizeof *xs[j]);
        bl[j] = malloc((csteps[j] + 1) * sizeof *bl[j]);
        for (int t = 0; t <= csteps[j]; t++) xs[j][t] = t, bl[j][t] = curves[j][0] * pow(rows[0].bound[j], t);
        ex[j] = malloc((csteps[j] + 1) * sizeof *ex[j]);
        TRY(exact_curve(&pop, mh1[j], EX_D, 1, csteps[j], ex[j]));
        cs[3 * j] = (plot_series){cn[j], csteps[j] + 1, xs[j], curves[j]};
        cs[3 * j + 1] = (plot_series){en[j], csteps[j] + 1, xs[j], ex[j]};
        cs[3 * j + 2] = (plot_series){bn[j], csteps[j] + 1, xs[j], bl[j]};
    }
    plot_axes a2 = {"Mean |w - w*|^2 at m = 1 (d = 50 Gaussian)", "step", "mean |w - w*|^2", 0, 1};
    repro_figure(c, "curves_m1.png", "simulated means at m = 1, the exact expectation and the bounds' geometric decay",
                 plot_lines(repro_plot_path(c, "curves_m1.png", png, sizeof png), &a2, cs, 6));
    for (int j = 0; j < 2; j++) free(xs[j]), free(bl[j]), free(ex[j]), free(curves[j]);
    return 0;
}

/* ---- batch-regimes ---- */

static int batch_regimes(repro_ctx *c)
{
    int per_octave = c->quick ? 4 : 8, nm = 12 * per_octave + 1;
    double h[EX_D], H[EX_D * EX_D] = {0};
    example_h(h);
    for (int i = 0; i < EX_D; i++) H[i * EX_D + i] = h[i];
    lm_moments pop = {LM_MOMENTS_GAUSSIAN, EX_D, NULL, 0, H, NULL};
    double *m = malloc(nm * sizeof *m), *sp[4];
    for (int j = 0; j < 4; j++) sp[j] = malloc(nm * sizeof *sp[j]);
    lm_constants k1;
    TRY(lm_moments_constants(&pop, 1, &k1));
    int last = -1;
    for (int i = 0; i < nm; i++) {
        int mi = (int)lround(pow(2, (double)i / per_octave));
        if (mi == last) { /* the low end of the grid repeats integers */
            m[i] = NAN;
            for (int j = 0; j < 4; j++) sp[j][i] = NAN;
            continue;
        }
        last = mi;
        m[i] = mi;
        lm_constants k;
        TRY(lm_moments_constants(&pop, mi, &k));
        lm_theory_hp mass = {k.mass_eta1, k.mass_eta2, k.mass_gamma}, sgd = {k.sgd_lr, 0, 0};
        double rm, rs;
        TRY(lm_theory_rate(&pop, LM_THEORY_MASS, mass, mi, &rm));
        TRY(lm_theory_rate(&pop, LM_THEORY_SGD, sgd, mi, &rs));
        sp[0][i] = -log(rm), sp[1][i] = -log(rs), sp[2][i] = k.mass_speed, sp[3][i] = 1 / k.kappa_m;
        repro_progress("batch-regimes", 0, "m = %d", mi);
    }
    double m1 = k1.m1_star, m2 = k1.m2_star, LL = k1.L1 / k1.L;
    int n1, n2, n3, n4, n5;
    double mass_lin = loglog_slope(m, sp[0], nm, 1, m1, &n1), mass_mid = loglog_slope(m, sp[0], nm, m1, m2, &n2);
    double mass_sat = loglog_slope(m, sp[0], nm, m2, INFINITY, &n3);
    double sgd_lin = loglog_slope(m, sp[1], nm, 1, LL, &n4), sgd_sat = loglog_slope(m, sp[1], nm, LL, INFINITY, &n5);
    double b_lin = loglog_slope(m, sp[2], nm, 1, m1, NULL), b_mid = loglog_slope(m, sp[2], nm, m1, m2, NULL);
    double b_sat = loglog_slope(m, sp[2], nm, m2, INFINITY, NULL);
    double bs_lin = loglog_slope(m, sp[3], nm, 1, LL, NULL), bs_sat = loglog_slope(m, sp[3], nm, LL, INFINITY, NULL);

    repro_printf(c, "The Gaussian example of science.md 2.2 (x ~ N(0, H), d = 50, eigenvalues logspace(0, -2)): L = %.3g, "
                    "mu = %.3g, L1/L = %.2f, kappa-tilde = %.1f, so m1* = min(L1/L, kappa-tilde) = %.2f and m2* = "
                    "max(L1/L, kappa-tilde) = %.1f. For m = 1..4096 (%d points per octave) the exact speed per step "
                    "-log rho of E|w - w*|^2 (science.md 2.3) of MaSS at its section 2.2 hyper-parameters for that m, "
                    "and of SGD at eta = 1/L_m, next to the theory's speeds 1/sqrt(kappa_m kappa-tilde_m) and 1/kappa_m.\n\n",
                 k1.L, k1.mu, LL, k1.kappa_tilde, m1, m2, per_octave);
    repro_printf(c, "| m | MaSS exact speed | MaSS theory 1/sqrt(kappa_m kappa-tilde_m) | SGD exact speed | SGD theory 1/kappa_m |\n|---|---|---|---|---|\n");
    static const int show[] = {1, 2, 4, 8, 13, 16, 32, 52, 64, 128, 256, 1024, 4096};
    for (int s = 0; s < (int)(sizeof show / sizeof *show); s++) {
        int best = -1;
        for (int i = 0; i < nm; i++)
            if (isfinite(m[i]) && (best < 0 || fabs(log(m[i] / show[s])) < fabs(log(m[best] / show[s])))) best = i;
        if (best < 0 || fabs(log(m[best] / show[s])) > 0.1) continue;
        repro_printf(c, "| %.0f | %.5f | %.5f | %.6f | %.6f |\n", m[best], sp[0][best], sp[2][best], sp[1][best], sp[3][best]);
    }
    repro_printf(c, "\nscience.md 2.2 lists the theory speed 0.00384 (m = 1), 0.02326 (m = 8), 0.08084 (m = 128), 0.09924 "
                    "(m = 4096), and says the exact speed is about twice that.\n\n"
                    "Fitted log-log slopes of the speed against m in each regime (the number of grid points in brackets):\n\n"
                    "| method | regime | m range | exact speed: slope | theory speed: slope | paper's idealised slope |\n|---|---|---|---|---|---|\n"
                    "| MaSS | linear scaling | 1..%.1f | %.3f (%d) | %.3f | 1 |\n"
                    "| MaSS | diminishing returns | %.1f..%.1f | %.3f (%d) | %.3f | 0.5 |\n"
                    "| MaSS | saturation | %.1f..4096 | %.3f (%d) | %.3f | 0 |\n"
                    "| SGD | linear scaling | 1..%.1f | %.3f (%d) | %.3f | 1 |\n"
                    "| SGD | saturation | %.1f..4096 | %.3f (%d) | %.3f | 0 |\n\n",
                 m1, mass_lin, n1, b_lin, m1, m2, mass_mid, n2, b_mid, m2, mass_sat, n3, b_sat, LL, sgd_lin, n4, bs_lin, LL, sgd_sat, n5,
                 bs_sat);
    repro_printf(c, "The regimes meet smoothly (L_m = L1/m + (m-1)L/m has both terms equal at m = L1/L), so even the "
                    "theory's own speed has a fitted slope below 1 in the linear regime and above 0 in saturation; the "
                    "thresholds below allow for that and were fixed before measuring. The claim holds when MaSS's slopes "
                    "are >= 0.6 (linear), in [0.3, 0.7] (diminishing returns) and <= 0.2 (saturation), decreasing from one "
                    "regime to the next, and SGD's are >= 0.6 then <= 0.2 (two regimes).\n");
    c->holds = mass_lin >= 0.6 && mass_mid >= 0.3 && mass_mid <= 0.7 && mass_sat <= 0.2 && mass_lin > mass_mid && mass_mid > mass_sat &&
               sgd_lin >= 0.6 && sgd_sat <= 0.2;
    repro_predicted(c, "m1_star", m1);
    repro_predicted(c, "m2_star", m2);
    repro_predicted(c, "mass_slope_linear", 1);
    repro_predicted(c, "mass_slope_diminishing", 0.5);
    repro_predicted(c, "mass_slope_saturation", 0);
    repro_predicted(c, "sgd_slope_linear", 1);
    repro_predicted(c, "sgd_slope_saturation", 0);
    repro_predicted(c, "theory_mass_slope_linear", b_lin);
    repro_predicted(c, "theory_mass_slope_diminishing", b_mid);
    repro_predicted(c, "theory_mass_slope_saturation", b_sat);
    repro_measured(c, "mass_slope_linear", mass_lin);
    repro_measured(c, "mass_slope_diminishing", mass_mid);
    repro_measured(c, "mass_slope_saturation", mass_sat);
    repro_measured(c, "sgd_slope_linear", sgd_lin);
    repro_measured(c, "sgd_slope_saturation", sgd_sat);
    for (int i = 0; i < nm; i++)
        if (m[i] == 1 || m[i] == 8 || m[i] == 128 || m[i] == 4096) {
            char key[64];
            snprintf(key, sizeof key, "mass_exact_speed_m%.0f", m[i]);
            repro_measured(c, key, sp[0][i]);
            snprintf(key, sizeof key, "mass_theory_speed_m%.0f", m[i]);
            repro_predicted(c, key, sp[2][i]);
        }

    /* compact the grid (drop the repeated integers) for the plot */
    int k = 0;
    for (int i = 0; i < nm; i++)
        if (isfinite(m[i])) {
            m[k] = m[i];
            for (int j = 0; j < 4; j++) sp[j][k] = sp[j][i];
            k++;
        }
    double lo = INFINITY, hi = 0;
    for (int j = 0; j < 4; j++)
        for (int i = 0; i < k; i++) lo = fmin(lo, sp[j][i]), hi = fmax(hi, sp[j][i]);
    double vx1[2] = {m1, m1}, vx2[2] = {m2, m2}, vy[2] = {lo, hi};
    plot_series s[6] = {{"MaSS exact", k, m, sp[0]},
                        {"MaSS theory 1/sqrt(kappa_m kappa-tilde_m)", k, m, sp[2]},
                        {"SGD exact", k, m, sp[1]},
                        {"SGD theory 1/kappa_m", k, m, sp[3]},
                        {"m1* = min(L1/L, kappa-tilde)", 2, vx1, vy},
                        {"m2* = max(L1/L, kappa-tilde)", 2, vx2, vy}};
    char png[1200];
    plot_axes a = {"Speed per step against batch size (d = 50 Gaussian)", "batch size m", "speed per step -log rho", 1, 1};
    repro_figure(c, "speed_vs_batch.png", "exact speed per step against m, with the critical batch sizes m1* and m2*",
                 plot_lines(repro_plot_path(c, "speed_vs_batch.png", png, sizeof png), &a, s, 6));
    free(m);
    for (int j = 0; j < 4; j++) free(sp[j]);
    return 0;
}

const repro_claim repro_theory_claims[] = {
    {"nesterov-diverges",
     "On Gaussian linear regression, SGD and MaSS converge at SGD's optimal step while SGD+Nesterov with gamma 0.9 diverges in expectation.",
     "Paper A (section 3, and science.md 2.4): with eta = 1/L1 on 2-D Gaussian data with H = diag(1, 1/kappa), Nesterov "
     "diverges in expectation for gamma >= about 0.65; at gamma = 0.9 the factor is 1.30 per step. SGD (rate 1 - 1/kappa_1) "
     "and MaSS converge.",
     "about 10 s", nesterov_diverges},
    {"nesterov-no-acceleration",
     "On component-decoupled data, best-tuned Nesterov SGD's speed-up over best-tuned SGD stays bounded (about 2x) as kappa grows, while MaSS's grows like sqrt(kappa).",
     "Paper A (and science.md 2.4, exact second-moment dynamics): speed-ups over the best SGD at kappa_1 = 600, 6667, 60000 "
     "are 1.50x, 1.78x, 1.91x for the best Nesterov and 3.89x, 13.85x, 44.0x for MaSS; Nesterov's gain stays about 2x, "
     "MaSS's grows like sqrt(kappa) (slope 0.5 on log-log).",
     "about 10 s (9 s of CPU measured: 9 values of kappa_1, grid 24)", nesterov_no_acceleration},
    {"mass-rate",
     "MaSS converges at least as fast as 1 - 1/sqrt(kappa_m kappa-tilde_m) per step, and SGD at least as fast as 1 - 1/kappa_m.",
     "Paper A's theorems (science.md 2.2): with the section 2.2 hyper-parameters E|w - w*|^2 contracts by at most "
     "1 - 1/sqrt(kappa_m kappa-tilde_m) per step for MaSS and 1 - 1/kappa_m for SGD at eta = 1/L_m; science.md adds that "
     "the exact decay is about twice as fast as MaSS's bound.",
     "about 2 minutes (97 s of CPU measured: 8 batch sizes on the population, 4 on the data, 400 simulated runs each)", mass_rate},
    {"batch-regimes",
     "MaSS's speed per step grows linearly in m up to m1*, like sqrt(m) up to m2*, then saturates; SGD's grows linearly up to L1/L, then saturates.",
     "Paper A (science.md 2.2): three regimes for MaSS with m1* = min(L1/L, kappa-tilde), m2* = max(L1/L, kappa-tilde): "
     "linear scaling, diminishing returns (sqrt(m)), saturation at about 1/sqrt(kappa); SGD has two, linear up to about "
     "L1/L, then saturation at 1/kappa.",
     "a few seconds (2 s of CPU measured; 8 points per octave)", batch_regimes},
};
const int repro_theory_claims_count = sizeof repro_theory_claims / sizeof *repro_theory_claims;
