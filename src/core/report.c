/* The report builder (linmass/report.h): a body of text and figure blocks, two lists of
 * numbers, a verdict. Every byte it holds is counted against its memory cap; the first failure
 * sticks. */
#include "linmass/report.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { KEY_MAX = 128, REASON_MAX = 512, MESSAGE_MAX = 512 };

typedef struct {
    char key[KEY_MAX];
    double v;
} number;

typedef struct {
    char *text; /* NULL for a figure block */
    size_t len, cap;
    lm_figure *figure; /* one allocation holding the frame, curves, strings and values */
} block;

typedef struct {
    number *items;
    int n, cap;
} numbers;

struct lm_report {
    size_t cap, used;
    lm_status status;
    char message[MESSAGE_MAX];
    block *blocks;
    int nblocks, blocks_cap;
    numbers lists[2];
    lm_verdict verdict;
    char reason[REASON_MAX];
    lm_progress_fn progress;
    void *progress_ctx;
};

/* ---- memory and errors ---- */

/* Record the first failure (status and message); returns the report's status. */
static lm_status fail(lm_report *r, lm_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static lm_status fail(lm_report *r, lm_status st, const char *fmt, ...)
{
    if (!r->status) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->message, sizeof r->message, fmt, ap);
        va_end(ap);
        r->status = st;
    }
    return lm_fail(r->status, "%s", r->message);
}

/* The sticky status, its message recorded again (lm_error_message) when it is a failure. */
static lm_status sticky(const lm_report *r)
{
    return r->status ? lm_fail(r->status, "%s", r->message) : LM_OK;
}

/* realloc of p (old bytes) to bytes, counted against the cap; NULL (and the report failed)
 * when over the cap or out of memory. */
static void *regrab(lm_report *r, void *p, size_t old, size_t bytes, const char *what)
{
    if (r->cap && r->used - old + bytes > r->cap)
        return fail(r, LM_ENOMEM, "report: %s needs %zu bytes, over the report's cap of %zu", what, bytes, r->cap), NULL;
    void *q = realloc(p, bytes ? bytes : 1);
    if (!q) return fail(r, LM_ENOMEM, "report: out of memory for %s (%zu bytes)", what, bytes), NULL;
    r->used = r->used - old + bytes;
    return q;
}

/* Room for one more item in an array of *cap items of size `size`. */
static int reserve(lm_report *r, void **items, int n, int *cap, size_t size, const char *what)
{
    if (n < *cap) return 1;
    int grown = *cap ? 2 * *cap : 8;
    void *p = regrab(r, *items, (size_t)*cap * size, (size_t)grown * size, what);
    if (!p) return 0;
    *items = p, *cap = grown;
    return 1;
}

lm_status lm_report_create(size_t mem_cap, lm_report **out)
{
    *out = NULL;
    if (mem_cap && mem_cap < sizeof(lm_report))
        return lm_fail(LM_ENOMEM, "report: a report needs %zu bytes, over the cap of %zu", sizeof(lm_report), mem_cap);
    lm_report *r = calloc(1, sizeof *r);
    if (!r) return lm_fail(LM_ENOMEM, "report: out of memory");
    r->cap = mem_cap;
    r->used = sizeof *r;
    *out = r;
    return LM_OK;
}

void lm_report_free(lm_report *r)
{
    if (!r) return;
    for (int i = 0; i < r->nblocks; i++) free(r->blocks[i].text), free(r->blocks[i].figure);
    free(r->blocks);
    free(r->lists[0].items), free(r->lists[1].items);
    free(r);
}

lm_status lm_report_status(const lm_report *r) { return sticky(r); }

/* ---- progress ---- */

void lm_report_set_progress(lm_report *r, lm_progress_fn fn, void *ctx)
{
    r->progress = fn;
    r->progress_ctx = ctx;
}

void lm_report_progress(lm_report *r, lm_progress_level level, const char *fmt, ...)
{
    if (!r || !r->progress) return;
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    r->progress(r->progress_ctx, level, text);
}

/* ---- the body ---- */

static block *new_block(lm_report *r)
{
    if (!reserve(r, (void **)&r->blocks, r->nblocks, &r->blocks_cap, sizeof *r->blocks, "the body's blocks")) return NULL;
    block *b = &r->blocks[r->nblocks++];
    memset(b, 0, sizeof *b);
    return b;
}

/* The last block when it is text, else a new text block. */
static block *text_block(lm_report *r)
{
    if (r->nblocks && r->blocks[r->nblocks - 1].text) return &r->blocks[r->nblocks - 1];
    block *b = new_block(r);
    if (!b) return NULL;
    if (!(b->text = regrab(r, NULL, 0, 256, "the body"))) return r->nblocks--, NULL;
    b->text[0] = '\0';
    b->cap = 256;
    return b;
}

lm_status lm_report_printf(lm_report *r, const char *fmt, ...)
{
    if (r->status) return sticky(r);
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0) return fail(r, LM_EINVAL, "report: the text for format '%.60s' cannot be formatted", fmt);
    block *b = text_block(r);
    if (!b) return sticky(r);
    if (b->len + need + 1 > b->cap) {
        size_t cap = 2 * (b->len + need + 1);
        char *grown = regrab(r, b->text, b->cap, cap, "the body");
        if (!grown) return sticky(r);
        b->text = grown, b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->text + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += need;
    return LM_OK;
}

