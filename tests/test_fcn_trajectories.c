// ctest-labels: optim
/* Golden optimizer trajectories on the fcn preset (dropout 0) written by PyTorch
 * (tools/gen_fcn_trajectories.py, whose header documents the files): 20 steps of SGD with
 * momentum and weight decay, heavy ball, Nesterov, Adam, AdamW, SGD with warm-up + multistep and
 * AdamW with cosine, on one fixed batch of 16 images, from the same exact start weights.
 *
 * The reference is torch's float64 trajectory. Compared, per parameter tensor (large tensors on
 * a strided subsample plus their whole-tensor norms):
 *   float32 replay (lm_forward_f32 / lm_backward_f32 / lm_optim_step):
 *     final weights w_20, norm-wise ||got - ref|| / ||ref||             <= 1e-5
 *     the displacement d = w_20 - w_0, norm-wise and its whole L2 norm   <= 1e-4
 *     the loss before every step, relative                               <= 1e-5
 *   float64 replay (the _f64 executor and the lm_sgd/lm_adam _f64 kernels, same schedule):
 *     the displacement, norm-wise                      <= 1e-6 (the subsample is stored as float32)
 *     its whole-tensor L2 norm (stored as float64)     <= 1e-12
 *     the losses                                       <= 1e-12
 * and, on the Nesterov case, MaSS with eta2 = 0 (float32, through lm_optim): its evaluation
 * point u after 20 steps is PyTorch's Nesterov parameter vector (weights <= 1e-5, displacement
 * <= 1e-4). A missing or malformed fixture fails the test. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fixture.h"
#include "linmass/exec.h"
#include "linmass/optim.h"

#define FIXTURE_DIR "tests/fixtures/"
#define MAX_STEPS 64

static const char *const cases[] = {"sgd",   "heavyball",           "nesterov",    "adam",
                                    "adamw", "sgd_warmup_multistep", "adamw_cosine"};

/* ---- fixture files ---- */

typedef fx_record record;

typedef struct {
    char text[2][256]; /* init: spec; case: options, schedule */
    int32_t ints[4];   /* init: c, h, w, n; case: steps, steps_per_epoch */
    int nrec;
    record *rec;
} fixture;

#define REGEN "/usr/bin/python3 tools/gen_fcn_trajectories.py"

static void free_fixture(fixture *f)
{
    fx_free_records(f->rec, f->nrec);
    f->rec = NULL;
    f->nrec = 0;
}

/* Load fcn_traj_<name>.bin: the init file has one text and four ints, a case two texts and two. */
static int load_fixture(const char *name, fixture *f)
{
    char path[256];
    snprintf(path, sizeof path, FIXTURE_DIR "fcn_traj_%s.bin", name);
    memset(f, 0, sizeof *f);
    fx_reader r;
    if (!fx_open(&r, path, "LMTRAJ01", REGEN)) return 0;
    int init = !strcmp(name, "init");
    for (int i = 0; i < (init ? 1 : 2); i++) fx_take_text(&r, f->text[i], sizeof f->text[i]);
    fx_take(&r, f->ints, (init ? 4 : 2) * sizeof(int32_t));
    fx_read_records(&r, &f->rec, &f->nrec);
    int ok = fx_close(&r, path, REGEN);
    if (!ok) free_fixture(f);
    return ok;
}

static const record *find(const fixture *f, const char *prefix, const char *name)
{
    char full[160];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    return fx_find(f->rec, f->nrec, full);
}

/* ---- the problem ---- */

typedef struct {
    lm_model *m;
    int n, k;
    size_t np, nin;
    double *w0; /* exact start weights */
    float *x32, *y32;
    double *x64, *y64;
} problem;

