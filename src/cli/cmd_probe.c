/* linmass probe hessian|ntk (and the dispatch of linmass probe): the probes of
 * include/linmass/probe.h (docs/theory.md §4-5) on a model, random or from a
 * checkpoint, and data; each writes a run folder like training does: config.json, result.json,
 * plots/ (PNG) and report.md. linmass probe linearity|plstar: probe_gd.c.
 *
 * Under mpirun the probes run on every rank: each rank loads the same model and inputs, the
 * Hessian products and tangent kernels are split over the ranks (the probes' collective,
 * lm_dist_collective), every rank ends with the same numbers, and rank 0 alone prints and
 * writes. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/plot.h"
#include "cli/probe_cli.h"
#include "cli/probe_spectra.h"
#include "cli/train_cli.h"
#include "linmass/dist.h"
#include "linmass/io.h"
#include "linmass/probe.h"

/* ---- linmass probe hessian ---- */

static const char *const hessian_about =
    "The model Hessian H_f = d2f/dw2 (of the network output, not of the loss; docs/theory.md §4.1) in\n"
    "float64, by Lanczos with a convergence test (or power iteration), from exact Hessian-vector\n"
    "products (forward-over-reverse). Its spectral norm (largest |eigenvalue|: H_f is indefinite)\n"
    "three ways over the N inputs, each named in the output:\n"
    "  ||H(fbar)||          of the averaged model fbar = mean_i f(x_i)\n"
    "  max_i ||H(f(x_i))||  the worst single input\n"
    "  mean_i ||H(f(x_i))|| the typical single input (what the width sweeps fit)\n"
    "Also, for comparison with PyHessian, the top eigenvalues of the loss Hessian (Lanczos) and its\n"
    "Hutchinson trace (Rademacher probes) on the same inputs and their targets. The loss is\n"
    "linmass's: mean cross-entropy on classes (as torch's CrossEntropyLoss), or MSE\n"
    "(1/2n) sum_i ||f(x_i) - y_i||^2, which is K/2 times torch's MSELoss(reduction='mean') for K\n"
    "outputs: multiply PyHessian's MSE numbers by K/2 to compare. Several top eigenvalues come with\n"
    "their multiplicities (Lanczos with deflation and restarts) and a residual ||H y - theta y|| each.\n"
    "Beyond the norm (docs/theory.md §7.4-7.8): --density (the spectral density of the loss and model\n"
    "Hessians by stochastic Lanczos quadrature), --block layer|tensor (each block's top eigenvalues, trace\n"
    "and density), --gauss-newton (H = J^T H_l J + sum_i dl/dz_i H_f(x_i)), --diagonal, and --widths\n"
    "(a width sweep of the split and the block norms).";

typedef struct {
    probe_cli p;
    const char *method;
    int steps, loss_top, hutch, no_per_input;
    double tol;
    lm_eig_method em;
    spectra_cli sp;
    const char *tmpl;   /* --widths: the model template */
    char first[1024];   /* ... with the first width */
} hessian_cli;

/* The loss Hessian's part of the probe: skipped (why says why) when the loss is not defined for
 * this model and data. */
typedef struct {
    int want, have;
    lm_loss_kind kind;
    double *targets;
    char why[256];
    lm_loss_hessian_result r;
} loss_part;

