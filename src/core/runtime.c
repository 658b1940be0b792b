#include "linmass/runtime.h"

#include <omp.h>
#include <unistd.h>

void openblas_set_num_threads(int num_threads); /* from OpenBLAS; its cblas.h may not say so */

static int threads = 1;

int lm_num_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

void lm_set_threads(int t)
{
    threads = t < 1 ? lm_num_cores() : t;
    /* linmass's own element-wise loops stay on one thread: they are memory-bound, and OpenMP
     * workers spinning after each loop take the cores from OpenBLAS's threads (bench/README.md:
     * mlp 5.0k samples/s with both pools on 2 cores, 16.9k with OpenBLAS alone on 2, 10.8k on 1) */
    omp_set_num_threads(1);
    openblas_set_num_threads(threads);
}

int lm_get_threads(void) { return threads; }
