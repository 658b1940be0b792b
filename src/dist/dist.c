/* Data-parallel collectives over MPI, or a one-rank stub when built without it (see dist.h). */
#include "linmass/dist.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef LINMASS_HAVE_MPI
#include <mpi.h>
#endif

static struct {
    int rank, size, joined;
    int failed;
    lm_reduce_mode mode;
    lm_dist_stats stats;
#ifdef LINMASS_HAVE_MPI
    MPI_Comm comm;
    MPI_Comm comm_a, comm_g; /* the reducers' two phases (all-to-all or all-reduce; all-gather) */
#endif
} D = {.size = 1, .mode = LM_REDUCE_ORDERED};

int lm_dist_rank(void) { return D.rank; }
int lm_dist_size(void) { return D.size; }
int lm_dist_failed(void) { return D.failed; }
void lm_dist_set_reduce(lm_reduce_mode m) { D.mode = m; }
lm_reduce_mode lm_dist_reduce_mode(void) { return D.mode; }
void lm_dist_get_stats(lm_dist_stats *s) { *s = D.stats; }

void lm_dist_share(size_t n, size_t *lo, size_t *hi)
{
    *lo = (size_t)((unsigned long long)n * D.rank / D.size);
    *hi = (size_t)((unsigned long long)n * (D.rank + 1) / D.size);
}

/* The number of processes a launcher says it started (0: no launcher), and which variable. */
static long launched(const char **var)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        if (v && atol(v) > 0) {
            *var = vars[i];
            return atol(v);
        }
    }
    *var = "PMIX_RANK";
    return getenv("PMIX_RANK") ? 1 : 0;
}

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

#ifdef LINMASS_HAVE_MPI

int lm_dist_compiled(void) { return 1; }

static lm_status mpi_fail(int rc, const char *what)
{
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, text, &len);
    D.failed = 1;
    return lm_fail(LM_EIO, "rank %d: %s failed: %.*s (did another rank die?)", D.rank, what, len, text);
}
#define CHECK(call, what)                                                                      \
    do {                                                                                       \
        int rc_ = (call);                                                                      \
        if (rc_ != MPI_SUCCESS) return mpi_fail(rc_, what);                                    \
    } while (0)

lm_status lm_dist_init(int *argc, char ***argv)
{
    if (D.joined) return LM_OK;
    const char *var;
    long expect = launched(&var);
    if (!expect) return LM_OK; /* not started by a launcher: one rank, no MPI */
    int provided, rc = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Init_thread");
    D.joined = 1;
    MPI_Comm_dup(MPI_COMM_WORLD, &D.comm);
    MPI_Comm_set_errhandler(D.comm, MPI_ERRORS_RETURN);
    MPI_Comm_dup(D.comm, &D.comm_a);
    MPI_Comm_dup(D.comm, &D.comm_g);
    MPI_Comm_rank(D.comm, &D.rank);
    MPI_Comm_size(D.comm, &D.size);
    if (expect > 1 && D.size == 1)
        return lm_fail(LM_EINVAL, "%s=%ld processes were started, but MPI sees only this one: each would train "
                                  "alone (under Slurm: srun --mpi=pmix, or mpirun inside the allocation)", var, expect);
    return LM_OK;
}

void lm_dist_finalize(void)
{
    if (!D.joined) return;
    MPI_Comm_free(&D.comm_g);
    MPI_Comm_free(&D.comm_a);
    MPI_Comm_free(&D.comm);
    MPI_Finalize();
    D.joined = 0;
    D.rank = 0, D.size = 1;
}

void lm_dist_abort(int code)
{
    if (D.joined) MPI_Abort(MPI_COMM_WORLD, code);
    exit(code);
}

/* The slices of the ordered sum of n elements: rank j owns [at[j], at[j] + cnt[j]) =
 * [n j / R, n (j+1) / R) and receives its slice from every rank q at rat[q] = q * mine. */
static void ordered_plan(int n, int *cnt, int *at, int *rcnt, int *rat)
{
    int R = D.size;
    for (int j = 0; j < R; j++) {
        at[j] = (int)((int64_t)n * j / R);
        cnt[j] = (int)((int64_t)n * (j + 1) / R) - at[j];
    }
    int mine = cnt[D.rank];
    for (int q = 0; q < R; q++) rcnt[q] = mine, rat[q] = q * mine;
}

