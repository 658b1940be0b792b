/* linmass constants and linmass theory: the float64 linear-regression theory of MaSS
 * (docs/theory.md §2) on a data set's training split or on an exact population. The library
 * (include/linmass/theory.h) computes; this file parses, prints and reports progress. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "linmass/data.h"
#include "linmass/model.h"
#include "linmass/optim.h"
#include "linmass/runtime.h"
#include "linmass/theory.h"

/* Largest data matrix the constants load: n * d float64 values (400 MB). */
#define MAX_DATA_VALUES 50000000.0
#define MAX_DATA_DIM 4000

static const char *const population_help =
    "sources: --data SRC (its training split; see linmass train --help for the list) or\n"
    "--population gaussian[:cond=C,d=D]   x ~ N(0, H), H = diag(logspace(0, -log10 C, D))\n"
    "                                     (defaults cond=100, d=2: kappa = 100, L1 = 3.01,\n"
    "                                     kappa_1 = 301, kappa-tilde = 4)\n"
    "--population decoupled[:cond=C,d=D]  x = sqrt(D) sigma_i z e_i, i uniform, z ~ N(0,1),\n"
    "                                     sigma^2 = logspace(0, -log10 C, D) (docs/theory.md §2.4)\n"
    "Populations are exact (no sampling); theory allows d <= 30 for data and d <= 400 for\n"
    "populations.\n";

/* A data distribution: a loaded sample (DATA) or a population, with its moments. */
typedef struct {
    lm_moments mo;
    lm_population pop; /* populations */
    double *X;         /* owned, data */
    double *Y;         /* owned, data: the targets, n x k (one-hot rows for classes), as --auto trains */
    int k;
    char label[160];
    int population;
} source;

static void source_free(source *s)
{
    free(s->X), free(s->Y);
    lm_population_free(&s->pop);
}

static int open_population(const cli_command *c, const char *spec, source *s)
{
    if (lm_population_parse(spec, &s->pop)) return cli_usage_error(c, "%s", lm_error_message());
    s->mo = s->pop.mo;
    s->population = 1;
    snprintf(s->label, sizeof s->label, "%s", s->pop.label);
    return 0;
}

/* Load the training split as float64, n x d; max_dim bounds d (0: MAX_DATA_DIM). */
static int load_data(const cli_command *c, const char *src, long max_samples, uint64_t seed, int max_dim,
                     const char *why, source *s)
{
    lm_dataset *ds = NULL;
    lm_status st = lm_data_load(src, LM_SPLIT_TRAIN, seed, &ds);
    if (st) return cli_fail(c->command, st);
    size_t d = lm_shape_numel(ds->shape), n = ds->n;
    if (max_samples > 0 && (size_t)max_samples < n) n = (size_t)max_samples;
    if ((long)d > max_dim) {
        lm_dataset_free(ds);
        return cli_usage_error(c, "%s has d = %zu features; %s allows at most %d%s", src, d, c->command, max_dim, why);
    }
    if ((double)n * (double)d > MAX_DATA_VALUES) {
        lm_dataset_free(ds);
        return cli_usage_error(c, "%s: n x d = %zu x %zu is over %.0f values; subsample with --max-samples", src, n, d,
                               MAX_DATA_VALUES);
    }
    if (n < 1) {
        lm_dataset_free(ds);
        return cli_usage_error(c, "%s: no training samples", src);
    }
    if ((st = lm_dataset_f64(ds, n, &s->X, &s->Y, &s->k))) {
        lm_dataset_free(ds);
        return cli_fail(c->command, st);
    }
    memset(&s->mo, 0, sizeof s->mo);
    s->mo.kind = LM_MOMENTS_DATA;
    s->mo.d = (int)d;
    s->mo.n = (int)n;
    s->mo.X = s->X;
    snprintf(s->label, sizeof s->label, "%s (train, n=%zu, d=%zu)", src, n, d);
    lm_dataset_free(ds);
    return 0;
}

/* Kernel models: the features of kernel regression in the RKHS (docs/theory.md §2.1), from the
 * kernel matrix of a random subsample of at most `rows` training points, exact when there are
 * no more (lm_model_linear_features, as --auto uses). max_points > 0: more training points than
 * that are refused (theory: one feature per point). */
