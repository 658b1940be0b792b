/* Rendering a report (linmass/report.h) the way every command shows one: its figures drawn
 * through plot_draw (the hook of lm_report_markdown and lm_run_write_report), and its progress
 * on stderr. */
#ifndef LM_CLI_REPORT_RENDER_H
#define LM_CLI_REPORT_RENDER_H

#include <stdio.h>

#include "linmass/report.h"

/* Progress of a report on stderr, "PREFIX: message": details at most one per 3 seconds, steps
 * always; results (one-line summaries) on `results` instead, indented. */
typedef struct {
    const char *prefix;
    FILE *results;
    double last;
} render_progress;

void render_progress_fn(void *ctx, lm_progress_level level, const char *message);

/* Draw figure f into PLOTS/FILE (with its .svg, .gp and .dat); 1 when drawn. */
int render_figure(const lm_figure *f, const char *plots);

/* lm_report_draw_fn: plot_draw(path, f) (ctx unused). */
int render_draw(void *ctx, const lm_figure *f, const char *path);

#endif
