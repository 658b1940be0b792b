/* Status codes and error messages.
 *
 * Every fallible library function returns an lm_status. On failure it records one line that
 * names the file, field and value at fault; lm_error_message() returns it (per thread).
 * The library never prints and never exits. */
#ifndef LINMASS_ERROR_H
#define LINMASS_ERROR_H

#include <stddef.h>

#include "linmass/api.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    LM_OK = 0,
    LM_EINVAL = 1,   /* bad usage or bad input: a spec, an option, a file's contents */
    LM_EIO = 2,      /* the operating system refused: open, read, write, rename */
    LM_ENOMEM = 3,   /* an allocation failed, or would exceed a stated memory cap */
    LM_EDIVERGED = 4, /* NaN or Inf appeared in a loss or in the weights */
    LM_EINTERRUPTED = 5 /* stopped on request (the caller's stop flag, e.g. set by a signal
                           handler) at a clean point, with the state saved where the function
                           says: not a failure of the input or of the system */
} lm_status;

/* The message of the last failure on this thread ("" if none). */
LM_API const char *lm_error_message(void);

/* Record a failure and return its status; for use inside the library and by extensions. */
LM_API lm_status lm_fail(lm_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefix the current message with more context, "context: message". Returns s. */
LM_API lm_status lm_fail_context(lm_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* For messages that name what was meant: the entry of names[0..n) nearest to word[0..len)
 * (edit distance, where inserting, deleting or changing a letter or swapping two neighbours
 * counts 1: at most 1, or 2 for words of six letters or more; failing that, the one name that
 * starts with a word of three letters or more), NULL if none. "epoch" -> "epochs". */
LM_API const char *lm_nearest(const char *word, size_t len, const char *const *names, int n);

LM_API void lm_error_clear(void);

LM_API const char *lm_status_name(lm_status s);

#ifdef __cplusplus
}
#endif
#endif