static int hessian_args(hessian_cli *h, int argc, char **argv)
{
    memset(h, 0, sizeof *h);
    cli_opt own[] = {
        {"method", OPT_STRING, &h->method, "lanczos", "lanczos (with a convergence test) or power", 0},
        {"steps", OPT_INT, &h->steps, "0", "most operator applications per eigenvalue run (0: 100 Lanczos, 300 power)", 0},
        {"tol", OPT_DOUBLE, &h->tol, "0", "Lanczos: Ritz residual bound relative to the norm (0: 1e-10); power: relative change (0: run --steps)", 0},
        {"loss-top", OPT_INT, &h->loss_top, "5", "top eigenvalues of the loss Hessian (0: skip the loss Hessian; at most 32)", 0},
        {"hutchinson", OPT_INT, &h->hutch, "100", "Rademacher samples of the loss Hessian's Hutchinson trace (0: skip)", 0},
        {"max-memory", OPT_INT, &h->p.o.max_mem, "1024", "MB for a Lanczos basis (more: exit 1 naming the size)", 0},
        {"no-per-input", OPT_FLAG, &h->no_per_input, NULL, "skip the per-input norms (one eigen-run per input): the averaged model's only", 0},
        SPECTRA_OPTS(h->sp),
    };
    snprintf(h->p.epilog, sizeof h->p.epilog,
             "examples:\n"
             "  linmass probe hessian --inputs 16\n"
             "  linmass probe hessian --model dense:1024,tanh,dense:1024,tanh,dense:1 --method power --steps 300\n"
             "  linmass probe hessian --run runs/train --inputs 32 --output 3   (a trained fcn, output 3)\n"
             "  linmass probe hessian --run runs/train --inputs 1000 --density --block layer --gauss-newton\n"
             "  linmass probe hessian --model dense:W,tanh,dense:W,tanh,dense:1 --widths 64,256,1024 --gauss-newton --block layer\n\n"
             "%s\n%s", probe_exit_help, cli_model_help());
    const char *usage = "linmass probe hessian [--model SPEC] [--param ntk|standard] [--checkpoint FILE | --run DIR]\n"
                        "                            [--data SRC] [--inputs N] [--method lanczos|power] [--steps S] [--tol T]\n"
                        "                            [--output k|sum] [--no-per-input] [--loss-top K] [--hutchinson S] [--density]\n"
                        "                            [--block layer|tensor] [--gauss-newton] [--diagonal] [--widths W1,W2,...] [--seed N]\n"
                        "                            [--json] [--out DIR]";
    int rc = parse_probe(&h->p, "probe hessian", usage, hessian_about, "16", "runs/probe-hessian", own,
                         (int)(sizeof own / sizeof *own), argc, argv);
    if (rc) return rc;
    cli_command *c = &h->p.c;
    if (!strcmp(h->method, "lanczos")) h->em = LM_EIG_LANCZOS;
    else if (!strcmp(h->method, "power")) h->em = LM_EIG_POWER;
    else return cli_usage_error(c, "--method: '%s' is not lanczos or power", h->method);
    if (h->steps < 0) return cli_usage_error(c, "--steps %d must not be negative", h->steps);
    if (h->tol < 0) return cli_usage_error(c, "--tol %g must not be negative", h->tol);
    if (h->loss_top < 0 || h->loss_top > LM_EIG_MAX_TOP)
        return cli_usage_error(c, "--loss-top %d must be in 0..%d", h->loss_top, LM_EIG_MAX_TOP);
    if (h->hutch < 0) return cli_usage_error(c, "--hutchinson %d must not be negative", h->hutch);
    if ((rc = spectra_check(c, &h->sp))) return rc;
    if (h->sp.widths && h->p.o.run) return cli_usage_error(c, "--widths builds its models from --model: drop --run");
    if (h->sp.widths && h->p.o.ckpt) return cli_usage_error(c, "--widths builds its models from --model: drop --checkpoint");
    if (h->sp.widths) { /* set up with the first width's model */
        h->tmpl = h->p.o.model;
        if ((rc = spectra_width_spec(c, h->tmpl, h->sp.widths[0], h->first, sizeof h->first))) return rc;
        h->p.o.model = h->first;
    }
    return 0;
}

static lm_eig_opts hessian_eig(const hessian_cli *h)
{
    lm_eig_opts e = {0};
    e.method = h->em;
    e.max_steps = h->steps;
    e.tol = h->tol;
    e.seed = h->p.o.seed;
    e.mem_cap = (size_t)h->p.o.max_mem * MB;
    return e;
}

