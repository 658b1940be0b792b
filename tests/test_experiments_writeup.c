/* What repro and demo write of their reports (experiments.h), on a report filled here by hand:
 *   - lm_claim_result_json: exactly its keys in order, the verdict's name and holds, the
 *     report's numbers (a non-finite one as text), seconds and the report's path;
 *   - lm_claim_markdown: the claim's name, sentence and source, the body as given, the verdict
 *     heading of each verdict with its reason, the setting, seconds and the caller's command;
 *   - lm_claim_index_markdown: the heading, one row per claim with its verdict, seconds and link;
 *   - lm_demo_markdown: each section's heading and body in order, the timing rows and the total;
 *   - lm_demo_section_json: the numbers, seconds and CLAIM_holds of the section that runs one;
 *   - lm_demo_section_announce / lm_demo_section_summary: each section's line as written out
 *     here, the numbers of a report filled by hand in them (a missing one as nan);
 *   - lm_demo_result_json: the sections' objects under their keys, then seconds and report;
 *   - lm_demo_write_report: DIR/report.md holds lm_demo_markdown's text;
 *   - lm_claim_write and lm_claim_write_index: the files in a folder, report.md around the body
 *     written here (a text block and a figure the hook draws into DIR/plots/FILE), result.json
 *     with the path DIR/report.md, index.md; a folder not there yet is made with its plots/;
 *     no folder is refused; lm_claim_holding counts the outcomes that hold. */
// ctest-labels: unit
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "linmass/experiments.h"
#include "linmass/io.h"
#include "linmass/runtime.h"

static lm_report *filled(lm_verdict v)
{
    lm_report *r;
    CHECK(lm_report_create(0, &r) == LM_OK);
    lm_report_measured(r, "rate", 0.5);
    lm_report_measured(r, "growth", INFINITY);
    lm_report_predicted(r, "rho", 0.25);
    lm_report_verdict(r, v, "the rate is below %g", 1.0);
    return r;
}

static void test_result_json(const lm_claim *cl)
{
    static const char *const keys[] = {"claim", "holds", "verdict", "reason", "quick", "setting", "measured", "predicted",
                                       "seconds", "report"};
    lm_report *r = filled(LM_VERDICT_HOLDS);
    char *text = NULL;
    CHECK(lm_claim_result_json(cl, r, LM_SETTING_QUICK, 1.5, "out/x/report.md", &text) == LM_OK);
    cJSON *o = cJSON_Parse(text), *item = o ? o->child : NULL;
    for (int i = 0; i < 10; i++, item = item ? item->next : NULL)
        CHECK_MSG(item && !strcmp(item->string, keys[i]), "key %d: %s, not %s", i, item ? item->string : "none", keys[i]);
    CHECK(item == NULL);
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(o, "claim")), cl->name));
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(o, "holds")) && cJSON_IsTrue(cJSON_GetObjectItem(o, "quick")));
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(o, "verdict")), "holds"));
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(o, "reason")), "the rate is below 1"));
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(o, "setting")), "quick"));
    const cJSON *m = cJSON_GetObjectItem(o, "measured"), *p = cJSON_GetObjectItem(o, "predicted");
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(m, "rate")) == 0.5 && cJSON_GetArraySize(m) == 2);
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(m, "growth")), "inf"));
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(p, "rho")) == 0.25 && cJSON_GetArraySize(p) == 1);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(o, "seconds")) == 1.5);
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(o, "report")), "out/x/report.md"));
    cJSON_Delete(o), free(text), lm_report_free(r);
    r = filled(LM_VERDICT_FAILS);
    CHECK(lm_claim_result_json(cl, r, LM_SETTING_FULL, 2, "r.md", &text) == LM_OK);
    o = cJSON_Parse(text);
    CHECK(cJSON_IsFalse(cJSON_GetObjectItem(o, "holds")) && cJSON_IsFalse(cJSON_GetObjectItem(o, "quick")));
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(o, "verdict")), "does not hold"));
    cJSON_Delete(o), free(text), lm_report_free(r);
}

