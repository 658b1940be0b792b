/* The optimizer object: a validated configuration, the caller's weights w, and named state
 * buffers of the same length, all as the descriptor of its kind says (optim/optim_def.h). */
#include <stdlib.h>
#include <string.h>

#include "core/parallel.h"
#include "optim/optim_def.h"

struct lm_optim {
    lm_optim_config c;
    const lm_optim_def *d;
    size_t n;
    float *w;          /* the caller's weights */
    int n_state;       /* fixed at creation (for mass, by the form) */
    float *state[LM_OPTIM_MAX_STATE];
    long t;            /* steps since the last restart */
};

static void reset_state(lm_optim *o);

static lm_status add_states(lm_optim *o)
{
    int n_state = o->d->num_state ? o->d->num_state(&o->c) : LM_OPTIM_MAX_STATE;
    for (int i = 0; i < n_state && o->d->state[i]; i++) {
        float *p = calloc(o->n ? o->n : 1, sizeof *p);
        if (!p) return lm_fail(LM_ENOMEM, "optimizer %s: no memory for %zu-element state '%s'",
                               o->d->name, o->n, o->d->state[i]);
        o->state[o->n_state++] = p;
    }
    return LM_OK;
}

lm_status lm_optim_create(const lm_optim_config *c, float *w, size_t n, lm_optim **out)
{
    *out = NULL;
    lm_optim *o = calloc(1, sizeof *o);
    if (!o) return lm_fail(LM_ENOMEM, "optimizer: no memory");
    o->c = *c;
    o->n = n;
    o->w = w;
    lm_status st = lm_optim_config_validate(&o->c);
    if (st == LM_OK) {
        o->d = lm_optim_def_of(o->c.kind);
        st = add_states(o);
    }
    if (st) {
        lm_optim_free(o);
        return st;
    }
    reset_state(o);
    *out = o;
    return LM_OK;
}

void lm_optim_free(lm_optim *o)
{
    if (!o) return;
    for (int i = 0; i < o->n_state; i++) free(o->state[i]);
    free(o);
}

/* The state of a fresh optimizer at w: from w (mass) or zeros; no steps taken. */
static void reset_state(lm_optim *o)
{
    o->t = 0;
    for (int i = 0; i < o->n_state; i++) {
        if (o->d->state_from_w) memcpy(o->state[i], o->w, o->n * sizeof *o->w);
        else memset(o->state[i], 0, o->n * sizeof *o->state[i]);
    }
}

/* A restart re-creates the optimizer at its evaluation point (for mass u, so w = u = v = u:
 * docs/theory.md §1.1, as rebuilding the authors' optimizer from the saved weights does). */
void lm_optim_restart(lm_optim *o)
{
    float *at = lm_optim_eval_point(o);
    if (at != o->w) memcpy(o->w, at, o->n * sizeof *o->w);
    reset_state(o);
}

typedef struct {
    lm_optim *o;
    const float *g;
    double lr_factor;
    long t;
} step_job;

/* The step on parameters [b, e): every update is element-wise */
static void step_range(void *arg, size_t b, size_t e)
{
    const step_job *j = arg;
    const lm_optim *o = j->o;
    float *s[LM_OPTIM_MAX_STATE] = {NULL};
    for (int i = 0; i < o->n_state; i++) s[i] = o->state[i] + b;
    lm_optim_step_args a = {&o->c, j->lr_factor, j->t, o->n_state};
    o->d->step_f32(&a, e - b, o->w + b, j->g + b, s);
}

/* Large models split the parameters across linmass's threads (core/parallel.h); the updates
 * are element-wise, so the bits do not depend on the split. */
void lm_optim_step(lm_optim *o, const float *g, double lr_factor)
{
    step_job j = {o, g, lr_factor, ++o->t};
    lm_par_range(o->n, step_range, &j);
}

float *lm_optim_eval_point(lm_optim *o) { return o->d->eval_state >= 0 ? o->state[o->d->eval_state] : o->w; }
float *lm_optim_weights(lm_optim *o) { return o->w; }
lm_optim_config *lm_optim_hparams(lm_optim *o) { return &o->c; }
long lm_optim_step_count(const lm_optim *o) { return o->t; }
void lm_optim_set_step_count(lm_optim *o, long t) { o->t = t; }
int lm_optim_num_state(const lm_optim *o) { return o->n_state; }
size_t lm_optim_size(const lm_optim *o) { return o->n; }

const char *lm_optim_state_name(const lm_optim *o, int i)
{
    return i >= 0 && i < o->n_state ? o->d->state[i] : NULL;
}

float *lm_optim_state(lm_optim *o, int i) { return i >= 0 && i < o->n_state ? o->state[i] : NULL; }
