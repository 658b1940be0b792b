/* Rendering a report (report_render.h): markdown, figures through plot_draw, numbers. */
#include "cli/report_render.h"

#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/plot.h"

void render_progress_fn(void *ctx, lm_progress_level level, const char *message)
{
    render_progress *p = ctx;
    if (level == LM_PROGRESS_RESULT) {
        fprintf(p->results, "      %s\n", message);
        fflush(p->results);
        return;
    }
    double t = cli_now();
    if (level == LM_PROGRESS_DETAIL && t - p->last < 3) return;
    p->last = t;
    fprintf(stderr, "%s: %s\n", p->prefix, message);
}

int render_figure(const lm_figure *f, const char *plots)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", plots, f->file);
    return plot_draw(path, f);
}

void render_markdown(FILE *md, const lm_report *r, const char *plots)
{
    for (int i = 0; i < lm_report_block_count(r); i++) {
        lm_report_block b = lm_report_block_at(r, i);
        if (b.text) {
            fputs(b.text, md);
            continue;
        }
        const lm_figure *f = b.figure;
        const char *caption = f->caption ? f->caption : f->file;
        if (render_figure(f, plots)) fprintf(md, "\n![%s](plots/%s)\n\n*%s*\n\n", caption, f->file, caption);
        else fprintf(md, "\n(no figure %s: gnuplot is missing or failed; its script and data are in plots/)\n\n", f->file);
    }
}