static int load_problem(problem *p)
{
    fixture f;
    memset(p, 0, sizeof *p);
    if (!load_fixture("init", &f)) return 0;
    lm_shape in = {f.ints[0], f.ints[1], f.ints[2]};
    p->n = f.ints[3];
    lm_status st = lm_model_create(f.text[0], in, LM_PARAM_STANDARD, 0, &p->m);
    CHECK_MSG(st == LM_OK, "spec '%s': %s", f.text[0], lm_error_message());
    if (st) {
        free_fixture(&f);
        return 0;
    }
    p->np = lm_model_num_params(p->m);
    p->nin = lm_shape_numel(in) * (size_t)p->n;
    p->k = (int)lm_shape_numel(lm_model_output_shape(p->m));
    p->w0 = calloc(p->np, sizeof *p->w0);
    int ok = 1, named = 0;
    for (int i = 0; i < lm_model_num_tensors(p->m); i++) { /* every tensor comes by its name */
        const lm_tensor_info *t = lm_model_tensor(p->m, i);
        const record *rc = find(&f, "w:", t->name);
        CHECK_MSG(rc && rc->numel == t->numel, "fixture lacks w:%s of %zu values", t->name, t->numel);
        if (!rc || rc->numel != t->numel) {
            ok = 0;
            continue;
        }
        for (size_t j = 0; j < t->numel; j++) p->w0[t->offset + j] = rc->v[j];
        named += (int)t->numel > 0;
    }
    CHECK(named == 8); /* 1, 3, 5, 7 .weight and .bias: index 0 is the flatten */
    const record *x = find(&f, "", "x"), *y = find(&f, "", "y");
    ok = ok && x && y && x->numel == p->nin && y->numel == (size_t)p->n;
    CHECK_MSG(ok, "fixture init: bad x or y");
    if (ok) {
        p->x32 = malloc(p->nin * sizeof *p->x32), p->x64 = malloc(p->nin * sizeof *p->x64);
        p->y32 = malloc(p->n * sizeof *p->y32), p->y64 = malloc(p->n * sizeof *p->y64);
        for (size_t i = 0; i < p->nin; i++) p->x32[i] = (float)(p->x64[i] = x->v[i]);
        for (int i = 0; i < p->n; i++) p->y32[i] = (float)(p->y64[i] = y->v[i]);
    }
    free_fixture(&f);
    return ok;
}

static void free_problem(problem *p)
{
    lm_model_free(p->m);
    free(p->w0), free(p->x32), free(p->y32), free(p->x64), free(p->y64);
}

/* The fixture's "optim=sgd lr=0.05 ..." line and schedule, through the option parser. */
static int case_config(const fixture *f, lm_optim_config *c)
{
    char text[256], *save;
    snprintf(text, sizeof text, "%s", f->text[0]);
    for (char *tok = strtok_r(text, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) return 0;
        *eq = '\0';
        if (!strcmp(tok, "optim")) {
            lm_optim_kind kind;
            if (lm_optim_kind_parse(eq + 1, &kind)) return 0;
            lm_optim_config_init(c, kind);
        } else if (lm_optim_config_set(c, tok, eq + 1)) {
            return 0;
        }
    }
    if (lm_optim_config_set(c, "schedule", f->text[1])) return 0;
    c->schedule.total_epochs = f->ints[0] / f->ints[1];
    return lm_optim_config_validate(c) == LM_OK;
}

/* ---- comparisons ---- */

typedef struct {
    double w, d, d_norm; /* worst norm-wise errors of weights, displacement, whole |d| */
} errors;

/* got: the whole parameter vector after the run; compares every tensor's weights w0 + d and
 * displacement d against the case's d:<name> records. */
static int compare(const problem *p, const fixture *f, const double *got, errors *e)
{
    memset(e, 0, sizeof *e);
    for (int i = 0; i < lm_model_num_tensors(p->m); i++) {
        const lm_tensor_info *t = lm_model_tensor(p->m, i);
        const record *rc = find(f, "d:", t->name);
        CHECK_MSG(rc && rc->numel == t->numel, "fixture lacks d:%s", t->name);
        if (!rc || rc->numel != t->numel) return 0;
        const double *g = got + t->offset, *w0 = p->w0 + t->offset;
        double nw = 0, dw = 0, nd = 0, dd = 0;
        for (size_t j = 0; j < rc->count; j++) {
            size_t at = j * rc->stride;
            double ref_d = rc->v[j], got_d = g[at] - w0[at];
            nw += (got_d - ref_d) * (got_d - ref_d), dw += (w0[at] + ref_d) * (w0[at] + ref_d);
            dd += ref_d * ref_d;
        }
        nd = nw; /* the same difference: w - w_ref = d - d_ref */
        e->w = fmax(e->w, sqrt(nw / dw));
        e->d = fmax(e->d, sqrt(nd / dd));
        if (rc->enc == 2) {
            double s = 0;
            for (size_t j = 0; j < t->numel; j++) s += (g[j] - w0[j]) * (g[j] - w0[j]);
            e->d_norm = fmax(e->d_norm, fabs(sqrt(s) - rc->norm2) / rc->norm2);
        }
    }
    return 1;
}

