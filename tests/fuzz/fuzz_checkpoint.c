/* libFuzzer target: checkpoint loading. The input is written to a file and opened as a
 * checkpoint (lm_checkpoint_open: safetensors plus the linmass metadata), then read into a
 * small model the way --resume and `linmass eval` do (lm_checkpoint_load_model), and into
 * float64 destinations (the probes' widening path). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "linmass/io.h"
#include "linmass/model.h"
#include "linmass/train.h"

static lm_model *model; /* "dense:3,bn,relu,dense:2" on 4 features: weights, biases, buffers */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[300];
    if (!path[0]) snprintf(path, sizeof path, "%s/ckpt.safetensors", fuzz_scratch());
    if (!model && lm_model_create("dense:3,bn,relu,dense:2", (lm_shape){4, 1, 1}, LM_PARAM_STANDARD,
                                  1, &model))
        abort();
    fuzz_write(path, data, size);

    lm_checkpoint *c = NULL;
    if (lm_checkpoint_open(path, &c) == LM_OK) {
        const lm_ckpt_info *info = lm_checkpoint_info(c);
        if (info->optimizer) fuzz_sink += strlen(info->optimizer);
        if (info->optim_json) fuzz_sink += strlen(info->optim_json);
        if (info->model) fuzz_sink += strlen(info->model);
        for (int i = 0; i < info->n_extra; i++)
            fuzz_sink += strlen(info->extra[i].key) + strlen(info->extra[i].value);
        float w[12];
        double w64[12];
        lm_ckpt_tensor t[] = {
            {"0.weight", LM_DT_F32, 2, {3, 4}, w},
            {"0.weight", LM_DT_F64, 2, {3, 4}, w64},
            {"1.num_batches_tracked", LM_DT_I64, 0, {0}, w},
            {"optim.momentum_buffer.0.weight", LM_DT_F32, 2, {3, 4}, w},
        };
        for (size_t i = 0; i < sizeof t / sizeof *t; i++) lm_checkpoint_read(c, &t[i]);
        lm_checkpoint_has(c, "0.bias");
        lm_checkpoint_close(c);
    } else {
        if (c) abort();
        fuzz_note("checkpoint refused");
    }

    float mean[4], std[4];
    int has_stats = 0;
    if (lm_checkpoint_load_model(path, model, mean, std, 4, &has_stats)) fuzz_note("load_model refused");
    return 0;
}
