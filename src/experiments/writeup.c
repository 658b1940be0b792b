/* What `repro` and `demo` write of their reports (experiments.h): a claim's report.md and
 * result.json (and the folder with both), the index of several claims, the demo's report.md and
 * its sections' numbers. The body of a report, with its figures drawn, is the caller's markdown
 * or, for a claim's folder, lm_report_markdown's through the caller's hook. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "experiments/exp_internal.h"
#include "linmass/io.h"
#include "linmass/run.h"
#include "linmass/runtime.h"

/* A text written by fill into a memory stream, into *md (malloc'ed). */
static lm_status write_text(const char *what, void (*fill)(FILE *m, const void *ctx), const void *ctx, char **md)
{
    size_t len = 0;
    *md = NULL;
    FILE *m = open_memstream(md, &len);
    if (!m) return lm_fail(LM_ENOMEM, "%s: out of memory", what);
    fill(m, ctx);
    if (!fclose(m) && *md) return LM_OK;
    free(*md);
    *md = NULL;
    return lm_fail(LM_ENOMEM, "%s: out of memory", what);
}

static const char *plural_threads(void) { return lm_get_threads() > 1 ? "s" : ""; }

typedef struct {
    const lm_claim *c;
    const lm_report *r;
    const lm_claim_opts *o;
    const char *body, *command;
    double seconds;
} claim_text;

static void claim_fill(FILE *m, const void *ctx)
{
    const claim_text *t = ctx;
    const char *reason;
    lm_verdict v = lm_report_get_verdict(t->r, &reason);
    fprintf(m, "# Claim `%s`\n\n> %s\n\n## What the paper reports or the theory predicts\n\n%s\n\n## What was measured\n\n%s",
            t->c->name, t->c->sentence, t->c->source, t->body);
    fprintf(m, "\n## Verdict: %s\n\n%s: %s.\n\nSetting: %s (%.1f s on %d thread%s). Command: `%s`. "
               "The full setting takes %s on 2 cores.\n",
            v == LM_VERDICT_HOLDS ? "the claim **holds**" : v == LM_VERDICT_FAILS ? "the claim **does not hold** here"
                                                                                  : "**not tested** at this setting",
            v == LM_VERDICT_NOT_TESTED ? "Why" : "The test", reason, lm_setting_name(t->o->setting), t->seconds,
            lm_get_threads(), plural_threads(), t->command, t->c->time[LM_SETTING_FULL]);
}

lm_status lm_claim_markdown(const lm_claim *c, const lm_report *r, const lm_claim_opts *o, const char *body, double seconds,
                            const char *command, char **md)
{
    claim_text t = {c, r, o, body ? body : "", command ? command : "", seconds};
    return write_text("claim report", claim_fill, &t, md);
}

/* r's measured and predicted numbers added to o. */
static lm_status add_numbers(cJSON *o, const lm_report *r)
{
    char *text;
    lm_status st = lm_report_numbers_json(r, &text);
    if (st) return st;
    cJSON *n = cJSON_Parse(text);
    free(text);
    for (cJSON *item; n && (item = n->child);) {
        cJSON_DetachItemViaPointer(n, item);
        cJSON_AddItemToObject(o, item->string, item);
    }
    st = n ? LM_OK : lm_fail(LM_ENOMEM, "report numbers: out of memory");
    cJSON_Delete(n);
    return st;
}

/* o as JSON text into *json; o is freed. */
static lm_status print_json(cJSON *o, lm_status st, char **json)
{
    *json = st || !o ? NULL : cJSON_Print(o);
    cJSON_Delete(o);
    if (st) return st;
    return *json ? LM_OK : lm_fail(LM_ENOMEM, "result: out of memory");
}

