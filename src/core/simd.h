/* Hot element-wise functions built for the machine at hand (internal). */
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

#endif
