// ctest-labels: io
/* tools/read_checkpoint.py reads a checkpoint written here, with only Python's standard
 * library and numpy: its listing names every tensor with its shape, and load() gives the exact
 * values. It refuses a truncated file with exit code 1. Skipped (with a note) when
 * /usr/bin/python3 or numpy is missing. Runs from the repository root (ctest's directory). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "linmass/io.h"

#define PY "/usr/bin/python3"
#define TOOL "tools/read_checkpoint.py"

static char dir[64];

/* The repository root: from this file's path when the compiler gave an absolute one (CMake
 * does), else the working directory (ctest runs in the repository root). */
static char root[512] = ".";

static void find_root(void)
{
    const char *f = __FILE__, *end = strstr(f, "/tests/test_io_python.c");
    if (f[0] == '/' && end && (size_t)(end - f) < sizeof root) {
        memcpy(root, f, (size_t)(end - f));
        root[end - f] = '\0';
    }
}

/* Run `cmd`, capture up to len-1 bytes of its stdout; returns its exit status (-1 if none). */
static int run(const char *cmd, char *out, size_t len)
{
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, len - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void write_checkpoint(const char *path)
{
    static float w[12], b[3];
    static double probe[2] = {0.1, -7.25};
    static int64_t nbt = 7;
    for (int i = 0; i < 12; i++) w[i] = 0.25f * (float)i - 1.0f;
    for (int i = 0; i < 3; i++) b[i] = 1e-3f * (float)(i + 1);
    lm_ckpt_tensor t[] = {
        {"0.weight", LM_DT_F32, 2, {3, 4}, w},
        {"0.bias", LM_DT_F32, 1, {3}, b},
        {"1.num_batches_tracked", LM_DT_I64, 0, {0}, &nbt},
        {"optim.momentum_buffer.0.weight", LM_DT_F32, 2, {3, 4}, w},
        {"probe.x", LM_DT_F64, 1, {2}, probe},
    };
    lm_ckpt_info info = {.step = 1234, .epoch = 1, .epoch_pos = 64, .seed = 42,
                         .optimizer = "sgd", .optim_json = "{\"lr\":0.1}"};
    CHECK(lm_checkpoint_save(path, &info, t, 5) == LM_OK);
}

static const char *check_script =
    "import sys; sys.path.insert(0, sys.argv[2] + '/tools')\n"
    "import numpy as np, read_checkpoint as r\n"
    "t, m = r.load_with_metadata(sys.argv[1])\n"
    "w = t['0.weight']\n"
    "assert w.dtype == np.float32 and w.shape == (3, 4), (w.dtype, w.shape)\n"
    "assert np.array_equal(w.ravel(), np.arange(12, dtype=np.float32) * np.float32(0.25) - 1)\n"
    "assert np.array_equal(t['0.bias'], np.float32([1e-3, 2e-3, 3e-3]))\n"
    "n = t['1.num_batches_tracked']\n"
    "assert n.dtype == np.int64 and n.shape == () and int(n) == 7\n"
    "assert np.array_equal(t['optim.momentum_buffer.0.weight'], w)\n"
    "assert t['probe.x'].dtype == np.float64 and list(t['probe.x']) == [0.1, -7.25]\n"
    "assert m['step'] == '1234' and m['format'] == 'linmass-checkpoint', m\n"
    "assert list(r.load(sys.argv[1])) == list(t)\n"
    "print('python-ok')\n";

int main(void)
{
    char out[8192], cmd[2048];
    if (access(PY, X_OK) != 0 || system(PY " -c 'import numpy' 2>/dev/null") != 0) {
        printf("SKIP: %s with numpy is not available; the Python reader was not tested\n", PY);
        return 0;
    }
    find_root();
    snprintf(dir, sizeof dir, "/tmp/lm_test_io_py_XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char path[128];
    snprintf(path, sizeof path, "%s/last.safetensors", dir);
    write_checkpoint(path);

    snprintf(cmd, sizeof cmd, PY " '%s/" TOOL "' '%s'", root, path);
    CHECK(run(cmd, out, sizeof out) == 0);
    printf("%s", out);
    CHECK(strstr(out, "0.weight") && strstr(out, "[3, 4]"));
    CHECK(strstr(out, "1.num_batches_tracked") && strstr(out, "int64"));
    CHECK(strstr(out, "optim.momentum_buffer.0.weight"));
    CHECK(strstr(out, "meta step = 1234"));

    char script[128];
    snprintf(script, sizeof script, "%s/check.py", dir);
    CHECK(lm_write_file_atomic(script, check_script, strlen(check_script)) == LM_OK);
    snprintf(cmd, sizeof cmd, PY " '%s' '%s' '%s' 2>&1", script, path, root);
    CHECK(run(cmd, out, sizeof out) == 0);
    CHECK_MSG(strstr(out, "python-ok") != NULL, "python said: %s", out);

    /* a truncated copy is refused */
    snprintf(cmd, sizeof cmd, "head -c 100 '%s' > '%s/cut.safetensors' && " PY " '%s/" TOOL
             "' '%s/cut.safetensors' 2>&1", path, dir, root, dir);
    CHECK(run(cmd, out, sizeof out) == 1);
    CHECK_MSG(strstr(out, "error:") != NULL, "python said: %s", out);

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (check_failures == 0 && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_summary();
}
