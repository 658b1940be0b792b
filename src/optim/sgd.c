/* SGD with momentum, dampening, Nesterov and coupled weight decay, as torch.optim.SGD's
 * documented algorithm (maximize=False). Heavy ball is momentum with dampening 0. */
#include "linmass/optim.h"

#define DEFINE_SGD_STEP(T, S)                                                                \
    void lm_sgd_step_##S(size_t n, T *w, const T *g, T *buf, const lm_sgd_hp *hp, long t)    \
    {                                                                                        \
        const T lr = (T)hp->lr, mu = (T)hp->momentum, wd = (T)hp->weight_decay;              \
        const T keep = (T)(1.0 - hp->dampening);                                             \
        for (size_t i = 0; i < n; i++) {                                                     \
            T d = wd != 0 ? g[i] + wd * w[i] : g[i];                                         \
            if (mu != 0) {                                                                   \
                buf[i] = t <= 1 ? d : mu * buf[i] + keep * d; /* first step: no dampening */ \
                d = hp->nesterov ? d + mu * buf[i] : buf[i];                                 \
            }                                                                                \
            w[i] -= lr * d;                                                                  \
        }                                                                                    \
    }

DEFINE_SGD_STEP(float, f32)
DEFINE_SGD_STEP(double, f64)
