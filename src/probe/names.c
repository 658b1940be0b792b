/* The spellings of the probes' enums (probe.h): each enum's names in one table, read both ways,
 * and the width lists of the sweeps (docs/theory.md §7.6). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linmass/probe.h"

static const char *const eig_methods[] = {"lanczos", "power"};                     /* lm_eig_method */
static const char *const ntk_methods[] = {"auto", "gram", "per-sample", "layerwise"}; /* lm_ntk_method */
static const char *const vectors[] = {"rademacher", "gaussian"};                   /* lm_random_vectors */
static const char *const block_kinds[] = {"layer", "tensor"};                      /* lm_block_kind */
static const char *const sweep_probes[] = {"hessian", "ntk", "linearity"};         /* lm_sweep_probe */

/* names[i] == name: *i; else LM_EINVAL "FIELD 'NAME' is not a, b or c". */
static lm_status parse(const char *field, const char *const *names, int n, const char *name, int *i)
{
    char list[128] = "";
    for (*i = 0; *i < n; ++*i) {
        if (name && !strcmp(name, names[*i])) return LM_OK;
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", !*i ? "" : *i < n - 1 ? ", " : " or ", names[*i]);
    }
    return lm_fail(LM_EINVAL, "%s '%s' is not %s", field, name ? name : "(none)", list);
}

/* TYPE's name (NULL for a value out of the table) and its parse, through TABLE. */
#define NAMES(type, prefix, field, table)                                                          \
    const char *prefix##_name(type v)                                                              \
    {                                                                                              \
        return (int)v >= 0 && (int)v < (int)(sizeof table / sizeof *table) ? table[v] : NULL;      \
    }                                                                                              \
    lm_status prefix##_parse(const char *name, type *out)                                          \
    {                                                                                              \
        int i;                                                                                     \
        lm_status st = parse(field, table, (int)(sizeof table / sizeof *table), name, &i);         \
        if (!st) *out = (type)i;                                                                   \
        return st;                                                                                 \
    }

NAMES(lm_eig_method, lm_eig_method, "method", eig_methods)
NAMES(lm_ntk_method, lm_ntk_method, "method", ntk_methods)
NAMES(lm_random_vectors, lm_random_vectors, "vectors", vectors)
NAMES(lm_block_kind, lm_block_kind, "block_kind", block_kinds)
NAMES(lm_sweep_probe, lm_sweep_probe, "probe", sweep_probes)

lm_status lm_widths_parse(const char *text, int **widths, int *n)
{
    int cap = 1, k = 0, distinct = 0;
    for (const char *p = text ? text : ""; *p; p++) cap += *p == ',';
    int *w = malloc(cap * sizeof *w);
    if (!w) return lm_fail(LM_ENOMEM, "out of memory for %d widths", cap);
    for (const char *p = text ? text : "";; p++) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || (*end && *end != ',') || v < 1 || v > 1000000) {
            free(w);
            return lm_fail(LM_EINVAL, "widths '%s' is not a comma-separated list of positive whole numbers", text ? text : "");
        }
        w[k++] = (int)v;
        distinct |= w[k - 1] != w[0];
        if (!*(p = end)) break;
    }
    if (k < 2 || !distinct) {
        free(w);
        return lm_fail(LM_EINVAL, "widths '%s': a slope needs at least two different widths", text);
    }
    *widths = w, *n = k;
    return LM_OK;
}
