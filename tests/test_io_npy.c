// ctest-labels: io unit
/* lm_npy_write_f64: the bytes of a .npy file (format 1.0) checked field by field: the magic and
 * version, the header length, the dict literal with the shape, the padding that puts the data
 * at a multiple of 64 bytes, and the values themselves; a folder that does not exist fails
 * without leaving a file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/io.h"

static void check_file(const char *path, const double *a, size_t rows, size_t cols)
{
    char *raw = NULL;
    size_t n = 0;
    CHECK(lm_read_file(path, 1 << 20, &raw, &n) == LM_OK);
    if (!raw) return;
    const unsigned char *u = (const unsigned char *)raw;
    CHECK(n >= 10 && u[0] == 0x93 && !memcmp(raw + 1, "NUMPY", 5) && u[6] == 1 && u[7] == 0);
    size_t hl = u[8] + 256u * u[9];
    CHECK_MSG((10 + hl) % 64 == 0, "data offset %zu is not a multiple of 64", 10 + hl);
    CHECK(n == 10 + hl + rows * cols * sizeof(double));
    char want[128];
    unsigned one = 1;
    snprintf(want, sizeof want, "{'descr': '%cf8', 'fortran_order': False, 'shape': (%zu, %zu), }",
             *(unsigned char *)&one ? '<' : '>', rows, cols);
    CHECK_MSG(!strncmp(raw + 10, want, strlen(want)), "header %.*s", (int)hl, raw + 10);
    for (size_t i = 10 + strlen(want); i < 10 + hl - 1; i++) CHECK(raw[i] == ' ');
    CHECK(raw[10 + hl - 1] == '\n');
    CHECK(n < 10 + hl || !memcmp(raw + 10 + hl, a, rows * cols * sizeof(double)));
    free(raw);
}

int main(void)
{
    char dir[64], path[128];
    if (!check_make_tmpdir(dir, sizeof dir, "npy")) return 1;
    double a[6] = {1, -2.5, 3e-300, 0, 1e300, -0.0};
    snprintf(path, sizeof path, "%s/a.npy", dir);
    CHECK(lm_npy_write_f64(path, a, 2, 3) == LM_OK);
    check_file(path, a, 2, 3);
    /* a header whose length crosses a multiple of 64 differently */
    double *b = calloc(1234 * 5, sizeof *b);
    for (int i = 0; b && i < 1234 * 5; i++) b[i] = i * 0.5;
    snprintf(path, sizeof path, "%s/b.npy", dir);
    CHECK(b && lm_npy_write_f64(path, b, 1234, 5) == LM_OK);
    if (b) check_file(path, b, 1234, 5);
    free(b);
    snprintf(path, sizeof path, "%s/missing/c.npy", dir);
    CHECK(lm_npy_write_f64(path, a, 2, 3) != LM_OK);
    FILE *f = fopen(path, "rb");
    CHECK(f == NULL);
    if (f) fclose(f);
    check_remove_tmpdir(dir);
    return check_summary();
}
