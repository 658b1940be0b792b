/* linmass probe hessian|ntk|linearity|plstar and linmass sweep width: the probes of
 * include/linmass/probe.h (science.md sections 4 and 5) on a model, random or from a
 * checkpoint, and data; each writes a run folder like training does: config.json, result.json,
 * plots/ (PNG) and report.md.
 *
 * Under mpirun the probes run on every rank: each rank loads the same model and inputs, the
 * Hessian products and tangent kernels are split over the ranks (the probes' distribute
 * option), every rank ends with the same numbers, and rank 0 alone prints and writes. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/plot.h"
#include "cli/train_cli.h"
#include "linmass/data.h"
#include "linmass/dist.h"
#include "linmass/io.h"
#include "linmass/probe.h"
#include "linmass/run.h"
#include "linmass/runtime.h"
#include "linmass/train.h"

#define DEFAULT_MODEL "dense:512,tanh,dense:512,tanh,dense:1"
#define DEFAULT_TEMPLATE "dense:W,tanh,dense:W,tanh,dense:1"
#define DEFAULT_DATA "synth:teacher"
#define MB ((size_t)1 << 20)

/* ---- a growing text buffer (the printed summary, which report.md also holds) ---- */

typedef struct {
    char *s;
    size_t n, cap;
} sbuf;

__attribute__((format(printf, 2, 3))) static void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0) return;
    if (b->n + need + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->n + need + 1) cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) return;
        b->s = s, b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    b->n += need;
}

/* ---- options every probe shares ---- */

typedef struct {
    const char *model, *param, *ckpt, *run, *data, *output, *out;
    int inputs, json, threads, no_normalize, max_mem;
    uint64_t seed;
} common_opts;

#define COMMON_OPTS(o, inputs_def, out_def)                                                                       \
    {"model", OPT_STRING, &(o).model, DEFAULT_MODEL, "model spec or preset (see linmass train --help)", 0},       \
    {"param", OPT_STRING, &(o).param, "ntk", "parameterization: ntk (the theory's) or standard; --run: the run's; --checkpoint: the one it records, else standard", 0}, \
    {"checkpoint", OPT_STRING, &(o).ckpt, NULL, "probe these weights (a linmass checkpoint of --model) instead of a random init", 0}, \
    {"run", OPT_STRING, &(o).run, NULL, "probe a training run folder: model, data, param, seed and checkpoint from it", 0}, \
    {"data", OPT_STRING, &(o).data, DEFAULT_DATA, "data source; the inputs are the first --inputs training samples", 0}, \
    {"inputs", OPT_INT, &(o).inputs, inputs_def, "number of inputs N", 0},                                       \
    {"output", OPT_STRING, &(o).output, "sum", "model output probed: k (0-based) or sum (over outputs; = 0 for one output)", 0}, \
    {"no-normalize", OPT_FLAG, &(o).no_normalize, NULL, "raw inputs (default: standardised as training does; a checkpoint's own statistics)", 0}, \
    {"seed", OPT_U64, &(o).seed, "0", "seed of the random init, the synthetic data and the probe's random vectors", 0}, \
    {"threads", OPT_INT, &(o).threads, "0", "threads (0: all cores; 1 per rank under mpirun)", 0},                                     \
    {"out", OPT_STRING, &(o).out, out_def, "run folder: config.json, result.json, plots/*.png, report.md", 0},     \
    {"json", OPT_FLAG, &(o).json, NULL, "print one JSON object last on stdout (the summary goes to stderr)", 0}

static const char *const exit_help =
    "exit codes: 0 done; 2 bad usage or bad input (one line on stderr): unknown values, --inputs out of\n"
    "range, a checkpoint whose tensors do not fit --model, unreadable data; 1 a runtime failure: the\n"
    "memory a probe needs exceeds --max-memory (the message names the bytes needed: the input is valid,\n"
    "the budget is not, so raise --max-memory or lower --inputs), divergence, a folder not writable.\n";

/* What the shared options resolve to: the model (with its weights), the inputs, the data. */
typedef struct {
    const cli_command *c;
    lm_dataset *train, *test;
    lm_model *m;
    double *x, *xt; /* n training inputs and nt held-out (test split) inputs, float64 */
    int n, nt, K, output, alias, normalized, has_ckpt;
    lm_param_kind param;
    const char *model, *data, *ckpt;
    char spec_buf[1024];
    uint64_t data_seed;
    lm_run *run; /* --run: the opened run folder, which owns m */
} setup;

static void setup_free(setup *s)
{
    if (!s->run) lm_model_free(s->m);
    lm_run_close(s->run);
    lm_dataset_free(s->train);
    lm_dataset_free(s->test);
    free(s->x), free(s->xt);
}

static int parse_param(const cli_command *c, const char *text, lm_param_kind *p)
{
    if (!strcmp(text, "ntk")) *p = LM_PARAM_NTK;
    else if (!strcmp(text, "standard")) *p = LM_PARAM_STANDARD;
    else return cli_usage_error(c, "--param: '%s' is not ntk or standard", text);
    return 0;
}

/* "sum" -> LM_OUTPUT_SUM, "k" -> k */
static int parse_output(const cli_command *c, const char *text, int *out)
{
    if (!strcmp(text, "sum")) {
        *out = LM_OUTPUT_SUM;
        return 0;
    }
    char *end;
    long k = strtol(text, &end, 10);
    if (end == text || *end || k < 0 || k > 1000000) return cli_usage_error(c, "--output: '%s' is not sum or an output index", text);
    *out = (int)k;
    return 0;
}

static int load_split(const cli_command *c, const char *data, lm_split split, uint64_t seed, lm_dataset **ds)
{
    lm_status st = lm_data_load(data, split, seed, ds);
    if (st == LM_EIO) st = LM_EINVAL; /* data that cannot be read is bad input, as for train */
    return st ? cli_fail(c->command, st) : 0;
}

static double *to_f64(const float *x, size_t count)
{
    double *d = malloc((count ? count : 1) * sizeof *d);
    if (d)
        for (size_t i = 0; i < count; i++) d[i] = x[i];
    return d;
}

/* The model and the inputs, from the shared options; 0 or the exit code. n_test: held-out
 * inputs wanted from the test split (0: none). */
static int setup_load(const cli_command *c, const common_opts *o, int n_test, setup *s)
{
    memset(s, 0, sizeof *s);
    s->c = c;
    s->model = o->model;
    s->data = o->data;
    s->ckpt = o->ckpt;
    s->data_seed = o->seed;
    const char *param = o->param;
    if (o->run) {
        if (cli_given(c, "checkpoint") || cli_given(c, "model") || cli_given(c, "data") || cli_given(c, "param"))
            return cli_usage_error(c, "--run takes the model, data, parameterization and checkpoint from the run folder: "
                                      "drop --checkpoint, --model, --data and --param");
        lm_status st = lm_run_open(o->run, &s->run);
        if (st) return cli_fail(c->command, st);
        s->model = s->run->spec.model;
        s->data = s->run->spec.data;
        param = s->run->spec.param == LM_PARAM_NTK ? "ntk" : "standard";
        if (!cli_given(c, "seed")) s->data_seed = s->run->spec.seed;
        s->ckpt = s->run->checkpoint;
    }
    int rc = s->ckpt && !o->run ? cli_weights_param(c, s->ckpt, cli_given(c, "param") ? param : NULL, &s->param)
                                : parse_param(c, param, &s->param);
    if (rc || (rc = parse_output(c, o->output, &s->output))) return rc;
    if (o->inputs < 1) return cli_usage_error(c, "--inputs %d must be at least 1", o->inputs);
    if (o->threads < 0) return cli_usage_error(c, "--threads %d must not be negative", o->threads);
    if (o->max_mem < 1) return cli_usage_error(c, "--max-memory %d must be at least 1 (MB)", o->max_mem);
    lm_set_threads(o->threads == 0 && lm_dist_size() > 1 ? 1 : o->threads);
    if ((rc = load_split(c, s->data, LM_SPLIT_TRAIN, s->data_seed, &s->train))) return rc;
    if (n_test > 0 && (rc = load_split(c, s->data, LM_SPLIT_TEST, s->data_seed, &s->test))) return rc;
    if ((size_t)o->inputs > s->train->n)
        return cli_usage_error(c, "--inputs %d: %s has only %zu training samples", o->inputs, s->data, s->train->n);
    s->n = o->inputs;
    s->nt = s->test ? (n_test < (int)s->test->n ? n_test : (int)s->test->n) : 0;
    int targets = s->train->classes ? s->train->classes : s->train->target_dim;
    const char *spec = lm_model_alias_spec(s->model, targets, s->train->n, s->spec_buf, sizeof s->spec_buf);
    if (spec && strstr(spec, "kernelfeat") && !s->run)
        return cli_usage_error(c, "--model %s: kernel models are not probed (checkpoints do not hold their centres)", s->model);
    s->alias = spec != NULL;
    s->m = s->run ? s->run->model : NULL; /* --run: the run's model, kernel centres and all */
    lm_status st = s->m ? LM_OK : lm_model_create(spec ? spec : s->model, s->train->shape, s->param, o->seed, &s->m);
    if (st) return cli_fail(c->command, st);
    s->K = (int)lm_shape_numel(lm_model_output_shape(s->m));
    if (s->output >= s->K)
        return cli_usage_error(c, "--output %d: the model has %d output%s (0..%d, or sum)", s->output, s->K, s->K == 1 ? "" : "s", s->K - 1);
    int ch = s->train->shape.c;
    float *mean = calloc(ch, sizeof *mean), *sd = calloc(ch, sizeof *sd);
    if (!mean || !sd) st = lm_fail(LM_ENOMEM, "out of memory");
    if (!st && s->run) {
        s->has_ckpt = 1;
        s->normalized = s->run->normalized;
        if (s->normalized) memcpy(mean, s->run->mean, ch * sizeof *mean), memcpy(sd, s->run->std, ch * sizeof *sd);
    } else if (!st && s->ckpt) {
        lm_weights_load_opts w = {mean, sd, ch, 0, 0, 0};
        st = lm_weights_load(s->ckpt, s->m, &w);
        s->has_ckpt = 1;
        if (!st) s->normalized = w.has_stats, cli_note_index_shift(s->ckpt, s->model, w.index_shift);
    } else if (!st && !o->no_normalize && !s->alias) {
        st = lm_dataset_channel_stats(s->train, mean, sd);
        s->normalized = 1;
    }
    if (!st && s->normalized) st = lm_dataset_normalize(s->train, mean, sd);
    if (!st && s->normalized && s->test) st = lm_dataset_normalize(s->test, mean, sd);
    free(mean), free(sd);
    if (st) return cli_fail(c->command, st);
    size_t nin = lm_shape_numel(s->train->shape);
    s->x = to_f64(s->train->x, (size_t)s->n * nin);
    if (s->nt) s->xt = to_f64(s->test->x, (size_t)s->nt * nin);
    if (!s->x || (s->nt && !s->xt)) return cli_fail(c->command, lm_fail(LM_ENOMEM, "out of memory for the inputs"));
    return 0;
}

