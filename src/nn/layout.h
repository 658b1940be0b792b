/* The channel-blocked activation layout (internal; type-generic, core/real.h).
 *
 * Between convolutions, images live as N x ceil(C/VB) x H x W x VB: channel c of pixel (h, w)
 * is lane c % VB of block c / VB, VB = 16 floats or 8 doubles (one 64-byte vector), lanes past
 * C are padding. A direct convolution then reads VB input channels of a pixel, and writes VB
 * output channels, as one vector. The plain layout (N x C x H x W, PyTorch's) is the same
 * formula with one lane per block. Padding lanes hold finite values that no real channel
 * reads: convolutions give them zero weights, flatten and gap drop them.
 *
 * The executor chooses each activation's layout (exec.c): layers say in lm_layer_def.layout
 * what they accept, and the model's input and output stay plain. */
#ifndef LM_NN_LAYOUT_H
#define LM_NN_LAYOUT_H

#include <stddef.h>

#include "core/real.h"
#include "linmass/model.h"

enum { LM_VB = 64 / sizeof(real) }; /* lanes per channel block */

/* Lanes per block in a layout: 1 (plain) or LM_VB (blocked) */
static inline int lm_lanes(int blk) { return blk ? LM_VB : 1; }

/* Channel blocks of C channels in a layout */
static inline int lm_blocks(int c, int blk) { return blk ? (c + LM_VB - 1) / LM_VB : c; }

/* Values per sample of shape s in a layout (padding lanes included) */
static inline size_t lm_numel_in(lm_shape s, int blk)
{
    return (size_t)lm_blocks(s.c, blk) * lm_lanes(blk) * s.h * s.w;
}

/* Offset of channel c, pixel (h, w) within one sample of shape s */
static inline size_t lm_offset(lm_shape s, int blk, int c, int h, int w)
{
    int B = lm_lanes(blk);
    return (((size_t)(c / B) * s.h + h) * s.w + w) * B + c % B;
}

/* One block's lanes as a vector (GCC's vector extension, lowered to the build's registers), for
 * element-wise loops over the blocked layout: lm_vload and lm_vstore take any real-aligned
 * address, lm_vselect(m, a, b) is a where the mask m (from a comparison) is set, else b. */
typedef real lm_vblk __attribute__((vector_size(LM_VB * sizeof(real))));
typedef real lm_vblk_u __attribute__((vector_size(LM_VB * sizeof(real)), aligned(sizeof(real)), may_alias));
typedef __typeof__((lm_vblk){0} > (lm_vblk){0}) lm_vmask;
#define lm_vload(p) ((lm_vblk) * (const lm_vblk_u *)(p))
#define lm_vstore(p, v) (*(lm_vblk_u *)(p) = (v))
#define lm_vselect(m, a, b) ((lm_vblk)(((m) & (lm_vmask)(a)) | (~(m) & (lm_vmask)(b))))

/* y (n samples, layout `to`) = x (layout `from`); padding lanes of a blocked y are zeroed. x and
 * y do not overlap. */
void R(lm_relayout)(lm_shape s, int n, const real *x, int from, real *y, int to);

#endif
