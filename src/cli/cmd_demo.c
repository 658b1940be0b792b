/* linmass demo: the README's main job. A tour of both papers in a few minutes that writes one
 * report with three pictures:
 *   1. transition to linearity: the model Hessian's norm against width, linear and tanh output;
 *   2. momentum on linear regression: SGD, Nesterov and MaSS at SGD's optimal step;
 *   3. the four optimizers (SGD, Nesterov, Adam, MaSS) training the MaSS paper's FCN on
 *      Fashion-MNIST for a few epochs. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/plot.h"
#include "cli/repro.h"
#include "linmass/io.h"
#include "linmass/optim.h"
#include "linmass/runtime.h"
#include "linmass/train.h"

/* in repro_probe.c: ||H_f|| against width for a linear and a tanh output, plot hessian_width.png */
int repro_probe_demo_hessian(repro_ctx *c);

typedef struct {
    const char *label;
    int epochs;
    double last_print;
} demo_progress;

static void on_train(void *ctx, const lm_train_event *ev)
{
    demo_progress *p = ctx;
    double t = cli_now();
    if (!ev->end_of_epoch && t - p->last_print < 3) return;
    p->last_print = t;
    if (ev->end_of_epoch)
        fprintf(stderr, "demo: %-30s epoch %d/%d  train loss %.4f  test acc %.4f\n", p->label, ev->epoch + 1, p->epochs,
                ev->train_loss, ev->test_acc);
    else
        fprintf(stderr, "demo: %-30s epoch %d/%d  %ld/%ld samples  train loss %.4f\n", p->label, ev->epoch + 1, p->epochs,
                ev->epoch_pos, ev->epoch_size, ev->train_loss);
}

static void section_init(repro_ctx *c, const char *out, int quick, uint64_t seed)
{
    memset(c, 0, sizeof *c);
    c->out = out;
    c->quick = quick;
    c->seed = seed;
    c->measured = cJSON_CreateObject();
    c->predicted = cJSON_CreateObject();
    snprintf(c->plots, sizeof c->plots, "%s/plots", out);
}

static cJSON *section_json(repro_ctx *c, double seconds)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "measured", c->measured);
    cJSON_AddItemToObject(o, "predicted", c->predicted);
    cJSON_AddNumberToObject(o, "seconds", seconds);
    c->measured = c->predicted = NULL;
    return o;
}

static const repro_claim *theory_claim(const char *name)
{
    for (int i = 0; i < repro_theory_claims_count; i++)
        if (!strcmp(repro_theory_claims[i].name, name)) return &repro_theory_claims[i];
    return NULL;
}

enum { N_OPT = 4 };
static const struct {
    const char *key, *label;
    lm_optim_kind kind;
} OPT[N_OPT] = {
    {"sgd", "SGD", LM_OPTIM_SGD},
    {"nesterov", "Nesterov (gamma 0.9)", LM_OPTIM_NESTEROV},
    {"adam", "Adam (lr 0.001)", LM_OPTIM_ADAM},
    {"mass", "MaSS (alpha 0.05, kappa-tilde 3)", LM_OPTIM_MASS},
};

