/* The direct convolution's micro-kernels (nn/conv/kernels.h) for AVX-512, AVX2 + FMA and the
 * baseline, from one body (nn/conv/tiles.h). This file is compiled with -ffp-contract=fast:
 * a*b + c becomes one FMA where the set has it. */
#include "nn/conv/kernels.h"

#define XS_INDEX(xs) ((xs) - 1)

/* Instance lists: F(NB, UR, XS) for UR = 1..n */
#define UR1(F, nb, xs) F(nb, 1, xs)
#define UR2(F, nb, xs) UR1(F, nb, xs) F(nb, 2, xs)
#define UR3(F, nb, xs) UR2(F, nb, xs) F(nb, 3, xs)
#define UR4(F, nb, xs) UR3(F, nb, xs) F(nb, 4, xs)
#define UR5(F, nb, xs) UR4(F, nb, xs) F(nb, 5, xs)
#define UR6(F, nb, xs) UR5(F, nb, xs) F(nb, 6, xs)
#define UR7(F, nb, xs) UR6(F, nb, xs) F(nb, 7, xs)
#define UR8(F, nb, xs) UR7(F, nb, xs) F(nb, 8, xs)
#define UR9(F, nb, xs) UR8(F, nb, xs) F(nb, 9, xs)
#define UR10(F, nb, xs) UR9(F, nb, xs) F(nb, 10, xs)
#define UR11(F, nb, xs) UR10(F, nb, xs) F(nb, 11, xs)
#define UR12(F, nb, xs) UR11(F, nb, xs) F(nb, 12, xs)
#define UR13(F, nb, xs) UR12(F, nb, xs) F(nb, 13, xs)
#define UR14(F, nb, xs) UR13(F, nb, xs) F(nb, 14, xs)
#define UR15(F, nb, xs) UR14(F, nb, xs) F(nb, 15, xs)
#define UR16(F, nb, xs) UR15(F, nb, xs) F(nb, 16, xs)

/* Baseline (SSE2 on x86-64, whatever the target has elsewhere): 16 registers of 16 bytes, 4 per
 * block: one block of 3 pixels (12 accumulators) */
#define ISA_T(name) R(name##_generic)
#define ISA_TARGET
#define ISA_BYTES 16
#define ISA_ID LM_ISA_GENERIC
#define ISA_TILES(F, xs) UR3(F, 1, xs)
#define ISA_UR_MAX {3}
#define ISA_WG_ROWS 2
#define ISA_WG_NB 1
#define ISA_WTILES(F) F(1)
#include "nn/conv/tiles.h"
#undef ISA_T
#undef ISA_TARGET
#undef ISA_BYTES
#undef ISA_ID
#undef ISA_TILES
#undef ISA_UR_MAX
#undef ISA_WG_ROWS
#undef ISA_WG_NB
#undef ISA_WTILES

#ifdef LM_HAVE_X86_ISAS
/* AVX2 + FMA: 16 registers of 32 bytes, 2 per block: one block of 6 pixels */
#define ISA_T(name) R(name##_avx2)
#define ISA_TARGET __attribute__((target("avx2,fma")))
#define ISA_BYTES 32
#define ISA_ID LM_ISA_AVX2
#define ISA_TILES(F, xs) UR6(F, 1, xs)
#define ISA_UR_MAX {6}
#define ISA_WG_ROWS 4
#define ISA_WG_NB 1
#define ISA_WTILES(F) F(1)
#include "nn/conv/tiles.h"
#undef ISA_T
#undef ISA_TARGET
#undef ISA_BYTES
#undef ISA_ID
#undef ISA_TILES
#undef ISA_UR_MAX
#undef ISA_WG_ROWS
#undef ISA_WG_NB
#undef ISA_WTILES

/* AVX-512: 32 registers of 64 bytes, one per block: up to 28 accumulators */
#define ISA_T(name) R(name##_avx512)
#define ISA_TARGET __attribute__((target("avx512f")))
#define ISA_BYTES 64
#define ISA_ID LM_ISA_AVX512
#define ISA_TILES(F, xs) UR16(F, 1, xs) UR14(F, 2, xs) UR9(F, 3, xs) UR7(F, 4, xs)
#define ISA_UR_MAX {16, 14, 9, 7}
#define ISA_WG_ROWS 8
#define ISA_WG_NB 3
#define ISA_WTILES(F) F(1) F(2) F(3)
#include "nn/conv/tiles.h"
#endif

const R(lm_kernel_set) *R(lm_conv_kernels_for)(lm_isa isa)
{
#ifdef LM_HAVE_X86_ISAS
    if (isa == LM_ISA_AVX512) return &R(kernel_set_avx512);
    if (isa == LM_ISA_AVX2) return &R(kernel_set_avx2);
#endif
    (void)isa;
    return &R(kernel_set_generic);
}

const R(lm_kernel_set) *R(lm_conv_kernels)(void) { return R(lm_conv_kernels_for)(lm_isa_active()); }
