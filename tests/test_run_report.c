/* What the library writes of a training run (run.h), on values set here by hand, so every
 * expected text and number is known in closed form:
 *   - lm_run_format_hparams: sgd's options in the table's order; mass in the eta form without
 *     the authors' form, and the reverse;
 *   - lm_train_result_json: exactly the keys of the summary, in order, with the result's values
 *     (test_acc only with classes, val_loss only with a validation split);
 *   - lm_run_write_train_report: report.md's rows hold the configuration's and the result's
 *     values; the figures are linked only when plotted;
 *   - lm_run_training_figures on a metrics.jsonl written here: the figures, their file names,
 *     curves (lengths, values, kinds, colours) and axes; a folder without metrics.jsonl: LM_EIO.
 *   - lm_run_eval_summary: the text and the JSON of an evaluation, exactly, with and without
 *     an accuracy.
 * (lm_train_config_validate's ranges: test_train_settings.c.) */
// ctest-labels: unit
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "linmass/io.h"
#include "linmass/run.h"
#include "linmass/version.h"

static void test_hparams(void)
{
    lm_optim_config oc;
    char buf[512];
    lm_optim_config_init(&oc, LM_OPTIM_SGD);
    lm_optim_config_set(&oc, "lr", "0.05");
    CHECK(lm_optim_config_validate(&oc) == LM_OK);
    lm_run_format_hparams(&oc, buf, sizeof buf);
    CHECK_MSG(!strcmp(buf, "lr 0.05, momentum 0, dampening 0, nesterov 0, weight_decay 0"), "sgd: %s", buf);
    lm_optim_config_init(&oc, LM_OPTIM_MASS);
    lm_optim_config_set(&oc, "eta1", "0.5"), lm_optim_config_set(&oc, "eta2", "0.25"), lm_optim_config_set(&oc, "gamma", "0.75");
    CHECK(lm_optim_config_validate(&oc) == LM_OK && oc.mass_form == LM_MASS_ETA);
    lm_run_format_hparams(&oc, buf, sizeof buf);
    CHECK_MSG(!strcmp(buf, "weight_decay 0, eta1 0.5, eta2 0.25, gamma 0.75"), "mass eta form: %s", buf);
    lm_optim_config_init(&oc, LM_OPTIM_MASS);
    lm_optim_config_set(&oc, "lr", "0.01"), lm_optim_config_set(&oc, "alpha", "0.05"), lm_optim_config_set(&oc, "kappa_tilde", "3");
    CHECK(lm_optim_config_validate(&oc) == LM_OK && oc.mass_form == LM_MASS_AUTHORS);
    lm_run_format_hparams(&oc, buf, sizeof buf);
    CHECK_MSG(!strcmp(buf, "lr 0.01, weight_decay 0, alpha 0.05, kappa_tilde 3"), "mass authors' form: %s", buf);
}

/* A configuration and a result as a finished classification run would give them. */
static void fill(lm_train_config *c, lm_train_result *r, const char *dir)
{
    lm_train_config_init(c);
    c->data = "synth:teacher", c->model = "dense:4,tanh,dense:2", c->out = dir, c->batch = 16, c->seed = 7;
    memset(r, 0, sizeof *r);
    *r = (lm_train_result){.train_loss = 0.125, .test_loss = 0.25, .test_acc = 0.875, .val_loss = NAN, .val_acc = NAN,
                           .steps = 40, .samples_per_sec = 1234, .wall_seconds = 2.5, .epochs_done = 2, .num_params = 30};
    snprintf(r->checkpoint, sizeof r->checkpoint, "%s/checkpoints/last.safetensors", dir);
    lm_optim_config_init(&r->optim, LM_OPTIM_SGD);
    lm_optim_config_set(&r->optim, "lr", "0.05");
    lm_optim_config_validate(&r->optim);
}

