/* Normal fills, written once for float (_f32) and double (_f64): core/real.h. */
#include "core/real.h"
#include "linmass/rng.h"

void R(lm_rand_normal_fill)(real *out, uint64_t n, double std, uint64_t seed, uint64_t stream)
{
    for (uint64_t i = 0; i < n; i++) out[i] = (real)(std * lm_rand_normal(seed, stream, i));
}
