/* Probe results as JSON text (probe.h, "results as JSON"): one serialiser per result, used by
 * the command line's result.json and open to any caller. */
#include <cjson/cJSON.h>
#include <stdlib.h>

#include "linmass/probe.h"
#include "probe/probe_internal.h"

cJSON *lm_json_numbers(const double *v, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
    return a;
}

/* The text of o, which is freed; NULL when out of memory. */
static char *text_of(cJSON *o)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

char *lm_hessian_result_json(const lm_hessian_result *r, int n)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "avg_norm", r->avg_norm);
    cJSON_AddNumberToObject(o, "avg_eigenvalue", r->avg.extreme);
    if (n > 0) {
        cJSON_AddNumberToObject(o, "max_norm", r->max_norm);
        cJSON_AddNumberToObject(o, "argmax", r->argmax);
        cJSON_AddNumberToObject(o, "mean_norm", r->mean_norm);
        cJSON_AddItemToObject(o, "per_input", r->per_input ? lm_json_numbers(r->per_input, n) : cJSON_CreateNull());
    } else {
        cJSON_AddNullToObject(o, "max_norm");
        cJSON_AddNullToObject(o, "mean_norm");
        cJSON_AddNullToObject(o, "per_input");
    }
    cJSON_AddNumberToObject(o, "hvp_products", r->steps);
    cJSON_AddNumberToObject(o, "unconverged", r->unconverged);
    return text_of(o);
}

static cJSON *top_json(const lm_eig_result *e, cJSON *o)
{
    cJSON_AddItemToObject(o, "top", lm_json_numbers(e->top, e->ntop));
    cJSON_AddItemToObject(o, "top_residual", lm_json_numbers(e->top_residual, e->ntop));
    cJSON_AddNumberToObject(o, "norm", e->norm);
    cJSON_AddBoolToObject(o, "converged", e->converged);
    return o;
}

char *lm_loss_hessian_result_json(const lm_loss_hessian_result *r)
{
    cJSON *o = top_json(&r->eig, cJSON_CreateObject());
    if (r->samples) {
        cJSON_AddNumberToObject(o, "trace", r->trace);
        cJSON_AddNumberToObject(o, "trace_se", r->trace_se);
        cJSON_AddNumberToObject(o, "samples", r->samples);
    } else {
        cJSON_AddNullToObject(o, "trace");
    }
    return text_of(o);
}

static cJSON *density_json(const lm_density *d, double sigma, int grid)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "nodes", lm_json_numbers(d->nodes, d->n));
    cJSON_AddItemToObject(o, "weights", lm_json_numbers(d->weights, d->n));
    cJSON *count = cJSON_AddArrayToObject(o, "count");
    for (int s = 0; s < d->probes; s++) cJSON_AddItemToArray(count, cJSON_CreateNumber(d->count[s]));
    cJSON_AddNumberToObject(o, "probes", d->probes);
    cJSON_AddNumberToObject(o, "steps", d->steps);
    cJSON_AddStringToObject(o, "vectors", lm_random_vectors_name(d->vectors));
    cJSON_AddNumberToObject(o, "lambda_min", d->lambda_min);
    cJSON_AddNumberToObject(o, "lambda_max", d->lambda_max);
    cJSON_AddNumberToObject(o, "trace", d->trace);
    cJSON_AddNumberToObject(o, "trace_se", d->trace_se);
    cJSON_AddNumberToObject(o, "sigma", sigma);
    double *t = malloc((grid > 0 ? grid : 1) * sizeof *t), *rho = malloc((grid > 0 ? grid : 1) * sizeof *rho);
    if (t && rho && grid > 0) {
        lm_density_smooth(d, sigma, grid, t, rho);
        cJSON_AddItemToObject(o, "grid", lm_json_numbers(t, grid));
        cJSON_AddItemToObject(o, "density", lm_json_numbers(rho, grid));
    }
    free(t), free(rho);
    cJSON_AddNumberToObject(o, "products", d->products);
    return o;
}

char *lm_density_json(const lm_density *d, double sigma, int grid) { return text_of(density_json(d, sigma, grid)); }

char *lm_block_spectra_json(const lm_block_spectrum *b, int n, double sigma, int grid)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", b[i].block.name);
        cJSON_AddNumberToObject(o, "offset", (double)b[i].block.offset);
        cJSON_AddNumberToObject(o, "params", (double)b[i].block.count);
        top_json(&b[i].eig, o);
        cJSON_AddNumberToObject(o, "trace", b[i].trace.trace);
        cJSON_AddNumberToObject(o, "trace_se", b[i].trace.trace_se);
        cJSON_AddBoolToObject(o, "trace_exact", b[i].trace.exact);
        if (b[i].density.nodes) cJSON_AddItemToObject(o, "density", density_json(&b[i].density, sigma, grid));
        cJSON_AddItemToArray(a, o);
    }
    return text_of(a);
}

