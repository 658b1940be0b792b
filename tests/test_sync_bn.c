// ctest-labels: unit
/* Synchronised batch norm (lm_exec_set_channel_sum), without MPI: two executors, each on one
 * thread, hold the two shares [0, lo) and [lo, n) of a batch; their hook emulates the
 * all-reduce (the two threads meet, the buffers are added, both get the sum; only one thread
 * computes at a time). Against one executor on the whole batch, in float and double, in TRAIN
 * and FROZEN modes, for uneven and empty shares, with batch norm after conv and dense layers
 * and inside residual blocks (main path and projection shortcut):
 *   - the outputs, concatenated;
 *   - the input gradients (of the MSE loss of the whole batch), concatenated;
 *   - the parameter gradients, summed over the two executors (as the trainer's all-reduce);
 *   - the running statistics and num_batches_tracked of each executor's buffers;
 * agree to 1e-5 (float) and 1e-12 (double), relative to each quantity's largest entry. The
 * same two executors without the hook must differ by more than 1e-3 (each share's own
 * statistics): the comparison can fail. Also: evaluation mode never calls the hook, a failing
 * hook is reported by lm_exec_status (once, with its message) and tangent executors refuse it. */
#ifndef SYNC_BN_TEMPLATE
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/exec.h"
#include "linmass/rng.h"

/* The emulated all-reduce of two executors on two threads. `run` is held by the thread that
 * computes; a thread lets go of it only while it waits in the hook. */
typedef struct {
    pthread_mutex_t m, run;
    pthread_cond_t cv;
    int arrived, calls, mismatch;
    unsigned long gen;
    double *slot[2];
    size_t len[2];
} pair;

typedef struct {
    pair *P;
    int t;
} pair_end;

static lm_status pair_sum(void *ctx, double *buf, size_t n)
{
    pair_end *h = ctx;
    pair *P = h->P;
    pthread_mutex_unlock(&P->run);
    pthread_mutex_lock(&P->m);
    P->slot[h->t] = buf;
    P->len[h->t] = n;
    unsigned long g = P->gen;
    if (++P->arrived == 2) {
        size_t len = P->len[0] < P->len[1] ? P->len[0] : P->len[1];
        if (P->len[0] != P->len[1]) P->mismatch = 1;
        for (size_t i = 0; i < len; i++) P->slot[0][i] = P->slot[1][i] = P->slot[0][i] + P->slot[1][i];
        P->arrived = 0;
        P->gen++;
        P->calls++;
        pthread_cond_broadcast(&P->cv);
    } else {
        while (P->gen == g) pthread_cond_wait(&P->cv, &P->m);
    }
    pthread_mutex_unlock(&P->m);
    pthread_mutex_lock(&P->run);
    return LM_OK;
}

static int counted_calls;
static lm_status count_only(void *ctx, double *buf, size_t n)
{
    (void)ctx, (void)buf, (void)n;
    counted_calls++;
    return LM_OK;
}
static lm_status failing(void *ctx, double *buf, size_t n)
{
    (void)ctx, (void)buf, (void)n;
    counted_calls++;
    return lm_fail(LM_EIO, "emulated network failure");
}

/* max |a - b| / max |b| */
static double rel_err(const double *a, const double *b, size_t n)
{
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        if (fabs(a[i] - b[i]) > d) d = fabs(a[i] - b[i]);
        if (fabs(b[i]) > s) s = fabs(b[i]);
    }
    return d / (s > 0 ? s : 1e-300);
}

typedef struct {
    const char *spec;
    lm_shape in;
    int n;
} sb_case;

static const sb_case cases[] = {
    {"conv:4x3:nobias,bn,relu,res:4,res:6/2,flatten,dense:5,bn,tanh,dense:3", {2, 6, 6}, 7},
    {"dense:6,bn,relu,dense:4:nobias,bn,dense:3", {5, 1, 1}, 9},
};

/* Random parameters, buffers (running statistics), inputs with a mean far from the running
 * mean, and targets, all in double; the float runs round them. */
typedef struct {
    lm_model *m;
    size_t np, nb, nin;
    int k, n;
    double *w, *buf, *x, *t;
} problem;

