/* Reports (liblinmass): what a probe, a claim of liblinmass_experiments or a section of the
 * demo measured, held as data, so that drawing and writing files is the caller's job.
 *
 * A report holds
 *   - a markdown body, written in pieces (lm_report_printf) with figures between them: read it
 *     back as blocks, each a piece of text or a figure (lm_report_block_at);
 *   - numbers, each under a key, in two lists: measured, and predicted (by a paper or the
 *     theory); lm_report_numbers_json gives both as one JSON object;
 *   - a verdict in three values (holds / does not hold / not tested at this setting) with a
 *     one-sentence reason;
 *   - figures as data: a frame (title, axis labels, log axes, legend place, caption) and curves,
 *     each of a kind (line, line with markers, mean over a band, dashed reference, points).
 *     The report keeps its own copy of everything it is given.
 * Progress goes to a callback, if one is set; the library prints nothing.
 *
 * Errors are sticky: the first call that fails (bad input: LM_EINVAL; memory: LM_ENOMEM)
 * records its status and message, and every later call that adds to the report returns that
 * status without doing anything, so that a claim can check lm_report_status once at its end. */
#ifndef LINMASS_REPORT_H
#define LINMASS_REPORT_H

#include "linmass/api.h"

#include <stddef.h>

#include "linmass/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    LM_VERDICT_NOT_TESTED = 0, /* not tested at this setting (the reason says why); the default */
    LM_VERDICT_HOLDS = 1,
    LM_VERDICT_FAILS = 2       /* does not hold */
} lm_verdict;

/* "not tested", "holds", "does not hold". */
LM_API const char *lm_verdict_name(lm_verdict v);

typedef enum {
    LM_CURVE_LINE = 0,    /* an exact or dense curve */
    LM_CURVE_LINESPOINTS, /* a measured curve with a marker at each value */
    LM_CURVE_BAND,        /* a mean (y) over a shaded band from lo to hi: min-max or +-1 sd
                             across seeds (the label or caption says which) */
    LM_CURVE_REFERENCE,   /* a prediction, a bound or a slope guide: dashed, no markers */
    LM_CURVE_POINTS       /* simulated or sampled values: markers only, never hidden by a line */
} lm_curve_kind;

typedef struct {
    const char *label;     /* legend entry (NULL: none) */
    lm_curve_kind kind;
    int n;                 /* values (0: the curve is kept but has nothing to draw) */
    const double *x, *y;   /* n values each; non-finite values are the renderer's to skip */
    const double *lo, *hi; /* LM_CURVE_BAND: the band's edges, n values each; else NULL */
    int color;             /* 0: any; k >= 1: the renderer's k-th colour, shared by the curves
                              of one method (its points, exact line and bound) */
} lm_curve;

typedef enum {
    LM_LEGEND_BELOW = 0, /* below the plot area */
    LM_LEGEND_TOP_RIGHT, /* inside the plot area, in that corner */
    LM_LEGEND_TOP_LEFT,
    LM_LEGEND_BOTTOM_RIGHT,
    LM_LEGEND_BOTTOM_LEFT,
    LM_LEGEND_NONE       /* no legend */
} lm_legend;

typedef struct {
    const char *file;    /* the figure's file name, e.g. "speedup.png" (no folder; letters,
                            digits, '-', '_' and '.' only) */
    const char *caption; /* one sentence shown under the figure */
    const char *title, *xlabel, *ylabel;
    int logx, logy;      /* log10 axes */
    lm_legend legend;
    int n_curves;
    const lm_curve *curves;
    int categorical_x;   /* x values name categories (input i, a block): every curve but a
                            reference is drawn as points (a band as error bars), one tic per
                            category up to 20 of them */
} lm_figure;

/* ---- a figure as gnuplot files ----
 *
 * For PATH = DIR/NAME.EXT, lm_figure_write_gnuplot writes
 *   DIR/NAME.dat  the data: one block per curve with a drawable value (gnuplot's `index` 0, 1,
 *                 ...), a comment line with the curve's kind and label, then rows "x y" ("x y lo
 *                 hi" for a band); a value is drawable when finite, and positive on a log axis
 *                 (a band's lo at or below 0 on a log y axis is drawn at the axis' lower end);
 *   DIR/NAME.gp   the gnuplot script that draws it: `gnuplot NAME.gp` run in DIR draws PATH,
 *                 and editing it restyles the figure without re-running anything.
 * PATH's ending names the format: .png (the script also draws DIR/NAME.svg, a vector copy),
 * .svg or .pdf. f->file is not used. Drawing (running gnuplot) is the caller's part.
 *
 * The style: a colour-blind-safe palette (Okabe and Ito); each kind of curve drawn its own way
 * (lm_curve_kind) and in layers: band fills, then reference lines, then curves, then points on
 * top; the legend below the plot or in a corner inside it, never beside it; log axes fitted to
 * the data and labelled with powers of ten (10^{-3}), or with 2x10^{-3}-style values when the
 * data span less than a decade; titles, axis labels and legend entries printed as given (no
 * gnuplot markup: reg_mass stays reg_mass). */

/* 1 when path ends in a format the script draws: a file name ending in .png, .svg or .pdf. */
LM_API int lm_figure_format_ok(const char *path);

/* DIR/NAME.dat and DIR/NAME.gp of figure f for path = DIR/NAME.EXT as above, DIR created when
 * missing; *curves (may be NULL) is the number of curves with a drawable value. With none (no
 * curves, or no drawable value) nothing is written and *curves is 0. LM_EINVAL naming path for
 * an ending other than those of lm_figure_format_ok, or for a curve with n > 0 but no x or y;
 * LM_EIO (or LM_ENOMEM) with the message "no figure DIR/NAME: ..." when a file cannot be
 * written. */
