// ctest-labels: unit
/* The options' validators at their boundaries, each refusal's message starting with the field
 * at fault: lm_hessian_job_opts_validate (probe.h: eig, loss_top, hutchinson, the spectra, the
 * width sweep's rules), lm_ntk_job_opts_validate, lm_gd_job_opts_validate,
 * lm_sweep_opts_validate (the linearity fields only for the linearity probe), and
 * lm_theory_hp_validate (theory.h: the ranges of docs/theory.md §2.2's hyper-parameters, which
 * method takes which, nesterov's gamma, the two MaSS forms, step or eta1, none with the tuned
 * rates), lm_theory_search_opts_validate (grid 0 or >= 5, threads not negative) and
 * lm_theory_method_from_name (the three names, another refused). */
#include <math.h>
#include <string.h>

#include "check.h"
#include "linmass/probe.h"
#include "linmass/theory.h"

/* st is LM_OK (start NULL), or LM_EINVAL with a message that starts with start */
#define EXPECT(st, start) expect((st), (start), __LINE__)
static void expect(lm_status st, const char *start, int line)
{
    if (!start) CHECK_MSG(st == LM_OK, "line %d: refused: %s", line, lm_error_message());
    else CHECK_MSG(st == LM_EINVAL && !strncmp(lm_error_message(), start, strlen(start)), "line %d: status %d, '%s' (wanted '%s...')",
                   line, st, st ? lm_error_message() : "", start);
}

static void hessian(void)
{
    lm_hessian_job_opts o = {0};
    EXPECT(lm_hessian_job_opts_validate(&o), NULL); /* all defaults */
    o.eig.max_steps = -1;
    EXPECT(lm_hessian_job_opts_validate(&o), "eig.max_steps -1 ");
    o.eig.max_steps = 0, o.eig.tol = -1e-300;
    EXPECT(lm_hessian_job_opts_validate(&o), "eig.tol ");
    o.eig.tol = NAN;
    EXPECT(lm_hessian_job_opts_validate(&o), "eig.tol ");
    o.eig.tol = 0, o.eig.method = (lm_eig_method)2;
    EXPECT(lm_hessian_job_opts_validate(&o), "eig.method 2 ");
    o.eig.method = LM_EIG_POWER, o.loss_top = LM_EIG_MAX_TOP;
    EXPECT(lm_hessian_job_opts_validate(&o), NULL);
    o.loss_top = LM_EIG_MAX_TOP + 1;
    EXPECT(lm_hessian_job_opts_validate(&o), "loss_top 33 is not in 0..32");
    o.loss_top = -1;
    EXPECT(lm_hessian_job_opts_validate(&o), "loss_top -1 ");
    o.loss_top = 0, o.hutchinson = -1;
    EXPECT(lm_hessian_job_opts_validate(&o), "hutchinson -1 ");
    o.hutchinson = 0;

    lm_hessian_spectra_opts *sp = &o.spectra;
    sp->grid = 2, sp->block_top = LM_EIG_MAX_TOP, sp->sigma = 0;
    EXPECT(lm_hessian_job_opts_validate(&o), NULL);
    sp->grid = 1;
    EXPECT(lm_hessian_job_opts_validate(&o), "spectra.grid 1 ");
    sp->grid = 0, sp->block_top = LM_EIG_MAX_TOP + 1;
    EXPECT(lm_hessian_job_opts_validate(&o), "spectra.block_top 33 ");
    sp->block_top = 0, sp->sigma = -0.5;
    EXPECT(lm_hessian_job_opts_validate(&o), "spectra.sigma -0.5 ");
    sp->sigma = 0, sp->slq.probes = -1;
    EXPECT(lm_hessian_job_opts_validate(&o), "spectra.slq.probes -1 ");
    sp->slq.probes = 0, sp->slq.steps = -1;
    EXPECT(lm_hessian_job_opts_validate(&o), "spectra.slq.steps -1 ");
    sp->slq.steps = 0;

    /* the width sweep's rules, only with widths */
    int same[2] = {16, 16}, two[2] = {16, 32};
    o.widths = same, o.n_widths = 2, sp->gauss_newton = 1, o.model = "dense:W,tanh,dense:1";
    EXPECT(lm_hessian_job_opts_validate(&o), "n_widths 2: ");
    o.widths = two;
    EXPECT(lm_hessian_job_opts_validate(&o), NULL);
    sp->density = 1;
    EXPECT(lm_hessian_job_opts_validate(&o), "spectra.density: ");
    sp->density = 0, sp->diagonal = 1;
    EXPECT(lm_hessian_job_opts_validate(&o), "spectra.diagonal: ");
    sp->diagonal = 0, sp->gauss_newton = 0;
    EXPECT(lm_hessian_job_opts_validate(&o), "widths: nothing to sweep");
    sp->blocks = 1, o.model = "dense:8,tanh,dense:1";
    EXPECT(lm_hessian_job_opts_validate(&o), "model 'dense:8,tanh,dense:1' has no W");
    o.widths = NULL; /* no sweep: its rules do not apply */
    EXPECT(lm_hessian_job_opts_validate(&o), NULL);
}

