/* batch-regimes (docs/theory.md §2.2): the exact speed per step of MaSS and SGD against the batch
 * size, and its fitted slopes in the regimes the critical batch sizes m1*, m2* and L1/L bound. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "experiments/exp_internal.h"
#include "linmass/theory.h"

static const struct {
    int per_octave; /* batch sizes per octave, m = 1..4096 */
} SETTINGS[LM_SETTINGS] = {[LM_SETTING_QUICK] = {4}, [LM_SETTING_FULL] = {8}};

/* Speeds against m: sp[0] MaSS exact, sp[1] SGD exact, sp[2] MaSS theory, sp[3] SGD theory. */
typedef struct {
    int n, per_octave;
    double *m, *sp[4];
    lm_constants k1;
} regimes;

static lm_status regimes_grid(lm_report *r, regimes *g, const lm_moments *pop)
{
    EXP_TRY(lm_moments_constants(pop, 1, &g->k1));
    int last = -1;
    for (int i = 0; i < g->n; i++) {
        int mi = (int)lround(pow(2, (double)i / g->per_octave));
        if (mi == last) { /* the low end of the grid repeats integers */
            g->m[i] = NAN;
            for (int j = 0; j < 4; j++) g->sp[j][i] = NAN;
            continue;
        }
        last = mi;
        g->m[i] = mi;
        lm_constants k;
        EXP_TRY(lm_moments_constants(pop, mi, &k));
        lm_theory_hp mass = {k.mass_eta1, k.mass_eta2, k.mass_gamma}, sgd = {k.sgd_lr, 0, 0};
        double rm, rs;
        EXP_TRY(lm_theory_rate(pop, LM_THEORY_MASS, mass, mi, &rm));
        EXP_TRY(lm_theory_rate(pop, LM_THEORY_SGD, sgd, mi, &rs));
        g->sp[0][i] = -log(rm), g->sp[1][i] = -log(rs), g->sp[2][i] = k.mass_speed, g->sp[3][i] = 1 / k.kappa_m;
        lm_report_progress(r, LM_PROGRESS_DETAIL, "m = %d", mi);
    }
    return LM_OK;
}

/* Fitted slopes: MaSS (exact, theory) over [1, m1*], [m1*, m2*], [m2*, inf); SGD over [1, L1/L],
 * [L1/L, inf). */
typedef struct {
    double mass[3], mass_th[3], sgd[2], sgd_th[2];
    int n_mass[3], n_sgd[2];
} slopes;

static slopes regimes_slopes(const regimes *g)
{
    double m1 = g->k1.m1_star, m2 = g->k1.m2_star, LL = g->k1.L1 / g->k1.L;
    double lo[3] = {1, m1, m2}, hi[3] = {m1, m2, INFINITY}, slo[2] = {1, LL}, shi[2] = {LL, INFINITY};
    slopes s;
    for (int k = 0; k < 3; k++) {
        s.mass[k] = exp_loglog_slope(g->m, g->sp[0], g->n, lo[k], hi[k], &s.n_mass[k]);
        s.mass_th[k] = exp_loglog_slope(g->m, g->sp[2], g->n, lo[k], hi[k], NULL);
    }
    for (int k = 0; k < 2; k++) {
        s.sgd[k] = exp_loglog_slope(g->m, g->sp[1], g->n, slo[k], shi[k], &s.n_sgd[k]);
        s.sgd_th[k] = exp_loglog_slope(g->m, g->sp[3], g->n, slo[k], shi[k], NULL);
    }
    return s;
}

/* The grid points nearest to the batch sizes docs/theory.md lists. */
static void speed_table(lm_report *r, const regimes *g)
{
    lm_report_printf(r, "| m | MaSS exact speed | MaSS theory 1/sqrt(kappa_m kappa-tilde_m) | SGD exact speed | SGD theory 1/kappa_m |\n|---|---|---|---|---|\n");
    static const int show[] = {1, 2, 4, 8, 13, 16, 32, 52, 64, 128, 256, 1024, 4096};
    for (int t = 0; t < (int)(sizeof show / sizeof *show); t++) {
        int best = -1;
        for (int i = 0; i < g->n; i++)
            if (isfinite(g->m[i]) && (best < 0 || fabs(log(g->m[i] / show[t])) < fabs(log(g->m[best] / show[t])))) best = i;
        if (best < 0 || fabs(log(g->m[best] / show[t])) > 0.1) continue;
        lm_report_printf(r, "| %.0f | %.5f | %.5f | %.6f | %.6f |\n", g->m[best], g->sp[0][best], g->sp[2][best], g->sp[1][best],
                         g->sp[3][best]);
    }
}

