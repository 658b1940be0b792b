/* Helpers for the data tests: a private temporary directory and small files written into it. */
#ifndef LM_TESTS_DATA_FIXTURES_H
#define LM_TESTS_DATA_FIXTURES_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* A fresh directory under $TMPDIR (or /tmp); exits the test if it cannot be made. */
static inline const char *fixture_dir(void)
{
    static char dir[512];
    const char *base = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/linmass-data-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        exit(1);
    }
    return dir;
}

static inline const char *fixture_path(const char *dir, const char *name)
{
    static char path[8][1024];
    static int next;
    char *p = path[next++ % 8];
    snprintf(p, sizeof path[0], "%s/%s", dir, name);
    return p;
}

/* Write n bytes to dir/name, gzip-compressed when gz. */
static inline void fixture_write(const char *dir, const char *name, const void *data, size_t n,
                                 int gz)
{
    const char *path = fixture_path(dir, name);
    if (gz) {
        gzFile f = gzopen(path, "wb");
        if (!f || (n && gzwrite(f, data, (unsigned)n) != (int)n) || gzclose(f) != Z_OK) {
            fprintf(stderr, "cannot write %s\n", path);
            exit(1);
        }
        return;
    }
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
}

static inline void fixture_write_text(const char *dir, const char *name, const char *text)
{
    fixture_write(dir, name, text, strlen(text), 0);
}

/* Remove the directory and the files in it (fixture directories hold no subdirectories). */
static inline void fixture_cleanup(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) remove(fixture_path(dir, e->d_name));
    closedir(d);
    remove(dir);
}

#endif
