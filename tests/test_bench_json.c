/* lm_bench_result_json on results filled here by hand: the keys in order (rate, extras, gflops
 * and ceiling_fraction only for training workloads, then threads, workload, framework, blas,
 * blas_coretype, conv_kernels) with the result's values; ceiling_fraction = gflops / ceiling;
 * blas_coretype is OPENBLAS_CORETYPE's value. */
// ctest-labels: unit
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "linmass/bench.h"
#include "linmass/runtime.h"

static cJSON *json_of(const lm_bench_result *r, int threads)
{
    char *text = NULL;
    CHECK(lm_bench_result_json(r, threads, &text) == LM_OK);
    cJSON *o = cJSON_Parse(text);
    free(text);
    return o;
}

static void check_keys(const cJSON *o, const char *const *keys, int n)
{
    const cJSON *item = o ? o->child : NULL;
    for (int i = 0; i < n; i++, item = item ? item->next : NULL)
        CHECK_MSG(item && !strcmp(item->string, keys[i]), "key %d: %s, not %s", i, item ? item->string : "none", keys[i]);
    CHECK(item == NULL);
}

int main(void)
{
    setenv("OPENBLAS_CORETYPE", "Haswell", 1); /* read when the JSON is written */
    lm_bench_result r = {"fcn", "samples_per_sec", 5000, 12, 48, 2, {"batch", "steps"}, {64, 10}};
    cJSON *o = json_of(&r, 2);
    static const char *const train[] = {"samples_per_sec", "batch", "steps", "gflops", "ceiling_fraction", "threads",
                                        "workload", "framework", "blas", "blas_coretype", "conv_kernels"};
    check_keys(o, train, 11);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(o, "samples_per_sec")) == 5000);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(o, "batch")) == 64 && cJSON_GetNumberValue(cJSON_GetObjectItem(o, "steps")) == 10);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(o, "gflops")) == 12);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(o, "ceiling_fraction")) == 0.25);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(o, "threads")) == 2);
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(o, "workload")), "fcn"));
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(o, "framework")), "linmass"));
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(o, "blas_coretype")), "Haswell"));
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(o, "conv_kernels")), lm_kernel_isa()));
    cJSON_Delete(o);
    unsetenv("OPENBLAS_CORETYPE");
    lm_bench_result h = {"hvp", "hvp_over_grad_time", 2.5, -1, -1, 1, {"width"}, {1024}};
    o = json_of(&h, 1);
    static const char *const probe[] = {"hvp_over_grad_time", "width", "threads", "workload", "framework", "blas",
                                        "blas_coretype", "conv_kernels"};
    check_keys(o, probe, 8);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(o, "hvp_over_grad_time")) == 2.5);
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(o, "blas_coretype")), ""));
    cJSON_Delete(o);
    return check_summary();
}
