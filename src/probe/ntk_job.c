/* The tangent-kernel probe in one call (run.h, lm_probe_ntk_job; docs/theory.md §4.1, §5,
 * §7.9): the kernel and its spectrum, or its matrix-free extremes; for several outputs summed
 * the block kernel's lambda_max, which sets the catapult step; the .npy file; and the report:
 * summary, spectrum figure, numbers and result JSON. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

#include "linmass/io.h"
#include "probe/probe_internal.h"

/* What the job measured. */
typedef struct {
    double *K, *ev;
    size_t N; /* the kernel's dimension */
    lm_spectrum sp;
    lm_ntk_info info;
    lm_ntk_matfree_result mf, blk;
    int have_blk;
    double t0, t_kernel;
} ntk_run;

static lm_ntk_opts kernel_opts(const lm_ntk_job_opts *o)
{
    lm_ntk_opts ko = {0};
    ko.net.output = o->output;
    ko.block = o->block;
    ko.method = o->method;
    ko.mem_cap = o->mem_cap;
    ko.coll = o->coll;
    return ko;
}

/* lambda_max and lambda_min without K (block: of the block kernel). */
static lm_status matfree(const lm_probe_inputs *in, const lm_ntk_job_opts *o, int block, lm_ntk_matfree_result *r)
{
    lm_ntk_matfree_opts mo = {0};
    mo.ntk = kernel_opts(o);
    mo.ntk.block = block;
    mo.eig.max_steps = o->steps;
    mo.eig.seed = o->seed;
    return lm_probe_ntk_matfree(in->model, in->x, in->n, &mo, r);
}

lm_status lm_ntk_job_opts_validate(const lm_ntk_job_opts *o)
{
    if (o->output < LM_OUTPUT_SUM) return lm_fail(LM_EINVAL, "output %d is not an output index or the sum", o->output);
    if (o->block && o->output != LM_OUTPUT_SUM)
        return lm_fail(LM_EINVAL, "block with output %d: the block kernel covers every output (output must be the sum)", o->output);
    if (o->method < LM_NTK_AUTO || o->method > LM_NTK_LAYERWISE)
        return lm_fail(LM_EINVAL, "method %d is not a kernel method", (int)o->method);
    if (o->steps < 0) return lm_fail(LM_EINVAL, "steps %d must not be negative", o->steps);
    if (o->npy && (o->matrix_free || !*o->npy))
        return lm_fail(LM_EINVAL, "npy '%s': %s", o->npy, o->matrix_free ? "matrix-free forms no kernel to write" : "an empty file name");
    return LM_OK;
}

static lm_status check(const lm_probe_inputs *in, const lm_ntk_job_opts *o)
{
    if (o->output != LM_OUTPUT_SUM && o->output >= in->outputs)
        return lm_fail(LM_EINVAL, "ntk job: output %d: the model has %d output%s", o->output, in->outputs, in->outputs == 1 ? "" : "s");
    if (o->method == LM_NTK_GRAM && !lm_ntk_gram_applies(in->model)) /* matrix-free too, which would not use it */
        return lm_fail(LM_EINVAL, "method gram: '%s' has layers other than dense, flatten, activation and dropout (use layerwise)",
                       lm_model_spec(in->model));
    return lm_ntk_job_opts_validate(o);
}

/* The kernel and its spectrum (or the matrix-free extremes) on every process, and the .npy. */
static lm_status compute(const lm_probe_inputs *in, const lm_ntk_job_opts *o, lm_report *r, ntk_run *k)
{
    lm_ntk_opts ko = kernel_opts(o);
    k->N = lm_ntk_dim(in->model, in->n, &ko);
    lm_report_progress(r, LM_PROGRESS_STEP, "%d inputs, %zu parameters%s ...", in->n, lm_model_num_params(in->model),
                       o->matrix_free ? ", matrix-free" : "");
    lm_status st = LM_OK;
    if (o->matrix_free) {
        st = matfree(in, o, o->block, &k->mf);
    } else {
        k->K = malloc(k->N * k->N * sizeof *k->K);
        k->ev = malloc(k->N * sizeof *k->ev);
        st = k->K && k->ev ? LM_OK : lm_fail(LM_ENOMEM, "out of memory for a %zu x %zu kernel", k->N, k->N);
        st = lm_coll_agree(o->coll, st);
        if (!st) st = lm_probe_ntk_spectrum(in->model, in->x, in->n, &ko, k->K, k->ev, &k->sp, &k->info);
    }
    k->t_kernel = lm_job_now() - k->t0;
    /* several outputs summed: gradient descent on the square loss sees the block kernel */
    if (!st && !o->block && o->output == LM_OUTPUT_SUM && in->outputs > 1) {
        st = matfree(in, o, 1, &k->blk);
        k->have_blk = !st;
    }
    if (!st && o->npy) st = lm_coll_agree(o->coll, lm_coll_rank(o->coll) ? LM_OK : lm_npy_write_f64(o->npy, k->K, k->N, k->N));
    return st;
}

