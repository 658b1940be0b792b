/* Best-tuned rates: the smallest rho over the hyper-parameters of SGD, Nesterov and MaSS
 * (docs/theory.md §2.3-2.4), by a grid with the closed-form points among the candidates, then
 * Nelder-Mead from the best few of them. Evaluations run in parallel on linmass's pool, each on
 * one BLAS thread; the operator's part that does not depend on the hyper-parameters is computed
 * once (lm_op_prepare). */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/parallel.h"
#include "linmass/runtime.h"
#include "theory/theory_internal.h"

#define MAX_STARTS 3
#define BEAT 1e-12 /* tuning beats the closed-form point when its rho is lower by more than this */

/* How fine the search is, from the operator's size N (one evaluation costs about N^3): the
 * first grid's points per parameter, the local search's starts, the size (relative to the box)
 * at which a simplex counts as converged, and the evaluations each start may take. */
typedef struct {
    int grid, starts;
    double tol;
    int max_evals;
} plan;

static plan plan_of(int N)
{
    if (N <= 100) return (plan){12, 3, 1e-7, 1500};
    if (N <= 300) return (plan){8, 2, 1e-6, 400};
    if (N <= 1000) return (plan){6, 2, 1e-5, 150};
    return (plan){5, 2, 1e-3, 50};
}

/* A point: x = (log eta1, log(1 - gamma), eta2/eta1) and its hyper-parameters (given exactly
 * for the closed-form points, from x otherwise). */
typedef struct {
    double x[3];
    lm_theory_hp hp;
    double rho;
} point;

typedef struct {
    const lm_op_prep *prep;
    lm_theory_method method;
    int dims, threads;
    plan plan;
    double lo[3], hi[3];
    const lm_theory_search_opts *opts;
    double t0;
    int done, total; /* evaluations so far and expected, over every method of a tune */
    int later;       /* expected evaluations of the methods still to come */
    double unit;     /* the cost of one evaluation of this method (its operator's rows cubed) */
    double cost_done, later_cost;
} search;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int dims_of(lm_theory_method method)
{
    return method == LM_THEORY_SGD ? 1 : method == LM_THEORY_NESTEROV ? 2 : 3;
}

static point from_x(const double *x, int dims)
{
    point p = {{x[0], dims > 1 ? x[1] : 0, dims > 2 ? x[2] : 0}, {exp(x[0]), 0, 0}, INFINITY};
    if (dims > 1) p.hp.gamma = 1 - exp(x[1]);
    if (dims > 2) p.hp.eta2 = x[2] * p.hp.eta1;
    return p;
}

static point from_hp(lm_theory_hp hp)
{
    point p = {{log(hp.eta1), log(1 - hp.gamma), hp.eta2 / hp.eta1}, hp, INFINITY};
    return p;
}

/* ---- evaluating points in parallel ---- */

typedef struct {
    const search *s;
    point *pts;
    atomic_int failed;
    lm_status st;
    char msg[512];
} batch;

static lm_status rate_at(const search *s, lm_theory_hp hp, double *rho)
{
    int n = lm_op_size(s->prep->d, s->method, s->prep->diagonal);
    double *M = malloc(sizeof *M * (size_t)n * n);
    if (!M) return lm_fail(LM_ENOMEM, "theory: no memory for a %dx%d operator", n, n);
    lm_status st = lm_op_build(s->prep, s->method, hp, M);
    if (!st) st = lm_spectral_radius(n, M, rho);
    free(M);
    if (!st && !isfinite(*rho)) *rho = INFINITY;
    return st;
}

static void eval_share(void *ctx, int k)
{
    batch *b = ctx;
    lm_status st = rate_at(b->s, b->pts[k].hp, &b->pts[k].rho);
    if (st && !atomic_exchange(&b->failed, 1)) { /* the first failure's message */
        b->st = st;
        snprintf(b->msg, sizeof b->msg, "%s", lm_error_message());
    }
}

