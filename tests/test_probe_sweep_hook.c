// ctest-labels: unit
/* The width sweep's per-model hook (lm_sweep_opts.on_model) on small widths, for each probe:
 *   - called once per model, in order (width by width, seeds within), with the right width
 *     index, seed index, width and seed;
 *   - its value and the probe's whole result equal, bit for bit, those of a hand-written loop
 *     that builds each model with lm_model_create and calls lm_probe_model_hessian,
 *     lm_probe_ntk + lm_sym_eig, or lm_probe_linearity itself; the sweep's values, means and
 *     standard deviations are those of that loop;
 *   - a linearity sweep with lr 0 gives each model its own step 1/lambda_max(K_0) (never in the
 *     catapult regime); lm_sweep_shared_lr is 1/ the larger lambda_max(K_0) of the narrowest and
 *     the widest model at the first seed;
 *   - a hook that fails stops the sweep with its status, after that model. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/probe.h"
#include "linmass/rng.h"

enum { DIN = 5, N = 6, NW = 3, SEEDS = 2, NT = 3 };
static const int widths[NW] = {12, 4, 24}; /* not sorted: the narrowest and widest are found */
static const char *const tmpl = "dense:W,tanh,dense:W,tanh,dense:1";
static double x[N * DIN], xt[NT * DIN], y[N];

typedef struct {
    int calls, width_index[NW * SEEDS], seed_index[NW * SEEDS], width[NW * SEEDS];
    uint64_t seed[NW * SEEDS];
    double value[NW * SEEDS], detail[NW * SEEDS], lr[NW * SEEDS];
    int catapult[NW * SEEDS];
    int fail_at; /* the call that returns an error, or -1 */
} hook_log;

static lm_status hook(void *ctx, const lm_sweep_model *m)
{
    hook_log *h = ctx;
    int c = h->calls++;
    if (c >= NW * SEEDS) return lm_fail(LM_EINVAL, "too many calls");
    h->width_index[c] = m->width_index, h->seed_index[c] = m->seed_index, h->width[c] = m->width, h->seed[c] = m->seed;
    h->value[c] = m->value;
    CHECK(m->model && lm_model_num_params(m->model) > 0);
    CHECK((m->hessian != NULL) + (m->ntk != NULL) + (m->linearity != NULL) == 1);
    if (m->hessian) h->detail[c] = m->hessian->max_norm;
    if (m->ntk) h->detail[c] = m->ntk->trace;
    if (m->linearity) {
        const lm_linearity_result *r = m->linearity;
        h->detail[c] = r->loss_final, h->lr[c] = r->lr, h->catapult[c] = r->catapult;
    }
    return c == h->fail_at ? lm_fail(LM_EIO, "the hook stops at call %d", c) : LM_OK;
}

static lm_sweep_opts sweep_opts(lm_sweep_probe probe, hook_log *h)
{
    lm_sweep_opts o = {0};
    o.template_spec = tmpl;
    o.in = (lm_shape){DIN, 1, 1};
    o.param = LM_PARAM_NTK;
    o.widths = widths;
    o.n_widths = NW;
    o.seeds = SEEDS;
    o.seed = 40;
    o.probe = probe;
    o.x = x;
    o.n = N;
    o.hessian.eig.tol = 1e-8;
    o.hessian.eig.seed = 2;
    o.linearity.y = y;
    o.linearity.steps = 7;
    o.linearity.x_test = xt;
    o.linearity.n_test = NT;
    o.on_model = hook;
    o.hook_ctx = h;
    return o;
}

/* The hand-written loop: the value and the detail of model (wi, s). */
static void by_hand(const lm_sweep_opts *o, int wi, int s, double *value, double *detail, double *lr)
{
    char spec[256];
    lm_model *m;
    CHECK(lm_spec_with_width(tmpl, widths[wi], spec, sizeof spec) == LM_OK);
    CHECK(lm_model_create(spec, o->in, o->param, o->seed + (uint64_t)s, &m) == LM_OK);
    if (o->probe == LM_SWEEP_HESSIAN) {
        lm_hessian_opts ho = o->hessian;
        ho.skip_average = 1;
        lm_hessian_result r = {0};
        CHECK(lm_probe_model_hessian(m, x, N, &ho, &r) == LM_OK);
        *value = r.mean_norm, *detail = r.max_norm;
    } else if (o->probe == LM_SWEEP_NTK) {
        double K[N * N], ev[N], trace = 0;
        CHECK(lm_probe_ntk(m, x, N, &o->ntk, K, NULL) == LM_OK);
        CHECK(lm_sym_eig(N, K, ev, NULL) == LM_OK);
        for (int i = 0; i < N; i++) trace += K[i * N + i];
        *value = ev[N - 1], *detail = trace;
    } else {
        double K[N * N], ev[N];
        CHECK(lm_probe_ntk(m, x, N, NULL, K, NULL) == LM_OK);
        CHECK(lm_sym_eig(N, K, ev, NULL) == LM_OK);
        *lr = 1 / ev[N - 1]; /* each model's own default step */
        lm_linearity_opts lo = o->linearity;
        lo.lr = *lr;
        lm_linearity_result r;
        CHECK(lm_probe_linearity(m, x, N, &lo, &r) == LM_OK);
        *value = r.records[r.n_records - 1].kernel_change, *detail = r.loss_final;
        lm_linearity_free(&r);
    }
    lm_model_free(m);
}

