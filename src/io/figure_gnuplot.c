/* A figure (linmass/report.h) as gnuplot files in one style: its data (NAME.dat) and the script
 * that draws it (NAME.gp), both in the figure's folder; running gnuplot is the caller's part. */
#include "linmass/report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linmass/io.h"


/* Okabe and Ito's colour-blind-safe palette; yellow last, being faint on white. */
static const char *const palette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                      "#E69F00", "#56B4E9", "#000000", "#F0E442"};
enum { NPALETTE = sizeof palette / sizeof *palette };
static const char grey[] = "#505050";
static const int point_types[] = {7, 5, 9, 11, 13}; /* circle, square, triangles, diamond */

static const struct {
    const char *ext, *terminal;
} formats[] = {
    {".png", "pngcairo size 900,600 enhanced font 'DejaVu Sans,11'"},
    {".svg", "svg size 900,600 dynamic enhanced font 'DejaVu Sans,11' background '#ffffff'"},
    {".pdf", "pdfcairo size 6in,4in enhanced font 'DejaVu Sans,10'"},
};
enum { NFORMATS = sizeof formats / sizeof *formats };

static int format_index(const char *path)
{
    size_t n = strlen(path);
    for (int k = 0; k < NFORMATS; k++)
        if (n > 4 && !strcmp(path + n - 4, formats[k].ext) && path[n - 5] != '/') return k;
    return -1;
}

int lm_figure_format_ok(const char *path) { return path && format_index(path) >= 0; }

/* ---- what is drawn ---- */

static lm_curve_kind kind_of(const lm_curve *s)
{
    if (s->kind == LM_CURVE_BAND && (!s->lo || !s->hi)) return LM_CURVE_LINE;
    return s->kind <= LM_CURVE_POINTS ? s->kind : LM_CURVE_LINESPOINTS;
}

static int drawable(const lm_figure *a, const lm_curve *s, int j)
{
    double x = s->x[j], y = s->y[j];
    if (!isfinite(x) || !isfinite(y) || (a->logx && x <= 0) || (a->logy && y <= 0)) return 0;
    if (kind_of(s) != LM_CURVE_BAND) return 1;
    return isfinite(s->lo[j]) && isfinite(s->hi[j]) && (!a->logy || s->hi[j] > 0);
}

typedef struct {
    double lo, hi;
    int ok;
} range;

static void widen(range *r, double v)
{
    if (!isfinite(v) || v <= 0) return;
    if (!r->ok || v < r->lo) r->lo = v;
    if (!r->ok || v > r->hi) r->hi = v;
    r->ok = 1;
}

/* The extent of the x values drawn (for categories). */
static range x_extent(const lm_figure *a, const lm_curve *s, int count)
{
    range r = {0, 0, 0};
    for (int i = 0; i < count; i++)
        for (int j = 0; j < s[i].n; j++) {
            if (!drawable(a, &s[i], j)) continue;
            if (!r.ok || s[i].x[j] < r.lo) r.lo = s[i].x[j];
            if (!r.ok || s[i].x[j] > r.hi) r.hi = s[i].x[j];
            r.ok = 1;
        }
    return r;
}

/* The positive values on one axis (band edges included), padded a little. */
static range log_range(const lm_figure *a, const lm_curve *s, int count, int yaxis)
{
    range r = {0, 0, 0};
    for (int i = 0; i < count; i++)
        for (int j = 0; j < s[i].n; j++) {
            if (!drawable(a, &s[i], j)) continue;
            widen(&r, yaxis ? s[i].y[j] : s[i].x[j]);
            if (yaxis && kind_of(&s[i]) == LM_CURVE_BAND) widen(&r, s[i].lo[j]), widen(&r, s[i].hi[j]);
        }
    if (r.ok) {
        double pad = pow(r.hi / r.lo, 0.04);
        if (pad < 1.02) pad = 1.02;
        r.lo /= pad, r.hi *= pad;
    }
    return r;
}

/* ---- the .dat file ---- */

static void put_quoted(FILE *f, const char *text)
{
    fputc('\'', f);
    for (; text && *text; text++) {
        if (*text == '\'') fputs("''", f);
        else fputc(*text == '\n' || *text == '\r' ? ' ' : *text, f);
    }
    fputc('\'', f);
}

/* One block per series with data; block[i] is series i's gnuplot index, -1 for none. Returns
 * the number of blocks. */
