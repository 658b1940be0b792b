/* The gradient all-reduce overlapped with the backward pass.
 *  1. The executor's gradient-ready hook: during lm_backward the reported slices tile
 *     [0, num_params) from the top down, one per top-level layer with parameters (residual
 *     blocks included), and each slice is already final when reported (bit-equal to the
 *     gradient after the whole backward).
 *  2. lm_dist_reducer's bucket bookkeeping: a bucket starts only when all of it is final and
 *     every bucket above it has started; finish starts the rest; pieces outside the buffer, or
 *     more of a bucket than it holds (a piece reported twice), are refused.
 *  3. The sums: pieces reported in an order that differs from rank to rank give, in the
 *     ordered mode, the bits of lm_dist_allreduce_f32 and of a reference sum formed here from
 *     every rank's data (rank order, in double); in the mpi mode the reference to 1e-6.
 * ctest runs it as one rank; tests/test_mpi.sh runs it under mpirun -np 2 and -np 3. */
// ctest-labels: mpi unit
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/dist.h"
#include "linmass/exec.h"
#include "linmass/rng.h"

/* ---- 1. the hook ---- */

typedef struct {
    const float *grad;
    float *snap;
    size_t off[64], cnt[64];
    int calls;
} hook_log;

static void record(void *ctx, size_t offset, size_t count)
{
    hook_log *h = ctx;
    if (h->calls < 64) h->off[h->calls] = offset, h->cnt[h->calls] = count;
    h->calls++;
    memcpy(h->snap + offset, h->grad + offset, count * sizeof *h->snap);
}

static void check_hook(const char *spec, lm_shape in, int n)
{
    lm_model *m;
    lm_exec_f32 *e;
    lm_status st = lm_model_create(spec, in, LM_PARAM_STANDARD, 1, &m);
    CHECK_MSG(st == LM_OK, "%s: %s", spec, lm_error_message());
    if (st) return;
    CHECK(lm_exec_create_f32(m, n, 0, &e) == LM_OK);
    size_t np = lm_model_num_params(m), d = lm_shape_numel(in);
    int k = (int)lm_shape_numel(lm_model_output_shape(m));
    float *x = malloc((size_t)n * d * sizeof *x), *gz = malloc((size_t)n * k * sizeof *gz);
    float *grad = malloc(np * sizeof *grad), *snap = malloc(np * sizeof *snap);
    lm_rand_normal_fill_f32(x, (uint64_t)n * d, 1, 2, LM_STREAM_DATA);
    lm_rand_normal_fill_f32(gz, (uint64_t)n * k, 1, 3, LM_STREAM_DATA);
    for (size_t i = 0; i < np; i++) grad[i] = snap[i] = 12345.0f; /* stale values: must be overwritten */
    hook_log h = {grad, snap, {0}, {0}, 0};
    lm_exec_bind_f32(e, lm_model_params(m), lm_model_buffers(m));
    lm_exec_set_grad_hook_f32(e, record, &h);
    lm_forward_f32(e, x, n, LM_MODE_TRAIN, NULL);
    lm_backward_f32(e, gz, grad, NULL, NULL, NULL);
    /* the slices run from the top down and tile [0, np) */
    size_t top = np;
    for (int i = 0; i < h.calls && i < 64; i++) {
        CHECK_MSG(h.off[i] + h.cnt[i] == top && h.cnt[i] > 0, "%s: slice %d is [%zu, %zu), expected it to end at %zu",
                  spec, i, h.off[i], h.off[i] + h.cnt[i], top);
        top = h.off[i];
    }
    CHECK_MSG(top == 0, "%s: the slices stop at %zu, not 0", spec, top);
    size_t starts[64];
    int ns = lm_exec_grad_slices_f32(e, starts, 64);
    CHECK_MSG(ns == h.calls, "%s: %d slice starts for %d slices", spec, ns, h.calls);
    for (int i = 0; i < ns && i < h.calls && h.calls <= 64; i++)
        CHECK_MSG(starts[i] == h.off[h.calls - 1 - i], "%s: slice start %d is %zu, the hook said %zu", spec, i,
                  starts[i], h.off[h.calls - 1 - i]);
    CHECK_MSG(memcmp(snap, grad, np * sizeof *grad) == 0, "%s: a slice changed after it was reported final", spec);
    int changed = 0;
    for (size_t i = 0; i < np; i++) changed += grad[i] != 12345.0f;
    CHECK_MSG(changed > (int)(np / 2), "%s: the backward wrote only %d of %zu entries", spec, changed, np);
    int calls = h.calls;
    lm_exec_set_grad_hook_f32(e, NULL, NULL); /* removed: no more calls */
    lm_backward_f32(e, gz, grad, NULL, NULL, NULL);
    CHECK(h.calls == calls);
    if (lm_dist_rank() == 0) printf("  %-40s %zu parameters in %d slices, each final when reported\n", spec, np, calls);
    free(x), free(gz), free(grad), free(snap);
    lm_exec_free_f32(e);
    lm_model_free(m);
}