static void test_json(const char *dir)
{
    static const char *const keys[] = {"train_loss", "test_loss", "test_acc", "steps", "samples_per_sec", "wall_seconds",
                                       "num_params", "ranks", "run", "checkpoint"};
    static const double values[] = {0.125, 0.25, 0.875, 40, 1234, 2.5, 30, 1};
    lm_train_config c;
    lm_train_result r;
    fill(&c, &r, dir);
    char *text = NULL;
    CHECK(lm_train_result_json(&c, &r, &text) == LM_OK);
    cJSON *o = cJSON_Parse(text), *item = o ? o->child : NULL;
    for (int i = 0; i < 10; i++, item = item ? item->next : NULL) {
        CHECK_MSG(item && !strcmp(item->string, keys[i]), "key %d: %s, not %s", i, item ? item->string : "none", keys[i]);
        if (item && i < 8) CHECK_MSG(item->valuedouble == values[i], "%s = %g, not %g", keys[i], item->valuedouble, values[i]);
    }
    CHECK(item == NULL);
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(o, "run")), dir));
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(o, "checkpoint")), r.checkpoint));
    cJSON_Delete(o), free(text);
    r.test_acc = NAN, r.val_loss = 0.5; /* regression with a validation split */
    CHECK(lm_train_result_json(&c, &r, &text) == LM_OK);
    o = cJSON_Parse(text);
    CHECK(!cJSON_GetObjectItem(o, "test_acc") && cJSON_GetNumberValue(cJSON_GetObjectItem(o, "val_loss")) == 0.5);
    cJSON_Delete(o), free(text);
}

static char *read_report(const char *dir)
{
    char path[300], *text = NULL;
    size_t len;
    snprintf(path, sizeof path, "%s/report.md", dir);
    CHECK(lm_read_file(path, 1 << 20, &text, &len) == LM_OK);
    return text;
}

static void test_report(const char *dir)
{
    lm_train_config c;
    lm_train_result r;
    fill(&c, &r, dir);
    CHECK(lm_run_write_train_report(&c, &r, 0) == LM_OK);
    char *text = read_report(dir), version[64];
    static const char *const rows[] = {
        "| data | `synth:teacher` |\n", "| model | `dense:4,tanh,dense:2` (30 parameters, standard parameterization) |\n",
        "| optimizer | `sgd`: lr 0.05, momentum 0, dampening 0, nesterov 0, weight_decay 0 |\n", "| schedule | `constant` |\n",
        "| batch | 16 |\n", "| steps | 40 (2 epochs) |\n", "| seed | 7 |\n",
        "| final train loss (running mean of the last epoch) | 0.125 |\n", "| test loss | 0.25 |\n",
        "| test accuracy | 0.8750 |\n", "| samples/s | 1234 |\n", "| wall time | 2.5 s |\n"};
    for (size_t i = 0; text && i < sizeof rows / sizeof *rows; i++) CHECK_MSG(strstr(text, rows[i]), "report.md lacks %s", rows[i]);
    snprintf(version, sizeof version, "| linmass | %s |\n", lm_version());
    CHECK(text && strstr(text, version) && !strstr(text, "![loss]"));
    free(text);
    r.test_acc = NAN, r.optim.auto_hp = 1;
    CHECK(lm_run_write_train_report(&c, &r, 1) == LM_OK);
    text = read_report(dir);
    CHECK(text && !strstr(text, "test accuracy") && strstr(text, "`sgd` (hyper-parameters from the data's constants): lr 0.05"));
    CHECK(text && strstr(text, "![loss](plots/loss.png)\n\n![accuracy](plots/accuracy.png)\n"));
    free(text);
}

static const char metrics[] =
    "{\"epoch\":0.5,\"step\":5,\"train_loss\":0.8,\"train_acc\":0.5}\n"
    "{\"epoch\":1,\"step\":10,\"train_loss\":0.6,\"train_acc\":0.625,\"val_loss\":0.7,\"test_loss\":0.65,\"test_acc\":0.6}\n"
    "{\"epoch\":2,\"step\":20,\"train_loss\":0.4,\"train_acc\":0.75,\"val_loss\":0.5,\"test_loss\":0.45,\"test_acc\":0.7}\n";

static void check_curve(const lm_curve *c, const char *label, int n, const double *y, lm_curve_kind kind, int color)
{
    CHECK_MSG(!strcmp(c->label, label) && c->n == n && c->kind == kind && c->color == color, "curve %s: n %d kind %d colour %d",
              c->label, c->n, (int)c->kind, c->color);
    for (int i = 0; i < n && c->n == n; i++) CHECK_MSG(c->y[i] == y[i], "%s[%d] = %g, not %g", label, i, c->y[i], y[i]);
}

