/* A linmass checkpoint loaded into the equivalent PyTorch model gives the same outputs:
 * tools/gen_checkpoint_torch.py trained a small conv + batch-norm + dense net with linmass,
 * loaded its checkpoint into torch.nn.Sequential (strict state_dict) and wrote PyTorch's
 * eval-mode outputs on fixed inputs. Here linmass loads the same checkpoint and must agree. */
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/exec.h"
#include "linmass/train.h"

int main(void)
{
    FILE *f = fopen("tests/fixtures/ckpt_small_torch.txt", "r");
    CHECK_MSG(f != NULL, "tests/fixtures/ckpt_small_torch.txt is missing (run from the repo root)");
    if (!f) return check_summary();
    int n, c, h, w, k;
    CHECK(fscanf(f, "%d %d %d %d %d", &n, &c, &h, &w, &k) == 5);
    size_t nin = (size_t)n * c * h * w, nout = (size_t)n * k;
    float *x = malloc(nin * sizeof *x), *ref = malloc(nout * sizeof *ref);
    for (size_t i = 0; i < nin; i++) CHECK(fscanf(f, "%f", &x[i]) == 1);
    for (size_t i = 0; i < nout; i++) CHECK(fscanf(f, "%f", &ref[i]) == 1);
    fclose(f);

    lm_model *m;
    CHECK(lm_model_create("conv:4x3,bn,relu,maxpool:2,dense:16,tanh,dense:10", (lm_shape){c, h, w},
                          LM_PARAM_STANDARD, 99, &m) == LM_OK);
    float mean, sd;
    int has_stats = 0;
    lm_status st = lm_checkpoint_load_model("tests/fixtures/ckpt_small.safetensors", m, &mean, &sd, 1, &has_stats);
    CHECK_MSG(st == LM_OK, "load: %s", lm_error_message());
    CHECK(has_stats);
    for (size_t i = 0; i < nin; i++) x[i] = (x[i] - mean) / sd;
    lm_exec_f32 *e;
    CHECK(lm_exec_create_f32(m, n, 0, &e) == LM_OK);
    lm_exec_bind_f32(e, lm_model_params(m), lm_model_buffers(m));
    const float *z = lm_forward_f32(e, x, n, LM_MODE_EVAL, NULL);
    double worst = 0;
    for (size_t i = 0; i < nout; i++) {
        double d = fabs(z[i] - ref[i]) / (fabs(ref[i]) + 1e-3);
        if (d > worst) worst = d;
    }
    printf("worst relative difference to PyTorch: %.2e\n", worst);
    CHECK_MSG(worst < 1e-4, "outputs differ from PyTorch's by %.2e", worst);
    /* the running statistics moved during training, so eval mode differs from init */
    const lm_tensor_info *nbt = lm_model_find_tensor(m, "1.num_batches_tracked");
    CHECK(nbt && lm_model_buffers(m)[nbt->offset] == 6);

    /* a checkpoint of another model is refused with a message naming the tensor */
    lm_model *other;
    CHECK(lm_model_create("conv:5x3,bn,relu,maxpool:2,dense:16,tanh,dense:10", (lm_shape){c, h, w},
                          LM_PARAM_STANDARD, 1, &other) == LM_OK);
    st = lm_checkpoint_load_model("tests/fixtures/ckpt_small.safetensors", other, NULL, NULL, 1, NULL);
    CHECK(st == LM_EINVAL);
    CHECK_MSG(strstr(lm_error_message(), "0.weight") != NULL, "message: %s", lm_error_message());
    lm_model_free(other);
    lm_exec_free_f32(e);
    lm_model_free(m);
    free(x), free(ref);
    return check_summary();
}
