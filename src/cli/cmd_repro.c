/* linmass repro CLAIM|all [--quick] [--out DIR] [--seed N] [--json] */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/repro.h"
#include "linmass/io.h"
#include "linmass/runtime.h"

void repro_printf(repro_ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0) return;
    if (c->len + need + 1 > c->cap) {
        size_t cap = (c->len + need + 1) * 2;
        char *grown = realloc(c->body, cap);
        if (!grown) return;
        c->body = grown;
        c->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(c->body + c->len, c->cap - c->len, fmt, ap);
    va_end(ap);
    c->len += need;
}

static void add_number(cJSON *o, const char *key, double v)
{
    if (isfinite(v)) cJSON_AddNumberToObject(o, key, v);
    else cJSON_AddStringToObject(o, key, isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
}

void repro_measured(repro_ctx *c, const char *key, double v) { add_number(c->measured, key, v); }
void repro_predicted(repro_ctx *c, const char *key, double v) { add_number(c->predicted, key, v); }

const char *repro_plot_path(repro_ctx *c, const char *file, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", c->plots, file);
    return buf;
}

void repro_figure(repro_ctx *c, const char *file, const char *caption, int written)
{
    if (written) repro_printf(c, "\n![%s](plots/%s)\n\n*%s*\n\n", caption, file, caption);
    else repro_printf(c, "\n(no plot: gnuplot is missing)\n\n");
}

void repro_progress(const char *claim, int force, const char *fmt, ...)
{
    static double last;
    double t = cli_now();
    if (!force && t - last < 3) return;
    last = t;
    va_list ap;
    fprintf(stderr, "repro %s: ", claim);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* The claim tables, each defined in its own file (repro_*.c), in the order of science.md. */
extern const repro_claim repro_train_claims[];
extern const int repro_train_claims_count;
extern const repro_claim repro_probe_claims[];
extern const int repro_probe_claims_count;

static const struct {
    const repro_claim *claims;
    const int *count;
} tables[] = {
    {repro_theory_claims, &repro_theory_claims_count},
    {repro_train_claims, &repro_train_claims_count},
    {repro_probe_claims, &repro_probe_claims_count},
};
#define N_TABLES ((int)(sizeof tables / sizeof *tables))

/* The i-th claim over all tables, or NULL past the end. */
static const repro_claim *claim_at(int i)
{
    for (int t = 0; t < N_TABLES; t++) {
        if (i < *tables[t].count) return &tables[t].claims[i];
        i -= *tables[t].count;
    }
    return NULL;
}

static const repro_claim *find(const char *name)
{
    for (int i = 0; claim_at(i); i++)
        if (!strcmp(claim_at(i)->name, name)) return claim_at(i);
    return NULL;
}

static int run_claim(const repro_claim *cl, const char *base, int quick, uint64_t seed, int json, cJSON *index)
{
    repro_ctx c = {0};
    char out[900], path[1100];
    if (strlen(base) > 800) {
        fprintf(stderr, "linmass repro: --out: the path is longer than 800 characters\n");
        return 2;
    }
    snprintf(out, sizeof out, "%s/%s", base, cl->name);
    snprintf(c.plots, sizeof c.plots, "%s/plots", out);
    if (lm_mkdir_p(c.plots)) {
        fprintf(stderr, "linmass repro: %s\n", lm_error_message());
        return 1;
    }
    c.out = out;
    c.quick = quick;
    c.seed = seed;
    c.measured = cJSON_CreateObject();
    c.predicted = cJSON_CreateObject();
    double t0 = cli_now();
    repro_progress(cl->name, 1, "running (%s setting)", quick ? "quick" : "full");
    int rc = cl->run(&c);
    double secs = cli_now() - t0;
    if (!rc) {
        char *text = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&text, &len);
        fprintf(m, "# Claim `%s`\n\n> %s\n\n## What the paper reports or the theory predicts\n\n%s\n\n## What was measured\n\n%s\n",
                cl->name, cl->sentence, cl->source, c.body ? c.body : "");
        fprintf(m, "## Verdict: the claim %s\n\nSetting: %s (%.1f s on %d thread%s). Command: `linmass repro %s%s --seed %llu`. "
                   "The full setting takes %s on 2 cores.\n",
                c.holds ? "**holds**" : "**does not hold** here", quick ? "quick" : "full", secs, lm_get_threads(),
                lm_get_threads() > 1 ? "s" : "", cl->name, quick ? " --quick" : "", (unsigned long long)seed, cl->full_time);
        fclose(m);
        snprintf(path, sizeof path, "%s/report.md", out);
        lm_write_file_atomic(path, text, len);
        free(text);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "claim", cl->name);
        cJSON_AddBoolToObject(o, "holds", c.holds);
        cJSON_AddBoolToObject(o, "quick", quick);
        cJSON_AddItemToObject(o, "measured", c.measured);
        cJSON_AddItemToObject(o, "predicted", c.predicted);
        cJSON_AddNumberToObject(o, "seconds", secs);
        cJSON_AddStringToObject(o, "report", path);
        char *js = cJSON_Print(o);
        snprintf(path, sizeof path, "%s/result.json", out);
        lm_write_file_atomic(path, js, strlen(js));
        free(js);
        if (json && !index) {
            js = cJSON_PrintUnformatted(o);
            printf("%s\n", js);
            free(js);
        } else if (!json) {
            printf("%-26s %-14s %6.1f s  %s/report.md\n", cl->name, c.holds ? "holds" : "DOES NOT HOLD", secs, out);
        }
        if (index) cJSON_AddItemToArray(index, o);
        else cJSON_Delete(o);
    } else {
        cJSON_Delete(c.measured);
        cJSON_Delete(c.predicted);
    }
    free(c.body);
    return rc;
}

