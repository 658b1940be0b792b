// ctest-labels: unit
/* The report builder of the experiments library (linmass/report.h):
 * - the body: text pieces joined into blocks, figures between them, in order;
 * - numbers: both lists in recording order, lookup, duplicates and bad keys refused, and their
 *   JSON with every double back bit for bit and non-finite values as strings;
 * - the three verdicts and their names, the default, a bad value refused;
 * - figures: what goes in is what a renderer reads back (every field, every value), a copy
 *   independent of the caller's arrays; bad file names and curves refused;
 * - errors stick: after a failure every call returns its status and leaves the report as it was;
 * - memory: with every cap from 0 up to what a script of calls needs, each call returns LM_OK or
 *   LM_ENOMEM (never crashes), and the script succeeds exactly when the cap allows it;
 * - progress reaches its callback with the level and the formatted message. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/report.h"

static void test_body(void)
{
    lm_report *r;
    CHECK(lm_report_create(0, &r) == LM_OK);
    CHECK(lm_report_block_count(r) == 0);
    CHECK(lm_report_printf(r, "# Title\n\n") == LM_OK);
    CHECK(lm_report_printf(r, "| %s | %d |\n", "a", 7) == LM_OK);
    double x[2] = {1, 2}, y[2] = {3, 4};
    lm_curve c = {"c", LM_CURVE_LINE, 2, x, y, NULL, NULL, 0};
    lm_figure f = {"one.png", "caption", "title", "x", "y", 0, 0, LM_LEGEND_BELOW, 1, &c, 0};
    CHECK(lm_report_figure(r, &f) == LM_OK);
    CHECK(lm_report_figure(r, &f) == LM_OK); /* two figures in a row: two blocks */
    CHECK(lm_report_printf(r, "after %.2f", 0.5) == LM_OK);
    CHECK(lm_report_block_count(r) == 4);
    lm_report_block b0 = lm_report_block_at(r, 0), b1 = lm_report_block_at(r, 1), b2 = lm_report_block_at(r, 2),
                    b3 = lm_report_block_at(r, 3);
    CHECK(b0.text && !b0.figure && !strcmp(b0.text, "# Title\n\n| a | 7 |\n"));
    CHECK(!b1.text && b1.figure && !strcmp(b1.figure->file, "one.png"));
    CHECK(!b2.text && b2.figure);
    CHECK(b3.text && !strcmp(b3.text, "after 0.50"));
    lm_report_block out = lm_report_block_at(r, 4);
    CHECK(!out.text && !out.figure);
    out = lm_report_block_at(r, -1);
    CHECK(!out.text && !out.figure);
    /* a long piece grows the block */
    char big[5000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CHECK(lm_report_printf(r, "%s", big) == LM_OK);
    CHECK(strlen(lm_report_block_at(r, 3).text) == strlen("after 0.50") + sizeof big - 1);
    lm_report_free(r);
}

