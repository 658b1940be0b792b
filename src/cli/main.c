/* linmass <command> [options]: dispatch to one file per command. */
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "linmass/dist.h"
#include "linmass/error.h"
#include "linmass/version.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    int ranks; /* 1: runs on several MPI ranks (mpirun); the others refuse */
} commands[] = {
    {"train", cmd_train, 1},
    {"eval", cmd_eval, 0},
    {"plot", cmd_plot, 0},
    {"bench", cmd_bench, 1},
    {"constants", cmd_constants, 0},
    {"theory", cmd_theory, 0},
#ifdef LINMASS_HAVE_EXPERIMENTS
    {"repro", cmd_repro, 0},
#endif
    {"probe", cmd_probe, 1},
    {"sweep", cmd_sweep, 0},
#ifdef LINMASS_HAVE_EXPERIMENTS
    {"demo", cmd_demo, 0},
#endif
    {"version", cmd_version, 0},
};
enum { NCOMMANDS = sizeof commands / sizeof *commands };

int cmd_version(int argc, char **argv)
{
    cli_command c = {"version", NULL, 0, NULL, NULL, 0, 0};
    int rc = cli_parse(&c, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    printf("linmass %s\n", lm_version());
    return 0;
}

static int is_command(const char *name, size_t len)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strlen(commands[i].name) == len && !strncmp(commands[i].name, name, len)) return 1;
    return 0;
}

/* docs/help/linmass.txt, without the lines "  NAME  summary" of commands this build lacks */
static void usage(FILE *f)
{
    for (const char *line = cli_help_text("linmass"); line && *line;) {
        size_t len = strcspn(line, "\n"), end = len + (line[len] == '\n');
        int listed = !strncmp(line, "  ", 2) && line[2] != ' ';
        if (!listed || is_command(line + 2, strcspn(line + 2, " \n"))) fwrite(line, 1, end, f);
        line += end;
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) return cmd_version(argc - 2, argv + 2);
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(argv[1], commands[i].name)) continue;
        /* under mpirun / srun: join the job (train splits its batches over the ranks) */
        if (lm_dist_init(&argc, &argv)) {
            fprintf(stderr, "linmass %s: %s\n", argv[1], lm_error_message());
            lm_dist_finalize();
            return 2;
        }
        if (lm_dist_size() > 1 && !commands[i].ranks) {
            if (lm_dist_rank() == 0) {
                fprintf(stderr, "linmass %s: runs as one process (run it without mpirun); these run on several ranks:",
                        argv[1]);
                for (size_t j = 0; j < NCOMMANDS; j++)
                    if (commands[j].ranks) fprintf(stderr, " %s", commands[j].name);
                fprintf(stderr, "\n");
            }
            lm_dist_finalize();
            return 2;
        }
        int rc = commands[i].run(argc - 2, argv + 2);
        lm_dist_finalize();
        return rc;
    }
    const char *names[NCOMMANDS];
    for (size_t i = 0; i < NCOMMANDS; i++) names[i] = commands[i].name;
    const char *near = lm_nearest(argv[1], strlen(argv[1]), names, NCOMMANDS);
    if (near) fprintf(stderr, "linmass: unknown command '%s' (did you mean %s? see linmass --help)\n", argv[1], near);
    else fprintf(stderr, "linmass: unknown command '%s' (see linmass --help)\n", argv[1]);
    return 2;
}
