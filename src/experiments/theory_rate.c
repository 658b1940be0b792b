/* mass-rate (docs/theory.md §2.2): the bounds 1 - 1/kappa_m (SGD) and 1 - 1/sqrt(kappa_m
 * kappa-tilde_m) (MaSS) against the exact rho and the simulated rate, on the d = 50 Gaussian
 * example and on a finite data set. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "experiments/exp_internal.h"
#include "linmass/data.h"
#include "linmass/rng.h"
#include "linmass/theory.h"

enum { M_MAX = 8, MD_MAX = 4, ROWS_MAX = M_MAX + MD_MAX };

static const struct {
    int nm, m[M_MAX];   /* batch sizes on the population */
    int nmd, md[MD_MAX]; /* batch sizes on the data set */
    int runs;           /* simulated runs per (m, method) */
    int fall, max_steps; /* runs last until E|e|^2 falls by about e^-fall, capped */
} SETTINGS[LM_SETTINGS] = {
    [LM_SETTING_QUICK] = {2, {1, 8}, 2, {1, 8}, 100, 8, 4000},
    [LM_SETTING_FULL] = {8, {1, 2, 4, 8, 16, 32, 64, 128}, 4, {1, 4, 16, 64}, 400, 10, 20000},
};
#define S(o) (&SETTINGS[(o)->setting])

/* The d = 50 Gaussian example of docs/theory.md §2.2: H = diag(logspace(0, -2, 50)). */
enum { EX_D = 50 };
static const char POPULATION[] = "gaussian:cond=100,d=50", SOURCE[] = "synth:linreg:n=200,d=20,cond=100";

typedef struct {
    const char *setting;
    int m;
    double rho_exact[2], rho_sim[2], bound[2]; /* [0] SGD, [1] MaSS */
} rate_row;

/* The m = 1 simulated means on the population, kept for the figure. */
typedef struct {
    double *mean[2];
    int steps[2];
} kept;

/* The per-step rate of a curve over its second half. */
static double curve_rate(const double *mean, int steps)
{
    return pow(mean[steps] / mean[steps / 2], 1.0 / (steps - steps / 2));
}

static void hp_at(const lm_constants *k, lm_theory_method *meth, lm_theory_hp *hp)
{
    meth[0] = LM_THEORY_SGD, hp[0] = (lm_theory_hp){k->sgd_lr, 0, 0};
    meth[1] = LM_THEORY_MASS, hp[1] = (lm_theory_hp){k->mass_eta1, k->mass_eta2, k->mass_gamma};
}

/* Exact rho and the simulated rate of SGD (1/L_m) and MaSS (section 2.2) at batch m; with
 * keep, the simulated means are kept. */
static lm_status rate_at(const lm_claim_opts *o, lm_report *r, const lm_moments *mo, int m, rate_row *row, kept *keep)
{
    lm_constants k;
    EXP_TRY(lm_moments_constants(mo, m, &k));
    lm_theory_method meth[2];
    lm_theory_hp hp[2];
    hp_at(&k, meth, hp);
    row->m = m;
    row->bound[0] = k.sgd_rate;
    row->bound[1] = k.mass_rate;
    for (int j = 0; j < 2; j++) {
        EXP_TRY(lm_theory_rate(mo, meth[j], hp[j], m, &row->rho_exact[j]));
        /* long enough for E|e|^2 to fall by about e^-fall (capped) */
        double speed = -log(row->rho_exact[j]);
        int steps = (int)fmin(S(o)->max_steps, ceil(S(o)->fall / fmax(speed, 1e-9)));
        if (steps < 20) steps = 20;
        double *mean = malloc((steps + 1) * sizeof *mean);
        if (!mean) return lm_fail(LM_ENOMEM, "out of memory for %d steps", steps);
        lm_report_progress(r, LM_PROGRESS_DETAIL, "%s, m = %d: simulating %s, %d runs x %d steps", row->setting, m,
                           j ? "MaSS" : "SGD", S(o)->runs, steps);
        lm_simulate_opts so = {m, S(o)->runs, steps, NULL, o->seed, LM_STREAM_PROBE};
        lm_status st = lm_theory_simulate(mo, meth[j], hp[j], &so, mean, NULL);
        if (!st) row->rho_sim[j] = curve_rate(mean, steps);
        if (!st && keep) keep->mean[j] = mean, keep->steps[j] = steps;
        else free(mean);
        EXP_TRY(st);
    }
    return LM_OK;
}

