/* nesterov-no-acceleration (docs/theory.md §2.4): best-tuned rates of SGD, Nesterov and MaSS on
 * component-decoupled data against kappa_1, from the exact second-moment dynamics. */
#include <math.h>
#include <stdio.h>

#include "experiments/exp_internal.h"
#include "linmass/runtime.h"
#include "linmass/theory.h"

#define NK_MAX 9

/* cond = 1/sigma_2^2; kappa_1 = L1/mu = 6 cond on 2-D decoupled data (L1 = 6 sigma_1^2 = 6). */
static const struct {
    int n, grid;
    double cond[NK_MAX];
} SETTINGS[LM_SETTINGS] = {
    [LM_SETTING_QUICK] = {5, 12, {100, 1000 / 3.0, 10000 / 9.0, 10000 / 3.0, 10000}},
    [LM_SETTING_FULL] = {9, 24, {100, 177.8, 316.2, 562.3, 10000 / 9.0, 1778, 3162, 5623, 10000}},
};

/* Speed-ups over the best SGD against kappa_1, from the best-tuned rates. */
typedef struct {
    int n, grid;
    double kap[NK_MAX], sgd_rho[NK_MAX], nest_eta[NK_MAX], nest_gamma[NK_MAX];
    double sp_nest[NK_MAX], sp_mass[NK_MAX], sp_mass22[NK_MAX];
    double s_nest, s_mass, s_mass22, max_nest;
} accel;

static const double paper_k[3] = {600, 6667, 60000}, paper_n[3] = {1.50, 1.78, 1.91}, paper_m[3] = {3.89, 13.85, 44.0};

/* Row i: SGD, Nesterov and MaSS tuned on decoupled data with sigma^2 = (1, 1/cond). */
static lm_status accel_row(lm_report *rep, accel *r, int i, double cond)
{
    double sigma2[2] = {1, 1 / cond};
    lm_moments mo = {LM_MOMENTS_DECOUPLED, 2, NULL, 0, NULL, sigma2};
    lm_constants k;
    lm_theory_best b[3];
    EXP_TRY(lm_moments_constants(&mo, 1, &k));
    r->kap[i] = k.kappa_1;
    lm_report_progress(rep, LM_PROGRESS_STEP, "kappa_1 = %.0f: tuning SGD, Nesterov and MaSS (grid %d)", r->kap[i], r->grid);
    lm_theory_search_opts so = {r->grid, lm_get_threads(), NULL, NULL};
    EXP_TRY(lm_theory_tune(&mo, 1, &so, b));
    double sgd_speed = -log(b[LM_THEORY_SGD].rho);
    r->sgd_rho[i] = b[LM_THEORY_SGD].rho;
    r->nest_eta[i] = b[LM_THEORY_NESTEROV].hp.eta1, r->nest_gamma[i] = b[LM_THEORY_NESTEROV].hp.gamma;
    r->sp_nest[i] = -log(b[LM_THEORY_NESTEROV].rho) / sgd_speed;
    r->sp_mass[i] = -log(b[LM_THEORY_MASS].rho) / sgd_speed;
    r->sp_mass22[i] = -log(b[LM_THEORY_MASS].closed_rho) / sgd_speed;
    return LM_OK;
}