static void regimes_tables(lm_report *r, const regimes *g, const slopes *s)
{
    const lm_constants *k1 = &g->k1;
    double m1 = k1->m1_star, m2 = k1->m2_star, LL = k1->L1 / k1->L;
    lm_report_printf(r, "The Gaussian example of docs/theory.md §2.2 (x ~ N(0, H), d = 50, eigenvalues logspace(0, -2)): L = %.3g, "
                     "mu = %.3g, L1/L = %.2f, kappa-tilde = %.1f, so m1* = min(L1/L, kappa-tilde) = %.2f and m2* = "
                     "max(L1/L, kappa-tilde) = %.1f. For m = 1..4096 (%d points per octave) the exact speed per step "
                     "-log rho of E|w - w*|^2 (docs/theory.md §2.3) of MaSS at its section 2.2 hyper-parameters for that m, "
                     "and of SGD at eta = 1/L_m, next to the theory's speeds 1/sqrt(kappa_m kappa-tilde_m) and 1/kappa_m.\n\n",
                     k1->L, k1->mu, LL, k1->kappa_tilde, m1, m2, g->per_octave);
    speed_table(r, g);
    lm_report_printf(r, "\ndocs/theory.md §2.2 lists the theory speed 0.00384 (m = 1), 0.02326 (m = 8), 0.08084 (m = 128), 0.09924 "
                     "(m = 4096), and says the exact speed is about twice that.\n\n"
                     "Fitted log-log slopes of the speed against m in each regime (the number of grid points in brackets):\n\n"
                     "| method | regime | m range | exact speed: slope | theory speed: slope | paper's idealised slope |\n|---|---|---|---|---|---|\n"
                     "| MaSS | linear scaling | 1..%.1f | %.3f (%d) | %.3f | 1 |\n"
                     "| MaSS | diminishing returns | %.1f..%.1f | %.3f (%d) | %.3f | 0.5 |\n"
                     "| MaSS | saturation | %.1f..4096 | %.3f (%d) | %.3f | 0 |\n"
                     "| SGD | linear scaling | 1..%.1f | %.3f (%d) | %.3f | 1 |\n"
                     "| SGD | saturation | %.1f..4096 | %.3f (%d) | %.3f | 0 |\n\n",
                     m1, s->mass[0], s->n_mass[0], s->mass_th[0], m1, m2, s->mass[1], s->n_mass[1], s->mass_th[1], m2, s->mass[2],
                     s->n_mass[2], s->mass_th[2], LL, s->sgd[0], s->n_sgd[0], s->sgd_th[0], LL, s->sgd[1], s->n_sgd[1], s->sgd_th[1]);
    lm_report_printf(r, "The regimes meet smoothly (L_m = L1/m + (m-1)L/m has both terms equal at m = L1/L), so even the "
                     "theory's own speed has a fitted slope below 1 in the linear regime and above 0 in saturation; the "
                     "thresholds below allow for that and were fixed before measuring. The claim holds when MaSS's slopes "
                     "are >= 0.6 (linear), in [0.3, 0.7] (diminishing returns) and <= 0.2 (saturation), decreasing from one "
                     "regime to the next, and SGD's are >= 0.6 then <= 0.2 (two regimes).\n");
}

static void regimes_record(lm_report *r, const regimes *g, const slopes *s)
{
    static const char *regime[3] = {"linear", "diminishing", "saturation"};
    static const double ideal[3] = {1, 0.5, 0};
    lm_report_predicted(r, "m1_star", g->k1.m1_star);
    lm_report_predicted(r, "m2_star", g->k1.m2_star);
    for (int k = 0; k < 3; k++) exp_predictedf(r, ideal[k], "mass_slope_%s", regime[k]);
    lm_report_predicted(r, "sgd_slope_linear", 1);
    lm_report_predicted(r, "sgd_slope_saturation", 0);
    for (int k = 0; k < 3; k++) exp_predictedf(r, s->mass_th[k], "theory_mass_slope_%s", regime[k]);
    for (int k = 0; k < 3; k++) exp_measuredf(r, s->mass[k], "mass_slope_%s", regime[k]);
    lm_report_measured(r, "sgd_slope_linear", s->sgd[0]);
    lm_report_measured(r, "sgd_slope_saturation", s->sgd[1]);
    for (int i = 0; i < g->n; i++)
        if (g->m[i] == 1 || g->m[i] == 8 || g->m[i] == 128 || g->m[i] == 4096) {
            exp_measuredf(r, g->sp[0][i], "mass_exact_speed_m%.0f", g->m[i]);
            exp_predictedf(r, g->sp[2][i], "mass_theory_speed_m%.0f", g->m[i]);
        }
}

