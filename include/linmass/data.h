/* Data sets: loading, validation, normalisation, splits, batch order and augmentation.
 *
 * A data set holds n samples of one shape, float32, row-major, sample after sample
 * (N x C x H x W), and their targets, float32: one class index per sample (stored as a number)
 * for classification, target_dim values per sample for regression.
 *
 * Sources (the strings lm_data_load accepts; lm_data_sources_help() prints the same list):
 *
 *   fashion-mnist        the default; /usr/share/datasets/fashion-mnist (Debian package
 *                        dataset-fashion-mnist), or the directory in $LINMASS_FASHION_MNIST_DIR.
 *                        60000 train / 10000 test images (1,28,28), 10 classes.
 *   mnist:DIR            IDX files {train,t10k}-{images-idx3,labels-idx1}-ubyte, raw or .gz,
 *                        also spelled train-images.idx3-ubyte; images must be 28x28 ubyte.
 *   idx:DIR[:classes=K]  the same files with any IDX image layout: (n,d) -> (d,1,1),
 *                        (n,h,w) -> (1,h,w), (n,c,h,w) -> (c,h,w); ubyte (scaled to [0,1]) or
 *                        float32 pixels; labels in 0..K-1 (K = 10 by default).
 *   cifar10:DIR          the binary version: data_batch_1..5.bin (train) and test_batch.bin
 *                        (test), 3073-byte records (label, 3x32x32 pixels), 10 classes.
 *   csv:FILE[:target=NAME][:classes=K][:test=F]
 *                        numeric columns separated by commas; the first line is a header when
 *                        every field in it is a name. The target is the last column unless
 *                        target=NAME (a header name, or a 1-based column number) picks another.
 *                        Regression by default; classes=K makes the target a class index in
 *                        0..K-1. The test split is the last fraction F of the rows (default 0.2)
 *                        and the train split the rows before it, in file order. Blank lines and
 *                        lines starting with '#' are skipped.
 *   synth:linreg[:n=1000,d=50,cond=100,noise=0,rotate=0,ntest=n,seed=S]
 *                        x ~ N(0, H) with eigenvalues of H running geometrically from 1 down to
 *                        1/cond (lambda_k = cond^(-k/(d-1))); rotate=1 turns the eigenbasis by a
 *                        random orthogonal matrix. y = <w*, x> (+ noise * N(0,1)) with a random
 *                        unit-norm w*, so with noise=0 w* interpolates the data exactly.
 *   synth:decoupled[:n=1000,cond=100,ntest=n,seed=S]
 *                        docs/theory.md §2.4: x = sqrt(2) sigma_i z e_i in 2-D, i uniform in {1,2},
 *                        z ~ N(0,1), sigma_1 = 1, sigma_2^2 = 1/cond; y = <w*, x>. H = diag(1,
 *                        1/cond), L1 = 6 sigma_1^2.
 *   synth:teacher[:n=1000,d=20,width=100,ntest=n,seed=S]
 *                        x ~ N(0, I_d), y = sum_j a_j tanh(<v_j, x> / sqrt(d)) / sqrt(width) with
 *                        v_j, a_j ~ N(0,1): a random one-hidden-layer tanh network, no biases.
 *
 * Synthetic sets draw from the seed given to lm_data_load unless seed=S fixes the data apart from
 * the training seed; the test split is a separate draw of ntest samples from the same w* (or
 * teacher). Pixels of image sources are scaled to [0,1].
 *
 * Decoded gzip files are cached: the decoded bytes of a compressed IDX file are kept in
 * $LINMASS_CACHE_DIR (else $XDG_CACHE_HOME/linmass, else ~/.cache/linmass) and read back while
 * the file's path, size, mtime, inode and CRC-32 are unchanged, which saves the inflate (a few
 * hundred ms for Fashion-MNIST's training images). LINMASS_CACHE_DIR=off turns it off. Results
 * are bit-identical either way; a cache that cannot be read or written is skipped silently.
 *
 * Every file is validated (magic numbers, dimensions, record counts, file size against the
 * header, label ranges, NaN/Inf, ragged or non-numeric csv rows): a bad file gives LM_EINVAL and
 * one line that names the file and the problem; a missing or unreadable file gives LM_EIO with
 * the path and the system's reason. */
