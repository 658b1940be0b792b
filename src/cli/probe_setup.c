/* What linmass probe and linmass sweep share (probe_cli.h): resolving the common options to a
 * model and inputs, the ranks under mpirun, the run folder and the printed summary. */
#include <cjson/cJSON.h>
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

void setup_free(setup *s) { lm_probe_setup_close(s); }

/* The model and the inputs, from the shared options; 0 or the exit code. n_test: held-out
 * inputs wanted from the test split (0: none). */
static int setup_load(const cli_command *c, const common_opts *o, int n_test, setup *s)
{
    memset(s, 0, sizeof *s);
    if (o->max_mem < 1) return cli_usage_error(c, "--max-memory %d must be at least 1 (MB)", o->max_mem);
    cli_set_threads(o->threads);
    /* the defaults of --model, --data and --param only without --run (which refuses them given);
     * a checkpoint's own parameterization, unless --param says */
    lm_probe_request q = {.run = o->run, .seed = o->seed, .run_seed = !cli_given(c, "seed"), .n = o->inputs, .n_test = n_test,
                          .raw = o->no_normalize, .output = o->output, .checkpoint = o->ckpt,
                          .model = !o->run || cli_given(c, "model") ? o->model : NULL,
                          .data = !o->run || cli_given(c, "data") ? o->data : NULL,
                          .param = (o->run || o->ckpt) && !cli_given(c, "param") ? NULL : o->param};
    lm_status st = lm_probe_setup_open(&q, s);
    if (st)
        return cli_field_error(c, st, (const char *const[]){"n", "inputs", "n_test", "held-out", NULL});
    if (s->param_assumed) cli_note_param_assumed(s->checkpoint, s->plain);
    if (s->checkpoint && !s->run) cli_note_index_shift(s->checkpoint, s->model, s->in.index_shift);
    return 0;
}

/* One scalar target per input for the output probed (lm_probe_inputs_targets). */
static int scalar_targets(const cli_command *c, const setup *s, double **y)
{
    lm_status st = lm_probe_inputs_targets(&s->in, s->output, y);
    return st ? cli_field_error(c, st, NULL) : 0;
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

int report_run(const cli_command *c, const char *out, const setup *s, const cJSON *result, const char *title,
               const lm_report *r, int json)
{
    char *opts = cli_options_json(c), *res = cJSON_PrintUnformatted(result), *summary = NULL;
    lm_run_report_spec spec = {title, opts, c->command, s, res, render_draw, NULL};
    lm_status st = opts && res ? lm_run_write_report(out, r, &spec, &summary) : lm_fail(LM_ENOMEM, "out of memory");
    free(opts), free(res);
    if (!st) {
        fputs(summary, json ? stderr : stdout);
        if (json) cli_print_json(result);
        fflush(stdout);
    }
    free(summary);
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
