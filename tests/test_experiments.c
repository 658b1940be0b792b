// ctest-labels: unit experiments
/* The experiments library (linmass/experiments.h) without the command line:
 * - the table of claims: every claim named once, with its sentence, source, a running time for
 *   every setting and a function; lookups; options out of range refused;
 * - the claim nesterov-diverges run through the library at its quick setting: the predicted
 *   rates are docs/theory.md §2.4's worked values (SGD at 1/L1 0.993392, MaSS 0.957306,
 *   Nesterov at gamma 0.9 1.30), the measured ones exist next to them, the verdict holds, and
 *   its figure holds the simulated means as points over the exact curves, all starting at
 *   E|w0 - w*|^2 = 2 (w0 = w* + (1, 1));
 * - the order-1 term of a softplus output (nonlinear-output's floor) on a worked example;
 * - the medium setting's decisions on hand-made numbers: the verdict by the seeds' standard error
 *   (holds, does not hold, undecided, at its boundary both ways, diverged runs) and the choice of
 *   a learning rate from a table of validation losses; each optimizer's rate from a setting; the
 *   claim's verdict from its two protocols' (both hold, either fails, otherwise undecided);
 * - the demo's sections and their defaults. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "experiments/exp_probe.h"
#include "experiments/exp_train.h"
#include "linmass/experiments.h"

static void test_table(void)
{
    int n = lm_claim_count();
    CHECK(n == 13);
    for (int i = 0; i < n; i++) {
        const lm_claim *c = lm_claim_at(i);
        CHECK(c && c->name && c->sentence && c->source && c->run);
        for (int s = 0; c && s < LM_SETTINGS; s++)
            if (s != LM_SETTING_MEDIUM || c->time[s]) CHECK_MSG(c->time[s] && *c->time[s], "%s: no time for setting %d", c->name, s);
        if (c && c->time[LM_SETTING_MEDIUM]) CHECK_MSG(c->seeds[LM_SETTING_MEDIUM] >= 3, "%s: medium with < 3 seeds", c->name);
        for (int j = 0; c && j < i; j++) CHECK_MSG(strcmp(c->name, lm_claim_at(j)->name), "%s twice", c->name);
        CHECK(c && lm_claim_find(c->name) == c);
    }
    CHECK(lm_claim_at(n) == NULL && lm_claim_at(-1) == NULL);
    CHECK(lm_claim_find("no-such-claim") == NULL && lm_claim_find(NULL) == NULL);
    CHECK(!strcmp(lm_setting_name(LM_SETTING_QUICK), "quick") && !strcmp(lm_setting_name(LM_SETTING_FULL), "full"));
    CHECK(!strcmp(lm_setting_name(LM_SETTING_MEDIUM), "medium"));
    CHECK(lm_claim_find("mass-vs-baselines-fcn")->time[LM_SETTING_MEDIUM] != NULL);
    CHECK(lm_claim_find("mass-vs-baselines-cnn")->time[LM_SETTING_MEDIUM] != NULL);

    const lm_claim *c = lm_claim_find("nesterov-diverges");
    lm_report *r;
    CHECK(lm_report_create(0, &r) == LM_OK);
    lm_claim_opts bad_setting = {(lm_setting)5, 0, "/tmp"}, no_dir = {LM_SETTING_QUICK, 0, NULL};
    CHECK(lm_claim_run(c, &bad_setting, r) == LM_EINVAL);
    CHECK(lm_claim_run(c, &no_dir, r) == LM_EINVAL);
    lm_claim_opts medium = {LM_SETTING_MEDIUM, 0, "/tmp"}; /* nesterov-diverges has no medium setting */
    CHECK(lm_claim_run(c, &medium, r) == LM_EINVAL);
    CHECK(lm_claim_run(NULL, &no_dir, r) == LM_EINVAL);
    CHECK(lm_report_block_count(r) == 0); /* nothing ran */
    lm_report_free(r);
}

