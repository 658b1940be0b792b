/* The tangent kernel split across ranks (lm_ntk_opts.distribute): K over 700 inputs (three row
 * blocks of 256) is bit-identical to one process's K, on every rank. ctest runs it as one rank;
 * tests/test_mpi.sh runs it under mpirun -np 2, where each rank forms its own row blocks. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "linmass/dist.h"
#include "linmass/probe.h"
#include "linmass/rng.h"

enum { N = 700 };

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

int main(int argc, char **argv)
{
    CHECK_MSG(lm_dist_init(&argc, &argv) == LM_OK, "%s", lm_error_message());
    int rank = lm_dist_rank(), ranks = lm_dist_size();
    lm_model *m;
    lm_status st = lm_model_create("dense:128,tanh,dense:128,tanh,dense:1", (lm_shape){20, 1, 1}, LM_PARAM_NTK, 3, &m);
    CHECK_MSG(st == LM_OK, "%s", lm_error_message());
    double *x = malloc((size_t)N * 20 * sizeof *x), *K1 = malloc((size_t)N * N * sizeof *K1),
           *Kd = malloc((size_t)N * N * sizeof *Kd);
    lm_rand_normal_fill_f64(x, (size_t)N * 20, 1.0, 3, 80);
    lm_ntk_opts o = {0};
    o.method = LM_NTK_GRAM;
    double t0 = now();
    st = lm_probe_ntk(m, x, N, &o, K1, NULL);
    double t1 = now();
    CHECK_MSG(st == LM_OK, "one process: %s", lm_error_message());
    o.distribute = 1;
    st = lm_probe_ntk(m, x, N, &o, Kd, NULL);
    double t2 = now();
    CHECK_MSG(st == LM_OK, "rank %d of %d: %s", rank, ranks, lm_error_message());
    CHECK_MSG(!memcmp(K1, Kd, (size_t)N * N * sizeof *K1), "rank %d of %d: the split kernel differs", rank, ranks);
    if (rank == 0)
        printf("tangent kernel %dx%d: one process %.3f s, split over %d rank%s %.3f s; bit-identical\n", N, N,
               t1 - t0, ranks, ranks > 1 ? "s" : "", t2 - t1);
    free(x), free(K1), free(Kd);
    lm_model_free(m);
    int rc = check_summary();
    lm_dist_finalize();
    return rc;
}