static void ntk_gd(void)
{
    lm_ntk_job_opts k = {.output = LM_OUTPUT_SUM};
    EXPECT(lm_ntk_job_opts_validate(&k), NULL);
    k.steps = -1;
    EXPECT(lm_ntk_job_opts_validate(&k), "steps -1 ");
    k.steps = 0, k.block = 1, k.output = 0;
    EXPECT(lm_ntk_job_opts_validate(&k), "block with output 0");
    k.output = LM_OUTPUT_SUM;
    EXPECT(lm_ntk_job_opts_validate(&k), NULL);
    k.npy = "";
    EXPECT(lm_ntk_job_opts_validate(&k), "npy '': an empty file name");
    k.npy = "K.npy";
    EXPECT(lm_ntk_job_opts_validate(&k), NULL);
    k.matrix_free = 1;
    EXPECT(lm_ntk_job_opts_validate(&k), "npy 'K.npy': matrix-free");
    k.npy = NULL, k.method = (lm_ntk_method)4;
    EXPECT(lm_ntk_job_opts_validate(&k), "method 4 ");

    lm_gd_job_opts g = {.steps = 1};
    EXPECT(lm_gd_job_opts_validate(&g), NULL); /* lr 0: 1/lambda_max(K_0) */
    g.steps = 0;
    EXPECT(lm_gd_job_opts_validate(&g), "steps 0 must be at least 1");
    g.steps = 1, g.lr = -1e-300;
    EXPECT(lm_gd_job_opts_validate(&g), "lr ");
    g.lr = INFINITY;
    EXPECT(lm_gd_job_opts_validate(&g), "lr inf ");
    g.lr = 0.5, g.record_every = -1;
    EXPECT(lm_gd_job_opts_validate(&g), "record_every -1 ");
}

static void sweep(void)
{
    lm_sweep_opts o = {.seeds = 1, .probe = LM_SWEEP_HESSIAN};
    EXPECT(lm_sweep_opts_validate(&o), NULL); /* the linearity fields (steps 0) do not matter */
    o.seeds = 0;
    EXPECT(lm_sweep_opts_validate(&o), "seeds 0 must be at least 1");
    o.seeds = 1, o.hessian.eig.tol = -1;
    EXPECT(lm_sweep_opts_validate(&o), "hessian.eig.tol -1 ");
    o.probe = LM_SWEEP_NTK; /* the Hessian's tolerance does not matter */
    EXPECT(lm_sweep_opts_validate(&o), NULL);
    o.probe = LM_SWEEP_LINEARITY;
    EXPECT(lm_sweep_opts_validate(&o), "linearity.steps 0 must be at least 1");
    o.linearity.steps = 1;
    EXPECT(lm_sweep_opts_validate(&o), NULL);
    o.linearity.lr = -1;
    EXPECT(lm_sweep_opts_validate(&o), "linearity.lr -1 ");
    o.linearity.lr = 0, o.linearity.n_test = -1;
    EXPECT(lm_sweep_opts_validate(&o), "linearity.n_test -1 ");
    o.linearity.n_test = 0, o.value = LM_SWEEP_LIN_GAP;
    EXPECT(lm_sweep_opts_validate(&o), "linearity.n_test 0: the value gap needs held-out inputs");
    o.linearity.n_test = 1;
    EXPECT(lm_sweep_opts_validate(&o), NULL);
}

static lm_theory_hp_given none(void) { return (lm_theory_hp_given){NAN, NAN, NAN, NAN, NAN, NAN}; }

