/* MaSS (Liu and Belkin, ICLR 2020) in both parameterizations of science.md section 1.
 *
 * The gradient g is taken at u. The visible weights are w. Both forms update element by
 * element, so the old w (and u) need no copy. Weight decay is coupled L2 at u. */
#include <math.h>

#include "linmass/optim.h"

/* w' = u - eta1 g;  u' = (1 + gamma) w' - gamma w + eta2 g   (the compensation term is +eta2 g) */
#define DEFINE_MASS_STEP(T, S)                                                                \
    void lm_mass_step_##S(size_t n, T *w, T *u, const T *g, const lm_mass_hp *hp)             \
    {                                                                                         \
        const T eta1 = (T)hp->eta1, eta2 = (T)hp->eta2, gamma = (T)hp->gamma;                 \
        const T wd = (T)hp->weight_decay;                                                     \
        for (size_t i = 0; i < n; i++) {                                                      \
            T d = wd != 0 ? g[i] + wd * u[i] : g[i];                                          \
            T w_next = u[i] - eta1 * d;                                                       \
            u[i] = (1 + gamma) * w_next - gamma * w[i] + eta2 * d;                            \
            w[i] = w_next;                                                                    \
        }                                                                                     \
    }

/* The authors' Keras form: w' = u - eta g;  v' = (1 - alpha) v + alpha u - delta g;
 * u' = alpha/(1 + alpha) v' + 1/(1 + alpha) w',  with delta = eta/(alpha kappa_tilde). */
#define DEFINE_MASS3_STEP(T, S)                                                                  \
    void lm_mass3_step_##S(size_t n, T *w, T *u, T *v, const T *g, const lm_mass3_hp *hp)        \
    {                                                                                            \
        const T eta = (T)hp->eta, alpha = (T)hp->alpha;                                          \
        const T delta = (T)(hp->eta / (hp->alpha * hp->kappa_tilde));                            \
        const T to_v = (T)(hp->alpha / (1 + hp->alpha)), to_w = (T)(1 / (1 + hp->alpha));        \
        const T wd = (T)hp->weight_decay;                                                        \
        for (size_t i = 0; i < n; i++) {                                                         \
            T d = wd != 0 ? g[i] + wd * u[i] : g[i];                                             \
            w[i] = u[i] - eta * d;                                                               \
            v[i] = (1 - alpha) * v[i] + alpha * u[i] - delta * d;                                \
            u[i] = to_v * v[i] + to_w * w[i];                                                    \
        }                                                                                        \
    }

DEFINE_MASS_STEP(float, f32)
DEFINE_MASS_STEP(double, f64)
DEFINE_MASS3_STEP(float, f32)
DEFINE_MASS3_STEP(double, f64)

lm_mass_hp lm_mass_from_authors(lm_mass3_hp a)
{
    lm_mass_hp h;
    h.eta1 = a.eta;
    h.gamma = (1 - a.alpha) / (1 + a.alpha);
    h.eta2 = a.eta * (1 - 1 / a.kappa_tilde) / (1 + a.alpha);
    h.weight_decay = a.weight_decay;
    return h;
}

lm_mass3_hp lm_mass_to_authors(lm_mass_hp h)
{
    lm_mass3_hp a;
    a.eta = h.eta1;
    a.alpha = (1 - h.gamma) / (1 + h.gamma);
    double rest = 1 - h.eta2 * (1 + a.alpha) / h.eta1;
    a.kappa_tilde = rest > 0 ? 1 / rest : INFINITY;
    a.weight_decay = h.weight_decay;
    return a;
}