static int write_data(FILE *f, const lm_figure *a, const lm_curve *s, int count, range y, int *block)
{
    static const char *const kinds[] = {"line", "linespoints", "band: x y lo hi", "reference", "points"};
    int nb = 0;
    for (int i = 0; i < count; i++) {
        int rows = 0;
        for (int j = 0; j < s[i].n; j++) rows += drawable(a, &s[i], j);
        block[i] = rows ? nb : -1;
        if (!rows) continue;
        fprintf(f, "%s# index %d (%s): ", nb++ ? "\n\n" : "", block[i], kinds[kind_of(&s[i])]);
        put_quoted(f, s[i].label);
        fputc('\n', f);
        for (int j = 0; j < s[i].n; j++) {
            if (!drawable(a, &s[i], j)) continue;
            fprintf(f, "%.10g %.10g", s[i].x[j], s[i].y[j]);
            if (kind_of(&s[i]) == LM_CURVE_BAND) /* an edge at or below 0 on a log axis: the axis' end */
                fprintf(f, " %.10g %.10g", a->logy && s[i].lo[j] <= 0 ? y.lo : s[i].lo[j], s[i].hi[j]);
            fputc('\n', f);
        }
    }
    return nb;
}

/* ---- the .gp script ---- */

/* The values m 10^e inside r (m from the 0-terminated list mult): how many, and (when f is
 * not NULL) printed as a gnuplot tic list. */
static int tics_inside(FILE *f, range r, const int *mult)
{
    int n = 0;
    for (int e = (int)floor(log10(r.lo)); e <= (int)floor(log10(r.hi)); e++)
        for (const int *m = mult; *m; m++) {
            double v = *m * pow(10, e);
            if (v < r.lo || v > r.hi) continue;
            if (f) fprintf(f, "%s%.6g", n ? ", " : "", v);
            n++;
        }
    return n;
}

/* Evenly spaced tics inside r, 1, 2 or 5 times a power of ten apart: three to six of them. */
static void tics_even(FILE *f, range r)
{
    double raw = (r.hi - r.lo) / 6, mag = pow(10, floor(log10(raw))), step = mag;
    if (step < raw) step = 2 * mag;
    if (step < raw) step = 5 * mag;
    const char *sep = "";
    for (double v = ceil(r.lo / step) * step; v <= r.hi; v += step) fprintf(f, "%s%.6g", sep, v), sep = ", ";
}

static void log_axis(FILE *f, char axis, range r)
{
    fprintf(f, "set logscale %c 10\n", axis);
    if (!r.ok) return;
    fprintf(f, "set %crange [%.6g:%.6g]\n", axis, r.lo, r.hi);
    int first = (int)ceil(log10(r.lo)), last = (int)floor(log10(r.hi));
    if (last > first) { /* two powers of ten or more inside */
        fprintf(f, "set format %c '10^{%%L}'\n", axis);
        return;
    }
    /* less than that: 1, 2 and 5 times powers of ten, or every digit, or (on a narrower range
     * still) evenly spaced values, whichever first gives three tics */
    static const int few[] = {1, 2, 5, 0}, all[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 0};
    fprintf(f, "set format %c '%%h'\nset %ctics (", axis, axis);
    if (tics_inside(NULL, r, few) >= 3) tics_inside(f, r, few);
    else if (tics_inside(NULL, r, all) >= 3) tics_inside(f, r, all);
    else tics_even(f, r);
    fprintf(f, ")\n");
}

static void write_axes(FILE *f, const lm_figure *a, range x, range y)
{
    static const char *const keys[] = {
        "set key below center horizontal reverse Left samplen 3",
        "set key inside top right opaque box reverse Left samplen 3",
        "set key inside top left opaque box reverse Left samplen 3",
        "set key inside bottom right opaque box reverse Left samplen 3",
        "set key inside bottom left opaque box reverse Left samplen 3", "unset key"};
    fputs("set title ", f), put_quoted(f, a->title), fputs(" noenhanced\n", f);
    fputs("set xlabel ", f), put_quoted(f, a->xlabel), fputs(" noenhanced\n", f);
    fputs("set ylabel ", f), put_quoted(f, a->ylabel), fputs(" noenhanced\n", f);
    fprintf(f, "set grid lc rgb '#d8d8d8' lw 1\nset border lw 1\n%s\n", keys[a->legend <= LM_LEGEND_NONE ? a->legend : 0]);
    if (a->logx) log_axis(f, 'x', x);
    else if (a->categorical_x) fprintf(f, "%sset offsets 0.5, 0.5, 0, 0\n", x.hi - x.lo <= 20 ? "set xtics 1\n" : "");
    else fputs("set autoscale xfix\n", f);
    if (a->logy) log_axis(f, 'y', y);
}