/* The catapult step 2/lambda_max of the kernel gradient descent sees. */
static double catapult(const ntk_run *k, int matrix_free)
{
    return k->have_blk ? k->blk.lr_catapult : matrix_free ? k->mf.lr_catapult : k->sp.lr_catapult;
}

static void split_note(const lm_collective *coll, char *buf, size_t len)
{
    if (lm_coll_size(coll) > 1) snprintf(buf, len, ", split over %d MPI ranks", lm_coll_size(coll));
    else buf[0] = 0;
}

static void text_matfree(lm_report *r, const ntk_run *k, const char *split)
{
    const lm_ntk_matfree_result *m = &k->mf;
    lm_report_printf(r, "  method        matrix-free: Lanczos on K v = J (J^T v), %d products, %.1f MB planned, %.2f s%s\n", m->eig.steps,
                     m->bytes / 1048576.0, k->t_kernel, split);
    lm_report_printf(r, "  lambda_min    %.6g   (residual bound %.2g%s)\n", m->lambda_min, m->eig.min_residual,
                     m->eig.converged ? "" : "; NOT converged: raise the step limit");
    lm_report_printf(r, "  lambda_max    %.6g   (residual bound %.2g)\n", m->lambda_max, m->eig.max_residual);
    lm_report_printf(r, "  trace         %.6g   (mean diagonal %.6g; per-sample gradient norms, no K)\n", m->trace, m->trace / k->N);
}

static void text_dense(lm_report *r, const ntk_run *k, const lm_collective *coll, const char *split)
{
    const lm_spectrum *sp = &k->sp;
    double mb = k->info.bytes / 1048576.0;
    if (k->info.method == LM_NTK_GRAM)
        lm_report_printf(r, "  method        Gram identity (dense layers), %.1f MB, %.2f s%s\n", mb, k->t_kernel, split);
    else
        lm_report_printf(r, "  method        %s, blocks of %d rows, %ld rows formed%s, %.1f MB, %.2f s%s\n",
                         k->info.method == LM_NTK_LAYERWISE ? "layerwise rows" : "per-sample gradients", k->info.block, k->info.passes,
                         lm_coll_size(coll) > 1 ? " on rank 0" : "", mb, k->t_kernel, split);
    lm_report_printf(r, "  lambda_min    %.6g%s\n", sp->lambda_min, sp->lambda_min > 0 ? "" : "   (not positive: no PL* on these inputs)");
    lm_report_printf(r, "  lambda_max    %.6g\n", sp->lambda_max);
    lm_report_printf(r, "  condition     %.6g\n", sp->cond);
    lm_report_printf(r, "  trace         %.6g   (mean diagonal %.6g)\n", sp->trace, sp->mean_diag);
    lm_report_printf(r, "  frobenius     %.6g\n", sp->frobenius);
}

static void ntk_text(lm_report *r, const lm_probe_inputs *in, const lm_ntk_job_opts *o, const ntk_run *k)
{
    char buf[2400], split[64];
    lm_probe_inputs_describe(in, buf, sizeof buf);
    lm_report_printf(r, "%s", buf);
    if (o->block) snprintf(buf, sizeof buf, "the block kernel of %d outputs", in->outputs);
    else lm_probe_inputs_output_name(in, o->output, buf, sizeof buf);
    lm_report_printf(r, "tangent kernel K = J J^T of %s, %zu x %zu, float64\n", buf, k->N, k->N);
    split_note(o->coll, split, sizeof split);
    if (o->matrix_free) text_matfree(r, k, split);
    else text_dense(r, k, o->coll, split);
    if (k->have_blk)
        lm_report_printf(r, "  block kernel  lambda_max %.6g (the %zu x %zu kernel of every output: what gradient descent on the\n"
                            "                multi-output square loss sees; Lanczos, residual bound %.2g)\n",
                         k->blk.lambda_max, k->blk.dim, k->blk.dim, k->blk.eig.max_residual);
    lm_report_printf(r, "  catapult      gradient descent on 1/2 ||F - y||^2 catapults above lr 2/lambda_max = %.4g (%s)\n",
                     catapult(k, o->matrix_free), k->have_blk ? "of the block kernel" : "of this kernel");
    if (o->npy) lm_report_printf(r, "kernel saved: %s (%zu x %zu float64, NPY 1.0)\n", o->npy, k->N, k->N);
}

