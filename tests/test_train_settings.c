// ctest-labels: unit
/* The table of the training settings (train.h, src/train/settings.c):
 *   - names unique, keys the names with '-' for '_', found by name and by key, each settable;
 *   - the defaults: lm_train_config_init's values written out here (batch 64, epochs 5, ...), and
 *     every setting set from its default text reads back that text and leaves the config as
 *     lm_train_config_init made it; every setting round trips a value other than its default;
 *   - bad values refused with a message that starts with the setting and its value, the
 *     configuration unchanged;
 *   - the optimizer's settings are lm_optim_config_set's, and optim keeps the options given;
 *   - lm_train_config_validate: ranges, and auto's rules (docs/theory.md §2.2);
 *   - lm_run_defining_key: the settings marked defines_run, by their config.json keys. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "linmass/run.h"
#include "linmass/train.h"

static void names(void)
{
    int n = lm_train_setting_count();
    CHECK(n > 30 && lm_train_setting_at(n) == NULL && lm_train_setting_at(-1) == NULL);
    for (int i = 0; i < n; i++) {
        const lm_train_setting *s = lm_train_setting_at(i);
        char key[64];
        snprintf(key, sizeof key, "%s", s->name);
        for (char *p = key; *p; p++)
            if (*p == '_') *p = '-';
        CHECK_MSG(!strcmp(key, s->key), "%s: key %s", s->name, s->key);
        CHECK_MSG(s->help && s->help[0] && !strstr(s->help, "--"), "%s: help '%s' (no command-line spelling)", s->name, s->help);
        CHECK(lm_train_setting_find(s->name) == s && lm_train_setting_find(s->key) == s);
        for (const char *q = strchr(s->help, '`'); q; q = strchr(q + 1, '`')) { /* `name`: a setting */
            const char *end = strchr(q + 1, '`');
            char word[32] = "";
            if (end && end - q - 1 < (int)sizeof word) memcpy(word, q + 1, (size_t)(end - q - 1));
            CHECK_MSG(end && lm_train_setting_find(word) && !strchr(word, '-'), "%s: help names '%s'", s->name, word);
            if (!end) break;
            q = end;
        }
        for (int j = 0; j < i; j++) CHECK_MSG(strcmp(s->name, lm_train_setting_at(j)->name), "%s twice", s->name);
    }
    CHECK(lm_train_setting_find("nosuch") == NULL && lm_train_setting_find(NULL) == NULL);
    /* every optimizer option is a setting; the help of optim names every optimizer */
    for (unsigned bit = 1; bit < 1u << LM_OPT_COUNT; bit <<= 1)
        CHECK_MSG(lm_train_setting_find(lm_optim_option_name(bit)), "optimizer option %s is no setting", lm_optim_option_name(bit));
    for (int k = 0; k < LM_OPTIM_COUNT; k++)
        CHECK_MSG(strstr(lm_train_setting_find("optim")->help, lm_optim_kind_name(k)), "optim's help lacks %s", lm_optim_kind_name(k));
}

static void defaults(void)
{
    lm_train_config c, d;
    lm_train_config_init(&c);
    CHECK(!strcmp(c.data, "fashion-mnist") && !strcmp(c.model, "fcn") && !strcmp(c.out, "runs/train") && !c.init_from);
    CHECK(c.batch == 64 && c.epochs == 5 && c.steps == 0 && c.seed == 0 && c.log_every == 100 && c.auto_samples == 2000);
    CHECK(c.normalize == 1 && c.overlap == 1 && !c.augment && !c.resume && !c.sync_bn && c.param == LM_PARAM_STANDARD);
    CHECK(c.optim.kind == LM_OPTIM_SGD && c.optim.given == 0 && c.optim.lr == 0.01);
    for (int i = 0; i < lm_train_setting_count(); i++) {
        const lm_train_setting *s = lm_train_setting_at(i);
        char text[256];
        if (!s->def) continue;
        lm_train_config_init(&d);
        CHECK_MSG(lm_train_config_set(&d, s->name, s->def) == LM_OK, "%s %s: %s", s->name, s->def, lm_error_message());
        lm_train_config_format(&d, s->name, text, sizeof text);
        CHECK_MSG(!strcmp(text, s->def), "%s: default '%s' reads back '%s'", s->name, s->def, text);
        d.optim.given = 0; /* the optimizer's settings count as given */
        CHECK_MSG(!memcmp(&c, &d, sizeof c), "%s: its default text changes the config", s->name);
    }
}

