/* The optimizer object: a validated configuration, the caller's weights w, and named state
 * buffers of the same length. One step dispatches to the flat-array kernel of its kind. */
#include <stdlib.h>
#include <string.h>

#include "linmass/optim.h"

#include "core/parallel.h"

#define MAX_STATE 2

struct lm_optim {
    lm_optim_config c;
    lm_mass_form form; /* the MaSS form fixed at creation: it decides the state */
    size_t n;
    float *w;          /* the caller's weights */
    int n_state;
    const char *names[MAX_STATE];
    float *state[MAX_STATE];
    long t;            /* steps since the last restart */
};

static lm_status add_state(lm_optim *o, const char *name)
{
    float *p = calloc(o->n ? o->n : 1, sizeof *p);
    if (!p) return lm_fail(LM_ENOMEM, "optimizer %s: no memory for %zu-element state '%s'",
                           lm_optim_kind_name(o->c.kind), o->n, name);
    o->names[o->n_state] = name;
    o->state[o->n_state++] = p;
    return LM_OK;
}

static lm_status add_states(lm_optim *o)
{
    lm_status st = LM_OK;
    switch (o->c.kind) {
    case LM_OPTIM_SGD:
        if (o->c.momentum != 0) st = add_state(o, "momentum_buffer");
        return st;
    case LM_OPTIM_HEAVYBALL:
    case LM_OPTIM_NESTEROV: return add_state(o, "momentum_buffer");
    case LM_OPTIM_ADAM:
    case LM_OPTIM_ADAMW:
        st = add_state(o, "exp_avg");
        return st ? st : add_state(o, "exp_avg_sq");
    case LM_OPTIM_MASS:
        st = add_state(o, "u");
        return st || o->form == LM_MASS_ETA ? st : add_state(o, "v");
    }
    return st;
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
        o->form = o->c.mass_form;
        st = add_states(o);
    }
    if (st) {
        lm_optim_free(o);
        return st;
    }
    lm_optim_restart(o);
    *out = o;
    return LM_OK;
}

void lm_optim_free(lm_optim *o)
{
    if (!o) return;
    for (int i = 0; i < o->n_state; i++) free(o->state[i]);
    free(o);
}

void lm_optim_restart(lm_optim *o)
{
    o->t = 0;
    for (int i = 0; i < o->n_state; i++) {
        if (o->c.kind == LM_OPTIM_MASS) memcpy(o->state[i], o->w, o->n * sizeof *o->w);
        else memset(o->state[i], 0, o->n * sizeof *o->state[i]);
    }
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
    lm_optim *o = j->o;
    const lm_optim_config *c = &o->c;
    size_t n = e - b;
    float *w = o->w + b, *s0 = o->n_state > 0 ? o->state[0] + b : NULL, *s1 = o->n_state > 1 ? o->state[1] + b : NULL;
    const float *g = j->g + b;
    switch (c->kind) {
    case LM_OPTIM_SGD:
    case LM_OPTIM_HEAVYBALL:
    case LM_OPTIM_NESTEROV: {
        lm_sgd_hp hp = {c->lr * j->lr_factor, o->n_state ? c->momentum : 0,
                        c->kind == LM_OPTIM_SGD ? c->dampening : 0, c->weight_decay,
                        c->kind == LM_OPTIM_NESTEROV || (c->kind == LM_OPTIM_SGD && c->nesterov)};
        lm_sgd_step_f32(n, w, g, s0, &hp, j->t);
        break;
    }
    case LM_OPTIM_ADAM:
    case LM_OPTIM_ADAMW: {
        lm_adam_hp hp = {c->lr * j->lr_factor, c->beta1, c->beta2, c->eps, c->weight_decay,
                         c->kind == LM_OPTIM_ADAMW};
        lm_adam_step_f32(n, w, g, s0, s1, &hp, j->t);
        break;
    }
    case LM_OPTIM_MASS:
        if (o->form == LM_MASS_ETA) {
            lm_mass_hp hp = {c->eta1 * j->lr_factor, c->eta2 * j->lr_factor, c->gamma, c->weight_decay};
            lm_mass_step_f32(n, w, s0, g, &hp);
        } else {
            lm_mass3_hp hp = {c->lr * j->lr_factor, c->alpha, c->kappa_tilde, c->weight_decay};
            lm_mass3_step_f32(n, w, s0, s1, g, &hp);
        }
        break;
    }
}

/* Large models split the parameters across linmass's threads (core/parallel.h); the updates
 * are element-wise, so the bits do not depend on the split. */
void lm_optim_step(lm_optim *o, const float *g, double lr_factor)
{
    step_job j = {o, g, lr_factor, ++o->t};
    lm_par_range(o->n, step_range, &j);
}

float *lm_optim_eval_point(lm_optim *o) { return o->c.kind == LM_OPTIM_MASS ? o->state[0] : o->w; }
float *lm_optim_weights(lm_optim *o) { return o->w; }
lm_optim_config *lm_optim_hparams(lm_optim *o) { return &o->c; }
long lm_optim_step_count(const lm_optim *o) { return o->t; }
void lm_optim_set_step_count(lm_optim *o, long t) { o->t = t; }
int lm_optim_num_state(const lm_optim *o) { return o->n_state; }
size_t lm_optim_size(const lm_optim *o) { return o->n; }

const char *lm_optim_state_name(const lm_optim *o, int i)
{
    return i >= 0 && i < o->n_state ? o->names[i] : NULL;
}

float *lm_optim_state(lm_optim *o, int i) { return i >= 0 && i < o->n_state ? o->state[i] : NULL; }