static void accel_tables(lm_report *rep, const accel *r)
{
    lm_report_printf(rep, "Component-decoupled 2-D data (docs/theory.md §2.4): x = sqrt(2) sigma_i z e_i, i uniform in {1, 2}, "
                     "z ~ N(0, 1), sigma^2 = (1, 1/cond), so L1 = 6, kappa-tilde = 6 and kappa_1 = L1/mu = 6 cond. "
                     "Batch 1. Rates are exact: rho is the spectral radius of the expected second-moment dynamics "
                     "(docs/theory.md §2.3), speed = -log rho. Each method is tuned on a grid of %d points per "
                     "hyper-parameter that also holds the closed-form points, then a local pattern search "
                     "(lm_theory_tune): SGD over eta, Nesterov over (eta, gamma), MaSS over (eta1, eta2, gamma). MaSS "
                     "is also shown at its section 2.2 hyper-parameters (no tuning). Speed-ups are over the best-tuned "
                     "SGD.\n\n"
                     "| kappa_1 | best SGD rho | best Nesterov: speed-up (eta, gamma) | best MaSS: speed-up | MaSS at section 2.2: speed-up |\n"
                     "|---|---|---|---|---|\n", r->grid);
    for (int i = 0; i < r->n; i++)
        lm_report_printf(rep, "| %.0f | %.8f | %.2fx (%.4g, %.5f) | %.2fx | %.2fx |\n", r->kap[i], r->sgd_rho[i], r->sp_nest[i],
                         r->nest_eta[i], r->nest_gamma[i], r->sp_mass[i], r->sp_mass22[i]);
    lm_report_printf(rep, "\ndocs/theory.md's table next to ours (the kappa_1 values it lists):\n\n"
                     "| kappa_1 | Nesterov: docs/theory.md | Nesterov: here | MaSS: docs/theory.md | MaSS here, tuned | MaSS here, section 2.2 |\n|---|---|---|---|---|---|\n");
    for (int j = 0; j < 3; j++)
        for (int i = 0; i < r->n; i++)
            if (fabs(r->kap[i] / paper_k[j] - 1) < 0.01)
                lm_report_printf(rep, "| %.0f | %.2fx | %.2fx | %.2fx | %.2fx | %.2fx |\n", paper_k[j], paper_n[j], r->sp_nest[i],
                                 paper_m[j], r->sp_mass[i], r->sp_mass22[i]);
    lm_report_printf(rep, "\nFitted log-log slopes of the speed-up against kappa_1 (predicted: 0.5 for MaSS, about 0 for Nesterov): "
                     "MaSS tuned %.3f, MaSS at section 2.2 %.3f, Nesterov %.3f. Nesterov's largest speed-up is %.2fx.\n\n",
                     r->s_mass, r->s_mass22, r->s_nest, r->max_nest);
}

/* How the rows at the reference kappa_1 differ from the reference table. */
static void accel_compare(lm_report *rep, const accel *r)
{
    double dn_lo = INFINITY, dn_hi = -INFINITY, d22 = 0, dt_lo = INFINITY, dt_hi = -INFINITY;
    for (int j = 0; j < 3; j++)
        for (int i = 0; i < r->n; i++)
            if (fabs(r->kap[i] / paper_k[j] - 1) < 0.01) {
                dn_lo = fmin(dn_lo, r->sp_nest[i] / paper_n[j] - 1), dn_hi = fmax(dn_hi, r->sp_nest[i] / paper_n[j] - 1);
                d22 = fmax(d22, fabs(r->sp_mass22[i] / paper_m[j] - 1));
                dt_lo = fmin(dt_lo, r->sp_mass[i] / paper_m[j] - 1), dt_hi = fmax(dt_hi, r->sp_mass[i] / paper_m[j] - 1);
            }
    lm_report_printf(rep, "Against docs/theory.md: its MaSS column matches MaSS at the section 2.2 hyper-parameters (within %.1f%%), "
                     "not tuned MaSS, which is faster still (%+.0f%% to %+.0f%% against docs/theory.md's numbers). Our "
                     "best-tuned Nesterov differs from docs/theory.md's by %+.1f%% to %+.1f%% (a different search grid "
                     "can find a slightly better optimum); either way it stays near 2x.\n",
                     100 * d22, 100 * dt_lo, 100 * dt_hi, 100 * dn_lo, 100 * dn_hi);
}

static void accel_record(lm_report *rep, const accel *r)
{
    lm_report_predicted(rep, "mass_speedup_slope", 0.5);
    lm_report_predicted(rep, "nesterov_speedup_slope", 0);
    for (int j = 0; j < 3; j++) {
        exp_predictedf(rep, paper_n[j], "nesterov_speedup_kappa%.0f", paper_k[j]);
        exp_predictedf(rep, paper_m[j], "mass_speedup_kappa%.0f", paper_k[j]);
    }
    for (int i = 0; i < r->n; i++) {
        exp_measuredf(rep, r->sp_nest[i], "nesterov_speedup_kappa%.0f", r->kap[i]);
        exp_measuredf(rep, r->sp_mass[i], "mass_tuned_speedup_kappa%.0f", r->kap[i]);
        exp_measuredf(rep, r->sp_mass22[i], "mass_section22_speedup_kappa%.0f", r->kap[i]);
    }
    lm_report_measured(rep, "mass_tuned_speedup_slope", r->s_mass);
    lm_report_measured(rep, "mass_section22_speedup_slope", r->s_mass22);
    lm_report_measured(rep, "nesterov_speedup_slope", r->s_nest);
    lm_report_measured(rep, "nesterov_max_speedup", r->max_nest);
}

