/* lm_bench_result_json on results filled here by hand: the keys in order (rate, extras, gflops
 * and ceiling_fraction only for training workloads, then threads, workload, framework, blas,
 * blas_coretype, conv_kernels) with the result's values; ceiling_fraction = gflops / ceiling;
 * blas_coretype is OPENBLAS_CORETYPE's value. lm_bench_result_text: the line written out here
 * for a training and a probe result; lm_bench_describe: threads, ranks, seconds, the
 * OPENBLAS_CORETYPE and lm_kernel_isa in their places. */
// ctest-labels: unit
#include <stdio.h>
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

static void check_text(lm_status st, char **line, const char *want)
{
    CHECK_MSG(st == LM_OK && *line && !strcmp(*line, want), "got \"%s\"\nwant \"%s\"", *line ? *line : "(null)", want);
    free(*line);
}

static void test_text(void)
{
    char *line = NULL, want[256];
    lm_bench_result t = {"fcn", "samples_per_sec", 5000, 12, 48, 2, {"batch", "steps"}, {64, 10}};
    check_text(lm_bench_result_text(&t, 2, &line), &line,
               "fcn             5000.0 samples_per_sec  batch 64  steps 10  12.00 GFLOP/s = 25% of sgemm 48.0  (2 threads)");
    lm_bench_result p = {"hvp", "hvp_over_grad_time", 1.5, -1, -1, 1, {"width"}, {1024}};
    /* %-9s then %12.1f: "hvp", 6 + 1 + 9 spaces, "1.5" */
    check_text(lm_bench_result_text(&p, 1, &line), &line, "hvp                1.5 hvp_over_grad_time  width 1024  (1 thread)");
    setenv("OPENBLAS_CORETYPE", "Haswell", 1);
    CHECK(lm_bench_describe("fcn", 2, 4, 0.5, &line) == LM_OK && line);
    const char *head = "fcn, 2 threads per rank, 0.5 s; BLAS: OpenBLAS ";
    snprintf(want, sizeof want, " (OPENBLAS_CORETYPE=Haswell); convolutions: %s", lm_kernel_isa());
    size_t n = line ? strlen(line) : 0;
    CHECK_MSG(line && !strncmp(line, head, strlen(head)) && n > strlen(want) && !strcmp(line + n - strlen(want), want), "%s", line);
    free(line);
    unsetenv("OPENBLAS_CORETYPE");
    CHECK(lm_bench_describe("gemm", 1, 1, 3, &line) == LM_OK && line);
    head = "gemm, 1 thread, 3 s; BLAS: OpenBLAS ";
    snprintf(want, sizeof want, "; convolutions: %s", lm_kernel_isa());
    n = line ? strlen(line) : 0;
    CHECK_MSG(line && !strncmp(line, head, strlen(head)) && !strstr(line, "CORETYPE") && !strcmp(line + n - strlen(want), want), "%s",
              line);
    free(line);
}

int main(void)
{
    test_text();
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
