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
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
}

int lm_get_threads(void) { return threads; }
