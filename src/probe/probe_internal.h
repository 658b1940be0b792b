/* Shared plumbing of the probes: a float64 copy of a model's parameters and the LAPACK and
 * engine entry points they use. Internal to src/probe. */
#ifndef LM_PROBE_INTERNAL_H
#define LM_PROBE_INTERNAL_H

#include <stddef.h>

#include "linmass/exec.h"
#include "linmass/probe.h"
#include "nn/layer.h"

/* The network as a probe sees it: float64 parameters and buffers (owned copies), the mode,
 * the selected output and the batch limit. */
typedef struct {
    const lm_model *m;
    size_t np, nb, nin; /* parameters, buffers, input numel per sample */
    int K;              /* outputs per sample */
    double *w, *buf;
    lm_mode mode;
    int output;         /* 0..K-1 or LM_OUTPUT_SUM */
    int max_batch;
} lm_pnet;

lm_status lm_pnet_init(lm_pnet *p, const lm_model *m, const lm_probe_net *o);
void lm_pnet_free(lm_pnet *p);
/* The output columns phi uses: [*k0, *k1). */
void lm_pnet_outputs(const lm_pnet *p, int *k0, int *k1);

/* The injected collective (collective.c): NULL or size 1 is one process, where these do
 * nothing (rank 0 of 1, the whole range). */
const lm_collective *lm_coll_active(const lm_collective *c); /* c when size > 1, else NULL */
int lm_coll_rank(const lm_collective *c);
int lm_coll_size(const lm_collective *c);
lm_status lm_coll_agree(const lm_collective *c, lm_status st);
lm_status lm_coll_sum(const lm_collective *c, double *buf, size_t n);
lm_status lm_coll_gather_rows(const lm_collective *c, double *buf, size_t row, const size_t *lo);
/* lo[0..size]: the processes' contiguous shares of n items, [n r / R, n (r+1) / R). */
void lm_coll_bounds(const lm_collective *c, int n, size_t *lo);
/* This process's share [*lo, *hi) of n items. */
void lm_coll_share(const lm_collective *c, int n, int *lo, int *hi);

/* From src/nn/engine/sensitivity.c (the f64 instance): a batched backward through an all-dense
 * network that hands every dense layer's input activations and output sensitivities to cb.
 * Returns 0 when the model is not all-dense. */
typedef void (*lm_dense_sens_fn_f64)(void *ctx, const lm_layer *L, int n, const double *a,
                                     const double *delta);
int lm_exec_dense_sensitivities_f64(lm_exec_f64 *e, const double *gz, lm_dense_sens_fn_f64 cb,
                                    void *ctx);

/* LAPACK (OpenBLAS exports them; Debian ships no lapacke.h). Trailing hidden lengths of the
 * character arguments, as gfortran passes them. */
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
             double *w, double *work, const int *lwork, int *iwork, const int *liwork, int *info,
             size_t jobz_len, size_t uplo_len);
void dstev_(const char *jobz, const int *n, double *d, double *e, double *z, const int *ldz,
            double *work, int *info, size_t jobz_len);

#endif
