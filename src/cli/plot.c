/* Figures through gnuplot (plot.h): the library writes the figure's .dat and .gp files
 * (lm_figure_write_gnuplot), then gnuplot runs on the script in the figure's folder, as a user
 * would rerun it. */
#include "cli/plot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The gnuplot program on the PATH, into buf; 0 when there is none. */
static int find_gnuplot(char *buf, size_t len)
{
    for (const char *p = getenv("PATH"); p && *p;) {
        size_t n = strcspn(p, ":");
        snprintf(buf, len, "%.*s/gnuplot", (int)n, n ? p : ".");
        if (access(buf, X_OK) == 0) return 1;
        p += n + (p[n] == ':');
    }
    return 0;
}

int plot_can_draw(void)
{
    char buf[4200];
    return find_gnuplot(buf, sizeof buf);
}

/* gnuplot SCRIPT in folder DIR, its output silenced; its exit status, or -1. The child calls
 * only async-signal-safe functions (the process may have threads). */
static int run_gnuplot(const char *gnuplot, const char *dir, const char *script)
{
    char *const argv[] = {(char *)"gnuplot", (char *)script, NULL};
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) dup2(null, 0), dup2(null, 1), dup2(null, 2);
        if (chdir(dir) == 0) execv(gnuplot, argv);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* lm_figure_draw_fn: gnuplot NAME.gp in DIR draws PATH (and NAME.svg after a PNG). */
static int draw(void *ctx, const char *dir, const char *name, const char *path)
{
    static int told;
    char gnuplot[4200], script[600], svg[4700];
    (void)ctx;
    if (!find_gnuplot(gnuplot, sizeof gnuplot)) {
        if (!told++)
            fprintf(stderr, "note: gnuplot is not installed, so no figures were drawn; each figure's .gp script and .dat "
                            "data are written ('gnuplot NAME.gp' in its folder draws it; apt-get install gnuplot-nox)\n");
        return 0;
    }
    snprintf(script, sizeof script, "%s.gp", name);
    snprintf(svg, sizeof svg, "%s/%s.svg", dir, name);
    remove(path); /* what is there afterwards is gnuplot's own */
    if (!strcmp(path + strlen(path) - 4, ".png")) remove(svg);
    if (run_gnuplot(gnuplot, dir, script) != 0 || access(path, F_OK) != 0) {
        fprintf(stderr, "note: gnuplot could not draw %s/%s (run 'gnuplot %s' in %s to see why)\n", dir, script, script,
                dir);
        return 0;
    }
    return 1;
}

int plot_draw(const char *path, const lm_figure *f)
{
    int drawn = 0;
    if (!lm_figure_format_ok(path)) return 0;
    if (lm_figure_draw(path, f, draw, NULL, &drawn)) fprintf(stderr, "note: %s\n", lm_error_message());
    return drawn;
}