static void test_claim_markdown(const lm_claim *cl)
{
    static const char *const heads[] = {"## Verdict: **not tested** at this setting\n\nWhy: the rate is below 1.\n",
                                        "## Verdict: the claim **holds**\n\nThe test: the rate is below 1.\n",
                                        "## Verdict: the claim **does not hold** here\n\nThe test: the rate is below 1.\n"};
    lm_set_threads(1);
    for (int v = 0; v < 3; v++) {
        lm_report *r = filled((lm_verdict)v);
        lm_claim_opts o = {LM_SETTING_QUICK, 0, "out"};
        char *md = NULL, head[256], setting[256];
        CHECK(lm_claim_markdown(cl, r, &o, "BODY TEXT\n", 3.25, "run it again", &md) == LM_OK);
        snprintf(head, sizeof head, "# Claim `%s`\n\n> %s\n\n## What the paper reports or the theory predicts\n\n", cl->name,
                 cl->sentence);
        snprintf(setting, sizeof setting, "Setting: quick (3.2 s on 1 thread). Command: `run it again`. The full setting takes %s",
                 cl->time[LM_SETTING_FULL]);
        CHECK(md && !strncmp(md, head, strlen(head)) && strstr(md, cl->source));
        CHECK(md && strstr(md, "## What was measured\n\nBODY TEXT\n\n## Verdict"));
        CHECK_MSG(md && strstr(md, heads[v]) && strstr(md, setting), "%s", md ? md : "");
        free(md), lm_report_free(r);
    }
}

static void test_index(void)
{
    lm_claim_outcome outs[2] = {{"a-claim", LM_VERDICT_HOLDS, 1.25}, {"b-claim", LM_VERDICT_NOT_TESTED, 10}};
    char *md = NULL;
    CHECK(lm_claim_index_markdown(outs, 2, "Every claim", &md) == LM_OK);
    CHECK_MSG(md && !strcmp(md, "# Every claim\n\n| claim | verdict | seconds | report |\n|---|---|---|---|\n"
                                "| `a-claim` | holds | 1.2 | [report](a-claim/report.md) |\n"
                                "| `b-claim` | not tested | 10.0 | [report](b-claim/report.md) |\n"), "%s", md ? md : "");
    free(md);
}

static void test_demo(void)
{
    lm_demo_opts o;
    lm_demo_opts_init(&o, LM_SETTING_QUICK);
    o.seed = 5;
    int n = lm_demo_section_count();
    CHECK(n == 3);
    char *bodies[3] = {"first body\n", NULL, "third body\n"}, *md = NULL;
    double secs[3] = {1.25, 2.5, 4};
    lm_set_threads(1);
    CHECK(lm_demo_markdown(&o, bodies, secs, 8, "the command", &md) == LM_OK);
    CHECK(md && strstr(md, "(quick setting, seed 5, 1 thread, 8 s in all)"));
    char want[512];
    snprintf(want, sizeof want, "## %s\n\nfirst body\n\n## %s\n\n\n## %s\n\nthird body\n\n## Timing\n", lm_demo_section_at(0)->heading,
             lm_demo_section_at(1)->heading, lm_demo_section_at(2)->heading);
    CHECK_MSG(md && strstr(md, want), "%s", md ? md : "");
    snprintf(want, sizeof want, "| %s | 1.2 |\n| %s | 2.5 |\n| %s | 4.0 |\n| all | 8.0 |\n\nCommand: `the command`.\n",
             lm_demo_section_at(0)->timing, lm_demo_section_at(1)->timing, lm_demo_section_at(2)->timing);
    CHECK_MSG(md && strstr(md, want), "%s", md ? md : "");
    free(md);
    lm_report *r = filled(LM_VERDICT_HOLDS);
    for (int i = 0; i < n; i++) {
        const lm_demo_section *s = lm_demo_section_at(i);
        char *text = NULL, key[128] = "";
        CHECK(lm_demo_section_json(s, r, 0.75, &text) == LM_OK);
        cJSON *j = cJSON_Parse(text);
        CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "measured"), "rate")) == 0.5);
        CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "predicted"), "rho")) == 0.25);
        CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "seconds")) == 0.75);
        if (s->claim) snprintf(key, sizeof key, "%s", s->claim);
        for (char *p = key; *p; p++) *p = *p == '-' ? '_' : *p;
        strcat(key, "_holds");
        CHECK_MSG(s->claim ? cJSON_IsTrue(cJSON_GetObjectItem(j, key)) && cJSON_GetArraySize(j) == 4 : cJSON_GetArraySize(j) == 3,
                  "section %s: %s", s->key, text);
        cJSON_Delete(j), free(text);
    }
    CHECK(!strcmp(lm_demo_section_at(1)->claim, "nesterov-diverges"));
    lm_report_free(r);
}

