/* Shared plumbing of the probes: a float64 copy of a model's parameters and the LAPACK and
 * engine entry points they use. Internal to src/probe. */
#ifndef LM_PROBE_INTERNAL_H
#define LM_PROBE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "linmass/exec.h"
#include "linmass/probe.h"
#include "linmass/report.h"
#include "linmass/run.h"
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

/* The loss Hessian probe on one part of it (LM_HVP_LOSS, LM_HVP_GAUSS_NEWTON or LM_HVP_RESIDUAL):
 * the loss, the top eigenvalues and the Hutchinson trace (hessian.c). */
lm_status lm_loss_hessian_part(const lm_model *m, const double *x, int n, const lm_loss_hessian_opts *o,
                               lm_hvp_target target, lm_loss_hessian_result *r);

/* Rademacher vector s of (seed, stream): entry i is bit i % 128 of lm_philox(seed, stream,
 * s ceil(dim / 128) + i / 128), 1 -> +1, 0 -> -1 (diagonal.c). */
void lm_rademacher(uint64_t seed, uint64_t stream, uint64_t s, double *v, size_t dim);

/* k Lanczos steps, fully reorthogonalised, from the unit vector v0: the Ritz values (ascending)
 * into nodes and the squared first components of the tridiagonal's eigenvectors into weights
 * (eig.c, docs/theory.md §7.5). Returns the steps done (fewer when the Krylov space closes), or
 * -1 with *status set. */
int lm_lanczos_quadrature(size_t dim, lm_matvec_fn op, void *ctx, const double *v0, int k, double *nodes,
                          double *weights, lm_status *status);

/* LM_EINVAL when per-sample gradients are not those of the batch: batch norm or dropout outside
 * the evaluation mode (ntk.c). */
lm_status lm_ntk_check_mode(const lm_pnet *net);

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

/* ---- the probe jobs of probe.h (job.c) ---- */

/* Seconds on a monotonic clock. */
double lm_job_now(void);
/* The result object a job starts with: "probe", the inputs' keys (lm_probe_inputs_json), "run"
 * (folder or null) and "ranks"; NULL when out of memory. */
struct cJSON *lm_job_result(const lm_probe_inputs *in, const char *probe, int output, const char *folder,
                            const lm_collective *coll);
/* The JSON text (freed here) added to o under key, or its members moved to o's top level when
 * key is NULL; returns what was added under key (NULL otherwise or when out of memory). */
struct cJSON *lm_job_add(struct cJSON *o, const char *key, char *text);
/* *json = the unformatted text of o (which is freed); LM_ENOMEM when it could not be made. */
lm_status lm_job_json_out(struct cJSON *o, char **json);
/* A JSON array of v[0..n) (json.c). */
struct cJSON *lm_json_numbers(const double *v, int n);
/* "seconds" since t0 added to res, which becomes *json (res freed); LM_ENOMEM when res or the
 * report could not be built, else r's status. */
lm_status lm_job_finish(struct cJSON *res, double t0, const lm_report *r, char **json);
/* LM_EINVAL naming what is wrong with in, r and json, or LM_OK. */
lm_status lm_job_check(const char *job, const lm_probe_inputs *in, const void *o, const lm_report *r, char **json);

#endif
