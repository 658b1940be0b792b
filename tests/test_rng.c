// ctest-labels: unit
/* Philox4x32-10 against the known-answer vectors of Random123 (Salmon et al., SC 2011;
 * kat_vectors), and the vectorised lm_philox_fill against lm_philox block by block. */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "linmass/rng.h"

int main(void)
{
    /* counter words (c0, c1) = index, (c2, c3) = stream; key words (k0, k1) = seed */
    static const struct {
        uint64_t seed, stream, index;
        uint32_t want[4];
    } kat[] = {
        {0, 0, 0, {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}},
        {UINT64_MAX, UINT64_MAX, UINT64_MAX, {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}},
        {0x299f31d0a4093822ull, 0x0370734413198a2eull, 0x85a308d3243f6a88ull,
         {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}},
    };
    for (size_t t = 0; t < sizeof kat / sizeof *kat; t++) {
        uint32_t got[4], fill[4];
        lm_philox(kat[t].seed, kat[t].stream, kat[t].index, got);
        lm_philox_fill(kat[t].seed, kat[t].stream, kat[t].index, 1, fill);
        for (int w = 0; w < 4; w++) {
            CHECK_MSG(got[w] == kat[t].want[w], "KAT %zu word %d: %08x, expected %08x", t, w, got[w], kat[t].want[w]);
            CHECK_MSG(fill[w] == kat[t].want[w], "KAT %zu word %d (fill): %08x", t, w, fill[w]);
        }
    }
    /* counts around the 16-lane width, and an index range that carries into the high word */
    static const size_t counts[] = {0, 1, 15, 16, 17, 33, 100};
    uint32_t *out = malloc(4 * 100 * sizeof *out + 16);
    for (size_t c = 0; c < sizeof counts / sizeof *counts; c++) {
        uint64_t index = c % 2 ? 0xFFFFFFF8ull : 12345;
        out[4 * counts[c]] = 0xDEADBEEFu; /* the word after the last block stays untouched */
        lm_philox_fill(42, 7, index, counts[c], out);
        int same = 1;
        for (size_t b = 0; b < counts[c]; b++) {
            uint32_t ref[4];
            lm_philox(42, 7, index + b, ref);
            for (int w = 0; w < 4; w++) same &= out[4 * b + w] == ref[w];
        }
        CHECK_MSG(same, "lm_philox_fill of %zu blocks differs from lm_philox", counts[c]);
        CHECK_MSG(out[4 * counts[c]] == 0xDEADBEEFu, "lm_philox_fill of %zu blocks wrote past the end", counts[c]);
    }
    free(out);
    return check_summary();
}
