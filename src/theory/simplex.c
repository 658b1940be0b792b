/* Nelder-Mead in at most 3 dimensions, as a state machine that asks for points and is told
 * their values, so that several simplices can run in lock step with their points evaluated
 * together (best.c). Points are clamped into the box. A run ends when the simplex is smaller
 * than tol of the box in every coordinate (or after max_evals points); it then restarts from
 * its best vertex with the first size, and stops when a restart brings no improvement. The
 * restarts matter on ridges, where a simplex can collapse before it reaches the optimum. */
#include <math.h>
#include <string.h>

#include "theory/theory_internal.h"

#define MAX_RESTARTS 8

static void clamp(const lm_simplex *s, double *x)
{
    for (int j = 0; j < s->n; j++) x[j] = fmin(s->hi[j], fmax(s->lo[j], x[j]));
}

/* The vertices around v[0] at the first size (the other way where the box ends). */
static void spread(lm_simplex *s)
{
    for (int i = 1; i <= s->n; i++) {
        memcpy(s->v[i], s->v[0], sizeof s->v[i]);
        double step = s->v[0][i - 1] + s->size[i - 1] <= s->hi[i - 1] ? s->size[i - 1] : -s->size[i - 1];
        s->v[i][i - 1] += step;
        clamp(s, s->v[i]);
    }
    s->phase = LM_NM_INIT;
    s->run_start = s->f[0];
}

void lm_simplex_start(lm_simplex *s, int n, const double *x, double fx, const double *size,
                      const double *lo, const double *hi, double tol, int max_evals)
{
    memset(s, 0, sizeof *s);
    s->n = n, s->tol = tol, s->max_evals = max_evals;
    memcpy(s->v[0], x, sizeof s->v[0]);
    memcpy(s->size, size, sizeof s->size), memcpy(s->lo, lo, sizeof s->lo), memcpy(s->hi, hi, sizeof s->hi);
    s->f[0] = fx;
    spread(s);
}

static void sort(lm_simplex *s)
{
    for (int i = 1; i <= s->n; i++)
        for (int k = i; k > 0 && s->f[k] < s->f[k - 1]; k--) {
            double t = s->f[k], tv[3];
            s->f[k] = s->f[k - 1], s->f[k - 1] = t;
            memcpy(tv, s->v[k], sizeof tv), memcpy(s->v[k], s->v[k - 1], sizeof tv), memcpy(s->v[k - 1], tv, sizeof tv);
        }
}

/* c + t (c - worst), c the centroid of the best n vertices */
static void along(const lm_simplex *s, double t, double *x)
{
    for (int j = 0; j < s->n; j++) {
        double c = 0;
        for (int i = 0; i < s->n; i++) c += s->v[i][j] / s->n;
        x[j] = c + t * (c - s->v[s->n][j]);
    }
    clamp(s, x);
}

static int small(const lm_simplex *s)
{
    for (int i = 1; i <= s->n; i++)
        for (int j = 0; j < s->n; j++)
            if (fabs(s->v[i][j] - s->v[0][j]) > s->tol * (s->hi[j] - s->lo[j])) return 0;
    return 1;
}

/* At the start of an iteration: end the run (restart or stop) or reflect. */
static void next_iteration(lm_simplex *s)
{
    sort(s);
    if (small(s) || s->evals >= s->max_evals) {
        int improved = s->f[0] < s->run_start;
        if (!improved || s->restarts >= MAX_RESTARTS || s->evals >= s->max_evals) {
            s->phase = LM_NM_DONE;
            return;
        }
        s->restarts++;
        spread(s);
        return;
    }
    along(s, 1, s->r);
    s->phase = LM_NM_REFLECT;
}

int lm_simplex_ask(const lm_simplex *s, double (*x)[3])
{
    switch (s->phase) {
    case LM_NM_INIT:
    case LM_NM_SHRINK:
        for (int i = 1; i <= s->n; i++) memcpy(x[i - 1], s->v[i], sizeof x[0]);
        return s->n;
    case LM_NM_REFLECT: memcpy(x[0], s->r, sizeof x[0]); return 1;
    case LM_NM_EXPAND:
    case LM_NM_CONTRACT: memcpy(x[0], s->t, sizeof x[0]); return 1;
    case LM_NM_DONE: break;
    }
    return 0;
}

static void replace_worst(lm_simplex *s, const double *x, double f)
{
    memcpy(s->v[s->n], x, sizeof s->v[0]);
    s->f[s->n] = f;
}

static void shrink(lm_simplex *s)
{
    for (int i = 1; i <= s->n; i++)
        for (int j = 0; j < s->n; j++) s->v[i][j] = s->v[0][j] + 0.5 * (s->v[i][j] - s->v[0][j]);
    s->phase = LM_NM_SHRINK;
}

static void after_reflect(lm_simplex *s, double fr)
{
    int n = s->n;
    s->fr = fr;
    if (fr < s->f[0]) {
        along(s, 2, s->t);
        s->phase = LM_NM_EXPAND;
    } else if (fr < s->f[n - 1]) {
        replace_worst(s, s->r, fr);
        next_iteration(s);
    } else {
        s->inside = !(fr < s->f[n]);
        along(s, s->inside ? -0.5 : 0.5, s->t);
        s->phase = LM_NM_CONTRACT;
    }
}

void lm_simplex_tell(lm_simplex *s, const double *fx)
{
    int n = s->n;
    s->evals += s->phase == LM_NM_INIT || s->phase == LM_NM_SHRINK ? n : 1;
    switch (s->phase) {
    case LM_NM_INIT:
    case LM_NM_SHRINK:
        memcpy(s->f + 1, fx, sizeof *fx * (size_t)n);
        next_iteration(s);
        break;
    case LM_NM_REFLECT: after_reflect(s, fx[0]); break;
    case LM_NM_EXPAND:
        if (fx[0] < s->fr) replace_worst(s, s->t, fx[0]);
        else replace_worst(s, s->r, s->fr);
        next_iteration(s);
        break;
    case LM_NM_CONTRACT:
        if (fx[0] < (s->inside ? s->f[n] : s->fr)) {
            replace_worst(s, s->t, fx[0]);
            next_iteration(s);
        } else {
            shrink(s);
        }
        break;
    case LM_NM_DONE: break;
    }
}

/* Evaluations the simplex may still ask for (an estimate, for progress reports). */
int lm_simplex_left(const lm_simplex *s)
{
    if (s->phase == LM_NM_DONE) return 0;
    double rel = 0;
    for (int i = 1; i <= s->n; i++)
        for (int j = 0; j < s->n; j++) rel = fmax(rel, fabs(s->v[i][j] - s->v[0][j]) / (s->hi[j] - s->lo[j]));
    /* about 2 points per iteration and n iterations per halving of the size, then a restart */
    int halvings = rel > s->tol ? (int)ceil(log2(rel / s->tol)) : 0;
    int left = 2 * s->n * halvings + 3 * s->n;
    return s->evals + left < s->max_evals ? left : s->max_evals - s->evals;
}