static void test_numbers(void)
{
    lm_report *r;
    CHECK(lm_report_create(0, &r) == LM_OK);
    const double values[] = {0.1, -1e-300, 12345.678901234567, 1.0 / 3, 0, 4.9e-324};
    char key[32];
    for (int i = 0; i < 6; i++) {
        snprintf(key, sizeof key, "m%d", i);
        CHECK(lm_report_measured(r, key, values[i]) == LM_OK);
    }
    CHECK(lm_report_measured(r, "nan", NAN) == LM_OK);
    CHECK(lm_report_measured(r, "inf", INFINITY) == LM_OK);
    CHECK(lm_report_measured(r, "minus_inf", -INFINITY) == LM_OK);
    CHECK(lm_report_predicted(r, "m0", -0.5) == LM_OK); /* the same key in the other list */
    CHECK(lm_report_count(r, LM_REPORT_MEASURED) == 9);
    CHECK(lm_report_count(r, LM_REPORT_PREDICTED) == 1);
    CHECK(!strcmp(lm_report_key(r, LM_REPORT_MEASURED, 2), "m2"));
    CHECK(lm_report_value(r, LM_REPORT_MEASURED, 2) == values[2]);
    CHECK(lm_report_key(r, LM_REPORT_MEASURED, 9) == NULL);
    CHECK(isnan(lm_report_value(r, LM_REPORT_PREDICTED, 1)));
    double v = 7;
    CHECK(lm_report_find(r, LM_REPORT_PREDICTED, "m0", &v) && v == -0.5);
    CHECK(lm_report_find(r, LM_REPORT_MEASURED, "m0", &v) && v == 0.1);
    v = 7;
    CHECK(!lm_report_find(r, LM_REPORT_MEASURED, "absent", &v) && v == 7);
    CHECK(!lm_report_find(r, LM_REPORT_MEASURED, NULL, &v));

    char *json;
    CHECK(lm_report_numbers_json(r, &json) == LM_OK);
    cJSON *o = cJSON_Parse(json);
    cJSON *m = cJSON_GetObjectItem(o, "measured"), *p = cJSON_GetObjectItem(o, "predicted");
    CHECK(cJSON_GetArraySize(o) == 2 && cJSON_GetArraySize(m) == 9 && cJSON_GetArraySize(p) == 1);
    int i = 0;
    for (cJSON *it = m ? m->child : NULL; it && i < 6; it = it->next, i++) {
        snprintf(key, sizeof key, "m%d", i);
        CHECK_MSG(!strcmp(it->string, key) && cJSON_IsNumber(it) && it->valuedouble == values[i],
                  "measured %d: %s = %.17g, want %s = %.17g", i, it->string, it->valuedouble, key, values[i]);
    }
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(m, "nan")), "nan"));
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(m, "inf")), "inf"));
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(m, "minus_inf")), "-inf"));
    CHECK(cJSON_GetObjectItem(p, "m0")->valuedouble == -0.5);
    cJSON_Delete(o);
    free(json);
    lm_report_free(r);

    /* refused: a duplicate, an empty, a missing and an over-long key; the first failure sticks */
    char long_key[200];
    memset(long_key, 'k', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = '\0';
    const char *bad[4] = {"dup", "", NULL, long_key};
    for (int k = 0; k < 4; k++) {
        CHECK(lm_report_create(0, &r) == LM_OK);
        CHECK(lm_report_measured(r, "dup", 1) == LM_OK);
        CHECK(lm_report_measured(r, bad[k], 2) == LM_EINVAL);
        CHECK(lm_report_count(r, LM_REPORT_MEASURED) == 1);
        if (k == 0) CHECK_MSG(strstr(lm_error_message(), "'dup'") != NULL, "message: %s", lm_error_message());
        CHECK(lm_report_status(r) == LM_EINVAL);
        CHECK(lm_report_printf(r, "more") == LM_EINVAL);
        CHECK(lm_report_predicted(r, "fine", 1) == LM_EINVAL);
        CHECK(lm_report_verdict(r, LM_VERDICT_HOLDS, "x") == LM_EINVAL);
        CHECK(lm_report_block_count(r) == 0 && lm_report_count(r, LM_REPORT_PREDICTED) == 0);
        CHECK(lm_report_get_verdict(r, NULL) == LM_VERDICT_NOT_TESTED);
        lm_report_free(r);
    }
}

static void test_verdict(void)
{
    CHECK(!strcmp(lm_verdict_name(LM_VERDICT_HOLDS), "holds"));
    CHECK(!strcmp(lm_verdict_name(LM_VERDICT_FAILS), "does not hold"));
    CHECK(!strcmp(lm_verdict_name(LM_VERDICT_NOT_TESTED), "not tested"));
    lm_report *r;
    CHECK(lm_report_create(0, &r) == LM_OK);
    const char *reason = NULL;
    CHECK(lm_report_get_verdict(r, &reason) == LM_VERDICT_NOT_TESTED && reason && !*reason);
    CHECK(lm_report_verdict(r, LM_VERDICT_FAILS, "slope %.2f outside [%g, %g]", -0.25, -0.7, -0.3) == LM_OK);
    CHECK(lm_report_get_verdict(r, &reason) == LM_VERDICT_FAILS && !strcmp(reason, "slope -0.25 outside [-0.7, -0.3]"));
    CHECK(lm_report_verdict(r, LM_VERDICT_NOT_TESTED, "needs CIFAR-10") == LM_OK);
    CHECK(lm_report_get_verdict(r, &reason) == LM_VERDICT_NOT_TESTED && !strcmp(reason, "needs CIFAR-10"));
    CHECK(lm_report_verdict(r, LM_VERDICT_HOLDS, "all slopes inside") == LM_OK);
    CHECK(lm_report_get_verdict(r, NULL) == LM_VERDICT_HOLDS);
    CHECK(lm_report_verdict(r, (lm_verdict)7, "x") == LM_EINVAL);
    CHECK(lm_report_get_verdict(r, &reason) == LM_VERDICT_HOLDS && !strcmp(reason, "all slopes inside"));
    lm_report_free(r);
}

/* A figure with every kind of curve, a NULL label and an empty curve. */
#define NV 5
typedef struct {
    double x[NV], y[NV], lo[NV], hi[NV], y2[NV];
    lm_curve c[6];
    lm_figure f;
} sample;

