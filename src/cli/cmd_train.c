/* linmass train, eval and plot. */
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
#include "linmass/run.h"
#include "linmass/runtime.h"
#include "linmass/train.h"

/* ---- progress ---- */

typedef struct {
    int json, tty;
    double last_print;
    const char *command;
} progress;

/* Fault injection for the kill-and-resume tests: at the first event at or after step
 * LINMASS_KILL_AT_STEP raise signal LINMASS_KILL_SIGNAL (a number; default 9, dying like kill
 * -9), under mpirun only on rank LINMASS_KILL_RANK when set. */
static void inject_fault(long step)
{
    static int raised;
    const char *at = getenv("LINMASS_KILL_AT_STEP"), *rank = getenv("LINMASS_KILL_RANK"), *sig = getenv("LINMASS_KILL_SIGNAL");
    if (raised || !at || step < atol(at) || (rank && atoi(rank) != lm_dist_rank())) return;
    raised = 1;
    raise(sig ? atoi(sig) : SIGKILL);
}

static void on_event(void *ctx, const lm_train_event *ev)
{
    progress *p = ctx;
    double t = cli_now();
    inject_fault(ev->step);
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

/* ---- the run ---- */

/* The folder in single quotes unless it is plain (letters, digits, / . _ - + , : =). */
static void shell_word(const char *s, char *buf, size_t len)
{
    if (s[0] && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+,:=") == strlen(s)) {
        snprintf(buf, len, "%s", s);
        return;
    }
    size_t k = (size_t)snprintf(buf, len, "'");
    for (; *s && k + 5 < len; s++) k += (size_t)snprintf(buf + k, len - k, *s == '\'' ? "'\\''" : "%c", *s);
    snprintf(buf + k, len - k, "'");
}

/* The run stopped on a signal: where its checkpoint is and how to go on; 128 + the signal. */
static int interrupted(const lm_train_config *tc, const lm_train_result *r)
{
    int sig = *tc->stop ? *tc->stop : SIGINT;
    if (lm_dist_rank() == 0) {
        char out[2200], launcher[64] = "";
        shell_word(tc->out, out, sizeof out);
        if (lm_dist_size() > 1) snprintf(launcher, sizeof launcher, "mpirun -np %d ", lm_dist_size());
        fprintf(stderr, "linmass train: stopped by %s after step %ld; checkpoint %s\n", cli_signal_name(sig), r->steps, r->checkpoint);
        fprintf(stderr, "resume with: %slinmass train --resume --out %s\n", launcher, out);
    }
    return 128 + sig;
}

/* Run, print progress, write plots, report.md and config.json; the exit code. SIGINT and
 * SIGTERM stop the run after the current step with a checkpoint and the command that resumes
 * it: exit 130 and 143. */
static int train_cli_run(const char *command, lm_train_config *tc, const char *options_json, int json)
{
    progress p = {json, cli_stderr_is_tty() && lm_dist_rank() == 0, cli_now(), command};
    tc->config_json = options_json;
    /* from here on SIGINT and SIGTERM stop the run after a step, with a checkpoint; one that comes
     * after the last step changes nothing: the run is whole, and its plots and report are written */
    tc->stop = cli_catch_stop_signals();
    lm_train_result r;
    lm_status st = lm_train_run(tc, on_event, &p, &r);
    if (p.tty) fprintf(stderr, "\r\033[K");
    if (st == LM_EINTERRUPTED) return interrupted(tc, &r);
    if (st) {
        int rc = cli_fail(command, st);
        if (lm_dist_failed()) lm_dist_abort(rc); /* MPI broke: the other ranks may be waiting */
        return rc;
    }
    if (lm_dist_rank() > 0) return 0; /* the run folder, plots and summary are rank 0's */
    char *summary = NULL;
    st = lm_run_write_train_report(tc, &r, plot_run(tc->out));
    if (!st && json && !(st = lm_train_result_json(tc, &r, &summary))) printf("%s\n", summary);
    else if (!st && !json) printf("run folder: %s (report.md, metrics.jsonl, checkpoints/, plots/)\n", tc->out);
    free(summary);
    return st ? cli_fail(command, st) : 0;
}

/* ---- linmass train ---- */

int cmd_train(int argc, char **argv)
{
    lm_train_config tc;
    train_cli_opts o;
    cli_command c;
    train_cli_init(&c, &o, &tc, "train");
    int rc = cli_parse(&c, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    char *cfg = NULL;
    if (!(rc = train_cli_resolve(&c, &o, &tc))) {
        cfg = cli_options_json(&c);
        rc = train_cli_run("train", &tc, cfg, o.json);
    }
    free(cfg);
    train_cli_free(&o);
    return rc;
}

/* ---- linmass eval ---- */

int cmd_eval(int argc, char **argv)
{
    const char *dir = NULL, *ckpt = NULL, *model = NULL, *data = NULL, *param = NULL;
    int json = 0, batch = 256;
    cli_opt opts[] = {
        {"run", OPT_STRING, &dir, NULL, "run folder: model, data and checkpoint come from its config.json", 0},
        {"checkpoint", OPT_STRING, &ckpt, NULL, "weights: a linmass checkpoint or a plain state_dict in safetensors (with --model and --data)", 0},
        {"model", OPT_STRING, &model, NULL, "model spec or preset", 0},
        {"data", OPT_STRING, &data, NULL, "data source (its test split is evaluated)", 0},
        {"param", OPT_STRING, &param, NULL, "parameterization: standard or ntk (default: the checkpoint's, else standard)", 0},
        {"batch", OPT_INT, &batch, "256", "evaluation batch size", 0},
        {"json", OPT_FLAG, &json, NULL, "print one JSON object", 0},
    };
    cli_command c = {"eval", opts, sizeof opts / sizeof *opts, NULL, NULL, 0, 0};
    int rc = cli_parse(&c, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    if (dir && (ckpt || model || data || cli_given(&c, "param")))
        return cli_usage_error(&c, "--run conflicts with --checkpoint, --model, --data and --param (they come from the run)");
    if (!dir && (!ckpt || !model || !data)) return cli_usage_error(&c, "give --run DIR, or all of --checkpoint, --model and --data");
    lm_run *run;
    lm_run_spec spec;
    lm_run_spec_init(&spec);
    spec.data = data, spec.model = model;
    int assumed = 0, plain = 0;
    lm_status st = dir ? LM_OK : lm_weights_param(ckpt, param, &spec.param, &assumed, &plain);
    if (st) return cli_field_error(&c, st, NULL);
    if (assumed) cli_note_param_assumed(ckpt, plain);
    st = dir ? lm_run_open(dir, &run) : lm_run_open_checkpoint(&spec, ckpt, &run);
    if (!st && !dir) cli_note_index_shift(ckpt, model, run->index_shift);
    lm_run_eval e;
    char *text = NULL;
    if (!st && !(st = lm_run_evaluate(run, batch, &e)) && !(st = lm_run_eval_summary(&e, json, &text))) printf("%s\n", text);
    free(text);
    lm_run_close(run);
    return st ? cli_fail("eval", st) : 0;
}