/* out[i] = the sum over q = 0, 1, ..., R-1 in that order, in double, of tmp[q mine + i]. */
static void add_in_rank_order(const void *tmp, int mine, size_t esize, void *out)
{
    int R = D.size;
    for (int i = 0; i < mine; i++) {
        double acc = 0;
        if (esize == sizeof(float))
            for (int q = 0; q < R; q++) acc += ((const float *)tmp)[(size_t)q * mine + i];
        else
            for (int q = 0; q < R; q++) acc += ((const double *)tmp)[(size_t)q * mine + i];
        if (esize == sizeof(float)) ((float *)out)[i] = (float)acc;
        else ((double *)out)[i] = acc;
    }
}

/* Sum over the ranks of n elements of type t (float or double) at buf, in rank order: rank r
 * owns slice [n r / R, n (r+1) / R); it receives that slice from every rank (all-to-all), adds
 * them in rank order in double, and the sums are gathered back to every rank. */
static lm_status ordered_sum(void *buf, int n, MPI_Datatype t, size_t esize, void *tmp)
{
    int R = D.size, *cnt = malloc(4 * (size_t)R * sizeof *cnt);
    if (!cnt) return lm_fail(LM_ENOMEM, "all-reduce: out of memory");
    int *at = cnt + R, *rcnt = at + R, *rat = rcnt + R;
    ordered_plan(n, cnt, at, rcnt, rat);
    int rc = MPI_Alltoallv(buf, cnt, at, t, tmp, rcnt, rat, t, D.comm);
    if (rc == MPI_SUCCESS) {
        add_in_rank_order(tmp, cnt[D.rank], esize, (char *)buf + (size_t)at[D.rank] * esize);
        rc = MPI_Allgatherv(MPI_IN_PLACE, 0, t, buf, cnt, at, t, D.comm);
    }
    free(cnt);
    return rc == MPI_SUCCESS ? LM_OK : mpi_fail(rc, "the ordered all-reduce");
}

static lm_status allreduce(void *buf, size_t n, MPI_Datatype t, size_t esize)
{
    if (D.size == 1 || n == 0) return LM_OK;
    size_t bucket = LM_DIST_BUCKET_BYTES / esize;
    void *tmp = D.mode == LM_REDUCE_ORDERED ? malloc((bucket < n ? bucket : n) * esize + 64) : NULL;
    if (D.mode == LM_REDUCE_ORDERED && !tmp) return lm_fail(LM_ENOMEM, "all-reduce: out of memory");
    lm_status st = LM_OK;
    for (size_t at = 0; at < n && !st; at += bucket) {
        int len = (int)(n - at < bucket ? n - at : bucket);
        char *p = (char *)buf + at * esize;
        if (D.mode == LM_REDUCE_ORDERED) st = ordered_sum(p, len, t, esize, tmp);
        else {
            int rc = MPI_Allreduce(MPI_IN_PLACE, p, len, t, MPI_SUM, D.comm);
            if (rc != MPI_SUCCESS) st = mpi_fail(rc, "MPI_Allreduce");
        }
    }
    free(tmp);
    return st;
}

lm_status lm_dist_allreduce_f32(float *buf, size_t n)
{
    double t0 = seconds();
    lm_status st = allreduce(buf, n, MPI_FLOAT, sizeof(float));
    if (D.size > 1) {
        D.stats.seconds += seconds() - t0;
        D.stats.exchange_seconds += seconds() - t0;
        D.stats.calls++;
        D.stats.bytes += (double)n * sizeof(float);
    }
    return st;
}

lm_status lm_dist_allreduce_f64(double *buf, size_t n)
{
    return allreduce(buf, n, MPI_DOUBLE, sizeof(double));
}

lm_status lm_dist_bcast(void *buf, size_t bytes, int root)
{
    if (D.size == 1) return LM_OK;
    for (size_t at = 0; at < bytes; at += (size_t)1 << 30) {
        size_t len = bytes - at < ((size_t)1 << 30) ? bytes - at : (size_t)1 << 30;
        CHECK(MPI_Bcast((char *)buf + at, (int)len, MPI_BYTE, root, D.comm), "MPI_Bcast");
    }
    return LM_OK;
}

