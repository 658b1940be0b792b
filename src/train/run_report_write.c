/* A report's run folder (run.h): report.md, config.json and result.json of a report, its
 * figures drawn into plots/, and the summary that a command prints of it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "linmass/run.h"

/* report.md on md and the summary on t: the blocks of r, each figure drawn into DIR/plots */
static void compose(const char *dir, const lm_report *r, const lm_run_report_spec *s, FILE *md, FILE *t)
{
    char path[2200];
    fprintf(md, "# %s\n\n", s->title);
    for (int i = 0; i < lm_report_block_count(r); i++) {
        lm_report_block b = lm_report_block_at(r, i);
        if (b.text) {
            fprintf(md, "```\n%s```\n\n", b.text);
            fputs(b.text, t);
            continue;
        }
        snprintf(path, sizeof path, "%s/plots/%s", dir, b.figure->file);
        if (s->draw && s->draw(s->ctx, b.figure, path)) {
            fprintf(md, "![%s](plots/%s)\n\n", b.figure->caption ? b.figure->caption : b.figure->file, b.figure->file);
            fprintf(t, "plot: %s\n", path);
        }
    }
    fprintf(t, "run folder: %s\n", dir);
}

/* config.json: the options, then "command" and "resolved" */
static lm_status write_config(const char *dir, const lm_run_report_spec *s)
{
    cJSON *d = cJSON_CreateObject();
    if (s->command) cJSON_AddStringToObject(d, "command", s->command);
    char *setup = s->setup ? lm_probe_setup_json(s->setup) : NULL;
    cJSON *resolved = setup ? cJSON_Parse(setup) : NULL;
    if (resolved) cJSON_AddItemToObject(d, "resolved", resolved);
    char *derived = cJSON_PrintUnformatted(d);
    lm_status st = derived && (!s->setup || resolved) ? lm_run_write_config(dir, s->options, derived)
                                                      : lm_fail(LM_ENOMEM, "config.json: out of memory");
    free(setup), free(derived);
    cJSON_Delete(d);
    return st;
}

lm_status lm_run_write_report(const char *dir, const lm_report *r, const lm_run_report_spec *s, char **summary)
{
    char *md = NULL, *text = NULL, *res = NULL;
    size_t nmd = 0, ntext = 0;
    *summary = NULL;
    if (strlen(dir) > 1000) return lm_fail(LM_EINVAL, "run folder: the path is longer than 1000 characters");
    cJSON *result = cJSON_Parse(s->result ? s->result : "");
    if (!result) return lm_fail(LM_EINVAL, "result.json: the result is not JSON");
    FILE *m = open_memstream(&md, &nmd), *t = open_memstream(&text, &ntext);
    if (m && t) compose(dir, r, s, m, t);
    if (m) fclose(m);
    if (t) fclose(t);
    res = cJSON_Print(result);
    cJSON_Delete(result);
    lm_status st = m && t && res ? write_config(dir, s) : lm_fail(LM_ENOMEM, "%s: out of memory", dir);
    if (!st) st = lm_run_write_result(dir, res, md);
    free(md), free(res);
    if (st) free(text);
    else *summary = text;
    return st;
}
