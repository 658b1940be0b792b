/* The micro-kernels of nn/conv/kernels.h for one instruction set, included by
 * nn/conv/kernels.c once per set with:
 *   ISA_T(name)   the name with the set's suffix
 *   ISA_TARGET    the function attribute that selects the set
 *   ISA_BYTES     bytes per vector register (64, 32, 16)
 *   ISA_TILES(F, XS), ISA_WTILES(F)  the instances: F(NB, UR, XS) and F(NB)
 *   ISA_UR_MAX, ISA_WG_ROWS, ISA_ID   limits, weight-gradient rows, lm_isa
 * A VB-lane block is P = 64 / ISA_BYTES registers. The bodies are written once with the register
 * tile's sizes as parameters; each instance fixes them, so the loops unroll and the
 * accumulators live in registers. */

#define P_ (64 / ISA_BYTES)
#define L_ (LM_VB / P_) /* lanes per register */
typedef real ISA_T(vec) __attribute__((vector_size(ISA_BYTES)));
typedef real ISA_T(uvec) __attribute__((vector_size(ISA_BYTES), aligned(sizeof(real)), may_alias));
#define LOAD(p) ((ISA_T(vec)) * (const ISA_T(uvec) *)(p))
#define STORE(p, v) (*(ISA_T(uvec) *)(p) = (v))

static inline __attribute__((always_inline)) void ISA_T(tile_body)(const R(lm_tile) *a, const int NB, const int UR,
                                                                    const int XS)
{
    ISA_T(vec) acc[LM_TILE_NB][LM_TILE_UR][P_];
    const ISA_T(vec) zero = {0};
#pragma GCC unroll 4
    for (int b = 0; b < NB; b++)
#pragma GCC unroll 16
        for (int j = 0; j < UR; j++)
#pragma GCC unroll 4
            for (int q = 0; q < P_; q++)
                acc[b][j][q] = a->flags & LM_TILE_ACC ? LOAD(a->y + b * a->yb + j * a->ystep + q * L_)
                               : a->bias              ? LOAD(a->bias + b * LM_VB + q * L_)
                                                      : zero;
    const real *x = a->x, *w = a->w;
    const int *xoff = a->xoff, *woff = a->woff;
    int taps = a->taps, lanes = a->lanes;
    size_t wb = a->wb;
    for (int t = 0; t < taps; t++) {
        const real *xt = x + xoff[t], *wt = w + woff[t];
        for (int l = 0; l < lanes; l++, xt++, wt += LM_VB) {
            ISA_T(vec) wv[LM_TILE_NB][P_];
#pragma GCC unroll 4
            for (int b = 0; b < NB; b++)
#pragma GCC unroll 4
                for (int q = 0; q < P_; q++) wv[b][q] = LOAD(wt + b * wb + q * L_);
#pragma GCC unroll 16
            for (int j = 0; j < UR; j++) {
                real xv = xt[j * XS * LM_VB];
#pragma GCC unroll 4
                for (int b = 0; b < NB; b++)
#pragma GCC unroll 4
                    for (int q = 0; q < P_; q++) acc[b][j][q] += xv * wv[b][q];
            }
        }
    }
    real *y = a->y;
    size_t ystep = a->ystep, yb = a->yb;
    int relu = a->flags & LM_TILE_RELU;
#pragma GCC unroll 4
    for (int b = 0; b < NB; b++)
#pragma GCC unroll 16
        for (int j = 0; j < UR; j++)
#pragma GCC unroll 4
            for (int q = 0; q < P_; q++) {
                ISA_T(vec) v = acc[b][j][q];
                if (relu) { /* v where v > 0, else +0 (NaN too) */
                    __typeof__(v > zero) keep = v > zero;
                    v = (ISA_T(vec))(keep & (__typeof__(keep))v);
                }
                STORE(y + b * yb + j * ystep + q * L_, v);
            }
}

static inline __attribute__((always_inline)) void ISA_T(wtile_body)(const R(lm_wtile) *a, const int NB, const int RR)
{
    ISA_T(vec) acc[LM_TILE_NB][LM_VB][P_];
    const ISA_T(vec) zero = {0};
#pragma GCC unroll 4
    for (int b = 0; b < NB; b++)
#pragma GCC unroll 16
        for (int r = 0; r < RR; r++)
#pragma GCC unroll 4
            for (int q = 0; q < P_; q++) acc[b][r][q] = zero;
    size_t xpix = a->xpix, gb = a->gb;
    for (int oh = 0; oh < a->ho; oh++) {
        const real *xr = a->x + oh * a->xrow, *gr = a->gy + oh * a->gyrow;
        for (int ow = 0; ow < a->wo; ow++, xr += xpix, gr += LM_VB) {
            ISA_T(vec) g[LM_TILE_NB][P_];
#pragma GCC unroll 4
            for (int b = 0; b < NB; b++)
#pragma GCC unroll 4
                for (int q = 0; q < P_; q++) g[b][q] = LOAD(gr + b * gb + q * L_);
#pragma GCC unroll 16
            for (int r = 0; r < RR; r++) {
                real xv = xr[r];
#pragma GCC unroll 4
                for (int b = 0; b < NB; b++)
#pragma GCC unroll 4
                    for (int q = 0; q < P_; q++) acc[b][r][q] += xv * g[b][q];
            }
        }
    }
    real *gw = a->gw;
    size_t wb = a->wb;
#pragma GCC unroll 4
    for (int b = 0; b < NB; b++)
#pragma GCC unroll 16
        for (int r = 0; r < RR; r++)
#pragma GCC unroll 4
            for (int q = 0; q < P_; q++) STORE(gw + b * wb + r * LM_VB + q * L_, acc[b][r][q]);
}

#define TILE_DEF(nb, ur, xs) \
    ISA_TARGET static void ISA_T(tile_##nb##_##ur##_##xs)(const R(lm_tile) *a) { ISA_T(tile_body)(a, nb, ur, xs); }
#define TILE_REF(nb, ur, xs) [XS_INDEX(xs)][nb - 1][ur - 1] = ISA_T(tile_##nb##_##ur##_##xs),
#define WTILE_DEF(nb) \
    ISA_TARGET static void ISA_T(wtile_##nb)(const R(lm_wtile) *a) { ISA_T(wtile_body)(a, nb, ISA_WG_ROWS); }
#define WTILE_REF(nb) [nb - 1] = ISA_T(wtile_##nb),

ISA_TILES(TILE_DEF, 1)
ISA_TILES(TILE_DEF, 2)
ISA_WTILES(WTILE_DEF)

static const R(lm_kernel_set) ISA_T(kernel_set) = {
    .isa = ISA_ID,
    .ur_max = ISA_UR_MAX,
    .tile = {ISA_TILES(TILE_REF, 1) ISA_TILES(TILE_REF, 2)},
    .wg_rows = ISA_WG_ROWS,
    .wg_nb_max = ISA_WG_NB,
    .wtile = {ISA_WTILES(WTILE_REF)},
};

#undef P_
#undef L_
#undef LOAD
#undef STORE
#undef TILE_DEF
#undef TILE_REF
#undef WTILE_DEF
#undef WTILE_REF