lm_status lm_dist_barrier(void)
{
    if (D.size > 1) CHECK(MPI_Barrier(D.comm), "MPI_Barrier");
    return LM_OK;
}

lm_status lm_dist_allgather_rows_f64(double *buf, size_t row, const size_t *lo)
{
    if (D.size == 1) return LM_OK;
    int R = D.size, *cnt = malloc(2 * (size_t)R * sizeof *cnt);
    if (!cnt) return lm_fail(LM_ENOMEM, "all-gather: out of memory");
    for (int r = 0; r < R; r++) cnt[r] = (int)((lo[r + 1] - lo[r]) * row), cnt[R + r] = (int)(lo[r] * row);
    int rc = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DOUBLE, buf, cnt, cnt + R, MPI_DOUBLE, D.comm);
    free(cnt);
    return rc == MPI_SUCCESS ? LM_OK : mpi_fail(rc, "MPI_Allgatherv");
}

lm_status lm_dist_agree(lm_status st)
{
    if (D.size == 1) return st;
    int mine = st ? D.rank : D.size, first;
    CHECK(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, D.comm), "MPI_Allreduce");
    if (first == D.size) return LM_OK;
    struct {
        int status;
        char text[1000];
    } m = {(int)st, ""};
    if (D.rank == first) snprintf(m.text, sizeof m.text, "%s", lm_error_message());
    CHECK(MPI_Bcast(&m, sizeof m, MPI_BYTE, first, D.comm), "MPI_Bcast");
    if (D.rank == first) return st;
    return first ? lm_fail((lm_status)m.status, "rank %d: %s", first, m.text) : lm_fail((lm_status)m.status, "%s", m.text);
}

#else /* serial stub */

int lm_dist_compiled(void) { return 0; }

lm_status lm_dist_init(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    const char *var;
    long n = launched(&var);
    if (n > 1)
        return lm_fail(LM_EINVAL, "%s=%ld: this linmass was built without MPI, so the %ld processes would each "
                                  "train alone; install libopenmpi-dev and rebuild (cmake -DLINMASS_MPI=ON), or run "
                                  "one process without mpirun", var, n, n);
    return LM_OK;
}

void lm_dist_finalize(void) {}
void lm_dist_abort(int code) { exit(code); }
lm_status lm_dist_allreduce_f32(float *buf, size_t n) { (void)buf, (void)n; return LM_OK; }
lm_status lm_dist_allreduce_f64(double *buf, size_t n) { (void)buf, (void)n; return LM_OK; }
lm_status lm_dist_bcast(void *buf, size_t bytes, int root) { (void)buf, (void)bytes, (void)root; return LM_OK; }
lm_status lm_dist_barrier(void) { return LM_OK; }
lm_status lm_dist_allgather_rows_f64(double *buf, size_t row, const size_t *lo)
{
    (void)buf, (void)row, (void)lo;
    return LM_OK;
}
lm_status lm_dist_agree(lm_status st) { return st; }

#endif

/* ---- the probes' collective (linmass/collective.h) ---- */

static lm_status coll_sum(void *ctx, double *buf, size_t n)
{
    (void)ctx;
    return lm_dist_allreduce_f64(buf, n);
}

static lm_status coll_gather(void *ctx, double *buf, size_t row, const size_t *lo)
{
    (void)ctx;
    return lm_dist_allgather_rows_f64(buf, row, lo);
}

static lm_status coll_agree(void *ctx, lm_status st)
{
    (void)ctx;
    return lm_dist_agree(st);
}

const lm_collective *lm_dist_collective(void)
{
    static lm_collective c;
    if (D.size == 1) return NULL;
    c = (lm_collective){D.rank, D.size, NULL, coll_sum, coll_gather, coll_agree};
    return &c;
}

/* ---- the overlapped reducer (dist.h) ----
 * A bucket goes idle -> PHASE1 (ordered: the all-to-all; mpi: the all-reduce) -> [ordered:
 * SUMMED (its slice added) -> GATHER (the all-gather)] -> DONE. Collectives start in one order
 * on every rank: phase 1 from the last bucket down (`next`), and the all-gathers likewise
 * (`next_gather`, on their own communicator), whatever the order in which the pieces arrive
 * or MPI completes the requests. */

