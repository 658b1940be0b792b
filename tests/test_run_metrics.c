/* lm_run_read_metric on a metrics.jsonl written here by hand: the (x, y) pairs of the lines that
 * hold both keys as numbers, in order, exactly; lines without one of them, with a value that is
 * no number, or that are no JSON at all are skipped; a metric with no values gives n = 0 and
 * NULL arrays; a folder without metrics.jsonl is LM_EIO naming the file. */
// ctest-labels: unit
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/run.h"

static const char lines[] =
    "{\"epoch\": 1, \"step\": 10, \"train_loss\": 0.5}\n"
    "{\"step\": 20, \"train_loss\": 0.25}\n"                  /* no epoch */
    "not json\n"
    "{\"epoch\": 2, \"step\": 30, \"train_loss\": \"0.1\"}\n" /* text, not a number */
    "{\"epoch\": 3, \"step\": 40, \"train_loss\": 0.125, \"test_acc\": 0.75}\n"
    "{\"epoch\": 4.5, \"step\": 50, \"train_loss\": 1e-3}";   /* no newline at the end */

int main(void)
{
    char dir[256], path[320];
    if (!check_make_tmpdir(dir, sizeof dir, "run_metrics")) return 1;
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) fputs(lines, f), fclose(f);

    double *x, *y;
    int n;
    CHECK(lm_run_read_metric(dir, "train_loss", "epoch", &x, &y, &n) == LM_OK);
    CHECK(n == 3);
    if (n == 3) {
        CHECK(x[0] == 1 && x[1] == 3 && x[2] == 4.5);
        CHECK(y[0] == 0.5 && y[1] == 0.125 && y[2] == 1e-3);
    }
    free(x), free(y);

    CHECK(lm_run_read_metric(dir, "train_loss", "step", &x, &y, &n) == LM_OK);
    CHECK(n == 4 && x[1] == 20 && y[1] == 0.25 && x[3] == 50);
    free(x), free(y);

    CHECK(lm_run_read_metric(dir, "test_acc", "step", &x, &y, &n) == LM_OK);
    CHECK(n == 1 && x[0] == 40 && y[0] == 0.75);
    free(x), free(y);

    CHECK(lm_run_read_metric(dir, "val_loss", "epoch", &x, &y, &n) == LM_OK);
    CHECK(n == 0 && x == NULL && y == NULL);

    char missing[300];
    snprintf(missing, sizeof missing, "%s/none", dir);
    CHECK(lm_run_read_metric(missing, "train_loss", "epoch", &x, &y, &n) == LM_EIO);
    CHECK(n == 0 && x == NULL && strstr(lm_error_message(), "none/metrics.jsonl"));
    check_remove_tmpdir(dir);
    return check_summary();
}