static void test_figures(const char *dir)
{
    char path[300];
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    CHECK(lm_write_file_atomic(path, metrics, strlen(metrics)) == LM_OK);
    lm_report *r;
    CHECK(lm_report_create(0, &r) == LM_OK);
    CHECK(lm_run_training_figures(dir, r) == LM_OK);
    CHECK(lm_report_block_count(r) == 2);
    const lm_figure *loss = lm_report_block_at(r, 0).figure, *acc = lm_report_block_at(r, 1).figure;
    CHECK(loss && !strcmp(loss->file, "loss.png") && loss->logy && loss->n_curves == 3 && loss->legend == LM_LEGEND_TOP_RIGHT);
    CHECK(acc && !strcmp(acc->file, "accuracy.png") && !acc->logy && acc->n_curves == 3 && acc->legend == LM_LEGEND_BOTTOM_RIGHT);
    CHECK(loss && !strcmp(loss->xlabel, "epoch") && !strcmp(loss->ylabel, "loss") && acc && !strcmp(acc->ylabel, "accuracy"));
    if (loss && loss->n_curves == 3) {
        check_curve(&loss->curves[0], "train", 3, (double[]){0.8, 0.6, 0.4}, LM_CURVE_LINE, 1);
        check_curve(&loss->curves[1], "validation", 2, (double[]){0.7, 0.5}, LM_CURVE_LINESPOINTS, 2);
        check_curve(&loss->curves[2], "test", 2, (double[]){0.65, 0.45}, LM_CURVE_LINESPOINTS, 3);
        CHECK(loss->curves[0].x[0] == 0.5 && loss->curves[2].x[1] == 2);
    }
    if (acc && acc->n_curves == 3) {
        check_curve(&acc->curves[0], "train", 3, (double[]){0.5, 0.625, 0.75}, LM_CURVE_LINE, 1);
        check_curve(&acc->curves[1], "validation", 0, NULL, LM_CURVE_LINESPOINTS, 2);
        check_curve(&acc->curves[2], "test", 2, (double[]){0.6, 0.7}, LM_CURVE_LINESPOINTS, 3);
    }
    lm_report_free(r);
    /* 61 test values: a line; no accuracy at all: no accuracy figure */
    FILE *f = fopen(path, "w");
    for (int i = 0; f && i < 61; i++) fprintf(f, "{\"epoch\":%d,\"train_loss\":1,\"test_loss\":%d}\n", i, i);
    if (f) fclose(f);
    CHECK(lm_report_create(0, &r) == LM_OK && lm_run_training_figures(dir, r) == LM_OK && lm_report_block_count(r) == 1);
    const lm_figure *g = lm_report_block_at(r, 0).figure;
    CHECK(g && g->curves[2].n == 61 && g->curves[2].kind == LM_CURVE_LINE && g->curves[2].y[60] == 60);
    lm_report_free(r);
    snprintf(path, sizeof path, "%s/none", dir);
    CHECK(lm_report_create(0, &r) == LM_OK && lm_run_training_figures(path, r) == LM_EIO && lm_report_block_count(r) == 0);
    CHECK_MSG(strstr(lm_error_message(), "metrics.jsonl"), "message: %s", lm_error_message());
    lm_report_free(r);
}

static void test_eval_summary(void)
{
    lm_run_eval e = {0.5, 0.25, 12};
    char *text;
    CHECK(lm_run_eval_summary(&e, 0, &text) == LM_OK);
    CHECK_TEXT(text, "test loss 0.500000  accuracy 0.2500  (12 samples)", "the text");
    free(text);
    CHECK(lm_run_eval_summary(&e, 1, &text) == LM_OK);
    CHECK_TEXT(text, "{\"test_loss\":0.5,\"test_acc\":0.25,\"n\":12}", "the JSON");
    free(text);
    e.test_acc = NAN, e.test_loss = 1.0 / 3;
    CHECK(lm_run_eval_summary(&e, 0, &text) == LM_OK);
    CHECK_TEXT(text, "test loss 0.333333", "the text without classes");
    free(text);
    CHECK(lm_run_eval_summary(&e, 1, &text) == LM_OK);
    CHECK_TEXT(text, "{\"test_loss\":0.33333333333333331,\"n\":12}", "the JSON without classes");
    free(text);
}

int main(void)
{
    test_eval_summary();
    char dir[256];
    if (!check_make_tmpdir(dir, sizeof dir, "run_report")) return 1;
    test_hparams();
    test_json(dir);
    test_report(dir);
    test_figures(dir);
    check_remove_tmpdir(dir);
    return check_summary();
}