enum { B_IDLE, B_PHASE1, B_SUMMED, B_GATHER, B_DONE };

struct lm_dist_reducer {
    float *buf;
    size_t n;
    int nb;
    size_t *lo;       /* [bucket + 1] bucket k is [lo[k], lo[k+1]); lo[0] = 0, lo[nb] = n */
    size_t *left;     /* [bucket] elements not yet final in this round */
    int *state;       /* [bucket] B_* */
    int next, next_gather, started;
    lm_status st;     /* the round's first failure */
    double t_first;   /* when the round's first collective started */
#ifdef LINMASS_HAVE_MPI
    MPI_Request *req; /* [bucket] the request in flight */
    int *plan;        /* [bucket] 4 R ints: cnt, at, rcnt, rat (ordered_plan) */
    float *tmp;       /* the slices received, bucket k's at tmp + tmp_at[k] */
    size_t *tmp_at;
#endif
};

static size_t bucket_len(const lm_dist_reducer *r, int k) { return r->lo[k + 1] - r->lo[k]; }

/* The bucket that holds element `at` (< n). */
static int bucket_of(const lm_dist_reducer *r, size_t at)
{
    int a = 0, b = r->nb - 1;
    while (a < b) {
        int mid = (a + b + 1) / 2;
        if (r->lo[mid] <= at) a = mid;
        else b = mid - 1;
    }
    return a;
}

/* Bucket boundaries into r->lo (room for ncuts + 2 with cuts, n / bucket + 2 without); returns
 * how many buckets: without cuts, every `bucket` elements from 0; with cuts, from the top down,
 * each bucket ends at the first cut at least `bucket` elements below its top (the last one runs
 * down to 0). */
static int plan_buckets(lm_dist_reducer *r, size_t bucket, const size_t *cuts, int ncuts)
{
    if (!cuts) {
        int nb = (int)((r->n + bucket - 1) / bucket);
        for (int k = 0; k <= nb; k++) r->lo[k] = (size_t)k * bucket < r->n ? (size_t)k * bucket : r->n;
        return nb;
    }
    int nb = 0;
    size_t hi = r->lo[0] = r->n;
    for (int i = ncuts - 1; i >= -1 && hi > 0; i--) {
        size_t c = i >= 0 ? cuts[i] : 0;
        if (c >= hi || (c > 0 && hi - c < bucket)) continue;
        r->lo[++nb] = hi = c;
    }
    for (int i = 0, j = nb; i < j; i++, j--) { /* descending -> ascending */
        size_t t = r->lo[i];
        r->lo[i] = r->lo[j], r->lo[j] = t;
    }
    return nb;
}

static void reducer_reset(lm_dist_reducer *r)
{
    for (int k = 0; k < r->nb; k++) r->left[k] = bucket_len(r, k), r->state[k] = B_IDLE;
    r->next = r->next_gather = r->nb - 1;
    r->started = 0;
    r->t_first = 0;
}