static void theory(void)
{
    lm_theory_hp_given g = none();
    for (int m = LM_THEORY_SGD; m <= LM_THEORY_MASS; m++) EXPECT(lm_theory_hp_validate(m, &g, 1), NULL);
    EXPECT(lm_theory_hp_validate(LM_THEORY_SGD, &g, 0), NULL);
    EXPECT(lm_theory_hp_validate(LM_THEORY_MASS, &g, 0), NULL);
    EXPECT(lm_theory_hp_validate(LM_THEORY_NESTEROV, &g, 0), "gamma: nesterov needs");
    EXPECT(lm_theory_hp_validate((lm_theory_method)3, &g, 0), "method 3 ");
    g.gamma = 0; /* [0, 1) */
    EXPECT(lm_theory_hp_validate(LM_THEORY_NESTEROV, &g, 0), NULL);
    g.gamma = 1;
    EXPECT(lm_theory_hp_validate(LM_THEORY_NESTEROV, &g, 0), "gamma 1 is not in [0, 1)");
    g.gamma = 0.5;
    EXPECT(lm_theory_hp_validate(LM_THEORY_SGD, &g, 0), "gamma 0.5 belongs to nesterov and mass, not sgd");
    EXPECT(lm_theory_hp_validate(LM_THEORY_MASS, &g, 1), "gamma 0.5: the tuned rates");
    g = none(), g.step = 0; /* (0, inf) */
    EXPECT(lm_theory_hp_validate(LM_THEORY_SGD, &g, 0), "step 0 is not in (0, inf)");
    g.step = 1e-300;
    EXPECT(lm_theory_hp_validate(LM_THEORY_SGD, &g, 0), NULL);
    g.step = INFINITY;
    EXPECT(lm_theory_hp_validate(LM_THEORY_SGD, &g, 0), "step inf ");
    g = none(), g.eta2 = 0; /* [0, inf), mass only */
    EXPECT(lm_theory_hp_validate(LM_THEORY_MASS, &g, 0), NULL);
    EXPECT(lm_theory_hp_validate(LM_THEORY_NESTEROV, &g, 0), "eta2 0 belongs to mass, not nesterov");
    g.eta2 = -1e-300;
    EXPECT(lm_theory_hp_validate(LM_THEORY_MASS, &g, 0), "eta2 ");
    g = none(), g.alpha = 0; /* (0, 1) */
    EXPECT(lm_theory_hp_validate(LM_THEORY_MASS, &g, 0), "alpha 0 is not in (0, 1)");
    g.alpha = 1;
    EXPECT(lm_theory_hp_validate(LM_THEORY_MASS, &g, 0), "alpha 1 ");
    g.alpha = 0.5;
    EXPECT(lm_theory_hp_validate(LM_THEORY_MASS, &g, 0), NULL);
    EXPECT(lm_theory_hp_validate(LM_THEORY_SGD, &g, 0), "alpha 0.5 belongs to mass, not sgd");
    g.gamma = 0.5; /* the authors' form with the two-sequence form */
    EXPECT(lm_theory_hp_validate(LM_THEORY_MASS, &g, 0), "alpha 0.5 and gamma 0.5 mix the MaSS forms");
    g = none(), g.kappa_tilde = 1; /* [1, inf) */
    EXPECT(lm_theory_hp_validate(LM_THEORY_MASS, &g, 0), NULL);
    g.step = 0.1; /* the step belongs to both forms */
    EXPECT(lm_theory_hp_validate(LM_THEORY_MASS, &g, 0), NULL);
    g.kappa_tilde = 0.999;
    EXPECT(lm_theory_hp_validate(LM_THEORY_MASS, &g, 0), "kappa_tilde 0.999 is not in [1, inf)");
    g.kappa_tilde = 2, g.eta2 = 0.1;
    EXPECT(lm_theory_hp_validate(LM_THEORY_MASS, &g, 0), "kappa_tilde 2 and eta2 0.1 mix");
    g = none(), g.eta1 = 0.1; /* the step by its two-sequence name: (0, inf), every method */
    EXPECT(lm_theory_hp_validate(LM_THEORY_SGD, &g, 0), NULL);
    EXPECT(lm_theory_hp_validate(LM_THEORY_MASS, &g, 1), "eta1 0.1: the tuned rates");
    g.step = 0.1;
    EXPECT(lm_theory_hp_validate(LM_THEORY_MASS, &g, 0), "step 0.1 and eta1 0.1 are the same step; give one");
    g.step = NAN, g.eta1 = 0;
    EXPECT(lm_theory_hp_validate(LM_THEORY_SGD, &g, 0), "eta1 0 is not in (0, inf)");
    g.eta1 = 0.1, g.alpha = 0.5; /* eta1 is the two-sequence form's */
    EXPECT(lm_theory_hp_validate(LM_THEORY_MASS, &g, 0), "alpha 0.5 and eta1 0.1 mix the MaSS forms");
    g.alpha = NAN, g.eta2 = 0.01, g.gamma = 0.5;
    EXPECT(lm_theory_hp_validate(LM_THEORY_MASS, &g, 0), NULL);
    lm_theory_search_opts so = {0};
    EXPECT(lm_theory_search_opts_validate(&so), NULL);
    so.grid = 4;
    EXPECT(lm_theory_search_opts_validate(&so), "grid 4 is not 0 or >= 5");
    so.grid = 5, so.threads = -1;
    EXPECT(lm_theory_search_opts_validate(&so), "threads -1 is negative");
    so.threads = 0;
    EXPECT(lm_theory_search_opts_validate(&so), NULL);
    static const char *const names[3] = {"sgd", "nesterov", "mass"};
    lm_theory_method m = LM_THEORY_MASS;
    for (int i = 0; i < 3; i++) CHECK(lm_theory_method_from_name(names[i], &m) == LM_OK && (int)m == i);
    EXPECT(lm_theory_method_from_name("Mass", &m), "optim: 'Mass' is not sgd, nesterov or mass");
    EXPECT(lm_theory_method_from_name(NULL, &m), "optim: ");
}

int main(void)
{
    hessian();
    ntk_gd();
    sweep();
    theory();
    return check_summary();
}
