/* linmass constants and linmass theory: the float64 linear-regression theory of MaSS
 * (science.md section 2) on a data set's training split or on an exact population. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "linmass/data.h"
#include "linmass/model.h"
#include "linmass/optim.h"
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
    "                                     sigma^2 = logspace(0, -log10 C, D) (science.md 2.4)\n"
    "Populations are exact (no sampling); theory allows d <= 30 for data and d <= 400 for\n"
    "populations.\n";

/* A data distribution: a loaded sample (DATA) or a population, with its moments. */
typedef struct {
    lm_moments mo;
    double *X, *diag; /* owned */
    double *H;        /* owned, gaussian populations */
    char label[160];
    int population;
} source;

static void source_free(source *s)
{
    free(s->X), free(s->diag), free(s->H);
}

/* Parse "gaussian:cond=100,d=2" or "decoupled:..." */
static int parse_population(const cli_command *c, const char *spec, source *s)
{
    const char *colon = strchr(spec, ':');
    size_t klen = colon ? (size_t)(colon - spec) : strlen(spec);
    lm_moments_kind kind;
    if (klen == 8 && !strncmp(spec, "gaussian", 8)) kind = LM_MOMENTS_GAUSSIAN;
    else if (klen == 9 && !strncmp(spec, "decoupled", 9)) kind = LM_MOMENTS_DECOUPLED;
    else return cli_usage_error(c, "--population: '%s' is not gaussian[:cond=C,d=D] or decoupled[:cond=C,d=D]", spec);
    double cond = 100;
    long d = 2;
    if (colon) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", colon + 1);
        for (char *save = NULL, *tok = strtok_r(buf, ",:", &save); tok; tok = strtok_r(NULL, ",:", &save)) {
            char *eq = strchr(tok, '='), *end;
            if (!eq) return cli_usage_error(c, "--population: '%s' is not KEY=VALUE", tok);
            *eq = 0;
            if (!strcmp(tok, "cond")) {
                cond = strtod(eq + 1, &end);
                if (end == eq + 1 || *end || !isfinite(cond) || cond < 1)
                    return cli_usage_error(c, "--population: cond '%s' is not a number >= 1", eq + 1);
            } else if (!strcmp(tok, "d")) {
                d = strtol(eq + 1, &end, 10);
                if (end == eq + 1 || *end || d < 1 || d > MAX_DATA_DIM)
                    return cli_usage_error(c, "--population: d '%s' is not an integer in 1..%d", eq + 1, MAX_DATA_DIM);
            } else {
                return cli_usage_error(c, "--population: unknown key '%s' (cond, d)", tok);
            }
        }
    }
    s->diag = malloc(sizeof *s->diag * (size_t)d);
    if (!s->diag) return cli_usage_error(c, "--population: no memory");
    for (long k = 0; k < d; k++) s->diag[k] = d == 1 ? 1.0 : pow(cond, -(double)k / (double)(d - 1));
    memset(&s->mo, 0, sizeof s->mo);
    s->mo.kind = kind;
    s->mo.d = (int)d;
    if (kind == LM_MOMENTS_GAUSSIAN) {
        s->H = calloc((size_t)d * d, sizeof *s->H);
        if (!s->H) return cli_usage_error(c, "--population: no memory");
        for (long k = 0; k < d; k++) s->H[k * d + k] = s->diag[k];
        s->mo.H = s->H;
    } else {
        s->mo.sigma2 = s->diag;
    }
    s->population = 1;
    snprintf(s->label, sizeof s->label, "%s:cond=%g,d=%ld", kind == LM_MOMENTS_GAUSSIAN ? "gaussian" : "decoupled", cond, d);
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
    s->X = malloc(sizeof *s->X * n * d);
    if (!s->X) {
        lm_dataset_free(ds);
        return cli_usage_error(c, "%s: no memory for %zu x %zu doubles", src, n, d);
    }
    for (size_t i = 0; i < n * d; i++) s->X[i] = ds->x[i];
    memset(&s->mo, 0, sizeof s->mo);
    s->mo.kind = LM_MOMENTS_DATA;
    s->mo.d = (int)d;
    s->mo.n = (int)n;
    s->mo.X = s->X;
    snprintf(s->label, sizeof s->label, "%s (train, n=%zu, d=%zu)", src, n, d);
    lm_dataset_free(ds);
    return 0;
}

