/* Speed on fixed workloads (linmass/bench.h): the training step, the float64 probes and the
 * sgemm ceiling, timed as bench/compare.sh's PyTorch reference times them. */
#include "linmass/bench.h"

#include <cblas.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "linmass/dist.h"
#include "linmass/exec.h"
#include "linmass/optim.h"
#include "linmass/probe.h"
#include "linmass/rng.h"
#include "linmass/runtime.h"
#include "linmass/train.h"

static double wall_now(void) /* wall-clock seconds */
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct {
    const char *name, *spec;
    lm_shape in;
    int batch;
} train_workload;

static const train_workload train_workloads[] = {
    {"fcn", "fcn", {1, 28, 28}, 64},
    {"mlp", "dense:1024,relu,dense:1024,relu,dense:10", {1, 28, 28}, 128},
    {"cnn", "cnn", {1, 28, 28}, 64},
    {"resnet20", "resnet20", {3, 32, 32}, 64},
};
#define N_TRAIN (int)(sizeof train_workloads / sizeof *train_workloads)

static const char *const other_workloads[] = {"ntk", "ntk-cnn", "hvp", "gemm"};
enum { N_OTHER = sizeof other_workloads / sizeof *other_workloads };

static double cpu_now(void) /* seconds of CPU time used by the process */
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double max_rss_mib(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss / 1024.0; /* kilobytes on Linux */
}

/* ---- the sgemm ceiling ---- */

typedef struct {
    int m, n, k;
    CBLAS_TRANSPOSE ta, tb;
} gemm_shape;

/* GFLOP/s of running the shapes in turn for about `seconds`. */
static double gemm_rate(const gemm_shape *s, int count, double seconds)
{
    size_t most = 0;
    for (int i = 0; i < count; i++) {
        size_t a = (size_t)s[i].m * s[i].k, b = (size_t)s[i].k * s[i].n, c = (size_t)s[i].m * s[i].n;
        size_t big = a > b ? (a > c ? a : c) : (b > c ? b : c);
        if (big > most) most = big;
    }
    float *A = malloc(most * sizeof *A), *B = malloc(most * sizeof *B), *C = malloc(most * sizeof *C);
    if (!A || !B || !C) {
        free(A), free(B), free(C);
        return 0;
    }
    lm_rand_normal_fill_f32(A, most, 1, 1, LM_STREAM_DATA);
    lm_rand_normal_fill_f32(B, most, 1, 2, LM_STREAM_DATA);
    double flops = 0, t0 = 0, t = 0;
    for (long rep = -1; rep < 1 || t - t0 < seconds; rep++) { /* rep -1 warms up */
        if (rep == 0) t0 = wall_now();
        for (int i = 0; i < count; i++) {
            int lda = s[i].ta == CblasNoTrans ? s[i].k : s[i].m, ldb = s[i].tb == CblasNoTrans ? s[i].n : s[i].k;
            cblas_sgemm(CblasRowMajor, s[i].ta, s[i].tb, s[i].m, s[i].n, s[i].k, 1, A, lda, B, ldb, 0, C, s[i].n);
            if (rep >= 0) flops += 2.0 * s[i].m * s[i].n * s[i].k;
        }
        t = wall_now();
    }
    free(A), free(B), free(C);
    return flops / (t - t0) / 1e9;
}

static const gemm_shape square_1024[] = {{1024, 1024, 1024, CblasNoTrans, CblasNoTrans}};

/* The GEMMs of one mlp training step, in the engine's orientations (dense.c): forward
 * y = x W^T, weight gradient gW = g^T x, input gradient gx = g W (none for the first layer). */
static const gemm_shape mlp_shapes[] = {
    {128, 1024, 784, CblasNoTrans, CblasTrans},  {128, 1024, 1024, CblasNoTrans, CblasTrans},
    {128, 10, 1024, CblasNoTrans, CblasTrans},   {10, 1024, 128, CblasTrans, CblasNoTrans},
    {128, 1024, 10, CblasNoTrans, CblasNoTrans}, {1024, 1024, 128, CblasTrans, CblasNoTrans},
    {128, 1024, 1024, CblasNoTrans, CblasNoTrans}, {1024, 784, 128, CblasTrans, CblasNoTrans},
};

