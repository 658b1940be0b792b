#include "cli/train_cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linmass/dist.h"
#include "linmass/run.h"
#include "linmass/runtime.h"
#include "linmass/train.h"

/* Library text with each `name` in it as its flag: the setting's key (--max-train), else --name. */
static const char *flags_in(const char *text, char *buf, size_t len)
{
    size_t k = 0;
    for (const char *p = text; *p && k + 1 < len; p++) {
        const char *end = *p == '`' ? strchr(p + 1, '`') : NULL;
        char word[32];
        if (!end || end - p > (int)sizeof word) {
            buf[k++] = *p;
            continue;
        }
        snprintf(word, sizeof word, "%.*s", (int)(end - p - 1), p + 1);
        const lm_train_setting *t = lm_train_setting_find(word);
        k += (size_t)snprintf(buf + k, len - k, "--%s", t ? t->key : word);
        p = end;
    }
    buf[k < len ? k : len - 1] = '\0';
    return buf;
}

/* The options of this invocation alone, never taken from the run. */
static int not_inherited(const char *name)
{
    return !strcmp(name, "out") || !strcmp(name, "resume") || !strcmp(name, "overwrite") || !strcmp(name, "json");
}

/* @RUN_DEFINING@: the options a resume may not change */
static const char *run_defining_help(void)
{
    static char text[1024];
    size_t k = (size_t)snprintf(text, sizeof text, " ");
    for (int i = 0; lm_run_defining_key(i) && k < sizeof text; i++)
        k += (size_t)snprintf(text + k, sizeof text - k, " --%s", lm_run_defining_key(i));
    return text;
}

const char *cli_help_tables(const char *name)
{
    static char model[4096], optim[2048];
    if (!strcmp(name, "MODEL_SPEC")) {
        if (!model[0]) lm_model_spec_help(model, sizeof model);
        return model;
    }
    if (!strcmp(name, "DATA_SOURCES")) return lm_data_sources_help();
    if (!strcmp(name, "OPTIMIZERS")) { /* each optimizer's options with their defaults */
        char text[2048];
        lm_optim_defaults_help(text, sizeof text);
        return flags_in(text, optim, sizeof optim);
    }
    if (!strcmp(name, "RUN_DEFINING")) return run_defining_help();
    return NULL;
}

_Static_assert((int)OPT_FLAG == LM_RUN_OPT_FLAG && (int)OPT_INT == LM_RUN_OPT_INT && (int)OPT_U64 == LM_RUN_OPT_U64 &&
               (int)OPT_DOUBLE == LM_RUN_OPT_DOUBLE && (int)OPT_STRING == LM_RUN_OPT_STRING, "one order of the value types");

/* --resume: the run's options where the command line gives none (lm_run_resume_options); a
 * run-defining option given with another value is refused. */
static int inherit(cli_command *c, train_cli_opts *o, const char *dir)
{
    lm_run_option ro[sizeof o->opts / sizeof *o->opts];
    cli_opt *of[sizeof o->opts / sizeof *o->opts];
    int n = 0, conflict;
    for (int i = 0; i < c->nopts; i++)
        if (!not_inherited(c->opts[i].name))
            of[n] = &c->opts[i], ro[n++] = (lm_run_option){c->opts[i].name, (lm_run_opt_type)c->opts[i].type, c->opts[i].dest, c->opts[i].seen};
    lm_status st = lm_run_resume_options(dir, ro, n, &conflict, &o->inherited);
    for (int k = 0; k < n; k++) of[k]->seen = ro[k].given;
    return st ? cli_usage_error(c, conflict >= 0 ? "--%s" : "%s", lm_error_message()) : 0;
}

void train_cli_free(train_cli_opts *o)
{
    lm_run_recorded_free(o->inherited);
    o->inherited = NULL;
}

static void log_to_stderr(const char *line)
{
    if (lm_dist_rank() == 0) fprintf(stderr, "%s\n", line);
}

/* A setting's help line with its `names` as flags, and what the command line adds to it. */
static const char *help_of(const lm_train_setting *s, char *buf, size_t len)
{
    static const char *const notes[][2] = {{"data", " (see below)"}, {"model", " (see below)"},
                                           {"out", " (an existing run is refused unless --resume or --overwrite)"},
                                           {"resume", "; options not given come from OUT/config.json"}};
    flags_in(s->help, buf, len);
    for (size_t i = 0; i < sizeof notes / sizeof *notes; i++)
        if (!strcmp(notes[i][0], s->name)) snprintf(buf + strlen(buf), len - strlen(buf), "%s", notes[i][1]);
    return buf;
}