static int make_problem(const sb_case *sc, uint64_t seed, problem *pb)
{
    memset(pb, 0, sizeof *pb);
    if (lm_model_create(sc->spec, sc->in, LM_PARAM_STANDARD, seed, &pb->m)) {
        CHECK_MSG(0, "%s: %s", sc->spec, lm_error_message());
        return 0;
    }
    pb->np = lm_model_num_params(pb->m);
    pb->nb = lm_model_num_buffers(pb->m);
    pb->n = sc->n;
    pb->nin = lm_shape_numel(sc->in) * sc->n;
    pb->k = (int)lm_shape_numel(lm_model_output_shape(pb->m));
    pb->w = malloc(pb->np * sizeof *pb->w);
    pb->buf = malloc((pb->nb + 1) * sizeof *pb->buf);
    pb->x = malloc(pb->nin * sizeof *pb->x);
    pb->t = malloc((size_t)pb->n * pb->k * sizeof *pb->t);
    const float *w32 = lm_model_params(pb->m), *b32 = lm_model_buffers(pb->m);
    for (size_t i = 0; i < pb->np; i++) pb->w[i] = w32[i];
    for (size_t i = 0; i < pb->nb; i++) pb->buf[i] = b32[i];
    for (int i = 0; i < lm_model_num_tensors(pb->m); i++) {
        const lm_tensor_info *t = lm_model_tensor(pb->m, i);
        double *dst = (t->trainable ? pb->w : pb->buf) + t->offset;
        for (size_t j = 0; j < t->numel; j++) {
            double u = lm_rand_normal(seed, 20 + i, j);
            if (strstr(t->name, "running_var")) dst[j] = 0.5 + fabs(u);
            else if (strstr(t->name, "running_mean")) dst[j] = 0.1 * u;
            else if (t->ndim == 1 && !strstr(t->name, "num_batches")) dst[j] += 0.2 * u;
        }
    }
    for (size_t i = 0; i < pb->nin; i++) pb->x[i] = 2 + lm_rand_normal(seed, 40, i);
    for (size_t i = 0; i < (size_t)pb->n * pb->k; i++) pb->t[i] = lm_rand_normal(seed, 41, i);
    return 1;
}

static void free_problem(problem *pb)
{
    lm_model_free(pb->m);
    free(pb->w), free(pb->buf), free(pb->x), free(pb->t);
}

/* The results of one run, in double: output, input gradient, parameter gradient (summed over
 * the executors), and each executor's buffers. */
typedef struct {
    double *z, *gx, *grad, *buf[2];
} result;

static void result_alloc(const problem *pb, result *r)
{
    r->z = calloc((size_t)pb->n * pb->k, sizeof *r->z);
    r->gx = calloc(pb->nin, sizeof *r->gx);
    r->grad = calloc(pb->np, sizeof *r->grad);
    r->buf[0] = calloc(pb->nb + 1, sizeof *r->buf[0]);
    r->buf[1] = calloc(pb->nb + 1, sizeof *r->buf[1]);
}

static void result_free(result *r)
{
    free(r->z), free(r->gx), free(r->grad), free(r->buf[0]), free(r->buf[1]);
}

/* The largest error of a split run against the whole batch over the four quantities. */
static double worst_err(const problem *pb, const result *whole, const result *split, int print, const char *what)
{
    double ez = rel_err(split->z, whole->z, (size_t)pb->n * pb->k);
    double egx = rel_err(split->gx, whole->gx, pb->nin);
    double eg = rel_err(split->grad, whole->grad, pb->np);
    double eb = fmax(rel_err(split->buf[0], whole->buf[0], pb->nb), rel_err(split->buf[1], whole->buf[0], pb->nb));
    if (print)
        printf("  %-44s output %.2g, input grad %.2g, param grad %.2g, buffers %.2g\n", what, ez, egx, eg, eb);
    return fmax(fmax(ez, egx), fmax(eg, eb));
}

#define SYNC_BN_TEMPLATE
#define T float
#define S(name) name##_f32
#define TOL 1e-5
#include "test_sync_bn.c"
#undef T
#undef S
#undef TOL
#define T double
#define S(name) name##_f64
#define TOL 1e-12
#include "test_sync_bn.c"
#undef T
#undef S
#undef TOL

int main(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        problem pb;
        if (!make_problem(&cases[i], 7 + i, &pb)) continue;
        printf("%s (n = %d):\n", cases[i].spec, pb.n);
        int lo[] = {3, 1, 0, pb.n}; /* the first share holds samples [0, lo) */
        for (int mode = LM_MODE_TRAIN; mode <= LM_MODE_FROZEN; mode++)
            for (int s = 0; s < 4; s++) {
                run_split_f32(&pb, lo[s], (lm_mode)mode);
                run_split_f64(&pb, lo[s], (lm_mode)mode);
            }
        misc_checks_f32(&pb);
        misc_checks_f64(&pb);
        free_problem(&pb);
    }
    return check_summary();
}

