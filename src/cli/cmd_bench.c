/* linmass bench: speed on the workloads of the PyTorch reference timings (bench/compare.sh; same
 * shapes, batch sizes, optimizer and random data), and the OpenBLAS sgemm rate that bounds them.
 * The library times them (linmass/bench.h, which lists the workloads); this file parses the
 * options, says what runs on stderr and prints the results: a line per workload, or with --json
 * one JSON object per workload with torch_ref.py's keys. Under mpirun only the training
 * workloads run; rank 0 prints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/train_cli.h"
#include "linmass/bench.h"
#include "linmass/dist.h"
#include "linmass/runtime.h"

/* All cores: since linmass's own loops stay on one thread (runtime.c), OpenBLAS's threads
 * have the cores to themselves and two threads beat one on every workload (bench/README.md). */
#define BENCH_DEFAULT_THREADS "0"

/* ---- output ---- */

static void print_result(const lm_bench_result *r, int threads, int json)
{
    char *text = NULL;
    if (!(json ? lm_bench_result_json(r, threads, &text) : lm_bench_result_text(r, threads, &text))) printf("%s\n", text);
    free(text);
    fflush(stdout);
}

int cmd_bench(int argc, char **argv)
{
    int threads = 1, json = 0, steps = 0;
    double seconds = 3;
    const char *overlap = "on", *reduce = "ordered";
    const char *names[16];
    cli_opt opts[] = {
        {"threads", OPT_INT, &threads, BENCH_DEFAULT_THREADS, "threads (0: all cores); the default is the fastest here", 0},
        {"seconds", OPT_DOUBLE, &seconds, "3", "timed seconds per workload, after 5 warm-up steps", 0},
        {"steps", OPT_INT, &steps, "0", "training workloads: time exactly this many steps instead (0: use --seconds)", 0},
        {"json", OPT_FLAG, &json, NULL, "one JSON object per workload (torch_ref.py's keys)", 0},
        {"overlap", OPT_STRING, &overlap, "on", "mpirun: sum the gradients during the backward pass (on) or after it (off)", 0},
        {"reduce", OPT_STRING, &reduce, "ordered", "mpirun: gradient sum ordered (rank order) or mpi (MPI_Allreduce)", 0},
    };
    cli_command c = {"bench", opts, sizeof opts / sizeof *opts, NULL, names, 16, 0};
    int rc = cli_parse(&c, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    if (!c.npositional) return cli_usage_error(&c, "name a workload: fcn, mlp, cnn, resnet20, ntk, ntk-cnn, hvp or gemm");
    if (!(seconds > 0)) return cli_usage_error(&c, "--seconds %g must be positive", seconds);
    if (steps < 0) return cli_usage_error(&c, "--steps %d must not be negative", steps);
    for (int i = 0; i < c.npositional; i++)
        if (lm_bench_is_training(names[i]) < 0)
            return cli_usage_error(&c, "unknown workload '%s': choose fcn, mlp, cnn, resnet20, ntk, ntk-cnn, hvp or gemm", names[i]);
    lm_bench_opts bo = {seconds, steps, 1};
    if ((rc = cli_dist_options(&c, reduce, overlap, &bo.overlap))) return rc;
    int R = lm_dist_size(), rank = lm_dist_rank();
    for (int i = 0; R > 1 && i < c.npositional; i++)
        if (lm_bench_is_training(names[i]) != 1) { /* every rank sees the same names: all stop */
            if (rank == 0)
                fprintf(stderr, "linmass bench: '%s' runs as one process (run it without mpirun); under mpirun only "
                                "the training workloads fcn, mlp, cnn, resnet20 run\n", names[i]);
            return 2;
        }
    cli_set_threads(threads);
    for (int i = 0; i < c.npositional; i++) {
        char *line = NULL;
        if (rank == 0 && !lm_bench_describe(names[i], lm_get_threads(), R, seconds, &line))
            fprintf(stderr, "linmass bench: %s\n", line);
        free(line);
        if (R > 1 && rank == 0) fprintf(stderr, "linmass bench: %d ranks, overlap %s, reduce %s\n", R, overlap, reduce);
        lm_bench_result r;
        lm_status st = lm_bench_run(names[i], &bo, &r);
        if (st) {
            if (lm_dist_failed()) { /* the other ranks may be stuck in a collective */
                fprintf(stderr, "linmass bench: %s\n", lm_error_message());
                lm_dist_abort(1);
            }
            return rank == 0 ? cli_fail("bench", st) : 1;
        }
        if (rank == 0) print_result(&r, lm_get_threads(), json);
    }
    return 0;
}
