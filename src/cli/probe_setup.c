/* What linmass probe and linmass sweep share (probe_cli.h): resolving the common options to a
 * model and inputs, the ranks under mpirun, the run folder and the printed summary. */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/probe_cli.h"
#include "cli/report_render.h"
#include "cli/train_cli.h"
#include "linmass/dist.h"
#include "linmass/io.h"
#include "linmass/probe.h"
#include "linmass/run.h"
#include "linmass/runtime.h"
#include "linmass/train.h"

/* A growing text buffer: the printed summary and report.md. */
typedef struct {
    char *s;
    size_t n, cap;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
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

int parse_probe(probe_cli *p, const char *command, const char *inputs_def, const char *out_def, const cli_opt *own,
                int nown, int argc, char **argv)
{
    cli_opt common[] = {COMMON_OPTS(p->o, inputs_def, out_def)};
    int nc = (int)(sizeof common / sizeof *common);
    memcpy(p->opts, common, sizeof common);
    memcpy(p->opts + nc, own, nown * sizeof *own);
    p->c = (cli_command){command, p->opts, nc + nown, cli_help_tables, NULL, 0, 0};
    return cli_parse(&p->c, argc, argv);
}

/* ---- the model and the inputs ---- */

void setup_free(setup *s)
{
    lm_probe_inputs_close(&s->in);
    lm_run_close(s->run);
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

/* --run DIR: the model, data, param, seed and checkpoint of a training run folder. */
static int setup_from_run(const cli_command *c, const common_opts *o, setup *s, const char **param_io)
{
    const char *param = *param_io;
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
    *param_io = param;
    return 0;
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
    int rc;
    if ((rc = setup_from_run(c, o, s, &param))) return rc;
    /* a checkpoint's own parameterization, unless --param says */
    rc = s->ckpt && !o->run ? cli_weights_param(c, s->ckpt, cli_given(c, "param") ? param : NULL, &s->param)
                            : parse_param(c, param, &s->param);
    if (rc || (rc = parse_output(c, o->output, &s->output))) return rc;
    if (o->inputs < 1) return cli_usage_error(c, "--inputs %d must be at least 1", o->inputs);
    if (o->threads < 0) return cli_usage_error(c, "--threads %d must not be negative", o->threads);
    if (o->max_mem < 1) return cli_usage_error(c, "--max-memory %d must be at least 1 (MB)", o->max_mem);
    lm_set_threads(o->threads == 0 && lm_dist_size() > 1 ? 1 : o->threads);
    lm_probe_inputs_spec ps = {s->model, s->data, s->ckpt, s->run, s->param, o->seed, s->data_seed, o->inputs, n_test,
                               o->no_normalize};
    lm_status st = lm_probe_inputs_open(&ps, &s->in);
    if (st) return cli_fail(c->command, st);
    if (s->ckpt && !s->run) cli_note_index_shift(s->ckpt, s->model, s->in.index_shift);
    int K = s->in.outputs;
    if (s->output >= K)
        return cli_usage_error(c, "--output %d: the model has %d output%s (0..%d, or sum)", s->output, K, K == 1 ? "" : "s", K - 1);
    return 0;
}

/* One scalar target per input for output k: the regression target k, or 1{class = k}. */
static int scalar_targets(const setup *s, double **y)
{
    const lm_dataset *d = s->in.train;
    int k = s->output == LM_OUTPUT_SUM ? 0 : s->output;
    if (s->output == LM_OUTPUT_SUM && s->in.outputs != 1)
        return cli_usage_error(s->c, "gradient descent on one scalar output: the model has %d outputs, give --output k", s->in.outputs);
    if (d->classes && s->in.outputs != d->classes)
        return cli_usage_error(s->c, "%s has %d classes: use a model with %d outputs and --output k (the target is 1{class = k})",
                               s->data, d->classes, d->classes);
    if (!d->classes && d->target_dim != s->in.outputs)
        return cli_usage_error(s->c, "%s has %d target values per sample but the model has %d outputs", s->data, d->target_dim,
                               s->in.outputs);
    *y = malloc(s->in.n * sizeof **y);
    lm_status st = *y ? lm_run_output_targets(d, s->in.n, k, *y) : lm_fail(LM_ENOMEM, "out of memory");
    return st ? cli_fail(s->c->command, st) : 0;
}

int parse_widths(const cli_command *c, const char *text, int **out, int *n)
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

int probe_fail(const cli_command *c, lm_status st)
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

int setup_all(const cli_command *c, const common_opts *o, int n_test, setup *s, double **y)
{
    int rc = setup_load(c, o, n_test, s);
    if (!rc && y) rc = scalar_targets(s, y);
    if ((rc = agree_rc(c, rc))) return rc;
    return agree_rc(c, lm_dist_rank() == 0 ? prepare_out(c, o->out) : 0);
}

static const char *param_name(lm_param_kind p) { return p == LM_PARAM_NTK ? "ntk" : "standard"; }

/* ---- the run folder and the summary ---- */

static void add_resolved(cJSON *cfg, const setup *s)
{
    cJSON *r = cJSON_AddObjectToObject(cfg, "resolved");
    cJSON_AddStringToObject(r, "model", s->model);
    cJSON_AddStringToObject(r, "model_spec", lm_model_spec(s->in.model));
    cJSON_AddStringToObject(r, "data", s->data);
    cJSON_AddStringToObject(r, "param", param_name(s->param));
    cJSON_AddNumberToObject(r, "data_seed", (double)s->data_seed);
    if (s->ckpt) cJSON_AddStringToObject(r, "checkpoint", s->ckpt);
    cJSON_AddBoolToObject(r, "normalized", s->in.normalized);
}

/* the options, and what they resolved to (s may be NULL) */
static lm_status write_config(const cli_command *c, const char *out, const setup *s)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "command", c->command);
    if (s) add_resolved(d, s);
    char *opts = cli_options_json(c), *derived = cJSON_PrintUnformatted(d);
    lm_status st = opts && derived ? lm_run_write_config(out, opts, derived) : lm_fail(LM_ENOMEM, "out of memory");
    free(opts), free(derived);
    cJSON_Delete(d);
    return st;
}