static int load_kernel_features(const cli_command *c, const char *src, const char *model, long max_samples,
                                int rows, int max_points, uint64_t seed, source *s)
{
    lm_dataset *ds = NULL;
    lm_model *m = NULL;
    char spec[256];
    lm_status st = lm_data_load(src, LM_SPLIT_TRAIN, seed, &ds);
    if (st) return cli_fail(c->command, st);
    size_t n = ds->n;
    if (max_samples > 0 && (size_t)max_samples < n) n = (size_t)max_samples;
    if (max_points > 0 && n > (size_t)max_points) {
        lm_dataset_free(ds);
        return cli_usage_error(c, "--model %s: %s has %zu training points, and kernel regression in the RKHS has one "
                               "feature per point; %s allows at most %d (use --max-samples)", model, src, n, c->command,
                               max_points);
    }
    int outputs = ds->classes > 0 ? ds->classes : ds->target_dim;
    if (!lm_model_alias_spec(model, outputs, n, spec, sizeof spec) || strncmp(model, "kernel:", 7)) {
        lm_dataset_free(ds);
        return cli_usage_error(c, "--model: '%s' is not linear, kernel:gaussian:BW or kernel:laplacian:BW", model);
    }
    st = lm_model_create(spec, ds->shape, LM_PARAM_STANDARD, seed, &m);
    if (!st) st = lm_model_set_kernel_centres(m, ds->x, n);
    int r = 0, d = 0;
    if (!st) st = lm_model_linear_features(m, ds->x, n, rows, seed, &s->X, &r, &d);
    lm_model_free(m);
    lm_dataset_free(ds);
    if (st) return cli_fail(c->command, st);
    memset(&s->mo, 0, sizeof s->mo);
    s->mo.kind = LM_MOMENTS_DATA;
    s->mo.d = d;
    s->mo.n = r;
    s->mo.X = s->X;
    if ((size_t)r < n)
        snprintf(s->label, sizeof s->label, "%s in the RKHS on %s (train, %zu points; kernel matrix of a random %d)",
                 model, src, n, r);
    else
        snprintf(s->label, sizeof s->label, "%s in the RKHS on %s (train, kernel matrix of all %zu points)", model, src, n);
    return 0;
}

static int open_source(const cli_command *c, const char *data, const char *pop, long max_samples, uint64_t seed,
                       int data_max_dim, const char *why, source *s)
{
    memset(s, 0, sizeof *s);
    if (!!data == !!pop) return cli_usage_error(c, "give exactly one of --data SRC and --population SPEC");
    if (max_samples < 0) return cli_usage_error(c, "--max-samples: %ld is negative", max_samples);
    if (pop) return open_population(c, pop, s);
    return load_data(c, data, max_samples, seed, data_max_dim, why, s);
}

/* --model linear (the data as they are, through open_source) or a kernel machine (with --data). */
static int open_model_source(const cli_command *c, const char *data, const char *pop, const char *model, long max_samples,
                             int rows, int max_points, uint64_t seed, int data_max_dim, const char *why, source *s)
{
    if (!strcmp(model, "linear")) return open_source(c, data, pop, max_samples, seed, data_max_dim, why, s);
    memset(s, 0, sizeof *s);
    if (!data || pop) return cli_usage_error(c, "--model %s needs --data (and no --population)", model);
    if (max_samples < 0) return cli_usage_error(c, "--max-samples: %ld is negative", max_samples);
    return load_kernel_features(c, data, model, max_samples, rows, max_points, seed, s);
}

static int source_constants(const cli_command *c, const source *s, int m, lm_constants *k)
{
    lm_status st = s->mo.kind == LM_MOMENTS_DATA ? lm_linreg_constants(s->X, s->mo.n, s->mo.d, m, k)
                                                 : lm_moments_constants(&s->mo, m, k);
    return st ? cli_fail(c->command, st) : 0;
}

/* Prints the object on one line (numbers that are not finite as null) and frees it. */
static void print_json(cJSON *o)
{
    cli_print_json(o);
    cJSON_Delete(o);
}

typedef struct {
    const char *key;
    double v;
} json_field;

static void add_fields(cJSON *o, const json_field *f, int n)
{
    for (int i = 0; i < n; i++) cJSON_AddNumberToObject(o, f[i].key, f[i].v);
}

/* ---- linmass constants ---- */