/* ---- numbers ---- */

static int find(const numbers *l, const char *key)
{
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->items[i].key, key)) return i;
    return -1;
}

static lm_status record(lm_report *r, lm_report_list which, const char *key, double v)
{
    static const char *const names[2] = {"measured", "predicted"};
    if (r->status) return sticky(r);
    numbers *l = &r->lists[which];
    if (!key || !*key || strlen(key) >= KEY_MAX)
        return fail(r, LM_EINVAL, "report: a %s key must have 1 to %d bytes: '%.60s'", names[which], KEY_MAX - 1,
                    key ? key : "(null)");
    if (find(l, key) >= 0) return fail(r, LM_EINVAL, "report: the %s key '%s' is recorded twice", names[which], key);
    if (!reserve(r, (void **)&l->items, l->n, &l->cap, sizeof *l->items, "the numbers")) return sticky(r);
    number *it = &l->items[l->n++];
    snprintf(it->key, sizeof it->key, "%s", key);
    it->v = v;
    return LM_OK;
}

lm_status lm_report_measured(lm_report *r, const char *key, double v) { return record(r, LM_REPORT_MEASURED, key, v); }
lm_status lm_report_predicted(lm_report *r, const char *key, double v) { return record(r, LM_REPORT_PREDICTED, key, v); }

static const numbers *list_of(const lm_report *r, lm_report_list which)
{
    return &r->lists[which == LM_REPORT_PREDICTED];
}

int lm_report_count(const lm_report *r, lm_report_list which) { return list_of(r, which)->n; }

const char *lm_report_key(const lm_report *r, lm_report_list which, int i)
{
    const numbers *l = list_of(r, which);
    return i >= 0 && i < l->n ? l->items[i].key : NULL;
}

double lm_report_value(const lm_report *r, lm_report_list which, int i)
{
    const numbers *l = list_of(r, which);
    return i >= 0 && i < l->n ? l->items[i].v : NAN;
}

int lm_report_find(const lm_report *r, lm_report_list which, const char *key, double *v)
{
    const numbers *l = list_of(r, which);
    int i = key ? find(l, key) : -1;
    if (i >= 0) *v = l->items[i].v;
    return i >= 0;
}

static int add_number(cJSON *o, const char *key, double v)
{
    if (isfinite(v)) return cJSON_AddNumberToObject(o, key, v) != NULL;
    return cJSON_AddStringToObject(o, key, isnan(v) ? "nan" : v > 0 ? "inf" : "-inf") != NULL;
}

lm_status lm_report_numbers_json(const lm_report *r, char **json)
{
    static const char *const names[2] = {"measured", "predicted"};
    *json = NULL;
    cJSON *o = cJSON_CreateObject();
    int ok = o != NULL;
    for (int w = 0; w < 2 && ok; w++) {
        cJSON *l = cJSON_AddObjectToObject(o, names[w]);
        ok = l != NULL;
        for (int i = 0; ok && i < r->lists[w].n; i++) ok = add_number(l, r->lists[w].items[i].key, r->lists[w].items[i].v);
    }
    if (ok) *json = cJSON_Print(o);
    cJSON_Delete(o);
    return *json ? LM_OK : lm_fail(LM_ENOMEM, "report: out of memory for the numbers' JSON");
}

/* ---- the verdict ---- */

const char *lm_verdict_name(lm_verdict v)
{
    switch (v) {
    case LM_VERDICT_HOLDS: return "holds";
    case LM_VERDICT_FAILS: return "does not hold";
    case LM_VERDICT_NOT_TESTED: return "not tested";
    }
    return "not tested";
}

lm_status lm_report_verdict(lm_report *r, lm_verdict v, const char *reason_fmt, ...)
{
    if (r->status) return sticky(r);
    if (v != LM_VERDICT_HOLDS && v != LM_VERDICT_FAILS && v != LM_VERDICT_NOT_TESTED)
        return fail(r, LM_EINVAL, "report: verdict %d is none of not tested (0), holds (1), does not hold (2)", (int)v);
    va_list ap;
    va_start(ap, reason_fmt);
    vsnprintf(r->reason, sizeof r->reason, reason_fmt, ap);
    va_end(ap);
    r->verdict = v;
    return LM_OK;
}

lm_verdict lm_report_get_verdict(const lm_report *r, const char **reason)
{
    if (reason) *reason = r->reason;
    return r->verdict;
}

/* ---- figures ---- */

static int file_name_ok(const char *f)
{
    if (!f || !*f || *f == '.') return 0;
    for (; *f; f++)
        if (!(('a' <= *f && *f <= 'z') || ('A' <= *f && *f <= 'Z') || ('0' <= *f && *f <= '9') || strchr("-_.", *f))) return 0;
    return 1;
}