/* config.json, result.json and report.md (md) */
static lm_status write_files(const cli_command *c, const char *out, const setup *s, const cJSON *result, const sbuf *md)
{
    char *res = cJSON_Print(result);
    lm_status st = res ? write_config(c, out, s) : lm_fail(LM_ENOMEM, "out of memory");
    if (!st) st = lm_run_write_result(out, res, md->s ? md->s : "");
    free(res);
    return st;
}

/* The summary to stdout (stderr under --json, where the JSON object comes last on stdout). */
static void emit(int json, const sbuf *text, cJSON *result)
{
    fputs(text->s ? text->s : "", json ? stderr : stdout);
    if (json) cli_print_json(result);
    fflush(stdout);
}

int report_run(const cli_command *c, const char *out, const setup *s, cJSON *result, const char *title,
               const lm_report *r, int json)
{
    sbuf md = {0}, t = {0};
    char plots[1100];
    snprintf(plots, sizeof plots, "%s/plots", out);
    sb_printf(&md, "# %s\n\n", title);
    for (int i = 0; i < lm_report_block_count(r); i++) {
        lm_report_block b = lm_report_block_at(r, i);
        if (b.text) {
            sb_printf(&md, "```\n%s```\n\n", b.text);
            sb_printf(&t, "%s", b.text);
        } else if (render_figure(b.figure, plots)) {
            sb_printf(&md, "![%s](plots/%s)\n\n", b.figure->caption ? b.figure->caption : b.figure->file, b.figure->file);
            sb_printf(&t, "plot: %s/%s\n", plots, b.figure->file);
        }
    }
    sb_printf(&t, "run folder: %s\n", out);
    lm_status st = write_files(c, out, s, result, &md);
    free(md.s);
    if (!st) emit(json, &t, result);
    free(t.s);
    return st ? cli_fail(c->command, st) : 0;
}

lm_status probe_report(const char *prefix, lm_report **r)
{
    static render_progress pg;
    pg = (render_progress){prefix, stderr, 0};
    lm_status st = lm_report_create(0, r);
    if (!st && lm_dist_rank() == 0) lm_report_set_progress(*r, render_progress_fn, &pg);
    return st;
}

int probe_done(const probe_cli *p, const setup *s, const char *title, lm_report *r, lm_status st, char *json)
{
    cJSON *res = st ? NULL : cJSON_Parse(json);
    if (!st && !res) st = lm_fail(LM_ENOMEM, "out of memory for the result");
    int rc = st ? probe_fail(&p->c, st) : lm_dist_rank() == 0 ? report_run(&p->c, p->o.out, s, res, title, r, p->o.json) : 0;
    cJSON_Delete(res);
    free(json);
    lm_report_free(r);
    return rc;
}

cJSON *add_json(cJSON *o, const char *key, char *text)
{
    cJSON *j = text ? cJSON_Parse(text) : NULL, *e;
    free(text);
    if (j && key) {
        cJSON_AddItemToObject(o, key, j);
        return j;
    }
    while (j && (e = j->child)) cJSON_AddItemToObject(o, e->string, cJSON_DetachItemViaPointer(j, e));
    cJSON_Delete(j);
    return NULL;
}
