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
#include "cli/probe_cli.h"
#include "cli/probe_spectra.h"
#include "cli/report_render.h"
#include "cli/train_cli.h"
#include "linmass/dist.h"
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
    lm_hessian_job_opts j;
    spectra_cli sp;
    const char *tmpl; /* --widths: the model template */
    char last[1024];  /* ... with the last width: the model set up, as the sweep ends */
} hessian_cli;

/* The flags of lm_hessian_job_opts' fields (cli_field_error). */
static const char *const hessian_fields[] = {
    "eig.max_steps", "steps", "eig.tol", "tol", "loss_top", "loss-top", "hutchinson", "hutchinson", "spectra.sigma", "sigma",
    "spectra.slq.probes", "probes", "spectra.slq.steps", "lanczos-steps", "spectra.grid", "grid", "spectra.block_top", "block-top",
    "spectra.density", "density", "spectra.diagonal", "diagonal", "n_widths", "widths", "widths", "widths", "model", "model", NULL};

static int hessian_args(hessian_cli *h, int argc, char **argv)
{
    memset(h, 0, sizeof *h);
    cli_opt own[] = {
        {"method", OPT_STRING, &h->method, "lanczos", "lanczos (with a convergence test) or power", 0},
        {"steps", OPT_INT, &h->j.eig.max_steps, "0", "most operator applications per eigenvalue run (0: 100 Lanczos, 300 power)", 0},
        {"tol", OPT_DOUBLE, &h->j.eig.tol, "0", "Lanczos: Ritz residual bound relative to the norm (0: 1e-10); power: relative change (0: run --steps)", 0},
        {"loss-top", OPT_INT, &h->j.loss_top, "5", "top eigenvalues of the loss Hessian (0: skip the loss Hessian; at most 32)", 0},
        {"hutchinson", OPT_INT, &h->j.hutchinson, "100", "Rademacher samples of the loss Hessian's Hutchinson trace (0: skip)", 0},
        {"max-memory", OPT_INT, &h->p.o.max_mem, "1024", "MB for a Lanczos basis (more: exit 1 naming the size)", 0},
        {"no-per-input", OPT_FLAG, &h->j.skip_per_input, NULL, "skip the per-input norms (one eigen-run per input): the averaged model's only", 0},
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
    if (!strcmp(h->method, "lanczos")) h->j.eig.method = LM_EIG_LANCZOS;
    else if (!strcmp(h->method, "power")) h->j.eig.method = LM_EIG_POWER;
    else return cli_usage_error(c, "--method: '%s' is not lanczos or power", h->method);
    if ((rc = spectra_check(c, &h->sp))) return rc;
    if (h->sp.widths && h->p.o.run) return cli_usage_error(c, "--widths builds its models from --model: drop --run");
    if (h->sp.widths && h->p.o.ckpt) return cli_usage_error(c, "--widths builds its models from --model: drop --checkpoint");
    h->j.spectra = h->sp.o, h->j.widths = h->sp.widths, h->j.n_widths = h->sp.nwidths;
    h->j.model = h->sp.widths ? h->p.o.model : NULL;
    lm_status st = lm_hessian_job_opts_validate(&h->j);
    if (st) return cli_field_error(c, st, hessian_fields);
    if (!h->sp.widths) return 0;
    h->tmpl = h->p.o.model; /* set up with the last width's model */
    st = lm_spec_with_width(h->tmpl, h->sp.widths[h->sp.nwidths - 1], h->last, sizeof h->last);
    h->p.o.model = h->last;
    return st ? cli_fail(c->command, st) : 0;
}

/* The job's options from the command line and what it resolved to. */
static void hessian_job_opts(hessian_cli *h, const setup *s)
{
    lm_hessian_job_opts *j = &h->j;
    j->model = h->tmpl ? h->tmpl : s->model;
    j->data = s->data;
    j->output = s->output;
    j->eig.seed = h->p.o.seed;
    j->eig.mem_cap = (size_t)h->p.o.max_mem * MB;
    j->spectra = h->sp.o;
    j->widths = h->sp.widths, j->n_widths = h->sp.nwidths;
    j->param = s->in.param;
    j->seed = h->p.o.seed;
    j->coll = lm_dist_collective();
    j->folder = h->p.o.out;
}

static int hessian_run(hessian_cli *h, const setup *s)
{
    if (h->tmpl) h->p.o.model = h->tmpl; /* config.json records the template */
    hessian_job_opts(h, s);
    lm_report *r = NULL;
    char *json = NULL;
    lm_status st = probe_report("probe hessian", &r);
    if (!st) st = h->tmpl ? lm_hessian_sweep_job(&s->in, &h->j, r, &json) : lm_hessian_job(&s->in, &h->j, r, &json);
    return probe_done(&h->p, s, h->tmpl ? "linmass probe hessian --widths" : "linmass probe hessian", r, st, json);
}

static int probe_hessian(int argc, char **argv)
{
    hessian_cli h;
    int rc = hessian_args(&h, argc, argv), help = rc == 1;
    if (!rc) {
        setup s;
        rc = setup_all(&h.p.c, &h.p.o, 0, &s, NULL);
        if (!rc) rc = hessian_run(&h, &s);
        setup_free(&s);
    }
    free(h.sp.widths);
    return help ? 0 : rc;
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
    int matfree, steps;
    lm_ntk_job_opts jo; /* the job's options from the flags; the output and the rest after the set-up */
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
    if (!strcmp(k->method, "auto")) k->jo.method = LM_NTK_AUTO;
    else if (!strcmp(k->method, "gram")) k->jo.method = LM_NTK_GRAM;
    else if (!strcmp(k->method, "per-sample")) k->jo.method = LM_NTK_PER_SAMPLE;
    else if (!strcmp(k->method, "layerwise")) k->jo.method = LM_NTK_LAYERWISE;
    else return cli_usage_error(&k->p.c, "--method: '%s' is not auto, gram, layerwise or per-sample", k->method);
    k->jo.block = !strcmp(k->p.o.output, "block");
    if (k->jo.block) k->p.o.output = "sum"; /* the set-up's check; the block kernel covers every output */
    k->jo.output = LM_OUTPUT_SUM; /* the set-up resolves it */
    k->jo.npy = k->save, k->jo.matrix_free = k->matfree, k->jo.steps = k->steps;
    lm_status st = lm_ntk_job_opts_validate(&k->jo);
    return st ? cli_field_error(&k->p.c, st, (const char *const[]){"steps", "steps", "npy", "save", NULL}) : 0;
}

static int probe_ntk(int argc, char **argv)
{
    ntk_cli k;
    int rc = ntk_args(&k, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    setup s;
    if (!(rc = setup_all(&k.p.c, &k.p.o, 0, &s, NULL)) && k.jo.method == LM_NTK_GRAM && !lm_ntk_gram_applies(s.in.model))
        rc = cli_usage_error(&k.p.c, "--method gram: '%s' has layers other than dense, flatten, activation and dropout (use layerwise)",
                             lm_model_spec(s.in.model));
    if (!rc) {
        if (k.jo.block) k.p.o.output = "block"; /* config.json records what was asked */
        lm_ntk_job_opts jo = k.jo;
        jo.output = s.output, jo.seed = k.p.o.seed, jo.mem_cap = (size_t)k.p.o.max_mem * MB;
        jo.coll = lm_dist_collective(), jo.folder = k.p.o.out;
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
