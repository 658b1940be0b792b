/* Batch order, validation split, normalisation, gathering and augmentation. */
// ctest-labels: data unit
#include "check.h"
#include "linmass/data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* n images of shape s; sample i has target i and pixel values that identify it. */
static lm_dataset *make(size_t n, lm_shape s)
{
    lm_dataset *ds = NULL;
    CHECK(lm_dataset_alloc(n, s, 0, 1, "toy", &ds) == LM_OK);
    size_t numel = lm_shape_numel(s);
    for (size_t i = 0; i < n; i++) {
        ds->y[i] = (float)i;
        for (size_t k = 0; k < numel; k++) ds->x[i * numel + k] = (float)(i * 1000 + k + 1);
    }
    return ds;
}

static int is_permutation(const uint32_t *p, uint32_t n)
{
    char *seen = calloc(n, 1);
    int ok = 1;
    for (uint32_t i = 0; i < n; i++) {
        if (p[i] >= n || seen[p[i]]) ok = 0;
        else seen[p[i]] = 1;
    }
    free(seen);
    return ok;
}

static void test_order(void)
{
    enum { N = 1000 };
    static uint32_t a[N], b[N], c[N], d[N];
    lm_batch_order(N, 42, 3, a);
    lm_batch_order(N, 42, 3, b);
    lm_batch_order(N, 42, 4, c);
    lm_batch_order(N, 43, 3, d);
    CHECK(is_permutation(a, N) && is_permutation(c, N) && is_permutation(d, N));
    CHECK(memcmp(a, b, sizeof a) == 0);
    CHECK(memcmp(a, c, sizeof a) != 0);
    CHECK(memcmp(a, d, sizeof a) != 0);
    int fixed = 0; /* a shuffle, not the identity: about one fixed point expected */
    for (int i = 0; i < N; i++) fixed += a[i] == (uint32_t)i;
    CHECK_MSG(fixed < 10, "%d fixed points", fixed);
}

static void test_validation_split(void)
{
    lm_dataset *ds = make(100, (lm_shape){2, 1, 1});
    lm_dataset *tr = NULL, *va = NULL, *tr2 = NULL, *va2 = NULL;
    CHECK(lm_dataset_split_validation(ds, 0.1, 9, &tr, &va) == LM_OK);
    CHECK(lm_dataset_split_validation(ds, 0.1, 9, &tr2, &va2) == LM_OK);
    if (!tr || !va || !tr2 || !va2) return;
    CHECK(tr->n == 90 && va->n == 10);
    int seen[100] = {0}, ordered = 1;
    for (size_t i = 0; i < tr->n; i++) seen[(int)tr->y[i]]++;
    for (size_t i = 0; i < va->n; i++) seen[(int)va->y[i]]++;
    for (int i = 0; i < 100; i++) CHECK_MSG(seen[i] == 1, "sample %d appears %d times", i, seen[i]);
    for (size_t i = 1; i < tr->n; i++) ordered &= tr->y[i] > tr->y[i - 1];
    CHECK(ordered);
    CHECK(tr->x[2 * 5 + 1] == ds->x[2 * (size_t)tr->y[5] + 1]); /* x travels with y */
    CHECK(memcmp(va->y, va2->y, 10 * sizeof(float)) == 0);
    /* not simply the last 10% */
    CHECK(va->y[0] != 90 || va->y[9] != 99);
    lm_dataset_free(tr2);
    lm_dataset_free(va2);
    CHECK(lm_dataset_split_validation(ds, 1.5, 9, &tr2, &va2) == LM_EINVAL);
    CHECK(tr2 == NULL && va2 == NULL);
    lm_dataset_free(tr);
    lm_dataset_free(va);
    lm_dataset_free(ds);
}

static void test_normalize(void)
{
    lm_shape s = {3, 4, 4};
    lm_dataset *tr = make(50, s), *te = make(7, s);
    for (size_t i = 0; i < tr->n; i++) /* channel 2 is constant */
        for (int k = 0; k < 16; k++) tr->x[i * 48 + 32 + k] = 5.0f;
    float mean[3], std[3];
    CHECK(lm_dataset_channel_stats(tr, mean, std) == LM_OK);
    CHECK(std[2] == 0 && mean[2] == 5);
    float x0 = te->x[17]; /* channel 1 of sample 0 */
    CHECK(lm_dataset_normalize(tr, mean, std) == LM_OK);
    CHECK(lm_dataset_normalize(te, mean, std) == LM_OK);
    float m2[3], s2[3];
    lm_dataset_channel_stats(tr, m2, s2);
    for (int c = 0; c < 2; c++) {
        CHECK_MSG(fabs(m2[c]) < 1e-4, "channel %d mean %g after normalising", c, m2[c]);
        CHECK_CLOSE(s2[c], 1.0, 1e-4);
    }
    CHECK(m2[2] == 0 && s2[2] == 0); /* constant channel: centred, not divided by 0 */
    CHECK_CLOSE(te->x[17], (x0 - mean[1]) / std[1], 1e-6); /* the train statistics, applied */
    float bad[3] = {0, NAN, 1};
    CHECK(lm_dataset_normalize(te, mean, bad) == LM_EINVAL);
    lm_dataset_free(tr);
    lm_dataset_free(te);
}

