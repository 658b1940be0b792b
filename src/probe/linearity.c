/* The linearity / PL* recorder: full-batch gradient descent on L(w) = 1/2 ||F(w) - y||^2 from
 * w0 (science.md section 5's convention), recording along the way how far the weights moved,
 * how much the tangent kernel changed, how far f is from its linearization at w0 on held-out
 * inputs, lambda_min(K_t), the PL ratio and the per-step loss ratio next to its bound. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "linmass/dist.h"
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

lm_status lm_probe_linearity(const lm_model *m, const double *x, int n,
                             const lm_linearity_opts *o, lm_linearity_result *r)
{
    memset(r, 0, sizeof *r);
    if (!o || !o->y) return lm_fail(LM_EINVAL, "linearity: targets are required");
    if (n < 1 || o->steps < 0) return lm_fail(LM_EINVAL, "linearity: %d inputs and %d steps", n, o->steps);
    if (!(o->lr > 0)) return lm_fail(LM_EINVAL, "linearity: the learning rate must be positive (got %g)", o->lr);
    if (o->n_test > 0 && !o->x_test) return lm_fail(LM_EINVAL, "linearity: %d held-out inputs but no data", o->n_test);
    if (o->net.output == LM_OUTPUT_SUM && lm_shape_numel(m->out) != 1)
        return lm_fail(LM_EINVAL, "linearity: the model has %zu outputs; choose one", lm_shape_numel(m->out));
    gd_state s = {0};
    lm_status st = lm_pnet_init(&s.net, m, &o->net);
    if (st) return lm_fail_context(st, "linearity");
    s.k = o->net.output == LM_OUTPUT_SUM ? 0 : o->net.output;
    int nt = o->n_test > 0 ? o->n_test : 0, most = n > nt ? n : nt;
    s.cap = most < s.net.max_batch ? most : s.net.max_batch;
    int every = o->record_every > 0 ? o->record_every : (o->steps / 10 > 1 ? o->steps / 10 : 1);
    int T = o->steps, max_records = T / every + 2;
    size_t np = s.net.np, nn = (size_t)n * n;
    st = lm_exec_create_f64(m, s.cap, LM_EXEC_TANGENT, &s.e);
    s.w0 = malloc(np * sizeof *s.w0);
    s.gz = malloc((size_t)s.cap * s.net.K * sizeof *s.gz);
    s.grad = malloc(np * sizeof *s.grad);
    s.tmp = malloc(np * sizeof *s.tmp);
    double *F = malloc(2 * (size_t)most * sizeof *F), *res = malloc((size_t)n * sizeof *res);
    double *K0 = malloc(nn * sizeof *K0), *Kt = malloc(nn * sizeof *Kt), *dw = malloc(np * sizeof *dw);
    double *ftest = malloc(3 * (size_t)(nt ? nt : 1) * sizeof *ftest);
    r->records = calloc(max_records, sizeof *r->records);
    r->params_final = malloc(np * sizeof *r->params_final);
    if (!st && (!s.w0 || !s.gz || !s.grad || !s.tmp || !F || !res || !K0 || !Kt || !dw || !ftest ||
                !r->records || !r->params_final))
        st = lm_fail(LM_ENOMEM, "linearity: out of memory for %zu parameters and %d inputs", np, n);
    if (o->ntk.distribute) st = lm_dist_agree(st); /* the kernels are collective: every rank goes on, or none */
    double *w = s.net.w; /* trained in place; w0 is kept */
    if (!st) memcpy(s.w0, w, np * sizeof *w);
    double K0norm = 0;
    int pending = -1; /* the record waiting for L(w_{t+1}) */
    for (int t = 0; !st && t <= T + 1; t++) {
        outputs(&s, w, x, n, NULL, F, NULL);
        for (int i = 0; i < n; i++) res[i] = F[i] - o->y[i];
        double loss = 0.5 * sq_norm(res, n);
        if (!isfinite(loss)) {
            st = lm_fail(LM_EDIVERGED, "linearity: the loss is %g at step %d (learning rate %g)", loss, t, o->lr);
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
        jt_times(&s, w, x, n, res, s.grad);
        if (t % every == 0 || t == T) {
            lm_linearity_record *rec = &r->records[r->n_records];
            rec->step = t;
            rec->loss = loss;
            for (size_t j = 0; j < np; j++) dw[j] = w[j] - s.w0[j];
            rec->dist = sqrt(sq_norm(dw, np));
            rec->pl_ratio = loss > 0 ? sq_norm(s.grad, np) / (2 * loss) : 0;
            st = kernel_at(m, o, w, s.net.buf, x, n, t == 0 ? K0 : Kt);
            if (st) break;
            lm_spectrum sp;
            st = lm_kernel_spectrum(t == 0 ? K0 : Kt, n, &sp, NULL);
            if (st) break;
            if (t == 0) {
                K0norm = sp.frobenius;
                r->lambda_min0 = sp.lambda_min;
                r->lambda_max0 = sp.lambda_max;
                r->lr_catapult = sp.lambda_max > 0 ? 2 / sp.lambda_max : INFINITY;
                r->catapult = o->lr > r->lr_catapult;
            } else {
                double d = 0;
                for (size_t j = 0; j < nn; j++) d += (Kt[j] - K0[j]) * (Kt[j] - K0[j]);
                rec->kernel_change = K0norm > 0 ? sqrt(d) / K0norm : 0;
            }
            rec->lambda_min = sp.lambda_min;
            rec->lambda_max = sp.lambda_max;
            rec->bound = 1 - o->lr * sp.lambda_min;
            if (nt) { /* f(w; x) against f_lin = f(w0; x) + J(w0) (w - w0), one tangent pass at w0 */
                outputs(&s, w, o->x_test, nt, NULL, ftest, NULL);
                outputs(&s, s.w0, o->x_test, nt, dw, ftest + nt, ftest + 2 * (size_t)nt);
                double mx = 0, ss = 0;
                for (int i = 0; i < nt; i++) {
                    double gap = fabs(ftest[i] - (ftest[nt + i] + ftest[2 * (size_t)nt + i]));
                    mx = fmax(mx, gap);
                    ss += gap * gap;
                }
                rec->lin_gap_max = mx;
                rec->lin_gap_rms = sqrt(ss / nt);
            }
            pending = r->n_records++;
        }
        if (t == T) memcpy(r->params_final, w, np * sizeof *w);
        for (size_t j = 0; j < np; j++) w[j] -= o->lr * s.grad[j];
    }
    if (st == LM_EDIVERGED) memcpy(r->params_final, w, np * sizeof *w);
    lm_exec_free_f64(s.e);
    lm_pnet_free(&s.net);
    free(s.w0), free(s.gz), free(s.grad), free(s.tmp);
    free(F), free(res), free(K0), free(Kt), free(dw), free(ftest);
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
