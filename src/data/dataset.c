/* The data set object, the source dispatcher, normalisation and the validation split. */
#include "data_internal.h"

#include "linmass/rng.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

/* No heading of its own: each command's --help puts it under one. */
static const char sources_help[] =
    "  fashion-mnist            default; " FASHION_MNIST_DIR " (Debian package\n"
    "                           dataset-fashion-mnist) or $LINMASS_FASHION_MNIST_DIR\n"
    "  mnist:DIR                IDX files {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]\n"
    "  idx:DIR[:classes=10]     IDX files of any image layout, ubyte or float32\n"
    "  cifar10:DIR              data_batch_1..5.bin, test_batch.bin (binary version)\n"
    "  csv:FILE[:target=NAME][:classes=K][:test=0.2]\n"
    "                           numeric columns, optional header; target = last column unless\n"
    "                           named; regression unless classes=K; test = last 20% of rows\n"
    "  synth:linreg[:n=1000,d=50,cond=100,noise=0,rotate=0,ntest=n,seed=S]\n"
    "                           Gaussian x, spectrum 1..1/cond, y = <w*,x> (interpolating)\n"
    "  synth:decoupled[:n=1000,cond=100,ntest=n,seed=S]\n"
    "                           one-active-coordinate 2-D data (docs/theory.md §2.4)\n"
    "  synth:teacher[:n=1000,d=20,width=100,ntest=n,seed=S]\n"
    "                           targets of a random one-hidden-layer tanh network\n"
    "  (synthetic data use the run's seed unless seed=S is given; test = a separate draw)\n";

const char *lm_data_sources_help(void) { return sources_help; }

/* ---- the object ---- */

lm_status lm_dataset_alloc(size_t n, lm_shape shape, int classes, int target_dim,
                           const char *name, lm_dataset **out)
{
    *out = NULL;
    size_t numel = lm_shape_numel(shape);
    if (shape.c < 1 || shape.h < 1 || shape.w < 1 || target_dim < 1 || classes < 0)
        return lm_fail(LM_EINVAL, "%s: bad data set shape (%d,%d,%d), target_dim %d, classes %d",
                       name, shape.c, shape.h, shape.w, target_dim, classes);
    if (n > SIZE_MAX / sizeof(float) / numel)
        return lm_fail(LM_ENOMEM, "%s: %zu samples of %zu values do not fit in memory", name, n,
                       numel);
    lm_dataset *ds = calloc(1, sizeof *ds);
    if (!ds) return lm_fail(LM_ENOMEM, "%s: out of memory", name);
    snprintf(ds->name, sizeof ds->name, "%s", name);
    ds->n = n;
    ds->shape = shape;
    ds->classes = classes;
    ds->target_dim = target_dim;
    /* +1 so that n = 0 still gives valid pointers */
    ds->x = calloc(n * numel + 1, sizeof(float));
    ds->y = calloc(n * (size_t)target_dim + 1, sizeof(float));
    if (!ds->x || !ds->y) {
        lm_dataset_free(ds);
        return lm_fail(LM_ENOMEM, "%s: cannot allocate %zu samples of %zu values", name, n, numel);
    }
    *out = ds;
    return LM_OK;
}

void lm_dataset_free(lm_dataset *ds)
{
    if (!ds) return;
    free(ds->x);
    free(ds->y);
    free(ds->w_star);
    free(ds);
}

/* ---- dispatch ---- */

static const char *split_name(lm_split split) { return split == LM_SPLIT_TEST ? "test" : "train"; }

/* "DIR[:classes=K]" -> DIR and K (default 10). */
static lm_status parse_idx_arg(const char *arg, char *dir, size_t len, int *classes)
{
    *classes = 10;
    const char *opt = strstr(arg, ":classes=");
    size_t n = opt ? (size_t)(opt - arg) : strlen(arg);
    if (n >= len) return lm_fail(LM_EINVAL, "idx:%s: directory name too long", arg);
    memcpy(dir, arg, n);
    dir[n] = '\0';
    if (opt) {
        long k;
        lm_status s = lm_parse_long(opt + 9, 1, 1L << 24, "idx: classes", &k);
        if (s) return s;
        *classes = (int)k;
    }
    return LM_OK;
}

