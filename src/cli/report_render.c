/* Rendering a report (report_render.h): progress, and figures through plot_draw. */
#include "cli/report_render.h"

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

int render_draw(void *ctx, const lm_figure *f, const char *path)
{
    (void)ctx;
    return plot_draw(path, f);
}