static void report(search *s)
{
    if (!s->opts || !s->opts->progress) return;
    double elapsed = now() - s->t0;
    int total = s->total > s->done ? s->total : s->done, now_left = total - s->done - s->later;
    double cost_left = (now_left > 0 ? now_left : 0) * s->unit + s->later_cost;
    lm_theory_progress p = {s->method, s->done, total, elapsed,
                            s->cost_done > 0 ? elapsed / s->cost_done * cost_left : NAN};
    s->opts->progress(s->opts->progress_ctx, &p);
}

/* rho of every point, in chunks of a few per thread with a progress report after each. */
static lm_status evaluate(search *s, point *pts, int n)
{
    int chunk = 4 * s->threads;
    for (int k0 = 0; k0 < n; k0 += chunk) {
        int len = n - k0 < chunk ? n - k0 : chunk;
        batch b = {.s = s, .pts = pts + k0};
        atomic_init(&b.failed, 0);
        lm_par_run(s->threads, len, eval_share, &b);
        if (atomic_load(&b.failed)) return lm_fail(b.st, "%s", b.msg);
        s->done += len;
        s->cost_done += len * s->unit;
        report(s);
    }
    return LM_OK;
}

/* The lowest rho (the first of equals). */
static int argmin(const point *pts, int n)
{
    int best = 0;
    for (int k = 1; k < n; k++)
        if (pts[k].rho < pts[best].rho) best = k;
    return best;
}

/* ---- the local search ---- */

/* The plan's number of best candidates: distinct points, by rho. */
static int pick_starts(const search *s, const point *cands, int n, const point **starts)
{
    int k = 0;
    while (k < s->plan.starts) {
        const point *next = NULL;
        for (int i = 0; i < n; i++) {
            int taken = !(cands[i].rho < INFINITY);
            for (int j = 0; j < k && !taken; j++) taken = !memcmp(starts[j]->x, cands[i].x, sizeof cands[i].x);
            if (!taken && (!next || cands[i].rho < next->rho)) next = &cands[i];
        }
        if (!next) break;
        starts[k++] = next;
    }
    return k;
}

/* Nelder-Mead (simplex.c) from the best candidates: a simplex adapts its shape to the ridges
 * that rho has where eigenvalues of the operator meet, on which a search along fixed directions
 * stalls. The simplices run in lock step, their points evaluated together; *best becomes the
 * best point ever evaluated. */
static lm_status refine(search *s, const point *cands, int ncand, int grid, point *best)
{
    const point *starts[MAX_STARTS];
    lm_simplex sx[MAX_STARTS];
    point pts[3 * MAX_STARTS];
    double size[3];
    for (int j = 0; j < s->dims; j++) size[j] = (s->hi[j] - s->lo[j]) / (grid - 1);
    int k = pick_starts(s, cands, ncand, starts);
    for (int i = 0; i < k; i++)
        lm_simplex_start(&sx[i], s->dims, starts[i]->x, starts[i]->rho, size, s->lo, s->hi, s->plan.tol, s->plan.max_evals);
    for (;;) {
        int n = 0, count[MAX_STARTS], left = 0;
        for (int i = 0; i < k; i++) {
            double x[3][3];
            count[i] = lm_simplex_ask(&sx[i], x);
            for (int c = 0; c < count[i]; c++) pts[n++] = from_x(x[c], s->dims);
        }
        if (!n) return LM_OK;
        lm_status st = evaluate(s, pts, n);
        if (st) return st;
        for (int i = 0, off = 0; i < k; off += count[i++]) {
            double f[3];
            for (int c = 0; c < count[i]; c++) {
                f[c] = pts[off + c].rho;
                if (f[c] < best->rho) *best = pts[off + c];
            }
            if (count[i]) lm_simplex_tell(&sx[i], f);
            left += lm_simplex_left(&sx[i]);
        }
        s->total = s->done + left + s->later;
    }
}

/* ---- one method ---- */

