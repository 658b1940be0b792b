/* MaSS (Liu and Belkin, ICLR 2020) in both parameterizations of docs/theory.md section 1,
 * written once over `real` (core/real.h); the map between the forms and the descriptor follow.
 *
 * The gradient g is taken at u. The visible weights are w. Both forms update element by
 * element, so the old w (and u) need no copy. Weight decay is coupled L2 at u. */
#include "core/real.h"
#include "optim/optim_def.h"

/* w' = u - eta1 g;  u' = (1 + gamma) w' - gamma w + eta2 g   (the compensation term is +eta2 g) */
void R(lm_mass_step)(size_t n, real *w, real *u, const real *g, const lm_mass_hp *hp)
{
    const real eta1 = (real)hp->eta1, eta2 = (real)hp->eta2, gamma = (real)hp->gamma;
    const real wd = (real)hp->weight_decay;
    for (size_t i = 0; i < n; i++) {
        real d = wd != 0 ? g[i] + wd * u[i] : g[i];
        real w_next = u[i] - eta1 * d;
        u[i] = (1 + gamma) * w_next - gamma * w[i] + eta2 * d;
        w[i] = w_next;
    }
}

/* The authors' Keras form: w' = u - eta g;  v' = (1 - alpha) v + alpha u - delta g;
 * u' = alpha/(1 + alpha) v' + 1/(1 + alpha) w',  with delta = eta/(alpha kappa_tilde). */
void R(lm_mass3_step)(size_t n, real *w, real *u, real *v, const real *g, const lm_mass3_hp *hp)
{
    const real eta = (real)hp->eta, alpha = (real)hp->alpha;
    const real delta = (real)(hp->eta / (hp->alpha * hp->kappa_tilde));
    const real to_v = (real)(hp->alpha / (1 + hp->alpha)), to_w = (real)(1 / (1 + hp->alpha));
    const real wd = (real)hp->weight_decay;
    for (size_t i = 0; i < n; i++) {
        real d = wd != 0 ? g[i] + wd * u[i] : g[i];
        w[i] = u[i] - eta * d;
        v[i] = (1 - alpha) * v[i] + alpha * u[i] - delta * d;
        u[i] = to_v * v[i] + to_w * w[i];
    }
}

/* The descriptor's step: the state decides the form, u alone (eta1, eta2, gamma) or u and v
 * (the authors'). */
void R(lm_optim_mass_step)(const lm_optim_step_args *a, size_t n, real *w, const real *g, real *const *s)
{
    const lm_optim_config *c = a->c;
    if (a->n_state == 1) {
        lm_mass_hp hp = {c->eta1 * a->lr_factor, c->eta2 * a->lr_factor, c->gamma, c->weight_decay};
        R(lm_mass_step)(n, w, s[0], g, &hp);
    } else {
        lm_mass3_hp hp = {c->lr * a->lr_factor, c->alpha, c->kappa_tilde, c->weight_decay};
        R(lm_mass3_step)(n, w, s[0], s[1], g, &hp);
    }
}

#ifdef LM_F32 /* the type-independent half, once */
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

void lm_optim_mass_step_f64(const lm_optim_step_args *a, size_t n, double *w, const double *g, double *const *s);

static int mass_num_state(const lm_optim_config *c) { return c->mass_form == LM_MASS_ETA ? 1 : 2; }

static lm_status check_eta_form(lm_optim_config *c)
{
    const unsigned eta_form = LM_OPT_ETA1 | LM_OPT_ETA2 | LM_OPT_GAMMA;
    for (unsigned bit = LM_OPT_ETA1; bit <= LM_OPT_GAMMA; bit <<= 1)
        if ((c->given & eta_form) && !(c->given & bit))
            return lm_fail(LM_EINVAL, "optimizer mass: the (eta1, eta2, gamma) form needs %s too",
                           lm_optim_option_name(bit));
    lm_status st = lm_optim_check_range(c, "eta1", c->eta1, 0, 0, INFINITY, 0);
    if (!st && c->eta2 < 0)
        st = lm_fail(LM_EINVAL, "optimizer mass: eta2 %g is negative (the compensation term enters "
                     "with a plus sign)", c->eta2);
    if (!st) st = lm_optim_check_range(c, "eta2", c->eta2, 0, 1, INFINITY, 0);
    if (!st) st = lm_optim_check_range(c, "gamma", c->gamma, 0, 1, 1, 0);
    return st;
}

/* One form given whole (or neither: the authors' defaults); then the other form filled in. */
static lm_status mass_validate(lm_optim_config *c)
{
    const unsigned eta_form = LM_OPT_ETA1 | LM_OPT_ETA2 | LM_OPT_GAMMA;
    const unsigned authors_form = LM_OPT_LR | LM_OPT_ALPHA | LM_OPT_KAPPA_TILDE;
    if ((c->given & eta_form) && (c->given & authors_form))
        return lm_fail(LM_EINVAL, "optimizer mass: give either eta1, eta2, gamma or lr, alpha, "
                       "kappa_tilde, not options of both forms");
    if (c->given & eta_form) c->mass_form = LM_MASS_ETA;
    if (c->given & authors_form) c->mass_form = LM_MASS_AUTHORS;
    if (c->mass_form == LM_MASS_ETA) {
        lm_status st = check_eta_form(c);
        if (st) return st;
        lm_mass3_hp a = lm_mass_to_authors((lm_mass_hp){c->eta1, c->eta2, c->gamma, 0});
        c->lr = a.eta, c->alpha = a.alpha, c->kappa_tilde = a.kappa_tilde;
    } else { /* lr: the common checks */
        lm_status st = lm_optim_check_range(c, "alpha", c->alpha, 0, 0, 1, 0);
        if (!st) st = lm_optim_check_range(c, "kappa_tilde", c->kappa_tilde, 1, 1, INFINITY, 0);
        if (st) return st;
        lm_mass_hp h = lm_mass_from_authors((lm_mass3_hp){c->lr, c->alpha, c->kappa_tilde, 0});
        c->eta1 = h.eta1, c->eta2 = h.eta2, c->gamma = h.gamma;
    }
    return LM_OK;
}

const lm_optim_def lm_optim_mass_def = {
    .kind = LM_OPTIM_MASS,
    .name = "mass",
    .state = {"u", "v"},
    .eval_state = 0,
    .state_from_w = 1,
    .options = LM_OPT_COMMON | LM_OPT_ETA1 | LM_OPT_ETA2 | LM_OPT_GAMMA | LM_OPT_ALPHA |
               LM_OPT_KAPPA_TILDE | LM_OPT_AUTO,
    .defaults = {.lr = 1e-2},
    .num_state = mass_num_state,
    .validate = mass_validate,
    .step_f32 = lm_optim_mass_step_f32,
    .step_f64 = lm_optim_mass_step_f64,
};
#endif
