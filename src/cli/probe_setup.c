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

int cli_field_error(const cli_command *c, lm_status st, const char *const *map)
{
    char msg[1200];
    snprintf(msg, sizeof msg, "%s", lm_error_message());
    size_t k = strcspn(msg, " :");
    for (int i = 0; st == LM_EINVAL && msg[k] && map && map[i]; i += 2)
        if (strlen(map[i]) == k && !strncmp(msg, map[i], k)) return cli_usage_error(c, "--%s%s", map[i + 1], msg + k);
    return cli_fail(c->command, st);
}

void setup_free(setup *s) { lm_probe_setup_close(s); }

/* The model and the inputs, from the shared options; 0 or the exit code. n_test: held-out
 * inputs wanted from the test split (0: none). */
static int setup_load(const cli_command *c, const common_opts *o, int n_test, setup *s)
{
    memset(s, 0, sizeof *s);
    if (o->run && (cli_given(c, "checkpoint") || cli_given(c, "model") || cli_given(c, "data") || cli_given(c, "param")))
        return cli_usage_error(c, "--run takes the model, data, parameterization and checkpoint from the run folder: "
                                  "drop --checkpoint, --model, --data and --param");
    if (o->threads < 0) return cli_usage_error(c, "--threads %d must not be negative", o->threads);
    if (o->max_mem < 1) return cli_usage_error(c, "--max-memory %d must be at least 1 (MB)", o->max_mem);
    lm_set_threads(o->threads == 0 && lm_dist_size() > 1 ? 1 : o->threads);
    lm_probe_request q = {.run = o->run, .seed = o->seed, .run_seed = !cli_given(c, "seed"), .n = o->inputs, .n_test = n_test,
                          .raw = o->no_normalize, .output = o->output};
    if (!o->run) /* a checkpoint's own parameterization, unless --param says */
        q.model = o->model, q.data = o->data, q.checkpoint = o->ckpt, q.param = o->ckpt && !cli_given(c, "param") ? NULL : o->param;
    lm_status st = lm_probe_setup_open(&q, s);
    if (st)
        return cli_field_error(c, st, (const char *const[]){"n", "inputs", "n_test", "held-out", "output", "output", "param", "param", NULL});
    if (s->param_assumed) cli_note_param_assumed(s->checkpoint, s->plain);
    if (s->checkpoint && !s->run) cli_note_index_shift(s->checkpoint, s->model, s->in.index_shift);
    return 0;
}

/* One scalar target per input for the output probed (lm_probe_inputs_targets). */
static int scalar_targets(const cli_command *c, const setup *s, double **y)
{
    lm_status st = lm_probe_inputs_targets(&s->in, s->output, y);
    return st ? cli_field_error(c, st, (const char *const[]){"output", "output", NULL}) : 0;
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
    if (!rc && y) rc = scalar_targets(c, s, y);
    if ((rc = agree_rc(c, rc))) return rc;
    return agree_rc(c, lm_dist_rank() == 0 ? prepare_out(c, o->out) : 0);
}

/* ---- the run folder and the summary ---- */

/* the options, and what they resolved to (s may be NULL) */
static lm_status write_config(const cli_command *c, const char *out, const setup *s)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "command", c->command);
    if (s) add_json(d, "resolved", lm_probe_setup_json(s));
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
