/* The options of linmass train, and helpers that other commands share: the data-parallel options
 * (bench), weights files (eval, probes) and the parts of the help screens made from the
 * library's tables (train, probes). */
#ifndef LM_CLI_TRAIN_CLI_H
#define LM_CLI_TRAIN_CLI_H

#include "cli/args.h"
#include "linmass/run.h"
#include "linmass/train.h"

/* The options of a command that trains: one per setting of the library's table
 * (lm_train_setting_at; --max-train for max_train), set in lm_train_config through
 * lm_train_config_set, and the command line's own (threads, overwrite, json, reduce, overlap). */
typedef struct {
    int threads, json, overwrite;
    const char *reduce; /* mpirun: ordered or mpi (lm_dist_set_reduce) */
    const char *overlap; /* mpirun: on or off (lm_train_config.overlap) */
    cli_opt opts[48];
    const lm_train_setting *setting[48]; /* opts[k]'s setting; NULL for the command line's own */
    union { int i; uint64_t u; double d; const char *s; } value[48]; /* a setting's value as parsed */
    char help[48][256]; /* a setting's help line, its `names` as flags */
    lm_run_recorded *inherited; /* --resume: the run's options, which own the strings taken from it */
} train_cli_opts;

/* The help placeholders made from the library's tables (a cli_help_fill): @MODEL_SPEC@ (the
 * layers, lm_model_spec_help), @DATA_SOURCES@ (lm_data_sources_help), @OPTIMIZERS@ (each
 * optimizer's options with their defaults) and @RUN_DEFINING@ (the options a resume keeps). */
const char *cli_help_tables(const char *name);

/* The options of a command that trains, set in *tc (lm_train_config_init) and *o; its help is
 * docs/help/COMMAND.txt. */
void train_cli_init(cli_command *c, train_cli_opts *o, lm_train_config *tc, const char *command);

/* Options -> configuration; reports a usage error (returns 2) on bad values. With --resume the
 * options not on the command line come from OUT/config.json, and one there that defines the run
 * (data, model, optimizer, seed, batch, ...) given with another value is a usage error. */
int train_cli_resolve(cli_command *c, train_cli_opts *o, lm_train_config *tc);
void train_cli_free(train_cli_opts *o);

/* The data-parallel options of train and bench: --reduce ordered|mpi, set for the process
 * (lm_dist_set_reduce), and --overlap on|off into *overlap_on; 0, or 2 after a usage error. */
int cli_dist_options(const cli_command *c, const char *reduce, const char *overlap, int *overlap_on);

/* The note on stderr that a weights file records no parameterisation, so standard is taken
 * (plain: a plain state_dict, else an older checkpoint). */
void cli_note_param_assumed(const char *file, int plain);
/* A note on stderr when lm_weights_load loaded the file's layers under an index shift. */
void cli_note_index_shift(const char *file, const char *model, int shift);

#endif
