/* linmass probe linearity and linmass probe plstar: full-batch gradient descent with the
 * linearity / PL* recorder of include/linmass/probe.h (docs/theory.md §4-5), on every
 * rank under mpirun (the kernels split over the ranks); rank 0 prints and writes the run
 * folder. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/plot.h"
#include "cli/probe_cli.h"
#include "cli/train_cli.h"
#include "linmass/dist.h"
#include "linmass/probe.h"

static const char *const convention =
    "L(w) = 1/2 ||F(w) - y||^2 (no 1/n), F stacking f(w; x_i); grad L = J^T (F - y); PL ratio ||grad L||^2 / (2 L) >= lambda_min(K); "
    "mu-PL*: 1/2 ||grad L||^2 >= mu L";

static const char *const linearity_about =
    "Full-batch gradient descent w <- w - lr grad L from w0 on the N inputs and their targets, with\n"
    "docs/theory.md §5's convention L(w) = 1/2 ||F(w) - y||^2 (no 1/n; F stacks f(w; x_i)), recording\n"
    "every --record-every steps: ||w_t - w0||, the relative kernel change ||K_t - K_0||_F/||K_0||_F, the\n"
    "gap |f - f_lin| to the linearization at w0 on held-out inputs (test split), lambda_min(K_t), the\n"
    "PL ratio ||grad L||^2/(2L) (>= lambda_min(K_t)), and the per-step loss ratio L(w_{t+1})/L(w_t)\n"
    "next to its bound 1 - lr lambda_min(K_t). Warns when lr > 2/lambda_max(K_0) (the catapult\n"
    "regime, where the kernel moves by O(1) and the measurements do not test the theory).\n"
    "Needs one scalar output: a model with one output, or --output k (on classes the target is\n"
    "1{class = k}).";

static const char *const plstar_about =
    "PL* along full-batch gradient descent (docs/theory.md §5): the same run as 'linmass probe linearity',\n"
    "reported for the PL* condition. Convention: L(w) = 1/2 ||F(w) - y||^2 (no 1/n), grad L =\n"
    "J^T (F - y), so ||grad L||^2 = (F - y)^T K (F - y) >= 2 lambda_min(K) L: the empirical PL ratio\n"
    "||grad L||^2/(2L) is at least lambda_min(K(w_t)), and mu-PL* (1/2 ||grad L||^2 >= mu L) holds on\n"
    "the path with mu = min_t lambda_min(K(w_t)). Prints lambda_min(K_t), the PL ratio, the per-step\n"
    "loss ratio against 1 - lr lambda_min(K_t), and the whole run against L_0 (1 - lr mu)^t.";

typedef struct {
    probe_cli p;
    int plstar, steps, every, held;
    double lr;
} gd_cli;

static int gd_args(gd_cli *g, int argc, char **argv)
{
    const char *name = g->plstar ? "plstar" : "linearity";
    cli_opt own[] = {
        {"steps", OPT_INT, &g->steps, "200", "gradient-descent steps T", 0},
        {"lr", OPT_DOUBLE, &g->lr, "0", "step size eta (0: 1/lambda_max(K_0), half the catapult threshold)", 0},
        {"record-every", OPT_INT, &g->every, "0", "record every K steps, and at step T (0: T/10)", 0},
        {"held-out", OPT_INT, &g->held, "32", "held-out test inputs for |f - f_lin| (0: none)", 0},
        {"max-memory", OPT_INT, &g->p.o.max_mem, "1024", "MB for each kernel and its scratch (more: exit 1 naming the size)", 0},
    };
    snprintf(g->p.epilog, sizeof g->p.epilog,
             "examples:\n"
             "  linmass probe %s --inputs 16 --steps 200\n"
             "  linmass probe %s --model dense:2048,tanh,dense:1 --lr 0.5 --steps 500 --record-every 50\n"
             "  linmass probe %s --model dense:256,tanh,dense:1,tanh --inputs 8   (a non-linear output: the kernel moves)\n\n%s\n%s",
             name, name, name, probe_exit_help, cli_model_help());
    snprintf(g->p.usage, sizeof g->p.usage,
             "linmass probe %s [--model SPEC] [--param ntk|standard] [--checkpoint FILE | --run DIR] [--data SRC]\n"
             "            [--inputs N] [--steps S] [--lr ETA] [--record-every K] [--held-out M] [--output k|sum]\n"
             "            [--json] [--out DIR]",
             name);
    int rc = parse_probe(&g->p, g->plstar ? "probe plstar" : "probe linearity", g->p.usage,
                         g->plstar ? plstar_about : linearity_about, "16", g->plstar ? "runs/probe-plstar" : "runs/probe-linearity",
                         own, (int)(sizeof own / sizeof *own), argc, argv);
    if (rc) return rc;
    cli_command *c = &g->p.c;
    if (g->steps < 1) return cli_usage_error(c, "--steps %d must be at least 1", g->steps);
    if (g->lr < 0) return cli_usage_error(c, "--lr %g must not be negative", g->lr);
    if (g->every < 0) return cli_usage_error(c, "--record-every %d must not be negative", g->every);
    if (g->held < 0) return cli_usage_error(c, "--held-out %d must not be negative", g->held);
    return 0;
}

/* The descent on every rank (the kernels split over the ranks); 0 or the exit code. */
static int gd_run(const gd_cli *g, const setup *s, const double *y, lm_linearity_result *r)
{
    lm_linearity_opts lo = {0};
    lo.net.output = s->output == LM_OUTPUT_SUM ? 0 : s->output;
    lo.y = y;
    lo.lr = g->lr; /* 0: 1/lambda_max(K_0) */
    lo.steps = g->steps;
    lo.record_every = g->every;
    lo.x_test = s->in.x_test;
    lo.n_test = s->in.n_test;
    lo.ntk.mem_cap = (size_t)g->p.o.max_mem * MB;
    lo.ntk.coll = lm_dist_collective(); /* the kernels split over the ranks; the GD runs on each */
    int root = lm_dist_rank() == 0;
    if (root) {
        char lr[64];
        if (g->lr > 0) snprintf(lr, sizeof lr, "%.4g", g->lr);
        else snprintf(lr, sizeof lr, "1/lambda_max(K_0)");
        fprintf(stderr, "probe %s: %d steps of full-batch GD, lr %s, %zu parameters ...\n", g->plstar ? "plstar" : "linearity",
                g->steps, lr, lm_model_num_params(s->in.model));
    }
    lm_status st = lm_probe_linearity(s->in.model, s->in.x, s->in.n, &lo, r);
    if (root && (r->catapult || (st == LM_EDIVERGED && r->lr_catapult > 0)))
        fprintf(stderr, "warning: lr %.4g > 2/lambda_max(K_0) = %.4g: the catapult regime; the kernel moves by O(1) and the "
                        "measurements do not test the theory (docs/theory.md §4.3)\n", r->lr, r->lr_catapult);
    return st ? probe_fail(&g->p.c, st) : 0;
}

