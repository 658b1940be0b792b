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

#ifdef __cplusplus
}
#endif
#endif
