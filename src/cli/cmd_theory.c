/* linmass constants and linmass theory: the float64 linear-regression theory of MaSS
 * (docs/theory.md §2) on a data set's training split or on an exact population. The library
 * (include/linmass/theory.h) computes; this file parses, prints and reports progress. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "linmass/runtime.h"
#include "linmass/theory.h"

/* Most features (data) and kernel rows linmass constants takes. */
#define MAX_DATA_DIM 4000

/* The source, its options' refusals told with their flags. */
static int open_source(const cli_command *c, const lm_theory_source_opts *o, lm_theory_source *s)
{
    lm_status st = lm_theory_source_open(o, s);
    return st ? cli_field_error(c, st, (const char *const[]){"kernel_rows", "kernel-samples", NULL}) : 0;
}

/* The summary: its JSON on one line (--json), else its text. */
static void show(const char *text, const char *json, int as_json)
{
    if (as_json) printf("%s\n", json);
    else fputs(text, stdout);
    fflush(stdout);
}

/* ---- linmass constants ---- */

int cmd_constants(int argc, char **argv)
{
    const char *data = NULL, *pop = NULL;
    int m = 1, json = 0;
    uint64_t seed = 0;
    int max_samples = 0, kernel_rows = 2000;
    const char *model = "linear";
    cli_opt opts[] = {
        {"data", OPT_STRING, &data, NULL, "data source: its training split, flattened to n x d", 0},
        {"population", OPT_STRING, &pop, NULL, "exact population instead of data: gaussian[:cond=C,d=D] or decoupled[:...]", 0},
        {"batch", OPT_INT, &m, "1", "mini-batch size m", 0},
        {"max-samples", OPT_INT, &max_samples, "0", "use only the first N training samples (0: all)", 0},
        {"model", OPT_STRING, &model, "linear", "linear, or kernel:gaussian:BW / kernel:laplacian:BW (with --data)", 0},
        {"kernel-samples", OPT_INT, &kernel_rows, "2000", "kernels: rows of the kernel matrix, a random subsample", 0},
        {"seed", OPT_U64, &seed, "0", "seed of synthetic data sources and of the kernel subsample", 0},
        {"json", OPT_FLAG, &json, NULL, "print one JSON object", 0},
    };
    cli_command c = {"constants", opts, sizeof opts / sizeof *opts, NULL, NULL, 0, 0};
    int rc = cli_parse(&c, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    lm_theory_source_opts so = {data, pop, model, max_samples, MAX_DATA_DIM, kernel_rows, 0, seed, 0};
    lm_theory_source s;
    lm_constants_summary k = {0};
    lm_status st = LM_OK;
    if (!(rc = open_source(&c, &so, &s)) && (st = lm_constants_summary_make(&s, m, &k))) rc = cli_field_error(&c, st, NULL);
    for (int i = 0; !rc && i < k.n_warnings; i++) fprintf(stderr, "linmass constants: warning: %s\n", k.warnings[i]);
    if (!rc) show(k.text, k.json, json);
    if (!rc && !json)
        printf("batch m = %d (--batch): the constants, steps and rates below are for mini-batches of %d; linmass train's\n"
               "  default --batch is 64, and train --auto uses its own --batch\n%s", m, m, k.batch_text);
    lm_constants_summary_free(&k);
    lm_theory_source_free(&s);
    return rc;
}

/* ---- linmass theory ---- */

typedef struct {
    lm_theory_method method;
    const char *optim;
    int m, json, grid, best, threads;
    lm_theory_hp_given hp; /* the hyper-parameter options, NAN unless given */
} theory_args;

/* The method, the search options and the hyper-parameters given, as the library checks them
 * (lm_theory_method_from_name, lm_theory_search_opts_validate, lm_theory_hp_validate). */
static int parse_theory_args(const cli_command *c, theory_args *a)
{
    lm_status st = lm_theory_method_from_name(a->optim, &a->method);
    if (!st) st = lm_theory_search_opts_validate(&(lm_theory_search_opts){a->grid, a->threads, NULL, NULL});
    if (!st) st = lm_theory_hp_validate(a->method, &a->hp, a->best);
    return st ? cli_field_error(c, st, (const char *const[]){"step", "lr", NULL}) : 0;
}

static int theory_rate(const cli_command *c, const theory_args *a, const lm_theory_source *s, const lm_constants *k)
{
    char *text = NULL, *json = NULL;
    lm_status st = lm_theory_rate_summary(s, a->method, lm_theory_hp_resolve(a->method, &a->hp, k), a->m, k, &text, &json);
    if (!st) show(text, json, a->json);
    free(text), free(json);
    return st ? cli_fail(c->command, st) : 0;
}

/* ---- linmass theory --best ---- */

typedef struct {
    int tty;
    double last;
} best_progress;

static void on_best_progress(void *ctx, const lm_theory_progress *p)
{
    best_progress *bp = ctx;
    double t = cli_now();
    if (!bp->tty && t - bp->last < 5) return;
    bp->last = t;
    fprintf(stderr, "%stheory --best: tuning %s, %d of about %d evaluations, %.0f s, about %.0f s left%s",
            bp->tty ? "\r\033[K" : "", lm_theory_method_name(p->method), p->done, p->total, p->elapsed,
            isfinite(p->left) ? p->left : 0, bp->tty ? "" : "\n");
    fflush(stderr);
}

static int theory_best(const cli_command *c, const theory_args *a, const lm_theory_source *s, const lm_constants *k)
{
    best_progress bp = {cli_stderr_is_tty(), cli_now()};
    lm_theory_search_opts so = {a->grid, a->threads ? a->threads : lm_num_cores(), on_best_progress, &bp};
    lm_theory_best b[3];
    char *text = NULL, *json = NULL;
    lm_status st = lm_theory_tune(&s->mo, a->m, &so, b);
    if (bp.tty) fprintf(stderr, "\r\033[K");
    int grid = a->grid ? a->grid : lm_theory_default_grid(&s->mo);
    if (!st) st = lm_theory_best_summary(s, a->m, grid, b, k, &text, &json);
    if (!st) show(text, json, a->json);
    free(text), free(json);
    return st ? cli_fail(c->command, st) : 0;
}

int cmd_theory(int argc, char **argv)
{
    const char *data = NULL, *pop = NULL, *model = "linear";
    int max_samples = 0;
    uint64_t seed = 0;
    theory_args a = {.optim = "mass", .hp = {NAN, NAN, NAN, NAN, NAN, NAN}};
    cli_opt opts[] = {
        {"data", OPT_STRING, &data, NULL, "data source: its training split, n x d with d <= 30", 0},
        {"population", OPT_STRING, &pop, NULL, "exact population instead of data: gaussian[:cond=C,d=D] or decoupled[:...]", 0},
        {"optim", OPT_STRING, &a.optim, "mass", "sgd, nesterov or mass", 0},
        {"lr", OPT_DOUBLE, &a.hp.step, NULL, "step: SGD's and Nesterov's eta1, MaSS's eta (default 1/L_m)", 0},
        {"eta1", OPT_DOUBLE, &a.hp.eta1, NULL, "same as --lr (MaSS two-sequence form)", 0},
        {"eta2", OPT_DOUBLE, &a.hp.eta2, NULL, "MaSS's compensation step (default from the constants)", 0},
        {"gamma", OPT_DOUBLE, &a.hp.gamma, NULL, "momentum in [0,1) (Nesterov: required; MaSS: default from the constants)", 0},
        {"alpha", OPT_DOUBLE, &a.hp.alpha, NULL, "MaSS authors' form: alpha in (0,1)", 0},
        {"kappa-tilde", OPT_DOUBLE, &a.hp.kappa_tilde, NULL, "MaSS authors' form: kappa-tilde >= 1", 0},
        {"batch", OPT_INT, &a.m, "1", "mini-batch size m", 0},
        {"best", OPT_FLAG, &a.best, NULL, "tune every method (a grid with the closed-form points, then a local search) and report the best rates and speed-ups over SGD", 0},
        {"grid", OPT_INT, &a.grid, "0", "grid points per hyper-parameter for --best (>= 5; 0: 12 for small problems, fewer as d grows)", 0},
        {"threads", OPT_INT, &a.threads, "0", "--best: evaluations in parallel (0: all cores)", 0},
        {"max-samples", OPT_INT, &max_samples, "0", "use only the first N training samples (0: all)", 0},
        {"model", OPT_STRING, &model, "linear", "linear, or kernel:gaussian:BW / kernel:laplacian:BW (with --data): kernel regression in the RKHS, exact on at most 30 training points", 0},
        {"seed", OPT_U64, &seed, "0", "seed of synthetic data sources", 0},
        {"json", OPT_FLAG, &a.json, NULL, "print one JSON object", 0},
    };
    cli_command c = {"theory", opts, sizeof opts / sizeof *opts, NULL, NULL, 0, 0};
    int rc = cli_parse(&c, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    if ((rc = parse_theory_args(&c, &a))) return rc;
    lm_theory_source_opts so = {data, pop, model, max_samples, LM_THEORY_MAX_DIM, LM_THEORY_MAX_DIM, LM_THEORY_MAX_DIM, seed,
                               LM_THEORY_MAX_DIAG_DIM};
    lm_theory_source s;
    lm_constants k;
    lm_status st = LM_OK;
    rc = open_source(&c, &so, &s);
    if (!rc && (st = lm_theory_source_constants(&s, a.m, &k))) rc = cli_field_error(&c, st, NULL);
    if (!rc) rc = a.best ? theory_best(&c, &a, &s, &k) : theory_rate(&c, &a, &s, &k);
    lm_theory_source_free(&s);
    return rc;
}