static void linearity_table(sbuf *t, const setup *s, const lm_linearity_result *r)
{
    sb_printf(t, "%6s %12s %10s %10s %10s %11s %10s %11s %12s\n", "step", "loss", "|w-w0|", "dK/|K0|", s->in.n_test ? "|f-f_lin|" : "-",
              "lam_min(K)", "PL ratio", "L(t+1)/L(t)", "1-lr*lam_min");
    for (int i = 0; i < r->n_records; i++) {
        const lm_linearity_record *e = &r->records[i];
        sb_printf(t, "%6d %12.6g %10.4g %10.4g %10.4g %11.5g %10.5g %11.6f %12.6f%s\n", e->step, e->loss, e->dist, e->kernel_change,
                  e->lin_gap_max, e->lambda_min, e->pl_ratio, e->loss_ratio, e->bound, e->loss_ratio <= e->bound ? "" : "  above");
    }
    sb_printf(t, "dK/|K0| = ||K_t - K_0||_F / ||K_0||_F; |f-f_lin| = max over %d held-out inputs of |f(w_t) - f_lin(w_t)|\n", s->in.n_test);
}

static void plstar_table(sbuf *t, const lm_linearity_result *r)
{
    const lm_plstar_summary *p = &r->plstar;
    sb_printf(t, "%6s %12s %12s %12s %10s %12s %13s\n", "step", "loss", "lam_min(K_t)", "PL ratio", "PL/lam_min", "L(t+1)/L(t)",
              "1-lr*lam_min");
    for (int i = 0; i < r->n_records; i++) {
        const lm_linearity_record *e = &r->records[i];
        sb_printf(t, "%6d %12.6g %12.6g %12.6g %10.4f %12.6f %13.6f%s\n", e->step, e->loss, e->lambda_min, e->pl_ratio,
                  e->pl_over_lambda_min, e->loss_ratio, e->bound, e->loss_ratio <= e->bound ? "" : "  above");
    }
    sb_printf(t, "PL* constant on the path: mu = min_t lambda_min(K_t) = %.6g\n", p->mu);
    sb_printf(t, "run: L(w_%d) = %.6g against the PL* bound L_0 (1 - lr mu)^%d = %.6g%s\n", r->steps_done + 1, p->loss_next,
              r->steps_done + 1, p->rate_bound, p->loss_next <= p->rate_bound ? "" : "  (above: lr is beyond 1/beta)");
}

static void gd_text(sbuf *t, const gd_cli *g, const setup *s, const lm_linearity_result *r)
{
    char oname[64];
    describe_setup(t, s);
    sb_printf(t, "full-batch gradient descent on %s with its targets, %d steps, lr %.6g%s\n", output_name(s, oname, sizeof oname),
              g->steps, r->lr, r->lr_auto ? " (1/lambda_max(K_0))" : "");
    sb_printf(t, "convention: %s\n", convention);
    sb_printf(t, "lambda_min(K_0) %.6g, lambda_max(K_0) %.6g, catapult above lr 2/lambda_max = %.6g%s\n", r->lambda_min0,
              r->lambda_max0, r->lr_catapult, r->catapult ? "  (THIS RUN IS IN THE CATAPULT REGIME)" : "");
    if (g->plstar) plstar_table(t, r);
    else linearity_table(t, s, r);
    sb_printf(t, "every PL ratio >= lambda_min(K_t): %s; every loss ratio <= 1 - lr lambda_min(K_t): %s\n",
              r->plstar.pl_ge_lambda_min ? "yes" : "NO",
              r->plstar.below_bound ? "yes" : "NO (up to the beta-smoothness slack: lr beyond 1/beta)");
}