static double ceiling_gflops(double seconds)
{
    return gemm_rate(square_1024, 1, seconds);
}

/* ---- training workloads ---- */

/* One rank's gradient sum per step (lm_dist): blocked and exchange time, and bytes. */
static void add_dist_keys(lm_bench_result *r, const lm_dist_stats *a, const lm_dist_stats *b, long steps, int overlap)
{
    int i = r->n_extra;
    double per = steps > 0 ? 1.0 / steps : 0;
    r->extra_key[i] = "ranks", r->extra[i++] = lm_dist_size();
    r->extra_key[i] = "overlap", r->extra[i++] = overlap;
    /* the time this rank was held up by the gradient sums (waiting for the other ranks included) */
    r->extra_key[i] = "allreduce_ms_per_step", r->extra[i++] = 1e3 * (b->seconds - a->seconds) * per;
    /* from the first bucket's start to the last one's end (overlapped backward included) */
    r->extra_key[i] = "allreduce_exchange_ms_per_step";
    r->extra[i++] = 1e3 * (b->exchange_seconds - a->exchange_seconds) * per;
    r->extra_key[i] = "allreduce_mb_per_step", r->extra[i++] = (b->bytes - a->bytes) * per / 1e6;
    r->n_extra = i;
}

static lm_status train_bench(const train_workload *w, double seconds, int fixed_steps, int overlap, lm_bench_result *r)
{
    lm_model *m = NULL;
    lm_trainer *t = NULL;
    lm_status st = lm_model_create(w->spec, w->in, LM_PARAM_STANDARD, 0, &m);
    lm_optim_config oc;
    lm_optim_config_init(&oc, LM_OPTIM_NESTEROV);
    oc.lr = 0.01;
    oc.momentum = 0.9;
    lm_trainer_opts opts;
    lm_trainer_opts_init(&opts, 10);
    opts.overlap = overlap;
    int n = w->batch, R = lm_dist_size();
    if (!st) st = lm_trainer_create(m, &oc, &opts, n, &t); /* the step linmass train takes */
    size_t in = lm_shape_numel(w->in);
    float *x = malloc((size_t)n * in * sizeof *x), *y = malloc((size_t)n * sizeof *y);
    if (!st && (!x || !y)) st = lm_fail(LM_ENOMEM, "bench %s: out of memory", w->name);
    if (R > 1) st = lm_dist_agree(st);
    if (!st) {
        lm_rand_normal_fill_f32(x, (uint64_t)n * in, 1, 0, LM_STREAM_DATA);
        for (int i = 0; i < n; i++) {
            uint32_t u[4];
            lm_philox(0, LM_STREAM_DATA + 1, (uint64_t)i, u);
            y[i] = (float)(u[0] % 10);
        }
        double t0 = 0, now = 0, c0 = 0, c1 = 0;
        long steps = 0;
        lm_dist_stats d0 = {0}, d1;
        for (long s = -5; !st; s++) {
            if (s == 0) t0 = wall_now(), c0 = cpu_now(), lm_dist_get_stats(&d0); /* s < 0: warm-up */
            int stop = fixed_steps ? s >= fixed_steps : s >= 1 && now - t0 >= seconds;
            if (R > 1) st = lm_dist_bcast(&stop, sizeof stop, 0); /* rank 0's clock decides */
            if (st || stop) break;
            if ((st = lm_trainer_step(t, x, y, n, NULL))) lm_fail_context(st, "bench %s", w->name);
            if (s >= 0) steps++;
            now = wall_now(), c1 = cpu_now();
        }
        lm_dist_get_stats(&d1);
        r->rate = steps * n / (now - t0);
        r->gflops = r->rate * 3 * 2 * lm_model_forward_macs(m) / 1e9;
        r->extra_key[0] = "batch", r->extra[0] = n;
        r->extra_key[1] = "steps", r->extra[1] = (double)steps;
        r->extra_key[2] = "max_rss_mib", r->extra[2] = max_rss_mib();
        /* the share of the cores the process got: below 1 on a loaded machine */
        r->extra_key[3] = "cpu_fraction", r->extra[3] = (c1 - c0) / (now - t0) / lm_get_threads();
        r->n_extra = 4;
        if (R > 1) add_dist_keys(r, &d0, &d1, steps, overlap);
    }
    r->rate_key = "samples_per_sec";
    free(x), free(y);
    lm_trainer_free(t);
    lm_model_free(m);
    return st;
}