lm_status lm_dist_reducer_create(float *buf, size_t n, size_t bucket_bytes, const size_t *cuts, int ncuts,
                                 lm_dist_reducer **out)
{
    *out = NULL;
    size_t bucket = (bucket_bytes ? bucket_bytes : LM_DIST_BUCKET_BYTES) / sizeof(float);
    if (bucket < 1 || bucket > (size_t)INT32_MAX)
        return lm_fail(LM_EINVAL, "reducer: bucket of %zu bytes is not in [4, 8 GiB)", bucket_bytes);
    for (int i = 0; cuts && i < ncuts; i++)
        if (cuts[i] > n || (i && cuts[i] < cuts[i - 1]))
            return lm_fail(LM_EINVAL, "reducer: cut %d at %zu is beyond %zu or below the one before", i, cuts[i], n);
    lm_dist_reducer *r = calloc(1, sizeof *r);
    if (!r) return lm_fail(LM_ENOMEM, "reducer: out of memory");
    r->buf = buf, r->n = n;
    r->lo = calloc(cuts ? (size_t)ncuts + 2 : n / bucket + 2, sizeof *r->lo);
    if (r->lo) r->nb = plan_buckets(r, bucket, cuts, ncuts);
    r->left = calloc(r->nb + 1, sizeof *r->left);
    r->state = calloc(r->nb + 1, sizeof *r->state);
    int failed = !r->lo || !r->left || !r->state;
    for (int k = 0; !failed && k < r->nb; k++)
        if (bucket_len(r, k) > (size_t)INT32_MAX) {
            lm_dist_reducer_free(r);
            return lm_fail(LM_EINVAL, "reducer: bucket %d holds %zu floats, more than one MPI call takes", k,
                           bucket_len(r, k));
        }
#ifdef LINMASS_HAVE_MPI
    int R = D.size;
    r->req = calloc(r->nb + 1, sizeof *r->req);
    r->plan = calloc(4 * (size_t)R * (r->nb + 1), sizeof *r->plan);
    r->tmp_at = calloc(r->nb + 1, sizeof *r->tmp_at);
    failed |= !r->req || !r->plan || !r->tmp_at;
    size_t total = 0;
    for (int k = 0; !failed && k < r->nb; k++) {
        int *p = r->plan + 4 * (size_t)R * k;
        ordered_plan((int)bucket_len(r, k), p, p + R, p + 2 * R, p + 3 * R);
        r->req[k] = MPI_REQUEST_NULL;
        r->tmp_at[k] = total;
        total += (size_t)R * p[D.rank];
    }
    if (!failed && D.size > 1 && D.mode == LM_REDUCE_ORDERED) failed = !(r->tmp = malloc(total * sizeof *r->tmp + 64));
#endif
    if (failed) {
        lm_dist_reducer_free(r);
        return lm_fail(LM_ENOMEM, "reducer: out of memory for %zu floats", n);
    }
    reducer_reset(r);
    *out = r;
    return LM_OK;
}

void lm_dist_reducer_free(lm_dist_reducer *r)
{
    if (!r) return;
#ifdef LINMASS_HAVE_MPI
    for (int k = 0; r->req && k < r->nb; k++) /* only after a failure: a round ends with none */
        if (r->req[k] != MPI_REQUEST_NULL) MPI_Request_free(&r->req[k]);
    free(r->req), free(r->plan), free(r->tmp), free(r->tmp_at);
#endif
    free(r->lo), free(r->left), free(r->state);
    free(r);
}

int lm_dist_reducer_buckets(const lm_dist_reducer *r) { return r->nb; }
int lm_dist_reducer_started(const lm_dist_reducer *r) { return r->started; }

#ifdef LINMASS_HAVE_MPI

static lm_status start_phase1(lm_dist_reducer *r, int k)
{
    int R = D.size, *p = r->plan + 4 * (size_t)R * k;
    float *b = r->buf + r->lo[k];
    if (R == 1) {
        r->state[k] = B_DONE;
        return LM_OK;
    }
    int rc = D.mode == LM_REDUCE_ORDERED
                 ? MPI_Ialltoallv(b, p, p + R, MPI_FLOAT, r->tmp + r->tmp_at[k], p + 2 * R, p + 3 * R, MPI_FLOAT,
                                  D.comm_a, &r->req[k])
                 : MPI_Iallreduce(MPI_IN_PLACE, b, (int)bucket_len(r, k), MPI_FLOAT, MPI_SUM, D.comm_a, &r->req[k]);
    r->state[k] = B_PHASE1;
    return rc == MPI_SUCCESS ? LM_OK : mpi_fail(rc, D.mode == LM_REDUCE_ORDERED ? "MPI_Ialltoallv" : "MPI_Iallreduce");
}

/* Phase 1 of bucket k has completed: ordered, add this rank's slice; mpi, the sum is there. */
static void end_phase1(lm_dist_reducer *r, int k)
{
    int R = D.size, *p = r->plan + 4 * (size_t)R * k;
    if (D.mode != LM_REDUCE_ORDERED) {
        r->state[k] = B_DONE;
        return;
    }
    add_in_rank_order(r->tmp + r->tmp_at[k], p[D.rank], sizeof(float), r->buf + r->lo[k] + p[R + D.rank]);
    r->state[k] = B_SUMMED;
}