static double get(const lm_report *r, lm_report_list which, const char *key)
{
    double v = NAN;
    CHECK_MSG(lm_report_find(r, which, key, &v), "no %s number '%s'", which ? "predicted" : "measured", key);
    return v;
}

static void check_figure(const lm_figure *f)
{
    CHECK(!strcmp(f->file, "mean_sq_error.png") && f->logy && f->n_curves == 6);
    int points = 0, lines = 0;
    for (int i = 0; i < f->n_curves; i++) {
        const lm_curve *c = &f->curves[i];
        points += c->kind == LM_CURVE_POINTS, lines += c->kind == LM_CURVE_LINE;
        CHECK_MSG(c->n > 1 && c->x[0] == 0 && fabs(c->y[0] - 2) < 1e-12, "curve %d starts at (%g, %g)", i, c->x[0], c->y[0]);
        CHECK(c->color >= 1 && c->color <= 3);
    }
    CHECK(points == 3 && lines == 3);
    /* the exact Nesterov curve grows like 1.30^t: after 60 steps above 1e5 */
    for (int i = 0; i < f->n_curves; i++)
        if (f->curves[i].kind == LM_CURVE_LINE && f->curves[i].color == 2)
            CHECK_MSG(f->curves[i].n == 61 && f->curves[i].y[60] > 1e5, "Nesterov's exact curve ends at %g", f->curves[i].y[60]);
}

static void test_claim_runs(void)
{
    char dir[256];
    if (!check_make_tmpdir(dir, sizeof dir, "lm_experiments")) return;
    const lm_claim *c = lm_claim_find("nesterov-diverges");
    lm_report *r;
    CHECK(lm_report_create(0, &r) == LM_OK);
    lm_claim_opts o = {LM_SETTING_QUICK, 0, dir};
    CHECK(lm_claim_run(c, &o, r) == LM_OK);
    const char *reason;
    CHECK(lm_report_get_verdict(r, &reason) == LM_VERDICT_HOLDS && strlen(reason) > 20);
    CHECK_CLOSE(get(r, LM_REPORT_PREDICTED, "sgd_rho"), 0.993392, 1e-6);
    CHECK_CLOSE(get(r, LM_REPORT_PREDICTED, "mass_rho"), 0.957306, 1e-6);
    CHECK_CLOSE(get(r, LM_REPORT_PREDICTED, "nesterov_rho"), 1.30, 0.01);
    /* measured next to predicted: the simulated rates of 2000 runs, contracting for SGD and MaSS */
    CHECK(get(r, LM_REPORT_MEASURED, "sgd_measured_rate") < 1 && get(r, LM_REPORT_MEASURED, "mass_measured_rate") < 1);
    CHECK(get(r, LM_REPORT_MEASURED, "nesterov_final_mean_sq_error") > 2);
    CHECK(get(r, LM_REPORT_MEASURED, "mass_final_mean_sq_error") < 1);
    CHECK(lm_report_count(r, LM_REPORT_MEASURED) == 6 && lm_report_count(r, LM_REPORT_PREDICTED) == 3);
    int figures = 0;
    for (int i = 0; i < lm_report_block_count(r); i++) {
        lm_report_block b = lm_report_block_at(r, i);
        if (b.figure) figures++, check_figure(b.figure);
        else CHECK(b.text && strlen(b.text) > 0);
    }
    CHECK(figures == 1);
    CHECK(strstr(lm_report_block_at(r, 0).text, "| Nesterov (gamma 0.9) | 1.30") != NULL);
    lm_report_free(r);
    check_remove_tmpdir(dir);
}

/* The order-1 term of a softplus output on docs/theory.md §4.2's worked example: f~(w; x) =
 * <w, x>, x = (1, 1), w = (0.25, 0.25): f~ = 0.5, K~(x, x) = 2, softplus''(0.5) = 0.235004, so
 * the term is 0.470007; and at x = (-2, 0): f~ = -0.5, the same phi'' (it is even), K~ = 4. */
