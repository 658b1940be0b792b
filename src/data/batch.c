/* Batch order, batch assembly and image augmentation.
 *
 * Both the order and the augmentation are pure functions of the seed and a counter (the epoch,
 * the step), not of any state carried between calls: a run resumed at step s sees exactly the
 * batches an uninterrupted run would, whatever the thread count.
 *
 * Streams: the validation split uses LM_STREAM_SHUFFLE itself, epoch e uses LM_STREAM_SHUFFLE +
 * (e+1) * 2^32, and augmentation at step s uses LM_STREAM_AUGMENT + s * 2^32 with the position in
 * the batch as the counter. The high 32 bits are free in every base stream, so these never
 * collide with each other or with other modules' streams. */
#include "data_internal.h"

#include "linmass/rng.h"

#include <string.h>

void lm_batch_order(uint32_t n, uint64_t seed, uint64_t epoch, uint32_t *perm)
{
    lm_rand_permutation(perm, n, seed, (uint64_t)LM_STREAM_SHUFFLE + ((epoch + 1) << 32));
}

void lm_augment_image(const float *src, float *dst, lm_shape s, int dy, int dx, int flip)
{
    for (int c = 0; c < s.c; c++) {
        const float *in = src + (size_t)c * s.h * s.w;
        float *o = dst + (size_t)c * s.h * s.w;
        for (int i = 0; i < s.h; i++) {
            int si = i - dy; /* the source row that lands on row i */
            for (int j = 0; j < s.w; j++) {
                int jj = flip ? s.w - 1 - j : j; /* mirror after shifting */
                int sj = jj - dx;
                o[(size_t)i * s.w + j] =
                    (si >= 0 && si < s.h && sj >= 0 && sj < s.w) ? in[(size_t)si * s.w + sj] : 0.0f;
            }
        }
    }
}

/* Shift by up to 10% of each side (floor), flip with probability 1/2: the MaSS experiments'
 * augmentation, one Philox block per sample. */
static void augment_one(const float *src, float *dst, lm_shape s, uint64_t seed, uint64_t step,
                        size_t j)
{
    uint32_t r[4];
    lm_philox(seed, (uint64_t)LM_STREAM_AUGMENT + (step << 32), j, r);
    int my = s.h / 10, mx = s.w / 10;
    int dy = (int)(r[0] % (uint32_t)(2 * my + 1)) - my;
    int dx = (int)(r[1] % (uint32_t)(2 * mx + 1)) - mx;
    lm_augment_image(src, dst, s, dy, dx, (int)(r[2] & 1));
}

lm_status lm_batch_gather(const lm_dataset *ds, const uint32_t *perm, size_t start, size_t count,
                          float *xb, float *yb, int augment, uint64_t seed, uint64_t step)
{
    if (start > ds->n || count > ds->n - start)
        return lm_fail(LM_EINVAL, "%s: batch of %zu samples at %zu runs past the %zu samples",
                       ds->name, count, start, ds->n);
    if (augment && ds->shape.h * ds->shape.w == 1)
        return lm_fail(LM_EINVAL, "%s: augmentation needs images, but samples are vectors (%d,1,1)",
                       ds->name, ds->shape.c);
    size_t numel = lm_shape_numel(ds->shape), td = (size_t)ds->target_dim;
    for (size_t j = 0; j < count; j++) {
        size_t i = perm ? perm[start + j] : start + j;
        if (i >= ds->n)
            return lm_fail(LM_EINVAL, "%s: batch order entry %zu is %zu, past the %zu samples",
                           ds->name, start + j, i, ds->n);
        if (augment)
            augment_one(ds->x + i * numel, xb + j * numel, ds->shape, seed, step, j);
        else
            memcpy(xb + j * numel, ds->x + i * numel, numel * sizeof(float));
        memcpy(yb + j * td, ds->y + i * td, td * sizeof(float));
    }
    return LM_OK;
}
