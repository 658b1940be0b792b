/* Adam and AdamW as torch.optim.Adam / AdamW's documented algorithms (amsgrad=False):
 * coupled L2 for Adam, decoupled decay w (1 - lr wd) for AdamW, bias corrections with the step
 * number t, and eps added outside the square root. Scalars are formed in double and rounded
 * once, and the operations run in PyTorch's order, so float32 iterates agree to a few ulps. */
#include <tgmath.h>

#include "linmass/optim.h"

#define DEFINE_ADAM_STEP(T, S)                                                                   \
    void lm_adam_step_##S(size_t n, T *w, const T *g, T *m, T *v, const lm_adam_hp *hp, long t) \
    {                                                                                            \
        const T b1 = (T)hp->beta1, b2 = (T)hp->beta2, eps = (T)hp->eps;                          \
        const T one_b1 = (T)(1.0 - hp->beta1), one_b2 = (T)(1.0 - hp->beta2);                    \
        const T wd = (T)hp->weight_decay, shrink = (T)(1.0 - hp->lr * hp->weight_decay);         \
        const T step = (T)(hp->lr / (1.0 - pow(hp->beta1, (double)t)));                          \
        const T root2 = (T)sqrt(1.0 - pow(hp->beta2, (double)t));                                \
        for (size_t i = 0; i < n; i++) {                                                         \
            T d = g[i];                                                                          \
            if (hp->decoupled) w[i] *= shrink;                                                   \
            else if (wd != 0) d += wd * w[i];                                                    \
            m[i] = b1 * m[i] + one_b1 * d;                                                       \
            v[i] = b2 * v[i] + one_b2 * d * d;                                                   \
            T denom = sqrt(v[i]) / root2 + eps;                                                  \
            w[i] += -step * m[i] / denom;                                                        \
        }                                                                                        \
    }

DEFINE_ADAM_STEP(float, f32)
DEFINE_ADAM_STEP(double, f64)
