/* Conversions between the plain and the channel-blocked layouts (nn/layout.h). */
#include <string.h>

#include "nn/layout.h"

/* one sample, plain (C x hw) -> blocked (Cb x hw x VB), padding lanes zeroed */
static void pack(int C, size_t hw, const real *x, real *y)
{
    for (int cb = 0; cb * LM_VB < C; cb++)
        for (size_t e = 0; e < hw; e++)
            for (int l = 0; l < LM_VB; l++) {
                int c = cb * LM_VB + l;
                y[((size_t)cb * hw + e) * LM_VB + l] = c < C ? x[(size_t)c * hw + e] : 0;
            }
}

/* one sample, blocked -> plain */
static void unpack(int C, size_t hw, const real *x, real *y)
{
    for (int c = 0; c < C; c++)
        for (size_t e = 0; e < hw; e++) y[(size_t)c * hw + e] = x[((size_t)(c / LM_VB) * hw + e) * LM_VB + c % LM_VB];
}

void R(lm_relayout)(lm_shape s, int n, const real *x, int from, real *y, int to)
{
    size_t hw = (size_t)s.h * s.w, in = lm_numel_in(s, from), out = lm_numel_in(s, to);
    if (from == to) {
        memcpy(y, x, (size_t)n * in * sizeof *y);
        return;
    }
    for (int i = 0; i < n; i++)
        if (to) pack(s.c, hw, x + i * in, y + i * out);
        else unpack(s.c, hw, x + i * in, y + i * out);
}