char *lm_spectrum_json(const lm_spectrum *s, const double *evals, int n)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "lambda_min", s->lambda_min);
    cJSON_AddNumberToObject(o, "lambda_max", s->lambda_max);
    cJSON_AddNumberToObject(o, "cond", s->cond);
    cJSON_AddNumberToObject(o, "trace", s->trace);
    cJSON_AddNumberToObject(o, "frobenius", s->frobenius);
    cJSON_AddItemToObject(o, "eigenvalues", lm_json_numbers(evals, n));
    return text_of(o);
}

char *lm_ntk_matfree_result_json(const lm_ntk_matfree_result *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "bytes", (double)r->bytes);
    cJSON_AddNumberToObject(o, "lambda_min", r->lambda_min);
    cJSON_AddNumberToObject(o, "lambda_max", r->lambda_max);
    cJSON_AddNumberToObject(o, "lambda_min_residual", r->eig.min_residual);
    cJSON_AddNumberToObject(o, "lambda_max_residual", r->eig.max_residual);
    cJSON_AddBoolToObject(o, "converged", r->eig.converged);
    cJSON_AddNumberToObject(o, "products", r->eig.steps);
    cJSON_AddNumberToObject(o, "trace", r->trace);
    return text_of(o);
}

static cJSON *record_json(const lm_linearity_record *e, int held_out)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "step", e->step);
    cJSON_AddNumberToObject(j, "loss", e->loss);
    cJSON_AddNumberToObject(j, "dist", e->dist);
    cJSON_AddNumberToObject(j, "kernel_change", e->kernel_change);
    if (held_out) {
        cJSON_AddNumberToObject(j, "lin_gap_max", e->lin_gap_max);
        cJSON_AddNumberToObject(j, "lin_gap_rms", e->lin_gap_rms);
    }
    cJSON_AddNumberToObject(j, "lambda_min", e->lambda_min);
    cJSON_AddNumberToObject(j, "lambda_max", e->lambda_max);
    cJSON_AddNumberToObject(j, "pl_ratio", e->pl_ratio);
    cJSON_AddNumberToObject(j, "loss_ratio", e->loss_ratio);
    cJSON_AddNumberToObject(j, "bound", e->bound);
    return j;
}

char *lm_linearity_result_json(const lm_linearity_result *r, int held_out)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "lr", r->lr);
    cJSON_AddBoolToObject(o, "lr_auto", r->lr_auto);
    cJSON_AddNumberToObject(o, "lr_catapult", r->lr_catapult);
    cJSON_AddBoolToObject(o, "catapult", r->catapult);
    cJSON_AddNumberToObject(o, "lambda_min0", r->lambda_min0);
    cJSON_AddNumberToObject(o, "lambda_max0", r->lambda_max0);
    cJSON_AddNumberToObject(o, "loss0", r->loss0);
    cJSON_AddNumberToObject(o, "loss_final", r->loss_final);
    cJSON_AddNumberToObject(o, "mu", r->plstar.mu);
    cJSON_AddNumberToObject(o, "pl_rate_bound", r->plstar.rate_bound);
    cJSON_AddBoolToObject(o, "all_below_bound", r->plstar.below_bound);
    cJSON_AddBoolToObject(o, "pl_ratio_ge_lambda_min", r->plstar.pl_ge_lambda_min);
    cJSON *recs = cJSON_AddArrayToObject(o, "records");
    for (int i = 0; recs && i < r->n_records; i++) cJSON_AddItemToArray(recs, record_json(&r->records[i], held_out));
    return text_of(o);
}

char *lm_sweep_result_json(const lm_sweep_result *r, const int *widths)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *wj = cJSON_AddArrayToObject(o, "widths"), *vj = cJSON_AddArrayToObject(o, "values");
    for (int i = 0; wj && vj && i < r->n_widths; i++) {
        cJSON_AddItemToArray(wj, cJSON_CreateNumber(widths[i]));
        cJSON_AddItemToArray(vj, lm_json_numbers(r->values + (size_t)i * r->seeds, r->seeds));
    }
    cJSON_AddItemToObject(o, "mean", lm_json_numbers(r->mean, r->n_widths));
    cJSON_AddItemToObject(o, "sd", lm_json_numbers(r->sd, r->n_widths));
    cJSON_AddNumberToObject(o, "slope", r->fit.slope);
    cJSON_AddNumberToObject(o, "intercept", r->fit.intercept);
    cJSON_AddNumberToObject(o, "se", r->fit.se);
    double ci[2] = {r->fit.ci_lo, r->fit.ci_hi};
    cJSON_AddItemToObject(o, "ci95", lm_json_numbers(ci, 2));
    cJSON_AddNumberToObject(o, "r2", r->fit.r2);
    cJSON_AddNumberToObject(o, "dof", r->fit.dof);
    return text_of(o);
}