/* ---- 2. bookkeeping ---- */

static void check_bookkeeping(void)
{
    float buf[10] = {0};
    lm_dist_reducer *r;
    /* buckets of 3 floats: [0,3) [3,6) [6,9) [9,10) */
    CHECK(lm_dist_reducer_create(buf, 10, 3 * sizeof(float), NULL, 0, &r) == LM_OK);
    CHECK(lm_dist_reducer_buckets(r) == 4);
    lm_dist_reducer_ready(r, 9, 1);
    CHECK(lm_dist_reducer_started(r) == 1); /* the top bucket */
    lm_dist_reducer_ready(r, 0, 3);
    CHECK(lm_dist_reducer_started(r) == 1); /* bucket 0 is complete, but 1 and 2 have not started */
    lm_dist_reducer_ready(r, 7, 2);
    CHECK(lm_dist_reducer_started(r) == 1); /* bucket 2 lacks element 6 */
    lm_dist_reducer_ready(r, 4, 3);
    CHECK(lm_dist_reducer_started(r) == 2); /* bucket 2 complete; 1 lacks element 3 */
    lm_dist_reducer_ready(r, 3, 1);
    CHECK(lm_dist_reducer_started(r) == 4); /* 1 and then 0, which was waiting */
    CHECK(lm_dist_reducer_finish(r) == LM_OK);
    CHECK(lm_dist_reducer_started(r) == 0); /* a new round */
    lm_dist_reducer_ready(r, 5, 5);
    CHECK(lm_dist_reducer_started(r) == 2);
    CHECK(lm_dist_reducer_finish(r) == LM_OK); /* starts 1 and 0 itself */
    CHECK(lm_dist_reducer_finish(r) == LM_OK); /* nothing reported: all started by finish */
    lm_dist_reducer_ready(r, 8, 5);
    CHECK(lm_dist_reducer_finish(r) == LM_EINVAL); /* outside the buffer */
    CHECK(strstr(lm_error_message(), "outside") != NULL);
    lm_dist_reducer_ready(r, 0, 3);
    lm_dist_reducer_ready(r, 1, 1);
    CHECK(lm_dist_reducer_finish(r) == LM_EINVAL); /* more of bucket 0 than it holds */
    CHECK(strstr(lm_error_message(), "already") != NULL);
    lm_dist_reducer_ready(r, 0, 10);
    CHECK(lm_dist_reducer_started(r) == 4);
    CHECK(lm_dist_reducer_finish(r) == LM_OK); /* the round after a failure is clean */
    lm_dist_reducer_free(r);
    /* cuts: from the top, a bucket ends at the first cut at least 3 elements below its top */
    size_t cuts[] = {0, 2, 2, 5, 6, 9, 10}, bad[] = {5, 3}, beyond[] = {11};
    CHECK(lm_dist_reducer_create(buf, 10, 3 * sizeof(float), cuts, 7, &r) == LM_OK);
    CHECK(lm_dist_reducer_buckets(r) == 3); /* [0,2) [2,6) [6,10) */
    lm_dist_reducer_ready(r, 7, 3);
    CHECK(lm_dist_reducer_started(r) == 0);
    lm_dist_reducer_ready(r, 6, 1);
    CHECK(lm_dist_reducer_started(r) == 1);
    lm_dist_reducer_ready(r, 2, 3);
    CHECK(lm_dist_reducer_started(r) == 1);
    lm_dist_reducer_ready(r, 5, 1);
    CHECK(lm_dist_reducer_started(r) == 2);
    lm_dist_reducer_ready(r, 0, 2);
    CHECK(lm_dist_reducer_started(r) == 3);
    CHECK(lm_dist_reducer_finish(r) == LM_OK);
    lm_dist_reducer_free(r);
    CHECK(lm_dist_reducer_create(buf, 10, 100, cuts, 7, &r) == LM_OK); /* 25 floats: one bucket */
    CHECK(lm_dist_reducer_buckets(r) == 1);
    lm_dist_reducer_free(r);
    CHECK(lm_dist_reducer_create(buf, 10, 4, cuts + 1, 5, &r) == LM_OK); /* 1 float: a bucket per cut */
    CHECK(lm_dist_reducer_buckets(r) == 5); /* [0,2) [2,5) [5,6) [6,9) [9,10) */
    lm_dist_reducer_free(r);
    CHECK(lm_dist_reducer_create(buf, 10, 4, bad, 2, &r) == LM_EINVAL);
    CHECK(lm_dist_reducer_create(buf, 10, 4, beyond, 1, &r) == LM_EINVAL);
    CHECK(lm_dist_reducer_create(buf, 10, 2, NULL, 0, &r) == LM_EINVAL); /* less than one float */
    CHECK(lm_dist_reducer_create(buf, 0, 0, NULL, 0, &r) == LM_OK);      /* an empty buffer */
    CHECK(lm_dist_reducer_buckets(r) == 0);
    CHECK(lm_dist_reducer_finish(r) == LM_OK);
    lm_dist_reducer_free(r);
}

