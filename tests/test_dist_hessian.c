/* Hessian-vector products split across ranks (the probes' collective: lm_dist_collective in
 * lm_hvp_opts.coll and the Hessian probes' coll). On a small CNN with 37 inputs in chunks of 8
 * (so the ranks' shares are uneven and chunked), each rank checks:
 *   - the split product H v against one process's, to 1e-12 relative (model and both losses);
 *     so are phi and its gradient (lm_hvp_value);
 *   - the identity H(sum_i c_i f_i) v = sum_i c_i H(f_i) v, the right side from single-input
 *     products (one input: one rank holds it, the others hold nothing and add zeros);
 *   - every rank holds the same bits (rank 0's broadcast and compared);
 *   - the model Hessian probe: per-input norms (split over the inputs, gathered) bit-identical
 *     to one process's; the averaged model's norm to 1e-12 relative;
 *   - the loss Hessian probe: top eigenvalues, Hutchinson trace, loss to 1e-12 relative.
 * ctest runs it as one rank (no collective then: nothing is split); tests/test_mpi.sh runs it under
 * mpirun -np 2. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/dist.h"
#include "linmass/probe.h"
#include "linmass/rng.h"

enum { N = 37, CH = 1, SIDE = 6, K = 3 };

static int rank;

static double rel_diff(const double *a, const double *b, size_t n)
{
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs(a[i] - b[i]));
        s = fmax(s, fabs(a[i]));
    }
    return s > 0 ? d / s : d;
}

/* 1 when buf (n doubles) holds rank 0's bits on every rank. */
static int same_on_every_rank(const double *buf, size_t n)
{
    double *r0 = malloc(n * sizeof *r0);
    memcpy(r0, buf, n * sizeof *r0);
    CHECK(lm_dist_bcast(r0, n * sizeof *r0, 0) == LM_OK);
    double differ = memcmp(r0, buf, n * sizeof *r0) ? 1 : 0; /* summed: the ranks that differ */
    CHECK(lm_dist_allreduce_f64(&differ, 1) == LM_OK);
    free(r0);
    return differ == 0;
}

/* The product (and phi, grad) of one target, one process against split, on every rank. */
static void check_products(const lm_model *m, const double *x, const double *v, lm_hvp_target target,
                           lm_loss_kind loss, const double *targets, const char *what)
{
    lm_hvp_opts o = {0};
    o.net.output = LM_OUTPUT_SUM;
    o.net.max_batch = 8;
    o.target = target;
    o.loss = loss;
    o.targets = targets;
    lm_hvp *h1, *hd;
    CHECK_MSG(lm_hvp_create(m, x, N, &o, &h1) == LM_OK, "%s: %s", what, lm_error_message());
    o.coll = lm_dist_collective();
    CHECK_MSG(lm_hvp_create(m, x, N, &o, &hd) == LM_OK, "%s: %s", what, lm_error_message());
    size_t p = lm_hvp_dim(h1);
    double *a = malloc(p * sizeof *a), *b = malloc(p * sizeof *b), *ga = malloc(p * sizeof *ga),
           *gb = malloc(p * sizeof *gb);
    lm_hvp_apply(h1, v, a);
    lm_hvp_apply(hd, v, b);
    CHECK(lm_hvp_status(hd) == LM_OK);
    double e_hv = rel_diff(a, b, p);
    CHECK_MSG(e_hv <= 1e-12, "%s: split H v differs from one process's by %.3g relative", what, e_hv);
    CHECK_MSG(same_on_every_rank(b, p), "%s: the ranks hold different H v", what);
    double pa = lm_hvp_value(h1, ga), pb = lm_hvp_value(hd, gb);
    double e_g = rel_diff(ga, gb, p);
    CHECK_CLOSE(pa, pb, 1e-12);
    CHECK_MSG(e_g <= 1e-12, "%s: split gradient differs by %.3g relative", what, e_g);
    CHECK_MSG(same_on_every_rank(gb, p) && same_on_every_rank(&pb, 1), "%s: the ranks hold different gradients", what);
    if (rank == 0)
        printf("%-24s H v split vs one process: %.2g relative; phi %.2g, gradient %.2g\n", what, e_hv,
               fabs(pa - pb) / fmax(fabs(pa), 1e-300), e_g);
    free(a), free(b), free(ga), free(gb);
    lm_hvp_free(h1), lm_hvp_free(hd);
}

/* H(sum_i c_i f_i) v against sum_i c_i H(f_i) v from single-input products, split. */
static void check_sum_identity(const lm_model *m, const double *x, const double *v)
{
    double coef[N];
    for (int i = 0; i < N; i++) coef[i] = 0.5 + 0.03 * i;
    lm_hvp_opts o = {0};
    o.net.output = 1;
    o.net.max_batch = 8;
    o.coef = coef;
    o.coll = lm_dist_collective();
    lm_hvp *h;
    CHECK_MSG(lm_hvp_create(m, x, N, &o, &h) == LM_OK, "%s", lm_error_message());
    size_t p = lm_hvp_dim(h), nin = CH * SIDE * SIDE;
    double *whole = malloc(p * sizeof *whole), *sum = calloc(p, sizeof *sum), *one = malloc(p * sizeof *one);
    lm_hvp_apply(h, v, whole);
    for (int i = 0; i < N; i++) {
        lm_hvp_set_inputs(h, x + i * nin, 1, &coef[i], NULL);
        lm_hvp_apply(h, v, one);
        for (size_t j = 0; j < p; j++) sum[j] += one[j];
    }
    CHECK(lm_hvp_status(h) == LM_OK);
    double e = rel_diff(sum, whole, p);
    CHECK_MSG(e <= 1e-12, "H(sum c_i f_i) v differs from sum c_i H(f_i) v by %.3g relative", e);
    if (rank == 0) printf("H(sum c_i f_i) v = sum_i c_i H(f_i) v (single inputs, split): %.2g relative\n", e);
    free(whole), free(sum), free(one);
    lm_hvp_free(h);
}

