/* The thread pool of linmass's own parallel loops (core/parallel.h): lm_par_run(T, K, fn, ctx)
 * runs fn(ctx, k) for the K shares k, on the caller and up to T - 1 workers.
 *
 * Shares are claimed one at a time from an atomic counter, so a worker that starts late (its
 * core busy with another process) finds the shares already taken by the others and costs
 * nothing: the caller waits only for shares in progress, never for a thread to arrive, unlike an
 * OpenMP team whose barrier waits, spinning, for every member. Workers poll for the next job
 * for 100 us after each one, then sleep on a condition variable.
 *
 * One word holds the job's generation, its share count and the next share, so a claim (a
 * compare-and-swap) can only take a share of the job it read, even if it was slow to wake. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "core/parallel.h"

#define MAX_WORKERS 63
#define SPIN_NS 100000 /* a worker polls for the next job this long before sleeping */

/* state: generation (bits 40..63), shares (20..39), next share (0..19) */
#define NEXT_MASK ((uint64_t)0xFFFFF)
static uint64_t pack(uint64_t gen, uint64_t shares, uint64_t next) { return gen << 40 | shares << 20 | next; }

static _Atomic uint64_t state;
static _Atomic(lm_par_fn) job_fn;
static _Atomic(void *) job_ctx;
static _Atomic int job_invited; /* workers 1 .. invited take part in the current job */
static atomic_int done;         /* shares finished in the current job */
static atomic_int sleepers;
static pthread_mutex_t sleep_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sleep_cv = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t run_mu = PTHREAD_MUTEX_INITIALIZER; /* one job at a time */
static pthread_mutex_t grow_mu = PTHREAD_MUTEX_INITIALIZER;
static int workers; /* started so far (never stopped) */

static inline void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Claims and runs shares of generation gen until none is left. */
static void work_on(uint64_t gen)
{
    lm_par_fn fn = atomic_load(&job_fn);
    void *ctx = atomic_load(&job_ctx);
    uint64_t s = atomic_load(&state);
    for (;;) {
        uint64_t shares = s >> 20 & NEXT_MASK, next = s & NEXT_MASK;
        if (s >> 40 != gen || next >= shares) return;
        if (!atomic_compare_exchange_weak(&state, &s, s + 1)) continue;
        fn(ctx, (int)next);
        atomic_fetch_add(&done, 1);
        s = atomic_load(&state);
    }
}

static void *worker_main(void *arg)
{
    int id = (int)(intptr_t)arg;
    uint64_t seen = atomic_load(&state) >> 40;
    for (;;) {
        uint64_t gen = atomic_load(&state) >> 40;
        for (int64_t start = now_ns(), i = 1; gen == seen; i++) {
            relax();
            gen = atomic_load(&state) >> 40;
            if (!(i & 63) && now_ns() - start > SPIN_NS) break;
        }
        if (gen == seen) {
            pthread_mutex_lock(&sleep_mu);
            atomic_fetch_add(&sleepers, 1);
            while ((gen = atomic_load(&state) >> 40) == seen) pthread_cond_wait(&sleep_cv, &sleep_mu);
            atomic_fetch_sub(&sleepers, 1);
            pthread_mutex_unlock(&sleep_mu);
        }
        seen = gen;
        /* fn and ctx were stored before the generation: they belong to gen or a later job,
         * and work_on claims nothing unless the generation is still gen */
        if (id <= atomic_load(&job_invited)) work_on(gen);
    }
    return NULL;
}

/* Starts workers up to n; returns how many there are (more than n if a bigger job started
 * them). */
static int grow(int n)
{
    if (n > MAX_WORKERS) n = MAX_WORKERS;
    pthread_mutex_lock(&grow_mu);
    while (workers < n) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int ok = pthread_create(&t, &attr, worker_main, (void *)(intptr_t)(workers + 1)) == 0;
        pthread_attr_destroy(&attr);
        if (!ok) break; /* fewer workers: the caller takes more shares */
        workers++;
    }
    n = workers;
    pthread_mutex_unlock(&grow_mu);
    return n;
}

void lm_par_run(int threads, int shares, lm_par_fn fn, void *ctx)
{
    /* serial: one thread, one share, or another job running (from another caller thread) */
    if (threads <= 1 || shares <= 1 || shares > (int)NEXT_MASK || pthread_mutex_trylock(&run_mu)) {
        for (int k = 0; k < shares; k++) fn(ctx, k);
        return;
    }
    int invited = grow(threads - 1); /* workers started earlier for more threads stay out */
    if (invited > threads - 1) invited = threads - 1;
    uint64_t gen = (atomic_load(&state) >> 40) + 1;
    atomic_store(&job_fn, fn);
    atomic_store(&job_ctx, ctx);
    atomic_store(&job_invited, invited);
    atomic_store(&done, 0);
    atomic_store(&state, pack(gen & 0xFFFFFF, (uint64_t)shares, 0));
    if (atomic_load(&sleepers) > 0) {
        pthread_mutex_lock(&sleep_mu);
        pthread_cond_broadcast(&sleep_cv);
        pthread_mutex_unlock(&sleep_mu);
    }
    work_on(gen & 0xFFFFFF);
    /* every share is claimed: wait for those still running on a worker */
    for (int i = 0; atomic_load(&done) < shares; i++) {
        if (i < 4096) relax();
        else sched_yield(); /* the worker may be waiting for this core */
    }
    pthread_mutex_unlock(&run_mu);
}