lm_status lm_data_load(const char *source, lm_split split, uint64_t seed, lm_dataset **out)
{
    *out = NULL;
    if (split != LM_SPLIT_TRAIN && split != LM_SPLIT_TEST)
        return lm_fail(LM_EINVAL, "data split %d is neither train nor test", (int)split);
    if (!source || !*source) source = "fashion-mnist";
    lm_status s;
    char name[96];
    snprintf(name, sizeof name, "%s/%s", source, split_name(split));

    if (strcmp(source, "fashion-mnist") == 0) {
        const char *dir = getenv("LINMASS_FASHION_MNIST_DIR");
        if (!dir || !*dir) dir = FASHION_MNIST_DIR;
        snprintf(name, sizeof name, "fashion-mnist/%s", split_name(split));
        s = lm_load_idx(dir, name, 1, 10, split, out);
        if (s == LM_EIO) {
            char why[768];
            snprintf(why, sizeof why, "%s", lm_error_message());
            lm_fail(s, "%s (install the Debian package dataset-fashion-mnist or set "
                       "LINMASS_FASHION_MNIST_DIR)", why);
        }
    } else if (strncmp(source, "mnist:", 6) == 0) {
        s = lm_load_idx(source + 6, name, 1, 10, split, out);
    } else if (strncmp(source, "idx:", 4) == 0) {
        char dir[4096];
        int classes;
        s = parse_idx_arg(source + 4, dir, sizeof dir, &classes);
        if (s) return s;
        s = lm_load_idx(dir, name, 0, classes, split, out);
    } else if (strncmp(source, "cifar10:", 8) == 0) {
        s = lm_load_cifar10(source + 8, split, out);
    } else if (strncmp(source, "csv:", 4) == 0) {
        s = lm_load_csv(source + 4, split, out);
    } else if (strncmp(source, "synth:", 6) == 0) {
        s = lm_load_synth(source + 6, split, seed, out);
    } else {
        return lm_fail(LM_EINVAL,
                       "unknown data source '%s' (expected fashion-mnist, mnist:DIR, idx:DIR, "
                       "cifar10:DIR, csv:FILE or synth:linreg|decoupled|teacher)",
                       source);
    }
    if (s == LM_OK) snprintf((*out)->name, sizeof (*out)->name, "%s", name);
    return s;
}

/* ---- option parsing shared by csv and synth ---- */

lm_status lm_parse_long(const char *text, long lo, long hi, const char *what, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end || errno || v < lo || v > hi)
        return lm_fail(LM_EINVAL, "%s: '%s' is not an integer in %ld..%ld", what, text, lo, hi);
    *out = v;
    return LM_OK;
}

lm_status lm_parse_double(const char *text, const char *what, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end || errno || !isfinite(v))
        return lm_fail(LM_EINVAL, "%s: '%s' is not a finite number", what, text);
    *out = v;
    return LM_OK;
}

/* ---- normalisation ---- */

lm_status lm_dataset_channel_stats(const lm_dataset *ds, float *mean, float *std)
{
    int C = ds->shape.c;
    size_t hw = (size_t)ds->shape.h * ds->shape.w;
    if (ds->n == 0) return lm_fail(LM_EINVAL, "%s: no samples to compute statistics on", ds->name);
    for (int c = 0; c < C; c++) {
        /* two passes in double: 47 million pixels lose digits in a float running sum */
        double sum = 0;
        for (size_t i = 0; i < ds->n; i++) {
            const float *p = ds->x + (i * C + c) * hw;
            for (size_t k = 0; k < hw; k++) sum += p[k];
        }
        double m = sum / ((double)ds->n * hw), ss = 0;
        for (size_t i = 0; i < ds->n; i++) {
            const float *p = ds->x + (i * C + c) * hw;
            for (size_t k = 0; k < hw; k++) ss += (p[k] - m) * (p[k] - m);
        }
        mean[c] = (float)m;
        std[c] = (float)sqrt(ss / ((double)ds->n * hw));
    }
    return LM_OK;
}