/* One scalar target per input for output k: the regression target k, or 1{class = k}. */
static int scalar_targets(const setup *s, double **y)
{
    const lm_dataset *d = s->train;
    int k = s->output == LM_OUTPUT_SUM ? 0 : s->output;
    if (s->output == LM_OUTPUT_SUM && s->K != 1)
        return cli_usage_error(s->c, "gradient descent on one scalar output: the model has %d outputs, give --output k", s->K);
    if (d->classes && s->K != d->classes)
        return cli_usage_error(s->c, "%s has %d classes: use a model with %d outputs and --output k (the target is 1{class = k})",
                               s->data, d->classes, d->classes);
    if (!d->classes && d->target_dim != s->K)
        return cli_usage_error(s->c, "%s has %d target values per sample but the model has %d outputs", s->data, d->target_dim, s->K);
    *y = malloc(s->n * sizeof **y);
    if (!*y) return cli_fail(s->c->command, lm_fail(LM_ENOMEM, "out of memory"));
    for (int i = 0; i < s->n; i++)
        (*y)[i] = d->classes ? (double)((int)d->y[i] == k) : d->y[(size_t)i * d->target_dim + k];
    return 0;
}

/* ---- the run folder ---- */

static int prepare_out(const cli_command *c, const char *out)
{
    char plots[1100];
    snprintf(plots, sizeof plots, "%s/plots", out);
    lm_status st = lm_mkdir_p(plots);
    return st ? cli_fail(c->command, st) : 0;
}

/* ---- several ranks ---- */

/* Under mpirun: 0 on every rank when every rank's rc is 0; otherwise every rank returns an
 * exit code, so that none waits in a collective for a rank that gave up. Rank 0 tells. */
static int agree_rc(const cli_command *c, int rc)
{
    if (lm_dist_size() == 1) return rc;
    lm_status st = rc ? lm_fail(rc == 2 ? LM_EINVAL : LM_EIO, "failed before the probe (see rank 0's message, or run "
                                                              "it without mpirun)") : LM_OK;
    st = lm_dist_agree(st);
    return st && !rc ? cli_fail(c->command, st) : rc;
}

/* A failed probe: the ranks agreed on it, unless MPI itself broke, which ends the job. */
static int probe_fail(const cli_command *c, lm_status st)
{
    int rc;
    if (st == LM_ENOMEM) {
        if (lm_dist_rank() == 0 || lm_dist_failed())
            fprintf(stderr, "linmass %s: %s; raise --max-memory (MB) or lower --inputs\n", c->command, lm_error_message());
        rc = 1;
    } else {
        rc = cli_fail(c->command, st);
    }
    if (lm_dist_failed()) lm_dist_abort(rc); /* the other ranks may be waiting */
    return rc;
}

/* The set-up of every probe: model, inputs and (rank 0's) run folder; 0 or the exit code. */
static int setup_all(const cli_command *c, const common_opts *o, int n_test, setup *s, double **y)
{
    int rc = setup_load(c, o, n_test, s);
    if (!rc && y) rc = scalar_targets(s, y);
    if ((rc = agree_rc(c, rc))) return rc;
    return agree_rc(c, lm_dist_rank() == 0 ? prepare_out(c, o->out) : 0);
}

static const char *ranks_note(char *buf, size_t len)
{
    if (lm_dist_size() > 1) snprintf(buf, len, ", split over %d MPI ranks", lm_dist_size());
    else buf[0] = 0;
    return buf;
}

static const char *param_name(lm_param_kind p) { return p == LM_PARAM_NTK ? "ntk" : "standard"; }

/* config.json (the options, and what they resolved to), result.json, report.md. */
static int write_run(const cli_command *c, const char *out, const setup *s, cJSON *result, const char *title,
                     const sbuf *text, const char *const *pngs, int npng)
{
    char *opts = cli_options_json(c), path[1100];
    cJSON *cfg = cJSON_Parse(opts);
    free(opts);
    cJSON_AddStringToObject(cfg, "command", c->command);
    if (s) {
        cJSON *r = cJSON_AddObjectToObject(cfg, "resolved");
        cJSON_AddStringToObject(r, "model", s->model);
        cJSON_AddStringToObject(r, "model_spec", lm_model_spec(s->m));
        cJSON_AddStringToObject(r, "data", s->data);
        cJSON_AddStringToObject(r, "param", param_name(s->param));
        cJSON_AddNumberToObject(r, "data_seed", (double)s->data_seed);
        if (s->ckpt) cJSON_AddStringToObject(r, "checkpoint", s->ckpt);
        cJSON_AddBoolToObject(r, "normalized", s->normalized);
    }
    char *js = cJSON_Print(cfg);
    snprintf(path, sizeof path, "%s/config.json", out);
    lm_status st = lm_write_file_atomic(path, js, strlen(js));
    free(js);
    cJSON_Delete(cfg);
    if (!st) {
        js = cJSON_Print(result);
        snprintf(path, sizeof path, "%s/result.json", out);
        st = lm_write_file_atomic(path, js, strlen(js));
        free(js);
    }
    if (!st) {
        sbuf r = {0};
        sb_printf(&r, "# %s\n\n```\n%s```\n\n", title, text->s ? text->s : "");
        for (int i = 0; i < npng; i++)
            if (pngs[i]) sb_printf(&r, "![%s](plots/%s)\n\n", pngs[i], pngs[i]);
        snprintf(path, sizeof path, "%s/report.md", out);
        st = lm_write_file_atomic(path, r.s, r.n);
        free(r.s);
    }
    return st ? cli_fail(c->command, st) : 0;
}

/* The summary to stdout (stderr under --json, where the JSON object comes last on stdout). */
static void emit(int json, const sbuf *text, cJSON *result)
{
    fputs(text->s ? text->s : "", json ? stderr : stdout);
    if (json) {
        char *s = cJSON_PrintUnformatted(result);
        printf("%s\n", s);
        free(s);
    }
    fflush(stdout);
}

static const char *output_name(const setup *s, char *buf, size_t len)
{
    if (s->output == LM_OUTPUT_SUM) snprintf(buf, len, s->K == 1 ? "the output" : "sum over %d outputs", s->K);
    else snprintf(buf, len, "output %d of %d", s->output, s->K);
    return buf;
}

static void describe_setup(sbuf *t, const setup *s)
{
    sb_printf(t, "model %s (%zu parameters, %s parameterization, %s)\n", lm_model_spec(s->m), lm_model_num_params(s->m),
              param_name(s->param), s->has_ckpt ? s->ckpt : "random init");
    sb_printf(t, "inputs: the first %d training samples of %s%s\n", s->n, s->data, s->normalized ? ", standardised" : "");
}

static void add_common_json(cJSON *o, const setup *s, const char *out)
{
    cJSON_AddStringToObject(o, "model", lm_model_spec(s->m));
    cJSON_AddNumberToObject(o, "num_params", (double)lm_model_num_params(s->m));
    cJSON_AddStringToObject(o, "param", param_name(s->param));
    cJSON_AddStringToObject(o, "data", s->data);
    cJSON_AddNumberToObject(o, "inputs", s->n);
    if (s->output == LM_OUTPUT_SUM) cJSON_AddStringToObject(o, "output", "sum");
    else cJSON_AddNumberToObject(o, "output", s->output);
    if (s->ckpt) cJSON_AddStringToObject(o, "checkpoint", s->ckpt);
    else cJSON_AddNullToObject(o, "checkpoint");
    cJSON_AddStringToObject(o, "run", out);
    cJSON_AddNumberToObject(o, "ranks", lm_dist_size());
}

static cJSON *number_array(const double *v, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
    return a;
}

/* ---- linmass probe hessian ---- */

static const char *const hessian_about =
    "The model Hessian H_f = d2f/dw2 (of the network output, not of the loss; science.md 4.1) in\n"
    "float64, by Lanczos with a convergence test (or power iteration), from exact Hessian-vector\n"
    "products (forward-over-reverse). Its spectral norm (largest |eigenvalue|: H_f is indefinite)\n"
    "three ways over the N inputs, each named in the output:\n"
    "  ||H(fbar)||          of the averaged model fbar = mean_i f(x_i)\n"
    "  max_i ||H(f(x_i))||  the worst single input\n"
    "  mean_i ||H(f(x_i))|| the typical single input (what the width sweeps fit)\n"
    "Also, for comparison with PyHessian, the top eigenvalues of the loss Hessian (Lanczos) and its\n"
    "Hutchinson trace (Rademacher probes) on the same inputs and their targets. The loss is\n"
    "linmass's: mean cross-entropy on classes (as torch's CrossEntropyLoss), or MSE\n"
    "(1/2n) sum_i ||f(x_i) - y_i||^2, which is K/2 times torch's MSELoss(reduction='mean') for K\n"
    "outputs: multiply PyHessian's MSE numbers by K/2 to compare.";

