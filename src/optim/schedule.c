/* Learning-rate schedules: a factor that multiplies every step size, as a function of the
 * epoch and the global step, matching the PyTorch schedulers named in optim.h. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linmass/optim.h"

static lm_status parse_long(const char *text, const char *what, const char *spec, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || errno)
        return lm_fail(LM_EINVAL, "schedule '%s': %s '%s' is not an integer", spec, what, text);
    if (v < 0)
        return lm_fail(LM_EINVAL, "schedule '%s': %s %ld is negative", spec, what, v);
    *out = v;
    return LM_OK;
}

static lm_status parse_milestones(const char *list, const char *spec, lm_schedule *s)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    s->n_milestones = 0;
    for (char *save, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        long e;
        lm_status st = parse_long(tok, "milestone", spec, &e);
        if (st) return st;
        if (s->n_milestones == LM_SCHED_MAX_MILESTONES)
            return lm_fail(LM_EINVAL, "schedule '%s': more than %d milestones", spec,
                           LM_SCHED_MAX_MILESTONES);
        if (s->n_milestones > 0 && e <= s->milestones[s->n_milestones - 1])
            return lm_fail(LM_EINVAL, "schedule '%s': milestone %ld does not increase", spec, e);
        s->milestones[s->n_milestones++] = (int)e;
    }
    if (s->n_milestones == 0)
        return lm_fail(LM_EINVAL, "schedule '%s': multistep needs epochs, e.g. multistep:60,120",
                       spec);
    return LM_OK;
}

/* One '+'-separated part: constant, multistep:E1,E2,..., cosine, warmup:N. */
static lm_status parse_part(const char *part, const char *spec, lm_schedule *s, int *has_main)
{
    if (strncmp(part, "warmup:", 7) == 0) {
        if (s->warmup)
            return lm_fail(LM_EINVAL, "schedule '%s': warmup given twice", spec);
        lm_status st = parse_long(part + 7, "warm-up steps", spec, &s->warmup);
        if (st) return st;
        if (s->warmup == 0)
            return lm_fail(LM_EINVAL, "schedule '%s': warm-up steps must be positive", spec);
        return LM_OK;
    }
    if ((*has_main)++)
        return lm_fail(LM_EINVAL, "schedule '%s': only a warm-up combines with another schedule",
                       spec);
    if (strcmp(part, "constant") == 0) {
        s->kind = LM_SCHED_CONSTANT;
        return LM_OK;
    }
    if (strcmp(part, "cosine") == 0) {
        s->kind = LM_SCHED_COSINE;
        return LM_OK;
    }
    if (strncmp(part, "multistep:", 10) == 0) {
        s->kind = LM_SCHED_MULTISTEP;
        return parse_milestones(part + 10, spec, s);
    }
    return lm_fail(LM_EINVAL,
                   "schedule '%s': unknown '%s' (constant, multistep:60,120, cosine, warmup:N, "
                   "or warmup:N+another)", spec, part);
}

lm_status lm_schedule_parse(const char *spec, lm_schedule *out)
{
    lm_schedule s = {0};
    char buf[256];
    if (!spec || !*spec || strlen(spec) >= sizeof buf)
        return lm_fail(LM_EINVAL, "schedule '%s': empty or too long", spec ? spec : "");
    snprintf(buf, sizeof buf, "%s", spec);
    int has_main = 0;
    for (char *save, *part = strtok_r(buf, "+", &save); part; part = strtok_r(NULL, "+", &save)) {
        lm_status st = parse_part(part, spec, &s, &has_main);
        if (st) return st;
    }
    *out = s; /* total_epochs stays 0: the trainer sets it */
    return LM_OK;
}

static int drops_before(const lm_schedule *s, int epoch)
{
    int k = 0;
    while (k < s->n_milestones && s->milestones[k] <= epoch) k++;
    return k;
}

double lm_schedule_factor(const lm_schedule *s, int epoch, long step)
{
    double f = 1;
    if (s->kind == LM_SCHED_MULTISTEP)
        f = pow(0.1, drops_before(s, epoch));
    else if (s->kind == LM_SCHED_COSINE && s->total_epochs > 0)
        f = 0.5 * (1 + cos(M_PI * epoch / s->total_epochs));
    if (s->warmup > 0 && step + 1 < s->warmup)
        f *= (double)(step + 1) / (double)s->warmup;
    return f;
}

int lm_schedule_drops_at(const lm_schedule *s, int epoch)
{
    if (s->kind != LM_SCHED_MULTISTEP) return 0;
    for (int k = 0; k < s->n_milestones; k++)
        if (s->milestones[k] == epoch) return 1;
    return 0;
}

size_t lm_schedule_format(const lm_schedule *s, char *buf, size_t len)
{
    char text[512];
    size_t k = 0;
    if (s->warmup)
        k += snprintf(text + k, sizeof text - k, "warmup:%ld%s", s->warmup,
                      s->kind == LM_SCHED_CONSTANT ? "" : "+");
    if (s->kind == LM_SCHED_CONSTANT && !s->warmup)
        k += snprintf(text + k, sizeof text - k, "constant");
    if (s->kind == LM_SCHED_COSINE) k += snprintf(text + k, sizeof text - k, "cosine");
    if (s->kind == LM_SCHED_MULTISTEP) {
        k += snprintf(text + k, sizeof text - k, "multistep:");
        for (int i = 0; i < s->n_milestones; i++)
            k += snprintf(text + k, sizeof text - k, "%s%d", i ? "," : "", s->milestones[i]);
    }
    if (len) snprintf(buf, len, "%s", text);
    return k;
}
