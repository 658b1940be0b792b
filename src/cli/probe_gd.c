/* linmass probe linearity and linmass probe plstar: the options of lm_probe_gd_job (run.h;
 * docs/theory.md §4-5), which runs on every rank under mpirun (the kernels split over the
 * ranks); rank 0 prints and writes the run folder. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/probe_cli.h"
#include "cli/train_cli.h"
#include "linmass/dist.h"

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
    lm_gd_job_opts jo = {.lr = g->lr, .steps = g->steps, .record_every = g->every};
    lm_status st = lm_gd_job_opts_validate(&jo); /* --held-out: the set-up's n_test */
    return st ? cli_field_error(c, st, (const char *const[]){"steps", "steps", "lr", "lr", "record_every", "record-every", NULL}) : 0;
}

int probe_gd(int argc, char **argv, int plstar)
{
    gd_cli g = {.plstar = plstar};
    int rc = gd_args(&g, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    setup s;
    double *y = NULL;
    if (!(rc = setup_all(&g.p.c, &g.p.o, g.held, &s, &y))) {
        lm_gd_job_opts jo = {plstar, s.output, y, g.lr, g.steps, g.every, (size_t)g.p.o.max_mem * MB, lm_dist_collective(), g.p.o.out};
        lm_report *r = NULL;
        char *json = NULL;
        lm_status st = probe_report(plstar ? "probe plstar" : "probe linearity", &r);
        if (!st) st = lm_probe_gd_job(&s.in, &jo, r, &json);
        if (!st) lm_report_find(r, LM_REPORT_MEASURED, "lr", &g.lr); /* config.json records the step used */
        rc = probe_done(&g.p, &s, plstar ? "linmass probe plstar" : "linmass probe linearity", r, st, json);
    }
    setup_free(&s);
    free(y);
    return rc;
}
