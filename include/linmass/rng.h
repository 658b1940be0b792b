/* One seeded, counter-based random generator (Philox4x32-10) for every draw in linmass.
 *
 * A draw is a pure function of (seed, stream, index): no hidden state, so results do not depend
 * on the order in which threads ask, and a resumed run reproduces the same numbers. Streams
 * separate uses (initialisation, shuffling, dropout, probes); see LM_STREAM_*. */
#ifndef LINMASS_RNG_H
#define LINMASS_RNG_H

#include "linmass/api.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    LM_STREAM_INIT = 1,     /* + layer id: weight initialisation */
    LM_STREAM_SHUFFLE = 1 << 20,
    LM_STREAM_DROPOUT = 2 << 20, /* + layer id */
    LM_STREAM_AUGMENT = 3 << 20,
    LM_STREAM_DATA = 4 << 20,    /* synthetic data sets */
    LM_STREAM_PROBE = 5 << 20
};

/* Four independent 32-bit words for counter `index` of `stream` under `seed`. */
LM_API void lm_philox(uint64_t seed, uint64_t stream, uint64_t index, uint32_t out[4]);
/* lm_philox for counters index .. index + blocks - 1: out[4 b .. 4 b + 3] is block index + b
 * (the same words, vectorised). */
LM_API void lm_philox_fill(uint64_t seed, uint64_t stream, uint64_t index, size_t blocks, uint32_t *out);

/* A uniform double in [0, 1) with 53 random bits. */
LM_API double lm_rand_uniform(uint64_t seed, uint64_t stream, uint64_t index);

/* A standard normal (Box-Muller on one Philox block). */
LM_API double lm_rand_normal(uint64_t seed, uint64_t stream, uint64_t index);

/* Fill out[0..n) with N(0, std^2) draws, indices 0..n-1 of the stream. */
LM_API void lm_rand_normal_fill_f32(float *out, uint64_t n, double std, uint64_t seed, uint64_t stream);
LM_API void lm_rand_normal_fill_f64(double *out, uint64_t n, double std, uint64_t seed, uint64_t stream);

/* A uniformly random permutation of 0..n-1 (Fisher-Yates driven by the stream). */
LM_API void lm_rand_permutation(uint32_t *perm, uint32_t n, uint64_t seed, uint64_t stream);

#ifdef __cplusplus
}
#endif
#endif