static void test_floor_terms(void)
{
    lm_model *m;
    CHECK(lm_model_create("dense:1:nobias", (lm_shape){2, 1, 1}, LM_PARAM_STANDARD, 1, &m) == LM_OK);
    if (!m) return;
    CHECK(lm_model_num_params(m) == 2);
    lm_model_params(m)[0] = lm_model_params(m)[1] = 0.25f;
    const double x[4] = {1, 1, -2, 0};
    double term[2], pre[2];
    CHECK(exp_softplus_floor_terms(m, x, 2, 2, term, pre) == LM_OK);
    CHECK_CLOSE(pre[0], 0.5, 1e-15);
    CHECK_CLOSE(pre[1], -0.5, 1e-15);
    CHECK_CLOSE(term[0], 0.470007, 1e-6);
    CHECK_CLOSE(term[1], 2 * 0.470007, 2e-6);
    lm_model_free(m);
}

static void test_demo_table(void)
{
    CHECK(lm_demo_section_count() == 3);
    const char *keys[3] = {"hessian", "linear_regression", "fcn"};
    for (int i = 0; i < 3; i++) {
        const lm_demo_section *s = lm_demo_section_at(i);
        CHECK(s && !strcmp(s->key, keys[i]) && s->heading && s->run);
    }
    CHECK(lm_demo_section_at(3) == NULL);
    CHECK(!strcmp(lm_demo_section_at(1)->claim, "nesterov-diverges") && lm_claim_find(lm_demo_section_at(1)->claim));
    lm_demo_opts q, f;
    lm_demo_opts_init(&q, LM_SETTING_QUICK);
    lm_demo_opts_init(&f, LM_SETTING_FULL);
    CHECK(q.epochs == 2 && q.max_train == 5000 && f.epochs == 5 && f.max_train == 0 && q.lr == 0.01 && !strcmp(f.data, "fashion-mnist"));
    lm_report *r;
    CHECK(lm_report_create(0, &r) == LM_OK);
    q.epochs = 0;
    CHECK(lm_demo_run(lm_demo_section_at(2), &q, r) == LM_EINVAL);
    lm_report_free(r);
}

/* exp_seed_verdict on hand-made numbers. sd 3 (MaSS) and 4 over 4 seeds: the combined standard
 * error is sqrt((9 + 16) / 4) = 2.5 exactly, so that the boundary is exact in floating point. */
