/* A small classification data set for the training tests: 96 rows of 6 features in [-10, 10]
 * (from a fixed Philox stream) and a class in 0..2, the largest of three sums of the features;
 * a header line first. Load it as csv:PATH:classes=3. */
#ifndef LM_TESTS_CLASS_CSV_H
#define LM_TESTS_CLASS_CSV_H

#include <stdio.h>

#include "linmass/rng.h"

static inline int write_class_csv(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) return 0;
    fprintf(f, "a,b,c,d,e,f,y\n");
    for (int i = 0; i < 96; i++) {
        float x[6];
        uint32_t u[4];
        for (int j = 0; j < 6; j++) {
            lm_philox(11, 3, (uint64_t)(i * 6 + j), u);
            x[j] = (float)(u[0] % 2001) / 100.0f - 10.0f;
        }
        float s0 = x[0] + x[1], s1 = x[2] - x[3], s2 = x[4] + 0.5f * x[5];
        int y = s0 > s1 ? (s0 > s2 ? 0 : 2) : (s1 > s2 ? 1 : 2);
        for (int j = 0; j < 6; j++) fprintf(f, "%.9g,", x[j]);
        fprintf(f, "%d\n", y);
    }
    return fclose(f) == 0;
}

#endif