/* The data set's moments (X malloc'ed, the caller frees it) and constants. */
static lm_status data_moments(const lm_claim_opts *o, lm_moments *data, double **X, lm_constants *kd)
{
    lm_dataset *ds;
    EXP_TRY(lm_data_load(SOURCE, LM_SPLIT_TRAIN, o->seed, &ds));
    int n = (int)ds->n, d = (int)lm_shape_numel(ds->shape);
    *X = malloc((size_t)n * d * sizeof **X);
    for (size_t i = 0; *X && i < (size_t)n * d; i++) (*X)[i] = ds->x[i];
    lm_dataset_free(ds);
    if (!*X) return lm_fail(LM_ENOMEM, "out of memory for the data set %s", SOURCE);
    *data = (lm_moments){LM_MOMENTS_DATA, d, *X, n, NULL, NULL};
    return lm_moments_constants(data, 1, kd);
}

/* The rows on the population (the first keeps its m = 1 means) and on the data set. */
static lm_status rate_rows(const lm_claim_opts *o, lm_report *r, const lm_moments *pop, rate_row *rows, kept *keep,
                           lm_constants *kd)
{
    int nm = S(o)->nm;
    for (int i = 0; i < nm; i++) {
        rows[i].setting = "Gaussian d=50 (population)";
        EXP_TRY(rate_at(o, r, pop, S(o)->m[i], &rows[i], i == 0 ? keep : NULL));
    }
    lm_moments data;
    double *X = NULL;
    lm_status st = data_moments(o, &data, &X, kd);
    for (int i = 0; i < S(o)->nmd && !st; i++) {
        rows[nm + i].setting = "synth:linreg n=200, d=20 (data)";
        st = rate_at(o, r, &data, S(o)->md[i], &rows[nm + i], NULL);
    }
    free(X);
    return st;
}

static void rate_table(const lm_claim_opts *o, lm_report *r, const rate_row *rows, const lm_constants *kd)
{
    int nm = S(o)->nm, nrows = nm + S(o)->nmd;
    lm_report_printf(r, "Two settings, both with an interpolating w* (no noise), started at w0 = u0 = w* + (1, ..., 1):\n\n"
                     "- the Gaussian example of docs/theory.md §2.2: x ~ N(0, H), d = 50, eigenvalues of H logspace(0, -2), "
                     "so L = 1, mu = 0.01, L1 = 13.05, kappa-tilde = 52;\n"
                     "- a finite data set `%s` (seed %llu, sampled with replacement): kappa = %.1f, L1 = %.3g, "
                     "kappa-tilde = %.2f, exact constants of the data.\n\n"
                     "SGD runs at eta = 1/L_m, MaSS at the section 2.2 hyper-parameters. For each batch size m: the bound "
                     "(SGD 1 - 1/kappa_m, MaSS 1 - 1/sqrt(kappa_m kappa-tilde_m)), the exact rho of E|w - w*|^2 per step "
                     "(second-moment operator, docs/theory.md §2.3) and the simulated rate: the mean of |w - w*|^2 over %d runs, "
                     "rate per step over the second half of a run long enough for a fall of about e^-%d (at most %d steps).\n\n"
                     "| setting | m | SGD bound | SGD exact rho | SGD simulated | MaSS bound | MaSS exact rho | MaSS simulated | MaSS exact speed / bound speed |\n"
                     "|---|---|---|---|---|---|---|---|---|\n",
                     SOURCE, (unsigned long long)o->seed, kd->kappa, kd->L1, kd->kappa_tilde, S(o)->runs, S(o)->fall,
                     S(o)->max_steps);
    for (int i = 0; i < nrows; i++) {
        const rate_row *w = &rows[i];
        lm_report_printf(r, "| %s | %d | %.6f | %.6f | %.6f | %.6f | %.6f | %.6f | %.2f |\n", w->setting, w->m, w->bound[0],
                         w->rho_exact[0], w->rho_sim[0], w->bound[1], w->rho_exact[1], w->rho_sim[1],
                         log(w->rho_exact[1]) / log(w->bound[1]));
        const char *tag = i < nm ? "gaussian" : "data", *meth[2] = {"sgd", "mass"};
        for (int j = 0; j < 2; j++) {
            exp_predictedf(r, w->bound[j], "%s_m%d_%s_bound", tag, w->m, meth[j]);
            exp_measuredf(r, w->rho_exact[j], "%s_m%d_%s_exact_rho", tag, w->m, meth[j]);
            exp_measuredf(r, w->rho_sim[j], "%s_m%d_%s_simulated_rate", tag, w->m, meth[j]);
        }
    }
}

