/* PNG plots through gnuplot, called at run time. Without gnuplot there is no PNG: plot_lines
 * says so once on stderr and returns 0, never an error. */
#ifndef LM_CLI_PLOT_H
#define LM_CLI_PLOT_H

typedef struct {
    const char *label;
    int n;
    const double *x, *y;
} plot_series;

typedef struct {
    const char *title, *xlabel, *ylabel;
    int logx, logy;
} plot_axes;

/* Returns 1 when the PNG was written, 0 when gnuplot is missing or failed (with a note). */
int plot_lines(const char *png, const plot_axes *axes, const plot_series *s, int count);

/* Loss (log scale) and accuracy curves of one run folder from its metrics.jsonl, into
 * DIR/plots/loss.png and DIR/plots/accuracy.png. */
int plot_run(const char *dir);

/* Several runs' curves of `key` ("train_loss", "test_acc") on one PNG, labelled by folder. */
int plot_runs(const char *png, const char *key, int logy, const char *const *dirs, int count);

#endif