static int probe_hessian(int argc, char **argv)
{
    common_opts o;
    const char *method = "lanczos";
    int steps = 0, loss_top = 5, hutch = 100;
    double tol = 0;
    cli_opt opts[] = {
        COMMON_OPTS(o, "16", "runs/probe-hessian"),
        {"method", OPT_STRING, &method, "lanczos", "lanczos (with a convergence test) or power", 0},
        {"steps", OPT_INT, &steps, "0", "most operator applications per eigenvalue run (0: 100 Lanczos, 300 power)", 0},
        {"tol", OPT_DOUBLE, &tol, "0", "Lanczos: Ritz residual bound relative to the norm (0: 1e-10); power: relative change (0: run --steps)", 0},
        {"loss-top", OPT_INT, &loss_top, "5", "top eigenvalues of the loss Hessian (0: skip the loss Hessian; at most 32)", 0},
        {"hutchinson", OPT_INT, &hutch, "100", "Rademacher samples of the loss Hessian's Hutchinson trace (0: skip)", 0},
        {"max-memory", OPT_INT, &o.max_mem, "1024", "MB for a Lanczos basis (more: exit 1 naming the size)", 0},
    };
    static char epilog[8192];
    snprintf(epilog, sizeof epilog,
             "examples:\n"
             "  linmass probe hessian --inputs 16\n"
             "  linmass probe hessian --model dense:1024,tanh,dense:1024,tanh,dense:1 --method power --steps 300\n"
             "  linmass probe hessian --run runs/train --inputs 32 --output 3   (a trained fcn, output 3)\n\n%s\n%s",
             exit_help, cli_model_help());
    cli_command c = {"probe hessian",
                     "linmass probe hessian [--model SPEC] [--param ntk|standard] [--checkpoint FILE | --run DIR]\n"
                     "                            [--data SRC] [--inputs N] [--method lanczos|power] [--steps S] [--tol T]\n"
                     "                            [--output k|sum] [--loss-top K] [--hutchinson S] [--seed N] [--json] [--out DIR]",
                     hessian_about, opts, sizeof opts / sizeof *opts, epilog, NULL, 0, 0};
    int rc = cli_parse(&c, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    lm_eig_method em;
    if (!strcmp(method, "lanczos")) em = LM_EIG_LANCZOS;
    else if (!strcmp(method, "power")) em = LM_EIG_POWER;
    else return cli_usage_error(&c, "--method: '%s' is not lanczos or power", method);
    if (steps < 0) return cli_usage_error(&c, "--steps %d must not be negative", steps);
    if (tol < 0) return cli_usage_error(&c, "--tol %g must not be negative", tol);
    if (loss_top < 0 || loss_top > LM_EIG_MAX_TOP) return cli_usage_error(&c, "--loss-top %d must be in 0..%d", loss_top, LM_EIG_MAX_TOP);
    if (hutch < 0) return cli_usage_error(&c, "--hutchinson %d must not be negative", hutch);
    setup s;
    if ((rc = setup_all(&c, &o, 0, &s, NULL))) {
        setup_free(&s);
        return rc;
    }
    int root = lm_dist_rank() == 0;
    lm_hessian_opts ho = {0};
    ho.distribute = lm_dist_size() > 1;
    ho.net.output = s.output;
    ho.eig.method = em;
    ho.eig.max_steps = steps;
    ho.eig.tol = tol;
    ho.eig.seed = o.seed;
    ho.eig.mem_cap = (size_t)o.max_mem * MB;
    lm_hessian_result hr = {0};
    double *per = calloc(s.n, sizeof *per);
    hr.per_input = per;
    double t0 = cli_now();
    if (root) fprintf(stderr, "probe hessian: %d inputs, %zu parameters ...\n", s.n, lm_model_num_params(s.m));
    lm_status st = per ? LM_OK : lm_fail(LM_ENOMEM, "out of memory");
    if (ho.distribute) st = lm_dist_agree(st);
    if (!st) st = lm_probe_model_hessian(s.m, s.x, s.n, &ho, &hr);
    if (st) {
        free(per);
        setup_free(&s);
        return probe_fail(&c, st);
    }
    double t_model = cli_now() - t0;
    /* the loss Hessian, when the loss is defined for this model and data */
    const lm_dataset *d = s.train;
    int want_loss = loss_top > 0 || hutch > 0, have_loss = 0;
    lm_loss_hessian_result lr = {0};
    lm_loss_kind lk = d->classes && !s.alias ? LM_LOSS_XENT : LM_LOSS_MSE;
    double *targets = NULL;
    char why[256] = "";
    if (want_loss) {
        int need = d->classes ? d->classes : d->target_dim;
        if (s.K != need)
            snprintf(why, sizeof why, "the model has %d output%s but %s needs %d (%s)", s.K, s.K == 1 ? "" : "s", s.data, need,
                     d->classes ? "one per class" : "one per target value");
        else {
            size_t per_row = lk == LM_LOSS_XENT ? 1 : (size_t)s.K;
            targets = calloc((size_t)s.n * per_row, sizeof *targets);
            for (int i = 0; targets && i < s.n; i++) {
                if (lk == LM_LOSS_XENT) targets[i] = d->y[i];
                else if (d->classes) targets[(size_t)i * s.K + (int)d->y[i]] = 1;
                else
                    for (int k = 0; k < s.K; k++) targets[(size_t)i * s.K + k] = d->y[(size_t)i * d->target_dim + k];
            }
            lm_loss_hessian_opts lo = {0};
            lo.loss = lk;
            lo.targets = targets;
            lo.eig = ho.eig;
            lo.eig.method = LM_EIG_LANCZOS;
            lo.eig.top_k = loss_top > 0 ? loss_top : 1;
            lo.hutchinson = hutch > 0 ? hutch : -1;
            lo.distribute = ho.distribute;
            st = targets ? LM_OK : lm_fail(LM_ENOMEM, "out of memory");
            if (lo.distribute) st = lm_dist_agree(st);
            if (!st) st = lm_probe_loss_hessian(s.m, s.x, s.n, &lo, &lr);
            if (st) {
                free(per), free(targets);
                setup_free(&s);
                return probe_fail(&c, st);
            }
            have_loss = 1;
        }
        if (!have_loss && root) fprintf(stderr, "note: no loss Hessian: %s\n", why);
    }
    if (!root) { /* every rank has the numbers; rank 0 reports them */
        free(per), free(targets);
        setup_free(&s);
        return 0;
    }
    /* the summary */
    sbuf t = {0};
    char oname[64];
    describe_setup(&t, &s);
    sb_printf(&t, "model Hessian H_f = d2f/dw2 of %s, float64, %s%s; ||.|| = spectral norm (largest |eigenvalue|)\n",
              output_name(&s, oname, sizeof oname), em == LM_EIG_LANCZOS ? "Lanczos" : "power iteration",
              hr.unconverged ? "" : " (every run converged)");
    sb_printf(&t, "  ||H(fbar)||, fbar = mean_i f(x_i) (averaged model)   %-12.6g eigenvalue %.6g, %d products%s\n", hr.avg_norm,
              hr.avg.extreme, hr.avg.steps, hr.avg.converged ? "" : ", NOT converged");
    sb_printf(&t, "  max_i ||H(f(x_i))|| (worst single input)            %-12.6g input %d\n", hr.max_norm, hr.argmax);
    sb_printf(&t, "  mean_i ||H(f(x_i))|| (typical single input)         %-12.6g over %d inputs\n", hr.mean_norm, s.n);
    char rn[64];
    sb_printf(&t, "  %d Hessian-vector products, %.2f s%s%s\n", hr.steps, t_model, ranks_note(rn, sizeof rn),
              hr.unconverged ? "; some runs stopped at --steps without converging (raise --steps)" : "");
    if (have_loss) {
        sb_printf(&t, "loss Hessian (%s; PyHessian's object), loss %.6g\n",
                  lk == LM_LOSS_XENT ? "mean cross-entropy" : "MSE (1/2n) sum ||f(x_i) - y_i||^2", lr.loss);
        if (loss_top > 0) {
            sb_printf(&t, "  top %d eigenvalues (Lanczos%s):", lr.eig.ntop, lr.eig.converged ? "" : ", not converged");
            for (int i = 0; i < lr.eig.ntop; i++) sb_printf(&t, " %.6g", lr.eig.top[i]);
            sb_printf(&t, "\n");
        }
        if (hutch > 0) sb_printf(&t, "  Hutchinson trace %.6g +- %.2g (standard error, %d Rademacher samples)\n", lr.trace, lr.trace_se, lr.samples);
    }
    cJSON *res = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "probe", "hessian");
    add_common_json(res, &s, o.out);
    cJSON_AddStringToObject(res, "method", em == LM_EIG_LANCZOS ? "lanczos" : "power");
    cJSON_AddNumberToObject(res, "avg_norm", hr.avg_norm);
    cJSON_AddNumberToObject(res, "avg_eigenvalue", hr.avg.extreme);
    cJSON_AddNumberToObject(res, "max_norm", hr.max_norm);
    cJSON_AddNumberToObject(res, "argmax", hr.argmax);
    cJSON_AddNumberToObject(res, "mean_norm", hr.mean_norm);
    cJSON_AddItemToObject(res, "per_input", number_array(per, s.n));
    cJSON_AddNumberToObject(res, "hvp_products", hr.steps);
    cJSON_AddNumberToObject(res, "unconverged", hr.unconverged);
    cJSON_AddStringToObject(res, "definitions",
                            "avg_norm: ||d2 fbar/dw2||, fbar = mean_i f(x_i); max_norm, mean_norm: max_i and mean_i of ||d2 f(x_i)/dw2||; "
                            "norm = largest |eigenvalue|");
    if (have_loss) {
        cJSON *l = cJSON_AddObjectToObject(res, "loss_hessian");
        cJSON_AddStringToObject(l, "loss", lk == LM_LOSS_XENT ? "xent_mean" : "mse_half_mean");
        cJSON_AddNumberToObject(l, "value", lr.loss);
        if (loss_top > 0) cJSON_AddItemToObject(l, "top", number_array(lr.eig.top, lr.eig.ntop));
        if (hutch > 0) {
            cJSON_AddNumberToObject(l, "trace", lr.trace);
            cJSON_AddNumberToObject(l, "trace_se", lr.trace_se);
            cJSON_AddNumberToObject(l, "samples", lr.samples);
        }
    } else {
        cJSON_AddNullToObject(res, "loss_hessian");
        if (want_loss) cJSON_AddStringToObject(res, "loss_hessian_skipped", why);
    }
    cJSON_AddNumberToObject(res, "seconds", cli_now() - t0);
    /* plot: the per-input norms with the mean and the averaged model's */
    char png[1200];
    snprintf(png, sizeof png, "%s/plots/hessian_per_input.png", o.out);
    double *idx = malloc(s.n * sizeof *idx);
    for (int i = 0; idx && i < s.n; i++) idx[i] = i;
    double hx[2] = {0, s.n > 1 ? s.n - 1 : 1}, hm[2] = {hr.mean_norm, hr.mean_norm}, ha[2] = {hr.avg_norm, hr.avg_norm};
    plot_series ps[3] = {{"||H(f(x_i))|| per input", idx ? s.n : 0, idx, per},
                         {"mean over inputs", 2, hx, hm},
                         {"||H(fbar)||, averaged model", 2, hx, ha}};
    plot_axes pa = {"Model Hessian spectral norm per input", "input i", "spectral norm", 0, 0};
    int plotted = plot_lines(png, &pa, ps, 3);
    if (plotted) sb_printf(&t, "plot: %s\n", png);
    sb_printf(&t, "run folder: %s\n", o.out);
    const char *pngs[1] = {plotted ? "hessian_per_input.png" : NULL};
    rc = write_run(&c, o.out, &s, res, "linmass probe hessian", &t, pngs, 1);
    if (!rc) emit(o.json, &t, res);
    cJSON_Delete(res);
    free(t.s), free(idx), free(per), free(targets);
    setup_free(&s);
    return rc;
}

/* ---- linmass probe ntk ---- */

/* NPY format version 1.0: magic, version, a little-endian uint16 header length, then a Python
 * dict literal padded with spaces to a multiple of 64 bytes and ended by a newline. */
static lm_status write_npy(const char *path, const double *K, int n)
{
    char header[256];
    unsigned one = 1;
    char order = *(unsigned char *)&one ? '<' : '>';
    int len = snprintf(header, sizeof header, "{'descr': '%cf8', 'fortran_order': False, 'shape': (%d, %d), }", order, n, n);
    int pad = (64 - (10 + len + 1) % 64) % 64;
    memset(header + len, ' ', pad);
    len += pad;
    header[len++] = '\n';
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(len & 0xff), (unsigned char)(len >> 8)};
    lm_atomic_file *a;
    lm_status st = lm_atomic_open(path, &a);
    if (st) return st;
    lm_atomic_write(a, pre, sizeof pre);
    lm_atomic_write(a, header, len);
    lm_atomic_write(a, K, (size_t)n * n * sizeof *K);
    return lm_atomic_commit(a);
}

