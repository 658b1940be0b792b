/* The model spec syntax: one layer's text parsed by a loop over the layer definitions, the
 * helpers their parsers share, and the help generated from the same definitions. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linmass/error.h"
#include "nn/layer.h"

int lm_spec_int(const char **s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(*s, &end, 10);
    if (end == *s || errno || v < -1000000000L || v > 1000000000L) return 0;
    *out = (int)v;
    *s = end;
    return 1;
}

int lm_spec_number(const char **s, double *out)
{
    char *end;
    double v = strtod(*s, &end);
    if (end == *s) return 0;
    *out = v;
    *s = end;
    return 1;
}

int lm_spec_flag(const char **s, const char *word)
{
    size_t n = strlen(word);
    if (**s != ':' || strncmp(*s + 1, word, n) || ((*s)[n + 1] && (*s)[n + 1] != ':')) return 0;
    *s += n + 1;
    return 1;
}

static const char *words_of(const lm_layer_def *d) { return d->words ? d->words : d->name; }

/* The index of the head (n characters) among def's spec words, or -1. */
static int word_index(const lm_layer_def *def, const char *head, size_t n)
{
    const char *w = words_of(def);
    for (int i = 0; *w; i++) {
        size_t len = strcspn(w, " ");
        if (len == n && !strncmp(w, head, n)) return i;
        w += len;
        w += strspn(w, " ");
    }
    return -1;
}

/* Appends to buf[len] at k; returns the length it needed. */
__attribute__((format(printf, 4, 5))) static size_t append(char *buf, size_t len, size_t k, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(k < len ? buf + k : NULL, k < len ? len - k : 0, fmt, ap);
    va_end(ap);
    return k + (w > 0 ? (size_t)w : 0);
}

/* "unknown layer", the spec word nearest to token[0..head), and the spec words there are. */
static void unknown(const char *token, size_t head, char *why, size_t len)
{
    char words[1024];
    const char *names[128] = {0};
    int n = 0;
    size_t used = 0;
    for (int i = 0; lm_layer_defs[i]; i++)
        for (const char *w = words_of(lm_layer_defs[i]); *w && n < 128; w += strspn(w, " ")) {
            size_t l = strcspn(w, " ");
            if (used + l + 1 > sizeof words) break;
            memcpy(words + used, w, l);
            words[used + l] = '\0';
            names[n++] = words + used;
            used += l + 1;
            w += l;
        }
    const char *near = lm_nearest(token, head, names, n);
    size_t k = append(why, len, 0, "unknown layer (%s%s%sthe layers:", near ? "did you mean " : "", near ? near : "", near ? "? " : "");
    for (int i = 0; lm_layer_defs[i]; i++)
        k = append(why, len, k, " %s", words_of(lm_layer_defs[i]));
    append(why, len, k, ")");
}

int lm_layer_parse(const char *token, lm_layer *L, char *why, size_t len)
{
    memset(L, 0, sizeof *L);
    const char *arg = strchr(token, ':');
    size_t head = arg ? (size_t)(arg - token) : strlen(token);
    if (arg) arg++;
    for (int i = 0; lm_layer_defs[i]; i++) {
        const lm_layer_def *d = lm_layer_defs[i];
        int word = word_index(d, token, head);
        if (word < 0) continue;
        L->kind = d;
        const char *refused = d->parse ? d->parse(L, word, arg) : arg ? "this layer takes no argument" : NULL;
        if (refused && *refused) snprintf(why, len, "%s", refused);
        else if (refused) snprintf(why, len, "expected %s", d->syntax);
        return !refused;
    }
    if (head == 6 && (!strncmp(token, "linear", 6) || !strncmp(token, "kernel", 6)))
        snprintf(why, len, "'linear' and 'kernel:TYPE:BW' are whole models that linmass train expands "
                           "from the data (lm_model_alias_spec): as layers write dense:K:nobias, or "
                           "kernelfeat:TYPE:BW:N:rkhs,flatten,dense:K:nobias (without :rkhs: the Euclidean "
                           "gradient in the coefficients)");
    else unknown(token, head, why, len);
    return 0;
}

size_t lm_model_spec_help(char *buf, size_t len)
{
    size_t k = 0;
    if (len) buf[0] = '\0';
    for (int i = 0; lm_layer_defs[i]; i++) {
        const lm_layer_def *d = lm_layer_defs[i];
        if (strlen(d->syntax) <= 22) k = append(buf, len, k, "  %-22s %s\n", d->syntax, d->help);
        else k = append(buf, len, k, "  %s\n  %22s %s\n", d->syntax, "", d->help);
    }
    return k;
}