/* ---- 3. the sums ---- */

enum { N = 1000, BUCKET = 64 }; /* without cuts 16 buckets, the last of 40 */

/* Rank q's contribution; every rank can form every rank's. */
static void contribution(int q, float *out)
{
    lm_rand_normal_fill_f32(out, N, 1, 100 + (uint64_t)q, LM_STREAM_DATA);
}

/* Report [0, N) in pieces whose sizes and order depend on `who` (the buckets' start order must
 * not): cuts every 97 + 29 who elements, the pieces shuffled by a seeded Fisher-Yates. */
static void report_in_pieces(lm_dist_reducer *r, int who)
{
    size_t cut[64];
    int order[64], pieces = 0;
    for (size_t at = 0; at < N; at += 97 + 29 * (size_t)who) cut[pieces] = at, order[pieces] = pieces, pieces++;
    cut[pieces] = N;
    for (int i = pieces - 1; i > 0; i--) {
        uint32_t u[4];
        lm_philox(7 + (uint64_t)who, LM_STREAM_DATA, (uint64_t)i, u);
        int j = (int)(u[0] % (uint32_t)(i + 1)), t = order[i];
        order[i] = order[j], order[j] = t;
    }
    for (int i = 0; i < pieces; i++) lm_dist_reducer_ready(r, cut[order[i]], cut[order[i] + 1] - cut[order[i]]);
}