LM_API lm_status lm_figure_write_gnuplot(const char *path, const lm_figure *f, int *curves);

/* Draws the figure whose script and data lie in folder dir (NAME.gp, NAME.dat) into path
 * (dir/NAME.EXT), e.g. by running `gnuplot NAME.gp` in dir; 1 when path was drawn, else 0. */
typedef int (*lm_figure_draw_fn)(void *ctx, const char *dir, const char *name, const char *path);

/* lm_figure_write_gnuplot, then, when it wrote the files, draw(ctx, DIR, NAME, path): *drawn
 * (may be NULL) is what draw returned, 0 when nothing was written or draw is NULL. The status
 * is lm_figure_write_gnuplot's. */
LM_API lm_status lm_figure_draw(const char *path, const lm_figure *f, lm_figure_draw_fn draw, void *ctx, int *drawn);

typedef enum {
    LM_PROGRESS_DETAIL = 0, /* frequent (each epoch, each model): a caller may show few of them */
    LM_PROGRESS_STEP,       /* a stage starts or ends */
    LM_PROGRESS_RESULT      /* a one-line result worth showing with the summary */
} lm_progress_level;

typedef void (*lm_progress_fn)(void *ctx, lm_progress_level level, const char *message);

typedef struct lm_report lm_report;

/* A new, empty report (verdict: not tested, reason ""). mem_cap > 0 bounds the bytes the
 * report may hold (its text, numbers and figures); past it a call fails with LM_ENOMEM, as
 * when an allocation fails. 0: no bound. */
LM_API lm_status lm_report_create(size_t mem_cap, lm_report **out);
LM_API void lm_report_free(lm_report *r);

/* Progress messages of lm_report_progress go to fn(ctx, ...) (NULL: nowhere). */
LM_API void lm_report_set_progress(lm_report *r, lm_progress_fn fn, void *ctx);
LM_API void lm_report_progress(lm_report *r, lm_progress_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Append markdown to the body. */
LM_API lm_status lm_report_printf(lm_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Record a measured / predicted number under key (at most 127 bytes, not empty, not recorded
 * before in the same list). Any double, non-finite ones included. */
LM_API lm_status lm_report_measured(lm_report *r, const char *key, double v);
LM_API lm_status lm_report_predicted(lm_report *r, const char *key, double v);

/* Append a figure to the body (a copy of f, its strings and curves). LM_EINVAL for a file name
 * that is empty or holds other characters than those above, a curve with n < 0, or without x
 * and y (or, for a band, lo and hi) while n > 0. */
LM_API lm_status lm_report_figure(lm_report *r, const lm_figure *f);

/* Set the verdict and its reason (replacing an earlier one). */
LM_API lm_status lm_report_verdict(lm_report *r, lm_verdict v, const char *reason_fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* LM_OK, or the status of the first call that failed. */
LM_API lm_status lm_report_status(const lm_report *r);

/* ---- reading a report back ---- */

typedef enum { LM_REPORT_MEASURED = 0, LM_REPORT_PREDICTED = 1 } lm_report_list;

/* The numbers of one list, in the order they were recorded. */
LM_API int lm_report_count(const lm_report *r, lm_report_list which);
LM_API const char *lm_report_key(const lm_report *r, lm_report_list which, int i);
LM_API double lm_report_value(const lm_report *r, lm_report_list which, int i);
/* 1 and *v when key is recorded in the list, else 0 (*v untouched). */
LM_API int lm_report_find(const lm_report *r, lm_report_list which, const char *key, double *v);

/* {"measured": {...}, "predicted": {...}} with the keys in recording order; a non-finite number
 * is written as the string "nan", "inf" or "-inf". *json is malloc'ed (the caller frees it). */
LM_API lm_status lm_report_numbers_json(const lm_report *r, char **json);

/* The verdict, and its reason (may be NULL). */
LM_API lm_verdict lm_report_get_verdict(const lm_report *r, const char **reason);

/* The body as blocks in order: each block is either text (figure NULL) or a figure (text
 * NULL). Consecutive lm_report_printf calls make one block. Valid until the report changes. */
typedef struct {
    const char *text;
    const lm_figure *figure;
} lm_report_block;

LM_API int lm_report_block_count(const lm_report *r);
LM_API lm_report_block lm_report_block_at(const lm_report *r, int i);

/* ---- a report as markdown ---- */

/* Draws figure f into path (e.g. writing its files with lm_figure_draw and running gnuplot on
 * them); 1 when path was drawn, else 0. */
typedef int (*lm_report_draw_fn)(void *ctx, const lm_figure *f, const char *path);

/* The body of r as markdown in *md (malloc'ed; free() it): each text block as it is, and each
 * figure drawn by draw(ctx, f, PLOTS/FILE) (plots: the folder of the figures, beside the
 * markdown file) and shown as "\n![C](plots/FILE)\n\n*C*\n\n" (C: its caption, else FILE), or,
 * when draw returns 0 (or is NULL), noted as "\n(no figure FILE: gnuplot is missing or failed;
 * its script and data are in plots/)\n\n". LM_ENOMEM when out of memory (*md NULL). */
LM_API lm_status lm_report_markdown(const lm_report *r, const char *plots, lm_report_draw_fn draw, void *ctx, char **md);

#ifdef __cplusplus
}
#endif
#endif
