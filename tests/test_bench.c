/* The bench module (linmass/bench.h) on short runs: the workload list and its kinds; a training
 * workload timed for an exact number of steps reports those steps, its batch, and GFLOP/s
 * that are samples/s x 3 x 2 x the model's forward MACs (counted here from a model built from
 * the same preset); the hvp workload's ratio is grads/s over hvps/s; gemm reports a positive
 * rate on both shape sets; unknown names and bad options are refused with LM_EINVAL naming
 * them. No speed is asserted (benchmarks measure speed, tests do not). */
// ctest-labels: unit
#include <math.h>
#include <string.h>

#include "check.h"
#include "linmass/bench.h"
#include "linmass/model.h"

static double extra(const lm_bench_result *r, const char *key)
{
    for (int i = 0; i < r->n_extra; i++)
        if (!strcmp(r->extra_key[i], key)) return r->extra[i];
    check_fail(__FILE__, __LINE__, "%s: no key %s", r->workload, key);
    return NAN;
}

static void test_names(void)
{
    static const char *const want[] = {"fcn", "mlp", "cnn", "resnet20", "ntk", "ntk-cnn", "hvp", "gemm"};
    CHECK(lm_bench_workload_count() == 8);
    for (int i = 0; i < 8; i++) {
        const char *name = lm_bench_workload_name(i);
        CHECK_MSG(name && !strcmp(name, want[i]), "workload %d is %s, not %s", i, name ? name : "NULL", want[i]);
        CHECK(lm_bench_is_training(want[i]) == (i < 4));
    }
    CHECK(lm_bench_workload_name(8) == NULL && lm_bench_workload_name(-1) == NULL);
    CHECK(lm_bench_is_training("resnet") == -1 && lm_bench_is_training(NULL) == -1);
}

static void test_training(void)
{
    lm_bench_opts o;
    lm_bench_opts_init(&o);
    CHECK(o.seconds == 3 && o.steps == 0 && o.overlap == 1);
    o.steps = 2, o.seconds = 0.01;
    lm_bench_result r;
    CHECK(lm_bench_run("fcn", &o, &r) == LM_OK);
    CHECK(!strcmp(r.workload, "fcn") && !strcmp(r.rate_key, "samples_per_sec"));
    CHECK(extra(&r, "steps") == 2 && extra(&r, "batch") == 64);
    CHECK(r.rate > 0 && r.ceiling > 0 && extra(&r, "max_rss_mib") > 0);
    lm_model *m = NULL;
    CHECK(lm_model_create("fcn", (lm_shape){1, 28, 28}, LM_PARAM_STANDARD, 0, &m) == LM_OK);
    if (m) CHECK_CLOSE(r.gflops, r.rate * 6 * (double)lm_model_forward_macs(m) / 1e9, 1e-12);
    lm_model_free(m);
}

static void test_probe_and_gemm(void)
{
    lm_bench_opts o = {0.01, 0, 1};
    lm_bench_result r;
    CHECK(lm_bench_run("hvp", &o, &r) == LM_OK);
    CHECK(!strcmp(r.rate_key, "hvp_over_grad_time") && r.gflops == -1 && r.ceiling == -1);
    CHECK_CLOSE(r.rate, extra(&r, "grads_per_sec") / extra(&r, "hvps_per_sec"), 1e-12);
    CHECK(extra(&r, "width") == 1024);
    CHECK(lm_bench_run("gemm", &o, &r) == LM_OK);
    CHECK(!strcmp(r.rate_key, "gflops") && r.rate > 0 && extra(&r, "mlp_shapes_gflops") > 0);
}

static void test_refusals(void)
{
    lm_bench_opts o = {0.01, 0, 1};
    lm_bench_result r;
    CHECK(lm_bench_run("resnet", &o, &r) == LM_EINVAL && strstr(lm_error_message(), "'resnet'"));
    o.seconds = 0;
    CHECK(lm_bench_run("fcn", &o, &r) == LM_EINVAL && strstr(lm_error_message(), "seconds 0"));
    o.seconds = 1, o.steps = -1;
    CHECK(lm_bench_run("gemm", &o, &r) == LM_EINVAL && strstr(lm_error_message(), "steps -1"));
}

int main(void)
{
    test_names();
    test_training();
    test_probe_and_gemm();
    test_refusals();
    return check_summary();
}