#else /* ---- the typed half, compiled for float (S = _f32) and double (S = _f64) ---- */

typedef struct {
    problem *pb;
    S(lm_exec) *e;
    T *w, *buf, *x, *t, *gz, *grad, *gx;
    const T *z;
    int lo, n;
    lm_mode mode;
    pair *P;
    lm_status st;
} S(share);

/* One executor's forward and backward on samples [lo, lo + n) of the batch; the gradient is
 * that of the whole batch's mean loss (gz scaled by n / N, as the trainer does). */
static void S(share_run)(S(share) *h)
{
    problem *pb = h->pb;
    size_t per = pb->nin / pb->n;
    if (h->P) pthread_mutex_lock(&h->P->run);
    if (h->n) {
        h->z = S(lm_forward)(h->e, h->x + (size_t)h->lo * per, h->n, h->mode, NULL);
        S(lm_loss)(LM_LOSS_MSE, h->z, h->t + (size_t)h->lo * pb->k, h->n, pb->k, h->gz, NULL, NULL);
        for (size_t i = 0; i < (size_t)h->n * pb->k; i++) h->gz[i] *= (T)((double)h->n / pb->n);
        S(lm_backward)(h->e, h->gz, h->grad, h->gx, NULL, NULL);
    } else {
        S(lm_forward_empty)(h->e, h->mode);
        S(lm_backward_empty)(h->e, h->grad);
    }
    h->st = S(lm_exec_status)(h->e);
    if (h->P) pthread_mutex_unlock(&h->P->run);
}

static void *S(share_thread)(void *arg)
{
    S(share_run)(arg);
    return NULL;
}

static int S(share_init)(S(share) *h, problem *pb, int lo, int n, lm_mode mode)
{
    memset(h, 0, sizeof *h);
    h->pb = pb, h->lo = lo, h->n = n, h->mode = mode;
    if (S(lm_exec_create)(pb->m, pb->n, 0, &h->e)) {
        CHECK_MSG(0, "executor: %s", lm_error_message());
        return 0;
    }
    h->w = malloc(pb->np * sizeof *h->w);
    h->buf = malloc((pb->nb + 1) * sizeof *h->buf);
    h->x = malloc(pb->nin * sizeof *h->x);
    h->t = malloc((size_t)pb->n * pb->k * sizeof *h->t);
    h->gz = malloc((size_t)pb->n * pb->k * sizeof *h->gz);
    h->grad = malloc(pb->np * sizeof *h->grad);
    h->gx = malloc(pb->nin * sizeof *h->gx);
    for (size_t i = 0; i < pb->np; i++) h->w[i] = (T)pb->w[i];
    for (size_t i = 0; i < pb->nb; i++) h->buf[i] = (T)pb->buf[i];
    for (size_t i = 0; i < pb->nin; i++) h->x[i] = (T)pb->x[i];
    for (size_t i = 0; i < (size_t)pb->n * pb->k; i++) h->t[i] = (T)pb->t[i];
    S(lm_exec_bind)(h->e, h->w, h->buf);
    return 1;
}

static void S(share_free)(S(share) *h)
{
    S(lm_exec_free)(h->e);
    free(h->w), free(h->buf), free(h->x), free(h->t), free(h->gz), free(h->grad), free(h->gx);
}

/* Copy share h's part of the results (its rows of z and gx, its gradient added, its buffers). */
static void S(share_collect)(const S(share) *h, int which, result *r)
{
    const problem *pb = h->pb;
    size_t per = pb->nin / pb->n;
    for (size_t i = 0; i < (size_t)h->n * pb->k; i++) r->z[(size_t)h->lo * pb->k + i] = h->z[i];
    for (size_t i = 0; i < (size_t)h->n * per; i++) r->gx[(size_t)h->lo * per + i] = h->gx[i];
    for (size_t i = 0; i < pb->np; i++) r->grad[i] += h->grad[i];
    for (size_t i = 0; i < pb->nb; i++) r->buf[which][i] = h->buf[i];
}

/* The whole batch on one executor, and the split [0, lo), [lo, n) on two, with (sync = 1) or
 * without the hook; returns the worst error, or -1 when the run failed. */
