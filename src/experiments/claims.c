/* The table of claims (linmass/experiments.h), in the order of docs/theory.md: what each claims,
 * what the paper reports or the theory predicts, its cost and seeds per setting, and the
 * function that measures it. Quick times were measured on a loaded shared 2-core machine. */
#include <string.h>

#include "experiments/exp_internal.h"

static const lm_claim CLAIMS[] = {
    {"nesterov-diverges",
     "On Gaussian linear regression, SGD and MaSS converge at SGD's optimal step while SGD+Nesterov with gamma 0.9 diverges in expectation.",
     "Paper A (section 3, and docs/theory.md §2.4): with eta = 1/L1 on 2-D Gaussian data with H = diag(1, 1/kappa), Nesterov "
     "diverges in expectation for gamma >= about 0.65; at gamma = 0.9 the factor is 1.30 per step. SGD (rate 1 - 1/kappa_1) "
     "and MaSS converge.",
     {"about 1 s", "about 10 s"}, {0, 0}, NULL, exp_nesterov_diverges},
    {"nesterov-no-acceleration",
     "On component-decoupled data, best-tuned Nesterov SGD's speed-up over best-tuned SGD stays bounded (about 2x) as kappa grows, while MaSS's grows like sqrt(kappa).",
     "Paper A (and docs/theory.md §2.4, exact second-moment dynamics): speed-ups over the best SGD at kappa_1 = 600, 6667, 60000 "
     "are 1.50x, 1.78x, 1.91x for the best Nesterov and 3.89x, 13.85x, 44.0x for MaSS; Nesterov's gain stays about 2x, "
     "MaSS's grows like sqrt(kappa) (slope 0.5 on log-log).",
     {"about 2 s", "about 10 s (9 s of CPU measured: 9 values of kappa_1, grid 24)"}, {0, 0}, NULL,
     exp_nesterov_no_acceleration},
    {"mass-rate",
     "MaSS converges at least as fast as 1 - 1/sqrt(kappa_m kappa-tilde_m) per step, and SGD at least as fast as 1 - 1/kappa_m.",
     "Paper A's theorems (docs/theory.md §2.2): with the section 2.2 hyper-parameters E|w - w*|^2 contracts by at most "
     "1 - 1/sqrt(kappa_m kappa-tilde_m) per step for MaSS and 1 - 1/kappa_m for SGD at eta = 1/L_m; docs/theory.md adds that "
     "the exact decay is about twice as fast as MaSS's bound.",
     {"about 20 s", "about 2 minutes (97 s of CPU measured: 8 batch sizes on the population, 4 on the data, 400 simulated runs each)"},
     {0, 0}, NULL, exp_mass_rate},
    {"batch-regimes",
     "MaSS's speed per step grows linearly in m up to m1*, like sqrt(m) up to m2*, then saturates; SGD's grows linearly up to L1/L, then saturates.",
     "Paper A (docs/theory.md §2.2): three regimes for MaSS with m1* = min(L1/L, kappa-tilde), m2* = max(L1/L, kappa-tilde): "
     "linear scaling, diminishing returns (sqrt(m)), saturation at about 1/sqrt(kappa); SGD has two, linear up to about "
     "L1/L, then saturation at 1/kappa.",
     {"about 2 s", "a few seconds (2 s of CPU measured; 8 points per octave)"}, {0, 0}, NULL, exp_batch_regimes},
    {"mass-vs-baselines-fcn",
     "On the paper's FCN, MaSS ends training with a lower training loss than SGD, Nesterov SGD and Adam.",
     "Paper A (docs/theory.md §3): FCN on MNIST, batch 64, SGD/Nesterov/MaSS at the same learning rate, Nesterov gamma 0.9, "
     "Adam lr 0.001, MaSS alpha 0.05 and kappa-tilde 3; after 100 epochs the training loss is about 6e-5 for MaSS, 3e-4 "
     "for SGD and Nesterov, 1e-2 to 1e-3 (noisy) for Adam; the curves are close until about epoch 20.",
     {"about 30 s", "about 20 minutes of CPU (estimated: 12 runs of 100 epochs over 60000 images at about 75000 samples per "
                    "CPU-second, measured over the first 41 epochs of the first run)",
      "3.4 to 7.6 minutes, measured with the machine lightly and heavily loaded (paper's and tuned protocols, 40 "
                    "epochs over 10000 images, 3 seeds; a 4-rate grid per optimizer at 3 epochs)"},
     {3, 3, 3}, "runs/fcn-OPTIMIZER-seedS; medium also runs/fcn-tuned-OPTIMIZER-seedS and runs/fcn-grid-OPTIMIZER-lrLR",
     exp_fcn},
    {"mass-vs-baselines-cnn",
     "On the paper's CNN (with and without batch norm), MaSS ends with the lowest training loss, and a larger learning rate hurts Nesterov SGD but not MaSS.",
     "Paper A (docs/theory.md §3): CNN on CIFAR-10, 150 epochs, learning rate divided by 10 at epochs 60 and 120, eta in "
     "{0.01, 0.3}; Adam leads for about 20 epochs, then MaSS ends lowest; raising the learning rate hurts Nesterov but "
     "not MaSS.",
     {"about 35 s", "about 7 days (estimated: 14 runs of 150 epochs over 60000 images at about 220 samples/s on one thread); "
                    "never run here",
      "about 13 minutes on 2 idle cores (estimated: about 1500 CPU-seconds for at most 24 runs of 25 epochs over 768 "
      "images and a 16-run grid at 5 epochs, at 340 samples per CPU-second measured over the paper protocol's 12 runs); "
      "measured: 838 s for the whole setting (1143 CPU-seconds) on 2 cores shared with a test run"},
     {1, 1, 3}, "runs/NET-lrLR-OPTIMIZER-seedS (NET cnn or cnn_bn, LR 0.01 or 0.3); medium runs/cnn-OPTIMIZER-seedS, "
     "runs/cnn-tuned-OPTIMIZER-seedS and runs/cnn-grid-OPTIMIZER-lrLR", exp_cnn},
    {"kernel-regression",
     "On Gaussian-kernel regression, MaSS with hyper-parameters from the constants reaches a lower training loss than SGD, Nesterov SGD and Adam.",
     "Paper A (docs/theory.md §3): Gaussian-kernel regression (data set unverified, probably an MNIST subset), log MSE over 30 "
     "epochs with MaSS lowest throughout (about -4.05 against about -3.9 for the others). The theory (docs/theory.md §2.3) "
     "predicts each optimizer's loss at the run's hyper-parameters, and from which epoch on MaSS's is the lowest.",
     {"about 40 s", "about 10 minutes of CPU (532 s measured: 4 runs of 30 epochs with 10000 centres)"}, {1, 1},
     "runs/kernel-OPTIMIZER-seedS", exp_kernel_regression},
    {"resnet",
     "ResNet-32 trained with MaSS reaches a higher test accuracy than with SGD, Nesterov SGD or Adam.",
     "Paper A (docs/theory.md §3): ResNet-32 on CIFAR-10, 300 epochs, learning rate divided by 10 at epochs 150 and 225, eta "
     "in {0.1, 0.3}, flips and 10% shifts, weight decay 1e-4; about 92.8% test accuracy with MaSS, the best of the four.",
     {"about 35 s", "about 3 weeks (estimated: 7 runs of 300 epochs over 60000 images at about 60 samples/s for ResNet-32 on "
                    "one thread, from 99 samples/s measured for ResNet-20); never run here"},
     {1, 1}, "runs/resnet-lrLR-OPTIMIZER-seedS", exp_resnet},
    {"hessian-scaling",
     "The spectral norm of the model Hessian of a wide net with a linear output falls like 1/sqrt(width), for fully "
     "connected, convolutional and residual nets.",
     "Paper B (docs/theory.md §4.2, claim 1): \\|\\|H_f\\|\\| = O~(1/sqrt(m)) for fully connected, convolutional (m = channels) and "
     "residual nets with a linear output layer; the slope of log \\|\\|H\\|\\| against log m is about -0.5. An independent "
     "float64 check on tanh MLPs found -0.42 to -0.53 for 1-3 hidden layers, widths 64-2048.",
     {"about 30 s", "about 14 minutes, measured on a loaded shared machine (6 CPU-minutes; FC widths 64-2048, 8 inputs, 3 "
                    "models per width; CNN and ResNet 8-256 channels, 4 inputs)"},
     {2, 3}, NULL, exp_hessian_scaling},
    {"nonlinear-output",
     "With a non-linear output acting at order 1 (softplus) the model Hessian's norm does not decrease to 0 with width: it "
     "keeps the floor of the output's order-1 term.",
     "Paper B (docs/theory.md §4.2, claim 3): with f = phi(f~) the Hessian gains phi''(f~) grad f~ grad f~^T, whose norm "
     "phi''(f~) K~(x, x) is of order 1, so \\|\\|H_f\\|\\| does not decrease with width. The argument needs phi'' of "
     "order 1 where f~ lies: softplus (phi''(0) = 1/4) rather than tanh (tanh''(0) = 0).",
     {"about 10 s", "about 6 minutes, measured on a loaded shared machine (342 s, 2.5 CPU-minutes; FC widths 64-2048, 8 "
                   "inputs; CNN and ResNet 8-256 channels, 4 inputs; 3-4 models per width)"},
     {3, 4}, NULL, exp_nonlinear_output},
    {"bottleneck",
     "A width-1 layer in the middle of a wide net stops the model Hessian's norm from decreasing with width.",
     "Paper B (docs/theory.md §4.2, claim 4): a narrow layer (width 1) in the middle of a wide net stops \\|\\|H_f\\|\\| from "
     "decreasing (slope about 0).",
     {"about 15 s", "about 3 minutes, measured on a loaded shared machine (1 CPU-minute; FC widths 64-2048, CNN and ResNet "
                    "8-256 channels)"},
     {4, 6}, NULL, exp_bottleneck},
    {"kernel-drift",
     "After gradient descent to convergence, the relative change of the tangent kernel falls like 1/width with a linear "
     "output, and stays of order 0.1-1 with a tanh output.",
     "Paper B (docs/theory.md §4.2, claims 3 and 5): with a linear output \\|\\|K(w_T) - K(w0)\\|\\|_F / \\|\\|K(w0)\\|\\|_F falls "
     "with width, slope about -1 (own check: 0.084 -> 0.0011 for m = 64 -> 4096); with a non-linear output it stays of "
     "order 0.5-0.9.",
     {"about 40 s", "about 55 minutes, measured on a loaded shared machine (32 CPU-minutes; widths 64-4096, 3 "
                    "initializations, 1000 GD steps; width 4096 dominates)"},
     {2, 3}, NULL, exp_kernel_drift},
    {"plstar-rate",
     "Gradient descent on a wide net converges exponentially, each step's loss ratio staying under 1 - eta "
     "lambda_min(K_t).",
     "Paper B (docs/theory.md §5): under mu-PL* with eta <= 1/beta, L(w_{t+1}) <= (1 - eta mu) L(w_t), mu = lambda_min(K); "
     "wide nets satisfy PL* near initialization, with a linear or a non-linear output (claim 6: linearity is not needed).",
     {"about 30 s", "about 5 minutes, measured on a loaded shared machine (2 CPU-minutes; width 1024, 16 inputs, 2000 steps "
                    "with the kernel at every step)"},
     {1, 1}, NULL, exp_plstar_rate},
};
enum { N_CLAIMS = sizeof CLAIMS / sizeof *CLAIMS };

