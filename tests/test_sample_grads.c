// ctest-labels: unit
/* Per-sample gradients from one batched backward pass (lm_exec_sample_grads) against n
 * single-sample backward passes (lm_backward with a batch of one), row by row: 1e-12 relative in
 * float64, 1e-5 in float32, with 1 and 2 threads. Models with direct convolutions (blocked
 * layout, first-layer patches, stride 2, 5x5, channels off the block), an im2col convolution
 * (stride 3), relu, max pooling, batch norm in evaluation mode, residual blocks and dense layers.
 * Batch norm outside evaluation mode is refused. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/exec.h"
#include "linmass/rng.h"
#include "linmass/runtime.h"

typedef struct {
    const char *spec;
    lm_shape in;
} scase;

static const scase cases[] = {
    {"conv:8x3,relu,maxpool:2,conv:12x3,relu,maxpool:2,dense:16,relu,dense:2", {1, 12, 12}},
    {"conv:9x3:nobias,bn,relu,res:9,res:18/2,gap,dense:3", {3, 8, 8}},
    {"conv:6x5/2,tanh,conv:10x3/3,flatten,dense:2", {3, 13, 13}},
    {"conv:20x3,relu,conv:17x5:valid,conv:4x1:nobias,flatten,dense:1", {2, 7, 7}},
};

enum { N = 7 };

static double rel_err(const double *a, const double *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num += (a[i] - b[i]) * (a[i] - b[i]);
        den += a[i] * a[i];
    }
    return sqrt(num / (den + 1e-300));
}

#define ROWS(T, SUF)                                                                                       \
    /* rows[i] of both methods, in double */                                                               \
    static void rows_##SUF(lm_model *m, const double *w64, const double *b64, const double *x64,         \
                           const double *gz64, double *batched, double *single)                          \
    {                                                                                                      \
        size_t np = lm_model_num_params(m), nb = lm_model_num_buffers(m), nin = lm_shape_numel(lm_model_input_shape(m)); \
        int K = (int)lm_shape_numel(lm_model_output_shape(m));                                            \
        T *w = malloc(np * sizeof *w), *b = malloc((nb + 1) * sizeof *b), *x = malloc(N * nin * sizeof *x); \
        T *gz = malloc((size_t)N * K * sizeof *gz), *G = malloc(N * np * sizeof *G);                       \
        for (size_t i = 0; i < np; i++) w[i] = (T)w64[i];                                                 \
        for (size_t i = 0; i < nb; i++) b[i] = (T)b64[i];                                                 \
        for (size_t i = 0; i < N * nin; i++) x[i] = (T)x64[i];                                            \
        for (int i = 0; i < N * K; i++) gz[i] = (T)gz64[i];                                               \
        lm_exec_##SUF *e = NULL, *one = NULL;                                                              \
        CHECK(lm_exec_create_##SUF(m, N, 0, &e) == LM_OK);                                                \
        CHECK(lm_exec_create_##SUF(m, 1, 0, &one) == LM_OK);                                              \
        lm_exec_bind_##SUF(e, w, b);                                                                       \
        lm_exec_bind_##SUF(one, w, b);                                                                     \
        lm_forward_##SUF(e, x, N, LM_MODE_EVAL, NULL);                                                     \
        CHECK(lm_exec_sample_grads_##SUF(e, gz, G, np) == LM_OK);                                         \
        for (size_t i = 0; i < N * np; i++) batched[i] = G[i];                                           \
        for (int i = 0; i < N; i++) {                                                                      \
            lm_forward_##SUF(one, x + i * nin, 1, LM_MODE_EVAL, NULL);                                     \
            lm_backward_##SUF(one, gz + (size_t)i * K, G, NULL, NULL, NULL);                               \
            for (size_t j = 0; j < np; j++) single[i * np + j] = G[j];                                   \
        }                                                                                                  \
        /* batch norm's batch statistics tie the samples together: refused outside evaluation */          \
        lm_forward_##SUF(e, x, N, LM_MODE_FROZEN, NULL);                                                   \
        lm_status st = lm_exec_sample_grads_##SUF(e, gz, G, np);                                           \
        CHECK(strstr(lm_model_spec(m), "bn") ? st == LM_EINVAL : st == LM_OK);                             \
        lm_exec_free_##SUF(e), lm_exec_free_##SUF(one);                                                    \
        free(w), free(b), free(x), free(gz), free(G);                                                      \
    }
ROWS(float, f32)
ROWS(double, f64)

static void run_case(const scase *c, uint64_t seed)
{
    lm_model *m = NULL;
    CHECK(lm_model_create(c->spec, c->in, LM_PARAM_STANDARD, seed, &m) == LM_OK);
    if (!m) return;
    size_t np = lm_model_num_params(m), nb = lm_model_num_buffers(m), nin = lm_shape_numel(c->in);
    int K = (int)lm_shape_numel(lm_model_output_shape(m));
    double *w = malloc(np * sizeof *w), *b = calloc(nb + 1, sizeof *b), *x = malloc(N * nin * sizeof *x);
    double *gz = malloc((size_t)N * K * sizeof *gz), *batched = malloc(N * np * sizeof *batched);
    double *single = malloc(N * np * sizeof *single);
    const float *w32 = lm_model_params(m), *b32 = lm_model_buffers(m);
    lm_rand_normal_fill_f64(w, np, 0.3, seed, 1); /* biases and batch-norm affine off their init */
    for (size_t i = 0; i < np; i++) w[i] += w32[i];
    for (size_t i = 0; i < nb; i++) b[i] = b32[i];
    for (int t = 0; t < lm_model_num_tensors(m); t++) { /* running statistics off their init */
        const lm_tensor_info *ti = lm_model_tensor(m, t);
        for (size_t j = 0; j < ti->numel && !ti->trainable && !ti->integer; j++)
            b[ti->offset + j] += strstr(ti->name, "var") ? lm_rand_uniform(seed, 6, j) : 0.2 * lm_rand_normal(seed, 7, j);
    }
    lm_rand_normal_fill_f64(x, N * nin, 1, seed, 2);
    lm_rand_normal_fill_f64(gz, (size_t)N * K, 1, seed, 3);
    for (int threads = 1; threads <= 2; threads++) {
        lm_set_threads(threads);
        for (int prec = 32; prec <= 64; prec += 32) {
            if (prec == 32) rows_f32(m, w, b, x, gz, batched, single);
            else rows_f64(m, w, b, x, gz, batched, single);
            double worst = 0, tol = prec == 32 ? 1e-5 : 1e-12;
            for (int i = 0; i < N; i++) {
                double e = rel_err(single + i * np, batched + i * np, np);
                if (e > worst) worst = e;
            }
            printf("%-70s float%d, %d thread(s): worst row %.2g\n", c->spec, prec, threads, worst);
            CHECK_MSG(worst <= tol, "'%s' float%d, %d thread(s): per-sample rows differ by %.3g > %g", c->spec, prec,
                      threads, worst, tol);
            /* rows of different samples differ: the comparison is not between copies of one row */
            CHECK(rel_err(single, single + np, np) > 1e-3);
        }
    }
    lm_set_threads(1);
    free(w), free(b), free(x), free(gz), free(batched), free(single);
    lm_model_free(m);
}

int main(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) run_case(&cases[i], 40 + i);
    return check_summary();
}