/* The model Hessian's norms, on every rank (per: n per-input norms); 0 or the exit code. */
static int hessian_model(const hessian_cli *h, const setup *s, double *per, lm_hessian_result *hr)
{
    lm_hessian_opts ho = {0};
    ho.coll = lm_dist_collective();
    ho.net.output = s->output;
    ho.eig = hessian_eig(h);
    ho.skip_per_input = h->no_per_input;
    hr->per_input = per;
    if (lm_dist_rank() == 0) fprintf(stderr, "probe hessian: %d inputs, %zu parameters ...\n", s->in.n, lm_model_num_params(s->in.model));
    lm_status st = per ? LM_OK : lm_fail(LM_ENOMEM, "out of memory");
    if (ho.coll) st = lm_dist_agree(st);
    if (!st) st = lm_probe_model_hessian(s->in.model, s->in.x, s->in.n, &ho, hr);
    return st ? probe_fail(&h->p.c, st) : 0;
}

/* The loss and its targets, when the loss is defined for this model and data (L->why says why not);
 * 0 or the exit code. */
static int loss_prepare(const hessian_cli *h, const setup *s, loss_part *L)
{
    const lm_dataset *d = s->in.train;
    L->want = h->loss_top > 0 || h->hutch > 0;
    L->kind = lm_run_loss(s->model, d->classes);
    if (!L->want && !spectra_wanted(&h->sp)) return 0;
    int need = d->classes ? d->classes : d->target_dim;
    if (s->in.outputs != need) {
        snprintf(L->why, sizeof L->why, "the model has %d output%s but %s needs %d (%s)", s->in.outputs,
                 s->in.outputs == 1 ? "" : "s", s->data,
                 need, d->classes ? "one per class" : "one per target value");
        if (lm_dist_rank() == 0) fprintf(stderr, "note: no loss Hessian: %s\n", L->why);
        return 0;
    }
    L->targets = malloc((size_t)s->in.n * (L->kind == LM_LOSS_XENT ? 1 : s->in.outputs) * sizeof *L->targets);
    lm_status st = L->targets ? lm_run_targets(d, L->kind, s->in.n, s->in.outputs, L->targets) : lm_fail(LM_ENOMEM, "out of memory");
    return st ? probe_fail(&h->p.c, st) : 0;
}

/* The loss Hessian, when the loss is defined; 0 or the exit code. */
static int hessian_loss(const hessian_cli *h, const spectra_ctx *x, loss_part *L)
{
    if (!L->want || !L->targets || L->have) return 0;
    lm_loss_hessian_opts lo = spectra_loss_opts(x);
    lm_status st = lm_probe_loss_hessian(x->s->in.model, x->s->in.x, x->s->in.n, &lo, &L->r);
    if (st) return probe_fail(&h->p.c, st);
    L->have = 1;
    return 0;
}

static void hessian_text(sbuf *t, const hessian_cli *h, const setup *s, const lm_hessian_result *hr, const loss_part *L,
                         double t_model)
{
    char oname[64], rn[64];
    describe_setup(t, s);
    sb_printf(t, "model Hessian H_f = d2f/dw2 of %s, float64, %s%s; ||.|| = spectral norm (largest |eigenvalue|)\n",
              output_name(s, oname, sizeof oname), h->em == LM_EIG_LANCZOS ? "Lanczos" : "power iteration",
              hr->unconverged ? "" : " (every run converged)");
    sb_printf(t, "  ||H(fbar)||, fbar = mean_i f(x_i) (averaged model)   %-12.6g eigenvalue %.6g, %d products%s\n", hr->avg_norm,
              hr->avg.extreme, hr->avg.steps, hr->avg.converged ? "" : ", NOT converged");
    if (h->no_per_input) {
        sb_printf(t, "  per-input norms skipped (--no-per-input)\n");
    } else {
        sb_printf(t, "  max_i ||H(f(x_i))|| (worst single input)            %-12.6g input %d\n", hr->max_norm, hr->argmax);
        sb_printf(t, "  mean_i ||H(f(x_i))|| (typical single input)         %-12.6g over %d inputs\n", hr->mean_norm, s->in.n);
    }
    sb_printf(t, "  %d Hessian-vector products, %.2f s%s%s\n", hr->steps, t_model, ranks_note(rn, sizeof rn),
              hr->unconverged ? "; some runs stopped at --steps without converging (raise --steps)" : "");
    if (!L->have) return;
    const lm_loss_hessian_result *lr = &L->r;
    sb_printf(t, "loss Hessian (%s; PyHessian's object), loss %.6g\n",
              L->kind == LM_LOSS_XENT ? "mean cross-entropy" : "MSE (1/2n) sum ||f(x_i) - y_i||^2", lr->loss);
    if (h->loss_top > 0) {
        sb_printf(t, "  top %d eigenvalues (Lanczos%s%s), each with its residual ||H y - theta y||:\n   ", lr->eig.ntop,
                  lr->eig.ntop > 1 ? " with deflation, repeated values as often as they occur" : "",
                  lr->eig.converged ? "" : "; NOT converged: raise --steps");
        for (int i = 0; i < lr->eig.ntop; i++) sb_printf(t, " %.6g (%.1e)", lr->eig.top[i], lr->eig.top_residual[i]);
        sb_printf(t, "\n");
    }
    if (h->hutch > 0)
        sb_printf(t, "  Hutchinson trace %.6g +- %.2g (standard error, %d Rademacher samples)\n", lr->trace, lr->trace_se, lr->samples);
}