/* The grid's points and the starts, with the box stretched to hold the starts. */
static point *candidates(search *s, int grid, const point *starts, int nstarts, int *n)
{
    int dims = s->dims, count = 1;
    for (int j = 0; j < dims; j++) count *= grid;
    point *pts = malloc(sizeof *pts * (size_t)(count + nstarts));
    if (!pts) return NULL;
    for (int k = 0; k < nstarts; k++)
        for (int j = 0; j < dims; j++)
            s->lo[j] = fmin(s->lo[j], starts[k].x[j]), s->hi[j] = fmax(s->hi[j], starts[k].x[j]);
    memcpy(pts, starts, sizeof *pts * (size_t)nstarts);
    for (int idx = 0; idx < count; idx++) {
        double x[3] = {0};
        for (int j = 0, rest = idx; j < dims; j++, rest /= grid)
            x[j] = s->lo[j] + (s->hi[j] - s->lo[j]) * (double)(rest % grid) / (grid - 1);
        pts[nstarts + idx] = from_x(x, dims);
    }
    *n = count + nstarts;
    return pts;
}

/* The closed-form point: SGD 1/L_m, MaSS section 2.2, and for Nesterov (which has none) MaSS's
 * section 2.2 step and momentum. */
static point closed_form(lm_theory_method method, const lm_constants *c)
{
    if (method == LM_THEORY_SGD) return from_hp((lm_theory_hp){c->sgd_lr, 0, 0});
    return from_hp((lm_theory_hp){c->mass_eta1, method == LM_THEORY_MASS ? c->mass_eta2 : 0, c->mass_gamma});
}

static void box(search *s, const lm_constants *c)
{
    double lo[3] = {log(1e-3 / c->L_m), log(1e-5), 0}, hi[3] = {log(4 / c->L_m), 0, 1};
    memcpy(s->lo, lo, sizeof lo), memcpy(s->hi, hi, sizeof hi);
}

static lm_status best_of(search *s, const lm_constants *c, int grid, const point *extra,
                         lm_theory_best *out)
{
    point starts[2] = {closed_form(s->method, c)};
    int nstarts = extra ? 2 : 1, n;
    if (extra) starts[1] = *extra;
    box(s, c);
    point *pts = candidates(s, grid, starts, nstarts, &n);
    if (!pts) return lm_fail(LM_ENOMEM, "theory: no memory for a grid of %d", grid);
    int done0 = s->done;
    lm_status st = evaluate(s, pts, n);
    point best = pts[argmin(pts, n)], closed = pts[0];
    if (!st) st = refine(s, pts, n, grid, &best);
    free(pts);
    if (st) return st;
    int nesterov = s->method == LM_THEORY_NESTEROV, beats = nesterov || closed.rho - best.rho > BEAT;
    if (!beats) best = closed; /* no gain beyond rounding: the closed form is the answer */
    out->rho = best.rho;
    out->hp = best.hp;
    out->evaluations = s->done - done0;
    out->closed_hp = closed.hp;
    out->closed_rho = nesterov ? NAN : closed.rho;
    out->beats_closed_form = beats;
    return LM_OK;
}

/* Evaluations one method is expected to take. */
static int estimate(plan p, lm_theory_method method, int grid)
{
    int dims = dims_of(method), count = 1;
    for (int j = 0; j < dims; j++) count *= grid;
    int halvings = (int)ceil(log2(1 / ((grid - 1) * p.tol)));
    int local = 2 * dims * halvings + 3 * dims;
    return count + 2 + p.starts * (local < p.max_evals ? local : p.max_evals);
}

static int operator_size(const lm_moments *mo)
{
    return lm_op_size(mo->d, LM_THEORY_MASS, lm_moments_is_diagonal(mo));
}

int lm_theory_default_grid(const lm_moments *mo)
{
    return plan_of(operator_size(mo)).grid;
}

static double unit_cost(const search *s, lm_theory_method method)
{
    double N = lm_op_size(s->prep->d, method, s->prep->diagonal);
    return N * N * N;
}

/* Starts the search of `method`, with the methods after it up to `last` still to come. */
static void begin(search *s, lm_theory_method method, lm_theory_method last, int grid)
{
    s->method = method, s->dims = dims_of(method), s->unit = unit_cost(s, method);
    s->later = 0, s->later_cost = 0;
    for (int k = method + 1; k <= (int)last; k++) {
        int e = estimate(s->plan, (lm_theory_method)k, grid);
        s->later += e, s->later_cost += e * unit_cost(s, (lm_theory_method)k);
    }
    s->total = s->done + estimate(s->plan, method, grid) + s->later;
}

