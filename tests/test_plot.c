/* A figure as gnuplot files (lm_figure_write_gnuplot, linmass/report.h): a figure with a band,
 * a reference line, points and a curve writes a .dat file that holds exactly the drawable values
 * and a .gp script that draws each kind its own way (filled band, dashed reference without
 * markers, points on top); the ending decides the format (others: LM_EINVAL naming the path,
 * nothing written), as is a curve without x; a figure without a drawable value writes nothing;
 * lm_figure_draw hands the folder, name and path to its hook; an unwritable folder is LM_EIO.
 * With gnuplot installed, `gnuplot NAME.gp` in the folder draws the PNG with its SVG copy, and a
 * PDF. */
// ctest-labels: unit
#include "check.h"
#include "linmass/io.h"
#include "linmass/report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[600];

static int exists(const char *name)
{
    char path[800];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

static int starts_with_file(const char *name, const char *magic)
{
    char *t = check_slurp(dir, name);
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
    char *dat = check_slurp(dir, "fig.dat");
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

/* `gnuplot NAME.gp` in the folder, after removing what it should draw: 1 when every file of
 * `drawn` (space separated) then exists. */
static int gnuplot_draws(const char *gp, const char *drawn)
{
    char cmd[1400], list[200], path[800];
    snprintf(list, sizeof list, "%s", drawn);
    for (char *t = strtok(list, " "); t; t = strtok(NULL, " ")) snprintf(path, sizeof path, "%s/%s", dir, t), remove(path);
    snprintf(cmd, sizeof cmd, "cd '%s' && gnuplot %s 2>/dev/null", dir, gp);
    if (system(cmd) != 0) return 0;
    snprintf(list, sizeof list, "%s", drawn);
    for (char *t = strtok(list, " "); t; t = strtok(NULL, " "))
        if (!exists(t)) return 0;
    return 1;
}

/* With gnuplot: the PNG and its SVG copy from one script, a PDF from another and no SVG. */
static void check_drawn(void)
{
    CHECK_MSG(gnuplot_draws("fig.gp", "fig.png fig.svg"), "'gnuplot fig.gp' did not draw fig.png and fig.svg");
    CHECK(starts_with_file("fig.png", "\x89PNG"));
    char *svg = check_slurp(dir, "fig.svg");
    CHECK_MSG(svg && strstr(svg, "<svg"), "fig.svg missing or not an SVG");
    free(svg);

    lm_figure f = {.title = "pdf", .xlabel = "x", .ylabel = "y", .n_curves = 4, .curves = curves};
    char pdf[800];
    int n = -1;
    snprintf(pdf, sizeof pdf, "%s/vec.pdf", dir);
    CHECK(lm_figure_write_gnuplot(pdf, &f, &n) == LM_OK && n == 4);
    CHECK(gnuplot_draws("vec.gp", "vec.pdf") && starts_with_file("vec.pdf", "%PDF"));
    CHECK(!exists("vec.svg"));
}

/* Other axes: a narrow log range gets 1-2-5 tics, categories get points and whole tics, a
 * measured curve draws as a line with markers; an unknown ending is refused naming the path,
 * and a figure without a drawable value writes nothing. */
static void check_axes(void)
{
    char path[800];
    int n = -1;
    static const double narrow[3] = {0.3, 0.45, 0.7};
    lm_curve c = {.label = "narrow", .n = 3, .x = xs, .y = narrow};
    lm_figure f = {.title = "t", .xlabel = "input i", .ylabel = "y", .logy = 1, .categorical_x = 1, .n_curves = 1, .curves = &c};
    snprintf(path, sizeof path, "%s/cat.png", dir);
    CHECK(lm_figure_write_gnuplot(path, &f, &n) == LM_OK && n == 1);
    char *gp = check_slurp(dir, "cat.gp");
    CHECK_MSG(gp && strstr(gp, "set format y '%h'") && strstr(gp, "set ytics (0.3, 0.4, 0.5, 0.6, 0.7)"),
              "narrow log axis: no 1-2-5 (or digit) tics");
    CHECK(gp && element(gp, 0, "with points") && !element(gp, 0, "linespoints") && strstr(gp, "set xtics 1"));
    free(gp);

    lm_curve lp = {.label = "measured", .kind = LM_CURVE_LINESPOINTS, .n = 3, .x = xs, .y = narrow};
    lm_figure lf = {.title = "linespoints", .xlabel = "x", .ylabel = "y", .n_curves = 1, .curves = &lp};
    snprintf(path, sizeof path, "%s/old.svg", dir);
    CHECK(lm_figure_write_gnuplot(path, &lf, NULL) == LM_OK);
    gp = check_slurp(dir, "old.gp");
    CHECK(gp && element(gp, 0, "with linespoints") && strstr(gp, "set key below"));
    CHECK(gp && strstr(gp, "set output 'old.svg'") && !strstr(gp, "replot")); /* an SVG: no copy */
    free(gp);

    CHECK(lm_figure_format_ok("a/b.png") && lm_figure_format_ok("b.svg") && lm_figure_format_ok("/b.pdf"));
    CHECK(!lm_figure_format_ok("b.jpg") && !lm_figure_format_ok("a/.png") && !lm_figure_format_ok("png") &&
          !lm_figure_format_ok(NULL));
    snprintf(path, sizeof path, "%s/bad.jpg", dir);
    n = -1;
    CHECK(lm_figure_write_gnuplot(path, &f, &n) == LM_EINVAL && n == 0);
    CHECK_MSG(strstr(lm_error_message(), path) != NULL, "the ending's error does not name the path: %s", lm_error_message());
    CHECK(!exists("bad.jpg") && !exists("bad.gp") && !exists("bad.dat"));

    lm_curve nox = {.label = "no x", .n = 2, .y = narrow};
    lm_figure xf = {.title = "no x", .n_curves = 1, .curves = &nox};
    snprintf(path, sizeof path, "%s/nox.png", dir);
    CHECK(lm_figure_write_gnuplot(path, &xf, &n) == LM_EINVAL && n == 0 && !exists("nox.gp"));
    CHECK_MSG(strstr(lm_error_message(), "curve 0 has n 2 values but no x or y") != NULL, "%s", lm_error_message());

    static const double negative[2] = {-1, 0};
    lm_curve none[2] = {{.label = "nan", .n = 1, .x = xs, .y = sim + 2}, {.label = "<= 0", .n = 2, .x = xs, .y = negative}};
    lm_figure nf = {.title = "nothing", .logy = 1, .n_curves = 2, .curves = none};
    snprintf(path, sizeof path, "%s/none.png", dir);
    n = -1;
    CHECK(lm_figure_write_gnuplot(path, &nf, &n) == LM_OK && n == 0);
    CHECK(!exists("none.gp") && !exists("none.dat"));
}

/* lm_figure_draw: the hook gets the folder, the name and the path once the files are written,
 * and its return; a new folder is created; a folder that is a file is LM_EIO. */
typedef struct {
    int calls;
    char dir[700], name[64], path[800];
} hook_seen;

static int hook(void *ctx, const char *d, const char *name, const char *path)
{
    hook_seen *h = ctx;
    h->calls++;
    snprintf(h->dir, sizeof h->dir, "%s", d);
    snprintf(h->name, sizeof h->name, "%s", name);
    snprintf(h->path, sizeof h->path, "%s", path);
    return 7;
}

static void check_draw_hook(void)
{
    char path[800], sub[700];
    hook_seen h = {0};
    int drawn = -1;
    lm_figure f = {.title = "hook", .n_curves = 2, .curves = curves + 2};
    snprintf(sub, sizeof sub, "%s/new/deeper", dir);
    snprintf(path, sizeof path, "%s/h.pdf", sub);
    CHECK(lm_figure_draw(path, &f, hook, &h, &drawn) == LM_OK && drawn == 7 && h.calls == 1);
    CHECK(!strcmp(h.dir, sub) && !strcmp(h.name, "h") && !strcmp(h.path, path));
    CHECK(exists("new/deeper/h.gp") && exists("new/deeper/h.dat"));

    lm_figure empty = {.title = "empty", .n_curves = 1, .curves = curves + 4};
    snprintf(path, sizeof path, "%s/e.png", dir);
    CHECK(lm_figure_draw(path, &empty, hook, &h, &drawn) == LM_OK && drawn == 0 && h.calls == 1);
    CHECK(lm_figure_draw(path, &f, NULL, NULL, &drawn) == LM_OK && drawn == 0 && exists("e.gp"));

    snprintf(path, sizeof path, "%s/e.gp/x.png", dir); /* e.gp is a file */
    CHECK(lm_figure_draw(path, &f, hook, &h, &drawn) == LM_EIO && drawn == 0 && h.calls == 1);
    char want[1400];
    snprintf(want, sizeof want, "no figure %s/e.gp/x: %s/e.gp: ", dir, dir); /* the folder, then why */
    CHECK_MSG(!strncmp(lm_error_message(), want, strlen(want)), "message: %s", lm_error_message());
}

int main(void)
{
    if (!check_make_tmpdir(dir, sizeof dir, "lm_plot")) return check_summary();
    char path[800];
    snprintf(path, sizeof path, "%s/fig.png", dir);
    lm_figure f = {.title = "reg_mass: it's", .xlabel = "step", .ylabel = "E |w - w*|^2", .logy = 1,
                   .legend = LM_LEGEND_TOP_RIGHT, .n_curves = 5, .curves = curves};
    int n = -1;
    CHECK(lm_figure_write_gnuplot(path, &f, &n) == LM_OK);
    CHECK_MSG(n == 4, "%d curves with drawable values, not 4 (the empty one has none)", n);
    check_data();
    char *gp = check_slurp(dir, "fig.gp");
    CHECK_MSG(gp != NULL, "fig.gp missing");
    if (gp) check_script(gp);
    free(gp);
    if (system("command -v gnuplot >/dev/null 2>&1") == 0) check_drawn();
    else printf("gnuplot is not installed: the drawing checks are skipped (the file checks ran)\n");
    check_axes();
    check_draw_hook();
    check_remove_tmpdir(dir);
    return check_summary();
}