static double loss_err(const fixture *f, const double *loss, int steps)
{
    const record *rc = find(f, "", "loss");
    CHECK_MSG(rc && rc->numel == (size_t)steps, "fixture lacks the %d losses", steps);
    if (!rc || rc->numel != (size_t)steps) return INFINITY;
    double worst = 0;
    for (int k = 0; k < steps; k++) worst = fmax(worst, fabs(loss[k] - rc->v[k]) / fabs(rc->v[k]));
    return worst;
}

/* ---- replays ---- */

/* float32 through lm_optim: returns the visible weights (or MaSS's u when `eval`) as doubles. */
static int replay_f32(const problem *p, const lm_optim_config *cfg, int steps, int spe, int eval, double *out,
                      double *loss)
{
    float *w = malloc(p->np * sizeof *w), *grad = malloc(p->np * sizeof *grad), *gz = malloc(p->n * p->k * sizeof *gz);
    for (size_t i = 0; i < p->np; i++) w[i] = (float)p->w0[i];
    lm_optim *o = NULL;
    lm_exec_f32 *e = NULL;
    lm_status st = lm_optim_create(cfg, w, p->np, &o);
    if (!st) st = lm_exec_create_f32(p->m, p->n, 0, &e);
    CHECK_MSG(st == LM_OK, "replay: %s", lm_error_message());
    for (int k = 0; !st && k < steps; k++) {
        double factor = lm_schedule_factor(&cfg->schedule, k / spe, k);
        lm_exec_bind_f32(e, lm_optim_eval_point(o), lm_model_buffers(p->m));
        const float *z = lm_forward_f32(e, p->x32, p->n, LM_MODE_TRAIN, NULL);
        loss[k] = lm_loss_f32(LM_LOSS_XENT, z, p->y32, p->n, p->k, gz, NULL, NULL);
        lm_backward_f32(e, gz, grad, NULL, NULL, NULL);
        lm_optim_step(o, grad, factor);
    }
    if (!st) {
        const float *r = eval ? lm_optim_eval_point(o) : lm_optim_weights(o);
        for (size_t i = 0; i < p->np; i++) out[i] = r[i];
    }
    lm_exec_free_f32(e);
    lm_optim_free(o);
    free(w), free(grad), free(gz);
    return st == LM_OK;
}

/* float64 through the optimizers' _f64 kernels, with lm_optim_step's mapping of the options. */
static int replay_f64(const problem *p, const lm_optim_config *c, int steps, int spe, double *w, double *loss)
{
    size_t np = p->np;
    double *grad = malloc(np * sizeof *grad), *s0 = calloc(np, sizeof *s0), *s1 = calloc(np, sizeof *s1);
    double *gz = malloc(p->n * p->k * sizeof *gz), *buf = calloc(lm_model_num_buffers(p->m) + 1, sizeof *buf);
    memcpy(w, p->w0, np * sizeof *w);
    lm_exec_f64 *e = NULL;
    lm_status st = lm_exec_create_f64(p->m, p->n, 0, &e);
    CHECK_MSG(st == LM_OK, "replay f64: %s", lm_error_message());
    for (int k = 0; !st && k < steps; k++) {
        double factor = lm_schedule_factor(&c->schedule, k / spe, k);
        lm_exec_bind_f64(e, w, buf);
        const double *z = lm_forward_f64(e, p->x64, p->n, LM_MODE_TRAIN, NULL);
        loss[k] = lm_loss_f64(LM_LOSS_XENT, z, p->y64, p->n, p->k, gz, NULL, NULL);
        lm_backward_f64(e, gz, grad, NULL, NULL, NULL);
        if (c->kind == LM_OPTIM_ADAM || c->kind == LM_OPTIM_ADAMW) {
            lm_adam_hp hp = {c->lr * factor, c->beta1, c->beta2, c->eps, c->weight_decay, c->kind == LM_OPTIM_ADAMW};
            lm_adam_step_f64(np, w, grad, s0, s1, &hp, k + 1);
        } else {
            lm_sgd_hp hp = {c->lr * factor, c->momentum, c->kind == LM_OPTIM_SGD ? c->dampening : 0, c->weight_decay,
                            c->kind == LM_OPTIM_NESTEROV || (c->kind == LM_OPTIM_SGD && c->nesterov)};
            lm_sgd_step_f64(np, w, grad, s0, &hp, k + 1);
        }
    }
    lm_exec_free_f64(e);
    free(grad), free(s0), free(s1), free(gz), free(buf);
    return st == LM_OK;
}