static double S(split_error)(problem *pb, int lo, lm_mode mode, int sync, int print, const char *what)
{
    S(share) whole, part[2];
    result rw, rs;
    result_alloc(pb, &rw), result_alloc(pb, &rs);
    double err = -1;
    int ok = S(share_init)(&whole, pb, 0, pb->n, mode);
    ok = ok && S(share_init)(&part[0], pb, 0, lo, mode) && S(share_init)(&part[1], pb, lo, pb->n - lo, mode);
    pair P = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, {0}, {0}};
    pair_end ends[2] = {{&P, 0}, {&P, 1}};
    if (ok) {
        S(share_run)(&whole);
        S(share_collect)(&whole, 0, &rw);
        for (int t = 0; t < 2 && sync; t++) {
            CHECK(S(lm_exec_set_channel_sum)(part[t].e, pair_sum, &ends[t]) == LM_OK);
            part[t].P = &P;
        }
        pthread_t th[2];
        for (int t = 0; t < 2; t++) pthread_create(&th[t], NULL, S(share_thread), &part[t]);
        for (int t = 0; t < 2; t++) pthread_join(th[t], NULL);
        CHECK(whole.st == LM_OK && part[0].st == LM_OK && part[1].st == LM_OK);
        CHECK_MSG(!P.mismatch, "the two executors' hook calls differ in length");
        for (int t = 0; t < 2; t++) S(share_collect)(&part[t], t, &rs);
        err = worst_err(pb, &rw, &rs, print, what);
        /* 2 calls per batch-norm layer (forward, backward) */
        if (sync) CHECK_MSG(P.calls % 2 == 0 && P.calls >= 2, "%d hook calls", P.calls);
    }
    S(share_free)(&whole), S(share_free)(&part[0]), S(share_free)(&part[1]);
    result_free(&rw), result_free(&rs);
    return err;
}

static void S(run_split)(problem *pb, int lo, lm_mode mode)
{
    char what[96];
    snprintf(what, sizeof what, "%s %s, shares %d + %d:", sizeof(T) == 4 ? "float " : "double",
             mode == LM_MODE_TRAIN ? "TRAIN " : "FROZEN", lo, pb->n - lo);
    double e = S(split_error)(pb, lo, mode, 1, 1, what);
    CHECK_MSG(e >= 0 && e <= TOL, "%s %s: synchronised shares differ from the whole batch by %.3g (tolerance %g)",
              pb->m ? lm_model_spec(pb->m) : "?", what, e, TOL);
    if (lo == 0 || lo == pb->n) return;
    double u = S(split_error)(pb, lo, mode, 0, 0, what);
    printf("  %-44s without the hook (each share's statistics): %.2g\n", "", u);
    CHECK_MSG(u > 1e-3, "%s: unsynchronised shares should differ from the whole batch, by %.3g only", what, u);
}

/* Evaluation never calls the hook (and matches the hook-free executor bit for bit); a failing
 * hook is called once and reported with its message; tangent executors refuse a hook. */
static void S(misc_checks)(problem *pb)
{
    S(share) a, b;
    if (!S(share_init)(&a, pb, 0, pb->n, LM_MODE_EVAL) || !S(share_init)(&b, pb, 0, pb->n, LM_MODE_EVAL)) return;
    counted_calls = 0;
    CHECK(S(lm_exec_set_channel_sum)(a.e, count_only, NULL) == LM_OK);
    S(share_run)(&a);
    S(share_run)(&b);
    CHECK_MSG(counted_calls == 0, "evaluation called the hook %d times", counted_calls);
    CHECK(memcmp(a.z, b.z, (size_t)pb->n * pb->k * sizeof *a.z) == 0);
    CHECK(memcmp(a.grad, b.grad, pb->np * sizeof *a.grad) == 0);

    counted_calls = 0;
    a.mode = LM_MODE_FROZEN;
    CHECK(S(lm_exec_set_channel_sum)(a.e, failing, NULL) == LM_OK);
    S(share_run)(&a);
    CHECK_MSG(a.st == LM_EIO, "a failing hook: status %d", (int)a.st);
    CHECK_MSG(counted_calls == 1, "a failing hook was called %d times (once, then the executor stops asking)",
              counted_calls);
    CHECK_MSG(strstr(lm_error_message(), "emulated network failure") && strstr(lm_error_message(), "batch norm"),
              "message: %s", lm_error_message());
    CHECK(S(lm_exec_set_channel_sum)(a.e, NULL, NULL) == LM_OK && S(lm_exec_status)(a.e) == LM_OK);
    S(share_free)(&a), S(share_free)(&b);

    S(lm_exec) *t = NULL;
    if (S(lm_exec_create)(pb->m, 2, LM_EXEC_TANGENT, &t) == LM_OK) {
        CHECK(S(lm_exec_set_channel_sum)(t, count_only, NULL) == LM_EINVAL);
        CHECK_MSG(strstr(lm_error_message(), "tangent"), "message: %s", lm_error_message());
        S(lm_exec_free)(t);
    }
}

#endif
