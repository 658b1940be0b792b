/* Hot element-wise functions built for the machine at hand, and the instruction set of the
 * convolution kernels (internal). */
#ifndef LM_CORE_SIMD_H
#define LM_CORE_SIMD_H

/* GCC compiles the function three times, for AVX-512, AVX2 and the x86-64 baseline, and the
 * loader picks the widest the CPU has (an ifunc). Only for loops without reductions (a sum's
 * order would follow the vector width): then the results are the same bits on every machine,
 * since ISO C mode (-std=c11) keeps GCC from fusing a * b + c into an FMA. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define LM_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LM_SIMD_CLONES
#endif

/* Kernels that differ by more than their loop width (the convolutions' register tiles, FMA)
 * come in one version per instruction set, chosen at run time: the widest the CPU has, or a
 * narrower one named by the environment variable LINMASS_ISA (avx512, avx2 or generic), read
 * once. A given machine and setting always runs the same version, so results repeat bit for
 * bit; different versions round differently. */
typedef enum { LM_ISA_GENERIC = 0, LM_ISA_AVX2 = 1, LM_ISA_AVX512 = 2 } lm_isa;

#if defined(__GNUC__) && defined(__x86_64__)
#define LM_HAVE_X86_ISAS 1
#endif

lm_isa lm_isa_active(void);
const char *lm_isa_name(lm_isa isa);

#endif
