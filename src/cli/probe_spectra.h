/* The spectra options of linmass probe hessian (docs/theory.md §7.4-7.8): --density, --block,
 * --gauss-newton, --diagonal and the --widths sweep, parsed into the library's
 * lm_hessian_spectra_opts (linmass/probe.h), which computes, summarises and draws them. */
#ifndef LM_CLI_PROBE_SPECTRA_H
#define LM_CLI_PROBE_SPECTRA_H

#include "cli/probe_cli.h"
#include "linmass/probe.h"

typedef struct {
    lm_hessian_spectra_opts o;
    const char *block, *vectors, *widths_text;
    int *widths, nwidths; /* --widths, parsed */
} spectra_cli;

#define SPECTRA_OPTS(s)                                                                                                     \
    {"density", OPT_FLAG, &(s).o.density, NULL, "spectral density of the loss and model Hessians (stochastic Lanczos quadrature)", 0}, \
    {"probes", OPT_INT, &(s).o.slq.probes, "10", "--density: random probe vectors", 0},                                   \
    {"lanczos-steps", OPT_INT, &(s).o.slq.steps, "80", "--density: Lanczos steps per probe vector (fully reorthogonalised)", 0}, \
    {"vectors", OPT_STRING, &(s).vectors, "rademacher", "--density: probe vectors, rademacher or gaussian", 0},           \
    {"sigma", OPT_DOUBLE, &(s).o.sigma, "0", "--density: width of the Gaussian smoothing (0: 1% of the nodes' span)", 0}, \
    {"grid", OPT_INT, &(s).o.grid, "400", "--density: points of the smoothed density in the JSON and the plot", 0},     \
    {"block", OPT_STRING, &(s).block, NULL, "per-block spectra of both Hessians: layer or tensor (state_dict blocks)", 0}, \
    {"block-top", OPT_INT, &(s).o.block_top, "3", "--block: top eigenvalues per block (at most 32)", 0},                 \
    {"gauss-newton", OPT_FLAG, &(s).o.gauss_newton, NULL, "split the loss Hessian: Gauss-Newton J^T H_l J plus the residual part", 0}, \
    {"diagonal", OPT_FLAG, &(s).o.diagonal, NULL, "the loss Hessian's diagonal: exact up to 2000 parameters, else Hutchinson", 0}, \
    {"widths", OPT_STRING, &(s).widths_text, NULL, "a width sweep of --gauss-newton and --block: every W in --model is the width", 0}

/* After parsing: converts the options (--widths parsed) and checks those whose range here
 * differs from the library's (where 0 means its default); lm_hessian_job_opts_validate checks
 * the rest. 0 or the exit code. */
int spectra_check(const cli_command *c, spectra_cli *sp);

#endif
