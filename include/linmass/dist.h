/* Data-parallel runs over MPI (Open MPI): `mpirun -np N linmass train ...`.
 *
 * Every rank holds the whole model; the trainer splits each global batch across the ranks and
 * sums the gradients with lm_dist_allreduce_f32 (see lm_train_run). The library talks to MPI only
 * through these functions. Without MPI at build time (CMake option LINMASS_MPI off) they are a
 * serial stub: one rank, and lm_dist_init refuses to run as one of several launched processes.
 *
 * MPI is initialised only when a launcher started the process (mpirun, mpiexec or srun set
 * OMPI_COMM_WORLD_SIZE, PMI_SIZE, PMIX_RANK or SLURM_STEP_NUM_TASKS); a plain `linmass` never
 * touches MPI. Failures return LM_EIO with MPI's message; the library never aborts the job:
 * lm_dist_abort does, and only the program calls it. */
#ifndef LINMASS_DIST_H
#define LINMASS_DIST_H

#include <stddef.h>

#include "linmass/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Summation of the gradients across ranks.
 * ORDERED (the default): a reduce-scatter in which the owner of each slice of the buffer adds
 *   the ranks' contributions in rank order (0, 1, ..., N-1, accumulated in double), then an
 *   all-gather of the slices. Every rank gets the same bits, and a run is bit-identical from one
 *   launch to the next for the same N, whatever the network timing or MPI's algorithm choice.
 *   It moves as many bytes as a ring all-reduce: 2 (N-1)/N of the buffer per rank.
 * MPI: MPI_Allreduce(MPI_SUM); its order is MPI's to choose (usually fixed, not promised). */
typedef enum { LM_REDUCE_ORDERED = 0, LM_REDUCE_MPI = 1 } lm_reduce_mode;

/* Gradients travel in buckets of this many bytes (one collective each). */
#define LM_DIST_BUCKET_BYTES ((size_t)4 << 20)

/* 1 when linmass was built with MPI. */
int lm_dist_compiled(void);

/* Join the job (MPI_Init_thread with MPI_THREAD_FUNNELED) when a launcher started this process;
 * otherwise a single rank. LM_EINVAL, with a message saying what to do, when the launcher
 * started several processes that cannot see each other (a build without MPI, or srun without
 * a matching --mpi plugin). Safe to call more than once. */
lm_status lm_dist_init(int *argc, char ***argv);
/* Leave the job (MPI_Finalize) if lm_dist_init joined one. */
void lm_dist_finalize(void);

int lm_dist_rank(void); /* 0 .. size-1 */
int lm_dist_size(void); /* 1 without a job */

void lm_dist_set_reduce(lm_reduce_mode m);
lm_reduce_mode lm_dist_reduce_mode(void);

/* Collectives: every rank calls them in the same order. With one rank they do nothing. */
/* buf <- the sum of buf over the ranks, in buckets, by the reduce mode. */
lm_status lm_dist_allreduce_f32(float *buf, size_t n);
lm_status lm_dist_allreduce_f64(double *buf, size_t n);
/* Rank `root`'s bytes to every rank. */
lm_status lm_dist_bcast(void *buf, size_t bytes, int root);
lm_status lm_dist_barrier(void);
/* buf holds n rows of `row` doubles; rank r has filled rows [lo_r, lo_{r+1}), with lo (length
 * size + 1, lo_0 = 0, lo_size = n) the same on every rank. Afterwards every rank has every row. */
lm_status lm_dist_allgather_rows_f64(double *buf, size_t row, const size_t *lo);
/* Agree on a status: returns LM_OK when every rank passed LM_OK; otherwise, on every rank, the
 * status and message of the lowest failing rank (prefixed "rank R: " when R > 0). */
lm_status lm_dist_agree(lm_status st);

/* 1 once an MPI call has failed: the ranks may now disagree, and the program should end the
 * job with lm_dist_abort. */
int lm_dist_failed(void);
/* End every process of the job with exit status `code` (MPI_Abort); without a job, exit(code).
 * For the program, after a failure the other ranks cannot know of. Never returns. */
void lm_dist_abort(int code) __attribute__((noreturn));

/* Time spent in lm_dist_allreduce_f32 (the gradient sums) since the start: seconds, calls and
 * bytes summed per rank. Waiting for a slower rank counts as time spent. */
typedef struct {
    double seconds;
    long calls;
    double bytes;
} lm_dist_stats;
void lm_dist_get_stats(lm_dist_stats *s);

#ifdef __cplusplus
}
#endif
#endif
