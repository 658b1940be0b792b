/* Declarative command-line options: each command lists its options once, with type, default
 * and help; the parser fills them, --help prints them all with their defaults, and every
 * mistake becomes one clear line and exit code 2. */
#ifndef LM_CLI_ARGS_H
#define LM_CLI_ARGS_H

#include <signal.h>
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

/* The text of a help screen's placeholder line "@NAME@" (cmake/help_embed.cmake), made when the
 * help is printed, ending in a newline or not; NULL: not one of the command's. */
typedef const char *(*cli_help_fill)(const char *name);

typedef struct {
    const char *command; /* "train", "probe hessian": its --help is docs/help/train.txt, probe-hessian.txt */
    cli_opt *opts;
    int nopts;
    cli_help_fill help; /* the placeholders of its help screen but @OPTIONS@ (NULL: none) */
    const char **positional; /* collected positional arguments (may be NULL if none allowed) */
    int max_positional, npositional;
} cli_command;

/* The help screens docs/help/NAME.txt, built into the program by cmake/help_embed.cmake (its
 * @INCLUDE lines expanded, its placeholder lines kept). */
typedef struct {
    const char *name, *text;
} cli_help_screen;
extern const cli_help_screen cli_help_screens[];
extern const int cli_help_screen_count;

/* The text of help screen name (NULL: none). */
const char *cli_help_text(const char *name);

/* Print help screen name on stdout, each placeholder line in its place: @OPTIONS@ as c's option
 * table with defaults, the others as c->help gives them. 0, or 2 after one line on stderr when
 * the screen or the text of one of its placeholders is missing (nothing is printed then). */
int cli_print_help(const char *name, const cli_command *c);

/* Parse argv (after the command name). Returns 0 to go on, 1 when --help was printed
 * (exit 0), 2 on a usage error (already reported on stderr). Defaults are applied first.
 *
 * The same rules hold in every command, without code of its own:
 * - an unknown option names the nearest one ("unknown option '--epoch' (did you mean
 *   --epochs?)");
 * - a number option followed by an option ("--lr --out DIR") says that it needs a number and
 *   got '--out'; a text option followed by one of the command's options likewise;
 * - options with one meaning everywhere are checked here for whichever command declares them:
 *   --threads N must be in 0..CLI_MAX_THREADS (0: all cores). */
enum { CLI_MAX_THREADS = 1024 }; /* tens of thousands crash the OpenMP runtime */
int cli_parse(cli_command *c, int argc, char **argv);

/* Was the option given on the command line? */
int cli_given(const cli_command *c, const char *name);

/* Report a usage error for the command: "linmass CMD: message", returns 2. */
int cli_usage_error(const cli_command *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Report a library failure: "linmass CMD: message", returns 2 for bad input, 1 otherwise. */
int cli_fail(const char *command, int status);

/* A library failure st (the exit code). For LM_EINVAL, each field of the library's message that
 * starts it or a clause after ": " is written as its flag (the map's: pairs field, flag,
 * NULL-ended; else the command's option of the field's last '.'-component with '_' as '-',
 * "max_train" -> --max-train), and the message is a usage error; a message without such a field,
 * and any other failure, is told as it is (cli_fail). */
int cli_field_error(const cli_command *c, int st, const char *const *map);

/* --threads N of every command: lm_set_threads(N), except that 0 (all cores) is 1 per rank
 * under mpirun, where the ranks share the cores. */
void cli_set_threads(int threads);

/* Write the resolved options as a JSON object (for config.json); an option without a default
 * that was not given is null. */
char *cli_options_json(const cli_command *c);

/* Long commands that can stop cleanly (train, sweep): from this call on, SIGINT and SIGTERM set
 * the flag returned to the signal's number, once: the handler resets itself, so a second signal
 * ends the program at once. A signal ignored when the program started (a background job of a
 * shell without job control) stays ignored. The command polls the flag, stops at a clean point
 * and exits 128 + the signal (130, 143). */
volatile sig_atomic_t *cli_catch_stop_signals(void);
/* "SIGINT" or "SIGTERM" */
const char *cli_signal_name(int sig);

/* The one JSON writer of the commands: o on one line of stdout (numbers that are not finite as
 * null), flushed. The caller keeps o. */
struct cJSON;
void cli_print_json(const struct cJSON *o);

/* Progress and logs: on a terminal a bar redrawn in place, otherwise one plain line every few
 * seconds. All of it goes to stderr. */
int cli_stderr_is_tty(void);
double cli_now(void);

#endif