void train_cli_init(cli_command *c, train_cli_opts *o, lm_train_config *tc, const char *command)
{
    memset(o, 0, sizeof *o);
    lm_train_config_init(tc);
    const struct { const char *before; cli_opt opt; } own[] = { /* the command line's own, each before a setting */
        {"out", {"threads", OPT_INT, &o->threads, "0", "threads of the matrix products (0: all cores; 1 per rank under MPI); results are bit-identical per thread count", 0}},
        {"init_from", {"overwrite", OPT_FLAG, &o->overwrite, NULL, "start a new run in OUT, replacing the run there", 0}},
        {"sync_bn", {"json", OPT_FLAG, &o->json, NULL, "print one JSON summary object last on stdout", 0}},
        {"sync_bn", {"reduce", OPT_STRING, &o->reduce, "ordered", "mpirun: gradient sum ordered (rank order, bit-reproducible) or mpi (MPI_Allreduce)", 0}},
        {"sync_bn", {"overlap", OPT_STRING, &o->overlap, "on", "mpirun: sum the gradients in buckets during the backward pass (on) or after it (off); same bits", 0}},
    };
    int n = 0, max = sizeof o->opts / sizeof *o->opts;
    for (int i = 0; i < lm_train_setting_count() && n + 1 < max; i++) { /* the settings, --max-train for max_train */
        const lm_train_setting *s = lm_train_setting_at(i);
        for (size_t k = 0; k < sizeof own / sizeof *own && n + 1 < max; k++)
            if (!strcmp(own[k].before, s->name)) o->opts[n++] = own[k].opt;
        o->setting[n] = s;
        o->opts[n] = (cli_opt){s->key, (opt_type)s->type, &o->value[n], s->type == LM_RUN_OPT_FLAG ? NULL : s->def,
                                 help_of(s, o->help[n], sizeof o->help[n]), 0};
        n++;
    }
    *c = (cli_command){command, o->opts, n, cli_help_tables, NULL, 0, 0};
}

/* The parsed value of setting `name` (train_cli_resolve sets it in the configuration). */
static void *parsed(train_cli_opts *o, const char *name)
{
    for (int k = 0; k < (int)(sizeof o->opts / sizeof *o->opts); k++)
        if (o->setting[k] && !strcmp(o->setting[k]->name, name)) return o->opts[k].dest;
    return NULL;
}

/* Every setting given (or taken from the run) into *tc through lm_train_config_set; a flag only
 * when on (off is its default). */
static int set_given(const cli_command *c, const train_cli_opts *o, lm_train_config *tc)
{
    for (int k = 0; k < c->nopts; k++) {
        const cli_opt *p = &c->opts[k];
        char text[40];
        const char *v = text;
        if (!o->setting[k] || !p->seen) continue;
        switch (p->type) {
        case OPT_FLAG: v = *(int *)p->dest ? "1" : NULL; break;
        case OPT_INT: snprintf(text, sizeof text, "%d", *(int *)p->dest); break;
        case OPT_U64: snprintf(text, sizeof text, "%" PRIu64, *(uint64_t *)p->dest); break;
        case OPT_DOUBLE: snprintf(text, sizeof text, "%.17g", *(double *)p->dest); break;
        case OPT_STRING: v = *(const char **)p->dest; break;
        }
        lm_status st = v || p->type != OPT_FLAG ? lm_train_config_set(tc, o->setting[k]->name, v) : LM_OK;
        if (st) return cli_field_error(c, st, NULL);
    }
    return 0;
}

int train_cli_resolve(cli_command *c, train_cli_opts *o, lm_train_config *tc)
{
    const char *out = *(const char **)parsed(o, "out");
    int resume = *(int *)parsed(o, "resume");
    if (resume && o->overwrite) return cli_usage_error(c, "--resume continues the run in --out, --overwrite replaces it: give one");
    if (!resume && !o->overwrite && lm_run_exists(out))
        return cli_usage_error(c, "%s already holds a run: --resume continues it, --overwrite replaces it", out);
    int rc = resume ? inherit(c, o, out) : 0;
    if (rc || (rc = set_given(c, o, tc)) || (rc = cli_dist_options(c, o->reduce, o->overlap, &tc->overlap))) return rc;
    tc->log = log_to_stderr;
    lm_status st = lm_train_config_validate(tc);
    if (st) return cli_field_error(c, st, NULL);
    cli_set_threads(o->threads);
    return 0;
}

int cli_dist_options(const cli_command *c, const char *reduce, const char *overlap, int *overlap_on)
{
    if (strcmp(reduce, "ordered") && strcmp(reduce, "mpi"))
        return cli_usage_error(c, "--reduce: '%s' is not ordered or mpi", reduce);
    if (strcmp(overlap, "on") && strcmp(overlap, "off"))
        return cli_usage_error(c, "--overlap: '%s' is not on or off", overlap);
    lm_dist_set_reduce(strcmp(reduce, "mpi") ? LM_REDUCE_ORDERED : LM_REDUCE_MPI);
    *overlap_on = !strcmp(overlap, "on");
    return 0;
}

/* ---- weights files (eval, probes) ---- */

void cli_note_param_assumed(const char *file, int plain)
{
    if (lm_dist_rank() == 0)
        fprintf(stderr, "note: %s records no parameterization (%s): --param standard assumed, as PyTorch's layers compute; "
                "give --param to choose\n", file, plain ? "a plain state_dict" : "an older checkpoint");
}

/* A note when the file's layers were numbered lower than the model's (lm_weights_load). */
void cli_note_index_shift(const char *file, const char *model, int shift)
{
    if (shift && lm_dist_rank() == 0)
        fprintf(stderr, "note: %s numbers its layers %d lower than --model %s (it flattens in forward(), not in a layer): "
                "tensor k.* loaded as (k+%d).*\n", file, shift, model, shift);
}