/* Where the theory's assumptions fail (lm_constants_warnings), said on stderr. */
typedef struct {
    int has_floor;
    double floor, zero; /* the least-squares loss floor and the loss at w = 0 (data with targets) */
    char line[LM_MAX_WARNINGS][LM_WARNING_LEN];
    int n;
} assumptions;

static int check_assumptions(const cli_command *c, const source *s, const lm_constants *k, assumptions *a)
{
    memset(a, 0, sizeof *a);
    if (s->Y) {
        lm_status st = lm_linreg_residual(s->X, s->Y, s->mo.n, s->mo.d, s->k, &a->floor, &a->zero);
        if (st) return cli_fail(c->command, st);
        a->has_floor = 1;
    }
    a->n = lm_constants_warnings(k, a->has_floor ? a->floor : -1, a->zero, a->line);
    for (int i = 0; i < a->n; i++) fprintf(stderr, "linmass constants: warning: %s\n", a->line[i]);
    return 0;
}

static void constants_json(const source *s, const lm_constants *k, const assumptions *a)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "source", s->label);
    add_fields(o, (json_field[]){{"d", k->d}, {"rank", k->rank}, {"batch", k->m}}, 3);
    if (!s->population) cJSON_AddNumberToObject(o, "n", s->mo.n);
    json_field f[] = {
        {"L", k->L}, {"mu", k->mu}, {"trace", k->trace}, {"kappa", k->kappa}, {"L1", k->L1}, {"L1_bound", k->L1_bound},
        {"kappa_1", k->kappa_1}, {"kappa_tilde", k->kappa_tilde}, {"kappa_tilde_bound", k->kappa_tilde_bound},
        {"L_m", k->L_m}, {"kappa_m", k->kappa_m}, {"kappa_tilde_m", k->kappa_tilde_m}, {"sgd_lr", k->sgd_lr},
        {"sgd_rate", k->sgd_rate}, {"mass_eta1", k->mass_eta1}, {"mass_eta2", k->mass_eta2},
        {"mass_gamma", k->mass_gamma}, {"mass_eta", k->mass_eta}, {"mass_alpha", k->mass_alpha},
        {"mass_kappa_tilde", k->mass_kappa_tilde}, {"mass_delta", k->mass_delta}, {"mass_speed", k->mass_speed},
        {"mass_rate", k->mass_rate}, {"m1_star", k->m1_star}, {"m2_star", k->m2_star},
    };
    add_fields(o, f, sizeof f / sizeof *f);
    if (a->has_floor) add_fields(o, (json_field[]){{"ls_floor", a->floor}, {"ls_loss_at_zero", a->zero}}, 2);
    cJSON *w = cJSON_AddArrayToObject(o, "warnings");
    for (int i = 0; i < a->n; i++) cJSON_AddItemToArray(w, cJSON_CreateString(a->line[i]));
    print_json(o);
}

