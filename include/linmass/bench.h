/* Speed on fixed workloads: the shapes, batch sizes, optimizer and random data of the PyTorch
 * reference timings (bench/compare.sh), and the OpenBLAS sgemm rate that bounds them.
 *
 *   training   fcn (the preset, 1x28x28, batch 64), mlp (dense:1024,relu,dense:1024,relu,
 *              dense:10 on 1x28x28, batch 128), cnn (the preset, 1x28x28, batch 64), resnet20
 *              (the preset, 3x32x32, batch 64): lm_trainer_step with SGD lr 0.01, momentum 0.9,
 *              Nesterov, cross-entropy on one fixed random batch (inputs N(0,1) from
 *              LM_STREAM_DATA, labels uniform in 0..9). Rate samples_per_sec; GFLOP/s counted
 *              as 3 x forward MACs x 2 per sample; the sgemm ceiling of the same run.
 *   probes     ntk: the float64 tangent kernel of a 784-1024-1024-1 ReLU MLP on 128 inputs
 *              (kernels_per_sec); ntk-cnn: the same of conv:32x3,relu,maxpool:2,conv:64x3,relu,
 *              maxpool:2,dense:128,relu,dense:1 on 64 inputs of 1x28x28; hvp: one
 *              model-Hessian-vector product over one gradient, 784-1024-1024-1 tanh MLP, batch
 *              64 (hvp_over_grad_time).
 *   gemm       sgemm GFLOP/s at 1024^3 (the ceiling), and on the mlp's own GEMM shapes.
 *
 * Timing: 5 warm-up steps, then steps until `seconds` have passed (as torch_ref.py). Under
 * mpirun the training workloads split the batch over the ranks as linmass train does (every
 * rank calls lm_bench_run; rank 0's clock decides when to stop) and report the global batch's
 * rate with the gradient all-reduce's cost per step; the other workloads run in one process.
 * The probe workloads keep freed memory in the process (glibc's mallopt), as PyTorch's caching
 * allocator does for the reference timings. */
#ifndef LINMASS_BENCH_H
#define LINMASS_BENCH_H

#include "linmass/api.h"
#include "linmass/error.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { LM_BENCH_MAX_EXTRA = 10 };

typedef struct {
    double seconds; /* timed seconds per workload, after the warm-up (> 0) */
    int steps;      /* training workloads: exactly this many timed steps instead (0: use seconds) */
    int overlap;    /* several ranks: sum the gradients during the backward pass (1) or after it */
} lm_bench_opts;

/* seconds 3, steps 0, overlap 1 */
LM_API void lm_bench_opts_init(lm_bench_opts *o);

typedef struct {
    const char *workload; /* the name asked for */
    const char *rate_key; /* samples_per_sec, kernels_per_sec, hvp_over_grad_time or gflops */
    double rate;
    double gflops, ceiling; /* training: GFLOP/s and the sgemm ceiling (summed over the ranks);
                               -1 for the other workloads */
    int n_extra;            /* further measurements, in order: */
    const char *extra_key[LM_BENCH_MAX_EXTRA];
    double extra[LM_BENCH_MAX_EXTRA];
    /* training: batch, steps, max_rss_mib, cpu_fraction (the share of the threads' CPU time
     * the process got), and with several ranks ranks, overlap, allreduce_ms_per_step,
     * allreduce_exchange_ms_per_step, allreduce_mb_per_step; ntk: n, width; ntk-cnn: n; hvp:
     * grads_per_sec, hvps_per_sec, width; gemm: mlp_shapes_gflops */
} lm_bench_result;

/* The workloads, in the order above: i in 0..lm_bench_workload_count()-1. */
LM_API int lm_bench_workload_count(void);
LM_API const char *lm_bench_workload_name(int i);

/* 1 for a training workload (those that run under mpirun), 0 for another workload, -1 for a
 * name that is none. */
LM_API int lm_bench_is_training(const char *name);

/* Time one workload into *out. LM_EINVAL names an unknown workload or bad options. */
LM_API lm_status lm_bench_run(const char *workload, const lm_bench_opts *o, lm_bench_result *out);

/* Result r, timed with `threads` threads, as one JSON object in *json (malloc'ed), with the
 * keys of the PyTorch reference timings: r's rate under r->rate_key, its extra measurements,
 * "gflops" and "ceiling_fraction" (training workloads), "threads", "workload", "framework"
 * ("linmass"), "blas" (OpenBLAS's core), "blas_coretype" (OPENBLAS_CORETYPE, or "") and
 * "conv_kernels" (lm_kernel_isa). */
LM_API lm_status lm_bench_result_json(const lm_bench_result *r, int threads, char **json);

/* What a run of `workload` runs on, one line (no newline) in *line (malloc'ed): "WORKLOAD, T
 * thread(s)[ per rank], S s; BLAS: OpenBLAS CORE[ (OPENBLAS_CORETYPE=X)]; convolutions: ISA"
 * (" per rank" when ranks > 1; CORE: OpenBLAS's core, X: OPENBLAS_CORETYPE, ISA: lm_kernel_isa). */
LM_API lm_status lm_bench_describe(const char *workload, int threads, int ranks, double seconds, char **line);

/* Result r, timed with `threads` threads, as one line (no newline) in *line (malloc'ed): the
 * workload (%-9s), the rate (%12.1f) and its key, each extra as "  KEY %.4g", for training
 * workloads "  %.2f GFLOP/s = %.0f%% of sgemm %.1f" (gflops, its share of the ceiling, the
 * ceiling), then "  (T thread(s))". */
LM_API lm_status lm_bench_result_text(const lm_bench_result *r, int threads, char **line);

#ifdef __cplusplus
}
#endif
#endif
