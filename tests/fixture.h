/* Reader of the binary fixtures that tools/gen_golden.py and tools/gen_fcn_trajectories.py
 * write (format at the top of each script): a magic, a header read by the test, then a u32
 * count of records, each a name, an encoding (0 float32, 1 int8 x power-of-two scale,
 * 2 strided float32 subsample + L2 and L1 norms, 3 float64), dims and data. Little-endian. */
#ifndef LM_TESTS_FIXTURE_H
#define LM_TESTS_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char name[128];
    int enc, ndim;
    int64_t dims[8];
    size_t numel, stride, count; /* count stored values (numel unless subsampled) */
    double *v;                   /* the stored values, decoded */
    double norm2, norm1;         /* whole-tensor norms (encoding 2) */
} fx_record;

typedef struct {
    unsigned char *blob;
    const unsigned char *p, *end;
    int bad;
} fx_reader;

/* Read the whole file and check its 8-byte magic; 0 (with a failed check naming `regen`, the
 * command that makes the file) if it is missing. */
int fx_open(fx_reader *r, const char *path, const char *magic, const char *regen);
void fx_take(fx_reader *r, void *dst, size_t len);
void fx_take_text(fx_reader *r, char *dst, size_t cap); /* u32 length + text */
/* The u32 count and the records that follow it. */
void fx_read_records(fx_reader *r, fx_record **rec, int *nrec);
/* 1 if everything was read and nothing is left over (else a failed check); frees the file. */
int fx_close(fx_reader *r, const char *path, const char *regen);
void fx_free_records(fx_record *rec, int nrec);
const fx_record *fx_find(const fx_record *rec, int nrec, const char *name);

#endif