static void rate_verdict(lm_report *r, const rate_row *rows, int nrows)
{
    int worst = -1;
    for (int i = 0; i < nrows; i++)
        for (int j = 0; j < 2; j++)
            if (!(rows[i].rho_exact[j] <= rows[i].bound[j] && rows[i].rho_sim[j] <= rows[i].bound[j])) worst = i;
    lm_report_printf(r, "\nThe claim holds when, for both methods at every m in both settings, the exact rho and the simulated "
                     "rate are at or below (faster than) the bound. %s\n",
                     worst < 0 ? "They all are: the bounds are conservative, by about a factor 2 in speed for MaSS "
                                 "(docs/theory.md §2.2 says the same)."
                               : "At least one is not (see the table): the measured rate is slower than the theory's bound there.");
    if (worst >= 0) lm_report_printf(r, "\nFirst violation in the table: %s, m = %d.\n", rows[worst].setting, rows[worst].m);
    lm_report_verdict(r, worst < 0 ? LM_VERDICT_HOLDS : LM_VERDICT_FAILS,
                      "for SGD and MaSS at every batch size of both settings, the exact rho and the simulated rate are at "
                      "or below the bound");
}

/* Speed against m on the population: bounds (dashed), exact rho (lines), simulated (points). */
static lm_status rate_speed_plot(lm_report *r, const rate_row *rows, int nm)
{
    double mx[M_MAX], sp[6][M_MAX];
    for (int i = 0; i < nm; i++) {
        mx[i] = rows[i].m;
        for (int j = 0; j < 2; j++) {
            sp[3 * j][i] = -log(rows[i].bound[j]);
            sp[3 * j + 1][i] = -log(rows[i].rho_exact[j]);
            sp[3 * j + 2][i] = -log(rows[i].rho_sim[j]);
        }
    }
    lm_curve c[6] = {
        {"SGD bound 1/kappa_m", LM_CURVE_REFERENCE, nm, mx, sp[0], NULL, NULL, 1},
        {"SGD exact", LM_CURVE_LINE, nm, mx, sp[1], NULL, NULL, 1},
        {"SGD simulated", LM_CURVE_POINTS, nm, mx, sp[2], NULL, NULL, 1},
        {"MaSS bound 1/sqrt(kappa_m kappa-tilde_m)", LM_CURVE_REFERENCE, nm, mx, sp[3], NULL, NULL, 2},
        {"MaSS exact", LM_CURVE_LINE, nm, mx, sp[4], NULL, NULL, 2},
        {"MaSS simulated", LM_CURVE_POINTS, nm, mx, sp[5], NULL, NULL, 2},
    };
    lm_figure f = {"speed_vs_batch.png",
                   "speed per step against m: bounds (dashed), exact rho (lines) and simulated means (points), d = 50 Gaussian",
                   "Speed per step on the d=50 Gaussian example", "batch size m", "-log(rate) per step", 1, 1,
                   LM_LEGEND_BELOW, 6, c, 0};
    return lm_report_figure(r, &f);
}

