/* What a training run reports (run.h): report.md in its folder and the summary as JSON; and an
 * evaluation of a run's model on its test split. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "linmass/dist.h"
#include "linmass/io.h"
#include "linmass/run.h"
#include "linmass/version.h"

void lm_run_format_hparams(const lm_optim_config *oc, char *buf, size_t len)
{
    unsigned skip = LM_OPT_SCHEDULE | LM_OPT_RESTART | LM_OPT_AUTO;
    if (oc->kind == LM_OPTIM_MASS)
        skip |= oc->mass_form == LM_MASS_ETA ? LM_OPT_LR | LM_OPT_ALPHA | LM_OPT_KAPPA_TILDE : LM_OPT_ETA1 | LM_OPT_ETA2 | LM_OPT_GAMMA;
    size_t k = 0;
    if (len) buf[0] = '\0';
    for (unsigned bit = 1; bit < (1u << LM_OPT_COUNT) && k < len; bit <<= 1) {
        char value[64];
        if (!(lm_optim_kind_options(oc->kind) & bit) || (skip & bit)) continue;
        lm_optim_config_format(oc, bit, value, sizeof value);
        k += (size_t)snprintf(buf + k, len - k, "%s%s %.6g", k ? ", " : "", lm_optim_option_name(bit), strtod(value, NULL));
    }
}

/* report.md's text into the memory stream m. */
static void train_report(FILE *m, const lm_train_config *c, const lm_train_result *r, int plotted)
{
    char hp[512], sched[256];
    lm_run_format_hparams(&r->optim, hp, sizeof hp);
    lm_optim_config_format(&r->optim, LM_OPT_SCHEDULE, sched, sizeof sched);
    fprintf(m, "# Training run\n\n"
               "| | |\n|---|---|\n| data | `%s` |\n| model | `%s` (%zu parameters, %s parameterization) |\n"
               "| optimizer | `%s`%s: %s |\n| schedule | `%s`%s |\n| batch | %d |\n| steps | %ld (%d epochs) |\n"
               "| seed | %llu |\n| linmass | %s |\n\n"
               "## Measured\n\n| | |\n|---|---|\n| final train loss (running mean of the last epoch) | %.6g |\n"
               "| test loss | %.6g |\n",
            c->data, c->model, r->num_params, c->param == LM_PARAM_NTK ? "ntk" : "standard",
            lm_optim_kind_name(r->optim.kind), r->optim.auto_hp ? " (hyper-parameters from the data's constants)" : "", hp,
            sched, r->optim.restart ? ", optimizer state restarted at each drop" : "", c->batch, r->steps, r->epochs_done,
            (unsigned long long)c->seed, lm_version(), r->train_loss, r->test_loss);
    if (!isnan(r->test_acc)) fprintf(m, "| test accuracy | %.4f |\n", r->test_acc);
    fprintf(m, "| samples/s | %.0f |\n| wall time | %.1f s |\n\n", r->samples_per_sec, r->wall_seconds);
    if (plotted) fprintf(m, "![loss](plots/loss.png)\n\n![accuracy](plots/accuracy.png)\n");
}

lm_status lm_run_write_train_report(const lm_train_config *c, const lm_train_result *r, int plotted)
{
    char path[1100], *text = NULL;
    size_t len = 0;
    if (strlen(c->out) > 1000) return lm_fail(LM_EINVAL, "run folder: the path is longer than 1000 characters");
    snprintf(path, sizeof path, "%s/report.md", c->out);
    FILE *m = open_memstream(&text, &len);
    if (!m) return lm_fail(LM_ENOMEM, "%s: out of memory", path);
    train_report(m, c, r, plotted);
    int bad = fclose(m);
    lm_status st = bad ? lm_fail(LM_ENOMEM, "%s: out of memory", path) : lm_write_file_atomic(path, text, len);
    free(text);
    return st;
}

lm_status lm_train_result_json(const lm_train_config *c, const lm_train_result *r, char **json)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "train_loss", r->train_loss);
    cJSON_AddNumberToObject(o, "test_loss", r->test_loss);
    if (!isnan(r->test_acc)) cJSON_AddNumberToObject(o, "test_acc", r->test_acc);
    if (!isnan(r->val_loss)) cJSON_AddNumberToObject(o, "val_loss", r->val_loss);
    cJSON_AddNumberToObject(o, "steps", (double)r->steps);
    cJSON_AddNumberToObject(o, "samples_per_sec", r->samples_per_sec);
    cJSON_AddNumberToObject(o, "wall_seconds", r->wall_seconds);
    cJSON_AddNumberToObject(o, "num_params", (double)r->num_params);
    cJSON_AddNumberToObject(o, "ranks", lm_dist_size());
    if (lm_dist_size() > 1) { /* the gradient sums: time per step on this rank, waiting included */
        lm_dist_stats ds;
        lm_dist_get_stats(&ds);
        cJSON_AddNumberToObject(o, "allreduce_ms_per_step", ds.calls ? 1e3 * ds.seconds / ds.calls : 0);
        cJSON_AddNumberToObject(o, "allreduce_bytes_per_step", ds.calls ? ds.bytes / ds.calls : 0);
    }
    cJSON_AddStringToObject(o, "run", c->out);
    cJSON_AddStringToObject(o, "checkpoint", r->checkpoint);
    *json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return *json ? LM_OK : lm_fail(LM_ENOMEM, "training summary: out of memory");
}

lm_status lm_run_evaluate(lm_run *r, int batch, lm_run_eval *out)
{
    *out = (lm_run_eval){NAN, NAN, r->test->n};
    return lm_evaluate(r->model, r->test, batch, r->loss, &out->test_loss, &out->test_acc);
}

lm_status lm_run_eval_summary(const lm_run_eval *e, int json, char **text)
{
    int acc = !isnan(e->test_acc);
    *text = NULL;
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "test_loss", e->test_loss);
        if (acc) cJSON_AddNumberToObject(o, "test_acc", e->test_acc);
        cJSON_AddNumberToObject(o, "n", (double)e->n);
        *text = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
    } else {
        static const char *const form[2] = {"test loss %.6f", "test loss %.6f  accuracy %.4f  (%zu samples)"};
        int len = snprintf(NULL, 0, form[acc], e->test_loss, e->test_acc, e->n);
        if (len >= 0 && (*text = malloc((size_t)len + 1))) snprintf(*text, (size_t)len + 1, form[acc], e->test_loss, e->test_acc, e->n);
    }
    return *text ? LM_OK : lm_fail(LM_ENOMEM, "evaluation summary: out of memory");
}