static const char *const ntk_about =
    "The empirical tangent kernel K = J J^T on N inputs (science.md 4.1), in float64: K_ij =\n"
    "<grad_w f(x_i), grad_w f(x_j)> for the chosen output, or, with --output sum, sum_k J_k J_k^T (the\n"
    "trace over the output axis, neural-tangents' trace_axes=(-1,)), never the NK x NK block kernel.\n"
    "Dense networks use the layer-wise Gram identity (sum over layers of (A A^T) o (D D^T) + D D^T:\n"
    "memory O(N^2 + N width), never the N x p Jacobian); other layers (conv, residual, batch norm) use\n"
    "per-sample gradients in blocks that fit --max-memory. Prints lambda_min (the PL* constant of\n"
    "science.md 5), lambda_max (2/lambda_max is the catapult step), the condition number and the\n"
    "trace, by a symmetric eigen-decomposition (LAPACK dsyevd); --save writes K as a .npy file\n"
    "(numpy.load reads it).";

static int probe_ntk(int argc, char **argv)
{
    common_opts o;
    const char *method = "auto", *save = NULL;
    cli_opt opts[] = {
        COMMON_OPTS(o, "128", "runs/probe-ntk"),
        {"method", OPT_STRING, &method, "auto", "auto (Gram identity when every layer allows it), gram or per-sample", 0},
        {"save", OPT_STRING, &save, NULL, "also write the N x N kernel to this .npy file (float64)", 0},
        {"max-memory", OPT_INT, &o.max_mem, "1024", "MB for the kernel and its scratch (more: exit 1 naming the size)", 0},
    };
    static char epilog[8192];
    snprintf(epilog, sizeof epilog,
             "examples:\n"
             "  linmass probe ntk --inputs 256 --save K.npy\n"
             "  linmass probe ntk --data fashion-mnist --model dense:1024,relu,dense:1024,relu,dense:10 --output sum\n"
             "  linmass probe ntk --data fashion-mnist --model conv:32x3,relu,gap,dense:10 --param standard --inputs 64\n\n%s\n%s",
             exit_help, cli_model_help());
    cli_command c = {"probe ntk",
                     "linmass probe ntk [--model SPEC] [--param ntk|standard] [--checkpoint FILE | --run DIR] [--data SRC]\n"
                     "                        [--inputs N] [--output k|sum] [--method auto|gram|per-sample] [--save FILE.npy]\n"
                     "                        [--max-memory MB] [--json] [--out DIR]",
                     ntk_about, opts, sizeof opts / sizeof *opts, epilog, NULL, 0, 0};
    int rc = cli_parse(&c, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    lm_ntk_method nm;
    if (!strcmp(method, "auto")) nm = LM_NTK_AUTO;
    else if (!strcmp(method, "gram")) nm = LM_NTK_GRAM;
    else if (!strcmp(method, "per-sample")) nm = LM_NTK_PER_SAMPLE;
    else return cli_usage_error(&c, "--method: '%s' is not auto, gram or per-sample", method);
    if (save && !*save) return cli_usage_error(&c, "--save needs a file name");
    setup s;
    if ((rc = setup_all(&c, &o, 0, &s, NULL))) {
        setup_free(&s);
        return rc;
    }
    int root = lm_dist_rank() == 0;
    if (nm == LM_NTK_GRAM && !lm_ntk_gram_applies(s.m)) {
        rc = cli_usage_error(&c, "--method gram: '%s' has layers other than dense, flatten, activation and dropout (use per-sample)",
                             lm_model_spec(s.m));
        setup_free(&s);
        return rc;
    }
    size_t nn = (size_t)s.n * s.n;
    double *K = malloc(nn * sizeof *K), *ev = malloc(s.n * sizeof *ev);
    lm_ntk_opts ko = {0};
    ko.net.output = s.output;
    ko.method = nm;
    ko.mem_cap = (size_t)o.max_mem * MB;
    ko.distribute = lm_dist_size() > 1;
    lm_ntk_info info = {0};
    lm_spectrum sp = {0};
    double t0 = cli_now();
    if (root) fprintf(stderr, "probe ntk: %d inputs, %zu parameters ...\n", s.n, lm_model_num_params(s.m));
    lm_status st = K && ev ? LM_OK : lm_fail(LM_ENOMEM, "out of memory for a %d x %d kernel", s.n, s.n);
    if (ko.distribute) st = lm_dist_agree(st);
    if (!st) st = lm_probe_ntk(s.m, s.x, s.n, &ko, K, &info);
    double t_kernel = cli_now() - t0;
    if (!root && !st) { /* every rank has K; rank 0 reports on it */
        free(K), free(ev);
        setup_free(&s);
        return 0;
    }
    if (!st) st = lm_kernel_spectrum(K, s.n, &sp, ev);
    if (st) rc = probe_fail(&c, st);
    if (!rc && save && (st = write_npy(save, K, s.n))) rc = cli_fail(c.command, st);
    if (rc) {
        free(K), free(ev);
        setup_free(&s);
        return rc;
    }
    sbuf t = {0};
    char oname[64];
    describe_setup(&t, &s);
    char rn[64];
    sb_printf(&t, "tangent kernel K = J J^T of %s, %d x %d, float64\n", output_name(&s, oname, sizeof oname), s.n, s.n);
    if (info.method == LM_NTK_GRAM)
        sb_printf(&t, "  method        Gram identity (dense layers), %.1f MB, %.2f s%s\n", info.bytes / 1048576.0, t_kernel,
                  ranks_note(rn, sizeof rn));
    else
        sb_printf(&t, "  method        per-sample gradients, blocks of %d rows, %ld backward passes%s, %.1f MB, %.2f s%s\n",
                  info.block, info.passes, lm_dist_size() > 1 ? " on rank 0" : "", info.bytes / 1048576.0, t_kernel,
                  ranks_note(rn, sizeof rn));
    sb_printf(&t, "  lambda_min    %.6g%s\n", sp.lambda_min, sp.lambda_min > 0 ? "" : "   (not positive: no PL* on these inputs)");
    sb_printf(&t, "  lambda_max    %.6g   (gradient descent on 1/2 ||F - y||^2 catapults above lr 2/lambda_max = %.4g)\n",
              sp.lambda_max, sp.lambda_max > 0 ? 2 / sp.lambda_max : INFINITY);
    sb_printf(&t, "  condition     %.6g\n", sp.cond);
    sb_printf(&t, "  trace         %.6g   (mean diagonal %.6g)\n", sp.trace, sp.trace / s.n);
    sb_printf(&t, "  frobenius     %.6g\n", sp.frobenius);
    if (save) sb_printf(&t, "kernel saved: %s (%d x %d float64, NPY 1.0)\n", save, s.n, s.n);
    cJSON *res = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "probe", "ntk");
    add_common_json(res, &s, o.out);
    cJSON_AddStringToObject(res, "kernel", s.output == LM_OUTPUT_SUM && s.K > 1 ? "sum over outputs" : "one output");
    cJSON_AddStringToObject(res, "method", info.method == LM_NTK_GRAM ? "gram" : "per-sample");
    cJSON_AddNumberToObject(res, "bytes", (double)info.bytes);
    cJSON_AddNumberToObject(res, "lambda_min", sp.lambda_min);
    cJSON_AddNumberToObject(res, "lambda_max", sp.lambda_max);
    cJSON_AddNumberToObject(res, "cond", sp.cond);
    cJSON_AddNumberToObject(res, "trace", sp.trace);
    cJSON_AddNumberToObject(res, "frobenius", sp.frobenius);
    cJSON_AddNumberToObject(res, "lr_catapult", sp.lambda_max > 0 ? 2 / sp.lambda_max : INFINITY);
    cJSON_AddItemToObject(res, "eigenvalues", number_array(ev, s.n));
    if (save) cJSON_AddStringToObject(res, "npy", save);
    else cJSON_AddNullToObject(res, "npy");
    cJSON_AddNumberToObject(res, "seconds", cli_now() - t0);
    /* plot: the spectrum, largest first */
    char png[1200];
    snprintf(png, sizeof png, "%s/plots/ntk_spectrum.png", o.out);
    double *rank = malloc(s.n * sizeof *rank), *desc = malloc(s.n * sizeof *desc);
    for (int i = 0; rank && desc && i < s.n; i++) rank[i] = i + 1, desc[i] = ev[s.n - 1 - i];
    plot_series ps[1] = {{"eigenvalues of K", rank && desc ? s.n : 0, rank, desc}};
    plot_axes pa = {"Tangent kernel spectrum", "rank", "eigenvalue", 1, 1};
    int plotted = plot_lines(png, &pa, ps, 1);
    if (plotted) sb_printf(&t, "plot: %s\n", png);
    sb_printf(&t, "run folder: %s\n", o.out);
    const char *pngs[1] = {plotted ? "ntk_spectrum.png" : NULL};
    rc = write_run(&c, o.out, &s, res, "linmass probe ntk", &t, pngs, 1);
    if (!rc) emit(o.json, &t, res);
    cJSON_Delete(res);
    free(t.s), free(rank), free(desc), free(K), free(ev);
    setup_free(&s);
    return rc;
}

/* ---- linmass probe linearity and linmass probe plstar ---- */

static const char *const convention =
    "L(w) = 1/2 ||F(w) - y||^2 (no 1/n), F stacking f(w; x_i); grad L = J^T (F - y); PL ratio ||grad L||^2 / (2 L) >= lambda_min(K); "
    "mu-PL*: 1/2 ||grad L||^2 >= mu L";

static const char *const linearity_about =
    "Full-batch gradient descent w <- w - lr grad L from w0 on the N inputs and their targets, with\n"
    "science.md 5's convention L(w) = 1/2 ||F(w) - y||^2 (no 1/n; F stacks f(w; x_i)), recording\n"
    "every --record-every steps: ||w_t - w0||, the relative kernel change ||K_t - K_0||_F/||K_0||_F, the\n"
    "gap |f - f_lin| to the linearization at w0 on held-out inputs (test split), lambda_min(K_t), the\n"
    "PL ratio ||grad L||^2/(2L) (>= lambda_min(K_t)), and the per-step loss ratio L(w_{t+1})/L(w_t)\n"
    "next to its bound 1 - lr lambda_min(K_t). Warns when lr > 2/lambda_max(K_0) (the catapult\n"
    "regime, where the kernel moves by O(1) and the measurements do not test the theory).\n"
    "Needs one scalar output: a model with one output, or --output k (on classes the target is\n"
    "1{class = k}).";

