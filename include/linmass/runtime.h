/* Process-wide settings: the number of threads of the matrix products (OpenBLAS). linmass's own
 * element-wise loops run on one thread: with OpenMP workers beside OpenBLAS's the two pools fight
 * for the cores. Results are bit-identical for the same seed and the same thread count. */
#ifndef LINMASS_RUNTIME_H
#define LINMASS_RUNTIME_H

#include "linmass/api.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Use t threads (t < 1: the number of cores). */
LM_API void lm_set_threads(int t);
LM_API int lm_get_threads(void);
LM_API int lm_num_cores(void);

/* The instruction set of the convolution kernels: "avx512", "avx2" or "generic" (the widest
 * the CPU has, or a narrower one named by the environment variable LINMASS_ISA). */
LM_API const char *lm_kernel_isa(void);

#ifdef __cplusplus
}
#endif
#endif
