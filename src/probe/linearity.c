/* The linearity / PL* recorder: full-batch gradient descent on L(w) = 1/2 ||F(w) - y||^2 from
 * w0 (docs/theory.md §5's convention), recording along the way how far the weights moved,
 * how much the tangent kernel changed, how far f is from its linearization at w0 on held-out
 * inputs, lambda_min(K_t), the PL ratio and the per-step loss ratio next to its bound. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "linmass/rng.h"
#include "probe/probe_internal.h"

typedef struct {
    lm_pnet net;
    lm_exec_f64 *e; /* tangent executor: f_lin comes from the tangent forward at w0 */
    int cap, k;     /* batch, output column */
    double *w0, *gz, *grad, *tmp;
} gd_state;

/* F(w) on n inputs into F (n values). */
static void outputs(gd_state *s, const double *w, const double *x, int n, const double *v,
                    double *F, double *Fdot)
{
    lm_exec_bind_f64(s->e, (double *)w, s->net.buf);
    for (int i0 = 0; i0 < n; i0 += s->cap) {
        int nc = n - i0 < s->cap ? n - i0 : s->cap;
        const double *z = lm_forward_f64(s->e, x + (size_t)i0 * s->net.nin, nc, s->net.mode, v);
        const double *zd = lm_output_dot_f64(s->e);
        for (int i = 0; i < nc; i++) {
            F[i0 + i] = z[(size_t)i * s->net.K + s->k];
            if (Fdot) Fdot[i0 + i] = zd[(size_t)i * s->net.K + s->k];
        }
    }
}

/* grad = J^T r at w (r has n entries); F is recomputed chunk by chunk. */
static void jt_times(gd_state *s, const double *w, const double *x, int n, const double *r,
                     double *grad)
{
    size_t np = s->net.np;
    lm_exec_bind_f64(s->e, (double *)w, s->net.buf);
    for (int i0 = 0; i0 < n; i0 += s->cap) {
        int nc = n - i0 < s->cap ? n - i0 : s->cap;
        lm_forward_f64(s->e, x + (size_t)i0 * s->net.nin, nc, s->net.mode, NULL);
        memset(s->gz, 0, (size_t)nc * s->net.K * sizeof *s->gz);
        for (int i = 0; i < nc; i++) s->gz[(size_t)i * s->net.K + s->k] = r[i0 + i];
        double *dst = i0 ? s->tmp : grad;
        lm_backward_f64(s->e, s->gz, dst, NULL, NULL, NULL);
        if (i0)
            for (size_t j = 0; j < np; j++) grad[j] += s->tmp[j];
    }
}

static double sq_norm(const double *a, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * a[i];
    return s;
}

static lm_status kernel_at(const lm_model *m, const lm_linearity_opts *o, const double *w,
                           const double *buf, const double *x, int n, double *K)
{
    lm_ntk_opts ko = o->ntk;
    ko.net = o->net;
    ko.net.params = w;
    ko.net.buffers = buf;
    return lm_probe_ntk(m, x, n, &ko, K, NULL);
}

/* The step at the first record, from K_0's spectrum: the given one or 1/lambda_max(K_0). */
static lm_status first_record(lm_linearity_result *r, const lm_linearity_opts *o, const lm_spectrum *sp)
{
    r->lambda_min0 = sp->lambda_min;
    r->lambda_max0 = sp->lambda_max;
    r->lr_catapult = sp->lr_catapult;
    r->lr_auto = o->lr == 0;
    r->lr = r->lr_auto ? sp->lr_default : o->lr;
    if (!(r->lr > 0))
        return lm_fail(LM_EINVAL, "lambda_max(K_0) is %g, so there is no default step (1/lambda_max): "
                                  "give a learning rate", sp->lambda_max);
    r->catapult = r->lr > r->lr_catapult;
    return LM_OK;
}

/* |f(w; x) - f_lin(w; x)| on the held-out inputs, f_lin = f(w0; x) + J(w0) (w - w0) from one
 * tangent pass at w0: its maximum and root mean square into rec. */