static void check_sums(void)
{
    int rank = lm_dist_rank(), R = lm_dist_size();
    float *mine = malloc(N * sizeof *mine), *blocking = malloc(N * sizeof *blocking), *ref = malloc(N * sizeof *ref),
          *other = malloc(N * sizeof *other);
    double *acc = calloc(N, sizeof *acc);
    for (int q = 0; q < R; q++) {
        contribution(q, other);
        for (int i = 0; i < N; i++) acc[i] += other[i];
    }
    for (int i = 0; i < N; i++) ref[i] = (float)acc[i];
    contribution(rank, blocking);
    lm_dist_set_reduce(LM_REDUCE_ORDERED);
    CHECK(lm_dist_allreduce_f32(blocking, N) == LM_OK);
    CHECK_MSG(memcmp(blocking, ref, N * sizeof *ref) == 0, "the blocking ordered sum differs from the reference");
    lm_dist_stats s0, s1;
    /* buckets [0,1) [1,131) [131,500) [500,640) [640,1000): one of a single element */
    const size_t cuts[] = {0, 1, 130, 131, 500, 640, 999};
    for (int cfg = 0; cfg < 4; cfg++) {
        int mode = cfg & 1, cut = cfg >> 1;
        lm_dist_set_reduce(mode ? LM_REDUCE_MPI : LM_REDUCE_ORDERED);
        lm_dist_reducer *r;
        CHECK(lm_dist_reducer_create(mine, N, BUCKET * sizeof(float), cut ? cuts : NULL, cut ? 7 : 0, &r) == LM_OK);
        CHECK(lm_dist_reducer_buckets(r) == (cut ? 5 : 16));
        for (int round = 0; round < 3; round++) { /* rounds reuse the reducer */
            contribution(rank, mine);
            lm_dist_get_stats(&s0);
            if (round < 2) report_in_pieces(r, round ? R - 1 - rank : rank);
            CHECK(lm_dist_reducer_finish(r) == LM_OK); /* round 2: finish starts every bucket */
            lm_dist_get_stats(&s1);
            if (R > 1) CHECK(s1.calls == s0.calls + 1 && s1.bytes == s0.bytes + N * sizeof(float));
            double worst = 0;
            for (int i = 0; i < N; i++) {
                double dv = (mine[i] - (double)ref[i]) / (fabs(ref[i]) > 1 ? fabs(ref[i]) : 1);
                if (fabs(dv) > worst) worst = fabs(dv);
            }
            if (!mode)
                CHECK_MSG(memcmp(mine, blocking, N * sizeof *mine) == 0,
                          "round %d: the overlapped ordered sum is not the blocking one's bits (worst %.3g)", round,
                          worst);
            else CHECK_MSG(worst <= 1e-6, "round %d: MPI_Iallreduce's sum is %.3g from the reference", round, worst);
            if (round == 2 && rank == 0)
                printf("  %d rank%s, %s, %d %s buckets: %s\n", R, R > 1 ? "s" : "", mode ? "mpi" : "ordered",
                       lm_dist_reducer_buckets(r), cut ? "cut" : "equal",
                       mode ? "within 1e-6 of the reference" : "bit-identical to the blocking sum");
        }
        lm_dist_reducer_free(r);
    }
    lm_dist_set_reduce(LM_REDUCE_ORDERED);
    free(mine), free(blocking), free(ref), free(other), free(acc);
}

int main(int argc, char **argv)
{
    CHECK_MSG(lm_dist_init(&argc, &argv) == LM_OK, "%s", lm_error_message());
    if (lm_dist_rank() == 0) printf("the gradient-ready hook:\n");
    check_hook("dense:16,relu,dense:8,dense:3", (lm_shape){5, 1, 1}, 4);
    check_hook("conv:4x3,relu,maxpool:2,dropout:0.5,bn,dense:3", (lm_shape){2, 6, 6}, 3);
    check_hook("conv:4x3,res:4,res:8/2,gap,dense:3", (lm_shape){3, 8, 8}, 2);
    check_bookkeeping();
    if (lm_dist_rank() == 0) printf("the reducer's sums:\n");
    check_sums();
    lm_dist_finalize();
    return check_summary();
}