static void loss_json(cJSON *res, const hessian_cli *h, const loss_part *L)
{
    if (!L->have) {
        cJSON_AddNullToObject(res, "loss_hessian");
        if (L->want) cJSON_AddStringToObject(res, "loss_hessian_skipped", L->why);
        return;
    }
    cJSON *l = cJSON_AddObjectToObject(res, "loss_hessian");
    cJSON_AddStringToObject(l, "loss", L->kind == LM_LOSS_XENT ? "xent_mean" : "mse_half_mean");
    cJSON_AddNumberToObject(l, "value", L->r.loss);
    if (h->loss_top > 0) {
        cJSON_AddItemToObject(l, "top", number_array(L->r.eig.top, L->r.eig.ntop));
        cJSON_AddItemToObject(l, "top_residual", number_array(L->r.eig.top_residual, L->r.eig.ntop));
        cJSON_AddBoolToObject(l, "converged", L->r.eig.converged);
    }
    if (h->hutch > 0) {
        cJSON_AddNumberToObject(l, "trace", L->r.trace);
        cJSON_AddNumberToObject(l, "trace_se", L->r.trace_se);
        cJSON_AddNumberToObject(l, "samples", L->r.samples);
    }
}

static cJSON *hessian_json(const hessian_cli *h, const setup *s, const lm_hessian_result *hr, const loss_part *L)
{
    cJSON *res = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "probe", "hessian");
    add_common_json(res, s, h->p.o.out);
    cJSON_AddStringToObject(res, "method", h->em == LM_EIG_LANCZOS ? "lanczos" : "power");
    add_json(res, NULL, lm_hessian_result_json(hr, h->no_per_input ? 0 : s->in.n));
    cJSON_AddStringToObject(res, "definitions",
                            "avg_norm: ||d2 fbar/dw2||, fbar = mean_i f(x_i); max_norm, mean_norm: max_i and mean_i of ||d2 f(x_i)/dw2||; "
                            "norm = largest |eigenvalue|");
    loss_json(res, h, L);
    return res;
}

/* The per-input norms with the mean and the averaged model's; 1 when the PNG was written. */
static int hessian_plot(const char *out, const setup *s, const lm_hessian_result *hr, sbuf *t)
{
    char png[1200];
    snprintf(png, sizeof png, "%s/plots/hessian_per_input.png", out);
    double *idx = malloc(s->in.n * sizeof *idx);
    for (int i = 0; idx && i < s->in.n; i++) idx[i] = i;
    double hx[2] = {0, s->in.n > 1 ? s->in.n - 1 : 1}, hm[2] = {hr->mean_norm, hr->mean_norm}, ha[2] = {hr->avg_norm, hr->avg_norm};
    plot_series ps[3] = {{"||H(f(x_i))|| per input", idx ? s->in.n : 0, idx, hr->per_input},
                         {"mean over inputs", 2, hx, hm},
                         {"||H(fbar)||, averaged model", 2, hx, ha}};
    plot_axes pa = {"Model Hessian spectral norm per input", "input i", "spectral norm", 0, 0};
    int plotted = plot_lines(png, &pa, ps, 3);
    if (plotted) sb_printf(t, "plot: %s\n", png);
    free(idx);
    return plotted;
}