static void linearization_gap(gd_state *s, const double *w, const double *dw, const double *xt, int nt,
                              double *ftest, lm_linearity_record *rec)
{
    outputs(s, w, xt, nt, NULL, ftest, NULL);
    outputs(s, s->w0, xt, nt, dw, ftest + nt, ftest + 2 * (size_t)nt);
    double mx = 0, ss = 0;
    for (int i = 0; i < nt; i++) {
        double gap = fabs(ftest[i] - (ftest[nt + i] + ftest[2 * (size_t)nt + i]));
        mx = fmax(mx, gap);
        ss += gap * gap;
    }
    rec->lin_gap_max = mx;
    rec->lin_gap_rms = sqrt(ss / nt);
}

/* The buffers of one run. */
typedef struct {
    double *F, *res, *K0, *Kt, *dw, *ftest;
    double K0norm;
} gd_buffers;

/* The record at step t (loss and gradient already computed): distance, kernel and its change,
 * spectrum, PL ratio, bound, linearization gap. */
static lm_status take_record(gd_state *s, const lm_model *m, const double *x, int n, const lm_linearity_opts *o,
                             int t, double loss, gd_buffers *b, lm_linearity_result *r)
{
    lm_linearity_record *rec = &r->records[r->n_records];
    size_t np = s->net.np, nn = (size_t)n * n;
    const double *w = s->net.w;
    rec->step = t;
    rec->loss = loss;
    for (size_t j = 0; j < np; j++) b->dw[j] = w[j] - s->w0[j];
    rec->dist = sqrt(sq_norm(b->dw, np));
    rec->pl_ratio = loss > 0 ? sq_norm(s->grad, np) / (2 * loss) : 0;
    double *K = t == 0 ? b->K0 : b->Kt;
    lm_spectrum sp;
    lm_status st = kernel_at(m, o, w, s->net.buf, x, n, K);
    if (!st) st = lm_kernel_spectrum(K, n, &sp, NULL);
    if (!st && t == 0) st = first_record(r, o, &sp);
    if (st) return st;
    if (t == 0) {
        b->K0norm = sp.frobenius;
    } else {
        double d = 0;
        for (size_t j = 0; j < nn; j++) d += (b->Kt[j] - b->K0[j]) * (b->Kt[j] - b->K0[j]);
        rec->kernel_change = b->K0norm > 0 ? sqrt(d) / b->K0norm : 0;
    }
    rec->lambda_min = sp.lambda_min;
    rec->lambda_max = sp.lambda_max;
    rec->pl_over_lambda_min = sp.lambda_min > 0 ? rec->pl_ratio / sp.lambda_min : NAN;
    rec->bound = 1 - r->lr * sp.lambda_min;
    if (o->n_test > 0) linearization_gap(s, w, b->dw, o->x_test, o->n_test, b->ftest, rec);
    r->n_records++;
    return LM_OK;
}

/* The PL* summary and the records' run bounds (docs/theory.md §5). */
static void plstar_summary(lm_linearity_result *r)
{
    lm_plstar_summary *p = &r->plstar;
    p->mu = INFINITY;
    p->worst_excess = -INFINITY;
    p->below_bound = p->pl_ge_lambda_min = 1;
    for (int i = 0; i < r->n_records; i++) {
        const lm_linearity_record *e = &r->records[i];
        p->mu = fmin(p->mu, e->lambda_min);
        p->below_bound &= e->loss_ratio <= e->bound;
        p->pl_ge_lambda_min &= e->pl_ratio >= e->lambda_min * (1 - 1e-9) - 1e-300;
        p->worst_excess = fmax(p->worst_excess, e->loss_ratio - e->bound);
    }
    const lm_linearity_record *last = &r->records[r->n_records - 1];
    double q = fmax(1 - r->lr * p->mu, 0), path = r->loss0;
    p->loss_next = last->loss * last->loss_ratio;
    p->rate_bound = r->loss0 * pow(q, r->steps_done + 1);
    for (int i = 0; i < r->n_records; i++) {
        lm_linearity_record *e = &r->records[i];
        e->rate_bound = r->loss0 * pow(q, e->step);
        e->path_bound = path;
        if (i + 1 < r->n_records) path *= pow(e->bound, r->records[i + 1].step - e->step);
    }
}

