/* Numeric CSV files: "csv:FILE[:target=NAME][:classes=K][:test=F]".
 *
 * Fields are separated by commas; spaces around a field and double quotes around it are ignored.
 * The first line is a header when every field in it is a name (not a number); a line that mixes
 * names and numbers is an error, since it is either a broken header or a broken row. Blank lines
 * and lines starting with '#' are skipped. Every row must have as many fields as the first, and
 * every field must be a finite number that fits in float32.
 *
 * The target is the last column unless target=NAME names a header column (or gives a 1-based
 * column number); the other columns, in file order, are the features, shape (d,1,1). Without
 * classes=K it is regression (target_dim 1); with it the target must be an integer in 0..K-1.
 * The test split is the last round(F * rows) rows (F = test=, default 0.2), the train split the
 * rows before them: a file that is sorted by time therefore tests on the future. */
#include "data_internal.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char file[4096];
    char target[256]; /* "" = last column */
    long classes;     /* 0 = regression */
    double test;      /* fraction of rows at the end that form the test split */
} csv_options;

typedef struct {
    const char *a, *b; /* [a, b): the field without spaces and quotes */
} field;

typedef struct {
    const csv_options *opt;
    int ncols, has_header;
    char **names;       /* ncols header names, or NULL */
    float *values;      /* rows * ncols */
    size_t rows, cap;
    long first_line;    /* line of the first row that fixed ncols */
    int tc;             /* the target column */
} csv_table;

static lm_status target_column(const csv_table *t, int *col);

/* ---- options ---- */

static int is_option(const char *seg)
{
    return strncmp(seg, "target=", 7) == 0 || strncmp(seg, "classes=", 8) == 0 ||
           strncmp(seg, "test=", 5) == 0;
}

static lm_status apply_option(csv_options *o, const char *kv)
{
    char what[320];
    snprintf(what, sizeof what, "csv:%.200s: option '%.100s'", o->file, kv);
    if (strncmp(kv, "target=", 7) == 0) {
        if (!kv[7] || strlen(kv + 7) >= sizeof o->target)
            return lm_fail(LM_EINVAL, "%s: needs a column name or number", what);
        snprintf(o->target, sizeof o->target, "%s", kv + 7);
        return LM_OK;
    }
    if (strncmp(kv, "classes=", 8) == 0) return lm_parse_long(kv + 8, 2, 1L << 24, what, &o->classes);
    if (strncmp(kv, "test=", 5) == 0) {
        lm_status s = lm_parse_double(kv + 5, what, &o->test);
        if (!s && !(o->test >= 0 && o->test < 1))
            s = lm_fail(LM_EINVAL, "%s: the test fraction must be in [0, 1)", what);
        return s;
    }
    return lm_fail(LM_EINVAL, "%s: unknown option (target=, classes=, test=)", what);
}

/* Options are the trailing ":key=value[,key=value]" segments; the rest is the file name, which
 * may itself contain ':'. */
