/* libFuzzer target: the CIFAR-10 binary reader. The input becomes test_batch.bin (byte 0 = 1)
 * or all five data_batch_K.bin files (byte 0 = 0: the train split, five times the same file). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_util.h"
#include "linmass/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const char *dir = fuzz_scratch();
    lm_split split = data[0] & 1 ? LM_SPLIT_TEST : LM_SPLIT_TRAIN;
    char path[400], source[400];
    if (split == LM_SPLIT_TEST) {
        snprintf(path, sizeof path, "%s/test_batch.bin", dir);
        fuzz_write(path, data + 1, size - 1);
    } else {
        for (int k = 1; k <= 5; k++) {
            snprintf(path, sizeof path, "%s/data_batch_%d.bin", dir, k);
            fuzz_write(path, data + 1, size - 1);
        }
    }
    snprintf(source, sizeof source, "cifar10:%s", dir);
    lm_dataset *ds = NULL;
    if (lm_data_load(source, split, 0, &ds) == LM_OK) {
        if (ds->shape.c != 3 || ds->shape.h != 32 || ds->shape.w != 32) abort();
        for (size_t i = 0; i < ds->n; i++)
            if (!(ds->y[i] >= 0 && ds->y[i] <= 9)) abort();
        for (size_t i = 0; i < ds->n * 3072; i++)
            if (!(ds->x[i] >= 0 && ds->x[i] <= 1)) abort();
        lm_dataset_free(ds);
    } else {
        if (ds) abort();
        fuzz_note("refused");
    }
    return 0;
}