/* *line (freed here) after a call that returned st. */
static void check_line(lm_status st, char **line, const char *want)
{
    CHECK_MSG(st == LM_OK && *line && !strcmp(*line, want), "got \"%s\"\nwant \"%s\"", *line ? *line : "(null)", want);
    free(*line);
}

static void test_demo_lines(void)
{
    lm_demo_opts o;
    lm_demo_opts_init(&o, LM_SETTING_QUICK);
    char *line = NULL;
    check_line(lm_demo_section_announce(lm_demo_section_at(0), &o, &line), &line,
               "transition to linearity: ||H_f|| of 2-hidden-layer nets against width, linear and tanh output");
    check_line(lm_demo_section_announce(lm_demo_section_at(1), &o, &line), &line,
               "momentum on Gaussian linear regression: SGD, Nesterov (gamma 0.9) and MaSS at SGD's optimal step");
    check_line(lm_demo_section_announce(lm_demo_section_at(2), &o, &line), &line,
               "the MaSS paper's FCN on fashion-mnist: 2 epochs over the first 5000 training images per optimizer, batch 64");
    o.epochs = 1, o.max_train = 0, o.data = "mnist:d";
    check_line(lm_demo_section_announce(lm_demo_section_at(2), &o, &line), &line,
               "the MaSS paper's FCN on mnist:d: 1 epoch over all training images per optimizer, batch 64");
    lm_report *r;
    CHECK(lm_report_create(0, &r) == LM_OK);
    lm_report_measured(r, "linear_slope", -0.4216);
    lm_report_measured(r, "tanh_slope", 0.0134);
    check_line(lm_demo_section_summary(lm_demo_section_at(0), r, &line), &line,
               "slope of log ||H_f|| against log width: linear output -0.422 (theory -0.5), tanh output 0.013 (theory 0)");
    lm_report_predicted(r, "sgd_rho", 0.99339);
    lm_report_predicted(r, "nesterov_rho", 1.30089);
    lm_report_predicted(r, "mass_rho", 0.5);
    lm_report_measured(r, "sgd_final_mean_sq_error", 0.6768);
    lm_report_measured(r, "nesterov_final_mean_sq_error", 218.59);
    check_line(lm_demo_section_summary(lm_demo_section_at(1), r, &line), &line,
               "exact per-step factor of E|w - w*|^2 (simulated mean at the end): SGD 0.9934 (0.677), Nesterov 1.3009 (219), "
               "MaSS 0.5000 (nan)");
    CHECK(lm_demo_section_summary(lm_demo_section_at(2), r, &line) == LM_OK && line == NULL);
    lm_report_free(r);
}

static void test_demo_result(void)
{
    char *sections[3] = {"{\"a\": 1}", NULL, "{\"b\": [true]}"}, *json = NULL, want[256];
    CHECK(lm_demo_result_json(sections, 2.5, "out/report.md", &json) == LM_OK);
    snprintf(want, sizeof want, "{\"%s\":{\"a\":1},\"%s\":null,\"%s\":{\"b\":[true]},\"seconds\":2.5,\"report\":\"out/report.md\"}",
             lm_demo_section_at(0)->key, lm_demo_section_at(1)->key, lm_demo_section_at(2)->key);
    CHECK_MSG(json && !strcmp(json, want), "%s", json ? json : "(null)");
    free(json);
    char dir[] = "/tmp/test_demo_writeXXXXXX", path[64], got[4096] = "", *md = NULL;
    CHECK(mkdtemp(dir) != NULL);
    lm_demo_opts o;
    lm_demo_opts_init(&o, LM_SETTING_FULL);
    o.dir = dir;
    char *bodies[3] = {"one\n", "two\n", "three\n"};
    double secs[3] = {1, 2, 3};
    CHECK(lm_demo_write_report(&o, bodies, secs, 6, "again") == LM_OK);
    CHECK(lm_demo_markdown(&o, bodies, secs, 6, "again", &md) == LM_OK);
    snprintf(path, sizeof path, "%s/report.md", dir);
    FILE *f = fopen(path, "r");
    size_t len = f ? fread(got, 1, sizeof got - 1, f) : 0;
    got[len] = 0;
    if (f) fclose(f);
    CHECK_MSG(md && strstr(md, "Command: `again`.") && !strcmp(got, md), "%s", got);
    free(md);
    remove(path), rmdir(dir);
}