static const char *const plstar_about =
    "PL* along full-batch gradient descent (science.md 5): the same run as 'linmass probe linearity',\n"
    "reported for the PL* condition. Convention: L(w) = 1/2 ||F(w) - y||^2 (no 1/n), grad L =\n"
    "J^T (F - y), so ||grad L||^2 = (F - y)^T K (F - y) >= 2 lambda_min(K) L: the empirical PL ratio\n"
    "||grad L||^2/(2L) is at least lambda_min(K(w_t)), and mu-PL* (1/2 ||grad L||^2 >= mu L) holds on\n"
    "the path with mu = min_t lambda_min(K(w_t)). Prints lambda_min(K_t), the PL ratio, the per-step\n"
    "loss ratio against 1 - lr lambda_min(K_t), and the whole run against L_0 (1 - lr mu)^t.";

static int probe_gd(int argc, char **argv, int plstar)
{
    common_opts o;
    int steps = 200, every = 0, held = 32;
    double lr = 0;
    cli_opt opts[] = {
        COMMON_OPTS(o, "16", plstar ? "runs/probe-plstar" : "runs/probe-linearity"),
        {"steps", OPT_INT, &steps, "200", "gradient-descent steps T", 0},
        {"lr", OPT_DOUBLE, &lr, "0", "step size eta (0: 1/lambda_max(K_0), half the catapult threshold)", 0},
        {"record-every", OPT_INT, &every, "0", "record every K steps, and at step T (0: T/10)", 0},
        {"held-out", OPT_INT, &held, "32", "held-out test inputs for |f - f_lin| (0: none)", 0},
        {"max-memory", OPT_INT, &o.max_mem, "1024", "MB for each kernel and its scratch (more: exit 1 naming the size)", 0},
    };
    static char epilog[8192];
    snprintf(epilog, sizeof epilog,
             "examples:\n"
             "  linmass probe %s --inputs 16 --steps 200\n"
             "  linmass probe %s --model dense:2048,tanh,dense:1 --lr 0.5 --steps 500 --record-every 50\n"
             "  linmass probe %s --model dense:256,tanh,dense:1,tanh --inputs 8   (a non-linear output: the kernel moves)\n\n%s\n%s",
             plstar ? "plstar" : "linearity", plstar ? "plstar" : "linearity", plstar ? "plstar" : "linearity", exit_help,
             cli_model_help());
    char usage[600];
    snprintf(usage, sizeof usage,
             "linmass probe %s [--model SPEC] [--param ntk|standard] [--checkpoint FILE | --run DIR] [--data SRC]\n"
             "            [--inputs N] [--steps S] [--lr ETA] [--record-every K] [--held-out M] [--output k|sum]\n"
             "            [--json] [--out DIR]",
             plstar ? "plstar" : "linearity");
    cli_command c = {plstar ? "probe plstar" : "probe linearity", usage, plstar ? plstar_about : linearity_about, opts,
                     sizeof opts / sizeof *opts, epilog, NULL, 0, 0};
    int rc = cli_parse(&c, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    if (steps < 1) return cli_usage_error(&c, "--steps %d must be at least 1", steps);
    if (lr < 0) return cli_usage_error(&c, "--lr %g must not be negative", lr);
    if (every < 0) return cli_usage_error(&c, "--record-every %d must not be negative", every);
    if (held < 0) return cli_usage_error(&c, "--held-out %d must not be negative", held);
    setup s;
    double *y = NULL;
    if ((rc = setup_all(&c, &o, held, &s, &y))) {
        setup_free(&s);
        free(y);
        return rc;
    }
    lm_linearity_opts lo = {0};
    lo.net.output = s.output == LM_OUTPUT_SUM ? 0 : s.output;
    lo.y = y;
    lo.steps = steps;
    lo.record_every = every;
    lo.x_test = s.xt;
    lo.n_test = s.nt;
    lo.ntk.mem_cap = (size_t)o.max_mem * MB;
    lo.ntk.distribute = lm_dist_size() > 1; /* the kernels split over the ranks; the GD runs on each */
    int root = lm_dist_rank() == 0;
    lm_status st = LM_OK;
    double t0 = cli_now();
    int auto_lr = lr == 0;
    if (auto_lr) { /* 1/lambda_max(K_0): half the catapult threshold */
        double *K = malloc((size_t)s.n * s.n * sizeof *K);
        lm_ntk_opts ko = lo.ntk;
        ko.net = lo.net;
        lm_spectrum sp;
        st = K ? LM_OK : lm_fail(LM_ENOMEM, "out of memory");
        if (ko.distribute) st = lm_dist_agree(st);
        if (!st) st = lm_probe_ntk(s.m, s.x, s.n, &ko, K, NULL);
        if (!st) st = lm_kernel_spectrum(K, s.n, &sp, NULL);
        free(K);
        if (!st && !(sp.lambda_max > 0)) st = lm_fail(LM_EINVAL, "lambda_max(K_0) is %g: give --lr", sp.lambda_max);
        if (!st) lr = 1 / sp.lambda_max;
    }
    lo.lr = lr;
    lm_linearity_result r = {0};
    if (!st) {
        if (root)
            fprintf(stderr, "probe %s: %d steps of full-batch GD, lr %.4g, %zu parameters ...\n", plstar ? "plstar" : "linearity", steps, lr,
                lm_model_num_params(s.m));
        st = lm_probe_linearity(s.m, s.x, s.n, &lo, &r);
    }
    if (root && (r.catapult || (st == LM_EDIVERGED && r.lr_catapult > 0)))
        fprintf(stderr, "warning: lr %.4g > 2/lambda_max(K_0) = %.4g: the catapult regime; the kernel moves by O(1) and the "
                        "measurements do not test the theory (science.md 4.3)\n", lr, r.lr_catapult);
    if (st || !root) { /* on success every rank has the records; rank 0 reports them */
        rc = st ? probe_fail(&c, st) : 0;
        lm_linearity_free(&r);
        setup_free(&s);
        free(y);
        return rc;
    }
    double mu = INFINITY;
    int below = 1, pl_ok = 1;
    for (int i = 0; i < r.n_records; i++) {
        const lm_linearity_record *e = &r.records[i];
        mu = fmin(mu, e->lambda_min);
        below &= e->loss_ratio <= e->bound;
        pl_ok &= e->pl_ratio >= e->lambda_min * (1 - 1e-9) - 1e-300;
    }
    double rate_bound = r.loss0 * pow(fmax(1 - lr * mu, 0), r.steps_done + 1);
    double loss_T1 = r.n_records ? r.records[r.n_records - 1].loss * r.records[r.n_records - 1].loss_ratio : NAN;
    sbuf t = {0};
    char oname[64];
    describe_setup(&t, &s);
    sb_printf(&t, "full-batch gradient descent on %s with its targets, %d steps, lr %.6g%s\n", output_name(&s, oname, sizeof oname), steps, lr,
              auto_lr ? " (1/lambda_max(K_0))" : "");
    sb_printf(&t, "convention: %s\n", convention);
    sb_printf(&t, "lambda_min(K_0) %.6g, lambda_max(K_0) %.6g, catapult above lr 2/lambda_max = %.6g%s\n", r.lambda_min0, r.lambda_max0,
              r.lr_catapult, r.catapult ? "  (THIS RUN IS IN THE CATAPULT REGIME)" : "");
    if (!plstar) {
        sb_printf(&t, "%6s %12s %10s %10s %10s %11s %10s %11s %12s\n", "step", "loss", "|w-w0|", "dK/|K0|", s.nt ? "|f-f_lin|" : "-",
                  "lam_min(K)", "PL ratio", "L(t+1)/L(t)", "1-lr*lam_min");
        for (int i = 0; i < r.n_records; i++) {
            const lm_linearity_record *e = &r.records[i];
            sb_printf(&t, "%6d %12.6g %10.4g %10.4g %10.4g %11.5g %10.5g %11.6f %12.6f%s\n", e->step, e->loss, e->dist,
                      e->kernel_change, e->lin_gap_max, e->lambda_min, e->pl_ratio, e->loss_ratio, e->bound,
                      e->loss_ratio <= e->bound ? "" : "  above");
        }
        sb_printf(&t, "dK/|K0| = ||K_t - K_0||_F / ||K_0||_F; |f-f_lin| = max over %d held-out inputs of |f(w_t) - f_lin(w_t)|\n", s.nt);
    } else {
        sb_printf(&t, "%6s %12s %12s %12s %10s %12s %13s\n", "step", "loss", "lam_min(K_t)", "PL ratio", "PL/lam_min", "L(t+1)/L(t)",
                  "1-lr*lam_min");
        for (int i = 0; i < r.n_records; i++) {
            const lm_linearity_record *e = &r.records[i];
            sb_printf(&t, "%6d %12.6g %12.6g %12.6g %10.4f %12.6f %13.6f%s\n", e->step, e->loss, e->lambda_min, e->pl_ratio,
                      e->lambda_min > 0 ? e->pl_ratio / e->lambda_min : NAN, e->loss_ratio, e->bound,
                      e->loss_ratio <= e->bound ? "" : "  above");
        }
        sb_printf(&t, "PL* constant on the path: mu = min_t lambda_min(K_t) = %.6g\n", mu);
        sb_printf(&t, "run: L(w_%d) = %.6g against the PL* bound L_0 (1 - lr mu)^%d = %.6g%s\n", r.steps_done + 1, loss_T1, r.steps_done + 1,
                  rate_bound, loss_T1 <= rate_bound ? "" : "  (above: lr is beyond 1/beta)");
    }
    sb_printf(&t, "every PL ratio >= lambda_min(K_t): %s; every loss ratio <= 1 - lr lambda_min(K_t): %s\n", pl_ok ? "yes" : "NO",
              below ? "yes" : "NO (up to the beta-smoothness slack: lr beyond 1/beta)");
    cJSON *res = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "probe", plstar ? "plstar" : "linearity");
    add_common_json(res, &s, o.out);
    cJSON_AddStringToObject(res, "convention", convention);
    cJSON_AddNumberToObject(res, "lr", lr);
    cJSON_AddBoolToObject(res, "lr_auto", auto_lr);
    cJSON_AddNumberToObject(res, "lr_catapult", r.lr_catapult);
    cJSON_AddBoolToObject(res, "catapult", r.catapult);
    cJSON_AddNumberToObject(res, "steps", steps);
    cJSON_AddNumberToObject(res, "held_out", s.nt);
    cJSON_AddNumberToObject(res, "lambda_min0", r.lambda_min0);
    cJSON_AddNumberToObject(res, "lambda_max0", r.lambda_max0);
    cJSON_AddNumberToObject(res, "loss0", r.loss0);
    cJSON_AddNumberToObject(res, "loss_final", r.loss_final);
    cJSON_AddNumberToObject(res, "mu", mu);
    cJSON_AddNumberToObject(res, "pl_rate_bound", rate_bound);
    cJSON_AddBoolToObject(res, "all_below_bound", below);
    cJSON_AddBoolToObject(res, "pl_ratio_ge_lambda_min", pl_ok);
    cJSON *recs = cJSON_AddArrayToObject(res, "records");
    for (int i = 0; i < r.n_records; i++) {
        const lm_linearity_record *e = &r.records[i];
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "step", e->step);
        cJSON_AddNumberToObject(j, "loss", e->loss);
        cJSON_AddNumberToObject(j, "dist", e->dist);
        cJSON_AddNumberToObject(j, "kernel_change", e->kernel_change);
        if (s.nt) {
            cJSON_AddNumberToObject(j, "lin_gap_max", e->lin_gap_max);
            cJSON_AddNumberToObject(j, "lin_gap_rms", e->lin_gap_rms);
        }
        cJSON_AddNumberToObject(j, "lambda_min", e->lambda_min);
        cJSON_AddNumberToObject(j, "lambda_max", e->lambda_max);
        cJSON_AddNumberToObject(j, "pl_ratio", e->pl_ratio);
        cJSON_AddNumberToObject(j, "loss_ratio", e->loss_ratio);
        cJSON_AddNumberToObject(j, "bound", e->bound);
        cJSON_AddItemToArray(recs, j);
    }
    cJSON_AddNumberToObject(res, "seconds", cli_now() - t0);
    /* plots */
    int nr = r.n_records;
    double *st_x = malloc((nr + 1) * sizeof *st_x), *loss = malloc((nr + 1) * sizeof *loss), *bnd = malloc((nr + 1) * sizeof *bnd);
    double *kc = malloc((nr + 1) * sizeof *kc), *lam = malloc((nr + 1) * sizeof *lam), *plr = malloc((nr + 1) * sizeof *plr);
    int ok = st_x && loss && bnd && kc && lam && plr;
    for (int i = 0; ok && i < nr; i++) {
        const lm_linearity_record *e = &r.records[i];
        st_x[i] = e->step, loss[i] = e->loss, kc[i] = e->kernel_change, lam[i] = e->lambda_min, plr[i] = e->pl_ratio;
        bnd[i] = r.loss0 * pow(fmax(1 - lr * mu, 0), e->step);
    }
    const char *pngs[2] = {NULL, NULL};
    char png[1200];
    snprintf(png, sizeof png, "%s/plots/loss.png", o.out);
    plot_series lsr[2] = {{"loss L(w_t)", ok ? nr : 0, st_x, loss}, {"PL* bound L0 (1 - lr mu)^t, mu = min lambda_min(K_t)", ok ? nr : 0, st_x, bnd}};
    plot_axes la = {"Gradient descent: loss and its PL* bound", "step", "L = 1/2 ||F - y||^2", 0, 1};
    if (plot_lines(png, &la, lsr, 2)) pngs[0] = "loss.png", sb_printf(&t, "plot: %s\n", png);
    if (!plstar) {
        snprintf(png, sizeof png, "%s/plots/kernel_change.png", o.out);
        plot_series ksr[1] = {{"||K_t - K_0||_F / ||K_0||_F", ok ? nr : 0, st_x, kc}};
        plot_axes ka = {"Relative tangent-kernel change", "step", "relative change", 0, 0};
        if (plot_lines(png, &ka, ksr, 1)) pngs[1] = "kernel_change.png", sb_printf(&t, "plot: %s\n", png);
    } else {
        snprintf(png, sizeof png, "%s/plots/plstar.png", o.out);
        plot_series psr[2] = {{"PL ratio ||grad L||^2 / (2L)", ok ? nr : 0, st_x, plr}, {"lambda_min(K_t)", ok ? nr : 0, st_x, lam}};
        plot_axes pa = {"PL* along gradient descent", "step", "value", 0, 1};
        if (plot_lines(png, &pa, psr, 2)) pngs[1] = "plstar.png", sb_printf(&t, "plot: %s\n", png);
    }
    sb_printf(&t, "run folder: %s\n", o.out);
    rc = write_run(&c, o.out, &s, res, plstar ? "linmass probe plstar" : "linmass probe linearity", &t, pngs, 2);
    if (!rc) emit(o.json, &t, res);
    cJSON_Delete(res);
    free(t.s), free(st_x), free(loss), free(bnd), free(kc), free(lam), free(plr);
    lm_linearity_free(&r);
    setup_free(&s);
    free(y);
    return rc;
}

