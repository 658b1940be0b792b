// ctest-labels: unit
/* Residual blocks recomputed in the backward pass, and relu fused into the convolution before it
 * (the defaults of a plain executor), against the executor that keeps every activation
 * (LM_EXEC_KEEP): the same arithmetic, so the same bits.
 * Over models with identity, projection and zero-padding shortcuts, several blocks of one shape
 * (the later ones overwrite the shared branch memory before the earlier ones' backward), both
 * activation layouts (the direct kernels' blocked one, and im2col's plain one), training (the
 * running statistics must move once per forward, not again in the replay), frozen and
 * evaluation modes, 1 and 2 threads, float32 and float64: outputs, running statistics,
 * parameter and input gradients, a second backward from the same forward, and per-sample
 * gradients (evaluation mode) compared byte for byte. */
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
} rcase;

static const rcase cases[] = {
    {"conv:16x3:nobias,bn,relu,res:16,res:16,res:32/2,res:32,res:32/2:pad,res:32,gap,dense:3", {3, 12, 12}, 5},
    {"conv:9x3,res:9,res:9,res:14,relu,flatten,dense:4", {2, 7, 7}, 3},
    {"conv:8x3,res:8,dropout:0.5,res:8/2,gap,dense:2", {1, 8, 8}, 1},
    /* convolutions followed by relu: fused (relu(y) stored by the convolution, the relu in place) */
    {"conv:12x3,relu,maxpool:2,conv:20x3/2,relu,res:20,conv:5x3:valid,relu,flatten,dense:3", {3, 11, 11}, 4},
    {"conv:7x5:nobias,relu,conv:3x3,relu,relu,flatten,dense:2", {1, 9, 9}, 2},
};
enum { N_CASES = sizeof cases / sizeof *cases };

static const lm_mode modes[] = {LM_MODE_TRAIN, LM_MODE_FROZEN, LM_MODE_EVAL};

/* One run's bytes: output, buffers after the backward passes, gradient, input gradient, the gradient of a
 * second backward, per-sample gradients (evaluation mode only) */
typedef struct {
    void *z, *buf, *grad, *gx, *grad2, *G;
    size_t nz, nb, np, nx, nG;
} run_bytes;

static void free_bytes(run_bytes *r) { free(r->z), free(r->buf), free(r->grad), free(r->gx), free(r->grad2), free(r->G); }

