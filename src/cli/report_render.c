/* Rendering a report (report_render.h): markdown, figures through plot_figure, numbers. */
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

static plot_kind kind_of(lm_curve_kind k)
{
    switch (k) {
    case LM_CURVE_LINE: return PLOT_LINE;
    case LM_CURVE_LINESPOINTS: return PLOT_LINESPOINTS;
    case LM_CURVE_BAND: return PLOT_BAND;
    case LM_CURVE_REFERENCE: return PLOT_REFERENCE;
    case LM_CURVE_POINTS: return PLOT_POINTS;
    }
    return PLOT_LINESPOINTS;
}

static plot_key key_of(lm_legend l)
{
    switch (l) {
    case LM_LEGEND_BELOW: return PLOT_KEY_BELOW;
    case LM_LEGEND_TOP_RIGHT: return PLOT_KEY_TOP_RIGHT;
    case LM_LEGEND_TOP_LEFT: return PLOT_KEY_TOP_LEFT;
    case LM_LEGEND_BOTTOM_RIGHT: return PLOT_KEY_BOTTOM_RIGHT;
    case LM_LEGEND_BOTTOM_LEFT: return PLOT_KEY_BOTTOM_LEFT;
    }
    return PLOT_KEY_BELOW;
}

int render_figure(const lm_figure *f, const char *plots)
{
    plot_curve *c = calloc(f->n_curves > 0 ? f->n_curves : 1, sizeof *c);
    if (!c) return 0;
    for (int i = 0; i < f->n_curves; i++) {
        const lm_curve *s = &f->curves[i];
        c[i] = (plot_curve){s->label, s->n, s->x, s->y, kind_of(s->kind), s->lo, s->hi, s->color};
    }
    plot_frame frame = {f->title, f->xlabel, f->ylabel, f->logx, f->logy, key_of(f->legend), 0};
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", plots, f->file);
    int drawn = plot_figure(path, &frame, c, f->n_curves);
    free(c);
    return drawn;
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

int render_numbers(cJSON *o, const lm_report *r)
{
    char *text;
    if (lm_report_numbers_json(r, &text)) return 1;
    cJSON *n = cJSON_Parse(text);
    free(text);
    cJSON *m = cJSON_DetachItemFromObject(n, "measured"), *p = cJSON_DetachItemFromObject(n, "predicted");
    cJSON_Delete(n);
    int ok = m && p && cJSON_AddItemToObject(o, "measured", m);
    if (!ok) cJSON_Delete(m);
    ok = ok && cJSON_AddItemToObject(o, "predicted", p);
    if (!ok) cJSON_Delete(p);
    return ok ? 0 : (lm_fail(LM_ENOMEM, "out of memory for the report's numbers"), 1);
}