static cJSON *gd_json(const gd_cli *g, const setup *s, const lm_linearity_result *r)
{
    cJSON *res = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "probe", g->plstar ? "plstar" : "linearity");
    add_common_json(res, s, g->p.o.out);
    cJSON_AddStringToObject(res, "convention", convention);
    cJSON_AddNumberToObject(res, "steps", g->steps);
    cJSON_AddNumberToObject(res, "held_out", s->in.n_test);
    add_json(res, NULL, lm_linearity_result_json(r, s->in.n_test));
    return res;
}

/* loss.png (the loss and its PL* bound), and kernel_change.png or plstar.png; pngs[0..1]. */
static void gd_plots(const gd_cli *g, const lm_linearity_result *r, sbuf *t, const char **pngs)
{
    int nr = r->n_records;
    double *st_x = malloc((nr + 1) * sizeof *st_x), *loss = malloc((nr + 1) * sizeof *loss), *bnd = malloc((nr + 1) * sizeof *bnd);
    double *kc = malloc((nr + 1) * sizeof *kc), *lam = malloc((nr + 1) * sizeof *lam), *plr = malloc((nr + 1) * sizeof *plr);
    int m = st_x && loss && bnd && kc && lam && plr ? nr : 0;
    for (int i = 0; i < m; i++) {
        const lm_linearity_record *e = &r->records[i];
        st_x[i] = e->step, loss[i] = e->loss, bnd[i] = e->rate_bound, kc[i] = e->kernel_change, lam[i] = e->lambda_min;
        plr[i] = e->pl_ratio;
    }
    char png[1200];
    snprintf(png, sizeof png, "%s/plots/loss.png", g->p.o.out);
    plot_series lsr[2] = {{"loss L(w_t)", m, st_x, loss}, {"PL* bound L0 (1 - lr mu)^t, mu = min lambda_min(K_t)", m, st_x, bnd}};
    plot_axes la = {"Gradient descent: loss and its PL* bound", "step", "L = 1/2 ||F - y||^2", 0, 1};
    if (plot_lines(png, &la, lsr, 2)) pngs[0] = "loss.png", sb_printf(t, "plot: %s\n", png);
    if (!g->plstar) {
        snprintf(png, sizeof png, "%s/plots/kernel_change.png", g->p.o.out);
        plot_series ksr[1] = {{"||K_t - K_0||_F / ||K_0||_F", m, st_x, kc}};
        plot_axes ka = {"Relative tangent-kernel change", "step", "relative change", 0, 0};
        if (plot_lines(png, &ka, ksr, 1)) pngs[1] = "kernel_change.png", sb_printf(t, "plot: %s\n", png);
    } else {
        snprintf(png, sizeof png, "%s/plots/plstar.png", g->p.o.out);
        plot_series psr[2] = {{"PL ratio ||grad L||^2 / (2L)", m, st_x, plr}, {"lambda_min(K_t)", m, st_x, lam}};
        plot_axes pa = {"PL* along gradient descent", "step", "value", 0, 1};
        if (plot_lines(png, &pa, psr, 2)) pngs[1] = "plstar.png", sb_printf(t, "plot: %s\n", png);
    }
    free(st_x), free(loss), free(bnd), free(kc), free(lam), free(plr);
}

static int gd_report(const gd_cli *g, const setup *s, const lm_linearity_result *r, double t0)
{
    sbuf t = {0};
    gd_text(&t, g, s, r);
    cJSON *res = gd_json(g, s, r);
    cJSON_AddNumberToObject(res, "seconds", cli_now() - t0);
    const char *pngs[2] = {NULL, NULL};
    gd_plots(g, r, &t, pngs);
    sb_printf(&t, "run folder: %s\n", g->p.o.out);
    int rc = write_run(&g->p.c, g->p.o.out, s, res, g->plstar ? "linmass probe plstar" : "linmass probe linearity", &t, pngs, 2);
    if (!rc) emit(g->p.o.json, &t, res);
    cJSON_Delete(res);
    free(t.s);
    return rc;
}

int probe_gd(int argc, char **argv, int plstar)
{
    gd_cli g = {.plstar = plstar};
    int rc = gd_args(&g, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    setup s;
    double *y = NULL, t0 = 0;
    lm_linearity_result r = {0};
    if (!(rc = setup_all(&g.p.c, &g.p.o, g.held, &s, &y))) {
        t0 = cli_now();
        rc = gd_run(&g, &s, y, &r);
        g.lr = r.lr; /* config.json records the step used */
    }
    if (!rc && lm_dist_rank() == 0) rc = gd_report(&g, &s, &r, t0); /* every rank has the records */
    lm_linearity_free(&r);
    setup_free(&s);
    free(y);
    return rc;
}
