/* Figures through gnuplot (run at run time), in one style for every command.
 *
 * plot_figure(PATH, frame, curves, count) writes, for PATH = DIR/NAME.EXT:
 *   DIR/NAME.dat  the data: one block per drawn curve (gnuplot's `index` 0, 1, ...), a comment
 *                 line with the curve's kind and label, then rows "x y" ("x y lo hi" for a band);
 *   DIR/NAME.gp   the gnuplot script that draws it: `gnuplot NAME.gp` run in DIR redraws the
 *                 figure as is, and editing it restyles the figure without re-running anything;
 *   PATH          the figure: EXT is png (plus DIR/NAME.svg, a vector copy drawn by the same
 *                 script), svg or pdf (plot_format_ok says which endings work).
 * Without gnuplot the .gp and .dat files are written all the same, stderr says once that no
 * figure was drawn, and the call returns 0: a missing gnuplot is never an error.
 *
 * The style: a colour-blind-safe palette (Okabe and Ito); each kind of curve drawn its own way
 * (plot_kind) and in layers: band fills, then reference lines, then curves, then points on top;
 * the legend below the plot or in a corner inside it, never beside it; log axes fitted to the
 * data and labelled with powers of ten (10^{-3}), or with 2x10^{-3}-style values when the data
 * span less than a decade; titles, axis labels and legend entries printed as given (no gnuplot
 * markup: reg_mass stays reg_mass).
 *
 * Write curves and frames with designated initializers; every field left out is 0, which is
 * the plain choice:
 *
 *   plot_curve c[] = {
 *       {.label = "MaSS, mean of 5 seeds (band: min-max)", .n = n, .x = t, .y = mean,
 *        .kind = PLOT_BAND, .lo = min, .hi = max},
 *       {.label = "MaSS simulated", .n = n, .x = t, .y = sim, .kind = PLOT_POINTS, .color = 2},
 *       {.label = "MaSS exact", .n = n, .x = t, .y = exact, .kind = PLOT_LINE, .color = 2},
 *       {.label = "slope -1/2", .n = 2, .x = rx, .y = ry, .kind = PLOT_REFERENCE},
 *   };
 *   plot_frame f = {.title = "...", .xlabel = "step", .ylabel = "E |w - w*|^2", .logy = 1,
 *                   .key = PLOT_KEY_TOP_RIGHT};
 *   plot_figure("OUT/plots/curves.png", &f, c, 4);
 */
#ifndef LM_CLI_PLOT_H
#define LM_CLI_PLOT_H

#include "linmass/report.h"

/* Draw figure f (linmass/report.h: its curves, frame and legend; f->file is not used) into
 * PATH, with its .svg copy, .gp script and .dat data as above. Returns 1 when PATH was drawn, 0
 * when not: gnuplot missing or failing (with a note on stderr), no curve with data, an ending
 * other than .png, .svg and .pdf, or files that could not be written. */
int plot_draw(const char *path, const lm_figure *f);

typedef enum {
    PLOT_LINESPOINTS = 0, /* a measured curve: a line with a small dot at each value */
    PLOT_LINE,            /* an exact or dense curve: a line without markers */
    PLOT_BAND,            /* a mean curve (y) over a shaded band from lo[] to hi[] (min-max or
                             mean +- 1 sd across seeds: say which in the label) */
    PLOT_REFERENCE,       /* a reference (theory, a bound, a slope guide): a dashed line without
                             markers, dark grey unless `color` says otherwise */
    PLOT_POINTS,          /* simulated or measured points: markers without a line, drawn above
                             every line, so that an exact curve never hides them */
} plot_kind;

typedef struct {
    const char *label;     /* legend entry (NULL or "": none) */
    int n;                 /* values; a curve with none is left out */
    const double *x, *y;   /* non-finite values (and values <= 0 on a log axis) are skipped */
    plot_kind kind;        /* 0: PLOT_LINESPOINTS */
    const double *lo, *hi; /* PLOT_BAND: the band's edges, n values each (an edge <= 0 on a log
                              axis is drawn at the axis' lower end) */
    int color;             /* 0: the next palette colour that no curve asks for by number (a
                              reference: grey); k >= 1: palette colour k (1 blue, 2 vermillion,
                              3 green, 4 purple, 5 orange, 6 sky blue, 7 black, 8 yellow), to
                              give points and their exact curve one colour */
} plot_curve;

typedef enum {
    PLOT_KEY_BELOW = 0, /* the legend below the plot, in columns */
    PLOT_KEY_TOP_RIGHT, /* inside the plot area, in that corner, on an opaque box */
    PLOT_KEY_TOP_LEFT,
    PLOT_KEY_BOTTOM_RIGHT,
    PLOT_KEY_BOTTOM_LEFT,
    PLOT_KEY_NONE,
} plot_key;

typedef struct {
    const char *title, *xlabel, *ylabel;
    int logx, logy;    /* log10 axes, fitted to the data */
    plot_key key;      /* 0: below the plot */
    int categorical_x; /* x values name categories (input i, a rank): every curve but a
                          reference is drawn as points (a band as error bars), one tic per
                          category up to 20 of them */
} plot_frame;

/* plot_draw with the figure given as a frame and curves of the types above. */
int plot_figure(const char *path, const plot_frame *frame, const plot_curve *curves, int count);

/* 1 when PATH ends in a format plot_figure draws: .png, .svg or .pdf. */
int plot_format_ok(const char *path);

/* 1 when gnuplot is installed (on the PATH), so that plot_figure can draw. */
int plot_can_draw(void);

/* ---- the first interface, for the call sites that still use it ----
 * plot_lines draws every series as PLOT_LINESPOINTS with the legend below, in the style above.
 * New code calls plot_figure; once no call site is left, these three go. (They are separate
 * types because -Wextra flags positional initializers that leave new fields out.) */
typedef struct {
    const char *label;
    int n;
    const double *x, *y;
} plot_series;

typedef struct {
    const char *title, *xlabel, *ylabel;
    int logx, logy;
} plot_axes;

int plot_lines(const char *path, const plot_axes *axes, const plot_series *s, int count);

/* ---- run folders (cmd_plot.c) ---- */

/* Loss (log scale) and accuracy curves of one run folder from its metrics.jsonl: train,
 * validation and test, into DIR/plots/loss.png and DIR/plots/accuracy.png (each with its .svg,
 * .gp and .dat). Returns 1 when every figure was drawn. */
int plot_run(const char *dir);

typedef struct {
    const char *key;           /* metrics.jsonl key: train_loss, test_loss, test_acc, ... */
    const char *x;             /* "epoch" (NULL: the same), "step" or "time" (seconds) */
    const char *title;         /* NULL: the key */
    const char *const *labels; /* one per folder; NULL: the folders' names */
    int logy;
} plot_runs_spec;

/* Several runs' curves of one metric on one figure PATH (.png, .svg or .pdf). */
int plot_compare(const char *path, const plot_runs_spec *spec, const char *const *dirs, int count);

/* plot_compare with x = epoch, labelled by folder. */
int plot_runs(const char *path, const char *key, int logy, const char *const *dirs, int count);

#endif