#define RUN(T, SUF)                                                                                     \
    static void run_##SUF(const lm_model *m, const rcase *c, lm_mode mode, unsigned flags, run_bytes *r) \
    {                                                                                                   \
        size_t np = lm_model_num_params(m), nb = lm_model_num_buffers(m);                               \
        size_t nx = lm_shape_numel(c->in) * c->n, nz = lm_shape_numel(lm_model_output_shape(m)) * c->n; \
        size_t nG = mode == LM_MODE_EVAL ? np * c->n : 0;                                               \
        T *w = malloc(np * sizeof *w), *buf = malloc((nb + 1) * sizeof *buf), *x = malloc(nx * sizeof *x); \
        T *gz = malloc(nz * sizeof *gz);                                                                \
        double *tmp = malloc((np + nx + nz) * sizeof *tmp);                                             \
        const float *w32 = lm_model_params((lm_model *)m), *b32 = lm_model_buffers((lm_model *)m);     \
        lm_rand_normal_fill_f64(tmp, np + nx + nz, 0.5, 7, 1);                                          \
        for (size_t i = 0; i < np; i++) w[i] = (T)(w32[i] + tmp[i]);                                   \
        for (size_t i = 0; i < nb; i++) buf[i] = (T)(b32[i] + (i % 3 == 0 ? 0.1 : 0));                 \
        for (size_t i = 0; i < nx; i++) x[i] = (T)(2 * tmp[np + i]);                                   \
        for (size_t i = 0; i < nz; i++) gz[i] = (T)tmp[np + nx + i];                                   \
        r->nz = nz * sizeof(T), r->nb = nb * sizeof(T), r->np = np * sizeof(T), r->nx = nx * sizeof(T); \
        r->nG = nG * sizeof(T);                                                                         \
        r->z = malloc(r->nz), r->buf = malloc(r->nb), r->grad = malloc(r->np), r->gx = malloc(r->nx);   \
        r->grad2 = malloc(r->np), r->G = nG ? malloc(r->nG) : NULL;                                     \
        lm_exec_##SUF *e = NULL;                                                                        \
        CHECK(lm_exec_create_##SUF(m, c->n, flags, &e) == LM_OK);                                       \
        if (e) {                                                                                        \
            lm_exec_bind_##SUF(e, w, buf);                                                              \
            lm_exec_set_rng_##SUF(e, 3, 4);                                                             \
            memcpy(r->z, lm_forward_##SUF(e, x, c->n, mode, NULL), r->nz);                              \
            lm_backward_##SUF(e, gz, r->grad, r->gx, NULL, NULL);                                       \
            lm_backward_##SUF(e, gz, r->grad2, NULL, NULL, NULL);                                       \
            if (nG) CHECK(lm_exec_sample_grads_##SUF(e, gz, r->G, np) == LM_OK);                        \
            memcpy(r->buf, buf, r->nb); /* after the backward passes: they must not move it */          \
            lm_exec_free_##SUF(e);                                                                      \
        }                                                                                               \
        free(w), free(buf), free(x), free(gz), free(tmp);                                               \
    }
RUN(float, f32)
RUN(double, f64)

static void same(const char *what, const void *a, const void *b, size_t bytes, const rcase *c, lm_mode mode,
                 int prec, int threads, int plain)
{
    CHECK_MSG(!memcmp(a, b, bytes), "'%s' mode %d float%d %d thread(s)%s: %s differs between recomputed and kept",
              c->spec, (int)mode, prec, threads, plain ? " im2col" : "", what);
}

/* Not vacuous: some byte is not zero */
static int nonzero(const void *p, size_t bytes)
{
    const unsigned char *q = p;
    for (size_t i = 0; i < bytes; i++)
        if (q[i]) return 1;
    return 0;
}

int main(void)
{
    for (int i = 0; i < N_CASES; i++) {
        lm_model *m = NULL;
        CHECK(lm_model_create(cases[i].spec, cases[i].in, LM_PARAM_STANDARD, 11 + (uint64_t)i, &m) == LM_OK);
        if (!m) continue;
        for (int threads = 1; threads <= 2; threads++)
            for (int plain = 0; plain <= 1; plain++)
                for (int prec = 32; prec <= 64; prec += 32)
                    for (int k = 0; k < 3; k++) {
                        lm_set_threads(threads);
                        lm_conv_force_im2col(plain);
                        run_bytes a = {0}, b = {0};
                        void (*run)(const lm_model *, const rcase *, lm_mode, unsigned, run_bytes *) =
                            prec == 32 ? run_f32 : run_f64;
                        run(m, &cases[i], modes[k], 0, &a);
                        run(m, &cases[i], modes[k], LM_EXEC_KEEP, &b);
                        const rcase *c = &cases[i];
                        same("output", a.z, b.z, a.nz, c, modes[k], prec, threads, plain);
                        same("running statistics", a.buf, b.buf, a.nb, c, modes[k], prec, threads, plain);
                        same("gradient", a.grad, b.grad, a.np, c, modes[k], prec, threads, plain);
                        same("input gradient", a.gx, b.gx, a.nx, c, modes[k], prec, threads, plain);
                        same("second backward's gradient", a.grad2, b.grad2, a.np, c, modes[k], prec, threads, plain);
                        same("second backward against the first", a.grad, a.grad2, a.np, c, modes[k], prec, threads,
                             plain);
                        if (a.nG) same("per-sample gradients", a.G, b.G, a.nG, c, modes[k], prec, threads, plain);
                        CHECK(nonzero(a.grad, a.np) && nonzero(a.gx, a.nx));
                        free_bytes(&a), free_bytes(&b);
                    }
        lm_model_free(m);
    }
    lm_conv_force_im2col(0);
    lm_set_threads(1);
    return check_summary();
}