static void constants_text(const source *s, const lm_constants *k, const assumptions *a)
{
    printf("linear regression constants of %s, float64\n", s->label);
    printf("  d %d, rank(H) %d, tr H %.6g\n", k->d, k->rank, k->trace);
    printf("  L            %-14.6g lambda_max(H)\n", k->L);
    printf("  mu           %-14.6g smallest non-zero eigenvalue of H\n", k->mu);
    printf("  kappa        %-14.6g L/mu\n", k->kappa);
    if (isfinite(k->L1_bound))
        printf("  L1           %-14.6g exact  (bound max|x|^2: %.6g)\n", k->L1, k->L1_bound);
    else
        printf("  L1           %-14.6g exact, population\n", k->L1);
    printf("  kappa_1      %-14.6g L1/mu\n", k->kappa_1);
    if (isfinite(k->kappa_tilde_bound))
        printf("  kappa-tilde  %-14.6g exact  (bound max x^T H^+ x: %.6g)\n", k->kappa_tilde, k->kappa_tilde_bound);
    else
        printf("  kappa-tilde  %-14.6g exact, population\n", k->kappa_tilde);
    if (a->has_floor)
        printf("  least-squares floor %.6g  (%.3g of the loss at w = 0; 0 when the data are interpolated)\n", a->floor,
               a->floor / a->zero);
    printf("batch m = %d (--batch): the constants, steps and rates below are for mini-batches of %d; linmass train's\n"
           "  default --batch is 64, and train --auto uses its own --batch\n", k->m, k->m);
    printf("  L_m          %-14.6g L1/m + (m-1) L/m\n", k->L_m);
    printf("  kappa_m      %-14.6g L_m/mu\n", k->kappa_m);
    printf("  kappa-tilde_m %-13.6g kappa-tilde/m + (m-1)/m\n", k->kappa_tilde_m);
    printf("SGD   step 1/L_m = %.6g   rate 1 - 1/kappa_m = %.8g\n", k->sgd_lr, k->sgd_rate);
    printf("MaSS  eta1 %.6g  eta2 %.6g  gamma %.6g\n", k->mass_eta1, k->mass_eta2, k->mass_gamma);
    printf("      authors' form: eta %.6g  alpha %.6g  kappa-tilde %.6g  (delta %.6g)\n", k->mass_eta, k->mass_alpha,
           k->mass_kappa_tilde, k->mass_delta);
    printf("      rate 1 - 1/sqrt(kappa_m kappa-tilde_m) = %.8g  (speed-up over SGD %.3gx)\n", k->mass_rate,
           k->mass_speed * k->kappa_m);
    printf("critical batch sizes  m1* = %.6g  m2* = %.6g\n", k->m1_star, k->m2_star);
}

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
    cli_command c = {"constants", "linmass constants --data SRC [--model linear|kernel:...] | --population SPEC [--batch m] [--max-samples N] [--json]",
                     "The constants of linear regression on square loss (1/n) sum 1/2 (<w, x_i> - y_i)^2 "
                     "(docs/theory.md §2.1-2.2), in float64: L, mu, L1, kappa, kappa-tilde, their batch-m versions, "
                     "the optimal SGD step and the MaSS hyper-parameters with their rates, and the critical batch "
                     "sizes.",
                     opts, sizeof opts / sizeof *opts, population_help, NULL, 0, 0};
    int rc = cli_parse(&c, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    if (m < 1) return cli_usage_error(&c, "--batch: %d is not >= 1", m);
    if (kernel_rows < 2 || kernel_rows > MAX_DATA_DIM)
        return cli_usage_error(&c, "--kernel-samples: %d is not in 2..%d", kernel_rows, MAX_DATA_DIM);
    source s = {0};
    rc = open_model_source(&c, data, pop, model, max_samples, kernel_rows, 0, seed, MAX_DATA_DIM, "", &s);
    lm_constants k;
    assumptions a;
    if (!rc) rc = source_constants(&c, &s, m, &k);
    if (!rc) rc = check_assumptions(&c, &s, &k, &a);
    if (!rc) {
        if (json) constants_json(&s, &k, &a);
        else constants_text(&s, &k, &a);
    }
    source_free(&s);
    return rc;
}

/* ---- linmass theory ---- */

typedef struct {
    lm_theory_method method;
    const char *optim;
    int m, json, grid, best, threads;
    double lr, eta1, eta2, gamma, alpha, kt;
    int g_lr, g_eta1, g_eta2, g_gamma, g_alpha, g_kt; /* given on the command line */
} theory_args;

static int bad_real(const cli_command *c, int given, const char *name, double v, double lo, int lo_open, double hi,
                    int hi_open, const char *range)
{
    if (given && (!isfinite(v) || (lo_open ? v <= lo : v < lo) || (hi_open ? v >= hi : v > hi)))
        return cli_usage_error(c, "--%s: %g is not in %s", name, v, range);
    return 0;
}

