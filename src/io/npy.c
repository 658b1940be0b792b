/* NumPy .npy files (io.h, lm_npy_write_f64). */
#include <stdio.h>
#include <string.h>

#include "linmass/io.h"

lm_status lm_npy_write_f64(const char *path, const double *a, size_t rows, size_t cols)
{
    char header[256];
    unsigned one = 1;
    char order = *(unsigned char *)&one ? '<' : '>';
    int len = snprintf(header, sizeof header, "{'descr': '%cf8', 'fortran_order': False, 'shape': (%zu, %zu), }", order,
                       rows, cols);
    int pad = (64 - (10 + len + 1) % 64) % 64;
    memset(header + len, ' ', pad);
    len += pad;
    header[len++] = '\n';
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(len & 0xff), (unsigned char)(len >> 8)};
    lm_atomic_file *f;
    lm_status st = lm_atomic_open(path, &f);
    if (st) return st;
    lm_atomic_write(f, pre, sizeof pre);
    lm_atomic_write(f, header, len);
    lm_atomic_write(f, a, rows * cols * sizeof *a);
    return lm_atomic_commit(f);
}