static void run_case(const problem *p, const char *name)
{
    fixture f;
    lm_optim_config cfg;
    if (!load_fixture(name, &f)) return;
    int steps = f.ints[0], spe = f.ints[1];
    int ok = steps > 0 && steps <= MAX_STEPS && spe > 0 && case_config(&f, &cfg);
    CHECK_MSG(ok, "%s: options '%s', schedule '%s': %s", name, f.text[0], f.text[1], lm_error_message());
    double *got = malloc(p->np * sizeof *got), loss[MAX_STEPS];
    errors e32, e64;
    if (ok && replay_f32(p, &cfg, steps, spe, 0, got, loss) && compare(p, &f, got, &e32)) {
        double le = loss_err(&f, loss, steps);
        printf("%-21s f32: weights %.1e, displacement %.1e (|d| %.1e), losses %.1e\n", name, e32.w, e32.d,
               e32.d_norm, le);
        CHECK_MSG(e32.w <= 1e-5, "%s: float32 weights differ from PyTorch by %.2e norm-wise", name, e32.w);
        CHECK_MSG(e32.d <= 1e-4 && e32.d_norm <= 1e-4, "%s: float32 displacement differs by %.2e (|d| %.2e)", name,
                  e32.d, e32.d_norm);
        CHECK_MSG(le <= 1e-5, "%s: float32 losses differ by %.2e", name, le);
    }
    if (ok && replay_f64(p, &cfg, steps, spe, got, loss) && compare(p, &f, got, &e64)) {
        double le = loss_err(&f, loss, steps);
        printf("%-21s f64: weights %.1e, displacement %.1e (|d| %.1e), losses %.1e\n", "", e64.w, e64.d, e64.d_norm,
               le);
        CHECK_MSG(e64.d <= 1e-6, "%s: float64 displacement differs from PyTorch by %.2e", name, e64.d);
        CHECK_MSG(e64.d_norm <= 1e-12, "%s: float64 |d| differs from PyTorch by %.2e", name, e64.d_norm);
        CHECK_MSG(le <= 1e-12, "%s: float64 losses differ by %.2e", name, le);
    }
    if (ok && !strcmp(name, "nesterov")) { /* MaSS, eta2 = 0: u follows PyTorch's Nesterov */
        lm_optim_config mass;
        char eta1[32], gamma[32], wd[32];
        lm_optim_config_init(&mass, LM_OPTIM_MASS);
        snprintf(eta1, sizeof eta1, "%.17g", cfg.lr);
        snprintf(gamma, sizeof gamma, "%.17g", cfg.momentum);
        snprintf(wd, sizeof wd, "%.17g", cfg.weight_decay);
        int set = !lm_optim_config_set(&mass, "eta1", eta1) && !lm_optim_config_set(&mass, "eta2", "0") &&
                  !lm_optim_config_set(&mass, "gamma", gamma) && !lm_optim_config_set(&mass, "weight-decay", wd) &&
                  !lm_optim_config_validate(&mass);
        CHECK_MSG(set, "mass config: %s", lm_error_message());
        if (set && replay_f32(p, &mass, steps, spe, 1, got, loss) && compare(p, &f, got, &e32)) {
            printf("%-21s f32: weights %.1e, displacement %.1e (|d| %.1e)\n", "mass eta2=0 (u)", e32.w, e32.d,
                   e32.d_norm);
            CHECK_MSG(e32.w <= 1e-5 && e32.d <= 1e-4 && e32.d_norm <= 1e-4,
                      "MaSS(eta2 = 0) u differs from PyTorch's Nesterov: weights %.2e, displacement %.2e", e32.w, e32.d);
        }
    }
    free(got);
    free_fixture(&f);
}

int main(void)
{
    problem p;
    if (load_problem(&p))
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) run_case(&p, cases[i]);
    free_problem(&p);
    return check_summary();
}
