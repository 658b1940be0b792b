// ctest-labels: unit
/* The direct convolution kernels and the channel-blocked layout against the im2col + BLAS
 * reference (the plain layout throughout), over a table of models: odd sizes, strides 1 and 2,
 * 'same' and 'valid', 1x1, 3x3 and 5x5 kernels, first layers with 1 to 3 input channels, channel
 * counts that are not multiples of the block, batch 1, and the layers the blocked layout passes
 * through (relu, max and average pooling, batch norm, residual blocks, flatten, gap) and around
 * (dropout). For each model, in float32 and float64, with 1 and 2 threads: outputs, parameter
 * and input gradients, and in tangent executors the JVP and the Hessian-vector product, to 1e-5
 * (float32) and 1e-12 (float64) relative error. ctest runs it again with LINMASS_ISA=avx2 and
 * generic (test_conv_direct_avx2, _generic). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/exec.h"
#include "linmass/rng.h"
#include "linmass/runtime.h"
#include "nn/conv/choice.h"

typedef struct {
    const char *spec;
    lm_shape in;
    int n;
    lm_mode mode;
} dcase;

static const dcase cases[] = {
    /* first layers: patches of 1 or 3 channels */
    {"conv:5x3", {1, 7, 7}, 1, LM_MODE_EVAL},
    {"conv:17x3/2", {3, 9, 9}, 3, LM_MODE_EVAL},
    {"conv:20x5", {3, 11, 10}, 2, LM_MODE_EVAL},
    {"conv:8x3:valid:nobias", {2, 6, 7}, 2, LM_MODE_EVAL},
    {"conv:9x5/2:valid", {1, 12, 13}, 2, LM_MODE_EVAL},
    /* plain inputs with many channels: packed while padding */
    {"conv:16x3", {16, 3, 40}, 2, LM_MODE_EVAL},
    {"conv:24x3/2:nobias", {20, 9, 11}, 1, LM_MODE_EVAL},
    /* blocked inputs: channels off the block, wide rows, strides, 1x1 */
    {"conv:19x3,conv:21x3", {1, 9, 9}, 2, LM_MODE_EVAL},
    {"conv:18x3,conv:33x5/2", {2, 13, 11}, 3, LM_MODE_EVAL},
    {"conv:16x3,conv:16x3/2:valid,conv:5x1", {3, 10, 9}, 2, LM_MODE_EVAL},
    {"conv:40x3,conv:64x3/2,conv:7x1/2:nobias", {3, 20, 37}, 2, LM_MODE_EVAL},
    {"conv:12x3:nobias,conv:70x3,conv:3x5", {1, 8, 8}, 1, LM_MODE_EVAL},
    {"conv:20x3,conv:9x2", {1, 6, 6}, 2, LM_MODE_EVAL},
    /* through relu, pooling, flatten, batch norm, residual blocks, gap */
    {"conv:20x3,relu,maxpool:2,conv:40x5,relu,flatten,dense:3", {1, 12, 12}, 4, LM_MODE_EVAL},
    {"conv:20x3,tanh,avgpool:2,conv:8x3,sigmoid", {2, 9, 9}, 2, LM_MODE_EVAL},
    {"conv:17x3:nobias,bn,relu,res:17,res:34/2,gap,dense:2", {3, 10, 10}, 3, LM_MODE_FROZEN},
    {"conv:17x3:nobias,bn,relu,res:17,res:34/2,gap,dense:2", {3, 10, 10}, 2, LM_MODE_EVAL},
    {"conv:12x3,res:24/2:pad,relu,gap,dense:2", {3, 8, 8}, 2, LM_MODE_FROZEN},
    /* around a layer that takes the plain layout only */
    {"conv:9x3,dropout:0.5,conv:4x3", {2, 7, 7}, 2, LM_MODE_FROZEN},
    {"conv:9x3,relu", {2, 5, 5}, 1, LM_MODE_EVAL},
    {"conv:8x3:nobias,bn,relu,res:8,maxpool:2,flatten,dense:32:nobias,bn,relu,dense:10", {1, 28, 28}, 23, LM_MODE_FROZEN},
};

