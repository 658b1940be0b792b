/* What linmass constants and linmass theory print (theory.h, "summaries"): the tables as text
 * and the same numbers as JSON, from the constants (docs/theory.md §2.1-2.2), the exact rate
 * (§2.3) and the best-tuned rates. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linmass/optim.h"
#include "linmass/theory.h"

typedef struct {
    const char *key;
    double v;
} field;

static void add_fields(cJSON *o, const field *f, int n)
{
    for (int i = 0; i < n; i++) cJSON_AddNumberToObject(o, f[i].key, f[i].v);
}

/* The text of o, which is freed; NULL when out of memory. */
static char *json_text(cJSON *o)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

/* A text written into a memory stream: the stream, or NULL when out of memory. */
static FILE *text_open(char **text, size_t *len)
{
    *text = NULL;
    return open_memstream(text, len);
}

static lm_status text_close(FILE *f, char **text)
{
    if (f && !fclose(f) && *text) return LM_OK;
    free(*text);
    *text = NULL;
    return lm_fail(LM_ENOMEM, "theory: out of memory for the summary");
}

/* ---- constants ---- */

static char *constants_json(const lm_theory_source *s, const lm_constants_summary *c)
{
    const lm_constants *k = &c->k;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "source", s->label);
    add_fields(o, (field[]){{"d", k->d}, {"rank", k->rank}, {"batch", k->m}}, 3);
    if (!s->population) cJSON_AddNumberToObject(o, "n", s->mo.n);
    field f[] = {
        {"L", k->L}, {"mu", k->mu}, {"trace", k->trace}, {"kappa", k->kappa}, {"L1", k->L1}, {"L1_bound", k->L1_bound},
        {"kappa_1", k->kappa_1}, {"kappa_tilde", k->kappa_tilde}, {"kappa_tilde_bound", k->kappa_tilde_bound},
        {"L_m", k->L_m}, {"kappa_m", k->kappa_m}, {"kappa_tilde_m", k->kappa_tilde_m}, {"sgd_lr", k->sgd_lr},
        {"sgd_rate", k->sgd_rate}, {"mass_eta1", k->mass_eta1}, {"mass_eta2", k->mass_eta2},
        {"mass_gamma", k->mass_gamma}, {"mass_eta", k->mass_eta}, {"mass_alpha", k->mass_alpha},
        {"mass_kappa_tilde", k->mass_kappa_tilde}, {"mass_delta", k->mass_delta}, {"mass_speed", k->mass_speed},
        {"mass_rate", k->mass_rate}, {"m1_star", k->m1_star}, {"m2_star", k->m2_star},
    };
    add_fields(o, f, sizeof f / sizeof *f);
    if (c->has_floor) add_fields(o, (field[]){{"ls_floor", c->floor_loss}, {"ls_loss_at_zero", c->zero_loss}}, 2);
    cJSON *w = cJSON_AddArrayToObject(o, "warnings");
    for (int i = 0; i < c->n_warnings; i++) cJSON_AddItemToArray(w, cJSON_CreateString(c->warnings[i]));
    return json_text(o);
}

static void constants_text(FILE *f, const lm_theory_source *s, const lm_constants_summary *c)
{
    const lm_constants *k = &c->k;
    fprintf(f, "linear regression constants of %s, float64\n", s->label);
    fprintf(f, "  d %d, rank(H) %d, tr H %.6g\n", k->d, k->rank, k->trace);
    fprintf(f, "  L            %-14.6g lambda_max(H)\n", k->L);
    fprintf(f, "  mu           %-14.6g smallest non-zero eigenvalue of H\n", k->mu);
    fprintf(f, "  kappa        %-14.6g L/mu\n", k->kappa);
    if (isfinite(k->L1_bound)) fprintf(f, "  L1           %-14.6g exact  (bound max|x|^2: %.6g)\n", k->L1, k->L1_bound);
    else fprintf(f, "  L1           %-14.6g exact, population\n", k->L1);
    fprintf(f, "  kappa_1      %-14.6g L1/mu\n", k->kappa_1);
    if (isfinite(k->kappa_tilde_bound))
        fprintf(f, "  kappa-tilde  %-14.6g exact  (bound max x^T H^+ x: %.6g)\n", k->kappa_tilde, k->kappa_tilde_bound);
    else fprintf(f, "  kappa-tilde  %-14.6g exact, population\n", k->kappa_tilde);
    if (c->has_floor)
        fprintf(f, "  least-squares floor %.6g  (%.3g of the loss at w = 0; 0 when the data are interpolated)\n",
                c->floor_loss, c->floor_loss / c->zero_loss);
}

