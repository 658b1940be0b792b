/* The figures of src/cli/plot.c: a figure with a band, a reference line, points and a curve
 * writes a .dat file that holds exactly the drawable values and a .gp script that draws each
 * kind its own way (filled band, dashed reference without markers, points on top); with gnuplot
 * the PNG, its SVG copy and a PDF exist and `gnuplot NAME.gp` in the folder redraws them; without
 * gnuplot (a PATH that lacks it) the script and data are written and nothing fails. */
// ctest-labels: unit
#include "check.h"
#include "cli/plot.c" /* the CLI's plot module is no library code: compile it in */

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[600];

static char *slurp(const char *name)
{
    char path[800], *text = NULL;
    size_t len;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (lm_read_file(path, 1 << 24, &text, &len) != LM_OK) return NULL;
    return text;
}

static int exists(const char *name)
{
    char path[800];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

static int starts_with_file(const char *name, const char *magic)
{
    char *t = slurp(name);
    int ok = t && !strncmp(t, magic, strlen(magic));
    free(t);
    return ok;
}

/* The line of the script's plot command that draws data block `index` with `style`. */
static const char *element(const char *gp, int index, const char *style)
{
    char needle[64];
    snprintf(needle, sizeof needle, "index %d using", index);
    for (const char *p = strstr(gp, needle); p; p = strstr(p + 1, needle)) {
        const char *end = strchr(p, '\n');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *st = strstr(p, style);
        if (st && st < p + n) return p;
    }
    return NULL;
}

static size_t line_len(const char *p) { return strcspn(p, "\n"); }

static int line_has(const char *p, const char *word)
{
    const char *w = p ? strstr(p, word) : NULL;
    return w && w < p + line_len(p);
}

enum { N = 6 };
static const double xs[N] = {1, 2, 3, 4, 5, 6};
static const double mean[N] = {1, 0.5, 0.25, 0.125, 0.0625, 0.03125};
static const double lo[N] = {0.5, 0.25, 0.125, -1, 0.03125, 0.015625}; /* -1: at the axis' end */
static const double hi[N] = {2, 1, 0.5, 0.25, 0.125, 0.0625};
static const double sim[N] = {1.1, 0.45, NAN, 0.13, 0.06, -0.5}; /* NAN and -0.5 are not drawn */
static const double refx[2] = {1, 6}, refy[2] = {2, 0.0625};

static const lm_curve curves[] = {
    {.label = "sim_a (points)", .n = N, .x = xs, .y = sim, .kind = LM_CURVE_POINTS, .color = 2},
    {.label = "mean of seeds, band: min-max", .n = N, .x = xs, .y = mean, .kind = LM_CURVE_BAND, .lo = lo, .hi = hi},
    {.label = "exact", .n = N, .x = xs, .y = mean, .kind = LM_CURVE_LINE, .color = 2},
    {.label = "slope guide", .n = 2, .x = refx, .y = refy, .kind = LM_CURVE_REFERENCE},
    {.label = "empty", .n = 0, .x = xs, .y = mean},
};

/* The .dat blocks: the points block holds only the 4 drawable values, the band block all 6
 * rows with lo <= 0 replaced by the axis' lower end, which is below every drawn value. */
static void check_data(void)
{
    char *dat = slurp("fig.dat");
    CHECK_MSG(dat != NULL, "fig.dat missing");
    if (!dat) return;
    CHECK(strstr(dat, "# index 0 (points): 'sim_a (points)'") != NULL);
    CHECK(strstr(dat, "# index 1 (band: x y lo hi): 'mean of seeds, band: min-max'") != NULL);
    CHECK(strstr(dat, "\n1 1.1\n2 0.45\n4 0.13\n5 0.06\n\n\n") != NULL);
    CHECK(strstr(dat, "\n1 1 0.5 2\n2 0.5 0.25 1\n3 0.25 0.125 0.5\n4 0.125 ") != NULL);
    CHECK(strstr(dat, "\n5 0.0625 0.03125 0.125\n6 0.03125 0.015625 0.0625\n") != NULL);
    CHECK(strstr(dat, "# index 4") == NULL && strstr(dat, "'empty'") == NULL); /* no data, no block */
    const char *row4 = strstr(dat, "\n4 0.125 ");
    double edge = row4 ? strtod(row4 + 9, NULL) : 1;
    CHECK_MSG(edge > 0 && edge < 0.015625, "band edge -1 drawn at %g, not at the axis' end below 0.015625", edge);
    free(dat);
}

static void check_script(const char *gp)
{
    /* the band: a transparent fill between lo and hi, and its mean as a line with the label */
    const char *fill = element(gp, 1, "filledcurves"), *band = element(gp, 1, "with lines");
    CHECK_MSG(fill && line_has(fill, "using 1:3:4") && line_has(fill, "notitle"), "no band fill in the script");
    CHECK(band && line_has(band, "title 'mean of seeds, band: min-max' noenhanced"));
    /* the reference: dashed, a line without markers, grey */
    const char *ref = element(gp, 3, "with lines");
    CHECK_MSG(ref && line_has(ref, "dt 2") && !line_has(ref, "pt ") && !line_has(ref, "points"),
              "the reference is not a dashed line without markers");
    CHECK(ref && line_has(ref, "#505050"));
    /* the points: markers only, in the colour of their exact curve, drawn after every line */
    const char *pts = element(gp, 0, "with points"), *exact = element(gp, 2, "with lines");
    CHECK_MSG(pts && exact && pts > exact && pts > ref && pts > band, "the points are not drawn last");
    CHECK(pts && exact && line_has(pts, "#D55E00") && line_has(exact, "#D55E00"));
    CHECK(fill && ref && fill < ref && ref < band); /* fill, references, curves, points */
    CHECK(strstr(gp, "index 4") == NULL);
    /* titles as given (underscore and quote), the legend inside, a log axis in powers of ten */
    CHECK(strstr(gp, "set title 'reg_mass: it''s' noenhanced") != NULL);
    CHECK(strstr(gp, "set key inside top right") != NULL);
    CHECK(strstr(gp, "set format y '10^{%L}'") != NULL);
    CHECK(strstr(gp, "set output 'fig.png'") && strstr(gp, "set output 'fig.svg'") && strstr(gp, "'fig.dat'"));
    CHECK(strstr(gp, dir) == NULL); /* names relative to its folder: it runs from there */
}

/* With gnuplot: PNG, SVG and PDF exist, and the script alone redraws them. */
static void check_drawn(int drawn)
{
    CHECK_MSG(drawn == 1, "gnuplot is installed but plot_draw returned %d", drawn);
    CHECK(starts_with_file("fig.png", "\x89PNG"));
    char *svg = slurp("fig.svg");
    CHECK_MSG(svg && strstr(svg, "<svg"), "fig.svg missing or not an SVG");
    free(svg);
    char cmd[900], png[800], svgp[800];
    snprintf(png, sizeof png, "%s/fig.png", dir);
    snprintf(svgp, sizeof svgp, "%s/fig.svg", dir);
    remove(png), remove(svgp);
    snprintf(cmd, sizeof cmd, "cd '%s' && gnuplot fig.gp 2>/dev/null", dir);
    CHECK_MSG(system(cmd) == 0 && exists("fig.png") && exists("fig.svg"), "'gnuplot fig.gp' did not redraw the figure");

    lm_figure f = {.title = "pdf", .xlabel = "x", .ylabel = "y", .n_curves = 4, .curves = curves};
    char pdf[800];
    snprintf(pdf, sizeof pdf, "%s/vec.pdf", dir);
    CHECK(plot_draw(pdf, &f) == 1 && starts_with_file("vec.pdf", "%PDF"));
    CHECK(!exists("vec.svg") && exists("vec.gp") && exists("vec.dat"));
}

/* Other axes: a narrow log range gets 1-2-5 tics, categories get points and whole tics, a
 * measured curve draws as a line with markers, and an unknown ending draws nothing. */
static void check_axes(void)
{
    char path[800];
    static const double narrow[3] = {0.3, 0.45, 0.7};
    lm_curve c = {.label = "narrow", .n = 3, .x = xs, .y = narrow};
    lm_figure f = {.title = "t", .xlabel = "input i", .ylabel = "y", .logy = 1, .categorical_x = 1, .n_curves = 1, .curves = &c};
    snprintf(path, sizeof path, "%s/cat.png", dir);
    plot_draw(path, &f);
    char *gp = slurp("cat.gp");
    CHECK_MSG(gp && strstr(gp, "set format y '%h'") && strstr(gp, "set ytics (0.3, 0.4, 0.5, 0.6, 0.7)"),
              "narrow log axis: no 1-2-5 (or digit) tics");
    CHECK(gp && element(gp, 0, "with points") && !element(gp, 0, "linespoints") && strstr(gp, "set xtics 1"));
    free(gp);

    lm_curve lp = {.label = "measured", .kind = LM_CURVE_LINESPOINTS, .n = 3, .x = xs, .y = narrow};
    lm_figure lf = {.title = "linespoints", .xlabel = "x", .ylabel = "y", .n_curves = 1, .curves = &lp};
    snprintf(path, sizeof path, "%s/old.png", dir);
    plot_draw(path, &lf);
    gp = slurp("old.gp");
    CHECK(gp && element(gp, 0, "with linespoints") && strstr(gp, "set key below"));
    free(gp);

    snprintf(path, sizeof path, "%s/bad.jpg", dir);
    CHECK(plot_draw(path, &f) == 0 && !exists("bad.jpg") && !exists("bad.gp"));
}

/* No gnuplot on the PATH: the script and the data, a return of 0, no figure. */
static void check_without_gnuplot(void)
{
    char empty[700], path[800];
    snprintf(empty, sizeof empty, "%s/nobin", dir);
    mkdir(empty, 0777);
    char *saved = strdup(getenv("PATH") ? getenv("PATH") : "");
    setenv("PATH", empty, 1);
    CHECK(!plot_can_draw());
    snprintf(path, sizeof path, "%s/bare.png", dir);
    lm_figure f = {.title = "bare", .xlabel = "x", .ylabel = "y", .logy = 1, .n_curves = 4, .curves = curves};
    CHECK(plot_draw(path, &f) == 0);
    CHECK(exists("bare.gp") && exists("bare.dat") && !exists("bare.png") && !exists("bare.svg"));
    setenv("PATH", saved, 1);
    free(saved);
}

int main(void)
{
    if (!check_make_tmpdir(dir, sizeof dir, "lm_plot")) return check_summary();
    char path[800];
    snprintf(path, sizeof path, "%s/fig.png", dir);
    lm_figure f = {.title = "reg_mass: it's", .xlabel = "step", .ylabel = "E |w - w*|^2", .logy = 1,
                   .legend = LM_LEGEND_TOP_RIGHT, .n_curves = 5, .curves = curves};
    int drawn = plot_draw(path, &f);
    check_data();
    char *gp = slurp("fig.gp");
    CHECK_MSG(gp != NULL, "fig.gp missing");
    if (gp) check_script(gp);
    free(gp);
    if (plot_can_draw()) check_drawn(drawn);
    else printf("gnuplot is not installed: the drawing checks are skipped (the script checks ran)\n");
    check_axes();
    check_without_gnuplot();
    check_remove_tmpdir(dir);
    return check_summary();
}
