#include "linmass/runtime.h"

#include <omp.h>
#include <unistd.h>

#include "core/parallel.h"

/* from OpenBLAS; its cblas.h may not say so */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);

static int threads = 1;

int lm_num_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

void lm_set_threads(int t)
{
    threads = t < 1 ? lm_num_cores() : t;
    /* OpenMP's team stays at one thread: linmass's parallel loops use its own pool
     * (lm_par_run), whose workers sleep soon after a job. Short loops on OpenMP's spinning
     * workers beside OpenBLAS's threads take the cores from OpenBLAS (bench/README.md: mlp
     * 5.0k samples/s with both pools on 2 cores, 16.9k with OpenBLAS alone on 2, 10.8k on 1). */
    omp_set_num_threads(1);
    openblas_set_num_threads(threads);
}

int lm_get_threads(void) { return threads; }

int lm_par_max_threads(void)
{
    int n = lm_num_cores();
    return n > 64 ? 64 : n;
}

int lm_par_threads(size_t work)
{
    if (work < LM_PAR_MIN_WORK) return 1;
    int t = threads, most = lm_par_max_threads();
    return t < most ? t : most;
}

int lm_blas_single(void)
{
    int t = openblas_get_num_threads();
    if (t != 1) openblas_set_num_threads(1);
    return t;
}

typedef struct {
    size_t count;
    int shares;
    lm_range_fn fn;
    void *ctx;
} range_job;

static void range_share(void *arg, int k)
{
    range_job *j = arg;
    j->fn(j->ctx, j->count * k / j->shares, j->count * (k + 1) / j->shares);
}

void lm_par_range(size_t count, lm_range_fn fn, void *ctx)
{
    int t = lm_par_threads(count);
    if (t == 1) {
        fn(ctx, 0, count);
        return;
    }
    /* 4 ranges per thread: a thread that starts late leaves its ranges to the others */
    range_job j = {count, 4 * t, fn, ctx};
    lm_par_run(t, j.shares, range_share, &j);
}

void lm_blas_restore(int t)
{
    if (t != 1) openblas_set_num_threads(t);
}