int cmd_repro(int argc, char **argv)
{
    int quick = 0, json = 0, threads = 1;
    uint64_t seed = 0;
    const char *out = "runs/repro", *names[2];
    cli_opt opts[] = {
        {"quick", OPT_FLAG, &quick, NULL, "the quick setting (under a minute per claim on 2 cores), as the tests run it", 0},
        {"out", OPT_STRING, &out, "runs/repro", "folder; each claim writes OUT/CLAIM/{report.md,result.json,plots/}", 0},
        {"seed", OPT_U64, &seed, "0", "seed of every random draw", 0},
        {"threads", OPT_INT, &threads, "0", "threads (0: all cores)", 0},
        {"json", OPT_FLAG, &json, NULL, "print one JSON object (for all: one object with a list)", 0},
    };
    static char epilog[4096];
    int k = snprintf(epilog, sizeof epilog, "claims:\n");
    for (int i = 0; claim_at(i) && k < (int)sizeof epilog; i++)
        k += snprintf(epilog + k, sizeof epilog - k, "  %-26s %s\n", claim_at(i)->name, claim_at(i)->sentence);
    if (k < (int)sizeof epilog) snprintf(epilog + k, sizeof epilog - k, "  %-26s every claim, with an index report\n", "all");
    cli_command c = {"repro", "linmass repro CLAIM|all [options]",
                     "Reproduce a claim of the MaSS and transition-to-linearity papers: measure it, put the\n"
                     "numbers next to the paper's or the theory's, and decide whether it holds.",
                     opts, sizeof opts / sizeof *opts, epilog, names, 1, 0};
    int rc = cli_parse(&c, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    if (c.npositional != 1) return cli_usage_error(&c, "name one claim, or all");
    if (threads < 0) return cli_usage_error(&c, "--threads %d must not be negative", threads);
    lm_set_threads(threads);
    if (strcmp(names[0], "all")) {
        const repro_claim *cl = find(names[0]);
        if (!cl) return cli_usage_error(&c, "unknown claim '%s'", names[0]);
        return run_claim(cl, out, quick, seed, json, NULL);
    }
    cJSON *index = cJSON_CreateArray();
    int failed = 0, holding = 0;
    for (int i = 0; claim_at(i); i++) {
        int r = run_claim(claim_at(i), out, quick, seed, json, index);
        if (r) failed = r;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    fprintf(m, "# linmass repro: every claim\n\n| claim | verdict | seconds | report |\n|---|---|---|---|\n");
    for (int i = 0; i < cJSON_GetArraySize(index); i++) {
        cJSON *o = cJSON_GetArrayItem(index, i);
        const char *name = cJSON_GetObjectItem(o, "claim")->valuestring;
        int h = cJSON_IsTrue(cJSON_GetObjectItem(o, "holds"));
        holding += h;
        fprintf(m, "| `%s` | %s | %.1f | [report](%s/report.md) |\n", name, h ? "holds" : "does not hold",
                cJSON_GetObjectItem(o, "seconds")->valuedouble, name);
    }
    fclose(m);
    char path[1100];
    snprintf(path, sizeof path, "%s/index.md", out);
    lm_write_file_atomic(path, text, len);
    free(text);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "claims", index);
        cJSON_AddNumberToObject(o, "holding", holding);
        char *js = cJSON_PrintUnformatted(o);
        printf("%s\n", js);
        free(js);
        cJSON_Delete(o);
    } else {
        printf("index: %s (%d of %d claims hold)\n", path, holding, cJSON_GetArraySize(index));
        cJSON_Delete(index);
    }
    return failed;
}