/* ---- linmass probe ---- */

int cmd_probe(int argc, char **argv)
{
    static const char *const overview =
        "usage: linmass probe hessian|ntk|linearity|plstar [options]   ('linmass probe NAME --help': every option)\n\n"
        "Probes of a model, random or trained (--checkpoint FILE with --model, or --run DIR), on N inputs\n"
        "of a data set, in float64 (science.md sections 4 and 5). Each writes a run folder (--out):\n"
        "config.json, result.json, plots/*.png and report.md.\n\n"
        "  hessian    spectral norm of the model Hessian d2f/dw2 (averaged model, max and mean over\n"
        "             inputs), the loss Hessian's top eigenvalues and Hutchinson trace (as PyHessian)\n"
        "  ntk        the empirical tangent kernel J J^T: lambda_min, lambda_max, condition, trace; --save K.npy\n"
        "  linearity  full-batch GD: weight distance, kernel change, |f - f_lin|, lambda_min, PL ratio,\n"
        "             loss ratio against 1 - lr lambda_min; warns in the catapult regime\n"
        "  plstar     the same run, reported for PL*: lambda_min(K_t), ||grad L||^2/(2L), L_0 (1 - lr mu)^t\n\n"
        "Width sweeps of these probes: linmass sweep width --help.\n";
    if (argc < 1) {
        if (lm_dist_rank() == 0)
            fprintf(stderr, "linmass probe: name a probe: hessian, ntk, linearity or plstar (see linmass probe --help)\n");
        return 2;
    }
    if (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h") || !strcmp(argv[0], "help")) {
        if (lm_dist_rank() == 0) fputs(overview, stdout);
        return 0;
    }
    if (!strcmp(argv[0], "hessian")) return probe_hessian(argc - 1, argv + 1);
    if (!strcmp(argv[0], "ntk")) return probe_ntk(argc - 1, argv + 1);
    if (!strcmp(argv[0], "linearity")) return probe_gd(argc - 1, argv + 1, 0);
    if (!strcmp(argv[0], "plstar")) return probe_gd(argc - 1, argv + 1, 1);
    if (lm_dist_rank() == 0)
        fprintf(stderr, "linmass probe: unknown probe '%s': hessian, ntk, linearity or plstar (see linmass probe --help)\n", argv[0]);
    return 2;
}

/* ---- linmass sweep width ---- */

typedef struct {
    const int *widths;
    int seeds;
    double t0;
} sweep_progress;

static void on_sweep(void *ctx, int wi, int si, double value)
{
    sweep_progress *p = ctx;
    fprintf(stderr, "sweep: width %d seed %d/%d: %.6g  (%.1f s)\n", p->widths[wi], si + 1, p->seeds, value, cli_now() - p->t0);
}

/* "64,128,256" -> widths; 0 or the exit code */
static int parse_widths(const cli_command *c, const char *text, int **out, int *n)
{
    int cap = 1;
    for (const char *p = text; *p; p++) cap += *p == ',';
    int *w = malloc(cap * sizeof *w), k = 0;
    if (!w) return cli_fail(c->command, lm_fail(LM_ENOMEM, "out of memory"));
    const char *p = text;
    for (;;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || (*end && *end != ',') || v < 1 || v > 1000000) {
            free(w);
            return cli_usage_error(c, "--widths: '%s' is not a comma-separated list of positive whole numbers", text);
        }
        w[k++] = (int)v;
        if (!*end) break;
        p = end + 1;
    }
    int distinct = 0;
    for (int i = 0; i < k; i++) distinct |= w[i] != w[0];
    if (k < 2 || !distinct) {
        free(w);
        return cli_usage_error(c, "--widths: '%s': a slope needs at least two different widths", text);
    }
    *out = w;
    *n = k;
    return 0;
}

/* Keep gnuplot's single-quoted strings intact. */
static void gp_clean(char *dst, size_t len, const char *src)
{
    size_t k = 0;
    for (; src && *src && k + 1 < len; src++)
        if (*src != '\'' && *src != '\n' && *src != '\\') dst[k++] = *src;
    dst[k] = '\0';
}

/* The log-log plot: every (width, seed) value, the mean per width and the fitted line. */
static int sweep_plot(const char *png, const char *title, const char *ylabel, const int *widths, int nw, int seeds,
                      const double *values, const double *mean, const lm_fit *fit, double ref_slope, const char *ref_label)
{
    static int have = -1;
    if (have < 0) {
        have = system("command -v gnuplot >/dev/null 2>&1") == 0;
        if (!have) fprintf(stderr, "note: gnuplot is not installed, so no PNG plots (apt-get install gnuplot-nox)\n");
    }
    if (!have) return 0;
    char data[] = "/tmp/linmass-sweep-XXXXXX";
    int fd = mkstemp(data);
    if (fd < 0) return 0;
    FILE *f = fdopen(fd, "w");
    for (int i = 0; i < nw; i++)
        for (int s = 0; s < seeds; s++) fprintf(f, "%d %.12g\n", widths[i], values[(size_t)i * seeds + s]);
    fprintf(f, "\n\n");
    for (int i = 0; i < nw; i++) fprintf(f, "%d %.12g\n", widths[i], mean[i]);
    fclose(f);
    FILE *g = popen("gnuplot 2>/dev/null", "w");
    if (!g) {
        unlink(data);
        return 0;
    }
    char t[512], yl[256], path[1100];
    gp_clean(t, sizeof t, title);
    gp_clean(yl, sizeof yl, ylabel);
    gp_clean(path, sizeof path, png);
    int wmin = widths[0], wmax = widths[0];
    for (int i = 1; i < nw; i++) wmin = widths[i] < wmin ? widths[i] : wmin, wmax = widths[i] > wmax ? widths[i] : wmax;
    fprintf(g, "set terminal pngcairo size 900,560 noenhanced font 'DejaVu Sans,11'\n");
    fprintf(g, "set output '%s'\nset title '%s'\nset xlabel 'width m'\nset ylabel '%s'\n", path, t, yl);
    fprintf(g, "set logscale xy\nset grid\nset key top right\nset xrange [%g:%g]\n", wmin / 1.25, wmax * 1.25);
    fprintf(g, "set xtics (");
    for (int i = 0; i < nw; i++) fprintf(g, "%s%d", i ? ", " : "", widths[i]);
    fprintf(g, ")\nf(x) = exp(%.12g) * x**(%.12g)\n", fit->intercept, fit->slope);
    /* the theory's slope, through the fit's value at the narrowest width */
    fprintf(g, "r(x) = exp(%.12g) * %.12g**(%.12g) * (x / %.12g)**(%.12g)\n", fit->intercept, (double)wmin, fit->slope,
            (double)wmin, isnan(ref_slope) ? 0.0 : ref_slope);
    fprintf(g,
            "plot '%s' index 0 using 1:2 with points pt 6 ps 1 lc rgb '#7f7f7f' title 'each seed', "
            "'%s' index 1 using 1:2 with points pt 7 ps 1.6 lc rgb '#1f77b4' title 'mean over seeds', "
            "f(x) with lines lw 2 lc rgb '#d62728' title 'fit: slope %.3f, 95%% interval [%.3f, %.3f]'",
            data, data, fit->slope, fit->ci_lo, fit->ci_hi);
    if (!isnan(ref_slope)) fprintf(g, ", r(x) with lines lw 1.5 dt 2 lc rgb '#2ca02c' title '%s'", ref_label);
    fprintf(g, "\n");
    int rc = pclose(g);
    unlink(data);
    return rc == 0 && access(png, F_OK) == 0;
}

