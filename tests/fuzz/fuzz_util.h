/* Helpers shared by the libFuzzer targets: a private scratch folder (in /dev/shm when there is
 * one, so that writing the input to a file costs little), and quiet error reporting. */
#ifndef LM_FUZZ_UTIL_H
#define LM_FUZZ_UTIL_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "linmass/error.h"

static char fuzz_dir[256];

static void fuzz_cleanup(void)
{
    char cmd[300];
    if (!fuzz_dir[0]) return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fuzz_dir);
    if (system(cmd)) { /* nothing more to do */
    }
}

/* The scratch folder, made on first use and removed at exit. */
static inline const char *fuzz_scratch(void)
{
    if (fuzz_dir[0]) return fuzz_dir;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(fuzz_dir, sizeof fuzz_dir, "%s/linmass-fuzz-XXXXXX", base);
    if (!mkdtemp(fuzz_dir)) {
        perror("mkdtemp");
        abort();
    }
    atexit(fuzz_cleanup);
    return fuzz_dir;
}

/* Write bytes to a file (a test harness failure, not a finding, if that fails). */
static inline void fuzz_write(const char *path, const uint8_t *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        perror(path);
        abort();
    }
    while (len > 0) {
        ssize_t w = write(fd, data, len);
        if (w <= 0) {
            perror(path);
            abort();
        }
        data += w;
        len -= (size_t)w;
    }
    close(fd);
}

/* With FUZZ_VERBOSE set (when checking seeds by hand), say why an input was refused. */
static inline void fuzz_note(const char *what)
{
    static int verbose = -1;
    if (verbose < 0) verbose = getenv("FUZZ_VERBOSE") != NULL;
    if (verbose) fprintf(stderr, "%s: %s\n", what, lm_error_message());
}

/* Values read from the results go here, so that the reads are not optimised away. */
static volatile double fuzz_sink;

#endif