static void batch_text(FILE *f, const lm_constants *k)
{
    fprintf(f, "  L_m          %-14.6g L1/m + (m-1) L/m\n", k->L_m);
    fprintf(f, "  kappa_m      %-14.6g L_m/mu\n", k->kappa_m);
    fprintf(f, "  kappa-tilde_m %-13.6g kappa-tilde/m + (m-1)/m\n", k->kappa_tilde_m);
    fprintf(f, "SGD   step 1/L_m = %.6g   rate 1 - 1/kappa_m = %.8g\n", k->sgd_lr, k->sgd_rate);
    fprintf(f, "MaSS  eta1 %.6g  eta2 %.6g  gamma %.6g\n", k->mass_eta1, k->mass_eta2, k->mass_gamma);
    fprintf(f, "      authors' form: eta %.6g  alpha %.6g  kappa-tilde %.6g  (delta %.6g)\n", k->mass_eta,
            k->mass_alpha, k->mass_kappa_tilde, k->mass_delta);
    fprintf(f, "      rate 1 - 1/sqrt(kappa_m kappa-tilde_m) = %.8g  (speed-up over SGD %.3gx)\n", k->mass_rate,
            k->mass_speed * k->kappa_m);
    fprintf(f, "critical batch sizes  m1* = %.6g  m2* = %.6g\n", k->m1_star, k->m2_star);
}

lm_status lm_constants_summary_make(const lm_theory_source *s, int m, lm_constants_summary *out)
{
    memset(out, 0, sizeof *out);
    lm_status st = lm_theory_source_constants(s, m, &out->k);
    if (!st && s->Y) {
        st = lm_linreg_residual(s->X, s->Y, s->mo.n, s->mo.d, s->k, &out->floor_loss, &out->zero_loss);
        out->has_floor = !st;
    }
    if (st) return st;
    out->n_warnings = lm_constants_warnings(&out->k, out->has_floor ? out->floor_loss : -1, out->zero_loss,
                                            out->warnings);
    size_t len;
    FILE *f = text_open(&out->text, &len);
    if (f) constants_text(f, s, out);
    if ((st = text_close(f, &out->text))) return st;
    f = text_open(&out->batch_text, &len);
    if (f) batch_text(f, &out->k);
    if ((st = text_close(f, &out->batch_text))) return lm_constants_summary_free(out), st;
    out->json = constants_json(s, out);
    if (!out->json) return lm_constants_summary_free(out), lm_fail(LM_ENOMEM, "theory: out of memory for the JSON");
    return LM_OK;
}

void lm_constants_summary_free(lm_constants_summary *out)
{
    free(out->text), free(out->batch_text), free(out->json);
    out->text = out->batch_text = out->json = NULL;
}

/* ---- rates ---- */

/* v (NAN: not given) in the range lo..hi, each end open or closed, written `range`. */
static lm_status hp_range(const char *name, double v, double lo, int lo_open, double hi, int hi_open, const char *range)
{
    if (isnan(v)) return LM_OK;
    if (!isfinite(v) || (lo_open ? v <= lo : v < lo) || (hi_open ? v >= hi : v > hi))
        return lm_fail(LM_EINVAL, "%s %g is not in %s", name, v, range);
    return LM_OK;
}

