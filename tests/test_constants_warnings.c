/* lm_constants_warnings on constants set by hand: each of its four conditions at its edge
 * (a loss floor just above and below 1e-9 of the loss at zero, no targets, mu/L above and below
 * 1e-8, rates that print as 1 at 8 digits or not), its sentences and their order, and all four
 * at once (the count bound, which the sanitizer build checks for overflow). */
// ctest-labels: unit
#include <string.h>

#include "check.h"
#include "linmass/theory.h"

static lm_constants plain(void) /* well-conditioned: no warning */
{
    lm_constants k;
    memset(&k, 0, sizeof k);
    k.L = 1, k.mu = 0.1, k.sgd_rate = 0.9, k.mass_rate = 0.7;
    return k;
}

int main(void)
{
    char w[LM_MAX_WARNINGS][LM_WARNING_LEN];
    lm_constants k = plain();
    CHECK(lm_constants_warnings(&k, -1, 1, w) == 0);
    CHECK(lm_constants_warnings(&k, 1e-10, 1, w) == 0); /* below 1e-9 of the loss at zero */
    CHECK(lm_constants_warnings(&k, 2e-9, 1, w) == 1);
    CHECK(!strncmp(w[0], "no interpolation: the least-squares loss floor", 46));
    CHECK(strstr(w[0], " is 2e-09 (2e-09 of the loss at w = 0)") != NULL);

    k.mu = 1e-9; /* mu/L below 1e-8 */
    k.sgd_rate = 1 - 1e-10, k.mass_rate = 1 - 1e-5; /* SGD's prints as 1, MaSS's as 0.99999 */
    CHECK(lm_constants_warnings(&k, -1, 0, w) == 2);
    CHECK(!strcmp(w[0], "mu/L = 1e-09 is below 1e-8: the slowest directions of H converge 1e+09 times slower than "
                        "the fastest, and float32 training (rounding 6e-8) cannot resolve them"));
    CHECK(!strcmp(w[1], "the SGD rate 1 - 1/kappa_m = 1 - 1e-10 rounds to 1: the error shrinks by a factor e in "
                        "about 1e+10 steps"));
    k.mu = 1.1e-8, k.sgd_rate = 1 - 1e-8; /* prints as 0.99999999 */
    CHECK(lm_constants_warnings(&k, -1, 0, w) == 0);

    k.mu = 1e-17, k.sgd_rate = 1 - 1e-17, k.mass_rate = 1 - 1e-12; /* every condition at once */
    CHECK(lm_constants_warnings(&k, 0.5, 1, w) == 4);
    CHECK(!strncmp(w[0], "no interpolation", 16) && !strncmp(w[1], "mu/L = 1e-17", 12));
    CHECK(!strncmp(w[2], "the SGD rate", 12) && !strncmp(w[3], "the MaSS rate 1 - 1/sqrt(kappa_m kappa-tilde_m)", 47));
    return check_summary();
}