static lm_status check_opts(const lm_model *m, int n, const lm_linearity_opts *o)
{
    if (!o || !o->y) return lm_fail(LM_EINVAL, "linearity: targets are required");
    if (n < 1 || o->steps < 0) return lm_fail(LM_EINVAL, "linearity: %d inputs and %d steps", n, o->steps);
    if (!(o->lr >= 0))
        return lm_fail(LM_EINVAL, "linearity: the learning rate must be positive, or 0 for 1/lambda_max(K_0) (got %g)", o->lr);
    if (o->n_test > 0 && !o->x_test) return lm_fail(LM_EINVAL, "linearity: %d held-out inputs but no data", o->n_test);
    if (o->net.output == LM_OUTPUT_SUM && lm_shape_numel(m->out) != 1)
        return lm_fail(LM_EINVAL, "linearity: the model has %zu outputs; choose one", lm_shape_numel(m->out));
    return LM_OK;
}

/* The executor, the state's and the run's buffers; every process agrees on the outcome. */
static lm_status gd_setup(gd_state *s, const lm_model *m, int n, const lm_linearity_opts *o, gd_buffers *b,
                          lm_linearity_result *r, int max_records)
{
    lm_status st = lm_pnet_init(&s->net, m, &o->net);
    if (st) return lm_fail_context(st, "linearity");
    s->k = o->net.output == LM_OUTPUT_SUM ? 0 : o->net.output;
    int nt = o->n_test > 0 ? o->n_test : 0, most = n > nt ? n : nt;
    s->cap = most < s->net.max_batch ? most : s->net.max_batch;
    size_t np = s->net.np, nn = (size_t)n * n;
    st = lm_exec_create_f64(m, s->cap, LM_EXEC_TANGENT, &s->e);
    s->w0 = malloc(np * sizeof *s->w0);
    s->gz = malloc((size_t)s->cap * s->net.K * sizeof *s->gz);
    s->grad = malloc(np * sizeof *s->grad);
    s->tmp = malloc(np * sizeof *s->tmp);
    b->F = malloc(2 * (size_t)most * sizeof *b->F);
    b->res = malloc((size_t)n * sizeof *b->res);
    b->K0 = malloc(nn * sizeof *b->K0);
    b->Kt = malloc(nn * sizeof *b->Kt);
    b->dw = malloc(np * sizeof *b->dw);
    b->ftest = malloc(3 * (size_t)(nt ? nt : 1) * sizeof *b->ftest);
    r->records = calloc(max_records, sizeof *r->records);
    r->params_final = malloc(np * sizeof *r->params_final);
    if (!st && (!s->w0 || !s->gz || !s->grad || !s->tmp || !b->F || !b->res || !b->K0 || !b->Kt || !b->dw ||
                !b->ftest || !r->records || !r->params_final))
        st = lm_fail(LM_ENOMEM, "linearity: out of memory for %zu parameters and %d inputs", np, n);
    return lm_coll_agree(o->ntk.coll, st); /* the kernels are collective: every process goes on, or none */
}

static void gd_free(gd_state *s, gd_buffers *b)
{
    lm_exec_free_f64(s->e);
    lm_pnet_free(&s->net);
    free(s->w0), free(s->gz), free(s->grad), free(s->tmp);
    free(b->F), free(b->res), free(b->K0), free(b->Kt), free(b->dw), free(b->ftest);
}