lm_status lm_dataset_normalize(lm_dataset *ds, const float *mean, const float *std)
{
    int C = ds->shape.c;
    size_t hw = (size_t)ds->shape.h * ds->shape.w;
    for (int c = 0; c < C; c++)
        if (!isfinite(mean[c]) || !isfinite(std[c]) || std[c] < 0)
            return lm_fail(LM_EINVAL, "%s: normalisation of channel %d has mean %g, std %g",
                           ds->name, c, mean[c], std[c]);
    for (size_t i = 0; i < ds->n; i++)
        for (int c = 0; c < C; c++) {
            float m = mean[c], inv = std[c] > 0 ? 1.0f / std[c] : 1.0f;
            float *p = ds->x + (i * C + c) * hw;
            for (size_t k = 0; k < hw; k++) p[k] = (p[k] - m) * inv;
        }
    return LM_OK;
}

/* ---- validation split ---- */

static lm_status subset(const lm_dataset *ds, const uint32_t *idx, size_t n, const char *suffix,
                        lm_dataset **out)
{
    char name[96];
    snprintf(name, sizeof name, "%.80s/%s", ds->name, suffix);
    lm_status s = lm_dataset_alloc(n, ds->shape, ds->classes, ds->target_dim, name, out);
    if (s) return s;
    size_t numel = lm_shape_numel(ds->shape), td = (size_t)ds->target_dim;
    for (size_t i = 0; i < n; i++) {
        memcpy((*out)->x + i * numel, ds->x + idx[i] * numel, numel * sizeof(float));
        memcpy((*out)->y + i * td, ds->y + idx[i] * td, td * sizeof(float));
    }
    if (ds->w_star) {
        (*out)->w_star = malloc(numel * sizeof(double));
        if (!(*out)->w_star) {
            lm_dataset_free(*out);
            *out = NULL;
            return lm_fail(LM_ENOMEM, "%s: out of memory", name);
        }
        memcpy((*out)->w_star, ds->w_star, numel * sizeof(double));
    }
    return LM_OK;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

lm_status lm_dataset_split_validation(const lm_dataset *ds, double fraction, uint64_t seed,
                                      lm_dataset **train, lm_dataset **val)
{
    *train = *val = NULL;
    if (!(fraction >= 0 && fraction < 1))
        return lm_fail(LM_EINVAL, "%s: validation fraction %g is not in [0, 1)", ds->name, fraction);
    if (ds->n > UINT32_MAX)
        return lm_fail(LM_EINVAL, "%s: %zu samples are too many to split", ds->name, ds->n);
    size_t nv = (size_t)llround(fraction * (double)ds->n);
    uint32_t *perm = malloc((ds->n + 1) * sizeof *perm);
    if (!perm) return lm_fail(LM_ENOMEM, "%s: out of memory", ds->name);
    /* stream LM_STREAM_SHUFFLE itself; epochs use LM_STREAM_SHUFFLE + (epoch+1) << 32 */
    lm_rand_permutation(perm, (uint32_t)ds->n, seed, LM_STREAM_SHUFFLE);
    /* keep both parts in file order: it reads better and keeps the split a pure subset */
    qsort(perm, nv, sizeof *perm, cmp_u32);
    qsort(perm + nv, ds->n - nv, sizeof *perm, cmp_u32);
    lm_status s = subset(ds, perm, nv, "val", val);
    if (!s) s = subset(ds, perm + nv, ds->n - nv, "fit", train);
    free(perm);
    if (s) {
        lm_dataset_free(*val);
        lm_dataset_free(*train);
        *train = *val = NULL;
    }
    return s;
}
