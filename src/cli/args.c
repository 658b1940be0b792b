#include "cli/args.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "linmass/dist.h"
#include "linmass/error.h"
#include "linmass/run.h"
#include "linmass/runtime.h"

int cli_usage_error(const cli_command *c, const char *fmt, ...)
{
    va_list ap;
    if (lm_dist_rank() > 0) return 2; /* under mpirun every rank sees the same options: rank 0 tells */
    fprintf(stderr, "linmass %s: ", c->command);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see linmass %s --help)\n", c->command);
    return 2;
}

int cli_fail(const char *command, int status)
{
    /* under mpirun the ranks agree on one failure (lm_dist_agree): rank 0 tells, unless MPI
     * itself failed, when each rank tells its own */
    if (lm_dist_rank() > 0 && !lm_dist_failed()) return status == LM_EINVAL ? 2 : 1;
    fprintf(stderr, "linmass %s: %s\n", command, lm_error_message());
    return status == LM_EINVAL ? 2 : 1;
}

/* The flag of library field f[0..len) in c: the map's (pairs field, flag), else c's option named
 * after the field's last '.'-component with '_' as '-' ("spectra.block_top": block-top); NULL
 * when c has none. */
static const char *field_flag(const cli_command *c, const char *f, size_t len, const char *const *map, char *buf, size_t cap)
{
    for (int i = 0; map && map[i]; i += 2)
        if (strlen(map[i]) == len && !strncmp(f, map[i], len)) return map[i + 1];
    size_t start = len;
    while (start > 0 && f[start - 1] != '.') start--;
    snprintf(buf, cap, "%.*s", (int)(len - start), f + start);
    for (char *p = buf; *p; p++)
        if (*p == '_') *p = '-';
    for (int i = 0; i < c->nopts; i++)
        if (!strcmp(c->opts[i].name, buf)) return buf;
    return NULL;
}

int cli_field_error(const cli_command *c, int st, const char *const *map)
{
    const char *m = lm_error_message();
    char msg[1400], flag[40];
    size_t k = 0;
    int mapped = 0;
    for (const char *p = m; st == LM_EINVAL && *p && k + 40 < sizeof msg;) {
        size_t w = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_.");
        const char *f = NULL;
        if ((p == m || (p - m >= 2 && p[-2] == ':' && p[-1] == ' ')) && w && w < 32 && (p[w] == ' ' || p[w] == ':'))
            f = field_flag(c, p, w, map, flag, sizeof flag);
        if (f) k += (size_t)snprintf(msg + k, sizeof msg - k, "--%s", f), p += w, mapped = 1;
        else msg[k++] = *p++;
    }
    msg[k] = '\0';
    return mapped ? cli_usage_error(c, "%s", msg) : cli_fail(c->command, st);
}

const char *cli_help_text(const char *name)
{
    for (int i = 0; i < cli_help_screen_count; i++)
        if (!strcmp(cli_help_screens[i].name, name)) return cli_help_screens[i].text;
    return NULL;
}

static void print_options(const cli_command *c)
{
    for (int i = 0; i < c->nopts; i++) {
        const cli_opt *o = &c->opts[i];
        const char *arg = o->type == OPT_FLAG ? "" : o->type == OPT_STRING ? " TEXT" : o->type == OPT_DOUBLE ? " X" : " N";
        char left[64];
        snprintf(left, sizeof left, "--%s%s", o->name, arg);
        printf("  %-24s %s", left, o->help);
        if (o->def && o->type != OPT_FLAG) printf(" [default: %s]", o->def);
        printf("\n");
    }
    printf("  %-24s %s\n", "--help", "show this help and exit");
}

/* The help screen text with its placeholder lines filled, printed (print 1) or only checked
 * (print 0): NULL, or the first placeholder line that c cannot fill. */
