/* What linmass probe and linmass sweep share (probe_setup.c): the options every probe takes,
 * the model and inputs they resolve to, the ranks under mpirun, the run folder and the printed
 * summary. */
#ifndef LM_CLI_PROBE_CLI_H
#define LM_CLI_PROBE_CLI_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/args.h"
#include "linmass/data.h"
#include "linmass/model.h"
#include "linmass/probe.h"
#include "linmass/report.h"
#include "linmass/run.h"

#define DEFAULT_MODEL "dense:512,tanh,dense:512,tanh,dense:1"
#define DEFAULT_TEMPLATE "dense:W,tanh,dense:W,tanh,dense:1"
#define DEFAULT_DATA "synth:teacher"
#define MB ((size_t)1 << 20)


/* ---- options every probe shares ---- */

typedef struct {
    const char *model, *param, *ckpt, *run, *data, *output, *out;
    int inputs, json, threads, no_normalize, max_mem;
    uint64_t seed;
} common_opts;

#define COMMON_OPTS(o, inputs_def, out_def)                                                                       \
    {"model", OPT_STRING, &(o).model, DEFAULT_MODEL, "model spec or preset (see linmass train --help)", 0},       \
    {"param", OPT_STRING, &(o).param, "ntk", "parameterization: ntk (the theory's) or standard; --run: the run's; --checkpoint: the one it records, else standard", 0}, \
    {"checkpoint", OPT_STRING, &(o).ckpt, NULL, "probe these weights (a linmass checkpoint or a plain state_dict of --model) instead of a random init", 0}, \
    {"run", OPT_STRING, &(o).run, NULL, "probe a training run folder: model, data, param, seed and checkpoint from it", 0}, \
    {"data", OPT_STRING, &(o).data, DEFAULT_DATA, "data source; the inputs are the first --inputs training samples", 0}, \
    {"inputs", OPT_INT, &(o).inputs, inputs_def, "number of inputs N", 0},                                       \
    {"output", OPT_STRING, &(o).output, "sum", "model output probed: k (0-based) or sum (over outputs; = 0 for one output)", 0}, \
    {"no-normalize", OPT_FLAG, &(o).no_normalize, NULL, "raw inputs (default: standardised as training does; a checkpoint's own statistics)", 0}, \
    {"seed", OPT_U64, &(o).seed, "0", "seed of the random init, the synthetic data and the probe's random vectors", 0}, \
    {"threads", OPT_INT, &(o).threads, "0", "threads (0: all cores; 1 per rank under mpirun)", 0},                                     \
    {"out", OPT_STRING, &(o).out, out_def, "run folder: config.json, result.json, plots/*.png, report.md", 0},     \
    {"json", OPT_FLAG, &(o).json, NULL, "print one JSON object last on stdout (the summary goes to stderr)", 0}

/* A probe command: the common options and its own (which the parser marks as seen, so they
 * live as long as the command), and the command. */
typedef struct {
    common_opts o;
    cli_opt opts[40];
    cli_command c;
} probe_cli;

/* Parse argv into the common options (--inputs and --out defaults given) followed by the
 * probe's own nown options; cli_parse's return code (1: --help, docs/help/probe-NAME.txt, was
 * printed). */
int parse_probe(probe_cli *p, const char *command, const char *inputs_def, const char *out_def, const cli_opt *own,
                int nown, int argc, char **argv);

/* What the shared options resolve to (lm_probe_setup_open): the model (with its weights), the
 * inputs, the data, the output probed; the run folder opened for --run. */
typedef lm_probe_setup setup;

/* The set-up of every probe: model, inputs, their scalar targets when y is not NULL, and
 * (rank 0's) run folder; 0 or the exit code, agreed by every rank under mpirun. n_test:
 * held-out inputs wanted from the test split (0: none). */
int setup_all(const cli_command *c, const common_opts *o, int n_test, setup *s, double **y);
void setup_free(setup *s);

/* --widths "64,128,256" (at least two different): *out (malloc'ed) and *n; 0 or the exit code. */
int parse_widths(const cli_command *c, const char *text, int **out, int *n);

/* A failed probe: the message (with the --max-memory hint for LM_ENOMEM) and the exit code;
 * ends the MPI job when MPI itself broke. */
int probe_fail(const cli_command *c, lm_status st);
/* A result serialised by the library (JSON text, freed here) added to o: under key (returned),
 * or its members at o's top level when key is NULL. */
cJSON *add_json(cJSON *o, const char *key, char *text);

/* The run folder OUT of a probe whose library call built report r (lm_run_write_report: the
 * options of c, the setup s (may be NULL), result, its figures drawn by plot_draw); then its
 * summary goes to stdout (stderr under --json, where result comes last on stdout). 0 or the
 * exit code. */
int report_run(const cli_command *c, const char *out, const setup *s, const cJSON *result, const char *title,
               const lm_report *r, int json);
/* A report for a library job; rank 0 shows its progress on stderr as "PREFIX: message". */
lm_status probe_report(const char *prefix, lm_report **r);
/* After the library job that built r and json (st its status): the failure (probe_fail), or
 * on rank 0 the run folder and the summary (report_run); r and json are freed. 0 or the exit
 * code. */
int probe_done(const probe_cli *p, const setup *s, const char *title, lm_report *r, lm_status st, char *json);
/* probe_gd.c: linmass probe linearity (plstar 0) and linmass probe plstar (plstar 1). */
int probe_gd(int argc, char **argv, int plstar);

#endif