static const char *const sweep_about =
    "The probe over widths: a model is built from the template at each width (every W becomes the\n"
    "width) and each of --seeds seeds (--seed, --seed + 1, ...), probed on the same N inputs; prints\n"
    "the mean and standard deviation per width and the least-squares slope of log(value) against\n"
    "log(width) over every (width, seed) point, with a 95% interval (Student's t). science.md 4.2:\n"
    "||H_f|| falls like m^-0.5 with a linear output layer, does not fall with a non-linear output or\n"
    "a width-1 bottleneck; the relative kernel change after GD falls like m^-1.";

static const char *const sweep_epilog_head =
    "values (--value; 'default' is the first of each):\n"
    "  hessian    mean (mean_i ||H(f(x_i))||), max (max_i), avg (||H(fbar)||, fbar = mean_i f(x_i))\n"
    "  ntk        lambda-max, lambda-min, trace of K = J J^T on the inputs\n"
    "  linearity  kernel (||K_T - K_0||_F/||K_0||_F after --steps GD steps), gap (max |f - f_lin| on\n"
    "             --held-out inputs), dist (||w_T - w_0||)\n"
    "templates (W = the width; dense, conv and res layers all take it):\n"
    "  dense:W,tanh,dense:W,tanh,dense:1                 2 hidden layers, linear output (default)\n"
    "  dense:W,tanh,dense:W,tanh,dense:1,tanh            a non-linear output: append ',tanh'\n"
    "  dense:W,tanh,dense:1,tanh,dense:W,tanh,dense:1    a width-1 bottleneck: ',dense:1,tanh,' in the middle\n"
    "  dense:W,relu,dense:W,relu,dense:W,relu,dense:1    any depth, any activation\n"
    "  conv:Wx3,tanh,conv:Wx3,tanh,gap,dense:1           convolutional (W channels; image data)\n"
    "  conv:Wx3,res:W,res:W,gap,dense:1                  residual (image data)\n"
    "examples:\n"
    "  linmass sweep width --probe hessian --widths 64,128,256,512,1024 --seeds 3\n"
    "  linmass sweep width --probe hessian --template dense:W,tanh,dense:W,tanh,dense:1,tanh\n"
    "  linmass sweep width --probe linearity --widths 64,256,1024,4096 --steps 200 --seeds 2\n"
    "  linmass sweep width --probe ntk --value lambda-min --data fashion-mnist --inputs 32 \\\n"
    "      --template conv:Wx3,tanh,gap,dense:10 --output 0 --widths 8,16,32,64\n";

