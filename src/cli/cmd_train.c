/* linmass train, eval and plot. */
#include <cjson/cJSON.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/plot.h"
#include "cli/train_cli.h"
#include "linmass/data.h"
#include "linmass/dist.h"
#include "linmass/io.h"
#include "linmass/runtime.h"
#include "linmass/train.h"

const char *const cli_model_help =
    "model spec (layers separated by commas):\n"
    "  dense:N                fully connected, N outputs (a flatten is implied before it)\n"
    "  conv:CxK[/S]           C filters KxK, stride S (default 1), 'same' padding;\n"
    "                         flags :valid (no padding) and :nobias, e.g. conv:64x3/2:nobias\n"
    "  maxpool:K, avgpool:K   KxK pooling with stride K\n"
    "  gap                    global average pooling;  flatten\n"
    "  relu tanh sigmoid softplus gelu identity\n"
    "  dropout:P              dropout with probability P\n"
    "  bn                     batch normalisation (batch statistics in training)\n"
    "  res:C[/S][:pad]        CIFAR-style basic block; projection shortcut, or zero padding with :pad\n"
    "presets: fcn (784-100-100-100-10 ReLU, dropout 0.5), cnn (3 conv 5x5 64/64/128 + maxpool,\n"
    "  FC 128, dropout 0.5), resnet20, resnet32. The preset's last layer has 10 outputs.\n"
    "parameterization (--param): standard (He/LeCun weights) or ntk (N(0,1) weights and a\n"
    "  1/sqrt(fan-in) factor in the forward pass).\n";

/* ---- progress ---- */

typedef struct {
    int json, tty;
    double last_print;
    const char *command;
} progress;

static void on_event(void *ctx, const lm_train_event *ev)
{
    progress *p = ctx;
    double t = cli_now();
    /* fault injection for the kill-and-resume tests: die like kill -9 at a chosen step (under
     * mpirun only rank LINMASS_KILL_RANK, when set) */
    const char *kill_at = getenv("LINMASS_KILL_AT_STEP"), *kill_rank = getenv("LINMASS_KILL_RANK");
    if (kill_at && ev->step >= atol(kill_at) && (!kill_rank || atoi(kill_rank) == lm_dist_rank())) raise(SIGKILL);
    if (lm_dist_rank() > 0) return; /* rank 0 reports */
    if (ev->end_of_epoch) {
        if (p->tty) fprintf(stderr, "\r\033[K");
        FILE *out = p->json ? stderr : stdout;
        fprintf(out, "epoch %3d/%d  step %6ld  train loss %.4f", ev->epoch + 1, ev->epochs, ev->step, ev->train_loss);
        if (!isnan(ev->train_acc)) fprintf(out, " acc %.4f", ev->train_acc);
        if (!isnan(ev->val_loss)) fprintf(out, "  val loss %.4f", ev->val_loss);
        if (!isnan(ev->val_acc)) fprintf(out, " acc %.4f", ev->val_acc);
        fprintf(out, "  test loss %.4f", ev->test_loss);
        if (!isnan(ev->test_acc)) fprintf(out, " acc %.4f", ev->test_acc);
        fprintf(out, "  %.0f samples/s\n", ev->samples_per_sec);
        fflush(out);
        p->last_print = t;
        return;
    }
    if (p->tty) {
        double frac = ev->epoch_size ? (double)ev->epoch_pos / ev->epoch_size : 0;
        int w = 30, fill = (int)(frac * w);
        double eta = ev->samples_per_sec > 0 ? (ev->steps_total - ev->step) * (ev->elapsed / (ev->step ? ev->step : 1)) : 0;
        fprintf(stderr, "\r\033[Kepoch %d/%d [%.*s%*s] loss %.4f", ev->epoch + 1, ev->epochs, fill,
                "##############################", w - fill, "", ev->train_loss);
        if (!isnan(ev->train_acc)) fprintf(stderr, " acc %.3f", ev->train_acc);
        fprintf(stderr, "  %.0f samples/s  ETA %.0fs", ev->samples_per_sec, eta);
        fflush(stderr);
    } else if (t - p->last_print > 5) {
        fprintf(stderr, "%s: epoch %d step %ld/%ld loss %.4f %.0f samples/s\n", p->command, ev->epoch + 1, ev->step,
                ev->steps_total, ev->train_loss, ev->samples_per_sec);
        p->last_print = t;
    }
}

/* ---- the run folder's report ---- */

