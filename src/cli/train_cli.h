/* The training options, shared by every command that trains (train, demo, repro). */
#ifndef LM_CLI_TRAIN_CLI_H
#define LM_CLI_TRAIN_CLI_H

#include "cli/args.h"
#include "linmass/train.h"

/* the optimizer options, passed to lm_optim_config_set by name when given */
#define TRAIN_OPTIM_OPTS(X) \
    X(lr, "step size (mass: the authors' eta)") \
    X(momentum, "momentum (sgd, heavyball, nesterov)") \
    X(dampening, "dampening (sgd)") \
    X(nesterov, "1: Nesterov momentum (sgd)") \
    X(weight_decay, "L2 (coupled; decoupled for adamw)") \
    X(beta1, "Adam beta1") \
    X(beta2, "Adam beta2") \
    X(eps, "Adam epsilon") \
    X(eta1, "MaSS eta1 (with --eta2 --gamma)") \
    X(eta2, "MaSS eta2, the compensation step") \
    X(gamma, "MaSS momentum gamma") \
    X(alpha, "MaSS alpha (with --lr --kappa-tilde)") \
    X(kappa_tilde, "MaSS kappa-tilde")

typedef struct {
    const char *data, *model, *out, *param, *optim, *schedule;
    const char *optim_text[16];
    int batch, epochs, threads, json, resume, augment, no_normalize, log_every, restart, auto_hp;
    long steps_l;
    int steps;
    int ckpt_every, max_train, auto_samples;
    const char *reduce; /* mpirun: ordered or mpi (lm_dist_set_reduce) */
    const char *overlap; /* mpirun: on or off (lm_train_config.overlap) */
    int sync_bn;
    uint64_t seed;
    double val_fraction;
    cli_opt opts[48];
} train_cli_opts;

/* The help on --model: the spec syntax (lm_model_spec_help), presets and parameterizations. */
const char *cli_model_help(void);

void train_cli_init(cli_command *c, train_cli_opts *o, const char *command, const char *usage, const char *about);

/* Options -> configuration; reports a usage error (returns 2) on bad values. */
int train_cli_resolve(const cli_command *c, train_cli_opts *o, lm_train_config *tc);

/* Run, print progress, write plots, report.md and config.json; the exit code. */
int train_cli_run(const char *command, lm_train_config *tc, const char *options_json, int json);

#endif
