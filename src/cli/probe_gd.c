/* linmass probe linearity and linmass probe plstar: the options of lm_probe_gd_job (run.h;
 * docs/theory.md §4-5), which runs on every rank under mpirun (the kernels split over the
 * ranks); rank 0 prints and writes the run folder. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/probe_cli.h"
#include "linmass/dist.h"

typedef struct {
    probe_cli p;
    int plstar, steps, every, held;
    double lr;
} gd_cli;

static int gd_args(gd_cli *g, int argc, char **argv)
{
    cli_opt own[] = {
        {"steps", OPT_INT, &g->steps, "200", "gradient-descent steps T", 0},
        {"lr", OPT_DOUBLE, &g->lr, "0", "step size eta (0: 1/lambda_max(K_0), half the catapult threshold)", 0},
        {"record-every", OPT_INT, &g->every, "0", "record every K steps, and at step T (0: T/10)", 0},
        {"held-out", OPT_INT, &g->held, "32", "held-out test inputs for |f - f_lin| (0: none)", 0},
        {"max-memory", OPT_INT, &g->p.o.max_mem, "1024", "MB for each kernel and its scratch (more: exit 1 naming the size)", 0},
    };
    int rc = parse_probe(&g->p, g->plstar ? "probe plstar" : "probe linearity", "16",
                         g->plstar ? "runs/probe-plstar" : "runs/probe-linearity", own, (int)(sizeof own / sizeof *own), argc, argv);
    if (rc) return rc;
    cli_command *c = &g->p.c;
    lm_gd_job_opts jo = {.lr = g->lr, .steps = g->steps, .record_every = g->every};
    lm_status st = lm_gd_job_opts_validate(&jo); /* --held-out: the set-up's n_test */
    return st ? cli_field_error(c, st, NULL) : 0;
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
