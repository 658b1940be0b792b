// ctest-labels: unit
/* The layerwise tangent kernel (LM_NTK_LAYERWISE: per-sample gradients of the convolution and
 * batch-norm layers, the Gram identity for the dense ones) against the per-sample kernel (whole
 * gradient rows, K = G G^T), to 1e-12 relative in float64: CNNs (first-layer patches, the
 * blocked layout, stride 2 and 3, max pooling), a residual network with batch norm in evaluation
 * mode, dense layers with and without bias, one output and the sum over outputs; whole and in
 * blocks of rows (a memory cap), which agree to 1e-13. AUTO picks layerwise for these models, and
 * a cap below the kernel and two rows is refused naming the bytes needed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/probe.h"
#include "linmass/rng.h"

typedef struct {
    const char *spec;
    lm_shape in;
    int output; /* an output index, or LM_OUTPUT_SUM */
} kcase;

static const kcase cases[] = {
    {"conv:8x3,relu,maxpool:2,conv:12x3,relu,maxpool:2,dense:16,relu,dense:1", {1, 12, 12}, 0},
    {"conv:9x3:nobias,bn,relu,res:9,res:18/2,gap,dense:3", {3, 8, 8}, LM_OUTPUT_SUM},
    {"conv:6x5/2,tanh,conv:10x3/3,flatten,dense:5:nobias,tanh,dense:2", {3, 13, 13}, 1},
    {"conv:20x3,relu,conv:17x5:valid,avgpool:2,dense:1:nobias", {2, 9, 9}, 0},
};

enum { N = 11 };

static double rel_diff(const double *a, const double *b, size_t n)
{
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) d = fmax(d, fabs(a[i] - b[i])), s = fmax(s, fabs(b[i]));
    return d / s;
}

static void run_case(const kcase *c, uint64_t seed)
{
    lm_model *m = NULL;
    CHECK(lm_model_create(c->spec, c->in, LM_PARAM_STANDARD, seed, &m) == LM_OK);
    if (!m) return;
    size_t np = lm_model_num_params(m), nb = lm_model_num_buffers(m), nin = lm_shape_numel(c->in);
    double *w = malloc(np * sizeof *w), *b = calloc(nb + 1, sizeof *b), *x = malloc(N * nin * sizeof *x);
    double *K = malloc(N * N * sizeof *K), *R = malloc(N * N * sizeof *R), *KB = malloc(N * N * sizeof *KB);
    const float *w32 = lm_model_params(m), *b32 = lm_model_buffers(m);
    lm_rand_normal_fill_f64(w, np, 0.2, seed, 1); /* biases and batch-norm affine off their init */
    for (size_t i = 0; i < np; i++) w[i] += w32[i];
    for (size_t i = 0; i < nb; i++) b[i] = b32[i];
    lm_rand_normal_fill_f64(x, N * nin, 1, seed, 2);
    lm_ntk_opts o = {0};
    o.net.params = w;
    o.net.buffers = b;
    o.net.output = c->output;
    lm_ntk_info info;
    o.method = LM_NTK_PER_SAMPLE;
    CHECK_MSG(lm_probe_ntk(m, x, N, &o, R, NULL) == LM_OK, "%s: %s", c->spec, lm_error_message());
    o.method = LM_NTK_AUTO;
    CHECK_MSG(lm_probe_ntk(m, x, N, &o, K, &info) == LM_OK, "%s: %s", c->spec, lm_error_message());
    CHECK(info.method == LM_NTK_LAYERWISE && info.block == N);
    double e = rel_diff(K, R, N * N);
    CHECK_MSG(e <= 1e-12, "%s: layerwise against per-sample %.3g", c->spec, e);
    /* below K and two rows (blocks I and J of one row): refused, naming that size; with two more
     * rows, blocks of 2 and the same kernel */
    size_t two = 0;
    o.mem_cap = N * N * sizeof(double) + 8;
    CHECK(lm_probe_ntk(m, x, N, &o, KB, NULL) == LM_ENOMEM);
    const char *msg = strstr(lm_error_message(), "need at least ");
    CHECK_MSG(msg && sscanf(msg, "need at least %zu bytes", &two) == 1, "'%s' names no size", lm_error_message());
    o.mem_cap = two + (two - N * N * sizeof(double));
    CHECK_MSG(lm_probe_ntk(m, x, N, &o, KB, &info) == LM_OK, "%s: %s", c->spec, lm_error_message());
    CHECK(info.block == 2);
    double eb = rel_diff(KB, K, N * N);
    CHECK_MSG(eb <= 1e-13, "%s: blocks of 2 against whole %.3g", c->spec, eb);
    printf("%-72s layerwise vs per-sample %.2g, blocked vs whole %.2g\n", c->spec, e, eb);
    free(w), free(b), free(x), free(K), free(R), free(KB);
    lm_model_free(m);
}

int main(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) run_case(&cases[i], 60 + i);
    return check_summary();
}
