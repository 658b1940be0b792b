/* A minimal assertion helper for the test programs: every failed check prints where and why,
 * and check_summary() turns any failure into a non-zero exit code. */
#ifndef LM_TESTS_CHECK_H
#define LM_TESTS_CHECK_H

#include <stdio.h>
#include <string.h>

extern int check_failures, check_count;

void check_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int check_close(double a, double b, double rtol, double atol);

#define CHECK(cond)                                                          \
    do {                                                                     \
        check_count++;                                                       \
        if (!(cond)) check_fail(__FILE__, __LINE__, "CHECK(%s) failed", #cond); \
    } while (0)

#define CHECK_MSG(cond, ...)                                        \
    do {                                                            \
        check_count++;                                              \
        if (!(cond)) check_fail(__FILE__, __LINE__, __VA_ARGS__);   \
    } while (0)

/* |a - b| <= rtol * max(|a|, |b|) + 1e-300 */
#define CHECK_CLOSE(a, b, rtol)                                                             \
    do {                                                                                    \
        double a_ = (a), b_ = (b);                                                          \
        check_count++;                                                                      \
        if (!check_close(a_, b_, (rtol), 0))                                                \
            check_fail(__FILE__, __LINE__, "%s = %.12g vs %s = %.12g (rtol %g)", #a, a_, #b, b_, \
                       (double)(rtol));                                                     \
    } while (0)

/* A fresh folder /tmp/TAG_XXXXXX in dir (0 on failure, reported); remove it with
 * check_remove_tmpdir, which keeps it when a check failed, for a look. */
int check_make_tmpdir(char *dir, size_t len, const char *tag);
void check_remove_tmpdir(const char *dir);

/* The whole text of file DIR/NAME (NAME alone when dir is NULL), malloc'ed; NULL when it cannot
 * be read. */
char *check_slurp(const char *dir, const char *name);

/* Text got equals want; else a failure that shows both under the heading `what`. */
#define CHECK_TEXT(got, want, what)                                                                \
    do {                                                                                           \
        const char *g_ = (got), *w_ = (want);                                                      \
        CHECK_MSG(g_ && w_ && !strcmp(g_, w_), "%s:\n%s\nwanted:\n%s", (what), g_ ? g_ : "(none)", \
                  w_ ? w_ : "(none)");                                                             \
    } while (0)

/* Prints "check: N passed, M failed" and returns the exit code. */
int check_summary(void);

#endif