static int hessian_report(const hessian_cli *h, const spectra_ctx *x, const lm_hessian_result *hr, const loss_part *L,
                          const spectra_run *sr, double t0, double t_model)
{
    const setup *s = x->s;
    sbuf t = {0};
    hessian_text(&t, h, s, hr, L, t_model);
    spectra_text(&t, &h->sp, x, sr);
    cJSON *res = hessian_json(h, s, hr, L);
    spectra_json(res, &h->sp, x, sr);
    cJSON_AddNumberToObject(res, "seconds", cli_now() - t0);
    const char *pngs[8] = {NULL};
    pngs[0] = !h->no_per_input && hessian_plot(h->p.o.out, s, hr, &t) ? "hessian_per_input.png" : NULL;
    int npng = 1 + spectra_plots(h->p.o.out, &h->sp, sr, &t, pngs + 1, 7);
    sb_printf(&t, "run folder: %s\n", h->p.o.out);
    int rc = write_run(&h->p.c, h->p.o.out, s, res, "linmass probe hessian", &t, pngs, npng);
    if (!rc) emit(h->p.o.json, &t, res);
    cJSON_Delete(res);
    free(t.s);
    return rc;
}

static int probe_hessian(int argc, char **argv)
{
    hessian_cli h;
    int rc = hessian_args(&h, argc, argv);
    if (rc) {
        free(h.sp.widths);
        return rc == 1 ? 0 : rc;
    }
    setup s;
    if ((rc = setup_all(&h.p.c, &h.p.o, 0, &s, NULL))) {
        setup_free(&s);
        free(h.sp.widths);
        return rc;
    }
    if (h.tmpl) h.p.o.model = h.tmpl; /* config.json records the template */
    lm_hessian_result hr = {0};
    loss_part L = {0};
    spectra_run sr = {0};
    spectra_ctx x = {&s, 0, NULL, hessian_eig(&h), h.loss_top, h.hutch};
    double *per = NULL, t0 = cli_now(), t_model = 0;
    rc = loss_prepare(&h, &s, &L);
    x.kind = L.kind, x.targets = L.targets;
    if (!rc && h.sp.widths) {
        rc = spectra_sweep(&h.p.c, &h.p.o, &h.sp, &s, &x);
    } else if (!rc) {
        per = calloc(s.in.n, sizeof *per);
        rc = hessian_model(&h, &s, per, &hr);
        t_model = cli_now() - t0;
        if (!rc) rc = spectra_compute(&h.p.c, &h.sp, &x, &sr);
        if (!rc && sr.have_gn) L.r = sr.gn.loss, L.have = 1; /* the split computed the loss Hessian */
        if (!rc) rc = hessian_loss(&h, &x, &L);
        if (!rc && lm_dist_rank() == 0) rc = hessian_report(&h, &x, &hr, &L, &sr, t0, t_model); /* every rank has the numbers */
    }
    spectra_free(&sr);
    free(per), free(L.targets), free(h.sp.widths);
    setup_free(&s);
    return rc;
}

/* ---- linmass probe ntk ---- */