int cmd_demo(int argc, char **argv)
{
    int quick = 0, json = 0, threads = 0, epochs = 0, max_train = -1;
    uint64_t seed = 0;
    double lr = 0.01;
    const char *out = "runs/demo", *data = "fashion-mnist";
    cli_opt opts[] = {
        {"out", OPT_STRING, &out, "runs/demo", "folder of the report (OUT/report.md, OUT/plots/, OUT/fcn/OPTIMIZER/)", 0},
        {"quick", OPT_FLAG, &quick, NULL, "a smaller tour in well under a minute (as the tests run it)", 0},
        {"seed", OPT_U64, &seed, "0", "seed of every random draw", 0},
        {"threads", OPT_INT, &threads, "0", "threads (0: all cores)", 0},
        {"json", OPT_FLAG, &json, NULL, "print one JSON object with the measured numbers last on stdout", 0},
        {"epochs", OPT_INT, &epochs, NULL, "FCN training epochs per optimizer (default 5; --quick: 2)", 0},
        {"max-train", OPT_INT, &max_train, NULL, "FCN training samples (default 0: all 60000; --quick: 5000)", 0},
        {"lr", OPT_DOUBLE, &lr, "0.01", "FCN learning rate of SGD, Nesterov and MaSS (Adam keeps 0.001)", 0},
        {"data", OPT_STRING, &data, "fashion-mnist", "FCN data source (see linmass train --help)", 0},
    };
    cli_command c = {"demo", "linmass demo [options]",
                     "A tour of both papers in a few minutes (about 2-3 on 2 cores; --quick: seconds) that writes\n"
                     "one report, OUT/report.md, with three pictures: (1) the model Hessian's norm against width,\n"
                     "linear against tanh output (transition to linearity); (2) SGD, Nesterov and MaSS on Gaussian\n"
                     "linear regression at SGD's optimal step; (3) SGD, Nesterov (gamma 0.9), Adam (lr 0.001) and\n"
                     "MaSS (alpha 0.05, kappa-tilde 3) training the MaSS paper's FCN on Fashion-MNIST.",
                     opts, sizeof opts / sizeof *opts, NULL, NULL, 0, 0};
    int rc = cli_parse(&c, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    if (threads < 0) return cli_usage_error(&c, "--threads %d must not be negative", threads);
    if (!cli_given(&c, "epochs")) epochs = quick ? 2 : 5;
    if (!cli_given(&c, "max-train")) max_train = quick ? 5000 : 0;
    if (epochs < 1) return cli_usage_error(&c, "--epochs %d must be at least 1", epochs);
    if (max_train < 0) return cli_usage_error(&c, "--max-train %d must not be negative", max_train);
    if (!(lr > 0)) return cli_usage_error(&c, "--lr %g must be positive", lr);
    lm_set_threads(threads);
    char plots[1100];
    snprintf(plots, sizeof plots, "%s/plots", out);
    if (lm_mkdir_p(plots)) {
        fprintf(stderr, "linmass demo: %s\n", lm_error_message());
        return 1;
    }
    FILE *say = json ? stderr : stdout;
    double t_start = cli_now();
    fprintf(say, "linmass demo: a tour of transition to linearity and MaSS (%s setting, %d thread%s); writing %s\n",
            quick ? "quick" : "full", lm_get_threads(), lm_get_threads() > 1 ? "s" : "", out);
    cJSON *result = cJSON_CreateObject();

    /* ---- 1. the Hessian against width ---- */
    fprintf(say, "[1/3] transition to linearity: ||H_f|| of 2-hidden-layer nets against width, linear and tanh output\n");
    fflush(say);
    repro_ctx h;
    section_init(&h, out, quick, seed);
    double t0 = cli_now();
    if (repro_probe_demo_hessian(&h)) return 1;
    double t_h = cli_now() - t0;
    cJSON *lin = cJSON_GetObjectItem(h.measured, "linear_slope"), *tnh = cJSON_GetObjectItem(h.measured, "tanh_slope");
    fprintf(say, "      slope of log ||H_f|| against log width: linear output %.3f (theory -0.5), tanh output %.3f "
                 "(theory 0)  [%.0f s]\n",
            lin ? lin->valuedouble : NAN, tnh ? tnh->valuedouble : NAN, t_h);
    cJSON_AddItemToObject(result, "hessian", section_json(&h, t_h));

    /* ---- 2. SGD, Nesterov and MaSS on linear regression ---- */
    fprintf(say, "[2/3] momentum on Gaussian linear regression: SGD, Nesterov (gamma 0.9) and MaSS at SGD's optimal step\n");
    fflush(say);
    const repro_claim *nd = theory_claim("nesterov-diverges");
    if (!nd) {
        fprintf(stderr, "linmass demo: the claim nesterov-diverges is missing\n");
        return 1;
    }
    repro_ctx q;
    section_init(&q, out, quick, seed);
    t0 = cli_now();
    if ((rc = nd->run(&q))) return rc;
    double t_q = cli_now() - t0;
    static const char *const qkeys[3] = {"sgd", "nesterov", "mass"}, *const qnames[3] = {"SGD", "Nesterov", "MaSS"};
    fprintf(say, "      exact per-step factor of E|w - w*|^2 (simulated mean at the end):");
    for (int i = 0; i < 3; i++) {
        char k1[64], k2[64];
        snprintf(k1, sizeof k1, "%s_rho", qkeys[i]);
        snprintf(k2, sizeof k2, "%s_final_mean_sq_error", qkeys[i]);
        cJSON *rho = cJSON_GetObjectItem(q.predicted, k1), *fin = cJSON_GetObjectItem(q.measured, k2);
        fprintf(say, "%s %s %.4f (%.3g)", i ? "," : "", qnames[i], cJSON_IsNumber(rho) ? rho->valuedouble : NAN,
                cJSON_IsNumber(fin) ? fin->valuedouble : NAN);
    }
    fprintf(say, "  [%.0f s]\n", t_q);
    cJSON *qj = section_json(&q, t_q);
    cJSON_AddBoolToObject(qj, "nesterov_diverges_holds", q.holds);
    cJSON_AddItemToObject(result, "linear_regression", qj);

    /* ---- 3. the four optimizers on the FCN ---- */
    if (max_train)
        fprintf(say, "[3/3] the MaSS paper's FCN on %s: %d epoch%s over the first %d training images per optimizer, batch 64\n",
                data, epochs, epochs > 1 ? "s" : "", max_train);
    else
        fprintf(say, "[3/3] the MaSS paper's FCN on %s: %d epoch%s over all training images per optimizer, batch 64\n", data,
                epochs, epochs > 1 ? "s" : "");
    fflush(say);
    repro_ctx f;
    section_init(&f, out, quick, seed);
    t0 = cli_now();
    char dirs[N_OPT][1200];
    const char *dirp[N_OPT];
    lm_train_result res[N_OPT];
    int diverged[N_OPT] = {0};
    for (int i = 0; i < N_OPT; i++) {
        snprintf(dirs[i], sizeof dirs[i], "%s/fcn/%s", out, OPT[i].key);
        dirp[i] = dirs[i];
        lm_train_config tc;
        lm_train_config_init(&tc);
        tc.data = data;
        tc.model = "fcn";
        tc.out = dirs[i];
        lm_optim_config_init(&tc.optim, OPT[i].kind);
        if (OPT[i].kind != LM_OPTIM_ADAM) tc.optim.lr = lr, tc.optim.given |= LM_OPT_LR;
        tc.optim.schedule.total_epochs = epochs;
        if (lm_optim_config_validate(&tc.optim)) {
            fprintf(stderr, "linmass demo: %s\n", lm_error_message());
            return 1;
        }
        tc.batch = 64;
        tc.epochs = epochs;
        tc.seed = seed;
        tc.max_train = max_train;
        tc.log_every = quick ? 5 : 50;
        demo_progress p = {OPT[i].label, epochs, 0};
        memset(&res[i], 0, sizeof res[i]);
        lm_status st = lm_train_run(&tc, on_train, &p, &res[i]);
        if (st == LM_EDIVERGED) {
            fprintf(stderr, "demo: %s diverged: %s\n", OPT[i].label, lm_error_message());
            diverged[i] = 1;
        } else if (st) {
            fprintf(stderr, "linmass demo: %s\n", lm_error_message());
            return cli_fail("demo", st);
        }
        fprintf(say, "      %-34s train loss %.4f  test accuracy %.4f  (%.1f s)\n", OPT[i].label,
                diverged[i] ? INFINITY : res[i].train_loss, diverged[i] ? NAN : res[i].test_acc, res[i].wall_seconds);
        fflush(say);
    }
    double t_f = cli_now() - t0;
    char samples[64];
    if (max_train) snprintf(samples, sizeof samples, "the first %d", max_train);
    else snprintf(samples, sizeof samples, "all 60000");
    repro_printf(&f, "The MaSS paper's FCN (784-100-100-100-10, ReLU, dropout 0.5 after each hidden layer, cross-entropy) "
                     "on %s, %d epoch%s over %s training images, batch 64, seed %llu. SGD, Nesterov (gamma 0.9) and MaSS "
                     "(authors' form: alpha 0.05, kappa-tilde 3, eta = lr) share the learning rate %g with a constant "
                     "schedule, Adam uses lr 0.001 (science.md section 3). The training loss is the running mean over each "
                     "epoch so far (so each epoch's curve restarts from its first mini-batches); the test accuracy is on the "
                     "test split.\n\n| optimizer | final training loss | test accuracy | seconds |\n|---|---|---|---|\n",
                 data, epochs, epochs > 1 ? "s" : "", samples, (unsigned long long)seed, lr);
    int best = -1;
    for (int i = 0; i < N_OPT; i++) {
        if (diverged[i]) repro_printf(&f, "| %s | diverged | | |\n", OPT[i].label);
        else repro_printf(&f, "| %s | %.4f | %.4f | %.1f |\n", OPT[i].label, res[i].train_loss, res[i].test_acc, res[i].wall_seconds);
        char key[64];
        snprintf(key, sizeof key, "%s_train_loss", OPT[i].key);
        cJSON_AddNumberToObject(f.measured, key, diverged[i] ? -1 : res[i].train_loss);
        snprintf(key, sizeof key, "%s_test_acc", OPT[i].key);
        cJSON_AddNumberToObject(f.measured, key, diverged[i] ? 0 : res[i].test_acc);
        if (!diverged[i] && (best < 0 || res[i].train_loss < res[best].train_loss)) best = i;
    }
    char png[1300];
    snprintf(png, sizeof png, "%s/fcn_train_loss.png", plots);
    int wrote = plot_runs(png, "train_loss", 1, dirp, N_OPT);
    if (best >= 0)
        repro_printf(&f, "\nLowest training loss after %d epoch%s: %s. The paper's own plot (MNIST, 100 epochs) has all four close "
                         "for about 20 epochs, MaSS ending lowest (about 6e-5 against 3e-4 for SGD and Nesterov); a few epochs "
                         "show the start of that race, not its end (`linmass repro mass-vs-baselines-fcn` runs it longer, "
                         "over 3 seeds).\n",
                     epochs, epochs > 1 ? "s" : "", OPT[best].label);
    repro_figure(&f, "fcn_train_loss.png", "training loss (log scale) of the four optimizers on the FCN; curves labelled by run folder", wrote);
    cJSON_AddItemToObject(result, "fcn", section_json(&f, t_f));

    /* ---- the report ---- */
    double total = cli_now() - t_start;
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    fprintf(m, "# linmass demo\n\nA tour of the two papers linmass reproduces: *transition to linearity* of wide "
               "networks (Liu, Zhu and Belkin) and the *MaSS* optimizer (Liu and Belkin). Every number below was "
               "measured by this run (%s setting, seed %llu, %d thread%s, %.0f s in all). `linmass repro CLAIM` checks each "
               "claim in full, with a verdict.\n\n",
            quick ? "quick" : "full", (unsigned long long)seed, lm_get_threads(), lm_get_threads() > 1 ? "s" : "", total);
    fprintf(m, "## 1. Wide networks with a linear output are nearly linear in their weights\n\n%s\n", h.body ? h.body : "");
    fprintf(m, "## 2. Nesterov's momentum can diverge where SGD and MaSS converge\n\n%s\n", q.body ? q.body : "");
    fprintf(m, "## 3. Four optimizers on the MaSS paper's FCN\n\n%s\n", f.body ? f.body : "");
    fprintf(m, "## Timing\n\n| part | seconds |\n|---|---|\n| Hessian against width | %.1f |\n| linear regression | %.1f |\n"
               "| FCN, four optimizers | %.1f |\n| all | %.1f |\n\nCommand: `linmass demo%s --seed %llu --out %s`.\n",
            t_h, t_q, t_f, total, quick ? " --quick" : "", (unsigned long long)seed, out);
    fclose(m);
    char path[1200];
    snprintf(path, sizeof path, "%s/report.md", out);
    lm_status st = lm_write_file_atomic(path, text, len);
    free(text);
    free(h.body), free(q.body), free(f.body);
    if (st) {
        fprintf(stderr, "linmass demo: %s\n", lm_error_message());
        cJSON_Delete(result);
        return 1;
    }
    cJSON_AddNumberToObject(result, "seconds", total);
    cJSON_AddStringToObject(result, "report", path);
    if (json) {
        char *js = cJSON_PrintUnformatted(result);
        printf("%s\n", js);
        free(js);
    }
    cJSON_Delete(result);
    fprintf(say, "done in %.0f s. report: %s (plots in %s)\n", total, path, plots);
    return 0;
}
