/* Shared helpers of the data module (not public). */
#ifndef LINMASS_DATA_INTERNAL_H
#define LINMASS_DATA_INTERNAL_H

#include "linmass/data.h"

#include <stdint.h>

/* Loaders, one per source family; `arg` is what follows "kind:" in the source string. */
lm_status lm_load_idx(const char *dir, const char *label, int strict_mnist, int classes,
                      lm_split split, lm_dataset **out);
lm_status lm_load_cifar10(const char *dir, lm_split split, lm_dataset **out);
lm_status lm_load_csv(const char *arg, lm_split split, lm_dataset **out);
lm_status lm_load_synth(const char *arg, lm_split split, uint64_t seed, lm_dataset **out);

/* ---- the cache of decoded files (cache.c) ---- */

enum { LM_CACHE_META = 6 };

typedef struct {
    uint64_t meta[LM_CACHE_META]; /* the decoder's own small values, kept with the payload */
    unsigned char *data;          /* the decoded bytes (lm_cache_load mallocs them) */
    size_t len;
    /* set by lm_cache_load for lm_cache_store: the source as it was when looked up */
    int usable;
    uint64_t source[5]; /* size, mtime (s, ns), inode, CRC-32 of the bytes */
    char path[4096], file[4200];
} lm_cache_entry;

/* Look up the decoded copy of the file `source`: 1 with meta, data and len filled when the
 * cache holds one that matches the file as it is now; 0 otherwise (never an error). Either way
 * *e records the file's state for lm_cache_store. */
int lm_cache_load(const char *source, lm_cache_entry *e);

/* Keep e->meta and e->data (decoded from the file that lm_cache_load looked up, as it was then)
 * in the cache; any failure leaves the cache as it was, silently. */
void lm_cache_store(const lm_cache_entry *e);

/* Parse an integer / a real option value; the error names `what`. */
lm_status lm_parse_long(const char *text, long lo, long hi, const char *what, long *out);
lm_status lm_parse_double(const char *text, const char *what, double *out);

#endif