static lm_status parse_arg(const char *arg, csv_options *o)
{
    memset(o, 0, sizeof *o);
    o->test = 0.2;
    if (strlen(arg) >= sizeof o->file) return lm_fail(LM_EINVAL, "csv: file name too long");
    strcpy(o->file, arg);
    char *colon;
    while ((colon = strrchr(o->file, ':')) && is_option(colon + 1)) {
        *colon = '\0';
        char *save;
        for (char *kv = strtok_r(colon + 1, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
            lm_status s = apply_option(o, kv);
            if (s) return s;
        }
    }
    if (!o->file[0]) return lm_fail(LM_EINVAL, "csv: no file name in 'csv:%s'", arg);
    return LM_OK;
}

/* ---- reading ---- */

static lm_status slurp(const char *path, char **text, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return lm_fail(LM_EIO, "%s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = NULL;
    for (;;) {
        char *nb = realloc(buf, cap);
        if (!nb) {
            free(buf);
            fclose(f);
            return lm_fail(LM_ENOMEM, "%s: out of memory reading the file", path);
        }
        buf = nb;
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1) break; /* end of file (or an error, checked below) */
        cap *= 2;
    }
    int err = ferror(f) ? (errno ? errno : EIO) : 0; /* EISDIR for a folder */
    fclose(f);
    if (err) {
        free(buf);
        return lm_fail(LM_EIO, "%s: cannot read: %s", path, strerror(err));
    }
    buf[n] = '\0'; /* strtod never runs past the end */
    *text = buf;
    *len = n;
    return LM_OK;
}

/* Split [p, end) at commas into at most `max` fields; returns the number of fields (which may
 * exceed max: only the first max are stored). */
static int split_fields(const char *p, const char *end, field *fs, int max)
{
    int n = 0;
    for (;;) {
        const char *q = p;
        while (q < end && *q != ',') q++;
        const char *a = p, *b = q;
        while (a < b && isspace((unsigned char)*a)) a++;
        while (b > a && isspace((unsigned char)b[-1])) b--;
        if (b - a >= 2 && *a == '"' && b[-1] == '"') a++, b--;
        if (n < max) fs[n] = (field){a, b};
        n++;
        if (q == end) return n;
        p = q + 1;
    }
}

static int parse_number(field f, double *v)
{
    if (f.a == f.b || isspace((unsigned char)*f.a)) return 0;
    char *e;
    *v = strtod(f.a, &e);
    return e == f.b;
}

static void column_label(const csv_table *t, int c, char *buf, size_t len)
{
    if (t->names)
        snprintf(buf, len, "column %d ('%.60s')", c + 1, t->names[c]);
    else
        snprintf(buf, len, "column %d", c + 1);
}

/* The first significant line: decide header or data, and fix the number of columns. */
static lm_status first_line(csv_table *t, const char *p, const char *end, long line)
{
    int n = split_fields(p, end, NULL, 0);
    field *fs = malloc((size_t)n * sizeof *fs);
    if (!fs) return lm_fail(LM_ENOMEM, "%s: out of memory", t->opt->file);
    split_fields(p, end, fs, n);
    int numeric = 0, first_name = -1;
    double v;
    for (int c = 0; c < n; c++) {
        if (parse_number(fs[c], &v)) numeric++;
        else if (first_name < 0) first_name = c;
    }
    t->ncols = n;
    t->first_line = line;
    lm_status s = LM_OK;
    if (numeric == 0) {
        t->has_header = 1;
        t->names = calloc((size_t)n, sizeof *t->names);
        for (int c = 0; t->names && c < n; c++) {
            t->names[c] = strndup(fs[c].a, (size_t)(fs[c].b - fs[c].a));
            if (!t->names[c]) s = lm_fail(LM_ENOMEM, "%s: out of memory", t->opt->file);
        }
        if (!t->names) s = lm_fail(LM_ENOMEM, "%s: out of memory", t->opt->file);
    } else if (first_name >= 0) {
        s = lm_fail(LM_EINVAL,
                    "%s: line %ld, column %d: '%.*s' is not a number (a header line must hold "
                    "only names)",
                    t->opt->file, line, first_name + 1, (int)(fs[first_name].b - fs[first_name].a),
                    fs[first_name].a);
    }
    free(fs);
    return s;
}

static lm_status add_row(csv_table *t, const char *p, const char *end, long line, field *fs)
{
    int n = split_fields(p, end, fs, t->ncols);
    if (n != t->ncols)
        return lm_fail(LM_EINVAL, "%s: line %ld has %d fields, expected %d (as on line %ld)",
                       t->opt->file, line, n, t->ncols, t->first_line);
    if (t->rows == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 1024;
        float *nv = realloc(t->values, cap * (size_t)t->ncols * sizeof *nv);
        if (!nv) return lm_fail(LM_ENOMEM, "%s: out of memory at line %ld", t->opt->file, line);
        t->values = nv;
        t->cap = cap;
    }
    float *row = t->values + t->rows * (size_t)t->ncols;
    for (int c = 0; c < n; c++) {
        double v;
        char col[96];
        if (!parse_number(fs[c], &v)) {
            column_label(t, c, col, sizeof col);
            return lm_fail(LM_EINVAL, "%s: line %ld, %s: '%.*s' is not a number", t->opt->file,
                           line, col, (int)(fs[c].b - fs[c].a), fs[c].a);
        }
        if (!isfinite(v) || fabs(v) > FLT_MAX) {
            column_label(t, c, col, sizeof col);
            return lm_fail(LM_EINVAL, "%s: line %ld, %s: value '%.*s' is %s", t->opt->file, line,
                           col, (int)(fs[c].b - fs[c].a), fs[c].a,
                           isnan(v) ? "NaN" : "not finite in float32");
        }
        if (c == t->tc && t->opt->classes && !(v >= 0 && v < t->opt->classes && v == floor(v))) {
            column_label(t, c, col, sizeof col);
            return lm_fail(LM_EINVAL, "%s: line %ld, %s: target %g is not a class in 0..%ld",
                           t->opt->file, line, col, v, t->opt->classes - 1);
        }
        row[c] = (float)v;
    }
    t->rows++;
    return LM_OK;
}

static lm_status parse_table(csv_table *t, const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    field *fs = NULL;
    lm_status s = LM_OK;
    for (long line = 1; p < end && !s; line++) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) eol = end;
        const char *e = eol;
        if (e > p && e[-1] == '\r') e--;
        const char *q = p;
        while (q < e && isspace((unsigned char)*q)) q++;
        if (q < e && *q != '#') {
            if (t->ncols == 0) {
                s = first_line(t, p, e, line);
                if (!s && t->ncols < 2)
                    s = lm_fail(LM_EINVAL, "%s: line %ld has 1 column; need a feature and a target",
                                t->opt->file, line);
                if (!s) s = target_column(t, &t->tc);
                if (!s && !t->has_header) {
                    fs = malloc((size_t)t->ncols * sizeof *fs);
                    s = fs ? add_row(t, p, e, line, fs) : lm_fail(LM_ENOMEM, "out of memory");
                }
            } else {
                if (!fs) fs = malloc((size_t)t->ncols * sizeof *fs);
                s = fs ? add_row(t, p, e, line, fs) : lm_fail(LM_ENOMEM, "out of memory");
            }
        }
        p = eol + 1;
    }
    free(fs);
    if (!s && t->rows == 0) s = lm_fail(LM_EINVAL, "%s: no data rows", t->opt->file);
    return s;
}

