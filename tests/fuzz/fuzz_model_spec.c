/* libFuzzer target: the model-spec syntax (lm_model_create), on a few input shapes and both
 * parameterizations. Small models that build are also run: a forward and a backward pass on
 * two samples, so that odd shapes reach the layers' kernels too.
 *
 * Input: byte 0 picks the input shape and the parameterization; the rest is the spec. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "linmass/exec.h"
#include "linmass/model.h"

static const lm_shape shapes[] = {{1, 28, 28}, {3, 32, 32}, {10, 1, 1}, {2, 5, 7}, {1, 1, 1}, {4, 3, 3}};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096) return 0;
    lm_shape in = shapes[(data[0] & 0x7f) % (sizeof shapes / sizeof *shapes)];
    lm_param_kind param = data[0] & 0x80 ? LM_PARAM_NTK : LM_PARAM_STANDARD;
    char *spec = malloc(size);
    memcpy(spec, data + 1, size - 1);
    spec[size - 1] = '\0';

    lm_model *m = NULL;
    if (lm_model_create(spec, in, param, 7, &m) == LM_OK) {
        char buf[2048];
        lm_model_summary(m, buf, sizeof buf);
        double macs = lm_model_forward_macs(m);
        size_t np = lm_model_num_params(m);
        for (int i = 0; i < lm_model_num_tensors(m); i++) {
            const lm_tensor_info *t = lm_model_tensor(m, i);
            size_t len = t->trainable ? np : lm_model_num_buffers(m);
            if (t->offset + t->numel > len || lm_model_find_tensor(m, t->name) == NULL) abort();
        }
        lm_shape out = lm_model_output_shape(m);
        size_t k = lm_shape_numel(out), d = lm_shape_numel(in);
        if (k == 0) abort();
        if (np <= 200000 && macs <= 2e6 && k <= 100000) {
            enum { N = 2 };
            lm_exec_f32 *e = NULL;
            if (lm_exec_create_f32(m, N, 0, &e) == LM_OK) {
                float *x = malloc(N * d * sizeof *x), *gz = malloc(N * k * sizeof *gz);
                float *grad = malloc((np ? np : 1) * sizeof *grad), *gx = malloc(N * d * sizeof *gx);
                for (size_t i = 0; i < N * d; i++) x[i] = (float)((i * 37 % 11) - 5) / 5;
                for (size_t i = 0; i < N * k; i++) gz[i] = (float)((i * 13 % 7) - 3) / 3;
                lm_exec_bind_f32(e, lm_model_params(m), lm_model_buffers(m));
                lm_exec_set_rng_f32(e, 1, 2);
                const float *z = lm_forward_f32(e, x, N, LM_MODE_TRAIN, NULL);
                for (size_t i = 0; i < N * k; i++) fuzz_sink += z[i];
                lm_backward_f32(e, gz, grad, gx, NULL, NULL);
                for (size_t i = 0; i < np; i++) fuzz_sink += grad[i];
                z = lm_forward_f32(e, x, 1, LM_MODE_EVAL, NULL);
                for (size_t i = 0; i < k; i++) fuzz_sink += z[i];
                free(x), free(gz), free(grad), free(gx);
                lm_exec_free_f32(e);
            }
        }
        lm_model_free(m);
    } else {
        if (m) abort();
        fuzz_note("refused");
    }
    free(spec);
    return 0;
}
