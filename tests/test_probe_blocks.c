// ctest-labels: unit
/* Per-layer and per-tensor blocks of a Hessian (docs/theory.md §7.6):
 *   - the blocks: names and parameter ranges from the state_dict (a residual model with batch norm
 *     whose buffers sit between its parameters), layer blocks the unions of their tensors;
 *   - the block operator P^T H P equals the corresponding block of the dense Hessian (1e-13), for
 *     the loss Hessian and the model Hessian, every block of both kinds;
 *   - lm_probe_hessian_blocks: each block's top eigenvalues against dsyevd of the dense block
 *     (1e-8), its exact trace (1e-12) and, by Hutchinson, within 4 standard errors; its density's
 *     weights sum to 1 and its extreme nodes are the block's extreme eigenvalues (1e-8). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/probe.h"
#include "linmass/rng.h"

static void check_names(void)
{
    lm_model *m;
    CHECK(lm_model_create("conv:4x3,bn,relu,res:4,gap,dense:2", (lm_shape){2, 5, 5}, LM_PARAM_STANDARD, 1, &m) == LM_OK);
    lm_param_block b[16];
    int n = lm_param_blocks(m, LM_BLOCK_LAYER, b, 16);
    static const char *names[] = {"0", "1", "3.a.0", "3.a.1", "3.a.3", "3.a.4", "6"};
    static const size_t counts[] = {2 * 9 * 4 + 4, 8, 4 * 9 * 4, 8, 4 * 9 * 4, 8, 4 * 2 + 2};
    CHECK(n == 7);
    size_t next = 0;
    for (int i = 0; i < n && i < 7; i++) {
        CHECK_MSG(!strcmp(b[i].name, names[i]), "layer block %d is '%s', want '%s'", i, b[i].name, names[i]);
        CHECK(b[i].offset == next && b[i].count == counts[i]);
        next += b[i].count;
    }
    CHECK(next == lm_model_num_params(m));
    CHECK(lm_param_blocks(m, LM_BLOCK_LAYER, NULL, 0) == 7);
    CHECK(lm_param_blocks(m, LM_BLOCK_LAYER, b, 2) == 7 && !strcmp(b[1].name, "1")); /* the first two written */
    n = lm_param_blocks(m, LM_BLOCK_TENSOR, b, 16);
    CHECK(n == 12);
    CHECK(!strcmp(b[0].name, "0.weight") && b[0].count == 72 && !strcmp(b[1].name, "0.bias") && b[1].offset == 72);
    CHECK(!strcmp(b[11].name, "6.bias") && b[11].offset + b[11].count == lm_model_num_params(m));
    lm_model_free(m);
}

/* The block operator against the dense Hessian, every block. */
static void check_operator(lm_model *m, lm_hvp *h, lm_block_kind kind, const char *what)
{
    size_t p = lm_hvp_dim(h);
    double *H = malloc(p * p * sizeof *H), *e = calloc(p, sizeof *e), *col = malloc(p * sizeof *col);
    CHECK(lm_hvp_dense(h, H) == LM_OK);
    double scale = 0, worst = 0;
    for (size_t i = 0; i < p * p; i++) scale = fmax(scale, fabs(H[i]));
    lm_param_block b[32];
    int nb = lm_param_blocks(m, kind, b, 32);
    for (int k = 0; k < nb; k++) {
        lm_block_op op;
        CHECK(lm_block_op_init(&op, p, lm_hvp_apply, h, &b[k]) == LM_OK);
        for (size_t j = 0; j < b[k].count; j++) {
            e[j] = 1;
            lm_block_op_apply(&op, e, col);
            e[j] = 0;
            for (size_t i = 0; i < b[k].count; i++)
                worst = fmax(worst, fabs(col[i] - H[(b[k].offset + i) * p + b[k].offset + j]));
        }
        lm_block_op_free(&op);
    }
    printf("%s, %d %s blocks: P^T H P within %.2g of the dense blocks (largest entry %.3g)\n", what, nb,
           kind == LM_BLOCK_LAYER ? "layer" : "tensor", worst, scale);
    CHECK_MSG(worst <= 1e-13 * scale, "%s: a block differs by %.3g", what, worst);
    lm_param_block bad = {"x", p - 2, 5};
    lm_block_op op;
    CHECK(lm_block_op_init(&op, p, lm_hvp_apply, h, &bad) == LM_EINVAL);
    free(H), free(e), free(col);
}