static lm_status check_figure(lm_report *r, const lm_figure *f)
{
    if (!file_name_ok(f->file))
        return fail(r, LM_EINVAL, "report: figure file '%.80s' must be a name of letters, digits, '-', '_' and '.'",
                    f->file ? f->file : "(null)");
    if (f->n_curves < 0 || (f->n_curves > 0 && !f->curves))
        return fail(r, LM_EINVAL, "report: figure %s: %d curves%s", f->file, f->n_curves, f->n_curves > 0 ? " but none given" : "");
    for (int i = 0; i < f->n_curves; i++) {
        const lm_curve *c = &f->curves[i];
        int band = c->kind == LM_CURVE_BAND;
        if (c->kind < LM_CURVE_LINE || c->kind > LM_CURVE_POINTS || c->n < 0 || c->color < 0)
            return fail(r, LM_EINVAL, "report: figure %s, curve %d: kind %d, n %d and color %d must not be negative (kind at most %d)",
                        f->file, i, (int)c->kind, c->n, c->color, (int)LM_CURVE_POINTS);
        if (c->n > 0 && (!c->x || !c->y || (band && (!c->lo || !c->hi))))
            return fail(r, LM_EINVAL, "report: figure %s, curve %d ('%.60s'): %d values but no %s", f->file, i,
                        c->label ? c->label : "", c->n, !c->x || !c->y ? "x or y" : "band edges lo and hi");
    }
    return LM_OK;
}

static size_t string_bytes(const char *s) { return s ? strlen(s) + 1 : 0; }

/* The bytes of the figure's copy: frame, curves, values (doubles first after the structs,
 * which keeps them aligned), then strings. */
static size_t figure_bytes(const lm_figure *f)
{
    size_t n = sizeof(lm_figure) + (size_t)f->n_curves * sizeof(lm_curve);
    n = (n + sizeof(double) - 1) / sizeof(double) * sizeof(double);
    for (int i = 0; i < f->n_curves; i++) {
        const lm_curve *c = &f->curves[i];
        n += (size_t)c->n * sizeof(double) * (c->kind == LM_CURVE_BAND ? 4 : 2) + string_bytes(c->label);
    }
    return n + string_bytes(f->file) + string_bytes(f->caption) + string_bytes(f->title) + string_bytes(f->xlabel) +
           string_bytes(f->ylabel);
}

typedef struct {
    char *p;
} cursor;

static const char *put_string(cursor *c, const char *s)
{
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    memcpy(c->p, s, n);
    c->p += n;
    return c->p - n;
}

static const double *put_values(cursor *c, const double *v, int n)
{
    if (!v || n <= 0) return NULL;
    memcpy(c->p, v, (size_t)n * sizeof *v);
    c->p += (size_t)n * sizeof *v;
    return (const double *)(c->p - (size_t)n * sizeof *v);
}

/* Copy f into the allocation `mem` of figure_bytes(f) bytes. */
static lm_figure *copy_figure(const lm_figure *f, char *mem)
{
    lm_figure *g = (lm_figure *)mem;
    lm_curve *curves = (lm_curve *)(mem + sizeof *g);
    size_t head = sizeof(lm_figure) + (size_t)f->n_curves * sizeof(lm_curve);
    cursor c = {mem + (head + sizeof(double) - 1) / sizeof(double) * sizeof(double)};
    *g = *f;
    g->curves = f->n_curves ? curves : NULL;
    for (int i = 0; i < f->n_curves; i++) {
        const lm_curve *s = &f->curves[i];
        int band = s->kind == LM_CURVE_BAND;
        curves[i] = *s;
        curves[i].x = put_values(&c, s->x, s->n);
        curves[i].y = put_values(&c, s->y, s->n);
        curves[i].lo = band ? put_values(&c, s->lo, s->n) : NULL;
        curves[i].hi = band ? put_values(&c, s->hi, s->n) : NULL;
    }
    for (int i = 0; i < f->n_curves; i++) curves[i].label = put_string(&c, f->curves[i].label);
    g->file = put_string(&c, f->file);
    g->caption = put_string(&c, f->caption);
    g->title = put_string(&c, f->title);
    g->xlabel = put_string(&c, f->xlabel);
    g->ylabel = put_string(&c, f->ylabel);
    return g;
}

lm_status lm_report_figure(lm_report *r, const lm_figure *f)
{
    if (r->status) return sticky(r);
    if (!f) return fail(r, LM_EINVAL, "report: no figure given");
    lm_status st = check_figure(r, f);
    if (st) return st;
    size_t bytes = figure_bytes(f);
    char *mem = regrab(r, NULL, 0, bytes, "a figure");
    if (!mem) return sticky(r);
    block *b = new_block(r);
    if (!b) {
        free(mem);
        r->used -= bytes;
        return sticky(r);
    }
    b->figure = copy_figure(f, mem);
    return LM_OK;
}

int lm_report_block_count(const lm_report *r) { return r->nblocks; }

lm_report_block lm_report_block_at(const lm_report *r, int i)
{
    lm_report_block b = {NULL, NULL};
    if (i < 0 || i >= r->nblocks) return b;
    b.text = r->blocks[i].text;
    b.figure = r->blocks[i].figure;
    return b;
}