static void test_gather(void)
{
    lm_shape s = {1, 2, 3};
    lm_dataset *ds = make(10, s);
    uint32_t perm[10] = {9, 3, 5, 0, 1, 2, 4, 6, 7, 8};
    float xb[4 * 6], yb[4];
    CHECK(lm_batch_gather(ds, perm, 1, 3, xb, yb, 0, 0, 0) == LM_OK);
    CHECK(yb[0] == 3 && yb[1] == 5 && yb[2] == 0);
    CHECK(memcmp(xb + 6, ds->x + 5 * 6, 6 * sizeof(float)) == 0);
    CHECK(lm_batch_gather(ds, NULL, 8, 2, xb, yb, 0, 0, 0) == LM_OK);
    CHECK(yb[0] == 8 && yb[1] == 9);
    CHECK(lm_batch_gather(ds, perm, 8, 3, xb, yb, 0, 0, 0) == LM_EINVAL);
    perm[2] = 10;
    CHECK(lm_batch_gather(ds, perm, 0, 4, xb, yb, 0, 0, 0) == LM_EINVAL);
    lm_dataset_free(ds);
    lm_dataset *vec = make(4, (lm_shape){5, 1, 1});
    CHECK(lm_batch_gather(vec, NULL, 0, 2, xb, yb, 1, 0, 0) == LM_EINVAL);
    lm_dataset_free(vec);
}

static void test_augment(void)
{
    /* the shift rule on a 3x3 image: one pixel right and down, then mirrored */
    float img[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, out[9], back[9];
    lm_augment_image(img, out, (lm_shape){1, 3, 3}, 1, 1, 0);
    float want[9] = {0, 0, 0, 0, 1, 2, 0, 4, 5};
    CHECK(memcmp(out, want, sizeof out) == 0);
    lm_augment_image(img, out, (lm_shape){1, 3, 3}, 0, 0, 1);
    CHECK(out[0] == 3 && out[2] == 1 && out[4] == 5);
    lm_augment_image(out, back, (lm_shape){1, 3, 3}, 0, 0, 1);
    CHECK(memcmp(back, img, sizeof img) == 0); /* a flip twice is the identity */

    /* batches of 28x28 images with one bright pixel: reproducible, bounded shifts, fair flips */
    enum { B = 256 };
    lm_shape s = {1, 28, 28};
    lm_dataset *ds = NULL;
    CHECK(lm_dataset_alloc(B, s, 10, 1, "dots", &ds) == LM_OK);
    if (!ds) return;
    for (int i = 0; i < B; i++) ds->x[i * 784 + 10 * 28 + 5] = 1.0f; /* row 10, column 5 */
    float *a = malloc(B * 784 * sizeof *a), *b = malloc(B * 784 * sizeof *b), y[B];
    CHECK(lm_batch_gather(ds, NULL, 0, B, a, y, 1, 77, 12) == LM_OK);
    CHECK(lm_batch_gather(ds, NULL, 0, B, b, y, 1, 77, 12) == LM_OK);
    CHECK(memcmp(a, b, B * 784 * sizeof *a) == 0);
    CHECK(lm_batch_gather(ds, NULL, 0, B, b, y, 1, 77, 13) == LM_OK);
    CHECK(memcmp(a, b, B * 784 * sizeof *a) != 0);
    int flips = 0, out_of_bounds = 0, lost = 0, moved = 0;
    for (int i = 0; i < B; i++) {
        int found = -1;
        for (int k = 0; k < 784; k++)
            if (a[i * 784 + k] == 1.0f) found = k;
        if (found < 0) { lost++; continue; }
        int r = found / 28, c = found % 28;
        int flipped = abs(c - 5) > 2; /* mirrored column is 22 +- 2 */
        flips += flipped;
        int c0 = flipped ? 27 - c : c;
        out_of_bounds += abs(r - 10) > 2 || abs(c0 - 5) > 2; /* floor(28/10) = 2 */
        moved += r != 10 || c0 != 5;
    }
    CHECK(lost == 0 && out_of_bounds == 0);
    CHECK_MSG(flips > 90 && flips < 166, "%d flips of %d", flips, B);
    CHECK_MSG(moved > B / 2, "only %d of %d images moved", moved, B);
    free(a);
    free(b);
    lm_dataset_free(ds);
}

int main(void)
{
    test_order();
    test_validation_split();
    test_normalize();
    test_gather();
    test_augment();
    return check_summary();
}