static void sample_init(sample *s)
{
    for (int i = 0; i < NV; i++)
        s->x[i] = 1 << i, s->y[i] = 1.0 / (i + 1), s->lo[i] = s->y[i] / 2, s->hi[i] = 2 * s->y[i], s->y2[i] = i == 2 ? NAN : -i;
    s->c[0] = (lm_curve){"mean of 3 seeds (band: min-max)", LM_CURVE_BAND, NV, s->x, s->y, s->lo, s->hi, 1};
    s->c[1] = (lm_curve){"exact", LM_CURVE_LINE, NV, s->x, s->y2, NULL, NULL, 2};
    s->c[2] = (lm_curve){"simulated", LM_CURVE_POINTS, 3, s->x + 1, s->y + 1, NULL, NULL, 2};
    s->c[3] = (lm_curve){"slope -1/2 (theory)", LM_CURVE_REFERENCE, 2, s->x, s->hi, NULL, NULL, 0};
    s->c[4] = (lm_curve){NULL, LM_CURVE_LINESPOINTS, NV, s->y, s->x, NULL, NULL, 8};
    s->c[5] = (lm_curve){"empty", LM_CURVE_LINE, 0, NULL, NULL, NULL, NULL, 0};
    s->f = (lm_figure){"speed_vs-batch.2.png", "a caption", "A title", "width m", "||H_f||", 1, 0, LM_LEGEND_TOP_LEFT, 6, s->c, 1};
}

static int same_string(const char *a, const char *b) { return (!a && !b) || (a && b && !strcmp(a, b)); }

static int same_values(const double *a, const double *b, int n)
{
    if (!a || !b) return a == b;
    for (int i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof a[i])) return 0;
    return 1;
}

static void check_same_figure(const lm_figure *g, const sample *s)
{
    const lm_figure *f = &s->f;
    CHECK(same_string(g->file, f->file) && same_string(g->caption, f->caption) && same_string(g->title, f->title));
    CHECK(same_string(g->xlabel, f->xlabel) && same_string(g->ylabel, f->ylabel));
    CHECK(g->logx == 1 && g->logy == 0 && g->legend == LM_LEGEND_TOP_LEFT && g->n_curves == 6 && g->categorical_x == 1);
    for (int i = 0; i < 6; i++) {
        const lm_curve *a = &g->curves[i], *b = &s->c[i];
        CHECK_MSG(same_string(a->label, b->label) && a->kind == b->kind && a->n == b->n && a->color == b->color,
                  "curve %d: frame", i);
        CHECK_MSG(same_values(a->x, b->x, b->n) && same_values(a->y, b->y, b->n), "curve %d: values", i);
        int band = b->kind == LM_CURVE_BAND;
        CHECK_MSG(band ? same_values(a->lo, b->lo, b->n) && same_values(a->hi, b->hi, b->n) : !a->lo && !a->hi,
                  "curve %d: band", i);
    }
}

static void test_figure_round_trip(void)
{
    sample s, keep;
    sample_init(&s);
    sample_init(&keep);
    lm_report *r;
    CHECK(lm_report_create(0, &r) == LM_OK);
    CHECK(lm_report_figure(r, &s.f) == LM_OK);
    /* the caller's arrays change after the call: the report kept its own copy */
    for (int i = 0; i < NV; i++) s.x[i] = s.y[i] = s.lo[i] = s.hi[i] = -99;
    s.c[0].label = "changed";
    lm_report_block b = lm_report_block_at(r, 0);
    CHECK(b.figure != NULL && b.figure != &s.f);
    if (b.figure) check_same_figure(b.figure, &keep);
    /* more blocks after it do not move it */
    for (int i = 0; i < 40; i++) CHECK(lm_report_figure(r, &keep.f) == LM_OK && lm_report_printf(r, "text %d\n", i) == LM_OK);
    b = lm_report_block_at(r, 0);
    if (b.figure) check_same_figure(b.figure, &keep);
    lm_report_free(r);
}

static void test_figure_refused(void)
{
    const char *bad_files[] = {"", "../up.png", "dir/f.png", ".hidden.png", "sp ace.png", NULL};
    for (int k = 0; k < 6; k++) {
        sample s;
        sample_init(&s);
        s.f.file = bad_files[k];
        lm_report *r;
        CHECK(lm_report_create(0, &r) == LM_OK);
        CHECK_MSG(lm_report_figure(r, &s.f) == LM_EINVAL, "file '%s' was taken", bad_files[k] ? bad_files[k] : "(null)");
        CHECK(lm_report_block_count(r) == 0);
        lm_report_free(r);
    }
    for (int k = 0; k < 5; k++) {
        sample s;
        sample_init(&s);
        if (k == 0) s.c[0].lo = NULL;         /* a band without its lower edge */
        if (k == 1) s.c[1].y = NULL;          /* values without y */
        if (k == 2) s.c[2].n = -1;            /* a negative count */
        if (k == 3) s.f.curves = NULL;        /* curves promised, none given */
        if (k == 4) s.c[3].kind = (lm_curve_kind)9;
        lm_report *r;
        CHECK(lm_report_create(0, &r) == LM_OK);
        CHECK_MSG(lm_report_figure(r, &s.f) == LM_EINVAL, "bad figure %d was taken", k);
        CHECK(lm_report_status(r) == LM_EINVAL && lm_report_block_count(r) == 0);
        lm_report_free(r);
    }
    lm_report *r;
    CHECK(lm_report_create(0, &r) == LM_OK);
    CHECK(lm_report_figure(r, NULL) == LM_EINVAL);
    lm_report_free(r);
}

