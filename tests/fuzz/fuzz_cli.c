/* libFuzzer target: the command line of `linmass train` (cli_parse with train_cli.c's option
 * table, then train_cli_resolve, which parses the optimizer's and the schedule's values).
 * The input is argv after the command name, arguments separated by NUL bytes. Nothing is
 * trained: a run would need data. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/train_cli.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    /* usage errors go to stderr and --help to stdout: send both to /dev/null (libFuzzer and
     * the sanitizers keep their own handle on the real stderr) */
    FILE *null = fopen("/dev/null", "w");
    if (null) stderr = null;
    if (!freopen("/dev/null", "w", stdout)) return 0;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum { MAX_ARGS = 64 };
    if (size > 4096) return 0;
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    char *argv[MAX_ARGS + 1];
    int argc = 0;
    for (char *p = text; p < text + size && argc < MAX_ARGS; p += strlen(p) + 1) argv[argc++] = p;
    argv[argc] = NULL;

    train_cli_opts o;
    cli_command c;
    lm_train_config tc;
    train_cli_init(&c, &o, &tc, "train");
    int rc = cli_parse(&c, argc, argv);
    if (rc != 0 && rc != 1 && rc != 2) abort();
    if (rc == 0) {
        rc = train_cli_resolve(&c, &o, &tc);
        if (rc != 0 && rc != 2) abort();
        if (rc == 0 && (tc.batch < 1 || tc.epochs < 1 || tc.steps < 0 || !(tc.val_fraction >= 0 && tc.val_fraction < 1)))
            abort();
        char *json = cli_options_json(&c);
        free(json);
    }
    free(text);
    return 0;
}