lm_status lm_claim_result_json(const lm_claim *c, const lm_report *r, lm_setting s, double seconds, const char *report,
                               char **json)
{
    cJSON *j = cJSON_CreateObject();
    const char *reason;
    lm_verdict v = lm_report_get_verdict(r, &reason);
    cJSON_AddStringToObject(j, "claim", c->name);
    cJSON_AddBoolToObject(j, "holds", v == LM_VERDICT_HOLDS);
    cJSON_AddStringToObject(j, "verdict", lm_verdict_name(v));
    cJSON_AddStringToObject(j, "reason", reason ? reason : "");
    cJSON_AddBoolToObject(j, "quick", s == LM_SETTING_QUICK);
    cJSON_AddStringToObject(j, "setting", lm_setting_name(s));
    lm_status st = j ? add_numbers(j, r) : lm_fail(LM_ENOMEM, "result: out of memory");
    cJSON_AddNumberToObject(j, "seconds", seconds);
    cJSON_AddStringToObject(j, "report", report ? report : "");
    return print_json(j, st, json);
}

typedef struct {
    const lm_claim_outcome *outs;
    int n;
    const char *title;
} index_text;

static void index_fill(FILE *m, const void *ctx)
{
    const index_text *t = ctx;
    fprintf(m, "# %s\n\n| claim | verdict | seconds | report |\n|---|---|---|---|\n", t->title);
    for (int i = 0; i < t->n; i++)
        fprintf(m, "| `%s` | %s | %.1f | [report](%s/report.md) |\n", t->outs[i].name, lm_verdict_name(t->outs[i].verdict),
                t->outs[i].seconds, t->outs[i].name);
}

lm_status lm_claim_index_markdown(const lm_claim_outcome *outs, int n, const char *title, char **md)
{
    index_text t = {outs, n, title ? title : "Claims"};
    return write_text("claim index", index_fill, &t, md);
}

typedef struct {
    const lm_demo_opts *o;
    char *const *bodies;
    const double *seconds;
    double total;
    const char *command;
} demo_text;

lm_status lm_claim_write(const lm_claim *c, const lm_report *r, const lm_claim_opts *o, double seconds,
                         const char *command, lm_report_draw_fn draw, void *ctx, char **json)
{
    char plots[1100], report[1100], *body = NULL, *md = NULL;
    *json = NULL;
    if (!o->dir || strlen(o->dir) > 1000) return lm_fail(LM_EINVAL, "dir: no folder, or one longer than 1000 characters");
    snprintf(plots, sizeof plots, "%s/plots", o->dir);
    snprintf(report, sizeof report, "%s/report.md", o->dir);
    lm_status st = lm_mkdir_p(plots);
    if (!st) st = lm_report_markdown(r, plots, draw, ctx, &body);
    if (!st) st = lm_claim_markdown(c, r, o, body, seconds, command, &md);
    if (!st) st = lm_claim_result_json(c, r, o->setting, seconds, report, json);
    if (!st) st = lm_run_write_result(o->dir, *json, md);
    free(body), free(md);
    if (st) free(*json), *json = NULL;
    return st;
}

int lm_claim_holding(const lm_claim_outcome *outs, int n)
{
    int holding = 0;
    for (int i = 0; i < n; i++) holding += outs[i].verdict == LM_VERDICT_HOLDS;
    return holding;
}

lm_status lm_claim_write_index(const char *dir, const lm_claim_outcome *outs, int n, const char *title)
{
    char path[1100], *md = NULL;
    if (strlen(dir) > 1000) return lm_fail(LM_EINVAL, "dir: the path is longer than 1000 characters");
    snprintf(path, sizeof path, "%s/index.md", dir);
    lm_status st = lm_claim_index_markdown(outs, n, title, &md);
    if (!st) st = lm_write_file_atomic(path, md, strlen(md));
    free(md);
    return st;
}