/* The hyper-parameter options: each in its range, and only those the method has. */
static int check_theory_args(const cli_command *c, theory_args *a)
{
    int rc;
    if ((rc = bad_real(c, a->g_lr, "lr", a->lr, 0, 1, INFINITY, 0, "(0, inf)")) ||
        (rc = bad_real(c, a->g_eta1, "eta1", a->eta1, 0, 1, INFINITY, 0, "(0, inf)")) ||
        (rc = bad_real(c, a->g_eta2, "eta2", a->eta2, 0, 0, INFINITY, 0, "[0, inf)")) ||
        (rc = bad_real(c, a->g_gamma, "gamma", a->gamma, 0, 0, 1, 1, "[0, 1)")) ||
        (rc = bad_real(c, a->g_alpha, "alpha", a->alpha, 0, 1, 1, 1, "(0, 1)")) ||
        (rc = bad_real(c, a->g_kt, "kappa-tilde", a->kt, 1, 0, INFINITY, 0, "[1, inf)")))
        return rc;
    int any_hp = a->g_lr || a->g_eta1 || a->g_eta2 || a->g_gamma || a->g_alpha || a->g_kt;
    if (a->best && any_hp)
        return cli_usage_error(c, "--best tunes the hyper-parameters itself; drop --lr/--eta1/--eta2/--gamma/--alpha/--kappa-tilde");
    if (a->best) return 0;
    if (a->method != LM_THEORY_MASS && (a->g_eta2 || a->g_alpha || a->g_kt))
        return cli_usage_error(c, "--%s belongs to mass, not %s", a->g_eta2 ? "eta2" : a->g_alpha ? "alpha" : "kappa-tilde",
                               a->optim);
    if (a->method == LM_THEORY_SGD && a->g_gamma) return cli_usage_error(c, "--gamma belongs to nesterov and mass, not sgd");
    if (a->method == LM_THEORY_NESTEROV && !a->g_gamma) return cli_usage_error(c, "nesterov needs --gamma");
    if (a->method == LM_THEORY_MASS && (a->g_alpha || a->g_kt) && (a->g_eta1 || a->g_eta2 || a->g_gamma))
        return cli_usage_error(c, "mix of MaSS forms: give --lr --alpha --kappa-tilde, or --eta1 --eta2 --gamma");
    return 0;
}

static int parse_theory_args(const cli_command *c, theory_args *a)
{
    if (!strcmp(a->optim, "sgd")) a->method = LM_THEORY_SGD;
    else if (!strcmp(a->optim, "nesterov")) a->method = LM_THEORY_NESTEROV;
    else if (!strcmp(a->optim, "mass")) a->method = LM_THEORY_MASS;
    else return cli_usage_error(c, "--optim: '%s' is not sgd, nesterov or mass", a->optim);
    if (a->m < 1) return cli_usage_error(c, "--batch: %d is not >= 1", a->m);
    if (a->grid != 0 && a->grid < 5) return cli_usage_error(c, "--grid: %d is not 0 or >= 5", a->grid);
    if (a->threads < 0) return cli_usage_error(c, "--threads: %d is negative", a->threads);
    a->g_lr = cli_given(c, "lr"), a->g_eta1 = cli_given(c, "eta1"), a->g_eta2 = cli_given(c, "eta2");
    a->g_gamma = cli_given(c, "gamma"), a->g_alpha = cli_given(c, "alpha"), a->g_kt = cli_given(c, "kappa-tilde");
    if (a->g_lr && a->g_eta1) return cli_usage_error(c, "--lr and --eta1 are the same step; give one");
    return check_theory_args(c, a);
}

/* The hyper-parameters given, with the section 2.2 values for the rest. */
static lm_theory_hp resolve_hp(const theory_args *a, const lm_constants *k)
{
    double step = a->g_lr ? a->lr : a->g_eta1 ? a->eta1 : 0;
    if (a->method != LM_THEORY_MASS)
        return (lm_theory_hp){step ? step : k->sgd_lr, 0, a->method == LM_THEORY_NESTEROV ? a->gamma : 0};
    if (a->g_alpha || a->g_kt) {
        lm_mass_hp h = lm_mass_from_authors((lm_mass3_hp){step ? step : k->mass_eta, a->g_alpha ? a->alpha : k->mass_alpha,
                                                          a->g_kt ? a->kt : k->mass_kappa_tilde, 0});
        return (lm_theory_hp){h.eta1, h.eta2, h.gamma};
    }
    return (lm_theory_hp){step ? step : k->mass_eta1, a->g_eta2 ? a->eta2 : k->mass_eta2,
                          a->g_gamma ? a->gamma : k->mass_gamma};
}

