/* A benchmark result as JSON (bench.h), with torch_ref.py's keys, and as text: the line that
 * says what a run runs on and the line of its result. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "linmass/bench.h"
#include "linmass/runtime.h"

lm_status lm_bench_result_json(const lm_bench_result *r, int threads, char **json)
{
    const char *coretype = getenv("OPENBLAS_CORETYPE");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, r->rate_key, r->rate);
    for (int i = 0; i < r->n_extra; i++) cJSON_AddNumberToObject(o, r->extra_key[i], r->extra[i]);
    if (r->gflops >= 0) {
        cJSON_AddNumberToObject(o, "gflops", r->gflops);
        cJSON_AddNumberToObject(o, "ceiling_fraction", r->gflops / r->ceiling);
    }
    cJSON_AddNumberToObject(o, "threads", threads);
    cJSON_AddStringToObject(o, "workload", r->workload);
    cJSON_AddStringToObject(o, "framework", "linmass");
    cJSON_AddStringToObject(o, "blas", openblas_get_corename());
    cJSON_AddStringToObject(o, "blas_coretype", coretype ? coretype : "");
    cJSON_AddStringToObject(o, "conv_kernels", lm_kernel_isa());
    *json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return *json ? LM_OK : lm_fail(LM_ENOMEM, "bench result: out of memory");
}

/* The text fill wrote on a memory stream into *line (malloc'ed). */
static lm_status text_done(FILE *m, char **line)
{
    if (m && !fclose(m) && *line) return LM_OK;
    free(*line);
    *line = NULL;
    return lm_fail(LM_ENOMEM, "bench text: out of memory");
}

lm_status lm_bench_describe(const char *workload, int threads, int ranks, double seconds, char **line)
{
    size_t len;
    const char *coretype = getenv("OPENBLAS_CORETYPE");
    *line = NULL;
    FILE *m = open_memstream(line, &len);
    if (m)
        fprintf(m, "%s, %d thread%s%s, %g s; BLAS: OpenBLAS %s%s%s%s; convolutions: %s", workload, threads, threads == 1 ? "" : "s",
                ranks > 1 ? " per rank" : "", seconds, openblas_get_corename(), coretype ? " (OPENBLAS_CORETYPE=" : "",
                coretype ? coretype : "", coretype ? ")" : "", lm_kernel_isa());
    return text_done(m, line);
}

lm_status lm_bench_result_text(const lm_bench_result *r, int threads, char **line)
{
    size_t len;
    *line = NULL;
    FILE *m = open_memstream(line, &len);
    if (m) {
        fprintf(m, "%-9s %12.1f %s", r->workload, r->rate, r->rate_key);
        for (int i = 0; i < r->n_extra; i++) fprintf(m, "  %s %.4g", r->extra_key[i], r->extra[i]);
        if (r->gflops >= 0) fprintf(m, "  %.2f GFLOP/s = %.0f%% of sgemm %.1f", r->gflops, 100 * r->gflops / r->ceiling, r->ceiling);
        fprintf(m, "  (%d thread%s)", threads, threads == 1 ? "" : "s");
    }
    return text_done(m, line);
}