/* The grid without the repeated integers: exact speeds as lines, the theory's dashed in the
 * same colour, the critical batch sizes as grey vertical lines. */
static lm_status regimes_plot(lm_report *r, regimes *g)
{
    int k = 0;
    for (int i = 0; i < g->n; i++)
        if (isfinite(g->m[i])) {
            g->m[k] = g->m[i];
            for (int j = 0; j < 4; j++) g->sp[j][k] = g->sp[j][i];
            k++;
        }
    double lo = INFINITY, hi = 0;
    for (int j = 0; j < 4; j++)
        for (int i = 0; i < k; i++) lo = fmin(lo, g->sp[j][i]), hi = fmax(hi, g->sp[j][i]);
    double vx1[2] = {g->k1.m1_star, g->k1.m1_star}, vx2[2] = {g->k1.m2_star, g->k1.m2_star}, vy[2] = {lo, hi};
    lm_curve c[6] = {
        {"MaSS exact", LM_CURVE_LINE, k, g->m, g->sp[0], NULL, NULL, 2},
        {"MaSS theory 1/sqrt(kappa_m kappa-tilde_m)", LM_CURVE_REFERENCE, k, g->m, g->sp[2], NULL, NULL, 2},
        {"SGD exact", LM_CURVE_LINE, k, g->m, g->sp[1], NULL, NULL, 1},
        {"SGD theory 1/kappa_m", LM_CURVE_REFERENCE, k, g->m, g->sp[3], NULL, NULL, 1},
        {"m1* = min(L1/L, kappa-tilde)", LM_CURVE_REFERENCE, 2, vx1, vy, NULL, NULL, 0},
        {"m2* = max(L1/L, kappa-tilde)", LM_CURVE_REFERENCE, 2, vx2, vy, NULL, NULL, 7},
    };
    lm_figure f = {"speed_vs_batch.png",
                   "exact speed per step against m (lines), the theory's speeds (dashed, same colour) and the critical "
                   "batch sizes m1* and m2*",
                   "Speed per step against batch size (d = 50 Gaussian)", "batch size m", "speed per step -log rho", 1, 1,
                   LM_LEGEND_BELOW, 6, c, 0};
    return lm_report_figure(r, &f);
}

lm_status exp_batch_regimes(const lm_claim_opts *o, lm_report *r)
{
    regimes g = {.per_octave = SETTINGS[o->setting].per_octave};
    g.n = 12 * g.per_octave + 1;
    lm_population pop;
    g.m = malloc(5 * g.n * sizeof *g.m);
    for (int j = 0; j < 4 && g.m; j++) g.sp[j] = g.m + (j + 1) * g.n;
    lm_status st = g.m ? lm_population_parse("gaussian:cond=100,d=50", &pop) : lm_fail(LM_ENOMEM, "out of memory");
    if (!st) st = regimes_grid(r, &g, &pop.mo);
    if (!st) {
        slopes s = regimes_slopes(&g);
        regimes_tables(r, &g, &s);
        int holds = s.mass[0] >= 0.6 && s.mass[1] >= 0.3 && s.mass[1] <= 0.7 && s.mass[2] <= 0.2 && s.mass[0] > s.mass[1] &&
                    s.mass[1] > s.mass[2] && s.sgd[0] >= 0.6 && s.sgd[1] <= 0.2;
        lm_report_verdict(r, holds ? LM_VERDICT_HOLDS : LM_VERDICT_FAILS,
                          "MaSS's slopes are >= 0.6, in [0.3, 0.7] and <= 0.2 in its three regimes, decreasing, and "
                          "SGD's >= 0.6 then <= 0.2");
        regimes_record(r, &g, &s);
        st = regimes_plot(r, &g);
    }
    if (g.m) lm_population_free(&pop);
    free(g.m);
    return st;
}
