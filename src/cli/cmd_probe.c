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
#include "linmass/dist.h"
#include "linmass/probe.h"

/* ---- linmass probe hessian ---- */

typedef struct {
    probe_cli p;
    const char *method;
    lm_hessian_job_opts j;
    spectra_cli sp;
    const char *tmpl; /* --widths: the model template */
    char last[1024];  /* ... with the last width: the model set up, as the sweep ends */
} hessian_cli;

/* The flags of lm_hessian_job_opts' fields not named after them (cli_field_error). */
static const char *const hessian_fields[] = {"eig.max_steps", "steps", "spectra.slq.steps", "lanczos-steps", "n_widths", "widths", NULL};

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
    int rc = parse_probe(&h->p, "probe hessian", "16", "runs/probe-hessian", own, (int)(sizeof own / sizeof *own), argc, argv);
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
    int rc = parse_probe(&k->p, "probe ntk", "128", "runs/probe-ntk", own, (int)(sizeof own / sizeof *own), argc, argv);
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
    return st ? cli_field_error(&k->p.c, st, (const char *const[]){"npy", "save", NULL}) : 0;
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
    if (argc < 1) {
        if (lm_dist_rank() == 0)
            fprintf(stderr, "linmass probe: name a probe: hessian, ntk, linearity or plstar (see linmass probe --help)\n");
        return 2;
    }
    if (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h") || !strcmp(argv[0], "help")) {
        return lm_dist_rank() == 0 ? cli_print_help("probe", NULL) : 0;
    }
    if (!strcmp(argv[0], "hessian")) return probe_hessian(argc - 1, argv + 1);
    if (!strcmp(argv[0], "ntk")) return probe_ntk(argc - 1, argv + 1);
    if (!strcmp(argv[0], "linearity")) return probe_gd(argc - 1, argv + 1, 0);
    if (!strcmp(argv[0], "plstar")) return probe_gd(argc - 1, argv + 1, 1);
    if (lm_dist_rank() == 0)
        fprintf(stderr, "linmass probe: unknown probe '%s': hessian, ntk, linearity or plstar (see linmass probe --help)\n", argv[0]);
    return 2;
}
