/* lm_run_resume_options on a config.json written here (lm_run_write_config): options not given
 * take the recorded values of their types (a double recorded as text, as earlier versions wrote
 * the optimizer's options, is read); a recorded null or a missing key leaves the option as it
 * was; a given run-defining option with the recorded value passes, with another value it is
 * LM_EINVAL with its index and a message naming the key, the folder and the recorded value;
 * given options that do not define the run may change; a value of another type is LM_EINVAL
 * naming the key; a folder without config.json takes nothing. lm_run_defining_key lists the
 * run-defining keys. lm_run_options_json writes the object: exact text for a small table (a NULL
 * value and a NULL string as null, flags as booleans, a uint64_t as a number), and what it wrote
 * is read back into a fresh table. */
// ctest-labels: unit
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/run.h"

static const char config[] = "{\"data\":\"synth:linreg\",\"model\":\"linear\",\"batch\":16,\"seed\":3,\"lr\":\"0.05\","
                             "\"augment\":true,\"epochs\":4,\"init-from\":null,\"resolved\":{\"batch\":99}}";

typedef struct {
    const char *data, *model, *init_from;
    int batch, epochs, augment;
    uint64_t seed;
    double lr;
} opts;

static int table(opts *o, lm_run_option *t)
{
    lm_run_option base[] = {
        {"data", LM_RUN_OPT_STRING, &o->data, 0},    {"model", LM_RUN_OPT_STRING, &o->model, 0},
        {"batch", LM_RUN_OPT_INT, &o->batch, 0},     {"seed", LM_RUN_OPT_U64, &o->seed, 0},
        {"lr", LM_RUN_OPT_DOUBLE, &o->lr, 0},        {"augment", LM_RUN_OPT_FLAG, &o->augment, 0},
        {"epochs", LM_RUN_OPT_INT, &o->epochs, 0},   {"init-from", LM_RUN_OPT_STRING, &o->init_from, 0},
    };
    memcpy(t, base, sizeof base);
    return sizeof base / sizeof *base;
}

static void test_taken(const char *dir)
{
    opts o = {NULL, NULL, "keep", 64, 5, 0, 0, 0.1};
    lm_run_option t[8];
    int n = table(&o, t), conflict = 7;
    t[6].given = 1, o.epochs = 9; /* not run-defining: may change */
    lm_run_recorded *held;
    CHECK_MSG(lm_run_resume_options(dir, t, n, &conflict, &held) == LM_OK, "%s", lm_error_message());
    CHECK(conflict == -1 && held != NULL);
    CHECK(o.data && !strcmp(o.data, "synth:linreg") && o.model && !strcmp(o.model, "linear"));
    CHECK(o.batch == 16 && o.seed == 3 && o.lr == 0.05 && o.augment == 1 && o.epochs == 9);
    CHECK(!strcmp(o.init_from, "keep") && !t[7].given); /* null: left as it was */
    for (int i = 0; i < 7; i++) CHECK_MSG(t[i].given, "option %s not marked taken", t[i].key);
    lm_run_recorded_free(held);
}

static void test_refused(const char *dir)
{
    opts o = {NULL, NULL, NULL, 16, 5, 0, 0, 0.1};
    lm_run_option t[8];
    int n = table(&o, t), conflict;
    lm_run_recorded *held;
    t[2].given = 1; /* batch 16: the run's */
    CHECK(lm_run_resume_options(dir, t, n, &conflict, &held) == LM_OK && conflict == -1);
    lm_run_recorded_free(held);
    n = table(&o, t), o.seed = 4, t[3].given = 1;
    CHECK(lm_run_resume_options(dir, t, n, &conflict, &held) == LM_EINVAL && conflict == 3);
    CHECK_MSG(strstr(lm_error_message(), "seed contradicts the run in ") && strstr(lm_error_message(), dir) &&
                  strstr(lm_error_message(), "which has seed 3"), "%s", lm_error_message());
    lm_run_recorded_free(held);
    n = table(&o, t), o.init_from = "w.safetensors", t[7].given = 1; /* the run has none */
    CHECK(lm_run_resume_options(dir, t, n, &conflict, &held) == LM_EINVAL && conflict == 7);
    CHECK_MSG(strstr(lm_error_message(), "which has init-from null"), "%s", lm_error_message());
    lm_run_recorded_free(held);
    n = table(&o, t);
    t[1].type = LM_RUN_OPT_INT, t[1].value = &o.batch; /* "model" recorded as text, wanted as a number */
    CHECK(lm_run_resume_options(dir, t, n, &conflict, &held) == LM_EINVAL && conflict == -1);
    CHECK_MSG(strstr(lm_error_message(), "option 'model' does not hold a value of its kind"), "%s", lm_error_message());
    lm_run_recorded_free(held);
}

/* lm_run_options_json's text, exactly, and read back through config.json. */
static void test_written(void)
{
    opts o = {"synth:linreg", "linear", NULL, 16, 4, 1, 3, 0.05};
    lm_run_option t[8];
    int n = table(&o, t), conflict;
    t[6].value = NULL; /* epochs: no value */
    char *text;
    CHECK(lm_run_options_json(t, n, &text) == LM_OK && text);
    CHECK_TEXT(text, "{\n\t\"data\":\t\"synth:linreg\",\n\t\"model\":\t\"linear\",\n\t\"batch\":\t16,\n\t\"seed\":\t3,\n"
                     "\t\"lr\":\t0.05,\n\t\"augment\":\ttrue,\n\t\"epochs\":\tnull,\n\t\"init-from\":\tnull\n}",
              "lm_run_options_json");
    char sub[256];
    if (!check_make_tmpdir(sub, sizeof sub, "run_options")) return;
    CHECK(lm_run_write_config(sub, text, NULL) == LM_OK);
    free(text);
    opts r = {NULL, NULL, "keep", 0, 7, 0, 0, 0};
    n = table(&r, t);
    lm_run_recorded *held;
    CHECK_MSG(lm_run_resume_options(sub, t, n, &conflict, &held) == LM_OK, "%s", lm_error_message());
    CHECK(r.data && !strcmp(r.data, "synth:linreg") && r.model && !strcmp(r.model, "linear") && !strcmp(r.init_from, "keep"));
    CHECK(r.batch == 16 && r.seed == 3 && r.lr == 0.05 && r.augment == 1 && r.epochs == 7 && !t[6].given);
    lm_run_recorded_free(held);
    CHECK(lm_run_options_json(t, 0, /* no options: an empty object */ &text) == LM_OK && text && !strcmp(text, "{\n}"));
    free(text);
    check_remove_tmpdir(sub);
}

int main(void)
{
    char dir[256], empty[300];
    if (!check_make_tmpdir(dir, sizeof dir, "run_resume")) return 1;
    CHECK(lm_run_write_config(dir, config, NULL) == LM_OK);
    test_taken(dir);
    test_refused(dir);
    test_written();
    snprintf(empty, sizeof empty, "%s/none", dir);
    opts o = {0};
    lm_run_option t[8];
    int n = table(&o, t), conflict;
    lm_run_recorded *held = (lm_run_recorded *)1;
    CHECK(lm_run_resume_options(empty, t, n, &conflict, &held) == LM_OK && held == NULL && o.batch == 0 && !t[0].given);
    int k = 0;
    while (lm_run_defining_key(k)) k++;
    CHECK(k == 13 && !strcmp(lm_run_defining_key(0), "data") && !strcmp(lm_run_defining_key(6), "batch"));
    CHECK(lm_run_defining_key(-1) == NULL && lm_run_defining_key(13) == NULL);
    check_remove_tmpdir(dir);
    return check_summary();
}