/* ---- building the data set ---- */

static lm_status target_column(const csv_table *t, int *col)
{
    const char *name = t->opt->target;
    if (!name[0]) {
        *col = t->ncols - 1;
        return LM_OK;
    }
    for (int c = 0; t->names && c < t->ncols; c++)
        if (strcmp(t->names[c], name) == 0) {
            *col = c;
            return LM_OK;
        }
    char *e;
    long k = strtol(name, &e, 10);
    if (!*e && k >= 1 && k <= t->ncols) {
        *col = (int)k - 1;
        return LM_OK;
    }
    return lm_fail(LM_EINVAL, "%s: target=%s: %s", t->opt->file, name,
                   t->names ? "no column of that name or number"
                            : "the file has no header; give a column number 1..ncols");
}

static lm_status build(const csv_table *t, lm_split split, lm_dataset **out)
{
    const csv_options *o = t->opt;
    int tc = t->tc;
    size_t ntest = (size_t)llround(o->test * (double)t->rows), ntrain = t->rows - ntest;
    size_t first = split == LM_SPLIT_TEST ? ntrain : 0, n = split == LM_SPLIT_TEST ? ntest : ntrain;
    if (n == 0)
        return lm_fail(LM_EINVAL, "%s: %zu rows leave an empty %s split at test=%g", o->file,
                       t->rows, split == LM_SPLIT_TEST ? "test" : "train", o->test);
    int d = t->ncols - 1;
    lm_status s = lm_dataset_alloc(n, (lm_shape){d, 1, 1}, (int)o->classes, 1, "csv", out);
    if (s) return s;
    for (size_t i = 0; i < n; i++) {
        const float *row = t->values + (first + i) * t->ncols;
        float *x = (*out)->x + i * d;
        for (int c = 0, k = 0; c < t->ncols; c++)
            if (c != tc) x[k++] = row[c];
        (*out)->y[i] = row[tc];
    }
    return LM_OK;
}

lm_status lm_load_csv(const char *arg, lm_split split, lm_dataset **out)
{
    csv_options o;
    *out = NULL;
    lm_status s = parse_arg(arg, &o);
    if (s) return s;
    char *text = NULL;
    size_t len = 0;
    s = slurp(o.file, &text, &len);
    if (s) return s;
    csv_table t = {.opt = &o};
    s = parse_table(&t, text, len);
    free(text);
    if (!s) s = build(&t, split, out);
    for (int c = 0; t.names && c < t.ncols; c++) free(t.names[c]);
    free(t.names);
    free(t.values);
    return s;
}
