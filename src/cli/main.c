/* linmass <command> [options]: dispatch to one file per command. */
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "linmass/dist.h"
#include "linmass/version.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
    int ranks; /* 1: runs on several MPI ranks (mpirun); the others refuse */
} commands[] = {
    {"train", cmd_train, "train a model (any optimizer, schedule, data source)", 1},
    {"eval", cmd_eval, "evaluate a checkpoint: loss and accuracy", 0},
    {"plot", cmd_plot, "overlay several runs' curves on one figure (PNG, SVG or PDF)", 0},
    {"bench", cmd_bench, "training and probe speed against PyTorch's workloads, and the sgemm ceiling", 1},
    {"constants", cmd_constants, "float64 linear-regression constants: L, mu, L1, kappa-tilde, MaSS hyper-parameters", 0},
    {"theory", cmd_theory, "exact per-step rate of SGD, Nesterov or MaSS on linear regression", 0},
#ifdef LINMASS_HAVE_EXPERIMENTS
    {"repro", cmd_repro, "reproduce a claim of the papers, with plots and a verdict", 0},
#endif
    {"probe", cmd_probe, "probes of a model: Hessian norm, tangent kernel, linearity and PL* along GD", 1},
    {"sweep", cmd_sweep, "a probe over widths: mean per width, log-log slope with a 95% interval, PNG", 0},
#ifdef LINMASS_HAVE_EXPERIMENTS
    {"demo", cmd_demo, "a short tour: train the paper's FCN on Fashion-MNIST", 0},
#endif
    {"version", cmd_version, "print the version of linmass (also: linmass --version)", 0},
};
enum { NCOMMANDS = sizeof commands / sizeof *commands };

int cmd_version(int argc, char **argv)
{
    cli_command c = {"version", "linmass version (or linmass --version)", "Print the version of linmass.", NULL, 0,
                     NULL, NULL, 0, 0};
    int rc = cli_parse(&c, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    printf("linmass %s\n", lm_version());
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: linmass <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++) fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'linmass <command> --help' shows every option with its default; 'linmass --version' the version.\n");
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
    const char *near = cli_nearest(argv[1], strlen(argv[1]), names, NCOMMANDS);
    if (near) fprintf(stderr, "linmass: unknown command '%s' (did you mean %s? see linmass --help)\n", argv[1], near);
    else fprintf(stderr, "linmass: unknown command '%s' (see linmass --help)\n", argv[1]);
    return 2;
}
