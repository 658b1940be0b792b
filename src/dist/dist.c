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
#endif
} D = {.size = 1, .mode = LM_REDUCE_ORDERED};

int lm_dist_rank(void) { return D.rank; }
int lm_dist_size(void) { return D.size; }
int lm_dist_failed(void) { return D.failed; }
void lm_dist_set_reduce(lm_reduce_mode m) { D.mode = m; }
lm_reduce_mode lm_dist_reduce_mode(void) { return D.mode; }
void lm_dist_get_stats(lm_dist_stats *s) { *s = D.stats; }

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

#ifdef LINMASS_HAVE_MPI

int lm_dist_compiled(void) { return 1; }

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

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

/* Sum over the ranks of n elements of type t (float or double) at buf, in rank order: rank r
 * owns slice [n r / R, n (r+1) / R); it receives that slice from every rank (all-to-all), adds
 * them in rank order in double, and the sums are gathered back to every rank. */
static lm_status ordered_sum(void *buf, int n, MPI_Datatype t, size_t esize, void *tmp)
{
    int R = D.size, *cnt = malloc(4 * (size_t)R * sizeof *cnt);
    if (!cnt) return lm_fail(LM_ENOMEM, "all-reduce: out of memory");
    int *at = cnt + R, *rcnt = at + R, *rat = rcnt + R;
    for (int j = 0; j < R; j++) {
        at[j] = (int)((int64_t)n * j / R);
        cnt[j] = (int)((int64_t)n * (j + 1) / R) - at[j];
    }
    int mine = cnt[D.rank];
    for (int q = 0; q < R; q++) rcnt[q] = mine, rat[q] = q * mine;
    int rc = MPI_Alltoallv(buf, cnt, at, t, tmp, rcnt, rat, t, D.comm);
    if (rc == MPI_SUCCESS) {
        char *out = (char *)buf + (size_t)at[D.rank] * esize;
        for (int i = 0; i < mine; i++) {
            double acc = 0;
            if (esize == sizeof(float))
                for (int q = 0; q < R; q++) acc += ((const float *)tmp)[(size_t)q * mine + i];
            else
                for (int q = 0; q < R; q++) acc += ((const double *)tmp)[(size_t)q * mine + i];
            if (esize == sizeof(float)) ((float *)out)[i] = (float)acc;
            else ((double *)out)[i] = acc;
        }
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
