/* A benchmark result as JSON (bench.h), with torch_ref.py's keys. */
#include <cblas.h>
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