static void test_seed_verdict(void)
{
    double sd[N_OPT] = {4, 4, 4, 3}, diff[N_OPT], se[N_OPT];
    double holds[N_OPT] = {20, 13, 30, 10}; /* SGD, Nesterov, Adam above MaSS by 10, 3, 20 > 2.5 */
    CHECK(exp_seed_verdict(holds, sd, 4, diff, se) == LM_VERDICT_HOLDS);
    CHECK(diff[O_SGD] == 10 && diff[O_NESTEROV] == 3 && diff[O_ADAM] == 20 && diff[O_MASS] == 0);
    CHECK(se[O_SGD] == 2.5 && se[O_NESTEROV] == 2.5 && se[O_ADAM] == 2.5 && se[O_MASS] == 0);
    double at_plus[N_OPT] = {20, 12.5, 30, 10}; /* Nesterov exactly one standard error above: undecided */
    CHECK(exp_seed_verdict(at_plus, sd, 4, NULL, NULL) == LM_VERDICT_NOT_TESTED);
    at_plus[O_NESTEROV] = 12.51;
    CHECK(exp_seed_verdict(at_plus, sd, 4, NULL, NULL) == LM_VERDICT_HOLDS);
    double within[N_OPT] = {20, 11, 30, 10}; /* Nesterov 1 above, within 2.5 */
    CHECK(exp_seed_verdict(within, sd, 4, NULL, NULL) == LM_VERDICT_NOT_TESTED);
    within[O_NESTEROV] = 9; /* 1 below, still within */
    CHECK(exp_seed_verdict(within, sd, 4, NULL, NULL) == LM_VERDICT_NOT_TESTED);
    double at_minus[N_OPT] = {20, 13, 7.5, 10}; /* Adam exactly one standard error below: undecided */
    CHECK(exp_seed_verdict(at_minus, sd, 4, NULL, NULL) == LM_VERDICT_NOT_TESTED);
    at_minus[O_ADAM] = 7.49;
    CHECK(exp_seed_verdict(at_minus, sd, 4, NULL, NULL) == LM_VERDICT_FAILS);
    double fails[N_OPT] = {5, 13, 30, 10}; /* SGD below by 5 while the others are above: does not hold */
    CHECK(exp_seed_verdict(fails, sd, 4, NULL, NULL) == LM_VERDICT_FAILS);
    /* more seeds shrink the error: 1 above at 100 seeds (se 0.5) decides */
    CHECK(exp_seed_verdict((double[]){20, 11, 30, 10}, sd, 100, NULL, NULL) == LM_VERDICT_HOLDS);
    CHECK(exp_seed_verdict(holds, sd, 1, NULL, NULL) == LM_VERDICT_NOT_TESTED); /* one seed: no spread */
    /* diverged runs: infinite mean, no sd */
    double sd_div[N_OPT] = {NAN, 4, 4, 3}, other_div[N_OPT] = {INFINITY, 13, 30, 10};
    CHECK(exp_seed_verdict(other_div, sd_div, 4, diff, se) == LM_VERDICT_HOLDS && se[O_SGD] == 0);
    double sd_mdiv[N_OPT] = {4, 4, 4, NAN}, mass_div[N_OPT] = {20, 13, 30, INFINITY};
    CHECK(exp_seed_verdict(mass_div, sd_mdiv, 4, NULL, NULL) == LM_VERDICT_FAILS);
    double nan_mean[N_OPT] = {20, NAN, 30, 10};
    CHECK(exp_seed_verdict(nan_mean, sd, 4, NULL, NULL) == LM_VERDICT_NOT_TESTED);
}

/* A claim's verdict from its two protocols: holds when both hold, does not hold when either does
 * not (whatever the other), undecided otherwise: all nine pairs. */
static void test_both_protocols(void)
{
    const lm_verdict H = LM_VERDICT_HOLDS, F = LM_VERDICT_FAILS, U = LM_VERDICT_NOT_TESTED;
    const lm_verdict v[3] = {H, F, U}, want[3][3] = {{H, F, U}, {F, F, F}, {U, F, U}};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            CHECK_MSG(exp_both_protocols(v[i], v[j]) == want[i][j], "paper %s, tuned %s", lm_verdict_name(v[i]),
                      lm_verdict_name(v[j]));
}

/* exp_pick_lr on hand-made tables of validation losses, and the rate each optimizer steps with. */
static void test_pick_lr(void)
{
    CHECK(exp_pick_lr((double[]){0.9, 0.5, INFINITY, 0.7}, 4) == 1);
    CHECK(exp_pick_lr((double[]){INFINITY, 0.8, NAN, 0.3}, 4) == 3);
    CHECK(exp_pick_lr((double[]){0.5, 0.5, 0.6}, 3) == 0); /* equal: the first */
    CHECK(exp_pick_lr((double[]){NAN, INFINITY, INFINITY}, 3) == -1);
    exp_setting s = {0};
    s.lr = 0.03;
    CHECK(exp_lr_of(&s, O_SGD) == 0.03 && exp_lr_of(&s, O_MASS) == 0.03 && exp_lr_of(&s, O_ADAM) == 0.001);
    const double lrs[N_OPT] = {0.1, 0.003, 0.0003, 0.03};
    s.lrs = lrs;
    CHECK(exp_lr_of(&s, O_SGD) == 0.1 && exp_lr_of(&s, O_NESTEROV) == 0.003 && exp_lr_of(&s, O_ADAM) == 0.0003);
}

int main(void)
{
    test_table();
    test_claim_runs();
    test_floor_terms();
    test_demo_table();
    test_seed_verdict();
    test_pick_lr();
    test_both_protocols();
    return check_summary();
}
