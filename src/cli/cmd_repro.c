/* linmass repro CLAIM|all [--quick] [--out DIR] [--seed N] [--json]: runs claims of the
 * experiments library (linmass/experiments.h) and renders each report into OUT/CLAIM/. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/report_render.h"
#include "linmass/experiments.h"
#include "linmass/runtime.h"

typedef struct {
    lm_setting setting;
    uint64_t seed;
    int json;
    const char *base; /* OUT */
} repro_opts;

/* The option that chooses setting s. */
static const char *setting_flag(lm_setting s)
{
    return s == LM_SETTING_QUICK ? " --quick" : s == LM_SETTING_MEDIUM ? " --medium" : "";
}

/* OUT/CLAIM/report.md (its figures drawn by plot_draw) and result.json; *j: the result. */
static int write_claim(const lm_claim *cl, const lm_report *r, const repro_opts *o, const char *dir, double secs, cJSON **j)
{
    char command[1200], *js = NULL;
    snprintf(command, sizeof command, "linmass repro %s%s --seed %llu", cl->name, setting_flag(o->setting), (unsigned long long)o->seed);
    lm_claim_opts co = {o->setting, o->seed, dir};
    lm_status st = lm_claim_write(cl, r, &co, secs, command, render_draw, NULL, &js);
    *j = st ? NULL : cJSON_Parse(js);
    free(js);
    return st ? cli_fail("repro", st) : 0;
}

static void print_outcome(const repro_opts *o, const lm_claim_outcome *out, const char *dir, cJSON *j, cJSON *index)
{
    static const char *const words[] = {"NOT TESTED", "holds", "DOES NOT HOLD"};
    if (o->json && !index) {
        cli_print_json(j);
    } else if (!o->json) {
        printf("%-26s %-14s %6.1f s  %s/report.md\n", out->name, words[out->verdict], out->seconds, dir);
    }
    if (index) cJSON_AddItemToArray(index, j);
    else cJSON_Delete(j);
}

static int run_claim(const lm_claim *cl, const repro_opts *o, cJSON *index, lm_claim_outcome *out)
{
    char dir[900];
    snprintf(dir, sizeof dir, "%s/%s", o->base, cl->name);
    lm_report *r;
    lm_status st = lm_report_create(0, &r);
    if (st) return cli_fail("repro", st);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "repro %s", cl->name);
    render_progress p = {prefix, stderr, 0};
    lm_report_set_progress(r, render_progress_fn, &p);
    char running[64];
    snprintf(running, sizeof running, "running (%s setting)", lm_setting_name(o->setting));
    render_progress_fn(&p, LM_PROGRESS_STEP, running);
    lm_claim_opts co = {o->setting, o->seed, dir};
    double t0 = cli_now();
    st = lm_claim_run(cl, &co, r);
    *out = (lm_claim_outcome){cl->name, lm_report_get_verdict(r, NULL), cli_now() - t0};
    cJSON *j = NULL;
    int rc = st ? cli_fail("repro", st) : write_claim(cl, r, o, dir, out->seconds, &j);
    if (!rc) print_outcome(o, out, dir, j, index);
    lm_report_free(r);
    return rc;
}

/* OUT/index.md, and the summary of `repro all`. */
static int write_index(const repro_opts *o, const lm_claim_outcome *outs, int n, cJSON *index)
{
    int holding = lm_claim_holding(outs, n);
    lm_status st = lm_claim_write_index(o->base, outs, n, "linmass repro: every claim");
    if (o->json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddItemToObject(j, "claims", index);
        cJSON_AddNumberToObject(j, "holding", holding);
        cli_print_json(j);
        cJSON_Delete(j);
    } else {
        printf("index: %s/index.md (%d of %d claims hold)\n", o->base, holding, n);
        cJSON_Delete(index);
    }
    return st ? cli_fail("repro", st) : 0;
}

static int run_all(const repro_opts *o)
{
    int n = lm_claim_count(), failed = 0, done = 0;
    lm_claim_outcome *outs = calloc(n, sizeof *outs);
    cJSON *index = cJSON_CreateArray();
    if (!outs || !index) return free(outs), cJSON_Delete(index), cli_fail("repro", lm_fail(LM_ENOMEM, "out of memory"));
    for (int i = 0; i < n; i++) {
        if (!lm_claim_at(i)->time[o->setting]) continue; /* no such setting: only the medium one */
        int rc = run_claim(lm_claim_at(i), o, index, &outs[done]);
        if (rc) failed = rc;
        else done++;
    }
    int rc = write_index(o, outs, done, index);
    free(outs);
    return failed ? failed : rc;
}

/* @CLAIMS@ and @CLAIMS_MEDIUM@ of repro's help: each claim with its sentence, and each claim
 * with a medium setting with its time. */
static const char *claims_help(const char *name)
{
    static char text[4096];
    int medium = !strcmp(name, "CLAIMS_MEDIUM"), k = 0;
    if (!medium && strcmp(name, "CLAIMS")) return NULL;
    text[0] = '\0';
    for (int i = 0; i < lm_claim_count() && k < (int)sizeof text; i++) {
        const lm_claim *cl = lm_claim_at(i);
        if (!medium || cl->time[LM_SETTING_MEDIUM])
            k += snprintf(text + k, sizeof text - k, "  %-26s %s\n", cl->name, medium ? cl->time[LM_SETTING_MEDIUM] : cl->sentence);
    }
    return text;
}

int cmd_repro(int argc, char **argv)
{
    int quick = 0, medium = 0, json = 0, threads = 1;
    uint64_t seed = 0;
    const char *out = "runs/repro", *names[2];
    cli_opt opts[] = {
        {"quick", OPT_FLAG, &quick, NULL, "the quick setting (under a minute per claim on 2 cores), as the tests run it", 0},
        {"medium", OPT_FLAG, &medium, NULL,
         "the medium setting: long enough to decide, over 3 seeds, by their standard error, for the paper's protocol and "
         "at learning rates tuned on a validation split (at most 15 minutes on 2 cores; the claims that have one are listed below)", 0},
        {"out", OPT_STRING, &out, "runs/repro", "folder; each claim writes OUT/CLAIM/{report.md,result.json,plots/}", 0},
        {"seed", OPT_U64, &seed, "0", "seed of every random draw", 0},
        {"threads", OPT_INT, &threads, "0", "threads (0: all cores)", 0},
        {"json", OPT_FLAG, &json, NULL, "print one JSON object (for all: one object with a list)", 0},
    };
    cli_command c = {"repro", opts, sizeof opts / sizeof *opts, claims_help, names, 1, 0};
    int rc = cli_parse(&c, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    if (c.npositional != 1) return cli_usage_error(&c, "name one claim, or all");
    if (quick && medium) return cli_usage_error(&c, "--quick and --medium: choose one setting");
    if (strlen(out) > 800) return cli_usage_error(&c, "--out: the path is longer than 800 characters");
    lm_set_threads(threads);
    repro_opts o = {quick ? LM_SETTING_QUICK : medium ? LM_SETTING_MEDIUM : LM_SETTING_FULL, seed, json, out};
    if (!strcmp(names[0], "all")) return run_all(&o);
    const lm_claim *cl = lm_claim_find(names[0]);
    if (!cl) return cli_usage_error(&c, "unknown claim '%s'", names[0]);
    if (!cl->time[o.setting]) return cli_usage_error(&c, "claim '%s' has no %s setting", names[0], lm_setting_name(o.setting));
    lm_claim_outcome one;
    return run_claim(cl, &o, NULL, &one);
}