/* One method's m = 1 curves: simulated mean (points), exact expectation, the bound's decay. */
static lm_status m1_curves(const lm_moments *pop, const lm_constants *k1, int j, const kept *keep, double bound,
                           double *buf, lm_curve *c)
{
    enum { POINTS = 40 };
    static const char *const en[2] = {"SGD exact expectation", "MaSS exact expectation"};
    static const char *const cn[2] = {"SGD simulated mean", "MaSS simulated mean"};
    static const char *const bn[2] = {"SGD bound (1-1/kappa_1)^t", "MaSS bound (1-1/sqrt(kappa_1 kappa-tilde))^t"};
    int steps = keep->steps[j], every;
    double *xs = buf, *bl = xs + steps + 1, *ex = bl + steps + 1, *px = ex + steps + 1, *py = px + POINTS + 1, ones[EX_D];
    for (int i = 0; i < EX_D; i++) ones[i] = 1;
    for (int t = 0; t <= steps; t++) xs[t] = t, bl[t] = keep->mean[j][0] * pow(bound, t);
    lm_theory_method meth[2];
    lm_theory_hp hp[2];
    hp_at(k1, meth, hp);
    EXP_TRY(lm_theory_curve(pop, meth[j], hp[j], 1, ones, steps, ex));
    int np = exp_thin(keep->mean[j], steps, POINTS, px, py, &every);
    c[0] = (lm_curve){cn[j], LM_CURVE_POINTS, np, px, py, NULL, NULL, j + 1};
    c[1] = (lm_curve){en[j], LM_CURVE_LINE, steps + 1, xs, ex, NULL, NULL, j + 1};
    c[2] = (lm_curve){bn[j], LM_CURVE_REFERENCE, steps + 1, xs, bl, NULL, NULL, j + 1};
    return LM_OK;
}

/* The m = 1 curves with the exact expectation and the bounds' geometric decay. */
static lm_status rate_curve_plot(lm_report *r, const lm_moments *pop, const rate_row *row1, const kept *keep)
{
    lm_constants k1;
    EXP_TRY(lm_moments_constants(pop, 1, &k1));
    lm_curve c[6];
    double *buf[2] = {NULL, NULL};
    lm_status st = LM_OK;
    for (int j = 0; j < 2 && !st; j++) {
        buf[j] = malloc(sizeof *buf[j] * (3 * (size_t)(keep->steps[j] + 1) + 2 * 41));
        st = buf[j] ? m1_curves(pop, &k1, j, keep, row1->bound[j], buf[j], c + 3 * j)
                    : lm_fail(LM_ENOMEM, "out of memory for %d steps", keep->steps[j]);
    }
    lm_figure f = {"curves_m1.png",
                   "simulated means at m = 1 (points), the exact expectation (lines) and the bounds' geometric decay (dashed)",
                   "Mean |w - w*|^2 at m = 1 (d = 50 Gaussian)", "step", "mean |w - w*|^2", 0, 1, LM_LEGEND_BELOW, 6, c, 0};
    if (!st) st = lm_report_figure(r, &f);
    free(buf[0]), free(buf[1]);
    return st;
}

lm_status exp_mass_rate(const lm_claim_opts *o, lm_report *r)
{
    rate_row rows[ROWS_MAX];
    lm_population pop;
    kept keep = {{NULL, NULL}, {0, 0}};
    lm_constants kd;
    lm_status st = lm_population_parse(POPULATION, &pop);
    if (!st) st = rate_rows(o, r, &pop.mo, rows, &keep, &kd);
    if (!st) {
        rate_table(o, r, rows, &kd);
        rate_verdict(r, rows, S(o)->nm + S(o)->nmd);
        st = rate_speed_plot(r, rows, S(o)->nm);
    }
    if (!st) st = rate_curve_plot(r, &pop.mo, &rows[0], &keep);
    free(keep.mean[0]), free(keep.mean[1]);
    lm_population_free(&pop);
    return st;
}