/* Kernel models: the constants of the kernel machine's features, rows of the kernel matrix on a
 * subsample of at most `rows` training points (lm_model_linear_features, as --auto uses). */
static int load_kernel_features(const cli_command *c, const char *src, const char *model, long max_samples,
                                int rows, uint64_t seed, source *s)
{
    lm_dataset *ds = NULL;
    lm_model *m = NULL;
    char spec[256];
    lm_status st = lm_data_load(src, LM_SPLIT_TRAIN, seed, &ds);
    if (st) return cli_fail(c->command, st);
    size_t n = ds->n;
    if (max_samples > 0 && (size_t)max_samples < n) n = (size_t)max_samples;
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
    snprintf(s->label, sizeof s->label, "%s features of %s (train, %zu centres, subsample %d)", model, src, n, r);
    return 0;
}

static int open_source(const cli_command *c, const char *data, const char *pop, long max_samples, uint64_t seed,
                       int data_max_dim, const char *why, source *s)
{
    memset(s, 0, sizeof *s);
    if (!!data == !!pop) return cli_usage_error(c, "give exactly one of --data SRC and --population SPEC");
    if (max_samples < 0) return cli_usage_error(c, "--max-samples: %ld is negative", max_samples);
    if (pop) return parse_population(c, pop, s);
    return load_data(c, data, max_samples, seed, data_max_dim, why, s);
}

static int source_constants(const cli_command *c, const source *s, int m, lm_constants *k)
{
    lm_status st;
    if (s->mo.kind == LM_MOMENTS_DATA) st = lm_linreg_constants(s->X, s->mo.n, s->mo.d, m, k);
    else if (s->mo.kind == LM_MOMENTS_GAUSSIAN) st = lm_gaussian_constants(s->H, s->mo.d, m, k);
    else st = lm_moments_constants(&s->mo, m, k);
    return st ? cli_fail(c->command, st) : 0;
}

/* A JSON number, or null for Inf/NaN. */
static void jnum(const char *key, double v, int comma)
{
    if (isfinite(v)) printf("\"%s\":%.17g%s", key, v, comma ? "," : "");
    else printf("\"%s\":null%s", key, comma ? "," : "");
}

static void jstr(const char *key, const char *v)
{
    printf("\"%s\":\"", key);
    for (const char *p = v; *p; p++) {
        if (*p == '"' || *p == '\\') putchar('\\');
        if ((unsigned char)*p >= 0x20) putchar(*p);
    }
    printf("\",");
}

/* ---- linmass constants ---- */

