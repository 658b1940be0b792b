/* lm_run_metric_figure on run folders written here by hand: one curve per folder in order, with
 * exactly the (x, y) pairs of its metrics.jsonl against epoch, step or time ("elapsed"); labels
 * given or the folders' base names; markers up to 60 values, a line beyond; a log y axis for a
 * loss unless linear, a linear one for an accuracy; the title and axis labels; and the errors,
 * each naming the field or folder at fault and adding nothing to the report. */
// ctest-labels: unit
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "linmass/run.h"

static char root[256];

/* ROOT/name/metrics.jsonl with `text` (NULL: the folder alone); the folder's path into dir. */
static void make_run(const char *name, const char *text, char *dir, size_t len)
{
    char path[600];
    snprintf(dir, len, "%s/%s", root, name);
    mkdir(dir, 0777);
    if (!text) return;
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) fputs(text, f), fclose(f);
}

/* The figure of the n folders, or NULL (the status in *st); r holds it. */
static const lm_figure *figure(lm_report *r, const char *const *dirs, int n, const lm_run_metric_plot *p, lm_status *st)
{
    *st = lm_run_metric_figure(dirs, n, p, r);
    return *st || lm_report_block_count(r) != 1 ? NULL : lm_report_block_at(r, 0).figure;
}

static void check_curves(const char *a, const char *b)
{
    const char *dirs[2] = {a, b};
    lm_report *r;
    lm_status st;
    CHECK(lm_report_create(0, &r) == LM_OK);
    lm_run_metric_plot p = {.key = "train_loss"};
    const lm_figure *f = figure(r, dirs, 2, &p, &st);
    CHECK_MSG(f != NULL, "no figure: %s", lm_error_message());
    if (f) {
        CHECK(f->n_curves == 2 && f->logy == 1 && f->logx == 0 && !strcmp(f->file, "compare.png"));
        CHECK(!strcmp(f->title, "train_loss") && !strcmp(f->ylabel, "train_loss") && !strcmp(f->xlabel, "epoch"));
        const lm_curve *c = f->curves;
        CHECK(!strcmp(c[0].label, "sgd_run") && !strcmp(c[1].label, "mass"));
        CHECK(c[0].kind == LM_CURVE_LINESPOINTS && c[0].n == 2 && c[0].x[0] == 1 && c[0].x[1] == 2);
        CHECK(c[0].y[0] == 0.5 && c[0].y[1] == 0.25);
        CHECK(c[1].kind == LM_CURVE_LINE && c[1].n == 61 && c[1].x[60] == 61 && c[1].y[60] == 1.0 / 61);
    }
    lm_report_free(r);

    /* time, the labels given, a title, a linear axis asked for */
    static const char *const labels[2] = {"A", "B_b"};
    lm_run_metric_plot q = {.key = "train_loss", .x = "time", .title = "T", .labels = labels, .linear = 1};
    CHECK(lm_report_create(0, &r) == LM_OK);
    f = figure(r, dirs, 2, &q, &st);
    CHECK(f && !f->logy && !strcmp(f->xlabel, "time (s)") && !strcmp(f->title, "T"));
    CHECK(f && !strcmp(f->curves[0].label, "A") && !strcmp(f->curves[1].label, "B_b"));
    CHECK(f && f->curves[0].n == 2 && f->curves[0].x[0] == 0.5 && f->curves[0].x[1] == 1.5);
    lm_report_free(r);

    /* an accuracy against step: linear y */
    lm_run_metric_plot acc = {.key = "test_acc", .x = "step"};
    CHECK(lm_report_create(0, &r) == LM_OK);
    f = figure(r, dirs, 1, &acc, &st);
    CHECK(f && !f->logy && !strcmp(f->xlabel, "step") && f->curves[0].n == 1 && f->curves[0].x[0] == 20);
    CHECK(f && f->curves[0].y[0] == 0.75);
    lm_report_free(r);
}

/* Each error: its status, its message holding every word, nothing added. */
static void check_error(const char *const *dirs, int n, const char *key, const char *x, const char *w1, const char *w2)
{
    lm_report *r;
    lm_status st;
    CHECK(lm_report_create(0, &r) == LM_OK);
    lm_run_metric_plot p = {.key = key, .x = x};
    CHECK(figure(r, dirs, n, &p, &st) == NULL && st == LM_EINVAL && lm_report_block_count(r) == 0);
    const char *m = lm_error_message();
    CHECK_MSG(strstr(m, w1) && strstr(m, w2), "message '%s' lacks '%s' or '%s'", m, w1, w2);
    lm_report_free(r);
}

int main(void)
{
    if (!check_make_tmpdir(root, sizeof root, "run_metric_figure")) return 1;
    char a[300], b[300], empty[300], missing[320], expect[400];
    make_run("sgd_run", "{\"epoch\": 1, \"step\": 10, \"elapsed\": 0.5, \"train_loss\": 0.5}\n"
                        "{\"epoch\": 2, \"step\": 20, \"elapsed\": 1.5, \"train_loss\": 0.25, \"test_acc\": 0.75}\n",
             a, sizeof a);
    char *many = malloc(61 * 96), *p = many;
    for (int i = 1; i <= 61; i++) p += sprintf(p, "{\"epoch\": %d, \"elapsed\": %d, \"train_loss\": %.17g}\n", i, i, 1.0 / i);
    make_run("mass", many, b, sizeof b);
    free(many);
    make_run("empty", NULL, empty, sizeof empty);
    snprintf(missing, sizeof missing, "%s/nowhere", root);
    check_curves(a, b);

    const char *dirs[2] = {a, missing};
    check_error(dirs, 2, "train_loss", "fortnight", "x: ", "'fortnight' is not epoch, step or time");
    snprintf(expect, sizeof expect, "%s: no such folder", missing);
    check_error(dirs, 2, "train_loss", NULL, expect, expect);
    dirs[1] = empty;
    snprintf(expect, sizeof expect, "%s holds no metrics.jsonl", empty);
    check_error(dirs, 2, "train_loss", "epoch", expect, expect);
    snprintf(expect, sizeof expect, "%s/metrics.jsonl holds no 'val_loss' values against 'elapsed'", a);
    check_error(dirs, 2, "val_loss", "time", expect, expect);
    check_error(dirs, 0, "train_loss", "epoch", "n 0", "at least one");
    check_remove_tmpdir(root);
    return check_summary();
}