static int hook_asked;
static char hook_path[1200];

static int hook(void *ctx, const lm_figure *f, const char *path)
{
    (void)ctx, (void)f;
    hook_asked++;
    snprintf(hook_path, sizeof hook_path, "%s", path);
    return 1;
}

static void test_claim_write(const lm_claim *cl)
{
    char dir[256], path[1200], *json = NULL, *md = NULL, *res = NULL, *want = NULL;
    struct stat sb;
    if (!check_make_tmpdir(dir, sizeof dir, "claim_write")) return;
    lm_report *r = filled(LM_VERDICT_HOLDS);
    lm_figure f = {.file = "f.png", .caption = "Cap"};
    lm_report_printf(r, "intro\n");
    lm_report_figure(r, &f);
    lm_claim_opts o = {LM_SETTING_QUICK, 0, dir};
    CHECK(lm_claim_write(cl, r, &o, 1.5, "run it again", hook, NULL, &json) == LM_OK);
    snprintf(path, sizeof path, "%s/plots/f.png", dir);
    CHECK(hook_asked == 1);
    CHECK_TEXT(hook_path, path, "the hook's path");
    CHECK(lm_claim_markdown(cl, r, &o, "intro\n\n![Cap](plots/f.png)\n\n*Cap*\n\n", 1.5, "run it again", &want) == LM_OK);
    CHECK_TEXT(md = check_slurp(dir, "report.md"), want, "report.md");
    free(want), want = NULL;
    snprintf(path, sizeof path, "%s/report.md", dir);
    CHECK(lm_claim_result_json(cl, r, LM_SETTING_QUICK, 1.5, path, &want) == LM_OK);
    CHECK_TEXT(res = check_slurp(dir, "result.json"), want, "result.json");
    CHECK_TEXT(json, want, "the result");
    free(json), free(md), free(res), free(want);

    lm_claim_outcome outs[1] = {{"a-claim", LM_VERDICT_HOLDS, 1.25}};
    CHECK(lm_claim_write_index(dir, outs, 1, "Every claim") == LM_OK);
    CHECK(lm_claim_index_markdown(outs, 1, "Every claim", &want) == LM_OK);
    CHECK_TEXT(md = check_slurp(dir, "index.md"), want, "index.md");
    CHECK(md && strstr(md, "a-claim/report.md"));
    free(md), free(want);

    snprintf(path, sizeof path, "%s/new/claim", dir); /* not there yet: made, with plots/ */
    o.dir = path;
    CHECK(lm_claim_write(cl, r, &o, 1.5, "run it again", hook, NULL, &json) == LM_OK);
    CHECK(md = check_slurp(path, "report.md"));
    strcat(path, "/plots");
    CHECK(stat(path, &sb) == 0 && S_ISDIR(sb.st_mode));
    free(json), free(md);
    lm_claim_outcome three[3] = {{"a", LM_VERDICT_HOLDS, 1}, {"b", LM_VERDICT_FAILS, 1}, {"c", LM_VERDICT_HOLDS, 1}};
    CHECK(lm_claim_holding(three, 3) == 2 && lm_claim_holding(three + 1, 1) == 0 && lm_claim_holding(three, 0) == 0);

    o.dir = NULL;
    json = (char *)"x";
    CHECK(lm_claim_write(cl, r, &o, 1.5, "run it again", hook, NULL, &json) == LM_EINVAL && json == NULL);
    lm_report_free(r);
    check_remove_tmpdir(dir);
}

int main(void)
{
    const lm_claim *cl = lm_claim_find("nesterov-diverges");
    CHECK(cl != NULL);
    if (cl) test_result_json(cl), test_claim_markdown(cl), test_claim_write(cl);
    test_index();
    test_demo();
    test_demo_lines();
    test_demo_result();
    return check_summary();
}