static void check_model_hessian(const lm_model *m, const double *x)
{
    double per1[N], perd[N];
    lm_hessian_opts o = {0};
    o.net.output = LM_OUTPUT_SUM;
    o.net.max_batch = 8;
    o.eig.seed = 4;
    lm_hessian_result r1 = {0}, rd = {0};
    r1.per_input = per1;
    CHECK_MSG(lm_probe_model_hessian(m, x, N, &o, &r1) == LM_OK, "%s", lm_error_message());
    o.coll = lm_dist_collective();
    rd.per_input = perd;
    CHECK_MSG(lm_probe_model_hessian(m, x, N, &o, &rd) == LM_OK, "%s", lm_error_message());
    CHECK_MSG(!memcmp(per1, perd, sizeof per1), "the per-input norms differ from one process's");
    CHECK(r1.max_norm == rd.max_norm && r1.mean_norm == rd.mean_norm && r1.argmax == rd.argmax);
    CHECK(r1.steps - r1.avg.steps == rd.steps - rd.avg.steps && r1.unconverged == rd.unconverged);
    CHECK(r1.avg.converged && rd.avg.converged);
    double e = fabs(r1.avg_norm - rd.avg_norm) / r1.avg_norm;
    CHECK_MSG(e <= 1e-12, "||H(fbar)||: %.17g one process, %.17g split (%.3g relative)", r1.avg_norm, rd.avg_norm, e);
    CHECK(same_on_every_rank(perd, N) && same_on_every_rank(&rd.avg_norm, 1));
    if (rank == 0)
        printf("model Hessian: ||H(fbar)|| %.10g (%d products) split vs one process %.2g relative; max_i %.10g, mean_i "
               "%.10g over %d inputs: bit-identical\n", rd.avg_norm, rd.avg.steps, e, rd.max_norm, rd.mean_norm, N);
}

static void check_loss_hessian(const lm_model *m, const double *x, const double *labels)
{
    lm_loss_hessian_opts o = {0};
    o.net.max_batch = 8;
    o.loss = LM_LOSS_XENT;
    o.targets = labels;
    o.eig.top_k = 3;
    o.eig.seed = 5;
    o.hutchinson = 20;
    lm_loss_hessian_result r1, rd;
    CHECK_MSG(lm_probe_loss_hessian(m, x, N, &o, &r1) == LM_OK, "%s", lm_error_message());
    o.coll = lm_dist_collective();
    CHECK_MSG(lm_probe_loss_hessian(m, x, N, &o, &rd) == LM_OK, "%s", lm_error_message());
    CHECK(r1.eig.ntop == 3 && rd.eig.ntop == 3);
    double e = 0;
    for (int t = 0; t < 3; t++) e = fmax(e, fabs(r1.eig.top[t] - rd.eig.top[t]) / fabs(r1.eig.top[0]));
    CHECK_MSG(e <= 1e-12, "loss Hessian top eigenvalues differ by %.3g relative", e);
    CHECK_CLOSE(r1.trace, rd.trace, 1e-12);
    CHECK_CLOSE(r1.loss, rd.loss, 1e-12);
    CHECK(same_on_every_rank(rd.eig.top, 3) && same_on_every_rank(&rd.trace, 1));
    if (rank == 0)
        printf("loss Hessian (cross-entropy): top %.8g %.8g %.8g, split vs one process %.2g relative; trace %.8g (%.2g)\n",
               rd.eig.top[0], rd.eig.top[1], rd.eig.top[2], e, rd.trace, fabs(r1.trace - rd.trace) / fabs(r1.trace));
}

int main(int argc, char **argv)
{
    CHECK_MSG(lm_dist_init(&argc, &argv) == LM_OK, "%s", lm_error_message());
    rank = lm_dist_rank();
    lm_model *m;
    lm_status st = lm_model_create("conv:3x3,tanh,avgpool:2,dense:8,softplus,dense:3", (lm_shape){CH, SIDE, SIDE},
                                   LM_PARAM_NTK, 7, &m);
    CHECK_MSG(st == LM_OK, "%s", lm_error_message());
    size_t nin = CH * SIDE * SIDE, p = lm_model_num_params(m);
    double *x = malloc(N * nin * sizeof *x), *v = malloc(p * sizeof *v), *y = malloc(N * K * sizeof *y);
    double labels[N];
    lm_rand_normal_fill_f64(x, N * nin, 1.0, 11, 80);
    lm_rand_normal_fill_f64(v, p, 1.0, 12, 80);
    lm_rand_normal_fill_f64(y, N * K, 1.0, 13, 80);
    for (int i = 0; i < N; i++) labels[i] = i % K;
    if (rank == 0) printf("%zu parameters, %d inputs, %d rank%s\n", p, N, lm_dist_size(), lm_dist_size() > 1 ? "s" : "");
    check_products(m, x, v, LM_HVP_MODEL, LM_LOSS_MSE, NULL, "model (sum of outputs)");
    check_products(m, x, v, LM_HVP_LOSS, LM_LOSS_MSE, y, "loss (MSE)");
    check_products(m, x, v, LM_HVP_LOSS, LM_LOSS_XENT, labels, "loss (cross-entropy)");
    check_sum_identity(m, x, v);
    check_model_hessian(m, x);
    check_loss_hessian(m, x, labels);
    free(x), free(v), free(y);
    lm_model_free(m);
    int rc = check_summary();
    lm_dist_finalize();
    return rc;
}