lm_status lm_probe_linearity(const lm_model *m, const double *x, int n,
                             const lm_linearity_opts *o, lm_linearity_result *r)
{
    memset(r, 0, sizeof *r);
    lm_status st = check_opts(m, n, o);
    if (st) return st;
    gd_state s = {0};
    gd_buffers b = {0};
    int every = o->record_every > 0 ? o->record_every : (o->steps / 10 > 1 ? o->steps / 10 : 1);
    int T = o->steps;
    st = gd_setup(&s, m, n, o, &b, r, T / every + 2);
    double *w = s.net.w; /* trained in place; w0 is kept */
    size_t np = s.net.np;
    if (!st) memcpy(s.w0, w, np * sizeof *w);
    int pending = -1; /* the record waiting for L(w_{t+1}) */
    for (int t = 0; !st && t <= T + 1; t++) {
        outputs(&s, w, x, n, NULL, b.F, NULL);
        for (int i = 0; i < n; i++) b.res[i] = b.F[i] - o->y[i];
        double loss = 0.5 * sq_norm(b.res, n);
        if (!isfinite(loss)) {
            st = lm_fail(LM_EDIVERGED, "linearity: the loss is %g at step %d (learning rate %g)", loss, t, r->lr);
            break;
        }
        if (pending >= 0) {
            lm_linearity_record *p = &r->records[pending];
            p->loss_ratio = p->loss > 0 ? loss / p->loss : 0;
            pending = -1;
        }
        if (t == 0) r->loss0 = loss;
        if (t == T + 1) break; /* only the last ratio needed this loss */
        r->loss_final = loss;
        r->steps_done = t;
        jt_times(&s, w, x, n, b.res, s.grad);
        if (t % every == 0 || t == T) {
            if ((st = take_record(&s, m, x, n, o, t, loss, &b, r))) break;
            pending = r->n_records - 1;
        }
        if (t == T) memcpy(r->params_final, w, np * sizeof *w);
        for (size_t j = 0; j < np; j++) w[j] -= r->lr * s.grad[j];
    }
    if (st == LM_EDIVERGED) memcpy(r->params_final, w, np * sizeof *w);
    if (!st) plstar_summary(r);
    gd_free(&s, &b);
    if (st && st != LM_EDIVERGED) {
        lm_linearity_free(r);
        return lm_fail_context(st, "linearity");
    }
    return st;
}

void lm_linearity_free(lm_linearity_result *r)
{
    free(r->records);
    free(r->params_final);
    r->records = NULL;
    r->params_final = NULL;
    r->n_records = 0;
}

int lm_linearity_steps_above(const lm_linearity_result *r, double slack)
{
    int count = 0;
    for (int i = 0; i < r->n_records; i++) {
        const lm_linearity_record *e = &r->records[i];
        count += e->loss_ratio > 1 - (1 - slack) * r->lr * e->lambda_min;
    }
    return count;
}

lm_status lm_probe_gd_smoothness(const lm_model *m, const double *x, int n, const double *y,
                                 const lm_probe_net *net, const lm_eig_opts *eig, double *beta)
{
    *beta = NAN;
    if (lm_shape_numel(m->out) != 1)
        return lm_fail(LM_EINVAL, "smoothness: the model has %zu outputs (one is needed)", lm_shape_numel(m->out));
    lm_loss_hessian_opts lo = {0};
    if (net) lo.net = *net;
    if (eig) lo.eig = *eig;
    lo.loss = LM_LOSS_MSE;
    lo.targets = y;
    lo.hutchinson = -1;
    lm_loss_hessian_result lr;
    lm_status st = lm_probe_loss_hessian(m, x, n, &lo, &lr);
    /* linmass's MSE is (1/2n) sum (f - y)^2 = L / n */
    if (!st) *beta = n * lr.eig.norm;
    return st ? lm_fail_context(st, "smoothness") : LM_OK;
}

void lm_probe_regression_data(uint64_t seed, int n, int d, double *x, double *y)
{
    lm_rand_normal_fill_f64(x, (uint64_t)n * d, 1.0, seed, LM_STREAM_DATA + 2);
    for (int i = 0; i < n; i++) y[i] = 0.8 * (2 * lm_rand_uniform(seed + 1, LM_STREAM_DATA + 2, i) - 1);
}
