/* A report's body as markdown (linmass/report.h), its figures drawn by the caller. */
#include "linmass/report.h"

#include <stdio.h>
#include <stdlib.h>

lm_status lm_report_markdown(const lm_report *r, const char *plots, lm_report_draw_fn draw, void *ctx, char **md)
{
    size_t len = 0;
    *md = NULL;
    FILE *m = open_memstream(md, &len);
    if (!m) return lm_fail(LM_ENOMEM, "out of memory for the report's markdown");
    for (int i = 0; i < lm_report_block_count(r); i++) {
        lm_report_block b = lm_report_block_at(r, i);
        if (b.text) {
            fputs(b.text, m);
            continue;
        }
        const lm_figure *f = b.figure;
        const char *caption = f->caption ? f->caption : f->file;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", plots, f->file);
        if (draw && draw(ctx, f, path)) fprintf(m, "\n![%s](plots/%s)\n\n*%s*\n\n", caption, f->file, caption);
        else fprintf(m, "\n(no figure %s: gnuplot is missing or failed; its script and data are in plots/)\n\n", f->file);
    }
    if (fclose(m) == 0 && *md) return LM_OK;
    free(*md);
    *md = NULL;
    return lm_fail(LM_ENOMEM, "out of memory for the report's markdown");
}