static int theory_rate(const theory_args *a, const source *s, const lm_constants *k)
{
    lm_theory_hp hp = resolve_hp(a, k);
    double rho = NAN;
    lm_status st = lm_theory_rate(&s->mo, a->method, hp, a->m, &rho);
    if (st) return cli_fail("theory", st);
    int diverges = !(rho < 1), mass = a->method == LM_THEORY_MASS;
    double speed = -log(rho);
    if (a->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "source", s->label);
        cJSON_AddStringToObject(o, "optim", a->optim);
        add_fields(o, (json_field[]){{"batch", a->m}, {"eta1", hp.eta1}, {"eta2", hp.eta2}, {"gamma", hp.gamma}, {"rho", rho}}, 5);
        cJSON_AddBoolToObject(o, "diverges", diverges);
        add_fields(o, (json_field[]){{"speed", speed}, {"sgd_rate_theory", k->sgd_rate}, {"mass_rate_theory", k->mass_rate},
                                     {"kappa_m", k->kappa_m}, {"kappa_tilde_m", k->kappa_tilde_m}}, 5);
        print_json(o);
        return 0;
    }
    printf("%s on %s, batch %d\n", lm_theory_method_name(a->method), s->label, a->m);
    printf("  eta1 %.6g", hp.eta1);
    if (mass) printf("  eta2 %.6g", hp.eta2);
    if (a->method != LM_THEORY_SGD) printf("  gamma %.6g", hp.gamma);
    printf("\n  rho %.8g per step (E|w - w*|^2)%s\n", rho, diverges ? "  DIVERGES (rho >= 1)" : "");
    if (!diverges) printf("  speed -log(rho) %.6g: a factor 10 every %.4g steps\n", speed, log(10) / speed);
    printf("  section 2.2 rate %s %.8g (%s)\n", mass ? "1 - 1/sqrt(kappa_m kappa-tilde_m)" : "1 - 1/kappa_m",
           mass ? k->mass_rate : k->sgd_rate, mass ? "MaSS" : "SGD, for comparison");
    return 0;
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

static void best_json(const source *s, const theory_args *a, int grid, const lm_theory_best *b, const lm_constants *k)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "source", s->label);
    add_fields(o, (json_field[]){{"batch", a->m}, {"grid", grid}}, 2);
    double s0 = -log(b[0].rho);
    for (int i = 0; i < 3; i++) {
        cJSON *m = cJSON_AddObjectToObject(o, lm_theory_method_name((lm_theory_method)i));
        double speed = -log(b[i].rho);
        json_field f[] = {{"rho", b[i].rho},          {"speed", speed},         {"speedup", speed / s0},
                          {"eta1", b[i].hp.eta1},     {"eta2", b[i].hp.eta2},   {"gamma", b[i].hp.gamma},
                          {"evaluations", b[i].evaluations}, {"closed_form_rho", b[i].closed_rho}};
        add_fields(m, f, sizeof f / sizeof *f);
        cJSON_AddBoolToObject(m, "beats_closed_form", b[i].beats_closed_form);
    }
    add_fields(o, (json_field[]){{"sgd_rate_theory", k->sgd_rate}, {"mass_rate_theory", k->mass_rate}}, 2);
    print_json(o);
}

static void best_text(const source *s, const theory_args *a, int grid, const lm_theory_best *b, const lm_constants *k)
{
    printf("best-tuned rates on %s, batch %d (grid %d with the closed-form points, then a local search)\n", s->label,
           a->m, grid);
    printf("  %-9s %-12s %-11s %-9s %-11s %-11s %-9s %s\n", "method", "rho", "-log(rho)", "vs SGD", "eta1", "eta2", "gamma",
           "closed-form rho");
    double s0 = -log(b[0].rho);
    for (int i = 0; i < 3; i++) {
        printf("  %-9s %-12.8f %-11.4g %-9.3g %-11.4g %-11.4g %-9.6g ", lm_theory_method_name((lm_theory_method)i), b[i].rho,
               -log(b[i].rho), -log(b[i].rho) / s0, b[i].hp.eta1, b[i].hp.eta2, b[i].hp.gamma);
        if (isnan(b[i].closed_rho)) printf("-\n");
        else printf("%.8f%s\n", b[i].closed_rho, b[i].beats_closed_form ? "" : " (tuning did not beat it)");
    }
    printf("section 2.2 rates: SGD 1 - 1/kappa_m = %.8g, MaSS 1 - 1/sqrt(kappa_m kappa-tilde_m) = %.8g\n", k->sgd_rate,
           k->mass_rate);
}

static int theory_best(const theory_args *a, const source *s, const lm_constants *k)
{
    best_progress bp = {cli_stderr_is_tty(), cli_now()};
    lm_theory_search_opts so = {a->grid, a->threads ? a->threads : lm_num_cores(), on_best_progress, &bp};
    lm_theory_best b[3];
    lm_status st = lm_theory_tune(&s->mo, a->m, &so, b);
    if (bp.tty) fprintf(stderr, "\r\033[K");
    if (st) return cli_fail("theory", st);
    int grid = a->grid ? a->grid : lm_theory_default_grid(&s->mo);
    if (a->json) best_json(s, a, grid, b, k);
    else best_text(s, a, grid, b, k);
    return 0;
}