/* One value other than the default for each setting; set, it reads back the same. */
static const char *const other[][2] = {
    {"data", "synth:linreg"}, {"model", "linear"}, {"param", "ntk"}, {"optim", "mass"}, {"schedule", "warmup:5+cosine"},
    {"restart", "1"}, {"auto", "1"}, {"auto_samples", "17"}, {"batch", "3"}, {"epochs", "2"}, {"steps", "12345678901"},
    {"seed", "18446744073709551615"}, {"out", "a/b"}, {"resume", "1"}, {"init_from", "w.safetensors"},
    {"val_fraction", "0.25"}, {"no_normalize", "1"}, {"augment", "1"}, {"log_every", "7"}, {"eval_every", "9"},
    {"ckpt_every", "11"}, {"ckpt_minutes", "0.5"}, {"max_train", "123"}, {"sync_bn", "1"}, {"lr", "0.1"},
    {"momentum", "0.5"}, {"dampening", "0.25"}, {"nesterov", "1"}, {"weight_decay", "0.001"}, {"beta1", "0.8"},
    {"beta2", "0.99"}, {"eps", "1e-06"}, {"eta1", "0.2"}, {"eta2", "0.01"}, {"gamma", "0.7"}, {"alpha", "0.1"},
    {"kappa_tilde", "5"},
};

static void round_trip(void)
{
    int n = (int)(sizeof other / sizeof *other);
    CHECK_MSG(n == lm_train_setting_count(), "%d values for %d settings", n, lm_train_setting_count());
    for (int i = 0; i < n; i++) {
        lm_train_config c;
        char text[256];
        lm_train_config_init(&c);
        CHECK_MSG(lm_train_setting_find(other[i][0]), "%s is no setting", other[i][0]);
        CHECK_MSG(lm_train_config_set(&c, other[i][0], other[i][1]) == LM_OK, "%s %s: %s", other[i][0], other[i][1], lm_error_message());
        lm_train_config_format(&c, other[i][0], text, sizeof text);
        CHECK_MSG(!strcmp(text, other[i][1]), "%s: set '%s', reads back '%s'", other[i][0], other[i][1], text);
    }
    lm_train_config c;
    lm_train_config_init(&c);
    CHECK(lm_train_config_set(&c, "max-train", "5") == LM_OK && c.max_train == 5); /* by key */
    CHECK(lm_train_config_set(&c, "no_normalize", "true") == LM_OK && c.normalize == 0);
    CHECK(lm_train_config_set(&c, "steps", "12345678901") == LM_OK && c.steps == 12345678901L);
    CHECK(lm_train_config_set(&c, "init_from", NULL) == LM_OK && c.init_from == NULL);
    /* optim keeps the options given, in either order */
    CHECK(lm_train_config_set(&c, "lr", "0.3") == LM_OK && lm_train_config_set(&c, "optim", "adam") == LM_OK);
    CHECK(c.optim.kind == LM_OPTIM_ADAM && c.optim.lr == 0.3 && c.optim.beta1 == 0.9 && c.optim.given == LM_OPT_LR);
    CHECK(lm_train_config_set(&c, "optim", "sgd") == LM_OK && c.optim.lr == 0.3 && c.optim.momentum == 0);
}

/* set(name, value) is refused with a message holding `says`, the configuration unchanged. */
static void refused(const char *name, const char *value, const char *says)
{
    lm_train_config c, d;
    lm_train_config_init(&c);
    d = c;
    CHECK_MSG(lm_train_config_set(&c, name, value) == LM_EINVAL && strstr(lm_error_message(), says),
              "%s %s: %s", name, value, lm_error_message());
    CHECK_MSG(!memcmp(&c, &d, sizeof c), "%s %s: the refused value changed the config", name, value);
}

static void bad_values(void)
{
    refused("batch", "0", "batch 0 must be at least 1");
    refused("batch", "ten", "batch 'ten' is not a whole number");
    refused("batch", "99999999999", "batch '99999999999' is not a whole number");
    refused("epochs", "0", "epochs 0 must be at least 1");
    refused("val_fraction", "1.5", "val_fraction 1.5 must be in [0, 1)");
    refused("val_fraction", "nan", "val_fraction 'nan' is not a finite number");
    refused("log_every", "0", "log_every 0 must be at least 1");
    refused("steps", "-5", "steps -5 must not be negative");
    refused("ckpt_minutes", "-0.5", "ckpt_minutes -0.5 must not be negative");
    refused("max-train", "-1", "max_train -1 must not be negative");
    refused("seed", "-1", "seed '-1' is not a whole number");
    refused("augment", "2", "augment '2' is not 0 or 1");
    refused("param", "mean-field", "param 'mean-field' is not standard or ntk");
    refused("optim", "rmsprop", "optim 'rmsprop' is not sgd, heavyball, nesterov, adam, adamw or mass");
    refused("lr", "abc", "lr 'abc' is not a finite number");
    refused("schedule", "multistep:abc", "abc");
    refused("batch", NULL, "batch needs a value");
    refused("nosuch", "1", "training setting 'nosuch' is unknown");
}