#ifndef LINMASS_DATA_H
#define LINMASS_DATA_H

#include "linmass/api.h"

#include <stddef.h>
#include <stdint.h>

#include "linmass/error.h"
#include "linmass/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { LM_SPLIT_TRAIN = 0, LM_SPLIT_TEST = 1 } lm_split;

typedef struct {
    char name[96];   /* "fashion-mnist/train", "synth:linreg/test", ... */
    size_t n;        /* samples */
    lm_shape shape;  /* of one sample */
    int classes;     /* 0 = regression */
    int target_dim;  /* values per target: 1 for classification */
    float *x;        /* n * lm_shape_numel(shape) */
    float *y;        /* n * target_dim */
    double *w_star;  /* synth:linreg and synth:decoupled: the interpolating weights
                        (lm_shape_numel(shape) of them); NULL otherwise */
} lm_dataset;

/* Load split `split` of `source` (NULL or "" means fashion-mnist). `seed` drives synthetic data
 * (see above); file sources ignore it. On success *out is a new data set for lm_dataset_free. */
LM_API lm_status lm_data_load(const char *source, lm_split split, uint64_t seed, lm_dataset **out);

LM_API void lm_dataset_free(lm_dataset *ds);

/* An empty data set with room for n samples (x and y zeroed); for tests and custom sources. */
LM_API lm_status lm_dataset_alloc(size_t n, lm_shape shape, int classes, int target_dim,
                           const char *name, lm_dataset **out);

/* The first n samples of ds (n <= ds->n) in float64, as the linear-regression theory takes them
 * (linmass/theory.h): the inputs flattened, n x d row-major, into *X, and the targets as the
 * square loss takes them into *Y, n x k with k = classes (one-hot rows of the class indices) or
 * target_dim (the target rows), k into *k. Both malloc'ed: free() them. */
LM_API lm_status lm_dataset_f64(const lm_dataset *ds, size_t n, double **X, double **Y, int *k);

/* The documentation of every source and its defaults, as shown by --help. */
LM_API const char *lm_data_sources_help(void);

/* ---- normalisation ---- */

/* Per-channel mean and standard deviation of ds->x (arrays of ds->shape.c entries). For a flat
 * vector (k,1,1) a channel is a feature. Compute them on the training split, then apply them
 * to every split with lm_dataset_normalize, and save them with the model. */
LM_API lm_status lm_dataset_channel_stats(const lm_dataset *ds, float *mean, float *std);

/* x <- (x - mean[c]) / std[c] for every channel c; a std of 0 (a constant channel) counts as 1. */
LM_API lm_status lm_dataset_normalize(lm_dataset *ds, const float *mean, const float *std);

/* ---- splits and batches ---- */

/* Hold out round(fraction * n) samples, chosen at random from `seed`, as *val; the rest, in
 * their original order, become *train. Both are new data sets; ds is left untouched. */
LM_API lm_status lm_dataset_split_validation(const lm_dataset *ds, double fraction, uint64_t seed,
                                      lm_dataset **train, lm_dataset **val);

/* The sample order of epoch `epoch`: a permutation of 0..n-1 that depends only on (seed, epoch),
 * so a resumed run sees the same batches. */
LM_API void lm_batch_order(uint32_t n, uint64_t seed, uint64_t epoch, uint32_t *perm);

/* Copy samples perm[start .. start+count) (or start .. start+count when perm is NULL) into xb
 * (count * numel(shape)) and yb (count * target_dim). With `augment`, each image is shifted by
 * up to 10% of H and of W (integer pixels, floor(H/10) and floor(W/10), zero fill) and flipped
 * horizontally with probability 1/2, all drawn from (seed, step), so a batch is reproducible.
 * Augmentation needs images (h > 1 or w > 1). */
LM_API lm_status lm_batch_gather(const lm_dataset *ds, const uint32_t *perm, size_t start, size_t count,
                          float *xb, float *yb, int augment, uint64_t seed, uint64_t step);

/* dst <- src shifted by (dy, dx) pixels (a pixel at (i, j) moves to (i + dy, j + dx), zero fill),
 * then mirrored left-right when `flip`. src and dst must not overlap. */
LM_API void lm_augment_image(const float *src, float *dst, lm_shape s, int dy, int dx, int flip);

#ifdef __cplusplus
}
#endif
#endif
