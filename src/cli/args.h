/* Declarative command-line options: each command lists its options once, with type, default
 * and help; the parser fills them, --help prints them all with their defaults, and every
 * mistake becomes one clear line and exit code 2. */
#ifndef LM_CLI_ARGS_H
#define LM_CLI_ARGS_H

#include <stdint.h>
#include <stdio.h>

typedef enum { OPT_FLAG, OPT_INT, OPT_U64, OPT_DOUBLE, OPT_STRING } opt_type;

typedef struct {
    const char *name;  /* without the leading dashes */
    opt_type type;
    void *dest;        /* int*, uint64_t*, double*, const char** */
    const char *def;   /* default as text (NULL: none / off) */
    const char *help;
    int seen;          /* set by the parser */
} cli_opt;

typedef struct {
    const char *command; /* "train" */
    const char *usage;   /* "linmass train [options]" */
    const char *about;   /* paragraph printed by --help */
    cli_opt *opts;
    int nopts;
    const char *epilog;  /* printed after the options (spec syntax etc.) */
    const char **positional; /* collected positional arguments (may be NULL if none allowed) */
    int max_positional, npositional;
} cli_command;

/* Parse argv (after the command name). Returns 0 to go on, 1 when --help was printed
 * (exit 0), 2 on a usage error (already reported on stderr). Defaults are applied first. */
int cli_parse(cli_command *c, int argc, char **argv);

/* Was the option given on the command line? */
int cli_given(const cli_command *c, const char *name);

/* Report a usage error for the command: "linmass CMD: message", returns 2. */
int cli_usage_error(const cli_command *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Report a library failure: "linmass CMD: message", returns 2 for bad input, 1 otherwise. */
int cli_fail(const char *command, int status);

/* Write the resolved options as a JSON object (for config.json). */
char *cli_options_json(const cli_command *c);

/* Progress and logs: on a terminal a bar redrawn in place, otherwise one plain line every few
 * seconds. All of it goes to stderr. */
int cli_stderr_is_tty(void);
double cli_now(void);

#endif
