/* Exact populations by name: "gaussian[:cond=C,d=D]" and "decoupled[:cond=C,d=D]", with the
 * variances logspace(0, -log10 C, D) (docs/theory.md §2.2, §2.4). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "theory/theory_internal.h"

/* One "key=value" of the spec into cond or d. */
static lm_status parse_field(const char *spec, char *tok, double *cond, long *d)
{
    char *eq = strchr(tok, '='), *end;
    if (!eq) return lm_fail(LM_EINVAL, "population '%s': '%s' is not key=value", spec, tok);
    *eq = 0;
    const char *v = eq + 1;
    if (!strcmp(tok, "cond")) {
        *cond = strtod(v, &end);
        if (end == v || *end || !isfinite(*cond) || *cond < 1)
            return lm_fail(LM_EINVAL, "population '%s': cond '%s' is not a number >= 1", spec, v);
    } else if (!strcmp(tok, "d")) {
        *d = strtol(v, &end, 10);
        if (end == v || *end || *d < 1 || *d > LM_POPULATION_MAX_DIM)
            return lm_fail(LM_EINVAL, "population '%s': d '%s' is not an integer in 1..%d", spec, v,
                           LM_POPULATION_MAX_DIM);
    } else {
        return lm_fail(LM_EINVAL, "population '%s': unknown key '%s' (cond, d)", spec, tok);
    }
    return LM_OK;
}

static lm_status parse_fields(const char *spec, const char *fields, double *cond, long *d)
{
    char buf[256];
    if (strlen(fields) >= sizeof buf) return lm_fail(LM_EINVAL, "population '%.40s...': too long", spec);
    strcpy(buf, fields);
    lm_status st = LM_OK;
    for (char *save = NULL, *tok = strtok_r(buf, ",:", &save); tok && !st; tok = strtok_r(NULL, ",:", &save))
        st = parse_field(spec, tok, cond, d);
    return st;
}

lm_status lm_population_parse(const char *spec, lm_population *pop)
{
    memset(pop, 0, sizeof *pop);
    const char *colon = strchr(spec, ':');
    size_t klen = colon ? (size_t)(colon - spec) : strlen(spec);
    lm_moments_kind kind;
    if (klen == 8 && !strncmp(spec, "gaussian", 8)) kind = LM_MOMENTS_GAUSSIAN;
    else if (klen == 9 && !strncmp(spec, "decoupled", 9)) kind = LM_MOMENTS_DECOUPLED;
    else return lm_fail(LM_EINVAL, "population '%s': the kind is not gaussian or decoupled", spec);
    double cond = 100;
    long d = 2;
    lm_status st = colon ? parse_fields(spec, colon + 1, &cond, &d) : LM_OK;
    if (st) return st;
    pop->sigma2 = malloc(sizeof *pop->sigma2 * (size_t)d);
    if (kind == LM_MOMENTS_GAUSSIAN) pop->H = calloc((size_t)d * d, sizeof *pop->H);
    if (!pop->sigma2 || (kind == LM_MOMENTS_GAUSSIAN && !pop->H))
        return lm_fail(LM_ENOMEM, "population '%s': no memory for d = %ld", spec, d);
    for (long k = 0; k < d; k++) {
        pop->sigma2[k] = d == 1 ? 1.0 : pow(cond, -(double)k / (double)(d - 1));
        if (pop->H) pop->H[k * d + k] = pop->sigma2[k];
    }
    pop->mo = (lm_moments){.kind = kind, .d = (int)d, .H = pop->H};
    if (kind == LM_MOMENTS_DECOUPLED) pop->mo.sigma2 = pop->sigma2;
    pop->cond = cond;
    snprintf(pop->label, sizeof pop->label, "%s:cond=%g,d=%ld", kind == LM_MOMENTS_GAUSSIAN ? "gaussian" : "decoupled",
             cond, d);
    return LM_OK;
}

void lm_population_free(lm_population *pop)
{
    free(pop->H), free(pop->sigma2);
    pop->H = pop->sigma2 = NULL;
}
