/* Data-parallel runs over MPI (Open MPI): `mpirun -np N linmass train ...`.
 *
 * Every rank holds the whole model; the trainer splits each global batch across the ranks and
 * sums the gradients with an lm_dist_reducer during the backward pass, or with
 * lm_dist_allreduce_f32 after it (lm_train_config.overlap; see lm_train_run). The library
 * talks to MPI only through these functions. Without MPI at build time (CMake option LINMASS_MPI off) they are a
 * serial stub: one rank, and lm_dist_init refuses to run as one of several launched processes.
 *
 * MPI is initialised only when a launcher started the process (mpirun, mpiexec or srun set
 * OMPI_COMM_WORLD_SIZE, PMI_SIZE, PMIX_RANK or SLURM_STEP_NUM_TASKS); a plain `linmass` never
 * touches MPI. Failures return LM_EIO with MPI's message; the library never aborts the job:
 * lm_dist_abort does, and only the program calls it. */
#ifndef LINMASS_DIST_H
#define LINMASS_DIST_H

#include <stddef.h>

#include "linmass/collective.h"
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
/* The trainer's overlapped sums (lm_dist_reducer): buckets of whole layers, each of at least
 * this many bytes (the last, lowest one excepted), so that the upper layers' sum starts while
 * the lower layers' backward pass runs, and small layers do not each cost a message. */
#ifndef LM_DIST_OVERLAP_BUCKET_BYTES /* a build may choose: -DLM_DIST_OVERLAP_BUCKET_BYTES=... */
#define LM_DIST_OVERLAP_BUCKET_BYTES ((size_t)1 << 20)
#endif

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

/* This rank's contiguous share [*lo, *hi) of n items split over the ranks: [n r / R, n (r+1) / R). */
void lm_dist_share(size_t n, size_t *lo, size_t *hi);

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

/* The job's collective for the probes (linmass/probe.h): this rank and the job's size,
 * lm_dist_allreduce_f64 (rank order in the ORDERED reduce mode, the default),
 * lm_dist_allgather_rows_f64 and lm_dist_agree. NULL without a job of several ranks (one
 * process). Call it after lm_dist_init. */
const lm_collective *lm_dist_collective(void);

/* 1 once an MPI call has failed: the ranks may now disagree, and the program should end the
 * job with lm_dist_abort. */
int lm_dist_failed(void);
/* End every process of the job with exit status `code` (MPI_Abort); without a job, exit(code).
 * For the program, after a failure the other ranks cannot know of. Never returns. */
void lm_dist_abort(int code) __attribute__((noreturn));

/* The gradient sums overlapped with the backward pass: a reducer sums a buffer of n floats over
 * the ranks in buckets, each bucket's collective starting as soon as all of the bucket is final,
 * while the backward pass computes the rest. Buckets: without cuts, every bucket_bytes (0 for
 * LM_DIST_BUCKET_BYTES) from the start; with cuts (ncuts ascending offsets, such as the layers'
 * slices, lm_exec_grad_slices_f32), from the top down, each bucket ends at the first cut at
 * least bucket_bytes below its top, so a bucket holds whole layers and is ready as soon as its
 * lowest layer is (as PyTorch DDP's buckets).
 * One round: lm_dist_reducer_ready for every element (in any pieces and order; the hook of
 * lm_exec_set_grad_hook_f32 fits: lm_dist_reducer_hook), then lm_dist_reducer_finish, which
 * starts what is left, waits, and leaves the sum in the buffer; the next round begins.
 * The buckets' collectives start in one fixed order on every rank (from the last bucket down,
 * whatever order the pieces come in): bucket k starts once it is complete and bucket k + 1 has
 * started. ORDERED mode: per bucket MPI_Ialltoallv, the rank-order sum in double of this
 * rank's slice, MPI_Iallgatherv (each on its own communicator, so the two phases may
 * interleave); the result is bit-identical to lm_dist_allreduce_f32's whatever the buckets
 * (each element's sum is the same sum). MPI mode: MPI_Iallreduce per bucket. Progress: each
 * ready call tests the collectives in flight (MPI moves data only inside MPI calls). With one
 * rank the sum is the buffer itself, but the bookkeeping runs (lm_dist_reducer_started).
 * Every rank creates, finishes and frees its reducer at the same point (collectives). */
typedef struct lm_dist_reducer lm_dist_reducer;
lm_status lm_dist_reducer_create(float *buf, size_t n, size_t bucket_bytes, const size_t *cuts, int ncuts,
                                 lm_dist_reducer **out);
void lm_dist_reducer_free(lm_dist_reducer *r);
/* Elements [offset, offset + count) of the buffer are final for this round. A failure (an MPI
 * error, a piece outside the buffer, more elements of a bucket than it holds) is kept and
 * returned by lm_dist_reducer_finish. */
void lm_dist_reducer_ready(lm_dist_reducer *r, size_t offset, size_t count);
/* lm_dist_reducer_ready with the signature of lm_grad_ready_fn (ctx: the reducer). */
void lm_dist_reducer_hook(void *reducer, size_t offset, size_t count);
lm_status lm_dist_reducer_finish(lm_dist_reducer *r);
/* Buckets, and how many have started their collective in this round (for tests). */
int lm_dist_reducer_buckets(const lm_dist_reducer *r);
int lm_dist_reducer_started(const lm_dist_reducer *r);

/* The gradient sums (lm_dist_allreduce_f32 and the reducers' rounds) since the start, per rank:
 * seconds: time this rank was held up by them: inside lm_dist_allreduce_f32, or inside the
 *   reducer's ready calls (starting and testing collectives, the local sums) and finish;
 *   waiting for a slower rank counts;
 * calls: sums (one per all-reduce or round), bytes: the size of the buffers summed;
 * exchange_seconds: from the start of each sum's first collective to the end of its last (for
 *   lm_dist_allreduce_f32 the same as its time), overlapped compute included. */
typedef struct {
    double seconds;
    long calls;
    double bytes;
    double exchange_seconds;
} lm_dist_stats;
void lm_dist_get_stats(lm_dist_stats *s);

#ifdef __cplusplus
}
#endif
#endif
