/* The tangent kernel split across ranks (lm_ntk_opts.coll = lm_dist_collective()),
 * bit-identical to one process's K on every rank:
 *   - the Gram identity: K over 700 inputs of a dense net (three row blocks of 256);
 *   - per-sample gradients of a CNN (any model), 300 inputs (two row blocks), three outputs
 *     summed: the gradient rows split over the ranks and gathered;
 *   - per-sample gradients in blocks of 7 rows (a memory cap that holds 2 blocks), 50 inputs:
 *     the block rows split over the ranks; also against the unblocked K of the same inputs (a
 *     different grouping of the sums: to 1e-13 relative).
 * ctest runs it as one rank; tests/test_mpi.sh runs it under mpirun -np 2. */
#include <math.h>
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

/* K of n inputs with the per-sample method, one process and split; returns the split one. */
static double *per_sample_pair(const lm_model *m, const double *x, int n, size_t cap, int rank, int ranks,
                               const char *what, lm_ntk_info *info)
{
    double *K1 = malloc((size_t)n * n * sizeof *K1), *Kd = malloc((size_t)n * n * sizeof *Kd);
    lm_ntk_opts o = {0};
    o.method = LM_NTK_PER_SAMPLE;
    o.net.output = LM_OUTPUT_SUM;
    o.mem_cap = cap;
    double t0 = now();
    lm_status st = lm_probe_ntk(m, x, n, &o, K1, NULL);
    double t1 = now();
    CHECK_MSG(st == LM_OK, "%s, one process: %s", what, lm_error_message());
    o.coll = lm_dist_collective();
    st = lm_probe_ntk(m, x, n, &o, Kd, info);
    double t2 = now();
    CHECK_MSG(st == LM_OK, "%s, rank %d of %d: %s", what, rank, ranks, lm_error_message());
    CHECK_MSG(!memcmp(K1, Kd, (size_t)n * n * sizeof *K1), "%s, rank %d of %d: the split kernel differs", what, rank,
              ranks);
    if (rank == 0)
        printf("per-sample %s %dx%d (blocks of %d rows, %ld backward passes on rank 0): one process %.3f s, split over "
               "%d rank%s %.3f s; bit-identical\n", what, n, n, info->block, info->passes, t1 - t0, ranks,
               ranks > 1 ? "s" : "", t2 - t1);
    free(K1);
    return Kd;
}

static void per_sample(int rank, int ranks)
{
    lm_model *m;
    lm_status st = lm_model_create("conv:4x3,relu,maxpool:2,dense:16,tanh,dense:3", (lm_shape){2, 8, 8}, LM_PARAM_NTK, 5,
                                   &m);
    CHECK_MSG(st == LM_OK, "%s", lm_error_message());
    enum { NS = 300, NB = 50 };
    double *x = malloc((size_t)NS * 128 * sizeof *x);
    lm_rand_normal_fill_f64(x, (size_t)NS * 128, 1.0, 4, 80);
    size_t p = lm_model_num_params(m);
    lm_ntk_info info;
    double *K = per_sample_pair(m, x, NS, 0, rank, ranks, "CNN", &info);
    /* the rows split in whole batches of 8 samples: 38 batches, 19 per rank of 2 */
    int batches = (NS + 7) / 8, b0 = batches * rank / ranks, b1 = batches * (rank + 1) / ranks;
    long mine = (b1 * 8 < NS ? b1 * 8 : NS) - b0 * 8;
    CHECK_MSG(info.block == NS && info.passes == 3 * mine, "rank %d: %ld rows formed, not %ld", rank, info.passes, 3 * mine);
    free(K);
    /* the first NB inputs, whole and in blocks of 7 */
    double *Kw = per_sample_pair(m, x, NB, 0, rank, ranks, "CNN", &info);
    size_t cap = (size_t)NB * NB * sizeof(double) + 2 * 7 * p * sizeof(double);
    double *Kb = per_sample_pair(m, x, NB, cap, rank, ranks, "CNN", &info);
    CHECK(info.block == 7);
    double d = 0, s = 0;
    for (size_t i = 0; i < (size_t)NB * NB; i++) d = fmax(d, fabs(Kw[i] - Kb[i])), s = fmax(s, fabs(Kw[i]));
    CHECK_MSG(d <= 1e-13 * s, "blocked and whole per-sample kernels differ by %.3g relative", d / s);
    if (rank == 0) printf("blocked against whole per-sample kernel: %.2g relative\n", d / s);
    free(Kw), free(Kb), free(x);
    lm_model_free(m);
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
    o.coll = lm_dist_collective();
    st = lm_probe_ntk(m, x, N, &o, Kd, NULL);
    double t2 = now();
    CHECK_MSG(st == LM_OK, "rank %d of %d: %s", rank, ranks, lm_error_message());
    CHECK_MSG(!memcmp(K1, Kd, (size_t)N * N * sizeof *K1), "rank %d of %d: the split kernel differs", rank, ranks);
    if (rank == 0)
        printf("tangent kernel %dx%d: one process %.3f s, split over %d rank%s %.3f s; bit-identical\n", N, N,
               t1 - t0, ranks, ranks > 1 ? "s" : "", t2 - t1);
    free(x), free(K1), free(Kd);
    lm_model_free(m);
    per_sample(rank, ranks);
    int rc = check_summary();
    lm_dist_finalize();
    return rc;
}
