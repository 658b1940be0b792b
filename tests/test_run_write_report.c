/* A report's run folder (lm_run_write_report, run.h) on a hand-built report of text blocks and
 * figures, with a hook that draws some figures and not others: report.md and the summary are
 * compared whole with the text written here, the hook is asked for DIR/plots/FILE of each
 * figure in order, config.json holds the options with "command" after them, result.json the
 * given result indented; a result that is not JSON is refused and writes nothing. */
// ctest-labels: unit
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/io.h"
#include "linmass/run.h"

typedef struct {
    char asked[3][1200];
    int n;
} hook_t;

/* draws every figure but b.png */
static int hook(void *ctx, const lm_figure *f, const char *path)
{
    hook_t *h = ctx;
    if (h->n < 3) snprintf(h->asked[h->n], sizeof h->asked[0], "%s", path);
    h->n++;
    return strcmp(f->file, "b.png") != 0;
}

static lm_report *build(void)
{
    lm_report *r = NULL;
    lm_figure a = {.file = "a.png", .caption = "Cap A"}, b = {.file = "b.png", .caption = "Cap B"}, c = {.file = "c.png"};
    CHECK(lm_report_create(0, &r) == LM_OK);
    lm_report_printf(r, "alpha %d\n", 1);
    lm_report_figure(r, &a);
    lm_report_printf(r, "beta\n");
    lm_report_printf(r, "gamma\n");
    lm_report_figure(r, &b);
    lm_report_figure(r, &c);
    CHECK(lm_report_status(r) == LM_OK);
    return r;
}

int main(void)
{
    char dir[256], want[4096], path[1200];
    if (!check_make_tmpdir(dir, sizeof dir, "run_write_report")) return check_summary();
    lm_report *r = build();
    hook_t h = {0};
    char *summary = NULL;
    lm_run_report_spec s = {"linmass probe t", "{\"x\": 1}", "probe t", NULL, "{\"a\": [1, 2]}", hook, &h};
    CHECK(lm_run_write_report(dir, r, &s, &summary) == LM_OK);
    CHECK(h.n == 3);
    const char *files[] = {"a.png", "b.png", "c.png"};
    for (int i = 0; i < 3 && i < h.n; i++) {
        snprintf(path, sizeof path, "%s/plots/%s", dir, files[i]);
        CHECK_TEXT(h.asked[i], path, "the hook's path");
    }
    snprintf(want, sizeof want, "alpha 1\nplot: %s/plots/a.png\nbeta\ngamma\nplot: %s/plots/c.png\nrun folder: %s\n", dir, dir, dir);
    CHECK_TEXT(summary, want, "the summary");
    char *md = check_slurp(dir, "report.md"), *cfg = check_slurp(dir, "config.json"), *res = check_slurp(dir, "result.json");
    CHECK_TEXT(md, "# linmass probe t\n\n```\nalpha 1\n```\n\n![Cap A](plots/a.png)\n\n```\nbeta\ngamma\n```\n\n"
                   "![c.png](plots/c.png)\n\n", "report.md");
    CHECK_TEXT(cfg, "{\n\t\"x\":\t1,\n\t\"command\":\t\"probe t\"\n}", "config.json");
    CHECK_TEXT(res, "{\n\t\"a\":\t[1, 2]\n}", "result.json");
    free(summary), free(md), free(cfg), free(res);

    /* a result that is not JSON: refused, nothing written */
    char sub[300];
    snprintf(sub, sizeof sub, "%s/bad", dir);
    s.result = "{\"a\": ";
    summary = (char *)"x";
    CHECK(lm_run_write_report(sub, r, &s, &summary) == LM_EINVAL);
    CHECK(summary == NULL);
    char *none = check_slurp(sub, "report.md");
    CHECK(none == NULL);
    free(none);
    lm_report_free(r);
    check_remove_tmpdir(dir);
    return check_summary();
}
