/* Figures through gnuplot (run at run time), in one style for every command.
 *
 * plot_draw(PATH, figure) writes, for PATH = DIR/NAME.EXT:
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
 * (lm_curve_kind) and in layers: band fills, then reference lines, then curves, then points on top;
 * the legend below the plot or in a corner inside it, never beside it; log axes fitted to the
 * data and labelled with powers of ten (10^{-3}), or with 2x10^{-3}-style values when the data
 * span less than a decade; titles, axis labels and legend entries printed as given (no gnuplot
 * markup: reg_mass stays reg_mass).
 *
 * Figures are lm_figure values (linmass/report.h), built by the library or the command.
 */
#ifndef LM_CLI_PLOT_H
#define LM_CLI_PLOT_H

#include "linmass/report.h"

/* Draw figure f (linmass/report.h: its curves, frame and legend; f->file is not used) into
 * PATH, with its .svg copy, .gp script and .dat data as above. Returns 1 when PATH was drawn, 0
 * when not: gnuplot missing or failing (with a note on stderr), no curve with data, an ending
 * other than .png, .svg and .pdf, or files that could not be written. */
int plot_draw(const char *path, const lm_figure *f);

/* 1 when PATH ends in a format plot_draw draws: .png, .svg or .pdf. */
int plot_format_ok(const char *path);

/* 1 when gnuplot is installed (on the PATH), so that plot_draw can draw. */
int plot_can_draw(void);

/* ---- run folders (cmd_plot.c) ---- */

/* Loss (log scale) and accuracy curves of one run folder from its metrics.jsonl: train,
 * validation and test, into DIR/plots/loss.png and DIR/plots/accuracy.png (each with its .svg,
 * .gp and .dat). Returns 1 when every figure was drawn. */
int plot_run(const char *dir);

#endif
