// ctest-labels: unit
/* The probes' spellings (probe.h): lm_widths_parse on exact small lists (the values and their
 * count; the refusals' messages start with the field), and every enum's name table read both
 * ways, with the refusal naming the field, the name and every accepted spelling. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/probe.h"

/* text is accepted as the n widths want */
static void widths_ok(const char *text, const int *want, int n)
{
    int *w = NULL, k = -1;
    lm_status st = lm_widths_parse(text, &w, &k);
    CHECK_MSG(st == LM_OK && k == n, "'%s': status %d, %d widths (%s)", text, st, k, st ? lm_error_message() : "");
    for (int i = 0; !st && i < n && i < k; i++) CHECK_MSG(w[i] == want[i], "'%s': width %d is %d, not %d", text, i, w[i], want[i]);
    free(w);
}

/* text is refused with the message msg; *widths and *n are left alone */
static void widths_bad(const char *text, const char *msg)
{
    int sentinel = 7, *w = &sentinel, k = -1;
    lm_status st = lm_widths_parse(text, &w, &k);
    CHECK_MSG(st == LM_EINVAL && !strcmp(lm_error_message(), msg), "'%s': status %d, '%s' (wanted '%s')", text, st,
              st ? lm_error_message() : "", msg);
    CHECK(w == &sentinel && k == -1);
}

static void widths(void)
{
    widths_ok("64,128", (const int[]){64, 128}, 2);
    widths_ok("8,16,8,1000000", (const int[]){8, 16, 8, 1000000}, 4);
    widths_ok("1,2", (const int[]){1, 2}, 2);
    const char *list = "is not a comma-separated list of positive whole numbers";
    char msg[160];
    const char *refused[] = {"", "0,5", "5,", "a,b", "2000000,3", "64,,128", "64;128", "-2,4", "3,1000001"};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        snprintf(msg, sizeof msg, "widths '%s' %s", refused[i], list);
        widths_bad(refused[i], msg);
    }
    widths_bad("64", "widths '64': a slope needs at least two different widths");
    widths_bad("64,64", "widths '64,64': a slope needs at least two different widths");
    widths_bad("5,5,5", "widths '5,5,5': a slope needs at least two different widths");
}

/* The parse of NAME through PARSE gives WANT, and NAME_FN gives NAME back. */
#define ROUND_TRIP(parse, name_fn, type, name, want)                                                 \
    do {                                                                                             \
        type v_ = (type)99;                                                                          \
        CHECK_MSG(parse(name, &v_) == LM_OK && v_ == (want), "%s(\"%s\") gave %d", #parse, name, (int)v_); \
        CHECK_MSG(name_fn(want) && !strcmp(name_fn(want), name), "%s(%d) is not \"%s\"", #name_fn, (int)(want), name); \
    } while (0)

/* The parse of name is refused with the message msg, leaving *v alone. */
#define REFUSED(parse, type, name, msg)                                                                  \
    do {                                                                                                 \
        type v_ = (type)99;                                                                              \
        lm_status st_ = parse(name, &v_);                                                                \
        CHECK_MSG(st_ == LM_EINVAL && (int)v_ == 99 && !strcmp(lm_error_message(), msg), "%s: status %d, '%s' (wanted '%s')", \
                  #parse, st_, st_ ? lm_error_message() : "", msg);                                      \
    } while (0)

static void names(void)
{
    ROUND_TRIP(lm_eig_method_parse, lm_eig_method_name, lm_eig_method, "lanczos", LM_EIG_LANCZOS);
    ROUND_TRIP(lm_eig_method_parse, lm_eig_method_name, lm_eig_method, "power", LM_EIG_POWER);
    REFUSED(lm_eig_method_parse, lm_eig_method, "Lanczos", "method 'Lanczos' is not lanczos or power");
    ROUND_TRIP(lm_ntk_method_parse, lm_ntk_method_name, lm_ntk_method, "auto", LM_NTK_AUTO);
    ROUND_TRIP(lm_ntk_method_parse, lm_ntk_method_name, lm_ntk_method, "gram", LM_NTK_GRAM);
    ROUND_TRIP(lm_ntk_method_parse, lm_ntk_method_name, lm_ntk_method, "per-sample", LM_NTK_PER_SAMPLE);
    ROUND_TRIP(lm_ntk_method_parse, lm_ntk_method_name, lm_ntk_method, "layerwise", LM_NTK_LAYERWISE);
    REFUSED(lm_ntk_method_parse, lm_ntk_method, "per_sample", "method 'per_sample' is not auto, gram, per-sample or layerwise");
    ROUND_TRIP(lm_random_vectors_parse, lm_random_vectors_name, lm_random_vectors, "rademacher", LM_VECTORS_RADEMACHER);
    ROUND_TRIP(lm_random_vectors_parse, lm_random_vectors_name, lm_random_vectors, "gaussian", LM_VECTORS_GAUSSIAN);
    REFUSED(lm_random_vectors_parse, lm_random_vectors, "sobol", "vectors 'sobol' is not rademacher or gaussian");
    ROUND_TRIP(lm_block_kind_parse, lm_block_kind_name, lm_block_kind, "layer", LM_BLOCK_LAYER);
    ROUND_TRIP(lm_block_kind_parse, lm_block_kind_name, lm_block_kind, "tensor", LM_BLOCK_TENSOR);
    REFUSED(lm_block_kind_parse, lm_block_kind, "", "block_kind '' is not layer or tensor");
    ROUND_TRIP(lm_sweep_probe_parse, lm_sweep_probe_name, lm_sweep_probe, "hessian", LM_SWEEP_HESSIAN);
    ROUND_TRIP(lm_sweep_probe_parse, lm_sweep_probe_name, lm_sweep_probe, "ntk", LM_SWEEP_NTK);
    ROUND_TRIP(lm_sweep_probe_parse, lm_sweep_probe_name, lm_sweep_probe, "linearity", LM_SWEEP_LINEARITY);
    REFUSED(lm_sweep_probe_parse, lm_sweep_probe, "hook", "probe 'hook' is not hessian, ntk or linearity");
    REFUSED(lm_sweep_probe_parse, lm_sweep_probe, NULL, "probe '(none)' is not hessian, ntk or linearity");
    /* values out of the tables have no name */
    CHECK(!lm_eig_method_name((lm_eig_method)2) && !lm_ntk_method_name((lm_ntk_method)4) &&
          !lm_random_vectors_name((lm_random_vectors)-1) && !lm_block_kind_name((lm_block_kind)2) &&
          !lm_sweep_probe_name(LM_SWEEP_HOOK));
}

int main(void)
{
    widths();
    names();
    return check_summary();
}
