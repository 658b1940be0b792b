#include "linmass/rng.h"

#include <math.h>

#include "core/simd.h"

/* Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011). */
#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static inline uint32_t mulhilo(uint32_t a, uint32_t b, uint32_t *hi)
{
    uint64_t p = (uint64_t)a * b;
    *hi = (uint32_t)(p >> 32);
    return (uint32_t)p;
}

void lm_philox(uint64_t seed, uint64_t stream, uint64_t index, uint32_t out[4])
{
    uint32_t c0 = (uint32_t)index, c1 = (uint32_t)(index >> 32);
    uint32_t c2 = (uint32_t)stream, c3 = (uint32_t)(stream >> 32);
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int r = 0; r < 10; r++) {
        uint32_t hi0, hi1;
        uint32_t lo0 = mulhilo(PHILOX_M0, c0, &hi0);
        uint32_t lo1 = mulhilo(PHILOX_M1, c2, &hi1);
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

LM_SIMD_CLONES void lm_philox_fill(uint64_t seed, uint64_t stream, uint64_t index, size_t blocks, uint32_t *out)
{
    /* lm_philox on L counters at a time, lane by lane, so that the rounds vectorise */
    enum { L = 16 };
    uint32_t k0s = (uint32_t)seed, k1s = (uint32_t)(seed >> 32);
    for (size_t b0 = 0; b0 < blocks; b0 += L) {
        uint32_t c0[L], c1[L], c2[L], c3[L], k0 = k0s, k1 = k1s;
        for (int l = 0; l < L; l++) {
            uint64_t i = index + b0 + (uint64_t)l;
            c0[l] = (uint32_t)i, c1[l] = (uint32_t)(i >> 32);
            c2[l] = (uint32_t)stream, c3[l] = (uint32_t)(stream >> 32);
        }
        for (int r = 0; r < 10; r++) {
#pragma omp simd
            for (int l = 0; l < L; l++) {
                uint64_t p0 = (uint64_t)PHILOX_M0 * c0[l], p1 = (uint64_t)PHILOX_M1 * c2[l];
                uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1[l] ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c3[l] ^ k1;
                c1[l] = (uint32_t)p1, c3[l] = (uint32_t)p0, c0[l] = n0, c2[l] = n2;
            }
            k0 += PHILOX_W0;
            k1 += PHILOX_W1;
        }
        size_t m = blocks - b0 < L ? blocks - b0 : L;
        for (size_t l = 0; l < m; l++) {
            uint32_t *o = out + 4 * (b0 + l);
            o[0] = c0[l], o[1] = c1[l], o[2] = c2[l], o[3] = c3[l];
        }
    }
}

static double to_unit(uint32_t a, uint32_t b) /* 53 bits, in [0,1) */
{
    return (double)(((uint64_t)a << 21) ^ (b >> 11)) * 0x1.0p-53;
}

double lm_rand_uniform(uint64_t seed, uint64_t stream, uint64_t index)
{
    uint32_t r[4];
    lm_philox(seed, stream, index, r);
    return to_unit(r[0], r[1]);
}

double lm_rand_normal(uint64_t seed, uint64_t stream, uint64_t index)
{
    uint32_t r[4];
    lm_philox(seed, stream, index, r);
    double u1 = 1.0 - to_unit(r[0], r[1]); /* (0, 1]: log is finite */
    double u2 = to_unit(r[2], r[3]);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* lm_rand_normal_fill_f32 and _f64: core/rng_fill.c, written once over `real` */

void lm_rand_permutation(uint32_t *perm, uint32_t n, uint64_t seed, uint64_t stream)
{
    for (uint32_t i = 0; i < n; i++) perm[i] = i;
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = (uint32_t)(lm_rand_uniform(seed, stream, i) * i);
        uint32_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}
