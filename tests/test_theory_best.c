// ctest-labels: unit theory
/* Best-tuned rates (lm_theory_tune, lm_theory_best_rate, docs/theory.md §2.3-2.4): the best is
 * never worse than the closed-form point (SGD 1/L_m, MaSS section 2.2), whose rho is reported as
 * lm_theory_rate gives it; rho(MaSS) <= rho(Nesterov) <= rho(SGD); every reported point has the
 * rho reported for it; the search does not depend on the number of threads; progress reports
 * count up to the evaluations made. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/rng.h"
#include "linmass/theory.h"

typedef struct {
    int calls, last_done, monotone;
} progress_log;

static void on_progress(void *ctx, const lm_theory_progress *p)
{
    progress_log *l = ctx;
    l->monotone &= p->done >= l->last_done && p->total >= p->done && p->elapsed >= 0;
    l->last_done = p->done, l->calls++;
}

static double rate(const lm_moments *mo, lm_theory_method method, lm_theory_hp hp, int m)
{
    double rho = NAN;
    CHECK_MSG(lm_theory_rate(mo, method, hp, m, &rho) == LM_OK, "%s", lm_error_message());
    return rho;
}

static void guarantee(const char *what, const lm_moments *mo, int m, int grid)
{
    lm_theory_best b[3];
    progress_log log = {0, 0, 1};
    lm_theory_search_opts o = {grid, 2, on_progress, &log};
    CHECK_MSG(lm_theory_tune(mo, m, &o, b) == LM_OK, "%s: %s", what, lm_error_message());
    lm_constants c;
    CHECK((mo->kind == LM_MOMENTS_DATA ? lm_linreg_constants(mo->X, mo->n, mo->d, m, &c) : lm_moments_constants(mo, m, &c)) ==
          LM_OK);
    printf("%s (m %d, grid %d): best rho SGD %.8f (closed form %.8f), Nesterov %.8f, MaSS %.8f (section 2.2 %.8f); "
           "%d evaluations\n", what, m, grid, b[0].rho, b[0].closed_rho, b[1].rho, b[2].rho, b[2].closed_rho,
           b[0].evaluations + b[1].evaluations + b[2].evaluations);
    CHECK(b[0].rho <= b[0].closed_rho && b[2].rho <= b[2].closed_rho);
    CHECK(b[2].rho <= b[1].rho && b[1].rho <= b[0].rho);
    CHECK(isnan(b[1].closed_rho) && b[1].beats_closed_form);
    CHECK(b[0].beats_closed_form == (b[0].rho < b[0].closed_rho));
    CHECK(b[2].beats_closed_form == (b[2].rho < b[2].closed_rho));
    /* the closed-form points are the section 2.2 ones, with the rho lm_theory_rate gives */
    CHECK(b[0].closed_hp.eta1 == c.sgd_lr);
    CHECK(b[2].closed_hp.eta1 == c.mass_eta1 && b[2].closed_hp.eta2 == c.mass_eta2 && b[2].closed_hp.gamma == c.mass_gamma);
    CHECK(b[0].closed_rho == rate(mo, LM_THEORY_SGD, b[0].closed_hp, m));
    CHECK(b[2].closed_rho == rate(mo, LM_THEORY_MASS, b[2].closed_hp, m));
    for (int i = 0; i < 3; i++) CHECK_CLOSE(rate(mo, (lm_theory_method)i, b[i].hp, m), b[i].rho, 1e-12);
    CHECK(b[0].hp.eta2 == 0 && b[0].hp.gamma == 0 && b[1].hp.eta2 == 0);
    CHECK(log.calls > 0 && log.monotone);
    CHECK(log.last_done == b[0].evaluations + b[1].evaluations + b[2].evaluations);
    /* one thread: the same search */
    lm_theory_best one;
    o = (lm_theory_search_opts){grid, 1, NULL, NULL};
    CHECK(lm_theory_best_rate(mo, LM_THEORY_MASS, m, &o, &one) == LM_OK);
    CHECK(one.rho <= one.closed_rho);
}

int main(void)
{
    double H[4] = {1, 0, 0, 0.01};
    lm_moments gauss = {.kind = LM_MOMENTS_GAUSSIAN, .d = 2, .H = H};
    guarantee("gaussian diag(1, 0.01)", &gauss, 1, 5);
    guarantee("gaussian diag(1, 0.01)", &gauss, 4, 6);
    double s2[2] = {1, 0.01};
    lm_moments dec = {.kind = LM_MOMENTS_DECOUPLED, .d = 2, .sigma2 = s2};
    guarantee("decoupled kappa_1 600", &dec, 1, 5);
    enum { N = 40, D = 3 };
    double X[N * D];
    for (int i = 0; i < N; i++)
        for (int j = 0; j < D; j++) X[i * D + j] = pow(10, -(double)j / 2) * lm_rand_normal(4, 1, (uint64_t)(i * D + j));
    lm_moments data = {.kind = LM_MOMENTS_DATA, .d = D, .X = X, .n = N};
    guarantee("data n 40 d 3", &data, 2, 5);

    /* SGD in 1-D on x ~ N(0, h): rho(eta) = 1 - 2 eta h + 3 eta^2 h^2 is smallest at eta = 1/(3h) = 1/L1,
     * the closed form itself, which tuning cannot beat */
    double h1[1] = {0.8};
    lm_moments one = {.kind = LM_MOMENTS_GAUSSIAN, .d = 1, .H = h1};
    lm_theory_best s1;
    CHECK(lm_theory_best_rate(&one, LM_THEORY_SGD, 1, NULL, &s1) == LM_OK);
    printf("1-D SGD: best rho %.15f at eta %.15f, closed form %.15f at 1/L1 = %.15f, beats %d\n", s1.rho, s1.hp.eta1,
           s1.closed_rho, 1 / (3 * h1[0]), s1.beats_closed_form);
    CHECK(!s1.beats_closed_form && s1.rho == s1.closed_rho && s1.hp.eta1 == s1.closed_hp.eta1);
    CHECK_CLOSE(s1.closed_rho, 1 - 1.0 / 3, 1e-14);
    CHECK_CLOSE(s1.hp.eta1, 1 / (3 * h1[0]), 1e-14);

    /* results do not depend on the thread count */
    lm_theory_best a, b;
    CHECK(lm_theory_best_rate(&dec, LM_THEORY_NESTEROV, 1, &(lm_theory_search_opts){6, 1, NULL, NULL}, &a) == LM_OK);
    CHECK(lm_theory_best_rate(&dec, LM_THEORY_NESTEROV, 1, &(lm_theory_search_opts){6, 3, NULL, NULL}, &b) == LM_OK);
    CHECK(a.rho == b.rho && a.hp.eta1 == b.hp.eta1 && a.hp.gamma == b.hp.gamma && a.evaluations == b.evaluations);
    CHECK(lm_theory_best_rate(&dec, LM_THEORY_SGD, 1, &(lm_theory_search_opts){4, 1, NULL, NULL}, &a) == LM_EINVAL);
    CHECK(lm_theory_default_grid(&dec) == 12);
    return check_summary();
}
