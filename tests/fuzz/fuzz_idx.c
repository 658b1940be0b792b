/* libFuzzer target: the IDX reader (MNIST layout and the general idx: source), raw or gzip.
 *
 * Input: byte 0 picks the source (bit 0: mnist: or idx:, bit 1: the train or the test split,
 * bits 2-7: classes for idx:), bytes 1-2 (little-endian) the length of the images file; the
 * rest is the images file followed by the labels file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_util.h"
#include "linmass/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3) return 0;
    setenv("LINMASS_CACHE_DIR", "off", 1); /* a cache entry per input would only slow it down */
    const char *dir = fuzz_scratch();
    int mode = data[0];
    size_t nimg = (size_t)data[1] | (size_t)data[2] << 8;
    data += 3, size -= 3;
    if (nimg > size) nimg = size;
    lm_split split = mode & 2 ? LM_SPLIT_TEST : LM_SPLIT_TRAIN;
    const char *prefix = split == LM_SPLIT_TEST ? "t10k" : "train";
    char img[400], lab[400], source[400];
    snprintf(img, sizeof img, "%s/%s-images-idx3-ubyte", dir, prefix);
    snprintf(lab, sizeof lab, "%s/%s-labels-idx1-ubyte", dir, prefix);
    fuzz_write(img, data, nimg);
    fuzz_write(lab, data + nimg, size - nimg);
    if (mode & 1)
        snprintf(source, sizeof source, "mnist:%s", dir);
    else
        snprintf(source, sizeof source, "idx:%s:classes=%d", dir, 1 + (mode >> 2));

    lm_dataset *ds = NULL;
    if (lm_data_load(source, split, 0, &ds) == LM_OK) {
        if (!ds || ds->n == 0) abort();
        size_t numel = lm_shape_numel(ds->shape);
        for (size_t i = 0; i < ds->n * numel; i++) fuzz_sink += ds->x[i];
        for (size_t i = 0; i < ds->n; i++)
            if (!(ds->y[i] >= 0 && ds->y[i] < ds->classes)) abort();
        float mean[64], std[64];
        if (ds->shape.c <= 64 && lm_dataset_channel_stats(ds, mean, std) == LM_OK)
            lm_dataset_normalize(ds, mean, std);
        lm_dataset_free(ds);
    } else {
        if (ds) abort();
        fuzz_note("refused");
    }
    return 0;
}