static void write_report(const lm_train_config *c, const lm_train_result *r, int plotted)
{
    char path[1100], text[8192];
    snprintf(path, sizeof path, "%s/report.md", c->out);
    int k = snprintf(text, sizeof text,
                     "# Training run\n\n"
                     "| | |\n|---|---|\n| data | `%s` |\n| model | `%s` (%zu parameters, %s parameterization) |\n"
                     "| optimizer | `%s`, lr %g, schedule `%s` |\n| batch | %d |\n| steps | %ld (%d epochs) |\n| seed | %llu |\n\n"
                     "## Measured\n\n| | |\n|---|---|\n| final train loss (running mean of the last epoch) | %.6g |\n"
                     "| test loss | %.6g |\n",
                     c->data, c->model, r->num_params, c->param == LM_PARAM_NTK ? "ntk" : "standard",
                     lm_optim_kind_name(c->optim.kind), c->optim.lr, "see config.json", c->batch, r->steps,
                     r->epochs_done, (unsigned long long)c->seed, r->train_loss, r->test_loss);
    if (!isnan(r->test_acc)) k += snprintf(text + k, sizeof text - k, "| test accuracy | %.4f |\n", r->test_acc);
    k += snprintf(text + k, sizeof text - k, "| samples/s | %.0f |\n| wall time | %.1f s |\n\n", r->samples_per_sec,
                  r->wall_seconds);
    if (plotted) k += snprintf(text + k, sizeof text - k, "![loss](plots/loss.png)\n\n![accuracy](plots/accuracy.png)\n");
    lm_write_file_atomic(path, text, (size_t)k < sizeof text ? (size_t)k : sizeof text - 1);
}

static void print_json_summary(const lm_train_config *c, const lm_train_result *r)
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
    if (lm_dist_size() > 1) { /* the gradient sums: time per step on rank 0, waiting included */
        lm_dist_stats ds;
        lm_dist_get_stats(&ds);
        cJSON_AddNumberToObject(o, "allreduce_ms_per_step", ds.calls ? 1e3 * ds.seconds / ds.calls : 0);
        cJSON_AddNumberToObject(o, "allreduce_bytes_per_step", ds.calls ? ds.bytes / ds.calls : 0);
    }
    cJSON_AddStringToObject(o, "run", c->out);
    cJSON_AddStringToObject(o, "checkpoint", r->checkpoint);
    char *s = cJSON_PrintUnformatted(o);
    printf("%s\n", s);
    free(s);
    cJSON_Delete(o);
}

int train_cli_run(const char *command, lm_train_config *tc, const char *options_json, int json)
{
    progress p = {json, cli_stderr_is_tty() && lm_dist_rank() == 0, cli_now(), command};
    tc->config_json = options_json;
    lm_train_result r;
    lm_status st = lm_train_run(tc, on_event, &p, &r);
    if (p.tty) fprintf(stderr, "\r\033[K");
    if (st) {
        int rc = cli_fail(command, st);
        if (lm_dist_failed()) lm_dist_abort(rc); /* MPI broke: the other ranks may be waiting */
        return rc;
    }
    if (lm_dist_rank() > 0) return 0; /* the run folder, plots and summary are rank 0's */
    int plotted = plot_run(tc->out);
    write_report(tc, &r, plotted);
    if (json) print_json_summary(tc, &r);
    else printf("run folder: %s (report.md, metrics.jsonl, checkpoints/, plots/)\n", tc->out);
    return 0;
}

/* ---- linmass train ---- */