lm_status lm_theory_hp_validate(lm_theory_method method, const lm_theory_hp_given *g, int tuned)
{
    static const char *const name[6] = {"step", "eta2", "gamma", "alpha", "kappa_tilde", "eta1"};
    const double v[6] = {g->step, g->eta2, g->gamma, g->alpha, g->kappa_tilde, g->eta1};
    if (method < LM_THEORY_SGD || method > LM_THEORY_MASS) return lm_fail(LM_EINVAL, "method %d is not sgd, nesterov or mass", (int)method);
    if (!isnan(g->step) && !isnan(g->eta1))
        return lm_fail(LM_EINVAL, "step %g and eta1 %g are the same step; give one", g->step, g->eta1);
    lm_status st;
    if ((st = hp_range("step", g->step, 0, 1, INFINITY, 0, "(0, inf)")) || (st = hp_range("eta1", g->eta1, 0, 1, INFINITY, 0, "(0, inf)")) ||
        (st = hp_range("eta2", g->eta2, 0, 0, INFINITY, 0, "[0, inf)")) || (st = hp_range("gamma", g->gamma, 0, 0, 1, 1, "[0, 1)")) ||
        (st = hp_range("alpha", g->alpha, 0, 1, 1, 1, "(0, 1)")) ||
        (st = hp_range("kappa_tilde", g->kappa_tilde, 1, 0, INFINITY, 0, "[1, inf)")))
        return st;
    int first = 0;
    while (first < 6 && isnan(v[first])) first++;
    if (tuned && first < 6)
        return lm_fail(LM_EINVAL, "%s %g: the tuned rates choose every hyper-parameter themselves (give none)", name[first], v[first]);
    if (tuned) return LM_OK;
    int mass_only = !isnan(g->eta2) ? 1 : !isnan(g->alpha) ? 3 : !isnan(g->kappa_tilde) ? 4 : 0;
    if (method != LM_THEORY_MASS && mass_only)
        return lm_fail(LM_EINVAL, "%s %g belongs to mass, not %s", name[mass_only], v[mass_only], lm_theory_method_name(method));
    if (method == LM_THEORY_SGD && !isnan(g->gamma)) return lm_fail(LM_EINVAL, "gamma %g belongs to nesterov and mass, not sgd", g->gamma);
    if (method == LM_THEORY_NESTEROV && isnan(g->gamma)) return lm_fail(LM_EINVAL, "gamma: nesterov needs a momentum (it has no default)");
    int authors = !isnan(g->alpha) ? 3 : !isnan(g->kappa_tilde) ? 4 : 0;
    int two = !isnan(g->eta2) ? 1 : !isnan(g->gamma) ? 2 : !isnan(g->eta1) ? 5 : 0;
    if (authors && two)
        return lm_fail(LM_EINVAL, "%s %g and %s %g mix the MaSS forms: step, alpha and kappa_tilde, or step (eta1), eta2 and gamma",
                       name[authors], v[authors], name[two], v[two]);
    return LM_OK;
}

lm_theory_hp lm_theory_hp_resolve(lm_theory_method method, const lm_theory_hp_given *g, const lm_constants *k)
{
    double step = isnan(g->step) ? g->eta1 : g->step;
    int has_step = !isnan(step);
    if (method != LM_THEORY_MASS)
        return (lm_theory_hp){has_step ? step : k->sgd_lr, 0,
                              method == LM_THEORY_NESTEROV && !isnan(g->gamma) ? g->gamma : 0};
    if (!isnan(g->alpha) || !isnan(g->kappa_tilde)) {
        lm_mass_hp h = lm_mass_from_authors((lm_mass3_hp){has_step ? step : k->mass_eta,
                                                          isnan(g->alpha) ? k->mass_alpha : g->alpha,
                                                          isnan(g->kappa_tilde) ? k->mass_kappa_tilde : g->kappa_tilde, 0});
        return (lm_theory_hp){h.eta1, h.eta2, h.gamma};
    }
    return (lm_theory_hp){has_step ? step : k->mass_eta1, isnan(g->eta2) ? k->mass_eta2 : g->eta2,
                          isnan(g->gamma) ? k->mass_gamma : g->gamma};
}

static char *rate_json(const lm_theory_source *s, lm_theory_method method, lm_theory_hp hp, int m,
                       const lm_constants *k, double rho)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "source", s->label);
    cJSON_AddStringToObject(o, "optim", lm_theory_method_name(method));
    add_fields(o, (field[]){{"batch", m}, {"eta1", hp.eta1}, {"eta2", hp.eta2}, {"gamma", hp.gamma}, {"rho", rho}}, 5);
    cJSON_AddBoolToObject(o, "diverges", !(rho < 1));
    add_fields(o, (field[]){{"speed", -log(rho)}, {"sgd_rate_theory", k->sgd_rate}, {"mass_rate_theory", k->mass_rate},
                            {"kappa_m", k->kappa_m}, {"kappa_tilde_m", k->kappa_tilde_m}}, 5);
    return json_text(o);
}

static void rate_text(FILE *f, const lm_theory_source *s, lm_theory_method method, lm_theory_hp hp, int m,
                      const lm_constants *k, double rho)
{
    int diverges = !(rho < 1), mass = method == LM_THEORY_MASS;
    double speed = -log(rho);
    fprintf(f, "%s on %s, batch %d\n", lm_theory_method_name(method), s->label, m);
    fprintf(f, "  eta1 %.6g", hp.eta1);
    if (mass) fprintf(f, "  eta2 %.6g", hp.eta2);
    if (method != LM_THEORY_SGD) fprintf(f, "  gamma %.6g", hp.gamma);
    fprintf(f, "\n  rho %.8g per step (E|w - w*|^2)%s\n", rho, diverges ? "  DIVERGES (rho >= 1)" : "");
    if (!diverges) fprintf(f, "  speed -log(rho) %.6g: a factor 10 every %.4g steps\n", speed, log(10) / speed);
    fprintf(f, "  section 2.2 rate %s %.8g (%s)\n", mass ? "1 - 1/sqrt(kappa_m kappa-tilde_m)" : "1 - 1/kappa_m",
            mass ? k->mass_rate : k->sgd_rate, mass ? "MaSS" : "SGD, for comparison");
}

