/* Train a small net on XOR with linmass's public C API and plain SGD written inline over the
 * flat parameter buffer. Exit status 0 when the final loss is small.
 *   cc train_xor.c $(pkg-config --cflags --libs linmass) -o train_xor */
#include <stdio.h>
#include <stdlib.h>

#include "linmass/exec.h"
#include "linmass/model.h"

int main(void)
{
    const float x[4 * 2] = {0, 0, 0, 1, 1, 0, 1, 1};
    const float y[4] = {0, 1, 1, 0};
    lm_model *m = NULL;
    lm_exec_f32 *e = NULL;
    if (lm_model_create("dense:16,tanh,dense:1", (lm_shape){2, 1, 1}, LM_PARAM_STANDARD, 42, &m) ||
        lm_exec_create_f32(m, 4, 0, &e)) {
        fprintf(stderr, "train_xor: %s\n", lm_error_message());
        lm_model_free(m);
        return 2;
    }
    size_t np = lm_model_num_params(m);
    float *w = lm_model_params(m), *grad = malloc(np * sizeof *grad), gz[4];
    lm_exec_bind_f32(e, w, lm_model_buffers(m));
    double loss = 0, lr = 0.05;
    for (int step = 0; step <= 2000; step++) {
        const float *z = lm_forward_f32(e, x, 4, LM_MODE_TRAIN, NULL);
        loss = lm_loss_f32(LM_LOSS_MSE, z, y, 4, 1, gz, NULL, NULL); /* (1/2n) sum (z - y)^2 */
        lm_backward_f32(e, gz, grad, NULL, NULL, NULL);
        for (size_t i = 0; i < np; i++) w[i] -= (float)lr * grad[i]; /* plain SGD */
        if (step % 250 == 0) printf("step %4d  loss %.3e\n", step, loss);
    }
    const float *z = lm_forward_f32(e, x, 4, LM_MODE_EVAL, NULL);
    for (int i = 0; i < 4; i++) printf("xor(%g, %g) = %.3f\n", x[2 * i], x[2 * i + 1], z[i]);
    free(grad);
    lm_exec_free_f32(e);
    lm_model_free(m);
    return loss < 1e-3 ? 0 : 1;
}