/* ---- probe workloads (float64), as torch_ref.py's ntk_rate and hvp_ratio ---- */

typedef int (*bench_fn)(void *ctx);

static double calls_per_sec(bench_fn f, void *ctx, double seconds)
{
    if (f(ctx)) return -1;
    long n = 0;
    double t0 = wall_now(), t = t0;
    while (n == 0 || t - t0 < seconds) {
        if (f(ctx)) return -1;
        n++;
        t = wall_now();
    }
    return n / (t - t0);
}

typedef struct {
    lm_model *m;
    double *x, *K, *v, *out;
    int n;
    lm_hvp *h;
} probe_ctx;

static int one_kernel(void *c)
{
    probe_ctx *p = c;
    return lm_probe_ntk(p->m, p->x, p->n, NULL, p->K, NULL) != LM_OK;
}
static int one_grad(void *c)
{
    probe_ctx *p = c;
    lm_hvp_value(p->h, p->out);
    return 0;
}
static int one_hvp(void *c)
{
    probe_ctx *p = c;
    lm_hvp_apply(p->h, p->v, p->out);
    return 0;
}

/* Each probe call allocates and frees its buffers (tens of MB for ntk-cnn). Timed back to back,
 * glibc would return them to the system and the next call would fault them in again, page by
 * page: keep freed memory in the process instead, as PyTorch's caching allocator does for
 * torch_ref.py (bench/README.md has both). */