/* Layers, bottom to top: 0 band fills, 1 references, 2 curves, 3 points. */
static int layer_of(const lm_figure *a, lm_curve_kind k)
{
    if (k == LM_CURVE_REFERENCE) return 1;
    if (k == LM_CURVE_POINTS || a->categorical_x) return 3;
    return 2;
}

/* Each curve's colour: its own, grey for a reference, else the next palette colour that no curve
 * asks for by number. */
static void assign_colors(const lm_curve *s, int count, const char **color)
{
    int taken[NPALETTE] = {0}, next = 0;
    for (int i = 0; i < count; i++)
        if (s[i].color > 0) taken[(s[i].color - 1) % NPALETTE] = 1;
    for (int i = 0; i < count; i++) {
        if (s[i].color > 0) color[i] = palette[(s[i].color - 1) % NPALETTE];
        else if (kind_of(&s[i]) == LM_CURVE_REFERENCE) color[i] = grey;
        else {
            for (int tries = 0; tries < NPALETTE && taken[next % NPALETTE]; tries++) next++;
            color[i] = palette[next++ % NPALETTE];
        }
    }
}

static void write_element(FILE *f, const char *dat, const lm_figure *a, const lm_curve *s, const char *color,
                          int i, int block, int layer)
{
    lm_curve_kind k = kind_of(s);
    int pt = point_types[i % (int)(sizeof point_types / sizeof *point_types)];
    put_quoted(f, dat);
    fprintf(f, " index %d ", block);
    if (layer == 0) {
        fprintf(f, "using 1:3:4 with filledcurves fs transparent solid 0.2 noborder lc rgb '%s' notitle", color);
        return;
    }
    if (k == LM_CURVE_REFERENCE) fprintf(f, "using 1:2 with lines dt 2 lw 1.5 lc rgb '%s'", color);
    else if (a->categorical_x && k == LM_CURVE_BAND) fprintf(f, "using 1:2:3:4 with yerrorbars pt %d ps 1 lc rgb '%s'", pt, color);
    else if (a->categorical_x) fprintf(f, "using 1:2 with points pt %d ps 1 lc rgb '%s'", pt, color);
    else if (k == LM_CURVE_POINTS) fprintf(f, "using 1:2 with points pt 7 ps 1 lc rgb '%s'", color);
    else if (k == LM_CURVE_LINESPOINTS) fprintf(f, "using 1:2 with linespoints lw 2 pt 7 ps 0.5 lc rgb '%s'", color);
    else fprintf(f, "using 1:2 with lines lw 2 lc rgb '%s'", color);
    if (s->label && *s->label) fputs(" title ", f), put_quoted(f, s->label), fputs(" noenhanced", f);
    else fputs(" notitle", f);
}

static void write_plot(FILE *f, const char *dat, const lm_figure *a, const lm_curve *s, int count,
                       const int *block)
{
    const char *sep = "plot ", **color = malloc(count * sizeof *color);
    if (!color) return;
    assign_colors(s, count, color);
    for (int layer = 0; layer < 4; layer++)
        for (int i = 0; i < count; i++) {
            lm_curve_kind k = kind_of(&s[i]);
            int here = layer == 0 ? k == LM_CURVE_BAND && !a->categorical_x : layer_of(a, k) == layer;
            if (block[i] < 0 || !here) continue;
            fputs(sep, f);
            write_element(f, dat, a, &s[i], color[i], i, block[i], layer);
            sep = ", \\\n     ";
        }
    fputc('\n', f);
    free(color);
}

/* The script: draws NAME.EXT (and NAME.svg after a PNG) from NAME.dat, in its own folder. */
static void write_script(FILE *f, const char *name, int format, const lm_figure *a, const lm_curve *s,
                         int count, const int *block, range x, range y)
{
    char dat[600];
    snprintf(dat, sizeof dat, "%s.dat", name);
    if (format == 0)
        fprintf(f, "# A linmass figure: 'gnuplot %s.gp' in this folder draws %s.png and its vector copy %s.svg.\n",
                name, name, name);
    else
        fprintf(f, "# A linmass figure: 'gnuplot %s.gp' in this folder draws %s%s.\n", name, name, formats[format].ext);
    fprintf(f, "# Its data are in %s: one block per series (index 0, 1, ...), columns x y (x y lo hi for a band).\n",
            dat);
    char out[600];
    snprintf(out, sizeof out, "%s%s", name, formats[format].ext);
    fprintf(f, "set encoding utf8\nset terminal %s\nset output ", formats[format].terminal);
    put_quoted(f, out);
    fputc('\n', f);
    write_axes(f, a, x, y);
    write_plot(f, dat, a, s, count, block);
    if (format == 0) {
        snprintf(out, sizeof out, "%s.svg", name);
        fprintf(f, "set terminal %s\nset output ", formats[1].terminal);
        put_quoted(f, out);
        fputs("\nreplot\n", f);
    }
    fputs("unset output\n", f);
}