/* What the searches of one call share. */
typedef struct {
    lm_constants c;
    lm_moments_range range; /* the operator works on the range of H, as lm_theory_rate does */
    lm_op_prep prep;
    search s;
    int grid, blas;
} session;

/* Checks; the constants, on the caller's BLAS threads as linmass theory computes them (from
 * lm_linreg_constants for data); then one BLAS thread for the operator, as in lm_theory_rate,
 * so that the closed-form rho is the one lm_theory_rate gives. */
static lm_status open_session(session *t, const lm_moments *mo, int m, const lm_theory_search_opts *opts)
{
    memset(t, 0, sizeof *t);
    lm_status st = lm_moments_check(mo);
    if (!st) st = mo->kind == LM_MOMENTS_DATA ? lm_linreg_constants(mo->X, mo->n, mo->d, m, &t->c) : lm_moments_constants(mo, m, &t->c);
    if (!st) st = lm_moments_on_range(mo, &t->range);
    if (st) return st;
    mo = &t->range.mo;
    t->grid = opts && opts->grid ? opts->grid : lm_theory_default_grid(mo);
    int diagonal = lm_moments_is_diagonal(mo);
    if (t->grid < 5) st = lm_fail(LM_EINVAL, "theory: grid of %d points per parameter (>= 5)", t->grid);
    if (!st) st = lm_op_check(mo, LM_THEORY_MASS, (lm_theory_hp){t->c.sgd_lr, 0, 0}, m, diagonal);
    if (st) {
        lm_moments_range_free(&t->range);
        return st;
    }
    t->blas = lm_blas_single();
    st = lm_op_prepare(mo, m, diagonal, &t->prep);
    if (st) {
        lm_moments_range_free(&t->range);
        lm_blas_restore(t->blas);
        return st;
    }
    int threads = opts && opts->threads > 0 ? opts->threads : lm_get_threads();
    t->s = (search){.prep = &t->prep, .threads = threads < 1 ? 1 : threads, .plan = plan_of(operator_size(mo)),
                    .opts = opts, .t0 = now()};
    return LM_OK;
}

static void close_session(session *t)
{
    lm_op_prep_free(&t->prep);
    lm_moments_range_free(&t->range);
    lm_blas_restore(t->blas);
}

lm_status lm_theory_best_rate(const lm_moments *mo, lm_theory_method method, int m,
                              const lm_theory_search_opts *opts, lm_theory_best *out)
{
    if ((unsigned)method > LM_THEORY_MASS) return lm_fail(LM_EINVAL, "theory: method %d is unknown", method);
    session t;
    lm_status st = open_session(&t, mo, m, opts);
    if (st) return st;
    begin(&t.s, method, method, t.grid);
    st = best_of(&t.s, &t.c, t.grid, NULL, out);
    close_session(&t);
    return st;
}

lm_status lm_theory_tune(const lm_moments *mo, int m, const lm_theory_search_opts *opts,
                         lm_theory_best out[3])
{
    session t;
    lm_status st = open_session(&t, mo, m, opts);
    if (st) return st;
    for (int k = LM_THEORY_SGD; k <= LM_THEORY_MASS && !st; k++) {
        begin(&t.s, (lm_theory_method)k, LM_THEORY_MASS, t.grid);
        point prev = k > LM_THEORY_SGD ? from_hp(out[k - 1].hp) : (point){{0}, {0, 0, 0}, 0};
        st = best_of(&t.s, &t.c, t.grid, k > LM_THEORY_SGD ? &prev : NULL, &out[k]);
    }
    close_session(&t);
    return st;
}

lm_status lm_theory_search_opts_validate(const lm_theory_search_opts *o)
{
    if (o->grid != 0 && o->grid < 5) return lm_fail(LM_EINVAL, "grid %d is not 0 or >= 5", o->grid);
    if (o->threads < 0) return lm_fail(LM_EINVAL, "threads %d is negative", o->threads);
    return LM_OK;
}