enum { N_CASES = sizeof cases / sizeof *cases };

static double rel_err(const double *a, const double *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num += (a[i] - b[i]) * (a[i] - b[i]);
        den += a[i] * a[i];
    }
    return sqrt(num / (den + 1e-300));
}

/* One run's results, in double whatever the precision */
typedef struct {
    double *z, *zdot, *grad, *gx, *hv;
} results;

typedef struct {
    const dcase *c;
    lm_model *m;
    size_t np, nb, nin, nout;
    double *w, *buf, *x, *v, *gz, *gzdot;
} setup;

#define RUN(T, SUF)                                                                                   \
    static void run_##SUF(const setup *s, int tangent, results *r)                                    \
    {                                                                                                 \
        lm_exec_##SUF *e = NULL;                                                                      \
        CHECK(lm_exec_create_##SUF(s->m, s->c->n, tangent ? LM_EXEC_TANGENT : 0, &e) == LM_OK);       \
        if (!e) return;                                                                               \
        T *w = malloc(s->np * sizeof *w), *buf = malloc((s->nb + 1) * sizeof *buf);                   \
        T *x = malloc(s->nin * sizeof *x), *v = malloc(s->np * sizeof *v);                            \
        T *gz = malloc(s->nout * sizeof *gz), *gzdot = malloc(s->nout * sizeof *gzdot);              \
        T *grad = malloc(s->np * sizeof *grad), *gx = malloc(s->nin * sizeof *gx);                    \
        T *hv = malloc(s->np * sizeof *hv);                                                           \
        for (size_t i = 0; i < s->np; i++) w[i] = (T)s->w[i], v[i] = (T)s->v[i];                      \
        for (size_t i = 0; i < s->nb; i++) buf[i] = (T)s->buf[i];                                    \
        for (size_t i = 0; i < s->nin; i++) x[i] = (T)s->x[i];                                       \
        for (size_t i = 0; i < s->nout; i++) gz[i] = (T)s->gz[i], gzdot[i] = (T)s->gzdot[i];         \
        lm_exec_bind_##SUF(e, w, buf);                                                                \
        lm_exec_set_rng_##SUF(e, 3, 4);                                                               \
        const T *z = lm_forward_##SUF(e, x, s->c->n, s->c->mode, tangent ? v : NULL);                 \
        for (size_t i = 0; i < s->nout; i++) r->z[i] = z[i];                                         \
        if (tangent)                                                                                  \
            for (size_t i = 0; i < s->nout; i++) r->zdot[i] = lm_output_dot_##SUF(e)[i];             \
        lm_backward_##SUF(e, gz, grad, gx, tangent ? gzdot : NULL, tangent ? hv : NULL);              \
        for (size_t i = 0; i < s->np; i++) r->grad[i] = grad[i];                                     \
        for (size_t i = 0; i < s->nin; i++) r->gx[i] = gx[i];                                        \
        if (tangent)                                                                                  \
            for (size_t i = 0; i < s->np; i++) r->hv[i] = hv[i];                                     \
        free(w), free(buf), free(x), free(v), free(gz), free(gzdot), free(grad), free(gx), free(hv);  \
        lm_exec_free_##SUF(e);                                                                        \
    }
RUN(float, f32)
RUN(double, f64)

static results alloc_results(const setup *s)
{
    results r = {calloc(s->nout, sizeof(double)), calloc(s->nout, sizeof(double)), calloc(s->np, sizeof(double)),
                 calloc(s->nin, sizeof(double)), calloc(s->np, sizeof(double))};
    return r;
}

static void free_results(results *r) { free(r->z), free(r->zdot), free(r->grad), free(r->gx), free(r->hv); }

static void compare(const setup *s, const char *what, const double *ref, const double *got, size_t n, double tol,
                    int prec, int threads, int tangent)
{
    double e = rel_err(ref, got, n);
    CHECK_MSG(e <= tol, "'%s' %s, float%d, %d thread(s)%s: relative error %.3g > %g", s->c->spec, what, prec,
              threads, tangent ? ", tangent executor" : "", e, tol);
    /* the comparison is not vacuous: the reference is not all zeros */
    double norm = 0;
    for (size_t i = 0; i < n; i++) norm += ref[i] * ref[i];
    CHECK_MSG(norm > 0, "'%s' %s: the reference is zero", s->c->spec, what);
}

static void run_case(const dcase *c, uint64_t seed)
{
    setup s = {.c = c};
    CHECK(lm_model_create(c->spec, c->in, LM_PARAM_STANDARD, seed, &s.m) == LM_OK);
    if (!s.m) return;
    s.np = lm_model_num_params(s.m);
    s.nb = lm_model_num_buffers(s.m);
    s.nin = lm_shape_numel(c->in) * c->n;
    s.nout = lm_shape_numel(lm_model_output_shape(s.m)) * c->n;
    s.w = malloc(s.np * sizeof *s.w), s.v = malloc(s.np * sizeof *s.v), s.buf = calloc(s.nb + 1, sizeof *s.buf);
    s.x = malloc(s.nin * sizeof *s.x), s.gz = malloc(s.nout * sizeof *s.gz), s.gzdot = malloc(s.nout * sizeof *s.gzdot);
    /* parameters off their initial values (non-zero biases, batch-norm scales and shifts) */
    const float *w32 = lm_model_params(s.m), *b32 = lm_model_buffers(s.m);
    lm_rand_normal_fill_f64(s.v, s.np, 0.3, seed, 1);
    for (size_t i = 0; i < s.np; i++) s.w[i] = w32[i] + s.v[i];
    for (size_t i = 0; i < s.nb; i++) s.buf[i] = b32[i];
    lm_rand_normal_fill_f64(s.v, s.np, 1, seed, 2);
    lm_rand_normal_fill_f64(s.x, s.nin, 1, seed, 3);
    lm_rand_normal_fill_f64(s.gz, s.nout, 1, seed, 4);
    lm_rand_normal_fill_f64(s.gzdot, s.nout, 1, seed, 5);
    for (int threads = 1; threads <= 2; threads++) {
        lm_set_threads(threads);
        for (int prec = 32; prec <= 64; prec += 32)
            for (int tangent = 0; tangent <= 1; tangent++) {
                results ref = alloc_results(&s), got = alloc_results(&s);
                void (*run)(const setup *, int, results *) = prec == 32 ? run_f32 : run_f64;
                lm_conv_force_im2col(1);
                run(&s, tangent, &ref);
                lm_conv_force_im2col(0);
                run(&s, tangent, &got);
                double tol = prec == 32 ? 1e-5 : 1e-12;
                compare(&s, "output", ref.z, got.z, s.nout, tol, prec, threads, tangent);
                compare(&s, "parameter gradient", ref.grad, got.grad, s.np, tol, prec, threads, tangent);
                compare(&s, "input gradient", ref.gx, got.gx, s.nin, tol, prec, threads, tangent);
                if (tangent) {
                    compare(&s, "JVP", ref.zdot, got.zdot, s.nout, tol, prec, threads, tangent);
                    compare(&s, "HVP", ref.hv, got.hv, s.np, tol, prec, threads, tangent);
                }
                free_results(&ref), free_results(&got);
            }
    }
    lm_set_threads(1);
    free(s.w), free(s.v), free(s.buf), free(s.x), free(s.gz), free(s.gzdot);
    lm_model_free(s.m);
}

int main(void)
{
    for (int i = 0; i < N_CASES; i++) run_case(&cases[i], 100 + (uint64_t)i);
    printf("kernels: %s\n", lm_kernel_isa());
    return check_summary();
}
