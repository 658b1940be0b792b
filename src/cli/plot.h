/* Figures through gnuplot (run at run time), in one style for every command.
 *
 * plot_draw(PATH, figure) has the library write, for PATH = DIR/NAME.EXT, the figure's data
 * DIR/NAME.dat and its script DIR/NAME.gp (lm_figure_write_gnuplot, linmass/report.h: the files
 * and the style), then runs `gnuplot NAME.gp` in DIR, which draws PATH (and DIR/NAME.svg after a
 * PNG). Without gnuplot the .gp and .dat files are written all the same, stderr says once that
 * no figure was drawn, and the call returns 0: a missing gnuplot is never an error.
 *
 * Figures are lm_figure values (linmass/report.h), built by the library or the command.
 */
#ifndef LM_CLI_PLOT_H
#define LM_CLI_PLOT_H

#include "linmass/report.h"

/* Draw figure f (linmass/report.h: its curves, frame and legend; f->file is not used) into
 * PATH, with its .svg copy, .gp script and .dat data as above. Returns 1 when PATH was drawn, 0
 * when not: gnuplot missing or failing, or files that could not be written (each with a note on
 * stderr), no curve with data, or an ending other than .png, .svg and .pdf
 * (lm_figure_format_ok). */
int plot_draw(const char *path, const lm_figure *f);

/* 1 when gnuplot is installed (on the PATH), so that plot_draw can draw. */
int plot_can_draw(void);

/* ---- run folders (cmd_plot.c) ---- */

/* Loss (log scale) and accuracy curves of one run folder from its metrics.jsonl: train,
 * validation and test, into DIR/plots/loss.png and DIR/plots/accuracy.png (each with its .svg,
 * .gp and .dat). Returns 1 when every figure was drawn. */
int plot_run(const char *dir);

#endif