/* The spectrum, largest first, on log axes. */
static void ntk_figure(lm_report *r, const ntk_run *k)
{
    int n = (int)k->N;
    double *rank = malloc(n * sizeof *rank), *desc = malloc(n * sizeof *desc);
    for (int i = 0; rank && desc && i < n; i++) rank[i] = i + 1, desc[i] = k->ev[n - 1 - i];
    lm_curve c = {"eigenvalues of K", LM_CURVE_LINE, rank && desc ? n : 0, rank, desc, NULL, NULL, 0};
    lm_figure f = {"ntk_spectrum.png", "The tangent kernel's eigenvalues, largest first.", "Tangent kernel spectrum", "rank",
                   "eigenvalue", 1, 1, LM_LEGEND_TOP_RIGHT, 1, &c, 0};
    lm_report_figure(r, &f);
    free(rank), free(desc);
}

static void ntk_numbers(lm_report *r, const lm_ntk_job_opts *o, const ntk_run *k)
{
    int mf = o->matrix_free;
    lm_report_measured(r, "lambda_min", mf ? k->mf.lambda_min : k->sp.lambda_min);
    lm_report_measured(r, "lambda_max", mf ? k->mf.lambda_max : k->sp.lambda_max);
    lm_report_measured(r, "trace", mf ? k->mf.trace : k->sp.trace);
    lm_report_measured(r, "lr_catapult", catapult(k, mf));
    if (k->have_blk) lm_report_measured(r, "block_lambda_max", k->blk.lambda_max);
}

static cJSON *ntk_json(const lm_probe_inputs *in, const lm_ntk_job_opts *o, const ntk_run *k)
{
    cJSON *res = lm_job_result(in, "ntk", o->output, o->folder, o->coll);
    int summed = o->output == LM_OUTPUT_SUM && in->outputs > 1;
    cJSON_AddStringToObject(res, "kernel", o->block ? "block" : summed ? "sum over outputs" : "one output");
    cJSON_AddNumberToObject(res, "dim", (double)k->N);
    if (o->matrix_free) {
        cJSON_AddStringToObject(res, "method", "matrix-free");
        lm_job_add(res, NULL, lm_ntk_matfree_result_json(&k->mf));
    } else {
        cJSON_AddStringToObject(res, "method", lm_ntk_method_name(k->info.method));
        cJSON_AddNumberToObject(res, "bytes", (double)k->info.bytes);
        lm_job_add(res, NULL, lm_spectrum_json(&k->sp, k->ev, (int)k->N));
    }
    if (k->have_blk) cJSON_AddNumberToObject(res, "block_lambda_max", k->blk.lambda_max);
    cJSON_AddNumberToObject(res, "lr_catapult", catapult(k, o->matrix_free));
    cJSON_AddStringToObject(res, "lr_catapult_kernel", k->have_blk || o->block ? "block" : "this");
    if (o->npy) cJSON_AddStringToObject(res, "npy", o->npy);
    else cJSON_AddNullToObject(res, "npy");
    return res;
}

lm_status lm_probe_ntk_job(const lm_probe_inputs *in, const lm_ntk_job_opts *o, lm_report *r, char **json)
{
    lm_status st = lm_job_check("ntk job", in, o, r, json);
    if (!st) st = check(in, o);
    if (st) return st;
    ntk_run k = {0};
    k.t0 = lm_job_now();
    st = compute(in, o, r, &k);
    if (!st) {
        ntk_text(r, in, o, &k);
        if (!o->matrix_free) ntk_figure(r, &k);
        ntk_numbers(r, o, &k);
        st = lm_job_finish(ntk_json(in, o, &k), k.t0, r, json);
    }
    free(k.K), free(k.ev);
    return st;
}
