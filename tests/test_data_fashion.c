/* The default data set: Fashion-MNIST from the Debian package, when it is installed. */
// ctest-labels: data
#include "check.h"
#include "linmass/data.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static void check_split(lm_split split, size_t n)
{
    lm_dataset *ds = NULL;
    double t0 = now();
    lm_status s = lm_data_load(NULL, split, 0, &ds); /* NULL: the default source */
    double dt = now() - t0;
    CHECK_MSG(s == LM_OK, "%s", lm_error_message());
    if (s) return;
    printf("%s: %zu images in %.3f s\n", ds->name, ds->n, dt);
    CHECK(ds->n == n && ds->shape.c == 1 && ds->shape.h == 28 && ds->shape.w == 28);
    CHECK(ds->classes == 10 && ds->target_dim == 1);
    long count[10] = {0}, bad = 0;
    for (size_t i = 0; i < ds->n; i++) {
        int y = (int)ds->y[i];
        if (y < 0 || y > 9 || y != ds->y[i]) bad++;
        else count[y]++;
    }
    CHECK(bad == 0);
    for (int c = 0; c < 10; c++) CHECK(count[c] == (long)n / 10); /* the classes are balanced */
    float lo = 1, hi = 0;
    for (size_t k = 0; k < ds->n * 784; k++) lo = ds->x[k] < lo ? ds->x[k] : lo, hi = ds->x[k] > hi ? ds->x[k] : hi;
    CHECK(lo == 0.0f && hi == 1.0f);
    if (split == LM_SPLIT_TRAIN) {
        float mean, std; /* the well-known statistics of the training images */
        CHECK(lm_dataset_channel_stats(ds, &mean, &std) == LM_OK);
        CHECK_CLOSE(mean, 0.2860, 1e-3);
        CHECK_CLOSE(std, 0.3530, 1e-3);
    }
    lm_dataset_free(ds);
}

int main(void)
{
    const char *dir = getenv("LINMASS_FASHION_MNIST_DIR");
    if (!dir || !*dir) dir = "/usr/share/datasets/fashion-mnist";
    struct stat st;
    if (stat(dir, &st) != 0) {
        printf("skipped: %s is absent (install the Debian package dataset-fashion-mnist)\n", dir);
        return 0;
    }
    check_split(LM_SPLIT_TRAIN, 60000);
    check_split(LM_SPLIT_TEST, 10000);
    return check_summary();
}
