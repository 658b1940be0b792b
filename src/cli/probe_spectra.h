/* The spectra of linmass probe hessian (probe_spectra.c, docs/theory.md §7.4-7.8): the spectral
 * density of the loss and model Hessians by stochastic Lanczos quadrature (--density), per-layer
 * or per-tensor spectra (--block), the Gauss-Newton split of the loss Hessian (--gauss-newton), the
 * loss Hessian's diagonal (--diagonal), and a width sweep of the split and the block norms
 * (--widths). The library computes; this file parses, prints, plots and writes JSON. */
#ifndef LM_CLI_PROBE_SPECTRA_H
#define LM_CLI_PROBE_SPECTRA_H

#include <cjson/cJSON.h>

#include "cli/probe_cli.h"
#include "linmass/probe.h"

typedef struct {
    int density, gauss_newton, diagonal, probes, steps, grid, block_top;
    double sigma;
    const char *block, *vectors, *widths_text;
    lm_block_kind bk;
    lm_random_vectors rv;
    int *widths, nwidths; /* --widths, parsed */
} spectra_cli;

#define SPECTRA_OPTS(s)                                                                                                     \
    {"density", OPT_FLAG, &(s).density, NULL, "spectral density of the loss and model Hessians (stochastic Lanczos quadrature)", 0}, \
    {"probes", OPT_INT, &(s).probes, "10", "--density: random probe vectors", 0},                                         \
    {"lanczos-steps", OPT_INT, &(s).steps, "80", "--density: Lanczos steps per probe vector (fully reorthogonalised)", 0},  \
    {"vectors", OPT_STRING, &(s).vectors, "rademacher", "--density: probe vectors, rademacher or gaussian", 0},           \
    {"sigma", OPT_DOUBLE, &(s).sigma, "0", "--density: width of the Gaussian smoothing (0: 1% of the nodes' span)", 0},  \
    {"grid", OPT_INT, &(s).grid, "400", "--density: points of the smoothed density in the JSON and the plot", 0},       \
    {"block", OPT_STRING, &(s).block, NULL, "per-block spectra of both Hessians: layer or tensor (state_dict blocks)", 0}, \
    {"block-top", OPT_INT, &(s).block_top, "3", "--block: top eigenvalues per block (at most 32)", 0},                   \
    {"gauss-newton", OPT_FLAG, &(s).gauss_newton, NULL, "split the loss Hessian: Gauss-Newton J^T H_l J plus the residual part", 0}, \
    {"diagonal", OPT_FLAG, &(s).diagonal, NULL, "the loss Hessian's diagonal: exact up to 2000 parameters, else Hutchinson", 0}, \
    {"widths", OPT_STRING, &(s).widths_text, NULL, "a width sweep of --gauss-newton and --block: every W in --model is the width", 0}

enum { SPECTRA_NOPTS = 11 };

/* What the spectra work on: the model and inputs, the loss (targets NULL: no loss for this model
 * and data), and the probe's Lanczos and Hutchinson settings. */
typedef struct {
    const setup *s;
    lm_loss_kind kind;
    const double *targets;
    lm_eig_opts eig;
    int loss_top, hutchinson;
} spectra_ctx;

/* Index 0: the loss Hessian, 1: the model Hessian (of the averaged model). */
typedef struct {
    lm_density density[2];
    int have_density[2];
    double sigma[2], seconds_density[2];
    lm_block_spectrum *blocks[2];
    int nblocks[2];
    double block_sigma[2]; /* one smoothing width for every block: 1% of the span of all their nodes */
    double seconds_blocks;
    lm_gauss_newton_result gn;
    int have_gn;
    double seconds_gn;
    double *diag, *diag_se;
    lm_diag_result dr;
    int have_diag;
    double seconds_diag;
} spectra_run;

/* After parsing: checks and converts the options; 0 or the exit code. */
int spectra_check(const cli_command *c, spectra_cli *sp);
/* 1 when any spectrum was asked for. */
int spectra_wanted(const spectra_cli *sp);
/* --widths: the model spec for `width` (every W replaced) into buf; 0 or the exit code. */
int spectra_width_spec(const cli_command *c, const char *tmpl, int width, char *buf, size_t len);

/* The loss Hessian's options: Lanczos for the top eigenvalues, Hutchinson samples (-1: none). */
lm_loss_hessian_opts spectra_loss_opts(const spectra_ctx *x);
/* The spectra asked for, on every rank; 0 or the exit code. */
int spectra_compute(const cli_command *c, const spectra_cli *sp, const spectra_ctx *x, spectra_run *r);
void spectra_free(spectra_run *r);

/* The summary's lines, the JSON keys (density, model_density, blocks, model_blocks,
 * gauss_newton, residual_part, diagonal) and the plots (their file names into pngs, up to max;
 * returns how many). */
void spectra_text(sbuf *t, const spectra_cli *sp, const spectra_ctx *x, const spectra_run *r);
void spectra_json(cJSON *res, const spectra_cli *sp, const spectra_ctx *x, const spectra_run *r);
int spectra_plots(const char *out, const spectra_cli *sp, const spectra_run *r, sbuf *t, const char **pngs, int max);

/* --widths: the split and the block norms for the model at every width (o->model a template with
 * W; each model initialised from o->seed, in place of s->in.model); the table, log-log fits, plots and
 * the run folder (o->out). 0 or the exit code. */
int spectra_sweep(const cli_command *c, const common_opts *o, const spectra_cli *sp, setup *s, spectra_ctx *x);

#endif
