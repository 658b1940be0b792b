/* Atomic file writes (temporary file, fsync, rename, fsync of the folder), whole-file reads,
 * and mkdir -p. */
#include "linmass/io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

struct lm_atomic_file {
    char *path;    /* the destination */
    char *tmp;     /* "PATH.tmp.<pid>" */
    int fd;
    lm_status status;     /* the first failure; sticky */
    char message[1024];   /* its message */
};

static lm_status atomic_fail(lm_atomic_file *a, const char *what, int err)
{
    if (a->status == LM_OK) {
        a->status = lm_fail(LM_EIO, "%s: %s: %s", a->path, what, strerror(err));
        snprintf(a->message, sizeof a->message, "%s", lm_error_message());
    }
    return a->status;
}

static void atomic_free(lm_atomic_file *a)
{
    free(a->path);
    free(a->tmp);
    free(a);
}

/* The folder that holds `path` ("." for a bare name). Caller frees. */
static char *parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    if (slash == path) return strdup("/");
    size_t n = (size_t)(slash - path);
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, path, n);
        d[n] = '\0';
    }
    return d;
}

static int fsync_dir(const char *path)
{
    char *dir = parent_dir(path);
    if (!dir) return ENOMEM;
    int err = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        err = errno;
    } else {
        /* Some file systems cannot sync a folder; that is no reason to fail a write. */
        if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS) err = errno;
        close(fd);
    }
    free(dir);
    return err;
}

lm_status lm_atomic_open(const char *path, lm_atomic_file **out)
{
    *out = NULL;
    if (!path || !path[0]) return lm_fail(LM_EINVAL, "atomic write: empty path");
    lm_atomic_file *a = calloc(1, sizeof *a);
    size_t n = strlen(path) + 32;
    if (a) a->tmp = malloc(n);
    if (a) a->path = strdup(path);
    if (!a || !a->tmp || !a->path) {
        if (a) atomic_free(a);
        return lm_fail(LM_ENOMEM, "%s: out of memory", path);
    }
    snprintf(a->tmp, n, "%s.tmp.%ld", path, (long)getpid());
    a->fd = open(a->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (a->fd < 0) {
        lm_status s = lm_fail(LM_EIO, "%s: cannot create temporary file %s: %s", path, a->tmp,
                              strerror(errno));
        atomic_free(a);
        return s;
    }
    *out = a;
    return LM_OK;
}

lm_status lm_atomic_write(lm_atomic_file *a, const void *data, size_t len)
{
    if (a->status != LM_OK) return lm_fail(a->status, "%s", a->message);
    const char *p = data;
    while (len > 0) {
        size_t chunk = len < ((size_t)1 << 30) ? len : ((size_t)1 << 30);
        ssize_t w = write(a->fd, p, chunk);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return atomic_fail(a, "write failed", errno);
        if (w == 0) return atomic_fail(a, "write made no progress", ENOSPC);
        p += w;
        len -= (size_t)w;
    }
    return LM_OK;
}

void lm_atomic_abort(lm_atomic_file *a)
{
    if (!a) return;
    if (a->fd >= 0) close(a->fd);
    unlink(a->tmp);
    atomic_free(a);
}

lm_status lm_atomic_commit(lm_atomic_file *a)
{
    if (a->status == LM_OK && fsync(a->fd) != 0) atomic_fail(a, "fsync failed", errno);
    if (close(a->fd) != 0 && a->status == LM_OK) atomic_fail(a, "close failed", errno);
    a->fd = -1;
    if (a->status == LM_OK && rename(a->tmp, a->path) != 0)
        atomic_fail(a, "cannot rename the temporary file over it", errno);
    if (a->status != LM_OK) {
        lm_status s = a->status;
        char message[sizeof a->message];
        memcpy(message, a->message, sizeof message);
        lm_atomic_abort(a);
        return lm_fail(s, "%s", message);
    }
    int err = fsync_dir(a->path);
    lm_status s = LM_OK;
    if (err) s = lm_fail(LM_EIO, "%s: written, but syncing its folder failed: %s", a->path,
                         strerror(err));
    atomic_free(a);
    return s;
}

lm_status lm_write_file_atomic(const char *path, const void *data, size_t len)
{
    lm_atomic_file *a;
    lm_status s = lm_atomic_open(path, &a);
    if (s != LM_OK) return s;
    lm_atomic_write(a, data, len);
    return lm_atomic_commit(a);
}

static lm_status open_error(const char *path, int err)
{
    lm_status s = (err == ENOENT || err == ENOTDIR || err == EISDIR) ? LM_EINVAL : LM_EIO;
    return lm_fail(s, "%s: cannot open: %s", path, strerror(err));
}

lm_status lm_read_file(const char *path, size_t max_len, char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return open_error(path, errno);
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        int err = errno;
        fclose(f);
        return lm_fail(LM_EIO, "%s: cannot stat: %s", path, strerror(err));
    }
    if (S_ISDIR(st.st_mode)) {
        fclose(f);
        return lm_fail(LM_EINVAL, "%s: is a directory, not a file", path);
    }
    if (st.st_size < 0 || (uint64_t)st.st_size > max_len) {
        fclose(f);
        return lm_fail(LM_EINVAL, "%s: file is %lld bytes, more than the %zu allowed", path,
                       (long long)st.st_size, max_len);
    }
    size_t n = (size_t)st.st_size;
    char *buf = malloc(n + 1);
    if (!buf) {
        fclose(f);
        return lm_fail(LM_ENOMEM, "%s: cannot allocate %zu bytes", path, n + 1);
    }
    size_t got = fread(buf, 1, n, f);
    int err = ferror(f) ? errno : 0;
    fclose(f);
    if (got != n) {
        free(buf);
        if (err) return lm_fail(LM_EIO, "%s: read failed: %s", path, strerror(err));
        return lm_fail(LM_EIO, "%s: file shrank while reading (%zu of %zu bytes)", path, got, n);
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return LM_OK;
}

/* Create one folder; an existing folder is fine. */
static lm_status mkdir_one(const char *dir, const char *full)
{
    if (mkdir(dir, 0777) == 0) return LM_OK;
    int err = errno;
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (S_ISDIR(st.st_mode)) return LM_OK;
        return lm_fail(LM_EIO, "%s: cannot create folder: %s exists and is not a folder", full,
                       dir);
    }
    return lm_fail(LM_EIO, "%s: cannot create folder %s: %s", full, dir, strerror(err));
}

lm_status lm_mkdir_p(const char *path)
{
    if (!path || !path[0]) return lm_fail(LM_EINVAL, "mkdir: empty path");
    char *buf = strdup(path);
    if (!buf) return lm_fail(LM_ENOMEM, "%s: out of memory", path);
    lm_status s = LM_OK;
    for (char *p = buf + 1; *p && s == LM_OK; p++) {
        if (*p != '/' || p[-1] == '/') continue;
        *p = '\0';
        s = mkdir_one(buf, path);
        *p = '/';
    }
    if (s == LM_OK) s = mkdir_one(buf, path);
    free(buf);
    return s;
}
