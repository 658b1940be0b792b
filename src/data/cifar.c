/* CIFAR-10, binary version (https://www.cs.toronto.edu/~kriz/cifar.html).
 *
 * Each file is a sequence of 3073-byte records: one label byte (0..9), then 1024 red, 1024 green
 * and 1024 blue pixels of a 32x32 image, row-major. That is already our C x H x W layout, so a
 * record becomes a sample by scaling each byte to [0,1]. The train split is data_batch_1..5.bin
 * in order, the test split test_batch.bin. The files carry no header, so the checks are: the
 * size is a positive whole number of records, and every label is a class. */
#include "data_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { CIFAR_PIXELS = 3 * 32 * 32, CIFAR_RECORD = 1 + CIFAR_PIXELS, CIFAR_MAX_FILES = 5 };

/* The size of one file in records, after checking it is a whole, non-zero number of them. */
static lm_status cifar_records(const char *path, size_t *records)
{
    struct stat st;
    if (stat(path, &st) != 0) return lm_fail(LM_EIO, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode)) return lm_fail(LM_EIO, "%s: not a regular file", path);
    size_t size = (size_t)st.st_size;
    if (size == 0 || size % CIFAR_RECORD != 0)
        return lm_fail(LM_EINVAL,
                       "%s: holds %zu bytes, not a positive whole number of 3073-byte CIFAR-10 "
                       "records (%zu records and %zu bytes over)",
                       path, size, size / CIFAR_RECORD, size % CIFAR_RECORD);
    *records = size / CIFAR_RECORD;
    return LM_OK;
}

/* Read `records` records of `path` into samples x / labels y. */
static lm_status cifar_read(const char *path, size_t records, float *x, float *y)
{
    FILE *f = fopen(path, "rb");
    if (!f) return lm_fail(LM_EIO, "%s: %s", path, strerror(errno));
    unsigned char *buf = malloc(records * CIFAR_RECORD);
    if (!buf) {
        fclose(f);
        return lm_fail(LM_ENOMEM, "%s: cannot allocate %zu records", path, records);
    }
    lm_status s = LM_OK;
    size_t got = fread(buf, CIFAR_RECORD, records, f);
    if (got != records)
        s = ferror(f) ? lm_fail(LM_EIO, "%s: %s", path, strerror(errno))
                      : lm_fail(LM_EINVAL, "%s: file shrank while reading: %zu of %zu records",
                                path, got, records);
    for (size_t r = 0; !s && r < records; r++) {
        const unsigned char *rec = buf + r * CIFAR_RECORD;
        if (rec[0] > 9) {
            s = lm_fail(LM_EINVAL, "%s: record %zu has label %u, outside 0..9", path, r, rec[0]);
            break;
        }
        y[r] = rec[0];
        for (int k = 0; k < CIFAR_PIXELS; k++) x[r * CIFAR_PIXELS + k] = (float)rec[1 + k] / 255.0f;
    }
    free(buf);
    fclose(f);
    return s;
}

lm_status lm_load_cifar10(const char *dir, lm_split split, lm_dataset **out)
{
    char paths[CIFAR_MAX_FILES][4200];
    size_t records[CIFAR_MAX_FILES], n = 0;
    int files = split == LM_SPLIT_TEST ? 1 : CIFAR_MAX_FILES;
    *out = NULL;
    for (int k = 0; k < files; k++) {
        if (split == LM_SPLIT_TEST)
            snprintf(paths[k], sizeof paths[k], "%s/test_batch.bin", dir);
        else
            snprintf(paths[k], sizeof paths[k], "%s/data_batch_%d.bin", dir, k + 1);
        lm_status s = cifar_records(paths[k], &records[k]);
        if (s) return s;
        n += records[k];
    }
    lm_status s = lm_dataset_alloc(n, (lm_shape){3, 32, 32}, 10, 1, "cifar10", out);
    if (s) return s;
    size_t at = 0;
    for (int k = 0; k < files && !s; k++) {
        s = cifar_read(paths[k], records[k], (*out)->x + at * CIFAR_PIXELS, (*out)->y + at);
        at += records[k];
    }
    if (s) {
        lm_dataset_free(*out);
        *out = NULL;
    }
    return s;
}
