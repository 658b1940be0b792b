/* lm_report_markdown on a report built here: the text blocks as they are, a figure the hook draws
 * shown with its caption (or its file name), one it does not draw noted; the hook gets each
 * figure and PLOTS/FILE in order; no hook: every figure noted. The expected text is written out. */
// ctest-labels: unit
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/report.h"

typedef struct {
    int calls;
    char seen[2][64];
} hook_seen;

/* Draws the first figure it gets, not the second. */
static int hook(void *ctx, const lm_figure *f, const char *path)
{
    hook_seen *h = ctx;
    if (h->calls < 2) snprintf(h->seen[h->calls], sizeof h->seen[0], "%s %s", path, f->title);
    return h->calls++ == 0;
}

int main(void)
{
    static const double x[2] = {1, 2}, y[2] = {3, 4};
    lm_curve c = {.label = "c", .n = 2, .x = x, .y = y};
    lm_report *r;
    CHECK(lm_report_create(0, &r) == LM_OK);
    lm_report_printf(r, "# Title\n\nsome %s\n", "text");
    lm_figure a = {.file = "a.png", .caption = "the a", .title = "A", .n_curves = 1, .curves = &c};
    lm_figure b = {.file = "b.svg", .title = "B", .n_curves = 1, .curves = &c};
    lm_report_figure(r, &a);
    lm_report_printf(r, "between\n");
    lm_report_figure(r, &b);
    CHECK(lm_report_status(r) == LM_OK);

    hook_seen h = {0};
    char *md = NULL;
    CHECK(lm_report_markdown(r, "out/plots", hook, &h, &md) == LM_OK);
    const char *want = "# Title\n\nsome text\n"
                       "\n![the a](plots/a.png)\n\n*the a*\n\n"
                       "between\n"
                       "\n(no figure b.svg: gnuplot is missing or failed; its script and data are in plots/)\n\n";
    CHECK_MSG(md && !strcmp(md, want), "markdown:\n%s", md ? md : "(null)");
    CHECK(h.calls == 2 && !strcmp(h.seen[0], "out/plots/a.png A") && !strcmp(h.seen[1], "out/plots/b.svg B"));
    free(md);

    CHECK(lm_report_markdown(r, "p", NULL, NULL, &md) == LM_OK);
    CHECK(md && strstr(md, "(no figure a.png: ") && strstr(md, "(no figure b.svg: ") && !strstr(md, "!["));
    free(md);
    lm_report_free(r);

    CHECK(lm_report_create(0, &r) == LM_OK);
    CHECK(lm_report_markdown(r, "p", hook, &h, &md) == LM_OK && md && !strcmp(md, "")); /* empty body */
    free(md);
    lm_report_free(r);
    return check_summary();
}