static const char *const ntk_about =
    "The empirical tangent kernel K = J J^T on N inputs (docs/theory.md §4.1), in float64: K_ij =\n"
    "<grad_w f(x_i), grad_w f(x_j)> for the chosen output, or, with --output sum, sum_k J_k J_k^T (the\n"
    "trace over the output axis, neural-tangents' trace_axes=(-1,)), or with --output block the NK x NK\n"
    "block kernel K[iK+k][jK+l] = <grad f_k(x_i), grad f_l(x_j)> (docs/theory.md §7.9).\n"
    "Dense networks use the layer-wise Gram identity (sum over layers of (A A^T) o (D D^T) + D D^T:\n"
    "memory O(N^2 + N width), never the N x p Jacobian); other layers (conv, residual, batch norm) use\n"
    "per-sample gradients in blocks that fit --max-memory (layerwise: only those layers' gradients, with\n"
    "the dense layers' Gram identity terms). Prints lambda_min (the PL* constant of\n"
    "docs/theory.md §5), lambda_max, the condition number and the trace, by a symmetric\n"
    "eigen-decomposition (LAPACK dsyevd); --save writes K as a .npy file (numpy.load reads it).\n"
    "The catapult step 2/lambda_max is that of the kernel gradient descent sees: one output's kernel\n"
    "for --output k, and for several outputs summed the block kernel (multi-output square loss), whose\n"
    "lambda_max comes from Lanczos on K v = J (J^T v) without forming it.\n"
    "--matrix-free: lambda_max, lambda_min and the trace without forming K (Lanczos on K v = J (J^T v),\n"
    "one backward and one tangent forward pass over the inputs per product; the trace from per-sample\n"
    "gradient norms): N up to 10^5 inputs within --max-memory.";

typedef struct {
    probe_cli p;
    const char *method, *save;
    lm_ntk_method nm;
    int block, matfree, steps;
} ntk_cli;

static int ntk_args(ntk_cli *k, int argc, char **argv)
{
    memset(k, 0, sizeof *k);
    cli_opt own[] = {
        {"method", OPT_STRING, &k->method, "auto", "auto (Gram identity when every layer allows it, else layerwise), gram, layerwise or per-sample", 0},
        {"save", OPT_STRING, &k->save, NULL, "also write the N x N kernel to this .npy file (float64)", 0},
        {"max-memory", OPT_INT, &k->p.o.max_mem, "1024", "MB for the kernel and its scratch (more: exit 1 naming the size)", 0},
        {"matrix-free", OPT_FLAG, &k->matfree, NULL, "lambda_max, lambda_min and the trace without forming K (Lanczos on J (J^T v))", 0},
        {"steps", OPT_INT, &k->steps, "0", "Lanczos steps of the matrix-free runs (0: 100)", 0},
    };
    snprintf(k->p.epilog, sizeof k->p.epilog,
             "--output also takes 'block': the NK x NK block kernel of every output.\n"
             "examples:\n"
             "  linmass probe ntk --inputs 256 --save K.npy\n"
             "  linmass probe ntk --data fashion-mnist --model dense:1024,relu,dense:1024,relu,dense:10 --output sum\n"
             "  linmass probe ntk --data fashion-mnist --model fcn --inputs 64 --output block\n"
             "  linmass probe ntk --data fashion-mnist --model fcn --inputs 100000 --output 0 --matrix-free --max-memory 512\n"
             "  linmass probe ntk --data fashion-mnist --model conv:32x3,relu,gap,dense:10 --param standard --inputs 64\n\n%s\n%s",
             probe_exit_help, cli_model_help());
    const char *usage = "linmass probe ntk [--model SPEC] [--param ntk|standard] [--checkpoint FILE | --run DIR] [--data SRC]\n"
                        "                        [--inputs N] [--output k|sum|block] [--method auto|gram|layerwise|per-sample] [--save FILE.npy]\n"
                        "                        [--matrix-free [--steps S]] [--max-memory MB] [--json] [--out DIR]";
    int rc = parse_probe(&k->p, "probe ntk", usage, ntk_about, "128", "runs/probe-ntk", own, (int)(sizeof own / sizeof *own),
                         argc, argv);
    if (rc) return rc;
    if (!strcmp(k->method, "auto")) k->nm = LM_NTK_AUTO;
    else if (!strcmp(k->method, "gram")) k->nm = LM_NTK_GRAM;
    else if (!strcmp(k->method, "per-sample")) k->nm = LM_NTK_PER_SAMPLE;
    else if (!strcmp(k->method, "layerwise")) k->nm = LM_NTK_LAYERWISE;
    else return cli_usage_error(&k->p.c, "--method: '%s' is not auto, gram, layerwise or per-sample", k->method);
    if (k->save && !*k->save) return cli_usage_error(&k->p.c, "--save needs a file name");
    if (k->save && k->matfree) return cli_usage_error(&k->p.c, "--matrix-free forms no kernel to --save");
    if (k->steps < 0) return cli_usage_error(&k->p.c, "--steps %d must not be negative", k->steps);
    k->block = !strcmp(k->p.o.output, "block");
    if (k->block) k->p.o.output = "sum"; /* the set-up's check; the block kernel covers every output */
    return 0;
}

