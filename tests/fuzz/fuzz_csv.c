/* libFuzzer target: the CSV reader, its options and the train/test split.
 *
 * Input: byte 0 bit 0 picks the split; with bit 1 set, the first line of the rest is the
 * option suffix (e.g. "target=y:classes=3:test=0.5"); the remainder is the file. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "linmass/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    static char path[300];
    if (!path[0]) snprintf(path, sizeof path, "%s/data.csv", fuzz_scratch());
    int mode = data[0];
    data++, size--;
    char opts[512] = "";
    if (mode & 2) {
        const uint8_t *nl = memchr(data, '\n', size);
        size_t n = nl ? (size_t)(nl - data) : size;
        snprintf(opts, sizeof opts, ":%.*s", (int)(n < 500 ? n : 500), (const char *)data);
        data += nl ? n + 1 : n, size -= nl ? n + 1 : n;
    }
    fuzz_write(path, data, size);
    char source[1024];
    snprintf(source, sizeof source, "csv:%s%s", path, opts);
    lm_dataset *ds = NULL;
    lm_split split = mode & 1 ? LM_SPLIT_TEST : LM_SPLIT_TRAIN;
    if (lm_data_load(source, split, 0, &ds) == LM_OK) {
        size_t d = lm_shape_numel(ds->shape);
        if (ds->n == 0 || d == 0 || ds->target_dim != 1) abort();
        for (size_t i = 0; i < ds->n * d; i++)
            if (!isfinite(ds->x[i])) abort();
        for (size_t i = 0; i < ds->n; i++)
            if (!isfinite(ds->y[i]) || (ds->classes && !(ds->y[i] >= 0 && ds->y[i] < ds->classes)))
                abort();
        float *mean = malloc(d * sizeof *mean), *std = malloc(d * sizeof *std);
        if (lm_dataset_channel_stats(ds, mean, std) == LM_OK) lm_dataset_normalize(ds, mean, std);
        free(mean), free(std);
        lm_dataset_free(ds);
    } else {
        if (ds) abort();
        fuzz_note("refused");
    }
    return 0;
}
