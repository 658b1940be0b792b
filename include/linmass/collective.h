/* A collective over cooperating processes, injected into the probes (linmass/probe.h) so that
 * they split their work without knowing how the processes talk: MPI (lm_dist_collective in
 * linmass/dist.h), threads of one process, or anything else that provides these calls.
 *
 * Every process calls the probe with the same arguments and its own collective (its rank);
 * every function below is then called by every process in the same order. A NULL collective,
 * or one of size 1, means one process: nothing is split. */
#ifndef LINMASS_COLLECTIVE_H
#define LINMASS_COLLECTIVE_H

#include <stddef.h>

#include "linmass/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int rank, size; /* this process, 0..size-1, of size */
    void *ctx;      /* passed to every call */
    /* buf (n doubles) <- its sum over the processes, added in rank order (0, 1, ..., size-1)
     * so that every process gets the same bits whatever the timing. */
    lm_status (*sum_f64)(void *ctx, double *buf, size_t n);
    /* buf holds n rows of `row` doubles; process r has filled rows [lo[r], lo[r+1]) (lo has
     * size + 1 entries, lo[0] = 0, lo[size] = n, the same on every process). Afterwards every
     * process has every row. */
    lm_status (*gather_rows_f64)(void *ctx, double *buf, size_t row, const size_t *lo);
    /* LM_OK when every process passed LM_OK; otherwise, on every process, the status (and
     * message) of the lowest failing rank. */
    lm_status (*agree)(void *ctx, lm_status st);
} lm_collective;

#ifdef __cplusplus
}
#endif
#endif