static const char *fill_help(const char *text, const cli_command *c, int print)
{
    for (const char *line = text; *line;) {
        size_t len = strcspn(line, "\n"), end = len + (line[len] == '\n');
        int options = len == 9 && !strncmp(line, "@OPTIONS@", 9);
        const char *s = NULL;
        char key[32];
        if (line[0] == '@' && !options) { /* "@NAME@" */
            snprintf(key, sizeof key, "%.*s", len > 2 ? (int)len - 2 : 0, line + 1);
            s = c && c->help ? c->help(key) : NULL;
        }
        if (line[0] == '@' && !(options ? c != NULL : s != NULL)) return line;
        if (print && options) print_options(c);
        else if (print && s) printf("%s%s", s, *s && s[strlen(s) - 1] != '\n' ? "\n" : "");
        else if (print) fwrite(line, 1, end, stdout);
        line += end;
    }
    return NULL;
}

int cli_print_help(const char *name, const cli_command *c)
{
    const char *text = cli_help_text(name), *bad = text ? fill_help(text, c, 0) : NULL;
    if (!text) fprintf(stderr, "linmass: no help screen '%s' (docs/help/%s.txt)\n", name, name);
    else if (bad) fprintf(stderr, "linmass: help screen '%s': nothing fills %.*s\n", name, (int)strcspn(bad, "\n"), bad);
    if (!text || bad) return 2;
    fill_help(text, c, 1);
    return 0;
}

/* --help: the screen named after the command, "probe hessian" -> docs/help/probe-hessian.txt;
 * 1, or 2 when it cannot be printed. Under mpirun rank 0 prints it. */
static int print_help(const cli_command *c)
{
    char name[64];
    snprintf(name, sizeof name, "%s", c->command);
    for (char *p = name; *p; p++)
        if (*p == ' ') *p = '-';
    return lm_dist_rank() > 0 || !cli_print_help(name, c) ? 1 : 2;
}

static int unknown_option(const cli_command *c, const char *arg, size_t len)
{
    const char *names[257];
    int n = 0;
    for (int k = 0; k < c->nopts && n < 256; k++) names[n++] = c->opts[k].name;
    names[n++] = "help";
    const char *near = lm_nearest(arg + 2, len, names, n);
    if (near) return cli_usage_error(c, "unknown option '%.*s' (did you mean --%s?)", (int)(len + 2), arg, near);
    return cli_usage_error(c, "unknown option '%.*s'", (int)(len + 2), arg);
}

static cli_opt *find_option(cli_command *c, const char *name, size_t len)
{
    for (int k = 0; k < c->nopts; k++)
        if (strlen(c->opts[k].name) == len && !strncmp(c->opts[k].name, name, len)) return &c->opts[k];
    return NULL;
}

/* The value after "--NAME" (not "--NAME=VALUE") looks like an option where it should not: a
 * number option never takes "--x" or "-x" (a letter), a text option never "--x" (spell such a
 * value --NAME=--x). */
static int option_as_value(cli_command *c, const cli_opt *o, const char *val)
{
    int numeric = o->type == OPT_INT || o->type == OPT_U64 || o->type == OPT_DOUBLE;
    if (numeric && val[0] == '-' && (val[1] == '-' || isalpha((unsigned char)val[1])))
        return cli_usage_error(c, "--%s needs %s, got '%s'", o->name, o->type == OPT_DOUBLE ? "a number" : "a whole number", val);
    if (o->type != OPT_STRING || strncmp(val, "--", 2)) return 0;
    if (find_option(c, val + 2, strcspn(val + 2, "=")) || !strcmp(val, "--help"))
        return cli_usage_error(c, "--%s needs a value, got the option '%s'", o->name, val);
    return cli_usage_error(c, "--%s needs a value, got '%s' (write --%s=%s if that is the value)", o->name, val,
                           o->name, val);
}

/* Options with one meaning in every command that declares them. */
static int check_shared(const cli_command *c, const cli_opt *o)
{
    if (o->type == OPT_INT && !strcmp(o->name, "threads")) {
        int t = *(int *)o->dest;
        if (t < 0 || t > CLI_MAX_THREADS) return cli_usage_error(c, "--threads %d must be in 0..%d", t, CLI_MAX_THREADS);
    }
    return 0;
}

