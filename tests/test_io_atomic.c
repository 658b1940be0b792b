// ctest-labels: io
/* Atomic writes: the content arrives whole; a failure (a parent that is a regular file, a
 * path under /proc, a rename onto a folder, a file-size limit hit halfway, i.e. a full disk)
 * returns LM_EIO with the path in the message, leaves the old file intact and no temporary
 * file behind. Also mkdir -p and whole-file reads. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "linmass/io.h"

static char dir[64];

static const char *path_in(const char *name)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

/* Files in `d` whose names contain ".tmp.". */
static int temp_files(const char *d)
{
    DIR *dp = opendir(d);
    if (!dp) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dp)))
        if (strstr(e->d_name, ".tmp.")) n++;
    closedir(dp);
    return n;
}

/* 1 if `path` holds exactly `text`. */
static int holds(const char *path, const char *text)
{
    char *data;
    size_t n;
    if (lm_read_file(path, 1 << 24, &data, &n) != LM_OK) return 0;
    int same = n == strlen(text) && memcmp(data, text, n) == 0;
    free(data);
    return same;
}

static int msg_has(const char *needle)
{
    int ok = strstr(lm_error_message(), needle) != NULL;
    if (!ok) fprintf(stderr, "  message: %s\n  lacks: %s\n", lm_error_message(), needle);
    return ok;
}

static void test_write_and_replace(void)
{
    const char *p = path_in("config.json");
    CHECK(lm_write_file_atomic(p, "{\"a\": 1}\n", 9) == LM_OK);
    CHECK(holds(p, "{\"a\": 1}\n"));
    CHECK(lm_write_file_atomic(p, "second", 6) == LM_OK);
    CHECK(holds(p, "second"));
    CHECK(lm_write_file_atomic(p, "", 0) == LM_OK);
    CHECK(holds(p, ""));
    CHECK(temp_files(dir) == 0);

    lm_atomic_file *a;
    CHECK(lm_atomic_open(p, &a) == LM_OK);
    CHECK(lm_atomic_write(a, "part one, ", 10) == LM_OK);
    CHECK(lm_atomic_write(a, "part two", 8) == LM_OK);
    CHECK(temp_files(dir) == 1);
    CHECK(holds(p, "")); /* untouched until commit */
    CHECK(lm_atomic_commit(a) == LM_OK);
    CHECK(holds(p, "part one, part two"));

    CHECK(lm_atomic_open(p, &a) == LM_OK);
    lm_atomic_write(a, "abandoned", 9);
    lm_atomic_abort(a);
    CHECK(holds(p, "part one, part two"));
    CHECK(temp_files(dir) == 0);
    lm_atomic_abort(NULL);
}

static void test_unwritable(void)
{
    const char *blocker = path_in("plainfile");
    CHECK(lm_write_file_atomic(blocker, "x", 1) == LM_OK);
    const char *p = path_in("plainfile/report.md");
    CHECK(lm_write_file_atomic(p, "hello", 5) == LM_EIO);
    CHECK(msg_has(p));
    CHECK(holds(blocker, "x"));
    CHECK(temp_files(dir) == 0);

    CHECK(lm_write_file_atomic("/proc/linmass_no_such_dir/x", "hello", 5) == LM_EIO);
    CHECK(msg_has("/proc/linmass_no_such_dir/x"));
    CHECK(lm_write_file_atomic("/proc/version", "hello", 5) == LM_EIO);
    CHECK(msg_has("/proc/version"));
    CHECK(lm_write_file_atomic("", "x", 1) == LM_EINVAL);

    /* the rename fails (the target is a non-empty folder): the temporary file must go */
    const char *d = path_in("folder");
    CHECK(lm_mkdir_p(path_in("folder/inside")) == LM_OK);
    CHECK(lm_write_file_atomic(d, "hello", 5) == LM_EIO);
    CHECK(msg_has(d) && msg_has("rename"));
    CHECK(temp_files(dir) == 0);
    struct stat st;
    CHECK(stat(path_in("folder/inside"), &st) == 0 && S_ISDIR(st.st_mode));
}

/* A file-size limit makes writes fail halfway, as a full disk does (EFBIG, not ENOSPC). */
static void test_disk_full(void)
{
    const char *p = path_in("last.txt");
    CHECK(lm_write_file_atomic(p, "the last good content", 21) == LM_OK);
    size_t n = 1 << 20;
    char *big = malloc(n);
    memset(big, 'z', n);

    struct rlimit old;
    getrlimit(RLIMIT_FSIZE, &old);
    struct rlimit lim = {4096, old.rlim_max};
    signal(SIGXFSZ, SIG_IGN);
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    lm_status s = lm_write_file_atomic(p, big, n);
    lm_status w1 = LM_EIO, w2 = LM_OK, w3 = LM_OK, c = LM_OK;
    lm_atomic_file *a;
    if (lm_atomic_open(p, &a) == LM_OK) {
        w1 = lm_atomic_write(a, big, 3000);
        w2 = lm_atomic_write(a, big, 3000); /* crosses the limit: a short write, then EFBIG */
        w3 = lm_atomic_write(a, "x", 1);    /* errors are sticky */
        c = lm_atomic_commit(a);
    }
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, SIG_DFL);

    CHECK(s == LM_EIO);
    CHECK(w1 == LM_OK && w2 == LM_EIO && w3 == LM_EIO && c == LM_EIO);
    CHECK(msg_has(p) && msg_has("write failed"));
    CHECK(holds(p, "the last good content"));
    CHECK(temp_files(dir) == 0);
    free(big);
}

static void test_mkdir_p(void)
{
    const char *p = path_in("run/checkpoints/deep");
    CHECK(lm_mkdir_p(p) == LM_OK);
    struct stat st;
    CHECK(stat(p, &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(lm_mkdir_p(p) == LM_OK); /* already there */
    CHECK(lm_mkdir_p(path_in("run//other/")) == LM_OK);
    CHECK(stat(path_in("run/other"), &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(lm_write_file_atomic(path_in("run/file"), "x", 1) == LM_OK);
    CHECK(lm_mkdir_p(path_in("run/file/sub")) == LM_EIO);
    CHECK(msg_has("run/file") && msg_has("not a folder"));
    CHECK(lm_mkdir_p(path_in("run/file")) == LM_EIO);
    CHECK(lm_mkdir_p("") == LM_EINVAL);
}

static void test_read_file(void)
{
    const char *p = path_in("small.txt");
    CHECK(lm_write_file_atomic(p, "0123456789", 10) == LM_OK);
    char *data;
    size_t n;
    CHECK(lm_read_file(p, 10, &data, &n) == LM_OK && n == 10 && data[10] == '\0');
    free(data);
    CHECK(lm_read_file(p, 9, &data, &n) == LM_EINVAL && data == NULL);
    CHECK(msg_has(p));
    CHECK(lm_read_file(path_in("absent.txt"), 100, &data, &n) == LM_EINVAL);
    CHECK(msg_has("absent.txt"));
    CHECK(lm_read_file(dir, 100, &data, &n) == LM_EINVAL);
}

int main(void)
{
    if (!check_make_tmpdir(dir, sizeof dir, "lm_test_io_atomic")) return check_summary();
    test_write_and_replace();
    test_unwritable();
    test_disk_full();
    test_mkdir_p();
    test_read_file();
    check_remove_tmpdir(dir);
    return check_summary();
}