/* Start the all-gathers that may start, in bucket order from the last down. */
static lm_status start_gathers(lm_dist_reducer *r)
{
    int R = D.size;
    for (; r->next_gather >= 0 && r->state[r->next_gather] == B_SUMMED; r->next_gather--) {
        int k = r->next_gather, *p = r->plan + 4 * (size_t)R * k;
        int rc = MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_FLOAT, r->buf + r->lo[k], p, p + R, MPI_FLOAT,
                                 D.comm_g, &r->req[k]);
        if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Iallgatherv");
        r->state[k] = B_GATHER;
    }
    return LM_OK;
}

/* MPI_Wait (wait) or MPI_Test on one request; done: whether it has completed. */
static int settle(MPI_Request *q, int wait, int *done)
{
    *done = 1;
    return wait ? MPI_Wait(q, MPI_STATUS_IGNORE) : MPI_Test(q, done, MPI_STATUS_IGNORE);
}

/* Move every collective in flight along (MPI progresses only inside its calls); wait: block. */
static lm_status drive(lm_dist_reducer *r, int wait)
{
    for (int k = r->nb - 1; k >= 0; k--) {
        if (r->state[k] == B_PHASE1) {
            int done, rc = settle(&r->req[k], wait, &done);
            if (rc != MPI_SUCCESS) return mpi_fail(rc, "the overlapped all-reduce");
            if (done) end_phase1(r, k);
        }
        lm_status st = start_gathers(r);
        if (st) return st;
    }
    for (int k = r->nb - 1; k >= 0; k--)
        if (r->state[k] == B_GATHER) {
            int done, rc = settle(&r->req[k], wait, &done);
            if (rc != MPI_SUCCESS) return mpi_fail(rc, "the overlapped all-gather");
            if (done) r->state[k] = B_DONE;
        }
    return LM_OK;
}

#else /* serial stub: one rank, the sum is the buffer */

static lm_status start_phase1(lm_dist_reducer *r, int k)
{
    r->state[k] = B_DONE;
    return LM_OK;
}
static lm_status drive(lm_dist_reducer *r, int wait)
{
    (void)r, (void)wait;
    return LM_OK;
}

#endif

static lm_status start_next(lm_dist_reducer *r)
{
    if (!r->started) r->t_first = seconds();
    r->started++;
    return start_phase1(r, r->next--);
}

void lm_dist_reducer_ready(lm_dist_reducer *r, size_t offset, size_t count)
{
    if (r->st) return;
    double t0 = seconds();
    if (offset > r->n || count > r->n - offset) {
        r->st = lm_fail(LM_EINVAL, "reducer: piece [%zu, %zu) is outside the buffer of %zu", offset, offset + count,
                        r->n);
        return;
    }
    for (size_t at = offset, end = offset + count; at < end;) {
        int k = bucket_of(r, at);
        size_t hi = r->lo[k + 1] < end ? r->lo[k + 1] : end;
        if (hi - at > r->left[k] || r->state[k] != B_IDLE) {
            r->st = lm_fail(LM_EINVAL, "reducer: piece [%zu, %zu) overfills its bucket: already reported in this round",
                            offset, offset + count);
            return;
        }
        r->left[k] -= hi - at;
        at = hi;
    }
    while (!r->st && r->next >= 0 && r->left[r->next] == 0) r->st = start_next(r);
    if (!r->st && r->started) r->st = drive(r, 0);
    if (D.size > 1) D.stats.seconds += seconds() - t0;
}

void lm_dist_reducer_hook(void *reducer, size_t offset, size_t count)
{
    lm_dist_reducer_ready(reducer, offset, count);
}

lm_status lm_dist_reducer_finish(lm_dist_reducer *r)
{
    double t0 = seconds();
    /* after a refused piece the buckets still run, so that every rank's collectives match; not
     * after an MPI failure (the job is broken) */
    lm_status st = r->st, more = D.failed ? LM_EIO : LM_OK;
    while (!more && r->next >= 0) more = start_next(r);
    if (!more) more = drive(r, 1);
    if (!st) st = more;
    if (D.size > 1) {
        double t1 = seconds();
        D.stats.seconds += t1 - t0;
        D.stats.exchange_seconds += r->started ? t1 - r->t_first : 0;
        D.stats.calls++;
        D.stats.bytes += (double)r->n * sizeof(float);
    }
    r->st = LM_OK;
    reducer_reset(r);
    return st;
}