const char *lm_setting_name(lm_setting s)
{
    switch (s) {
    case LM_SETTING_QUICK: return "quick";
    case LM_SETTING_FULL: return "full";
    case LM_SETTING_MEDIUM: return "medium";
    case LM_SETTINGS: break;
    }
    return "unknown";
}

int lm_claim_count(void) { return N_CLAIMS; }

const lm_claim *lm_claim_at(int i) { return i >= 0 && i < N_CLAIMS ? &CLAIMS[i] : NULL; }

const lm_claim *lm_claim_find(const char *name)
{
    for (int i = 0; name && i < N_CLAIMS; i++)
        if (!strcmp(CLAIMS[i].name, name)) return &CLAIMS[i];
    return NULL;
}

lm_status lm_claim_run(const lm_claim *c, const lm_claim_opts *o, lm_report *r)
{
    if (!c || !o || !r) return lm_fail(LM_EINVAL, "claim: a claim, options and a report are needed");
    if (o->setting < 0 || o->setting >= LM_SETTINGS)
        return lm_fail(LM_EINVAL, "claim %s: setting %d is unknown", c->name, (int)o->setting);
    if (!c->time[o->setting]) return lm_fail(LM_EINVAL, "claim %s has no %s setting", c->name, lm_setting_name(o->setting));
    if (!o->dir || !*o->dir) return lm_fail(LM_EINVAL, "claim %s: no folder given", c->name);
    lm_status st = c->run(o, r);
    if (st) return st;
    EXP_TRY(lm_report_status(r));
    const char *reason;
    if (lm_report_get_verdict(r, &reason) == LM_VERDICT_NOT_TESTED && !*reason)
        return lm_fail(LM_EINVAL, "claim %s gave no verdict", c->name);
    return LM_OK;
}
