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

/* Parse an integer / a real option value; the error names `what`. */
lm_status lm_parse_long(const char *text, long lo, long hi, const char *what, long *out);
lm_status lm_parse_double(const char *text, const char *what, double *out);

#endif
