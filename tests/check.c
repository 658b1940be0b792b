#include "check.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int check_failures, check_count;

void check_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    check_failures++;
    fprintf(stderr, "%s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int check_close(double a, double b, double rtol, double atol)
{
    if (isnan(a) || isnan(b)) return 0;
    double scale = fmax(fabs(a), fabs(b));
    return fabs(a - b) <= rtol * scale + atol + 1e-300;
}

int check_summary(void)
{
    printf("check: %d passed, %d failed\n", check_count - check_failures, check_failures);
    return check_failures ? 1 : 0;
}

int check_make_tmpdir(char *dir, size_t len, const char *tag)
{
    snprintf(dir, len, "/tmp/%s_XXXXXX", tag);
    if (mkdtemp(dir)) return 1;
    check_fail(__FILE__, __LINE__, "mkdtemp %s failed", dir);
    return 0;
}

void check_remove_tmpdir(const char *dir)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (check_failures == 0 && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

char *check_slurp(const char *dir, const char *name)
{
    char path[4200];
    snprintf(path, sizeof path, "%s%s%s", dir ? dir : "", dir ? "/" : "", name);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *text = n >= 0 ? malloc((size_t)n + 1) : NULL;
    size_t got = text ? fread(text, 1, (size_t)n, f) : 0;
    fclose(f);
    if (text) text[got] = '\0';
    return text;
}