static void keep_freed_memory(void)
{
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

static lm_status probe_bench(const char *name, double seconds, lm_bench_result *r)
{
    keep_freed_memory();
    int cnn = !strcmp(name, "ntk-cnn"), ntk = cnn || !strcmp(name, "ntk"), width = 1024, n = ntk && !cnn ? 128 : 64;
    char spec[128];
    snprintf(spec, sizeof spec, "dense:%d,%s,dense:%d,%s,dense:1", width, ntk ? "relu" : "tanh", width,
             ntk ? "relu" : "tanh");
    if (cnn) snprintf(spec, sizeof spec, "conv:32x3,relu,maxpool:2,conv:64x3,relu,maxpool:2,dense:128,relu,dense:1");
    lm_shape in = cnn ? (lm_shape){1, 28, 28} : (lm_shape){784, 1, 1};
    probe_ctx p = {0};
    p.n = n;
    lm_status st = lm_model_create(spec, in, LM_PARAM_STANDARD, 0, &p.m);
    size_t np = p.m ? lm_model_num_params(p.m) : 0;
    p.x = malloc((size_t)n * 784 * sizeof *p.x);
    p.K = malloc((size_t)n * n * sizeof *p.K);
    p.v = malloc((np ? np : 1) * sizeof *p.v);
    p.out = malloc((np ? np : 1) * sizeof *p.out);
    if (!st && (!p.x || !p.K || !p.v || !p.out)) st = lm_fail(LM_ENOMEM, "bench %s: out of memory", name);
    if (!st) {
        lm_rand_normal_fill_f64(p.x, (uint64_t)n * 784, 1, 0, LM_STREAM_DATA);
        lm_rand_normal_fill_f64(p.v, np, 1, 1, LM_STREAM_DATA);
    }
    if (!st && ntk) {
        double rate = calls_per_sec(one_kernel, &p, seconds);
        if (rate < 0) st = LM_EINVAL; /* the message is set */
        r->rate_key = "kernels_per_sec", r->rate = rate;
        r->extra_key[0] = "n", r->extra[0] = n;
        r->extra_key[1] = "width", r->extra[1] = width;
        r->n_extra = cnn ? 1 : 2;
    } else if (!st) {
        lm_hvp_opts ho = {0};
        ho.net.max_batch = n;
        st = lm_hvp_create(p.m, p.x, n, &ho, &p.h);
        if (!st) {
            double g = calls_per_sec(one_grad, &p, seconds), h = calls_per_sec(one_hvp, &p, seconds);
            r->rate_key = "hvp_over_grad_time", r->rate = g / h;
            r->extra_key[0] = "grads_per_sec", r->extra[0] = g;
            r->extra_key[1] = "hvps_per_sec", r->extra[1] = h;
            r->extra_key[2] = "width", r->extra[2] = width;
            r->n_extra = 3;
        }
    }
    r->gflops = r->ceiling = -1; /* not reported: the probes are float64 */
    lm_hvp_free(p.h);
    free(p.x), free(p.K), free(p.v), free(p.out);
    lm_model_free(p.m);
    return st;
}

/* ---- the workloads ---- */

void lm_bench_opts_init(lm_bench_opts *o)
{
    o->seconds = 3;
    o->steps = 0;
    o->overlap = 1;
}

int lm_bench_workload_count(void) { return N_TRAIN + N_OTHER; }

const char *lm_bench_workload_name(int i)
{
    if (i < 0 || i >= N_TRAIN + N_OTHER) return NULL;
    return i < N_TRAIN ? train_workloads[i].name : other_workloads[i - N_TRAIN];
}

int lm_bench_is_training(const char *name)
{
    for (int i = 0; name && i < N_TRAIN + N_OTHER; i++)
        if (!strcmp(name, lm_bench_workload_name(i))) return i < N_TRAIN;
    return -1;
}

static void gemm_bench(double seconds, lm_bench_result *r)
{
    r->rate_key = "gflops";
    r->rate = ceiling_gflops(seconds);
    r->gflops = r->ceiling = -1; /* the rate is the ceiling itself */
    r->extra_key[0] = "mlp_shapes_gflops";
    r->extra[0] = gemm_rate(mlp_shapes, (int)(sizeof mlp_shapes / sizeof *mlp_shapes), seconds);
    r->n_extra = 1;
}

lm_status lm_bench_run(const char *name, const lm_bench_opts *o, lm_bench_result *r)
{
    memset(r, 0, sizeof *r);
    r->workload = name;
    int training = lm_bench_is_training(name);
    if (training < 0)
        return lm_fail(LM_EINVAL, "bench: unknown workload '%s' (fcn, mlp, cnn, resnet20, ntk, ntk-cnn, hvp, gemm)",
                       name ? name : "(null)");
    if (!(o->seconds > 0) || o->steps < 0)
        return lm_fail(LM_EINVAL, "bench %s: seconds %g must be positive and steps %d not negative", name, o->seconds,
                       o->steps);
    if (!training && lm_dist_size() > 1)
        return lm_fail(LM_EINVAL, "bench %s: runs in one process; only the training workloads run on several ranks", name);
    if (!strcmp(name, "gemm")) {
        gemm_bench(o->seconds, r);
        return LM_OK;
    }
    if (!training) return probe_bench(name, o->seconds, r);
    int i = 0;
    while (strcmp(name, train_workloads[i].name)) i++;
    lm_status st = train_bench(&train_workloads[i], o->seconds, o->steps, o->overlap, r);
    /* every rank measures its own at once: the machines' ceiling is their sum (rank 0's times
     * the ranks), as the rate is the global batch's */
    if (!st) r->ceiling = ceiling_gflops(o->seconds < 1 ? o->seconds : 1) * lm_dist_size();
    return st;
}