/* ---- the files ---- */

enum { PATH_DIR_MAX = 4096, PATH_NAME_MAX = 512 };

/* DIR and NAME of PATH = DIR/NAME.EXT (EXT being 3 letters): DIR "." for a bare name, "/" at the
 * root. */
static void split_path(const char *path, char *dir, size_t dir_len, char *name, size_t name_len)
{
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    snprintf(dir, dir_len, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    snprintf(name, name_len, "%.*s", (int)(strlen(base) - 4), base);
    if (!*dir) snprintf(dir, dir_len, "/");
}

/* Write text (from a memory stream) to DIR/NAME.EXT, creating DIR. */
static lm_status save(const char *dir, const char *name, const char *ext, const char *text, size_t len)
{
    char path[PATH_DIR_MAX + PATH_NAME_MAX + 8];
    snprintf(path, sizeof path, "%s/%s%s", dir, name, ext);
    lm_status st = lm_mkdir_p(dir);
    if (!st) st = lm_write_file_atomic(path, text, len);
    if (!st) return LM_OK;
    char why[1024]; /* lm_fail writes the message it is given */
    snprintf(why, sizeof why, "%s", lm_error_message());
    return lm_fail(st, "no figure %s/%s: %s", dir, name, why);
}

/* The .dat and .gp files of figure a as DIR/NAME.dat and DIR/NAME.gp (none without a data
 * block); *blocks the number of data blocks. */
static lm_status write_files(const char *dir, const char *name, int format, const lm_figure *a, int *blocks)
{
    int count = a->n_curves, *block = malloc(count * sizeof *block);
    const lm_curve *s = a->curves;
    range x = a->logx ? log_range(a, s, count, 0) : x_extent(a, s, count);
    range y = a->logy ? log_range(a, s, count, 1) : (range){0, 0, 0};
    char *dat = NULL, *gp = NULL;
    size_t dat_len = 0, gp_len = 0;
    FILE *df = open_memstream(&dat, &dat_len), *gf = open_memstream(&gp, &gp_len);
    lm_status st = LM_OK;
    if (block && df && gf) {
        *blocks = write_data(df, a, s, count, y, block);
        write_script(gf, name, format, a, s, count, block, x, y);
        fclose(df), fclose(gf), df = gf = NULL;
        if (*blocks > 0) st = save(dir, name, ".dat", dat, dat_len);
        if (*blocks > 0 && !st) st = save(dir, name, ".gp", gp, gp_len);
    } else
        st = lm_fail(LM_ENOMEM, "no figure %s/%s: out of memory", dir, name);
    if (df) fclose(df);
    if (gf) fclose(gf);
    free(dat), free(gp), free(block);
    return st;
}

/* The files of figure f at path (DIR and NAME of it into dir and name), *blocks the data blocks
 * written (0: none, nothing written). */
static lm_status write_gnuplot(const char *path, const lm_figure *f, char *dir, char *name, int *blocks)
{
    int format = path ? format_index(path) : -1;
    *blocks = 0;
    if (format < 0)
        return lm_fail(LM_EINVAL, "figure path '%s': the format comes from the ending: .png, .svg or .pdf",
                       path ? path : "(null)");
    if (!f || f->n_curves <= 0 || !f->curves) return LM_OK;
    for (int i = 0; i < f->n_curves; i++)
        if (f->curves[i].n > 0 && (!f->curves[i].x || !f->curves[i].y))
            return lm_fail(LM_EINVAL, "figure path '%s': curve %d has n %d values but no x or y", path, i, f->curves[i].n);
    split_path(path, dir, PATH_DIR_MAX, name, PATH_NAME_MAX);
    return write_files(dir, name, format, f, blocks);
}

lm_status lm_figure_write_gnuplot(const char *path, const lm_figure *f, int *curves)
{
    char dir[PATH_DIR_MAX], name[PATH_NAME_MAX];
    int blocks;
    lm_status st = write_gnuplot(path, f, dir, name, &blocks);
    if (curves) *curves = blocks;
    return st;
}

lm_status lm_figure_draw(const char *path, const lm_figure *f, lm_figure_draw_fn draw, void *ctx, int *drawn)
{
    char dir[PATH_DIR_MAX], name[PATH_NAME_MAX];
    int blocks;
    lm_status st = write_gnuplot(path, f, dir, name, &blocks);
    if (drawn) *drawn = !st && blocks && draw ? draw(ctx, dir, name, path) : 0;
    return st;
}
