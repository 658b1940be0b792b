// ctest-labels: unit theory
/* Population specs (lm_population_parse): good specs give the moments they name, with
 * variances logspace(0, -log10 cond, d); bad specs fail with LM_EINVAL and a message that names
 * the field and the value. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "linmass/theory.h"

static void good(void)
{
    lm_population p;
    CHECK(lm_population_parse("gaussian:cond=100,d=2", &p) == LM_OK);
    CHECK(p.mo.kind == LM_MOMENTS_GAUSSIAN && p.mo.d == 2 && p.mo.H == p.H);
    CHECK(p.H[0] == 1 && p.H[1] == 0 && p.H[2] == 0 && p.H[3] == 0.01);
    CHECK(!strcmp(p.label, "gaussian:cond=100,d=2"));
    lm_population_free(&p);

    CHECK(lm_population_parse("gaussian", &p) == LM_OK); /* defaults: cond 100, d 2 */
    CHECK(p.mo.d == 2 && p.cond == 100 && p.H[3] == 0.01);
    lm_population_free(&p);

    CHECK(lm_population_parse("decoupled:d=4,cond=1000", &p) == LM_OK);
    CHECK(p.mo.kind == LM_MOMENTS_DECOUPLED && p.mo.d == 4 && p.mo.sigma2 == p.sigma2 && !p.H);
    const double want[4] = {1, 0.1, 0.01, 0.001};
    for (int i = 0; i < 4; i++) CHECK_CLOSE(p.sigma2[i], want[i], 1e-15);
    CHECK(!strcmp(p.label, "decoupled:cond=1000,d=4"));
    lm_constants c; /* decoupled: L1 = 3 d max sigma^2, kappa-tilde = 3 d */
    CHECK(lm_moments_constants(&p.mo, 1, &c) == LM_OK);
    CHECK_CLOSE(c.L1, 12, 1e-12);
    CHECK_CLOSE(c.kappa_tilde, 12, 1e-12);
    CHECK_CLOSE(c.kappa, 1000, 1e-12);
    lm_population_free(&p);

    CHECK(lm_population_parse("gaussian:d=1,cond=5", &p) == LM_OK);
    CHECK(p.mo.d == 1 && p.H[0] == 1);
    lm_population_free(&p);
}

/* spec -> LM_EINVAL, the message holding both words */
static void bad(const char *spec, const char *field, const char *value)
{
    lm_population p;
    lm_status st = lm_population_parse(spec, &p);
    const char *msg = lm_error_message();
    printf("'%s': %s\n", spec, msg);
    CHECK_MSG(st == LM_EINVAL, "'%s' was accepted", spec);
    CHECK_MSG(strstr(msg, field) && strstr(msg, value), "'%s': the message '%s' does not name %s and %s", spec, msg,
              field, value);
    lm_population_free(&p);
}

int main(void)
{
    good();
    bad("foo:d=2", "kind", "foo:d=2");
    bad("gaussianx", "kind", "gaussianx");
    bad("gaussian:cond=0.5", "cond", "0.5");
    bad("decoupled:cond=nan", "cond", "nan");
    bad("gaussian:cond=1e400", "cond", "1e400");
    bad("gaussian:d=0", "d '", "0");
    bad("gaussian:d=x", "d '", "x");
    bad("gaussian:d=4001", "d '", "4001");
    bad("gaussian:d=3.5", "d '", "3.5");
    bad("gaussian:foo=1", "key", "foo");
    bad("gaussian:cond", "key=value", "cond");
    return check_summary();
}