static void demo_fill(FILE *m, const void *ctx)
{
    const demo_text *t = ctx;
    fprintf(m, "# linmass demo\n\nA tour of the two papers linmass reproduces: *transition to linearity* of wide "
               "networks (Liu, Zhu and Belkin) and the *MaSS* optimizer (Liu and Belkin). Every number below was "
               "measured by this run (%s setting, seed %llu, %d thread%s, %.0f s in all). `linmass repro CLAIM` checks each "
               "claim in full, with a verdict.\n\n",
            lm_setting_name(t->o->setting), (unsigned long long)t->o->seed, lm_get_threads(), plural_threads(), t->total);
    for (int i = 0; i < lm_demo_section_count(); i++)
        fprintf(m, "## %s\n\n%s\n", lm_demo_section_at(i)->heading, t->bodies[i] ? t->bodies[i] : "");
    fprintf(m, "## Timing\n\n| part | seconds |\n|---|---|\n");
    for (int i = 0; i < lm_demo_section_count(); i++) fprintf(m, "| %s | %.1f |\n", lm_demo_section_at(i)->timing, t->seconds[i]);
    fprintf(m, "| all | %.1f |\n\nCommand: `%s`.\n", t->total, t->command);
}

lm_status lm_demo_markdown(const lm_demo_opts *o, char *const *bodies, const double *seconds, double total, const char *command,
                           char **md)
{
    demo_text t = {o, bodies, seconds, total, command ? command : ""};
    return write_text("demo report", demo_fill, &t, md);
}

lm_status lm_demo_section_json(const lm_demo_section *s, const lm_report *r, double seconds, char **json)
{
    cJSON *o = cJSON_CreateObject();
    lm_status st = o ? add_numbers(o, r) : lm_fail(LM_ENOMEM, "demo section: out of memory");
    cJSON_AddNumberToObject(o, "seconds", seconds);
    if (s->claim) {
        char key[128];
        snprintf(key, sizeof key, "%s_holds", s->claim);
        for (char *p = key; *p; p++)
            if (*p == '-') *p = '_';
        cJSON_AddBoolToObject(o, key, lm_report_get_verdict(r, NULL) == LM_VERDICT_HOLDS);
    }
    return print_json(o, st, json);
}

typedef struct {
    const lm_demo_section *s;
    const lm_demo_opts *o;
    const lm_report *r;
} demo_line;

static void announce_fill(FILE *m, const void *ctx)
{
    const demo_line *l = ctx;
    l->s->announce(m, l->o);
}

static void summary_fill(FILE *m, const void *ctx)
{
    const demo_line *l = ctx;
    l->s->summarize(m, l->r);
}

lm_status lm_demo_section_announce(const lm_demo_section *s, const lm_demo_opts *o, char **line)
{
    *line = NULL;
    if (!s || !o) return lm_fail(LM_EINVAL, "demo announcement: a section and options are needed");
    demo_line l = {s, o, NULL};
    return write_text("demo announcement", announce_fill, &l, line);
}

lm_status lm_demo_section_summary(const lm_demo_section *s, const lm_report *r, char **line)
{
    *line = NULL;
    if (!s || !r) return lm_fail(LM_EINVAL, "demo summary: a section and a report are needed");
    demo_line l = {s, NULL, r};
    return s->summarize ? write_text("demo summary", summary_fill, &l, line) : LM_OK;
}

lm_status lm_demo_write_report(const lm_demo_opts *o, char *const *bodies, const double *seconds, double total,
                               const char *command)
{
    char path[4200], *text;
    if (!o || !o->dir) return lm_fail(LM_EINVAL, "demo report: no folder given");
    snprintf(path, sizeof path, "%s/report.md", o->dir);
    lm_status st = lm_demo_markdown(o, bodies, seconds, total, command, &text);
    if (!st) st = lm_write_file_atomic(path, text, strlen(text));
    free(text);
    return st;
}

lm_status lm_demo_result_json(char *const *sections, double total, const char *report, char **json)
{
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; o && i < lm_demo_section_count(); i++) {
        cJSON *s = sections[i] ? cJSON_Parse(sections[i]) : cJSON_CreateNull();
        if (!cJSON_AddItemToObject(o, lm_demo_section_at(i)->key, s)) cJSON_Delete(s), cJSON_Delete(o), o = NULL;
    }
    cJSON_AddNumberToObject(o, "seconds", total);
    cJSON_AddStringToObject(o, "report", report ? report : "");
    *json = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return *json ? LM_OK : lm_fail(LM_ENOMEM, "demo result: out of memory");
}