lm_status lm_theory_rate_summary(const lm_theory_source *s, lm_theory_method method, lm_theory_hp hp, int m,
                                 const lm_constants *k, char **text, char **json)
{
    *text = *json = NULL;
    double rho = NAN;
    lm_status st = lm_theory_rate(&s->mo, method, hp, m, &rho);
    if (st) return st;
    size_t len;
    FILE *f = text_open(text, &len);
    if (f) rate_text(f, s, method, hp, m, k, rho);
    if ((st = text_close(f, text))) return st;
    if ((*json = rate_json(s, method, hp, m, k, rho))) return LM_OK;
    free(*text), *text = NULL;
    return lm_fail(LM_ENOMEM, "theory: out of memory for the JSON");
}

/* ---- best-tuned rates ---- */

static char *best_json(const lm_theory_source *s, int m, int grid, const lm_theory_best *b, const lm_constants *k)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "source", s->label);
    add_fields(o, (field[]){{"batch", m}, {"grid", grid}}, 2);
    double s0 = -log(b[0].rho);
    for (int i = 0; i < 3; i++) {
        cJSON *j = cJSON_AddObjectToObject(o, lm_theory_method_name((lm_theory_method)i));
        double speed = -log(b[i].rho);
        field f[] = {{"rho", b[i].rho},         {"speed", speed},       {"speedup", speed / s0},
                     {"eta1", b[i].hp.eta1},    {"eta2", b[i].hp.eta2}, {"gamma", b[i].hp.gamma},
                     {"evaluations", b[i].evaluations}, {"closed_form_rho", b[i].closed_rho}};
        add_fields(j, f, sizeof f / sizeof *f);
        cJSON_AddBoolToObject(j, "beats_closed_form", b[i].beats_closed_form);
    }
    add_fields(o, (field[]){{"sgd_rate_theory", k->sgd_rate}, {"mass_rate_theory", k->mass_rate}}, 2);
    return json_text(o);
}

static void best_text(FILE *f, const lm_theory_source *s, int m, int grid, const lm_theory_best *b, const lm_constants *k)
{
    fprintf(f, "best-tuned rates on %s, batch %d (grid %d with the closed-form points, then a local search)\n", s->label,
            m, grid);
    fprintf(f, "  %-9s %-12s %-11s %-9s %-11s %-11s %-9s %s\n", "method", "rho", "-log(rho)", "vs SGD", "eta1", "eta2",
            "gamma", "closed-form rho");
    double s0 = -log(b[0].rho);
    for (int i = 0; i < 3; i++) {
        fprintf(f, "  %-9s %-12.8f %-11.4g %-9.3g %-11.4g %-11.4g %-9.6g ", lm_theory_method_name((lm_theory_method)i),
                b[i].rho, -log(b[i].rho), -log(b[i].rho) / s0, b[i].hp.eta1, b[i].hp.eta2, b[i].hp.gamma);
        if (isnan(b[i].closed_rho)) fprintf(f, "-\n");
        else fprintf(f, "%.8f%s\n", b[i].closed_rho, b[i].beats_closed_form ? "" : " (tuning did not beat it)");
    }
    fprintf(f, "section 2.2 rates: SGD 1 - 1/kappa_m = %.8g, MaSS 1 - 1/sqrt(kappa_m kappa-tilde_m) = %.8g\n",
            k->sgd_rate, k->mass_rate);
}

lm_status lm_theory_best_summary(const lm_theory_source *s, int m, int grid, const lm_theory_best b[3],
                                 const lm_constants *k, char **text, char **json)
{
    *json = NULL;
    size_t len;
    FILE *f = text_open(text, &len);
    if (f) best_text(f, s, m, grid, b, k);
    lm_status st = text_close(f, text);
    if (st) return st;
    if ((*json = best_json(s, m, grid, b, k))) return LM_OK;
    free(*text), *text = NULL;
    return lm_fail(LM_ENOMEM, "theory: out of memory for the JSON");
}
