/* The probes' use of an injected collective (linmass/collective.h): NULL, or a collective of
 * size 1, is one process and every call below is then free. */
#include "probe/probe_internal.h"

const lm_collective *lm_coll_active(const lm_collective *c) { return c && c->size > 1 ? c : NULL; }
int lm_coll_rank(const lm_collective *c) { return lm_coll_active(c) ? c->rank : 0; }
int lm_coll_size(const lm_collective *c) { return lm_coll_active(c) ? c->size : 1; }

lm_status lm_coll_agree(const lm_collective *c, lm_status st)
{
    return lm_coll_active(c) ? c->agree(c->ctx, st) : st;
}

lm_status lm_coll_sum(const lm_collective *c, double *buf, size_t n)
{
    return lm_coll_active(c) ? c->sum_f64(c->ctx, buf, n) : LM_OK;
}

lm_status lm_coll_gather_rows(const lm_collective *c, double *buf, size_t row, const size_t *lo)
{
    return lm_coll_active(c) ? c->gather_rows_f64(c->ctx, buf, row, lo) : LM_OK;
}

void lm_coll_bounds(const lm_collective *c, int n, size_t *lo)
{
    int R = lm_coll_size(c);
    for (int q = 0; q <= R; q++) lo[q] = (size_t)((unsigned long long)n * q / R);
}

void lm_coll_share(const lm_collective *c, int n, int *lo, int *hi)
{
    int r = lm_coll_rank(c), R = lm_coll_size(c);
    *lo = (int)((unsigned long long)n * r / R);
    *hi = (int)((unsigned long long)n * (r + 1) / R);
}
