/* What the probe jobs of probe.h share: the checks of their arguments, the
 * start of their result object and its end. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <time.h>

#include "probe/probe_internal.h"

double lm_job_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

lm_status lm_job_check(const char *job, const lm_probe_inputs *in, const void *o, const lm_report *r, char **json)
{
    if (json) *json = NULL;
    if (!in || !in->model || !in->x) return lm_fail(LM_EINVAL, "%s: in: no opened inputs", job);
    if (!o || !r || !json) return lm_fail(LM_EINVAL, "%s: %s is NULL", job, !o ? "o" : !r ? "r" : "json");
    return lm_report_status(r);
}

cJSON *lm_job_result(const lm_probe_inputs *in, const char *probe, int output, const char *folder, const lm_collective *coll)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "probe", probe);
    lm_job_add(o, NULL, lm_probe_inputs_json(in, output));
    if (folder) cJSON_AddStringToObject(o, "run", folder);
    else cJSON_AddNullToObject(o, "run");
    cJSON_AddNumberToObject(o, "ranks", lm_coll_size(coll));
    return o;
}

cJSON *lm_job_add(cJSON *o, const char *key, char *text)
{
    cJSON *j = text ? cJSON_Parse(text) : NULL, *e;
    free(text);
    if (o && j && key) return cJSON_AddItemToObject(o, key, j) ? j : (cJSON_Delete(j), NULL);
    while (o && j && (e = j->child)) cJSON_AddItemToObject(o, e->string, cJSON_DetachItemViaPointer(j, e));
    cJSON_Delete(j);
    return NULL;
}

lm_status lm_job_json_out(cJSON *o, char **json)
{
    *json = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return *json ? LM_OK : lm_fail(LM_ENOMEM, "out of memory for the JSON result");
}

lm_status lm_job_finish(cJSON *res, double t0, const lm_report *r, char **json)
{
    cJSON_AddNumberToObject(res, "seconds", lm_job_now() - t0);
    *json = res ? cJSON_PrintUnformatted(res) : NULL;
    cJSON_Delete(res);
    lm_status st = *json ? lm_report_status(r) : lm_fail(LM_ENOMEM, "out of memory for the result");
    if (st) free(*json), *json = NULL;
    return st;
}
