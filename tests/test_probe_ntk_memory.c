// ctest-labels: slow
/* The matrix-free tangent kernel on 20,000 inputs of the fcn preset's shape (784 inputs, three
 * hidden layers of 100, 10 outputs; random inputs) within a 48 MiB cap (docs/theory.md §7.9): the
 * formed kernel would take 3.2 GB. Checks the planned bytes against the cap and the peak resident
 * memory the run adds: the kernel's peak is reset before the run (/proc/self/clear_refs, 5) and
 * VmHWM after it, less VmRSS before it, must stay within the cap. Six Lanczos steps (the memory
 * does not depend on them beyond the basis, which the plan counts).
 * Exits 77 where /proc/self/clear_refs cannot be written. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/probe.h"
#include "linmass/rng.h"

static long status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, strlen(key))) kb = atol(line + strlen(key) + 1);
    if (f) fclose(f);
    return kb;
}

int main(void)
{
    enum { N = 20000, D = 784 };
    const size_t cap = (size_t)48 << 20;
    lm_model *m;
    char spec[256];
    CHECK(lm_model_create(lm_preset_spec("fcn", 10, spec, sizeof spec), (lm_shape){1, 28, 28}, LM_PARAM_STANDARD, 1, &m) == LM_OK);
    double *x = malloc((size_t)N * D * sizeof *x);
    lm_rand_normal_fill_f64(x, (uint64_t)N * D, 1.0, 3, 1);
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f || fputs("5", f) < 0 || fclose(f)) {
        printf("cannot reset the peak resident memory here: skipped\n");
        return 77;
    }
    long rss0 = status_kb("VmRSS:");
    lm_ntk_matfree_opts o = {0};
    o.ntk.net.output = 0;
    o.ntk.mem_cap = cap;
    o.eig.max_steps = 6;
    lm_ntk_matfree_result r;
    lm_status st = lm_probe_ntk_matfree(m, x, N, &o, &r);
    long peak = status_kb("VmHWM:");
    CHECK_MSG(st == LM_OK, "%s", lm_error_message());
    double added = (peak - rss0) * 1024.0;
    printf("n = %d: %zu bytes planned, peak resident memory +%.1f MB (cap %.0f MB); lambda_max >= %.6g, trace %.6g, "
           "%d products\n", N, r.bytes, added / 1048576, cap / 1048576.0, r.lambda_max, r.trace, r.eig.steps);
    CHECK(r.bytes <= cap);
    CHECK_MSG(added <= (double)cap, "the run added %.1f MB of resident memory, the cap is %.0f MB", added / 1048576, cap / 1048576.0);
    /* the numbers are those of the kernel: 0 < lambda_max (a Ritz value after six steps) <= trace,
     * and the trace without K equals the formed kernel's on a subset */
    enum { SUB = 400 };
    double *K = malloc((size_t)SUB * SUB * sizeof *K), tsub = 0, tk = 0;
    lm_ntk_opts ko = {0};
    CHECK(r.lambda_max > 0 && r.lambda_max <= r.trace * (1 + 1e-12));
    CHECK(lm_probe_ntk(m, x, SUB, &ko, K, NULL) == LM_OK);
    CHECK(lm_probe_ntk_trace(m, x, SUB, &ko, &tsub) == LM_OK);
    for (int i = 0; i < SUB; i++) tk += K[(size_t)i * SUB + i];
    CHECK_CLOSE(tsub, tk, 1e-12);
    free(K), free(x);
    lm_model_free(m);
    return check_summary();
}