int cmd_sweep(int argc, char **argv)
{
    const char *probe = "hessian", *tmpl = DEFAULT_TEMPLATE, *widths_text = "64,128,256,512,1024", *data = DEFAULT_DATA;
    const char *param_text = "ntk", *value_text = "default", *output_text = "sum", *out = "runs/sweep", *positional[2];
    int seeds = 2, inputs = 8, json = 0, threads = 1, steps = 200, held = 32, max_mem = 1024, no_normalize = 0;
    uint64_t seed = 0;
    double tol = 1e-6, lr = 0;
    cli_opt opts[] = {
        {"probe", OPT_STRING, &probe, "hessian", "hessian, ntk or linearity", 0},
        {"template", OPT_STRING, &tmpl, DEFAULT_TEMPLATE, "model spec with W for the width (see below)", 0},
        {"widths", OPT_STRING, &widths_text, "64,128,256,512,1024", "comma-separated widths (at least two different)", 0},
        {"seeds", OPT_INT, &seeds, "2", "models per width (seeds --seed, --seed + 1, ...)", 0},
        {"seed", OPT_U64, &seed, "0", "first model seed; also the synthetic data's and the probe vectors'", 0},
        {"value", OPT_STRING, &value_text, "default", "what the probe reports (see below)", 0},
        {"data", OPT_STRING, &data, DEFAULT_DATA, "data source; the inputs are its first --inputs training samples", 0},
        {"inputs", OPT_INT, &inputs, "8", "number of inputs N", 0},
        {"param", OPT_STRING, &param_text, "ntk", "parameterization: ntk (the theory's) or standard", 0},
        {"output", OPT_STRING, &output_text, "sum", "model output: k (0-based) or sum (over outputs; = 0 for one output)", 0},
        {"no-normalize", OPT_FLAG, &no_normalize, NULL, "raw inputs (default: standardised with the training split's statistics)", 0},
        {"tol", OPT_DOUBLE, &tol, "1e-6", "hessian: Lanczos tolerance (relative Ritz residual bound)", 0},
        {"steps", OPT_INT, &steps, "200", "linearity: full-batch GD steps", 0},
        {"lr", OPT_DOUBLE, &lr, "0", "linearity: step size (0: 1/lambda_max(K_0), the largest over the narrowest and widest models)", 0},
        {"held-out", OPT_INT, &held, "32", "linearity: held-out test inputs for --value gap", 0},
        {"max-memory", OPT_INT, &max_mem, "1024", "MB for a kernel or a Lanczos basis (more: exit 1 naming the size)", 0},
        {"threads", OPT_INT, &threads, "0", "threads (0: all cores)", 0},
        {"out", OPT_STRING, &out, "runs/sweep", "run folder: config.json, result.json, plots/sweep.png, report.md", 0},
        {"json", OPT_FLAG, &json, NULL, "print one JSON object last on stdout (the table goes to stderr)", 0},
    };
    static char epilog[4096];
    snprintf(epilog, sizeof epilog, "%s\n%s", sweep_epilog_head, exit_help);
    cli_command c = {"sweep",
                     "linmass sweep width --probe hessian|ntk|linearity --template SPEC --widths LIST --seeds K\n"
                     "                    [--inputs N] [--data SRC] [--param ntk|standard] [--value V] [--json] [--out DIR]",
                     sweep_about, opts, sizeof opts / sizeof *opts, epilog, positional, 1, 0};
    int rc = cli_parse(&c, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    if (c.npositional != 1 || strcmp(positional[0], "width"))
        return cli_usage_error(&c, "%s%s%s: the only sweep is 'linmass sweep width'", c.npositional ? "'" : "",
                               c.npositional ? positional[0] : "name what to sweep", c.npositional ? "'" : "");
    lm_sweep_probe sp;
    if (!strcmp(probe, "hessian")) sp = LM_SWEEP_HESSIAN;
    else if (!strcmp(probe, "ntk")) sp = LM_SWEEP_NTK;
    else if (!strcmp(probe, "linearity")) sp = LM_SWEEP_LINEARITY;
    else return cli_usage_error(&c, "--probe: '%s' is not hessian, ntk or linearity", probe);
    static const struct {
        lm_sweep_probe probe;
        const char *name;
        lm_sweep_value value;
        const char *label;
    } values[] = {
        {LM_SWEEP_HESSIAN, "mean", LM_SWEEP_HESS_MEAN, "mean_i ||H(f(x_i))||"},
        {LM_SWEEP_HESSIAN, "max", LM_SWEEP_HESS_MAX, "max_i ||H(f(x_i))||"},
        {LM_SWEEP_HESSIAN, "avg", LM_SWEEP_HESS_AVG, "||H(fbar)||, fbar = mean_i f(x_i)"},
        {LM_SWEEP_NTK, "lambda-max", LM_SWEEP_NTK_LAMBDA_MAX, "lambda_max(K)"},
        {LM_SWEEP_NTK, "lambda-min", LM_SWEEP_NTK_LAMBDA_MIN, "lambda_min(K)"},
        {LM_SWEEP_NTK, "trace", LM_SWEEP_NTK_TRACE, "trace(K)"},
        {LM_SWEEP_LINEARITY, "kernel", LM_SWEEP_LIN_KERNEL, "||K_T - K_0||_F / ||K_0||_F"},
        {LM_SWEEP_LINEARITY, "gap", LM_SWEEP_LIN_GAP, "max |f - f_lin| (held out)"},
        {LM_SWEEP_LINEARITY, "dist", LM_SWEEP_LIN_DIST, "||w_T - w_0||"},
    };
    int vi = -1;
    for (int i = 0; vi < 0 && i < (int)(sizeof values / sizeof *values); i++)
        if (values[i].probe == sp && (!strcmp(value_text, "default") || !strcmp(value_text, values[i].name))) vi = i;
    if (vi < 0)
        return cli_usage_error(&c, "--value: '%s' is not a value of the %s probe (%s)", value_text, probe,
                               sp == LM_SWEEP_HESSIAN ? "mean, max, avg" : sp == LM_SWEEP_NTK ? "lambda-max, lambda-min, trace" : "kernel, gap, dist");
    lm_param_kind param = LM_PARAM_NTK;
    int output = LM_OUTPUT_SUM;
    if ((rc = parse_param(&c, param_text, &param)) || (rc = parse_output(&c, output_text, &output))) return rc;
    if (seeds < 1) return cli_usage_error(&c, "--seeds %d must be at least 1", seeds);
    if (inputs < 1) return cli_usage_error(&c, "--inputs %d must be at least 1", inputs);
    if (tol < 0) return cli_usage_error(&c, "--tol %g must not be negative", tol);
    if (steps < 1) return cli_usage_error(&c, "--steps %d must be at least 1", steps);
    if (lr < 0) return cli_usage_error(&c, "--lr %g must not be negative", lr);
    if (held < 0) return cli_usage_error(&c, "--held-out %d must not be negative", held);
    if (max_mem < 1) return cli_usage_error(&c, "--max-memory %d must be at least 1 (MB)", max_mem);
    if (threads < 0) return cli_usage_error(&c, "--threads %d must not be negative", threads);
    if (values[vi].value == LM_SWEEP_LIN_GAP && held < 1) return cli_usage_error(&c, "--value gap needs --held-out of at least 1");
    int *widths = NULL, nw = 0;
    if ((rc = parse_widths(&c, widths_text, &widths, &nw))) return rc;
    char spec[1024];
    if (lm_spec_with_width(tmpl, widths[0], spec, sizeof spec)) {
        free(widths);
        return cli_usage_error(&c, "--template '%s' has no W to replace by the width (e.g. %s)", tmpl, DEFAULT_TEMPLATE);
    }
    lm_set_threads(threads);
    /* data: the first N training inputs, standardised, and their scalar targets */
    lm_dataset *train = NULL, *test = NULL;
    lm_model *m0 = NULL;
    double *x = NULL, *xt = NULL, *y = NULL;
    lm_sweep_result r = {0};
    int need_test = sp == LM_SWEEP_LINEARITY && held > 0, nt = 0;
    lm_status st = LM_OK;
    if ((rc = load_split(&c, data, LM_SPLIT_TRAIN, seed, &train))) goto done;
    if (need_test && (rc = load_split(&c, data, LM_SPLIT_TEST, seed, &test))) goto done;
    if ((size_t)inputs > train->n) {
        rc = cli_usage_error(&c, "--inputs %d: %s has only %zu training samples", inputs, data, train->n);
        goto done;
    }
    /* the template must build, at the first width, for this data */
    if ((st = lm_model_create(spec, train->shape, param, seed, &m0))) {
        rc = cli_fail(c.command, lm_fail_context(st, "--template at width %d", widths[0]));
        goto done;
    }
    int K = (int)lm_shape_numel(lm_model_output_shape(m0));
    if (output >= K) {
        rc = cli_usage_error(&c, "--output %d: the template has %d output%s (0..%d, or sum)", output, K, K == 1 ? "" : "s", K - 1);
        goto done;
    }
    if (!no_normalize) {
        int ch = train->shape.c;
        float *mean = calloc(ch, sizeof *mean), *sd = calloc(ch, sizeof *sd);
        st = mean && sd ? lm_dataset_channel_stats(train, mean, sd) : lm_fail(LM_ENOMEM, "out of memory");
        if (!st) st = lm_dataset_normalize(train, mean, sd);
        if (!st && test) st = lm_dataset_normalize(test, mean, sd);
        free(mean), free(sd);
        if (st) {
            rc = cli_fail(c.command, st);
            goto done;
        }
    }
    size_t nin = lm_shape_numel(train->shape);
    x = to_f64(train->x, (size_t)inputs * nin);
    if (test) {
        nt = held < (int)test->n ? held : (int)test->n;
        xt = to_f64(test->x, (size_t)nt * nin);
    }
    lm_sweep_opts so = {0};
    so.template_spec = tmpl;
    so.in = train->shape;
    so.param = param;
    so.widths = widths;
    so.n_widths = nw;
    so.seeds = seeds;
    so.seed = seed;
    so.probe = sp;
    so.value = values[vi].value;
    so.x = x;
    so.n = inputs;
    so.hessian.net.output = output;
    so.hessian.eig.tol = tol;
    so.hessian.eig.seed = seed;
    so.hessian.eig.mem_cap = (size_t)max_mem * MB;
    so.ntk.net.output = output;
    so.ntk.mem_cap = (size_t)max_mem * MB;
    if (sp == LM_SWEEP_LINEARITY) {
        setup s = {.c = &c, .train = train, .n = inputs, .K = K, .output = output, .data = data};
        if ((rc = scalar_targets(&s, &y))) goto done;
        so.linearity.net.output = output == LM_OUTPUT_SUM ? 0 : output;
        so.linearity.y = y;
        so.linearity.steps = steps;
        so.linearity.record_every = steps;
        so.linearity.x_test = xt;
        so.linearity.n_test = nt;
        so.linearity.ntk.mem_cap = (size_t)max_mem * MB;
        if (lr == 0) { /* 1/lambda_max(K_0), the largest of the narrowest and the widest models */
            double *Kx = malloc((size_t)inputs * inputs * sizeof *Kx), lmax = 0;
            lm_ntk_opts ko = so.linearity.ntk;
            ko.net = so.linearity.net;
            for (int e = 0; !st && e < 2; e++) {
                int wi = 0;
                for (int i = 1; i < nw; i++)
                    if (e ? widths[i] > widths[wi] : widths[i] < widths[wi]) wi = i;
                lm_model *mw = NULL;
                lm_spectrum spc;
                st = lm_spec_with_width(tmpl, widths[wi], spec, sizeof spec);
                if (!st) st = lm_model_create(spec, train->shape, param, seed, &mw);
                if (!st) st = Kx ? lm_probe_ntk(mw, x, inputs, &ko, Kx, NULL) : lm_fail(LM_ENOMEM, "out of memory");
                if (!st) st = lm_kernel_spectrum(Kx, inputs, &spc, NULL);
                if (!st) lmax = fmax(lmax, spc.lambda_max);
                lm_model_free(mw);
            }
            free(Kx);
            if (!st && !(lmax > 0)) st = lm_fail(LM_EINVAL, "lambda_max(K_0) is %g: give --lr", lmax);
            if (st) {
                rc = st == LM_ENOMEM ? (fprintf(stderr, "linmass sweep: %s; raise --max-memory (MB)\n", lm_error_message()), 1)
                                     : cli_fail(c.command, st);
                goto done;
            }
            lr = 1 / lmax;
            fprintf(stderr, "sweep: lr %.4g = 1/lambda_max(K_0)\n", lr);
        }
        so.linearity.lr = lr;
    }
    if ((rc = prepare_out(&c, out))) goto done;
    sweep_progress prog = {widths, seeds, cli_now()};
    so.progress = on_sweep;
    so.progress_ctx = &prog;
    fprintf(stderr, "sweep: %s over widths %s, %d seed%s, %d inputs ...\n", values[vi].label, widths_text, seeds, seeds == 1 ? "" : "s", inputs);
    st = lm_sweep_width(&so, &r);
    if (st) {
        if (st == LM_ENOMEM) {
            fprintf(stderr, "linmass sweep: %s; raise --max-memory (MB) or lower --inputs\n", lm_error_message());
            rc = 1;
        } else {
            rc = cli_fail(c.command, st);
        }
        goto done;
    }
    double secs = cli_now() - prog.t0;
    /* the summary */
    sbuf t = {0};
    sb_printf(&t, "sweep width: %s probe, %s", probe, values[vi].label);
    if (sp == LM_SWEEP_LINEARITY) sb_printf(&t, " after %d GD steps at lr %.4g", steps, lr);
    sb_printf(&t, "\ntemplate %s, %s parameterization, %d input%s of %s, seeds %llu..%llu\n", tmpl, param_name(param), inputs,
              inputs == 1 ? "" : "s", data, (unsigned long long)seed, (unsigned long long)(seed + seeds - 1));
    sb_printf(&t, "%8s %13s %12s   %s\n", "width", "mean", "sd", "per seed");
    for (int i = 0; i < nw; i++) {
        sb_printf(&t, "%8d %13.6g %12.4g  ", widths[i], r.mean[i], r.sd[i]);
        for (int s = 0; s < seeds; s++) sb_printf(&t, " %.6g", r.values[(size_t)i * seeds + s]);
        sb_printf(&t, "\n");
    }
    sb_printf(&t, "log-log slope %.3f, 95%% interval [%.3f, %.3f] (r^2 %.3f, %d degrees of freedom, %d points)\n", r.fit.slope, r.fit.ci_lo,
              r.fit.ci_hi, r.fit.r2, r.fit.dof, nw * seeds);
    if (sp == LM_SWEEP_HESSIAN)
        sb_printf(&t, "science.md 4.2: about -0.5 with a linear output layer; no decrease (about 0 or above) with a non-linear\n"
                      "output or a width-1 bottleneck\n");
    else if (sp == LM_SWEEP_LINEARITY && values[vi].value == LM_SWEEP_LIN_KERNEL)
        sb_printf(&t, "science.md 4.2: about -1 with a linear output layer (kernel constancy); order 1 with a non-linear output\n");
    sb_printf(&t, "%.1f s\n", secs);
    char png[1200], title[600];
    snprintf(png, sizeof png, "%s/plots/sweep.png", out);
    snprintf(title, sizeof title, "%s against width: %s (%s, %d inputs)", values[vi].label, tmpl, param_name(param), inputs);
    double ref = NAN;
    const char *ref_label = "";
    if (sp == LM_SWEEP_HESSIAN) ref = -0.5, ref_label = "slope -0.5: the theory for a linear output (science.md 4.2)";
    if (values[vi].value == LM_SWEEP_LIN_KERNEL) ref = -1, ref_label = "slope -1: kernel constancy, linear output (science.md 4.2)";
    int plotted = sweep_plot(png, title, values[vi].label, widths, nw, seeds, r.values, r.mean, &r.fit, ref, ref_label);
    if (plotted) sb_printf(&t, "plot: %s\n", png);
    sb_printf(&t, "run folder: %s\n", out);
    cJSON *res = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "sweep", "width");
    cJSON_AddStringToObject(res, "probe", probe);
    cJSON_AddStringToObject(res, "value", values[vi].name);
    cJSON_AddStringToObject(res, "value_label", values[vi].label);
    cJSON_AddStringToObject(res, "template", tmpl);
    cJSON_AddStringToObject(res, "param", param_name(param));
    cJSON_AddStringToObject(res, "data", data);
    cJSON_AddNumberToObject(res, "inputs", inputs);
    cJSON_AddNumberToObject(res, "seeds", seeds);
    cJSON_AddNumberToObject(res, "seed", (double)seed);
    if (sp == LM_SWEEP_LINEARITY) {
        cJSON_AddNumberToObject(res, "steps", steps);
        cJSON_AddNumberToObject(res, "lr", lr);
    }
    cJSON *wj = cJSON_AddArrayToObject(res, "widths"), *vj = cJSON_AddArrayToObject(res, "values");
    for (int i = 0; i < nw; i++) {
        cJSON_AddItemToArray(wj, cJSON_CreateNumber(widths[i]));
        cJSON_AddItemToArray(vj, number_array(r.values + (size_t)i * seeds, seeds));
    }
    cJSON_AddItemToObject(res, "mean", number_array(r.mean, nw));
    cJSON_AddItemToObject(res, "sd", number_array(r.sd, nw));
    cJSON_AddNumberToObject(res, "slope", r.fit.slope);
    cJSON_AddNumberToObject(res, "intercept", r.fit.intercept);
    cJSON_AddNumberToObject(res, "se", r.fit.se);
    double ci[2] = {r.fit.ci_lo, r.fit.ci_hi};
    cJSON_AddItemToObject(res, "ci95", number_array(ci, 2));
    cJSON_AddNumberToObject(res, "r2", r.fit.r2);
    cJSON_AddNumberToObject(res, "dof", r.fit.dof);
    if (plotted) cJSON_AddStringToObject(res, "plot", png);
    else cJSON_AddNullToObject(res, "plot");
    cJSON_AddStringToObject(res, "run", out);
    cJSON_AddNumberToObject(res, "seconds", secs);
    const char *pngs[1] = {plotted ? "sweep.png" : NULL};
    rc = write_run(&c, out, NULL, res, "linmass sweep width", &t, pngs, 1);
    if (!rc) emit(json, &t, res);
    cJSON_Delete(res);
    free(t.s);
done:
    lm_sweep_free(&r);
    lm_model_free(m0);
    lm_dataset_free(train);
    lm_dataset_free(test);
    free(widths), free(x), free(xt), free(y);
    return rc;
}
