/* Train a small net on XOR with linmass's training step (lm_trainer_step) and the Adam
 * optimizer, on arrays held in memory. Exit status 0 when the final loss is small.
 *   cc train_xor.c $(pkg-config --cflags --libs linmass) -o train_xor */
#include <stdio.h>

#include "linmass/exec.h"
#include "linmass/train.h"

static int fail(lm_trainer *t, lm_model *m)
{
    fprintf(stderr, "train_xor: %s\n", lm_error_message());
    lm_trainer_free(t);
    lm_model_free(m);
    return 2;
}

int main(void)
{
    const float x[4 * 2] = {0, 0, 0, 1, 1, 0, 1, 1};
    const float y[4] = {0, 1, 1, 0}; /* one target value per sample */
    lm_model *m = NULL;
    lm_trainer *t = NULL;
    lm_optim_config oc;
    lm_optim_config_init(&oc, LM_OPTIM_ADAM);
    oc.lr = 0.05;
    lm_trainer_opts opts;
    lm_trainer_opts_init(&opts, 0); /* no classes: y holds the targets */
    opts.loss = LM_LOSS_MSE;        /* (1/2n) sum (f(x) - y)^2 */
    if (lm_model_create("dense:16,tanh,dense:1", (lm_shape){2, 1, 1}, LM_PARAM_STANDARD, 42, &m) ||
        lm_trainer_create(m, &oc, &opts, 4, &t))
        return fail(t, m);
    lm_step_info info;
    for (int step = 0; step < 500; step++) {
        if (lm_trainer_step(t, x, y, 4, &info)) return fail(t, m);
        if (step % 100 == 0) printf("step %4ld  loss %.3e\n", info.step, info.loss);
    }
    double loss, acc;
    if (lm_trainer_evaluate(t, x, y, 4, &loss, &acc)) return fail(t, m);
    lm_exec_f32 *e;
    if (lm_exec_create_f32(m, 4, 0, &e)) return fail(t, m);
    lm_exec_bind_f32(e, lm_trainer_weights(t), lm_model_buffers(m));
    const float *z = lm_forward_f32(e, x, 4, LM_MODE_EVAL, NULL);
    for (int i = 0; i < 4; i++) printf("xor(%g, %g) = %.3f\n", x[2 * i], x[2 * i + 1], z[i]);
    printf("loss after %ld steps: %.3e\n", lm_trainer_step_count(t), loss);
    lm_exec_free_f32(e);
    lm_trainer_free(t);
    lm_model_free(m);
    return loss < 1e-3 ? 0 : 1;
}