static int set_value(cli_command *c, cli_opt *o, const char *text, int from_default)
{
    char *end;
    errno = 0;
    switch (o->type) {
    case OPT_FLAG: *(int *)o->dest = 1; return 0;
    case OPT_STRING: *(const char **)o->dest = text; return 0;
    case OPT_INT: {
        long v = strtol(text, &end, 10);
        if (end == text || *end || errno || v < -2147483647L || v > 2147483647L) break;
        *(int *)o->dest = (int)v;
        return 0;
    }
    case OPT_U64: {
        if (text[0] == '-') break;
        unsigned long long v = strtoull(text, &end, 10);
        if (end == text || *end || errno) break;
        *(uint64_t *)o->dest = v;
        return 0;
    }
    case OPT_DOUBLE: {
        double v = strtod(text, &end);
        if (end == text || *end || errno || !isfinite(v)) break;
        *(double *)o->dest = v;
        return 0;
    }
    }
    if (from_default) return 0;
    return cli_usage_error(c, "--%s: '%s' is not %s", o->name, text,
                           o->type == OPT_DOUBLE ? "a finite number" : "a whole number in range");
}

int cli_parse(cli_command *c, int argc, char **argv)
{
    for (int i = 0; i < c->nopts; i++) {
        cli_opt *o = &c->opts[i];
        o->seen = 0;
        if (o->type == OPT_FLAG) *(int *)o->dest = 0;
        else if (o->def) set_value(c, o, o->def, 1);
        else if (o->type == OPT_STRING) *(const char **)o->dest = NULL;
    }
    c->npositional = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return print_help(c);
        if (strncmp(a, "--", 2)) {
            if (c->npositional >= c->max_positional)
                return cli_usage_error(c, "unexpected argument '%s'", a);
            c->positional[c->npositional++] = a;
            continue;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        cli_opt *o = find_option(c, name, len);
        if (!o) return unknown_option(c, a, len);
        if (o->seen) return cli_usage_error(c, "--%s given twice", o->name);
        o->seen = 1;
        if (o->type == OPT_FLAG) {
            if (eq) return cli_usage_error(c, "--%s takes no value", o->name);
            *(int *)o->dest = 1;
            continue;
        }
        const char *val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!val) return cli_usage_error(c, "--%s needs a value", o->name);
        if ((!eq && option_as_value(c, o, val)) || set_value(c, o, val, 0) || check_shared(c, o)) return 2;
    }
    return 0;
}

void cli_set_threads(int threads) { lm_set_threads(threads == 0 && lm_dist_size() > 1 ? 1 : threads); }

int cli_given(const cli_command *c, const char *name)
{
    for (int i = 0; i < c->nopts; i++)
        if (!strcmp(c->opts[i].name, name)) return c->opts[i].seen;
    return 0;
}

char *cli_options_json(const cli_command *c)
{
    lm_run_option *ro = malloc((c->nopts ? c->nopts : 1) * sizeof *ro);
    char *text = NULL;
    for (int i = 0; ro && i < c->nopts; i++) {
        const cli_opt *p = &c->opts[i];
        int none = !p->seen && !p->def && p->type != OPT_FLAG; /* not given and no default: no value */
        ro[i] = (lm_run_option){p->name, (lm_run_opt_type)p->type, none ? NULL : p->dest, p->seen};
    }
    if (ro) lm_run_options_json(ro, c->nopts, &text);
    free(ro);
    return text;
}

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig) { stop_signal = sig; }

volatile sig_atomic_t *cli_catch_stop_signals(void)
{
    static const int sigs[2] = {SIGINT, SIGTERM};
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop_signal;
    sa.sa_flags = SA_RESTART | SA_RESETHAND;
    for (int i = 0; i < 2; i++)
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN) sigaction(sigs[i], &sa, NULL);
    return &stop_signal;
}

const char *cli_signal_name(int sig) { return sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : "a signal"; }

int cli_stderr_is_tty(void) { return isatty(2); }

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void cli_print_json(const cJSON *o)
{
    char *text = cJSON_PrintUnformatted(o);
    printf("%s\n", text ? text : "null");
    free(text);
    fflush(stdout);
}