/* The speed-ups as measured curves, the slope 1/2 and SGD's 1x as references, and the
 * reference table's values as points in the colour of the curve they are compared with. */
static lm_status accel_plot(lm_report *rep, const accel *r)
{
    int nk = r->n;
    double ref[NK_MAX], one[NK_MAX];
    for (int i = 0; i < nk; i++) ref[i] = r->sp_mass22[0] * sqrt(r->kap[i] / r->kap[0]), one[i] = 1;
    lm_curve c[7] = {
        {"best Nesterov", LM_CURVE_LINESPOINTS, nk, r->kap, r->sp_nest, NULL, NULL, 1},
        {"best MaSS", LM_CURVE_LINESPOINTS, nk, r->kap, r->sp_mass, NULL, NULL, 2},
        {"MaSS, section 2.2 parameters", LM_CURVE_LINESPOINTS, nk, r->kap, r->sp_mass22, NULL, NULL, 3},
        {"slope 1/2: sqrt(kappa_1) (theory)", LM_CURVE_REFERENCE, nk, r->kap, ref, NULL, NULL, 0},
        {"SGD (1x)", LM_CURVE_REFERENCE, nk, r->kap, one, NULL, NULL, 7},
        {"docs/theory.md: Nesterov", LM_CURVE_POINTS, 3, paper_k, paper_n, NULL, NULL, 1},
        {"docs/theory.md: MaSS", LM_CURVE_POINTS, 3, paper_k, paper_m, NULL, NULL, 3},
    };
    lm_figure f = {"speedup.png",
                   "speed-up over best SGD against kappa_1 (log-log): Nesterov flat, MaSS like sqrt(kappa_1); points: "
                   "docs/theory.md's table",
                   "Speed-up over best-tuned SGD on decoupled data", "kappa_1", "speed-up (-log rho / SGD's)", 1, 1,
                   LM_LEGEND_TOP_LEFT, 7, c, 0};
    return lm_report_figure(rep, &f);
}

lm_status exp_nesterov_no_acceleration(const lm_claim_opts *o, lm_report *rep)
{
    accel r = {.n = SETTINGS[o->setting].n, .grid = SETTINGS[o->setting].grid};
    for (int i = 0; i < r.n; i++) EXP_TRY(accel_row(rep, &r, i, SETTINGS[o->setting].cond[i]));
    r.s_nest = exp_loglog_slope(r.kap, r.sp_nest, r.n, 0, INFINITY, NULL);
    r.s_mass = exp_loglog_slope(r.kap, r.sp_mass, r.n, 0, INFINITY, NULL);
    r.s_mass22 = exp_loglog_slope(r.kap, r.sp_mass22, r.n, 0, INFINITY, NULL);
    for (int i = 0; i < r.n; i++) r.max_nest = fmax(r.max_nest, r.sp_nest[i]);
    accel_tables(rep, &r);
    accel_compare(rep, &r);
    accel_record(rep, &r);
    lm_report_printf(rep, "\nThe claim holds when Nesterov's speed-up stays under 2.5x at every kappa_1 and the fitted slope of "
                     "MaSS's speed-up (tuned and at section 2.2) lies in [0.35, 0.65].\n");
    int holds = r.max_nest < 2.5 && r.s_mass >= 0.35 && r.s_mass <= 0.65 && r.s_mass22 >= 0.35 && r.s_mass22 <= 0.65;
    lm_report_verdict(rep, holds ? LM_VERDICT_HOLDS : LM_VERDICT_FAILS,
                      "Nesterov's speed-up stays under 2.5x at every kappa_1 and MaSS's fitted slopes (tuned and at "
                      "section 2.2) lie in [0.35, 0.65]");
    return accel_plot(rep, &r);
}
