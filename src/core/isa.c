/* The instruction set of the run-time dispatched kernels (core/simd.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/simd.h"
#include "linmass/runtime.h"

static lm_isa active = LM_ISA_GENERIC;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static lm_isa cpu_isa(void)
{
#ifdef LM_HAVE_X86_ISAS
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return LM_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return LM_ISA_AVX2;
#endif
    return LM_ISA_GENERIC;
}

/* The CPU's widest, lowered (never raised) by LINMASS_ISA; other values are ignored. */
static void choose(void)
{
    lm_isa best = cpu_isa(), want = best;
    const char *env = getenv("LINMASS_ISA");
    if (env)
        for (int i = LM_ISA_GENERIC; i <= LM_ISA_AVX512; i++)
            if (!strcmp(env, lm_isa_name((lm_isa)i))) want = (lm_isa)i;
    active = want < best ? want : best;
}

lm_isa lm_isa_active(void)
{
    pthread_once(&once, choose);
    return active;
}

const char *lm_isa_name(lm_isa isa)
{
    return isa == LM_ISA_AVX512 ? "avx512" : isa == LM_ISA_AVX2 ? "avx2" : "generic";
}

const char *lm_kernel_isa(void) { return lm_isa_name(lm_isa_active()); }