int cmd_constants(int argc, char **argv)
{
    const char *data = NULL, *pop = NULL;
    int m = 1, json = 0;
    long max_samples = 0;
    uint64_t seed = 0;
    int ms_int = 0, kernel_rows = 2000;
    const char *model = "linear";
    cli_opt opts[] = {
        {"data", OPT_STRING, &data, NULL, "data source: its training split, flattened to n x d", 0},
        {"population", OPT_STRING, &pop, NULL, "exact population instead of data: gaussian[:cond=C,d=D] or decoupled[:...]", 0},
        {"batch", OPT_INT, &m, "1", "mini-batch size m", 0},
        {"max-samples", OPT_INT, &ms_int, "0", "use only the first N training samples (0: all)", 0},
        {"model", OPT_STRING, &model, "linear", "linear, or kernel:gaussian:BW / kernel:laplacian:BW (with --data)", 0},
        {"kernel-samples", OPT_INT, &kernel_rows, "2000", "kernels: rows of the kernel matrix, a random subsample", 0},
        {"seed", OPT_U64, &seed, "0", "seed of synthetic data sources and of the kernel subsample", 0},
        {"json", OPT_FLAG, &json, NULL, "print one JSON object", 0},
    };
    cli_command c = {"constants", "linmass constants --data SRC [--model linear|kernel:...] | --population SPEC [--batch m] [--max-samples N] [--json]",
                     "The constants of linear regression on square loss (1/n) sum 1/2 (<w, x_i> - y_i)^2 "
                     "(science.md 2.1-2.2), in float64: L, mu, L1, kappa, kappa-tilde, their batch-m versions, "
                     "the optimal SGD step and the MaSS hyper-parameters with their rates, and the critical batch "
                     "sizes.",
                     opts, sizeof opts / sizeof *opts, population_help, NULL, 0, 0};
    int rc = cli_parse(&c, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    if (m < 1) return cli_usage_error(&c, "--batch: %d is not >= 1", m);
    max_samples = ms_int;
    if (kernel_rows < 2 || kernel_rows > MAX_DATA_DIM)
        return cli_usage_error(&c, "--kernel-samples: %d is not in 2..%d", kernel_rows, MAX_DATA_DIM);
    source s;
    if (strcmp(model, "linear")) {
        if (!data || pop) return cli_usage_error(&c, "--model %s needs --data (and no --population)", model);
        if (max_samples < 0) return cli_usage_error(&c, "--max-samples: %ld is negative", max_samples);
        memset(&s, 0, sizeof s);
        rc = load_kernel_features(&c, data, model, max_samples, kernel_rows, seed, &s);
    } else {
        rc = open_source(&c, data, pop, max_samples, seed, MAX_DATA_DIM, "", &s);
    }
    lm_constants k;
    if (!rc) rc = source_constants(&c, &s, m, &k);
    if (rc) {
        source_free(&s);
        return rc;
    }
    if (json) {
        printf("{");
        jstr("source", s.label);
        printf("\"d\":%d,\"rank\":%d,\"batch\":%d,", k.d, k.rank, k.m);
        if (!s.population) printf("\"n\":%d,", s.mo.n);
        jnum("L", k.L, 1), jnum("mu", k.mu, 1), jnum("trace", k.trace, 1), jnum("kappa", k.kappa, 1);
        jnum("L1", k.L1, 1), jnum("L1_bound", k.L1_bound, 1), jnum("kappa_1", k.kappa_1, 1);
        jnum("kappa_tilde", k.kappa_tilde, 1), jnum("kappa_tilde_bound", k.kappa_tilde_bound, 1);
        jnum("L_m", k.L_m, 1), jnum("kappa_m", k.kappa_m, 1), jnum("kappa_tilde_m", k.kappa_tilde_m, 1);
        jnum("sgd_lr", k.sgd_lr, 1), jnum("sgd_rate", k.sgd_rate, 1);
        jnum("mass_eta1", k.mass_eta1, 1), jnum("mass_eta2", k.mass_eta2, 1), jnum("mass_gamma", k.mass_gamma, 1);
        jnum("mass_eta", k.mass_eta, 1), jnum("mass_alpha", k.mass_alpha, 1);
        jnum("mass_kappa_tilde", k.mass_kappa_tilde, 1), jnum("mass_delta", k.mass_delta, 1);
        jnum("mass_speed", k.mass_speed, 1), jnum("mass_rate", k.mass_rate, 1);
        jnum("m1_star", k.m1_star, 1), jnum("m2_star", k.m2_star, 0);
        printf("}\n");
    } else {
        printf("linear regression constants of %s, float64\n", s.label);
        printf("  d %d, rank(H) %d, tr H %.6g\n", k.d, k.rank, k.trace);
        printf("  L            %-14.6g lambda_max(H)\n", k.L);
        printf("  mu           %-14.6g smallest non-zero eigenvalue of H\n", k.mu);
        printf("  kappa        %-14.6g L/mu\n", k.kappa);
        if (isfinite(k.L1_bound))
            printf("  L1           %-14.6g exact  (bound max|x|^2: %.6g)\n", k.L1, k.L1_bound);
        else
            printf("  L1           %-14.6g exact, population\n", k.L1);
        printf("  kappa_1      %-14.6g L1/mu\n", k.kappa_1);
        if (isfinite(k.kappa_tilde_bound))
            printf("  kappa-tilde  %-14.6g exact  (bound max x^T H^+ x: %.6g)\n", k.kappa_tilde, k.kappa_tilde_bound);
        else
            printf("  kappa-tilde  %-14.6g exact, population\n", k.kappa_tilde);
        printf("batch m = %d\n", k.m);
        printf("  L_m          %-14.6g L1/m + (m-1) L/m\n", k.L_m);
        printf("  kappa_m      %-14.6g L_m/mu\n", k.kappa_m);
        printf("  kappa-tilde_m %-13.6g kappa-tilde/m + (m-1)/m\n", k.kappa_tilde_m);
        printf("SGD   step 1/L_m = %.6g   rate 1 - 1/kappa_m = %.8g\n", k.sgd_lr, k.sgd_rate);
        printf("MaSS  eta1 %.6g  eta2 %.6g  gamma %.6g\n", k.mass_eta1, k.mass_eta2, k.mass_gamma);
        printf("      authors' form: eta %.6g  alpha %.6g  kappa-tilde %.6g  (delta %.6g)\n", k.mass_eta,
               k.mass_alpha, k.mass_kappa_tilde, k.mass_delta);
        printf("      rate 1 - 1/sqrt(kappa_m kappa-tilde_m) = %.8g  (speed-up over SGD %.3gx)\n", k.mass_rate,
               k.mass_speed * k.kappa_m);
        printf("critical batch sizes  m1* = %.6g  m2* = %.6g\n", k.m1_star, k.m2_star);
    }
    source_free(&s);
    return 0;
}

/* ---- linmass theory ---- */

static int bad_real(const cli_command *c, const char *name, double v, double lo, int lo_open, double hi, int hi_open,
                    const char *range)
{
    if (!isfinite(v) || (lo_open ? v <= lo : v < lo) || (hi_open ? v >= hi : v > hi))
        return cli_usage_error(c, "--%s: %g is not in %s", name, v, range);
    return 0;
}

int cmd_theory(int argc, char **argv)
{
    const char *data = NULL, *pop = NULL, *optim = "mass";
    int m = 1, json = 0, grid = 12, best = 0, ms_int = 0;
    uint64_t seed = 0;
    double lr = 0, eta1 = 0, eta2 = 0, gamma = 0, alpha = 0, kt = 0;
    cli_opt opts[] = {
        {"data", OPT_STRING, &data, NULL, "data source: its training split, n x d with d <= 30", 0},
        {"population", OPT_STRING, &pop, NULL, "exact population instead of data: gaussian[:cond=C,d=D] or decoupled[:...]", 0},
        {"optim", OPT_STRING, &optim, "mass", "sgd, nesterov or mass", 0},
        {"lr", OPT_DOUBLE, &lr, NULL, "step: SGD's and Nesterov's eta1, MaSS's eta (default 1/L_m)", 0},
        {"eta1", OPT_DOUBLE, &eta1, NULL, "same as --lr (MaSS two-sequence form)", 0},
        {"eta2", OPT_DOUBLE, &eta2, NULL, "MaSS's compensation step (default from the constants)", 0},
        {"gamma", OPT_DOUBLE, &gamma, NULL, "momentum in [0,1) (Nesterov: required; MaSS: default from the constants)", 0},
        {"alpha", OPT_DOUBLE, &alpha, NULL, "MaSS authors' form: alpha in (0,1)", 0},
        {"kappa-tilde", OPT_DOUBLE, &kt, NULL, "MaSS authors' form: kappa-tilde >= 1", 0},
        {"batch", OPT_INT, &m, "1", "mini-batch size m", 0},
        {"best", OPT_FLAG, &best, NULL, "tune every method on a grid and report the best rates and speed-ups over SGD", 0},
        {"grid", OPT_INT, &grid, "12", "grid points per hyper-parameter for --best (>= 5)", 0},
        {"max-samples", OPT_INT, &ms_int, "0", "use only the first N training samples (0: all)", 0},
        {"seed", OPT_U64, &seed, "0", "seed of synthetic data sources", 0},
        {"json", OPT_FLAG, &json, NULL, "print one JSON object", 0},
    };
    cli_command c = {"theory",
                     "linmass theory --data SRC | --population SPEC --optim sgd|nesterov|mass [--lr | --eta1 --eta2 "
                     "--gamma | --alpha --kappa-tilde] [--batch m] [--best [--grid G]] [--json]",
                     "The exact asymptotic contraction factor rho of E|w - w*|^2 per step of SGD, Nesterov or MaSS "
                     "on linear regression with an interpolating w* (science.md 2.3): the spectral radius of the "
                     "expected second-moment dynamics. rho >= 1 diverges; -log(rho) is the speed. Defaults are the "
                     "section 2.2 hyper-parameters from the constants.",
                     opts, sizeof opts / sizeof *opts, population_help, NULL, 0, 0};
    int rc = cli_parse(&c, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    lm_theory_method method;
    if (!strcmp(optim, "sgd")) method = LM_THEORY_SGD;
    else if (!strcmp(optim, "nesterov")) method = LM_THEORY_NESTEROV;
    else if (!strcmp(optim, "mass")) method = LM_THEORY_MASS;
    else return cli_usage_error(&c, "--optim: '%s' is not sgd, nesterov or mass", optim);
    if (m < 1) return cli_usage_error(&c, "--batch: %d is not >= 1", m);
    if (grid < 5) return cli_usage_error(&c, "--grid: %d is not >= 5", grid);
    int g_lr = cli_given(&c, "lr"), g_eta1 = cli_given(&c, "eta1"), g_eta2 = cli_given(&c, "eta2");
    int g_gamma = cli_given(&c, "gamma"), g_alpha = cli_given(&c, "alpha"), g_kt = cli_given(&c, "kappa-tilde");
    if (g_lr && g_eta1) return cli_usage_error(&c, "--lr and --eta1 are the same step; give one");
    if (g_lr && (rc = bad_real(&c, "lr", lr, 0, 1, INFINITY, 0, "(0, inf)"))) return rc;
    if (g_eta1 && (rc = bad_real(&c, "eta1", eta1, 0, 1, INFINITY, 0, "(0, inf)"))) return rc;
    if (g_eta2 && (rc = bad_real(&c, "eta2", eta2, 0, 0, INFINITY, 0, "[0, inf)"))) return rc;
    if (g_gamma && (rc = bad_real(&c, "gamma", gamma, 0, 0, 1, 1, "[0, 1)"))) return rc;
    if (g_alpha && (rc = bad_real(&c, "alpha", alpha, 0, 1, 1, 1, "(0, 1)"))) return rc;
    if (g_kt && (rc = bad_real(&c, "kappa-tilde", kt, 1, 0, INFINITY, 0, "[1, inf)"))) return rc;
    if (best && (g_lr || g_eta1 || g_eta2 || g_gamma || g_alpha || g_kt))
        return cli_usage_error(&c, "--best tunes the hyper-parameters itself; drop --lr/--eta1/--eta2/--gamma/--alpha/--kappa-tilde");
    if (!best) {
        if (method != LM_THEORY_MASS && (g_eta2 || g_alpha || g_kt))
            return cli_usage_error(&c, "--%s belongs to mass, not %s", g_eta2 ? "eta2" : g_alpha ? "alpha" : "kappa-tilde", optim);
        if (method == LM_THEORY_SGD && g_gamma) return cli_usage_error(&c, "--gamma belongs to nesterov and mass, not sgd");
        if (method == LM_THEORY_NESTEROV && !g_gamma) return cli_usage_error(&c, "nesterov needs --gamma");
        if (method == LM_THEORY_MASS && (g_alpha || g_kt) && (g_eta1 || g_eta2 || g_gamma))
            return cli_usage_error(&c, "mix of MaSS forms: give --lr --alpha --kappa-tilde, or --eta1 --eta2 --gamma");
    }

    source s;
    rc = open_source(&c, data, pop, ms_int, seed, LM_THEORY_MAX_DIM,
                     " (the second-moment operator has d(2d+1) rows); use --population for larger d", &s);
    if (rc) {
        source_free(&s);
        return rc;
    }
    if (s.population && s.mo.d > LM_THEORY_MAX_DIAG_DIM) {
        source_free(&s);
        return cli_usage_error(&c, "population d = %d: theory allows at most %d", s.mo.d, LM_THEORY_MAX_DIAG_DIM);
    }
    lm_constants k;
    rc = source_constants(&c, &s, m, &k);
    if (rc) {
        source_free(&s);
        return rc;
    }

    if (best) {
        lm_theory_best b[3];
        for (int i = 0; i < 3; i++) {
            lm_status st = lm_theory_best_rate(&s.mo, (lm_theory_method)i, m, grid, &b[i]);
            if (st) {
                source_free(&s);
                return cli_fail("theory", st);
            }
        }
        double s0 = -log(b[0].rho);
        if (json) {
            printf("{");
            jstr("source", s.label);
            printf("\"batch\":%d,\"grid\":%d,", m, grid);
            for (int i = 0; i < 3; i++) {
                const char *nm = i == 0 ? "sgd" : i == 1 ? "nesterov" : "mass";
                printf("\"%s\":{", nm);
                jnum("rho", b[i].rho, 1), jnum("speed", -log(b[i].rho), 1), jnum("speedup", -log(b[i].rho) / s0, 1);
                jnum("eta1", b[i].hp.eta1, 1), jnum("eta2", b[i].hp.eta2, 1), jnum("gamma", b[i].hp.gamma, 1);
                printf("\"evaluations\":%d}%s", b[i].evaluations, i < 2 ? "," : "");
            }
            printf(",");
            jnum("sgd_rate_theory", k.sgd_rate, 1), jnum("mass_rate_theory", k.mass_rate, 0);
            printf("}\n");
        } else {
            printf("best-tuned rates on %s, batch %d (grid %d, then zoom)\n", s.label, m, grid);
            printf("  %-9s %-12s %-11s %-9s %-11s %-11s %-9s\n", "method", "rho", "-log(rho)", "vs SGD", "eta1", "eta2",
                   "gamma");
            for (int i = 0; i < 3; i++)
                printf("  %-9s %-12.8f %-11.4g %-9.3g %-11.4g %-11.4g %-9.6g\n", lm_theory_method_name((lm_theory_method)i),
                       b[i].rho, -log(b[i].rho), -log(b[i].rho) / s0, b[i].hp.eta1, b[i].hp.eta2, b[i].hp.gamma);
            printf("section 2.2 rates: SGD 1 - 1/kappa_m = %.8g, MaSS 1 - 1/sqrt(kappa_m kappa-tilde_m) = %.8g\n",
                   k.sgd_rate, k.mass_rate);
        }
        source_free(&s);
        return 0;
    }

    lm_theory_hp hp = {0, 0, 0};
    double step = g_lr ? lr : g_eta1 ? eta1 : 0;
    if (method == LM_THEORY_SGD) {
        hp.eta1 = step ? step : k.sgd_lr;
    } else if (method == LM_THEORY_NESTEROV) {
        hp.eta1 = step ? step : k.sgd_lr;
        hp.gamma = gamma;
    } else if (g_alpha || g_kt) {
        lm_mass_hp h = lm_mass_from_authors((lm_mass3_hp){step ? step : k.mass_eta, g_alpha ? alpha : k.mass_alpha,
                                                          g_kt ? kt : k.mass_kappa_tilde, 0});
        hp.eta1 = h.eta1, hp.eta2 = h.eta2, hp.gamma = h.gamma;
    } else {
        hp.eta1 = step ? step : k.mass_eta1;
        hp.eta2 = g_eta2 ? eta2 : k.mass_eta2;
        hp.gamma = g_gamma ? gamma : k.mass_gamma;
    }
    double rho = NAN;
    lm_status st = lm_theory_rate(&s.mo, method, hp, m, &rho);
    if (st) {
        source_free(&s);
        return cli_fail("theory", st);
    }
    int diverges = !(rho < 1);
    double speed = -log(rho);
    double theory_rate = method == LM_THEORY_MASS ? k.mass_rate : k.sgd_rate;
    if (json) {
        printf("{");
        jstr("source", s.label);
        jstr("optim", optim);
        printf("\"batch\":%d,", m);
        jnum("eta1", hp.eta1, 1), jnum("eta2", hp.eta2, 1), jnum("gamma", hp.gamma, 1);
        jnum("rho", rho, 1);
        printf("\"diverges\":%s,", diverges ? "true" : "false");
        jnum("speed", speed, 1);
        jnum("sgd_rate_theory", k.sgd_rate, 1), jnum("mass_rate_theory", k.mass_rate, 1);
        jnum("kappa_m", k.kappa_m, 1), jnum("kappa_tilde_m", k.kappa_tilde_m, 0);
        printf("}\n");
    } else {
        printf("%s on %s, batch %d\n", lm_theory_method_name(method), s.label, m);
        printf("  eta1 %.6g", hp.eta1);
        if (method == LM_THEORY_MASS) printf("  eta2 %.6g", hp.eta2);
        if (method != LM_THEORY_SGD) printf("  gamma %.6g", hp.gamma);
        printf("\n  rho %.8g per step (E|w - w*|^2)%s\n", rho, diverges ? "  DIVERGES (rho >= 1)" : "");
        if (!diverges) printf("  speed -log(rho) %.6g: a factor 10 every %.4g steps\n", speed, log(10) / speed);
        printf("  section 2.2 rate %s %.8g (%s)\n", method == LM_THEORY_MASS ? "1 - 1/sqrt(kappa_m kappa-tilde_m)" : "1 - 1/kappa_m",
               theory_rate, method == LM_THEORY_MASS ? "MaSS" : "SGD, for comparison");
    }
    source_free(&s);
    return 0;
}
