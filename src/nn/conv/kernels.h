/* The direct convolution's register-tiled micro-kernels, one version per instruction set
 * (internal; type-generic). nn/conv/kernels.c builds them; nn/conv/direct.c runs them.
 *
 * A tile is UR consecutive output pixels (XS*VB reals apart in the input) of NB output blocks,
 * kept in NB*UR vector registers while it sums, over a list of taps, VB x VB weight blocks times
 * the VB input lanes at the tap: y[b][j] += sum_t sum_l x[xoff_t + j*XS*VB + l] w[woff_t + b*wb
 * + l*VB + (0..VB)]. The forward pass, the input gradient (a sum over the output gradient with
 * transposed weights) and the first-layer path (patches as taps) are all such tiles.
 *
 * A weight-gradient tile is RR input lanes x NB output blocks of the gradient of one tap, summed
 * over ho x wo output pixels: gw[b][r] = sum_(oh,ow) x[oh*xrow + ow*xpix + r] gy[b][oh][ow]. */
#ifndef LM_NN_CONV_KERNELS_H
#define LM_NN_CONV_KERNELS_H

#include <stddef.h>

#include "core/simd.h"
#include "nn/layout.h"

enum { LM_TILE_ACC = 1, LM_TILE_RELU = 2 }; /* lm_tile.flags */
enum { LM_TILE_NB = 4, LM_TILE_UR = 16, LM_TILE_XS = 2 }; /* limits of the tables */

typedef struct {
    const real *x;          /* the tile's first input pixel */
    const real *w;          /* the weights of its first output block */
    const int *xoff, *woff; /* per tap, in reals */
    int taps, lanes;        /* lanes: input lanes per tap, at most VB */
    size_t wb;              /* reals between the weights of consecutive output blocks */
    real *y;                /* the tile's first output pixel */
    size_t ystep, yb;       /* reals between output pixels, and between output blocks */
    const real *bias;       /* NB vectors to start from (NULL: zero); ignored with LM_TILE_ACC */
    int flags;              /* LM_TILE_ACC: add to y; LM_TILE_RELU: store max(0, y) */
} R(lm_tile);

typedef struct {
    const real *x;    /* the tap's first input pixel, at the first lane of the tile */
    size_t xrow, xpix; /* reals between the input rows, and pixels, that the output pixels read */
    const real *gy;   /* the first output block's gradient */
    size_t gyrow, gb; /* reals between gy's rows, and between its blocks */
    int ho, wo;       /* output pixels */
    real *gw;         /* the tile's sums (overwritten): row r of block b at gw + b*wb + r*VB */
    size_t wb;
} R(lm_wtile);

typedef void (*R(lm_tile_fn))(const R(lm_tile) *t);
typedef void (*R(lm_wtile_fn))(const R(lm_wtile) *t);

typedef struct {
    lm_isa isa;
    int ur_max[LM_TILE_NB]; /* the widest tile for NB = 1.. (0: no such NB) */
    R(lm_tile_fn) tile[LM_TILE_XS][LM_TILE_NB][LM_TILE_UR]; /* [XS - 1][NB - 1][UR - 1] */
    int wg_rows, wg_nb_max; /* RR, and the most blocks of a weight-gradient tile */
    R(lm_wtile_fn) wtile[LM_TILE_NB];                      /* [NB - 1] */
} R(lm_kernel_set);

/* The kernels of the active instruction set (lm_isa_active), or of a given one (tests; a set the
 * CPU lacks must not be run) */
const R(lm_kernel_set) *R(lm_conv_kernels)(void);
const R(lm_kernel_set) *R(lm_conv_kernels_for)(lm_isa isa);

#endif
