/* linmass's own parallel loops (internal). Convolutions split their batch across threads, and
 * large element-wise layers split their elements, on linmass's own pool (not OpenMP's, whose
 * workers spin after every parallel region and take the cores from OpenBLAS's threads and
 * from each other on a busy machine: bench/README.md); everything else stays on one thread. */
#ifndef LM_CORE_PARALLEL_H
#define LM_CORE_PARALLEL_H

#include <stddef.h>

/* Element-wise loops shorter than this stay on one thread: the mlp's 128 x 1024 activations
 * (131072) are among them, resnet20's smallest (64 x 64 x 8 x 8 = 262144) are not. */
#define LM_PAR_MIN_WORK ((size_t)1 << 18)

/* The most threads a parallel loop may use: the per-thread workspaces of an executor are sized
 * for this many, whatever lm_set_threads says later. */
int lm_par_max_threads(void);

/* Threads for a loop of `work` elements (or samples x work): 1 below LM_PAR_MIN_WORK, else
 * min(lm_get_threads(), lm_par_max_threads()). */
int lm_par_threads(size_t work);

/* fn(ctx, k) for k in [0, shares), on the caller and up to threads - 1 workers of linmass's
 * pool (src/core/pool.c); returns when all are done. Shares are claimed one by one, in no fixed
 * order and by any thread: results must not depend on which thread runs a share. From inside
 * a share, or while another thread runs a job, the shares run serially in the caller. */
typedef void (*lm_par_fn)(void *ctx, int share);
void lm_par_run(int threads, int shares, lm_par_fn fn, void *ctx);

/* fn(ctx, begin, end) over [0, count) cut into ranges, in parallel when count is large
 * (lm_par_threads); an element-wise loop's body goes in fn. */
typedef void (*lm_range_fn)(void *ctx, size_t begin, size_t end);
void lm_par_range(size_t count, lm_range_fn fn, void *ctx);

/* OpenBLAS on one thread while our own threads each call it, and back: each call of
 * lm_blas_single returns the count to give lm_blas_restore. */
int lm_blas_single(void);
void lm_blas_restore(int threads);

#endif
