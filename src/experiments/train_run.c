/* One training run of the claims and the demo: an optimizer under a setting, through
 * lm_train_run, with its per-epoch curves and logged training losses kept. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiments/exp_train.h"

const exp_optimizer EXP_OPT[N_OPT] = {
    {"SGD", "sgd", LM_OPTIM_SGD},
    {"Nesterov (gamma 0.9)", "nesterov", LM_OPTIM_NESTEROV},
    {"Adam (lr 0.001)", "adam", LM_OPTIM_ADAM},
    {"MaSS (alpha 0.05, kappa-tilde 3)", "mass", LM_OPTIM_MASS},
};

static void log_point(exp_run *r, double epoch, double loss)
{
    if (r->log_failed) return;
    if (r->n_log == r->cap_log) {
        int cap = r->cap_log ? 2 * r->cap_log : 64;
        double *e = realloc(r->log_epoch, cap * sizeof *e);
        if (e) r->log_epoch = e;
        double *l = e ? realloc(r->log_loss, cap * sizeof *l) : NULL;
        if (l) r->log_loss = l;
        if (!e || !l) {
            r->log_failed = 1;
            return;
        }
        r->cap_log = cap;
    }
    r->log_epoch[r->n_log] = epoch;
    r->log_loss[r->n_log++] = loss;
}

static void on_event(void *ctx, const lm_train_event *ev)
{
    exp_run *r = ctx;
    if (ev->end_of_epoch && ev->epoch < r->epochs) {
        r->train_loss[ev->epoch] = ev->train_loss;
        r->test_acc[ev->epoch] = ev->test_acc;
        r->done = ev->epoch + 1;
        r->samples_per_sec = ev->samples_per_sec;
    }
    log_point(r, ev->epoch + (double)ev->epoch_pos / ev->epoch_size, ev->train_loss);
    if (ev->end_of_epoch)
        lm_report_progress(r->report, LM_PROGRESS_DETAIL, "%s: %s, epoch %d/%d, train loss %.4g, test acc %.4f", r->tag,
                           r->label, ev->epoch + 1, ev->epochs, ev->train_loss, ev->test_acc);
    else
        lm_report_progress(r->report, LM_PROGRESS_DETAIL, "%s: %s, epoch %d/%d, %ld/%ld samples, train loss %.4g", r->tag,
                           r->label, ev->epoch + 1, ev->epochs, ev->epoch_pos, ev->epoch_size, ev->train_loss);
}

static lm_status set_real(lm_optim_config *oc, const char *option, double v)
{
    char text[64];
    snprintf(text, sizeof text, "%.17g", v);
    return lm_optim_config_set(oc, option, text);
}

double exp_lr_of(const exp_setting *s, int o)
{
    return s->lrs ? s->lrs[o] : o == O_ADAM ? 0.001 : s->lr;
}

/* The optimizer's configuration under setting s. */
static lm_status configure(const exp_setting *s, int o, lm_train_config *tc)
{
    lm_optim_config_init(&tc->optim, EXP_OPT[o].kind);
    if (s->auto_samples > 0 && (o == O_SGD || o == O_MASS)) {
        EXP_TRY(lm_optim_config_set(&tc->optim, "auto", "1"));
        tc->auto_samples = s->auto_samples;
    } else {
        EXP_TRY(set_real(&tc->optim, "lr", exp_lr_of(s, o)));
    }
    if (s->schedule) EXP_TRY(lm_optim_config_set(&tc->optim, "schedule", s->schedule));
    if (s->restart) EXP_TRY(lm_optim_config_set(&tc->optim, "restart", "1"));
    if (s->weight_decay > 0) EXP_TRY(set_real(&tc->optim, "weight_decay", s->weight_decay));
    if (o == O_MASS && s->kappa_tilde > 0) EXP_TRY(set_real(&tc->optim, "kappa_tilde", s->kappa_tilde));
    tc->optim.schedule.total_epochs = s->epochs;
    return lm_optim_config_validate(&tc->optim);
}

lm_status exp_train(lm_report *r, const exp_setting *s, int o, uint64_t seed, const char *out, const char *tag,
                    exp_run *run)
{
    memset(run, 0, sizeof *run);
    run->report = r, run->tag = tag, run->label = s->lrs ? EXP_OPT[o].key : EXP_OPT[o].label; /* Adam's says lr 0.001 */
    run->epochs = s->epochs;
    run->train_loss = malloc(s->epochs * sizeof *run->train_loss);
    run->test_acc = malloc(s->epochs * sizeof *run->test_acc);
    if (!run->train_loss || !run->test_acc) return lm_fail(LM_ENOMEM, "out of memory for %d epochs", s->epochs);
    for (int e = 0; e < s->epochs; e++) run->train_loss[e] = run->test_acc[e] = NAN;
    lm_train_config tc;
    lm_train_config_init(&tc);
    tc.data = s->data, tc.model = s->model, tc.out = out;
    EXP_TRY(configure(s, o, &tc));
    tc.batch = s->batch, tc.epochs = s->epochs, tc.seed = seed;
    tc.max_train = s->max_train, tc.augment = s->augment, tc.val_fraction = s->val_fraction;
    tc.log_every = s->log_every > 0 ? s->log_every : 100;
    tc.config_json = s->config_json;
    char lr[40] = ""; /* auto: the constants choose it */
    if (s->auto_samples <= 0 || o == O_NESTEROV || o == O_ADAM) snprintf(lr, sizeof lr, ", lr %g", exp_lr_of(s, o));
    lm_report_progress(r, LM_PROGRESS_STEP, "%s: %s, seed %llu (%s, %d epochs%s)", tag, run->label, (unsigned long long)seed,
                       s->model, s->epochs, lr);
    lm_status st = lm_train_run(&tc, on_event, run, &run->res);
    if (st == LM_EDIVERGED) {
        lm_report_progress(r, LM_PROGRESS_STEP, "%s: %s diverged: %s", tag, run->label, lm_error_message());
        run->diverged = 1;
        for (int e = run->done; e < s->epochs; e++) run->train_loss[e] = INFINITY, run->test_acc[e] = NAN;
        return LM_OK;
    }
    EXP_TRY(st);
    if (run->log_failed) return lm_fail(LM_ENOMEM, "out of memory for the logged training losses of %s", out);
    run->seconds = run->res.wall_seconds;
    return LM_OK;
}

void exp_run_free(exp_run *run)
{
    free(run->train_loss), free(run->test_acc), free(run->log_epoch), free(run->log_loss);
    memset(run, 0, sizeof *run);
}