/* The probe against the dense blocks. */
static void check_probe(lm_model *m, const double *x, int n, const lm_hvp_opts *ho, const char *what)
{
    lm_hvp *h;
    CHECK(lm_hvp_create(m, x, n, ho, &h) == LM_OK);
    size_t p = lm_hvp_dim(h);
    double *H = malloc(p * p * sizeof *H), *B = malloc(p * p * sizeof *B), *ev = malloc(p * sizeof *ev);
    CHECK(lm_hvp_dense(h, H) == LM_OK);
    lm_hvp_free(h);
    lm_slq_opts so = {3, 40, LM_VECTORS_RADEMACHER, 4, 0};
    lm_block_opts o = {0};
    o.eig.top_k = 2;
    o.density = &so;
    int nb = lm_param_blocks(m, LM_BLOCK_LAYER, NULL, 0), count = 0;
    lm_block_spectrum *r = calloc(nb, sizeof *r), *rh = calloc(nb, sizeof *rh);
    CHECK(lm_probe_hessian_blocks(m, x, n, ho, LM_BLOCK_LAYER, &o, r, &count) == LM_OK);
    CHECK(count == nb);
    o.trace.exact_max = -1; /* Hutchinson instead */
    o.trace.samples = 400;
    o.density = NULL;
    CHECK(lm_probe_hessian_blocks(m, x, n, ho, LM_BLOCK_LAYER, &o, rh, &count) == LM_OK);
    for (int k = 0; k < count; k++) {
        size_t c = r[k].block.count, off = r[k].block.offset;
        for (size_t i = 0; i < c; i++)
            for (size_t j = 0; j < c; j++) B[i * c + j] = H[(off + i) * p + off + j];
        CHECK(lm_sym_eig((int)c, B, ev, NULL) == LM_OK);
        double norm = fmax(fabs(ev[0]), fabs(ev[c - 1])), tr = 0, wsum = 0;
        for (size_t i = 0; i < c; i++) tr += B[i * c + i];
        for (int j = 0; j < r[k].density.n; j++) wsum += r[k].density.weights[j];
        printf("%s block %-4s (%3zu parameters): top %.8g %.8g (dense %.8g %.8g), trace %.8g (dense %.8g; Hutchinson "
               "%.6g +- %.2g)\n", what, r[k].block.name, c, r[k].eig.top[0], r[k].eig.top[1], ev[c - 1], c > 1 ? ev[c - 2] : NAN,
               r[k].trace.trace, tr, rh[k].trace.trace, rh[k].trace.trace_se);
        for (int t = 0; t < 2 && t < (int)c; t++) CHECK(fabs(r[k].eig.top[t] - ev[c - 1 - t]) <= 1e-8 * norm);
        CHECK_CLOSE(r[k].eig.norm, norm, 1e-8);
        CHECK(r[k].trace.exact && fabs(r[k].trace.trace - tr) <= 1e-12 * (norm * c + 1e-300));
        CHECK(!rh[k].trace.exact && rh[k].trace.samples == 400);
        CHECK_MSG(fabs(rh[k].trace.trace - tr) <= 4 * rh[k].trace.trace_se + 1e-13 * norm * c, "%s block %s: Hutchinson %.6g +- %.2g vs %.6g",
                  what, r[k].block.name, rh[k].trace.trace, rh[k].trace.trace_se, tr);
        CHECK_CLOSE(wsum, 1.0, 1e-12);
        CHECK(fabs(r[k].density.lambda_max - ev[c - 1]) <= 1e-8 * norm);
        CHECK(fabs(r[k].density.lambda_min - ev[0]) <= 1e-8 * norm);
        CHECK(rh[k].density.nodes == NULL);
    }
    lm_block_spectra_free(r, count);
    free(r), free(rh), free(H), free(B), free(ev);
}

int main(void)
{
    check_names();
    enum { N = 5 };
    lm_model *m;
    CHECK(lm_model_create("dense:9,tanh,dense:7,gelu,dense:3", (lm_shape){4, 1, 1}, LM_PARAM_NTK, 2, &m) == LM_OK);
    double x[N * 4], t[N * 3];
    lm_rand_normal_fill_f64(x, N * 4, 1.0, 3, 1);
    lm_rand_normal_fill_f64(t, N * 3, 1.0, 3, 2);
    lm_hvp_opts lo = {0}, mo = {0};
    lo.target = LM_HVP_LOSS;
    lo.loss = LM_LOSS_MSE;
    lo.targets = t;
    mo.net.output = LM_OUTPUT_SUM;
    lm_hvp *h;
    CHECK(lm_hvp_create(m, x, N, &lo, &h) == LM_OK);
    check_operator(m, h, LM_BLOCK_LAYER, "loss Hessian");
    check_operator(m, h, LM_BLOCK_TENSOR, "loss Hessian");
    lm_hvp_free(h);
    CHECK(lm_hvp_create(m, x, N, &mo, &h) == LM_OK);
    check_operator(m, h, LM_BLOCK_LAYER, "model Hessian");
    lm_hvp_free(h);
    check_probe(m, x, N, &lo, "loss");
    check_probe(m, x, N, &mo, "model");
    lm_model_free(m);

    /* a conv model with batch norm: blocks around the buffers */
    CHECK(lm_model_create("conv:2x3,bn,tanh,gap,dense:2", (lm_shape){1, 5, 5}, LM_PARAM_STANDARD, 2, &m) == LM_OK);
    double xc[3 * 25], tc[3] = {0, 1, 1};
    lm_rand_normal_fill_f64(xc, 3 * 25, 1.0, 4, 1);
    lo.loss = LM_LOSS_XENT;
    lo.targets = tc;
    CHECK(lm_hvp_create(m, xc, 3, &lo, &h) == LM_OK);
    check_operator(m, h, LM_BLOCK_TENSOR, "conv+bn loss Hessian");
    lm_hvp_free(h);
    lm_model_free(m);
    return check_summary();
}