/* A fixed script of calls on a report with memory cap `cap`: the status of the first call that
 * did not return LM_OK (LM_OK when all did). Every call after a failure must return it too. */
static lm_status script(size_t cap, int *consistent)
{
    lm_report *r;
    *consistent = 1;
    lm_status first = lm_report_create(cap, &r);
    if (first) return *consistent = r == NULL, first;
    sample s;
    sample_init(&s);
    lm_status got[40];
    char key[32];
    int n = 0;
    for (int i = 0; i < 6; i++) {
        got[n++] = lm_report_printf(r, "paragraph %d with some words in it to make it longer than a few bytes\n", i);
        snprintf(key, sizeof key, "m%d", i);
        got[n++] = lm_report_measured(r, key, i);
        got[n++] = lm_report_figure(r, &s.f);
    }
    for (int i = 0; i < 12; i++) snprintf(key, sizeof key, "k%d", i), got[n++] = lm_report_predicted(r, key, i);
    got[n++] = lm_report_verdict(r, LM_VERDICT_HOLDS, "reason");
    for (int i = 0; i < n; i++) {
        if (!first && got[i]) first = got[i];
        else if (first && got[i] != first) *consistent = 0;
    }
    if (first != LM_OK && first != LM_ENOMEM) *consistent = 0;
    if (lm_report_status(r) != first) *consistent = 0;
    /* what the report holds stays readable */
    for (int i = 0; i < lm_report_block_count(r); i++) {
        lm_report_block b = lm_report_block_at(r, i);
        if (b.text) *consistent &= strlen(b.text) < 1000000;
        else *consistent &= b.figure && b.figure->n_curves == 6 && b.figure->curves[0].x[NV - 1] == 16;
    }
    lm_report_free(r);
    return first;
}

static void test_memory_cap(void)
{
    int consistent, ok_from = -1, failures = 0;
    for (size_t cap = 1; cap < 40000; cap += cap < 1000 ? 1 : 7) {
        lm_status st = script(cap, &consistent);
        CHECK_MSG(consistent, "cap %zu: the calls disagree about the failure", cap);
        if (st == LM_OK && ok_from < 0) ok_from = (int)cap;
        if (st != LM_OK) {
            failures++;
            CHECK_MSG(ok_from < 0, "cap %zu fails after cap %d succeeded", cap, ok_from);
            CHECK_MSG(st == LM_ENOMEM, "cap %zu: status %d", cap, st);
        }
    }
    CHECK_MSG(ok_from > 0 && failures > 100, "the script succeeds from cap %d, %d caps failed", ok_from, failures);
    CHECK(script(0, &consistent) == LM_OK && consistent);
    lm_report *r = (lm_report *)1;
    CHECK(lm_report_create(8, &r) == LM_ENOMEM && r == NULL);
    lm_report_free(NULL);
}

typedef struct {
    int calls;
    lm_progress_level level;
    char last[128];
} progress_seen;

static void on_progress(void *ctx, lm_progress_level level, const char *message)
{
    progress_seen *p = ctx;
    p->calls++;
    p->level = level;
    snprintf(p->last, sizeof p->last, "%s", message);
}

static void test_progress(void)
{
    lm_report *r;
    CHECK(lm_report_create(0, &r) == LM_OK);
    lm_report_progress(r, LM_PROGRESS_STEP, "nobody listens %d", 1);
    progress_seen p = {0, LM_PROGRESS_DETAIL, ""};
    lm_report_set_progress(r, on_progress, &p);
    lm_report_progress(r, LM_PROGRESS_RESULT, "width %d: %.2f", 64, 0.125);
    CHECK(p.calls == 1 && p.level == LM_PROGRESS_RESULT && !strcmp(p.last, "width 64: 0.12"));
    lm_report_set_progress(r, NULL, NULL);
    lm_report_progress(r, LM_PROGRESS_STEP, "gone");
    CHECK(p.calls == 1);
    lm_report_progress(NULL, LM_PROGRESS_STEP, "no report");
    lm_report_free(r);
}

int main(void)
{
    test_body();
    test_numbers();
    test_verdict();
    test_figure_round_trip();
    test_figure_refused();
    test_memory_cap();
    test_progress();
    return check_summary();
}