static int probe_ntk(int argc, char **argv)
{
    ntk_cli k;
    int rc = ntk_args(&k, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    setup s;
    if (!(rc = setup_all(&k.p.c, &k.p.o, 0, &s, NULL)) && k.nm == LM_NTK_GRAM && !lm_ntk_gram_applies(s.in.model))
        rc = cli_usage_error(&k.p.c, "--method gram: '%s' has layers other than dense, flatten, activation and dropout (use layerwise)",
                             lm_model_spec(s.in.model));
    if (!rc) {
        if (k.block) k.p.o.output = "block"; /* config.json records what was asked */
        lm_ntk_job_opts jo = {s.output, k.block, k.nm, k.matfree, k.steps, k.p.o.seed, (size_t)k.p.o.max_mem * MB,
                              lm_dist_collective(), k.save, k.p.o.out};
        lm_report *r = NULL;
        char *json = NULL;
        lm_status st = probe_report("probe ntk", &r);
        if (!st) st = lm_probe_ntk_job(&s.in, &jo, r, &json);
        rc = probe_done(&k.p, &s, "linmass probe ntk", r, st, json);
    }
    setup_free(&s);
    return rc;
}

/* ---- linmass probe ---- */

int cmd_probe(int argc, char **argv)
{
    static const char *const overview =
        "usage: linmass probe hessian|ntk|linearity|plstar [options]   ('linmass probe NAME --help': every option)\n\n"
        "Probes of a model, random or trained (--checkpoint FILE with --model, or --run DIR), on N inputs\n"
        "of a data set, in float64 (docs/theory.md §4-5). Each writes a run folder (--out):\n"
        "config.json, result.json, plots/*.png and report.md.\n\n"
        "  hessian    spectral norm of the model Hessian d2f/dw2 (averaged model, max and mean over\n"
        "             inputs), the loss Hessian's top eigenvalues and Hutchinson trace (as PyHessian)\n"
        "  ntk        the empirical tangent kernel J J^T: lambda_min, lambda_max, condition, trace; --save K.npy\n"
        "  linearity  full-batch GD: weight distance, kernel change, |f - f_lin|, lambda_min, PL ratio,\n"
        "             loss ratio against 1 - lr lambda_min; warns in the catapult regime\n"
        "  plstar     the same run, reported for PL*: lambda_min(K_t), ||grad L||^2/(2L), L_0 (1 - lr mu)^t\n\n"
        "Width sweeps of these probes: linmass sweep width --help.\n";
    if (argc < 1) {
        if (lm_dist_rank() == 0)
            fprintf(stderr, "linmass probe: name a probe: hessian, ntk, linearity or plstar (see linmass probe --help)\n");
        return 2;
    }
    if (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h") || !strcmp(argv[0], "help")) {
        if (lm_dist_rank() == 0) fputs(overview, stdout);
        return 0;
    }
    if (!strcmp(argv[0], "hessian")) return probe_hessian(argc - 1, argv + 1);
    if (!strcmp(argv[0], "ntk")) return probe_ntk(argc - 1, argv + 1);
    if (!strcmp(argv[0], "linearity")) return probe_gd(argc - 1, argv + 1, 0);
    if (!strcmp(argv[0], "plstar")) return probe_gd(argc - 1, argv + 1, 1);
    if (lm_dist_rank() == 0)
        fprintf(stderr, "linmass probe: unknown probe '%s': hessian, ntk, linearity or plstar (see linmass probe --help)\n", argv[0]);
    return 2;
}