static void check_probe(lm_sweep_probe probe, const char *name)
{
    hook_log h = {.fail_at = -1};
    lm_sweep_opts o = sweep_opts(probe, &h);
    lm_sweep_result r;
    CHECK_MSG(lm_sweep_width(&o, &r) == LM_OK, "%s: %s", name, lm_error_message());
    CHECK_MSG(h.calls == NW * SEEDS, "%s: %d hook calls for %d models", name, h.calls, NW * SEEDS);
    int exact = 1;
    for (int wi = 0; wi < NW; wi++) {
        double mean = 0, ss = 0, v[SEEDS];
        for (int s = 0; s < SEEDS; s++) {
            int c = wi * SEEDS + s;
            double detail, lr = 0;
            by_hand(&o, wi, s, &v[s], &detail, &lr);
            CHECK(h.width_index[c] == wi && h.seed_index[c] == s && h.width[c] == widths[wi] && h.seed[c] == 40 + (uint64_t)s);
            exact &= h.value[c] == v[s] && h.detail[c] == detail && r.values[c] == v[s];
            if (probe == LM_SWEEP_LINEARITY) exact &= h.lr[c] == lr && !h.catapult[c];
            mean += v[s] / SEEDS;
        }
        for (int s = 0; s < SEEDS; s++) ss += (v[s] - mean) * (v[s] - mean);
        exact &= r.mean[wi] == mean && r.sd[wi] == sqrt(ss / (SEEDS - 1));
    }
    CHECK_MSG(exact, "%s: the sweep's hook or values differ from the hand-written loop", name);
    printf("%-10s hook called %d times in order; values, results and means equal the hand-written loop (slope %.3f)\n", name,
           h.calls, r.fit.slope);
    lm_sweep_free(&r);
}

static void check_shared_lr(void)
{
    hook_log h = {.fail_at = -1};
    lm_sweep_opts o = sweep_opts(LM_SWEEP_LINEARITY, &h);
    double lmax = 0, lr;
    for (int e = 0; e < 2; e++) { /* widths 4 (narrowest) and 24 (widest), first seed */
        char spec[256];
        lm_model *m;
        double K[N * N], ev[N];
        CHECK(lm_spec_with_width(tmpl, e ? 24 : 4, spec, sizeof spec) == LM_OK);
        CHECK(lm_model_create(spec, o.in, o.param, o.seed, &m) == LM_OK);
        CHECK(lm_probe_ntk(m, x, N, NULL, K, NULL) == LM_OK);
        CHECK(lm_sym_eig(N, K, ev, NULL) == LM_OK);
        lmax = fmax(lmax, ev[N - 1]);
        lm_model_free(m);
    }
    CHECK(lm_sweep_shared_lr(&o, &lr) == LM_OK);
    CHECK_MSG(lr == 1 / lmax, "shared step %.17g, 1/max lambda_max %.17g", lr, 1 / lmax);
    printf("shared step of a linearity sweep: %.10g = 1/%.10g\n", lr, lmax);
}

static void check_failing_hook(void)
{
    hook_log h = {.fail_at = 2};
    lm_sweep_opts o = sweep_opts(LM_SWEEP_NTK, &h);
    lm_sweep_result r;
    CHECK(lm_sweep_width(&o, &r) == LM_EIO);
    CHECK_MSG(h.calls == 3, "a hook failing at call 2 was called %d times", h.calls);
    CHECK(strstr(lm_error_message(), "the hook stops at call 2") != NULL);
    CHECK(r.values == NULL);
}

int main(void)
{
    lm_rand_normal_fill_f64(x, N * DIN, 1.0, 3, 7);
    lm_rand_normal_fill_f64(xt, NT * DIN, 1.0, 4, 7);
    for (int i = 0; i < N; i++) y[i] = 0.5 * sin(i + 1.0);
    check_probe(LM_SWEEP_HESSIAN, "hessian");
    check_probe(LM_SWEEP_NTK, "ntk");
    check_probe(LM_SWEEP_LINEARITY, "linearity");
    check_shared_lr();
    check_failing_hook();
    return check_summary();
}