int cmd_train(int argc, char **argv)
{
    lm_train_config tc;
    lm_train_config_init(&tc);
    train_cli_opts o;
    cli_command c;
    train_cli_init(&c, &o, "train", "linmass train [options]",
                   "Train a model on a data set and write a run folder: config.json, metrics.jsonl,\n"
                   "checkpoints/last.safetensors (weights, buffers, optimizer state, RNG position),\n"
                   "plots/*.png and report.md. --resume continues bit-identically.");
    int rc = cli_parse(&c, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    if ((rc = train_cli_resolve(&c, &o, &tc))) return rc;
    char *cfg = cli_options_json(&c);
    rc = train_cli_run("train", &tc, cfg, o.json);
    free(cfg);
    return rc;
}

/* ---- linmass eval ---- */

int cmd_eval(int argc, char **argv)
{
    const char *run = NULL, *ckpt = NULL, *model = NULL, *data = NULL, *param = "standard";
    long max_train = 0;
    int square = 0;
    int json = 0, batch = 256;
    cli_opt opts[] = {
        {"run", OPT_STRING, &run, NULL, "run folder: model, data and checkpoint come from its config.json", 0},
        {"checkpoint", OPT_STRING, &ckpt, NULL, "checkpoint file (with --model and --data)", 0},
        {"model", OPT_STRING, &model, NULL, "model spec or preset", 0},
        {"data", OPT_STRING, &data, NULL, "data source (its test split is evaluated)", 0},
        {"param", OPT_STRING, &param, "standard", "parameterization: standard or ntk", 0},
        {"batch", OPT_INT, &batch, "256", "evaluation batch size", 0},
        {"json", OPT_FLAG, &json, NULL, "print one JSON object", 0},
    };
    cli_command c = {"eval", "linmass eval --run DIR | --checkpoint FILE --model SPEC --data SRC",
                     "Loss and accuracy of a trained model on the test split.", opts, sizeof opts / sizeof *opts,
                     NULL, NULL, 0, 0};
    int rc = cli_parse(&c, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    char ckpt_buf[1100];
    cJSON *cfg = NULL;
    if (run) {
        if (ckpt || model || data || cli_given(&c, "param"))
            return cli_usage_error(&c, "--run conflicts with --checkpoint, --model, --data and --param (they come from the run)");
        char path[1100], *text;
        size_t len;
        snprintf(path, sizeof path, "%s/config.json", run);
        lm_status st = lm_read_file(path, 1 << 20, &text, &len);
        if (st) return cli_fail("eval", LM_EINVAL);
        cfg = cJSON_Parse(text);
        free(text);
        cJSON *m = cJSON_GetObjectItem(cfg, "model"), *d = cJSON_GetObjectItem(cfg, "data"), *p = cJSON_GetObjectItem(cfg, "param");
        if (!cJSON_IsString(m) || !cJSON_IsString(d)) {
            cJSON_Delete(cfg);
            fprintf(stderr, "linmass eval: %s: no 'model' and 'data' strings\n", path);
            return 2;
        }
        model = m->valuestring;
        /* linear and kernel aliases were expanded by the trainer: use what it built */
        cJSON *res = cJSON_GetObjectItem(cfg, "resolved"), *spec = cJSON_GetObjectItem(res, "model_spec");
        if (cJSON_IsString(spec)) model = spec->valuestring, square = 1; /* trained on the square loss */
        cJSON *mt = cJSON_GetObjectItem(cfg, "max-train");
        if (cJSON_IsNumber(mt)) max_train = (long)mt->valuedouble;
        data = d->valuestring;
        if (cJSON_IsString(p)) param = p->valuestring;
        snprintf(ckpt_buf, sizeof ckpt_buf, "%s/checkpoints/last.safetensors", run);
        ckpt = ckpt_buf;
    } else if (!ckpt || !model || !data) {
        return cli_usage_error(&c, "give --run DIR, or all of --checkpoint, --model and --data");
    }
    if (strcmp(param, "standard") && strcmp(param, "ntk")) return cli_usage_error(&c, "--param: '%s' is not standard or ntk", param);
    lm_dataset *test = NULL;
    lm_model *m = NULL;
    lm_status st = lm_data_load(data, LM_SPLIT_TEST, 0, &test);
    if (!st) st = lm_model_create(model, test->shape, strcmp(param, "ntk") ? LM_PARAM_STANDARD : LM_PARAM_NTK, 0, &m);
    if (!st && lm_model_kernel_centres(m)) { /* a kernel machine's centres are its training inputs */
        lm_dataset *train = NULL;
        st = lm_data_load(data, LM_SPLIT_TRAIN, 0, &train);
        if (!st && max_train > 0 && (size_t)max_train < train->n) train->n = (size_t)max_train;
        if (!st) st = lm_model_set_kernel_centres(m, train->x, train->n);
        lm_dataset_free(train);
    }
    float *mean = NULL, *sd = NULL;
    int has_stats = 0;
    if (!st) {
        mean = calloc(test->shape.c, sizeof *mean);
        sd = calloc(test->shape.c, sizeof *sd);
        st = lm_checkpoint_load_model(ckpt, m, mean, sd, test->shape.c, &has_stats);
    }
    if (!st && has_stats) st = lm_dataset_normalize(test, mean, sd);
    double loss = NAN, acc = NAN;
    if (!st) st = lm_evaluate(m, test, batch, test->classes && !square ? LM_LOSS_XENT : LM_LOSS_MSE, &loss, &acc);
    if (!st) {
        if (json && isnan(acc)) printf("{\"test_loss\":%.8g,\"n\":%zu}\n", loss, test->n);
        else if (json) printf("{\"test_loss\":%.8g,\"test_acc\":%.8g,\"n\":%zu}\n", loss, acc, test->n);
        else printf("test loss %.6f%s", loss, isnan(acc) ? "\n" : "");
        if (!json && !isnan(acc)) printf("  accuracy %.4f  (%zu samples)\n", acc, test->n);
    }
    free(mean), free(sd);
    lm_model_free(m);
    lm_dataset_free(test);
    cJSON_Delete(cfg);
    return st ? cli_fail("eval", st) : 0;
}