/* A configuration changed by `set` fails validation with a message holding `says`. */
#define INVALID(set, says)                                                                       \
    do {                                                                                         \
        lm_train_config c;                                                                       \
        lm_train_config_init(&c);                                                                \
        set;                                                                                     \
        CHECK_MSG(lm_train_config_validate(&c) == LM_EINVAL && strstr(lm_error_message(), says), \
                  "%s: %s", #set, lm_error_message());                                           \
    } while (0)

static void validate(void)
{
    lm_train_config c;
    lm_train_config_init(&c);
    CHECK(lm_train_config_validate(&c) == LM_OK);
    INVALID(c.epochs = 0, "epochs 0 must be at least 1");
    INVALID((c.epochs = 0, c.steps = 10), "epochs 0 must be at least 1"); /* also with steps */
    INVALID(c.log_every = 0, "log_every 0 must be at least 1");
    INVALID(c.steps = -2, "steps -2 must not be negative");
    INVALID(c.val_fraction = 1, "val_fraction 1 must be in [0, 1)");
    INVALID(c.val_fraction = -0.25, "val_fraction -0.25 must be in [0, 1)");
    INVALID(c.ckpt_every = -3, "ckpt_every -3 must not be negative");
    INVALID(c.eval_every = -4, "eval_every -4 must not be negative");
    INVALID(c.ckpt_minutes = -0.5, "ckpt_minutes -0.5 must not be negative");
    INVALID(c.max_train = -5, "max_train -5 must not be negative");
    INVALID(c.batch = -3, "batch -3 must be at least 1");
    INVALID(c.out = NULL, "out is not set");
    INVALID(lm_train_config_set(&c, "beta1", "0.5"), "beta1 belongs to");
    INVALID((lm_train_config_set(&c, "schedule", "cosine"), c.epochs = 0), "epochs 0"); /* ranges first */
    /* auto (docs/theory.md §2.2): linear and kernel models, its own step sizes, auto_samples >= 1 */
    const char *ok[] = {"linear", "kernel:gaussian:2", "kernel:laplacian:0.5"};
    for (int i = 0; i < 3; i++) {
        lm_train_config_init(&c);
        lm_train_config_set(&c, "auto", "1");
        lm_train_config_set(&c, "model", ok[i]);
        CHECK_MSG(lm_train_config_validate(&c) == LM_OK, "auto with %s: %s", ok[i], lm_error_message());
        lm_train_config_set(&c, "optim", "mass");
        CHECK_MSG(lm_train_config_validate(&c) == LM_OK, "auto mass with %s: %s", ok[i], lm_error_message());
    }
    INVALID(lm_train_config_set(&c, "auto", "1"), "auto needs model linear, kernel:gaussian:BW or kernel:laplacian:BW, not 'fcn'");
    INVALID((lm_train_config_set(&c, "auto", "1"), c.model = "linear", lm_train_config_set(&c, "lr", "0.1")),
            "auto sets the step sizes itself: lr was given");
    INVALID((lm_train_config_set(&c, "optim", "mass"), lm_train_config_set(&c, "auto", "1"), c.model = "linear",
             lm_train_config_set(&c, "eta2", "0.01"), lm_train_config_set(&c, "gamma", "0.5"), lm_train_config_set(&c, "eta1", "0.1")),
            "auto sets the step sizes itself: eta1 was given");
    INVALID((lm_train_config_set(&c, "auto", "1"), c.model = "linear", c.auto_samples = 0), "auto_samples 0 must be at least 1");
    INVALID((lm_train_config_set(&c, "optim", "adam"), lm_train_config_set(&c, "auto", "1"), c.model = "linear"), "auto belongs to");
    lm_train_config_init(&c);
    c.auto_samples = 0; /* without auto it is not used */
    CHECK(lm_train_config_validate(&c) == LM_OK);
}

static void defining(void)
{
    static const char *const want[] = {"data", "model", "param", "optim", "auto", "auto-samples", "batch", "seed",
                                       "init-from", "val-fraction", "no-normalize", "augment", "max-train"};
    int n = 0;
    while (lm_run_defining_key(n)) n++;
    CHECK_MSG(n == (int)(sizeof want / sizeof *want), "%d defining keys", n);
    for (int i = 0; i < n && i < (int)(sizeof want / sizeof *want); i++)
        CHECK_MSG(!strcmp(lm_run_defining_key(i), want[i]), "defining key %d: %s, not %s", i, lm_run_defining_key(i), want[i]);
    CHECK(lm_run_defining_key(-1) == NULL);
}

int main(void)
{
    names();
    defaults();
    round_trip();
    bad_values();
    validate();
    defining();
    return check_summary();
}