int cmd_theory(int argc, char **argv)
{
    const char *data = NULL, *pop = NULL, *model = "linear";
    int max_samples = 0;
    uint64_t seed = 0;
    theory_args a = {.optim = "mass"};
    cli_opt opts[] = {
        {"data", OPT_STRING, &data, NULL, "data source: its training split, n x d with d <= 30", 0},
        {"population", OPT_STRING, &pop, NULL, "exact population instead of data: gaussian[:cond=C,d=D] or decoupled[:...]", 0},
        {"optim", OPT_STRING, &a.optim, "mass", "sgd, nesterov or mass", 0},
        {"lr", OPT_DOUBLE, &a.lr, NULL, "step: SGD's and Nesterov's eta1, MaSS's eta (default 1/L_m)", 0},
        {"eta1", OPT_DOUBLE, &a.eta1, NULL, "same as --lr (MaSS two-sequence form)", 0},
        {"eta2", OPT_DOUBLE, &a.eta2, NULL, "MaSS's compensation step (default from the constants)", 0},
        {"gamma", OPT_DOUBLE, &a.gamma, NULL, "momentum in [0,1) (Nesterov: required; MaSS: default from the constants)", 0},
        {"alpha", OPT_DOUBLE, &a.alpha, NULL, "MaSS authors' form: alpha in (0,1)", 0},
        {"kappa-tilde", OPT_DOUBLE, &a.kt, NULL, "MaSS authors' form: kappa-tilde >= 1", 0},
        {"batch", OPT_INT, &a.m, "1", "mini-batch size m", 0},
        {"best", OPT_FLAG, &a.best, NULL, "tune every method (a grid with the closed-form points, then a local search) and report the best rates and speed-ups over SGD", 0},
        {"grid", OPT_INT, &a.grid, "0", "grid points per hyper-parameter for --best (>= 5; 0: 12 for small problems, fewer as d grows)", 0},
        {"threads", OPT_INT, &a.threads, "0", "--best: evaluations in parallel (0: all cores)", 0},
        {"max-samples", OPT_INT, &max_samples, "0", "use only the first N training samples (0: all)", 0},
        {"model", OPT_STRING, &model, "linear", "linear, or kernel:gaussian:BW / kernel:laplacian:BW (with --data): kernel regression in the RKHS, exact on at most 30 training points", 0},
        {"seed", OPT_U64, &seed, "0", "seed of synthetic data sources", 0},
        {"json", OPT_FLAG, &a.json, NULL, "print one JSON object", 0},
    };
    cli_command c = {"theory",
                     "linmass theory --data SRC [--model linear|kernel:...] | --population SPEC --optim sgd|nesterov|mass [--lr | --eta1 --eta2 "
                     "--gamma | --alpha --kappa-tilde] [--batch m] [--best [--grid G] [--threads T]] [--json]",
                     "The exact asymptotic contraction factor rho of E|w - w*|^2 per step of SGD, Nesterov or MaSS "
                     "on linear regression with an interpolating w* (docs/theory.md §2.3): the spectral radius of the "
                     "expected second-moment dynamics. rho >= 1 diverges; -log(rho) is the speed. Defaults are the "
                     "section 2.2 hyper-parameters from the constants.",
                     opts, sizeof opts / sizeof *opts, population_help, NULL, 0, 0};
    int rc = cli_parse(&c, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    if ((rc = parse_theory_args(&c, &a))) return rc;
    source s;
    rc = open_model_source(&c, data, pop, model, max_samples, LM_THEORY_MAX_DIM, LM_THEORY_MAX_DIM, seed,
                           LM_THEORY_MAX_DIM, " (the second-moment operator has d(2d+1) rows); use --population for larger d",
                           &s);
    if (!rc && s.population && s.mo.d > LM_THEORY_MAX_DIAG_DIM)
        rc = cli_usage_error(&c, "population d = %d: theory allows at most %d", s.mo.d, LM_THEORY_MAX_DIAG_DIM);
    lm_constants k;
    if (!rc) rc = source_constants(&c, &s, a.m, &k);
    if (!rc) rc = a.best ? theory_best(&a, &s, &k) : theory_rate(&a, &s, &k);
    source_free(&s);
    return rc;
}
